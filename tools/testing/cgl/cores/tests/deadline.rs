// SPDX-License-Identifier: GPL-2.0

//! The heartbeat deadline heap against a plain model: a vector of entities
//! scanned linearly, with misses counted by stepping period by period.

use cgl_cores::deadline::{
    DeadlineError, Deadlines, EntityState, Handle, Miss, Slot, INDEX_BITS, MAX_CAPACITY,
    MAX_MISSES, MAX_PERIOD_NS, MIN_PERIOD_NS,
};
use proptest::prelude::*;
use std::collections::VecDeque;

const MS: u64 = 1_000_000;
const GEN_MAX: u32 = (1 << (32 - INDEX_BITS)) - 1;

fn queue(cap: usize) -> Deadlines<Vec<Slot>> {
    Deadlines::new(vec![Slot::EMPTY; cap]).unwrap()
}

#[derive(Debug, Clone)]
struct Ent {
    period: u64,
    max: u32,
    deadline: u64,
    misses: u32,
    dead: bool,
    last_beat: u64,
}

/// Entities by slot index; free slots reused oldest first.
struct Model {
    ents: Vec<Option<Ent>>,
    gens: Vec<u32>,
    free: VecDeque<usize>,
}

impl Model {
    fn new(cap: usize) -> Self {
        Self {
            ents: vec![None; cap],
            gens: vec![1; cap],
            free: (0..cap).collect(),
        }
    }

    fn handle(&self, i: usize) -> Handle {
        Handle::from_u32((self.gens[i] << INDEX_BITS) | i as u32)
    }

    fn find(&self, h: Handle) -> Option<usize> {
        let i = (0..self.ents.len()).find(|&i| self.ents[i].is_some() && self.handle(i) == h)?;
        Some(i)
    }

    fn register(&mut self, period: u64, max: u32, now: u64) -> Result<Handle, DeadlineError> {
        if period < MIN_PERIOD_NS {
            return Err(DeadlineError::PeriodTooShort);
        }
        if period > MAX_PERIOD_NS {
            return Err(DeadlineError::PeriodTooLong);
        }
        if max == 0 || max > MAX_MISSES {
            return Err(DeadlineError::BadMaxMisses);
        }
        let i = self.free.pop_front().ok_or(DeadlineError::Full)?;
        self.ents[i] = Some(Ent {
            period,
            max,
            deadline: now.saturating_add(period),
            misses: 0,
            dead: false,
            last_beat: now,
        });
        Ok(self.handle(i))
    }

    fn beat(&mut self, h: Handle, now: u64) -> Result<bool, DeadlineError> {
        let i = self.find(h).ok_or(DeadlineError::BadHandle)?;
        let e = self.ents[i].as_mut().unwrap();
        let was_dead = e.dead;
        e.deadline = now.saturating_add(e.period);
        e.misses = 0;
        e.dead = false;
        e.last_beat = now;
        Ok(was_dead)
    }

    fn unregister(&mut self, h: Handle) -> Result<(), DeadlineError> {
        let i = self.find(h).ok_or(DeadlineError::BadHandle)?;
        self.ents[i] = None;
        self.gens[i] = if self.gens[i] == GEN_MAX {
            1
        } else {
            self.gens[i] + 1
        };
        self.free.push_back(i);
        Ok(())
    }

    fn state(&self, h: Handle) -> Option<EntityState> {
        let e = self.ents[self.find(h)?].as_ref().unwrap();
        Some(EntityState {
            period_ns: e.period,
            max_misses: e.max,
            deadline: e.deadline,
            misses: e.misses,
            dead: e.dead,
            last_beat: e.last_beat,
        })
    }

