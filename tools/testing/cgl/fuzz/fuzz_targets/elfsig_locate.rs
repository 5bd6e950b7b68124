// SPDX-License-Identifier: GPL-2.0

//! `locate()` of the DigSig ELF signature section on arbitrary bytes: it
//! must never panic, and whatever it accepts must be self-consistent.

#![no_main]

use cgl_cores::elfsig::{
    digest_ranges, hash_input_len, locate, DigestRange, FileReader, ReadError, SliceReader,
    PAYLOAD_HEADER_LEN,
};
use libfuzzer_sys::fuzz_target;

/// A reader that checks the parser only asks for bytes inside the file.
struct Checked<'a>(SliceReader<'a>);

impl FileReader for Checked<'_> {
    fn len(&self) -> u64 {
        self.0.len()
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let end = off
            .checked_add(buf.len() as u64)
            .expect("read range overflows");
        assert!(end <= self.len(), "read past the end of the file");
        self.0.read_at(off, buf)
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(loc) = locate(&mut Checked(SliceReader(data))) else {
        return;
    };
    let sec = loc.section();
    assert_eq!(loc.file_len, data.len() as u64);
    assert_eq!(hash_input_len(&sec), Ok(loc.file_len));
    assert_eq!(loc.sig.sig_off, loc.payload_off + PAYLOAD_HEADER_LEN as u64);
    let end = loc.payload_off + loc.payload_len;
    assert!(loc.sig.sig_off + u64::from(loc.sig.sig_len) <= end);
    let r = digest_ranges(&sec).expect("ranges of a located section");
    assert_eq!(
        r[1],
        DigestRange::Zeros {
            len: loc.payload_len
        }
    );
});
