//! The merging cursor: one sorted stream out of memtables and tables, newest version wins.
//!
//! Every source (a memtable or a table) yields entries in key order for one direction.
//! The same key can appear in several sources: the entry with the highest sequence number
//! is the current one, and the others are hidden. A tombstone is returned like any entry;
//! readers skip it, compaction decides whether it can be dropped.
//!
//! Sources may be *lazy*: a table is opened only when the scan could reach it. A lazy
//! source carries a bound, the most extreme key it could hold in the scan's direction
//! (for a newest-first channel scan: the table's largest message key of that channel). As
//! long as the best head among the open sources lies beyond every unopened bound, the
//! unopened tables cannot hold that key or anything before it, so a latest-50 read touches
//! the memtables and the one or two newest tables however many tables exist.
//!
//! Invariants:
//! - Each source yields strictly increasing (forward) or decreasing (reverse) keys.
//! - Lazy sources are sorted by bound in scan order (asserted in debug builds).

use std::cmp::Ordering;

use crate::Error;

/// Scan direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending key order (oldest message first).
    Forward,
    /// Descending key order (newest message first).
    Reverse,
}

/// One version of one key, borrowed from a memtable or a mapped table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The encoded key.
    pub key: &'a [u8],
    /// The sequence number of the batch that wrote it.
    pub seq: u64,
    /// The value, or `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

/// A positioned stream of entries.
pub trait Cursor<'a> {
    /// The current entry, or `None` when exhausted.
    fn head(&self) -> Option<EntryRef<'a>>;
    /// Moves to the next entry in the cursor's direction.
    fn step(&mut self) -> Result<(), Error>;
}

/// Opens a lazy source.
pub type Opener<'a> = Box<dyn FnOnce() -> Result<Box<dyn Cursor<'a> + 'a>, Error> + 'a>;

/// A source opened only when the scan reaches `bound`.
pub struct Lazy<'a> {
    /// The most extreme key the source could yield in the scan direction.
    pub bound: Vec<u8>,
    /// Opens the source, positioned at the scan's start.
    pub open: Opener<'a>,
}

/// The merge of several cursors.
pub struct Merge<'a> {
    direction: Direction,
    open: Vec<Box<dyn Cursor<'a> + 'a>>,
    /// Unopened sources, in reverse scan order so the next one pops off the end.
    lazy: Vec<Lazy<'a>>,
}

