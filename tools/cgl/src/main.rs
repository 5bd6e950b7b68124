// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl`: the admin tool of the cgl (carrier grade Linux) kernel
//! modules.
//!
//! It speaks generic netlink to the `cgl_core` family
//! (`include/uapi/linux/cgl_core.h`): `status` shows what is loaded,
//! `events list|follow|log|config` read, stream, append to and tune the
//! event log. `hb ...` drives the application heartbeat monitor (the
//! `cgl_hb` family, `include/uapi/linux/cgl_heartbeat.h`), `wdt status`
//! shows the CGL watchdog (sysfs) and `digsig ...` signs ELF files for the
//! DigSig LSM and drives it (sysfs and the keyring syscalls). `fib ...`,
//! `route ...` and `neigh ...` manage the FIBs, routes, bound interfaces
//! ([`port`]) and neighbours ([`neigh`]) of the multi-FIB module (the
//! `cgl_fib` family, `include/uapi/linux/cgl_fib.h`) with `ip`'s syntax,
//! and `-b FILE` runs a file of commands, sending runs of route additions
//! in batches ([`fib`]). `-j` gives JSON like iproute2's `-j`.
//!
//! # Why neli
//!
//! The netlink plumbing ([`genl`]) uses `neli` 0.7 rather than the
//! `netlink-packet-*` crates. Both open the socket, join multicast groups
//! by id and report `ENOBUFS` as an `io::Error`, and both ship the `nlctrl`
//! constants. The deciding difference is errors: `neli` parses
//! `NLMSG_ERROR` and the `NLMSG_DONE` of a failed dump *with* their
//! extended-ACK attributes (`NLMSGERR_ATTR_MSG`, `NLMSGERR_ATTR_OFFS`), so
//! the kernel's own message reaches the user, while
//! `netlink-packet-core` 0.9 keeps only the errno and the echoed header;
//! and a new family there needs a hand-written `GenlFamily` type with
//! emit/parse impls for every message. With `neli` a family is just an id
//! and the attributes stay plain bytes ([`genl::AttrMap`]). neli's
//! `NlRouter` is not used: its background thread drops `ENOBUFS` when no
//! request is pending and sorts multicast by the `nl_groups` bitmask,
//! which is empty for group ids above 31; [`genl::GenlSocket`] drives
//! `neli::socket::NlSocket` directly instead.

mod digsig;
mod elfadd;
/// The DigSig ELF signature format, the file the kernel builds.
#[path = "../../../security/cgl_digsig/elfsig.rs"]
#[allow(dead_code)]
mod elfsig;
mod event;
mod fib;
mod follow;
mod genl;
mod hb;
mod neigh;
mod port;
mod sigder;
mod state;
mod syslog;
mod uapi;
mod wdt;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use event::{Filter, Item, Record};
use follow::{Abort, Follower, Incoming, Source, Start};
use genl::{AttrMap, Family, GenlSocket, Received};
use uapi::*;

/// Command line.
#[derive(Parser, Debug)]
#[command(
    name = "cgl-ctl",
    version,
    about = "Admin tool of the cgl kernel modules",
    arg_required_else_help = true
)]
struct Cli {
    /// JSON output (an array for lists, one object per line for follow).
    #[arg(short, long, global = true)]
    json: bool,
    /// Pretty-print JSON (not for follow: one object per line).
    #[arg(short, long, global = true)]
    pretty: bool,
    /// IPv4 only (route: the family of `default`, of show; neigh show).
    #[arg(short = '4', global = true, conflicts_with = "ipv6")]
    ipv4: bool,
    /// IPv6 only (route: the family of `default`, of show; neigh show).
    #[arg(short = '6', global = true)]
    ipv6: bool,
    /// Run the commands of FILE ("-": standard input), one a line, without
    /// the program name; blank lines and #-comments are skipped. Runs of
    /// route add/replace lines go to the kernel in batches. Stops at the
    /// first error (FILE:LINE: message). `-batch FILE` works too.
    #[arg(short = 'b', long, value_name = "FILE")]
    batch: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Show the cgl_core family, the registered modules, every cgl
    /// netlink family, /sys/kernel/cgl, the heartbeat counters and the
    /// CGL watchdog.
    Status,
    /// The event log.
    #[command(subcommand)]
    Events(EventsCmd),
    /// The application heartbeat monitor.
    #[command(subcommand)]
    Hb(hb::HbCmd),
    /// The CGL watchdog.
    #[command(subcommand)]
    Wdt(wdt::WdtCmd),
    /// DigSig: sign and verify ELF files, drive the LSM.
    #[command(subcommand)]
    Digsig(digsig::DigsigCmd),
    /// The FIBs of the multi-FIB module and the interfaces bound to them:
    /// fib add|del|show|set|list|mirror, fib bind dev IFNAME fib ID [addr
    /// ADDR/LEN]..., fib unbind dev IFNAME, fib ports [dev IFNAME] [fib ID].
    #[command(subcommand)]
    Fib(fib::FibCmd),
    /// The routes of the multi-FIB module's FIBs, with ip route's syntax:
    /// route add|replace [TYPE] PREFIX [via GW] [dev IFNAME] [metric N] fib
    /// ID; route del PREFIX fib ID; route get ADDR|PREFIX fib ID; route
    /// show fib ID [-4|-6].
    #[command(subcommand)]
    Route(fib::RouteCmd),
    /// The neighbours (ARP/NDP) of the multi-FIB module's FIBs, with ip
    /// neigh's syntax: neigh add|replace ADDR lladdr MAC dev IFNAME fib ID;
    /// neigh del ADDR [dev IFNAME] fib ID; neigh show [fib ID] [dev IFNAME]
    /// [-4|-6].
    #[command(subcommand)]
    Neigh(neigh::NeighCmd),
}

