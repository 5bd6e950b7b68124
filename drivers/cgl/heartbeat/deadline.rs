// SPDX-License-Identifier: GPL-2.0

//! Deadline scheduling of the application heartbeat monitor.
//!
//! An indexed min-heap of beat deadlines in caller-provided slots, so that
//! one timer armed to `Deadlines::next_deadline` watches every entity,
//! each beat costs O(log n) and no operation allocates.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use core::ops::DerefMut;

/// Shortest beat period accepted, in nanoseconds (1 ms).
pub const MIN_PERIOD_NS: u64 = 1_000_000;

/// Longest beat period accepted, in nanoseconds (1 hour).
pub const MAX_PERIOD_NS: u64 = 3_600 * 1_000_000_000;

/// Largest number of consecutive missed beats an entity may be allowed.
pub const MAX_MISSES: u32 = 1_000;

/// Bits of a [`Handle`] that hold the slot index.
pub const INDEX_BITS: u32 = 18;

/// Largest number of slots (entities) a [`Deadlines`] supports.
pub const MAX_CAPACITY: usize = 1 << INDEX_BITS;

const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// Largest generation; generations run 1..=GEN_MAX, so no handle is 0.
const GEN_MAX: u16 = (1 << (32 - INDEX_BITS)) - 1;
/// `Slot::pos` of an entity that is not in the heap (free or dead).
const NONE: u32 = u32::MAX;
/// Latest time [`Deadlines::expire`] looks at: a deadline that saturated
/// to `u64::MAX` is never reached, which bounds every expiry pass.
const LAST_NOW: u64 = u64::MAX - 1;

/// Errors of [`Deadlines`] operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineError {
    /// Storage of zero slots or more than [`MAX_CAPACITY`] slots.
    BadCapacity,
    /// A period of zero or below [`MIN_PERIOD_NS`].
    PeriodTooShort,
    /// A period above [`MAX_PERIOD_NS`].
    PeriodTooLong,
    /// An allowed miss count of zero or above [`MAX_MISSES`].
    BadMaxMisses,
    /// Every slot holds an entity.
    Full,
    /// The handle names no registered entity (never issued, unregistered,
    /// or of an earlier user of a reused slot).
    BadHandle,
}

/// Name of a registered entity, as passed to and from userspace.
///
/// The low [`INDEX_BITS`] bits are the slot index, the others a generation
/// that changes whenever the slot is freed, so a stale handle is rejected
/// after its slot is reused. No valid handle is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(u32);

impl Handle {
    const fn new(index: u32, gen: u16) -> Self {
        Self(((gen as u32) << INDEX_BITS) | (index & INDEX_MASK))
    }

    /// The wire form of the handle.
    pub const fn to_u32(self) -> u32 {
        self.0
    }

    /// A handle from its wire form; any value is accepted here and checked
    /// when used.
    pub const fn from_u32(raw: u32) -> Self {
        Self(raw)
    }

    /// The slot index, below the capacity for every handle that was issued.
    pub const fn index(self) -> usize {
        (self.0 & INDEX_MASK) as usize
    }

    const fn gen(self) -> u16 {
        (self.0 >> INDEX_BITS) as u16
    }
}

/// A missed deadline, as reported by [`Deadlines::expire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Miss {
    /// The deadline that passed without a beat (the earliest one, when
    /// several periods passed at once).
    pub deadline: u64,
    /// Consecutive missed beats, this report included. A pass that finds
    /// several periods elapsed counts each of them.
    pub misses: u32,
    /// Whether `misses` reached the allowed count: the entity is reported
    /// dead this once and parked until it beats or is unregistered.
    pub declared_dead: bool,
    /// How long after `deadline` the miss was noticed (`now - deadline`).
    pub late_ns: u64,
}

/// What is known of one entity, for sysfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityState {
    /// Beat period in nanoseconds.
    pub period_ns: u64,
    /// Consecutive missed beats after which the entity is declared dead.
    pub max_misses: u32,
    /// When the next beat is due; for a dead entity, the deadline whose
    /// miss declared it dead.
    pub deadline: u64,
    /// Consecutive missed beats since the last beat.
    pub misses: u32,
    /// Whether the entity has been declared dead and not beaten since.
    pub dead: bool,
    /// Time of the last beat (or of registration).
    pub last_beat: u64,
}

