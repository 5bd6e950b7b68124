// SPDX-License-Identifier: GPL-2.0

//! The multi-FIB LPM trie against a naive model (a map of routes scanned
//! for the longest match), for IPv4 and IPv6 keys, with error cases and
//! allocation-failure injection; `lookup_route`, `lookup_burst`, in-order resumable walks
//! and `delete_fib` against the same model. `real_tables` loads the RouteViews lists
//! shipped by Debian's python3-pyasn from `$CGL_PYASN_DIR` and compares
//! with the `prefix-trie` crate; it is skipped when the variable is unset:
//!
//! ```text
//! cd /tmp && apt-get download python3-pyasn && dpkg -x python3-pyasn*.deb pyasn
//! CGL_PYASN_DIR=/tmp/pyasn/usr/lib/python3/dist-packages/data cargo test -p cgl-cores --test lpm
//! ```

mod common;

use cgl_cores::lpm::{self, Key, Lpm, LpmError, MAX_FIBS, NODE_WORDS};
use common::{Nodes, Results, XorShift};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Keys the tests can move through `u128`.
trait TKey: Key + Copy {
    fn from_u128(x: u128) -> Self;
    fn to_u128(self) -> u128;
}

impl TKey for u32 {
    fn from_u128(x: u128) -> Self {
        x as u32
    }
    fn to_u128(self) -> u128 {
        self as u128
    }
}

impl TKey for u128 {
    fn from_u128(x: u128) -> Self {
        x
    }
    fn to_u128(self) -> u128 {
        self
    }
}

fn mask<K: TKey>(len: u32) -> u128 {
    let ones = if K::BITS == 128 {
        u128::MAX
    } else {
        (1u128 << K::BITS) - 1
    };
    if len >= K::BITS {
        ones
    } else {
        ones & !(ones >> len)
    }
}

type T<K> = Lpm<K, Nodes, Results>;

const FIBS: u32 = 8;

/// The FIB ids the strategies use.
const ALL_FIBS: [u32; 7] = [0, 1, 2, 3, 4, u32::MAX, 0x8000_0000];

fn new<K: TKey>() -> T<K> {
    Lpm::new(Nodes::new(), Results::new(), FIBS).unwrap()
}

fn fib_table_words() -> u64 {
    (FIBS * 2).next_power_of_two() as u64 * 2
}

/// The model: (fib, len, prefix) -> nexthop.
#[derive(Default, Clone, Debug)]
struct Model(BTreeMap<(u32, u8, u128), u32>);

impl Model {
    fn lookup<K: TKey>(&self, fib: u32, key: u128) -> Option<u32> {
        self.0
            .iter()
            .filter(|((f, l, p), _)| *f == fib && key & mask::<K>(*l as u32) == *p)
            .max_by_key(|((_, l, _), _)| *l)
            .map(|(_, nh)| *nh)
    }

    fn lookup_route<K: TKey>(&self, fib: u32, key: u128) -> Option<(u8, u32)> {
        self.0
            .iter()
            .filter(|((f, l, p), _)| *f == fib && key & mask::<K>(*l as u32) == *p)
            .max_by_key(|((_, l, _), _)| *l)
            .map(|((_, l, _), nh)| (*l, *nh))
    }

    /// Routes of `fib` in walk order: prefix, then length.
    fn sorted(&self, fib: u32) -> Vec<(u128, u8, u32)> {
        let mut v: Vec<_> = self
            .0
            .iter()
            .filter(|((f, ..), _)| *f == fib)
            .map(|(&(_, l, p), &nh)| (p, l, nh))
            .collect();
        v.sort_unstable();
        v
    }
}

/// Every route of `fib` after `after`, in walk order.
fn walk_all<K: TKey>(
    t: &T<K>,
    fib: u32,
    after: Option<(u128, u8)>,
) -> Result<Vec<(u128, u8, u32)>, LpmError> {
    let mut v = Vec::new();
    t.walk(fib, after.map(|(p, l)| (K::from_u128(p), l)), |p, l, nh| {
        v.push((p.to_u128(), l, nh));
        true
    })?;
    Ok(v)
}

/// The walk of `fib` in chunks of sizes drawn from `sizes` (cycled), each
/// resuming after the last route of the previous one.
fn walk_chunks<K: TKey>(t: &T<K>, fib: u32, sizes: &[usize]) -> Vec<(u128, u8, u32)> {
    let mut v: Vec<(u128, u8, u32)> = Vec::new();
    for &n in sizes.iter().cycle() {
        let n = n.max(1);
        let after = v.last().map(|&(p, l, _)| (K::from_u128(p), l));
        let mut got = 0;
        t.walk(fib, after, |p, l, nh| {
            v.push((p.to_u128(), l, nh));
            got += 1;
            got < n
        })
        .unwrap();
        if got < n {
            break;
        }
    }
    v
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u32, u128, u8, u32),
    Delete(u32, u128, u8),
    Replace(u32, u128, u8, u32),
    Lookup(u32, u128),
    DeleteFib(u32),
}

/// FIB ids: a few small ones, plus extremes, all sharing addresses.
fn fib() -> impl Strategy<Value = u32> {
    prop_oneof![6 => 0u32..5, 1 => Just(u32::MAX), 1 => Just(0x8000_0000u32)]
}

/// Addresses clustered around a few anchors so that prefixes overlap at
/// every depth, with the length; `raw` keeps host bits sometimes.
fn prefix(bits: u32) -> impl Strategy<Value = (u128, u8, bool)> {
    let anchors: [u128; 4] = [
        0,
        0x0a00_0000_0000_0000_0000_0000_0000_0000,
        0xc0a8_0100_0000_0000_0000_0000_0000_0000,
        u128::MAX,
    ];
    (
        0usize..4,
        any::<u128>(),
        0u32..=bits,
        0u32..=bits + 3,
        prop::bool::weighted(0.05),
    )
        .prop_map(move |(a, r, keep, len, raw)| {
            let shift = 128 - bits;
            let anchor = anchors[a] >> shift;
            // Keep `keep` top bits of the anchor, randomise the rest.
            let m = if keep == 0 { 0 } else { mask_bits(bits, keep) };
            let v = (anchor & m) | ((r >> shift) & !m);
            (v, len.min(255) as u8, raw)
        })
}

fn mask_bits(bits: u32, len: u32) -> u128 {
    let ones = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    if len >= bits {
        ones
    } else {
        ones & !(ones >> len)
    }
}

fn ops(bits: u32) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        6 => (fib(), prefix(bits), 0u32..1000).prop_map(move |(f, (v, l, raw), nh)| {
            Op::Insert(f, clean(bits, v, l, raw), l, nh)
        }),
        3 => (fib(), prefix(bits)).prop_map(move |(f, (v, l, raw))| Op::Delete(f, clean(bits, v, l, raw), l)),
        2 => (fib(), prefix(bits), 0u32..1000).prop_map(move |(f, (v, l, raw), nh)| {
            Op::Replace(f, clean(bits, v, l, raw), l, nh)
        }),
        3 => (fib(), prefix(bits)).prop_map(|(f, (v, _, _))| Op::Lookup(f, v)),
        1 => fib().prop_map(Op::DeleteFib),
    ];
    proptest::collection::vec(op, 0..150)
}

/// Prefixes inside two neighbouring /18 regions under 10.0.0.0 (the
/// same top bits for IPv6), mostly /24s over shorter routes and a few
/// longer ones: the accelerator's one-slot updates of a region root and
/// their fallbacks (a slot that gains or loses a child, a region that
/// becomes one leaf).
fn dense_prefix(bits: u32) -> impl Strategy<Value = (u128, u8)> {
    (
        0u128..2,
        any::<u128>(),
        prop_oneof![6 => Just(24u8), 2 => 18u8..24, 1 => 25u8..=27],
    )
        .prop_map(move |(region, r, len)| {
            let shift = 128 - bits;
            let top =
                (0x0a00_0000_0000_0000_0000_0000_0000_0000u128 >> shift) | (region << (bits - 18));
            let m18 = mask_bits(bits, 18);
            let v = (top & m18) | ((r >> shift) & !m18);
            (v & mask_bits(bits, len as u32), len)
        })
}

fn dense_ops(bits: u32) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        6 => (0u32..2, dense_prefix(bits), 0u32..4).prop_map(|(f, (v, l), nh)| Op::Insert(f, v, l, nh)),
        3 => (0u32..2, dense_prefix(bits)).prop_map(|(f, (v, l))| Op::Delete(f, v, l)),
        2 => (0u32..2, dense_prefix(bits), 0u32..4).prop_map(|(f, (v, l), nh)| Op::Replace(f, v, l, nh)),
        2 => (0u32..2, dense_prefix(bits)).prop_map(|(f, (v, _))| Op::Lookup(f, v)),
    ];
    proptest::collection::vec(op, 0..200)
}

fn clean(bits: u32, v: u128, len: u8, raw: bool) -> u128 {
    if raw {
        v
    } else {
        v & mask_bits(bits, len as u32)
    }
}

