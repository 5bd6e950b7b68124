// SPDX-License-Identifier: GPL-2.0

//! The algorithm cores of the cgl kernel modules, compiled on the host.
//!
//! Each module here is the very file the kernel builds (pulled in with
//! `#[path]`), so host tests, fuzzers and benchmarks exercise the code
//! that runs in the kernel. The kernel builds them with
//! `-Wrust_2018_idioms`; so does this crate, so such warnings show here
//! first.
#![no_std]
#![warn(rust_2018_idioms)]

/// Event log ring arithmetic (`rust/cgl_core/ring.rs`).
#[path = "../../../../../rust/cgl_core/ring.rs"]
pub mod ring;

/// Heartbeat deadline scheduling (`drivers/cgl/heartbeat/deadline.rs`).
#[path = "../../../../../drivers/cgl/heartbeat/deadline.rs"]
pub mod deadline;

/// Longest-prefix match for the multi-FIB module (`net/cgl/fib/lpm.rs`).
#[path = "../../../../../net/cgl/fib/lpm.rs"]
pub mod lpm;

/// Route requests of the multi-FIB module as bytes: netlink attributes and
/// the ioctl struct (`net/cgl/fib/rtmsg.rs`).
#[path = "../../../../../net/cgl/fib/rtmsg.rs"]
pub mod rtmsg;

/// Packet formats of the multi-FIB forwarding path (`net/cgl/fib/pkt.rs`).
#[path = "../../../../../net/cgl/fib/pkt.rs"]
pub mod pkt;

/// ELF signature section of DigSig (`security/cgl_digsig/elfsig.rs`).
#[path = "../../../../../security/cgl_digsig/elfsig.rs"]
pub mod elfsig;

/// Neighbour table (ARP/NDP) of the multi-FIB module (`net/cgl/fib/neigh.rs`).
#[path = "../../../../../net/cgl/fib/neigh.rs"]
pub mod neigh;
