//! One voice gateway connection's protocol, as a sans-IO state machine.
//!
//! The reactor hands it each text message and the time; the app answers the questions it
//! asks (is this voice token good, which SSRC and port, which key) with inputs of its own;
//! `poll` drains what to send, when to wake it, and when to close. It never touches a
//! socket, the SFU or a clock.
//!
//! ```text
//! open ─► Hello ─► op 0 Identify ─► Output::Identify ─► Input::Admitted ─► Ready (ssrc, ip, port, modes)
//!                                                   └─► Input::Refused ─► close (4004 …)
//!          op 1 Select Protocol ─► Output::SelectProtocol ─► Input::Keyed ─► Session Description
//!          op 5 Speaking ─► Output::Speaking (the app relays it to the channel)
//!          op 7 Resume (new connection) ─► Output::Resume ─► the app moves the detached
//!          session here ─► Input::Reattached ─► Resumed + every numbered message missed
//!          (the new connection's own Hello was already sent)
//! ```
//!
//! Implements: Discord voice gateway v8: Hello, heartbeats with `seq_ack` answered by
//! op 6 (a pre-v8 bare nonce is answered bare), the numbered messages (ops 5, 11, 13 from
//! the server carry `seq`, kept in a bounded buffer so a Resume re-sends what the client
//! missed), the close codes of `close_code.rs` for every rule broken.
//!
//! Deadlines (every one from `VoiceSessionConfig`, with its reason there): Identify or
//! Resume within `identify_timeout_ms` of the open, and some message (a heartbeat at
//! least) within `2 × heartbeat_interval_ms` of the last, else 4009; at most
//! `messages_per_window_max` messages per `message_window_ms`, else 4021 (Speaking is
//! relayed to the whole channel, so an unbounded client would be an amplifier).
//!
//! Invariants:
//! - After `Output::Close` nothing else is emitted, and every input is ignored.
//! - The buffer holds at most `numbered_buffer_len` messages, oldest first, with
//!   consecutive `seq`s.

use std::collections::VecDeque;

use serde_json::Value;

use super::payload::{
    decode_client, encode_heartbeat_ack, encode_hello, encode_numbered, encode_ready,
    encode_resumed, encode_session_description, SelectProtocol, VoiceClientMessage, VoiceIdentify,
    VoiceResume, MODES,
};
use super::VoiceCloseCode;

/// A voice connection's limits and timings.
#[derive(Debug, Clone)]
pub struct VoiceSessionConfig {
    /// Hello's `heartbeat_interval`. 13,750 ms is what Discord's voice servers send;
    /// discord.py heartbeats every `min(interval, 5 s)` whatever it is told.
    pub heartbeat_interval_ms: u64,
    /// Time from the open to Identify or Resume. Clients send Identify at once, without
    /// waiting for Hello (CLIENTS.md §1.8); 10 s leaves room for a slow TLS handshake.
    pub identify_timeout_ms: u64,
    /// Numbered messages kept for a Resume: enough for the Speaking and connect events of
    /// a busy channel over a reconnect of a few seconds.
    pub numbered_buffer_len: usize,
    /// Messages a client may send per window (heartbeats, speaking).
    pub messages_per_window_max: u32,
    /// The window, in milliseconds.
    pub message_window_ms: u64,
}

impl Default for VoiceSessionConfig {
    fn default() -> VoiceSessionConfig {
        VoiceSessionConfig {
            heartbeat_interval_ms: 13_750,
            identify_timeout_ms: 10_000,
            numbered_buffer_len: 256,
            messages_per_window_max: 120,
            message_window_ms: 60_000,
        }
    }
}

