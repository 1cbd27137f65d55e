//! The owner core's commit queue: its lsm store, its Snowflake generator, and the writes
//! waiting to become durable, for every family (messages, guilds, DMs, accounts).
//!
//! Why one queue: the rule "nothing is visible before it is durable" has to hold the
//! same way for every family, and it is easiest to keep in one place. A write enters
//! with [`CommitQueue::append`] together with the answers that wait for it and the
//! change it announces (`C`, the application's own type); it leaves through
//! [`CommitQueue::poll`] as [`Settled::Durable`] or [`Settled::Failed`], in append
//! order. The application answers and announces only durable writes, and undoes the
//! owner's working state for failed ones (ARCHITECTURE.md, "Commit protocol").
//!
//! Failures come in two shapes, and both leave no trace:
//! - `append` refuses (a store `Stall`, a broken store): the caller undoes at once; the
//!   batch was not written.
//! - The commit fails after `append` accepted it (fdatasync failed: the store is
//!   poisoned). Every write still queued fails with it, in order, newest last, so the
//!   application can undo them newest first and be back at the durable state.
//!
//! Test hooks inject both shapes without a broken disk ([`StoreFaults`]): a refused
//! append, or a doomed commit. A doomed write never reaches the store, and every write
//! appended while one is queued is doomed too (as behind a real failed fdatasync, a later
//! write may build on the failed one), so what the application sees is exactly a failed
//! commit — except that the store keeps working afterwards and a retry is stored.
//!
//! Invariants: settled writes leave in append order; a write with a ticket settles only
//! once `Store::durable` covers it; a doomed write settles only after every write ahead
//! of it did.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lsm::{Batch, Store, Ticket};
use snowflake::Generator;

use crate::http::Response;
use crate::reactor::ConnId;
use crate::world::Refusal;

/// A safety net: while writes wait, the store is also polled on a tick this often, in
/// case a wake-up was missed (the wake fd is the normal path).
pub(super) const STORE_POLL_FALLBACK: Duration = Duration::from_millis(50);
/// The meta key holding the newest Snowflake this core issued (u64 little-endian).
const LAST_ID_KEY: &[u8] = b"snowflake.last";

/// Store failures a test asks for (`/_flux/test/store-faults`); shared by every core,
/// each fault taken by whichever core appends next.
#[derive(Debug, Default)]
pub struct StoreFaults {
    /// Appends to refuse, as a broken store would (500, nothing written).
    refuse_appends: AtomicU32,
    /// Appends to accept and then fail, as a failed fdatasync would (500 once settled).
    fail_commits: AtomicU32,
}

impl StoreFaults {
    /// Arms `refuse_appends` refused appends and `fail_commits` failed commits.
    pub fn arm(&self, refuse_appends: u32, fail_commits: u32) {
        self.refuse_appends
            .fetch_add(refuse_appends, Ordering::Relaxed);
        self.fail_commits.fetch_add(fail_commits, Ordering::Relaxed);
    }

