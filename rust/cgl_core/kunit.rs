// SPDX-License-Identifier: GPL-2.0

//! KUnit suites written in Rust.
//!
//! 6.12 runs Rust code under KUnit only as doctests of the `kernel` crate.
//! [`kunit_suite!`](crate::kunit_suite) declares an ordinary suite in a
//! module: the module loader finds it in `.kunit_test_suites` and KUnit
//! runs it at load, reporting KTAP in the kernel log. Test cases are plain
//! `fn()`s that check with [`kunit_check!`](crate::kunit_check).

use core::ptr;
use kernel::bindings;
use kernel::prelude::*;

/// A test case entry; built by [`kunit_suite!`](crate::kunit_suite).
pub const fn case(
    name: &'static CStr,
    run: unsafe extern "C" fn(*mut bindings::kunit),
) -> bindings::kunit_case {
    // SAFETY: all-zero is a valid `kunit_case` (the terminator).
    let mut c: bindings::kunit_case = unsafe { core::mem::zeroed() };
    c.run_case = Some(run);
    c.name = name.as_char_ptr();
    c
}

/// The zero entry that ends a case array.
pub const fn end() -> bindings::kunit_case {
    // SAFETY: all-zero is the terminator.
    unsafe { core::mem::zeroed() }
}

/// A suite named `name` over `cases`; built by [`kunit_suite!`](crate::kunit_suite).
pub const fn suite(name: &'static str, cases: *mut bindings::kunit_case) -> bindings::kunit_suite {
    // SAFETY: all-zero is a valid, empty suite.
    let mut s: bindings::kunit_suite = unsafe { core::mem::zeroed() };
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() && i + 1 < s.name.len() {
        s.name[i] = b[i] as _;
        i += 1;
    }
    s.test_cases = cases;
    s
}

/// The pointer KUnit finds in `.kunit_test_suites`.
#[repr(transparent)]
pub struct SuitePtr(pub *mut bindings::kunit_suite);

// SAFETY: only KUnit reads it, from the thread that loads the module.
unsafe impl Sync for SuitePtr {}

/// Marks the running test failed and says why; the test goes on.
pub fn fail(file: &str, line: u32, what: &str) {
    // SAFETY: returns the current test or NULL.
    let test = unsafe { bindings::kunit_get_current_test() };
    kernel::kunit::err(format_args!(
        "    # check failed at {}:{}: {}\n",
        file, line, what
    ));
    if !test.is_null() {
        // SAFETY: `test` is the running test; KUnit reads `status` after
        // the case returns (this is `kunit_set_failure()`).
        unsafe { ptr::write_volatile(&mut (*test).status, bindings::kunit_status_KUNIT_FAILURE) };
    }
}

/// Checks a condition in a KUnit case; a false one fails the case.
#[macro_export]
macro_rules! kunit_check {
    ($cond:expr) => {
        if !($cond) {
            $crate::kunit::fail(::core::file!(), ::core::line!(), ::core::stringify!($cond));
        }
    };
}

/// Declares a KUnit suite of plain `fn()` test cases.
///
/// ```ignore
/// cgl_core::kunit_suite!("cgl_core", [ring_wraps, loss_is_reported]);
/// ```
#[macro_export]
macro_rules! kunit_suite {
    ($name:literal, [$($case:ident),+ $(,)?]) => {
        #[doc(hidden)]
        mod __kunit_suite {
            use ::kernel::bindings;
            $(
                unsafe extern "C" fn $case(_test: *mut bindings::kunit) {
                    super::$case()
                }
            )+
            const N: usize = [$(stringify!($case)),+].len();
            static mut CASES: [bindings::kunit_case; N + 1] = [
                $($crate::kunit::case(::kernel::c_str!(stringify!($case)), $case),)+
                $crate::kunit::end(),
            ];
            static mut SUITE: bindings::kunit_suite =
                $crate::kunit::suite($name, ::core::ptr::addr_of_mut!(CASES).cast());
            #[used]
            #[link_section = ".kunit_test_suites"]
            static SUITES: $crate::kunit::SuitePtr = $crate::kunit::SuitePtr(::core::ptr::addr_of_mut!(SUITE));
        }
    };
}
