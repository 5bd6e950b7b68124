// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl hb`: the application heartbeat monitor, over the `cgl_hb`
//! generic netlink family (`include/uapi/linux/cgl_heartbeat.h`).
//!
//! `register`, `beat`, `unregister` act on one entity; `list`, `show` and
//! `groups` read the monitor; `watch` prints the "alerts" multicast group;
//! `beat-loop` is the simplest application there is: it beats an entity
//! registered beforehand, at an interval.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::genl::{self, AttrMap, Family, GenlSocket, Received};
use crate::uapi::*;
use crate::{columns, open, out, out_json, Cli, Fail, CLOSED};

/// `hb` subcommands.
#[derive(Subcommand, Debug)]
pub enum HbCmd {
    /// Register an entity (prints its handle).
    Register(RegisterArgs),
    /// Beat an entity once.
    Beat(Target),
    /// Unregister an entity.
    Unregister(Target),
    /// List the entities.
    List,
    /// Show one entity.
    Show(Target),
    /// List the groups: members and dead members.
    Groups,
    /// Print the state changes of entities with the notify action as
    /// they come (the "alerts" multicast group).
    Watch(WatchArgs),
    /// Beat an entity (registered beforehand) at an interval, until
    /// interrupted or --count beats.
    BeatLoop(BeatLoopArgs),
}

/// The entity a command acts on: a name or a handle.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// Name of the entity.
    #[arg(value_name = "NAME", value_parser = parse_name)]
    pub name: Option<String>,
    /// Handle of the entity (hex with 0x, or decimal).
    #[arg(long, value_name = "H", value_parser = parse_handle)]
    pub handle: Option<u32>,
}

impl Target {
    /// The attribute naming the entity.
    fn attrs(&self) -> AttrMap {
        let mut a = AttrMap::new();
        match (&self.name, self.handle) {
            (_, Some(h)) => a.push_u32(CGL_HB_A_HANDLE, h),
            (Some(n), None) => a.push_str(CGL_HB_A_NAME, n),
            (None, None) => &mut a,
        };
        a
    }
}

/// What happens when an entity is declared dead (`enum cgl_hb_action`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HbAction {
    /// The event only.
    Event,
    /// Send --signal to the watched process.
    Signal,
    /// Multicast to "alerts" (also recovery and exit).
    Notify,
    /// Run --command (needs CAP_SYS_ADMIN).
    Command,
    /// Panic the node (needs CAP_SYS_ADMIN).
    Panic,
}

impl HbAction {
    /// The number of the action on the wire.
    pub fn to_u8(self) -> u8 {
        match self {
            HbAction::Event => CGL_HB_ACT_EVENT,
            HbAction::Signal => CGL_HB_ACT_SIGNAL,
            HbAction::Notify => CGL_HB_ACT_NOTIFY,
            HbAction::Command => CGL_HB_ACT_COMMAND,
            HbAction::Panic => CGL_HB_ACT_PANIC,
        }
    }
}

/// `hb register`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct RegisterArgs {
    /// Name: 1-31 printable characters, no '/' or space.
    #[arg(value_name = "NAME", value_parser = parse_name)]
    pub name: String,
    /// Beat period: 100ms, 2s, 1m, or plain milliseconds (1ms-1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_period)]
    pub period: u32,
    /// Beats that may be missed before the entity is dead (1-1000).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(CGL_HB_MISSES_MAX)))]
    pub misses: u32,
    /// What happens when the entity is dead (the kernel's default: event).
    #[arg(long, value_name = "ACTION")]
    pub action: Option<HbAction>,
    /// Signal of the signal action: a name (TERM, SIGKILL, usr1) or a
    /// number (the kernel's default: TERM).
    #[arg(long, value_name = "SIG", value_parser = parse_signal)]
    pub signal: Option<u8>,
    /// Program the command action runs (absolute path).
    #[arg(long, value_name = "PATH", value_parser = parse_command,
          required_if_eq("action", "command"))]
    pub command: Option<String>,
    /// Group of the entity.
    #[arg(long, value_name = "G", value_parser = parse_name)]
    pub group: Option<String>,
    /// A dead entity stops the feeding of the CGL watchdog.
    #[arg(long)]
    pub critical: bool,
    /// Watched process: its exit is reported at once. Default: the
    /// process that runs cgl-ctl (its parent: the shell or script), not
    /// cgl-ctl itself, which exits at once. A process other than the
    /// caller needs CAP_SYS_ADMIN.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
}

/// `hb watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Exit after N alerts.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Exit (successfully) after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<f64>,
}

/// `hb beat-loop`.
#[derive(Args, Debug)]
pub struct BeatLoopArgs {
    #[command(flatten)]
    pub target: Target,
    /// Time between beats: 100ms, 2s, 1m, or plain milliseconds.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub interval: Duration,
    /// Exit after N beats.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// Parses a duration: a number with a unit `ms`, `s`, `m` or `h`, or a
/// plain number of milliseconds. Fractions are allowed if the result is a
/// whole number of milliseconds (`1.5s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit_ms: u64 = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        u => {
            return Err(format!(
                "'{s}': unknown unit '{u}' (use ms, s, m or h; a plain number is ms)"
            ))
        }
    };
    let bad = || format!("'{s}' is not a duration (e.g. 100ms, 2s, 1m, or milliseconds)");
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if num.is_empty() || (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(bad());
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut ms = int.checked_mul(unit_ms).ok_or_else(bad)?;
    if !frac.is_empty() {
        // frac / 10^len * unit_ms, exactly.
        let scale = 10u64
            .checked_pow(u32::try_from(frac.len()).map_err(|_| bad())?)
            .ok_or_else(bad)?;
        let f: u64 = frac.parse().map_err(|_| bad())?;
        let part = f.checked_mul(unit_ms).ok_or_else(bad)?;
        if part % scale != 0 {
            return Err(format!("'{s}' is not a whole number of milliseconds"));
        }
        ms = ms.checked_add(part / scale).ok_or_else(bad)?;
    }
    Ok(Duration::from_millis(ms))
}

