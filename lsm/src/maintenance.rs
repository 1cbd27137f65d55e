//! The maintenance thread: flushes frozen memtables to tables and runs compactions.
//!
//! Why a helper thread per store rather than work on the owning core's reactor: building
//! a 64 MiB table is tens of milliseconds of CPU and I/O, and a closed-window compaction
//! can be seconds; slicing that into reactor ticks would add latency to every session on
//! the core, and an fsync cannot be sliced at all. A thread per store keeps the design
//! shared-nothing (it touches only its own store's files) and the OS schedules it on idle
//! cycles. The reactor never waits for it: jobs go over a channel, results come back as
//! `Done` messages that `Store::poll` applies, with the store's wake fd signalled.
//!
//! This thread owns the manifest: it is the only writer, so manifest updates are
//! serialized without locks. Flush jobs take priority over compaction so that frozen
//! memtables (and the write stall they cause) drain first.
//!
//! Invariants:
//! - A table becomes visible (in a published `Version`) only after the manifest listing it
//!   is durable; a WAL segment is deleted only after a durable manifest covers its records.
//! - An input table's file is deleted only after the manifest without it is durable.
//! - After the first error no more manifest writes happen (the store is poisoned); all
//!   acknowledged data is still in the WAL and the old manifest's tables.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::compaction::{pick, pick_full, Pick, Policy, TableInfo};
use crate::fs::Fs;
use crate::manifest::{Manifest, TableRecord};
use crate::memtable::Memtable;
use crate::merge::{Cursor, Direction, Merge};
use crate::sstable::builder::{TableBuilder, TableShape};
use crate::sstable::reader::Table;
use crate::sstable::table_path;
use crate::sys::Wake;
use crate::version::{LiveTable, Version};
use crate::wal::segment_path;
use crate::Error;

/// Settings the thread needs from `Options`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub shape: TableShape,
    pub table_bytes_max: u64,
    pub policy: Policy,
}

/// Work for the thread.
pub(crate) enum Job {
    /// Write this frozen memtable as a table.
    Flush(FlushJob),
    /// Run one compaction now; `full` merges every table.
    Compact { full: bool },
    /// Free a flushed memtable here: dropping a 64 MiB memtable is hundreds of thousands
    /// of `free` calls, a few milliseconds the reactor thread should not spend.
    Release(Arc<Memtable>),
}

/// A frozen memtable and what to clean up once it is durable in a table.
pub(crate) struct FlushJob {
    pub memtable: Arc<Memtable>,
    /// The newest bucket seen so far (sets the table's window).
    pub bucket_live: u32,
    /// Closed WAL segments `(id, last seq)`; those covered by this flush get deleted.
    pub wal_segments: Vec<(u64, u64)>,
}

/// What the thread reports.
pub(crate) enum Done {
    /// The oldest frozen memtable (of `seq_max`) is now in `version`.
    Flushed { seq_max: u64, version: Arc<Version> },
    /// A compaction changed the table set.
    Compacted { version: Arc<Version> },
    /// A job failed; the store is poisoned.
    Failed(Error),
    /// No work left; `jobs_done` jobs finished so far.
    Idle { jobs_done: u64 },
}

/// Counters for write amplification and tests.
#[derive(Debug, Default)]
pub struct MaintenanceStats {
    /// Table bytes written by flushes.
    pub flush_bytes: AtomicU64,
    /// Flushes done.
    pub flushes: AtomicU64,
    /// Table bytes written by compactions.
    pub compaction_bytes_written: AtomicU64,
    /// Table bytes read by compactions.
    pub compaction_bytes_read: AtomicU64,
    /// Compactions done (merges and seals).
    pub compactions: AtomicU64,
    /// Tombstones dropped by compactions.
    pub tombstones_purged: AtomicU64,
}

/// The store's handle on the thread.
pub(crate) struct Maintenance {
    tx: Option<Sender<Job>>,
    rx: Receiver<Done>,
    handle: Option<JoinHandle<()>>,
    pub jobs_sent: u64,
}

impl Maintenance {
    /// Starts the thread with the recovered `manifest` and its open `tables`.
    pub fn spawn(
        fs: Fs,
        dir: &Path,
        settings: Settings,
        manifest: Manifest,
        tables: Vec<LiveTable>,
        stats: Arc<MaintenanceStats>,
        wake: Arc<Wake>,
    ) -> Result<Maintenance, Error> {
        let (tx, jobs) = mpsc::channel();
        let (done, rx) = mpsc::channel();
        let worker = Worker {
            fs,
            dir: dir.to_path_buf(),
            settings,
            manifest,
            tables,
            stats,
            done,
            wake,
            jobs_done: 0,
            failed: false,
        };
        let handle = std::thread::Builder::new()
            .name("lsm-maintenance".into())
            .spawn(move || worker.run(jobs))
            .map_err(|e| Error::io("spawn", dir, &e))?;
        Ok(Maintenance {
            tx: Some(tx),
            rx,
            handle: Some(handle),
            jobs_sent: 0,
        })
    }

