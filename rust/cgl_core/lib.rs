// SPDX-License-Identifier: GPL-2.0

//! The shared core of the Carrier Grade Linux modules.
//!
//! Built into the kernel like the `kernel` crate and passed to every Rust
//! module. It holds what every CGL module needs once: the event log
//! ([`event`]), generic netlink families ([`genl`]), entries under
//! `/sys/kernel/cgl/` ([`sysfs`]) and the list of CGL modules present
//! ([`register_module`]). Its own netlink family, `cgl_core`, serves the
//! event log and the core's settings to `cgl-ctl` and applications.
#![no_std]

pub mod event;
pub mod genl;
pub mod health;
pub mod hrtimer;
pub mod kunit;
pub mod misc;
mod netlink;
pub mod ring;
pub mod sync;
pub mod sysfs;
pub mod work;

use core::ffi::c_int;
use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use event::{EventRing, Severity, Stats};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Mutex;

/// Prefix of the core's own kernel log lines.
const __LOG_PREFIX: &[u8] = b"cgl\0";

/// Name the core logs its own events under.
const SUBSYS: &str = "cgl_core";

/// Event ids of the core's own records.
pub mod event_id {
    /// The event log started.
    pub const STARTED: u32 = 1;
    /// The core's configuration changed.
    pub const CONFIG_CHANGED: u32 = 2;
    /// A CGL module registered.
    pub const MODULE_REGISTERED: u32 = 3;
    /// A CGL module unregistered.
    pub const MODULE_UNREGISTERED: u32 = 4;
}

/// What a CGL module tells the core about itself.
pub struct ModuleInfo {
    /// Module name, as in `/sys/kernel/cgl/<name>`.
    pub name: &'static CStr,
    /// Its generic netlink family, if it has one.
    pub family: Option<&'static CStr>,
    /// One line on what it does.
    pub description: &'static CStr,
}

/// The core's state: set up once at boot, never freed.
#[pin_data]
pub(crate) struct Core {
    #[pin]
    ring: EventRing,
    /// Records of a severity below this are mirrored to printk (0..=8).
    printk_level: AtomicU32,
    /// Next sequence number to multicast; only the work item advances it.
    broadcast_next: AtomicU64,
    /// Multicasts new records in process context.
    #[pin]
    work: work::WorkItem,
    /// The registered CGL modules.
    #[pin]
    modules: Mutex<KVec<&'static ModuleInfo>>,
    /// `/sys/kernel/cgl`.
    sysfs_root: sysfs::Dir,
}

static CORE: AtomicPtr<Core> = AtomicPtr::new(core::ptr::null_mut());

/// The core, once it is up.
pub(crate) fn core_state() -> Option<&'static Core> {
    let p = CORE.load(Ordering::Acquire);
    // SAFETY: `CORE` is set once, to a leaked allocation that is never freed.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Work function of [`Core::work`].
///
/// # Safety
///
/// Called by the workqueue with the core's work item.
unsafe extern "C" fn broadcast_work(_work: *mut bindings::work_struct) {
    if let Some(core) = core_state() {
        netlink::broadcast_pending(core);
    }
}

impl Core {
    fn new(ring_size: u32, sysfs_root: sysfs::Dir) -> Result<impl PinInit<Self, Error>> {
        Ok(try_pin_init!(Self {
            ring <- EventRing::new(ring_size)?,
            printk_level: AtomicU32::new(4),
            broadcast_next: AtomicU64::new(1),
            work <- crate::new_work_item!(broadcast_work, "cgl_core_broadcast"),
            modules <- kernel::new_mutex!(KVec::new(), "cgl_core_modules"),
            sysfs_root,
        }? Error))
    }

    fn kick_broadcast(&self) {
        self.work.queue(false);
    }

    fn stats(&self) -> Stats {
        let mut s = self.ring.stats();
        s.dropped += event::EARLY_DROPPED.load(Ordering::Relaxed);
        s
    }

    fn set_ring_size(&self, size: u32) -> Result {
        if !(kernel::uapi::CGL_RING_SIZE_MIN..=kernel::uapi::CGL_RING_SIZE_MAX).contains(&size) {
            return Err(ERANGE);
        }
        let old = self.ring.stats().capacity;
        self.ring.resize(size)?;
        let _ = cgl_event!(
            Severity::Notice,
            SUBSYS,
            event_id::CONFIG_CHANGED,
            "ring size {} -> {} records",
            old,
            size
        );
        Ok(())
    }

    fn set_printk_level(&self, level: u8) -> Result {
        if level > 8 {
            return Err(ERANGE);
        }
        let old = self.printk_level.swap(level.into(), Ordering::Relaxed);
        let _ = cgl_event!(
            Severity::Notice,
            SUBSYS,
            event_id::CONFIG_CHANGED,
            "printk level {} -> {}",
            old,
            level
        );
        Ok(())
    }

    fn module(&self, i: usize) -> Option<&'static ModuleInfo> {
        self.modules.lock().get(i).copied()
    }
}

