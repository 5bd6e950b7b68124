// SPDX-License-Identifier: GPL-2.0

//! The DigSig ELF signature format: locating `.cgl_sig` in ELF32/ELF64
//! files of both byte orders built here (extended section numbering
//! included), proof that the file digest covers every byte but the
//! payload (every single-byte change outside it either breaks `locate` or
//! changes the digest), truncation, random input (proptest) and a bounded
//! deterministic mutation fuzz of 200k inputs. `real_binary` signs a copy
//! of `/bin/true` and is skipped when that is not an ELF file.

mod common;

use cgl_cores::elfsig::*;
use common::XorShift;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// --- readers and sinks --------------------------------------------------

/// Vec-backed reader that counts reads, checks the parser's bounds
/// contract and can be told to fail after a number of reads.
struct VecReader {
    data: Vec<u8>,
    reads: u64,
    fail_after: Option<u64>,
}

impl VecReader {
    fn new(data: Vec<u8>) -> Self {
        Self {
            data,
            reads: 0,
            fail_after: None,
        }
    }
}

impl FileReader for VecReader {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let end = off
            .checked_add(buf.len() as u64)
            .expect("read range overflows");
        assert!(end <= self.len(), "read [{off}, {end}) past {}", self.len());
        self.reads += 1;
        if self.fail_after.is_some_and(|n| self.reads > n) {
            return Err(ReadError);
        }
        buf.copy_from_slice(&self.data[off as usize..end as usize]);
        Ok(())
    }
}

struct ShaSink(Sha256);

impl DigestSink for ShaSink {
    fn update(&mut self, data: &[u8]) -> Result<(), HashError> {
        self.0.update(data);
        Ok(())
    }
}

fn locate_bytes(data: &[u8]) -> Result<Located, ElfSigError> {
    locate(&mut SliceReader(data))
}

/// The file digest of `sec` computed through `feed_digest`.
fn file_digest(data: &[u8], sec: &SigSection) -> [u8; 32] {
    let mut sink = ShaSink(Sha256::new());
    let mut scratch = [0u8; 1000];
    feed_digest(&mut SliceReader(data), sec, &mut sink, &mut scratch).expect("feed_digest");
    sink.0.finalize().into()
}

/// The digest input by hand: the file with the payload zeroed.
fn zeroed(data: &[u8], sec: &SigSection) -> Vec<u8> {
    let mut v = data.to_vec();
    let (o, l) = (sec.payload_off as usize, sec.payload_len as usize);
    v[o..o + l].fill(0);
    v
}

// --- ELF builder ----------------------------------------------------------

const SHT_PROGBITS: u32 = 1;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const PT_LOAD: u32 = 1;
const PT_GNU_STACK: u32 = 0x6474_e551;

#[derive(Clone, Copy, Debug)]
struct F {
    is64: bool,
    be: bool,
}

const LE64: F = F {
    is64: true,
    be: false,
};
const BE64: F = F {
    is64: true,
    be: true,
};
const LE32: F = F {
    is64: false,
    be: false,
};
const BE32: F = F {
    is64: false,
    be: true,
};
const ALL: [F; 4] = [LE64, BE64, LE32, BE32];

impl F {
    fn put(self, v: &mut [u8], off: usize, x: u64, n: usize) {
        let b = if self.be {
            x.to_be_bytes()[8 - n..].to_vec()
        } else {
            x.to_le_bytes()[..n].to_vec()
        };
        v[off..off + n].copy_from_slice(&b);
    }
    fn w(self) -> usize {
        if self.is64 {
            8
        } else {
            4
        }
    }
    fn ehdr(self) -> usize {
        if self.is64 {
            64
        } else {
            52
        }
    }
    fn shdr(self) -> usize {
        if self.is64 {
            64
        } else {
            40
        }
    }
    fn phdr(self) -> usize {
        if self.is64 {
            56
        } else {
            32
        }
    }
}

#[derive(Clone)]
struct Sec {
    name: String,
    typ: u32,
    data: Vec<u8>,
}

fn sec(name: &str, typ: u32, data: Vec<u8>) -> Sec {
    Sec {
        name: name.into(),
        typ,
        data,
    }
}

fn sig_sec(size: usize) -> Sec {
    sec(".cgl_sig", SHT_PROGBITS, vec![0; size])
}

#[derive(Clone)]
struct Spec {
    f: F,
    secs: Vec<Sec>,
    /// Empty sections added after `secs`.
    filler: usize,
    /// Use extended numbering (e_shnum = 0, SHN_XINDEX, PN_XNUM).
    extended: bool,
    /// The PT_LOAD segment covers the whole file instead of the headers
    /// and the first section.
    load_all: bool,
}

fn spec(f: F, secs: Vec<Sec>) -> Spec {
    Spec {
        f,
        secs,
        filler: 0,
        extended: false,
        load_all: false,
    }
}

/// A typical unsigned layout: `.text`, `.cgl_sig` (zeros), `.data`, a
/// `.bss`.
fn typical(f: F, sig_size: usize) -> Spec {
    spec(
        f,
        vec![
            sec(".text", SHT_PROGBITS, (0..200u8).collect()),
            sig_sec(sig_size),
            sec(".data", SHT_PROGBITS, b"hello, world\n".to_vec()),
            sec(".bss", SHT_NOBITS, vec![0; 64]),
        ],
    )
}

fn align8(x: usize) -> usize {
    (x + 7) & !7
}

