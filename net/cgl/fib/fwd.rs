// SPDX-License-Identifier: GPL-2.0

//! Forwarding: an interface bound to a FIB (a [`Port`]) has its IPv4,
//! IPv6 and ARP packets handled here, before the host's stack sees them.
//!
//! The rx handler looks the destination up in the port's FIB without a
//! lock (the tries and nexthops through [`Readers`], under the RCU read
//! side the core holds around rx handlers), checks and decrements the
//! TTL/hop limit, resolves the nexthop in the FIB's own neighbour table
//! ([`super::neigh`]) and sends the packet out of the route's interface,
//! which must be bound to the same FIB: two customers with the same
//! addresses on ports of different FIBs never meet. ICMP errors and echo
//! replies come from the router's addresses on the port; ARP requests and
//! neighbour solicitations for them are answered. Packet formats live in
//! [`super::pkt`], so all byte work is host-tested.
//!
//! Locking:
//! - ports are created and freed under RTNL and `ports` (in that order);
//!   a device's `rx_handler_data` points at its port, which is freed only
//!   after `netdev_rx_handler_unregister()` and `synchronize_net()`;
//! - the neighbour table and the packet queues of its entries are under
//!   `neigh`, a spinlock taken with interrupts off; nothing is sent or
//!   freed under it but through `dev_kfree_skb_any`;
//! - `ports` is never held while taking RTNL or the module mutex.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Mutex;

use super::arena::ArenaView;
use super::lpm::Reader;
use super::neigh::{self, Confirm, Event, Key as NKey, NeighError, Resolve};
use super::nexthop::{Nexthop, NexthopView, RouteType};
use super::pkt::{self, Icmp6Error, IcmpError};
use super::skb::{Skb, ETH_HLEN};
use super::{event_id, state, Fail, Inner, State, SUBSYS};
use cgl_core::event::Severity;
use cgl_core::hrtimer::{now_ns, HrTimer, HrTimerCallback, Restart};
use cgl_core::sync::SpinLockIrq;
use cgl_core::{cgl_event, impl_has_hrtimer};

const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST: [u8; 6] = [0xff; 6];
/// `ARPHRD_ETHER` (uapi `if_arp.h`).
const ARPHRD_ETHER: u16 = 1;

/// Router addresses per family on a port (`CGL_FIB_PORT_ADDRS`).
pub(crate) const PORT_ADDRS: usize = 8;
/// Packets queued per unresolved neighbour.
const QLEN: usize = 3;
/// Neighbours of all FIBs (`CGL_FIB_NEIGH_MAX`).
pub(crate) const NEIGH_MAX: usize = 16384;
/// Default neighbours per FIB (`CGL_FIB_NEIGH_LIMIT_DEFAULT`).
pub(crate) const NEIGH_LIMIT_DEFAULT: u32 = 1024;
/// Neighbour ageing period.
const TICK_MS: u64 = 100;
/// Entries aged per tick: a sweep of the whole table takes
/// `NEIGH_MAX / TICK_ENTRIES * TICK_MS` (0.8 s).
const TICK_ENTRIES: u32 = 2048;
/// ICMP errors a port sends per 100 ms at most.
const ICMP_PER_WINDOW: u32 = 100;

/// Port counters, as `enum cgl_fib_stat` (minus one).
#[derive(Clone, Copy)]
#[repr(usize)]
pub(crate) enum Stat {
    Rx,
    Forwarded,
    Local,
    NoRoute,
    Ttl,
    Blackhole,
    TooBig,
    Unresolved,
    Drops,
    Icmp,
    Arp,
}

/// Number of counters.
pub(crate) const NSTATS: usize = 11;

/// An interface bound to a FIB.
pub(crate) struct Port {
    pub(crate) fib: u32,
    pub(crate) ifindex: u32,
    /// Valid while bound: the port is unbound (under RTNL) before the
    /// device unregisters.
    pub(crate) dev: *mut bindings::net_device,
    pub(crate) addr4: KVec<([u8; 4], u8)>,
    pub(crate) addr6: KVec<([u8; 16], u8)>,
    pub(crate) stats: [AtomicU64; NSTATS],
    icmp_window: AtomicU64,
    icmp_sent: AtomicU32,
}

// SAFETY: `dev` is only dereferenced while the port is bound (see the
// field); everything else is immutable or atomic.
unsafe impl Send for Port {}
// SAFETY: as above.
unsafe impl Sync for Port {}

/// Whether `a` lies in `p/len` (the first `len` bits equal).
fn covers(p: &[u8], len: u8, a: &[u8]) -> bool {
    let mut bits = u32::from(len);
    for (x, y) in p.iter().zip(a) {
        if bits == 0 {
            return true;
        }
        let m = if bits >= 8 {
            0xff
        } else {
            0xffu8 << (8 - bits)
        };
        if (x ^ y) & m != 0 {
            return false;
        }
        bits = bits.saturating_sub(8);
    }
    true
}

impl Port {
    /// A port of `fib` on interface `ifindex` with the given addresses.
    pub(crate) fn new(
        fib: u32,
        ifindex: u32,
        addr4: KVec<([u8; 4], u8)>,
        addr6: KVec<([u8; 16], u8)>,
    ) -> Self {
        Self {
            fib,
            ifindex,
            dev: core::ptr::null_mut(),
            addr4,
            addr6,
            stats: [const { AtomicU64::new(0) }; NSTATS],
            icmp_window: AtomicU64::new(0),
            icmp_sent: AtomicU32::new(0),
        }
    }

