// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl fib` and `cgl-ctl route`: the CGL multi-FIB module, over the
//! `cgl_fib` generic netlink family (`include/uapi/linux/cgl_fib.h`).
//!
//! # Syntax
//!
//! ```text
//! cgl-ctl fib add ID [neigh-limit N] | del ID | show ID | list
//! cgl-ctl fib set ID neigh-limit N
//! cgl-ctl fib mirror ID table N
//! cgl-ctl fib bind dev IFNAME fib ID [addr ADDR/LEN]...
//! cgl-ctl fib unbind dev IFNAME | ports [dev IFNAME] [fib ID]
//! cgl-ctl [-4|-6] route add|replace [TYPE] PREFIX [via GW] [dev IFNAME] [metric N] fib ID
//! cgl-ctl [-4|-6] route del PREFIX fib ID
//! cgl-ctl [-4|-6] route get ADDR|PREFIX fib ID
//! cgl-ctl [-4|-6] route show fib ID
//! cgl-ctl [-4|-6] -b|--batch|-batch FILE|-
//! ```
//!
//! `fib bind`, `unbind` and `ports` and the packet counters are in
//! [`crate::port`], `neigh` in [`crate::neigh`]; both reuse this module's
//! parsing helpers and its [`Session`].
//!
//! As with `ip route`, the words after the verb come in any order; the
//! prefix is the first word that is no keyword (or follows `to`). `TYPE`
//! is `unicast` (the default: needs `via` or `dev`), `blackhole`,
//! `unreachable` or `prohibit` (neither `via` nor `dev`). `PREFIX` is
//! `A.B.C.D/LEN` (`10/8` too), `IPV6/LEN`, a bare address (a host route,
//! /32 or /128) or `default` (IPv4, or IPv6 with `-6` or an IPv6 gateway).
//! `table ID` is `fib ID`; `oif` is `dev`; `preference` and `priority` are
//! `metric`; `-4`/`-6` may also come among the words.
//!
//! # Output
//!
//! `route show` prints one route per line as `ip route` does, a host
//! route without its /32 or /128, `0/0` as `default`, the type only if
//! not unicast: `10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5`,
//! `blackhole 192.0.2.0/24`, `default via 2001:db8::1`. `route get ADDR`
//! prints the route ADDR is forwarded by, as `ip route get` does, with the
//! FIB and the prefix that matched:
//! `10.1.2.3 via 192.0.2.1 dev eth0 metric 5 fib 10 matched 10.0.0.0/8`
//! (`blackhole 10.1.2.3 fib 10 matched 10.0.0.0/8`); `route get PREFIX`
//! prints the route of exactly that prefix as `route show` does, with
//! `fib ID`. `-j` gives JSON like `ip -j route`: an array of objects with
//! `dst`, `family` (`inet`, `inet6`), `type`, `gateway`, `dev`, `oif`,
//! `metric`, `fib` (and `matched` for `get ADDR`).
//!
//! # Batches
//!
//! Each non-empty line of a batch file that is no `#` comment is a cgl-ctl
//! command without the program name. Consecutive `route add` (or `route
//! replace`) lines of the same FIB, family and verb are sent as
//! `CGL_FIB_CMD_NEWROUTE` batches: one message of up to
//! `CGL_FIB_BATCH_MAX` routes and one round trip each, built in one
//! reused buffer ([`genl::RawMsg`]). A batch is one `BATCH` nest, and
//! `nla_len` is a u16, so a batch also ends before its nest would pass
//! 64 KiB (about 1800 IPv4 or 1000 IPv6 routes with a gateway and a
//! device). The first error stops the run (exit 1) as
//! `FILE:LINE: message`, and every line before the one named took
//! effect, as with `ip -batch`: the kernel applies a batch message all or
//! nothing, so the routes of the failed message before the failing one
//! are sent again.
//! Route messages go from a second thread with a socket of its own, so
//! the next message is parsed while the kernel applies the last (on SMP
//! a load takes the longer of the two times, not their sum); at most two
//! messages are ahead, none is sent after a failure, and any other
//! command first waits until the routes before it took effect.
//!
//! The failing route of a batch is found from the kernel's extack: an
//! `NLMSGERR_ATTR_OFFS` pointing into a `ROUTE` nest is mapped back
//! through the nest offsets of the message sent; otherwise the message
//! names the route's 0-based index, as cgl_fib does
//! (`route 17 of the batch: route exists (use replace)`, the offset at
//! the `BATCH` nest), and that prefix is dropped from the printed message,
//! which the line number replaces. An error of a top-level attribute
//! (`no such FIB`) is reported at the batch's first line. A success reply
//! carrying `DONE` short of the routes sent is an error too.
//!
//! A failed single request echoes the whole request in its `NLMSG_ERROR`,
//! so a refused full-size batch answers with more than 64 KiB: the
//! receive buffer of [`genl::GenlSocket`] is 128 KiB for that.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::genl::{self, AttrMap, Family, GenlMsg, GenlSocket, RawMsg, NLA_MAX_LEN};
use crate::neigh::{self, NeighOp};
use crate::port::{self, PortInfo, Stats};
use crate::uapi::*;
use crate::{columns, open, out, out_json, Cli, Fail};

/// `fib` subcommands.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum FibCmd {
    /// Create FIB ID (any number 0-4294967294): add ID [neigh-limit N].
    ///
    /// neigh-limit: most neighbours (ARP/NDP entries) the FIB may hold
    /// (default 1024).
    Add(FibOpts),
    /// Delete FIB ID and all its routes.
    #[command(visible_alias = "delete")]
    Del(FibId),
    /// List the FIBs: id, IPv4 routes, IPv6 routes, lookups, misses, and
    /// neighbours, their limit, packets received and forwarded.
    #[command(visible_alias = "ls")]
    List,
    /// Show the counters of FIB ID: routes, lookups, neighbours and the
    /// packet counters of its interfaces.
    Show(FibId),
    /// Change a FIB's settings: set ID neigh-limit N.
    Set(FibOpts),
    /// Make FIB ID mirror kernel IPv4 routing table N: its routes are
    /// copied and every change made with ip route (or a routing daemon)
    /// follows. `table 0` stops mirroring; the FIB keeps its routes.
    Mirror(MirrorArgs),
    /// Bind an interface to a FIB: dev IFNAME fib ID [addr ADDR/LEN]...
    ///
    /// From then on the FIB forwards the interface's IPv4 and IPv6 packets
    /// and answers its ARP/NDP; they no longer reach the host's stack.
    /// addr: a router address on the interface, with its prefix length
    /// (10.0.0.1/24, 2001:db8:1::1/64), up to 8 per family. Binding a bound
    /// interface replaces its FIB and addresses.
    ///
    /// Example: cgl-ctl fib bind dev veth0 fib 10 addr 10.0.0.1/24
    Bind(Words),
    /// Unbind an interface: dev IFNAME. Its neighbours go.
    Unbind(Words),
    /// List the bound interfaces: [dev IFNAME] [fib ID]. Columns: device,
    /// FIB, addresses, and the packet counters (rx, forwarded, local,
    /// noroute, ttl, blackhole, toobig, unresolved, drops, icmp, arp).
    Ports(Words),
}

/// A FIB id and options: `ID [neigh-limit N]`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct FibOpts {
    /// FIB id: 0-4294967294.
    #[arg(value_name = "ID", value_parser = parse_fib_id)]
    pub id: u32,
    /// neigh-limit N: most neighbours the FIB may hold.
    #[arg(value_name = "OPTION")]
    pub words: Vec<String>,
}

/// A parsed and checked `fib` command: devices resolved, words parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibOp {
    /// `fib add`.
    Add {
        /// FIB id.
        id: u32,
        /// Its neighbour limit, if given.
        neigh_limit: Option<u32>,
    },
    /// `fib del`.
    Del(u32),
    /// `fib list`.
    List,
    /// `fib show`.
    Show(u32),
    /// `fib set`.
    Set {
        /// FIB id.
        id: u32,
        /// Its new neighbour limit.
        neigh_limit: u32,
    },
    /// `fib mirror`.
    Mirror {
        /// FIB id.
        id: u32,
        /// Kernel routing table (0: stop).
        table: u32,
    },
    /// `fib bind`.
    Bind(port::Bind),
    /// `fib unbind`: the interface index.
    Unbind(u32),
    /// `fib ports`.
    Ports {
        /// Only this interface (asked of the kernel).
        oif: Option<u32>,
        /// Only the interfaces of this FIB.
        fib: Option<u32>,
    },
}

/// Parses `neigh-limit N` options (the words after `fib add|set ID`).
fn parse_fib_opts(words: &[&str]) -> Result<Option<u32>, String> {
    let mut limit = None;
    let mut given = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        match w {
            "neigh-limit" => take(
                words,
                &mut i,
                "neigh-limit",
                "a number",
                &mut limit,
                &mut given,
            )?,
            _ => return Err(format!("unexpected '{w}'")),
        }
    }
    limit
        .map(|l| {
            l.parse::<u32>()
                .ok()
                .filter(|_| l.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("'{l}' is not a neighbour limit (0-4294967295)"))
        })
        .transpose()
}

impl FibOp {
    /// The operation of a `fib` command line; device names are resolved
    /// through `names`.
    pub fn from_cmd(c: &FibCmd, names: &mut IfNames) -> Result<FibOp, String> {
        Ok(match c {
            FibCmd::Add(o) => FibOp::Add {
                id: o.id,
                neigh_limit: parse_fib_opts(&words(&o.words))?,
            },
            FibCmd::Set(o) => FibOp::Set {
                id: o.id,
                neigh_limit: set_limit(parse_fib_opts(&words(&o.words))?)?,
            },
            FibCmd::Del(f) => FibOp::Del(f.id),
            FibCmd::List => FibOp::List,
            FibCmd::Show(f) => FibOp::Show(f.id),
            FibCmd::Mirror(m) => FibOp::Mirror {
                id: m.id,
                table: m.table,
            },
            FibCmd::Bind(w) => FibOp::Bind(port::parse_bind(&words(&w.words), names)?),
            FibCmd::Unbind(w) => FibOp::Unbind(port::parse_unbind(&words(&w.words), names)?),
            FibCmd::Ports(w) => {
                let (oif, fib) = port::parse_ports(&words(&w.words), names)?;
                FibOp::Ports { oif, fib }
            }
        })
    }
}

/// The words of a command line, as `&str`.
fn words(w: &[String]) -> Vec<&str> {
    w.iter().map(String::as_str).collect()
}

/// The limit `fib set` needs.
fn set_limit(l: Option<u32>) -> Result<u32, String> {
    l.ok_or_else(|| "nothing to set: fib set ID neigh-limit N".into())
}

/// `fib mirror ID table N`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct MirrorArgs {
    /// FIB id: 0-4294967294.
    #[arg(value_name = "ID", value_parser = parse_fib_id)]
    pub id: u32,
    /// The word `table`.
    #[arg(value_name = "table", value_parser = ["table"])]
    pub kw: String,
    /// Kernel routing table id (0: stop mirroring).
    #[arg(value_name = "N")]
    pub table: u32,
}

/// A FIB id argument.
#[derive(Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibId {
    /// FIB id: 0-4294967294.
    #[arg(value_name = "ID", value_parser = parse_fib_id)]
    pub id: u32,
}

/// `route` subcommands. Their words are parsed as `ip route` parses them
/// (see [`parse_route`]), not by clap.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum RouteCmd {
    /// Add a route: [TYPE] PREFIX [via GW] [dev IFNAME] [metric N] fib ID.
    ///
    /// TYPE: unicast (default; needs via and/or dev), blackhole,
    /// unreachable, prohibit. PREFIX: A.B.C.D/LEN, IPV6/LEN, an address
    /// (host route) or default (IPv4; IPv6 with -6 or an IPv6 gateway).
    /// `table ID` is accepted for `fib ID`.
    ///
    /// Example: cgl-ctl route add 10.0.0.0/8 via 192.0.2.1 dev eth0 fib 7
    Add(Words),
    /// Add a route, replacing the route of the same prefix if there is
    /// one (same words as add).
    Replace(Words),
    /// Delete a route: PREFIX fib ID.
    #[command(visible_alias = "delete")]
    Del(Words),
    /// Look up a route: ADDR fib ID (longest prefix match) or PREFIX
    /// fib ID (exactly that prefix).
    ///
    /// For an address, prints
    /// `ADDR [via GW] [dev IFNAME] [metric N] fib ID matched PREFIX`
    /// (with the type first if not unicast:
    /// `blackhole 10.1.2.3 fib 7 matched 10.0.0.0/8`); for a prefix, its
    /// route as `route show` prints it, and `fib ID`. Exit 1 if no route
    /// matches.
    Get(Words),
    /// List the routes of a FIB: fib ID [-4|-6] (both families unless
    /// one is given), one per line as `ip route` prints them.
    #[command(visible_aliases = ["list", "ls"])]
    Show(Words),
}

/// The words of a `route` subcommand.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Words {
    /// Words, as ip takes them (see the command's help).
    #[arg(value_name = "ARGS")]
    pub words: Vec<String>,
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Af {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Af {
    /// The family of `a`.
    pub fn of(a: IpAddr) -> Af {
        match a {
            IpAddr::V4(_) => Af::V4,
            IpAddr::V6(_) => Af::V6,
        }
    }

    /// `AF_INET` or `AF_INET6`, as `CGL_FIB_A_FAMILY` carries it.
    pub fn family(self) -> u8 {
        match self {
            Af::V4 => libc::AF_INET as u8,
            Af::V6 => libc::AF_INET6 as u8,
        }
    }

    /// The family of `CGL_FIB_A_FAMILY` value `f`.
    pub fn from_family(f: u8) -> Option<Af> {
        match i32::from(f) {
            libc::AF_INET => Some(Af::V4),
            libc::AF_INET6 => Some(Af::V6),
            _ => None,
        }
    }

    /// Bits of an address.
    pub fn bits(self) -> u8 {
        match self {
            Af::V4 => 32,
            Af::V6 => 128,
        }
    }

    /// "IPv4" or "IPv6".
    pub fn name(self) -> &'static str {
        match self {
            Af::V4 => "IPv4",
            Af::V6 => "IPv6",
        }
    }

    /// "inet" or "inet6", as `ip -j` names families.
    pub fn json_name(self) -> &'static str {
        match self {
            Af::V4 => "inet",
            Af::V6 => "inet6",
        }
    }

    /// The all-zero address.
    fn any(self) -> IpAddr {
        match self {
            Af::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Af::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    /// The `-4`/`-6` option of this family.
    fn flag(self) -> &'static str {
        match self {
            Af::V4 => "-4",
            Af::V6 => "-6",
        }
    }
}

/// `a` with every bit past the first `len` cleared.
pub fn mask(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v) & m))
        }
        IpAddr::V6(v) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v) & m))
        }
    }
}

/// A prefix: an address and a length; no host bits set once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length: 0-32 or 0-128.
    pub len: u8,
}

impl Prefix {
    /// The family of the prefix.
    pub fn af(&self) -> Af {
        Af::of(self.addr)
    }
}

impl fmt::Display for Prefix {
    /// As `ip route` prints a destination: `default` for 0/0, a host
    /// route without its length, else `ADDR/LEN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 && self.addr.is_unspecified() {
            f.write_str("default")
        } else if self.len == self.af().bits() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// A route type (`enum cgl_fib_rtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RType {
    /// Forwarded via a gateway and/or an interface.
    Unicast,
    /// Dropped silently.
    Blackhole,
    /// Dropped, ICMP unreachable.
    Unreachable,
    /// Dropped, ICMP administratively prohibited.
    Prohibit,
    /// A type this tool does not know (from a newer kernel).
    Other(u8),
}

impl RType {
    /// The type a word of the command line names.
    pub fn from_word(w: &str) -> Option<RType> {
        Some(match w {
            "unicast" => RType::Unicast,
            "blackhole" => RType::Blackhole,
            "unreachable" => RType::Unreachable,
            "prohibit" => RType::Prohibit,
            _ => return None,
        })
    }

    /// The number on the wire.
    pub fn to_u8(self) -> u8 {
        match self {
            RType::Unicast => CGL_FIB_RT_UNICAST,
            RType::Blackhole => CGL_FIB_RT_BLACKHOLE,
            RType::Unreachable => CGL_FIB_RT_UNREACHABLE,
            RType::Prohibit => CGL_FIB_RT_PROHIBIT,
            RType::Other(n) => n,
        }
    }

    /// The type of wire number `n`.
    pub fn from_u8(n: u8) -> RType {
        match n {
            CGL_FIB_RT_UNICAST => RType::Unicast,
            CGL_FIB_RT_BLACKHOLE => RType::Blackhole,
            CGL_FIB_RT_UNREACHABLE => RType::Unreachable,
            CGL_FIB_RT_PROHIBIT => RType::Prohibit,
            n => RType::Other(n),
        }
    }

    /// The name `ip route` prints.
    pub fn name(self) -> String {
        match self {
            RType::Unicast => "unicast".into(),
            RType::Blackhole => "blackhole".into(),
            RType::Unreachable => "unreachable".into(),
            RType::Prohibit => "prohibit".into(),
            RType::Other(n) => format!("type{n}"),
        }
    }
}

/// A route of a FIB (the FIB id travels beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// Destination.
    pub prefix: Prefix,
    /// Type.
    pub rtype: RType,
    /// Next hop, of the prefix's family.
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Priority (informational).
    pub metric: Option<u32>,
}

/// What a `route get` looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The route an address is forwarded by (longest prefix match).
    Addr(IpAddr),
    /// The route of exactly this prefix.
    Exact(Prefix),
}

/// A parsed `route` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOp {
    /// `route add` (`replace`: `route replace`).
    Add {
        /// FIB id.
        fib: u32,
        /// The route.
        route: Route,
        /// Replace the route of the same prefix.
        replace: bool,
    },
    /// `route del`.
    Del {
        /// FIB id.
        fib: u32,
        /// The prefix whose route goes.
        prefix: Prefix,
    },
    /// `route get`.
    Get {
        /// FIB id.
        fib: u32,
        /// What is looked up.
        lookup: Lookup,
    },
    /// `route show`.
    Show {
        /// FIB id.
        fib: u32,
        /// Only this family.
        af: Option<Af>,
    },
}

/// The verb of a `route` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `del`, `delete`.
    Del,
    /// `get`.
    Get,
    /// `show`, `list`, `ls`.
    Show,
}

