//! The reactor loop of one core.
//!
//! One turn of the loop:
//!
//! 1. read the clock once (`Outbox::now`), start shutdown if it was requested;
//! 2. fire due deadlines: the application's tick, slow consumers, closing connections;
//! 3. write the urgent connections (`touch_urgent`: an HTTP answer or a priority frame is
//!    queued), all of them;
//! 4. drain the mesh rings into `App::handle_mesh_batch`, at most `MESH_BATCH_MAX`
//!    messages at a time, applying the application's commands after each batch;
//! 5. for the connections touched since they were last serviced, at most
//!    `SERVICED_PER_TURN_MAX` of them, urgent ones first, then the others, oldest first:
//!    send each one's outbound queue (`write_now`: copied into the core's send buffer, one
//!    non-blocking `send(2)`; a full socket waits for a `Writable` completion), start a
//!    read if it wants one, free it if it is dead;
//! 6. end the turn for the application (`App::handle_turn_end`, with
//!    `Outbox::behind_sockets` current: work it held back while the core was behind goes
//!    out now, and the loop does not sleep while it still holds some), then wake the cores
//!    we sent mesh messages to;
//! 7. wait for completions (or the next deadline) and handle each: accept (from the main
//!    listener or the core's own voice listener), read (decrypted first on TLS, then HTTP
//!    parse or WebSocket decode, then `App` callbacks), writable (service it again), the
//!    voice UDP socket readable (`App::handle_datagram`); apply the application's commands
//!    after each callback, and send the datagrams it queued right after them.
//!
//! Because writes happen only in steps 3 and 5, everything the application queued for a
//! socket since its last write leaves in one system call: that is the coalescing.
//!
//! Why step 3 comes before the mesh drain: a write becomes durable in step 7 (the store's
//! wake), its answer is queued then, and its event reaches this core's sessions in the next
//! drain. Fanning that event out to a thousand sessions queues a thousand runs (about half
//! a millisecond), so the answer is written first: with 1,000 sessions at 100 posts/s
//! this took POST→200 p50 from 1.2 to 0.7 ms (docs/BENCHMARKS.md, "fanout").
//!
//! Why a budget in step 5: a dispatch to 10,000 sessions is 10,000 socket writes,
//! tens of milliseconds of kernel time. Done in one turn, a REST answer, a heartbeat ACK,
//! the store's durability wake or the next request's read would wait behind all of them.
//! With the budget the loop comes back to its completions every `SERVICED_PER_TURN_MAX`
//! connections (without waiting: a zero timeout), so those go first, while connections not yet
//! written keep collecting frames, and each write carries more of them the busier the
//! server is. At one frame per write (a quiet server) a service costs about 8 µs, so 32
//! services bound the wait to about a quarter of a millisecond; at saturation a service
//! carries about 100 frames and the turn's own cost (one `io_uring_enter`) is lost in it.
//!
//! Invariants:
//! - A connection's slot is freed only when none of its ops is in flight (`Conn::is_quiet`),
//!   so a completion always finds its connection and buffers are never freed under the
//!   kernel.
//! - `App::handle_closed` is called exactly once per connection the application knows.
//! - A connection's outbound queue never exceeds `OUTBOX_HARD_FACTOR * outbox_bytes_max`
//!   plus one frame: past that the connection is closed as a slow consumer at once.
//!
//! This file holds the loop itself, the `Reactor`'s state and shutdown. The work of a turn
//! lives in `core/`, one file per job, as child modules so that they share the `Reactor`'s
//! private fields without widening them:
//!
//! - `accept.rs`: new connections from every listener, the connection caps, the 503 for a
//!   refused one;
//! - `completions.rs`: what the backend reports (tokens), and a read's bytes;
//! - `http_conn.rs`: an HTTP connection's requests, answers in order, deadlines, upgrade;
//! - `http_pause.rs`: why HTTP requests wait while the core is behind its sockets;
//! - `websocket.rs`: an open WebSocket's messages, and the outbox bound (slow consumers);
//! - `commands.rs`: the application's commands, applied after each callback;
//! - `service.rs`: servicing touched connections: the write path (steps 3 and 5);
//! - `tls_io.rs`: a TLS connection's reads and writes through its session;
//! - `datagrams.rs`: the voice UDP socket, datagrams in and out;
//! - `close.rs`: leaving `Open`: draining, lingering, the hard stop;
//! - `deadlines.rs`: every connection's deadline, fired in step 2.

mod accept;
mod close;
mod commands;
mod completions;
mod datagrams;
mod deadlines;
mod http_conn;
mod http_pause;
mod service;
mod tls_io;
mod websocket;

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slab::Slab;