/// Lay out: ELF header, 2 program headers, section contents, .shstrtab,
/// section header table.
fn build(s: &Spec) -> Vec<u8> {
    let f = s.f;
    let nph = 2usize;
    let mut secs = s.secs.clone();
    for _ in 0..s.filler {
        secs.push(sec("", SHT_PROGBITS, vec![]));
    }
    let mut strtab = vec![0u8];
    let mut names = vec![];
    for x in &secs {
        if x.name.is_empty() {
            names.push(0);
        } else {
            names.push(strtab.len());
            strtab.extend_from_slice(x.name.as_bytes());
            strtab.push(0);
        }
    }
    let shstr_name = strtab.len();
    strtab.extend_from_slice(b".shstrtab\0");
    secs.push(sec(".shstrtab", SHT_STRTAB, strtab));
    names.push(shstr_name);

    let mut out = vec![0u8; f.ehdr() + nph * f.phdr()];
    let mut offs = vec![];
    for x in &secs {
        let o = align8(out.len());
        out.resize(o, 0);
        offs.push(o);
        if x.typ != SHT_NOBITS {
            out.extend_from_slice(&x.data);
        }
    }
    let shoff = align8(out.len());
    let shnum = secs.len() + 1;
    out.resize(shoff + shnum * f.shdr(), 0);
    let shstrndx = shnum - 1;

    // ELF header.
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = if f.is64 { 2 } else { 1 };
    out[5] = if f.be { 2 } else { 1 };
    out[6] = 1;
    let w = f.w();
    f.put(&mut out, 16, 2, 2); // ET_EXEC
    f.put(&mut out, 18, if f.is64 { 62 } else { 3 }, 2);
    f.put(&mut out, 20, 1, 4);
    let phoff = f.ehdr();
    f.put(&mut out, 24 + w, phoff as u64, w);
    f.put(&mut out, 24 + 2 * w, shoff as u64, w);
    let o = 24 + 3 * w + 4;
    f.put(&mut out, o, f.ehdr() as u64, 2);
    f.put(&mut out, o + 2, f.phdr() as u64, 2);
    f.put(
        &mut out,
        o + 4,
        if s.extended { 0xffff } else { nph as u64 },
        2,
    );
    f.put(&mut out, o + 6, f.shdr() as u64, 2);
    f.put(
        &mut out,
        o + 8,
        if s.extended { 0 } else { shnum as u64 },
        2,
    );
    f.put(
        &mut out,
        o + 10,
        if s.extended { 0xffff } else { shstrndx as u64 },
        2,
    );

    // Program headers: PT_LOAD over the headers and the first section (or
    // everything), PT_GNU_STACK without file bytes.
    let load_end = if s.load_all {
        out.len()
    } else {
        offs[0] + secs[0].data.len()
    };
    for (i, (typ, off, filesz)) in [(PT_LOAD, 0, load_end), (PT_GNU_STACK, 0, 0)]
        .into_iter()
        .enumerate()
    {
        let p = phoff + i * f.phdr();
        f.put(&mut out, p, typ as u64, 4);
        if f.is64 {
            f.put(&mut out, p + 8, off as u64, 8);
            f.put(&mut out, p + 32, filesz as u64, 8);
            f.put(&mut out, p + 40, filesz as u64, 8);
        } else {
            f.put(&mut out, p + 4, off as u64, 4);
            f.put(&mut out, p + 16, filesz as u64, 4);
            f.put(&mut out, p + 20, filesz as u64, 4);
        }
    }

    // Section headers.
    if s.extended {
        let p = shoff;
        f.put(&mut out, p + 8 + 3 * w, shnum as u64, w); // sh_size
        f.put(&mut out, p + 8 + 4 * w, shstrndx as u64, 4); // sh_link
        f.put(&mut out, p + 12 + 4 * w, nph as u64, 4); // sh_info
    }
    for (i, x) in secs.iter().enumerate() {
        let p = shoff + (i + 1) * f.shdr();
        f.put(&mut out, p, names[i] as u64, 4);
        f.put(&mut out, p + 4, x.typ as u64, 4);
        f.put(&mut out, p + 8 + 2 * w, offs[i] as u64, w);
        f.put(&mut out, p + 8 + 3 * w, x.data.len() as u64, w);
    }
    out
}

/// Section header `idx` field at byte `field64`/`field32` of the entry.
fn shdr_field(f: F, data: &[u8], idx: usize, field32: usize, field64: usize) -> usize {
    let shoff = if f.is64 {
        u64::from_le_bytes(data[40..48].try_into().unwrap()) as usize
    } else {
        u32::from_le_bytes(data[32..36].try_into().unwrap()) as usize
    };
    assert!(!f.be, "helper for little-endian files only");
    shoff + idx * f.shdr() + if f.is64 { field64 } else { field32 }
}

/// A fake detached signature: one DER SEQUENCE of `len` bytes in all.
fn fake_sig(seed: u8, len: usize) -> Vec<u8> {
    assert!(len > 4 && len - 4 < 0x10000);
    let mut v = vec![0x30, 0x82];
    v.extend_from_slice(&((len - 4) as u16).to_be_bytes());
    v.extend((0..len - 4).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1));
    v
}

/// Sign `data` in place as the signer would; returns the file digest.
fn sign(data: &mut [u8], sig_len: usize) -> [u8; 32] {
    let sec = locate_section(&mut SliceReader(data)).expect("locate_section");
    let digest = file_digest(data, &sec);
    let desc = descriptor(sec.file_len, &digest);
    let seed = Sha256::digest(desc)[0];
    let (o, l) = (sec.payload_off as usize, sec.payload_len as usize);
    let used = encode_payload(&fake_sig(seed, sig_len), &mut data[o..o + l]).expect("encode");
    assert_eq!(used, PAYLOAD_HEADER_LEN + sig_len);
    digest
}

// --- locate ----------------------------------------------------------------

#[test]
fn locate_all_formats() {
    for f in ALL {
        for extended in [false, true] {
            let mut s = typical(f, DEFAULT_SECTION_SIZE as usize);
            s.extended = extended;
            let mut data = build(&s);
            let before = locate_section(&mut SliceReader(&data)).unwrap();
            assert_eq!(
                locate_bytes(&data),
                Err(ElfSigError::BadPayload("bad magic")),
                "{f:?}"
            );
            let digest = sign(&mut data, 300);
            let loc = locate(&mut VecReader::new(data.clone())).unwrap();
            assert_eq!(loc.section(), before);
            assert_eq!(loc.file_len, data.len() as u64);
            assert_eq!(loc.payload_len, DEFAULT_SECTION_SIZE);
            assert_eq!(loc.sig.hash_algo, HASH_ALGO_SHA256);
            assert_eq!(loc.sig.sig_type, SIG_TYPE_PKCS7);
            assert_eq!(loc.sig.sig_len, 300);
            assert_eq!(loc.sig.sig_off, loc.payload_off + 16);
            let po = loc.payload_off as usize;
            assert_eq!(&data[po..po + 8], b"CGLSIG\0\x01");
            assert_eq!(data[po + 16], 0x30);
            // Signing does not change the digest.
            assert_eq!(file_digest(&data, &loc.section()), digest);
            assert_eq!(
                Sha256::digest(zeroed(&data, &loc.section())).as_slice(),
                digest
            );
        }
    }
}

