//! The fleet: the load threads and their sessions and publishers, driven through the
//! phases of a measurement by the thread that owns it.
//!
//! Phases (each a method, each wait bounded by [`Timeouts`]):
//! 1. [`Fleet::connect`]: start one worker per load CPU, connect every publisher and
//!    session (a bounded number of handshakes at once), wait until all are READY.
//! 2. [`Fleet::warm_up`]: one post must reach every session: proof that every session is
//!    subscribed to the channel before anything is timed, and every code path is warm.
//! 3. [`Fleet::publish`]: [`Fleet::post`] (open-loop schedule, then every POST answered),
//!    then [`Fleet::await_deliveries`] (every acknowledged post reached every session,
//!    then the verdicts). Repeatable: a rising sweep is several windows on one fleet.
//!
//! Scenarios built from the same parts: hold idle sessions (`connect` alone), drop every
//! connection and RESUME ([`Fleet::drop_connections`], `post`, [`Fleet::resume`],
//! `await_deliveries`: nothing may be lost), IDENTIFY again after a server restart
//! ([`Fleet::identify_again`]).
//!
//! The fleet waits by looking at each worker's `Gauges` every 2 ms; a session or
//! publisher that closes ends a wait at once with its reason, where a timeout would only
//! say that something was slow.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::control::{Command, Gauges, WindowPlan, WindowReport};
use super::ledger::{AckBook, SessionTally};
use super::publisher::Publisher;
use super::schedule::Schedule;
use super::session::{Join, Session};
use super::worker::{self, WorkerSetup};
use super::{new_histogram, Measured, Plan, Timeouts, Window};
use crate::placement;

/// How far ahead of its first post a window is announced, so every worker has it.
const WINDOW_LEAD: Duration = Duration::from_millis(50);
/// How often the fleet looks at the gauges.
const WAIT_STEP: Duration = Duration::from_millis(2);
/// Descriptors kept free for everything that is not a client socket.
const SPARE_FILES: u64 = 64;
/// How long a worker may take to send its window report.
const REPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// The load threads and everything they hold.
pub struct Fleet {
    epoch: Instant,
    workers: Vec<WorkerHandle>,
    reports: Receiver<WindowReport>,
    sessions: usize,
    publishers: usize,
    addr: SocketAddr,
    server_pid: Option<u32>,
    timeouts: Timeouts,
    next_window: u32,
    warm_round: u64,
    /// Why no further window can be measured on these connections: an earlier window
    /// failed, or left posts unanswered whose answers and deliveries could still arrive
    /// during the next one and be mistaken for its own.
    spoiled: Option<String>,
    /// Commands broadcast so far (see `Gauges::commands_done`).
    commands_sent: u64,
    progress: Option<ProgressBar>,
}

struct WorkerHandle {
    commands: Sender<Command>,
    waker: Arc<mio::Waker>,
    gauges: Arc<Gauges>,
    thread: Option<JoinHandle<()>>,
}

/// A window whose posts are all answered (or timed out), not yet checked.
#[derive(Debug)]
pub struct Posted {
    id: u32,
    schedule: Schedule,
    book: Arc<AckBook>,
    started: Instant,
    own_cpu_start: f64,
    server_cpu_start: Option<f64>,
    server_waiting_start: Option<f64>,
}

impl Posted {
    /// Posts answered 200.
    pub fn acked(&self) -> u64 {
        self.book.acked_count()
    }
}

/// The outcome of reconnecting every session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejoined {
    /// Sessions Live again.
    pub sessions: usize,
    /// Dispatches the server replayed to resuming sessions (0 for IDENTIFY).
    pub replayed: u64,
    /// From the first connect to the last READY/RESUMED.
    pub elapsed: Duration,
}

