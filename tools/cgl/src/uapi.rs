// SPDX-License-Identifier: GPL-2.0

//! The generic netlink interfaces of the cgl modules.
//!
//! Hand-written mirrors of `include/uapi/linux/cgl_core.h`,
//! `include/uapi/linux/cgl_heartbeat.h` and
//! `include/uapi/linux/cgl_fib.h`; keep them in step (the numbers
//! are the C enums' positions). They mirror the whole headers, so not
//! every constant is used.
#![allow(dead_code)]

/// Name of the generic netlink family.
pub const CGL_CORE_GENL_NAME: &str = "cgl_core";
/// Version of the family this tool speaks.
pub const CGL_CORE_GENL_VERSION: u8 = 1;
/// Multicast group that carries every new event record.
pub const CGL_CORE_MCGRP_EVENTS: &str = "events";

/// Most severe severity (`enum cgl_severity`).
pub const CGL_SEV_EMERG: u8 = 0;
/// Most verbose severity (`enum cgl_severity`).
pub const CGL_SEV_DEBUG: u8 = 7;

/// Longest subsystem name a record carries, in bytes.
pub const CGL_EVENT_SUBSYS_MAX: usize = 31;
/// Longest message a record carries, in bytes.
pub const CGL_EVENT_MSG_MAX: usize = 255;
/// Largest payload a record carries, in bytes.
pub const CGL_EVENT_PAYLOAD_MAX: usize = 1024;

/// Smallest ring size, in records.
pub const CGL_RING_SIZE_MIN: u32 = 16;
/// Largest ring size, in records.
pub const CGL_RING_SIZE_MAX: u32 = 65536;

/// Dump of event records, oldest first.
pub const CGL_CORE_CMD_EVENT_GET: u8 = 1;
/// A new record, sent to the "events" multicast group.
pub const CGL_CORE_CMD_EVENT_NEW: u8 = 2;
/// Append a record (CAP_NET_ADMIN); the reply carries the sequence number.
pub const CGL_CORE_CMD_EVENT_LOG: u8 = 3;
/// Read the core's configuration and counters.
pub const CGL_CORE_CMD_CONFIG_GET: u8 = 4;
/// Change the ring size and/or printk level (CAP_NET_ADMIN).
pub const CGL_CORE_CMD_CONFIG_SET: u8 = 5;
/// Dump of the CGL modules registered with the core.
pub const CGL_CORE_CMD_MODULE_GET: u8 = 6;

/// Padding for 64-bit attributes.
pub const CGL_A_PAD: u16 = 1;
/// u64: sequence number of a record.
pub const CGL_A_EVENT_SEQ: u16 = 2;
/// u64: CLOCK_MONOTONIC time of a record, in ns.
pub const CGL_A_EVENT_MONO_NS: u16 = 3;
/// u64: CLOCK_REALTIME time of a record, in ns.
pub const CGL_A_EVENT_REAL_NS: u16 = 4;
/// u8: severity of a record (`enum cgl_severity`).
pub const CGL_A_EVENT_SEVERITY: u16 = 5;
/// NUL-terminated string: subsystem of a record.
pub const CGL_A_EVENT_SUBSYS: u16 = 6;
/// u32: subsystem-defined event id.
pub const CGL_A_EVENT_ID: u16 = 7;
/// NUL-terminated string: message of a record.
pub const CGL_A_EVENT_MSG: u16 = 8;
/// Binary: payload of a record.
pub const CGL_A_EVENT_PAYLOAD: u16 = 9;
/// u64: records lost (overwritten) before this one.
pub const CGL_A_EVENT_LOST: u16 = 10;
/// u64: first sequence number a dump wants.
pub const CGL_A_FILTER_SEQ: u16 = 11;
/// u8: most verbose severity a dump wants.
pub const CGL_A_FILTER_SEVERITY: u16 = 12;
/// NUL-terminated string: the only subsystem a dump wants.
pub const CGL_A_FILTER_SUBSYS: u16 = 13;
/// u32: ring size, in records.
pub const CGL_A_CONFIG_RING_SIZE: u16 = 14;
/// u8, 0..=8: severities below it also go to printk.
pub const CGL_A_CONFIG_PRINTK_LEVEL: u16 = 15;
/// u64, read only: next sequence number to be assigned.
pub const CGL_A_CONFIG_NEXT_SEQ: u16 = 16;
/// u32, read only: records held.
pub const CGL_A_CONFIG_RECORDS: u16 = 17;
/// u64, read only: records pushed out of the ring.
pub const CGL_A_CONFIG_OVERWRITTEN: u16 = 18;
/// u64, read only: records never stored (no memory).
pub const CGL_A_CONFIG_DROPPED: u16 = 19;
/// NUL-terminated string: name of a CGL module.
pub const CGL_A_MODULE_NAME: u16 = 20;
/// NUL-terminated string: generic netlink family of a module, "" if none.
pub const CGL_A_MODULE_FAMILY: u16 = 21;
/// NUL-terminated string: description of a module.
pub const CGL_A_MODULE_DESC: u16 = 22;
/// Highest attribute number.
pub const CGL_A_MAX: u16 = 22;

