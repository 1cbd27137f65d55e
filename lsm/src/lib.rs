//! `lsm`: Flux's message store. Durable on acknowledgement, fast scroll-back, crash-proof.
//!
//! Chat history is an append-mostly time series: messages arrive in Snowflake order per
//! channel, are read newest-first in pages of 50, and are rarely edited or deleted. This
//! crate stores them in a log-structured merge tree, one [`Store`] per core
//! (shared-nothing: the core that owns a guild owns its store), together with a general
//! metadata keyspace so the engine needs no second store.
//!
//! It does file I/O (that is its job) but never opens a socket and never reads the clock.
//! Two helper threads per store do the blocking work: the commit thread (`wal/commit.rs`,
//! group commit) and the maintenance thread (`maintenance.rs`, flush and compaction). The
//! owning reactor thread never blocks on either.
//!
//! # Using it from a reactor
//!
//! ```
//! use lsm::{Options, Page, Store};
//!
//! // The engine passes snowflake's 10-day bucket function here.
//! fn bucket_of(message_id: u64) -> u32 {
//!     ((message_id >> 22) / (10 * 86_400_000)) as u32
//! }
//!
//! # let dir = std::env::temp_dir().join(format!("lsm-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let mut store = Store::open(&dir, Options::new(bucket_of))?; // <data-dir>/core-N/
//!
//! // Each reactor tick: one batch of everything the tick wants stored.
//! let mut batch = store.batch();
//! batch.put_message(42, 1 << 22, b"{\"content\":\"hi\"}".to_vec());
//! batch.put_meta(b"channel/42/last_message_id", (1u64 << 22).to_be_bytes().to_vec());
//! let ticket = store.append(batch)?; // never blocks; Err(Stall) is back-pressure
//!
//! // The reactor registers store.wake_fd() for readability and calls poll() when it
//! // fires: poll() returns the highest durable ticket; acknowledge everything up to it.
//! # store.wait_durable(ticket)?; // (a test helper; a reactor polls instead)
//! # let durable = store.durable();
//! assert!(durable >= ticket);
//!
//! let page = store.history(42, Page::Latest, 50)?;
//! assert_eq!(page[0].message_id, 1 << 22);
//! assert!(store.get_meta(b"channel/42/last_message_id")?.is_some());
//! store.close()?;
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), lsm::Error>(())
//! ```
//!
//! # Where to read
//!
//! `store.rs` (the write path and the API), then `wal/` (records, group commit, replay),
//! `memtable.rs`, `sstable/` (the table format), `merge.rs` and `read.rs` (reads),
//! `manifest.rs`, `compaction.rs` and `maintenance.rs` (flush and compaction). The file
//! formats are drawn byte by byte in each module and in `docs/STORAGE.md`.
//!
//! `unsafe` lives only in `sys.rs` (the table mmap and the wake eventfd).
//!
//! # Fuzzing
//!
//! `cd lsm/fuzz && cargo +nightly fuzz run wal_record` (and `sstable_block`, `manifest`).

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
pub mod compaction;
pub mod error;
pub mod fs;
pub mod key;
mod maintenance;
pub mod manifest;
pub mod memtable;
pub mod merge;
pub mod options;
mod read;
pub mod sstable;
mod store;
#[allow(unsafe_code)]
mod sys;
pub mod version;
pub mod wal;

pub use batch::{Batch, Op};
pub use error::{Error, Stall};
pub use maintenance::MaintenanceStats;
pub use options::Options;
pub use read::{Message, MetaEntry, Page};
pub use store::{RecoveryReport, Stats, Store, Ticket};

/// Longest value accepted (16 MiB): far above any message, and below the tombstone marker.
pub const VALUE_LEN_MAX: usize = 16 << 20;
