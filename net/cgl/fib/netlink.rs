// SPDX-License-Identifier: GPL-2.0

//! The `cgl_fib` generic netlink family (`include/uapi/linux/cgl_fib.h`).

use super::lpm::Key;
use super::rtmsg::{self, RouteAttrs, RouteSpec};
use super::{reject, state, Fail, Family as Af, FamilyTrie, Inner, Route, Undo};
use cgl_core::genl::{
    Attr, DoIt, Dump, DumpIt, Family, FamilySpec, Op, Policy, Registration, Request, Writer,
};
use kernel::c_str;
use kernel::prelude::*;
use kernel::uapi;

use super::netlink_fwd as nf;

cgl_core::uapi_consts!(u8;
    CMD_NEWFIB = uapi::cgl_fib_cmd_CGL_FIB_CMD_NEWFIB,
    CMD_DELFIB = uapi::cgl_fib_cmd_CGL_FIB_CMD_DELFIB,
    CMD_GETFIB = uapi::cgl_fib_cmd_CGL_FIB_CMD_GETFIB,
    CMD_NEWROUTE = uapi::cgl_fib_cmd_CGL_FIB_CMD_NEWROUTE,
    CMD_DELROUTE = uapi::cgl_fib_cmd_CGL_FIB_CMD_DELROUTE,
    CMD_GETROUTE = uapi::cgl_fib_cmd_CGL_FIB_CMD_GETROUTE,
    CMD_FIB = uapi::cgl_fib_cmd_CGL_FIB_CMD_FIB,
    CMD_ROUTE = uapi::cgl_fib_cmd_CGL_FIB_CMD_ROUTE,
    CMD_MIRROR = uapi::cgl_fib_cmd_CGL_FIB_CMD_MIRROR,
    CMD_BIND = uapi::cgl_fib_cmd_CGL_FIB_CMD_BIND,
    CMD_UNBIND = uapi::cgl_fib_cmd_CGL_FIB_CMD_UNBIND,
    CMD_GETPORT = uapi::cgl_fib_cmd_CGL_FIB_CMD_GETPORT,
    CMD_NEWNEIGH = uapi::cgl_fib_cmd_CGL_FIB_CMD_NEWNEIGH,
    CMD_DELNEIGH = uapi::cgl_fib_cmd_CGL_FIB_CMD_DELNEIGH,
    CMD_GETNEIGH = uapi::cgl_fib_cmd_CGL_FIB_CMD_GETNEIGH,
    CMD_SETFIB = uapi::cgl_fib_cmd_CGL_FIB_CMD_SETFIB,
);

cgl_core::uapi_consts!(pub(crate) u16;
    A_FIB_ID = uapi::cgl_fib_attr_CGL_FIB_A_FIB_ID,
    A_FAMILY = uapi::cgl_fib_attr_CGL_FIB_A_FAMILY,
    A_DST = uapi::cgl_fib_attr_CGL_FIB_A_DST,
    A_DST_LEN = uapi::cgl_fib_attr_CGL_FIB_A_DST_LEN,
    A_TYPE = uapi::cgl_fib_attr_CGL_FIB_A_TYPE,
    A_GATEWAY = uapi::cgl_fib_attr_CGL_FIB_A_GATEWAY,
    A_OIF = uapi::cgl_fib_attr_CGL_FIB_A_OIF,
    A_METRIC = uapi::cgl_fib_attr_CGL_FIB_A_METRIC,
    A_ADDR = uapi::cgl_fib_attr_CGL_FIB_A_ADDR,
    A_REPLACE = uapi::cgl_fib_attr_CGL_FIB_A_REPLACE,
    A_BATCH = uapi::cgl_fib_attr_CGL_FIB_A_BATCH,
    A_ROUTES4 = uapi::cgl_fib_attr_CGL_FIB_A_ROUTES4,
    A_ROUTES6 = uapi::cgl_fib_attr_CGL_FIB_A_ROUTES6,
    A_LOOKUPS = uapi::cgl_fib_attr_CGL_FIB_A_LOOKUPS,
    A_MISSES = uapi::cgl_fib_attr_CGL_FIB_A_MISSES,
    A_DONE = uapi::cgl_fib_attr_CGL_FIB_A_DONE,
    A_PAD = uapi::cgl_fib_attr_CGL_FIB_A_PAD,
    A_TABLE = uapi::cgl_fib_attr_CGL_FIB_A_TABLE,
);

