// SPDX-License-Identifier: GPL-2.0

//! The forwarding path's packet formats: checksums against a byte-at-a-time
//! reference, golden ARP/IPv4/NDP packets laid out by hand from the RFCs,
//! builders parsed back, the RFC 1812 / RFC 4443 rules on when not to send
//! ICMP errors, and property tests that no input makes anything panic.

use cgl_cores::pkt::*;
use proptest::prelude::*;

// ---- Independent reference implementations ----

/// RFC 1071 checksum, one byte at a time into a wide sum.
fn ref_csum(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    for (i, &b) in data.iter().enumerate() {
        sum += if i % 2 == 0 {
            u64::from(b) << 8
        } else {
            u64::from(b)
        };
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// ICMPv6 checksum over the pseudo header (RFC 8200 8.1).
fn ref_csum6(src: &[u8; 16], dst: &[u8; 16], body: &[u8]) -> u16 {
    let mut v = Vec::new();
    v.extend_from_slice(src);
    v.extend_from_slice(dst);
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 58]);
    v.extend_from_slice(body);
    ref_csum(&v)
}

fn be16(p: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([p[off], p[off + 1]])
}

fn a4(p: &[u8], off: usize) -> [u8; 4] {
    p[off..off + 4].try_into().unwrap()
}

fn a16(p: &[u8], off: usize) -> [u8; 16] {
    p[off..off + 16].try_into().unwrap()
}

fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

