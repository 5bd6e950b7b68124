// SPDX-License-Identifier: GPL-2.0

//! `cgl-ctl digsig`: signing ELF files for DigSig and driving the LSM.
//!
//! `sign`, `verify` and `digest` work on files, with the signature format
//! of `security/cgl_digsig/elfsig.rs` (the very file the kernel builds,
//! included as [`crate::elfsig`]): a `.cgl_sig` section whose payload holds
//! a detached PKCS#7/CMS `SignedData` over the 56-byte digest descriptor.
//! The signature is made like `scripts/sign-file` makes module
//! signatures: `CMS_sign()` with `CMS_NOCERTS | CMS_BINARY | CMS_DETACHED
//! | CMS_NOATTR` (no certificates, no signed attributes, so the kernel's
//! `verify_pkcs7_signature()` finds the signer in its keyring by issuer
//! and serial number, or by subject key identifier with `--keyid`) and the
//! key's default digest, which must be SHA-256 (checked on every
//! signature made). RSA keys of 2048 bits or more and ECDSA keys on
//! P-256, P-384 or P-521 are accepted.
//!
//! Signing never leaves a half-written file: the signed file is built in
//! memory, checked (`elfsig::locate`, the digest again, the signature
//! against the certificate), written to a temporary file in the target's
//! directory with the original's mode (and owner, in place) and renamed
//! over the target.
//!
//! `status`, `mode`, `lock`, `key`, `revoke` and `flush` drive the LSM
//! through `/sys/kernel/cgl/digsig/` ([`SYSFS_DIR`], or `$CGL_DIGSIG_SYSFS`)
//! and the keyring syscalls (`add_key(2)`, `keyctl(2)`).

use std::cell::Cell;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::stack::Stack;
use openssl::x509::{X509Name, X509};
use serde_json::{json, Map, Value};

use crate::elfsig::{self, ElfSigError, SliceReader};
use crate::sigder::{self, hex};
use crate::{elfadd, out, out_json, Cli, Fail};

/// The DigSig directory in sysfs.
pub const SYSFS_DIR: &str = "/sys/kernel/cgl/digsig";
/// Environment variable overriding [`SYSFS_DIR`] (for tests).
pub const SYSFS_ENV: &str = "CGL_DIGSIG_SYSFS";
/// Environment variable holding the passphrase of an encrypted key.
pub const PASS_ENV: &str = "CGL_DIGSIG_KEY_PASS";

/// Counters in the sysfs directory, in the order shown.
const COUNTERS: [&str; 5] = ["verified", "cache_hits", "denied", "would_deny", "errors"];

/// `digsig` subcommands.
#[derive(Subcommand, Debug)]
pub enum DigsigCmd {
    /// Sign ELF files (adding a .cgl_sig section if they have none), in
    /// place or to -o OUT.
    Sign(SignArgs),
    /// Check the signature of ELF files; with --cert, verify it against
    /// that certificate.
    Verify(VerifyArgs),
    /// Print the file digest of a file with a .cgl_sig section (what
    /// `revoke --hash` takes).
    Digest(DigestArgs),
    /// Show the mode, the lock, the keyring, the counters and the revoked
    /// digests.
    Status,
    /// Show or set the mode.
    Mode(ModeArgs),
    /// Lock DigSig in enforcing mode until reboot.
    Lock,
    /// The DigSig keyring.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Revoke a file digest, or a key (then flush the verification
    /// cache).
    Revoke(RevokeArgs),
    /// Drop every cached verification.
    Flush,
}

/// `digsig sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// ELF files to sign.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Private key (PEM or DER; an encrypted PEM key takes its passphrase
    /// from $CGL_DIGSIG_KEY_PASS).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// X.509 certificate of the key (PEM or DER; default: the one in the
    /// --key file, as in the kernel's signing_key.pem).
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
    /// Write the signed file to OUT instead of in place (one FILE only).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Identify the signer by subject key identifier instead of issuer
    /// and serial number (as sign-file -k).
    #[arg(long)]
    pub keyid: bool,
}

/// `digsig verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// ELF files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Verify the signature against this certificate (PEM or DER).
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
}

/// `digsig digest`.
#[derive(Args, Debug)]
pub struct DigestArgs {
    /// An ELF file with a .cgl_sig section.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// The DigSig modes.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nothing is checked.
    Off,
    /// Unsigned files are logged and counted, not refused.
    Permissive,
    /// Unsigned files are refused.
    Enforcing,
}

impl Mode {
    /// The sysfs spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Permissive => "permissive",
            Mode::Enforcing => "enforcing",
        }
    }
}

/// `digsig mode`.
#[derive(Args, Debug)]
pub struct ModeArgs {
    /// The new mode (none: show the current one).
    #[arg(value_name = "MODE")]
    pub mode: Option<Mode>,
}

/// `digsig key` subcommands.
#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Add an X.509 certificate (PEM or DER) to the DigSig keyring;
    /// prints the new key's serial.
    Add(KeyAddArgs),
    /// List the keys in the DigSig keyring.
    List,
    /// Lock the keyring: no key can be added until reboot.
    Lock,
}

/// `digsig key add`.
#[derive(Args, Debug)]
pub struct KeyAddArgs {
    /// The certificate.
    #[arg(value_name = "CERT")]
    pub cert: PathBuf,
}

/// `digsig revoke`: exactly one of the options.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct RevokeArgs {
    /// A file digest, 64 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_digest)]
    pub hash: Option<String>,
    /// The file digest of this file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A key of the DigSig keyring, by serial (decimal, or hex with 0x).
    #[arg(long, value_name = "SERIAL", value_parser = parse_serial)]
    pub key: Option<i32>,
}

/// A file digest: 64 hex digits, returned in lower case.
pub fn parse_digest(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "'{s}' is not a SHA-256 digest (64 hex digits, see `cgl-ctl digsig digest`)"
        ));
    }
    Ok(t.to_ascii_lowercase())
}