impl Verb {
    /// The verb a word names.
    pub fn from_word(w: &str) -> Option<Verb> {
        Some(match w {
            "add" => Verb::Add,
            "replace" => Verb::Replace,
            "del" | "delete" => Verb::Del,
            "get" => Verb::Get,
            "show" | "list" | "ls" => Verb::Show,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Verb::Add => "add",
            Verb::Replace => "replace",
            Verb::Del => "del",
            Verb::Get => "get",
            Verb::Show => "show",
        }
    }
}

/// Parses a FIB id: decimal 0-4294967294 (4294967295 is
/// `CGL_FIB_ID_INVALID`).
pub fn parse_fib_id(s: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{s}' is not a FIB id (0-4294967294)"));
    }
    match s.parse::<u32>() {
        Ok(CGL_FIB_ID_INVALID) => Err(format!(
            "FIB id {CGL_FIB_ID_INVALID} is reserved (CGL_FIB_ID_INVALID)"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("FIB id {s} out of range 0-4294967294")),
    }
}

/// Parses a metric: decimal u32.
fn parse_metric(s: &str) -> Result<u32, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = s.parse() {
            return Ok(n);
        }
    }
    Err(format!("'{s}' is not a metric (0-4294967295)"))
}

/// An IPv4 address, or with `short` also the 1-3 part form `ip` accepts
/// before a length (`10/8`, `172.16/12`); missing parts are zero.
fn parse_v4(s: &str, short: bool) -> Option<Ipv4Addr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    if !short {
        return None;
    }
    let mut o = [0u8; 4];
    for (n, part) in s.split('.').enumerate() {
        let ok = !part.is_empty()
            && part.len() <= 3
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part.len() == 1 || !part.starts_with('0'));
        if !ok || n == 4 {
            return None;
        }
        o[n] = part.parse().ok()?;
    }
    Some(Ipv4Addr::from(o))
}

/// Parses a destination: `A.B.C.D/LEN`, `IPV6/LEN`, a bare address (a
/// host route) or `default` (of family `hint`, IPv4 without one). Refuses
/// host bits past the length, naming the prefix meant.
pub fn parse_prefix(s: &str, hint: Option<Af>) -> Result<Prefix, String> {
    if s == "default" {
        let af = hint.unwrap_or(Af::V4);
        return Ok(Prefix {
            addr: af.any(),
            len: 0,
        });
    }
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let bad = || format!("'{s}' is not a prefix (A.B.C.D/LEN, IPV6/LEN, an address or default)");
    let addr = if a.contains(':') {
        IpAddr::V6(a.parse().map_err(|_| bad())?)
    } else {
        IpAddr::V4(parse_v4(a, l.is_some()).ok_or_else(bad)?)
    };
    let max = Af::of(addr).bits();
    let len = match l {
        None => max,
        Some("") => return Err(format!("missing prefix length after '/' in '{s}'")),
        Some(l) => {
            if l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("bad prefix length '{l}' in '{s}'"));
            }
            let n: u8 = l
                .parse()
                .map_err(|_| format!("bad prefix length '{l}' in '{s}'"))?;
            if n > max {
                return Err(format!("prefix length {n} out of range 0-{max} in '{s}'"));
            }
            n
        }
    };
    let net = mask(addr, len);
    if net != addr {
        return Err(format!("host bits set in {s}, did you mean {net}/{len}?"));
    }
    Ok(Prefix { addr: net, len })
}

/// Parses a gateway address.
fn parse_gateway(s: &str) -> Result<IpAddr, String> {
    if s.contains('/') {
        return Err(format!("gateway '{s}' must be an address, without /LEN"));
    }
    let a: IpAddr = s
        .parse()
        .map_err(|_| format!("'{s}' is not a gateway address"))?;
    if a.is_unspecified() {
        return Err(format!("gateway {s} is not a host address"));
    }
    Ok(a)
}

/// Interface names and indexes, looked up once each (`if_nametoindex`
/// costs a socket and an ioctl; a batch names the same few devices
/// thousands of times).
pub struct IfNames {
    by_name: HashMap<String, u32>,
    by_index: HashMap<u32, String>,
    to_index: fn(&str) -> Option<u32>,
    to_name: fn(u32) -> Option<String>,
}

/// `if_nametoindex(3)`.
fn sys_nametoindex(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a NUL-terminated string alive for the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// `if_indextoname(3)`.
fn sys_indextoname(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has the IF_NAMESIZE bytes the call may write.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success `buf` holds a NUL-terminated name.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

impl IfNames {
    /// The system's interfaces (of this network namespace).
    pub fn system() -> Self {
        Self::with(sys_nametoindex, sys_indextoname)
    }

    /// Interfaces as `to_index` and `to_name` look them up (tests).
    pub fn with(to_index: fn(&str) -> Option<u32>, to_name: fn(u32) -> Option<String>) -> Self {
        IfNames {
            by_name: HashMap::new(),
            by_index: HashMap::new(),
            to_index,
            to_name,
        }
    }

    /// The index of device `name`.
    pub fn index(&mut self, name: &str) -> Result<u32, String> {
        if let Some(&i) = self.by_name.get(name) {
            return Ok(i);
        }
        if name.is_empty()
            || name.len() >= libc::IF_NAMESIZE
            || name == "."
            || name == ".."
            || name
                .bytes()
                .any(|b| b == b'/' || b == b':' || !b.is_ascii_graphic())
        {
            return Err(format!("'{name}' is not a device name"));
        }
        let i = (self.to_index)(name).ok_or_else(|| format!("unknown device '{name}'"))?;
        self.by_name.insert(name.to_string(), i);
        Ok(i)
    }

    /// The name of interface `index`, or `if<index>` if there is none.
    pub fn name(&mut self, index: u32) -> String {
        if let Some(n) = self.by_index.get(&index) {
            return n.clone();
        }
        let n = (self.to_name)(index).unwrap_or_else(|| format!("if{index}"));
        self.by_index.insert(index, n.clone());
        n
    }
}

/// The words of a `route` command, sorted out but not yet checked.
#[derive(Default)]
struct Spec<'a> {
    rtype: Option<RType>,
    prefix: Option<&'a str>,
    via: Option<&'a str>,
    /// `inet`/`inet6` before the gateway.
    via_af: Option<Af>,
    dev: Option<&'a str>,
    metric: Option<&'a str>,
    fib: Option<&'a str>,
    af: Option<Af>,
    /// The keywords given, for "not with this verb" messages.
    given: Vec<&'static str>,
}

/// Sets `slot` from the word after keyword `kw`.
pub(crate) fn take<'a>(
    words: &[&'a str],
    i: &mut usize,
    kw: &'static str,
    what: &str,
    slot: &mut Option<&'a str>,
    given: &mut Vec<&'static str>,
) -> Result<(), String> {
    let v = words
        .get(*i)
        .ok_or_else(|| format!("'{kw}' needs {what}"))?;
    *i += 1;
    if slot.is_some() {
        return Err(format!("'{kw}' given twice"));
    }
    *slot = Some(v);
    given.push(kw);
    Ok(())
}

/// Sorts the words of a `route` command out, as `ip route` reads them.
fn scan<'a>(words: &[&'a str]) -> Result<Spec<'a>, String> {
    let mut s = Spec::default();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        match w {
            "-4" | "-6" => {
                let af = if w == "-4" { Af::V4 } else { Af::V6 };
                if s.af.is_some_and(|a| a != af) {
                    return Err("-4 and -6 given together".into());
                }
                s.af = Some(af);
            }
            "via" => {
                match words.get(i).copied() {
                    Some("inet") => (s.via_af, i) = (Some(Af::V4), i + 1),
                    Some("inet6") => (s.via_af, i) = (Some(Af::V6), i + 1),
                    _ => {}
                }
                take(words, &mut i, "via", "an address", &mut s.via, &mut s.given)?;
            }
            "dev" | "oif" => take(
                words,
                &mut i,
                "dev",
                "a device name",
                &mut s.dev,
                &mut s.given,
            )?,
            "metric" | "preference" | "priority" => take(
                words,
                &mut i,
                "metric",
                "a number",
                &mut s.metric,
                &mut s.given,
            )?,
            "fib" | "table" => take(words, &mut i, "fib", "an id", &mut s.fib, &mut s.given)?,
            "to" => take(words, &mut i, "to", "a prefix", &mut s.prefix, &mut s.given)?,
            _ => {
                if let Some(t) = RType::from_word(w) {
                    if s.rtype.is_some() {
                        return Err(format!("route type given twice ('{w}')"));
                    }
                    s.rtype = Some(t);
                    s.given.push("type");
                } else if s.prefix.is_none() {
                    s.prefix = Some(w);
                } else {
                    return Err(format!("unexpected '{w}'"));
                }
            }
        }
    }
    Ok(s)
}

/// The usage line of a verb.
fn usage(verb: Verb) -> &'static str {
    match verb {
        Verb::Add | Verb::Replace => "[TYPE] PREFIX [via GW] [dev IFNAME] [metric N] fib ID",
        Verb::Del => "PREFIX fib ID",
        Verb::Get => "ADDR|PREFIX fib ID",
        Verb::Show => "fib ID [-4|-6]",
    }
}

/// Parses the words of a `route` command (after the verb). `af` is the
/// family of the global `-4`/`-6` option; one among the words wins.
/// Device names are resolved through `names`.
pub fn parse_route(
    verb: Verb,
    words: &[&str],
    af: Option<Af>,
    names: &mut IfNames,
) -> Result<RouteOp, String> {
    let s = scan(words)?;
    let af = s.af.or(af);
    let allowed: &[&str] = match verb {
        Verb::Add | Verb::Replace => &["via", "dev", "metric", "fib", "to", "type"],
        Verb::Del | Verb::Get => &["fib", "to"],
        Verb::Show => &["fib"],
    };
    if let Some(k) = s.given.iter().find(|k| !allowed.contains(k)) {
        let k = if *k == "type" { "a route type" } else { k };
        return Err(format!(
            "route {} takes {} ('{k}' given)",
            verb.name(),
            usage(verb)
        ));
    }
    if verb == Verb::Show {
        if let Some(p) = s.prefix {
            return Err(format!(
                "route show takes {} ('{p}' given; route get looks one prefix up)",
                usage(verb)
            ));
        }
    }
    let prefix = || {
        s.prefix
            .ok_or_else(|| format!("missing the prefix: route {} {}", verb.name(), usage(verb)))
    };
    let check_af = |p: &Prefix| match af {
        Some(a) if a != p.af() => Err(format!(
            "{p} is {} but {} was given",
            p.af().name(),
            a.flag()
        )),
        _ => Ok(()),
    };
    let op = match verb {
        Verb::Add | Verb::Replace => {
            let p = prefix()?;
            let gateway = s.via.map(parse_gateway).transpose()?;
            if let (Some(g), Some(a)) = (gateway, s.via_af) {
                if Af::of(g) != a {
                    return Err(format!("gateway {g} is not an {} address", a.name()));
                }
            }
            let p = parse_prefix(p, af.or(gateway.map(Af::of)))?;
            check_af(&p)?;
            if let Some(g) = gateway {
                if Af::of(g) != p.af() {
                    return Err(format!(
                        "gateway {g} is {} but the route {p} is {}",
                        Af::of(g).name(),
                        p.af().name()
                    ));
                }
            }
            let rtype = s.rtype.unwrap_or(RType::Unicast);
            if rtype == RType::Unicast {
                if s.via.is_none() && s.dev.is_none() {
                    return Err(format!(
                        "a unicast route needs 'via GW' and/or 'dev IFNAME' ({p})"
                    ));
                }
            } else if let Some(k) = [("via", s.via), ("dev", s.dev)]
                .iter()
                .find_map(|(k, v)| v.map(|_| k))
            {
                return Err(format!("a {} route takes no '{k}' ({p})", rtype.name()));
            }
            let oif = s.dev.map(|d| names.index(d)).transpose()?;
            let metric = s.metric.map(parse_metric).transpose()?;
            RouteOp::Add {
                fib: 0,
                route: Route {
                    prefix: p,
                    rtype,
                    gateway,
                    oif,
                    metric,
                },
                replace: verb == Verb::Replace,
            }
        }
        Verb::Del => {
            let p = parse_prefix(prefix()?, af)?;
            check_af(&p)?;
            RouteOp::Del { fib: 0, prefix: p }
        }
        Verb::Get => {
            let w = prefix()?;
            let lookup = if w.contains('/') || w == "default" {
                let p = parse_prefix(w, af)?;
                check_af(&p)?;
                Lookup::Exact(p)
            } else {
                let a: IpAddr = w
                    .parse()
                    .map_err(|_| format!("'{w}' is not an address (or PREFIX/LEN)"))?;
                if let Some(f) = af.filter(|&f| f != Af::of(a)) {
                    return Err(format!(
                        "{a} is {} but {} was given",
                        Af::of(a).name(),
                        f.flag()
                    ));
                }
                Lookup::Addr(a)
            };
            RouteOp::Get { fib: 0, lookup }
        }
        Verb::Show => RouteOp::Show { fib: 0, af },
    };
    let id = s
        .fib
        .ok_or_else(|| format!("missing 'fib ID': route {} {}", verb.name(), usage(verb)))?;
    let id = parse_fib_id(id)?;
    Ok(match op {
        RouteOp::Add { route, replace, .. } => RouteOp::Add {
            fib: id,
            route,
            replace,
        },
        RouteOp::Del { prefix, .. } => RouteOp::Del { fib: id, prefix },
        RouteOp::Get { lookup, .. } => RouteOp::Get { fib: id, lookup },
        RouteOp::Show { af, .. } => RouteOp::Show { fib: id, af },
    })
}

/// The `fib` commands, for messages.
const FIB_VERBS: &str = "add, del, set, list, show, mirror, bind, unbind, ports";

/// Parses the words of a `fib` command (after `fib`), as a batch line
/// gives them; device names are resolved through `names`.
pub fn parse_fib(words: &[&str], names: &mut IfNames) -> Result<FibOp, String> {
    let id = |w: &[&str]| -> Result<u32, String> {
        match w {
            [id] => parse_fib_id(id),
            [] => Err("missing the FIB id".into()),
            [_, extra, ..] => Err(format!("unexpected '{extra}'")),
        }
    };
    match words {
        ["add"] | ["set"] => Err("missing the FIB id".into()),
        ["add", id, rest @ ..] => Ok(FibOp::Add {
            id: parse_fib_id(id)?,
            neigh_limit: parse_fib_opts(rest)?,
        }),
        ["set", id, rest @ ..] => Ok(FibOp::Set {
            id: parse_fib_id(id)?,
            neigh_limit: set_limit(parse_fib_opts(rest)?)?,
        }),
        ["del" | "delete", rest @ ..] => Ok(FibOp::Del(id(rest)?)),
        ["show", rest @ ..] => Ok(FibOp::Show(id(rest)?)),
        ["mirror", id, "table", t] => Ok(FibOp::Mirror {
            id: parse_fib_id(id)?,
            table: t.parse().map_err(|_| format!("bad table id '{t}'"))?,
        }),
        ["mirror", ..] => Err("usage: fib mirror ID table N".into()),
        ["list" | "ls"] => Ok(FibOp::List),
        ["list" | "ls", extra, ..] => Err(format!("unexpected '{extra}'")),
        ["bind", rest @ ..] => port::parse_bind(rest, names).map(FibOp::Bind),
        ["unbind", rest @ ..] => port::parse_unbind(rest, names).map(FibOp::Unbind),
        ["ports", rest @ ..] => {
            port::parse_ports(rest, names).map(|(oif, fib)| FibOp::Ports { oif, fib })
        }
        [w, ..] => Err(format!("unknown fib command '{w}' ({FIB_VERBS})")),
        [] => Err(format!("missing the fib command ({FIB_VERBS})")),
    }
}

// ---------------------------------------------------------------------
// Encoding.
// ---------------------------------------------------------------------

/// Where attributes go: an [`AttrMap`] (one request) or a [`RawMsg`] (a
/// batch), so a route is encoded by one function for both.
pub(crate) trait Put {
    fn put_bytes(&mut self, ty: u16, data: &[u8]);
}

impl Put for AttrMap {
    fn put_bytes(&mut self, ty: u16, data: &[u8]) {
        self.push(ty, data);
    }
}

impl Put for RawMsg {
    fn put_bytes(&mut self, ty: u16, data: &[u8]) {
        self.put(ty, data);
    }
}

/// Puts an address attribute: 4 or 16 bytes, network order.
pub(crate) fn put_addr(p: &mut impl Put, ty: u16, a: IpAddr) {
    match a {
        IpAddr::V4(v) => p.put_bytes(ty, &v.octets()),
        IpAddr::V6(v) => p.put_bytes(ty, &v.octets()),
    }
}

/// Puts a route's own attributes: DST, DST_LEN, and TYPE (unless
/// unicast, the default), GATEWAY, OIF, METRIC when set.
fn put_route(p: &mut impl Put, r: &Route) {
    put_addr(p, CGL_FIB_A_DST, r.prefix.addr);
    p.put_bytes(CGL_FIB_A_DST_LEN, &[r.prefix.len]);
    if r.rtype != RType::Unicast {
        p.put_bytes(CGL_FIB_A_TYPE, &[r.rtype.to_u8()]);
    }
    if let Some(g) = r.gateway {
        put_addr(p, CGL_FIB_A_GATEWAY, g);
    }
    if let Some(o) = r.oif {
        p.put_bytes(CGL_FIB_A_OIF, &o.to_ne_bytes());
    }
    if let Some(m) = r.metric {
        p.put_bytes(CGL_FIB_A_METRIC, &m.to_ne_bytes());
    }
}

/// Bytes of the ROUTE nest of `r` in a batch, header included.
pub fn route_nest_len(r: &Route) -> usize {
    let alen = match r.prefix.af() {
        Af::V4 => 4,
        Af::V6 => 16,
    };
    let mut n = 4 + (4 + alen) + 8;
    if r.rtype != RType::Unicast {
        n += 8;
    }
    if r.gateway.is_some() {
        n += 4 + alen;
    }
    if r.oif.is_some() {
        n += 8;
    }
    if r.metric.is_some() {
        n += 8;
    }
    n
}

/// The attributes of a NEWROUTE request of one route.
pub fn route_attrs(fib: u32, r: &Route, replace: bool) -> AttrMap {
    let mut a = AttrMap::new();
    a.push_u32(CGL_FIB_A_FIB_ID, fib)
        .push_u8(CGL_FIB_A_FAMILY, r.prefix.af().family());
    put_route(&mut a, r);
    if replace {
        a.push(CGL_FIB_A_REPLACE, &[]);
    }
    a
}

/// The attributes of a DELROUTE request.
pub fn del_attrs(fib: u32, p: &Prefix) -> AttrMap {
    let mut a = AttrMap::new();
    a.push_u32(CGL_FIB_A_FIB_ID, fib)
        .push_u8(CGL_FIB_A_FAMILY, p.af().family());
    put_addr(&mut a, CGL_FIB_A_DST, p.addr);
    a.push_u8(CGL_FIB_A_DST_LEN, p.len);
    a
}

