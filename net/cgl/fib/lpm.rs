// SPDX-License-Identifier: GPL-2.0

//! Longest-prefix match for the multi-FIB module: a Tree-Bitmap trie.
//!
//! What: routes keyed by (FIB id, prefix) map to a `u32` nexthop index;
//! [`Lpm::lookup`] returns the nexthop of the longest prefix of a FIB that
//! covers an address. One generic implementation serves IPv4 (`u32` keys)
//! and IPv6 (`u128` keys) through [`Key`]. Only `core` is used: the file is
//! built into the kernel module and, unchanged, into the host test crate.
//! [`Lpm::lookup_route`] also returns the matched prefix length,
//! [`Lpm::walk`] visits a FIB's routes in order and resumes after any
//! route (netlink dumps), [`Lpm::delete_fib`] drops a whole FIB at once.
//!
//! A FIB with many routes also gets a lookup accelerator ([`Lpm::flush`],
//! [`Lpm::set_accel_threshold`]): a Poptrie-style compiled copy (a direct
//! table on the first [`Key::DIR_BITS`] bits, then 64-ary popcount nodes
//! with leaf pushing) that [`Lpm::lookup`] and [`Reader::lookup`] use, rebuilt
//! per direct-table entry from the Tree Bitmap after updates; see the
//! accelerator section below.
//!
//! Why Tree Bitmap with stride 8: every prefix is stored exactly once (no
//! leaf pushing), so an update touches one node and one result block, and
//! four levels cover an IPv4 address. An IPv4 lookup makes at most six
//! dependent memory accesses: FIB slot, nodes at depth 0, 8, 16 and 24, and
//! one result read at the end (stride 6 would need six node levels).
//!
//! Design:
//! - A node at depth `d` (a multiple of 8) holds prefixes of length
//!   `d+1 ..= d+8` (the root also holds `/0`): lengths `d+1 ..= d+7` in a
//!   256-bit "internal" bitmap in heap order (bit `(1 << j) | top j bits`),
//!   length `d+8` in a 256-bit "full" bitmap indexed by the next 8 key bits,
//!   children at depth `d+8` in eight 32-slot groups. Each group is one
//!   64-bit word: child bitmap (low half) and the index of the contiguous
//!   block of its children (high half), so adding, removing or replacing a
//!   child is published with a single 64-bit store. A node is 17 words
//!   (136 bytes); its results are a contiguous block of `u32` nexthops
//!   ranked by popcount (internal prefixes first, then full ones).
//! - A child block whose nodes all lack children (most IPv4 nodes at
//!   depth 16, holding /17../24) stores them without their group words,
//!   9 words (72 bytes) each; bit 31 of the block index in the group word
//!   (`R_LEAF`) says so, and node references carry the same bit. A node
//!   of such a block that gains a child moves the block to full nodes,
//!   in the same copy that publishes the change. Roots are always full.
//! - FIB ids select a per-FIB root through a fixed-capacity open-addressing
//!   table (one word per slot: FIB id and root index). Prepending the FIB
//!   id to the key would cost four more levels; a map keeps lookups at one
//!   extra access and an empty FIB at one slot (8 bytes, at most 16 with
//!   the table's slack) plus nothing else; a FIB with routes has a 136-byte
//!   root node. Slots are never moved, so readers need no lock.
//! - Updates are copy-on-write: the writer allocates and fills new blocks,
//!   makes them reachable with exactly one [`Arena::publish`] (a FIB slot,
//!   a parent's group word, or a result for a replace), then hands the old
//!   blocks to [`Arena::retire`] (call_rcu / kfree_rcu in the kernel). All
//!   allocation happens before the publish, so a failed allocation frees
//!   what was taken and leaves the trie unchanged.
//! - Storage is two arenas behind the [`Arena`] trait (node words and
//!   results) that the caller provides; readers need only [`ArenaRead`].
//! - A walk is a pre-order traversal: in a node, slot by slot, the
//!   internal prefixes that start at the slot (shortest first), the full
//!   prefix, then the child's subtree; that is (prefix, length) order. An
//!   explicit stack of at most 17 frames holds, per node, the next
//!   position to visit, so resuming descends once along the cursor and
//!   finds each next item with a find-next-set-bit over a 256-bit map.

use core::marker::PhantomData;

/// Bits of key consumed per trie level.
const STRIDE: u32 = 8;
/// Words (`u64`) per node.
pub const NODE_WORDS: u32 = 17;
/// Word 0: result block index (low 32 bits), internal prefix count (32..48).
const W_META: u32 = 0;
/// Words 1..5: internal bitmap (heap order, bit 0 unused, bit 1 is `/d`).
const W_INT: u32 = 1;
/// Words 5..9: full bitmap (prefixes of length `d + 8`).
const W_FULL: u32 = 5;
/// Words 9..17: child groups (bitmap of 32 slots | block reference << 32).
const W_GRP: u32 = 9;
/// Words of a node stored without children: words 0..9 only.
const LEAF_WORDS: u32 = W_GRP;
/// Node (or child block) reference flag: stored without children, in
/// [`LEAF_WORDS`] words (a block: every node in it). The low 31 bits are
/// the arena index.
const R_LEAF: u32 = 1 << 31;
/// Largest index the arenas may hand out (tags in FIB slots need two;
/// references need bit 31).
const MAX_INDEX: u32 = R_LEAF - 4;
/// FIB slot tag: never used (end of a probe sequence).
const TAG_UNUSED: u32 = 0;
/// FIB slot tag: the FIB has no routes (slot reusable by another FIB id).
const TAG_EMPTY: u32 = 1;
/// Largest FIB table capacity accepted by [`Lpm::new`].
pub const MAX_FIBS: u32 = 1 << 20;
/// Most allocations one update makes (a 16-level chain plus two blocks).
const MAX_ALLOCS: usize = 20;

/// An arena could not provide the memory asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocError;

/// Read access to arena slots; all a lookup needs.
///
/// A kernel implementation reads with `READ_ONCE` semantics so that a
/// reader racing with the writer sees either the old or the new value.
pub trait ArenaRead<T: Copy> {
    /// The value in slot `idx`, or `None` if `idx` is not a valid slot.
    fn get(&self, idx: u32) -> Option<T>;
    /// Hints that slot `idx` is about to be read (a cache prefetch); it
    /// has no other effect, and an invalid `idx` is ignored. The default
    /// does nothing.
    #[inline(always)]
    fn prefetch(&self, _idx: u32) {}
}

/// Storage of fixed-size slots handed out in runs of consecutive indexes.
///
/// The trie never moves a published slot: an implementation must keep the
/// memory of every slot stable until it is freed (no reallocation that
/// moves live slots while readers run).
pub trait Arena<T: Copy>: ArenaRead<T> {
    /// Reserves `n` (at least 1) consecutive slots and returns the index of
    /// the first. Their contents are unspecified; the trie writes them all
    /// before publishing. Must fail rather than sleep in atomic context if
    /// the kernel implementation requires it.
    fn try_alloc(&mut self, n: u32) -> Result<u32, AllocError>;
    /// Writes a slot no reader can reach yet. Returns `false` if `idx` is
    /// not a valid slot.
    fn set(&mut self, idx: u32, v: T) -> bool;
    /// Writes a slot readers may be reading: the single store that makes
    /// an update visible. Kernel: `smp_store_release`. Returns `false` if
    /// `idx` is not a valid slot.
    fn publish(&mut self, idx: u32, v: T) -> bool {
        self.set(idx, v)
    }
    /// Frees `n` slots from `base` that were never published (rollback of
    /// a failed update). May reuse them at once.
    fn free(&mut self, base: u32, n: u32);
    /// Copies `n` slots from `src` (live or not) to `dst` (not yet
    /// published); the ranges do not overlap. Returns `false` if a range
    /// is not valid. Override with a `memcpy` for speed.
    fn copy(&mut self, src: u32, dst: u32, n: u32) -> bool {
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
    /// Frees `n` slots from `base` that readers may still be reading, once
    /// every reader that might have seen them is done (RCU grace period).
    fn retire(&mut self, base: u32, n: u32);
}

/// Errors of trie operations. A failed operation changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpmError {
    /// Prefix length larger than the key width.
    BadLength,
    /// Bits beyond the prefix length are set.
    HostBits,
    /// Insert of a prefix that is already present.
    Exists,
    /// Delete or replace of a prefix that is not present.
    NotFound,
    /// An arena allocation failed.
    NoMemory,
    /// Every FIB table slot holds a FIB with routes.
    FibTableFull,
    /// FIB table capacity zero or above [`MAX_FIBS`].
    BadCapacity,
    /// An arena returned no value for an index the trie holds.
    Corrupt,
    /// Nexthop above [`MAX_NEXTHOP`].
    BadNexthop,
}

/// Key types: unsigned integers whose most significant bit is the first
/// address bit (`u32` for IPv4, `u128` for IPv6).
pub trait Key: Copy + Eq + core::fmt::Debug {
    /// Width of the key in bits (a multiple of 8).
    const BITS: u32;
    /// The 8 bits that start `depth` bits from the top (0 past the end).
    fn chunk(self, depth: u32) -> u32;
    /// Whether all bits after the first `len` are zero.
    fn host_bits_clear(self, len: u32) -> bool;
    /// The all-zero key.
    const ZERO: Self;
    /// The first `len` bits of `self`, the rest cleared (the prefix of
    /// length `len` that covers `self`; all of `self` if `len >= BITS`).
    fn mask(self, len: u32) -> Self;
    /// The first `depth` bits of `self`, then the 8 bits of `c` (its low
    /// byte), then zeros (`self.mask(depth)` if `depth >= BITS`).
    fn with_chunk(self, depth: u32, c: u32) -> Self;
    /// The `n` (1..=32) bits that start `depth` bits from the top, bits
    /// past the end of the key read as 0.
    fn bits(self, depth: u32, n: u32) -> u32;
    /// The first `depth` bits of `self`, then the `n` low bits of `c`,
    /// then zeros (bits of `c` past the end of the key are dropped).
    fn with_bits(self, depth: u32, n: u32, c: u32) -> Self;
    /// Key bits an accelerator's direct table resolves: its region roots
    /// sit at this depth.
    const DIR_BITS: u32;
    /// Key bits of the first level of a two-level direct table (0: one
    /// level of `DIR_BITS`). Either is 0 or 12..=24.
    const TOP_BITS: u32;
    /// The first 64 bits of the key (IPv4: the address, then zeros).
    fn high64(self) -> u64;
}

impl Key for u32 {
    const BITS: u32 = 32;
    const DIR_BITS: u32 = 18;
    const TOP_BITS: u32 = 0;
    #[inline(always)]
    fn chunk(self, depth: u32) -> u32 {
        self.checked_shr(24u32.wrapping_sub(depth)).unwrap_or(0) & 0xff
    }
    fn host_bits_clear(self, len: u32) -> bool {
        self.checked_shl(len).unwrap_or(0) == 0
    }
    const ZERO: Self = 0;
    #[inline(always)]
    fn mask(self, len: u32) -> Self {
        self & u32::MAX.checked_shl(32u32.saturating_sub(len)).unwrap_or(0)
    }
    #[inline(always)]
    fn with_chunk(self, depth: u32, c: u32) -> Self {
        self.mask(depth)
            | (c & 0xff)
                .checked_shl(24u32.wrapping_sub(depth))
                .unwrap_or(0)
    }
    #[inline(always)]
    fn high64(self) -> u64 {
        (self as u64) << 32
    }
    #[inline(always)]
    fn bits(self, depth: u32, n: u32) -> u32 {
        let x = ((self as u64) << 32).checked_shl(depth).unwrap_or(0);
        x.checked_shr(64u32.wrapping_sub(n)).unwrap_or(0) as u32
    }
    #[inline(always)]
    fn with_bits(self, depth: u32, n: u32, c: u32) -> Self {
        let c = (c as u64) & (u64::MAX >> 64u32.saturating_sub(n));
        let sh = 64u32.wrapping_sub(depth).wrapping_sub(n);
        self.mask(depth) | (c.checked_shl(sh).unwrap_or(0) >> 32) as u32
    }
}

impl Key for u128 {
    const BITS: u32 = 128;
    // IPv6 routes sit in a few /12s (2001::/12, 2400::/12, 2a00::/12 and
    // the like): a two-level table reaches depth 24, where a /48 is four
    // accelerator levels down, with pages only where routes are.
    const DIR_BITS: u32 = 24;
    const TOP_BITS: u32 = 12;
    #[inline(always)]
    fn chunk(self, depth: u32) -> u32 {
        (self.checked_shr(120u32.wrapping_sub(depth)).unwrap_or(0) & 0xff) as u32
    }
    fn host_bits_clear(self, len: u32) -> bool {
        self.checked_shl(len).unwrap_or(0) == 0
    }
    const ZERO: Self = 0;
    #[inline(always)]
    fn mask(self, len: u32) -> Self {
        self & u128::MAX
            .checked_shl(128u32.saturating_sub(len))
            .unwrap_or(0)
    }
    #[inline(always)]
    fn with_chunk(self, depth: u32, c: u32) -> Self {
        self.mask(depth)
            | ((c & 0xff) as u128)
                .checked_shl(120u32.wrapping_sub(depth))
                .unwrap_or(0)
    }
    #[inline(always)]
    fn high64(self) -> u64 {
        (self >> 64) as u64
    }
    #[inline(always)]
    fn bits(self, depth: u32, n: u32) -> u32 {
        let x = self.checked_shl(depth).unwrap_or(0);
        x.checked_shr(128u32.wrapping_sub(n)).unwrap_or(0) as u32
    }
    #[inline(always)]
    fn with_bits(self, depth: u32, n: u32, c: u32) -> Self {
        let c = (c as u128) & (u128::MAX >> 128u32.saturating_sub(n));
        let end = depth.saturating_add(n);
        let v = if end <= 128 {
            c.checked_shl(128 - end).unwrap_or(0)
        } else {
            c >> (end - 128)
        };
        self.mask(depth) | v
    }
}

/// Internal-bitmap bits (word 0, heap indexes below 64) of the prefixes of
/// relative length 0..=5 that cover slot `s`, indexed by `s >> 3`.
const ANC0: [u64; 32] = {
    let mut t = [0u64; 32];
    let mut i = 0;
    while i < 32 {
        let s = (i as u32) << 3;
        let mut m = 0u64;
        let mut j = 0;
        while j < 6 {
            m |= 1u64 << ((1u32 << j) | (s >> (8 - j)));
            j += 1;
        }
        t[i] = m;
        i += 1;
    }
    t
};

/// Number of set bits of a 256-bit map below bit `b`.
#[inline(always)]
fn rank4(w: &[u64; 4], b: u32) -> u32 {
    let wi = (b >> 6) as usize;
    let mut r = 0;
    for (i, x) in w.iter().enumerate() {
        if i < wi {
            r += x.count_ones();
        } else if i == wi {
            r += (x & ((1u64 << (b & 63)) - 1)).count_ones();
        }
    }
    r
}

#[inline(always)]
fn bit4(w: &[u64; 4], b: u32) -> bool {
    match w.get((b >> 6) as usize) {
        Some(x) => (x >> (b & 63)) & 1 != 0,
        None => false,
    }
}

#[inline(always)]
fn fib_hash(fib: u32, mask: u32) -> u32 {
    fib.wrapping_mul(0x9e37_79b9).rotate_left(16) & mask
}

/// What a lookup needs besides the arenas; `Copy`, so the kernel can hand
/// it to readers that hold their own read handles to the same arenas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader<K: Key> {
    fib_base: u32,
    fib_mask: u32,
    _k: PhantomData<K>,
}

/// Keys per chunk of [`Reader::lookup_burst`] (one bit each in a `u64`).
pub const BURST: usize = 64;
const _: () = assert!(BURST <= 64);

/// FIB table index and root node index of `fib`, if it has routes.
#[inline(always)]
fn find_slot<N: ArenaRead<u64>>(nodes: &N, base: u32, mask: u32, fib: u32) -> Option<(u32, u32)> {
    let mut i = fib_hash(fib, mask);
    let mut n = 0u32;
    while n <= mask {
        let at = base.wrapping_add(i << 1);
        let w = nodes.get(at)?;
        let tag = w as u32;
        if tag == TAG_UNUSED {
            return None;
        }
        if (w >> 32) as u32 == fib {
            return Some((at, tag.checked_sub(2)?));
        }
        i = (i + 1) & mask;
        n += 1;
    }
    None
}

/// Root node index of `fib`, if it has routes.
#[inline(always)]
fn find_root<N: ArenaRead<u64>>(nodes: &N, base: u32, mask: u32, fib: u32) -> Option<u32> {
    find_slot(nodes, base, mask, fib).map(|(_, r)| r)
}

// ---- Direct-pointing accelerator (read side) ----
//
// A FIB with many routes gets, on top of its Tree Bitmap, a read-only
// compiled copy built for lookups (Poptrie: Asai and Ohara, SIGCOMM
// 2015): a direct table indexed by the first `DIR_BITS` key bits (18
// for IPv4, 24 for IPv6), whose entry is either the answer (leaf-pushed)
// or a node of a 64-ary trie whose levels consume 6 bits each.
// IPv6's table has two levels of 12 bits: a top entry is a leaf for its
// whole /12, or the index of a page of 4,096 entries. Only a /12 with a
// route longer than /12 has a page, so the table costs 17 KiB plus 17
// KiB per such /12 (13 pages for the 2015 table) instead of the 64 MiB a
// flat 24-bit one would; the top is small enough to stay in L1, and a
// /48 is four nodes below a page entry instead of five below an 18-bit
// entry. A top entry marked dirty stands for its whole /12. A node is three words: the child
// bitmap, the leaf bitmap (a bit where a run of equal leaves starts),
// and the indexes of its contiguous child and leaf blocks; child and leaf
// are found by popcount. A region root without children (most of them:
// an IPv4 /18 holding only routes up to /24) is stored as one block
// instead, its leaf bitmap followed by its leaves, so its leaf is found
// from the root's index with no block index to load, often in the same
// cache line. A deeper node without children and with at most two leaf
// runs keeps them in its third word ([`inline_leaves`]): no leaf block.
// An IPv4 /24 takes the direct table and that block: three
// dependent loads with the FIB slot, against six for the Tree Bitmap.
//
// The Tree Bitmap stays the source of truth (updates, walks, exact gets,
// `lookup_route`); accelerator nodes are painted from its bitmaps. An
// update of a prefix longer than `DIR_BITS` rebuilds, at once, only the
// deepest accelerator node whose slots the prefix reaches (reusing that
// node's other children) and copies its parent's child block, published
// with one store of the parent's block word (the parent's child bitmap
// does not change), or of the direct entry for a region root. A prefix
// of `DIR_BITS + PSTRIDE` bits or fewer that spans slots of a region root
// without children changes only the spanned leaves that no route longer
// than it covers, to one value ([`Lpm::update_slots`]), in each entry it covers;
// a deeper node without children is spliced so too ([`Lpm::splice_pnode`]).
// When the runs stay as they were (a replace, mostly) the changed leaf
// words are published in place: nothing is allocated, so such a change
// never leaves an entry dirty for want of memory.
// Other entries that a prefix of at most `DIR_BITS` bits covers are marked
// dirty (readers then fall back to the Tree Bitmap for those addresses)
// and [`Lpm::flush`] rebuilds dirty entries, each published with one
// store. Whatever fails is left dirty: lookups stay right, only slower.
// An IPv6 /12 without a page gets one before a route longer than /12 is
// added in it (a page-less slot's one leaf must never hide such a
// route); with no memory for the page the whole /12 is marked dirty.
// Each page counts the routes longer than /12 in its /12 and goes with
// the last of them, its slot taking back one leaf.

