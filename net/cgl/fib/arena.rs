// SPDX-License-Identifier: GPL-2.0

//! Kernel storage of the LPM trie ([`super::lpm`]): arenas of slots that
//! never move, freed after an RCU grace period.
//!
//! An arena is a directory of chunks of `CHUNK` slots, each chunk a
//! `vmalloc` allocation made when the arena grows and kept until the arena
//! is dropped, so a published slot stays at the same address while readers
//! may see it. Blocks are runs of consecutive indexes (they may span
//! chunks: every access goes through the index).
//!
//! Freed blocks go to free lists by size class (powers of two and 1.5
//! times them), linked through their first slot. Retired blocks (unpublished, but readers may still be reading
//! them) wait in a FIFO with the RCU grace-period cookie of their
//! retirement and join the free lists once `poll_state_synchronize_rcu()`
//! says the grace period has passed. Nothing here blocks, but for when
//! the FIFO cannot grow (`GFP_NOWAIT`): then one `synchronize_rcu()`
//! frees everything retired so far at once.
//!
//! Locking: every method but [`ArenaRead::get`] runs under the module's
//! writer mutex. `get` runs under `rcu_read_lock()` or the writer mutex;
//! it reads the chunk count with acquire ordering and slots with acquire
//! loads, which pair with the release stores of `publish`.

use core::marker::PhantomData;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kernel::bindings;
use kernel::prelude::*;

use super::lpm::{AllocError, Arena, ArenaRead, DIR_BLOCK_WORDS, DIR_PAGE_WORDS};

/// log2 of the slots in a chunk.
const CHUNK_SHIFT: u32 = 16;
/// Slots in a chunk.
const CHUNK: u32 = 1 << CHUNK_SHIFT;
/// Largest block recycled through the free lists: 32 child nodes of 17
/// words (the trie's biggest); larger blocks are never freed but by drop.
const MAX_BLOCK: u32 = 32 * 17;
/// "No block" in a free list.
const NONE: u32 = u32::MAX;
/// Size classes: 1, 2, 3, 4, 6, 8, 12, ... (powers of two and 1.5 times
/// them), up to `MAX_BLOCK`. A block takes the smallest class that holds
/// it, so a freed block serves the next request of any size in its class:
/// blocks that grow by one slot per update (result blocks during a load)
/// then reuse each other's memory instead of piling up.
const CLASSES: usize = 2 * 10 + 2;
/// The free lists after the size classes: blocks of exactly
/// `DIR_BLOCK_WORDS` slots (IPv4 accelerator tables, made and dropped as
/// FIBs grow and shrink), then of exactly `DIR_PAGE_WORDS` (IPv6 tables'
/// tops and pages).
const BIG: usize = CLASSES;
/// Free lists in all.
const LISTS: usize = CLASSES + 2;

/// The free list and size of a block of `n` slots, `None` for a big block
/// of no list (made once, never recycled).
fn list_of(n: u32) -> Option<(usize, u32)> {
    match n {
        0 => None,
        DIR_BLOCK_WORDS => Some((BIG, n)),
        DIR_PAGE_WORDS => Some((BIG + 1, n)),
        n if n <= MAX_BLOCK => Some(class_of(n)),
        _ => None,
    }
}

/// The class index and size of a block of `n` slots (`1..=MAX_BLOCK`).
fn class_of(n: u32) -> (usize, u32) {
    let mut size = 1u32;
    let mut i = 0usize;
    while size < n {
        // 1 -> 2 -> 3 -> 4 -> 6 -> 8 -> 12 -> 16 ...
        size = if size >= 2 && size.is_power_of_two() {
            size + size / 2
        } else if size >= 3 {
            size / 3 * 4
        } else {
            size + 1
        };
        i += 1;
    }
    (i, size)
}

