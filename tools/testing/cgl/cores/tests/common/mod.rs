// SPDX-License-Identifier: GPL-2.0

//! Host arenas for the LPM trie: a `Vec` with exact-size free lists,
//! immediate free on retire (no readers run concurrently on the host),
//! optional allocation-failure injection, and slot accounting.

#![allow(dead_code)]

use cgl_cores::lpm::{AllocError, Arena, ArenaRead};
use std::cell::Cell;
use std::rc::Rc;

/// Vec-backed arena.
pub struct VecArena<T: Copy + Default> {
    v: Vec<T>,
    /// Free blocks by size.
    free: Vec<Vec<u32>>,
    live: u64,
    /// Remaining allocations before failures start (`None`: never fail).
    pub budget: Rc<Cell<Option<u64>>>,
}

impl<T: Copy + Default> Default for VecArena<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default> VecArena<T> {
    pub fn new() -> Self {
        Self {
            v: Vec::new(),
            free: Vec::new(),
            live: 0,
            budget: Rc::new(Cell::new(None)),
        }
    }

    /// Slots handed out and not freed.
    pub fn live(&self) -> u64 {
        self.live
    }

    /// Slots ever created (live plus free-listed).
    pub fn high_water(&self) -> u64 {
        self.v.len() as u64
    }

    /// Bytes of live slots.
    pub fn live_bytes(&self) -> u64 {
        self.live * std::mem::size_of::<T>() as u64
    }

    /// Bytes of all slots including free-listed ones.
    pub fn footprint_bytes(&self) -> u64 {
        self.v.len() as u64 * std::mem::size_of::<T>() as u64
    }
}

impl<T: Copy + Default> ArenaRead<T> for VecArena<T> {
    #[inline(always)]
    fn get(&self, idx: u32) -> Option<T> {
        self.v.get(idx as usize).copied()
    }
    #[inline(always)]
    fn prefetch(&self, idx: u32) {
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = self.v.get(idx as usize) {
            // SAFETY: `p` points into the arena; a prefetch reads nothing
            // the program sees.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                    (p as *const T).cast(),
                )
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = idx;
    }
}

impl<T: Copy + Default> Arena<T> for VecArena<T> {
    fn try_alloc(&mut self, n: u32) -> Result<u32, AllocError> {
        if let Some(b) = self.budget.get() {
            if b == 0 {
                return Err(AllocError);
            }
            self.budget.set(Some(b - 1));
        }
        if n == 0 {
            return Err(AllocError);
        }
        if let Some(base) = self.free.get_mut(n as usize).and_then(|l| l.pop()) {
            self.live += n as u64;
            return Ok(base);
        }
        let base = u32::try_from(self.v.len()).map_err(|_| AllocError)?;
        base.checked_add(n).ok_or(AllocError)?;
        self.v.try_reserve(n as usize).map_err(|_| AllocError)?;
        self.v.resize(self.v.len() + n as usize, T::default());
        self.live += n as u64;
        Ok(base)
    }

    fn set(&mut self, idx: u32, v: T) -> bool {
        match self.v.get_mut(idx as usize) {
            Some(x) => {
                *x = v;
                true
            }
            None => false,
        }
    }

    fn free(&mut self, base: u32, n: u32) {
        self.live -= n as u64;
        let n = n as usize;
        if self.free.len() <= n {
            self.free.resize_with(n + 1, Vec::new);
        }
        self.free[n].push(base);
    }

    fn copy(&mut self, src: u32, dst: u32, n: u32) -> bool {
        let (s, d, n) = (src as usize, dst as usize, n as usize);
        if s.checked_add(n).is_none_or(|e| e > self.v.len())
            || d.checked_add(n).is_none_or(|e| e > self.v.len())
        {
            return false;
        }
        self.v.copy_within(s..s + n, d);
        true
    }

    fn retire(&mut self, base: u32, n: u32) {
        self.free(base, n);
    }
}

pub type Nodes = VecArena<u64>;
pub type Results = VecArena<u32>;

/// RouteViews prefix lists from the pyasn package (`ipasn_*.dat.gz`).
pub mod pyasn {
    use std::io::{BufRead, BufReader};
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::path::PathBuf;

    /// IPv4 table file name.
    pub const V4: &str = "ipasn_20140513.dat.gz";
    /// IPv6 (and IPv4) table file name.
    pub const V6: &str = "ipasn6_20151101.dat.gz";

    /// The directory named by `CGL_PYASN_DIR`, or `None` with a note.
    pub fn dir(what: &str) -> Option<PathBuf> {
        match std::env::var_os("CGL_PYASN_DIR") {
            Some(d) => Some(PathBuf::from(d)),
            None => {
                eprintln!("note: CGL_PYASN_DIR unset, skipping {what} (see tests/lpm.rs)");
                None
            }
        }
    }

    fn lines(path: &PathBuf) -> Vec<String> {
        let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        BufReader::new(flate2::read::GzDecoder::new(f))
            .lines()
            .map(|l| l.expect("read"))
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .collect()
    }

    fn split(l: &str) -> (&str, u8) {
        let p = l.split_whitespace().next().expect("prefix");
        let (a, n) = p.split_once('/').expect("slash");
        (a, n.parse().expect("len"))
    }

    /// IPv4 prefixes (host order, host bits cleared) in file order.
    pub fn v4(path: &PathBuf) -> Vec<(u32, u8)> {
        lines(path)
            .iter()
            .filter(|l| !l.contains(':'))
            .map(|l| {
                let (a, n) = split(l);
                let v = u32::from(a.parse::<Ipv4Addr>().expect("v4"));
                (v & (u32::MAX.checked_shl(32 - n as u32).unwrap_or(0)), n)
            })
            .collect()
    }

    /// IPv6 prefixes (host bits cleared) in file order.
    pub fn v6(path: &PathBuf) -> Vec<(u128, u8)> {
        lines(path)
            .iter()
            .filter(|l| l.contains(':'))
            .map(|l| {
                let (a, n) = split(l);
                let v = u128::from(a.parse::<Ipv6Addr>().expect("v6"));
                (v & (u128::MAX.checked_shl(128 - n as u32).unwrap_or(0)), n)
            })
            .collect()
    }
}

/// xorshift64* generator for reproducible keys and shuffles.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}
