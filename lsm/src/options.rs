//! Store options: sizes, queue bounds and the bucket function.

use crate::compaction::Policy;
use crate::key::BucketFn;

/// How a store is shaped. Every queue bound here is also a back-pressure point: when one
/// is reached, `Store::append` returns `Error::Stall` naming it.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The bucket of a message id. Must be non-decreasing in the id and must never change
    /// for a data directory (keys on disk were built with it). The engine passes the
    /// `snowflake` crate's 10-day bucket function.
    pub bucket_of: BucketFn,
    /// A memtable is frozen and flushed once it holds about this many bytes.
    pub memtable_bytes_max: usize,
    /// Frozen memtables allowed to wait for the flush thread before appends stall.
    pub imm_memtables_max: usize,
    /// Bytes appended but not yet durable before appends stall.
    pub commit_bytes_max: usize,
    /// Unsealed tables allowed before appends stall (compaction is behind).
    pub live_tables_max: usize,
    /// Compaction outputs are split at this size.
    pub table_bytes_max: u64,
    /// Target data block size.
    pub block_bytes: usize,
    /// Bloom filter bits per key (10 gives about 1% false positives).
    pub bloom_bits_per_key: usize,
    /// Size-tiered compaction of the live window.
    pub policy: Policy,
}

impl Options {
    /// Production defaults with the caller's bucket function.
    pub fn new(bucket_of: BucketFn) -> Options {
        Options {
            bucket_of,
            memtable_bytes_max: 64 << 20,
            imm_memtables_max: 2,
            commit_bytes_max: 64 << 20,
            live_tables_max: 64,
            table_bytes_max: 256 << 20,
            block_bytes: 4096,
            bloom_bits_per_key: 10,
            // Eight similar tables before a live-window merge: a 10-day window of a busy
            // core (a few memtables) then closes before tiering rewrites it, and lazy table
            // opening keeps reads from paying for the extra tables.
            policy: Policy {
                tier_tables_min: 8,
                tier_tables_max: 16,
            },
        }
    }

    /// Tiny sizes that make flushes and compactions happen every few appends: for tests.
    pub fn tiny(bucket_of: BucketFn) -> Options {
        Options {
            memtable_bytes_max: 16 << 10,
            table_bytes_max: 64 << 10,
            block_bytes: 512,
            policy: Policy {
                tier_tables_min: 3,
                tier_tables_max: 6,
            },
            ..Options::new(bucket_of)
        }
    }
}
