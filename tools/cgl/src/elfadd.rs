// SPDX-License-Identifier: GPL-2.0

//! Adding an empty `.cgl_sig` section to an ELF file, for
//! `cgl-ctl digsig sign`.
//!
//! Nothing of the file moves: its bytes are kept as they are and three
//! pieces are appended, each aligned to 8 bytes:
//!
//! 1. the section contents, `size` zero bytes;
//! 2. a new section name string table: a copy of the old one with
//!    `".cgl_sig\0"` added;
//! 3. a new section header table: the old entries, then one for
//!    `.cgl_sig` (`SHT_PROGBITS`, no flags, address 0, alignment 1).
//!
//! The ELF header's `e_shoff` and section count (`e_shnum`, or section
//! 0's `sh_size` under extended numbering, which is switched on when the
//! count reaches `SHN_LORESERVE`) and the string table's `sh_offset` and
//! `sh_size` in the new table are updated. Program headers and segments
//! are untouched, so the program still loads and runs; the old string
//! and section header tables stay behind as unreferenced bytes (covered
//! by the file digest like everything else). A file without a section
//! header table gets a new one: the null section, `.shstrtab` and
//! `.cgl_sig`.
//!
//! All of it lies past the old end of the file, so the payload overlaps
//! none of the ELF header, the header tables, the segments or the other
//! sections, as `elfsig::locate_section` requires.

/// `SHT_PROGBITS`.
const SHT_PROGBITS: u32 = 1;
/// `SHT_STRTAB`.
const SHT_STRTAB: u32 = 3;
/// `SHT_NULL`.
const SHT_NULL: u32 = 0;
/// `SHT_NOBITS`.
const SHT_NOBITS: u32 = 8;
/// First reserved section index.
const SHN_LORESERVE: u16 = 0xff00;
/// `e_shstrndx` value meaning "in section 0's `sh_link`".
const SHN_XINDEX: u16 = 0xffff;
/// Largest section count accepted (as `elfsig::MAX_SECTIONS`).
const MAX_SECTIONS: u64 = 65536;

/// Where `add_section` put the new section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// File offset of the section contents.
    pub offset: u64,
    /// Size of the section contents.
    pub size: u64,
}

/// Class and byte order of the file.
#[derive(Debug, Clone, Copy)]
struct Fmt {
    is64: bool,
    be: bool,
}

impl Fmt {
    fn get(self, d: &[u8], off: usize, n: usize) -> Result<u64, String> {
        let b = d
            .get(off..)
            .and_then(|s| s.get(..n))
            .ok_or("malformed ELF: field outside the file")?;
        let mut v = 0u64;
        for i in 0..n {
            let byte = if self.be { b[i] } else { b[n - 1 - i] };
            v = (v << 8) | u64::from(byte);
        }
        Ok(v)
    }

    fn put(self, d: &mut [u8], off: usize, n: usize, v: u64) {
        for i in 0..n {
            let shift = 8 * if self.be { n - 1 - i } else { i };
            d[off + i] = (v >> shift) as u8;
        }
    }

    /// Size of an address/offset/xword field.
    fn w(self) -> usize {
        if self.is64 {
            8
        } else {
            4
        }
    }

    fn shdr_len(self) -> usize {
        if self.is64 {
            64
        } else {
            40
        }
    }

    fn ehdr_len(self) -> usize {
        if self.is64 {
            64
        } else {
            52
        }
    }

    /// Offsets of `e_shoff`, `e_shentsize`, `e_shnum`, `e_shstrndx`.
    fn ehdr_offs(self) -> (usize, usize, usize, usize) {
        if self.is64 {
            (40, 58, 60, 62)
        } else {
            (32, 46, 48, 50)
        }
    }

    /// Offsets in a section header of `sh_type`, `sh_offset`, `sh_size`,
    /// `sh_link`, `sh_addralign`.
    fn shdr_offs(self) -> (usize, usize, usize, usize, usize) {
        if self.is64 {
            (4, 24, 32, 40, 48)
        } else {
            (4, 16, 20, 24, 32)
        }
    }
}

