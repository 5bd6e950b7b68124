/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cgl_fib: the CGL multi-FIB module.
 *
 * Many forwarding tables (FIBs, one per VRF or customer) addressed by a
 * 32-bit id that is part of every route key, with overlapping address
 * spaces; IPv4 and IPv6 routes live in one Tree-Bitmap structure per
 * family. Generic netlink family "cgl_fib". See
 * Documentation/cgl/fib.rst.
 */
#ifndef _UAPI_LINUX_CGL_FIB_H
#define _UAPI_LINUX_CGL_FIB_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define CGL_FIB_GENL_NAME	"cgl_fib"
#define CGL_FIB_GENL_VERSION	1

/* FIB ids: any u32 but CGL_FIB_ID_INVALID. */
#define CGL_FIB_ID_INVALID	0xffffffffU
/* Most FIBs that can exist at once. */
#define CGL_FIB_MAX_FIBS	65536
/*
 * Most routes in one CGL_FIB_CMD_NEWROUTE batch message; one attribute holds
 * at most 64 KiB, which also bounds a batch (about 2300 IPv4 blackhole routes,
 * 1800 IPv4 or 1000 IPv6 routes with a gateway and an interface).
 */
#define CGL_FIB_BATCH_MAX	4096

/* Route types (CGL_FIB_A_TYPE), as the RTN_* types of rtnetlink. */
enum cgl_fib_rtype {
	CGL_FIB_RT_UNICAST,	/* via GATEWAY and/or OIF */
	CGL_FIB_RT_BLACKHOLE,	/* drop silently */
	CGL_FIB_RT_UNREACHABLE,	/* drop, ICMP unreachable */
	CGL_FIB_RT_PROHIBIT,	/* drop, ICMP administratively prohibited */
	__CGL_FIB_RT_MAX,
};

enum cgl_fib_cmd {
	CGL_FIB_CMD_UNSPEC,
	/* Create a FIB: FIB_ID, optional NEIGH_LIMIT. EEXIST if it exists. */
	CGL_FIB_CMD_NEWFIB,
	/* Delete a FIB and all its routes: FIB_ID. */
	CGL_FIB_CMD_DELFIB,
	/*
	 * doit: one FIB's counters (FIB_ID); dumpit: every FIB. Reply:
	 * FIB_ID, ROUTES4, ROUTES6, LOOKUPS, MISSES, NEIGHS, NEIGH_LIMIT,
	 * STATS (the counters of its bound interfaces, summed), TABLE if it
	 * mirrors one.
	 */
	CGL_FIB_CMD_GETFIB,
	/*
	 * Add a route: FIB_ID, FAMILY, DST, DST_LEN, and TYPE (default
	 * unicast; unicast needs GATEWAY or OIF), METRIC. With REPLACE an
	 * existing route is replaced (and one is created if missing); without
	 * it an existing route is EEXIST. Or a batch: FIB_ID, FAMILY and
	 * BATCH, a nest of up to CGL_FIB_BATCH_MAX ROUTE nests each holding
	 * DST, DST_LEN and optionally TYPE, GATEWAY, OIF, METRIC; the batch is
	 * applied in order, all or nothing: on an error, whose route index is
	 * in the extack message, the routes before it are taken back (the
	 * message says how many could not be, for want of memory).
	 */
	CGL_FIB_CMD_NEWROUTE,
	/* Delete a route: FIB_ID, FAMILY, DST, DST_LEN. */
	CGL_FIB_CMD_DELROUTE,
	/*
	 * doit: the route an address ADDR (with FAMILY, FIB_ID) is forwarded
	 * by (longest prefix match), or with DST and DST_LEN the route of that
	 * exact prefix; ENETUNREACH if none. dumpit: every route of FIB_ID
	 * (and FAMILY, if given).
	 * Reply: FIB_ID, FAMILY, DST, DST_LEN, TYPE, GATEWAY, OIF, METRIC.
	 */
	CGL_FIB_CMD_GETROUTE,
	/* Replies and notifications. */
	CGL_FIB_CMD_FIB,
	CGL_FIB_CMD_ROUTE,
	/*
	 * Make FIB_ID mirror the kernel's IPv4 and IPv6 routing table TABLE (0: stop
	 * mirroring; the FIB keeps its routes). The table's routes are copied
	 * at once, then every change follows: routing daemons that speak
	 * rtnetlink drive the FIB unchanged. One FIB per table.
	 */
	CGL_FIB_CMD_MIRROR,
	/*
	 * Bind interface OIF to FIB_ID: from then on its IPv4, IPv6 and ARP
	 * packets are handled by the FIB (forwarded by its routes, resolved
	 * through its neighbour table) and never reach the host's stack.
	 * LOCALS: the router's own addresses on this interface in that FIB
	 * (up to CGL_FIB_PORT_ADDRS per family; ARP/NDP and ICMP echo are
	 * answered for them, ICMP errors come from them). Binding an
	 * interface that is bound already replaces its FIB and addresses.
	 */
	CGL_FIB_CMD_BIND,
	/* Unbind interface OIF; its neighbours go. */
	CGL_FIB_CMD_UNBIND,
	/*
	 * doit: one bound interface (OIF); dumpit: every one. Reply: OIF,
	 * FIB_ID, LOCALS, STATS.
	 */
	CGL_FIB_CMD_GETPORT,
	/*
	 * Add a permanent neighbour: FIB_ID, FAMILY, ADDR, LLADDR, OIF (a
	 * bound interface of that FIB). With REPLACE an existing entry is
	 * replaced. Dynamic entries are learnt from ARP/NDP.
	 */
	CGL_FIB_CMD_NEWNEIGH,
	/* Delete a neighbour: FIB_ID, FAMILY, ADDR (and OIF for link-local). */
	CGL_FIB_CMD_DELNEIGH,
	/*
	 * dumpit: the neighbours of FIB_ID (all FIBs without it). Reply:
	 * FIB_ID, FAMILY, ADDR, LLADDR (absent while incomplete), OIF,
	 * NEIGH_STATE.
	 */
	CGL_FIB_CMD_GETNEIGH,
	/* Set FIB_ID's NEIGH_LIMIT (also accepted by NEWFIB). */
	CGL_FIB_CMD_SETFIB,
	CGL_FIB_CMD_PORT,
	CGL_FIB_CMD_NEIGH,
	__CGL_FIB_CMD_MAX,
};
#define CGL_FIB_CMD_MAX (__CGL_FIB_CMD_MAX - 1)

