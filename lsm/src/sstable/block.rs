//! A data block: a run of sorted entries with an offset array, checksummed.
//!
//! ```text
//! entry:   | key_len u16 | value_len u32 | seq u64 | key | value |
//!          value_len = 0xFFFF_FFFF marks a tombstone (no value bytes follow)
//!
//! block:   | entry 0 | entry 1 | ... | offset_0 u32 | ... | offset_n-1 u32 | n u32 | crc32c u32 |
//!          offset_i = start of entry i from the block start; crc32c covers all bytes before it
//! ```
//!
//! Integers are little-endian. Keys are stored whole (no prefix compression): message keys
//! are 21 bytes next to ~200-byte values, so compression would save under 10% and cost a
//! copy per key on every read; whole keys let a cursor hand out slices of the mapped file.
//! The offset array gives binary search inside a block and lets a cursor walk backwards,
//! which newest-first history pages do all the time.
//!
//! Invariants:
//! - The CRC is computed when the block is written and verified every time it is read.
//! - `Block` accessors never panic on any bytes: a bad block is an error value.

use crate::merge::EntryRef;

/// `value_len` that marks a tombstone.
pub const TOMBSTONE: u32 = u32::MAX;
/// Bytes of an entry before its key.
pub const ENTRY_HEADER_LEN: usize = 2 + 4 + 8;
/// Bytes after the offset array: count and CRC.
const TRAILER_LEN: usize = 8;

/// Builds one block.
#[derive(Debug, Default)]
pub struct BlockBuilder {
    entries: Vec<u8>,
    offsets: Vec<u32>,
}

/// A decoded view of one block's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    entries: &'a [u8],
    offsets: &'a [u8],
}

impl BlockBuilder {
    /// Appends an entry; keys must arrive in strictly increasing order.
    pub fn add(&mut self, key: &[u8], seq: u64, value: Option<&[u8]>) {
        debug_assert!(key.len() <= u16::MAX as usize);
        self.offsets.push(self.entries.len() as u32);
        let value_len = value.map_or(TOMBSTONE, |v| {
            assert!(
                v.len() < TOMBSTONE as usize,
                "value length validated at append"
            );
            v.len() as u32
        });
        self.entries
            .extend_from_slice(&(key.len() as u16).to_le_bytes());
        self.entries.extend_from_slice(&value_len.to_le_bytes());
        self.entries.extend_from_slice(&seq.to_le_bytes());
        self.entries.extend_from_slice(key);
        self.entries.extend_from_slice(value.unwrap_or(&[]));
    }

    /// Bytes the block will take when finished.
    pub fn len(&self) -> usize {
        self.entries.len() + 4 * self.offsets.len() + TRAILER_LEN
    }

    /// True if no entry was added.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Appends the finished block to `out` and resets the builder.
    pub fn finish_into(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.entries);
        for offset in &self.offsets {
            out.extend_from_slice(&offset.to_le_bytes());
        }
        out.extend_from_slice(&(self.offsets.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
        debug_assert!(
            Block::decode(&out[start..]).is_ok(),
            "a block we wrote must read back"
        );
        self.entries.clear();
        self.offsets.clear();
    }
}

impl<'a> Block<'a> {
    /// Checks the CRC and the trailer of `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<Block<'a>, &'static str> {
        if bytes.len() < TRAILER_LEN {
            return Err("block shorter than its trailer");
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            return Err("block checksum mismatch");
        }
        let (body, count) = body.split_at(body.len() - 4);
        let count = u32::from_le_bytes(count.try_into().expect("4 bytes")) as usize;
        if count == 0 || count > body.len() / 4 {
            return Err("bad block entry count");
        }
        let (entries, offsets) = body.split_at(body.len() - 4 * count);
        Ok(Block { entries, offsets })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.offsets.len() / 4
    }

