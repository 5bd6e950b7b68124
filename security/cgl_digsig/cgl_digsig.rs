// SPDX-License-Identifier: GPL-2.0

//! CGL DigSig: a Linux Security Module that runs only signed ELF code.
//!
//! Every file that is executed (`bprm_check_security`), mapped executable
//! (`mmap_file` with `PROT_EXEC`, which also covers the dynamic loader
//! mapping libraries and `ld.so ./prog`) or made executable later
//! (`file_mprotect`) must carry a `.cgl_sig` section ([`elfsig`]) whose
//! PKCS#7 signature over the file digest verifies with a key of the
//! `.cgl_digsig` keyring or of the kernel's built-in trusted keys.
//!
//! # Cache
//!
//! The verdict is kept in the inode's security blob ([`InodeSec`]) with
//! the generation it was reached in and a fingerprint of the inode
//! (`i_version`, times, size). A hit needs the same generation and the
//! same fingerprint. Positive verdicts are only cached on file systems
//! that count changes (`SB_I_VERSION`) or live on a local block device;
//! elsewhere every check verifies the file again.
//!
//! Anything that can change the content drops the verdict before the new
//! content can run: opening for writing (`file_open`), truncation
//! and attribute changes (`inode_setattr`, which truncate goes through). These run in
//! every mode, so a cache filled while permissive stays honest when
//! enforcing starts. A writer that appears while a verification is in
//! flight is refused with `ETXTBSY`, and so is a writer of a file that is
//! mapped executable, since the kernel no longer honours `MAP_DENYWRITE`.
//! A file that is open for writing cannot be verified (`ETXTBSY`).
//!
//! Revoking a key ([`Attr`] `flush`), adding one, or revoking a file
//! digest bumps the generation, which drops every cached verdict at once.
//!
//! # Locking
//!
//! * [`InodeSec`] fields are protected by its own spinlock; the lock is
//!   never held across file reads or signature checks.
//! * The revoked digest list is protected by [`State::revoked`] (a mutex;
//!   hooks that read it may sleep).
//! * Everything else is atomics.

use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use kernel::bindings;
use kernel::c_str;
use kernel::ffi::{c_char, c_int, c_ulong};
use kernel::prelude::*;
use kernel::sync::Mutex;

use cgl_core::event::Severity;
use cgl_core::sysfs::{Attribute, Show};
use cgl_core::{cgl_event, sysfs_group};

// The kernel-free core is shared with the host tests and the signing
// tool; its API is wider than the LSM's use of it.
#[allow(unreachable_pub, dead_code)]
mod elfsig;
mod verify;

use verify::{Deny, Fingerprint};

module! {
    type: DigsigModule,
    name: "cgl_digsig",
    author: "cgl developers",
    description: "CGL DigSig: refuse to run unsigned ELF code",
    license: "GPL",
}

/// Subsystem name of DigSig's records in the cgl_core event log.
const SUBSYS: &str = "digsig";

/// Event ids DigSig logs.
mod event_id {
    /// Code was denied (enforcing).
    pub(crate) const DENIED: u32 = 1;
    /// Code would have been denied (permissive).
    pub(crate) const WOULD_DENY: u32 = 2;
    /// The mode changed or was locked.
    pub(crate) const MODE: u32 = 3;
    /// A key or a file digest was revoked, or the cache flushed.
    pub(crate) const REVOKED: u32 = 4;
    /// A key was added to the keyring, or the keyring was locked.
    pub(crate) const KEYRING: u32 = 5;
}

/// What DigSig does.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Mode {
    /// Checks nothing (the cache is still kept honest).
    Off = 0,
    /// Verifies and logs what would be denied, denies nothing.
    Permissive = 1,
    /// Denies unsigned, tampered, untrusted and revoked code.
    Enforcing = 2,
}

impl Mode {
    fn from_u32(v: u32) -> Self {
        match v {
            1 => Self::Permissive,
            2 => Self::Enforcing,
            _ => Self::Off,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(Self::Off),
            "permissive" => Some(Self::Permissive),
            "enforcing" => Some(Self::Enforcing),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Permissive => "permissive",
            Self::Enforcing => "enforcing",
        }
    }
}

#[cfg(CONFIG_SECURITY_CGL_DIGSIG_BOOT_ENFORCING)]
const BOOT_MODE: Mode = Mode::Enforcing;
#[cfg(CONFIG_SECURITY_CGL_DIGSIG_BOOT_OFF)]
const BOOT_MODE: Mode = Mode::Off;
#[cfg(not(any(
    CONFIG_SECURITY_CGL_DIGSIG_BOOT_ENFORCING,
    CONFIG_SECURITY_CGL_DIGSIG_BOOT_OFF
)))]
const BOOT_MODE: Mode = Mode::Permissive;

