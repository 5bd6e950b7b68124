// SPDX-License-Identifier: GPL-2.0

//! Neighbour table (ARP for IPv4, NDP for IPv6) of the multi-FIB module.
//!
//! The forwarding path asks [`Table::resolve`] for a next hop's link-layer
//! address and is told exactly what to do (forward, queue and maybe solicit,
//! or drop); received ARP/NDP messages go to [`Table::confirm`]; a timer
//! calls [`Table::tick`] to age entries. Entries are keyed by FIB, so one
//! address in two FIBs is two unrelated neighbours.
//!
//! Locking: not synchronised; the caller serialises every call (a spinlock
//! also taken in softirq). No call allocates or sleeps: all storage is
//! caller-owned slices handed to [`Table::new`].
//!
//! Design:
//! - Entries live in one slice; their index is stable while they live, so
//!   the glue can keep per-entry packet queues in a parallel array. Free
//!   entries form a FIFO, so a freed index is reused as late as possible.
//! - Lookup is a chained hash (seeded, so remote hosts cannot aim at one
//!   bucket) with as many buckets as entries; bucket `b`'s head is kept in
//!   entry `b`, chains are linked through entry indices.
//! - Per-FIB counts and limit overrides live in a second slice, an
//!   open-addressing table keyed by FIB id (linear probing, backward-shift
//!   delete); a FIB holds a slot only while it has entries or an override.
//! - Times are caller-supplied milliseconds; an elapsed time is
//!   `now.saturating_sub(then)`, so a clock going backwards reads as zero.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use core::ops::DerefMut;

/// How long a confirmed entry is trusted before it turns [`State::Stale`].
pub const REACHABLE_MS: u64 = 30_000;
/// Least time between two solicitations for one entry.
pub const RETRANS_MS: u64 = 1_000;
/// Solicitations sent for an entry before it is given up as failed.
pub const MAX_PROBES: u8 = 3;
/// How long a failed entry refuses new resolution attempts, so that a dead
/// host is not solicited for every packet sent to it.
pub const FAILED_HOLD_MS: u64 = 3_000;
/// How long a stale entry may go unused before it is freed.
pub const GC_STALE_MS: u64 = 60_000;
/// Most entries (and most FIB slots) a table uses; storage beyond this is
/// ignored. Indices stay below it.
pub const MAX_CAPACITY: usize = 0xffff_fffe;

/// "No entry" in chains, bucket heads and the free list.
const NONE: u32 = u32::MAX;
/// Separates the hash of FIB ids from that of keys.
const FIB_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// Errors of table operations. A failed operation changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighError {
    /// The key's FIB already holds [`Table::limit`] entries.
    LimitFib,
    /// Every entry is in use, or every FIB slot holds another FIB.
    Full,
    /// No entry has this key.
    NotFound,
    /// A permanent entry with this key exists already.
    Exists,
    /// The key cannot name a neighbour (see [`Key::check`]).
    BadKey,
}

/// What a neighbour is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// FIB id.
    pub fib: u32,
    /// Whether `addr` is an IPv6 address.
    pub v6: bool,
    /// The address in network order; IPv4 in the first 4 bytes, the rest
    /// zero.
    pub addr: [u8; 16],
    /// Interface index for an IPv6 link-local address (fe80::/10), which is
    /// only unique on its link; 0 for every other address. Build keys with
    /// [`Key::v4`] and [`Key::v6`] to get this right.
    pub zone: u32,
}