impl Fleet {
    /// Starts the load threads and waits until every publisher is connected and every
    /// session is READY.
    pub fn connect(plan: &Plan, progress: Option<&ProgressBar>) -> Result<Fleet, String> {
        check_plan(plan)?;
        let files =
            placement::raise_nofile_limit().map_err(|e| format!("raising RLIMIT_NOFILE: {e}"))?;
        let needed = (plan.sessions + plan.publishers) as u64 + SPARE_FILES;
        if files < needed {
            return Err(format!(
                "{} sessions and {} publishers need {needed} open files; the limit is {files} \
                 (raise the hard limit: ulimit -Hn)",
                plan.sessions, plan.publishers
            ));
        }
        let epoch = Instant::now();
        let threads = plan.load_cpus.len().max(1);
        let mut sessions: Vec<Vec<Session>> = (0..threads).map(|_| Vec::new()).collect();
        for index in 0..plan.sessions {
            let token = plan.session_tokens[index % plan.session_tokens.len()].clone();
            sessions[index % threads].push(Session::new(index, token, plan.compress));
        }
        let host = plan.addr.to_string();
        let mut publishers: Vec<Vec<Publisher>> = (0..threads).map(|_| Vec::new()).collect();
        for index in 0..plan.publishers {
            publishers[index % threads].push(Publisher::new(
                index as u32,
                &host,
                &plan.channel_id,
                &plan.publisher_token,
                plan.in_flight_per_publisher,
            ));
        }
        let (replies, reports) = mpsc::channel();
        let mut workers = Vec::with_capacity(threads);
        for (index, (sessions, publishers)) in sessions.into_iter().zip(publishers).enumerate() {
            let poll = mio::Poll::new().map_err(|e| format!("mio::Poll: {e}"))?;
            let waker = Arc::new(
                mio::Waker::new(poll.registry(), worker::WAKER)
                    .map_err(|e| format!("mio::Waker: {e}"))?,
            );
            let (commands, commands_rx) = mpsc::channel();
            let gauges = Arc::new(Gauges::default());
            let setup = WorkerSetup {
                index,
                cpu: plan.load_cpus.get(index).copied(),
                addr: plan.addr,
                sessions,
                publishers,
                sessions_total: plan.sessions,
                sources: plan.sources,
                handshakes_in_flight: plan.handshakes_in_flight.div_ceil(threads),
                handshake_timeout: plan.timeouts.handshake,
                epoch,
                poll,
                commands: commands_rx,
                replies: replies.clone(),
                gauges: Arc::clone(&gauges),
            };
            let thread = std::thread::Builder::new()
                .name(format!("loadgen-{index}"))
                .spawn(move || worker::run(setup))
                .map_err(|e| format!("starting load thread {index}: {e}"))?;
            workers.push(WorkerHandle {
                commands,
                waker,
                gauges,
                thread: Some(thread),
            });
        }
        let mut fleet = Fleet {
            epoch,
            workers,
            reports,
            sessions: plan.sessions,
            publishers: plan.publishers,
            addr: plan.addr,
            server_pid: plan.server_pid,
            timeouts: plan.timeouts,
            next_window: 0,
            spoiled: None,
            commands_sent: 0,
            warm_round: 0,
            progress: progress.cloned(),
        };
        fleet.await_joined("every session READY and every publisher connected")?;
        Ok(fleet)
    }

    /// Sessions Live now.
    pub fn sessions_live(&self) -> usize {
        self.sum(|g| g.live.load(Ordering::Acquire))
    }

    /// The server address the sessions connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Posts one message and waits until every session received it.
    pub fn warm_up(&mut self) -> Result<(), String> {
        self.warm_round += 1;
        let round = self.warm_round;
        self.set_progress("warm-up", self.sessions as u64);
        self.broadcast(|| Command::Warm {
            round,
            publisher: 0,
        });
        let sessions = self.sessions;
        self.wait_until(
            self.timeouts.warm_up,
            "the warm-up post to reach every session",
            |fleet| {
                let seen = fleet.sum(|g| g.warm_seen.load(Ordering::Acquire));
                fleet.show_progress(seen as u64);
                Ok(seen == sessions
                    && fleet.sum(|g| g.warm_acked.load(Ordering::Acquire) as usize)
                        >= round as usize)
            },
        )
    }

    /// One measured window, checked: [`Fleet::post`] then [`Fleet::await_deliveries`].
    pub fn publish(&mut self, window: Window) -> Result<Measured, String> {
        let posted = self.post(window)?;
        self.await_deliveries(posted)
    }

