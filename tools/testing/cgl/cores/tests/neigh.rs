// SPDX-License-Identifier: GPL-2.0

//! The multi-FIB neighbour table: state machine timings (probe pacing,
//! failure, failed hold, reachable -> stale -> freed, permanent entries),
//! per-FIB limits against capacity, isolation of FIBs sharing addresses,
//! key checks, resumable walks; and random operation sequences against a
//! reference model kept in a `Vec`.

use cgl_cores::neigh::{
    Added, Confirm, Entry, Event, FibCount, Key, NeighError, Resolve, State, Table, FAILED_HOLD_MS,
    GC_STALE_MS, MAX_PROBES, REACHABLE_MS, RETRANS_MS,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

type T = Table<Vec<Entry>, Vec<FibCount>>;

fn table(cap: usize, fibs: usize, limit: u32) -> T {
    Table::new(
        vec![Entry::EMPTY; cap],
        vec![FibCount::EMPTY; fibs],
        limit,
        0x5eed_1234_abcd_0001,
    )
}

fn v4(fib: u32, a: [u8; 4]) -> Key {
    Key::v4(fib, a)
}

fn v6(fib: u32, last: u8) -> Key {
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = last;
    Key::v6(fib, a, 0)
}

fn ll(fib: u32, ifindex: u32) -> Key {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[15] = 1;
    Key::v6(fib, a, ifindex)
}

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];

fn events(t: &mut T, now: u64) -> Vec<Event> {
    let mut v = Vec::new();
    t.tick(now, |e| v.push(e));
    v
}

fn queue_idx(r: Result<Resolve, NeighError>) -> u32 {
    match r {
        Ok(Resolve::Queue { idx, probe: true }) => idx,
        other => panic!("expected a probing Queue, got {other:?}"),
    }
}

#[test]
fn probe_pacing_and_failure_under_traffic() {
    let mut t = table(8, 4, 8);
    let k = v4(1, [10, 0, 0, 1]);
    let idx = queue_idx(t.resolve(&k, 2, 0));
    let q = |probe| Ok(Resolve::Queue { idx, probe });
    assert_eq!(t.resolve(&k, 2, 1), q(false));
    assert_eq!(t.resolve(&k, 2, RETRANS_MS - 1), q(false));
    assert_eq!(t.resolve(&k, 2, RETRANS_MS), q(true));
    assert_eq!(t.resolve(&k, 2, RETRANS_MS + 999), q(false));
    assert_eq!(t.resolve(&k, 2, 2 * RETRANS_MS), q(true));
    assert_eq!(t.get(&k).unwrap().1.probes, MAX_PROBES);
    // The third probe was the last: no more, however long traffic goes on.
    assert_eq!(t.resolve(&k, 2, 3 * RETRANS_MS - 1), q(false));
    assert_eq!(events(&mut t, 3 * RETRANS_MS - 1), vec![]);
    assert_eq!(t.resolve(&k, 2, 10 * RETRANS_MS), q(false));
    assert_eq!(
        events(&mut t, 10 * RETRANS_MS),
        vec![Event::Failed {
            idx,
            key: k,
            ifindex: 2
        }]
    );
    assert_eq!(t.get(&k).unwrap().1.state, State::Failed);
}

#[test]
fn tick_probes_incomplete_without_traffic() {
    let mut t = table(8, 4, 8);
    let k = v6(3, 9);
    let idx = queue_idx(t.resolve(&k, 5, 100));
    assert_eq!(events(&mut t, 100 + RETRANS_MS - 1), vec![]);
    let probe = Event::Probe {
        idx,
        key: k,
        ifindex: 5,
    };
    assert_eq!(events(&mut t, 100 + RETRANS_MS), vec![probe]);
    assert_eq!(events(&mut t, 100 + RETRANS_MS + 500), vec![]);
    assert_eq!(events(&mut t, 100 + 2 * RETRANS_MS), vec![probe]);
    assert_eq!(t.get(&k).unwrap().1.probes, MAX_PROBES);
    assert_eq!(events(&mut t, 100 + 3 * RETRANS_MS - 1), vec![]);
    assert_eq!(
        events(&mut t, 100 + 3 * RETRANS_MS),
        vec![Event::Failed {
            idx,
            key: k,
            ifindex: 5
        }]
    );
}

#[test]
fn failed_hold_then_retry_or_free() {
    let mut t = table(8, 4, 8);
    let k = v4(0, [192, 168, 1, 1]);
    let idx = queue_idx(t.resolve(&k, 1, 0));
    events(&mut t, RETRANS_MS);
    events(&mut t, 2 * RETRANS_MS);
    let failed_at = 3 * RETRANS_MS;
    assert_eq!(events(&mut t, failed_at).len(), 1);
    // Held: no resolution attempt, no probe, for FAILED_HOLD_MS.
    assert_eq!(t.resolve(&k, 1, failed_at), Ok(Resolve::Unreachable));
    assert_eq!(
        t.resolve(&k, 1, failed_at + FAILED_HOLD_MS - 1),
        Ok(Resolve::Unreachable)
    );
    assert_eq!(events(&mut t, failed_at + FAILED_HOLD_MS - 1), vec![]);
    // After the hold a packet restarts resolution on the same index.
    assert_eq!(
        t.resolve(&k, 1, failed_at + FAILED_HOLD_MS),
        Ok(Resolve::Queue { idx, probe: true })
    );
    let e = t.get(&k).unwrap().1;
    assert_eq!((e.state, e.probes), (State::Incomplete, 1));

    // Without traffic the failed entry is freed after the hold.
    let k2 = v4(0, [192, 168, 1, 2]);
    let i2 = queue_idx(t.resolve(&k2, 1, 0));
    let mut now = 0;
    for _ in 0..3 {
        now += RETRANS_MS;
        t.tick(now, |_| {});
    }
    assert_eq!(t.get(&k2).unwrap().1.state, State::Failed);
    let c = t.count(0);
    let freed = Event::Freed {
        idx: i2,
        key: k2,
        ifindex: 1,
    };
    assert!(!events(&mut t, now + FAILED_HOLD_MS - 1).contains(&freed));
    assert!(events(&mut t, now + FAILED_HOLD_MS).contains(&freed));
    assert_eq!(t.get(&k2), None);
    assert_eq!(t.count(0), c - 1);
}

