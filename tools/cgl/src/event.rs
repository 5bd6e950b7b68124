// SPDX-License-Identifier: GPL-2.0

//! Event records: decoding, severities, time stamps and rendering.

use serde_json::{json, Value};

use crate::genl::{self, AttrMap};
use crate::uapi::*;

/// Names of the severities, indexed by number (as syslog(3) spells them).
pub const SEVERITY_NAMES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Parses a severity: a name (also "error", "warn", "emergency",
/// "critical", "panic", any case) or a number 0-7.
pub fn parse_severity(s: &str) -> Result<u8, String> {
    let l = s.trim().to_ascii_lowercase();
    if let Ok(n) = l.parse::<u8>() {
        if n <= CGL_SEV_DEBUG {
            return Ok(n);
        }
        return Err(format!("severity {n} out of range 0-7"));
    }
    let n = match l.as_str() {
        "emerg" | "emergency" | "panic" => 0,
        "alert" => 1,
        "crit" | "critical" => 2,
        "err" | "error" => 3,
        "warning" | "warn" => 4,
        "notice" => 5,
        "info" => 6,
        "debug" => 7,
        _ => {
            return Err(format!(
                "unknown severity '{s}' (one of {} or 0-7)",
                SEVERITY_NAMES.join(", ")
            ))
        }
    };
    Ok(n)
}

/// Name of severity `n` ("sev8" and up for numbers the kernel should not
/// send).
pub fn severity_name(n: u8) -> String {
    SEVERITY_NAMES
        .get(n as usize)
        .map_or_else(|| format!("sev{n}"), |s| s.to_string())
}

/// One event record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number.
    pub seq: u64,
    /// CLOCK_MONOTONIC time, in ns.
    pub mono_ns: u64,
    /// CLOCK_REALTIME time, in ns since the epoch.
    pub real_ns: u64,
    /// Severity, 0 (emerg) to 7 (debug).
    pub severity: u8,
    /// Subsystem.
    pub subsys: String,
    /// Subsystem-defined event id.
    pub id: u32,
    /// Message.
    pub msg: String,
    /// Payload, if the record has one.
    pub payload: Option<Vec<u8>>,
}

/// What one `EVENT_GET`/`EVENT_NEW` message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Records lost (overwritten) before the record, if reported.
    pub lost: Option<u64>,
    /// The record, if the message has one (a message may report only a
    /// loss).
    pub record: Option<Record>,
}

impl Record {
    /// Decodes a record message. A message without a sequence number has
    /// no record.
    pub fn decode(a: &AttrMap) -> genl::Result<Decoded> {
        let lost = a.u64(CGL_A_EVENT_LOST)?.filter(|&n| n > 0);
        let record = match a.u64(CGL_A_EVENT_SEQ)? {
            None => None,
            Some(seq) => Some(Record {
                seq,
                mono_ns: a.u64(CGL_A_EVENT_MONO_NS)?.unwrap_or(0),
                real_ns: a.u64(CGL_A_EVENT_REAL_NS)?.unwrap_or(0),
                severity: a.u8(CGL_A_EVENT_SEVERITY)?.unwrap_or(CGL_SEV_DEBUG),
                subsys: a.string(CGL_A_EVENT_SUBSYS).unwrap_or_default(),
                id: a.u32(CGL_A_EVENT_ID)?.unwrap_or(0),
                msg: a.string(CGL_A_EVENT_MSG).unwrap_or_default(),
                payload: a.get(CGL_A_EVENT_PAYLOAD).map(<[u8]>::to_vec),
            }),
        };
        Ok(Decoded { lost, record })
    }

    /// The real time as RFC 3339 UTC with microseconds.
    pub fn time(&self) -> String {
        rfc3339_micros(self.real_ns)
    }

