// SPDX-License-Identifier: GPL-2.0

#include <linux/netdevice.h>
#include <linux/prefetch.h>
#include <linux/rcupdate.h>
#include <net/ip_fib.h>
#include <net/nexthop.h>

#ifdef CONFIG_X86
#include <asm/cpufeature.h>

/* Whether the CPU has POPCNT, which CONFIG_CGL_FIB_POPCNT builds for. */
bool rust_helper_cgl_fib_cpu_has_popcnt(void)
{
	return boot_cpu_has(X86_FEATURE_POPCNT);
}
#endif

/* A cache prefetch, for the LPM trie's updates (net/cgl/fib/lpm.rs). */
void rust_helper_cgl_fib_prefetch(const void *p)
{
	prefetch(p);
}

void rust_helper_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

void rust_helper_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rust_helper_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

struct fib_nh_common *rust_helper_fib_info_nhc(struct fib_info *fi, int nhsel)
{
	return fib_info_nhc(fi, nhsel);
}

/*
 * The forwarding path of cgl_fib (net/cgl/fib/fwd.rs): inline skb and
 * netdevice functions, and the fields bindgen buries in anonymous unions.
 */
#include <linux/etherdevice.h>
#include <linux/skbuff.h>

int rust_helper_skb_linearize(struct sk_buff *skb)
{
	return skb_linearize(skb);
}

int rust_helper_skb_cow(struct sk_buff *skb, unsigned int headroom)
{
	return skb_cow(skb, headroom);
}

unsigned char *rust_helper_skb_mac_header(const struct sk_buff *skb)
{
	return skb_mac_header(skb);
}

void rust_helper_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

struct sk_buff *rust_helper_netdev_alloc_skb(struct net_device *dev,
					     unsigned int length)
{
	return netdev_alloc_skb(dev, length);
}

void rust_helper_skb_reserve(struct sk_buff *skb, int len)
{
	skb_reserve(skb, len);
}

int rust_helper_dev_hard_header(struct sk_buff *skb, struct net_device *dev,
				unsigned short type, const void *daddr,
				const void *saddr, unsigned int len)
{
	return dev_hard_header(skb, dev, type, daddr, saddr, len);
}

int rust_helper_dev_queue_xmit(struct sk_buff *skb)
{
	return dev_queue_xmit(skb);
}

void rust_helper_local_bh_disable(void)
{
	local_bh_disable();
}

void rust_helper_local_bh_enable(void)
{
	local_bh_enable();
}

/* skb->dev: the receiving device in an rx_handler. */
struct net_device *rust_helper_cgl_fib_skb_dev(const struct sk_buff *skb)
{
	return skb->dev;
}

/* skb->pkt_type (a bitfield): PACKET_HOST, PACKET_BROADCAST, ... */
unsigned int rust_helper_cgl_fib_skb_pkt_type(const struct sk_buff *skb)
{
	return skb->pkt_type;
}

/*
 * Readies a received skb, its data at the network header, to leave
 * through @dev as a forwarded packet of protocol @proto (network order):
 * like ip_forward() it drops a CHECKSUM_COMPLETE the header rewrite made
 * stale.
 */
void rust_helper_cgl_fib_skb_forward(struct sk_buff *skb,
				     struct net_device *dev, __be16 proto)
{
	skb_forward_csum(skb);
	skb->dev = dev;
	skb->protocol = proto;
	skb_reset_network_header(skb);
}

/*
 * The rx_handler_data of @dev if its rx_handler is @handler, else NULL:
 * which FIB port a device is, for the output side of the forwarding path.
 * Caller holds rcu_read_lock().
 */
void *rust_helper_cgl_fib_dev_port(struct net_device *dev,
				   rx_handler_func_t *handler)
{
	if (rcu_access_pointer(dev->rx_handler) != handler)
		return NULL;
	return rcu_dereference(dev->rx_handler_data);
}

/* dev->dev_addr (const since 5.17) and dev->mtu, read once. */
const unsigned char *rust_helper_cgl_fib_dev_addr(const struct net_device *dev)
{
	return dev->dev_addr;
}

unsigned int rust_helper_cgl_fib_dev_mtu(const struct net_device *dev)
{
	return READ_ONCE(dev->mtu);
}

int rust_helper_cgl_fib_dev_ifindex(const struct net_device *dev)
{
	return dev->ifindex;
}

struct net_device *
rust_helper_netdev_notifier_info_to_dev(const struct netdev_notifier_info *info)
{
	return netdev_notifier_info_to_dev(info);
}

#include <net/ip6_fib.h>

/*
 * The first nexthop of an IPv6 route, whether it has its own (fib6_nh[0])
 * or uses a nexthop object. Caller holds RCU (the notifier chain does).
 */
struct fib6_nh *rust_helper_cgl_fib_fib6_nh(struct fib6_info *rt)
{
	struct nexthop *nh = rcu_dereference_rtnl(rt->nh);

	return nh ? nexthop_fib6_nh(nh) : rt->fib6_nh;
}
