//! What the fleet and its workers tell each other: commands one way; gauges (snapshots a
//! worker overwrites every tick) and window reports the other way.
//!
//! Why snapshots: the fleet waits for conditions ("every session Live", "nothing in
//! flight") by looking at the gauges every few milliseconds; a snapshot can be read at any
//! time without the worker keeping counts in step with the fleet.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;

use super::ledger::{AckBook, SessionTally};
use super::publisher::PublisherStats;
use super::schedule::Schedule;
use super::session::Join;

/// What the fleet asks of a worker.
#[derive(Debug)]
pub(super) enum Command {
    /// Count sessions that saw warm-up round `round`; the worker holding `publisher`
    /// posts it.
    Warm { round: u64, publisher: u32 },
    /// Start a measurement window.
    OpenWindow(Arc<WindowPlan>),
    /// Answers from now on do not count; check the ledgers against the book every tick.
    FinalizeAnswers,
    /// End the window and send a `WindowReport`.
    CloseWindow,
    /// Drop every session's connection abruptly (no close frame), keeping what a resume
    /// needs.
    Detach,
    /// Connect every session again to `addr` and join with `join`; publishers that are
    /// not connected reconnect too.
    Rejoin { join: Join, addr: SocketAddr },
    /// Leave the loop.
    Stop,
}

/// A window as the fleet planned it.
#[derive(Debug)]
pub(super) struct WindowPlan {
    pub id: u32,
    pub schedule: Schedule,
    pub book: Arc<AckBook>,
}

/// How a worker stands; overwritten every tick.
#[derive(Debug, Default)]
pub(super) struct Gauges {
    /// Sessions Live.
    pub live: AtomicUsize,
    /// Sessions on their way to Live (connect, upgrade, Hello, join).
    pub joining: AtomicUsize,
    /// Sessions closed (not detached).
    pub closed: AtomicUsize,
    /// Sessions that received the current warm-up round.
    pub warm_seen: AtomicUsize,
    /// Warm-up posts answered 200 by this worker's publishers.
    pub warm_acked: AtomicU64,
    /// Publishers connected.
    pub publishers_open: AtomicUsize,
    /// Publishers lost.
    pub publishers_closed: AtomicUsize,
    /// Posts of the window not written yet.
    pub posts_left: AtomicU64,
    /// Requests written and not answered.
    pub in_flight: AtomicU64,
    /// Posts acknowledged in the window.
    pub acked: AtomicU64,
    /// Dispatches replayed by resumes so far.
    pub replayed: AtomicU64,
    /// 0 until answers are final; then 1 + acknowledged posts some session still misses.
    pub census: AtomicU64,
    /// Why a session or publisher of this worker is closed now (the first one found).
    pub failure: Mutex<Option<String>>,
    /// Why the worker itself cannot go on (poll, timer, setup); never cleared.
    pub fatal: Mutex<Option<String>>,
    /// Commands handled so far, stored after the gauges that reflect them: gauges read
    /// after this reaches the fleet's count describe the state after its last command.
    pub commands_done: AtomicU64,
}

/// One worker's share of a window.
#[derive(Debug)]
pub(super) struct WindowReport {
    /// Failed sessions' verdicts, at most `VERDICTS_KEPT`.
    pub verdicts: Vec<String>,
    /// Sessions whose verdict failed.
    pub sessions_failed: usize,
    /// The passing sessions' tallies, added up.
    pub tally: SessionTally,
    /// Each publisher's counts.
    pub publishers: Vec<PublisherStats>,
    /// Publishers whose connection was lost.
    pub publisher_failures: Vec<String>,
    /// publish→deliver latencies.
    pub delivery_ns: Histogram<u64>,
    /// The last delivery, nanoseconds after the epoch.
    pub last_delivery_ns: u64,
    /// Bytes read from sessions' sockets.
    pub bytes: u64,
    /// Messages received by sessions.
    pub frames: u64,
    /// This thread's CPU seconds over the window.
    pub cpu_s: f64,
    /// Seconds this thread was runnable but another task had its CPU.
    pub waiting_s: f64,
    /// Seconds from this worker's `OpenWindow` to its `CloseWindow`: the span of `cpu_s`
    /// and `waiting_s`.
    pub wall_s: f64,
    /// Size of one MESSAGE_CREATE (the warm-up's), inflated.
    pub event_bytes: usize,
}