/// One unit of storage: the state of the entity with this slot index and,
/// independently, the heap element at heap position equal to this index.
///
/// Create the storage filled with [`Slot::EMPTY`]; its length is the
/// entity limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    // Entity part.
    period: u64,
    deadline: u64,
    last_beat: u64,
    misses: u32,
    /// Heap position of the entity, or `NONE` when free or dead.
    pos: u32,
    /// Next free slot when free, or `NONE`.
    next_free: u32,
    max_misses: u32,
    gen: u16,
    live: bool,
    // Heap part: the element at heap position = this index.
    heap_key: u64,
    heap_ent: u32,
}

impl Slot {
    /// An unused slot.
    pub const EMPTY: Self = Self {
        period: 0,
        deadline: 0,
        last_beat: 0,
        misses: 0,
        pos: NONE,
        next_free: NONE,
        max_misses: 0,
        gen: 1,
        live: false,
        heap_key: 0,
        heap_ent: 0,
    };
}

impl Default for Slot {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Beat deadlines of up to `capacity` entities, kept in storage `S`
/// (anything that dereferences to `[Slot]`: a slice, `KVVec<Slot>`, ...).
///
/// Not synchronised: the caller serialises all calls (a spinlock shared
/// with the timer callback).
#[derive(Debug)]
pub struct Deadlines<S> {
    slots: S,
    /// Registered entities.
    len: u32,
    /// Entities in the heap (registered and not dead).
    heap_len: u32,
    /// FIFO of free slots, oldest freed first, so that a slot is reused as
    /// late as possible and its generation wraps as late as possible.
    free_head: u32,
    free_tail: u32,
}

impl<S: DerefMut<Target = [Slot]>> Deadlines<S> {
    /// Takes `slots` as storage for `slots.len()` entities; O(capacity).
    ///
    /// The storage must keep its length (as slices and vectors do).
    pub fn new(mut slots: S) -> Result<Self, DeadlineError> {
        let cap = slots.len();
        if cap == 0 || cap > MAX_CAPACITY {
            return Err(DeadlineError::BadCapacity);
        }
        let mut next = 1u32;
        for slot in slots.iter_mut() {
            *slot = Slot::EMPTY;
            slot.next_free = if next as usize == cap { NONE } else { next };
            next = next.saturating_add(1);
        }
        Ok(Self {
            slots,
            len: 0,
            heap_len: 0,
            free_head: 0,
            free_tail: (cap as u32).saturating_sub(1),
        })
    }

    /// Number of slots: the most entities that can be registered.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Number of registered entities, dead ones included.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no entity is registered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of registered entities that are not dead (those with timer
    /// work).
    pub fn watched(&self) -> usize {
        self.heap_len as usize
    }

