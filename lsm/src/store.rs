//! The store: one per core, owned by that core's reactor thread.
//!
//! The write path of one message:
//!
//! 1. The reactor adds it to a [`Batch`] during its tick and calls [`Store::append`]. The
//!    batch is encoded as one WAL record and queued to the commit thread; `append`
//!    returns a [`Ticket`] at once, or `Error::Stall` (back-pressure, nothing written).
//! 2. The commit thread writes every queued record with one `write` and one `fdatasync`
//!    (group commit), publishes the highest durable ticket and signals the wake fd.
//! 3. The reactor, woken by the fd (or on its next tick), calls [`Store::poll`]. Durable
//!    batches move into the memtable (now readable) and `poll` returns the highest
//!    durable ticket: every append with a ticket up to it may be acknowledged.
//!
//! When the memtable is full, `poll` freezes it, rotates the WAL to a new segment and
//! hands the frozen memtable to the maintenance thread, which writes a table, updates the
//! manifest and deletes WAL segments it covers; `poll` then swaps in the new table set.
//!
//! Nothing here blocks except `open`, `close` and the `wait_*` helpers, which are for
//! startup, shutdown, tests and tools, never for a reactor tick.
//!
//! Invariants:
//! - `durable_seq <= next_seq - 1`; pending batches are exactly `durable_seq+1..next_seq`
//!   minus those already applied, in order.
//! - Only durable batches are in a memtable.
//! - A WAL segment is deleted only once a durable manifest covers its last record.

use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::batch::Batch;
use crate::fs::Fs;
use crate::key::{encode_meta_key, MessageKey, KEY_LEN_MAX};
use crate::maintenance::{Done, FlushJob, Job, Maintenance, MaintenanceStats, Settings};
use crate::manifest::{self, Manifest};
use crate::memtable::Memtable;
use crate::merge::Direction;
use crate::read::{Message, MetaEntry, Page, View};
use crate::sstable::builder::TableShape;
use crate::sstable::reader::Table;
use crate::sstable::{table_id, table_path};
use crate::sys::Wake;
use crate::version::{LiveTable, Version};
use crate::wal::commit::{CommitMsg, CommitThread};
use crate::wal::record::encode_record;
use crate::wal::replay::replay;
use crate::{Error, Options, Stall, VALUE_LEN_MAX};

/// Identifies an appended batch. Tickets increase by one per append; when `poll` reports
/// ticket `t` durable, every ticket `<= t` is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

/// What `open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Tables listed in the manifest.
    pub tables: usize,
    /// WAL batches replayed into the memtable.
    pub batches_replayed: u64,
    /// Bytes cut off a torn WAL tail.
    pub wal_bytes_truncated: u64,
    /// Table files not in the manifest (left by an interrupted flush or compaction), removed.
    pub orphan_tables_removed: usize,
}

/// Counters for benchmarks and monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Key and value bytes appended by callers.
    pub user_bytes: u64,
    /// Bytes written to the WAL.
    pub wal_bytes: u64,
    /// Group commits (fdatasyncs of the WAL).
    pub wal_syncs: u64,
    /// Table bytes written by flushes.
    pub flush_bytes: u64,
    /// Flushes.
    pub flushes: u64,
    /// Table bytes written by compactions.
    pub compaction_bytes_written: u64,
    /// Table bytes read by compactions.
    pub compaction_bytes_read: u64,
    /// Compactions (merges and seals).
    pub compactions: u64,
    /// Tombstones dropped by compactions.
    pub tombstones_purged: u64,
    /// Live tables.
    pub tables: usize,
    /// Bytes in the current memtable.
    pub memtable_bytes: usize,
}

impl Stats {
    /// All bytes written to disk divided by the bytes the caller appended.
    pub fn write_amplification(&self) -> f64 {
        let written = self.wal_bytes + self.flush_bytes + self.compaction_bytes_written;
        written as f64 / self.user_bytes.max(1) as f64
    }
}