    /// The record as a JSON object (payload in full, as hex).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "seq": self.seq,
            "time": self.time(),
            "real_ns": self.real_ns,
            "mono_ns": self.mono_ns,
            "severity": severity_name(self.severity),
            "severity_num": self.severity,
            "subsys": self.subsys,
            "id": self.id,
            "message": self.msg,
        });
        if let (Some(p), Some(o)) = (&self.payload, v.as_object_mut()) {
            o.insert("payload".into(), Value::String(hex(p)));
        }
        v
    }

    /// One line for `events follow`: all fields, payload in full.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{} {} {} {} {} {}",
            self.seq,
            self.time(),
            severity_name(self.severity),
            escape_text(&self.subsys),
            self.id,
            escape_text(&self.msg)
        );
        if let Some(p) = &self.payload {
            s.push_str(" payload=");
            s.push_str(&hex(p));
        }
        s
    }
}

/// Whether a record passes the filters of `events list/follow`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Most verbose severity wanted.
    pub severity: Option<u8>,
    /// The only subsystem wanted.
    pub subsys: Option<String>,
}

impl Filter {
    /// Whether `r` passes.
    pub fn matches(&self, r: &Record) -> bool {
        self.severity.is_none_or(|s| r.severity <= s)
            && self.subsys.as_ref().is_none_or(|s| *s == r.subsys)
    }

    /// The dump request attributes for these filters, from `from_seq`.
    pub fn dump_attrs(&self, from_seq: Option<u64>) -> AttrMap {
        let mut a = AttrMap::new();
        if let Some(seq) = from_seq {
            a.push_u64(CGL_A_FILTER_SEQ, seq);
        }
        if let Some(s) = self.severity {
            a.push_u8(CGL_A_FILTER_SEVERITY, s);
        }
        if let Some(s) = &self.subsys {
            a.push_str(CGL_A_FILTER_SUBSYS, s);
        }
        a
    }
}

/// An item of an event listing, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `n` records were overwritten before they could be read.
    Lost(u64),
    /// A record.
    Record(Record),
}

impl Item {
    /// The item as JSON: a record object or `{"lost": N}`.
    pub fn to_json(&self) -> Value {
        match self {
            Item::Lost(n) => json!({ "lost": n }),
            Item::Record(r) => r.to_json(),
        }
    }

    /// The item as one line of `events follow`.
    pub fn line(&self) -> String {
        match self {
            Item::Lost(n) => lost_line(*n),
            Item::Record(r) => r.line(),
        }
    }
}

/// The line that reports lost records.
pub fn lost_line(n: u64) -> String {
    format!("-- {n} records lost (overwritten before read) --")
}

/// Turns decoded dump messages into items, in order: a loss is reported
/// just before the record that carries it.
pub fn items_from(decoded: impl IntoIterator<Item = Decoded>) -> Vec<Item> {
    let mut out = Vec::new();
    for d in decoded {
        if let Some(n) = d.lost {
            out.push(Item::Lost(n));
        }
        if let Some(r) = d.record {
            out.push(Item::Record(r));
        }
    }
    out
}

/// Keeps the newest `n` records (and the losses reported among them; a
/// loss before the first record kept concerns older records and goes).
pub fn keep_last(items: Vec<Item>, n: usize) -> Vec<Item> {
    let total = items
        .iter()
        .filter(|i| matches!(i, Item::Record(_)))
        .count();
    if total <= n {
        return items;
    }
    let mut skip = total - n;
    let mut out = Vec::new();
    for item in items {
        if skip > 0 {
            if let Item::Record(_) = item {
                skip -= 1;
            }
            continue;
        }
        if out.is_empty() && matches!(item, Item::Lost(_)) {
            continue;
        }
        out.push(item);
    }
    out
}

/// Longest payload shown in a table, in bytes.
const TABLE_PAYLOAD_MAX: usize = 16;

