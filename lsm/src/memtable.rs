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

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::btree_map::{self, BTreeMap};
use std::ops::Bound;

use crate::merge::{Cursor, Direction, EntryRef};
use crate::Error;

/// Estimated heap bytes per slot besides key and value: B-tree node share and two `Vec`s.
const SLOT_OVERHEAD_BYTES: usize = 64;

/// Sorted in-memory writes.
#[derive(Debug, Default)]
pub struct Memtable {
    map: BTreeMap<MemKey, Slot>,
    bytes: usize,
    seq_max: u64,
}

/// A key as the memtable stores it: up to 24 bytes inline (a message key is 21), longer
/// keys on the heap. It orders exactly like its bytes, but compares three big-endian
/// words instead of calling `memcmp`: the B-tree insert on the reactor thread was
/// dominated by `memcmp` calls through pointers to separately allocated keys.
#[derive(Debug, Clone)]
struct MemKey {
    inline: [u8; INLINE_LEN],
    len: usize,
    heap: Option<Box<[u8]>>,
}

const INLINE_LEN: usize = 24;

impl MemKey {
    fn new(key: &[u8]) -> MemKey {
        let mut inline = [0u8; INLINE_LEN];
        let n = key.len().min(INLINE_LEN);
        inline[..n].copy_from_slice(&key[..n]);
        let heap = (key.len() > INLINE_LEN).then(|| key.into());
        MemKey {
            inline,
            len: key.len(),
            heap,
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.heap {
            Some(heap) => heap,
            None => &self.inline[..self.len],
        }
    }

    fn word(&self, i: usize) -> u64 {
        u64::from_be_bytes(self.inline[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    }
}

impl Ord for MemKey {
    fn cmp(&self, other: &MemKey) -> Ordering {
        // Zero-padded words first; equal words mean one key's first 24 bytes are a
        // zero-extended prefix of the other's, and then the rest, then the length, decide.
        (self.word(0), self.word(1), self.word(2))
            .cmp(&(other.word(0), other.word(1), other.word(2)))
            .then_with(|| rest(self).cmp(rest(other)))
            .then(self.len.cmp(&other.len))
    }
}

/// The bytes of a long key after its inline prefix (empty for short keys).
fn rest(key: &MemKey) -> &[u8] {
    key.heap.as_deref().map_or(&[], |h| &h[INLINE_LEN..])
}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &MemKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &MemKey) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for MemKey {}

impl Borrow<[u8]> for MemKey {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

#[derive(Debug)]
struct Slot {
    seq: u64,
    value: Option<Vec<u8>>,
}

/// A cursor over a key range of a memtable.
pub struct MemCursor<'a> {
    range: btree_map::Range<'a, MemKey, Slot>,
    direction: Direction,
    head: Option<EntryRef<'a>>,
}

impl Memtable {
    /// Inserts a put (`Some`) or a tombstone (`None`) written by batch `seq`.
    pub fn insert(&mut self, seq: u64, key: Vec<u8>, value: Option<Vec<u8>>) {
        assert!(seq >= self.seq_max, "batches are applied in ticket order");
        self.seq_max = seq;
        let added = value.as_ref().map_or(0, Vec::len);
        match self.map.entry(MemKey::new(&key)) {
            btree_map::Entry::Occupied(mut slot) => {
                let old = slot.get().value.as_ref().map_or(0, Vec::len);
                self.bytes = self.bytes + added - old;
                *slot.get_mut() = Slot { seq, value };
            }
            btree_map::Entry::Vacant(slot) => {
                self.bytes += slot.key().len + added + SLOT_OVERHEAD_BYTES;
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

fn entry<'a>(key: &'a MemKey, slot: &'a Slot) -> EntryRef<'a> {
    EntryRef {
        key: key.bytes(),
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

    proptest::proptest! {
        /// `MemKey` orders exactly like the bytes it holds.
        #[test]
        fn mem_key_orders_like_bytes(
            a in proptest::collection::vec(0u8..3, 0..40),
            b in proptest::collection::vec(0u8..3, 0..40),
        ) {
            proptest::prop_assert_eq!(MemKey::new(&a).cmp(&MemKey::new(&b)), a.cmp(&b));
            let key = MemKey::new(&a);
            proptest::prop_assert_eq!(key.bytes(), &a[..]);
        }
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
