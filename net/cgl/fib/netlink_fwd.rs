// SPDX-License-Identifier: GPL-2.0

//! The forwarding commands of the `cgl_fib` family: interface binding
//! (ports), neighbours and per-FIB neighbour limits
//! (`include/uapi/linux/cgl_fib.h`). The family itself is in
//! [`super::netlink`].

use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;
use kernel::uapi;

use super::fwd::{self, Port, NSTATS, PORT_ADDRS};
use super::neigh::{Key as NKey, State as NState};
use super::netlink::{
    admin, fail, family, fib_id, A_ADDR, A_DST_LEN, A_FAMILY, A_FIB_ID, A_OIF, A_REPLACE,
};
use super::{event_id, state, Fail, Family as Af, SUBSYS};
use cgl_core::event::Severity;
use cgl_core::genl::{Attr, DoIt, Dump, DumpIt, Policy, Request, Writer};
use cgl_core::{cgl_event, uapi_consts};

uapi_consts!(u8;
    CMD_PORT = uapi::cgl_fib_cmd_CGL_FIB_CMD_PORT,
    CMD_NEIGH = uapi::cgl_fib_cmd_CGL_FIB_CMD_NEIGH,
);

uapi_consts!(u16;
    A_LOCALS = uapi::cgl_fib_attr_CGL_FIB_A_LOCALS,
    A_LOCAL = uapi::cgl_fib_attr_CGL_FIB_A_LOCAL,
    A_LLADDR = uapi::cgl_fib_attr_CGL_FIB_A_LLADDR,
    A_NEIGH_STATE = uapi::cgl_fib_attr_CGL_FIB_A_NEIGH_STATE,
    A_NEIGH_LIMIT = uapi::cgl_fib_attr_CGL_FIB_A_NEIGH_LIMIT,
    A_NEIGHS = uapi::cgl_fib_attr_CGL_FIB_A_NEIGHS,
    A_STATS = uapi::cgl_fib_attr_CGL_FIB_A_STATS,
);

/// Attributes of one router address in LOCALS (types up to ADDR).
pub(crate) static LOCAL_POLICY: [Policy; 10] = [
    Policy::reject(),         // UNSPEC
    Policy::reject(),         // FIB_ID
    Policy::reject(),         // FAMILY
    Policy::reject(),         // DST
    Policy::u8_range(0, 128), // DST_LEN
    Policy::reject(),         // TYPE
    Policy::reject(),         // GATEWAY
    Policy::reject(),         // OIF
    Policy::reject(),         // METRIC
    Policy::binary(16),       // ADDR
];

/// A FIB that must exist.
fn fib_exists(req: &Request<'_>, fib: u32) -> Result {
    let st = state().ok_or(ENODEV)?;
    let r = st.inner.lock().find(fib).map(|_| ());
    r.map_err(|_| req.fail(ENOENT, c_str!("no such FIB"), Some(A_FIB_ID)))
}

/// Router addresses (address, prefix length) of one family.
type Addrs<const N: usize> = KVec<([u8; N], u8)>;

/// The router addresses of a BIND request.
fn locals(req: &Request<'_>) -> core::result::Result<(Addrs<4>, Addrs<16>), Fail> {
    let mut v4 = KVec::new();
    let mut v6 = KVec::new();
    let nomem = (ENOMEM, c_str!("out of memory"));
    let Some(list) = req.attr(A_LOCALS) else {
        return Ok((v4, v6));
    };
    for a in list.nested() {
        let [.., len, _, _, _, _, addr] = a.parse_nested::<10>();
        let (Some(addr), Some(len)) = (addr, len) else {
            return Err((EINVAL, c_str!("a router address needs ADDR and DST_LEN")));
        };
        let len = len.u8().map_err(|_| (EINVAL, c_str!("bad DST_LEN")))?;
        match addr.bytes() {
            &[a, b, c, d] => {
                let x = [a, b, c, d];
                if len > 32 || !super::pkt::is_ipv4_unicast(x) {
                    return Err((EINVAL, c_str!("router address must be unicast, /0../32")));
                }
                if v4.len() >= PORT_ADDRS {
                    return Err((E2BIG, c_str!("at most 8 router addresses per family")));
                }
                v4.push((x, len), GFP_KERNEL).map_err(|_| nomem)?;
            }
            b if b.len() == 16 => {
                let mut x = [0u8; 16];
                x.copy_from_slice(b);
                if len > 128 || !super::pkt::is_ipv6_unicast(x) {
                    return Err((EINVAL, c_str!("router address must be unicast, /0../128")));
                }
                if v6.len() >= PORT_ADDRS {
                    return Err((E2BIG, c_str!("at most 8 router addresses per family")));
                }
                v6.push((x, len), GFP_KERNEL).map_err(|_| nomem)?;
            }
            _ => return Err((EINVAL, c_str!("router address must be 4 or 16 bytes"))),
        }
    }
    Ok((v4, v6))
}