/// `PROT_EXEC` of the uapi.
const PROT_EXEC: c_ulong = bindings::PROT_EXEC as c_ulong;

/// `FMODE_WRITE` of `include/linux/fs.h` (a cast macro bindgen skips).
const FMODE_WRITE: u32 = 1 << 1;

/// Current [`Mode`].
static MODE: AtomicU32 = AtomicU32::new(BOOT_MODE as u32);
/// Set once enforcing mode is locked; never cleared.
static LOCKED: AtomicBool = AtomicBool::new(false);
/// Set once the keyring is locked; never cleared.
static KEYRING_LOCKED: AtomicBool = AtomicBool::new(false);
/// Cache generation: verdicts reached in an older one are ignored. Never 0.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Counters shown in sysfs.
struct Counters {
    verified: AtomicU64,
    cache_hits: AtomicU64,
    denied: AtomicU64,
    would_deny: AtomicU64,
    errors: AtomicU64,
}

static COUNTERS: Counters = Counters {
    verified: AtomicU64::new(0),
    cache_hits: AtomicU64::new(0),
    denied: AtomicU64::new(0),
    would_deny: AtomicU64::new(0),
    errors: AtomicU64::new(0),
};

/// State set up by the initcall; checks start once it is published.
#[pin_data]
struct State {
    /// The `.cgl_digsig` keyring (one reference, held for ever).
    keyring: *mut bindings::key,
    /// Revoked file digests.
    #[pin]
    revoked: Mutex<KVec<[u8; elfsig::SHA256_DIGEST_LEN]>>,
}

// SAFETY: `keyring` is a refcounted kernel object usable from any thread;
// `revoked` is behind a mutex.
unsafe impl Send for State {}
// SAFETY: as above.
unsafe impl Sync for State {}

/// The published [`State`]; null until the initcall ran, then never freed.
static STATE: AtomicPtr<State> = AtomicPtr::new(ptr::null_mut());

fn state() -> Option<&'static State> {
    let p = STATE.load(Ordering::Acquire);
    // SAFETY: `STATE` is only set to a leaked, pinned `State` that is never
    // freed.
    unsafe { p.as_ref() }
}

fn mode() -> Mode {
    Mode::from_u32(MODE.load(Ordering::Relaxed))
}

/// Drops every cached verdict.
fn bump_generation() {
    // Wrapping to 0 would take 2^64 bumps; skip it anyway, 0 means "never".
    if GENERATION.fetch_add(1, Ordering::AcqRel) == u64::MAX {
        GENERATION.store(1, Ordering::Release);
    }
}

// ---------------------------------------------------------------------------
// The per-inode blob.

/// Verdict kept in [`InodeSec::verdict`].
const VERDICT_NONE: u8 = 0;
const VERDICT_GOOD: u8 = 1;
const VERDICT_BAD: u8 = 2;

/// DigSig's part of every inode's security blob.
///
/// All fields but `lock` are protected by `lock`. The LSM framework
/// allocates the blob zeroed; `inode_alloc_security` initialises `lock`.
#[repr(C)]
struct InodeSec {
    lock: bindings::spinlock_t,
    /// `VERDICT_*`.
    verdict: u8,
    /// Why a bad verdict was reached (a [`Deny`] code).
    reason: u8,
    /// Verifications in flight; a writer arriving meanwhile is refused.
    busy: u32,
    /// Generation the verdict was reached in.
    generation: u64,
    /// The inode as it was when the verdict was reached.
    fp: Fingerprint,
}

/// Offsets of DigSig's blobs; the LSM framework turns sizes into offsets.
#[repr(transparent)]
struct Blobs(core::cell::UnsafeCell<bindings::lsm_blob_sizes>);
// SAFETY: written only by the LSM framework during single-threaded boot,
// read-only afterwards.
unsafe impl Sync for Blobs {}

static BLOBS: Blobs = Blobs(core::cell::UnsafeCell::new(bindings::lsm_blob_sizes {
    lbs_inode: core::mem::size_of::<InodeSec>() as c_int,
    ..zeroed_blob_sizes()
}));

const fn zeroed_blob_sizes() -> bindings::lsm_blob_sizes {
    // SAFETY: `lsm_blob_sizes` is a struct of integers; all zeros is valid.
    unsafe { core::mem::zeroed() }
}

