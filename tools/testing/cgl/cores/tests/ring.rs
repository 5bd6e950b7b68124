// SPDX-License-Identifier: GPL-2.0

//! The event ring index against a plain model: a deque of the newest
//! `capacity` sequence numbers.

use cgl_cores::ring::{RingError, RingIndex, MAX_CAPACITY};
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    Push,
    Resize(u32),
    Read(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => Just(Op::Push),
        1 => (1u32..40).prop_map(Op::Resize),
        3 => (0u64..300).prop_map(Op::Read),
    ]
}

proptest! {
    #[test]
    fn matches_model(cap in 1u32..40, ops in proptest::collection::vec(op(), 0..400)) {
        let mut ring = RingIndex::new(cap).unwrap();
        let mut model: VecDeque<u64> = VecDeque::new();
        let mut model_cap = cap as usize;
        let mut next = 1u64;
        let mut overwritten = 0u64;
        // slot -> seq stored there, as the kernel glue would keep it.
        let mut slots: Vec<Option<u64>> = vec![None; cap as usize];
        for op in ops {
            match op {
                Op::Push => {
                    let p = ring.push();
                    prop_assert_eq!(p.seq, next);
                    prop_assert_eq!(p.overwrote, model.len() == model_cap);
                    if model.len() == model_cap {
                        let old = model.pop_front().unwrap();
                        prop_assert_eq!(slots[p.slot], Some(old));
                        overwritten += 1;
                    }
                    slots[p.slot] = Some(p.seq);
                    model.push_back(next);
                    next += 1;
                }
                Op::Resize(n) => {
                    let old = ring.clone();
                    let keep = ring.resize(n).unwrap();
                    let mut new_slots = vec![None; n as usize];
                    for seq in keep..ring.next_seq() {
                        let from = old.slot(seq).unwrap();
                        new_slots[ring.slot(seq).unwrap()] = slots[from].take();
                    }
                    slots = new_slots;
                    while model.len() > n as usize {
                        model.pop_front();
                        overwritten += 1;
                    }
                    model_cap = n as usize;
                    prop_assert_eq!(keep, model.front().copied().unwrap_or(next));
                }
                Op::Read(from) => {
                    let r = ring.read_from(from);
                    let want = from.max(1);
                    let first = model.iter().copied().find(|&s| s >= want).unwrap_or(next);
                    prop_assert_eq!(r.first, first);
                    let oldest = model.front().copied().unwrap_or(next);
                    prop_assert_eq!(r.lost, oldest.saturating_sub(want).min(oldest.saturating_sub(1)));
                }
            }
            prop_assert_eq!(ring.len() as usize, model.len());
            prop_assert_eq!(ring.next_seq(), next);
            prop_assert_eq!(ring.overwritten(), overwritten);
            for &seq in &model {
                let slot = ring.slot(seq);
                prop_assert!(slot.is_some());
                prop_assert_eq!(slots[slot.unwrap()], Some(seq));
            }
            prop_assert_eq!(ring.slot(next), None);
            if let Some(&f) = model.front() {
                prop_assert_eq!(ring.slot(f - 1), None);
            }
        }
    }
}

#[test]
fn wraps_and_counts_loss() {
    let mut ring = RingIndex::new(16).unwrap();
    for _ in 0..100 {
        ring.push();
    }
    assert_eq!(ring.len(), 16);
    assert_eq!(ring.oldest_seq(), 85);
    assert_eq!(ring.overwritten(), 84);
    let r = ring.read_from(1);
    assert_eq!((r.first, r.lost), (85, 84));
    let r = ring.read_from(90);
    assert_eq!((r.first, r.lost), (90, 0));
    let r = ring.read_from(500);
    assert_eq!((r.first, r.lost), (101, 0));
}

#[test]
fn rejects_bad_capacity() {
    assert_eq!(RingIndex::new(0), Err(RingError::BadCapacity));
    assert_eq!(
        RingIndex::new(MAX_CAPACITY + 1),
        Err(RingError::BadCapacity)
    );
    let mut ring = RingIndex::new(4).unwrap();
    assert_eq!(ring.resize(0), Err(RingError::BadCapacity));
    assert_eq!(ring.capacity(), 4);
}