/// The attributes of a GETROUTE request (not a dump).
pub fn get_attrs(fib: u32, l: &Lookup) -> AttrMap {
    let mut a = AttrMap::new();
    a.push_u32(CGL_FIB_A_FIB_ID, fib);
    match *l {
        Lookup::Addr(addr) => {
            a.push_u8(CGL_FIB_A_FAMILY, Af::of(addr).family());
            put_addr(&mut a, CGL_FIB_A_ADDR, addr);
        }
        Lookup::Exact(p) => {
            a.push_u8(CGL_FIB_A_FAMILY, p.af().family());
            put_addr(&mut a, CGL_FIB_A_DST, p.addr);
            a.push_u8(CGL_FIB_A_DST_LEN, p.len);
        }
    }
    a
}

/// The attributes of a GETROUTE dump.
pub fn show_attrs(fib: u32, af: Option<Af>) -> AttrMap {
    let mut a = AttrMap::new();
    a.push_u32(CGL_FIB_A_FIB_ID, fib);
    if let Some(f) = af {
        a.push_u8(CGL_FIB_A_FAMILY, f.family());
    }
    a
}

/// Encodes a NEWROUTE batch of `routes` (all of the family of the first)
/// into `msg`: FIB_ID, FAMILY, REPLACE if `replace`, and a BATCH nest of
/// one ROUTE nest per route. `offsets` gets the offset of each ROUTE nest
/// in the message (from the start of its `nlmsghdr`, as the kernel counts
/// `NLMSGERR_ATTR_OFFS`).
pub fn encode_batch(
    msg: &mut RawMsg,
    fib: u32,
    replace: bool,
    routes: &[Route],
    offsets: &mut Vec<usize>,
) -> genl::Result<()> {
    let af = routes.first().map_or(Af::V4, |r| r.prefix.af());
    msg.start(CGL_FIB_CMD_NEWROUTE, CGL_FIB_GENL_VERSION);
    msg.put_u32(CGL_FIB_A_FIB_ID, fib);
    msg.put_u8(CGL_FIB_A_FAMILY, af.family());
    if replace {
        msg.put(CGL_FIB_A_REPLACE, &[]);
    }
    offsets.clear();
    let batch = msg.nest_start(CGL_FIB_A_BATCH);
    for r in routes {
        offsets.push(msg.len());
        let nest = msg.nest_start(CGL_FIB_A_ROUTE);
        put_route(msg, r);
        msg.nest_end(nest)?;
    }
    msg.nest_end(batch)
}

/// The index, in a batch whose ROUTE nests start at `offsets`, of the
/// route a kernel error names: by the extack's attribute offset if it
/// points into a ROUTE nest; else by `route N` in its message (cgl_fib
/// says `route N of the batch: ...`, pointing the offset at the BATCH
/// nest); else `Some(0)` if the offset points at another top-level
/// attribute (FIB_ID, FAMILY: the first line of the batch stands for
/// it); else unknown.
pub fn batch_index(e: &genl::Error, offsets: &[usize]) -> Option<usize> {
    let genl::Error::Kernel { msg, offset, .. } = e else {
        return None;
    };
    let first = *offsets.first()?;
    if let Some(o) = offset.map(|o| o as usize).filter(|&o| o >= first) {
        return Some(offsets.partition_point(|&s| s <= o) - 1);
    }
    if let Some(i) = msg
        .as_deref()
        .and_then(index_in_message)
        .filter(|&i| i < offsets.len())
    {
        return Some(i);
    }
    offset.map(|_| 0)
}

/// The kernel's message without the `route N of the batch: ` that the
/// line number replaces.
fn strip_batch_prefix(m: &str) -> &str {
    let Some(rest) = m.strip_prefix("route ") else {
        return m;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[digits..].strip_prefix(" of the batch: ") {
        Some(tail) if digits > 0 => tail,
        _ => m,
    }
}

/// `N` of the first `route N` in an extack message, N a whole word (not
/// the start of an address: `route 10.0.0.0/8`, `route 2001:db8::/32`).
fn index_in_message(m: &str) -> Option<usize> {
    let mut rest = m;
    while let Some(p) = rest.find("route ") {
        let tail = &rest[p + 6..];
        let tail = tail.strip_prefix('#').unwrap_or(tail);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let after = &tail[digits..];
        let word_ends = match after.as_bytes() {
            [] => true,
            [b':', b' ', ..] | [b':'] => true,
            [c, ..] => matches!(c, b' ' | b',' | b')' | b';'),
        };
        if digits > 0 && word_ends {
            return tail[..digits].parse().ok();
        }
        rest = &rest[p + 6..];
    }
    None
}

// ---------------------------------------------------------------------
// Decoding and output.
// ---------------------------------------------------------------------

/// The family of a reply: its FAMILY attribute, or else the length of
/// its address `raw`; `what` names the object in errors.
pub(crate) fn reply_family(a: &AttrMap, raw: &[u8], what: &str) -> genl::Result<Af> {
    Ok(match a.u8(CGL_FIB_A_FAMILY)? {
        Some(f) => Af::from_family(f)
            .ok_or_else(|| genl::Error::Malformed(format!("{what} of family {f}")))?,
        None if raw.len() == 16 => Af::V6,
        None => Af::V4,
    })
}

/// An address attribute of family `af`.
pub(crate) fn decode_addr(bytes: &[u8], af: Af, what: &str) -> genl::Result<IpAddr> {
    match (af, bytes.len()) {
        (Af::V4, 4) => Ok(IpAddr::V4(Ipv4Addr::from(
            <[u8; 4]>::try_from(bytes).expect("4 bytes"),
        ))),
        (Af::V6, 16) => Ok(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(bytes).expect("16 bytes"),
        ))),
        (_, n) => Err(genl::Error::Malformed(format!(
            "{what} of {n} bytes, not an {} address",
            af.name()
        ))),
    }
}

/// A route as the kernel describes it (a CGL_FIB_CMD_ROUTE reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// FIB id, if the reply carries it.
    pub fib: Option<u32>,
    /// The route.
    pub route: Route,
}

impl RouteInfo {
    /// Decodes the attributes of a ROUTE reply.
    pub fn decode(a: &AttrMap) -> genl::Result<Self> {
        let dst = a
            .get(CGL_FIB_A_DST)
            .ok_or_else(|| genl::Error::Malformed("route without a destination".into()))?;
        let af = reply_family(a, dst, "route")?;
        let addr = decode_addr(dst, af, "destination")?;
        let len = a
            .u8(CGL_FIB_A_DST_LEN)?
            .ok_or_else(|| genl::Error::Malformed("route without a prefix length".into()))?;
        if len > af.bits() {
            return Err(genl::Error::Malformed(format!(
                "{} route of length {len}",
                af.name()
            )));
        }
        Ok(RouteInfo {
            fib: a.u32(CGL_FIB_A_FIB_ID)?,
            route: Route {
                prefix: Prefix { addr, len },
                rtype: RType::from_u8(a.u8(CGL_FIB_A_TYPE)?.unwrap_or(CGL_FIB_RT_UNICAST)),
                gateway: a
                    .get(CGL_FIB_A_GATEWAY)
                    .map(|g| decode_addr(g, af, "gateway"))
                    .transpose()?,
                oif: a.u32(CGL_FIB_A_OIF)?,
                metric: a.u32(CGL_FIB_A_METRIC)?,
            },
        })
    }
}

/// `via GW dev IFNAME metric N`, each part if set, with a leading space.
fn nexthop_text(r: &Route, names: &mut IfNames) -> String {
    let mut s = String::new();
    if let Some(g) = r.gateway {
        s.push_str(&format!(" via {g}"));
    }
    if let Some(o) = r.oif {
        s.push_str(&format!(" dev {}", names.name(o)));
    }
    if let Some(m) = r.metric {
        s.push_str(&format!(" metric {m}"));
    }
    s
}

/// The type word a line starts with: none for unicast.
fn type_text(t: RType) -> String {
    match t {
        RType::Unicast => String::new(),
        t => format!("{} ", t.name()),
    }
}

/// A route as `ip route` prints it (no newline):
/// `10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5`, `blackhole 192.0.2.0/24`.
pub fn route_line(r: &Route, names: &mut IfNames) -> String {
    format!(
        "{}{}{}",
        type_text(r.rtype),
        r.prefix,
        nexthop_text(r, names)
    )
}

/// A route as JSON, like an element of `ip -j route`.
pub fn route_json(fib: Option<u32>, r: &Route, names: &mut IfNames) -> Value {
    let mut v = json!({
        "dst": r.prefix.to_string(),
        "family": r.prefix.af().json_name(),
        "type": r.rtype.name(),
    });
    let m = v.as_object_mut().expect("object");
    if let Some(g) = r.gateway {
        m.insert("gateway".into(), json!(g.to_string()));
    }
    if let Some(o) = r.oif {
        m.insert("dev".into(), json!(names.name(o)));
        m.insert("oif".into(), json!(o));
    }
    if let Some(x) = r.metric {
        m.insert("metric".into(), json!(x));
    }
    if let Some(f) = fib {
        m.insert("fib".into(), json!(f));
    }
    v
}

/// The `route get` line (no newline): for an address,
/// `10.1.2.3 via 192.0.2.1 dev eth0 metric 5 fib 10 matched 10.0.0.0/8`;
/// for an exact prefix, the route and `fib 10`.
pub fn get_line(lookup: &Lookup, fib: u32, r: &Route, names: &mut IfNames) -> String {
    match lookup {
        Lookup::Addr(a) => format!(
            "{}{a}{} fib {fib} matched {}",
            type_text(r.rtype),
            nexthop_text(r, names),
            r.prefix
        ),
        Lookup::Exact(_) => format!("{} fib {fib}", route_line(r, names)),
    }
}

/// The `route get` JSON: an array of one object, as `ip -j route get`.
/// For an address, `dst` is the address and `matched` the prefix.
pub fn get_json(lookup: &Lookup, fib: u32, r: &Route, names: &mut IfNames) -> Value {
    let mut v = route_json(Some(fib), r, names);
    if let Lookup::Addr(a) = lookup {
        let m = v.as_object_mut().expect("object");
        m.insert("matched".into(), json!(r.prefix.to_string()));
        m.insert("dst".into(), json!(a.to_string()));
    }
    Value::Array(vec![v])
}

/// A FIB and its counters (a CGL_FIB_CMD_FIB reply). The neighbour and
/// packet counters are `None` from a kernel that does not send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibInfo {
    /// FIB id.
    pub id: u32,
    /// IPv4 routes.
    pub routes4: u64,
    /// IPv6 routes.
    pub routes6: u64,
    /// Lookups made.
    pub lookups: u64,
    /// Lookups that found no route.
    pub misses: u64,
    /// Neighbours held.
    pub neighs: Option<u32>,
    /// Most neighbours it may hold.
    pub neigh_limit: Option<u32>,
    /// Packet counters, summed over its interfaces.
    pub stats: Option<Stats>,
}

impl FibInfo {
    /// Decodes the attributes of a FIB reply.
    pub fn decode(a: &AttrMap) -> genl::Result<Self> {
        Ok(FibInfo {
            id: a
                .u32(CGL_FIB_A_FIB_ID)?
                .ok_or_else(|| genl::Error::Malformed("FIB without an id".into()))?,
            routes4: a.u64(CGL_FIB_A_ROUTES4)?.unwrap_or(0),
            routes6: a.u64(CGL_FIB_A_ROUTES6)?.unwrap_or(0),
            lookups: a.u64(CGL_FIB_A_LOOKUPS)?.unwrap_or(0),
            misses: a.u64(CGL_FIB_A_MISSES)?.unwrap_or(0),
            neighs: a.u32(CGL_FIB_A_NEIGHS)?,
            neigh_limit: a.u32(CGL_FIB_A_NEIGH_LIMIT)?,
            stats: Stats::from_attrs(a)?,
        })
    }

    /// The FIB as JSON: `fib`, `routes4`, `routes6`, `lookups`, `misses`,
    /// and `neighs`, `neigh_limit`, `stats` (an object of the named
    /// counters) when the kernel sends them.
    pub fn to_json(self) -> Value {
        let mut v = json!({
            "fib": self.id,
            "routes4": self.routes4,
            "routes6": self.routes6,
            "lookups": self.lookups,
            "misses": self.misses,
        });
        let m = v.as_object_mut().expect("object");
        if let Some(n) = self.neighs {
            m.insert("neighs".into(), json!(n));
        }
        if let Some(n) = self.neigh_limit {
            m.insert("neigh_limit".into(), json!(n));
        }
        if let Some(st) = &self.stats {
            m.insert("stats".into(), st.to_json());
        }
        v
    }

    /// The FIB as `key: value` lines, for `fib show`: the route counters
    /// first (their lines never change), then the neighbours and the
    /// packet counters when the kernel sends them.
    pub fn details(&self) -> String {
        let mut s = format!(
            "fib:          {}\nipv4 routes:  {}\nipv6 routes:  {}\nlookups:      {}\nmisses:       {}\n",
            self.id, self.routes4, self.routes6, self.lookups, self.misses
        );
        if let Some(n) = self.neighs {
            s.push_str(&format!("neighbours:   {n}\n"));
        }
        if let Some(n) = self.neigh_limit {
            s.push_str(&format!("neigh limit:  {n}\n"));
        }
        if let Some(st) = &self.stats {
            for (k, v) in st.named() {
                s.push_str(&format!("{:<14}{v}\n", format!("{k}:")));
            }
        }
        s
    }
}

/// The `fib list` table: FIB, ROUTES4, ROUTES6, LOOKUPS, MISSES, and
/// NEIGHS, LIMIT, RX, FORWARDED if the kernel sends them (`fib show` and
/// `-j` give every counter).
pub fn fib_table(fibs: &[FibInfo]) -> String {
    let more = fibs
        .iter()
        .any(|f| f.neighs.is_some() || f.neigh_limit.is_some() || f.stats.is_some());
    let mut head = ["FIB", "ROUTES4", "ROUTES6", "LOOKUPS", "MISSES"]
        .map(String::from)
        .to_vec();
    if more {
        head.extend(["NEIGHS", "LIMIT", "RX", "FORWARDED"].map(String::from));
    }
    let mut rows = vec![head];
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    rows.extend(fibs.iter().map(|f| {
        let mut r = vec![
            f.id.to_string(),
            f.routes4.to_string(),
            f.routes6.to_string(),
            f.lookups.to_string(),
            f.misses.to_string(),
        ];
        if more {
            r.extend([
                opt(f.neighs.map(u64::from)),
                opt(f.neigh_limit.map(u64::from)),
                opt(f.stats.map(|s| s.get(CGL_FIB_STAT_RX))),
                opt(f.stats.map(|s| s.get(CGL_FIB_STAT_FORWARDED))),
            ]);
        }
        r
    }));
    columns(&rows)
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect()
}

// ---------------------------------------------------------------------
// Talking to the kernel.
// ---------------------------------------------------------------------

/// What the kernel's errno means for `cmd`, when it gave no message.
fn hint(cmd: u8, errno: i32) -> Option<&'static str> {
    Some(match (cmd, errno) {
        (CGL_FIB_CMD_NEWFIB, libc::EEXIST) => "the FIB exists",
        (CGL_FIB_CMD_NEWFIB, libc::ENOSPC) => "too many FIBs",
        (CGL_FIB_CMD_NEWROUTE, libc::EEXIST) => "the route exists (route replace replaces it)",
        (CGL_FIB_CMD_DELROUTE, libc::ENOENT) => "no such FIB or route",
        (CGL_FIB_CMD_NEWNEIGH, libc::EEXIST) => "the neighbour exists (neigh replace replaces it)",
        (CGL_FIB_CMD_NEWNEIGH, libc::ENOSPC) => {
            "the neighbour limit is reached (fib set ID neigh-limit N)"
        }
        (CGL_FIB_CMD_DELNEIGH, libc::ENOENT) => "no such FIB or neighbour",
        (CGL_FIB_CMD_UNBIND | CGL_FIB_CMD_GETPORT, libc::ENOENT) => {
            "the interface is not bound to a FIB"
        }
        (CGL_FIB_CMD_BIND, libc::ENODEV) => "no such interface",
        (CGL_FIB_CMD_NEWNEIGH, libc::ENODEV) => "the interface is not bound to this FIB",
        (_, libc::ENOENT) => "no such FIB",
        (_, libc::EPERM) => "needs CAP_NET_ADMIN",
        _ => return None,
    })
}

/// The text of a kernel refusal of `cmd`, with a hint if the kernel gave
/// no message.
fn error_text(e: &genl::Error, cmd: u8) -> String {
    match e {
        genl::Error::Kernel {
            errno, msg: None, ..
        } => match hint(cmd, *errno) {
            Some(h) => format!("{e}: {h}"),
            None => e.to_string(),
        },
        e => e.to_string(),
    }
}

/// The global `-4`/`-6` of the command line.
pub(crate) fn cli_af(cli: &Cli) -> Option<Af> {
    if cli.ipv6 {
        Some(Af::V6)
    } else if cli.ipv4 {
        Some(Af::V4)
    } else {
        None
    }
}

/// A failure of a batch message: the index of the failing route, if
/// known, and the error.
#[derive(Debug)]
pub struct BatchFail {
    /// The failing route's index in the batch.
    pub index: Option<usize>,
    /// The error.
    pub fail: Fail,
}

/// A socket with `cgl_fib` resolved, the output options, and the buffers
/// reused from one batch message to the next.
pub struct Session {
    sock: GenlSocket,
    fam: Family,
    pub(crate) names: IfNames,
    pub(crate) json: bool,
    pub(crate) pretty: bool,
    msg: RawMsg,
    offsets: Vec<usize>,
}

/// An error of a `route show` dump: the kernel's, or the output's.
enum ShowErr {
    Genl(genl::Error),
    Fail(Fail),
}

impl From<genl::Error> for ShowErr {
    fn from(e: genl::Error) -> Self {
        ShowErr::Genl(e)
    }
}

/// Output is written in chunks of this size.
const OUT_CHUNK: usize = 64 * 1024;

impl Session {
    /// Opens a socket and resolves `cgl_fib`, or explains that the module
    /// is not loaded.
    pub fn open(json: bool, pretty: bool) -> Result<Self, Fail> {
        let mut sock = open()?;
        let fam = match sock.resolve_family(CGL_FIB_GENL_NAME)? {
            Some(f) => f,
            None => {
                return Err(Fail::new(format!(
                "the cgl_fib module is not loaded (no generic netlink family {CGL_FIB_GENL_NAME})"
            )))
            }
        };
        if fam.version != u32::from(CGL_FIB_GENL_VERSION) {
            eprintln!(
                "cgl-ctl: warning: {} is version {}, this tool speaks version {}",
                CGL_FIB_GENL_NAME, fam.version, CGL_FIB_GENL_VERSION
            );
        }
        Ok(Session {
            sock,
            fam,
            names: IfNames::system(),
            json,
            pretty,
            msg: RawMsg::new(),
            offsets: Vec::new(),
        })
    }

