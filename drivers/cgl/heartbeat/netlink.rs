// SPDX-License-Identifier: GPL-2.0

//! The `cgl_hb` generic netlink family (`include/uapi/linux/cgl_heartbeat.h`)
//! of the application heartbeat monitor.

use super::{monitor, Action, Entity, Name, Spec, State};
use cgl_core::genl::{
    DoIt, Dump, DumpIt, Family, FamilySpec, McGroup, Op, Policy, Range, Registration, Request,
    Writer,
};
use kernel::c_str;
use kernel::prelude::*;
use kernel::uapi;

cgl_core::uapi_consts!(u8;
    CMD_REGISTER = uapi::cgl_hb_cmd_CGL_HB_CMD_REGISTER,
    CMD_BEAT = uapi::cgl_hb_cmd_CGL_HB_CMD_BEAT,
    CMD_UNREGISTER = uapi::cgl_hb_cmd_CGL_HB_CMD_UNREGISTER,
    CMD_GET = uapi::cgl_hb_cmd_CGL_HB_CMD_GET,
    CMD_GROUP_GET = uapi::cgl_hb_cmd_CGL_HB_CMD_GROUP_GET,
    CMD_ALERT = uapi::cgl_hb_cmd_CGL_HB_CMD_ALERT,
);

cgl_core::uapi_consts!(u16;
    A_PAD = uapi::cgl_hb_attr_CGL_HB_A_PAD,
    A_HANDLE = uapi::cgl_hb_attr_CGL_HB_A_HANDLE,
    A_NAME = uapi::cgl_hb_attr_CGL_HB_A_NAME,
    A_PERIOD_MS = uapi::cgl_hb_attr_CGL_HB_A_PERIOD_MS,
    A_MAX_MISSES = uapi::cgl_hb_attr_CGL_HB_A_MAX_MISSES,
    A_ACTION = uapi::cgl_hb_attr_CGL_HB_A_ACTION,
    A_SIGNAL = uapi::cgl_hb_attr_CGL_HB_A_SIGNAL,
    A_COMMAND = uapi::cgl_hb_attr_CGL_HB_A_COMMAND,
    A_GROUP = uapi::cgl_hb_attr_CGL_HB_A_GROUP,
    A_CRITICAL = uapi::cgl_hb_attr_CGL_HB_A_CRITICAL,
    A_PID = uapi::cgl_hb_attr_CGL_HB_A_PID,
    A_STATE = uapi::cgl_hb_attr_CGL_HB_A_STATE,
    A_MISSES = uapi::cgl_hb_attr_CGL_HB_A_MISSES,
    A_LAST_BEAT_NS = uapi::cgl_hb_attr_CGL_HB_A_LAST_BEAT_NS,
    A_DEADLINE_NS = uapi::cgl_hb_attr_CGL_HB_A_DEADLINE_NS,
    A_LATE_NS = uapi::cgl_hb_attr_CGL_HB_A_LATE_NS,
    A_GROUP_MEMBERS = uapi::cgl_hb_attr_CGL_HB_A_GROUP_MEMBERS,
    A_GROUP_DEAD = uapi::cgl_hb_attr_CGL_HB_A_GROUP_DEAD,
);

static PERIOD_RANGE: Range = Range::new(
    uapi::CGL_HB_PERIOD_MIN_MS as u64,
    uapi::CGL_HB_PERIOD_MAX_MS as u64,
);
static MISSES_RANGE: Range = Range::new(1, uapi::CGL_HB_MISSES_MAX as u64);