/// Parses a beat period, in the range the kernel accepts; milliseconds.
pub fn parse_period(s: &str) -> Result<u32, String> {
    let ms = parse_duration(s)?.as_millis();
    if ms < u128::from(CGL_HB_PERIOD_MIN_MS) || ms > u128::from(CGL_HB_PERIOD_MAX_MS) {
        return Err(format!(
            "period {} out of range {}ms-{} (1h)",
            s.trim(),
            CGL_HB_PERIOD_MIN_MS,
            format_ms(u64::from(CGL_HB_PERIOD_MAX_MS))
        ));
    }
    Ok(ms as u32)
}

/// Parses the interval of `beat-loop`: a duration of at least 1ms.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("the interval must be at least 1ms".into());
    }
    Ok(d)
}

/// Parses a non-negative number of seconds.
fn parse_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!("'{s}' is not a number of seconds")),
    }
}

/// Formats milliseconds as `parse_duration` reads them: `1m`, `2s`,
/// `100ms`.
pub fn format_ms(ms: u64) -> String {
    if ms != 0 && ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms != 0 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms != 0 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Formats an elapsed time for a table: `850ms`, `12.3s`, `4m05s`,
/// `2h03m`.
pub fn format_ago(ns: u64) -> String {
    let ms = ns / 1_000_000;
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{}.{}s", ms / 1000, ms % 1000 / 100)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000)
    }
}

/// Signal names, without "SIG", and their numbers on this architecture.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
    // Aliases, after the names they alias (signal_name finds those).
    ("IOT", libc::SIGABRT),
    ("POLL", libc::SIGIO),
    ("CLD", libc::SIGCHLD),
];

/// Highest signal number the kernel accepts (`_NSIG`).
const SIG_MAX: u8 = 64;

/// Parses a signal: a name with or without "SIG", any case (TERM,
/// SIGKILL, usr1), or a number 1-64.
pub fn parse_signal(s: &str) -> Result<u8, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<u32>() {
        return match u8::try_from(n) {
            Ok(n) if (1..=SIG_MAX).contains(&n) => Ok(n),
            _ => Err(format!("signal {n} out of range 1-{SIG_MAX}")),
        };
    }
    let u = t.to_ascii_uppercase();
    let bare = u.strip_prefix("SIG").unwrap_or(&u);
    SIGNALS
        .iter()
        .find(|(name, _)| *name == bare)
        .map(|&(_, n)| n as u8)
        .ok_or_else(|| format!("unknown signal '{s}' (a name such as TERM, KILL, USR1, or 1-64)"))
}

/// The name of signal `n` (`TERM`), or its number.
pub fn signal_name(n: u8) -> String {
    SIGNALS
        .iter()
        .find(|&&(_, v)| v == i32::from(n))
        .map_or_else(|| n.to_string(), |(name, _)| (*name).to_string())
}

/// Parses an entity or group name: 1-31 printable ASCII characters, no
/// '/' or space (as the kernel accepts).
pub fn parse_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty name".into());
    }
    if s.len() > CGL_HB_NAME_MAX {
        return Err(format!("name '{s}' longer than {CGL_HB_NAME_MAX} bytes"));
    }
    if !s.bytes().all(|c| c.is_ascii_graphic() && c != b'/') {
        return Err(format!(
            "name '{s}': printable ASCII characters only, no '/' or space"
        ));
    }
    Ok(s.to_string())
}

/// Parses the program of the command action: an absolute path of at most
/// 255 bytes.
fn parse_command(s: &str) -> Result<String, String> {
    if !s.starts_with('/') {
        return Err(format!("'{s}': the command must be an absolute path"));
    }
    if s.len() > CGL_HB_COMMAND_MAX {
        return Err(format!("command longer than {CGL_HB_COMMAND_MAX} bytes"));
    }
    Ok(s.to_string())
}

/// Parses a handle: `0x` and hex, or decimal.
pub fn parse_handle(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => t.parse(),
    };
    r.map_err(|_| format!("'{s}' is not a handle (0x... or decimal)"))
}

/// Formats a handle as the kernel's sysfs does: `0x00000001`.
pub fn format_handle(h: u32) -> String {
    format!("{h:#010x}")
}

/// Name of an action number.
pub fn action_name(a: u8) -> String {
    match a {
        CGL_HB_ACT_EVENT => "event".into(),
        CGL_HB_ACT_SIGNAL => "signal".into(),
        CGL_HB_ACT_NOTIFY => "notify".into(),
        CGL_HB_ACT_COMMAND => "command".into(),
        CGL_HB_ACT_PANIC => "panic".into(),
        n => format!("action{n}"),
    }
}

/// Name of a state number.
pub fn state_name(s: u8) -> String {
    match s {
        CGL_HB_STATE_ALIVE => "alive".into(),
        CGL_HB_STATE_LATE => "late".into(),
        CGL_HB_STATE_DEAD => "dead".into(),
        CGL_HB_STATE_EXITED => "exited".into(),
        n => format!("state{n}"),
    }
}