    fn watched(&self) -> impl Iterator<Item = (usize, &Ent)> {
        self.ents
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().filter(|e| !e.dead).map(|e| (i, e)))
    }

    fn next_deadline(&self) -> Option<u64> {
        self.watched().map(|(_, e)| e.deadline).min()
    }

    fn expire(&mut self, now: u64, limit: usize) -> Vec<(Handle, Miss)> {
        // Deadlines that saturated to u64::MAX are never reached.
        let now = now.min(u64::MAX - 1);
        let mut due: Vec<(u64, usize)> = self
            .watched()
            .filter(|(_, e)| e.deadline <= now)
            .map(|(i, e)| (e.deadline, i))
            .collect();
        due.sort();
        due.truncate(limit);
        let mut out = Vec::new();
        for (_, i) in due {
            let h = self.handle(i);
            let e = self.ents[i].as_mut().unwrap();
            let d = e.deadline;
            let mut next = d;
            let mut count = 0u32;
            while next <= now {
                count += 1;
                next = next.saturating_add(e.period);
            }
            e.misses = e.misses.saturating_add(count);
            let dead = e.misses >= e.max;
            if dead {
                e.dead = true;
            } else {
                e.deadline = next;
            }
            out.push((
                h,
                Miss {
                    deadline: d,
                    misses: e.misses,
                    declared_dead: dead,
                    late_ns: now - d,
                },
            ));
        }
        out
    }
}

#[derive(Debug, Clone)]
enum Op {
    Register(u64, u32),
    Beat(usize),
    BeatRaw(u32),
    Unregister(usize),
    Advance(u64),
    ExpireAtMost(u64, usize),
}

fn period() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => MIN_PERIOD_NS..=30 * MS,
        6 => (1u64..=6).prop_map(|k| k * MS),
        1 => Just(MIN_PERIOD_NS),
        1 => Just(MAX_PERIOD_NS),
        1 => 0..MIN_PERIOD_NS,
        1 => MAX_PERIOD_NS + 1..=u64::MAX,
    ]
}

fn max_misses() -> impl Strategy<Value = u32> {
    prop_oneof![
        12 => 1u32..=4,
        1 => Just(MAX_MISSES),
        1 => Just(0u32),
        1 => MAX_MISSES + 1..=u32::MAX,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (period(), max_misses()).prop_map(|(p, m)| Op::Register(p, m)),
        6 => any::<usize>().prop_map(Op::Beat),
        1 => any::<u32>().prop_map(Op::BeatRaw),
        2 => any::<usize>().prop_map(Op::Unregister),
        5 => (0..40 * MS).prop_map(Op::Advance),
        1 => (2 * MS..2_000 * MS).prop_map(Op::Advance),
        2 => (0..40 * MS, 0usize..4).prop_map(|(t, l)| Op::ExpireAtMost(t, l)),
    ]
}

/// Few distinct periods and whole-millisecond steps: many equal deadlines,
/// whose order is the slot index.
fn tie_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => ((1u64..=3).prop_map(|k| k * MS), 1u32..=6).prop_map(|(p, m)| Op::Register(p, m)),
        3 => any::<usize>().prop_map(Op::Beat),
        3 => any::<usize>().prop_map(Op::Unregister),
        3 => (0u64..3).prop_map(|k| Op::Advance(k * MS)),
        1 => (0u64..3, 0usize..4).prop_map(|(k, l)| Op::ExpireAtMost(k * MS, l)),
    ]
}

fn start() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0..u64::MAX / 2,
        (0..3_000 * MS).prop_map(|d| u64::MAX - d),
    ]
}