/// Expected outcome of an update against the model, applying it.
fn model_apply<K: TKey>(m: &mut Model, op: &Op) -> Option<Result<Option<u32>, LpmError>> {
    let check = |p: u128, l: u8| -> Result<(), LpmError> {
        if l as u32 > K::BITS {
            Err(LpmError::BadLength)
        } else if p & !mask::<K>(l as u32) != 0 {
            Err(LpmError::HostBits)
        } else {
            Ok(())
        }
    };
    Some(match *op {
        Op::Insert(f, p, l, nh) => check(p, l).and_then(|_| match m.0.entry((f, l, p)) {
            std::collections::btree_map::Entry::Occupied(_) => Err(LpmError::Exists),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(nh);
                Ok(None)
            }
        }),
        Op::Delete(f, p, l) => {
            check(p, l).and_then(|_| m.0.remove(&(f, l, p)).map(Some).ok_or(LpmError::NotFound))
        }
        Op::Replace(f, p, l, nh) => check(p, l).and_then(|_| match m.0.get_mut(&(f, l, p)) {
            Some(x) => Ok(Some(std::mem::replace(x, nh))),
            None => Err(LpmError::NotFound),
        }),
        Op::DeleteFib(f) => {
            let n = m.0.len();
            m.0.retain(|(g, ..), _| *g != f);
            Ok(Some((n - m.0.len()) as u32))
        }
        Op::Lookup(..) => return None,
    })
}

fn apply<K: TKey>(t: &mut T<K>, op: &Op) -> Option<Result<Option<u32>, LpmError>> {
    let k = K::from_u128;
    Some(match *op {
        Op::Insert(f, p, l, nh) => t.insert(f, k(p), l, nh).map(|_| None),
        Op::Delete(f, p, l) => t.delete(f, k(p), l).map(Some),
        Op::Replace(f, p, l, nh) => t.replace(f, k(p), l, nh).map(Some),
        Op::DeleteFib(f) => t.delete_fib(f).map(|n| Some(n as u32)),
        Op::Lookup(..) => return None,
    })
}

/// Keys worth probing: every model prefix, its last address, the op key.
fn probes<K: TKey>(m: &Model, extra: &[u128], rng: &mut XorShift) -> Vec<(u32, u128)> {
    let mut v = Vec::new();
    for &(f, l, p) in m.0.keys() {
        let last = p | !mask::<K>(l as u32) & mask::<K>(K::BITS);
        v.push((f, p));
        v.push((f, last));
        v.push((f ^ 1, p));
        v.push((
            f,
            (p | (rng.next() as u128 & !mask::<K>(l as u32))) & mask::<K>(K::BITS),
        ));
    }
    for &e in extra {
        for f in [0, 1, 2, 3, 4, u32::MAX, 0x8000_0000] {
            v.push((f, e & mask::<K>(K::BITS)));
        }
    }
    v
}

/// `lookup_burst` of the probes, grouped by FIB, against the model: the
/// keys of each FIB repeated to span more than one chunk, with an output
/// one shorter than the keys (the count returned is the shorter length,
/// the slot past it untouched).
fn check_burst<K: TKey>(t: &T<K>, m: &Model, probes: &[(u32, u128)]) -> Result<(), TestCaseError> {
    for f in ALL_FIBS {
        let keys: Vec<K> = probes
            .iter()
            .filter(|p| p.0 == f)
            .map(|p| K::from_u128(p.1))
            .cycle()
            .take(lpm::BURST + 3)
            .collect();
        let n = keys.len().saturating_sub(1);
        let mut out = vec![Some(u32::MAX); keys.len()];
        prop_assert_eq!(t.lookup_burst(f, &keys, &mut out[..n]), n);
        for (i, k) in keys.iter().enumerate().take(n) {
            let key = K::to_u128(*k);
            prop_assert_eq!(
                out[i],
                m.lookup::<K>(f, key),
                "burst, fib {} key {:x}",
                f,
                key
            );
        }
        if !keys.is_empty() {
            prop_assert_eq!(out[n], Some(u32::MAX));
        }
    }
    Ok(())
}

fn check_all<K: TKey>(
    t: &T<K>,
    m: &Model,
    extra: &[u128],
    rng: &mut XorShift,
) -> Result<(), TestCaseError> {
    let probes = probes::<K>(m, extra, rng);
    check_burst(t, m, &probes)?;
    for (f, key) in probes {
        prop_assert_eq!(
            t.lookup(f, K::from_u128(key)),
            m.lookup::<K>(f, key),
            "fib {} key {:x}",
            f,
            key
        );
        prop_assert_eq!(
            t.lookup_route(f, K::from_u128(key)),
            m.lookup_route::<K>(f, key),
            "fib {} key {:x}",
            f,
            key
        );
    }
    // Whole walks, and walks resumed after routes and after non-routes
    // (each extra key at a few lengths).
    for f in ALL_FIBS {
        let want = m.sorted(f);
        prop_assert_eq!(walk_all(t, f, None), Ok(want.clone()), "fib {}", f);
        let mut cursors: Vec<(u128, u8)> = want.iter().map(|&(p, l, _)| (p, l)).collect();
        for &e in extra {
            for l in [0, 1, 7, 8, 9, 23, 24, 31, 32, 64, 127, 128] {
                if l <= K::BITS {
                    cursors.push((e & mask::<K>(l), l as u8));
                }
            }
        }
        for c in cursors {
            let exp: Vec<_> = want
                .iter()
                .copied()
                .filter(|&(p, l, _)| (p, l) > c)
                .collect();
            prop_assert_eq!(walk_all(t, f, Some(c)), Ok(exp), "fib {} after {:x?}", f, c);
        }
    }
    for (&(f, l, p), &nh) in &m.0 {
        prop_assert_eq!(t.get(f, K::from_u128(p), l), Ok(Some(nh)));
    }
    prop_assert_eq!(t.routes(), m.0.len() as u64);
    prop_assert_eq!(
        t.results().live(),
        m.0.len() as u64,
        "one result slot per route"
    );
    Ok(())
}

fn run<K: TKey>(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut t = new::<K>();
    let mut m = Model::default();
    let mut rng = XorShift(0x1234_5678);
    for op in &ops {
        let before = (t.nodes().live(), t.results().live());
        let want = model_apply::<K>(&mut m, op);
        let got = apply(&mut t, op);
        prop_assert_eq!(got, want, "op {:?}", op);
        if let Some(Err(_)) = got {
            prop_assert_eq!(
                (t.nodes().live(), t.results().live()),
                before,
                "failed op allocated"
            );
        }
        if let Op::Lookup(f, key) = *op {
            let key = key & mask::<K>(K::BITS);
            prop_assert_eq!(t.lookup(f, K::from_u128(key)), m.lookup::<K>(f, key));
            prop_assert_eq!(
                t.lookup_route(f, K::from_u128(key)),
                m.lookup_route::<K>(f, key)
            );
        }
        let key = op_key(op);
        check_all(
            &t,
            &m,
            &[key, rng.next() as u128 | (rng.next() as u128) << 64],
            &mut rng,
        )?;
    }
    // Deleting everything leaves only the FIB table.
    let keys: Vec<_> = m.0.keys().copied().collect();
    for (f, l, p) in keys {
        prop_assert!(t.delete(f, K::from_u128(p), l).is_ok());
    }
    prop_assert_eq!(t.routes(), 0);
    prop_assert_eq!(t.results().live(), 0);
    prop_assert_eq!(t.nodes().live(), fib_table_words());
    Ok(())
}

/// Insert `ins` with the arena failing after 0, 1, 2, ... allocations:
/// every failure must leave lookups and memory as before.
fn run_fail<K: TKey>(ops: Vec<Op>, target: Op) -> Result<(), TestCaseError> {
    let nodes = Nodes::new();
    let results = Results::new();
    let (nb, rb) = (nodes.budget.clone(), results.budget.clone());
    let mut t: T<K> = Lpm::new(nodes, results, FIBS).unwrap();
    let mut m = Model::default();
    for op in &ops {
        model_apply::<K>(&mut m, op);
        apply(&mut t, op);
    }
    let mut rng = XorShift(99);
    let key = op_key(&target);
    for budget in 0..64u64 {
        let before = (t.nodes().live(), t.results().live());
        // Split the budget between the arenas in both ways.
        let (a, b) = if budget % 2 == 0 {
            (budget / 2, u64::MAX)
        } else {
            (u64::MAX, budget / 2)
        };
        nb.set(Some(a));
        rb.set(Some(b));
        let mut m2 = m.clone();
        let want = model_apply::<K>(&mut m2, &target);
        let got = apply(&mut t, &target);
        nb.set(None);
        rb.set(None);
        if got == Some(Err(LpmError::NoMemory)) {
            prop_assert_eq!((t.nodes().live(), t.results().live()), before);
            check_all(&t, &m, &[key], &mut rng)?;
            continue;
        }
        prop_assert_eq!(got, want);
        m = m2;
        check_all(&t, &m, &[key], &mut rng)?;
        break;
    }
    Ok(())
}

fn op_key(op: &Op) -> u128 {
    match *op {
        Op::Insert(_, p, ..) | Op::Delete(_, p, _) | Op::Replace(_, p, ..) | Op::Lookup(_, p) => p,
        Op::DeleteFib(f) => f as u128,
    }
}