    fn count(&self, s: Stat) {
        if let Some(c) = self.stats.get(s as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn owns4(&self, a: [u8; 4]) -> bool {
        self.addr4.iter().any(|(x, _)| *x == a)
    }

    fn owns6(&self, a: [u8; 16]) -> bool {
        self.addr6.iter().any(|(x, _)| *x == a)
    }

    /// The port's address to speak to `peer` from: one whose subnet holds
    /// it, else the first.
    fn src4(&self, peer: [u8; 4]) -> Option<[u8; 4]> {
        self.addr4
            .iter()
            .find(|(a, l)| covers(a, *l, &peer))
            .or(self.addr4.first())
            .map(|(a, _)| *a)
    }

    fn src6(&self, peer: [u8; 16]) -> Option<[u8; 16]> {
        self.addr6
            .iter()
            .find(|(a, l)| covers(a, *l, &peer))
            .or(self.addr6.first())
            .map(|(a, _)| *a)
    }

    fn mac(&self) -> [u8; 6] {
        let mut m = [0u8; 6];
        // SAFETY: the port is bound, so `dev` is live; an Ethernet device
        // address has 6 bytes.
        unsafe {
            core::ptr::copy_nonoverlapping(bindings::cgl_fib_dev_addr(self.dev), m.as_mut_ptr(), 6)
        };
        m
    }

    fn mtu(&self) -> usize {
        // SAFETY: the port is bound, so `dev` is live.
        unsafe { bindings::cgl_fib_dev_mtu(self.dev) as usize }
    }

    /// Rate limit of ICMP errors: `ICMP_PER_WINDOW` per 100 ms.
    fn icmp_allowed(&self, now_ms: u64) -> bool {
        let w = now_ms / 100;
        if self.icmp_window.swap(w, Ordering::Relaxed) != w {
            self.icmp_sent.store(0, Ordering::Relaxed);
        }
        self.icmp_sent.fetch_add(1, Ordering::Relaxed) < ICMP_PER_WINDOW
    }
}

/// Read handles of the tries and nexthops for the forwarding path.
pub(crate) struct Readers {
    v4: (Reader<u32>, ArenaView<u64>, ArenaView<u32>),
    v6: (Reader<u128>, ArenaView<u64>, ArenaView<u32>),
    nh: NexthopView,
}

impl Readers {
    /// Handles onto `inner`'s storage, which never moves (the arenas'
    /// chunks and directories are fixed) and outlives the forwarding path.
    pub(crate) fn new(inner: &Inner) -> Self {
        Self {
            v4: (
                inner.v4.reader(),
                inner.v4.nodes().view(),
                inner.v4.results().view(),
            ),
            v6: (
                inner.v6.reader(),
                inner.v6.nodes().view(),
                inner.v6.results().view(),
            ),
            nh: inner.nh.view(),
        }
    }

    /// The nexthop forwarding IPv4 address `a` in FIB `fib`, if any
    /// (the caller holds the RCU read lock).
    pub(crate) fn route4(&self, fib: u32, a: [u8; 4]) -> Option<Nexthop> {
        let (r, n, res) = &self.v4;
        let id = r.lookup(n, res, fib, u32::from_be_bytes(a))?;
        self.nh.get(id)
    }

    /// The nexthop forwarding IPv6 address `a` in FIB `fib`, if any
    /// (the caller holds the RCU read lock).
    pub(crate) fn route6(&self, fib: u32, a: [u8; 16]) -> Option<Nexthop> {
        let (r, n, res) = &self.v6;
        let id = r.lookup(n, res, fib, u128::from_be_bytes(a))?;
        self.nh.get(id)
    }
}

/// Packets waiting for one neighbour.
#[derive(Clone, Copy)]
struct Queue {
    skbs: [*mut bindings::sk_buff; QLEN],
    n: usize,
}

impl Queue {
    const EMPTY: Self = Self {
        skbs: [core::ptr::null_mut(); QLEN],
        n: 0,
    };
}

/// The neighbour tables of all FIBs, and the packets their unresolved
/// entries hold (by entry index).
pub(crate) struct Neigh {
    pub(crate) table: neigh::Table<KVec<neigh::Entry>, KVec<neigh::FibCount>>,
    queues: KVec<Queue>,
    /// Where the next ageing pass starts.
    cursor: u32,
}

// SAFETY: the queued skbs are owned by the table; they are freed or sent
// by whoever holds the lock.
unsafe impl Send for Neigh {}

/// Frees an skb from any context (the neighbour lock has interrupts off).
fn free_any(skb: *mut bindings::sk_buff) {
    if !skb.is_null() {
        // SAFETY: the caller owns `skb`; this variant is safe with
        // interrupts off.
        unsafe {
            bindings::dev_kfree_skb_any_reason(
                skb,
                bindings::skb_drop_reason_SKB_DROP_REASON_NEIGH_FAILED,
            )
        };
    }
}

impl Neigh {
    fn new() -> Result<Self> {
        let mut entries = KVec::with_capacity(NEIGH_MAX, GFP_KERNEL)?;
        entries.extend_with(NEIGH_MAX, neigh::Entry::EMPTY, GFP_KERNEL)?;
        let mut fibs = KVec::with_capacity(2 * NEIGH_MAX, GFP_KERNEL)?;
        fibs.extend_with(2 * NEIGH_MAX, neigh::FibCount::EMPTY, GFP_KERNEL)?;
        let mut queues = KVec::with_capacity(NEIGH_MAX, GFP_KERNEL)?;
        queues.extend_with(NEIGH_MAX, Queue::EMPTY, GFP_KERNEL)?;
        // SAFETY: no preconditions.
        let seed = unsafe { bindings::get_random_u64() };
        Ok(Self {
            table: neigh::Table::new(entries, fibs, NEIGH_LIMIT_DEFAULT, seed),
            queues,
            cursor: 0,
        })
    }

    /// Takes the packets queued on entry `idx`.
    fn take(&mut self, idx: u32) -> Queue {
        match self.queues.get_mut(idx as usize) {
            Some(q) => core::mem::replace(q, Queue::EMPTY),
            None => Queue::EMPTY,
        }
    }

    /// Queues `skb` on entry `idx`; the oldest packet makes room.
    fn push(&mut self, idx: u32, skb: *mut bindings::sk_buff) {
        let Some(q) = self.queues.get_mut(idx as usize) else {
            free_any(skb);
            return;
        };
        if q.n >= QLEN {
            free_any(q.skbs[0]);
            q.skbs.rotate_left(1);
            q.n = QLEN - 1;
        }
        if let Some(s) = q.skbs.get_mut(q.n) {
            *s = skb;
            q.n += 1;
        }
    }

    /// Drops the packets of entry `idx`.
    fn purge(&mut self, idx: u32) {
        let q = self.take(idx);
        for &s in q.skbs.iter().take(q.n) {
            free_any(s);
        }
    }

    /// Deletes the entries `f` selects, with their packets.
    fn delete_where(&mut self, f: impl FnMut(&neigh::Entry) -> bool) {
        let Neigh { table, queues, .. } = self;
        table.delete_where(f, |idx, _| {
            if let Some(q) = queues.get_mut(idx as usize) {
                let q = core::mem::replace(q, Queue::EMPTY);
                q.skbs.iter().take(q.n).for_each(|&s| free_any(s));
            }
        });
    }
}

impl Drop for Neigh {
    fn drop(&mut self) {
        for i in 0..self.queues.len() {
            self.purge(i as u32);
        }
    }
}

/// Removes entry `at` of the port registry (order does not matter).
fn take_port(ports: &mut KVec<PortRef>, at: usize) -> Option<PortRef> {
    let last = ports.len().checked_sub(1)?;
    if at > last {
        return None;
    }
    ports.swap(at, last);
    let p = *ports.get(last)?;
    // SAFETY: `PortRef` is `Copy`; the last element was copied out.
    unsafe { ports.set_len(last) };
    Some(p)
}

/// A bound port in the registry.
#[derive(Clone, Copy)]
struct PortRef(*mut Port);
// SAFETY: ports are shared with the rx path; the registry only owns them.
unsafe impl Send for PortRef {}

/// The forwarding state.
#[pin_data(PinnedDrop)]
pub(crate) struct Fwd {
    pub(crate) readers: Readers,
    #[pin]
    pub(crate) neigh: SpinLockIrq<Neigh>,
    /// Bound ports (owned: `KBox::into_raw`).
    #[pin]
    ports: Mutex<KVec<PortRef>>,
    nports: AtomicU32,
    #[pin]
    timer: HrTimer<Fwd, 0>,
    #[pin]
    work: cgl_core::work::WorkItem,
    timer_on: AtomicBool,
}

impl_has_hrtimer!(impl HasHrTimer<0> for Fwd { self.timer });

impl HrTimerCallback<0> for Fwd {
    fn expired(&self) -> Restart {
        self.work.queue(false);
        if self.nports.load(Ordering::Acquire) == 0 && !super::accel_pending() {
            self.timer_on.store(false, Ordering::Release);
            return Restart::No;
        }
        self.timer
            .forward_ns(now_ns().saturating_add(TICK_MS * 1_000_000));
        Restart::Yes
    }
}

/// Milliseconds on the jiffies clock: the packet path reads it once per
/// packet, and a load of `jiffies_64` costs nothing where a clocksource
/// read may (HPET or ACPI PM timer: a trapped device access under
/// emulation). Tick resolution (1 to 10 ms) is plenty for neighbour and
/// ICMP rate timing.
pub(crate) fn now_ms() -> u64 {
    // SAFETY: `jiffies_64` always exists; on 64-bit kernels (the only
    // ones this module builds for, see Kconfig) a 64-bit load of it is
    // atomic.
    let j = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::jiffies_64)) };
    // SAFETY: a pure conversion.
    unsafe { bindings::jiffies64_to_msecs(j) }
}

