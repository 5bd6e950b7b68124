// SPDX-License-Identifier: GPL-2.0

//! CGL multi-FIB: many forwarding tables addressed by a 32-bit id.
//!
//! Routes are keyed by (FIB id, prefix) in one Tree-Bitmap trie per
//! address family ([`lpm`]), so FIBs with overlapping addresses share one
//! structure and an empty FIB costs a registry entry. Each route holds a
//! nexthop id ([`nexthop`]). The control plane is the `cgl_fib` generic
//! netlink family ([`netlink`], `include/uapi/linux/cgl_fib.h`).
//!
//! Locking: [`Inner`] (the tries, the nexthop table, the FIB registry) is
//! behind one mutex taken by every netlink handler; the trie's arenas keep
//! published slots in place and retire replaced blocks for RCU, so
//! lock-free readers can be added on the forwarding path.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Mutex;

use cgl_core::event::Severity;
use cgl_core::sysfs::{Attribute, Show};
use cgl_core::{cgl_event, sysfs_group};

mod arena;
mod chardev;
mod fwd;
// The kernel-free core is shared with the host tests; its API is wider
// than the module's use of it.
#[allow(unreachable_pub, dead_code)]
mod lpm;
mod mirror;
// Kernel-free cores shared with the host tests.
#[allow(unreachable_pub, dead_code)]
mod neigh;
mod netlink;
mod netlink_fwd;
mod nexthop;
#[allow(unreachable_pub, dead_code)]
mod pkt;
mod skb;
// Route requests as bytes, shared with the host tests and fuzzers like
// `lpm`.
#[allow(unreachable_pub, dead_code)]
mod rtmsg;

use arena::KArena;
use lpm::{Key, Lpm, LpmError};
use nexthop::Nexthop;

module! {
    type: CglFibModule,
    name: "cgl_fib",
    author: "cgl developers",
    description: "CGL multi-FIB: many IPv4/IPv6 forwarding tables",
    license: "GPL",
}

/// Subsystem name of the module's event records.
const SUBSYS: &str = "fib";

/// Event ids.
mod event_id {
    /// A FIB was created.
    pub(crate) const FIB_NEW: u32 = 1;
    /// A FIB was deleted.
    pub(crate) const FIB_DEL: u32 = 2;
    /// A limit was hit.
    pub(crate) const LIMIT: u32 = 3;
    /// Neighbours did not answer.
    pub(crate) const NEIGH_FAILED: u32 = 4;
    /// An interface was bound to a FIB or unbound.
    pub(crate) const PORT: u32 = 5;
}

/// Most FIBs at once (`CGL_FIB_MAX_FIBS`).
pub(crate) const MAX_FIBS: u32 = 65536;
/// Node-word capacity of each trie's arena (1 GiB of words at most).
const NODE_SLOTS: u32 = 1 << 27;
/// Result capacity of each trie's arena.
const RESULT_SLOTS: u32 = 1 << 26;
/// Blocks one trie update may retire.
const RETIRE_PER_UPDATE: usize = 24;
/// Default of `accel_routes`: an IPv4 accelerator costs about 1.1 MiB,
/// under 70 bytes per route from here on (an IPv6 one 17 KiB per /12
/// with routes, plus its nodes).
const ACCEL_ROUTES: u32 = 16384;
/// Quiet time after the last request before accelerators are created.
const ACCEL_QUIET_MS: u64 = 1000;
/// Some FIB has reached the threshold without an accelerator.
static ACCEL_WANTED: AtomicBool = AtomicBool::new(false);
/// When the last request ended (`fwd::now_ms`).
static LAST_REQUEST_MS: AtomicU64 = AtomicU64::new(0);

/// Whether some FIB waits for its accelerator (keeps the tick running).
pub(crate) fn accel_pending() -> bool {
    ACCEL_WANTED.load(Ordering::Acquire)
}

/// A trie over kernel arenas.
type Trie<K> = Lpm<K, KArena<u64>, KArena<u32>>;

// An address family; defined with the request core.
pub(crate) use rtmsg::Family;

/// A FIB's bookkeeping.
pub(crate) struct Fib {
    pub(crate) id: u32,
    pub(crate) routes4: u64,
    pub(crate) routes6: u64,
    pub(crate) lookups: u64,
    pub(crate) misses: u64,
    /// Routes changed since the last [`Inner::kick`]: its accelerators
    /// need a flush (the id is in [`Inner::dirty`]).
    pub(crate) dirty: bool,
    /// `/sys/kernel/cgl/fib/by-id/<id>/`. Dropped (removed) only with
    /// the module mutex released: removal waits for readers, which take
    /// the mutex.
    pub(crate) dir: Option<cgl_core::sysfs::Dir>,
}

