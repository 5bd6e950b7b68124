// SPDX-License-Identifier: GPL-2.0

//! Entries under `/sys/kernel/cgl/`.
//!
//! Every CGL module gets a directory `/sys/kernel/cgl/<module>/` with
//! [`module_dir`] and fills it with a [`Group`] of attributes declared with
//! [`sysfs_group!`](crate::sysfs_group). An attribute is a type that
//! implements [`Attribute`]: its `show` writes the value, its `store`
//! parses a new one. Bad input to `store` is an errno for the writer; the
//! value is unchanged.

use core::cell::UnsafeCell;
use core::fmt;
use core::ptr::{self, NonNull};
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;

/// A sysfs attribute of a CGL directory.
pub trait Attribute: 'static {
    /// File name.
    const NAME: &'static CStr;
    /// Whether root may write it (mode 0644 instead of 0444).
    const WRITABLE: bool = false;

    /// Writes the current value, with a trailing newline.
    fn show(out: &mut Show) -> Result;

    /// Takes a new value; `input` has surrounding white space trimmed.
    fn store(_input: &str) -> Result {
        Err(EACCES)
    }
}

/// The page a [`Attribute::show`] writes into; output beyond it is an error.
pub struct Show {
    buf: *mut u8,
    len: usize,
    dir: usize,
}

impl Show {
    /// Which directory the file being read is in, as [`Dir::key`] gives
    /// it: one attribute type can serve a directory per object.
    pub fn dir_key(&self) -> usize {
        self.dir
    }
}

impl fmt::Write for Show {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let page = bindings::PAGE_SIZE;
        if s.len() > page - self.len {
            return Err(fmt::Error);
        }
        // SAFETY: `buf` is the PAGE_SIZE buffer sysfs passed to `show`, and
        // `len + s.len() <= PAGE_SIZE` was checked above.
        unsafe { ptr::copy_nonoverlapping(s.as_ptr(), self.buf.add(self.len), s.len()) };
        self.len += s.len();
        Ok(())
    }
}

