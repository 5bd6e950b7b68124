// SPDX-License-Identifier: GPL-2.0

//! A look inside a DER PKCS#7/CMS `SignedData`, to describe a DigSig
//! signature and check that the kernel can use it.
//!
//! OpenSSL verifies signatures; this only reads the structure (RFC 5652
//! section 5) that `verify_pkcs7_signature()` depends on: the content type
//! must be `id-data` and the content absent (detached), there must be
//! exactly one signer, identified by issuer and serial number or by
//! subject key identifier, with a digest and signature algorithm the
//! kernel's PKCS#7 parser knows. `cgl-ctl digsig sign` signs without
//! signed attributes (as `scripts/sign-file` does), so the signature is
//! over the descriptor's digest itself.

use std::fmt::Write as _;

/// `id-signedData`, 1.2.840.113549.1.7.2.
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// `id-data`, 1.2.840.113549.1.7.1.
const OID_DATA: &str = "1.2.840.113549.1.7.1";

/// OIDs with a name.
const NAMES: [(&str, &str); 16] = [
    ("1.2.840.113549.1.7.1", "data"),
    ("1.2.840.113549.1.7.2", "signedData"),
    ("1.3.14.3.2.26", "sha1"),
    ("2.16.840.1.101.3.4.2.1", "sha256"),
    ("2.16.840.1.101.3.4.2.2", "sha384"),
    ("2.16.840.1.101.3.4.2.3", "sha512"),
    ("2.16.840.1.101.3.4.2.4", "sha224"),
    ("1.2.840.113549.1.1.1", "rsaEncryption"),
    ("1.2.840.113549.1.1.10", "rsassaPss"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.10045.2.1", "id-ecPublicKey"),
    ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("1.3.101.112", "ed25519"),
];

/// Signature algorithms `pkcs7_sig_note_pkey_algo()` accepts (Linux 6.12;
/// the GOST and SHA-3 ones are left out).
const KERNEL_SIG_ALGOS: [&str; 5] = [
    "rsaEncryption",
    "ecdsa-with-SHA224",
    "ecdsa-with-SHA256",
    "ecdsa-with-SHA384",
    "ecdsa-with-SHA512",
];

/// Digest algorithms `pkcs7_sig_note_digest_algo()` accepts (Linux 6.12;
/// the GOST, SM3 and SHA-3 ones are left out).
const KERNEL_DIGESTS: [&str; 5] = ["sha1", "sha224", "sha256", "sha384", "sha512"];

/// How the signer is identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerId {
    /// `IssuerAndSerialNumber`: the issuer `Name` (DER) and the serial
    /// number (the INTEGER's content bytes).
    IssuerSerial {
        /// DER of the issuer name.
        issuer: Vec<u8>,
        /// Content bytes of the serial number.
        serial: Vec<u8>,
    },
    /// `[0] SubjectKeyIdentifier`.
    KeyId(Vec<u8>),
}

/// What a `SignedData` holds, as far as DigSig cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `SignedData` version (1 with issuer and serial, 3 with a key id).
    pub version: u64,
    /// Content type of the signed content (`data` expected).
    pub content_type: String,
    /// Whether the content is absent (a detached signature).
    pub detached: bool,
    /// Number of certificates carried.
    pub certs: usize,
    /// Number of signers.
    pub signers: usize,
    /// The first signer's digest algorithm.
    pub digest_algo: String,
    /// The first signer's signature algorithm.
    pub sig_algo: String,
    /// The first signer.
    pub signer: SignerId,
    /// Whether the first signer has signed attributes.
    pub signed_attrs: bool,
}

/// One DER element: tag, content and what follows it.
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// Splits the first element off `d`.
fn tlv(d: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let bad = || "malformed DER".to_string();
    let (&tag, rest) = d.split_first().ok_or_else(bad)?;
    if tag & 0x1f == 0x1f {
        return Err("malformed DER: multi-byte tag".into());
    }
    let (&l, rest) = rest.split_first().ok_or_else(bad)?;
    let (len, rest) = if l < 0x80 {
        (l as usize, rest)
    } else {
        let n = (l & 0x7f) as usize;
        if n == 0 {
            return Err("malformed DER: indefinite length".into());
        }
        if n > 4 || rest.len() < n {
            return Err(bad());
        }
        let v = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (v, &rest[n..])
    };
    if rest.len() < len {
        return Err("malformed DER: element longer than its container".into());
    }
    Ok((
        Tlv {
            tag,
            body: &rest[..len],
        },
        &rest[len..],
    ))
}

