//! A version: the set of live tables at one moment, shared read-only with readers.
//!
//! The maintenance thread publishes a new `Arc<Version>` after every flush or compaction;
//! the store swaps it in on `poll`. Readers hold the old one as long as they like: a table
//! that compaction made obsolete stays mapped until the last version listing it is gone.

use std::sync::Arc;

use crate::sstable::reader::Table;

/// The live tables, newest data first (by highest sequence number).
#[derive(Debug, Default)]
pub struct Version {
    /// Live tables, sorted by `seq_max` descending.
    pub tables: Vec<LiveTable>,
}

/// A live table and its compaction state.
#[derive(Debug, Clone)]
pub struct LiveTable {
    /// The mapped table.
    pub table: Arc<Table>,
    /// Its compaction window.
    pub window: u32,
    /// Whether its closed window has been compacted.
    pub sealed: bool,
}

impl Version {
    /// A version of `tables`, sorted newest first.
    pub fn new(mut tables: Vec<LiveTable>) -> Version {
        tables.sort_by_key(|t| std::cmp::Reverse(t.table.footer().seq_max));
        Version { tables }
    }

    /// Tables not yet sealed (the live window's, and closed ones awaiting compaction).
    pub fn unsealed_count(&self) -> usize {
        self.tables.iter().filter(|t| !t.sealed).count()
    }
}
