// SPDX-License-Identifier: GPL-2.0

//! Verifying one file: read it through `kernel_read()`, find its
//! signature with [`elfsig`], hash it with the kernel's SHA-256 library and
//! check the PKCS#7 signature with `verify_pkcs7_signature()` against the
//! `.cgl_digsig` keyring, then the built-in trusted keys.

use core::ptr;
use core::sync::atomic::{AtomicI32, Ordering};
use kernel::bindings;
use kernel::ffi::{c_int, c_ulong};
use kernel::prelude::*;

use super::elfsig::{self, DigestSink, ElfSigError, FileReader, HashError, ReadError};
use super::State;

/// Bytes read and hashed at a time.
const CHUNK: usize = 32 * 1024;

/// Why a file may not run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deny {
    /// Not an ELF file.
    NotElf,
    /// No `.cgl_sig` section.
    Unsigned,
    /// The ELF structure is inconsistent.
    Malformed,
    /// The `.cgl_sig` payload is not a valid signature payload.
    BadPayload,
    /// The signature does not match the file, or cannot be parsed.
    BadSignature,
    /// No trusted key made the signature.
    Untrusted,
    /// The file digest was revoked.
    Revoked,
    /// Someone has the file open for writing.
    Writers,
    /// The file has no name (memfd, `O_TMPFILE`, deleted).
    Unlinked,
    /// Not a regular file.
    NotRegular,
    /// Reading the file failed.
    Io,
    /// Out of memory.
    NoMem,
}

impl Deny {
    const ALL: [Self; 12] = [
        Self::NotElf,
        Self::Unsigned,
        Self::Malformed,
        Self::BadPayload,
        Self::BadSignature,
        Self::Untrusted,
        Self::Revoked,
        Self::Writers,
        Self::Unlinked,
        Self::NotRegular,
        Self::Io,
        Self::NoMem,
    ];

    /// A small number for the inode cache.
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`Deny::code`].
    pub(crate) fn from_code(c: u8) -> Self {
        Self::ALL
            .get(usize::from(c))
            .copied()
            .unwrap_or(Self::Unsigned)
    }

    /// Whether the verdict follows from the file content and the keys
    /// alone, so it may be cached.
    pub(crate) fn is_content(self) -> bool {
        !matches!(
            self,
            Self::Writers | Self::Unlinked | Self::NotRegular | Self::Io | Self::NoMem
        )
    }

    /// What is logged.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::NotElf => "not an ELF file",
            Self::Unsigned => "unsigned (no .cgl_sig section)",
            Self::Malformed => "malformed ELF",
            Self::BadPayload => "bad signature payload",
            Self::BadSignature => "signature does not match",
            Self::Untrusted => "no trusted key",
            Self::Revoked => "file digest revoked",
            Self::Writers => "open for writing",
            Self::Unlinked => "unlinked file (memfd, O_TMPFILE or deleted)",
            Self::NotRegular => "not a regular file",
            Self::Io => "read error",
            Self::NoMem => "out of memory",
        }
    }

    /// The errno the access fails with.
    pub(crate) fn errno(self) -> c_int {
        match self {
            Self::Writers => ETXTBSY.to_errno(),
            _ => EACCES.to_errno(),
        }
    }
}

impl From<ElfSigError> for Deny {
    fn from(e: ElfSigError) -> Self {
        match e {
            ElfSigError::Io => Self::Io,
            ElfSigError::NotElf => Self::NotElf,
            ElfSigError::Unsigned => Self::Unsigned,
            ElfSigError::BadPayload(_) => Self::BadPayload,
            ElfSigError::Malformed(_) | ElfSigError::Hash | ElfSigError::BadBuffer => {
                Self::Malformed
            }
        }
    }
}

impl From<kernel::alloc::AllocError> for Deny {
    fn from(_: kernel::alloc::AllocError) -> Self {
        Self::NoMem
    }
}

/// What identifies one content of an inode: a verdict holds while it does
/// not change.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub(crate) struct Fingerprint {
    iversion: u64,
    size: i64,
    mtime_sec: i64,
    ctime_sec: i64,
    mtime_nsec: u32,
    ctime_nsec: u32,
}

impl Fingerprint {
    /// Reads the fingerprint of `inode`.
    ///
    /// # Safety
    ///
    /// `inode` must be live.
    pub(crate) unsafe fn of(inode: *mut bindings::inode) -> Self {
        // SAFETY: `inode` and its superblock are live. The fields are read
        // without the inode lock; a torn read only makes a cache miss.
        unsafe {
            let iversion = if i_version(inode) {
                bindings::inode_query_iversion(inode)
            } else {
                0
            };
            Self {
                iversion,
                size: bindings::i_size_read(inode),
                mtime_sec: ptr::read_volatile(ptr::addr_of!((*inode).i_mtime_sec)),
                ctime_sec: ptr::read_volatile(ptr::addr_of!((*inode).i_ctime_sec)),
                mtime_nsec: ptr::read_volatile(ptr::addr_of!((*inode).i_mtime_nsec)),
                ctime_nsec: ptr::read_volatile(ptr::addr_of!((*inode).i_ctime_nsec)),
            }
        }
    }
}

/// Whether the file system of `inode` counts changes (`SB_I_VERSION`).
///
/// # Safety
///
/// `inode` must be live.
unsafe fn i_version(inode: *mut bindings::inode) -> bool {
    // SAFETY: a live inode has a live superblock.
    unsafe { (*(*inode).i_sb).s_flags & SB_I_VERSION != 0 }
}

/// `SB_I_VERSION` of `include/linux/fs.h` (a `BIT()` macro bindgen skips).
const SB_I_VERSION: c_ulong = 1 << 23;