#[test]
fn reachable_stale_probe_and_gc() {
    let mut t = table(8, 4, 8);
    let k = v4(4, [10, 1, 2, 3]);
    let idx = queue_idx(t.resolve(&k, 3, 0));
    assert_eq!(
        t.confirm(&k, MAC_A, 3, 10, false),
        Confirm::Resolved { idx }
    );
    let e = *t.get(&k).unwrap().1;
    assert_eq!((e.state, e.mac, e.probes), (State::Reachable, MAC_A, 0));
    assert_eq!(t.resolve(&k, 3, 20), Ok(Resolve::Use { mac: MAC_A }));
    assert_eq!(events(&mut t, 10 + REACHABLE_MS - 1), vec![]);
    assert_eq!(t.get(&k).unwrap().1.state, State::Reachable);
    assert_eq!(events(&mut t, 10 + REACHABLE_MS), vec![]);
    assert_eq!(t.get(&k).unwrap().1.state, State::Stale);
    // Stale forwards, asking for a refresh at most once per RETRANS_MS.
    let s = 10 + REACHABLE_MS + 5;
    let use_probe = Ok(Resolve::UseAndProbe { idx, mac: MAC_A });
    assert_eq!(t.resolve(&k, 3, s), use_probe);
    assert_eq!(t.resolve(&k, 3, s + 1), Ok(Resolve::Use { mac: MAC_A }));
    assert_eq!(
        t.resolve(&k, 3, s + RETRANS_MS - 1),
        Ok(Resolve::Use { mac: MAC_A })
    );
    assert_eq!(t.resolve(&k, 3, s + RETRANS_MS), use_probe);
    // An answer makes it reachable again, with a new address.
    assert_eq!(
        t.confirm(&k, MAC_B, 3, s + RETRANS_MS + 1, false),
        Confirm::Updated { idx }
    );
    assert_eq!(
        t.resolve(&k, 3, s + RETRANS_MS + 2),
        Ok(Resolve::Use { mac: MAC_B })
    );
    let last_use = s + RETRANS_MS + 2;
    // Unused: stale after REACHABLE_MS, freed GC_STALE_MS after last use.
    let stale_at = s + RETRANS_MS + 1 + REACHABLE_MS;
    assert_eq!(events(&mut t, stale_at), vec![]);
    assert_eq!(t.get(&k).unwrap().1.state, State::Stale);
    assert_eq!(events(&mut t, last_use + GC_STALE_MS - 1), vec![]);
    assert_eq!(
        events(&mut t, last_use + GC_STALE_MS),
        vec![Event::Freed {
            idx,
            key: k,
            ifindex: 3
        }]
    );
    assert!(t.is_empty());
    assert_eq!(t.count(4), 0);
}

#[test]
fn resolve_turns_expired_reachable_stale_without_tick() {
    let mut t = table(4, 2, 4);
    let k = v4(1, [10, 0, 0, 7]);
    let idx = queue_idx(t.resolve(&k, 1, 0));
    t.confirm(&k, MAC_A, 1, 0, false);
    assert_eq!(
        t.resolve(&k, 1, REACHABLE_MS - 1),
        Ok(Resolve::Use { mac: MAC_A })
    );
    assert_eq!(
        t.resolve(&k, 1, REACHABLE_MS),
        Ok(Resolve::UseAndProbe { idx, mac: MAC_A })
    );
    assert_eq!(t.get(&k).unwrap().1.state, State::Stale);
}

#[test]
fn unanswered_stale_probes_fail() {
    let mut t = table(4, 2, 4);
    let k = v4(1, [10, 0, 0, 8]);
    let idx = match t.confirm(&k, MAC_A, 1, 0, true) {
        Confirm::Created { idx } => idx,
        c => panic!("{c:?}"),
    };
    assert_eq!(t.get(&k).unwrap().1.state, State::Stale);
    let mut now = 0;
    for _ in 0..MAX_PROBES {
        assert_eq!(
            t.resolve(&k, 1, now),
            Ok(Resolve::UseAndProbe { idx, mac: MAC_A })
        );
        assert_eq!(events(&mut t, now), vec![]);
        now += RETRANS_MS;
    }
    // Probes exhausted: still forwarding until the tick gives up.
    assert_eq!(t.resolve(&k, 1, now - 1), Ok(Resolve::Use { mac: MAC_A }));
    assert_eq!(events(&mut t, now - 1), vec![]);
    assert_eq!(
        events(&mut t, now),
        vec![Event::Failed {
            idx,
            key: k,
            ifindex: 1
        }]
    );
    assert_eq!(t.resolve(&k, 1, now), Ok(Resolve::Unreachable));
}

#[test]
fn permanent_is_never_aged_or_learned_over() {
    let mut t = table(4, 2, 4);
    let k = v4(2, [10, 9, 9, 9]);
    let idx = match t.add_permanent(&k, MAC_A, 4, 0) {
        Ok(Added::New { idx }) => idx,
        r => panic!("{r:?}"),
    };
    assert_eq!(t.add_permanent(&k, MAC_B, 4, 0), Err(NeighError::Exists));
    for now in [0, REACHABLE_MS, GC_STALE_MS * 10, u64::MAX] {
        assert_eq!(events(&mut t, now), vec![]);
        assert_eq!(t.resolve(&k, 4, now), Ok(Resolve::Use { mac: MAC_A }));
    }
    // Even routed out of another interface, the admin's entry stands.
    assert_eq!(t.resolve(&k, 9, 5), Ok(Resolve::Use { mac: MAC_A }));
    assert_eq!(t.confirm(&k, MAC_B, 4, 7, true), Confirm::Ignored);
    let e = t.get(&k).unwrap().1;
    assert_eq!((e.state, e.mac, e.ifindex), (State::Permanent, MAC_A, 4));
    assert_eq!(t.count(2), 1);
    assert_eq!(t.delete(&k).map(|(i, e)| (i, e.mac)), Ok((idx, MAC_A)));
    assert_eq!(t.delete(&k), Err(NeighError::NotFound));
    assert_eq!(t.count(2), 0);
}

