//! The table footer: 96 fixed bytes at the end of every table.
//!
//! ```text
//!  0 index_offset u64     8 index_len u64      16 bloom_offset u64    24 bloom_len u64
//! 32 entry_count u64     40 tombstone_count u64 48 seq_min u64        56 seq_max u64
//! 64 message_id_min u64  72 message_id_max u64
//! 80 bucket_min u32      84 bucket_max u32      88 crc32c u32 (over bytes 0..88)
//! 92 magic "FXS1"
//! ```
//!
//! All little-endian. The message id and bucket ranges cover the table's message keys
//! (`min > max` when it has none); reads use them to skip tables and to open them lazily.

/// Footer size in bytes.
pub const FOOTER_LEN: usize = 96;
/// The last four bytes of every table.
pub const MAGIC: &[u8; 4] = b"FXS1";

/// Where the index and filter are, and what the table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Offset of the index block.
    pub index_offset: u64,
    /// Length of the index block, CRC included.
    pub index_len: u64,
    /// Offset of the Bloom filter.
    pub bloom_offset: u64,
    /// Length of the Bloom filter, CRC included.
    pub bloom_len: u64,
    /// Entries (puts and tombstones).
    pub entry_count: u64,
    /// Tombstones among them.
    pub tombstone_count: u64,
    /// Lowest batch sequence number in the table.
    pub seq_min: u64,
    /// Highest batch sequence number in the table.
    pub seq_max: u64,
    /// Lowest message id among message keys (`u64::MAX` if none).
    pub message_id_min: u64,
    /// Highest message id among message keys (`0` if none).
    pub message_id_max: u64,
    /// Lowest bucket among message keys (`u32::MAX` if none).
    pub bucket_min: u32,
    /// Highest bucket among message keys (`0` if none).
    pub bucket_max: u32,
}

impl Default for Footer {
    fn default() -> Footer {
        Footer {
            index_offset: 0,
            index_len: 0,
            bloom_offset: 0,
            bloom_len: 0,
            entry_count: 0,
            tombstone_count: 0,
            seq_min: u64::MAX,
            seq_max: 0,
            message_id_min: u64::MAX,
            message_id_max: 0,
            bucket_min: u32::MAX,
            bucket_max: 0,
        }
    }
}

impl Footer {
    /// Encodes the footer.
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut out = [0u8; FOOTER_LEN];
        let words = [
            self.index_offset,
            self.index_len,
            self.bloom_offset,
            self.bloom_len,
            self.entry_count,
            self.tombstone_count,
            self.seq_min,
            self.seq_max,
            self.message_id_min,
            self.message_id_max,
        ];
        for (i, word) in words.iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&word.to_le_bytes());
        }
        out[80..84].copy_from_slice(&self.bucket_min.to_le_bytes());
        out[84..88].copy_from_slice(&self.bucket_max.to_le_bytes());
        let crc = crc32c::crc32c(&out[..88]);
        out[88..92].copy_from_slice(&crc.to_le_bytes());
        out[92..96].copy_from_slice(MAGIC);
        out
    }

    /// Decodes and checks a footer.
    pub fn decode(bytes: &[u8]) -> Result<Footer, &'static str> {
        let bytes: &[u8; FOOTER_LEN] = bytes.try_into().map_err(|_| "footer has the wrong size")?;
        if &bytes[92..96] != MAGIC {
            return Err("bad table magic");
        }
        let crc = u32::from_le_bytes(bytes[88..92].try_into().expect("4 bytes"));
        if crc32c::crc32c(&bytes[..88]) != crc {
            return Err("footer checksum mismatch");
        }
        let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8"));
        Ok(Footer {
            index_offset: word(0),
            index_len: word(1),
            bloom_offset: word(2),
            bloom_len: word(3),
            entry_count: word(4),
            tombstone_count: word(5),
            seq_min: word(6),
            seq_max: word(7),
            message_id_min: word(8),
            message_id_max: word(9),
            bucket_min: u32::from_le_bytes(bytes[80..84].try_into().expect("4 bytes")),
            bucket_max: u32::from_le_bytes(bytes[84..88].try_into().expect("4 bytes")),
        })
    }

    /// True if the table holds at least one message key.
    pub fn has_messages(&self) -> bool {
        self.message_id_min <= self.message_id_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let footer = Footer {
            index_offset: 1,
            seq_max: 9,
            bucket_max: 3,
            ..Footer::default()
        };
        let bytes = footer.encode();
        assert_eq!(Footer::decode(&bytes), Ok(footer));
        let mut bad = bytes;
        bad[0] ^= 1;
        assert_eq!(Footer::decode(&bad), Err("footer checksum mismatch"));
        bad = bytes;
        bad[95] = b'X';
        assert_eq!(Footer::decode(&bad), Err("bad table magic"));
        assert!(Footer::decode(&bytes[1..]).is_err());
    }
}
