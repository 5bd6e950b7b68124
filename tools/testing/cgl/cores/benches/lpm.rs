// SPDX-License-Identifier: GPL-2.0

//! LPM benchmark on the RouteViews tables shipped by Debian's
//! python3-pyasn and on larger synthetic tables of the same shape, against
//! the `prefix-trie` crate and, when `CGL_LPM_DPDK` names the harness
//! built from `tools/testing/cgl/bench/lpm_dpdk.c`, DPDK's rte_lpm and
//! rte_fib (DIR24_8) for IPv4, rte_lpm6 and rte_fib6 (TRIE) for IPv6:
//!
//! ```text
//! make bench-lpm        # builds the harness if dpdk-dev is installed
//! # or by hand, without the DPDK peers:
//! cd /tmp && apt-get download python3-pyasn && dpkg -x python3-pyasn*.deb pyasn
//! CGL_PYASN_DIR=/tmp/pyasn/usr/lib/python3/dist-packages/data \
//!     cargo bench -p cgl-cores --bench lpm
//! ```
//!
//! Tables: IPv4 of ipasn_20140513, IPv6 of ipasn6_20151101, and synthetic
//! 1M IPv4 and 250k IPv6 tables whose prefix lengths are drawn from those
//! two histograms with random bits (IPv6 under 2000::/3), deduplicated,
//! from fixed seeds. Random bits share fewer upper trie levels than real
//! allocations do, so the synthetic tables cost every trie more per
//! route than real ones.
//!
//! Nexthop of a route = its index in the table + 1. Inserts go in a random
//! order (xorshift64* 0xfeedbeef shuffle), deletes in a second one;
//! lookups use 4M xorshift keys (seed 0x9e3779b97f4a7c15; IPv4: uniform;
//! IPv6: a random table prefix with random host bits). Every structure's
//! checksum (sum of nexthops found, 0 for a miss) must equal cgl's: a
//! mismatch is printed and the bench exits with status 1. The DPDK
//! harness gets the same routes (pyasn text format) and keys (binary)
//! through a temporary directory and runs its lookups as another process
//! right after ours; every lookup rate is the best of `REPS` rounds.
//! Lookups are timed one key per call and in bursts of 32 keys of one
//! FIB (`Lpm::lookup_burst`; DPDK's bulk calls).
//!
//! Update latency: every insert and delete is timed on its own with
//! `Instant` (so is DPDK's with `CLOCK_MONOTONIC`); the timer's own cost,
//! printed, is included. Throughputs of cgl and prefix-trie come from a
//! separate untimed pass, DPDK's from the timed one. The DPDK peers
//! delete only the first `DPDK_DELETES` routes of the delete order
//! (rte_lpm takes tens of microseconds per update). cgl's update
//! latencies with the accelerator are also printed by prefix-length
//! class (`Family::CLASSES`): count, share of the time, mean, p99, and
//! how many reach the overall p99, which shows where the tail comes from.
//!
//! Dependent memory accesses: the lookups run once more through arena
//! wrappers that count `get` calls (word loads) and chain steps: a load
//! outside the node (17 words) of the previous one starts a new dependent
//! access (FIB slot, each node, the result); mean and max per lookup.
//!
//! Also: `lookup_route`, in-order walks (whole, and resumed every 100
//! routes as a netlink dump does) against prefix-trie's iterator, and
//! `delete_fib` of the whole table.

#[path = "../tests/common/mod.rs"]
mod common;

use cgl_cores::lpm::{ArenaRead, Key, Lpm, NODE_WORDS};
use common::{Nodes, Results, XorShift};
use prefix_trie::PrefixMap;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

/// Counts live heap bytes so both structures are measured the same way.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only adding accounting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn heap() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const KEYS: usize = 4 << 20;
const REPS: usize = 5;
const KEY_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const ORDER_SEED: u64 = 0xfeed_beef;
const SYNTH_V4: usize = 1_000_000;
const SYNTH_V6: usize = 250_000;
const DPDK_DELETES: usize = 100_000;
/// Keys per burst of cgl's `lookup_burst`, as the DPDK harness's bulk
/// lookups (its `BURST`).
const BULK: usize = 32;
/// Routes deleted and inserted again, a flush after each, with the
/// accelerator on.
const CHURN: usize = 100_000;