/// Whether the LSM framework has called [`digsig_init`].
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// DigSig's blob of `inode`.
///
/// # Safety
///
/// `inode` must be a live inode allocated after [`digsig_init`] ran.
unsafe fn inode_sec(inode: *mut bindings::inode) -> *mut InodeSec {
    // SAFETY: after init, `lbs_inode` holds our offset into `i_security`,
    // which the framework allocated with room for every LSM's blob.
    unsafe {
        let off = (*BLOBS.0.get()).lbs_inode as usize;
        (*inode).i_security.cast::<u8>().add(off).cast()
    }
}

/// Holds an [`InodeSec`] lock.
struct SecGuard(*mut InodeSec);

impl SecGuard {
    /// # Safety
    ///
    /// `sec` must be a live, initialised blob.
    unsafe fn lock(sec: *mut InodeSec) -> Self {
        // SAFETY: the caller guarantees the lock is initialised and live.
        unsafe { bindings::spin_lock(ptr::addr_of_mut!((*sec).lock)) };
        Self(sec)
    }

    fn get(&mut self) -> &mut InodeSec {
        // SAFETY: the lock is held, so nobody else touches the fields.
        unsafe { &mut *self.0 }
    }
}

impl Drop for SecGuard {
    fn drop(&mut self) {
        // SAFETY: taken in `lock`.
        unsafe { bindings::spin_unlock(ptr::addr_of_mut!((*self.0).lock)) };
    }
}

// ---------------------------------------------------------------------------
// Checks.

/// What is being checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Exec,
    Mmap,
    Mprotect,
}

impl Access {
    fn name(self) -> &'static str {
        match self {
            Self::Exec => "exec",
            Self::Mmap => "mmap",
            Self::Mprotect => "mprotect",
        }
    }
}

/// Checks `file` for `access`; returns 0 or a negative errno.
///
/// # Safety
///
/// `file` must be a live file.
unsafe fn check_file(file: *mut bindings::file, access: Access) -> c_int {
    let mode = mode();
    if mode == Mode::Off || !ACTIVE.load(Ordering::Acquire) {
        return 0;
    }
    let Some(st) = state() else {
        return 0;
    };
    // SAFETY: `file` is live, so is its inode.
    let inode = unsafe { bindings::file_inode(file) };
    // SAFETY: `inode` is live and was allocated after init (ACTIVE).
    let sec = unsafe { inode_sec(inode) };
    let generation = GENERATION.load(Ordering::Acquire);
    // SAFETY: `inode` is live.
    let fp = unsafe { Fingerprint::of(inode) };
    {
        // SAFETY: `sec` is live and initialised.
        let mut g = unsafe { SecGuard::lock(sec) };
        let s = g.get();
        // A writer makes it a miss: verification then refuses it (a
        // negative count is the kernel's own denial of writers during
        // exec). The
        // writer raised `i_writecount` before its `file_open` hook took
        // this lock, so one of the two sees the other.
        // SAFETY: `inode` is live.
        let hit = s.verdict != VERDICT_NONE
            && s.generation == generation
            && s.fp == fp
            && unsafe { verify::writers(inode) } <= 0;
        if hit {
            COUNTERS.cache_hits.fetch_add(1, Ordering::Relaxed);
            if s.verdict == VERDICT_GOOD {
                return 0;
            }
            let reason = Deny::from_code(s.reason);
            drop(g);
            // As on a miss: a script is not ELF, and exec of it runs its
            // interpreter, which is checked in turn.
            if matches!(reason, Deny::NotElf) && access == Access::Exec {
                return 0;
            }
            // Permissive mode logged this inode already.
            // SAFETY: `file` is live.
            return unsafe { refuse(file, access, reason, mode, mode == Mode::Enforcing) };
        }
        s.busy = s.busy.saturating_add(1);
    }

    // SAFETY: `file` and `inode` are live.
    let res = unsafe { verify::verify(file, inode, st, access == Access::Exec) };

    // SAFETY: `inode` is live.
    let fp_after = unsafe { Fingerprint::of(inode) };
    // SAFETY: `inode` is live.
    let cacheable = fp_after == fp && unsafe { verify::cacheable(inode) };
    {
        // SAFETY: as above.
        let mut g = unsafe { SecGuard::lock(sec) };
        let s = g.get();
        s.busy = s.busy.saturating_sub(1);
        let verdict = match res {
            Ok(()) => Some((VERDICT_GOOD, 0)),
            // Only verdicts about the content are remembered.
            Err(d) if d.is_content() => Some((VERDICT_BAD, d.code())),
            Err(_) => None,
        };
        match verdict {
            Some((v, reason)) if cacheable || v == VERDICT_BAD => {
                s.verdict = v;
                s.reason = reason;
                s.generation = generation;
                s.fp = fp;
            }
            _ => s.verdict = VERDICT_NONE,
        }
    }
    match res {
        Ok(()) => {
            COUNTERS.verified.fetch_add(1, Ordering::Relaxed);
            0
        }
        Err(Deny::NotElf) if access == Access::Exec => 0,
        // SAFETY: `file` is live.
        Err(d) => unsafe { refuse(file, access, d, mode, true) },
    }
}