/// The `show` of attribute `A`.
///
/// # Safety
///
/// Called by sysfs with a `PAGE_SIZE` buffer.
unsafe extern "C" fn show_callback<A: Attribute>(
    kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut kernel::ffi::c_char,
) -> isize {
    let mut out = Show {
        buf: buf.cast(),
        len: 0,
        dir: kobj as usize,
    };
    match A::show(&mut out) {
        Ok(()) => out.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// The `store` of attribute `A`.
///
/// # Safety
///
/// Called by sysfs with `count` readable bytes at `buf`.
unsafe extern "C" fn store_callback<A: Attribute>(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *const kernel::ffi::c_char,
    count: usize,
) -> isize {
    // SAFETY: sysfs passes a buffer of `count` readable bytes.
    let bytes = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    let Ok(input) = core::str::from_utf8(bytes) else {
        return EINVAL.to_errno() as isize;
    };
    match A::store(input.trim()) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// The C description of one attribute; built by [`sysfs_group!`](crate::sysfs_group).
#[repr(transparent)]
pub struct AttrSlot(UnsafeCell<bindings::kobj_attribute>);

// SAFETY: sysfs only reads the attribute description; nothing writes it
// after it is built.
unsafe impl Sync for AttrSlot {}

impl AttrSlot {
    /// The description of attribute `A`.
    pub const fn new<A: Attribute>() -> Self {
        Self(UnsafeCell::new(bindings::kobj_attribute {
            attr: bindings::attribute {
                name: A::NAME.as_char_ptr(),
                mode: if A::WRITABLE { 0o644 } else { 0o444 },
            },
            show: Some(show_callback::<A>),
            store: if A::WRITABLE {
                Some(store_callback::<A>)
            } else {
                None
            },
        }))
    }
}

/// The NULL-terminated pointer array of a group; built by [`sysfs_group!`](crate::sysfs_group).
pub struct AttrPtrs<const M: usize>([*mut bindings::attribute; M]);

// SAFETY: the pointers point to `'static` [`AttrSlot`]s and are only read.
unsafe impl<const M: usize> Sync for AttrPtrs<M> {}

impl<const M: usize> AttrPtrs<M> {
    /// Pointers to `slots` and a NULL terminator; `M` must be `slots.len() + 1`.
    pub const fn new(slots: &'static [AttrSlot]) -> Self {
        assert!(slots.len() + 1 == M);
        let mut ptrs = [ptr::null_mut(); M];
        let mut i = 0;
        while i < slots.len() {
            // `attr` is the first field of the `repr(C)` `kobj_attribute`.
            ptrs[i] = slots[i].0.get().cast();
            i += 1;
        }
        Self(ptrs)
    }
}

/// A set of attributes created together in a directory.
pub struct Group(bindings::attribute_group);

// SAFETY: sysfs only reads the group; it points to `'static` data.
unsafe impl Sync for Group {}

impl Group {
    /// A group of the attributes in `ptrs`.
    pub const fn new<const M: usize>(ptrs: &'static AttrPtrs<M>) -> Self {
        // SAFETY: all-zero is a valid `attribute_group` (no name, no
        // callbacks, no attributes).
        let mut group: bindings::attribute_group = unsafe { core::mem::zeroed() };
        group.attrs = ptrs.0.as_ptr().cast_mut();
        Self(group)
    }
}

/// Declares a `static` [`Group`] of [`Attribute`] types.
///
/// ```ignore
/// cgl_core::sysfs_group!(static ATTRS = [RingSize, NextSeq]);
/// ```
#[macro_export]
macro_rules! sysfs_group {
    ($vis:vis static $name:ident = [$($attr:ty),+ $(,)?]) => {
        $vis static $name: $crate::sysfs::Group = {
            const N: usize = [$(stringify!($attr)),+].len();
            static SLOTS: [$crate::sysfs::AttrSlot; N] =
                [$($crate::sysfs::AttrSlot::new::<$attr>()),+];
            static PTRS: $crate::sysfs::AttrPtrs<{ N + 1 }> = $crate::sysfs::AttrPtrs::new(&SLOTS);
            $crate::sysfs::Group::new(&PTRS)
        };
    };
}

/// A directory in sysfs; removed, with its attributes, when dropped.
pub struct Dir(NonNull<bindings::kobject>);

// SAFETY: a kobject may be used and released from any thread.
unsafe impl Send for Dir {}
// SAFETY: the methods of `Dir` take the kobject's own locks.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates directory `name` in `parent` (`None`: `/sys/kernel/`).
    pub fn new(name: &CStr, parent: Option<&Dir>) -> Result<Self> {
        let parent = match parent {
            Some(d) => d.0.as_ptr(),
            // SAFETY: `kernel_kobj` is set up before any initcall and lives
            // for ever.
            None => unsafe { bindings::kernel_kobj },
        };
        // SAFETY: `name` is NUL-terminated and `parent` a live kobject.
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), parent) };
        NonNull::new(kobj).map(Self).ok_or(ENOMEM)
    }

    /// Identifies this directory to [`Show::dir_key`].
    pub fn key(&self) -> usize {
        self.0.as_ptr() as usize
    }

    /// Creates the attribute files of `group` in this directory.
    pub fn add_group(&self, group: &'static Group) -> Result {
        // SAFETY: the kobject is live while `self` is, and `group` is
        // `'static`.
        to_result(unsafe { bindings::sysfs_create_group(self.0.as_ptr(), &group.0) })
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: `self` holds the reference `kobject_create_and_add` gave.
        unsafe { bindings::kobject_put(self.0.as_ptr()) };
    }
}

/// Creates `/sys/kernel/cgl/<name>/` for a CGL module.
pub fn module_dir(name: &CStr) -> Result<Dir> {
    let root = crate::core_state().ok_or(ENODEV)?;
    Dir::new(name, Some(&root.sysfs_root))
}
