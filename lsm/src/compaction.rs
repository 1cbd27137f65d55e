//! Compaction policy: which tables to merge next. Pure decisions, no I/O.
//!
//! Chat history is a time series written in id order and read newest-first, so tables are
//! grouped into *windows* (time-window compaction, as Cassandra's TWCS): a table's window
//! is the newest bucket the store had seen when the table was flushed. Two rules:
//!
//! 1. **Closed windows** (older than the live bucket) are compacted once: all their tables
//!    merge into one sealed table (or a few, if bigger than `table_bytes_max`), dropping
//!    overwritten versions and purgeable tombstones. A closed window holding a single table
//!    without tombstones is sealed without rewriting it. Sealed tables are never compacted
//!    again by this rule: old history costs no further writes.
//! 2. **The live window** is size-tiered: when `tier_tables_min` tables of similar size
//!    (within a factor of two) exist, they merge. This bounds the table count, and so the
//!    read cost, during a busy window while each byte is rewritten only about
//!    log_min(window size / memtable size) times.
//!
//! Why not leveled compaction: it rewrites every byte once per level to keep key ranges
//! disjoint, which pays off for random updates. Here writes are appends at the end of each
//! channel, edits and deletes are rare, and lazy opening by message-id range (see
//! `merge.rs`) already keeps newest-first reads to the newest tables.
//!
//! Tombstones: a tombstone is dropped during a merge only if no table outside the merge
//! that is older than the tombstone may hold its key (per key range and Bloom filter).
//! That check lives with the merge (`maintenance.rs`); `pick_full` exists so an operator
//! (or a test) can force a merge of everything, which drops every tombstone.

use std::collections::BTreeMap;

/// Knobs of the policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Tables of one size tier needed before the live window merges them.
    pub tier_tables_min: usize,
    /// Most tables merged at once in the live window.
    pub tier_tables_max: usize,
}

/// What the policy knows about a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableInfo {
    /// Table id.
    pub id: u64,
    /// Its window.
    pub window: u32,
    /// Already compacted in its closed window.
    pub sealed: bool,
    /// File size.
    pub size: u64,
    /// Tombstones it holds.
    pub tombstones: u64,
}

/// The next piece of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Merge `inputs` into new tables of `window`, sealed or not.
    Merge {
        /// Table ids to merge.
        inputs: Vec<u64>,
        /// Window of the outputs.
        window: u32,
        /// Whether the outputs are sealed.
        sealed: bool,
    },
    /// Mark table `id` sealed without rewriting it.
    Seal {
        /// The table.
        id: u64,
    },
}

/// Sizes within a factor of two share a tier; everything below 1 MiB is tier 0.
fn tier(size: u64) -> u32 {
    64 - (size >> 20).leading_zeros()
}

/// The next compaction, or `None` when there is nothing to do. Tables of `full_bytes` or
/// more (compaction outputs are split at that size) are full and take no part in size
/// tiering: each tiered merge of `tier_tables_min >= 2` tables then leaves at most one
/// table that is not full, so tiering always terminates.
pub fn pick(
    tables: &[TableInfo],
    bucket_live: u32,
    policy: &Policy,
    full_bytes: u64,
) -> Option<Pick> {
    assert!(
        policy.tier_tables_min >= 2,
        "merging one table would never end"
    );
    let mut windows: BTreeMap<u32, Vec<&TableInfo>> = BTreeMap::new();
    for table in tables {
        windows.entry(table.window).or_default().push(table);
    }
    for (&window, members) in windows.range(..bucket_live) {
        if members.iter().all(|t| t.sealed) {
            continue;
        }
        if let [only] = members.as_slice() {
            if only.tombstones == 0 {
                return Some(Pick::Seal { id: only.id });
            }
        }
        let inputs = members.iter().map(|t| t.id).collect();
        return Some(Pick::Merge {
            inputs,
            window,
            sealed: true,
        });
    }
    let live: Vec<&TableInfo> = windows
        .range(bucket_live..)
        .flat_map(|(_, m)| m.iter().copied())
        .collect();
    let mut tiers: BTreeMap<u32, Vec<&TableInfo>> = BTreeMap::new();
    for table in live.iter().filter(|t| !t.sealed && t.size < full_bytes) {
        tiers.entry(tier(table.size)).or_default().push(table);
    }
    for members in tiers.values_mut() {
        if members.len() >= policy.tier_tables_min {
            members.sort_by_key(|t| t.id);
            members.truncate(policy.tier_tables_max);
            let window = members
                .iter()
                .map(|t| t.window)
                .max()
                .unwrap_or(bucket_live);
            let inputs = members.iter().map(|t| t.id).collect();
            return Some(Pick::Merge {
                inputs,
                window,
                sealed: false,
            });
        }
    }
    None
}

