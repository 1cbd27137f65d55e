//! Reads a table through a memory map: point lookups, range cursors, filter checks.
//!
//! `Table::open` checks the footer, index and filter checksums once and decodes the index;
//! data blocks are checked every time they are read (a CRC32C of 4 KiB costs well under a
//! microsecond with SSE4.2). Entries are handed out as slices of the mapping: no copies.
//!
//! Invariants:
//! - Nothing read from the file is trusted: every offset is bounds-checked, and a bad
//!   structure is `Error::Corrupt` naming the file and offset, never a panic.
//! - A cursor never yields a key outside its bounds.

use std::ops::{Bound, Range};
use std::path::{Path, PathBuf};

use crate::fs::Fs;
use crate::key::bloom_prefix;
use crate::merge::{Cursor, Direction, EntryRef};
use crate::sstable::block::Block;
use crate::sstable::bloom::{hash, may_contain};
use crate::sstable::footer::{Footer, FOOTER_LEN};
use crate::sstable::index::{decode_index, IndexEntry};
use crate::sys::Mapped;
use crate::Error;

/// An open, immutable table.
#[derive(Debug)]
pub struct Table {
    id: u64,
    path: PathBuf,
    map: Mapped,
    index: Vec<IndexEntry>,
    first_key: Range<usize>,
    bloom: Range<usize>,
    footer: Footer,
}

/// A cursor over a key range of one table.
pub struct TableCursor<'a> {
    table: &'a Table,
    direction: Direction,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    block_index: usize,
    block: Option<Block<'a>>,
    entry_index: usize,
    head: Option<EntryRef<'a>>,
}

impl Table {
    /// Maps and checks table `id` at `path`.
    pub fn open(fs: &Fs, path: &Path, id: u64) -> Result<Table, Error> {
        let file = fs.open_read(path)?;
        let map = Mapped::map(&file, path)?;
        let bytes = map.bytes();
        let corrupt = |offset: usize, what| Error::corrupt(path, offset as u64, what);
        if bytes.len() < FOOTER_LEN {
            return Err(corrupt(0, "table shorter than its footer"));
        }
        let footer_at = bytes.len() - FOOTER_LEN;
        let footer = Footer::decode(&bytes[footer_at..]).map_err(|w| corrupt(footer_at, w))?;
        let index_range = section(footer.index_offset, footer.index_len, footer_at)
            .ok_or_else(|| corrupt(footer_at, "index section out of range"))?;
        let bloom = section(footer.bloom_offset, footer.bloom_len, footer_at)
            .ok_or_else(|| corrupt(footer_at, "bloom section out of range"))?;
        let (index, first_key) = decode_index(&bytes[index_range.clone()], index_range.start)
            .map_err(|w| corrupt(index_range.start, w))?;
        if index
            .iter()
            .any(|e| section(e.offset, u64::from(e.len), index_range.start).is_none())
        {
            return Err(corrupt(index_range.start, "block outside the data section"));
        }
        let bloom_bytes = &bytes[bloom.clone()];
        let (filter, crc) = bloom_bytes.split_at(bloom_bytes.len().saturating_sub(4));
        if crc.len() != 4
            || crc32c::crc32c(filter) != u32::from_le_bytes(crc.try_into().expect("4"))
        {
            return Err(corrupt(bloom.start, "bloom checksum mismatch"));
        }
        let bloom = bloom.start..bloom.end - 4;
        Ok(Table {
            id,
            path: path.to_path_buf(),
            map,
            index,
            first_key,
            bloom,
            footer,
        })
    }

    /// The table's id (its file number).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The footer's statistics.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The file size in bytes.
    pub fn size(&self) -> u64 {
        self.map.bytes().len() as u64
    }

    /// The smallest key.
    pub fn first_key(&self) -> &[u8] {
        &self.map.bytes()[self.first_key.clone()]
    }

    /// The largest key.
    pub fn last_key(&self) -> &[u8] {
        let last = self.index.last().expect("open rejects an empty index");
        &self.map.bytes()[last.last_key.clone()]
    }

    /// False if the table certainly does not hold `key`.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        key >= self.first_key() && key <= self.last_key() && self.filter_says_maybe(key)
    }

    /// False if the table certainly holds no key starting with the channel `prefix`.
    pub fn may_contain_prefix(&self, prefix: &[u8]) -> bool {
        debug_assert!(bloom_prefix(&[prefix, &[0; 12]].concat()).is_some());
        self.filter_says_maybe(prefix)
    }

    /// The entry for `key` (a tombstone is `Some` with `value: None`).
    pub fn get(&self, key: &[u8]) -> Result<Option<EntryRef<'_>>, Error> {
        if !self.may_contain(key) {
            return Ok(None);
        }
        let Some(block_index) = self.block_for(key, false) else {
            return Ok(None);
        };
        let block = self.block(block_index)?;
        let i = block
            .seek(key, false)
            .map_err(|w| self.corrupt_block(block_index, w))?;
        if i == block.len() {
            return Ok(None);
        }
        let entry = block
            .entry(i)
            .map_err(|w| self.corrupt_block(block_index, w))?;
        Ok((entry.key == key).then_some(entry))
    }

    /// A cursor over the keys within `(lo, hi)`, in `direction`.
    pub fn cursor(
        &self,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<TableCursor<'_>, Error> {
        let mut cursor = TableCursor {
            table: self,
            direction,
            lo: lo.map(<[u8]>::to_vec),
            hi: hi.map(<[u8]>::to_vec),
            block_index: 0,
            block: None,
            entry_index: 0,
            head: None,
        };
        cursor.seek()?;
        Ok(cursor)
    }

    fn filter_says_maybe(&self, bytes: &[u8]) -> bool {
        may_contain(&self.map.bytes()[self.bloom.clone()], hash(bytes))
    }

    /// The first block whose last key is `>= key` (`> key` if `exclusive`).
    fn block_for(&self, key: &[u8], exclusive: bool) -> Option<usize> {
        let bytes = self.map.bytes();
        let i = self.index.partition_point(|e| {
            let last = &bytes[e.last_key.clone()];
            if exclusive {
                last <= key
            } else {
                last < key
            }
        });
        (i < self.index.len()).then_some(i)
    }

    fn block(&self, i: usize) -> Result<Block<'_>, Error> {
        let entry = &self.index[i];
        let start = entry.offset as usize;
        let bytes = &self.map.bytes()[start..start + entry.len as usize];
        Block::decode(bytes).map_err(|w| self.corrupt_block(i, w))
    }

    fn corrupt_block(&self, i: usize, what: &'static str) -> Error {
        Error::corrupt(&self.path, self.index[i].offset, what)
    }
}