fn check(q: &Deadlines<Vec<Slot>>, m: &Model, issued: &[Handle]) -> Result<(), TestCaseError> {
    prop_assert_eq!(q.next_deadline(), m.next_deadline());
    prop_assert_eq!(q.len(), m.ents.iter().flatten().count());
    prop_assert_eq!(q.is_empty(), m.ents.iter().all(Option::is_none));
    prop_assert_eq!(q.watched(), m.watched().count());
    for &h in issued {
        prop_assert_eq!(q.state(h), m.state(h));
    }
    for i in 0..=m.ents.len() {
        let want = m.ents.get(i).and_then(|e| e.as_ref()).map(|_| m.handle(i));
        prop_assert_eq!(q.handle_at(i), want);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matches_model(
        cap in 1usize..24,
        t0 in start(),
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        run(cap, t0, ops)?;
    }

    #[test]
    fn matches_model_with_ties(
        cap in 1usize..40,
        ops in proptest::collection::vec(tie_op(), 0..300),
    ) {
        run(cap, 0, ops)?;
    }
}

fn run(cap: usize, t0: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    {
        let mut q = queue(cap);
        let mut m = Model::new(cap);
        prop_assert_eq!(q.capacity(), cap);
        let mut now = t0;
        let mut issued: Vec<Handle> = Vec::new();
        for op in ops {
            match op {
                Op::Register(p, max) => {
                    let got = q.register(p, max, now);
                    prop_assert_eq!(got, m.register(p, max, now));
                    if let Ok(h) = got {
                        prop_assert_ne!(h.to_u32(), 0);
                        prop_assert!(h.index() < cap);
                        prop_assert!(!issued.contains(&h));
                        issued.push(h);
                    }
                }
                Op::Beat(sel) | Op::Unregister(sel) if issued.is_empty() => {
                    let h = Handle::from_u32(sel as u32);
                    prop_assert_eq!(q.beat(h, now), m.beat(h, now));
                }
                Op::Beat(sel) => {
                    let h = issued[sel % issued.len()];
                    prop_assert_eq!(q.beat(h, now), m.beat(h, now));
                }
                Op::BeatRaw(raw) => {
                    let h = Handle::from_u32(raw);
                    prop_assert_eq!(Handle::from_u32(h.to_u32()), h);
                    prop_assert_eq!(q.beat(h, now), m.beat(h, now));
                }
                Op::Unregister(sel) => {
                    let h = issued[sel % issued.len()];
                    prop_assert_eq!(q.unregister(h), m.unregister(h));
                }
                Op::Advance(dt) => {
                    now = now.saturating_add(dt);
                    let mut got = Vec::new();
                    let n = q.expire(now, |h, miss| got.push((h, miss)));
                    prop_assert_eq!(n, got.len());
                    prop_assert_eq!(got, m.expire(now, usize::MAX));
                    if let Some(d) = q.next_deadline() {
                        prop_assert!(d > now || now == u64::MAX);
                    }
                }
                Op::ExpireAtMost(dt, limit) => {
                    now = now.saturating_add(dt);
                    let mut got = Vec::new();
                    let n = q.expire_at_most(now, limit, |h, miss| got.push((h, miss)));
                    prop_assert!(n <= limit);
                    prop_assert_eq!(n, got.len());
                    prop_assert_eq!(got, m.expire(now, limit));
                }
            }
            check(&q, &m, &issued)?;
        }
    }
    Ok(())
}

fn states(q: &Deadlines<Vec<Slot>>, hs: &[Handle]) -> Vec<Option<EntityState>> {
    hs.iter().map(|&h| q.state(h)).collect()
}

#[test]
fn bad_capacity() {
    let empty: &mut [Slot] = &mut [];
    assert_eq!(
        Deadlines::new(empty).unwrap_err(),
        DeadlineError::BadCapacity
    );
    assert_eq!(
        Deadlines::new(vec![Slot::EMPTY; MAX_CAPACITY + 1]).unwrap_err(),
        DeadlineError::BadCapacity
    );
    let mut slots = [Slot::EMPTY; 4];
    let q = Deadlines::new(&mut slots[..]).unwrap();
    assert_eq!(q.capacity(), 4);
    assert!(q.is_empty());
    assert_eq!(q.next_deadline(), None);
}

#[test]
fn stale_handle_after_reuse_rejected() {
    let mut q = queue(1);
    let old = q.register(10 * MS, 3, 0).unwrap();
    q.unregister(old).unwrap();
    let new = q.register(20 * MS, 3, 5).unwrap();
    assert_eq!(old.index(), new.index());
    assert_ne!(old, new);
    assert_eq!(q.beat(old, 6), Err(DeadlineError::BadHandle));
    assert_eq!(q.unregister(old), Err(DeadlineError::BadHandle));
    assert_eq!(q.state(old), None);
    assert_eq!(q.state(new).unwrap().deadline, 5 + 20 * MS);
    assert_eq!(q.beat(new, 7), Ok(false));
    assert_eq!(q.unregister(new), Ok(()));
    assert_eq!(q.unregister(new), Err(DeadlineError::BadHandle));
    assert_eq!(
        q.beat(Handle::from_u32(0), 0),
        Err(DeadlineError::BadHandle)
    );
    assert_eq!(
        q.beat(Handle::from_u32(u32::MAX), 0),
        Err(DeadlineError::BadHandle)
    );
}

#[test]
fn generation_wraps_past_zero() {
    let mut q = queue(1);
    let first = q.register(MS, 1, 0).unwrap();
    q.unregister(first).unwrap();
    let mut seen = 1;
    loop {
        let h = q.register(MS, 1, 0).unwrap();
        assert_ne!(h.to_u32(), 0);
        assert_eq!(h.index(), 0);
        q.unregister(h).unwrap();
        seen += 1;
        if h == first {
            break;
        }
    }
    // Every non-zero generation is used once before the first comes back.
    assert_eq!(seen, GEN_MAX + 1);
}

#[test]
fn bad_parameters_rejected() {
    let mut q = queue(8);
    for p in [0, 1, MIN_PERIOD_NS - 1] {
        assert_eq!(q.register(p, 3, 0), Err(DeadlineError::PeriodTooShort));
    }
    for p in [MAX_PERIOD_NS + 1, u64::MAX] {
        assert_eq!(q.register(p, 3, 0), Err(DeadlineError::PeriodTooLong));
    }
    for max in [0, MAX_MISSES + 1, u32::MAX] {
        assert_eq!(q.register(MS, max, 0), Err(DeadlineError::BadMaxMisses));
    }
    assert!(q.is_empty());
    assert_eq!(q.next_deadline(), None);
    q.register(MIN_PERIOD_NS, 1, 0).unwrap();
    q.register(MAX_PERIOD_NS, MAX_MISSES, 0).unwrap();
    assert_eq!(q.len(), 2);
}

#[test]
fn full_table_rejected_and_unchanged() {
    let mut q = queue(3);
    let hs: Vec<Handle> = (0..3)
        .map(|i| q.register((i + 1) * MS, 2, 100).unwrap())
        .collect();
    let before = states(&q, &hs);
    let next = q.next_deadline();
    assert_eq!(q.register(5 * MS, 2, 200), Err(DeadlineError::Full));
    assert_eq!(states(&q, &hs), before);
    assert_eq!(q.next_deadline(), next);
    assert_eq!(q.len(), 3);
    q.unregister(hs[1]).unwrap();
    let h = q.register(5 * MS, 2, 200).unwrap();
    assert_eq!(h.index(), hs[1].index());
    assert_eq!(q.register(5 * MS, 2, 200), Err(DeadlineError::Full));
}

#[test]
fn dead_entity_parked_then_revived() {
    let mut q = queue(2);
    let h = q.register(10 * MS, 3, 0).unwrap();
    let mut got = Vec::new();
    for t in [10, 20, 30] {
        q.expire(t * MS, |h, m| got.push((h, m)));
    }
    let misses: Vec<(u32, bool)> = got
        .iter()
        .map(|(_, m)| (m.misses, m.declared_dead))
        .collect();
    assert_eq!(misses, [(1, false), (2, false), (3, true)]);
    assert!(got.iter().all(|&(g, m)| g == h && m.late_ns == 0));
    assert_eq!(q.next_deadline(), None);
    assert_eq!(q.watched(), 0);
    assert_eq!(
        q.expire(10_000 * MS, |_, _| panic!("parked entity reported")),
        0
    );
    let s = q.state(h).unwrap();
    assert!(s.dead);
    assert_eq!((s.misses, s.deadline, s.last_beat), (3, 30 * MS, 0));

    assert_eq!(q.beat(h, 10_001 * MS), Ok(true));
    let s = q.state(h).unwrap();
    assert!(!s.dead);
    assert_eq!((s.misses, s.deadline), (0, 10_011 * MS));
    assert_eq!(q.next_deadline(), Some(10_011 * MS));
    assert_eq!(q.beat(h, 10_002 * MS), Ok(false));
    // Dead entities can be unregistered.
    q.expire(20_000 * MS, |_, _| {});
    assert!(q.state(h).unwrap().dead);
    q.unregister(h).unwrap();
    assert!(q.is_empty());
}

#[test]
fn deadline_is_exact_and_late_timer_counts_every_period() {
    let mut q = queue(1);
    let h = q.register(10 * MS, 10, 1_000).unwrap();
    let due = 1_000 + 10 * MS;
    assert_eq!(q.expire(due - 1, |_, _| {}), 0);
    // A beat just in time moves the deadline.
    q.beat(h, due - 1).unwrap();
    assert_eq!(q.expire(due, |_, _| {}), 0);
    let due = due - 1 + 10 * MS;
    let mut got = Vec::new();
    // Timer 2.5 periods late: three missed beats in one report.
    q.expire(due + 25 * MS, |_, m| got.push(m));
    assert_eq!(
        got,
        [Miss {
            deadline: due,
            misses: 3,
            declared_dead: false,
            late_ns: 25 * MS
        }]
    );
    assert_eq!(q.next_deadline(), Some(due + 30 * MS));
}

#[test]
fn deadlines_saturate_near_end_of_time() {
    let mut q = queue(2);
    let h = q.register(MS, 1, u64::MAX - 10).unwrap();
    assert_eq!(q.state(h).unwrap().deadline, u64::MAX);
    assert_eq!(q.expire(u64::MAX, |_, _| {}), 0);
    let g = q.register(MS, 5, u64::MAX - MS - 1).unwrap();
    let mut got = Vec::new();
    q.expire(u64::MAX, |h, m| got.push((h, m)));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, g);
    assert_eq!(got[0].1.misses, 1);
    assert_eq!(q.next_deadline(), Some(u64::MAX));
}

