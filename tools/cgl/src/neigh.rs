// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl neigh`: the neighbour (ARP/NDP) tables of the multi-FIB
//! module's FIBs, with `ip neigh`'s syntax.
//!
//! # Syntax
//!
//! ```text
//! cgl-ctl neigh add|replace ADDR lladdr MAC dev IFNAME fib ID
//! cgl-ctl neigh del ADDR [dev IFNAME] fib ID
//! cgl-ctl [-4|-6] neigh show [fib ID] [dev IFNAME]
//! ```
//!
//! The words come in any order; the address is the first word that is no
//! keyword (or follows `to`), and its family is the neighbour's. `table ID`
//! is `fib ID`; `nud permanent` is accepted (added neighbours are always
//! permanent). Only permanent neighbours are added by hand; the kernel
//! learns the others from ARP and NDP. An IPv6 link-local neighbour is
//! known by its address and interface, so `neigh del` needs `dev` for one
//! (the kernel ignores it otherwise).
//!
//! # Output
//!
//! One neighbour a line, as `ip neigh` prints them, with the FIB:
//! `10.0.0.2 dev veth0 lladdr 02:00:00:00:00:01 PERMANENT fib 10`
//! (`10.0.0.3 dev veth0 INCOMPLETE fib 10` while being resolved), sorted
//! by FIB and address. `-j`: an array of objects with `dst`, `family`,
//! `dev`, `oif`, `lladdr`, `state`, `fib`.

use std::net::IpAddr;

use clap::Subcommand;
use serde_json::{json, Value};

use crate::fib::{
    cli_af, decode_addr, parse_fib_id, put_addr, take, usage_fail, Af, IfNames, Session, Verb,
    Words,
};
use crate::genl::{self, AttrMap};
use crate::uapi::*;
use crate::{out, out_json, Cli, Fail};

/// `neigh` subcommands. Their words are parsed as `ip neigh` parses them
/// (see [`parse_neigh`]), not by clap.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum NeighCmd {
    /// Add a permanent neighbour: ADDR lladdr MAC dev IFNAME fib ID.
    ///
    /// IFNAME must be bound to FIB ID (fib bind). The family is ADDR's.
    ///
    /// Example: cgl-ctl neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev veth0 fib 10
    Add(Words),
    /// Add a permanent neighbour, replacing the entry of the same address
    /// if there is one, learnt or not (same words as add).
    Replace(Words),
    /// Delete a neighbour: ADDR [dev IFNAME] fib ID (dev: needed for an
    /// IPv6 link-local address).
    #[command(visible_alias = "delete")]
    Del(Words),
    /// List neighbours: [fib ID] [dev IFNAME] [-4|-6] (every FIB without
    /// fib), one per line as ip neigh prints them, with the FIB.
    #[command(visible_aliases = ["list", "ls"])]
    Show(Words),
}

/// A parsed `neigh` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighOp {
    /// `neigh add` (`replace`: `neigh replace`).
    Add {
        /// FIB id.
        fib: u32,
        /// The neighbour's address.
        addr: IpAddr,
        /// Its Ethernet address.
        lladdr: [u8; 6],
        /// The interface it is on.
        oif: u32,
        /// Replace an existing entry.
        replace: bool,
    },
    /// `neigh del`.
    Del {
        /// FIB id.
        fib: u32,
        /// The neighbour's address.
        addr: IpAddr,
        /// Its interface: the zone of an IPv6 link-local address.
        oif: Option<u32>,
    },
    /// `neigh show`.
    Show {
        /// Only this FIB (asked of the kernel).
        fib: Option<u32>,
        /// Only this interface.
        oif: Option<u32>,
        /// Only this family.
        af: Option<Af>,
    },
}

