// SPDX-License-Identifier: GPL-2.0

//! Sequence arithmetic of the event log ring.
//!
//! No kernel types: this file is compiled into `cgl_core` and, unchanged,
//! into the host test crate. It decides which slot a record goes to,
//! which records a reader can still get and how many it lost; the caller
//! owns the slots and the lock.
//!
//! Sequence numbers start at 1 and never repeat while the system runs; the
//! record with sequence `s` lives in slot `s % capacity`.

/// Where a new record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Push {
    /// Sequence number of the new record.
    pub seq: u64,
    /// Slot the record is stored in.
    pub slot: usize,
    /// Whether the slot held the oldest record, now overwritten.
    pub overwrote: bool,
}

/// Where a reader that wants records from some sequence number starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadStart {
    /// First sequence number still held at or after the one asked for
    /// (equal to [`RingIndex::next_seq`] when there is none).
    pub first: u64,
    /// Records the reader asked for that were overwritten before it came.
    pub lost: u64,
}

/// Errors of ring operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// A capacity of zero, or larger than the ring supports.
    BadCapacity,
}

/// Largest capacity a ring supports.
pub const MAX_CAPACITY: u32 = 1 << 24;

/// Positions of the records of a ring of fixed capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingIndex {
    capacity: u32,
    next_seq: u64,
    len: u32,
    overwritten: u64,
}

impl RingIndex {
    /// An empty ring of `capacity` slots whose first record gets sequence 1.
    pub fn new(capacity: u32) -> Result<Self, RingError> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(RingError::BadCapacity);
        }
        Ok(Self {
            capacity,
            next_seq: 1,
            len: 0,
            overwritten: 0,
        })
    }

    /// Number of slots.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Number of records held.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the ring holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Sequence number of the oldest record held (`next_seq` when empty).
    pub fn oldest_seq(&self) -> u64 {
        self.next_seq - u64::from(self.len)
    }

    /// Records overwritten since the ring was created.
    pub fn overwritten(&self) -> u64 {
        self.overwritten
    }

    fn slot_of(&self, seq: u64) -> usize {
        // The remainder is below `capacity`, a u32, so it fits in usize.
        (seq % u64::from(self.capacity)) as usize
    }

    /// Takes the slot for a new record.
    pub fn push(&mut self) -> Push {
        let seq = self.next_seq;
        let overwrote = self.len == self.capacity;
        if overwrote {
            self.overwritten += 1;
        } else {
            self.len += 1;
        }
        self.next_seq += 1;
        Push {
            seq,
            slot: self.slot_of(seq),
            overwrote,
        }
    }

    /// The slot of record `seq`, if the ring still holds it.
    pub fn slot(&self, seq: u64) -> Option<usize> {
        if seq >= self.oldest_seq() && seq < self.next_seq {
            Some(self.slot_of(seq))
        } else {
            None
        }
    }

    /// Where a reader asking for records from `from` on starts, and how
    /// many of the records it asked for are gone. Sequence 0 means "from
    /// the first record ever".
    pub fn read_from(&self, from: u64) -> ReadStart {
        let from = from.max(1);
        let oldest = self.oldest_seq();
        if from >= self.next_seq {
            ReadStart {
                first: self.next_seq,
                lost: 0,
            }
        } else if from < oldest {
            ReadStart {
                first: oldest,
                lost: oldest - from,
            }
        } else {
            ReadStart {
                first: from,
                lost: 0,
            }
        }
    }

    /// Changes the capacity, keeping the newest records that fit. Returns
    /// the sequence number of the oldest record kept; the caller moves
    /// every record from there to `next_seq` from `old.slot(seq)` to
    /// `new.slot(seq)`, where `old` is a clone taken before the call.
    pub fn resize(&mut self, capacity: u32) -> Result<u64, RingError> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(RingError::BadCapacity);
        }
        if self.len > capacity {
            self.overwritten += u64::from(self.len - capacity);
            self.len = capacity;
        }
        self.capacity = capacity;
        Ok(self.oldest_seq())
    }
}