impl Fwd {
    /// The forwarding state over `inner`'s tries.
    pub(crate) fn new(inner: &Inner) -> Result<impl PinInit<Self, Error>> {
        let neigh = Neigh::new()?;
        let readers = Readers::new(inner);
        Ok(try_pin_init!(Self {
            readers,
            neigh <- cgl_core::new_spinlock_irq!(neigh, "cgl_fib_neigh"),
            ports <- kernel::new_mutex!(KVec::new(), "cgl_fib_ports"),
            nports: AtomicU32::new(0),
            timer <- HrTimer::new(),
            work <- cgl_core::new_work_item!(tick_work, "cgl_fib_neigh"),
            timer_on: AtomicBool::new(false),
        }? Error))
    }

    pub(crate) fn start_timer(&self) {
        if !self.timer_on.swap(true, Ordering::AcqRel) {
            self.timer.start_in_ns(TICK_MS * 1_000_000);
        }
    }

    /// Calls `f` for each bound port (under `ports`).
    pub(crate) fn for_each_port(&self, mut f: impl FnMut(&Port) -> bool) {
        let ports = self.ports.lock();
        for p in ports.iter() {
            // SAFETY: registered ports live until removed from `ports`,
            // which is locked.
            if !f(unsafe { &*p.0 }) {
                break;
            }
        }
    }

    /// Whether any port is bound to `fib`.
    pub(crate) fn fib_busy(&self, fib: u32) -> bool {
        let mut busy = false;
        self.for_each_port(|p| {
            busy |= p.fib == fib;
            !busy
        });
        busy
    }

    /// Sums the counters of `fib`'s ports.
    pub(crate) fn fib_stats(&self, fib: u32) -> [u64; NSTATS] {
        let mut s = [0u64; NSTATS];
        self.for_each_port(|p| {
            if p.fib == fib {
                for (a, c) in s.iter_mut().zip(p.stats.iter()) {
                    *a += c.load(Ordering::Relaxed);
                }
            }
            true
        });
        s
    }
}

#[pinned_drop]
impl PinnedDrop for Fwd {
    fn drop(self: Pin<&mut Self>) {
        self.timer.cancel();
        self.work.cancel_sync();
    }
}

/// Holds RTNL.
struct Rtnl;

impl Rtnl {
    fn lock() -> Self {
        // SAFETY: process context, no locks of ours held (lock order).
        unsafe { bindings::rtnl_lock() };
        Self
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: taken in `lock`.
        unsafe { bindings::rtnl_unlock() };
    }
}

fn init_net() -> *mut bindings::net {
    // `init_net` lives for ever.
    core::ptr::addr_of_mut!(bindings::init_net)
}

/// The port of device `dev`, if it is bound. Caller holds RCU or RTNL.
fn dev_port<'a>(dev: *mut bindings::net_device) -> Option<&'a Port> {
    if dev.is_null() {
        return None;
    }
    // SAFETY: `dev` is live (caller); a device whose rx handler is ours
    // has a live port as its handler data until the port is unbound,
    // which waits for RCU readers.
    unsafe { (bindings::cgl_fib_dev_port(dev, Some(rx_handler)) as *const Port).as_ref() }
}

/// The port of interface `ifindex`, if bound. Caller holds RCU.
fn port_of<'a>(ifindex: u32) -> Option<&'a Port> {
    let i = i32::try_from(ifindex).ok()?;
    // SAFETY: the caller holds the RCU read side.
    dev_port(unsafe { bindings::dev_get_by_index_rcu(init_net(), i) })
}

