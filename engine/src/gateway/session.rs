//! The gateway session state machine: one WebSocket connection's worth of Discord Gateway v10.
//!
//! Feed it with `handle(now, Input)`, then drain `poll()` until `None`. It never touches a
//! socket or a clock, and it asks the caller for everything it cannot know (is this token
//! valid, where is the session being resumed) through outputs answered by inputs.
//!
//! Implements: Hello, Heartbeat/ACK and zombie reaping, Identify → READY, Resume → replay →
//! RESUMED, dispatch framing with a per-session `s`, Reconnect, Invalid Session, the client
//! ops 3/4/8/31 (validated and handed to the caller), close codes 4000–4014, the 120/60 s
//! payload limit, and send flow control (below).
//!
//! Elsewhere: the state diagram and a driving example are in `gateway/mod.rs`; payload shapes
//! in `payload.rs`; compression in `compress.rs`; identify rate limits in `identify_limit.rs`
//! (the caller consults them before answering `Output::Authenticate`).
//!
//! Flow control (why heartbeat ACKs never wait behind bulk dispatches): the session holds
//! unsent dispatches in its replay ring and hands the shell at most `send_window_bytes` of
//! frames that the shell has not yet reported written (`Input::Written`). Priority frames
//! (Hello, heartbeat ACK, server heartbeat, Reconnect, Invalid Session) skip that window, so
//! the shell's queue ahead of them is never longer than the window. A compressed stream must
//! keep its encode order on the wire, so the shell must not reorder frames of one connection.
//! A connection that keeps dispatches waiting for longer than `slow_consumer_grace_ms`, or
//! falls so far behind that the ring drops an event it never received, is closed with 4000
//! (resumable: the ring keeps what it missed). Bulk answers for one session (member
//! chunks) come as `Input::DispatchPaced` and enter the ring one at a time, only when
//! nothing unsent is in it, so they can never push out an event the client has not got.
//!
//! Invariants:
//! - No client input panics (proptest `arbitrary_client_input_never_panics` in
//!   `engine/tests/gateway_session_transport.rs`, fuzz target `gateway_payload`).
//! - Sequence numbers start at 1 and never skip; `seq_sent <= ring.seq_last()`.
//! - Exactly one `Output::SessionEnded` per session, after which only `into_resumable` and
//!   answers to earlier requests matter.
//!
//! This file holds the session's state and its life cycle: creation, `handle` (where
//! every input enters), the deadlines, and the ends (a close, a dropped socket). The rest
//! lives in `session/`, as child modules so that it shares the session's private state
//! (`Phase`, `Live`, the fields) without making it public:
//!
//! - `config.rs`: `SessionConfig`, the settings shared by every session of a server;
//! - `input_output.rs`: what goes in and out (`Input`, `Output`, `OutFrame`, and the
//!   questions and answers the caller handles);
//! - `resumable.rs`: `ResumableState`, what survives a reconnect;
//! - `client_message.rs`: the client's payloads (ops 1, 2, 3, 4, 6, 8, 31);
//! - `identify_resume.rs`: the caller's answers that make a session live (READY, RESUMED);
//! - `flow_control.rs`: dispatches, the fan-out fast paths and the send window.

mod client_message;
mod config;
mod flow_control;
mod identify_resume;
mod input_output;
mod resumable;

use std::collections::VecDeque;
use std::sync::Arc;

pub use self::config::SessionConfig;
pub use self::flow_control::PACED_BYTES_MAX;
pub use self::input_output::{AuthenticateRequest, Identity, Input, OutFrame, Output, ReadyInfo};
pub use self::resumable::ResumableState;
use super::close_code::client_close_keeps_session;
use super::compress::{Encoder, Outgoing};
use super::dispatch::Dispatch;
use super::error::GatewayError;
use super::frame;
use super::heartbeat::Heartbeat;
use super::intents::Intents;
use super::payload::{Identify, Resume};
use super::query::parse_connect_query;
use super::rate_limit::CommandLimiter;
use super::session_id::SessionId;
use super::time::Micros;

/// One gateway connection.
pub struct Session {
    config: Arc<SessionConfig>,
    encoder: Encoder,
    phase: Phase,
    /// When Hello was sent: the Hello→Identify deadline counts from here.
    greeted_at: Micros,
    heartbeat: Heartbeat,
    limiter: CommandLimiter,
    outputs: VecDeque<Output>,
    wake_at: Option<Micros>,
    /// Bytes of `Output::Send` frames not yet reported by `Input::Written`.
    in_flight_bytes: usize,
    /// Since when dispatches have been waiting for the send window.
    backlogged_since: Option<Micros>,
    /// Bulk dispatches (`Input::DispatchPaced`) waiting to enter the replay ring, which
    /// they do one at a time, once everything before them was handed to the shell.
    paced: VecDeque<Arc<Dispatch>>,
    /// Ring bytes of the events in `paced`.
    paced_bytes: usize,
}