// The request core (`rtmsg`) decodes routes with the uapi's numbers.
const _: () = assert!(
    rtmsg::A_FIB_ID == A_FIB_ID
        && rtmsg::A_FAMILY == A_FAMILY
        && rtmsg::A_DST == A_DST
        && rtmsg::A_DST_LEN == A_DST_LEN
        && rtmsg::A_TYPE == A_TYPE
        && rtmsg::A_GATEWAY == A_GATEWAY
        && rtmsg::A_OIF == A_OIF
        && rtmsg::A_METRIC == A_METRIC
        && rtmsg::BATCH_MAX == uapi::CGL_FIB_BATCH_MAX as usize
);

/// Attributes of one route in a batch (types up to METRIC).
static ROUTE_POLICY: [Policy; 9] = [
    Policy::reject(),         // UNSPEC
    Policy::reject(),         // FIB_ID
    Policy::reject(),         // FAMILY
    Policy::binary(16),       // DST
    Policy::u8_range(0, 128), // DST_LEN
    Policy::u8_range(0, 3),   // TYPE
    Policy::binary(16),       // GATEWAY
    Policy::u32(),            // OIF
    Policy::u32(),            // METRIC
];

static POLICY: [Policy; uapi::cgl_fib_attr___CGL_FIB_A_MAX as usize] = [
    Policy::reject(),                        // UNSPEC
    Policy::u32(),                           // FIB_ID
    Policy::u8_range(2, 10),                 // FAMILY
    Policy::binary(16),                      // DST
    Policy::u8_range(0, 128),                // DST_LEN
    Policy::u8_range(0, 3),                  // TYPE
    Policy::binary(16),                      // GATEWAY
    Policy::u32(),                           // OIF
    Policy::u32(),                           // METRIC
    Policy::binary(16),                      // ADDR
    Policy::flag(),                          // REPLACE
    Policy::nested_array(&ROUTE_POLICY),     // BATCH
    Policy::reject(),                        // ROUTE
    Policy::reject(),                        // ROUTES4
    Policy::reject(),                        // ROUTES6
    Policy::reject(),                        // LOOKUPS
    Policy::reject(),                        // MISSES
    Policy::reject(),                        // DONE
    Policy::reject(),                        // PAD
    Policy::u32(),                           // TABLE
    Policy::nested_array(&nf::LOCAL_POLICY), // LOCALS
    Policy::reject(),                        // LOCAL
    Policy::binary(6),                       // LLADDR
    Policy::reject(),                        // NEIGH_STATE
    Policy::u32(),                           // NEIGH_LIMIT
    Policy::reject(),                        // NEIGHS
    Policy::reject(),                        // STATS
];

static OPS: [Op; 14] = [
    Op::new(CMD_NEWFIB).doit::<NewFib>(),
    Op::new(CMD_DELFIB).doit::<DelFib>(),
    Op::new(CMD_GETFIB).doit::<GetFib>().dumpit::<DumpFibs>(),
    Op::new(CMD_NEWROUTE).doit::<NewRoute>(),
    Op::new(CMD_DELROUTE).doit::<DelRoute>(),
    Op::new(CMD_GETROUTE)
        .doit::<GetRoute>()
        .dumpit::<DumpRoutes>(),
    Op::new(CMD_MIRROR).doit::<SetMirror>(),
    Op::new(CMD_BIND).doit::<nf::Bind>(),
    Op::new(CMD_UNBIND).doit::<nf::Unbind>(),
    Op::new(CMD_GETPORT)
        .doit::<nf::GetPort>()
        .dumpit::<nf::DumpPorts>(),
    Op::new(CMD_NEWNEIGH).doit::<nf::NewNeigh>(),
    Op::new(CMD_DELNEIGH).doit::<nf::DelNeigh>(),
    Op::new(CMD_GETNEIGH).dumpit::<nf::DumpNeighs>(),
    Op::new(CMD_SETFIB).doit::<nf::SetFib>(),
];