impl Key {
    /// The key of IPv4 address `addr` in FIB `fib`.
    pub const fn v4(fib: u32, addr: [u8; 4]) -> Self {
        let [a, b, c, d] = addr;
        Self {
            fib,
            v6: false,
            addr: [a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            zone: 0,
        }
    }

    /// The key of IPv6 address `addr` in FIB `fib`, as seen on interface
    /// `ifindex` (which matters only for link-local addresses).
    pub const fn v6(fib: u32, addr: [u8; 16], ifindex: u32) -> Self {
        let zone = if is_link_local(&addr) { ifindex } else { 0 };
        Self {
            fib,
            v6: true,
            addr,
            zone,
        }
    }

    /// Whether the key may name a neighbour: IPv4 with bytes 4..16 zero,
    /// not 0.0.0.0, multicast (224/4) or 255.255.255.255; IPv6 not `::` or
    /// multicast (ff00::/8); `zone` nonzero exactly for IPv6 link-local.
    pub fn check(&self) -> Result<(), NeighError> {
        let [a0, a1, a2, a3, rest @ ..] = self.addr;
        let ok = if self.v6 {
            self.addr != [0; 16] && a0 != 0xff && (self.zone != 0) == is_link_local(&self.addr)
        } else {
            let v4 = [a0, a1, a2, a3];
            rest == [0; 12]
                && self.zone == 0
                && v4 != [0; 4]
                && v4 != [0xff; 4]
                && a0 & 0xf0 != 0xe0
        };
        if ok {
            Ok(())
        } else {
            Err(NeighError::BadKey)
        }
    }
}

/// Whether an IPv6 address is link-local (fe80::/10).
const fn is_link_local(addr: &[u8; 16]) -> bool {
    let [a0, a1, ..] = *addr;
    a0 == 0xfe && a1 & 0xc0 == 0x80
}

/// Resolution state of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Solicitations are going out; packets wait in the glue's queue.
    Incomplete,
    /// Confirmed within [`REACHABLE_MS`].
    Reachable,
    /// Address known but not recently confirmed: used, and refreshed by
    /// probes while used.
    Stale,
    /// Resolution failed; refused for [`FAILED_HOLD_MS`].
    Failed,
    /// Added by the administrator: never aged, never changed by learning.
    Permanent,
}

/// One neighbour. Create the storage filled with [`Entry::EMPTY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// What the entry is looked up by.
    pub key: Key,
    /// Link-layer address (zero while incomplete).
    pub mac: [u8; 6],
    /// Interface the neighbour is on.
    pub ifindex: u32,
    /// Resolution state.
    pub state: State,
    /// Solicitations sent since the last confirmation (incomplete or stale
    /// entries).
    pub probes: u8,
    /// Last confirmation (or creation, or failure for a failed entry).
    pub updated_ms: u64,
    /// Last solicitation.
    pub last_probe_ms: u64,
    /// Last time the forwarding path used the entry.
    pub used_ms: u64,
    /// Next entry in the hash chain, or in the free list.
    next: u32,
    /// Head of the hash bucket numbered like this entry (buckets live in
    /// the entries, whether those are in use or not).
    head: u32,
    /// Whether the entry is in use.
    live: bool,
}

impl Entry {
    /// An unused entry.
    pub const EMPTY: Self = Self {
        key: Key {
            fib: 0,
            v6: false,
            addr: [0; 16],
            zone: 0,
        },
        mac: [0; 6],
        ifindex: 0,
        state: State::Incomplete,
        probes: 0,
        updated_ms: 0,
        last_probe_ms: 0,
        used_ms: 0,
        next: NONE,
        head: NONE,
        live: false,
    };
}

impl Default for Entry {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Entry count and limit of one FIB. Create the storage filled with
/// [`FibCount::EMPTY`]; its length is the most FIBs that may have entries
/// or limit overrides at once (size it above the FIB limit: it is an
/// open-addressing table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibCount {
    fib: u32,
    count: u32,
    limit: u32,
    has_limit: bool,
    used: bool,
}

impl FibCount {
    /// An unused slot.
    pub const EMPTY: Self = Self {
        fib: 0,
        count: 0,
        limit: 0,
        has_limit: false,
        used: false,
    };
}

impl Default for FibCount {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// What the forwarding path does with a packet, from [`Table::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// Send to `mac`.
    Use {
        /// Destination link-layer address.
        mac: [u8; 6],
    },
    /// Send to `mac`, and send a solicitation (unicast to `mac` or
    /// broadcast) to refresh the stale entry `idx`.
    UseAndProbe {
        /// Entry index.
        idx: u32,
        /// Destination link-layer address.
        mac: [u8; 6],
    },
    /// Queue the packet for entry `idx` (flushed on [`Confirm::Resolved`],
    /// dropped on [`Event::Failed`]); send a solicitation if `probe`.
    Queue {
        /// Entry index.
        idx: u32,
        /// Whether a solicitation must go out now.
        probe: bool,
    },
    /// Resolution failed recently: drop, ICMP host unreachable.
    Unreachable,
}