/// `events` subcommands.
#[derive(Subcommand, Debug)]
enum EventsCmd {
    /// Print the records held in the ring.
    List(ListArgs),
    /// Print (and forward) records as they come.
    Follow(FollowArgs),
    /// Append a record (needs CAP_NET_ADMIN).
    Log(LogArgs),
    /// Show the configuration and counters; change them with options
    /// (needs CAP_NET_ADMIN).
    Config(ConfigArgs),
}

/// Filters shared by `list` and `follow`.
#[derive(Args, Debug, Clone)]
struct FilterArgs {
    /// First sequence number wanted.
    #[arg(long, value_name = "N")]
    from_seq: Option<u64>,
    /// Most verbose severity wanted: a name (emerg, alert, crit, err,
    /// warning, notice, info, debug) or 0-7.
    #[arg(long, value_name = "LEVEL", value_parser = event::parse_severity)]
    severity: Option<u8>,
    /// Only this subsystem.
    #[arg(long, value_name = "NAME")]
    subsys: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> Filter {
        Filter {
            severity: self.severity,
            subsys: self.subsys.clone(),
        }
    }
}

/// `events list`.
#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Only the newest N records.
    #[arg(long, value_name = "N")]
    last: Option<usize>,
}

/// `events follow`.
#[derive(Args, Debug)]
struct FollowArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Also forward every record as RFC 5424 syslog to udp://HOST:PORT
    /// or tcp://HOST:PORT (octet-counting framing).
    #[arg(long, value_name = "URL", value_parser = syslog::parse_target)]
    syslog: Option<syslog::Target>,
    /// Keep the last forwarded sequence number in FILE and resume after
    /// it.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// HOSTNAME of syslog messages (default: this host's name).
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// Exit after N records.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Exit (successfully) after SECS seconds.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
}

/// A payload given in hex.
#[derive(Debug, Clone)]
struct Hex(Vec<u8>);

fn parse_payload(s: &str) -> Result<Hex, String> {
    let v = event::parse_hex(s)?;
    if v.len() > CGL_EVENT_PAYLOAD_MAX {
        return Err(format!(
            "payload of {} bytes, at most {CGL_EVENT_PAYLOAD_MAX}",
            v.len()
        ));
    }
    Ok(Hex(v))
}

/// `events log`.
#[derive(Args, Debug)]
struct LogArgs {
    /// Severity: a name or 0-7.
    #[arg(long, value_name = "LEVEL", value_parser = event::parse_severity)]
    severity: u8,
    /// Event id (subsystem defined).
    #[arg(long, value_name = "N")]
    id: Option<u32>,
    /// Subsystem (the kernel's default: "user").
    #[arg(long, value_name = "NAME")]
    subsys: Option<String>,
    /// Binary payload, in hex.
    #[arg(long, value_name = "HEX", value_parser = parse_payload)]
    payload: Option<Hex>,
    /// The message (words are joined with spaces).
    #[arg(required = true, value_name = "MESSAGE")]
    message: Vec<String>,
}

/// `events config`.
#[derive(Args, Debug)]
struct ConfigArgs {
    /// New ring size, in records.
    #[arg(long, value_name = "N")]
    ring_size: Option<u32>,
    /// New printk level (0-8): records more severe than it also go to the
    /// kernel log.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=8))]
    printk_level: Option<u8>,
}

/// A failure: the message (printed after `cgl-ctl: `) and the exit code.
#[derive(Debug)]
struct Fail {
    msg: String,
    code: u8,
}

impl Fail {
    /// A runtime error (exit code 1).
    fn new(msg: impl Into<String>) -> Self {
        Fail {
            msg: msg.into(),
            code: 1,
        }
    }
}

impl From<genl::Error> for Fail {
    fn from(e: genl::Error) -> Self {
        Fail::new(e.to_string())
    }
}

/// Output was closed (e.g. `| head`): stop quietly.
const CLOSED: &str = "\0closed";

/// Writes to stdout; a closed pipe becomes a quiet stop.
fn out(s: &str) -> Result<(), Fail> {
    let mut o = io::stdout().lock();
    o.write_all(s.as_bytes())
        .and_then(|_| o.flush())
        .map_err(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                Fail::new(CLOSED)
            } else {
                Fail::new(format!("stdout: {e}"))
            }
        })
}

/// Prints a JSON value, pretty or compact, with a newline.
fn out_json(v: &Value, pretty: bool) -> Result<(), Fail> {
    let s = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    }
    .map_err(|e| Fail::new(format!("json: {e}")))?;
    out(&(s + "\n"))
}

/// `args` with iproute2's `-batch` spelled `--batch` for clap (which would
/// read it as `-b atch`).
fn batch_alias(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    args.into_iter()
        .map(|a| if a == "-batch" { "--batch".into() } else { a })
        .collect()
}