    /// Takes one armed fault of `counter`, if any.
    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Names one queued write, for answers that join it later ([`CommitQueue::follow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WriteId(u64);

impl WriteId {
    #[cfg(test)]
    pub(super) fn for_tests(id: u64) -> WriteId {
        WriteId(id)
    }
}

/// One HTTP answer waiting for a write: the receiving core, its connection, the response.
#[derive(Debug)]
pub(super) struct Answer {
    pub reply_core: usize,
    pub conn: ConnId,
    pub response: Response,
}

/// A queued write.
#[derive(Debug)]
pub(super) struct Write<C> {
    /// `None`: doomed by an injected commit failure (never reached the store).
    ticket: Option<Ticket>,
    /// Every answer that waits for it (the caller's, then joiners').
    pub answers: Vec<Answer>,
    /// What it changes, for the application to announce or undo.
    pub change: C,
}

/// How a write ended.
#[derive(Debug)]
pub(super) enum Settled<C> {
    /// On disk: answer and announce.
    Durable(Write<C>),
    /// Not stored and never will be: undo, answer 500. The answers already carry it.
    Failed(Write<C>),
}

/// One core's store, Snowflake generator and writes in flight.
pub(super) struct CommitQueue<C> {
    store: Result<Store, String>,
    ids: Generator,
    queue: VecDeque<Write<C>>,
    /// The id of `queue.front()`.
    front: u64,
    /// How many queued writes are doomed (`ticket: None`); while any is, every append is.
    doomed: usize,
    faults: Arc<StoreFaults>,
}

impl<C> std::fmt::Debug for CommitQueue<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitQueue")
            .field("store_ok", &self.store.is_ok())
            .field("queued", &self.queue.len())
            .finish()
    }
}

impl<C> CommitQueue<C> {
    /// Opens core `core`'s store in `<data_dir>/core-N/` and resumes its generator after
    /// the newest id it stored. A store that cannot be opened leaves every write
    /// answering 500 (and says so on stderr) rather than stopping the core.
    pub(super) fn open(
        data_dir: &std::path::Path,
        core: usize,
        faults: Arc<StoreFaults>,
    ) -> CommitQueue<C> {
        let process = u8::try_from(core.min(31)).expect("31 fits in u8");
        let mut ids = Generator::new(0, process).expect("worker 0 and process ≤ 31 are valid");
        let dir = data_dir.join(format!("core-{core}"));
        let store = std::fs::create_dir_all(&dir)
            .map_err(|error| error.to_string())
            .and_then(|()| {
                Store::open(
                    &dir,
                    lsm::Options::new(crate::world::history::message_bucket),
                )
                .map_err(|error| error.to_string())
            })
            .and_then(|store| {
                if let Some(bytes) = store.get_meta(LAST_ID_KEY).map_err(|e| e.to_string())? {
                    let bytes: [u8; 8] = bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| format!("{LAST_ID_KEY:?} is not 8 bytes"))?;
                    ids.resume_after(snowflake::Snowflake::new(u64::from_le_bytes(bytes)));
                }
                Ok(store)
            });
        if let Err(error) = &store {
            eprintln!("flux: core {core}: store {}: {error}", dir.display());
        }
        CommitQueue {
            store,
            ids,
            queue: VecDeque::new(),
            front: 0,
            doomed: 0,
            faults,
        }
    }

    /// The store, for reads (only durable batches are readable).
    pub(super) fn store(&self) -> Result<&Store, Refusal> {
        self.store.as_ref().map_err(|_| Refusal::StoreFailed)
    }

    /// A fresh Snowflake from this core's generator.
    pub(super) fn next_id(&mut self, now_unix_ms: u64) -> Result<u64, Refusal> {
        self.ids
            .next(now_unix_ms)
            .map(|id| id.get())
            .map_err(|_| Refusal::StoreFailed)
    }

    /// The generator itself, for code that takes several ids (attachments).
    pub(super) fn ids(&mut self) -> &mut Generator {
        &mut self.ids
    }

    /// Makes every later Snowflake of this core greater than `id` (ids this core issued
    /// that live in another core's store, such as user ids, survive a clock step back).
    pub(super) fn resume_ids_after(&mut self, id: u64) {
        self.ids.resume_after(snowflake::Snowflake::new(id));
    }

    /// An empty batch for this core's store.
    pub(super) fn batch(&self) -> Result<Batch, Refusal> {
        Ok(self.store()?.batch())
    }

    /// Appends `batch` (with the newest issued Snowflake) and queues `answer` and
    /// `change` until it settles. On `Err` nothing was written or queued, and `answer`
    /// comes back (its headers are the caller's, which the error answer carries too; boxed,
    /// as refusals are rare): the caller undoes what it prepared and answers the error.
    pub(super) fn append(
        &mut self,
        batch: &mut Batch,
        change: C,
        answer: Answer,
    ) -> Result<WriteId, Box<(Refusal, Answer)>> {
        let Ok(store) = self.store.as_mut() else {
            return Err(Box::new((Refusal::StoreFailed, answer)));
        };
        if StoreFaults::take(&self.faults.refuse_appends) {
            return Err(Box::new((Refusal::StoreFailed, answer)));
        }
        let doomed = self.doomed > 0 || StoreFaults::take(&self.faults.fail_commits);
        let ticket = if doomed {
            None
        } else {
            if let Some(last) = self.ids.last_id() {
                batch.put_meta(LAST_ID_KEY, last.get().to_le_bytes().to_vec());
            }
            match store.append(batch) {
                Ok(ticket) => Some(ticket),
                Err(error) => return Err(Box::new((Refusal::from(error), answer))),
            }
        };
        self.doomed += usize::from(ticket.is_none());
        self.queue.push_back(Write {
            ticket,
            answers: vec![answer],
            change,
        });
        Ok(WriteId(self.front + self.queue.len() as u64 - 1))
    }

    /// Adds `answer` to queued write `id`: it goes out when that write settles, durable
    /// or failed. `false` (and `answer` dropped) if the write already settled.
    pub(super) fn follow(&mut self, id: WriteId, answer: Answer) -> bool {
        let Some(index) = id.0.checked_sub(self.front) else {
            return false;
        };
        match self.queue.get_mut(index as usize) {
            Some(write) => {
                write.answers.push(answer);
                true
            }
            None => false,
        }
    }

    /// Whether writes wait to settle.
    pub(super) fn waiting(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Polls the store (which also drains its wake fd) and moves the writes that settled
    /// into `settled`, in append order. A failed answer's response becomes a 500.
    pub(super) fn poll(&mut self, core: usize, settled: &mut Vec<Settled<C>>) {
        let Ok(store) = self.store.as_mut() else {
            return;
        };
        let durable = match store.poll() {
            Ok(_) => store.durable(),
            Err(error) => {
                // The store is poisoned: nothing queued will ever be durable.
                eprintln!("flux: core {core}: store failed: {error}");
                while let Some(write) = self.pop() {
                    settled.push(Settled::Failed(failed(write)));
                }
                return;
            }
        };
        while let Some(front) = self.queue.front() {
            match front.ticket {
                Some(ticket) if ticket <= durable => {
                    let write = self.pop().expect("front exists");
                    settled.push(Settled::Durable(write));
                }
                Some(_) => break,
                None => {
                    let write = self.pop().expect("front exists");
                    settled.push(Settled::Failed(failed(write)));
                }
            }
        }
    }

    fn pop(&mut self) -> Option<Write<C>> {
        let write = self.queue.pop_front()?;
        self.front += 1;
        self.doomed -= usize::from(write.ticket.is_none());
        Some(write)
    }

    /// The store's wake eventfd, for the reactor to watch (`App::wake_fd`).
    pub(super) fn wake_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let fd = self.store.as_ref().ok()?.wake_fd()?;
        Some(fd.as_raw_fd())
    }
}

/// `write` with every answer turned into 500 Store Failed (its headers kept).
fn failed<C>(mut write: Write<C>) -> Write<C> {
    for answer in &mut write.answers {
        answer.response =
            super::answers::error_response(&answer.response.headers, &Refusal::StoreFailed);
    }
    write
}