/// What the app tells a voice session.
#[derive(Debug)]
pub enum VoiceInput<'a> {
    /// A text message from the client.
    Message(&'a [u8]),
    /// A binary message from the client (DAVE only, never offered): refused.
    Binary,
    /// A deadline the session asked for may have come.
    Tick,
    /// The answer to `Output::Identify`: the connection is admitted with this SSRC, and
    /// its UDP goes to `ip:port`.
    Admitted {
        /// The SSRC the client sends with.
        ssrc: u32,
        /// The voice UDP address to announce.
        ip: &'a str,
        /// The voice UDP port.
        port: u16,
    },
    /// The answer to `Output::Identify` or `Output::Resume`: refused with this code.
    Refused(VoiceCloseCode),
    /// The answer to `Output::SelectProtocol`: the mode and key the SFU now uses.
    Keyed {
        /// The mode the client chose (one of `MODES`).
        mode: &'a str,
        /// The transport key.
        secret_key: [u8; 32],
    },
    /// An event for the client (op 5 Speaking, 11 Clients Connect, 13 Client
    /// Disconnect): numbered and buffered.
    Numbered {
        /// The opcode.
        op: u8,
        /// Its `d`.
        d: &'a Value,
    },
    /// This detached session now serves a new connection whose Resume said `seq_ack`.
    Reattached {
        /// The last numbered message the client saw.
        seq_ack: Option<u64>,
    },
    /// The app ends the connection (4014 left or moved, 4022 channel deleted).
    Disconnect(VoiceCloseCode),
}

/// What a voice session asks of its shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceOutput {
    /// Send this text message.
    Send(String),
    /// Close with this code; the session is over.
    Close(VoiceCloseCode),
    /// Wake the session with `Tick` at this time (ms on the caller's clock).
    WakeAt(u64),
    /// Check this Identify (token, user, guild) and answer `Admitted` or `Refused`.
    Identify(VoiceIdentify),
    /// Find the detached session this Resume names and answer `Reattached` on it, or
    /// `Refused` here.
    Resume(VoiceResume),
    /// Key the SFU for this mode and answer `Keyed` (the mode is one of `MODES`).
    SelectProtocol(SelectProtocol),
    /// The client's speaking flags changed: relay them to the channel.
    Speaking {
        /// The flags.
        speaking: u32,
        /// The client's SSRC.
        ssrc: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Hello sent; waiting for Identify or Resume.
    Connected,
    /// Identify or Resume asked of the app.
    Authenticating,
    /// Ready sent; waiting for Select Protocol.
    Ready { ssrc: u32 },
    /// Select Protocol asked of the app.
    Selecting { ssrc: u32 },
    /// Session Description sent: media may flow.
    Streaming { ssrc: u32 },
    /// Closed; nothing more.
    Closed,
}

/// One voice gateway connection.
///
/// ```
/// use engine::voice::{VoiceInput, VoiceOutput, VoiceSession, VoiceSessionConfig};
///
/// let mut session = VoiceSession::new(VoiceSessionConfig::default(), 0);
/// session.handle(1, VoiceInput::Message(br#"{"op":0,"d":{"server_id":"1","user_id":"2","session_id":"s","token":"t"}}"#));
/// let outputs: Vec<VoiceOutput> = std::iter::from_fn(|| session.poll()).collect();
/// assert!(matches!(&outputs[0], VoiceOutput::Send(hello) if hello.contains("\"op\":8")));
/// assert!(outputs.iter().any(|o| matches!(o, VoiceOutput::Identify(i) if i.token == "t")));
/// ```
#[derive(Debug)]
pub struct VoiceSession {
    config: VoiceSessionConfig,
    phase: Phase,
    outputs: VecDeque<VoiceOutput>,
    /// The last numbered message's `seq` (0: none yet).
    seq: u64,
    /// The numbered messages kept for a Resume: `(seq, text)`.
    buffer: VecDeque<(u64, String)>,
    opened_ms: u64,
    last_heard_ms: u64,
    window_start_ms: u64,
    window_count: u32,
    /// The token this session identified with (a Resume must repeat it).
    token: Option<String>,
    /// The deadline last announced with `WakeAt`.
    wake_ms: Option<u64>,
}