/// A key serial: a positive decimal number, or hex with `0x`.
pub fn parse_serial(s: &str) -> Result<i32, String> {
    let t = s.trim();
    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => i32::from_str_radix(h, 16),
        None => t.parse::<i32>(),
    };
    match v {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a key serial")),
    }
}

// --- files ---------------------------------------------------------------

/// The text of an I/O error, without Rust's " (os error N)".
pub fn io_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The first reason in an OpenSSL error stack.
fn ossl(e: &ErrorStack) -> String {
    e.errors()
        .iter()
        .find_map(|x| x.reason())
        .map_or_else(|| e.to_string(), str::to_string)
}

/// A [`elfsig::DigestSink`] over OpenSSL's SHA-256.
struct Sha(openssl::sha::Sha256);

impl elfsig::DigestSink for Sha {
    fn update(&mut self, data: &[u8]) -> Result<(), elfsig::HashError> {
        self.0.update(data);
        Ok(())
    }
}

/// The file digest of `data` for section `sec`.
pub fn file_digest(data: &[u8], sec: &elfsig::SigSection) -> Result<[u8; 32], String> {
    let mut sha = Sha(openssl::sha::Sha256::new());
    let mut scratch = vec![0u8; 1 << 16];
    elfsig::feed_digest(&mut SliceReader(data), sec, &mut sha, &mut scratch)
        .map_err(|e| e.to_string())?;
    Ok(sha.0.finish())
}

/// Reads a file for sign/verify/digest: a regular file, whole.
fn read_file(path: &Path) -> Result<(Vec<u8>, fs::Metadata), String> {
    let meta = fs::metadata(path).map_err(|e| io_text(&e))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let data = fs::read(path).map_err(|e| format!("cannot read: {}", io_text(&e)))?;
    Ok((data, meta))
}

/// The `.cgl_sig` section of `data`, with "unsigned" spelt out.
fn section(data: &[u8]) -> Result<elfsig::SigSection, String> {
    elfsig::locate_section(&mut SliceReader(data)).map_err(|e| match e {
        ElfSigError::Unsigned => "not signed: no .cgl_sig section".to_string(),
        e => e.to_string(),
    })
}

/// Reads a certificate: PEM (exactly one) or DER.
fn load_cert(path: &Path) -> Result<X509, String> {
    let b = fs::read(path).map_err(|e| format!("{}: {}", path.display(), io_text(&e)))?;
    cert_from_bytes(&b).map_err(|e| format!("{}: {e}", path.display()))
}

/// A certificate from PEM (exactly one) or DER bytes.
fn cert_from_bytes(b: &[u8]) -> Result<X509, String> {
    if b.windows(11).any(|w| w == b"-----BEGIN ") {
        let mut v =
            X509::stack_from_pem(b).map_err(|e| format!("not a PEM certificate: {}", ossl(&e)))?;
        match v.len() {
            0 => Err("no certificate in the PEM file".into()),
            1 => Ok(v.remove(0)),
            n => Err(format!("{n} certificates in the PEM file, one expected")),
        }
    } else {
        X509::from_der(b).map_err(|e| format!("not a certificate (PEM or DER): {}", ossl(&e)))
    }
}

/// Reads a private key: PEM (possibly encrypted, see [`PASS_ENV`]) or DER.
fn load_key(path: &Path) -> Result<PKey<Private>, String> {
    let b = fs::read(path).map_err(|e| format!("{}: {}", path.display(), io_text(&e)))?;
    let asked = Cell::new(false);
    let pass = std::env::var_os(PASS_ENV);
    let r = if b.windows(11).any(|w| w == b"-----BEGIN ") {
        PKey::private_key_from_pem_callback(&b, |buf| {
            asked.set(true);
            let p = pass.as_ref().map(|p| p.as_encoded_bytes()).unwrap_or(b"");
            if p.is_empty() || p.len() > buf.len() {
                return Ok(0);
            }
            buf[..p.len()].copy_from_slice(p);
            Ok(p.len())
        })
    } else {
        PKey::private_key_from_der(&b)
    };
    r.map_err(|e| {
        if asked.get() && pass.is_none() {
            format!("{}: the key is encrypted: set {PASS_ENV}", path.display())
        } else {
            format!("{}: not a private key: {}", path.display(), ossl(&e))
        }
    })
}

/// `RSA-2048`, `EC P-256`...; an error for keys the kernel cannot use.
fn key_type<T: openssl::pkey::HasPublic>(k: &openssl::pkey::PKeyRef<T>) -> Result<String, String> {
    match k.id() {
        Id::RSA => {
            let bits = k.bits();
            if bits < 2048 {
                return Err(format!("RSA key of {bits} bits: 2048 or more needed"));
            }
            Ok(format!("RSA-{bits}"))
        }
        Id::EC => {
            let ec = k.ec_key().map_err(|e| ossl(&e))?;
            match ec.group().curve_name() {
                Some(Nid::X9_62_PRIME256V1) => Ok("EC P-256".into()),
                Some(Nid::SECP384R1) => Ok("EC P-384".into()),
                Some(Nid::SECP521R1) => Ok("EC P-521".into()),
                c => Err(format!(
                    "EC key on curve {}: the kernel verifies P-256, P-384 and P-521",
                    c.and_then(|n| n.short_name().ok()).unwrap_or("?")
                )),
            }
        }
        _ => Err("unsupported key type: use RSA (2048 bits or more) or ECDSA".into()),
    }
}

/// Prints an X.509 name like `CN=x, O=y`.
fn name_text(der: &[u8]) -> Option<String> {
    let n = X509Name::from_der(der).ok()?;
    let parts: Vec<String> = n
        .entries()
        .map(|e| {
            let k = e.object().nid().short_name().unwrap_or("?");
            let v = e.data().to_string().unwrap_or_default();
            format!("{k}={v}")
        })
        .collect();
    Some(parts.join(", "))
}

/// A signing key and its certificate.
pub struct Signer {
    key: PKey<Private>,
    cert: X509,
    keyid: bool,
    /// `RSA-2048`, `EC P-256`...
    pub kind: String,
}

