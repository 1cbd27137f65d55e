//! The crate's one error type.
//!
//! Anything the disk, the operator or a caller can cause is a value of [`Error`]; a broken
//! internal assumption is a bug and asserts instead. `Error` is `Clone` because one failed
//! fsync fails every ticket that was waiting on it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed: disk full, permissions, an I/O error, or an injected fault.
    /// If it was a WAL write or fsync, the store is poisoned: nothing after the last durable
    /// ticket is acknowledged, and the store must be reopened (which recovers every
    /// acknowledged batch).
    Io {
        /// The operation: "write", "fdatasync", "rename", ...
        op: &'static str,
        /// The file or directory it was applied to.
        path: PathBuf,
        /// The OS error kind.
        kind: io::ErrorKind,
        /// The OS error text.
        message: String,
    },
    /// Bytes on disk fail a checksum or a structural check where no torn WAL tail can explain
    /// it: a bit flip, a truncated table, or a file written by something else. The operator
    /// must restore the directory from a replica; the store never guesses.
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged structure.
        offset: u64,
        /// What failed the check.
        what: &'static str,
    },
    /// Back-pressure: the append was not accepted and nothing was written. Retry after
    /// [`crate::Store::poll`] reports progress (the wake fd fires when it does).
    Stall(Stall),
    /// An earlier WAL write/fsync or a background flush failed (that error was returned
    /// once by `poll`). No further appends are accepted; reopen the store.
    Poisoned,
    /// A key longer than [`crate::key::KEY_LEN_MAX`].
    KeyTooLong {
        /// The key's length in bytes.
        len: usize,
    },
    /// A value longer than [`crate::VALUE_LEN_MAX`].
    ValueTooLong {
        /// The value's length in bytes.
        len: usize,
    },
    /// A background thread of this store is gone (it panicked: a bug). Reopen the store.
    WorkerGone,
}

/// Why an append was refused. Each names the queue that is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stall {
    /// The commit thread has `Options::commit_bytes_max` bytes not yet durable: the disk is
    /// slower than the appends.
    CommitBehind,
    /// The memtable is full and `Options::imm_memtables_max` frozen memtables wait for the
    /// flush thread.
    FlushBehind,
    /// The live window holds `Options::live_tables_max` tables: compaction is behind, and
    /// reads would slow down if writes went on.
    CompactionBehind,
}

impl Error {
    /// Wraps an `io::Error` from operation `op` on `path`.
    pub(crate) fn io(op: &'static str, path: &Path, err: &io::Error) -> Error {
        Error::Io {
            op,
            path: path.to_path_buf(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    /// A corruption at `offset` of `path`.
    pub(crate) fn corrupt(path: &Path, offset: u64, what: &'static str) -> Error {
        Error::Corrupt {
            path: path.to_path_buf(),
            offset,
            what,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                op, path, message, ..
            } => {
                write!(f, "{op} {} failed: {message}", path.display())
            }
            Error::Corrupt { path, offset, what } => write!(
                f,
                "{} is corrupt at byte {offset}: {what}; restore the data directory from a replica",
                path.display()
            ),
            Error::Stall(stall) => write!(f, "append refused, retry after poll: {stall:?}"),
            Error::Poisoned => {
                write!(
                    f,
                    "an earlier write or fsync failed; reopen the store to recover"
                )
            }
            Error::KeyTooLong { len } => write!(f, "key of {len} bytes is too long"),
            Error::ValueTooLong { len } => write!(f, "value of {len} bytes is too long"),
            Error::WorkerGone => write!(f, "a background thread of the store died (a bug)"),
        }
    }
}

impl std::error::Error for Error {}
