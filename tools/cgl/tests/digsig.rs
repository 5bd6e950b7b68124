// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl digsig` end to end, through the binary.
//!
//! Keys and self-signed certificates (RSA-2048, EC P-256) are made with
//! the `openssl` command. Copies of `/bin/true` (dynamic) and
//! `/bin/busybox` (static, when present) are signed and run; signatures
//! are checked by `verify --cert` and, independently of cgl-ctl, by
//! `openssl cms -verify` over a descriptor rebuilt here (digest by
//! `openssl dgst`); byte flips anywhere outside the signature, bad inputs,
//! key mismatches and a section too small for the signature must fail
//! and leave files untouched. The kernel-facing commands run against a
//! fake sysfs directory (`CGL_DIGSIG_SYSFS`), and, where the keyring
//! syscalls work, against a private session keyring.

#[path = "../../../security/cgl_digsig/elfsig.rs"]
#[allow(dead_code)]
mod elfsig;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cgl-ctl");

/// A scratch directory, removed on drop.
struct Tmp(PathBuf);

impl Tmp {
    fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("cgl-digsig-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }

    fn p(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).env_remove("CGL_DIGSIG_SYSFS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}{}", stdout(o), stderr(o));
}

fn fails(o: &Output, code: i32, msg: &str) {
    assert_eq!(o.status.code(), Some(code), "{}{}", stdout(o), stderr(o));
    assert!(stderr(o).contains(msg), "want {msg:?} in {:?}", stderr(o));
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command is needed (scripts/cgl/bootstrap.sh installs it)")
}

/// (key, cert) paths of a new key of `kind` ("rsa" or "ec").
fn keypair(t: &Tmp, kind: &str, cn: &str) -> (PathBuf, PathBuf) {
    let key = t.p(&format!("{cn}.key"));
    let cert = t.p(&format!("{cn}.pem"));
    let mut args = vec!["req", "-x509", "-nodes", "-days", "30", "-sha256"];
    match kind {
        "rsa" => args.extend(["-newkey", "rsa:2048"]),
        "rsa1024" => args.extend(["-newkey", "rsa:1024"]),
        _ => args.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]),
    }
    let subj = format!("/CN={cn}");
    args.extend(["-subj", &subj, "-keyout", s(&key), "-out", s(&cert)]);
    let o = openssl(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    (key, cert)
}

/// The binaries to sign: /bin/true and, if it is an ELF file,
/// /bin/busybox (copied as `busybox` so that it runs its applets).
fn binaries(t: &Tmp) -> Vec<(PathBuf, Vec<&'static str>, &'static str)> {
    let mut v = Vec::new();
    let tr = t.p("true");
    fs::copy("/bin/true", &tr).unwrap();
    v.push((tr, vec![], ""));
    let is_elf = fs::read("/bin/busybox").is_ok_and(|d| d.starts_with(b"\x7fELF"));
    if is_elf {
        let bb = t.p("busybox");
        fs::copy("/bin/busybox", &bb).unwrap();
        v.push((bb, vec!["echo", "signed"], "signed\n"));
    } else {
        eprintln!("note: /bin/busybox is not an ELF file, only /bin/true is signed");
    }
    v
}

fn run_prog(p: &Path, args: &[&str], want: &str) {
    let o = Command::new(p).args(args).output().unwrap();
    assert!(o.status.success(), "{} does not run", p.display());
    assert_eq!(stdout(&o), want);
}

/// The signature in `file` and the descriptor, rebuilt without cgl-ctl:
/// the section from elfsig, the digest by `openssl dgst`.
fn sig_and_descriptor(t: &Tmp, file: &Path) -> (Vec<u8>, Vec<u8>) {
    let d = fs::read(file).unwrap();
    let loc = elfsig::locate(&mut elfsig::SliceReader(&d)).unwrap();
    let off = loc.payload_off as usize;
    let len = loc.payload_len as usize;
    let so = loc.sig.sig_off as usize;
    let sig = d[so..so + loc.sig.sig_len as usize].to_vec();
    let mut z = d.clone();
    z[off..off + len].fill(0);
    let zp = t.p("zeroed");
    fs::write(&zp, &z).unwrap();
    let o = openssl(&["dgst", "-sha256", "-binary", s(&zp)]);
    assert!(o.status.success());
    assert_eq!(o.stdout.len(), 32);
    let mut desc = b"CGLDIGST".to_vec();
    desc.extend_from_slice(&1u16.to_le_bytes());
    desc.extend_from_slice(&0u16.to_le_bytes());
    desc.extend_from_slice(&32u32.to_le_bytes());
    desc.extend_from_slice(&(d.len() as u64).to_le_bytes());
    desc.extend_from_slice(&o.stdout);
    assert_eq!(desc.len(), 56);
    (sig, desc)
}