/// Walks in chunks of random sizes give the model's sorted routes.
fn run_chunks<K: TKey>(ops: Vec<Op>, sizes: Vec<usize>) -> Result<(), TestCaseError> {
    let mut t = new::<K>();
    let mut m = Model::default();
    for op in &ops {
        model_apply::<K>(&mut m, op);
        apply(&mut t, op);
    }
    for f in ALL_FIBS {
        prop_assert_eq!(walk_chunks(&t, f, &sizes), m.sorted(f), "fib {}", f);
    }
    Ok(())
}

/// `delete_fib` of some FIBs, with both arenas refusing to allocate.
fn run_delete_fib<K: TKey>(ops: Vec<Op>, del: Vec<u32>) -> Result<(), TestCaseError> {
    let nodes = Nodes::new();
    let results = Results::new();
    let (nb, rb) = (nodes.budget.clone(), results.budget.clone());
    let mut t: T<K> = Lpm::new(nodes, results, FIBS).unwrap();
    let mut m = Model::default();
    for op in &ops {
        model_apply::<K>(&mut m, op);
        apply(&mut t, op);
    }
    let mut rng = XorShift(7);
    for f in del {
        nb.set(Some(0));
        rb.set(Some(0));
        let results_before = t.results().live();
        let want = model_apply::<K>(&mut m, &Op::DeleteFib(f));
        let got = apply(&mut t, &Op::DeleteFib(f));
        nb.set(None);
        rb.set(None);
        prop_assert_eq!(got, want);
        let n = want.unwrap().unwrap().unwrap() as u64;
        prop_assert_eq!(t.results().live(), results_before - n);
        prop_assert_eq!(walk_all(&t, f, None), Ok(vec![]));
        check_all(&t, &m, &[f as u128], &mut rng)?;
    }
    // The deleted FIBs take routes again.
    for f in ALL_FIBS {
        if m.sorted(f).is_empty() {
            prop_assert_eq!(t.insert(f, K::from_u128(0), 0, 5), Ok(()));
            prop_assert_eq!(t.lookup_route(f, K::from_u128(1)), Some((0, 5)));
            m.0.insert((f, 0, 0), 5);
        }
    }
    // delete_fib_with hands over each route's nexthop once.
    for f in ALL_FIBS {
        let mut want: Vec<u32> = m.sorted(f).iter().map(|r| r.2).collect();
        let mut gone = Vec::new();
        prop_assert_eq!(
            t.delete_fib_with(f, |nh| gone.push(nh)),
            Ok(want.len() as u64)
        );
        want.sort_unstable();
        gone.sort_unstable();
        prop_assert_eq!(gone, want);
    }
    prop_assert_eq!(t.routes(), 0);
    prop_assert_eq!(t.results().live(), 0);
    prop_assert_eq!(t.nodes().live(), fib_table_words());
    Ok(())
}

/// The FIB an update touches.
fn op_fib(op: &Op) -> u32 {
    match *op {
        Op::Insert(f, ..) | Op::Delete(f, ..) | Op::Replace(f, ..) | Op::Lookup(f, _) => f,
        Op::DeleteFib(f) => f,
    }
}

/// The direct-pointing accelerator against the model: every FIB with a
/// route is accelerated (threshold 1); after each update the FIB is
/// flushed, or left dirty (lookups then go through the Tree Bitmap for
/// the entries it covers), or flushed with the node arena failing after a
/// few allocations (the entries not rebuilt stay dirty and right).
/// Deleting every route frees every accelerator.
fn run_accel<K: TKey>(ops: Vec<Op>, how: Vec<u8>) -> Result<(), TestCaseError> {
    let nodes = Nodes::new();
    let nb = nodes.budget.clone();
    let mut t: T<K> = Lpm::new(nodes, Results::new(), FIBS).unwrap();
    t.set_accel_threshold(1);
    let mut m = Model::default();
    let mut rng = XorShift(0xacce1);
    let check = |t: &T<K>, m: &Model, extra: u128, rng: &mut XorShift| {
        let probes = probes::<K>(m, &[extra, rng.next() as u128], rng);
        // Dirty entries (failed flushes) defer keys to the Tree Bitmap.
        check_burst(t, m, &probes)?;
        for (f, key) in probes {
            let want = m.lookup::<K>(f, key);
            prop_assert_eq!(
                t.lookup(f, K::from_u128(key)),
                want,
                "fib {} key {:x}",
                f,
                key
            );
            // A clean accelerator answers by itself: a lookup that fell
            // back to the Tree Bitmap would hide a broken node.
            if t.accel_state(f) == Some(0) {
                prop_assert_eq!(
                    t.accel_lookup(f, K::from_u128(key)),
                    Some(want),
                    "accelerator, fib {} key {:x}",
                    f,
                    key
                );
            }
        }
        Ok(())
    };
    for (i, op) in ops.iter().enumerate() {
        let h = how.get(i % how.len().max(1)).copied().unwrap_or(1);
        let mut m2 = m.clone();
        let want = model_apply::<K>(&mut m2, op);
        // Some updates run with the node arena failing after a few
        // allocations: the Tree Bitmap refuses the update whole, or it
        // goes through and the accelerator falls back to a dirty entry.
        if h % 8 == 5 {
            nb.set(Some(rng.next() % 8));
        }
        let got = apply(&mut t, op);
        nb.set(None);
        if got == Some(Err(LpmError::NoMemory)) && h % 8 == 5 {
            prop_assert_eq!(t.fib_routes(op_fib(op)), m.sorted(op_fib(op)).len() as u64);
        } else {
            prop_assert_eq!(got, want, "op {:?}", op);
            m = m2;
        }
        let f = op_fib(op);
        match h % 4 {
            0 => {}
            3 => {
                nb.set(Some(rng.next() % 6));
                let r = t.flush(f);
                nb.set(None);
                prop_assert!(matches!(r, Ok(()) | Err(LpmError::NoMemory)), "{:?}", r);
            }
            _ => {
                prop_assert_eq!(t.flush(f), Ok(()));
                if t.fib_routes(f) > 0 {
                    prop_assert_eq!(t.accel_state(f), Some(0));
                }
            }
        }
        prop_assert_eq!(t.fib_routes(f), m.sorted(f).len() as u64);
        check(&t, &m, op_key(op), &mut rng)?;
    }
    for f in ALL_FIBS {
        prop_assert_eq!(t.flush(f), Ok(()));
    }
    check(&t, &m, 0, &mut rng)?;
    // Per-FIB memory accounts for every slot but the FIB table's.
    let mut sum = 0;
    for f in ALL_FIBS {
        sum += t.fib_memory(f).unwrap();
    }
    prop_assert_eq!(
        sum,
        (t.nodes().live() - fib_table_words()) * 8 + t.results().live() * 4
    );
    let keys: Vec<_> = m.0.keys().copied().collect();
    for (f, l, p) in keys {
        prop_assert!(t.delete(f, K::from_u128(p), l).is_ok());
    }
    for f in ALL_FIBS {
        prop_assert_eq!(t.accel_state(f), None);
    }
    prop_assert_eq!(t.nodes().live(), fib_table_words());
    Ok(())
}