/// Why a route operation failed: errno and extack message.
pub(crate) type Fail = (Error, &'static CStr);

fn lpm_fail(e: LpmError) -> Fail {
    match e {
        LpmError::BadLength => (EINVAL, c_str!("prefix length out of range for the family")),
        LpmError::HostBits => (EINVAL, c_str!("host bits set in the prefix")),
        LpmError::Exists => (EEXIST, c_str!("route exists (use replace)")),
        LpmError::NotFound => (ENOENT, c_str!("no such route")),
        LpmError::NoMemory => (ENOMEM, c_str!("out of memory")),
        LpmError::FibTableFull => (ENOSPC, c_str!("too many FIBs with routes")),
        LpmError::BadNexthop => (EINVAL, c_str!("nexthop id out of range")),
        LpmError::BadCapacity | LpmError::Corrupt => (EIO, c_str!("FIB structure corrupt")),
    }
}

// The request core's errnos are the kernel's.
const _: () = assert!(
    rtmsg::EINVAL == kernel::bindings::EINVAL as i32
        && rtmsg::ERANGE == kernel::bindings::ERANGE as i32
        && rtmsg::ENODEV == kernel::bindings::ENODEV as i32
        && rtmsg::E2BIG == kernel::bindings::E2BIG as i32
);

/// A refusal of the request core ([`rtmsg`]) as errno and extack message.
pub(crate) fn reject(r: rtmsg::Reject) -> Fail {
    let msg = CStr::from_bytes_with_nul(r.msg.to_bytes_with_nul())
        .unwrap_or(c_str!("invalid route request"));
    (Error::from_errno(-r.errno), msg)
}

// A refusal of the request core as the module's failure, for
// [`rtmsg::check_batch`].
impl From<rtmsg::Reject> for Fail {
    fn from(r: rtmsg::Reject) -> Self {
        reject(r)
    }
}

/// The writer state.
pub(crate) struct Inner {
    pub(crate) v4: Trie<u32>,
    pub(crate) v6: Trie<u128>,
    pub(crate) nh: nexthop::Table,
    /// FIBs, sorted by id.
    pub(crate) fibs: KVec<Fib>,
    /// `/sys/kernel/cgl/fib/by-id/`, once sysfs is up.
    pub(crate) by_id: Option<cgl_core::sysfs::Dir>,
    /// Ids of the FIBs whose routes changed during this request; if
    /// remembering one failed, `dirty_all`.
    dirty: KVec<u32>,
    dirty_all: bool,
    /// Routes from which a FIB family gets a lookup accelerator
    /// (`/sys/kernel/cgl/fib/accel_routes`).
    pub(crate) accel_routes: u32,
}

/// What [`Inner::set_route`] did to a prefix, so that it can be taken
/// back ([`Inner::undo_route`]).
#[derive(Clone, Copy)]
pub(crate) enum Undo {
    /// The route was added.
    Inserted,
    /// The route existed and had this nexthop id.
    Replaced(u32),
}

/// One route as the control plane sees it.
pub(crate) struct Route {
    pub(crate) len: u8,
    pub(crate) nh: u32,
}

/// The trie of one family, generic over the key.
pub(crate) trait FamilyTrie<K: Key> {
    /// The trie and the nexthop table, borrowed together.
    fn parts(&mut self) -> (&mut Trie<K>, &mut nexthop::Table);
    /// The trie.
    fn trie(&mut self) -> &mut Trie<K> {
        self.parts().0
    }
}

impl FamilyTrie<u32> for Inner {
    fn parts(&mut self) -> (&mut Trie<u32>, &mut nexthop::Table) {
        (&mut self.v4, &mut self.nh)
    }
}

impl FamilyTrie<u128> for Inner {
    fn parts(&mut self) -> (&mut Trie<u128>, &mut nexthop::Table) {
        (&mut self.v6, &mut self.nh)
    }
}

impl Inner {
    fn new() -> Result<Self> {
        let v4 = Lpm::new(
            KArena::new(NODE_SLOTS)?,
            KArena::new(RESULT_SLOTS)?,
            MAX_FIBS,
        )
        .map_err(|_| ENOMEM)?;
        let v6 = Lpm::new(
            KArena::new(NODE_SLOTS)?,
            KArena::new(RESULT_SLOTS)?,
            MAX_FIBS,
        )
        .map_err(|_| ENOMEM)?;
        Ok(Self {
            v4,
            v6,
            nh: nexthop::Table::new()?,
            fibs: KVec::new(),
            by_id: None,
            dirty: KVec::new(),
            dirty_all: false,
            accel_routes: u32::MAX,
        })
        .map(|mut i| {
            i.set_accel_routes(ACCEL_ROUTES);
            i
        })
    }

    /// Sets the accelerator threshold of both families (takes effect at
    /// the next flush of each FIB; [`Inner::flush_all`] applies it now).
    pub(crate) fn set_accel_routes(&mut self, n: u32) {
        self.accel_routes = n;
        self.v4.set_accel_threshold(n);
        self.v6.set_accel_threshold(n);
    }

    /// Notes that FIB `fib`'s routes changed (flushed in [`Inner::kick`]).
    fn touched(&mut self, fib: u32) {
        let Ok(f) = self.fib_mut(fib) else { return };
        if f.dirty {
            return;
        }
        f.dirty = true;
        if self.dirty.push(fib, GFP_KERNEL).is_err() {
            self.dirty_all = true;
        }
    }

    /// Creates the accelerators FIBs are waiting for, once no request has
    /// come for `ACCEL_QUIET_MS` (from the forwarding tick's work).
    /// Returns whether some are still waiting (the tick keeps running).
    pub(crate) fn build_accels(&mut self) -> bool {
        if !ACCEL_WANTED.load(Ordering::Acquire) {
            return false;
        }
        let since = fwd::now_ms().saturating_sub(LAST_REQUEST_MS.load(Ordering::Relaxed));
        if since < ACCEL_QUIET_MS {
            return true;
        }
        ACCEL_WANTED.store(false, Ordering::Release);
        // What the load retired is free by now: reuse it before the
        // accelerators take new memory.
        self.v4.reclaim();
        self.v6.reclaim();
        for f in self.fibs.iter() {
            let _ = self.v4.flush(f.id);
            let _ = self.v6.flush(f.id);
        }
        self.v4.kick();
        self.v6.kick();
        false
    }

    /// Brings every FIB's accelerators up to date with the threshold.
    pub(crate) fn flush_all(&mut self) {
        self.dirty_all = true;
        self.kick();
    }

    /// Whether FIB `fib` has an IPv4 (bit 0) and an IPv6 (bit 1)
    /// accelerator, and their dirty entries.
    pub(crate) fn accel(&self, fib: u32) -> (u64, u64) {
        let (a, b) = (self.v4.accel_state(fib), self.v6.accel_state(fib));
        (
            u64::from(a.is_some()) | u64::from(b.is_some()) << 1,
            u64::from(a.unwrap_or(0)) + u64::from(b.unwrap_or(0)),
        )
    }

    /// Index of FIB `id` in `fibs`, or where it would go.
    pub(crate) fn find(&self, id: u32) -> core::result::Result<usize, usize> {
        self.fibs.binary_search_by(|f| f.id.cmp(&id))
    }

    /// The FIB `id`.
    pub(crate) fn fib_mut(&mut self, id: u32) -> core::result::Result<&mut Fib, Fail> {
        match self.find(id) {
            Ok(i) => self.fibs.get_mut(i).ok_or((ENOENT, c_str!("no such FIB"))),
            Err(_) => Err((ENOENT, c_str!("no such FIB"))),
        }
    }

    /// Creates FIB `id`.
    pub(crate) fn new_fib(&mut self, id: u32) -> core::result::Result<(), Fail> {
        if id == u32::MAX {
            return Err((EINVAL, c_str!("FIB id 4294967295 is reserved")));
        }
        let at = match self.find(id) {
            Ok(_) => return Err((EEXIST, c_str!("FIB exists"))),
            Err(at) => at,
        };
        if self.fibs.len() >= MAX_FIBS as usize {
            let _ = cgl_event!(
                Severity::Warning,
                SUBSYS,
                event_id::LIMIT,
                "FIB {} refused: {} FIBs exist",
                id,
                MAX_FIBS
            );
            return Err((ENOSPC, c_str!("too many FIBs")));
        }
        // Insert keeping the order: push, then rotate into place.
        self.fibs
            .push(
                Fib {
                    id,
                    routes4: 0,
                    routes6: 0,
                    lookups: 0,
                    misses: 0,
                    dirty: false,
                    dir: None,
                },
                GFP_KERNEL,
            )
            .map_err(|_| (ENOMEM, c_str!("out of memory")))?;
        if let Some(tail) = self.fibs.get_mut(at..) {
            tail.rotate_right(1);
        }
        let _ = cgl_event!(
            Severity::Info,
            SUBSYS,
            event_id::FIB_NEW,
            "FIB {} created",
            id
        );
        Ok(())
    }

    /// Deletes FIB `id` and its routes; returns its sysfs directory, for
    /// the caller to drop once it has released the mutex.
    pub(crate) fn del_fib(
        &mut self,
        id: u32,
    ) -> core::result::Result<Option<cgl_core::sysfs::Dir>, Fail> {
        let at = self.find(id).map_err(|_| (ENOENT, c_str!("no such FIB")))?;
        let n4 = self.drop_routes::<u32>(id)?;
        let n6 = self.drop_routes::<u128>(id)?;
        // Only now: on an error the FIB keeps its directory (which must
        // not be dropped under the mutex).
        let dir = self.fibs.get_mut(at).and_then(|f| f.dir.take());
        if at < self.fibs.len() {
            if let Some(tail) = self.fibs.get_mut(at..) {
                tail.rotate_left(1);
            }
            // SAFETY: the last element (the deleted FIB, rotated there)
            // owns nothing left to drop (its directory was taken above);
            // it is dropped from the length.
            unsafe { self.fibs.set_len(self.fibs.len() - 1) };
        }
        let _ = cgl_event!(
            Severity::Info,
            SUBSYS,
            event_id::FIB_DEL,
            "FIB {} deleted with {} IPv4 and {} IPv6 routes",
            id,
            n4,
            n6
        );
        Ok(dir)
    }

    fn drop_routes<K: Key>(&mut self, id: u32) -> core::result::Result<u64, Fail>
    where
        Self: FamilyTrie<K>,
    {
        // The routes go in one unpublish; their nexthop references are
        // put after it (a put starts the grace period after which the id
        // may be reused: no reader that starts later can reach them).
        let (trie, nh) = <Self as FamilyTrie<K>>::parts(self);
        trie.nodes_mut_reserve();
        let n = trie.delete_fib_with(id, |n| nh.put(n)).map_err(lpm_fail)?;
        trie.kick();
        Ok(n)
    }

    /// Adds (or, with `replace`, replaces) a route.
    pub(crate) fn add_route<K: Key + Into<u128>>(
        &mut self,
        fib: u32,
        prefix: K,
        len: u8,
        nh: &Nexthop,
        replace: bool,
    ) -> core::result::Result<(), Fail>
    where
        Self: FamilyTrie<K>,
    {
        if let Undo::Replaced(old) = self.set_route(fib, prefix, len, nh, replace)? {
            self.nh.put(old);
        }
        Ok(())
    }

    /// [`Inner::add_route`] that tells what it did, for a batch to take
    /// it back ([`Inner::undo_route`]). After [`Undo::Replaced`] the
    /// caller holds the old nexthop's reference and must put it (or give
    /// it back to the route).
    pub(crate) fn set_route<K: Key + Into<u128>>(
        &mut self,
        fib: u32,
        prefix: K,
        len: u8,
        nh: &Nexthop,
        replace: bool,
    ) -> core::result::Result<Undo, Fail>
    where
        Self: FamilyTrie<K>,
    {
        let fam_v4 = K::BITS == 32;
        self.fib_mut(fib)?;
        let id = self
            .nh
            .get_or_insert(nh)
            .map_err(|e| (e, c_str!("too many distinct nexthops")))?;
        let trie = <Self as FamilyTrie<K>>::trie(self);
        trie.reclaim();
        if trie.reserve_retire(RETIRE_PER_UPDATE).is_err() {
            self.nh.put(id);
            return Err((ENOMEM, c_str!("out of memory")));
        }
        // The trie refuses such a prefix too, with the same message; the
        // rule is the request core's, which the host tests check.
        if let Err(e) = rtmsg::check_prefix(prefix.into(), len, K::BITS) {
            self.nh.put(id);
            return Err(reject(e));
        }
        let r = if replace {
            match trie.replace(fib, prefix, len, id) {
                Ok(old) => Ok(Some(old)),
                Err(LpmError::NotFound) => trie.insert(fib, prefix, len, id).map(|()| None),
                Err(e) => Err(e),
            }
        } else {
            trie.insert(fib, prefix, len, id).map(|()| None)
        };
        match r {
            Ok(Some(old)) => {
                self.touched(fib);
                Ok(Undo::Replaced(old))
            }
            Ok(None) => {
                self.touched(fib);
                if let Ok(f) = self.fib_mut(fib) {
                    if fam_v4 {
                        f.routes4 += 1;
                    } else {
                        f.routes6 += 1;
                    }
                }
                Ok(Undo::Inserted)
            }
            Err(e) => {
                self.nh.put(id);
                Err(lpm_fail(e))
            }
        }
    }

    /// Takes back what [`Inner::set_route`] did to `prefix/len`: deletes
    /// an inserted route, or gives a replaced one its old nexthop back
    /// (an in-place store that allocates nothing) and puts the one it
    /// had. The old nexthop's reference moves back to the route, or is
    /// put if that fails. Deleting may fail for want of memory.
    pub(crate) fn undo_route<K: Key>(
        &mut self,
        fib: u32,
        prefix: K,
        len: u8,
        undo: Undo,
    ) -> core::result::Result<(), Fail>
    where
        Self: FamilyTrie<K>,
    {
        let old = match undo {
            Undo::Inserted => return self.del_route(fib, prefix, len),
            Undo::Replaced(old) => old,
        };
        let trie = <Self as FamilyTrie<K>>::trie(self);
        trie.reclaim();
        // Without room to retire, a rebuilt accelerator node leaks its old
        // block (counted in `leaked_blocks`); the route is still restored.
        let _ = trie.reserve_retire(RETIRE_PER_UPDATE);
        match trie.replace(fib, prefix, len, old) {
            Ok(cur) => {
                self.nh.put(cur);
                self.touched(fib);
                Ok(())
            }
            Err(e) => {
                self.nh.put(old);
                Err(lpm_fail(e))
            }
        }
    }

    /// Deletes a route.
    pub(crate) fn del_route<K: Key>(
        &mut self,
        fib: u32,
        prefix: K,
        len: u8,
    ) -> core::result::Result<(), Fail>
    where
        Self: FamilyTrie<K>,
    {
        self.fib_mut(fib)?;
        let trie = <Self as FamilyTrie<K>>::trie(self);
        trie.reclaim();
        trie.reserve_retire(RETIRE_PER_UPDATE)
            .map_err(|_| (ENOMEM, c_str!("out of memory")))?;
        let r = trie.delete(fib, prefix, len);
        let old = r.map_err(lpm_fail)?;
        self.nh.put(old);
        self.touched(fib);
        if let Ok(f) = self.fib_mut(fib) {
            if K::BITS == 32 {
                f.routes4 = f.routes4.saturating_sub(1);
            } else {
                f.routes6 = f.routes6.saturating_sub(1);
            }
        }
        Ok(())
    }

    /// The route `addr` is forwarded by in `fib` (longest prefix match).
    pub(crate) fn lookup<K: Key>(
        &mut self,
        fib: u32,
        addr: K,
    ) -> core::result::Result<Option<Route>, Fail>
    where
        Self: FamilyTrie<K>,
    {
        self.fib_mut(fib)?;
        let r = <Self as FamilyTrie<K>>::trie(self).lookup_route(fib, addr);
        if let Ok(f) = self.fib_mut(fib) {
            f.lookups += 1;
            if r.is_none() {
                f.misses += 1;
            }
        }
        Ok(r.map(|(len, nh)| Route { len, nh }))
    }

    /// The route of exactly `prefix/len` in `fib`.
    pub(crate) fn exact<K: Key>(
        &mut self,
        fib: u32,
        prefix: K,
        len: u8,
    ) -> core::result::Result<Option<Route>, Fail>
    where
        Self: FamilyTrie<K>,
    {
        self.fib_mut(fib)?;
        let r = <Self as FamilyTrie<K>>::trie(self)
            .get(fib, prefix, len)
            .map_err(lpm_fail)?;
        Ok(r.map(|nh| Route { len, nh }))
    }

    /// Starts the grace period that lets retired blocks be recycled; once
    /// per request (it takes RCU's own lock).
    pub(crate) fn kick(&mut self) {
        // Accelerators first: rebuilding publishes what the updates of
        // this request marked dirty (a failure leaves entries dirty,
        // answered by the Tree Bitmap, and is retried at the next flush).
        // A FIB that reached the threshold gets its accelerator later,
        // from the forwarding tick once no request has come for
        // `ACCEL_QUIET_MS`, so that a bulk load is not slowed by keeping
        // one up to date (see `build_accels`).
        let all = core::mem::replace(&mut self.dirty_all, false);
        let mut wanted = false;
        if all {
            for f in self.fibs.iter_mut() {
                f.dirty = false;
                let _ = self.v4.flush(f.id);
                let _ = self.v6.flush(f.id);
            }
        } else {
            for &id in self.dirty.iter() {
                let _ = self.v4.flush_dirty(id);
                let _ = self.v6.flush_dirty(id);
                wanted |= self.v4.accel_wanted(id) || self.v6.accel_wanted(id);
            }
            for i in 0..self.dirty.len() {
                let id = self.dirty.get(i).copied().unwrap_or(0);
                if let Ok(f) = self.fib_mut(id) {
                    f.dirty = false;
                }
            }
        }
        // SAFETY: `u32` needs no drop; length 0 is always valid.
        unsafe { self.dirty.set_len(0) };
        let now = fwd::now_ms();
        LAST_REQUEST_MS.store(now, Ordering::Relaxed);
        if wanted && !ACCEL_WANTED.swap(true, Ordering::AcqRel) {
            if let Some(st) = state() {
                st.fwd.start_timer();
            }
        }
        self.v4.kick();
        self.v6.kick();
        self.nh.kick();
    }

    fn memory(&self) -> u64 {
        self.v4.nodes().bytes()
            + self.v4.results().bytes()
            + self.v6.nodes().bytes()
            + self.v6.results().bytes()
    }
}

/// Arena upkeep around trie updates.
trait Upkeep {
    fn reclaim(&mut self);
    fn reserve_retire(&mut self, n: usize) -> Result;
    fn kick(&mut self);
    fn nodes_mut_reserve(&mut self);
}

impl<K: Key> Upkeep for Trie<K> {
    fn reclaim(&mut self) {
        self.arenas_mut().0.reclaim();
        self.arenas_mut().1.reclaim();
    }

    fn reserve_retire(&mut self, n: usize) -> Result {
        self.arenas_mut().0.reserve_retire(n)?;
        self.arenas_mut().1.reserve_retire(n)
    }

    fn kick(&mut self) {
        self.arenas_mut().0.kick();
        self.arenas_mut().1.kick();
    }

    /// Deleting a whole FIB retires many blocks; what does not fit the
    /// reserve waits for a grace period in place (see `KArena::retire`).
    fn nodes_mut_reserve(&mut self) {
        let _ = self.reserve_retire(4096);
    }
}

/// Whether interface `ifindex` exists (in the initial network namespace).
pub(crate) fn dev_exists(ifindex: u32) -> bool {
    let Ok(i) = i32::try_from(ifindex) else {
        return false;
    };
    // SAFETY: `init_net` lives for ever; the reference `dev_get_by_index`
    // takes is dropped at once.
    unsafe {
        let dev = kernel::bindings::dev_get_by_index(
            core::ptr::addr_of_mut!(kernel::bindings::init_net),
            i,
        );
        if dev.is_null() {
            return false;
        }
        kernel::bindings::dev_put(dev);
    }
    true
}

/// Module state.
#[pin_data]
pub(crate) struct State {
    /// Serialises the requests that check a FIB under one lock and act
    /// under another or none (NEWFIB, DELFIB, MIRROR, BIND, UNBIND,
    /// SETFIB): the family runs requests in parallel (`parallel_ops`), so
    /// without it a BIND could pass its FIB check, a DELFIB remove the
    /// FIB, and the BIND then attach a port to a FIB that is gone. Taken
    /// first, before `inner`; sysfs callbacks and notifiers never take it,
    /// so sysfs directories may be made and removed under it.
    #[pin]
    pub(crate) ctl: Mutex<()>,
    #[pin]
    pub(crate) inner: Mutex<Inner>,
    #[pin]
    pub(crate) mirror: mirror::Mirror,
    #[pin]
    pub(crate) fwd: fwd::Fwd,
    /// Netdevice notifier: unbinds devices that go away.
    #[pin]
    nb: NetdevNotifier,
}

/// The module's netdevice notifier block.
#[repr(transparent)]
struct NetdevNotifier(kernel::types::Opaque<kernel::bindings::notifier_block>);

// SAFETY: the block is only handed to the notifier chain, which
// synchronises its use.
unsafe impl Send for NetdevNotifier {}
// SAFETY: as above.
unsafe impl Sync for NetdevNotifier {}

/// Netdevice notifier callback.
///
/// # Safety
///
/// Called by the netdevice notifier chain, under RTNL.
unsafe extern "C" fn netdev_event(
    _nb: *mut kernel::bindings::notifier_block,
    event: usize,
    ptr: *mut core::ffi::c_void,
) -> core::ffi::c_int {
    if event == kernel::bindings::netdev_cmd_NETDEV_UNREGISTER as usize {
        if let Some(st) = state() {
            // SAFETY: the chain passes a `netdev_notifier_info`; RTNL is
            // held, as `fwd::dev_unregister` requires.
            let dev = unsafe { kernel::bindings::netdev_notifier_info_to_dev(ptr.cast()) };
            fwd::dev_unregister(st, dev);
        }
    }
    kernel::bindings::NOTIFY_DONE as core::ffi::c_int
}

static STATE: AtomicPtr<State> = AtomicPtr::new(core::ptr::null_mut());

/// The module state, while the module is loaded.
pub(crate) fn state() -> Option<&'static State> {
    // SAFETY: set to the pinned state while the module is loaded; cleared
    // before it is freed, after the netlink family (its only user) is gone.
    unsafe { STATE.load(Ordering::Acquire).as_ref() }
}