/// Counts, logs (if `log`) and, when enforcing, refuses an access.
///
/// # Safety
///
/// `file` must be a live file.
unsafe fn refuse(
    file: *mut bindings::file,
    access: Access,
    why: Deny,
    mode: Mode,
    log: bool,
) -> c_int {
    let enforcing = mode == Mode::Enforcing;
    if enforcing {
        COUNTERS.denied.fetch_add(1, Ordering::Relaxed);
    } else {
        COUNTERS.would_deny.fetch_add(1, Ordering::Relaxed);
    }
    if matches!(why, Deny::Io | Deny::NoMem) {
        COUNTERS.errors.fetch_add(1, Ordering::Relaxed);
    }
    if log {
        let mut buf = [0u8; 256];
        // SAFETY: `file` is live.
        let path = unsafe { file_path(file, &mut buf) };
        let (id, sev, verb) = if enforcing {
            (event_id::DENIED, Severity::Warning, "denied")
        } else {
            (event_id::WOULD_DENY, Severity::Notice, "would deny")
        };
        // SAFETY: `get_current` returns the running task, live while it runs.
        let (pid, comm) = unsafe {
            let t = bindings::get_current();
            ((*t).pid, comm_str(&(*t).comm))
        };
        let _ = cgl_event!(
            sev,
            SUBSYS,
            id,
            "{} {} {}: {} (pid {} comm {})",
            verb,
            access.name(),
            path,
            why.text(),
            pid,
            comm
        );
    }
    if enforcing {
        why.errno()
    } else {
        0
    }
}

/// The path of `file`, for messages.
///
/// # Safety
///
/// `file` must be a live file.
unsafe fn file_path(file: *mut bindings::file, buf: &mut [u8; 256]) -> &str {
    // SAFETY: `f_path` of a live file is valid; `buf` has the length given.
    let p = unsafe {
        bindings::d_path(
            ptr::addr_of!((*file).f_path),
            buf.as_mut_ptr().cast::<c_char>(),
            buf.len() as c_int,
        )
    };
    if p.is_null() || (p as isize) < 0 && (p as isize) >= -4095 {
        return "?";
    }
    // SAFETY: on success `d_path` returns a NUL-terminated string inside
    // `buf`.
    let c = unsafe { core::ffi::CStr::from_ptr(p.cast()) };
    c.to_str().unwrap_or("?")
}

fn comm_str(comm: &[c_char; 16]) -> &str {
    let b: &[u8; 16] = comm;
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    core::str::from_utf8(b.get(..n).unwrap_or(&[])).unwrap_or("?")
}

/// A writer is about to change `inode` (open for writing, truncation,
/// attribute change): drops its verdict; in enforcing mode, refuses the
/// writer with `ETXTBSY` while a verification is in flight or while the
/// file is mapped executable, since the kernel no longer honours
/// `MAP_DENYWRITE`.
///
/// The verdict is dropped even when the writer is then refused: the next
/// check verifies again, which is only slower.
///
/// # Safety
///
/// `inode` must be live; `file` live or null.
unsafe fn writer(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    if !ACTIVE.load(Ordering::Acquire) {
        return 0;
    }
    // SAFETY: `inode` is live.
    let sec = unsafe { inode_sec(inode) };
    let enforcing = mode() == Mode::Enforcing;
    let busy = {
        // SAFETY: `sec` is live and initialised.
        let mut g = unsafe { SecGuard::lock(sec) };
        let s = g.get();
        s.verdict = VERDICT_NONE;
        s.busy != 0
    };
    if !enforcing {
        return 0;
    }
    // SAFETY: `i_mapping` of a live inode is valid.
    if !busy && !unsafe { bindings::mapping_exec_mapped((*inode).i_mapping) } {
        return 0;
    }
    COUNTERS.denied.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 256];
    let path = if file.is_null() {
        "?"
    } else {
        // SAFETY: `file` is live.
        unsafe { file_path(file, &mut buf) }
    };
    let _ = cgl_event!(
        Severity::Warning,
        SUBSYS,
        event_id::DENIED,
        "denied write {}: {}",
        path,
        if busy {
            "being verified"
        } else {
            "mapped executable"
        }
    );
    ETXTBSY.to_errno()
}

