//! The write-ahead log: records (`record.rs`), the group-commit thread that writes and
//! fsyncs them (`commit.rs`), and replay at open (`replay.rs`).
//!
//! The WAL is a directory of segments `NNNNNNNNNNNN.wal`. A segment is closed when its
//! memtable is frozen and deleted once every record in it is inside a table the manifest
//! lists (`seq_last <= manifest.seq_flushed`). That bounds both disk use and reopen time.

pub mod commit;
pub mod record;
pub mod replay;

use std::path::{Path, PathBuf};

/// The file name of WAL segment `id`.
pub fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:012}.wal"))
}

/// The id of a WAL segment file name, or `None` for other names.
pub fn segment_id(name: &str) -> Option<u64> {
    name.strip_suffix(".wal").and_then(|s| s.parse().ok())
}