/// The address families: what the DPDK harness and the generator need.
trait Family: Key + std::hash::Hash {
    /// `-4` or `-6` for the harness.
    const FLAG: &'static str;
    /// `prefix/len` as in the pyasn files.
    fn text(self, len: u8) -> String;
    /// The harness's key format: IPv4 native-endian, IPv6 network order.
    fn put(self, out: &mut Vec<u8>);
    /// Random address bits for the synthetic tables.
    fn random(rng: &mut XorShift) -> Self;
    /// Prefix-length classes of the update breakdown, by their last
    /// length: the accelerator handles each class its own way.
    const CLASSES: &'static [u8];
}

impl Family for u32 {
    const FLAG: &'static str = "-4";
    fn text(self, len: u8) -> String {
        format!("{}/{len}", std::net::Ipv4Addr::from(self))
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_ne_bytes());
    }
    fn random(rng: &mut XorShift) -> Self {
        rng.next() as u32
    }
    // Direct entries changed by eight or more, by two to four, one;
    // root slots spliced; one root slot split; deeper nodes.
    const CLASSES: &'static [u8] = &[15, 17, 18, 23, 24, 32];
}

impl Family for u128 {
    const FLAG: &'static str = "-6";
    fn text(self, len: u8) -> String {
        format!("{}/{len}", std::net::Ipv6Addr::from(self))
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn random(rng: &mut XorShift) -> Self {
        let v = (rng.next() as u128) << 64 | rng.next() as u128;
        // Global unicast, 2000::/3, as every route of the real table.
        (v & !(7 << 125)) | 1 << 125
    }
    // Region roots; the /32 node at depth 30; /48 in its depth-42 node.
    const CLASSES: &'static [u8] = &[24, 31, 32, 47, 48, 128];
}

/// Uniform IPv4 keys.
fn keys_v4() -> Vec<u32> {
    let mut rng = XorShift(KEY_SEED);
    (0..KEYS).map(|_| rng.next() as u32).collect()
}

/// IPv6 keys: a random route's prefix with random host bits.
fn keys_v6(routes: &[(u128, u8)]) -> Vec<u128> {
    let mut rng = XorShift(KEY_SEED);
    (0..KEYS)
        .map(|_| {
            let (p, l) = routes[(rng.next() % routes.len() as u64) as usize];
            let host = ((rng.next() as u128) << 64 | rng.next() as u128)
                .checked_shr(l as u32)
                .unwrap_or(0);
            p | host
        })
        .collect()
}

/// `n` distinct prefixes with random bits whose lengths have the shares
/// of those of `real` (largest-remainder rounding), in random order.
fn synth<K: Family>(real: &[(K, u8)], n: usize, seed: u64) -> Vec<(K, u8)> {
    let mut hist = vec![0u64; K::BITS as usize + 1];
    for &(_, l) in real {
        hist[l as usize] += 1;
    }
    let total = real.len() as u64;
    let mut quota: Vec<u64> = hist.iter().map(|&h| h * n as u64 / total).collect();
    let mut by_rem: Vec<usize> = (0..hist.len()).collect();
    by_rem.sort_by_key(|&l| std::cmp::Reverse(hist[l] * n as u64 % total));
    let short = n as u64 - quota.iter().sum::<u64>();
    for &l in &by_rem[..short as usize] {
        quota[l] += 1;
    }
    let mut rng = XorShift(seed);
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for (len, &q) in quota.iter().enumerate() {
        assert!(len >= 64 || q <= 1 << len, "{q} prefixes of length {len}");
        let mut got = 0;
        while got < q {
            let p = K::random(&mut rng).mask(len as u32);
            if seen.insert((p, len as u8)) {
                out.push((p, len as u8));
                got += 1;
            }
        }
    }
    rng.shuffle(&mut out);
    out
}

/// Best of `REPS` rounds of each of `fs`, rounds interleaved so that both
/// see the same machine; seconds and the last result of each.
fn best2<A, B>(mut f: impl FnMut() -> A, mut g: impl FnMut() -> B) -> ((f64, A), (f64, B)) {
    let (mut tf, mut tg) = (f64::MAX, f64::MAX);
    let (mut rf, mut rg) = (None, None);
    for _ in 0..REPS {
        let s = Instant::now();
        let x = black_box(f());
        tf = tf.min(s.elapsed().as_secs_f64());
        rf = Some(x);
        let s = Instant::now();
        let x = black_box(g());
        tg = tg.min(s.elapsed().as_secs_f64());
        rg = Some(x);
    }
    ((tf, rf.expect("ran")), (tg, rg.expect("ran")))
}

/// Best of `REPS` runs of `f` in seconds, with its result.
fn best<R>(mut f: impl FnMut() -> R) -> (f64, R) {
    best2(&mut f, || ()).0
}

/// Runs `op` on each of `order`, timing each call; the latencies in ns.
fn timed(order: &[u32], mut op: impl FnMut(u32)) -> Vec<u64> {
    order
        .iter()
        .map(|&i| {
            let s = Instant::now();
            op(i);
            s.elapsed().as_nanos() as u64
        })
        .collect()
}

/// The cgl update latencies `lat` (of the routes `idx`, in order) by
/// prefix-length class: count, share of the total time, mean, p99, and
/// how many reach the p99 of all of them.
fn by_length<K: Family>(routes: &[(K, u8)], idx: &[u32], lat: &[u64]) {
    let mut all = lat.to_vec();
    all.sort_unstable();
    let p99 = all[all.len() * 99 / 100];
    let total: u64 = all.iter().sum();
    println!(
        "{:<26} {:>7} {:>6} {:>8} {:>8} {:>8}",
        "cgl updates by length", "n", "time", "mean ns", "p99 ns", ">= p99"
    );
    let mut lo = 0u8;
    for &hi in K::CLASSES {
        let mut v: Vec<u64> = idx
            .iter()
            .cycle()
            .zip(lat)
            .filter(|(&i, _)| (lo..=hi).contains(&routes[i as usize].1))
            .map(|(_, &x)| x)
            .collect();
        let label = match lo == hi {
            true => format!("  /{lo}"),
            false => format!("  /{lo}../{hi}"),
        };
        lo = hi.saturating_add(1);
        if v.is_empty() {
            continue;
        }
        v.sort_unstable();
        let sum: u64 = v.iter().sum();
        println!(
            "{label:<26} {:>7} {:>5.1}% {:>8} {:>8} {:>8}",
            v.len(),
            100.0 * sum as f64 / total as f64,
            sum / v.len() as u64,
            v[v.len() * 99 / 100],
            v.iter().filter(|&&x| x >= p99).count()
        );
    }
}

/// p50, p99 and max of `v`.
fn pcts(mut v: Vec<u64>) -> [u64; 3] {
    v.sort_unstable();
    let n = v.len();
    [v[n / 2], v[n * 99 / 100], v[n - 1]]
}

/// Cost of one `Instant` measurement, in ns.
fn timer_ns() -> f64 {
    let n = 1 << 20;
    let s = Instant::now();
    for _ in 0..n {
        black_box(Instant::now().elapsed());
    }
    s.elapsed().as_nanos() as f64 / n as f64
}

/// An arena read view that counts loads and dependent accesses.
struct Counted<'a, A> {
    a: &'a A,
    /// Slots of one node: loads within it are one access.
    width: u32,
    cur: Cell<u32>,
    loads: Cell<u32>,
    steps: Cell<u32>,
}

