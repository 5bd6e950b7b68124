// SPDX-License-Identifier: GPL-2.0

//! CGL application heartbeat monitor.
//!
//! Applications register named entities with a beat period and a number of
//! beats they may miss, then beat (netlink family `cgl_hb`, or ioctls on
//! `/dev/cgl_hb`). One hrtimer is armed to the earliest deadline of all
//! entities (`deadline.rs`, an indexed heap); when it fires, a work item
//! reports the misses and acts on the entities declared dead: an event,
//! a signal, a multicast alert, a recovery command or a panic. A watched
//! process that exits is reported at once: the monitor waits on its
//! `struct pid` like a pidfd does. Critical entities feed the node health
//! the CGL watchdog reads.

mod chardev;
// The kernel-free core is shared with the host tests; its API is wider
// than the module's use of it.
#[allow(unreachable_pub, dead_code)]
mod deadline;
mod netlink;

use cgl_core::event::Severity;
use cgl_core::hrtimer::{now_ns, HrTimer, HrTimerCallback, Restart};
use cgl_core::sysfs::{Attribute, Show};
use cgl_core::{cgl_event, impl_has_hrtimer, sysfs_group};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use deadline::{DeadlineError, Deadlines, Handle, Miss, Slot};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::types::Opaque;

module! {
    type: HeartbeatModule,
    name: "cgl_heartbeat",
    author: "cgl developers",
    description: "CGL application heartbeat monitor",
    license: "GPL",
}

const SUBSYS: &str = "heartbeat";
/// Most entities watched at once.
const LIMIT: usize = 16384;
const NAME_MAX: usize = kernel::uapi::CGL_HB_NAME_MAX as usize;
const NSEC_PER_MSEC: u64 = 1_000_000;

/// Event ids of the monitor's records.
mod event_id {
    pub(crate) const REGISTERED: u32 = 1;
    pub(crate) const UNREGISTERED: u32 = 2;
    pub(crate) const MISSED: u32 = 3;
    pub(crate) const DEAD: u32 = 4;
    pub(crate) const RECOVERED: u32 = 5;
    pub(crate) const EXITED: u32 = 6;
    pub(crate) const ACTION_FAILED: u32 = 7;
}

/// A name of at most [`NAME_MAX`] bytes, stored inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    buf: [u8; NAME_MAX],
    len: u8,
}

impl Name {
    pub(crate) const EMPTY: Name = Name {
        buf: [0; NAME_MAX],
        len: 0,
    };

    /// `s` as a name: printable ASCII without spaces or '/', at most
    /// [`NAME_MAX`] bytes.
    pub(crate) fn new(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() > NAME_MAX || !b.iter().all(|c| c.is_ascii_graphic() && *c != b'/') {
            return None;
        }
        let mut n = Self::EMPTY;
        n.buf[..b.len()].copy_from_slice(b);
        n.len = b.len() as u8;
        Some(n)
    }

    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What happens when an entity is declared dead (`enum cgl_hb_action`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Event,
    Signal,
    Notify,
    Command,
    Panic,
}

impl Action {
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Event,
            1 => Self::Signal,
            2 => Self::Notify,
            3 => Self::Command,
            4 => Self::Panic,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Signal => "signal",
            Self::Notify => "notify",
            Self::Command => "command",
            Self::Panic => "panic",
        }
    }

    /// Whether only CAP_SYS_ADMIN may choose it.
    pub(crate) fn privileged(self) -> bool {
        matches!(self, Self::Command | Self::Panic)
    }
}

/// State of an entity, as on the wire (`enum cgl_hb_state`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Alive = 0,
    Late = 1,
    Dead = 2,
    Exited = 3,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            Self::Alive => "alive",
            Self::Late => "late",
            Self::Dead => "dead",
            Self::Exited => "exited",
        }
    }
}

/// A wait on the watched process's `struct pid`, woken when it exits (as
/// a pidfd is). Holds a reference to the pid.
#[pin_data(PinnedDrop)]
struct ExitWatch {
    #[pin]
    wq: Opaque<bindings::wait_queue_entry>,
    pid: *mut bindings::pid,
    exited: AtomicBool,
}

// SAFETY: the pid reference and the wait entry may be used from any
// thread; `exited` is atomic.
unsafe impl Send for ExitWatch {}
// SAFETY: as above.
unsafe impl Sync for ExitWatch {}