/// A slot type with an atomic twin of the same layout.
pub(crate) trait Slot: Copy + Default + 'static {
    /// Reads with acquire ordering.
    ///
    /// # Safety
    ///
    /// `p` must be valid and aligned.
    unsafe fn load(p: *mut Self) -> Self;
    /// Writes with release ordering.
    ///
    /// # Safety
    ///
    /// `p` must be valid and aligned.
    unsafe fn store(p: *mut Self, v: Self);
    /// Free-list link stored in a free block's first slot.
    fn from_link(l: u32) -> Self;
    /// Inverse of [`Slot::from_link`].
    fn to_link(self) -> u32;
}

impl Slot for u64 {
    unsafe fn load(p: *mut Self) -> Self {
        // SAFETY: the caller guarantees `p` is valid and aligned.
        unsafe { AtomicU64::from_ptr(p) }.load(Ordering::Acquire)
    }
    unsafe fn store(p: *mut Self, v: Self) {
        // SAFETY: as above.
        unsafe { AtomicU64::from_ptr(p) }.store(v, Ordering::Release)
    }
    fn from_link(l: u32) -> Self {
        u64::from(l)
    }
    fn to_link(self) -> u32 {
        self as u32
    }
}

impl Slot for u32 {
    unsafe fn load(p: *mut Self) -> Self {
        // SAFETY: the caller guarantees `p` is valid and aligned.
        unsafe { AtomicU32::from_ptr(p) }.load(Ordering::Acquire)
    }
    unsafe fn store(p: *mut Self, v: Self) {
        // SAFETY: as above.
        unsafe { AtomicU32::from_ptr(p) }.store(v, Ordering::Release)
    }
    fn from_link(l: u32) -> Self {
        l
    }
    fn to_link(self) -> u32 {
        self
    }
}

/// A block waiting for a grace period.
#[derive(Clone, Copy)]
struct Retired {
    base: u32,
    n: u32,
    cookie: usize,
}

/// Slots of type `T` in chunks that never move.
pub(crate) struct KArena<T: Slot> {
    /// Chunk pointers; the capacity is fixed at creation, so the buffer
    /// never moves and readers index it without a lock.
    dir: KVec<*mut T>,
    /// Chunks in `dir` readers may use (published with release). Boxed:
    /// an [`ArenaView`] reads it while the writer holds `&mut self`.
    nchunks: KBox<AtomicUsize>,
    /// First never-used slot.
    top: u32,
    /// Free lists by size class ([`class_of`]).
    free: KVec<u32>,
    /// Retired blocks, oldest first, from `retired_head` on.
    retired: KVec<Retired>,
    retired_head: usize,
    /// Slots in use (allocated and not yet freed).
    used: u64,
    /// Blocks leaked because memory to remember them ran out.
    leaked: u64,
    /// Slots in retired blocks still waiting for their grace period.
    retired_slots: u64,
    _t: PhantomData<T>,
}

// SAFETY: the chunks are plain memory owned by the arena; all mutation is
// serialised by the module's writer mutex and reads are atomic.
unsafe impl<T: Slot> Send for KArena<T> {}
// SAFETY: as above.
unsafe impl<T: Slot> Sync for KArena<T> {}

impl<T: Slot> KArena<T> {
    /// An arena of at most `max_slots` slots (rounded up to whole chunks).
    pub(crate) fn new(max_slots: u32) -> Result<Self> {
        let chunks = max_slots.div_ceil(CHUNK).max(1) as usize;
        let mut free = KVec::with_capacity(LISTS, GFP_KERNEL)?;
        free.extend_with(LISTS, NONE, GFP_KERNEL)?;
        Ok(Self {
            dir: KVec::with_capacity(chunks, GFP_KERNEL)?,
            nchunks: KBox::new(AtomicUsize::new(0), GFP_KERNEL)?,
            top: 0,
            free,
            retired: KVec::new(),
            retired_head: 0,
            used: 0,
            leaked: 0,
            retired_slots: 0,
            _t: PhantomData,
        })
    }