impl<'a, A> Counted<'a, A> {
    fn new(a: &'a A, width: u32) -> Self {
        Self {
            a,
            width,
            cur: Cell::new(u32::MAX),
            loads: Cell::new(0),
            steps: Cell::new(0),
        }
    }
    /// (loads, dependent accesses) since the last call.
    fn take(&self) -> (u32, u32) {
        self.cur.set(u32::MAX);
        (self.loads.replace(0), self.steps.replace(0))
    }
}

impl<T: Copy, A: ArenaRead<T>> ArenaRead<T> for Counted<'_, A> {
    fn get(&self, idx: u32) -> Option<T> {
        self.loads.set(self.loads.get() + 1);
        let c = self.cur.get();
        if idx < c || idx - c >= self.width {
            self.steps.set(self.steps.get() + 1);
            self.cur.set(idx);
        }
        self.a.get(idx)
    }
}

/// One structure's figures.
#[derive(Default)]
struct Figures {
    name: String,
    single: f64,
    burst: Option<f64>,
    ins: f64,
    del: f64,
    ins_lat: [u64; 3],
    del_lat: [u64; 3],
    bytes: f64,
    sum: u64,
    burst_sum: Option<u64>,
}

/// Runs the DPDK harness on `routes` and `keys`: its figures, `None` if
/// `CGL_LPM_DPDK` is unset, or what went wrong. The input files go to a temporary directory, or are kept in
/// `CGL_LPM_BENCH_DIR` (named after `slug`) to rerun the harness by hand.
fn dpdk<K: Family>(
    slug: &str,
    routes: &[(K, u8)],
    keys: &[K],
) -> Result<Option<Vec<Figures>>, String> {
    let Some(exe) = std::env::var_os("CGL_LPM_DPDK") else {
        return Ok(None);
    };
    let (dir, keep) = match std::env::var_os("CGL_LPM_BENCH_DIR") {
        Some(d) => (PathBuf::from(d), true),
        None => (
            std::env::temp_dir().join(format!("cgl-lpm-bench.{}", std::process::id())),
            false,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = run_dpdk::<K>(Path::new(&exe), &dir, slug, routes, keys);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let out = out?;
    let mut v = Vec::new();
    for line in out.lines().filter(|l| l.starts_with("peer=")) {
        let f: HashMap<&str, &str> = line
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let num = |k: &str| -> Result<f64, String> {
            f.get(k)
                .and_then(|v| v.parse().ok())
                .ok_or(format!("harness output lacks {k}: {line}"))
        };
        let n = num("routes")?;
        v.push(Figures {
            name: f.get("peer").unwrap_or(&"?").to_string(),
            single: num("single_mlps")?,
            burst: Some(num("bulk_mlps")?),
            ins: num("ins_per_s")? / 1e6,
            del: num("del_per_s")? / 1e6,
            ins_lat: [num("ins_p50_ns")?, num("ins_p99_ns")?, num("ins_max_ns")?].map(|x| x as u64),
            del_lat: [num("del_p50_ns")?, num("del_p99_ns")?, num("del_max_ns")?].map(|x| x as u64),
            bytes: num("bytes")? / n,
            sum: num("single_sum")? as u64,
            burst_sum: Some(num("bulk_sum")? as u64),
        });
    }
    if v.len() != 2 {
        return Err(format!(
            "harness printed {} results, not 2:\n{out}",
            v.len()
        ));
    }
    Ok(Some(v))
}

fn run_dpdk<K: Family>(
    exe: &Path,
    dir: &Path,
    slug: &str,
    routes: &[(K, u8)],
    keys: &[K],
) -> Result<String, String> {
    let io = |p: &PathBuf, e: std::io::Error| format!("{}: {e}", p.display());
    let rp = dir.join(format!("{slug}.routes"));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&rp).map_err(|e| io(&rp, e))?);
    for (i, &(p, l)) in routes.iter().enumerate() {
        writeln!(w, "{}\t{}", p.text(l), i + 1).map_err(|e| io(&rp, e))?;
    }
    w.flush().map_err(|e| io(&rp, e))?;
    drop(w);
    let kp = dir.join(format!("{slug}.keys"));
    let mut b = Vec::with_capacity(keys.len() * (K::BITS / 8) as usize);
    keys.iter().for_each(|k| k.put(&mut b));
    std::fs::write(&kp, b).map_err(|e| io(&kp, e))?;
    // One table at a time: a 64 MiB tbl24, the tbl8s and a RIB or rules.
    let mb = 2048 + routes.len() / 256;
    let out = std::process::Command::new(exe)
        .arg(K::FLAG)
        .args(["-r", &REPS.to_string(), "-m", &mb.to_string()])
        .args(["-d", &DPDK_DELETES.to_string(), "-k"])
        .arg(&kp)
        .arg(&rp)
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{stdout}{}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(stdout)
}