/// Whether a good verdict about `inode` may be kept: every change to its
/// content goes through this kernel's hooks and shows in its fingerprint.
/// True for file systems that count changes or sit on a local block
/// device; not for network file systems, whose files change remotely.
///
/// # Safety
///
/// `inode` must be live.
pub(crate) unsafe fn cacheable(inode: *mut bindings::inode) -> bool {
    // SAFETY: a live inode has a live superblock and file system type.
    unsafe {
        i_version(inode)
            || (*(*(*inode).i_sb).s_type).fs_flags & bindings::FS_REQUIRES_DEV as c_int != 0
    }
}

/// Reads a file through `kernel_read()`.
struct KernelReader {
    file: *mut bindings::file,
    len: u64,
}

impl FileReader for KernelReader {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let mut done = 0usize;
        while done < buf.len() {
            let rest = buf.get_mut(done..).ok_or(ReadError)?;
            let mut pos = i64::try_from(off).map_err(|_| ReadError)?;
            pos = pos.checked_add(done as i64).ok_or(ReadError)?;
            // SAFETY: `file` is live and open for reading; `rest` is a
            // writable buffer of the length passed.
            let n = unsafe {
                bindings::kernel_read(self.file, rest.as_mut_ptr().cast(), rest.len(), &mut pos)
            };
            if n <= 0 {
                return Err(ReadError);
            }
            done = done.saturating_add(n as usize);
        }
        Ok(())
    }
}

/// The kernel's SHA-256.
struct Sha256(bindings::sha256_state);

impl Sha256 {
    fn new() -> Self {
        // SAFETY: all-zero is a valid state, which `sha256_init` then sets.
        let mut s = Self(unsafe { core::mem::zeroed() });
        // SAFETY: `s.0` is a valid state to initialise.
        unsafe { bindings::sha256_init(&mut s.0) };
        s
    }

    fn finish(mut self) -> [u8; elfsig::SHA256_DIGEST_LEN] {
        let mut out = [0u8; elfsig::SHA256_DIGEST_LEN];
        // SAFETY: `out` has room for a SHA-256 digest.
        unsafe { bindings::sha256_final(&mut self.0, out.as_mut_ptr()) };
        out
    }
}

impl DigestSink for Sha256 {
    fn update(&mut self, data: &[u8]) -> Result<(), HashError> {
        let len = u32::try_from(data.len()).map_err(|_| HashError)?;
        // SAFETY: `data` is readable for `len` bytes.
        unsafe { bindings::sha256_update(&mut self.0, data.as_ptr(), len) };
        Ok(())
    }
}

/// `i_writecount` of `inode`: writers if positive, denied writers
/// (a running executable) if negative.
///
/// # Safety
///
/// `inode` must be live.
pub(crate) unsafe fn writers(inode: *mut bindings::inode) -> i32 {
    // SAFETY: `i_writecount` is an `atomic_t` of the live inode.
    unsafe {
        AtomicI32::from_ptr(ptr::addr_of_mut!((*inode).i_writecount.counter)).load(Ordering::SeqCst)
    }
}

/// Verifies `file`; `Ok` if it may run.
///
/// # Safety
///
/// `file` must be live and open for reading, `inode` its inode.
pub(crate) unsafe fn verify(
    file: *mut bindings::file,
    inode: *mut bindings::inode,
    st: &State,
    _exec: bool,
) -> Result<(), Deny> {
    // SAFETY: `inode` is live.
    let (mode, nlink) = unsafe { ((*inode).i_mode, (*inode).__bindgen_anon_1.i_nlink) };
    if u32::from(mode) & bindings::S_IFMT != bindings::S_IFREG {
        return Err(Deny::NotRegular);
    }
    // SAFETY: `inode` is live.
    if unsafe { writers(inode) } > 0 {
        return Err(Deny::Writers);
    }
    if nlink == 0 {
        return Err(Deny::Unlinked);
    }
    // SAFETY: `inode` is live.
    let len = unsafe { bindings::i_size_read(inode) };
    let mut r = KernelReader {
        file,
        len: u64::try_from(len).map_err(|_| Deny::Malformed)?,
    };
    let loc = elfsig::locate(&mut r)?;
    let mut sig = KVec::<u8>::from_elem(0, loc.sig.sig_len as usize, GFP_KERNEL)?;
    r.read_at(loc.sig.sig_off, &mut sig).map_err(|_| Deny::Io)?;

    let mut scratch = KVVec::<u8>::from_elem(0, CHUNK, GFP_KERNEL)?;
    let mut sha = Sha256::new();
    elfsig::feed_digest(&mut r, &loc.section(), &mut sha, &mut scratch)?;
    let digest = sha.finish();

    if st.revoked.lock().contains(&digest) {
        return Err(Deny::Revoked);
    }
    let desc = elfsig::descriptor(loc.file_len, &digest);
    let check = |keys: *mut bindings::key| -> c_int {
        // SAFETY: both buffers are valid for the lengths given; `keys` is
        // our keyring (held for ever) or NULL for the built-in keys.
        unsafe {
            bindings::verify_pkcs7_signature(
                desc.as_ptr().cast(),
                desc.len(),
                sig.as_ptr().cast(),
                sig.len(),
                keys,
                bindings::key_being_used_for_VERIFYING_UNSPECIFIED_SIGNATURE,
                None,
                ptr::null_mut(),
            )
        }
    };
    let mut rc = check(st.keyring);
    let enokey = -(bindings::ENOKEY as c_int);
    if rc == enokey {
        rc = check(ptr::null_mut());
    }
    match rc {
        0 => Ok(()),
        e if e == enokey => Err(Deny::Untrusted),
        e if e == ENOMEM.to_errno() => Err(Deny::NoMem),
        _ => Err(Deny::BadSignature),
    }
}
