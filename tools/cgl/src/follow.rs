// SPDX-License-Identifier: GPL-2.0

//! `events follow`: a dump, then the multicast stream, with no record
//! missed or repeated in between.
//!
//! The follower joins the "events" group *before* it dumps, so every
//! record created after the dump started is also queued on the multicast
//! socket. [`Merger`] then drops what was already printed (`seq` below the
//! next expected) and spots gaps in the multicast sequence (the kernel
//! multicasts every record, in order, filters or not). A gap, or an
//! overrun of the socket's receive queue (`ENOBUFS`), triggers a re-dump
//! from the next expected sequence number; the kernel reports records
//! that were overwritten meanwhile as lost.
//!
//! Before each dump the follower reads the kernel's next sequence number
//! `K`: every record below `K` exists (or was overwritten) when the dump
//! starts, so the dump covers everything below `K` even where filters
//! leave holes in what it returns.

use std::time::Duration;

use crate::event::{Decoded, Filter, Item, Record};

/// Why following stopped early.
#[derive(Debug, PartialEq, Eq)]
pub enum Abort {
    /// A stop was asked for (count reached, signal, time-out, closed
    /// output): not an error.
    Stop,
    /// An error, as the text to print after `cgl-ctl: `.
    Fail(String),
}

impl From<crate::genl::Error> for Abort {
    fn from(e: crate::genl::Error) -> Self {
        Abort::Fail(e.to_string())
    }
}

/// What a multicast record means for the follower.
#[derive(Debug, PartialEq, Eq)]
pub enum Mcast {
    /// The next record: emit it (if it passes the filters).
    Emit(Record),
    /// Already seen (from the dump): drop it.
    Duplicate,
    /// Records from `from` on are missing: re-dump from there.
    Gap {
        /// First sequence number missing.
        from: u64,
    },
}

/// Merges dumps and multicast records into one ordered stream without
/// repeats. Pure: no I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merger {
    next: u64,
}

impl Merger {
    /// A merger whose first wanted sequence number is `next`.
    pub fn new(next: u64) -> Self {
        Merger { next }
    }

    /// The next sequence number wanted: where a dump must start.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// One message of a dump that started at [`Merger::next`]: the items
    /// to emit, a loss before its record. Records already seen are
    /// dropped (with their loss report, which concerns older records).
    pub fn dump(&mut self, d: Decoded) -> Vec<Item> {
        let mut out = Vec::new();
        match d.record {
            Some(r) if r.seq < self.next => {}
            Some(r) => {
                if let Some(n) = d.lost {
                    out.push(Item::Lost(n));
                }
                self.next = r.seq + 1;
                out.push(Item::Record(r));
            }
            None => {
                if let Some(n) = d.lost {
                    out.push(Item::Lost(n));
                }
            }
        }
        out
    }

    /// The dump ended; every record below `covered` (the kernel's next
    /// sequence number read before the dump) was in its range.
    pub fn dump_done(&mut self, covered: u64) {
        self.next = self.next.max(covered);
    }

    /// A record from the multicast group.
    pub fn mcast(&mut self, r: Record) -> Mcast {
        if r.seq < self.next {
            Mcast::Duplicate
        } else if r.seq == self.next {
            self.next += 1;
            Mcast::Emit(r)
        } else {
            Mcast::Gap { from: self.next }
        }
    }

    /// Gives up on records below `seq` (they are not to be had).
    pub fn skip_to(&mut self, seq: u64) {
        self.next = self.next.max(seq);
    }
}

/// What the multicast side delivered.
#[derive(Debug)]
pub enum Incoming {
    /// A record.
    Record(Record),
    /// The receive queue overran: records were lost on the way.
    Overrun,
    /// Nothing for now (time-out or signal): time to check for a stop.
    Idle,
}

/// The kernel side of following: real netlink, or a simulation in tests.
pub trait Source {
    /// The kernel's next sequence number (`CONFIG_GET`).
    fn next_seq(&mut self) -> Result<u64, Abort>;
    /// Dumps records from `from` (with the filters), handing each message
    /// to `f`; an error of `f` ends the dump.
    fn dump(
        &mut self,
        from: u64,
        f: &mut dyn FnMut(Decoded) -> Result<(), Abort>,
    ) -> Result<(), Abort>;
    /// The next multicast record, waiting a little.
    fn recv(&mut self) -> Result<Incoming, Abort>;
}

/// Where following starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Records from this sequence number on (dumped first).
    From(u64),
    /// Only records created from now on.
    New,
}