/// Renders items as a table with a header line.
pub fn table(items: &[Item]) -> String {
    let records: Vec<&Record> = items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(r),
            Item::Lost(_) => None,
        })
        .collect();
    let w_seq = records
        .iter()
        .map(|r| r.seq.to_string().len())
        .max()
        .unwrap_or(0)
        .max(3);
    let w_sub = records
        .iter()
        .map(|r| escape_text(&r.subsys).chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let w_id = records
        .iter()
        .map(|r| r.id.to_string().len())
        .max()
        .unwrap_or(0)
        .max(2);
    let with_payload = records.iter().any(|r| r.payload.is_some());
    let mut out = String::new();
    let mut head = format!(
        "{:>w_seq$}  {:<27}  {:<7}  {:<w_sub$}  {:>w_id$}  MESSAGE",
        "SEQ", "TIME", "SEV", "SUBSYS", "ID"
    );
    if with_payload {
        head.push_str("  PAYLOAD");
    }
    out.push_str(head.trim_end());
    out.push('\n');
    for item in items {
        match item {
            Item::Lost(n) => out.push_str(&lost_line(*n)),
            Item::Record(r) => {
                let mut line = format!(
                    "{:>w_seq$}  {:<27}  {:<7}  {:<w_sub$}  {:>w_id$}  {}",
                    r.seq,
                    r.time(),
                    severity_name(r.severity),
                    escape_text(&r.subsys),
                    r.id,
                    escape_text(&r.msg)
                );
                if let Some(p) = &r.payload {
                    line.push_str("  ");
                    if p.len() > TABLE_PAYLOAD_MAX {
                        line.push_str(&hex(&p[..TABLE_PAYLOAD_MAX]));
                        line.push_str(&format!("... ({} bytes)", p.len()));
                    } else {
                        line.push_str(&hex(p));
                    }
                }
                out.push_str(&line);
            }
        }
        out.push('\n');
    }
    out
}