impl ExitWatch {
    /// Watches process `tgid` (its number in the initial pid namespace).
    /// `ESRCH` if there is none.
    fn new(tgid: i32) -> Result<Pin<KBox<Self>>> {
        let pid = global_pid(tgid);
        if pid.is_null() {
            return Err(ESRCH);
        }
        let w = KBox::pin_init(
            pin_init!(Self {
                // SAFETY: a zeroed entry is filled in below, before use.
                wq <- Opaque::ffi_init(|p: *mut bindings::wait_queue_entry| unsafe {
                    p.write(core::mem::zeroed())
                }),
                pid,
                exited: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        );
        let w = match w {
            Ok(w) => w,
            Err(e) => {
                // SAFETY: drops the reference `global_pid` took.
                unsafe { bindings::put_pid(pid) };
                return Err(e);
            }
        };
        // SAFETY: the entry is pinned in `w`, which removes it from the
        // queue before it is freed (`PinnedDrop`); `pid` is referenced.
        unsafe {
            let e = w.wq.get();
            (*e).func = Some(Self::woken);
            (*e).private = core::ptr::null_mut();
            bindings::add_wait_queue(&mut (*pid).wait_pidfd, e);
        }
        // The process may have exited before the wait was queued.
        // SAFETY: `pid` is referenced; the returned task reference is put.
        let task = unsafe { bindings::get_pid_task(pid, bindings::pid_type_PIDTYPE_TGID) };
        if task.is_null() {
            return Err(ESRCH);
        }
        // SAFETY: `task` is a reference from `get_pid_task`.
        unsafe { bindings::put_task_struct(task) };
        Ok(w)
    }

    /// Wake function: the process exited.
    ///
    /// # Safety
    ///
    /// Called by the wait queue with an entry of a live `ExitWatch`.
    unsafe extern "C" fn woken(
        wq: *mut bindings::wait_queue_entry,
        _mode: u32,
        _flags: i32,
        _key: *mut core::ffi::c_void,
    ) -> i32 {
        // SAFETY: `wq` is the `wq` field of a live `ExitWatch`.
        let w = unsafe {
            &*kernel::container_of!(
                wq.cast::<Opaque<bindings::wait_queue_entry>>(),
                ExitWatch,
                wq
            )
        };
        w.exited.store(true, Ordering::Release);
        if let Some(m) = monitor() {
            m.exits_pending.store(true, Ordering::Release);
            m.queue_work();
        }
        0
    }
}

#[pinned_drop]
impl PinnedDrop for ExitWatch {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: the entry was queued in `new` on the pid's queue, which
        // lives while we hold the pid; then the reference is dropped.
        unsafe {
            bindings::remove_wait_queue(&mut (*self.pid).wait_pidfd, self.wq.get());
            bindings::put_pid(self.pid);
        }
    }
}

/// What registration asks for, checked.
pub(crate) struct Spec {
    pub(crate) name: Name,
    pub(crate) group: Name,
    pub(crate) period_ms: u32,
    pub(crate) max_misses: u32,
    pub(crate) action: Action,
    pub(crate) signal: u8,
    pub(crate) critical: bool,
    /// NUL-terminated path, for [`Action::Command`].
    pub(crate) command: Option<KVec<u8>>,
    pub(crate) tgid: i32,
}

/// A registered entity.
pub(crate) struct Entity {
    pub(crate) handle: Handle,
    pub(crate) spec: Spec,
    pub(crate) state: State,
    /// How late the last miss was noticed, ns.
    pub(crate) late_ns: u64,
    watch: Pin<KBox<ExitWatch>>,
    /// `/sys/kernel/cgl/heartbeat/entities/<name>/`, if it could be made.
    dir: Option<cgl_core::sysfs::Dir>,
}

/// An action to take once the lock is dropped.
struct Todo {
    kind: State,
    handle: u32,
    name: Name,
    action: Action,
    critical: bool,
    misses: u32,
    late_ns: u64,
    tgid: i32,
    command: Option<KVec<u8>>,
}

/// What the lock protects.
pub(crate) struct Inner {
    pub(crate) sched: Deadlines<KVVec<Slot>>,
    /// `entities[h.index()]` is the entity of handle `h`.
    pub(crate) entities: KVVec<Option<Entity>>,
    /// Names of critical entities whose process exited; cleared when the
    /// name registers again.
    exited_critical: KVec<Name>,
    /// When the timer is armed for, 0 if not.
    armed_ns: u64,
    /// The module is going: the timer is not armed again.
    stopping: bool,
}

/// The monitor: one per module.
#[pin_data]
pub(crate) struct Monitor {
    /// Taken in process context only (netlink, ioctl, the work item);
    /// the timer and the exit wake functions only set atomics and queue
    /// the work.
    #[pin]
    pub(crate) inner: Mutex<Inner>,
    #[pin]
    timer: HrTimer<Monitor, 0>,
    #[pin]
    work: cgl_core::work::WorkItem,
    exits_pending: AtomicBool,
    /// `/sys/kernel/cgl/heartbeat/entities/`; set before any registration.
    entities_dir: Option<cgl_core::sysfs::Dir>,
    pub(crate) misses_total: AtomicU64,
    pub(crate) deaths_total: AtomicU64,
    pub(crate) exits_total: AtomicU64,
}

// SAFETY: the work item is used only through the workqueue API, which
// allows any thread; the rest is locked or atomic.
unsafe impl Send for Monitor {}
// SAFETY: as above.
unsafe impl Sync for Monitor {}

impl_has_hrtimer!(impl HasHrTimer<0> for Monitor { self.timer });

static MONITOR: AtomicPtr<Monitor> = AtomicPtr::new(core::ptr::null_mut());

pub(crate) fn monitor() -> Option<&'static Monitor> {
    let p = MONITOR.load(Ordering::Acquire);
    // SAFETY: set while the module is loaded; module exit unregisters
    // every interface and cancels the timer and work before freeing it.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Work function.
///
/// # Safety
///
/// Called by the workqueue with the monitor's work item.
unsafe extern "C" fn monitor_work(_w: *mut bindings::work_struct) {
    if let Some(m) = monitor() {
        m.process();
    }
}

impl HrTimerCallback<0> for Monitor {
    fn expired(&self) -> Restart {
        self.queue_work();
        Restart::No
    }
}

/// Errors of the monitor, with the message netlink users get.
pub(crate) fn deadline_error(e: DeadlineError) -> (Error, &'static CStr) {
    match e {
        DeadlineError::PeriodTooShort => (ERANGE, c_str!("period too short")),
        DeadlineError::PeriodTooLong => (ERANGE, c_str!("period too long")),
        DeadlineError::BadMaxMisses => (ERANGE, c_str!("allowed misses out of range")),
        DeadlineError::Full => (ENOSPC, c_str!("entity limit reached")),
        DeadlineError::BadHandle => (ENOENT, c_str!("no such entity")),
        DeadlineError::BadCapacity => (EINVAL, c_str!("bad capacity")),
    }
}

/// The caller's thread group id, as every tgid the monitor keeps: its
/// number in the initial pid namespace, the same whatever namespace a
/// requester is in.
pub(crate) fn current_tgid() -> i32 {
    kernel::current!().group_leader().pid()
}

/// The tgid (initial namespace) of the process the caller knows as `nr`
/// in its own pid namespace; `None` if it sees no such process.
pub(crate) fn global_tgid(nr: i32) -> Option<i32> {
    if nr <= 0 {
        return None;
    }
    // SAFETY: looks `nr` up in the caller's namespace; returns a
    // reference or NULL.
    let pid = unsafe { bindings::find_get_pid(nr) };
    if pid.is_null() {
        return None;
    }
    // SAFETY: `pid` is referenced; `init_pid_ns` lives for ever. The
    // reference is dropped after.
    let g = unsafe { bindings::pid_nr_ns(pid, core::ptr::addr_of_mut!(bindings::init_pid_ns)) };
    // SAFETY: drops the reference `find_get_pid` took.
    unsafe { bindings::put_pid(pid) };
    (g > 0).then_some(g)
}

/// `tgid` (initial namespace) as the caller's pid namespace numbers it;
/// 0 if the caller cannot see that process (or it is gone).
pub(crate) fn local_tgid(tgid: i32) -> i32 {
    let pid = global_pid(tgid);
    if pid.is_null() {
        return 0;
    }
    // SAFETY: `pid` is referenced.
    let n = unsafe { bindings::pid_vnr(pid) };
    // SAFETY: drops the reference `global_pid` took.
    unsafe { bindings::put_pid(pid) };
    n
}

/// A reference to the `struct pid` of the process (thread group leader)
/// whose number in the initial pid namespace is `tgid`, or NULL.
fn global_pid(tgid: i32) -> *mut bindings::pid {
    if tgid <= 0 {
        return core::ptr::null_mut();
    }
    // SAFETY: the lookup runs on the RCU read side, which keeps the pid
    // it finds valid until the task reference is taken; `init_pid_ns`
    // lives for ever.
    let task = unsafe {
        bindings::rcu_read_lock();
        let p = bindings::find_pid_ns(tgid, core::ptr::addr_of_mut!(bindings::init_pid_ns));
        let t = if p.is_null() {
            core::ptr::null_mut()
        } else {
            bindings::get_pid_task(p, bindings::pid_type_PIDTYPE_TGID)
        };
        bindings::rcu_read_unlock();
        t
    };
    if task.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: `task` is referenced (`get_pid_task`); the pid reference
    // returned is the caller's, the task reference is dropped.
    unsafe {
        let pid = bindings::get_task_pid(task, bindings::pid_type_PIDTYPE_TGID);
        bindings::put_task_struct(task);
        pid
    }
}

/// Whether the caller may act on processes other than its own.
pub(crate) fn privileged() -> bool {
    // SAFETY: no preconditions.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) }
}

impl Monitor {
    fn new(entities_dir: Option<cgl_core::sysfs::Dir>) -> Result<impl PinInit<Self, Error>> {
        let mut slots = KVVec::with_capacity(LIMIT, GFP_KERNEL)?;
        let mut entities = KVVec::with_capacity(LIMIT, GFP_KERNEL)?;
        for _ in 0..LIMIT {
            slots.push(Slot::EMPTY, GFP_KERNEL)?;
            entities.push(None, GFP_KERNEL)?;
        }
        let sched = Deadlines::new(slots).map_err(|_| EINVAL)?;
        let inner = Inner {
            sched,
            entities,
            exited_critical: KVec::new(),
            armed_ns: 0,
            stopping: false,
        };
        Ok(try_pin_init!(Self {
            inner <- kernel::new_mutex!(inner, "cgl_heartbeat"),
            timer <- HrTimer::new(),
            work <- cgl_core::new_work_item!(monitor_work, "cgl_heartbeat"),
            exits_pending: AtomicBool::new(false),
            entities_dir,
            misses_total: AtomicU64::new(0),
            deaths_total: AtomicU64::new(0),
            exits_total: AtomicU64::new(0),
        }? Error))
    }