/// One section header's fields, for writing.
struct NewShdr {
    name: u32,
    typ: u32,
    offset: u64,
    size: u64,
}

fn write_shdr(f: Fmt, d: &mut [u8], at: usize, s: &NewShdr) {
    let (typ, off, size, _, align) = f.shdr_offs();
    f.put(d, at, 4, u64::from(s.name));
    f.put(d, at + typ, 4, u64::from(s.typ));
    f.put(d, at + off, f.w(), s.offset);
    f.put(d, at + size, f.w(), s.size);
    f.put(d, at + align, f.w(), 1);
}

fn align8(x: usize) -> usize {
    x.div_ceil(8) * 8
}

/// The file `d` with an added all-zero section `.cgl_sig` of `size`
/// bytes (see the module documentation), and where it is.
///
/// The caller checks beforehand that `d` has no `.cgl_sig` section. Fails
/// with a message on anything but a well-formed ELF file with a section
/// name table (or no section header table at all).
pub fn add_section(d: &[u8], size: u64) -> Result<(Vec<u8>, Added), String> {
    if d.len() < 16 || d[..4] != *b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let is64 = match d[4] {
        1 => false,
        2 => true,
        c => return Err(format!("unsupported ELF class {c}")),
    };
    let be = match d[5] {
        1 => false,
        2 => true,
        e => return Err(format!("unsupported ELF data encoding {e}")),
    };
    if d[6] != 1 {
        return Err(format!("unsupported ELF version {}", d[6]));
    }
    let f = Fmt { is64, be };
    if d.len() < f.ehdr_len() {
        return Err("truncated ELF header".into());
    }
    let size_usize = usize::try_from(size).map_err(|_| "section too large")?;
    let (o_shoff, o_shentsize, o_shnum, o_shstrndx) = f.ehdr_offs();
    let shoff = f.get(d, o_shoff, f.w())?;
    let shentsize = f.get(d, o_shentsize, 2)? as usize;
    let shnum = f.get(d, o_shnum, 2)?;
    let shstrndx = f.get(d, o_shstrndx, 2)? as u16;
    let (t_type, t_off, t_size, t_link, _) = f.shdr_offs();

    let sig_off = align8(d.len());
    let str_off = sig_off + size_usize;

    if shoff == 0 {
        if shnum != 0 {
            return Err("malformed ELF: sections but no section header table".into());
        }
        // A new table: null, .shstrtab, .cgl_sig.
        let strtab: &[u8] = b"\0.shstrtab\0.cgl_sig\0";
        let sh_off = align8(str_off + strtab.len());
        let es = f.shdr_len();
        let mut out = d.to_vec();
        out.resize(sh_off + 3 * es, 0);
        out[str_off..str_off + strtab.len()].copy_from_slice(strtab);
        let sh = [
            NewShdr {
                name: 1,
                typ: SHT_STRTAB,
                offset: str_off as u64,
                size: strtab.len() as u64,
            },
            NewShdr {
                name: 11,
                typ: SHT_PROGBITS,
                offset: sig_off as u64,
                size,
            },
        ];
        for (i, s) in sh.iter().enumerate() {
            write_shdr(f, &mut out, sh_off + (i + 1) * es, s);
        }
        set_shoff(f, &mut out, sh_off)?;
        f.put(&mut out, o_shentsize, 2, es as u64);
        f.put(&mut out, o_shnum, 2, 3);
        f.put(&mut out, o_shstrndx, 2, 1);
        return Ok((
            out,
            Added {
                offset: sig_off as u64,
                size,
            },
        ));
    }

    if shentsize < f.shdr_len() {
        return Err(format!(
            "malformed ELF: section header size {shentsize} below {}",
            f.shdr_len()
        ));
    }
    let entry = |i: u64| -> Result<usize, String> {
        let at = i
            .checked_mul(shentsize as u64)
            .and_then(|x| x.checked_add(shoff))
            .filter(|&a| a.saturating_add(shentsize as u64) <= d.len() as u64)
            .ok_or("malformed ELF: section header table outside the file")?;
        Ok(at as usize)
    };
    let s0 = entry(0)?;
    let count = if shnum == 0 {
        f.get(d, s0 + t_size, f.w())?
    } else {
        shnum
    };
    if count == 0 {
        return Err("malformed ELF: section header table without sections".into());
    }
    if count >= MAX_SECTIONS {
        return Err(format!("too many sections ({count})"));
    }
    entry(count - 1)?;
    let strndx = match shstrndx {
        SHN_XINDEX => f.get(d, s0 + t_link, 4)?,
        i if i >= SHN_LORESERVE => return Err("malformed ELF: bad e_shstrndx".into()),
        i => u64::from(i),
    };
    if strndx == 0 {
        return Err("the file has no section name table; cannot add a section".into());
    }
    if strndx >= count {
        return Err("malformed ELF: e_shstrndx out of range".into());
    }
    let st = entry(strndx)?;
    let st_type = f.get(d, st + t_type, 4)? as u32;
    if st_type == SHT_NULL || st_type == SHT_NOBITS {
        return Err("malformed ELF: section name table has no contents".into());
    }
    let st_off = f.get(d, st + t_off, f.w())?;
    let st_size = f.get(d, st + t_size, f.w())?;
    let old_str = st_off
        .checked_add(st_size)
        .filter(|&e| e <= d.len() as u64)
        .map(|e| &d[st_off as usize..e as usize])
        .ok_or("malformed ELF: section name table outside the file")?;

    let mut strtab = old_str.to_vec();
    if strtab.last() != Some(&0) {
        // Index 0 must stay the empty name; a last name must end.
        strtab.push(0);
    }
    let name = u32::try_from(strtab.len()).map_err(|_| "section name table too large")?;
    strtab.extend_from_slice(b".cgl_sig\0");

    let sh_off = align8(str_off + strtab.len());
    let old_table = count as usize * shentsize;
    let mut out = d.to_vec();
    out.resize(sh_off + old_table + shentsize, 0);
    out[str_off..str_off + strtab.len()].copy_from_slice(&strtab);
    out[sh_off..sh_off + old_table].copy_from_slice(&d[s0..s0 + old_table]);
    let new_st = sh_off + strndx as usize * shentsize;
    f.put(&mut out, new_st + t_off, f.w(), str_off as u64);
    f.put(&mut out, new_st + t_size, f.w(), strtab.len() as u64);
    write_shdr(
        f,
        &mut out,
        sh_off + old_table,
        &NewShdr {
            name,
            typ: SHT_PROGBITS,
            offset: sig_off as u64,
            size,
        },
    );
    set_shoff(f, &mut out, sh_off)?;
    let new_count = count + 1;
    if shnum != 0 && new_count < u64::from(SHN_LORESERVE) {
        f.put(&mut out, o_shnum, 2, new_count);
    } else {
        // Extended numbering: the count lives in section 0's sh_size.
        if shnum != 0 && f.get(d, s0 + t_type, 4)? != u64::from(SHT_NULL) {
            return Err("malformed ELF: section 0 is not the null section".into());
        }
        f.put(&mut out, o_shnum, 2, 0);
        f.put(&mut out, sh_off + t_size, f.w(), new_count);
    }
    Ok((
        out,
        Added {
            offset: sig_off as u64,
            size,
        },
    ))
}