    /// Sends request `cmd` (not a dump); a refusal is explained.
    pub(crate) fn request(&mut self, cmd: u8, attrs: &AttrMap) -> Result<Vec<GenlMsg>, Fail> {
        self.sock
            .request(self.fam.id, CGL_FIB_GENL_VERSION, cmd, attrs, 0)
            .map_err(|e| Fail::new(error_text(&e, cmd)))
    }

    /// Dumps `cmd`; a refusal is explained.
    pub(crate) fn dump(&mut self, cmd: u8, attrs: &AttrMap) -> Result<Vec<GenlMsg>, Fail> {
        self.sock
            .dump(self.fam.id, CGL_FIB_GENL_VERSION, cmd, attrs)
            .map_err(|e| Fail::new(error_text(&e, cmd)))
    }

    /// Runs a `fib` command.
    pub fn fib(&mut self, c: &FibOp) -> Result<(), Fail> {
        let mut a = AttrMap::new();
        match c {
            FibOp::Add { id, neigh_limit } => {
                a.push_u32(CGL_FIB_A_FIB_ID, *id);
                if let Some(n) = neigh_limit {
                    a.push_u32(CGL_FIB_A_NEIGH_LIMIT, *n);
                }
                self.request(CGL_FIB_CMD_NEWFIB, &a).map(drop)
            }
            FibOp::Set { id, neigh_limit } => {
                a.push_u32(CGL_FIB_A_FIB_ID, *id)
                    .push_u32(CGL_FIB_A_NEIGH_LIMIT, *neigh_limit);
                self.request(CGL_FIB_CMD_SETFIB, &a).map(drop)
            }
            FibOp::Del(id) => {
                a.push_u32(CGL_FIB_A_FIB_ID, *id);
                self.request(CGL_FIB_CMD_DELFIB, &a).map(drop)
            }
            FibOp::Mirror { id, table } => {
                a.push_u32(CGL_FIB_A_FIB_ID, *id);
                a.push_u32(CGL_FIB_A_TABLE, *table);
                self.request(CGL_FIB_CMD_MIRROR, &a).map(drop)
            }
            FibOp::Bind(b) => {
                let a = port::bind_attrs(b)?;
                self.request(CGL_FIB_CMD_BIND, &a).map(drop)
            }
            FibOp::Unbind(oif) => self
                .request(CGL_FIB_CMD_UNBIND, &port::oif_attrs(*oif))
                .map(drop),
            FibOp::Ports { oif, fib } => self.ports(*oif, *fib),
            FibOp::Show(id) => {
                a.push_u32(CGL_FIB_A_FIB_ID, *id);
                let r = self.request(CGL_FIB_CMD_GETFIB, &a)?;
                let m = r
                    .first()
                    .ok_or_else(|| Fail::new("the kernel sent no FIB"))?;
                let f = FibInfo::decode(&m.attrs)?;
                if self.json {
                    out_json(&f.to_json(), self.pretty)
                } else {
                    out(&f.details())
                }
            }
            FibOp::List => {
                let r = self.dump(CGL_FIB_CMD_GETFIB, &a)?;
                let mut fibs = r
                    .iter()
                    .map(|m| FibInfo::decode(&m.attrs))
                    .collect::<genl::Result<Vec<_>>>()?;
                fibs.sort_by_key(|f| f.id);
                if self.json {
                    let v = Value::Array(fibs.iter().map(|f| f.to_json()).collect());
                    out_json(&v, self.pretty)
                } else {
                    out(&fib_table(&fibs))
                }
            }
        }
    }

    /// `fib ports`: one interface (GETPORT of OIF) or all (a dump), only
    /// those of FIB `fib` if given.
    fn ports(&mut self, oif: Option<u32>, fib: Option<u32>) -> Result<(), Fail> {
        let r = match oif {
            Some(o) => self.request(CGL_FIB_CMD_GETPORT, &port::oif_attrs(o))?,
            None => self.dump(CGL_FIB_CMD_GETPORT, &AttrMap::new())?,
        };
        let mut ports = r
            .iter()
            .map(|m| PortInfo::decode(&m.attrs))
            .collect::<genl::Result<Vec<_>>>()?;
        ports.retain(|p| fib.is_none() || p.fib == fib);
        ports.sort_by_key(|p| (p.fib, p.oif));
        if self.json {
            let v = Value::Array(ports.iter().map(|p| p.to_json(&mut self.names)).collect());
            out_json(&v, self.pretty)
        } else {
            out(&port::ports_table(&ports, &mut self.names))
        }
    }

    /// Runs a `route` command.
    pub fn route(&mut self, op: &RouteOp) -> Result<(), Fail> {
        match op {
            RouteOp::Add {
                fib,
                route,
                replace,
            } => self
                .request(CGL_FIB_CMD_NEWROUTE, &route_attrs(*fib, route, *replace))
                .map(drop),
            RouteOp::Del { fib, prefix } => self
                .request(CGL_FIB_CMD_DELROUTE, &del_attrs(*fib, prefix))
                .map(drop),
            RouteOp::Get { fib, lookup } => self.get(*fib, lookup),
            RouteOp::Show { fib, af } => self.show(*fib, *af),
        }
    }

    fn get(&mut self, fib: u32, lookup: &Lookup) -> Result<(), Fail> {
        let r = match self.sock.request(
            self.fam.id,
            CGL_FIB_GENL_VERSION,
            CGL_FIB_CMD_GETROUTE,
            &get_attrs(fib, lookup),
            0,
        ) {
            Ok(r) => r,
            Err(genl::Error::Kernel {
                errno: libc::ENETUNREACH,
                msg,
                ..
            }) => {
                let what = match lookup {
                    Lookup::Addr(a) => a.to_string(),
                    Lookup::Exact(p) => format!("of exactly {p}"),
                };
                return Err(Fail::new(format!(
                    "no route {what} in fib {fib}{}",
                    msg.filter(|m| m != "no route")
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                )));
            }
            Err(e) => return Err(Fail::new(error_text(&e, CGL_FIB_CMD_GETROUTE))),
        };
        let m = r
            .first()
            .ok_or_else(|| Fail::new("the kernel sent no route"))?;
        let ri = RouteInfo::decode(&m.attrs)?;
        let fib = ri.fib.unwrap_or(fib);
        if self.json {
            out_json(
                &get_json(lookup, fib, &ri.route, &mut self.names),
                self.pretty,
            )
        } else {
            out(&(get_line(lookup, fib, &ri.route, &mut self.names) + "\n"))
        }
    }

    /// `route show`: streamed, not held in memory (a FIB may hold a
    /// million routes), except for pretty JSON.
    fn show(&mut self, fib: u32, af: Option<Af>) -> Result<(), Fail> {
        let (json, pretty) = (self.json, self.pretty);
        let names = &mut self.names;
        let mut buf = String::new();
        let mut all = Vec::new();
        let mut first = true;
        if json && !pretty {
            buf.push('[');
        }
        self.sock
            .request_each::<ShowErr>(
                self.fam.id,
                CGL_FIB_GENL_VERSION,
                CGL_FIB_CMD_GETROUTE,
                &show_attrs(fib, af),
                libc::NLM_F_DUMP as u16,
                |m| {
                    let ri = RouteInfo::decode(&m.attrs)?;
                    if json {
                        let v = route_json(Some(ri.fib.unwrap_or(fib)), &ri.route, names);
                        if pretty {
                            all.push(v);
                            return Ok(());
                        }
                        if !first {
                            buf.push(',');
                        }
                        first = false;
                        buf.push_str(&v.to_string());
                    } else {
                        buf.push_str(&route_line(&ri.route, names));
                        buf.push('\n');
                    }
                    if buf.len() >= OUT_CHUNK {
                        out(&buf).map_err(ShowErr::Fail)?;
                        buf.clear();
                    }
                    Ok(())
                },
            )
            .map_err(|e| match e {
                ShowErr::Genl(e) => Fail::new(error_text(&e, CGL_FIB_CMD_GETROUTE)),
                ShowErr::Fail(f) => f,
            })?;
        if json && pretty {
            return out_json(&Value::Array(all), true);
        }
        if json {
            buf.push_str("]\n");
        }
        out(&buf)
    }

    /// Adds `routes` (all of one family) to FIB `fib` in one message: one
    /// route as `route add` sends it, more as a BATCH. On an error, the
    /// index of the failing route if the kernel says.
    pub fn add_routes(
        &mut self,
        fib: u32,
        replace: bool,
        routes: &[Route],
    ) -> Result<(), BatchFail> {
        if let [r] = routes {
            return self
                .request(CGL_FIB_CMD_NEWROUTE, &route_attrs(fib, r, replace))
                .map(drop)
                .map_err(|fail| BatchFail {
                    index: Some(0),
                    fail,
                });
        }
        encode_batch(&mut self.msg, fib, replace, routes, &mut self.offsets).map_err(|e| {
            BatchFail {
                index: None,
                fail: e.into(),
            }
        })?;
        let mut done = None;
        let r = self
            .sock
            .request_raw::<genl::Error>(self.fam.id, &mut self.msg, 0, |m| {
                if let Some(d) = m.attrs.u32(CGL_FIB_A_DONE)? {
                    done = Some(d);
                }
                Ok(())
            });
        match r {
            Ok(()) => match done {
                Some(d) if (d as usize) < routes.len() => Err(BatchFail {
                    index: Some(d as usize),
                    fail: Fail::new(format!(
                        "the kernel applied only {d} of {} routes of a batch",
                        routes.len()
                    )),
                }),
                _ => Ok(()),
            },
            Err(e) => {
                let index = batch_index(&e, &self.offsets);
                let e = match e {
                    genl::Error::Kernel {
                        errno,
                        msg: Some(m),
                        offset,
                    } if index.is_some() => genl::Error::Kernel {
                        errno,
                        msg: Some(strip_batch_prefix(&m).to_string()),
                        offset,
                    },
                    e => e,
                };
                let mut fail = Fail::new(error_text(&e, CGL_FIB_CMD_NEWROUTE));
                // The kernel took the whole batch back: the routes before
                // the failing one go again, so that every line before the
                // one named takes effect, as with `ip -batch`.
                if let Some(i) = index.filter(|&i| i > 0 && i < routes.len()) {
                    if let Err(again) = self.add_routes(fib, replace, &routes[..i]) {
                        fail.msg = format!(
                            "{}; the routes before it were not applied again: {}",
                            fail.msg, again.fail.msg
                        );
                    }
                }
                Err(BatchFail { index, fail })
            }
        }
    }
}

/// Runs a `fib` subcommand: its words are checked (and devices resolved)
/// before the kernel is asked anything.
pub fn run_fib(cli: &Cli, c: &FibCmd) -> Result<(), Fail> {
    let op = FibOp::from_cmd(c, &mut IfNames::system()).map_err(usage_fail)?;
    Session::open(cli.json, cli.pretty)?.fib(&op)
}

/// A usage error (exit 2).
pub(crate) fn usage_fail(msg: String) -> Fail {
    Fail { msg, code: 2 }
}

/// Runs a `route` subcommand: its words are checked before the kernel is
/// asked anything.
pub fn run_route(cli: &Cli, c: &RouteCmd) -> Result<(), Fail> {
    let (verb, w) = match c {
        RouteCmd::Add(w) => (Verb::Add, w),
        RouteCmd::Replace(w) => (Verb::Replace, w),
        RouteCmd::Del(w) => (Verb::Del, w),
        RouteCmd::Get(w) => (Verb::Get, w),
        RouteCmd::Show(w) => (Verb::Show, w),
    };
    let words: Vec<&str> = w.words.iter().map(String::as_str).collect();
    let op = parse_route(verb, &words, cli_af(cli), &mut IfNames::system()).map_err(usage_fail)?;
    Session::open(cli.json, cli.pretty)?.route(&op)
}

// ---------------------------------------------------------------------
// Batches.
// ---------------------------------------------------------------------

/// A command of a batch that is not a `route add`/`replace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchCmd {
    /// A `fib` command.
    Fib(FibOp),
    /// A `route` command other than add and replace.
    Route(RouteOp),
    /// A `neigh` command.
    Neigh(NeighOp),
    /// Any other cgl-ctl command, split into words.
    Other(Vec<String>),
}

/// Where a batch goes: the kernel ([`LiveSink`]) or a test double.
pub trait Sink {
    /// Adds `routes` (all of one family) to FIB `fib` in one message.
    fn add_routes(&mut self, fib: u32, replace: bool, routes: &[Route]) -> Result<(), BatchFail>;
    /// Runs any other command.
    fn command(&mut self, cmd: BatchCmd) -> Result<(), Fail>;
    /// Sends `routes`, read from lines `lines` of batch `name`, and empties
    /// both vectors. Returns how many routes took effect (or were handed on)
    /// and the error, which names its line. The default sends them at once
    /// through [`Sink::add_routes`]; a sink may instead queue them and
    /// report a failure at a later call or at [`Sink::finish`].
    fn send_routes(
        &mut self,
        name: &str,
        key: (u32, bool),
        routes: &mut Vec<Route>,
        lines: &mut Vec<usize>,
    ) -> (usize, Result<(), Fail>) {
        let r = self.add_routes(key.0, key.1, routes);
        settle(name, routes, lines, r)
    }
    /// Waits until every route sent has taken effect; the first failure,
    /// if any. The default has nothing queued.
    fn finish(&mut self) -> Result<(), Fail> {
        Ok(())
    }
}

/// [`batch_outcome`] of the answer `r` to `routes` of lines `lines`,
/// which it empties.
fn settle(
    name: &str,
    routes: &mut Vec<Route>,
    lines: &mut Vec<usize>,
    r: Result<(), BatchFail>,
) -> (usize, Result<(), Fail>) {
    let out = batch_outcome(name, lines, r);
    routes.clear();
    lines.clear();
    out
}

/// What the answer `r` to one message of the routes of lines `lines`
/// (batch `name`) means: how many routes took effect, and the error,
/// which names the failing route's line.
fn batch_outcome(
    name: &str,
    lines: &[usize],
    r: Result<(), BatchFail>,
) -> (usize, Result<(), Fail>) {
    let n = lines.len();
    match r {
        Ok(()) => (n, Ok(())),
        Err(BatchFail {
            index: Some(i),
            fail,
        }) if i < n => (
            i,
            Err(Fail::new(format!(
                "{name}:{}: {}",
                lines.get(i).copied().unwrap_or(0),
                fail.msg
            ))),
        ),
        Err(BatchFail { fail, .. }) => {
            let first = lines.first().copied().unwrap_or(0);
            let last = lines.last().copied().unwrap_or(0);
            (
                0,
                Err(Fail::new(format!(
                    "{name}:{first}: {} (in the batch of lines {first}-{last}; the kernel did not say which failed)",
                    fail.msg
                ))),
            )
        }
    }
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Commands run (lines that were not blank or comments).
    pub commands: usize,
    /// Routes added or replaced.
    pub routes: usize,
    /// Messages the routes went in.
    pub messages: usize,
}

/// Routes waiting to go in one message: same FIB, family and verb.
struct Pending {
    key: Option<(u32, Af, bool)>,
    routes: Vec<Route>,
    lines: Vec<usize>,
    /// Bytes of the BATCH nest so far, header included.
    bytes: usize,
}

impl Pending {
    /// Sends the routes waiting, if any. Errors name the line of the
    /// failing route.
    fn flush<S: Sink>(
        &mut self,
        sink: &mut S,
        name: &str,
        st: &mut BatchStats,
    ) -> Result<(), Fail> {
        let Some((fib, _, replace)) = self.key.take() else {
            return Ok(());
        };
        st.messages += 1;
        self.bytes = 4;
        let (n, r) = sink.send_routes(name, (fib, replace), &mut self.routes, &mut self.lines);
        st.routes += n;
        r
    }

    /// Queues route `r` of line `line`, sending the routes waiting first
    /// if `r` cannot join them.
    fn push<S: Sink>(
        &mut self,
        key: (u32, Af, bool),
        r: Route,
        line: usize,
        sink: &mut S,
        name: &str,
        st: &mut BatchStats,
    ) -> Result<(), Fail> {
        let n = route_nest_len(&r);
        if self.key.is_some()
            && (self.key != Some(key)
                || self.routes.len() >= CGL_FIB_BATCH_MAX
                || self.bytes + n > NLA_MAX_LEN)
        {
            self.flush(sink, name, st)?;
        }
        self.key = Some(key);
        self.routes.push(r);
        self.lines.push(line);
        self.bytes += n;
        Ok(())
    }
}

/// Splits a line into words as a shell would: `'...'`, `"..."` (with `\"`
/// and `\\`), `\` escapes, `#` at the start of a word begins a comment.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut it = line.chars();
    while let Some(c) = it.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '#' if cur.is_none() => break,
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match it.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unterminated '".into()),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some('\\') => match it.next() {
                            Some(c @ ('"' | '\\')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unterminated \"".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unterminated \"".into()),
                    }
                }
            }
            '\\' => match it.next() {
                Some(c) => cur.get_or_insert_with(String::new).push(c),
                None => return Err("'\\' at the end of the line".into()),
            },
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    Ok(words)
}

/// Runs the batch `text` (named `name` in errors) through `sink`. `af` is
/// the global `-4`/`-6`. The first error stops it, as `NAME:LINE: msg`.
pub fn run_lines<S: Sink>(
    name: &str,
    text: &str,
    af: Option<Af>,
    names: &mut IfNames,
    sink: &mut S,
) -> Result<BatchStats, Fail> {
    let mut st = BatchStats::default();
    let mut pending = Pending {
        key: None,
        routes: Vec::with_capacity(CGL_FIB_BATCH_MAX),
        lines: Vec::with_capacity(CGL_FIB_BATCH_MAX),
        bytes: 4,
    };
    // The words of a line borrow from `text`, so one vector serves all.
    let mut words: Vec<&str> = Vec::with_capacity(16);
    for (i, line) in text.lines().enumerate() {
        let no = i + 1;
        words.clear();
        words.extend(
            line.split_ascii_whitespace()
                .take_while(|w| !w.starts_with('#')),
        );
        if words.is_empty() {
            continue;
        }
        st.commands += 1;
        let at = |m: String| Fail::new(format!("{name}:{no}: {m}"));
        let cmd = match words[..] {
            ["route", verb, ..] => {
                let verb = Verb::from_word(verb).ok_or_else(|| {
                    format!("unknown route command '{verb}' (add, replace, del, get, show)")
                });
                match verb.and_then(|v| parse_route(v, &words[2..], af, names)) {
                    Ok(RouteOp::Add {
                        fib,
                        route,
                        replace,
                    }) => {
                        let key = (fib, route.prefix.af(), replace);
                        pending.push(key, route, no, sink, name, &mut st)?;
                        continue;
                    }
                    Ok(op) => Ok(BatchCmd::Route(op)),
                    Err(e) => Err(e),
                }
            }
            ["route"] => Err("missing the route command (add, replace, del, get, show)".into()),
            ["fib", ..] => parse_fib(&words[1..], names).map(BatchCmd::Fib),
            ["neigh", verb, ..] => neigh::verb(verb)
                .and_then(|v| neigh::parse_neigh(v, &words[2..], af, names))
                .map(BatchCmd::Neigh),
            ["neigh"] => Err("missing the neigh command (add, replace, del, show)".into()),
            _ => split_words(line).map(BatchCmd::Other),
        };
        // Whatever comes next, the routes before it go first, and their
        // failure is the one reported.
        pending.flush(sink, name, &mut st)?;
        sink.finish()?;
        sink.command(cmd.map_err(at)?)
            .map_err(|f| Fail::new(format!("{name}:{no}: {}", f.msg)))?;
    }
    pending.flush(sink, name, &mut st)?;
    sink.finish()?;
    Ok(st)
}

