//! The seam between a reactor and the application it serves.
//!
//! Each core runs one reactor and one [`App`] value, created on that core's thread and
//! never shared. The reactor turns bytes into events and calls the `handle_*` methods; the
//! application answers by queueing [`Command`]s in the [`Outbox`] it is handed. The
//! reactor applies them after the callback returns, so an application never touches a
//! socket, and never blocks.
//!
//! Guarantees the reactor gives the application:
//! - Requests on one HTTP connection arrive in order, each with its own [`ConnId`]; up to
//!   eight pipelined requests may be in the application at once (and at most 256 across
//!   all connections of the core: past that, requests wait unparsed), and their answers (at
//!   once or via [`Outbox::respond`]) reach the client in request order whatever order
//!   the application gives them in.
//! - Every request carries the address of the peer that sent it (`Request::peer_ip`), for
//!   limits per source address.
//! - Text messages are complete and valid UTF-8; pings, pongs and the close handshake are
//!   handled by the reactor.
//! - [`App::handle_closed`] is called exactly once for every connection the application
//!   has seen (a request or a WebSocket open), after which its [`ConnId`] is stale;
//!   commands for a stale id are ignored.
//! - Each request says which listener it came in on (`Request::listener`: the main one, or
//!   the core's own voice listener), so a voice connection is known from its first request.
//! - Datagrams on the core's voice UDP socket reach [`App::handle_datagram`]; what the
//!   application queues with [`Outbox::send_datagram`] leaves from that socket after the
//!   callback, from any callback.

use std::sync::Arc;
use std::time::Instant;

use super::outbox::Outbox;
use crate::http::{Request, Response};
use crate::Config;

/// A connection on this core. Ids are never reused while the application could still
/// hold them: the generation changes when the slot is reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// What one core's application is told when it is created.
#[derive(Debug, Clone)]
pub struct CoreInfo {
    /// This core's index, `0..cores`.
    pub core: usize,
    /// How many cores (reactors) the server runs.
    pub cores: usize,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// The address the server listens on (with the real port when 0 was asked for).
    pub local_addr: std::net::SocketAddr,
    /// This core's voice address: its own TCP listener (TLS) and its UDP socket, both on
    /// this port. `None` when voice is off (`Config::voice`).
    pub voice_addr: Option<std::net::SocketAddr>,
    /// Every core's reactor counters (read-only here; each core writes its own), for an
    /// application that reports them (Flux's `GET /_flux/metrics`).
    pub reactor_stats: Arc<[Arc<super::CoreStats>]>,
}

/// The application's answer to an HTTP request.
#[derive(Debug)]
pub enum HttpAnswer {
    /// Send this response now.
    Respond(Response),
    /// Accept a WebSocket upgrade. The reactor checks the handshake (RFC 6455 §4.2.1),
    /// answers 101 and calls [`App::handle_ws_open`], or answers 400/426 itself.
    Upgrade,
    /// The answer comes later through [`Outbox::respond`] (for example after asking the
    /// core that owns the guild). Answers to later requests on this connection wait for
    /// it on the way out.
    Later,
}

/// A complete WebSocket data message from a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsMessage<'a> {
    /// A text message, valid UTF-8.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

/// Why a connection ended, as reported to [`App::handle_closed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// The peer sent a Close frame (with its code, if any); the reactor echoed it.
    PeerClosed {
        /// The code in the peer's Close frame; `None` when it carried none (1005).
        code: Option<u16>,
        /// The peer's reason text.
        reason: String,
    },
    /// The TCP connection ended or failed without a closing handshake (1006).
    ConnectionLost,
    /// The application asked for the close with [`Outbox::close`].
    ClosedByApp,
    /// The peer broke the WebSocket protocol; the reactor closed with this code.
    ProtocolError {
        /// The code sent to the peer.
        code: u16,
        /// What the peer did wrong.
        error: wsframe::Error,
    },
    /// The outbound queue stayed past `outbox_bytes_max` for longer than the grace period
    /// (or passed the hard cap); the reactor closed with `slow_consumer_close_code`.
    SlowConsumer,
    /// An HTTP connection ended normally (keep-alive over, or an error answer sent).
    HttpDone,
    /// The server is shutting down and the connection did not close by itself in time.
    Shutdown,
    /// The application dropped the connection with [`Outbox::abort`]: no close frame.
    Aborted,
}