/// `openssl cms -verify` of the signature in `file` against `cert`.
fn openssl_verify(t: &Tmp, file: &Path, cert: &Path, tamper: bool) -> bool {
    let (sig, mut desc) = sig_and_descriptor(t, file);
    if tamper {
        desc[40] ^= 1;
    }
    fs::write(t.p("sig.der"), &sig).unwrap();
    fs::write(t.p("desc.bin"), &desc).unwrap();
    let o = openssl(&[
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        s(&t.p("sig.der")),
        "-content",
        s(&t.p("desc.bin")),
        "-noverify",
        "-certfile",
        s(cert),
        "-out",
        "/dev/null",
    ]);
    o.status.success()
}

/// What `openssl cms -cmsout -print` says of the signature in `file`.
fn openssl_print(t: &Tmp, file: &Path) -> String {
    let (sig, _) = sig_and_descriptor(t, file);
    fs::write(t.p("sig.der"), &sig).unwrap();
    let o = openssl(&[
        "cms",
        "-cmsout",
        "-print",
        "-inform",
        "DER",
        "-in",
        s(&t.p("sig.der")),
    ]);
    assert!(o.status.success());
    stdout(&o)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn digest_of(p: &Path) -> String {
    let o = run(&["digsig", "digest", s(p)]);
    ok(&o);
    stdout(&o).trim().to_string()
}

#[test]
fn sign_run_verify_resign() {
    let t = Tmp::new("sign");
    let (rk, rc) = keypair(&t, "rsa", "rsa-signer");
    let (ek, ec) = keypair(&t, "ec", "ec-signer");
    for (bin, args, want) in binaries(&t) {
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o751)).unwrap();
        let size0 = fs::metadata(&bin).unwrap().len();

        let o = run(&[
            "-j",
            "digsig",
            "sign",
            s(&bin),
            "--key",
            s(&rk),
            "--cert",
            s(&rc),
        ]);
        ok(&o);
        let j = json(&o);
        assert_eq!(j[0]["key_type"], "RSA-2048");
        assert_eq!(j[0]["section_added"], true);
        let digest = j[0]["digest"].as_str().unwrap().to_string();
        assert_eq!(digest.len(), 64);
        assert!(j[0]["sig_len"].as_u64().unwrap() > 256);
        let size1 = fs::metadata(&bin).unwrap().len();
        assert!(size1 > size0 + elfsig::DEFAULT_SECTION_SIZE);
        assert_eq!(j[0]["file_size"].as_u64().unwrap(), size1);
        assert_eq!(
            fs::metadata(&bin).unwrap().permissions().mode() & 0o7777,
            0o751
        );
        run_prog(&bin, &args, want);
        assert_eq!(digest_of(&bin), digest);

        ok(&run(&["digsig", "verify", s(&bin), "--cert", s(&rc)]));
        fails(
            &run(&["digsig", "verify", s(&bin), "--cert", s(&ec)]),
            1,
            "does not verify",
        );
        let o = run(&["digsig", "verify", s(&bin)]);
        ok(&o);
        assert!(
            stdout(&o).contains("not verified: no --cert"),
            "{}",
            stdout(&o)
        );
        assert!(
            stdout(&o).contains("sha256 with rsaEncryption"),
            "{}",
            stdout(&o)
        );

        // Independently of cgl-ctl.
        assert!(openssl_verify(&t, &bin, &rc, false));
        assert!(!openssl_verify(&t, &bin, &rc, true));
        assert!(!openssl_verify(&t, &bin, &ec, false));
        let p = openssl_print(&t, &bin);
        assert!(p.contains("signedAttrs:\n          <ABSENT>"), "{p}");
        assert!(p.contains("certificates:\n      <ABSENT>"), "{p}");
        assert!(p.contains("eContent: <ABSENT>"), "{p}");
        assert!(
            p.contains("algorithm: sha256 (2.16.840.1.101.3.4.2.1)"),
            "{p}"
        );
        assert!(p.contains("rsaEncryption (1.2.840.113549.1.1.1)"), "{p}");

        // Re-sign with the same key, then the EC key: same size, same
        // digest, only the new certificate verifies.
        ok(&run(&[
            "digsig",
            "sign",
            s(&bin),
            "--key",
            s(&rk),
            "--cert",
            s(&rc),
        ]));
        assert_eq!(fs::metadata(&bin).unwrap().len(), size1);
        let o = run(&[
            "-j",
            "digsig",
            "sign",
            s(&bin),
            "--key",
            s(&ek),
            "--cert",
            s(&ec),
        ]);
        ok(&o);
        let j = json(&o);
        assert_eq!(j[0]["key_type"], "EC P-256");
        assert_eq!(j[0]["section_added"], false);
        assert_eq!(j[0]["digest"], digest.as_str());
        assert_eq!(fs::metadata(&bin).unwrap().len(), size1);
        ok(&run(&["digsig", "verify", s(&bin), "--cert", s(&ec)]));
        fails(
            &run(&["digsig", "verify", s(&bin), "--cert", s(&rc)]),
            1,
            "does not verify",
        );
        assert!(openssl_verify(&t, &bin, &ec, false));
        assert!(!openssl_verify(&t, &bin, &rc, false));
        let p = openssl_print(&t, &bin);
        assert!(p.contains("ecdsa-with-SHA256 (1.2.840.10045.4.3.2)"), "{p}");
        assert!(p.contains("signedAttrs:\n          <ABSENT>"), "{p}");
        run_prog(&bin, &args, want);
        assert_eq!(
            fs::metadata(&bin).unwrap().permissions().mode() & 0o7777,
            0o751
        );
    }
    // No temporary files left behind.
    for e in fs::read_dir(&t.0).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.contains(".cgl-sign."), "{n} left behind");
    }
}