impl Signer {
    /// Loads and checks the key and the certificate (`cert`, or the one in
    /// the key file).
    pub fn load(key: &Path, cert: Option<&Path>, keyid: bool) -> Result<Self, String> {
        let pkey = load_key(key)?;
        let cert = match cert {
            Some(c) => load_cert(c)?,
            None => load_cert(key).map_err(|e| {
                format!("{e} (no --cert given: the key file must hold the certificate too)")
            })?,
        };
        let kind = key_type(&pkey).map_err(|e| format!("{}: {e}", key.display()))?;
        let public = cert
            .public_key()
            .map_err(|e| format!("certificate: {}", ossl(&e)))?;
        if !public.public_eq(&pkey) {
            return Err("the certificate is not the key's".into());
        }
        if keyid && cert.subject_key_id().is_none() {
            return Err("--keyid: the certificate has no subject key identifier".into());
        }
        Ok(Signer {
            key: pkey,
            cert,
            keyid,
            kind,
        })
    }

    /// A detached CMS signature over `data`, as `sign-file` makes them,
    /// checked to be canonical (see [`sigder::Summary::is_canonical`]).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut flags = CMSOptions::CMS_NOCERTS
            | CMSOptions::BINARY
            | CMSOptions::DETACHED
            | CMSOptions::NOATTR
            | CMSOptions::NOSMIMECAP;
        if self.keyid {
            flags |= CMSOptions::USE_KEYID;
        }
        let der = CmsContentInfo::sign(Some(&self.cert), Some(&self.key), None, Some(data), flags)
            .and_then(|c| c.to_der())
            .map_err(|e| format!("signing failed: {}", ossl(&e)))?;
        let s = sigder::parse(&der).map_err(|e| format!("OpenSSL made a bad signature: {e}"))?;
        if !s.is_canonical() {
            return Err(format!(
                "OpenSSL made an unexpected signature ({} with {}, signed attributes: {})",
                s.digest_algo, s.sig_algo, s.signed_attrs
            ));
        }
        verify_sig(&der, data, &self.cert)?;
        Ok(der)
    }
}

/// Verifies detached CMS signature `sig` over `data` against `cert`
/// (the signature only: no certificate chain, as the kernel checks
/// against the keys in its keyring).
pub fn verify_sig(sig: &[u8], data: &[u8], cert: &X509) -> Result<(), String> {
    let mut cms = CmsContentInfo::from_der(sig)
        .map_err(|e| format!("signature is not CMS/PKCS#7: {}", ossl(&e)))?;
    let mut certs = Stack::new().map_err(|e| ossl(&e))?;
    certs.push(cert.clone()).map_err(|e| ossl(&e))?;
    cms.verify(
        Some(&certs),
        None,
        Some(data),
        None,
        CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::NOINTERN,
    )
    .map_err(|e| ossl(&e))
}

/// What signing one file did.
#[derive(Debug)]
pub struct Signed {
    /// Where the signed file was written.
    pub out: PathBuf,
    /// Its file digest.
    pub digest: [u8; 32],
    /// Its length.
    pub file_size: u64,
    /// Length of the signature.
    pub sig_len: usize,
    /// Whether the `.cgl_sig` section was added.
    pub added: bool,
}

/// Signs `file`, writing the result to `output` or in place.
pub fn sign_file(s: &Signer, file: &Path, output: Option<&Path>) -> Result<Signed, String> {
    let (mut data, meta) = read_file(file)?;
    let added = match elfsig::locate_section(&mut SliceReader(&data)) {
        Ok(_) => false,
        Err(ElfSigError::Unsigned) => {
            data = elfadd::add_section(&data, elfsig::DEFAULT_SECTION_SIZE)?.0;
            true
        }
        Err(e) => return Err(e.to_string()),
    };
    let sec = elfsig::locate_section(&mut SliceReader(&data))
        .map_err(|e| format!("the file with a .cgl_sig section added is refused: {e}"))?;
    let range = sec.payload_off as usize..(sec.payload_off + sec.payload_len) as usize;
    data[range.clone()].fill(0);
    let digest = file_digest(&data, &sec)?;
    let desc = elfsig::descriptor(sec.file_len, &digest);
    let sig = s.sign(&desc)?;
    elfsig::encode_payload(&sig, &mut data[range]).map_err(|e| match e {
        ElfSigError::BadPayload(_) => format!(
            "the signature ({} bytes) does not fit in the .cgl_sig section ({} bytes, {} of them for the signature)",
            sig.len(),
            sec.payload_len,
            sec.payload_len.saturating_sub(elfsig::PAYLOAD_HEADER_LEN as u64)
        ),
        e => e.to_string(),
    })?;
    // Read it back as the kernel will.
    let loc = elfsig::locate(&mut SliceReader(&data))
        .map_err(|e| format!("internal error: the signed file is refused: {e}"))?;
    if loc.section() != sec || file_digest(&data, &sec)? != digest {
        return Err("internal error: signing changed the file digest".into());
    }
    let target = match output {
        Some(o) => o.to_path_buf(),
        None => fs::canonicalize(file).map_err(|e| io_text(&e))?,
    };
    write_atomic(&target, &data, &meta, output.is_none())?;
    Ok(Signed {
        out: target,
        digest,
        file_size: sec.file_len,
        sig_len: sig.len(),
        added,
    })
}

/// Writes `data` to `target` through a temporary file in the same
/// directory and a rename, with the mode of `meta` (and its owner if
/// `keep_owner`). On failure `target` is untouched.
fn write_atomic(
    target: &Path,
    data: &[u8],
    meta: &fs::Metadata,
    keep_owner: bool,
) -> Result<(), String> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", target.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{}.cgl-sign.{}.{nanos}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let step = |what: &str, r: io::Result<()>| -> Result<(), String> {
        r.map_err(|e| format!("cannot {what} {}: {}", tmp.display(), io_text(&e)))
    };
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot create {}: {}", tmp.display(), io_text(&e)))?;
    let res = (|| {
        step("write", f.write_all(data))?;
        if keep_owner {
            let m = f.metadata().map_err(|e| io_text(&e))?;
            if m.uid() != meta.uid() || m.gid() != meta.gid() {
                step(
                    &format!("give owner {}:{} to", meta.uid(), meta.gid()),
                    std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid())),
                )?;
            }
        }
        step(
            "set the mode of",
            f.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777)),
        )?;
        step("sync", f.sync_all())?;
        fs::rename(&tmp, target).map_err(|e| {
            format!(
                "cannot rename {} to {}: {}",
                tmp.display(),
                target.display(),
                io_text(&e)
            )
        })
    })();
    drop(f);
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    } else if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    res
}