/// The follow loop: drives a [`Source`], emitting items to `out` until
/// `out` or `stop` says stop (`Ok`) or something fails.
pub struct Follower<'a> {
    merger: Merger,
    filter: &'a Filter,
}

impl<'a> Follower<'a> {
    /// Sets up: subscribing is the source's job and must already be done;
    /// this reads the kernel's next sequence number and, for
    /// [`Start::From`], dumps.
    pub fn start(
        src: &mut dyn Source,
        start: Start,
        filter: &'a Filter,
        out: &mut dyn FnMut(Item) -> Result<(), Abort>,
    ) -> Result<Self, Abort> {
        let mut f = match start {
            Start::New => Follower {
                merger: Merger::new(src.next_seq()?),
                filter,
            },
            Start::From(seq) => Follower {
                merger: Merger::new(seq),
                filter,
            },
        };
        if let Start::From(_) = start {
            f.resync(src, out)?;
        }
        Ok(f)
    }

    /// The next sequence number wanted.
    pub fn next(&self) -> u64 {
        self.merger.next()
    }

    fn emit(
        filter: &Filter,
        item: Item,
        out: &mut dyn FnMut(Item) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        match &item {
            Item::Record(r) if !filter.matches(r) => Ok(()),
            _ => out(item),
        }
    }

    /// Re-dumps from the next sequence number wanted.
    fn resync(
        &mut self,
        src: &mut dyn Source,
        out: &mut dyn FnMut(Item) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        let covered = src.next_seq()?;
        let from = self.merger.next();
        let merger = &mut self.merger;
        let filter = self.filter;
        src.dump(from, &mut |d| {
            for item in merger.dump(d) {
                Self::emit(filter, item, out)?;
            }
            Ok(())
        })?;
        self.merger.dump_done(covered);
        Ok(())
    }

    /// Handles one multicast record.
    pub fn on_record(
        &mut self,
        src: &mut dyn Source,
        r: Record,
        out: &mut dyn FnMut(Item) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        match self.merger.mcast(r.clone()) {
            Mcast::Duplicate => Ok(()),
            Mcast::Emit(r) => Self::emit(self.filter, Item::Record(r), out),
            Mcast::Gap { .. } => {
                self.resync(src, out)?;
                match self.merger.mcast(r.clone()) {
                    Mcast::Duplicate => Ok(()),
                    Mcast::Emit(r) => Self::emit(self.filter, Item::Record(r), out),
                    Mcast::Gap { .. } => {
                        // The dump did not cover a record that exists:
                        // the kernel's next sequence number went backwards
                        // (reloaded module). Take up from this record.
                        self.merger.skip_to(r.seq);
                        match self.merger.mcast(r) {
                            Mcast::Emit(r) => Self::emit(self.filter, Item::Record(r), out),
                            _ => Ok(()),
                        }
                    }
                }
            }
        }
    }

    /// Runs until `out` stops it, `stop()` says so, or an error.
    pub fn run(
        &mut self,
        src: &mut dyn Source,
        stop: &dyn Fn() -> bool,
        out: &mut dyn FnMut(Item) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        loop {
            if stop() {
                return Err(Abort::Stop);
            }
            match src.recv()? {
                Incoming::Idle => {}
                Incoming::Overrun => self.resync(src, out)?,
                Incoming::Record(r) => self.on_record(src, r, out)?,
            }
        }
    }
}