fn target(bits: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        (fib(), prefix(bits), 0u32..1000).prop_map(move |(f, (v, l, _), nh)| Op::Insert(
            f,
            clean(bits, v, l.min(bits as u8), false),
            l.min(bits as u8),
            nh
        )),
        (fib(), prefix(bits)).prop_map(move |(f, (v, l, _))| Op::Delete(
            f,
            clean(bits, v, l.min(bits as u8), false),
            l.min(bits as u8)
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn v4_matches_model(ops in ops(32)) {
        run::<u32>(ops)?;
    }

    #[test]
    fn v6_matches_model(ops in ops(128)) {
        run::<u128>(ops)?;
    }

    #[test]
    fn v4_alloc_failure_changes_nothing(ops in ops(32), t in target(32)) {
        run_fail::<u32>(ops, t)?;
    }

    #[test]
    fn v6_alloc_failure_changes_nothing(ops in ops(128), t in target(128)) {
        run_fail::<u128>(ops, t)?;
    }

    #[test]
    fn v4_walk_chunks_match_model(ops in ops(32), sizes in proptest::collection::vec(1usize..8, 1..6)) {
        run_chunks::<u32>(ops, sizes)?;
    }

    #[test]
    fn v6_walk_chunks_match_model(ops in ops(128), sizes in proptest::collection::vec(1usize..8, 1..6)) {
        run_chunks::<u128>(ops, sizes)?;
    }

    #[test]
    fn v4_delete_fib_matches_model(ops in ops(32), del in proptest::collection::vec(fib(), 0..4)) {
        run_delete_fib::<u32>(ops, del)?;
    }

    #[test]
    fn v6_delete_fib_matches_model(ops in ops(128), del in proptest::collection::vec(fib(), 0..4)) {
        run_delete_fib::<u128>(ops, del)?;
    }
}

proptest! {
    // Each case flushes up to 2^18 direct-table entries per update.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn v4_accel_matches_model(ops in ops(32), how in proptest::collection::vec(any::<u8>(), 1..8)) {
        run_accel::<u32>(ops, how)?;
    }

    #[test]
    fn v6_accel_matches_model(ops in ops(128), how in proptest::collection::vec(any::<u8>(), 1..8)) {
        run_accel::<u128>(ops, how)?;
    }

    #[test]
    fn v4_accel_dense_regions(ops in dense_ops(32), how in proptest::collection::vec(any::<u8>(), 1..8)) {
        run_accel::<u32>(ops, how)?;
    }

    #[test]
    fn v6_accel_dense_regions(ops in dense_ops(128), how in proptest::collection::vec(any::<u8>(), 1..8)) {
        run_accel::<u128>(ops, how)?;
    }
}

#[test]
fn errors_leave_table_unchanged() {
    let mut t = new::<u32>();
    t.insert(1, 0x0a00_0000, 8, 7).unwrap();
    t.insert(1, 0x0a01_0000, 16, 8).unwrap();
    let snap = |t: &T<u32>| {
        (
            t.lookup(1, 0x0a01_0203),
            t.lookup(1, 0x0a02_0000),
            t.lookup(2, 0x0a01_0203),
            t.nodes().live(),
            t.results().live(),
            t.routes(),
        )
    };
    let s = snap(&t);
    assert_eq!(t.insert(1, 0x0a00_0000, 33, 1), Err(LpmError::BadLength));
    assert_eq!(t.insert(1, 0x0a00_0000, 255, 1), Err(LpmError::BadLength));
    assert_eq!(t.insert(1, 0x0a00_0001, 8, 1), Err(LpmError::HostBits));
    assert_eq!(t.insert(1, 0x0000_0001, 0, 1), Err(LpmError::HostBits));
    assert_eq!(t.insert(1, 0x0a00_0000, 8, 1), Err(LpmError::Exists));
    assert_eq!(t.delete(1, 0x0a00_0000, 9), Err(LpmError::NotFound));
    assert_eq!(t.delete(2, 0x0a00_0000, 8), Err(LpmError::NotFound));
    assert_eq!(t.delete(1, 0x0a01_0000, 33), Err(LpmError::BadLength));
    assert_eq!(t.replace(1, 0x0b00_0000, 8, 1), Err(LpmError::NotFound));
    assert_eq!(t.replace(1, 0x0a00_0100, 8, 1), Err(LpmError::HostBits));
    assert_eq!(t.get(1, 0x0a00_0000, 40), Err(LpmError::BadLength));
    assert_eq!(snap(&t), s);
    assert_eq!(s.0, Some(8));
    assert_eq!(s.1, Some(7));
    assert_eq!(s.2, None);
}

#[test]
fn fib_table_capacity_and_reuse() {
    assert!(matches!(
        Lpm::<u32, _, _>::new(Nodes::new(), Results::new(), 0),
        Err(LpmError::BadCapacity)
    ));
    assert!(matches!(
        Lpm::<u32, _, _>::new(Nodes::new(), Results::new(), MAX_FIBS + 1),
        Err(LpmError::BadCapacity)
    ));
    // Capacity 1 rounds up to two slots.
    let mut t: T<u32> = Lpm::new(Nodes::new(), Results::new(), 1).unwrap();
    t.insert(10, 0, 0, 1).unwrap();
    t.insert(20, 0, 0, 2).unwrap();
    assert_eq!(t.insert(30, 0, 0, 3), Err(LpmError::FibTableFull));
    assert_eq!(t.lookup(30, 5), None);
    // Emptying a FIB frees its slot for another FIB id.
    t.delete(10, 0, 0).unwrap();
    t.insert(30, 0, 0, 3).unwrap();
    assert_eq!(
        (t.lookup(10, 5), t.lookup(20, 5), t.lookup(30, 5)),
        (None, Some(2), Some(3))
    );
    assert_eq!(t.insert(10, 0, 0, 1), Err(LpmError::FibTableFull));
}

#[test]
fn empty_fib_cost() {
    // A FIB costs one root node once it has routes, nothing before.
    let mut t: T<u32> = Lpm::new(Nodes::new(), Results::new(), 1024).unwrap();
    let base = t.nodes().live();
    assert_eq!(base, 4096, "FIB table: 16..32 bytes per FIB");
    t.insert(7, 0, 0, 1).unwrap();
    assert_eq!(t.nodes().live() - base, NODE_WORDS as u64);
    assert!((t.nodes().live() - base) * 8 + 16 <= 1024);
    t.delete(7, 0, 0).unwrap();
    assert_eq!(t.nodes().live(), base);
}

#[test]
fn host_bits_and_lengths_v6() {
    let mut t = new::<u128>();
    let p = 0x2001_0db8u128 << 96;
    t.insert(0, p, 32, 1).unwrap();
    t.insert(0, p | 1, 128, 2).unwrap();
    t.insert(0, 0, 0, 3).unwrap();
    assert_eq!(t.insert(0, p, 129, 9), Err(LpmError::BadLength));
    assert_eq!(t.insert(0, p | 1, 127, 9), Err(LpmError::HostBits));
    assert_eq!(t.lookup(0, p | 1), Some(2));
    assert_eq!(t.lookup(0, p | 2), Some(1));
    assert_eq!(t.lookup(0, 5), Some(3));
    assert_eq!(t.delete(0, p | 1, 128), Ok(2));
    assert_eq!(t.lookup(0, p | 1), Some(1));
}

/// Every length at every position: one route per length on one address.
#[test]
fn nested_all_lengths_v4() {
    let mut t = new::<u32>();
    let a = 0xdead_beefu32;
    for l in 0..=32u8 {
        let p = a & u32::MAX.checked_shl(32 - l as u32).unwrap_or(0);
        t.insert(3, p, l, l as u32 + 100).unwrap();
        assert_eq!(t.lookup(3, a), Some(l as u32 + 100));
    }
    for l in (0..=32u8).rev() {
        let p = a & u32::MAX.checked_shl(32 - l as u32).unwrap_or(0);
        assert_eq!(t.lookup(3, a), Some(l as u32 + 100));
        assert_eq!(t.delete(3, p, l), Ok(l as u32 + 100));
    }
    assert_eq!(t.lookup(3, a), None);
    assert_eq!(t.nodes().live(), fib_table_words());
}

/// An accelerator node rebuilt after an update takes its default from
/// the longest route no longer than its depth. A route one bit longer
/// (here a /31 at the IPv4 node of depth 30, a /55 at the IPv6 node of
/// depth 54) covers only half of the node's slots and must not become
/// the default of the others.
#[test]
fn accel_rebuilt_node_default() {
    let net = 0x0a00_0000u128;
    let probes = [
        (net, 3),
        (net + 1, 2),
        (net + 2, 1),
        (net + 3, 1),
        (net + 255, 1),
    ];
    rebuilt_default::<u32>(net, [24, 32, 31], &probes);
    let net = 0x2001_0db8_0001_0000u128 << 64;
    let bit = |b: u32| 1u128 << (127 - b);
    let probes = [
        (net, 3),
        (net | bit(63), 2),
        (net | bit(54), 1),
        (net | bit(48) | bit(54), 1),
    ];
    rebuilt_default::<u128>(net, [48, 64, 55], &probes);
}

/// Inserts `net/lens[0]` (nexthop 1) and `net/lens[1]` (3), builds the
/// accelerator, inserts `net/lens[2]` (2), then checks each probe's
/// nexthop with no dirty entry left.
fn rebuilt_default<K: TKey>(net: u128, lens: [u8; 3], probes: &[(u128, u32)]) {
    let mut t = new::<K>();
    t.set_accel_threshold(1);
    let p = K::from_u128(net);
    t.insert(1, p, lens[0], 1).unwrap();
    t.insert(1, p, lens[1], 3).unwrap();
    t.flush(1).unwrap();
    t.insert(1, p, lens[2], 2).unwrap();
    t.flush(1).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    for &(a, want) in probes {
        assert_eq!(t.lookup(1, K::from_u128(a)), Some(want), "{a:#x}");
    }
}

/// Looks up `x | 1` for each `x` of `at` in `fib`: each must find its
/// `want`, and so must the accelerator by itself when no entry is dirty
/// ([`Lpm::lookup`] would hide an accelerator that cannot answer).
fn assert_lookups<K: TKey>(t: &T<K>, fib: u32, at: &[u128], want: &[Option<u32>]) {
    assert_eq!(at.len(), want.len());
    let clean = t.accel_state(fib) == Some(0);
    for (&x, &w) in at.iter().zip(want) {
        let key = K::from_u128(x | 1);
        assert_eq!(t.lookup(fib, key), w, "{x:#x}");
        if clean {
            assert_eq!(t.accel_lookup(fib, key), Some(w), "accelerator {x:#x}");
        }
    }
}

/// Routes no longer than the direct table's bits (`D`: 18 for IPv4, 24
/// for IPv6) change the direct entries they cover in
/// place when those are leaves or roots without children (no dirty entry
/// until a flush), and mark dirty only roots with children; the /19../24
/// routes under them keep their slots. Prefix lengths are relative to
/// `D`: a /D-2 over roots with a /D+2, /D+6 and /D+7.
#[test]
fn accel_short_prefix_in_place() {
    short_in_place::<u32>(0x0a00_0000);
    short_in_place::<u128>(0x2a00u128 << 112);
}

fn short_in_place<K: TKey>(net: u128) {
    let bit = |b: u32| 1u128 << (K::BITS - 1 - b);
    let k = |x: u128| K::from_u128(x);
    let d = <K as Key>::DIR_BITS;
    let l = |x: u32| x as u8;
    let mut t = new::<K>();
    t.set_accel_threshold(1);
    // Entry net/D: a root with a /D+2 and a /D+6 in it; entry +bit(D-1):
    // a root with a /D+6; entry +bit(D-2): a root with a /D+7 (children);
    // entry +bit(D-2)+bit(D-1): a leaf.
    t.insert(1, k(net), l(d + 2), 5).unwrap();
    t.insert(1, k(net), l(d + 6), 6).unwrap();
    t.insert(1, k(net | bit(d - 1)), l(d + 6), 7).unwrap();
    t.insert(1, k(net | bit(d - 2)), l(d + 7), 8).unwrap();
    t.flush(1).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    let probes = |t: &T<K>, want: [Option<u32>; 7]| {
        let at = [
            net,                           // the /D+6 (6)
            net | bit(d + 5),              // the /D+2 (5)
            net | bit(d + 1),              // only the /D-2
            net | bit(d - 1),              // the other /D+6 (7)
            net | bit(d - 1) | bit(d + 5), // only the /D-2
            net | bit(d - 2) | bit(d - 1), // the leaf entry
            net | bit(d - 2) | bit(d + 6), // beside the /D+7
        ];
        assert_lookups(t, 1, &at, &want);
    };
    t.insert(1, k(net), l(d - 2), 1).unwrap();
    assert_eq!(
        t.accel_state(1),
        Some(1),
        "only the root with children is dirty"
    );
    probes(
        &t,
        [
            Some(6),
            Some(5),
            Some(1),
            Some(7),
            Some(1),
            Some(1),
            Some(1),
        ],
    );
    t.flush(1).unwrap();
    t.delete(1, k(net), l(d + 2)).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    probes(
        &t,
        [
            Some(6),
            Some(1),
            Some(1),
            Some(7),
            Some(1),
            Some(1),
            Some(1),
        ],
    );
    t.replace(1, k(net), l(d - 2), 2).unwrap();
    t.flush(1).unwrap();
    probes(
        &t,
        [
            Some(6),
            Some(2),
            Some(2),
            Some(7),
            Some(2),
            Some(2),
            Some(2),
        ],
    );
    t.delete(1, k(net), l(d - 2)).unwrap();
    t.flush(1).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    probes(&t, [Some(6), None, None, Some(7), None, None, None]);
}

/// IPv6's direct table has two levels: a top slot (a /12) gets a page
/// only for a route longer than /12 in it, and routes of /12 or shorter
/// change the slots without one in place. Such a slot's one leaf never
/// hides a longer route: a /16 with the nexthop of the /8 over it still
/// gets a page, and is found after the /8 goes. Without memory for a
/// page a slot goes dirty as a whole; the next flush repairs it.
#[test]
fn accel_v6_two_level_table() {
    let nodes = Nodes::new();
    let nb = nodes.budget.clone();
    let mut t: T<u128> = Lpm::new(nodes, Results::new(), FIBS).unwrap();
    t.set_accel_threshold(1);
    let a = |x: u128| x << 112;
    t.insert(1, a(0x2a00), 12, 1).unwrap();
    t.insert(1, a(0x2400), 8, 2).unwrap();
    t.flush(1).unwrap();
    t.insert(1, a(0x2410), 16, 2).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    let at = [0x2a00, 0x2400, 0x2410, 0x2411, 0x24f0, 0x2500, 0x2a10].map(a);
    assert_lookups(
        &t,
        1,
        &at,
        &[Some(1), Some(2), Some(2), Some(2), Some(2), None, None],
    );
    // The /8 goes: slots without a page take the new leaf, the /16's
    // page is updated entry by entry, nothing is left dirty.
    t.delete(1, a(0x2400), 8).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    assert_lookups(
        &t,
        1,
        &at,
        &[Some(1), None, Some(2), None, None, None, None],
    );
    t.insert(1, a(0x2a00), 10, 3).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    assert_lookups(
        &t,
        1,
        &at,
        &[Some(1), None, Some(2), None, None, None, Some(3)],
    );
    // A /32 in slot 0x2a1, which has no page, with the node arena
    // failing after `n` allocations: refused whole, or accepted with the
    // slot's page or with the slot dirty; a flush then cleans it.
    let mut whole_slot_dirty = false;
    for n in 0..24 {
        nb.set(Some(n));
        let r = t.insert(1, a(0x2a10), 32, 4);
        nb.set(None);
        let want = match r {
            Ok(()) => Some(4),
            Err(LpmError::NoMemory) => Some(3),
            Err(e) => panic!("{e:?}"),
        };
        whole_slot_dirty |= t.accel_state(1) == Some(1 << 12);
        assert_lookups(
            &t,
            1,
            &at,
            &[Some(1), None, Some(2), None, None, None, want],
        );
        t.flush(1).unwrap();
        assert_eq!(t.accel_state(1), Some(0));
        assert_lookups(
            &t,
            1,
            &at,
            &[Some(1), None, Some(2), None, None, None, want],
        );
        if r.is_ok() {
            t.delete(1, a(0x2a10), 32).unwrap();
        }
    }
    assert!(whole_slot_dirty, "no run left the slot dirty");
    // A page goes with the last route longer than /12 in its /12, and
    // only then; a replace does not count.
    let before = t.fib_memory(1).unwrap();
    let p48 = a(0x2c00) | 5 << 80;
    let p56 = p48 | 6 << 72;
    t.insert(1, p48, 48, 9).unwrap();
    let page = 8 * 2114;
    assert!(t.fib_memory(1).unwrap() >= before + page);
    t.insert(1, p56, 56, 10).unwrap();
    t.replace(1, p48, 48, 11).unwrap();
    t.delete(1, p56, 56).unwrap();
    assert!(
        t.fib_memory(1).unwrap() >= before + page,
        "page kept for the /48"
    );
    let at2 = [p48, p56, a(0x2c00)];
    assert_lookups(&t, 1, &at2, &[Some(11), Some(11), None]);
    t.delete(1, p48, 48).unwrap();
    assert_eq!(t.fib_memory(1).unwrap(), before, "page gone with the /48");
    assert_eq!(t.accel_state(1), Some(0));
    assert_lookups(&t, 1, &at2, &[None, None, None]);
    // Under a covering /10 the slot's leaf is the /10's again.
    t.insert(1, a(0x2a10), 48, 12).unwrap();
    t.delete(1, a(0x2a10), 48).unwrap();
    assert_lookups(
        &t,
        1,
        &at,
        &[Some(1), None, Some(2), None, None, None, Some(3)],
    );
}

/// A change that keeps a node's runs (a replace, here) rewrites the
/// leaves of a region root or of a deeper node without children in
/// place: it needs no allocation, so with both arenas refusing every one
/// the accelerator stays clean (nothing marked dirty) and answers with
/// the new nexthops. Covers a root block (IPv4 /24 and /20 in a /18), a
/// deeper node's leaf block (IPv6 /48 and /46 in the depth-42 node) and
/// leaves held in the node's third word (a lone /48).
#[test]
fn accel_leaf_change_without_alloc() {
    leaf_change_in_place::<u32>(0x0a00_0000, 24);
    leaf_change_in_place::<u128>(0x2a00u128 << 112, 48);
}

fn leaf_change_in_place<K: TKey>(net: u128, full: u8) {
    let bit = |b: u32| 1u128 << (K::BITS - 1 - b);
    let k = |x: u128| K::from_u128(x);
    let nodes = Nodes::new();
    let results = Results::new();
    let (nb, rb) = (nodes.budget.clone(), results.budget.clone());
    let mut t: T<K> = Lpm::new(nodes, results, FIBS).unwrap();
    t.set_accel_threshold(1);
    // Runs of the node: [6] [5 ...] [7] [5 ...] [none ...].
    let f = u32::from(full);
    let wide = full - 4;
    t.insert(1, k(net), wide, 5).unwrap();
    t.insert(1, k(net), full, 6).unwrap();
    t.insert(1, k(net | bit(f - 2)), full, 7).unwrap();
    // Elsewhere, a node with two runs: [8] [none ...].
    let lone = net | bit(f - 12);
    t.insert(1, k(lone), full, 8).unwrap();
    t.flush(1).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    let probes = |t: &T<K>, want: [Option<u32>; 6]| {
        let at = [
            net,
            net | bit(f - 1),
            net | bit(f - 2),
            net | bit(f - 5),
            lone,
            lone | bit(f - 1),
        ];
        assert_lookups(t, 1, &at, &want);
    };
    probes(&t, [Some(6), Some(5), Some(7), None, Some(8), None]);
    nb.set(Some(0));
    rb.set(Some(0));
    assert_eq!(t.replace(1, k(net), full, 9), Ok(6));
    assert_eq!(t.replace(1, k(net), wide, 10), Ok(5));
    assert_eq!(t.replace(1, k(lone), full, 11), Ok(8));
    assert_eq!(t.accel_state(1), Some(0), "nothing left dirty");
    probes(&t, [Some(9), Some(10), Some(7), None, Some(11), None]);
    // A replace by the value of a neighbouring run merges the runs: a
    // new node, which cannot be had now, so the entry is left dirty and
    // lookups fall back to the Tree Bitmap.
    assert_eq!(t.replace(1, k(net | bit(f - 2)), full, 10), Ok(7));
    assert_eq!(t.accel_state(1), Some(1));
    probes(&t, [Some(9), Some(10), Some(10), None, Some(11), None]);
    nb.set(None);
    rb.set(None);
    t.flush(1).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    probes(&t, [Some(9), Some(10), Some(10), None, Some(11), None]);
}

/// A route longer than a node's slots adds or drops only that node's
/// child at its slot; a dropped child's slot then takes its own leaf
/// (here a route of the slot's length), not the run before it. IPv4: a
/// region root with a /24 and a /28 under it, and a /28 elsewhere so the
/// root keeps a child; IPv6: the same in the depth-36 node (/42, /48).
#[test]
fn accel_child_dropped_slot_leaf() {
    child_slot_leaf::<u32>(0x0a00_0000, 24);
    child_slot_leaf::<u128>(0x2a00u128 << 112, 42);
}

fn child_slot_leaf<K: TKey>(net: u128, slot_len: u8) {
    let bit = |b: u32| 1u128 << (K::BITS - 1 - b);
    let k = |x: u128| K::from_u128(x);
    let sl = u32::from(slot_len);
    let mut t = new::<K>();
    t.set_accel_threshold(1);
    // Slot 1 of the node: a route of the slot's length with a longer one
    // under it; slot 3: a longer route only.
    let s1 = net | bit(sl - 1);
    let s3 = net | bit(sl - 1) | bit(sl - 2);
    t.insert(1, k(s1), slot_len, 7).unwrap();
    t.insert(1, k(s1 | bit(sl + 3)), slot_len + 6, 8).unwrap();
    t.insert(1, k(s3), slot_len + 6, 9).unwrap();
    t.flush(1).unwrap();
    let probes = |t: &T<K>, want: [Option<u32>; 4]| {
        let at = [net, s1, s1 | bit(sl + 3), s3];
        assert_lookups(t, 1, &at, &want);
    };
    probes(&t, [None, Some(7), Some(8), Some(9)]);
    t.delete(1, k(s1 | bit(sl + 3)), slot_len + 6).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    probes(&t, [None, Some(7), Some(7), Some(9)]);
    t.insert(1, k(s1 | bit(sl + 3)), slot_len + 6, 10).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    probes(&t, [None, Some(7), Some(10), Some(9)]);
}

/// The RouteViews tables against `prefix-trie`, with deletes and replaces.
#[test]
fn real_tables() {
    let Some(dir) = common::pyasn::dir("real_tables") else {
        return;
    };
    let v4 = common::pyasn::v4(&dir.join(common::pyasn::V4));
    let v6 = common::pyasn::v6(&dir.join(common::pyasn::V6));
    assert!(
        v4.len() > 500_000 && v6.len() > 20_000,
        "{} {}",
        v4.len(),
        v6.len()
    );
    let mut rng = XorShift(0x5eed);
    real::<u32>(&v4, &mut rng);
    real::<u128>(&v6, &mut rng);
}

fn real<K>(routes: &[(K, u8)], rng: &mut XorShift)
where
    K: TKey + std::fmt::Debug,
    (K, u8): prefix_trie::Prefix,
{
    use prefix_trie::PrefixMap;
    const OFF2: u32 = 1 << 24;
    let mut t: T<K> = Lpm::new(Nodes::new(), Results::new(), 4).unwrap();
    t.set_accel_threshold(1000);
    let mut r: PrefixMap<(K, u8), u32> = PrefixMap::new();
    let mut order: Vec<usize> = (0..routes.len()).collect();
    rng.shuffle(&mut order);
    // Two FIBs with the same prefixes and different nexthops.
    for &i in &order {
        let (p, l) = routes[i];
        if t.insert(1, p, l, i as u32 + 1) == Err(LpmError::Exists) {
            continue; // duplicate line in the file
        }
        t.insert(2, p, l, i as u32 + OFF2).unwrap();
        r.insert((p, l), i as u32 + 1);
    }
    let compare = |t: &T<K>, r: &PrefixMap<(K, u8), u32>, rng: &mut XorShift| {
        let mut keys: Vec<u128> = routes.iter().map(|&(p, _)| p.to_u128()).collect();
        keys.extend((0..200_000).map(|_| (rng.next() as u128) << 64 | rng.next() as u128));
        for k in keys {
            let k = K::from_u128(if K::BITS == 32 { k & 0xffff_ffff } else { k });
            let lpm = r.get_lpm(&(k, K::BITS as u8));
            let want = lpm.map(|(_, v)| *v);
            assert_eq!(t.lookup(1, k), want, "{k:?}");
            assert_eq!(
                t.lookup_route(1, k),
                lpm.map(|((_, l), v)| (l, *v)),
                "{k:?}"
            );
            assert_eq!(t.lookup(2, k), want.map(|v| v - 1 + OFF2), "{k:?}");
            assert_eq!(t.lookup(3, k), None);
            // A clean accelerator answers without the Tree Bitmap.
            if t.accel_state(2) == Some(0) {
                let got = t.accel_lookup(2, k);
                assert_eq!(got, Some(want.map(|v| v - 1 + OFF2)), "{k:?}");
            }
        }
    };
    // Tree Bitmap only, then accelerated.
    compare(&t, &r, rng);
    assert_eq!(t.accel_state(1), None);
    t.flush(1).unwrap();
    t.flush(2).unwrap();
    assert_eq!(t.accel_state(1), Some(0));
    compare(&t, &r, rng);
    assert_eq!(t.results().live(), t.routes());
    // Walks in resumed chunks give prefix-trie's routes in (prefix, len)
    // order.
    let mut want: Vec<(u128, u8, u32)> = r.iter().map(|((p, l), &v)| (p.to_u128(), l, v)).collect();
    want.sort_unstable();
    assert!(walk_chunks(&t, 1, &[100, 1, 37]) == want, "walk differs");
    // Delete a random half, replace some of the rest, compare again.
    for (n, &i) in order.iter().enumerate() {
        let (p, l) = routes[i];
        if n % 2 == 0 {
            if r.remove(&(p, l)).is_some() {
                t.delete(1, p, l).unwrap();
                t.delete(2, p, l).unwrap();
            }
        } else if n % 5 == 1 {
            if let Some(v) = r.get_mut(&(p, l)) {
                *v += 7;
                t.replace(1, p, l, *v).unwrap();
                t.replace(2, p, l, *v - 1 + OFF2).unwrap();
            }
        }
    }
    // Longer prefixes were rebuilt in place; those of the direct table's
    // bits or fewer (/18 for IPv4, /24 for IPv6: both tables have some)
    // left the entries they cover that are roots with children dirty,
    // answered by the Tree Bitmap until the flush.
    let dirty = t.accel_state(1).unwrap();
    assert!(dirty > 0, "no dirty entry");
    compare(&t, &r, rng);
    t.flush(1).unwrap();
    t.flush(2).unwrap();
    assert_eq!(t.accel_state(2), Some(0));
    compare(&t, &r, rng);
    // And everything else (FIB 2 at once): only the FIB table remains.
    assert_eq!(t.delete_fib(2), Ok(r.len() as u64));
    assert_eq!(t.lookup_route(2, routes[0].0), None);
    for &(p, l) in routes {
        if r.remove(&(p, l)).is_some() {
            t.delete(1, p, l).unwrap();
        }
    }
    assert_eq!(t.routes(), 0);
    assert_eq!(t.nodes().live(), 16);
}

#[test]
fn lookup_route_edges_v4() {
    let mut t = new::<u32>();
    // Empty table, unknown FIB.
    assert_eq!(t.lookup_route(0, 0x0a00_0001), None);
    assert_eq!(t.lookup_route(u32::MAX, 0), None);
    t.insert(1, 0, 0, 10).unwrap();
    assert_eq!(t.lookup_route(1, 0xffff_ffff), Some((0, 10)));
    assert_eq!(t.lookup_route(2, 0xffff_ffff), None);
    t.insert(1, 0x0a00_0000, 8, 11).unwrap();
    t.insert(1, 0x0a01_0000, 16, 12).unwrap();
    t.insert(1, 0x0a01_0200, 23, 13).unwrap();
    t.insert(1, 0x0a01_0203, 32, 14).unwrap();
    t.insert(1, 0xffff_ffff, 32, 15).unwrap();
    t.insert(1, 0, 32, 16).unwrap();
    let cases = [
        (0x0a01_0203u32, Some((32, 14))),
        (0x0a01_0204, Some((23, 13))),
        (0x0a01_0404, Some((16, 12))),
        (0x0a01_0304, Some((23, 13))),
        (0x0a02_0000, Some((8, 11))),
        (0x0b00_0000, Some((0, 10))),
        (0xffff_ffff, Some((32, 15))),
        (0xffff_fffe, Some((0, 10))),
        (0, Some((32, 16))),
        (1, Some((0, 10))),
    ];
    for (k, want) in cases {
        assert_eq!(t.lookup_route(1, k), want, "{k:x}");
        assert_eq!(t.lookup(1, k), want.map(|w| w.1), "{k:x}");
        let (l, _) = want.unwrap();
        assert_eq!(t.get(1, k.mask(l as u32), l), Ok(want.map(|w| w.1)));
    }
    assert_eq!(t.delete(1, 0, 0), Ok(10));
    assert_eq!(t.lookup_route(1, 0x0b00_0000), None);
}

#[test]
fn lookup_route_edges_v6() {
    let mut t = new::<u128>();
    assert_eq!(t.lookup_route(0, 1), None);
    let p = 0x2001_0db8u128 << 96;
    t.insert(0, 0, 0, 1).unwrap();
    t.insert(0, p, 32, 2).unwrap();
    t.insert(0, p, 64, 3).unwrap();
    t.insert(0, p | 0xab, 128, 4).unwrap();
    t.insert(0, u128::MAX, 128, 5).unwrap();
    assert_eq!(t.lookup_route(0, p | 0xab), Some((128, 4)));
    assert_eq!(t.lookup_route(0, p | 0xac), Some((64, 3)));
    assert_eq!(t.lookup_route(0, p | 1 << 64), Some((32, 2)));
    assert_eq!(t.lookup_route(0, 5), Some((0, 1)));
    assert_eq!(t.lookup_route(0, u128::MAX), Some((128, 5)));
    assert_eq!(t.lookup_route(7, u128::MAX), None);
}

#[test]
fn key_mask_and_chunk() {
    assert_eq!(0xdead_beefu32.mask(0), 0);
    assert_eq!(0xdead_beefu32.mask(12), 0xdea0_0000);
    assert_eq!(0xdead_beefu32.mask(32), 0xdead_beef);
    assert_eq!(0xdead_beefu32.mask(200), 0xdead_beef);
    assert_eq!(0xdead_beefu32.with_chunk(8, 0x1ff), 0xdeff_0000);
    assert_eq!(0xdead_beefu32.with_chunk(24, 1), 0xdead_be01);
    assert_eq!(0xdead_beefu32.with_chunk(32, 1), 0xdead_beef);
    assert_eq!(u128::MAX.mask(0), 0);
    assert_eq!(u128::MAX.mask(1), 1 << 127);
    assert_eq!(u128::MAX.mask(128), u128::MAX);
    assert_eq!(u128::MAX.with_chunk(120, 7), u128::MAX << 8 | 7);
    assert_eq!(0u128.with_chunk(0, 0xab), 0xab << 120);
    assert_eq!(u128::MAX.with_chunk(128, 0), u128::MAX);
}

#[test]
fn walk_edges() {
    let mut t = new::<u32>();
    let mut calls = 0;
    // Empty table, unknown FIB.
    t.walk(0, None, |_, _, _| {
        calls += 1;
        true
    })
    .unwrap();
    assert_eq!(calls, 0);
    assert_eq!(walk_all(&t, 9, Some((5, 32))), Ok(vec![]));
    // Bad cursors.
    assert_eq!(walk_all(&t, 0, Some((0, 33))), Err(LpmError::BadLength));
    assert_eq!(walk_all(&t, 0, Some((1, 31))), Err(LpmError::HostBits));
    t.insert(0, 0, 0, 1).unwrap();
    assert_eq!(walk_all(&t, 0, None), Ok(vec![(0, 0, 1)]));
    assert_eq!(walk_all(&t, 0, Some((0, 0))), Ok(vec![]));
    assert_eq!(walk_all(&t, 1, None), Ok(vec![]));
    // Host routes at both ends, nested prefixes on one address.
    t.insert(0, 0, 32, 2).unwrap();
    t.insert(0, u32::MAX, 32, 3).unwrap();
    t.insert(0, 0, 8, 4).unwrap();
    t.insert(0, 0x8000_0000, 1, 5).unwrap();
    t.insert(0, 0x8000_0000, 9, 6).unwrap();
    t.insert(0, 0x8000_0000, 8, 7).unwrap();
    t.insert(0, 0x8000_0000, 24, 8).unwrap();
    let all = vec![
        (0, 0, 1),
        (0, 8, 4),
        (0, 32, 2),
        (0x8000_0000, 1, 5),
        (0x8000_0000, 8, 7),
        (0x8000_0000, 9, 6),
        (0x8000_0000, 24, 8),
        (0xffff_ffff, 32, 3),
    ];
    assert_eq!(walk_all(&t, 0, None), Ok(all.clone()));
    for i in 0..all.len() {
        let (p, l, _) = all[i];
        assert_eq!(walk_all(&t, 0, Some((p, l))), Ok(all[i + 1..].to_vec()));
    }
    // Cursors that are not routes.
    assert_eq!(walk_all(&t, 0, Some((0, 31))), Ok(all[2..].to_vec()));
    assert_eq!(
        walk_all(&t, 0, Some((0x4000_0000, 2))),
        Ok(all[3..].to_vec())
    );
    assert_eq!(
        walk_all(&t, 0, Some((0x8000_0000, 16))),
        Ok(all[6..].to_vec())
    );
    assert_eq!(
        walk_all(&t, 0, Some((0x8000_0001, 32))),
        Ok(all[7..].to_vec())
    );
    assert_eq!(
        walk_all(&t, 0, Some((0xffff_fffe, 31))),
        Ok(all[7..].to_vec())
    );
    assert_eq!(walk_all(&t, 0, Some((u32::MAX as u128, 32))), Ok(vec![]));
    // Stopping early: exactly one call.
    let mut seen = vec![];
    t.walk(0, Some((0, 8)), |p, l, nh| {
        seen.push((p, l, nh));
        false
    })
    .unwrap();
    assert_eq!(seen, vec![(0, 32, 2)]);
    for n in 1..=9 {
        assert_eq!(walk_chunks(&t, 0, &[n]), all);
    }
}

#[test]
fn walk_edges_v6() {
    let mut t = new::<u128>();
    let p = 0x2001_0db8u128 << 96;
    let routes = [
        (0u128, 0u8),
        (0, 128),
        (p, 32),
        (p, 128),
        (p | 1, 128),
        (p | 1 << 64, 64),
        (u128::MAX << 1, 127),
        (u128::MAX, 128),
    ];
    for (i, &(q, l)) in routes.iter().enumerate().rev() {
        t.insert(3, q, l, i as u32).unwrap();
    }
    let all: Vec<_> = routes
        .iter()
        .enumerate()
        .map(|(i, &(q, l))| (q, l, i as u32))
        .collect();
    assert_eq!(walk_all(&t, 3, None), Ok(all.clone()));
    for (i, &(q, l)) in routes.iter().enumerate() {
        assert_eq!(walk_all(&t, 3, Some((q, l))), Ok(all[i + 1..].to_vec()));
    }
    assert_eq!(walk_all(&t, 3, Some((p, 129))), Err(LpmError::BadLength));
    assert_eq!(walk_chunks(&t, 3, &[1]), all);
}

#[test]
fn delete_fib_edges() {
    let nodes = Nodes::new();
    let results = Results::new();
    let (nb, rb) = (nodes.budget.clone(), results.budget.clone());
    // Two table slots.
    let mut t: T<u32> = Lpm::new(nodes, results, 1).unwrap();
    let base = t.nodes().live();
    assert_eq!(t.delete_fib(5), Ok(0));
    t.insert(10, 0, 0, 1).unwrap();
    t.insert(10, 0x0a01_0203, 32, 2).unwrap();
    t.insert(10, 0xffff_ffff, 32, 3).unwrap();
    t.insert(20, 0x0a00_0000, 8, 4).unwrap();
    assert_eq!(t.insert(30, 0, 0, 5), Err(LpmError::FibTableFull));
    assert_eq!(t.routes(), 4);
    // No allocation at all.
    nb.set(Some(0));
    rb.set(Some(0));
    assert_eq!(t.delete_fib(10), Ok(3));
    assert_eq!(t.delete_fib(10), Ok(0));
    nb.set(None);
    rb.set(None);
    assert_eq!(t.routes(), 1);
    assert_eq!(t.results().live(), 1);
    assert_eq!(t.lookup(10, 0x0a01_0203), None);
    assert_eq!(t.lookup_route(10, 0), None);
    assert_eq!(walk_all(&t, 10, None), Ok(vec![]));
    assert_eq!(t.lookup(20, 0x0a01_0203), Some(4));
    // The slot is reusable by another FIB id, and by the same one.
    t.insert(30, 0, 0, 5).unwrap();
    assert_eq!(t.lookup(30, 7), Some(5));
    assert_eq!(t.insert(10, 0, 0, 1), Err(LpmError::FibTableFull));
    assert_eq!(t.delete_fib(30), Ok(1));
    t.insert(10, 0, 0, 6).unwrap();
    assert_eq!(t.lookup_route(10, 7), Some((0, 6)));
    assert_eq!(t.delete_fib(10), Ok(1));
    assert_eq!(t.delete_fib(20), Ok(1));
    assert_eq!(t.routes(), 0);
    assert_eq!(t.nodes().live(), base);
    assert_eq!(t.results().live(), 0);
}

#[test]
fn delete_fib_deep_v6() {
    // Long chains (16 levels) and a wide node.
    let mut t = new::<u128>();
    let mut rng = XorShift(3);
    let mut n = 0;
    for i in 0..2000u32 {
        let k = (rng.next() as u128) << 64 | rng.next() as u128;
        let l = [128u8, 127, 64, 48, 17, 8][i as usize % 6];
        if t.insert(4, k.mask(l as u32), l, i).is_ok() {
            n += 1;
        }
        t.insert(5, k.mask(l as u32), l, i).ok();
    }
    let (nodes, results) = (t.nodes().live(), t.results().live());
    assert_eq!(t.delete_fib(4), Ok(n));
    assert_eq!(t.routes(), n);
    assert_eq!(t.results().live(), results - n);
    assert!(t.nodes().live() * 2 <= nodes + fib_table_words());
    assert_eq!(walk_all(&t, 5, None).unwrap().len() as u64, n);
    assert_eq!(t.delete_fib(5), Ok(n));
    assert_eq!(t.nodes().live(), fib_table_words());
}

/// Random IPv4 routes shaped like a BGP table (mostly /24, some /16../23,
/// a few short and host routes), deduplicated.
fn synthetic_v4(n: usize, rng: &mut XorShift) -> Vec<(u32, u8)> {
    let mut set = std::collections::HashSet::new();
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let r = rng.next();
        let l = match r % 100 {
            0..=59 => 24,
            60..=89 => 16 + (r >> 8) % 8,
            90..=95 => 8 + (r >> 8) % 8,
            _ => 25 + (r >> 8) % 8,
        } as u8;
        let p = ((r >> 32) as u32).mask(l as u32);
        if set.insert((p, l)) {
            v.push((p, l));
        }
    }
    v
}