/// Key bits per accelerator node.
const PSTRIDE: u32 = 6;

/// Layout of a direct-table block of `bits` entry bits (12..=24): the
/// entries, two 32-bit ones a word; a dirty bitmap, one bit per entry;
/// a summary, one bit per dirty bitmap word; one word that a page of a
/// two-level table keeps its route count in ([`Lpm::page_count`]).
/// Returns the word offsets of the bitmap and the summary, and the
/// block's size in words (the count is its last word).
const fn dir_layout(bits: u32) -> (u32, u32, u32) {
    let bm = 1 << (bits - 1);
    let sm = bm + (1 << (bits - 6));
    (bm, sm, sm + (1 << (bits - 12)) + 1)
}

/// Node-arena words of an IPv4 accelerator's direct table (18 bits:
/// entries, dirty bitmap, summary). Arenas should recycle blocks of
/// exactly this size.
pub const DIR_BLOCK_WORDS: u32 = dir_layout(<u32 as Key>::DIR_BITS).2;
/// Node-arena words of an IPv6 accelerator's top table and of each of
/// its pages (12 bits each). Arenas should recycle blocks of exactly
/// this size too.
pub const DIR_PAGE_WORDS: u32 = dir_layout(<u128 as Key>::TOP_BITS).2;
const _: () = assert!(
    <u128 as Key>::DIR_BITS - <u128 as Key>::TOP_BITS == <u128 as Key>::TOP_BITS
        && <u32 as Key>::TOP_BITS == 0
);

/// Entry bits of the block the FIB's accelerator word points to: the
/// whole direct table, or the top of a two-level one.
fn root_bits<K: Key>() -> u32 {
    if K::TOP_BITS == 0 {
        K::DIR_BITS
    } else {
        K::TOP_BITS
    }
}

/// Entry bits of a page of a two-level direct table.
fn page_bits<K: Key>() -> u32 {
    K::DIR_BITS - K::TOP_BITS
}

/// Entry `i` (two to a word) of the direct-table word `w`.
fn half(w: u64, i: u32) -> u32 {
    (w >> ((i & 1) * 32)) as u32
}

/// Direct-table entry: a region root (index in the [`E_INDEX`] bits)
/// rather than a leaf.
const E_NODE: u32 = 1 << 31;
/// Direct-table entry, with [`E_NODE`]: the root has no children and is
/// one block, its leaf bitmap then its leaves two to a word.
const E_LEAF: u32 = 1 << 30;
/// Root index bits of a direct-table entry. Roots live below `E_INDEX`,
/// so no entry equals [`E_DIRTY`].
const E_INDEX: u32 = E_LEAF - 1;
/// Direct-table entry: not built; look the address up in the Tree Bitmap.
const E_DIRTY: u32 = u32::MAX;
/// Largest nexthop the trie stores (leaves hold `nexthop + 1`, 0 being
/// "no route", below [`E_NODE`]).
pub const MAX_NEXTHOP: u32 = E_NODE - 2;
/// Words per accelerator node.
const PNODE_WORDS: u32 = 3;
/// Most accelerator node levels under a direct entry (IPv6: depths 24 to
/// 126).
const MAX_PLEVELS: usize = 20;
/// Accelerator word of a FIB slot: some entry is dirty.
const ACC_DIRTY: u64 = 1 << 63;
/// Accelerator word of a FIB slot: route count field (bits 32..63).
const ACC_COUNT: u64 = 0x7fff_ffff << 32;

/// Looks `key` up in the accelerator whose direct table starts at `dir`:
/// `Some(answer)`, or `None` if the entry is dirty (or the arena does not
/// hold what the entry says, which the caller also treats as "ask the
/// Tree Bitmap").
#[inline(always)]
fn dir_lookup<K: Key, N: ArenaRead<u64>>(nodes: &N, dir: u32, key: K) -> Option<Option<u32>> {
    let mut e = key.bits(0, root_bits::<K>());
    let mut ent = half(nodes.get(dir.wrapping_add(e >> 1))?, e);
    if K::TOP_BITS != 0 && ent & E_NODE != 0 && ent != E_DIRTY {
        // A page of a two-level table.
        e = key.bits(K::TOP_BITS, page_bits::<K>());
        ent = half(nodes.get((ent & E_INDEX).wrapping_add(e >> 1))?, e);
    }
    if ent & E_NODE == 0 {
        return Some(ent.checked_sub(1));
    }
    if ent == E_DIRTY {
        return None;
    }
    let mut n = ent & E_INDEX;
    if ent & E_LEAF != 0 {
        let c = key.bits(K::DIR_BITS, PSTRIDE);
        let l = nodes.get(n)?;
        let r = (l & (u64::MAX >> (63 - c))).count_ones().wrapping_sub(1);
        let lw = nodes.get(n.wrapping_add(1).wrapping_add(r >> 1))?;
        return Some(half(lw, r).checked_sub(1));
    }
    let hi = key.high64();
    let mut depth = K::DIR_BITS;
    while depth < K::BITS {
        // Within the first 64 bits, where most walks end (an IPv6 /48 in
        // its node at depth 42), one 64-bit shift pair instead of two
        // variable 128-bit shifts.
        let c = if depth <= 64 - PSTRIDE {
            ((hi << depth) >> (64 - PSTRIDE)) as u32
        } else {
            key.bits(depth, PSTRIDE)
        };
        let v = nodes.get(n)?;
        let b = nodes.get(n.wrapping_add(2))?;
        let m = u64::MAX >> (63 - c);
        if (v >> c) & 1 != 0 {
            let r = (v & m).count_ones().wrapping_sub(1);
            n = (b as u32).wrapping_add(r.wrapping_mul(PNODE_WORDS));
            depth += PSTRIDE;
            continue;
        }
        let l = nodes.get(n.wrapping_add(1))?;
        let r = (l & m).count_ones().wrapping_sub(1);
        // No children and at most two runs: the leaves are in `b`, read
        // again (from L1) rather than branched to, which a lookup could
        // not predict.
        let at = if v == 0 && l.count_ones() <= 2 {
            n.wrapping_add(2)
        } else {
            ((b >> 32) as u32).wrapping_add(r >> 1)
        };
        let lw = nodes.get(at)?;
        return Some(half(lw, r).checked_sub(1));
    }
    None
}

impl<K: Key> Reader<K> {
    /// The nexthop of the longest prefix of `fib` covering `key`, or `None`.
    ///
    /// Safe to run concurrently with one writer when the arenas follow the
    /// [`Arena`] contract (RCU read side held for the whole call).
    #[inline]
    pub fn lookup<N: ArenaRead<u64>, R: ArenaRead<u32>>(
        &self,
        nodes: &N,
        results: &R,
        fib: u32,
        key: K,
    ) -> Option<u32> {
        let (at, root) = find_slot(nodes, self.fib_base, self.fib_mask, fib)?;
        let acc = nodes.get(at.wrapping_add(1))? as u32;
        if acc != 0 {
            if let Some(r) = dir_lookup(nodes, acc.wrapping_sub(1), key) {
                return r;
            }
        }
        self.tbm_lookup(nodes, results, root, key)
    }

    /// The nexthop of the longest prefix covering `key` in the Tree
    /// Bitmap whose root node is `root`, or `None`.
    #[inline(always)]
    fn tbm_lookup<N: ArenaRead<u64>, R: ArenaRead<u32>>(
        &self,
        nodes: &N,
        results: &R,
        root: u32,
        key: K,
    ) -> Option<u32> {
        results.get(self.find_from(nodes, root, key)?.0)
    }

    /// [`Reader::lookup`] of each of `keys` in `fib`, the answers in
    /// `out` (`out[i]` for `keys[i]`); returns how many keys were looked
    /// up, the shorter of the two lengths. Same concurrency rules as
    /// [`Reader::lookup`].
    ///
    /// For a burst of packets that arrived through one FIB (one
    /// interface, one NAPI poll): the FIB is found once, and keys whose
    /// accelerator entry is dirty are looked up in the Tree Bitmap after
    /// the others, [`BURST`] at a time. The accelerator loop then makes
    /// no call, so its values stay in registers.
    pub fn lookup_burst<N: ArenaRead<u64>, R: ArenaRead<u32>>(
        &self,
        nodes: &N,
        results: &R,
        fib: u32,
        keys: &[K],
        out: &mut [Option<u32>],
    ) -> usize {
        let n = keys.len().min(out.len());
        let (Some(keys), Some(out)) = (keys.get(..n), out.get_mut(..n)) else {
            return 0;
        };
        let Some((at, root)) = find_slot(nodes, self.fib_base, self.fib_mask, fib) else {
            out.fill(None);
            return n;
        };
        let acc = nodes.get(at.wrapping_add(1)).map_or(0, |w| w as u32);
        if acc == 0 {
            for (o, &k) in out.iter_mut().zip(keys) {
                *o = self.tbm_lookup(nodes, results, root, k);
            }
            return n;
        }
        let dir = acc.wrapping_sub(1);
        for (ks, os) in keys.chunks(BURST).zip(out.chunks_mut(BURST)) {
            // Bit i: keys[i] of this chunk needs the Tree Bitmap.
            let mut defer = 0u64;
            for (i, (o, &k)) in os.iter_mut().zip(ks).enumerate() {
                match dir_lookup(nodes, dir, k) {
                    Some(r) => *o = r,
                    None => defer |= 1 << i,
                }
            }
            while defer != 0 {
                let i = defer.trailing_zeros() as usize;
                defer &= defer - 1;
                if let (Some(o), Some(&k)) = (os.get_mut(i), ks.get(i)) {
                    *o = self.tbm_lookup(nodes, results, root, k);
                }
            }
        }
        n
    }

    /// The length and nexthop of the longest prefix of `fib` covering
    /// `key`, or `None`; the prefix is `key.mask(len)`. Same concurrency
    /// rules as [`Reader::lookup`].
    #[inline]
    pub fn lookup_route<N: ArenaRead<u64>, R: ArenaRead<u32>>(
        &self,
        nodes: &N,
        results: &R,
        fib: u32,
        key: K,
    ) -> Option<(u8, u32)> {
        let (i, len) = self.find(nodes, fib, key)?;
        Some((len as u8, results.get(i)?))
    }

    /// Result index and length of the longest prefix of `fib` covering
    /// `key`. Inlined into both lookups; [`Reader::lookup`] drops the
    /// length, so it costs nothing there.
    #[inline(always)]
    fn find<N: ArenaRead<u64>>(&self, nodes: &N, fib: u32, key: K) -> Option<(u32, u32)> {
        self.find_from(
            nodes,
            find_root(nodes, self.fib_base, self.fib_mask, fib)?,
            key,
        )
    }

    /// [`Reader::find`] from the root node `node`.
    #[inline(always)]
    fn find_from<N: ArenaRead<u64>>(&self, nodes: &N, mut nref: u32, key: K) -> Option<(u32, u32)> {
        let mut best: Option<(u32, u32)> = None;
        let mut depth = 0u32;
        loop {
            let node = nref & !R_LEAF;
            let s = key.chunk(depth);
            let meta = nodes.get(node)?;
            let fw = s >> 6;
            let fb = s & 63;
            let f = nodes.get(node.wrapping_add(W_FULL + fw))?;
            if (f >> fb) & 1 != 0 {
                let mut r = ((meta >> 32) as u32 & 0xffff)
                    .wrapping_add((f & ((1u64 << fb) - 1)).count_ones());
                let mut w = 0;
                while w < fw {
                    r = r.wrapping_add(nodes.get(node.wrapping_add(W_FULL + w))?.count_ones());
                    w += 1;
                }
                best = Some(((meta as u32).wrapping_add(r), depth.wrapping_add(STRIDE)));
            } else {
                let h7 = 128 | (s >> 1);
                let w7 = nodes.get(node.wrapping_add(W_INT + (h7 >> 6)))?;
                let h = if (w7 >> (h7 & 63)) & 1 != 0 {
                    h7
                } else {
                    let h6 = 64 | (s >> 2);
                    let w1 = nodes.get(node.wrapping_add(W_INT + 1))?;
                    if (w1 >> (h6 & 63)) & 1 != 0 {
                        h6
                    } else {
                        let w0 = nodes.get(node.wrapping_add(W_INT))?;
                        let m = w0 & ANC0.get((s >> 3) as usize).copied().unwrap_or(0);
                        if m != 0 {
                            63 - m.leading_zeros()
                        } else {
                            0
                        }
                    }
                };
                if h != 0 {
                    let hw = h >> 6;
                    let mut r = 0u32;
                    let mut w = 0;
                    while w <= hw {
                        let x = nodes.get(node.wrapping_add(W_INT + w))?;
                        r = r.wrapping_add(if w < hw {
                            x.count_ones()
                        } else {
                            (x & ((1u64 << (h & 63)) - 1)).count_ones()
                        });
                        w += 1;
                    }
                    // Heap index `h` has relative length floor(log2(h)).
                    let j = 31 - h.leading_zeros();
                    best = Some(((meta as u32).wrapping_add(r), depth.wrapping_add(j)));
                }
            }
            if nref & R_LEAF != 0 {
                break;
            }
            let g = nodes.get(node.wrapping_add(W_GRP + (s >> 5)))?;
            let cb = s & 31;
            depth += STRIDE;
            if (g >> cb) & 1 == 0 || depth >= K::BITS {
                break;
            }
            let r = ((g as u32) & ((1u32 << cb) - 1)).count_ones();
            match child_ref((g >> 32) as u32, r) {
                Some(c) => nref = c,
                None => break,
            }
        }
        best
    }