pub(crate) use self::accept::ListenerSetup;
use self::accept::Listening;
use self::datagrams::Udp;
use self::service::SEND_BUF_BYTES;
use super::admission::Admission;
use super::app::{App, CloseCause, ConnId};
use super::backend::{Backend, Completion};
use super::conn::{Conn, InAppCount, Phase, State};
use super::heap_trim::HeapTrim;
use super::outbox::Outbox;
use super::outq::{CoreBacklog, Lane};
use super::stats::CoreStats;
use super::timers::Timers;
use super::{sys, ws};
use crate::mesh::MeshEndpoint;
use crate::{Config, IoBackend};

/// A queue past `outbox_bytes_max` gets the grace period; past this many times that it
/// is closed at once, which bounds a connection's memory whatever the application sends.
pub const OUTBOX_HARD_FACTOR: usize = 4;

/// Mesh messages handed to `App::handle_mesh_batch` at once. It bounds the commands a
/// batch queues before the reactor applies them (a run of events fanned out to every
/// session is events × sessions frames).
const MESH_BATCH_MAX: usize = 32;

/// Everything a reactor needs from the server that starts it.
pub(crate) struct Setup<M> {
    pub core: usize,
    pub cores: usize,
    pub config: Arc<Config>,
    pub backend: IoBackend,
    /// The listeners this core accepts from: the shared main one, and its own voice one.
    pub listeners: Vec<ListenerSetup>,
    /// The core's voice UDP socket (the same port as its voice listener).
    pub udp: Option<OwnedFd>,
    pub mesh: MeshEndpoint<M>,
    pub stats: Arc<CoreStats>,
    pub shutdown: Arc<std::sync::atomic::AtomicBool>,
    /// The server's connection caps, shared by its cores.
    pub admission: Arc<Admission>,
}

pub(crate) struct Reactor<A: App> {
    core: usize,
    config: Arc<Config>,
    app: A,
    out: Outbox<A::Mesh>,
    backend: Backend,
    conns: Slab<Conn>,
    generation_next: u32,
    /// Core 0's policy for giving freed heap pages back to the kernel (`heap_trim.rs`);
    /// `None` on other cores and where the allocator cannot report its free bytes.
    heap_trim: Option<HeapTrim>,
    /// The listening sockets, each with its own accept in flight; closed (`None`) once
    /// shutdown has begun.
    listeners: Vec<Listening>,
    accept_retry_at: Option<Instant>,
    /// The voice UDP socket and its receive buffers (`datagrams.rs`).
    udp: Option<Udp>,
    mesh: MeshEndpoint<A::Mesh>,
    mesh_inbox: Vec<(usize, A::Mesh)>,
    /// What `drain_mesh` hands the application at once (kept to reuse its capacity).
    mesh_batch: Vec<(usize, A::Mesh)>,
    wake_reading: bool,
    /// The application's wake descriptor and whether a poll of it is in flight.
    app_wake: Option<(std::os::fd::RawFd, bool)>,
    /// Connections to service in step 5, in the order they were touched.
    touched: VecDeque<(usize, u32)>,
    /// Connections to service before those in `touched` (`touch_urgent`), and all of them in step 3.
    touched_urgent: VecDeque<(usize, u32)>,
    /// Unwritten bytes in every outbound queue of this core.
    backlog: CoreBacklog,
    /// Connections that upgraded to WebSocket and are not freed yet.
    websockets: usize,
    /// HTTP connections whose requests wait because the core is behind its sockets or
    /// has `HTTP_IN_APP_PER_CORE_MAX` requests in the application (`http_paused`).
    paused_http: Vec<(usize, u32)>,
    /// Requests in the application on this core (`conn::InApp`).
    http_in_app: InAppCount,
    /// `process_http` is running: connections to parse next wait in `http_deferred`.
    http_parsing: bool,
    http_deferred: VecDeque<(usize, u32)>,
    /// Every connection's deadline (`timers.rs`).
    timers: Timers,
    app_deadline: Option<Instant>,
    /// What the last `App::handle_turn_end` said: the application holds work back.
    app_holds: bool,
    shutdown_flag: Arc<std::sync::atomic::AtomicBool>,
    shutdown_deadline: Option<Instant>,
    stats: Arc<CoreStats>,
    admission: Arc<Admission>,
    completions: Vec<Completion>,
    /// Where `write_now` gathers a connection's queued bytes for one `send(2)`.
    send_buf: Vec<u8>,
    /// A TLS connection's records for one `send(2)` (`tls_io.rs`), reused.
    tls_send_buf: Vec<u8>,
    /// The plaintext of one TLS read, reused (`tls_io.rs`).
    tls_read_buf: Vec<u8>,
}