/// Time of a whole walk and of the same walk resumed every `chunk` routes.
fn time_walks(t: &T<u32>, fib: u32, chunk: usize, want: &[(u128, u8, u32)]) -> (f64, f64) {
    let s = std::time::Instant::now();
    let mut n = 0usize;
    t.walk(fib, None, |_, _, _| {
        n += 1;
        true
    })
    .unwrap();
    let whole = s.elapsed().as_secs_f64();
    assert_eq!(n, want.len());
    let s = std::time::Instant::now();
    let got = walk_chunks(t, fib, &[chunk]);
    let chunked = s.elapsed().as_secs_f64();
    assert!(got == want, "chunked walk differs from the model");
    (whole, chunked)
}

/// Counts the slot reads of a walk, to check its cost without timing it.
struct Counting<'a, A>(&'a A, std::cell::Cell<u64>);

impl<T: Copy, A: cgl_cores::lpm::ArenaRead<T>> cgl_cores::lpm::ArenaRead<T> for Counting<'_, A> {
    fn get(&self, idx: u32) -> Option<T> {
        self.1.set(self.1.get() + 1);
        self.0.get(idx)
    }
}

/// Slot reads of a whole walk of `fib`, and of the same walk resumed in
/// chunks of `chunk` routes (with the number of chunks).
fn count_walks(t: &T<u32>, fib: u32, chunk: usize) -> (u64, u64, u64) {
    let nodes = Counting(t.nodes(), std::cell::Cell::new(0));
    let results = Counting(t.results(), std::cell::Cell::new(0));
    let rd = t.reader();
    rd.walk(&nodes, &results, fib, None, |_, _, _| true)
        .unwrap();
    let whole = nodes.1.get() + results.1.get();
    nodes.1.set(0);
    results.1.set(0);
    let mut after = None;
    let mut chunks = 0u64;
    loop {
        let mut n = 0usize;
        let mut last = None;
        rd.walk(&nodes, &results, fib, after, |p, l, _| {
            last = Some((p, l));
            n += 1;
            n < chunk
        })
        .unwrap();
        chunks += 1;
        match last {
            Some(c) if n == chunk => after = Some(c),
            _ => break,
        }
    }
    (whole, nodes.1.get() + results.1.get(), chunks)
}

