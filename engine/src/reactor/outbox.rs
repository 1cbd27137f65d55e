//! The application's side of the seam: a queue of commands for the reactor.
//!
//! Every method only records what to do; the reactor applies the commands, in order,
//! after the callback that produced them returns. Writes queued during one wake-up leave
//! in one `send(2)` per connection.
//!
//! A fan-out queues one command per session, so a command is kept small (48 bytes): a
//! spliced payload's per-session prefix goes into the outbox's `prefixes` buffer, back to
//! back with the others, and the command keeps only where it lies. A run of dispatches
//! is one command per session for the whole run (`send_run`).
//!
//! Datagrams (`send_datagram`) are not commands: a voice forward is one datagram per
//! listener every 20 ms, so each is copied into one per-core byte buffer, with its
//! destination beside it, and the reactor sends the batch with `sendmmsg(2)` after the
//! callback (`core/datagrams.rs`). The buffers keep their capacity: no allocation per
//! datagram.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::app::{Command, ConnId, FrameKind, QueuedPayload};
use super::numbered::NumberedRun;
use super::outq::{Lane, Payload};
use crate::http::Response;

/// Commands from one core's application to its reactor. Handed to every `App` callback.
#[derive(Debug)]
pub struct Outbox<M> {
    pub(crate) commands: VecDeque<Command<M>>,
    /// The prefixes of the spliced payloads in `commands` (`QueuedPayload::Spliced`);
    /// emptied whenever `commands` is.
    pub(crate) prefixes: Vec<u8>,
    pub(crate) wake_at: Option<Instant>,
    pub(crate) now: Instant,
    /// When the reactor last collected its completions ([`Outbox::read_at`]).
    pub(crate) read_at: Instant,
    /// Set by the reactor before the mesh drain and before `App::handle_turn_end`
    /// ([`Outbox::behind_sockets`]).
    pub(crate) behind_sockets: bool,
    /// Datagrams to send on the core's voice UDP socket, in order.
    pub(crate) datagrams: OutDatagrams,
    core: usize,
    cores: usize,
}

impl<M> Outbox<M> {
    pub(crate) fn new(core: usize, cores: usize) -> Outbox<M> {
        Outbox {
            commands: VecDeque::new(),
            prefixes: Vec::new(),
            wake_at: None,
            now: Instant::now(),
            read_at: Instant::now(),
            behind_sockets: false,
            datagrams: OutDatagrams::default(),
            core,
            cores,
        }
    }

    /// The time of the current wake-up (read once per loop turn; use it instead of the
    /// clock so a callback's decisions agree with each other).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// When the reactor last collected what its sockets had received: everything that
    /// arrived before it has been handed to the application (but for connections whose
    /// reads are paused by back-pressure). Never later than [`Outbox::now`]; after a long
    /// turn, much earlier. A deadline that judges a peer's silence (a heartbeat that did
    /// not come) is judged against this, not `now`: past `now`'s deadline, the awaited
    /// message may be sitting unread in a socket while this core was busy with others.
    pub fn read_at(&self) -> Instant {
        self.read_at
    }

    /// Whether this core is behind its sockets: more connections wait for their queued
    /// frames to be written than one loop turn writes, so what is queued for them now
    /// leaves no sooner than what is queued a few turns later. An application may then
    /// hold work back and queue it in bigger pieces (Flux gathers message events into
    /// longer fan-out runs), releasing it in [`App::handle_turn_end`](super::App::handle_turn_end).
    /// Read at the start of the mesh drain and at the end of the turn.
    pub fn behind_sockets(&self) -> bool {
        self.behind_sockets
    }

    /// This core's index.
    pub fn core(&self) -> usize {
        self.core
    }

    /// How many cores the server runs.
    pub fn cores(&self) -> usize {
        self.cores
    }

    /// Queue a text frame in the bulk lane.
    pub fn send_text(&mut self, conn: ConnId, payload: impl Into<Payload>) {
        self.send(conn, FrameKind::Text, payload, Lane::Bulk);
    }

    /// Queue a binary frame in the bulk lane.
    pub fn send_binary(&mut self, conn: ConnId, payload: impl Into<Payload>) {
        self.send(conn, FrameKind::Binary, payload, Lane::Bulk);
    }