/// `CGL_FIB_CMD_BIND`.
pub(crate) struct Bind;

impl DoIt for Bind {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let fib = fib_id(req)?;
        let oif = req.require(A_OIF)?.u32()?;
        let (v4, v6) = locals(req).map_err(|f| fail(req, f, Some(A_LOCALS)))?;
        let st = state().ok_or(ENODEV)?;
        let _ctl = st.ctl.lock();
        fib_exists(req, fib)?;
        let port = KBox::new(Port::new(fib, oif, v4, v6), GFP_KERNEL)?;
        fwd::bind(st, port).map_err(|f| fail(req, f, Some(A_OIF)))?;
        let _ = cgl_event!(
            Severity::Info,
            SUBSYS,
            event_id::PORT,
            "interface {} bound to FIB {}",
            oif,
            fib
        );
        Ok(())
    }
}

/// `CGL_FIB_CMD_UNBIND`.
pub(crate) struct Unbind;

impl DoIt for Unbind {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let oif = req.require(A_OIF)?.u32()?;
        let st = state().ok_or(ENODEV)?;
        let _ctl = st.ctl.lock();
        fwd::unbind(st, oif).map_err(|f| fail(req, f, Some(A_OIF)))?;
        let _ = cgl_event!(
            Severity::Info,
            SUBSYS,
            event_id::PORT,
            "interface {} unbound",
            oif
        );
        Ok(())
    }
}

/// Writes counters as a STATS nest.
pub(crate) fn put_stats(w: &mut Writer, s: &[u64; NSTATS]) -> Result {
    w.nest(A_STATS, |w| {
        for (i, v) in s.iter().enumerate() {
            w.put_u64(i as u16 + 1, *v)?;
        }
        Ok(())
    })
}

fn put_port(w: &mut Writer, p: &Port) -> Result {
    w.put_u32(A_OIF, p.ifindex)?;
    w.put_u32(A_FIB_ID, p.fib)?;
    w.nest(A_LOCALS, |w| {
        for (a, l) in p.addr4.iter() {
            w.nest(A_LOCAL, |w| {
                w.put_bytes(A_ADDR, a)?;
                w.put_u8(A_DST_LEN, *l)
            })?;
        }
        for (a, l) in p.addr6.iter() {
            w.nest(A_LOCAL, |w| {
                w.put_bytes(A_ADDR, a)?;
                w.put_u8(A_DST_LEN, *l)
            })?;
        }
        Ok(())
    })?;
    let s: [u64; NSTATS] =
        core::array::from_fn(|i| p.stats.get(i).map_or(0, |c| c.load(Ordering::Relaxed)));
    put_stats(w, &s)
}

/// `CGL_FIB_CMD_GETPORT`.
pub(crate) struct GetPort;

impl DoIt for GetPort {
    fn doit(req: &mut Request<'_>) -> Result {
        let oif = req.require(A_OIF)?.u32()?;
        let st = state().ok_or(ENODEV)?;
        let mut reply = req.new_reply(CMD_PORT)?;
        let mut r = Err(ENOENT);
        st.fwd.for_each_port(|p| {
            if p.ifindex != oif {
                return true;
            }
            r = put_port(&mut reply, p);
            false
        });
        match r {
            Err(e) if e == ENOENT => {
                Err(req.fail(ENOENT, c_str!("interface is not bound"), Some(A_OIF)))
            }
            r => {
                r?;
                req.reply(reply)
            }
        }
    }
}