static SPEC: FamilySpec = FamilySpec {
    name: c_str!("cgl_fib"),
    version: uapi::CGL_FIB_GENL_VERSION,
    policy: &POLICY,
    pad_attr: A_PAD,
    ops: &OPS,
    mcgrps: &[],
};

static FAMILY: Family = Family::new();

/// Registers the family; it is unregistered when the guard drops.
pub(crate) fn register(module: &'static ThisModule) -> Result<Registration> {
    // SAFETY: called once, from module init; the guard lives in the
    // module's state until exit.
    unsafe { FAMILY.registration(&SPEC, Some(module)) }
}

/// Errnos `kernel::error::code` lacks in 6.12.
fn errno(e: u32) -> Error {
    Error::from_errno(-(e as i32))
}

#[allow(non_snake_case)]
fn EAFNOSUPPORT() -> Error {
    errno(kernel::bindings::EAFNOSUPPORT)
}

#[allow(non_snake_case)]
fn ENETUNREACH() -> Error {
    errno(kernel::bindings::ENETUNREACH)
}

pub(crate) fn fail(req: &Request<'_>, (e, msg): Fail, attr: Option<u16>) -> Error {
    req.fail(e, msg, attr)
}

/// Modifying FIBs and routes takes CAP_NET_ADMIN.
pub(crate) fn admin(req: &Request<'_>) -> Result {
    // SAFETY: plain capability check of the current task.
    if unsafe { kernel::bindings::capable(kernel::bindings::CAP_NET_ADMIN as i32) } {
        Ok(())
    } else {
        Err(req.fail(EPERM, c_str!("needs CAP_NET_ADMIN"), None))
    }
}

pub(crate) fn fib_id(req: &Request<'_>) -> Result<u32> {
    req.require(A_FIB_ID)?.u32()
}

pub(crate) fn family(req: &Request<'_>) -> Result<Af> {
    let a = req.require(A_FAMILY)?.u8()?;
    Af::from_af(a).ok_or_else(|| {
        req.fail(
            EAFNOSUPPORT(),
            c_str!("family must be AF_INET or AF_INET6"),
            Some(A_FAMILY),
        )
    })
}

/// An address attribute of family `af`, as the key type's bits.
fn addr_bits(a: &Attr<'_>, af: Af) -> core::result::Result<u128, Fail> {
    rtmsg::addr_bits(a.bytes(), af).map_err(reject)
}

/// Applies one route to the trie of `af`.
pub(crate) fn apply(
    inner: &mut Inner,
    af: Af,
    fib: u32,
    r: &RouteSpec,
    replace: bool,
) -> core::result::Result<(), Fail> {
    match af {
        Af::V4 => inner.add_route::<u32>(fib, r.dst as u32, r.len, &r.nh, replace),
        Af::V6 => inner.add_route::<u128>(fib, r.dst, r.len, &r.nh, replace),
    }
}

/// Why a batch was refused: the index of the route that failed, why, and
/// how many routes before it stayed because taking them back failed (0
/// unless memory ran out); or a failure of the request as a whole, and
/// the attribute to blame.
enum BatchErr {
    At(usize, Fail, u32),
    Whole(Fail, Option<u16>),
}