impl<A: App> Reactor<A> {
    pub(crate) fn new(setup: Setup<A::Mesh>, app: A) -> std::io::Result<Reactor<A>> {
        let backend = Backend::new(setup.backend, setup.core)?;
        let nonblocking = backend.wants_nonblocking();
        for listener in &setup.listeners {
            sys::set_nonblocking(&listener.fd, nonblocking)?;
        }
        sys::set_nonblocking(setup.mesh.wake_fd(), nonblocking)?;
        Ok(Reactor {
            core: setup.core,
            out: Outbox::new(setup.core, setup.cores),
            config: setup.config,
            app,
            backend,
            conns: Slab::new(),
            generation_next: 0,
            heap_trim: (setup.core == 0 && sys::heap_free_bytes().is_some())
                .then(|| HeapTrim::new(Instant::now())),
            listeners: setup.listeners.into_iter().map(Listening::new).collect(),
            accept_retry_at: None,
            udp: setup.udp.map(Udp::new),
            mesh: setup.mesh,
            mesh_inbox: Vec::new(),
            mesh_batch: Vec::with_capacity(MESH_BATCH_MAX),
            wake_reading: false,
            app_wake: None,
            touched: VecDeque::new(),
            touched_urgent: VecDeque::new(),
            backlog: CoreBacklog::default(),
            websockets: 0,
            paused_http: Vec::new(),
            http_in_app: InAppCount::default(),
            http_parsing: false,
            http_deferred: VecDeque::new(),
            timers: Timers::default(),
            app_deadline: None,
            app_holds: false,
            shutdown_flag: setup.shutdown,
            shutdown_deadline: None,
            stats: setup.stats,
            admission: setup.admission,
            completions: Vec::new(),
            send_buf: Vec::with_capacity(SEND_BUF_BYTES),
            tls_send_buf: Vec::new(),
            tls_read_buf: Vec::new(),
        })
    }

    pub(crate) fn backend_kind(&self) -> IoBackend {
        self.backend.kind()
    }

    /// Run until shutdown has finished. Errors are from the backend's wait (fatal).
    pub(crate) fn run(mut self) -> std::io::Result<()> {
        self.submit_accepts();
        self.submit_wake_read();
        self.submit_udp_poll();
        if let Some(fd) = self.app.wake_fd() {
            // A poll reads nothing, so the descriptor's blocking mode is left as its owner
            // set it (a store drains its eventfd with a non-blocking read).
            self.app_wake = Some((fd, false));
            self.submit_app_wake();
        }
        loop {
            let now = Instant::now();
            self.out.now = now;
            if self.shutdown_deadline.is_none() && self.shutdown_flag.load(Ordering::Acquire) {
                self.begin_shutdown(now);
            }
            self.fire_deadlines(now);
            self.service_urgent();
            self.out.behind_sockets = self.behind_sockets();
            self.drain_mesh();
            self.resume_paused_http();
            self.service_touched();
            self.out.behind_sockets = self.behind_sockets();
            self.app_holds = self.app.handle_turn_end(&mut self.out);
            self.apply_commands();
            self.mesh.flush();
            self.stats.mesh_overflow(self.mesh.overflow_len());
            if self.shutdown_deadline.is_some()
                && self.conns.is_empty()
                && self.listeners.iter().all(|listener| listener.fd.is_none())
            {
                break;
            }
            if !self.has_work() {
                self.check_heap(now);
            }
            let timeout = self.next_timeout(now);
            let mut completions = std::mem::take(&mut self.completions);
            self.backend.wait(timeout, &mut completions)?;
            self.out.now = Instant::now();
            self.out.read_at = self.out.now;
            for completion in completions.drain(..) {
                self.handle_completion(completion);
                self.apply_commands();
            }
            self.completions = completions;
        }
        self.finish()
    }

    /// Whether the next turn has work now: the loop then polls its completions without
    /// waiting.
    fn has_work(&self) -> bool {
        self.mesh.has_pending()
            || self.app_holds
            || !self.touched.is_empty()
            || !self.touched_urgent.is_empty()
            || !self.out.commands.is_empty()
            || self.http_resumable()
    }

    fn next_timeout(&self, now: Instant) -> Option<Duration> {
        if self.has_work() {
            return Some(Duration::ZERO);
        }
        let earliest = [
            self.app_deadline,
            self.accept_retry_at,
            self.shutdown_deadline,
            self.timers.next(),
            self.heap_trim.as_ref().map(HeapTrim::check_at),
        ]
        .into_iter()
        .flatten()
        .min();
        earliest.map(|deadline| deadline.saturating_duration_since(now))
    }