macro_rules! stat_attr {
    ($ty:ident, $name:literal, |$i:ident| $e:expr) => {
        struct $ty;
        impl Attribute for $ty {
            const NAME: &'static CStr = c_str!($name);
            fn show(out: &mut Show) -> Result {
                let st = state().ok_or(ENODEV)?;
                let $i = st.inner.lock();
                writeln!(out, "{}", $e).map_err(|_| EINVAL)
            }
        }
    };
}

stat_attr!(FibsAttr, "fibs", |i| i.fibs.len());

macro_rules! mirror_attr {
    ($ty:ident, $name:literal, $field:ident) => {
        struct $ty;
        impl Attribute for $ty {
            const NAME: &'static CStr = c_str!($name);
            fn show(out: &mut Show) -> Result {
                let st = state().ok_or(ENODEV)?;
                writeln!(out, "{}", st.mirror.$field.load(Ordering::Relaxed)).map_err(|_| EINVAL)
            }
        }
    };
}

mirror_attr!(MirrorDroppedAttr, "mirror_dropped", dropped);
mirror_attr!(MirrorAppliedAttr, "mirror_applied", applied);
stat_attr!(Routes4Attr, "routes4", |i| i.v4.routes());
stat_attr!(Routes6Attr, "routes6", |i| i.v6.routes());
stat_attr!(NexthopsAttr, "nexthops", |i| i.nh.live());
stat_attr!(MemoryAttr, "memory_bytes", |i| i.memory());
stat_attr!(LeakedAttr, "leaked_blocks", |i| i.v4.nodes().leaked()
    + i.v4.results().leaked()
    + i.v6.nodes().leaked()
    + i.v6.results().leaked());
