//! Turning the backend's completions into reactor events.
//!
//! Every op the core submits carries a `Token`: a connection's slot (and whether the op is
//! its read or its `Writable`), or one of the core's own descriptors: a listener, the
//! mesh's wake eventfd, the application's wake descriptor, the voice UDP socket.
//! `handle_completion` is the one place that tells them apart; a read's bytes (decrypted
//! first on a TLS connection: `tls_io.rs`) then go to the HTTP parser or the WebSocket
//! decoder, by the connection's phase and state.
//!
//! Invariants:
//! - A connection's token is `key << 1 | write`; the `TOKEN_*` values sit at the top of the
//!   `u64` range, which a slab key (below `u32::MAX`, asserted in `add_conn`) never reaches.
//! - At most one read of each wake descriptor is in flight (`wake_reading`, `app_wake`).

use std::os::fd::AsRawFd;

use crate::reactor::app::{App, CloseCause};
use crate::reactor::backend::{Completion, Op, OpKind, Token};
use crate::reactor::conn::{Phase, State};

use super::Reactor;

const TOKEN_WAKE: Token = u64::MAX - 1;
/// The application's descriptor (`App::wake_fd`).
const TOKEN_APP_WAKE: Token = u64::MAX - 2;
/// The voice UDP socket's readiness (`datagrams.rs`).
pub(super) const TOKEN_UDP: Token = u64::MAX - 3;
/// Listener `i`'s accept carries `TOKEN_LISTENERS - i` (a core has a handful at most).
const TOKEN_LISTENERS: Token = u64::MAX - 8;

pub(super) fn listener_token(index: usize) -> Token {
    assert!(
        index < 8,
        "listener {index}: tokens for 8 listeners are reserved"
    );
    TOKEN_LISTENERS - index as u64
}

pub(super) fn conn_token(key: usize, write: bool) -> Token {
    (key as u64) << 1 | u64::from(write)
}

impl<A: App> Reactor<A> {
    pub(super) fn handle_completion(&mut self, completion: Completion) {
        let Completion {
            token,
            kind,
            result,
        } = completion;
        match (token, kind) {
            (token, OpKind::Accept { accepted, .. }) => {
                self.handle_accept((TOKEN_LISTENERS - token) as usize, accepted, result)
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
            (TOKEN_UDP, OpKind::Poll { .. }) => self.handle_udp_readable(result),
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
            (_, OpKind::Poll { .. }) => {
                unreachable!("only the application's wake fd and the UDP socket are polled")
            }
        }
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
        // On TLS the application's bytes are the plaintext the ciphertext completed
        // (often none: handshake records), in a buffer taken out of the reactor meanwhile.
        let mut plaintext = std::mem::take(&mut self.tls_read_buf);
        let decrypted = self.decrypt_read(key, &buf[..n], &mut plaintext);
        let data: &[u8] = match decrypted {
            Ok(true) => &plaintext,
            Ok(false) => &buf[..n],
            Err(()) => &[], // The connection is dead already (`decrypt_read`).
        };
        self.handle_bytes(key, n, data);
        plaintext.clear();
        self.tls_read_buf = plaintext;
        buf.clear();
        self.recycle(buf);
    }

    /// What the socket produced for connection `key`: `n` bytes read (0: its EOF), of which
    /// `data` is what the application's protocol sees.
    fn handle_bytes(&mut self, key: usize, n: usize, data: &[u8]) {
        let conn = &mut self.conns[key];
        if n == 0 {
            conn.peer_eof = true;
        }
        if conn.state != State::Open {
            conn.closing_read_bytes = conn.closing_read_bytes.saturating_add(n);
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
                    // Counted from the first byte read, ciphertext included: a TLS client
                    // trickling its handshake has the head deadline too.
                    if inbuf.is_empty() && n > 0 {
                        conn.request_started.get_or_insert(self.out.now);
                    }
                    inbuf.extend_from_slice(data);
                    self.process_http(key);
                }
                Phase::WebSocket { .. } => {
                    if n == 0 {
                        self.kill(key, CloseCause::ConnectionLost);
                    } else if !data.is_empty() {
                        self.handle_ws_bytes(key, data);
                    }
                }
            },
        }
    }

    pub(super) fn submit_wake_read(&mut self) {
        debug_assert!(!self.wake_reading);
        self.wake_reading = true;
        let fd = self.mesh.wake_fd().as_raw_fd();
        let buf = Vec::with_capacity(8);
        self.backend.submit(Op {
            token: TOKEN_WAKE,
            kind: OpKind::Read { fd, buf },
        });
    }

    pub(super) fn submit_app_wake(&mut self) {
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
}
