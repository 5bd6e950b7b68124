// SPDX-License-Identifier: GPL-2.0

//! Packet formats of the multi-FIB forwarding path (IPv4/IPv6 checks, ICMP
//! errors and echo replies, ARP, NDP), kept free of kernel types so host
//! tests and fuzzers check every byte the module trusts or writes. Packets
//! start at the network header; nothing here panics on any input.

/// Length of an IPv4 header without options.
const IPV4_HDR: usize = 20;
/// Length of the fixed IPv6 header.
const IPV6_HDR: usize = 40;
/// Length of an ICMP/ICMPv6 header (type, code, checksum, four more bytes).
const ICMP_HDR: usize = 8;
/// IPv4 protocol number of ICMP.
const PROTO_ICMP: u8 = 1;
/// IPv6 next-header value of ICMPv6.
const PROTO_ICMPV6: u8 = 58;
/// TTL / hop limit of the packets built here (NDP uses 255).
const REPLY_TTL: u8 = 64;
/// Hop limit NDP requires on the wire (RFC 4861 7.1).
const NDP_HOP_LIMIT: u8 = 255;
/// IPv4 TOS of ICMP errors: precedence "internetwork control", as Linux.
const ICMP4_ERROR_TOS: u8 = 0xc0;
/// ICMPv6 type of a Neighbour Solicitation.
const NDP_NS: u8 = 135;
/// ICMPv6 type of a Neighbour Advertisement.
const NDP_NA: u8 = 136;
/// Neighbour Advertisement flags (RFC 4861 4.4).
const NA_ROUTER: u8 = 0x80;
const NA_SOLICITED: u8 = 0x40;
const NA_OVERRIDE: u8 = 0x20;
/// NDP option types carrying a link-layer address.
const OPT_SLLA: u8 = 1;
const OPT_TLLA: u8 = 2;
/// Length of an NS/NA without options (ICMPv6 header and target).
const NDP_BASE: usize = 24;
/// Length of a link-layer address option for Ethernet.
const NDP_LLA_OPT: usize = 8;

/// Largest ICMPv4 error built by [`icmp4_error`]: it quotes the original
/// datagram up to this total, like Linux (RFC 1812 4.3.2.3).
pub const ICMP4_ERROR_MAX: usize = 576;
/// Largest ICMPv6 error built by [`icmp6_error`]: the IPv6 minimum MTU
/// (RFC 4443 2.4 (c)).
pub const ICMP6_ERROR_MAX: usize = 1280;
/// Length of an Ethernet/IPv4 ARP packet.
pub const ARP_LEN: usize = 28;
/// ARP opcode of a request.
pub const ARP_REQUEST: u16 = 1;
/// ARP opcode of a reply.
pub const ARP_REPLY: u16 = 2;
/// All-nodes link-local multicast address `ff02::1`.
pub const ALL_NODES: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
/// The unspecified IPv6 address `::`.
const UNSPECIFIED: [u8; 16] = [0; 16];

/// `N` bytes of `p` at `off`, if they are all there.
fn at<const N: usize>(p: &[u8], off: usize) -> Option<&[u8; N]> {
    p.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// `N` writable bytes of `p` at `off`, if they are all there.
fn at_mut<const N: usize>(p: &mut [u8], off: usize) -> Option<&mut [u8; N]> {
    p.get_mut(off..off.checked_add(N)?)?.try_into().ok()
}

/// Big-endian `u16` of `p` at `off`.
fn be16(p: &[u8], off: usize) -> Option<u16> {
    at::<2>(p, off).map(|b| u16::from_be_bytes(*b))
}

/// Copies `data` into `p` at `off`.
fn put(p: &mut [u8], off: usize, data: &[u8]) -> Option<()> {
    p.get_mut(off..off.checked_add(data.len())?)?
        .copy_from_slice(data);
    Some(())
}

/// Adds `data` as big-endian 16-bit words to the ones-complement sum `sum`.
///
/// A trailing odd byte is padded with a zero low byte, so only the last
/// chunk of a sum built in pieces may have an odd length. The result keeps
/// all carries (end-around at 32 bits); finish with [`csum_fold`].
pub fn csum_add(sum: u32, data: &[u8]) -> u32 {
    let add = |acc: u32, w: u16| {
        let (s, carry) = acc.overflowing_add(u32::from(w));
        // After a carry `s` is at most 0xfffe: adding it back cannot wrap.
        s + u32::from(carry)
    };
    let mut acc = sum;
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        if let [hi, lo] = *w {
            acc = add(acc, u16::from_be_bytes([hi, lo]));
        }
    }
    if let [last] = *words.remainder() {
        acc = add(acc, u16::from_be_bytes([last, 0]));
    }
    acc
}

