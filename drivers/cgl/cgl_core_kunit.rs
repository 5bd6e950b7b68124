// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the CGL core: event ring wrap-around and loss
//! accounting, resizing, bad records, and the attribute policy of the
//! `cgl_core` netlink family as the kernel's validator enforces it.

use cgl_core::event::{EventRing, Severity};
use cgl_core::{genl, kunit_check, kunit_suite};
use kernel::prelude::*;

module! {
    type: CoreKunit,
    name: "cgl_core_kunit",
    author: "cgl developers",
    description: "KUnit tests of the CGL core",
    license: "GPL",
}

struct CoreKunit;

impl kernel::Module for CoreKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(CoreKunit)
    }
}

fn ring(capacity: u32) -> Option<Pin<KBox<EventRing>>> {
    KBox::pin_init(EventRing::new(capacity).ok()?, GFP_KERNEL).ok()
}

fn fill(r: &EventRing, n: u32) {
    for i in 0..n {
        let res = r.log(
            Severity::Info,
            "kunit",
            i,
            format_args!("record {}", i),
            &[],
        );
        kunit_check!(res.is_ok());
    }
}

/// Sequence numbers of every record from `from` on, and the loss the
/// first read reports.
fn read_all(r: &EventRing, from: u64) -> (KVec<u64>, u64) {
    let mut seqs = KVec::new();
    let mut lost_first = None;
    let mut next = from;
    while let Some(((seq, lost), n)) = r.read(next, |_| true, |rec, lost| (rec.seq, lost)) {
        lost_first.get_or_insert(lost);
        if seqs.push(seq, GFP_KERNEL).is_err() {
            break;
        }
        next = n;
    }
    (seqs, lost_first.unwrap_or(0))
}

fn ring_wraps_and_reports_loss() {
    let Some(r) = ring(16) else {
        kunit_check!(false);
        return;
    };
    fill(&r, 100);
    let s = r.stats();
    kunit_check!(s.capacity == 16 && s.records == 16);
    kunit_check!(s.next_seq == 101 && s.overwritten == 84);
    let (seqs, lost) = read_all(&r, 1);
    kunit_check!(lost == 84);
    kunit_check!(seqs.len() == 16);
    kunit_check!(seqs.iter().copied().eq(85..101));
    // A reader that kept up loses nothing.
    let (seqs, lost) = read_all(&r, 95);
    kunit_check!(lost == 0 && seqs.len() == 6);
}

fn resize_keeps_newest() {
    let Some(r) = ring(16) else {
        kunit_check!(false);
        return;
    };
    fill(&r, 20);
    kunit_check!(r.resize(8).is_ok());
    let s = r.stats();
    kunit_check!(s.capacity == 8 && s.records == 8 && s.overwritten == 12);
    let (seqs, lost) = read_all(&r, 1);
    kunit_check!(lost == 12 && seqs.iter().copied().eq(13..21));
    kunit_check!(r.resize(64).is_ok());
    fill(&r, 10);
    let (seqs, _) = read_all(&r, 13);
    kunit_check!(seqs.iter().copied().eq(13..31));
    kunit_check!(r.resize(0).is_err());
    kunit_check!(r.stats().capacity == 64);
}

fn bad_record_is_dropped() {
    let Some(r) = ring(16) else {
        kunit_check!(false);
        return;
    };
    let long = "this-subsystem-name-is-far-too-long";
    kunit_check!(r
        .log(Severity::Err, long, 1, format_args!("x"), &[])
        .is_err());
    kunit_check!(r.log(Severity::Err, "", 1, format_args!("x"), &[]).is_err());
    let big = [0u8; 1025];
    kunit_check!(r
        .log(Severity::Err, "kunit", 1, format_args!("x"), &big)
        .is_err());
    let s = r.stats();
    kunit_check!(s.records == 0 && s.dropped == 3 && s.next_seq == 1);
    // A long message is truncated, not refused.
    let text = [b'a'; 400];
    let text = core::str::from_utf8(&text).unwrap_or("");
    kunit_check!(r
        .log(Severity::Err, "kunit", 1, format_args!("{}", text), &[1, 2])
        .is_ok());
    let got = r.read(1, |_| true, |rec, _| (rec.msg().len(), rec.payload().len()));
    kunit_check!(got.map(|(v, _)| v) == Some((255, 2)));
}