    /// Calls `f(prefix, len, nexthop)` for the routes of `fib` in the
    /// order of prefix (as an unsigned integer), then length, starting
    /// after the route `after` (strictly greater; `None`: from the first)
    /// and stopping when `f` returns `false` or every route was visited.
    ///
    /// `after` need not be a route of the FIB. Resuming costs the depth
    /// of `after` plus the routes visited: subtrees and bitmap ranges
    /// before it are skipped, not scanned. Uses a fixed stack of 17
    /// levels (under 1 KiB), no recursion and no allocation.
    ///
    /// Safe to run concurrently with one writer under the same rules as
    /// [`Reader::lookup`]; routes added or removed meanwhile may or may
    /// not be seen, every other route is visited exactly once.
    ///
    /// Errors: [`LpmError::BadLength`] or [`LpmError::HostBits`] for an
    /// invalid `after`, [`LpmError::Corrupt`] if the arenas do not hold a
    /// valid trie. An unknown or empty FIB visits nothing.
    pub fn walk<N, R, F>(
        &self,
        nodes: &N,
        results: &R,
        fib: u32,
        after: Option<(K, u8)>,
        mut f: F,
    ) -> Result<(), LpmError>
    where
        N: ArenaRead<u64>,
        R: ArenaRead<u32>,
        F: FnMut(K, u8, u32) -> bool,
    {
        if let Some((p, l)) = after {
            if l as u32 > K::BITS {
                return Err(LpmError::BadLength);
            }
            if !p.host_bits_clear(l as u32) {
                return Err(LpmError::HostBits);
            }
        }
        let Some(root) = find_root(nodes, self.fib_base, self.fib_mask, fib) else {
            return Ok(());
        };
        let mut stack = [Frame {
            idx: 0,
            next: 0,
            occ: [0; 4],
        }; MAX_LEVELS];
        let mut n = 0usize;
        let mut key = K::ZERO;
        // Descend along `after`, leaving in each node the first position
        // past it.
        let mut idx = root;
        let mut depth = 0u32;
        let mut node = load_node(nodes, idx)?;
        loop {
            let mut next = 0;
            let mut down = None;
            if let Some((p, l)) = after {
                let s = p.chunk(depth);
                let l = l as u32;
                if l <= depth + STRIDE {
                    next = s * KINDS + l.saturating_sub(depth) + 1;
                } else {
                    next = (s + 1) * KINDS;
                    if child_bit(&node, s) && depth + STRIDE < K::BITS {
                        down = Some(s);
                    }
                }
            }
            let fr = stack.get_mut(n).ok_or(LpmError::Corrupt)?;
            *fr = Frame {
                idx,
                next,
                occ: occupancy(&node),
            };
            n += 1;
            let Some(s) = down else { break };
            key = key.with_chunk(depth, s);
            idx = child_index(&node, s)?;
            depth += STRIDE;
            node = load_node(nodes, idx)?;
        }
        // In-order walk: `node` is the node of the top frame.
        while let Some(top) = n.checked_sub(1) {
            let depth = (top as u32).saturating_mul(STRIDE);
            let fr = stack.get_mut(top).ok_or(LpmError::Corrupt)?;
            let Some(at) = next_pos(&node, &fr.occ, fr.next) else {
                n = top;
                if let Some(up) = top.checked_sub(1) {
                    let i = stack.get(up).ok_or(LpmError::Corrupt)?.idx;
                    node = load_node(nodes, i)?;
                }
                continue;
            };
            fr.next = at + 1;
            let (s, t) = (at / KINDS, at % KINDS);
            if t == T_CHILD {
                if depth + STRIDE >= K::BITS {
                    continue;
                }
                let child = child_index(&node, s)?;
                let cn = load_node(nodes, child)?;
                let fr = stack.get_mut(n).ok_or(LpmError::Corrupt)?;
                *fr = Frame {
                    idx: child,
                    next: 0,
                    occ: occupancy(&cn),
                };
                n += 1;
                key = key.with_chunk(depth, s);
                node = cn;
                continue;
            }
            let p = if t < STRIDE {
                Pos::Int((1 << t) | (s >> (STRIDE - t)))
            } else {
                Pos::Full(s)
            };
            let nh = results
                .get(node.rbase.wrapping_add(node.rank(p)))
                .ok_or(LpmError::Corrupt)?;
            if !f(key.with_chunk(depth, s), (depth + t) as u8, nh) {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Most nodes on a path from a root (a 128-bit key has 16 levels).
const MAX_LEVELS: usize = 17;
/// Positions per slot in a walk: `s * KINDS + t` orders the items of a
/// node, `t` being 0..=7 for the internal prefix of relative length `t`
/// that starts at slot `s`, [`T_FULL`] and [`T_CHILD`].
const KINDS: u32 = 10;
/// Walk position kind: the full prefix of slot `s`.
const T_FULL: u32 = 8;
/// Walk position kind: the child subtree of slot `s`.
const T_CHILD: u32 = 9;

/// One level of a walk: a node, the first position in it still to visit
/// and the slots where it has items (internal prefixes by their first
/// slot, full prefixes, children).
#[derive(Debug, Clone, Copy)]
struct Frame {
    idx: u32,
    next: u32,
    occ: [u64; 4],
}

/// Reads the node of reference `nref` (an [`R_LEAF`] node has no child
/// groups).
fn load_node<N: ArenaRead<u64>>(nodes: &N, nref: u32) -> Result<Node, LpmError> {
    let mut n = Node::EMPTY;
    load_node_into(nodes, nref, &mut n)?;
    Ok(n)
}

/// [`load_node`] into `n`, which must be [`Node::EMPTY`] or a node read
/// the same way from a reference of the same kind.
fn load_node_into<N: ArenaRead<u64>>(nodes: &N, nref: u32, n: &mut Node) -> Result<(), LpmError> {
    let idx = nref & !R_LEAF;
    let mut meta = 0u64;
    let words = core::iter::once(&mut meta)
        .chain(n.int.iter_mut())
        .chain(n.full.iter_mut())
        .chain(n.grp.iter_mut())
        .take(ref_words(nref) as usize);
    for (i, x) in (0u32..).zip(words) {
        let at = idx.checked_add(i).ok_or(LpmError::Corrupt)?;
        *x = nodes.get(at).ok_or(LpmError::Corrupt)?;
    }
    n.rbase = meta as u32;
    Ok(())
}

/// Words of each node of a node or block reference.
#[inline(always)]
fn ref_words(r: u32) -> u32 {
    if r & R_LEAF != 0 {
        LEAF_WORDS
    } else {
        NODE_WORDS
    }
}

/// Reference of node `rank` of the child block `block` (a reference).
#[inline(always)]
fn child_ref(block: u32, rank: u32) -> Option<u32> {
    let at = (block & !R_LEAF).checked_add(rank.wrapping_mul(ref_words(block)))?;
    if at >= R_LEAF {
        return None;
    }
    Some(at | (block & R_LEAF))
}

/// A block reference: `idx`, flagged [`R_LEAF`] if `leaf`.
fn block_ref(idx: u32, leaf: bool) -> u32 {
    if leaf {
        idx | R_LEAF
    } else {
        idx
    }
}

fn child_bit(node: &Node, s: u32) -> bool {
    let (g, b) = node.group(s);
    (g >> b) & 1 != 0
}

/// Node reference of the child at slot `s` (which must be present).
fn child_index(node: &Node, s: u32) -> Result<u32, LpmError> {
    let (g, b) = node.group(s);
    let r = ((g as u32) & ((1u32 << b) - 1)).count_ones();
    child_ref((g >> 32) as u32, r).ok_or(LpmError::Corrupt)
}

/// Slots of `node` with an item (see [`Frame`]).
fn occupancy(node: &Node) -> [u64; 4] {
    let mut o = node.full;
    for (i, w) in o.iter_mut().enumerate() {
        let lo = node.grp.get(2 * i).copied().unwrap_or(0) as u32 as u64;
        let hi = node.grp.get(2 * i + 1).copied().unwrap_or(0) as u32 as u64;
        *w |= lo | (hi << 32);
    }
    for (wi, w) in (0u32..).zip(node.int.iter()) {
        let mut x = *w;
        while x != 0 {
            let h = wi * 64 + x.trailing_zeros();
            x &= x - 1;
            if h == 0 {
                continue;
            }
            let j = 31 - h.leading_zeros();
            let s = (h ^ (1 << j)) << (STRIDE - j);
            if let Some(m) = o.get_mut((s >> 6) as usize) {
                *m |= 1u64 << (s & 63);
            }
        }
    }
    o
}

/// First set bit of a 256-bit map at or after `from`.
fn next_set(map: &[u64; 4], from: u32) -> Option<u32> {
    let mut wi = from >> 6;
    let mut x = map.get(wi as usize)? & (u64::MAX << (from & 63));
    loop {
        if x != 0 {
            return Some(wi * 64 + x.trailing_zeros());
        }
        wi += 1;
        x = *map.get(wi as usize)?;
    }
}

/// Whether `node` has the item of kind `t` at slot `s`.
fn has_item(node: &Node, s: u32, t: u32) -> bool {
    match t {
        0..=7 => {
            let sh = STRIDE - t;
            s & ((1 << sh) - 1) == 0 && bit4(&node.int, (1 << t) | (s >> sh))
        }
        T_FULL => bit4(&node.full, s),
        T_CHILD => child_bit(node, s),
        _ => false,
    }
}

/// First walk position of `node` at or after `from`. `occ` may be stale
/// (a concurrent walk re-reads a node that changed): slots are checked.
fn next_pos(node: &Node, occ: &[u64; 4], from: u32) -> Option<u32> {
    let mut s = from / KINDS;
    let mut t = from % KINDS;
    loop {
        if s >= 256 {
            return None;
        }
        while t < KINDS {
            if has_item(node, s, t) {
                return Some(s * KINDS + t);
            }
            t += 1;
        }
        s = next_set(occ, s + 1)?;
        t = 0;
    }
}

/// A node as the writer edits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    rbase: u32,
    int: [u64; 4],
    full: [u64; 4],
    grp: [u64; 8],
}

impl Node {
    const EMPTY: Node = Node {
        rbase: 0,
        int: [0; 4],
        full: [0; 4],
        grp: [0; 8],
    };

    fn nint(&self) -> u32 {
        self.int.iter().map(|w| w.count_ones()).sum()
    }

    fn nres(&self) -> u32 {
        self.nint() + self.full.iter().map(|w| w.count_ones()).sum::<u32>()
    }

    fn has_children(&self) -> bool {
        self.grp.iter().any(|g| *g as u32 != 0)
    }

    fn is_empty(&self) -> bool {
        self.nres() == 0 && !self.has_children()
    }

    fn word(&self, i: u32) -> u64 {
        match i {
            W_META => (self.rbase as u64) | ((self.nint() as u64) << 32),
            1..=4 => self.int[(i - W_INT) as usize],
            5..=8 => self.full[(i - W_FULL) as usize],
            _ => self
                .grp
                .get(i.wrapping_sub(W_GRP) as usize)
                .copied()
                .unwrap_or(0),
        }
    }

    /// Result rank of a prefix slot in this node.
    fn rank(&self, p: Pos) -> u32 {
        match p {
            Pos::Int(h) => rank4(&self.int, h),
            Pos::Full(s) => self.nint() + rank4(&self.full, s),
        }
    }

    fn has(&self, p: Pos) -> bool {
        match p {
            Pos::Int(h) => bit4(&self.int, h),
            Pos::Full(s) => bit4(&self.full, s),
        }
    }

    fn flip(&mut self, p: Pos) {
        let (m, b) = match p {
            Pos::Int(h) => (&mut self.int, h),
            Pos::Full(s) => (&mut self.full, s),
        };
        if let Some(x) = m.get_mut((b >> 6) as usize) {
            *x ^= 1u64 << (b & 63);
        }
    }

    /// Child group word for slot `s` and the child's bit in it.
    fn group(&self, s: u32) -> (u64, u32) {
        (
            self.grp.get((s >> 5) as usize).copied().unwrap_or(0),
            s & 31,
        )
    }
}

/// Where a prefix sits in its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    /// Internal bitmap, heap index.
    Int(u32),
    /// Full bitmap, slot.
    Full(u32),
}

/// Where a node is referenced from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parent {
    /// From the FIB slot at this node-arena index.
    Slot(u32),
    /// From group `s >> 5` of the node at `parent`, slot `s`.
    Child { parent: u32, s: u32 },
}

/// A node on a path and where it is referenced from.
#[derive(Debug, Clone, Copy)]
struct Hop {
    idx: u32,
    parent: Parent,
}

/// The last node of a path, read (borrowed from its [`Walk`]).
#[derive(Debug, Clone, Copy)]
struct Step<'a> {
    idx: u32,
    node: &'a Node,
    parent: Parent,
}

/// A block: (in the node arena?, first index, slots).
type Block = (bool, u32, u32);

/// Blocks taken during one update, freed again if the update fails.
struct Taken {
    list: [Block; MAX_ALLOCS],
    n: usize,
}

/// The result of walking towards a prefix: the path (only the last node
/// is read whole; updates read others on demand). Filled in place by
/// [`Lpm::path_to`]: every update makes one, and moving it (or its last
/// node) around cost a tenth of a Tree Bitmap update in copies.
struct Walk<K: Key> {
    fib: u32,
    slot: u32,
    prefix: K,
    /// Node references from the root down; node `i` is at depth
    /// `i * STRIDE`, the child of node `i - 1` at slot
    /// `prefix.chunk((i - 1) * STRIDE)`.
    path: [u32; MAX_LEVELS],
    last: Node,
    len: usize,
    target_depth: u32,
}

impl<K: Key> Walk<K> {
    fn new(fib: u32, prefix: K) -> Self {
        Walk {
            fib,
            slot: 0,
            prefix,
            path: [0; MAX_LEVELS],
            last: Node::EMPTY,
            len: 0,
            target_depth: 0,
        }
    }
    fn last(&self) -> Option<Step<'_>> {
        let h = self.len.checked_sub(1).and_then(|i| self.at(i))?;
        Some(Step {
            idx: h.idx,
            node: &self.last,
            parent: h.parent,
        })
    }
    fn at(&self, i: usize) -> Option<Hop> {
        if i >= self.len {
            return None;
        }
        let idx = *self.path.get(i)?;
        let parent = match i.checked_sub(1) {
            None => Parent::Slot(self.slot),
            Some(up) => Parent::Child {
                parent: *self.path.get(up)?,
                s: self.prefix.chunk(up as u32 * STRIDE),
            },
        };
        Some(Hop { idx, parent })
    }
}

/// Longest-prefix-match tables of many FIBs sharing two arenas.
///
/// `N` stores node words and the FIB table, `R` stores nexthops. One
/// writer (`&mut self`); lookups through [`Lpm::lookup`] or, for
/// concurrent readers, [`Lpm::reader`] plus read handles to the arenas.
pub struct Lpm<K: Key, N: Arena<u64>, R: Arena<u32>> {
    nodes: N,
    results: R,
    rd: Reader<K>,
    routes: u64,
    /// Route count from which a FIB gets an accelerator.
    accel_min: u32,
}

/// IPv4 tables.
pub type Lpm4<N, R> = Lpm<u32, N, R>;
/// IPv6 tables.
pub type Lpm6<N, R> = Lpm<u128, N, R>;

impl<K: Key, N: Arena<u64>, R: Arena<u32>> Lpm<K, N, R> {
    /// Empty tables for up to `max_fibs` FIBs with routes at a time (the
    /// FIB table takes `max_fibs` rounded up to a power of two, times
    /// four, words of `nodes`: per slot, a slot word then an accelerator
    /// word, the table twice as large as needed).
    pub fn new(mut nodes: N, results: R, max_fibs: u32) -> Result<Self, LpmError> {
        if max_fibs == 0 || max_fibs > MAX_FIBS {
            return Err(LpmError::BadCapacity);
        }
        let cap = max_fibs
            .checked_mul(2)
            .ok_or(LpmError::BadCapacity)?
            .next_power_of_two();
        let base = nodes.try_alloc(2 * cap).map_err(|_| LpmError::NoMemory)?;
        for i in 0..2 * cap {
            if base > MAX_INDEX - 2 * cap || !nodes.set(base + i, 0) {
                nodes.free(base, 2 * cap);
                return Err(LpmError::Corrupt);
            }
        }
        Ok(Self {
            nodes,
            results,
            rd: Reader {
                fib_base: base,
                fib_mask: cap - 1,
                _k: PhantomData,
            },
            routes: 0,
            accel_min: u32::MAX,
        })
    }

    /// The nexthop of the longest prefix of `fib` covering `key`, or `None`.
    #[inline]
    pub fn lookup(&self, fib: u32, key: K) -> Option<u32> {
        self.rd.lookup(&self.nodes, &self.results, fib, key)
    }

    /// The nexthops of `keys` in `fib`, in `out`; see
    /// [`Reader::lookup_burst`]. Returns how many keys were looked up.
    pub fn lookup_burst(&self, fib: u32, keys: &[K], out: &mut [Option<u32>]) -> usize {
        self.rd
            .lookup_burst(&self.nodes, &self.results, fib, keys, out)
    }

    /// The length and nexthop of the longest prefix of `fib` covering
    /// `key`, or `None`; the prefix is `key.mask(len)` ([`Key::mask`]).
    #[inline]
    pub fn lookup_route(&self, fib: u32, key: K) -> Option<(u8, u32)> {
        self.rd.lookup_route(&self.nodes, &self.results, fib, key)
    }

    /// Calls `f(prefix, len, nexthop)` for each route of `fib` greater than
    /// `after` in (prefix, length) order until `f` returns `false`; see
    /// [`Reader::walk`]. Resuming with the last route seen continues where
    /// a walk stopped, at the cost of one descent.
    pub fn walk<F: FnMut(K, u8, u32) -> bool>(
        &self,
        fib: u32,
        after: Option<(K, u8)>,
        f: F,
    ) -> Result<(), LpmError> {
        self.rd.walk(&self.nodes, &self.results, fib, after, f)
    }

    /// Removes every route of `fib` and returns how many there were (0 for
    /// an unknown or empty FIB). One publish unlinks the FIB's root (its
    /// table slot becomes reusable), then every block of the FIB is
    /// retired. Allocates nothing; the trie is checked before the publish,
    /// so an error ([`LpmError::Corrupt`]) changes nothing. Takes time
    /// linear in the FIB's size, with no bound on it.
    pub fn delete_fib(&mut self, fib: u32) -> Result<u64, LpmError> {
        self.delete_fib_with(fib, |_| {})
    }

    /// [`Lpm::delete_fib`] that also hands each removed route's nexthop
    /// to `gone`, after the publish that unlinked the FIB: a reader that
    /// starts from then on cannot reach them, so a caller that releases
    /// what a nexthop stands for (after a grace period) waits for every
    /// reader that could.
    pub fn delete_fib_with(
        &mut self,
        fib: u32,
        mut gone: impl FnMut(u32),
    ) -> Result<u64, LpmError> {
        let (at, w) = self.fib_slot(fib, false)?;
        let tag = w as u32;
        if (w >> 32) as u32 != fib || tag < 2 {
            return Ok(0);
        }
        let root = tag - 2;
        let (count, _) = self.subtree(root, None)?;
        self.drop_accel(at);
        let aa = self.acc_at(at);
        self.nodes.publish(aa, 0);
        if !self
            .nodes
            .publish(at, ((fib as u64) << 32) | TAG_EMPTY as u64)
        {
            return Err(LpmError::Corrupt);
        }
        // The same reads as the first pass: cannot fail.
        let r = self.subtree(root, Some(&mut gone));
        self.nodes.retire(root, NODE_WORDS);
        self.routes = self.routes.saturating_sub(count);
        r.map(|_| count)
    }

    /// The lookup descriptor readers use with their own arena handles.
    pub fn reader(&self) -> Reader<K> {
        self.rd
    }

    /// Number of routes in all FIBs.
    pub fn routes(&self) -> u64 {
        self.routes
    }

    /// The node arena (for statistics).
    pub fn nodes(&self) -> &N {
        &self.nodes
    }

    /// The result arena (for statistics).
    pub fn results(&self) -> &R {
        &self.results
    }

    /// Both arenas, for upkeep the caller does between updates (recycling
    /// retired blocks, reserving room to retire).
    pub fn arenas_mut(&mut self) -> (&mut N, &mut R) {
        (&mut self.nodes, &mut self.results)
    }

    /// The nexthop stored for exactly `prefix/len` in `fib`.
    pub fn get(&self, fib: u32, prefix: K, len: u8) -> Result<Option<u32>, LpmError> {
        let mut w = Walk::new(fib, prefix);
        self.path_to(&mut w, len, false)?;
        let Some(st) = w.last() else { return Ok(None) };
        let p = pos(prefix, len as u32, w.target_depth);
        if w.len == 0 || st_depth(w.len) != w.target_depth || !st.node.has(p) {
            return Ok(None);
        }
        let i = st.node.rbase.wrapping_add(st.node.rank(p));
        self.results.get(i).map(Some).ok_or(LpmError::Corrupt)
    }

    /// Adds `prefix/len -> nh` to `fib`; [`LpmError::Exists`] if present.
    pub fn insert(&mut self, fib: u32, prefix: K, len: u8, nh: u32) -> Result<(), LpmError> {
        if nh > MAX_NEXTHOP {
            return Err(LpmError::BadNexthop);
        }
        let mut w = Walk::new(fib, prefix);
        self.path_to(&mut w, len, true)?;
        let dt = w.target_depth;
        let p = pos(prefix, len as u32, dt);
        let mut tk = Taken {
            list: [(false, 0, 0); MAX_ALLOCS],
            n: 0,
        };
        let r = match w.last() {
            Some(st) if st_depth(w.len) == dt => self.insert_at(&w, st, p, nh, &mut tk),
            _ => self.insert_chain(&w, prefix, p, nh, &mut tk),
        };
        if r.is_err() {
            self.rollback(&tk);
        } else {
            self.routes = self.routes.saturating_add(1);
            self.count_route(w.slot, true);
            self.touch(fib, w.slot, prefix, len, 1);
        }
        r
    }

    /// Sets the nexthop of an existing `prefix/len` in `fib` (one in-place
    /// store) and returns the old one.
    pub fn replace(&mut self, fib: u32, prefix: K, len: u8, nh: u32) -> Result<u32, LpmError> {
        if nh > MAX_NEXTHOP {
            return Err(LpmError::BadNexthop);
        }
        let mut w = Walk::new(fib, prefix);
        self.path_to(&mut w, len, false)?;
        let p = pos(prefix, len as u32, w.target_depth);
        let st = match w.last() {
            Some(st) if st_depth(w.len) == w.target_depth && st.node.has(p) => st,
            _ => return Err(LpmError::NotFound),
        };
        let i = st.node.rbase.wrapping_add(st.node.rank(p));
        let old = self.results.get(i).ok_or(LpmError::Corrupt)?;
        if !self.results.publish(i, nh) {
            return Err(LpmError::Corrupt);
        }
        self.touch(fib, w.slot, prefix, len, 0);
        Ok(old)
    }

    /// Removes `prefix/len` from `fib` and returns its nexthop.
    pub fn delete(&mut self, fib: u32, prefix: K, len: u8) -> Result<u32, LpmError> {
        let mut w = Walk::new(fib, prefix);
        self.path_to(&mut w, len, false)?;
        let p = pos(prefix, len as u32, w.target_depth);
        let st = match w.last() {
            Some(st) if st_depth(w.len) == w.target_depth && st.node.has(p) => st,
            _ => return Err(LpmError::NotFound),
        };
        let mut tk = Taken {
            list: [(false, 0, 0); MAX_ALLOCS],
            n: 0,
        };
        let r = self.delete_at(&w, st, p, &mut tk);
        match r {
            Ok(_) => {
                self.routes = self.routes.saturating_sub(1);
                let left = self.count_route(w.slot, false);
                if left == 0 || left < u64::from(self.accel_min / 2) {
                    self.drop_accel(w.slot);
                } else {
                    self.touch(fib, w.slot, prefix, len, -1);
                }
            }
            Err(_) => self.rollback(&tk),
        }
        r
    }

    // ---- writer internals ----