/// Parses a MAC address: six colon-separated hex octets
/// (`02:00:00:00:00:01`); not all zero, not multicast or broadcast.
pub fn parse_lladdr(s: &str) -> Result<[u8; 6], String> {
    let bad = || format!("'{s}' is not a MAC address (like 02:00:00:00:00:01)");
    let mut m = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n == 6
            || part.is_empty()
            || part.len() > 2
            || !part.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(bad());
        }
        m[n] = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        n += 1;
    }
    if n != 6 {
        return Err(bad());
    }
    if m == [0; 6] {
        return Err(format!("{s} is not a usable MAC address (all zero)"));
    }
    if m[0] & 1 != 0 {
        return Err(format!(
            "{s} is a multicast or broadcast MAC address, not a neighbour's"
        ));
    }
    Ok(m)
}

/// A MAC address as `ip` prints it: `02:00:00:00:00:01` (any length).
pub fn lladdr_text(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses a neighbour's address: a unicast host address, no length.
pub fn parse_neigh_addr(s: &str) -> Result<IpAddr, String> {
    if s.contains('/') {
        return Err(format!("neighbour '{s}' must be an address, without /LEN"));
    }
    let a: IpAddr = s
        .parse()
        .map_err(|_| format!("'{s}' is not an IPv4 or IPv6 address"))?;
    let multicast = match a {
        IpAddr::V4(v) => v.is_multicast() || v.is_broadcast(),
        IpAddr::V6(v) => v.is_multicast(),
    };
    if a.is_unspecified() || multicast {
        return Err(format!("{s} is not a unicast host address"));
    }
    Ok(a)
}

/// The usage of a verb.
fn usage(verb: Verb) -> &'static str {
    match verb {
        Verb::Add => "neigh add ADDR lladdr MAC dev IFNAME fib ID",
        Verb::Replace => "neigh replace ADDR lladdr MAC dev IFNAME fib ID",
        Verb::Del => "neigh del ADDR [dev IFNAME] fib ID",
        Verb::Get | Verb::Show => "neigh show [fib ID] [dev IFNAME]",
    }
}

/// The verb a word names, among `neigh`'s.
pub fn verb(w: &str) -> Result<Verb, String> {
    match Verb::from_word(w) {
        Some(Verb::Get) | None => Err(format!(
            "unknown neigh command '{w}' (add, replace, del, show)"
        )),
        Some(v) => Ok(v),
    }
}