    /// Publishes one window on its open-loop schedule and waits (bounded) until every
    /// POST is answered. From then on answers no longer count.
    pub fn post(&mut self, window: Window) -> Result<Posted, String> {
        if window.rate_per_s.is_nan() || window.rate_per_s <= 0.0 || window.duration.is_zero() {
            return Err(format!(
                "a window needs a positive rate and duration: {window:?}"
            ));
        }
        if let Some(why) = &self.spoiled {
            return Err(format!("no further window on this fleet: {why}"));
        }
        let id = self.next_window;
        self.next_window += 1;
        let start_ns = self.now_ns() + WINDOW_LEAD.as_nanos() as u64;
        let schedule = Schedule::new(
            self.publishers as u32,
            window.rate_per_s,
            start_ns,
            window.duration,
        );
        let book = Arc::new(AckBook::new(id, &schedule));
        let plan = Arc::new(WindowPlan {
            id,
            schedule,
            book: Arc::clone(&book),
        });
        self.broadcast(|| Command::OpenWindow(Arc::clone(&plan)));
        self.set_progress(
            &format!("{:.0} posts/s", window.rate_per_s),
            schedule.total_posts,
        );
        let start = self.epoch + Duration::from_nanos(start_ns);
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
        let started = Instant::now();
        let own_cpu_start = placement::own_cpu_seconds();
        let server_cpu_start = self.server_cpu();
        let server_waiting_start = self.server_waiting();
        let answered = self.wait_until(
            window.duration + self.timeouts.answers,
            "every post to be sent and answered",
            |fleet| {
                fleet.check_publishers()?;
                fleet.check_sessions()?;
                fleet.show_progress(fleet.sum(|g| g.acked.load(Ordering::Acquire) as usize) as u64);
                let left = fleet.sum(|g| g.posts_left.load(Ordering::Acquire) as usize);
                let in_flight = fleet.sum(|g| g.in_flight.load(Ordering::Acquire) as usize);
                Ok(left == 0 && in_flight == 0)
            },
        );
        self.broadcast(|| Command::FinalizeAnswers);
        let posted = Posted {
            id,
            schedule,
            book,
            started,
            own_cpu_start,
            server_cpu_start,
            server_waiting_start,
        };
        match answered {
            Ok(()) => Ok(posted),
            Err(error) if !error.starts_with("timed out") => {
                self.spoiled = Some(format!("window {id} failed"));
                Err(self.close_window_with_error(error))
            }
            // A timeout leaves posts unanswered, which the verdict allows (a lost
            // connection, above, is a failure reported with the window's verdicts).
            Err(_) => Ok(posted),
        }
    }

    /// Waits (bounded) until every acknowledged post of `posted` reached every session,
    /// then checks every session's ledger and returns the window's measurements.
    pub fn await_deliveries(&mut self, posted: Posted) -> Result<Measured, String> {
        let delivered = self.wait_until(
            self.timeouts.deliveries,
            "every acknowledged post to reach every session",
            |fleet| {
                fleet.check_sessions()?;
                Ok(fleet
                    .workers
                    .iter()
                    .all(|w| w.gauges.census.load(Ordering::Acquire) == 1))
            },
        );
        let cpu_span = posted.started.elapsed();
        let load_cpu_s = placement::own_cpu_seconds() - posted.own_cpu_start;
        let server_cpu_s = match (posted.server_cpu_start, self.server_cpu()) {
            (Some(start), Some(end)) => Some(end - start),
            _ => None,
        };
        let server_waiting_s = match (posted.server_waiting_start, self.server_waiting()) {
            (Some(start), Some(end)) => Some((end - start).max(0.0)),
            _ => None,
        };
        self.finish_progress();
        let reports = self.close_window()?;
        let merged = merge(&reports);
        if let Some(error) = merged.failure(&posted, delivered.err()) {
            self.spoiled = Some(format!("window {} failed", posted.id));
            return Err(error);
        }
        let unanswered = posted.book.unanswered_count();
        if unanswered > 0 {
            self.spoiled = Some(format!(
                "window {} left {unanswered} post(s) unanswered after {:?}",
                posted.id, self.timeouts.answers
            ));
        }
        let window_s = posted.schedule.total_posts as f64 / posted.schedule.rate_per_s;
        let window_end_ns = posted.schedule.end_ns();
        let drain = Duration::from_nanos(merged.last_delivery_ns.saturating_sub(window_end_ns));
        Ok(Measured {
            sessions: self.sessions,
            publishers: self.publishers,
            rate_per_s: posted.schedule.rate_per_s,
            window: Duration::from_secs_f64(window_s),
            posts_scheduled: posted.schedule.total_posts,
            posts_acked: posted.book.acked_count(),
            posts_unanswered: posted.book.unanswered_count(),
            late_sends: merged.late_sends,
            window_full_sends: merged.window_full_sends,
            deliveries: merged.tally.delivered,
            deliveries_unanswered: merged.tally.delivered_unanswered,
            deliveries_per_s: merged.tally.delivered as f64 / window_s,
            acked_per_s: posted.book.acked_count() as f64 / window_s,
            delivered_per_s: merged.tally.delivered as f64 / (window_s + drain.as_secs_f64()),
            post_ns: merged.post_ns,
            delivery_ns: merged.delivery_ns,
            drain,
            bytes_received: merged.bytes,
            frames_received: merged.frames,
            event_bytes: merged.event_bytes,
            cpu_span,
            load_cpu_s,
            load_thread_busy_max: merged.busy_max,
            load_thread_demand_max: merged.demand_max,
            server_cpu_s,
            server_waiting_s,
            checksum: merged.tally.checksum,
        })
    }