/// A CGL module's registration with the core; dropping it unregisters.
pub struct Registration(&'static ModuleInfo);

/// Tells the core (and through it `cgl-ctl status`) that a CGL module is
/// present.
pub fn register_module(info: &'static ModuleInfo) -> Result<Registration> {
    let core = core_state().ok_or(ENODEV)?;
    {
        let mut m = core.modules.lock();
        if m.iter().any(|x| x.name.as_bytes() == info.name.as_bytes()) {
            return Err(EEXIST);
        }
        m.push(info, GFP_KERNEL)?;
    }
    let _ = cgl_event!(
        Severity::Info,
        SUBSYS,
        event_id::MODULE_REGISTERED,
        "module {} registered",
        info.name.to_str().unwrap_or("?")
    );
    Ok(Registration(info))
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(core) = core_state() {
            let mut m = core.modules.lock();
            if let Some(i) = m.iter().position(|x| core::ptr::eq(*x, self.0)) {
                // Order does not matter; `swap_remove` is not in 6.12's KVec.
                let last = m.len() - 1;
                m.as_mut_slice().swap(i, last);
                // SAFETY: shrinking by one; the dropped element is a plain
                // reference.
                unsafe { m.set_len(last) };
            }
        }
        let _ = cgl_event!(
            Severity::Info,
            SUBSYS,
            event_id::MODULE_UNREGISTERED,
            "module {} unregistered",
            self.0.name.to_str().unwrap_or("?")
        );
    }
}

mod attrs {
    use super::*;
    use crate::sysfs::{Attribute, Show};

    fn parse<T: core::str::FromStr>(s: &str) -> Result<T> {
        s.parse().map_err(|_| EINVAL)
    }

    pub(super) struct RingSize;
    impl Attribute for RingSize {
        const NAME: &'static CStr = c_str!("ring_size");
        const WRITABLE: bool = true;
        fn show(out: &mut Show) -> Result {
            let c = core_state().ok_or(ENODEV)?;
            writeln!(out, "{}", c.stats().capacity).map_err(|_| EINVAL)
        }
        fn store(input: &str) -> Result {
            core_state().ok_or(ENODEV)?.set_ring_size(parse(input)?)
        }
    }

    pub(super) struct PrintkLevel;
    impl Attribute for PrintkLevel {
        const NAME: &'static CStr = c_str!("printk_level");
        const WRITABLE: bool = true;
        fn show(out: &mut Show) -> Result {
            let c = core_state().ok_or(ENODEV)?;
            writeln!(out, "{}", c.printk_level.load(Ordering::Relaxed)).map_err(|_| EINVAL)
        }
        fn store(input: &str) -> Result {
            core_state().ok_or(ENODEV)?.set_printk_level(parse(input)?)
        }
    }

    macro_rules! stat_attr {
        ($ty:ident, $name:literal, $field:ident) => {
            pub(super) struct $ty;
            impl Attribute for $ty {
                const NAME: &'static CStr = c_str!($name);
                fn show(out: &mut Show) -> Result {
                    let c = core_state().ok_or(ENODEV)?;
                    writeln!(out, "{}", c.stats().$field).map_err(|_| EINVAL)
                }
            }
        };
    }
    stat_attr!(NextSeq, "next_seq", next_seq);
    stat_attr!(Records, "records", records);
    stat_attr!(Overwritten, "overwritten", overwritten);
    stat_attr!(Dropped, "dropped", dropped);

    crate::sysfs_group!(pub(super) static GROUP = [RingSize, PrintkLevel, NextSeq, Records, Overwritten, Dropped]);
}

static CORE_INFO: ModuleInfo = ModuleInfo {
    name: c_str!("core"),
    family: Some(c_str!("cgl_core")),
    description: c_str!("event log, netlink and sysfs shared by CGL modules"),
};

fn init() -> Result {
    let root = sysfs::Dir::new(c_str!("cgl"), None)?;
    let core = KBox::pin_init(
        Core::new(bindings::CONFIG_CGL_CORE_RING_SIZE, root)?,
        GFP_KERNEL,
    )?;
    // SAFETY: the core is never moved out of its allocation: it is leaked.
    let core: &'static Core = KBox::leak(unsafe { Pin::into_inner_unchecked(core) });
    let core_dir = sysfs::Dir::new(c_str!("core"), Some(&core.sysfs_root))?;
    core_dir.add_group(&attrs::GROUP)?;
    CORE.store(core as *const Core as *mut Core, Ordering::Release);
    // The directory lives as long as the core.
    core::mem::forget(core_dir);
    // SAFETY: registered once, here, at boot.
    unsafe { netlink::FAMILY.register(&netlink::SPEC, None)? };
    let _ = cgl_event!(
        Severity::Info,
        SUBSYS,
        event_id::STARTED,
        "event log started: {} records, {} dropped before",
        core.stats().capacity,
        event::EARLY_DROPPED.load(Ordering::Relaxed)
    );
    core::mem::forget(register_module(&CORE_INFO)?);
    Ok(())
}

/// Brings the core up at boot: after generic netlink (subsys_initcall),
/// before drivers and built-in CGL modules (device_initcall).
#[no_mangle]
extern "C" fn cgl_core_init() -> c_int {
    match init() {
        Ok(()) => 0,
        Err(e) => {
            pr_err!("core failed to start: {:?}\n", e);
            e.to_errno()
        }
    }
}

#[cfg(CONFIG_HAVE_ARCH_PREL32_RELOCATIONS)]
core::arch::global_asm!(
    r#".section ".initcall4s.init", "a"
    __cgl_core_initcall:
        .long   cgl_core_init - .
        .previous
    "#
);

#[cfg(not(CONFIG_HAVE_ARCH_PREL32_RELOCATIONS))]
#[link_section = ".initcall4s.init"]
#[used]
static __CGL_CORE_INITCALL: extern "C" fn() -> c_int = cgl_core_init;

/// The attribute policy of the `cgl_core` family, for its KUnit tests.
#[doc(hidden)]
pub fn core_family_policy() -> &'static [genl::Policy] {
    &netlink::POLICY
}