/// Runs the command of `cli`: a `--batch` or a subcommand.
fn dispatch(cli: &Cli) -> Result<(), Fail> {
    match (&cli.batch, &cli.cmd) {
        (Some(_), Some(_)) => Err(Fail {
            msg: "give either --batch FILE or a command, not both".into(),
            code: 2,
        }),
        (Some(f), None) => fib::run_batch(cli, f),
        (None, None) => Err(Fail {
            msg: "no command (see cgl-ctl --help)".into(),
            code: 2,
        }),
        (None, Some(cmd)) => match cmd {
            Cmd::Status => status(cli),
            Cmd::Events(EventsCmd::List(a)) => list(cli, a),
            Cmd::Events(EventsCmd::Follow(a)) => follow_cmd(cli, a),
            Cmd::Events(EventsCmd::Log(a)) => log(cli, a),
            Cmd::Events(EventsCmd::Config(a)) => config(cli, a),
            Cmd::Hb(c) => hb::run(cli, c),
            Cmd::Wdt(c) => wdt::run(cli, c),
            Cmd::Digsig(c) => digsig::run(cli, c),
            Cmd::Fib(c) => fib::run_fib(cli, c),
            Cmd::Route(c) => fib::run_route(cli, c),
            Cmd::Neigh(c) => neigh::run(cli, c),
        },
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(batch_alias(std::env::args_os())) {
        Ok(c) => c,
        // --help, --version.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let s = e.render().to_string();
            eprint!("cgl-ctl: {}", s.strip_prefix("error: ").unwrap_or(&s));
            return ExitCode::from(2);
        }
    };
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.msg == CLOSED => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("cgl-ctl: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

/// Opens a socket and resolves `cgl_core`, or explains that it is absent.
fn core_family(sock: &mut GenlSocket) -> Result<Family, Fail> {
    match sock.resolve_family(CGL_CORE_GENL_NAME)? {
        Some(f) => {
            if f.version != u32::from(CGL_CORE_GENL_VERSION) {
                eprintln!(
                    "cgl-ctl: warning: {} is version {}, this tool speaks version {}",
                    CGL_CORE_GENL_NAME, f.version, CGL_CORE_GENL_VERSION
                );
            }
            Ok(f)
        }
        None => Err(Fail::new(format!(
            "generic netlink family {CGL_CORE_GENL_NAME} not found (is the cgl_core module loaded?)"
        ))),
    }
}

fn open() -> Result<GenlSocket, Fail> {
    GenlSocket::open().map_err(|e| Fail::new(format!("cannot open a netlink socket: {e}")))
}

/// Directory of the cgl sysfs tree.
const SYSFS_ROOT: &str = "/sys/kernel/cgl";

/// Subdirectories of `root`, sorted; `None` if `root` is absent.
fn subdirs(root: &Path) -> Option<Vec<String>> {
    let rd = std::fs::read_dir(root).ok()?;
    let mut v: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    Some(v)
}

fn groups_json(f: &Family) -> Value {
    Value::Array(
        f.groups
            .iter()
            .map(|g| json!({"name": g.name, "id": g.id}))
            .collect(),
    )
}

/// Left-aligned columns, two spaces apart, each row indented by two.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        let mut line = String::from("  ");
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                let pad = widths[i] - c.chars().count() + 2;
                line.push_str(&" ".repeat(pad));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// The heartbeat monitor's counters in /sys/kernel/cgl/heartbeat.
const HB_COUNTERS: [&str; 5] = ["count", "limit", "misses", "deaths", "exits"];

/// The heartbeat counters under `dir`; `None` if the directory is absent.
fn hb_counters(dir: &Path) -> Option<Vec<(&'static str, Option<u64>)>> {
    if !dir.is_dir() {
        return None;
    }
    Some(
        HB_COUNTERS
            .iter()
            .map(|&k| {
                let v = std::fs::read_to_string(dir.join(k))
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                (k, v)
            })
            .collect(),
    )
}

/// The `heartbeat:` line of `status`.
fn hb_line(c: &Option<Vec<(&'static str, Option<u64>)>>) -> String {
    let Some(c) = c else {
        return "heartbeat: absent\n".into();
    };
    let get = |k: &str| {
        c.iter()
            .find(|(n, _)| *n == k)
            .and_then(|(_, v)| *v)
            .map_or("?".into(), |v| v.to_string())
    };
    format!(
        "heartbeat: {} entities (limit {}), misses {}, deaths {}, exits {}\n",
        get("count"),
        get("limit"),
        get("misses"),
        get("deaths"),
        get("exits")
    )
}

/// The `watchdog:` line of `status`.
fn wdt_line(w: &Option<wdt::Status>) -> String {
    let Some(w) = w else {
        return format!("watchdog: no \"{}\" device\n", wdt::IDENTITY);
    };
    let mut parts = vec![w.device.clone()];
    if let Some(s) = w.get("state") {
        parts.push(s.to_string());
    }
    if let Some(t) = w.get("timeout") {
        parts.push(format!("timeout {t}s"));
    }
    if let Some(a) = w.get("action") {
        parts.push(format!("action {a}"));
    }
    format!("watchdog: {}\n", parts.join(", "))
}

fn status(cli: &Cli) -> Result<(), Fail> {
    let mut sock = open()?;
    let core = core_family(&mut sock)?;
    let modules = sock.dump(
        core.id,
        CGL_CORE_GENL_VERSION,
        CGL_CORE_CMD_MODULE_GET,
        &AttrMap::new(),
    )?;
    let modules: Vec<[String; 3]> = modules
        .iter()
        .map(|m| {
            [
                m.attrs.string(CGL_A_MODULE_NAME).unwrap_or_default(),
                m.attrs.string(CGL_A_MODULE_FAMILY).unwrap_or_default(),
                m.attrs.string(CGL_A_MODULE_DESC).unwrap_or_default(),
            ]
        })
        .collect();
    let mut families: Vec<Family> = sock
        .families()?
        .into_iter()
        .filter(|f| f.name.starts_with("cgl"))
        .collect();
    families.sort_by(|a, b| a.name.cmp(&b.name));
    let sysfs = subdirs(Path::new(SYSFS_ROOT));
    let hb = hb_counters(&Path::new(SYSFS_ROOT).join("heartbeat"));
    let wdt = wdt::read(Path::new(wdt::CLASS_DIR), Path::new(wdt::CGL_DIR));

    if cli.json {
        let v = json!({
            "core": {
                "name": core.name,
                "id": core.id,
                "version": core.version,
                "groups": groups_json(&core),
            },
            "modules": modules.iter().map(|[n, f, d]| json!({
                "name": n,
                "family": if f.is_empty() { Value::Null } else { Value::String(f.clone()) },
                "description": d,
            })).collect::<Vec<_>>(),
            "families": families.iter().map(|f| json!({
                "name": f.name,
                "id": f.id,
                "version": f.version,
                "groups": groups_json(f),
            })).collect::<Vec<_>>(),
            "sysfs": sysfs,
            "heartbeat": hb.as_ref().map(|c| c
                .iter()
                .map(|(k, v)| ((*k).to_string(), json!(v)))
                .collect::<serde_json::Map<_, _>>()),
            "wdt": wdt.as_ref().map(wdt::Status::to_json),
        });
        return out_json(&v, cli.pretty);
    }

    let mut s = format!(
        "{}: present, version {} (family id {})\n",
        core.name, core.version, core.id
    );
    s.push_str(&format!("modules ({}):\n", modules.len()));
    if !modules.is_empty() {
        let mut rows = vec![vec!["NAME".into(), "FAMILY".into(), "DESCRIPTION".into()]];
        for [n, f, d] in &modules {
            let f = if f.is_empty() { "-".into() } else { f.clone() };
            rows.push(vec![n.clone(), f, d.clone()]);
        }
        s.push_str(&columns(&rows));
    }
    s.push_str(&format!("netlink families ({}):\n", families.len()));
    if !families.is_empty() {
        let mut rows = vec![vec![
            "NAME".into(),
            "ID".into(),
            "VERSION".into(),
            "GROUPS".into(),
        ]];
        for f in &families {
            let g: Vec<String> = f
                .groups
                .iter()
                .map(|g| format!("{}({})", g.name, g.id))
                .collect();
            rows.push(vec![
                f.name.clone(),
                f.id.to_string(),
                f.version.to_string(),
                if g.is_empty() {
                    "-".into()
                } else {
                    g.join(",")
                },
            ]);
        }
        s.push_str(&columns(&rows));
    }
    match &sysfs {
        None => s.push_str(&format!("{SYSFS_ROOT}: absent\n")),
        Some(dirs) => {
            s.push_str(&format!("{SYSFS_ROOT} ({}):\n", dirs.len()));
            for d in dirs {
                s.push_str(&format!("  {d}\n"));
            }
        }
    }
    s.push_str(&hb_line(&hb));
    s.push_str(&wdt_line(&wdt));
    out(&s)
}

fn list(cli: &Cli, a: &ListArgs) -> Result<(), Fail> {
    let mut sock = open()?;
    let core = core_family(&mut sock)?;
    let filter = a.filter.filter();
    let mut decoded = Vec::new();
    sock.request_each(
        core.id,
        CGL_CORE_GENL_VERSION,
        CGL_CORE_CMD_EVENT_GET,
        &filter.dump_attrs(a.filter.from_seq),
        libc::NLM_F_DUMP as u16,
        |m| -> Result<(), Fail> {
            decoded.push(Record::decode(&m.attrs)?);
            Ok(())
        },
    )?;
    let mut items = event::items_from(decoded);
    if let Some(n) = a.last {
        items = event::keep_last(items, n);
    }
    if cli.json {
        let v = Value::Array(items.iter().map(Item::to_json).collect());
        out_json(&v, cli.pretty)
    } else {
        out(&event::table(&items))
    }
}

fn log(cli: &Cli, a: &LogArgs) -> Result<(), Fail> {
    let mut sock = open()?;
    let core = core_family(&mut sock)?;
    let mut attrs = AttrMap::new();
    attrs.push_u8(CGL_A_EVENT_SEVERITY, a.severity);
    attrs.push_str(CGL_A_EVENT_MSG, &a.message.join(" "));
    if let Some(id) = a.id {
        attrs.push_u32(CGL_A_EVENT_ID, id);
    }
    if let Some(s) = &a.subsys {
        attrs.push_str(CGL_A_EVENT_SUBSYS, s);
    }
    if let Some(Hex(p)) = &a.payload {
        attrs.push(CGL_A_EVENT_PAYLOAD, p);
    }
    let replies = sock.request(
        core.id,
        CGL_CORE_GENL_VERSION,
        CGL_CORE_CMD_EVENT_LOG,
        &attrs,
        0,
    )?;
    let mut seq = None;
    for r in &replies {
        if let Some(s) = r.attrs.u64(CGL_A_EVENT_SEQ)? {
            seq = Some(s);
        }
    }
    let seq =
        seq.ok_or_else(|| Fail::new("the kernel logged the record but sent no sequence number"))?;
    if cli.json {
        out_json(&json!({ "seq": seq }), cli.pretty)
    } else {
        out(&format!("seq {seq}\n"))
    }
}

/// The fields of `CONFIG_GET`, in the order printed.
const CONFIG_FIELDS: [(&str, u16); 6] = [
    ("ring_size", CGL_A_CONFIG_RING_SIZE),
    ("printk_level", CGL_A_CONFIG_PRINTK_LEVEL),
    ("next_seq", CGL_A_CONFIG_NEXT_SEQ),
    ("records", CGL_A_CONFIG_RECORDS),
    ("overwritten", CGL_A_CONFIG_OVERWRITTEN),
    ("dropped", CGL_A_CONFIG_DROPPED),
];

/// Reads the configuration as (name, value) pairs.
fn config_get(sock: &mut GenlSocket, core: &Family) -> Result<Vec<(&'static str, u64)>, Fail> {
    let replies = sock.request(
        core.id,
        CGL_CORE_GENL_VERSION,
        CGL_CORE_CMD_CONFIG_GET,
        &AttrMap::new(),
        0,
    )?;
    let a = replies
        .first()
        .map(|m| &m.attrs)
        .ok_or_else(|| Fail::new("the kernel sent no configuration"))?;
    let mut v = Vec::new();
    for (name, ty) in CONFIG_FIELDS {
        let val = match a.get(ty).map(<[u8]>::len) {
            None => continue,
            Some(1) => a.u8(ty)?.map(u64::from),
            Some(4) => a.u32(ty)?.map(u64::from),
            _ => a.u64(ty)?,
        };
        if let Some(val) = val {
            v.push((name, val));
        }
    }
    Ok(v)
}

fn config(cli: &Cli, a: &ConfigArgs) -> Result<(), Fail> {
    let mut sock = open()?;
    let core = core_family(&mut sock)?;
    if a.ring_size.is_some() || a.printk_level.is_some() {
        let mut attrs = AttrMap::new();
        if let Some(n) = a.ring_size {
            attrs.push_u32(CGL_A_CONFIG_RING_SIZE, n);
        }
        if let Some(n) = a.printk_level {
            attrs.push_u8(CGL_A_CONFIG_PRINTK_LEVEL, n);
        }
        sock.request(
            core.id,
            CGL_CORE_GENL_VERSION,
            CGL_CORE_CMD_CONFIG_SET,
            &attrs,
            0,
        )?;
    }
    let cfg = config_get(&mut sock, &core)?;
    if cli.json {
        let m: serde_json::Map<String, Value> =
            cfg.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        out_json(&Value::Object(m), cli.pretty)
    } else {
        let w = cfg.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let s: String = cfg.iter().map(|(k, v)| format!("{k:<w$}  {v}\n")).collect();
        out(&s)
    }
}

/// The kernel side of `events follow`: one socket for requests and dumps,
/// one that only receives the "events" group.
struct NetlinkSource {
    req: GenlSocket,
    mc: GenlSocket,
    family: u16,
    filter: Filter,
}

impl Source for NetlinkSource {
    fn next_seq(&mut self) -> Result<u64, Abort> {
        let replies = self.req.request(
            self.family,
            CGL_CORE_GENL_VERSION,
            CGL_CORE_CMD_CONFIG_GET,
            &AttrMap::new(),
            0,
        )?;
        replies
            .iter()
            .find_map(|m| m.attrs.u64(CGL_A_CONFIG_NEXT_SEQ).transpose())
            .transpose()?
            .ok_or_else(|| Abort::Fail("the kernel sent no next sequence number".into()))
    }

    fn dump(
        &mut self,
        from: u64,
        f: &mut dyn FnMut(event::Decoded) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        self.req.request_each(
            self.family,
            CGL_CORE_GENL_VERSION,
            CGL_CORE_CMD_EVENT_GET,
            &self.filter.dump_attrs(Some(from)),
            libc::NLM_F_DUMP as u16,
            |m| f(Record::decode(&m.attrs)?),
        )
    }

    fn recv(&mut self) -> Result<Incoming, Abort> {
        Ok(match self.mc.recv(Some(follow::POLL_SLICE))? {
            Received::Msg(m) if m.family == self.family && m.cmd == CGL_CORE_CMD_EVENT_NEW => {
                match Record::decode(&m.attrs)?.record {
                    Some(r) => Incoming::Record(r),
                    None => Incoming::Idle,
                }
            }
            Received::Msg(_) | Received::Timeout | Received::Interrupted => Incoming::Idle,
            Received::Overrun => Incoming::Overrun,
        })
    }
}

/// This host's name, for syslog.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Where followed items go: stdout, syslog, the state file.
struct Emitter<'a> {
    json: bool,
    sink: Option<syslog::Sink>,
    hostname: String,
    state: Option<&'a Path>,
    /// Last record forwarded (and saved).
    last: Option<u64>,
    records: u64,
    count: Option<u64>,
    stop: Arc<AtomicBool>,
}

impl Emitter<'_> {
    fn emit(&mut self, item: Item) -> Result<(), Abort> {
        let line = if self.json {
            item.to_json().to_string()
        } else {
            item.line()
        };
        match out(&(line + "\n")) {
            Ok(()) => {}
            Err(f) if f.msg == CLOSED => return Err(Abort::Stop),
            Err(f) => return Err(Abort::Fail(f.msg)),
        }
        if let Some(sink) = &mut self.sink {
            let msg = match &item {
                Item::Record(r) => syslog::format_record(r, &self.hostname),
                Item::Lost(n) => syslog::format_lost(*n, syslog::now_ns(), &self.hostname),
            };
            match sink.send(&msg, &self.stop) {
                Ok(true) => {}
                Ok(false) => return Err(Abort::Stop),
                Err(e) => return Err(Abort::Fail(format!("syslog: {e}"))),
            }
        }
        if let Item::Record(r) = &item {
            self.last = Some(r.seq);
            self.save()?;
            self.records += 1;
            if self.count.is_some_and(|c| self.records >= c) {
                return Err(Abort::Stop);
            }
        }
        Ok(())
    }

    fn save(&self) -> Result<(), Abort> {
        if let (Some(p), Some(seq)) = (self.state, self.last) {
            state::save(p, seq)
                .map_err(|e| Abort::Fail(format!("state file {}: {e}", p.display())))?;
        }
        Ok(())
    }
}

fn follow_cmd(cli: &Cli, a: &FollowArgs) -> Result<(), Fail> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| Fail::new(format!("cannot handle signals: {e}")))?;
    }
    let deadline = match a.timeout {
        Some(t) if t.is_finite() && t >= 0.0 => Some(Instant::now() + Duration::from_secs_f64(t)),
        Some(t) => {
            return Err(Fail {
                msg: format!("--timeout {t}: not a number of seconds"),
                code: 2,
            })
        }
        None => None,
    };
    let saved = match &a.state {
        Some(p) => state::load(p).map_err(|e| Fail::new(format!("state file: {e}")))?,
        None => None,
    };

    let mut req = open()?;
    let core = core_family(&mut req)?;
    let group = core.group(CGL_CORE_MCGRP_EVENTS).ok_or_else(|| {
        Fail::new(format!(
            "{CGL_CORE_GENL_NAME} has no \"{CGL_CORE_MCGRP_EVENTS}\" multicast group"
        ))
    })?;
    // Subscribe first: whatever is created from here on is queued, so the
    // dump that follows cannot leave a hole.
    let mut mc = open()?;
    // A large queue makes overruns rare; the kernel caps it at rmem_max.
    let _ = mc.set_recv_buffer(4 << 20);
    mc.subscribe(group)?;

    let filter = a.filter.filter();
    let mut src = NetlinkSource {
        req,
        mc,
        family: core.id,
        filter: filter.clone(),
    };
    let sink = match &a.syslog {
        Some(t) => {
            Some(syslog::Sink::open(t.clone()).map_err(|e| Fail::new(format!("syslog: {e}")))?)
        }
        None => None,
    };
    // Last record forwarded, as the state file will say.
    let mut last = saved;
    let start = match (a.filter.from_seq, saved) {
        (Some(s), _) => Start::From(s),
        (None, Some(s)) => {
            let next = src.next_seq().map_err(abort_to_fail)?;
            if s >= next {
                // The kernel's numbers restarted below ours: a reboot or
                // a reloaded module. Its whole ring is new to us.
                eprintln!(
                    "cgl-ctl: saved sequence number {s} is not below the kernel's next ({next}): \
                     the log restarted; following from its oldest record"
                );
                last = Some(0);
                Start::From(1)
            } else {
                Start::From(s + 1)
            }
        }
        (None, None) => Start::New,
    };

    let mut em = Emitter {
        json: cli.json,
        sink,
        hostname: a.hostname.clone().unwrap_or_else(hostname),
        state: a.state.as_deref(),
        last,
        records: 0,
        count: a.count,
        stop: Arc::clone(&stop),
    };

    let should_stop = || {
        stop.load(Ordering::Relaxed)
            || deadline.is_some_and(|d| Instant::now() >= d)
            || a.count == Some(0)
    };
    let mut emit = |item: Item| {
        if should_stop() {
            return Err(Abort::Stop);
        }
        em.emit(item)
    };
    // Following only new records: should none come before exit, the state
    // file still records where this run started, so the next run misses
    // nothing logged in between.
    let mut baseline = None;
    let res = Follower::start(&mut src, start, &filter, &mut emit).and_then(|mut f| {
        if start == Start::New {
            baseline = Some(f.next().saturating_sub(1));
        }
        f.run(&mut src, &should_stop, &mut emit)
    });
    if em.last.is_none() {
        em.last = baseline;
    }
    // Saved after every record already; once more, to be sure it exists.
    let saved_res = em.save();
    match res {
        Ok(()) | Err(Abort::Stop) => saved_res.map_err(abort_to_fail),
        Err(e) => Err(abort_to_fail(e)),
    }
}