#[test]
fn unsigned_files() {
    for f in ALL {
        let s = spec(
            f,
            vec![
                sec(".text", SHT_PROGBITS, vec![1; 10]),
                sec(".cgl_sigx", SHT_PROGBITS, vec![0; 64]),
                sec(".cgl_si", SHT_PROGBITS, vec![0; 64]),
                sec("x.cgl_sig", SHT_PROGBITS, vec![0; 64]),
            ],
        );
        assert_eq!(locate_bytes(&build(&s)), Err(ElfSigError::Unsigned));
        // No section header table.
        let mut data = build(&s);
        let w = f.w();
        f.put(&mut data, 24 + 2 * w, 0, w);
        assert_eq!(locate_bytes(&data), Err(ElfSigError::Unsigned));
        // No section name table.
        let mut data = build(&s);
        f.put(&mut data, 24 + 3 * w + 14, 0, 2);
        assert_eq!(locate_bytes(&data), Err(ElfSigError::Unsigned));
    }
}

#[test]
fn name_suffix_of_other_name_is_found() {
    // "x.cgl_sig" shares its tail with ".cgl_sig": a name offset pointing
    // into it is the name ".cgl_sig".
    let mut s = spec(
        LE64,
        vec![
            sec(".text", SHT_PROGBITS, vec![1; 10]),
            sec("x.cgl_sig", SHT_PROGBITS, vec![0; 64]),
        ],
    );
    let mut data = build(&s);
    let name = shdr_field(LE64, &data, 2, 0, 0);
    let n = u32::from_le_bytes(data[name..name + 4].try_into().unwrap());
    data[name..name + 4].copy_from_slice(&(n + 1).to_le_bytes());
    assert!(locate_section(&mut SliceReader(&data)).is_ok());
    s.secs.push(sig_sec(64));
    let mut data = build(&s);
    let name = shdr_field(LE64, &data, 2, 0, 0);
    data[name..name + 4].copy_from_slice(&(n + 1).to_le_bytes());
    assert_eq!(
        locate_section(&mut SliceReader(&data)),
        Err(ElfSigError::Malformed("more than one .cgl_sig section"))
    );
}

#[test]
fn not_elf_and_bad_ident() {
    assert_eq!(locate_bytes(b""), Err(ElfSigError::NotElf));
    assert_eq!(locate_bytes(b"\x7fELF"), Err(ElfSigError::NotElf));
    assert_eq!(locate_bytes(&[0u8; 100]), Err(ElfSigError::NotElf));
    assert_eq!(
        locate_bytes(b"#!/bin/sh\necho hi\n"),
        Err(ElfSigError::NotElf)
    );
    let good = build(&typical(LE64, 256));
    for (i, v, e) in [
        (4, 0, "bad EI_CLASS"),
        (4, 3, "bad EI_CLASS"),
        (5, 0, "bad EI_DATA"),
        (5, 3, "bad EI_DATA"),
        (6, 0, "bad EI_VERSION"),
    ] {
        let mut d = good.clone();
        d[i] = v;
        assert_eq!(locate_bytes(&d), Err(ElfSigError::Malformed(e)));
    }
    assert_eq!(
        locate_bytes(&good[..40]),
        Err(ElfSigError::Malformed("truncated ELF header"))
    );
}

#[test]
fn duplicate_section() {
    for f in ALL {
        let mut s = typical(f, 256);
        s.secs.push(sig_sec(256));
        assert_eq!(
            locate_bytes(&build(&s)),
            Err(ElfSigError::Malformed("more than one .cgl_sig section"))
        );
    }
}

#[test]
fn section_type_and_size_rules() {
    for f in ALL {
        for (typ, size, want) in [
            (SHT_NOBITS, 4096, ".cgl_sig section has no contents"),
            (0, 4096, ".cgl_sig section has no contents"),
            (SHT_PROGBITS, 15, "bad .cgl_sig section size"),
            (SHT_PROGBITS, 0, "bad .cgl_sig section size"),
            (SHT_PROGBITS, 65537, "bad .cgl_sig section size"),
        ] {
            let mut s = typical(f, 16);
            s.secs[1] = sec(".cgl_sig", typ, vec![0; size]);
            assert_eq!(
                locate_bytes(&build(&s)),
                Err(ElfSigError::Malformed(want)),
                "{f:?} {typ} {size}"
            );
        }
        // The limits themselves are fine.
        for size in [21, 65536] {
            let mut s = typical(f, size);
            s.secs[1] = sig_sec(size);
            let mut d = build(&s);
            sign(&mut d, 5);
            assert_eq!(locate_bytes(&d).unwrap().payload_len, size as u64);
        }
    }
}

#[test]
fn overlap_rules() {
    for f in ALL {
        // A segment over the whole file.
        let mut s = typical(f, 256);
        s.load_all = true;
        assert_eq!(
            locate_bytes(&build(&s)),
            Err(ElfSigError::Malformed(".cgl_sig overlaps a segment"))
        );
    }
    let data = build(&typical(LE64, 256));
    let sec = locate_section(&mut SliceReader(&data)).unwrap();
    // Move the payload onto the ELF header, the program headers, the
    // section header table, .text and .shstrtab.
    let off = shdr_field(LE64, &data, 2, 16, 24);
    let shoff = u64::from_le_bytes(data[40..48].try_into().unwrap());
    let text_off = u64::from_le_bytes(data[off - 64..off - 56].try_into().unwrap());
    let strtab_off = {
        let o = shdr_field(LE64, &data, 5, 16, 24);
        u64::from_le_bytes(data[o..o + 8].try_into().unwrap())
    };
    for (at, want) in [
        (0, ".cgl_sig overlaps an ELF header table"),
        (100, ".cgl_sig overlaps an ELF header table"),
        (shoff - 8, ".cgl_sig overlaps an ELF header table"),
        (text_off, ".cgl_sig overlaps another section"),
        (strtab_off - 250, ".cgl_sig overlaps another section"),
        (sec.payload_off - 8, ".cgl_sig overlaps another section"),
    ] {
        let mut d = data.clone();
        d[off..off + 8].copy_from_slice(&at.to_le_bytes());
        assert_eq!(
            locate_section(&mut SliceReader(&d)),
            Err(ElfSigError::Malformed(want)),
            "at {at}"
        );
    }
    // Next to the neighbours, touching but not overlapping, is fine.
    let mut d = data.clone();
    let data_off = shdr_field(LE64, &data, 3, 16, 24);
    let dat = u64::from_le_bytes(data[data_off..data_off + 8].try_into().unwrap());
    d[off..off + 8].copy_from_slice(&(dat - 256).to_le_bytes());
    assert!(locate_section(&mut SliceReader(&d)).is_ok());
}