fn set_shoff(f: Fmt, out: &mut [u8], sh_off: usize) -> Result<(), String> {
    if !f.is64 && sh_off > u32::MAX as usize {
        return Err("the signed file would be too large for ELF32".into());
    }
    f.put(out, f.ehdr_offs().0, f.w(), sh_off as u64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elfsig::{self, locate_section, ElfSigError, SliceReader};

    /// A small ELF file: header, one PT_LOAD over the header and `.text`,
    /// `.text`, `.shstrtab` and the section header table (optionally
    /// with `extra` more null-typed sections, and extended numbering).
    fn build(is64: bool, be: bool, extra: usize, extended: bool) -> Vec<u8> {
        let f = Fmt { is64, be };
        let eh = f.ehdr_len();
        let ph = if is64 { 56 } else { 32 };
        let text_off = eh + ph;
        let text = [0xc3u8; 24];
        let strtab = b"\0.text\0.shstrtab\0";
        let str_off = text_off + text.len();
        let sh_off = align8(str_off + strtab.len());
        let es = f.shdr_len();
        let n = 3 + extra;
        let mut d = vec![0u8; sh_off + n * es];
        d[..4].copy_from_slice(b"\x7fELF");
        d[4] = if is64 { 2 } else { 1 };
        d[5] = if be { 2 } else { 1 };
        d[6] = 1;
        f.put(&mut d, 16, 2, 2); // ET_EXEC
        f.put(&mut d, 18, 2, 62);
        f.put(&mut d, 20, 4, 1);
        let (o_phoff, o_phes, o_phnum) = if is64 { (32, 54, 56) } else { (28, 42, 44) };
        f.put(&mut d, o_phoff, f.w(), eh as u64);
        f.put(&mut d, o_phes, 2, ph as u64);
        f.put(&mut d, o_phnum, 2, 1);
        f.put(&mut d, if is64 { 52 } else { 40 }, 2, eh as u64);
        let (o_shoff, o_shes, o_shnum, o_shstrndx) = f.ehdr_offs();
        f.put(&mut d, o_shoff, f.w(), sh_off as u64);
        f.put(&mut d, o_shes, 2, es as u64);
        f.put(&mut d, o_shnum, 2, if extended { 0 } else { n as u64 });
        f.put(&mut d, o_shstrndx, 2, 2);
        // PT_LOAD over [0, str_off).
        f.put(&mut d, eh, 4, 1);
        let (p_off, p_filesz) = if is64 { (8, 32) } else { (4, 16) };
        f.put(&mut d, eh + p_off, f.w(), 0);
        f.put(&mut d, eh + p_filesz, f.w(), str_off as u64);
        d[text_off..str_off].copy_from_slice(&text);
        d[str_off..str_off + strtab.len()].copy_from_slice(strtab);
        if extended {
            f.put(&mut d, sh_off + f.shdr_offs().2, f.w(), n as u64);
        }
        write_shdr(
            f,
            &mut d,
            sh_off + es,
            &NewShdr {
                name: 1,
                typ: SHT_PROGBITS,
                offset: text_off as u64,
                size: text.len() as u64,
            },
        );
        write_shdr(
            f,
            &mut d,
            sh_off + 2 * es,
            &NewShdr {
                name: 7,
                typ: SHT_STRTAB,
                offset: str_off as u64,
                size: strtab.len() as u64,
            },
        );
        d
    }

    fn check(d: &[u8]) -> Vec<u8> {
        assert_eq!(
            locate_section(&mut SliceReader(d)),
            Err(ElfSigError::Unsigned)
        );
        let (out, added) = add_section(d, elfsig::DEFAULT_SECTION_SIZE).unwrap();
        // Only the ELF header changes (e_shoff, the counts).
        let eh = if d[4] == 2 { 64 } else { 52 };
        assert_eq!(&out[eh..d.len()], &d[eh..], "original bytes kept");
        assert_eq!(&out[..24], &d[..24]);
        let sec = locate_section(&mut SliceReader(&out)).unwrap();
        assert_eq!(sec.payload_off, added.offset);
        assert_eq!(sec.payload_len, elfsig::DEFAULT_SECTION_SIZE);
        assert_eq!(sec.payload_off % 8, 0);
        assert!(sec.payload_off >= d.len() as u64);
        out
    }

    #[test]
    fn every_format() {
        for is64 in [false, true] {
            for be in [false, true] {
                let d = build(is64, be, 0, false);
                let out = check(&d);
                // e_shnum is now 4.
                let f = Fmt { is64, be };
                assert_eq!(f.get(&out, f.ehdr_offs().2, 2).unwrap(), 4);
                // A second section cannot be added on top: the caller's
                // locate_section would find the first; adding again makes
                // two, which elfsig refuses.
                let (twice, _) = add_section(&out, 4096).unwrap();
                assert!(matches!(
                    locate_section(&mut SliceReader(&twice)),
                    Err(ElfSigError::Malformed(_))
                ));
            }
        }
    }

    #[test]
    fn extended_numbering() {
        for is64 in [false, true] {
            let f = Fmt { is64, be: is64 };
            // Already extended.
            let d = build(is64, is64, 2, true);
            let out = check(&d);
            assert_eq!(f.get(&out, f.ehdr_offs().2, 2).unwrap(), 0);
            let shoff = f.get(&out, f.ehdr_offs().0, f.w()).unwrap() as usize;
            assert_eq!(
                f.get(&out, shoff + f.shdr_offs().2, f.w()).unwrap(),
                6,
                "count in section 0"
            );
            // Switching to it at SHN_LORESERVE sections.
            let f = Fmt { is64, be: false };
            let d = build(is64, false, 0xff00 - 4, false);
            assert_eq!(f.get(&d, f.ehdr_offs().2, 2).unwrap(), 0xfeff);
            let out = check(&d);
            assert_eq!(f.get(&out, f.ehdr_offs().2, 2).unwrap(), 0);
        }
    }

    #[test]
    fn no_section_table() {
        for is64 in [false, true] {
            let f = Fmt { is64, be: !is64 };
            let mut d = build(is64, !is64, 0, false);
            let shoff = f.get(&d, f.ehdr_offs().0, f.w()).unwrap() as usize;
            d.truncate(shoff);
            let (o_shoff, o_shes, o_shnum, o_shstrndx) = f.ehdr_offs();
            for o in [o_shoff, o_shes, o_shnum, o_shstrndx] {
                f.put(&mut d, o, if o == o_shoff { f.w() } else { 2 }, 0);
            }
            check(&d);
        }
    }

    #[test]
    fn string_table_without_final_nul() {
        let mut d = build(true, false, 0, false);
        // Drop the final NUL from .shstrtab's size.
        let f = Fmt {
            is64: true,
            be: false,
        };
        let shoff = f.get(&d, 40, 8).unwrap() as usize;
        let st = shoff + 2 * 64;
        let size = f.get(&d, st + 32, 8).unwrap();
        f.put(&mut d, st + 32, 8, size - 1);
        let out = check(&d);
        let shoff = f.get(&out, 40, 8).unwrap() as usize;
        let st = shoff + 2 * 64;
        let off = f.get(&out, st + 24, 8).unwrap() as usize;
        let size = f.get(&out, st + 32, 8).unwrap() as usize;
        assert_eq!(&out[off..off + size], b"\0.text\0.shstrtab\0.cgl_sig\0");
    }

    #[test]
    fn refusals() {
        let good = build(true, false, 0, false);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"#!/bin/sh\n".to_vec(), "not an ELF"),
            (good[..10].to_vec(), "not an ELF"),
            (good[..40].to_vec(), "truncated ELF header"),
            (good[..good.len() - 1].to_vec(), "outside the file"),
            (
                {
                    let mut d = good.clone();
                    d[4] = 3;
                    d
                },
                "class",
            ),
            (
                {
                    let mut d = good.clone();
                    d[62] = 0; // e_shstrndx
                    d
                },
                "no section name table",
            ),
            (
                {
                    let mut d = good.clone();
                    d[62] = 9;
                    d
                },
                "out of range",
            ),
            (
                {
                    let mut d = good.clone();
                    d[58] = 40; // e_shentsize
                    d
                },
                "section header size",
            ),
        ];
        for (d, want) in cases {
            let e = add_section(&d, 4096).unwrap_err();
            assert!(e.contains(want), "{e} (want {want})");
        }
    }
}