/// Splits off an element that must have tag `tag`.
fn expect<'a>(d: &'a [u8], tag: u8, what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let (t, rest) = tlv(d)?;
    if t.tag != tag {
        return Err(format!(
            "malformed SignedData: {what}: tag 0x{:02x}, expected 0x{tag:02x}",
            t.tag
        ));
    }
    Ok((t.body, rest))
}

/// Dotted form of an OID's content bytes.
fn oid_dotted(b: &[u8]) -> Result<String, String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v = 0u64;
    for (i, &x) in b.iter().enumerate() {
        if v > (u64::MAX >> 7) {
            return Err("malformed OID".into());
        }
        v = (v << 7) | u64::from(x & 0x7f);
        if x & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - 40 * first);
            } else {
                arcs.push(v);
            }
            v = 0;
        } else if i + 1 == b.len() {
            return Err("malformed OID".into());
        }
    }
    if arcs.is_empty() {
        return Err("malformed OID".into());
    }
    let mut s = String::new();
    for (i, a) in arcs.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        let _ = write!(s, "{a}");
    }
    Ok(s)
}

/// Name of an OID (dotted form if unknown).
fn oid_name(dotted: &str) -> String {
    NAMES
        .iter()
        .find(|(o, _)| *o == dotted)
        .map_or_else(|| dotted.to_string(), |(_, n)| (*n).to_string())
}

/// Splits off an OID, named.
fn oid<'a>(d: &'a [u8], what: &str) -> Result<(String, &'a [u8]), String> {
    let (b, rest) = expect(d, 0x06, what)?;
    Ok((oid_name(&oid_dotted(b)?), rest))
}

/// Splits off an AlgorithmIdentifier: its algorithm, named.
fn algo<'a>(d: &'a [u8], what: &str) -> Result<(String, &'a [u8]), String> {
    let (body, rest) = expect(d, 0x30, what)?;
    let (name, _) = oid(body, what)?;
    Ok((name, rest))
}