    /// Queues a job; never blocks.
    pub fn send(&mut self, job: Job) -> Result<(), Error> {
        let tx = self.tx.as_ref().ok_or(Error::WorkerGone)?;
        tx.send(job).map_err(|_| Error::WorkerGone)?;
        self.jobs_sent += 1;
        Ok(())
    }

    /// The next report, if one is waiting.
    pub fn try_recv(&self) -> Option<Done> {
        self.rx.try_recv().ok()
    }

    /// Waits up to 100 ms for the next report (for blocking helpers, not the reactor).
    pub fn recv_blocking(&self) -> Result<Option<Done>, Error> {
        match self.rx.recv_timeout(Duration::from_millis(100)) {
            Ok(done) => Ok(Some(done)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(Error::WorkerGone),
        }
    }

    /// Finishes queued jobs, then joins the thread.
    pub fn shutdown(&mut self) {
        self.tx = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker {
    fs: Fs,
    dir: PathBuf,
    settings: Settings,
    manifest: Manifest,
    tables: Vec<LiveTable>,
    stats: Arc<MaintenanceStats>,
    done: Sender<Done>,
    wake: Arc<Wake>,
    jobs_done: u64,
    failed: bool,
}

impl Worker {
    fn run(mut self, jobs: Receiver<Job>) {
        let mut queue = VecDeque::new();
        loop {
            queue.extend(jobs.try_iter());
            if let Some(job) = queue.pop_front() {
                let result = if self.failed {
                    Ok(None)
                } else {
                    self.handle(job)
                };
                self.jobs_done += 1;
                self.report(result);
                continue;
            }
            if !self.failed {
                let result = self.compact(false);
                let worked = matches!(result, Ok(Some(_)));
                self.report(result);
                if worked {
                    continue;
                }
            }
            self.send(Done::Idle {
                jobs_done: self.jobs_done,
            });
            match jobs.recv() {
                Ok(job) => queue.push_back(job),
                Err(_) => return,
            }
        }
    }

    fn report(&mut self, result: Result<Option<Done>, Error>) {
        match result {
            Ok(Some(done)) => self.send(done),
            Ok(None) => {}
            Err(err) => {
                self.failed = true;
                self.send(Done::Failed(err));
            }
        }
    }

    fn send(&self, done: Done) {
        // The store may already be gone during shutdown; nobody is left to tell.
        let _ = self.done.send(done);
        self.wake.notify();
    }

    fn handle(&mut self, job: Job) -> Result<Option<Done>, Error> {
        match job {
            Job::Flush(flush) => self.flush(flush).map(Some),
            Job::Compact { full } => self.compact(full),
            Job::Release(memtable) => {
                drop(memtable);
                Ok(None)
            }
        }
    }

    fn flush(&mut self, job: FlushJob) -> Result<Done, Error> {
        let memtable = &job.memtable;
        let seq_max = memtable.seq_max();
        let mut next = self.manifest.clone();
        next.generation += 1;
        next.bucket_live = next.bucket_live.max(job.bucket_live);
        next.seq_flushed = next.seq_flushed.max(seq_max);
        let mut table = None;
        if !memtable.is_empty() {
            let id = next.next_table_id;
            next.next_table_id += 1;
            let path = table_path(&self.dir, id);
            let mut builder = TableBuilder::create(&self.fs, &path, self.settings.shape)?;
            for entry in memtable.iter() {
                builder.add(entry.key, entry.seq, entry.value)?;
            }
            let size = builder.finish()?;
            self.stats.flush_bytes.fetch_add(size, Ordering::Relaxed);
            table = Some(Arc::new(Table::open(&self.fs, &path, id)?));
            next.tables.push(TableRecord {
                id,
                window: next.bucket_live,
                sealed: false,
            });
        }
        next.store(&self.fs, &self.dir)?;
        if let Some(table) = table {
            self.tables.push(LiveTable {
                table,
                window: next.bucket_live,
                sealed: false,
            });
        }
        self.manifest = next;
        for &(segment, seq_last) in &job.wal_segments {
            if seq_last <= self.manifest.seq_flushed {
                self.fs.remove(&segment_path(&self.dir, segment))?;
            }
        }
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(Done::Flushed {
            seq_max,
            version: self.version(),
        })
    }

    /// Runs one compaction if the policy (or `full`) picks one.
    fn compact(&mut self, full: bool) -> Result<Option<Done>, Error> {
        let infos: Vec<TableInfo> = self
            .tables
            .iter()
            .map(|t| TableInfo {
                id: t.table.id(),
                window: t.window,
                sealed: t.sealed,
                size: t.table.size(),
                tombstones: t.table.footer().tombstone_count,
            })
            .collect();
        let bucket_live = self.manifest.bucket_live;
        let picked = if full {
            pick_full(&infos, bucket_live)
        } else {
            pick(
                &infos,
                bucket_live,
                &self.settings.policy,
                self.settings.table_bytes_max,
            )
        };
        match picked {
            None => return Ok(None),
            Some(Pick::Seal { id }) => self.seal(id)?,
            Some(Pick::Merge {
                inputs,
                window,
                sealed,
            }) => self.merge(&inputs, window, sealed)?,
        }
        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(Some(Done::Compacted {
            version: self.version(),
        }))
    }

    fn seal(&mut self, id: u64) -> Result<(), Error> {
        let mut next = self.manifest.clone();
        next.generation += 1;
        for record in next.tables.iter_mut().filter(|r| r.id == id) {
            record.sealed = true;
        }
        next.store(&self.fs, &self.dir)?;
        self.manifest = next;
        for table in self.tables.iter_mut().filter(|t| t.table.id() == id) {
            table.sealed = true;
        }
        Ok(())
    }

    fn merge(&mut self, inputs: &[u64], window: u32, sealed: bool) -> Result<(), Error> {
        let (chosen, others): (Vec<LiveTable>, Vec<LiveTable>) = self
            .tables
            .iter()
            .cloned()
            .partition(|t| inputs.contains(&t.table.id()));
        assert_eq!(
            chosen.len(),
            inputs.len(),
            "the policy picks live tables only"
        );
        let mut next = self.manifest.clone();
        let mut outputs: Vec<(u64, PathBuf)> = Vec::new();
        let result = self.write_merged(&chosen, &others, &mut next, &mut outputs);
        let sizes = match result {
            Ok(sizes) => sizes,
            Err(err) => {
                for (_, path) in &outputs {
                    let _ = self.fs.remove(path); // Orphans are also removed at open.
                }
                return Err(err);
            }
        };
        let mut opened = Vec::with_capacity(outputs.len());
        for (id, path) in &outputs {
            let table = Arc::new(Table::open(&self.fs, path, *id)?);
            opened.push(LiveTable {
                table,
                window,
                sealed,
            });
        }
        next.generation += 1;
        next.tables.retain(|r| !inputs.contains(&r.id));
        next.tables.extend(opened.iter().map(|t| TableRecord {
            id: t.table.id(),
            window,
            sealed,
        }));
        next.store(&self.fs, &self.dir)?;
        self.manifest = next;
        self.tables = others;
        self.tables.extend(opened);
        let read: u64 = chosen.iter().map(|t| t.table.size()).sum();
        self.stats
            .compaction_bytes_read
            .fetch_add(read, Ordering::Relaxed);
        self.stats
            .compaction_bytes_written
            .fetch_add(sizes, Ordering::Relaxed);
        for table in &chosen {
            self.fs.remove(&table_path(&self.dir, table.table.id()))?;
        }
        Ok(())
    }

    /// Streams the merged entries of `chosen` into new tables, splitting at
    /// `table_bytes_max`. Returns the bytes written.
    fn write_merged(
        &self,
        chosen: &[LiveTable],
        others: &[LiveTable],
        next: &mut Manifest,
        outputs: &mut Vec<(u64, PathBuf)>,
    ) -> Result<u64, Error> {
        use std::ops::Bound::Unbounded;
        let mut cursors: Vec<Box<dyn Cursor<'_> + '_>> = Vec::new();
        for t in chosen {
            cursors.push(Box::new(t.table.cursor(
                Unbounded,
                Unbounded,
                Direction::Forward,
            )?));
        }
        let mut merge = Merge::new(Direction::Forward, cursors, Vec::new());
        let mut builder: Option<TableBuilder> = None;
        let mut written = 0;
        while let Some(entry) = merge.next_entry()? {
            if entry.value.is_none() && tombstone_is_purgeable(entry.key, entry.seq, others) {
                self.stats.tombstones_purged.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let current = match &mut builder {
                Some(current) => current,
                None => {
                    let id = next.next_table_id;
                    next.next_table_id += 1;
                    let path = table_path(&self.dir, id);
                    outputs.push((id, path.clone()));
                    builder.insert(TableBuilder::create(&self.fs, &path, self.settings.shape)?)
                }
            };
            current.add(entry.key, entry.seq, entry.value)?;
            if current.bytes() >= self.settings.table_bytes_max {
                written += builder.take().expect("just used").finish()?;
            }
        }
        if let Some(current) = builder {
            written += current.finish()?;
        }
        Ok(written)
    }

    fn version(&self) -> Arc<Version> {
        Arc::new(Version::new(self.tables.clone()))
    }
}

/// True if no table outside the merge could hold an older version of `key` that the
/// tombstone (written by batch `seq`) still has to hide.
fn tombstone_is_purgeable(key: &[u8], seq: u64, others: &[LiveTable]) -> bool {
    others
        .iter()
        .all(|t| t.table.footer().seq_min > seq || !t.table.may_contain(key))
}