    /// Drops every session's connection abruptly (no close frame: to the server it looks
    /// like a network failure, which leaves the session resumable).
    pub fn drop_connections(&mut self) -> Result<(), String> {
        self.broadcast(|| Command::Detach);
        self.wait_until(Duration::from_secs(5), "every session to drop", |fleet| {
            Ok(
                fleet.sum(|g| g.live.load(Ordering::Acquire) + g.joining.load(Ordering::Acquire))
                    == 0,
            )
        })
    }

    /// Reconnects every session and RESUMEs it (session id and last `s`); the server must
    /// replay what it missed. Returns how many dispatches were replayed.
    pub fn resume(&mut self) -> Result<Rejoined, String> {
        self.rejoin(Join::Resume, self.addr)
    }

    /// Reconnects every session (and any lost publisher) to `addr` with a fresh IDENTIFY,
    /// as clients do after a server restart.
    pub fn identify_again(&mut self, addr: SocketAddr) -> Result<Rejoined, String> {
        self.addr = addr;
        self.rejoin(Join::Identify, addr)
    }

    /// Stops the load threads (closing every socket) and waits for them.
    pub fn close(mut self) {
        self.stop();
    }

    fn rejoin(&mut self, join: Join, addr: SocketAddr) -> Result<Rejoined, String> {
        let replayed_before = self.sum(|g| g.replayed.load(Ordering::Acquire) as usize) as u64;
        let started = Instant::now();
        self.broadcast(|| Command::Rejoin { join, addr });
        let what = match join {
            Join::Resume => "every session RESUMED",
            Join::Identify => "every session READY again",
        };
        self.await_joined(what)?;
        Ok(Rejoined {
            sessions: self.sessions_live(),
            replayed: self.sum(|g| g.replayed.load(Ordering::Acquire) as usize) as u64
                - replayed_before,
            elapsed: started.elapsed(),
        })
    }

    fn await_joined(&mut self, what: &str) -> Result<(), String> {
        let (sessions, publishers) = (self.sessions, self.publishers);
        self.set_progress("connecting", sessions as u64);
        // The first gauges appear after the workers' first tick.
        let result = self.wait_until(self.timeouts.ready, what, |fleet| {
            fleet.check_publishers()?;
            fleet.check_sessions()?;
            let live = fleet.sessions_live();
            fleet.show_progress(live as u64);
            Ok(live == sessions
                && fleet.sum(|g| g.publishers_open.load(Ordering::Acquire)) == publishers)
        });
        self.finish_progress();
        result
    }