/// A WebSocket frame the application wants to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Opcode 0x1.
    Text,
    /// Opcode 0x2.
    Binary,
}

/// One core's application. See the module documentation for the guarantees.
///
/// ```
/// use engine::http::{Request, Response};
/// use engine::reactor::{App, ConnId, HttpAnswer, Outbox, WsMessage};
///
/// struct Echo;
///
/// impl App for Echo {
///     type Mesh = ();
///     fn handle_http(&mut self, _: &mut Outbox<()>, _: ConnId, request: &Request) -> HttpAnswer {
///         match request.path() {
///             "/gateway" => HttpAnswer::Upgrade,
///             _ => HttpAnswer::Respond(Response::not_found()),
///         }
///     }
///     fn handle_ws_message(&mut self, out: &mut Outbox<()>, conn: ConnId, message: WsMessage<'_>) {
///         if let WsMessage::Text(text) = message {
///             out.send_text(conn, text);
///         }
///     }
/// }
/// ```
pub trait App: 'static {
    /// What cores send each other over the mesh.
    type Mesh: Send + 'static;

    /// A complete HTTP request arrived.
    fn handle_http(
        &mut self,
        out: &mut Outbox<Self::Mesh>,
        conn: ConnId,
        request: &Request,
    ) -> HttpAnswer;

    /// A WebSocket upgrade succeeded; `request` is the upgrade request (path, query,
    /// headers). Frames may be sent from here on.
    fn handle_ws_open(&mut self, out: &mut Outbox<Self::Mesh>, conn: ConnId, request: &Request) {
        let _ = (out, conn, request);
    }

    /// A complete text or binary message arrived.
    fn handle_ws_message(
        &mut self,
        out: &mut Outbox<Self::Mesh>,
        conn: ConnId,
        message: WsMessage<'_>,
    );

    /// The socket accepted `bytes` more bytes of this WebSocket connection's outbound
    /// stream (frame headers included, so it is an upper bound of the payload bytes).
    /// The gateway feeds this to its session as `Input::Written`, which opens the
    /// session's send window; without it dispatches stall once the window is full.
    /// Called from the write completion of either backend, only while the connection is
    /// open.
    fn handle_written(&mut self, out: &mut Outbox<Self::Mesh>, conn: ConnId, bytes: usize) {
        let _ = (out, conn, bytes);
    }

    /// A request's head has arrived and it announces a body of `body_len` bytes, none of
    /// which has been read yet (`head.body` is empty). `Err(response)` answers it now,
    /// without reading the body, and closes the connection once the answer is out (the
    /// unread body leaves the stream unusable). Flux refuses here a body without a valid
    /// token (401) or too large for its route (413). The default reads every body.
    fn check_head(&mut self, head: &Request, body_len: usize) -> Result<(), Response> {
        let _ = (head, body_len);
        Ok(())
    }

    /// The client broke the WebSocket protocol; return the close code to send. The
    /// default is the RFC 6455 code (`error.close_code()`: 1002, 1007 or 1009); the
    /// gateway maps `MessageTooBig` to its own 4002.
    fn handle_ws_error(&mut self, conn: ConnId, error: &wsframe::Error) -> u16 {
        let _ = conn;
        error.close_code()
    }

    /// The connection is finished for the application; `conn` is stale from now on.
    fn handle_closed(&mut self, out: &mut Outbox<Self::Mesh>, conn: ConnId, cause: &CloseCause) {
        let _ = (out, conn, cause);
    }

    /// The deadline the application asked for has come. Return the next one, if any.
    fn handle_tick(&mut self, out: &mut Outbox<Self::Mesh>, now: Instant) -> Option<Instant> {
        let _ = (out, now);
        None
    }

    /// A descriptor the reactor should watch for readability for the application (for
    /// example a store's wake eventfd). Asked once, when the core starts; the descriptor
    /// must stay open as long as the application lives. When it is readable the reactor
    /// calls [`App::handle_wake`], which must drain it (else it fires again at once).
    fn wake_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }

    /// The descriptor from [`App::wake_fd`] is readable.
    fn handle_wake(&mut self, out: &mut Outbox<Self::Mesh>) {
        let _ = out;
    }

    /// Another core sent a message.
    fn handle_mesh(&mut self, out: &mut Outbox<Self::Mesh>, from_core: usize, message: Self::Mesh) {
        let _ = (out, from_core, message);
    }

    /// Other cores sent these messages, `(from_core, message)`, oldest first; take them
    /// all. The default hands each to [`App::handle_mesh`] in order. An application
    /// overrides it to handle a run of similar messages together (Flux fans a run of
    /// message events out session by session). The reactor passes at most
    /// `MESH_BATCH_MAX` (32) at once and applies the commands after each batch.
    fn handle_mesh_batch(
        &mut self,
        out: &mut Outbox<Self::Mesh>,
        messages: &mut Vec<(usize, Self::Mesh)>,
    ) {
        for (from_core, message) in messages.drain(..) {
            self.handle_mesh(out, from_core, message);
        }
    }

    /// The end of a loop turn: the reactor has written what it could this turn, and
    /// [`Outbox::behind_sockets`] says whether connections still wait for their writes.
    /// An application that holds work back while the core is behind releases it here.
    /// Return whether it still holds some: the loop then comes round again at once
    /// instead of sleeping. The default holds nothing.
    fn handle_turn_end(&mut self, out: &mut Outbox<Self::Mesh>) -> bool {
        let _ = out;
        false
    }

    /// A UDP datagram arrived on this core's voice socket (`CoreInfo::voice_addr`) from
    /// `from`. The reactor reads them in batches (`recvmmsg`), a bounded number per turn,
    /// and calls this for each; answer with [`Outbox::send_datagram`]. `datagram` is lent
    /// for the call only. The default ignores it.
    fn handle_datagram(
        &mut self,
        out: &mut Outbox<Self::Mesh>,
        from: std::net::SocketAddr,
        datagram: &[u8],
    ) {
        let _ = (out, from, datagram);
    }

    /// The server is shutting down: no new connections arrive. Tell sessions to reconnect
    /// elsewhere (gateway op 7) and close them; whatever is still open when the shutdown
    /// grace period ends is closed by the reactor with 1001.
    fn handle_shutdown(&mut self, out: &mut Outbox<Self::Mesh>) {
        let _ = out;
    }
}

