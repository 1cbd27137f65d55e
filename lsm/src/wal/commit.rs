//! Group commit: a helper thread that writes WAL records and fdatasyncs them in batches.
//!
//! Why a thread and not an fsync on the reactor: `fdatasync` takes from tens of
//! microseconds to many milliseconds, and the reactor thread must never block. Why not an
//! io_uring fsync submitted by the reactor: it would tie this crate to one reactor and
//! still needs the ordering, rotation and error bookkeeping below; the thread is a few
//! hundred lines, works with any reactor, and its cost (one wake-up per group) is paid per
//! group commit, not per message.
//!
//! The reactor sends encoded records over a channel and continues. The thread takes
//! everything queued (up to `GROUP_BYTES_MAX`), writes it with one `write`, calls one
//! `fdatasync`, then publishes the highest durable sequence number and signals the wake
//! fd. While it syncs, the next records pile up in the channel and become the next group:
//! commits pipeline, so throughput is set by bandwidth, not by fsync latency.
//!
//! Invariants:
//! - `durable_seq` only grows, and every record with `seq <= durable_seq` has been
//!   written and fdatasynced in a segment whose directory entry is durable.
//! - After the first failed write or sync nothing more is published: the error is stored,
//!   later records are dropped unwritten, and the store is poisoned. (Retrying an fsync
//!   after a failure is unsafe on Linux: the dirty pages may already be dropped.)
//! - A segment is fdatasynced before the next one is created, so only the last segment
//!   can have a torn tail from a crash.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::fs::{Fs, FsFile};
use crate::sys::Wake;
use crate::wal::segment_path;
use crate::Error;

/// Most bytes written by one group commit.
const GROUP_BYTES_MAX: usize = 16 << 20;

/// What the reactor sends to the commit thread, in order.
pub(crate) enum CommitMsg {
    /// Append this encoded record of batch `seq`.
    Record { seq: u64, bytes: Vec<u8> },
    /// Sync the current segment, then continue in a new segment `segment_id`.
    Rotate { segment_id: u64 },
}

/// What the commit thread publishes.
#[derive(Debug, Default)]
pub(crate) struct CommitState {
    /// Every record up to this sequence number is durable.
    pub durable_seq: u64,
    /// The first failure; nothing is published after it.
    pub error: Option<Error>,
}

/// State shared between the reactor and the commit thread.
#[derive(Debug)]
pub(crate) struct CommitShared {
    state: Mutex<CommitState>,
    cond: Condvar,
    wake: Arc<Wake>,
    /// Bytes written to WAL segments so far.
    pub bytes_written: AtomicU64,
    /// Group commits (fdatasyncs) so far.
    pub syncs: AtomicU64,
}

/// The reactor's handle on the commit thread.
pub(crate) struct CommitThread {
    tx: Option<Sender<CommitMsg>>,
    shared: Arc<CommitShared>,
    handle: Option<JoinHandle<()>>,
}

