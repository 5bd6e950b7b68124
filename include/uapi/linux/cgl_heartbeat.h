/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cgl_heartbeat: the CGL application heartbeat monitor.
 *
 * An application registers a named entity with a beat period and a number
 * of beats it may miss, then beats. The kernel notices a missed beat
 * within milliseconds of its deadline and, once the allowed misses are
 * used up, declares the entity dead and acts; a watched process that
 * exits is reported at once. Generic netlink family "cgl_hb", and the
 * misc device /dev/cgl_hb for C applications. See
 * Documentation/cgl/heartbeat.rst.
 */
#ifndef _UAPI_LINUX_CGL_HEARTBEAT_H
#define _UAPI_LINUX_CGL_HEARTBEAT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define CGL_HB_GENL_NAME	"cgl_hb"
#define CGL_HB_GENL_VERSION	1
/* Multicast group of state changes (entities with action "notify"). */
#define CGL_HB_MCGRP_ALERTS	"alerts"

#define CGL_HB_NAME_MAX		31	/* bytes, without the NUL */
#define CGL_HB_COMMAND_MAX	255
#define CGL_HB_PERIOD_MIN_MS	1
#define CGL_HB_PERIOD_MAX_MS	3600000
#define CGL_HB_MISSES_MAX	1000

/* What happens when an entity is declared dead (always: an event). */
enum cgl_hb_action {
	CGL_HB_ACT_EVENT,	/* the event only */
	CGL_HB_ACT_SIGNAL,	/* send CGL_HB_A_SIGNAL to the watched process */
	CGL_HB_ACT_NOTIFY,	/* multicast to "alerts" (also recovery, exit) */
	CGL_HB_ACT_COMMAND,	/* run CGL_HB_A_COMMAND (usermode helper) */
	CGL_HB_ACT_PANIC,	/* panic the node (for failover) */
	__CGL_HB_ACT_MAX,
};

enum cgl_hb_state {
	CGL_HB_STATE_ALIVE,	/* beating in time */
	CGL_HB_STATE_LATE,	/* missed beats, fewer than allowed */
	CGL_HB_STATE_DEAD,	/* missed the allowed beats; action taken */
	CGL_HB_STATE_EXITED,	/* the watched process exited (then removed) */
};

enum cgl_hb_cmd {
	CGL_HB_CMD_UNSPEC,
	/*
	 * Register: NAME, PERIOD_MS, MAX_MISSES required; ACTION (default
	 * event), SIGNAL (default SIGTERM), COMMAND (required by the command
	 * action), GROUP, CRITICAL, PID (watched process as the caller's pid
	 * namespace numbers it, default the caller; another's needs
	 * CAP_SYS_ADMIN, as do CRITICAL and the command and panic actions).
	 * The reply carries HANDLE.
	 */
	CGL_HB_CMD_REGISTER,
	/* Beat: HANDLE or NAME. Only the watched process or CAP_SYS_ADMIN. */
	CGL_HB_CMD_BEAT,
	/* Unregister: HANDLE or NAME; the same rule. */
	CGL_HB_CMD_UNREGISTER,
	/* One entity (HANDLE or NAME), or a dump of all. */
	CGL_HB_CMD_GET,
	/* Dump of groups: GROUP, GROUP_MEMBERS, GROUP_DEAD. */
	CGL_HB_CMD_GROUP_GET,
	/* Multicast: an entity changed state (STATE, and the GET attributes). */
	CGL_HB_CMD_ALERT,
	__CGL_HB_CMD_MAX,
};

enum cgl_hb_attr {
	CGL_HB_A_UNSPEC,
	CGL_HB_A_PAD,
	CGL_HB_A_HANDLE,	/* u32 */
	CGL_HB_A_NAME,		/* string */
	CGL_HB_A_PERIOD_MS,	/* u32 */
	CGL_HB_A_MAX_MISSES,	/* u32 */
	CGL_HB_A_ACTION,	/* u8, enum cgl_hb_action */
	CGL_HB_A_SIGNAL,	/* u8 */
	CGL_HB_A_COMMAND,	/* string, absolute path of an executable */
	CGL_HB_A_GROUP,		/* string */
	CGL_HB_A_CRITICAL,	/* flag: a dead entity stops the CGL watchdog's feeding */
	CGL_HB_A_PID,		/* u32, watched process (tgid) */
	CGL_HB_A_STATE,		/* u8, enum cgl_hb_state */
	CGL_HB_A_MISSES,	/* u32, consecutive misses */
	CGL_HB_A_LAST_BEAT_NS,	/* u64, CLOCK_MONOTONIC */
	CGL_HB_A_DEADLINE_NS,	/* u64, CLOCK_MONOTONIC */
	CGL_HB_A_LATE_NS,	/* u64, how late the miss was noticed */
	CGL_HB_A_GROUP_MEMBERS,	/* u32 */
	CGL_HB_A_GROUP_DEAD,	/* u32 */
	__CGL_HB_A_MAX,
};

/* /dev/cgl_hb */
struct cgl_hb_register {
	char name[CGL_HB_NAME_MAX + 1];	/* NUL-terminated */
	char group[CGL_HB_NAME_MAX + 1];	/* NUL-terminated, may be empty */
	__u32 period_ms;
	__u32 max_misses;
	__u8 action;		/* event, signal or notify */
	__u8 signal;
	__u8 critical;
	__u8 reserved;		/* must be 0 */
	__u32 handle;		/* out */
};

#define CGL_HB_IOC_MAGIC	0xCB
/* Register the calling process; fills in handle. */
#define CGL_HB_IOC_REGISTER	_IOWR(CGL_HB_IOC_MAGIC, 1, struct cgl_hb_register)
/* Beat: the argument is the handle itself. */
#define CGL_HB_IOC_BEAT		_IO(CGL_HB_IOC_MAGIC, 2)
/* Unregister: the argument is the handle itself. */
#define CGL_HB_IOC_UNREGISTER	_IO(CGL_HB_IOC_MAGIC, 3)

#endif /* _UAPI_LINUX_CGL_HEARTBEAT_H */