    fn queue_work(&self) {
        self.work.queue(true);
    }

    /// Arms the timer for the earliest deadline if that is earlier than
    /// what it is armed for. Beats only move deadlines later, so a beat
    /// never reprograms the timer: it may fire early, find nothing due and
    /// be armed again from the work item. Called with the lock held.
    fn rearm(&self, inner: &mut Inner) {
        if inner.stopping {
            return;
        }
        if let Some(next) = inner.sched.next_deadline() {
            if inner.armed_ns == 0 || next < inner.armed_ns {
                inner.armed_ns = next;
                self.timer.start_at_ns(next);
            }
        }
    }

    /// Registers an entity; returns its handle, and whether it took a
    /// critical entity of its name off the exited list (for
    /// [`Monitor::undo_register`]).
    pub(crate) fn register(
        &self,
        spec: Spec,
    ) -> core::result::Result<(u32, bool), (Error, &'static CStr)> {
        let watch = ExitWatch::new(spec.tgid).map_err(|e| (e, c_str!("no such process")))?;
        let now = now_ns();
        let name = spec.name;
        let critical = spec.critical;
        let mut revived = false;
        let handle = {
            let mut inner = self.inner.lock();
            if inner
                .entities
                .iter()
                .flatten()
                .any(|e| e.spec.name == spec.name)
            {
                return Err((EEXIST, c_str!("an entity of that name exists")));
            }
            let period = u64::from(spec.period_ms) * NSEC_PER_MSEC;
            let h = inner
                .sched
                .register(period, spec.max_misses, now)
                .map_err(deadline_error)?;
            // Under the lock, after the name was found unique: sysfs never
            // sees a duplicate. A directory that cannot be made is not worth
            // refusing the registration for; the netlink view has it all.
            let dir = self.entity_dir(spec.name.as_str());
            let entity = Entity {
                handle: h,
                spec,
                state: State::Alive,
                late_ns: 0,
                watch,
                dir,
            };
            match inner.entities.get_mut(h.index()) {
                Some(slot) => *slot = Some(entity),
                None => {
                    let _ = inner.sched.unregister(h);
                    return Err((EINVAL, c_str!("internal: handle out of range")));
                }
            }
            if critical {
                if let Some(i) = inner.exited_critical.iter().position(|n| *n == name) {
                    inner.exited_critical.as_mut_slice().swap(i, 0);
                    let n = inner.exited_critical.len();
                    inner.exited_critical.as_mut_slice().swap(0, n - 1);
                    // SAFETY: shrinks by one; `Name` is plain data.
                    unsafe { inner.exited_critical.set_len(n - 1) };
                    cgl_core::health::critical_recovered();
                    revived = true;
                }
            }
            self.rearm(&mut inner);
            h
        };
        let _ = cgl_event!(
            Severity::Info,
            SUBSYS,
            event_id::REGISTERED,
            "{} registered (handle {:#x})",
            name.as_str(),
            handle.to_u32()
        );
        Ok((handle.to_u32(), revived))
    }