/// Benchmarks one table; `false` if a checksum differed or the DPDK
/// harness failed.
fn bench<K>(name: &str, routes: &[(K, u8)], keys: &[K]) -> bool
where
    K: Family,
    (K, u8): prefix_trie::Prefix,
{
    let n = routes.len();
    let mut rng = XorShift(ORDER_SEED);
    let mut order: Vec<u32> = (0..n as u32).collect();
    rng.shuffle(&mut order);
    let mut del_order = order.clone();
    rng.shuffle(&mut del_order);

    // --- cgl ---
    let h0 = heap();
    let mut t: Lpm<K, Nodes, Results> = Lpm::new(Nodes::new(), Results::new(), 16).expect("new");
    let s = Instant::now();
    for &i in &order {
        let (p, l) = routes[i as usize];
        t.insert(0, p, l, i + 1).expect("insert");
    }
    let cgl_ins = s.elapsed().as_secs_f64();
    let cgl_heap = heap() - h0;
    let live = t.nodes().live_bytes() + t.results().live_bytes();
    let foot = t.nodes().footprint_bytes() + t.results().footprint_bytes();

    // --- prefix-trie ---
    let h1 = heap();
    let mut r: PrefixMap<(K, u8), u32> = PrefixMap::new();
    let s = Instant::now();
    for &i in &order {
        let (p, l) = routes[i as usize];
        r.insert((p, l), i + 1);
    }
    let pt_ins = s.elapsed().as_secs_f64();
    let pt_heap = heap() - h1;

    let ((cgl_lk, cgl_sum), (pt_lk, pt_sum)) = best2(
        || {
            let mut sum = 0u64;
            for &k in keys {
                sum = sum.wrapping_add(t.lookup(0, k).unwrap_or(0) as u64);
            }
            sum
        },
        || {
            let mut sum = 0u64;
            for &k in keys {
                sum =
                    sum.wrapping_add(r.get_lpm(&(k, K::BITS as u8)).map_or(0, |(_, v)| *v) as u64);
            }
            sum
        },
    );

    // Loads and dependent accesses per lookup, Tree Bitmap alone.
    let tbm_acc = accesses(&t, keys, NODE_WORDS, cgl_sum);

    // The direct-pointing accelerator: built once, then lookups.
    let foot0 = t.nodes().footprint_bytes();
    let live0 = t.nodes().live_bytes();
    t.set_accel_threshold(1);
    let s = Instant::now();
    t.flush(0).expect("flush");
    let acc_build = s.elapsed().as_secs_f64();
    let acc_foot = t.nodes().footprint_bytes() - foot0;
    let acc_live = t.nodes().live_bytes() - live0;
    let (acc_lk, acc_sum) = best(|| {
        let mut sum = 0u64;
        for &k in keys {
            sum = sum.wrapping_add(t.lookup(0, k).unwrap_or(0) as u64);
        }
        sum
    });
    assert_eq!(acc_sum, cgl_sum, "accelerated lookups checksum");
    // Bursts of 32 as DPDK's bulk lookups get them: one FIB per burst.
    let (acc_bk, acc_bsum) = best(|| {
        let mut sum = 0u64;
        let mut out = [None; BULK];
        for ks in keys.chunks(BULK) {
            let n = t.lookup_burst(0, ks, &mut out);
            for o in out.iter().take(n) {
                sum = sum.wrapping_add(o.unwrap_or(0) as u64);
            }
        }
        sum
    });
    let acc_acc = accesses(&t, keys, 3, cgl_sum);

    // Updates with the accelerator on, each followed by a flush (what the
    // module does per request): the first CHURN routes of the delete order
    // deleted, then inserted again.
    let churn = &del_order[..n.min(CHURN)];
    let mut acc_lat = timed(churn, |i| {
        let (p, l) = routes[i as usize];
        t.delete(0, p, l).expect("delete");
        t.flush(0).expect("flush");
    });
    let acc_del_lat = pcts(acc_lat.clone());
    let ins = timed(churn, |i| {
        let (p, l) = routes[i as usize];
        t.insert(0, p, l, i + 1).expect("insert");
        t.flush(0).expect("flush");
    });
    let acc_ins_lat = pcts(ins.clone());
    acc_lat.extend(ins);
    let s = Instant::now();
    for &i in churn {
        let (p, l) = routes[i as usize];
        t.delete(0, p, l).expect("delete");
        t.flush(0).expect("flush");
    }
    let acc_del = s.elapsed().as_secs_f64();
    let s = Instant::now();
    for &i in churn {
        let (p, l) = routes[i as usize];
        t.insert(0, p, l, i + 1).expect("insert");
        t.flush(0).expect("flush");
    }
    let acc_ins = s.elapsed().as_secs_f64();
    let acc_sum2 = keys.iter().fold(0u64, |a, &k| {
        a.wrapping_add(t.lookup(0, k).unwrap_or(0) as u64)
    });
    assert_eq!(acc_sum2, cgl_sum, "checksum after churn");
    // The Tree Bitmap alone again for the figures below (delete_fib drops
    // the accelerator).
    t.set_accel_threshold(u32::MAX);
    t.delete_fib(0).expect("delete_fib");
    for &i in &order {
        let (p, l) = routes[i as usize];
        t.insert(0, p, l, i + 1).expect("insert");
    }

    let (cgl_lr, lr_sum) = best(|| {
        let mut sum = 0u64;
        for &k in keys {
            sum = sum.wrapping_add(t.lookup_route(0, k).map_or(0, |(_, nh)| nh) as u64);
        }
        sum
    });
    assert_eq!(lr_sum, cgl_sum, "lookup_route checksum");
    let (cgl_walk, walked) = best(|| {
        let mut c = 0usize;
        t.walk(0, None, |_, _, _| {
            c += 1;
            true
        })
        .expect("walk");
        c
    });
    assert_eq!(walked, n);
    let (cgl_chunks, walked) = best(|| {
        let mut c = 0usize;
        let mut after = None;
        loop {
            let mut got = 0;
            t.walk(0, after, |p, l, _| {
                after = Some((p, l));
                got += 1;
                got < 100
            })
            .expect("walk");
            c += got;
            if got < 100 {
                break c;
            }
        }
    });
    assert_eq!(walked, n);
    let (pt_walk, walked) = best(|| r.iter().count());
    assert_eq!(walked, n);

    // Deletes, random order.
    let s = Instant::now();
    for &i in &del_order {
        let (p, l) = routes[i as usize];
        t.delete(0, p, l).expect("delete");
    }
    let cgl_del = s.elapsed().as_secs_f64();
    let s = Instant::now();
    for &i in &del_order {
        let (p, l) = routes[i as usize];
        r.remove(&(p, l));
    }
    let pt_del = s.elapsed().as_secs_f64();
    // The whole table again, dropped with one delete_fib.
    for &i in &order {
        let (p, l) = routes[i as usize];
        t.insert(0, p, l, i + 1).expect("insert");
    }
    let s = Instant::now();
    assert_eq!(t.delete_fib(0), Ok(n as u64));
    let cgl_delfib = s.elapsed().as_secs_f64();
    drop(t);
    drop(r);

    // Per-update latency, fresh structures.
    let mut t: Lpm<K, Nodes, Results> = Lpm::new(Nodes::new(), Results::new(), 16).expect("new");
    let cgl_ins_lat = pcts(timed(&order, |i| {
        let (p, l) = routes[i as usize];
        t.insert(0, p, l, i + 1).expect("insert");
    }));
    let cgl_del_lat = pcts(timed(&del_order, |i| {
        let (p, l) = routes[i as usize];
        t.delete(0, p, l).expect("delete");
    }));
    drop(t);
    let mut r: PrefixMap<(K, u8), u32> = PrefixMap::new();
    let pt_ins_lat = pcts(timed(&order, |i| {
        let (p, l) = routes[i as usize];
        r.insert((p, l), i + 1);
    }));
    let pt_del_lat = pcts(timed(&del_order, |i| {
        let (p, l) = routes[i as usize];
        r.remove(&(p, l));
    }));
    drop(r);

    let nf = n as f64;
    let kf = keys.len() as f64;
    let cf = churn.len() as f64;
    let mut all = vec![
        Figures {
            name: "cgl".into(),
            single: kf / acc_lk / 1e6,
            burst: Some(kf / acc_bk / 1e6),
            burst_sum: Some(acc_bsum),
            ins: cf / acc_ins / 1e6,
            del: cf / acc_del / 1e6,
            ins_lat: acc_ins_lat,
            del_lat: acc_del_lat,
            bytes: (cgl_heap as f64 + acc_foot as f64) / nf,
            sum: acc_sum,
        },
        Figures {
            name: "cgl tbm".into(),
            single: kf / cgl_lk / 1e6,
            ins: nf / cgl_ins / 1e6,
            del: nf / cgl_del / 1e6,
            ins_lat: cgl_ins_lat,
            del_lat: cgl_del_lat,
            bytes: cgl_heap as f64 / nf,
            sum: cgl_sum,
            ..Default::default()
        },
    ];
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut ok = true;
    match dpdk(&slug, routes, keys) {
        Ok(Some(v)) => all.extend(v),
        Ok(None) => println!(
            "note: DPDK peers skipped: CGL_LPM_DPDK unset (make bench-lpm builds \
             tools/testing/cgl/bench/lpm_dpdk.c if dpdk-dev is installed: \
             scripts/cgl/bootstrap.sh --bench)"
        ),
        Err(why) => {
            eprintln!("!!! {name}: DPDK HARNESS FAILED: {why}");
            ok = false;
        }
    }
    all.push(Figures {
        name: "prefix-trie".into(),
        single: kf / pt_lk / 1e6,
        ins: nf / pt_ins / 1e6,
        del: nf / pt_del / 1e6,
        ins_lat: pt_ins_lat,
        del_lat: pt_del_lat,
        bytes: pt_heap as f64 / nf,
        sum: pt_sum,
        ..Default::default()
    });

    println!(
        "== {name}: {n} routes, {} lookup keys, best of {REPS} ==",
        keys.len()
    );
    print!("{:<26}", "");
    all.iter().for_each(|f| print!(" {:>12}", f.name));
    println!();
    let row = |what: &str, v: &dyn Fn(&Figures) -> Option<String>| {
        print!("{what:<26}");
        for f in &all {
            print!(" {:>12}", v(f).unwrap_or_else(|| "-".into()));
        }
        println!();
    };
    let f2 = |x: f64| Some(format!("{x:.2}"));
    row("lookups (M/s)", &|f| f2(f.single));
    row("lookups, bursts of 32", &|f| f.burst.and_then(f2));
    row("inserts, random (M/s)", &|f| f2(f.ins));
    row("insert p50/p99 (ns)", &|f| {
        Some(format!("{}/{}", f.ins_lat[0], f.ins_lat[1]))
    });
    row("insert max (ns)", &|f| Some(f.ins_lat[2].to_string()));
    row("deletes, random (M/s)", &|f| f2(f.del));
    row("delete p50/p99 (ns)", &|f| {
        Some(format!("{}/{}", f.del_lat[0], f.del_lat[1]))
    });
    row("delete max (ns)", &|f| Some(f.del_lat[2].to_string()));
    row("heap bytes/route", &|f| Some(format!("{:.1}", f.bytes)));
    let cgl = &all[0];
    row("cgl/this: lookups 1,32", &|f| {
        Some(format!(
            "{:.2}x{}",
            cgl.single / f.single,
            f.burst.map_or(String::new(), |b| format!(
                ",{:.2}x",
                cgl.burst.unwrap_or(cgl.single) / b
            ))
        ))
    });
    row("cgl/this: bytes/route", &|f| {
        Some(format!("{:.2}x", cgl.bytes / f.bytes))
    });
    println!("{:<26} {:>12.2}", "lookup_route (M/s)", kf / cgl_lr / 1e6);
    println!(
        "{:<26} {:>12.2} {:>12.2} (prefix-trie iterator)",
        "walk, whole (M routes/s)",
        nf / cgl_walk / 1e6,
        nf / pt_walk / 1e6
    );
    println!(
        "{:<26} {:>12.2}",
        "walk, chunks of 100 (M/s)",
        nf / cgl_chunks / 1e6
    );
    println!(
        "{:<26} {:>12.2}",
        "delete_fib (M routes/s)",
        nf / cgl_delfib / 1e6
    );
    println!(
        "{:<26} {:>12.2} live slots, {:.2} arena",
        "cgl bytes/route",
        live as f64 / nf,
        foot as f64 / nf
    );
    println!(
        "{:<26} {:>12.2} (accelerator: {:.2} live, {:.2} arena growth)",
        "",
        (live as f64 + acc_live as f64) / nf,
        acc_live as f64 / nf,
        acc_foot as f64 / nf
    );
    println!("{:<26} {:>12.1} ms", "accelerator build", acc_build * 1e3);
    for (what, a) in [("cgl", acc_acc), ("cgl tbm", tbm_acc)] {
        println!(
            "{:<26} {:>12.2} mean, {} max; word loads {:.2} mean, {} max",
            format!("{what} dependent accesses"),
            a.0 as f64 / kf,
            a.1,
            a.2 as f64 / kf,
            a.3
        );
    }
    by_length(routes, churn, &acc_lat);
    println!(
        "note: cgl column = Tree Bitmap + direct-pointing accelerator; its updates are \
         {} deletes then inserts with a flush after each (p50/p99/max include the flush); \
         cgl tbm = Tree Bitmap alone, random-order load and delete of the whole table",
        churn.len()
    );
    print!("lookup checksums: cgl {cgl_sum}");
    for f in &all {
        print!(", {} {}", f.name, f.sum);
        ok &= f.sum == cgl_sum;
        if let Some(b) = f.burst_sum {
            print!(" (bursts {b})");
            ok &= b == cgl_sum;
        }
    }
    println!(" -> {}", if ok { "all equal" } else { "MISMATCH" });
    if !ok {
        eprintln!("!!! {name}: LOOKUP CHECKSUM MISMATCH !!!");
    }
    println!();
    ok
}