    /// Bytes of chunk memory held.
    pub(crate) fn bytes(&self) -> u64 {
        self.dir.len() as u64 * u64::from(CHUNK) * core::mem::size_of::<T>() as u64
    }

    /// Slots in use.
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    /// Blocks that could not be recycled.
    pub(crate) fn leaked(&self) -> u64 {
        self.leaked
    }

    fn slot_ptr(&self, idx: u32) -> Option<*mut T> {
        let c = (idx >> CHUNK_SHIFT) as usize;
        if c >= self.nchunks.load(Ordering::Acquire) {
            return None;
        }
        let chunk = *self.dir.get(c)?;
        // SAFETY: chunk `c` has `CHUNK` slots and `idx & (CHUNK - 1)` is
        // below that.
        Some(unsafe { chunk.add((idx & (CHUNK - 1)) as usize) })
    }

    /// A read handle for lock-free readers (the forwarding path).
    pub(crate) fn view(&self) -> ArenaView<T> {
        ArenaView {
            dir: self.dir.as_ptr(),
            cap: self.dir.capacity(),
            nchunks: &*self.nchunks,
        }
    }

    /// Makes slots `0..end` addressable (for tables indexed by id rather
    /// than allocated by block), growing by whole chunks.
    pub(crate) fn grow_to(&mut self, end: u32) -> Result<(), AllocError> {
        while end > 0 && ((end - 1) >> CHUNK_SHIFT) as usize >= self.dir.len() {
            self.grow()?;
        }
        self.top = self.top.max(end);
        Ok(())
    }

    fn grow(&mut self) -> Result<(), AllocError> {
        if self.dir.len() >= self.dir.capacity() {
            return Err(AllocError);
        }
        let v = VVec::<T>::from_elem(T::default(), CHUNK as usize, GFP_KERNEL)
            .map_err(|_| AllocError)?;
        let (p, _, _) = v.into_raw_parts();
        // Within capacity: the buffer does not move.
        if self.dir.push(p, GFP_KERNEL).is_err() {
            // SAFETY: `p` came from `into_raw_parts` of a `VVec` of
            // `CHUNK` elements just above.
            drop(unsafe { VVec::from_raw_parts(p, CHUNK as usize, CHUNK as usize) });
            return Err(AllocError);
        }
        self.nchunks.store(self.dir.len(), Ordering::Release);
        Ok(())
    }

    /// Moves retired blocks whose grace period is over to the free lists.
    pub(crate) fn reclaim(&mut self) {
        self.recycle(false);
    }

    /// Moves retired blocks to the free lists, oldest first: all of them
    /// if `all` (a grace period started after the last was retired is
    /// over), else those whose grace period is over.
    fn recycle(&mut self, all: bool) {
        while let Some(r) = self.retired.get(self.retired_head).copied() {
            // SAFETY: plain query of RCU state.
            if !all && !unsafe { bindings::poll_state_synchronize_rcu(r.cookie as _) } {
                break;
            }
            self.retired_head += 1;
            self.retired_slots = self.retired_slots.saturating_sub(u64::from(r.n));
            self.push_free(r.base, r.n);
        }
        // Under a steady stream of updates (a bulk load on SMP) some
        // retired blocks are always waiting, so the FIFO is rarely empty:
        // once half of it is done, move the rest to the front, or it
        // would grow with every update ever made.
        let len = self.retired.len();
        let head = self.retired_head;
        if head > 0 && head >= len / 2 {
            self.retired.copy_within(head..len, 0);
            // SAFETY: `Retired` is `Copy` (nothing to drop) and
            // `len - head` entries were just moved to the front.
            unsafe { self.retired.set_len(len - head) };
            self.retired_head = 0;
        }
    }

    /// Makes room to retire `n` more blocks without allocating.
    pub(crate) fn reserve_retire(&mut self, n: usize) -> Result {
        self.retired.reserve(n, GFP_KERNEL)?;
        Ok(())
    }

