// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl wdt`: the CGL watchdog, through sysfs.
//!
//! The device is the watchdog-core device whose `identity` is
//! [`IDENTITY`] (`/sys/class/watchdog/watchdogN/`, standard attributes);
//! the driver's own knobs and counters are in `/sys/kernel/cgl/wdt/`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::{Map, Value};

use crate::{out, out_json, Cli, Fail};

/// `identity` of the CGL watchdog device.
pub const IDENTITY: &str = "CGL watchdog";
/// Where watchdog-core lists its devices.
pub const CLASS_DIR: &str = "/sys/class/watchdog";
/// The driver's directory in the cgl sysfs tree.
pub const CGL_DIR: &str = "/sys/kernel/cgl/wdt";

/// Watchdog-core attributes shown, in order.
const CLASS_ATTRS: [&str; 8] = [
    "identity",
    "state",
    "timeout",
    "pretimeout",
    "timeleft",
    "nowayout",
    "status",
    "bootstatus",
];
/// `/sys/kernel/cgl/wdt` attributes shown, in order.
const CGL_ATTRS: [&str; 4] = ["action", "gate_critical", "expirations", "refused_pings"];

/// `wdt` subcommands.
#[derive(Subcommand, Debug)]
pub enum WdtCmd {
    /// Show the CGL watchdog: device, state, timeouts, and the driver's
    /// action and counters.
    Status,
}

/// Reads a sysfs attribute, trimmed; `None` if absent or unreadable.
fn read_attr(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The sysfs directory of the CGL watchdog under `class_dir`, if any (the
/// lowest numbered, should there be several).
pub fn find(class_dir: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(class_dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| read_attr(p, "identity").as_deref() == Some(IDENTITY))
        .collect();
    dirs.sort_by_key(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let n = name
            .as_deref()
            .and_then(|n| n.strip_prefix("watchdog"))
            .and_then(|n| n.parse::<u32>().ok());
        (n.unwrap_or(u32::MAX), name)
    });
    dirs.into_iter().next()
}

/// What `wdt status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `/dev/watchdogN`.
    pub device: String,
    /// `/sys/class/watchdog/watchdogN`.
    pub sysfs: PathBuf,
    /// (attribute, value) of the watchdog-core attributes, then the
    /// driver's; `None` if absent.
    pub values: Vec<(&'static str, Option<String>)>,
}

/// Reads the status of the CGL watchdog; `None` if there is none.
pub fn read(class_dir: &Path, cgl_dir: &Path) -> Option<Status> {
    let dir = find(class_dir)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut values = Vec::new();
    for a in CLASS_ATTRS {
        values.push((a, read_attr(&dir, a)));
    }
    for a in CGL_ATTRS {
        values.push((a, read_attr(cgl_dir, a)));
    }
    Some(Status {
        device: format!("/dev/{name}"),
        sysfs: dir,
        values,
    })
}

impl Status {
    /// A value by attribute name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// JSON: integers as numbers, other values as strings, absent as null.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("device".into(), Value::from(self.device.clone()));
        m.insert(
            "sysfs".into(),
            Value::from(self.sysfs.to_string_lossy().into_owned()),
        );
        for (k, v) in &self.values {
            let v = match v {
                None => Value::Null,
                Some(s) => match s.parse::<u64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => Value::from(s.clone()),
                },
            };
            m.insert((*k).to_string(), v);
        }
        Value::Object(m)
    }

    /// `key: value` lines; absent values as `-`.
    pub fn text(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            ("device".into(), self.device.clone()),
            ("sysfs".into(), self.sysfs.display().to_string()),
        ];
        for (k, v) in &self.values {
            let unit = matches!(*k, "timeout" | "pretimeout" | "timeleft");
            let v = match v {
                None => "-".to_string(),
                Some(s) if unit && s.parse::<u64>().is_ok() => format!("{s}s"),
                Some(s) => s.clone(),
            };
            rows.push(((*k).to_string(), v));
        }
        let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        rows.iter()
            .map(|(k, v)| format!("{:<w$}  {v}\n", format!("{k}:")))
            .collect()
    }
}

/// Runs a `wdt` subcommand.
pub fn run(cli: &Cli, cmd: &WdtCmd) -> Result<(), Fail> {
    match cmd {
        WdtCmd::Status => {
            let st = read(Path::new(CLASS_DIR), Path::new(CGL_DIR)).ok_or_else(|| {
                Fail::new(format!(
                    "no \"{IDENTITY}\" device in {CLASS_DIR} (is the cgl_wdt module loaded?)"
                ))
            })?;
            if cli.json {
                out_json(&st.to_json(), cli.pretty)
            } else {
                out(&st.text())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cgl-ctl-wdt-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn dev(class: &Path, name: &str, attrs: &[(&str, &str)]) {
        let d = class.join(name);
        fs::create_dir_all(&d).unwrap();
        for (k, v) in attrs {
            fs::write(d.join(k), format!("{v}\n")).unwrap();
        }
    }

    #[test]
    fn finds_the_cgl_device_and_reads_it() {
        let root = tree("find");
        let class = root.join("class");
        let cgl = root.join("cgl");
        fs::create_dir_all(&class).unwrap();
        assert_eq!(find(&class), None);
        assert_eq!(read(&class, &cgl), None);
        dev(&class, "watchdog0", &[("identity", "iTCO_wdt")]);
        dev(
            &class,
            "watchdog1",
            &[
                ("identity", "CGL watchdog"),
                ("state", "active"),
                ("timeout", "30"),
                ("pretimeout", "0"),
                ("timeleft", "27"),
                ("nowayout", "0"),
                ("status", "0x8000"),
                ("bootstatus", "0"),
            ],
        );
        dev(&cgl, "", &[("action", "panic"), ("gate_critical", "1")]);
        let st = read(&class, &cgl).unwrap();
        assert_eq!(st.device, "/dev/watchdog1");
        assert_eq!(st.sysfs, class.join("watchdog1"));
        assert_eq!(st.get("state"), Some("active"));
        assert_eq!(st.get("action"), Some("panic"));
        assert_eq!(st.get("expirations"), None);
        let j = st.to_json();
        assert_eq!(j["timeout"], 30);
        assert_eq!(j["status"], "0x8000");
        assert_eq!(j["gate_critical"], 1);
        assert_eq!(j["refused_pings"], Value::Null);
        let t = st.text();
        assert!(t.starts_with("device:         /dev/watchdog1\n"), "{t}");
        assert!(t.contains("timeout:        30s\n"), "{t}");
        assert!(t.contains("expirations:    -\n"), "{t}");
        fs::remove_dir_all(&root).unwrap();
    }
}
