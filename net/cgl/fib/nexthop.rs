// SPDX-License-Identifier: GPL-2.0

//! Nexthops of the multi-FIB module, shared by the routes that use them.
//!
//! A route stores a `u32` nexthop id in the trie. Equal nexthops (type,
//! gateway, interface, metric) get one id, counted by reference, so a full
//! table of routes over a few peers holds a few nexthops. Ids are found by
//! value through a chained hash with a fixed bucket array.
//!
//! The forwarding path reads nexthops by id without the mutex: each id
//! also has four words in an arena ([`NexthopView`]), written before any
//! route that uses the id is published. A freed id is reused only after an
//! RCU grace period, so a reader holding an id from an older trie never
//! sees another nexthop's words.
//!
//! Locking: the table belongs to the module's writer state (mutex).

use kernel::bindings;
use kernel::prelude::*;

use super::arena::{ArenaView, KArena};
use super::lpm::{Arena, ArenaRead};

// Route types and nexthops are plain values, defined with the request
// core that decodes them.
pub(crate) use super::rtmsg::{Nexthop, RouteType};

impl Nexthop {
    fn hash(&self) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        let mut mix = |b: u8| h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        mix(self.rtype as u8);
        mix(self.gw_len);
        self.gw.iter().for_each(|&b| mix(b));
        self.oif.to_ne_bytes().iter().for_each(|&b| mix(b));
        self.metric.to_ne_bytes().iter().for_each(|&b| mix(b));
        h
    }
}

/// Buckets of the hash (a power of two).
const BUCKETS: usize = 4096;
/// Largest number of distinct nexthops.
pub(crate) const MAX_NEXTHOPS: u32 = 1 << 20;
/// End of a chain or of the free list.
const NONE: u32 = u32::MAX;

struct Entry {
    nh: Nexthop,
    /// Routes using it; 0 for a free entry.
    refs: u32,
    /// Next entry in the bucket's chain, or in the free list.
    next: u32,
    /// Free entries: RCU state cookie of the moment it was freed.
    cookie: usize,
}

/// Words per nexthop in the forwarding arena.
const FWD_WORDS: u32 = 4;

/// The nexthop table.
pub(crate) struct Table {
    entries: KVec<Entry>,
    buckets: KVec<u32>,
    /// Free entries, oldest first (FIFO through `next`), so the head is
    /// the first whose grace period ends.
    free: u32,
    free_tail: u32,
    live: u32,
    /// Forwarding copy: id `i` at words `4i..4i+4`.
    fwd: KArena<u64>,
}

/// Lock-free read access to the nexthops, for the forwarding path
/// (under `rcu_read_lock()`).
pub(crate) struct NexthopView(ArenaView<u64>);

impl NexthopView {
    /// The nexthop with id `id`, as published.
    pub(crate) fn get(&self, id: u32) -> Option<Nexthop> {
        let base = id.checked_mul(FWD_WORDS)?;
        let w0 = self.0.get(base)?;
        let w1 = self.0.get(base + 1)?;
        let g0 = self.0.get(base + 2)?;
        let g1 = self.0.get(base + 3)?;
        let [a0, a1, a2, a3, a4, a5, a6, a7] = g0.to_ne_bytes();
        let [b0, b1, b2, b3, b4, b5, b6, b7] = g1.to_ne_bytes();
        let gw = [
            a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7,
        ];
        Some(Nexthop {
            rtype: RouteType::from_u8(w0 as u8)?,
            gw_len: (w0 >> 8) as u8,
            gw,
            oif: (w0 >> 32) as u32,
            metric: w1 as u32,
        })
    }
}

impl Table {
    /// An empty table.
    pub(crate) fn new() -> Result<Self> {
        let mut buckets = KVec::with_capacity(BUCKETS, GFP_KERNEL)?;
        buckets.extend_with(BUCKETS, NONE, GFP_KERNEL)?;
        Ok(Self {
            entries: KVec::new(),
            buckets,
            free: NONE,
            free_tail: NONE,
            live: 0,
            fwd: KArena::new(MAX_NEXTHOPS * FWD_WORDS)?,
        })
    }

    /// The forwarding path's read handle.
    pub(crate) fn view(&self) -> NexthopView {
        NexthopView(self.fwd.view())
    }

