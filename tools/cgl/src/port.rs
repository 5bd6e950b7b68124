// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl fib bind|unbind|ports`: the interfaces ("ports") whose
//! packets a FIB forwards, and the packet counters of ports and FIBs.
//!
//! # Syntax
//!
//! ```text
//! cgl-ctl fib bind dev IFNAME fib ID [addr ADDR/LEN]...
//! cgl-ctl fib unbind dev IFNAME
//! cgl-ctl fib ports [dev IFNAME] [fib ID]
//! ```
//!
//! As with `ip`, the words come in any order. `addr` (or `address`,
//! `local`) gives a router address of the interface in that FIB, with its
//! prefix length as `ip address add` takes it (`10.0.0.1/24`,
//! `2001:db8:1::1/64`): up to `CGL_FIB_PORT_ADDRS` (8) per family. `table
//! ID` is `fib ID`.
//!
//! # Wire format
//!
//! `CGL_FIB_CMD_BIND`: FIB_ID, OIF and, if addresses are given, LOCALS: a
//! nest of one LOCAL nest per address, each `{ADDR, DST_LEN}`.
//! `CGL_FIB_CMD_GETPORT` answers with OIF, FIB_ID, LOCALS and STATS, a nest
//! of u64 counters whose attribute types are `enum cgl_fib_stat` (padded
//! with empty attributes, which are skipped; counters this tool does not
//! know are ignored). GETFIB replies carry the same STATS nest, summed
//! over the FIB's ports.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{json, Map, Value};

use crate::columns;
use crate::fib::{parse_fib_id, put_addr, take, Af, IfNames};
use crate::genl::{self, AttrMap};
use crate::uapi::*;

/// The names of the counters of `enum cgl_fib_stat`, in their order
/// (`CGL_FIB_STAT_RX` is the first); JSON keys and table headers.
pub const STAT_NAMES: [&str; CGL_FIB_STAT_MAX as usize] = [
    "rx",
    "forwarded",
    "local",
    "noroute",
    "ttl",
    "blackhole",
    "toobig",
    "unresolved",
    "drops",
    "icmp",
    "arp",
];

/// The packet counters of a port or a FIB (`CGL_FIB_A_STATS`); a counter
/// the kernel did not send is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats(pub [u64; CGL_FIB_STAT_MAX as usize]);

impl Stats {
    /// Decodes the payload of a STATS nest. Empty attributes (the padding
    /// of `nla_put_u64_64bit`) and counters of a newer kernel are skipped;
    /// a known counter must have 8 bytes (4 are taken too).
    pub fn decode(nest: &[u8]) -> genl::Result<Self> {
        let mut s = Stats::default();
        for (ty, d) in AttrMap::parse(nest)?.iter() {
            if d.is_empty() || ty == 0 || ty > CGL_FIB_STAT_MAX {
                continue;
            }
            let v = match d.len() {
                8 => u64::from_ne_bytes(d.try_into().expect("8 bytes")),
                4 => u64::from(u32::from_ne_bytes(d.try_into().expect("4 bytes"))),
                n => {
                    return Err(genl::Error::Malformed(format!(
                        "counter {} of {n} bytes",
                        STAT_NAMES[usize::from(ty) - 1]
                    )))
                }
            };
            s.0[usize::from(ty) - 1] = v;
        }
        Ok(s)
    }

    /// The STATS nest of a reply, if it has one.
    pub fn from_attrs(a: &AttrMap) -> genl::Result<Option<Self>> {
        a.get(CGL_FIB_A_STATS).map(Stats::decode).transpose()
    }

    /// The counter `ty` (`enum cgl_fib_stat`).
    pub fn get(&self, ty: u16) -> u64 {
        self.0[usize::from(ty) - 1]
    }

    /// (name, value) of every counter, in order.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        STAT_NAMES.iter().copied().zip(self.0.iter().copied())
    }

    /// The counters as a JSON object keyed by their names.
    pub fn to_json(self) -> Value {
        Value::Object(
            self.named()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<Map<_, _>>(),
        )
    }
}

/// An address of an interface with its prefix length, as `ip address`
/// gives it (`10.0.0.1/24`): host bits are the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IfAddr {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length of its subnet.
    pub len: u8,
}

impl IfAddr {
    /// The family of the address.
    pub fn af(&self) -> Af {
        Af::of(self.addr)
    }
}