/// `CGL_FIB_CMD_GETPORT` dump; state `[0]`: ports done.
pub(crate) struct DumpPorts;

impl DumpIt for DumpPorts {
    fn dumpit(d: &mut Dump<'_>) -> Result {
        let st = state().ok_or(ENODEV)?;
        let skip = d.state()[0] as usize;
        let mut i = 0usize;
        let mut r = Ok(());
        st.fwd.for_each_port(|p| {
            i += 1;
            if i <= skip {
                return true;
            }
            let mut msg = match d.begin(CMD_PORT) {
                Ok(m) => m,
                Err(e) => {
                    r = Err(e);
                    return false;
                }
            };
            if let Err(e) = put_port(&mut msg, p) {
                r = Err(e);
                return false;
            }
            msg.commit();
            d.state()[0] += 1;
            true
        });
        match r {
            // A full buffer: the dump goes on in the next one.
            Err(e) if !d.is_empty() && e == cgl_core::genl::emsgsize() => Ok(()),
            r => r,
        }
    }
}

/// The neighbour key of a request: FIB_ID, FAMILY, ADDR (and OIF, the
/// zone of an IPv6 link-local address).
fn neigh_key(req: &Request<'_>, fib: u32) -> Result<NKey> {
    let af = family(req)?;
    let a = req.require(A_ADDR)?;
    let b = a.bytes();
    let key = match (af, b) {
        (Af::V4, &[w, x, y, z]) => NKey::v4(fib, [w, x, y, z]),
        (Af::V6, b) if b.len() == 16 => {
            let mut x = [0u8; 16];
            x.copy_from_slice(b);
            let oif = req.attr(A_OIF).map(|a| a.u32()).transpose()?.unwrap_or(0);
            if x[0] == 0xfe && x[1] & 0xc0 == 0x80 && oif == 0 {
                return Err(req.fail(
                    EINVAL,
                    c_str!("a link-local neighbour needs OIF"),
                    Some(A_OIF),
                ));
            }
            NKey::v6(fib, x, oif)
        }
        _ => {
            return Err(req.fail(
                EINVAL,
                c_str!("address length does not match the family"),
                Some(A_ADDR),
            ))
        }
    };
    if key.check().is_err() {
        return Err(req.fail(
            EINVAL,
            c_str!("not a unicast neighbour address"),
            Some(A_ADDR),
        ));
    }
    Ok(key)
}

/// `CGL_FIB_CMD_NEWNEIGH`.
pub(crate) struct NewNeigh;

impl DoIt for NewNeigh {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let fib = fib_id(req)?;
        let key = neigh_key(req, fib)?;
        let ll = req.require(A_LLADDR)?;
        let mac: [u8; 6] = ll
            .bytes()
            .try_into()
            .map_err(|_| req.fail(EINVAL, c_str!("LLADDR must be 6 bytes"), Some(A_LLADDR)))?;
        let oif = req.require(A_OIF)?.u32()?;
        let replace = req.attr(A_REPLACE).is_some();
        fib_exists(req, fib)?;
        let st = state().ok_or(ENODEV)?;
        fwd::neigh_add(st, key, mac, oif, replace).map_err(|f| fail(req, f, None))
    }
}

/// `CGL_FIB_CMD_DELNEIGH`.
pub(crate) struct DelNeigh;

impl DoIt for DelNeigh {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let fib = fib_id(req)?;
        let key = neigh_key(req, fib)?;
        let st = state().ok_or(ENODEV)?;
        fwd::neigh_del(st, key).map_err(|f| fail(req, f, Some(A_ADDR)))
    }
}

fn nud(s: NState) -> u8 {
    (match s {
        NState::Incomplete => uapi::cgl_fib_neigh_state_CGL_FIB_NUD_INCOMPLETE,
        NState::Reachable => uapi::cgl_fib_neigh_state_CGL_FIB_NUD_REACHABLE,
        NState::Stale => uapi::cgl_fib_neigh_state_CGL_FIB_NUD_STALE,
        NState::Failed => uapi::cgl_fib_neigh_state_CGL_FIB_NUD_FAILED,
        NState::Permanent => uapi::cgl_fib_neigh_state_CGL_FIB_NUD_PERMANENT,
    }) as u8
}