    /// Starts a grace period for what was retired, so [`KArena::reclaim`]
    /// can recycle it later.
    pub(crate) fn kick(&self) {
        if self.retired.len() > self.retired_head {
            // SAFETY: plain RCU call from process context.
            unsafe { bindings::start_poll_synchronize_rcu() };
        }
    }

    fn push_free(&mut self, base: u32, n: u32) {
        let Some((class, size)) = list_of(n) else {
            self.leaked += 1;
            return;
        };
        let Some(head) = self.free.get_mut(class) else {
            self.leaked += 1;
            return;
        };
        let old = *head;
        *head = base;
        if let Some(p) = self.slot_ptr(base) {
            // SAFETY: `p` is a slot of a block nobody reads any more.
            unsafe { T::store(p, T::from_link(old)) };
        }
        self.used = self.used.saturating_sub(u64::from(size));
    }
}

/// Reads an arena's slots without the writer mutex: under
/// `rcu_read_lock()` (softirq counts), while the arena lives. The module
/// keeps views only in state it drops after the arenas' last reader is
/// gone (rx handlers unregistered, `synchronize_net()`).
pub(crate) struct ArenaView<T: Slot> {
    /// The directory's buffer: its capacity is fixed at creation, so it
    /// never moves; entries below `nchunks` are written before `nchunks`
    /// is raised (release) and never change afterwards.
    dir: *const *mut T,
    cap: usize,
    nchunks: *const AtomicUsize,
}

// SAFETY: a view only reads memory the arena keeps in place (atomically
// for slots and the chunk count); see the type's documentation.
unsafe impl<T: Slot> Send for ArenaView<T> {}
// SAFETY: as above.
unsafe impl<T: Slot> Sync for ArenaView<T> {}

impl<T: Slot> ArenaRead<T> for ArenaView<T> {
    #[inline]
    fn get(&self, idx: u32) -> Option<T> {
        let c = (idx >> CHUNK_SHIFT) as usize;
        // SAFETY: `nchunks` points into the arena's box, alive as long as
        // the view (type contract).
        let n = unsafe { (*self.nchunks).load(Ordering::Acquire) };
        if c >= n || c >= self.cap {
            return None;
        }
        // SAFETY: `c` is below the published chunk count, so entry `c` of
        // the fixed directory buffer was written before that count was
        // released, and the acquire load above orders this read after it.
        let chunk = unsafe { *self.dir.add(c) };
        // SAFETY: chunk `c` has `CHUNK` slots, the index is below that, and
        // slots are read atomically.
        Some(unsafe { T::load(chunk.add((idx & (CHUNK - 1)) as usize)) })
    }
}

impl<T: Slot> Drop for KArena<T> {
    fn drop(&mut self) {
        for &p in self.dir.iter() {
            // SAFETY: every chunk pointer came from a `VVec` of `CHUNK`
            // elements; readers are gone (the module waited for RCU).
            drop(unsafe { VVec::from_raw_parts(p, CHUNK as usize, CHUNK as usize) });
        }
    }
}

impl<T: Slot> ArenaRead<T> for KArena<T> {
    #[inline]
    fn get(&self, idx: u32) -> Option<T> {
        // SAFETY: `slot_ptr` returns valid, aligned slot pointers.
        self.slot_ptr(idx).map(|p| unsafe { T::load(p) })
    }

    #[inline]
    fn prefetch(&self, idx: u32) {
        if let Some(p) = self.slot_ptr(idx) {
            // SAFETY: a prefetch of a valid slot; it reads nothing that
            // the program sees.
            unsafe { bindings::cgl_fib_prefetch(p.cast()) };
        }
    }
}