/// Folds a [`csum_add`] sum to 16 bits and complements it: the value to
/// store in a checksum field, or 0 when checking data that includes its
/// checksum and is intact.
pub fn csum_fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    // Two folds leave at most 16 bits.
    !(s as u16)
}

/// ICMPv6 checksum of `body` (checksum field included) under the IPv6
/// pseudo header of `src` and `dst`.
fn icmp6_csum(src: &[u8; 16], dst: &[u8; 16], body: &[u8]) -> Option<u16> {
    let len = u32::try_from(body.len()).ok()?;
    let mut s = csum_add(0, src);
    s = csum_add(s, dst);
    s = csum_add(s, &len.to_be_bytes());
    s = csum_add(s, &[0, 0, 0, PROTO_ICMPV6]);
    Some(csum_fold(csum_add(s, body)))
}

/// Whether `a` can name one remote host: not in 0/8 ("this network"),
/// 127/8 (loopback), 224/4 (multicast) or 240/4 (reserved, including the
/// limited broadcast). Subnet-directed broadcasts are the caller's to know.
pub fn is_ipv4_unicast(a: [u8; 4]) -> bool {
    !matches!(a[0], 0 | 127 | 224..=255)
}

/// Whether `a` is an IPv6 multicast address (`ff00::/8`).
pub fn is_ipv6_multicast(a: [u8; 16]) -> bool {
    a[0] == 0xff
}

/// Whether `a` can name one remote IPv6 node: not unspecified, loopback
/// (`::1`) or multicast.
pub fn is_ipv6_unicast(a: [u8; 16]) -> bool {
    let mut loopback = UNSPECIFIED;
    loopback[15] = 1;
    a != UNSPECIFIED && a != loopback && !is_ipv6_multicast(a)
}

/// Solicited-node multicast address of `target`: `ff02::1:ff` followed by
/// the low 24 bits of `target` (RFC 4291 2.7.1).
pub fn solicited_node(target: [u8; 16]) -> [u8; 16] {
    let mut a = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    a[13] = target[13];
    a[14] = target[14];
    a[15] = target[15];
    a
}

/// Whether `a` is a solicited-node multicast address (`ff02::1:ff00:0/104`).
pub fn is_solicited_node(a: [u8; 16]) -> bool {
    solicited_node(a) == a
}

/// Ethernet address of the IPv6 multicast group `addr`: `33:33` and the
/// low 32 bits of `addr` (RFC 2464 7).
pub fn ipv6_mcast_mac(addr: [u8; 16]) -> [u8; 6] {
    [0x33, 0x33, addr[12], addr[13], addr[14], addr[15]]
}

/// Why a packet failed [`ipv4_parse`] or [`ipv6_parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than its header or its length field.
    Truncated,
    /// The version field is not the parser's.
    Version,
    /// IPv4 IHL below 5, or total length below the header length.
    HeaderLength,
    /// The IPv4 header checksum does not verify.
    Checksum,
}

/// What the forwarding path needs from a valid IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Info {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Time to live.
    pub ttl: u8,
    /// Protocol of the payload.
    pub proto: u8,
    /// Header length in bytes (20..=60).
    pub hdr_len: usize,
    /// Total length in bytes (header and payload, without link padding).
    pub tot_len: usize,
    /// Don't Fragment is set.
    pub df: bool,
    /// A fragment: More Fragments set or a nonzero offset.
    pub frag: bool,
    /// Offset of this fragment's data in bytes (0 for a first fragment).
    pub frag_offset: u16,
}

/// Checks the IPv4 header at the start of `pkt`: version 4, IHL of at least
/// 5, header length <= total length <= `pkt.len()` (bytes past the total
/// length are link padding), and a valid header checksum.
pub fn ipv4_parse(pkt: &[u8]) -> Result<Ipv4Info, Malformed> {
    let vihl = *pkt.first().ok_or(Malformed::Truncated)?;
    if vihl >> 4 != 4 {
        return Err(Malformed::Version);
    }
    let hdr_len = usize::from(vihl & 0x0f) * 4;
    if hdr_len < IPV4_HDR {
        return Err(Malformed::HeaderLength);
    }
    let hdr = pkt.get(..hdr_len).ok_or(Malformed::Truncated)?;
    let h = at::<IPV4_HDR>(hdr, 0).ok_or(Malformed::Truncated)?;
    let tot_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if tot_len < hdr_len {
        return Err(Malformed::HeaderLength);
    }
    if tot_len > pkt.len() {
        return Err(Malformed::Truncated);
    }
    if csum_fold(csum_add(0, hdr)) != 0 {
        return Err(Malformed::Checksum);
    }
    let flags = u16::from_be_bytes([h[6], h[7]]);
    let frag_offset = (flags & 0x1fff) << 3;
    Ok(Ipv4Info {
        src: [h[12], h[13], h[14], h[15]],
        dst: [h[16], h[17], h[18], h[19]],
        ttl: h[8],
        proto: h[9],
        hdr_len,
        tot_len,
        df: flags & 0x4000 != 0,
        frag: flags & 0x2000 != 0 || frag_offset != 0,
        frag_offset,
    })
}

