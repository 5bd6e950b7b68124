// SPDX-License-Identifier: GPL-2.0

//! Mirroring kernel IPv4 and IPv6 routing tables into FIBs, so that routing
//! daemons that speak rtnetlink (`ip route`, FRR, BIRD) drive a FIB
//! unchanged: `ip route add ... table 100` appears in the FIB that mirrors
//! table 100.
//!
//! Each mirror registers a notifier block of its own on the FIB notifier
//! chain of the initial network namespace, and its callback keeps only
//! the events of its table: adding a mirror gets the kernel's replay of
//! every route for the new block alone, and the other mirrors' blocks
//! stay registered, so they never miss a change (one block shared by all,
//! re-registered to get the replay, would drop the others' events in
//! between, and all of them on a failed registration). Callbacks run in
//! atomic context (RCU read side), so they only queue the event
//! ([`Ev`]) in blocks allocated with `GFP_ATOMIC`; a work item applies
//! the queue under the module's mutex, in order. The kernel sends
//! `FIB_EVENT_ENTRY_REPLACE` when the route that forwards a prefix changes
//! and `FIB_EVENT_ENTRY_DEL` when a prefix loses its last route, and
//! replays every route when a notifier registers.
//!
//! What is mirrored: unicast routes (first nexthop only: gateway and
//! interface), blackhole, unreachable and prohibit routes. Local,
//! broadcast and other types, and routes with a TOS, are skipped. An event
//! that cannot be queued (no memory) is counted in `mirror_dropped`.
//!
//! Locking: `map` and `registered` are atomics (read by the callback),
//! changed only by [`Mirror::set`] and [`Mirror::forget`], which the
//! module's `ctl` mutex serialises; `queue` is a
//! spinlock taken with interrupts off; the FIB itself is changed only by
//! the work item, under the module mutex.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::nexthop::{Nexthop, RouteType};
use cgl_core::sync::SpinLockIrq;

/// Most mirrors at once.
pub(crate) const MAX_MIRRORS: usize = 16;
/// Events per queue block.
const BLOCK: usize = 256;

/// One queued route change.
#[derive(Clone, Copy)]
pub(crate) struct Ev {
    del: bool,
    v6: bool,
    table: u32,
    /// The prefix as the trie's key (IPv4 in the low 32 bits).
    dst: u128,
    len: u8,
    nh: Nexthop,
}

/// Queued events, in blocks so a replay of a full table needs no large
/// atomic allocation.
pub(crate) struct Queue {
    blocks: KVec<KVec<Ev>>,
}

/// Mirror state.
#[pin_data(PinnedDrop)]
pub(crate) struct Mirror {
    /// Per slot, the notifier block of its mirror.
    #[pin]
    nbs: [Opaque<bindings::notifier_block>; MAX_MIRRORS],
    /// Per slot, whether its block is registered.
    registered: [AtomicBool; MAX_MIRRORS],
    /// `(table << 32) | fib` per mirror, 0 for a free slot.
    map: [AtomicU64; MAX_MIRRORS],
    #[pin]
    queue: SpinLockIrq<Queue>,
    #[pin]
    work: cgl_core::work::WorkItem,
    /// Events lost for lack of memory.
    pub(crate) dropped: AtomicU64,
    /// Events applied.
    pub(crate) applied: AtomicU64,
}

// SAFETY: the notifier block is only handed to the notifier chain, which
// synchronises its use; everything else is atomics or locks.
unsafe impl Send for Mirror {}
// SAFETY: as above.
unsafe impl Sync for Mirror {}