/// The sink of a real batch: one [`Session`] for commands, opened at the
/// first command that needs it, and a [`Pipe`] for routes.
pub struct LiveSink<'c> {
    cli: &'c Cli,
    session: Option<Session>,
    pipe: Option<Pipe>,
}

/// One message's worth of routes on its way to the [`Pipe`]'s thread.
struct Job {
    fib: u32,
    replace: bool,
    routes: Vec<Route>,
    lines: Vec<usize>,
}

/// Route messages sent from a thread of their own, so that the next
/// message is parsed while the kernel applies the last: a batch load then
/// takes as long as the longer of the two instead of their sum. The
/// channel holds one message, so at most two are ahead of the parser; the
/// thread stops at the first failure, and nothing queued after it is sent.
struct Pipe {
    jobs: Option<SyncSender<Job>>,
    /// Emptied vectors coming back for reuse.
    spare: Receiver<Job>,
    failed: Receiver<Fail>,
    thread: Option<JoinHandle<()>>,
}

impl Pipe {
    /// Starts the thread, which sends each message with `send` (a
    /// [`Session::add_routes`] of its own socket) and names failures as
    /// lines of batch `name`.
    fn start<F>(name: &str, mut send: F) -> Result<Self, Fail>
    where
        F: FnMut(u32, bool, &[Route]) -> Result<(), BatchFail> + Send + 'static,
    {
        let (jobs, rx) = sync_channel::<Job>(1);
        let (spare_tx, spare) = channel();
        let (fail_tx, failed) = channel();
        let name = name.to_string();
        let thread = std::thread::Builder::new()
            .name("cgl-ctl-batch".into())
            .spawn(move || {
                for mut job in rx {
                    let r = send(job.fib, job.replace, &job.routes);
                    if let (_, Err(f)) = batch_outcome(&name, &job.lines, r) {
                        let _ = fail_tx.send(f);
                        return;
                    }
                    job.routes.clear();
                    job.lines.clear();
                    let _ = spare_tx.send(job);
                }
            })
            .map_err(|e| Fail::new(format!("cannot start the batch thread: {e}")))?;
        Ok(Pipe {
            jobs: Some(jobs),
            spare,
            failed,
            thread: Some(thread),
        })
    }

    /// Queues `routes` of lines `lines` for FIB `key.0` (`key.1`:
    /// replace), leaving both vectors empty. An error is the failure the
    /// thread stopped at, before or while this waited for room; the pipe
    /// is finished then.
    fn queue(
        &mut self,
        key: (u32, bool),
        routes: &mut Vec<Route>,
        lines: &mut Vec<usize>,
    ) -> Result<(), Fail> {
        if let Ok(f) = self.failed.try_recv() {
            let _ = self.finish();
            return Err(f);
        }
        let Some(jobs) = &self.jobs else {
            return Err(Fail::new("the batch thread has stopped"));
        };
        let (r, l) = match self.spare.try_recv() {
            Ok(j) => (j.routes, j.lines),
            Err(_) => (
                Vec::with_capacity(CGL_FIB_BATCH_MAX),
                Vec::with_capacity(CGL_FIB_BATCH_MAX),
            ),
        };
        let job = Job {
            fib: key.0,
            replace: key.1,
            routes: std::mem::replace(routes, r),
            lines: std::mem::replace(lines, l),
        };
        if jobs.send(job).is_err() {
            // The thread stopped at a failure while this waited.
            return self
                .finish()
                .and(Err(Fail::new("the batch thread has stopped")));
        }
        Ok(())
    }

    /// Waits for the thread to send what is queued; its failure, if any.
    fn finish(&mut self) -> Result<(), Fail> {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                return Err(Fail::new("the batch thread failed"));
            }
        }
        match self.failed.try_recv() {
            Ok(f) => Err(f),
            Err(_) => Ok(()),
        }
    }
}

impl LiveSink<'_> {
    fn session(&mut self) -> Result<&mut Session, Fail> {
        if self.session.is_none() {
            self.session = Some(Session::open(self.cli.json, self.cli.pretty)?);
        }
        Ok(self.session.as_mut().expect("opened"))
    }
}

impl Sink for LiveSink<'_> {
    fn add_routes(&mut self, fib: u32, replace: bool, routes: &[Route]) -> Result<(), BatchFail> {
        self.session()
            // No session: the first line of the batch stands for it.
            .map_err(|fail| BatchFail {
                index: Some(0),
                fail,
            })?
            .add_routes(fib, replace, routes)
    }

    fn send_routes(
        &mut self,
        name: &str,
        key: (u32, bool),
        routes: &mut Vec<Route>,
        lines: &mut Vec<usize>,
    ) -> (usize, Result<(), Fail>) {
        let n = routes.len();
        if self.pipe.is_none() {
            // The thread's own socket; without one, the first line of
            // these routes stands for the failure.
            let started = Session::open(self.cli.json, self.cli.pretty).and_then(|mut s| {
                Pipe::start(name, move |fib, replace, routes: &[Route]| {
                    s.add_routes(fib, replace, routes)
                })
            });
            match started {
                Ok(p) => self.pipe = Some(p),
                Err(fail) => {
                    let r = Err(BatchFail {
                        index: Some(0),
                        fail,
                    });
                    return settle(name, routes, lines, r);
                }
            }
        }
        let Some(pipe) = self.pipe.as_mut() else {
            return (0, Err(Fail::new("no batch thread")));
        };
        match pipe.queue(key, routes, lines) {
            Ok(()) => (n, Ok(())),
            Err(f) => {
                self.pipe = None;
                (0, Err(f))
            }
        }
    }

    fn finish(&mut self) -> Result<(), Fail> {
        self.pipe.take().map_or(Ok(()), |mut p| p.finish())
    }

    fn command(&mut self, cmd: BatchCmd) -> Result<(), Fail> {
        match cmd {
            BatchCmd::Fib(c) => self.session()?.fib(&c),
            BatchCmd::Route(op) => self.session()?.route(&op),
            BatchCmd::Neigh(op) => self.session()?.neigh(&op),
            BatchCmd::Other(words) => {
                let mut sub = <Cli as clap::Parser>::try_parse_from(
                    std::iter::once("cgl-ctl".to_string()).chain(words),
                )
                .map_err(|e| {
                    let s = e.render().to_string();
                    let s = s.strip_prefix("error: ").unwrap_or(&s);
                    Fail::new(s.lines().next().unwrap_or("bad command").to_string())
                })?;
                if sub.batch.is_some() {
                    return Err(Fail::new("no --batch inside a batch"));
                }
                if sub.cmd.is_none() {
                    return Err(Fail::new("no command"));
                }
                sub.json |= self.cli.json;
                sub.pretty |= self.cli.pretty;
                if !sub.ipv4 && !sub.ipv6 {
                    sub.ipv4 = self.cli.ipv4;
                    sub.ipv6 = self.cli.ipv6;
                }
                crate::dispatch(&sub)
            }
        }
    }
}

