// SPDX-License-Identifier: GPL-2.0

//! The CGL event log.
//!
//! Structured records (sequence number, monotonic and real-time
//! timestamps, severity, subsystem, event id, message, optional payload) in
//! a bounded ring. [`log`] may be called from any context, interrupts
//! included: it allocates with `GFP_ATOMIC`, takes an IRQ-saving spinlock
//! for a few stores, and leaves the netlink multicast to a work item. A
//! record that cannot be allocated is counted as dropped; a record pushed
//! out of the ring is counted as overwritten, and a reader that asks for
//! it is told how many it lost.

use crate::ring::{ReadStart, RingIndex};
use crate::sync::SpinLockIrq;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings;
use kernel::prelude::*;

/// Longest subsystem name, in bytes.
pub const SUBSYS_MAX: usize = 31;
/// Longest message, in bytes; longer ones are truncated.
pub const MSG_MAX: usize = 255;
/// Largest payload, in bytes.
pub const PAYLOAD_MAX: usize = 1024;

/// Severity of a record, as in syslog: lower is more severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Severity {
    /// The system is unusable.
    Emerg = 0,
    /// Action must be taken at once.
    Alert = 1,
    /// Critical condition.
    Crit = 2,
    /// Error.
    Err = 3,
    /// Warning.
    Warning = 4,
    /// Normal but significant.
    Notice = 5,
    /// Informational.
    Info = 6,
    /// Debugging.
    Debug = 7,
}

impl Severity {
    /// The severity numbered `v`, if any.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Emerg,
            1 => Self::Alert,
            2 => Self::Crit,
            3 => Self::Err,
            4 => Self::Warning,
            5 => Self::Notice,
            6 => Self::Info,
            7 => Self::Debug,
            _ => return None,
        })
    }
}

/// One record of the log.
pub struct Record {
    /// Sequence number, from 1, never reused.
    pub seq: u64,
    /// CLOCK_MONOTONIC when logged, in ns.
    pub mono_ns: u64,
    /// CLOCK_REALTIME when logged, in ns.
    pub real_ns: u64,
    /// Severity.
    pub severity: Severity,
    /// Subsystem-defined event id.
    pub id: u32,
    subsys: [u8; SUBSYS_MAX],
    subsys_len: u8,
    msg: [u8; MSG_MAX],
    msg_len: u8,
    payload: KVec<u8>,
}

/// Longest prefix of `s` that fits in `max` bytes and ends on a character.
fn truncated(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct MsgWriter<'a> {
    buf: &'a mut [u8; MSG_MAX],
    len: usize,
}

impl Write for MsgWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let s = truncated(s, MSG_MAX - self.len);
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

impl Record {
    /// The subsystem that logged it.
    pub fn subsys(&self) -> &str {
        core::str::from_utf8(&self.subsys[..usize::from(self.subsys_len)]).unwrap_or("")
    }

    /// The message.
    pub fn msg(&self) -> &str {
        core::str::from_utf8(&self.msg[..usize::from(self.msg_len)]).unwrap_or("")
    }

    /// The payload (empty if none).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    fn new(
        severity: Severity,
        subsys: &str,
        id: u32,
        msg: fmt::Arguments<'_>,
        payload: &[u8],
        flags: kernel::alloc::Flags,
    ) -> Result<KBox<Self>> {
        if subsys.is_empty() || subsys.len() > SUBSYS_MAX || payload.len() > PAYLOAD_MAX {
            return Err(EINVAL);
        }
        let mut p = KVec::new();
        p.extend_from_slice(payload, flags)?;
        let mut r = KBox::new(
            Self {
                seq: 0,
                // SAFETY: reading the clocks has no preconditions.
                mono_ns: unsafe { bindings::ktime_get_ns() },
                // SAFETY: as above.
                real_ns: unsafe { bindings::ktime_get_real_ns() },
                severity,
                id,
                subsys: [0; SUBSYS_MAX],
                subsys_len: subsys.len() as u8,
                msg: [0; MSG_MAX],
                msg_len: 0,
                payload: p,
            },
            flags,
        )?;
        r.subsys[..subsys.len()].copy_from_slice(subsys.as_bytes());
        let mut w = MsgWriter {
            buf: &mut r.msg,
            len: 0,
        };
        // `MsgWriter` never fails: it truncates.
        let _ = w.write_fmt(msg);
        let len = w.len;
        r.msg_len = len as u8;
        Ok(r)
    }
}

/// Counters and settings of a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Capacity, in records.
    pub capacity: u32,
    /// Records held.
    pub records: u32,
    /// Sequence number of the next record.
    pub next_seq: u64,
    /// Records pushed out of the ring.
    pub overwritten: u64,
    /// Records never stored (no memory).
    pub dropped: u64,
}

/// The ring and what its lock protects.
struct RingState {
    index: RingIndex,
    /// `slots[index.slot(seq)]` holds record `seq` while the ring holds it.
    slots: KVec<Option<KBox<Record>>>,
}

fn empty_slots(n: u32) -> Result<KVec<Option<KBox<Record>>>> {
    let n = n as usize;
    let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        v.push(None, GFP_KERNEL)?;
    }
    Ok(v)
}

/// A bounded ring of records; the log is one, tests make their own.
#[pin_data]
pub struct EventRing {
    /// Taken with interrupts off: writers run in any context. Held only
    /// for index arithmetic and pointer moves; no allocation or free under
    /// it, except freeing overwritten records.
    #[pin]
    state: SpinLockIrq<RingState>,
    dropped: AtomicU64,
}

