// SPDX-License-Identifier: GPL-2.0

//! A `CGL_FIB_A_BATCH` payload of arbitrary bytes, decoded entry by entry
//! as the netlink handler does: nothing panics, what is accepted obeys
//! the route rules and decodes the same after encoding it again, and an
//! entry the batch policy lets through is never refused for a short
//! `u8`/`u32` (the handler's lenient reads stay unreachable).

#![no_main]

use cgl_cores::rtmsg::{
    check_batch_policy, check_nexthop, check_prefix, route_spec, Attrs, Family, IocRoute, Reject,
    RouteAttrs, RouteSpec, RouteType, A_DST, A_DST_LEN, A_GATEWAY, A_METRIC, A_OIF, A_TYPE,
    BATCH_MAX,
};
use libfuzzer_sys::fuzz_target;

/// Which interfaces exist.
fn dev_exists(i: u32) -> bool {
    i % 3 != 0
}

fn put(v: &mut Vec<u8>, t: u16, p: &[u8]) {
    v.extend_from_slice(&u16::try_from(4 + p.len()).unwrap().to_ne_bytes());
    v.extend_from_slice(&t.to_ne_bytes());
    v.extend_from_slice(p);
    v.resize(v.len().next_multiple_of(4), 0);
}

/// The route as the nest a client would send.
fn encode(af: Family, r: &RouteSpec) -> Vec<u8> {
    let n = af.addr_len();
    let mut v = Vec::new();
    put(&mut v, A_DST, &r.dst.to_be_bytes()[16 - n..]);
    put(&mut v, A_DST_LEN, &[r.len]);
    put(&mut v, A_TYPE, &[r.nh.rtype as u8]);
    if r.nh.gw_len != 0 {
        put(&mut v, A_GATEWAY, &r.nh.gw[..usize::from(r.nh.gw_len)]);
    }
    if r.nh.oif != 0 {
        put(&mut v, A_OIF, &r.nh.oif.to_ne_bytes());
    }
    put(&mut v, A_METRIC, &r.nh.metric.to_ne_bytes());
    v
}

fuzz_target!(|data: &[u8]| {
    let policy_ok = check_batch_policy(data).is_ok();
    for af in [Family::V4, Family::V6] {
        let mut known = 0;
        for (i, e) in Attrs::new(data).enumerate() {
            if i >= BATCH_MAX {
                break;
            }
            let before = known;
            match route_spec(af, &RouteAttrs::parse(e.payload), &mut known, dev_exists) {
                Ok(r) => {
                    assert_eq!(check_nexthop(&r.nh), Ok(()));
                    assert!(r.nh.gw_len == 0 || usize::from(r.nh.gw_len) == af.addr_len());
                    assert!(r.nh.gw[usize::from(r.nh.gw_len)..].iter().all(|&b| b == 0));
                    assert!(af == Family::V6 || r.dst >> 32 == 0);
                    assert!(r.nh.oif == 0 || dev_exists(r.nh.oif));
                    assert!(known == before || known == r.nh.oif);
                    if policy_ok {
                        assert!(r.len <= 128);
                    }
                    let _ = check_prefix(r.dst, r.len, af.bits());
                    let again = encode(af, &r);
                    let back =
                        route_spec(af, &RouteAttrs::parse(&again), &mut 0, dev_exists).unwrap();
                    assert_eq!(back, r);
                    // The same route through the ioctl.
                    let mut ioc = IocRoute {
                        family: af.af(),
                        dst_len: r.len,
                        rtype: r.nh.rtype as u8,
                        has_gateway: u8::from(r.nh.gw_len != 0),
                        gateway: r.nh.gw,
                        oif: r.nh.oif,
                        metric: r.nh.metric,
                        ..IocRoute::default()
                    };
                    ioc.dst[..af.addr_len()]
                        .copy_from_slice(&r.dst.to_be_bytes()[16 - af.addr_len()..]);
                    assert_eq!(ioc.route_spec(af, dev_exists), Ok(r));
                    assert!(RouteType::from_u8(r.nh.rtype as u8).is_some());
                }
                Err((rej, _)) => {
                    assert!(!rej.msg.to_bytes().is_empty());
                    // An interface found before a later refusal stays known.
                    assert!(known == before || dev_exists(known));
                    if policy_ok {
                        assert!(
                            ![
                                Reject::BAD_DST_LEN,
                                Reject::BAD_TYPE,
                                Reject::BAD_OIF,
                                Reject::BAD_METRIC
                            ]
                            .contains(&rej),
                            "{rej:?} after the policy"
                        );
                    }
                }
            }
        }
    }
});