impl fmt::Display for IfAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Parses a router address: `A.B.C.D/LEN` or `IPV6/LEN`, LEN required
/// (1-32 or 1-128), a unicast host address of its subnet.
pub fn parse_if_addr(s: &str) -> Result<IfAddr, String> {
    let Some((a, l)) = s.split_once('/') else {
        return Err(match s.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => format!("address {s} needs its prefix length ({s}/24, say)"),
            Ok(IpAddr::V6(_)) => format!("address {s} needs its prefix length ({s}/64, say)"),
            Err(_) => format!("'{s}' is not an address with a prefix length (ADDR/LEN)"),
        });
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("'{s}' is not an address with a prefix length (ADDR/LEN)"))?;
    let max = Af::of(addr).bits();
    if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad prefix length '{l}' in '{s}'"));
    }
    let len: u8 = l
        .parse()
        .map_err(|_| format!("bad prefix length '{l}' in '{s}'"))?;
    if len == 0 || len > max {
        return Err(format!("prefix length {len} out of range 1-{max} in '{s}'"));
    }
    let bad = |why: &str| Err(format!("{s}: {why}, not a router address"));
    match addr {
        IpAddr::V4(v) => {
            if v.is_unspecified() {
                return bad("the unspecified address");
            }
            if v.is_multicast() || v == Ipv4Addr::BROADCAST {
                return bad("a multicast or broadcast address");
            }
            if v.is_loopback() {
                return bad("a loopback address");
            }
            if len <= 30 {
                let host = u32::from(v) & (u32::MAX >> len);
                if host == 0 {
                    return bad("the network address of its subnet");
                }
                if host == u32::MAX >> len {
                    return bad("the broadcast address of its subnet");
                }
            }
        }
        IpAddr::V6(v) => {
            if v.is_unspecified() {
                return bad("the unspecified address");
            }
            if v.is_multicast() {
                return bad("a multicast address");
            }
            if v == Ipv6Addr::LOCALHOST {
                return bad("the loopback address");
            }
            if len <= 126 && u128::from(v) & (u128::MAX >> len) == 0 {
                return bad("the subnet-router anycast address of its subnet");
            }
        }
    }
    Ok(IfAddr { addr, len })
}

/// A parsed `fib bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Interface index.
    pub oif: u32,
    /// FIB id.
    pub fib: u32,
    /// Router addresses, in the order given.
    pub addrs: Vec<IfAddr>,
}

/// Usage of `fib bind`.
pub const BIND_USAGE: &str = "fib bind dev IFNAME fib ID [addr ADDR/LEN]...";
/// Usage of `fib unbind`.
pub const UNBIND_USAGE: &str = "fib unbind dev IFNAME";
/// Usage of `fib ports`.
pub const PORTS_USAGE: &str = "fib ports [dev IFNAME] [fib ID]";

/// Parses the words of `fib bind` (after `bind`).
pub fn parse_bind(words: &[&str], names: &mut IfNames) -> Result<Bind, String> {
    let (mut dev, mut fib) = (None, None);
    let mut addrs: Vec<IfAddr> = Vec::new();
    let mut given = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        match w {
            "dev" => take(words, &mut i, "dev", "a device name", &mut dev, &mut given)?,
            "fib" | "table" => take(words, &mut i, "fib", "an id", &mut fib, &mut given)?,
            "addr" | "address" | "local" => {
                let mut a = None;
                take(words, &mut i, "addr", "ADDR/LEN", &mut a, &mut given)?;
                let a = parse_if_addr(a.expect("taken"))?;
                if let Some(d) = addrs.iter().find(|d| d.addr == a.addr) {
                    return Err(format!("address {} given twice ({d} and {a})", a.addr));
                }
                if addrs.iter().filter(|d| d.af() == a.af()).count() >= CGL_FIB_PORT_ADDRS {
                    return Err(format!(
                        "at most {CGL_FIB_PORT_ADDRS} {} addresses per interface ({a} is one more)",
                        a.af().name()
                    ));
                }
                addrs.push(a);
            }
            _ => return Err(format!("unexpected '{w}': {BIND_USAGE}")),
        }
    }
    let dev = dev.ok_or_else(|| format!("missing 'dev IFNAME': {BIND_USAGE}"))?;
    let fib = fib.ok_or_else(|| format!("missing 'fib ID': {BIND_USAGE}"))?;
    Ok(Bind {
        oif: names.index(dev)?,
        fib: parse_fib_id(fib)?,
        addrs,
    })
}