/// A message store. See the crate docs for the API walk-through.
pub struct Store {
    dir: PathBuf,
    options: Options,
    memtable: Memtable,
    /// Frozen memtables, oldest first, waiting for the flush thread.
    imms: VecDeque<Arc<Memtable>>,
    version: Arc<Version>,
    /// Appended batches not yet durable, in ticket order.
    pending: VecDeque<(u64, Batch, usize)>,
    pending_bytes: usize,
    next_seq: u64,
    durable_seq: u64,
    reported_seq: u64,
    segment_id: u64,
    closed_segments: Vec<(u64, u64)>,
    bucket_live: u32,
    jobs_done: u64,
    poisoned: bool,
    user_bytes: u64,
    recovery: RecoveryReport,
    maintenance_stats: Arc<MaintenanceStats>,
    commit: CommitThread,
    maintenance: Maintenance,
    wake: Arc<Wake>,
}

impl Store {
    /// Opens (or creates) the store in `dir`: loads the manifest, removes orphan tables,
    /// replays the WAL after the last flush (cutting off a torn tail), and starts the
    /// commit and maintenance threads. The directory must belong to this process alone.
    pub fn open(dir: &Path, options: Options) -> Result<Store, Error> {
        Store::open_with_fs(dir, options, Fs::real())
    }

    /// [`Store::open`] on a given file layer (tests inject faults through it).
    pub fn open_with_fs(dir: &Path, options: Options, fs: Fs) -> Result<Store, Error> {
        assert!(options.imm_memtables_max >= 1 && options.memtable_bytes_max > 0);
        fs.create_dir_all(dir)?;
        fs.remove(&dir.join(manifest::TMP_NAME))?;
        let manifest = Manifest::load(&fs, dir)?.unwrap_or_default();
        let mut recovery = RecoveryReport {
            tables: manifest.tables.len(),
            ..Default::default()
        };

        let mut tables = Vec::with_capacity(manifest.tables.len());
        for record in &manifest.tables {
            let table = Table::open(&fs, &table_path(dir, record.id), record.id)?;
            tables.push(LiveTable {
                table: Arc::new(table),
                window: record.window,
                sealed: record.sealed,
            });
        }
        for name in fs.list(dir)? {
            let Some(id) = table_id(&name) else { continue };
            if !manifest.tables.iter().any(|r| r.id == id) {
                fs.remove(&dir.join(&name))?;
                recovery.orphan_tables_removed += 1;
            }
        }

        let mut memtable = Memtable::default();
        let mut bucket_live = manifest.bucket_live;
        let replayed = replay(&fs, dir, manifest.seq_flushed, |seq, ops| {
            for op in ops {
                if let Some(key) = MessageKey::decode(&op.key) {
                    bucket_live = bucket_live.max(key.bucket);
                }
                memtable.insert(seq, op.key, op.value);
            }
        })?;
        recovery.batches_replayed = replayed.batches_applied;
        recovery.wal_bytes_truncated = replayed.bytes_truncated;

        let segment_id = replayed.segments.last().map_or(1, |&(id, _)| id + 1);
        let wake = Arc::new(Wake::new().map_err(|e| Error::io("eventfd", dir, &e))?);
        let commit =
            CommitThread::spawn(fs.clone(), dir, segment_id, replayed.seq_last, wake.clone())?;
        let version = Arc::new(Version::new(tables.clone()));
        let maintenance_stats = Arc::new(MaintenanceStats::default());
        let settings = Settings {
            shape: TableShape {
                block_bytes: options.block_bytes,
                bloom_bits_per_key: options.bloom_bits_per_key,
            },
            table_bytes_max: options.table_bytes_max,
            policy: options.policy,
        };
        let maintenance = Maintenance::spawn(
            fs,
            dir,
            settings,
            manifest,
            tables,
            maintenance_stats.clone(),
            wake.clone(),
        )?;
        let mut store = Store {
            dir: dir.to_path_buf(),
            options,
            memtable,
            imms: VecDeque::new(),
            version,
            pending: VecDeque::new(),
            pending_bytes: 0,
            next_seq: replayed.seq_last + 1,
            durable_seq: replayed.seq_last,
            reported_seq: replayed.seq_last,
            segment_id,
            closed_segments: replayed.segments,
            bucket_live,
            jobs_done: 0,
            poisoned: false,
            user_bytes: 0,
            recovery,
            maintenance_stats,
            commit,
            maintenance,
            wake,
        };
        store.maybe_freeze()?;
        Ok(store)
    }