#[test]
fn every_flip_fails_verification() {
    let t = Tmp::new("flip");
    let (rk, rc) = keypair(&t, "rsa", "flip");
    let bin = t.p("true");
    fs::copy("/bin/true", &bin).unwrap();
    ok(&run(&[
        "digsig",
        "sign",
        s(&bin),
        "--key",
        s(&rk),
        "--cert",
        s(&rc),
    ]));
    let d = fs::read(&bin).unwrap();
    let loc = elfsig::locate(&mut elfsig::SliceReader(&d)).unwrap();
    let (po, pl) = (loc.payload_off as usize, loc.payload_len as usize);
    let sig_end = loc.sig.sig_off as usize + loc.sig.sig_len as usize;
    let shoff = u64::from_le_bytes(d[40..48].try_into().unwrap()) as usize;
    let mut pos: Vec<usize> = (0..64).collect(); // the ELF header
    pos.extend((shoff..d.len()).step_by(7)); // the new section header table
    pos.extend(po - 64..po); // the bytes before the payload (old tables)
    pos.extend(po..po + 16); // the payload header
    pos.extend([sig_end, sig_end + 1, po + pl - 1]); // the padding
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    while pos.len() < 300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = (x % d.len() as u64) as usize;
        if !(loc.sig.sig_off as usize..sig_end).contains(&p) {
            pos.push(p);
        }
    }
    let mut files = Vec::new();
    for (i, &p) in pos.iter().enumerate() {
        let mut m = d.clone();
        m[p] ^= if i % 2 == 0 { 0x01 } else { 0x80 };
        let f = t.p(&format!("m{i:03}"));
        fs::write(&f, &m).unwrap();
        files.push(f);
    }
    let mut args = vec!["-j", "digsig", "verify", "--cert", s(&rc)];
    args.extend(files.iter().map(|f| s(f)));
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1));
    let j = json(&o);
    let a = j.as_array().unwrap();
    assert_eq!(a.len(), pos.len());
    for (i, e) in a.iter().enumerate() {
        assert!(
            e.get("error").is_some(),
            "flip at {} (payload {po}+{pl}) still verifies",
            pos[i]
        );
    }
    // The unmodified file does verify: the test can pass only for the
    // flips.
    ok(&run(&["digsig", "verify", "--cert", s(&rc), s(&bin)]));
}