/// Outcome of [`Table::confirm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Entry `idx` was incomplete and is now reachable: flush its queue.
    Resolved {
        /// Entry index.
        idx: u32,
    },
    /// Entry `idx` was refreshed (now reachable, address updated).
    Updated {
        /// Entry index.
        idx: u32,
    },
    /// A stale entry `idx` was created.
    Created {
        /// Entry index.
        idx: u32,
    },
    /// Nothing changed: the entry is permanent, the key is bad, or there
    /// is no entry and `create` was false.
    Ignored,
    /// An entry would have been created but a limit refused it
    /// ([`NeighError::LimitFib`] or [`NeighError::Full`]).
    Limit(NeighError),
}

/// Outcome of [`Table::add_permanent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// A new entry `idx`.
    New {
        /// Entry index.
        idx: u32,
    },
    /// The dynamic entry `idx` became permanent; if it was incomplete,
    /// flush its queue.
    Replaced {
        /// Entry index.
        idx: u32,
        /// Whether the entry was incomplete.
        was_incomplete: bool,
    },
}

/// What [`Table::tick`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Incomplete entry `idx` is due another solicitation: send it.
    Probe {
        /// Entry index.
        idx: u32,
        /// The entry's key.
        key: Key,
        /// Interface to solicit on.
        ifindex: u32,
    },
    /// Entry `idx` failed (no answer to [`MAX_PROBES`] solicitations):
    /// drop its queue, ICMP host unreachable for the queued packets.
    Failed {
        /// Entry index.
        idx: u32,
        /// The entry's key.
        key: Key,
        /// The entry's interface.
        ifindex: u32,
    },
    /// Entry `idx` was freed; the index may be reused from now on.
    Freed {
        /// Entry index.
        idx: u32,
        /// The entry's key.
        key: Key,
        /// The entry's interface.
        ifindex: u32,
    },
}

/// The neighbour table: up to `capacity` entries in storage `E`, per-FIB
/// counts in storage `M` (anything that dereferences to the slices: a
/// `KVec`, a `Vec`, a `&mut [T]`).
///
/// Not synchronised: the caller serialises all calls. Indices are stable
/// for an entry's life; after [`Event::Freed`], [`Table::delete`] or
/// [`Table::delete_where`] reports it, the index may be reused.
#[derive(Debug)]
pub struct Table<E, M> {
    entries: E,
    fibs: M,
    /// Entries (and buckets) in use of `entries`.
    cap: u32,
    /// Slots in use of `fibs`.
    fib_cap: u32,
    len: u32,
    default_limit: u32,
    seed: u64,
    free_head: u32,
    free_tail: u32,
}

/// Time from `then` to `now`; zero if the clock went backwards.
fn since(now: u64, then: u64) -> u64 {
    now.saturating_sub(then)
}

/// A 64-bit mixer (the MurmurHash3 finaliser).
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Maps a hash to `0..n` by its top 32 bits (multiply-shift, no division).
fn reduce(h: u64, n: u32) -> u32 {
    ((h >> 32).wrapping_mul(u64::from(n)) >> 32) as u32
}