/// Parses the words of a `neigh` command (after the verb). `af` is the
/// global `-4`/`-6`; one among the words wins. Device names are resolved
/// through `names`.
pub fn parse_neigh(
    verb: Verb,
    words: &[&str],
    af: Option<Af>,
    names: &mut IfNames,
) -> Result<NeighOp, String> {
    let (mut addr, mut lladdr, mut dev, mut fib, mut nud) = (None, None, None, None, None);
    let mut wf: Option<Af> = None;
    let mut given = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        match w {
            "-4" | "-6" => {
                let f = if w == "-4" { Af::V4 } else { Af::V6 };
                if wf.is_some_and(|x| x != f) {
                    return Err("-4 and -6 given together".into());
                }
                wf = Some(f);
            }
            "to" => take(words, &mut i, "to", "an address", &mut addr, &mut given)?,
            "lladdr" => take(
                words,
                &mut i,
                "lladdr",
                "a MAC address",
                &mut lladdr,
                &mut given,
            )?,
            "dev" => take(words, &mut i, "dev", "a device name", &mut dev, &mut given)?,
            "fib" | "table" => take(words, &mut i, "fib", "an id", &mut fib, &mut given)?,
            "nud" => take(words, &mut i, "nud", "a state", &mut nud, &mut given)?,
            _ if addr.is_none() => {
                addr = Some(w);
                given.push("address");
            }
            _ => return Err(format!("unexpected '{w}': {}", usage(verb))),
        }
    }
    let af = wf.or(af);
    let allowed: &[&str] = match verb {
        Verb::Add | Verb::Replace => &["to", "address", "lladdr", "dev", "fib", "nud"],
        Verb::Del => &["to", "address", "dev", "fib"],
        Verb::Get | Verb::Show => &["fib", "dev"],
    };
    if let Some(k) = given.iter().find(|k| !allowed.contains(k)) {
        let k = match *k {
            "address" | "to" => format!("'{}' given", addr.unwrap_or_default()),
            k => format!("'{k}' given"),
        };
        return Err(format!("{} ({k})", usage(verb)));
    }
    if verb == Verb::Show {
        return Ok(NeighOp::Show {
            fib: fib.map(parse_fib_id).transpose()?,
            oif: dev.map(|d| names.index(d)).transpose()?,
            af,
        });
    }
    let a = addr.ok_or_else(|| format!("missing the address: {}", usage(verb)))?;
    let a = parse_neigh_addr(a)?;
    if let Some(f) = af.filter(|&f| f != Af::of(a)) {
        return Err(format!(
            "{a} is {} but {} was given",
            Af::of(a).name(),
            if f == Af::V4 { "-4" } else { "-6" }
        ));
    }
    if verb == Verb::Del {
        let link_local = matches!(a, IpAddr::V6(v) if v.is_unicast_link_local());
        if link_local && dev.is_none() {
            return Err(format!(
                "{a} is link-local: its interface is part of it ({})",
                usage(verb)
            ));
        }
        let oif = dev.map(|d| names.index(d)).transpose()?;
        let fib = fib.ok_or_else(|| format!("missing 'fib ID': {}", usage(verb)))?;
        return Ok(NeighOp::Del {
            fib: parse_fib_id(fib)?,
            addr: a,
            oif,
        });
    }
    if let Some(n) = nud.filter(|n| !n.eq_ignore_ascii_case("permanent")) {
        return Err(format!(
            "only permanent neighbours are added by hand ('nud {n}' given)"
        ));
    }
    let mac = lladdr.ok_or_else(|| format!("missing 'lladdr MAC': {}", usage(verb)))?;
    let mac = parse_lladdr(mac)?;
    let dev = dev.ok_or_else(|| format!("missing 'dev IFNAME': {}", usage(verb)))?;
    let oif = names.index(dev)?;
    let fib = fib.ok_or_else(|| format!("missing 'fib ID': {}", usage(verb)))?;
    Ok(NeighOp::Add {
        fib: parse_fib_id(fib)?,
        addr: a,
        lladdr: mac,
        oif,
        replace: verb == Verb::Replace,
    })
}

/// The command and attributes of the request of `op`: NEWNEIGH (FIB_ID,
/// FAMILY, ADDR, LLADDR, OIF, REPLACE if replacing), DELNEIGH (FIB_ID,
/// FAMILY, ADDR, and OIF if given) or the GETNEIGH dump (FIB_ID if given).
pub fn request(op: &NeighOp) -> (u8, AttrMap) {
    let mut a = AttrMap::new();
    match *op {
        NeighOp::Add {
            fib,
            addr,
            lladdr,
            oif,
            replace,
        } => {
            a.push_u32(CGL_FIB_A_FIB_ID, fib)
                .push_u8(CGL_FIB_A_FAMILY, Af::of(addr).family());
            put_addr(&mut a, CGL_FIB_A_ADDR, addr);
            a.push(CGL_FIB_A_LLADDR, &lladdr)
                .push_u32(CGL_FIB_A_OIF, oif);
            if replace {
                a.push(CGL_FIB_A_REPLACE, &[]);
            }
            (CGL_FIB_CMD_NEWNEIGH, a)
        }
        NeighOp::Del { fib, addr, oif } => {
            a.push_u32(CGL_FIB_A_FIB_ID, fib)
                .push_u8(CGL_FIB_A_FAMILY, Af::of(addr).family());
            put_addr(&mut a, CGL_FIB_A_ADDR, addr);
            if let Some(o) = oif {
                a.push_u32(CGL_FIB_A_OIF, o);
            }
            (CGL_FIB_CMD_DELNEIGH, a)
        }
        NeighOp::Show { fib, .. } => {
            if let Some(f) = fib {
                a.push_u32(CGL_FIB_A_FIB_ID, f);
            }
            (CGL_FIB_CMD_GETNEIGH, a)
        }
    }
}

