//! A TLS connection's reads and writes: where the reactor's plain byte path passes through
//! the connection's TLS session (`reactor/tls.rs`).
//!
//! Read side (`decrypt_read`): the bytes `recv(2)` produced are ciphertext; they go into
//! the session, and the plaintext they complete takes their place on the way to the HTTP
//! parser or the WebSocket decoder. Both backends read with `sys::recv_into` once the socket
//! is readable, so this one hook serves epoll and io_uring alike. A read that only carried
//! handshake records completes no plaintext; the connection was touched by the read, so
//! its service sends the session's answer (`write_tls_now`) in the same turn.
//!
//! Write side (`write_tls_now`, called by `service.rs::write_now` for a TLS connection):
//! 1. ciphertext the socket did not take last time (`TlsConn::unsent`) goes first;
//! 2. then, once the handshake is done, the queue's plaintext is gathered into the core's
//!    send buffer as for a plain connection, sealed, and consumed from the queue: for
//!    `App::handle_written` these plaintext bytes are the ones written;
//! 3. the records (with any handshake bytes or alert) are collected into the core's TLS
//!    send buffer and sent with one `send(2)`; what the socket does not take is kept in
//!    `unsent` and the connection waits for `Writable`.
//!
//! Invariants:
//! - No plaintext is sealed while ciphertext is unsent, so a connection keeps at most one
//!   send's worth of ciphertext.
//! - A TLS error closes the connection with a log line (and the alert rustls made, sent
//!   best effort); it never panics and never reaches the application as data.

use std::os::fd::AsRawFd;

use crate::reactor::app::{App, CloseCause};
use crate::reactor::conn::State;
use crate::reactor::sys;

use super::service::SEND_BUF_BYTES;
use super::Reactor;

/// How a write of a TLS connection went.
pub(super) struct TlsWrite {
    /// Plaintext bytes sealed (taken from the outbound queue).
    pub plaintext: usize,
    /// The socket took some bytes (ciphertext): the connection made progress.
    pub progress: bool,
    /// The socket failed: the connection is lost.
    pub failed: bool,
}

impl<A: App> Reactor<A> {
    /// Decrypt a read of connection `key` into `plaintext`. `Ok(false)`: not a TLS
    /// connection (or not open, or EOF): use the bytes as read. `Err(())`: the peer broke
    /// TLS and the connection is dead now.
    pub(super) fn decrypt_read(
        &mut self,
        key: usize,
        ciphertext: &[u8],
        plaintext: &mut Vec<u8>,
    ) -> Result<bool, ()> {
        let conn = &mut self.conns[key];
        let Some(tls) = conn.tls.as_mut() else {
            return Ok(false);
        };
        if conn.state != State::Open || ciphertext.is_empty() {
            return Ok(false);
        }
        match tls.handle_ciphertext(ciphertext, plaintext) {
            Ok(()) => Ok(true),
            Err(error) => {
                eprintln!(
                    "flux: core {}: TLS error from a client ({error}); closing its connection",
                    self.core
                );
                // The alert rustls made, best effort: the connection ends either way.
                let mut alert = std::mem::take(&mut self.tls_send_buf);
                alert.clear();
                tls.take_ciphertext(&mut alert);
                let _ = sys::send_bytes(conn.fd.as_raw_fd(), &alert);
                alert.clear();
                self.tls_send_buf = alert;
                self.kill(key, CloseCause::ConnectionLost);
                Err(())
            }
        }
    }

    /// Send what TLS connection `key` has: unsent ciphertext first, then its queue sealed
    /// (module doc). At most `max_plaintext` bytes of the queue are taken.
    pub(super) fn write_tls_now(&mut self, key: usize, max_plaintext: usize) -> TlsWrite {
        let mut outcome = TlsWrite {
            plaintext: 0,
            progress: false,
            failed: false,
        };
        let mut records = std::mem::take(&mut self.tls_send_buf);
        loop {
            let conn = &mut self.conns[key];
            if conn.waiting_writable {
                break;
            }
            let tls = conn
                .tls
                .as_mut()
                .expect("write_tls_now on a TLS connection");
            let fd = conn.fd.as_raw_fd();
            // 1. What the socket did not take last time.
            if !tls.unsent().is_empty() {
                self.stats.write_batch();
                match sys::send_bytes(fd, tls.unsent()) {
                    Ok(n) => {
                        outcome.progress |= n > 0;
                        let whole = n == tls.unsent().len();
                        tls.unsent_taken(n);
                        if !whole {
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
                        outcome.failed = true;
                        break;
                    }
                }
                continue;
            }
            // 2. The queue's plaintext, sealed (not during the handshake).
            if !tls.is_handshaking() && !conn.outq.is_idle() && outcome.plaintext < max_plaintext {
                self.send_buf.clear();
                if let Err(error) = conn.outq.gather(&mut self.send_buf, SEND_BUF_BYTES) {
                    eprintln!(
                        "flux: core {}: a response's file could not be read ({error}); closing",
                        self.core
                    );
                    outcome.failed = true;
                    break;
                }
                tls.seal(&self.send_buf);
                conn.outq.consume(self.send_buf.len());
                outcome.plaintext += self.send_buf.len();
            }
            // 3. Every record the session has, in one send.
            records.clear();
            tls.take_ciphertext(&mut records);
            if records.is_empty() {
                break;
            }
            self.stats.write_batch();
            let sent = loop {
                match sys::send_bytes(fd, &records) {
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break Ok(0),
                    result => break result,
                }
            };
            match sent {
                Ok(n) => {
                    outcome.progress |= n > 0;
                    if n < records.len() {
                        tls.keep_unsent(&records[n..]);
                        self.wait_writable(key);
                        break;
                    }
                }
                Err(_) => {
                    outcome.failed = true;
                    break;
                }
            }
        }
        records.clear();
        if records.capacity() > 2 * SEND_BUF_BYTES {
            records = Vec::new();
        }
        self.tls_send_buf = records;
        outcome
    }

    /// Before half-closing a TLS connection: its close_notify, best effort (a client that
    /// does not get it sees the TCP close, which HTTP and WebSocket frame anyway).
    pub(super) fn send_close_notify(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        let Some(tls) = conn.tls.as_mut() else {
            return;
        };
        let mut records = std::mem::take(&mut self.tls_send_buf);
        records.clear();
        tls.close_notify();
        tls.take_ciphertext(&mut records);
        let _ = sys::send_bytes(conn.fd.as_raw_fd(), &records);
        records.clear();
        self.tls_send_buf = records;
    }
}