#[test]
fn payload_rules() {
    let mut data = build(&typical(LE64, 512));
    sign(&mut data, 100);
    let loc = locate_bytes(&data).unwrap();
    let po = loc.payload_off as usize;
    let cases: Vec<(usize, Vec<u8>, &str)> = vec![
        (0, b"CGLSIG\0\x02".to_vec(), "bad magic"),
        (8, 2u16.to_le_bytes().to_vec(), "unsupported hash algorithm"),
        (
            10,
            0u16.to_le_bytes().to_vec(),
            "unsupported signature type",
        ),
        (12, 0u32.to_le_bytes().to_vec(), "empty signature"),
        (
            12,
            497u32.to_le_bytes().to_vec(),
            "signature longer than section",
        ),
        (
            12,
            u32::MAX.to_le_bytes().to_vec(),
            "signature longer than section",
        ),
        (
            12,
            99u32.to_le_bytes().to_vec(),
            "signature is not one DER SEQUENCE",
        ),
        (
            12,
            101u32.to_le_bytes().to_vec(),
            "signature is not one DER SEQUENCE",
        ),
        (16, vec![0x31], "signature is not one DER SEQUENCE"),
        (17, vec![0x80], "signature is not one DER SEQUENCE"),
        (17, vec![0x85], "signature is not one DER SEQUENCE"),
        (16 + 100, vec![1], "non-zero padding"),
        (511, vec![1], "non-zero padding"),
    ];
    for (at, bytes, want) in cases {
        let mut d = data.clone();
        d[po + at..po + at + bytes.len()].copy_from_slice(&bytes);
        assert_eq!(
            locate_bytes(&d),
            Err(ElfSigError::BadPayload(want)),
            "{want}"
        );
    }
    // A signature that fills the section exactly.
    let mut d = build(&typical(LE64, 512));
    sign(&mut d, 496);
    assert_eq!(locate_bytes(&d).unwrap().sig.sig_len, 496);
    // Short-form DER length.
    let mut d = build(&typical(BE32, 64));
    let sec = locate_section(&mut SliceReader(&d)).unwrap();
    let (o, l) = (sec.payload_off as usize, sec.payload_len as usize);
    encode_payload(&[0x30, 3, 1, 2, 3], &mut d[o..o + l]).unwrap();
    assert_eq!(locate_bytes(&d).unwrap().sig.sig_len, 5);
}

#[test]
fn malformed_tables() {
    let good = build(&typical(LE64, 256));
    let len = good.len() as u64;
    let set = |at: usize, v: u64, n: usize| {
        let mut d = good.clone();
        LE64.put(&mut d, at, v, n);
        locate_section(&mut SliceReader(&d))
    };
    let m = ElfSigError::Malformed;
    assert!(set(0, 0x7f, 1).is_ok());
    assert_eq!(set(40, len, 8), Err(m("section header table outside file")));
    assert_eq!(
        set(40, u64::MAX - 10, 8),
        Err(m("section header table outside file"))
    );
    assert_eq!(set(58, 39, 2), Err(m("header table entry size too small")));
    assert_eq!(set(58, 63, 2), Err(m("header table entry size too small")));
    assert_eq!(set(60, 200, 2), Err(m("section header table outside file")));
    assert_eq!(set(62, 7, 2), Err(m("e_shstrndx out of range")));
    assert_eq!(set(62, 0xff00, 2), Err(m("bad e_shstrndx")));
    assert_eq!(set(32, len, 8), Err(m("program header table outside file")));
    assert_eq!(
        set(32, u64::MAX, 8),
        Err(m("program header table outside file"))
    );
    assert_eq!(set(54, 55, 2), Err(m("header table entry size too small")));
    // PN_XNUM without extended numbering: section 0's sh_info is 0.
    assert!(set(56, 0xffff, 2).is_ok());
    // e_shnum = 0 with a zero section 0 sh_size.
    assert_eq!(
        set(60, 0, 2),
        Err(m("section header table without sections"))
    );

    // Section header fields: .data is section 3, .shstrtab section 5.
    let sh = |idx: usize, f32: usize, f64: usize| shdr_field(LE64, &good, idx, f32, f64);
    assert_eq!(set(sh(3, 16, 24), len, 8), Err(m("section outside file")));
    assert_eq!(set(sh(3, 20, 32), len, 8), Err(m("section outside file")));
    assert_eq!(
        set(sh(3, 20, 32), u64::MAX, 8),
        Err(m("section outside file"))
    );
    // A huge NOBITS or NULL section is fine.
    assert!(set(sh(4, 20, 32), u64::MAX, 8).is_ok());
    assert_eq!(set(sh(2, 16, 24), len, 8), Err(m("section outside file")));
    assert_eq!(
        set(sh(5, 20, 32), u64::MAX, 8),
        Err(m("section name table outside file"))
    );
    assert_eq!(
        set(sh(5, 4, 4), SHT_NOBITS as u64, 4),
        Err(m("section name table has no contents"))
    );
    assert_eq!(
        set(sh(3, 0, 0), 10_000, 4),
        Err(m("section name outside string table"))
    );
    // A name at the very end of the table cannot be ".cgl_sig".
    let strsz = u64::from_le_bytes(good[sh(5, 20, 32)..sh(5, 20, 32) + 8].try_into().unwrap());
    assert_eq!(set(sh(2, 0, 0), strsz - 1, 4), Err(ElfSigError::Unsigned));
    // Segments outside the file.
    assert_eq!(set(64 + 32, len + 1, 8), Err(m("segment outside file")));
    assert_eq!(set(64 + 8, u64::MAX, 8), Err(m("segment outside file")));
}