/// Binds interface `ifindex` to FIB `fib` with `port`'s addresses;
/// replaces an existing binding of the interface.
pub(crate) fn bind(st: &State, mut port: KBox<Port>) -> core::result::Result<(), Fail> {
    let ifindex = port.ifindex;
    let i = i32::try_from(ifindex).map_err(|_| (ENODEV, c_str!("no such interface")))?;
    let mut old = None;
    {
        let _rtnl = Rtnl::lock();
        let mut ports = st.fwd.ports.lock();
        ports
            .reserve(1, GFP_KERNEL)
            .map_err(|_| (ENOMEM, c_str!("out of memory")))?;
        // SAFETY: RTNL held: the device cannot go away meanwhile.
        let dev = unsafe { bindings::__dev_get_by_index(init_net(), i) };
        if dev.is_null() {
            return Err((ENODEV, c_str!("no such interface")));
        }
        // SAFETY: `dev` is live under RTNL.
        let (ty, addr_len, flags) = unsafe { ((*dev).type_, (*dev).addr_len, (*dev).flags) };
        if ty != ARPHRD_ETHER
            || addr_len != 6
            || flags & bindings::net_device_flags_IFF_LOOPBACK != 0
        {
            return Err((
                Error::from_errno(-(bindings::EOPNOTSUPP as i32)),
                c_str!("only Ethernet interfaces can be bound"),
            ));
        }
        port.dev = dev;
        if let Some(p) = dev_port(dev) {
            // Rebinding: the new port takes over the handler data.
            let at = ports.iter().position(|r| core::ptr::eq(r.0, p));
            // SAFETY: RTNL held; `dev` has our handler.
            unsafe { bindings::netdev_rx_handler_unregister(dev) };
            if let Some(at) = at {
                old = take_port(&mut ports, at);
            }
        }
        let raw = KBox::into_raw(port);
        // SAFETY: RTNL held; `raw` lives until unbound (the registry
        // owns it).
        let rc = unsafe { bindings::netdev_rx_handler_register(dev, Some(rx_handler), raw.cast()) };
        if rc != 0 {
            // SAFETY: `raw` came from `KBox::into_raw` just above and
            // was never published.
            drop(unsafe { KBox::from_raw(raw) });
            if let Some(o) = old.take() {
                // Put the old binding back as it was.
                // SAFETY: as above, for the old port.
                if unsafe {
                    bindings::netdev_rx_handler_register(dev, Some(rx_handler), o.0.cast())
                } == 0
                {
                    let _ = ports.push(o, GFP_KERNEL);
                } else {
                    old = Some(o);
                }
            }
            if old.is_none() {
                return Err((
                    EBUSY,
                    c_str!("interface has another rx handler (bridge, bond, macvlan...)"),
                ));
            }
        } else {
            // Capacity reserved above: cannot fail.
            let _ = ports.push(PortRef(raw), GFP_KERNEL);
        }
        st.fwd.nports.store(ports.len() as u32, Ordering::Release);
    }
    if let Some(o) = old {
        retire_port(st, o);
    }
    st.fwd.start_timer();
    Ok(())
}

/// Frees an unregistered port after the rx path is done with it, with its
/// neighbours.
fn retire_port(st: &State, p: PortRef) {
    // SAFETY: process context.
    unsafe { bindings::synchronize_net() };
    // SAFETY: unregistered and removed from the registry; after the grace
    // period nobody else holds it.
    let port = unsafe { KBox::from_raw(p.0) };
    let ifindex = port.ifindex;
    st.fwd.neigh.lock().delete_where(|e| e.ifindex == ifindex);
}

/// Unbinds interface `ifindex`.
pub(crate) fn unbind(st: &State, ifindex: u32) -> core::result::Result<(), Fail> {
    let p = {
        let _rtnl = Rtnl::lock();
        let mut ports = st.fwd.ports.lock();
        let at = ports
            .iter()
            // SAFETY: registered ports are live under `ports`.
            .position(|r| unsafe { (*r.0).ifindex } == ifindex)
            .ok_or((ENOENT, c_str!("interface is not bound")))?;
        let p = take_port(&mut ports, at).ok_or((EIO, c_str!("port registry corrupt")))?;
        // SAFETY: RTNL held; the port is bound, so its device is live and
        // has our handler.
        unsafe { bindings::netdev_rx_handler_unregister((*p.0).dev) };
        st.fwd.nports.store(ports.len() as u32, Ordering::Release);
        p
    };
    retire_port(st, p);
    Ok(())
}

/// Unbinds every port (module exit).
pub(crate) fn unbind_all(st: &State) {
    loop {
        let mut first = None;
        st.fwd.for_each_port(|p| {
            first = Some(p.ifindex);
            false
        });
        match first {
            Some(i) => {
                let _ = unbind(st, i);
            }
            None => break,
        }
    }
}

/// `NETDEV_UNREGISTER`: unbinds a device that goes away (RTNL is held).
pub(crate) fn dev_unregister(st: &State, dev: *mut bindings::net_device) {
    let Some(port) = dev_port(dev) else {
        return;
    };
    let p = {
        let mut ports = st.fwd.ports.lock();
        let Some(at) = ports.iter().position(|r| core::ptr::eq(r.0, port)) else {
            return;
        };
        let Some(p) = take_port(&mut ports, at) else {
            return;
        };
        // SAFETY: RTNL held by the notifier chain; `dev` has our handler.
        unsafe { bindings::netdev_rx_handler_unregister(dev) };
        st.fwd.nports.store(ports.len() as u32, Ordering::Release);
        p
    };
    retire_port(st, p);
}

