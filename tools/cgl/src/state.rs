// SPDX-License-Identifier: GPL-2.0

//! The state file of `events follow --state`: the sequence number of the
//! last record forwarded, as one decimal line, replaced atomically.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Reads the saved sequence number; `None` if the file does not exist.
pub fn load(path: &Path) -> io::Result<Option<u64>> {
    match fs::read_to_string(path) {
        Ok(s) => s.trim().parse::<u64>().map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a sequence number: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The temporary file `save` writes before renaming it over `path`.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "state".into());
    name.push(format!(".tmp.{}", std::process::id()));
    path.with_file_name(name)
}

/// Saves `seq` atomically: write a temporary file beside `path`, sync it,
/// rename it over `path`. A reader sees the old or the new number, never
/// a torn one.
pub fn save(path: &Path, seq: u64) -> io::Result<()> {
    let tmp = temp_path(path);
    let res = (|| {
        let mut f = File::create(&tmp)?;
        writeln!(f, "{seq}")?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cgl-ctl-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip() {
        let d = dir("rt");
        let p = d.join("follow.state");
        assert_eq!(load(&p).unwrap(), None);
        save(&p, 41).unwrap();
        assert_eq!(load(&p).unwrap(), Some(41));
        save(&p, u64::MAX).unwrap();
        assert_eq!(load(&p).unwrap(), Some(u64::MAX));
        assert_eq!(fs::read_to_string(&p).unwrap(), format!("{}\n", u64::MAX));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn atomic_replace_leaves_no_temp() {
        let d = dir("atomic");
        let p = d.join("s");
        fs::write(&p, "7\n").unwrap();
        // A stale temporary file from a crashed run is simply replaced.
        fs::write(temp_path(&p), "garbage").unwrap();
        save(&p, 8).unwrap();
        assert_eq!(load(&p).unwrap(), Some(8));
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("s")]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn failed_save_keeps_old_state() {
        let d = dir("fail");
        let p = d.join("s");
        save(&p, 5).unwrap();
        // The rename target is a non-empty directory: rename fails, the
        // old file is untouched and the temporary file is cleaned up.
        let blocker = d.join("blocked");
        fs::create_dir_all(blocker.join("x")).unwrap();
        assert!(save(&blocker, 6).is_err());
        assert!(!temp_path(&blocker).exists());
        assert_eq!(load(&p).unwrap(), Some(5));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn garbage_is_an_error() {
        let d = dir("garbage");
        let p = d.join("s");
        fs::write(&p, "twelve\n").unwrap();
        assert!(load(&p).is_err());
        fs::write(&p, "  12 \n").unwrap();
        assert_eq!(load(&p).unwrap(), Some(12));
        fs::remove_dir_all(&d).unwrap();
    }
}