#[test]
fn expire_at_most_bounds_work() {
    let mut q = queue(10);
    for _ in 0..10 {
        q.register(MS, 5, 0).unwrap();
    }
    assert_eq!(q.expire_at_most(MS, 4, |_, _| {}), 4);
    assert_eq!(q.next_deadline(), Some(MS));
    assert_eq!(q.expire_at_most(MS, 0, |_, _| {}), 0);
    assert_eq!(q.expire_at_most(MS, 100, |_, _| {}), 6);
    assert_eq!(q.next_deadline(), Some(2 * MS));
}

#[test]
fn many_entities_expire_in_deadline_order() {
    const N: usize = 10_000;
    let mut q = queue(N);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let hs: Vec<Handle> = (0..N)
        .map(|i| {
            let p = MIN_PERIOD_NS + rand() % (1_000 * MS);
            q.register(p, 2, i as u64).unwrap()
        })
        .collect();
    assert_eq!(q.register(MS, 1, 0), Err(DeadlineError::Full));
    // Beat half of them at random times.
    for _ in 0..N / 2 {
        let h = hs[rand() as usize % N];
        q.beat(h, rand() % (100 * MS)).unwrap();
    }
    let now = 500 * MS;
    let want = hs
        .iter()
        .filter(|&&h| q.state(h).unwrap().deadline <= now)
        .count();
    let mut got: Vec<(u64, usize)> = Vec::new();
    let mut dead = vec![0u32; N];
    q.expire(now, |h, m| {
        got.push((m.deadline, h.index()));
        dead[h.index()] += u32::from(m.declared_dead);
    });
    assert_eq!(got.len(), want);
    assert!(want > N / 4);
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    assert!(q.next_deadline().unwrap() > now);
    // Everything eventually dies, exactly once each.
    for t in 1..=40 {
        q.expire(now + t * 100 * MS, |h, m| {
            if m.declared_dead {
                dead[h.index()] += 1;
            }
        });
    }
    assert!(dead.iter().all(|&d| d == 1));
    assert_eq!(q.next_deadline(), None);
    assert_eq!(q.len(), N);
    for h in hs {
        q.unregister(h).unwrap();
    }
    assert!(q.is_empty());
}