enum cgl_fib_attr {
	CGL_FIB_A_UNSPEC,
	CGL_FIB_A_FIB_ID,	/* u32 */
	CGL_FIB_A_FAMILY,	/* u8: AF_INET (2) or AF_INET6 (10) */
	CGL_FIB_A_DST,		/* binary: 4 or 16 bytes, network order */
	CGL_FIB_A_DST_LEN,	/* u8: 0..32 or 0..128 */
	CGL_FIB_A_TYPE,		/* u8: enum cgl_fib_rtype */
	CGL_FIB_A_GATEWAY,	/* binary: 4 or 16 bytes, same family */
	CGL_FIB_A_OIF,		/* u32: output interface index */
	CGL_FIB_A_METRIC,	/* u32: priority, informational */
	CGL_FIB_A_ADDR,		/* binary: address to look up */
	CGL_FIB_A_REPLACE,	/* flag */
	CGL_FIB_A_BATCH,	/* nest of CGL_FIB_A_ROUTE */
	CGL_FIB_A_ROUTE,	/* nest: DST, DST_LEN, TYPE, GATEWAY, OIF, METRIC */
	CGL_FIB_A_ROUTES4,	/* u64: IPv4 routes in the FIB */
	CGL_FIB_A_ROUTES6,	/* u64: IPv6 routes in the FIB */
	CGL_FIB_A_LOOKUPS,	/* u64: lookups made in the FIB */
	CGL_FIB_A_MISSES,	/* u64: lookups that found no route */
	CGL_FIB_A_DONE,		/* u32: routes a batch applied */
	CGL_FIB_A_PAD,
	CGL_FIB_A_TABLE,	/* u32: kernel routing table a FIB mirrors */
	CGL_FIB_A_LOCALS,	/* nest of CGL_FIB_A_LOCAL */
	CGL_FIB_A_LOCAL,	/* nest: ADDR (4 or 16 bytes), DST_LEN */
	CGL_FIB_A_LLADDR,	/* binary: 6-byte Ethernet address */
	CGL_FIB_A_NEIGH_STATE,	/* u8: enum cgl_fib_neigh_state */
	CGL_FIB_A_NEIGH_LIMIT,	/* u32: most neighbours of a FIB */
	CGL_FIB_A_NEIGHS,	/* u32: neighbours of a FIB */
	CGL_FIB_A_STATS,	/* nest of u64 counters, enum cgl_fib_stat */
	__CGL_FIB_A_MAX,
};
#define CGL_FIB_A_MAX (__CGL_FIB_A_MAX - 1)