// ---------------------------------------------------------------------
// include/uapi/linux/cgl_heartbeat.h: the "cgl_hb" family.
// ---------------------------------------------------------------------

/// Name of the heartbeat generic netlink family.
pub const CGL_HB_GENL_NAME: &str = "cgl_hb";
/// Version of the heartbeat family this tool speaks.
pub const CGL_HB_GENL_VERSION: u8 = 1;
/// Multicast group of state changes (entities with action "notify").
pub const CGL_HB_MCGRP_ALERTS: &str = "alerts";

/// Longest entity or group name, in bytes (without the NUL).
pub const CGL_HB_NAME_MAX: usize = 31;
/// Longest command path, in bytes (without the NUL).
pub const CGL_HB_COMMAND_MAX: usize = 255;
/// Shortest beat period, in ms.
pub const CGL_HB_PERIOD_MIN_MS: u32 = 1;
/// Longest beat period, in ms.
pub const CGL_HB_PERIOD_MAX_MS: u32 = 3_600_000;
/// Most beats an entity may be allowed to miss.
pub const CGL_HB_MISSES_MAX: u32 = 1000;

/// `enum cgl_hb_action`: the event only.
pub const CGL_HB_ACT_EVENT: u8 = 0;
/// `enum cgl_hb_action`: send CGL_HB_A_SIGNAL to the watched process.
pub const CGL_HB_ACT_SIGNAL: u8 = 1;
/// `enum cgl_hb_action`: multicast to "alerts" (also recovery, exit).
pub const CGL_HB_ACT_NOTIFY: u8 = 2;
/// `enum cgl_hb_action`: run CGL_HB_A_COMMAND (usermode helper).
pub const CGL_HB_ACT_COMMAND: u8 = 3;
/// `enum cgl_hb_action`: panic the node.
pub const CGL_HB_ACT_PANIC: u8 = 4;

/// `enum cgl_hb_state`: beating in time.
pub const CGL_HB_STATE_ALIVE: u8 = 0;
/// `enum cgl_hb_state`: missed beats, fewer than allowed.
pub const CGL_HB_STATE_LATE: u8 = 1;
/// `enum cgl_hb_state`: missed the allowed beats; action taken.
pub const CGL_HB_STATE_DEAD: u8 = 2;
/// `enum cgl_hb_state`: the watched process exited (then removed).
pub const CGL_HB_STATE_EXITED: u8 = 3;

/// Register an entity; the reply carries HANDLE.
pub const CGL_HB_CMD_REGISTER: u8 = 1;
/// Beat: HANDLE or NAME.
pub const CGL_HB_CMD_BEAT: u8 = 2;
/// Unregister: HANDLE or NAME.
pub const CGL_HB_CMD_UNREGISTER: u8 = 3;
/// One entity (HANDLE or NAME), or a dump of all.
pub const CGL_HB_CMD_GET: u8 = 4;
/// Dump of groups.
pub const CGL_HB_CMD_GROUP_GET: u8 = 5;
/// Multicast: an entity changed state.
pub const CGL_HB_CMD_ALERT: u8 = 6;