    /// Takes back a registration whose requester could not be told its
    /// handle, leaving the monitor as it was: the entity goes, and a
    /// critical one that [`Monitor::register`] took off the exited list
    /// (`revived`) goes back on it, gating the watchdog again.
    pub(crate) fn undo_register(&self, raw: u32, revived: bool) {
        let name = {
            let inner = self.inner.lock();
            inner
                .entities
                .get(Handle::from_u32(raw).index())
                .and_then(|e| e.as_ref())
                .map(|e| e.spec.name)
        };
        let _ = self.unregister(raw);
        if let (true, Some(name)) = (revived, name) {
            let mut inner = self.inner.lock();
            if inner.exited_critical.push(name, GFP_KERNEL).is_ok() {
                cgl_core::health::critical_failed();
            }
        }
    }

    /// Makes the sysfs directory of entity `name`.
    fn entity_dir(&self, name: &str) -> Option<cgl_core::sysfs::Dir> {
        let parent = self.entities_dir.as_ref()?;
        let mut buf = [0u8; NAME_MAX + 1];
        buf.get_mut(..name.len())?.copy_from_slice(name.as_bytes());
        let cname = CStr::from_bytes_with_nul(buf.get(..=name.len())?).ok()?;
        let dir = cgl_core::sysfs::Dir::new(cname, Some(parent)).ok()?;
        dir.add_group(&ENTITY_ATTRS).ok()?;
        Some(dir)
    }