#[test]
fn extended_numbering() {
    for f in ALL {
        // More sections than fit in e_shnum: .cgl_sig after 0xff10
        // unnamed ones for ELF64, before them for ELF32.
        let mut s = typical(f, 64);
        s.extended = true;
        if f.is64 {
            let sig = s.secs.remove(1);
            s.secs
                .extend((0..0xff10).map(|_| sec("", SHT_PROGBITS, vec![])));
            s.secs.push(sig);
        } else {
            s.filler = 0xff10;
        }
        let mut d = build(&s);
        let mut r = VecReader::new(d.clone());
        let sec = locate_section(&mut r).unwrap();
        sign(&mut d, 20);
        let loc = locate_bytes(&d).unwrap();
        assert_eq!(loc.section(), sec);
        // Batched reads, one name lookup for the unnamed filler: fewer
        // reads than sections.
        assert!(r.reads < 0xff10, "{} reads", r.reads);

        // Too many sections.
        let mut s4 = typical(f, 64);
        s4.filler = MAX_SECTIONS as usize;
        s4.extended = true;
        assert_eq!(
            locate_bytes(&build(&s4)),
            Err(ElfSigError::Malformed("too many sections"))
        );
    }
    // sh_size of section 0 beyond u32, phnum beyond the cap.
    let mut s = typical(LE64, 64);
    s.extended = true;
    let good = build(&s);
    let mut d = good.clone();
    let shoff = u64::from_le_bytes(d[40..48].try_into().unwrap()) as usize;
    LE64.put(&mut d, shoff + 32, 1 << 32, 8);
    assert_eq!(
        locate_bytes(&d),
        Err(ElfSigError::Malformed("too many sections"))
    );
    let mut d = good.clone();
    LE64.put(&mut d, shoff + 44, MAX_SEGMENTS as u64 + 1, 4);
    assert_eq!(
        locate_bytes(&d),
        Err(ElfSigError::Malformed("too many segments"))
    );
    let mut d = good.clone();
    LE64.put(&mut d, shoff + 44, 1000, 4);
    assert_eq!(
        locate_bytes(&d),
        Err(ElfSigError::Malformed("program header table outside file"))
    );
    // SHN_XINDEX with sh_link 0: no name table.
    let mut d = good.clone();
    LE64.put(&mut d, shoff + 40, 0, 4);
    assert_eq!(locate_bytes(&d), Err(ElfSigError::Unsigned));
    let mut d = good;
    LE64.put(&mut d, shoff + 40, 100, 4);
    assert_eq!(
        locate_bytes(&d),
        Err(ElfSigError::Malformed("e_shstrndx out of range"))
    );
}

#[test]
fn large_entry_sizes() {
    // e_shentsize/e_phentsize larger than needed (and than the read
    // cache): entries are read one by one.
    for entsize in [72u64, 300, 65535] {
        let d0 = build(&typical(LE64, 64));
        // Re-lay the section header table with bigger entries at the end.
        let shoff = u64::from_le_bytes(d0[40..48].try_into().unwrap()) as usize;
        let shnum = u16::from_le_bytes(d0[60..62].try_into().unwrap()) as usize;
        let mut d = d0[..shoff].to_vec();
        for i in 0..shnum {
            let mut e = d0[shoff + i * 64..shoff + i * 64 + 64].to_vec();
            e.resize(entsize as usize, 0xee);
            d.extend_from_slice(&e);
        }
        LE64.put(&mut d, 58, entsize, 2);
        let sec = locate_section(&mut SliceReader(&d)).unwrap();
        sign(&mut d, 10);
        assert_eq!(locate_bytes(&d).unwrap().section(), sec);
    }
}

#[test]
fn io_errors_propagate() {
    let mut d = build(&typical(BE64, 256));
    sign(&mut d, 50);
    let mut r = VecReader::new(d.clone());
    locate(&mut r).unwrap();
    let total = r.reads;
    for n in 0..total {
        let mut r = VecReader::new(d.clone());
        r.fail_after = Some(n);
        assert_eq!(locate(&mut r), Err(ElfSigError::Io), "fail after {n}");
    }
    let loc = locate_bytes(&d).unwrap();
    let mut r = VecReader::new(d.clone());
    r.fail_after = Some(0);
    let mut sink = ShaSink(Sha256::new());
    assert_eq!(
        feed_digest(&mut r, &loc.section(), &mut sink, &mut [0u8; 64]),
        Err(ElfSigError::Io)
    );
}