impl VoiceSession {
    /// A new connection at `now_ms`: Hello is queued.
    pub fn new(config: VoiceSessionConfig, now_ms: u64) -> VoiceSession {
        let mut session = VoiceSession {
            phase: Phase::Connected,
            outputs: VecDeque::new(),
            seq: 0,
            buffer: VecDeque::new(),
            opened_ms: now_ms,
            last_heard_ms: now_ms,
            window_start_ms: now_ms,
            window_count: 0,
            token: None,
            wake_ms: None,
            config,
        };
        let hello = encode_hello(session.config.heartbeat_interval_ms);
        session.outputs.push_back(VoiceOutput::Send(hello));
        session.arm();
        session
    }

    /// Feed one input at `now_ms`, then drain `poll`.
    pub fn handle(&mut self, now_ms: u64, input: VoiceInput<'_>) {
        if self.phase == Phase::Closed {
            return;
        }
        match input {
            VoiceInput::Message(bytes) => self.message(now_ms, bytes),
            VoiceInput::Binary => self.close(VoiceCloseCode::FailedToDecode),
            VoiceInput::Tick => self.tick(now_ms),
            VoiceInput::Admitted { ssrc, ip, port } => {
                if self.phase == Phase::Authenticating {
                    self.phase = Phase::Ready { ssrc };
                    self.send(encode_ready(ssrc, ip, port));
                }
            }
            VoiceInput::Refused(code) => self.close(code),
            VoiceInput::Keyed { mode, secret_key } => {
                if let Phase::Selecting { ssrc } = self.phase {
                    self.phase = Phase::Streaming { ssrc };
                    self.send(encode_session_description(mode, &secret_key));
                }
            }
            VoiceInput::Numbered { op, d } => self.numbered(op, d),
            VoiceInput::Reattached { seq_ack } => self.reattached(now_ms, seq_ack),
            VoiceInput::Disconnect(code) => self.close(code),
        }
        self.arm();
    }

    /// The next output, oldest first.
    pub fn poll(&mut self) -> Option<VoiceOutput> {
        self.outputs.pop_front()
    }

    /// The SSRC assigned to this connection, once Ready was sent.
    pub fn ssrc(&self) -> Option<u32> {
        match self.phase {
            Phase::Ready { ssrc } | Phase::Selecting { ssrc } | Phase::Streaming { ssrc } => {
                Some(ssrc)
            }
            _ => None,
        }
    }

    /// Whether Session Description was sent (media may flow).
    pub fn is_streaming(&self) -> bool {
        matches!(self.phase, Phase::Streaming { .. })
    }

