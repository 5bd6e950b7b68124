// SPDX-License-Identifier: GPL-2.0

//! Route requests of the multi-FIB module, as bytes: the netlink attribute
//! stream of a route (a `CGL_FIB_A_ROUTE` nest of a batch, or the request's
//! own attributes) and the `struct cgl_fib_ioc_route` image of the ioctls
//! (`include/uapi/linux/cgl_fib.h`), decoded and checked into a
//! [`RouteSpec`].
//!
//! Only `core` is used: the file is built into the kernel module, whose
//! netlink and ioctl glue call it, and, unchanged, into the host test crate
//! and its fuzzers. Refusals carry the errno and extack message the
//! requester gets ([`Reject`]); what needs the kernel (does an interface
//! exist) is asked through a callback at the point the check is made.
//!
//! Netlink policy: genetlink validates the request's attributes, and each
//! entry of a batch (`NLA_NESTED_ARRAY`), against the family's policy
//! before a handler runs. [`route_spec`] reads attributes as leniently as
//! the handler always did (any length from the type's size up);
//! [`check_batch_policy`] is that policy, for callers that get bytes no
//! policy has seen (fuzzers, tests).

use core::ffi::CStr;

/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `ERANGE`.
pub const ERANGE: i32 = 34;
/// `ENODEV`.
pub const ENODEV: i32 = 19;
/// `E2BIG`.
pub const E2BIG: i32 = 7;

/// `CGL_FIB_A_FIB_ID`.
pub const A_FIB_ID: u16 = 1;
/// `CGL_FIB_A_FAMILY`.
pub const A_FAMILY: u16 = 2;
/// `CGL_FIB_A_DST`.
pub const A_DST: u16 = 3;
/// `CGL_FIB_A_DST_LEN`.
pub const A_DST_LEN: u16 = 4;
/// `CGL_FIB_A_TYPE`.
pub const A_TYPE: u16 = 5;
/// `CGL_FIB_A_GATEWAY`.
pub const A_GATEWAY: u16 = 6;
/// `CGL_FIB_A_OIF`.
pub const A_OIF: u16 = 7;
/// `CGL_FIB_A_METRIC`.
pub const A_METRIC: u16 = 8;

/// `CGL_FIB_BATCH_MAX`: most routes in one batch.
pub const BATCH_MAX: usize = 4096;

/// `NLA_HDRLEN`.
pub const NLA_HDRLEN: usize = 4;
/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// `NLA_F_NET_BYTEORDER`.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// `NLA_TYPE_MASK`.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// `NLA_ALIGN()`.
pub const fn nla_align(len: usize) -> usize {
    (len + 3) & !3
}

/// Why a request is refused: the errno and the extack message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Reject {
    /// Positive errno.
    pub errno: i32,
    /// Extack message (the ioctls report only the errno).
    pub msg: &'static CStr,
}

const fn reject(errno: i32, msg: &'static CStr) -> Reject {
    Reject { errno, msg }
}