/// Work item: ages neighbours, sends due solicitations, fails
/// unanswered ones.
///
/// # Safety
///
/// Called by the workqueue for the forwarding state's work item.
unsafe extern "C" fn tick_work(_w: *mut bindings::work_struct) {
    let Some(st) = state() else {
        return;
    };
    if super::accel_pending() {
        st.inner.lock().build_accels();
    }
    let now = now_ms();
    const MAX: usize = 32;
    let mut probes = [(NKey::v4(0, [0; 4]), 0u32); MAX];
    let mut np = 0usize;
    let mut failed = [core::ptr::null_mut::<bindings::sk_buff>(); MAX];
    let mut nf = 0usize;
    let mut fail_events = 0u32;
    {
        let mut n = st.fwd.neigh.lock();
        let Neigh {
            table,
            queues,
            cursor,
        } = &mut *n;
        *cursor = table.tick_part(now, *cursor, TICK_ENTRIES, |ev| match ev {
            Event::Probe { key, ifindex, .. } => {
                if let Some(s) = probes.get_mut(np) {
                    *s = (key, ifindex);
                    np += 1;
                }
            }
            Event::Failed { idx, .. } | Event::Freed { idx, .. } => {
                if matches!(ev, Event::Failed { .. }) {
                    fail_events += 1;
                }
                if let Some(q) = queues.get_mut(idx as usize) {
                    let q = core::mem::replace(q, Queue::EMPTY);
                    for &s in q.skbs.iter().take(q.n) {
                        match failed.get_mut(nf) {
                            Some(slot) => {
                                *slot = s;
                                nf += 1;
                            }
                            None => free_any(s),
                        }
                    }
                }
            }
        });
    }
    // SAFETY: process context; the RCU read side covers the ports and
    // devices used below, and bottom halves are off as on the rx path.
    unsafe {
        bindings::local_bh_disable();
        bindings::rcu_read_lock();
    }
    for &(key, ifindex) in probes.iter().take(np) {
        if let Some(out) = port_of(ifindex) {
            solicit(out, &key);
        }
    }
    for &s in failed.iter().take(nf) {
        // SAFETY: taken off the queue above: ours.
        if let Some(skb) = unsafe { Skb::from_raw(s) } {
            if let Some(port) = dev_port(skb.dev()) {
                let cx = Cx { st, port, now };
                cx.unresolved(&skb);
            }
        }
    }
    // SAFETY: taken above.
    unsafe {
        bindings::rcu_read_unlock();
        bindings::local_bh_enable();
    }
    if fail_events > 0 {
        let _ = cgl_event!(
            Severity::Warning,
            SUBSYS,
            event_id::NEIGH_FAILED,
            "{} neighbour(s) did not answer {} solicitations",
            fail_events,
            neigh::MAX_PROBES
        );
    }
}

/// Sends an ARP request or a neighbour solicitation for `key` out of
/// `out`. RCU read side held.
fn solicit(out: &Port, key: &NKey) {
    let mac = out.mac();
    if key.v6 {
        let target = key.addr;
        let Some(src) = out.src6(target) else {
            return;
        };
        let Some(mut skb) = Skb::alloc(out.dev, 128) else {
            return;
        };
        let Some(buf) = skb.put(128) else {
            return;
        };
        let Some(n) = pkt::ndp_build_ns(buf, src, target, mac) else {
            return;
        };
        skb.trim(n as u32);
        let dst = pkt::ipv6_mcast_mac(pkt::solicited_node(target));
        // SAFETY: RCU read side held on a bound port's device.
        unsafe { skb.xmit(out.dev, ETH_P_IPV6, &dst) };
    } else {
        let tpa = [key.addr[0], key.addr[1], key.addr[2], key.addr[3]];
        let Some(spa) = out.src4(tpa) else {
            return;
        };
        let Some(mut skb) = Skb::alloc(out.dev, pkt::ARP_LEN as u32) else {
            return;
        };
        let Some(buf) = skb.put(pkt::ARP_LEN as u32) else {
            return;
        };
        let a = pkt::Arp {
            op: pkt::ARP_REQUEST,
            sha: mac,
            spa,
            tha: [0; 6],
            tpa,
        };
        if pkt::arp_build(buf, &a).is_none() {
            return;
        }
        // SAFETY: RCU read side held on a bound port's device.
        unsafe { skb.xmit(out.dev, ETH_P_ARP, &BROADCAST) };
    }
}

/// One received packet's context.
struct Cx<'a> {
    st: &'a State,
    /// The port it came in on.
    port: &'a Port,
    now: u64,
}

/// The source Ethernet address of a frame header.
fn eth_src(eth: &[u8; ETH_HLEN]) -> [u8; 6] {
    [eth[6], eth[7], eth[8], eth[9], eth[10], eth[11]]
}