fn abort_to_fail(a: Abort) -> Fail {
    match a {
        Abort::Stop => Fail::new(CLOSED),
        Abort::Fail(m) => Fail::new(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cli_parses_the_documented_forms() {
        let c = Cli::try_parse_from([
            "cgl-ctl",
            "-j",
            "events",
            "list",
            "--severity",
            "warning",
            "--last",
            "5",
        ])
        .unwrap();
        assert!(c.json);
        match c.cmd.unwrap() {
            Cmd::Events(EventsCmd::List(a)) => {
                assert_eq!(a.filter.severity, Some(4));
                assert_eq!(a.last, Some(5));
            }
            c => panic!("{c:?}"),
        }
        let c = Cli::try_parse_from([
            "cgl-ctl",
            "events",
            "log",
            "--severity",
            "3",
            "--payload",
            "0a0b",
            "link",
            "down",
        ])
        .unwrap();
        match c.cmd.unwrap() {
            Cmd::Events(EventsCmd::Log(a)) => {
                assert_eq!(a.severity, 3);
                assert_eq!(a.payload.unwrap().0, vec![10, 11]);
                assert_eq!(a.message.join(" "), "link down");
            }
            c => panic!("{c:?}"),
        }
        let c = Cli::try_parse_from([
            "cgl-ctl",
            "events",
            "follow",
            "--syslog",
            "tcp://127.0.0.1:601",
            "--state",
            "/tmp/s",
            "--count",
            "3",
            "--json",
        ])
        .unwrap();
        assert!(c.json);
        match c.cmd.unwrap() {
            Cmd::Events(EventsCmd::Follow(a)) => {
                assert_eq!(a.syslog, Some(syslog::Target::Tcp("127.0.0.1:601".into())));
                assert_eq!(a.count, Some(3));
            }
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn cli_usage_errors_exit_2() {
        for args in [
            vec!["cgl-ctl", "events", "list", "--severity", "loud"],
            vec!["cgl-ctl", "events", "log", "--severity", "err"],
            vec![
                "cgl-ctl",
                "events",
                "log",
                "--severity",
                "err",
                "--payload",
                "xyz",
                "m",
            ],
            vec!["cgl-ctl", "events", "config", "--printk-level", "9"],
            vec!["cgl-ctl", "events", "follow", "--syslog", "ftp://h:1"],
        ] {
            let e = Cli::try_parse_from(&args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn cli_hb_and_wdt_forms() {
        let p = |v: &[&str]| Cli::try_parse_from(v).map(|c| c.cmd.unwrap());
        match p(&[
            "cgl-ctl",
            "hb",
            "register",
            "db",
            "--period",
            "2s",
            "--misses",
            "3",
            "--action",
            "notify",
            "--group",
            "g",
            "--critical",
            "--pid",
            "1",
        ])
        .unwrap()
        {
            Cmd::Hb(hb::HbCmd::Register(a)) => {
                assert_eq!((a.period, a.misses, a.pid), (2000, 3, Some(1)));
                assert_eq!(a.action, Some(hb::HbAction::Notify));
                assert!(a.critical);
            }
            c => panic!("{c:?}"),
        }
        match p(&["cgl-ctl", "hb", "beat", "--handle", "0x10"]).unwrap() {
            Cmd::Hb(hb::HbCmd::Beat(t)) => assert_eq!((t.name, t.handle), (None, Some(16))),
            c => panic!("{c:?}"),
        }
        match p(&["cgl-ctl", "hb", "unregister", "db"]).unwrap() {
            Cmd::Hb(hb::HbCmd::Unregister(t)) => assert_eq!(t.name.as_deref(), Some("db")),
            c => panic!("{c:?}"),
        }
        match p(&[
            "cgl-ctl",
            "hb",
            "beat-loop",
            "db",
            "--interval",
            "50ms",
            "--count",
            "4",
        ])
        .unwrap()
        {
            Cmd::Hb(hb::HbCmd::BeatLoop(a)) => {
                assert_eq!(a.interval, Duration::from_millis(50));
                assert_eq!(a.count, Some(4));
            }
            c => panic!("{c:?}"),
        }
        match p(&["cgl-ctl", "hb", "watch", "--count", "1", "--timeout", "2.5"]).unwrap() {
            Cmd::Hb(hb::HbCmd::Watch(a)) => assert_eq!((a.count, a.timeout), (Some(1), Some(2.5))),
            c => panic!("{c:?}"),
        }
        assert!(matches!(
            p(&["cgl-ctl", "-j", "hb", "list"]).unwrap(),
            Cmd::Hb(hb::HbCmd::List)
        ));
        assert!(matches!(
            p(&["cgl-ctl", "hb", "groups"]).unwrap(),
            Cmd::Hb(hb::HbCmd::Groups)
        ));
        assert!(matches!(
            p(&["cgl-ctl", "hb", "show", "db"]).unwrap(),
            Cmd::Hb(hb::HbCmd::Show(_))
        ));
        assert!(matches!(
            p(&["cgl-ctl", "wdt", "status", "-j"]).unwrap(),
            Cmd::Wdt(wdt::WdtCmd::Status)
        ));
        for args in [
            vec!["cgl-ctl", "hb", "beat"],
            vec!["cgl-ctl", "hb", "beat", "db", "--handle", "1"],
            vec!["cgl-ctl", "hb", "show", "--handle", "zz"],
            vec!["cgl-ctl", "hb", "beat-loop", "db"],
            vec!["cgl-ctl", "hb", "beat-loop", "db", "--interval", "0"],
            vec!["cgl-ctl", "hb", "watch", "--timeout", "-1"],
            vec!["cgl-ctl", "hb", "register", "db", "--misses", "1"],
            vec!["cgl-ctl", "wdt"],
        ] {
            let e = Cli::try_parse_from(&args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn cli_digsig_forms() {
        let p = |v: &[&str]| Cli::try_parse_from(v).map(|c| c.cmd.unwrap());
        match p(&[
            "cgl-ctl", "digsig", "sign", "a", "b", "--key", "k.pem", "--cert", "c.pem",
        ])
        .unwrap()
        {
            Cmd::Digsig(digsig::DigsigCmd::Sign(a)) => {
                assert_eq!(a.files.len(), 2);
                assert_eq!(a.cert.as_deref(), Some(Path::new("c.pem")));
                assert!(a.output.is_none() && !a.keyid);
            }
            c => panic!("{c:?}"),
        }
        match p(&["cgl-ctl", "digsig", "mode", "permissive"]).unwrap() {
            Cmd::Digsig(digsig::DigsigCmd::Mode(a)) => {
                assert_eq!(a.mode, Some(digsig::Mode::Permissive))
            }
            c => panic!("{c:?}"),
        }
        match p(&["cgl-ctl", "digsig", "revoke", "--key", "0x2a"]).unwrap() {
            Cmd::Digsig(digsig::DigsigCmd::Revoke(a)) => assert_eq!(a.key, Some(42)),
            c => panic!("{c:?}"),
        }
        assert!(matches!(
            p(&["cgl-ctl", "digsig", "key", "add", "c.der"]).unwrap(),
            Cmd::Digsig(digsig::DigsigCmd::Key(digsig::KeyCmd::Add(_)))
        ));
        for args in [
            vec!["cgl-ctl", "digsig", "sign", "a"],
            vec!["cgl-ctl", "digsig", "sign", "--key", "k"],
            vec!["cgl-ctl", "digsig", "verify"],
            vec!["cgl-ctl", "digsig", "mode", "on"],
            vec!["cgl-ctl", "digsig", "revoke"],
            vec!["cgl-ctl", "digsig", "revoke", "--hash", "00", "--file", "f"],
            vec!["cgl-ctl", "digsig", "revoke", "--key", "-1"],
            vec!["cgl-ctl", "digsig", "key"],
        ] {
            let e = Cli::try_parse_from(&args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn cli_fib_and_route_forms() {
        let p = |v: &[&str]| Cli::try_parse_from(batch_alias(v.iter().map(Into::into)));
        let c = p(&["cgl-ctl", "fib", "add", "7"]).unwrap();
        match c.cmd.unwrap() {
            Cmd::Fib(fib::FibCmd::Add(o)) => assert_eq!((o.id, o.words.len()), (7, 0)),
            c => panic!("{c:?}"),
        }
        match p(&["cgl-ctl", "fib", "add", "7", "neigh-limit", "64"])
            .unwrap()
            .cmd
            .unwrap()
        {
            Cmd::Fib(fib::FibCmd::Add(o)) => assert_eq!(o.words, ["neigh-limit", "64"]),
            c => panic!("{c:?}"),
        }
        match p(&["cgl-ctl", "fib", "set", "7", "neigh-limit", "64"])
            .unwrap()
            .cmd
            .unwrap()
        {
            Cmd::Fib(fib::FibCmd::Set(o)) => assert_eq!((o.id, o.words.len()), (7, 2)),
            c => panic!("{c:?}"),
        }
        let c = p(&[
            "cgl-ctl",
            "-j",
            "fib",
            "bind",
            "dev",
            "veth0",
            "fib",
            "10",
            "addr",
            "10.0.0.1/24",
        ])
        .unwrap();
        match c.cmd.unwrap() {
            Cmd::Fib(fib::FibCmd::Bind(w)) => {
                assert_eq!(
                    w.words,
                    ["dev", "veth0", "fib", "10", "addr", "10.0.0.1/24"]
                )
            }
            c => panic!("{c:?}"),
        }
        assert!(matches!(
            p(&["cgl-ctl", "fib", "unbind", "dev", "veth0"])
                .unwrap()
                .cmd
                .unwrap(),
            Cmd::Fib(fib::FibCmd::Unbind(_))
        ));
        assert!(matches!(
            p(&["cgl-ctl", "fib", "ports", "-j"]).unwrap().cmd.unwrap(),
            Cmd::Fib(fib::FibCmd::Ports(_))
        ));
        let c = p(&[
            "cgl-ctl",
            "neigh",
            "add",
            "10.0.0.2",
            "lladdr",
            "02:00:00:00:00:01",
            "dev",
            "veth0",
            "fib",
            "10",
        ])
        .unwrap();
        match c.cmd.unwrap() {
            Cmd::Neigh(neigh::NeighCmd::Add(w)) => assert_eq!(w.words.len(), 7),
            c => panic!("{c:?}"),
        }
        for (v, want) in [("replace", "Replace"), ("delete", "Del"), ("ls", "Show")] {
            let c = p(&["cgl-ctl", "-6", "neigh", v]).unwrap();
            assert!(format!("{:?}", c.cmd.unwrap()).starts_with(&format!("Neigh({want}(")));
        }
        let c = p(&["cgl-ctl", "fib", "ls", "-j"]).unwrap();
        assert!(c.json);
        assert!(matches!(c.cmd.unwrap(), Cmd::Fib(fib::FibCmd::List)));
        // Route words reach the hand parser as they are; -4/-6/-j are
        // global flags wherever they stand.
        let c = p(&[
            "cgl-ctl",
            "route",
            "add",
            "blackhole",
            "10.0.0.0/8",
            "fib",
            "7",
            "-6",
            "-j",
        ])
        .unwrap();
        assert!(c.ipv6 && c.json && !c.ipv4);
        match c.cmd.unwrap() {
            Cmd::Route(fib::RouteCmd::Add(w)) => {
                assert_eq!(w.words, ["blackhole", "10.0.0.0/8", "fib", "7"])
            }
            c => panic!("{c:?}"),
        }
        let c = p(&["cgl-ctl", "-4", "route", "ls", "table", "3"]).unwrap();
        assert!(c.ipv4);
        assert!(matches!(c.cmd.unwrap(), Cmd::Route(fib::RouteCmd::Show(_))));
        assert!(matches!(
            p(&["cgl-ctl", "route", "delete", "10.0.0.0/8", "fib", "1"])
                .unwrap()
                .cmd
                .unwrap(),
            Cmd::Route(fib::RouteCmd::Del(_))
        ));
        // -batch is --batch (not -b atch).
        for flag in ["-b", "--batch", "-batch"] {
            let c = p(&["cgl-ctl", flag, "routes.txt"]).unwrap();
            assert_eq!(c.batch.as_deref(), Some(Path::new("routes.txt")));
            assert!(c.cmd.is_none());
        }
        let c = p(&["cgl-ctl", "-6", "-j", "-batch", "-"]).unwrap();
        assert!(c.ipv6 && c.json);
        assert_eq!(c.batch.as_deref(), Some(Path::new("-")));
        for args in [
            vec!["cgl-ctl", "fib", "add", "4294967295"],
            vec!["cgl-ctl", "fib", "show"],
            vec!["cgl-ctl", "-4", "-6", "fib", "list"],
            vec!["cgl-ctl", "--batch"],
            vec!["cgl-ctl", "route", "frob"],
            vec!["cgl-ctl", "fib", "set"],
            vec!["cgl-ctl", "fib", "set", "x", "neigh-limit", "1"],
            vec!["cgl-ctl", "neigh", "get", "10.0.0.2"],
            vec!["cgl-ctl", "neigh"],
        ] {
            let e = p(&args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(hb_line(&None), "heartbeat: absent\n");
        let c = Some(vec![
            ("count", Some(2)),
            ("limit", Some(1024)),
            ("misses", Some(5)),
            ("deaths", Some(1)),
            ("exits", None),
        ]);
        assert_eq!(
            hb_line(&c),
            "heartbeat: 2 entities (limit 1024), misses 5, deaths 1, exits ?\n"
        );
        assert_eq!(wdt_line(&None), "watchdog: no \"CGL watchdog\" device\n");
        let w = wdt::Status {
            device: "/dev/watchdog1".into(),
            sysfs: "/sys/class/watchdog/watchdog1".into(),
            values: vec![
                ("state", Some("active".into())),
                ("timeout", Some("30".into())),
                ("action", Some("panic".into())),
            ],
        };
        assert_eq!(
            wdt_line(&Some(w)),
            "watchdog: /dev/watchdog1, active, timeout 30s, action panic\n"
        );
    }

    #[test]
    fn columns_align() {
        let s = columns(&[
            vec!["NAME".into(), "ID".into()],
            vec!["cgl_core".into(), "30".into()],
        ]);
        assert_eq!(s, "  NAME      ID\n  cgl_core  30\n");
    }
}
