//! Reads: point lookups and history pages over memtables and tables.
//!
//! A read sees the current memtable, the frozen memtables waiting for flush, and the live
//! tables of the current version, and merges them newest-wins (`merge.rs`). Only durable
//! batches are ever in a memtable, so a read never returns an unacknowledged write.
//!
//! History pages follow Discord's `before` / `after` / `around` semantics over one
//! channel's messages, which are adjacent in key order (see `key.rs`). A page is always
//! returned newest first.
//!
//! Table pruning, cheapest first: a table whose Bloom filter lacks the channel prefix is
//! skipped; the others are opened lazily in order of their newest (or oldest, for `after`)
//! message key, so a latest-50 page usually opens only the newest table or two.

use std::ops::Bound;

use crate::key::{channel_bounds, MessageKey, KEYSPACE_META};
use crate::memtable::Memtable;
use crate::merge::{Cursor, Direction, EntryRef, Lazy, Merge};
use crate::version::LiveTable;
use crate::Error;

/// Which page of a channel's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest messages.
    Latest,
    /// Messages older than this id.
    Before(u64),
    /// Messages newer than this id (the oldest `limit` of them).
    After(u64),
    /// The message with this id (if it exists), `limit / 2` older ones and the newer ones
    /// that fill the page.
    Around(u64),
}

/// One metadata entry from a scan: its name (without the keyspace byte) and value.
pub type MetaEntry = (Vec<u8>, Vec<u8>);

/// One message of a history page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message's Snowflake.
    pub message_id: u64,
    /// The stored value.
    pub value: Vec<u8>,
}

/// What a read can see: memtables newest first, and the live tables.
pub(crate) struct View<'a> {
    pub memtables: Vec<&'a Memtable>,
    pub tables: &'a [LiveTable],
}

impl<'a> View<'a> {
    /// The current value of `key`, or `None` if absent or deleted.
    pub fn get(&self, key: &[u8]) -> Result<Option<&'a [u8]>, Error> {
        for memtable in &self.memtables {
            if let Some(entry) = memtable.get(key) {
                return Ok(entry.value);
            }
        }
        let mut best: Option<EntryRef<'a>> = None;
        for live in self.tables {
            let footer = live.table.footer();
            if best.is_some_and(|b| b.seq > footer.seq_max) {
                break; // Tables are sorted by seq_max: nothing older can win.
            }
            if let Some(entry) = live.table.get(key)? {
                if best.is_none_or(|b| entry.seq > b.seq) {
                    best = Some(entry);
                }
            }
        }
        Ok(best.and_then(|b| b.value))
    }

    /// Up to `limit` messages of `channel_id` within `(lo, hi)`, newest first.
    pub fn channel_range(
        &self,
        channel_id: u64,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Message>, Error> {
        let (channel_lo, channel_hi) = channel_bounds(channel_id);
        let lo = tighter(lo, Bound::Included(&channel_lo[..]), true);
        let hi = tighter(hi, Bound::Included(&channel_hi[..]), false);
        let mut open: Vec<Box<dyn Cursor<'a> + 'a>> = Vec::new();
        for memtable in &self.memtables {
            open.push(Box::new(memtable.cursor(lo, hi, direction)));
        }
        let prefix = crate::key::channel_prefix(channel_id);
        let mut lazy = Vec::new();
        for live in self.tables {
            let table: &'a crate::sstable::reader::Table = &live.table;
            let footer = table.footer();
            if !footer.has_messages() {
                continue;
            }
            let bound = match direction {
                Direction::Reverse => MessageKey {
                    channel_id,
                    bucket: footer.bucket_max,
                    message_id: footer.message_id_max,
                },
                Direction::Forward => MessageKey {
                    channel_id,
                    bucket: footer.bucket_min,
                    message_id: footer.message_id_min,
                },
            };
            let (lo, hi) = (lo.map(<[u8]>::to_vec), hi.map(<[u8]>::to_vec));
            lazy.push(Lazy {
                bound: bound.encode().to_vec(),
                // The Bloom filter is asked only once the scan reaches the table: probing
                // the filters of every table up front cost more (a cache miss per probe)
                // than the few tables a page actually opens.
                open: Box::new(move || {
                    if !table.may_contain_prefix(&prefix) {
                        return Ok(Box::new(Exhausted) as Box<dyn Cursor<'a> + 'a>);
                    }
                    let cursor = table.cursor(as_ref(&lo), as_ref(&hi), direction)?;
                    Ok(Box::new(cursor) as Box<dyn Cursor<'a> + 'a>)
                }),
            });
        }
        match direction {
            Direction::Forward => lazy.sort_by(|a, b| a.bound.cmp(&b.bound)),
            Direction::Reverse => lazy.sort_by(|a, b| b.bound.cmp(&a.bound)),
        }
        let mut merge = Merge::new(direction, open, lazy);
        let mut out = Vec::with_capacity(limit.min(1024));
        while out.len() < limit {
            let Some(entry) = merge.next_entry()? else {
                break;
            };
            let (Some(value), Some(key)) = (entry.value, MessageKey::decode(entry.key)) else {
                continue;
            };
            out.push(Message {
                message_id: key.message_id,
                value: value.to_vec(),
            });
        }
        if direction == Direction::Forward {
            out.reverse();
        }
        Ok(out)
    }

    /// Up to `limit` metadata entries whose name starts with `prefix`, in name order,
    /// starting after `after` if given. Names are returned without the keyspace byte.
    pub fn scan_meta(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<MetaEntry>, Error> {
        let start = crate::key::encode_meta_key(prefix);
        let after_key = after.map(crate::key::encode_meta_key);
        let lo = match &after_key {
            Some(k) if k.as_slice() >= start.as_slice() => Bound::Excluded(k.as_slice()),
            _ => Bound::Included(start.as_slice()),
        };
        let end = prefix_successor(&start);
        let hi = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let mut open: Vec<Box<dyn Cursor<'a> + 'a>> = Vec::new();
        for memtable in &self.memtables {
            open.push(Box::new(memtable.cursor(lo, hi, Direction::Forward)));
        }
        for live in self.tables {
            let table: &'a crate::sstable::reader::Table = &live.table;
            let before_end = end.as_deref().is_none_or(|e| table.first_key() < e);
            if before_end && table.last_key() >= start.as_slice() {
                open.push(Box::new(table.cursor(lo, hi, Direction::Forward)?));
            }
        }
        let mut merge = Merge::new(Direction::Forward, open, Vec::new());
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(entry) = merge.next_entry()? else {
                break;
            };
            if let Some(value) = entry.value {
                debug_assert_eq!(entry.key[0], KEYSPACE_META);
                out.push((entry.key[1..].to_vec(), value.to_vec()));
            }
        }
        Ok(out)
    }
}

