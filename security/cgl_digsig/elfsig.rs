// SPDX-License-Identifier: GPL-2.0

//! The ELF signature format of DigSig: where the signature lives in an ELF
//! file, what it covers, and how to find it without trusting the file.
//!
//! Only `core` is used: the file is built into the DigSig LSM and,
//! unchanged, into the host test crate and the signing tool. Every
//! function is total: malformed input yields an [`ElfSigError`], never a
//! panic, and every read goes through [`FileReader`] with offsets checked
//! against the file length first, so the kernel never maps whole files.
//!
//! # The `.cgl_sig` section
//!
//! A signed ELF file (ELF32 or ELF64, either byte order) has exactly one
//! section named [`SECTION_NAME`] (`.cgl_sig`). Its file bytes
//! `[sh_offset, sh_offset + sh_size)` are the *payload*; all integers in it
//! are little-endian, whatever the ELF byte order:
//!
//! | offset | size      | field                                            |
//! |-------:|-----------|--------------------------------------------------|
//! | 0      | 8         | magic [`PAYLOAD_MAGIC`], `"CGLSIG\0\x01"`       |
//! | 8      | 2         | `hash_algo`: [`HASH_ALGO_SHA256`] (1)             |
//! | 10     | 2         | `sig_type`: [`SIG_TYPE_PKCS7`] (1), detached DER  |
//! | 12     | 4         | `sig_len`, in bytes, at least 1                  |
//! | 16     | `sig_len` | the signature                                    |
//! | ...    | rest      | zero padding up to `sh_size`                     |
//!
//! The section is created with a fixed size ([`DEFAULT_SECTION_SIZE`],
//! 4096 bytes; at least [`PAYLOAD_HEADER_LEN`] and at most
//! [`MAX_SECTION_SIZE`]) filled with zeros, so signing and re-signing write
//! inside it and never move anything. The signature must be exactly one
//! DER `SEQUENCE` (first byte 0x30, definite length in at most 4 length
//! bytes, `sig_len` bytes in all) and the padding must be all zeros, so
//! no byte of the payload is free for other data.
//!
//! The section must not be `SHT_NULL` or `SHT_NOBITS`, must lie inside the
//! file, and its payload must not overlap the ELF header, the program
//! header table, the section header table, the file bytes of any segment
//! (`p_filesz > 0`) or of any other section (neither `SHT_NULL` nor
//! `SHT_NOBITS`, `sh_size > 0`). Those rules keep every byte that decides
//! where the payload is, and every byte that is loaded or interpreted,
//! under the signature: only the payload is left out, and nothing reads it
//! but DigSig. Section 0 is never considered (it is the null section, or
//! holds extended numbering).
//!
//! # What is signed
//!
//! 1. The *file digest* is SHA-256 over the whole file with the payload
//!    range replaced by as many zero bytes: `file[0 .. off]`, then
//!    `sh_size` zero bytes, then `file[off + sh_size ..]`
//!    ([`digest_ranges`], [`feed_digest`]). It is the same before and
//!    after signing, since an unsigned section is all zeros.
//! 2. The *digest descriptor* ([`descriptor`]) is 56 bytes, little-endian:
//!
//!    | offset | size | field                                        |
//!    |-------:|-----:|----------------------------------------------|
//!    | 0      | 8    | magic [`DESCRIPTOR_MAGIC`], `"CGLDIGST"`     |
//!    | 8      | 2    | `hash_algo` (1, SHA-256)                     |
//!    | 10     | 2    | reserved, 0                                  |
//!    | 12     | 4    | `digest_len` (32)                            |
//!    | 16     | 8    | `file_size`, the whole file's length         |
//!    | 24     | 32   | the file digest                              |
//!
//! 3. The signature is a detached PKCS#7/CMS `SignedData` (DER) over the
//!    descriptor, checked by the kernel with `verify_pkcs7_signature()`
//!    against the DigSig keyring (as fs-verity builtin signatures sign a
//!    small struct holding the digest).
//!
//! Changing any byte outside the payload changes the file digest, or makes
//! the file fail [`locate`]; changing the payload either fails [`locate`]
//! or changes the signature, which then fails verification.
//!
//! # ELF parsing
//!
//! [`locate_section`] reads the ELF header (`EI_VERSION` must be 1), the
//! section header table (`e_shentsize` at least 40 or 64 bytes; extended
//! numbering: `e_shnum == 0` takes the count from section 0's `sh_size`,
//! `e_shstrndx == SHN_XINDEX` the string table index from its `sh_link`,
//! `e_phnum == PN_XNUM` the segment count from its `sh_info`), the section
//! name string table and the program header table. At most
//! [`MAX_SECTIONS`] sections and [`MAX_SEGMENTS`] segments are accepted.
//! A file without a section header table, without a section name table or
//! without a `.cgl_sig` section is [`ElfSigError::Unsigned`]; two
//! `.cgl_sig` sections are [`ElfSigError::Malformed`]. [`locate`] also
//! decodes and checks the payload header and the padding.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// Name of the signature section (without the terminating NUL).
pub const SECTION_NAME: &[u8; 8] = b".cgl_sig";