    /// The nodes from the FIB root towards the node that holds `prefix/len`,
    /// into `w` (made by [`Walk::new`] for this FIB and prefix).
    fn path_to(&self, w: &mut Walk<K>, len: u8, for_insert: bool) -> Result<(), LpmError> {
        let (fib, prefix) = (w.fib, w.prefix);
        let len = len as u32;
        if len > K::BITS {
            return Err(LpmError::BadLength);
        }
        if !prefix.host_bits_clear(len) {
            return Err(LpmError::HostBits);
        }
        w.target_depth = if len == 0 {
            0
        } else {
            (len - 1) / STRIDE * STRIDE
        };
        let (slot, fib_word) = self.fib_slot(fib, for_insert)?;
        w.slot = slot;
        let tag = fib_word as u32;
        if (fib_word >> 32) as u32 != fib || tag < 2 {
            return Ok(());
        }
        self.warm(slot, prefix);
        let mut idx = tag - 2;
        let mut depth = 0;
        loop {
            *w.path.get_mut(w.len).ok_or(LpmError::Corrupt)? = idx;
            w.len += 1;
            if depth >= w.target_depth {
                break;
            }
            let s = prefix.chunk(depth);
            let (g, b) = self.group_word(idx, s)?;
            if (g >> b) & 1 == 0 {
                break;
            }
            let r = ((g as u32) & ((1u32 << b) - 1)).count_ones();
            idx = child_ref((g >> 32) as u32, r).ok_or(LpmError::Corrupt)?;
            depth += STRIDE;
        }
        load_node_into(&self.nodes, idx, &mut w.last)
    }

    /// FIB table slot of `fib` and its word. Without `for_insert`, a FIB
    /// that is absent gives some slot whose word is not `fib`'s. With it,
    /// an absent FIB gets the first reusable slot.
    fn fib_slot(&self, fib: u32, for_insert: bool) -> Result<(u32, u64), LpmError> {
        let (base, mask) = (self.rd.fib_base, self.rd.fib_mask);
        let mut i = fib_hash(fib, mask);
        let mut free: Option<(u32, u64)> = None;
        for _ in 0..=mask {
            let at = base.checked_add(i << 1).ok_or(LpmError::Corrupt)?;
            let w = self.nodes.get(at).ok_or(LpmError::Corrupt)?;
            let tag = w as u32;
            if tag != TAG_UNUSED && (w >> 32) as u32 == fib {
                return Ok((at, w));
            }
            if tag == TAG_UNUSED {
                return Ok(free.unwrap_or((at, 0)));
            }
            if tag == TAG_EMPTY && free.is_none() {
                free = Some((at, 0));
            }
            i = (i + 1) & mask;
        }
        match free {
            Some(f) => Ok(f),
            None if for_insert => Err(LpmError::FibTableFull),
            None => Ok((base, 0)),
        }
    }

    fn read_node(&self, idx: u32) -> Result<Node, LpmError> {
        load_node(&self.nodes, idx)
    }

    /// Routes and node-arena words in the subtree of the root node
    /// `root`. With `retire`, also retires every node and result block
    /// below `root` (not the root node itself), each after its last read
    /// (post-order), handing each result (nexthop) of a retired result
    /// block to `retire` first.
    fn subtree(
        &mut self,
        root: u32,
        mut retire: Option<&mut dyn FnMut(u32)>,
    ) -> Result<(u64, u64), LpmError> {
        #[derive(Clone, Copy)]
        struct F {
            idx: u32,
            g: u32,
            i: u32,
        }
        let mut st = [F { idx: 0, g: 0, i: 0 }; MAX_LEVELS];
        if let Some(f) = st.get_mut(0) {
            f.idx = root;
        }
        let mut n = 1usize;
        let mut count = self.node_results(root)?.1 as u64;
        let mut words = u64::from(NODE_WORDS);
        while let Some(top) = n.checked_sub(1) {
            let f = *st.get(top).ok_or(LpmError::Corrupt)?;
            if f.g >= 8 || f.idx & R_LEAF != 0 {
                if let Some(gone) = retire.as_mut() {
                    let (rb, nr) = self.node_results(f.idx)?;
                    for i in 0..nr {
                        if let Some(v) = self.results.get(rb.wrapping_add(i)) {
                            gone(v);
                        }
                    }
                    if nr != 0 {
                        self.results.retire(rb, nr);
                    }
                }
                n = top;
                continue;
            }
            let at = f.idx.checked_add(W_GRP + f.g).ok_or(LpmError::Corrupt)?;
            let gw = self.nodes.get(at).ok_or(LpmError::Corrupt)?;
            let k = (gw as u32).count_ones();
            let block = (gw >> 32) as u32;
            let fr = st.get_mut(top).ok_or(LpmError::Corrupt)?;
            if f.i < k {
                if (n as u32).saturating_mul(STRIDE) >= K::BITS {
                    return Err(LpmError::Corrupt);
                }
                fr.i += 1;
                let child = child_ref(block, f.i).ok_or(LpmError::Corrupt)?;
                count = count.saturating_add(self.node_results(child)?.1 as u64);
                words += u64::from(ref_words(block));
                *st.get_mut(n).ok_or(LpmError::Corrupt)? = F {
                    idx: child,
                    g: 0,
                    i: 0,
                };
                n += 1;
            } else {
                fr.g += 1;
                fr.i = 0;
                if retire.is_some() && k != 0 {
                    self.nodes.retire(block & !R_LEAF, k * ref_words(block));
                }
            }
        }
        Ok((count, words))
    }

    /// Bytes of arena slots `fib` holds: its Tree Bitmap nodes and
    /// results, and its accelerator (table, nodes, leaves). Takes time
    /// linear in the FIB's size (for statistics, not the data path).
    pub fn fib_memory(&mut self, fib: u32) -> Result<u64, LpmError> {
        let (at, w) = self.fib_slot(fib, false)?;
        let tag = w as u32;
        if (w >> 32) as u32 != fib || tag < 2 {
            return Ok(0);
        }
        let (results, mut words) = self.subtree(tag - 2, None)?;
        let acc = self.nodes.get(self.acc_at(at)).ok_or(LpmError::Corrupt)?;
        if let Some(d) = (acc as u32).checked_sub(1) {
            words += u64::from(dir_layout(root_bits::<K>()).2);
            for k in 0..Self::entry_blocks() {
                let Some(b) = self.entry_block(d, k) else {
                    continue;
                };
                if K::TOP_BITS != 0 {
                    words += u64::from(Self::entry_block_words());
                }
                for wi in 0..dir_layout(Self::entry_bits()).0 {
                    let x = self.nodes.get(b + wi).ok_or(LpmError::Corrupt)?;
                    for ent in [x as u32, (x >> 32) as u32] {
                        if ent & E_NODE != 0 && ent != E_DIRTY {
                            let (p, size) = self.root(ent).ok_or(LpmError::Corrupt)?;
                            words += u64::from(size);
                            if ent & E_LEAF == 0 {
                                words += self.pnode_words(&p, 0);
                            }
                        }
                    }
                }
            }
        }
        Ok(words * 8 + results * 4)
    }

    /// Node-arena words below the accelerator node `p` (its blocks and
    /// its children's), at `level` under the direct table.
    fn pnode_words(&self, p: &PNode, level: usize) -> u64 {
        let k = p[0].count_ones();
        let mut words = u64::from(k * PNODE_WORDS + leaf_block(p).map_or(0, |(_, w)| w));
        if level >= MAX_PLEVELS {
            return words;
        }
        for i in 0..k {
            if let Some(c) = self.pnode((p[2] as u32).wrapping_add(i * PNODE_WORDS)) {
                words += self.pnode_words(&c, level + 1);
            }
        }
        words
    }

    /// Result block (base, length) of the node at `idx`.
    fn node_results(&self, idx: u32) -> Result<(u32, u32), LpmError> {
        let idx = idx & !R_LEAF;
        let mut nres = 0;
        let mut rbase = 0;
        for i in 0..W_GRP {
            let at = idx.checked_add(i).ok_or(LpmError::Corrupt)?;
            let w = self.nodes.get(at).ok_or(LpmError::Corrupt)?;
            if i == W_META {
                rbase = w as u32;
            } else {
                nres += w.count_ones();
            }
        }
        Ok((rbase, nres))
    }

    /// Writes node `n` at index `at`: [`LEAF_WORDS`] words if `leaf`
    /// (then `n` must have no children), else [`NODE_WORDS`].
    fn write_node(&mut self, at: u32, n: &Node, leaf: bool) -> Result<(), LpmError> {
        for i in 0..ref_words(block_ref(0, leaf)) {
            let a = at.checked_add(i).ok_or(LpmError::Corrupt)?;
            if !self.nodes.set(a, n.word(i)) {
                return Err(LpmError::Corrupt);
            }
        }
        Ok(())
    }

    fn take(&mut self, tk: &mut Taken, node_arena: bool, n: u32) -> Result<u32, LpmError> {
        let slot = tk.list.get_mut(tk.n).ok_or(LpmError::Corrupt)?;
        let base = if node_arena {
            self.nodes.try_alloc(n)
        } else {
            self.results.try_alloc(n)
        }
        .map_err(|_| LpmError::NoMemory)?;
        *slot = (node_arena, base, n);
        tk.n += 1;
        if base > MAX_INDEX - n.min(MAX_INDEX) {
            return Err(LpmError::NoMemory);
        }
        Ok(base)
    }

    fn rollback(&mut self, tk: &Taken) {
        for &(node_arena, base, n) in tk.list.iter().take(tk.n) {
            if node_arena {
                self.nodes.free(base, n);
            } else {
                self.results.free(base, n);
            }
        }
    }

    /// New result block of `node` with `nh` inserted at (or, with `None`,
    /// the entry removed from) rank `at`. Returns its base (0 if empty).
    fn new_results(
        &mut self,
        tk: &mut Taken,
        node: &Node,
        at: u32,
        nh: Option<u32>,
    ) -> Result<u32, LpmError> {
        let old_n = node.nres();
        let new_n = if nh.is_some() {
            old_n + 1
        } else {
            old_n.saturating_sub(1)
        };
        if new_n == 0 {
            return Ok(0);
        }
        let base = self.take(tk, false, new_n)?;
        let ob = node.rbase;
        let at = at.min(new_n);
        let ok = match nh {
            Some(v) => {
                self.results.copy(ob, base, at)
                    && self.results.set(base + at, v)
                    && self.results.copy(
                        ob.wrapping_add(at),
                        base + at + 1,
                        old_n.saturating_sub(at),
                    )
            }
            None => {
                self.results.copy(ob, base, at)
                    && self
                        .results
                        .copy(ob.wrapping_add(at + 1), base + at, new_n - at)
            }
        };
        if !ok {
            return Err(LpmError::Corrupt);
        }
        Ok(base)
    }

    fn old_result(&self, node: &Node, i: u32) -> Result<u32, LpmError> {
        self.results
            .get(node.rbase.checked_add(i).ok_or(LpmError::Corrupt)?)
            .ok_or(LpmError::Corrupt)
    }

    /// Old blocks to retire after a publish: (node arena?, base, n).
    fn retire_all(&mut self, list: &[Block]) {
        for &(node_arena, base, n) in list {
            if n == 0 {
                continue;
            }
            if node_arena {
                self.nodes.retire(base, n);
            } else {
                self.results.retire(base, n);
            }
        }
    }

    /// Prepares `new` to take the place of the node of `st`; returns the
    /// publish (index, word) and the node block to retire.
    fn prepare_replace(
        &mut self,
        w: &Walk<K>,
        st: Step<'_>,
        new: &Node,
        tk: &mut Taken,
    ) -> Result<(u32, u64, Block), LpmError> {
        match st.parent {
            Parent::Slot(slot) => {
                let b = self.take(tk, true, NODE_WORDS)?;
                self.write_node(b, new, false)?;
                let word = slot_word(w.fib, b);
                Ok((slot, word, (true, st.idx, NODE_WORDS)))
            }
            Parent::Child { parent, s } => {
                let (g, bit) = self.group_word(parent, s)?;
                let k = (g as u32).count_ones();
                let pos = ((g as u32) & ((1u32 << bit) - 1)).count_ones();
                let pos = pos.min(k.saturating_sub(1));
                let oref = (g >> 32) as u32;
                let (old, ow) = (oref & !R_LEAF, ref_words(oref));
                // A leaf block stays one while `new` has no children.
                let leaf = oref & R_LEAF != 0 && !new.has_children();
                let nw = ref_words(block_ref(0, leaf));
                let nb = self.take(tk, true, k * nw)?;
                if nw == ow {
                    let (a, b) = (pos * nw, (pos + 1) * nw);
                    if !(self.nodes.copy(old, nb, a)
                        && self.nodes.copy(old.wrapping_add(b), nb + b, k * nw - b))
                    {
                        return Err(LpmError::Corrupt);
                    }
                } else {
                    // `new` gains children: its siblings move to full nodes.
                    for j in (0..k).filter(|&j| j != pos) {
                        let sib =
                            load_node(&self.nodes, child_ref(oref, j).ok_or(LpmError::Corrupt)?)?;
                        self.write_node(nb + j * nw, &sib, false)?;
                    }
                }
                self.write_node(nb + pos * nw, new, leaf)?;
                let gw = parent
                    .checked_add(W_GRP + (s >> 5))
                    .ok_or(LpmError::Corrupt)?;
                Ok((
                    gw,
                    (g & 0xffff_ffff) | (u64::from(block_ref(nb, leaf)) << 32),
                    (true, old, k * ow),
                ))
            }
        }
    }

    /// Child group word for slot `s` of the node of reference `idx` and
    /// the child's bit in it (an [`R_LEAF`] node has none: 0).
    fn group_word(&self, idx: u32, s: u32) -> Result<(u64, u32), LpmError> {
        if idx & R_LEAF != 0 {
            return Ok((0, s & 31));
        }
        let at = idx
            .checked_add(W_GRP + ((s >> 5) & 7))
            .ok_or(LpmError::Corrupt)?;
        Ok((self.nodes.get(at).ok_or(LpmError::Corrupt)?, s & 31))
    }

    fn insert_at(
        &mut self,
        w: &Walk<K>,
        st: Step<'_>,
        p: Pos,
        nh: u32,
        tk: &mut Taken,
    ) -> Result<(), LpmError> {
        if st.node.has(p) {
            return Err(LpmError::Exists);
        }
        let mut new = *st.node;
        new.flip(p);
        let rank = new.rank(p);
        new.rbase = self.new_results(tk, st.node, rank, Some(nh))?;
        let (at, word, old_block) = self.prepare_replace(w, st, &new, tk)?;
        if !self.nodes.publish(at, word) {
            return Err(LpmError::Corrupt);
        }
        let nres = st.node.nres();
        self.retire_all(&[old_block, (false, st.node.rbase, nres)]);
        Ok(())
    }

    fn insert_chain(
        &mut self,
        w: &Walk<K>,
        prefix: K,
        p: Pos,
        nh: u32,
        tk: &mut Taken,
    ) -> Result<(), LpmError> {
        let dt = w.target_depth;
        // Depth of the topmost new node.
        let top = match w.last() {
            Some(_) => st_depth(w.len) + STRIDE,
            None => 0,
        };
        // Bottom node with the prefix.
        let rb = self.take(tk, false, 1)?;
        if !self.results.set(rb, nh) {
            return Err(LpmError::Corrupt);
        }
        let mut cur = Node::EMPTY;
        cur.flip(p);
        cur.rbase = rb;
        let mut d = dt;
        while d > top {
            // The bottom node has no children: a leaf block of its own.
            let leaf = !cur.has_children();
            let b = self.take(tk, true, ref_words(block_ref(0, leaf)))?;
            self.write_node(b, &cur, leaf)?;
            d -= STRIDE;
            let s = prefix.chunk(d);
            let mut up = Node::EMPTY;
            if let Some(g) = up.grp.get_mut((s >> 5) as usize) {
                *g = (1u64 << (s & 31)) | (u64::from(block_ref(b, leaf)) << 32);
            }
            cur = up;
        }
        // `cur` is the topmost new node, at depth `top`.
        let (at, word, old) = match w.last() {
            None => {
                let b = self.take(tk, true, NODE_WORDS)?;
                self.write_node(b, &cur, false)?;
                (w.slot, slot_word(w.fib, b), (true, 0, 0))
            }
            Some(a) if a.idx & R_LEAF != 0 => {
                // `a` is stored without children: it becomes a full node
                // with `cur` as its only child, in place of the old `a`
                // in its parent's block.
                let s = prefix.chunk(top - STRIDE);
                let leaf = !cur.has_children();
                let b = self.take(tk, true, ref_words(block_ref(0, leaf)))?;
                self.write_node(b, &cur, leaf)?;
                let mut na = *a.node;
                if let Some(g) = na.grp.get_mut((s >> 5) as usize) {
                    *g = (1u64 << (s & 31)) | (u64::from(block_ref(b, leaf)) << 32);
                }
                self.prepare_replace(w, a, &na, tk)?
            }
            Some(a) => {
                let s = prefix.chunk(top - STRIDE);
                let (g, bit) = a.node.group(s);
                let k = (g as u32).count_ones();
                let pos = ((g as u32) & ((1u32 << bit) - 1)).count_ones();
                let oref = (g >> 32) as u32;
                let (oldb, ow) = (oref & !R_LEAF, ref_words(oref));
                // A new block is a leaf block if `cur` has no children;
                // an old one stays one unless `cur` has.
                let leaf = (k == 0 || oref & R_LEAF != 0) && !cur.has_children();
                let nw = ref_words(block_ref(0, leaf));
                let nb = self.take(tk, true, (k + 1) * nw)?;
                let pos = pos.min(k);
                if k == 0 || nw == ow {
                    let off = pos * nw;
                    if !(self.nodes.copy(oldb, nb, off)
                        && self
                            .nodes
                            .copy(oldb.wrapping_add(off), nb + off + nw, k * nw - off))
                    {
                        return Err(LpmError::Corrupt);
                    }
                } else {
                    // `cur` has children: the leaf siblings become full.
                    for j in 0..k {
                        let sib =
                            load_node(&self.nodes, child_ref(oref, j).ok_or(LpmError::Corrupt)?)?;
                        let to = if j < pos { j } else { j + 1 };
                        self.write_node(nb + to * nw, &sib, false)?;
                    }
                }
                self.write_node(nb + pos * nw, &cur, leaf)?;
                let gw = a
                    .idx
                    .checked_add(W_GRP + (s >> 5))
                    .ok_or(LpmError::Corrupt)?;
                let word =
                    (g & 0xffff_ffff) | (1u64 << bit) | (u64::from(block_ref(nb, leaf)) << 32);
                (gw, word, (true, oldb, k * ow))
            }
        };
        if !self.nodes.publish(at, word) {
            return Err(LpmError::Corrupt);
        }
        self.retire_all(&[old]);
        Ok(())
    }