stat_attr!(UsedAttr, "used_bytes", |i| i.v4.nodes().used() * 8
    + i.v4.results().used() * 4
    + i.v6.nodes().used() * 8
    + i.v6.results().used() * 4);

/// Results of the last `bench` run, in the order [`BenchAttr`] shows
/// them (slot 7: its family, 4 or 6).
static BENCH: [AtomicU64; 10] = [const { AtomicU64::new(0) }; 10];

/// The bench's clock.
fn now_ns() -> u64 {
    // SAFETY: plain clock read.
    unsafe { kernel::bindings::ktime_get_ns() }
}

/// Lookups per RCU read-side section of the `bench` and `torture` loops.
const SECTION: u32 = 1024;

/// The RCU read-side sections of a long kernel loop (up to 100M lookups
/// for `bench`): held while the value lives, renewed with a chance to
/// reschedule in between, so the loop stalls neither grace periods nor
/// the CPU, whatever its length.
///
/// Only for process context with no spinlock held (a sysfs write; the
/// FIB mutex may be held). Pointers read under one section are not used
/// after [`RcuSections::renew`] unless they stay valid for ever (the
/// kernel's main tables of `init_net`).
struct RcuSections(());

impl RcuSections {
    /// Enters the first section.
    fn new() -> Self {
        // SAFETY: unlocked by `drop` (or by `renew`, which locks again).
        unsafe { kernel::bindings::rcu_read_lock() };
        Self(())
    }