static POLICY: [Policy; uapi::cgl_hb_attr___CGL_HB_A_MAX as usize] = [
    Policy::reject(),                                                    // UNSPEC
    Policy::reject(),                                                    // PAD
    Policy::u32(),                                                       // HANDLE
    Policy::string(uapi::CGL_HB_NAME_MAX as u16),                        // NAME
    Policy::u32_range(&PERIOD_RANGE),                                    // PERIOD_MS
    Policy::u32_range(&MISSES_RANGE),                                    // MAX_MISSES
    Policy::u8_range(0, uapi::cgl_hb_action___CGL_HB_ACT_MAX as u8 - 1), // ACTION
    Policy::u8_range(1, 64),                                             // SIGNAL
    Policy::string(uapi::CGL_HB_COMMAND_MAX as u16),                     // COMMAND
    Policy::string(uapi::CGL_HB_NAME_MAX as u16),                        // GROUP
    Policy::flag(),                                                      // CRITICAL
    Policy::u32(),                                                       // PID
    Policy::reject(),                                                    // STATE
    Policy::reject(),                                                    // MISSES
    Policy::reject(),                                                    // LAST_BEAT_NS
    Policy::reject(),                                                    // DEADLINE_NS
    Policy::reject(),                                                    // LATE_NS
    Policy::reject(),                                                    // GROUP_MEMBERS
    Policy::reject(),                                                    // GROUP_DEAD
];

static OPS: [Op; 5] = [
    Op::new(CMD_REGISTER).doit::<Register>(),
    Op::new(CMD_BEAT).doit::<Beat>(),
    Op::new(CMD_UNREGISTER).doit::<Unregister>(),
    Op::new(CMD_GET).doit::<GetOne>().dumpit::<GetAll>(),
    Op::new(CMD_GROUP_GET).dumpit::<GroupGet>(),
];

static MCGRPS: [McGroup; 1] = [McGroup::new("alerts")];

static SPEC: FamilySpec = FamilySpec {
    name: c_str!("cgl_hb"),
    version: uapi::CGL_HB_GENL_VERSION,
    policy: &POLICY,
    pad_attr: A_PAD,
    ops: &OPS,
    mcgrps: &MCGRPS,
};

static FAMILY: Family = Family::new();

/// Registers the family; it is unregistered when the guard drops.
pub(crate) fn register(module: &'static ThisModule) -> Result<Registration> {
    // SAFETY: called once, from module init; the guard lives in the
    // module's state until exit.
    unsafe { FAMILY.registration(&SPEC, Some(module)) }
}

fn fail<T>(req: &Request<'_>, (e, msg): (Error, &'static CStr), attr: Option<u16>) -> Result<T> {
    Err(req.fail(e, msg, attr))
}

/// The handle a request names, by HANDLE or NAME.
fn target(req: &Request<'_>) -> Result<u32> {
    let m = monitor().ok_or(ENODEV)?;
    if let Some(a) = req.attr(A_HANDLE) {
        return a.u32();
    }
    let Some(a) = req.attr(A_NAME) else {
        return Err(req.fail(EINVAL, c_str!("give a handle or a name"), None));
    };
    m.lookup(a.str()?)
        .ok_or_else(|| req.fail(ENOENT, c_str!("no such entity"), Some(A_NAME)))
}

struct Register;