/// Decrements the TTL of the IPv4 header at the start of `pkt` and updates
/// its checksum incrementally (RFC 1624 eqn. 3, as `ip_decrease_ttl`).
///
/// Returns false, leaving `pkt` alone, when it is shorter than a header,
/// not version 4, or the TTL is already 0. A TTL of 1 becomes 0: routers
/// send Time Exceeded instead of forwarding when the TTL is <= 1 (RFC 1812
/// 5.3.1), which the caller checks first.
pub fn ipv4_dec_ttl(pkt: &mut [u8]) -> bool {
    let Some(h) = at_mut::<IPV4_HDR>(pkt, 0) else {
        return false;
    };
    if h[0] >> 4 != 4 || h[8] == 0 {
        return false;
    }
    let old = u16::from_be_bytes([h[8], h[9]]);
    let new = old - 0x0100;
    let check = u16::from_be_bytes([h[10], h[11]]);
    let sum = u32::from(!check) + u32::from(!old) + u32::from(new);
    let [c0, c1] = csum_fold(sum).to_be_bytes();
    h[8] -= 1;
    h[10] = c0;
    h[11] = c1;
    true
}

/// What the forwarding path needs from a valid IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Info {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Hop limit.
    pub hop_limit: u8,
    /// Next header (the first extension header or the upper layer).
    pub next_header: u8,
    /// Payload length in bytes (everything after the fixed header).
    pub payload_len: usize,
}

/// Checks the IPv6 header at the start of `pkt`: version 6 and 40 +
/// payload length <= `pkt.len()`. Jumbograms (payload length 0 with a
/// jumbo option) are not recognised: they parse with an empty payload.
pub fn ipv6_parse(pkt: &[u8]) -> Result<Ipv6Info, Malformed> {
    let h = at::<IPV6_HDR>(pkt, 0).ok_or(Malformed::Truncated)?;
    if h[0] >> 4 != 6 {
        return Err(Malformed::Version);
    }
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if IPV6_HDR + payload_len > pkt.len() {
        return Err(Malformed::Truncated);
    }
    Ok(Ipv6Info {
        src: *at::<16>(h, 8).ok_or(Malformed::Truncated)?,
        dst: *at::<16>(h, 24).ok_or(Malformed::Truncated)?,
        hop_limit: h[7],
        next_header: h[6],
        payload_len,
    })
}

/// Decrements the hop limit of the IPv6 header at the start of `pkt`.
/// Returns false, leaving `pkt` alone, when it is shorter than a header, not
/// version 6, or the hop limit is already 0 (see [`ipv4_dec_ttl`] for 1).
pub fn ipv6_dec_hlim(pkt: &mut [u8]) -> bool {
    let Some(h) = at_mut::<IPV6_HDR>(pkt, 0) else {
        return false;
    };
    if h[0] >> 4 != 6 || h[7] == 0 {
        return false;
    }
    h[7] -= 1;
    true
}

/// An IPv4 header without options, checksum filled in.
fn ipv4_header(tot_len: u16, proto: u8, tos: u8, src: [u8; 4], dst: [u8; 4]) -> [u8; IPV4_HDR] {
    let [l0, l1] = tot_len.to_be_bytes();
    let [s0, s1, s2, s3] = src;
    let [d0, d1, d2, d3] = dst;
    let mut h = [
        0x45, tos, l0, l1, 0, 0, 0, 0, REPLY_TTL, proto, 0, 0, s0, s1, s2, s3, d0, d1, d2, d3,
    ];
    let [c0, c1] = csum_fold(csum_add(0, &h)).to_be_bytes();
    h[10] = c0;
    h[11] = c1;
    h
}