impl Cx<'_> {
    fn count(&self, s: Stat) {
        self.port.count(s);
    }

    /// Sends `skb` back out of the ingress port to `dst`.
    fn reply(&self, skb: Skb, proto: u16, dst: &[u8; 6]) {
        // SAFETY: the rx path holds the RCU read side; the port is bound.
        unsafe { skb.xmit(self.port.dev, proto, dst) };
    }

    /// Answers `orig` (received with Ethernet header `eth`) with an ICMP
    /// error from the port's address.
    fn icmp4(&self, orig: &Skb, src_mac: [u8; 6], kind: IcmpError) {
        let Ok(ip) = pkt::ipv4_parse(orig.data()) else {
            return;
        };
        let Some(src) = self.port.src4(ip.src) else {
            return;
        };
        if !self.port.icmp_allowed(self.now) {
            return;
        }
        let Some(mut skb) = Skb::alloc(self.port.dev, pkt::ICMP4_ERROR_MAX as u32) else {
            return;
        };
        let Some(buf) = skb.put(pkt::ICMP4_ERROR_MAX as u32) else {
            return;
        };
        let Some(n) = pkt::icmp4_error(buf, orig.data(), src, kind) else {
            return;
        };
        skb.trim(n as u32);
        self.count(Stat::Icmp);
        self.reply(skb, ETH_P_IP, &src_mac);
    }

    fn icmp6(&self, orig: &Skb, src_mac: [u8; 6], kind: Icmp6Error) {
        let Ok(ip) = pkt::ipv6_parse(orig.data()) else {
            return;
        };
        let Some(src) = self.port.src6(ip.src) else {
            return;
        };
        if !self.port.icmp_allowed(self.now) {
            return;
        }
        let Some(mut skb) = Skb::alloc(self.port.dev, pkt::ICMP6_ERROR_MAX as u32) else {
            return;
        };
        let Some(buf) = skb.put(pkt::ICMP6_ERROR_MAX as u32) else {
            return;
        };
        let Some(n) = pkt::icmp6_error(buf, orig.data(), src, kind) else {
            return;
        };
        skb.trim(n as u32);
        self.count(Stat::Icmp);
        self.reply(skb, ETH_P_IPV6, &src_mac);
    }

    /// A packet whose neighbour did not resolve: host unreachable.
    fn unresolved(&self, skb: &Skb) {
        self.count(Stat::Unresolved);
        let Some(eth) = skb.eth_header() else {
            return;
        };
        match u16::from_be_bytes([eth[12], eth[13]]) {
            ETH_P_IP => self.icmp4(skb, eth_src(&eth), IcmpError::HostUnreachable),
            ETH_P_IPV6 => self.icmp6(skb, eth_src(&eth), Icmp6Error::AddrUnreachable),
            _ => {}
        }
    }

    /// Sends `skb` (TTL already decremented) to neighbour `key` on `out`.
    fn to_neighbour(&self, out: &Port, key: NKey, skb: Skb, proto: u16) {
        enum Next {
            Send(Skb, [u8; 6], bool),
            Queued(bool),
            Unreachable(Skb),
            Limit(Skb, NeighError),
        }
        let next = {
            let mut n = self.st.fwd.neigh.lock();
            match n.table.resolve(&key, out.ifindex, self.now) {
                Ok(Resolve::Use { mac }) => Next::Send(skb, mac, false),
                Ok(Resolve::UseAndProbe { mac, .. }) => Next::Send(skb, mac, true),
                Ok(Resolve::Queue { idx, probe }) => {
                    n.push(idx, skb.into_raw());
                    Next::Queued(probe)
                }
                Ok(Resolve::Unreachable) => Next::Unreachable(skb),
                Err(e) => Next::Limit(skb, e),
            }
        };
        match next {
            Next::Send(skb, mac, probe) => {
                out.count(Stat::Forwarded);
                // SAFETY: the rx path holds the RCU read side; `out` is a
                // bound port found under it.
                unsafe { skb_send(skb, out, proto, &mac) };
                if probe {
                    solicit(out, &key);
                }
            }
            Next::Queued(probe) => {
                if probe {
                    solicit(out, &key);
                }
            }
            Next::Unreachable(skb) => self.unresolved(&skb),
            Next::Limit(skb, e) => {
                self.unresolved(&skb);
                if matches!(e, NeighError::LimitFib | NeighError::Full) {
                    let _ = cgl_event!(
                        Severity::Warning,
                        SUBSYS,
                        event_id::LIMIT,
                        "FIB {}: neighbour limit reached ({})",
                        key.fib,
                        if matches!(e, NeighError::Full) {
                            "table full"
                        } else {
                            "per-FIB limit"
                        }
                    );
                }
            }
        }
    }

    /// Learns `key` at `mac` from ARP/NDP; sends what waited for it.
    fn learn(&self, key: NKey, mac: [u8; 6], create: bool) {
        let (r, q) = {
            let mut n = self.st.fwd.neigh.lock();
            let r = n
                .table
                .confirm(&key, mac, self.port.ifindex, self.now, create);
            match r {
                Confirm::Resolved { idx } => (r, n.take(idx)),
                _ => (r, Queue::EMPTY),
            }
        };
        if let Confirm::Limit(_) = r {
            self.count(Stat::Unresolved);
        }
        let proto = if key.v6 { ETH_P_IPV6 } else { ETH_P_IP };
        for &s in q.skbs.iter().take(q.n) {
            // SAFETY: taken off the queue: ours.
            if let Some(skb) = unsafe { Skb::from_raw(s) } {
                self.port.count(Stat::Forwarded);
                // SAFETY: RCU read side held; the entry's interface is
                // this port (the table keys it so).
                unsafe { skb_send(skb, self.port, proto, &mac) };
            }
        }
    }

    fn ipv4(&self, mut skb: Skb, eth: &[u8; ETH_HLEN]) {
        let port = self.port;
        if skb.pkt_type() != bindings::PACKET_HOST || skb.make_writable().is_err() {
            self.count(Stat::Drops);
            return;
        }
        let Ok(ip) = pkt::ipv4_parse(skb.data()) else {
            self.count(Stat::Drops);
            return;
        };
        if ip.tot_len < skb.data().len() {
            skb.trim(ip.tot_len as u32);
        }
        let src_mac = eth_src(eth);
        if port.owns4(ip.dst) {
            return self.local4(skb, src_mac);
        }
        let fib = port.fib;
        let readers = &self.st.fwd.readers;
        let Some(nh) = readers.route4(fib, ip.dst) else {
            self.count(Stat::NoRoute);
            return self.icmp4(&skb, src_mac, IcmpError::NetUnreachable);
        };
        let kind = match nh.rtype {
            RouteType::Unicast => None,
            RouteType::Blackhole => {
                self.count(Stat::Blackhole);
                return;
            }
            RouteType::Unreachable => Some(IcmpError::HostUnreachable),
            RouteType::Prohibit => Some(IcmpError::AdminProhibited),
        };
        if let Some(k) = kind {
            self.count(Stat::Blackhole);
            return self.icmp4(&skb, src_mac, k);
        }
        // The gateway (or, on a connected route, the destination) and
        // the interface: a route with a gateway and no interface takes
        // the gateway's route's interface.
        let next: [u8; 4] = match nh.gw_len {
            4 => [nh.gw[0], nh.gw[1], nh.gw[2], nh.gw[3]],
            _ => ip.dst,
        };
        let oif = if nh.oif != 0 {
            nh.oif
        } else {
            match readers.route4(fib, next) {
                Some(g) if g.rtype == RouteType::Unicast && g.oif != 0 => g.oif,
                _ => 0,
            }
        };
        let Some(out) = port_of(oif).filter(|o| o.fib == fib) else {
            // The route leaves the FIB: never forward across customers.
            self.count(Stat::NoRoute);
            return self.icmp4(&skb, src_mac, IcmpError::NetUnreachable);
        };
        if out.owns4(ip.dst) {
            return self.local4(skb, src_mac);
        }
        if ip.ttl <= 1 {
            self.count(Stat::Ttl);
            return self.icmp4(&skb, src_mac, IcmpError::TimeExceeded);
        }
        let mtu = out.mtu();
        if ip.tot_len > mtu {
            self.count(Stat::TooBig);
            if ip.df {
                let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
                self.icmp4(&skb, src_mac, IcmpError::FragNeeded { mtu });
            }
            return;
        }
        if !pkt::ipv4_dec_ttl(skb.data_mut()) {
            self.count(Stat::Drops);
            return;
        }
        self.to_neighbour(out, NKey::v4(fib, next), skb, ETH_P_IP);
    }

    /// A packet to one of the router's addresses: echo requests are
    /// answered; the rest is dropped (the router runs no services in a
    /// FIB).
    fn local4(&self, mut skb: Skb, src_mac: [u8; 6]) {
        self.count(Stat::Local);
        if pkt::icmp4_echo_reply(skb.data_mut()) {
            self.reply(skb, ETH_P_IP, &src_mac);
        }
    }

    fn local6(&self, mut skb: Skb, src_mac: [u8; 6]) {
        self.count(Stat::Local);
        if pkt::icmp6_echo_reply(skb.data_mut()) {
            self.reply(skb, ETH_P_IPV6, &src_mac);
        }
    }

    fn arp(&self, skb: Skb, eth: &[u8; ETH_HLEN]) {
        let Some(a) = pkt::arp_parse(skb.data()) else {
            self.count(Stat::Drops);
            return;
        };
        drop(skb);
        let ours = self.port.owns4(a.tpa);
        if a.spa != [0; 4] {
            // A request to us creates the sender's entry (it is about to
            // talk to us); anything else only refreshes one.
            self.learn(
                NKey::v4(self.port.fib, a.spa),
                a.sha,
                ours && a.op == pkt::ARP_REQUEST,
            );
        }
        if a.op != pkt::ARP_REQUEST || !ours {
            return;
        }
        let Some(mut r) = Skb::alloc(self.port.dev, pkt::ARP_LEN as u32) else {
            return;
        };
        let Some(buf) = r.put(pkt::ARP_LEN as u32) else {
            return;
        };
        let reply = pkt::Arp {
            op: pkt::ARP_REPLY,
            sha: self.port.mac(),
            spa: a.tpa,
            tha: a.sha,
            tpa: a.spa,
        };
        if pkt::arp_build(buf, &reply).is_some() {
            self.count(Stat::Arp);
            let dst = if a.sha == [0; 6] { eth_src(eth) } else { a.sha };
            self.reply(r, ETH_P_ARP, &dst);
        }
    }

    fn ndp(&self, m: pkt::Ndp, eth: &[u8; ETH_HLEN]) {
        let fib = self.port.fib;
        let ifindex = self.port.ifindex;
        match m {
            pkt::Ndp::Solicit { src, target, slla } => {
                if !self.port.owns6(target) {
                    return;
                }
                let dad = src == [0; 16];
                let (dst, dst_mac) = if dad {
                    (pkt::ALL_NODES, pkt::ipv6_mcast_mac(pkt::ALL_NODES))
                } else {
                    let mac = slla.unwrap_or(eth_src(eth));
                    self.learn(NKey::v6(fib, src, ifindex), mac, true);
                    (src, mac)
                };
                let Some(mut r) = Skb::alloc(self.port.dev, 128) else {
                    return;
                };
                let Some(buf) = r.put(128) else {
                    return;
                };
                let Some(n) = pkt::ndp_build_na(buf, target, dst, target, self.port.mac(), !dad)
                else {
                    return;
                };
                r.trim(n as u32);
                self.count(Stat::Arp);
                self.reply(r, ETH_P_IPV6, &dst_mac);
            }
            pkt::Ndp::Advert { target, tlla, .. } => {
                let mac = tlla.unwrap_or(eth_src(eth));
                self.learn(NKey::v6(fib, target, ifindex), mac, false);
            }
        }
    }

    fn ipv6(&self, mut skb: Skb, eth: &[u8; ETH_HLEN]) {
        let port = self.port;
        if skb.make_writable().is_err() {
            self.count(Stat::Drops);
            return;
        }
        let Ok(ip) = pkt::ipv6_parse(skb.data()) else {
            self.count(Stat::Drops);
            return;
        };
        if 40 + ip.payload_len < skb.data().len() {
            skb.trim((40 + ip.payload_len) as u32);
        }
        if ip.next_header == 58 {
            if let Some(m) = pkt::ndp_parse(skb.data()) {
                drop(skb);
                return self.ndp(m, eth);
            }
        }
        // Multicast (MLD, router solicitations, ...) and frames to
        // other hosts are not forwarded.
        if pkt::is_ipv6_multicast(ip.dst) || skb.pkt_type() != bindings::PACKET_HOST {
            self.count(Stat::Drops);
            return;
        }
        let src_mac = eth_src(eth);
        if port.owns6(ip.dst) {
            return self.local6(skb, src_mac);
        }
        let fib = port.fib;
        let readers = &self.st.fwd.readers;
        let Some(nh) = readers.route6(fib, ip.dst) else {
            self.count(Stat::NoRoute);
            return self.icmp6(&skb, src_mac, Icmp6Error::NoRoute);
        };
        let kind = match nh.rtype {
            RouteType::Unicast => None,
            RouteType::Blackhole => {
                self.count(Stat::Blackhole);
                return;
            }
            RouteType::Unreachable => Some(Icmp6Error::NoRoute),
            RouteType::Prohibit => Some(Icmp6Error::AdminProhibited),
        };
        if let Some(k) = kind {
            self.count(Stat::Blackhole);
            return self.icmp6(&skb, src_mac, k);
        }
        let next: [u8; 16] = if nh.gw_len == 16 { nh.gw } else { ip.dst };
        let oif = if nh.oif != 0 {
            nh.oif
        } else {
            match readers.route6(fib, next) {
                Some(g) if g.rtype == RouteType::Unicast && g.oif != 0 => g.oif,
                _ => 0,
            }
        };
        let Some(out) = port_of(oif).filter(|o| o.fib == fib) else {
            self.count(Stat::NoRoute);
            return self.icmp6(&skb, src_mac, Icmp6Error::NoRoute);
        };
        if out.owns6(ip.dst) {
            return self.local6(skb, src_mac);
        }
        if ip.hop_limit <= 1 {
            self.count(Stat::Ttl);
            return self.icmp6(&skb, src_mac, Icmp6Error::TimeExceeded);
        }
        let mtu = out.mtu();
        if 40 + ip.payload_len > mtu {
            self.count(Stat::TooBig);
            let mtu = u32::try_from(mtu).unwrap_or(u32::MAX);
            return self.icmp6(&skb, src_mac, Icmp6Error::PacketTooBig { mtu });
        }
        if !pkt::ipv6_dec_hlim(skb.data_mut()) {
            self.count(Stat::Drops);
            return;
        }
        self.to_neighbour(out, NKey::v6(fib, next, out.ifindex), skb, ETH_P_IPV6);
    }
}