#[test]
fn permanent_replaces_dynamic_in_place() {
    let mut t = table(4, 2, 4);
    let k = v6(0, 1);
    let idx = queue_idx(t.resolve(&k, 1, 0));
    assert_eq!(
        t.add_permanent(&k, MAC_B, 1, 5),
        Ok(Added::Replaced {
            idx,
            was_incomplete: true
        })
    );
    assert_eq!(t.resolve(&k, 1, 6), Ok(Resolve::Use { mac: MAC_B }));
    let k2 = v6(0, 2);
    t.confirm(&k2, MAC_A, 1, 0, true);
    let i2 = t.get(&k2).unwrap().0;
    assert_eq!(
        t.add_permanent(&k2, MAC_B, 1, 5),
        Ok(Added::Replaced {
            idx: i2,
            was_incomplete: false
        })
    );
    assert_eq!((t.len(), t.count(0)), (2, 2));
}

#[test]
fn permanent_changes_in_place_under_a_lowered_limit() {
    let mut t = table(4, 2, 4);
    let k = v4(1, [10, 1, 0, 50]);
    let idx = match t.add_permanent(&k, MAC_A, 3, 0) {
        Ok(Added::New { idx }) => idx,
        r => panic!("{r:?}"),
    };
    // The FIB's limit drops below its count; the entry is still changed,
    // in its slot, and nothing else is counted.
    t.set_limit(1, Some(0)).unwrap();
    assert_eq!(t.set_permanent(&k, MAC_B, 4, 7), Ok(()));
    let (i, e) = t.get(&k).unwrap();
    assert_eq!(
        (i, e.mac, e.ifindex, e.state),
        (idx, MAC_B, 4, State::Permanent)
    );
    assert_eq!((t.len(), t.count(1)), (1, 1));
    assert_eq!(t.resolve(&k, 4, 8), Ok(Resolve::Use { mac: MAC_B }));
    // Only a permanent entry is changed so; a missing or dynamic one is
    // NotFound, unchanged.
    let k2 = v4(1, [10, 1, 0, 51]);
    assert_eq!(t.set_permanent(&k2, MAC_B, 4, 9), Err(NeighError::NotFound));
    let k3 = v4(0, [10, 1, 0, 52]);
    t.confirm(&k3, MAC_A, 1, 0, true);
    assert_eq!(t.set_permanent(&k3, MAC_B, 4, 9), Err(NeighError::NotFound));
    assert_eq!(t.get(&k3).unwrap().1.mac, MAC_A);
    assert_eq!(t.get(&k2), None);
}

#[test]
fn limit_per_fib_versus_full() {
    let mut t = table(5, 8, 2);
    let a = |fib, n| v4(fib, [10, 0, 0, n]);
    assert!(t.resolve(&a(1, 1), 1, 0).is_ok());
    assert!(t.resolve(&a(1, 2), 1, 0).is_ok());
    assert_eq!(t.resolve(&a(1, 3), 1, 0), Err(NeighError::LimitFib));
    assert_eq!(
        t.confirm(&a(1, 3), MAC_A, 1, 0, true),
        Confirm::Limit(NeighError::LimitFib)
    );
    assert_eq!(
        t.add_permanent(&a(1, 3), MAC_A, 1, 0),
        Err(NeighError::LimitFib)
    );
    // Another FIB has its own budget, until the table runs out.
    assert!(t.resolve(&a(2, 1), 1, 0).is_ok());
    assert!(t.resolve(&a(2, 2), 1, 0).is_ok());
    assert_eq!(t.set_limit(3, Some(10)), Ok(()));
    assert_eq!(t.limit(3), 10);
    assert!(t.resolve(&a(3, 1), 1, 0).is_ok());
    assert_eq!(t.len(), 5);
    assert_eq!(t.resolve(&a(3, 2), 1, 0), Err(NeighError::Full));
    assert_eq!(
        t.confirm(&a(3, 2), MAC_A, 1, 0, true),
        Confirm::Limit(NeighError::Full)
    );
    // The FIB limit is reported before capacity.
    assert_eq!(t.resolve(&a(1, 3), 1, 0), Err(NeighError::LimitFib));
    // Raising a limit and freeing an entry lets FIB 1 grow.
    t.set_limit(1, Some(3)).unwrap();
    assert_eq!(t.resolve(&a(1, 3), 1, 0), Err(NeighError::Full));
    t.delete(&a(2, 1)).unwrap();
    assert!(t.resolve(&a(1, 3), 1, 0).is_ok());
    assert_eq!((t.count(1), t.count(2), t.count(3)), (3, 1, 1));
    // Lowering below the count keeps entries, refuses new ones.
    t.set_limit(1, Some(1)).unwrap();
    assert_eq!(t.count(1), 3);
    t.delete(&a(1, 1)).unwrap();
    assert_eq!(t.resolve(&a(1, 1), 1, 0), Err(NeighError::LimitFib));
    t.set_limit(1, None).unwrap();
    assert_eq!(t.limit(1), 2);
    assert_eq!(t.resolve(&a(1, 1), 1, 0), Err(NeighError::LimitFib));
    // A limit of zero refuses everything.
    t.set_limit(7, Some(0)).unwrap();
    assert_eq!(t.resolve(&a(7, 1), 1, 0), Err(NeighError::LimitFib));
}

#[test]
fn fib_slots_full() {
    let mut t = table(16, 2, 4);
    assert!(t.resolve(&v4(10, [1, 1, 1, 1]), 1, 0).is_ok());
    assert!(t.resolve(&v4(11, [1, 1, 1, 1]), 1, 0).is_ok());
    assert_eq!(
        t.resolve(&v4(12, [1, 1, 1, 1]), 1, 0),
        Err(NeighError::Full)
    );
    assert_eq!(t.set_limit(12, Some(3)), Err(NeighError::Full));
    assert_eq!(t.limit(12), 4);
    // Existing FIBs keep growing; clearing an unknown FIB's limit is fine.
    assert!(t.resolve(&v4(10, [1, 1, 1, 2]), 1, 0).is_ok());
    assert_eq!(t.set_limit(12, None), Ok(()));
    // A FIB whose last entry goes frees its slot.
    t.delete(&v4(11, [1, 1, 1, 1])).unwrap();
    assert!(t.resolve(&v4(12, [1, 1, 1, 1]), 1, 0).is_ok());
    assert_eq!((t.count(10), t.count(11), t.count(12)), (2, 0, 1));
}