/// Parses the words of `fib unbind` (after `unbind`): the interface index.
pub fn parse_unbind(words: &[&str], names: &mut IfNames) -> Result<u32, String> {
    match words {
        [] => Err(format!("missing 'dev IFNAME': {UNBIND_USAGE}")),
        ["dev"] => Err("'dev' needs a device name".into()),
        ["dev", d] => names.index(d),
        ["dev", _, w, ..] | [w, ..] => Err(format!("unexpected '{w}': {UNBIND_USAGE}")),
    }
}

/// Parses the words of `fib ports` (after `ports`): the interface and FIB
/// wanted, if any.
pub fn parse_ports(
    words: &[&str],
    names: &mut IfNames,
) -> Result<(Option<u32>, Option<u32>), String> {
    let (mut dev, mut fib) = (None, None);
    let mut given = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        match w {
            "dev" => take(words, &mut i, "dev", "a device name", &mut dev, &mut given)?,
            "fib" | "table" => take(words, &mut i, "fib", "an id", &mut fib, &mut given)?,
            _ => return Err(format!("unexpected '{w}': {PORTS_USAGE}")),
        }
    }
    Ok((
        dev.map(|d| names.index(d)).transpose()?,
        fib.map(parse_fib_id).transpose()?,
    ))
}

/// The attributes of a BIND request: FIB_ID, OIF, and LOCALS if there are
/// addresses.
pub fn bind_attrs(b: &Bind) -> genl::Result<AttrMap> {
    let mut a = AttrMap::new();
    a.push_u32(CGL_FIB_A_FIB_ID, b.fib)
        .push_u32(CGL_FIB_A_OIF, b.oif);
    if !b.addrs.is_empty() {
        let mut locals = AttrMap::new();
        for x in &b.addrs {
            let mut l = AttrMap::new();
            put_addr(&mut l, CGL_FIB_A_ADDR, x.addr);
            l.push_u8(CGL_FIB_A_DST_LEN, x.len);
            locals.push_nested(CGL_FIB_A_LOCAL, &l)?;
        }
        a.push_nested(CGL_FIB_A_LOCALS, &locals)?;
    }
    Ok(a)
}

/// The attributes of an UNBIND or a GETPORT request: OIF.
pub fn oif_attrs(oif: u32) -> AttrMap {
    let mut a = AttrMap::new();
    a.push_u32(CGL_FIB_A_OIF, oif);
    a
}

/// Decodes a LOCALS nest: its LOCAL nests (other attributes are skipped).
pub fn decode_locals(nest: &[u8]) -> genl::Result<Vec<IfAddr>> {
    let mut v = Vec::new();
    for (ty, d) in AttrMap::parse(nest)?.iter() {
        if ty != CGL_FIB_A_LOCAL {
            continue;
        }
        let l = AttrMap::parse(d)?;
        let raw = l
            .get(CGL_FIB_A_ADDR)
            .ok_or_else(|| genl::Error::Malformed("router address without ADDR".into()))?;
        let addr = match raw.len() {
            4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(raw).expect("4"))),
            16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(raw).expect("16"))),
            n => {
                return Err(genl::Error::Malformed(format!(
                    "router address of {n} bytes"
                )))
            }
        };
        let len = l.u8(CGL_FIB_A_DST_LEN)?.unwrap_or(Af::of(addr).bits());
        if len > Af::of(addr).bits() {
            return Err(genl::Error::Malformed(format!(
                "router address {addr} of prefix length {len}"
            )));
        }
        v.push(IfAddr { addr, len });
    }
    Ok(v)
}

/// A bound interface as the kernel describes it (a CGL_FIB_CMD_PORT
/// reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// Interface index.
    pub oif: u32,
    /// The FIB it is bound to.
    pub fib: Option<u32>,
    /// Its router addresses.
    pub addrs: Vec<IfAddr>,
    /// Its counters, if sent.
    pub stats: Option<Stats>,
}

impl PortInfo {
    /// Decodes the attributes of a PORT reply.
    pub fn decode(a: &AttrMap) -> genl::Result<Self> {
        Ok(PortInfo {
            oif: a
                .u32(CGL_FIB_A_OIF)?
                .ok_or_else(|| genl::Error::Malformed("port without an interface".into()))?,
            fib: a.u32(CGL_FIB_A_FIB_ID)?,
            addrs: a
                .get(CGL_FIB_A_LOCALS)
                .map(decode_locals)
                .transpose()?
                .unwrap_or_default(),
            stats: Stats::from_attrs(a)?,
        })
    }