/// What the application asked for, applied by the reactor after each callback. Small on
/// purpose (48 bytes): a fan-out queues one `Send` per session.
#[derive(Debug)]
pub(crate) enum Command<M> {
    Send {
        conn: ConnId,
        kind: FrameKind,
        payload: QueuedPayload,
        lane: super::Lane,
    },
    /// A connection's share of a run of frames (`Outbox::send_run`).
    SendRun {
        conn: ConnId,
        first: u64,
        run: Arc<super::NumberedRun>,
    },
    Close {
        conn: ConnId,
        code: u16,
        reason: String,
    },
    Respond {
        conn: ConnId,
        response: Box<Response>,
    },
    Abort {
        conn: ConnId,
    },
    Mesh {
        core: usize,
        message: Box<M>,
    },
}

/// A [`Payload`](super::Payload) as a `Send` command holds it: a spliced payload's prefix
/// lives in the outbox's `prefixes` buffer, at `at`.
#[derive(Debug)]
pub(crate) enum QueuedPayload {
    Owned(Vec<u8>),
    Shared(Arc<[u8]>),
    Spliced { at: u32, len: u8, shared: Arc<[u8]> },
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_command_stays_small() {
        // A fan-out to 10,000 sessions queues 10,000 of these per event.
        assert!(std::mem::size_of::<super::Command<[u8; 256]>>() <= 48);
    }
}
