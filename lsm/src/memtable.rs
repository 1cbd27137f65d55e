//! The memtable: the newest writes, sorted in memory until they are flushed to a table.
//!
//! A `BTreeMap` keyed by the encoded key. Each slot keeps the sequence number of the batch
//! that wrote it (so merges across memtables and tables can tell newest from oldest) and
//! the value or a tombstone. Only durable batches are inserted: whatever a read returns
//! has been fsynced, so a reader never sees a message that a crash could take back.
//!
//! A memtable is mutable while it is the store's current one. When it reaches
//! `Options::memtable_bytes_max` it is frozen into an `Arc` (immutable), shared between the
//! reactor (reads) and the flush thread (which writes it out as a table).
//!
//! Invariants:
//! - Sequence numbers inserted never decrease (batches are applied in ticket order).
//! - `bytes` is an upper-bound estimate of heap use: key, value and a fixed slot overhead.

use std::collections::btree_map::{self, BTreeMap};
use std::ops::Bound;

use crate::merge::{Cursor, Direction, EntryRef};
use crate::Error;

/// Estimated heap bytes per slot besides key and value: B-tree node share and two `Vec`s.
const SLOT_OVERHEAD_BYTES: usize = 64;

/// Sorted in-memory writes.
#[derive(Debug, Default)]
pub struct Memtable {
    map: BTreeMap<Vec<u8>, Slot>,
    bytes: usize,
    seq_max: u64,
}

#[derive(Debug)]
struct Slot {
    seq: u64,
    value: Option<Vec<u8>>,
}

/// A cursor over a key range of a memtable.
pub struct MemCursor<'a> {
    range: btree_map::Range<'a, Vec<u8>, Slot>,
    direction: Direction,
    head: Option<EntryRef<'a>>,
}

impl Memtable {
    /// Inserts a put (`Some`) or a tombstone (`None`) written by batch `seq`.
    pub fn insert(&mut self, seq: u64, key: Vec<u8>, value: Option<Vec<u8>>) {
        assert!(seq >= self.seq_max, "batches are applied in ticket order");
        self.seq_max = seq;
        let added = value.as_ref().map_or(0, Vec::len);
        match self.map.entry(key) {
            btree_map::Entry::Occupied(mut slot) => {
                let old = slot.get().value.as_ref().map_or(0, Vec::len);
                self.bytes = self.bytes + added - old;
                *slot.get_mut() = Slot { seq, value };
            }
            btree_map::Entry::Vacant(slot) => {
                self.bytes += slot.key().len() + added + SLOT_OVERHEAD_BYTES;
                slot.insert(Slot { seq, value });
            }
        }
    }

    /// The entry for `key`, tombstone included.
    pub fn get(&self, key: &[u8]) -> Option<EntryRef<'_>> {
        self.map.get_key_value(key).map(|(k, slot)| entry(k, slot))
    }

    /// A cursor over the keys within `(lo, hi)`, in `direction`.
    pub fn cursor<'a>(
        &'a self,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        direction: Direction,
    ) -> MemCursor<'a> {
        let mut cursor = MemCursor {
            range: self.map.range::<[u8], _>((lo, hi)),
            direction,
            head: None,
        };
        cursor.advance();
        cursor
    }

    /// All entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = EntryRef<'_>> {
        self.map.iter().map(|(k, slot)| entry(k, slot))
    }

    /// Estimated heap bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if no key was inserted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The highest sequence number inserted (0 when empty).
    pub fn seq_max(&self) -> u64 {
        self.seq_max
    }
}

impl MemCursor<'_> {
    fn advance(&mut self) {
        let next = match self.direction {
            Direction::Forward => self.range.next(),
            Direction::Reverse => self.range.next_back(),
        };
        self.head = next.map(|(k, slot)| entry(k, slot));
    }
}

impl<'a> Cursor<'a> for MemCursor<'a> {
    fn head(&self) -> Option<EntryRef<'a>> {
        self.head
    }

    fn step(&mut self) -> Result<(), Error> {
        self.advance();
        Ok(())
    }
}

fn entry<'a>(key: &'a [u8], slot: &'a Slot) -> EntryRef<'a> {
    EntryRef {
        key,
        seq: slot.seq,
        value: slot.value.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrite_and_tombstone_keep_byte_estimate_consistent() {
        let mut mem = Memtable::default();
        mem.insert(1, b"a".to_vec(), Some(vec![0; 100]));
        let one = mem.bytes();
        mem.insert(2, b"a".to_vec(), Some(vec![0; 10]));
        assert_eq!(mem.bytes(), one - 90);
        mem.insert(3, b"a".to_vec(), None);
        assert_eq!(mem.bytes(), one - 100);
        assert_eq!(
            mem.get(b"a"),
            Some(EntryRef {
                key: b"a",
                seq: 3,
                value: None
            })
        );
        assert_eq!(mem.len(), 1);
    }

    #[test]
    fn cursor_both_directions_respects_bounds() {
        let mut mem = Memtable::default();
        for (i, k) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            mem.insert(i as u64, k.to_vec(), Some(vec![i as u8]));
        }
        let keys = |mut c: MemCursor<'_>| {
            let mut out = Vec::new();
            while let Some(e) = c.head() {
                out.push(e.key[0]);
                c.step().unwrap();
            }
            out
        };
        let lo = Bound::Excluded(&b"a"[..]);
        let hi = Bound::Included(&b"c"[..]);
        assert_eq!(keys(mem.cursor(lo, hi, Direction::Forward)), b"bc");
        assert_eq!(keys(mem.cursor(lo, hi, Direction::Reverse)), b"cb");
        assert_eq!(
            keys(mem.cursor(Bound::Unbounded, Bound::Unbounded, Direction::Reverse)),
            b"dcba"
        );
    }
}