/// The attributes of a REGISTER request. `pid` is the watched process
/// (`RegisterArgs::pid`, or its default, filled in by the caller).
pub fn register_attrs(a: &RegisterArgs, pid: Option<u32>) -> AttrMap {
    let mut m = AttrMap::new();
    m.push_str(CGL_HB_A_NAME, &a.name)
        .push_u32(CGL_HB_A_PERIOD_MS, a.period)
        .push_u32(CGL_HB_A_MAX_MISSES, a.misses);
    if let Some(act) = a.action {
        m.push_u8(CGL_HB_A_ACTION, act.to_u8());
    }
    if let Some(s) = a.signal {
        m.push_u8(CGL_HB_A_SIGNAL, s);
    }
    if let Some(c) = &a.command {
        m.push_str(CGL_HB_A_COMMAND, c);
    }
    if let Some(g) = &a.group {
        m.push_str(CGL_HB_A_GROUP, g);
    }
    if a.critical {
        // A flag: present, zero length.
        m.push(CGL_HB_A_CRITICAL, &[]);
    }
    if let Some(p) = pid {
        m.push_u32(CGL_HB_A_PID, p);
    }
    m
}

/// An entity, as GET describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub handle: u32,
    pub name: String,
    pub period_ms: u32,
    pub max_misses: u32,
    pub action: u8,
    pub signal: Option<u8>,
    pub group: Option<String>,
    pub critical: bool,
    pub pid: Option<u32>,
    pub state: u8,
    /// Consecutive misses; absent once the entity left the schedule.
    pub misses: Option<u32>,
    pub last_beat_ns: Option<u64>,
    pub deadline_ns: Option<u64>,
    pub late_ns: Option<u64>,
}

impl Entity {
    /// Decodes the attributes of a GET reply (pad attributes are ignored).
    pub fn decode(a: &AttrMap) -> genl::Result<Self> {
        let need = |what: &str| genl::Error::Malformed(format!("entity without {what}"));
        Ok(Entity {
            handle: a.u32(CGL_HB_A_HANDLE)?.ok_or_else(|| need("a handle"))?,
            name: a.string(CGL_HB_A_NAME).ok_or_else(|| need("a name"))?,
            period_ms: a.u32(CGL_HB_A_PERIOD_MS)?.unwrap_or(0),
            max_misses: a.u32(CGL_HB_A_MAX_MISSES)?.unwrap_or(0),
            action: a.u8(CGL_HB_A_ACTION)?.unwrap_or(CGL_HB_ACT_EVENT),
            signal: a.u8(CGL_HB_A_SIGNAL)?,
            group: a.string(CGL_HB_A_GROUP).filter(|g| !g.is_empty()),
            critical: a.has(CGL_HB_A_CRITICAL),
            pid: a.u32(CGL_HB_A_PID)?,
            state: a.u8(CGL_HB_A_STATE)?.unwrap_or(CGL_HB_STATE_ALIVE),
            misses: a.u32(CGL_HB_A_MISSES)?,
            last_beat_ns: a.u64(CGL_HB_A_LAST_BEAT_NS)?,
            deadline_ns: a.u64(CGL_HB_A_DEADLINE_NS)?,
            late_ns: a.u64(CGL_HB_A_LATE_NS)?,
        })
    }

    /// The action, with the signal of the signal action: `signal(TERM)`.
    fn action_text(&self) -> String {
        match (self.action, self.signal) {
            (CGL_HB_ACT_SIGNAL, Some(s)) => format!("signal({})", signal_name(s)),
            (a, _) => action_name(a),
        }
    }

    /// Time since the last beat, from `now` (CLOCK_MONOTONIC ns).
    fn ago_ns(&self, now: u64) -> Option<u64> {
        self.last_beat_ns.map(|t| now.saturating_sub(t))
    }

    /// One row of the `list` table.
    fn row(&self, now: u64) -> Vec<String> {
        vec![
            format_handle(self.handle),
            self.name.clone(),
            format_ms(u64::from(self.period_ms)),
            format!(
                "{}/{}",
                self.misses.map_or("-".into(), |m| m.to_string()),
                self.max_misses
            ),
            state_name(self.state),
            self.ago_ns(now).map_or("-".into(), format_ago),
            self.pid.map_or("-".into(), |p| p.to_string()),
            self.group.clone().unwrap_or_else(|| "-".into()),
            self.action_text(),
            if self.critical { "yes" } else { "no" }.into(),
        ]
    }

    /// The entity as JSON; `now` is CLOCK_MONOTONIC ns.
    pub fn to_json(&self, now: u64) -> Value {
        json!({
            "handle": self.handle,
            "name": self.name,
            "period_ms": self.period_ms,
            "misses": self.misses,
            "max_misses": self.max_misses,
            "state": state_name(self.state),
            "last_beat_ns": self.last_beat_ns,
            "last_beat_ago_ms": self.ago_ns(now).map(|n| n / 1_000_000),
            "deadline_ns": self.deadline_ns,
            "late_ns": self.late_ns,
            "pid": self.pid,
            "group": self.group,
            "action": action_name(self.action),
            "signal": self.signal,
            "signal_name": self.signal.map(signal_name),
            "critical": self.critical,
        })
    }

