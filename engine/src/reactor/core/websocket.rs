//! An open WebSocket as the reactor runs it: decode the client's bytes, hand data messages
//! to the application, answer pings and Close frames, and hold the connection's outbound
//! queue to its bound (slow consumers).
//!
//! Elsewhere: encoding the server's frames (`reactor/ws.rs`), the upgrade that opens the
//! WebSocket (`http_conn.rs`), and the gateway protocol spoken over it (`crate::gateway`,
//! reached through `App`).
//!
//! Invariants:
//! - A connection's outbound queue never exceeds `OUTBOX_HARD_FACTOR * outbox_bytes_max`
//!   plus one frame (`check_outbox_bound` runs after every data frame and pong queued).
//! - A protocol error is the peer's fault: it closes the connection, never panics.

use crate::reactor::app::{App, CloseCause, ConnId, WsMessage};
use crate::reactor::conn::{Phase, State};
use crate::reactor::outq::Lane;
use crate::reactor::ws;

use super::{Reactor, OUTBOX_HARD_FACTOR};

impl<A: App> Reactor<A> {
    pub(super) fn handle_ws_bytes(&mut self, key: usize, bytes: &[u8]) {
        let mut input = bytes;
        let decoder_config = self.ws_decoder_config();
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
            let Phase::WebSocket { decoder: slot } = &mut conn.phase else {
                return;
            };
            let decoder =
                slot.get_or_insert_with(|| Box::new(wsframe::Decoder::new(decoder_config)));
            // Data messages go to the application while the decoder still lends them;
            // control messages become owned actions handled below.
            let action = match decoder.decode(&mut input) {
                Ok(None) => {
                    // Every byte is consumed. Between messages the decoder knows nothing
                    // a new one would not: let it go until the client sends again.
                    if decoder.is_between_messages() {
                        *slot = None;
                    }
                    return;
                }
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

    /// The settings every WebSocket decoder of this reactor is built with.
    fn ws_decoder_config(&self) -> wsframe::Config {
        let len_max = self.config.limits.ws_message_bytes_max;
        wsframe::Config::server()
            .with_message_len_max(len_max)
            .with_frame_len_max(len_max)
    }

    pub(super) fn check_outbox_bound(&mut self, key: usize) {
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
    pub(super) fn slow_consumer(&mut self, key: usize) {
        self.stats.slow_consumer();
        let code = self.config.limits.slow_consumer_close_code;
        self.conns[key].outq.drop_bulk();
        let frame = ws::close_frame(Some(code), "slow consumer", Lane::Priority);
        self.start_close(key, Some(frame), CloseCause::SlowConsumer);
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
