// SPDX-License-Identifier: GPL-2.0

//! CGL watchdog timer.
//!
//! A software watchdog registered with the kernel's watchdog core, so
//! `/dev/watchdogN`, its ioctls (timeout, pretimeout, keepalive, status)
//! and sysfs, nowayout and magic close behave as for any driver and
//! `wdctl`, busybox `watchdog` or systemd drive it. An hrtimer stands for
//! the hardware counter. On expiry the driver logs a CGL event and then
//! does what `/sys/kernel/cgl/wdt/action` says: `panic`, `reboot`, or
//! `event` (log only, for tests). With `gate_critical` set, pings are
//! ignored while the heartbeat monitor reports a dead critical
//! application, so the node goes down and its peers take over.

use cgl_core::event::Severity;
use cgl_core::hrtimer::{now_ns, HrTimer, HrTimerCallback, Restart};
use cgl_core::sysfs::{Attribute, Show};
use cgl_core::{cgl_event, impl_has_hrtimer, sysfs_group};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::types::Opaque;

module! {
    type: CglWdtModule,
    name: "cgl_wdt",
    author: "cgl developers",
    description: "CGL watchdog timer",
    license: "GPL",
}

const SUBSYS: &str = "wdt";
const DEFAULT_TIMEOUT_S: u32 = 30;
const MAX_TIMEOUT_S: u32 = 3600;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Event ids of the watchdog's records.
mod event_id {
    pub(crate) const EXPIRED: u32 = 1;
    pub(crate) const PRETIMEOUT: u32 = 2;
    pub(crate) const STARTED: u32 = 3;
    pub(crate) const STOPPED: u32 = 4;
    pub(crate) const PING_REFUSED: u32 = 5;
}

/// What an expiry does after logging it.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Action {
    Panic = 0,
    Reboot = 1,
    Event = 2,
}

impl Action {
    fn from_u32(v: u32) -> Self {
        match v {
            1 => Self::Reboot,
            2 => Self::Event,
            _ => Self::Panic,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Panic => "panic",
            Self::Reboot => "reboot",
            Self::Event => "event",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "panic" => Some(Self::Panic),
            "reboot" => Some(Self::Reboot),
            "event" => Some(Self::Event),
            _ => None,
        }
    }
}

static INFO: bindings::watchdog_info = bindings::watchdog_info {
    options: bindings::WDIOF_SETTIMEOUT
        | bindings::WDIOF_MAGICCLOSE
        | bindings::WDIOF_PRETIMEOUT
        | bindings::WDIOF_KEEPALIVEPING,
    firmware_version: 0,
    identity: *b"CGL watchdog\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
};

/// The device. The watchdog core serialises the `ops` callbacks with its
/// own mutex; the timer callbacks only read settings and store
/// `expires_ns` and counters, all atomics.
#[pin_data(PinnedDrop)]
struct Wdt {
    #[pin]
    wdd: Opaque<bindings::watchdog_device>,
    #[pin]
    ops: Opaque<bindings::watchdog_ops>,
    #[pin]
    expiry: HrTimer<Wdt, 0>,
    #[pin]
    pretimeout: HrTimer<Wdt, 1>,
    /// CLOCK_MONOTONIC expiry while running, 0 when stopped.
    expires_ns: AtomicU64,
    action: AtomicU32,
    gate_critical: AtomicBool,
    expirations: AtomicU64,
    /// Pings refused since the module loaded.
    refused_pings: AtomicU64,
    /// Whether the last ping was refused (one event per run of them).
    refusing: AtomicBool,
    registered: AtomicBool,
}

// SAFETY: the C structures inside are used as the watchdog core allows,
// from any thread (it locks them); the rest are atomics.
unsafe impl Send for Wdt {}
// SAFETY: as above.
unsafe impl Sync for Wdt {}

impl_has_hrtimer!(impl HasHrTimer<0> for Wdt { self.expiry });
impl_has_hrtimer!(impl HasHrTimer<1> for Wdt { self.pretimeout });

/// The device, for sysfs; set while the module is loaded.
static WDT: AtomicPtr<Wdt> = AtomicPtr::new(core::ptr::null_mut());