#[test]
fn fibs_with_the_same_address_are_isolated() {
    let mut t = table(8, 4, 8);
    let addr = [10, 0, 0, 1];
    let (k1, k2) = (v4(1, addr), v4(2, addr));
    let i1 = queue_idx(t.resolve(&k1, 1, 0));
    let i2 = queue_idx(t.resolve(&k2, 2, 0));
    assert_ne!(i1, i2);
    assert_eq!(
        t.confirm(&k1, MAC_A, 1, 1, false),
        Confirm::Resolved { idx: i1 }
    );
    assert_eq!(t.resolve(&k1, 1, 2), Ok(Resolve::Use { mac: MAC_A }));
    assert_eq!(
        t.resolve(&k2, 2, 2),
        Ok(Resolve::Queue {
            idx: i2,
            probe: false
        })
    );
    // A FIB without an entry learns nothing from another's reply.
    let k3 = v4(3, addr);
    assert_eq!(t.confirm(&k3, MAC_B, 3, 3, false), Confirm::Ignored);
    assert_eq!(t.get(&k3), None);
    assert_eq!(
        t.confirm(&k2, MAC_B, 2, 3, false),
        Confirm::Resolved { idx: i2 }
    );
    assert_eq!(t.resolve(&k1, 1, 4), Ok(Resolve::Use { mac: MAC_A }));
    assert_eq!(t.resolve(&k2, 2, 4), Ok(Resolve::Use { mac: MAC_B }));
    assert_eq!(t.iter_fib(1).map(|(i, _)| i).collect::<Vec<_>>(), vec![i1]);
    // Deleting FIB 1 leaves FIB 2 alone.
    let mut gone = Vec::new();
    let n = t.delete_where(|e| e.key.fib == 1, |i, e| gone.push((i, e.key)));
    assert_eq!((n, gone), (1, vec![(i1, k1)]));
    assert_eq!(t.get(&k1), None);
    assert_eq!(t.get(&k2).map(|(i, e)| (i, e.mac)), Some((i2, MAC_B)));
    assert_eq!((t.count(1), t.count(2), t.len()), (0, 1, 1));
}

#[test]
fn link_local_is_per_interface() {
    let mut t = table(8, 4, 8);
    let (a, b) = (ll(0, 1), ll(0, 2));
    assert_ne!(a, b);
    let ia = queue_idx(t.resolve(&a, 1, 0));
    let ib = queue_idx(t.resolve(&b, 2, 0));
    assert_ne!(ia, ib);
    t.confirm(&a, MAC_A, 1, 0, false);
    t.confirm(&b, MAC_B, 2, 0, false);
    assert_eq!(t.resolve(&a, 1, 1), Ok(Resolve::Use { mac: MAC_A }));
    assert_eq!(t.resolve(&b, 2, 1), Ok(Resolve::Use { mac: MAC_B }));
    // Interface unbind.
    let n = t.delete_where(|e| e.ifindex == 2, |_, _| {});
    assert_eq!(n, 1);
    assert!(t.get(&a).is_some() && t.get(&b).is_none());
    // A global address gets no zone, whatever the interface.
    let g = Key::v6(0, v6(0, 1).addr, 7);
    assert_eq!((g.zone, g.check()), (0, Ok(())));
    assert_eq!(ll(0, 7).zone, 7);
}

#[test]
fn route_moving_interface_restarts_resolution() {
    let mut t = table(8, 4, 8);
    let k = v4(0, [10, 0, 0, 1]);
    let idx = queue_idx(t.resolve(&k, 1, 0));
    t.confirm(&k, MAC_A, 1, 1, false);
    assert_eq!(t.resolve(&k, 2, 2), Ok(Resolve::Queue { idx, probe: true }));
    let e = t.get(&k).unwrap().1;
    assert_eq!((e.state, e.ifindex, e.mac), (State::Incomplete, 2, [0; 6]));
    assert_eq!(t.confirm(&k, MAC_B, 2, 3, false), Confirm::Resolved { idx });
}

#[test]
fn bad_keys_are_refused() {
    let mut t = table(8, 4, 8);
    let mut tail = Key::v4(0, [10, 0, 0, 1]);
    tail.addr[9] = 1;
    let mut v6mc = [0u8; 16];
    v6mc[0] = 0xff;
    v6mc[1] = 0x02;
    v6mc[15] = 1;
    let mut llz = ll(0, 1);
    llz.zone = 0;
    let mut gz = v6(0, 1);
    gz.zone = 3;
    let mut v4z = v4(0, [10, 0, 0, 1]);
    v4z.zone = 1;
    let bad = [
        v4(0, [0, 0, 0, 0]),
        v4(0, [224, 0, 0, 1]),
        v4(0, [239, 255, 255, 250]),
        v4(0, [255, 255, 255, 255]),
        tail,
        Key::v6(0, [0; 16], 1),
        Key::v6(0, v6mc, 1),
        llz,
        gz,
        v4z,
    ];
    for k in bad {
        assert_eq!(k.check(), Err(NeighError::BadKey), "{k:?}");
        assert_eq!(t.resolve(&k, 1, 0), Err(NeighError::BadKey));
        assert_eq!(t.add_permanent(&k, MAC_A, 1, 0), Err(NeighError::BadKey));
        assert_eq!(t.confirm(&k, MAC_A, 1, 0, true), Confirm::Ignored);
        assert_eq!(t.delete(&k), Err(NeighError::NotFound));
    }
    assert!(t.is_empty());
    for k in [
        v4(0, [223, 255, 255, 255]),
        v4(0, [240, 0, 0, 1]),
        v4(0, [0, 0, 0, 1]),
        v6(0, 1),
        ll(0, 4),
    ] {
        assert_eq!(k.check(), Ok(()), "{k:?}");
    }
}

#[test]
fn confirm_creates_stale_only_when_asked() {
    let mut t = table(4, 2, 4);
    let k = v4(0, [10, 0, 0, 3]);
    assert_eq!(t.confirm(&k, MAC_A, 1, 0, false), Confirm::Ignored);
    assert!(t.is_empty());
    let idx = match t.confirm(&k, MAC_A, 1, 0, true) {
        Confirm::Created { idx } => idx,
        c => panic!("{c:?}"),
    };
    let e = *t.get(&k).unwrap().1;
    assert_eq!((e.state, e.mac, e.ifindex), (State::Stale, MAC_A, 1));
    assert_eq!(t.confirm(&k, MAC_B, 1, 1, true), Confirm::Updated { idx });
    assert_eq!(t.get(&k).unwrap().1.state, State::Reachable);
}