// ---------------------------------------------------------------------------
// LSM hooks.

/// The `bprm_check` LSM hook.
///
/// # Safety
///
/// Called only by the kernel (LSM framework, keyring code) with the
/// arguments its hook type documents, all live for the call.
unsafe extern "C" fn hook_bprm_check(bprm: *mut bindings::linux_binprm) -> c_int {
    // SAFETY: the LSM framework passes a live `linux_binprm` with its file
    // open.
    unsafe { check_file((*bprm).file, Access::Exec) }
}

/// The `mmap_file` LSM hook.
///
/// # Safety
///
/// Called only by the kernel (LSM framework, keyring code) with the
/// arguments its hook type documents, all live for the call.
unsafe extern "C" fn hook_mmap_file(
    file: *mut bindings::file,
    _reqprot: c_ulong,
    prot: c_ulong,
    _flags: c_ulong,
) -> c_int {
    if file.is_null() || prot & PROT_EXEC == 0 {
        return 0;
    }
    // SAFETY: `file` is live for the call.
    unsafe { check_file(file, Access::Mmap) }
}

/// The `file_mprotect` LSM hook.
///
/// # Safety
///
/// Called only by the kernel (LSM framework, keyring code) with the
/// arguments its hook type documents, all live for the call.
unsafe extern "C" fn hook_file_mprotect(
    vma: *mut bindings::vm_area_struct,
    _reqprot: c_ulong,
    prot: c_ulong,
) -> c_int {
    if prot & PROT_EXEC == 0 {
        return 0;
    }
    // SAFETY: the caller holds the mmap lock, so `vma` is live.
    let file = unsafe { (*vma).vm_file };
    if file.is_null() {
        return 0;
    }
    // SAFETY: `vm_file` is held by the VMA.
    unsafe { check_file(file, Access::Mprotect) }
}

/// The `file_open` LSM hook.
///
/// # Safety
///
/// Called only by the kernel (LSM framework, keyring code) with the
/// arguments its hook type documents, all live for the call.
unsafe extern "C" fn hook_file_open(file: *mut bindings::file) -> c_int {
    // SAFETY: `file` is live for the call.
    unsafe {
        if (*file).f_mode & FMODE_WRITE == 0 {
            return 0;
        }
        writer(bindings::file_inode(file), file)
    }
}

/// The `inode_setattr` LSM hook.
///
/// # Safety
///
/// Called only by the kernel (LSM framework, keyring code) with the
/// arguments its hook type documents, all live for the call.
unsafe extern "C" fn hook_inode_setattr(
    _idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    _attr: *mut bindings::iattr,
) -> c_int {
    // SAFETY: `dentry` is live and positive.
    unsafe {
        let inode = (*dentry).d_inode;
        if inode.is_null() {
            return 0;
        }
        writer(inode, ptr::null_mut())
    }
}

/// Lock class of every [`InodeSec`] lock, for lockdep.
#[repr(transparent)]
struct LockKey(core::cell::UnsafeCell<bindings::lock_class_key>);
// SAFETY: only lockdep touches the key, under its own locking.
unsafe impl Sync for LockKey {}

static INODE_LOCK_KEY: LockKey = LockKey(core::cell::UnsafeCell::new(
    // SAFETY: lockdep wants static keys zeroed.
    unsafe { core::mem::zeroed() },
));

/// The `inode_alloc_security` LSM hook.
///
/// # Safety
///
/// Called only by the kernel (LSM framework, keyring code) with the
/// arguments its hook type documents, all live for the call.
unsafe extern "C" fn hook_inode_alloc_security(inode: *mut bindings::inode) -> c_int {
    // SAFETY: the framework just allocated the (zeroed) blob of `inode`;
    // the key is static.
    unsafe {
        let sec = inode_sec(inode);
        bindings::__spin_lock_init(
            ptr::addr_of_mut!((*sec).lock),
            c_str!("cgl_digsig_inode").as_char_ptr(),
            INODE_LOCK_KEY.0.get(),
        );
    }
    0
}

/// The hooks, as the framework wants them; filled by [`digsig_init`].
#[repr(transparent)]
struct Hooks(core::cell::UnsafeCell<[bindings::security_hook_list; N_HOOKS]>);
// SAFETY: written once during single-threaded boot, then owned by the LSM
// framework.
unsafe impl Sync for Hooks {}