fn wdt() -> Result<&'static Wdt> {
    let p = WDT.load(Ordering::Acquire);
    // SAFETY: `WDT` points to the pinned device from registration until
    // module exit, which removes the sysfs files (draining readers) before
    // the device is freed.
    (!p.is_null()).then(|| unsafe { &*p }).ok_or(ENODEV)
}

impl Wdt {
    /// # Safety
    ///
    /// `wdd` is the `watchdog_device` of a live `Wdt`.
    unsafe fn from_wdd<'a>(wdd: *mut bindings::watchdog_device) -> &'a Self {
        // SAFETY: `wdd` is the `wdd` field of a `Wdt`, per the contract;
        // `Opaque` is transparent.
        unsafe {
            &*kernel::container_of!(wdd.cast::<Opaque<bindings::watchdog_device>>(), Wdt, wdd)
        }
    }

    fn wdd(&self) -> &bindings::watchdog_device {
        // SAFETY: initialised before registration; the watchdog core writes
        // the integer fields read here under its lock, and a racing read of
        // a plain integer only sees the old or the new value.
        unsafe { &*self.wdd.get() }
    }

    /// Starts (or restarts) the countdown from the current settings.
    fn arm(&self) {
        let (timeout, pre) = (self.wdd().timeout, self.wdd().pretimeout);
        let expires = now_ns().saturating_add(u64::from(timeout) * NSEC_PER_SEC);
        self.expires_ns.store(expires, Ordering::Release);
        self.expiry.start_at_ns(expires);
        if pre > 0 && pre < timeout {
            self.pretimeout
                .start_at_ns(expires - u64::from(pre) * NSEC_PER_SEC);
        } else {
            self.pretimeout.cancel();
        }
    }

    fn disarm(&self) {
        self.expires_ns.store(0, Ordering::Release);
        self.expiry.cancel();
        self.pretimeout.cancel();
    }
}

impl HrTimerCallback<0> for Wdt {
    fn expired(&self) -> Restart {
        self.expires_ns.store(0, Ordering::Release);
        self.expirations.fetch_add(1, Ordering::Relaxed);
        let action = Action::from_u32(self.action.load(Ordering::Relaxed));
        let _ = cgl_event!(
            Severity::Emerg,
            SUBSYS,
            event_id::EXPIRED,
            "watchdog expired after {} s without a ping; action {}",
            self.wdd().timeout,
            action.name()
        );
        match action {
            // SAFETY: the format is a static string without conversions.
            Action::Panic => unsafe {
                bindings::panic(c_str!("cgl_wdt: watchdog expired").as_char_ptr())
            },
            // SAFETY: may be called from interrupt context.
            Action::Reboot => unsafe { bindings::emergency_restart() },
            Action::Event => {}
        }
        Restart::No
    }
}

impl HrTimerCallback<1> for Wdt {
    fn expired(&self) -> Restart {
        let _ = cgl_event!(
            Severity::Alert,
            SUBSYS,
            event_id::PRETIMEOUT,
            "watchdog pretimeout: {} s left",
            self.wdd().pretimeout
        );
        Restart::No
    }
}

/// The `watchdog_ops` callbacks.
///
/// Each is called by the watchdog core, under its lock, with the
/// `watchdog_device` registered in `Wdt::register`, which belongs to a
/// live, pinned `Wdt`.
mod ops {
    use super::*;

    /// # Safety
    ///
    /// See the module documentation.
    pub(super) unsafe extern "C" fn start(wdd: *mut bindings::watchdog_device) -> i32 {
        // SAFETY: see the module documentation.
        let w = unsafe { Wdt::from_wdd(wdd) };
        w.arm();
        let _ = cgl_event!(
            Severity::Notice,
            SUBSYS,
            event_id::STARTED,
            "watchdog started, timeout {} s, pretimeout {} s",
            w.wdd().timeout,
            w.wdd().pretimeout
        );
        0
    }

    /// # Safety
    ///
    /// See the module documentation.
    pub(super) unsafe extern "C" fn stop(wdd: *mut bindings::watchdog_device) -> i32 {
        // SAFETY: see the module documentation.
        let w = unsafe { Wdt::from_wdd(wdd) };
        w.disarm();
        let _ = cgl_event!(
            Severity::Notice,
            SUBSYS,
            event_id::STOPPED,
            "watchdog stopped"
        );
        0
    }