/// First 8 bytes of a signature payload.
pub const PAYLOAD_MAGIC: [u8; 8] = *b"CGLSIG\0\x01";

/// Length of the payload header: magic, `hash_algo`, `sig_type`, `sig_len`.
pub const PAYLOAD_HEADER_LEN: usize = 16;

/// Size the signer gives a new `.cgl_sig` section, in bytes.
pub const DEFAULT_SECTION_SIZE: u64 = 4096;

/// Largest `.cgl_sig` section accepted, in bytes.
pub const MAX_SECTION_SIZE: u64 = 65536;

/// Largest number of section headers accepted.
pub const MAX_SECTIONS: u32 = 65536;

/// Largest number of program headers accepted.
pub const MAX_SEGMENTS: u32 = 65536;

/// `hash_algo` value of SHA-256, the only algorithm defined.
pub const HASH_ALGO_SHA256: u16 = 1;

/// `sig_type` value of a detached PKCS#7/CMS signature in DER.
pub const SIG_TYPE_PKCS7: u16 = 1;

/// Length of a SHA-256 digest, in bytes.
pub const SHA256_DIGEST_LEN: usize = 32;

/// First 8 bytes of a digest descriptor.
pub const DESCRIPTOR_MAGIC: [u8; 8] = *b"CGLDIGST";

/// Length of a digest descriptor, in bytes.
pub const DESCRIPTOR_LEN: usize = 56;

/// Why the signature of a file could not be found.
///
/// Every variant means "not validly signed" to DigSig; they differ only
/// in what is logged and returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfSigError {
    /// The [`FileReader`] failed.
    Io,
    /// The file does not start with the ELF magic.
    NotElf,
    /// The ELF structure is inconsistent or outside the file.
    Malformed(&'static str),
    /// The file has no `.cgl_sig` section.
    Unsigned,
    /// The `.cgl_sig` payload is not a valid, supported signature payload.
    BadPayload(&'static str),
    /// The [`DigestSink`] failed.
    Hash,
    /// A caller-provided buffer is too small or too large.
    BadBuffer,
}

impl core::fmt::Display for ElfSigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io => f.write_str("read error"),
            Self::NotElf => f.write_str("not an ELF file"),
            Self::Malformed(why) => write!(f, "malformed ELF: {why}"),
            Self::Unsigned => f.write_str("no .cgl_sig section"),
            Self::BadPayload(why) => write!(f, "bad signature payload: {why}"),
            Self::Hash => f.write_str("digest error"),
            Self::BadBuffer => f.write_str("bad buffer size"),
        }
    }
}

/// Failure of [`FileReader::read_at`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadError;

/// Failure of [`DigestSink::update`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashError;

/// Random access to the file being checked.
///
/// The parser calls `read_at` only for ranges inside `[0, len())`, as
/// `len()` was when parsing started.
pub trait FileReader {
    /// Length of the file in bytes.
    fn len(&self) -> u64;

    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fill all of `buf` with the file bytes at `off`, or fail.
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<(), ReadError>;
}

/// A [`FileReader`] over bytes in memory.
#[derive(Clone, Copy, Debug)]
pub struct SliceReader<'a>(pub &'a [u8]);

impl FileReader for SliceReader<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let off = usize::try_from(off).map_err(|_| ReadError)?;
        let src = self
            .0
            .get(off..)
            .and_then(|s| s.get(..buf.len()))
            .ok_or(ReadError)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Receiver of the bytes hashed into the file digest.
pub trait DigestSink {
    /// Hash `data` next.
    fn update(&mut self, data: &[u8]) -> Result<(), HashError>;
}

/// The `.cgl_sig` section of a file, found by [`locate_section`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigSection {
    /// Length of the file when it was parsed.
    pub file_len: u64,
    /// File offset of the payload (the section's `sh_offset`).
    pub payload_off: u64,
    /// Length of the payload (the section's `sh_size`).
    pub payload_len: u64,
}