#[test]
fn walk_resumes_and_indices_are_reused_late() {
    let mut t = table(10, 4, 10);
    let keys: Vec<Key> = (1..=10).map(|n| v4(0, [10, 0, 0, n])).collect();
    let idx: Vec<u32> = keys.iter().map(|k| queue_idx(t.resolve(k, 1, 0))).collect();
    let set: BTreeSet<u32> = idx.iter().copied().collect();
    assert_eq!(set, (0..10).collect());
    for k in keys.iter().step_by(2) {
        t.delete(k).unwrap();
    }
    // A dump that takes at most two entries per message.
    let mut got = Vec::new();
    let mut cursor = Some(0);
    for _ in 0..10 {
        let Some(start) = cursor else { break };
        let mut room = 2;
        cursor = t.walk_from(start, |i, e| {
            if room == 0 {
                return false;
            }
            room -= 1;
            got.push((i, e.key));
            true
        });
    }
    assert_eq!(cursor, None);
    let want: Vec<(u32, Key)> = t.iter().map(|(i, e)| (i, e.key)).collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 5);
    assert_eq!(t.walk_from(1000, |_, _| false), None);
    // Freed indices come back oldest first.
    let n = queue_idx(t.resolve(&v4(0, [10, 0, 1, 1]), 1, 0));
    assert_eq!(n, idx[0]);
}

#[test]
fn tick_part_covers_the_table_in_pieces() {
    let mut t = table(10, 4, 10);
    for n in 1..=10 {
        queue_idx(t.resolve(&v4(0, [10, 0, 0, n]), 1, 0));
    }
    let mut probes = 0;
    let mut start = 0;
    for _ in 0..4 {
        start = t.tick_part(RETRANS_MS, start, 3, |e| {
            assert!(matches!(e, Event::Probe { .. }));
            probes += 1;
        });
        if start == 0 {
            break;
        }
    }
    assert_eq!((start, probes), (0, 10));
    assert_eq!(t.tick_part(RETRANS_MS, 99, 3, |_| panic!()), 0);
}

#[test]
fn empty_storage_and_backwards_clock() {
    let mut t = table(0, 0, 10);
    let k = v4(0, [10, 0, 0, 1]);
    assert_eq!(t.resolve(&k, 1, 0), Err(NeighError::Full));
    assert_eq!(
        t.confirm(&k, MAC_A, 1, 0, true),
        Confirm::Limit(NeighError::Full)
    );
    assert_eq!(t.set_limit(1, Some(1)), Err(NeighError::Full));
    assert_eq!(t.capacity(), 0);
    t.tick(5, |_| panic!());
    let mut t = table(2, 0, 10);
    assert_eq!(t.resolve(&k, 1, 0), Err(NeighError::Full));

    let mut t = table(4, 4, 4);
    let idx = queue_idx(t.resolve(&k, 1, 5_000));
    // Time running backwards reads as no time passing.
    assert_eq!(
        t.resolve(&k, 1, 10),
        Ok(Resolve::Queue { idx, probe: false })
    );
    assert_eq!(events(&mut t, 0), vec![]);
    assert_eq!(
        t.resolve(&k, 1, u64::MAX),
        Ok(Resolve::Queue { idx, probe: true })
    );
}

#[test]
fn many_entries_against_a_map() {
    // Heavy chaining: capacity == buckets, filled to the brim, churned.
    let cap = 2000;
    let mut t = table(cap, 64, u32::MAX);
    let mut live: BTreeMap<Key, u32> = BTreeMap::new();
    let mut x: u64 = 0x1234_5678;
    for round in 0..40_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let fib = (x % 7) as u32;
        let n = ((x >> 8) % 600) as u16;
        let k = v4(fib, [10, 1, (n >> 8) as u8, n as u8 | 1]);
        if (x >> 40).is_multiple_of(3) {
            assert_eq!(t.delete(&k).ok().map(|(i, _)| i), live.remove(&k));
        } else {
            match t.resolve(&k, 1, u64::from(round)) {
                Ok(Resolve::Queue { idx, .. }) => {
                    if let Some(&i) = live.get(&k) {
                        assert_eq!(i, idx);
                    } else {
                        assert!(!live.values().any(|&i| i == idx));
                        live.insert(k, idx);
                    }
                }
                Err(NeighError::Full) => assert_eq!(live.len(), cap),
                r => panic!("{r:?}"),
            }
        }
    }
    assert_eq!(t.len() as usize, live.len());
    for (k, i) in &live {
        assert_eq!(t.get(k).map(|(j, _)| j), Some(*i));
    }
    for f in 0..7 {
        assert_eq!(
            t.count(f) as usize,
            live.keys().filter(|k| k.fib == f).count()
        );
    }
}

// ---- The model ----

/// What a live entry shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Vis {
    key: Key,
    mac: [u8; 6],
    ifindex: u32,
    state: State,
    probes: u8,
    updated_ms: u64,
    last_probe_ms: u64,
    used_ms: u64,
}

fn vis(e: &Entry) -> Vis {
    Vis {
        key: e.key,
        mac: e.mac,
        ifindex: e.ifindex,
        state: e.state,
        probes: e.probes,
        updated_ms: e.updated_ms,
        last_probe_ms: e.last_probe_ms,
        used_ms: e.used_ms,
    }
}

/// Index of an entry the model just created; the table picks the real one.
const NEW: u32 = u32::MAX;

#[derive(Debug)]
struct Model {
    cap: usize,
    fib_slots: usize,
    default_limit: u32,
    limits: BTreeMap<u32, u32>,
    ents: Vec<(u32, Vis)>,
}

fn valid(k: &Key) -> bool {
    let a = k.addr;
    if k.v6 {
        let ll = a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
        a != [0; 16] && a[0] != 0xff && ll == (k.zone != 0)
    } else {
        a[4..].iter().all(|&b| b == 0)
            && k.zone == 0
            && a[..4] != [0; 4]
            && a[..4] != [255; 4]
            && !(224..240).contains(&a[0])
    }
}

fn since(now: u64, then: u64) -> u64 {
    now.saturating_sub(then)
}

impl Model {
    fn pos(&self, k: &Key) -> Option<usize> {
        self.ents.iter().position(|(_, v)| v.key == *k)
    }

    fn count(&self, fib: u32) -> u32 {
        self.ents.iter().filter(|(_, v)| v.key.fib == fib).count() as u32
    }