/// What `verify` found in one file.
#[derive(Debug)]
pub struct Checked {
    /// The file digest.
    pub digest: [u8; 32],
    /// The file length.
    pub file_size: u64,
    /// The signature.
    pub sig: Vec<u8>,
    /// What is inside it.
    pub summary: sigder::Summary,
}

/// Finds, decodes and (with `cert`) verifies the signature of `file`.
pub fn verify_file(file: &Path, cert: Option<&X509>) -> Result<Checked, String> {
    let (data, _) = read_file(file)?;
    let sec = section(&data)?;
    let loc = elfsig::locate(&mut SliceReader(&data)).map_err(|e| {
        let payload = &data[sec.payload_off as usize..(sec.payload_off + sec.payload_len) as usize];
        if payload.iter().all(|&b| b == 0) {
            "not signed: the .cgl_sig section is empty".to_string()
        } else {
            e.to_string()
        }
    })?;
    let digest = file_digest(&data, &sec)?;
    let off = loc.sig.sig_off as usize;
    let sig = data[off..off + loc.sig.sig_len as usize].to_vec();
    let summary = sigder::parse(&sig).map_err(|e| format!("bad signature: {e}"))?;
    let problems = summary.kernel_problems();
    if !problems.is_empty() {
        return Err(format!(
            "signature unusable by the kernel: {}",
            problems.join("; ")
        ));
    }
    if let Some(c) = cert {
        let desc = elfsig::descriptor(sec.file_len, &digest);
        verify_sig(&sig, &desc, c)
            .map_err(|e| format!("signature does not verify against the certificate: {e}"))?;
    }
    Ok(Checked {
        digest,
        file_size: sec.file_len,
        sig,
        summary,
    })
}

/// The file digest of `file`, which must have a `.cgl_sig` section.
pub fn digest_file(file: &Path) -> Result<([u8; 32], u64), String> {
    let (data, _) = read_file(file)?;
    let sec = elfsig::locate_section(&mut SliceReader(&data)).map_err(|e| match e {
        ElfSigError::Unsigned => {
            "no .cgl_sig section: sign the file first (the digest covers the section's place)"
                .to_string()
        }
        e => e.to_string(),
    })?;
    Ok((file_digest(&data, &sec)?, sec.file_len))
}

// --- sysfs ---------------------------------------------------------------

/// The DigSig sysfs directory.
pub struct Sysfs {
    /// Its path.
    pub root: PathBuf,
}

/// Whether the caller is root (for error hints).
fn is_root() -> bool {
    // SAFETY: geteuid() has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Sysfs {
    /// [`SYSFS_DIR`], or `$CGL_DIGSIG_SYSFS`.
    pub fn from_env() -> Self {
        let root = std::env::var_os(SYSFS_ENV)
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from(SYSFS_DIR), PathBuf::from);
        Sysfs { root }
    }

    /// Fails unless the directory exists.
    pub fn check(&self) -> Result<(), Fail> {
        if self.root.is_dir() {
            Ok(())
        } else {
            Err(Fail::new(format!(
                "{} not found: DigSig is not active (kernel built without it, or \
                 \"cgl_digsig\" not in the lsm= list)",
                self.root.display()
            )))
        }
    }

    /// An attribute's value, trimmed.
    pub fn read(&self, attr: &str) -> io::Result<String> {
        fs::read_to_string(self.root.join(attr)).map(|s| s.trim().to_string())
    }

    /// An attribute's value, or a failure saying what could not be read.
    fn get(&self, attr: &str) -> Result<String, Fail> {
        self.read(attr).map_err(|e| {
            Fail::new(format!(
                "cannot read {}: {}",
                self.root.join(attr).display(),
                io_text(&e)
            ))
        })
    }

    /// Writes `value` to an attribute in one write(2); `what` says what
    /// for the error message.
    pub fn write(&self, attr: &str, value: &str, what: &str) -> Result<(), Fail> {
        let path = self.root.join(attr);
        let res = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .and_then(|mut f| {
                let n = f.write(value.as_bytes())?;
                if n != value.len() {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
                }
                Ok(())
            });
        res.map_err(|e| self.write_fail(attr, value, what, &e))
    }

    /// The failure of writing `value` to `attr`: what, where, the errno
    /// text and a hint.
    fn write_fail(&self, attr: &str, value: &str, what: &str, e: &io::Error) -> Fail {
        let path = self.root.join(attr);
        {
            let mut hint = String::new();
            match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => {
                    if attr == "mode" && self.read("locked").ok().as_deref() == Some("1") {
                        hint = " (mode is locked)".into();
                    } else if !is_root() {
                        hint = " (needs root)".into();
                    }
                }
                Some(libc::ENOENT) => hint = " (this kernel has no such attribute)".into(),
                Some(libc::EINVAL) => hint = format!(" (the kernel refused \"{value}\")"),
                _ => {}
            }
            Fail::new(format!(
                "cannot {what}: {}: {}{hint}",
                path.display(),
                io_text(e)
            ))
        }
    }

    /// The keyring serial, from the `keyring` attribute.
    pub fn keyring(&self) -> Result<i32, Fail> {
        let s = self.get("keyring")?;
        match s.parse::<i32>() {
            Ok(n) if n != 0 => Ok(n),
            _ => Err(Fail::new(format!(
                "{}: \"{s}\" is not a keyring serial",
                self.root.join("keyring").display()
            ))),
        }
    }
}

/// The attributes shown by `status`, in order.
const STATUS_ATTRS: [&str; 5] = ["mode", "locked", "keyring", "keyring_locked", "generation"];