/// The signature inside a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// Hash algorithm of the file digest ([`HASH_ALGO_SHA256`]).
    pub hash_algo: u16,
    /// Signature format ([`SIG_TYPE_PKCS7`]).
    pub sig_type: u16,
    /// Absolute file offset of the signature bytes.
    pub sig_off: u64,
    /// Length of the signature in bytes.
    pub sig_len: u32,
}

/// A signature found by [`locate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    /// Length of the file when it was parsed.
    pub file_len: u64,
    /// File offset of the payload (the section's `sh_offset`).
    pub payload_off: u64,
    /// Length of the payload (the section's `sh_size`).
    pub payload_len: u64,
    /// The signature.
    pub sig: SigInfo,
}

impl Located {
    /// The section the signature was found in.
    pub fn section(&self) -> SigSection {
        SigSection {
            file_len: self.file_len,
            payload_off: self.payload_off,
            payload_len: self.payload_len,
        }
    }
}

/// One piece of the file digest input, see [`digest_ranges`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestRange {
    /// File bytes `[off, off + len)`.
    File {
        /// File offset.
        off: u64,
        /// Length in bytes.
        len: u64,
    },
    /// `len` zero bytes, in place of the payload.
    Zeros {
        /// Length in bytes.
        len: u64,
    },
}

impl DigestRange {
    /// Number of bytes this piece feeds to the hash.
    pub fn len(&self) -> u64 {
        match *self {
            Self::File { len, .. } | Self::Zeros { len } => len,
        }
    }