const N_HOOKS: usize = 6;

static HOOKS: Hooks = Hooks(core::cell::UnsafeCell::new(
    // SAFETY: all-zero is a valid (empty) `security_hook_list`.
    unsafe { core::mem::zeroed() },
));

#[repr(transparent)]
struct LsmId(bindings::lsm_id);
// SAFETY: read-only after build.
unsafe impl Sync for LsmId {}

static LSM_ID: LsmId = LsmId(bindings::lsm_id {
    name: c_str!("cgl_digsig").as_char_ptr(),
    id: bindings::LSM_ID_CGL_DIGSIG as u64,
});

#[repr(transparent)]
struct LsmInfo(bindings::lsm_info);
// SAFETY: read by the LSM framework during single-threaded boot only.
unsafe impl Sync for LsmInfo {}

/// DigSig's `DEFINE_LSM()` entry.
#[used]
#[link_section = ".lsm_info.init"]
static LSM_INFO: LsmInfo = LsmInfo(bindings::lsm_info {
    name: c_str!("cgl_digsig").as_char_ptr(),
    order: bindings::lsm_order_LSM_ORDER_MUTABLE,
    flags: 0,
    enabled: ptr::null_mut(),
    init: Some(digsig_init),
    blobs: BLOBS.0.get(),
});

/// Registers the hooks; called by the LSM framework in `security_init()`.
///
/// # Safety
///
/// Called only by the kernel (LSM framework, keyring code) with the
/// arguments its hook type documents, all live for the call.
#[link_section = ".init.text"]
unsafe extern "C" fn digsig_init() -> c_int {
    macro_rules! hook {
        ($name:ident, $f:expr) => {
            bindings::security_hook_list {
                // SAFETY: only the address of the framework's table is
                // taken.
                scalls: unsafe { ptr::addr_of_mut!(bindings::static_calls_table.$name).cast() },
                hook: bindings::security_list_options { $name: Some($f) },
                lsmid: ptr::null(),
            }
        };
    }
    let hooks = [
        hook!(bprm_check_security, hook_bprm_check),
        hook!(mmap_file, hook_mmap_file),
        hook!(file_mprotect, hook_file_mprotect),
        hook!(file_open, hook_file_open),
        hook!(inode_setattr, hook_inode_setattr),
        hook!(inode_alloc_security, hook_inode_alloc_security),
    ];
    // SAFETY: boot is single-threaded here and nobody else uses `HOOKS`.
    unsafe {
        let h = HOOKS.0.get();
        *h = hooks;
        bindings::security_add_hooks((*h).as_mut_ptr(), N_HOOKS as c_int, &LSM_ID.0);
    }
    ACTIVE.store(true, Ordering::Release);
    pr_info!("LSM initialised, mode {}\n", mode().name());
    0
}

// ---------------------------------------------------------------------------
// The keyring.

/// Restriction of the `.cgl_digsig` keyring: asymmetric keys only, none
/// once the keyring is locked. A new key may make a refused file valid,
/// so the cache generation moves on.
///
/// # Safety
///
/// Called only by the kernel (LSM framework, keyring code) with the
/// arguments its hook type documents, all live for the call.
unsafe extern "C" fn keyring_restrict(
    _dest: *mut bindings::key,
    ktype: *const bindings::key_type,
    _payload: *const bindings::key_payload,
    _restriction_key: *mut bindings::key,
) -> c_int {
    if KEYRING_LOCKED.load(Ordering::Acquire) {
        return EPERM.to_errno();
    }
    if ktype != ptr::addr_of!(bindings::key_type_asymmetric) {
        return -(bindings::EOPNOTSUPP as c_int);
    }
    bump_generation();
    let _ = cgl_event!(
        Severity::Notice,
        SUBSYS,
        event_id::KEYRING,
        "key added to .cgl_digsig"
    );
    0
}