#[test]
fn bad_inputs_leave_files_untouched() {
    let t = Tmp::new("bad");
    let (rk, rc) = keypair(&t, "rsa", "bad");
    let (ek, _) = keypair(&t, "ec", "bad-ec");
    let (wk, wc) = keypair(&t, "rsa1024", "weak");
    let script = t.p("script");
    fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let truncated = t.p("truncated");
    fs::write(&truncated, &fs::read("/bin/true").unwrap()[..1000]).unwrap();
    let header_only = t.p("header-only");
    fs::write(&header_only, &fs::read("/bin/true").unwrap()[..40]).unwrap();
    let empty = t.p("empty");
    fs::write(&empty, b"").unwrap();
    let good = t.p("good");
    fs::copy("/bin/true", &good).unwrap();
    let files = [&script, &truncated, &header_only, &empty];
    let before: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).unwrap()).collect();
    let mtimes: Vec<_> = files
        .iter()
        .map(|f| fs::metadata(f).unwrap().modified().unwrap())
        .collect();

    for (f, msg) in [
        (&script, "not an ELF file"),
        (&truncated, "malformed ELF"),
        (&header_only, "malformed ELF"),
        (&empty, "not an ELF file"),
    ] {
        let o = run(&["digsig", "sign", s(f), "--key", s(&rk), "--cert", s(&rc)]);
        fails(&o, 1, msg);
        fails(&run(&["digsig", "verify", s(f)]), 1, msg);
    }
    // One bad file among good ones: the good one is signed, exit 1.
    let o = run(&[
        "digsig",
        "sign",
        s(&script),
        s(&good),
        "--key",
        s(&rk),
        "--cert",
        s(&rc),
    ]);
    fails(&o, 1, "1 of 2 files not signed");
    ok(&run(&["digsig", "verify", s(&good), "--cert", s(&rc)]));
    for (i, f) in files.iter().enumerate() {
        assert_eq!(fs::read(f).unwrap(), before[i], "{} changed", f.display());
        assert_eq!(fs::metadata(f).unwrap().modified().unwrap(), mtimes[i]);
    }

    let plain = t.p("plain");
    fs::copy("/bin/true", &plain).unwrap();
    let orig = fs::read(&plain).unwrap();
    for (args, code, msg) in [
        (vec!["--key", s(&rk), "--cert", s(&wc)], 1, "not the key's"),
        (vec!["--key", s(&ek), "--cert", s(&rc)], 1, "not the key's"),
        (vec!["--key", s(&wk), "--cert", s(&wc)], 1, "2048 or more"),
        (vec!["--key", s(&rk)], 1, "no --cert given"),
        (
            vec!["--key", s(&rc), "--cert", s(&rc)],
            1,
            "not a private key",
        ),
        (vec!["--key", s(&rk), "--cert", s(&rk)], 1, "no certificate"),
        (
            vec!["--key", "/nonexistent", "--cert", s(&rc)],
            1,
            "No such file",
        ),
        (vec!["--cert", s(&rc)], 2, "--key"),
        (
            vec!["--key", s(&rk), "--cert", s(&rc), "-o", "/tmp/x", s(&good)],
            2,
            "exactly one FILE",
        ),
    ] {
        let mut a = vec!["digsig", "sign", s(&plain)];
        a.extend(args);
        fails(&run(&a), code, msg);
        assert_eq!(fs::read(&plain).unwrap(), orig);
    }
    fails(
        &run(&["digsig", "sign", s(&t.0), "--key", s(&rk), "--cert", s(&rc)]),
        1,
        "not a regular file",
    );
    fails(
        &run(&["digsig", "verify", s(&plain)]),
        1,
        "no .cgl_sig section",
    );
    fails(
        &run(&["digsig", "digest", s(&plain)]),
        1,
        "no .cgl_sig section",
    );
}