    /// The earliest deadline of an entity that is not dead: where the
    /// timer is armed. `None` when there is none.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.heap_len == 0 {
            return None;
        }
        self.slots.first().map(|s| s.heap_key)
    }

    /// Registers an entity beating every `period_ns`, declared dead after
    /// `max_misses` consecutive missed beats; registration at `now` counts
    /// as a beat. O(log n).
    pub fn register(
        &mut self,
        period_ns: u64,
        max_misses: u32,
        now: u64,
    ) -> Result<Handle, DeadlineError> {
        if period_ns < MIN_PERIOD_NS {
            return Err(DeadlineError::PeriodTooShort);
        }
        if period_ns > MAX_PERIOD_NS {
            return Err(DeadlineError::PeriodTooLong);
        }
        if max_misses == 0 || max_misses > MAX_MISSES {
            return Err(DeadlineError::BadMaxMisses);
        }
        let index = self.free_head;
        let deadline = now.saturating_add(period_ns);
        let slot = match self.slots.get_mut(index as usize) {
            Some(s) if !s.live => s,
            _ => return Err(DeadlineError::Full),
        };
        let next_free = slot.next_free;
        slot.live = true;
        slot.period = period_ns;
        slot.max_misses = max_misses;
        slot.deadline = deadline;
        slot.last_beat = now;
        slot.misses = 0;
        slot.next_free = NONE;
        let handle = Handle::new(index, slot.gen);
        self.free_head = next_free;
        if next_free == NONE {
            self.free_tail = NONE;
        }
        self.len = self.len.saturating_add(1);
        self.heap_push(index, deadline);
        Ok(handle)
    }

    /// Records a beat of `handle` at `now`: the next one is due at
    /// `now + period`, the miss count is reset and a dead entity is watched
    /// again. O(log n). Returns whether the entity had been declared dead.
    pub fn beat(&mut self, handle: Handle, now: u64) -> Result<bool, DeadlineError> {
        let index = handle.index() as u32;
        let slot = self.entity_mut(handle)?;
        let deadline = now.saturating_add(slot.period);
        let pos = slot.pos;
        slot.deadline = deadline;
        slot.last_beat = now;
        slot.misses = 0;
        if pos == NONE {
            self.heap_push(index, deadline);
            Ok(true)
        } else {
            self.heap_update(pos as usize, index, deadline);
            Ok(false)
        }
    }

    /// Removes the entity of `handle`; the handle is stale from now on.
    /// O(log n).
    pub fn unregister(&mut self, handle: Handle) -> Result<(), DeadlineError> {
        let index = handle.index() as u32;
        let slot = self.entity_mut(handle)?;
        let pos = slot.pos;
        slot.live = false;
        slot.gen = if slot.gen >= GEN_MAX {
            1
        } else {
            slot.gen.saturating_add(1)
        };
        slot.next_free = NONE;
        if pos != NONE {
            self.heap_remove(pos as usize);
        }
        match self.slots.get_mut(self.free_tail as usize) {
            Some(tail) => tail.next_free = index,
            None => self.free_head = index,
        }
        self.free_tail = index;
        self.len = self.len.saturating_sub(1);
        Ok(())
    }

    /// The state of the entity of `handle`, or `None` for a stale handle.
    pub fn state(&self, handle: Handle) -> Option<EntityState> {
        let slot = self.entity(handle)?;
        Some(EntityState {
            period_ns: slot.period,
            max_misses: slot.max_misses,
            deadline: slot.deadline,
            misses: slot.misses,
            dead: slot.pos == NONE,
            last_beat: slot.last_beat,
        })
    }

    /// The handle of the entity in slot `index`, if one is registered
    /// there; walk `0..capacity()` to list all entities.
    pub fn handle_at(&self, index: usize) -> Option<Handle> {
        let slot = self.slots.get(index).filter(|s| s.live)?;
        Some(Handle::new(index as u32, slot.gen))
    }

    /// Reports every entity whose deadline is at or before `now`, in
    /// deadline order (then slot order), and schedules it for the first
    /// period boundary after `now`, or parks it when declared dead.
    /// Returns the number of reports; O((reports + 1) log n).
    pub fn expire(&mut self, now: u64, f: impl FnMut(Handle, Miss)) -> usize {
        self.expire_at_most(now, usize::MAX, f)
    }

    /// Like [`Self::expire`], but stops after `limit` reports, so that the
    /// work done in one timer callback is bounded; when it returns `limit`,
    /// [`Self::next_deadline`] may still be at or before `now`.
    pub fn expire_at_most(
        &mut self,
        now: u64,
        limit: usize,
        mut f: impl FnMut(Handle, Miss),
    ) -> usize {
        let now = now.min(LAST_NOW);
        let mut reports = 0;
        while reports < limit && self.heap_len > 0 {
            let Some(&Slot {
                heap_key: deadline,
                heap_ent: index,
                ..
            }) = self.slots.first()
            else {
                break;
            };
            if deadline > now {
                break;
            }
            let Some(slot) = self.slots.get_mut(index as usize) else {
                break;
            };
            // Never 0 (registration checks it); 1 would still make progress.
            let period = slot.period.max(1);
            // Period boundaries at or before `now`: deadline + k * period
            // for k in 0..missed.
            let missed = now
                .saturating_sub(deadline)
                .checked_div(period)
                .unwrap_or(0)
                .saturating_add(1);
            let misses = slot
                .misses
                .saturating_add(u32::try_from(missed).unwrap_or(u32::MAX));
            let declared_dead = misses >= slot.max_misses;
            slot.misses = misses;
            let handle = Handle::new(index, slot.gen);
            if declared_dead {
                self.heap_remove(0);
            } else {
                // Greater than `now`, even when saturated.
                let next = deadline.saturating_add(missed.saturating_mul(period));
                slot.deadline = next;
                self.sift_down(0, index, next);
            }
            f(
                handle,
                Miss {
                    deadline,
                    misses,
                    declared_dead,
                    late_ns: now.saturating_sub(deadline),
                },
            );
            reports = reports.saturating_add(1);
        }
        reports
    }

    fn entity(&self, handle: Handle) -> Option<&Slot> {
        self.slots
            .get(handle.index())
            .filter(|s| s.live && s.gen == handle.gen())
    }

    fn entity_mut(&mut self, handle: Handle) -> Result<&mut Slot, DeadlineError> {
        self.slots
            .get_mut(handle.index())
            .filter(|s| s.live && s.gen == handle.gen())
            .ok_or(DeadlineError::BadHandle)
    }

    /// The element at heap position `pos`: (deadline, entity index).
    fn heap_at(&self, pos: usize) -> Option<(u64, u32)> {
        self.slots.get(pos).map(|s| (s.heap_key, s.heap_ent))
    }

    /// Puts entity `ent` with deadline `key` at heap position `pos`.
    fn heap_set(&mut self, pos: usize, ent: u32, key: u64) {
        if let Some(s) = self.slots.get_mut(pos) {
            s.heap_key = key;
            s.heap_ent = ent;
        }
        if let Some(s) = self.slots.get_mut(ent as usize) {
            s.pos = pos as u32;
        }
    }

    fn heap_push(&mut self, ent: u32, key: u64) {
        let pos = self.heap_len as usize;
        if pos >= self.slots.len() {
            return;
        }
        self.heap_len = self.heap_len.saturating_add(1);
        self.sift_up(pos, ent, key);
    }

    /// Gives the entity at heap position `pos` deadline `key`.
    fn heap_update(&mut self, pos: usize, ent: u32, key: u64) {
        match self.heap_at(pos) {
            Some(old) if (key, ent) < old => self.sift_up(pos, ent, key),
            _ => self.sift_down(pos, ent, key),
        }
    }

    /// Removes the element at heap position `pos` and parks its entity.
    fn heap_remove(&mut self, pos: usize) {
        let Some(last) = (self.heap_len as usize).checked_sub(1) else {
            return;
        };
        let (Some((_, ent)), Some((last_key, last_ent))) = (self.heap_at(pos), self.heap_at(last))
        else {
            return;
        };
        self.heap_len = self.heap_len.saturating_sub(1);
        if let Some(s) = self.slots.get_mut(ent as usize) {
            s.pos = NONE;
        }
        if pos != last {
            self.heap_update(pos, last_ent, last_key);
        }
    }

    /// Places (`key`, `ent`) at `pos` or above, moving larger parents down.
    fn sift_up(&mut self, mut pos: usize, ent: u32, key: u64) {
        while pos > 0 {
            let parent = pos.saturating_sub(1) / 2;
            let Some((pkey, pent)) = self.heap_at(parent) else {
                break;
            };
            if (pkey, pent) <= (key, ent) {
                break;
            }
            self.heap_set(pos, pent, pkey);
            pos = parent;
        }
        self.heap_set(pos, ent, key);
    }

    /// Places (`key`, `ent`) at `pos` or below, moving smaller children up.
    fn sift_down(&mut self, mut pos: usize, ent: u32, key: u64) {
        let len = self.heap_len as usize;
        loop {
            let left = pos.saturating_mul(2).saturating_add(1);
            let right = left.saturating_add(1);
            if left >= len {
                break;
            }
            let Some(mut child) = self.heap_at(left) else {
                break;
            };
            let mut cpos = left;
            if right < len {
                if let Some(r) = self.heap_at(right) {
                    if r < child {
                        child = r;
                        cpos = right;
                    }
                }
            }
            if (key, ent) <= child {
                break;
            }
            self.heap_set(pos, child.1, child.0);
            pos = cpos;
        }
        self.heap_set(pos, ent, key);
    }
}
