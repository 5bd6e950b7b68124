// SPDX-License-Identifier: GPL-2.0

//! LPM benchmark on the RouteViews tables shipped by Debian's
//! python3-pyasn, against the `prefix-trie` crate:
//!
//! ```text
//! cd /tmp && apt-get download python3-pyasn && dpkg -x python3-pyasn*.deb pyasn
//! CGL_PYASN_DIR=/tmp/pyasn/usr/lib/python3/dist-packages/data \
//!     cargo bench -p cgl-cores --bench lpm
//! ```
//!
//! Nexthop of a route = its line index + 1. Inserts go in a random order;
//! lookups use 4M xorshift keys (IPv4: uniform; IPv6: a random table
//! prefix with random host bits). The checksum (sum of nexthops found)
//! must equal prefix-trie's. Also: `lookup_route`, in-order walks (whole,
//! and resumed every 100 routes as a netlink dump does) against
//! prefix-trie's iterator, and `delete_fib` of the whole table.

#[path = "../tests/common/mod.rs"]
mod common;

use cgl_cores::lpm::{Key, Lpm};
use common::{Nodes, Results, XorShift};
use prefix_trie::PrefixMap;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
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

/// Best of `REPS` runs of `f` in seconds, with its result.
fn best<R>(mut f: impl FnMut() -> R) -> (f64, R) {
    let mut t = f64::MAX;
    let mut r = None;
    for _ in 0..REPS {
        let s = Instant::now();
        let x = black_box(f());
        t = t.min(s.elapsed().as_secs_f64());
        r = Some(x);
    }
    (t, r.expect("ran"))
}

fn bench<K>(name: &str, routes: &[(K, u8)], keys: &[K])
where
    K: Key + std::fmt::Debug,
    (K, u8): prefix_trie::Prefix,
{
    let n = routes.len();
    let mut rng = XorShift(0xfeed_beef);
    let mut order: Vec<u32> = (0..n as u32).collect();
    rng.shuffle(&mut order);

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
    let (cgl_lk, cgl_sum) = best(|| {
        let mut sum = 0u64;
        for &k in keys {
            sum = sum.wrapping_add(t.lookup(0, k).unwrap_or(0) as u64);
        }
        sum
    });

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
    let (pt_lk, pt_sum) = best(|| {
        let mut sum = 0u64;
        for &k in keys {
            sum = sum.wrapping_add(r.get_lpm(&(k, K::BITS as u8)).map_or(0, |(_, v)| *v) as u64);
        }
        sum
    });

    let (pt_walk, walked) = best(|| r.iter().count());
    assert_eq!(walked, n);

    // Deletes, random order (another shuffle).
    rng.shuffle(&mut order);
    let s = Instant::now();
    for &i in &order {
        let (p, l) = routes[i as usize];
        t.delete(0, p, l).expect("delete");
    }
    let cgl_del = s.elapsed().as_secs_f64();
    let s = Instant::now();
    for &i in &order {
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

    let nf = n as f64;
    let kf = keys.len() as f64;
    println!(
        "== {name}: {n} routes, {} lookup keys, best of {REPS} ==",
        keys.len()
    );
    println!(
        "{:<26} {:>14} {:>14} {:>9}",
        "", "cgl lpm", "prefix-trie", "ratio"
    );
    let row =
        |what: &str, a: f64, b: f64| println!("{what:<26} {a:>14.2} {b:>14.2} {:>8.2}x", a / b);
    row("lookups (M/s)", kf / cgl_lk / 1e6, kf / pt_lk / 1e6);
    println!("{:<26} {:>14.2}", "lookup_route (M/s)", kf / cgl_lr / 1e6);
    row(
        "walk, whole (M routes/s)",
        nf / cgl_walk / 1e6,
        nf / pt_walk / 1e6,
    );
    row(
        "walk, chunks of 100 (M/s)",
        nf / cgl_chunks / 1e6,
        nf / pt_walk / 1e6,
    );
    println!(
        "{:<26} {:>14.2}",
        "delete_fib (M routes/s)",
        nf / cgl_delfib / 1e6
    );
    row(
        "inserts, random (M/s)",
        nf / cgl_ins / 1e6,
        nf / pt_ins / 1e6,
    );
    row(
        "deletes, random (M/s)",
        nf / cgl_del / 1e6,
        nf / pt_del / 1e6,
    );
    row(
        "heap bytes/route",
        cgl_heap as f64 / nf,
        pt_heap as f64 / nf,
    );
    println!(
        "{:<26} {:>14.2}",
        "cgl live slots bytes/route",
        live as f64 / nf
    );
    println!("{:<26} {:>14.2}", "cgl arena bytes/route", foot as f64 / nf);
    println!(
        "lookup checksum: cgl {cgl_sum} prefix-trie {pt_sum} -> {}",
        if cgl_sum == pt_sum {
            "equal"
        } else {
            "MISMATCH"
        }
    );
    assert_eq!(cgl_sum, pt_sum, "lookup checksum mismatch");
}

fn main() {
    let Some(dir) = common::pyasn::dir("the lpm benchmark") else {
        return;
    };
    let v4 = common::pyasn::v4(&dir.join(common::pyasn::V4));
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let keys: Vec<u32> = (0..KEYS).map(|_| rng.next() as u32).collect();
    bench("IPv4 ipasn_20140513", &v4, &keys);

    let v6 = common::pyasn::v6(&dir.join(common::pyasn::V6));
    let keys: Vec<u128> = (0..KEYS)
        .map(|_| {
            let (p, l) = v6[(rng.next() % v6.len() as u64) as usize];
            let host = ((rng.next() as u128) << 64 | rng.next() as u128)
                .checked_shr(l as u32)
                .unwrap_or(0);
            p | host
        })
        .collect();
    bench("IPv6 ipasn6_20151101", &v6, &keys);
}