/// Applies the routes of a `BATCH` payload to `fib`, all or none
/// ([`rtmsg::check_batch`], then [`rtmsg::apply_batch`]): every route is
/// decoded and checked before any is applied, and if one still fails
/// those before it are taken back. Returns the number of routes.
fn apply_batch(
    inner: &mut Inner,
    af: Af,
    fib: u32,
    batch: &[u8],
    replace: bool,
) -> core::result::Result<u32, BatchErr> {
    // An unknown FIB is the request's fault, not its first route's.
    inner
        .fib_mut(fib)
        .map_err(|f| BatchErr::Whole(f, Some(A_FIB_ID)))?;
    let bits = af.addr_len() as u32 * 8;
    // The interface the batch named last (`route_spec`'s cache): each
    // pass starts without one, so both read an `OIF` of 0 alike.
    let known_oif = core::cell::Cell::new(0);
    let mut decode = |entry: &[u8]| -> core::result::Result<RouteSpec, Fail> {
        let attrs = RouteAttrs::parse(entry);
        let mut k = known_oif.get();
        let r = rtmsg::route_spec(af, &attrs, &mut k, super::dev_exists);
        known_oif.set(k);
        let r = r.map_err(|(f, _)| reject(f))?;
        rtmsg::check_prefix(r.dst, r.len, bits).map_err(reject)?;
        Ok(r)
    };
    let n = rtmsg::check_batch(batch, &mut decode).map_err(|(i, f)| BatchErr::At(i, f, 0))?;
    known_oif.set(0);
    let none = rtmsg::Applied {
        dst: 0,
        len: 0,
        undo: Undo::Inserted,
    };
    let mut log = KVVec::from_elem(none, n, GFP_KERNEL)
        .map_err(|_| BatchErr::Whole((ENOMEM, c_str!("out of memory")), None))?;
    let mut t = Target {
        inner,
        af,
        fib,
        replace,
    };
    // At most `BATCH_MAX` (4096) routes: the counts fit.
    match rtmsg::apply_batch(batch, &mut decode, &mut t, &mut log) {
        Ok(n) => Ok(n as u32),
        Err((i, f, kept)) => Err(BatchErr::At(i, f, kept as u32)),
    }
}

/// A FIB's family as a batch's [`rtmsg::BatchTarget`].
struct Target<'a> {
    inner: &'a mut Inner,
    af: Af,
    fib: u32,
    replace: bool,
}

impl rtmsg::BatchTarget for Target<'_> {
    type Undo = Undo;
    type Err = Fail;

    fn set(&mut self, r: &RouteSpec) -> core::result::Result<Undo, Fail> {
        let (fib, replace) = (self.fib, self.replace);
        match self.af {
            Af::V4 => self
                .inner
                .set_route::<u32>(fib, r.dst as u32, r.len, &r.nh, replace),
            Af::V6 => self
                .inner
                .set_route::<u128>(fib, r.dst, r.len, &r.nh, replace),
        }
    }

    fn undo(&mut self, dst: u128, len: u8, u: Undo) -> core::result::Result<(), Fail> {
        match self.af {
            Af::V4 => self.inner.undo_route::<u32>(self.fib, dst as u32, len, u),
            Af::V6 => self.inner.undo_route::<u128>(self.fib, dst, len, u),
        }
    }

    fn commit(&mut self, u: Undo) {
        // The replaced nexthop is no longer needed.
        if let Undo::Replaced(old) = u {
            self.inner.nh.put(old);
        }
    }

    fn pause(&mut self) {
        resched();
    }
}

/// A batch keeps this CPU in the kernel for milliseconds, and
/// back-to-back batches (a bulk load) return to user space only briefly:
/// offers the scheduler and RCU (which waits for a quiescent state to
/// recycle retired blocks) a point to step in.
fn resched() {
    // SAFETY: process context; only the FIB mutex is held, which may
    // sleep.
    unsafe { kernel::bindings::__cond_resched() };
}

struct NewFib;

impl DoIt for NewFib {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let id = fib_id(req)?;
        let limit = nf::limit_attr(req)?;
        let st = state().ok_or(ENODEV)?;
        let _ctl = st.ctl.lock();
        // The sysfs directory is made (and, on failure, removed) with the
        // FIB mutex released; `ctl`, held, keeps the id from being taken
        // meanwhile.
        if st.inner.lock().find(id).is_ok() {
            return Err(req.fail(EEXIST, c_str!("FIB exists"), Some(A_FIB_ID)));
        }
        let dir = super::fib_dir(st, id)
            .map_err(|e| req.fail(e, c_str!("cannot create the FIB's sysfs directory"), None))?;
        let mut inner = st.inner.lock();
        if let Err(f) = inner.new_fib(id) {
            drop(inner);
            drop(dir);
            return Err(fail(req, f, Some(A_FIB_ID)));
        }
        if let Some(l) = limit {
            if let Err(f) = nf::set_limit(id, l) {
                // No half-made FIB: take it back.
                let _ = inner.del_fib(id);
                drop(inner);
                drop(dir);
                return Err(fail(req, f, None));
            }
        }
        if let Ok(fib) = inner.fib_mut(id) {
            fib.dir = dir;
        }
        Ok(())
    }
}