/// Writes an IPv6 header (traffic class and flow label 0) to `out`.
fn put_ipv6(
    out: &mut [u8],
    payload_len: usize,
    hop_limit: u8,
    src: &[u8; 16],
    dst: &[u8; 16],
) -> Option<()> {
    let [l0, l1] = u16::try_from(payload_len).ok()?.to_be_bytes();
    put(out, 0, &[0x60, 0, 0, 0, l0, l1, PROTO_ICMPV6, hop_limit])?;
    put(out, 8, src)?;
    put(out, 24, dst)
}

/// An ICMPv4 error the router sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpError {
    /// Time Exceeded in transit (type 11 code 0).
    TimeExceeded,
    /// Destination Unreachable, network (type 3 code 0).
    NetUnreachable,
    /// Destination Unreachable, host (type 3 code 1).
    HostUnreachable,
    /// Destination Unreachable, administratively prohibited (type 3 code 13).
    AdminProhibited,
    /// Fragmentation needed and DF set (type 3 code 4), with the next-hop
    /// MTU (RFC 1191).
    FragNeeded {
        /// MTU of the next hop.
        mtu: u16,
    },
}

impl IcmpError {
    /// Type, code and the header's last four bytes.
    fn header(self) -> (u8, u8, [u8; 4]) {
        match self {
            Self::TimeExceeded => (11, 0, [0; 4]),
            Self::NetUnreachable => (3, 0, [0; 4]),
            Self::HostUnreachable => (3, 1, [0; 4]),
            Self::AdminProhibited => (3, 13, [0; 4]),
            Self::FragNeeded { mtu } => {
                let [m0, m1] = mtu.to_be_bytes();
                (3, 4, [0, 0, m0, m1])
            }
        }
    }
}

/// Whether RFC 1812 4.3.2.7 lets a router answer `orig` with an ICMP error.
fn icmp4_may_answer(orig: &[u8], info: &Ipv4Info) -> bool {
    if info.frag_offset != 0
        || !is_ipv4_unicast(info.src)
        || matches!(info.dst[0], 224..=239)
        || info.dst == [255; 4]
    {
        return false;
    }
    if info.proto != PROTO_ICMP {
        return true;
    }
    // Only a type byte inside the datagram counts. Unknown types (> 18)
    // are treated as errors, as Linux does.
    match orig
        .get(info.hdr_len)
        .filter(|_| info.hdr_len < info.tot_len)
    {
        Some(&t) => !matches!(t, 3 | 4 | 5 | 11 | 12 | 19..),
        None => false,
    }
}

/// Builds in `out` an IPv4 packet carrying the ICMP error `kind` about the
/// IPv4 datagram `orig`, from `src` to `orig`'s source.
///
/// The header has TTL 64, TOS 0xc0, id 0, DF clear and no options. The
/// error quotes `orig` (without link padding) up to [`ICMP4_ERROR_MAX`]
/// bytes in all, as Linux does; RFC 792 needs only the header and 8 bytes.
/// `out` must hold the whole packet: [`ICMP4_ERROR_MAX`] always suffices.
///
/// Returns `None` when `orig` is malformed, `src` is not unicast, or RFC
/// 1812 4.3.2.7 forbids the error: `orig` is an ICMP error (or of unknown
/// type), a non-first fragment, from a source that names no single host
/// (0/8, 127/8, multicast, 240/4 and broadcast), or sent to multicast or
/// the limited broadcast.
pub fn icmp4_error(out: &mut [u8], orig: &[u8], src: [u8; 4], kind: IcmpError) -> Option<usize> {
    let info = ipv4_parse(orig).ok()?;
    if !is_ipv4_unicast(src) || !icmp4_may_answer(orig, &info) {
        return None;
    }
    let quote = orig.get(..info.tot_len.min(ICMP4_ERROR_MAX - IPV4_HDR - ICMP_HDR))?;
    let total = IPV4_HDR + ICMP_HDR + quote.len();
    let out = out.get_mut(..total)?;
    let ip = ipv4_header(
        u16::try_from(total).ok()?,
        PROTO_ICMP,
        ICMP4_ERROR_TOS,
        src,
        info.src,
    );
    put(out, 0, &ip)?;
    let icmp = out.get_mut(IPV4_HDR..)?;
    let (ty, code, rest) = kind.header();
    let [r0, r1, r2, r3] = rest;
    put(icmp, 0, &[ty, code, 0, 0, r0, r1, r2, r3])?;
    put(icmp, ICMP_HDR, quote)?;
    let check = csum_fold(csum_add(0, icmp)).to_be_bytes();
    put(icmp, 2, &check)?;
    Some(total)
}