impl EventRing {
    /// A ring of `capacity` records.
    pub fn new(capacity: u32) -> Result<impl PinInit<Self, Error>> {
        let index = RingIndex::new(capacity).map_err(|_| EINVAL)?;
        let slots = empty_slots(capacity)?;
        Ok(try_pin_init!(Self {
            state <- crate::new_spinlock_irq!(RingState { index, slots }, "cgl_event_ring"),
            dropped: AtomicU64::new(0),
        }? Error))
    }

    /// Appends a record; returns its sequence number. Callable from any
    /// context. On failure the record is counted as dropped.
    pub fn log(
        &self,
        severity: Severity,
        subsys: &str,
        id: u32,
        msg: fmt::Arguments<'_>,
        payload: &[u8],
    ) -> Result<u64> {
        let mut rec = match Record::new(severity, subsys, id, msg, payload, GFP_ATOMIC) {
            Ok(r) => r,
            Err(e) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        let old;
        let seq;
        {
            let mut st = self.state.lock();
            let push = st.index.push();
            rec.seq = push.seq;
            seq = push.seq;
            old = match st.slots.get_mut(push.slot) {
                Some(slot) => slot.replace(rec),
                None => None,
            };
        }
        drop(old);
        Ok(seq)
    }

    /// Calls `f` with the first record at or after `from` that `filter`
    /// accepts (under the lock: `f` must not sleep), and the count of
    /// records asked for that were overwritten. Returns `None` when no
    /// record is left, else what `f` returned and the next sequence number
    /// to ask for.
    pub fn read<R>(
        &self,
        from: u64,
        filter: impl Fn(&Record) -> bool,
        f: impl FnOnce(&Record, u64) -> R,
    ) -> Option<(R, u64)> {
        let st = self.state.lock();
        let ReadStart { first, lost } = st.index.read_from(from);
        let mut seq = first;
        while seq < st.index.next_seq() {
            let rec = st
                .index
                .slot(seq)
                .and_then(|s| st.slots.get(s))
                .and_then(|r| r.as_deref());
            if let Some(rec) = rec {
                if filter(rec) {
                    return Some((f(rec, lost), seq + 1));
                }
            }
            seq += 1;
        }
        None
    }

    /// Where a reader asking for records from `from` starts, and how many
    /// of the records it asked for were overwritten.
    pub fn start(&self, from: u64) -> ReadStart {
        self.state.lock().index.read_from(from)
    }

    /// Changes the capacity, keeping the newest records that fit. Nothing
    /// changes if memory runs out.
    pub fn resize(&self, capacity: u32) -> Result {
        RingIndex::new(capacity).map_err(|_| EINVAL)?;
        let mut slots = empty_slots(capacity)?;
        {
            let mut st = self.state.lock();
            let old_index = st.index.clone();
            let keep = st.index.resize(capacity).map_err(|_| EINVAL)?;
            for seq in keep..st.index.next_seq() {
                if let (Some(from), Some(to)) = (old_index.slot(seq), st.index.slot(seq)) {
                    if let (Some(src), Some(dst)) =
                        (st.slots.get_mut(from).map(|s| s.take()), slots.get_mut(to))
                    {
                        *dst = src;
                    }
                }
            }
            core::mem::swap(&mut st.slots, &mut slots);
        }
        // `slots` now holds the old vector with the records not kept.
        drop(slots);
        Ok(())
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        let st = self.state.lock();
        Stats {
            capacity: st.index.capacity(),
            records: st.index.len(),
            next_seq: st.index.next_seq(),
            overwritten: st.index.overwritten(),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Records logged before the core was up, which could not be kept.
pub(crate) static EARLY_DROPPED: AtomicU64 = AtomicU64::new(0);

/// Appends a record to the CGL event log and returns its sequence number.
///
/// `subsys` is the module's name (1 to 31 bytes), `id` an event id the
/// module defines, `payload` at most 1024 bytes. Callable from any
/// context. Records of a severity below the configured printk level are
/// also printed to the kernel log.
pub fn log(
    severity: Severity,
    subsys: &str,
    id: u32,
    msg: fmt::Arguments<'_>,
    payload: &[u8],
) -> Result<u64> {
    let Some(core) = crate::core_state() else {
        EARLY_DROPPED.fetch_add(1, Ordering::Relaxed);
        return Err(ENODEV);
    };
    let seq = core.ring.log(severity, subsys, id, msg, payload)?;
    if (severity as u8) < core.printk_level.load(Ordering::Relaxed) as u8 {
        mirror_to_printk(severity, subsys, msg);
    }
    core.kick_broadcast();
    Ok(seq)
}

fn mirror_to_printk(severity: Severity, subsys: &str, msg: fmt::Arguments<'_>) {
    match severity {
        Severity::Emerg => pr_emerg!("{}: {}\n", subsys, msg),
        Severity::Alert => pr_alert!("{}: {}\n", subsys, msg),
        Severity::Crit => pr_crit!("{}: {}\n", subsys, msg),
        Severity::Err => pr_err!("{}: {}\n", subsys, msg),
        Severity::Warning => pr_warn!("{}: {}\n", subsys, msg),
        Severity::Notice => pr_notice!("{}: {}\n", subsys, msg),
        Severity::Info => pr_info!("{}: {}\n", subsys, msg),
        Severity::Debug => pr_debug!("{}: {}\n", subsys, msg),
    }
}

/// Logs a record with a formatted message and no payload.
///
/// ```ignore
/// cgl_core::cgl_event!(Severity::Warning, "fib", 3, "fib {} full", id);
/// ```
#[macro_export]
macro_rules! cgl_event {
    ($sev:expr, $subsys:expr, $id:expr, $($fmt:tt)+) => {
        $crate::event::log($sev, $subsys, $id, ::core::format_args!($($fmt)+), &[])
    };
}