    /// Queue a frame. [`Lane::Priority`] (heartbeat ACKs) goes ahead of queued bulk frames,
    /// never into the middle of a frame already partly written.
    pub fn send(&mut self, conn: ConnId, kind: FrameKind, payload: impl Into<Payload>, lane: Lane) {
        let payload = match payload.into() {
            Payload::Owned(bytes) => QueuedPayload::Owned(bytes),
            Payload::Shared(bytes) => QueuedPayload::Shared(bytes),
            Payload::Spliced { prefix, shared } => {
                let at = u32::try_from(self.prefixes.len()).expect("outbox prefixes past 4 GiB");
                self.prefixes.extend_from_slice(prefix.as_slice());
                QueuedPayload::Spliced {
                    at,
                    len: prefix.len() as u8,
                    shared,
                }
            }
        };
        self.commands.push_back(Command::Send {
            conn,
            kind,
            payload,
            lane,
        });
    }

    /// Queue `run`'s frames, numbered from `first`, in the bulk lane: one command and one
    /// queue entry for them all. A fan-out hands every session the same run.
    pub fn send_run(&mut self, conn: ConnId, run: Arc<NumberedRun>, first: u64) {
        self.commands
            .push_back(Command::SendRun { conn, first, run });
    }

    /// Close a WebSocket connection: frames queued before this still go out, then a Close
    /// frame with `code` and `reason` (cut to fit 123 bytes). For an HTTP connection the
    /// connection is closed after what is queued.
    pub fn close(&mut self, conn: ConnId, code: u16, reason: &str) {
        self.commands.push_back(Command::Close {
            conn,
            code,
            reason: reason.to_string(),
        });
    }

    /// Drop a connection at once, without a close frame and without writing what is
    /// queued: the peer sees the TCP connection end (a WebSocket client reports 1006).
    /// For tests that simulate a network failure, and for peers not worth a goodbye.
    /// [`App::handle_closed`](super::App::handle_closed) follows with
    /// [`CloseCause::Aborted`](super::CloseCause::Aborted).
    pub fn abort(&mut self, conn: ConnId) {
        self.commands.push_back(Command::Abort { conn });
    }

    /// Answer a request that was answered [`HttpAnswer::Later`](super::HttpAnswer::Later).
    pub fn respond(&mut self, conn: ConnId, response: Response) {
        self.commands.push_back(Command::Respond {
            conn,
            response: Box::new(response),
        });
    }

    /// Send a message to core `core` (this core included). Never blocks and never drops:
    /// when the ring to `core` is full the message waits in a local overflow queue that is
    /// retried every loop turn, in order.
    pub fn send_mesh(&mut self, core: usize, message: M) {
        assert!(core < self.cores, "core {core} of {}", self.cores);
        self.commands.push_back(Command::Mesh {
            core,
            message: Box::new(message),
        });
    }

    /// Send `bytes` as one UDP datagram to `to` from this core's voice socket (the port of
    /// its voice listener, `CoreInfo::voice_addr`). The bytes are copied; the reactor sends
    /// the datagrams queued during a callback together, after it. UDP semantics: a
    /// datagram the socket has no room for is dropped (and counted in `CoreStats`), as is
    /// every datagram of a core without a voice socket.
    ///
    /// # Panics
    ///
    /// If `bytes` is longer than a UDP datagram can be (65,507 bytes).
    pub fn send_datagram(&mut self, to: std::net::SocketAddr, bytes: &[u8]) {
        assert!(
            bytes.len() <= DATAGRAM_BYTES_MAX,
            "a {}-byte datagram: UDP carries at most {DATAGRAM_BYTES_MAX}",
            bytes.len()
        );
        let start = self.datagrams.bytes.len();
        self.datagrams.bytes.extend_from_slice(bytes);
        self.datagrams.list.push((to, start..start + bytes.len()));
    }

    /// Ask for [`App::handle_tick`](super::App::handle_tick) at or soon after `deadline`.
    pub fn wake_at(&mut self, deadline: Instant) {
        self.wake_at = Some(
            self.wake_at
                .map_or(deadline, |current| current.min(deadline)),
        );
    }
}

/// The largest UDP payload over IPv4 (65,535 less the IP and UDP headers).
const DATAGRAM_BYTES_MAX: usize = 65_507;

/// Datagrams queued by the application, back to back in one buffer.
#[derive(Debug, Default)]
pub(crate) struct OutDatagrams {
    pub(crate) bytes: Vec<u8>,
    /// Each datagram's destination and where its bytes lie in `bytes`.
    pub(crate) list: Vec<(std::net::SocketAddr, std::ops::Range<usize>)>,
}

impl OutDatagrams {
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.list.clear();
    }
}
