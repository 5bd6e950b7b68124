// SPDX-License-Identifier: GPL-2.0

//! `/dev/cgl_fib`: route add, delete and get through ioctls, for
//! applications that cannot speak netlink (`struct cgl_fib_ioc_route` in
//! `include/uapi/linux/cgl_fib.h`). The same checks and errnos as the
//! netlink family apply.

use super::netlink::apply;
use super::rtmsg::{self, IocRoute};
use super::{reject, state, Family as Af};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::uapi;

type Req = uapi::cgl_fib_ioc_route;

const SIZE: usize = core::mem::size_of::<Req>();
const IOC_ADD: u32 = ioc(1, 1);
const IOC_DEL: u32 = ioc(1, 2);
const IOC_GET: u32 = ioc(3, 3);

/// `_IOC(dir, CGL_FIB_IOC_MAGIC, nr, sizeof(struct cgl_fib_ioc_route))`.
const fn ioc(dir: u32, nr: u32) -> u32 {
    (dir << 30) | ((SIZE as u32) << 16) | (uapi::CGL_FIB_IOC_MAGIC << 8) | nr
}

fn errno(e: Error) -> isize {
    e.to_errno() as isize
}

// `IocRoute` reads and writes the uapi struct's image at these offsets.
const _: () = assert!(
    SIZE == rtmsg::IOC_ROUTE_LEN
        && core::mem::offset_of!(Req, fib_id) == 0
        && core::mem::offset_of!(Req, family) == 4
        && core::mem::offset_of!(Req, dst_len) == 5
        && core::mem::offset_of!(Req, type_) == 6
        && core::mem::offset_of!(Req, flags) == 7
        && core::mem::offset_of!(Req, dst) == 8
        && core::mem::offset_of!(Req, gateway) == 24
        && core::mem::offset_of!(Req, has_gateway) == 40
        && core::mem::offset_of!(Req, reserved) == 41
        && core::mem::offset_of!(Req, oif) == 44
        && core::mem::offset_of!(Req, metric) == 48
);

fn admin() -> Result {
    // SAFETY: plain capability check of the current task.
    if unsafe { bindings::capable(bindings::CAP_NET_ADMIN as i32) } {
        Ok(())
    } else {
        Err(EPERM)
    }
}

fn handle(cmd: u32, r: &mut IocRoute) -> Result<bool> {
    let st = state().ok_or(ENODEV)?;
    let af = Af::from_af(r.family).ok_or(EINVAL)?;
    match cmd {
        IOC_ADD => {
            admin()?;
            let spec = r
                .route_spec(af, super::dev_exists)
                .map_err(|e| reject(e).0)?;
            let mut inner = st.inner.lock();
            let res = apply(&mut inner, af, r.fib_id, &spec, r.flags & 1 != 0);
            inner.kick();
            res.map_err(|(e, _)| e)?;
            Ok(false)
        }
        IOC_DEL => {
            admin()?;
            if r.flags != 0 {
                return Err(EINVAL);
            }
            let dst = r.dst_bits(af);
            let mut inner = st.inner.lock();
            let res = match af {
                Af::V4 => inner.del_route::<u32>(r.fib_id, dst as u32, r.dst_len),
                Af::V6 => inner.del_route::<u128>(r.fib_id, dst, r.dst_len),
            };
            inner.kick();
            res.map_err(|(e, _)| e)?;
            Ok(false)
        }
        IOC_GET => {
            if r.flags & !2 != 0 {
                return Err(EINVAL);
            }
            let dst = r.dst_bits(af);
            let bits = (af.addr_len() * 8) as u32;
            let mut inner = st.inner.lock();
            let found = if r.flags & 2 != 0 {
                match af {
                    Af::V4 => inner.exact::<u32>(r.fib_id, dst as u32, r.dst_len),
                    Af::V6 => inner.exact::<u128>(r.fib_id, dst, r.dst_len),
                }
            } else {
                match af {
                    Af::V4 => inner.lookup::<u32>(r.fib_id, dst as u32),
                    Af::V6 => inner.lookup::<u128>(r.fib_id, dst),
                }
            }
            .map_err(|(e, _)| e)?;
            let route = found.ok_or_else(|| Error::from_errno(-(bindings::ENETUNREACH as i32)))?;
            let nh = *inner.nh.get(route.nh).ok_or(EIO)?;
            let p = rtmsg::mask(dst, route.len, bits).to_be_bytes();
            r.dst = [0; 16];
            let n = af.addr_len();
            if let (Some(d), Some(s)) = (r.dst.get_mut(..n), p.get(16 - n..)) {
                d.copy_from_slice(s);
            }
            r.dst_len = route.len;
            r.rtype = nh.rtype as u8;
            r.gateway = nh.gw;
            r.has_gateway = u8::from(nh.gw_len != 0);
            r.oif = nh.oif;
            r.metric = nh.metric;
            Ok(true)
        }
        _ => Err(ENOTTY),
    }
}

/// `unlocked_ioctl` of `/dev/cgl_fib`.
///
/// # Safety
///
/// Called by the VFS for an open file of the device.
unsafe extern "C" fn ioctl(_file: *mut bindings::file, cmd: u32, arg: usize) -> isize {
    if !matches!(cmd, IOC_ADD | IOC_DEL | IOC_GET) {
        return errno(ENOTTY);
    }
    let mut buf = [0u8; rtmsg::IOC_ROUTE_LEN];
    // SAFETY: `buf` is writable for `SIZE` bytes; `arg` is a user pointer,
    // checked by `copy_from_user`.
    if unsafe { bindings::copy_from_user(buf.as_mut_ptr().cast(), arg as _, SIZE as _) } != 0 {
        return errno(EFAULT);
    }
    let mut r = IocRoute::from_bytes(&buf);
    match handle(cmd, &mut r) {
        Ok(false) => 0,
        Ok(true) => {
            let out = r.to_bytes();
            // SAFETY: as above, the other way.
            if unsafe { bindings::copy_to_user(arg as _, out.as_ptr().cast(), SIZE as _) } != 0 {
                return errno(EFAULT);
            }
            0
        }
        Err(e) => errno(e),
    }
}

/// Registers `/dev/cgl_fib` (mode 0666: lookups are for anyone, changes
/// check CAP_NET_ADMIN).
pub(crate) fn register(module: &'static ThisModule) -> Result<cgl_core::misc::MiscDevice> {
    cgl_core::misc::MiscDevice::register(module, c_str!("cgl_fib"), 0o666, ioctl)
}
