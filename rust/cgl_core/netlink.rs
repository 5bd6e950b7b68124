// SPDX-License-Identifier: GPL-2.0

//! The `cgl_core` generic netlink family: the event log and the core's
//! configuration. Commands and attributes are in
//! `include/uapi/linux/cgl_core.h`.

use crate::event::{Record, Severity};
use crate::genl::{
    Attr, DoIt, Dump, DumpIt, Family, FamilySpec, McGroup, Op, Policy, Range, Request, Writer,
};
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::uapi;

crate::uapi_consts!(u8;
    CMD_EVENT_GET = uapi::cgl_core_cmd_CGL_CORE_CMD_EVENT_GET,
    CMD_EVENT_NEW = uapi::cgl_core_cmd_CGL_CORE_CMD_EVENT_NEW,
    CMD_EVENT_LOG = uapi::cgl_core_cmd_CGL_CORE_CMD_EVENT_LOG,
    CMD_CONFIG_GET = uapi::cgl_core_cmd_CGL_CORE_CMD_CONFIG_GET,
    CMD_CONFIG_SET = uapi::cgl_core_cmd_CGL_CORE_CMD_CONFIG_SET,
    CMD_MODULE_GET = uapi::cgl_core_cmd_CGL_CORE_CMD_MODULE_GET,
);

crate::uapi_consts!(u16;
    A_PAD = uapi::cgl_core_attr_CGL_A_PAD,
    A_EVENT_SEQ = uapi::cgl_core_attr_CGL_A_EVENT_SEQ,
    A_EVENT_MONO_NS = uapi::cgl_core_attr_CGL_A_EVENT_MONO_NS,
    A_EVENT_REAL_NS = uapi::cgl_core_attr_CGL_A_EVENT_REAL_NS,
    A_EVENT_SEVERITY = uapi::cgl_core_attr_CGL_A_EVENT_SEVERITY,
    A_EVENT_SUBSYS = uapi::cgl_core_attr_CGL_A_EVENT_SUBSYS,
    A_EVENT_ID = uapi::cgl_core_attr_CGL_A_EVENT_ID,
    A_EVENT_MSG = uapi::cgl_core_attr_CGL_A_EVENT_MSG,
    A_EVENT_PAYLOAD = uapi::cgl_core_attr_CGL_A_EVENT_PAYLOAD,
    A_EVENT_LOST = uapi::cgl_core_attr_CGL_A_EVENT_LOST,
    A_FILTER_SEQ = uapi::cgl_core_attr_CGL_A_FILTER_SEQ,
    A_FILTER_SEVERITY = uapi::cgl_core_attr_CGL_A_FILTER_SEVERITY,
    A_FILTER_SUBSYS = uapi::cgl_core_attr_CGL_A_FILTER_SUBSYS,
    A_CONFIG_RING_SIZE = uapi::cgl_core_attr_CGL_A_CONFIG_RING_SIZE,
    A_CONFIG_PRINTK_LEVEL = uapi::cgl_core_attr_CGL_A_CONFIG_PRINTK_LEVEL,
    A_CONFIG_NEXT_SEQ = uapi::cgl_core_attr_CGL_A_CONFIG_NEXT_SEQ,
    A_CONFIG_RECORDS = uapi::cgl_core_attr_CGL_A_CONFIG_RECORDS,
    A_CONFIG_OVERWRITTEN = uapi::cgl_core_attr_CGL_A_CONFIG_OVERWRITTEN,
    A_CONFIG_DROPPED = uapi::cgl_core_attr_CGL_A_CONFIG_DROPPED,
    A_MODULE_NAME = uapi::cgl_core_attr_CGL_A_MODULE_NAME,
    A_MODULE_FAMILY = uapi::cgl_core_attr_CGL_A_MODULE_FAMILY,
    A_MODULE_DESC = uapi::cgl_core_attr_CGL_A_MODULE_DESC,
);

/// Index of the "events" group in [`SPEC`]'s `mcgrps`.
pub(crate) const GROUP_EVENTS: u32 = 0;

static RING_SIZE_RANGE: Range = Range::new(
    uapi::CGL_RING_SIZE_MIN as u64,
    uapi::CGL_RING_SIZE_MAX as u64,
);