impl<'a> Merge<'a> {
    /// Merges `open` sources now and `lazy` ones (sorted by bound in scan order) on demand.
    pub fn new(
        direction: Direction,
        open: Vec<Box<dyn Cursor<'a> + 'a>>,
        mut lazy: Vec<Lazy<'a>>,
    ) -> Merge<'a> {
        debug_assert!(lazy.windows(2).all(|w| match direction {
            Direction::Forward => w[0].bound <= w[1].bound,
            Direction::Reverse => w[0].bound >= w[1].bound,
        }));
        lazy.reverse();
        Merge {
            direction,
            open,
            lazy,
        }
    }

    /// The next current version of a key (tombstones included), or `None` at the end.
    pub fn next_entry(&mut self) -> Result<Option<EntryRef<'a>>, Error> {
        loop {
            let best = self.best();
            if let Some(lazy) = self.lazy.last() {
                let reachable = match best {
                    None => true,
                    Some(entry) => self.before_or_at(&lazy.bound, entry.key),
                };
                if reachable {
                    let lazy = self.lazy.pop().expect("checked by last()");
                    self.open.push((lazy.open)()?);
                    continue;
                }
            }
            let Some(best) = best else { return Ok(None) };
            for cursor in &mut self.open {
                if cursor.head().is_some_and(|head| head.key == best.key) {
                    cursor.step()?;
                }
            }
            return Ok(Some(best));
        }
    }

    /// The head that comes first in scan order; among equal keys the highest seq.
    fn best(&self) -> Option<EntryRef<'a>> {
        let mut best: Option<EntryRef<'a>> = None;
        for head in self.open.iter().filter_map(|c| c.head()) {
            best = match best {
                None => Some(head),
                Some(current) => {
                    let order = match self.direction {
                        Direction::Forward => head.key.cmp(current.key),
                        Direction::Reverse => current.key.cmp(head.key),
                    };
                    match order {
                        Ordering::Less => Some(head),
                        Ordering::Equal if head.seq > current.seq => Some(head),
                        _ => Some(current),
                    }
                }
            };
        }
        best
    }

    /// True if `bound` comes before `key` in scan order, or equals it.
    fn before_or_at(&self, bound: &[u8], key: &[u8]) -> bool {
        match self.direction {
            Direction::Forward => bound <= key,
            Direction::Reverse => bound >= key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Owned = (Vec<u8>, u64, Option<Vec<u8>>);

    /// A cursor over a slice sorted in scan order.
    struct SliceCursor<'a> {
        entries: &'a [Owned],
        index: usize,
    }

    impl<'a> Cursor<'a> for SliceCursor<'a> {
        fn head(&self) -> Option<EntryRef<'a>> {
            self.entries.get(self.index).map(|(k, s, v)| EntryRef {
                key: k,
                seq: *s,
                value: v.as_deref(),
            })
        }
        fn step(&mut self) -> Result<(), Error> {
            self.index += 1;
            Ok(())
        }
    }

    fn entry(key: u8, seq: u64, value: Option<u8>) -> Owned {
        (vec![key], seq, value.map(|v| vec![v]))
    }

    fn drain(mut merge: Merge<'_>) -> Vec<(u8, u64, Option<u8>)> {
        let mut out = Vec::new();
        while let Some(e) = merge.next_entry().unwrap() {
            out.push((e.key[0], e.seq, e.value.map(|v| v[0])));
        }
        out
    }

    #[test]
    fn newest_wins_and_tombstones_surface() {
        let old = vec![
            entry(1, 1, Some(10)),
            entry(2, 1, Some(20)),
            entry(4, 1, Some(40)),
        ];
        let new = vec![
            entry(2, 5, None),
            entry(3, 5, Some(31)),
            entry(4, 6, Some(41)),
        ];
        let merge = Merge::new(
            Direction::Forward,
            vec![
                Box::new(SliceCursor {
                    entries: &old,
                    index: 0,
                }),
                Box::new(SliceCursor {
                    entries: &new,
                    index: 0,
                }),
            ],
            vec![],
        );
        assert_eq!(
            drain(merge),
            [
                (1, 1, Some(10)),
                (2, 5, None),
                (3, 5, Some(31)),
                (4, 6, Some(41))
            ]
        );
    }

    #[test]
    fn lazy_source_opens_only_when_reachable() {
        let newer: Vec<Owned> = vec![entry(9, 9, Some(9)), entry(8, 8, Some(8))];
        let older: Vec<Owned> = vec![entry(5, 2, Some(5)), entry(4, 1, Some(4))];
        let opened = std::cell::Cell::new(false);
        let lazy = Lazy {
            bound: vec![5],
            open: Box::new(|| {
                opened.set(true);
                Ok(Box::new(SliceCursor {
                    entries: &older,
                    index: 0,
                }) as Box<dyn Cursor<'_>>)
            }),
        };
        let mut merge = Merge::new(
            Direction::Reverse,
            vec![Box::new(SliceCursor {
                entries: &newer,
                index: 0,
            })],
            vec![lazy],
        );
        assert_eq!(merge.next_entry().unwrap().map(|e| e.key[0]), Some(9));
        assert_eq!(merge.next_entry().unwrap().map(|e| e.key[0]), Some(8));
        assert!(!opened.get(), "bound 5 is behind both heads");
        assert_eq!(merge.next_entry().unwrap().map(|e| e.key[0]), Some(5));
        assert!(opened.get());
        assert_eq!(merge.next_entry().unwrap().map(|e| e.key[0]), Some(4));
        assert_eq!(merge.next_entry().unwrap(), None);
    }
}
