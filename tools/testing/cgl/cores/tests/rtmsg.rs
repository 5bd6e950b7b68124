// SPDX-License-Identifier: GPL-2.0

//! The multi-FIB route request core (`net/cgl/fib/rtmsg.rs`): netlink
//! route nests and `struct cgl_fib_ioc_route` images built by hand (a tiny
//! attribute encoder here, byte literals for the golden cases), every
//! refusal with its errno, message and attribute, the batch policy as
//! `lib/nlattr.c` applies it, and properties: arbitrary bytes never panic,
//! valid routes round-trip through both encodings, the prefix rule is an
//! independent mask computation and the trie's own, and a batch is
//! applied all or nothing whichever of its routes fails.
//!
//! `CGL_RTMSG_SEED_DIR=<dir>` makes `seed_corpus` write the golden inputs
//! as seeds for the `fib_batch` and `fib_ioc_route` fuzz targets.

use cgl_cores::lpm::Key;
use cgl_cores::rtmsg::{
    apply_batch, check_batch, check_batch_policy, check_nexthop, check_prefix, check_route_policy,
    mask, route_spec, Applied, Attrs, BatchTarget, Family, IocRoute, Nexthop, Nla, Reject,
    RouteAttrs, RouteSpec, RouteType, BATCH_MAX, IOC_ROUTE_LEN, PAUSE_EVERY,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::cell::RefCell;
use std::collections::BTreeMap;

const EINVAL: i32 = 22;
const ERANGE: i32 = 34;
const ENODEV: i32 = 19;

const A_FIB_ID: u16 = 1;
const A_FAMILY: u16 = 2;
const A_DST: u16 = 3;
const A_DST_LEN: u16 = 4;
const A_TYPE: u16 = 5;
const A_GATEWAY: u16 = 6;
const A_OIF: u16 = 7;
const A_METRIC: u16 = 8;
const A_ROUTE: u16 = 12;
const F_NESTED: u16 = 0x8000;
const F_BYTEORDER: u16 = 0x4000;

/// One attribute: header (host order), payload, padding to 4 bytes.
fn nla(t: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + payload.len()).unwrap();
    let mut v = Vec::new();
    v.extend_from_slice(&len.to_ne_bytes());
    v.extend_from_slice(&t.to_ne_bytes());
    v.extend_from_slice(payload);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

fn u32a(t: u16, x: u32) -> Vec<u8> {
    nla(t, &x.to_ne_bytes())
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn msg(r: Reject) -> &'static str {
    r.msg.to_str().unwrap()
}

/// A refusal as (errno, message).
fn em(r: Reject) -> (i32, &'static str) {
    (r.errno, msg(r))
}

/// Decodes one nest of family `af`, with interfaces 1..=100 existing.
fn decode(af: Family, nest: &[u8]) -> Result<RouteSpec, (i32, &'static str, Option<u16>)> {
    route_spec(af, &RouteAttrs::parse(nest), &mut 0, |i| i <= 100)
        .map_err(|(r, a)| (r.errno, msg(r), a))
}

fn nh(rtype: RouteType, gw: &[u8], oif: u32, metric: u32) -> Nexthop {
    let mut g = [0u8; 16];
    g[..gw.len()].copy_from_slice(gw);
    Nexthop {
        rtype,
        gw_len: gw.len() as u8,
        gw: g,
        oif,
        metric,
    }
}

/// 10.1.0.0/16 via 192.0.2.1 dev 3 metric 7, written out byte by byte
/// (little-endian host).
const GOLDEN_V4: [u8; 48] = [
    8, 0, 3, 0, 10, 1, 0, 0, // DST 10.1.0.0
    5, 0, 4, 0, 16, 0, 0, 0, // DST_LEN 16 (+3 padding)
    5, 0, 5, 0, 0, 0, 0, 0, // TYPE unicast
    8, 0, 6, 0, 192, 0, 2, 1, // GATEWAY 192.0.2.1
    8, 0, 7, 0, 3, 0, 0, 0, // OIF 3
    8, 0, 8, 0, 7, 0, 0, 0, // METRIC 7
];

#[test]
fn golden_v4_entry() {
    let built = cat(&[
        nla(A_DST, &[10, 1, 0, 0]),
        nla(A_DST_LEN, &[16]),
        nla(A_TYPE, &[0]),
        nla(A_GATEWAY, &[192, 0, 2, 1]),
        u32a(A_OIF, 3),
        u32a(A_METRIC, 7),
    ]);
    if cfg!(target_endian = "little") {
        assert_eq!(built, GOLDEN_V4);
    }
    let want = RouteSpec {
        dst: 0x0a01_0000,
        len: 16,
        nh: nh(RouteType::Unicast, &[192, 0, 2, 1], 3, 7),
    };
    assert_eq!(decode(Family::V4, &built), Ok(want));
    assert_eq!(check_route_policy(&built), Ok(()));
    // The same route as one batch entry.
    let batch = nla(A_ROUTE | F_NESTED, &built);
    assert_eq!(check_batch_policy(&batch), Ok(()));
    let entries: Vec<Nla<'_>> = Attrs::new(&batch).collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].kind(), A_ROUTE);
    assert_eq!(entries[0].payload, &built[..]);
}

#[test]
fn golden_v6_blackhole() {
    // 2001:db8::/32 blackhole: no gateway, no interface.
    let mut dst = [0u8; 16];
    dst[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    let built = cat(&[nla(A_DST, &dst), nla(A_DST_LEN, &[32]), nla(A_TYPE, &[1])]);
    let mut golden = vec![20, 0, 3, 0, 0x20, 0x01, 0x0d, 0xb8];
    golden.extend_from_slice(&[0; 12]);
    golden.extend_from_slice(&[5, 0, 4, 0, 32, 0, 0, 0, 5, 0, 5, 0, 1, 0, 0, 0]);
    if cfg!(target_endian = "little") {
        assert_eq!(built, golden);
    }
    assert_eq!(
        decode(Family::V6, &built),
        Ok(RouteSpec {
            dst: 0x2001_0db8 << 96,
            len: 32,
            nh: nh(RouteType::Blackhole, &[], 0, 0),
        })
    );
    // The IPv4 rules refuse it: 16 bytes are no IPv4 address.
    assert_eq!(
        decode(Family::V4, &built),
        Err((EINVAL, "an IPv4 address is 4 bytes", Some(A_DST)))
    );
}

#[test]
fn walk_follows_nla_ok() {
    // A header that does not fit stops the walk and stays as leftover.
    let two = cat(&[nla(A_DST_LEN, &[1]), nla(A_TYPE, &[2])]);
    assert_eq!(Attrs::new(&two).count(), 2);
    for cut in 0..two.len() {
        let mut it = Attrs::new(&two[..cut]);
        let n = it.by_ref().count();
        let want = if cut >= 8 + 5 {
            2
        } else {
            usize::from(cut >= 5)
        };
        assert_eq!(n, want, "cut {cut}");
        // Leftover as the kernel counts it: what follows the last whole
        // attribute's padded end (nothing if the padding is cut).
        let consumed = match n {
            0 => 0,
            1 => 8.min(cut),
            _ => 16.min(cut),
        };
        assert_eq!(it.rest().len(), cut - consumed, "cut {cut}");
    }
    // nla_len below the header or past the end.
    for bad in [0u16, 1, 3, 9] {
        let mut b = bad.to_ne_bytes().to_vec();
        b.extend_from_slice(&A_DST.to_ne_bytes());
        b.extend_from_slice(&[1, 2, 3, 4]);
        let mut it = Attrs::new(&b);
        assert_eq!(it.next(), None, "nla_len {bad}");
        assert_eq!(it.rest().len(), 8);
    }
    // An empty attribute is one.
    let empty = nla(A_OIF, &[]);
    let got: Vec<_> = Attrs::new(&empty).collect();
    assert_eq!(got.len(), 1);
    assert!(got[0].payload.is_empty());
    // The flags are masked off the type, and kept in nla_type.
    let f = nla(A_DST_LEN | F_NESTED | F_BYTEORDER, &[8]);
    let a = Attrs::new(&f).next().unwrap();
    assert_eq!(a.kind(), A_DST_LEN);
    assert_eq!(a.nla_type, A_DST_LEN | F_NESTED | F_BYTEORDER);
}

#[test]
fn parse_keeps_the_last_of_each_type() {
    let nest = cat(&[
        nla(A_DST, &[10, 0, 0, 0]),
        nla(A_DST_LEN, &[8]),
        nla(A_DST, &[10, 2, 0, 0]),
        nla(A_DST_LEN | F_BYTEORDER, &[16]),
        nla(A_FIB_ID, &[1, 0, 0, 0]),
        nla(200, &[1]),
        nla(0, &[]),
        nla(A_TYPE, &[1]),
    ]);
    let a = RouteAttrs::parse(&nest);
    assert_eq!(a.dst, Some(&[10, 2, 0, 0][..]));
    assert_eq!(a.dst_len, Some(&[16][..]));
    assert_eq!(a.rtype, Some(&[1][..]));
    assert_eq!((a.gateway, a.oif, a.metric), (None, None, None));
    assert_eq!(
        decode(Family::V4, &nest).map(|r| (r.dst, r.len)),
        Ok((0x0a02_0000, 16))
    );
    let by_type = RouteAttrs::from_fn(|t| (t == A_OIF).then_some(&[9u8, 0, 0, 0][..]));
    assert_eq!(by_type.oif, Some(&[9, 0, 0, 0][..]));
    assert_eq!(by_type.dst, None);
}

#[test]
fn every_refusal() {
    let v4 = |p: &[Vec<u8>]| decode(Family::V4, &cat(p));
    let v6 = |p: &[Vec<u8>]| decode(Family::V6, &cat(p));
    let d4 = nla(A_DST, &[10, 9, 0, 0]);
    let l16 = nla(A_DST_LEN, &[16]);
    let bh = nla(A_TYPE, &[1]);
    let cases: Vec<(_, (i32, &str, Option<u16>))> = vec![
        (
            v4(std::slice::from_ref(&l16)),
            (EINVAL, "missing destination (DST)", Some(A_DST)),
        ),
        (
            v4(&[nla(A_DST, &[10, 0, 0, 0, 0]), l16.clone()]),
            (EINVAL, "an IPv4 address is 4 bytes", Some(A_DST)),
        ),
        (
            v6(&[nla(A_DST, &[0; 4]), l16.clone()]),
            (EINVAL, "an IPv6 address is 16 bytes", Some(A_DST)),
        ),
        (
            v4(std::slice::from_ref(&d4)),
            (EINVAL, "missing prefix length (DST_LEN)", Some(A_DST_LEN)),
        ),
        (
            v4(&[d4.clone(), nla(A_DST_LEN, &[])]),
            (EINVAL, "bad prefix length", Some(A_DST_LEN)),
        ),
        (
            v4(&[d4.clone(), l16.clone(), nla(A_TYPE, &[4])]),
            (EINVAL, "bad route type", Some(A_TYPE)),
        ),
        (
            v4(&[d4.clone(), l16.clone(), nla(A_TYPE, &[])]),
            (EINVAL, "bad route type", Some(A_TYPE)),
        ),
        (
            v4(&[d4.clone(), l16.clone(), nla(A_GATEWAY, &[0; 16])]),
            (
                EINVAL,
                "gateway of another family than the route",
                Some(A_GATEWAY),
            ),
        ),
        (
            v6(&[nla(A_DST, &[0; 16]), l16.clone(), nla(A_GATEWAY, &[1; 4])]),
            (
                EINVAL,
                "gateway of another family than the route",
                Some(A_GATEWAY),
            ),
        ),
        (
            v4(&[d4.clone(), l16.clone(), nla(A_OIF, &[1, 0, 0])]),
            (EINVAL, "bad interface index", Some(A_OIF)),
        ),
        (
            v4(&[d4.clone(), l16.clone(), u32a(A_OIF, 999_999)]),
            (ENODEV, "no such interface", Some(A_OIF)),
        ),
        (
            v4(&[d4.clone(), l16.clone(), u32a(A_OIF, 1), nla(A_METRIC, &[1])]),
            (EINVAL, "bad metric", Some(A_METRIC)),
        ),
        (
            v4(&[d4.clone(), l16.clone()]),
            (
                EINVAL,
                "a unicast route needs a gateway or an interface",
                None,
            ),
        ),
        (
            v4(&[d4.clone(), l16.clone(), bh.clone(), u32a(A_OIF, 2)]),
            (
                EINVAL,
                "only unicast routes have a gateway or an interface",
                None,
            ),
        ),
        (
            v4(&[
                d4.clone(),
                l16.clone(),
                nla(A_TYPE, &[3]),
                nla(A_GATEWAY, &[1; 4]),
            ]),
            (
                EINVAL,
                "only unicast routes have a gateway or an interface",
                None,
            ),
        ),
    ];
    for (i, (got, want)) in cases.into_iter().enumerate() {
        assert_eq!(got, Err(want), "case {i}");
    }
    // The first problem wins: a missing DST before a bad type.
    assert_eq!(
        v4(&[nla(A_TYPE, &[9])]),
        Err((EINVAL, "missing destination (DST)", Some(A_DST)))
    );
    // Longer u8/u32 payloads are read by their first bytes (the policy
    // refuses them before the handler).
    assert_eq!(
        v4(&[
            d4.clone(),
            nla(A_DST_LEN, &[16, 9]),
            bh.clone(),
            nla(A_METRIC, &[5, 0, 0, 0, 9])
        ])
        .map(|r| (r.len, r.nh.metric)),
        Ok((16, u32::from_ne_bytes([5, 0, 0, 0])))
    );
}

#[test]
fn interfaces_are_looked_up_once() {
    let entry = |oif: u32| {
        cat(&[
            nla(A_DST, &[10, 0, 0, 0]),
            nla(A_DST_LEN, &[8]),
            u32a(A_OIF, oif),
        ])
    };
    let asked = RefCell::new(Vec::new());
    let exists = |i: u32| {
        asked.borrow_mut().push(i);
        i == 4 || i == 5
    };
    let mut known = 0;
    let mut run = |oif: u32| {
        route_spec(
            Family::V4,
            &RouteAttrs::parse(&entry(oif)),
            &mut known,
            &exists,
        )
        .map(|r| r.nh.oif)
        .map_err(|(r, a)| (em(r), a))
    };
    assert_eq!(run(4), Ok(4));
    assert_eq!(run(4), Ok(4));
    assert_eq!(run(5), Ok(5));
    assert_eq!(run(6), Err(((ENODEV, "no such interface"), Some(A_OIF))));
    // Interface 0 after a batch entry named one is refused.
    assert_eq!(run(0), Err(((ENODEV, "no such interface"), Some(A_OIF))));
    assert_eq!(*asked.borrow(), [4, 5, 6]);
    // With no interface known, OIF 0 is no interface: a unicast route
    // without a nexthop.
    assert_eq!(
        route_spec(Family::V4, &RouteAttrs::parse(&entry(0)), &mut 0, |_| true)
            .map_err(|(r, a)| (em(r), a)),
        Err((
            (EINVAL, "a unicast route needs a gateway or an interface"),
            None
        ))
    );
}

#[test]
fn nexthop_rules() {
    use RouteType::*;
    for t in [Unicast, Blackhole, Unreachable, Prohibit] {
        for (gw, oif) in [
            (&[][..], 0),
            (&[1, 2, 3, 4][..], 0),
            (&[][..], 1),
            (&[1; 16][..], 9),
        ] {
            let r = check_nexthop(&nh(t, gw, oif, 0));
            let has = !gw.is_empty() || oif != 0;
            let want = match (t == Unicast, has) {
                (true, true) | (false, false) => Ok(()),
                (true, false) => Err((EINVAL, "a unicast route needs a gateway or an interface")),
                (false, true) => {
                    Err((EINVAL, "only unicast routes have a gateway or an interface"))
                }
            };
            assert_eq!(r.map_err(em), want, "{t:?} {gw:?} {oif}");
        }
    }
    assert_eq!(RouteType::from_u8(4), None);
    assert_eq!(RouteType::from_u8(3), Some(Prohibit));
}

#[test]
fn prefix_rule() {
    let bad_len = Err((EINVAL, "prefix length out of range for the family"));
    let host = Err((EINVAL, "host bits set in the prefix"));
    assert_eq!(check_prefix(0x0a00_0000, 8, 32).map_err(em), Ok(()));
    assert_eq!(check_prefix(0x0a00_0001, 8, 32).map_err(em), host);
    assert_eq!(check_prefix(0, 33, 32).map_err(em), bad_len);
    assert_eq!(check_prefix(0, 129, 128).map_err(em), bad_len);
    assert_eq!(check_prefix(u128::MAX, 128, 128).map_err(em), Ok(()));
    assert_eq!(check_prefix(0xffff_ffff, 32, 32).map_err(em), Ok(()));
    assert_eq!(check_prefix(1, 0, 128).map_err(em), host);
    assert_eq!(mask(0x0a01_0203, 16, 32), 0x0a01_0000);
    assert_eq!(mask(u128::MAX, 0, 128), 0);
    assert_eq!(mask(u128::MAX, 200, 32), 0xffff_ffff);
}

#[test]
fn batch_policy() {
    let ok = cat(&[
        nla(A_DST, &[10, 0, 0, 0]),
        nla(A_DST_LEN, &[8]),
        nla(A_TYPE, &[1]),
    ]);
    let entry = |p: &[u8]| nla(A_ROUTE | F_NESTED, p);
    let pol = |p: Vec<u8>| check_route_policy(&p).map_err(em);
    assert_eq!(check_batch_policy(&[]), Ok(()));
    assert_eq!(
        check_batch_policy(&[4, 0]).map_err(em),
        Err((ERANGE, "Attribute failed policy validation"))
    );
    // Empty entries pass (and reach the handler); 1..3 bytes do not.
    assert_eq!(check_batch_policy(&entry(&[])), Ok(()));
    assert_eq!(
        check_batch_policy(&cat(&[entry(&ok), entry(&[1, 2])])).map_err(em),
        Err((ERANGE, "Array element too short"))
    );
    // Entry types and flags are not checked, nor bytes after the last.
    let mut any = nla(77, &ok);
    any.extend_from_slice(&[1, 2, 3]);
    assert_eq!(check_batch_policy(&any), Ok(()));
    // Inside an entry, ROUTE_POLICY in the kernel's order.
    assert_eq!(pol(ok.clone()), Ok(()));
    let unknown = Err((EINVAL, "Unknown attribute type"));
    assert_eq!(pol(nla(0, &[])), unknown);
    assert_eq!(pol(nla(9, &[1])), unknown);
    assert_eq!(pol(nla(9 | F_NESTED, &[1])), unknown);
    let length = Err((EINVAL, "invalid attribute length"));
    assert_eq!(pol(nla(A_DST_LEN, &[])), length);
    assert_eq!(pol(nla(A_TYPE, &[1, 0])), length);
    assert_eq!(pol(nla(A_OIF, &[1, 0, 0])), length);
    assert_eq!(pol(nla(A_METRIC, &[0; 8])), length);
    // The length is checked before the flag.
    assert_eq!(pol(nla(A_METRIC | F_NESTED, &[0; 8])), length);
    let flag = Err((EINVAL, "NLA_F_NESTED not expected"));
    assert_eq!(pol(nla(A_DST | F_NESTED, &[0; 4])), flag);
    assert_eq!(pol(nla(A_FIB_ID | F_NESTED, &[0; 4])), flag);
    // NLA_F_NET_BYTEORDER is ignored.
    assert_eq!(pol(u32a(A_OIF | F_BYTEORDER, 1)), Ok(()));
    let rejected = Err((EINVAL, "Attribute failed policy validation"));
    assert_eq!(pol(u32a(A_FIB_ID, 1)), rejected);
    assert_eq!(pol(nla(A_FAMILY, &[2])), rejected);
    let long = Err((ERANGE, "Attribute failed policy validation"));
    assert_eq!(pol(nla(A_DST, &[0; 17])), long);
    assert_eq!(pol(nla(A_GATEWAY, &[0; 17])), long);
    assert_eq!(pol(nla(A_DST, &[])), Ok(()));
    let range = Err((ERANGE, "integer out of range"));
    assert_eq!(pol(nla(A_DST_LEN, &[129])), range);
    assert_eq!(pol(nla(A_DST_LEN, &[128])), Ok(()));
    assert_eq!(pol(nla(A_TYPE, &[4])), range);
    assert_eq!(pol(nla(A_TYPE, &[3])), Ok(()));
    let trailing = Err((EINVAL, "bytes leftover after parsing attributes"));
    assert_eq!(pol(cat(&[ok.clone(), vec![0, 0, 0]])), trailing);
    assert_eq!(pol(cat(&[ok.clone(), vec![3, 0, 3, 0]])), trailing);
    // A last attribute without its padding is whole.
    let mut unpadded = cat(&[ok.clone(), nla(A_DST_LEN, &[8])]);
    unpadded.truncate(unpadded.len() - 3);
    assert_eq!(pol(unpadded), Ok(()));
    // The first bad attribute is reported.
    assert_eq!(pol(cat(&[nla(A_TYPE, &[9]), u32a(A_FIB_ID, 1)])), range);
    // A batch reports its first bad entry's problem.
    assert_eq!(
        check_batch_policy(&cat(&[entry(&ok), entry(&nla(A_TYPE, &[7]))])).map_err(em),
        range
    );
}

/// `cgl_fib_ioc_route` for 10.1.0.0/16 via 192.0.2.1 dev 3 metric 7 in
/// FIB 0x01020304, replace, written out by field (little-endian host).
fn golden_ioc() -> [u8; IOC_ROUTE_LEN] {
    let mut b = [0u8; IOC_ROUTE_LEN];
    b[0..4].copy_from_slice(&[4, 3, 2, 1]);
    b[4..8].copy_from_slice(&[2, 16, 0, 1]);
    b[8..12].copy_from_slice(&[10, 1, 0, 0]);
    b[24..28].copy_from_slice(&[192, 0, 2, 1]);
    b[40] = 1;
    b[44] = 3;
    b[48] = 7;
    b
}

#[test]
fn ioc_golden() {
    let b = golden_ioc();
    let r = IocRoute::from_bytes(&b);
    if cfg!(target_endian = "little") {
        assert_eq!(r.fib_id, 0x0102_0304);
        assert_eq!((r.oif, r.metric), (3, 7));
    }
    assert_eq!(
        (r.family, r.dst_len, r.rtype, r.flags, r.has_gateway),
        (2, 16, 0, 1, 1)
    );
    assert_eq!(r.to_bytes(), b);
    let af = Family::from_af(r.family).unwrap();
    assert_eq!(r.dst_bits(af), 0x0a01_0000);
    let spec = r.route_spec(af, |i| i == 3).unwrap();
    // The netlink encoding of the same route decodes to the same spec.
    let nl = cat(&[
        nla(A_DST, &[10, 1, 0, 0]),
        nla(A_DST_LEN, &[16]),
        nla(A_TYPE, &[0]),
        nla(A_GATEWAY, &[192, 0, 2, 1]),
        u32a(A_OIF, 3),
        u32a(A_METRIC, 7),
    ]);
    assert_eq!(decode(Family::V4, &nl), Ok(spec));
}

#[test]
fn ioc_refusals() {
    let base = IocRoute {
        family: 2,
        dst_len: 16,
        rtype: 1,
        dst: [10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ..IocRoute::default()
    };
    let check = |f: &dyn Fn(&mut IocRoute)| {
        let mut r = base;
        f(&mut r);
        r.route_spec(Family::V4, |i| i == 3).map_err(|e| e.errno)
    };
    assert!(check(&|_| ()).is_ok());
    assert_eq!(check(&|r| r.rtype = 4), Err(EINVAL));
    assert_eq!(check(&|r| r.reserved = [0, 1, 0]), Err(EINVAL));
    assert_eq!(check(&|r| r.has_gateway = 2), Err(EINVAL));
    assert_eq!(check(&|r| r.flags = 2), Err(EINVAL));
    assert!(check(&|r| r.flags = 1).is_ok());
    assert_eq!(check(&|r| r.oif = 4), Err(ENODEV));
    // ENODEV before the nexthop rules, as for netlink.
    assert_eq!(
        check(&|r| {
            r.rtype = 1;
            r.oif = 4
        }),
        Err(ENODEV)
    );
    assert_eq!(check(&|r| r.oif = 3), Err(EINVAL));
    assert_eq!(check(&|r| r.rtype = 0), Err(EINVAL));
    assert!(check(&|r| {
        r.rtype = 0;
        r.oif = 3
    })
    .is_ok());
    assert_eq!(
        check(&|r| {
            r.rtype = 2;
            r.has_gateway = 1
        }),
        Err(EINVAL)
    );
    // Bytes of the gateway past the family's length are not used.
    let mut r = base;
    r.rtype = 0;
    r.has_gateway = 1;
    r.gateway = [7; 16];
    let s = r.route_spec(Family::V4, |_| false).unwrap();
    assert_eq!(s.nh.gw_len, 4);
    assert_eq!(s.nh.gw, [7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Which check refused, for the fuzzers and tests.
    let mut r = base;
    r.flags = 0x80;
    assert_eq!(
        r.route_spec(Family::V4, |_| true),
        Err(Reject::IOC_RESERVED)
    );
    r.rtype = 9;
    assert_eq!(r.route_spec(Family::V4, |_| true), Err(Reject::BAD_TYPE));
}

/// Whether `dst/len` may be a route: the length fits and no bit after it
/// is set, computed bit by bit.
fn prefix_ok(dst: u128, len: u8, bits: u32) -> bool {
    u32::from(len) <= bits && (u32::from(len)..bits).all(|i| dst >> (bits - 1 - i) & 1 == 0)
}

#[derive(Debug, Clone)]
struct Route {
    af: Family,
    dst: u128,
    len: u8,
    rtype: RouteType,
    gw: Option<[u8; 16]>,
    oif: u32,
    metric: Option<u32>,
}

fn route() -> impl Strategy<Value = Route> {
    (
        any::<bool>(),
        any::<u128>(),
        0u8..=128,
        0u8..4,
        any::<bool>(),
        prop_oneof![Just(0u32), 1u32..=100],
        proptest::option::of(any::<u32>()),
        any::<[u8; 16]>(),
    )
        .prop_filter_map(
            "unicast needs a nexthop",
            |(v6, dst, len, t, has_gw, oif, metric, gw)| {
                let af = if v6 { Family::V6 } else { Family::V4 };
                let bits = af.bits();
                let len = len.min(bits as u8);
                let dst = mask(dst, len, bits);
                let rtype = RouteType::from_u8(t)?;
                let unicast = rtype == RouteType::Unicast;
                let (gw, oif) = if unicast {
                    (has_gw.then_some(gw), oif)
                } else {
                    (None, 0)
                };
                if unicast && gw.is_none() && oif == 0 {
                    return None;
                }
                let gw = gw.map(|mut g| {
                    g[af.addr_len()..].fill(0);
                    g
                });
                Some(Route {
                    af,
                    dst,
                    len,
                    rtype,
                    gw,
                    oif,
                    metric,
                })
            },
        )
}

impl Route {
    fn nest(&self) -> Vec<u8> {
        let n = self.af.addr_len();
        let mut v = nla(A_DST, &self.dst.to_be_bytes()[16 - n..]);
        v.extend(nla(A_DST_LEN, &[self.len]));
        if self.rtype != RouteType::Unicast || self.dst & 1 == 0 {
            v.extend(nla(A_TYPE, &[self.rtype as u8]));
        }
        if let Some(g) = self.gw {
            v.extend(nla(A_GATEWAY, &g[..n]));
        }
        if self.oif != 0 {
            v.extend(u32a(A_OIF, self.oif));
        }
        if let Some(m) = self.metric {
            v.extend(u32a(A_METRIC, m));
        }
        v
    }

    fn ioc(&self) -> IocRoute {
        let n = self.af.addr_len();
        let mut r = IocRoute {
            family: self.af.af(),
            dst_len: self.len,
            rtype: self.rtype as u8,
            oif: self.oif,
            metric: self.metric.unwrap_or(0),
            ..IocRoute::default()
        };
        r.dst[..n].copy_from_slice(&self.dst.to_be_bytes()[16 - n..]);
        if let Some(g) = self.gw {
            r.has_gateway = 1;
            r.gateway = g;
        }
        r
    }

    fn spec(&self) -> RouteSpec {
        let gw = self
            .gw
            .as_ref()
            .map_or(&[][..], |g| &g[..self.af.addr_len()]);
        RouteSpec {
            dst: self.dst,
            len: self.len,
            nh: nh(self.rtype, gw, self.oif, self.metric.unwrap_or(0)),
        }
    }
}

/// Attribute streams that look like route nests: mostly the route's
/// types with lengths and values the policy takes, sometimes other types,
/// lengths, values and flags, and a cut end.
fn noisy_nest() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![8 => 3u16..=8, 1 => 0u16..11];
    let len = prop_oneof![3 => Just(1usize), 3 => Just(4), 2 => Just(16), 1 => 0usize..20];
    let val = prop_oneof![2 => 0u8..4, 1 => 0u8..=140, 1 => any::<u8>()];
    let flags = prop_oneof![8 => Just(0u16), 1 => 0u16..4];
    let cut = prop_oneof![8 => Just(0usize), 1 => 1usize..4];
    let one = (kind, len, val, flags);
    (proptest::collection::vec(one, 0..9), cut).prop_map(|(attrs, cut)| {
        let mut v = Vec::new();
        for (t, n, b, fl) in attrs {
            let p = vec![b; n];
            v.extend(nla(t | fl << 14, &p));
        }
        let keep = v.len().saturating_sub(cut);
        v.truncate(keep);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300), v6 in any::<bool>()) {
        let af = if v6 { Family::V6 } else { Family::V4 };
        let _ = check_batch_policy(&b);
        let _ = check_route_policy(&b);
        let mut known = 0;
        for e in Attrs::new(&b) {
            let _ = route_spec(af, &RouteAttrs::parse(e.payload), &mut known, |i| i % 2 == 0);
        }
        let _ = route_spec(af, &RouteAttrs::parse(&b), &mut 0, |_| true);
        let mut img = [0u8; IOC_ROUTE_LEN];
        for (d, s) in img.iter_mut().zip(&b) {
            *d = *s;
        }
        let r = IocRoute::from_bytes(&img);
        prop_assert_eq!(r.to_bytes(), img);
        if let Some(af) = Family::from_af(r.family) {
            let _ = r.route_spec(af, |_| true);
        }
        let _ = r.route_spec(af, |_| false);
    }

    #[test]
    fn valid_routes_round_trip(r in route()) {
        let nest = r.nest();
        prop_assert_eq!(check_route_policy(&nest), Ok(()));
        prop_assert_eq!(check_batch_policy(&nla(A_ROUTE | F_NESTED, &nest)), Ok(()));
        let got = route_spec(r.af, &RouteAttrs::parse(&nest), &mut 0, |i| i <= 100);
        prop_assert_eq!(got, Ok(r.spec()));
        let ioc = r.ioc();
        let img = ioc.to_bytes();
        let back = IocRoute::from_bytes(&img);
        prop_assert_eq!(back, ioc);
        prop_assert_eq!(back.route_spec(r.af, |i| i <= 100), Ok(r.spec()));
        prop_assert_eq!(check_prefix(r.dst, r.len, r.af.bits()), Ok(()));
    }

    #[test]
    fn policy_valid_nests_never_need_the_lenient_reads(nest in noisy_nest(), v6 in any::<bool>()) {
        let af = if v6 { Family::V6 } else { Family::V4 };
        if check_route_policy(&nest).is_ok() {
            let r = route_spec(af, &RouteAttrs::parse(&nest), &mut 0, |_| true);
            if let Err((e, _)) = r {
                prop_assert!(
                    ![Reject::BAD_DST_LEN, Reject::BAD_TYPE, Reject::BAD_OIF, Reject::BAD_METRIC].contains(&e),
                    "{:?}", e
                );
            }
        }
    }

    #[test]
    fn prefix_rule_is_the_mask_and_the_tries(dst in any::<u128>(), len in any::<u8>(), v6 in any::<bool>(), keep in 0u32..=129) {
        let bits = if v6 { 128 } else { 32 };
        // Often a prefix with its host bits clear.
        let dst = if v6 { dst } else { dst & 0xffff_ffff };
        let dst = if keep <= bits { mask(dst, keep as u8, bits) } else { dst };
        let ours = check_prefix(dst, len, bits);
        prop_assert_eq!(ours.is_ok(), prefix_ok(dst, len, bits));
        if u32::from(len) > bits {
            prop_assert_eq!(ours, Err(Reject::PREFIX_LEN));
        } else {
            let trie = if v6 {
                dst.host_bits_clear(u32::from(len))
            } else {
                (dst as u32).host_bits_clear(u32::from(len))
            };
            prop_assert_eq!(ours.is_ok(), trie);
            prop_assert_eq!(ours.is_err(), ours == Err(Reject::HOST_BITS));
            let m = if v6 { dst.mask(u32::from(len)) } else { u128::from((dst as u32).mask(u32::from(len))) };
            prop_assert_eq!(mask(dst, len, bits), m);
        }
    }
}

#[test]
fn seed_corpus() {
    let Some(dir) = std::env::var_os("CGL_RTMSG_SEED_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let batch = dir.join("fib_batch");
    let ioc = dir.join("fib_ioc_route");
    std::fs::create_dir_all(&batch).unwrap();
    std::fs::create_dir_all(&ioc).unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let routes: Vec<Route> = (0..16)
        .map(|_| route().new_tree(&mut runner).unwrap().current())
        .collect();
    let mut all = Vec::new();
    for (i, r) in routes.iter().enumerate() {
        let e = nla(A_ROUTE | F_NESTED, &r.nest());
        std::fs::write(batch.join(format!("route{i}")), &e).unwrap();
        all.extend(e);
        std::fs::write(ioc.join(format!("route{i}")), r.ioc().to_bytes()).unwrap();
    }
    std::fs::write(batch.join("all"), &all).unwrap();
    std::fs::write(batch.join("golden_v4"), nla(A_ROUTE | F_NESTED, &GOLDEN_V4)).unwrap();
    std::fs::write(ioc.join("golden"), golden_ioc()).unwrap();
}

// ---- batches: all or nothing ----

/// A FIB as a batch sees it: prefix -> metric (standing for the nexthop),
/// with failures injected: the `fail_set`-th call of `set` (0-based)
/// fails as if memory ran out, and so do the undos of the prefixes in
/// `fail_undo`.
#[derive(Default)]
struct Model {
    routes: BTreeMap<(u128, u8), u32>,
    replace: bool,
    sets: usize,
    fail_set: Option<usize>,
    fail_undo: Vec<(u128, u8)>,
    commits: usize,
    pauses: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum MErr {
    Exists,
    NoMemory,
    Bad(&'static str),
}

impl From<Reject> for MErr {
    fn from(r: Reject) -> Self {
        MErr::Bad(msg(r))
    }
}

impl BatchTarget for Model {
    /// The metric a replaced route had (`None`: added).
    type Undo = Option<u32>;
    type Err = MErr;

    fn set(&mut self, r: &RouteSpec) -> Result<Option<u32>, MErr> {
        let n = self.sets;
        self.sets += 1;
        if self.fail_set == Some(n) {
            return Err(MErr::NoMemory);
        }
        let k = (r.dst, r.len);
        match self.routes.get(&k) {
            Some(_) if !self.replace => Err(MErr::Exists),
            _ => Ok(self.routes.insert(k, r.nh.metric)),
        }
    }

    fn undo(&mut self, dst: u128, len: u8, u: Option<u32>) -> Result<(), MErr> {
        if self.fail_undo.contains(&(dst, len)) {
            return Err(MErr::NoMemory);
        }
        match u {
            None => self.routes.remove(&(dst, len)),
            Some(m) => self.routes.insert((dst, len), m),
        };
        Ok(())
    }

    fn commit(&mut self, _: Option<u32>) {
        self.commits += 1;
    }

    fn pause(&mut self) {
        self.pauses += 1;
    }
}

/// A batch entry: blackhole `dst/len` with `metric`.
fn bh_entry(dst: u32, len: u8, metric: u32) -> Vec<u8> {
    nla(
        A_ROUTE | F_NESTED,
        &cat(&[
            nla(A_DST, &dst.to_be_bytes()),
            nla(A_DST_LEN, &[len]),
            nla(A_TYPE, &[1]),
            u32a(A_METRIC, metric),
        ]),
    )
}

fn v4_decode(e: &[u8]) -> Result<RouteSpec, MErr> {
    let r = route_spec(Family::V4, &RouteAttrs::parse(e), &mut 0, |_| true)
        .map_err(|(r, _)| MErr::from(r))?;
    check_prefix(r.dst, r.len, 32)?;
    Ok(r)
}

/// Checks and applies `batch` to `m` as the module does.
fn run_batch(m: &mut Model, batch: &[u8]) -> Result<usize, (usize, MErr, usize)> {
    let n = check_batch(batch, &mut v4_decode).map_err(|(i, e)| (i, e, 0))?;
    let none = Applied {
        dst: 0,
        len: 0,
        undo: None,
    };
    let mut log = vec![none; n];
    apply_batch(batch, &mut v4_decode, m, &mut log)
}

fn model_with(routes: &[(u32, u8, u32)], replace: bool) -> Model {
    Model {
        routes: routes
            .iter()
            .map(|&(d, l, m)| ((u128::from(d), l), m))
            .collect(),
        replace,
        ..Model::default()
    }
}

#[test]
fn batch_checks_every_route_first() {
    let mut m = model_with(&[(0x0a00_0000, 8, 1)], false);
    let before = m.routes.clone();
    // Route 2 has host bits: nothing is set, not even routes 0 and 1.
    let b = cat(&[
        bh_entry(0xac10_0000, 16, 5),
        bh_entry(0xac11_0000, 16, 5),
        bh_entry(0xac12_0001, 16, 5),
    ]);
    assert_eq!(
        run_batch(&mut m, &b),
        Err((2, MErr::Bad("host bits set in the prefix"), 0))
    );
    assert_eq!((m.sets, &m.routes), (0, &before));
    // One route past BATCH_MAX: refused at its index, before any is set.
    let big: Vec<u8> = (0..=BATCH_MAX as u32)
        .flat_map(|i| bh_entry(0xc000_0000 | i << 8, 24, 1))
        .collect();
    assert_eq!(
        run_batch(&mut m, &big),
        Err((BATCH_MAX, MErr::Bad("batch too long"), 0))
    );
    assert_eq!((m.sets, &m.routes), (0, &before));
    // BATCH_MAX routes pass, with a pause every PAUSE_EVERY.
    let full = &big[..big.len() - bh_entry(0, 24, 1).len()];
    assert_eq!(run_batch(&mut m, full), Ok(BATCH_MAX));
    assert_eq!(m.routes.len(), BATCH_MAX + 1);
    assert_eq!(m.commits, BATCH_MAX);
    assert_eq!(m.pauses, BATCH_MAX / PAUSE_EVERY);
}

#[test]
fn batch_failing_late_is_taken_back() {
    // Route 3 exists: the three before it, added, are deleted again.
    let mut m = model_with(&[(0x0a00_0000, 8, 1)], false);
    let before = m.routes.clone();
    let b = cat(&[
        bh_entry(0xac10_0000, 16, 5),
        bh_entry(0xac11_0000, 16, 5),
        bh_entry(0xac12_0000, 16, 5),
        bh_entry(0x0a00_0000, 8, 9),
        bh_entry(0xac13_0000, 16, 5),
    ]);
    assert_eq!(run_batch(&mut m, &b), Err((3, MErr::Exists, 0)));
    assert_eq!(m.routes, before);
    assert_eq!(m.commits, 0);
    // A prefix twice in one batch: the second is the failure.
    let b = cat(&[bh_entry(0xac10_0000, 16, 5), bh_entry(0xac10_0000, 16, 6)]);
    assert_eq!(run_batch(&mut m, &b), Err((1, MErr::Exists, 0)));
    assert_eq!(m.routes, before);
}

#[test]
fn replace_batch_undoes_last_first() {
    // A replace batch sets 10/8 twice; memory runs out at its last route.
    // Taken back last first, 10/8 gets its metric from before the batch
    // (first first would leave the batch's first value).
    let mut m = model_with(&[(0x0a00_0000, 8, 1)], true);
    let before = m.routes.clone();
    m.fail_set = Some(3);
    let b = cat(&[
        bh_entry(0x0a00_0000, 8, 2),
        bh_entry(0xac10_0000, 16, 5),
        bh_entry(0x0a00_0000, 8, 3),
        bh_entry(0xac11_0000, 16, 5),
    ]);
    assert_eq!(run_batch(&mut m, &b), Err((3, MErr::NoMemory, 0)));
    assert_eq!(m.routes, before);
    // Without the failure the batch stays, the last value winning, and
    // each route is committed once.
    let mut m = model_with(&[(0x0a00_0000, 8, 1)], true);
    assert_eq!(run_batch(&mut m, &b), Ok(4));
    assert_eq!(m.routes.get(&(0x0a00_0000, 8)), Some(&3));
    assert_eq!((m.routes.len(), m.commits), (3, 4));
}

#[test]
fn batch_counts_what_it_could_not_take_back() {
    let mut m = model_with(&[], false);
    m.fail_set = Some(2);
    m.fail_undo = vec![(0xac11_0000, 16)];
    let b = cat(&[
        bh_entry(0xac10_0000, 16, 5),
        bh_entry(0xac11_0000, 16, 5),
        bh_entry(0xac12_0000, 16, 5),
    ]);
    assert_eq!(run_batch(&mut m, &b), Err((2, MErr::NoMemory, 1)));
    // The other one was taken back; the one that failed to be stays.
    assert_eq!(
        m.routes.keys().collect::<Vec<_>>(),
        [&(0xac11_0000u128, 16u8)]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random batches over a small prefix pool (so batches repeat
    /// prefixes and hit existing ones), add or replace, memory failing at
    /// a random route or not: either the whole batch applies as the
    /// routes would one by one, or the FIB is exactly as before and the
    /// failure is the first route that the one-by-one run refuses.
    #[test]
    fn batch_is_all_or_nothing(
        existing in proptest::collection::vec((0u32..12, 1u32..4), 0..8),
        batch in proptest::collection::vec((0u32..12, 10u32..20), 1..24),
        replace in any::<bool>(),
        fail in proptest::option::of(0usize..24),
    ) {
        let pfx = |i: u32| (0xac10_0000u32 + (i << 8), 24u8);
        let start: Vec<(u32, u8, u32)> =
            existing.iter().map(|&(i, m)| (pfx(i).0, pfx(i).1, m)).collect();
        let mut m = model_with(&start, replace);
        m.fail_set = fail;
        let before = m.routes.clone();
        let bytes: Vec<u8> = batch.iter().flat_map(|&(i, mt)| bh_entry(pfx(i).0, pfx(i).1, mt)).collect();
        // The one-by-one reference.
        let mut want = before.clone();
        let mut first_bad = None;
        for (k, &(i, mt)) in batch.iter().enumerate() {
            let key = (u128::from(pfx(i).0), pfx(i).1);
            if fail == Some(k) {
                first_bad = Some((k, MErr::NoMemory));
                break;
            }
            if !replace && want.contains_key(&key) {
                first_bad = Some((k, MErr::Exists));
                break;
            }
            want.insert(key, mt);
        }
        let got = run_batch(&mut m, &bytes);
        match first_bad {
            None => {
                prop_assert_eq!(got, Ok(batch.len()));
                prop_assert_eq!(&m.routes, &want);
                prop_assert_eq!(m.commits, batch.len());
            }
            Some((k, e)) => {
                prop_assert_eq!(got, Err((k, e, 0)));
                prop_assert_eq!(&m.routes, &before);
                prop_assert_eq!(m.commits, 0);
            }
        }
    }
}
