// SPDX-License-Identifier: GPL-2.0

//! A work item embedded in long-lived, pinned state.
//!
//! 6.12's `kernel::workqueue` queues `Arc`s; the CGL core and modules
//! keep one work item in state that lives until module exit, queued from
//! any context (a timer, a wake function) and cancelled at exit. This is
//! that: an initialised `work_struct`, its function, and queue/cancel.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The lockdep class of a work item; one `static` per item, made by
/// [`new_work_item!`](crate::new_work_item).
pub struct WorkClass(UnsafeCell<MaybeUninit<bindings::lock_class_key>>);

// SAFETY: lockdep synchronises its own use of the key.
unsafe impl Sync for WorkClass {}

impl WorkClass {
    /// A class key for a `static`.
    pub const fn new() -> Self {
        Self(UnsafeCell::new(MaybeUninit::uninit()))
    }
}

impl Default for WorkClass {
    fn default() -> Self {
        Self::new()
    }
}

/// A work item whose function is a plain `extern "C" fn`.
#[repr(transparent)]
pub struct WorkItem(Opaque<bindings::work_struct>);

// SAFETY: the workqueue API may be used from any thread.
unsafe impl Send for WorkItem {}
// SAFETY: as above.
unsafe impl Sync for WorkItem {}

impl WorkItem {
    /// A work item running `func`; use [`new_work_item!`](crate::new_work_item).
    pub fn new(
        func: unsafe extern "C" fn(*mut bindings::work_struct),
        name: &'static CStr,
        class: &'static WorkClass,
    ) -> impl PinInit<Self> {
        // SAFETY: `init_work_with_key` initialises the item in place; the
        // name and key are `'static`.
        unsafe {
            kernel::init::pin_init_from_closure(move |slot: *mut Self| {
                bindings::init_work_with_key(
                    slot.cast(),
                    Some(func),
                    false,
                    name.as_char_ptr(),
                    class.0.get().cast(),
                );
                Ok(())
            })
        }
    }

    /// Queues the item on the system workqueue (high priority if asked);
    /// a no-op if it is queued already. Any context.
    pub fn queue(&self, highpri: bool) {
        // SAFETY: the item is initialised and pinned; the owner cancels it
        // before it is freed.
        unsafe {
            bindings::queue_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as _,
                if highpri {
                    bindings::system_highpri_wq
                } else {
                    bindings::system_wq
                },
                self.0.get(),
            )
        };
    }

    /// Cancels the item and waits for a running instance. May sleep.
    pub fn cancel_sync(&self) {
        // SAFETY: the item is initialised.
        unsafe { bindings::cancel_work_sync(self.0.get()) };
    }
}

/// A [`WorkItem`] running `func`, with a lockdep class of its own.
#[macro_export]
macro_rules! new_work_item {
    ($func:expr, $name:literal) => {{
        static CLASS: $crate::work::WorkClass = $crate::work::WorkClass::new();
        $crate::work::WorkItem::new($func, ::kernel::c_str!($name), &CLASS)
    }};
}