/// Indexed by attribute type; what a request may carry. Output-only
/// attributes are rejected.
pub(crate) static POLICY: [Policy; uapi::cgl_core_attr___CGL_A_MAX as usize] = [
    Policy::reject(),                                   // UNSPEC
    Policy::reject(),                                   // PAD
    Policy::reject(),                                   // EVENT_SEQ
    Policy::reject(),                                   // EVENT_MONO_NS
    Policy::reject(),                                   // EVENT_REAL_NS
    Policy::u8_range(0, 7),                             // EVENT_SEVERITY
    Policy::string(uapi::CGL_EVENT_SUBSYS_MAX as u16),  // EVENT_SUBSYS
    Policy::u32(),                                      // EVENT_ID
    Policy::string(uapi::CGL_EVENT_MSG_MAX as u16),     // EVENT_MSG
    Policy::binary(uapi::CGL_EVENT_PAYLOAD_MAX as u16), // EVENT_PAYLOAD
    Policy::reject(),                                   // EVENT_LOST
    Policy::u64(),                                      // FILTER_SEQ
    Policy::u8_range(0, 7),                             // FILTER_SEVERITY
    Policy::string(uapi::CGL_EVENT_SUBSYS_MAX as u16),  // FILTER_SUBSYS
    Policy::u32_range(&RING_SIZE_RANGE),                // CONFIG_RING_SIZE
    Policy::u8_range(0, 8),                             // CONFIG_PRINTK_LEVEL
    Policy::reject(),                                   // CONFIG_NEXT_SEQ
    Policy::reject(),                                   // CONFIG_RECORDS
    Policy::reject(),                                   // CONFIG_OVERWRITTEN
    Policy::reject(),                                   // CONFIG_DROPPED
    Policy::reject(),                                   // MODULE_NAME
    Policy::reject(),                                   // MODULE_FAMILY
    Policy::reject(),                                   // MODULE_DESC
];

static OPS: [Op; 5] = [
    Op::new(CMD_EVENT_GET).dumpit::<EventGet>(),
    Op::new(CMD_EVENT_LOG).doit::<EventLog>().admin(),
    Op::new(CMD_CONFIG_GET).doit::<ConfigGet>(),
    Op::new(CMD_CONFIG_SET).doit::<ConfigSet>().admin(),
    Op::new(CMD_MODULE_GET).dumpit::<ModuleGet>(),
];

static MCGRPS: [McGroup; 1] = [McGroup::new("events")];

pub(crate) static SPEC: FamilySpec = FamilySpec {
    name: c_str!("cgl_core"),
    version: uapi::CGL_CORE_GENL_VERSION,
    policy: &POLICY,
    pad_attr: A_PAD,
    ops: &OPS,
    mcgrps: &MCGRPS,
};

/// The registered family.
pub(crate) static FAMILY: Family = Family::new();

/// Writes the attributes of `rec` (and `lost`, if any).
pub(crate) fn put_record(w: &mut Writer, rec: &Record, lost: u64) -> Result {
    w.put_u64(A_EVENT_SEQ, rec.seq)?;
    w.put_u64(A_EVENT_MONO_NS, rec.mono_ns)?;
    w.put_u64(A_EVENT_REAL_NS, rec.real_ns)?;
    w.put_u8(A_EVENT_SEVERITY, rec.severity as u8)?;
    w.put_str(A_EVENT_SUBSYS, rec.subsys())?;
    w.put_u32(A_EVENT_ID, rec.id)?;
    w.put_str(A_EVENT_MSG, rec.msg())?;
    if !rec.payload().is_empty() {
        w.put_bytes(A_EVENT_PAYLOAD, rec.payload())?;
    }
    if lost > 0 {
        w.put_u64(A_EVENT_LOST, lost)?;
    }
    Ok(())
}

fn opt<'a, T>(a: Option<Attr<'a>>, get: impl FnOnce(&Attr<'a>) -> Result<T>) -> Result<Option<T>> {
    a.map(|a| get(&a)).transpose()
}

struct EventGet;

impl DumpIt for EventGet {
    fn dumpit(d: &mut Dump<'_>) -> Result {
        let core = crate::core_state().ok_or(ENODEV)?;
        let max_sev = opt(d.attr(A_FILTER_SEVERITY), Attr::u8)?.unwrap_or(7);
        let mut subsys_buf = [0u8; crate::event::SUBSYS_MAX];
        let subsys_len = match d.attr(A_FILTER_SUBSYS) {
            Some(a) => {
                let s = a.str()?.as_bytes();
                let n = s.len().min(subsys_buf.len());
                subsys_buf[..n].copy_from_slice(&s[..n]);
                Some(n)
            }
            None => None,
        };
        let subsys = subsys_len.map(|n| &subsys_buf[..n]);
        // state[0]: next sequence number to send, 0 before the first step.
        // Records overwritten since the previous step are reported as lost
        // on the next message, so a slow dump still accounts for them.
        if d.state()[0] == 0 {
            let from = opt(d.attr(A_FILTER_SEQ), Attr::u64)?.unwrap_or(0).max(1);
            d.state()[0] = from as _;
        }
        loop {
            let from = d.state()[0] as u64;
            let filter = |r: &Record| {
                (r.severity as u8) <= max_sev && subsys.map_or(true, |s| r.subsys().as_bytes() == s)
            };
            // The record goes straight from the ring into the buffer, under
            // the ring lock: no copy, and nothing that can sleep.
            let mut msg = d.begin(CMD_EVENT_GET)?;
            let res = core
                .ring
                .read(from, filter, |rec, lost| put_record(&mut msg, rec, lost));
            match res {
                None => {
                    // Nothing left to send; the loss, if any, still is.
                    let start = core.ring.start(from);
                    if start.lost == 0 {
                        drop(msg);
                        return Ok(());
                    }
                    msg.put_u64(A_EVENT_LOST, start.lost)?;
                    msg.commit();
                    d.state()[0] = start.first as _;
                }
                Some((Err(e), _)) => return Err(e),
                Some((Ok(()), next)) => {
                    msg.commit();
                    d.state()[0] = next as _;
                }
            }
        }
    }
}