#[test]
fn feed_digest_rules() {
    let mut d = build(&typical(LE32, 300));
    let want = sign(&mut d, 77);
    let sec = locate_bytes(&d).unwrap().section();
    struct Fail;
    impl DigestSink for Fail {
        fn update(&mut self, _: &[u8]) -> Result<(), HashError> {
            Err(HashError)
        }
    }
    assert_eq!(
        feed_digest(&mut SliceReader(&d), &sec, &mut Fail, &mut [0u8; 8]),
        Err(ElfSigError::Hash)
    );
    let mut sink = ShaSink(Sha256::new());
    assert_eq!(
        feed_digest(&mut SliceReader(&d), &sec, &mut sink, &mut []),
        Err(ElfSigError::BadBuffer)
    );
    assert_eq!(
        feed_digest(
            &mut SliceReader(&d[..d.len() - 1]),
            &sec,
            &mut sink,
            &mut [0u8; 8]
        ),
        Err(ElfSigError::Malformed("file length changed"))
    );
    // Any scratch size gives the same digest.
    for n in [1, 2, 3, 7, 64, 299, 300, 301, 4096, 100_000] {
        let mut sink = ShaSink(Sha256::new());
        let mut scratch = vec![0xaau8; n];
        feed_digest(&mut SliceReader(&d), &sec, &mut sink, &mut scratch).unwrap();
        let got: [u8; 32] = sink.0.finalize().into();
        assert_eq!(got, want, "scratch {n}");
    }
    // digest_ranges and hash_input_len.
    let r = digest_ranges(&sec).unwrap();
    assert_eq!(
        r[0],
        DigestRange::File {
            off: 0,
            len: sec.payload_off
        }
    );
    assert_eq!(r[1], DigestRange::Zeros { len: 300 });
    assert_eq!(
        r[2],
        DigestRange::File {
            off: sec.payload_off + 300,
            len: sec.file_len - sec.payload_off - 300
        }
    );
    assert_eq!(hash_input_len(&sec), Ok(d.len() as u64));
    for bad in [
        SigSection {
            file_len: 10,
            payload_off: 5,
            payload_len: 6,
        },
        SigSection {
            file_len: u64::MAX,
            payload_off: u64::MAX,
            payload_len: 1,
        },
    ] {
        assert!(digest_ranges(&bad).is_err());
        assert!(hash_input_len(&bad).is_err());
    }
    let edge = SigSection {
        file_len: u64::MAX,
        payload_off: 0,
        payload_len: u64::MAX,
    };
    assert_eq!(hash_input_len(&edge), Ok(u64::MAX));
    assert!(!DigestRange::Zeros { len: 1 }.is_empty());
}

#[test]
fn descriptor_layout() {
    let digest: [u8; 32] = core::array::from_fn(|i| i as u8 + 0xa0);
    let d = descriptor(0x0102_0304_0506_0708, &digest);
    let mut want = b"CGLDIGST".to_vec();
    want.extend_from_slice(&[1, 0, 0, 0, 32, 0, 0, 0]);
    want.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
    want.extend_from_slice(&digest);
    assert_eq!(d.len(), DESCRIPTOR_LEN);
    assert_eq!(d.to_vec(), want);
}

#[test]
fn encode_payload_rules() {
    let mut out = vec![0xffu8; 64];
    assert_eq!(encode_payload(&[0x30, 0], &mut out), Ok(18));
    let mut want = b"CGLSIG\0\x01".to_vec();
    want.extend_from_slice(&[1, 0, 1, 0, 2, 0, 0, 0, 0x30, 0]);
    want.resize(64, 0);
    assert_eq!(out, want);
    assert_eq!(
        decode_payload_header(&out[..16].try_into().unwrap(), 64),
        Ok((1, 1, 2))
    );
    assert_eq!(
        decode_payload_header(&out[..16].try_into().unwrap(), 17),
        Err(ElfSigError::BadPayload("signature longer than section"))
    );
    assert_eq!(
        encode_payload(&[], &mut out),
        Err(ElfSigError::BadPayload("empty signature"))
    );
    assert_eq!(
        encode_payload(&[1; 49], &mut out),
        Err(ElfSigError::BadPayload("signature longer than section"))
    );
    assert_eq!(encode_payload(&[1; 48], &mut out), Ok(64));
    assert_eq!(
        encode_payload(&[1], &mut [0u8; 15]),
        Err(ElfSigError::BadBuffer)
    );
    assert_eq!(
        encode_payload(&[1], &mut vec![0u8; MAX_SECTION_SIZE as usize + 1]),
        Err(ElfSigError::BadBuffer)
    );
    // Display never panics and names the reason.
    let e = ElfSigError::Malformed("x y");
    assert_eq!(e.to_string(), "malformed ELF: x y");
    for e in [
        ElfSigError::Io,
        ElfSigError::NotElf,
        ElfSigError::Unsigned,
        ElfSigError::BadPayload("z"),
        ElfSigError::Hash,
        ElfSigError::BadBuffer,
    ] {
        assert!(!e.to_string().is_empty());
    }
}

// --- the digest covers everything but the payload -------------------------

/// Flip every byte of a signed file (with three xor masks) and check that
/// the result is either rejected by `locate` or has a different digest
/// input and digest; changes inside the payload are accepted only inside
/// the signature bytes, with the digest unchanged (the signature then no
/// longer verifies).
fn check_every_byte(f: F, extended: bool) -> (usize, usize, usize) {
    let mut s = typical(f, 512);
    s.extended = extended;
    let mut data = build(&s);
    let digest = sign(&mut data, 120);
    let loc = locate_bytes(&data).unwrap();
    let sec = loc.section();
    let base_input = zeroed(&data, &sec);
    let (po, pe) = (
        loc.payload_off as usize,
        (loc.payload_off + loc.payload_len) as usize,
    );
    let (so, se) = (
        loc.sig.sig_off as usize,
        (loc.sig.sig_off + loc.sig.sig_len as u64) as usize,
    );
    let (mut rejected, mut changed, mut sig_only) = (0, 0, 0);
    for i in 0..data.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut d = data.clone();
            d[i] ^= mask;
            match locate_bytes(&d) {
                Err(_) => rejected += 1,
                Ok(l2) => {
                    let sec2 = l2.section();
                    let input = zeroed(&d, &sec2);
                    if i < po || i >= pe {
                        assert_ne!(input, base_input, "{f:?} byte {i} ^ {mask:#x}");
                        assert_ne!(file_digest(&d, &sec2), digest, "byte {i}");
                        assert_ne!(
                            descriptor(sec2.file_len, &file_digest(&d, &sec2)),
                            descriptor(sec.file_len, &digest)
                        );
                        changed += 1;
                    } else {
                        assert!(
                            (so + 4..se).contains(&i),
                            "payload byte {i} ^ {mask:#x} accepted"
                        );
                        assert_eq!(sec2, sec);
                        assert_eq!(l2.sig, loc.sig);
                        assert_eq!(file_digest(&d, &sec2), digest);
                        assert_ne!(&d[so..se], &data[so..se]);
                        sig_only += 1;
                    }
                }
            }
        }
    }
    (rejected, changed, sig_only)
}

#[test]
fn every_byte_is_covered() {
    for f in ALL {
        for extended in [false, true] {
            let (rejected, changed, sig_only) = check_every_byte(f, extended);
            assert!(rejected > 0 && changed > 0 && sig_only > 0);
            assert_eq!(sig_only, 3 * (120 - 4));
        }
    }
}