/// A `.cgl_sig` section too small for the signature (added by objcopy):
/// refused, file untouched; an empty one is "not signed".
#[test]
fn small_and_empty_sections() {
    let t = Tmp::new("small");
    let (rk, rc) = keypair(&t, "rsa", "small");
    let zeros = t.p("zeros");
    for (size, name) in [(64usize, "small"), (4096, "empty")] {
        fs::write(&zeros, vec![0u8; size]).unwrap();
        let out = t.p(name);
        let st = Command::new("objcopy")
            .arg("--add-section")
            .arg(format!(".cgl_sig={}", zeros.display()))
            .arg("/bin/true")
            .arg(&out)
            .status();
        if !st.is_ok_and(|s| s.success()) {
            eprintln!("note: objcopy unavailable, skipping");
            return;
        }
    }
    let small = t.p("small");
    let before = fs::read(&small).unwrap();
    let o = run(&[
        "digsig",
        "sign",
        s(&small),
        "--key",
        s(&rk),
        "--cert",
        s(&rc),
    ]);
    fails(&o, 1, "does not fit in the .cgl_sig section (64 bytes");
    assert_eq!(fs::read(&small).unwrap(), before);
    let empty = t.p("empty");
    fails(
        &run(&["digsig", "verify", s(&empty)]),
        1,
        "section is empty",
    );
    // objcopy's section is signable; the digest does not change.
    let d0 = digest_of(&empty);
    ok(&run(&[
        "digsig",
        "sign",
        s(&empty),
        "--key",
        s(&rk),
        "--cert",
        s(&rc),
    ]));
    assert_eq!(digest_of(&empty), d0);
    ok(&run(&["digsig", "verify", s(&empty), "--cert", s(&rc)]));
    assert!(openssl_verify(&t, &empty, &rc, false));
    run_prog(&empty, &[], "");
}

#[test]
fn output_keyid_and_combined_key_file() {
    let t = Tmp::new("out");
    let (rk, rc) = keypair(&t, "rsa", "out");
    let (ek, ec) = keypair(&t, "ec", "out-ec");
    let src = t.p("true");
    fs::copy("/bin/true", &src).unwrap();
    fs::set_permissions(&src, fs::Permissions::from_mode(0o700)).unwrap();
    let orig = fs::read(&src).unwrap();
    let out = t.p("true.signed");
    let o = run(&[
        "digsig",
        "sign",
        s(&src),
        "-o",
        s(&out),
        "--key",
        s(&rk),
        "--cert",
        s(&rc),
        "--keyid",
    ]);
    ok(&o);
    assert!(stdout(&o).contains(" -> "), "{}", stdout(&o));
    assert_eq!(fs::read(&src).unwrap(), orig);
    assert_eq!(
        fs::metadata(&out).unwrap().permissions().mode() & 0o7777,
        0o700
    );
    run_prog(&out, &[], "");
    let o = run(&["-j", "digsig", "verify", s(&out), "--cert", s(&rc)]);
    ok(&o);
    let j = json(&o);
    assert_eq!(j[0]["signed_data_version"], 3);
    assert!(j[0]["signer"]
        .as_str()
        .unwrap()
        .starts_with("subject key id "));
    assert_eq!(j[0]["signed_attrs"], false);
    assert_eq!(j[0]["digest_algo"], "sha256");
    assert!(openssl_verify(&t, &out, &rc, false));
    assert!(openssl_print(&t, &out).contains("d.subjectKeyIdentifier"));

    // Key and certificate in one file, as the kernel's signing_key.pem.
    let both = t.p("signing_key.pem");
    let mut b = fs::read(&ek).unwrap();
    b.extend(fs::read(&ec).unwrap());
    fs::write(&both, b).unwrap();
    ok(&run(&["digsig", "sign", s(&out), "--key", s(&both)]));
    ok(&run(&["digsig", "verify", s(&out), "--cert", s(&ec)]));
    // A DER certificate works for verify too.
    let der = t.p("ec.der");
    assert!(
        openssl(&["x509", "-in", s(&ec), "-outform", "DER", "-out", s(&der)])
            .status
            .success()
    );
    ok(&run(&["digsig", "verify", s(&out), "--cert", s(&der)]));

    // Signing through a symlink signs the target and keeps the link.
    let link = t.p("link");
    std::os::unix::fs::symlink(&src, &link).unwrap();
    ok(&run(&["digsig", "sign", s(&link), "--key", s(&both)]));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    ok(&run(&["digsig", "verify", s(&src), "--cert", s(&ec)]));
}