impl Mirror {
    /// Mirror state with no mirror.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            nbs: [const {
                Opaque::new(bindings::notifier_block {
                    notifier_call: Some(fib_event),
                    next: ptr::null_mut(),
                    priority: 0,
                })
            }; MAX_MIRRORS],
            registered: [const { AtomicBool::new(false) }; MAX_MIRRORS],
            map: [const { AtomicU64::new(0) }; MAX_MIRRORS],
            queue <- cgl_core::new_spinlock_irq!(Queue { blocks: KVec::new() }, "cgl_fib_mirror"),
            work <- cgl_core::new_work_item!(mirror_work, "cgl_fib_mirror"),
            dropped: AtomicU64::new(0),
            applied: AtomicU64::new(0),
        })
    }

    /// The FIB that mirrors `table`, if any.
    fn fib_of(&self, table: u32) -> Option<u32> {
        self.map.iter().find_map(|m| {
            let v = m.load(Ordering::Acquire);
            (v != 0 && (v >> 32) as u32 == table).then_some(v as u32)
        })
    }

    /// The table FIB `fib` mirrors, if any.
    pub(crate) fn table_of(&self, fib: u32) -> Option<u32> {
        self.map.iter().find_map(|m| {
            let v = m.load(Ordering::Acquire);
            (v != 0 && v as u32 == fib).then_some((v >> 32) as u32)
        })
    }

    /// Makes FIB `fib` mirror `table` (0: stop mirroring). Caller holds
    /// the module's `ctl` mutex (serialising mirror changes) and has
    /// checked that the FIB exists. May sleep. On an error the FIB's
    /// mirror is as it was.
    pub(crate) fn set(&self, fib: u32, table: u32) -> core::result::Result<(), super::Fail> {
        let old = self
            .map
            .iter()
            .position(|m| m.load(Ordering::Acquire) as u32 == fib);
        if table != 0 {
            if let Some(other) = self.fib_of(table) {
                if other == fib {
                    return Ok(());
                }
                return Err((EBUSY, c_str!("another FIB mirrors that table")));
            }
        }
        if table == 0 {
            self.forget(fib);
            return Ok(());
        }
        // A free slot (the FIB's own counts as one: it is let go below
        // only once the new mirror stands).
        let free = (0..MAX_MIRRORS)
            .find(|&i| Some(i) != old && self.word(i) == 0 && !self.is_registered(i))
            .ok_or((ENOSPC, c_str!("too many mirrors")))?;
        let (Some(slot), Some(nb)) = (self.map.get(free), self.nbs.get(free)) else {
            return Err((ENOSPC, c_str!("too many mirrors")));
        };
        slot.store(u64::from(table) << 32 | u64::from(fib), Ordering::Release);
        // SAFETY: `nb` is pinned in the module state and unregistered
        // before it is freed ([`Mirror::stop`]); `init_net` lives for
        // ever. The chain replays every route to the new block.
        let rc = unsafe {
            bindings::register_fib_notifier(
                ptr::addr_of_mut!(bindings::init_net),
                nb.get(),
                None,
                ptr::null_mut(),
            )
        };
        if rc != 0 {
            slot.store(0, Ordering::Release);
            return Err((
                Error::from_errno(rc),
                c_str!("cannot register a FIB notifier"),
            ));
        }
        if let Some(r) = self.registered.get(free) {
            r.store(true, Ordering::Release);
        }
        if let Some(o) = old {
            self.release(o);
        }
        Ok(())
    }

    /// Forgets FIB `fib`'s mirror (stopped, or the FIB deleted). May sleep.
    pub(crate) fn forget(&self, fib: u32) {
        for i in 0..MAX_MIRRORS {
            let v = self.word(i);
            if v != 0 && v as u32 == fib {
                self.release(i);
            }
        }
    }

    /// `map` word of slot `i` (0 if out of range).
    fn word(&self, i: usize) -> u64 {
        self.map.get(i).map_or(0, |m| m.load(Ordering::Acquire))
    }

    fn is_registered(&self, i: usize) -> bool {
        self.registered
            .get(i)
            .is_some_and(|r| r.load(Ordering::Acquire))
    }

    /// Frees slot `i`: its callback stops queueing (the map word first),
    /// then its block leaves the chain. May sleep.
    fn release(&self, i: usize) {
        if let Some(m) = self.map.get(i) {
            m.store(0, Ordering::Release);
        }
        let (Some(r), Some(nb)) = (self.registered.get(i), self.nbs.get(i)) else {
            return;
        };
        if r.swap(false, Ordering::AcqRel) {
            // SAFETY: registered on `init_net` by `set`.
            unsafe {
                bindings::unregister_fib_notifier(ptr::addr_of_mut!(bindings::init_net), nb.get())
            };
        }
    }

    /// The table the mirror whose notifier block is `nb` follows (0: none).
    fn table_of_block(&self, nb: *mut bindings::notifier_block) -> u32 {
        self.nbs
            .iter()
            .position(|b| b.get() == nb)
            .map_or(0, |i| (self.word(i) >> 32) as u32)
    }

    fn push(&self, ev: Ev) {
        let mut q = self.queue.lock();
        let need_block = q.blocks.last().map_or(true, |b| b.len() >= BLOCK);
        if need_block {
            let Ok(b) = KVec::with_capacity(BLOCK, GFP_ATOMIC) else {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            };
            if q.blocks.push(b, GFP_ATOMIC).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let pushed = match q.blocks.last_mut() {
            Some(b) => b.push(ev, GFP_ATOMIC).is_ok(),
            None => false,
        };
        if !pushed {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Applies the queued events to the FIBs.
    fn process(&self, st: &super::State) {
        loop {
            let blocks = {
                let mut q = self.queue.lock();
                core::mem::take(&mut q.blocks)
            };
            if blocks.is_empty() {
                return;
            }
            let mut inner = st.inner.lock();
            for ev in blocks.iter().flat_map(|b| b.iter()) {
                let Some(fib) = self.fib_of(ev.table) else {
                    continue;
                };
                let _ = match (ev.del, ev.v6) {
                    (true, false) => inner.del_route::<u32>(fib, ev.dst as u32, ev.len),
                    (true, true) => inner.del_route::<u128>(fib, ev.dst, ev.len),
                    (false, false) => {
                        inner.add_route::<u32>(fib, ev.dst as u32, ev.len, &ev.nh, true)
                    }
                    (false, true) => inner.add_route::<u128>(fib, ev.dst, ev.len, &ev.nh, true),
                };
                self.applied.fetch_add(1, Ordering::Relaxed);
            }
            inner.kick();
        }
    }

    /// Unregisters every block and waits for the work item; before the
    /// state goes.
    pub(crate) fn stop(&self) {
        for i in 0..MAX_MIRRORS {
            self.release(i);
        }
        self.work.cancel_sync();
    }
}

#[pinned_drop]
impl PinnedDrop for Mirror {
    fn drop(self: Pin<&mut Self>) {
        self.stop();
    }
}

/// The work item: applies queued events.
///
/// # Safety
///
/// Called by the workqueue for the module's work item.
unsafe extern "C" fn mirror_work(_w: *mut bindings::work_struct) {
    if let Some(st) = super::state() {
        st.mirror.process(st);
    }
}

/// Translates an IPv4 FIB entry notification into an [`Ev`].
///
/// # Safety
///
/// `info` must be a live `fib_entry_notifier_info` of family `AF_INET`.
unsafe fn entry_ev(info: *const bindings::fib_entry_notifier_info, del: bool) -> Option<Ev> {
    // SAFETY: the caller guarantees `info` is live.
    let info = unsafe { &*info };
    let len = u8::try_from(info.dst_len).ok()?;
    if info.dscp != 0 {
        return None;
    }
    let rtype = rtype_of(u32::from(info.type_))?;
    let mut nh = Nexthop {
        rtype,
        gw_len: 0,
        gw: [0; 16],
        oif: 0,
        metric: 0,
    };
    if rtype == RouteType::Unicast && !del {
        if info.fi.is_null() {
            return None;
        }
        // SAFETY: `fi` is live for the notification; nexthop 0 exists
        // for a unicast route.
        let nhc = unsafe { bindings::fib_info_nhc(info.fi, 0) };
        if nhc.is_null() {
            return None;
        }
        // SAFETY: as above.
        let nhc = unsafe { &*nhc };
        nh.oif = u32::try_from(nhc.nhc_oif).unwrap_or(0);
        if u32::from(nhc.nhc_gw_family) == bindings::AF_INET {
            // SAFETY: the family says the union holds an IPv4 gateway.
            let gw = unsafe { nhc.nhc_gw.ipv4 };
            if let Some(d) = nh.gw.get_mut(..4) {
                d.copy_from_slice(&gw.to_ne_bytes());
            }
            nh.gw_len = 4;
        }
        // SAFETY: `fi` is live.
        nh.metric = unsafe { (*info.fi).fib_priority };
        if nh.gw_len == 0 && nh.oif == 0 {
            return None;
        }
    }
    Some(Ev {
        del,
        v6: false,
        table: info.tb_id,
        dst: u128::from(info.dst),
        len,
        nh,
    })
}

/// The route type of an `RTN_*` value, for the types a FIB holds.
fn rtype_of(t: u32) -> Option<RouteType> {
    match t {
        bindings::RTN_UNICAST => Some(RouteType::Unicast),
        bindings::RTN_BLACKHOLE => Some(RouteType::Blackhole),
        bindings::RTN_UNREACHABLE => Some(RouteType::Unreachable),
        bindings::RTN_PROHIBIT => Some(RouteType::Prohibit),
        _ => None,
    }
}

/// Translates an IPv6 FIB entry notification into an [`Ev`].
///
/// # Safety
///
/// `info` must be a live `fib6_entry_notifier_info` (family `AF_INET6`),
/// under the RCU read side the notifier chain holds.
unsafe fn entry6_ev(info: *const bindings::fib6_entry_notifier_info, del: bool) -> Option<Ev> {
    // SAFETY: the caller guarantees `info` is live, and with it its route
    // and the route's table.
    let rt = unsafe { (*info).rt.as_ref()? };
    // SAFETY: as above.
    let table = unsafe { rt.fib6_table.as_ref()? }.tb6_id;
    let len = u8::try_from(rt.fib6_dst.plen).ok().filter(|l| *l <= 128)?;
    // SAFETY: every bit pattern is a valid address.
    let dst = u128::from_be_bytes(unsafe { rt.fib6_dst.addr.in6_u.u6_addr8 });
    let rtype = rtype_of(u32::from(rt.fib6_type))?;
    let mut nh = Nexthop {
        rtype,
        gw_len: 0,
        gw: [0; 16],
        oif: 0,
        metric: rt.fib6_metric,
    };
    if rtype == RouteType::Unicast && !del {
        // SAFETY: `rt` is live under RCU (caller).
        let f6 = unsafe { bindings::cgl_fib_fib6_nh(core::ptr::from_ref(rt).cast_mut()) };
        // SAFETY: the first nexthop of a live route, if any.
        let nhc = unsafe { &f6.as_ref()?.nh_common };
        nh.oif = u32::try_from(nhc.nhc_oif).unwrap_or(0);
        if u32::from(nhc.nhc_gw_family) == bindings::AF_INET6 {
            // SAFETY: the family says the union holds an IPv6 gateway.
            nh.gw = unsafe { nhc.nhc_gw.ipv6.in6_u.u6_addr8 };
            nh.gw_len = 16;
        }
        if nh.gw_len == 0 && nh.oif == 0 {
            return None;
        }
    }
    Some(Ev {
        del,
        v6: true,
        table,
        dst,
        len,
        nh,
    })
}

/// The FIB notifier callback of a mirror's block: queues the events of
/// its table.
///
/// # Safety
///
/// Called by the FIB notifier chain with `data` a live
/// `fib_notifier_info`.
unsafe extern "C" fn fib_event(
    nb: *mut bindings::notifier_block,
    action: kernel::ffi::c_ulong,
    data: *mut kernel::ffi::c_void,
) -> kernel::ffi::c_int {
    let Some(st) = super::state() else {
        return bindings::NOTIFY_DONE as _;
    };
    // Only the events of this block's table.
    let mine = st.mirror.table_of_block(nb);
    let info = data.cast::<bindings::fib_notifier_info>();
    if info.is_null() || mine == 0 {
        return bindings::NOTIFY_DONE as _;
    }
    // SAFETY: the chain passes a live `fib_notifier_info`.
    let family = unsafe { (*info).family };
    let del = match action as u32 {
        bindings::fib_event_type_FIB_EVENT_ENTRY_REPLACE => false,
        bindings::fib_event_type_FIB_EVENT_ENTRY_DEL => true,
        _ => return bindings::NOTIFY_DONE as _,
    };
    if family == bindings::AF_INET6 as i32 {
        // SAFETY: entry events of AF_INET6 carry a
        // `fib6_entry_notifier_info`, live for the call, under RCU.
        let ev = unsafe { entry6_ev(info.cast(), del) };
        if let Some(ev) = ev.filter(|e| e.table == mine) {
            st.mirror.push(ev);
            st.mirror.work.queue(false);
        }
        return bindings::NOTIFY_DONE as _;
    }
    if family != bindings::AF_INET as i32 {
        return bindings::NOTIFY_DONE as _;
    }
    let entry = info.cast::<bindings::fib_entry_notifier_info>();
    // SAFETY: entry events of AF_INET carry a `fib_entry_notifier_info`,
    // whose first member is the `fib_notifier_info`.
    let table = unsafe { (*entry).tb_id };
    if table != mine {
        return bindings::NOTIFY_DONE as _;
    }
    // SAFETY: as above.
    if let Some(ev) = unsafe { entry_ev(entry, del) } {
        st.mirror.push(ev);
        st.mirror.work.queue(false);
    }
    bindings::NOTIFY_DONE as _
}