    /// Polls `done` every `WAIT_STEP` until it says yes, returns an error, or `timeout`
    /// passes.
    fn wait_until(
        &mut self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(&Fleet) -> Result<bool, String>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(error) = self.worker_error() {
                return Err(error);
            }
            // Gauges from before a worker handled the last command describe the old state
            // (sessions closed by a server that was just replaced, say).
            let current = self
                .workers
                .iter()
                .all(|w| w.gauges.commands_done.load(Ordering::Acquire) >= self.commands_sent);
            if current && done(self)? {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("timed out after {timeout:?} waiting for {what}"));
            }
            std::thread::sleep(WAIT_STEP);
        }
    }

    /// A worker that cannot go on (poll, timer, setup), or that stopped.
    fn worker_error(&self) -> Option<String> {
        self.workers.iter().enumerate().find_map(|(index, worker)| {
            let fatal = worker
                .gauges
                .fatal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let finished = worker.thread.as_ref().is_none_or(JoinHandle::is_finished);
            fatal.or_else(|| finished.then(|| format!("load thread {index} stopped")))
        })
    }

    fn check_sessions(&self) -> Result<(), String> {
        if self.sum(|g| g.closed.load(Ordering::Acquire)) == 0 {
            return Ok(());
        }
        Err(self.first_failure("a session closed"))
    }

    fn check_publishers(&self) -> Result<(), String> {
        if self.sum(|g| g.publishers_closed.load(Ordering::Acquire)) == 0 {
            return Ok(());
        }
        Err(self.first_failure("a publisher lost its connection"))
    }

    fn first_failure(&self, fallback: &str) -> String {
        self.workers
            .iter()
            .find_map(|w| {
                w.gauges
                    .failure
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
            })
            .unwrap_or_else(|| fallback.to_string())
    }

    /// Ends the open window and gathers every worker's report.
    fn close_window(&mut self) -> Result<Vec<WindowReport>, String> {
        self.broadcast(|| Command::CloseWindow);
        let mut reports = Vec::with_capacity(self.workers.len());
        let deadline = Instant::now() + REPORT_TIMEOUT;
        while reports.len() < self.workers.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.reports.recv_timeout(left) {
                Ok(report) => reports.push(report),
                Err(_) => {
                    return Err(format!(
                        "{} load thread(s) sent no window report within {REPORT_TIMEOUT:?}",
                        self.workers.len() - reports.len()
                    ))
                }
            }
        }
        Ok(reports)
    }

    /// Closes the window after `error` and adds what the verdicts say.
    fn close_window_with_error(&mut self, error: String) -> String {
        match self.close_window() {
            Ok(reports) => {
                let verdicts: Vec<String> = reports
                    .iter()
                    .flat_map(|r| r.verdicts.iter().cloned())
                    .take(3)
                    .collect();
                if verdicts.is_empty() {
                    error
                } else {
                    format!("{error}; {}", verdicts.join("; "))
                }
            }
            Err(report_error) => format!("{error}; {report_error}"),
        }
    }

    fn broadcast(&mut self, command: impl Fn() -> Command) {
        self.commands_sent += 1;
        for worker in &self.workers {
            // A worker that is gone shows up in `worker_error` at the next wait.
            let _ = worker.commands.send(command());
            let _ = worker.waker.wake();
        }
    }

    fn sum(&self, gauge: impl Fn(&Gauges) -> usize) -> usize {
        self.workers.iter().map(|w| gauge(&w.gauges)).sum()
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn server_cpu(&self) -> Option<f64> {
        self.server_pid
            .and_then(|pid| placement::process_cpu_seconds(pid).ok())
    }

    fn server_waiting(&self) -> Option<f64> {
        self.server_pid
            .and_then(|pid| placement::process_waiting_seconds(pid).ok())
    }

    fn set_progress(&self, message: &str, length: u64) {
        if let Some(bar) = &self.progress {
            bar.reset();
            bar.set_length(length);
            bar.set_message(message.to_string());
        }
    }

    fn show_progress(&self, position: u64) {
        if let Some(bar) = &self.progress {
            bar.set_position(position);
        }
    }

    fn finish_progress(&self) {
        if let Some(bar) = &self.progress {
            bar.set_position(bar.length().unwrap_or(0));
        }
    }

    fn stop(&mut self) {
        self.broadcast(|| Command::Stop);
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                // A panicked worker has nothing left to clean up.
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

fn check_plan(plan: &Plan) -> Result<(), String> {
    if plan.sessions == 0 || plan.publishers == 0 {
        return Err("a plan needs at least one session and one publisher".into());
    }
    if plan.session_tokens.is_empty() {
        return Err("a plan needs at least one session token".into());
    }
    if plan.in_flight_per_publisher == 0 {
        return Err("a publisher needs room for one request in flight".into());
    }
    if plan.sources == 0 || plan.sources > 254 {
        return Err(format!(
            "sources must be 1..=254 (127.0.0.1 to 127.0.0.254), not {}",
            plan.sources
        ));
    }
    Ok(())
}

/// Every worker's window report, added up.
struct Merged {
    verdicts: Vec<String>,
    sessions_failed: usize,
    publisher_failures: Vec<String>,
    refusals: u64,
    first_refusal: Option<String>,
    tally: SessionTally,
    late_sends: u64,
    window_full_sends: u64,
    post_ns: hdrhistogram::Histogram<u64>,
    delivery_ns: hdrhistogram::Histogram<u64>,
    last_delivery_ns: u64,
    bytes: u64,
    frames: u64,
    event_bytes: usize,
    busy_max: f64,
    demand_max: f64,
}

fn merge(reports: &[WindowReport]) -> Merged {
    let mut merged = Merged {
        verdicts: Vec::new(),
        sessions_failed: 0,
        publisher_failures: Vec::new(),
        refusals: 0,
        first_refusal: None,
        tally: SessionTally::default(),
        late_sends: 0,
        window_full_sends: 0,
        post_ns: new_histogram(),
        delivery_ns: new_histogram(),
        last_delivery_ns: 0,
        bytes: 0,
        frames: 0,
        event_bytes: 0,
        busy_max: 0.0,
        demand_max: 0.0,
    };
    for report in reports {
        merged.verdicts.extend(report.verdicts.iter().cloned());
        merged.sessions_failed += report.sessions_failed;
        merged
            .publisher_failures
            .extend(report.publisher_failures.iter().cloned());
        merged.tally.delivered += report.tally.delivered;
        merged.tally.delivered_unanswered += report.tally.delivered_unanswered;
        merged.tally.checksum = merged.tally.checksum.wrapping_add(report.tally.checksum);
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = merged.delivery_ns.add(&report.delivery_ns);
        merged.last_delivery_ns = merged.last_delivery_ns.max(report.last_delivery_ns);
        merged.bytes += report.bytes;
        merged.frames += report.frames;
        merged.event_bytes = merged.event_bytes.max(report.event_bytes);
        let wall_s = report.wall_s.max(1e-9);
        merged.busy_max = merged.busy_max.max(report.cpu_s / wall_s);
        merged.demand_max = merged
            .demand_max
            .max(((report.cpu_s + report.waiting_s) / wall_s).min(1.0));
        for stats in &report.publishers {
            merged.refusals += stats.refused;
            if merged.first_refusal.is_none() {
                merged.first_refusal.clone_from(&stats.first_refusal);
            }
            merged.late_sends += stats.late_sends;
            merged.window_full_sends += stats.window_full_sends;
            let _ = merged.post_ns.add(&stats.post_ns);
        }
    }
    merged
}

impl Merged {
    /// Why the window failed, if it did: broken sessions first (with the wait that gave
    /// up), then refused posts, then lost publishers.
    fn failure(&self, posted: &Posted, wait: Option<String>) -> Option<String> {
        let mut problems = Vec::new();
        if self.sessions_failed > 0 {
            let mut text = self
                .verdicts
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ");
            if self.sessions_failed > 3 {
                text.push_str(&format!(
                    "; and {} more session(s)",
                    self.sessions_failed - 3
                ));
            }
            problems.push(text);
        }
        if self.refusals > 0 {
            problems.push(format!(
                "{} post(s) refused, first {}",
                self.refusals,
                self.first_refusal.as_deref().unwrap_or("?")
            ));
        }
        problems.extend(self.publisher_failures.iter().cloned());
        if problems.is_empty() {
            // Every verdict passed: nothing acknowledged is missing, so a wait that gave
            // up was not needed.
            return None;
        }
        if let Some(wait) = wait {
            problems.push(wait);
        }
        Some(format!("window {}: {}", posted.id, problems.join("; ")))
    }
}