/// A 500k-route table walked in resumed chunks of 100: exactly the sorted
/// routes, and linear: each resumption costs one descent, so the slot
/// reads of the chunked walk exceed the whole walk's by a bounded amount
/// per chunk (a restart from the first route would read ~2500x more).
/// Timings are printed for information only.
#[test]
fn walk_resume_500k_linear() {
    let mut rng = XorShift(0x5eed_1234);
    let routes = synthetic_v4(500_000, &mut rng);
    for n in [125_000usize, 250_000, 500_000] {
        let mut t = new::<u32>();
        let mut m = Vec::with_capacity(n);
        for (i, &(p, l)) in routes[..n].iter().enumerate() {
            t.insert(1, p, l, i as u32).unwrap();
            m.push((p as u128, l, i as u32));
        }
        m.sort_unstable();
        let (w, c) = time_walks(&t, 1, 100, &m);
        println!(
            "walk {n:>7} routes: whole {:7.2} ms ({:5.1} ns/route), chunks of 100 {:7.2} ms ({:5.1} ns/route)",
            w * 1e3,
            w * 1e9 / n as f64,
            c * 1e3,
            c * 1e9 / n as f64
        );
        let (whole, chunked, chunks) = count_walks(&t, 1, 100);
        // One descent re-reads at most 4 levels of 17-word nodes plus
        // their group words and a result block.
        let per_resume = 4 * (u64::from(NODE_WORDS) + 8) + 512;
        assert!(
            chunked <= whole + chunks * per_resume,
            "{n} routes: chunked walk read {chunked} slots, whole {whole}, {chunks} chunks"
        );
    }
}

