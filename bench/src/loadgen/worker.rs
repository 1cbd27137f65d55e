//! One load generator thread: a mio event loop, pinned to one CPU, that owns its share of
//! the sessions and publishers and all their sockets.
//!
//! The loop: take commands from the fleet, start handshakes (a bounded number at once),
//! write the posts that are due, wait for readiness (a timerfd wakes it for the next due
//! post, a tick every `TICK_NS` for heartbeats, timeouts and gauges), read and write.
//! Reads go into one per-thread scratch buffer, 64 KiB at a time; only the tail of an
//! incomplete frame is kept per session between reads.
//!
//! The worker tells the fleet how things stand through `Gauges` (`control.rs`: atomics it
//! overwrites every tick), and answers `CloseWindow` with a `WindowReport` on the reply
//! channel.
//!
//! Bounds: handshakes in flight ≤ `handshakes_in_flight`; each session must be Live within
//! `handshake_timeout` of its connect or it is closed; every wait inside the loop is a
//! poll with a timeout of at most one tick.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::control::{Command, Gauges, WindowPlan, WindowReport};
use super::ledger::SessionTally;
use super::publisher::{Publisher, PublisherState, PublisherWindow};
use super::rng::XorShift64;
use super::session::{Join, Session, State, Tally};
use super::sys::{connect_from, TimerFd};
use crate::placement;

/// Bytes asked of the kernel per read.
const READ_CHUNK: usize = 64 * 1024;
/// How often heartbeats, timeouts and gauges are looked at.
const TICK_NS: u64 = 10_000_000;
/// How many readiness events are handled between two looks at the clock (due posts, the
/// tick).
const CLOCK_CHECK_EVERY: usize = 4;
/// Bytes one session may read per turn of the loop; a session with more waiting goes to
/// the back of the backlog, so one flooded socket cannot hold up the others, the posts or
/// the gauges.
const READ_BUDGET_BYTES: usize = 4 * READ_CHUNK;
/// Readiness events taken per poll.
const EVENTS_PER_POLL: usize = 256;
/// Session verdicts kept per window report (the rest are counted).
const VERDICTS_KEPT: usize = 8;

pub(super) const WAKER: Token = Token(usize::MAX);
const TIMER: Token = Token(usize::MAX - 1);

/// Everything a worker is started with.
pub(super) struct WorkerSetup {
    pub index: usize,
    pub cpu: Option<usize>,
    pub addr: SocketAddr,
    pub sessions: Vec<Session>,
    pub publishers: Vec<Publisher>,
    pub sessions_total: usize,
    pub sources: usize,
    pub handshakes_in_flight: usize,
    pub handshake_timeout: Duration,
    pub epoch: Instant,
    pub poll: Poll,
    pub commands: Receiver<Command>,
    pub replies: Sender<WindowReport>,
    pub gauges: Arc<Gauges>,
}

/// A socket and the bytes of an incomplete frame or answer read from it.
#[derive(Debug, Default)]
struct Conn {
    stream: Option<TcpStream>,
    carry: Vec<u8>,
    /// Queued in `Worker::backlog`: it stopped reading at its budget, not at EAGAIN.
    backlogged: bool,
}

struct Worker {
    setup_index: usize,
    addr: SocketAddr,
    epoch: Instant,
    poll: Poll,
    timer: TimerFd,
    timer_armed_ns: u64,
    commands: Receiver<Command>,
    replies: Sender<WindowReport>,
    gauges: Arc<Gauges>,
    sessions: Vec<Session>,
    session_conns: Vec<Conn>,
    publishers: Vec<Publisher>,
    publisher_conns: Vec<Conn>,
    sessions_total: usize,
    sources: usize,
    handshakes_in_flight: usize,
    handshake_timeout_ns: u64,
    handshakes_active: usize,
    to_connect: std::collections::VecDeque<usize>,
    /// Sessions with bytes left to read after their budget (edge-triggered: no new event
    /// will come for those bytes).
    backlog: std::collections::VecDeque<usize>,
    scratch: Vec<u8>,
    tally: Tally,
    bytes: u64,
    warm_round: u64,
    window: Option<Arc<WindowPlan>>,
    answers_final: bool,
    window_cpu_start: f64,
    window_waiting_start: f64,
    window_opened: Instant,
    next_tick_ns: u64,
    stopping: bool,
}