/// Padding for 64-bit attributes.
pub const CGL_HB_A_PAD: u16 = 1;
/// u32: handle of an entity.
pub const CGL_HB_A_HANDLE: u16 = 2;
/// NUL-terminated string: name of an entity.
pub const CGL_HB_A_NAME: u16 = 3;
/// u32: beat period, in ms.
pub const CGL_HB_A_PERIOD_MS: u16 = 4;
/// u32: beats the entity may miss.
pub const CGL_HB_A_MAX_MISSES: u16 = 5;
/// u8: `enum cgl_hb_action`.
pub const CGL_HB_A_ACTION: u16 = 6;
/// u8: signal of the signal action.
pub const CGL_HB_A_SIGNAL: u16 = 7;
/// NUL-terminated string: absolute path of the command action's program.
pub const CGL_HB_A_COMMAND: u16 = 8;
/// NUL-terminated string: group of an entity.
pub const CGL_HB_A_GROUP: u16 = 9;
/// Flag: a dead entity stops the CGL watchdog's feeding.
pub const CGL_HB_A_CRITICAL: u16 = 10;
/// u32: watched process (tgid).
pub const CGL_HB_A_PID: u16 = 11;
/// u8: `enum cgl_hb_state`.
pub const CGL_HB_A_STATE: u16 = 12;
/// u32: consecutive misses.
pub const CGL_HB_A_MISSES: u16 = 13;
/// u64: CLOCK_MONOTONIC time of the last beat, in ns.
pub const CGL_HB_A_LAST_BEAT_NS: u16 = 14;
/// u64: CLOCK_MONOTONIC time of the next deadline, in ns.
pub const CGL_HB_A_DEADLINE_NS: u16 = 15;
/// u64: how late the last miss was noticed, in ns.
pub const CGL_HB_A_LATE_NS: u16 = 16;
/// u32: members of a group.
pub const CGL_HB_A_GROUP_MEMBERS: u16 = 17;
/// u32: dead members of a group.
pub const CGL_HB_A_GROUP_DEAD: u16 = 18;
/// Highest attribute number.
pub const CGL_HB_A_MAX: u16 = 18;

// ---------------------------------------------------------------------
// include/uapi/linux/cgl_fib.h: the "cgl_fib" family.
// ---------------------------------------------------------------------

/// Name of the multi-FIB generic netlink family.
pub const CGL_FIB_GENL_NAME: &str = "cgl_fib";
/// Version of the multi-FIB family this tool speaks.
pub const CGL_FIB_GENL_VERSION: u8 = 1;

/// The one u32 that is not a FIB id.
pub const CGL_FIB_ID_INVALID: u32 = 0xffff_ffff;
/// Most FIBs that can exist at once.
pub const CGL_FIB_MAX_FIBS: u32 = 65536;
/// Most routes in one CGL_FIB_CMD_NEWROUTE batch message.
pub const CGL_FIB_BATCH_MAX: usize = 4096;

/// `enum cgl_fib_rtype`: via GATEWAY and/or OIF.
pub const CGL_FIB_RT_UNICAST: u8 = 0;
/// `enum cgl_fib_rtype`: drop silently.
pub const CGL_FIB_RT_BLACKHOLE: u8 = 1;
/// `enum cgl_fib_rtype`: drop, ICMP unreachable.
pub const CGL_FIB_RT_UNREACHABLE: u8 = 2;
/// `enum cgl_fib_rtype`: drop, ICMP administratively prohibited.
pub const CGL_FIB_RT_PROHIBIT: u8 = 3;