    fn delete_at(
        &mut self,
        w: &Walk<K>,
        st: Step<'_>,
        p: Pos,
        tk: &mut Taken,
    ) -> Result<u32, LpmError> {
        let rank = st.node.rank(p);
        let old_nh = self.old_result(st.node, rank)?;
        let mut new = *st.node;
        new.flip(p);
        let nres = st.node.nres();
        if !new.is_empty() {
            new.rbase = self.new_results(tk, st.node, rank, None)?;
            let (at, word, old_block) = self.prepare_replace(w, st, &new, tk)?;
            if !self.nodes.publish(at, word) {
                return Err(LpmError::Corrupt);
            }
            self.retire_all(&[old_block, (false, st.node.rbase, nres)]);
            return Ok(old_nh);
        }
        // The node empties: remove the highest ancestor that empties with it.
        let mut top = w.len.saturating_sub(1);
        while top > 0 {
            let Some(up) = w.at(top - 1) else {
                return Err(LpmError::Corrupt);
            };
            let up = self.read_node(up.idx)?;
            let nchild: u32 = up.grp.iter().map(|g| (*g as u32).count_ones()).sum();
            if up.nres() != 0 || nchild != 1 {
                break;
            }
            top -= 1;
        }
        let Some(rm) = w.at(top) else {
            return Err(LpmError::Corrupt);
        };
        let (at, word, old) = match rm.parent {
            Parent::Slot(slot) => (
                slot,
                ((w.fib as u64) << 32) | TAG_EMPTY as u64,
                (true, rm.idx, NODE_WORDS),
            ),
            Parent::Child { parent, s } => {
                let (g, bit) = self.group_word(parent, s)?;
                let k = (g as u32).count_ones();
                let pos = ((g as u32) & ((1u32 << bit) - 1)).count_ones();
                let oref = (g >> 32) as u32;
                let (oldb, nw) = (oref & !R_LEAF, ref_words(oref));
                let nb = if k > 1 {
                    let nb = self.take(tk, true, (k - 1) * nw)?;
                    let a = pos.min(k - 1) * nw;
                    let rest = (k - 1) * nw - a;
                    if !(self.nodes.copy(oldb, nb, a)
                        && self.nodes.copy(oldb.wrapping_add(a + nw), nb + a, rest))
                    {
                        return Err(LpmError::Corrupt);
                    }
                    nb
                } else {
                    0
                };
                let gw = parent
                    .checked_add(W_GRP + (s >> 5))
                    .ok_or(LpmError::Corrupt)?;
                let rest = (g as u32) & !(1u32 << bit);
                let word = if rest == 0 {
                    0
                } else {
                    rest as u64 | (u64::from(nb | (oref & R_LEAF)) << 32)
                };
                (gw, word, (true, oldb, k * nw))
            }
        };
        if !self.nodes.publish(at, word) {
            return Err(LpmError::Corrupt);
        }
        self.retire_all(&[old, (false, st.node.rbase, nres)]);
        // Nodes below the removed one were sole children: own blocks.
        for i in top + 1..w.len {
            if let Some(x) = w.at(i) {
                self.retire_all(&[(true, x.idx & !R_LEAF, ref_words(x.idx))]);
            }
        }
        Ok(old_nh)
    }
}

/// An accelerator node as built: child bitmap, leaf bitmap, child block
/// index (low half) and leaf block index (high half); or, for a node
/// with [`inline_leaves`], its one or two leaves in the third word.
type PNode = [u64; 3];

/// [`Lpm::anchor`]'s answer: a leaf value and, if there is one, the
/// Tree Bitmap node (reference, depth) that holds the lengths below.
type Anchor = (u32, Option<(u32, u32)>);

/// What [`Lpm::splice_pnode`] made of a change.
enum Splice {
    /// The case does not apply: rebuild the node.
    Rebuild,
    /// Done: the node's leaves changed in place, or did not change.
    InPlace,
    /// This node, built and not yet published, takes the old one's place.
    New(PNode),
}

/// Whether the accelerator node `p` holds its leaves in its third word
/// (low half first) instead of a leaf block: it has no children and at
/// most two leaf runs. Deep IPv6 nodes are mostly like this (a /48 under
/// its /32's value, an IPv4 /25 in its /24), and a lookup that ends in
/// one reads no leaf block.
fn inline_leaves(p: &PNode) -> bool {
    p[0] == 0 && p[1].count_ones() <= 2
}

/// The leaf block of the accelerator node `p` (index, words), if it has
/// one.
fn leaf_block(p: &PNode) -> Option<(u32, u32)> {
    let nl = p[1].count_ones();
    if nl == 0 || inline_leaves(p) {
        None
    } else {
        Some(((p[2] >> 32) as u32, nl.div_ceil(2)))
    }
}

// ---- Direct-pointing accelerator (write side) ----
impl<K: Key, N: Arena<u64>, R: Arena<u32>> Lpm<K, N, R> {
    /// FIBs with at least `routes` routes get an accelerator (IPv4:
    /// 1.06 MiB of node arena plus its nodes; IPv6: 17 KiB, 17 KiB more
    /// per /12 holding a route longer than /12, plus nodes) on their next
    /// [`Lpm::flush`]; one that falls below half of it, or to no route,
    /// loses it (at the update, or at the next flush after the threshold
    /// was raised). `u32::MAX` (the default) turns accelerators off
    /// for FIBs that do not have one yet.
    pub fn set_accel_threshold(&mut self, routes: u32) {
        self.accel_min = routes;
    }

    /// Routes in `fib`.
    pub fn fib_routes(&self, fib: u32) -> u64 {
        match self.fib_slot(fib, false) {
            Ok((at, w)) if (w >> 32) as u32 == fib && w as u32 >= 2 => self
                .nodes
                .get(self.acc_at(at))
                .map_or(0, |a| (a & ACC_COUNT) >> 32),
            _ => 0,
        }
    }

    /// Whether `fib` has an accelerator, and how many of its direct-table
    /// entries are dirty (answered by the Tree Bitmap until the next
    /// [`Lpm::flush`]).
    pub fn accel_state(&self, fib: u32) -> Option<u32> {
        let (at, w) = self.fib_slot(fib, false).ok()?;
        if (w >> 32) as u32 != fib || (w as u32) < 2 {
            return None;
        }
        let d = (self.nodes.get(self.acc_at(at))? as u32).checked_sub(1)?;
        let (bm, sm, _) = dir_layout(Self::entry_bits());
        let mut n = 0u32;
        for k in 0..Self::entry_blocks() {
            match self.entry_block(d, k) {
                Some(b) => {
                    for i in bm..sm {
                        n = n.saturating_add(self.nodes.get(b + i)?.count_ones());
                    }
                }
                // A dirty slot of a two-level table: all its entries.
                None if half(self.nodes.get(d + (k >> 1))?, k) == E_DIRTY => {
                    n = n.saturating_add(1 << page_bits::<K>());
                }
                None => {}
            }
        }
        Some(n)
    }

    /// The accelerator's own answer for `key` in `fib` (the nexthop, or
    /// `None` for no route), without the Tree Bitmap: `None` if `fib` has
    /// no accelerator or it defers to the Tree Bitmap for `key` (a dirty
    /// entry, or words it cannot read). With no dirty entry
    /// ([`Lpm::accel_state`] `Some(0)`) every address gets an answer
    /// here; anything else is a fault that [`Lpm::lookup`] would hide.
    pub fn accel_lookup(&self, fib: u32, key: K) -> Option<Option<u32>> {
        let (at, _) = find_slot(&self.nodes, self.rd.fib_base, self.rd.fib_mask, fib)?;
        let d = (self.nodes.get(at.wrapping_add(1))? as u32).checked_sub(1)?;
        dir_lookup(&self.nodes, d, key)
    }

    /// Brings `fib`'s accelerator up to date: creates it if the FIB has
    /// reached the threshold ([`Lpm::set_accel_threshold`]) and rebuilds
    /// every dirty direct-table entry from the Tree Bitmap. Lookups are
    /// right before, during and after (dirty entries use the Tree
    /// Bitmap); a failure ([`LpmError::NoMemory`]) leaves the remaining
    /// entries dirty and can be retried.
    pub fn flush(&mut self, fib: u32) -> Result<(), LpmError> {
        self.flush_opt(fib, true)
    }

    /// [`Lpm::flush`] without creating an accelerator (only rebuilding,
    /// or dropping one below half the threshold): for the end of each
    /// request, while creation waits for a quiet moment.
    pub fn flush_dirty(&mut self, fib: u32) -> Result<(), LpmError> {
        self.flush_opt(fib, false)
    }

    /// Whether `fib` has reached the threshold but has no accelerator.
    pub fn accel_wanted(&self, fib: u32) -> bool {
        u64::from(self.accel_min) <= self.fib_routes(fib) && self.accel_state(fib).is_none()
    }

    fn flush_opt(&mut self, fib: u32, create: bool) -> Result<(), LpmError> {
        let (at, w) = self.fib_slot(fib, false)?;
        if (w >> 32) as u32 != fib || (w as u32) < 2 {
            return Ok(());
        }
        let aa = self.acc_at(at);
        let mut acc = self.nodes.get(aa).ok_or(LpmError::Corrupt)?;
        if acc as u32 == 0 {
            if !create || (acc & ACC_COUNT) >> 32 < u64::from(self.accel_min) {
                return Ok(());
            }
            // Every entry (or top slot) dirty, and all their bits set.
            let size = dir_layout(root_bits::<K>()).2;
            let d = self.nodes.try_alloc(size).map_err(|_| LpmError::NoMemory)?;
            if d >= E_NODE - size {
                self.nodes.free(d, size);
                return Err(LpmError::NoMemory);
            }
            for i in 0..size {
                if !self.nodes.set(d + i, u64::MAX) {
                    self.nodes.free(d, size);
                    return Err(LpmError::Corrupt);
                }
            }
            acc = (acc & ACC_COUNT) | ACC_DIRTY | u64::from(d + 1);
            if !self.nodes.publish(aa, acc) {
                self.nodes.free(d, size);
                return Err(LpmError::Corrupt);
            }
        }
        if (acc & ACC_COUNT) >> 32 < u64::from(self.accel_min / 2) {
            self.drop_accel(at);
            return Ok(());
        }
        if acc & ACC_DIRTY == 0 {
            return Ok(());
        }
        let d = (acc as u32).wrapping_sub(1);
        self.flush_block(fib, d, d, (K::TOP_BITS == 0).then_some(0))?;
        self.nodes.set(aa, acc & !ACC_DIRTY);
        Ok(())
    }

    /// Rebuilds the dirty entries of the block at `b` of the direct table
    /// at `d`: entries `first..` (the table, or a page of a two-level
    /// one), or, for `None`, the flagged slots of a two-level table's top.
    /// On error what is left stays flagged for the next flush.
    fn flush_block(
        &mut self,
        fib: u32,
        d: u32,
        b: u32,
        first: Option<u32>,
    ) -> Result<(), LpmError> {
        let bits = match first {
            Some(_) => Self::entry_bits(),
            None => K::TOP_BITS,
        };
        let (bm, sm, _) = dir_layout(bits);
        let (bm, sm) = (b + bm, b + sm);
        for si in 0..1u32 << (bits - 12) {
            let mut sw = self.nodes.get(sm + si).ok_or(LpmError::Corrupt)?;
            while sw != 0 {
                let bi = si * 64 + sw.trailing_zeros();
                let mut bw = self.nodes.get(bm + bi).ok_or(LpmError::Corrupt)?;
                while bw != 0 {
                    let i = bi * 64 + bw.trailing_zeros();
                    let r = match first {
                        Some(e0) => self.rebuild_entry(fib, d, e0 + i),
                        None => self.flush_slot(fib, d, i),
                    };
                    if r.is_err() {
                        // Keep what is left dirty for the next flush.
                        self.nodes.set(bm + bi, bw);
                        self.nodes.set(sm + si, sw);
                        return r;
                    }
                    bw &= bw - 1;
                }
                self.nodes.set(bm + bi, 0);
                sw &= sw - 1;
            }
            self.nodes.set(sm + si, 0);
        }
        Ok(())
    }

    /// Brings flagged slot `t` of the two-level table at `d` up to date:
    /// a dirty slot becomes one leaf if no route in it is longer than the
    /// top's bits, else gets a page of dirty entries; then the dirty
    /// entries of its page are rebuilt.
    fn flush_slot(&mut self, fib: u32, d: u32, t: u32) -> Result<(), LpmError> {
        let top = half(self.nodes.get(d + (t >> 1)).ok_or(LpmError::Corrupt)?, t);
        let page = if top == E_DIRTY {
            let p = K::ZERO.with_bits(0, K::TOP_BITS, t);
            let n = self.count_longer(fib, p, K::TOP_BITS)?;
            if n == 0 {
                let v = self.anchor(fib, p, K::TOP_BITS)?.0;
                return match self.put_half(d, t, v) {
                    true => Ok(()),
                    false => Err(LpmError::Corrupt),
                };
            }
            self.make_page(d, t, E_DIRTY, n)?
        } else if top & E_NODE != 0 {
            top & E_INDEX
        } else {
            return Ok(());
        };
        self.flush_block(fib, d, page, Some(t << page_bits::<K>()))
    }

    /// How many routes of `fib` under `p/len` are longer than `len`.
    /// Takes time linear in that count.
    fn count_longer(&self, fib: u32, p: K, len: u32) -> Result<u64, LpmError> {
        if self.anchor(fib, p, len)?.1.is_none() {
            return Ok(0);
        }
        // Walk order puts every route longer than `len` under `p/len`
        // right after `p/len`.
        let mut n = 0u64;
        self.walk(fib, Some((p, len as u8)), |q, l, _| {
            let under = u32::from(l) > len && q.mask(len) == p;
            n += u64::from(under);
            under
        })?;
        Ok(n)
    }

    /// The route count word of the page at `p` of a two-level table:
    /// routes longer than the top's bits in the page's slot.
    fn page_count(p: u32) -> u32 {
        p + dir_layout(page_bits::<K>()).2 - 1
    }

    /// After `delta` (+1 or -1) routes longer than the top's bits in slot
    /// `t` of the two-level table at `d`, which has the page `p`: counts
    /// them, and when the last one goes, gives the slot back its one leaf
    /// and retires the page. `true` if it did.
    fn count_page(&mut self, fib: u32, d: u32, t: u32, p: u32, delta: i32) -> bool {
        let at = Self::page_count(p);
        let pfx = K::ZERO.with_bits(0, K::TOP_BITS, t);
        let Some(mut n) = self.nodes.get(at) else {
            return false;
        };
        if delta == 0 {
            return false;
        }
        if delta < 0 && n == 0 {
            // Not counted right: count again.
            n = self.count_longer(fib, pfx, K::TOP_BITS).unwrap_or(1) + 1;
        }
        n = if delta < 0 {
            n - 1
        } else {
            n.saturating_add(1)
        };
        self.nodes.set(at, n);
        if n != 0 {
            return false;
        }
        // No route longer than the top's bits is left in the slot: all
        // its entries are one leaf, the slot's longest route.
        let Ok((v, _)) = self.anchor(fib, pfx, K::TOP_BITS) else {
            return false;
        };
        if !self.put_half(d, t, v) {
            return false;
        }
        self.retire_roots(p);
        self.nodes.retire(p, dir_layout(page_bits::<K>()).2);
        true
    }

    /// Node-arena index of the accelerator word of the FIB slot at `at`
    /// (the word after it: both share a cache line).
    fn acc_at(&self, at: u32) -> u32 {
        at.wrapping_add(1)
    }

    /// Starts loading the direct-table word that [`Lpm::touch`] will read
    /// after an update of `prefix` in the FIB at slot `at`, so that its
    /// cache miss overlaps the Tree Bitmap walk instead of following the
    /// update. The table's 1 MiB (IPv4) or its pages rarely stay cached
    /// between random updates; prefetching the region root as well (a
    /// load of the entry during the walk) measured no better.
    #[inline(always)]
    fn warm(&self, at: u32, prefix: K) {
        let Some(d) = self
            .nodes
            .get(self.acc_at(at))
            .and_then(|acc| (acc as u32).checked_sub(1))
        else {
            return;
        };
        if let Some(Ok((b, i))) = self.entry_loc(d, prefix.bits(0, K::DIR_BITS)) {
            self.nodes.prefetch(b.wrapping_add(i >> 1));
        }
    }

    /// Adds `delta` (+1 or -1) to the route count of the FIB slot at `at`.
    fn count_route(&mut self, at: u32, add: bool) -> u64 {
        let aa = self.acc_at(at);
        let Some(a) = self.nodes.get(aa) else {
            return 0;
        };
        let n = (a & ACC_COUNT) >> 32;
        let n = if add { n + 1 } else { n.saturating_sub(1) }.min(ACC_COUNT >> 32);
        self.nodes.publish(aa, (a & !ACC_COUNT) | (n << 32));
        n
    }

    /// After a change of `prefix/len` in the FIB slot at `at` (`delta`:
    /// +1 added, -1 deleted, 0 replaced): brings the direct-table entries
    /// it covers up to date, or marks them dirty. Anything unexpected
    /// drops the accelerator (lookups fall back to the Tree Bitmap).
    fn touch(&mut self, fib: u32, at: u32, prefix: K, len: u8, delta: i32) {
        let aa = self.acc_at(at);
        let Some(acc) = self.nodes.get(aa) else {
            return;
        };
        let Some(d) = (acc as u32).checked_sub(1) else {
            return;
        };
        let len = u32::from(len);
        let e0 = prefix.bits(0, K::DIR_BITS);
        let pb = page_bits::<K>();
        if K::TOP_BITS != 0 && len > K::TOP_BITS {
            // A slot with a route longer than the top's bits has a page
            // (a slot without one reads as one leaf): give it one now, or
            // leave the whole slot dirty.
            let t = e0 >> pb;
            match self.nodes.get(d.wrapping_add(t >> 1)).map(|w| half(w, t)) {
                None => {
                    self.drop_accel(at);
                    return;
                }
                Some(top) if top & E_NODE == 0 => match self.make_page(d, t, top, 0) {
                    Ok(p) => {
                        if self.count_page(fib, d, t, p, delta) {
                            return;
                        }
                    }
                    Err(_) => {
                        if self.mark_slot(d, t).is_none() {
                            self.drop_accel(at);
                        } else {
                            self.nodes.publish(aa, acc | ACC_DIRTY);
                        }
                        return;
                    }
                },
                // A dirty slot is counted when it is rebuilt.
                Some(E_DIRTY) => {}
                Some(top) => {
                    if delta != 0 && self.count_page(fib, d, t, top & E_INDEX, delta) {
                        return;
                    }
                }
            }
        }
        if len > K::DIR_BITS {
            // One entry: rebuild in place what the prefix reaches, or the
            // whole (small) region if it has no node yet.
            let done = match self.entry(d, e0) {
                Some(E_DIRTY) | None => false,
                Some(x) if x & E_NODE != 0 => self.update_path(fib, d, e0, x, prefix, len).is_ok(),
                Some(_) => self.rebuild_entry(fib, d, e0).is_ok(),
            };
            if done {
                return;
            }
        }
        let end = e0.saturating_add(1u32 << K::DIR_BITS.saturating_sub(len));
        let mut dirty = false;
        let mut e = e0;
        while e < end {
            if K::TOP_BITS != 0 && len <= K::TOP_BITS {
                // Whole slots: one without a page (no route in it is
                // longer than the top's bits) takes its new leaf at once.
                let t = e >> pb;
                let Some(top) = self.nodes.get(d.wrapping_add(t >> 1)).map(|w| half(w, t)) else {
                    self.drop_accel(at);
                    return;
                };
                if top & E_NODE == 0 || top == E_DIRTY {
                    let p = K::ZERO.with_bits(0, K::TOP_BITS, t);
                    // A dirty slot is rebuilt by the next flush anyway.
                    let ok = top == E_DIRTY
                        || match self.anchor(fib, p, K::TOP_BITS) {
                            Ok((v, _)) => v == top || self.put_half(d, t, v),
                            Err(_) => false,
                        };
                    if !ok {
                        if self.mark_slot(d, t).is_none() {
                            self.drop_accel(at);
                            return;
                        }
                        dirty = true;
                    }
                    e = e.saturating_add(1 << pb);
                    continue;
                }
            }
            // A shorter prefix changes each entry's longest route of at
            // most DIR_BITS bits: in place where the entry is a leaf or a
            // root without children, else rebuilt on the next flush.
            if len <= K::DIR_BITS && self.update_entry(fib, d, e, prefix).unwrap_or(false) {
                e += 1;
                continue;
            }
            if self.mark_entry(d, e).is_none() {
                self.drop_accel(at);
                return;
            }
            dirty = true;
            e += 1;
        }
        if dirty {
            self.nodes.publish(aa, acc | ACC_DIRTY);
        }
    }