    /// Finds the handle of `name`.
    pub(crate) fn lookup(&self, name: &str) -> Option<u32> {
        let inner = self.inner.lock();
        let e = inner
            .entities
            .iter()
            .flatten()
            .find(|e| e.spec.name.as_str() == name)?;
        Some(e.handle.to_u32())
    }

    /// The entity of handle `h`, if the caller may act on it.
    fn entity_for_caller(
        inner: &Inner,
        h: Handle,
    ) -> core::result::Result<&Entity, (Error, &'static CStr)> {
        let e = inner
            .entities
            .get(h.index())
            .and_then(|e| e.as_ref())
            .filter(|e| e.handle == h)
            .ok_or((ENOENT, c_str!("no such entity")))?;
        Self::may_act(e)?;
        Ok(e)
    }

    /// Checks that the caller may act on entity `e`.
    fn may_act(e: &Entity) -> core::result::Result<(), (Error, &'static CStr)> {
        if e.spec.tgid == current_tgid() || privileged() {
            Ok(())
        } else {
            Err((EPERM, c_str!("entity belongs to another process")))
        }
    }

    /// A beat of entity `raw`.
    pub(crate) fn beat(&self, raw: u32) -> core::result::Result<(), (Error, &'static CStr)> {
        let h = Handle::from_u32(raw);
        let now = now_ns();
        let recovered = {
            let mut inner = self.inner.lock();
            Self::entity_for_caller(&inner, h)?;
            inner.sched.beat(h, now).map_err(deadline_error)?;
            let mut recovered = None;
            if let Some(Some(e)) = inner.entities.get_mut(h.index()) {
                if e.state == State::Dead {
                    recovered = Some((e.spec.name, e.spec.critical, e.spec.action));
                }
                e.state = State::Alive;
            }
            self.rearm(&mut inner);
            recovered
        };
        if let Some((name, critical, action)) = recovered {
            if critical {
                cgl_core::health::critical_recovered();
            }
            let _ = cgl_event!(
                Severity::Notice,
                SUBSYS,
                event_id::RECOVERED,
                "{} beats again",
                name.as_str()
            );
            if action == Action::Notify {
                netlink::alert(raw, &name, State::Alive, 0, 0);
            }
        }
        Ok(())
    }

    /// Unregisters entity `raw`.
    pub(crate) fn unregister(&self, raw: u32) -> core::result::Result<(), (Error, &'static CStr)> {
        let h = Handle::from_u32(raw);
        let entity = {
            let mut inner = self.inner.lock();
            Self::entity_for_caller(&inner, h)?;
            inner.sched.unregister(h).map_err(deadline_error)?;
            let e = inner.entities.get_mut(h.index()).and_then(|e| e.take());
            self.rearm(&mut inner);
            e
        };
        if let Some(e) = entity {
            if e.spec.critical && e.state == State::Dead {
                cgl_core::health::critical_recovered();
            }
            let _ = cgl_event!(
                Severity::Info,
                SUBSYS,
                event_id::UNREGISTERED,
                "{} unregistered",
                e.spec.name.as_str()
            );
        }
        Ok(())
    }

