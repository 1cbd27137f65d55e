//! The manifest: which tables are live, and how far the WAL has been flushed.
//!
//! The whole state is small (a few dozen bytes per table), so every change rewrites it
//! completely: write `MANIFEST.tmp`, fdatasync it, rename it over `MANIFEST`, fsync the
//! directory. `rename` is atomic, so after a crash `MANIFEST` is either the old state or the
//! new one, never a mix; the directory fsync makes the rename itself durable. A table file
//! not listed in `MANIFEST` is an orphan of an interrupted flush or compaction and is
//! deleted at open.
//!
//! ```text
//!  0 magic "FXMANIF1"        8 format_version u32 (1)   12 generation u64
//! 20 next_table_id u64      28 seq_flushed u64          36 bucket_live u32
//! 40 table_count u32        44 table records...         end: crc32c u32 (over all before)
//! table record (13 bytes): | id u64 | window u32 | sealed u8 |
//! ```
//!
//! Little-endian. `generation` counts rewrites (the "version" of the manifest);
//! `seq_flushed` is the highest batch whose writes are all in listed tables, so replay
//! skips WAL records up to it; `bucket_live` is the newest bucket seen, which decides
//! which compaction windows are closed.

use std::path::Path;

use crate::fs::Fs;
use crate::Error;

const MAGIC: &[u8; 8] = b"FXMANIF1";
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 44;
const RECORD_LEN: usize = 13;
/// The manifest's file name.
pub const FILE_NAME: &str = "MANIFEST";
/// The name a new manifest is written under before the rename.
pub const TMP_NAME: &str = "MANIFEST.tmp";

/// The durable state of a store's tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Rewrites so far.
    pub generation: u64,
    /// The next table file number.
    pub next_table_id: u64,
    /// Every batch up to this sequence number is in the listed tables.
    pub seq_flushed: u64,
    /// The newest bucket seen in any flushed message key.
    pub bucket_live: u32,
    /// The live tables.
    pub tables: Vec<TableRecord>,
}

/// One live table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRecord {
    /// File number: the table is `{id:012}.sst`.
    pub id: u64,
    /// The compaction window (the `bucket_live` when its data was flushed).
    pub window: u32,
    /// True once its closed window has been compacted; it is then left alone.
    pub sealed: bool,
}

impl Manifest {
    /// Encodes the manifest.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + RECORD_LEN * self.tables.len() + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.next_table_id.to_le_bytes());
        out.extend_from_slice(&self.seq_flushed.to_le_bytes());
        out.extend_from_slice(&self.bucket_live.to_le_bytes());
        out.extend_from_slice(&(self.tables.len() as u32).to_le_bytes());
        for table in &self.tables {
            out.extend_from_slice(&table.id.to_le_bytes());
            out.extend_from_slice(&table.window.to_le_bytes());
            out.push(u8::from(table.sealed));
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and checks a manifest.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, &'static str> {
        if bytes.len() < HEADER_LEN + 4 {
            return Err("manifest too short");
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            return Err("manifest checksum mismatch");
        }
        if &body[0..8] != MAGIC {
            return Err("bad manifest magic");
        }
        let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().expect("4"));
        let u64_at = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().expect("8"));
        if u32_at(8) != FORMAT_VERSION {
            return Err("unknown manifest format version");
        }
        let count = u32_at(40) as usize;
        if body.len() != HEADER_LEN + count * RECORD_LEN {
            return Err("manifest length does not match its table count");
        }
        let mut tables = Vec::with_capacity(count);
        for i in 0..count {
            let at = HEADER_LEN + i * RECORD_LEN;
            let sealed = match body[at + 12] {
                0 => false,
                1 => true,
                _ => return Err("bad sealed flag"),
            };
            tables.push(TableRecord {
                id: u64_at(at),
                window: u32_at(at + 8),
                sealed,
            });
        }
        Ok(Manifest {
            generation: u64_at(12),
            next_table_id: u64_at(20),
            seq_flushed: u64_at(28),
            bucket_live: u32_at(36),
            tables,
        })
    }

    /// Loads the manifest of `dir`; `None` for a new store.
    pub fn load(fs: &Fs, dir: &Path) -> Result<Option<Manifest>, Error> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = fs.read_all(&path)?;
        Manifest::decode(&bytes)
            .map(Some)
            .map_err(|what| Error::corrupt(&path, 0, what))
    }

    /// Durably replaces the manifest of `dir` with `self`.
    pub fn store(&self, fs: &Fs, dir: &Path) -> Result<(), Error> {
        let tmp = dir.join(TMP_NAME);
        let mut file = fs.create(&tmp)?;
        file.write_all(&self.encode())?;
        file.sync_data()?;
        drop(file);
        fs.rename(&tmp, &dir.join(FILE_NAME))?;
        fs.sync_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_checks() {
        let manifest = Manifest {
            generation: 3,
            next_table_id: 9,
            seq_flushed: 77,
            bucket_live: 12,
            tables: vec![
                TableRecord {
                    id: 4,
                    window: 11,
                    sealed: true,
                },
                TableRecord {
                    id: 8,
                    window: 12,
                    sealed: false,
                },
            ],
        };
        let bytes = manifest.encode();
        assert_eq!(Manifest::decode(&bytes), Ok(manifest));
        for cut in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = Manifest::decode(&bytes);
        }
    }
}