    /// Ends the section, lets the scheduler run and enters a new one.
    fn renew(&mut self) {
        // SAFETY: the section `new` or the last `renew` entered; the
        // caller is in process context without spinlocks (type doc),
        // where rescheduling is allowed.
        unsafe {
            kernel::bindings::rcu_read_unlock();
            kernel::bindings::__cond_resched();
            kernel::bindings::rcu_read_lock();
        }
    }
}

impl Drop for RcuSections {
    fn drop(&mut self) {
        // SAFETY: the section `new` or the last `renew` entered.
        unsafe { kernel::bindings::rcu_read_unlock() };
    }
}

/// Calls `f` on each of `items` in [`RcuSections`] renewed every
/// [`SECTION`] items. The loop over one section's items makes no call
/// besides `f` (inlined), so what a bench times is `f`, not the
/// renewals, and the loop's values stay in registers.
fn in_sections<T>(mut items: impl Iterator<Item = T>, mut f: impl FnMut(T)) {
    let mut rcu = RcuSections::new();
    loop {
        let mut n = 0u32;
        for x in items.by_ref().take(SECTION as usize) {
            f(x);
            n += 1;
        }
        if n < SECTION {
            break;
        }
        rcu.renew();
    }
}

/// Runs what forwarding runs (`lookup`: the accelerator when the FIB has
/// one) for each of `keys` in `fib`: the time taken and the sum of the
/// nexthops found, plus one each.
fn time_lookups<K: Key>(trie: &Trie<K>, fib: u32, keys: impl Iterator<Item = K>) -> (u64, u64) {
    let t0 = now_ns();
    let mut sum = 0u64;
    in_sections(keys, |k| {
        if let Some(nh) = trie.lookup(fib, k) {
            sum += u64::from(nh) + 1;
        }
    });
    (now_ns() - t0, sum)
}

/// Keys per `lookup_burst` call of the bench, as DPDK's bulk lookups.
const BENCH_BURST: usize = 32;

/// [`time_lookups`] with the keys handed to `lookup_burst` 32 at a time,
/// as a driver would hand it the packets of one NAPI poll.
fn time_bursts<K: Key>(trie: &Trie<K>, fib: u32, keys: impl Iterator<Item = K>) -> (u64, u64) {
    let mut buf = [K::ZERO; BENCH_BURST];
    let mut out = [None; BENCH_BURST];
    let mut sum = 0u64;
    let mut burst = |ks: &[K], sum: &mut u64| {
        let n = trie.lookup_burst(fib, ks, &mut out);
        for nh in out.iter().take(n).flatten() {
            *sum += u64::from(*nh) + 1;
        }
    };
    let t0 = now_ns();
    let mut n = 0;
    in_sections(keys, |k| {
        if let Some(slot) = buf.get_mut(n) {
            *slot = k;
            n += 1;
        }
        if n == BENCH_BURST {
            burst(&buf, &mut sum);
            n = 0;
        }
    });
    burst(buf.get(..n).unwrap_or(&[]), &mut sum);
    (now_ns() - t0, sum)
}

/// Keeps the figures of a run (`bench`, `torture`) for its attribute to
/// show.
fn store_all<const N: usize>(slots: &[AtomicU64; N], vals: [u64; N]) {
    for (slot, v) in slots.iter().zip(vals) {
        slot.store(v, Ordering::Relaxed);
    }
}

/// The figures [`store_all`] kept.
fn load_all<const N: usize>(slots: &[AtomicU64; N]) -> [u64; N] {
    core::array::from_fn(|i| slots.get(i).map_or(0, |s| s.load(Ordering::Relaxed)))
}

/// Runs `n` IPv4 lookups of pseudo-random addresses in FIB `fib` and, for
/// the same addresses, `fib_table_lookup()` on the kernel's main table;
/// stores the time of each and how many prefix lengths differ.
fn bench(inner: &Inner, fib: u32, n: u32) -> Result {
    let keys = |seed: u32| {
        let mut x = seed;
        (0..n).map(move |_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        })
    };
    let (t_ours, sum_ours) = time_lookups(&inner.v4, fib, keys(0x1234_5678));
    let (t_burst, sum_burst) = time_bursts(&inner.v4, fib, keys(0x1234_5678));

    // The main table always exists, so this only looks it up. It lives
    // for ever (a table goes only with its namespace, and `init_net`
    // never goes), so the loops below use it across RCU sections.
    let tb = {
        let _rcu = RcuSections::new();
        // SAFETY: `init_net` lives for ever; the RCU read lock is held.
        unsafe {
            kernel::bindings::fib_new_table(
                core::ptr::addr_of_mut!(kernel::bindings::init_net),
                kernel::bindings::rt_class_t_RT_TABLE_MAIN,
            )
        }
    };
    if tb.is_null() {
        return Err(ENOENT);
    }
    // Called only by `in_sections`, under the RCU read lock.
    let trie_len = |k: u32| -> Option<u8> {
        // SAFETY: all-zero is a valid `flowi4` and `fib_result` (plain C
        // structs of integers and pointers).
        let (mut fl, mut res): (kernel::bindings::flowi4, kernel::bindings::fib_result) =
            unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
        fl.daddr = k.to_be();
        // SAFETY: `tb` lives for ever and the caller's RCU section keeps
        // its trie nodes; `fl` and `res` are valid for the call.
        // FIB_LOOKUP_NOREF: no reference taken.
        let rc = unsafe { kernel::bindings::fib_table_lookup(tb, &fl, &mut res, 1) };
        // Without CONFIG_IP_MULTIPLE_TABLES the local table is merged
        // into main: its routes (127/8, own addresses) are not FIB
        // routes, so they count as no route.
        (rc == 0 && u32::from(res.type_) != kernel::bindings::RTN_LOCAL).then_some(res.prefixlen)
    };
    let t0 = now_ns();
    let mut sum_trie = 0u64;
    in_sections(keys(0x1234_5678), |k| {
        if let Some(len) = trie_len(k) {
            sum_trie += u64::from(len) + 1;
        }
    });
    let t_trie = now_ns() - t0;
    let mut differ = 0u64;
    let mut accel_differ = 0u64;
    // With no dirty entry, the accelerator must answer every address by
    // itself: `lookup` falling back to the Tree Bitmap would hide a
    // broken node.
    let clean = inner.v4.accel_state(fib) == Some(0);
    in_sections(keys(0x1234_5678), |k| {
        let route = inner.v4.lookup_route(fib, k);
        let own = inner.v4.accel_lookup(fib, k);
        if inner.v4.lookup(fib, k) != route.map(|(_, nh)| nh) || (clean && own.is_none()) {
            accel_differ += 1;
        }
        let (theirs, ours) = (trie_len(k), route.map(|(l, _)| l));
        if theirs != ours {
            if differ < 3 {
                pr_info!(
                    "bench: {}.{}.{}.{}: fib_trie /{:?}, cgl_fib /{:?}\n",
                    k >> 24,
                    (k >> 16) & 255,
                    (k >> 8) & 255,
                    k & 255,
                    theirs,
                    ours
                );
            }
            differ += 1;
        }
    });
    store_all(
        &BENCH,
        [
            u64::from(n),
            t_ours,
            t_trie,
            differ,
            sum_ours,
            sum_trie,
            accel_differ,
            4,
            t_burst,
            sum_burst,
        ],
    );
    Ok(())
}