    fn limit(&self, fib: u32) -> u32 {
        *self.limits.get(&fib).unwrap_or(&self.default_limit)
    }

    fn holds_slot(&self, fib: u32) -> bool {
        self.count(fib) > 0 || self.limits.contains_key(&fib)
    }

    fn slots_used(&self) -> usize {
        let mut f: BTreeSet<u32> = self.limits.keys().copied().collect();
        f.extend(self.ents.iter().map(|(_, v)| v.key.fib));
        f.len()
    }

    fn can_create(&self, fib: u32) -> Result<(), NeighError> {
        if self.count(fib) >= self.limit(fib) {
            return Err(NeighError::LimitFib);
        }
        if self.ents.len() >= self.cap {
            return Err(NeighError::Full);
        }
        if !self.holds_slot(fib) && self.slots_used() >= self.fib_slots {
            return Err(NeighError::Full);
        }
        Ok(())
    }

    fn start(v: &mut Vis, ifindex: u32, now: u64) {
        v.state = State::Incomplete;
        v.mac = [0; 6];
        v.ifindex = ifindex;
        v.updated_ms = now;
        v.used_ms = now;
        v.probes = 1;
        v.last_probe_ms = now;
    }

    fn fresh(key: Key) -> Vis {
        Vis {
            key,
            mac: [0; 6],
            ifindex: 0,
            state: State::Incomplete,
            probes: 0,
            updated_ms: 0,
            last_probe_ms: 0,
            used_ms: 0,
        }
    }

    fn resolve(&mut self, key: &Key, ifx: u32, now: u64) -> Result<Resolve, NeighError> {
        if !valid(key) {
            return Err(NeighError::BadKey);
        }
        let Some(p) = self.pos(key) else {
            self.can_create(key.fib)?;
            let mut v = Self::fresh(*key);
            Self::start(&mut v, ifx, now);
            self.ents.push((NEW, v));
            return Ok(Resolve::Queue {
                idx: NEW,
                probe: true,
            });
        };
        let (idx, v) = &mut self.ents[p];
        let idx = *idx;
        if v.state == State::Permanent {
            v.used_ms = now;
            return Ok(Resolve::Use { mac: v.mac });
        }
        if v.ifindex != ifx {
            Self::start(v, ifx, now);
            return Ok(Resolve::Queue { idx, probe: true });
        }
        if v.state == State::Reachable && since(now, v.updated_ms) >= REACHABLE_MS {
            v.state = State::Stale;
            v.probes = 0;
        }
        Ok(match v.state {
            State::Incomplete => {
                v.used_ms = now;
                let probe = v.probes < MAX_PROBES && since(now, v.last_probe_ms) >= RETRANS_MS;
                if probe {
                    v.probes += 1;
                    v.last_probe_ms = now;
                }
                Resolve::Queue { idx, probe }
            }
            State::Stale => {
                v.used_ms = now;
                if v.probes < MAX_PROBES
                    && (v.probes == 0 || since(now, v.last_probe_ms) >= RETRANS_MS)
                {
                    v.probes += 1;
                    v.last_probe_ms = now;
                    Resolve::UseAndProbe { idx, mac: v.mac }
                } else {
                    Resolve::Use { mac: v.mac }
                }
            }
            State::Failed if since(now, v.updated_ms) < FAILED_HOLD_MS => Resolve::Unreachable,
            State::Failed => {
                Self::start(v, ifx, now);
                Resolve::Queue { idx, probe: true }
            }
            State::Reachable | State::Permanent => {
                v.used_ms = now;
                Resolve::Use { mac: v.mac }
            }
        })
    }

    fn confirm(&mut self, key: &Key, mac: [u8; 6], ifx: u32, now: u64, create: bool) -> Confirm {
        if !valid(key) {
            return Confirm::Ignored;
        }
        if let Some(p) = self.pos(key) {
            let (idx, v) = &mut self.ents[p];
            let was = v.state;
            if was == State::Permanent {
                return Confirm::Ignored;
            }
            v.state = State::Reachable;
            v.mac = mac;
            v.ifindex = ifx;
            v.updated_ms = now;
            v.probes = 0;
            return if was == State::Incomplete {
                Confirm::Resolved { idx: *idx }
            } else {
                Confirm::Updated { idx: *idx }
            };
        }
        if !create {
            return Confirm::Ignored;
        }
        if let Err(e) = self.can_create(key.fib) {
            return Confirm::Limit(e);
        }
        let mut v = Self::fresh(*key);
        v.state = State::Stale;
        v.mac = mac;
        v.ifindex = ifx;
        v.updated_ms = now;
        v.used_ms = now;
        self.ents.push((NEW, v));
        Confirm::Created { idx: NEW }
    }

    fn add_permanent(
        &mut self,
        key: &Key,
        mac: [u8; 6],
        ifx: u32,
        now: u64,
    ) -> Result<Added, NeighError> {
        if !valid(key) {
            return Err(NeighError::BadKey);
        }
        let (p, added) = match self.pos(key) {
            Some(p) => {
                let (idx, v) = self.ents[p];
                if v.state == State::Permanent {
                    return Err(NeighError::Exists);
                }
                (
                    p,
                    Added::Replaced {
                        idx,
                        was_incomplete: v.state == State::Incomplete,
                    },
                )
            }
            None => {
                self.can_create(key.fib)?;
                self.ents.push((NEW, Self::fresh(*key)));
                (self.ents.len() - 1, Added::New { idx: NEW })
            }
        };
        let v = &mut self.ents[p].1;
        v.state = State::Permanent;
        v.mac = mac;
        v.ifindex = ifx;
        v.updated_ms = now;
        v.used_ms = now;
        v.probes = 0;
        Ok(added)
    }