    /// The entity as `key: value` lines, for `show`.
    pub fn details(&self, now: u64) -> String {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let rows: Vec<(&str, String)> = vec![
            ("handle", format_handle(self.handle)),
            ("name", self.name.clone()),
            ("state", state_name(self.state)),
            ("period", format_ms(u64::from(self.period_ms))),
            (
                "misses",
                format!(
                    "{} of {} allowed",
                    opt(self.misses.map(|m| m.to_string())),
                    self.max_misses
                ),
            ),
            (
                "last beat",
                opt(self.ago_ns(now).map(|a| format!("{} ago", format_ago(a)))),
            ),
            (
                "deadline",
                opt(self.deadline_ns.map(|d| {
                    if d >= now {
                        format!("in {}", format_ago(d - now))
                    } else {
                        format!("{} ago", format_ago(now - d))
                    }
                })),
            ),
            ("late", opt(self.late_ns.map(|l| format!("{}us", l / 1000)))),
            ("pid", opt(self.pid.map(|p| p.to_string()))),
            ("group", opt(self.group.clone())),
            ("action", self.action_text()),
            ("critical", if self.critical { "yes" } else { "no" }.into()),
        ];
        let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(k, v)| format!("{:<w$}  {v}\n", format!("{k}:"), w = w + 1))
            .collect()
    }
}

/// `rows` as left-aligned columns, not indented (a table of its own, as
/// `events list` prints).
fn flush_table(rows: &[Vec<String>]) -> String {
    columns(rows)
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect()
}

/// The `list` table; `now` is CLOCK_MONOTONIC ns.
pub fn table(entities: &[Entity], now: u64) -> String {
    let mut rows = vec![[
        "HANDLE",
        "NAME",
        "PERIOD",
        "MISSES/MAX",
        "STATE",
        "LAST-BEAT",
        "PID",
        "GROUP",
        "ACTION",
        "CRITICAL",
    ]
    .map(String::from)
    .to_vec()];
    rows.extend(entities.iter().map(|e| e.row(now)));
    flush_table(&rows)
}

/// A group, as GROUP_GET describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub members: u32,
    pub dead: u32,
}

impl Group {
    /// Decodes the attributes of a GROUP_GET reply.
    pub fn decode(a: &AttrMap) -> genl::Result<Self> {
        Ok(Group {
            name: a.string(CGL_HB_A_GROUP).unwrap_or_default(),
            members: a.u32(CGL_HB_A_GROUP_MEMBERS)?.unwrap_or(0),
            dead: a.u32(CGL_HB_A_GROUP_DEAD)?.unwrap_or(0),
        })
    }
}

/// The `groups` table.
pub fn groups_table(groups: &[Group]) -> String {
    let mut rows = vec![vec!["GROUP".into(), "MEMBERS".into(), "DEAD".into()]];
    rows.extend(
        groups
            .iter()
            .map(|g| vec![g.name.clone(), g.members.to_string(), g.dead.to_string()]),
    );
    flush_table(&rows)
}

/// An ALERT notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub handle: u32,
    pub name: String,
    pub state: u8,
    pub misses: Option<u32>,
    pub late_ns: Option<u64>,
}

impl Alert {
    /// Decodes the attributes of an ALERT.
    pub fn decode(a: &AttrMap) -> genl::Result<Self> {
        Ok(Alert {
            handle: a.u32(CGL_HB_A_HANDLE)?.unwrap_or(0),
            name: a.string(CGL_HB_A_NAME).unwrap_or_default(),
            state: a.u8(CGL_HB_A_STATE)?.unwrap_or(CGL_HB_STATE_ALIVE),
            misses: a.u32(CGL_HB_A_MISSES)?,
            late_ns: a.u64(CGL_HB_A_LATE_NS)?,
        })
    }

    /// The alert as JSON; `time_ns` is when it arrived (CLOCK_REALTIME).
    pub fn to_json(&self, time_ns: u64) -> Value {
        json!({
            "time": crate::event::rfc3339_micros(time_ns),
            "name": self.name,
            "handle": self.handle,
            "state": state_name(self.state),
            "misses": self.misses,
            "late_us": self.late_ns.map(|l| l / 1000),
        })
    }

    /// The alert as one line of text.
    pub fn line(&self, time_ns: u64) -> String {
        format!(
            "{}  {}  handle {}  {}  misses {}  late {}us",
            crate::event::rfc3339_micros(time_ns),
            self.name,
            format_handle(self.handle),
            state_name(self.state),
            self.misses.map_or("-".into(), |m| m.to_string()),
            self.late_ns.map_or("-".into(), |l| (l / 1000).to_string()),
        )
    }
}

/// CLOCK_MONOTONIC now, in ns (the clock of the kernel's time stamps).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the duration of the call.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if r != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Resolves `cgl_hb`, or explains that it is absent.
fn family(sock: &mut GenlSocket) -> Result<Family, Fail> {
    match sock.resolve_family(CGL_HB_GENL_NAME)? {
        Some(f) => {
            if f.version != u32::from(CGL_HB_GENL_VERSION) {
                eprintln!(
                    "cgl-ctl: warning: {} is version {}, this tool speaks version {}",
                    CGL_HB_GENL_NAME, f.version, CGL_HB_GENL_VERSION
                );
            }
            Ok(f)
        }
        None => Err(Fail::new(format!(
            "generic netlink family {CGL_HB_GENL_NAME} not found (is the cgl_heartbeat module loaded?)"
        ))),
    }
}