/// An IPv4 packet with a correct header checksum.
fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ttl: u8,
    frag: u16,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let ihl = (20 + opts.len()) / 4;
    let tot = 20 + opts.len() + payload.len();
    let mut p = vec![0x40 | ihl as u8, 0, (tot >> 8) as u8, tot as u8, 0x12, 0x34];
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[ttl, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(opts);
    let c = ref_csum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An ICMP message with a correct checksum.
fn icmp4(ty: u8, code: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(body);
    let c = ref_csum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// An IPv6 packet.
fn ipv6(src: [u8; 16], dst: [u8; 16], nh: u8, hlim: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[nh, hlim]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

/// An ICMPv6 message from `src` to `dst` with a correct checksum.
fn icmp6(src: [u8; 16], dst: [u8; 16], ty: u8, code: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(body);
    let c = ref_csum6(&src, &dst, &m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// A full IPv6 packet carrying an ICMPv6 message.
fn ipv6_icmp(src: [u8; 16], dst: [u8; 16], hlim: u8, ty: u8, code: u8, body: &[u8]) -> Vec<u8> {
    ipv6(src, dst, 58, hlim, &icmp6(src, dst, ty, code, body))
}

const A: [u8; 4] = [192, 0, 2, 1];
const B: [u8; 4] = [198, 51, 100, 7];
const R: [u8; 4] = [203, 0, 113, 254];

fn udp4(len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
    ipv4(A, B, 17, 9, 0, &[], &payload)
}

fn h6() -> ([u8; 16], [u8; 16], [u8; 16]) {
    (v6("2001:db8::a"), v6("2001:db8:1::b"), v6("2001:db8:ff::1"))
}

fn udp6(len: usize) -> Vec<u8> {
    let (a, b, _) = h6();
    let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
    ipv6(a, b, 17, 9, &payload)
}

// ---- Checksums ----

#[test]
fn csum_rfc1071_example() {
    // RFC 1071 4.1: the words sum to 0xddf2, so the checksum is 0x220d.
    let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(csum_fold(csum_add(0, &d)), 0x220d);
    assert_eq!(csum_fold(0), 0xffff);
    assert_eq!(csum_fold(0xffff), 0);
    assert_eq!(csum_fold(0x1_0000), 0xfffe);
    // A trailing odd byte is the high half of a word.
    assert_eq!(csum_fold(csum_add(0, &[0xab])), !0xab00);
    // A carry out of 32 bits comes back in at the bottom.
    assert_eq!(csum_fold(csum_add(u32::MAX, &[0xff, 0xff])), 0);
    assert_eq!(csum_fold(csum_add(u32::MAX - 1, &[0, 2])), 0xfffe);
}

proptest! {
    #[test]
    fn csum_matches_reference(data in proptest::collection::vec(any::<u8>(), 0..3000), cut in 0usize..1500) {
        prop_assert_eq!(csum_fold(csum_add(0, &data)), ref_csum(&data));
        // Summing in pieces split at an even offset gives the same result.
        let cut = (cut * 2).min(data.len() & !1);
        let s = csum_add(csum_add(0, &data[..cut]), &data[cut..]);
        prop_assert_eq!(csum_fold(s), ref_csum(&data));
    }

    #[test]
    fn csum_add_keeps_carries(start in prop_oneof![any::<u32>(), (u32::MAX - 0x40_0000)..=u32::MAX], data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut wide = u64::from(start);
        for w in data.chunks(2) {
            wide += u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0));
        }
        while wide >> 16 != 0 {
            wide = (wide & 0xffff) + (wide >> 16);
        }
        prop_assert_eq!(csum_fold(csum_add(start, &data)), !(wide as u16));
    }
}

// ---- IPv4 ----

/// The usual textbook header: 192.168.0.1 -> 192.168.0.199, UDP, DF, TTL 64.
const GOLDEN_V4: [u8; 20] = [
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
    0xc0, 0xa8, 0x00, 0xc7,
];

#[test]
fn ipv4_golden() {
    let mut p = GOLDEN_V4.to_vec();
    p.resize(0x73 + 6, 0); // link padding past the total length
    let i = ipv4_parse(&p).unwrap();
    assert_eq!(i.src, [192, 168, 0, 1]);
    assert_eq!(i.dst, [192, 168, 0, 199]);
    assert_eq!((i.ttl, i.proto, i.hdr_len, i.tot_len), (64, 17, 20, 0x73));
    assert!(i.df && !i.frag);
    assert_eq!(i.frag_offset, 0);
}

#[test]
fn ipv4_malformed() {
    let mut p = GOLDEN_V4.to_vec();
    p.resize(0x73, 0);
    assert_eq!(ipv4_parse(&[]), Err(Malformed::Truncated));
    assert_eq!(ipv4_parse(&p[..19]), Err(Malformed::Truncated));
    assert_eq!(ipv4_parse(&p[..0x72]), Err(Malformed::Truncated));
    let mut q = p.clone();
    q[0] = 0x65;
    assert_eq!(ipv4_parse(&q), Err(Malformed::Version));
    q[0] = 0x44;
    assert_eq!(ipv4_parse(&q), Err(Malformed::HeaderLength));
    // IHL 6 (24 bytes) but only the 20-byte header is present.
    q[0] = 0x46;
    assert_eq!(ipv4_parse(&q[..21]), Err(Malformed::Truncated));
    let mut q = p.clone();
    q[11] ^= 1;
    assert_eq!(ipv4_parse(&q), Err(Malformed::Checksum));
    // Total length 19 < header length.
    let q = ipv4(A, B, 17, 1, 0, &[], &[]);
    let mut q2 = q.clone();
    q2[3] = 19;
    let c = ref_csum(&[&q2[..10], &[0, 0], &q2[12..20]].concat());
    q2[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(ipv4_parse(&q2), Err(Malformed::HeaderLength));
    assert!(ipv4_parse(&q).is_ok());
}

#[test]
fn ipv4_options_and_fragments() {
    let p = ipv4(A, B, 6, 3, 0x2000, &[1, 1, 1, 0], &[9; 10]);
    let i = ipv4_parse(&p).unwrap();
    assert_eq!((i.hdr_len, i.tot_len), (24, 34));
    assert!(i.frag && !i.df);
    assert_eq!(i.frag_offset, 0);
    let i = ipv4_parse(&ipv4(A, B, 6, 3, 0x0003, &[], &[])).unwrap();
    assert!(i.frag);
    assert_eq!(i.frag_offset, 24);
}

#[test]
fn ipv4_ttl() {
    let mut p = ipv4(A, B, 17, 1, 0, &[], &[1, 2, 3]);
    assert!(ipv4_dec_ttl(&mut p));
    assert_eq!(p[8], 0);
    assert_eq!(ref_csum(&p[..20]), 0);
    let before = p.clone();
    assert!(!ipv4_dec_ttl(&mut p));
    assert_eq!(p, before);
    assert!(!ipv4_dec_ttl(&mut p[..19]));
    let mut q = udp6(0);
    q[7] = 5;
    let before = q.clone();
    assert!(!ipv4_dec_ttl(&mut q), "not IPv4");
    assert_eq!(q, before);
}

proptest! {
    #[test]
    fn ipv4_ttl_keeps_checksum_valid(mut h in proptest::array::uniform20(any::<u8>()), ttl in 1u8..) {
        h[0] = 0x45;
        h[8] = ttl;
        h[10] = 0;
        h[11] = 0;
        let c = ref_csum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        let before = h;
        prop_assert!(ipv4_dec_ttl(&mut h));
        prop_assert_eq!(h[8], ttl - 1);
        prop_assert_eq!(ref_csum(&h), 0);
        for i in (0..20).filter(|&i| !matches!(i, 8 | 10 | 11)) {
            prop_assert_eq!(h[i], before[i]);
        }
    }
}

// ---- IPv6 ----

#[test]
fn ipv6_parse_and_hlim() {
    let (a, b, _) = h6();
    let mut p = udp6(12);
    p.extend_from_slice(&[0; 4]); // link padding
    let i = ipv6_parse(&p).unwrap();
    assert_eq!((i.src, i.dst), (a, b));
    assert_eq!((i.hop_limit, i.next_header, i.payload_len), (9, 17, 12));
    assert_eq!(ipv6_parse(&p[..51]), Err(Malformed::Truncated));
    assert_eq!(ipv6_parse(&p[..39]), Err(Malformed::Truncated));
    let mut q = p.clone();
    q[0] = 0x45;
    assert_eq!(ipv6_parse(&q), Err(Malformed::Version));

    p[7] = 1;
    assert!(ipv6_dec_hlim(&mut p));
    assert_eq!(p[7], 0);
    assert!(!ipv6_dec_hlim(&mut p));
    assert_eq!(p[7], 0);
    assert!(!ipv6_dec_hlim(&mut p[..39]));
    let mut v4 = udp4(20);
    let before = v4.clone();
    assert!(!ipv6_dec_hlim(&mut v4));
    assert_eq!(v4, before);
}

// ---- Address helpers ----

#[test]
fn address_helpers() {
    for a in [
        [0, 0, 0, 0],
        [0, 1, 2, 3],
        [127, 0, 0, 1],
        [224, 0, 0, 1],
        [239, 1, 1, 1],
        [240, 0, 0, 1],
    ] {
        assert!(!is_ipv4_unicast(a), "{a:?}");
    }
    assert!(!is_ipv4_unicast([255; 4]));
    for a in [A, B, R, [10, 0, 0, 1], [223, 255, 255, 254], [1, 1, 1, 1]] {
        assert!(is_ipv4_unicast(a), "{a:?}");
    }
    assert!(!is_ipv6_unicast(v6("::")));
    assert!(!is_ipv6_unicast(v6("::1")));
    assert!(!is_ipv6_unicast(v6("ff02::1")));
    assert!(is_ipv6_unicast(v6("fe80::1")));
    assert!(is_ipv6_unicast(v6("2001:db8::1")));
    assert!(is_ipv6_multicast(v6("ff05::2")) && !is_ipv6_multicast(v6("fe80::")));

    let t = v6("2001:db8::1:2:3:4567:89ab");
    assert_eq!(solicited_node(t), v6("ff02::1:ff67:89ab"));
    assert!(is_solicited_node(solicited_node(t)));
    assert!(!is_solicited_node(v6("ff02::1")));
    assert!(!is_solicited_node(t));
    assert_eq!(
        ipv6_mcast_mac(solicited_node(t)),
        [0x33, 0x33, 0xff, 0x67, 0x89, 0xab]
    );
    assert_eq!(ipv6_mcast_mac(ALL_NODES), [0x33, 0x33, 0, 0, 0, 1]);
}

// ---- ICMPv4 errors ----

/// Checks an ICMPv4 error built from `orig` and returns its ICMP part.
fn check_icmp4_error(out: &[u8], orig: &[u8], ty: u8, code: u8) -> Vec<u8> {
    let i = ipv4_parse(out).unwrap();
    assert_eq!(ref_csum(&out[..20]), 0);
    assert_eq!(
        (i.hdr_len, i.tot_len, i.ttl, i.proto),
        (20, out.len(), 64, 1)
    );
    assert!(!i.df && !i.frag);
    assert_eq!(be16(out, 4), 0, "id");
    assert_eq!(i.src, R);
    assert_eq!(i.dst, a4(orig, 12));
    let icmp = &out[20..];
    assert_eq!((icmp[0], icmp[1]), (ty, code));
    assert_eq!(ref_csum(icmp), 0);
    let tot = be16(orig, 2) as usize;
    assert_eq!(&icmp[8..], &orig[..icmp.len() - 8]);
    assert_eq!(icmp.len() - 8, tot.min(548));
    icmp.to_vec()
}

#[test]
fn icmp4_error_kinds() {
    let orig = udp4(100);
    let mut out = [0u8; ICMP4_ERROR_MAX];
    for (kind, ty, code) in [
        (IcmpError::TimeExceeded, 11, 0),
        (IcmpError::NetUnreachable, 3, 0),
        (IcmpError::HostUnreachable, 3, 1),
        (IcmpError::AdminProhibited, 3, 13),
        (IcmpError::FragNeeded { mtu: 1400 }, 3, 4),
    ] {
        let n = icmp4_error(&mut out, &orig, R, kind).unwrap();
        assert_eq!(n, 20 + 8 + orig.len());
        let icmp = check_icmp4_error(&out[..n], &orig, ty, code);
        let rest = if code == 4 {
            [0, 0, 0x05, 0x78]
        } else {
            [0; 4]
        };
        assert_eq!(icmp[4..8], rest);
    }
}

#[test]
fn icmp4_error_quote_limits() {
    let mut out = vec![0u8; 2000];
    // Long datagram: quote up to 576 bytes in all.
    let orig = udp4(1472);
    let n = icmp4_error(&mut out, &orig, R, IcmpError::TimeExceeded).unwrap();
    assert_eq!(n, ICMP4_ERROR_MAX);
    check_icmp4_error(&out[..n], &orig, 11, 0);
    // Short datagram with link padding: the padding is not quoted.
    let mut orig = udp4(2);
    let tot = orig.len();
    orig.extend_from_slice(&[0xee; 20]);
    let n = icmp4_error(&mut out, &orig, R, IcmpError::TimeExceeded).unwrap();
    assert_eq!(n, 28 + tot);
    check_icmp4_error(&out[..n], &orig, 11, 0);
    // The buffer must hold the whole error.
    let orig = udp4(100);
    let need = 28 + orig.len();
    assert_eq!(
        icmp4_error(&mut out[..need - 1], &orig, R, IcmpError::TimeExceeded),
        None
    );
    assert_eq!(
        icmp4_error(&mut out[..need], &orig, R, IcmpError::TimeExceeded),
        Some(need)
    );
    // Options in the original are quoted as they are.
    let orig = ipv4(A, B, 17, 9, 0, &[1, 1, 1, 0], &[7; 8]);
    let n = icmp4_error(&mut out, &orig, R, IcmpError::NetUnreachable).unwrap();
    check_icmp4_error(&out[..n], &orig, 3, 0);
}

#[test]
fn icmp4_error_refusals() {
    let mut out = [0u8; ICMP4_ERROR_MAX];
    let te = IcmpError::TimeExceeded;
    // ICMP errors are never answered; informational messages are.
    for ty in [3u8, 4, 5, 11, 12, 19, 40] {
        let orig = ipv4(A, B, 1, 1, 0, &[], &icmp4(ty, 0, &[0; 32]));
        assert_eq!(icmp4_error(&mut out, &orig, R, te), None, "type {ty}");
    }
    for ty in [0u8, 8, 13, 14] {
        let orig = ipv4(A, B, 1, 1, 0, &[], &icmp4(ty, 0, &[0; 32]));
        assert!(icmp4_error(&mut out, &orig, R, te).is_some(), "type {ty}");
    }
    // ICMP with no type byte inside the datagram.
    let orig = ipv4(A, B, 1, 1, 0, &[], &[]);
    assert_eq!(icmp4_error(&mut out, &orig, R, te), None);
    // Fragments: only the first one is answered.
    let first = ipv4(A, B, 17, 1, 0x2000, &[], &[0; 16]);
    assert!(icmp4_error(&mut out, &first, R, te).is_some());
    for frag in [0x0001u16, 0x2001, 0x1fff] {
        let orig = ipv4(A, B, 17, 1, frag, &[], &[0; 16]);
        assert_eq!(icmp4_error(&mut out, &orig, R, te), None);
    }
    // A non-first fragment of an echo request looks like an error by its
    // first byte; it is refused as a fragment either way.
    let orig = ipv4(A, B, 1, 1, 0x0010, &[], &[8; 16]);
    assert_eq!(icmp4_error(&mut out, &orig, R, te), None);
    // Sources that name no single host.
    for src in [
        [0; 4],
        [255; 4],
        [224, 0, 0, 5],
        [127, 0, 0, 1],
        [240, 1, 2, 3],
        [0, 0, 0, 9],
    ] {
        let orig = ipv4(src, B, 17, 1, 0, &[], &[0; 16]);
        assert_eq!(icmp4_error(&mut out, &orig, R, te), None, "{src:?}");
    }
    // Multicast and broadcast destinations.
    for dst in [[224, 0, 0, 1], [239, 255, 255, 250], [255; 4]] {
        let orig = ipv4(A, dst, 17, 1, 0, &[], &[0; 16]);
        assert_eq!(icmp4_error(&mut out, &orig, R, te), None, "{dst:?}");
    }
    // Malformed originals and a non-unicast router address.
    let mut orig = udp4(16);
    assert_eq!(icmp4_error(&mut out, &orig, [0; 4], te), None);
    orig[10] ^= 0x80;
    assert_eq!(icmp4_error(&mut out, &orig, R, te), None);
    assert_eq!(icmp4_error(&mut out, &udp6(16), R, te), None);
}

// ---- ICMPv6 errors ----

fn check_icmp6_error(out: &[u8], orig: &[u8], src: [u8; 16], ty: u8, code: u8) -> Vec<u8> {
    let i = ipv6_parse(out).unwrap();
    assert_eq!(
        (i.next_header, i.hop_limit, i.payload_len),
        (58, 64, out.len() - 40)
    );
    assert_eq!(i.src, src);
    assert_eq!(i.dst, a16(orig, 8));
    assert_eq!(out[..4], [0x60, 0, 0, 0]);
    let icmp = &out[40..];
    assert_eq!((icmp[0], icmp[1]), (ty, code));
    assert_eq!(ref_csum6(&i.src, &i.dst, icmp), 0);
    let tot = 40 + be16(orig, 4) as usize;
    assert_eq!(&icmp[8..], &orig[..icmp.len() - 8]);
    assert_eq!(icmp.len() - 8, tot.min(1232));
    icmp.to_vec()
}

#[test]
fn icmp6_error_kinds() {
    let (_, _, r) = h6();
    let orig = udp6(100);
    let mut out = [0u8; ICMP6_ERROR_MAX];
    for (kind, ty, code) in [
        (Icmp6Error::TimeExceeded, 3, 0),
        (Icmp6Error::NoRoute, 1, 0),
        (Icmp6Error::AdminProhibited, 1, 1),
        (Icmp6Error::AddrUnreachable, 1, 3),
        (Icmp6Error::PacketTooBig { mtu: 1280 }, 2, 0),
    ] {
        let n = icmp6_error(&mut out, &orig, r, kind).unwrap();
        assert_eq!(n, 48 + orig.len());
        let icmp = check_icmp6_error(&out[..n], &orig, r, ty, code);
        let rest = if ty == 2 { [0, 0, 5, 0] } else { [0; 4] };
        assert_eq!(icmp[4..8], rest);
    }
}

#[test]
fn icmp6_error_quote_limits() {
    let (_, _, r) = h6();
    let mut out = vec![0u8; 3000];
    let orig = udp6(1460);
    let n = icmp6_error(&mut out, &orig, r, Icmp6Error::NoRoute).unwrap();
    assert_eq!(n, ICMP6_ERROR_MAX);
    check_icmp6_error(&out[..n], &orig, r, 1, 0);
    let mut orig = udp6(3);
    let tot = orig.len();
    orig.extend_from_slice(&[0xee; 9]);
    let n = icmp6_error(&mut out, &orig, r, Icmp6Error::NoRoute).unwrap();
    assert_eq!(n, 48 + tot);
    check_icmp6_error(&out[..n], &orig, r, 1, 0);
    let need = 48 + tot;
    assert_eq!(
        icmp6_error(&mut out[..need - 1], &orig, r, Icmp6Error::NoRoute),
        None
    );
    assert_eq!(
        icmp6_error(&mut out[..need], &orig, r, Icmp6Error::NoRoute),
        Some(need)
    );
}

#[test]
fn icmp6_error_refusals() {
    let (a, b, r) = h6();
    let mut out = [0u8; ICMP6_ERROR_MAX];
    let te = Icmp6Error::TimeExceeded;
    for ty in [1u8, 2, 3, 4, 100, 127] {
        let orig = ipv6_icmp(a, b, 1, ty, 0, &[0; 40]);
        assert_eq!(icmp6_error(&mut out, &orig, r, te), None, "type {ty}");
    }
    for ty in [128u8, 129, 135, 200] {
        let orig = ipv6_icmp(a, b, 1, ty, 0, &[0; 40]);
        assert!(icmp6_error(&mut out, &orig, r, te).is_some(), "type {ty}");
    }
    // An ICMPv6 error behind a hop-by-hop and a destination options header.
    let mut ext = vec![60, 0, 1, 4, 0, 0, 0, 0, 58, 1, 1, 12];
    ext.extend_from_slice(&[0; 12]);
    ext.extend_from_slice(&icmp6(a, b, 1, 0, &[0; 20]));
    let orig = ipv6(a, b, 0, 1, &ext);
    assert_eq!(icmp6_error(&mut out, &orig, r, te), None);
    // The same behind a non-first fragment cannot be seen: answered.
    let mut frag = vec![58, 0, 0x00, 0x08, 0, 0, 0, 1];
    frag.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    let orig = ipv6(a, b, 44, 1, &frag);
    assert!(icmp6_error(&mut out, &orig, r, te).is_some());
    // ... and behind a first fragment, it can.
    frag[3] = 0x01; // offset 0, M set
    let orig = ipv6(a, b, 44, 1, &frag);
    assert_eq!(icmp6_error(&mut out, &orig, r, te), None);
    // Missing type byte.
    let orig = ipv6(a, b, 58, 1, &[]);
    assert_eq!(icmp6_error(&mut out, &orig, r, te), None);
    // Sources.
    for src in [v6("::"), v6("::1"), v6("ff02::1"), v6("ff0e::1234")] {
        let orig = ipv6(src, b, 17, 1, &[0; 8]);
        assert_eq!(icmp6_error(&mut out, &orig, r, te), None, "{src:?}");
    }
    // Multicast destinations: only Packet Too Big.
    let orig = ipv6(a, v6("ff0e::1"), 17, 1, &[0; 8]);
    assert_eq!(icmp6_error(&mut out, &orig, r, te), None);
    assert!(icmp6_error(&mut out, &orig, r, Icmp6Error::PacketTooBig { mtu: 1400 }).is_some());
    // Malformed original, non-unicast router address.
    assert_eq!(icmp6_error(&mut out, &udp6(8)[..47], r, te), None);
    assert_eq!(icmp6_error(&mut out, &udp4(8), r, te), None);
    assert_eq!(icmp6_error(&mut out, &udp6(8), v6("::"), te), None);
}

// ---- Echo ----

#[test]
fn icmp4_echo() {
    for len in [0usize, 1, 7, 56, 1000] {
        let body: Vec<u8> = (0..4 + len).map(|i| (i * 7) as u8).collect();
        let req = ipv4(A, R, 1, 3, 0x4000, &[], &icmp4(8, 0, &body));
        let mut p = req.clone();
        p.extend_from_slice(&[0xee; 3]);
        assert!(icmp4_echo_reply(&mut p));
        let i = ipv4_parse(&p).unwrap();
        assert_eq!((i.src, i.dst, i.ttl, i.proto), (R, A, 64, 1));
        assert_eq!(ref_csum(&p[..20]), 0);
        assert_eq!(be16(&p, 4), 0x1234, "id kept");
        assert!(i.df);
        let icmp = &p[20..i.tot_len];
        assert_eq!((icmp[0], icmp[1]), (0, 0));
        assert_eq!(ref_csum(icmp), 0);
        assert_eq!(&icmp[4..], &body[..]);
        assert_eq!(&p[i.tot_len..], &[0xee; 3]);
    }
}

#[test]
fn icmp4_echo_refusals() {
    let body = [1u8; 12];
    let cases = [
        ipv4(A, R, 1, 3, 0, &[], &icmp4(0, 0, &body)), // a reply
        ipv4(A, R, 1, 3, 0, &[], &icmp4(8, 1, &body)), // code 1
        ipv4(A, R, 17, 3, 0, &[], &icmp4(8, 0, &body)), // UDP
        ipv4(A, R, 1, 3, 0x2000, &[], &icmp4(8, 0, &body)), // fragment
        ipv4(A, R, 1, 3, 0, &[1, 1, 1, 0], &icmp4(8, 0, &body)), // options
        ipv4([0; 4], R, 1, 3, 0, &[], &icmp4(8, 0, &body)), // source 0
        ipv4(A, [255; 4], 1, 3, 0, &[], &icmp4(8, 0, &body)), // broadcast
        ipv4(A, R, 1, 3, 0, &[], &icmp4(8, 0, &[])[..3]), // short ICMP
    ];
    for (n, c) in cases.iter().enumerate() {
        let mut p = c.clone();
        assert!(!icmp4_echo_reply(&mut p), "case {n}");
        assert_eq!(&p, c);
    }
    let mut bad = ipv4(A, R, 1, 3, 0, &[], &icmp4(8, 0, &body));
    bad[30] ^= 1;
    let before = bad.clone();
    assert!(!icmp4_echo_reply(&mut bad), "ICMP checksum");
    assert_eq!(bad, before);
}

#[test]
fn icmp6_echo() {
    let (a, _, r) = h6();
    for len in [0usize, 1, 56, 1001] {
        let body: Vec<u8> = (0..4 + len).map(|i| (i * 3) as u8).collect();
        let mut p = ipv6_icmp(a, r, 7, 128, 0, &body);
        p.extend_from_slice(&[0xee; 5]);
        assert!(icmp6_echo_reply(&mut p));
        let i = ipv6_parse(&p).unwrap();
        assert_eq!((i.src, i.dst, i.hop_limit, i.next_header), (r, a, 64, 58));
        let icmp = &p[40..40 + i.payload_len];
        assert_eq!((icmp[0], icmp[1]), (129, 0));
        assert_eq!(ref_csum6(&r, &a, icmp), 0);
        assert_eq!(&icmp[4..], &body[..]);
        assert_eq!(&p[40 + i.payload_len..], &[0xee; 5]);
    }
    let body = [1u8; 12];
    let mut bad = ipv6_icmp(a, r, 7, 128, 0, &body);
    bad[50] ^= 1;
    let cases = [
        ipv6_icmp(a, r, 7, 129, 0, &body),
        ipv6_icmp(a, r, 7, 128, 2, &body),
        ipv6_icmp(v6("::"), r, 7, 128, 0, &body),
        ipv6_icmp(a, v6("ff02::1"), 7, 128, 0, &body),
        ipv6(a, r, 0, 7, &icmp6(a, r, 128, 0, &body)),
        ipv6(a, r, 58, 7, &icmp6(a, r, 128, 0, &body)[..6]),
        bad,
    ];
    for (n, c) in cases.iter().enumerate() {
        let mut p = c.clone();
        assert!(!icmp6_echo_reply(&mut p), "case {n}");
        assert_eq!(&p, c);
    }
}

// ---- ARP ----

/// "Who has 192.168.1.1? Tell 192.168.1.100" from 00:11:22:33:44:55, with
/// the 18 bytes of padding an Ethernet frame carries.
const GOLDEN_ARP: [u8; 46] = [
    0x00, 0x01, // htype Ethernet
    0x08, 0x00, // ptype IPv4
    6, 4, // hlen, plen
    0x00, 0x01, // request
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // sha
    192, 168, 1, 100, // spa
    0, 0, 0, 0, 0, 0, // tha
    192, 168, 1, 1, // tpa
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

#[test]
fn arp_golden_and_roundtrip() {
    let a = arp_parse(&GOLDEN_ARP).unwrap();
    assert_eq!(
        a,
        Arp {
            op: ARP_REQUEST,
            sha: [0, 0x11, 0x22, 0x33, 0x44, 0x55],
            spa: [192, 168, 1, 100],
            tha: [0; 6],
            tpa: [192, 168, 1, 1],
        }
    );
    let mut out = [0u8; 64];
    assert_eq!(arp_build(&mut out, &a), Some(ARP_LEN));
    assert_eq!(out[..28], GOLDEN_ARP[..28]);
    let reply = Arp {
        op: ARP_REPLY,
        sha: [2, 0, 0, 0, 0, 1],
        spa: a.tpa,
        tha: a.sha,
        tpa: a.spa,
    };
    assert_eq!(arp_build(&mut out[..27], &reply), None);
    assert_eq!(arp_build(&mut out[..28], &reply), Some(28));
    assert_eq!(arp_parse(&out[..28]), Some(reply));
    assert_eq!(arp_build(&mut out, &Arp { op: 3, ..reply }), None);

    assert_eq!(arp_parse(&GOLDEN_ARP[..27]), None);
    for (i, v) in [(1, 6), (2, 0x86), (4, 8), (5, 16), (7, 3), (7, 0)] {
        let mut p = GOLDEN_ARP;
        p[i] = v;
        assert_eq!(arp_parse(&p), None, "byte {i} = {v}");
    }
}

// ---- NDP ----

/// NS from fe80::211:22ff:fe33:4455 to ff02::1:ff00:1 for 2001:db8::1,
/// SLLA 00:11:22:33:44:55; checksum 0x7f30 worked out by hand.
const GOLDEN_NS: [u8; 72] = [
    0x60, 0, 0, 0, 0x00, 0x20, 58, 255, // version, payload 32, ICMPv6, hlim 255
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, // src
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x00, 0x01, // dst
    135, 0, 0x7f, 0x30, 0, 0, 0, 0, // type, code, checksum, reserved
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // target
    1, 1, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // SLLA
];

/// Solicited NA from 2001:db8::1 to fe80::211:22ff:fe33:4455, flags R|S|O,
/// TLLA 00:aa:bb:cc:dd:ee; checksum 0x39af.
const GOLDEN_NA: [u8; 72] = [
    0x60, 0, 0, 0, 0x00, 0x20, 58, 255, //
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, // dst
    136, 0, 0x39, 0xaf, 0xe0, 0, 0, 0, // type, code, checksum, R|S|O
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // target
    2, 1, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, // TLLA
];

const MAC: [u8; 6] = [0x02, 0xcc, 0, 0, 0, 0x01];

#[test]
fn ndp_golden() {
    assert_eq!(
        ref_csum6(&a16(&GOLDEN_NS, 8), &a16(&GOLDEN_NS, 24), &GOLDEN_NS[40..]),
        0
    );
    assert_eq!(
        ndp_parse(&GOLDEN_NS),
        Some(Ndp::Solicit {
            src: v6("fe80::211:22ff:fe33:4455"),
            target: v6("2001:db8::1"),
            slla: Some([0, 0x11, 0x22, 0x33, 0x44, 0x55]),
        })
    );
    assert_eq!(
        ndp_parse(&GOLDEN_NA),
        Some(Ndp::Advert {
            target: v6("2001:db8::1"),
            tlla: Some([0, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]),
            router: true,
            solicited: true,
            override_: true,
        })
    );
}

/// Rewrites the ICMPv6 checksum of a full IPv6 packet.
fn fix6(p: &mut [u8]) {
    let len = 40 + be16(p, 4) as usize;
    p[42] = 0;
    p[43] = 0;
    let c = ref_csum6(&a16(p, 8), &a16(p, 24), &p[40..len]);
    p[42..44].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn ndp_rejects() {
    let mut p = GOLDEN_NS;
    p[7] = 254;
    assert_eq!(ndp_parse(&p), None, "hop limit");
    let mut p = GOLDEN_NS;
    p[43] ^= 1;
    assert_eq!(ndp_parse(&p), None, "checksum");
    let mut p = GOLDEN_NS;
    p[41] = 1;
    fix6(&mut p);
    assert_eq!(ndp_parse(&p), None, "code");
    let mut p = GOLDEN_NS;
    p[40] = 134;
    fix6(&mut p);
    assert_eq!(ndp_parse(&p), None, "router advertisement");
    let mut p = GOLDEN_NS;
    p[48] = 0xff;
    fix6(&mut p);
    assert_eq!(ndp_parse(&p), None, "multicast target");
    let mut p = GOLDEN_NS;
    p[65] = 0;
    fix6(&mut p);
    assert_eq!(ndp_parse(&p), None, "zero-length option");
    let mut p = GOLDEN_NS;
    p[65] = 2;
    fix6(&mut p);
    assert_eq!(ndp_parse(&p), None, "option past the end");
    let mut p = GOLDEN_NS;
    p[6] = 0;
    assert_eq!(ndp_parse(&p), None, "not ICMPv6");
    // Shorter than 24 bytes of ICMPv6.
    let (a, _, _) = h6();
    let short = ipv6_icmp(a, solicited_node(a), 255, 135, 0, &[0; 16]);
    assert_eq!(ndp_parse(&short), None);
    // A solicited NA to a multicast address.
    let mut p = GOLDEN_NA;
    p[24..40].copy_from_slice(&ALL_NODES);
    fix6(&mut p);
    assert_eq!(ndp_parse(&p), None);
    p[44] = 0xa0; // R|O: unsolicited is fine
    fix6(&mut p);
    assert!(matches!(
        ndp_parse(&p),
        Some(Ndp::Advert {
            solicited: false,
            ..
        })
    ));
    assert_eq!(ndp_parse(&p[..71]), None);
}

#[test]
fn ndp_options() {
    let t = v6("2001:db8::1");
    let src = v6("fe80::5");
    let dst = solicited_node(t);
    let ns = |opts: &[u8]| {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(&t);
        body.extend_from_slice(opts);
        ipv6_icmp(src, dst, 255, 135, 0, &body)
    };
    // Unknown options (nonce, 16 bytes) are skipped; the first SLLA counts.
    let mut opts = vec![14, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    opts.extend_from_slice(&[1, 1, 1, 2, 3, 4, 5, 6, 1, 1, 9, 9, 9, 9, 9, 9]);
    assert!(matches!(
        ndp_parse(&ns(&opts)),
        Some(Ndp::Solicit {
            slla: Some([1, 2, 3, 4, 5, 6]),
            ..
        })
    ));
    // A TLLA in an NS is not an SLLA.
    let got = ndp_parse(&ns(&[2, 1, 1, 2, 3, 4, 5, 6]));
    assert_eq!(
        got,
        Some(Ndp::Solicit {
            src,
            target: t,
            slla: None
        })
    );
    // No options at all.
    assert_eq!(
        ndp_parse(&ns(&[])),
        Some(Ndp::Solicit {
            src,
            target: t,
            slla: None
        })
    );
    // SLLA of 16 bytes is not an Ethernet address.
    assert_eq!(
        ndp_parse(&ns(&[1, 2, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0])),
        None
    );
    // A single stray byte after the last option.
    assert_eq!(ndp_parse(&ns(&[1, 1, 1, 2, 3, 4, 5, 6, 0])), None);

    // Duplicate address detection: unspecified source, to the
    // solicited-node address, without SLLA.
    let dad = |dst: [u8; 16], opts: &[u8]| {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(&t);
        body.extend_from_slice(opts);
        ipv6_icmp(v6("::"), dst, 255, 135, 0, &body)
    };
    assert_eq!(
        ndp_parse(&dad(dst, &[])),
        Some(Ndp::Solicit {
            src: v6("::"),
            target: t,
            slla: None
        })
    );
    assert_eq!(ndp_parse(&dad(dst, &[1, 1, 1, 2, 3, 4, 5, 6])), None);
    assert_eq!(ndp_parse(&dad(ALL_NODES, &[])), None);
    assert_eq!(ndp_parse(&dad(t, &[])), None);
}

#[test]
fn ndp_builders_roundtrip() {
    let src = v6("fe80::cc:1");
    let t = v6("2001:db8:5::77");
    let mut out = [0u8; 128];
    let n = ndp_build_ns(&mut out, src, t, MAC).unwrap();
    assert_eq!(n, 72);
    let i = ipv6_parse(&out[..n]).unwrap();
    assert_eq!(
        (i.src, i.dst, i.hop_limit, i.next_header),
        (src, v6("ff02::1:ff00:77"), 255, 58)
    );
    assert_eq!(ref_csum6(&i.src, &i.dst, &out[40..n]), 0);
    assert_eq!(ipv6_mcast_mac(i.dst), [0x33, 0x33, 0xff, 0, 0, 0x77]);
    assert_eq!(
        ndp_parse(&out[..n]),
        Some(Ndp::Solicit {
            src,
            target: t,
            slla: Some(MAC)
        })
    );
    assert_eq!(ndp_build_ns(&mut out[..71], src, t, MAC), None);
    // DAD: no SLLA.
    let n = ndp_build_ns(&mut out, v6("::"), t, MAC).unwrap();
    assert_eq!(n, 64);
    assert_eq!(
        ndp_parse(&out[..n]),
        Some(Ndp::Solicit {
            src: v6("::"),
            target: t,
            slla: None
        })
    );
    assert_eq!(ndp_build_ns(&mut out, v6("ff02::1"), t, MAC), None);
    assert_eq!(ndp_build_ns(&mut out, src, v6("ff02::2"), MAC), None);
    assert_eq!(ndp_build_ns(&mut out, src, v6("::"), MAC), None);

    let peer = v6("fe80::99");
    let n = ndp_build_na(&mut out, t, peer, t, MAC, true).unwrap();
    assert_eq!(n, 72);
    let i = ipv6_parse(&out[..n]).unwrap();
    assert_eq!((i.src, i.dst, i.hop_limit), (t, peer, 255));
    assert_eq!(ref_csum6(&t, &peer, &out[40..n]), 0);
    let adv = |solicited| Ndp::Advert {
        target: t,
        tlla: Some(MAC),
        router: true,
        solicited,
        override_: true,
    };
    assert_eq!(ndp_parse(&out[..n]), Some(adv(true)));
    assert_eq!(ndp_build_na(&mut out[..71], t, peer, t, MAC, true), None);
    // Answer to DAD: all-nodes, not solicited.
    let n = ndp_build_na(&mut out, t, ALL_NODES, t, MAC, false).unwrap();
    assert_eq!(ndp_parse(&out[..n]), Some(adv(false)));
    assert_eq!(ndp_build_na(&mut out, t, ALL_NODES, t, MAC, true), None);
    assert_eq!(ndp_build_na(&mut out, t, v6("::"), t, MAC, false), None);
    assert_eq!(ndp_build_na(&mut out, v6("::"), peer, t, MAC, true), None);
    assert_eq!(
        ndp_build_na(&mut out, t, peer, v6("ff02::1"), MAC, true),
        None
    );
}

// ---- Nothing panics ----

/// Random bytes, sometimes with a plausible first byte so the parsers get
/// past the version check.
fn junk() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<u8>(), 0..200),
        prop_oneof![
            Just(None),
            Just(Some(0x45)),
            Just(Some(0x46)),
            Just(Some(0x60))
        ],
    )
        .prop_map(|(mut v, first)| {
            if let (Some(f), Some(b)) = (first, v.first_mut()) {
                *b = f;
            }
            v
        })
}

fn kinds4() -> impl Strategy<Value = IcmpError> {
    prop_oneof![
        Just(IcmpError::TimeExceeded),
        Just(IcmpError::NetUnreachable),
        Just(IcmpError::HostUnreachable),
        Just(IcmpError::AdminProhibited),
        any::<u16>().prop_map(|mtu| IcmpError::FragNeeded { mtu }),
    ]
}

fn kinds6() -> impl Strategy<Value = Icmp6Error> {
    prop_oneof![
        Just(Icmp6Error::TimeExceeded),
        Just(Icmp6Error::NoRoute),
        Just(Icmp6Error::AdminProhibited),
        Just(Icmp6Error::AddrUnreachable),
        any::<u32>().prop_map(|mtu| Icmp6Error::PacketTooBig { mtu }),
    ]
}

/// Runs everything on `p` and on outputs of every size up to the maximum.
fn exercise(p: &[u8], out_len: usize, k4: IcmpError, k6: Icmp6Error) {
    let _ = ipv4_parse(p);
    let _ = ipv6_parse(p);
    let _ = arp_parse(p);
    let _ = ndp_parse(p);
    let mut out = vec![0u8; out_len];
    if let Some(n) = icmp4_error(&mut out, p, R, k4) {
        assert!(n <= ICMP4_ERROR_MAX.min(out_len));
        assert_eq!(ref_csum(&out[..20]), 0);
        assert_eq!(ref_csum(&out[20..n]), 0);
    }
    if let Some(n) = icmp6_error(&mut out, p, h6().2, k6) {
        assert!(n <= ICMP6_ERROR_MAX.min(out_len));
        assert_eq!(ref_csum6(&h6().2, &a16(&out, 24), &out[40..n]), 0);
    }
    let mut q = p.to_vec();
    let _ = ipv4_dec_ttl(&mut q);
    let mut q = p.to_vec();
    let _ = ipv6_dec_hlim(&mut q);
    let mut q = p.to_vec();
    let _ = icmp4_echo_reply(&mut q);
    let mut q = p.to_vec();
    let _ = icmp6_echo_reply(&mut q);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bytes_never_panic(p in junk(), out_len in 0usize..1400, k4 in kinds4(), k6 in kinds6()) {
        exercise(&p, out_len, k4, k6);
    }

    /// Valid packets with one byte changed reach past the checksum checks.
    #[test]
    fn mutated_packets_never_panic(
        which in 0usize..6,
        payload in proptest::collection::vec(any::<u8>(), 0..120),
        pos in any::<usize>(),
        val in any::<u8>(),
        fix in any::<bool>(),
        k4 in kinds4(),
        k6 in kinds6(),
    ) {
        let (a, b, r) = h6();
        let mut p = match which {
            0 => ipv4(A, R, 1, 5, 0, &[], &icmp4(8, 0, &payload)),
            1 => ipv4(A, B, 17, 5, 0, &[], &payload),
            2 => ipv6_icmp(a, r, 5, 128, 0, &payload),
            3 => GOLDEN_NS.to_vec(),
            4 => GOLDEN_NA.to_vec(),
            _ => ipv6(a, b, 0, 5, &payload),
        };
        let pos = pos % p.len();
        p[pos] = val;
        if fix && which >= 2 && p.len() >= 44 && 40 + be16(&p, 4) as usize <= p.len() {
            fix6(&mut p);
        }
        exercise(&p, 1400, k4, k6);
    }

    /// Every error built from a forwardable datagram verifies and quotes it.
    #[test]
    fn icmp4_error_output_valid(payload in proptest::collection::vec(any::<u8>(), 0..1600), proto in any::<u8>(), k in kinds4()) {
        let proto = if proto == 1 { 6 } else { proto };
        let orig = ipv4(A, B, proto, 1, 0, &[], &payload);
        let mut out = [0u8; ICMP4_ERROR_MAX];
        let n = icmp4_error(&mut out, &orig, R, k).unwrap();
        prop_assert_eq!(n, (28 + orig.len()).min(576));
        let i = ipv4_parse(&out[..n]).unwrap();
        prop_assert_eq!(i.dst, A);
        prop_assert_eq!(ref_csum(&out[20..n]), 0);
        prop_assert_eq!(&out[28..n], &orig[..n - 28]);
    }

    #[test]
    fn icmp6_error_output_valid(payload in proptest::collection::vec(any::<u8>(), 0..1600), k in kinds6()) {
        let (a, b, r) = h6();
        let orig = ipv6(a, b, 17, 1, &payload);
        let mut out = [0u8; ICMP6_ERROR_MAX];
        let n = icmp6_error(&mut out, &orig, r, k).unwrap();
        prop_assert_eq!(n, (48 + orig.len()).min(1280));
        let i = ipv6_parse(&out[..n]).unwrap();
        prop_assert_eq!(i.dst, a);
        prop_assert_eq!(ref_csum6(&r, &a, &out[40..n]), 0);
        prop_assert_eq!(&out[48..n], &orig[..n - 48]);
    }

    #[test]
    fn arp_roundtrip(op in 1u16..=2, sha in any::<[u8; 6]>(), spa in any::<[u8; 4]>(), tha in any::<[u8; 6]>(), tpa in any::<[u8; 4]>()) {
        let a = Arp { op, sha, spa, tha, tpa };
        let mut out = [0u8; ARP_LEN];
        prop_assert_eq!(arp_build(&mut out, &a), Some(ARP_LEN));
        prop_assert_eq!(arp_parse(&out), Some(a));
    }
}
