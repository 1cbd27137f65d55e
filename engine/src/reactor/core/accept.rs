//! Taking new connections: the listener's accept op, the connection caps, and the 503 a
//! connection past a cap gets.
//!
//! Why a file of its own: accepting is where the core meets the process-wide limits, the
//! caps in `admission.rs` and the open-file limit, and both ways of failing them are decided
//! here, so the rest of the reactor only ever sees admitted connections.
//!
//! A core accepts from more than one listener: the main one (shared by every core through
//! `SO_REUSEPORT`) and its own voice listener, which is always TLS. Every connection
//! remembers which (`Conn::listener`, then `Request::listener`) and, on a TLS listener,
//! gets its TLS session here; both kinds then run the same HTTP and WebSocket machinery
//! under the same caps.
//!
//! Invariants:
//! - A refused connection never takes a slab slot; it is answered and shut down at once
//!   (in plain text, even on a TLS listener: a refused client is not worth a handshake).
//! - At most one accept per listener is in flight (`accepting`); during shutdown its
//!   completion closes that listener.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use super::completions::listener_token;
use super::Reactor;
use crate::http::{Listener, Response};
use crate::reactor::admission::Refusal;
use crate::reactor::app::App;
use crate::reactor::backend::{Op, OpKind};
use crate::reactor::conn::Conn;
use crate::reactor::outq::CoreBacklog;
use crate::reactor::sys;
use crate::reactor::tls::TlsConn;

/// What a reactor is given for one listening socket.
pub(crate) struct ListenerSetup {
    pub fd: OwnedFd,
    pub kind: Listener,
    /// `Some`: the listener speaks TLS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// One listening socket as the reactor runs it.
pub(super) struct Listening {
    /// `None` once closed (shutdown).
    pub fd: Option<OwnedFd>,
    /// An accept of it is in flight.
    pub accepting: bool,
    kind: Listener,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Listening {
    pub(super) fn new(setup: ListenerSetup) -> Listening {
        Listening {
            fd: Some(setup.fd),
            accepting: false,
            kind: setup.kind,
            tls: setup.tls,
        }
    }
}

impl<A: App> Reactor<A> {
    pub(super) fn handle_accept(
        &mut self,
        index: usize,
        accepted: Option<OwnedFd>,
        result: std::io::Result<usize>,
    ) {
        self.listeners[index].accepting = false;
        match (result, accepted) {
            (Ok(_), Some(fd)) => self.add_conn(index, fd),
            (Ok(_), None) => unreachable!("a successful accept carries its descriptor"),
            (Err(error), _) => {
                if self.shutdown_deadline.is_some() {
                    // Closing it here: no op of it is in flight.
                    self.listeners[index].fd = None;
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
            self.submit_accept(index);
        } else {
            self.listeners[index].fd = None;
        }
    }

    fn add_conn(&mut self, index: usize, fd: OwnedFd) {
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
        let tls = match &self.listeners[index].tls {
            None => None,
            Some(config) => match TlsConn::new(config) {
                Ok(tls) => Some(Box::new(tls)),
                Err(error) => {
                    eprintln!(
                        "flux: core {}: TLS session not created ({error}); closing",
                        self.core
                    );
                    self.admission.release(admitted);
                    return;
                }
            },
        };
        let generation = self.generation_next;
        self.generation_next = self.generation_next.wrapping_add(1);
        let mut conn = Conn::new(fd, generation, CoreBacklog::clone(&self.backlog));
        conn.admitted = Some(admitted);
        conn.listener = self.listeners[index].kind;
        conn.tls = tls;
        conn.peer_ip = peer;
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

    /// An accept for every listener that has none in flight.
    pub(super) fn submit_accepts(&mut self) {
        for index in 0..self.listeners.len() {
            self.submit_accept(index);
        }
    }

    fn submit_accept(&mut self, index: usize) {
        let listener = &mut self.listeners[index];
        let Some(fd) = &listener.fd else {
            return;
        };
        if listener.accepting {
            return;
        }
        listener.accepting = true;
        let kind = OpKind::Accept {
            listener: fd.as_raw_fd(),
            accepted: None,
        };
        self.backend.submit(Op {
            token: listener_token(index),
            kind,
        });
    }
}