/// A cursor with nothing in it: a table whose filter rules the channel out.
struct Exhausted;

impl<'a> Cursor<'a> for Exhausted {
    fn head(&self) -> Option<EntryRef<'a>> {
        None
    }

    fn step(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    bound.as_ref().map(Vec::as_slice)
}

/// The tighter of two bounds: the larger lower bound (`lower`) or the smaller upper bound.
fn tighter<'k>(a: Bound<&'k [u8]>, b: Bound<&'k [u8]>, lower: bool) -> Bound<&'k [u8]> {
    let key = |bound: &Bound<&'k [u8]>| match bound {
        Bound::Included(k) | Bound::Excluded(k) => Some(*k),
        Bound::Unbounded => None,
    };
    match (key(&a), key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) if x == y => {
            if matches!(a, Bound::Excluded(_)) {
                a
            } else {
                b
            }
        }
        (Some(x), Some(y)) => {
            if (x > y) == lower {
                a
            } else {
                b
            }
        }
    }
}

/// The smallest key greater than every key starting with `prefix`, or `None` if there is
/// none (all bytes 0xFF).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < u8::MAX {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tighter_picks_the_narrower_bound() {
        let (a, b) = (&b"a"[..], &b"b"[..]);
        assert_eq!(
            tighter(Bound::Included(a), Bound::Included(b), true),
            Bound::Included(b)
        );
        assert_eq!(
            tighter(Bound::Included(a), Bound::Included(b), false),
            Bound::Included(a)
        );
        assert_eq!(
            tighter(Bound::Excluded(a), Bound::Included(a), true),
            Bound::Excluded(a)
        );
        assert_eq!(
            tighter(Bound::Unbounded, Bound::Included(a), false),
            Bound::Included(a)
        );
    }

    #[test]
    fn prefix_successor_carries() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    }
}
