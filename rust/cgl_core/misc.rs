// SPDX-License-Identifier: GPL-2.0

//! A misc character device (`/dev/<name>`) whose only method is `ioctl`,
//! for CGL modules that offer a C-friendly interface next to netlink.
//!
//! 6.12 has no Rust misc-device abstraction; this registers a
//! `miscdevice` with its own `file_operations` and deregisters it on drop.

use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// An `unlocked_ioctl` handler: `(file, cmd, arg) -> 0 or -errno`.
pub type IoctlFn = unsafe extern "C" fn(*mut bindings::file, u32, usize) -> isize;

/// The registered device's storage.
#[pin_data(PinnedDrop)]
struct Misc {
    #[pin]
    fops: Opaque<bindings::file_operations>,
    #[pin]
    misc: Opaque<bindings::miscdevice>,
}

/// A misc device, registered while this exists.
pub struct MiscDevice {
    _misc: Pin<KBox<Misc>>,
}

// SAFETY: the misc core allows registration and removal from any thread.
unsafe impl Send for MiscDevice {}
// SAFETY: no method takes `&self`.
unsafe impl Sync for MiscDevice {}

impl MiscDevice {
    /// Registers `/dev/<name>` with permissions `mode`, calling `ioctl`
    /// (also for 32-bit callers: the handler must use fixed-size types).
    pub fn register(
        module: &'static ThisModule,
        name: &'static CStr,
        mode: u16,
        ioctl: IoctlFn,
    ) -> Result<Self> {
        let m = KBox::pin_init(
            pin_init!(Misc {
                // SAFETY: zeroed `file_operations` are valid (no methods);
                // the fields set are the owner and ioctl.
                fops <- Opaque::ffi_init(move |p: *mut bindings::file_operations| unsafe {
                    p.write(core::mem::zeroed());
                    (*p).owner = module.as_ptr();
                    (*p).unlocked_ioctl = Some(ioctl);
                    (*p).compat_ioctl = Some(ioctl);
                }),
                // SAFETY: zeroed, then filled in before registration below.
                misc <- Opaque::ffi_init(|p: *mut bindings::miscdevice| unsafe {
                    p.write(core::mem::zeroed())
                }),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: the device is pinned in `m`, which deregisters it before
        // it is freed; the name is `'static`.
        unsafe {
            let d = m.misc.get();
            (*d).minor = bindings::MISC_DYNAMIC_MINOR as i32;
            (*d).name = name.as_char_ptr();
            (*d).fops = m.fops.get();
            (*d).mode = mode;
            kernel::error::to_result(bindings::misc_register(d))?;
        }
        Ok(Self { _misc: m })
    }
}

#[pinned_drop]
impl PinnedDrop for Misc {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered in `MiscDevice::register` (if registration
        // failed, `this_device` is still NULL and `misc_deregister` must
        // not run).
        unsafe {
            if !(*self.misc.get()).this_device.is_null() {
                bindings::misc_deregister(self.misc.get());
            }
        }
    }
}