struct SetMirror;

impl DoIt for SetMirror {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let id = fib_id(req)?;
        let table = req.require(A_TABLE)?.u32()?;
        let st = state().ok_or(ENODEV)?;
        // `ctl` serialises mirror changes and keeps the FIB from going
        // meanwhile; `set` may sleep, without the FIB mutex.
        let _ctl = st.ctl.lock();
        if st.inner.lock().find(id).is_err() {
            return Err(req.fail(ENOENT, c_str!("no such FIB"), Some(A_FIB_ID)));
        }
        st.mirror
            .set(id, table)
            .map_err(|f| fail(req, f, Some(A_TABLE)))
    }
}

struct DelFib;

impl DoIt for DelFib {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let id = fib_id(req)?;
        let st = state().ok_or(ENODEV)?;
        let _ctl = st.ctl.lock();
        if st.fwd.fib_busy(id) {
            return Err(req.fail(
                EBUSY,
                c_str!("interfaces are bound to the FIB (unbind them first)"),
                Some(A_FIB_ID),
            ));
        }
        let r = st.inner.lock().del_fib(id);
        match r {
            Ok(dir) => {
                // The mutex is released: the directory may go.
                drop(dir);
                st.mirror.forget(id);
                super::fwd::neigh_del_fib(st, id);
                Ok(())
            }
            Err(f) => Err(fail(req, f, Some(A_FIB_ID))),
        }
    }
}

fn put_fib(w: &mut Writer, f: &super::Fib) -> Result {
    w.put_u32(A_FIB_ID, f.id)?;
    if let Some(t) = state().and_then(|st| st.mirror.table_of(f.id)) {
        w.put_u32(A_TABLE, t)?;
    }
    w.put_u64(A_ROUTES4, f.routes4)?;
    w.put_u64(A_ROUTES6, f.routes6)?;
    w.put_u64(A_LOOKUPS, f.lookups)?;
    w.put_u64(A_MISSES, f.misses)?;
    nf::put_fib_fwd(w, f.id)
}

struct GetFib;

impl DoIt for GetFib {
    fn doit(req: &mut Request<'_>) -> Result {
        let id = fib_id(req)?;
        let st = state().ok_or(ENODEV)?;
        let mut reply = req.new_reply(CMD_FIB)?;
        {
            let mut inner = st.inner.lock();
            let f = inner
                .fib_mut(id)
                .map_err(|f| fail(req, f, Some(A_FIB_ID)))?;
            put_fib(&mut reply, f)?;
        }
        req.reply(reply)
    }
}

struct DumpFibs;

impl DumpIt for DumpFibs {
    fn dumpit(d: &mut Dump<'_>) -> Result {
        let st = state().ok_or(ENODEV)?;
        let inner = st.inner.lock();
        loop {
            let i = d.state()[0] as usize;
            let Some(f) = inner.fibs.get(i) else {
                return Ok(());
            };
            let mut msg = d.begin(CMD_FIB)?;
            put_fib(&mut msg, f)?;
            msg.commit();
            d.state()[0] += 1;
        }
    }
}

struct NewRoute;