#[test]
fn truncation_never_panics() {
    for f in ALL {
        let mut data = build(&typical(f, 512));
        sign(&mut data, 120);
        assert!(locate_bytes(&data).is_ok());
        for n in 0..data.len() {
            // The section header table is last: every truncation fails.
            assert!(locate_bytes(&data[..n]).is_err(), "{f:?} len {n}");
            let _ = locate_section(&mut VecReader::new(data[..n].to_vec()));
        }
        // Trailing bytes are covered by the digest too.
        let mut longer = data.clone();
        longer.push(0);
        let l = locate_bytes(&longer).unwrap();
        assert_ne!(
            file_digest(&longer, &l.section()),
            file_digest(&data, &locate_bytes(&data).unwrap().section())
        );
    }
}

// --- random input -------------------------------------------------------------

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = locate(&mut VecReader::new(data.clone()));
    }

    #[test]
    fn random_after_elf_ident(
        f in 0usize..4,
        rest in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let f = ALL[f];
        let mut data = vec![0x7f, b'E', b'L', b'F', if f.is64 { 2 } else { 1 }, if f.be { 2 } else { 1 }, 1];
        data.extend_from_slice(&rest);
        let _ = locate(&mut VecReader::new(data));
    }

    #[test]
    fn random_field_writes(
        f in 0usize..4,
        ext in any::<bool>(),
        writes in proptest::collection::vec((any::<u16>(), any::<u64>(), 0usize..4), 1..6),
    ) {
        let mut s = typical(ALL[f], 128);
        s.extended = ext;
        let mut data = build(&s);
        sign(&mut data, 40);
        let len = data.len();
        for (at, v, n) in writes {
            let at = at as usize % len;
            let n = [1, 2, 4, 8][n].min(len - at);
            ALL[f].put(&mut data, at, v, n);
        }
        check_consistent(&data);
    }
}

/// Whatever `locate` accepts is self-consistent and hashable.
fn check_consistent(data: &[u8]) {
    let mut r = VecReader::new(data.to_vec());
    if let Ok(loc) = locate(&mut r) {
        assert_eq!(loc.file_len, data.len() as u64);
        assert!(loc.payload_off + loc.payload_len <= loc.file_len);
        assert!((16..=MAX_SECTION_SIZE).contains(&loc.payload_len));
        assert_eq!(loc.sig.sig_off, loc.payload_off + 16);
        assert!(loc.sig.sig_off + loc.sig.sig_len as u64 <= loc.payload_off + loc.payload_len);
        assert_eq!(hash_input_len(&loc.section()), Ok(data.len() as u64));
        let mut sink = ShaSink(Sha256::new());
        feed_digest(&mut r, &loc.section(), &mut sink, &mut [0u8; 128]).unwrap();
        let got: [u8; 32] = sink.0.finalize().into();
        let want: [u8; 32] = Sha256::digest(zeroed(data, &loc.section())).into();
        assert_eq!(got, want);
    }
}

/// Bounded deterministic fuzz: 200k mutated inputs from signed seeds of
/// every format, fixed seed. Mutations: random byte writes, interesting
/// values at random offsets, truncation, extension, splicing. With
/// `CGL_ELFSIG_SEED_DIR` set, the seeds are written there as a corpus.
#[test]
fn deterministic_fuzz_200k() {
    const N: usize = 200_000;
    let mut seeds = vec![];
    for f in ALL {
        for extended in [false, true] {
            let mut s = typical(f, 64);
            s.extended = extended;
            let mut d = build(&s);
            sign(&mut d, 30);
            seeds.push((f, d));
        }
    }
    // Seed corpus for `cargo fuzz` (see tools/testing/cgl/fuzz).
    if let Some(dir) = std::env::var_os("CGL_ELFSIG_SEED_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        for (i, (_, d)) in seeds.iter().enumerate() {
            std::fs::write(std::path::Path::new(&dir).join(format!("seed{i}")), d).unwrap();
        }
    }
    let interesting: [u64; 12] = [
        0,
        1,
        7,
        16,
        40,
        64,
        0xff00,
        0xffff,
        0x7fff_ffff,
        0xffff_ffff,
        1 << 63,
        u64::MAX,
    ];
    let mut rng = XorShift(0x5eed_e1f5_19c0_ffee);
    let (mut ok, mut err) = (0usize, 0usize);
    for _ in 0..N {
        let (f, seed) = &seeds[(rng.next() % seeds.len() as u64) as usize];
        let mut d = seed.clone();
        let muts = 1 + rng.next() % 4;
        for _ in 0..muts {
            let len = d.len().max(1) as u64;
            match rng.next() % 8 {
                0..=2 => {
                    let at = (rng.next() % len) as usize;
                    if at < d.len() {
                        d[at] = rng.next() as u8;
                    }
                }
                3 | 4 => {
                    // Interesting value in a header-sized field; mostly
                    // within the headers (first 64 bytes or the section
                    // header table at the end).
                    let n = [1usize, 2, 4, 8][(rng.next() % 4) as usize];
                    let at = if rng.next().is_multiple_of(2) {
                        rng.next() % 64
                    } else {
                        len.saturating_sub(1 + rng.next() % 512)
                    } as usize;
                    if at + n <= d.len() {
                        let v = interesting[(rng.next() % 12) as usize];
                        let v = if rng.next().is_multiple_of(4) {
                            v.wrapping_add(rng.next() % 3).wrapping_sub(1)
                        } else {
                            v
                        };
                        f.put(&mut d, at, v, n);
                    }
                }
                5 => d.truncate((rng.next() % len) as usize),
                6 => {
                    let n = (rng.next() % 64) as usize;
                    d.extend((0..n).map(|_| rng.next() as u8));
                }
                _ => {
                    // Copy a random chunk over another place.
                    let a = (rng.next() % len) as usize;
                    let b = (rng.next() % len) as usize;
                    let n = (rng.next() % 128) as usize;
                    if a + n <= d.len() && b + n <= d.len() {
                        d.copy_within(a..a + n, b);
                    }
                }
            }
        }
        match locate(&mut SliceReader(&d)) {
            Ok(_) => {
                ok += 1;
                if ok.is_multiple_of(64) {
                    check_consistent(&d);
                }
            }
            Err(_) => err += 1,
        }
    }
    assert_eq!(ok + err, N);
    // The mutations are mostly survivable or mostly not, but both occur.
    assert!(ok > N / 100 && err > N / 100, "ok {ok} err {err}");
    eprintln!("deterministic fuzz: {N} inputs, {ok} located, {err} rejected");
}