    /// Core 0, at most once a second and only on a turn with nothing else to do: give
    /// freed heap pages back when enough were freed. Why not on a busy turn: the check
    /// (`mallinfo2`) walks the allocator's free lists, 6–11 ms at 10,000 sessions under
    /// fan-out load, and a trim there returns pages the next second faults in again. A
    /// core that never idles holds memory it is using; the first idle turn checks.
    fn check_heap(&mut self, now: Instant) {
        let Some(policy) = &mut self.heap_trim else {
            return;
        };
        if now < policy.check_at() {
            return;
        }
        if let Some(free_bytes) = sys::heap_free_bytes() {
            if policy.check(now, free_bytes) {
                sys::heap_trim();
            }
        }
    }

    fn drain_mesh(&mut self) {
        let mut inbox = std::mem::take(&mut self.mesh_inbox);
        self.mesh.drain_into(&mut inbox);
        let mut batch = std::mem::take(&mut self.mesh_batch);
        let mut messages = inbox.drain(..);
        loop {
            batch.extend(messages.by_ref().take(MESH_BATCH_MAX));
            if batch.is_empty() {
                break;
            }
            self.app.handle_mesh_batch(&mut self.out, &mut batch);
            assert!(batch.is_empty(), "handle_mesh_batch takes every message");
            self.apply_commands();
        }
        drop(messages);
        self.mesh_inbox = inbox;
        self.mesh_batch = batch;
    }

    fn begin_shutdown(&mut self, now: Instant) {
        self.shutdown_deadline =
            Some(now + Duration::from_millis(self.config.limits.shutdown_grace_ms));
        // Stop accepting: this wakes an accept in flight, whose completion closes the
        // listener; without one in flight, close it now.
        for listener in &mut self.listeners {
            match &listener.fd {
                Some(fd) if listener.accepting => sys::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR),
                _ => listener.fd = None,
            }
        }
        // Voice ends with the server: this wakes the UDP socket's poll, which then stops.
        if let Some(udp) = &self.udp {
            sys::shutdown(udp.fd.as_raw_fd(), libc::SHUT_RDWR);
        }
        self.app.handle_shutdown(&mut self.out);
        self.apply_commands();
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            let conn = &self.conns[key];
            if conn.state != State::Open {
                continue;
            }
            match &conn.phase {
                Phase::WebSocket { .. } => {
                    let frame = ws::close_frame(Some(1001), "server shutting down", Lane::Bulk);
                    self.start_close(key, Some(frame), CloseCause::Shutdown);
                }
                Phase::Http { .. } => {
                    // Requests already taken are answered, then the connection closes.
                    if let Phase::Http { close_after, .. } = &mut self.conns[key].phase {
                        *close_after = true;
                    }
                    self.flush_answers(key);
                }
            }
        }
    }

    /// After the loop: let the eventfd read (the only op left) complete, so no buffer is
    /// in the kernel's hands when the backend is dropped.
    fn finish(mut self) -> std::io::Result<()> {
        if self.wake_reading {
            sys::eventfd_signal(self.mesh.wake_fd().as_raw_fd());
        }
        if let Some((fd, true)) = self.app_wake {
            sys::eventfd_signal(fd);
        }
        let mut completions = Vec::new();
        for _ in 0..100 {
            if self.backend.in_flight() == 0 {
                break;
            }
            self.backend
                .wait(Some(Duration::from_millis(10)), &mut completions)?;
            completions.clear();
        }
        Ok(())
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        self.backend.recycle(buf);
    }

    /// The slot of `id` if it is still the same connection and still open.
    fn live(&self, id: ConnId) -> Option<usize> {
        let key = id.index as usize;
        let conn = self.conns.get(key)?;
        (conn.generation == id.generation && conn.state == State::Open).then_some(key)
    }

    /// Whether slot `key` still holds the connection it held at `generation` (open or not).
    fn holds(&self, key: usize, generation: u32) -> bool {
        self.conns
            .get(key)
            .is_some_and(|conn| conn.generation == generation)
    }

    fn live_ws(&self, id: ConnId) -> Option<usize> {
        let key = self.live(id)?;
        matches!(self.conns[key].phase, Phase::WebSocket { .. }).then_some(key)
    }

    fn is_open(&self, key: usize) -> bool {
        self.conns
            .get(key)
            .is_some_and(|conn| conn.state == State::Open)
    }
}