impl<'a> TableCursor<'a> {
    fn seek(&mut self) -> Result<(), Error> {
        let table = self.table;
        match self.direction {
            Direction::Forward => {
                let (key, exclusive) = match &self.lo {
                    Bound::Unbounded => (Vec::new(), false),
                    Bound::Included(k) => (k.clone(), false),
                    Bound::Excluded(k) => (k.clone(), true),
                };
                let Some(b) = table.block_for(&key, exclusive) else {
                    return Ok(());
                };
                let block = self.load(b)?;
                self.entry_index = block
                    .seek(&key, exclusive)
                    .map_err(|w| table.corrupt_block(b, w))?;
            }
            Direction::Reverse => {
                let (b, position) = match &self.hi {
                    Bound::Unbounded => (table.index.len() - 1, None),
                    Bound::Included(k) => match table.block_for(k, false) {
                        Some(b) => (b, Some((k.clone(), true))),
                        None => (table.index.len() - 1, None),
                    },
                    Bound::Excluded(k) => match table.block_for(k, false) {
                        Some(b) => (b, Some((k.clone(), false))),
                        None => (table.index.len() - 1, None),
                    },
                };
                let block = self.load(b)?;
                // The entry after the last one within the bound; step back one from it.
                let end = match position {
                    None => block.len(),
                    Some((k, inclusive)) => block
                        .seek(&k, inclusive)
                        .map_err(|w| table.corrupt_block(b, w))?,
                };
                if end == 0 {
                    return self.enter_previous_block();
                }
                self.entry_index = end - 1;
            }
        }
        self.settle()
    }

    fn load(&mut self, b: usize) -> Result<Block<'a>, Error> {
        let block = self.table.block(b)?;
        self.block_index = b;
        self.block = Some(block);
        Ok(block)
    }

    fn enter_previous_block(&mut self) -> Result<(), Error> {
        if self.block_index == 0 {
            self.block = None;
            self.head = None;
            return Ok(());
        }
        let block = self.load(self.block_index - 1)?;
        self.entry_index = block.len() - 1;
        self.settle()
    }

    /// Sets `head` from the position: moves to the next block if this one is used up, and
    /// ends the cursor at its bound.
    fn settle(&mut self) -> Result<(), Error> {
        let Some(mut block) = self.block else {
            self.head = None;
            return Ok(());
        };
        if self.entry_index >= block.len() {
            debug_assert_eq!(self.direction, Direction::Forward);
            if self.block_index + 1 >= self.table.index.len() {
                self.head = None;
                return Ok(());
            }
            block = self.load(self.block_index + 1)?;
            self.entry_index = 0;
        }
        let entry = block
            .entry(self.entry_index)
            .map_err(|w| self.table.corrupt_block(self.block_index, w))?;
        let inside = match self.direction {
            Direction::Forward => match &self.hi {
                Bound::Unbounded => true,
                Bound::Included(k) => entry.key <= k.as_slice(),
                Bound::Excluded(k) => entry.key < k.as_slice(),
            },
            Direction::Reverse => match &self.lo {
                Bound::Unbounded => true,
                Bound::Included(k) => entry.key >= k.as_slice(),
                Bound::Excluded(k) => entry.key > k.as_slice(),
            },
        };
        self.head = inside.then_some(entry);
        Ok(())
    }
}

impl<'a> Cursor<'a> for TableCursor<'a> {
    fn head(&self) -> Option<EntryRef<'a>> {
        self.head
    }

    fn step(&mut self) -> Result<(), Error> {
        if self.head.is_none() {
            return Ok(());
        }
        match self.direction {
            Direction::Forward => {
                self.entry_index += 1;
                self.settle()
            }
            Direction::Reverse if self.entry_index == 0 => self.enter_previous_block(),
            Direction::Reverse => {
                self.entry_index -= 1;
                self.settle()
            }
        }
    }
}

/// `offset..offset + len` if it ends at or before `end`.
fn section(offset: u64, len: u64, end: usize) -> Option<Range<usize>> {
    let stop = offset.checked_add(len)?;
    (stop <= end as u64).then_some(offset as usize..stop as usize)
}
