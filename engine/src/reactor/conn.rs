//! One connection's state, as the reactor keeps it in its slab.
//!
//! Life cycle (each arrow is one function in `core.rs` or `core/`):
//!
//! ```text
//!   accept ──> Open(Http) ──upgrade──> Open(WebSocket)
//!                 │                        │
//!                 │ error answer /         │ app close / peer Close /
//!                 │ Connection: close      │ protocol error / slow consumer
//!                 v                        v
//!              Draining: write what is queued (close frame last), bounded by a deadline
//!                 │ queue empty
//!                 v
//!              Lingering: shutdown(SHUT_WR) sent; read and discard until EOF or deadline
//!                 │
//!                 v
//!              Dead: shutdown(SHUT_RDWR) wakes in-flight ops; when none is left the
//!                    descriptor is closed and the slab slot freed
//! ```
//!
//! EOF or a read/write error in `Open` goes straight to `Dead` (the peer is gone), and so
//! does a TLS error. A TLS connection counts as written only once its sealed ciphertext is
//! out too (`Conn::is_flushed`), and sends close_notify before it half-closes.
//! The application hears [`CloseCause`](super::CloseCause) once, when `Open` is left.

use std::os::fd::OwnedFd;
use std::time::Instant;

use super::outq::OutQueue;

/// Where the connection is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Open,
    Draining { deadline: Instant },
    Lingering { deadline: Instant },
    Dead,
}

/// Which protocol the connection speaks.
pub(crate) enum Phase {
    Http {
        /// Bytes read and not yet parsed; bounded by the HTTP head and body limits.
        inbuf: Vec<u8>,
        /// Requests parsed and not yet answered on the wire, oldest first. Answers leave
        /// in request order (HTTP/1.1 pipelining, RFC 9112 §9.3.2) however the
        /// application finishes them; at most `HTTP_PIPELINE_MAX` wait at once.
        answers: std::collections::VecDeque<PendingAnswer>,
        /// Parse no further request: the last one asked to close, the peer is gone, or
        /// the server is shutting down. The connection closes once `answers` is empty.
        close_after: bool,
    },
    WebSocket {
        /// `None` while the client is between messages: an idle connection holds no
        /// decoder (312 bytes, and the buffer of the last message it read). The next
        /// bytes get a new one built from the reactor's limits
        /// (`wsframe::Decoder::is_between_messages`).
        decoder: Option<Box<wsframe::Decoder>>,
    },
}

/// What an open HTTP connection waits for from its client (`Limits`: the deadlines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HttpWait {
    pub until: Instant,
    pub what: HttpAwaited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpAwaited {
    /// The rest of a request head (or, on a new connection, its first byte).
    Head,
    /// The rest of a request body whose head has arrived.
    Body,
    /// The next request on a kept-alive connection with nothing in flight.
    NextRequest,
}

/// Requests one HTTP connection may have in the application at once (the burst of events
/// all connections together can cause is `HTTP_IN_APP_PER_CORE_MAX`'s to bound). Past it
/// the reactor parses nothing more until the oldest is answered (and, past
/// `outbox_bytes_max` of unwritten answers, until the client reads them), so a client that
/// pipelines without reading holds a bounded amount of server memory.
pub(crate) const HTTP_PIPELINE_MAX: usize = 8;

/// Requests all HTTP connections of one core may have in the application at once; past it
/// the core parses no request until half of them are answered (`core/http_pause.rs`).
///
/// Why a bound per core as well as per connection: every request in flight can become
/// durable in one group commit and reach each session at once, and a session whose send
/// window is full keeps the rest in its replay ring (1,024 events), past which it is closed
/// with 4000. Bounded only per connection, a burst grew with the number of publishing
/// connections: 100 of them pipelining 8 posts each to one channel closed every session of
/// it. 256 is 32 such connections' worth, a quarter of the ring.
pub(crate) const HTTP_IN_APP_PER_CORE_MAX: usize = 256;

/// A core's count of requests in the application, shared by their `InApp` tokens.
pub(crate) type InAppCount = std::rc::Rc<std::cell::Cell<usize>>;

/// One request's place in its core's `InAppCount`: counted while the token lives, so a
/// request leaves the count however it ends (answered, its connection closed, upgraded).
pub(crate) struct InApp(InAppCount);

impl InApp {
    pub fn new(count: &InAppCount) -> InApp {
        count.set(count.get() + 1);
        InApp(std::rc::Rc::clone(count))
    }
}