/// A neighbour state (`enum cgl_fib_neigh_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NudState {
    /// Being resolved, packets queued.
    Incomplete,
    /// Confirmed recently.
    Reachable,
    /// Used, refreshed on use.
    Stale,
    /// No answer: unreachable for a while.
    Failed,
    /// Added by the administrator.
    Permanent,
    /// A state this tool does not know (from a newer kernel).
    Other(u8),
}

impl NudState {
    /// The state of wire number `n`.
    pub fn from_u8(n: u8) -> Self {
        match n {
            CGL_FIB_NUD_INCOMPLETE => NudState::Incomplete,
            CGL_FIB_NUD_REACHABLE => NudState::Reachable,
            CGL_FIB_NUD_STALE => NudState::Stale,
            CGL_FIB_NUD_FAILED => NudState::Failed,
            CGL_FIB_NUD_PERMANENT => NudState::Permanent,
            n => NudState::Other(n),
        }
    }

    /// The name `ip neigh` prints.
    pub fn name(self) -> String {
        match self {
            NudState::Incomplete => "INCOMPLETE".into(),
            NudState::Reachable => "REACHABLE".into(),
            NudState::Stale => "STALE".into(),
            NudState::Failed => "FAILED".into(),
            NudState::Permanent => "PERMANENT".into(),
            NudState::Other(n) => format!("STATE{n}"),
        }
    }
}

/// A neighbour as the kernel describes it (a CGL_FIB_CMD_NEIGH reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighInfo {
    /// FIB id.
    pub fib: Option<u32>,
    /// Address.
    pub addr: IpAddr,
    /// Link-layer address; none while incomplete.
    pub lladdr: Option<Vec<u8>>,
    /// Interface.
    pub oif: Option<u32>,
    /// State, if sent.
    pub state: Option<NudState>,
}

impl NeighInfo {
    /// Decodes the attributes of a NEIGH reply.
    pub fn decode(a: &AttrMap) -> genl::Result<Self> {
        let raw = a
            .get(CGL_FIB_A_ADDR)
            .ok_or_else(|| genl::Error::Malformed("neighbour without an address".into()))?;
        let af = crate::fib::reply_family(a, raw, "neighbour")?;
        Ok(NeighInfo {
            fib: a.u32(CGL_FIB_A_FIB_ID)?,
            addr: decode_addr(raw, af, "neighbour address")?,
            lladdr: a
                .get(CGL_FIB_A_LLADDR)
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
            oif: a.u32(CGL_FIB_A_OIF)?,
            state: a.u8(CGL_FIB_A_NEIGH_STATE)?.map(NudState::from_u8),
        })
    }

    /// The neighbour as `ip neigh` prints it, with its FIB (no newline):
    /// `10.0.0.2 dev veth0 lladdr 02:00:00:00:00:01 PERMANENT fib 10`.
    pub fn line(&self, names: &mut IfNames) -> String {
        let mut s = self.addr.to_string();
        if let Some(o) = self.oif {
            s.push_str(&format!(" dev {}", names.name(o)));
        }
        if let Some(l) = &self.lladdr {
            s.push_str(&format!(" lladdr {}", lladdr_text(l)));
        }
        if let Some(st) = self.state {
            s.push(' ');
            s.push_str(&st.name());
        }
        if let Some(f) = self.fib {
            s.push_str(&format!(" fib {f}"));
        }
        s
    }

    /// The neighbour as JSON, like an element of `ip -j neigh`.
    pub fn to_json(&self, names: &mut IfNames) -> Value {
        let mut v = json!({
            "dst": self.addr.to_string(),
            "family": Af::of(self.addr).json_name(),
        });
        let m = v.as_object_mut().expect("object");
        if let Some(o) = self.oif {
            m.insert("dev".into(), json!(names.name(o)));
            m.insert("oif".into(), json!(o));
        }
        if let Some(l) = &self.lladdr {
            m.insert("lladdr".into(), json!(lladdr_text(l)));
        }
        if let Some(st) = self.state {
            m.insert("state".into(), json!(st.name()));
        }
        if let Some(f) = self.fib {
            m.insert("fib".into(), json!(f));
        }
        v
    }
}