struct EventLog;

impl DoIt for EventLog {
    fn doit(req: &mut Request<'_>) -> Result {
        let sev = req.require(A_EVENT_SEVERITY)?.u8()?;
        let severity = Severity::from_u8(sev).ok_or(EINVAL)?;
        let id = opt(req.attr(A_EVENT_ID), Attr::u32)?.unwrap_or(0);
        let seq = {
            let msg = req.require(A_EVENT_MSG)?.str()?;
            let subsys = match req.attr(A_EVENT_SUBSYS) {
                Some(a) => a.str()?,
                None => "user",
            };
            let payload = req.attr(A_EVENT_PAYLOAD).map_or(&[][..], |a| a.bytes());
            if subsys.is_empty() {
                return Err(req.fail(EINVAL, c_str!("empty subsystem name"), Some(A_EVENT_SUBSYS)));
            }
            crate::event::log(severity, subsys, id, format_args!("{}", msg), payload)?
        };
        let mut reply = req.new_reply(CMD_EVENT_LOG)?;
        reply.put_u64(A_EVENT_SEQ, seq)?;
        req.reply(reply)
    }
}

struct ConfigGet;

impl DoIt for ConfigGet {
    fn doit(req: &mut Request<'_>) -> Result {
        let core = crate::core_state().ok_or(ENODEV)?;
        let s = core.stats();
        let mut reply = req.new_reply(CMD_CONFIG_GET)?;
        reply.put_u32(A_CONFIG_RING_SIZE, s.capacity)?;
        reply.put_u8(
            A_CONFIG_PRINTK_LEVEL,
            core.printk_level.load(Ordering::Relaxed) as u8,
        )?;
        reply.put_u64(A_CONFIG_NEXT_SEQ, s.next_seq)?;
        reply.put_u32(A_CONFIG_RECORDS, s.records)?;
        reply.put_u64(A_CONFIG_OVERWRITTEN, s.overwritten)?;
        reply.put_u64(A_CONFIG_DROPPED, s.dropped)?;
        req.reply(reply)
    }
}

struct ConfigSet;

impl DoIt for ConfigSet {
    fn doit(req: &mut Request<'_>) -> Result {
        let core = crate::core_state().ok_or(ENODEV)?;
        let size = opt(req.attr(A_CONFIG_RING_SIZE), Attr::u32)?;
        let level = opt(req.attr(A_CONFIG_PRINTK_LEVEL), Attr::u8)?;
        if size.is_none() && level.is_none() {
            return Err(req.fail(
                EINVAL,
                c_str!("nothing to change: give a ring size or a printk level"),
                None,
            ));
        }
        // The ring size is the change that can fail: make it first, so a
        // failure leaves everything as it was.
        if let Some(size) = size {
            core.set_ring_size(size)?;
        }
        if let Some(level) = level {
            core.set_printk_level(level)?;
        }
        Ok(())
    }
}

struct ModuleGet;

impl DumpIt for ModuleGet {
    fn dumpit(d: &mut Dump<'_>) -> Result {
        let core = crate::core_state().ok_or(ENODEV)?;
        loop {
            let i = d.state()[0] as usize;
            let Some(m) = core.module(i) else {
                return Ok(());
            };
            let mut msg = d.begin(CMD_MODULE_GET)?;
            msg.put_str(A_MODULE_NAME, m.name.to_str().unwrap_or("?"))?;
            msg.put_str(
                A_MODULE_FAMILY,
                m.family.map_or("", |f| f.to_str().unwrap_or("")),
            )?;
            msg.put_str(A_MODULE_DESC, m.description.to_str().unwrap_or(""))?;
            msg.commit();
            d.state()[0] += 1;
        }
    }
}

/// Sends every record not yet multicast to the "events" group. Runs in
/// the core's work item (process context).
pub(crate) fn broadcast_pending(core: &crate::Core) {
    loop {
        let from = core.broadcast_next.load(Ordering::Relaxed);
        if !FAMILY.has_listeners(GROUP_EVENTS) {
            // Nobody listens: followers start with a dump anyway.
            core.broadcast_next
                .store(core.stats().next_seq, Ordering::Relaxed);
            return;
        }
        let Ok(mut msg) = FAMILY.new_event(CMD_EVENT_NEW) else {
            // Followers see the gap in sequence numbers and re-read.
            return;
        };
        match core
            .ring
            .read(from, |_| true, |rec, _| put_record(&mut msg, rec, 0))
        {
            None => return,
            Some((res, next)) => {
                core.broadcast_next.store(next, Ordering::Relaxed);
                if res.is_ok() {
                    // A failed send (a full receive queue) shows as ENOBUFS
                    // on the follower's socket; it re-reads from its last
                    // sequence number.
                    let _ = FAMILY.multicast(msg, GROUP_EVENTS);
                }
            }
        }
    }
}