/// The length of the longest prefix covering `k` in the kernel's IPv6
/// main table `tb` of `net` (`fib6_table_lookup()`, through `ipv6_stub`:
/// the function is not exported), or `None` for no route.
///
/// # Safety
///
/// The caller holds the RCU read lock, under which `net` and `tb` stay
/// valid.
unsafe fn fib6_len(
    net: *mut kernel::bindings::net,
    tb: *mut kernel::bindings::fib6_table,
    k: u128,
) -> Option<u8> {
    // SAFETY: `ipv6_stub` is set at boot (to IPv6's own functions, or to
    // stubs that fail when IPv6 is off) and never cleared.
    let lookup = unsafe { (*kernel::bindings::ipv6_stub).fib6_table_lookup }?;
    // SAFETY: all-zero is a valid `flowi6` and `fib6_result` (plain C
    // structs of integers and pointers).
    let (mut fl6, mut res): (kernel::bindings::flowi6, kernel::bindings::fib6_result) =
        unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
    fl6.daddr.in6_u.u6_addr8 = k.to_be_bytes();
    // SAFETY: `net` and `tb` are live under the caller's RCU read lock;
    // `fl6` and `res` are valid for the call, which takes no reference.
    let rc = unsafe { lookup(net, tb, 0, &mut fl6, &mut res, 0) };
    // SAFETY: as above, `net` is live.
    let null = unsafe { (*net).ipv6.fib6_null_entry };
    if rc != 0 || res.f6i.is_null() || res.f6i == null {
        return None;
    }
    // SAFETY: a route the lookup returned stays valid under the RCU read
    // lock.
    u8::try_from(unsafe { (*res.f6i).fib6_dst.plen }).ok()
}

/// Runs `n` IPv6 lookups in FIB `fib` of addresses inside its own routes
/// (a route's prefix with pseudo-random host bits: random IPv6 addresses
/// would almost all miss) and, for the same addresses,
/// `fib6_table_lookup()` on the kernel's IPv6 main table; stores the time
/// of each, how many prefix lengths differ, and how many addresses the
/// forwarding lookup answers differently from the Tree Bitmap, or the
/// accelerator, clean, leaves to it.
fn bench6(inner: &Inner, fib: u32, n: u32) -> Result {
    let mut pre = KVec::new();
    let mut full = false;
    inner
        .v6
        .walk(fib, None, |p, l, _| {
            full = pre.push((p, l), GFP_KERNEL).is_err();
            !full && pre.len() < 1 << 16
        })
        .map_err(|_| EINVAL)?;
    if full {
        return Err(ENOMEM);
    }
    if pre.is_empty() {
        return Err(ENOENT);
    }
    let keys = |seed: u64| {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let pre = &pre;
        (0..n).map(move |_| {
            let i = next().checked_rem(pre.len() as u64).unwrap_or(0);
            let (p, l) = pre.get(i as usize).copied().unwrap_or((0, 0));
            let host = u128::from(next()) << 64 | u128::from(next());
            p | host.checked_shr(u32::from(l)).unwrap_or(0)
        })
    };
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
    let (t_ours, sum_ours) = time_lookups(&inner.v6, fib, keys(SEED));
    let (t_burst, sum_burst) = time_bursts(&inner.v6, fib, keys(SEED));
    let net = core::ptr::addr_of_mut!(kernel::bindings::init_net);
    // SAFETY: `init_net` lives for ever, and so does its IPv6 main table.
    let tb = unsafe { (*net).ipv6.fib6_main_tbl };
    if tb.is_null() {
        return Err(ENOENT);
    }
    let t0 = now_ns();
    let mut sum_fib6 = 0u64;
    in_sections(keys(SEED), |k| {
        // SAFETY: in an RCU read-side section; `net` and `tb` live for
        // ever.
        if let Some(len) = unsafe { fib6_len(net, tb, k) } {
            sum_fib6 += u64::from(len) + 1;
        }
    });
    let t_fib6 = now_ns() - t0;
    let mut differ = 0u64;
    in_sections(keys(SEED), |k| {
        // SAFETY: as above.
        let theirs = unsafe { fib6_len(net, tb, k) };
        if theirs != inner.v6.lookup_route(fib, k).map(|(l, _)| l) {
            differ += 1;
        }
    });
    let clean = inner.v6.accel_state(fib) == Some(0);
    let mut accel_differ = 0u64;
    in_sections(keys(SEED), |k| {
        let route = inner.v6.lookup_route(fib, k).map(|(_, nh)| nh);
        let own = inner.v6.accel_lookup(fib, k);
        if inner.v6.lookup(fib, k) != route || (clean && own != Some(route)) {
            accel_differ += 1;
        }
    });
    store_all(
        &BENCH,
        [
            u64::from(n),
            t_ours,
            t_fib6,
            differ,
            sum_ours,
            sum_fib6,
            accel_differ,
            6,
            t_burst,
            sum_burst,
        ],
    );
    Ok(())
}

/// Results of the last `torture` run: lookups, misses, rejects, differ.
static TORTURE: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Runs forwarding lookups of pseudo-random addresses in `prefix/len`
/// (IPv6 if `v6`, else IPv4 in the low 32 bits) in FIB `fib` for `secs`
/// seconds, through the forwarding path's lock-free read handles: no
/// lock that route updates take is held, so they run meanwhile on other
/// CPUs. Each section of [`SECTION`] lookups holds the RCU read lock;
/// between sections the CPU passes a quiescent state, so grace periods
/// end and retired blocks are recycled during the run. Counts the
/// lookups that found no route, a route that does not forward (blackhole,
/// unreachable, prohibit), or a unicast nexthop other than the first one
/// seen.
fn torture(st: &State, fib: u32, v6: bool, prefix: u128, len: u32, secs: u32) {
    let bits = if v6 { 128 } else { 32 };
    let host = u128::MAX.checked_shr(128 - bits + len).unwrap_or(0);
    let end = now_ns().saturating_add(u64::from(secs) * 1_000_000_000);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut n, mut miss, mut reject, mut differ) = (0u64, 0u64, 0u64, 0u64);
    let mut first = None;
    let readers = &st.fwd.readers;
    let mut rcu = RcuSections::new();
    while now_ns() < end {
        for _ in 0..SECTION {
            let a = prefix | ((u128::from(next()) << 64 | u128::from(next())) & host);
            let nh = if v6 {
                readers.route6(fib, a.to_be_bytes())
            } else {
                readers.route4(fib, (a as u32).to_be_bytes())
            };
            n += 1;
            match nh {
                None => miss += 1,
                Some(h) if h.rtype != rtmsg::RouteType::Unicast => reject += 1,
                Some(h) => match first {
                    None => first = Some((h.gw_len, h.gw, h.oif)),
                    Some(f) if f != (h.gw_len, h.gw, h.oif) => differ += 1,
                    Some(_) => {}
                },
            }
        }
        rcu.renew();
    }
    drop(rcu);
    store_all(&TORTURE, [n, miss, reject, differ]);
}