/// An ICMPv6 error the router sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmp6Error {
    /// Time Exceeded, hop limit exceeded in transit (type 3 code 0).
    TimeExceeded,
    /// Destination Unreachable, no route (type 1 code 0).
    NoRoute,
    /// Destination Unreachable, administratively prohibited (type 1 code 1).
    AdminProhibited,
    /// Destination Unreachable, address unreachable (type 1 code 3).
    AddrUnreachable,
    /// Packet Too Big (type 2 code 0) with the next-hop MTU.
    PacketTooBig {
        /// MTU of the next hop.
        mtu: u32,
    },
}

impl Icmp6Error {
    /// Type, code and the header's last four bytes.
    fn header(self) -> (u8, u8, [u8; 4]) {
        match self {
            Self::TimeExceeded => (3, 0, [0; 4]),
            Self::NoRoute => (1, 0, [0; 4]),
            Self::AdminProhibited => (1, 1, [0; 4]),
            Self::AddrUnreachable => (1, 3, [0; 4]),
            Self::PacketTooBig { mtu } => (2, 0, mtu.to_be_bytes()),
        }
    }
}

/// Most extension headers skipped looking for an ICMPv6 header.
const MAX_EXT_HEADERS: usize = 8;

/// Whether `pkt` (a parsed IPv6 packet) is an ICMPv6 error, or ICMPv6
/// too short to tell, looking past extension headers. An upper layer out of
/// reach (behind a non-first fragment, ESP or too many headers) is not.
fn icmp6_is_error(pkt: &[u8], info: &Ipv6Info) -> bool {
    let Some(pkt) = pkt.get(..IPV6_HDR + info.payload_len) else {
        return true;
    };
    let mut next = info.next_header;
    let mut off = IPV6_HDR;
    for _ in 0..=MAX_EXT_HEADERS {
        if next == PROTO_ICMPV6 {
            return !matches!(pkt.get(off), Some(&t) if t >= 128);
        }
        match ext_header(pkt, off, next) {
            Some((n, o)) => (next, off) = (n, o),
            None => return false,
        }
    }
    false
}

/// The next header and end offset of the extension header `next` at `off`
/// in `pkt`; `None` for an upper layer, a header cut short or a non-first
/// fragment (whose upper header is elsewhere).
fn ext_header(pkt: &[u8], off: usize, next: u8) -> Option<(u8, usize)> {
    let h = at::<4>(pkt, off)?;
    let len = match next {
        // Hop-by-hop, routing, destination options: 8-byte units.
        0 | 43 | 60 => (usize::from(h[1]) + 1) * 8,
        // Authentication header: 4-byte units, minus two.
        51 => (usize::from(h[1]) + 2) * 4,
        44 if u16::from_be_bytes([h[2], h[3]]) & 0xfff8 == 0 => 8,
        _ => return None,
    };
    Some((h[0], off.checked_add(len)?))
}

/// Builds in `out` an IPv6 packet carrying the ICMPv6 error `kind` about
/// the IPv6 packet `orig`, from `src` to `orig`'s source, hop limit 64.
///
/// The error quotes `orig` (without link padding) up to [`ICMP6_ERROR_MAX`]
/// bytes in all (RFC 4443 2.4 (c)); `out` must hold the whole packet, so
/// [`ICMP6_ERROR_MAX`] always suffices.
///
/// Returns `None` when `orig` is malformed, `src` is not unicast, or RFC
/// 4443 2.4 (e) forbids the error: `orig` is an ICMPv6 error (type < 128,
/// found behind extension headers when they are reachable), comes from the
/// unspecified, loopback or a multicast address, or was sent to a multicast
/// address (allowed only for Packet Too Big).
pub fn icmp6_error(out: &mut [u8], orig: &[u8], src: [u8; 16], kind: Icmp6Error) -> Option<usize> {
    let info = ipv6_parse(orig).ok()?;
    if !is_ipv6_unicast(src) || !is_ipv6_unicast(info.src) {
        return None;
    }
    if is_ipv6_multicast(info.dst) && !matches!(kind, Icmp6Error::PacketTooBig { .. }) {
        return None;
    }
    if icmp6_is_error(orig, &info) {
        return None;
    }
    let quote_len = (IPV6_HDR + info.payload_len).min(ICMP6_ERROR_MAX - IPV6_HDR - ICMP_HDR);
    let quote = orig.get(..quote_len)?;
    let total = IPV6_HDR + ICMP_HDR + quote.len();
    let out = out.get_mut(..total)?;
    put_ipv6(out, ICMP_HDR + quote.len(), REPLY_TTL, &src, &info.src)?;
    let icmp = out.get_mut(IPV6_HDR..)?;
    let (ty, code, rest) = kind.header();
    let [r0, r1, r2, r3] = rest;
    put(icmp, 0, &[ty, code, 0, 0, r0, r1, r2, r3])?;
    put(icmp, ICMP_HDR, quote)?;
    let check = icmp6_csum(&src, &info.src, icmp)?.to_be_bytes();
    put(icmp, 2, &check)?;
    Some(total)
}