/// A merge of every table (a full compaction), or `None` if that would change nothing.
pub fn pick_full(tables: &[TableInfo], bucket_live: u32) -> Option<Pick> {
    if tables.is_empty() || (tables.len() == 1 && tables[0].tombstones == 0) {
        return None;
    }
    let window = tables.iter().map(|t| t.window).max().unwrap_or(0);
    let inputs = tables.iter().map(|t| t.id).collect();
    Some(Pick::Merge {
        inputs,
        window,
        sealed: window < bucket_live,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        tier_tables_min: 4,
        tier_tables_max: 8,
    };
    const FULL: u64 = 256 << 20;

    fn table(id: u64, window: u32, size_mib: u64) -> TableInfo {
        TableInfo {
            id,
            window,
            sealed: false,
            size: size_mib << 20,
            tombstones: 0,
        }
    }

    #[test]
    fn closed_window_merges_once_then_is_left_alone() {
        let tables = [table(1, 5, 4), table(2, 5, 4), table(3, 6, 4)];
        let want = Pick::Merge {
            inputs: vec![1, 2],
            window: 5,
            sealed: true,
        };
        assert_eq!(pick(&tables, 6, &POLICY, FULL), Some(want));
        let after = [
            TableInfo {
                sealed: true,
                ..table(4, 5, 8)
            },
            table(3, 6, 4),
        ];
        assert_eq!(pick(&after, 6, &POLICY, FULL), None);
    }

    #[test]
    fn single_clean_table_is_sealed_without_a_rewrite() {
        assert_eq!(
            pick(&[table(1, 5, 4)], 6, &POLICY, FULL),
            Some(Pick::Seal { id: 1 })
        );
        let tombstoned = TableInfo {
            tombstones: 3,
            ..table(1, 5, 4)
        };
        let want = Pick::Merge {
            inputs: vec![1],
            window: 5,
            sealed: true,
        };
        assert_eq!(pick(&[tombstoned], 6, &POLICY, FULL), Some(want));
    }

    #[test]
    fn live_window_is_size_tiered() {
        let mut tables: Vec<_> = (1..=3).map(|id| table(id, 9, 4)).collect();
        tables.push(table(4, 9, 64));
        assert_eq!(
            pick(&tables, 9, &POLICY, FULL),
            None,
            "three similar tables are not enough"
        );
        tables.push(table(5, 9, 5));
        let want = Pick::Merge {
            inputs: vec![1, 2, 3, 5],
            window: 9,
            sealed: false,
        };
        assert_eq!(pick(&tables, 9, &POLICY, FULL), Some(want));
    }

    proptest::proptest! {
        /// Applying picks until there are none always ends, whatever the starting tables.
        #[test]
        fn picking_terminates(
            sizes in proptest::collection::vec((0u32..4, 1u64..600), 0..40),
            bucket_live in 0u32..5,
        ) {
            let full = 64u64 << 20;
            let mut tables: Vec<TableInfo> = sizes
                .iter()
                .enumerate()
                .map(|(i, &(window, kib))| TableInfo {
                    id: i as u64,
                    window,
                    sealed: false,
                    size: kib << 17,
                    tombstones: (i % 3) as u64,
                })
                .collect();
            let mut next_id = tables.len() as u64;
            let mut steps = 0;
            while let Some(p) = pick(&tables, bucket_live, &POLICY, full) {
                steps += 1;
                proptest::prop_assert!(steps < 1000, "no fixpoint: {:?}", p);
                match p {
                    Pick::Seal { id } => {
                        tables.iter_mut().filter(|t| t.id == id).for_each(|t| t.sealed = true)
                    }
                    Pick::Merge { inputs, window, sealed } => {
                        let mut total: u64 =
                            tables.iter().filter(|t| inputs.contains(&t.id)).map(|t| t.size).sum();
                        tables.retain(|t| !inputs.contains(&t.id));
                        while total > 0 {
                            let size = total.min(full);
                            total -= size;
                            tables.push(TableInfo { id: next_id, window, sealed, size, tombstones: 0 });
                            next_id += 1;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn full_tables_are_not_tiered_again() {
        let tables: Vec<_> = (1..=5).map(|id| table(id, 9, 300)).collect();
        assert_eq!(pick(&tables, 9, &POLICY, FULL), None);
    }

    #[test]
    fn full_compaction_takes_everything() {
        assert_eq!(pick_full(&[table(1, 3, 1)], 9), None);
        let want = Pick::Merge {
            inputs: vec![1, 2],
            window: 9,
            sealed: false,
        };
        assert_eq!(pick_full(&[table(1, 3, 1), table(2, 9, 1)], 9), Some(want));
    }
}