impl Reject {
    /// An IPv4 address of another length than 4 bytes.
    pub const V4_ADDR_LEN: Reject = reject(EINVAL, c"an IPv4 address is 4 bytes");
    /// An IPv6 address of another length than 16 bytes.
    pub const V6_ADDR_LEN: Reject = reject(EINVAL, c"an IPv6 address is 16 bytes");
    /// No `DST`.
    pub const NO_DST: Reject = reject(EINVAL, c"missing destination (DST)");
    /// No `DST_LEN`.
    pub const NO_DST_LEN: Reject = reject(EINVAL, c"missing prefix length (DST_LEN)");
    /// A `DST_LEN` too short for a `u8`.
    pub const BAD_DST_LEN: Reject = reject(EINVAL, c"bad prefix length");
    /// A route type that is no `enum cgl_fib_rtype`.
    pub const BAD_TYPE: Reject = reject(EINVAL, c"bad route type");
    /// A gateway whose length is not the route's address length.
    pub const GATEWAY_FAMILY: Reject = reject(EINVAL, c"gateway of another family than the route");
    /// An `OIF` too short for a `u32`.
    pub const BAD_OIF: Reject = reject(EINVAL, c"bad interface index");
    /// An interface that does not exist (or index 0 in a batch that named
    /// another).
    pub const NO_DEVICE: Reject = reject(ENODEV, c"no such interface");
    /// A `METRIC` too short for a `u32`.
    pub const BAD_METRIC: Reject = reject(EINVAL, c"bad metric");
    /// A unicast route without gateway or interface.
    pub const UNICAST_NO_NEXTHOP: Reject =
        reject(EINVAL, c"a unicast route needs a gateway or an interface");
    /// Another route type with a gateway or an interface.
    pub const ONLY_UNICAST_NEXTHOP: Reject = reject(
        EINVAL,
        c"only unicast routes have a gateway or an interface",
    );
    /// A prefix length past the family's address bits.
    pub const PREFIX_LEN: Reject = reject(EINVAL, c"prefix length out of range for the family");
    /// Bits set after the prefix length.
    pub const HOST_BITS: Reject = reject(EINVAL, c"host bits set in the prefix");
    /// More than [`BATCH_MAX`] routes in a batch.
    pub const BATCH_TOO_LONG: Reject = reject(E2BIG, c"batch too long");
    /// Ioctl: flags the command does not know, `has_gateway` past 1, or
    /// reserved bytes set.
    pub const IOC_RESERVED: Reject = reject(EINVAL, c"unknown flags or reserved bytes set");

    // The policy's refusals, with `lib/nlattr.c`'s messages.

    /// Attribute type 0 or past the policy.
    pub const POLICY_UNKNOWN: Reject = reject(EINVAL, c"Unknown attribute type");
    /// A `u8` or `u32` attribute of another length.
    pub const POLICY_LENGTH: Reject = reject(EINVAL, c"invalid attribute length");
    /// `NLA_F_NESTED` on an attribute that is not a nest.
    pub const POLICY_NESTED_FLAG: Reject = reject(EINVAL, c"NLA_F_NESTED not expected");
    /// An attribute the policy rejects (`FIB_ID`, `FAMILY` in a route).
    pub const POLICY_REJECTED: Reject = reject(EINVAL, c"Attribute failed policy validation");
    /// A binary attribute past its largest length, or a batch of 1..3
    /// bytes.
    pub const POLICY_TOO_LONG: Reject = reject(ERANGE, c"Attribute failed policy validation");
    /// A `u8` past its range.
    pub const POLICY_RANGE: Reject = reject(ERANGE, c"integer out of range");
    /// Bytes after the last attribute of a route.
    pub const POLICY_TRAILING: Reject = reject(EINVAL, c"bytes leftover after parsing attributes");
    /// A batch entry of 1..3 payload bytes.
    pub const POLICY_SHORT_ENTRY: Reject = reject(ERANGE, c"Array element too short");
}

/// An address family.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// From `AF_INET`/`AF_INET6`.
    pub fn from_af(af: u8) -> Option<Self> {
        match af {
            2 => Some(Self::V4),
            10 => Some(Self::V6),
            _ => None,
        }
    }

    /// `AF_INET`/`AF_INET6`.
    pub fn af(self) -> u8 {
        match self {
            Self::V4 => 2,
            Self::V6 => 10,
        }
    }

    /// Address length in bytes.
    pub fn addr_len(self) -> usize {
        match self {
            Self::V4 => 4,
            Self::V6 => 16,
        }
    }

    /// Address length in bits.
    pub fn bits(self) -> u32 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }
}

/// Route types, as `enum cgl_fib_rtype`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum RouteType {
    /// Forward via gateway and/or interface.
    Unicast = 0,
    /// Drop silently.
    Blackhole = 1,
    /// Drop, ICMP unreachable.
    Unreachable = 2,
    /// Drop, ICMP administratively prohibited.
    Prohibit = 3,
}

impl RouteType {
    /// From the uapi value.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Unicast),
            1 => Some(Self::Blackhole),
            2 => Some(Self::Unreachable),
            3 => Some(Self::Prohibit),
            _ => None,
        }
    }
}