/// Turns the ICMP Echo Request `pkt` (IPv4, to the router) into its Echo
/// Reply in place: addresses swapped, type 0, TTL 64, both checksums
/// recomputed; the id, TOS and payload stay. Bytes past the IPv4 total
/// length are left alone.
///
/// Returns false, leaving `pkt` alone, unless `pkt` is a valid IPv4 header
/// without options, not a fragment, between unicast addresses (see
/// [`is_ipv4_unicast`]), carrying an ICMP echo request (type 8, code 0) of
/// at least 8 bytes whose checksum verifies. Requests with options (record
/// route, source route) are left to the host stack, which reverses them.
pub fn icmp4_echo_reply(pkt: &mut [u8]) -> bool {
    echo4(pkt).is_some()
}

/// [`icmp4_echo_reply`] with `?`.
fn echo4(pkt: &mut [u8]) -> Option<()> {
    let info = ipv4_parse(pkt).ok()?;
    if info.hdr_len != IPV4_HDR
        || info.frag
        || info.proto != PROTO_ICMP
        || !is_ipv4_unicast(info.src)
        || !is_ipv4_unicast(info.dst)
    {
        return None;
    }
    let pkt = pkt.get_mut(..info.tot_len)?;
    let icmp = pkt.get(IPV4_HDR..)?;
    let h = at::<ICMP_HDR>(icmp, 0)?;
    if h[0] != 8 || h[1] != 0 || csum_fold(csum_add(0, icmp)) != 0 {
        return None;
    }
    let icmp = pkt.get_mut(IPV4_HDR..)?;
    put(icmp, 0, &[0, 0, 0, 0])?;
    let check = csum_fold(csum_add(0, icmp)).to_be_bytes();
    put(icmp, 2, &check)?;
    let h = at_mut::<IPV4_HDR>(pkt, 0)?;
    h[8] = REPLY_TTL;
    h[10] = 0;
    h[11] = 0;
    put(h, 12, &info.dst)?;
    put(h, 16, &info.src)?;
    let [c0, c1] = csum_fold(csum_add(0, h)).to_be_bytes();
    h[10] = c0;
    h[11] = c1;
    Some(())
}

/// Turns the ICMPv6 Echo Request `pkt` (to the router) into its Echo Reply
/// in place: addresses swapped, type 129, hop limit 64, checksum
/// recomputed. Bytes past the payload length are left alone.
///
/// Returns false, leaving `pkt` alone, unless `pkt` is a valid IPv6 packet
/// between unicast addresses (see [`is_ipv6_unicast`]) whose next header is
/// ICMPv6 (extension headers are left to the host stack) carrying an echo
/// request (type 128, code 0) whose checksum verifies.
pub fn icmp6_echo_reply(pkt: &mut [u8]) -> bool {
    echo6(pkt).is_some()
}

/// [`icmp6_echo_reply`] with `?`.
fn echo6(pkt: &mut [u8]) -> Option<()> {
    let info = ipv6_parse(pkt).ok()?;
    if info.next_header != PROTO_ICMPV6 || !is_ipv6_unicast(info.src) || !is_ipv6_unicast(info.dst)
    {
        return None;
    }
    let pkt = pkt.get_mut(..IPV6_HDR + info.payload_len)?;
    let icmp = pkt.get(IPV6_HDR..)?;
    let h = at::<ICMP_HDR>(icmp, 0)?;
    if h[0] != 128 || h[1] != 0 || icmp6_csum(&info.src, &info.dst, icmp)? != 0 {
        return None;
    }
    let icmp = pkt.get_mut(IPV6_HDR..)?;
    put(icmp, 0, &[129, 0, 0, 0])?;
    let check = icmp6_csum(&info.dst, &info.src, icmp)?.to_be_bytes();
    put(icmp, 2, &check)?;
    put(pkt, 7, &[REPLY_TTL])?;
    put(pkt, 8, &info.dst)?;
    put(pkt, 24, &info.src)
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// Opcode: [`ARP_REQUEST`] or [`ARP_REPLY`].
    pub op: u16,
    /// Sender hardware address.
    pub sha: [u8; 6],
    /// Sender protocol address.
    pub spa: [u8; 4],
    /// Target hardware address (zero in a request).
    pub tha: [u8; 6],
    /// Target protocol address.
    pub tpa: [u8; 4],
}