    /// True if the block has no entries (never true for a decoded block).
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Entry `i`.
    pub fn entry(&self, i: usize) -> Result<EntryRef<'a>, &'static str> {
        let at = self
            .offsets
            .get(4 * i..4 * i + 4)
            .ok_or("entry index out of range")?;
        let start = u32::from_le_bytes(at.try_into().expect("4 bytes")) as usize;
        let header = self
            .entries
            .get(start..start + ENTRY_HEADER_LEN)
            .ok_or("bad entry offset")?;
        let key_len = u16::from_le_bytes([header[0], header[1]]) as usize;
        let value_len = u32::from_le_bytes(header[2..6].try_into().expect("4 bytes"));
        let seq = u64::from_le_bytes(header[6..14].try_into().expect("8 bytes"));
        let key_start = start + ENTRY_HEADER_LEN;
        let key = self
            .entries
            .get(key_start..key_start + key_len)
            .ok_or("entry key overruns")?;
        let value = if value_len == TOMBSTONE {
            None
        } else {
            let value_start = key_start + key_len;
            let value_end = value_start + value_len as usize;
            Some(
                self.entries
                    .get(value_start..value_end)
                    .ok_or("entry value overruns")?,
            )
        };
        Ok(EntryRef { key, seq, value })
    }

    /// The index of the first entry whose key is `>= key` (`> key` if `exclusive`), or
    /// `len()` if there is none.
    pub fn seek(&self, key: &[u8], exclusive: bool) -> Result<usize, &'static str> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let mid_key = self.entry(mid)?.key;
            let go_right = if exclusive {
                mid_key <= key
            } else {
                mid_key < key
            };
            if go_right {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Owned = (Vec<u8>, u64, Option<Vec<u8>>);

    fn build(entries: &[Owned]) -> Vec<u8> {
        let mut builder = BlockBuilder::default();
        for (k, s, v) in entries {
            builder.add(k, *s, v.as_deref());
        }
        let expected_len = builder.len();
        let mut out = Vec::new();
        builder.finish_into(&mut out);
        assert_eq!(out.len(), expected_len);
        out
    }

    #[test]
    fn seek_inclusive_and_exclusive() {
        let entries: Vec<_> = [2u8, 4, 6]
            .iter()
            .map(|&k| (vec![k], k as u64, Some(vec![k])))
            .collect();
        let bytes = build(&entries);
        let block = Block::decode(&bytes).unwrap();
        let cases = [
            (1, false, 0),
            (2, false, 0),
            (2, true, 1),
            (5, false, 2),
            (6, true, 3),
            (7, false, 3),
        ];
        for (key, exclusive, want) in cases {
            assert_eq!(
                block.seek(&[key], exclusive).unwrap(),
                want,
                "{key} {exclusive}"
            );
        }
    }

    #[test]
    fn a_flipped_bit_is_an_error_not_a_panic() {
        let bytes = build(&[
            (b"key".to_vec(), 1, Some(b"value".to_vec())),
            (b"kez".to_vec(), 2, None),
        ]);
        for bit in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(Block::decode(&bad).is_err(), "bit {bit}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(map in proptest::collection::btree_map(
            proptest::collection::vec(any::<u8>(), 1..30),
            (any::<u64>(), proptest::option::of(proptest::collection::vec(any::<u8>(), 0..50))),
            1..40,
        )) {
            let entries: Vec<_> = map.into_iter().map(|(k, (s, v))| (k, s, v)).collect();
            let bytes = build(&entries);
            let block = Block::decode(&bytes).unwrap();
            prop_assert_eq!(block.len(), entries.len());
            for (i, (k, s, v)) in entries.iter().enumerate() {
                let e = block.entry(i).unwrap();
                prop_assert_eq!(e.key, &k[..]);
                prop_assert_eq!(e.seq, *s);
                prop_assert_eq!(e.value, v.as_deref());
                prop_assert_eq!(block.seek(k, false).unwrap(), i);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(block) = Block::decode(&bytes) {
                for i in 0..block.len() + 1 {
                    let _ = block.entry(i);
                }
                let _ = block.seek(b"k", false);
            }
        }
    }
}