    /// # Safety
    ///
    /// See the module documentation.
    pub(super) unsafe extern "C" fn ping(wdd: *mut bindings::watchdog_device) -> i32 {
        // SAFETY: see the module documentation.
        let w = unsafe { Wdt::from_wdd(wdd) };
        let dead = cgl_core::health::critical_failures();
        if w.gate_critical.load(Ordering::Relaxed) && dead > 0 {
            w.refused_pings.fetch_add(1, Ordering::Relaxed);
            // One event per run of refusals is enough to explain the reset.
            if !w.refusing.swap(true, Ordering::Relaxed) {
                let _ = cgl_event!(
                    Severity::Crit,
                    SUBSYS,
                    event_id::PING_REFUSED,
                    "ping refused: {} critical application(s) dead",
                    dead
                );
            }
            return 0;
        }
        w.refusing.store(false, Ordering::Relaxed);
        w.arm();
        0
    }

    /// # Safety
    ///
    /// See the module documentation.
    pub(super) unsafe extern "C" fn set_timeout(
        wdd: *mut bindings::watchdog_device,
        t: u32,
    ) -> i32 {
        // SAFETY: see the module documentation; the core holds its lock,
        // so the device may be written.
        let w = unsafe {
            (*wdd).timeout = t;
            if (*wdd).pretimeout >= t {
                (*wdd).pretimeout = 0;
            }
            Wdt::from_wdd(wdd)
        };
        if w.expires_ns.load(Ordering::Acquire) != 0 {
            w.arm();
        }
        0
    }

    /// # Safety
    ///
    /// See the module documentation.
    pub(super) unsafe extern "C" fn set_pretimeout(
        wdd: *mut bindings::watchdog_device,
        t: u32,
    ) -> i32 {
        // SAFETY: as for `set_timeout`; the core checked `t < timeout`.
        let w = unsafe {
            (*wdd).pretimeout = t;
            Wdt::from_wdd(wdd)
        };
        if w.expires_ns.load(Ordering::Acquire) != 0 {
            w.arm();
        }
        0
    }

    /// # Safety
    ///
    /// See the module documentation.
    pub(super) unsafe extern "C" fn get_timeleft(wdd: *mut bindings::watchdog_device) -> u32 {
        // SAFETY: see the module documentation.
        let w = unsafe { Wdt::from_wdd(wdd) };
        let exp = w.expires_ns.load(Ordering::Acquire);
        u32::try_from(exp.saturating_sub(now_ns()) / NSEC_PER_SEC).unwrap_or(u32::MAX)
    }
}

impl Wdt {
    fn new(module: &'static ThisModule) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: all-zero is a valid unregistered device; `register`
            // fills it in before registration.
            wdd <- Opaque::ffi_init(|p: *mut bindings::watchdog_device| unsafe {
                p.write(core::mem::zeroed())
            }),
            // SAFETY: writes a complete `watchdog_ops`.
            ops <- Opaque::ffi_init(move |p: *mut bindings::watchdog_ops| unsafe {
                p.write(bindings::watchdog_ops {
                    owner: module.as_ptr(),
                    start: Some(ops::start),
                    stop: Some(ops::stop),
                    ping: Some(ops::ping),
                    status: None,
                    set_timeout: Some(ops::set_timeout),
                    set_pretimeout: Some(ops::set_pretimeout),
                    get_timeleft: Some(ops::get_timeleft),
                    restart: None,
                    ioctl: None,
                })
            }),
            expiry <- HrTimer::new(),
            pretimeout <- HrTimer::new(),
            expires_ns: AtomicU64::new(0),
            action: AtomicU32::new(Action::Panic as u32),
            gate_critical: AtomicBool::new(false),
            expirations: AtomicU64::new(0),
            refused_pings: AtomicU64::new(0),
            refusing: AtomicBool::new(false),
            registered: AtomicBool::new(false),
        })
    }

    fn register(&self) -> Result {
        let wdd = self.wdd.get();
        // SAFETY: not registered yet: nothing else sees the device.
        unsafe {
            (*wdd).info = &INFO;
            (*wdd).ops = self.ops.get();
            (*wdd).timeout = DEFAULT_TIMEOUT_S;
            (*wdd).min_timeout = 1;
            (*wdd).max_timeout = MAX_TIMEOUT_S;
            (*wdd).status |= 1 << bindings::WDOG_STOP_ON_UNREGISTER;
        }
        // SAFETY: the device is initialised and stays pinned while it is
        // registered (it is unregistered in `drop`).
        kernel::error::to_result(unsafe { bindings::watchdog_register_device(wdd) })?;
        self.registered.store(true, Ordering::Release);
        Ok(())
    }
}

