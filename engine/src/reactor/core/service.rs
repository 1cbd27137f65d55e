//! Servicing touched connections: the write path.
//!
//! A connection is touched when it has something to write or may want a read; once per
//! turn at most `SERVICED_PER_TURN_MAX` of them, urgent ones first, are serviced: written
//! (`write_now`: the queue copied into the core's send buffer, one non-blocking `send(2)`
//! per `SEND_BUF_BYTES`), given a read if it wants one (`wants_read`: the back-pressure
//! rules), and freed if it is dead and quiet. Writes happen only here; that is the
//! coalescing (the module doc of `core.rs` says why, and why the budget).
//!
//! Invariants:
//! - A slot is freed only when none of its ops is in flight (`Conn::is_quiet`).
//! - At most one `Writable` per connection is in flight (`waiting_writable`).
//! - A stale entry in the touched lists (its slot reused) is skipped by its generation.

use std::os::fd::AsRawFd;

use crate::http;
use crate::reactor::app::{App, CloseCause, ConnId};
use crate::reactor::backend::{Op, OpKind};
use crate::reactor::conn::{Phase, State, HTTP_PIPELINE_MAX};
use crate::reactor::sys;

use super::completions::conn_token;
use super::http_conn::answers_unread;
use super::Reactor;

/// Connections serviced (written, read, freed) per loop turn; the rest wait one turn
/// (module doc: why a budget, and why this size: 256 let the store's durability wake wait
/// up to 2 ms behind one-frame writes).
const SERVICED_PER_TURN_MAX: usize = 32;

/// Unwritten bytes per WebSocket connection past which the core counts as behind its
/// sockets (`behind_sockets`): about 16 MESSAGE_CREATE frames each.
const BEHIND_BYTES_PER_CONN: usize = 16 * 1024;
/// Most bytes a closing connection is read for (and discarded) while the reactor waits for
/// its EOF. Enough for a well-behaved peer's last frames and its close; a peer that keeps
/// sending is not read further and is cut at the linger deadline.
const CLOSING_READ_BYTES_MAX: usize = 64 * 1024;

/// The core's send buffer: what one `send(2)` carries at most. Small enough to stay in
/// the CPU's cache from one connection to the next (module doc of `outq.rs`: why copy).
pub(super) const SEND_BUF_BYTES: usize = 256 * 1024;

/// Bytes one connection may send per service before the next connection's turn.
const WRITTEN_PER_SERVICE_MAX: usize = 4 * SEND_BUF_BYTES;

impl<A: App> Reactor<A> {
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
            if conn.is_flushed() {
                self.start_linger(key);
            }
        }
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

    pub(super) fn touch(&mut self, key: usize) {
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
    pub(super) fn touch_urgent(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        if !conn.touched_urgent {
            conn.touched_urgent = true;
            self.touched_urgent.push_back((key, conn.generation));
        }
    }

    /// Submit writes and reads for the oldest touched connections (at most
    /// `SERVICED_PER_TURN_MAX`); free dead, quiet ones.
    pub(super) fn service_touched(&mut self) {
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

    /// Whether the core is behind its sockets (`Outbox::behind_sockets`): more
    /// connections wait for a write than one turn services, and its WebSocket queues hold
    /// more than `BEHIND_BYTES_PER_CONN` each on average. The second half keeps a short
    /// round of one-frame writes (one fan-out to a thousand idle sessions) from counting:
    /// there, holding work back would only add latency, whereas behind deep queues a frame
    /// queued now waits for the frames before it anyway.
    pub(super) fn behind_sockets(&self) -> bool {
        self.touched.len() > SERVICED_PER_TURN_MAX
            && self.backlog.get() > self.websockets * BEHIND_BYTES_PER_CONN
    }

    /// Step 3 of a turn (module doc): the connections with an HTTP answer or a priority
    /// frame, before the mesh drain fans out what may be thousands of dispatches. Their
    /// answers, often for the very writes the drain is about to announce, then leave first.
    pub(super) fn service_urgent(&mut self) {
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
    /// A TLS connection seals its queue on the way (`tls_io.rs`); `written` counts the
    /// plaintext either way.
    fn write_now(&mut self, key: usize) {
        let (written, progress, failed) = if self.conns[key].tls.is_some() {
            let outcome = self.write_tls_now(key, WRITTEN_PER_SERVICE_MAX);
            let conn = &self.conns[key];
            if outcome.plaintext >= WRITTEN_PER_SERVICE_MAX
                && !conn.waiting_writable
                && !conn.outq.is_idle()
            {
                self.touch(key);
            }
            (outcome.plaintext, outcome.progress, outcome.failed)
        } else {
            let (written, failed) = self.write_plain_now(key);
            (written, written > 0, failed)
        };
        if failed {
            self.kill(key, CloseCause::ConnectionLost);
        } else if progress {
            self.after_write(key);
            if written > 0 {
                self.notify_written(key, written);
            }
        }
        self.apply_commands();
    }

    /// `write_now` for a plain connection: returns the bytes written and whether the
    /// socket failed.
    fn write_plain_now(&mut self, key: usize) -> (usize, bool) {
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
        (written, failed)
    }

    /// The socket is full: hear when it has room (`OpKind::Writable`).
    pub(super) fn wait_writable(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        debug_assert!(!conn.waiting_writable);
        conn.waiting_writable = true;
        let fd = conn.fd.as_raw_fd();
        self.backend.submit(Op {
            token: conn_token(key, true),
            kind: OpKind::Writable { fd },
        });
    }

    fn wants_read(&self, key: usize) -> bool {
        let conn = &self.conns[key];
        if conn.reading || conn.peer_eof || conn.state == State::Dead {
            return false;
        }
        // A closing connection is read only to hear the peer's EOF: what it still sends is
        // discarded, and at most `CLOSING_READ_BYTES_MAX` of it, so a peer that keeps
        // sending cannot keep the core busy until the linger deadline.
        if conn.state != State::Open && conn.closing_read_bytes >= CLOSING_READ_BYTES_MAX {
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
}