    /// The work item: exits, misses, deaths; then the actions.
    fn process(&self) {
        let now = now_ns();
        let mut todo: KVec<Todo> = KVec::new();
        let mut gone: KVec<Entity> = KVec::new();
        {
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            if self.exits_pending.swap(false, Ordering::AcqRel) {
                for i in 0..inner.entities.len() {
                    let exited = inner
                        .entities
                        .get(i)
                        .and_then(|e| e.as_ref())
                        .is_some_and(|e| e.watch.exited.load(Ordering::Acquire));
                    if !exited {
                        continue;
                    }
                    let Some(e) = inner.entities.get_mut(i).and_then(|e| e.take()) else {
                        continue;
                    };
                    let _ = inner.sched.unregister(e.handle);
                    if e.spec.critical {
                        if e.state != State::Dead {
                            cgl_core::health::critical_failed();
                        }
                        let _ = inner.exited_critical.push(e.spec.name, GFP_KERNEL);
                    }
                    let _ = todo.push(Todo::of(&e, State::Exited, 0, 0, None), GFP_KERNEL);
                    let _ = gone.push(e, GFP_KERNEL);
                }
            }
            let entities = &mut inner.entities;
            inner.sched.expire(now, |h: Handle, miss: Miss| {
                let Some(Some(e)) = entities.get_mut(h.index()) else {
                    return;
                };
                e.late_ns = miss.late_ns;
                e.state = if miss.declared_dead {
                    State::Dead
                } else {
                    State::Late
                };
                if miss.declared_dead {
                    if e.spec.critical {
                        cgl_core::health::critical_failed();
                    }
                    if e.spec.action == Action::Signal {
                        // SAFETY: the watch holds a reference to the pid;
                        // kill_pid does not sleep.
                        unsafe { bindings::kill_pid(e.watch.pid, e.spec.signal.into(), 1) };
                    }
                }
                let cmd = match (&e.spec.command, miss.declared_dead) {
                    (Some(c), true) => {
                        let mut v = KVec::new();
                        v.extend_from_slice(c, GFP_KERNEL).ok().map(|()| v)
                    }
                    _ => None,
                };
                let kind = e.state;
                let _ = todo.push(
                    Todo::of(e, kind, miss.misses, miss.late_ns, cmd),
                    GFP_KERNEL,
                );
            });
            inner.armed_ns = 0;
            self.rearm(inner);
        }
        drop(gone);
        for t in todo.iter_mut() {
            self.act(t);
        }
    }

    fn act(&self, t: &mut Todo) {
        match t.kind {
            State::Late => {
                self.misses_total.fetch_add(1, Ordering::Relaxed);
                let _ = cgl_event!(
                    Severity::Warning,
                    SUBSYS,
                    event_id::MISSED,
                    "{} missed a beat ({} in a row, noticed {} us late)",
                    t.name.as_str(),
                    t.misses,
                    t.late_ns / 1000
                );
                if t.action == Action::Notify {
                    netlink::alert(t.handle, &t.name, State::Late, t.misses, t.late_ns);
                }
            }
            State::Dead => {
                self.misses_total.fetch_add(1, Ordering::Relaxed);
                self.deaths_total.fetch_add(1, Ordering::Relaxed);
                let _ = cgl_event!(
                    Severity::Crit,
                    SUBSYS,
                    event_id::DEAD,
                    "{} declared dead after {} missed beats (noticed {} us late); action {}{}",
                    t.name.as_str(),
                    t.misses,
                    t.late_ns / 1000,
                    t.action.name(),
                    if t.critical { "; critical" } else { "" }
                );
                match t.action {
                    Action::Notify => {
                        netlink::alert(t.handle, &t.name, State::Dead, t.misses, t.late_ns)
                    }
                    Action::Command => self.run_command(t),
                    Action::Panic => {
                        // SAFETY: a static format without conversions.
                        unsafe {
                            bindings::panic(
                                c_str!("cgl_heartbeat: a monitored application died").as_char_ptr(),
                            )
                        }
                    }
                    Action::Event | Action::Signal => {}
                }
            }
            State::Exited => {
                self.exits_total.fetch_add(1, Ordering::Relaxed);
                let _ = cgl_event!(
                    Severity::Err,
                    SUBSYS,
                    event_id::EXITED,
                    "{}: process {} exited{}",
                    t.name.as_str(),
                    t.tgid,
                    if t.critical { "; critical" } else { "" }
                );
                if t.action == Action::Notify {
                    netlink::alert(t.handle, &t.name, State::Exited, 0, 0);
                }
            }
            State::Alive => {}
        }
    }

