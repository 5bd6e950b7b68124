// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl fib`, `route`, `neigh` and `--batch` through the binary, without the
//! cgl_fib module: usage errors (exit 2) are caught before the kernel is
//! asked, batch errors name their line (exit 1), and a missing module is
//! said plainly. Where the module is loaded, the module-absent checks are
//! skipped (the selftests drive the real thing).

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_cgl-ctl");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut c = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether the cgl_fib family is registered here.
fn module_loaded() -> bool {
    !stderr(&run(&["fib", "list"])).contains("module is not loaded")
}

/// A batch file in the temporary directory, removed on drop.
struct File(std::path::PathBuf);

impl File {
    fn new(name: &str, text: &str) -> Self {
        let p = std::env::temp_dir().join(format!("cgl-fib-{}-{name}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        File(p)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn usage_errors_exit_2_before_the_kernel() {
    for (args, want) in [
        (
            &["route", "add", "10.0.0.1/8", "via", "192.0.2.1", "fib", "1"][..],
            "cgl-ctl: host bits set in 10.0.0.1/8, did you mean 10.0.0.0/8?\n",
        ),
        (
            &[
                "route",
                "add",
                "10.0.0.0/8",
                "dev",
                "nosuchdev0",
                "fib",
                "1",
            ][..],
            "cgl-ctl: unknown device 'nosuchdev0'\n",
        ),
        (
            &[
                "route",
                "add",
                "10.0.0.0/8",
                "via",
                "2001:db8::1",
                "fib",
                "1",
            ][..],
            "cgl-ctl: gateway 2001:db8::1 is IPv6 but the route 10.0.0.0/8 is IPv4\n",
        ),
        (
            &["-6", "route", "del", "10.0.0.0/8", "fib", "1"][..],
            "cgl-ctl: 10.0.0.0/8 is IPv4 but -6 was given\n",
        ),
        (
            &["route", "show"][..],
            "cgl-ctl: missing 'fib ID': route show fib ID [-4|-6]\n",
        ),
        (
            &["route", "get", "10.1.2.3", "fib", "4294967295"][..],
            "cgl-ctl: FIB id 4294967295 is reserved (CGL_FIB_ID_INVALID)\n",
        ),
        (
            &["fib", "bind", "dev", "nosuchdev0", "fib", "1"][..],
            "cgl-ctl: unknown device 'nosuchdev0'\n",
        ),
        (
            &["fib", "bind", "dev", "lo", "addr", "10.0.0.1/24"][..],
            "cgl-ctl: missing 'fib ID': fib bind dev IFNAME fib ID [addr ADDR/LEN]...\n",
        ),
        (
            &["fib", "bind", "dev", "lo", "fib", "1", "addr", "10.0.0.1"][..],
            "cgl-ctl: address 10.0.0.1 needs its prefix length (10.0.0.1/24, say)\n",
        ),
        (
            &[
                "fib",
                "bind",
                "dev",
                "lo",
                "fib",
                "1",
                "addr",
                "10.0.0.0/24",
            ][..],
            "cgl-ctl: 10.0.0.0/24: the network address of its subnet, not a router address\n",
        ),
        (
            &["fib", "unbind", "veth0"][..],
            "cgl-ctl: unexpected 'veth0': fib unbind dev IFNAME\n",
        ),
        (
            &["fib", "ports", "dev", "nosuchdev0"][..],
            "cgl-ctl: unknown device 'nosuchdev0'\n",
        ),
        (
            &["fib", "set", "1"][..],
            "cgl-ctl: nothing to set: fib set ID neigh-limit N\n",
        ),
        (
            &["fib", "add", "1", "neigh-limit", "many"][..],
            "cgl-ctl: 'many' is not a neighbour limit (0-4294967295)\n",
        ),
        (
            &[
                "neigh",
                "add",
                "10.0.0.2",
                "lladdr",
                "02:00:00:00:01",
                "dev",
                "lo",
                "fib",
                "1",
            ][..],
            "cgl-ctl: '02:00:00:00:01' is not a MAC address (like 02:00:00:00:00:01)\n",
        ),
        (
            &[
                "neigh",
                "replace",
                "10.0.0.2",
                "lladdr",
                "02:00:00:00:00:01",
                "dev",
                "lo",
            ][..],
            "cgl-ctl: missing 'fib ID': neigh replace ADDR lladdr MAC dev IFNAME fib ID\n",
        ),
        (
            &["neigh", "del", "10.0.0.0/24", "fib", "1"][..],
            "cgl-ctl: neighbour '10.0.0.0/24' must be an address, without /LEN\n",
        ),
        (
            &["-6", "neigh", "del", "10.0.0.2", "fib", "1"][..],
            "cgl-ctl: 10.0.0.2 is IPv4 but -6 was given\n",
        ),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), want, "{args:?}");
    }
    // More than 8 addresses of a family.
    let mut args = vec!["fib", "bind", "dev", "lo", "fib", "1"];
    let addrs: Vec<String> = (1..=9).map(|i| format!("10.0.{i}.1/24")).collect();
    for a in &addrs {
        args.extend(["addr", a.as_str()]);
    }
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "cgl-ctl: at most 8 IPv4 addresses per interface (10.0.9.1/24 is one more)\n"
    );
    // clap's own: a bad FIB id for fib add, --batch with a command.
    for args in [
        &["fib", "add", "x"][..],
        &["fib", "add"][..],
        &["-4", "-6", "route", "show", "fib", "1"][..],
    ] {
        assert_eq!(run(args).status.code(), Some(2), "{args:?}");
    }
    let f = File::new("both", "fib list\n");
    let o = run(&["-b", f.path(), "fib", "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("either --batch FILE or a command"));
}

#[test]
fn batch_errors_name_the_line() {
    let f = File::new(
        "bad",
        "# routes of fib 7\n\nroute add 10.0.0.1/8 via 192.0.2.1 fib 7\n",
    );
    for flag in ["-b", "--batch", "-batch"] {
        let o = run(&[flag, f.path()]);
        assert_eq!(o.status.code(), Some(1), "{flag}");
        assert_eq!(
            stderr(&o),
            format!(
                "cgl-ctl: {}:3: host bits set in 10.0.0.1/8, did you mean 10.0.0.0/8?\n",
                f.path()
            )
        );
    }
    let o = run_stdin(&["-b", "-"], "\n  route frobnicate\n");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "cgl-ctl: <stdin>:2: unknown route command 'frobnicate' (add, replace, del, get, show)\n"
    );
    // Other commands are parsed by clap, their errors named by line too.
    let o = run_stdin(&["-b", "-"], "wdt frob\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("cgl-ctl: <stdin>:1: "),
        "{}",
        stderr(&o)
    );
    let o = run_stdin(&["-b", "-"], "-b x\n");
    assert_eq!(
        stderr(&o),
        "cgl-ctl: <stdin>:1: no --batch inside a batch\n"
    );
    // Empty and comment-only batches do nothing, successfully.
    let o = run_stdin(&["-b", "-"], "# nothing\n\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["-b", "/nonexistent/batch"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "cgl-ctl: /nonexistent/batch: No such file or directory\n"
    );
}

#[test]
fn module_absent_is_said_plainly() {
    if module_loaded() {
        eprintln!("cgl_fib is loaded: skipped");
        return;
    }
    let want = "cgl-ctl: the cgl_fib module is not loaded (no generic netlink family cgl_fib)\n";
    for args in [
        &["fib", "list"][..],
        &["fib", "add", "7"][..],
        &["route", "show", "fib", "7", "-j"][..],
        &["route", "add", "blackhole", "10.0.0.0/8", "fib", "7"][..],
        &["fib", "ports"][..],
        &["fib", "set", "7", "neigh-limit", "10"][..],
        &[
            "fib",
            "bind",
            "dev",
            "lo",
            "fib",
            "7",
            "addr",
            "10.0.0.1/24",
        ][..],
        &["neigh", "show", "-j"][..],
        &[
            "neigh",
            "add",
            "10.0.0.2",
            "lladdr",
            "02:00:00:00:00:01",
            "dev",
            "lo",
            "fib",
            "7",
        ][..],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&o), want, "{args:?}");
    }
    let o = run_stdin(
        &["-b", "-"],
        "route add blackhole 10.0.0.0/8 fib 7\nroute add blackhole 11.0.0.0/8 fib 7\n",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "cgl-ctl: <stdin>:1: the cgl_fib module is not loaded (no generic netlink family cgl_fib)\n"
    );
}