/// Runs an `hb` subcommand.
pub fn run(cli: &Cli, cmd: &HbCmd) -> Result<(), Fail> {
    let mut sock = open()?;
    let fam = family(&mut sock)?;
    let mut s = Session {
        sock,
        fam,
        json: cli.json,
        pretty: cli.pretty,
    };
    match cmd {
        HbCmd::Register(a) => s.register(a),
        HbCmd::Beat(t) => s.simple(CGL_HB_CMD_BEAT, t),
        HbCmd::Unregister(t) => s.simple(CGL_HB_CMD_UNREGISTER, t),
        HbCmd::List => s.list(),
        HbCmd::Show(t) => s.show(t),
        HbCmd::Groups => s.groups(),
        HbCmd::Watch(a) => s.watch(a),
        HbCmd::BeatLoop(a) => s.beat_loop(a),
    }
}

/// A socket with `cgl_hb` resolved, and the output options.
struct Session {
    sock: GenlSocket,
    fam: Family,
    json: bool,
    pretty: bool,
}

/// Stop flag set by SIGINT and SIGTERM.
fn stop_flag() -> Result<Arc<AtomicBool>, Fail> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| Fail::new(format!("cannot handle signals: {e}")))?;
    }
    Ok(stop)
}

impl Session {
    fn request(&mut self, cmd: u8, attrs: &AttrMap) -> Result<Vec<genl::GenlMsg>, Fail> {
        Ok(self
            .sock
            .request(self.fam.id, CGL_HB_GENL_VERSION, cmd, attrs, 0)?)
    }

    fn dump(&mut self, cmd: u8) -> Result<Vec<genl::GenlMsg>, Fail> {
        Ok(self
            .sock
            .dump(self.fam.id, CGL_HB_GENL_VERSION, cmd, &AttrMap::new())?)
    }

    fn register(&mut self, a: &RegisterArgs) -> Result<(), Fail> {
        // SAFETY: getppid cannot fail.
        let pid = a.pid.unwrap_or_else(|| unsafe { libc::getppid() } as u32);
        let replies = self.request(CGL_HB_CMD_REGISTER, &register_attrs(a, Some(pid)))?;
        let handle = replies
            .iter()
            .find_map(|m| m.attrs.u32(CGL_HB_A_HANDLE).transpose())
            .transpose()?
            .ok_or_else(|| Fail::new("the kernel registered the entity but sent no handle"))?;
        if self.json {
            out_json(&json!({ "handle": handle }), self.pretty)
        } else {
            out(&format!("handle {}\n", format_handle(handle)))
        }
    }

    /// BEAT or UNREGISTER: no output on success.
    fn simple(&mut self, cmd: u8, t: &Target) -> Result<(), Fail> {
        self.request(cmd, &t.attrs())?;
        Ok(())
    }

    fn list(&mut self) -> Result<(), Fail> {
        let mut entities = Vec::new();
        for m in self.dump(CGL_HB_CMD_GET)? {
            entities.push(Entity::decode(&m.attrs)?);
        }
        let now = monotonic_ns();
        if self.json {
            let v = Value::Array(entities.iter().map(|e| e.to_json(now)).collect());
            out_json(&v, self.pretty)
        } else {
            out(&table(&entities, now))
        }
    }

    fn show(&mut self, t: &Target) -> Result<(), Fail> {
        let replies = self.request(CGL_HB_CMD_GET, &t.attrs())?;
        let m = replies
            .first()
            .ok_or_else(|| Fail::new("the kernel sent no entity"))?;
        let e = Entity::decode(&m.attrs)?;
        let now = monotonic_ns();
        if self.json {
            out_json(&e.to_json(now), self.pretty)
        } else {
            out(&e.details(now))
        }
    }

    fn groups(&mut self) -> Result<(), Fail> {
        let mut groups = Vec::new();
        for m in self.dump(CGL_HB_CMD_GROUP_GET)? {
            groups.push(Group::decode(&m.attrs)?);
        }
        if self.json {
            let v = Value::Array(
                groups
                    .iter()
                    .map(|g| json!({"group": g.name, "members": g.members, "dead": g.dead}))
                    .collect(),
            );
            out_json(&v, self.pretty)
        } else {
            out(&groups_table(&groups))
        }
    }