    /// A new empty batch using this store's bucket function.
    pub fn batch(&self) -> Batch {
        Batch::new(self.options.bucket_of)
    }

    /// Submits `batch` for durable storage. Never blocks. On success the batch's ops are
    /// moved out (the empty batch can be reused) and its ticket is returned. On error the
    /// batch is left untouched: `Error::Stall` means nothing was written, retry after
    /// `poll` reports progress; `Error::Poisoned` means a failure happened earlier.
    pub fn append(&mut self, batch: &mut Batch) -> Result<Ticket, Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        for op in batch.ops() {
            if op.key.len() > KEY_LEN_MAX {
                return Err(Error::KeyTooLong { len: op.key.len() });
            }
            if let Some(len) = op
                .value
                .as_ref()
                .map(Vec::len)
                .filter(|&n| n > VALUE_LEN_MAX)
            {
                return Err(Error::ValueTooLong { len });
            }
        }
        if let Some(stall) = self.stall() {
            return Err(Error::Stall(stall));
        }
        let batch = batch.take();
        let seq = self.next_seq;
        let mut record = Vec::with_capacity(batch.bytes() + 16 + 11 * batch.len());
        encode_record(seq, batch.ops(), &mut record);
        let record_len = record.len();
        self.commit.send(CommitMsg::Record { seq, bytes: record })?;
        self.pending_bytes += record_len;
        self.next_seq += 1;
        self.user_bytes += batch.bytes() as u64;
        self.pending.push_back((seq, batch, record_len));
        Ok(Ticket(seq))
    }

    /// Applies background progress: makes durable batches readable, swaps in new table
    /// sets, starts flushes. Returns the highest durable ticket if it advanced since the
    /// last call. Never blocks. Call it when the wake fd is readable, or every tick.
    ///
    /// A WAL or flush failure is returned here once (then `Error::Poisoned`); tickets
    /// after the last reported durable one will never become durable in this process.
    pub fn poll(&mut self) -> Result<Option<Ticket>, Error> {
        self.wake.drain();
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let (durable_seq, error) = self.commit.state();
        self.apply_durable(durable_seq);
        if let Some(err) = error {
            self.poisoned = true;
            return Err(err);
        }
        while let Some(done) = self.maintenance.try_recv() {
            self.handle_done(done)?;
        }
        self.maybe_freeze()?;
        if self.durable_seq > self.reported_seq {
            self.reported_seq = self.durable_seq;
            return Ok(Some(Ticket(self.durable_seq)));
        }
        Ok(None)
    }

    /// The highest ticket known durable (as of the last `poll`).
    pub fn durable(&self) -> Ticket {
        Ticket(self.durable_seq)
    }

    /// An eventfd that becomes readable when `poll` has something to do. Register it in
    /// the reactor for readability; `poll` resets it. `None` only under Miri.
    pub fn wake_fd(&self) -> Option<BorrowedFd<'_>> {
        self.wake.fd()
    }

    /// The current value of message `message_id` in `channel_id`.
    pub fn get_message(&self, channel_id: u64, message_id: u64) -> Result<Option<Vec<u8>>, Error> {
        let key = MessageKey::new(channel_id, message_id, self.options.bucket_of).encode();
        Ok(self.view().get(&key)?.map(<[u8]>::to_vec))
    }

    /// The current value of metadata entry `name`.
    pub fn get_meta(&self, name: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let key = encode_meta_key(name);
        if key.len() > KEY_LEN_MAX {
            return Err(Error::KeyTooLong { len: key.len() });
        }
        Ok(self.view().get(&key)?.map(<[u8]>::to_vec))
    }

    /// Up to `limit` metadata entries whose name starts with `prefix`, in name order,
    /// after `after` if given (for paging). Names come back without the keyspace byte.
    pub fn scan_meta(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<MetaEntry>, Error> {
        self.view().scan_meta(prefix, after, limit)
    }

    /// One page of `channel_id`'s history, newest first, at most `limit` messages.
    pub fn history(
        &self,
        channel_id: u64,
        page: Page,
        limit: usize,
    ) -> Result<Vec<Message>, Error> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let view = self.view();
        let key = |id| MessageKey::new(channel_id, id, self.options.bucket_of).encode();
        match page {
            Page::Latest => {
                view.channel_range(channel_id, Unbounded, Unbounded, Direction::Reverse, limit)
            }
            Page::Before(id) => {
                let k = key(id);
                view.channel_range(
                    channel_id,
                    Unbounded,
                    Excluded(&k),
                    Direction::Reverse,
                    limit,
                )
            }
            Page::After(id) => {
                let k = key(id);
                view.channel_range(
                    channel_id,
                    Excluded(&k),
                    Unbounded,
                    Direction::Forward,
                    limit,
                )
            }
            Page::Around(id) => {
                let k = key(id);
                let older = limit / 2;
                let newer = limit - older;
                let mut page = view.channel_range(
                    channel_id,
                    Included(&k),
                    Unbounded,
                    Direction::Forward,
                    newer,
                )?;
                page.extend(view.channel_range(
                    channel_id,
                    Unbounded,
                    Excluded(&k),
                    Direction::Reverse,
                    older,
                )?);
                Ok(page)
            }
        }
    }

    /// Freezes the memtable and queues its flush now (tests, shutdown, tools). Returns
    /// `Error::Stall` if too many frozen memtables already wait.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.poll()?;
        if self.memtable.is_empty() {
            return Ok(());
        }
        if self.imms.len() >= self.options.imm_memtables_max {
            return Err(Error::Stall(Stall::FlushBehind));
        }
        self.freeze()
    }

    /// Queues a compaction: the policy's next pick, or with `full` a merge of every table
    /// (which drops every tombstone). Runs in the background; `poll` applies the result.
    pub fn compact(&mut self, full: bool) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        self.maintenance.send(Job::Compact { full })
    }

    /// Blocks until `ticket` is durable (and applied). Not for reactor threads.
    pub fn wait_durable(&mut self, ticket: Ticket) -> Result<(), Error> {
        self.commit.wait_durable(ticket.0)?;
        self.poll()?;
        Ok(())
    }

    /// Blocks until every append is durable and the maintenance thread has finished
    /// every job and compaction it had. Not for reactor threads.
    pub fn wait_idle(&mut self) -> Result<(), Error> {
        self.wait_durable(Ticket(self.next_seq - 1))?;
        loop {
            self.poll()?;
            if self.jobs_done == self.maintenance.jobs_sent {
                return Ok(());
            }
            if let Some(done) = self.maintenance.recv_blocking()? {
                self.handle_done(done)?;
            }
        }
    }

    /// Waits for every append to be durable, then stops the background threads (queued
    /// flushes finish first). Dropping a store does the same but ignores errors.
    pub fn close(mut self) -> Result<(), Error> {
        let last = Ticket(self.next_seq - 1);
        let result = self.wait_durable(last);
        self.commit.shutdown();
        self.maintenance.shutdown();
        result
    }

    /// What `open` recovered.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Counters since open.
    pub fn stats(&self) -> Stats {
        let m = &self.maintenance_stats;
        let c = self.commit.shared();
        Stats {
            user_bytes: self.user_bytes,
            wal_bytes: c.bytes_written.load(Ordering::Relaxed),
            wal_syncs: c.syncs.load(Ordering::Relaxed),
            flush_bytes: m.flush_bytes.load(Ordering::Relaxed),
            flushes: m.flushes.load(Ordering::Relaxed),
            compaction_bytes_written: m.compaction_bytes_written.load(Ordering::Relaxed),
            compaction_bytes_read: m.compaction_bytes_read.load(Ordering::Relaxed),
            compactions: m.compactions.load(Ordering::Relaxed),
            tombstones_purged: m.tombstones_purged.load(Ordering::Relaxed),
            tables: self.version.tables.len(),
            memtable_bytes: self.memtable.bytes(),
        }
    }

    /// Bytes the store's files take on disk now.
    pub fn disk_bytes(&self) -> Result<u64, Error> {
        Fs::real().dir_bytes(&self.dir)
    }

    fn view(&self) -> View<'_> {
        let mut memtables = Vec::with_capacity(1 + self.imms.len());
        memtables.push(&self.memtable);
        memtables.extend(self.imms.iter().rev().map(|m| &**m));
        View {
            memtables,
            tables: &self.version.tables,
        }
    }

    fn stall(&self) -> Option<Stall> {
        if self.pending_bytes >= self.options.commit_bytes_max {
            return Some(Stall::CommitBehind);
        }
        let full = self.memtable.bytes() >= self.options.memtable_bytes_max;
        if full && self.imms.len() >= self.options.imm_memtables_max {
            return Some(Stall::FlushBehind);
        }
        if self.version.unsealed_count() >= self.options.live_tables_max {
            return Some(Stall::CompactionBehind);
        }
        None
    }

    fn apply_durable(&mut self, durable_seq: u64) {
        assert!(durable_seq < self.next_seq, "nothing unsent can be durable");
        while self
            .pending
            .front()
            .is_some_and(|(seq, _, _)| *seq <= durable_seq)
        {
            let (seq, batch, record_len) = self.pending.pop_front().expect("checked by front()");
            self.pending_bytes -= record_len;
            for op in batch.ops {
                if let Some(key) = MessageKey::decode(&op.key) {
                    self.bucket_live = self.bucket_live.max(key.bucket);
                }
                self.memtable.insert(seq, op.key, op.value);
            }
        }
        debug_assert!(!self.pending.is_empty() || self.pending_bytes == 0);
        self.durable_seq = self.durable_seq.max(durable_seq);
    }

    fn handle_done(&mut self, done: Done) -> Result<(), Error> {
        match done {
            Done::Flushed { seq_max, version } => {
                let flushed = self
                    .imms
                    .pop_front()
                    .expect("a flush finishes a frozen memtable");
                assert_eq!(flushed.seq_max(), seq_max, "flushes finish in order");
                self.version = version;
                self.maintenance.send(Job::Release(flushed))?;
            }
            Done::Compacted { version } => self.version = version,
            Done::Idle { jobs_done } => self.jobs_done = jobs_done,
            Done::Failed(err) => {
                self.poisoned = true;
                return Err(err);
            }
        }
        Ok(())
    }

    fn maybe_freeze(&mut self) -> Result<(), Error> {
        let full = self.memtable.bytes() >= self.options.memtable_bytes_max;
        if full && self.imms.len() < self.options.imm_memtables_max {
            self.freeze()?;
        }
        Ok(())
    }

    /// Freezes the memtable, rotates the WAL and queues the flush.
    fn freeze(&mut self) -> Result<(), Error> {
        debug_assert!(!self.memtable.is_empty());
        let frozen = Arc::new(std::mem::take(&mut self.memtable));
        self.closed_segments
            .push((self.segment_id, self.next_seq - 1));
        self.segment_id += 1;
        self.commit.send(CommitMsg::Rotate {
            segment_id: self.segment_id,
        })?;
        let job = FlushJob {
            memtable: frozen.clone(),
            bucket_live: self.bucket_live,
            wal_segments: self.closed_segments.clone(),
        };
        let seq_max = frozen.seq_max();
        self.closed_segments
            .retain(|&(_, seq_last)| seq_last > seq_max);
        self.imms.push_back(frozen);
        self.maintenance.send(Job::Flush(job))
    }
}