#[pinned_drop]
impl PinnedDrop for Wdt {
    fn drop(self: Pin<&mut Self>) {
        if self.registered.load(Ordering::Acquire) {
            // SAFETY: registered in `register`; the core stops the device
            // (WDOG_STOP_ON_UNREGISTER) and calls no op after this.
            unsafe { bindings::watchdog_unregister_device(self.wdd.get()) };
        }
        self.disarm();
    }
}

struct ActionAttr;
impl Attribute for ActionAttr {
    const NAME: &'static CStr = c_str!("action");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        let a = Action::from_u32(wdt()?.action.load(Ordering::Relaxed));
        writeln!(out, "{}", a.name()).map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        let a = Action::parse(input).ok_or(EINVAL)?;
        wdt()?.action.store(a as u32, Ordering::Relaxed);
        Ok(())
    }
}

struct GateAttr;
impl Attribute for GateAttr {
    const NAME: &'static CStr = c_str!("gate_critical");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        let v = u8::from(wdt()?.gate_critical.load(Ordering::Relaxed));
        writeln!(out, "{}", v).map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        let v = match input {
            "0" => false,
            "1" => true,
            _ => return Err(EINVAL),
        };
        wdt()?.gate_critical.store(v, Ordering::Relaxed);
        Ok(())
    }
}

struct ExpirationsAttr;
impl Attribute for ExpirationsAttr {
    const NAME: &'static CStr = c_str!("expirations");
    fn show(out: &mut Show) -> Result {
        writeln!(out, "{}", wdt()?.expirations.load(Ordering::Relaxed)).map_err(|_| EINVAL)
    }
}

struct RefusedAttr;
impl Attribute for RefusedAttr {
    const NAME: &'static CStr = c_str!("refused_pings");
    fn show(out: &mut Show) -> Result {
        writeln!(out, "{}", wdt()?.refused_pings.load(Ordering::Relaxed)).map_err(|_| EINVAL)
    }
}

sysfs_group!(static ATTRS = [ActionAttr, GateAttr, ExpirationsAttr, RefusedAttr]);

static MODULE_INFO: cgl_core::ModuleInfo = cgl_core::ModuleInfo {
    name: c_str!("wdt"),
    family: None,
    description: c_str!("watchdog-core timer device with configurable expiry action"),
};

struct CglWdtModule {
    // Fields drop in order: sysfs first (draining readers), then the
    // registration with the core, then the device.
    _dir: cgl_core::sysfs::Dir,
    _reg: cgl_core::Registration,
    _dev: Pin<KBox<Wdt>>,
}

impl kernel::Module for CglWdtModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let dev = KBox::pin_init(Wdt::new(module), GFP_KERNEL)?;
        dev.register()?;
        WDT.store(&*dev as *const Wdt as *mut Wdt, Ordering::Release);
        let dir = cgl_core::sysfs::module_dir(c_str!("wdt"))?;
        dir.add_group(&ATTRS)?;
        let reg = cgl_core::register_module(&MODULE_INFO)?;
        Ok(Self {
            _dir: dir,
            _reg: reg,
            _dev: dev,
        })
    }
}

impl Drop for CglWdtModule {
    fn drop(&mut self) {
        // Readers that come after this get ENODEV; the ones already in
        // are drained when `_dir` drops, before the device does.
        WDT.store(core::ptr::null_mut(), Ordering::Release);
    }
}