    /// After a change of a route of at most `DIR_BITS` bits that covers
    /// direct entry `e` (table at `d`) of `fib` (`key` is any address
    /// with the first bits of the route): updates the entry in place. Its
    /// new default is its longest route of at most `DIR_BITS` bits; a
    /// leaf entry takes it, and a region root without children gives it
    /// to the slots that no route longer than `DIR_BITS` bits covers
    /// ([`Lpm::update_slots`]).
    /// Returns `false`, having changed nothing, if the entry must be
    /// rebuilt (dirty, a root with children, or a root whose leaves would
    /// all be equal).
    fn update_entry(&mut self, fib: u32, d: u32, e: u32, key: K) -> Result<bool, LpmError> {
        let ent = self.entry(d, e).ok_or(LpmError::Corrupt)?;
        let ep = key.with_bits(0, K::DIR_BITS, e);
        if ent == E_DIRTY {
            return Ok(false);
        }
        if ent & E_NODE != 0 {
            return self.update_slots(fib, d, e, ent, ep, K::DIR_BITS);
        }
        let v = self.anchor(fib, ep, K::DIR_BITS)?.0;
        Ok(v == ent || self.publish_entry(d, e, v))
    }

    /// After a change of `prefix/len` (`len > DIR_BITS`) in `fib`, whose
    /// direct entry `e` (table at `d`) holds `rent`, a region root
    /// ([`E_NODE`]): rebuilds only the deepest node on the prefix's path whose
    /// slots it affects (reusing that node's other children as they are)
    /// and publishes it with one store: a new child block for its parent,
    /// or a new region root. Everything is allocated before the publish; on an
    /// error nothing was published and nothing is leaked (the caller then
    /// marks the entry dirty).
    fn update_path(
        &mut self,
        fib: u32,
        d: u32,
        e: u32,
        rent: u32,
        prefix: K,
        len: u32,
    ) -> Result<(), LpmError> {
        if len <= K::DIR_BITS + PSTRIDE && self.update_slots(fib, d, e, rent, prefix, len)? {
            return Ok(());
        }
        let root = rent & E_INDEX;
        let (root_w, rsize) = self.root(rent).ok_or(LpmError::Corrupt)?;
        let mut path = [(0u32, [0u64; 3]); MAX_PLEVELS];
        let mut n = 0usize;
        let (mut idx, mut depth) = (root, K::DIR_BITS);
        loop {
            let w = if n == 0 {
                root_w
            } else {
                self.pnode(idx).ok_or(LpmError::Corrupt)?
            };
            *path.get_mut(n).ok_or(LpmError::Corrupt)? = (idx, w);
            n += 1;
            if len <= depth + PSTRIDE {
                break;
            }
            let c = prefix.bits(depth, PSTRIDE);
            if (w[0] >> c) & 1 == 0 {
                break;
            }
            let r = (w[0] & (u64::MAX >> (63 - c)))
                .count_ones()
                .saturating_sub(1);
            idx = (w[2] as u32)
                .checked_add(r * PNODE_WORDS)
                .ok_or(LpmError::Corrupt)?;
            depth += PSTRIDE;
        }
        // The node rebuilt is the deepest one the prefix reaches or, if it
        // empties, its parent (and so on up). The parent's child bitmap
        // stays as it was, so the new node is published with one store
        // of the parent's block word: a copy of its child block with the
        // new node in its slot. Readers that loaded the bitmap before or
        // after that store index either block consistently, and nothing
        // above the parent is copied. A rebuilt region root is published
        // by its direct entry. The block is allocated before the rebuild,
        // so that nothing can fail after it.
        let mut lvl = n - 1;
        // The deepest node, if it has no children, may only need its
        // leaves spliced; that can be done in place.
        let mut spliced = None;
        if lvl > 0 {
            let (at, old) = *path.get(lvl).ok_or(LpmError::Corrupt)?;
            let dt = K::DIR_BITS + lvl as u32 * PSTRIDE;
            match self.splice_pnode(fib, dt, at, &old, prefix, len)? {
                Splice::InPlace => return Ok(()),
                Splice::New(w) => spliced = Some(w),
                Splice::Rebuild => {}
            }
        }
        // The child on the prefix's path emptied (and was not rebuilt).
        let mut gone = false;
        let (new, reused, lvl, blk, size) = loop {
            let size = match lvl.checked_sub(1) {
                None => PNODE_WORDS,
                Some(up) => path.get(up).map_or(0, |p| p.1[0].count_ones()) * PNODE_WORDS,
            };
            let blk = match self.nodes.try_alloc(size) {
                // A root block's index must fit a direct entry.
                Ok(b) if lvl == 0 && b >= E_INDEX => {
                    self.nodes.free(b, size);
                    return Err(LpmError::NoMemory);
                }
                Ok(b) => b,
                Err(_) => {
                    if let Some(w) = spliced {
                        self.release_unused(&w, 0, false);
                    }
                    return Err(LpmError::NoMemory);
                }
            };
            let dt = K::DIR_BITS + lvl as u32 * PSTRIDE;
            let pt = prefix.mask(dt);
            let old = path.get(lvl).ok_or(LpmError::Corrupt)?.1;
            let rebuilt = match spliced.take() {
                Some(w) => Ok((Some(w), 0)),
                None => self.rebuild_pnode(fib, pt, dt, &old, prefix, len, gone),
            };
            match rebuilt {
                Ok((Some(w), reused)) => break (Some(w), reused, lvl, blk, size),
                Ok((None, _)) if lvl == 0 => break (None, 0, 0, blk, size),
                Ok((None, _)) => {
                    // The node emptied: rebuild its parent instead.
                    self.nodes.free(blk, size);
                    lvl -= 1;
                    gone = true;
                }
                Err(err) => {
                    self.nodes.free(blk, size);
                    return Err(err);
                }
            }
        };
        let old = path.get(lvl).ok_or(LpmError::Corrupt)?.1;
        if let Some(up) = lvl.checked_sub(1) {
            let (pidx, pw) = *path.get(up).ok_or(LpmError::Corrupt)?;
            let c = prefix.bits(K::DIR_BITS + up as u32 * PSTRIDE, PSTRIDE);
            let k = pw[0].count_ones();
            // The path went through slot `c`: its bit is set.
            let r = (pw[0] & (u64::MAX >> (63 - c)))
                .count_ones()
                .checked_sub(1)
                .filter(|&r| r < k);
            let nw = u64::from(blk) | (pw[2] & !0xffff_ffff);
            let published = match (r, new) {
                (Some(r), Some(words)) if self.nodes.copy(pw[2] as u32, blk, size) => {
                    for (j, x) in (0u32..).zip(words) {
                        self.nodes.set(blk + r * PNODE_WORDS + j, x);
                    }
                    self.nodes.publish(pidx.wrapping_add(2), nw)
                }
                _ => false,
            };
            if !published {
                // The new node's reused children still belong to `old`.
                if let Some(w) = new {
                    self.release_unused(&w, reused, false);
                }
                self.nodes.free(blk, size);
                return Err(LpmError::Corrupt);
            }
            // Retire what the new block replaced (after the publish: a
            // reader that starts before it may read all of it).
            self.retire_unused(&old, reused);
            self.nodes.retire(pw[2] as u32, size);
            return Ok(());
        }
        let ent = match new {
            // A root without children takes a block of its own size.
            Some(w) if w[0] == 0 => {
                self.nodes.free(blk, size);
                self.store_root(&w)?
            }
            Some(w) => {
                for (j, x) in (0u32..).zip(w) {
                    self.nodes.set(blk + j, x);
                }
                E_NODE | blk
            }
            None => {
                self.nodes.free(blk, size);
                self.anchor(fib, prefix.mask(K::DIR_BITS), K::DIR_BITS)?.0
            }
        };
        if !self.publish_entry(d, e, ent) {
            self.discard_root(ent, reused);
            return Err(LpmError::Corrupt);
        }
        if rent & E_LEAF == 0 {
            self.retire_unused(&old, reused);
        }
        // An E_LEAF root has no children: its block is all there is.
        self.nodes.retire(root, rsize);
        Ok(())
    }

    /// [`Lpm::update_path`]'s common case: `prefix/len` (`DIR_BITS <= len
    /// <= DIR_BITS + PSTRIDE`, an IPv4 /18../24) spans slots of the region
    /// root of entry `rent`, which has no children and keeps none, and
    /// the new root is one block ([`E_LEAF`]); see [`Lpm::spliced`].
    /// Returns `false`, having changed nothing, when the case does not
    /// apply (the root has children, or every leaf would be equal); on an
    /// error nothing was published and nothing is leaked.
    fn update_slots(
        &mut self,
        fib: u32,
        d: u32,
        e: u32,
        rent: u32,
        prefix: K,
        len: u32,
    ) -> Result<bool, LpmError> {
        let (old, osize) = self.root(rent).ok_or(LpmError::Corrupt)?;
        if old[0] != 0 {
            return Ok(false);
        }
        let mut new = [0u32; 64];
        let Some((lv, nl, changed)) =
            self.spliced(fib, &old, K::DIR_BITS, prefix, len, &mut new)?
        else {
            return Ok(false);
        };
        if !changed {
            return Ok(true);
        }
        if nl < 2 {
            // The region becomes one leaf: the general path drops the node.
            return Ok(false);
        }
        if lv == old[1] && rent & E_LEAF != 0 {
            // Same runs, other values (a replace, or a /24 whose slot is
            // a run of its own): the leaves change in place, with nothing
            // to allocate or retire. A word missing from the arena leaves
            // the entry for the caller to mark dirty and rebuild.
            let b0 = (rent & E_INDEX).wrapping_add(1);
            return match self.put_runs(b0, &new, nl, true) {
                true => Ok(true),
                false => Err(LpmError::Corrupt),
            };
        }
        let size = 1 + nl.div_ceil(2);
        let n = self.alloc_root(size)?;
        self.nodes.set(n, lv);
        self.put_runs(n + 1, &new, nl, false);
        if !self.publish_entry(d, e, E_NODE | E_LEAF | n) {
            self.nodes.free(n, size);
            return Err(LpmError::Corrupt);
        }
        let root = rent & E_INDEX;
        self.nodes.retire(root, osize);
        if rent & E_LEAF == 0 {
            if let Some((b0, w)) = leaf_block(&old) {
                self.nodes.retire(b0, w);
            }
        }
        Ok(true)
    }

    /// [`Lpm::update_path`]'s common case below a region root (an IPv6
    /// /48): `prefix/len` spans slots of the node `old` at `depth` (at
    /// index `at`), which has no children, so the new node is `old` with
    /// its leaves spliced ([`Lpm::spliced`]). With the same runs the
    /// leaves change in place, in its leaf block or its third word (one
    /// published word each); otherwise the new node has a new leaf block
    /// (none if they fit in its third word). [`Splice::Rebuild`], with
    /// nothing allocated or changed, when the case does not apply.
    fn splice_pnode(
        &mut self,
        fib: u32,
        depth: u32,
        at: u32,
        old: &PNode,
        prefix: K,
        len: u32,
    ) -> Result<Splice, LpmError> {
        if old[0] != 0 || len <= depth || len > depth + PSTRIDE {
            return Ok(Splice::Rebuild);
        }
        let mut new = [0u32; 64];
        let Some((lv, nl, changed)) = self.spliced(fib, old, depth, prefix, len, &mut new)? else {
            return Ok(Splice::Rebuild);
        };
        if nl < 2 {
            // Every slot equal: the parent takes a leaf instead.
            return Ok(Splice::Rebuild);
        }
        if !changed {
            return Ok(Splice::InPlace);
        }
        let leaf = |i: usize| u64::from(new.get(i).copied().unwrap_or(0));
        let inline = inline_leaves(&[0, lv, 0]);
        if lv == old[1] {
            let done = match (inline, leaf_block(old)) {
                (true, _) => self
                    .nodes
                    .publish(at.wrapping_add(2), leaf(0) | leaf(1) << 32),
                (false, Some((b0, _))) => self.put_runs(b0, &new, nl, true),
                (false, None) => false,
            };
            return match done {
                true => Ok(Splice::InPlace),
                false => Err(LpmError::Corrupt),
            };
        }
        if inline {
            return Ok(Splice::New([0, lv, leaf(0) | leaf(1) << 32]));
        }
        let b0 = self
            .nodes
            .try_alloc(nl.div_ceil(2))
            .map_err(|_| LpmError::NoMemory)?;
        self.put_runs(b0, &new, nl, false);
        Ok(Splice::New([0, lv, u64::from(b0) << 32]))
    }

    /// The leaves of the node `old` at `depth`, which has no children,
    /// after a change of `prefix/len` (`depth <= len <= depth +
    /// PSTRIDE`): the spanned slots that no route longer than `len` (and
    /// of at most `depth + PSTRIDE` bits) covers all take one leaf, the longest
    /// remaining route of at most `len` bits covering the prefix, asked
    /// of the Tree Bitmap once; the others keep theirs, copied instead of
    /// painted again. Writes the run values to `new` and returns the leaf
    /// bitmap, the run count and whether anything changed; `None` if the
    /// lengths between `len` and `depth + PSTRIDE` are not all in one
    /// Tree Bitmap node.
    fn spliced(
        &self,
        fib: u32,
        old: &PNode,
        depth: u32,
        prefix: K,
        len: u32,
        new: &mut [u32; 64],
    ) -> Result<Option<(u64, u32, bool)>, LpmError> {
        let end = depth + PSTRIDE;
        let (val, tbn) = self.anchor(fib, prefix, len)?;
        let span = 1u32 << (end - len);
        let c0 = prefix.bits(depth, PSTRIDE);
        let mut set = (u64::MAX >> (64 - span)) << c0;
        if let Some((nref, dd)) = tbn.filter(|_| len < end) {
            if end > dd + STRIDE {
                return Ok(None);
            }
            set &= !self.covered_slots(nref, dd, prefix, len, depth)?;
        }
        let onl = old[1].count_ones();
        let runs = self.run_values(old)?;
        let (lv, nl) = if set.count_ones() == 1 {
            // One slot (an IPv4 /24): split its run, costing the runs only.
            set_slot(old[1], &runs, set.trailing_zeros(), val, new).ok_or(LpmError::Corrupt)?
        } else {
            // One pass: each slot's new leaf (the old run's, or `val`
            // where spanned and not covered), and a run where it differs
            // from the slot before.
            let (mut lv, mut k) = (0u64, 0usize);
            let (mut r, mut cur) = (0usize, 0u32);
            let mut prev = None;
            for c in 0..64u32 {
                if (old[1] >> c) & 1 != 0 {
                    cur = runs.get(r).copied().ok_or(LpmError::Corrupt)?;
                    r += 1;
                }
                let v = if (set >> c) & 1 != 0 { val } else { cur };
                if prev != Some(v) {
                    lv |= 1u64 << c;
                    if let Some(y) = new.get_mut(k) {
                        *y = v;
                    }
                    k += 1;
                    prev = Some(v);
                }
            }
            (lv, k as u32)
        };
        let changed = lv != old[1] || new.get(..nl as usize) != runs.get(..onl as usize);
        Ok(Some((lv, nl, changed)))
    }