/// Sends a forwarded packet out of `out` to `mac`.
///
/// # Safety
///
/// RCU read side held; `out` is a bound port found under it.
unsafe fn skb_send(skb: Skb, out: &Port, proto: u16, mac: &[u8; 6]) {
    // SAFETY: the caller's contract.
    unsafe { skb.xmit(out.dev, proto, mac) };
}

/// The rx handler of bound interfaces.
///
/// # Safety
///
/// Called by the networking core, in softirq context under the RCU read
/// side, with a valid packet of a device whose rx handler this is.
unsafe extern "C" fn rx_handler(
    pskb: *mut *mut bindings::sk_buff,
) -> bindings::rx_handler_result_t {
    const PASS: bindings::rx_handler_result_t = bindings::rx_handler_result_RX_HANDLER_PASS;
    // SAFETY: the core passes a valid pointer to its packet pointer.
    let raw = unsafe { *pskb };
    let Some(st) = state() else {
        return PASS;
    };
    // SAFETY: the packet is valid; its device is the receiving one.
    let Some(port) = dev_port(unsafe { bindings::cgl_fib_skb_dev(raw) }) else {
        return PASS;
    };
    // SAFETY: the core hands the packet over when we report it consumed,
    // which we do for every packet taken here.
    let Some(skb) = (unsafe { Skb::from_raw(raw) }) else {
        return PASS;
    };
    let Some(eth) = skb.eth_header() else {
        skb.into_raw();
        return PASS;
    };
    let proto = u16::from_be_bytes([eth[12], eth[13]]);
    if !matches!(proto, ETH_P_IP | ETH_P_ARP | ETH_P_IPV6) {
        // Not ours (LLDP, ...): the host's stack may have it.
        skb.into_raw();
        return PASS;
    }
    let cx = Cx {
        st,
        port,
        now: now_ms(),
    };
    cx.count(Stat::Rx);
    match proto {
        ETH_P_IP => cx.ipv4(skb, &eth),
        ETH_P_IPV6 => cx.ipv6(skb, &eth),
        _ => {
            let mut skb = skb;
            if skb.make_writable().is_ok() {
                cx.arp(skb, &eth);
            } else {
                cx.count(Stat::Drops);
            }
        }
    }
    bindings::rx_handler_result_RX_HANDLER_CONSUMED
}