/// The fixed ARP header for Ethernet and IPv4: htype 1, ptype 0x0800,
/// hlen 6, plen 4.
const ARP_ETH_IPV4: [u8; 6] = [0, 1, 0x08, 0x00, 6, 4];

/// Parses an Ethernet/IPv4 ARP request or reply at the start of `pkt`
/// (trailing padding ignored); `None` for other hardware or protocol types,
/// address lengths or opcodes.
pub fn arp_parse(pkt: &[u8]) -> Option<Arp> {
    if at::<6>(pkt, 0)? != &ARP_ETH_IPV4 {
        return None;
    }
    let op = be16(pkt, 6)?;
    if op != ARP_REQUEST && op != ARP_REPLY {
        return None;
    }
    Some(Arp {
        op,
        sha: *at(pkt, 8)?,
        spa: *at(pkt, 14)?,
        tha: *at(pkt, 18)?,
        tpa: *at(pkt, 24)?,
    })
}

/// Writes `a` as an Ethernet/IPv4 ARP packet ([`ARP_LEN`] bytes) to `out`;
/// `None` when `out` is short or the opcode is not a request or reply.
pub fn arp_build(out: &mut [u8], a: &Arp) -> Option<usize> {
    if a.op != ARP_REQUEST && a.op != ARP_REPLY {
        return None;
    }
    let out = out.get_mut(..ARP_LEN)?;
    put(out, 0, &ARP_ETH_IPV4)?;
    put(out, 6, &a.op.to_be_bytes())?;
    put(out, 8, &a.sha)?;
    put(out, 14, &a.spa)?;
    put(out, 18, &a.tha)?;
    put(out, 24, &a.tpa)?;
    Some(ARP_LEN)
}

/// A Neighbour Discovery message (RFC 4861) the router acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ndp {
    /// Neighbour Solicitation.
    Solicit {
        /// IPv6 source; unspecified for duplicate address detection.
        src: [u8; 16],
        /// Address being resolved.
        target: [u8; 16],
        /// Source link-layer address option.
        slla: Option<[u8; 6]>,
    },
    /// Neighbour Advertisement.
    Advert {
        /// Address advertised.
        target: [u8; 16],
        /// Target link-layer address option.
        tlla: Option<[u8; 6]>,
        /// The sender is a router.
        router: bool,
        /// A reply to a solicitation.
        solicited: bool,
        /// The advertisement should replace a cached link-layer address.
        override_: bool,
    },
}

/// Walks NDP options: the first Ethernet address in an option of type
/// `want`, or `Some(None)` if there is none; `None` for a zero-length or
/// truncated option, or a `want` option of other than 8 bytes.
fn ndp_lla(mut opts: &[u8], want: u8) -> Option<Option<[u8; 6]>> {
    let mut lla = None;
    while !opts.is_empty() {
        let (&ty, &units) = (opts.first()?, opts.get(1)?);
        let len = usize::from(units) * 8;
        if len == 0 {
            return None;
        }
        let opt = opts.get(..len)?;
        let rest = opts.get(len..)?;
        if ty == want && lla.is_none() {
            if len != NDP_LLA_OPT {
                return None;
            }
            lla = Some(*at::<6>(opt, 2)?);
        }
        opts = rest;
    }
    Some(lla)
}

