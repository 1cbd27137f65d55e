//! The load generator: thousands of gateway sessions and a few HTTP publishers, lean
//! enough that the server, not the generator, is what a benchmark measures.
//!
//! What it does: S sessions connect (WebSocket by hand: real `Sec-WebSocket-Key`, checked
//! `Sec-WebSocket-Accept`, masked client frames), IDENTIFY and wait for READY; P
//! publishers hold keep-alive HTTP/1.1 connections and POST messages to one channel on an
//! open-loop schedule (`schedule.rs`), pipelining up to a bound. Every message's content
//! carries a marker (`marker.rs`) naming its window, publisher, sequence number and due
//! time, so every session can check exactly-once delivery (`ledger.rs`) and time it from
//! the due time, in one process, with no clock synchronisation.
//!
//! Why it is lean (each point is a reviewer's check):
//! - No async runtime: one mio event loop per load CPU, each pinned, sessions and
//!   publishers spread round robin (`worker.rs`).
//! - 64 KiB reads into one scratch buffer per thread; frames parsed in place
//!   (`frame.rs`); fields found by byte search, no JSON parser per event (`gateway.rs`).
//! - Posts leave on time: a timerfd, not epoll's millisecond timeout (`sys.rs`).
//! - Sockets are spread over 127.0.0.x source addresses (`sys.rs`), and the open-files
//!   limit is raised.
//!
//! Honesty rules:
//! - Latency counts from each post's *scheduled* time (no coordinated omission); posts
//!   that leave late are counted.
//! - A run where any session misses an acknowledged post, gets one twice, sees an `s`
//!   gap, or is closed, is an `Err` with the precise reason, never a number.
//! - Every wait is bounded ([`Timeouts`]); a run always ends by itself.
//!
//! Use: [`run`] for one measured window, or a [`Fleet`] to keep sessions across several
//! windows (a rising rate sweep), to hold idle sessions (memory per session), to drop every
//! connection and RESUME, or to IDENTIFY again after a server restart.
//!
//! ```no_run
//! use std::time::Duration;
//! use bench::loadgen::{Compression, Plan};
//!
//! let plan = Plan {
//!     session_tokens: vec!["token".into()],
//!     publisher_token: "token".into(),
//!     channel_id: "1".into(),
//!     ..Plan::new("127.0.0.1:8080".parse().unwrap(), 100)
//! };
//! let measured = bench::loadgen::run(&plan, None)?;
//! println!("{:.0} deliveries/s", measured.deliveries_per_s);
//! # Ok::<(), String>(())
//! ```

mod control;
mod fleet;
mod frame;
mod gateway;
mod handshake;
pub mod hostile;
mod http_response;
mod inflate;
mod ledger;
mod marker;
mod publisher;
mod rng;
mod schedule;
mod session;
mod sys;
mod worker;

use std::net::SocketAddr;
use std::time::Duration;

use hdrhistogram::Histogram;

pub use fleet::{Fleet, Posted, Rejoined};
pub use inflate::Compression;
pub use schedule::Schedule;

/// Everything one run needs: where, how many, how fast, on which CPUs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server: gateway and REST on one address.
    pub addr: SocketAddr,
    /// Gateway sessions.
    pub sessions: usize,
    /// Session `k` identifies with `session_tokens[k % len]` (Flux needs one per session:
    /// its identify limit is per user; the peer accepts any).
    pub session_tokens: Vec<String>,
    /// `Authorization: Bot …` of the publishers.
    pub publisher_token: String,
    /// The channel every post goes to.
    pub channel_id: String,
    /// Transport compression the sessions ask for.
    pub compress: Compression,
    /// Publisher connections.
    pub publishers: usize,
    /// Posts per second, all publishers together (open loop).
    pub rate_per_s: f64,
    /// How long the publishers post.
    pub duration: Duration,
    /// One load thread per CPU listed, pinned to it; empty: one unpinned thread.
    pub load_cpus: Vec<usize>,
    /// Client sockets are bound to 127.0.0.(1 + k % sources) (loopback servers only).
    pub sources: usize,
    /// Requests a publisher may have outstanding before its next post waits.
    pub in_flight_per_publisher: usize,
    /// Sessions connecting at once, all threads together.
    pub handshakes_in_flight: usize,
    /// The server's process id, to report its CPU time over the window.
    pub server_pid: Option<u32>,
    /// Upper bounds on every wait.
    pub timeouts: Timeouts,
}

impl Plan {
    /// A plan for `sessions` sessions against `addr` with the defaults: 8 publishers at
    /// 100 posts/s for 3 s, no compression, one unpinned thread, one source address,
    /// 64 requests in flight per publisher, 256 handshakes at once. Tokens and channel are
    /// empty: set them.
    pub fn new(addr: SocketAddr, sessions: usize) -> Plan {
        Plan {
            addr,
            sessions,
            session_tokens: Vec::new(),
            publisher_token: String::new(),
            channel_id: String::new(),
            compress: Compression::None,
            publishers: 8,
            rate_per_s: 100.0,
            duration: Duration::from_secs(3),
            load_cpus: Vec::new(),
            sources: 1,
            in_flight_per_publisher: 64,
            handshakes_in_flight: 256,
            server_pid: None,
            timeouts: Timeouts::default(),
        }
    }