/// `torture`: write "FIB HEX LEN SECS" to run [`torture`] on the prefix
/// whose address is HEX (8 hex digits for IPv4, 32 for IPv6) and length
/// LEN, for 1 to 60 seconds; read the last result.
struct TortureAttr;
impl Attribute for TortureAttr {
    const NAME: &'static CStr = c_str!("torture");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        let v = load_all(&TORTURE);
        writeln!(
            out,
            "lookups {} misses {} rejects {} differ {}",
            v[0], v[1], v[2], v[3]
        )
        .map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        let mut it = input.split_whitespace();
        let mut field = || it.next().ok_or(EINVAL);
        let fib: u32 = field()?.parse().map_err(|_| EINVAL)?;
        let hex = field()?;
        let v6 = match hex.len() {
            8 => false,
            32 => true,
            _ => return Err(EINVAL),
        };
        let prefix = u128::from_str_radix(hex, 16).map_err(|_| EINVAL)?;
        let len: u32 = field()?.parse().map_err(|_| EINVAL)?;
        let secs: u32 = field()?.parse().map_err(|_| EINVAL)?;
        let bits = if v6 { 128 } else { 32 };
        let host = u128::MAX
            .checked_shr(128 - bits + len.min(bits))
            .unwrap_or(0);
        if it.next().is_some() || len > bits || prefix & host != 0 || !(1..=60).contains(&secs) {
            return Err(EINVAL);
        }
        let st = state().ok_or(ENODEV)?;
        if st.inner.lock().find(fib).is_err() {
            return Err(ENOENT);
        }
        torture(st, fib, v6, prefix, len, secs);
        Ok(())
    }
}

/// `accel_routes`: routes from which a FIB family gets the lookup
/// accelerator; writing applies it to every FIB at once.
struct AccelRoutesAttr;
impl Attribute for AccelRoutesAttr {
    const NAME: &'static CStr = c_str!("accel_routes");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        let st = state().ok_or(ENODEV)?;
        let n = st.inner.lock().accel_routes;
        writeln!(out, "{}", n).map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        let n: u32 = input.trim().parse().map_err(|_| EINVAL)?;
        if n == 0 {
            return Err(EINVAL);
        }
        let st = state().ok_or(ENODEV)?;
        let mut inner = st.inner.lock();
        inner.set_accel_routes(n);
        inner.flush_all();
        Ok(())
    }
}

/// `bench`: write "FIB N" to compare N IPv4 lookups in FIB, one at a
/// time and in bursts of 32, with the kernel's fib_trie (main table)
/// holding the same routes, or "FIB N 6" for N IPv6 lookups against
/// fib6 (IPv6 main table); read the last result.
struct BenchAttr;
impl Attribute for BenchAttr {
    const NAME: &'static CStr = c_str!("bench");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        let v = load_all(&BENCH);
        let n = v[0].max(1);
        let peer = if v[7] == 6 { "fib6" } else { "fib_trie" };
        writeln!(
            out,
            "lookups {} peer {} cgl_fib_ns {} kernel_ns {} cgl_fib_ns_per_lookup {} kernel_ns_per_lookup {} differ {} sum_cgl {} sum_kernel {} accel_differ {} cgl_fib_burst_ns {} cgl_fib_burst_ns_per_lookup {} sum_cgl_burst {}",
            v[0], peer, v[1], v[2], v[1] / n, v[2] / n, v[3], v[4], v[5], v[6], v[8], v[8] / n, v[9]
        )
        .map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        let mut it = input.split_whitespace();
        let fib: u32 = it.next().and_then(|x| x.parse().ok()).ok_or(EINVAL)?;
        let n: u32 = it.next().and_then(|x| x.parse().ok()).ok_or(EINVAL)?;
        let v6 = match it.next() {
            None => false,
            Some("6") => true,
            Some(_) => return Err(EINVAL),
        };
        if n == 0 || n > 100_000_000 || it.next().is_some() {
            return Err(EINVAL);
        }
        let st = state().ok_or(ENODEV)?;
        let inner = st.inner.lock();
        if inner.find(fib).is_err() {
            return Err(ENOENT);
        }
        if v6 {
            bench6(&inner, fib, n)
        } else {
            bench(&inner, fib, n)
        }
    }
}

/// Shows one value of the FIB whose directory is being read.
fn show_fib(out: &mut Show, f: impl FnOnce(&Fib, &State) -> u64) -> Result {
    show_fib_in(out, |fib, st, _| f(fib, st))
}

/// [`show_fib`] with the locked writer state too.
fn show_fib_in(out: &mut Show, f: impl FnOnce(&Fib, &State, &Inner) -> u64) -> Result {
    let st = state().ok_or(ENODEV)?;
    let key = out.dir_key();
    let v = {
        let inner = st.inner.lock();
        let fib = inner.fibs.get(fib_at(&inner, key)?).ok_or(ENODEV)?;
        f(fib, st, &inner)
    };
    writeln!(out, "{}", v).map_err(|_| EINVAL)
}

/// Index in `inner.fibs` of the FIB whose sysfs directory has `key`.
fn fib_at(inner: &Inner, key: usize) -> Result<usize> {
    inner
        .fibs
        .iter()
        .position(|x| x.dir.as_ref().map(|d| d.key()) == Some(key))
        .ok_or(ENODEV)
}

macro_rules! fib_attr {
    ($ty:ident, $name:literal, $f:expr) => {
        struct $ty;
        impl Attribute for $ty {
            const NAME: &'static CStr = c_str!($name);
            fn show(out: &mut Show) -> Result {
                show_fib(out, $f)
            }
        }
    };
}

/// A forwarding counter of a FIB (its ports' sum).
fn fib_stat(st: &State, fib: u32, s: fwd::Stat) -> u64 {
    st.fwd.fib_stats(fib).get(s as usize).copied().unwrap_or(0)
}

fib_attr!(FibRoutes4Attr, "routes4", |f, _| f.routes4);
/// `accel`: bit 0 IPv4, bit 1 IPv6 accelerator present.
struct FibAccelAttr;
impl Attribute for FibAccelAttr {
    const NAME: &'static CStr = c_str!("accel");
    fn show(out: &mut Show) -> Result {
        show_fib_in(out, |f, _, i| i.accel(f.id).0)
    }
}

/// `memory_bytes`: arena bytes the FIB holds (both families' Tree
/// Bitmap nodes and results and accelerators), counted at each read.
struct FibMemoryAttr;
impl Attribute for FibMemoryAttr {
    const NAME: &'static CStr = c_str!("memory_bytes");
    fn show(out: &mut Show) -> Result {
        let st = state().ok_or(ENODEV)?;
        let key = out.dir_key();
        let v = {
            let mut inner = st.inner.lock();
            let id = inner.fibs.get(fib_at(&inner, key)?).ok_or(ENODEV)?.id;
            let a = inner.v4.fib_memory(id).map_err(|_| EIO)?;
            a + inner.v6.fib_memory(id).map_err(|_| EIO)?
        };
        writeln!(out, "{}", v).map_err(|_| EINVAL)
    }
}