// --- a real binary -----------------------------------------------------------------

/// Add a `.cgl_sig` section to an ELF64 LE file the way a signer that
/// cannot move anything would: append a copy of the section name table
/// with the new name, the zeroed section, and a copy of the section
/// header table with one more entry, then point the ELF header at it.
fn add_sig_section_le64(orig: &[u8], size: usize) -> Vec<u8> {
    let rd = |d: &[u8], o: usize, n: usize| -> u64 {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&d[o..o + n]);
        u64::from_le_bytes(b)
    };
    let shoff = rd(orig, 40, 8) as usize;
    let shentsize = rd(orig, 58, 2) as usize;
    let shnum = rd(orig, 60, 2) as usize;
    let shstrndx = rd(orig, 62, 2) as usize;
    assert!(shnum > 0 && shnum < 0xff00 && shstrndx < shnum && shentsize == 64);
    let st = shoff + shstrndx * 64;
    let (st_off, st_size) = (rd(orig, st + 24, 8) as usize, rd(orig, st + 32, 8) as usize);
    let mut d = orig.to_vec();
    // New name table.
    let new_st_off = d.len();
    d.extend_from_slice(&orig[st_off..st_off + st_size]);
    let name = d.len() - new_st_off;
    d.extend_from_slice(b".cgl_sig\0");
    let new_st_size = d.len() - new_st_off;
    // Section.
    d.resize(align8(d.len()), 0);
    let sig_off = d.len();
    d.resize(sig_off + size, 0);
    // New section header table.
    d.resize(align8(d.len()), 0);
    let new_shoff = d.len();
    d.extend_from_slice(&orig[shoff..shoff + shnum * 64]);
    let nst = new_shoff + shstrndx * 64;
    LE64.put(&mut d, nst + 24, new_st_off as u64, 8);
    LE64.put(&mut d, nst + 32, new_st_size as u64, 8);
    let mut e = [0u8; 64];
    LE64.put(&mut e, 0, name as u64, 4);
    LE64.put(&mut e, 4, SHT_PROGBITS as u64, 4);
    LE64.put(&mut e, 24, sig_off as u64, 8);
    LE64.put(&mut e, 32, size as u64, 8);
    LE64.put(&mut e, 48, 1, 8);
    d.extend_from_slice(&e);
    LE64.put(&mut d, 40, new_shoff as u64, 8);
    LE64.put(&mut d, 60, shnum as u64 + 1, 2);
    d
}

#[test]
fn real_binary() {
    let orig = match std::fs::read("/bin/true") {
        Ok(d) if d.starts_with(b"\x7fELF\x02\x01") => d,
        _ => {
            eprintln!("note: /bin/true is not an ELF64 LE file here, skipping");
            return;
        }
    };
    assert_eq!(locate_bytes(&orig), Err(ElfSigError::Unsigned));
    let mut d = add_sig_section_le64(&orig, DEFAULT_SECTION_SIZE as usize);
    let sec = locate_section(&mut SliceReader(&d)).unwrap();
    assert_eq!(sec.payload_len, DEFAULT_SECTION_SIZE);
    let digest = sign(&mut d, 1500);
    let loc = locate(&mut VecReader::new(d.clone())).unwrap();
    assert_eq!(loc.section(), sec);
    assert_eq!(file_digest(&d, &sec), digest);
    // Re-signing in place keeps the layout and the digest.
    assert_eq!(sign(&mut d, 800), digest);
    assert_eq!(locate_bytes(&d).unwrap().sig.sig_len, 800);
    // Flipping bytes all over the binary (stride 7) never keeps the digest.
    let input = zeroed(&d, &sec);
    for i in (0..d.len()).step_by(7) {
        if (sec.payload_off as usize..(sec.payload_off + sec.payload_len) as usize).contains(&i) {
            continue;
        }
        let mut m = d.clone();
        m[i] ^= 0x20;
        if let Ok(l) = locate_bytes(&m) {
            assert_ne!(zeroed(&m, &l.section()), input, "byte {i}");
        }
    }
    // Putting the section inside a loaded segment is refused: point it at
    // the start of .text-ish bytes (the first PT_LOAD covers offset 64+).
    let shoff = u64::from_le_bytes(d[40..48].try_into().unwrap()) as usize;
    let shnum = u16::from_le_bytes(d[60..62].try_into().unwrap()) as usize;
    let last = shoff + (shnum - 1) * 64;
    let mut m = d.clone();
    LE64.put(&mut m, last + 24, 0x1000, 8);
    assert!(locate_section(&mut SliceReader(&m)).is_err());
}

/// With binutils installed, a section added by `objcopy --add-section`
/// is found and signable.
#[test]
fn objcopy_added_section() {
    let dir = std::env::temp_dir().join(format!("cgl-elfsig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let zeros = dir.join("zeros");
    let out = dir.join("true.signed");
    std::fs::write(&zeros, vec![0u8; DEFAULT_SECTION_SIZE as usize]).unwrap();
    let st = std::process::Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".cgl_sig={}", zeros.display()))
        .args(["--set-section-flags", ".cgl_sig=readonly,contents"])
        .arg("/bin/true")
        .arg(&out)
        .status();
    match st {
        Ok(s) if s.success() => {}
        _ => {
            eprintln!("note: objcopy or /bin/true unavailable, skipping");
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
    }
    let mut d = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let sec = locate_section(&mut SliceReader(&d)).unwrap();
    assert_eq!(sec.payload_len, DEFAULT_SECTION_SIZE);
    let digest = sign(&mut d, 2000);
    assert_eq!(
        file_digest(&d, &locate_bytes(&d).unwrap().section()),
        digest
    );
}