/// What a route forwards to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Nexthop {
    /// Route type.
    pub rtype: RouteType,
    /// Gateway length: 0 (none), 4 or 16 bytes.
    pub gw_len: u8,
    /// Gateway address, network order, in the first `gw_len` bytes.
    pub gw: [u8; 16],
    /// Output interface index, 0 if none.
    pub oif: u32,
    /// Metric (priority), informational.
    pub metric: u32,
}

/// One route's fields, from a request or from a batch entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RouteSpec {
    /// Destination as key bits (an IPv4 address in the low 32).
    pub dst: u128,
    /// Prefix length; checked against the family by [`check_prefix`].
    pub len: u8,
    /// Nexthop.
    pub nh: Nexthop,
}

/// `addr` with the bits after `len` cleared, for a family of `bits` (32
/// or 128).
pub fn mask(addr: u128, len: u8, bits: u32) -> u128 {
    let keep = u32::from(len).min(bits);
    if keep == 0 {
        return 0;
    }
    let m = u128::MAX.checked_shl(bits - keep).unwrap_or(0);
    let m = if bits == 32 { m & 0xffff_ffff } else { m };
    addr & m
}

/// The rule every route's prefix obeys: a length within the family's bits
/// and no bits set after it.
pub fn check_prefix(dst: u128, len: u8, bits: u32) -> Result<(), Reject> {
    if u32::from(len) > bits {
        return Err(Reject::PREFIX_LEN);
    }
    if mask(dst, len, bits) != dst {
        return Err(Reject::HOST_BITS);
    }
    Ok(())
}

/// An address of family `af` (network order) as key bits.
pub fn addr_bits(b: &[u8], af: Family) -> Result<u128, Reject> {
    if b.len() != af.addr_len() {
        return Err(match af {
            Family::V4 => Reject::V4_ADDR_LEN,
            Family::V6 => Reject::V6_ADDR_LEN,
        });
    }
    let mut buf = [0u8; 16];
    if let Some(d) = buf.get_mut(16 - b.len()..) {
        d.copy_from_slice(b);
    }
    Ok(u128::from_be_bytes(buf))
}

/// The rules every route's nexthop obeys, whatever interface it came
/// through: unicast routes have a gateway or an interface, other types
/// have neither.
pub fn check_nexthop(nh: &Nexthop) -> Result<(), Reject> {
    match nh.rtype {
        RouteType::Unicast if nh.gw_len == 0 && nh.oif == 0 => Err(Reject::UNICAST_NO_NEXTHOP),
        RouteType::Unicast => Ok(()),
        _ if nh.gw_len != 0 || nh.oif != 0 => Err(Reject::ONLY_UNICAST_NEXTHOP),
        _ => Ok(()),
    }
}

/// One netlink attribute.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Nla<'a> {
    /// `nla_type`, flags included.
    pub nla_type: u16,
    /// The payload: `nla_len - NLA_HDRLEN` bytes, without padding.
    pub payload: &'a [u8],
}

impl Nla<'_> {
    /// The type without `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`.
    pub fn kind(&self) -> u16 {
        self.nla_type & NLA_TYPE_MASK
    }
}

/// The attributes of a stream, in order, as `nla_for_each_attr()` walks
/// them: each one `NLA_ALIGN(nla_len)` after the last; the walk stops at
/// the end or at a header that does not fit (`!nla_ok()`), leaving
/// [`Attrs::rest`].
#[derive(Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// The attributes of `stream` (a nest's payload).
    pub fn new(stream: &'a [u8]) -> Self {
        Self { rest: stream }
    }

    /// What the walk has not consumed: after it ended, the bytes the
    /// kernel calls leftover (nothing when the last attribute's padding
    /// runs past the end).
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Nla<'a>;

    fn next(&mut self) -> Option<Nla<'a>> {
        let len = match self.rest {
            [l0, l1, _, _, ..] => usize::from(u16::from_ne_bytes([*l0, *l1])),
            _ => return None,
        };
        if len < NLA_HDRLEN || len > self.rest.len() {
            return None;
        }
        let nla_type = match self.rest {
            [_, _, t0, t1, ..] => u16::from_ne_bytes([*t0, *t1]),
            _ => return None,
        };
        let payload = self.rest.get(NLA_HDRLEN..len)?;
        self.rest = self.rest.get(nla_align(len)..).unwrap_or(&[]);
        Some(Nla { nla_type, payload })
    }
}