/// Escapes control characters so a message stays on its line.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses hex (an optional `0x`, pairs of digits; `:`, `-` and spaces
/// between bytes are allowed).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits: Vec<u8> = t
        .bytes()
        .filter(|b| !matches!(b, b':' | b'-' | b' '))
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in '{s}'"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16);
            let lo = (p[1] as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(format!("not hex: '{s}'")),
            }
        })
        .collect()
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `ns` since the epoch as RFC 3339 UTC with microseconds, e.g.
/// `2024-02-29T23:59:59.123456Z`.
pub fn rfc3339_micros(ns: u64) -> String {
    let secs = (ns / 1_000_000_000) as i64;
    let micros = (ns % 1_000_000_000) / 1000;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64) -> Record {
        Record {
            seq,
            mono_ns: 5,
            real_ns: 0,
            severity: 3,
            subsys: "fib".into(),
            id: 1,
            msg: "m".into(),
            payload: None,
        }
    }

    #[test]
    fn severity_names_and_numbers() {
        assert_eq!(parse_severity("emerg"), Ok(0));
        assert_eq!(parse_severity("ALERT"), Ok(1));
        assert_eq!(parse_severity("crit"), Ok(2));
        assert_eq!(parse_severity("err"), Ok(3));
        assert_eq!(parse_severity("error"), Ok(3));
        assert_eq!(parse_severity("warning"), Ok(4));
        assert_eq!(parse_severity("warn"), Ok(4));
        assert_eq!(parse_severity("notice"), Ok(5));
        assert_eq!(parse_severity("info"), Ok(6));
        assert_eq!(parse_severity("debug"), Ok(7));
        assert_eq!(parse_severity("0"), Ok(0));
        assert_eq!(parse_severity("7"), Ok(7));
        assert!(parse_severity("8").is_err());
        assert!(parse_severity("-1").is_err());
        assert!(parse_severity("verbose").is_err());
        assert!(parse_severity("").is_err());
        for (i, n) in SEVERITY_NAMES.iter().enumerate() {
            assert_eq!(parse_severity(n), Ok(i as u8));
            assert_eq!(severity_name(i as u8), *n);
        }
        assert_eq!(severity_name(9), "sev9");
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_micros(0), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29 (leap day of a century leap year) 12:34:56.789012345
        assert_eq!(
            rfc3339_micros(951_827_696_789_012_345),
            "2000-02-29T12:34:56.789012Z"
        );
        assert_eq!(
            rfc3339_micros(1_709_251_199_999_999_999),
            "2024-02-29T23:59:59.999999Z"
        );
        assert_eq!(
            rfc3339_micros(4_102_444_800_000_000_000),
            "2100-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn hex_both_ways() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(parse_hex("00ab10"), Ok(vec![0, 0xab, 0x10]));
        assert_eq!(parse_hex("0xDE:AD-be ef"), Ok(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }

    #[test]
    fn decode_record_and_lost() {
        let mut a = AttrMap::new();
        a.push(CGL_A_PAD, &[])
            .push_u64(CGL_A_EVENT_SEQ, 12)
            .push_u64(CGL_A_EVENT_MONO_NS, 100)
            .push_u64(CGL_A_EVENT_REAL_NS, 1_000_000_000)
            .push_u8(CGL_A_EVENT_SEVERITY, 4)
            .push_str(CGL_A_EVENT_SUBSYS, "wdt")
            .push_u32(CGL_A_EVENT_ID, 7)
            .push_str(CGL_A_EVENT_MSG, "late")
            .push(CGL_A_EVENT_PAYLOAD, &[1, 2])
            .push_u64(CGL_A_EVENT_LOST, 3);
        let d = Record::decode(&a).unwrap();
        assert_eq!(d.lost, Some(3));
        let r = d.record.unwrap();
        assert_eq!(r.seq, 12);
        assert_eq!(r.subsys, "wdt");
        assert_eq!(r.payload, Some(vec![1, 2]));
        assert_eq!(r.time(), "1970-01-01T00:00:01.000000Z");
        let j = r.to_json();
        assert_eq!(j["payload"], "0102");
        assert_eq!(j["severity"], "warning");
        assert_eq!(j["seq"], 12);

        // Only a loss, no record.
        let mut a = AttrMap::new();
        a.push_u64(CGL_A_EVENT_LOST, 9);
        let d = Record::decode(&a).unwrap();
        assert_eq!(
            d,
            Decoded {
                lost: Some(9),
                record: None
            }
        );
    }

    #[test]
    fn lost_is_reported_in_order() {
        let items = items_from(vec![
            Decoded {
                lost: Some(4),
                record: Some(rec(5)),
            },
            Decoded {
                lost: None,
                record: Some(rec(6)),
            },
        ]);
        assert_eq!(items[0], Item::Lost(4));
        assert_eq!(items[1], Item::Record(rec(5)));
        let t = table(&items);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("SEQ"));
        assert_eq!(lines[1], "-- 4 records lost (overwritten before read) --");
        assert!(lines[2]
            .trim_start()
            .starts_with("5  1970-01-01T00:00:00.000000Z  err"));
        assert_eq!(Item::Lost(4).to_json(), json!({"lost": 4}));
    }

    #[test]
    fn last_n() {
        let items = vec![
            Item::Lost(2),
            Item::Record(rec(3)),
            Item::Record(rec(4)),
            Item::Lost(1),
            Item::Record(rec(6)),
        ];
        assert_eq!(keep_last(items.clone(), 5), items);
        assert_eq!(
            keep_last(items.clone(), 2),
            vec![Item::Record(rec(4)), Item::Lost(1), Item::Record(rec(6))]
        );
        assert_eq!(keep_last(items.clone(), 1), vec![Item::Record(rec(6))]);
        assert_eq!(keep_last(items, 0), vec![]);
    }

    #[test]
    fn table_truncates_payload_and_escapes() {
        let mut r = rec(1);
        r.payload = Some((0..20).collect());
        r.msg = "a\nb".into();
        let t = table(&[Item::Record(r)]);
        assert!(t.lines().next().unwrap().ends_with("PAYLOAD"));
        assert!(t.contains("a\\nb"));
        assert!(t.contains("000102030405060708090a0b0c0d0e0f... (20 bytes)"));
    }

    #[test]
    fn filter() {
        let f = Filter {
            severity: Some(3),
            subsys: Some("fib".into()),
        };
        assert!(f.matches(&rec(1)));
        let mut r = rec(1);
        r.severity = 4;
        assert!(!f.matches(&r));
        r.severity = 0;
        r.subsys = "wdt".into();
        assert!(!f.matches(&r));
        assert!(Filter::default().matches(&r));
        let a = f.dump_attrs(Some(10));
        assert_eq!(a.u64(CGL_A_FILTER_SEQ).unwrap(), Some(10));
        assert_eq!(a.u8(CGL_A_FILTER_SEVERITY).unwrap(), Some(3));
        assert_eq!(a.string(CGL_A_FILTER_SUBSYS).as_deref(), Some("fib"));
    }
}