enum Phase {
    /// Hello sent; waiting for Identify or Resume.
    Greeted,
    /// Identify accepted; waiting for the caller's `Identified`.
    Authenticating(Box<Identify>),
    /// Resume accepted; waiting for the caller's `ResumeFound`.
    Resuming(Resume),
    /// Identified or resumed.
    Live(Box<Live>),
    /// Closed; keeps the state if it is resumable.
    Ended(Option<Box<ResumableState>>),
}

struct Live {
    state: ResumableState,
    /// The last sequence number handed to the shell.
    seq_sent: u64,
}

impl Session {
    /// A session for a connection upgraded at `request_target` (path and query). Its first
    /// output is Hello, or a 4012 close if the query is not one we speak.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use engine::gateway::{Input, Micros, Output, Session, SessionConfig};
    /// let config = Arc::new(SessionConfig::default());
    /// let mut session = Session::new(config, "/?v=10&encoding=json", Micros(0));
    /// let Some(Output::Send(hello)) = session.poll() else { panic!() };
    /// assert_eq!(hello.bytes.to_vec(), br#"{"op":10,"d":{"heartbeat_interval":41250}}"#);
    /// session.handle(Micros(1), Input::Message(br#"{"op":1,"d":null}"#));
    /// ```
    pub fn new(config: Arc<SessionConfig>, request_target: &str, now: Micros) -> Session {
        let heartbeat = Heartbeat::new(now, config.heartbeat_timeout_ms.saturating_mul(1000));
        let limiter = CommandLimiter::new(
            config.client_payloads_max,
            config.client_payloads_window_ms.saturating_mul(1000),
        );
        let mut session = Session {
            encoder: Encoder::Plain,
            phase: Phase::Greeted,
            greeted_at: now,
            heartbeat,
            limiter,
            outputs: VecDeque::new(),
            wake_at: None,
            in_flight_bytes: 0,
            backlogged_since: None,
            paced: VecDeque::new(),
            paced_bytes: 0,
            config,
        };
        let encoder = parse_connect_query(request_target)
            .map_err(GatewayError::Query)
            .and_then(|query| {
                Encoder::new(query.compression, &session.config.compression)
                    .map_err(|e| GatewayError::Compression(e.0))
            });
        match encoder {
            Ok(encoder) => {
                session.encoder = encoder;
                let hello = frame::encode_hello(session.config.heartbeat_interval_ms);
                session.send(Outgoing::Whole(&hello), true);
            }
            Err(e) => session.close(e),
        }
        session.schedule();
        session
    }

    /// Feeds one input at `now`. Then drain `poll`.
    pub fn handle(&mut self, now: Micros, input: Input<'_>) {
        // Only a tick, given with the time up to which the caller has read this session's
        // socket, finds a zombie: a message handed over at `now` may have arrived in time
        // while the server was busy, and so may the heartbeat unread behind a dispatch
        // (`heartbeat.rs`).
        if matches!(input, Input::Tick)
            && !matches!(self.phase, Phase::Ended(_))
            && self.heartbeat.is_zombie(now)
        {
            self.close(GatewayError::SessionTimedOut);
        }
        match input {
            Input::Message(bytes) => self.handle_message(now, bytes),
            Input::PayloadTooLarge { len } => self.close(GatewayError::PayloadTooLarge { len }),
            Input::Tick => self.handle_tick(now),
            Input::Written { bytes } => {
                self.in_flight_bytes = self.in_flight_bytes.saturating_sub(bytes);
                self.pump(now);
            }
            Input::Identified(identity) => self.handle_identified(now, *identity),
            Input::AuthenticationFailed => {
                if matches!(self.phase, Phase::Authenticating(_)) {
                    self.close(GatewayError::AuthenticationFailed);
                }
            }
            Input::IdentifyRateLimited => {
                if matches!(self.phase, Phase::Authenticating(_)) {
                    self.phase = Phase::Greeted;
                    self.send(Outgoing::Whole(frame::encode_invalid_session(false)), true);
                }
            }
            Input::TokenRevoked => {
                if matches!(
                    self.phase,
                    Phase::Authenticating(_) | Phase::Resuming(_) | Phase::Live(_)
                ) {
                    self.close(GatewayError::AuthenticationFailed);
                }
            }
            Input::ResumeFound(state) => self.handle_resume_found(now, state),
            Input::ResumeNotFound => {
                if matches!(self.phase, Phase::Resuming(_)) {
                    self.invalid_session();
                }
            }
            Input::Dispatch(event) => self.handle_dispatch(now, event),
            Input::DispatchPaced(event) => self.handle_dispatch_paced(now, event),
            Input::RequestHeartbeat => {
                if let Phase::Live(live) = &self.phase {
                    let seq = Some(live.seq_sent).filter(|s| *s > 0);
                    self.send(Outgoing::Whole(&frame::encode_heartbeat(seq)), true);
                } else if !matches!(self.phase, Phase::Ended(_)) {
                    self.send(Outgoing::Whole(&frame::encode_heartbeat(None)), true);
                }
            }
            Input::Reconnect => {
                if !matches!(self.phase, Phase::Ended(_)) {
                    self.send(Outgoing::Whole(frame::RECONNECT), true);
                    self.close(GatewayError::Reconnect);
                }
            }
            Input::SocketClosed { code } => self.handle_socket_closed(code),
        }
        self.schedule();
    }