impl Drop for InApp {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// One pipelined request's place in the answer order.
pub(crate) struct PendingAnswer {
    /// The `generation` of the `ConnId` the application got for this request.
    pub request: u32,
    /// The answer, once the application gave it.
    pub response: Option<crate::http::Response>,
    /// The request allowed keep-alive.
    pub keep_alive: bool,
    /// Held while the application has the request (`response` is `None`).
    pub in_app: Option<InApp>,
}

pub(crate) struct Conn {
    pub fd: OwnedFd,
    pub generation: u32,
    pub phase: Phase,
    pub outq: OutQueue,
    pub state: State,
    /// A read op is in flight.
    pub reading: bool,
    /// A `Writable` op is in flight: the socket was full at the last send.
    pub waiting_writable: bool,
    /// The peer closed its side (read returned 0) or the socket failed.
    pub peer_eof: bool,
    /// Bytes read and discarded since the connection left `Open` (waiting for the peer's
    /// EOF); past `CLOSING_READ_BYTES_MAX` nothing more is read, and the linger deadline
    /// ends it.
    pub closing_read_bytes: usize,
    /// Since when the outbound queue has been past `outbox_bytes_max`.
    pub over_bound_since: Option<Instant>,
    /// Listed in the reactor's `touched` list for this loop turn.
    pub touched: bool,
    /// Listed in the reactor's `touched_urgent` list.
    pub touched_urgent: bool,
    /// The time of this connection's entry in the core's `Timers` that counts (entries
    /// for other times are stale: `timers.rs`), or `None` when it has none.
    pub timer_at: Option<Instant>,
    /// What an open HTTP connection waits for from its client, and until when.
    pub http_wait: Option<HttpWait>,
    /// When the first byte of the request now being read arrived.
    pub request_started: Option<Instant>,
    /// `App::check_head` has passed the head of the request now being read.
    pub head_checked: bool,
    /// Its place in the server's connection caps, given back when the slot is freed.
    pub admitted: Option<super::admission::Admitted>,
    /// The application has seen this connection and must hear `handle_closed`.
    pub app_knows: bool,
    /// The listener it was accepted on (copied into each of its requests).
    pub listener: crate::http::Listener,
    /// Its TLS session, on a TLS listener: reads are decrypted before parsing, writes
    /// sealed before sending (`core/tls_io.rs`). Boxed: most connections are plain.
    pub tls: Option<Box<super::tls::TlsConn>>,
    /// The peer's address, as `accept` gave it; every request read from this connection
    /// carries it (`http::Request::peer_ip`) for the application's per-address limits.
    pub peer_ip: std::net::IpAddr,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd, generation: u32, backlog: super::outq::CoreBacklog) -> Conn {
        Conn {
            fd,
            generation,
            phase: Phase::Http {
                inbuf: Vec::new(),
                answers: std::collections::VecDeque::new(),
                close_after: false,
            },
            outq: {
                // An HTTP connection's answers do not count toward the core's backlog (its
                // own bound holds them); the upgrade to WebSocket turns that on.
                let mut outq = OutQueue::new(backlog);
                outq.set_in_backlog(false);
                outq
            },
            state: State::Open,
            reading: false,
            waiting_writable: false,
            peer_eof: false,
            closing_read_bytes: 0,
            over_bound_since: None,
            touched: false,
            touched_urgent: false,
            timer_at: None,
            http_wait: None,
            request_started: None,
            head_checked: false,
            admitted: None,
            app_knows: false,
            listener: crate::http::Listener::Main,
            tls: None,
            peer_ip: std::net::Ipv4Addr::UNSPECIFIED.into(),
        }
    }

    /// Everything queued has reached the socket: the outbound queue is idle and, on TLS,
    /// no ciphertext waits (so a draining connection may half-close).
    pub(crate) fn is_flushed(&self) -> bool {
        self.outq.is_idle() && self.tls.as_ref().is_none_or(|tls| tls.is_flushed())
    }

    /// No op of this connection is in flight, so its descriptor may be closed.
    pub(crate) fn is_quiet(&self) -> bool {
        !self.reading && !self.waiting_writable
    }

    /// The deadline this connection is waiting for, if any: the end of its closing
    /// linger, or of its slow-consumer grace, or of its client's time for the HTTP request
    /// it owes, whichever comes first.
    pub(crate) fn deadline(&self, grace: std::time::Duration) -> Option<Instant> {
        match self.state {
            State::Draining { deadline } | State::Lingering { deadline } => Some(deadline),
            State::Open => {
                let slow = self.over_bound_since.map(|since| since + grace);
                let http = self.http_wait.map(|wait| wait.until);
                slow.into_iter().chain(http).min()
            }
            State::Dead => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// A request counts while its token lives: answered (the token taken), or dropped
    /// with its connection's answer queue, it leaves the count either way.
    #[test]
    fn a_request_leaves_the_count_however_it_ends() {
        let count = InAppCount::default();
        let pending = |request| PendingAnswer {
            request,
            response: None,
            keep_alive: true,
            in_app: Some(InApp::new(&count)),
        };
        let mut answers: std::collections::VecDeque<PendingAnswer> = (0..3).map(pending).collect();
        assert_eq!(count.get(), 3);
        answers[1].in_app = None; // answered
        assert_eq!(count.get(), 2);
        drop(answers); // the connection went away with two requests in the application
        assert_eq!(count.get(), 0);
    }

    /// Every connection, idle ones included, holds one slab slot of `Conn` (an idle
    /// session's largest single cost, about 400 of its 2.5 KB): a field added here costs
    /// every idle session its size. Raise a bound only on purpose, and say why.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_connection_slot_stays_small() {
        assert!(
            size_of::<Conn>() <= 400,
            "Conn is {} bytes",
            size_of::<Conn>()
        );
        assert!(
            size_of::<Phase>() <= 64,
            "Phase is {} bytes",
            size_of::<Phase>()
        );
        assert!(
            size_of::<OutQueue>() <= 176,
            "OutQueue is {} bytes",
            size_of::<OutQueue>()
        );
    }
}