impl<T: Slot> Arena<T> for KArena<T> {
    fn try_alloc(&mut self, n: u32) -> Result<u32, AllocError> {
        if n == 0 {
            return Err(AllocError);
        }
        // Small blocks are recycled by size class, accelerator tables and
        // pages by lists of their own; other big ones (the FIB table, made
        // once) come from the top at their exact size.
        let (class, size) = list_of(n).unwrap_or((LISTS, n));
        let head = self.free.get(class).copied().unwrap_or(NONE);
        if head != NONE {
            let p = self.slot_ptr(head).ok_or(AllocError)?;
            // SAFETY: `head` is a free block's first slot.
            let next = unsafe { T::load(p) }.to_link();
            if let Some(h) = self.free.get_mut(class) {
                *h = next;
            }
            self.used += u64::from(size);
            return Ok(head);
        }
        // A fresh block from the top. Slots are reached by index, so a
        // block may span chunks.
        let base = self.top;
        let end = base.checked_add(size).ok_or(AllocError)?;
        let beyond = ((end - 1) >> CHUNK_SHIFT) as usize >= self.dir.len();
        if beyond && self.retired_slots >= 4 * u64::from(CHUNK) {
            // Four chunks' worth wait for grace periods (on SMP a bulk load
            // outruns them): chunks are never given back, so wait for
            // the oldest of those periods and recycle rather than grow.
            if let Some(r) = self.retired.get(self.retired_head).copied() {
                // SAFETY: process context (this path may already sleep
                // in `grow`); the writer mutex is a sleeping lock.
                unsafe { bindings::cond_synchronize_rcu(r.cookie as _) };
                self.reclaim();
                if self.free.get(class).copied().unwrap_or(NONE) != NONE {
                    return self.try_alloc(n);
                }
            }
        }
        while ((end - 1) >> CHUNK_SHIFT) as usize >= self.dir.len() {
            self.grow()?;
        }
        self.top = end;
        self.used += u64::from(size);
        Ok(base)
    }

    fn set(&mut self, idx: u32, v: T) -> bool {
        match self.slot_ptr(idx) {
            Some(p) => {
                // SAFETY: `p` is a valid slot; the writer mutex is held.
                unsafe { T::store(p, v) };
                true
            }
            None => false,
        }
    }

    fn free(&mut self, base: u32, n: u32) {
        self.push_free(base, n);
    }

    fn copy(&mut self, src: u32, dst: u32, n: u32) -> bool {
        let within = |i: u32| (i & (CHUNK - 1)).checked_add(n).is_some_and(|e| e <= CHUNK);
        if n == 0 {
            return true;
        }
        if within(src) && within(dst) {
            if let (Some(s), Some(d)) = (self.slot_ptr(src), self.slot_ptr(dst)) {
                // SAFETY: both runs lie inside one chunk each (checked
                // above) and do not overlap (the trie's contract). The
                // source may be read by RCU readers at the same time, which
                // is fine for a read; the destination is not published yet,
                // and the release store that publishes it orders these
                // writes before it.
                unsafe { core::ptr::copy_nonoverlapping(s, d, n as usize) };
                return true;
            }
        }
        for i in 0..n {
            let (Some(a), Some(b)) = (src.checked_add(i), dst.checked_add(i)) else {
                return false;
            };
            match self.get(a) {
                Some(v) if self.set(b, v) => {}
                _ => return false,
            }
        }
        true
    }

    fn retire(&mut self, base: u32, n: u32) {
        // SAFETY: plain query of RCU state.
        let cookie = unsafe { bindings::get_state_synchronize_rcu() } as usize;
        if self
            .retired
            .push(Retired { base, n, cookie }, GFP_NOWAIT)
            .is_ok()
        {
            self.retired_slots += u64::from(n);
        } else {
            // Nowhere to remember it: wait for every reader once; then
            // this block and all those retired before it are free. (One
            // wait per block made deleting a 1M-route FIB on SMP take
            // hours; this is one wait per FIFO's worth of blocks.)
            // SAFETY: process context, the writer mutex is a sleeping lock.
            unsafe { bindings::synchronize_rcu() };
            self.recycle(true);
            self.push_free(base, n);
        }
    }
}