/// How long [`Source::recv`] of the real source waits before it reports
/// [`Incoming::Idle`], so that stops are noticed.
pub const POLL_SLICE: Duration = Duration::from_millis(200);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn rec(seq: u64) -> Record {
        Record {
            seq,
            mono_ns: seq,
            real_ns: seq,
            severity: (seq % 8) as u8,
            subsys: if seq.is_multiple_of(3) { "fib" } else { "wdt" }.into(),
            id: 0,
            msg: format!("r{seq}"),
            payload: None,
        }
    }

    fn d(seq: u64, lost: Option<u64>) -> Decoded {
        Decoded {
            lost,
            record: Some(rec(seq)),
        }
    }

    #[test]
    fn merger_dump_then_mcast_handover() {
        let mut m = Merger::new(5);
        assert_eq!(m.dump(d(5, None)), vec![Item::Record(rec(5))]);
        assert_eq!(m.dump(d(6, None)), vec![Item::Record(rec(6))]);
        m.dump_done(7);
        // Multicast of records the dump already gave.
        assert_eq!(m.mcast(rec(5)), Mcast::Duplicate);
        assert_eq!(m.mcast(rec(6)), Mcast::Duplicate);
        assert_eq!(m.mcast(rec(7)), Mcast::Emit(rec(7)));
        // A gap: 8 never came.
        assert_eq!(m.mcast(rec(9)), Mcast::Gap { from: 8 });
        assert_eq!(m.next(), 8);
        // The re-dump reports 8 lost and gives 9.
        assert_eq!(
            m.dump(d(9, Some(1))),
            vec![Item::Lost(1), Item::Record(rec(9))]
        );
        m.dump_done(10);
        assert_eq!(m.mcast(rec(9)), Mcast::Duplicate);
        assert_eq!(m.mcast(rec(10)), Mcast::Emit(rec(10)));
    }

    #[test]
    fn merger_filtered_dump_covers_holes() {
        // A filtered dump from 1 returned only 2; the kernel was at 6.
        let mut m = Merger::new(1);
        assert_eq!(m.dump(d(2, None)).len(), 1);
        m.dump_done(6);
        assert_eq!(m.next(), 6);
        for s in 1..6 {
            assert_eq!(m.mcast(rec(s)), Mcast::Duplicate);
        }
        assert_eq!(m.mcast(rec(6)), Mcast::Emit(rec(6)));
    }

    #[test]
    fn merger_drops_repeats_in_redump_and_lost_only_message() {
        let mut m = Merger::new(3);
        assert_eq!(m.dump(d(3, None)).len(), 1);
        // A re-dump overlapping what was printed, with a stale loss.
        assert_eq!(m.dump(d(3, Some(2))), vec![]);
        // Everything asked for is lost and nothing is left.
        assert_eq!(
            m.dump(Decoded {
                lost: Some(4),
                record: None
            }),
            vec![Item::Lost(4)]
        );
        m.skip_to(2);
        assert_eq!(m.next(), 4);
    }

    /// A simulated kernel: ring of `cap` records, multicast queue of
    /// `qcap` messages, records created at pseudo-random moments (also in
    /// the middle of a dump), multicasts that sometimes fail.
    struct Sim {
        ring: VecDeque<Record>,
        cap: usize,
        next: u64,
        queue: VecDeque<Record>,
        qcap: usize,
        overrun: bool,
        rng: u64,
        /// Per-mille chance that a multicast is not sent (gap).
        mcast_fail: u64,
        filter: Filter,
        dumps: usize,
    }

    impl Sim {
        fn new(seed: u64, cap: usize, qcap: usize, mcast_fail: u64, filter: Filter) -> Self {
            Sim {
                ring: VecDeque::new(),
                cap,
                next: 1,
                queue: VecDeque::new(),
                qcap,
                overrun: false,
                rng: seed | 1,
                mcast_fail,
                filter,
                dumps: 0,
            }
        }

        fn rand(&mut self, n: u64) -> u64 {
            // xorshift64
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            self.rng % n
        }

        fn log(&mut self) {
            let r = rec(self.next);
            self.next += 1;
            if self.ring.len() == self.cap {
                self.ring.pop_front();
            }
            self.ring.push_back(r.clone());
            if self.rand(1000) < self.mcast_fail {
                return;
            }
            if self.queue.len() == self.qcap {
                self.overrun = true;
            } else {
                self.queue.push_back(r);
            }
        }

        fn maybe_log(&mut self) {
            for _ in 0..self.rand(4) {
                self.log();
            }
        }
    }

    impl Source for Sim {
        fn next_seq(&mut self) -> Result<u64, Abort> {
            self.maybe_log();
            Ok(self.next)
        }

        fn dump(
            &mut self,
            from: u64,
            f: &mut dyn FnMut(Decoded) -> Result<(), Abort>,
        ) -> Result<(), Abort> {
            self.dumps += 1;
            let mut pos = from.max(1);
            loop {
                // Records keep coming while the dump runs, more slowly
                // than it reads (else it would never end).
                if self.rand(4) == 0 {
                    self.log();
                }
                // Like the kernel: the first record held at or after `pos`
                // that passes the filters, and the loss if `pos` is gone
                // (reported on any message: the ring may overwrite records
                // while the dump is under way).
                let oldest = self.ring.front().map_or(self.next, |r| r.seq);
                let start = pos.max(oldest);
                let lost = start - pos;
                let Some(r) = self
                    .ring
                    .iter()
                    .find(|r| r.seq >= start && self.filter.matches(r))
                    .cloned()
                else {
                    return Ok(());
                };
                f(Decoded {
                    lost: (lost > 0).then_some(lost),
                    record: Some(r.clone()),
                })?;
                pos = r.seq + 1;
            }
        }

        fn recv(&mut self) -> Result<Incoming, Abort> {
            self.maybe_log();
            if self.overrun {
                self.overrun = false;
                return Ok(Incoming::Overrun);
            }
            Ok(match self.queue.pop_front() {
                Some(r) => Incoming::Record(r),
                None => Incoming::Idle,
            })
        }
    }

    /// Follows `want` records and checks the stream: strictly increasing,
    /// every sequence number from the start either printed or counted as
    /// lost.
    fn check(seed: u64, cap: usize, qcap: usize, fail: u64, start: Start, filter: Filter) {
        let mut sim = Sim::new(seed, cap, qcap, fail, filter.clone());
        for _ in 0..(seed % 50) {
            sim.log();
        }
        let first = match start {
            Start::From(s) => s,
            Start::New => sim.next,
        };
        let want = 300;
        let mut items = Vec::new();
        let mut records = 0;
        let mut out = |i: Item| {
            if let Item::Record(_) = i {
                records += 1;
            }
            items.push(i);
            if records == want {
                Err(Abort::Stop)
            } else {
                Ok(())
            }
        };
        let res = Follower::start(&mut sim, start, &filter, &mut out)
            .and_then(|mut f| f.run(&mut sim, &|| false, &mut out));
        assert_eq!(res, Err(Abort::Stop));
        // With `Start::New`, records created while the follower set up
        // are not wanted: the stream starts wherever its first item is.
        let mut expect: Option<u64> = match start {
            Start::From(s) => Some(s.max(1)),
            Start::New => None,
        };
        let unfiltered = filter == Filter::default();
        for i in &items {
            match i {
                Item::Lost(n) => {
                    assert!(*n > 0);
                    if let (Some(e), true) = (expect.as_mut(), unfiltered) {
                        *e += n;
                    }
                }
                Item::Record(r) => {
                    assert!(filter.matches(r));
                    let e = expect.unwrap_or(r.seq);
                    if unfiltered {
                        assert_eq!(r.seq, e, "seed {seed}: missed or repeated");
                    } else {
                        assert!(r.seq >= e, "seed {seed}: repeat or reorder");
                    }
                    expect = Some(r.seq + 1);
                }
            }
        }
        if let Start::New = start {
            assert!(items.iter().all(|i| match i {
                Item::Record(r) => r.seq >= first,
                Item::Lost(_) => true,
            }));
        }
        if cap >= 100_000 && fail == 0 && qcap >= 100_000 {
            assert!(items.iter().all(|i| matches!(i, Item::Record(_))));
        }
    }

    #[test]
    fn follow_simulation_no_loss() {
        for seed in 1..40 {
            check(seed, 100_000, 100_000, 0, Start::From(1), Filter::default());
            check(seed, 100_000, 100_000, 0, Start::New, Filter::default());
        }
    }

    #[test]
    fn follow_simulation_gaps_and_overruns() {
        for seed in 1..40 {
            // Small queue: overruns; failed multicasts: gaps; small ring:
            // records overwritten before the re-dump reads them.
            check(seed, 16, 3, 50, Start::From(1), Filter::default());
            check(seed, 100_000, 2, 100, Start::New, Filter::default());
            check(seed, 8, 1, 300, Start::From(seed), Filter::default());
        }
    }

    #[test]
    fn follow_simulation_with_filters() {
        let f = Filter {
            severity: Some(4),
            subsys: Some("fib".into()),
        };
        for seed in 1..40 {
            check(seed, 100_000, 4, 100, Start::From(1), f.clone());
            check(seed, 100_000, 100_000, 0, Start::New, f.clone());
        }
    }

    #[test]
    fn follow_filtered_without_loss_prints_exactly_the_matching() {
        let f = Filter {
            severity: Some(5),
            subsys: None,
        };
        let mut sim = Sim::new(7, 100_000, 2, 200, f.clone());
        for _ in 0..30 {
            sim.log();
        }
        let mut got = Vec::new();
        let mut out = |i: Item| {
            if let Item::Record(r) = i {
                got.push(r.seq);
            } else {
                panic!("nothing is lost");
            }
            if got.len() == 200 {
                Err(Abort::Stop)
            } else {
                Ok(())
            }
        };
        let res = Follower::start(&mut sim, Start::From(1), &f, &mut out)
            .and_then(|mut fo| fo.run(&mut sim, &|| false, &mut out));
        assert_eq!(res, Err(Abort::Stop));
        let last = *got.last().unwrap();
        let want: Vec<u64> = (1..=last).filter(|&s| f.matches(&rec(s))).collect();
        assert_eq!(got, want);
        assert!(sim.dumps > 1, "the test should have exercised re-dumps");
    }
}
