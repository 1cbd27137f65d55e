//! One connection's TLS session, as the reactor drives it: ciphertext in, plaintext out, and
//! the other way round.
//!
//! Why it fits the reactor: `rustls::ServerConnection` is sans-IO. It never touches the
//! socket; the reactor keeps reading and writing as it does for a plain connection and
//! only passes the bytes through here. After a read, `handle_ciphertext` feeds them in
//! (`read_tls` + `process_new_packets`) and hands back whatever plaintext they completed,
//! which then goes to the HTTP parser or the WebSocket decoder exactly as a plain read's
//! bytes would. On the write path (`core/tls_io.rs`) the connection's gathered plaintext is
//! `seal`ed, and `take_ciphertext` collects the records (and any handshake bytes or alerts
//! rustls has produced) for one `send(2)`.
//!
//! Elsewhere: the certificate and the shared `rustls::ServerConfig` (`crate::certificate`),
//! when reads and writes happen (`core/completions.rs`, `core/tls_io.rs`).
//!
//! Invariants:
//! - A TLS error is the peer's fault (or a broken client): it comes back as a value and the
//!   reactor closes the connection, never a panic.
//! - `unsent` holds only ciphertext the socket did not take; it is sent before any more
//!   plaintext is sealed, so a connection holds at most one send's worth of it.
//! - No plaintext is sealed while the handshake runs (the application has nothing to say
//!   before the client's first request anyway).

use std::io::{BufRead, Write};
use std::sync::Arc;

/// A TLS server session and the ciphertext it still owes the socket.
pub(crate) struct TlsConn {
    session: rustls::ServerConnection,
    /// Ciphertext the socket has not taken yet, from `unsent_at` on.
    unsent: Vec<u8>,
    unsent_at: usize,
}

/// What broke a TLS session: the peer's bytes were not TLS, or not acceptable TLS.
#[derive(Debug)]
pub(crate) struct TlsError(pub rustls::Error);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Retained `unsent` capacity past which the buffer is given back once it is empty: a
/// connection that once had a full socket should not keep a send's worth of memory.
const UNSENT_KEPT_BYTES_MAX: usize = 16 * 1024;

impl TlsConn {
    pub(crate) fn new(config: &Arc<rustls::ServerConfig>) -> Result<TlsConn, TlsError> {
        let mut session = rustls::ServerConnection::new(Arc::clone(config)).map_err(TlsError)?;
        // The reactor bounds what it seals (one send buffer at a time, and only when the
        // last one is out), so rustls's own limit would only split a gathered batch.
        session.set_buffer_limit(None);
        Ok(TlsConn {
            session,
            unsent: Vec::new(),
            unsent_at: 0,
        })
    }

    /// Feed what the socket produced; append the plaintext it completed to `plaintext`.
    pub(crate) fn handle_ciphertext(
        &mut self,
        mut ciphertext: &[u8],
        plaintext: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        while !ciphertext.is_empty() {
            let n = self
                .session
                .read_tls(&mut ciphertext)
                .map_err(|error| TlsError(rustls::Error::General(error.to_string())))?;
            if n == 0 {
                // The peer sent close_notify: nothing after it counts.
                break;
            }
            self.session.process_new_packets().map_err(TlsError)?;
            let mut reader = self.session.reader();
            loop {
                match reader.fill_buf() {
                    Ok([]) => break,
                    Ok(chunk) => {
                        let len = chunk.len();
                        plaintext.extend_from_slice(chunk);
                        reader.consume(len);
                    }
                    // No more plaintext for now (WouldBlock), or the stream's end: the
                    // socket's EOF tells the reactor that.
                    Err(_) => break,
                }
            }
        }
        Ok(())
    }