/// Parses the Neighbour Solicitation or Advertisement `pkt` (an IPv6
/// packet), checking it as RFC 4861 7.1 asks: next header ICMPv6 (no
/// extension headers), hop limit 255, valid checksum, code 0, at least 24
/// bytes, target not multicast, no zero-length option; an NS from the
/// unspecified address goes to a solicited-node address without SLLA, and
/// an NA to a multicast address is not solicited. Reserved bits and
/// unknown options are ignored; of repeated SLLA/TLLA options the first
/// counts.
pub fn ndp_parse(pkt: &[u8]) -> Option<Ndp> {
    let info = ipv6_parse(pkt).ok()?;
    if info.next_header != PROTO_ICMPV6 || info.hop_limit != NDP_HOP_LIMIT {
        return None;
    }
    let icmp = pkt.get(IPV6_HDR..IPV6_HDR + info.payload_len)?;
    let h = at::<NDP_BASE>(icmp, 0)?;
    if h[1] != 0 || icmp6_csum(&info.src, &info.dst, icmp)? != 0 {
        return None;
    }
    let target = *at::<16>(h, 8)?;
    if is_ipv6_multicast(target) {
        return None;
    }
    let opts = icmp.get(NDP_BASE..)?;
    match h[0] {
        NDP_NS => {
            let slla = ndp_lla(opts, OPT_SLLA)?;
            if info.src == UNSPECIFIED && (slla.is_some() || !is_solicited_node(info.dst)) {
                return None;
            }
            Some(Ndp::Solicit {
                src: info.src,
                target,
                slla,
            })
        }
        NDP_NA => {
            let tlla = ndp_lla(opts, OPT_TLLA)?;
            let solicited = h[4] & NA_SOLICITED != 0;
            if solicited && is_ipv6_multicast(info.dst) {
                return None;
            }
            Some(Ndp::Advert {
                target,
                tlla,
                router: h[4] & NA_ROUTER != 0,
                solicited,
                override_: h[4] & NA_OVERRIDE != 0,
            })
        }
        _ => None,
    }
}

/// Writes an NS or NA (IPv6 header, hop limit 255, ICMPv6 `ty` with
/// `flags`, `target`, and optionally a link-layer address option).
fn ndp_build(
    out: &mut [u8],
    src: [u8; 16],
    dst: [u8; 16],
    ty: u8,
    flags: u8,
    target: [u8; 16],
    opt: Option<(u8, [u8; 6])>,
) -> Option<usize> {
    let icmp_len = NDP_BASE + if opt.is_some() { NDP_LLA_OPT } else { 0 };
    let total = IPV6_HDR + icmp_len;
    let out = out.get_mut(..total)?;
    put_ipv6(out, icmp_len, NDP_HOP_LIMIT, &src, &dst)?;
    let icmp = out.get_mut(IPV6_HDR..)?;
    put(icmp, 0, &[ty, 0, 0, 0, flags, 0, 0, 0])?;
    put(icmp, 8, &target)?;
    if let Some((kind, mac)) = opt {
        put(icmp, NDP_BASE, &[kind, 1])?;
        put(icmp, NDP_BASE + 2, &mac)?;
    }
    let check = icmp6_csum(&src, &dst, icmp)?.to_be_bytes();
    put(icmp, 2, &check)?;
    Some(total)
}

/// Builds in `out` a multicast Neighbour Solicitation for `target` from
/// `src` to `solicited_node(target)` (send it to `ipv6_mcast_mac` of that),
/// with `mac` as SLLA option. An unspecified `src` (duplicate address
/// detection) gets no SLLA, as RFC 4861 7.2.2 requires.
///
/// Returns the length (72, or 64 without SLLA), or `None` when `out` is
/// short, `src` is multicast or `target` is not unicast.
pub fn ndp_build_ns(
    out: &mut [u8],
    src: [u8; 16],
    target: [u8; 16],
    mac: [u8; 6],
) -> Option<usize> {
    if is_ipv6_multicast(src) || !is_ipv6_unicast(target) {
        return None;
    }
    let opt = (src != UNSPECIFIED).then_some((OPT_SLLA, mac));
    ndp_build(out, src, solicited_node(target), NDP_NS, 0, target, opt)
}

/// Builds in `out` a Neighbour Advertisement of `target` at `mac` (TLLA
/// option) from `src` to `dst`, with the Router and Override flags set and
/// Solicited as given.
///
/// An NS from a unicast address is answered to that address with
/// `solicited` true. An NS from the unspecified address (duplicate address
/// detection) is answered to [`ALL_NODES`] with `solicited` false (RFC 4861
/// 7.2.4); the caller passes those.
///
/// Returns the length (72), or `None` when `out` is short, `src` is not
/// unicast, `target` is not unicast, `dst` is unspecified, or `dst` is
/// multicast with `solicited` set.
pub fn ndp_build_na(
    out: &mut [u8],
    src: [u8; 16],
    dst: [u8; 16],
    target: [u8; 16],
    mac: [u8; 6],
    solicited: bool,
) -> Option<usize> {
    if !is_ipv6_unicast(src)
        || !is_ipv6_unicast(target)
        || dst == UNSPECIFIED
        || (solicited && is_ipv6_multicast(dst))
    {
        return None;
    }
    let mut flags = NA_ROUTER | NA_OVERRIDE;
    if solicited {
        flags |= NA_SOLICITED;
    }
    ndp_build(out, src, dst, NDP_NA, flags, target, Some((OPT_TLLA, mac)))
}