impl DoIt for NewRoute {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let fib = fib_id(req)?;
        let af = family(req)?;
        let replace = req.attr(A_REPLACE).is_some();
        let st = state().ok_or(ENODEV)?;
        let Some(batch) = req.attr(A_BATCH) else {
            let attrs = RouteAttrs::from_fn(|t| req.attr(t).map(|a| a.bytes()));
            let r = rtmsg::route_spec(af, &attrs, &mut 0, super::dev_exists)
                .map_err(|(f, a)| fail(req, reject(f), a))?;
            let mut inner = st.inner.lock();
            let res = apply(&mut inner, af, fib, &r, replace);
            inner.kick();
            return res.map_err(|f| fail(req, f, None));
        };
        if req.attr(A_DST).is_some() {
            return Err(req.fail(EINVAL, c_str!("give DST or BATCH, not both"), Some(A_DST)));
        }
        let mut inner = st.inner.lock();
        let r = apply_batch(&mut inner, af, fib, batch.bytes(), replace);
        inner.kick();
        drop(inner);
        let done = match r {
            Ok(n) => n,
            Err(BatchErr::At(i, (e, msg), kept)) => {
                let msg = msg.to_str().unwrap_or("error");
                return Err(match kept {
                    0 => req.fail_fmt(e, format_args!("route {i} of the batch: {msg}"), Some(A_BATCH)),
                    k => req.fail_fmt(
                        e,
                        format_args!(
                            "route {i} of the batch: {msg}; {k} routes before it could not be taken back"
                        ),
                        Some(A_BATCH),
                    ),
                });
            }
            Err(BatchErr::Whole(f, at)) => return Err(fail(req, f, at)),
        };
        let mut reply = req.new_reply(CMD_ROUTE)?;
        reply.put_u32(A_DONE, done)?;
        req.reply(reply)
    }
}

struct DelRoute;

impl DoIt for DelRoute {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let fib = fib_id(req)?;
        let af = family(req)?;
        let dst = addr_bits(&req.require(A_DST)?, af).map_err(|f| fail(req, f, Some(A_DST)))?;
        let len = req.require(A_DST_LEN)?.u8()?;
        let st = state().ok_or(ENODEV)?;
        let mut inner = st.inner.lock();
        let r = match af {
            Af::V4 => inner.del_route::<u32>(fib, dst as u32, len),
            Af::V6 => inner.del_route::<u128>(fib, dst, len),
        };
        inner.kick();
        r.map_err(|f| fail(req, f, None))
    }
}

/// Writes a route's attributes.
fn put_route(
    w: &mut Writer,
    fib: u32,
    af: Af,
    dst: u128,
    r: &Route,
    nhs: &super::nexthop::Table,
) -> Result {
    w.put_u32(A_FIB_ID, fib)?;
    w.put_u8(A_FAMILY, af.af())?;
    let bytes = dst.to_be_bytes();
    let off = 16 - af.addr_len();
    w.put_bytes(A_DST, bytes.get(off..).ok_or(EINVAL)?)?;
    w.put_u8(A_DST_LEN, r.len)?;
    let Some(nh) = nhs.get(r.nh) else {
        return Err(EIO);
    };
    w.put_u8(A_TYPE, nh.rtype as u8)?;
    if nh.gw_len != 0 {
        w.put_bytes(
            A_GATEWAY,
            nh.gw.get(..usize::from(nh.gw_len)).ok_or(EINVAL)?,
        )?;
    }
    if nh.oif != 0 {
        w.put_u32(A_OIF, nh.oif)?;
    }
    w.put_u32(A_METRIC, nh.metric)
}

struct GetRoute;