/* Most router addresses per family on one bound interface. */
#define CGL_FIB_PORT_ADDRS	8
/* Neighbours a FIB may hold unless NEIGH_LIMIT says otherwise. */
#define CGL_FIB_NEIGH_LIMIT_DEFAULT	1024
/* Neighbours of all FIBs together. */
#define CGL_FIB_NEIGH_MAX	16384

enum cgl_fib_neigh_state {
	CGL_FIB_NUD_INCOMPLETE,	/* being resolved, packets queued */
	CGL_FIB_NUD_REACHABLE,	/* confirmed recently */
	CGL_FIB_NUD_STALE,	/* used, refreshed on use */
	CGL_FIB_NUD_FAILED,	/* no answer: unreachable for a while */
	CGL_FIB_NUD_PERMANENT,	/* added by the administrator */
};

/*
 * Counters of a bound interface or a FIB (CGL_FIB_A_STATS), all u64,
 * 64-bit aligned with CGL_FIB_A_PAD (18) attributes inside the nest: no
 * counter will ever take the value 18.
 */
enum cgl_fib_stat {
	CGL_FIB_STAT_UNSPEC,
	CGL_FIB_STAT_RX,	/* IPv4/IPv6/ARP packets received */
	CGL_FIB_STAT_FORWARDED,	/* packets sent on by a route */
	CGL_FIB_STAT_LOCAL,	/* to a router address (echo answered) */
	CGL_FIB_STAT_NOROUTE,	/* no route: ICMP unreachable */
	CGL_FIB_STAT_TTL,	/* TTL/hop limit exceeded */
	CGL_FIB_STAT_BLACKHOLE,	/* dropped by a blackhole, unreachable or
				 * prohibit route */
	CGL_FIB_STAT_TOOBIG,	/* over the output MTU */
	CGL_FIB_STAT_UNRESOLVED, /* neighbour failed or over its limit */
	CGL_FIB_STAT_DROPS,	/* malformed, not for us, no memory, ... */
	CGL_FIB_STAT_ICMP,	/* ICMP/ICMPv6 errors sent */
	CGL_FIB_STAT_ARP,	/* ARP requests and NS answered */
	__CGL_FIB_STAT_MAX,
};

/*
 * Route operations on /dev/cgl_fib, for applications that cannot speak
 * netlink. ADD and DEL need CAP_NET_ADMIN. Errors are the netlink
 * interface's errnos: EINVAL (bad field, host bits set, bad length),
 * ENOENT (no such FIB or route), EEXIST, ENODEV (interface), ENETUNREACH
 * (GET: no route), EPERM.
 */
struct cgl_fib_ioc_route {
	__u32 fib_id;
	__u8 family;		/* AF_INET or AF_INET6 */
	__u8 dst_len;
	__u8 type;		/* enum cgl_fib_rtype */
	__u8 flags;		/* CGL_FIB_IOC_F_* */
	__u8 dst[16];		/* network order; IPv4 in the first 4 bytes */
	__u8 gateway[16];	/* same; used if has_gateway */
	__u8 has_gateway;	/* 0 or 1 */
	__u8 reserved[3];	/* 0 */
	__u32 oif;		/* interface index, 0 for none */
	__u32 metric;
};

/* ADD: replace an existing route instead of failing with EEXIST. */
#define CGL_FIB_IOC_F_REPLACE	0x01
/* GET: the route of exactly dst/dst_len, not the longest match of dst. */
#define CGL_FIB_IOC_F_EXACT	0x02

#define CGL_FIB_IOC_MAGIC	0xCF
#define CGL_FIB_IOC_ROUTE_ADD	_IOW(CGL_FIB_IOC_MAGIC, 1, struct cgl_fib_ioc_route)
#define CGL_FIB_IOC_ROUTE_DEL	_IOW(CGL_FIB_IOC_MAGIC, 2, struct cgl_fib_ioc_route)
/* In: fib_id, family, dst (and dst_len with F_EXACT). Out: the route. */
#define CGL_FIB_IOC_ROUTE_GET	_IOWR(CGL_FIB_IOC_MAGIC, 3, struct cgl_fib_ioc_route)

#endif /* _UAPI_LINUX_CGL_FIB_H */
