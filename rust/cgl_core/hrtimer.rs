// SPDX-License-Identifier: GPL-2.0

//! High-resolution timers embedded in a pinned owner.
//!
//! 6.12 has no Rust hrtimer API. A CGL module that must act within
//! milliseconds (a watchdog expiry, the earliest heartbeat deadline) embeds
//! an [`HrTimer`] in its pinned state, declares where with
//! [`impl_has_hrtimer!`](crate::impl_has_hrtimer), and implements
//! [`HrTimerCallback`]. The callback runs in hard interrupt context: it may
//! log events and queue work, not sleep. Timers use `CLOCK_MONOTONIC`.

use core::marker::PhantomData;
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a timer does after its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Stay stopped.
    No,
    /// Run again at the expiry the callback set with [`HrTimer::forward_ns`].
    Yes,
}

/// The owner of timer `ID` runs this when it expires.
pub trait HrTimerCallback<const ID: u64 = 0> {
    /// Called in hard interrupt context.
    fn expired(&self) -> Restart;
}

/// Where the timer `ID` lives in its owner.
///
/// # Safety
///
/// `OFFSET` must be the offset of an `HrTimer<Self, ID>` field of `Self`;
/// use [`impl_has_hrtimer!`](crate::impl_has_hrtimer).
pub unsafe trait HasHrTimer<const ID: u64 = 0> {
    /// Offset of the timer field, in bytes.
    const OFFSET: usize;
}

/// Declares the [`HasHrTimer`] of a struct's timer field.
#[macro_export]
macro_rules! impl_has_hrtimer {
    (impl HasHrTimer<$id:literal> for $t:ty { self.$field:ident }) => {
        // SAFETY: `offset_of!` gives the offset of the named field, whose
        // type the callback trampoline expects.
        unsafe impl $crate::hrtimer::HasHrTimer<$id> for $t {
            const OFFSET: usize = ::core::mem::offset_of!($t, $field);
        }
    };
}

/// An hrtimer inside a pinned `T`; cancelled when dropped.
#[repr(transparent)]
#[pin_data(PinnedDrop)]
pub struct HrTimer<T, const ID: u64 = 0> {
    #[pin]
    timer: Opaque<bindings::hrtimer>,
    _owner: PhantomData<T>,
}

// SAFETY: the hrtimer core synchronises start, cancel and expiry.
unsafe impl<T, const ID: u64> Send for HrTimer<T, ID> {}
// SAFETY: as above.
unsafe impl<T, const ID: u64> Sync for HrTimer<T, ID> {}

impl<T: HasHrTimer<ID> + HrTimerCallback<ID>, const ID: u64> HrTimer<T, ID> {
    /// A stopped timer.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `hrtimer_init` initialises the timer in place; the
            // callback is set before the timer can be started.
            timer <- Opaque::ffi_init(|p: *mut bindings::hrtimer| unsafe {
                bindings::hrtimer_init(
                    p,
                    bindings::CLOCK_MONOTONIC as _,
                    bindings::hrtimer_mode_HRTIMER_MODE_ABS,
                );
                (*p).function = Some(Self::run);
            }),
            _owner: PhantomData,
        })
    }

    /// The callback trampoline.
    ///
    /// # Safety
    ///
    /// Called by the hrtimer core with the `hrtimer` of an `HrTimer<T, ID>`
    /// that is a field of a live, pinned `T`.
    unsafe extern "C" fn run(ptr: *mut bindings::hrtimer) -> bindings::hrtimer_restart {
        // SAFETY: `HrTimer` is `repr(transparent)` over the hrtimer, which
        // sits at `T::OFFSET` in the owner (the `HasHrTimer` contract), and
        // the owner outlives the timer: dropping it cancels the timer.
        let owner = unsafe { &*ptr.cast::<u8>().sub(T::OFFSET).cast::<T>() };
        match owner.expired() {
            Restart::No => bindings::hrtimer_restart_HRTIMER_NORESTART,
            Restart::Yes => bindings::hrtimer_restart_HRTIMER_RESTART,
        }
    }

    /// (Re)starts the timer to expire at `CLOCK_MONOTONIC` time `ns`.
    pub fn start_at_ns(&self, ns: u64) {
        let at = i64::try_from(ns).unwrap_or(i64::MAX);
        // SAFETY: the timer is initialised and pinned.
        unsafe {
            bindings::hrtimer_start_range_ns(
                self.timer.get(),
                at,
                0,
                bindings::hrtimer_mode_HRTIMER_MODE_ABS,
            )
        };
    }

    /// (Re)starts the timer to expire `ns` from now.
    pub fn start_in_ns(&self, ns: u64) {
        self.start_at_ns(now_ns().saturating_add(ns));
    }

    /// In the callback: the next expiry for [`Restart::Yes`].
    pub fn forward_ns(&self, ns: u64) {
        let at = i64::try_from(ns).unwrap_or(i64::MAX);
        // SAFETY: the timer is initialised; called from its callback, so it
        // is not enqueued.
        unsafe {
            (*self.timer.get())._softexpires = at;
            (*self.timer.get()).node.expires = at;
        }
    }

    /// Stops the timer and waits for a running callback to finish. Must not
    /// be called from the callback.
    pub fn cancel(&self) -> bool {
        // SAFETY: the timer is initialised.
        unsafe { bindings::hrtimer_cancel(self.timer.get()) != 0 }
    }
}

#[pinned_drop]
impl<T, const ID: u64> PinnedDrop for HrTimer<T, ID> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: the timer was initialised by `new`; cancelling a stopped
        // timer is a no-op, and after this the callback cannot run.
        unsafe { bindings::hrtimer_cancel(self.timer.get()) };
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds.
pub fn now_ns() -> u64 {
    // SAFETY: no preconditions.
    unsafe { bindings::ktime_get_ns() }
}
