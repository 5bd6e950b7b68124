// SPDX-License-Identifier: GPL-2.0

//! Node health shared between CGL modules.
//!
//! The heartbeat monitor counts the critical applications it has declared
//! dead; the watchdog can refuse to be fed while that count is not zero,
//! so one hung critical process takes the node down for failover. The
//! two modules do not know each other: they meet here.

use core::sync::atomic::{AtomicU32, Ordering};

static CRITICAL_FAILED: AtomicU32 = AtomicU32::new(0);

/// A critical application was declared dead.
pub fn critical_failed() {
    CRITICAL_FAILED.fetch_add(1, Ordering::AcqRel);
}

/// A critical application declared dead recovered or went away.
pub fn critical_recovered() {
    // Never below zero, whatever a caller does.
    let _ = CRITICAL_FAILED.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
}

/// Number of critical applications currently dead.
pub fn critical_failures() -> u32 {
    CRITICAL_FAILED.load(Ordering::Acquire)
}