impl DoIt for GetRoute {
    fn doit(req: &mut Request<'_>) -> Result {
        let fib = fib_id(req)?;
        let af = family(req)?;
        let st = state().ok_or(ENODEV)?;
        let mut reply = req.new_reply(CMD_ROUTE)?;
        {
            let mut inner = st.inner.lock();
            let (dst, found) = if let Some(a) = req.attr(A_ADDR) {
                let addr = addr_bits(&a, af).map_err(|f| fail(req, f, Some(A_ADDR)))?;
                let r = match af {
                    Af::V4 => inner.lookup::<u32>(fib, addr as u32),
                    Af::V6 => inner.lookup::<u128>(fib, addr),
                }
                .map_err(|f| fail(req, f, Some(A_FIB_ID)))?;
                let bits = (af.addr_len() * 8) as u32;
                (r.as_ref().map_or(0, |r| rtmsg::mask(addr, r.len, bits)), r)
            } else {
                let dst =
                    addr_bits(&req.require(A_DST)?, af).map_err(|f| fail(req, f, Some(A_DST)))?;
                let len = req.require(A_DST_LEN)?.u8()?;
                let r = match af {
                    Af::V4 => inner.exact::<u32>(fib, dst as u32, len),
                    Af::V6 => inner.exact::<u128>(fib, dst, len),
                }
                .map_err(|f| fail(req, f, None))?;
                (dst, r)
            };
            let Some(r) = found else {
                return Err(req.fail(ENETUNREACH(), c_str!("no route"), None));
            };
            put_route(&mut reply, fib, af, dst, &r, &inner.nh)?;
        }
        req.reply(reply)
    }
}

/// Dump state: `[0]` phase (0 IPv4 from the start, 1 IPv4 after the
/// cursor, 2 IPv6 from the start, 3 IPv6 after the cursor, 4 done), `[1]`
/// cursor length, `[2]`/`[3]` cursor prefix (low, high 64 bits).
struct DumpRoutes;

fn dump_family<K: Key + Into<u128> + TryFrom<u128>>(
    d: &mut Dump<'_>,
    inner: &mut Inner,
    fib: u32,
    af: Af,
    phase: isize,
) -> Result<bool>
where
    Inner: FamilyTrie<K>,
{
    let after = if d.state()[0] == phase + 1 {
        let lo = d.state()[2] as u64 as u128;
        let hi = d.state()[3] as u64 as u128;
        let p = K::try_from(lo | hi << 64).map_err(|_| EINVAL)?;
        Some((p, d.state()[1] as u8))
    } else {
        None
    };
    let (trie, nhs) = <Inner as FamilyTrie<K>>::parts(inner);
    let mut full = false;
    let mut last: Option<(u128, u8)> = None;
    let mut err = Ok(());
    trie.walk(fib, after, &mut |p: K, len: u8, nh: u32| {
        let dst: u128 = p.into();
        let mut msg = match d.begin(CMD_ROUTE) {
            Ok(m) => m,
            Err(e) => {
                full = true;
                err = Err(e);
                return false;
            }
        };
        match put_route(&mut msg, fib, af, dst, &Route { len, nh }, nhs) {
            Ok(()) => {
                msg.commit();
                last = Some((dst, len));
                true
            }
            Err(e) => {
                full = true;
                err = Err(e);
                false
            }
        }
    })
    .map_err(|_| EIO)?;
    if let Some((dst, len)) = last {
        let s = d.state();
        s[0] = phase + 1;
        s[1] = len as isize;
        s[2] = dst as u64 as isize;
        s[3] = (dst >> 64) as u64 as isize;
    }
    if full {
        err?;
        return Ok(false);
    }
    d.state()[0] = phase + 2;
    Ok(true)
}

impl DumpIt for DumpRoutes {
    fn dumpit(d: &mut Dump<'_>) -> Result {
        let fib = match d.attr(A_FIB_ID) {
            Some(a) => a.u32()?,
            None => return Err(EINVAL),
        };
        let only = match d.attr(A_FAMILY) {
            Some(a) => Some(Af::from_af(a.u8()?).ok_or_else(EAFNOSUPPORT)?),
            None => None,
        };
        let st = state().ok_or(ENODEV)?;
        let mut inner = st.inner.lock();
        if inner.find(fib).is_err() {
            return Err(ENOENT);
        }
        if d.state()[0] < 2 {
            if only == Some(Af::V6) {
                d.state()[0] = 2;
            } else if !dump_family::<u32>(d, &mut inner, fib, Af::V4, 0)? {
                return Ok(());
            }
        }
        if d.state()[0] < 4 {
            if only == Some(Af::V4) {
                d.state()[0] = 4;
            } else if !dump_family::<u128>(d, &mut inner, fib, Af::V6, 2)? {
                return Ok(());
            }
        }
        Ok(())
    }
}