impl Session {
    /// Runs a `neigh` command.
    pub fn neigh(&mut self, op: &NeighOp) -> Result<(), Fail> {
        let (cmd, attrs) = request(op);
        let NeighOp::Show { oif, af, .. } = *op else {
            return self.request(cmd, &attrs).map(drop);
        };
        let mut v = self
            .dump(cmd, &attrs)?
            .iter()
            .map(|m| NeighInfo::decode(&m.attrs))
            .collect::<genl::Result<Vec<_>>>()?;
        v.retain(|n| {
            oif.is_none_or(|o| n.oif == Some(o)) && af.is_none_or(|f| Af::of(n.addr) == f)
        });
        v.sort_by_key(|n| (n.fib, n.addr));
        if self.json {
            let a = Value::Array(v.iter().map(|n| n.to_json(&mut self.names)).collect());
            out_json(&a, self.pretty)
        } else {
            let s: String = v.iter().map(|n| n.line(&mut self.names) + "\n").collect();
            out(&s)
        }
    }
}

/// Runs a `neigh` subcommand: its words are checked before the kernel is
/// asked anything.
pub fn run(cli: &Cli, c: &NeighCmd) -> Result<(), Fail> {
    let (verb, w) = match c {
        NeighCmd::Add(w) => (Verb::Add, w),
        NeighCmd::Replace(w) => (Verb::Replace, w),
        NeighCmd::Del(w) => (Verb::Del, w),
        NeighCmd::Show(w) => (Verb::Show, w),
    };
    let words: Vec<&str> = w.words.iter().map(String::as_str).collect();
    let op = parse_neigh(verb, &words, cli_af(cli), &mut IfNames::system()).map_err(usage_fail)?;
    Session::open(cli.json, cli.pretty)?.neigh(&op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genl::tests::attr;

    fn fake_index(n: &str) -> Option<u32> {
        (n == "veth0").then_some(5)
    }

    fn fake_name(i: u32) -> Option<String> {
        (i == 5).then(|| "veth0".into())
    }

    fn names() -> IfNames {
        IfNames::with(fake_index, fake_name)
    }

    fn parse(verb: Verb, line: &str) -> Result<NeighOp, String> {
        parse_af(verb, line, None)
    }

    fn parse_af(verb: Verb, line: &str, af: Option<Af>) -> Result<NeighOp, String> {
        let w: Vec<&str> = line.split_whitespace().collect();
        parse_neigh(verb, &w, af, &mut names())
    }

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    #[test]
    fn mac_addresses() {
        assert_eq!(parse_lladdr("02:00:00:00:00:01"), Ok(MAC));
        assert_eq!(parse_lladdr("2:0:0:0:0:1"), Ok(MAC));
        assert_eq!(
            parse_lladdr("0A:bC:de:F0:12:34"),
            Ok([0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34])
        );
        for s in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:01:02",
            "02-00-00-00-00-01",
            "0200.0000.0001",
            "02:00:00:00:00:001",
            "02:00:00:00:00:",
            "02:00:00:00:0g:01",
            "02::00:00:00:01",
            "+2:00:00:00:00:01",
        ] {
            assert_eq!(
                parse_lladdr(s).unwrap_err(),
                format!("'{s}' is not a MAC address (like 02:00:00:00:00:01)")
            );
        }
        assert_eq!(
            parse_lladdr("00:00:00:00:00:00").unwrap_err(),
            "00:00:00:00:00:00 is not a usable MAC address (all zero)"
        );
        assert_eq!(
            parse_lladdr("ff:ff:ff:ff:ff:ff").unwrap_err(),
            "ff:ff:ff:ff:ff:ff is a multicast or broadcast MAC address, not a neighbour's"
        );
        assert!(parse_lladdr("01:00:5e:00:00:01").is_err());
        assert_eq!(lladdr_text(&MAC), "02:00:00:00:00:01");
    }

    #[test]
    fn add_forms() {
        let want = NeighOp::Add {
            fib: 10,
            addr: "10.0.0.2".parse().unwrap(),
            lladdr: MAC,
            oif: 5,
            replace: false,
        };
        assert_eq!(
            parse(
                Verb::Add,
                "10.0.0.2 lladdr 02:00:00:00:00:01 dev veth0 fib 10"
            ),
            Ok(want.clone())
        );
        // Any order, aliases, nud permanent, -4.
        assert_eq!(
            parse(
                Verb::Add,
                "table 10 dev veth0 nud permanent lladdr 02:00:00:00:00:01 to 10.0.0.2 -4"
            ),
            Ok(want)
        );
        match parse(
            Verb::Replace,
            "2001:db8::2 lladdr 02:00:00:00:00:01 dev veth0 fib 0",
        )
        .unwrap()
        {
            NeighOp::Add {
                addr: IpAddr::V6(_),
                replace: true,
                fib: 0,
                ..
            } => {}
            op => panic!("{op:?}"),
        }
    }

    #[test]
    fn add_refusals() {
        let u = "neigh add ADDR lladdr MAC dev IFNAME fib ID";
        for (line, want) in [
            (
                "10.0.0.2 lladdr 02:00:00:00:00:01 dev veth0",
                format!("missing 'fib ID': {u}"),
            ),
            (
                "10.0.0.2 lladdr 02:00:00:00:00:01 fib 1",
                format!("missing 'dev IFNAME': {u}"),
            ),
            (
                "10.0.0.2 dev veth0 fib 1",
                format!("missing 'lladdr MAC': {u}"),
            ),
            (
                "lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                format!("missing the address: {u}"),
            ),
            ("", format!("missing the address: {u}")),
            (
                "10.0.0.2 lladdr zz dev veth0 fib 1",
                "'zz' is not a MAC address (like 02:00:00:00:00:01)".into(),
            ),
            (
                "10.0.0.2 lladdr ff:ff:ff:ff:ff:ff dev veth0 fib 1",
                "ff:ff:ff:ff:ff:ff is a multicast or broadcast MAC address, not a neighbour's"
                    .into(),
            ),
            (
                "10.0.0.2 lladdr 02:00:00:00:00:01 dev eth9 fib 1",
                "unknown device 'eth9'".into(),
            ),
            (
                "10.0.0.2 lladdr 02:00:00:00:00:01 dev veth0 fib x",
                "'x' is not a FIB id (0-4294967294)".into(),
            ),
            (
                "10.0.0.2/24 lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                "neighbour '10.0.0.2/24' must be an address, without /LEN".into(),
            ),
            (
                "10.0.0 lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                "'10.0.0' is not an IPv4 or IPv6 address".into(),
            ),
            (
                "0.0.0.0 lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                "0.0.0.0 is not a unicast host address".into(),
            ),
            (
                "224.0.0.1 lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                "224.0.0.1 is not a unicast host address".into(),
            ),
            (
                "ff02::1 lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                "ff02::1 is not a unicast host address".into(),
            ),
            (
                "10.0.0.2 10.0.0.3 lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                format!("unexpected '10.0.0.3': {u}"),
            ),
            (
                "10.0.0.2 lladdr 02:00:00:00:00:01 lladdr 02:00:00:00:00:02 dev veth0 fib 1",
                "'lladdr' given twice".into(),
            ),
            (
                "10.0.0.2 lladdr 02:00:00:00:00:01 dev veth0 fib 1 nud reachable",
                "only permanent neighbours are added by hand ('nud reachable' given)".into(),
            ),
            ("10.0.0.2 lladdr", "'lladdr' needs a MAC address".into()),
            (
                "-6 10.0.0.2 lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                "10.0.0.2 is IPv4 but -6 was given".into(),
            ),
            ("-4 -6 10.0.0.2", "-4 and -6 given together".into()),
        ] {
            assert_eq!(parse(Verb::Add, line).unwrap_err(), want, "{line}");
        }
        assert_eq!(
            parse_af(
                Verb::Add,
                "2001:db8::2 lladdr 02:00:00:00:00:01 dev veth0 fib 1",
                Some(Af::V4)
            )
            .unwrap_err(),
            "2001:db8::2 is IPv6 but -4 was given"
        );
    }

    #[test]
    fn del_and_show_forms() {
        assert_eq!(
            parse(Verb::Del, "10.0.0.2 fib 10"),
            Ok(NeighOp::Del {
                fib: 10,
                addr: "10.0.0.2".parse().unwrap(),
                oif: None
            })
        );
        assert_eq!(
            parse(Verb::Del, "fe80::2 dev veth0 fib 10"),
            Ok(NeighOp::Del {
                fib: 10,
                addr: "fe80::2".parse().unwrap(),
                oif: Some(5)
            })
        );
        assert_eq!(
            parse(Verb::Del, "fe80::2 fib 10").unwrap_err(),
            "fe80::2 is link-local: its interface is part of it (neigh del ADDR [dev IFNAME] fib ID)"
        );
        assert_eq!(
            parse(Verb::Del, "10.0.0.2").unwrap_err(),
            "missing 'fib ID': neigh del ADDR [dev IFNAME] fib ID"
        );
        assert_eq!(
            parse(Verb::Del, "10.0.0.2 dev eth9 fib 1").unwrap_err(),
            "unknown device 'eth9'"
        );
        assert_eq!(
            parse(Verb::Del, "10.0.0.2 lladdr 02:00:00:00:00:01 fib 1").unwrap_err(),
            "neigh del ADDR [dev IFNAME] fib ID ('lladdr' given)"
        );
        assert_eq!(
            parse(Verb::Show, ""),
            Ok(NeighOp::Show {
                fib: None,
                oif: None,
                af: None
            })
        );
        assert_eq!(
            parse_af(Verb::Show, "dev veth0 fib 10", Some(Af::V6)),
            Ok(NeighOp::Show {
                fib: Some(10),
                oif: Some(5),
                af: Some(Af::V6)
            })
        );
        assert_eq!(
            parse(Verb::Show, "10.0.0.2 fib 1").unwrap_err(),
            "neigh show [fib ID] [dev IFNAME] ('10.0.0.2' given)"
        );
        assert_eq!(
            parse(Verb::Show, "fib 4294967295").unwrap_err(),
            "FIB id 4294967295 is reserved (CGL_FIB_ID_INVALID)"
        );
        assert_eq!(
            verb("get").unwrap_err(),
            "unknown neigh command 'get' (add, replace, del, show)"
        );
        assert_eq!(
            verb("flush").unwrap_err(),
            "unknown neigh command 'flush' (add, replace, del, show)"
        );
        assert_eq!(verb("ls"), Ok(Verb::Show));
    }

    /// The requests, byte for byte.
    #[test]
    fn message_bytes() {
        let op = parse(
            Verb::Replace,
            "10.0.0.2 lladdr 02:00:00:00:00:01 dev veth0 fib 10",
        )
        .unwrap();
        let (cmd, a) = request(&op);
        assert_eq!(cmd, CGL_FIB_CMD_NEWNEIGH);
        let mut want = attr(CGL_FIB_A_FIB_ID, &10u32.to_ne_bytes());
        want.extend(attr(CGL_FIB_A_FAMILY, &[2]));
        want.extend(attr(CGL_FIB_A_ADDR, &[10, 0, 0, 2]));
        want.extend(attr(CGL_FIB_A_LLADDR, &MAC));
        want.extend(attr(CGL_FIB_A_OIF, &5u32.to_ne_bytes()));
        want.extend(attr(CGL_FIB_A_REPLACE, &[]));
        assert_eq!(a.encode().unwrap(), want);
        // 8 + 8 + 8 + 12 + 8 + 4.
        assert_eq!(want.len(), 48);

        let op = parse(Verb::Del, "2001:db8::2 fib 7").unwrap();
        let (cmd, a) = request(&op);
        assert_eq!(cmd, CGL_FIB_CMD_DELNEIGH);
        let v6: std::net::Ipv6Addr = "2001:db8::2".parse().unwrap();
        let mut want = attr(CGL_FIB_A_FIB_ID, &7u32.to_ne_bytes());
        want.extend(attr(CGL_FIB_A_FAMILY, &[10]));
        want.extend(attr(CGL_FIB_A_ADDR, &v6.octets()));
        assert_eq!(a.encode().unwrap(), want);
        // A link-local neighbour: OIF too.
        let op = parse(Verb::Del, "fe80::2 dev veth0 fib 7").unwrap();
        let ll: std::net::Ipv6Addr = "fe80::2".parse().unwrap();
        let mut want = attr(CGL_FIB_A_FIB_ID, &7u32.to_ne_bytes());
        want.extend(attr(CGL_FIB_A_FAMILY, &[10]));
        want.extend(attr(CGL_FIB_A_ADDR, &ll.octets()));
        want.extend(attr(CGL_FIB_A_OIF, &5u32.to_ne_bytes()));
        assert_eq!(request(&op).1.encode().unwrap(), want);

        let (cmd, a) = request(&parse(Verb::Show, "fib 3").unwrap());
        assert_eq!(cmd, CGL_FIB_CMD_GETNEIGH);
        assert_eq!(
            a.encode().unwrap(),
            attr(CGL_FIB_A_FIB_ID, &3u32.to_ne_bytes())
        );
        let (_, a) = request(&parse(Verb::Show, "").unwrap());
        assert!(a.is_empty());
    }

    #[test]
    fn replies_and_output() {
        let reply = |addr: &[u8], ll: Option<&[u8]>, state: u8| {
            let mut a = AttrMap::new();
            a.push_u32(CGL_FIB_A_FIB_ID, 10)
                .push_u8(CGL_FIB_A_FAMILY, if addr.len() == 4 { 2 } else { 10 })
                .push(CGL_FIB_A_ADDR, addr);
            if let Some(l) = ll {
                a.push(CGL_FIB_A_LLADDR, l);
            }
            a.push_u32(CGL_FIB_A_OIF, 5)
                .push_u8(CGL_FIB_A_NEIGH_STATE, state);
            NeighInfo::decode(&AttrMap::parse(&a.encode().unwrap()).unwrap()).unwrap()
        };
        let mut n = names();
        let p = reply(&[10, 0, 0, 2], Some(&MAC), CGL_FIB_NUD_PERMANENT);
        assert_eq!(
            p.line(&mut n),
            "10.0.0.2 dev veth0 lladdr 02:00:00:00:00:01 PERMANENT fib 10"
        );
        assert_eq!(
            p.to_json(&mut n),
            json!({"dst": "10.0.0.2", "family": "inet", "dev": "veth0", "oif": 5,
                   "lladdr": "02:00:00:00:00:01", "state": "PERMANENT", "fib": 10})
        );
        let i = reply(&[10, 0, 0, 3], None, CGL_FIB_NUD_INCOMPLETE);
        assert_eq!(i.line(&mut n), "10.0.0.3 dev veth0 INCOMPLETE fib 10");
        let v6: std::net::Ipv6Addr = "fe80::2".parse().unwrap();
        for (s, name) in [
            (CGL_FIB_NUD_REACHABLE, "REACHABLE"),
            (CGL_FIB_NUD_STALE, "STALE"),
            (CGL_FIB_NUD_FAILED, "FAILED"),
            (9, "STATE9"),
        ] {
            assert_eq!(
                reply(&v6.octets(), Some(&MAC), s).line(&mut n),
                format!("fe80::2 dev veth0 lladdr 02:00:00:00:00:01 {name} fib 10")
            );
        }
        // Malformed: no address, a 5-byte one, family 99.
        assert!(NeighInfo::decode(&AttrMap::new()).is_err());
        let mut a = AttrMap::new();
        a.push(CGL_FIB_A_ADDR, &[1, 2, 3, 4, 5]);
        assert!(NeighInfo::decode(&a).is_err());
        let mut a = AttrMap::new();
        a.push_u8(CGL_FIB_A_FAMILY, 99)
            .push(CGL_FIB_A_ADDR, &[1, 2, 3, 4]);
        assert!(NeighInfo::decode(&a).is_err());
    }
}
