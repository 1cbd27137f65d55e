//! Taking new connections: the listener's accept op, the connection caps, and the 503 a
//! connection past a cap gets.
//!
//! Why a file of its own: accepting is where the core meets the process-wide limits, the
//! caps in `admission.rs` and the open-file limit, and both ways of failing them are decided
//! here, so the rest of the reactor only ever sees admitted connections.
//!
//! Invariants:
//! - A refused connection never takes a slab slot; it is answered and shut down at once.
//! - At most one accept is in flight (`accepting`); during shutdown its completion closes
//!   the listener.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use super::completions::TOKEN_LISTENER;
use super::Reactor;
use crate::http::Response;
use crate::reactor::admission::Refusal;
use crate::reactor::app::App;
use crate::reactor::backend::{Op, OpKind};
use crate::reactor::conn::Conn;
use crate::reactor::outq::CoreBacklog;
use crate::reactor::sys;

impl<A: App> Reactor<A> {
    pub(super) fn handle_accept(
        &mut self,
        accepted: Option<OwnedFd>,
        result: std::io::Result<usize>,
    ) {
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

    pub(super) fn submit_accept(&mut self) {
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
}