/// The route attributes of a request or batch entry: each the payload of
/// the last attribute of its type.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct RouteAttrs<'a> {
    /// `DST`.
    pub dst: Option<&'a [u8]>,
    /// `DST_LEN`.
    pub dst_len: Option<&'a [u8]>,
    /// `TYPE`.
    pub rtype: Option<&'a [u8]>,
    /// `GATEWAY`.
    pub gateway: Option<&'a [u8]>,
    /// `OIF`.
    pub oif: Option<&'a [u8]>,
    /// `METRIC`.
    pub metric: Option<&'a [u8]>,
}

impl<'a> RouteAttrs<'a> {
    /// From a lookup by attribute type (a parsed request).
    pub fn from_fn(mut get: impl FnMut(u16) -> Option<&'a [u8]>) -> Self {
        Self {
            dst: get(A_DST),
            dst_len: get(A_DST_LEN),
            rtype: get(A_TYPE),
            gateway: get(A_GATEWAY),
            oif: get(A_OIF),
            metric: get(A_METRIC),
        }
    }

    /// From a route nest's payload; other types are ignored, a later
    /// attribute of a type replaces an earlier one.
    pub fn parse(nest: &'a [u8]) -> Self {
        let mut r = Self::default();
        for a in Attrs::new(nest) {
            let slot = match a.kind() {
                A_DST => &mut r.dst,
                A_DST_LEN => &mut r.dst_len,
                A_TYPE => &mut r.rtype,
                A_GATEWAY => &mut r.gateway,
                A_OIF => &mut r.oif,
                A_METRIC => &mut r.metric,
                _ => continue,
            };
            *slot = Some(a.payload);
        }
        r
    }
}

/// The first byte.
fn read_u8(b: &[u8]) -> Option<u8> {
    b.first().copied()
}