// --- sysfs -------------------------------------------------------------

fn fake_sysfs(t: &Tmp) -> PathBuf {
    let d = t.p("digsig");
    fs::create_dir_all(&d).unwrap();
    for (k, v) in [
        ("mode", "permissive\n"),
        ("locked", "0\n"),
        ("keyring", "123456789\n"),
        ("keyring_locked", "0\n"),
        ("generation", "4\n"),
        ("verified", "100\n"),
        ("cache_hits", "90\n"),
        ("denied", "0\n"),
        ("would_deny", "3\n"),
        ("errors", "1\n"),
        ("flush", ""),
        ("revoked", ""),
    ] {
        fs::write(d.join(k), v).unwrap();
    }
    d
}

fn read_attr(d: &Path, a: &str) -> String {
    fs::read_to_string(d.join(a)).unwrap()
}

#[test]
fn sysfs_commands() {
    let t = Tmp::new("sysfs");
    let d = fake_sysfs(&t);
    let env = [("CGL_DIGSIG_SYSFS", d.as_path())];
    let r = |a: &[&str]| run_env(a, &env);

    let o = r(&["digsig", "status"]);
    ok(&o);
    let st = stdout(&o);
    assert!(st.contains("mode:            permissive\n"), "{st}");
    assert!(st.contains("would deny:      3\n"), "{st}");
    let o = r(&["-j", "digsig", "status"]);
    ok(&o);
    let j = json(&o);
    assert_eq!(j["mode"], "permissive");
    assert_eq!(j["keyring"], 123456789);
    assert_eq!(j["locked"], false);
    assert_eq!(j["cache_hits"], 90);
    assert_eq!(j["revoked"], Value::Array(vec![]));

    ok(&r(&["digsig", "mode", "enforcing"]));
    assert_eq!(read_attr(&d, "mode"), "enforcing");
    let o = r(&["digsig", "mode"]);
    ok(&o);
    assert_eq!(stdout(&o), "mode: enforcing\n");
    fails(&r(&["digsig", "mode", "strict"]), 2, "invalid value");
    ok(&r(&["digsig", "lock"]));
    assert_eq!(read_attr(&d, "locked"), "1");
    ok(&r(&["digsig", "key", "lock"]));
    assert_eq!(read_attr(&d, "keyring_locked"), "1");
    ok(&r(&["digsig", "flush"]));
    assert_eq!(read_attr(&d, "flush"), "1");

    let h = "ABCDEF0123456789".repeat(4);
    ok(&r(&["digsig", "revoke", "--hash", &h]));
    assert_eq!(read_attr(&d, "revoked"), h.to_lowercase());
    fails(
        &r(&["digsig", "revoke", "--hash", "abcd"]),
        2,
        "64 hex digits",
    );
    fails(
        &r(&["digsig", "revoke", "--hash", &h, "--key", "5"]),
        2,
        "cannot be used with",
    );
    fails(&r(&["digsig", "revoke"]), 2, "required");

    // --file: the digest of a signed file; an unsigned one changes
    // nothing.
    let (rk, rc) = keypair(&t, "ec", "rev");
    let bin = t.p("true");
    fs::copy("/bin/true", &bin).unwrap();
    fails(
        &r(&["digsig", "revoke", "--file", s(&bin)]),
        1,
        "no .cgl_sig",
    );
    assert_eq!(read_attr(&d, "revoked"), h.to_lowercase());
    ok(&r(&[
        "digsig",
        "sign",
        s(&bin),
        "--key",
        s(&rk),
        "--cert",
        s(&rc),
    ]));
    ok(&r(&["digsig", "revoke", "--file", s(&bin)]));
    assert_eq!(read_attr(&d, "revoked"), digest_of(&bin));

    // Write errors name the attribute and the errno.
    fs::remove_file(d.join("flush")).unwrap();
    fs::create_dir(d.join("flush")).unwrap();
    let o = r(&["digsig", "flush"]);
    fails(&o, 1, "cannot flush the verification cache: ");
    fails(
        &o,
        1,
        &format!("{}: Is a directory", d.join("flush").display()),
    );
    // EACCES from a read-only file; as root, from a /proc file without a
    // write handler, which root cannot write either.
    fs::write(d.join("locked"), "1\n").unwrap();
    fs::remove_file(d.join("mode")).unwrap();
    std::os::unix::fs::symlink("/proc/version", d.join("mode")).unwrap();
    let o = r(&["digsig", "mode", "off"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.starts_with("cgl-ctl: cannot set mode off: "), "{e}");
    if e.contains("Permission denied") || e.contains("Operation not permitted") {
        assert!(e.trim_end().ends_with("(mode is locked)"), "{e}");
    }

    fails(
        &r(&["digsig", "key", "add", s(&bin)]),
        1,
        "not a certificate",
    );

    // Absent directory.
    let gone = t.p("nonexistent");
    let o = run_env(
        &["digsig", "status"],
        &[("CGL_DIGSIG_SYSFS", gone.as_path())],
    );
    fails(&o, 1, "not found: DigSig is not active");
}

/// `key add`, `key list` and `revoke --key` with a real keyring: a new
/// anonymous session keyring (`keyctl session -`), named to cgl-ctl as
/// the special serial -3 (KEY_SPEC_SESSION_KEYRING).
#[test]
fn keyring_commands() {
    let t = Tmp::new("keys");
    let d = fake_sysfs(&t);
    let probe = Command::new("keyctl")
        .args(["session", "-", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("note: keyctl or the keyring syscalls unavailable, skipping");
        return;
    }
    let (_, rc) = keypair(&t, "rsa", "kernel-key");
    let (_, ec) = keypair(&t, "ec", "kernel-ec");
    let der = t.p("ec.der");
    assert!(
        openssl(&["x509", "-in", s(&ec), "-outform", "DER", "-out", s(&der)])
            .status
            .success()
    );
    fs::write(d.join("keyring"), "-3\n").unwrap();
    let script = r#"
set -e
a=$("$B" digsig key add "$RC")
# The host kernel may lack ECDSA.
if b=$("$B" digsig key add "$DER" 2>&1); then echo "ec added"; else echo "ec: $b"; fi
"$B" digsig key list
"$B" -j digsig key list
"$B" digsig revoke --key "$a"
echo "flush=$(cat "$CGL_DIGSIG_SYSFS/flush")"
! "$B" digsig revoke --key 1 2>&1
keyctl show @s
"#;
    let o = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", script])
        .env("B", BIN)
        .env("RC", &rc)
        .env("DER", &der)
        .env("CGL_DIGSIG_SYSFS", &d)
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("asymmetric  kernel-key: "), "{out}");
    if out.contains("ec added") {
        assert!(out.contains("asymmetric  kernel-ec: "), "{out}");
    } else {
        assert!(
            out.contains("lacks the certificate's key algorithm"),
            "{out}"
        );
    }
    assert!(out.contains("\"type\":\"asymmetric\""), "{out}");
    assert!(out.contains("revoked key "), "{out}");
    assert!(out.contains("flush=1"), "{out}");
    assert!(
        out.contains("key 1 is not in the DigSig keyring (-3)"),
        "{out}"
    );
    // A serial that is no keyring: the errno, spelt out.
    fs::write(d.join("keyring"), "1\n").unwrap();
    let o = run_env(
        &["digsig", "key", "add", s(&rc)],
        &[("CGL_DIGSIG_SYSFS", d.as_path())],
    );
    fails(&o, 1, "to keyring 1: ");
}