/// Adds a permanent neighbour on bound interface `ifindex` of `fib`.
pub(crate) fn neigh_add(
    st: &State,
    key: NKey,
    mac: [u8; 6],
    ifindex: u32,
    replace: bool,
) -> core::result::Result<(), Fail> {
    let mut bound = false;
    st.fwd.for_each_port(|p| {
        bound |= p.ifindex == ifindex && p.fib == key.fib;
        !bound
    });
    if !bound {
        return Err((ENODEV, c_str!("interface is not bound to this FIB")));
    }
    if mac == [0; 6] || mac[0] & 1 != 0 {
        return Err((EINVAL, c_str!("link-layer address must be unicast")));
    }
    let q = {
        let mut n = st.fwd.neigh.lock();
        let old = n.table.get(&key).map(|(_, e)| *e);
        if !replace && old.is_some() {
            return Err((EEXIST, c_str!("neighbour exists (use replace)")));
        }
        // A permanent entry is changed in place: it keeps its slot, so
        // a limit lowered below the FIB's count since does not apply.
        if old.is_some_and(|o| o.state == neigh::State::Permanent) {
            return n
                .table
                .set_permanent(&key, mac, ifindex, now_ms())
                .map_err(neigh_fail);
        }
        match n.table.add_permanent(&key, mac, ifindex, now_ms()) {
            Ok(neigh::Added::Replaced {
                idx,
                was_incomplete: true,
            }) => n.take(idx),
            Ok(_) => Queue::EMPTY,
            Err(e) => return Err(neigh_fail(e)),
        }
    };
    if q.n > 0 {
        // SAFETY: process context; RCU read side for the port lookup,
        // bottom halves off as on the rx path.
        unsafe {
            bindings::local_bh_disable();
            bindings::rcu_read_lock();
        }
        let out = port_of(ifindex);
        for &s in q.skbs.iter().take(q.n) {
            // SAFETY: taken off the queue: ours.
            if let Some(skb) = unsafe { Skb::from_raw(s) } {
                if let Some(out) = out {
                    let proto = if key.v6 { ETH_P_IPV6 } else { ETH_P_IP };
                    // SAFETY: RCU read side held, port found under it.
                    unsafe { skb_send(skb, out, proto, &mac) };
                }
            }
        }
        // SAFETY: taken above.
        unsafe {
            bindings::rcu_read_unlock();
            bindings::local_bh_enable();
        }
    }
    Ok(())
}

/// Deletes a neighbour.
pub(crate) fn neigh_del(st: &State, key: NKey) -> core::result::Result<(), Fail> {
    let mut n = st.fwd.neigh.lock();
    let (idx, _) = n.table.delete(&key).map_err(neigh_fail)?;
    n.purge(idx);
    Ok(())
}

/// Deletes every neighbour of `fib` (FIB deletion).
pub(crate) fn neigh_del_fib(st: &State, fib: u32) {
    let mut n = st.fwd.neigh.lock();
    n.delete_where(|e| e.key.fib == fib);
    let _ = n.table.set_limit(fib, None);
}

/// Errno and message of a neighbour table error.
pub(crate) fn neigh_fail(e: NeighError) -> Fail {
    match e {
        NeighError::LimitFib => (ENOSPC, c_str!("the FIB's neighbour limit is reached")),
        NeighError::Full => (ENOSPC, c_str!("the neighbour table is full")),
        NeighError::NotFound => (ENOENT, c_str!("no such neighbour")),
        NeighError::Exists => (EEXIST, c_str!("neighbour exists (use replace)")),
        NeighError::BadKey => (EINVAL, c_str!("not a unicast neighbour address")),
    }
}
