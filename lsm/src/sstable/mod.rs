//! Sorted string tables: the immutable files a memtable is flushed into.
//!
//! ```text
//! +---------+---------+-----+---------+-------------+--------------+----------+
//! | block 0 | block 1 | ... | block n | index block | bloom filter | footer   |
//! +---------+---------+-----+---------+-------------+--------------+----------+
//!                                                                   96 bytes
//! ```
//!
//! Data blocks (`block.rs`) hold sorted entries; the index (`index.rs`) holds each block's
//! last key and position; the Bloom filter (`bloom.rs`) answers "might this table hold this
//! key / any message of this channel"; the fixed-size footer (`footer.rs`) locates the
//! index and filter and carries the table's statistics. `builder.rs` writes a table in one
//! pass; `reader.rs` maps it and reads it.

pub mod block;
pub mod bloom;
pub mod builder;
pub mod footer;
pub mod index;
pub mod reader;

use std::path::{Path, PathBuf};

/// The file name of table `id`.
pub fn table_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:012}.sst"))
}

/// The id of a table file name, or `None` for other names.
pub fn table_id(name: &str) -> Option<u64> {
    name.strip_suffix(".sst").and_then(|s| s.parse().ok())
}