    /// The events of a tick over indices `start..end`, in index order.
    fn tick(&mut self, now: u64, start: u32, end: u32) -> Vec<Event> {
        let mut ev = Vec::new();
        let mut keep = Vec::new();
        for (idx, mut v) in std::mem::take(&mut self.ents) {
            if idx < start || idx >= end {
                keep.push((idx, v));
                continue;
            }
            let (key, ifindex) = (v.key, v.ifindex);
            if v.state == State::Reachable && since(now, v.updated_ms) >= REACHABLE_MS {
                v.state = State::Stale;
                v.probes = 0;
            }
            let due = since(now, v.last_probe_ms) >= RETRANS_MS;
            let mut free = false;
            match v.state {
                State::Incomplete if due && v.probes < MAX_PROBES => {
                    v.probes += 1;
                    v.last_probe_ms = now;
                    ev.push(Event::Probe { idx, key, ifindex });
                }
                State::Incomplete | State::Stale if due && v.probes >= MAX_PROBES => {
                    v.state = State::Failed;
                    v.updated_ms = now;
                    ev.push(Event::Failed { idx, key, ifindex });
                }
                State::Stale if since(now, v.used_ms) >= GC_STALE_MS => free = true,
                State::Failed if since(now, v.updated_ms) >= FAILED_HOLD_MS => free = true,
                _ => {}
            }
            if free {
                ev.push(Event::Freed { idx, key, ifindex });
            } else {
                keep.push((idx, v));
            }
        }
        self.ents = keep;
        ev.sort_by_key(|e| match e {
            Event::Probe { idx, .. } | Event::Failed { idx, .. } | Event::Freed { idx, .. } => *idx,
        });
        ev
    }

    /// Gives the entry created last (index [`NEW`]) the table's index.
    fn adopt(&mut self, idx: u32) {
        assert!((idx as usize) < self.cap, "index {idx} beyond capacity");
        assert!(
            !self.ents.iter().any(|(i, _)| *i == idx),
            "index {idx} reused while live"
        );
        let e = self.ents.iter_mut().find(|(i, _)| *i == NEW).unwrap();
        e.0 = idx;
    }
}

fn fix_idx(r: &mut u32, model: &mut Model, got: u32) {
    if *r == NEW {
        model.adopt(got);
        *r = got;
    }
}

#[derive(Debug, Clone, Copy)]
struct KeySel {
    fib: usize,
    addr: usize,
    zone: u32,
}

const FIBS: [u32; 4] = [0, 1, 7, u32::MAX];

