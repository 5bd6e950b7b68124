/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cgl_core: the shared core of the Carrier Grade Linux modules.
 *
 * Generic netlink family "cgl_core": the event log (dump, live follow,
 * append) and the core's configuration.  See Documentation/cgl/core.rst.
 */
#ifndef _UAPI_LINUX_CGL_CORE_H
#define _UAPI_LINUX_CGL_CORE_H

#define CGL_CORE_GENL_NAME	"cgl_core"
#define CGL_CORE_GENL_VERSION	1
/* Multicast group that carries every new event record. */
#define CGL_CORE_MCGRP_EVENTS	"events"

/* Severities, as in syslog(3) and printk: lower is more severe. */
enum cgl_severity {
	CGL_SEV_EMERG = 0,
	CGL_SEV_ALERT,
	CGL_SEV_CRIT,
	CGL_SEV_ERR,
	CGL_SEV_WARNING,
	CGL_SEV_NOTICE,
	CGL_SEV_INFO,
	CGL_SEV_DEBUG,
};

/* Longest subsystem name, message and payload a record carries. */
#define CGL_EVENT_SUBSYS_MAX	31
#define CGL_EVENT_MSG_MAX	255
#define CGL_EVENT_PAYLOAD_MAX	1024

/* Bounds of the ring size, in records. */
#define CGL_RING_SIZE_MIN	16
#define CGL_RING_SIZE_MAX	65536

enum cgl_core_cmd {
	CGL_CORE_CMD_UNSPEC,
	/*
	 * Dump of event records, oldest first.  Filters: CGL_A_FILTER_SEQ
	 * (first sequence number wanted), CGL_A_FILTER_SEVERITY (most verbose
	 * severity wanted), CGL_A_FILTER_SUBSYS.  If records the reader asked
	 * for were overwritten, the first record sent carries CGL_A_EVENT_LOST.
	 */
	CGL_CORE_CMD_EVENT_GET,
	/* A new record, sent to the "events" multicast group. */
	CGL_CORE_CMD_EVENT_NEW,
	/*
	 * Append a record (CAP_NET_ADMIN).  Needs CGL_A_EVENT_SEVERITY,
	 * CGL_A_EVENT_MSG; optional CGL_A_EVENT_ID, CGL_A_EVENT_PAYLOAD,
	 * CGL_A_EVENT_SUBSYS (default "user").  The reply carries
	 * CGL_A_EVENT_SEQ.
	 */
	CGL_CORE_CMD_EVENT_LOG,
	/* Read the core's configuration and counters. */
	CGL_CORE_CMD_CONFIG_GET,
	/* Change CGL_A_CONFIG_RING_SIZE, CGL_A_CONFIG_PRINTK_LEVEL (CAP_NET_ADMIN). */
	CGL_CORE_CMD_CONFIG_SET,
	/* Dump of the CGL modules registered with the core. */
	CGL_CORE_CMD_MODULE_GET,
	__CGL_CORE_CMD_MAX,
};
#define CGL_CORE_CMD_MAX (__CGL_CORE_CMD_MAX - 1)

enum cgl_core_attr {
	CGL_A_UNSPEC,
	CGL_A_PAD,
	CGL_A_EVENT_SEQ,		/* u64 */
	CGL_A_EVENT_MONO_NS,		/* u64, CLOCK_MONOTONIC */
	CGL_A_EVENT_REAL_NS,		/* u64, CLOCK_REALTIME */
	CGL_A_EVENT_SEVERITY,		/* u8, enum cgl_severity */
	CGL_A_EVENT_SUBSYS,		/* NUL-terminated string */
	CGL_A_EVENT_ID,			/* u32, subsystem-defined */
	CGL_A_EVENT_MSG,		/* NUL-terminated string */
	CGL_A_EVENT_PAYLOAD,		/* binary */
	CGL_A_EVENT_LOST,		/* u64, records lost before this one */
	CGL_A_FILTER_SEQ,		/* u64 */
	CGL_A_FILTER_SEVERITY,		/* u8 */
	CGL_A_FILTER_SUBSYS,		/* NUL-terminated string */
	CGL_A_CONFIG_RING_SIZE,		/* u32, records */
	CGL_A_CONFIG_PRINTK_LEVEL,	/* u8, 0..8: severities below it go to printk */
	CGL_A_CONFIG_NEXT_SEQ,		/* u64, read only */
	CGL_A_CONFIG_RECORDS,		/* u32, read only: records held */
	CGL_A_CONFIG_OVERWRITTEN,	/* u64, read only: records pushed out of the ring */
	CGL_A_CONFIG_DROPPED,		/* u64, read only: records never stored (no memory) */
	CGL_A_MODULE_NAME,		/* NUL-terminated string */
	CGL_A_MODULE_FAMILY,		/* NUL-terminated string, "" if none */
	CGL_A_MODULE_DESC,		/* NUL-terminated string */
	__CGL_A_MAX,
};
#define CGL_A_MAX (__CGL_A_MAX - 1)

#endif /* _UAPI_LINUX_CGL_CORE_H */
