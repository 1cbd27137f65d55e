//! Writes one table in a single pass over sorted entries.
//!
//! Entries go into a data block until it reaches `block_bytes`; each finished block is
//! recorded in the index and buffered, and the buffer is written out every megabyte.
//! `finish` writes the index, the filter and the footer, then fdatasyncs. A table is
//! invisible until a manifest lists it, so a crash anywhere in here leaves only an orphan
//! file that the next open deletes.
//!
//! Invariants:
//! - Keys arrive strictly increasing (asserted).
//! - The file is complete and durable before `finish` returns, and is never written again.

use std::path::Path;

use crate::fs::{Fs, FsFile};
use crate::key::{bloom_prefix, MessageKey};
use crate::sstable::block::BlockBuilder;
use crate::sstable::bloom::BloomBuilder;
use crate::sstable::footer::Footer;
use crate::sstable::index::IndexBuilder;
use crate::Error;

const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// Sizes that shape a table.
#[derive(Debug, Clone, Copy)]
pub struct TableShape {
    /// Target data block size.
    pub block_bytes: usize,
    /// Bloom filter bits per key.
    pub bloom_bits_per_key: usize,
}

/// Writes one table.
pub struct TableBuilder {
    file: FsFile,
    shape: TableShape,
    buffer: Vec<u8>,
    written: u64,
    block: BlockBuilder,
    block_last_key: Vec<u8>,
    index: IndexBuilder,
    bloom: BloomBuilder,
    first_key: Option<Vec<u8>>,
    last_prefix: Vec<u8>,
    footer: Footer,
}

impl TableBuilder {
    /// Creates the table file at `path`.
    pub fn create(fs: &Fs, path: &Path, shape: TableShape) -> Result<TableBuilder, Error> {
        Ok(TableBuilder {
            file: fs.create(path)?,
            shape,
            buffer: Vec::with_capacity(WRITE_BUFFER_BYTES + shape.block_bytes * 2),
            written: 0,
            block: BlockBuilder::default(),
            block_last_key: Vec::new(),
            index: IndexBuilder::default(),
            bloom: BloomBuilder::default(),
            first_key: None,
            last_prefix: Vec::new(),
            footer: Footer::default(),
        })
    }

    /// Adds the next entry; `value` is `None` for a tombstone.
    pub fn add(&mut self, key: &[u8], seq: u64, value: Option<&[u8]>) -> Result<(), Error> {
        match &self.first_key {
            None => self.first_key = Some(key.to_vec()),
            Some(_) => assert!(key > self.block_last_key.as_slice(), "keys must increase"),
        }
        self.block.add(key, seq, value);
        self.block_last_key.clear();
        self.block_last_key.extend_from_slice(key);
        self.note_stats(key, seq, value.is_none());
        if self.block.len() >= self.shape.block_bytes {
            self.finish_block()?;
        }
        Ok(())
    }

    /// Bytes written or buffered so far (the table's approximate size).
    pub fn bytes(&self) -> u64 {
        self.written + self.buffer.len() as u64 + self.block.len() as u64
    }

    /// Entries added so far.
    pub fn entry_count(&self) -> u64 {
        self.footer.entry_count
    }

    /// Writes index, filter and footer, and makes the file durable. Returns its size.
    pub fn finish(mut self) -> Result<u64, Error> {
        assert!(self.first_key.is_some(), "a table holds at least one entry");
        if !self.block.is_empty() {
            self.finish_block()?;
        }
        let index = self
            .index
            .finish(self.first_key.as_deref().unwrap_or_default());
        self.footer.index_offset = self.written + self.buffer.len() as u64;
        self.footer.index_len = index.len() as u64;
        self.buffer.extend_from_slice(&index);

        let mut bloom = self.bloom.finish(self.shape.bloom_bits_per_key);
        let crc = crc32c::crc32c(&bloom);
        bloom.extend_from_slice(&crc.to_le_bytes());
        self.footer.bloom_offset = self.written + self.buffer.len() as u64;
        self.footer.bloom_len = bloom.len() as u64;
        self.buffer.extend_from_slice(&bloom);

        self.buffer.extend_from_slice(&self.footer.encode());
        self.flush_buffer()?;
        self.file.sync_data()?;
        Ok(self.written)
    }

    fn note_stats(&mut self, key: &[u8], seq: u64, tombstone: bool) {
        self.bloom.add(key);
        if let Some(prefix) = bloom_prefix(key) {
            if prefix != self.last_prefix.as_slice() {
                self.bloom.add(prefix);
                self.last_prefix.clear();
                self.last_prefix.extend_from_slice(prefix);
            }
        }
        if let Some(message) = MessageKey::decode(key) {
            let f = &mut self.footer;
            f.message_id_min = f.message_id_min.min(message.message_id);
            f.message_id_max = f.message_id_max.max(message.message_id);
            f.bucket_min = f.bucket_min.min(message.bucket);
            f.bucket_max = f.bucket_max.max(message.bucket);
        }
        let f = &mut self.footer;
        f.entry_count += 1;
        f.tombstone_count += u64::from(tombstone);
        f.seq_min = f.seq_min.min(seq);
        f.seq_max = f.seq_max.max(seq);
    }

    fn finish_block(&mut self) -> Result<(), Error> {
        let offset = self.written + self.buffer.len() as u64;
        self.block.finish_into(&mut self.buffer);
        let len = self.written + self.buffer.len() as u64 - offset;
        self.index.add(&self.block_last_key, offset, len as u32);
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            self.flush_buffer()?;
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> Result<(), Error> {
        self.file.write_all(&self.buffer)?;
        self.written += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }
}