    /// The next thing to do, in order.
    ///
    /// Once it has returned everything, the queue gives its memory back: an idle session
    /// would otherwise keep four 128-byte slots for the heartbeat ACK it last sent. The
    /// next burst allocates again, which the slow path (the one that queues here) can
    /// afford; a live session's dispatches skip this queue while it is empty.
    pub fn poll(&mut self) -> Option<Output> {
        let output = self.outputs.pop_front();
        if output.is_none() && self.outputs.capacity() != 0 {
            self.outputs = VecDeque::new();
        }
        output
    }

    /// Moves the resumable state out of an ended session, starting its expiry clock at `now`.
    /// `None` if the session ended for good (or has not ended).
    pub fn into_resumable(self, now: Micros) -> Option<ResumableState> {
        match self.phase {
            Phase::Ended(Some(mut state)) => {
                state.expires_at = now.plus_ms(self.config.detached_ttl_ms);
                Some(*state)
            }
            _ => None,
        }
    }

    /// The session's id once identified or resumed.
    pub fn session_id(&self) -> Option<SessionId> {
        match &self.phase {
            Phase::Live(live) => Some(live.state.session_id),
            _ => None,
        }
    }

    /// The intents the session identified with (to pick an event variant, e.g. with or
    /// without message content).
    pub fn intents(&self) -> Option<Intents> {
        match &self.phase {
            Phase::Live(live) => Some(live.state.intents),
            _ => None,
        }
    }

    /// The token the session authenticated with, once live.
    pub fn token(&self) -> Option<&str> {
        match &self.phase {
            Phase::Live(live) => Some(&live.state.token),
            _ => None,
        }
    }

    /// The user the session identified as, once live.
    pub fn user_id(&self) -> Option<u64> {
        match &self.phase {
            Phase::Live(live) => Some(live.state.user_id),
            _ => None,
        }
    }

    /// Whether the session has ended.
    pub fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended(_))
    }

    fn handle_tick(&mut self, now: Micros) {
        if self.identify_due().is_some_and(|due| now >= due) {
            let ms = self.config.identify_timeout_ms;
            return self.close(GatewayError::IdentifyTimedOut { ms });
        }
        if let Some(since) = self.backlogged_since {
            if now.since(since) >= self.config.slow_consumer_grace_ms.saturating_mul(1000) {
                self.close(GatewayError::SlowConsumer);
            }
        }
    }

    fn handle_socket_closed(&mut self, code: Option<u16>) {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended(None));
        match phase {
            Phase::Ended(state) => self.phase = Phase::Ended(state),
            Phase::Live(live) if client_close_keeps_session(code) => {
                self.phase = Phase::Ended(Some(Box::new(live.state)));
                self.outputs
                    .push_back(Output::SessionEnded { resumable: true });
            }
            _ => self
                .outputs
                .push_back(Output::SessionEnded { resumable: false }),
        }
    }

    fn close(&mut self, error: GatewayError) {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended(None));
        if let Phase::Ended(state) = phase {
            self.phase = Phase::Ended(state);
            return;
        }
        let code = error.close_code();
        self.outputs.push_back(Output::Close {
            code,
            reason: error.reason(),
        });
        let state = match phase {
            Phase::Live(live) if code.session_resumable() => Some(Box::new(live.state)),
            _ => None,
        };
        let resumable = state.is_some();
        self.phase = Phase::Ended(state);
        self.backlogged_since = None;
        self.paced.clear();
        self.paced_bytes = 0;
        self.outputs.push_back(Output::SessionEnded { resumable });
    }

    /// Emits `WakeAt` when the earliest deadline changed.
    /// When the connection must have identified or resumed by: only while it has not
    /// yet (a pending Identify or Resume is the server's to finish).
    fn identify_due(&self) -> Option<Micros> {
        matches!(self.phase, Phase::Greeted)
            .then(|| self.greeted_at.plus_ms(self.config.identify_timeout_ms))
    }

    fn schedule(&mut self) {
        let next = if self.is_ended() {
            None
        } else {
            let slow = self
                .backlogged_since
                .map(|since| since.plus_ms(self.config.slow_consumer_grace_ms));
            [slow, self.identify_due()]
                .into_iter()
                .flatten()
                .chain([self.heartbeat.deadline()])
                .min()
        };
        if next != self.wake_at {
            self.wake_at = next;
            if let Some(at) = next {
                self.outputs.push_back(Output::WakeAt(at));
            }
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = match &self.phase {
            Phase::Greeted => "Greeted",
            Phase::Authenticating(_) => "Authenticating",
            Phase::Resuming(_) => "Resuming",
            Phase::Live(_) => "Live",
            Phase::Ended(_) => "Ended",
        };
        f.debug_struct("Session")
            .field("phase", &phase)
            .field("encoder", &self.encoder)
            .field("session_id", &self.session_id())
            .finish()
    }
}