/// (dependent accesses, max, word loads, max) of lookups of `keys` in FIB
/// 0, a load more than `width` slots from the previous one starting a new
/// access.
fn accesses<K: Key>(
    t: &Lpm<K, Nodes, Results>,
    keys: &[K],
    width: u32,
    want: u64,
) -> (u64, u32, u64, u32) {
    let (cn, cr) = (Counted::new(t.nodes(), width), Counted::new(t.results(), 1));
    let rd = t.reader();
    let (mut loads, mut steps, mut max_loads, mut max_steps) = (0u64, 0u64, 0u32, 0u32);
    let mut sum = 0u64;
    for &k in keys {
        sum = sum.wrapping_add(rd.lookup(&cn, &cr, 0, k).unwrap_or(0) as u64);
        let ((l1, s1), (l2, s2)) = (cn.take(), cr.take());
        loads += (l1 + l2) as u64;
        steps += (s1 + s2) as u64;
        max_loads = max_loads.max(l1 + l2);
        max_steps = max_steps.max(s1 + s2);
    }
    assert_eq!(sum, want, "counted lookups checksum");
    (steps, max_steps, loads, max_loads)
}

fn main() {
    // `cargo bench --bench lpm -- synthetic`: only the tables whose name
    // contains an argument.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()));
    let Some(dir) = common::pyasn::dir("the lpm benchmark") else {
        return;
    };
    println!(
        "timer: {:.1} ns per Instant measurement (included in update latencies)",
        timer_ns()
    );
    // Neither side asks for huge pages (DPDK runs with --no-huge), so
    // the system's THP mode decides whether the big tables of the DPDK
    // peers (64 MiB and more) may get them: a run is only comparable
    // with runs under the same mode.
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .ok()
        .and_then(|s| {
            let (_, r) = s.split_once('[')?;
            Some(r.split_once(']')?.0.to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("transparent huge pages: {thp}");
    let v4 = common::pyasn::v4(&dir.join(common::pyasn::V4));
    let v6 = common::pyasn::v6(&dir.join(common::pyasn::V6));
    let mut ok = true;
    let name = "IPv4 ipasn_20140513";
    if want(name) {
        ok &= bench(name, &v4, &keys_v4());
    }
    let name = "IPv6 ipasn6_20151101";
    if want(name) {
        ok &= bench(name, &v6, &keys_v6(&v6));
    }
    let name = "IPv4 synthetic 1M";
    if want(name) {
        let s4 = synth(&v4, SYNTH_V4, 0x5eed_0004);
        ok &= bench(name, &s4, &keys_v4());
    }
    let name = "IPv6 synthetic 250k";
    if want(name) {
        let s6 = synth(&v6, SYNTH_V6, 0x5eed_0006);
        ok &= bench(name, &s6, &keys_v6(&s6));
    }
    if !ok {
        eprintln!("lpm bench: FAILED (checksum mismatch or harness failure, see above)");
        std::process::exit(1);
    }
}
