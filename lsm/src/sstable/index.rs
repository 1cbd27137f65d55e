//! The index block: where each data block is and the last key it holds.
//!
//! ```text
//! | count u32 | entry ... | first_key_len u16 | first_key | crc32c u32 |
//! entry: | last_key_len u16 | last_key | block_offset u64 | block_len u32 |
//! ```
//!
//! Little-endian. The table's first key is stored here too, so that a table's key range is
//! known without reading a data block. The reader decodes the index once at open into
//! `IndexEntry`s that point back into the mapped bytes.

use std::ops::Range;

/// One data block, as the reader keeps it.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// Where the block's last key lies in the table bytes.
    pub last_key: Range<usize>,
    /// Block offset in the table.
    pub offset: u64,
    /// Block length, CRC included.
    pub len: u32,
}

/// Builds the index block.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    entries: Vec<u8>,
    count: u32,
}

impl IndexBuilder {
    /// Records a finished block.
    pub fn add(&mut self, last_key: &[u8], offset: u64, len: u32) {
        self.entries
            .extend_from_slice(&(last_key.len() as u16).to_le_bytes());
        self.entries.extend_from_slice(last_key);
        self.entries.extend_from_slice(&offset.to_le_bytes());
        self.entries.extend_from_slice(&len.to_le_bytes());
        self.count += 1;
    }

    /// The finished index block.
    pub fn finish(&self, first_key: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() + first_key.len() + 10);
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.entries);
        out.extend_from_slice(&(first_key.len() as u16).to_le_bytes());
        out.extend_from_slice(first_key);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// Decodes the index block found at `base..base + bytes.len()` of the table: the entries
/// and the range of the first key, both as offsets into the table.
pub fn decode_index(
    bytes: &[u8],
    base: usize,
) -> Result<(Vec<IndexEntry>, Range<usize>), &'static str> {
    if bytes.len() < 10 {
        return Err("index too short");
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err("index checksum mismatch");
    }
    let count = u32::from_le_bytes(body[0..4].try_into().expect("4 bytes")) as usize;
    if count == 0 || count > body.len() / 14 {
        return Err("bad index entry count");
    }
    let mut at = 4;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let key = read_key(body, &mut at)?;
        let tail = body.get(at..at + 12).ok_or("index entry overruns")?;
        let offset = u64::from_le_bytes(tail[0..8].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(tail[8..12].try_into().expect("4 bytes"));
        at += 12;
        entries.push(IndexEntry {
            last_key: base + key.start..base + key.end,
            offset,
            len,
        });
    }
    let first = read_key(body, &mut at)?;
    if at != body.len() {
        return Err("trailing bytes in index");
    }
    Ok((entries, base + first.start..base + first.end))
}

fn read_key(body: &[u8], at: &mut usize) -> Result<Range<usize>, &'static str> {
    let len = body.get(*at..*at + 2).ok_or("index key length overruns")?;
    let len = u16::from_le_bytes([len[0], len[1]]) as usize;
    let start = *at + 2;
    if body.len() < start + len {
        return Err("index key overruns");
    }
    *at = start + len;
    Ok(start..start + len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let mut builder = IndexBuilder::default();
        builder.add(b"abc", 0, 100);
        builder.add(b"xyz", 100, 50);
        let bytes = builder.finish(b"aa");
        let (entries, first) = decode_index(&bytes, 1000).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            &bytes[entries[1].last_key.start - 1000..entries[1].last_key.end - 1000],
            b"xyz"
        );
        assert_eq!((entries[1].offset, entries[1].len), (100, 50));
        assert_eq!(&bytes[first.start - 1000..first.end - 1000], b"aa");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_index(&bytes, 0);
        }
    }
}