impl<E, M> Table<E, M>
where
    E: DerefMut<Target = [Entry]>,
    M: DerefMut<Target = [FibCount]>,
{
    /// Takes `entries` (one per neighbour, and as many hash buckets) and
    /// `fibs` (one per FIB that may have entries or a limit at once) as
    /// storage; O(capacity). Each FIB may hold `default_limit` entries
    /// unless [`Self::set_limit`] says otherwise. `seed` keys the hashes
    /// (kernel: `get_random_u64()`). Empty storage makes a table that
    /// refuses every entry with [`NeighError::Full`].
    ///
    /// The storage must keep its length (as slices and vectors do).
    pub fn new(mut entries: E, mut fibs: M, default_limit: u32, seed: u64) -> Self {
        let cap = entries.len().min(MAX_CAPACITY) as u32;
        let fib_cap = fibs.len().min(MAX_CAPACITY) as u32;
        let mut i = 0u32;
        for e in entries.iter_mut() {
            *e = Entry::EMPTY;
            let next = i.saturating_add(1);
            if next < cap {
                e.next = next;
            }
            i = next;
        }
        for f in fibs.iter_mut() {
            *f = FibCount::EMPTY;
        }
        let (free_head, free_tail) = if cap == 0 {
            (NONE, NONE)
        } else {
            (0, cap.saturating_sub(1))
        };
        Self {
            entries,
            fibs,
            cap,
            fib_cap,
            len: 0,
            default_limit,
            seed,
            free_head,
            free_tail,
        }
    }

    /// Most entries the table holds.
    pub fn capacity(&self) -> u32 {
        self.cap
    }

    /// Entries in use, of all FIBs and states.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether no entry is in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries of FIB `fib`, permanent ones included.
    pub fn count(&self, fib: u32) -> u32 {
        self.fib_slot(fib).map_or(0, |f| f.count)
    }

    /// Most entries FIB `fib` may hold (permanent ones count).
    pub fn limit(&self, fib: u32) -> u32 {
        match self.fib_slot(fib) {
            Some(f) if f.has_limit => f.limit,
            _ => self.default_limit,
        }
    }

    /// The limit of FIBs without an override.
    pub fn default_limit(&self) -> u32 {
        self.default_limit
    }

    /// Sets FIB `fib`'s limit to `limit`, or back to the default with
    /// `None`. Lowering it below [`Self::count`] keeps the entries but
    /// refuses new ones. An override holds a FIB slot until cleared (clear
    /// it when the FIB is deleted). Fails with [`NeighError::Full`] only
    /// when setting one and every FIB slot holds another FIB.
    pub fn set_limit(&mut self, fib: u32, limit: Option<u32>) -> Result<(), NeighError> {
        match limit {
            Some(n) => {
                let s = self.fib_claim(fib).ok_or(NeighError::Full)?;
                if let Some(f) = self.fibs.get_mut(s as usize) {
                    f.limit = n;
                    f.has_limit = true;
                }
            }
            None => {
                if let Some(s) = self.fib_find(fib) {
                    if let Some(f) = self.fibs.get_mut(s as usize) {
                        f.has_limit = false;
                        f.limit = 0;
                    }
                    self.fib_release(s);
                }
            }
        }
        Ok(())
    }

    /// The entry with `key` and its index.
    pub fn get(&self, key: &Key) -> Option<(u32, &Entry)> {
        let idx = self.find(key)?;
        self.slot(idx).map(|e| (idx, e))
    }

    /// The live entry at index `idx`.
    pub fn entry(&self, idx: u32) -> Option<&Entry> {
        self.slot(idx).filter(|e| e.live)
    }

    /// Live entries in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Entry)> + '_ {
        self.entries
            .iter()
            .take(self.cap as usize)
            .enumerate()
            .filter(|(_, e)| e.live)
            .map(|(i, e)| (i as u32, e))
    }

    /// Live entries of FIB `fib` in index order; O(capacity).
    pub fn iter_fib(&self, fib: u32) -> impl Iterator<Item = (u32, &Entry)> + '_ {
        self.iter().filter(move |(_, e)| e.key.fib == fib)
    }

    /// Calls `f` on the live entries from index `start` on, in index order,
    /// until it returns `false` (it could not take the entry: a netlink
    /// dump buffer is full). Returns the index to resume from (the refused
    /// entry), or `None` when every entry was taken.
    pub fn walk_from(&self, start: u32, mut f: impl FnMut(u32, &Entry) -> bool) -> Option<u32> {
        let tail = self
            .entries
            .get(start as usize..self.cap as usize)
            .unwrap_or(&[]);
        let mut i = start;
        for e in tail {
            if e.live && !f(i, e) {
                return Some(i);
            }
            i = i.saturating_add(1);
        }
        None
    }

    /// What to do with a packet to `key` routed out of `ifindex` at `now`.
    ///
    /// Creates an incomplete entry for an unknown key (subject to the FIB
    /// limit and capacity). A dynamic entry on another interface restarts
    /// resolution on `ifindex`; a permanent entry is used as it is.
    pub fn resolve(&mut self, key: &Key, ifindex: u32, now: u64) -> Result<Resolve, NeighError> {
        key.check()?;
        let Some(idx) = self.find(key) else {
            let idx = self.create(key)?;
            if let Some(e) = self.slot_mut(idx) {
                e.start(ifindex, now);
            }
            return Ok(Resolve::Queue { idx, probe: true });
        };
        let Some(e) = self.slot_mut(idx) else {
            return Err(NeighError::NotFound);
        };
        if e.state == State::Permanent {
            e.used_ms = now;
            return Ok(Resolve::Use { mac: e.mac });
        }
        if e.ifindex != ifindex {
            e.start(ifindex, now);
            return Ok(Resolve::Queue { idx, probe: true });
        }
        if e.state == State::Reachable && since(now, e.updated_ms) >= REACHABLE_MS {
            e.state = State::Stale;
            e.probes = 0;
        }
        match e.state {
            State::Incomplete => {
                e.used_ms = now;
                let probe = e.probes < MAX_PROBES && since(now, e.last_probe_ms) >= RETRANS_MS;
                if probe {
                    e.probe(now);
                }
                Ok(Resolve::Queue { idx, probe })
            }
            State::Stale => {
                e.used_ms = now;
                if e.probes < MAX_PROBES
                    && (e.probes == 0 || since(now, e.last_probe_ms) >= RETRANS_MS)
                {
                    e.probe(now);
                    Ok(Resolve::UseAndProbe { idx, mac: e.mac })
                } else {
                    Ok(Resolve::Use { mac: e.mac })
                }
            }
            State::Failed => {
                if since(now, e.updated_ms) < FAILED_HOLD_MS {
                    Ok(Resolve::Unreachable)
                } else {
                    e.start(ifindex, now);
                    Ok(Resolve::Queue { idx, probe: true })
                }
            }
            State::Reachable | State::Permanent => {
                e.used_ms = now;
                Ok(Resolve::Use { mac: e.mac })
            }
        }
    }

    /// Learns that `key` is at `mac` on `ifindex` (ARP reply or request,
    /// neighbour advertisement or solicitation). An existing dynamic entry
    /// becomes reachable; with `create` (a request addressed to us) a
    /// missing one is created stale, subject to the limits.
    pub fn confirm(
        &mut self,
        key: &Key,
        mac: [u8; 6],
        ifindex: u32,
        now: u64,
        create: bool,
    ) -> Confirm {
        if key.check().is_err() {
            return Confirm::Ignored;
        }
        if let Some(idx) = self.find(key) {
            let Some(e) = self.slot_mut(idx) else {
                return Confirm::Ignored;
            };
            let was = e.state;
            if was == State::Permanent {
                return Confirm::Ignored;
            }
            e.state = State::Reachable;
            e.mac = mac;
            e.ifindex = ifindex;
            e.updated_ms = now;
            e.probes = 0;
            return if was == State::Incomplete {
                Confirm::Resolved { idx }
            } else {
                Confirm::Updated { idx }
            };
        }
        if !create {
            return Confirm::Ignored;
        }
        match self.create(key) {
            Ok(idx) => {
                if let Some(e) = self.slot_mut(idx) {
                    e.state = State::Stale;
                    e.mac = mac;
                    e.ifindex = ifindex;
                    e.updated_ms = now;
                    e.used_ms = now;
                }
                Confirm::Created { idx }
            }
            Err(err) => Confirm::Limit(err),
        }
    }

    /// Adds a permanent entry, or makes the dynamic entry of `key`
    /// permanent. New entries are subject to the limits.
    pub fn add_permanent(
        &mut self,
        key: &Key,
        mac: [u8; 6],
        ifindex: u32,
        now: u64,
    ) -> Result<Added, NeighError> {
        key.check()?;
        let (idx, added) = match self.find(key) {
            Some(idx) => {
                let e = self.slot(idx).ok_or(NeighError::NotFound)?;
                if e.state == State::Permanent {
                    return Err(NeighError::Exists);
                }
                let was_incomplete = e.state == State::Incomplete;
                (
                    idx,
                    Added::Replaced {
                        idx,
                        was_incomplete,
                    },
                )
            }
            None => {
                let idx = self.create(key)?;
                (idx, Added::New { idx })
            }
        };
        if let Some(e) = self.slot_mut(idx) {
            e.state = State::Permanent;
            e.mac = mac;
            e.ifindex = ifindex;
            e.updated_ms = now;
            e.used_ms = now;
            e.probes = 0;
        }
        Ok(added)
    }

    /// Gives the permanent entry of `key` a new address and interface, in
    /// place: it keeps its slot, so no limit applies (a FIB's limit may
    /// have been lowered below its count since the entry was made).
    /// [`NeighError::NotFound`] if `key` has no permanent entry.
    pub fn set_permanent(
        &mut self,
        key: &Key,
        mac: [u8; 6],
        ifindex: u32,
        now: u64,
    ) -> Result<(), NeighError> {
        key.check()?;
        let idx = self.find(key).ok_or(NeighError::NotFound)?;
        match self.slot_mut(idx) {
            Some(e) if e.state == State::Permanent => {
                e.mac = mac;
                e.ifindex = ifindex;
                e.updated_ms = now;
                e.used_ms = now;
                Ok(())
            }
            _ => Err(NeighError::NotFound),
        }
    }

    /// Removes the entry of `key` (of any state); returns its index (drop
    /// its queue; the index may be reused from now on) and what it held.
    pub fn delete(&mut self, key: &Key) -> Result<(u32, Entry), NeighError> {
        let idx = self.find(key).ok_or(NeighError::NotFound)?;
        let e = self.free(idx).ok_or(NeighError::NotFound)?;
        Ok((idx, e))
    }

    /// Removes every entry `f` selects (a deleted FIB, an unbound
    /// interface), reporting each to `out` after removal; O(capacity).
    /// Returns the number removed.
    pub fn delete_where(
        &mut self,
        mut f: impl FnMut(&Entry) -> bool,
        mut out: impl FnMut(u32, &Entry),
    ) -> u32 {
        let mut n = 0u32;
        for idx in 0..self.cap {
            let hit = matches!(self.slot(idx), Some(e) if e.live && f(e));
            if hit {
                if let Some(e) = self.free(idx) {
                    out(idx, &e);
                    n = n.saturating_add(1);
                }
            }
        }
        n
    }

    /// Ages every entry at `now`, reporting what the glue must do to
    /// `out`; O(capacity). Incomplete entries are solicited every
    /// [`RETRANS_MS`] and fail [`RETRANS_MS`] after the last of
    /// [`MAX_PROBES`]; so do stale entries whose refresh probes (sent
    /// while in use) all went unanswered. Reachable entries turn stale
    /// after [`REACHABLE_MS`]; stale entries unused for [`GC_STALE_MS`]
    /// and failed ones after [`FAILED_HOLD_MS`] are freed.
    pub fn tick(&mut self, now: u64, out: impl FnMut(Event)) {
        self.tick_part(now, 0, self.cap, out);
    }

    /// [`Self::tick`] for the `n` entries from index `start` on, so that a
    /// timer can bound the work done under the lock. Returns where the next
    /// part starts (0 after the last entry).
    pub fn tick_part(&mut self, now: u64, start: u32, n: u32, mut out: impl FnMut(Event)) -> u32 {
        let end = start.saturating_add(n).min(self.cap);
        for idx in start..end {
            let Some(e) = self.slot_mut(idx) else {
                break;
            };
            if !e.live {
                continue;
            }
            let (key, ifindex) = (e.key, e.ifindex);
            if e.state == State::Reachable && since(now, e.updated_ms) >= REACHABLE_MS {
                e.state = State::Stale;
                e.probes = 0;
            }
            let retrans_due = since(now, e.last_probe_ms) >= RETRANS_MS;
            let state = e.state;
            let ev = match state {
                State::Incomplete if retrans_due && e.probes < MAX_PROBES => {
                    e.probe(now);
                    Some(Event::Probe { idx, key, ifindex })
                }
                State::Incomplete | State::Stale if retrans_due && e.probes >= MAX_PROBES => {
                    e.state = State::Failed;
                    e.updated_ms = now;
                    Some(Event::Failed { idx, key, ifindex })
                }
                State::Stale if since(now, e.used_ms) >= GC_STALE_MS => {
                    self.free(idx);
                    Some(Event::Freed { idx, key, ifindex })
                }
                State::Failed if since(now, e.updated_ms) >= FAILED_HOLD_MS => {
                    self.free(idx);
                    Some(Event::Freed { idx, key, ifindex })
                }
                _ => None,
            };
            if let Some(ev) = ev {
                out(ev);
            }
        }
        if end >= self.cap {
            0
        } else {
            end
        }
    }

    /// Entry `idx` if `idx` is below the capacity (live or not).
    fn slot(&self, idx: u32) -> Option<&Entry> {
        if idx < self.cap {
            self.entries.get(idx as usize)
        } else {
            None
        }
    }

    /// Mutable [`Self::slot`].
    fn slot_mut(&mut self, idx: u32) -> Option<&mut Entry> {
        if idx < self.cap {
            self.entries.get_mut(idx as usize)
        } else {
            None
        }
    }

    /// Hash bucket of `key`.
    fn bucket(&self, key: &Key) -> u32 {
        let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7] = key.addr;
        let lo = u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]);
        let hi = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
        let meta = u64::from(key.fib) | (u64::from(key.zone) << 32);
        let mut h = mix(self.seed ^ meta);
        h = mix(h ^ lo ^ u64::from(key.v6));
        h = mix(h ^ hi);
        reduce(h, self.cap)
    }

    /// Index of the live entry with `key`.
    fn find(&self, key: &Key) -> Option<u32> {
        let mut i = self.slot(self.bucket(key))?.head;
        // A chain is never longer than the table; the bound only guards
        // against looping on corrupted links.
        for _ in 0..self.cap {
            let e = self.slot(i)?;
            if e.live && e.key == *key {
                return Some(i);
            }
            i = e.next;
        }
        None
    }

    /// Takes a free entry for `key`, counted in its FIB and linked into its
    /// bucket, with every other field as in [`Entry::EMPTY`].
    fn create(&mut self, key: &Key) -> Result<u32, NeighError> {
        let found = self.fib_find(key.fib);
        if self.count(key.fib) >= self.limit(key.fib) {
            return Err(NeighError::LimitFib);
        }
        let idx = self.free_head;
        let next_free = self.slot(idx).ok_or(NeighError::Full)?.next;
        let bucket = self.bucket(key);
        let head = self.slot(bucket).ok_or(NeighError::Full)?.head;
        let fs = match found {
            Some(s) => s,
            None => self.fib_claim(key.fib).ok_or(NeighError::Full)?,
        };
        let Some(e) = self.slot_mut(idx) else {
            self.fib_release(fs);
            return Err(NeighError::Full);
        };
        *e = Entry {
            key: *key,
            next: head,
            head: e.head,
            live: true,
            ..Entry::EMPTY
        };
        if let Some(b) = self.slot_mut(bucket) {
            b.head = idx;
        }
        self.free_head = next_free;
        if next_free == NONE {
            self.free_tail = NONE;
        }
        if let Some(f) = self.fibs.get_mut(fs as usize) {
            f.count = f.count.saturating_add(1);
        }
        self.len = self.len.saturating_add(1);
        Ok(idx)
    }

    /// Frees live entry `idx`: unlinks it, uncounts it, queues its index
    /// for reuse. Returns what it held.
    fn free(&mut self, idx: u32) -> Option<Entry> {
        let e = *self.slot(idx).filter(|e| e.live)?;
        let bucket = self.bucket(&e.key);
        let head = self.slot(bucket)?.head;
        if head == idx {
            if let Some(b) = self.slot_mut(bucket) {
                b.head = e.next;
            }
        } else {
            let mut p = head;
            for _ in 0..self.cap {
                let pe = self.slot_mut(p)?;
                if pe.next == idx {
                    pe.next = e.next;
                    break;
                }
                p = pe.next;
            }
        }
        let tail = self.free_tail;
        let slot = self.slot_mut(idx)?;
        slot.live = false;
        slot.next = NONE;
        match self.slot_mut(tail) {
            Some(t) => t.next = idx,
            None => self.free_head = idx,
        }
        self.free_tail = idx;
        self.len = self.len.saturating_sub(1);
        if let Some(s) = self.fib_find(e.key.fib) {
            if let Some(f) = self.fibs.get_mut(s as usize) {
                f.count = f.count.saturating_sub(1);
            }
            self.fib_release(s);
        }
        Some(e)
    }

    /// Home slot of FIB `fib` in the FIB table.
    fn fib_home(&self, fib: u32) -> u32 {
        reduce(mix(self.seed ^ FIB_SALT ^ u64::from(fib)), self.fib_cap)
    }

    /// The FIB slot after `i`, cyclically.
    fn fib_next(&self, i: u32) -> u32 {
        let n = i.saturating_add(1);
        if n >= self.fib_cap {
            0
        } else {
            n
        }
    }

    /// Slot of FIB `fib`, if it has one.
    fn fib_find(&self, fib: u32) -> Option<u32> {
        let mut i = self.fib_home(fib);
        for _ in 0..self.fib_cap {
            let f = self.fibs.get(i as usize)?;
            if !f.used {
                return None;
            }
            if f.fib == fib {
                return Some(i);
            }
            i = self.fib_next(i);
        }
        None
    }

    /// The counts of FIB `fib`, if it has a slot.
    fn fib_slot(&self, fib: u32) -> Option<&FibCount> {
        self.fibs.get(self.fib_find(fib)? as usize)
    }

    /// Slot of FIB `fib`, taking an empty one (count 0, no override) if it
    /// has none; `None` if the FIB table is full.
    fn fib_claim(&mut self, fib: u32) -> Option<u32> {
        let mut i = self.fib_home(fib);
        for _ in 0..self.fib_cap {
            let f = self.fibs.get_mut(i as usize)?;
            if !f.used {
                *f = FibCount {
                    fib,
                    used: true,
                    ..FibCount::EMPTY
                };
                return Some(i);
            }
            if f.fib == fib {
                return Some(i);
            }
            i = self.fib_next(i);
        }
        None
    }

    /// Empties FIB slot `slot` if it holds neither entries nor an override,
    /// moving later slots of its probe run back (backward-shift delete).
    fn fib_release(&mut self, slot: u32) {
        match self.fibs.get(slot as usize) {
            Some(f) if f.used && f.count == 0 && !f.has_limit => {}
            _ => return,
        }
        let mut hole = slot;
        let mut j = slot;
        for _ in 1..self.fib_cap {
            j = self.fib_next(j);
            let Some(&f) = self.fibs.get(j as usize) else {
                break;
            };
            if !f.used {
                break;
            }
            let home = self.fib_home(f.fib);
            // `f` may stay if its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                if let Some(h) = self.fibs.get_mut(hole as usize) {
                    *h = f;
                }
                hole = j;
            }
        }
        if let Some(h) = self.fibs.get_mut(hole as usize) {
            *h = FibCount::EMPTY;
        }
    }
}

impl Entry {
    /// (Re)starts resolution on `ifindex`: incomplete, first solicitation
    /// sent now.
    fn start(&mut self, ifindex: u32, now: u64) {
        self.state = State::Incomplete;
        self.mac = [0; 6];
        self.ifindex = ifindex;
        self.updated_ms = now;
        self.used_ms = now;
        self.probes = 1;
        self.last_probe_ms = now;
    }

    /// Counts a solicitation sent now.
    fn probe(&mut self, now: u64) {
        self.probes = self.probes.saturating_add(1);
        self.last_probe_ms = now;
    }
}