    /// The handshake is not finished: nothing may be sealed yet.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.session.is_handshaking()
    }

    /// Encrypt `plaintext` (all of it) into records; collect them with `take_ciphertext`.
    pub(crate) fn seal(&mut self, plaintext: &[u8]) {
        debug_assert!(
            !self.is_handshaking(),
            "sealing before the handshake is done"
        );
        // Without a buffer limit (set in `new`) the writer takes everything.
        let written = self.session.writer().write_all(plaintext);
        debug_assert!(written.is_ok(), "an unlimited TLS writer refused bytes");
    }

    /// Append every record rustls has ready (handshake, alerts, sealed data) to `out`.
    pub(crate) fn take_ciphertext(&mut self, out: &mut Vec<u8>) {
        while self.session.wants_write() {
            // Writing into a Vec cannot fail.
            if self.session.write_tls(out).is_err() {
                break;
            }
        }
    }

    /// Queue a close_notify alert (collected by the next `take_ciphertext`).
    pub(crate) fn close_notify(&mut self) {
        self.session.send_close_notify();
    }

    /// Ciphertext the socket did not take at the last send.
    pub(crate) fn unsent(&self) -> &[u8] {
        &self.unsent[self.unsent_at..]
    }

    /// Keep `bytes`, which the socket did not take, to be sent first next time.
    pub(crate) fn keep_unsent(&mut self, bytes: &[u8]) {
        self.unsent.extend_from_slice(bytes);
    }

    /// The socket took `n` bytes of `unsent()`.
    pub(crate) fn unsent_taken(&mut self, n: usize) {
        self.unsent_at += n;
        debug_assert!(self.unsent_at <= self.unsent.len());
        if self.unsent_at == self.unsent.len() {
            self.unsent_at = 0;
            if self.unsent.capacity() > UNSENT_KEPT_BYTES_MAX {
                self.unsent = Vec::new();
            } else {
                self.unsent.clear();
            }
        }
    }

    /// Nothing is left for the socket: no unsent ciphertext, no record waiting in rustls.
    pub(crate) fn is_flushed(&self) -> bool {
        self.unsent_at == self.unsent.len() && !self.session.wants_write()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (TlsConn, rustls::ClientConnection) {
        let (server_config, cert_der) = crate::certificate::self_signed_for_tests();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert_der).unwrap();
        let client_config =
            rustls::ClientConfig::builder_with_provider(crate::certificate::crypto_provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        let client =
            rustls::ClientConnection::new(Arc::new(client_config), "localhost".try_into().unwrap())
                .unwrap();
        (TlsConn::new(&server_config).unwrap(), client)
    }

    /// Move the client's records to the server one byte at a time, and the server's back.
    fn exchange(server: &mut TlsConn, client: &mut rustls::ClientConnection) -> Vec<u8> {
        let mut plaintext = Vec::new();
        let mut wire = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut wire).unwrap();
        }
        for byte in wire.chunks(1) {
            server.handle_ciphertext(byte, &mut plaintext).unwrap();
        }
        let mut back = Vec::new();
        server.take_ciphertext(&mut back);
        let mut slice = &back[..];
        while !slice.is_empty() {
            client.read_tls(&mut slice).unwrap();
            client.process_new_packets().unwrap();
        }
        plaintext
    }

    #[test]
    fn a_handshake_fed_byte_by_byte_then_data_both_ways() {
        let (mut server, mut client) = pair();
        for _ in 0..4 {
            exchange(&mut server, &mut client);
        }
        assert!(!server.is_handshaking() && !client.is_handshaking());
        client
            .writer()
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .unwrap();
        assert_eq!(
            exchange(&mut server, &mut client),
            b"GET / HTTP/1.1\r\n\r\n"
        );
        server.seal(b"hello");
        let mut wire = Vec::new();
        server.take_ciphertext(&mut wire);
        assert!(server.is_flushed());
        let mut slice = &wire[..];
        client.read_tls(&mut slice).unwrap();
        client.process_new_packets().unwrap();
        let mut got = [0u8; 5];
        std::io::Read::read_exact(&mut client.reader(), &mut got).unwrap();
        assert_eq!(&got, b"hello");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let (mut server, _) = pair();
        let mut plaintext = Vec::new();
        let result = server.handle_ciphertext(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut plaintext);
        assert!(result.is_err());
        assert!(plaintext.is_empty());
    }

    #[test]
    fn unsent_ciphertext_is_kept_in_order() {
        let (mut server, _) = pair();
        server.keep_unsent(b"abcdef");
        server.unsent_taken(2);
        assert_eq!(server.unsent(), b"cdef");
        server.unsent_taken(4);
        assert!(server.unsent().is_empty());
    }
}
