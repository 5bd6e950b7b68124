// SPDX-License-Identifier: GPL-2.0

//! Cost of the heartbeat deadline heap with 10,000 entities: a beat, a
//! timer pass, against an `eventfd` write syscall measured in the same run
//! (the least a userspace beat costs to deliver).

use cgl_cores::deadline::{Deadlines, Handle, Slot};
use std::hint::black_box;
use std::time::Instant;

const N: usize = 10_000;
const BEATS: usize = 1_000_000;
const WRITES: usize = 200_000;
const MS: u64 = 1_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn ns_per(start: Instant, n: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Nanoseconds per beat of 10,000 entities of `period(i)`, beaten 1M times
/// in random order, 1 us apart.
fn beats(rng: &mut Rng, period: impl Fn(&mut Rng) -> u64) -> f64 {
    let mut q = Deadlines::new(vec![Slot::EMPTY; N]).unwrap();
    let hs: Vec<Handle> = (0..N)
        .map(|_| q.register(period(rng), 3, 0).unwrap())
        .collect();
    let order: Vec<Handle> = (0..BEATS).map(|_| hs[rng.next() as usize % N]).collect();
    // Warm up, then measure.
    for (i, &h) in order.iter().take(BEATS / 10).enumerate() {
        q.beat(h, i as u64 * 1_000).unwrap();
    }
    let base = BEATS as u64 * 1_000;
    let start = Instant::now();
    for (i, &h) in order.iter().enumerate() {
        black_box(q.beat(black_box(h), base + i as u64 * 1_000)).unwrap();
    }
    ns_per(start, BEATS)
}

fn eventfd_write() -> f64 {
    // SAFETY: plain syscalls on a descriptor this function owns; `one`
    // outlives every write that reads it.
    unsafe {
        let fd = libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC);
        assert!(fd >= 0, "eventfd failed");
        let one = 1u64;
        let buf = &one as *const u64 as *const libc::c_void;
        for _ in 0..WRITES / 10 {
            assert_eq!(libc::write(fd, buf, 8), 8);
        }
        let start = Instant::now();
        for _ in 0..WRITES {
            black_box(libc::write(fd, buf, 8));
        }
        let ns = ns_per(start, WRITES);
        libc::close(fd);
        ns
    }
}

fn main() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    println!("deadline bench: {N} entities, {BEATS} beats in random order");

    let beat = beats(&mut rng, |r| 10 * MS + r.next() % (990 * MS));
    let same = beats(&mut rng, |r| 100 * MS + r.next() % 1_000);
    let write = eventfd_write();
    println!(
        "beat: {beat:.1} ns; eventfd write: {write:.1} ns; ratio {:.3}",
        beat / write
    );
    println!("beat, all periods ~100 ms: {same:.1} ns");

    // Storm: every entity misses at the same instant, 10 times over.
    let mut q = Deadlines::new(vec![Slot::EMPTY; N]).unwrap();
    for _ in 0..N {
        q.register(100 * MS + rng.next() % MS, 1_000, 0).unwrap();
    }
    let mut reports = 0;
    let start = Instant::now();
    for k in 1..=10 {
        reports += q.expire(k * 102 * MS, |h, m| {
            black_box((h, m));
        });
    }
    let per = ns_per(start, reports);
    println!(
        "expire storm: {reports} misses, {per:.1} ns per miss, {:.0} us per pass of {N}",
        per * N as f64 / 1_000.0
    );

    // Steady state: random periods, the timer fires at each deadline.
    let mut q = Deadlines::new(vec![Slot::EMPTY; N]).unwrap();
    for _ in 0..N {
        q.register(10 * MS + rng.next() % (990 * MS), 1_000, 0)
            .unwrap();
    }
    let fires = 200_000;
    let mut reports = 0;
    let start = Instant::now();
    for _ in 0..fires {
        let now = q.next_deadline().unwrap();
        reports += q.expire(now, |h, m| {
            black_box((h, m));
        });
    }
    println!(
        "expire, timer at each deadline: {:.1} ns per fire ({reports} misses in {fires} fires)",
        ns_per(start, fires)
    );

    let now = q.next_deadline().unwrap() - 1;
    let start = Instant::now();
    for _ in 0..fires {
        black_box(q.expire(black_box(now), |_, _| {}));
    }
    println!(
        "expire, nothing due: {:.1} ns per call",
        ns_per(start, fires)
    );
}