impl DoIt for Register {
    fn doit(req: &mut Request<'_>) -> Result {
        let m = monitor().ok_or(ENODEV)?;
        let name = Name::new(req.require(A_NAME)?.str()?).ok_or_else(|| {
            req.fail(
                EINVAL,
                c_str!("name: 1-31 printable characters, no '/' or space"),
                Some(A_NAME),
            )
        })?;
        if name.is_empty() {
            return Err(req.fail(EINVAL, c_str!("empty name"), Some(A_NAME)));
        }
        let group = match req.attr(A_GROUP) {
            Some(a) => Name::new(a.str()?).ok_or_else(|| {
                req.fail(
                    EINVAL,
                    c_str!("group: printable characters, no '/' or space"),
                    Some(A_GROUP),
                )
            })?,
            None => Name::EMPTY,
        };
        let period_ms = req.require(A_PERIOD_MS)?.u32()?;
        let max_misses = req.require(A_MAX_MISSES)?.u32()?;
        let action = match req.attr(A_ACTION) {
            Some(a) => Action::from_u8(a.u8()?).ok_or(EINVAL)?,
            None => Action::Event,
        };
        let signal = match req.attr(A_SIGNAL) {
            Some(a) => a.u8()?,
            None => 15,
        };
        let critical = req.attr(A_CRITICAL).is_some();
        let me = super::current_tgid();
        // PID is the process as the caller's pid namespace numbers it;
        // the monitor keeps initial-namespace tgids.
        let tgid = match req.attr(A_PID) {
            Some(a) => {
                let nr = i32::try_from(a.u32()?)
                    .map_err(|_| req.fail(EINVAL, c_str!("PID out of range"), Some(A_PID)))?;
                super::global_tgid(nr)
                    .ok_or_else(|| req.fail(ESRCH, c_str!("no such process"), Some(A_PID)))?
            }
            None => me,
        };
        // A critical entity that dies can stop the watchdog's feeding and
        // so reset the node, as the panic action does.
        if (action.privileged() || critical || tgid != me) && !super::privileged() {
            return Err(req.fail(
                EPERM,
                c_str!("watching another process, critical entities, and the command and panic actions, need CAP_SYS_ADMIN"),
                None,
            ));
        }
        let command = match (action, req.attr(A_COMMAND)) {
            (Action::Command, Some(a)) => {
                let path = a.str()?;
                if !path.starts_with('/') {
                    return Err(req.fail(
                        EINVAL,
                        c_str!("command must be an absolute path"),
                        Some(A_COMMAND),
                    ));
                }
                let mut v = KVec::new();
                v.extend_from_slice(path.as_bytes(), GFP_KERNEL)?;
                v.push(0, GFP_KERNEL)?;
                Some(v)
            }
            (Action::Command, None) => {
                return Err(req.fail(
                    EINVAL,
                    c_str!("the command action needs a command"),
                    Some(A_ACTION),
                ))
            }
            (_, Some(_)) => {
                return Err(req.fail(
                    EINVAL,
                    c_str!("a command needs the command action"),
                    Some(A_COMMAND),
                ))
            }
            (_, None) => None,
        };
        let spec = Spec {
            name,
            group,
            period_ms,
            max_misses,
            action,
            signal,
            critical,
            command,
            tgid,
        };
        let (handle, revived) = match m.register(spec) {
            Ok(h) => h,
            Err(e) => return fail(req, e, None),
        };
        let mut answer = || -> Result {
            let mut reply = req.new_reply(CMD_REGISTER)?;
            reply.put_u32(A_HANDLE, handle)?;
            req.reply(reply)
        };
        let r = answer();
        if r.is_err() {
            // The requester cannot learn the handle: a failed request
            // leaves nothing registered.
            m.undo_register(handle, revived);
        }
        r
    }
}

struct Beat;

impl DoIt for Beat {
    fn doit(req: &mut Request<'_>) -> Result {
        let h = target(req)?;
        let m = monitor().ok_or(ENODEV)?;
        m.beat(h).or_else(|e| fail(req, e, None))
    }
}

struct Unregister;

impl DoIt for Unregister {
    fn doit(req: &mut Request<'_>) -> Result {
        let h = target(req)?;
        let m = monitor().ok_or(ENODEV)?;
        m.unregister(h).or_else(|e| fail(req, e, None))
    }
}

/// Writes the attributes of entity `e`.
fn put_entity(w: &mut Writer, e: &Entity, st: Option<super::deadline::EntityState>) -> Result {
    w.put_u32(A_HANDLE, e.handle.to_u32())?;
    w.put_str(A_NAME, e.spec.name.as_str())?;
    w.put_u32(A_PERIOD_MS, e.spec.period_ms)?;
    w.put_u32(A_MAX_MISSES, e.spec.max_misses)?;
    w.put_u8(A_ACTION, e.spec.action as u8)?;
    w.put_u8(A_SIGNAL, e.spec.signal)?;
    if !e.spec.group.is_empty() {
        w.put_str(A_GROUP, e.spec.group.as_str())?;
    }
    if e.spec.critical {
        w.put_bytes(A_CRITICAL, &[])?;
    }
    w.put_u32(A_PID, super::local_tgid(e.spec.tgid) as u32)?;
    w.put_u8(A_STATE, e.state as u8)?;
    w.put_u64(A_LATE_NS, e.late_ns)?;
    if let Some(st) = st {
        w.put_u32(A_MISSES, st.misses)?;
        w.put_u64(A_LAST_BEAT_NS, st.last_beat)?;
        w.put_u64(A_DEADLINE_NS, st.deadline)?;
    }
    Ok(())
}