/// `status` as JSON: numbers for counters, booleans for the locks, a list
/// for `revoked`, null for what cannot be read.
pub fn status_json(fs: &Sysfs) -> Value {
    let mut m = Map::new();
    m.insert("sysfs".into(), Value::from(fs.root.display().to_string()));
    for a in STATUS_ATTRS.iter().chain(COUNTERS.iter()) {
        let v = match fs.read(a) {
            Err(_) => Value::Null,
            Ok(s) => match *a {
                "mode" => Value::from(s),
                "locked" | "keyring_locked" => match s.as_str() {
                    "0" => Value::Bool(false),
                    "1" => Value::Bool(true),
                    _ => Value::from(s),
                },
                "keyring" => s.parse::<i64>().map_or(Value::from(s), Value::from),
                _ => s.parse::<u64>().map_or(Value::from(s), Value::from),
            },
        };
        m.insert((*a).to_string(), v);
    }
    let revoked = match fs.read("revoked") {
        Ok(s) => Value::from(
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(Value::from)
                .collect::<Vec<_>>(),
        ),
        Err(_) => Value::Null,
    };
    m.insert("revoked".into(), revoked);
    Value::Object(m)
}

/// `status` as `key: value` lines, then the revoked digests.
pub fn status_text(fs: &Sysfs) -> String {
    let get = |a: &str| fs.read(a).unwrap_or_else(|_| "-".into());
    let yes = |a: &str| match fs.read(a).as_deref() {
        Ok("1") => "yes".to_string(),
        Ok("0") => "no".to_string(),
        Ok(s) => s.to_string(),
        Err(_) => "-".to_string(),
    };
    let mut rows: Vec<(String, String)> = vec![
        ("sysfs".into(), fs.root.display().to_string()),
        ("mode".into(), get("mode")),
        ("locked".into(), yes("locked")),
        ("keyring".into(), get("keyring")),
        ("keyring locked".into(), yes("keyring_locked")),
        ("generation".into(), get("generation")),
    ];
    for c in COUNTERS {
        rows.push((c.replace('_', " "), get(c)));
    }
    let revoked: Option<Vec<String>> = fs.read("revoked").ok().map(|s| {
        s.lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    });
    rows.push((
        "revoked".into(),
        revoked.as_ref().map_or("-".into(), |r| r.len().to_string()),
    ));
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut s: String = rows
        .iter()
        .map(|(k, v)| format!("{:<w$}  {v}\n", format!("{k}:")))
        .collect();
    for r in revoked.unwrap_or_default() {
        s.push_str(&format!("  {r}\n"));
    }
    s
}

// --- keys ----------------------------------------------------------------

/// `KEYCTL_REVOKE`.
const KEYCTL_REVOKE: libc::c_long = 3;
/// `KEYCTL_DESCRIBE`.
const KEYCTL_DESCRIBE: libc::c_long = 6;
/// `KEYCTL_READ`.
const KEYCTL_READ: libc::c_long = 11;

/// `add_key("asymmetric", "", der, keyring)`: the new key's serial.
pub fn add_key(keyring: i32, der: &[u8]) -> io::Result<i32> {
    let ty = CString::new("asymmetric").map_err(io::Error::other)?;
    let desc = CString::new("").map_err(io::Error::other)?;
    // SAFETY: the strings are NUL-terminated and live across the call;
    // the payload pointer and length describe `der`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            ty.as_ptr(),
            desc.as_ptr(),
            der.as_ptr(),
            der.len(),
            keyring as libc::c_long,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as i32)
}

/// `KEYCTL_LINK`.
const KEYCTL_LINK: libc::c_long = 8;
/// `KEYCTL_UNLINK`.
const KEYCTL_UNLINK: libc::c_long = 9;
/// `KEY_SPEC_SESSION_KEYRING`.
const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;

/// `keyctl(op, a, b)` for operations that take two serials.
fn keyctl2(op: libc::c_long, a: libc::c_long, b: libc::c_long) -> io::Result<()> {
    // SAFETY: no pointers are passed.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, op, a, b) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Revokes `serial` of keyring `ring` as its possessor.
///
/// Keys added to a keyring the caller does not possess grant only view
/// permission to their user, root included; revoking needs the
/// possessor's setattr right. Linking the DigSig keyring into the session
/// keyring for the call makes its keys possessed (the keyring grants
/// link permission to root for this).
pub fn revoke_key_in(ring: i32, serial: i32) -> io::Result<()> {
    match revoke_key(serial) {
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => {}
        r => return r,
    }
    keyctl2(KEYCTL_LINK, ring.into(), KEY_SPEC_SESSION_KEYRING)?;
    let r = revoke_key(serial);
    let _ = keyctl2(KEYCTL_UNLINK, ring.into(), KEY_SPEC_SESSION_KEYRING);
    r
}

/// `keyctl(KEYCTL_REVOKE, serial)`.
pub fn revoke_key(serial: i32) -> io::Result<()> {
    // SAFETY: no pointers are passed.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_REVOKE, serial as libc::c_long) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The result of `keyctl(op, serial, buf, len)` for `op` `KEYCTL_READ`
/// or `KEYCTL_DESCRIBE`, growing the buffer as needed.
fn keyctl_buf(op: libc::c_long, serial: i32) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes into buf.
        let r = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                op,
                serial as libc::c_long,
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = r as usize;
        if n <= buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf.resize(n, 0);
    }
}