    /// Whether the session has closed.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The voice token the session identified with, once admitted.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn message(&mut self, now_ms: u64, bytes: &[u8]) {
        self.last_heard_ms = now_ms;
        if now_ms >= self.window_start_ms + self.config.message_window_ms {
            (self.window_start_ms, self.window_count) = (now_ms, 0);
        }
        self.window_count += 1;
        if self.window_count > self.config.messages_per_window_max {
            return self.close(VoiceCloseCode::RateLimited);
        }
        let message = match decode_client(bytes) {
            Ok(message) => message,
            Err(error) => return self.close(error.close),
        };
        let identified = !matches!(self.phase, Phase::Connected | Phase::Authenticating);
        match message {
            VoiceClientMessage::Heartbeat { t, bare, .. } => {
                self.send(encode_heartbeat_ack(t, bare));
            }
            VoiceClientMessage::Identify(identify) => match self.phase {
                Phase::Connected => {
                    self.phase = Phase::Authenticating;
                    self.token = Some(identify.token.clone());
                    self.outputs.push_back(VoiceOutput::Identify(identify));
                }
                _ => self.close(VoiceCloseCode::AlreadyAuthenticated),
            },
            VoiceClientMessage::Resume(resume) => match self.phase {
                Phase::Connected => {
                    self.phase = Phase::Authenticating;
                    self.outputs.push_back(VoiceOutput::Resume(resume));
                }
                _ => self.close(VoiceCloseCode::AlreadyAuthenticated),
            },
            _ if !identified => self.close(VoiceCloseCode::NotAuthenticated),
            VoiceClientMessage::SelectProtocol(select) => match self.phase {
                Phase::Ready { ssrc } => {
                    if select.protocol != "udp" {
                        return self.close(VoiceCloseCode::UnknownProtocol);
                    }
                    if !MODES.contains(&select.mode.as_str()) {
                        return self.close(VoiceCloseCode::UnknownEncryptionMode);
                    }
                    self.phase = Phase::Selecting { ssrc };
                    self.outputs.push_back(VoiceOutput::SelectProtocol(select));
                }
                // A second Select Protocol changes nothing the SFU would honour.
                _ => self.close(VoiceCloseCode::AlreadyAuthenticated),
            },
            VoiceClientMessage::Speaking { speaking, ssrc } => {
                if Some(ssrc) != self.ssrc() {
                    // Discord closes an SSRC that is not the connection's own.
                    return self.close(VoiceCloseCode::BadRequest);
                }
                self.outputs
                    .push_back(VoiceOutput::Speaking { speaking, ssrc });
            }
            VoiceClientMessage::ClientConnect => {}
        }
    }

    fn numbered(&mut self, op: u8, d: &Value) {
        self.seq += 1;
        let text = encode_numbered(op, d, self.seq);
        if self.buffer.len() == self.config.numbered_buffer_len {
            self.buffer.pop_front();
        }
        self.buffer.push_back((self.seq, text.clone()));
        debug_assert!(self.buffer.len() <= self.config.numbered_buffer_len);
        self.send(text);
    }

    /// This session moved onto a new connection (a Resume): Resumed, then every
    /// numbered message after `seq_ack`, or 4006 if some of them are gone.
    fn reattached(&mut self, now_ms: u64, seq_ack: Option<u64>) {
        let seen = seq_ack.unwrap_or(0);
        if seen > self.seq {
            return self.close(VoiceCloseCode::SessionNoLongerValid);
        }
        let oldest_kept = self.buffer.front().map_or(self.seq + 1, |(seq, _)| *seq);
        if seen + 1 < oldest_kept {
            return self.close(VoiceCloseCode::SessionNoLongerValid);
        }
        self.opened_ms = now_ms;
        self.last_heard_ms = now_ms;
        // The new connection's own session already said Hello; what was queued for the
        // old socket is in the buffer if it was numbered, and moot if not.
        self.outputs.clear();
        self.send(encode_resumed());
        let missed: Vec<String> = self
            .buffer
            .iter()
            .filter(|(seq, _)| *seq > seen)
            .map(|(_, text)| text.clone())
            .collect();
        for text in missed {
            self.send(text);
        }
    }

    fn tick(&mut self, now_ms: u64) {
        let authenticating = matches!(self.phase, Phase::Connected | Phase::Authenticating);
        if authenticating && now_ms >= self.opened_ms + self.config.identify_timeout_ms {
            return self.close(VoiceCloseCode::SessionTimeout);
        }
        if now_ms >= self.silence_deadline() {
            self.close(VoiceCloseCode::SessionTimeout);
        }
    }

    fn silence_deadline(&self) -> u64 {
        self.last_heard_ms + 2 * self.config.heartbeat_interval_ms
    }

    fn send(&mut self, text: String) {
        self.outputs.push_back(VoiceOutput::Send(text));
    }

    fn close(&mut self, code: VoiceCloseCode) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.outputs.push_back(VoiceOutput::Close(code));
    }

    /// Announce the next deadline if it changed.
    fn arm(&mut self) {
        if self.phase == Phase::Closed {
            return;
        }
        let mut deadline = self.silence_deadline();
        if matches!(self.phase, Phase::Connected | Phase::Authenticating) {
            deadline = deadline.min(self.opened_ms + self.config.identify_timeout_ms);
        }
        if self.wake_ms != Some(deadline) {
            self.wake_ms = Some(deadline);
            self.outputs.push_back(VoiceOutput::WakeAt(deadline));
        }
    }
}

#[cfg(test)]
mod tests;