    /// The port as JSON: `dev`, `oif`, `fib`, `addr_info` (as `ip -j
    /// address` gives addresses), `stats`.
    pub fn to_json(&self, names: &mut IfNames) -> Value {
        let mut v = json!({
            "dev": names.name(self.oif),
            "oif": self.oif,
            "fib": self.fib,
            "addr_info": self.addrs.iter().map(|a| json!({
                "family": a.af().json_name(),
                "local": a.addr.to_string(),
                "prefixlen": a.len,
            })).collect::<Vec<_>>(),
        });
        if let Some(s) = &self.stats {
            v.as_object_mut()
                .expect("object")
                .insert("stats".into(), s.to_json());
        }
        v
    }
}

/// The `fib ports` table: DEV, FIB, ADDRESSES (comma-separated, `-` for
/// none) and every counter.
pub fn ports_table(ports: &[PortInfo], names: &mut IfNames) -> String {
    let mut head: Vec<String> = vec!["DEV".into(), "FIB".into(), "ADDRESSES".into()];
    head.extend(STAT_NAMES.iter().map(|n| n.to_uppercase()));
    let mut rows = vec![head];
    for p in ports {
        let mut r = vec![
            names.name(p.oif),
            p.fib.map_or("-".into(), |f| f.to_string()),
            if p.addrs.is_empty() {
                "-".into()
            } else {
                p.addrs
                    .iter()
                    .map(IfAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            },
        ];
        match &p.stats {
            Some(s) => r.extend(s.0.iter().map(u64::to_string)),
            None => r.extend(STAT_NAMES.iter().map(|_| "-".to_string())),
        }
        rows.push(r);
    }
    columns(&rows)
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genl::tests::attr;
    use crate::genl::NLA_F_NESTED;

    fn fake_index(n: &str) -> Option<u32> {
        match n {
            "veth0" => Some(5),
            "veth1" => Some(6),
            _ => None,
        }
    }

    fn fake_name(i: u32) -> Option<String> {
        match i {
            5 => Some("veth0".into()),
            6 => Some("veth1".into()),
            _ => None,
        }
    }

    fn names() -> IfNames {
        IfNames::with(fake_index, fake_name)
    }

    fn ia(s: &str) -> IfAddr {
        parse_if_addr(s).unwrap()
    }

    fn bind(line: &str) -> Result<Bind, String> {
        let w: Vec<&str> = line.split_whitespace().collect();
        parse_bind(&w, &mut names())
    }

    #[test]
    fn router_addresses() {
        assert_eq!(
            ia("10.0.0.1/24"),
            IfAddr {
                addr: "10.0.0.1".parse().unwrap(),
                len: 24
            }
        );
        assert_eq!(ia("10.0.0.1/24").to_string(), "10.0.0.1/24");
        assert_eq!(ia("2001:db8:1::1/64").to_string(), "2001:db8:1::1/64");
        assert_eq!(ia("fe80::1/64").af(), Af::V6);
        // /31, /32, /127, /128: no network or broadcast address.
        for s in [
            "10.0.0.0/31",
            "10.0.0.1/31",
            "10.0.0.0/32",
            "2001:db8::/127",
        ] {
            assert_eq!(ia(s).to_string(), s);
        }
        let e = |s: &str| parse_if_addr(s).unwrap_err();
        assert_eq!(
            e("10.0.0.1"),
            "address 10.0.0.1 needs its prefix length (10.0.0.1/24, say)"
        );
        assert_eq!(
            e("2001:db8::1"),
            "address 2001:db8::1 needs its prefix length (2001:db8::1/64, say)"
        );
        assert_eq!(
            e("veth0"),
            "'veth0' is not an address with a prefix length (ADDR/LEN)"
        );
        assert_eq!(
            e("10.0/8"),
            "'10.0/8' is not an address with a prefix length (ADDR/LEN)"
        );
        assert_eq!(e("10.0.0.1/"), "bad prefix length '' in '10.0.0.1/'");
        assert_eq!(e("10.0.0.1/x"), "bad prefix length 'x' in '10.0.0.1/x'");
        assert_eq!(
            e("10.0.0.1/33"),
            "prefix length 33 out of range 1-32 in '10.0.0.1/33'"
        );
        assert_eq!(
            e("10.0.0.1/0"),
            "prefix length 0 out of range 1-32 in '10.0.0.1/0'"
        );
        assert_eq!(
            e("::1:2/129"),
            "prefix length 129 out of range 1-128 in '::1:2/129'"
        );
        assert_eq!(
            e("10.0.0.0/24"),
            "10.0.0.0/24: the network address of its subnet, not a router address"
        );
        assert_eq!(
            e("10.0.0.255/24"),
            "10.0.0.255/24: the broadcast address of its subnet, not a router address"
        );
        assert_eq!(
            e("2001:db8:1::/64"),
            "2001:db8:1::/64: the subnet-router anycast address of its subnet, not a router address"
        );
        for s in [
            "0.0.0.0/8",
            "224.0.0.1/24",
            "255.255.255.255/32",
            "127.0.0.1/8",
            "::/64",
            "ff02::1/64",
            "::1/128",
        ] {
            assert!(e(s).ends_with("not a router address"), "{s}: {}", e(s));
        }
    }

    #[test]
    fn bind_words() {
        assert_eq!(
            bind("dev veth0 fib 10 addr 10.0.0.1/24 addr 2001:db8:1::1/64"),
            Ok(Bind {
                oif: 5,
                fib: 10,
                addrs: vec![ia("10.0.0.1/24"), ia("2001:db8:1::1/64")]
            })
        );
        // Any order, aliases, no address.
        assert_eq!(
            bind("local 10.0.0.1/24 table 10 dev veth0"),
            bind("dev veth0 fib 10 address 10.0.0.1/24")
        );
        assert_eq!(bind("fib 0 dev veth1").unwrap().addrs, []);
        // 8 per family, both families.
        let mut line = String::from("dev veth0 fib 1");
        for i in 1..=8 {
            line.push_str(&format!(" addr 10.0.{i}.1/24 addr 2001:db8:{i}::1/64"));
        }
        assert_eq!(bind(&line).unwrap().addrs.len(), 16);
        assert_eq!(
            bind(&(line.clone() + " addr 2001:db8:9::1/64")).unwrap_err(),
            "at most 8 IPv6 addresses per interface (2001:db8:9::1/64 is one more)"
        );
        assert_eq!(
            bind(&(line + " addr 10.0.9.1/24")).unwrap_err(),
            "at most 8 IPv4 addresses per interface (10.0.9.1/24 is one more)"
        );
        for (line, want) in [
            (
                "dev veth0 addr 10.0.0.1/24",
                "missing 'fib ID': fib bind dev IFNAME fib ID [addr ADDR/LEN]...",
            ),
            (
                "fib 1 addr 10.0.0.1/24",
                "missing 'dev IFNAME': fib bind dev IFNAME fib ID [addr ADDR/LEN]...",
            ),
            (
                "",
                "missing 'dev IFNAME': fib bind dev IFNAME fib ID [addr ADDR/LEN]...",
            ),
            ("dev eth9 fib 1", "unknown device 'eth9'"),
            ("dev veth0 fib x", "'x' is not a FIB id (0-4294967294)"),
            (
                "dev veth0 fib 4294967295",
                "FIB id 4294967295 is reserved (CGL_FIB_ID_INVALID)",
            ),
            ("dev veth0 dev veth1 fib 1", "'dev' given twice"),
            ("dev veth0 fib 1 table 2", "'fib' given twice"),
            ("dev veth0 fib 1 addr", "'addr' needs ADDR/LEN"),
            (
                "dev veth0 fib 1 addr 10.0.0.1",
                "address 10.0.0.1 needs its prefix length (10.0.0.1/24, say)",
            ),
            (
                "dev veth0 fib 1 addr 10.0.0.1/24 addr 10.0.0.1/16",
                "address 10.0.0.1 given twice (10.0.0.1/24 and 10.0.0.1/16)",
            ),
            (
                "dev veth0 fib 1 10.0.0.1/24",
                "unexpected '10.0.0.1/24': fib bind dev IFNAME fib ID [addr ADDR/LEN]...",
            ),
        ] {
            assert_eq!(bind(line).unwrap_err(), want, "{line}");
        }
    }

    #[test]
    fn unbind_and_ports_words() {
        let n = &mut names();
        assert_eq!(parse_unbind(&["dev", "veth1"], n), Ok(6));
        assert_eq!(
            parse_unbind(&[], n).unwrap_err(),
            "missing 'dev IFNAME': fib unbind dev IFNAME"
        );
        assert_eq!(
            parse_unbind(&["dev"], n).unwrap_err(),
            "'dev' needs a device name"
        );
        assert_eq!(
            parse_unbind(&["veth0"], n).unwrap_err(),
            "unexpected 'veth0': fib unbind dev IFNAME"
        );
        assert_eq!(
            parse_unbind(&["dev", "veth0", "fib", "1"], n).unwrap_err(),
            "unexpected 'fib': fib unbind dev IFNAME"
        );
        assert_eq!(
            parse_unbind(&["dev", "eth9"], n).unwrap_err(),
            "unknown device 'eth9'"
        );
        assert_eq!(parse_ports(&[], n), Ok((None, None)));
        assert_eq!(parse_ports(&["dev", "veth0"], n), Ok((Some(5), None)));
        assert_eq!(
            parse_ports(&["table", "7", "dev", "veth1"], n),
            Ok((Some(6), Some(7)))
        );
        assert_eq!(
            parse_ports(&["veth0"], n).unwrap_err(),
            "unexpected 'veth0': fib ports [dev IFNAME] [fib ID]"
        );
        assert_eq!(
            parse_ports(&["dev", "eth9"], n).unwrap_err(),
            "unknown device 'eth9'"
        );
        assert_eq!(
            parse_ports(&["fib", "-1"], n).unwrap_err(),
            "'-1' is not a FIB id (0-4294967294)"
        );
    }

    /// The BIND request, byte for byte: FIB_ID, OIF, then LOCALS with
    /// NLA_F_NESTED holding one LOCAL nest (NLA_F_NESTED) per address.
    #[test]
    fn bind_message_bytes() {
        let b = bind("dev veth0 fib 10 addr 10.0.0.1/24 addr 2001:db8:1::1/64").unwrap();
        let got = bind_attrs(&b).unwrap().encode().unwrap();
        let local = |a: &[u8], len: u8| {
            let mut inner = attr(CGL_FIB_A_ADDR, a);
            inner.extend(attr(CGL_FIB_A_DST_LEN, &[len]));
            attr(CGL_FIB_A_LOCAL | NLA_F_NESTED, &inner)
        };
        let mut locals = local(&[10, 0, 0, 1], 24);
        let v6: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        locals.extend(local(&v6.octets(), 64));
        let mut want = attr(CGL_FIB_A_FIB_ID, &10u32.to_ne_bytes());
        want.extend(attr(CGL_FIB_A_OIF, &5u32.to_ne_bytes()));
        want.extend(attr(CGL_FIB_A_LOCALS | NLA_F_NESTED, &locals));
        assert_eq!(got, want);
        // Sizes: 8 + 8 + 4 + (4 + 8 + 8) + (4 + 20 + 8).
        assert_eq!(got.len(), 72);
        // No addresses: no LOCALS at all.
        let b = bind("dev veth1 fib 3").unwrap();
        let mut want = attr(CGL_FIB_A_FIB_ID, &3u32.to_ne_bytes());
        want.extend(attr(CGL_FIB_A_OIF, &6u32.to_ne_bytes()));
        assert_eq!(bind_attrs(&b).unwrap().encode().unwrap(), want);
        assert_eq!(
            oif_attrs(6).encode().unwrap(),
            attr(CGL_FIB_A_OIF, &6u32.to_ne_bytes())
        );
    }

    /// A PORT reply as the kernel builds it: the LOCALS nest as sent, the
    /// STATS nest with u64 counters and pad attributes.
    fn port_reply(stats: bool) -> AttrMap {
        let b = bind("dev veth0 fib 10 addr 10.0.0.1/24 addr 2001:db8:1::1/64").unwrap();
        let req = AttrMap::parse(&bind_attrs(&b).unwrap().encode().unwrap()).unwrap();
        let mut a = AttrMap::new();
        a.push_u32(CGL_FIB_A_OIF, 5).push_u32(CGL_FIB_A_FIB_ID, 10);
        a.push(CGL_FIB_A_LOCALS, req.get(CGL_FIB_A_LOCALS).unwrap());
        if stats {
            let mut s = Vec::new();
            for ty in 1..=CGL_FIB_STAT_MAX {
                s.extend(attr(CGL_FIB_A_PAD, &[]));
                s.extend(attr(ty, &(u64::from(ty) * 100).to_ne_bytes()));
            }
            // A counter of a newer kernel is skipped.
            s.extend(attr(CGL_FIB_STAT_MAX + 1, &7u64.to_ne_bytes()));
            a.push(CGL_FIB_A_STATS | NLA_F_NESTED, &s);
        }
        AttrMap::parse(&a.encode().unwrap()).unwrap()
    }

    #[test]
    fn port_replies() {
        let p = PortInfo::decode(&port_reply(true)).unwrap();
        assert_eq!(p.oif, 5);
        assert_eq!(p.fib, Some(10));
        assert_eq!(p.addrs, [ia("10.0.0.1/24"), ia("2001:db8:1::1/64")]);
        let s = p.stats.unwrap();
        assert_eq!(s.get(CGL_FIB_STAT_RX), 100);
        assert_eq!(s.get(CGL_FIB_STAT_ARP), 1100);
        let mut n = names();
        assert_eq!(
            p.to_json(&mut n),
            json!({
                "dev": "veth0", "oif": 5, "fib": 10,
                "addr_info": [
                    {"family": "inet", "local": "10.0.0.1", "prefixlen": 24},
                    {"family": "inet6", "local": "2001:db8:1::1", "prefixlen": 64},
                ],
                "stats": {
                    "rx": 100, "forwarded": 200, "local": 300, "noroute": 400,
                    "ttl": 500, "blackhole": 600, "toobig": 700, "unresolved": 800,
                    "drops": 900, "icmp": 1000, "arp": 1100,
                },
            })
        );
        let q = PortInfo {
            oif: 9,
            fib: Some(2),
            addrs: vec![],
            stats: None,
        };
        assert_eq!(
            ports_table(&[p, q], &mut n),
            "DEV    FIB  ADDRESSES                     RX   FORWARDED  LOCAL  NOROUTE  TTL  BLACKHOLE  TOOBIG  UNRESOLVED  DROPS  ICMP  ARP\n\
             veth0  10   10.0.0.1/24,2001:db8:1::1/64  100  200        300    400      500  600        700     800         900    1000  1100\n\
             if9    2    -                             -    -          -      -        -    -          -       -           -      -     -\n"
        );
        // No STATS: no counters; an old kernel's reply still decodes.
        let p = PortInfo::decode(&port_reply(false)).unwrap();
        assert_eq!(p.stats, None);
        assert!(!p.to_json(&mut n).as_object().unwrap().contains_key("stats"));
    }

    #[test]
    fn malformed_port_replies() {
        assert!(PortInfo::decode(&AttrMap::new()).is_err(), "no OIF");
        let mut s = AttrMap::new();
        s.push(CGL_FIB_STAT_RX, &[1, 2, 3]);
        let mut a = AttrMap::new();
        a.push_u32(CGL_FIB_A_OIF, 1)
            .push(CGL_FIB_A_STATS, &s.encode().unwrap());
        assert!(PortInfo::decode(&a).is_err(), "3-byte counter");
        // A 4-byte counter is taken.
        let mut s = AttrMap::new();
        s.push_u32(CGL_FIB_STAT_TTL, 9);
        assert_eq!(
            Stats::decode(&s.encode().unwrap())
                .unwrap()
                .get(CGL_FIB_STAT_TTL),
            9
        );
        let bad_local = |inner: &AttrMap| {
            let mut l = AttrMap::new();
            l.push_nested(CGL_FIB_A_LOCAL, inner).unwrap();
            let mut a = AttrMap::new();
            a.push_u32(CGL_FIB_A_OIF, 1)
                .push_nested(CGL_FIB_A_LOCALS, &l)
                .unwrap();
            PortInfo::decode(&AttrMap::parse(&a.encode().unwrap()).unwrap())
        };
        let mut l = AttrMap::new();
        l.push(CGL_FIB_A_ADDR, &[1, 2, 3, 4, 5]);
        assert!(bad_local(&l).is_err(), "5-byte address");
        let mut l = AttrMap::new();
        l.push(CGL_FIB_A_ADDR, &[10, 0, 0, 1])
            .push_u8(CGL_FIB_A_DST_LEN, 33);
        assert!(bad_local(&l).is_err(), "IPv4 /33");
        assert!(bad_local(&AttrMap::new()).is_err(), "no ADDR");
    }
}