/// A non-negative INTEGER's value (up to 64 bits).
fn small_int(b: &[u8]) -> Result<u64, String> {
    if b.is_empty() || b.len() > 8 || b[0] & 0x80 != 0 {
        return Err("malformed SignedData: bad version".into());
    }
    Ok(b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

/// Reads a DER `ContentInfo` holding a `SignedData`.
pub fn parse(der: &[u8]) -> Result<Summary, String> {
    let (ci, trailing) = expect(der, 0x30, "ContentInfo")?;
    if !trailing.is_empty() {
        return Err("malformed DER: bytes after the ContentInfo".into());
    }
    let (ct, rest) = oid(ci, "contentType")?;
    if ct != oid_name(OID_SIGNED_DATA) {
        return Err(format!("not a SignedData but {ct}"));
    }
    let (explicit, _) = expect(rest, 0xa0, "content")?;
    let (sd, _) = expect(explicit, 0x30, "SignedData")?;
    let (v, rest) = expect(sd, 0x02, "version")?;
    let version = small_int(v)?;
    let (_, rest) = expect(rest, 0x31, "digestAlgorithms")?;
    let (eci, mut rest) = expect(rest, 0x30, "encapContentInfo")?;
    let (content_type, econtent) = oid(eci, "eContentType")?;
    let detached = econtent.is_empty();
    let mut certs = 0;
    // certificates [0] IMPLICIT, crls [1] IMPLICIT.
    loop {
        let (t, r) = tlv(rest)?;
        match t.tag {
            0xa0 => {
                let mut c = t.body;
                while !c.is_empty() {
                    c = tlv(c)?.1;
                    certs += 1;
                }
            }
            0xa1 => {}
            _ => break,
        }
        rest = r;
    }
    let (mut sis, _) = expect(rest, 0x31, "signerInfos")?;
    let mut signers = 0;
    let mut first = None;
    while !sis.is_empty() {
        let (si, r) = expect(sis, 0x30, "SignerInfo")?;
        sis = r;
        signers += 1;
        if first.is_none() {
            first = Some(signer_info(si)?);
        }
    }
    let (digest_algo, sig_algo, signer, signed_attrs) =
        first.ok_or("the SignedData has no signer")?;
    Ok(Summary {
        version,
        content_type,
        detached,
        certs,
        signers,
        digest_algo,
        sig_algo,
        signer,
        signed_attrs,
    })
}

/// Digest algorithm, signature algorithm, signer and whether there are
/// signed attributes, of one `SignerInfo`.
fn signer_info(si: &[u8]) -> Result<(String, String, SignerId, bool), String> {
    let (_, rest) = expect(si, 0x02, "SignerInfo version")?;
    let (sid, rest) = tlv(rest)?;
    let signer = match sid.tag {
        0x30 => {
            let (issuer, r) = tlv(sid.body)?;
            if issuer.tag != 0x30 {
                return Err("malformed SignedData: issuer".into());
            }
            // The issuer element, tag and length included.
            let issuer_len = sid.body.len() - r.len();
            let (serial, _) = expect(r, 0x02, "serialNumber")?;
            SignerId::IssuerSerial {
                issuer: sid.body[..issuer_len].to_vec(),
                serial: serial.to_vec(),
            }
        }
        0x80 => SignerId::KeyId(sid.body.to_vec()),
        t => return Err(format!("malformed SignedData: signer id tag 0x{t:02x}")),
    };
    let (digest, mut rest) = algo(rest, "digestAlgorithm")?;
    let mut signed_attrs = false;
    if let Ok((t, r)) = tlv(rest) {
        if t.tag == 0xa0 {
            signed_attrs = true;
            rest = r;
        }
    }
    let (sig_algo, rest) = algo(rest, "signatureAlgorithm")?;
    let (sig, _) = expect(rest, 0x04, "signature")?;
    if sig.is_empty() {
        return Err("malformed SignedData: empty signature".into());
    }
    Ok((digest, sig_algo, signer, signed_attrs))
}

impl Summary {
    /// Why `verify_pkcs7_signature(..., VERIFYING_UNSPECIFIED_SIGNATURE)`
    /// over a detached descriptor would refuse this signature, or what
    /// DigSig does not expect; empty if nothing.
    pub fn kernel_problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.content_type != oid_name(OID_DATA) {
            p.push(format!(
                "content type {} (the kernel wants data)",
                self.content_type
            ));
        }
        if !self.detached {
            p.push("the content is embedded (DigSig signatures are detached)".into());
        }
        if self.signers != 1 {
            p.push(format!("{} signers (DigSig expects one)", self.signers));
        }
        if !KERNEL_DIGESTS.contains(&self.digest_algo.as_str()) {
            p.push(format!(
                "digest algorithm {} unknown to the kernel",
                self.digest_algo
            ));
        }
        if !KERNEL_SIG_ALGOS.contains(&self.sig_algo.as_str()) {
            p.push(format!(
                "signature algorithm {} unknown to the kernel",
                self.sig_algo
            ));
        }
        p
    }

    /// Whether this is exactly what `sign` makes: detached `data`, one
    /// signer, SHA-256, no signed attributes, no certificates, and
    /// nothing the kernel refuses.
    pub fn is_canonical(&self) -> bool {
        self.kernel_problems().is_empty()
            && self.digest_algo == "sha256"
            && !self.signed_attrs
            && self.certs == 0
    }

    /// The signer, for people: `issuer ..., serial ...` or `key id ...`
    /// (the issuer printed by `name`, which gets the DER of the name).
    pub fn signer_text(&self, name: impl Fn(&[u8]) -> Option<String>) -> String {
        match &self.signer {
            SignerId::IssuerSerial { issuer, serial } => format!(
                "issuer \"{}\", serial {}",
                name(issuer).unwrap_or_else(|| "?".into()),
                hex(serial)
            ),
            SignerId::KeyId(k) => format!("subject key id {}", hex(k)),
        }
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids() {
        assert_eq!(
            oid_dotted(&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]).unwrap(),
            "2.16.840.1.101.3.4.2.1"
        );
        assert_eq!(
            oid_dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]).unwrap(),
            OID_SIGNED_DATA
        );
        assert!(oid_dotted(&[]).is_err());
        assert!(oid_dotted(&[0x2a, 0x86]).is_err());
        assert_eq!(oid_name("1.2.3"), "1.2.3");
    }

    #[test]
    fn malformed_never_panics() {
        // Every prefix and some corruptions of a small valid-looking
        // structure are rejected or parsed, never a panic.
        let mut v = vec![0x30, 0x80];
        for n in 0..64u8 {
            v.push(n);
            let _ = parse(&v);
        }
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x30, 0x00]).is_err());
        assert!(parse(&[0x30, 0x03, 0x06, 0x01, 0x2a]).is_err());
        assert!(parse(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
    }
}