struct GetOne;

impl DoIt for GetOne {
    fn doit(req: &mut Request<'_>) -> Result {
        let h = super::deadline::Handle::from_u32(target(req)?);
        let m = monitor().ok_or(ENODEV)?;
        let mut reply = req.new_reply(CMD_GET)?;
        {
            let inner = m.inner.lock();
            let e = inner
                .entities
                .get(h.index())
                .and_then(|e| e.as_ref())
                .filter(|e| e.handle == h)
                .ok_or_else(|| req.fail(ENOENT, c_str!("no such entity"), None))?;
            put_entity(&mut reply, e, inner.sched.state(h))?;
        }
        req.reply(reply)
    }
}

struct GetAll;

impl DumpIt for GetAll {
    fn dumpit(d: &mut Dump<'_>) -> Result {
        let m = monitor().ok_or(ENODEV)?;
        let inner = m.inner.lock();
        // state[0]: next slot index to look at.
        loop {
            let i = d.state()[0] as usize;
            let Some(slot) = inner.entities.get(i) else {
                return Ok(());
            };
            if let Some(e) = slot {
                let mut msg = d.begin(CMD_GET)?;
                put_entity(&mut msg, e, inner.sched.state(e.handle))?;
                msg.commit();
            }
            d.state()[0] += 1;
        }
    }
}

struct GroupGet;

impl DumpIt for GroupGet {
    fn dumpit(d: &mut Dump<'_>) -> Result {
        let m = monitor().ok_or(ENODEV)?;
        // Groups are few; they are counted afresh at each step.
        let mut groups: KVec<(Name, u32, u32)> = KVec::new();
        {
            let inner = m.inner.lock();
            for e in inner.entities.iter().flatten() {
                if e.spec.group.is_empty() {
                    continue;
                }
                let dead = u32::from(e.state == State::Dead);
                match groups.iter_mut().find(|g| g.0 == e.spec.group) {
                    Some(g) => {
                        g.1 += 1;
                        g.2 += dead;
                    }
                    None => groups.push((e.spec.group, 1, dead), GFP_KERNEL)?,
                }
            }
        }
        loop {
            let i = d.state()[0] as usize;
            let Some(g) = groups.get(i) else {
                return Ok(());
            };
            let mut msg = d.begin(CMD_GROUP_GET)?;
            msg.put_str(A_GROUP, g.0.as_str())?;
            msg.put_u32(A_GROUP_MEMBERS, g.1)?;
            msg.put_u32(A_GROUP_DEAD, g.2)?;
            msg.commit();
            d.state()[0] += 1;
        }
    }
}

/// Multicasts a state change to "alerts". May sleep.
pub(crate) fn alert(handle: u32, name: &Name, state: State, misses: u32, late_ns: u64) {
    if !FAMILY.has_listeners(0) {
        return;
    }
    let Ok(mut msg) = FAMILY.new_event(CMD_ALERT) else {
        return;
    };
    let filled = msg.put_u32(A_HANDLE, handle).is_ok()
        && msg.put_str(A_NAME, name.as_str()).is_ok()
        && msg.put_u8(A_STATE, state as u8).is_ok()
        && msg.put_u32(A_MISSES, misses).is_ok()
        && msg.put_u64(A_LATE_NS, late_ns).is_ok();
    if filled {
        let _ = FAMILY.multicast(msg, 0);
    }
}
