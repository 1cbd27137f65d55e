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
//! 6. wake the cores we sent mesh messages to;
//! 7. wait for completions (or the next deadline) and handle each: accept, read (HTTP
//!    parse or WebSocket decode, then `App` callbacks), writable (service it again);
//!    apply the application's commands after each callback.
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
//! connections (waiting with a zero timeout), so those go first, while connections not yet
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

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slab::Slab;

use super::admission::{Admission, Refusal};
use super::app::{App, CloseCause, Command, ConnId, HttpAnswer, QueuedPayload, WsMessage};
use super::backend::{Backend, Completion, Op, OpKind, Token};
use super::conn::{Conn, HttpAwaited, HttpWait, PendingAnswer, Phase, State, HTTP_PIPELINE_MAX};
use super::outbox::Outbox;
use super::outq::{CoreBacklog, Lane, OutFrame, Payload};
use super::stats::CoreStats;
use super::timers::Timers;
use super::{sys, ws};
use crate::http::{self, upgrade, Request, Response};
use crate::mesh::MeshEndpoint;
use crate::{Config, IoBackend};

/// A queue past `outbox_bytes_max` gets the grace period; past this many times that it
/// is closed at once, which bounds a connection's memory whatever the application sends.
pub const OUTBOX_HARD_FACTOR: usize = 4;

/// Whether an HTTP client has left so many answers unread that no further request of it is
/// read or parsed until it takes some: past `HTTP_UNREAD_BYTES_MAX` bytes held in memory
/// (or `outbox_bytes_max`, if smaller), or
/// past twice `HTTP_PIPELINE_MAX` queued entries (a file body is one entry and an open
/// file, so a client pipelining downloads cannot make the core hold thousands of them).
fn answers_unread(outq: &super::outq::OutQueue, outbox_bytes_max: usize) -> bool {
    let bound = outbox_bytes_max.min(HTTP_UNREAD_BYTES_MAX);
    outq.bytes_in_memory() > bound || outq.entries() > 2 * HTTP_PIPELINE_MAX
}

/// The most unread HTTP answers (in memory) past which a connection's further requests
/// wait: one large answer is still sent whole, but a client that pipelines and never reads
/// holds this much, not `outbox_bytes_max` (a soak with 850 such clients held 850 MiB).
const HTTP_UNREAD_BYTES_MAX: usize = 64 * 1024;

/// Connections serviced (written, read, freed) per loop turn; the rest wait one turn
/// (module doc: why a budget, and why this size: 256 let the store's durability wake wait
/// up to 2 ms behind one-frame writes).
const SERVICED_PER_TURN_MAX: usize = 32;
/// Mesh messages handed to `App::handle_mesh_batch` at once. It bounds the commands a
/// batch queues before the reactor applies them (a run of events fanned out to every
/// session is events × sessions frames).
const MESH_BATCH_MAX: usize = 32;
/// The core's send buffer: what one `send(2)` carries at most. Small enough to stay in
/// the CPU's cache from one connection to the next (module doc of `outq.rs`: why copy).
const SEND_BUF_BYTES: usize = 256 * 1024;
/// Bytes one connection may send per service before the next connection's turn.
const WRITTEN_PER_SERVICE_MAX: usize = 4 * SEND_BUF_BYTES;
/// Unwritten bytes per connection past which HTTP requests wait (`http_paused`): about
/// 32 MESSAGE_CREATE frames each, so a busy core still writes many frames per system call.
/// The bytes are mostly shared event bodies, so the memory this stands for is far less.
/// Each queue counts at most `BACKLOG_COUNTED_PER_QUEUE_MAX` (64 KiB), so the pause needs
/// at least half of the WebSocket connections to be behind, not a few clients that stopped
/// reading.
const BACKLOG_PER_CONN_BYTES: usize = 32 * 1024;
const BACKLOG_MIN_BYTES: usize = 256 << 10;

const TOKEN_LISTENER: Token = u64::MAX;
const TOKEN_WAKE: Token = u64::MAX - 1;
/// The application's descriptor (`App::wake_fd`).
const TOKEN_APP_WAKE: Token = u64::MAX - 2;

fn conn_token(key: usize, write: bool) -> Token {
    (key as u64) << 1 | u64::from(write)
}

/// Everything a reactor needs from the server that starts it.
pub(crate) struct Setup<M> {
    pub core: usize,
    pub cores: usize,
    pub config: Arc<Config>,
    pub backend: IoBackend,
    pub listener: OwnedFd,
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
    listener: Option<OwnedFd>,
    accepting: bool,
    accept_retry_at: Option<Instant>,
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
    /// HTTP connections whose requests wait because the core is behind its sockets
    /// (`http_paused`).
    paused_http: Vec<(usize, u32)>,
    /// Every connection's deadline (`timers.rs`).
    timers: Timers,
    app_deadline: Option<Instant>,
    shutdown_flag: Arc<std::sync::atomic::AtomicBool>,
    shutdown_deadline: Option<Instant>,
    stats: Arc<CoreStats>,
    admission: Arc<Admission>,
    completions: Vec<Completion>,
    /// Where `write_now` gathers a connection's queued bytes for one `send(2)`.
    send_buf: Vec<u8>,
}

impl<A: App> Reactor<A> {
    pub(crate) fn new(setup: Setup<A::Mesh>, app: A) -> std::io::Result<Reactor<A>> {
        let backend = Backend::new(setup.backend, setup.core)?;
        let nonblocking = backend.wants_nonblocking();
        sys::set_nonblocking(&setup.listener, nonblocking)?;
        sys::set_nonblocking(setup.mesh.wake_fd(), nonblocking)?;
        Ok(Reactor {
            core: setup.core,
            out: Outbox::new(setup.core, setup.cores),
            config: setup.config,
            app,
            backend,
            conns: Slab::new(),
            generation_next: 0,
            listener: Some(setup.listener),
            accepting: false,
            accept_retry_at: None,
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
            timers: Timers::default(),
            app_deadline: None,
            shutdown_flag: setup.shutdown,
            shutdown_deadline: None,
            stats: setup.stats,
            admission: setup.admission,
            completions: Vec::new(),
            send_buf: Vec::with_capacity(SEND_BUF_BYTES),
        })
    }