/// `accel_dirty`: accelerator entries not rebuilt yet (answered by the
/// Tree Bitmap).
struct FibAccelDirtyAttr;
impl Attribute for FibAccelDirtyAttr {
    const NAME: &'static CStr = c_str!("accel_dirty");
    fn show(out: &mut Show) -> Result {
        show_fib_in(out, |f, _, i| i.accel(f.id).1)
    }
}
fib_attr!(FibRoutes6Attr, "routes6", |f, _| f.routes6);
fib_attr!(FibLookupsAttr, "lookups", |f, _| f.lookups);
fib_attr!(FibMissesAttr, "misses", |f, _| f.misses);
fib_attr!(FibNeighsAttr, "neighbours", |f, st| u64::from(
    st.fwd.neigh.lock().table.count(f.id)
));
fib_attr!(FibNeighLimitAttr, "neigh_limit", |f, st| u64::from(
    st.fwd.neigh.lock().table.limit(f.id)
));
fib_attr!(FibRxAttr, "rx_packets", |f, st| fib_stat(
    st,
    f.id,
    fwd::Stat::Rx
));
fib_attr!(FibFwdAttr, "forwarded", |f, st| fib_stat(
    st,
    f.id,
    fwd::Stat::Forwarded
));
fib_attr!(FibDropsAttr, "drops", |f, st| {
    use fwd::Stat::*;
    [NoRoute, Ttl, Blackhole, TooBig, Unresolved, Drops]
        .into_iter()
        .map(|s| fib_stat(st, f.id, s))
        .sum()
});

sysfs_group!(static FIB_ATTRS = [
    FibMemoryAttr,
    FibAccelAttr,
    FibAccelDirtyAttr,
    FibRoutes4Attr,
    FibRoutes6Attr,
    FibLookupsAttr,
    FibMissesAttr,
    FibNeighsAttr,
    FibNeighLimitAttr,
    FibRxAttr,
    FibFwdAttr,
    FibDropsAttr,
]);

/// Creates FIB `id`'s sysfs directory (the module mutex not held: see
/// [`Fib::dir`]); `None` before sysfs is up.
pub(crate) fn fib_dir(st: &State, id: u32) -> Result<Option<cgl_core::sysfs::Dir>> {
    let parent = st
        .inner
        .lock()
        .by_id
        .as_ref()
        .map(|d| d as *const cgl_core::sysfs::Dir);
    let Some(parent) = parent else {
        return Ok(None);
    };
    let name = kernel::str::CString::try_from_fmt(kernel::fmt!("{}", id))?;
    // SAFETY: `by_id` lives in the module state until module exit, after
    // the netlink family (the only caller) is gone.
    let dir = cgl_core::sysfs::Dir::new(&name, Some(unsafe { &*parent }))?;
    dir.add_group(&FIB_ATTRS)?;
    Ok(Some(dir))
}

sysfs_group!(static ATTRS = [
    BenchAttr,
    TortureAttr,
    AccelRoutesAttr,
    MirrorDroppedAttr,
    MirrorAppliedAttr,
    FibsAttr,
    Routes4Attr,
    Routes6Attr,
    NexthopsAttr,
    MemoryAttr,
    UsedAttr,
    LeakedAttr,
]);

static MODULE_INFO: cgl_core::ModuleInfo = cgl_core::ModuleInfo {
    name: c_str!("fib"),
    family: Some(c_str!("cgl_fib")),
    description: c_str!("multi-FIB: many IPv4/IPv6 forwarding tables"),
};

struct CglFibModule {
    // Drop order: sysfs, the core registration, the family, then the state.
    _dir: cgl_core::sysfs::Dir,
    _reg: cgl_core::Registration,
    _family: cgl_core::genl::Registration,
    _dev: cgl_core::misc::MiscDevice,
    state: Pin<KBox<State>>,
}

/// Refuses a CPU without the POPCNT instruction when the module was built
/// for it (`CONFIG_CGL_FIB_POPCNT`); runs before any code that counts bits.
#[inline(never)]
fn check_cpu() -> Result {
    #[cfg(CONFIG_CGL_FIB_POPCNT)]
    {
        // SAFETY: reads the boot CPU's feature bits, set up long before
        // modules load.
        if !unsafe { kernel::bindings::cgl_fib_cpu_has_popcnt() } {
            pr_err!("this CPU has no POPCNT; rebuild with CONFIG_CGL_FIB_POPCNT=n\n");
            return Err(ENODEV);
        }
    }
    Ok(())
}

impl kernel::Module for CglFibModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        check_cpu()?;
        let inner = Inner::new()?;
        let fwd = fwd::Fwd::new(&inner)?;
        let state = KBox::pin_init(
            try_pin_init!(State {
                ctl <- kernel::new_mutex!((), "cgl_fib_ctl"),
                inner <- kernel::new_mutex!(inner, "cgl_fib"),
                mirror <- mirror::Mirror::new(),
                fwd <- fwd,
                nb: NetdevNotifier(kernel::types::Opaque::new(kernel::bindings::notifier_block {
                    notifier_call: Some(netdev_event),
                    next: core::ptr::null_mut(),
                    priority: 0,
                })),
            }? Error),
            GFP_KERNEL,
        )?;
        STATE.store(&*state as *const State as *mut State, Ordering::Release);
        let parts = (|| {
            let family = netlink::register(module)?;
            let dev = chardev::register(module)?;
            let dir = cgl_core::sysfs::module_dir(c_str!("fib"))?;
            dir.add_group(&ATTRS)?;
            let by_id = cgl_core::sysfs::Dir::new(c_str!("by-id"), Some(&dir))?;
            state.inner.lock().by_id = Some(by_id);
            let reg = cgl_core::register_module(&MODULE_INFO)?;
            // SAFETY: the block is pinned in the state, which outlives
            // the registration (unregistered in `drop`).
            let rc = unsafe { kernel::bindings::register_netdevice_notifier(state.nb.0.get()) };
            if rc != 0 {
                return Err(Error::from_errno(rc));
            }
            Ok((family, dev, dir, reg))
        })();
        let (family, dev, dir, reg) = match parts {
            Ok(p) => p,
            Err(e) => {
                STATE.store(core::ptr::null_mut(), Ordering::Release);
                return Err(e);
            }
        };
        Ok(Self {
            _dir: dir,
            _reg: reg,
            _family: family,
            _dev: dev,
            state,
        })
    }
}

impl Drop for CglFibModule {
    fn drop(&mut self) {
        // SAFETY: registered in `init`.
        unsafe { kernel::bindings::unregister_netdevice_notifier(self.state.nb.0.get()) };
        fwd::unbind_all(&self.state);
        // The sysfs directories go with the mutex released (see
        // `Fib::dir`), before the module's own directory.
        loop {
            let dir = {
                let mut inner = self.state.inner.lock();
                match inner.fibs.iter_mut().find_map(|f| f.dir.take()) {
                    Some(d) => d,
                    None => break,
                }
            };
            drop(dir);
        }
        let by_id = self.state.inner.lock().by_id.take();
        drop(by_id);
        STATE.store(core::ptr::null_mut(), Ordering::Release);
        let _ = &self.state;
        // Readers of retired blocks are gone after a grace period; the
        // arenas are freed when `state` drops.
        // SAFETY: process context.
        unsafe { kernel::bindings::synchronize_rcu() };
    }
}