impl CommitThread {
    /// Creates segment `segment_id` in `dir` (durably) and starts the thread. Records up to
    /// `durable_seq` are already durable (recovered at open).
    pub fn spawn(
        fs: Fs,
        dir: &Path,
        segment_id: u64,
        durable_seq: u64,
        wake: Arc<Wake>,
    ) -> Result<CommitThread, Error> {
        let file = create_segment(&fs, dir, segment_id)?;
        let shared = Arc::new(CommitShared {
            state: Mutex::new(CommitState {
                durable_seq,
                error: None,
            }),
            cond: Condvar::new(),
            wake,
            bytes_written: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel();
        let worker = Worker {
            fs,
            dir: dir.to_path_buf(),
            file,
            shared: shared.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("lsm-commit".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| Error::io("spawn", dir, &e))?;
        Ok(CommitThread {
            tx: Some(tx),
            shared,
            handle: Some(handle),
        })
    }

    /// Queues a message; never blocks.
    pub fn send(&self, msg: CommitMsg) -> Result<(), Error> {
        let tx = self.tx.as_ref().ok_or(Error::WorkerGone)?;
        tx.send(msg).map_err(|_| Error::WorkerGone)
    }

    /// The durable sequence number and the first error, if any. Never blocks for long: the
    /// lock is held by the thread only to store two words.
    pub fn state(&self) -> (u64, Option<Error>) {
        let state = self.shared.lock();
        (state.durable_seq, state.error.clone())
    }

    /// Blocks until `seq` is durable or the log failed. For tests, tools and shutdown;
    /// never call it on a reactor thread.
    pub fn wait_durable(&self, seq: u64) -> Result<(), Error> {
        let mut state = self.shared.lock();
        loop {
            if let Some(err) = &state.error {
                return Err(err.clone());
            }
            if state.durable_seq >= seq {
                return Ok(());
            }
            if self.handle.as_ref().is_none_or(|h| h.is_finished()) {
                return Err(Error::WorkerGone);
            }
            state = self
                .shared
                .cond
                .wait_timeout(state, std::time::Duration::from_millis(100))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// The shared counters.
    pub fn shared(&self) -> &CommitShared {
        &self.shared
    }

    /// Lets the thread write what is queued, then joins it.
    pub fn shutdown(&mut self) {
        self.tx = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for CommitThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl CommitShared {
    fn lock(&self) -> MutexGuard<'_, CommitState> {
        // A panic while holding this lock can only be a bug in a two-word update; the
        // state is still consistent, so keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

struct Worker {
    fs: Fs,
    dir: PathBuf,
    file: FsFile,
    shared: Arc<CommitShared>,
}

impl Worker {
    fn run(mut self, rx: Receiver<CommitMsg>) {
        let mut group = Vec::with_capacity(1 << 20);
        let mut failed = false;
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            group.clear();
            let mut seq_last = None;
            while let Some(msg) = next.take() {
                if failed {
                    // Poisoned: drop everything unwritten until the reactor shuts us down.
                } else if let Err(err) = self.handle(msg, &mut group, &mut seq_last) {
                    self.fail(err);
                    failed = true;
                }
                if group.len() < GROUP_BYTES_MAX {
                    next = rx.try_recv().ok();
                }
            }
            if !failed {
                if let Err(err) = self.commit(&mut group, seq_last) {
                    self.fail(err);
                    failed = true;
                }
            }
        }
    }

    fn handle(
        &mut self,
        msg: CommitMsg,
        group: &mut Vec<u8>,
        seq_last: &mut Option<u64>,
    ) -> Result<(), Error> {
        match msg {
            CommitMsg::Record { seq, bytes } => {
                debug_assert!(
                    seq_last.is_none_or(|last| seq == last + 1),
                    "seq must not skip"
                );
                group.extend_from_slice(&bytes);
                *seq_last = Some(seq);
            }
            CommitMsg::Rotate { segment_id } => {
                self.commit(group, seq_last.take())?;
                group.clear();
                self.file = create_segment(&self.fs, &self.dir, segment_id)?;
            }
        }
        Ok(())
    }

    /// Writes and syncs `group`, then publishes `seq_last`.
    fn commit(&mut self, group: &mut Vec<u8>, seq_last: Option<u64>) -> Result<(), Error> {
        let Some(seq_last) = seq_last else {
            return Ok(());
        };
        self.file.write_all(group)?;
        self.file.sync_data()?;
        self.shared
            .bytes_written
            .fetch_add(group.len() as u64, Ordering::Relaxed);
        self.shared.syncs.fetch_add(1, Ordering::Relaxed);
        group.clear();
        {
            let mut state = self.shared.lock();
            assert!(seq_last > state.durable_seq, "durable_seq only grows");
            state.durable_seq = seq_last;
        }
        self.shared.cond.notify_all();
        self.shared.wake.notify();
        Ok(())
    }

    fn fail(&mut self, err: Error) {
        self.shared.lock().error.get_or_insert(err);
        self.shared.cond.notify_all();
        self.shared.wake.notify();
    }
}

/// Creates an empty segment and makes its directory entry durable, so that an fdatasync of
/// its records is enough to find them after a crash.
fn create_segment(fs: &Fs, dir: &Path, segment_id: u64) -> Result<FsFile, Error> {
    let file = fs.create(&segment_path(dir, segment_id))?;
    fs.sync_dir(dir)?;
    Ok(file)
}