    /// The measurement window this plan describes.
    pub fn window(&self) -> Window {
        Window {
            rate_per_s: self.rate_per_s,
            duration: self.duration,
        }
    }
}

/// One measurement window: how fast and how long the publishers post.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Posts per second, all publishers together.
    pub rate_per_s: f64,
    /// How long.
    pub duration: Duration,
}

/// Upper bounds on every wait of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// One session: connect to READY.
    pub handshake: Duration,
    /// Every session READY (and every publisher connected).
    pub ready: Duration,
    /// A warm-up post reaching every session.
    pub warm_up: Duration,
    /// After the window: every outstanding POST answered.
    pub answers: Duration,
    /// After the answers: every acknowledged post delivered to every session.
    pub deliveries: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            handshake: Duration::from_secs(30),
            ready: Duration::from_secs(120),
            warm_up: Duration::from_secs(30),
            answers: Duration::from_secs(30),
            deliveries: Duration::from_secs(30),
        }
    }
}

/// What one window measured. Only a window that passed every check produces one.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Sessions that received.
    pub sessions: usize,
    /// Publishers that posted.
    pub publishers: usize,
    /// The schedule's rate.
    pub rate_per_s: f64,
    /// The publishing window (the schedule's length).
    pub window: Duration,
    /// Posts the schedule held.
    pub posts_scheduled: u64,
    /// Posts answered 200.
    pub posts_acked: u64,
    /// Posts still unanswered when the answers were final.
    pub posts_unanswered: u64,
    /// Posts that left more than 1 ms after their due time.
    pub late_sends: u64,
    /// Posts held back by the in-flight bound.
    pub window_full_sends: u64,
    /// Acknowledged posts delivered, summed over sessions (`posts_acked × sessions`).
    pub deliveries: u64,
    /// Deliveries of posts whose POST was still unanswered at the end (allowed).
    pub deliveries_unanswered: u64,
    /// `deliveries / window`: every delivery's post was scheduled in the window.
    pub deliveries_per_s: f64,
    /// `posts_acked / window`.
    pub acked_per_s: f64,
    /// `deliveries / (window + drain)`: what the server actually sustained. Equal to
    /// `deliveries_per_s` while it keeps up; lower when a backlog drained after the window.
    pub delivered_per_s: f64,
    /// POST → 200, from the due time, nanoseconds.
    pub post_ns: Histogram<u64>,
    /// Due time → the session read the MESSAGE_CREATE, nanoseconds.
    pub delivery_ns: Histogram<u64>,
    /// Time from the window's end to the last delivery (the server's backlog).
    pub drain: Duration,
    /// Bytes the sessions read (compressed, if compression is on).
    pub bytes_received: u64,
    /// WebSocket messages the sessions read.
    pub frames_received: u64,
    /// Size of one MESSAGE_CREATE payload, inflated.
    pub event_bytes: usize,
    /// Window start to last delivery: the span the CPU numbers cover.
    pub cpu_span: Duration,
    /// The load generator's CPU seconds over `cpu_span` (its whole process).
    pub load_cpu_s: f64,
    /// The busiest load thread's CPU seconds ÷ its window (1.0: that core was full).
    pub load_thread_busy_max: f64,
    /// The busiest load thread's (CPU + run-queue wait) ÷ its window, at most 1.0: near
    /// 1.0 the thread always had work, even where another task held its CPU, so the load
    /// generator, not the server, may have set the pace.
    pub load_thread_demand_max: f64,
    /// The server's CPU seconds over `cpu_span`, if its pid was given.
    pub server_cpu_s: Option<f64>,
    /// Seconds the server's threads waited for a CPU over `cpu_span` (a noisy neighbour on
    /// its CPUs shows up here), if its pid was given.
    pub server_waiting_s: Option<f64>,
    /// Sum over sessions and received posts of `seq + 1`: proof the work was done.
    pub checksum: u64,
}

/// Runs one window: connect every session, warm up, publish for `plan.duration` at
/// `plan.rate_per_s`, wait until every acknowledged post reached every session, check.
pub fn run(plan: &Plan, progress: Option<&indicatif::ProgressBar>) -> Result<Measured, String> {
    let mut fleet = Fleet::connect(plan, progress)?;
    fleet.warm_up()?;
    let measured = fleet.publish(plan.window());
    fleet.close();
    measured
}

/// Latencies from 1 µs to 100 s at 3 significant figures.
pub(crate) fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1_000, 100_000_000_000, 3).expect("valid histogram bounds")
}