/// Runs a worker until `Command::Stop` (or the fleet goes away).
pub(super) fn run(setup: WorkerSetup) {
    if let Some(cpu) = setup.cpu {
        if let Err(error) = placement::pin_current_thread(cpu) {
            // An unpinned worker still loads the server, only less predictably.
            eprintln!(
                "loadgen worker {}: cannot pin to CPU {cpu}: {error}",
                setup.index
            );
        }
    }
    let mut worker = match Worker::new(setup) {
        Ok(worker) => worker,
        Err((gauges, error)) => {
            *gauges.fatal.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
            return;
        }
    };
    worker.run();
}

impl Worker {
    fn new(setup: WorkerSetup) -> Result<Worker, (Arc<Gauges>, String)> {
        let gauges = Arc::clone(&setup.gauges);
        let fail = |what: &str, error: io::Error| {
            (
                Arc::clone(&gauges),
                format!("loadgen worker {}: {what}: {error}", setup.index),
            )
        };
        let timer = TimerFd::new().map_err(|e| fail("timerfd", e))?;
        setup
            .poll
            .registry()
            .register(
                &mut mio::unix::SourceFd(&timer.raw_fd()),
                TIMER,
                Interest::READABLE,
            )
            .map_err(|e| fail("registering the timer", e))?;
        let sessions = setup.sessions.len();
        let publishers = setup.publishers.len();
        Ok(Worker {
            setup_index: setup.index,
            addr: setup.addr,
            epoch: setup.epoch,
            poll: setup.poll,
            timer,
            timer_armed_ns: u64::MAX,
            commands: setup.commands,
            replies: setup.replies,
            gauges: setup.gauges,
            to_connect: (0..sessions).collect(),
            backlog: std::collections::VecDeque::new(),
            sessions: setup.sessions,
            session_conns: (0..sessions).map(|_| Conn::default()).collect(),
            publishers: setup.publishers,
            publisher_conns: (0..publishers).map(|_| Conn::default()).collect(),
            sessions_total: setup.sessions_total,
            sources: setup.sources.max(1),
            handshakes_in_flight: setup.handshakes_in_flight.max(1),
            handshake_timeout_ns: setup.handshake_timeout.as_nanos() as u64,
            handshakes_active: 0,
            scratch: vec![0; 2 * READ_CHUNK],
            tally: Tally {
                rng: XorShift64::new(seed(setup.index)),
                delivery_ns: Some(super::new_histogram()),
                ..Tally::default()
            },
            bytes: 0,
            warm_round: 0,
            window: None,
            answers_final: false,
            window_cpu_start: 0.0,
            window_waiting_start: 0.0,
            window_opened: setup.epoch,
            next_tick_ns: 0,
            stopping: false,
        })
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn run(&mut self) {
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        for index in 0..self.publishers.len() {
            self.connect_publisher(index);
        }
        while !self.stopping {
            self.handle_commands();
            if self.stopping {
                break;
            }
            let now = self.now_ns();
            self.start_handshakes(now);
            self.send_due_posts(now);
            if now >= self.next_tick_ns {
                self.tick(now);
                self.next_tick_ns = now + TICK_NS;
            }
            let mut timeout = self.arm_timer(now);
            if !self.backlog.is_empty() {
                // Bytes are waiting already: look for new events without sleeping.
                timeout = Duration::ZERO;
            }
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.fail(format!(
                        "loadgen worker {}: poll: {error}",
                        self.setup_index
                    ));
                    return;
                }
            }
            for (handled, event) in events.iter().enumerate() {
                if handled % CLOCK_CHECK_EVERY == CLOCK_CHECK_EVERY - 1 {
                    self.look_at_the_clock();
                }
                match event.token() {
                    WAKER => {}
                    TIMER => {
                        self.timer.drain();
                        self.timer_armed_ns = u64::MAX;
                    }
                    Token(index) if index < self.sessions.len() => self.handle_session_event(index),
                    Token(index) => self.handle_publisher_event(index - self.sessions.len()),
                }
            }
            self.serve_backlog();
        }
    }

    /// A burst of readable sessions can take milliseconds: posts due in the meantime leave
    /// now, and the tick (heartbeats, gauges) keeps its pace.
    fn look_at_the_clock(&mut self) {
        let now = self.now_ns();
        self.send_due_posts(now);
        if now >= self.next_tick_ns {
            self.tick(now);
            self.next_tick_ns = now + TICK_NS;
        }
    }

    /// One more turn for each session that stopped at its read budget last time.
    fn serve_backlog(&mut self) {
        for turn in 0..self.backlog.len() {
            if turn % CLOCK_CHECK_EVERY == CLOCK_CHECK_EVERY - 1 {
                self.look_at_the_clock();
            }
            let Some(index) = self.backlog.pop_front() else {
                return;
            };
            self.session_conns[index].backlogged = false;
            if self.sessions[index].is_open() {
                self.handle_session_event(index);
            }
        }
    }

    // --- commands ------------------------------------------------------------------

    fn handle_commands(&mut self) {
        loop {
            let command = match self.commands.try_recv() {
                Ok(command) => command,
                Err(std::sync::mpsc::TryRecvError::Empty) => return,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    self.stopping = true;
                    return;
                }
            };
            match command {
                Command::Warm { round, publisher } => {
                    self.warm_round = round;
                    if let Some(index) = self.publishers.iter().position(|p| p.index == publisher) {
                        self.publishers[index].post_warm(round);
                        self.flush_publisher(index);
                    }
                }
                Command::OpenWindow(plan) => self.open_window(plan),
                Command::FinalizeAnswers => {
                    self.answers_final = true;
                    self.publishers
                        .iter_mut()
                        .for_each(Publisher::finalize_answers);
                }
                Command::CloseWindow => self.close_window(),
                Command::Detach => self.detach_all(),
                Command::Rejoin { join, addr } => self.rejoin_all(join, addr),
                Command::Stop => self.stopping = true,
            }
            self.update_gauges();
            self.gauges.commands_done.fetch_add(1, Ordering::Release);
        }
    }

    fn open_window(&mut self, plan: Arc<WindowPlan>) {
        for session in &mut self.sessions {
            session.ledger.open_window(&plan.book);
        }
        for publisher in &mut self.publishers {
            publisher.open_window(PublisherWindow {
                id: plan.id,
                schedule: plan.schedule,
                book: Arc::clone(&plan.book),
            });
        }
        self.tally.delivered = 0;
        self.tally.frames = 0;
        self.tally.last_delivery_ns = 0;
        if let Some(histogram) = &mut self.tally.delivery_ns {
            histogram.reset();
        }
        self.bytes = 0;
        self.answers_final = false;
        self.window_cpu_start = placement::thread_cpu_seconds();
        self.window_waiting_start = waiting_seconds();
        self.window_opened = Instant::now();
        self.window = Some(plan);
    }

    fn close_window(&mut self) {
        let cpu_s = placement::thread_cpu_seconds() - self.window_cpu_start;
        let waiting_s = waiting_seconds() - self.window_waiting_start;
        let wall_s = self.window_opened.elapsed().as_secs_f64();
        let Some(plan) = self.window.take() else {
            return;
        };
        let mut report = WindowReport {
            verdicts: Vec::new(),
            sessions_failed: 0,
            tally: SessionTally::default(),
            publishers: Vec::new(),
            publisher_failures: Vec::new(),
            delivery_ns: self
                .tally
                .delivery_ns
                .clone()
                .unwrap_or_else(super::new_histogram),
            last_delivery_ns: self.tally.last_delivery_ns,
            bytes: self.bytes,
            frames: self.tally.frames,
            cpu_s,
            waiting_s,
            wall_s,
            event_bytes: self.tally.event_bytes,
        };
        for session in &self.sessions {
            match session.ledger.verdict(session.index, &plan.book) {
                Ok(tally) => {
                    report.tally.delivered += tally.delivered;
                    report.tally.delivered_unanswered += tally.delivered_unanswered;
                    report.tally.checksum = report.tally.checksum.wrapping_add(tally.checksum);
                }
                Err(verdict) => {
                    report.sessions_failed += 1;
                    if report.verdicts.len() < VERDICTS_KEPT {
                        report.verdicts.push(verdict);
                    }
                }
            }
        }
        for publisher in &mut self.publishers {
            if let Some(failure) = &publisher.failure {
                report.publisher_failures.push(failure.clone());
            }
            report.publishers.push(publisher.close_window());
        }
        self.answers_final = false;
        // The fleet waits for this report with a timeout; if it is gone, nobody listens.
        let _ = self.replies.send(report);
    }

    fn detach_all(&mut self) {
        for index in 0..self.sessions.len() {
            if self.sessions[index].is_open() {
                self.drop_session_conn(index);
                self.sessions[index].detach();
            } else if self.sessions[index].state == State::Idle {
                self.sessions[index].detach();
            }
        }
        self.to_connect.clear();
        self.backlog.clear();
        self.handshakes_active = 0;
    }

    fn rejoin_all(&mut self, join: Join, addr: SocketAddr) {
        self.addr = addr;
        self.to_connect.clear();
        self.backlog.clear();
        for index in 0..self.sessions.len() {
            self.drop_session_conn(index);
            self.sessions[index].rejoin(join);
            self.to_connect.push_back(index);
        }
        self.handshakes_active = 0;
        for index in 0..self.publishers.len() {
            // After a restart (IDENTIFY) every publisher's connection is to a dead server,
            // even one whose EOF was not read yet.
            if join == Join::Identify || self.publishers[index].state != PublisherState::Open {
                self.drop_publisher_conn(index);
                self.publishers[index].reset_connection();
                self.connect_publisher(index);
            }
        }
    }

    // --- sessions ------------------------------------------------------------------

    fn start_handshakes(&mut self, now: u64) {
        while self.handshakes_active < self.handshakes_in_flight {
            let Some(index) = self.to_connect.pop_front() else {
                return;
            };
            if self.sessions[index].state != State::Idle {
                continue;
            }
            let source = self.source_for(self.sessions[index].index);
            match connect_from(source, self.addr) {
                Ok(mut stream) => {
                    if let Err(error) = self.poll.registry().register(
                        &mut stream,
                        Token(index),
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        self.sessions[index].close(format!("register: {error}"));
                        continue;
                    }
                    self.session_conns[index] = Conn {
                        stream: Some(stream),
                        ..Conn::default()
                    };
                    self.sessions[index].handle_connect_started(now + self.handshake_timeout_ns);
                    self.handshakes_active += 1;
                }
                Err(error) => {
                    self.sessions[index].close(format!("connect from {source:?}: {error}"))
                }
            }
        }
    }

    fn handle_session_event(&mut self, index: usize) {
        let was_joining = self.sessions[index].is_joining();
        if self.sessions[index].state == State::Connecting {
            match connect_outcome(self.session_conns[index].stream.as_ref()) {
                Ok(false) => return,
                Ok(true) => {
                    let host = self.addr.to_string();
                    self.sessions[index].handle_connected(&host, &mut self.tally);
                }
                Err(error) => self.sessions[index].close(format!("connect: {error}")),
            }
        }
        if self.sessions[index].is_open() {
            self.read_session(index);
        }
        if self.sessions[index].is_open() {
            self.flush_session(index);
        }
        self.after_session(index, was_joining);
    }

    fn read_session(&mut self, index: usize) {
        let Worker {
            sessions,
            session_conns,
            scratch,
            tally,
            bytes,
            epoch,
            backlog,
            ..
        } = self;
        let session = &mut sessions[index];
        let conn = &mut session_conns[index];
        let Some(stream) = conn.stream.as_mut() else {
            return;
        };
        let mut filled = conn.carry.len();
        if scratch.len() < filled + READ_CHUNK {
            scratch.resize(filled + READ_CHUNK, 0);
        }
        scratch[..filled].copy_from_slice(&conn.carry);
        conn.carry.clear();
        let mut taken = 0;
        loop {
            if taken >= READ_BUDGET_BYTES {
                if !conn.backlogged {
                    conn.backlogged = true;
                    backlog.push_back(index);
                }
                break;
            }
            if scratch.len() < filled + READ_CHUNK {
                scratch.resize(filled + READ_CHUNK, 0);
            }
            let room = scratch.len() - filled;
            match stream.read(&mut scratch[filled..]) {
                Ok(0) => {
                    session.close("the server closed the connection (EOF)".into());
                    return;
                }
                Ok(read) => {
                    *bytes += read as u64;
                    taken += read;
                    filled += read;
                    let now = epoch.elapsed().as_nanos() as u64;
                    let used = session.handle_input(&scratch[..filled], now, tally);
                    if !session.is_open() {
                        return;
                    }
                    scratch.copy_within(used..filled, 0);
                    filled -= used;
                    if read < room {
                        // A short read emptied the socket's queue; more data will raise a
                        // new edge, so the read that would only say EAGAIN is skipped.
                        break;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    session.close(format!("read: {error}"));
                    return;
                }
            }
        }
        conn.carry.extend_from_slice(&scratch[..filled]);
    }

    fn flush_session(&mut self, index: usize) {
        let conn = &mut self.session_conns[index];
        let session = &mut self.sessions[index];
        if let Some(stream) = conn.stream.as_mut() {
            if let Err(error) = flush(stream, &mut session.outbox) {
                session.close(format!("write: {error}"));
            }
        }
    }

    /// Bookkeeping after a session may have changed state.
    fn after_session(&mut self, index: usize, was_joining: bool) {
        let session = &self.sessions[index];
        if was_joining && !session.is_joining() {
            self.handshakes_active = self.handshakes_active.saturating_sub(1);
        }
        if !session.is_open() && self.session_conns[index].stream.is_some() {
            self.drop_session_conn(index);
        }
    }

    fn drop_session_conn(&mut self, index: usize) {
        let conn = &mut self.session_conns[index];
        if let Some(mut stream) = conn.stream.take() {
            // Deregistering a socket we are about to close cannot usefully fail.
            let _ = self.poll.registry().deregister(&mut stream);
        }
        conn.carry.clear();
    }

    // --- publishers ----------------------------------------------------------------

    fn connect_publisher(&mut self, index: usize) {
        let source = self.source_for(self.sessions_total + self.publishers[index].index as usize);
        let token = Token(self.sessions.len() + index);
        match connect_from(source, self.addr) {
            Ok(mut stream) => match self.poll.registry().register(
                &mut stream,
                token,
                Interest::READABLE | Interest::WRITABLE,
            ) {
                Ok(()) => {
                    self.publisher_conns[index] = Conn {
                        stream: Some(stream),
                        ..Conn::default()
                    };
                    self.publishers[index].state = PublisherState::Connecting;
                }
                Err(error) => self.publishers[index].close(format!("register: {error}")),
            },
            Err(error) => self.publishers[index].close(format!("connect from {source:?}: {error}")),
        }
    }

    fn handle_publisher_event(&mut self, index: usize) {
        if index >= self.publishers.len() {
            return;
        }
        if self.publishers[index].state == PublisherState::Connecting {
            match connect_outcome(self.publisher_conns[index].stream.as_ref()) {
                Ok(false) => return,
                Ok(true) => self.publishers[index].state = PublisherState::Open,
                Err(error) => self.publishers[index].close(format!("connect: {error}")),
            }
        }
        if self.publishers[index].state == PublisherState::Open {
            self.read_publisher(index);
        }
        if self.publishers[index].state == PublisherState::Open {
            let now = self.now_ns();
            self.publishers[index].poll_send(now);
            self.flush_publisher(index);
        }
        if self.publishers[index].state == PublisherState::Closed {
            self.drop_publisher_conn(index);
        }
    }

    fn read_publisher(&mut self, index: usize) {
        let Worker {
            publishers,
            publisher_conns,
            scratch,
            epoch,
            ..
        } = self;
        let publisher = &mut publishers[index];
        let Some(stream) = publisher_conns[index].stream.as_mut() else {
            return;
        };
        loop {
            match stream.read(&mut scratch[..READ_CHUNK]) {
                Ok(0) => return publisher.close("the server closed the connection (EOF)".into()),
                Ok(read) => {
                    let now = epoch.elapsed().as_nanos() as u64;
                    if let Err(error) = publisher.handle_input(&scratch[..read], now) {
                        return publisher.close(error);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return publisher.close(format!("read: {error}")),
            }
        }
    }

    fn flush_publisher(&mut self, index: usize) {
        let publisher = &mut self.publishers[index];
        if publisher.state != PublisherState::Open {
            return;
        }
        if let Some(stream) = self.publisher_conns[index].stream.as_mut() {
            if let Err(error) = flush(stream, &mut publisher.outbox) {
                publisher.close(format!("write: {error}"));
            }
        }
    }

    fn drop_publisher_conn(&mut self, index: usize) {
        if let Some(mut stream) = self.publisher_conns[index].stream.take() {
            // Deregistering a socket we are about to close cannot usefully fail.
            let _ = self.poll.registry().deregister(&mut stream);
        }
    }

    fn send_due_posts(&mut self, now: u64) {
        for index in 0..self.publishers.len() {
            let due = self.publishers[index].next_due_ns();
            if due.is_some_and(|due| due <= now) {
                self.publishers[index].poll_send(now);
                self.flush_publisher(index);
            }
        }
    }

    // --- time ----------------------------------------------------------------------

    /// Arms the timerfd for the next due post if that comes before the next tick;
    /// returns the poll timeout (until the tick).
    fn arm_timer(&mut self, now: u64) -> Duration {
        let next_post = self
            .publishers
            .iter()
            // A publisher at its in-flight bound waits for an answer, not for the clock:
            // arming the timer for its overdue post would spin the loop.
            .filter(|p| p.state == PublisherState::Open && !p.is_window_full())
            .filter_map(Publisher::next_due_ns)
            .min()
            .unwrap_or(u64::MAX);
        if next_post < self.next_tick_ns && next_post != self.timer_armed_ns {
            match self
                .timer
                .arm_after(Duration::from_nanos(next_post.saturating_sub(now)))
            {
                Ok(()) => self.timer_armed_ns = next_post,
                // Without the timer the post leaves at the next tick: late, and counted so.
                Err(error) => self.fail(format!(
                    "loadgen worker {}: timerfd: {error}",
                    self.setup_index
                )),
            }
        }
        Duration::from_nanos(self.next_tick_ns.saturating_sub(now).max(1))
    }

    fn tick(&mut self, now: u64) {
        for index in 0..self.sessions.len() {
            let session = &mut self.sessions[index];
            if session.is_joining() && now > session.join_deadline_ns {
                let state = session.state;
                session.close(format!(
                    "not joined within {} ms of connecting (stuck in {state:?})",
                    self.handshake_timeout_ns / 1_000_000
                ));
                self.after_session(index, true);
                continue;
            }
            if session.poll_heartbeat(now, &mut self.tally) {
                self.flush_session(index);
                let was_joining = self.sessions[index].is_joining();
                self.after_session(index, was_joining);
            }
        }
        self.update_gauges();
    }

    fn update_gauges(&self) {
        let gauges = &self.gauges;
        // Before `live`: a fleet that sees every session live (Acquire) then reads how many
        // dispatches the resumes replayed, which must already include this worker's.
        gauges
            .replayed
            .store(self.tally.replayed, Ordering::Release);
        let count =
            |state: &dyn Fn(&Session) -> bool| self.sessions.iter().filter(|s| state(s)).count();
        gauges
            .live
            .store(count(&|s| s.state == State::Live), Ordering::Release);
        gauges.joining.store(
            count(&|s| s.is_joining() || s.state == State::Idle),
            Ordering::Release,
        );
        gauges
            .closed
            .store(count(&|s| s.state == State::Closed), Ordering::Release);
        gauges.warm_seen.store(
            count(&|s| s.warm_round_seen() == Some(self.warm_round)),
            Ordering::Release,
        );
        let warm_acked = self.publishers.iter().map(|p| p.warm_acked).sum();
        gauges.warm_acked.store(warm_acked, Ordering::Release);
        gauges.publishers_open.store(
            self.publishers
                .iter()
                .filter(|p| p.state == PublisherState::Open)
                .count(),
            Ordering::Release,
        );
        gauges.publishers_closed.store(
            self.publishers
                .iter()
                .filter(|p| p.state == PublisherState::Closed)
                .count(),
            Ordering::Release,
        );
        gauges.posts_left.store(
            self.publishers.iter().map(Publisher::posts_left).sum(),
            Ordering::Release,
        );
        gauges.in_flight.store(
            self.publishers.iter().map(|p| p.in_flight() as u64).sum(),
            Ordering::Release,
        );
        gauges.acked.store(
            self.publishers.iter().map(|p| p.stats.acked).sum(),
            Ordering::Release,
        );
        let census = match (&self.window, self.answers_final) {
            (Some(plan), true) => {
                1 + self
                    .sessions
                    .iter()
                    .map(|s| s.ledger.missing(&plan.book))
                    .sum::<u64>()
            }
            _ => 0,
        };
        gauges.census.store(census, Ordering::Release);
        let failure = self
            .sessions
            .iter()
            .find_map(|s| {
                s.ledger
                    .closed()
                    .map(|why| format!("session {}: {why}", s.index))
            })
            .or_else(|| self.publishers.iter().find_map(|p| p.failure.clone()));
        *gauges.failure.lock().unwrap_or_else(|e| e.into_inner()) = failure;
    }

    fn fail(&self, error: String) {
        let mut slot = self.gauges.fatal.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(error);
    }

    /// 127.0.0.(1 + k % sources) for connection `k`, when the server is on loopback.
    fn source_for(&self, connection: usize) -> Option<Ipv4Addr> {
        if !self.addr.ip().is_loopback() || !self.addr.is_ipv4() {
            return None;
        }
        Some(Ipv4Addr::new(
            127,
            0,
            0,
            1 + (connection % self.sources) as u8,
        ))
    }
}

/// Whether a non-blocking connect finished: `Ok(true)` connected, `Ok(false)` not yet.
fn connect_outcome(stream: Option<&TcpStream>) -> io::Result<bool> {
    let Some(stream) = stream else {
        return Err(io::Error::new(io::ErrorKind::NotConnected, "no socket"));
    };
    if let Some(error) = stream.take_error()? {
        return Err(error);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(error) => Err(error),
    }
}

/// Writes as much of `outbox` as the socket takes now.
fn flush(stream: &mut TcpStream, outbox: &mut Vec<u8>) -> io::Result<()> {
    let mut written = 0;
    let result = loop {
        if written == outbox.len() {
            break Ok(());
        }
        match stream.write(&outbox[written..]) {
            Ok(0) => {
                break Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "socket took no bytes",
                ))
            }
            Ok(n) => written += n,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => break Err(error),
        }
    };
    outbox.drain(..written);
    result
}

/// This thread's run-queue wait so far; 0 where the kernel keeps no schedstat (the busy
/// figure alone is then all the report has).
fn waiting_seconds() -> f64 {
    placement::thread_schedstat().map_or(0.0, |stat| stat.waiting_s)
}

fn seed(index: usize) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    now ^ (index as u64).rotate_left(32) ^ u64::from(std::process::id())
}