    /// Writes the forwarding copy of `nh` as id `id`.
    fn publish(&mut self, id: u32, nh: &Nexthop) -> Result {
        let base = id.checked_mul(FWD_WORDS).ok_or(ENOSPC)?;
        self.fwd.grow_to(base + FWD_WORDS).map_err(|_| ENOMEM)?;
        let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7] = nh.gw;
        let g = [
            u64::from_ne_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
            u64::from_ne_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
        ];
        let w0 = u64::from(nh.rtype as u8) | u64::from(nh.gw_len) << 8 | u64::from(nh.oif) << 32;
        let ok = self.fwd.set(base, w0)
            && self.fwd.set(base + 1, u64::from(nh.metric))
            && self.fwd.set(base + 2, g[0])
            && self.fwd.set(base + 3, g[1]);
        if ok {
            Ok(())
        } else {
            Err(EIO)
        }
    }

    /// Starts the grace period freed ids wait for (once per request).
    pub(crate) fn kick(&self) {
        if self.free != NONE {
            // SAFETY: plain RCU call from process context.
            unsafe { bindings::start_poll_synchronize_rcu() };
        }
    }

    /// A free id whose grace period is over, taken off the free list.
    fn take_free(&mut self) -> Option<u32> {
        let id = self.free;
        let e = self.entries.get(id as usize)?;
        // SAFETY: plain query of RCU state.
        if !unsafe { bindings::poll_state_synchronize_rcu(e.cookie as _) } {
            return None;
        }
        self.free = e.next;
        if self.free == NONE {
            self.free_tail = NONE;
        }
        Some(id)
    }

    /// Distinct nexthops in use.
    pub(crate) fn live(&self) -> u32 {
        self.live
    }

    fn bucket(nh: &Nexthop) -> usize {
        nh.hash() as usize & (BUCKETS - 1)
    }

    /// The id of `nh`, with one more reference; a new id if it is new.
    pub(crate) fn get_or_insert(&mut self, nh: &Nexthop) -> Result<u32> {
        let b = Self::bucket(nh);
        let mut i = *self.buckets.get(b).ok_or(EINVAL)?;
        while i != NONE {
            let e = self.entries.get_mut(i as usize).ok_or(EINVAL)?;
            if e.nh == *nh {
                e.refs = e.refs.checked_add(1).ok_or(ENOSPC)?;
                return Ok(i);
            }
            i = e.next;
        }
        let head = *self.buckets.get(b).ok_or(EINVAL)?;
        let entry = Entry {
            nh: *nh,
            refs: 1,
            next: head,
            cookie: 0,
        };
        let id = if let Some(id) = self.take_free() {
            if let Err(e) = self.publish(id, nh) {
                // Back to the head of the free list: its grace period is
                // over already.
                if let Some(f) = self.entries.get_mut(id as usize) {
                    f.next = self.free;
                }
                if self.free == NONE {
                    self.free_tail = id;
                }
                self.free = id;
                return Err(e);
            }
            let e = self.entries.get_mut(id as usize).ok_or(EINVAL)?;
            *e = entry;
            id
        } else {
            let id = u32::try_from(self.entries.len()).map_err(|_| ENOSPC)?;
            if id >= MAX_NEXTHOPS {
                return Err(ENOSPC);
            }
            self.entries.reserve(1, GFP_KERNEL)?;
            self.publish(id, nh)?;
            self.entries.push(entry, GFP_KERNEL)?;
            id
        };
        if let Some(h) = self.buckets.get_mut(b) {
            *h = id;
        }
        self.live += 1;
        Ok(id)
    }

    /// Drops one reference to `id`; frees it with the last.
    pub(crate) fn put(&mut self, id: u32) {
        let Some(e) = self.entries.get_mut(id as usize) else {
            return;
        };
        if e.refs == 0 {
            return;
        }
        e.refs -= 1;
        if e.refs != 0 {
            return;
        }
        let nh = e.nh;
        let next = e.next;
        // Unlink from the bucket chain.
        let b = Self::bucket(&nh);
        let Some(head) = self.buckets.get(b).copied() else {
            return;
        };
        if head == id {
            if let Some(h) = self.buckets.get_mut(b) {
                *h = next;
            }
        } else {
            let mut i = head;
            while i != NONE {
                let Some(e) = self.entries.get_mut(i as usize) else {
                    break;
                };
                if e.next == id {
                    e.next = next;
                    break;
                }
                i = e.next;
            }
        }
        // To the tail of the free list, with the grace period readers of
        // the routes just removed must see end before the id is reused.
        // SAFETY: plain query of RCU state.
        let cookie = unsafe { bindings::get_state_synchronize_rcu() } as usize;
        if let Some(e) = self.entries.get_mut(id as usize) {
            e.next = NONE;
            e.cookie = cookie;
        }
        if self.free_tail == NONE {
            self.free = id;
        } else if let Some(t) = self.entries.get_mut(self.free_tail as usize) {
            t.next = id;
        }
        self.free_tail = id;
        self.live -= 1;
    }

    /// The nexthop with id `id`, if it is in use.
    pub(crate) fn get(&self, id: u32) -> Option<&Nexthop> {
        self.entries
            .get(id as usize)
            .filter(|e| e.refs != 0)
            .map(|e| &e.nh)
    }
}