/// One netlink attribute: header, payload, padding to 4 bytes.
fn attr(buf: &mut KVec<u8>, t: u16, payload: &[u8]) {
    let len = (4 + payload.len()) as u16;
    let ok = buf
        .extend_from_slice(&len.to_ne_bytes(), GFP_KERNEL)
        .is_ok()
        && buf.extend_from_slice(&t.to_ne_bytes(), GFP_KERNEL).is_ok()
        && buf.extend_from_slice(payload, GFP_KERNEL).is_ok()
        && buf
            .extend_with((4 - payload.len() % 4) % 4, 0, GFP_KERNEL)
            .is_ok();
    kunit_check!(ok);
}

const A_EVENT_SEVERITY: u16 = kernel::uapi::cgl_core_attr_CGL_A_EVENT_SEVERITY as u16;
const A_EVENT_MSG: u16 = kernel::uapi::cgl_core_attr_CGL_A_EVENT_MSG as u16;
const A_EVENT_SEQ: u16 = kernel::uapi::cgl_core_attr_CGL_A_EVENT_SEQ as u16;
const A_RING_SIZE: u16 = kernel::uapi::cgl_core_attr_CGL_A_CONFIG_RING_SIZE as u16;

fn check(
    build: impl FnOnce(&mut KVec<u8>),
) -> core::result::Result<(), (Error, Option<&'static CStr>)> {
    let mut buf = KVec::new();
    build(&mut buf);
    genl::validate(cgl_core::core_family_policy(), &buf)
}

fn policy_refuses_bad_attributes() {
    let good = check(|b| {
        attr(b, A_EVENT_SEVERITY, &[3]);
        attr(b, A_EVENT_MSG, b"hello\0");
        attr(b, A_RING_SIZE, &64u32.to_ne_bytes());
    });
    kunit_check!(good.is_ok());
    // Severity past debug.
    let r = check(|b| attr(b, A_EVENT_SEVERITY, &[8]));
    kunit_check!(matches!(r, Err((e, Some(_))) if e == ERANGE));
    // Ring size below the minimum and above the maximum.
    let r = check(|b| attr(b, A_RING_SIZE, &8u32.to_ne_bytes()));
    kunit_check!(matches!(r, Err((e, Some(_))) if e == ERANGE));
    let r = check(|b| attr(b, A_RING_SIZE, &100_000u32.to_ne_bytes()));
    kunit_check!(matches!(r, Err((e, Some(_))) if e == ERANGE));
    // Output-only attribute in a request.
    let r = check(|b| attr(b, A_EVENT_SEQ, &1u64.to_ne_bytes()));
    kunit_check!(r.is_err());
    // Unknown attribute type.
    let r = check(|b| attr(b, 200, &[0; 4]));
    kunit_check!(r.is_err());
    // Message longer than the limit, and a string without its NUL.
    let r = check(|b| attr(b, A_EVENT_MSG, &[b'x'; 300]));
    kunit_check!(r.is_err());
    let r = check(|b| attr(b, A_EVENT_MSG, b"abc"));
    kunit_check!(r.is_err());
    // Truncated attribute header.
    let r = check(|b| {
        kunit_check!(b.extend_from_slice(&[8, 0], GFP_KERNEL).is_ok());
    });
    kunit_check!(r.is_err());
}

kunit_suite!(
    "cgl_core",
    [
        ring_wraps_and_reports_loss,
        resize_keeps_newest,
        bad_record_is_dropped,
        policy_refuses_bad_attributes
    ]
);