    /// Runs the recovery command: `COMMAND NAME dead`, as root, without
    /// waiting for it.
    fn run_command(&self, t: &mut Todo) {
        let Some(path) = t.command.as_mut() else {
            return;
        };
        let mut name = [0u8; NAME_MAX + 1];
        name[..t.name.as_str().len()].copy_from_slice(t.name.as_str().as_bytes());
        let reason = c_str!("dead");
        let mut argv: [*mut u8; 4] = [
            path.as_mut_ptr(),
            name.as_mut_ptr(),
            reason.as_char_ptr().cast_mut(),
            core::ptr::null_mut(),
        ];
        let mut envp: [*mut u8; 3] = [
            c_str!("HOME=/").as_char_ptr().cast_mut(),
            c_str!("PATH=/sbin:/bin:/usr/sbin:/usr/bin")
                .as_char_ptr()
                .cast_mut(),
            core::ptr::null_mut(),
        ];
        // SAFETY: every string is NUL-terminated and lives until the call
        // returns; with UMH_WAIT_EXEC the helper has copied them by then.
        let ret = unsafe {
            bindings::call_usermodehelper(
                path.as_ptr(),
                argv.as_mut_ptr(),
                envp.as_mut_ptr(),
                bindings::UMH_WAIT_EXEC as i32,
            )
        };
        if ret != 0 {
            let _ = cgl_event!(
                Severity::Err,
                SUBSYS,
                event_id::ACTION_FAILED,
                "{}: recovery command failed to start: {}",
                t.name.as_str(),
                ret
            );
        }
    }
}

impl Todo {
    fn of(e: &Entity, kind: State, misses: u32, late_ns: u64, command: Option<KVec<u8>>) -> Self {
        Todo {
            kind,
            handle: e.handle.to_u32(),
            name: e.spec.name,
            action: e.spec.action,
            critical: e.spec.critical,
            misses,
            late_ns,
            tgid: e.spec.tgid,
            command,
        }
    }
}

/// `/sys/kernel/cgl/heartbeat/table`: one line per entity.
struct TableAttr;
impl Attribute for TableAttr {
    const NAME: &'static CStr = c_str!("table");
    fn show(out: &mut Show) -> Result {
        let m = monitor().ok_or(ENODEV)?;
        let now = now_ns();
        let inner = m.inner.lock();
        writeln!(
            out,
            "handle     name period_ms misses state last_beat_ms_ago pid group"
        )
        .map_err(|_| EINVAL)?;
        for e in inner.entities.iter().flatten() {
            let Some(st) = inner.sched.state(e.handle) else {
                continue;
            };
            // A page holds about 60 entities; the netlink dump has them all.
            if writeln!(
                out,
                "{:#010x} {} {} {} {} {} {} {}",
                e.handle.to_u32(),
                e.spec.name.as_str(),
                e.spec.period_ms,
                st.misses,
                e.state.name(),
                now.saturating_sub(st.last_beat) / NSEC_PER_MSEC,
                e.spec.tgid,
                if e.spec.group.is_empty() {
                    "-"
                } else {
                    e.spec.group.as_str()
                }
            )
            .is_err()
            {
                break;
            }
        }
        Ok(())
    }
}

macro_rules! counter_attr {
    ($ty:ident, $name:literal, $get:expr) => {
        struct $ty;
        impl Attribute for $ty {
            const NAME: &'static CStr = c_str!($name);
            fn show(out: &mut Show) -> Result {
                let m = monitor().ok_or(ENODEV)?;
                let get: fn(&Monitor) -> u64 = $get;
                writeln!(out, "{}", get(m)).map_err(|_| EINVAL)
            }
        }
    };
}
counter_attr!(CountAttr, "count", |m| m.inner.lock().sched.len() as u64);
counter_attr!(LimitAttr, "limit", |_| LIMIT as u64);
counter_attr!(MissesAttr, "misses", |m| m
    .misses_total
    .load(Ordering::Relaxed));
counter_attr!(DeathsAttr, "deaths", |m| m
    .deaths_total
    .load(Ordering::Relaxed));
counter_attr!(ExitsAttr, "exits", |m| m
    .exits_total
    .load(Ordering::Relaxed));

sysfs_group!(static ATTRS = [TableAttr, CountAttr, LimitAttr, MissesAttr, DeathsAttr, ExitsAttr]);

/// Shows one value of the entity whose directory is being read.
fn show_entity(
    out: &mut Show,
    f: impl FnOnce(&mut Show, &Entity, &deadline::EntityState, u64) -> core::fmt::Result,
) -> Result {
    let m = monitor().ok_or(ENODEV)?;
    let key = out.dir_key();
    let now = now_ns();
    let inner = m.inner.lock();
    let e = inner
        .entities
        .iter()
        .flatten()
        .find(|e| e.dir.as_ref().map(|d| d.key()) == Some(key))
        .ok_or(ENODEV)?;
    let st = inner.sched.state(e.handle).ok_or(ENODEV)?;
    f(out, e, &st, now).map_err(|_| EINVAL)
}

macro_rules! entity_attr {
    ($ty:ident, $name:literal, $f:expr) => {
        struct $ty;
        impl Attribute for $ty {
            const NAME: &'static CStr = c_str!($name);
            fn show(out: &mut Show) -> Result {
                show_entity(out, $f)
            }
        }
    };
}
entity_attr!(EntState, "state", |o, e, _, _| writeln!(
    o,
    "{}",
    e.state.name()
));
entity_attr!(EntMisses, "misses", |o, _, st, _| writeln!(
    o,
    "{}",
    st.misses
));
entity_attr!(EntMaxMisses, "max_misses", |o, e, _, _| writeln!(
    o,
    "{}",
    e.spec.max_misses
));
entity_attr!(EntPeriod, "period_ms", |o, e, _, _| writeln!(
    o,
    "{}",
    e.spec.period_ms
));
entity_attr!(EntLastBeat, "last_beat_ms_ago", |o, _, st, now| {
    writeln!(o, "{}", now.saturating_sub(st.last_beat) / NSEC_PER_MSEC)
});
entity_attr!(EntPid, "pid", |o, e, _, _| writeln!(o, "{}", e.spec.tgid));
entity_attr!(EntHandle, "handle", |o, e, _, _| writeln!(
    o,
    "{:#x}",
    e.handle.to_u32()
));

sysfs_group!(static ENTITY_ATTRS = [EntState, EntMisses, EntMaxMisses, EntPeriod, EntLastBeat, EntPid, EntHandle]);

static MODULE_INFO: cgl_core::ModuleInfo = cgl_core::ModuleInfo {
    name: c_str!("heartbeat"),
    family: Some(c_str!("cgl_hb")),
    description: c_str!("application heartbeat monitor"),
};

struct HeartbeatModule {
    // Dropped in order: interfaces first, so nothing calls into the
    // monitor, then the monitor.
    _dir: cgl_core::sysfs::Dir,
    _dev: chardev::Device,
    _family: cgl_core::genl::Registration,
    _reg: cgl_core::Registration,
    monitor: Pin<KBox<Monitor>>,
}

impl kernel::Module for HeartbeatModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let dir = cgl_core::sysfs::module_dir(c_str!("heartbeat"))?;
        let entities = cgl_core::sysfs::Dir::new(c_str!("entities"), Some(&dir))?;
        let monitor = KBox::pin_init(Monitor::new(Some(entities))?, GFP_KERNEL)?;
        MONITOR.store(
            &*monitor as *const Monitor as *mut Monitor,
            Ordering::Release,
        );
        let reg = cgl_core::register_module(&MODULE_INFO)?;
        let family = netlink::register(module)?;
        let dev = chardev::Device::new(module)?;
        dir.add_group(&ATTRS)?;
        Ok(Self {
            _dir: dir,
            _dev: dev,
            _family: family,
            _reg: reg,
            monitor,
        })
    }
}

impl Drop for HeartbeatModule {
    fn drop(&mut self) {
        // The interfaces are still up here; the fields drop after this.
        // Under the lock: no more arming, and the entities are taken out
        // (an empty vector left in their place). They are dropped with
        // the lock released: each removes its sysfs directory, which
        // waits for readers inside a show callback, and those take the
        // lock. Then the timer (a work item running meanwhile does not
        // arm it again) and the work go, and once every entity has
        // removed its exit wait, the work once more (a wake function may
        // have queued it).
        let (entities, dead_critical) = {
            let mut inner = self.monitor.inner.lock();
            inner.stopping = true;
            let entities = core::mem::replace(&mut inner.entities, KVVec::new());
            let dead = entities
                .iter()
                .flatten()
                .filter(|e| e.spec.critical && e.state == State::Dead)
                .count();
            (entities, dead + inner.exited_critical.len())
        };
        for _ in 0..dead_critical {
            cgl_core::health::critical_recovered();
        }
        self.monitor.timer.cancel();
        self.monitor.work.cancel_sync();
        drop(entities);
        self.monitor.timer.cancel();
        self.monitor.work.cancel_sync();
        MONITOR.store(core::ptr::null_mut(), Ordering::Release);
    }
}