/// Creates the `.cgl_digsig` keyring; root may add keys with `keyctl`,
/// and link it to possess (and revoke) them.
fn create_keyring() -> Result<*mut bindings::key> {
    let restrict = KBox::new(
        bindings::key_restriction {
            check: Some(keyring_restrict),
            key: ptr::null_mut(),
            keytype: ptr::null_mut(),
        },
        GFP_KERNEL,
    )?;
    let restrict = KBox::into_raw(restrict);
    let perm = (bindings::KEY_POS_ALL & !bindings::KEY_POS_SETATTR)
        | bindings::KEY_USR_VIEW
        | bindings::KEY_USR_READ
        | bindings::KEY_USR_WRITE
        | bindings::KEY_USR_SEARCH
        // Root links the keyring into its session keyring to possess,
        // and so revoke, the keys in it.
        | bindings::KEY_USR_LINK;
    // SAFETY: the name is NUL-terminated, `init_cred` lives for ever and
    // `restrict` is a kmalloc'd restriction the keyring owns from now on.
    let k = unsafe {
        bindings::keyring_alloc(
            c_str!(".cgl_digsig").as_char_ptr(),
            bindings::kuid_t { val: 0 },
            bindings::kgid_t { val: 0 },
            bindings::current_cred(),
            perm,
            bindings::KEY_ALLOC_NOT_IN_QUOTA as c_ulong,
            restrict,
            ptr::null_mut(),
        )
    };
    if (k as isize) < 0 && (k as isize) >= -4095 {
        // SAFETY: the keyring was not created, so `restrict` is still ours.
        drop(unsafe { KBox::from_raw(restrict) });
        return Err(Error::from_errno(k as isize as c_int));
    }
    Ok(k)
}

// ---------------------------------------------------------------------------
// sysfs: /sys/kernel/cgl/digsig/.

fn parse_bool(input: &str) -> Result<bool> {
    match input {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(EINVAL),
    }
}

struct ModeAttr;
impl Attribute for ModeAttr {
    const NAME: &'static CStr = c_str!("mode");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        writeln!(out, "{}", mode().name()).map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        let m = Mode::parse(input).ok_or(EINVAL)?;
        if LOCKED.load(Ordering::Acquire) && m != Mode::Enforcing {
            return Err(EPERM);
        }
        let old = Mode::from_u32(MODE.swap(m as u32, Ordering::AcqRel));
        if old != m {
            let _ = cgl_event!(
                Severity::Notice,
                SUBSYS,
                event_id::MODE,
                "mode {} -> {}",
                old.name(),
                m.name()
            );
        }
        Ok(())
    }
}

struct LockedAttr;
impl Attribute for LockedAttr {
    const NAME: &'static CStr = c_str!("locked");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        writeln!(out, "{}", u8::from(LOCKED.load(Ordering::Relaxed))).map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        if !parse_bool(input)? {
            // Unlocking takes a reboot.
            return if LOCKED.load(Ordering::Acquire) {
                Err(EPERM)
            } else {
                Ok(())
            };
        }
        if mode() != Mode::Enforcing {
            return Err(EINVAL);
        }
        if !LOCKED.swap(true, Ordering::AcqRel) {
            let _ = cgl_event!(
                Severity::Notice,
                SUBSYS,
                event_id::MODE,
                "enforcing mode locked until reboot"
            );
        }
        Ok(())
    }
}

struct KeyringLockedAttr;
impl Attribute for KeyringLockedAttr {
    const NAME: &'static CStr = c_str!("keyring_locked");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        writeln!(out, "{}", u8::from(KEYRING_LOCKED.load(Ordering::Relaxed))).map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        if !parse_bool(input)? {
            return if KEYRING_LOCKED.load(Ordering::Acquire) {
                Err(EPERM)
            } else {
                Ok(())
            };
        }
        if !KEYRING_LOCKED.swap(true, Ordering::AcqRel) {
            let _ = cgl_event!(
                Severity::Notice,
                SUBSYS,
                event_id::KEYRING,
                ".cgl_digsig keyring locked"
            );
        }
        Ok(())
    }
}

struct KeyringAttr;
impl Attribute for KeyringAttr {
    const NAME: &'static CStr = c_str!("keyring");
    fn show(out: &mut Show) -> Result {
        let st = state().ok_or(ENODEV)?;
        // SAFETY: the keyring is held for ever.
        let serial = unsafe { (*st.keyring).serial };
        writeln!(out, "{}", serial).map_err(|_| EINVAL)
    }
}

macro_rules! counter_attr {
    ($ty:ident, $name:literal, $field:ident) => {
        struct $ty;
        impl Attribute for $ty {
            const NAME: &'static CStr = c_str!($name);
            fn show(out: &mut Show) -> Result {
                writeln!(out, "{}", COUNTERS.$field.load(Ordering::Relaxed)).map_err(|_| EINVAL)
            }
        }
    };
}

counter_attr!(VerifiedAttr, "verified", verified);
counter_attr!(CacheHitsAttr, "cache_hits", cache_hits);
counter_attr!(DeniedAttr, "denied", denied);
counter_attr!(WouldDenyAttr, "would_deny", would_deny);
counter_attr!(ErrorsAttr, "errors", errors);