    /// Writes the `nl` run values of `new`, two to a word, from `at`:
    /// into a block not yet published or, with `live`, into the leaf
    /// block of a published node whose leaf bitmap stays as it is, where
    /// each word that changes is published on its own (a reader ranks
    /// the same bitmap either way and loads one word: the old leaf or
    /// the new one). `false` if a word is not in the arena.
    fn put_runs(&mut self, at: u32, new: &[u32; 64], nl: u32, live: bool) -> bool {
        for (i, pair) in (0u32..).zip(new.chunks(2)).take(nl.div_ceil(2) as usize) {
            let lo = u64::from(pair.first().copied().unwrap_or(0));
            let hi = if 2 * i + 1 < nl {
                u64::from(pair.get(1).copied().unwrap_or(0))
            } else {
                0
            };
            let a = at.wrapping_add(i);
            let ok = if !live {
                self.nodes.set(a, lo | hi << 32)
            } else {
                match self.nodes.get(a) {
                    Some(w) if w == lo | hi << 32 => true,
                    Some(_) => self.nodes.publish(a, lo | hi << 32),
                    None => false,
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// The slots of the accelerator node at `depth` on `prefix`'s path
    /// that a route longer than `len` and at most `depth + PSTRIDE` bits
    /// covers, from the Tree Bitmap node `nref` at depth `dd` that holds
    /// those lengths (`dd <= len`, `depth <= len` and `depth + PSTRIDE <=
    /// dd + STRIDE`). The routes of each length under the prefix are an
    /// aligned window of one bitmap word.
    fn covered_slots(
        &self,
        nref: u32,
        dd: u32,
        prefix: K,
        len: u32,
        depth: u32,
    ) -> Result<u64, LpmError> {
        let idx = nref & !R_LEAF;
        let word = |i: u32| self.nodes.get(idx.wrapping_add(i)).ok_or(LpmError::Corrupt);
        let pb = prefix.chunk(dd);
        let c0 = prefix.bits(depth, PSTRIDE);
        let end = depth + PSTRIDE;
        let mut cov = 0u64;
        for l in len + 1..=end.min(dd + STRIDE) {
            // Length `l` is relative length `j` of the node: the full
            // bitmap, or heap bits `(1 << j) | top j bits`.
            let j = l - dd;
            let (wi, h) = if j >= STRIDE {
                (W_FULL + (pb >> 6), pb & 63)
            } else {
                let h = (1u32 << j) | (pb >> (STRIDE - j));
                (W_INT + (h >> 6), h & 63)
            };
            let cnt = 1u32 << (l - len);
            let mut w = (word(wi)? >> h) & (u64::MAX >> (64 - cnt));
            // Each route of length `l` covers `width` slots.
            let width = 1u32 << (end - l);
            if width == 1 {
                cov |= w << c0;
                continue;
            }
            let ones = u64::MAX >> (64 - width);
            while w != 0 {
                let i = w.trailing_zeros();
                w &= w - 1;
                cov |= ones << (c0 + i * width);
            }
        }
        Ok(cov)
    }

    /// Rebuilds the accelerator node `old` for `prefix/depth` after a change of `changed/len`: new leaves and child
    /// block; the children whose slots the change does not reach are
    /// copied as they are, the others built again. Returns the new node
    /// (`None`: nothing under the prefix is longer than `depth`) and the
    /// slots whose children it reuses, for [`Lpm::retire_unused`] after
    /// the publish. `gone`: the child on `changed`'s path is known to
    /// have emptied. On error frees what it allocated.
    #[allow(clippy::too_many_arguments)]
    fn rebuild_pnode(
        &mut self,
        fib: u32,
        prefix: K,
        depth: u32,
        old: &PNode,
        changed: K,
        len: u32,
        gone: bool,
    ) -> Result<(Option<PNode>, u64), LpmError> {
        let end = depth + PSTRIDE;
        let c0 = changed.bits(depth, PSTRIDE);
        let (lo, hi) = if len <= end {
            (c0, c0 + (1u32 << (end - len)))
        } else {
            (c0, c0 + 1)
        };
        let reach = |c: u32| c >= lo && c < hi;
        if len > end {
            if let Some(done) = self.rechild_pnode(fib, prefix, depth, old, c0, gone)? {
                return Ok((Some(done.0), done.1));
            }
        }
        let Some(p) = self.alloc_pnode(fib, prefix, depth, None, None)? else {
            return Ok((None, 0));
        };
        let b1 = p[2] as u32;
        let (ob1, ov) = (old[2] as u32, old[0]);
        let mut bits = p[0];
        let mut i = 0u32;
        let mut fresh = 0u64;
        let mut reused = 0u64;
        while bits != 0 {
            let c = bits.trailing_zeros();
            bits &= bits - 1;
            let at = b1 + i * PNODE_WORDS;
            let r = if !reach(c) && (ov >> c) & 1 != 0 {
                let or = (ov & (u64::MAX >> (63 - c))).count_ones().saturating_sub(1);
                reused |= 1u64 << c;
                self.pnode(ob1.wrapping_add(or * PNODE_WORDS))
                    .ok_or(LpmError::Corrupt)
            } else {
                let cdef = self.nodes.get(at + 2).ok_or(LpmError::Corrupt)? as u32;
                let cp = prefix.with_bits(depth, PSTRIDE, c);
                match self.build_pnode(fib, cp, end, cdef, None) {
                    Ok(Some(w)) => {
                        fresh |= 1u64 << c;
                        Ok(w)
                    }
                    Ok(None) => Err(LpmError::Corrupt),
                    Err(e) => Err(e),
                }
            };
            match r {
                Ok(w) => {
                    for (j, x) in (0u32..).zip(w) {
                        self.nodes.set(at + j, x);
                    }
                }
                Err(e) => {
                    // Free the fresh children, then the new blocks.
                    let mut j = 0u32;
                    let mut b = p[0];
                    while b != 0 {
                        let cc = b.trailing_zeros();
                        b &= b - 1;
                        if (fresh >> cc) & 1 != 0 {
                            if let Some(w) = self.pnode(b1 + j * PNODE_WORDS) {
                                self.release_pnode(&w, false);
                            }
                        }
                        j += 1;
                    }
                    self.free_partial(&p, 0);
                    return Err(e);
                }
            }
            i += 1;
        }
        Ok((Some(p), reused))
    }

    /// [`Lpm::rebuild_pnode`]'s case of a change below slot `c0` of the
    /// node `old` for `prefix/depth` (a route longer than `depth +
    /// PSTRIDE`): the node's leaves stand for routes of at most `depth +
    /// PSTRIDE` bits, so they stay, and only the child at `c0` is built
    /// again, added or dropped (its slot then takes its leaf, asked of
    /// the Tree Bitmap; with `gone`, the caller found it empty, and it is
    /// dropped without a look). The other children are reused (returned as
    /// slots, as [`Lpm::rebuild_pnode`] does). `None`, with nothing
    /// allocated, when the node would be left without children (the
    /// caller then paints it, to find whether it is still needed).
    fn rechild_pnode(
        &mut self,
        fib: u32,
        prefix: K,
        depth: u32,
        old: &PNode,
        c0: u32,
        gone: bool,
    ) -> Result<Option<(PNode, u64)>, LpmError> {
        let end = depth + PSTRIDE;
        let bit = 1u64 << c0;
        let cp = prefix.with_bits(depth, PSTRIDE, c0);
        if old[0] & !bit == 0 {
            return Ok(None);
        }
        let anc = self.anchor(fib, cp, end)?;
        let cdef = anc.0;
        let mut leaves = self.expand_leaves(old)?;
        if let Some(y) = leaves.get_mut(c0 as usize) {
            *y = cdef;
        }
        let child = match anc.1 {
            Some(_) if !gone => self.build_pnode(fib, cp, end, cdef, Some(anc))?,
            _ => None,
        };
        let v = (old[0] & !bit) | if child.is_some() { bit } else { 0 };
        let lv = leaf_runs(&leaves, v);
        let (b0, b1) = match self.alloc_blocks(lv.count_ones(), v.count_ones()) {
            Ok(b) => b,
            Err(e) => {
                if let Some(c) = child {
                    self.release_pnode(&c, false);
                }
                return Err(e);
            }
        };
        self.put_leaves(b0, &leaves, lv);
        let (ob1, ov) = (old[2] as u32, old[0]);
        let mut reused = 0u64;
        let mut bits = v;
        let mut i = 0u32;
        while bits != 0 {
            let c = bits.trailing_zeros();
            bits &= bits - 1;
            let w = if c == c0 {
                child
            } else {
                let or = (ov & (u64::MAX >> (63 - c))).count_ones().saturating_sub(1);
                reused |= 1u64 << c;
                self.pnode(ob1.wrapping_add(or * PNODE_WORDS))
            };
            let Some(w) = w else {
                // The old child block is not where `old` says. Free the
                // new blocks and the new child, written or not.
                let later = v & !(u64::MAX >> (63 - c));
                if let Some(cw) = child.filter(|_| (later >> c0) & 1 != 0) {
                    self.release_pnode(&cw, false);
                }
                let p = [v, lv, u64::from(b1) | u64::from(b0) << 32];
                self.release_unused(&p, reused | later, false);
                return Err(LpmError::Corrupt);
            };
            for (j, x) in (0u32..).zip(w) {
                self.nodes.set(b1 + i * PNODE_WORDS + j, x);
            }
            i += 1;
        }
        Ok(Some(([v, lv, u64::from(b1) | u64::from(b0) << 32], reused)))
    }

    /// The value of each run of leaves of the node `p`, in slot order
    /// (the first `p[1].count_ones()`), from its leaf block or third word.
    fn run_values(&self, p: &PNode) -> Result<[u32; 64], LpmError> {
        let block = leaf_block(p);
        let mut runs = [0u32; 64];
        for (r, y) in (0u32..)
            .zip(runs.iter_mut())
            .take(p[1].count_ones() as usize)
        {
            let w = match block {
                Some((b0, _)) => self
                    .nodes
                    .get(b0.wrapping_add(r >> 1))
                    .ok_or(LpmError::Corrupt)?,
                None => p[2],
            };
            *y = half(w, r);
        }
        Ok(runs)
    }

    /// The 64 leaves of the node `p`, expanded from its runs (a slot with
    /// a child reads as the run before it).
    fn expand_leaves(&self, p: &PNode) -> Result<[u32; 64], LpmError> {
        let runs = self.run_values(p)?;
        let mut leaves = [0u32; 64];
        let (mut r, mut cur) = (0usize, 0u32);
        for (c, y) in (0u32..).zip(leaves.iter_mut()) {
            if (p[1] >> c) & 1 != 0 {
                cur = runs.get(r).copied().ok_or(LpmError::Corrupt)?;
                r += 1;
            }
            *y = cur;
        }
        Ok(leaves)
    }

    /// Retires node `old`'s leaf and child blocks and its children that
    /// are not in `reused` (by slot).
    fn retire_unused(&mut self, old: &PNode, reused: u64) {
        self.release_unused(old, reused, true);
    }

    /// Releases node `p`'s leaf and child blocks and its children that are
    /// not in `reused` (by slot): retired if readers may see them, else
    /// freed (a rebuilt node that was never published, whose children in
    /// `reused` still belong to the node it was to replace).
    fn release_unused(&mut self, p: &PNode, reused: u64, retire: bool) {
        let (b1, v) = (p[2] as u32, p[0]);
        let mut bits = v;
        let mut i = 0u32;
        while bits != 0 {
            let c = bits.trailing_zeros();
            bits &= bits - 1;
            if (reused >> c) & 1 == 0 {
                if let Some(w) = self.pnode(b1.wrapping_add(i * PNODE_WORDS)) {
                    self.release_pnode(&w, retire);
                }
            }
            i += 1;
        }
        let blocks = [
            (b1, v.count_ones() * PNODE_WORDS),
            leaf_block(p).unwrap_or((0, 0)),
        ];
        for (base, n) in blocks.into_iter().filter(|&(_, n)| n != 0) {
            if retire {
                self.nodes.retire(base, n);
            } else {
                self.nodes.free(base, n);
            }
        }
    }

    /// Frees the region root of direct entry `ent`, built for a publish
    /// that failed; its children in `reused` belong to the old root.
    fn discard_root(&mut self, ent: u32, reused: u64) {
        if ent & E_NODE == 0 {
            return;
        }
        if let Some((p, size)) = self.root(ent) {
            if ent & E_LEAF == 0 {
                self.release_unused(&p, reused, false);
            }
            self.nodes.free(ent & E_INDEX, size);
        }
    }

    /// Where entry `e` of the direct table at `d` is: `Ok((b, i))` for
    /// entry `i` of the block of entries at `b` (the table itself, or a
    /// page of a two-level one), or `Err(top)` for a slot of a two-level
    /// table without a page, all of whose entries read as its top entry
    /// `top` (a leaf, or [`E_DIRTY`]). `None` if `d` holds no table.
    fn entry_loc(&self, d: u32, e: u32) -> Option<Result<(u32, u32), u32>> {
        if K::TOP_BITS == 0 {
            return Some(Ok((d, e)));
        }
        let pb = page_bits::<K>();
        let t = e >> pb;
        let top = half(self.nodes.get(d.checked_add(t >> 1)?)?, t);
        if top & E_NODE != 0 && top != E_DIRTY {
            return Some(Ok((top & E_INDEX, e & ((1 << pb) - 1))));
        }
        Some(Err(top))
    }

    /// Entry `e` of the direct table at `d`.
    fn entry(&self, d: u32, e: u32) -> Option<u32> {
        match self.entry_loc(d, e)? {
            Ok((b, i)) => Some(half(self.nodes.get(b.checked_add(i >> 1)?)?, i)),
            Err(top) => Some(top),
        }
    }

    /// Sets entry `i` of the block of entries at `b` to `ent` with the
    /// one store that readers see (the other entry of the word is kept).
    fn put_half(&mut self, b: u32, i: u32, ent: u32) -> bool {
        let wi = b.wrapping_add(i >> 1);
        let sh = (i & 1) * 32;
        match self.nodes.get(wi) {
            Some(w) => {
                let nw = (w & !(0xffff_ffffu64 << sh)) | (u64::from(ent) << sh);
                self.nodes.publish(wi, nw)
            }
            None => false,
        }
    }

    /// Sets entry `e` of the direct table at `d` to `ent` with the one
    /// store that readers see. A slot of a two-level table without a page
    /// gets one first if `ent` differs from its leaf. `false` if that
    /// finds no memory, the slot is dirty, or the table is not where `d`
    /// says.
    fn publish_entry(&mut self, d: u32, e: u32, ent: u32) -> bool {
        let pb = page_bits::<K>();
        match self.entry_loc(d, e) {
            Some(Ok((b, i))) => self.put_half(b, i, ent),
            Some(Err(top)) if top == ent => true,
            Some(Err(top)) if top != E_DIRTY => match self.make_page(d, e >> pb, top, 0) {
                Ok(p) => self.put_half(p, e & ((1 << pb) - 1), ent),
                Err(_) => false,
            },
            _ => false,
        }
    }

    /// Gives slot `t` of the two-level table at `d`, whose entries all
    /// read as `top`, a page of entries equal to `top` and publishes it in
    /// the slot. A page of [`E_DIRTY`] entries has them all marked dirty.
    /// `routes` is the slot's count of routes longer than the top's bits.
    /// Returns the page's index; on error nothing changed.
    fn make_page(&mut self, d: u32, t: u32, top: u32, routes: u64) -> Result<u32, LpmError> {
        let (bm, _, size) = dir_layout(page_bits::<K>());
        let p = self.alloc_root(size)?;
        let fill = u64::from(top) | u64::from(top) << 32;
        let bits = if top == E_DIRTY { u64::MAX } else { 0 };
        let filled = (0..size).all(|i| {
            let v = match i {
                i if i < bm => fill,
                i if i + 1 == size => routes,
                _ => bits,
            };
            self.nodes.set(p + i, v)
        });
        if !filled || !self.put_half(d, t, E_NODE | p) {
            self.nodes.free(p, size);
            return Err(LpmError::Corrupt);
        }
        Ok(p)
    }

    /// Sets bit `i` of the dirty bitmap, and its summary bit, of the
    /// block of `bits` entry bits at `b`.
    fn set_dirty(&mut self, b: u32, bits: u32, i: u32) -> Option<()> {
        let (bm, sm, _) = dir_layout(bits);
        let bi = b.checked_add(bm + (i >> 6))?;
        let w = self.nodes.get(bi)?;
        self.nodes.set(bi, w | 1u64 << (i & 63)).then_some(())?;
        let si = b.checked_add(sm + (i >> 12))?;
        let w = self.nodes.get(si)?;
        self.nodes
            .set(si, w | 1u64 << ((i >> 6) & 63))
            .then_some(())
    }

    /// Marks slot `t` of the two-level table at `d`, which has no page,
    /// dirty as a whole (readers ask the Tree Bitmap for all of it).
    fn mark_slot(&mut self, d: u32, t: u32) -> Option<()> {
        self.put_half(d, t, E_DIRTY).then_some(())?;
        self.set_dirty(d, K::TOP_BITS, t)
    }

    /// Marks entry `e` of the direct table at `d` dirty, retiring what it
    /// pointed to. In a two-level table the entry's slot is flagged in
    /// the top table too; a slot without a page gets one, or goes dirty
    /// as a whole if there is no memory for it.
    fn mark_entry(&mut self, d: u32, e: u32) -> Option<()> {
        let pb = page_bits::<K>();
        let (b, i) = match self.entry_loc(d, e)? {
            Ok(x) => x,
            Err(E_DIRTY) => return Some(()),
            Err(top) => match self.make_page(d, e >> pb, top, 0) {
                Ok(p) => (p, e & ((1 << pb) - 1)),
                Err(_) => return self.mark_slot(d, e >> pb),
            },
        };
        let ent = half(self.nodes.get(b.checked_add(i >> 1)?)?, i);
        if ent == E_DIRTY {
            return Some(());
        }
        if !self.put_half(b, i, E_DIRTY) {
            return None;
        }
        if ent & E_NODE != 0 {
            self.retire_root(ent)?;
        }
        if K::TOP_BITS == 0 {
            return self.set_dirty(b, K::DIR_BITS, i);
        }
        self.set_dirty(b, pb, i)?;
        self.set_dirty(d, K::TOP_BITS, e >> pb)
    }

    /// The `k`-th block of entries of the direct table at `d`: the table
    /// itself (`k == 0`) or the page of slot `k` of a two-level table, if
    /// it has one; `k` runs below [`Lpm::entry_blocks`].
    fn entry_block(&self, d: u32, k: u32) -> Option<u32> {
        if K::TOP_BITS == 0 {
            return Some(d);
        }
        let top = half(self.nodes.get(d.checked_add(k >> 1)?)?, k);
        (top & E_NODE != 0 && top != E_DIRTY).then_some(top & E_INDEX)
    }

    /// How many blocks of entries [`Lpm::entry_block`] can name.
    fn entry_blocks() -> u32 {
        1 << K::TOP_BITS
    }

    /// Entry bits of each block of entries.
    fn entry_bits() -> u32 {
        if K::TOP_BITS == 0 {
            K::DIR_BITS
        } else {
            page_bits::<K>()
        }
    }

    /// Words of each block of entries.
    fn entry_block_words() -> u32 {
        dir_layout(Self::entry_bits()).2
    }

    /// Retires the region roots of the block of entries at `b`.
    fn retire_roots(&mut self, b: u32) {
        for wi in 0..dir_layout(Self::entry_bits()).0 {
            let w = self.nodes.get(b + wi).unwrap_or(u64::MAX);
            for ent in [w as u32, (w >> 32) as u32] {
                if ent & E_NODE != 0 && ent != E_DIRTY {
                    self.retire_root(ent);
                }
            }
        }
    }

    /// Removes the accelerator of the FIB slot at `at` (readers go back to
    /// the Tree Bitmap with the first store) and retires its memory.
    fn drop_accel(&mut self, at: u32) {
        let aa = self.acc_at(at);
        let Some(acc) = self.nodes.get(aa) else {
            return;
        };
        let Some(d) = (acc as u32).checked_sub(1) else {
            return;
        };
        self.nodes.publish(aa, acc & ACC_COUNT);
        let bw = Self::entry_block_words();
        for k in 0..Self::entry_blocks() {
            let Some(b) = self.entry_block(d, k) else {
                continue;
            };
            self.retire_roots(b);
            if K::TOP_BITS != 0 {
                self.nodes.retire(b, bw);
            }
        }
        self.nodes.retire(d, dir_layout(root_bits::<K>()).2);
    }

    /// The region root of direct entry `ent` (with [`E_NODE`]) as node
    /// words (an [`E_LEAF`] root reads as a node without children whose
    /// leaf block follows its bitmap), and the words of its own block.
    fn root(&self, ent: u32) -> Option<(PNode, u32)> {
        let n = ent & E_INDEX;
        if ent & E_LEAF == 0 {
            return Some((self.pnode(n)?, PNODE_WORDS));
        }
        let lv = self.nodes.get(n)?;
        let b0 = n.checked_add(1)?;
        let size = 1 + lv.count_ones().div_ceil(2);
        if inline_leaves(&[0, lv, 0]) {
            return Some(([0, lv, self.nodes.get(b0)?], size));
        }
        Some(([0, lv, u64::from(b0) << 32], size))
    }

    /// A block of `size` words for a region root, whose index must fit a
    /// direct entry.
    fn alloc_root(&mut self, size: u32) -> Result<u32, LpmError> {
        match self.nodes.try_alloc(size) {
            Ok(n) if n < E_INDEX => Ok(n),
            Ok(n) => {
                self.nodes.free(n, size);
                Err(LpmError::NoMemory)
            }
            Err(_) => Err(LpmError::NoMemory),
        }
    }

    /// Stores the built, unpublished node `p` as a region root and
    /// returns its direct entry: one [`E_LEAF`] block if it has no
    /// children (its leaf block moved in and freed), else three words.
    /// On error frees `p`'s blocks and subtree.
    fn store_root(&mut self, p: &PNode) -> Result<u32, LpmError> {
        let nl = p[1].count_ones();
        let leaf = p[0] == 0;
        let size = if leaf {
            1 + nl.div_ceil(2)
        } else {
            PNODE_WORDS
        };
        let n = match self.alloc_root(size) {
            Ok(n) => n,
            Err(e) => {
                self.release_pnode(p, false);
                return Err(e);
            }
        };
        if !leaf {
            for (i, x) in (0u32..).zip(*p) {
                self.nodes.set(n + i, x);
            }
            return Ok(E_NODE | n);
        }
        self.nodes.set(n, p[1]);
        match leaf_block(p) {
            Some((b0, w)) => {
                self.nodes.copy(b0, n + 1, w);
                self.nodes.free(b0, w);
            }
            None if nl != 0 => {
                self.nodes.set(n + 1, p[2]);
            }
            None => {}
        }
        Ok(E_NODE | E_LEAF | n)
    }

    /// Retires the region root of direct entry `ent` and everything
    /// below it.
    fn retire_root(&mut self, ent: u32) -> Option<()> {
        let (p, size) = self.root(ent)?;
        if ent & E_LEAF == 0 {
            self.release_pnode(&p, true);
        }
        self.nodes.retire(ent & E_INDEX, size);
        Some(())
    }

    /// The three words of the accelerator node at `n`.
    fn pnode(&self, n: u32) -> Option<PNode> {
        Some([
            self.nodes.get(n)?,
            self.nodes.get(n.checked_add(1)?)?,
            self.nodes.get(n.checked_add(2)?)?,
        ])
    }

    /// Retires (or, for a subtree never published, frees) the blocks below
    /// an accelerator node: its children's, then its own child and leaf
    /// blocks. Recursion depth is bounded by the key width (at most 19
    /// levels for IPv6, with a small frame).
    fn release_pnode(&mut self, p: &PNode, retire: bool) {
        self.release_unused(p, 0, retire);
    }

    /// Rebuilds entry `e` of `fib`'s direct table at `d` from the Tree
    /// Bitmap and publishes it.
    fn rebuild_entry(&mut self, fib: u32, d: u32, e: u32) -> Result<(), LpmError> {
        let p = K::ZERO.with_bits(0, K::DIR_BITS, e);
        let anc = self.anchor(fib, p, K::DIR_BITS)?;
        let def = anc.0;
        let built = match anc.1 {
            None => None,
            Some(_) => self.build_pnode(fib, p, K::DIR_BITS, def, Some(anc))?,
        };
        let ent = match built {
            None => def,
            Some(words) => self.store_root(&words)?,
        };
        if !self.publish_entry(d, e, ent) {
            self.discard_root(ent, 0);
            return Err(LpmError::NoMemory);
        }
        Ok(())
    }

    /// Builds the accelerator subtree for `prefix/depth` of `fib`, whose
    /// addresses default to leaf value `def`: `None` if no route of the
    /// FIB is longer than `depth` under the prefix. `anc` is
    /// [`Lpm::anchor`]'s answer for `prefix/depth` if the caller has it.
    /// On error, everything it allocated is freed.
    fn build_pnode(
        &mut self,
        fib: u32,
        prefix: K,
        depth: u32,
        def: u32,
        anc: Option<Anchor>,
    ) -> Result<Option<PNode>, LpmError> {
        let Some(p) = self.alloc_pnode(fib, prefix, depth, Some(def), anc)? else {
            return Ok(None);
        };
        let b1 = p[2] as u32;
        let mut bits = p[0];
        let mut i = 0u32;
        while bits != 0 {
            let c = bits.trailing_zeros();
            bits &= bits - 1;
            let at = b1 + i * PNODE_WORDS;
            let cdef = self.nodes.get(at + 2).ok_or(LpmError::Corrupt)? as u32;
            let cp = prefix.with_bits(depth, PSTRIDE, c);
            let r = match self.build_pnode(fib, cp, depth + PSTRIDE, cdef, None) {
                Ok(Some(w)) => Ok(w),
                Ok(None) => Err(LpmError::Corrupt),
                Err(e) => Err(e),
            };
            match r {
                Ok(w) => {
                    for (j, x) in (0u32..).zip(w) {
                        self.nodes.set(at + j, x);
                    }
                }
                Err(e) => {
                    self.free_partial(&p, i);
                    return Err(e);
                }
            }
            i += 1;
        }
        Ok(Some(p))
    }

    /// Frees an unpublished accelerator node whose first `built` children
    /// are complete (the others hold only their default).
    fn free_partial(&mut self, p: &PNode, built: u32) {
        let b1 = p[2] as u32;
        for j in 0..built {
            if let Some(c) = self.pnode(b1.wrapping_add(j * PNODE_WORDS)) {
                self.release_pnode(&c, false);
            }
        }
        let k = p[0].count_ones();
        if k != 0 {
            self.nodes.free(b1, k * PNODE_WORDS);
        }
        if let Some((b0, w)) = leaf_block(p) {
            self.nodes.free(b0, w);
        }
    }

    /// The Tree Bitmap descent for the accelerator node `p/depth` of
    /// `fib`: the leaf value of the longest route no longer than `depth`
    /// that covers `p`, and the reference of the Tree Bitmap node at
    /// depth `depth / 8 * 8` on `p`'s path with that depth, if there is
    /// one (otherwise no route under `p` is longer than `depth`). Reads
    /// only the bitmap words it tests, not whole nodes: it runs on every
    /// accelerated update.
    fn anchor(&self, fib: u32, p: K, depth: u32) -> Result<Anchor, LpmError> {
        let Some(mut nref) = find_root(&self.nodes, self.rd.fib_base, self.rd.fib_mask, fib) else {
            return Ok((0, None));
        };
        let word = |at: u32, i: u32| {
            self.nodes
                .get(at.checked_add(i).ok_or(LpmError::Corrupt)?)
                .ok_or(LpmError::Corrupt)
        };
        let tx0 = depth / STRIDE * STRIDE;
        let mut best = 0u32;
        let mut dd = 0u32;
        loop {
            let idx = nref & !R_LEAF;
            // The longest route of this node no longer than `depth` that
            // covers `p`, found as a lookup does (the full bitmap, then
            // relative lengths 7, 6 and 0..=5 at once), not length by
            // length: a node's relative lengths up to `j` only.
            let j = depth.saturating_sub(dd).min(STRIDE);
            let s = p.chunk(dd);
            let mut hit = None;
            if j == STRIDE {
                let f = word(idx, W_FULL + (s >> 6))?;
                if (f >> (s & 63)) & 1 != 0 {
                    let mut r = (f & ((1u64 << (s & 63)) - 1)).count_ones();
                    r += (word(idx, W_META)? >> 32) as u32 & 0xffff;
                    for w in 0..s >> 6 {
                        r += word(idx, W_FULL + w)?.count_ones();
                    }
                    hit = Some(r);
                }
            }
            if hit.is_none() {
                let h7 = 128 | (s >> 1);
                let h6 = 64 | (s >> 2);
                let h = if j >= 7 && (word(idx, W_INT + (h7 >> 6))? >> (h7 & 63)) & 1 != 0 {
                    h7
                } else if j >= 6 && (word(idx, W_INT + 1)? >> (h6 & 63)) & 1 != 0 {
                    h6
                } else {
                    // Heap indexes below 2^(k + 1) have lengths up to k.
                    let lens = match j {
                        0..=4 => (1u64 << (1u32 << (j + 1))) - 1,
                        _ => u64::MAX,
                    };
                    let anc = ANC0.get((s >> 3) as usize).copied().unwrap_or(0);
                    let m = word(idx, W_INT)? & anc & lens;
                    if m != 0 {
                        63 - m.leading_zeros()
                    } else {
                        0
                    }
                };
                if h != 0 {
                    let x = word(idx, W_INT + (h >> 6))?;
                    let mut r = (x & ((1u64 << (h & 63)) - 1)).count_ones();
                    for w in 0..h >> 6 {
                        r += word(idx, W_INT + w)?.count_ones();
                    }
                    hit = Some(r);
                }
            }
            if let Some(rank) = hit {
                let rbase = word(idx, W_META)? as u32;
                let nh = self
                    .results
                    .get(rbase.wrapping_add(rank))
                    .ok_or(LpmError::Corrupt)?;
                best = nh.wrapping_add(1);
            }
            if dd >= tx0 {
                return Ok((best, Some((nref, dd))));
            }
            let s = p.chunk(dd);
            let (g, b) = self.group_word(nref, s)?;
            if (g >> b) & 1 == 0 {
                return Ok((best, None));
            }
            let r = ((g as u32) & ((1u32 << b) - 1)).count_ones();
            nref = child_ref((g >> 32) as u32, r).ok_or(LpmError::Corrupt)?;
            dd += STRIDE;
        }
    }

    /// Paints the accelerator node `p/depth` from the Tree Bitmap node `x`
    /// at depth `tx` with prefix `q` (either `x` is the node
    /// [`Lpm::anchor`] found, `tx <= depth`, or a node under `p`): its
    /// routes under `p` of lengths `depth + 1 ..= depth + 6` paint their
    /// slots of `leaves` with `nexthop + 1`, shortest first, so a longer
    /// route paints over the shorter ones covering it; longer routes and
    /// deeper nodes set their slot's bit in `vec`. Child nodes that still
    /// hold lengths in range are painted in turn (recursion bounded by
    /// one level: `depth + 6` is at most 8 bits past `tx`). Returns
    /// whether anything under `p` is longer than `depth`.
    #[allow(clippy::too_many_arguments)]
    fn paint_tbm(
        &self,
        x: &Node,
        tx: u32,
        q: K,
        p: K,
        depth: u32,
        leaves: &mut [u32; 64],
        vec: &mut u64,
    ) -> Result<bool, LpmError> {
        let end = depth + PSTRIDE;
        // Slots of `x` under `p`: top `k` bits fixed by `p`.
        let k = depth.saturating_sub(tx);
        let pv = if k == 0 { 0 } else { p.bits(tx, k) };
        let mut any = false;
        for j in 1..=STRIDE {
            let l = tx + j;
            if l <= depth {
                continue;
            }
            if l > K::BITS {
                break;
            }
            let (vlo, vhi) = (pv << (j - k), (pv + 1) << (j - k));
            let (map, off) = if j == STRIDE {
                (&x.full, 0)
            } else {
                (&x.int, 1u32 << j)
            };
            let mut v = vlo;
            while let Some(b) = next_set(map, off + v) {
                if b >= off + vhi {
                    break;
                }
                v = b - off;
                any = true;
                let pref = q.with_bits(tx, j, v);
                let c = pref.bits(depth, PSTRIDE);
                if l <= end {
                    let at = if j == STRIDE {
                        Pos::Full(v)
                    } else {
                        Pos::Int(b)
                    };
                    let nh = self
                        .results
                        .get(x.rbase.wrapping_add(x.rank(at)))
                        .ok_or(LpmError::Corrupt)?;
                    let span = 1usize << (end - l);
                    for y in leaves.iter_mut().skip(c as usize).take(span) {
                        *y = nh.wrapping_add(1);
                    }
                } else {
                    *vec |= 1u64 << (c & 63);
                }
                v += 1;
            }
        }
        if tx + STRIDE >= K::BITS {
            return Ok(any);
        }
        let (slo, shi) = (pv << (STRIDE - k), (pv + 1) << (STRIDE - k));
        for s in slo..shi {
            if !child_bit(x, s) {
                continue;
            }
            any = true;
            let qy = q.with_bits(tx, STRIDE, s);
            if tx + STRIDE >= end {
                *vec |= 1u64 << (qy.bits(depth, PSTRIDE) & 63);
            } else {
                let y = self.read_node(child_index(x, s)?)?;
                self.paint_tbm(&y, tx + STRIDE, qy, p, depth, leaves, vec)?;
            }
        }
        Ok(any)
    }

    /// One accelerator node for `prefix/depth` of `fib` (default leaf
    /// `def`): paints its 64 slots from the Tree Bitmap's routes of
    /// lengths `depth + 1 ..= depth + 6` under the prefix
    /// ([`Lpm::paint_tbm`]), marks slots with longer routes as children,
    /// then allocates and fills its leaf block and a child block whose
    /// third words hold each child's default. `None` if no route under
    /// the prefix is longer than `depth`. `anc`: as for
    /// [`Lpm::build_pnode`]. Not inlined: the 256-byte paint buffer stays
    /// out of the recursion's frames.
    #[inline(never)]
    fn alloc_pnode(
        &mut self,
        fib: u32,
        prefix: K,
        depth: u32,
        def: Option<u32>,
        anc: Option<Anchor>,
    ) -> Result<Option<PNode>, LpmError> {
        let (best, x) = match anc {
            Some(a) => a,
            None => self.anchor(fib, prefix, depth)?,
        };
        let Some((xr, tx)) = x else {
            return Ok(None);
        };
        let x = self.read_node(xr)?;
        let def = def.unwrap_or(best);
        let mut leaves = [def; 64];
        let mut vec = 0u64;
        let q = prefix.mask(tx);
        if !self.paint_tbm(&x, tx, q, prefix, depth, &mut leaves, &mut vec)? {
            return Ok(None);
        }
        let lv = leaf_runs(&leaves, vec);
        let nl = lv.count_ones();
        let k = vec.count_ones();
        if inline_leaves(&[vec, lv, 0]) {
            let mut w = 0u64;
            let mut runs = lv;
            let mut r = 0u32;
            while runs != 0 {
                let c = runs.trailing_zeros();
                runs &= runs - 1;
                let v = leaves.get(c as usize).copied().unwrap_or(0);
                w |= u64::from(v) << (r * 32);
                r += 1;
            }
            return Ok(Some([0, lv, w]));
        }
        let (b0, b1) = self.alloc_blocks(nl, k)?;
        let mut i = 0u32;
        for (c, &v) in (0u32..).zip(leaves.iter()) {
            if (vec >> c) & 1 != 0 {
                let at = b1 + i * PNODE_WORDS;
                self.nodes.set(at, 0);
                self.nodes.set(at + 1, 0);
                self.nodes.set(at + 2, u64::from(v));
                i += 1;
            }
        }
        self.put_leaves(b0, &leaves, lv);
        Ok(Some([vec, lv, u64::from(b1) | u64::from(b0) << 32]))
    }

    /// A leaf block for `nl` runs and a child block for `k` children (0 for
    /// none of either); nothing is left allocated on failure.
    fn alloc_blocks(&mut self, nl: u32, k: u32) -> Result<(u32, u32), LpmError> {
        let b0 = if nl != 0 {
            self.nodes
                .try_alloc(nl.div_ceil(2))
                .map_err(|_| LpmError::NoMemory)?
        } else {
            0
        };
        if k == 0 {
            return Ok((b0, 0));
        }
        match self.nodes.try_alloc(k * PNODE_WORDS) {
            Ok(b1) => Ok((b0, b1)),
            Err(_) => {
                if nl != 0 {
                    self.nodes.free(b0, nl.div_ceil(2));
                }
                Err(LpmError::NoMemory)
            }
        }
    }

    /// Writes the leaves of `leaves` that start a run (the bits of `lv`)
    /// to the leaf block at `b0`, two to a word, in slot order.
    fn put_leaves(&mut self, b0: u32, leaves: &[u32; 64], lv: u64) {
        let (mut r, mut pair) = (0u32, 0u64);
        for (c, &v) in (0u32..).zip(leaves.iter()) {
            if (lv >> c) & 1 != 0 {
                pair |= u64::from(v) << ((r & 1) * 32);
                if r & 1 == 1 {
                    self.nodes.set(b0 + (r >> 1), pair);
                    pair = 0;
                }
                r += 1;
            }
        }
        if r & 1 == 1 {
            self.nodes.set(b0 + (r >> 1), pair);
        }
    }
}

/// Slot `c` of a node without children, whose leaf bitmap is `lv` and
/// whose run values are `runs` (one per bit of `lv`), takes the value
/// `v`: the run holding `c` is split around it and equal neighbours
/// merge again. Writes the new run values to `out` and returns the new
/// leaf bitmap and run count; `None` if `runs` is shorter than `lv`
/// says. Costs the runs, not the 64 slots.
fn set_slot(lv: u64, runs: &[u32], c: u32, v: u32, out: &mut [u32; 64]) -> Option<(u64, u32)> {
    let c = c & 63;
    let r = (lv & (u64::MAX >> (63 - c))).count_ones().checked_sub(1)? as usize;
    let cur = *runs.get(r)?;
    let start_c = (lv >> c) & 1 != 0;
    let start_next = c == 63 || (lv >> (c + 1)) & 1 != 0;
    let mut n = 0usize;
    let mut push = |out: &mut [u32; 64], x: u32| -> Option<()> {
        *out.get_mut(n)? = x;
        n += 1;
        Some(())
    };
    for &x in runs.get(..r)? {
        push(out, x)?;
    }
    if v == cur {
        // Nothing changes: copy the rest.
        for &x in runs.get(r..lv.count_ones() as usize)? {
            push(out, x)?;
        }
        return Some((lv, n as u32));
    }
    let mut nlv = lv;
    if !start_c {
        // The left part of the run keeps its start and value.
        push(out, cur)?;
    }
    let left = if !start_c {
        Some(cur)
    } else {
        r.checked_sub(1).and_then(|i| runs.get(i).copied())
    };
    if left == Some(v) {
        nlv &= !(1u64 << c);
    } else {
        nlv |= 1u64 << c;
        push(out, v)?;
    }
    let mut rest = r + 1;
    if c < 63 {
        let right = if start_next { *runs.get(r + 1)? } else { cur };
        if right == v {
            // The run after `c` continues `c`'s (only when it starts at
            // `c + 1`: inside the old run the value is `cur`, not `v`).
            nlv &= !(1u64 << (c + 1));
            rest = r + 2;
        } else {
            nlv |= 1u64 << (c + 1);
            if !start_next {
                push(out, cur)?;
            }
        }
    }
    for &x in runs.get(rest..lv.count_ones() as usize)? {
        push(out, x)?;
    }
    if nlv.count_ones() as usize != n {
        return None;
    }
    Some((nlv, n as u32))
}

/// The slots of an accelerator node's `leaves` where a run of equal
/// leaves starts (a leaf bitmap), skipping the slots in `children`.
fn leaf_runs(leaves: &[u32; 64], children: u64) -> u64 {
    let mut lv = 0u64;
    let mut prev = None;
    for (c, &v) in (0u32..).zip(leaves.iter()) {
        if (children >> c) & 1 == 0 && prev != Some(v) {
            lv |= 1u64 << c;
            prev = Some(v);
        }
    }
    lv
}

/// FIB slot word of `fib` with root node `root` (below [`MAX_INDEX`]).
fn slot_word(fib: u32, root: u32) -> u64 {
    ((fib as u64) << 32) | (root as u64 + 2)
}

/// Depth of the last node of a walk of `len` nodes.
fn st_depth(len: usize) -> u32 {
    (len as u32).saturating_sub(1) * STRIDE
}

/// Slot of `prefix/len` in its node at depth `d`.
fn pos<K: Key>(prefix: K, len: u32, d: u32) -> Pos {
    let j = len.saturating_sub(d);
    if j >= STRIDE {
        Pos::Full(prefix.chunk(d))
    } else {
        Pos::Int((1u32 << j) | (prefix.chunk(d) >> (STRIDE - j)))
    }
}
