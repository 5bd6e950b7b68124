// SPDX-License-Identifier: GPL-2.0

//! Nexthops of the multi-FIB module, shared by the routes that use them.
//!
//! A route stores a `u32` nexthop id in the trie. Equal nexthops (type,
//! gateway, interface, metric) get one id, counted by reference, so a full
//! table of routes over a few peers holds a few nexthops. Ids are found by
//! value through a chained hash with a fixed bucket array.
//!
//! Locking: the table belongs to the module's writer state (mutex).

use kernel::prelude::*;

/// Route types, as `enum cgl_fib_rtype`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum RouteType {
    /// Forward via gateway and/or interface.
    Unicast = 0,
    /// Drop silently.
    Blackhole = 1,
    /// Drop, ICMP unreachable.
    Unreachable = 2,
    /// Drop, ICMP administratively prohibited.
    Prohibit = 3,
}

impl RouteType {
    /// From the uapi value.
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Unicast),
            1 => Some(Self::Blackhole),
            2 => Some(Self::Unreachable),
            3 => Some(Self::Prohibit),
            _ => None,
        }
    }
}

/// What a route forwards to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Nexthop {
    /// Route type.
    pub(crate) rtype: RouteType,
    /// Gateway length: 0 (none), 4 or 16 bytes.
    pub(crate) gw_len: u8,
    /// Gateway address, network order, in the first `gw_len` bytes.
    pub(crate) gw: [u8; 16],
    /// Output interface index, 0 if none.
    pub(crate) oif: u32,
    /// Metric (priority), informational.
    pub(crate) metric: u32,
}

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
}

/// The nexthop table.
pub(crate) struct Table {
    entries: KVec<Entry>,
    buckets: KVec<u32>,
    free: u32,
    live: u32,
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
            live: 0,
        })
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
        let id = if self.free != NONE {
            let id = self.free;
            let e = self.entries.get_mut(id as usize).ok_or(EINVAL)?;
            self.free = e.next;
            *e = Entry {
                nh: *nh,
                refs: 1,
                next: head,
            };
            id
        } else {
            let id = u32::try_from(self.entries.len()).map_err(|_| ENOSPC)?;
            if id >= MAX_NEXTHOPS {
                return Err(ENOSPC);
            }
            self.entries.push(
                Entry {
                    nh: *nh,
                    refs: 1,
                    next: head,
                },
                GFP_KERNEL,
            )?;
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
        if let Some(e) = self.entries.get_mut(id as usize) {
            e.next = self.free;
        }
        self.free = id;
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
