// SPDX-License-Identifier: GPL-2.0

//! The multi-FIB LPM trie against a naive model (a map of routes scanned
//! for the longest match), for IPv4 and IPv6 keys, with error cases and
//! allocation-failure injection. `real_tables` loads the RouteViews lists
//! shipped by Debian's python3-pyasn from `$CGL_PYASN_DIR` and compares
//! with the `prefix-trie` crate; it is skipped when the variable is unset:
//!
//! ```text
//! cd /tmp && apt-get download python3-pyasn && dpkg -x python3-pyasn*.deb pyasn
//! CGL_PYASN_DIR=/tmp/pyasn/usr/lib/python3/dist-packages/data cargo test -p cgl-cores --test lpm
//! ```

mod common;

use cgl_cores::lpm::{Key, Lpm, LpmError, MAX_FIBS, NODE_WORDS};
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

fn new<K: TKey>() -> T<K> {
    Lpm::new(Nodes::new(), Results::new(), FIBS).unwrap()
}

fn fib_table_words() -> u64 {
    (FIBS * 2).next_power_of_two() as u64
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
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u32, u128, u8, u32),
    Delete(u32, u128, u8),
    Replace(u32, u128, u8, u32),
    Lookup(u32, u128),
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
    ];
    proptest::collection::vec(op, 0..150)
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
        Op::Lookup(..) => return None,
    })
}

fn apply<K: TKey>(t: &mut T<K>, op: &Op) -> Option<Result<Option<u32>, LpmError>> {
    let k = K::from_u128;
    Some(match *op {
        Op::Insert(f, p, l, nh) => t.insert(f, k(p), l, nh).map(|_| None),
        Op::Delete(f, p, l) => t.delete(f, k(p), l).map(Some),
        Op::Replace(f, p, l, nh) => t.replace(f, k(p), l, nh).map(Some),
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

fn check_all<K: TKey>(
    t: &T<K>,
    m: &Model,
    extra: &[u128],
    rng: &mut XorShift,
) -> Result<(), TestCaseError> {
    for (f, key) in probes::<K>(m, extra, rng) {
        prop_assert_eq!(
            t.lookup(f, K::from_u128(key)),
            m.lookup::<K>(f, key),
            "fib {} key {:x}",
            f,
            key
        );
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
        }
        let key = match *op {
            Op::Insert(_, p, ..)
            | Op::Delete(_, p, _)
            | Op::Replace(_, p, ..)
            | Op::Lookup(_, p) => p,
        };
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
    let key = match target {
        Op::Insert(_, p, ..) | Op::Delete(_, p, _) | Op::Replace(_, p, ..) | Op::Lookup(_, p) => p,
    };
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
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

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
    assert_eq!(base, 2048, "FIB table: 8..16 bytes per FIB");
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
    let mut t: T<K> = Lpm::new(Nodes::new(), Results::new(), 4).unwrap();
    let mut r: PrefixMap<(K, u8), u32> = PrefixMap::new();
    let mut order: Vec<usize> = (0..routes.len()).collect();
    rng.shuffle(&mut order);
    // Two FIBs with the same prefixes and different nexthops.
    for &i in &order {
        let (p, l) = routes[i];
        if t.insert(1, p, l, i as u32 + 1) == Err(LpmError::Exists) {
            continue; // duplicate line in the file
        }
        t.insert(2, p, l, !(i as u32)).unwrap();
        r.insert((p, l), i as u32 + 1);
    }
    let compare = |t: &T<K>, r: &PrefixMap<(K, u8), u32>, rng: &mut XorShift| {
        let mut keys: Vec<u128> = routes.iter().map(|&(p, _)| p.to_u128()).collect();
        keys.extend((0..200_000).map(|_| (rng.next() as u128) << 64 | rng.next() as u128));
        for k in keys {
            let k = K::from_u128(if K::BITS == 32 { k & 0xffff_ffff } else { k });
            let want = r.get_lpm(&(k, K::BITS as u8)).map(|(_, v)| *v);
            assert_eq!(t.lookup(1, k), want, "{k:?}");
            assert_eq!(t.lookup(2, k), want.map(|v| !(v - 1)), "{k:?}");
            assert_eq!(t.lookup(3, k), None);
        }
    };
    compare(&t, &r, rng);
    assert_eq!(t.results().live(), t.routes());
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
                t.replace(2, p, l, !(*v - 1)).unwrap();
            }
        }
    }
    compare(&t, &r, rng);
    // And everything else: only the FIB table remains.
    for &(p, l) in routes {
        if r.remove(&(p, l)).is_some() {
            t.delete(1, p, l).unwrap();
            t.delete(2, p, l).unwrap();
        }
    }
    assert_eq!(t.routes(), 0);
    assert_eq!(t.nodes().live(), 8);
}