/// Runs the batch file `path` (`-`: standard input).
pub fn run_batch(cli: &Cli, path: &Path) -> Result<(), Fail> {
    let (name, bytes) = if path == Path::new("-") {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .map_err(|e| Fail::new(format!("standard input: {e}")))?;
        ("<stdin>".to_string(), v)
    } else {
        let v = std::fs::read(path).map_err(|e| {
            let why = e.raw_os_error().map_or(e.to_string(), genl::strerror);
            Fail::new(format!("{}: {why}", path.display()))
        })?;
        (path.display().to_string(), v)
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let bad = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..bad].iter().filter(|&&b| b == b'\n').count() + 1;
        Fail::new(format!("{name}:{line}: not UTF-8"))
    })?;
    let mut sink = LiveSink {
        cli,
        session: None,
        pipe: None,
    };
    let r = run_lines(&name, &text, cli_af(cli), &mut IfNames::system(), &mut sink);
    // run_lines waits for the routes it sent unless it stopped at an
    // error; then the message in flight is still waited for.
    let done = sink.finish();
    r.and(done).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Cursor;

    use neli::genl::Genlmsghdr;
    use neli::nl::{NlPayload, Nlmsghdr};
    use neli::types::Buffer;
    use neli::FromBytes;

    fn fake_index(n: &str) -> Option<u32> {
        match n {
            "lo" => Some(1),
            "eth0" => Some(2),
            "eth1" => Some(3),
            _ => None,
        }
    }

    fn fake_name(i: u32) -> Option<String> {
        match i {
            1 => Some("lo".into()),
            2 => Some("eth0".into()),
            3 => Some("eth1".into()),
            _ => None,
        }
    }

    fn names() -> IfNames {
        IfNames::with(fake_index, fake_name)
    }

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    fn pfx(a: IpAddr, len: u8) -> Prefix {
        Prefix { addr: a, len }
    }

    /// Parses `line` (the words after `route VERB`).
    fn route(verb: Verb, line: &str) -> Result<RouteOp, String> {
        route_af(verb, line, None)
    }

    fn route_af(verb: Verb, line: &str, af: Option<Af>) -> Result<RouteOp, String> {
        let w: Vec<&str> = line.split_whitespace().collect();
        parse_route(verb, &w, af, &mut names())
    }

    fn added(line: &str) -> (u32, Route) {
        match route(Verb::Add, line).unwrap() {
            RouteOp::Add {
                fib,
                route,
                replace: false,
            } => (fib, route),
            op => panic!("{op:?}"),
        }
    }

    fn err(verb: Verb, line: &str) -> String {
        route(verb, line).unwrap_err()
    }

    // -----------------------------------------------------------------
    // Parsing.
    // -----------------------------------------------------------------

    #[test]
    fn prefixes() {
        let p = |s: &str| parse_prefix(s, None).unwrap();
        assert_eq!(p("10.0.0.0/8"), pfx(v4("10.0.0.0"), 8));
        assert_eq!(p("10/8"), pfx(v4("10.0.0.0"), 8));
        assert_eq!(p("172.16/12"), pfx(v4("172.16.0.0"), 12));
        assert_eq!(p("192.0.2.7"), pfx(v4("192.0.2.7"), 32));
        assert_eq!(p("0.0.0.0/0"), pfx(v4("0.0.0.0"), 0));
        assert_eq!(p("default"), pfx(v4("0.0.0.0"), 0));
        assert_eq!(
            parse_prefix("default", Some(Af::V6)).unwrap(),
            pfx(v6("::"), 0)
        );
        assert_eq!(p("2001:db8::/32"), pfx(v6("2001:db8::"), 32));
        assert_eq!(p("2001:db8::1"), pfx(v6("2001:db8::1"), 128));
        assert_eq!(p("::/0"), pfx(v6("::"), 0));
        assert_eq!(p("10.0.0.0/08"), pfx(v4("10.0.0.0"), 8));
        // The family of a literal wins over the hint (checked by callers).
        assert_eq!(
            parse_prefix("10.0.0.0/8", Some(Af::V6)).unwrap().af(),
            Af::V4
        );
    }

    #[test]
    fn bad_prefixes() {
        let e = |s: &str| parse_prefix(s, None).unwrap_err();
        assert_eq!(
            e("10.0.0.1/8"),
            "host bits set in 10.0.0.1/8, did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            e("2001:db8::1/32"),
            "host bits set in 2001:db8::1/32, did you mean 2001:db8::/32?"
        );
        assert_eq!(
            e("192.0.2.1/0"),
            "host bits set in 192.0.2.1/0, did you mean 0.0.0.0/0?"
        );
        assert_eq!(
            e("10.0.0.0/33"),
            "prefix length 33 out of range 0-32 in '10.0.0.0/33'"
        );
        assert_eq!(
            e("::/129"),
            "prefix length 129 out of range 0-128 in '::/129'"
        );
        assert_eq!(
            e("10.0.0.0/"),
            "missing prefix length after '/' in '10.0.0.0/'"
        );
        assert_eq!(e("10.0.0.0/x"), "bad prefix length 'x' in '10.0.0.0/x'");
        assert_eq!(e("10.0.0.0/-1"), "bad prefix length '-1' in '10.0.0.0/-1'");
        assert_eq!(
            e("10.0.0.0/1234"),
            "bad prefix length '1234' in '10.0.0.0/1234'"
        );
        assert_eq!(
            e("10.0.0.0/255.0.0.0"),
            "bad prefix length '255.0.0.0' in '10.0.0.0/255.0.0.0'"
        );
        for s in [
            "",
            "10",
            "10.1",
            "256.0.0.0/8",
            "10.0.0.0.0/8",
            "1.2.3.4.5",
            "010/8",
            "10..0/8",
            "fe80::1%eth0",
            "2001:db8::g/32",
            "eth0",
            "defaults",
            "1.2.3.4/8/8",
        ] {
            assert!(
                e(s).contains("is not a prefix") || e(s).contains("prefix length"),
                "{s}: {}",
                e(s)
            );
        }
    }

    #[test]
    fn fib_ids() {
        assert_eq!(parse_fib_id("0"), Ok(0));
        assert_eq!(parse_fib_id("7"), Ok(7));
        assert_eq!(parse_fib_id("4294967294"), Ok(4_294_967_294));
        assert_eq!(
            parse_fib_id("4294967295").unwrap_err(),
            "FIB id 4294967295 is reserved (CGL_FIB_ID_INVALID)"
        );
        assert_eq!(
            parse_fib_id("4294967296").unwrap_err(),
            "FIB id 4294967296 out of range 0-4294967294"
        );
        for s in ["", "-1", "+1", "0x10", "ten", "1 "] {
            assert_eq!(
                parse_fib_id(s).unwrap_err(),
                format!("'{s}' is not a FIB id (0-4294967294)")
            );
        }
    }

    #[test]
    fn route_add_forms() {
        assert_eq!(
            added("10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5 fib 7"),
            (
                7,
                Route {
                    prefix: pfx(v4("10.0.0.0"), 8),
                    rtype: RType::Unicast,
                    gateway: Some(v4("192.0.2.1")),
                    oif: Some(2),
                    metric: Some(5),
                }
            )
        );
        // Any order, aliases, "to", "table", "oif", "preference".
        assert_eq!(
            added("table 7 preference 5 oif eth0 via 192.0.2.1 to 10.0.0.0/8"),
            added("10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5 fib 7")
        );
        let (_, r) = added("blackhole 192.0.2.0/24 fib 1");
        assert_eq!((r.rtype, r.gateway, r.oif), (RType::Blackhole, None, None));
        assert_eq!(
            added("unreachable 10.0.0.0/8 fib 1").1.rtype,
            RType::Unreachable
        );
        assert_eq!(
            added("prohibit 10.0.0.0/8 metric 3 fib 1").1.rtype,
            RType::Prohibit
        );
        assert_eq!(added("unicast 10.0.0.0/8 dev lo fib 1").1.oif, Some(1));
        // Host routes.
        assert_eq!(
            added("192.0.2.9 dev eth1 fib 0").1.prefix,
            pfx(v4("192.0.2.9"), 32)
        );
        assert_eq!(
            added("2001:db8::9 dev eth1 fib 0").1.prefix,
            pfx(v6("2001:db8::9"), 128)
        );
        // default: IPv4, or IPv6 by -6 (global or among the words) or by
        // the gateway.
        assert_eq!(
            added("default via 192.0.2.1 fib 1").1.prefix,
            pfx(v4("0.0.0.0"), 0)
        );
        assert_eq!(
            added("default via 2001:db8::1 fib 1").1.prefix,
            pfx(v6("::"), 0)
        );
        assert_eq!(
            added("-6 default dev eth0 fib 1").1.prefix,
            pfx(v6("::"), 0)
        );
        match route_af(Verb::Add, "default dev eth0 fib 1", Some(Af::V6)).unwrap() {
            RouteOp::Add { route, .. } => assert_eq!(route.prefix, pfx(v6("::"), 0)),
            op => panic!("{op:?}"),
        }
        // The words' -4 wins over the global -6.
        assert!(route_af(Verb::Add, "-4 default dev eth0 fib 1", Some(Af::V6)).is_ok());
        assert_eq!(
            added("10.0.0.0/8 via inet 192.0.2.1 fib 1").1.gateway,
            Some(v4("192.0.2.1"))
        );
        assert_eq!(
            added("2001:db8::/32 via inet6 fe80::1 dev eth0 fib 1")
                .1
                .gateway,
            Some(v6("fe80::1"))
        );
        match route(Verb::Replace, "10.0.0.0/8 dev eth0 fib 3").unwrap() {
            RouteOp::Add {
                fib: 3,
                replace: true,
                ..
            } => {}
            op => panic!("{op:?}"),
        }
    }

    #[test]
    fn route_add_refusals() {
        let cases = [
            ("10.0.0.1/8 via 192.0.2.1 fib 1", "host bits set in 10.0.0.1/8, did you mean 10.0.0.0/8?"),
            ("10.0.0.0/8 via 192.0.2.1", "missing 'fib ID': route add [TYPE] PREFIX [via GW] [dev IFNAME] [metric N] fib ID"),
            ("via 192.0.2.1 fib 1", "missing the prefix: route add [TYPE] PREFIX [via GW] [dev IFNAME] [metric N] fib ID"),
            ("10.0.0.0/8 fib 1", "a unicast route needs 'via GW' and/or 'dev IFNAME' (10.0.0.0/8)"),
            ("blackhole 10.0.0.0/8 via 192.0.2.1 fib 1", "a blackhole route takes no 'via' (10.0.0.0/8)"),
            ("prohibit 10.0.0.0/8 dev eth0 fib 1", "a prohibit route takes no 'dev' (10.0.0.0/8)"),
            ("10.0.0.0/8 via 2001:db8::1 fib 1", "gateway 2001:db8::1 is IPv6 but the route 10.0.0.0/8 is IPv4"),
            ("2001:db8::/32 via 192.0.2.1 fib 1", "gateway 192.0.2.1 is IPv4 but the route 2001:db8::/32 is IPv6"),
            ("10.0.0.0/8 via inet6 192.0.2.1 fib 1", "gateway 192.0.2.1 is not an IPv6 address"),
            ("10.0.0.0/8 via 192.0.2.1/24 fib 1", "gateway '192.0.2.1/24' must be an address, without /LEN"),
            ("10.0.0.0/8 via gw1 fib 1", "'gw1' is not a gateway address"),
            ("10.0.0.0/8 via 0.0.0.0 fib 1", "gateway 0.0.0.0 is not a host address"),
            ("10.0.0.0/8 dev eth9 fib 1", "unknown device 'eth9'"),
            ("10.0.0.0/8 dev averyveryverylongname fib 1", "'averyveryverylongname' is not a device name"),
            ("10.0.0.0/8 dev a/b fib 1", "'a/b' is not a device name"),
            ("10.0.0.0/8 dev eth0 metric -1 fib 1", "'-1' is not a metric (0-4294967295)"),
            ("10.0.0.0/8 dev eth0 metric 4294967296 fib 1", "'4294967296' is not a metric (0-4294967295)"),
            ("10.0.0.0/8 dev eth0 fib x", "'x' is not a FIB id (0-4294967294)"),
            ("10.0.0.0/8 dev eth0 fib 1 fib 2", "'fib' given twice"),
            ("10.0.0.0/8 dev eth0 table 1 fib 2", "'fib' given twice"),
            ("10.0.0.0/8 dev eth0 oif eth1 fib 2", "'dev' given twice"),
            ("10.0.0.0/8 via 192.0.2.1 via 192.0.2.2 fib 2", "'via' given twice"),
            ("blackhole unreachable 10.0.0.0/8 fib 2", "route type given twice ('unreachable')"),
            ("10.0.0.0/8 11.0.0.0/8 dev eth0 fib 2", "unexpected '11.0.0.0/8'"),
            ("10.0.0.0/8 dev eth0 fib 2 proto static", "unexpected 'proto'"),
            ("10.0.0.0/8 dev eth0 fib", "'fib' needs an id"),
            ("10.0.0.0/8 dev", "'dev' needs a device name"),
            ("10.0.0.0/8 via", "'via' needs an address"),
            ("10.0.0.0/8 metric", "'metric' needs a number"),
            ("to", "'to' needs a prefix"),
            ("-6 10.0.0.0/8 dev eth0 fib 1", "10.0.0.0/8 is IPv4 but -6 was given"),
            ("-4 2001:db8::/32 dev eth0 fib 1", "2001:db8::/32 is IPv6 but -4 was given"),
            ("-4 -6 10.0.0.0/8 dev eth0 fib 1", "-4 and -6 given together"),
            ("-6 default via 192.0.2.1 fib 1", "gateway 192.0.2.1 is IPv4 but the route default is IPv6"),
            ("", "missing the prefix: route add [TYPE] PREFIX [via GW] [dev IFNAME] [metric N] fib ID"),
        ];
        for (line, want) in cases {
            assert_eq!(err(Verb::Add, line), want, "{line}");
        }
        assert_eq!(
            route_af(Verb::Add, "10.0.0.0/8 dev eth0 fib 1", Some(Af::V6)).unwrap_err(),
            "10.0.0.0/8 is IPv4 but -6 was given"
        );
    }

    #[test]
    fn route_del_get_show() {
        assert_eq!(
            route(Verb::Del, "10.0.0.0/8 fib 7").unwrap(),
            RouteOp::Del {
                fib: 7,
                prefix: pfx(v4("10.0.0.0"), 8)
            }
        );
        assert_eq!(
            route(Verb::Del, "-6 default table 7").unwrap(),
            RouteOp::Del {
                fib: 7,
                prefix: pfx(v6("::"), 0)
            }
        );
        assert_eq!(
            err(Verb::Del, "10.0.0.0/8 via 192.0.2.1 fib 7"),
            "route del takes PREFIX fib ID ('via' given)"
        );
        assert_eq!(
            err(Verb::Del, "blackhole 10.0.0.0/8 fib 7"),
            "route del takes PREFIX fib ID ('a route type' given)"
        );
        assert_eq!(
            err(Verb::Del, "10.0.0.1/8 fib 7"),
            "host bits set in 10.0.0.1/8, did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            err(Verb::Del, "fib 7"),
            "missing the prefix: route del PREFIX fib ID"
        );
        assert_eq!(
            err(Verb::Del, "10.0.0.0/8"),
            "missing 'fib ID': route del PREFIX fib ID"
        );

        assert_eq!(
            route(Verb::Get, "10.1.2.3 fib 7").unwrap(),
            RouteOp::Get {
                fib: 7,
                lookup: Lookup::Addr(v4("10.1.2.3"))
            }
        );
        assert_eq!(
            route(Verb::Get, "2001:db8::1 fib 7").unwrap(),
            RouteOp::Get {
                fib: 7,
                lookup: Lookup::Addr(v6("2001:db8::1"))
            }
        );
        assert_eq!(
            route(Verb::Get, "10.0.0.0/8 fib 7").unwrap(),
            RouteOp::Get {
                fib: 7,
                lookup: Lookup::Exact(pfx(v4("10.0.0.0"), 8))
            }
        );
        assert_eq!(
            route_af(Verb::Get, "default fib 7", Some(Af::V6)).unwrap(),
            RouteOp::Get {
                fib: 7,
                lookup: Lookup::Exact(pfx(v6("::"), 0))
            }
        );
        assert_eq!(
            err(Verb::Get, "10.1.2 fib 7"),
            "'10.1.2' is not an address (or PREFIX/LEN)"
        );
        assert_eq!(
            err(Verb::Get, "-6 10.1.2.3 fib 7"),
            "10.1.2.3 is IPv4 but -6 was given"
        );
        assert_eq!(
            err(Verb::Get, "10.1.2.3 dev eth0 fib 7"),
            "route get takes ADDR|PREFIX fib ID ('dev' given)"
        );
        assert_eq!(
            err(Verb::Get, "10.1.2.3"),
            "missing 'fib ID': route get ADDR|PREFIX fib ID"
        );

        assert_eq!(
            route(Verb::Show, "fib 7").unwrap(),
            RouteOp::Show { fib: 7, af: None }
        );
        assert_eq!(
            route(Verb::Show, "fib 7 -6").unwrap(),
            RouteOp::Show {
                fib: 7,
                af: Some(Af::V6)
            }
        );
        assert_eq!(
            route_af(Verb::Show, "table 7", Some(Af::V4)).unwrap(),
            RouteOp::Show {
                fib: 7,
                af: Some(Af::V4)
            }
        );
        assert_eq!(
            err(Verb::Show, "10.0.0.0/8 fib 7"),
            "route show takes fib ID [-4|-6] ('10.0.0.0/8' given; route get looks one prefix up)"
        );
        assert_eq!(
            err(Verb::Show, "fib 7 metric 3"),
            "route show takes fib ID [-4|-6] ('metric' given)"
        );
        assert_eq!(
            err(Verb::Show, ""),
            "missing 'fib ID': route show fib ID [-4|-6]"
        );
    }

    #[test]
    fn fib_words() {
        let f = |w: &[&str]| parse_fib(w, &mut names());
        assert_eq!(
            f(&["add", "7"]),
            Ok(FibOp::Add {
                id: 7,
                neigh_limit: None
            })
        );
        assert_eq!(
            f(&["mirror", "7", "table", "100"]),
            Ok(FibOp::Mirror { id: 7, table: 100 })
        );
        assert!(f(&["mirror", "7", "100"]).is_err());
        assert!(f(&["mirror", "7", "table", "x"]).is_err());
        assert_eq!(f(&["delete", "7"]), Ok(FibOp::Del(7)));
        assert_eq!(f(&["show", "0"]), Ok(FibOp::Show(0)));
        assert_eq!(f(&["ls"]), Ok(FibOp::List));
        assert_eq!(f(&["add"]).unwrap_err(), "missing the FIB id");
        assert_eq!(f(&["add", "1", "2"]).unwrap_err(), "unexpected '2'");
        assert_eq!(f(&["list", "1"]).unwrap_err(), "unexpected '1'");
        assert_eq!(
            f(&["flush"]).unwrap_err(),
            "unknown fib command 'flush' (add, del, set, list, show, mirror, bind, unbind, ports)"
        );
        assert_eq!(
            f(&[]).unwrap_err(),
            "missing the fib command (add, del, set, list, show, mirror, bind, unbind, ports)"
        );
        assert_eq!(
            f(&["add", "4294967295"]).unwrap_err(),
            "FIB id 4294967295 is reserved (CGL_FIB_ID_INVALID)"
        );
    }

    #[test]
    fn fib_neigh_limit_and_port_words() {
        let f = |w: &[&str]| parse_fib(w, &mut names());
        assert_eq!(
            f(&["add", "7", "neigh-limit", "100"]),
            Ok(FibOp::Add {
                id: 7,
                neigh_limit: Some(100)
            })
        );
        assert_eq!(
            f(&["set", "7", "neigh-limit", "4294967295"]),
            Ok(FibOp::Set {
                id: 7,
                neigh_limit: u32::MAX
            })
        );
        for (w, want) in [
            (
                &["set", "7"][..],
                "nothing to set: fib set ID neigh-limit N",
            ),
            (&["set"][..], "missing the FIB id"),
            (
                &["set", "x", "neigh-limit", "1"][..],
                "'x' is not a FIB id (0-4294967294)",
            ),
            (
                &["add", "7", "neigh-limit"][..],
                "'neigh-limit' needs a number",
            ),
            (
                &["add", "7", "neigh-limit", "-1"][..],
                "'-1' is not a neighbour limit (0-4294967295)",
            ),
            (
                &["set", "7", "neigh-limit", "+5"][..],
                "'+5' is not a neighbour limit (0-4294967295)",
            ),
            (
                &["set", "7", "neigh-limit", "4294967296"][..],
                "'4294967296' is not a neighbour limit (0-4294967295)",
            ),
            (
                &["set", "7", "neigh-limit", "1", "neigh-limit", "2"][..],
                "'neigh-limit' given twice",
            ),
            (&["set", "7", "limit", "2"][..], "unexpected 'limit'"),
        ] {
            assert_eq!(f(w).unwrap_err(), want, "{w:?}");
        }
        assert_eq!(
            f(&["bind", "dev", "eth0", "fib", "3", "addr", "10.0.0.1/24"]),
            Ok(FibOp::Bind(port::Bind {
                oif: 2,
                fib: 3,
                addrs: vec![port::parse_if_addr("10.0.0.1/24").unwrap()]
            }))
        );
        assert_eq!(f(&["unbind", "dev", "eth1"]), Ok(FibOp::Unbind(3)));
        assert_eq!(
            f(&["ports"]),
            Ok(FibOp::Ports {
                oif: None,
                fib: None
            })
        );
        assert_eq!(
            f(&["ports", "dev", "lo", "fib", "2"]),
            Ok(FibOp::Ports {
                oif: Some(1),
                fib: Some(2)
            })
        );
        assert_eq!(
            f(&["bind", "dev", "eth9", "fib", "3"]).unwrap_err(),
            "unknown device 'eth9'"
        );
        // The command line's clap form gives the same operations.
        let cmd = |w: &[&str]| {
            let v: Vec<String> = w.iter().map(|s| s.to_string()).collect();
            v
        };
        assert_eq!(
            FibOp::from_cmd(
                &FibCmd::Add(FibOpts {
                    id: 7,
                    words: cmd(&["neigh-limit", "100"])
                }),
                &mut names()
            ),
            f(&["add", "7", "neigh-limit", "100"])
        );
        assert_eq!(
            FibOp::from_cmd(
                &FibCmd::Set(FibOpts {
                    id: 7,
                    words: vec![]
                }),
                &mut names()
            )
            .unwrap_err(),
            "nothing to set: fib set ID neigh-limit N"
        );
        for w in [
            &["bind", "dev", "eth0", "fib", "3", "addr", "2001:db8::1/64"][..],
            &["unbind", "dev", "eth0"][..],
            &["ports", "fib", "3"][..],
        ] {
            let words = Words {
                words: cmd(&w[1..]),
            };
            let c = match w[0] {
                "bind" => FibCmd::Bind(words),
                "unbind" => FibCmd::Unbind(words),
                _ => FibCmd::Ports(words),
            };
            assert_eq!(FibOp::from_cmd(&c, &mut names()), f(w), "{w:?}");
        }
    }

    #[test]
    fn interface_cache() {
        let mut n = names();
        assert_eq!(n.index("eth0"), Ok(2));
        assert_eq!(n.index("eth0"), Ok(2));
        assert_eq!(n.name(3), "eth1");
        assert_eq!(n.name(99), "if99");
        assert_eq!(n.index("").unwrap_err(), "'' is not a device name");
        assert_eq!(n.index("a b").unwrap_err(), "'a b' is not a device name");
        assert_eq!(
            n.index("16charactername_").unwrap_err(),
            "'16charactername_' is not a device name"
        );
        // The system's: "lo" exists in every network namespace.
        let mut s = IfNames::system();
        if let Ok(i) = s.index("lo") {
            assert_eq!(s.name(i), "lo");
        }
        assert_eq!(
            s.index("nosuchdev0").unwrap_err(),
            "unknown device 'nosuchdev0'"
        );
    }

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(r#"events log --severity info "link down" 'a b' c\ d # note"#).unwrap(),
            [
                "events",
                "log",
                "--severity",
                "info",
                "link down",
                "a b",
                "c d"
            ]
        );
        assert_eq!(
            split_words(r#"x "a\"b\\c\n""#).unwrap(),
            ["x", "a\"b\\c\\n"]
        );
        assert_eq!(split_words("a#b").unwrap(), ["a#b"]);
        assert_eq!(split_words("''").unwrap(), [""]);
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
        assert!(split_words("end\\").is_err());
    }

    // -----------------------------------------------------------------
    // Encoding.
    // -----------------------------------------------------------------

    fn r4(p: &str, len: u8, gw: Option<&str>, oif: Option<u32>, metric: Option<u32>) -> Route {
        Route {
            prefix: pfx(v4(p), len),
            rtype: RType::Unicast,
            gateway: gw.map(v4),
            oif,
            metric,
        }
    }

    /// The batch thread sends in order, names the failing route's line,
    /// sends nothing after a failure, and reports it at the next queue or
    /// at the end.
    #[test]
    fn pipe_stops_at_the_first_failure() {
        use std::sync::{Arc, Mutex};
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&sent);
        let mut p = Pipe::start("b", move |fib, _, routes: &[Route]| {
            log.lock().unwrap().push((fib, routes.len()));
            if fib == 3 {
                return Err(BatchFail {
                    index: Some(1),
                    fail: Fail::new("route exists (use replace)"),
                });
            }
            Ok(())
        })
        .unwrap();
        let r = r4("10.0.0.0", 8, None, Some(2), None);
        let mut err = None;
        for fib in 1..=6u32 {
            let mut routes = vec![r, r];
            let mut lines = vec![fib as usize * 10, fib as usize * 10 + 1];
            if let Err(f) = p.queue((fib, false), &mut routes, &mut lines) {
                err = Some(f);
                break;
            }
            assert!(routes.is_empty() && lines.is_empty());
        }
        let err = match err {
            Some(e) => e,
            None => p.finish().unwrap_err(),
        };
        assert_eq!(err.msg, "b:31: route exists (use replace)");
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent, [(1, 2), (2, 2), (3, 2)]);
        // A pipe that saw no failure finishes cleanly, after sending all.
        let mut q = Pipe::start("b", |_, _, _: &[Route]| Ok(())).unwrap();
        let mut routes = vec![r];
        let mut lines = vec![1];
        q.queue((1, true), &mut routes, &mut lines).unwrap();
        q.finish().unwrap();
    }

    #[test]
    fn single_route_attributes() {
        let r = r4("10.0.0.0", 8, Some("192.0.2.1"), Some(2), Some(5));
        let a = AttrMap::parse(&route_attrs(7, &r, true).encode().unwrap()).unwrap();
        assert_eq!(a.u32(CGL_FIB_A_FIB_ID).unwrap(), Some(7));
        assert_eq!(a.u8(CGL_FIB_A_FAMILY).unwrap(), Some(libc::AF_INET as u8));
        assert_eq!(a.get(CGL_FIB_A_DST), Some(&[10, 0, 0, 0][..]));
        assert_eq!(a.u8(CGL_FIB_A_DST_LEN).unwrap(), Some(8));
        assert_eq!(a.get(CGL_FIB_A_GATEWAY), Some(&[192, 0, 2, 1][..]));
        assert_eq!(a.u32(CGL_FIB_A_OIF).unwrap(), Some(2));
        assert_eq!(a.u32(CGL_FIB_A_METRIC).unwrap(), Some(5));
        assert_eq!(a.get(CGL_FIB_A_REPLACE), Some(&[][..]));
        assert!(!a.has(CGL_FIB_A_TYPE), "unicast is the default, not sent");
        // A reply of the same attributes decodes to the same route.
        assert_eq!(
            RouteInfo::decode(&a).unwrap(),
            RouteInfo {
                fib: Some(7),
                route: r
            }
        );

        let b = Route {
            prefix: pfx(v6("2001:db8::"), 32),
            rtype: RType::Blackhole,
            gateway: None,
            oif: None,
            metric: None,
        };
        let a = AttrMap::parse(&route_attrs(1, &b, false).encode().unwrap()).unwrap();
        assert_eq!(a.u8(CGL_FIB_A_FAMILY).unwrap(), Some(libc::AF_INET6 as u8));
        assert_eq!(a.get(CGL_FIB_A_DST).unwrap().len(), 16);
        assert_eq!(a.u8(CGL_FIB_A_TYPE).unwrap(), Some(CGL_FIB_RT_BLACKHOLE));
        assert!(!a.has(CGL_FIB_A_REPLACE) && !a.has(CGL_FIB_A_GATEWAY));
        assert_eq!(RouteInfo::decode(&a).unwrap().route, b);

        let d = AttrMap::parse(&del_attrs(4, &b.prefix).encode().unwrap()).unwrap();
        assert_eq!(
            d.iter().map(|(t, _)| t).collect::<Vec<_>>(),
            [
                CGL_FIB_A_FIB_ID,
                CGL_FIB_A_FAMILY,
                CGL_FIB_A_DST,
                CGL_FIB_A_DST_LEN
            ]
        );
        let g = get_attrs(4, &Lookup::Addr(v4("10.1.2.3")));
        assert_eq!(g.get(CGL_FIB_A_ADDR), Some(&[10, 1, 2, 3][..]));
        assert!(!g.has(CGL_FIB_A_DST));
        let g = get_attrs(4, &Lookup::Exact(b.prefix));
        assert!(g.has(CGL_FIB_A_DST) && g.has(CGL_FIB_A_DST_LEN) && !g.has(CGL_FIB_A_ADDR));
        assert!(!show_attrs(4, None).has(CGL_FIB_A_FAMILY));
        assert_eq!(
            show_attrs(4, Some(Af::V6)).u8(CGL_FIB_A_FAMILY).unwrap(),
            Some(libc::AF_INET6 as u8)
        );
    }

    /// A NEWROUTE batch, decoded back by neli: the netlink and generic
    /// netlink headers, the top-level attributes, the nest flags, every
    /// route; and the recorded nest offsets point at the ROUTE nests.
    #[test]
    fn batch_round_trip_through_neli() {
        let routes = [
            r4("10.0.0.0", 8, Some("192.0.2.1"), Some(2), None),
            r4("10.1.0.0", 16, None, Some(3), Some(9)),
            Route {
                rtype: RType::Unreachable,
                ..r4("192.0.2.0", 24, None, None, None)
            },
        ];
        let mut msg = RawMsg::new();
        let mut offsets = Vec::new();
        encode_batch(&mut msg, 42, true, &routes, &mut offsets).unwrap();
        let bytes = msg.finished(0x1234, libc::NLM_F_ACK as u16, 9, 77);
        assert_eq!(bytes.len() % 4, 0);

        let nl =
            Nlmsghdr::<u16, Genlmsghdr<u8, u16>>::from_bytes(&mut Cursor::new(&bytes[..])).unwrap();
        assert_eq!(*nl.nl_type(), 0x1234);
        assert_eq!(*nl.nl_seq(), 9);
        assert_eq!(*nl.nl_pid(), 77);
        assert_eq!(*nl.nl_len() as usize, bytes.len());
        let flags: u16 = (*nl.nl_flags()).into();
        assert_eq!(
            flags,
            (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16,
            "{flags:#x}"
        );
        let NlPayload::Payload(g) = nl.nl_payload() else {
            panic!("{:?}", nl.nl_payload());
        };
        assert_eq!(*g.cmd(), CGL_FIB_CMD_NEWROUTE);
        assert_eq!(*g.version(), CGL_FIB_GENL_VERSION);
        let h = g.attrs().get_attr_handle();
        assert_eq!(h.get_attr_payload_as::<u32>(CGL_FIB_A_FIB_ID).unwrap(), 42);
        assert_eq!(
            h.get_attr_payload_as::<u8>(CGL_FIB_A_FAMILY).unwrap(),
            libc::AF_INET as u8
        );
        assert!(h.get_attribute(CGL_FIB_A_REPLACE).is_some());
        let batch = h.get_attribute(CGL_FIB_A_BATCH).unwrap();
        assert!(*batch.nla_type().nla_nested(), "BATCH needs NLA_F_NESTED");
        let items = batch.get_attr_handle::<u16>().unwrap();
        let items: Vec<_> = items.get_attrs().iter().collect();
        assert_eq!(items.len(), routes.len());
        for (i, (item, want)) in items.iter().zip(&routes).enumerate() {
            assert_eq!(*item.nla_type().nla_type(), CGL_FIB_A_ROUTE);
            assert!(*item.nla_type().nla_nested());
            assert_eq!(*item.nla_len() as usize, route_nest_len(want), "route {i}");
            let r = item.get_attr_handle::<u16>().unwrap();
            let dst: Buffer = r
                .get_attr_payload_as_with_len::<Buffer>(CGL_FIB_A_DST)
                .unwrap();
            assert_eq!(
                dst.as_ref(),
                &match want.prefix.addr {
                    IpAddr::V4(a) => a.octets(),
                    IpAddr::V6(_) => unreachable!(),
                }[..]
            );
            assert_eq!(
                r.get_attr_payload_as::<u8>(CGL_FIB_A_DST_LEN).unwrap(),
                want.prefix.len
            );
            assert_eq!(r.get_attr_payload_as::<u32>(CGL_FIB_A_OIF).ok(), want.oif);
            assert_eq!(
                r.get_attr_payload_as::<u32>(CGL_FIB_A_METRIC).ok(),
                want.metric
            );
            assert_eq!(
                r.get_attr_payload_as::<u8>(CGL_FIB_A_TYPE).ok(),
                (want.rtype != RType::Unicast).then(|| want.rtype.to_u8())
            );
            assert_eq!(
                r.get_attribute(CGL_FIB_A_GATEWAY).is_some(),
                want.gateway.is_some()
            );
            // The recorded offset is where this nest's header is.
            let o = offsets[i];
            assert_eq!(
                u16::from_ne_bytes([bytes[o + 2], bytes[o + 3]]),
                CGL_FIB_A_ROUTE | genl::NLA_F_NESTED
            );
            assert_eq!(
                usize::from(u16::from_ne_bytes([bytes[o], bytes[o + 1]])),
                route_nest_len(want)
            );
            // And our own decoder agrees with neli.
            let mine = AttrMap::parse(&bytes[o + 4..o + route_nest_len(want)]).unwrap();
            let mut with_family = mine.clone();
            with_family.push_u8(CGL_FIB_A_FAMILY, libc::AF_INET as u8);
            assert_eq!(RouteInfo::decode(&with_family).unwrap().route, *want);
        }
        // The same buffer serves the next message.
        encode_batch(&mut msg, 1, false, &routes[..2], &mut offsets).unwrap();
        assert_eq!(offsets.len(), 2);
        let a = AttrMap::parse(&msg.finished(1, 0, 1, 1)[16 + 4..]).unwrap();
        assert!(!a.has(CGL_FIB_A_REPLACE));
        assert_eq!(a.u32(CGL_FIB_A_FIB_ID).unwrap(), Some(1));
    }

    #[test]
    fn batch_nest_size_limit() {
        // The largest IPv6 routes: the nest must stay under 64 KiB.
        let big = Route {
            prefix: pfx(v6("2001:db8::"), 64),
            rtype: RType::Unicast,
            gateway: Some(v6("2001:db8::1")),
            oif: Some(2),
            metric: Some(1),
        };
        assert_eq!(route_nest_len(&big), 4 + 20 + 8 + 20 + 8 + 8);
        let fit = (NLA_MAX_LEN - 4) / route_nest_len(&big);
        let mut msg = RawMsg::new();
        let mut off = Vec::new();
        encode_batch(&mut msg, 1, false, &vec![big; fit], &mut off).unwrap();
        assert!(encode_batch(&mut msg, 1, false, &vec![big; fit + 1], &mut off).is_err());
    }

    #[test]
    fn raw_message_matches_neli_encoding() {
        // The in-place builder makes the same bytes as neli's builder.
        let r = r4("10.0.0.0", 8, Some("192.0.2.1"), Some(2), Some(5));
        let attrs = route_attrs(7, &r, false);
        let want = genl::encode_request(
            30,
            libc::NLM_F_ACK as u16,
            5,
            99,
            CGL_FIB_CMD_NEWROUTE,
            CGL_FIB_GENL_VERSION,
            &attrs,
        )
        .unwrap();
        let mut m = RawMsg::new();
        m.start(CGL_FIB_CMD_NEWROUTE, CGL_FIB_GENL_VERSION);
        for (t, d) in attrs.iter() {
            m.put(t, d);
        }
        assert_eq!(m.finished(30, libc::NLM_F_ACK as u16, 5, 99), want);
    }

    #[test]
    fn batch_error_location() {
        let offsets = [40, 76, 112, 148];
        let k = |msg: Option<&str>, offset: Option<u32>| genl::Error::Kernel {
            errno: libc::EINVAL,
            msg: msg.map(String::from),
            offset,
        };
        // By offset: at a nest, inside one, past the last one's start.
        assert_eq!(batch_index(&k(None, Some(76)), &offsets), Some(1));
        assert_eq!(batch_index(&k(None, Some(80)), &offsets), Some(1));
        assert_eq!(batch_index(&k(None, Some(111)), &offsets), Some(1));
        assert_eq!(batch_index(&k(None, Some(150)), &offsets), Some(3));
        // A top-level attribute: the batch's first route stands for it.
        assert_eq!(batch_index(&k(None, Some(20)), &offsets), Some(0));
        assert_eq!(
            batch_index(&k(Some("no such FIB"), Some(20)), &offsets),
            Some(0)
        );
        // cgl_fib's form: the message names the route, the offset points
        // at the BATCH nest (before the first ROUTE).
        assert_eq!(
            batch_index(
                &k(
                    Some("route 2 of the batch: route exists (use replace)"),
                    Some(36)
                ),
                &offsets
            ),
            Some(2)
        );
        // By message alone.
        assert_eq!(
            batch_index(&k(Some("route 2: gateway unreachable"), None), &offsets),
            Some(2)
        );
        assert_eq!(
            batch_index(&k(Some("batch route #3 invalid"), None), &offsets),
            Some(3)
        );
        assert_eq!(
            batch_index(&k(Some("bad route 1"), None), &offsets),
            Some(1)
        );
        assert_eq!(
            batch_index(&k(Some("route 9 of the batch: x"), None), &offsets),
            None
        );
        assert_eq!(
            batch_index(&k(Some("route 10.0.0.0/8 exists"), None), &offsets),
            None
        );
        assert_eq!(
            batch_index(&k(Some("route 2001:db8::/32 exists"), None), &offsets),
            None
        );
        assert_eq!(
            batch_index(
                &k(Some("route 10.0.0.0/8 exists (route 3)"), None),
                &offsets
            ),
            Some(3)
        );
        assert_eq!(batch_index(&k(Some("no such FIB"), None), &offsets), None);
        assert_eq!(batch_index(&genl::Error::Timeout, &offsets), None);
        assert_eq!(batch_index(&k(None, Some(80)), &[]), None);

        assert_eq!(
            strip_batch_prefix("route 17 of the batch: host bits set in the prefix"),
            "host bits set in the prefix"
        );
        assert_eq!(
            strip_batch_prefix("route exists (use replace)"),
            "route exists (use replace)"
        );
        assert_eq!(
            strip_batch_prefix("route  of the batch: x"),
            "route  of the batch: x"
        );
    }

    // -----------------------------------------------------------------
    // Output.
    // -----------------------------------------------------------------

    #[test]
    fn route_lines_like_ip() {
        let mut n = names();
        let l = |r: Route, n: &mut IfNames| route_line(&r, n);
        assert_eq!(
            l(
                r4("10.0.0.0", 8, Some("192.0.2.1"), Some(2), Some(5)),
                &mut n
            ),
            "10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5"
        );
        assert_eq!(
            l(r4("0.0.0.0", 0, Some("192.0.2.1"), None, None), &mut n),
            "default via 192.0.2.1"
        );
        assert_eq!(
            l(r4("192.0.2.9", 32, None, Some(7), None), &mut n),
            "192.0.2.9 dev if7"
        );
        let b = Route {
            rtype: RType::Blackhole,
            ..r4("192.0.2.0", 24, None, None, None)
        };
        assert_eq!(l(b, &mut n), "blackhole 192.0.2.0/24");
        let u = Route {
            prefix: pfx(v6("::"), 0),
            rtype: RType::Unreachable,
            gateway: None,
            oif: None,
            metric: Some(1),
        };
        assert_eq!(l(u, &mut n), "unreachable default metric 1");
        let o = Route {
            rtype: RType::Other(9),
            ..b
        };
        assert_eq!(l(o, &mut n), "type9 192.0.2.0/24");
        let v = Route {
            prefix: pfx(v6("2001:db8::"), 32),
            rtype: RType::Unicast,
            gateway: Some(v6("fe80::1")),
            oif: Some(3),
            metric: None,
        };
        assert_eq!(l(v, &mut n), "2001:db8::/32 via fe80::1 dev eth1");
        // Every printed line parses back to the same route.
        for r in [
            r4("10.0.0.0", 8, Some("192.0.2.1"), Some(2), Some(5)),
            r4("0.0.0.0", 0, Some("192.0.2.1"), None, None),
            r4("192.0.2.9", 32, None, Some(1), None),
            b,
            u,
            v,
        ] {
            let line = format!("{} fib 3", route_line(&r, &mut n));
            match route_af(Verb::Add, &line, Some(r.prefix.af())).unwrap() {
                RouteOp::Add { route, fib: 3, .. } => assert_eq!(route, r, "{line}"),
                op => panic!("{op:?}"),
            }
        }
    }

    #[test]
    fn route_get_output() {
        let mut n = names();
        let r = r4("10.0.0.0", 8, Some("192.0.2.1"), Some(2), Some(5));
        let a = Lookup::Addr(v4("10.1.2.3"));
        assert_eq!(
            get_line(&a, 10, &r, &mut n),
            "10.1.2.3 via 192.0.2.1 dev eth0 metric 5 fib 10 matched 10.0.0.0/8"
        );
        let b = Route {
            rtype: RType::Blackhole,
            ..r4("10.0.0.0", 8, None, None, None)
        };
        assert_eq!(
            get_line(&a, 10, &b, &mut n),
            "blackhole 10.1.2.3 fib 10 matched 10.0.0.0/8"
        );
        let d = r4("0.0.0.0", 0, Some("192.0.2.1"), None, None);
        assert_eq!(
            get_line(&a, 1, &d, &mut n),
            "10.1.2.3 via 192.0.2.1 fib 1 matched default"
        );
        let e = Lookup::Exact(r.prefix);
        assert_eq!(
            get_line(&e, 10, &r, &mut n),
            "10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5 fib 10"
        );
        assert_eq!(
            get_json(&a, 10, &r, &mut n),
            json!([{
                "dst": "10.1.2.3", "matched": "10.0.0.0/8", "family": "inet",
                "type": "unicast", "gateway": "192.0.2.1", "dev": "eth0",
                "oif": 2, "metric": 5, "fib": 10
            }])
        );
        assert_eq!(
            get_json(&e, 10, &b, &mut n),
            json!([{"dst": "10.0.0.0/8", "family": "inet", "type": "blackhole", "fib": 10}])
        );
    }

    #[test]
    fn route_json_like_ip() {
        let mut n = names();
        let v = Route {
            prefix: pfx(v6("::"), 0),
            rtype: RType::Unicast,
            gateway: Some(v6("fe80::1")),
            oif: Some(2),
            metric: None,
        };
        assert_eq!(
            route_json(Some(4), &v, &mut n),
            json!({"dst": "default", "family": "inet6", "type": "unicast",
                   "gateway": "fe80::1", "dev": "eth0", "oif": 2, "fib": 4})
        );
        assert_eq!(
            route_json(None, &r4("192.0.2.9", 32, None, None, Some(0)), &mut n),
            json!({"dst": "192.0.2.9", "family": "inet", "type": "unicast", "metric": 0})
        );
    }

    #[test]
    fn fib_output() {
        let f = [
            FibInfo {
                id: 7,
                routes4: 524_288,
                routes6: 3,
                lookups: 10,
                misses: 1,
                neighs: None,
                neigh_limit: None,
                stats: None,
            },
            FibInfo {
                id: 1000,
                routes4: 0,
                routes6: 0,
                lookups: 0,
                misses: 0,
                neighs: None,
                neigh_limit: None,
                stats: None,
            },
        ];
        assert_eq!(
            fib_table(&f),
            "FIB   ROUTES4  ROUTES6  LOOKUPS  MISSES\n\
             7     524288   3        10       1\n\
             1000  0        0        0        0\n"
        );
        assert_eq!(
            f[0].details(),
            "fib:          7\nipv4 routes:  524288\nipv6 routes:  3\nlookups:      10\nmisses:       1\n"
        );
        assert_eq!(
            f[0].to_json(),
            json!({"fib": 7, "routes4": 524288, "routes6": 3, "lookups": 10, "misses": 1})
        );
        let mut a = AttrMap::new();
        a.push_u32(CGL_FIB_A_FIB_ID, 7)
            .push(CGL_FIB_A_PAD, &[])
            .push_u64(CGL_FIB_A_ROUTES4, 524_288)
            .push_u64(CGL_FIB_A_ROUTES6, 3)
            .push_u64(CGL_FIB_A_LOOKUPS, 10)
            .push_u64(CGL_FIB_A_MISSES, 1);
        assert_eq!(FibInfo::decode(&a).unwrap(), f[0]);
        assert!(FibInfo::decode(&AttrMap::new()).is_err());
        let mut bad = AttrMap::new();
        bad.push_u32(CGL_FIB_A_FIB_ID, 7)
            .push_u32(CGL_FIB_A_ROUTES4, 1);
        assert!(FibInfo::decode(&bad).is_err(), "u64 counter of 4 bytes");
    }

    /// A GETFIB reply of a forwarding kernel: NEIGHS, NEIGH_LIMIT and the
    /// STATS nest (u64 counters, with pad attributes) after the route
    /// counters, whose lines and keys stay as they were.
    #[test]
    fn fib_output_with_neighbours_and_counters() {
        let mut st = Vec::new();
        for ty in 1..=CGL_FIB_STAT_MAX {
            st.extend(genl::tests::attr(CGL_FIB_A_PAD, &[]));
            st.extend(genl::tests::attr(ty, &u64::from(ty).to_ne_bytes()));
        }
        let mut a = AttrMap::new();
        a.push_u32(CGL_FIB_A_FIB_ID, 10)
            .push_u64(CGL_FIB_A_ROUTES4, 2)
            .push_u64(CGL_FIB_A_ROUTES6, 1)
            .push_u64(CGL_FIB_A_LOOKUPS, 5)
            .push_u64(CGL_FIB_A_MISSES, 0)
            .push_u32(CGL_FIB_A_NEIGHS, 3)
            .push_u32(CGL_FIB_A_NEIGH_LIMIT, 1024)
            .push(CGL_FIB_A_STATS | genl::NLA_F_NESTED, &st);
        let f = FibInfo::decode(&AttrMap::parse(&a.encode().unwrap()).unwrap()).unwrap();
        assert_eq!((f.neighs, f.neigh_limit), (Some(3), Some(1024)));
        assert_eq!(f.stats.unwrap().get(CGL_FIB_STAT_FORWARDED), 2);
        assert_eq!(
            f.details(),
            "fib:          10\n\
             ipv4 routes:  2\n\
             ipv6 routes:  1\n\
             lookups:      5\n\
             misses:       0\n\
             neighbours:   3\n\
             neigh limit:  1024\n\
             rx:           1\n\
             forwarded:    2\n\
             local:        3\n\
             noroute:      4\n\
             ttl:          5\n\
             blackhole:    6\n\
             toobig:       7\n\
             unresolved:   8\n\
             drops:        9\n\
             icmp:         10\n\
             arp:          11\n"
        );
        assert_eq!(
            f.to_json(),
            json!({
                "fib": 10, "routes4": 2, "routes6": 1, "lookups": 5, "misses": 0,
                "neighs": 3, "neigh_limit": 1024,
                "stats": {
                    "rx": 1, "forwarded": 2, "local": 3, "noroute": 4, "ttl": 5,
                    "blackhole": 6, "toobig": 7, "unresolved": 8, "drops": 9,
                    "icmp": 10, "arp": 11,
                },
            })
        );
        // Columns for the new counters once one FIB has them; "-" where a
        // FIB has none.
        let old = FibInfo {
            id: 11,
            neighs: None,
            neigh_limit: None,
            stats: None,
            ..f
        };
        assert_eq!(
            fib_table(&[f, old]),
            "FIB  ROUTES4  ROUTES6  LOOKUPS  MISSES  NEIGHS  LIMIT  RX  FORWARDED\n\
             10   2        1        5        0       3       1024   1   2\n\
             11   2        1        5        0       -       -      -   -\n"
        );
    }

    #[test]
    fn malformed_route_replies() {
        let base = || {
            let mut a = AttrMap::new();
            a.push_u8(CGL_FIB_A_FAMILY, libc::AF_INET as u8);
            a
        };
        let mut a = base();
        a.push(CGL_FIB_A_DST, &[10, 0, 0, 0]);
        assert!(RouteInfo::decode(&a).is_err(), "no length");
        a.push_u8(CGL_FIB_A_DST_LEN, 33);
        assert!(RouteInfo::decode(&a).is_err(), "length 33");
        let mut a = base();
        a.push(CGL_FIB_A_DST, &[0; 16])
            .push_u8(CGL_FIB_A_DST_LEN, 8);
        assert!(RouteInfo::decode(&a).is_err(), "16-byte IPv4 destination");
        let mut a = base();
        a.push(CGL_FIB_A_DST, &[10, 0, 0, 0])
            .push_u8(CGL_FIB_A_DST_LEN, 8)
            .push(CGL_FIB_A_GATEWAY, &[0; 16]);
        assert!(
            RouteInfo::decode(&a).is_err(),
            "IPv6 gateway of an IPv4 route"
        );
        let mut a = AttrMap::new();
        a.push_u8(CGL_FIB_A_FAMILY, 99)
            .push(CGL_FIB_A_DST, &[10, 0, 0, 0])
            .push_u8(CGL_FIB_A_DST_LEN, 8);
        assert!(RouteInfo::decode(&a).is_err(), "family 99");
        // No family: told by the destination's size.
        let mut a = AttrMap::new();
        a.push(CGL_FIB_A_DST, &[0; 16])
            .push_u8(CGL_FIB_A_DST_LEN, 0);
        assert_eq!(
            RouteInfo::decode(&a).unwrap().route.prefix,
            pfx(v6("::"), 0)
        );
    }

    #[test]
    fn kernel_error_text() {
        let e = genl::Error::Kernel {
            errno: libc::EEXIST,
            msg: None,
            offset: None,
        };
        assert_eq!(
            error_text(&e, CGL_FIB_CMD_NEWFIB),
            "kernel refused: File exists: the FIB exists"
        );
        assert_eq!(
            error_text(&e, CGL_FIB_CMD_NEWROUTE),
            "kernel refused: File exists: the route exists (route replace replaces it)"
        );
        let e = genl::Error::Kernel {
            errno: libc::ENOENT,
            msg: Some("FIB 9 does not exist".into()),
            offset: Some(20),
        };
        assert_eq!(
            error_text(&e, CGL_FIB_CMD_NEWROUTE),
            "kernel refused: No such file or directory: FIB 9 does not exist"
        );
    }

    // -----------------------------------------------------------------
    // Batches.
    // -----------------------------------------------------------------

    /// A sink that records what it is given, and fails as told.
    #[derive(Default)]
    struct Rec {
        /// (fib, replace, routes) of each add_routes.
        adds: Vec<(u32, bool, Vec<Route>)>,
        cmds: Vec<BatchCmd>,
        /// Fail the add_routes call of this number (0-based) at this
        /// index (None: unknown).
        fail_add: Option<(usize, Option<usize>)>,
        /// Fail the command of this number.
        fail_cmd: Option<usize>,
    }

    impl Sink for Rec {
        fn add_routes(
            &mut self,
            fib: u32,
            replace: bool,
            routes: &[Route],
        ) -> Result<(), BatchFail> {
            self.adds.push((fib, replace, routes.to_vec()));
            match self.fail_add {
                Some((n, index)) if n == self.adds.len() - 1 => Err(BatchFail {
                    index,
                    fail: Fail::new("kernel refused: Invalid argument: nope"),
                }),
                _ => Ok(()),
            }
        }

        fn command(&mut self, cmd: BatchCmd) -> Result<(), Fail> {
            self.cmds.push(cmd);
            if self.fail_cmd == Some(self.cmds.len() - 1) {
                return Err(Fail::new("kernel refused: No such file or directory"));
            }
            Ok(())
        }
    }

    fn run(text: &str, rec: &mut Rec) -> Result<BatchStats, String> {
        run_lines("t.batch", text, None, &mut names(), rec).map_err(|f| f.msg)
    }

    #[test]
    fn batch_groups_consecutive_adds() {
        let text = "\
# a comment
fib add 7

route add 10.0.0.0/8 via 192.0.2.1 fib 7
route add blackhole 11.0.0.0/8 fib 7   # trailing comment
  route add 12.0.0.0/8 dev eth0 table 7
route add 2001:db8::/32 dev eth0 fib 7
route add 2001:db9::/32 dev eth0 fib 7
route replace 13.0.0.0/8 dev eth0 fib 7
route add 14.0.0.0/8 dev eth0 fib 8
route add 15.0.0.0/8 dev eth0 fib 8
route del 10.0.0.0/8 fib 7
route add 16.0.0.0/8 dev eth0 fib 8
route show fib 8
";
        let mut rec = Rec::default();
        let st = run(text, &mut rec).unwrap();
        let summary: Vec<(u32, bool, Vec<String>)> = rec
            .adds
            .iter()
            .map(|(f, r, v)| (*f, *r, v.iter().map(|r| r.prefix.to_string()).collect()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    7,
                    false,
                    vec![
                        "10.0.0.0/8".to_string(),
                        "11.0.0.0/8".into(),
                        "12.0.0.0/8".into()
                    ]
                ),
                (
                    7,
                    false,
                    vec!["2001:db8::/32".into(), "2001:db9::/32".into()]
                ),
                (7, true, vec!["13.0.0.0/8".into()]),
                (8, false, vec!["14.0.0.0/8".into(), "15.0.0.0/8".into()]),
                (8, false, vec!["16.0.0.0/8".into()]),
            ]
        );
        assert_eq!(
            rec.cmds,
            [
                BatchCmd::Fib(FibOp::Add {
                    id: 7,
                    neigh_limit: None
                }),
                BatchCmd::Route(RouteOp::Del {
                    fib: 7,
                    prefix: pfx(v4("10.0.0.0"), 8)
                }),
                BatchCmd::Route(RouteOp::Show { fib: 8, af: None }),
            ]
        );
        assert_eq!(
            st,
            BatchStats {
                commands: 12,
                routes: 9,
                messages: 5
            }
        );
    }

    #[test]
    fn batch_splits_at_the_limits() {
        // 5000 small routes: 4096 per message at most.
        let mut text = String::new();
        for i in 0..5000u32 {
            text.push_str(&format!(
                "route add blackhole {}/32 fib 1\n",
                Ipv4Addr::from(0x0a00_0000 + i)
            ));
        }
        let mut rec = Rec::default();
        let st = run(&text, &mut rec).unwrap();
        let sizes: Vec<usize> = rec.adds.iter().map(|a| a.2.len()).collect();
        // 28 bytes a route: the 64 KiB nest fills first.
        let per = (NLA_MAX_LEN - 4) / 28;
        assert!(per < CGL_FIB_BATCH_MAX);
        assert_eq!(sizes[0], per);
        assert_eq!(sizes.iter().sum::<usize>(), 5000);
        assert!(sizes.iter().all(|&s| s <= per));
        assert_eq!(st.routes, 5000);
        assert_eq!(st.messages, sizes.len());
        // Every message encodes within the limits.
        let mut msg = RawMsg::new();
        let mut off = Vec::new();
        for (fib, replace, routes) in &rec.adds {
            encode_batch(&mut msg, *fib, *replace, routes, &mut off).unwrap();
            assert!(msg.len() <= 16 + 4 + 8 + 8 + NLA_MAX_LEN);
        }
    }

    #[test]
    fn batch_count_limit() {
        // Routes are counted too (not only bytes): a Pending fed directly
        // with the smallest routes stops at CGL_FIB_BATCH_MAX.
        let mut p = Pending {
            key: None,
            routes: Vec::new(),
            lines: Vec::new(),
            bytes: 4,
        };
        let mut rec = Rec::default();
        let mut st = BatchStats::default();
        let r = r4("10.0.0.0", 8, None, None, None);
        // Pretend routes were 1 byte, so only the count limit binds.
        for i in 0..CGL_FIB_BATCH_MAX + 1 {
            p.push((1, Af::V4, false), r, i + 1, &mut rec, "x", &mut st)
                .unwrap();
            p.bytes = 4;
        }
        p.flush(&mut rec, "x", &mut st).unwrap();
        let sizes: Vec<usize> = rec.adds.iter().map(|a| a.2.len()).collect();
        assert_eq!(sizes, [CGL_FIB_BATCH_MAX, 1]);
    }

    #[test]
    fn batch_errors_name_the_line() {
        let text = "\
route add 10.0.0.0/8 dev eth0 fib 7
# skipped
route add 11.0.0.0/8 dev eth0 fib 7
route add 12.0.0.0/8 dev eth0 fib 7
fib show 7
";
        // The kernel names route 1 of the batch: line 3.
        let mut rec = Rec {
            fail_add: Some((0, Some(1))),
            ..Rec::default()
        };
        assert_eq!(
            run(text, &mut rec).unwrap_err(),
            "t.batch:3: kernel refused: Invalid argument: nope"
        );
        assert!(rec.cmds.is_empty(), "stopped at the error");
        // Unknown index: the first line, and the batch's lines.
        let mut rec = Rec {
            fail_add: Some((0, None)),
            ..Rec::default()
        };
        assert_eq!(
            run(text, &mut rec).unwrap_err(),
            "t.batch:1: kernel refused: Invalid argument: nope (in the batch of lines 1-4; the kernel did not say which failed)"
        );
        // A failing command names its own line.
        let mut rec = Rec {
            fail_cmd: Some(0),
            ..Rec::default()
        };
        assert_eq!(
            run(text, &mut rec).unwrap_err(),
            "t.batch:5: kernel refused: No such file or directory"
        );
        assert_eq!(rec.adds.len(), 1);
    }

    #[test]
    fn batch_parse_errors_after_sending_what_came_before() {
        let text = "\
route add 10.0.0.0/8 dev eth0 fib 7
route add 11.0.0.0/8 dev eth0 fib 7
route add 12.0.0.1/8 dev eth0 fib 7
route add 13.0.0.0/8 dev eth0 fib 7
";
        let mut rec = Rec::default();
        assert_eq!(
            run(text, &mut rec).unwrap_err(),
            "t.batch:3: host bits set in 12.0.0.1/8, did you mean 12.0.0.0/8?"
        );
        // Lines 1-2 went to the kernel before the error, line 4 did not.
        assert_eq!(rec.adds.len(), 1);
        assert_eq!(rec.adds[0].2.len(), 2);
        // ... but if they fail, that earlier error is the one reported.
        let mut rec = Rec {
            fail_add: Some((0, Some(0))),
            ..Rec::default()
        };
        assert_eq!(
            run(text, &mut rec).unwrap_err(),
            "t.batch:1: kernel refused: Invalid argument: nope"
        );
        for (text, want) in [
            (
                "route\n",
                "t.batch:1: missing the route command (add, replace, del, get, show)",
            ),
            (
                "\n\nroute flush fib 1\n",
                "t.batch:3: unknown route command 'flush' (add, replace, del, get, show)",
            ),
            ("fib add\n", "t.batch:1: missing the FIB id"),
            (
                "route add 10.0.0.0/8 dev eth9 fib 1\n",
                "t.batch:1: unknown device 'eth9'",
            ),
            ("hb register \"db\n", "t.batch:1: unterminated \""),
        ] {
            let mut rec = Rec::default();
            assert_eq!(run(text, &mut rec).unwrap_err(), want, "{text:?}");
        }
    }

    #[test]
    fn batch_port_and_neigh_lines() {
        let text = "\
fib add 10 neigh-limit 64
fib bind dev eth0 fib 10 addr 10.0.0.1/24 addr 2001:db8:1::1/64
route add 10.9.0.0/16 via 10.0.0.2 fib 10
neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev eth0 fib 10
neigh replace 2001:db8:1::2 lladdr 02:00:00:00:00:02 dev eth0 fib 10
neigh del 10.0.0.2 fib 10
neigh show fib 10
fib ports dev eth0
fib set 10 neigh-limit 128
fib unbind dev eth0
";
        let mut rec = Rec::default();
        let st = run(text, &mut rec).unwrap();
        assert_eq!(st.commands, 10);
        assert_eq!(
            rec.adds.len(),
            1,
            "the route goes between the lines around it"
        );
        let kinds: Vec<String> = rec
            .cmds
            .iter()
            .map(|c| match c {
                BatchCmd::Fib(FibOp::Add { neigh_limit, .. }) => format!("add {neigh_limit:?}"),
                BatchCmd::Fib(FibOp::Bind(b)) => format!("bind {} {}", b.oif, b.addrs.len()),
                BatchCmd::Fib(FibOp::Set { neigh_limit, .. }) => format!("set {neigh_limit}"),
                BatchCmd::Fib(FibOp::Ports { oif, .. }) => format!("ports {oif:?}"),
                BatchCmd::Fib(FibOp::Unbind(o)) => format!("unbind {o}"),
                BatchCmd::Neigh(NeighOp::Add { replace, .. }) => format!("neigh add {replace}"),
                BatchCmd::Neigh(NeighOp::Del { .. }) => "neigh del".into(),
                BatchCmd::Neigh(NeighOp::Show { fib, .. }) => format!("neigh show {fib:?}"),
                c => panic!("{c:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "add Some(64)",
                "bind 2 2",
                "neigh add false",
                "neigh add true",
                "neigh del",
                "neigh show Some(10)",
                "ports Some(2)",
                "set 128",
                "unbind 2",
            ]
        );
        for (text, want) in [
            (
                "neigh\n",
                "t.batch:1: missing the neigh command (add, replace, del, show)",
            ),
            (
                "neigh get 10.0.0.2 fib 1\n",
                "t.batch:1: unknown neigh command 'get' (add, replace, del, show)",
            ),
            (
                "\nneigh add 10.0.0.2 lladdr 02:00:00:00:00:0g dev eth0 fib 1\n",
                "t.batch:2: '02:00:00:00:00:0g' is not a MAC address (like 02:00:00:00:00:01)",
            ),
            (
                "fib bind dev eth0 fib 1 addr 10.0.0.1\n",
                "t.batch:1: address 10.0.0.1 needs its prefix length (10.0.0.1/24, say)",
            ),
            ("fib unbind dev eth9\n", "t.batch:1: unknown device 'eth9'"),
        ] {
            let mut rec = Rec::default();
            assert_eq!(run(text, &mut rec).unwrap_err(), want, "{text:?}");
            assert!(rec.cmds.is_empty(), "{text:?}: nothing sent");
        }
    }

    #[test]
    fn kernel_error_hints_of_ports_and_neighbours() {
        let k = |errno| genl::Error::Kernel {
            errno,
            msg: None,
            offset: None,
        };
        assert_eq!(
            error_text(&k(libc::EEXIST), CGL_FIB_CMD_NEWNEIGH),
            "kernel refused: File exists: the neighbour exists (neigh replace replaces it)"
        );
        assert_eq!(
            error_text(&k(libc::ENOENT), CGL_FIB_CMD_UNBIND),
            "kernel refused: No such file or directory: the interface is not bound to a FIB"
        );
        assert_eq!(
            error_text(&k(libc::ENODEV), CGL_FIB_CMD_BIND),
            "kernel refused: No such device: no such interface"
        );
        assert_eq!(
            error_text(&k(libc::ENODEV), CGL_FIB_CMD_NEWNEIGH),
            "kernel refused: No such device: the interface is not bound to this FIB"
        );
        assert_eq!(
            error_text(&k(libc::ENOENT), CGL_FIB_CMD_SETFIB),
            "kernel refused: No such file or directory: no such FIB"
        );
    }

    #[test]
    fn batch_other_commands_and_families() {
        let mut rec = Rec::default();
        let text =
            "-j hb list\nevents log --severity info 'a b'\nroute add default dev eth0 fib 1\n";
        run_lines("t", text, Some(Af::V6), &mut names(), &mut rec).unwrap();
        assert_eq!(
            rec.cmds,
            [
                BatchCmd::Other(vec!["-j".into(), "hb".into(), "list".into()]),
                BatchCmd::Other(vec![
                    "events".into(),
                    "log".into(),
                    "--severity".into(),
                    "info".into(),
                    "a b".into()
                ]),
            ]
        );
        // The global -6 makes "default" IPv6.
        assert_eq!(rec.adds[0].2[0].prefix, pfx(v6("::"), 0));
    }

    #[test]
    fn prefix_display() {
        assert_eq!(pfx(v4("0.0.0.0"), 0).to_string(), "default");
        assert_eq!(pfx(v6("::"), 0).to_string(), "default");
        assert_eq!(pfx(v4("10.0.0.0"), 8).to_string(), "10.0.0.0/8");
        assert_eq!(pfx(v4("10.0.0.1"), 32).to_string(), "10.0.0.1");
        assert_eq!(pfx(v6("2001:db8::1"), 128).to_string(), "2001:db8::1");
        assert_eq!(mask(v4("10.255.255.255"), 9), v4("10.128.0.0"));
        assert_eq!(mask(v6("2001:db8:ffff::1"), 33), v6("2001:db8:8000::"));
        assert_eq!(mask(v4("1.2.3.4"), 0), v4("0.0.0.0"));
    }

    /// Parse-and-encode speed of a 512k-route batch, without a kernel
    /// (`cargo test --release -p cgl-ctl -- --ignored --nocapture
    /// batch_speed`).
    #[test]
    #[ignore]
    fn batch_speed() {
        struct Enc {
            msg: RawMsg,
            off: Vec<usize>,
            bytes: usize,
        }
        impl Sink for Enc {
            fn add_routes(
                &mut self,
                fib: u32,
                replace: bool,
                routes: &[Route],
            ) -> Result<(), BatchFail> {
                encode_batch(&mut self.msg, fib, replace, routes, &mut self.off).unwrap();
                self.bytes += self.msg.len();
                Ok(())
            }
            fn command(&mut self, _: BatchCmd) -> Result<(), Fail> {
                Ok(())
            }
        }
        let mut text = String::new();
        for i in 0..524_288u32 {
            let a = Ipv4Addr::from(0x0a00_0000 + (i << 8));
            text.push_str(&format!("route add {a}/24 via 192.0.2.1 dev eth0 fib 7\n"));
        }
        let mut sink = Enc {
            msg: RawMsg::new(),
            off: Vec::new(),
            bytes: 0,
        };
        let t = std::time::Instant::now();
        let st = run_lines("speed", &text, None, &mut names(), &mut sink).unwrap();
        let el = t.elapsed();
        eprintln!(
            "{} routes, {} messages, {} bytes, {:?} ({:.0} ns/route)",
            st.routes,
            st.messages,
            sink.bytes,
            el,
            el.as_nanos() as f64 / st.routes as f64
        );
    }
}