/// Create a FIB: FIB_ID (EEXIST if it exists).
pub const CGL_FIB_CMD_NEWFIB: u8 = 1;
/// Delete a FIB and all its routes: FIB_ID.
pub const CGL_FIB_CMD_DELFIB: u8 = 2;
/// One FIB's counters (FIB_ID), or a dump of every FIB.
pub const CGL_FIB_CMD_GETFIB: u8 = 3;
/// Add (or with REPLACE replace) a route, or a BATCH of routes.
pub const CGL_FIB_CMD_NEWROUTE: u8 = 4;
/// Delete a route: FIB_ID, FAMILY, DST, DST_LEN.
pub const CGL_FIB_CMD_DELROUTE: u8 = 5;
/// Look an address (ADDR) or exact prefix up, or dump the routes of a FIB.
pub const CGL_FIB_CMD_GETROUTE: u8 = 6;
/// Reply: a FIB and its counters.
pub const CGL_FIB_CMD_FIB: u8 = 7;
/// Reply: a route.
pub const CGL_FIB_CMD_ROUTE: u8 = 8;
/// Make a FIB mirror a kernel IPv4 routing table (TABLE 0: stop).
pub const CGL_FIB_CMD_MIRROR: u8 = 9;
/// Bind interface OIF to FIB_ID, with router addresses LOCALS.
pub const CGL_FIB_CMD_BIND: u8 = 10;
/// Unbind interface OIF.
pub const CGL_FIB_CMD_UNBIND: u8 = 11;
/// One bound interface (OIF), or a dump of every one.
pub const CGL_FIB_CMD_GETPORT: u8 = 12;
/// Add (or with REPLACE replace) a permanent neighbour.
pub const CGL_FIB_CMD_NEWNEIGH: u8 = 13;
/// Delete a neighbour: FIB_ID, FAMILY, ADDR.
pub const CGL_FIB_CMD_DELNEIGH: u8 = 14;
/// Dump of the neighbours of FIB_ID (all FIBs without it).
pub const CGL_FIB_CMD_GETNEIGH: u8 = 15;
/// Set a FIB's NEIGH_LIMIT.
pub const CGL_FIB_CMD_SETFIB: u8 = 16;
/// Reply: a bound interface.
pub const CGL_FIB_CMD_PORT: u8 = 17;
/// Reply: a neighbour.
pub const CGL_FIB_CMD_NEIGH: u8 = 18;

/// u32: FIB id.
pub const CGL_FIB_A_FIB_ID: u16 = 1;
/// u8: AF_INET (2) or AF_INET6 (10).
pub const CGL_FIB_A_FAMILY: u16 = 2;
/// Binary: 4 or 16 bytes, network order.
pub const CGL_FIB_A_DST: u16 = 3;
/// u8: 0..32 or 0..128.
pub const CGL_FIB_A_DST_LEN: u16 = 4;
/// u8: `enum cgl_fib_rtype`.
pub const CGL_FIB_A_TYPE: u16 = 5;
/// Binary: 4 or 16 bytes, same family.
pub const CGL_FIB_A_GATEWAY: u16 = 6;
/// u32: output interface index.
pub const CGL_FIB_A_OIF: u16 = 7;
/// u32: priority, informational.
pub const CGL_FIB_A_METRIC: u16 = 8;
/// Binary: address to look up.
pub const CGL_FIB_A_ADDR: u16 = 9;
/// Flag: replace an existing route.
pub const CGL_FIB_A_REPLACE: u16 = 10;
/// Nest of CGL_FIB_A_ROUTE.
pub const CGL_FIB_A_BATCH: u16 = 11;
/// Nest: DST, DST_LEN, TYPE, GATEWAY, OIF, METRIC.
pub const CGL_FIB_A_ROUTE: u16 = 12;
/// u64: IPv4 routes in the FIB.
pub const CGL_FIB_A_ROUTES4: u16 = 13;
/// u64: IPv6 routes in the FIB.
pub const CGL_FIB_A_ROUTES6: u16 = 14;
/// u64: lookups made in the FIB.
pub const CGL_FIB_A_LOOKUPS: u16 = 15;
/// u64: lookups that found no route.
pub const CGL_FIB_A_MISSES: u16 = 16;
/// u32: routes a batch applied.
pub const CGL_FIB_A_DONE: u16 = 17;
/// Padding for 64-bit attributes.
pub const CGL_FIB_A_PAD: u16 = 18;
/// u32: the kernel routing table a FIB mirrors.
pub const CGL_FIB_A_TABLE: u16 = 19;
/// Nest of CGL_FIB_A_LOCAL.
pub const CGL_FIB_A_LOCALS: u16 = 20;
/// Nest: ADDR (4 or 16 bytes), DST_LEN: a router address of a port.
pub const CGL_FIB_A_LOCAL: u16 = 21;
/// Binary: 6-byte Ethernet address.
pub const CGL_FIB_A_LLADDR: u16 = 22;
/// u8: `enum cgl_fib_neigh_state`.
pub const CGL_FIB_A_NEIGH_STATE: u16 = 23;
/// u32: most neighbours of a FIB.
pub const CGL_FIB_A_NEIGH_LIMIT: u16 = 24;
/// u32: neighbours of a FIB.
pub const CGL_FIB_A_NEIGHS: u16 = 25;
/// Nest of u64 counters whose types are `enum cgl_fib_stat`.
pub const CGL_FIB_A_STATS: u16 = 26;
/// Highest attribute number.
pub const CGL_FIB_A_MAX: u16 = 26;