    pub(crate) fn backend_kind(&self) -> IoBackend {
        self.backend.kind()
    }

    /// Run until shutdown has finished. Errors are from the backend's wait (fatal).
    pub(crate) fn run(mut self) -> std::io::Result<()> {
        self.submit_accept();
        self.submit_wake_read();
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
            self.drain_mesh();
            self.resume_paused_http();
            self.service_touched();
            self.mesh.flush();
            if self.shutdown_deadline.is_some() && self.conns.is_empty() && self.listener.is_none()
            {
                break;
            }
            let timeout = self.next_timeout(now);
            let mut completions = std::mem::take(&mut self.completions);
            self.backend.wait(timeout, &mut completions)?;
            self.out.now = Instant::now();
            for completion in completions.drain(..) {
                self.handle_completion(completion);
                self.apply_commands();
            }
            self.completions = completions;
        }
        self.finish()
    }

    // --- completions -------------------------------------------------------------------

    fn handle_completion(&mut self, completion: Completion) {
        let Completion {
            token,
            kind,
            result,
        } = completion;
        match (token, kind) {
            (TOKEN_LISTENER, OpKind::Accept { accepted, .. }) => {
                self.handle_accept(accepted, result)
            }
            (TOKEN_WAKE, OpKind::Read { buf, .. }) => {
                self.wake_reading = false;
                self.recycle(buf);
                if let Err(error) = result {
                    assert!(
                        error.kind() == std::io::ErrorKind::Interrupted,
                        "eventfd: {error}"
                    );
                }
                if self.shutdown_deadline.is_none() {
                    self.submit_wake_read();
                }
            }
            (TOKEN_APP_WAKE, OpKind::Poll { .. }) => {
                if let Some((_, polling)) = &mut self.app_wake {
                    *polling = false;
                }
                if let Err(error) = result {
                    assert!(
                        error.kind() == std::io::ErrorKind::Interrupted,
                        "app wake fd: {error}"
                    );
                }
                self.app.handle_wake(&mut self.out);
                if self.shutdown_deadline.is_none() {
                    self.submit_app_wake();
                }
            }
            (token, OpKind::Recv { buf, .. }) => {
                self.handle_read((token >> 1) as usize, buf, result)
            }
            (_, OpKind::Read { .. }) => unreachable!("connections read with Recv"),
            (token, OpKind::Writable { .. }) => {
                // Room in the socket again (or it failed, which the next send reports).
                let key = (token >> 1) as usize;
                self.conns[key].waiting_writable = false;
                self.touch(key);
            }
            (_, OpKind::Accept { .. }) => unreachable!("only the listener accepts"),
            (_, OpKind::Poll { .. }) => unreachable!("only the application's wake fd is polled"),
        }
    }

    fn handle_accept(&mut self, accepted: Option<OwnedFd>, result: std::io::Result<usize>) {
        self.accepting = false;
        match (result, accepted) {
            (Ok(_), Some(fd)) => self.add_conn(fd),
            (Ok(_), None) => unreachable!("a successful accept carries its descriptor"),
            (Err(error), _) => {
                if self.shutdown_deadline.is_some() {
                    self.listener = None; // Closing it here: no op of it is in flight.
                    return;
                }
                // ECONNABORTED and friends: the next connection is fine; these need time.
                if let Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) =
                    error.raw_os_error()
                {
                    eprintln!(
                        "flux: core {}: accept failed ({error}); raise the open-file limit \
                         (ulimit -n). Retrying in 100 ms.",
                        self.core
                    );
                    self.accept_retry_at = Some(self.out.now + Duration::from_millis(100));
                    return;
                }
            }
        }
        if self.shutdown_deadline.is_none() {
            self.submit_accept();
        } else {
            self.listener = None;
        }
    }

    fn add_conn(&mut self, fd: OwnedFd) {
        // An address the kernel cannot give is a peer already gone; count it as 0.0.0.0.
        let peer = sys::peer_ip(&fd).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
        let admitted = match self.admission.admit(peer) {
            Ok(admitted) => admitted,
            Err(refusal) => return self.refuse(fd, refusal),
        };
        // Both are best effort: a socket without them still works.
        let _ = sys::set_nodelay(&fd);
        if let Some(bytes) = self.config.limits.socket_send_buffer_bytes {
            let _ = sys::set_send_buffer(&fd, bytes);
        }
        let generation = self.generation_next;
        self.generation_next = self.generation_next.wrapping_add(1);
        let mut conn = Conn::new(fd, generation, CoreBacklog::clone(&self.backlog));
        conn.admitted = Some(admitted);
        let key = self.conns.insert(conn);
        assert!(key < u32::MAX as usize, "connection slab past u32 indices");
        self.stats.connection_opened();
        // Until its first byte a new connection is idle, like a kept-alive one: clients
        // open connections ahead of need (pools, a load generator's publishers).
        self.refresh_http_wait(key);
        self.touch(key);
    }

    /// A connection past a cap: a 503 with Discord's JSON error, written at once (it fits
    /// the new socket's empty buffer; best effort), then closed. It never takes a slot.
    fn refuse(&mut self, fd: OwnedFd, refusal: Refusal) {
        self.stats.connection_refused();
        let why = match refusal {
            Refusal::ProcessFull => "503: Service Unavailable (the server is full)",
            Refusal::AddressFull => {
                "503: Service Unavailable (too many connections from this address)"
            }
        };
        let mut bytes = Vec::with_capacity(256);
        Response::error(503, why, 0)
            .with_header("Retry-After", "5")
            .encode_into(&mut bytes, false);
        let _ = sys::send_bytes(fd.as_raw_fd(), &bytes);
        sys::shutdown(fd.as_raw_fd(), libc::SHUT_WR);
    }

    fn handle_read(&mut self, key: usize, mut buf: Vec<u8>, result: std::io::Result<usize>) {
        let conn = &mut self.conns[key];
        conn.reading = false;
        self.touch(key);
        let n = match result {
            Ok(n) => n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {
                self.recycle(buf);
                return;
            }
            Err(_) => 0,
        };
        let conn = &mut self.conns[key];
        if n == 0 {
            conn.peer_eof = true;
        }
        match conn.state {
            State::Dead => {}
            State::Lingering { .. } => {
                if n == 0 {
                    self.kill(key, CloseCause::ConnectionLost);
                }
            }
            State::Draining { .. } => {
                if n == 0 && matches!(conn.phase, Phase::WebSocket { .. }) {
                    self.kill(key, CloseCause::ConnectionLost);
                }
            }
            State::Open => match &mut conn.phase {
                Phase::Http { inbuf, .. } => {
                    if inbuf.is_empty() && n > 0 {
                        conn.request_started.get_or_insert(self.out.now);
                    }
                    inbuf.extend_from_slice(&buf[..n]);
                    self.process_http(key);
                }
                Phase::WebSocket { .. } => {
                    if n == 0 {
                        self.kill(key, CloseCause::ConnectionLost);
                    } else {
                        self.handle_ws_bytes(key, &buf[..n]);
                    }
                }
            },
        }
        buf.clear();
        self.recycle(buf);
    }

    fn after_write(&mut self, key: usize) {
        let soft = self.config.limits.outbox_bytes_max;
        let conn = &mut self.conns[key];
        if conn.outq.bytes() <= soft && conn.over_bound_since.take().is_some() {
            conn.outq.set_in_backlog(true); // Only WebSockets are ever over the bound.
        }
        if conn.state == State::Open && matches!(conn.phase, Phase::Http { .. }) {
            if answers_unread(&conn.outq, soft) {
                // The client is taking its answers: its idle deadline counts from now.
                self.refresh_http_wait(key);
            } else {
                // Parsing may have paused while unread answers were past the bound.
                self.process_http(key);
            }
            return;
        }
        if let State::Draining { .. } = conn.state {
            if conn.outq.is_idle() {
                self.start_linger(key);
            }
        }
    }

    // --- HTTP --------------------------------------------------------------------------

    /// Parse requests from the connection's buffer and hand each to the application, up
    /// to `HTTP_PIPELINE_MAX` unanswered at once; answers leave in request order
    /// (`flush_answers`). Each request gets its own `ConnId` (a fresh generation on the
    /// connection's slot), so answers the application finishes out of order still find
    /// their place. An upgrade waits until every earlier request is answered, and keeps
    /// the connection's own id, which the WebSocket then goes by.
    fn process_http(&mut self, key: usize) {
        self.process_http_requests(key);
        self.refresh_http_wait(key);
    }

    /// What the client of an open HTTP connection owes now, and until when (`Limits`):
    /// the rest of a request head, counted from its first byte; the rest of a body, counted from when its head was complete and
    /// lengthened by the body's size; or, with nothing in flight (or its answers left
    /// unread past the bound), its next request. While a request is with the application
    /// the client owes nothing: the server's own pace governs.
    fn refresh_http_wait(&mut self, key: usize) {
        // While the core pauses HTTP (`http_paused`), unparsed bytes wait for the server,
        // not for the client: no head or body deadline runs.
        let paused = self.http_paused();
        let limits = &self.config.limits;
        let now = self.out.now;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let wait = match &conn.phase {
            Phase::Http {
                inbuf,
                answers,
                close_after,
            } if conn.state == State::Open && answers.is_empty() && !*close_after => {
                let unread = answers_unread(&conn.outq, limits.outbox_bytes_max);
                if unread || (inbuf.is_empty() && conn.request_started.is_none()) {
                    // Nothing in flight, or a client that stopped reading its answers
                    // (nothing more is parsed until it does): the idle deadline, renewed
                    // whenever the client takes some of them.
                    Some(HttpWait {
                        until: now + Duration::from_millis(limits.http_idle_timeout_ms),
                        what: HttpAwaited::NextRequest,
                    })
                } else if paused {
                    None
                } else {
                    let started = *conn.request_started.get_or_insert(now);
                    match http::awaited_body(inbuf, &limits.http) {
                        None => Some(HttpWait {
                            until: started + Duration::from_millis(limits.http_head_timeout_ms),
                            what: HttpAwaited::Head,
                        }),
                        // Counted once, from when the head was first seen complete.
                        Some(_) if conn.http_wait.is_some_and(|w| w.what == HttpAwaited::Body) => {
                            conn.http_wait
                        }
                        Some(body) => {
                            let rate = limits.http_body_min_bytes_per_s.max(1);
                            let ms = limits.http_body_timeout_ms
                                + (body as u64).saturating_mul(1000) / rate;
                            Some(HttpWait {
                                until: now + Duration::from_millis(ms),
                                what: HttpAwaited::Body,
                            })
                        }
                    }
                }
            }
            _ => None,
        };
        conn.http_wait = wait;
        if wait.is_some() {
            self.watch(key);
        }
    }

    /// The client missed its HTTP deadline: 408 for a request it left half sent, a plain
    /// close for an idle kept-alive connection.
    fn http_timed_out(&mut self, key: usize, what: HttpAwaited) {
        self.stats.http_timeout();
        self.conns[key].http_wait = None;
        if what != HttpAwaited::NextRequest {
            self.write_response(key, &http::HttpError::RequestTimeout.to_response(), false);
        }
        self.close_http(key);
    }

    fn process_http_requests(&mut self, key: usize) {
        loop {
            let outbox_bytes_max = self.config.limits.outbox_bytes_max;
            let paused = self.http_paused();
            let Self {
                conns, config, app, ..
            } = self;
            let conn = &mut conns[key];
            let Phase::Http {
                inbuf,
                answers,
                close_after,
            } = &mut conn.phase
            else {
                return;
            };
            if *close_after
                || conn.state != State::Open
                || answers.len() >= HTTP_PIPELINE_MAX
                || answers_unread(&conn.outq, outbox_bytes_max)
            {
                return;
            }
            if paused {
                let entry = (key, conn.generation);
                if !self.paused_http.contains(&entry) {
                    self.paused_http.push(entry);
                }
                return;
            }
            let (request, used) = match http::parse_request(inbuf, &config.limits.http) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => {
                    if conn.peer_eof {
                        *close_after = true;
                        self.flush_answers(key);
                        return;
                    }
                    if conn.head_checked {
                        return;
                    }
                    // The head is in and a body is announced: the application may refuse
                    // it before a byte of the body is read (`App::check_head`).
                    let Ok(Some((head, _, body_len))) =
                        http::parse_head(inbuf, &config.limits.http)
                    else {
                        return;
                    };
                    if body_len == 0 {
                        return;
                    }
                    conn.head_checked = true;
                    if let Err(response) = app.check_head(&head, body_len) {
                        answers.push_back(PendingAnswer {
                            request: conn.generation,
                            response: Some(response),
                            keep_alive: false,
                        });
                        *close_after = true;
                        self.flush_answers(key);
                    }
                    return;
                }
                Err(error) => {
                    answers.push_back(PendingAnswer {
                        request: conn.generation,
                        response: Some(error.to_response()),
                        keep_alive: false,
                    });
                    *close_after = true;
                    self.flush_answers(key);
                    return;
                }
            };
            let upgrade = upgrade::is_upgrade_request(&request);
            if upgrade && !answers.is_empty() {
                return; // Parsed again once the answers before it are out.
            }
            inbuf.drain(..used);
            // The next request's head check and deadlines start afresh.
            conn.head_checked = false;
            conn.http_wait = None;
            // What is left is the next request's start, which arrived by now.
            conn.request_started = (!inbuf.is_empty()).then_some(self.out.now);
            conn.app_knows = true;
            let keep_alive = request.keep_alive() && self.shutdown_deadline.is_none();
            // The request's place in the answer order is taken before the application sees
            // it: answering an earlier request from inside `handle_http` parses the next one
            // (`respond_later`), which must queue behind this one. An upgrade (only ever
            // parsed with no answer pending) keeps the connection's own id, which the
            // WebSocket then goes by.
            let generation = if upgrade {
                conn.generation
            } else {
                let generation = self.generation_next;
                self.generation_next = self.generation_next.wrapping_add(1);
                generation
            };
            answers.push_back(PendingAnswer {
                request: generation,
                response: None,
                keep_alive,
            });
            *close_after |= !keep_alive;
            let id = ConnId {
                index: key as u32,
                generation,
            };
            let answer = self.app.handle_http(&mut self.out, id, &request);
            self.apply_commands();
            if !self.is_open(key) {
                return;
            }
            match answer {
                // The loop goes on to the next request: no `process_http` from inside.
                HttpAnswer::Respond(response) => self.fill_answer(id, response),
                HttpAnswer::Later => {}
                HttpAnswer::Upgrade if upgrade => {
                    if let Phase::Http { answers, .. } = &mut self.conns[key].phase {
                        debug_assert_eq!(answers.len(), 1, "an upgrade waits for earlier answers");
                        answers.clear();
                    }
                    self.upgrade(key, id, &request);
                    return;
                }
                HttpAnswer::Upgrade => {
                    let refusal = Response::error(400, "400: Bad Request (not an upgrade)", 0);
                    self.fill_answer(id, refusal);
                }
            }
            if self.conns[key].state != State::Open {
                return;
            }
        }
    }

    /// Write the answers at the front of the order that are ready; close the connection
    /// once the last one that will be answered is out.
    fn flush_answers(&mut self, key: usize) {
        loop {
            let Phase::Http {
                answers,
                close_after,
                ..
            } = &mut self.conns[key].phase
            else {
                return;
            };
            if answers
                .front()
                .is_some_and(|answer| answer.response.is_some())
            {
                let answer = answers.pop_front().expect("checked: not empty");
                let response = answer.response.expect("checked: ready");
                let keep_alive = answer.keep_alive && self.shutdown_deadline.is_none();
                self.write_response(key, &response, keep_alive);
                if !keep_alive {
                    self.close_http(key);
                    return;
                }
            } else {
                if answers.is_empty() && *close_after {
                    self.close_http(key);
                }
                return;
            }
        }
    }

    fn upgrade(&mut self, key: usize, id: ConnId, request: &Request) {
        let accept = match upgrade::check_upgrade(request) {
            Ok(accept) => accept,
            Err(error) => {
                self.write_response(key, &error.to_response(), false);
                self.close_http(key);
                return;
            }
        };
        let mut bytes = Vec::with_capacity(160);
        upgrade::encode_switching_protocols(&accept, &mut bytes);
        let config = wsframe::Config::server()
            .with_message_len_max(self.config.limits.ws_message_bytes_max)
            .with_frame_len_max(self.config.limits.ws_message_bytes_max);
        let conn = &mut self.conns[key];
        conn.outq.push(OutFrame::raw(bytes, Lane::Bulk));
        conn.outq.set_in_backlog(true);
        let decoder = Box::new(wsframe::Decoder::new(config));
        let old = std::mem::replace(&mut conn.phase, Phase::WebSocket { decoder });
        self.websockets += 1;
        let Phase::Http {
            inbuf: leftover, ..
        } = old
        else {
            unreachable!("upgraded twice")
        };
        self.app.handle_ws_open(&mut self.out, id, request);
        self.apply_commands();
        // A client may send frames right behind the handshake, in the same segment.
        if !leftover.is_empty() && self.is_open(key) {
            self.handle_ws_bytes(key, &leftover);
        }
    }

    fn write_response(&mut self, key: usize, response: &Response, keep_alive: bool) {
        let mut bytes = Vec::with_capacity(response.body.len() + 128);
        response.encode_into(&mut bytes, keep_alive);
        let outq = &mut self.conns[key].outq;
        outq.push(OutFrame::raw(bytes, Lane::Bulk));
        if let Some(file) = &response.file {
            outq.push_file(file.clone());
        }
        self.stats.outbox_bytes(outq.bytes());
        self.touch_urgent(key);
    }

    /// An HTTP connection is done: write what is queued, then close.
    fn close_http(&mut self, key: usize) {
        self.start_close(key, None, CloseCause::HttpDone);
    }

    // --- WebSocket ---------------------------------------------------------------------

    fn handle_ws_bytes(&mut self, key: usize, bytes: &[u8]) {
        let mut input = bytes;
        loop {
            let Self {
                conns, app, out, ..
            } = self;
            let conn = &mut conns[key];
            if conn.state != State::Open {
                return;
            }
            let id = ConnId {
                index: key as u32,
                generation: conn.generation,
            };
            let Phase::WebSocket { decoder } = &mut conn.phase else {
                return;
            };
            // Data messages go to the application while the decoder still lends them;
            // control messages become owned actions handled below.
            let action = match decoder.decode(&mut input) {
                Ok(None) => return,
                Ok(Some(wsframe::Message::Text(text))) => {
                    app.handle_ws_message(out, id, WsMessage::Text(text));
                    WsAction::None
                }
                Ok(Some(wsframe::Message::Binary(bytes))) => {
                    app.handle_ws_message(out, id, WsMessage::Binary(bytes));
                    WsAction::None
                }
                Ok(Some(wsframe::Message::Ping(payload))) => {
                    conn.outq.push(ws::pong_frame(payload));
                    WsAction::Pong
                }
                Ok(Some(wsframe::Message::Pong(_))) => WsAction::None,
                Ok(Some(wsframe::Message::Close { code, reason })) => WsAction::PeerClose {
                    code,
                    reason: reason.to_string(),
                },
                Err(error) => WsAction::ProtocolError(error),
            };
            self.touch(key);
            match action {
                WsAction::None => self.apply_commands(),
                WsAction::Pong => {
                    // A pong counts toward the bound like any frame: a client that floods
                    // pings and reads nothing is a slow consumer.
                    self.touch_urgent(key);
                    self.check_outbox_bound(key);
                }
                WsAction::PeerClose { code, reason } => {
                    let frame = ws::close_frame(code, "", Lane::Bulk);
                    self.start_close(key, Some(frame), CloseCause::PeerClosed { code, reason });
                    return;
                }
                WsAction::ProtocolError(error) => {
                    let code = self.app.handle_ws_error(id, &error);
                    self.stats.protocol_error();
                    let frame = ws::close_frame(Some(code), "", Lane::Priority);
                    self.start_close(key, Some(frame), CloseCause::ProtocolError { code, error });
                    return;
                }
            }
        }
    }

    // --- commands from the application --------------------------------------------------

    fn apply_commands(&mut self) {
        while let Some(command) = self.out.commands.pop_front() {
            match command {
                Command::Send {
                    conn,
                    kind,
                    payload,
                    lane,
                } => {
                    let Some(key) = self.live_ws(conn) else {
                        continue;
                    };
                    let outq = &mut self.conns[key].outq;
                    match payload {
                        QueuedPayload::Owned(bytes) => {
                            let header = ws::data_header(kind, bytes.len());
                            outq.push_frame(&header, Payload::Owned(bytes), lane);
                        }
                        QueuedPayload::Shared(bytes) => {
                            let header = ws::data_header(kind, bytes.len());
                            outq.push_frame(&header, Payload::Shared(bytes), lane);
                        }
                        QueuedPayload::Spliced { at, len, shared } => {
                            let at = at as usize;
                            let prefix = &self.out.prefixes[at..at + usize::from(len)];
                            let header = ws::data_header(kind, prefix.len() + shared.len());
                            outq.push_spliced(&header, prefix, shared, lane);
                        }
                    }
                    self.stats.queued_frames(1);
                    match lane {
                        Lane::Priority => self.touch_urgent(key),
                        Lane::Bulk => self.touch(key),
                    }
                    self.check_outbox_bound(key);
                }
                Command::SendRun { conn, first, run } => {
                    let Some(key) = self.live_ws(conn) else {
                        continue;
                    };
                    self.stats.queued_frames(run.frames());
                    self.conns[key].outq.push_run(run, first);
                    self.touch(key);
                    self.check_outbox_bound(key);
                }
                Command::Close { conn, code, reason } => {
                    let Some(key) = self.live(conn) else { continue };
                    let frame = match self.conns[key].phase {
                        Phase::WebSocket { .. } => {
                            Some(ws::close_frame(Some(code), &reason, Lane::Bulk))
                        }
                        Phase::Http { .. } => None,
                    };
                    self.start_close(key, frame, CloseCause::ClosedByApp);
                }
                Command::Respond { conn, response } => self.respond_later(conn, *response),
                Command::Abort { conn } => {
                    if let Some(key) = self.live(conn) {
                        self.kill(key, CloseCause::Aborted);
                    }
                }
                Command::Mesh { core, message } => self.mesh.send(core, *message),
            }
        }
        self.out.prefixes.clear();
        if let Some(deadline) = self.out.wake_at.take() {
            self.app_deadline = Some(self.app_deadline.map_or(deadline, |d| d.min(deadline)));
        }
    }

    /// The application's answer to the request `request` (a `ConnId` handed out by
    /// `process_http`); ignored when the connection is gone.
    fn respond_later(&mut self, request: ConnId, response: Response) {
        let key = request.index as usize;
        self.fill_answer(request, response);
        if self.is_open(key) {
            self.process_http(key);
        }
    }

    /// Put `response` in `request`'s place in the answer order and write what is ready.
    fn fill_answer(&mut self, request: ConnId, response: Response) {
        let key = request.index as usize;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.state != State::Open {
            return;
        }
        let Phase::Http { answers, .. } = &mut conn.phase else {
            return; // The slot now holds another connection, which has upgraded.
        };
        let Some(answer) = answers
            .iter_mut()
            .find(|answer| answer.request == request.generation)
        else {
            return; // The slot now holds another connection.
        };
        assert!(answer.response.is_none(), "a request answered twice");
        answer.response = Some(response);
        self.flush_answers(key);
    }

    fn check_outbox_bound(&mut self, key: usize) {
        let soft = self.config.limits.outbox_bytes_max;
        let now = self.out.now;
        let conn = &mut self.conns[key];
        let bytes = conn.outq.bytes();
        self.stats.outbox_bytes(bytes);
        if bytes > soft.saturating_mul(OUTBOX_HARD_FACTOR) {
            self.slow_consumer(key);
        } else if bytes > soft && conn.over_bound_since.is_none() {
            // Its own bound holds it now; it no longer counts toward the core's backlog.
            conn.outq.set_in_backlog(false);
            conn.over_bound_since = Some(now);
            self.watch(key);
        }
    }

    /// Close a connection that stopped reading: drop its unsent backlog (the application
    /// keeps a replay copy), put a Close frame at the front and give it a short while.
    fn slow_consumer(&mut self, key: usize) {
        self.stats.slow_consumer();
        let code = self.config.limits.slow_consumer_close_code;
        self.conns[key].outq.drop_bulk();
        let frame = ws::close_frame(Some(code), "slow consumer", Lane::Priority);
        self.start_close(key, Some(frame), CloseCause::SlowConsumer);
    }

    // --- closing -----------------------------------------------------------------------

    /// Leave `Open`: tell the application, queue `frame` (a Close frame) and drain.
    fn start_close(&mut self, key: usize, frame: Option<OutFrame>, cause: CloseCause) {
        let conn = &mut self.conns[key];
        if conn.state != State::Open {
            return;
        }
        if let Some(frame) = frame {
            conn.outq.push(frame);
        }
        let deadline = self.out.now + Duration::from_millis(self.config.limits.close_linger_ms);
        conn.state = State::Draining { deadline };
        self.notify_closed(key, &cause);
        self.watch(key);
        self.touch(key);
        if self.conns[key].outq.is_idle() {
            self.start_linger(key);
        }
    }

    /// Everything is written: half-close and wait for the peer's EOF.
    fn start_linger(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        debug_assert!(matches!(conn.state, State::Draining { .. }));
        if conn.peer_eof {
            self.kill(key, CloseCause::ConnectionLost);
            return;
        }
        sys::shutdown(conn.fd.as_raw_fd(), libc::SHUT_WR);
        let deadline = self.out.now + Duration::from_millis(self.config.limits.close_linger_ms);
        conn.state = State::Lingering { deadline };
        self.watch(key);
    }

    /// Stop everything now; the slot is freed once no op is in flight.
    fn kill(&mut self, key: usize, cause: CloseCause) {
        let conn = &mut self.conns[key];
        if conn.state == State::Dead {
            return;
        }
        conn.state = State::Dead;
        // Wakes a read or write still in flight in either backend.
        sys::shutdown(conn.fd.as_raw_fd(), libc::SHUT_RDWR);
        self.notify_closed(key, &cause);
        self.touch(key);
    }

    /// Tell the application how far an open WebSocket's outbound stream has got.
    fn notify_written(&mut self, key: usize, bytes: usize) {
        let conn = &self.conns[key];
        if !conn.app_knows
            || conn.state != State::Open
            || !matches!(conn.phase, Phase::WebSocket { .. })
        {
            return;
        }
        let id = ConnId {
            index: key as u32,
            generation: conn.generation,
        };
        self.app.handle_written(&mut self.out, id, bytes);
    }

    fn notify_closed(&mut self, key: usize, cause: &CloseCause) {
        let conn = &mut self.conns[key];
        if std::mem::take(&mut conn.app_knows) {
            let id = ConnId {
                index: key as u32,
                generation: conn.generation,
            };
            self.app.handle_closed(&mut self.out, id, cause);
        }
    }

    // --- per-turn bookkeeping ----------------------------------------------------------

    fn touch(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        if !conn.touched {
            conn.touched = true;
            self.touched.push_back((key, conn.generation));
        }
    }

    /// Like `touch`, but the connection is serviced ahead of every merely touched one: it
    /// has an HTTP answer or a priority frame (a heartbeat ACK, a pong), which must not wait
    /// behind a fan-out's thousands of writes. It may then sit in both lists; servicing it
    /// twice is harmless.
    fn touch_urgent(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        if !conn.touched_urgent {
            conn.touched_urgent = true;
            self.touched_urgent.push_back((key, conn.generation));
        }
    }

    /// Makes sure the core's timers will look at this connection by its deadline.
    fn watch(&mut self, key: usize) {
        let grace = Duration::from_millis(self.config.limits.slow_consumer_grace_ms);
        let conn = &mut self.conns[key];
        let Some(at) = conn.deadline(grace) else {
            return;
        };
        if conn.timer_at.is_none_or(|scheduled| at < scheduled) {
            conn.timer_at = Some(at);
            self.timers.schedule(at, key, conn.generation);
        }
    }

    /// Submit writes and reads for the oldest touched connections (at most
    /// `SERVICED_PER_TURN_MAX`); free dead, quiet ones.
    fn service_touched(&mut self) {
        for _ in 0..SERVICED_PER_TURN_MAX {
            let Some((key, generation)) = self
                .touched_urgent
                .pop_front()
                .or_else(|| self.touched.pop_front())
            else {
                break;
            };
            self.service(key, generation);
        }
    }

    /// Step 3 of a turn (module doc): the connections with an HTTP answer or a priority
    /// frame, before the mesh drain fans out what may be thousands of dispatches. Their
    /// answers, often for the very writes the drain is about to announce, then leave first.
    fn service_urgent(&mut self) {
        while let Some((key, generation)) = self.touched_urgent.pop_front() {
            self.service(key, generation);
        }
    }

    /// Writes one touched connection's queue, starts its read if it wants one, frees it
    /// if it is dead and quiet. A stale entry (the slot was reused) is skipped.
    fn service(&mut self, key: usize, generation: u32) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.generation != generation {
            return;
        }
        conn.touched = false;
        conn.touched_urgent = false;
        if conn.state == State::Dead {
            if conn.is_quiet() {
                if matches!(conn.phase, Phase::WebSocket { .. }) {
                    self.websockets -= 1;
                }
                self.backend.forget(conn.fd.as_raw_fd());
                let conn = self.conns.remove(key);
                if let Some(admitted) = conn.admitted {
                    self.admission.release(admitted);
                }
                self.stats.connection_closed();
            }
            return;
        }
        self.write_now(key);
        let paused = matches!(self.conns[key].phase, Phase::Http { .. }) && self.http_paused();
        if paused && self.wants_read(key) {
            // Read once the core has caught up (`resume_paused_http` touches it).
            if !self.paused_http.contains(&(key, generation)) {
                self.paused_http.push((key, generation));
            }
        } else if self.wants_read(key) {
            let conn = &mut self.conns[key];
            conn.reading = true;
            let fd = conn.fd.as_raw_fd();
            self.backend.submit(Op {
                token: conn_token(key, false),
                kind: OpKind::Recv {
                    fd,
                    buf: Vec::new(),
                },
            });
        }
    }

    /// Send what the connection has queued: copy it into the core's send buffer, one
    /// non-blocking `send(2)` per `SEND_BUF_BYTES`, and drop what the kernel took. When
    /// the socket is full, wait for `Writable` (no copy of the rest is kept: it stays in
    /// the queue). Past `WRITTEN_PER_SERVICE_MAX` bytes the connection goes to the back
    /// of the line, so one fast reader with a deep queue does not hold up the others.
    fn write_now(&mut self, key: usize) {
        let mut written = 0;
        let mut failed = false;
        loop {
            let conn = &mut self.conns[key];
            if conn.waiting_writable || conn.outq.is_idle() {
                break;
            }
            if written >= WRITTEN_PER_SERVICE_MAX {
                self.touch(key);
                break;
            }
            self.send_buf.clear();
            if let Err(error) = conn.outq.gather(&mut self.send_buf, SEND_BUF_BYTES) {
                // A file body that can no longer be read: its length was promised.
                eprintln!(
                    "flux: core {}: a response's file could not be read ({error}); closing",
                    self.core
                );
                failed = true;
                break;
            }
            // Counted before the call, so a client that has read the bytes sees the count.
            self.stats.write_batch();
            match sys::send_bytes(conn.fd.as_raw_fd(), &self.send_buf) {
                Ok(n) => {
                    conn.outq.consume(n);
                    written += n;
                    if n < self.send_buf.len() {
                        self.wait_writable(key);
                        break;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    self.wait_writable(key);
                    break;
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            self.kill(key, CloseCause::ConnectionLost);
        } else if written > 0 {
            self.after_write(key);
            self.notify_written(key, written);
        }
        self.apply_commands();
    }

    /// The socket is full: hear when it has room (`OpKind::Writable`).
    fn wait_writable(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        debug_assert!(!conn.waiting_writable);
        conn.waiting_writable = true;
        let fd = conn.fd.as_raw_fd();
        self.backend.submit(Op {
            token: conn_token(key, true),
            kind: OpKind::Writable { fd },
        });
    }

    /// Whether HTTP requests wait: the core has more unwritten bytes than
    /// `BACKLOG_PER_CONN_BYTES` per connection (at least `BACKLOG_MIN_BYTES`). A session's
    /// send window (256 KiB) caps what it queues here, so the bound must stay under that
    /// per session, or a burst would pass the replay ring before the pause began.
    ///
    /// Why: when messages arrive faster than this core can write them to its sessions,
    /// the backlog would grow until sessions fall so far behind that they are closed
    /// (4000) though their clients read as fast as they can. Taking no new request
    /// instead makes the publishers wait, so the server runs at its capacity, answers
    /// later, and drops nobody. Real slow consumers still have their own bound.
    fn http_paused(&self) -> bool {
        self.backlog.get() > self.backlog_limit()
    }

    /// `BACKLOG_PER_CONN_BYTES` per WebSocket connection (the ones fan-out writes to; HTTP
    /// connections queue next to nothing), at least `BACKLOG_MIN_BYTES`.
    fn backlog_limit(&self) -> usize {
        (self.websockets * BACKLOG_PER_CONN_BYTES).max(BACKLOG_MIN_BYTES)
    }

    /// Whether paused HTTP connections may go on: some wait and the backlog has halved.
    /// `next_timeout` asks too: writes are synchronous, so once they have drained the
    /// backlog no completion may come to wake the loop, and the paused connections would
    /// wait for an unrelated event.
    fn http_resumable(&self) -> bool {
        !self.paused_http.is_empty() && self.backlog.get() <= self.backlog_limit() / 2
    }

    /// Once the backlog has halved, let paused HTTP connections read and parse again.
    fn resume_paused_http(&mut self) {
        if !self.http_resumable() {
            return;
        }
        for (key, generation) in std::mem::take(&mut self.paused_http) {
            if self
                .conns
                .get(key)
                .is_some_and(|conn| conn.generation == generation)
            {
                self.touch(key);
                self.process_http(key);
            }
        }
    }

    fn wants_read(&self, key: usize) -> bool {
        let conn = &self.conns[key];
        if conn.reading || conn.peer_eof || conn.state == State::Dead {
            return false;
        }
        match &conn.phase {
            Phase::Http { inbuf, answers, .. } => {
                // Back-pressure (the core's own pause is `service_touched`'s): nothing is
                // read while no further request would be parsed (the pipeline is full, or
                // the unread answers pass the bound), and never more than the request
                // being read needs: its head, then its announced body.
                let limits = &self.config.limits.http;
                if answers.len() >= HTTP_PIPELINE_MAX
                    || answers_unread(&conn.outq, self.config.limits.outbox_bytes_max)
                {
                    return false;
                }
                let needed = match http::awaited_body(inbuf, limits) {
                    Some(body) => limits.head_bytes_max + body,
                    None => limits.head_bytes_max,
                };
                inbuf.len() < needed
            }
            // A WebSocket is read only while the answers to what it sent are out: its
            // priority lane (pongs, heartbeat ACKs) has been written, and its queue is within
            // its bound. A client that floods pings and reads nothing then holds at most one
            // read's worth of pongs, not megabytes, and a slow consumer's grace decides the
            // rest.
            Phase::WebSocket { .. } => {
                conn.outq.priority_is_idle()
                    && conn.outq.bytes() <= self.config.limits.outbox_bytes_max
            }
        }
    }

    fn fire_deadlines(&mut self, now: Instant) {
        if self.app_deadline.is_some_and(|deadline| deadline <= now) {
            self.app_deadline = None;
            let next = self.app.handle_tick(&mut self.out, now);
            if let Some(next) = next {
                self.out.wake_at(next);
            }
            self.apply_commands();
        }
        if self.accept_retry_at.is_some_and(|at| at <= now) {
            self.accept_retry_at = None;
            self.submit_accept();
        }
        if self
            .shutdown_deadline
            .is_some_and(|deadline| deadline <= now)
        {
            let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
            for key in keys {
                self.kill(key, CloseCause::Shutdown);
            }
        }
        let grace = Duration::from_millis(self.config.limits.slow_consumer_grace_ms);
        let soft = self.config.limits.outbox_bytes_max;
        while let Some(timer) = self.timers.pop_due(now) {
            let Some(conn) = self.conns.get_mut(timer.key) else {
                continue;
            };
            if conn.generation != timer.generation || conn.timer_at != Some(timer.at) {
                continue; // Stale: the connection's deadline moved (`timers.rs`).
            }
            conn.timer_at = None;
            let key = timer.key;
            if conn.state == State::Open
                && conn.outq.bytes() <= soft
                && conn.over_bound_since.take().is_some()
            {
                conn.outq.set_in_backlog(true);
            }
            match conn.state {
                State::Open => {
                    if conn
                        .over_bound_since
                        .is_some_and(|since| since + grace <= now)
                    {
                        self.slow_consumer(key);
                    } else if let Some(wait) = conn.http_wait.filter(|wait| wait.until <= now) {
                        self.http_timed_out(key, wait.what);
                    }
                }
                State::Draining { deadline } | State::Lingering { deadline } => {
                    if deadline <= now {
                        self.kill(key, CloseCause::ConnectionLost);
                    }
                }
                State::Dead => {}
            }
            // Whatever deadline is left (a later one, or the close that just began).
            self.watch(key);
        }
    }

    fn next_timeout(&self, now: Instant) -> Option<Duration> {
        if self.mesh.has_pending()
            || !self.touched.is_empty()
            || !self.touched_urgent.is_empty()
            || !self.out.commands.is_empty()
            || self.http_resumable()
        {
            return Some(Duration::ZERO);
        }
        let earliest = [
            self.app_deadline,
            self.accept_retry_at,
            self.shutdown_deadline,
            self.timers.next(),
        ]
        .into_iter()
        .flatten()
        .min();
        earliest.map(|deadline| deadline.saturating_duration_since(now))
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

    // --- shutdown ----------------------------------------------------------------------

    fn begin_shutdown(&mut self, now: Instant) {
        self.shutdown_deadline =
            Some(now + Duration::from_millis(self.config.limits.shutdown_grace_ms));
        // Stop accepting: this wakes an accept in flight, whose completion closes the
        // listener; without one in flight, close it now.
        if let Some(listener) = &self.listener {
            if self.accepting {
                sys::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR);
            } else {
                self.listener = None;
            }
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

    // --- helpers -----------------------------------------------------------------------

    fn submit_accept(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        if self.accepting {
            return;
        }
        self.accepting = true;
        let kind = OpKind::Accept {
            listener: listener.as_raw_fd(),
            accepted: None,
        };
        self.backend.submit(Op {
            token: TOKEN_LISTENER,
            kind,
        });
    }

    fn submit_wake_read(&mut self) {
        debug_assert!(!self.wake_reading);
        self.wake_reading = true;
        let fd = self.mesh.wake_fd().as_raw_fd();
        let buf = Vec::with_capacity(8);
        self.backend.submit(Op {
            token: TOKEN_WAKE,
            kind: OpKind::Read { fd, buf },
        });
    }

    fn submit_app_wake(&mut self) {
        let Some((fd, polling)) = &mut self.app_wake else {
            return;
        };
        debug_assert!(!*polling);
        *polling = true;
        let fd = *fd;
        self.backend.submit(Op {
            token: TOKEN_APP_WAKE,
            kind: OpKind::Poll { fd },
        });
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

/// What a decoded control message asks the reactor to do.
enum WsAction {
    None,
    /// A Pong was queued: write it ahead of the fan-out.
    Pong,
    PeerClose {
        code: Option<u16>,
        reason: String,
    },
    ProtocolError(wsframe::Error),
}