    /// Whether this piece feeds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

const ELFMAG: [u8; 4] = *b"\x7fELF";
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const EV_CURRENT: u8 = 1;
const SHN_LORESERVE: u16 = 0xff00;
const SHN_XINDEX: u16 = 0xffff;
const PN_XNUM: u16 = 0xffff;
const SHT_NULL: u32 = 0;
const SHT_NOBITS: u32 = 8;

/// Longest entry prefix the parser looks at (an ELF64 section header).
const ENTRY_MAX: usize = 64;
/// Bytes of table entries read at once.
const CACHE_LEN: usize = 256;
/// Bytes of padding checked per read.
const PAD_CHUNK: usize = 64;

/// The section name as stored: NUL-terminated.
const NAME_Z: &[u8; 9] = b".cgl_sig\0";

fn field<const N: usize>(b: &[u8], off: usize) -> Result<[u8; N], ElfSigError> {
    b.get(off..)
        .and_then(|s| s.get(..N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(ElfSigError::Malformed("internal: field out of buffer"))
}

fn le16(b: &[u8], off: usize) -> Result<u16, ElfSigError> {
    field::<2>(b, off).map(u16::from_le_bytes)
}

fn le32(b: &[u8], off: usize) -> Result<u32, ElfSigError> {
    field::<4>(b, off).map(u32::from_le_bytes)
}

fn put(out: &mut [u8], off: usize, data: &[u8]) -> Result<(), ElfSigError> {
    out.get_mut(off..)
        .and_then(|s| s.get_mut(..data.len()))
        .ok_or(ElfSigError::BadBuffer)?
        .copy_from_slice(data);
    Ok(())
}

/// Class and byte order of an ELF file.
#[derive(Clone, Copy)]
struct Fmt {
    is64: bool,
    be: bool,
}

impl Fmt {
    fn u16(self, b: &[u8], off: usize) -> Result<u16, ElfSigError> {
        let a = field::<2>(b, off)?;
        Ok(if self.be {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }

    fn u32(self, b: &[u8], off: usize) -> Result<u32, ElfSigError> {
        let a = field::<4>(b, off)?;
        Ok(if self.be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    fn u64(self, b: &[u8], off: usize) -> Result<u64, ElfSigError> {
        let a = field::<8>(b, off)?;
        Ok(if self.be {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        })
    }

    /// An `ElfN_Addr`/`ElfN_Off`/`ElfN_Xword`-sized field.
    fn word(self, b: &[u8], off32: usize, off64: usize) -> Result<u64, ElfSigError> {
        if self.is64 {
            self.u64(b, off64)
        } else {
            self.u32(b, off32).map(u64::from)
        }
    }

    fn ehdr_len(self) -> u64 {
        if self.is64 {
            64
        } else {
            52
        }
    }

    fn shdr_len(self) -> u64 {
        if self.is64 {
            64
        } else {
            40
        }
    }

    fn phdr_len(self) -> u64 {
        if self.is64 {
            56
        } else {
            32
        }
    }
}

/// The ELF header fields the parser uses.
struct Ehdr {
    fmt: Fmt,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
    shoff: u64,
    shentsize: u16,
    shnum: u16,
    shstrndx: u16,
}

/// The section header fields the parser uses.
struct Shdr {
    name: u32,
    typ: u32,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
}

impl Shdr {
    fn parse(fmt: Fmt, b: &[u8]) -> Result<Self, ElfSigError> {
        Ok(Self {
            name: fmt.u32(b, 0)?,
            typ: fmt.u32(b, 4)?,
            offset: fmt.word(b, 16, 24)?,
            size: fmt.word(b, 20, 32)?,
            link: fmt.u32(b, if fmt.is64 { 40 } else { 24 })?,
            info: fmt.u32(b, if fmt.is64 { 44 } else { 28 })?,
        })
    }

    /// Whether the section occupies file bytes.
    fn has_bytes(&self) -> bool {
        self.typ != SHT_NULL && self.typ != SHT_NOBITS && self.size != 0
    }
}

/// A file range `[off, end)`.
#[derive(Clone, Copy)]
struct Span {
    off: u64,
    end: u64,
}

impl Span {
    /// `[off, off + len)`, which must lie inside a file of `file_len` bytes.
    fn new(off: u64, len: u64, file_len: u64, what: &'static str) -> Result<Self, ElfSigError> {
        match off.checked_add(len) {
            Some(end) if end <= file_len => Ok(Self { off, end }),
            _ => Err(ElfSigError::Malformed(what)),
        }
    }

    fn overlaps(self, o: Span) -> bool {
        self.off < self.end && o.off < o.end && self.off < o.end && o.off < self.end
    }
}

/// A table of fixed-size entries (section or program headers).
#[derive(Clone, Copy)]
struct Table {
    off: u64,
    entsize: u64,
    count: u32,
}

impl Table {
    fn new(
        off: u64,
        entsize: u16,
        count: u32,
        min_entsize: u64,
        file_len: u64,
        what: &'static str,
    ) -> Result<Self, ElfSigError> {
        let entsize = u64::from(entsize);
        if count != 0 {
            if entsize < min_entsize {
                return Err(ElfSigError::Malformed("header table entry size too small"));
            }
            let total = entsize
                .checked_mul(u64::from(count))
                .ok_or(ElfSigError::Malformed(what))?;
            Span::new(off, total, file_len, what)?;
        }
        Ok(Self {
            off,
            entsize,
            count,
        })
    }

    fn span(&self) -> Span {
        // Checked in `new`; an empty span if not.
        let end = self
            .entsize
            .checked_mul(u64::from(self.count))
            .and_then(|t| self.off.checked_add(t))
            .unwrap_or(self.off);
        Span { off: self.off, end }
    }
}

/// The reader, the file length it had when parsing started, and the
/// entry cache.
struct Ctx<'r, R: FileReader + ?Sized> {
    r: &'r mut R,
    len: u64,
    cache: [u8; CACHE_LEN],
    /// Table offset and entry size, first entry index and entry count in
    /// `cache`.
    cached: Option<(u64, u64, u32, u32)>,
}

impl<R: FileReader + ?Sized> Ctx<'_, R> {
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<(), ElfSigError> {
        Span::new(off, buf.len() as u64, self.len, "read past end of file")?;
        self.r.read_at(off, buf).map_err(|_| ElfSigError::Io)
    }

    /// The first (up to) [`ENTRY_MAX`] bytes of entry `idx` of `t`.
    fn entry(&mut self, t: Table, idx: u32) -> Result<[u8; ENTRY_MAX], ElfSigError> {
        const BAD: ElfSigError = ElfSigError::Malformed("internal: entry out of table");
        if idx >= t.count {
            return Err(BAD);
        }
        let es = usize::try_from(t.entsize).map_err(|_| BAD)?;
        let want = es.min(ENTRY_MAX);
        let mut out = [0u8; ENTRY_MAX];
        let dst = out.get_mut(..want).ok_or(BAD)?;
        let pos = t
            .entsize
            .checked_mul(u64::from(idx))
            .and_then(|d| t.off.checked_add(d))
            .ok_or(BAD)?;
        let per = CACHE_LEN.checked_div(es).unwrap_or(0);
        if per == 0 {
            self.read(pos, dst)?;
            return Ok(out);
        }
        let hit = match self.cached {
            Some((off, es, first, n)) if off == t.off && es == t.entsize => idx
                .checked_sub(first)
                .filter(|&k| k < n)
                .map(|k| k as usize),
            _ => None,
        };
        let k = match hit {
            Some(k) => k,
            None => {
                let left = t.count.checked_sub(idx).ok_or(BAD)?;
                let n = u32::try_from(per).unwrap_or(u32::MAX).min(left);
                let bytes = es.checked_mul(n as usize).ok_or(BAD)?;
                self.cached = None;
                let mut cache = [0u8; CACHE_LEN];
                self.read(pos, cache.get_mut(..bytes).ok_or(BAD)?)?;
                self.cache = cache;
                self.cached = Some((t.off, t.entsize, idx, n));
                0
            }
        };
        let at = es.checked_mul(k).ok_or(BAD)?;
        let src = self
            .cache
            .get(at..)
            .and_then(|s| s.get(..want))
            .ok_or(BAD)?;
        dst.copy_from_slice(src);
        Ok(out)
    }

    fn shdr(&mut self, fmt: Fmt, t: Table, idx: u32) -> Result<Shdr, ElfSigError> {
        let e = self.entry(t, idx)?;
        Shdr::parse(fmt, &e)
    }

    /// Whether the name at `name` in string table `strtab` is `.cgl_sig`.
    fn is_sig_name(&mut self, strtab: Span, name: u32) -> Result<bool, ElfSigError> {
        let at = strtab
            .off
            .checked_add(u64::from(name))
            .filter(|&a| a < strtab.end)
            .ok_or(ElfSigError::Malformed("section name outside string table"))?;
        let avail = strtab.end.saturating_sub(at);
        if avail < NAME_Z.len() as u64 {
            return Ok(false);
        }
        let mut b = [0u8; 9];
        self.read(at, &mut b)?;
        Ok(&b == NAME_Z)
    }
}

fn read_ehdr<R: FileReader + ?Sized>(c: &mut Ctx<'_, R>) -> Result<Ehdr, ElfSigError> {
    let mut h = [0u8; 64];
    let ident = h.get_mut(..16).ok_or(ElfSigError::NotElf)?;
    if c.len < 16 {
        return Err(ElfSigError::NotElf);
    }
    c.read(0, ident)?;
    if field::<4>(&h, 0)? != ELFMAG {
        return Err(ElfSigError::NotElf);
    }
    let [class, data, version] = field::<3>(&h, 4)?;
    let is64 = match class {
        ELFCLASS32 => false,
        ELFCLASS64 => true,
        _ => return Err(ElfSigError::Malformed("bad EI_CLASS")),
    };
    let be = match data {
        ELFDATA2LSB => false,
        ELFDATA2MSB => true,
        _ => return Err(ElfSigError::Malformed("bad EI_DATA")),
    };
    if version != EV_CURRENT {
        return Err(ElfSigError::Malformed("bad EI_VERSION"));
    }
    let fmt = Fmt { is64, be };
    let hlen = usize::try_from(fmt.ehdr_len()).unwrap_or(64);
    if c.len < fmt.ehdr_len() {
        return Err(ElfSigError::Malformed("truncated ELF header"));
    }
    let rest = h
        .get_mut(16..hlen)
        .ok_or(ElfSigError::Malformed("internal: header"))?;
    c.read(16, rest)?;
    let b: &[u8] = &h;
    // e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx.
    let [phes, phn, shes, shn, shx] = if is64 {
        [54, 56, 58, 60, 62]
    } else {
        [42, 44, 46, 48, 50]
    };
    Ok(Ehdr {
        fmt,
        phoff: fmt.word(b, 28, 32)?,
        shoff: fmt.word(b, 32, 40)?,
        phentsize: fmt.u16(b, phes)?,
        phnum: fmt.u16(b, phn)?,
        shentsize: fmt.u16(b, shes)?,
        shnum: fmt.u16(b, shn)?,
        shstrndx: fmt.u16(b, shx)?,
    })
}

/// Find the `.cgl_sig` section of the ELF file behind `r` and check where
/// it is (see the module documentation), without looking at its contents.
///
/// The signer uses this on files whose section is still all zeros.
pub fn locate_section<R: FileReader + ?Sized>(r: &mut R) -> Result<SigSection, ElfSigError> {
    let len = r.len();
    let mut c = Ctx {
        r,
        len,
        cache: [0u8; CACHE_LEN],
        cached: None,
    };
    let eh = read_ehdr(&mut c)?;
    let fmt = eh.fmt;
    if eh.shoff == 0 {
        return Err(ElfSigError::Unsigned);
    }
    let sht_bad = "section header table outside file";
    let t0 = Table::new(eh.shoff, eh.shentsize, 1, fmt.shdr_len(), len, sht_bad)?;
    let s0 = c.shdr(fmt, t0, 0)?;

    let shnum = if eh.shnum == 0 {
        u32::try_from(s0.size).map_err(|_| ElfSigError::Malformed("too many sections"))?
    } else {
        u32::from(eh.shnum)
    };
    if shnum == 0 {
        return Err(ElfSigError::Malformed(
            "section header table without sections",
        ));
    }
    if shnum > MAX_SECTIONS {
        return Err(ElfSigError::Malformed("too many sections"));
    }
    let shstrndx = match eh.shstrndx {
        SHN_XINDEX => s0.link,
        i if i >= SHN_LORESERVE => return Err(ElfSigError::Malformed("bad e_shstrndx")),
        i => u32::from(i),
    };
    if shstrndx == 0 {
        return Err(ElfSigError::Unsigned);
    }
    if shstrndx >= shnum {
        return Err(ElfSigError::Malformed("e_shstrndx out of range"));
    }
    let phnum = if eh.phnum == PN_XNUM {
        s0.info
    } else {
        u32::from(eh.phnum)
    };
    if phnum > MAX_SEGMENTS {
        return Err(ElfSigError::Malformed("too many segments"));
    }
    let sht = Table::new(eh.shoff, eh.shentsize, shnum, fmt.shdr_len(), len, sht_bad)?;
    let pht = Table::new(
        eh.phoff,
        eh.phentsize,
        phnum,
        fmt.phdr_len(),
        len,
        "program header table outside file",
    )?;

    let st = c.shdr(fmt, sht, shstrndx)?;
    if st.typ == SHT_NOBITS || st.typ == SHT_NULL {
        return Err(ElfSigError::Malformed("section name table has no contents"));
    }
    let strtab = Span::new(st.offset, st.size, len, "section name table outside file")?;

    // Pass 1: every section inside the file, exactly one named .cgl_sig.
    let mut found: Option<(u32, Shdr)> = None;
    // The last name offset looked up and whether it was ".cgl_sig".
    let mut last_name: Option<(u32, bool)> = None;
    for i in 1..shnum {
        let s = c.shdr(fmt, sht, i)?;
        if s.has_bytes() {
            Span::new(s.offset, s.size, len, "section outside file")?;
        }
        let is_sig = match last_name {
            Some((n, m)) if n == s.name => m,
            _ => c.is_sig_name(strtab, s.name)?,
        };
        last_name = Some((s.name, is_sig));
        if is_sig {
            if found.is_some() {
                return Err(ElfSigError::Malformed("more than one .cgl_sig section"));
            }
            found = Some((i, s));
        }
    }
    let (sig_idx, sig) = found.ok_or(ElfSigError::Unsigned)?;
    if sig.typ == SHT_NOBITS || sig.typ == SHT_NULL {
        return Err(ElfSigError::Malformed(".cgl_sig section has no contents"));
    }
    if sig.size < PAYLOAD_HEADER_LEN as u64 || sig.size > MAX_SECTION_SIZE {
        return Err(ElfSigError::Malformed("bad .cgl_sig section size"));
    }
    let payload = Span::new(sig.offset, sig.size, len, "section outside file")?;

    // Nothing that is parsed, loaded or interpreted may be left unsigned.
    let ehdr = Span {
        off: 0,
        end: fmt.ehdr_len(),
    };
    if payload.overlaps(ehdr) || payload.overlaps(sht.span()) || payload.overlaps(pht.span()) {
        return Err(ElfSigError::Malformed(
            ".cgl_sig overlaps an ELF header table",
        ));
    }
    // Pass 2: no other section overlaps the payload.
    for i in 1..shnum {
        if i == sig_idx {
            continue;
        }
        let s = c.shdr(fmt, sht, i)?;
        if s.has_bytes() {
            let span = Span::new(s.offset, s.size, len, "section outside file")?;
            if payload.overlaps(span) {
                return Err(ElfSigError::Malformed(".cgl_sig overlaps another section"));
            }
        }
    }
    // No segment overlaps the payload.
    for i in 0..phnum {
        let e = c.entry(pht, i)?;
        let off = fmt.word(&e, 4, 8)?;
        let filesz = fmt.word(&e, 16, 32)?;
        if filesz != 0 {
            let span = Span::new(off, filesz, len, "segment outside file")?;
            if payload.overlaps(span) {
                return Err(ElfSigError::Malformed(".cgl_sig overlaps a segment"));
            }
        }
    }
    Ok(SigSection {
        file_len: len,
        payload_off: payload.off,
        payload_len: sig.size,
    })
}

/// Decode a payload header, for a payload of `payload_len` bytes.
///
/// Returns `(hash_algo, sig_type, sig_len)` after checking the magic, that
/// both algorithms are supported and that the signature is not empty and
/// fits in the payload.
pub fn decode_payload_header(
    hdr: &[u8; PAYLOAD_HEADER_LEN],
    payload_len: u64,
) -> Result<(u16, u16, u32), ElfSigError> {
    if field::<8>(hdr, 0)? != PAYLOAD_MAGIC {
        return Err(ElfSigError::BadPayload("bad magic"));
    }
    let hash_algo = le16(hdr, 8)?;
    let sig_type = le16(hdr, 10)?;
    let sig_len = le32(hdr, 12)?;
    if hash_algo != HASH_ALGO_SHA256 {
        return Err(ElfSigError::BadPayload("unsupported hash algorithm"));
    }
    if sig_type != SIG_TYPE_PKCS7 {
        return Err(ElfSigError::BadPayload("unsupported signature type"));
    }
    if sig_len == 0 {
        return Err(ElfSigError::BadPayload("empty signature"));
    }
    let room = payload_len.saturating_sub(PAYLOAD_HEADER_LEN as u64);
    if u64::from(sig_len) > room {
        return Err(ElfSigError::BadPayload("signature longer than section"));
    }
    Ok((hash_algo, sig_type, sig_len))
}

/// Total length of the DER SEQUENCE whose first bytes are `p` (tag 0x30,
/// definite length in at most 4 length bytes), or `None`.
fn der_tlv_len(p: &[u8]) -> Option<u64> {
    let (&tag, rest) = p.split_first()?;
    let (&l, rest) = rest.split_first()?;
    if tag != 0x30 {
        return None;
    }
    if l < 0x80 {
        return u64::from(l).checked_add(2);
    }
    let n = usize::from(l & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let v = rest
        .get(..n)?
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    v.checked_add(2)?.checked_add(n as u64)
}

/// Find and decode the signature of the ELF file behind `r`.
///
/// This is [`locate_section`] followed by [`decode_payload_header`] on
/// the payload, a check that the signature is exactly one DER `SEQUENCE`
/// (tag 0x30, definite length, `sig_len` bytes in all) and a check that
/// the padding after the signature is zero.
pub fn locate<R: FileReader + ?Sized>(r: &mut R) -> Result<Located, ElfSigError> {
    let sec = locate_section(r)?;
    let mut c = Ctx {
        r,
        len: sec.file_len,
        cache: [0u8; CACHE_LEN],
        cached: None,
    };
    let mut hdr = [0u8; PAYLOAD_HEADER_LEN];
    c.read(sec.payload_off, &mut hdr)?;
    let (hash_algo, sig_type, sig_len) = decode_payload_header(&hdr, sec.payload_len)?;
    let bad = ElfSigError::Malformed("internal: payload bounds");
    let sig_off = sec
        .payload_off
        .checked_add(PAYLOAD_HEADER_LEN as u64)
        .ok_or(bad)?;
    let mut der = [0u8; 6];
    let der = der.get_mut(..(sig_len as usize).min(6)).ok_or(bad)?;
    c.read(sig_off, der)?;
    if der_tlv_len(der) != Some(u64::from(sig_len)) {
        return Err(ElfSigError::BadPayload("signature is not one DER SEQUENCE"));
    }
    let mut pad = sig_off.checked_add(u64::from(sig_len)).ok_or(bad)?;
    let end = sec.payload_off.checked_add(sec.payload_len).ok_or(bad)?;
    let mut buf = [0u8; PAD_CHUNK];
    while pad < end {
        let n = end.checked_sub(pad).ok_or(bad)?.min(PAD_CHUNK as u64) as usize;
        let b = buf.get_mut(..n).ok_or(bad)?;
        c.read(pad, b)?;
        if b.iter().any(|&x| x != 0) {
            return Err(ElfSigError::BadPayload("non-zero padding"));
        }
        pad = pad.checked_add(n as u64).ok_or(bad)?;
    }
    Ok(Located {
        file_len: sec.file_len,
        payload_off: sec.payload_off,
        payload_len: sec.payload_len,
        sig: SigInfo {
            hash_algo,
            sig_type,
            sig_off,
            sig_len,
        },
    })
}

/// The file digest input of `sec`, in order: the file before the payload,
/// `payload_len` zero bytes, the file after the payload. Pieces may be
/// empty. Fails if `sec` is inconsistent (the payload not inside the file).
pub fn digest_ranges(sec: &SigSection) -> Result<[DigestRange; 3], ElfSigError> {
    let bad = ElfSigError::Malformed("payload outside file");
    let end = sec
        .payload_off
        .checked_add(sec.payload_len)
        .filter(|&e| e <= sec.file_len)
        .ok_or(bad)?;
    Ok([
        DigestRange::File {
            off: 0,
            len: sec.payload_off,
        },
        DigestRange::Zeros {
            len: sec.payload_len,
        },
        DigestRange::File {
            off: end,
            len: sec.file_len.checked_sub(end).ok_or(bad)?,
        },
    ])
}

/// Number of bytes hashed into the file digest of `sec`: the file length,
/// since the payload is replaced by as many zeros.
pub fn hash_input_len(sec: &SigSection) -> Result<u64, ElfSigError> {
    digest_ranges(sec)?
        .iter()
        .try_fold(0u64, |acc, r| acc.checked_add(r.len()))
        .ok_or(ElfSigError::Malformed("payload outside file"))
}

/// Feed the file digest input of `sec` (see [`digest_ranges`]) to `sink`,
/// reading the file through `r` in pieces of `scratch.len()` bytes.
///
/// Fails with [`ElfSigError::Malformed`] if the file length is no longer
/// `sec.file_len`, and with [`ElfSigError::BadBuffer`] if `scratch` is
/// empty.
pub fn feed_digest<R: FileReader + ?Sized, S: DigestSink + ?Sized>(
    r: &mut R,
    sec: &SigSection,
    sink: &mut S,
    scratch: &mut [u8],
) -> Result<(), ElfSigError> {
    if scratch.is_empty() {
        return Err(ElfSigError::BadBuffer);
    }
    let file_len = r.len();
    if file_len != sec.file_len {
        return Err(ElfSigError::Malformed("file length changed"));
    }
    let mut c = Ctx {
        r,
        len: file_len,
        cache: [0u8; CACHE_LEN],
        cached: None,
    };
    let step = scratch.len() as u64;
    for range in digest_ranges(sec)? {
        let (mut off, mut left) = match range {
            DigestRange::File { off, len } => (Some(off), len),
            DigestRange::Zeros { len } => {
                scratch.fill(0);
                (None, len)
            }
        };
        while left != 0 {
            let n = left.min(step);
            let b = scratch
                .get_mut(..n as usize)
                .ok_or(ElfSigError::BadBuffer)?;
            if let Some(o) = off {
                c.read(o, b)?;
                off = o.checked_add(n);
            }
            sink.update(b).map_err(|_| ElfSigError::Hash)?;
            left = left.saturating_sub(n);
        }
    }
    Ok(())
}

/// The digest descriptor that the signature signs, for a file of
/// `file_size` bytes with file digest `digest` (SHA-256).
pub fn descriptor(file_size: u64, digest: &[u8; SHA256_DIGEST_LEN]) -> [u8; DESCRIPTOR_LEN] {
    let mut d = [0u8; DESCRIPTOR_LEN];
    let parts: [(usize, &[u8]); 6] = [
        (0, &DESCRIPTOR_MAGIC),
        (8, &HASH_ALGO_SHA256.to_le_bytes()),
        (10, &0u16.to_le_bytes()),
        (12, &(SHA256_DIGEST_LEN as u32).to_le_bytes()),
        (16, &file_size.to_le_bytes()),
        (24, digest),
    ];
    for (off, data) in parts {
        // Every part fits: the offsets above add up to DESCRIPTOR_LEN.
        let _ = put(&mut d, off, data);
    }
    d
}

/// Write a payload holding signature `sig` (PKCS#7 DER, over a SHA-256
/// descriptor) into `out`, the whole section, padding it with zeros.
///
/// Returns the number of bytes before the padding. Fails with
/// [`ElfSigError::BadBuffer`] if `out` is shorter than
/// [`PAYLOAD_HEADER_LEN`] or longer than [`MAX_SECTION_SIZE`], with
/// [`ElfSigError::BadPayload`] if `sig` is empty or does not fit.
pub fn encode_payload(sig: &[u8], out: &mut [u8]) -> Result<usize, ElfSigError> {
    if out.len() < PAYLOAD_HEADER_LEN || out.len() as u64 > MAX_SECTION_SIZE {
        return Err(ElfSigError::BadBuffer);
    }
    if sig.is_empty() {
        return Err(ElfSigError::BadPayload("empty signature"));
    }
    let used = PAYLOAD_HEADER_LEN
        .checked_add(sig.len())
        .filter(|&u| u <= out.len())
        .ok_or(ElfSigError::BadPayload("signature longer than section"))?;
    let sig_len =
        u32::try_from(sig.len()).map_err(|_| ElfSigError::BadPayload("signature too long"))?;
    out.fill(0);
    put(out, 0, &PAYLOAD_MAGIC)?;
    put(out, 8, &HASH_ALGO_SHA256.to_le_bytes())?;
    put(out, 10, &SIG_TYPE_PKCS7.to_le_bytes())?;
    put(out, 12, &sig_len.to_le_bytes())?;
    put(out, PAYLOAD_HEADER_LEN, sig)?;
    Ok(used)
}