struct GenerationAttr;
impl Attribute for GenerationAttr {
    const NAME: &'static CStr = c_str!("generation");
    fn show(out: &mut Show) -> Result {
        writeln!(out, "{}", GENERATION.load(Ordering::Relaxed)).map_err(|_| EINVAL)
    }
}

struct FlushAttr;
impl Attribute for FlushAttr {
    const NAME: &'static CStr = c_str!("flush");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        writeln!(out, "0").map_err(|_| EINVAL)
    }
    fn store(input: &str) -> Result {
        if !parse_bool(input)? {
            return Err(EINVAL);
        }
        bump_generation();
        let _ = cgl_event!(Severity::Notice, SUBSYS, event_id::REVOKED, "cache flushed");
        Ok(())
    }
}

/// Largest number of revoked digests.
const MAX_REVOKED: usize = 4096;

fn parse_digest(s: &str) -> Result<[u8; elfsig::SHA256_DIGEST_LEN]> {
    let b = s.as_bytes();
    if b.len() != 2 * elfsig::SHA256_DIGEST_LEN {
        return Err(EINVAL);
    }
    let mut out = [0u8; elfsig::SHA256_DIGEST_LEN];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let hi = (pair[0] as char).to_digit(16).ok_or(EINVAL)?;
        let lo = (pair[1] as char).to_digit(16).ok_or(EINVAL)?;
        *o = (hi * 16 + lo) as u8;
    }
    Ok(out)
}

struct RevokedAttr;
impl Attribute for RevokedAttr {
    const NAME: &'static CStr = c_str!("revoked");
    const WRITABLE: bool = true;
    fn show(out: &mut Show) -> Result {
        let st = state().ok_or(ENODEV)?;
        let list = st.revoked.lock();
        for d in list.iter() {
            for b in d {
                write!(out, "{:02x}", b).map_err(|_| EFBIG)?;
            }
            writeln!(out).map_err(|_| EFBIG)?;
        }
        Ok(())
    }
    fn store(input: &str) -> Result {
        let d = parse_digest(input)?;
        let st = state().ok_or(ENODEV)?;
        {
            let mut list = st.revoked.lock();
            if list.contains(&d) {
                return Ok(());
            }
            if list.len() >= MAX_REVOKED {
                return Err(ENOSPC);
            }
            list.push(d, GFP_KERNEL)?;
        }
        bump_generation();
        let _ = cgl_event!(
            Severity::Notice,
            SUBSYS,
            event_id::REVOKED,
            "file digest {} revoked",
            input
        );
        Ok(())
    }
}

sysfs_group!(static ATTRS = [
    ModeAttr,
    LockedAttr,
    KeyringLockedAttr,
    KeyringAttr,
    VerifiedAttr,
    CacheHitsAttr,
    DeniedAttr,
    WouldDenyAttr,
    ErrorsAttr,
    GenerationAttr,
    FlushAttr,
    RevokedAttr,
]);

static MODULE_INFO: cgl_core::ModuleInfo = cgl_core::ModuleInfo {
    name: c_str!("digsig"),
    family: None,
    description: c_str!("LSM that runs only signed ELF code"),
};

struct DigsigModule {
    _dir: cgl_core::sysfs::Dir,
    _reg: cgl_core::Registration,
}

impl kernel::Module for DigsigModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if !ACTIVE.load(Ordering::Acquire) {
            pr_info!("not in the LSM list (CONFIG_LSM or lsm=), inactive\n");
            return Err(ENODEV);
        }
        let keyring = create_keyring()?;
        let st = KBox::pin_init(
            pin_init!(State {
                keyring,
                revoked <- kernel::new_mutex!(KVec::new(), "cgl_digsig_revoked"),
            }),
            GFP_KERNEL,
        );
        let st = match st {
            Ok(s) => s,
            Err(e) => {
                // SAFETY: the keyring was created above and nobody else
                // holds our reference.
                unsafe { bindings::key_put(keyring) };
                return Err(e);
            }
        };
        // Published for ever: built-in code is never unloaded.
        // SAFETY: the box is leaked, so the pinned `State` never moves.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(st) });
        STATE.store(raw, Ordering::Release);
        let dir = cgl_core::sysfs::module_dir(c_str!("digsig"))?;
        dir.add_group(&ATTRS)?;
        let reg = cgl_core::register_module(&MODULE_INFO)?;
        Ok(Self {
            _dir: dir,
            _reg: reg,
        })
    }
}