/// Most router addresses per family on one bound interface.
pub const CGL_FIB_PORT_ADDRS: usize = 8;
/// Neighbours a FIB may hold unless NEIGH_LIMIT says otherwise.
pub const CGL_FIB_NEIGH_LIMIT_DEFAULT: u32 = 1024;
/// Neighbours of all FIBs together.
pub const CGL_FIB_NEIGH_MAX: u32 = 16384;

/// `enum cgl_fib_neigh_state`: being resolved, packets queued.
pub const CGL_FIB_NUD_INCOMPLETE: u8 = 0;
/// `enum cgl_fib_neigh_state`: confirmed recently.
pub const CGL_FIB_NUD_REACHABLE: u8 = 1;
/// `enum cgl_fib_neigh_state`: used, refreshed on use.
pub const CGL_FIB_NUD_STALE: u8 = 2;
/// `enum cgl_fib_neigh_state`: no answer, unreachable for a while.
pub const CGL_FIB_NUD_FAILED: u8 = 3;
/// `enum cgl_fib_neigh_state`: added by the administrator.
pub const CGL_FIB_NUD_PERMANENT: u8 = 4;

/// `enum cgl_fib_stat`: IPv4/IPv6/ARP packets received.
pub const CGL_FIB_STAT_RX: u16 = 1;
/// `enum cgl_fib_stat`: packets sent on by a route.
pub const CGL_FIB_STAT_FORWARDED: u16 = 2;
/// `enum cgl_fib_stat`: to a router address (echo answered).
pub const CGL_FIB_STAT_LOCAL: u16 = 3;
/// `enum cgl_fib_stat`: no route, ICMP unreachable.
pub const CGL_FIB_STAT_NOROUTE: u16 = 4;
/// `enum cgl_fib_stat`: TTL/hop limit exceeded.
pub const CGL_FIB_STAT_TTL: u16 = 5;
/// `enum cgl_fib_stat`: dropped by a blackhole, unreachable or prohibit
/// route.
pub const CGL_FIB_STAT_BLACKHOLE: u16 = 6;
/// `enum cgl_fib_stat`: over the output MTU.
pub const CGL_FIB_STAT_TOOBIG: u16 = 7;
/// `enum cgl_fib_stat`: neighbour failed or over its limit.
pub const CGL_FIB_STAT_UNRESOLVED: u16 = 8;
/// `enum cgl_fib_stat`: malformed, not for us, no memory, ...
pub const CGL_FIB_STAT_DROPS: u16 = 9;
/// `enum cgl_fib_stat`: ICMP/ICMPv6 errors sent.
pub const CGL_FIB_STAT_ICMP: u16 = 10;
/// `enum cgl_fib_stat`: ARP requests and NS answered.
pub const CGL_FIB_STAT_ARP: u16 = 11;
/// Highest counter number.
pub const CGL_FIB_STAT_MAX: u16 = 11;