/// `CGL_FIB_CMD_GETNEIGH` dump; state `[0]`: next entry index.
pub(crate) struct DumpNeighs;

impl DumpIt for DumpNeighs {
    fn dumpit(d: &mut Dump<'_>) -> Result {
        let filter = d.attr(A_FIB_ID).map(|a| a.u32()).transpose()?;
        let st = state().ok_or(ENODEV)?;
        let start = u32::try_from(d.state()[0]).unwrap_or(u32::MAX);
        // Entries are copied out a few at a time: the lock has
        // interrupts off, the message is written without it.
        const CHUNK: usize = 32;
        let mut at = start;
        loop {
            let mut buf = [(0u32, super::neigh::Entry::EMPTY); CHUNK];
            let mut n = 0usize;
            let next = {
                let t = st.fwd.neigh.lock();
                t.table.walk_from(at, |i, e| {
                    if filter.is_some_and(|f| f != e.key.fib) {
                        return true;
                    }
                    match buf.get_mut(n) {
                        Some(slot) => {
                            *slot = (i, *e);
                            n += 1;
                            true
                        }
                        None => false,
                    }
                })
            };
            for &(i, ref e) in buf.iter().take(n) {
                let some = !d.is_empty();
                let mut msg = match d.begin(CMD_NEIGH) {
                    Ok(m) => m,
                    Err(_) if some => return Ok(()),
                    Err(e) => return Err(e),
                };
                let r = (|| {
                    msg.put_u32(A_FIB_ID, e.key.fib)?;
                    let af = if e.key.v6 { Af::V6 } else { Af::V4 };
                    msg.put_u8(A_FAMILY, af.af())?;
                    msg.put_bytes(A_ADDR, e.key.addr.get(..af.addr_len()).ok_or(EINVAL)?)?;
                    if e.mac != [0; 6] {
                        msg.put_bytes(A_LLADDR, &e.mac)?;
                    }
                    msg.put_u32(A_OIF, e.ifindex)?;
                    msg.put_u8(A_NEIGH_STATE, nud(e.state))
                })();
                match r {
                    Ok(()) => msg.commit(),
                    Err(_) if some => return Ok(()),
                    Err(e) => return Err(e),
                }
                d.state()[0] = i as isize + 1;
            }
            match next {
                Some(i) if n == CHUNK => at = i,
                _ => {
                    d.state()[0] = isize::MAX;
                    return Ok(());
                }
            }
        }
    }
}

/// Sets FIB `fib`'s neighbour limit.
pub(crate) fn set_limit(fib: u32, limit: u32) -> core::result::Result<(), Fail> {
    let st = state().ok_or((ENODEV, c_str!("module going away")))?;
    let mut n = st.fwd.neigh.lock();
    n.table.set_limit(fib, Some(limit)).map_err(fwd::neigh_fail)
}

/// `CGL_FIB_CMD_SETFIB`.
pub(crate) struct SetFib;

impl DoIt for SetFib {
    fn doit(req: &mut Request<'_>) -> Result {
        admin(req)?;
        let fib = fib_id(req)?;
        let limit = req.require(A_NEIGH_LIMIT)?.u32()?;
        let st = state().ok_or(ENODEV)?;
        let _ctl = st.ctl.lock();
        fib_exists(req, fib)?;
        set_limit(fib, limit).map_err(|f| fail(req, f, Some(A_NEIGH_LIMIT)))
    }
}

/// The forwarding attributes of a FIB in a GETFIB reply.
pub(crate) fn put_fib_fwd(w: &mut Writer, fib: u32) -> Result {
    let st = state().ok_or(ENODEV)?;
    let (count, limit) = {
        let n = st.fwd.neigh.lock();
        (n.table.count(fib), n.table.limit(fib))
    };
    w.put_u32(A_NEIGHS, count)?;
    w.put_u32(A_NEIGH_LIMIT, limit)?;
    put_stats(w, &st.fwd.fib_stats(fib))
}

/// The NEIGH_LIMIT attribute of a request, if any.
pub(crate) fn limit_attr(req: &Request<'_>) -> Result<Option<u32>> {
    req.attr(A_NEIGH_LIMIT)
        .map(|a: Attr<'_>| a.u32())
        .transpose()
}