    fn watch(&mut self, a: &WatchArgs) -> Result<(), Fail> {
        let stop = stop_flag()?;
        let group = self.fam.group(CGL_HB_MCGRP_ALERTS).ok_or_else(|| {
            Fail::new(format!(
                "{CGL_HB_GENL_NAME} has no \"{CGL_HB_MCGRP_ALERTS}\" multicast group"
            ))
        })?;
        let _ = self.sock.set_recv_buffer(1 << 20);
        self.sock.subscribe(group)?;
        let deadline = a
            .timeout
            .map(|t| Instant::now() + Duration::from_secs_f64(t));
        let mut seen = 0u64;
        const SLICE: Duration = Duration::from_millis(200);
        loop {
            if stop.load(Ordering::Relaxed) || a.count.is_some_and(|c| seen >= c) {
                return Ok(());
            }
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(());
                    }
                    left.min(SLICE)
                }
                None => SLICE,
            };
            match self.sock.recv(Some(slice))? {
                Received::Msg(m) if m.family == self.fam.id && m.cmd == CGL_HB_CMD_ALERT => {
                    let now = crate::syslog::now_ns();
                    let al = Alert::decode(&m.attrs)?;
                    let line = if self.json {
                        al.to_json(now).to_string()
                    } else {
                        al.line(now)
                    };
                    out(&(line + "\n"))?;
                    seen += 1;
                }
                Received::Overrun => {
                    eprintln!("cgl-ctl: alerts lost: the receive queue overran");
                }
                Received::Msg(_) | Received::Timeout | Received::Interrupted => {}
            }
        }
    }

    fn beat_loop(&mut self, a: &BeatLoopArgs) -> Result<(), Fail> {
        let stop = stop_flag()?;
        let attrs = a.target.attrs();
        let mut beats = 0u64;
        let mut next = Instant::now();
        let res = loop {
            if stop.load(Ordering::Relaxed) || a.count.is_some_and(|c| beats >= c) {
                break Ok(());
            }
            if let Err(e) = self.request(CGL_HB_CMD_BEAT, &attrs) {
                break Err(e);
            }
            beats += 1;
            if a.count.is_some_and(|c| beats >= c) {
                break Ok(());
            }
            // Beats keep to a schedule; a late one does not shift the rest,
            // but after a long stall (the loop was stopped) it restarts.
            next += a.interval;
            let now = Instant::now();
            if next < now {
                next = now;
            }
            while !stop.load(Ordering::Relaxed) {
                let left = next.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(Duration::from_millis(100)));
            }
        };
        let summary = if self.json {
            json!({ "beats": beats }).to_string()
        } else {
            format!("beats {beats}")
        };
        match (res, out(&(summary + "\n"))) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(f)) if f.msg == CLOSED => Ok(()),
            (Ok(()), r) => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::genl::tests::attr;

    fn ms(n: u64) -> Result<Duration, String> {
        Ok(Duration::from_millis(n))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), ms(100));
        assert_eq!(parse_duration("2s"), ms(2000));
        assert_eq!(parse_duration("1m"), ms(60_000));
        assert_eq!(parse_duration("1h"), ms(3_600_000));
        assert_eq!(parse_duration("250"), ms(250));
        assert_eq!(parse_duration(" 1.5s "), ms(1500));
        assert_eq!(parse_duration("0.25m"), ms(15_000));
        assert_eq!(parse_duration("0"), ms(0));
        for bad in [
            "",
            "ms",
            "s",
            "1x",
            "-5",
            "1.2.3s",
            ".s",
            "1.0005s",
            "2 sec",
            "1e3",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_period("100ms"), Ok(100));
        assert_eq!(parse_period("1h"), Ok(3_600_000));
        assert!(parse_period("0").is_err());
        assert!(parse_period("61m").is_err());
        assert!(parse_interval("0ms").is_err());
        assert_eq!(parse_interval("10"), ms(10));
        // format_ms reads back.
        for n in [1, 100, 1000, 1500, 60_000, 90_000, 3_600_000] {
            assert_eq!(parse_duration(&format_ms(n)), ms(n), "{n}");
        }
        assert_eq!(format_ms(2000), "2s");
        assert_eq!(format_ms(60_000), "1m");
        assert_eq!(format_ms(1500), "1500ms");
        assert_eq!(format_ago(850_000_000), "850ms");
        assert_eq!(format_ago(12_345_000_000), "12.3s");
        assert_eq!(format_ago(245_000_000_000), "4m05s");
        assert_eq!(format_ago(7_380_000_000_000), "2h03m");
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM"), Ok(libc::SIGTERM as u8));
        assert_eq!(parse_signal("SIGKILL"), Ok(9));
        assert_eq!(parse_signal("sigkill"), Ok(9));
        assert_eq!(parse_signal("usr1"), Ok(libc::SIGUSR1 as u8));
        assert_eq!(parse_signal("HUP"), Ok(1));
        assert_eq!(parse_signal("15"), Ok(15));
        assert_eq!(parse_signal("64"), Ok(64));
        assert_eq!(parse_signal("IOT"), Ok(libc::SIGABRT as u8));
        for bad in ["0", "65", "256", "-1", "SIG", "TERMINATE", "", "SIGSIGTERM"] {
            assert!(parse_signal(bad).is_err(), "{bad:?}");
        }
        assert_eq!(signal_name(15), "TERM");
        assert_eq!(signal_name(libc::SIGABRT as u8), "ABRT");
        assert_eq!(signal_name(40), "40");
        // Every name reads back as its number.
        for (name, n) in SIGNALS {
            assert_eq!(parse_signal(name), Ok(*n as u8));
            assert_eq!(parse_signal(&format!("SIG{name}")), Ok(*n as u8));
        }
    }

    #[test]
    fn names_and_handles() {
        assert_eq!(parse_name("db-1"), Ok("db-1".into()));
        assert!(parse_name(&"x".repeat(31)).is_ok());
        for bad in ["", "a b", "a/b", "tab\t", "é", &"x".repeat(32)] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_handle("0x00010002"), Ok(0x10002));
        assert_eq!(parse_handle("17"), Ok(17));
        assert!(parse_handle("0xg").is_err());
        assert!(parse_handle("-1").is_err());
        assert_eq!(format_handle(0x10002), "0x00010002");
        assert!(parse_command("/bin/true").is_ok());
        assert!(parse_command("true").is_err());
    }

    fn reg(args: &[&str]) -> Result<RegisterArgs, clap::Error> {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct P {
            #[command(flatten)]
            r: RegisterArgs,
        }
        let mut v = vec!["register"];
        v.extend_from_slice(args);
        P::try_parse_from(v).map(|p| p.r)
    }

    #[test]
    fn register_request_bytes() {
        let a = reg(&[
            "db",
            "--period",
            "100ms",
            "--misses",
            "3",
            "--action",
            "signal",
            "--signal",
            "KILL",
            "--group",
            "g1",
            "--critical",
        ])
        .unwrap();
        let got = register_attrs(&a, Some(4242)).encode().unwrap();
        let mut want = Vec::new();
        want.extend(attr(CGL_HB_A_NAME, b"db\0"));
        want.extend(attr(CGL_HB_A_PERIOD_MS, &100u32.to_ne_bytes()));
        want.extend(attr(CGL_HB_A_MAX_MISSES, &3u32.to_ne_bytes()));
        want.extend(attr(CGL_HB_A_ACTION, &[CGL_HB_ACT_SIGNAL]));
        want.extend(attr(CGL_HB_A_SIGNAL, &[9]));
        want.extend(attr(CGL_HB_A_GROUP, b"g1\0"));
        want.extend(attr(CGL_HB_A_CRITICAL, &[]));
        want.extend(attr(CGL_HB_A_PID, &4242u32.to_ne_bytes()));
        assert_eq!(got, want);
        // Spelled out, on a little-endian host: the NAME attribute and the
        // zero-length CRITICAL flag.
        if cfg!(target_endian = "little") {
            assert_eq!(&got[..8], &[7, 0, 3, 0, b'd', b'b', 0, 0]);
            let flag = [4u8, 0, 10, 0];
            assert!(got.windows(4).any(|w| w == flag));
        }

        // The minimal form: only the three required attributes.
        let a = reg(&["web", "--period", "2s", "--misses", "1"]).unwrap();
        let mut want = Vec::new();
        want.extend(attr(CGL_HB_A_NAME, b"web\0"));
        want.extend(attr(CGL_HB_A_PERIOD_MS, &2000u32.to_ne_bytes()));
        want.extend(attr(CGL_HB_A_MAX_MISSES, &1u32.to_ne_bytes()));
        assert_eq!(register_attrs(&a, None).encode().unwrap(), want);

        // The command action.
        let a = reg(&[
            "x",
            "--period",
            "1m",
            "--misses",
            "5",
            "--action",
            "command",
            "--command",
            "/sbin/recover",
        ])
        .unwrap();
        let m = AttrMap::parse(&register_attrs(&a, Some(1)).encode().unwrap()).unwrap();
        assert_eq!(m.u8(CGL_HB_A_ACTION).unwrap(), Some(CGL_HB_ACT_COMMAND));
        assert_eq!(m.string(CGL_HB_A_COMMAND).as_deref(), Some("/sbin/recover"));
        assert_eq!(m.u32(CGL_HB_A_PERIOD_MS).unwrap(), Some(60_000));
    }

    #[test]
    fn register_usage_errors() {
        for args in [
            vec!["db", "--period", "100ms"],                  // no --misses
            vec!["db", "--period", "0", "--misses", "1"],     // period range
            vec!["db", "--period", "1s", "--misses", "0"],    // misses range
            vec!["db", "--period", "1s", "--misses", "1001"], // misses range
            vec!["a/b", "--period", "1s", "--misses", "1"],   // name
            vec![
                "db", "--period", "1s", "--misses", "1", "--action", "reboot",
            ],
            vec!["db", "--period", "1s", "--misses", "1", "--signal", "NOPE"],
            vec![
                "db", "--period", "1s", "--misses", "1", "--action", "command",
            ],
            vec!["db", "--period", "1s", "--misses", "1", "--command", "rel"],
        ] {
            let e = reg(&args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    /// A GET reply as the kernel builds it (nla_put_64bit adds a PAD
    /// attribute before each u64 that needs aligning).
    fn entity_attrs(handle: u32, name: &str, extra: impl FnOnce(&mut AttrMap)) -> AttrMap {
        let mut a = AttrMap::new();
        a.push_u32(CGL_HB_A_HANDLE, handle)
            .push_str(CGL_HB_A_NAME, name)
            .push_u32(CGL_HB_A_PERIOD_MS, 100)
            .push_u32(CGL_HB_A_MAX_MISSES, 3)
            .push_u8(CGL_HB_A_ACTION, CGL_HB_ACT_EVENT)
            .push_u8(CGL_HB_A_SIGNAL, 15);
        extra(&mut a);
        AttrMap::parse(&a.encode().unwrap()).unwrap()
    }

    #[test]
    fn list_table_from_attribute_maps() {
        let now = 10_000_000_000u64;
        let a = entity_attrs(0x1, "db", |a| {
            a.push_u32(CGL_HB_A_PID, 321)
                .push_u8(CGL_HB_A_STATE, CGL_HB_STATE_ALIVE)
                .push(CGL_HB_A_PAD, &[])
                .push_u64(CGL_HB_A_LATE_NS, 0)
                .push_u32(CGL_HB_A_MISSES, 0)
                .push(CGL_HB_A_PAD, &[])
                .push_u64(CGL_HB_A_LAST_BEAT_NS, now - 42_000_000)
                .push(CGL_HB_A_PAD, &[])
                .push_u64(CGL_HB_A_DEADLINE_NS, now + 58_000_000);
        });
        let b = entity_attrs(0x0001_0002, "frontend", |a| {
            a.push_u32(CGL_HB_A_PERIOD_MS, 2000)
                .push_u8(CGL_HB_A_ACTION, CGL_HB_ACT_SIGNAL)
                .push_u8(CGL_HB_A_SIGNAL, 9)
                .push_str(CGL_HB_A_GROUP, "web")
                .push(CGL_HB_A_CRITICAL, &[])
                .push_u32(CGL_HB_A_PID, 4000)
                .push_u8(CGL_HB_A_STATE, CGL_HB_STATE_LATE)
                .push_u64(CGL_HB_A_LATE_NS, 1_500_000)
                .push_u32(CGL_HB_A_MISSES, 2)
                .push_u64(CGL_HB_A_LAST_BEAT_NS, now - 4_500_000_000);
        });
        // Dead: out of the schedule, no misses or last beat.
        let c = entity_attrs(3, "batch", |a| {
            a.push_u32(CGL_HB_A_PERIOD_MS, 60_000)
                .push_u8(CGL_HB_A_ACTION, CGL_HB_ACT_NOTIFY)
                .push_u32(CGL_HB_A_PID, 77)
                .push_u8(CGL_HB_A_STATE, CGL_HB_STATE_DEAD)
                .push_u64(CGL_HB_A_LATE_NS, 250_000);
        });
        let es: Vec<Entity> = [a, b, c]
            .iter()
            .map(|m| Entity::decode(m).unwrap())
            .collect();
        assert_eq!(es[1].group.as_deref(), Some("web"));
        assert!(es[1].critical && !es[0].critical);
        assert_eq!(es[2].misses, None);
        let want = concat!(
            "HANDLE      NAME      PERIOD  MISSES/MAX  STATE  LAST-BEAT  PID   GROUP  ACTION        CRITICAL\n",
            "0x00000001  db        100ms   0/3         alive  42ms       321   -      event         no\n",
            "0x00010002  frontend  2s      2/3         late   4.5s       4000  web    signal(KILL)  yes\n",
            "0x00000003  batch     1m      -/3         dead   -          77    -      notify        no\n",
        );
        assert_eq!(table(&es, now), want);
        // Empty: the header only.
        assert_eq!(
            table(&[], now),
            "HANDLE  NAME  PERIOD  MISSES/MAX  STATE  LAST-BEAT  PID  GROUP  ACTION  CRITICAL\n"
        );

        let j = es[1].to_json(now);
        assert_eq!(j["handle"], 0x0001_0002);
        assert_eq!(j["state"], "late");
        assert_eq!(j["action"], "signal");
        assert_eq!(j["signal_name"], "KILL");
        assert_eq!(j["last_beat_ago_ms"], 4500);
        assert_eq!(j["critical"], true);
        assert_eq!(j["group"], "web");
        assert_eq!(es[2].to_json(now)["misses"], Value::Null);
        assert_eq!(es[0].to_json(now)["group"], Value::Null);

        let d = es[0].details(now);
        assert!(d.contains("handle:     0x00000001\n"), "{d}");
        assert!(d.contains("last beat:  42ms ago\n"), "{d}");
        assert!(d.contains("deadline:   in 58ms\n"), "{d}");
        assert!(d.contains("misses:     0 of 3 allowed\n"), "{d}");
    }

    #[test]
    fn entity_without_handle_is_malformed() {
        let mut a = AttrMap::new();
        a.push_str(CGL_HB_A_NAME, "x");
        assert!(Entity::decode(&a).is_err());
        let mut a = AttrMap::new();
        a.push_u32(CGL_HB_A_HANDLE, 1).push_str(CGL_HB_A_NAME, "x");
        a.push_u8(CGL_HB_A_PERIOD_MS, 1); // wrong width
        assert!(Entity::decode(&a).is_err());
    }

    #[test]
    fn groups_and_alerts() {
        let mut a = AttrMap::new();
        a.push_str(CGL_HB_A_GROUP, "web")
            .push_u32(CGL_HB_A_GROUP_MEMBERS, 3)
            .push_u32(CGL_HB_A_GROUP_DEAD, 1);
        let g = Group::decode(&a).unwrap();
        assert_eq!(
            groups_table(&[g]),
            "GROUP  MEMBERS  DEAD\nweb    3        1\n"
        );

        let mut a = AttrMap::new();
        a.push_u32(CGL_HB_A_HANDLE, 5)
            .push_str(CGL_HB_A_NAME, "db")
            .push_u8(CGL_HB_A_STATE, CGL_HB_STATE_DEAD)
            .push_u32(CGL_HB_A_MISSES, 3)
            .push(CGL_HB_A_PAD, &[])
            .push_u64(CGL_HB_A_LATE_NS, 12_345);
        let al = Alert::decode(&AttrMap::parse(&a.encode().unwrap()).unwrap()).unwrap();
        let t = 1_700_000_000_123_456_000;
        assert_eq!(
            al.line(t),
            "2023-11-14T22:13:20.123456Z  db  handle 0x00000005  dead  misses 3  late 12us"
        );
        let j = al.to_json(t);
        assert_eq!(j["name"], "db");
        assert_eq!(j["state"], "dead");
        assert_eq!(j["late_us"], 12);
        assert_eq!(j["misses"], 3);
        assert_eq!(j["handle"], 5);
    }

    #[test]
    fn target_attrs() {
        let t = Target {
            name: Some("db".into()),
            handle: None,
        };
        assert_eq!(t.attrs().string(CGL_HB_A_NAME).as_deref(), Some("db"));
        let t = Target {
            name: None,
            handle: Some(7),
        };
        let a = t.attrs();
        assert_eq!(a.u32(CGL_HB_A_HANDLE).unwrap(), Some(7));
        assert!(!a.has(CGL_HB_A_NAME));
    }

    #[test]
    fn monotonic_clock_moves() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(a > 0 && b >= a);
    }
}