/// The serials of the keys in `keyring`.
pub fn keyring_keys(keyring: i32) -> io::Result<Vec<i32>> {
    let b = keyctl_buf(KEYCTL_READ, keyring)?;
    Ok(b.chunks_exact(4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// A key's type and description (`KEYCTL_DESCRIBE`: "type;uid;gid;perm;
/// description").
pub fn describe_key(serial: i32) -> io::Result<(String, String)> {
    let b = keyctl_buf(KEYCTL_DESCRIBE, serial)?;
    let s = String::from_utf8_lossy(&b)
        .trim_end_matches('\0')
        .to_string();
    let mut it = s.splitn(5, ';');
    let ty = it.next().unwrap_or_default().to_string();
    let desc = it.nth(3).unwrap_or_default().to_string();
    Ok((ty, desc))
}

/// A hint for a keyring syscall error (of `add_key` if `adding`).
fn key_hint(fs: &Sysfs, e: &io::Error, adding: bool) -> &'static str {
    match e.raw_os_error() {
        // The crypto API found no algorithm for the key.
        Some(libc::ENOENT) if adding => " (the kernel lacks the certificate's key algorithm)",
        Some(libc::EPERM) | Some(libc::EACCES) => {
            if fs.read("keyring_locked").ok().as_deref() == Some("1") {
                " (the keyring is locked)"
            } else if !is_root() {
                " (needs root)"
            } else {
                ""
            }
        }
        Some(libc::EBADMSG) | Some(libc::EINVAL) => " (the kernel cannot parse the certificate)",
        Some(libc::ENOPKG) => " (the kernel lacks the certificate's algorithm)",
        Some(libc::EKEYREJECTED) => " (refused by the keyring)",
        Some(libc::ENOKEY) => " (no such key or keyring)",
        Some(libc::EKEYREVOKED) => " (already revoked)",
        Some(libc::ENOSYS) => " (the kernel has no key management)",
        _ => "",
    }
}

// --- commands ------------------------------------------------------------

/// Runs a `digsig` subcommand.
pub fn run(cli: &Cli, cmd: &DigsigCmd) -> Result<(), Fail> {
    match cmd {
        DigsigCmd::Sign(a) => sign_cmd(cli, a),
        DigsigCmd::Verify(a) => verify_cmd(cli, a),
        DigsigCmd::Digest(a) => {
            let (d, size) = digest_file(&a.file)
                .map_err(|e| Fail::new(format!("{}: {e}", a.file.display())))?;
            if cli.json {
                out_json(
                    &json!({"file": a.file.display().to_string(), "digest": hex(&d), "file_size": size}),
                    cli.pretty,
                )
            } else {
                out(&format!("{}\n", hex(&d)))
            }
        }
        DigsigCmd::Status => {
            let fs = Sysfs::from_env();
            fs.check()?;
            if cli.json {
                out_json(&status_json(&fs), cli.pretty)
            } else {
                out(&status_text(&fs))
            }
        }
        DigsigCmd::Mode(a) => {
            let fs = Sysfs::from_env();
            fs.check()?;
            if let Some(m) = a.mode {
                fs.write("mode", m.as_str(), &format!("set mode {}", m.as_str()))?;
            }
            let now = fs.get("mode")?;
            if cli.json {
                out_json(&json!({"mode": now}), cli.pretty)
            } else {
                out(&format!("mode: {now}\n"))
            }
        }
        DigsigCmd::Lock => {
            let fs = Sysfs::from_env();
            fs.check()?;
            fs.write("locked", "1", "lock the mode")?;
            let mode = fs.get("mode")?;
            if cli.json {
                out_json(&json!({"locked": true, "mode": mode}), cli.pretty)
            } else {
                out(&format!("locked in {mode} mode until reboot\n"))
            }
        }
        DigsigCmd::Key(k) => key_cmd(cli, k),
        DigsigCmd::Revoke(a) => revoke_cmd(cli, a),
        DigsigCmd::Flush => {
            let fs = Sysfs::from_env();
            fs.check()?;
            fs.write("flush", "1", "flush the verification cache")?;
            if cli.json {
                out_json(&json!({"flushed": true}), cli.pretty)
            } else {
                Ok(())
            }
        }
    }
}

fn sign_cmd(cli: &Cli, a: &SignArgs) -> Result<(), Fail> {
    if a.output.is_some() && a.files.len() != 1 {
        return Err(Fail {
            msg: "-o/--output takes exactly one FILE".into(),
            code: 2,
        });
    }
    let signer = Signer::load(&a.key, a.cert.as_deref(), a.keyid).map_err(Fail::new)?;
    let mut failed = 0;
    let mut items = Vec::new();
    for f in &a.files {
        match sign_file(&signer, f, a.output.as_deref()) {
            Ok(s) => {
                if cli.json {
                    items.push(json!({
                        "file": f.display().to_string(),
                        "output": s.out.display().to_string(),
                        "digest": hex(&s.digest),
                        "file_size": s.file_size,
                        "sig_len": s.sig_len,
                        "key_type": signer.kind,
                        "section_added": s.added,
                    }));
                } else {
                    let to = match &a.output {
                        Some(o) => format!(" -> {}", o.display()),
                        None => String::new(),
                    };
                    out(&format!(
                        "{}{to}: signed ({}, {} byte signature{}), digest {}\n",
                        f.display(),
                        signer.kind,
                        s.sig_len,
                        if s.added { ", section added" } else { "" },
                        hex(&s.digest)
                    ))?;
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("cgl-ctl: {}: {e}", f.display());
                if cli.json {
                    items.push(json!({"file": f.display().to_string(), "error": e}));
                }
            }
        }
    }
    if cli.json {
        out_json(&Value::Array(items), cli.pretty)?;
    }
    if failed > 0 {
        return Err(Fail::new(format!(
            "{failed} of {} files not signed",
            a.files.len()
        )));
    }
    Ok(())
}

fn verify_cmd(cli: &Cli, a: &VerifyArgs) -> Result<(), Fail> {
    let cert = match &a.cert {
        Some(c) => Some(load_cert(c).map_err(Fail::new)?),
        None => None,
    };
    let mut failed = 0;
    let mut items = Vec::new();
    for f in &a.files {
        match verify_file(f, cert.as_ref()) {
            Ok(c) => {
                let s = &c.summary;
                let signer = s.signer_text(name_text);
                if cli.json {
                    items.push(json!({
                        "file": f.display().to_string(),
                        "digest": hex(&c.digest),
                        "file_size": c.file_size,
                        "sig_len": c.sig.len(),
                        "signed_data_version": s.version,
                        "digest_algo": s.digest_algo,
                        "sig_algo": s.sig_algo,
                        "signer": signer,
                        "signed_attrs": s.signed_attrs,
                        "verified": cert.is_some(),
                    }));
                } else {
                    let state = match &a.cert {
                        Some(p) => format!("OK (verified against {})", p.display()),
                        None => "signed (not verified: no --cert)".to_string(),
                    };
                    out(&format!(
                        "{}: {state}\n  digest:     {}\n  file size:  {}\n  signature:  {} bytes, SignedData v{}, {} with {}{}\n  signer:     {signer}\n",
                        f.display(),
                        hex(&c.digest),
                        c.file_size,
                        c.sig.len(),
                        s.version,
                        s.digest_algo,
                        s.sig_algo,
                        if s.signed_attrs { ", signed attributes" } else { "" },
                    ))?;
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("cgl-ctl: {}: {e}", f.display());
                if cli.json {
                    items.push(json!({"file": f.display().to_string(), "error": e}));
                }
            }
        }
    }
    if cli.json {
        out_json(&Value::Array(items), cli.pretty)?;
    }
    if failed > 0 {
        return Err(Fail::new(format!(
            "{failed} of {} files failed verification",
            a.files.len()
        )));
    }
    Ok(())
}

fn key_cmd(cli: &Cli, k: &KeyCmd) -> Result<(), Fail> {
    let fs = Sysfs::from_env();
    fs.check()?;
    match k {
        KeyCmd::Add(a) => {
            let raw = fs::read(&a.cert)
                .map_err(|e| Fail::new(format!("{}: {}", a.cert.display(), io_text(&e))))?;
            let cert = cert_from_bytes(&raw)
                .map_err(|e| Fail::new(format!("{}: {e}", a.cert.display())))?;
            // OpenSSL keeps the signed part as read: this is the
            // certificate as it was, in DER.
            let der = cert
                .to_der()
                .map_err(|e| Fail::new(format!("{}: {}", a.cert.display(), ossl(&e))))?;
            if let Ok(pk) = cert.public_key() {
                if let Err(e) = key_type(&pk) {
                    eprintln!("cgl-ctl: warning: {}: {e}", a.cert.display());
                }
            }
            let ring = fs.keyring()?;
            let serial = add_key(ring, &der).map_err(|e| {
                Fail::new(format!(
                    "cannot add {} to keyring {ring}: {}{}",
                    a.cert.display(),
                    io_text(&e),
                    key_hint(&fs, &e, true)
                ))
            })?;
            if cli.json {
                out_json(&json!({"serial": serial, "keyring": ring}), cli.pretty)
            } else {
                out(&format!("{serial}\n"))
            }
        }
        KeyCmd::List => {
            let ring = fs.keyring()?;
            let keys = keyring_keys(ring).map_err(|e| {
                Fail::new(format!(
                    "cannot read keyring {ring}: {}{}",
                    io_text(&e),
                    key_hint(&fs, &e, false)
                ))
            })?;
            let mut rows = Vec::new();
            for k in keys {
                let (ty, desc) = describe_key(k).unwrap_or_else(|e| ("?".into(), io_text(&e)));
                rows.push((k, ty, desc));
            }
            if cli.json {
                let v: Vec<Value> = rows
                    .iter()
                    .map(|(k, t, d)| json!({"serial": k, "type": t, "description": d}))
                    .collect();
                out_json(&Value::Array(v), cli.pretty)
            } else {
                let s: String = rows
                    .iter()
                    .map(|(k, t, d)| format!("{k:>10}  {t}  {d}\n"))
                    .collect();
                out(&s)
            }
        }
        KeyCmd::Lock => {
            fs.write("keyring_locked", "1", "lock the keyring")?;
            if cli.json {
                out_json(&json!({"keyring_locked": true}), cli.pretty)
            } else {
                out("keyring locked until reboot\n")
            }
        }
    }
}

fn revoke_cmd(cli: &Cli, a: &RevokeArgs) -> Result<(), Fail> {
    let fs = Sysfs::from_env();
    if let Some(serial) = a.key {
        fs.check()?;
        // Only keys of the DigSig keyring, when it can be read.
        let ring = fs.keyring().ok();
        if let Some(ring) = ring {
            if let Ok(keys) = keyring_keys(ring) {
                if !keys.contains(&serial) {
                    return Err(Fail::new(format!(
                        "key {serial} is not in the DigSig keyring ({ring})"
                    )));
                }
            }
        }
        match ring {
            Some(ring) => revoke_key_in(ring, serial),
            None => revoke_key(serial),
        }
        .map_err(|e| {
            Fail::new(format!(
                "cannot revoke key {serial}: {}{}",
                io_text(&e),
                key_hint(&fs, &e, false)
            ))
        })?;
        fs.write(
            "flush",
            "1",
            "flush the verification cache after revoking the key",
        )?;
        return if cli.json {
            out_json(&json!({"revoked_key": serial, "flushed": true}), cli.pretty)
        } else {
            out(&format!(
                "revoked key {serial}; verification cache flushed\n"
            ))
        };
    }
    let digest = match (&a.hash, &a.file) {
        (Some(h), _) => h.clone(),
        (None, Some(f)) => {
            let (d, _) = digest_file(f).map_err(|e| Fail::new(format!("{}: {e}", f.display())))?;
            hex(&d)
        }
        (None, None) => unreachable!("clap requires one option"),
    };
    fs.check()?;
    fs.write("revoked", &digest, &format!("revoke digest {digest}"))?;
    if cli.json {
        out_json(&json!({"revoked": digest}), cli.pretty)
    } else {
        out(&format!("revoked {digest}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::SubjectKeyIdentifier;
    use openssl::x509::X509NameBuilder;

    fn cert_for(key: &PKey<Private>, cn: &str) -> X509 {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        let serial = BigNum::from_u32(0x1234_5678)
            .unwrap()
            .to_asn1_integer()
            .unwrap();
        b.set_serial_number(&serial).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        let skid = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(None, None))
            .unwrap();
        b.append_extension(skid).unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    fn signers() -> Vec<Signer> {
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut v = Vec::new();
        for (key, kind) in [(rsa, "RSA-2048"), (ec, "EC P-256")] {
            for keyid in [false, true] {
                let cert = cert_for(&key, kind);
                assert_eq!(key_type(&key).unwrap(), kind);
                v.push(Signer {
                    key: key.clone(),
                    cert,
                    keyid,
                    kind: kind.into(),
                });
            }
        }
        v
    }

    #[test]
    fn signatures_are_canonical_and_verify() {
        let desc = elfsig::descriptor(1234, &[7u8; 32]);
        for s in signers() {
            let sig = s.sign(&desc).unwrap();
            let sum = sigder::parse(&sig).unwrap();
            assert!(sum.is_canonical(), "{sum:?}");
            assert_eq!(sum.digest_algo, "sha256");
            assert_eq!(sum.content_type, "data");
            assert!(sum.detached && !sum.signed_attrs && sum.certs == 0);
            if s.keyid {
                assert_eq!(sum.version, 3);
                assert_eq!(
                    sum.signer,
                    sigder::SignerId::KeyId(s.cert.subject_key_id().unwrap().as_slice().to_vec())
                );
            } else {
                assert_eq!(sum.version, 1);
                let text = sum.signer_text(name_text);
                assert_eq!(text, format!("issuer \"CN={}\", serial 12345678", s.kind));
            }
            let want = if s.kind.starts_with("RSA") {
                "rsaEncryption"
            } else {
                "ecdsa-with-SHA256"
            };
            assert_eq!(sum.sig_algo, want);
            verify_sig(&sig, &desc, &s.cert).unwrap();
            // Another descriptor, another certificate: refused.
            let mut other = desc;
            other[30] ^= 1;
            assert!(verify_sig(&sig, &other, &s.cert).is_err());
            let k2 = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
            assert!(verify_sig(&sig, &desc, &cert_for(&k2, "other")).is_err());
            // The DER fits the payload rules.
            let mut payload = vec![0u8; elfsig::DEFAULT_SECTION_SIZE as usize];
            elfsig::encode_payload(&sig, &mut payload).unwrap();
            // Every truncation and byte flip of it parses or fails, no
            // panic.
            for n in 0..sig.len() {
                let _ = sigder::parse(&sig[..n]);
                let mut m = sig.clone();
                m[n] ^= 0x5a;
                let _ = sigder::parse(&m);
            }
        }
    }

    #[test]
    fn weak_keys_refused() {
        let rsa = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        assert!(key_type(&rsa).unwrap_err().contains("2048"));
        let g = EcGroup::from_curve_name(Nid::SECP256K1).unwrap();
        let ec = PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap();
        assert!(key_type(&ec).unwrap_err().contains("P-256"));
        let ed = PKey::generate_ed25519().unwrap();
        assert!(key_type(&ed).is_err());
    }

    #[test]
    fn parsers() {
        let d = "AB".repeat(32);
        assert_eq!(parse_digest(&d).unwrap(), "ab".repeat(32));
        assert!(parse_digest("ab").is_err());
        assert!(parse_digest(&"g".repeat(64)).is_err());
        assert_eq!(parse_serial("0x10").unwrap(), 16);
        assert_eq!(parse_serial("123").unwrap(), 123);
        assert!(parse_serial("0").is_err());
        assert!(parse_serial("-5").is_err());
        assert!(parse_serial("x").is_err());
        assert_eq!(
            io_text(&io::Error::from_raw_os_error(libc::EPERM)),
            "Operation not permitted"
        );
    }

    #[test]
    fn status_of_a_fake_tree() {
        let root = std::env::temp_dir().join(format!("cgl-ctl-digsig-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        for (k, v) in [
            ("mode", "enforcing\n"),
            ("locked", "1\n"),
            ("keyring", "987654\n"),
            ("keyring_locked", "0\n"),
            ("generation", "3\n"),
            ("verified", "10\n"),
            ("cache_hits", "7\n"),
            ("denied", "2\n"),
            ("errors", "0\n"),
            (
                "revoked",
                &format!("{}\n{}\n", "a".repeat(64), "b".repeat(64)),
            ),
        ] {
            fs::write(root.join(k), v).unwrap();
        }
        let s = Sysfs { root: root.clone() };
        let j = status_json(&s);
        assert_eq!(j["mode"], "enforcing");
        assert_eq!(j["locked"], true);
        assert_eq!(j["keyring_locked"], false);
        assert_eq!(j["keyring"], 987654);
        assert_eq!(j["verified"], 10);
        assert_eq!(j["would_deny"], Value::Null);
        assert_eq!(j["revoked"][1], "b".repeat(64));
        let t = status_text(&s);
        assert!(t.contains("mode:            enforcing\n"), "{t}");
        assert!(t.contains("locked:          yes\n"), "{t}");
        assert!(t.contains("would deny:      -\n"), "{t}");
        assert!(t.contains("revoked:         2\n"), "{t}");
        assert!(t.contains(&format!("\n  {}\n", "a".repeat(64))), "{t}");
        assert_eq!(s.keyring().unwrap(), 987654);
        s.write("mode", "off", "set mode off").unwrap();
        assert_eq!(s.read("mode").unwrap(), "off");
        let e = s.write("nosuch", "1", "do it").unwrap_err();
        assert!(e.msg.starts_with("cannot do it: "), "{}", e.msg);
        assert!(e.msg.contains("No such file or directory"), "{}", e.msg);
        let eperm = io::Error::from_raw_os_error(libc::EPERM);
        let f = s.write_fail("mode", "off", "set mode off", &eperm);
        assert_eq!(
            f.msg,
            format!(
                "cannot set mode off: {}: Operation not permitted (mode is locked)",
                root.join("mode").display()
            )
        );
        fs::write(root.join("locked"), "0").unwrap();
        let f = s.write_fail("mode", "off", "set mode off", &eperm);
        assert!(!f.msg.contains("locked"), "{}", f.msg);
        let f = s.write_fail(
            "revoked",
            "zz",
            "revoke",
            &io::Error::from_raw_os_error(libc::EINVAL),
        );
        assert!(
            f.msg
                .ends_with("Invalid argument (the kernel refused \"zz\")"),
            "{}",
            f.msg
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
