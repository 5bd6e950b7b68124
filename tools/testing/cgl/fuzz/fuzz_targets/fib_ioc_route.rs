// SPDX-License-Identifier: GPL-2.0

//! A `struct cgl_fib_ioc_route` image of arbitrary bytes (cut or padded
//! with zeros to its size), decoded and checked as `CGL_FIB_IOC_ROUTE_ADD`
//! does: nothing panics, the image round-trips, and what is accepted obeys
//! the route rules and decodes the same through netlink.

#![no_main]

use cgl_cores::rtmsg::{
    check_nexthop, route_spec, Family, IocRoute, RouteAttrs, A_DST, A_DST_LEN, A_GATEWAY, A_METRIC,
    A_OIF, A_TYPE, IOC_F_REPLACE, IOC_ROUTE_LEN,
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

fuzz_target!(|data: &[u8]| {
    let mut img = [0u8; IOC_ROUTE_LEN];
    for (d, s) in img.iter_mut().zip(data) {
        *d = *s;
    }
    let r = IocRoute::from_bytes(&img);
    assert_eq!(r.to_bytes(), img);
    let Some(af) = Family::from_af(r.family) else {
        return;
    };
    let Ok(spec) = r.route_spec(af, dev_exists) else {
        return;
    };
    assert_eq!(r.reserved, [0; 3]);
    assert!(r.has_gateway <= 1 && r.flags & !IOC_F_REPLACE == 0);
    assert_eq!(check_nexthop(&spec.nh), Ok(()));
    assert_eq!(
        usize::from(spec.nh.gw_len),
        usize::from(r.has_gateway) * af.addr_len()
    );
    assert!(spec.nh.oif == 0 || dev_exists(spec.nh.oif));
    assert_eq!(spec.dst, r.dst_bits(af));
    // The same route through netlink.
    let n = af.addr_len();
    let mut nest = Vec::new();
    put(&mut nest, A_DST, &r.dst[..n]);
    put(&mut nest, A_DST_LEN, &[r.dst_len]);
    put(&mut nest, A_TYPE, &[r.rtype]);
    if r.has_gateway == 1 {
        put(&mut nest, A_GATEWAY, &r.gateway[..n]);
    }
    if r.oif != 0 {
        put(&mut nest, A_OIF, &r.oif.to_ne_bytes());
    }
    put(&mut nest, A_METRIC, &r.metric.to_ne_bytes());
    let nl = route_spec(af, &RouteAttrs::parse(&nest), &mut 0, dev_exists);
    assert_eq!(nl, Ok(spec));
});