/// A node arena that notes the word an update prefetches and whether the
/// update then reads it.
#[derive(Default)]
struct Watched {
    inner: Nodes,
    /// The last word prefetched.
    prefetched: std::cell::Cell<Option<u32>>,
    /// Whether it was read after the prefetch.
    used: std::cell::Cell<bool>,
}

impl lpm::ArenaRead<u64> for Watched {
    fn get(&self, idx: u32) -> Option<u64> {
        if self.prefetched.get() == Some(idx) {
            self.used.set(true);
        }
        self.inner.get(idx)
    }
    fn prefetch(&self, idx: u32) {
        self.prefetched.set(Some(idx));
        self.used.set(false);
    }
}

impl lpm::Arena<u64> for Watched {
    fn try_alloc(&mut self, n: u32) -> Result<u32, lpm::AllocError> {
        self.inner.try_alloc(n)
    }
    fn set(&mut self, idx: u32, v: u64) -> bool {
        self.inner.set(idx, v)
    }
    fn free(&mut self, base: u32, n: u32) {
        self.inner.free(base, n)
    }
    fn retire(&mut self, base: u32, n: u32) {
        self.inner.retire(base, n)
    }
}

/// An update of an accelerated FIB prefetches the direct-table word that
/// its accelerator update then reads (and nothing for a FIB without an
/// accelerator), for both key widths and every prefix length.
#[test]
fn accel_update_prefetches_its_entry() {
    fn check<K: TKey>(rng: &mut XorShift) {
        let mut t: Lpm<K, Watched, Results> =
            Lpm::new(Watched::default(), Results::new(), FIBS).unwrap();
        // Routes in a few /12s, so that IPv6 gets pages, of every length.
        let route = |rng: &mut XorShift| {
            let top = u128::from(rng.next() % 4) << (K::BITS - 12);
            let bits = (u128::from(rng.next()) << 64 | u128::from(rng.next())) & mask::<K>(K::BITS);
            let len = (rng.next() % u64::from(K::BITS + 1)) as u8;
            let p = (top | bits >> 12) & mask::<K>(len.into());
            (K::from_u128(p), len)
        };
        let mut live = Vec::new();
        for i in 0..4000u32 {
            let (p, l) = route(rng);
            if t.insert(1, p, l, i).is_ok() {
                live.push((p, l));
            }
        }
        // Without an accelerator: no prefetch.
        let (p, l) = live[0];
        t.nodes().prefetched.set(None);
        t.delete(1, p, l).unwrap();
        t.insert(1, p, l, 7).unwrap();
        assert_eq!(
            t.nodes().prefetched.get(),
            None,
            "prefetch without an accelerator"
        );
        t.set_accel_threshold(1);
        t.flush(1).unwrap();
        const UPDATES: usize = 1500;
        assert!(
            live.len() > UPDATES,
            "{} bits: {} routes",
            K::BITS,
            live.len()
        );
        let (mut prefetched, mut used) = (0, 0);
        for (n, &(p, l)) in live.iter().enumerate().take(UPDATES) {
            t.nodes().prefetched.set(None);
            if n % 2 == 0 {
                t.delete(1, p, l).unwrap();
            } else {
                t.replace(1, p, l, n as u32).unwrap();
            }
            t.flush(1).unwrap();
            if t.nodes().prefetched.get().is_some() {
                prefetched += 1;
                used += usize::from(t.nodes().used.get());
            }
        }
        assert_eq!(
            prefetched,
            UPDATES,
            "{} bits: updates that prefetched",
            K::BITS
        );
        assert_eq!(used, prefetched, "{} bits: prefetched words read", K::BITS);
    }
    let mut rng = XorShift(0x9e37_0001);
    check::<u32>(&mut rng);
    check::<u128>(&mut rng);
}