/// The first four bytes as a host-order `u32`.
fn read_u32(b: &[u8]) -> Option<u32> {
    match b {
        [a, b, c, d, ..] => Some(u32::from_ne_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// Decodes and checks one route of family `af`. Refusals name the
/// offending attribute, if one is to blame.
///
/// `known_oif` is an interface already found to exist (0: none): a batch
/// names the same interface again and again, so only a new one is looked
/// up with `dev_exists`. An `OIF` of 0 is no interface while `known_oif`
/// is 0, and refused after a batch entry named one.
pub fn route_spec(
    af: Family,
    a: &RouteAttrs<'_>,
    known_oif: &mut u32,
    mut dev_exists: impl FnMut(u32) -> bool,
) -> Result<RouteSpec, (Reject, Option<u16>)> {
    let dst = a.dst.ok_or((Reject::NO_DST, Some(A_DST)))?;
    let dst = addr_bits(dst, af).map_err(|r| (r, Some(A_DST)))?;
    let len = a.dst_len.ok_or((Reject::NO_DST_LEN, Some(A_DST_LEN)))?;
    let len = read_u8(len).ok_or((Reject::BAD_DST_LEN, Some(A_DST_LEN)))?;
    let rtype = match a.rtype {
        Some(t) => read_u8(t)
            .and_then(RouteType::from_u8)
            .ok_or((Reject::BAD_TYPE, Some(A_TYPE)))?,
        None => RouteType::Unicast,
    };
    let mut nh = Nexthop {
        rtype,
        gw_len: 0,
        gw: [0; 16],
        oif: 0,
        metric: 0,
    };
    if let Some(g) = a.gateway {
        if g.len() != af.addr_len() {
            return Err((Reject::GATEWAY_FAMILY, Some(A_GATEWAY)));
        }
        if let Some(d) = nh.gw.get_mut(..g.len()) {
            d.copy_from_slice(g);
        }
        nh.gw_len = g.len() as u8;
    }
    if let Some(o) = a.oif {
        nh.oif = read_u32(o).ok_or((Reject::BAD_OIF, Some(A_OIF)))?;
        if nh.oif != *known_oif {
            if nh.oif == 0 || !dev_exists(nh.oif) {
                return Err((Reject::NO_DEVICE, Some(A_OIF)));
            }
            *known_oif = nh.oif;
        }
    }
    if let Some(m) = a.metric {
        nh.metric = read_u32(m).ok_or((Reject::BAD_METRIC, Some(A_METRIC)))?;
    }
    check_nexthop(&nh).map_err(|r| (r, None))?;
    Ok(RouteSpec { dst, len, nh })
}

/// How the policy checks one attribute type of a route nest.
#[derive(Clone, Copy)]
enum Rule {
    /// `NLA_REJECT`.
    Reject,
    /// `NLA_BINARY` of at most this many bytes.
    Binary(usize),
    /// `NLA_U8` in `0..=max`.
    U8(u8),
    /// `NLA_U32`.
    U32,
}

/// The netlink glue's `ROUTE_POLICY`, by type.
fn route_rule(kind: u16) -> Option<Rule> {
    Some(match kind {
        A_FIB_ID | A_FAMILY => Rule::Reject,
        A_DST | A_GATEWAY => Rule::Binary(16),
        A_DST_LEN => Rule::U8(128),
        A_TYPE => Rule::U8(3),
        A_OIF | A_METRIC => Rule::U32,
        _ => return None,
    })
}

/// Checks a route nest's payload as strict netlink validation
/// (`NL_VALIDATE_STRICT`) against `ROUTE_POLICY` does, in the same order
/// (`lib/nlattr.c`: `__nla_validate_parse()`, `validate_nla()`).
pub fn check_route_policy(nest: &[u8]) -> Result<(), Reject> {
    let mut it = Attrs::new(nest);
    for a in it.by_ref() {
        let rule = route_rule(a.kind()).ok_or(Reject::POLICY_UNKNOWN)?;
        let n = a.payload.len();
        let exact = match rule {
            Rule::U8(_) => Some(1),
            Rule::U32 => Some(4),
            Rule::Reject | Rule::Binary(_) => None,
        };
        if exact.is_some_and(|e| n != e) {
            return Err(Reject::POLICY_LENGTH);
        }
        if a.nla_type & NLA_F_NESTED != 0 {
            return Err(Reject::POLICY_NESTED_FLAG);
        }
        match rule {
            Rule::Reject => return Err(Reject::POLICY_REJECTED),
            Rule::Binary(max) if n > max => return Err(Reject::POLICY_TOO_LONG),
            Rule::U8(max) if read_u8(a.payload).is_some_and(|v| v > max) => {
                return Err(Reject::POLICY_RANGE)
            }
            _ => {}
        }
    }
    if !it.rest().is_empty() {
        return Err(Reject::POLICY_TRAILING);
    }
    Ok(())
}

/// Checks a `BATCH` attribute's payload as its policy
/// (`NLA_POLICY_NESTED_ARRAY(ROUTE_POLICY)`) does: empty entries pass,
/// entries of 1..3 bytes do not, the others are checked with
/// [`check_route_policy`]; bytes after the last entry are not checked.
pub fn check_batch_policy(batch: &[u8]) -> Result<(), Reject> {
    if !batch.is_empty() && batch.len() < NLA_HDRLEN {
        return Err(Reject::POLICY_TOO_LONG);
    }
    for e in Attrs::new(batch) {
        if e.payload.is_empty() {
            continue;
        }
        if e.payload.len() < NLA_HDRLEN {
            return Err(Reject::POLICY_SHORT_ENTRY);
        }
        check_route_policy(e.payload)?;
    }
    Ok(())
}

/// Where a batch's routes go, for [`apply_batch`]: sets one route, and
/// takes one back.
pub trait BatchTarget {
    /// What setting a route did, enough to take it back.
    type Undo: Copy;
    /// Why setting or taking back a route failed.
    type Err;
    /// Adds or replaces the route `r`.
    fn set(&mut self, r: &RouteSpec) -> Result<Self::Undo, Self::Err>;
    /// Takes back what [`BatchTarget::set`] did to `dst/len`.
    fn undo(&mut self, dst: u128, len: u8, u: Self::Undo) -> Result<(), Self::Err>;
    /// The batch stays: what `u` kept for an undo can go.
    fn commit(&mut self, u: Self::Undo);
    /// Called every [`PAUSE_EVERY`] routes set or taken back: a point
    /// where the kernel may reschedule. The default does nothing.
    fn pause(&mut self) {}
}

/// Routes between two [`BatchTarget::pause`] calls.
pub const PAUSE_EVERY: usize = 64;

/// One route a batch set, and how to take it back.
#[derive(Clone, Copy, Debug)]
pub struct Applied<U> {
    /// Destination as key bits.
    pub dst: u128,
    /// Prefix length.
    pub len: u8,
    /// What [`BatchTarget::set`] returned.
    pub undo: U,
}

/// Decodes every route of a `BATCH` payload with `decode` before any is
/// applied. Returns how many there are, or the index of the first that
/// fails and why (more than [`BATCH_MAX`]: [`Reject::BATCH_TOO_LONG`]).
pub fn check_batch<E: From<Reject>>(
    batch: &[u8],
    decode: &mut impl FnMut(&[u8]) -> Result<RouteSpec, E>,
) -> Result<usize, (usize, E)> {
    let mut n = 0;
    for (i, e) in Attrs::new(batch).enumerate() {
        if i >= BATCH_MAX {
            return Err((i, Reject::BATCH_TOO_LONG.into()));
        }
        decode(e.payload).map_err(|err| (i, err))?;
        n += 1;
    }
    Ok(n)
}

/// Applies a batch that [`check_batch`] passed, all or nothing: its routes
/// are set in order, and if one fails (it exists, the batch set it
/// already, memory ran out) those before it are taken back, last first,
/// so that a prefix the batch set twice gets back what it had before
/// the first. `log` holds what is needed for that, one entry per route;
/// routes past its length are not applied (make it as long as
/// `check_batch` counted). Returns the number of routes set; or the
/// index of the one that failed, why, and how many before it stayed
/// because taking them back failed too (0 unless memory ran out).
pub fn apply_batch<T: BatchTarget>(
    batch: &[u8],
    decode: &mut impl FnMut(&[u8]) -> Result<RouteSpec, T::Err>,
    t: &mut T,
    log: &mut [Applied<T::Undo>],
) -> Result<usize, (usize, T::Err, usize)> {
    let mut done = 0;
    let mut failed = None;
    for (e, slot) in Attrs::new(batch).zip(log.iter_mut()) {
        match decode(e.payload).and_then(|r| t.set(&r).map(|u| (r, u))) {
            Ok((r, undo)) => {
                *slot = Applied {
                    dst: r.dst,
                    len: r.len,
                    undo,
                };
                done += 1;
            }
            Err(err) => {
                failed = Some(err);
                break;
            }
        }
        if done % PAUSE_EVERY == 0 {
            t.pause();
        }
    }
    let set = log.get(..done).unwrap_or_default();
    let Some(err) = failed else {
        for a in set {
            t.commit(a.undo);
        }
        return Ok(done);
    };
    let mut kept = 0;
    for (j, a) in set.iter().rev().enumerate() {
        if t.undo(a.dst, a.len, a.undo).is_err() {
            kept += 1;
        }
        if (j + 1) % PAUSE_EVERY == 0 {
            t.pause();
        }
    }
    Err((done, err, kept))
}

/// Size of `struct cgl_fib_ioc_route`.
pub const IOC_ROUTE_LEN: usize = 52;
/// `CGL_FIB_IOC_F_REPLACE`.
pub const IOC_F_REPLACE: u8 = 1;
/// `CGL_FIB_IOC_F_EXACT`.
pub const IOC_F_EXACT: u8 = 2;

/// `struct cgl_fib_ioc_route`, field by field (host byte order for the
/// `__u32`s, no padding).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct IocRoute {
    /// FIB id (offset 0).
    pub fib_id: u32,
    /// `AF_INET` or `AF_INET6` (4).
    pub family: u8,
    /// Prefix length (5).
    pub dst_len: u8,
    /// `enum cgl_fib_rtype` (6).
    pub rtype: u8,
    /// `CGL_FIB_IOC_F_*` (7).
    pub flags: u8,
    /// Destination, network order; IPv4 in the first 4 bytes (8).
    pub dst: [u8; 16],
    /// Gateway, as `dst`; used if `has_gateway` (24).
    pub gateway: [u8; 16],
    /// 0 or 1 (40).
    pub has_gateway: u8,
    /// Must be 0 to add (41).
    pub reserved: [u8; 3],
    /// Interface index, 0 for none (44).
    pub oif: u32,
    /// Metric (48).
    pub metric: u32,
}

/// `N` bytes of `b` from `off` (zeros past the end, which a
/// `[u8; IOC_ROUTE_LEN]` never reaches).
fn take<const N: usize>(b: &[u8; IOC_ROUTE_LEN], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(off..off + N) {
        out.copy_from_slice(s);
    }
    out
}

/// Writes `v` into `b` at `off`.
fn put(b: &mut [u8; IOC_ROUTE_LEN], off: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(off..off + v.len()) {
        d.copy_from_slice(v);
    }
}

impl IocRoute {
    /// Decodes the image the ioctl copied from user space.
    pub fn from_bytes(b: &[u8; IOC_ROUTE_LEN]) -> Self {
        let [family, dst_len, rtype, flags] = take::<4>(b, 4);
        let [has_gateway, r0, r1, r2] = take::<4>(b, 40);
        Self {
            fib_id: u32::from_ne_bytes(take(b, 0)),
            family,
            dst_len,
            rtype,
            flags,
            dst: take(b, 8),
            gateway: take(b, 24),
            has_gateway,
            reserved: [r0, r1, r2],
            oif: u32::from_ne_bytes(take(b, 44)),
            metric: u32::from_ne_bytes(take(b, 48)),
        }
    }

    /// The image to copy back to user space.
    pub fn to_bytes(self) -> [u8; IOC_ROUTE_LEN] {
        let mut b = [0u8; IOC_ROUTE_LEN];
        put(&mut b, 0, &self.fib_id.to_ne_bytes());
        put(
            &mut b,
            4,
            &[self.family, self.dst_len, self.rtype, self.flags],
        );
        put(&mut b, 8, &self.dst);
        put(&mut b, 24, &self.gateway);
        put(&mut b, 40, &[self.has_gateway]);
        put(&mut b, 41, &self.reserved);
        put(&mut b, 44, &self.oif.to_ne_bytes());
        put(&mut b, 48, &self.metric.to_ne_bytes());
        b
    }

    /// The destination as key bits of family `af`.
    pub fn dst_bits(&self, af: Family) -> u128 {
        let mut buf = [0u8; 16];
        let n = af.addr_len();
        if let (Some(d), Some(s)) = (buf.get_mut(16 - n..), self.dst.get(..n)) {
            d.copy_from_slice(s);
        }
        u128::from_be_bytes(buf)
    }

    /// The route an add request of family `af` describes, checked as a
    /// netlink request is (the errnos are the same; the ioctl has no
    /// extack, so [`Reject::msg`] goes nowhere). `dev_exists` is asked
    /// about a nonzero `oif`.
    pub fn route_spec(
        &self,
        af: Family,
        dev_exists: impl FnOnce(u32) -> bool,
    ) -> Result<RouteSpec, Reject> {
        let rtype = RouteType::from_u8(self.rtype).ok_or(Reject::BAD_TYPE)?;
        if self.reserved != [0; 3] || self.has_gateway > 1 || self.flags & !IOC_F_REPLACE != 0 {
            return Err(Reject::IOC_RESERVED);
        }
        let mut nh = Nexthop {
            rtype,
            gw_len: 0,
            gw: [0; 16],
            oif: self.oif,
            metric: self.metric,
        };
        if self.has_gateway == 1 {
            let n = af.addr_len();
            if let (Some(d), Some(s)) = (nh.gw.get_mut(..n), self.gateway.get(..n)) {
                d.copy_from_slice(s);
            }
            nh.gw_len = n as u8;
        }
        if nh.oif != 0 && !dev_exists(nh.oif) {
            return Err(Reject::NO_DEVICE);
        }
        check_nexthop(&nh)?;
        Ok(RouteSpec {
            dst: self.dst_bits(af),
            len: self.dst_len,
            nh,
        })
    }
}
