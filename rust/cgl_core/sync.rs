// SPDX-License-Identifier: GPL-2.0

//! A spinlock that disables local interrupts while held.
//!
//! 6.12's `kernel::sync::SpinLock` takes `spin_lock()`, so data it guards
//! cannot be touched from interrupt context. The event log is written from
//! any context (timers, LSM hooks, packet paths), so its lock saves and
//! restores the interrupt state: a second backend of the kernel's generic
//! [`Lock`], as `SpinLock` is the first.

use kernel::bindings;
use kernel::sync::lock::{Backend, Lock};

/// A spinlock taken with `spin_lock_irqsave()`.
///
/// Create it with [`new_spinlock_irq!`](crate::new_spinlock_irq).
pub type SpinLockIrq<T> = Lock<T, SpinLockIrqBackend>;

/// Creates a [`SpinLockIrq`] initialiser with a lockdep class of its own.
#[macro_export]
macro_rules! new_spinlock_irq {
    ($inner:expr, $name:literal $(,)?) => {
        ::kernel::sync::lock::Lock::<_, $crate::sync::SpinLockIrqBackend>::new(
            $inner,
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
        )
    };
}

/// The [`Backend`] of [`SpinLockIrq`].
pub struct SpinLockIrqBackend;

// SAFETY: `lock` and `unlock` take and release the C spinlock, which
// guarantees mutual exclusion; `init` initialises it, with the class key
// the caller passes.
unsafe impl Backend for SpinLockIrqBackend {
    type State = bindings::spinlock_t;
    type GuardState = usize;

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The caller guarantees that `ptr` is valid for writes and
        // that `name` and `key` live as long as the lock.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees that `ptr` points to an initialised
        // spinlock.
        unsafe { bindings::spin_lock_irqsave(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, flags: &Self::GuardState) {
        // SAFETY: The caller guarantees that `ptr` is held by this context,
        // and `flags` is what `lock` saved.
        unsafe { bindings::spin_unlock_irqrestore(ptr, *flags) }
    }
}
