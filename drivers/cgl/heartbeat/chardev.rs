// SPDX-License-Identifier: GPL-2.0

//! `/dev/cgl_hb`: the heartbeat monitor for C applications.
//!
//! `CGL_HB_IOC_REGISTER` registers the calling process, `CGL_HB_IOC_BEAT`
//! and `CGL_HB_IOC_UNREGISTER` take the handle as the ioctl argument, so a
//! beat costs one system call and no copy. The device is world-usable: the
//! monitor checks that an entity is the caller's.

use super::{monitor, Action, Name, Spec};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::uapi;

const IOC_REGISTER: u32 = ioc(3, 1, core::mem::size_of::<uapi::cgl_hb_register>());
const IOC_BEAT: u32 = ioc(0, 2, 0);
const IOC_UNREGISTER: u32 = ioc(0, 3, 0);

/// `_IOC(dir, CGL_HB_IOC_MAGIC, nr, size)` (generic layout: x86, arm, riscv).
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (uapi::CGL_HB_IOC_MAGIC << 8) | nr
}

fn errno(e: Error) -> isize {
    e.to_errno() as isize
}

fn cstr_field(b: &[u8]) -> Option<&str> {
    let end = b.iter().position(|&c| c == 0)?;
    core::str::from_utf8(&b[..end]).ok()
}

fn register(arg: usize) -> isize {
    let Some(m) = monitor() else {
        return errno(ENODEV);
    };
    let size = core::mem::size_of::<uapi::cgl_hb_register>();
    // SAFETY: all-zero is a valid `cgl_hb_register`.
    let mut r: uapi::cgl_hb_register = unsafe { core::mem::zeroed() };
    // SAFETY: copies `size` bytes from the user pointer into `r`, which has
    // that size; a bad pointer gives a non-zero return.
    if unsafe {
        bindings::copy_from_user(
            (&mut r as *mut uapi::cgl_hb_register).cast(),
            arg as _,
            size as _,
        )
    } != 0
    {
        return errno(EFAULT);
    }
    let (Some(name), Some(group)) = (cstr_field(&r.name), cstr_field(&r.group)) else {
        return errno(EINVAL);
    };
    let (Some(name), Some(group)) = (Name::new(name), Name::new(group)) else {
        return errno(EINVAL);
    };
    let action = match Action::from_u8(r.action) {
        Some(a @ (Action::Event | Action::Signal | Action::Notify)) => a,
        // The command and panic actions, and unknown ones, are not for ioctl.
        _ => return errno(EINVAL),
    };
    if name.is_empty() || r.reserved != 0 || r.critical > 1 || !(1..=64).contains(&r.signal) {
        return errno(EINVAL);
    }
    // A dead critical entity can reset the node (the watchdog gate): as
    // over netlink, that takes CAP_SYS_ADMIN.
    if r.critical == 1 && !super::privileged() {
        return errno(EPERM);
    }
    if !(uapi::CGL_HB_PERIOD_MIN_MS..=uapi::CGL_HB_PERIOD_MAX_MS).contains(&r.period_ms)
        || !(1..=uapi::CGL_HB_MISSES_MAX).contains(&r.max_misses)
    {
        return errno(ERANGE);
    }
    let spec = Spec {
        name,
        group,
        period_ms: r.period_ms,
        max_misses: r.max_misses,
        action,
        signal: r.signal,
        critical: r.critical == 1,
        command: None,
        tgid: super::current_tgid(),
    };
    // The handle goes back in the same buffer: check that it can before
    // anything is registered (writing it back as it is).
    if !write_back(arg, &r, size) {
        return errno(EFAULT);
    }
    let (h, revived) = match m.register(spec) {
        Ok(h) => h,
        Err((e, _)) => return errno(e),
    };
    r.handle = h;
    if !write_back(arg, &r, size) {
        // The buffer went away meanwhile; the caller cannot learn the
        // handle: undo, leaving the monitor as it was.
        m.undo_register(h, revived);
        return errno(EFAULT);
    }
    0
}

/// Copies the first `size` bytes of `r` to the user buffer `arg` it was
/// read from; `false` if the buffer cannot take them.
fn write_back(arg: usize, r: &uapi::cgl_hb_register, size: usize) -> bool {
    // SAFETY: `r` is `size_of::<cgl_hb_register>()` bytes and `size` is
    // that size; a bad user pointer gives a non-zero return.
    let left = unsafe {
        bindings::copy_to_user(
            arg as _,
            (r as *const uapi::cgl_hb_register).cast(),
            size as _,
        )
    };
    left == 0
}

/// `unlocked_ioctl` of the device.
///
/// # Safety
///
/// Called by the VFS for an open file of the device.
unsafe extern "C" fn ioctl(_file: *mut bindings::file, cmd: u32, arg: usize) -> isize {
    let Some(m) = monitor() else {
        return errno(ENODEV);
    };
    let handle = || u32::try_from(arg).map_err(|_| EINVAL);
    let res = match cmd {
        IOC_REGISTER => return register(arg),
        IOC_BEAT => handle().and_then(|h| m.beat(h).map_err(|(e, _)| e)),
        IOC_UNREGISTER => handle().and_then(|h| m.unregister(h).map_err(|(e, _)| e)),
        _ => Err(ENOTTY),
    };
    match res {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// `/dev/cgl_hb`, registered while this exists.
pub(crate) struct Device {
    _misc: cgl_core::misc::MiscDevice,
}

impl Device {
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _misc: cgl_core::misc::MiscDevice::register(module, c_str!("cgl_hb"), 0o666, ioctl)?,
        })
    }
}
