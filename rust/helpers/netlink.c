// SPDX-License-Identifier: GPL-2.0

#include <net/genetlink.h>
#include <net/netlink.h>

struct sk_buff *rust_helper_genlmsg_new(size_t payload, gfp_t flags)
{
	return genlmsg_new(payload, flags);
}

void rust_helper_genlmsg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

void rust_helper_genlmsg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

int rust_helper_genlmsg_multicast(const struct genl_family *family,
				  struct sk_buff *skb, u32 portid,
				  unsigned int group, gfp_t flags)
{
	return genlmsg_multicast(family, skb, portid, group, flags);
}

int rust_helper_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

bool rust_helper_genl_has_listeners(const struct genl_family *family,
				    struct net *net, unsigned int group)
{
	return genl_has_listeners(family, net, group);
}

void rust_helper_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
}

int rust_helper_nla_put_string(struct sk_buff *skb, int attrtype,
			       const char *str)
{
	return nla_put_string(skb, attrtype, str);
}