const ADDRS: [(bool, [u8; 16]); 5] = [
    (false, [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    (false, [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    (
        true,
        [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ),
    (true, [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    // Bad: multicast.
    (false, [224, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
];

impl KeySel {
    fn key(self) -> Key {
        let (is6, a) = ADDRS[self.addr];
        let fib = FIBS[self.fib];
        if is6 {
            Key::v6(fib, a, self.zone)
        } else {
            Key::v4(fib, [a[0], a[1], a[2], a[3]])
        }
    }
}

/// Every key the operations can make.
fn universe() -> Vec<Key> {
    let mut v = Vec::new();
    for fib in 0..FIBS.len() {
        for addr in 0..ADDRS.len() {
            for zone in 1..=3 {
                v.push(KeySel { fib, addr, zone }.key());
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

#[derive(Debug, Clone)]
enum Op {
    Resolve(KeySel, u32),
    Confirm(KeySel, u8, u32, bool),
    AddPerm(KeySel, u8, u32),
    Delete(KeySel),
    DeleteFib(usize),
    DeleteIf(u32),
    SetLimit(usize, Option<u32>),
    Tick,
    TickPart(u32),
    Advance(u64),
    Rewind(u64),
}

fn key_sel() -> impl Strategy<Value = KeySel> {
    (0..FIBS.len(), 0..ADDRS.len(), 1u32..=3).prop_map(|(fib, addr, zone)| KeySel {
        fib,
        addr,
        zone,
    })
}

fn op() -> impl Strategy<Value = Op> {
    let ifx = 1u32..=3;
    prop_oneof![
        8 => (key_sel(), ifx.clone()).prop_map(|(k, i)| Op::Resolve(k, i)),
        5 => (key_sel(), 0u8..3, ifx.clone(), any::<bool>())
            .prop_map(|(k, m, i, c)| Op::Confirm(k, m, i, c)),
        1 => (key_sel(), 0u8..3, ifx.clone()).prop_map(|(k, m, i)| Op::AddPerm(k, m, i)),
        2 => key_sel().prop_map(Op::Delete),
        1 => (0..FIBS.len()).prop_map(Op::DeleteFib),
        1 => ifx.prop_map(Op::DeleteIf),
        1 => (0..FIBS.len(), proptest::option::of(0u32..5)).prop_map(|(f, l)| Op::SetLimit(f, l)),
        3 => Just(Op::Tick),
        1 => (1u32..5).prop_map(Op::TickPart),
        6 => prop_oneof![
            0u64..1_500,
            Just(RETRANS_MS),
            Just(REACHABLE_MS),
            Just(FAILED_HOLD_MS),
            Just(GC_STALE_MS),
        ]
        .prop_map(Op::Advance),
        1 => (0u64..3_000).prop_map(Op::Rewind),
    ]
}

fn check(t: &T, m: &Model, universe: &[Key]) {
    assert_eq!(t.len() as usize, m.ents.len());
    let mut want: Vec<(u32, Vis)> = m.ents.clone();
    want.sort_by_key(|(i, _)| *i);
    let got: Vec<(u32, Vis)> = t.iter().map(|(i, e)| (i, vis(e))).collect();
    assert_eq!(got, want);
    for (i, v) in &want {
        let (j, e) = t.get(&v.key).expect("live key not found");
        assert_eq!((j, vis(e)), (*i, *v));
        assert_eq!(t.entry(*i).map(vis), Some(*v));
    }
    for k in universe {
        if m.pos(k).is_none() {
            assert_eq!(t.get(k), None, "{k:?}");
        }
    }
    for &f in &FIBS {
        assert_eq!(t.count(f), m.count(f), "count of FIB {f}");
        assert_eq!(t.limit(f), m.limit(f), "limit of FIB {f}");
        assert_eq!(
            t.iter_fib(f).count(),
            want.iter().filter(|(_, v)| v.key.fib == f).count()
        );
    }
    // A dump in pieces of one entry sees the same.
    let mut dumped = Vec::new();
    let mut cursor = Some(0);
    for _ in 0..=t.len() {
        let Some(s) = cursor else { break };
        let mut took = false;
        cursor = t.walk_from(s, |i, e| {
            if took {
                return false;
            }
            took = true;
            dumped.push((i, vis(e)));
            true
        });
    }
    assert_eq!(cursor, None);
    assert_eq!(dumped, want);
}

fn run(cap: usize, fib_slots: usize, limit: u32, seed: u64, t0: u64, ops: Vec<Op>) {
    let mut t: T = Table::new(
        vec![Entry::EMPTY; cap],
        vec![FibCount::EMPTY; fib_slots],
        limit,
        seed,
    );
    let mut m = Model {
        cap,
        fib_slots,
        default_limit: limit,
        limits: BTreeMap::new(),
        ents: Vec::new(),
    };
    let uni = universe();
    let mut now = t0;
    let mut part = 0u32;
    for op in ops {
        let before = m.ents.len();
        match op {
            Op::Resolve(k, ifx) => {
                let key = k.key();
                let mut want = m.resolve(&key, ifx, now);
                let got = t.resolve(&key, ifx, now);
                if let (Ok(Resolve::Queue { idx, .. }), Ok(Resolve::Queue { idx: g, .. })) =
                    (&mut want, &got)
                {
                    fix_idx(idx, &mut m, *g);
                }
                assert_eq!(got, want, "resolve {key:?} at {now}");
            }
            Op::Confirm(k, mac, ifx, create) => {
                let key = k.key();
                let mut want = m.confirm(&key, [mac; 6], ifx, now, create);
                let got = t.confirm(&key, [mac; 6], ifx, now, create);
                if let (Confirm::Created { idx }, Confirm::Created { idx: g }) = (&mut want, &got) {
                    fix_idx(idx, &mut m, *g);
                }
                assert_eq!(got, want, "confirm {key:?} at {now}");
            }
            Op::AddPerm(k, mac, ifx) => {
                let key = k.key();
                let mut want = m.add_permanent(&key, [mac; 6], ifx, now);
                let got = t.add_permanent(&key, [mac; 6], ifx, now);
                if let (Ok(Added::New { idx }), Ok(Added::New { idx: g })) = (&mut want, &got) {
                    fix_idx(idx, &mut m, *g);
                }
                assert_eq!(got, want, "add_permanent {key:?}");
            }
            Op::Delete(k) => {
                let key = k.key();
                let want = m.pos(&key).map(|p| m.ents.remove(p));
                let got = t.delete(&key).map(|(i, e)| (i, vis(&e)));
                assert_eq!(got, want.ok_or(NeighError::NotFound));
            }
            Op::DeleteFib(f) => {
                let fib = FIBS[f];
                check_delete_where(&mut t, &mut m, |v| v.key.fib == fib);
            }
            Op::DeleteIf(ifx) => {
                check_delete_where(&mut t, &mut m, |v| v.ifindex == ifx);
            }
            Op::SetLimit(f, l) => {
                let fib = FIBS[f];
                let want = match l {
                    Some(n) => {
                        if !m.holds_slot(fib) && m.slots_used() >= m.fib_slots {
                            Err(NeighError::Full)
                        } else {
                            m.limits.insert(fib, n);
                            Ok(())
                        }
                    }
                    None => {
                        m.limits.remove(&fib);
                        Ok(())
                    }
                };
                assert_eq!(t.set_limit(fib, l), want);
            }
            Op::Tick => {
                let want = m.tick(now, 0, u32::MAX);
                let mut got = Vec::new();
                t.tick(now, |e| got.push(e));
                assert_eq!(got, want, "tick at {now}");
            }
            Op::TickPart(n) => {
                let end = part.saturating_add(n).min(cap as u32);
                let want = m.tick(now, part, end);
                let mut got = Vec::new();
                let next = t.tick_part(now, part, n, |e| got.push(e));
                assert_eq!(got, want, "tick_part {part}+{n} at {now}");
                assert_eq!(next, if end >= cap as u32 { 0 } else { end });
                part = next;
            }
            Op::Advance(d) => now = now.saturating_add(d),
            Op::Rewind(d) => now = now.saturating_sub(d),
        }
        assert!(
            !m.ents.iter().any(|(i, _)| *i == NEW),
            "model created an entry the table did not"
        );
        // Creation never takes a FIB past its limit, nor the table past
        // its capacity or FIB slots.
        if m.ents.len() > before {
            let fib = m.ents.last().unwrap().1.key.fib;
            assert!(t.count(fib) <= t.limit(fib));
        }
        assert!(t.len() as usize <= cap);
        assert!(m.slots_used() <= fib_slots);
        check(&t, &m, &uni);
    }
}

fn check_delete_where(t: &mut T, m: &mut Model, f: impl Fn(&Vis) -> bool) {
    let mut want: Vec<(u32, Vis)> = m.ents.iter().copied().filter(|(_, v)| f(v)).collect();
    want.sort_by_key(|(i, _)| *i);
    m.ents.retain(|(_, v)| !f(v));
    let mut got = Vec::new();
    let n = t.delete_where(|e| f(&vis(e)), |i, e| got.push((i, vis(e))));
    assert_eq!(got, want);
    assert_eq!(n as usize, got.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn matches_model(
        cap in 0usize..12,
        fib_slots in 0usize..5,
        limit in 0u32..6,
        seed in any::<u64>(),
        t0 in prop_oneof![Just(0u64), 0u64..1_000_000, Just(u64::MAX - 70_000)],
        ops in proptest::collection::vec(op(), 1..150),
    ) {
        run(cap, fib_slots, limit, seed, t0, ops);
    }

    /// Arbitrary keys, addresses and times never panic, and a key is
    /// stored only if it is valid.
    #[test]
    fn arbitrary_input(
        ops in proptest::collection::vec(
            (any::<u32>(), any::<bool>(), any::<[u8; 16]>(), any::<u32>(),
             any::<u64>(), 0u8..5),
            1..100),
    ) {
        let mut t = table(6, 3, 4);
        for (fib, v6, addr, zone, now, what) in ops {
            let key = Key { fib: fib % 3, v6, addr, zone: zone % 3 };
            prop_assert_eq!(key.check().is_ok(), valid(&key));
            match what {
                0 => {
                    let r = t.resolve(&key, zone, now);
                    prop_assert_eq!(r == Err(NeighError::BadKey), !valid(&key));
                }
                1 => { t.confirm(&key, [1; 6], zone, now, true); }
                2 => { let _ = t.add_permanent(&key, [2; 6], zone, now); }
                3 => { let _ = t.delete(&key); }
                _ => t.tick(now, |_| {}),
            }
            prop_assert!(t.iter().all(|(_, e)| valid(&e.key)));
            prop_assert!(t.len() <= 6);
        }
    }
}
