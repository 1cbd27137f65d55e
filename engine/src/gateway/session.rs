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
//! - No client input panics (proptest below, fuzz target `gateway_payload`).
//! - Sequence numbers start at 1 and never skip; `seq_sent <= ring.seq_last()`.
//! - Exactly one `Output::SessionEnded` per session, after which only `into_resumable` and
//!   answers to earlier requests matter.

use std::collections::VecDeque;
use std::sync::Arc;

use super::close_code::{client_close_keeps_session, CloseCode};
use super::compress::{CompressionConfig, Encoder, Outgoing};
use super::dispatch::{Dispatch, DispatchScope};
use super::error::GatewayError;
use super::frame::{self, DispatchRun};
use super::heartbeat::Heartbeat;
use super::intents::Intents;
use super::payload::{
    decode_client_payload, ClientPayload, GatewayShard, Identify, PresenceUpdate,
    RequestGuildMembers, RequestSoundboardSounds, Resume, VoiceStateUpdate,
};
use super::query::parse_connect_query;
use super::rate_limit::CommandLimiter;
use super::ready::{encode_ready, ReadyParts};
use super::replay::ReplayRing;
use super::session_id::SessionId;
use super::time::Micros;
use crate::reactor::Payload;

/// Settings shared by every session of a server (one `Arc` per core).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// This core's index, embedded in session ids so a Resume can be routed back.
    pub core_index: u16,
    /// Sent in Hello. Discord: 41250.
    pub heartbeat_interval_ms: u64,
    /// A session that does not heartbeat for this long is closed with 4009 (`heartbeat.rs`).
    pub heartbeat_timeout_ms: u64,
    pub replay_ring_len_max: usize,
    pub replay_ring_bytes_max: usize,
    /// How long a detached session waits for a Resume.
    pub detached_ttl_ms: u64,
    /// Client payloads allowed per window before 4008 (`rate_limit.rs`).
    pub client_payloads_max: u32,
    pub client_payloads_window_ms: u64,
    /// More guilds than this on one gateway shard closes with 4011. Discord: 2500.
    pub guilds_per_shard_max: usize,
    /// Bytes of frames handed to the shell and not yet reported written, past which
    /// dispatches wait in the replay ring.
    pub send_window_bytes: usize,
    /// How long dispatches may wait for the send window before the connection is closed.
    pub slow_consumer_grace_ms: u64,
    /// How long a connection may go from Hello to Identify or Resume before it is closed
    /// with 4009 (`Limits::identify_timeout_ms` says why 60 s).
    pub identify_timeout_ms: u64,
    /// `resume_gateway_url` in READY: a `ws://` URL, no trailing slash (stripped if given).
    pub resume_gateway_url: String,
    pub compression: CompressionConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            core_index: 0,
            heartbeat_interval_ms: 41_250,
            heartbeat_timeout_ms: 61_875,
            replay_ring_len_max: 1024,
            replay_ring_bytes_max: 1 << 20,
            detached_ttl_ms: 120_000,
            client_payloads_max: 120,
            client_payloads_window_ms: 60_000,
            guilds_per_shard_max: 2500,
            send_window_bytes: 256 << 10,
            slow_consumer_grace_ms: 15_000,
            identify_timeout_ms: 60_000,
            resume_gateway_url: "ws://127.0.0.1:8080".to_string(),
            compression: CompressionConfig::default(),
        }
    }
}

impl SessionConfig {
    /// Sets the heartbeat interval and a timeout of 1.5 intervals.
    pub fn with_heartbeat_interval_ms(mut self, interval_ms: u64) -> SessionConfig {
        self.heartbeat_interval_ms = interval_ms;
        self.heartbeat_timeout_ms = interval_ms + interval_ms / 2;
        self
    }

    fn resume_gateway_url(&self) -> &str {
        self.resume_gateway_url.trim_end_matches('/')
    }
}

/// What the caller learnt about the user behind an accepted token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_id: u64,
    /// The user object for READY, serialised JSON. Include every documented field
    /// (twilight and hikari need `mfa_enabled`, for example).
    pub user_json: String,
    pub application_id: u64,
    pub application_flags: u64,
    /// Privileged intents this user may use.
    pub privileged_intents_granted: Intents,
    /// Every guild the user is in; the session keeps those on its gateway shard.
    pub guild_ids: Vec<u64>,
    /// Randomness for the session id (112 bits are used).
    pub session_nonce: u128,
}

/// Something that happened to the session.
#[derive(Debug)]
pub enum Input<'a> {
    /// One complete client message (TEXT or BINARY frame).
    Message(&'a [u8]),
    /// The shell refused a client message over `CLIENT_PAYLOAD_BYTES_MAX`. Closes 4002.
    PayloadTooLarge { len: usize },
    /// A deadline from `Output::WakeAt` passed (spurious ticks are harmless).
    Tick,
    /// The shell wrote this many bytes of frames from `Output::Send` to the socket.
    Written { bytes: usize },
    /// Answer to `Output::Authenticate`: the token is valid.
    Identified(Box<Identity>),
    /// Answer to `Output::Authenticate`: the token is not valid. Closes 4004.
    AuthenticationFailed,
    /// Answer to `Output::Authenticate`: the `IdentifyLimiter` refused. Sends op 9 `d:false`.
    IdentifyRateLimited,
    /// Answer to `Output::Resume`: the detached session, moved out of wherever it waited.
    ResumeFound(Box<ResumableState>),
    /// Answer to `Output::Resume`: no such session (or it expired). Sends op 9 `d:false`.
    ResumeNotFound,
    /// An event for this session (filtered here by intents and gateway shard).
    Dispatch(&'a Arc<Dispatch>),
    /// A bulk event for this session alone, such as one GUILD_MEMBERS_CHUNK of many: it
    /// takes its sequence number only when every earlier event has been handed to the
    /// shell, so a long answer never pushes unsent events out of the replay ring (which
    /// would close the connection as a slow consumer). Forgotten if the session ends
    /// before it goes out.
    DispatchPaced(Arc<Dispatch>),
    /// Ask the client to heartbeat now (server op 1).
    RequestHeartbeat,
    /// Ask the client to reconnect and resume (op 7, then close 4000): graceful shutdown.
    Reconnect,
    /// The connection closed: the client's close code, or `None` if it just dropped.
    SocketClosed { code: Option<u16> },
}

/// Something the shell or the caller must do.
#[derive(Debug)]
pub enum Output {
    /// Write a WebSocket message. Keep the order of one connection's sends.
    Send(OutFrame),
    /// Send a close frame with this code and reason, flush, and close the socket.
    Close { code: CloseCode, reason: String },
    /// Deliver `Input::Tick` at or after this time. The latest `WakeAt` replaces earlier ones.
    WakeAt(Micros),
    /// Check this token (and the identify limits); answer with `Identified`,
    /// `AuthenticationFailed` or `IdentifyRateLimited`.
    Authenticate(Box<AuthenticateRequest>),
    /// Find the detached session `session_id` (on core `session_id.core()`) and move it in
    /// with `ResumeFound`, or answer `ResumeNotFound`.
    Resume { session_id: SessionId },
    /// The session is identified: subscribe it to `guild_ids` and send their GUILD_CREATEs.
    Ready(Box<ReadyInfo>),
    /// The session resumed: it is live again under the same id.
    Resumed(Box<ReadyInfo>),
    /// A detached session handed in with `ResumeFound` was not taken (wrong token, or this
    /// connection closed meanwhile): keep it waiting as before.
    DetachedReturned(Box<ResumableState>),
    /// op 3 from the client.
    PresenceUpdate(PresenceUpdate),
    /// op 4 from the client.
    VoiceStateUpdate(VoiceStateUpdate),
    /// op 8 from the client.
    RequestGuildMembers(RequestGuildMembers),
    /// op 31 from the client.
    RequestSoundboardSounds(RequestSoundboardSounds),
    /// The connection is over. If `resumable`, call `Session::into_resumable` and keep the
    /// state until a Resume claims it or it expires.
    SessionEnded { resumable: bool },
}

/// One WebSocket message to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFrame {
    /// The frame's payload: for a dispatch, usually this session's prefix spliced onto
    /// the event's shared bytes (`Payload::to_vec` gives it whole).
    pub bytes: Payload,
    /// BINARY frame (compressed) or TEXT (plain JSON).
    pub binary: bool,
    /// Write without waiting for batching; never held behind the dispatch window.
    pub priority: bool,
}

/// `Output::Authenticate`'s question.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticateRequest {
    /// Without any `Bot ` prefix.
    pub token: String,
    pub shard: GatewayShard,
    pub intents: Intents,
}

/// Who a session is, for subscriptions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyInfo {
    pub session_id: SessionId,
    pub user_id: u64,
    pub shard: GatewayShard,
    pub intents: Intents,
    /// Ready: the guilds on this gateway shard. Resumed: empty (subscriptions follow the
    /// session id and survived the disconnect).
    pub guild_ids: Vec<u64>,
    /// Ready: the presence from Identify.
    pub presence: Option<PresenceUpdate>,
    pub large_threshold: u16,
}

/// Everything a session keeps across a reconnect. It moves: out of a closed `Session` by
/// `into_resumable`, into a new one by `Input::ResumeFound`. While detached it still takes
/// dispatches, which a Resume then replays.
#[derive(Debug)]
pub struct ResumableState {
    session_id: SessionId,
    token: String,
    user_id: u64,
    intents: Intents,
    shard: GatewayShard,
    large_threshold: u16,
    ring: ReplayRing,
    expires_at: Micros,
}

impl ResumableState {
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// The intents the session identified with.
    pub fn intents(&self) -> Intents {
        self.intents
    }

    /// After this time a Resume is refused; the caller should drop the state.
    pub fn expires_at(&self) -> Micros {
        self.expires_at
    }

    /// The last sequence number assigned.
    pub fn seq_last(&self) -> u64 {
        self.ring.seq_last()
    }

    /// Records an event the detached session missed, if it would have received it.
    pub fn handle_dispatch(&mut self, event: &Arc<Dispatch>) {
        if event.visible_to(self.intents, self.shard) {
            self.ring.push(Arc::clone(event));
        }
    }
}

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

/// Ring bytes of paced dispatches one session may hold back (a few answers to op 8 for
/// a guild of tens of thousands of members); past it the session closes 4000 like any
/// slow consumer.
pub const PACED_BYTES_MAX: usize = 64 << 20;

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
        if !matches!(self.phase, Phase::Ended(_)) && self.heartbeat.is_zombie(now) {
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

    /// Fan-out's fast path: `handle(now, Input::Dispatch(event))` for the common case
    /// of a live session with nothing queued and room in its send window, which is to
    /// frame the event at once. Returns that frame; in every other case it does exactly
    /// what `handle` does and returns `None`, and the caller drains `poll` as usual.
    ///
    /// Why: a dispatch to ten thousand sessions is ten thousand calls; skipping the
    /// output queue and the deadline bookkeeping (which this case cannot change) is most
    /// of the per-session cost left in user space.
    pub fn dispatch(&mut self, now: Micros, event: &Arc<Dispatch>) -> Option<OutFrame> {
        let fast = self.in_flight_bytes < self.config.send_window_bytes
            && self
                .next_seq_if_fast(now, std::slice::from_ref(event))
                .is_some();
        if !fast {
            self.handle(now, Input::Dispatch(event));
            return None;
        }
        let Phase::Live(live) = &mut self.phase else {
            unreachable!("checked: live")
        };
        let (seq, _) = live.state.ring.push(Arc::clone(event));
        debug_assert_eq!(seq, live.seq_sent + 1);
        live.seq_sent = seq;
        debug_assert!(self.backlogged_since.is_none());
        let frame = self.encode_frame(Outgoing::Dispatch { seq, event }, false);
        if frame.is_none() {
            self.schedule(); // The compressor failed and closed the session.
        }
        frame
    }

    /// Fan-out's fast path for a run of dispatches: when this session is a live plain-text
    /// session with nothing else pending, room in its send window for the whole run, and
    /// every event visible to it, the events go into its replay ring as `dispatch` would
    /// put them there, and the session's first `s` of the run comes back: the caller
    /// queues `run.frames()` numbered from it (`Outbox::send_run`). `None`: nothing was
    /// done, and the caller gives the events to `dispatch` one by one.
    pub fn dispatch_run(&mut self, now: Micros, run: &DispatchRun) -> Option<u64> {
        if !matches!(self.encoder, Encoder::Plain) {
            return None;
        }
        let first = self.next_seq_if_fast(now, run.events())?;
        let bytes = run.frames().payload_bytes(first);
        if self.in_flight_bytes + bytes > self.config.send_window_bytes {
            return None;
        }
        let Phase::Live(live) = &mut self.phase else {
            unreachable!("checked: live")
        };
        for event in run.events() {
            let (seq, _) = live.state.ring.push(Arc::clone(event));
            debug_assert_eq!(seq, live.seq_sent + 1);
            live.seq_sent = seq;
        }
        debug_assert!(self.backlogged_since.is_none());
        self.in_flight_bytes += bytes;
        Some(first)
    }

    /// The `s` the next dispatch gets, if `events` may take a fast path: the session is
    /// live, nothing waits before them (no output, no paced event, nothing unsent in the
    /// ring), it is not a zombie, and every event is visible to it. The send window is the
    /// caller's to check.
    fn next_seq_if_fast(&self, now: Micros, events: &[Arc<Dispatch>]) -> Option<u64> {
        let Phase::Live(live) = &self.phase else {
            return None;
        };
        let fast = self.outputs.is_empty()
            && self.paced.is_empty()
            && live.seq_sent == live.state.ring.seq_last()
            && !self.heartbeat.is_zombie(now)
            && events
                .iter()
                .all(|event| event.visible_to(live.state.intents, live.state.shard));
        fast.then_some(live.seq_sent + 1)
    }

    /// The next thing to do, in order.
    pub fn poll(&mut self) -> Option<Output> {
        self.outputs.pop_front()
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

    fn handle_message(&mut self, now: Micros, bytes: &[u8]) {
        if matches!(self.phase, Phase::Ended(_)) {
            return;
        }
        if !self.limiter.admit(now) {
            return self.close(GatewayError::RateLimited);
        }
        let payload = match decode_client_payload(bytes) {
            Ok(payload) => payload,
            Err(e) => return self.close(e),
        };
        let live = matches!(self.phase, Phase::Live(_));
        match payload {
            ClientPayload::Heartbeat { seq } => {
                self.heartbeat.record(now);
                if let (Some(seq), Phase::Live(live)) = (seq, &mut self.phase) {
                    // The client has everything through `seq` (never more than was sent:
                    // the rest of the ring is still the send queue).
                    live.state.ring.forget_through(seq.min(live.seq_sent));
                }
                self.send(Outgoing::Whole(frame::HEARTBEAT_ACK), true);
            }
            ClientPayload::Identify(identify) => {
                if !matches!(self.phase, Phase::Greeted) {
                    return self.close(GatewayError::AlreadyAuthenticated);
                }
                self.outputs
                    .push_back(Output::Authenticate(Box::new(AuthenticateRequest {
                        token: identify.token.clone(),
                        shard: identify.shard,
                        intents: identify.intents,
                    })));
                self.phase = Phase::Authenticating(identify);
            }
            ClientPayload::Resume(resume) => {
                if !matches!(self.phase, Phase::Greeted) {
                    return self.close(GatewayError::AlreadyAuthenticated);
                }
                match SessionId::parse(&resume.session_id) {
                    Some(session_id) => {
                        self.outputs.push_back(Output::Resume { session_id });
                        self.phase = Phase::Resuming(resume);
                    }
                    None => self.invalid_session(),
                }
            }
            ClientPayload::PresenceUpdate(p) if live => {
                self.outputs.push_back(Output::PresenceUpdate(p))
            }
            ClientPayload::VoiceStateUpdate(v) if live => {
                self.outputs.push_back(Output::VoiceStateUpdate(v))
            }
            ClientPayload::RequestGuildMembers(r) if live => self.handle_request_guild_members(r),
            ClientPayload::RequestSoundboardSounds(r) if live => {
                self.outputs.push_back(Output::RequestSoundboardSounds(r))
            }
            other => self.close(GatewayError::NotAuthenticated(op_of(&other))),
        }
    }

    /// op 8, with Discord's rules that need the session's intents and shard
    /// (discord-api-docs, gateway-events "Request Guild Members"):
    /// - `presences: true` without GUILD_PRESENCES "will always be false": answered
    ///   without presences.
    /// - The whole member list (`query: ""` without `user_ids`) needs GUILD_MEMBERS.
    ///   Discord does not close the connection then; it sends no chunk at all (reported
    ///   in discord-api-docs#5855 and discordrb#53), and so does Flux. The clients check
    ///   the intent themselves before they ask (discord.py, discordeno).
    /// - A guild that is not on this connection's gateway shard gets no chunk either.
    ///
    /// Cost: op 8 counts against the 120/60 s command limit like every payload, so a
    /// flood closes with 4008 before it can ask for more than 120 guild scans a minute.
    fn handle_request_guild_members(&mut self, mut request: RequestGuildMembers) {
        let Phase::Live(live) = &self.phase else {
            debug_assert!(false, "op 8 is handled only when live");
            return;
        };
        let intents = live.state.intents;
        if !live.state.shard.carries_guild(request.guild_id) {
            return;
        }
        let whole_list = request.user_ids.is_none() && request.query.as_deref() == Some("");
        if whole_list && !intents.contains(Intents::GUILD_MEMBERS) {
            return;
        }
        request.presences &= intents.contains(Intents::GUILD_PRESENCES);
        self.outputs.push_back(Output::RequestGuildMembers(request));
    }

    fn handle_identified(&mut self, now: Micros, identity: Identity) {
        let Phase::Authenticating(identify) = &self.phase else {
            debug_assert!(self.is_ended(), "Identified without a pending Identify");
            return;
        };
        let identify = identify.clone();
        let missing = identify
            .intents
            .privileged_missing(identity.privileged_intents_granted);
        if !missing.is_empty() {
            return self.close(GatewayError::DisallowedIntents { missing });
        }
        let guild_ids: Vec<u64> = identity
            .guild_ids
            .iter()
            .copied()
            .filter(|g| identify.shard.carries_guild(*g))
            .collect();
        if guild_ids.len() > self.config.guilds_per_shard_max {
            return self.close(GatewayError::ShardingRequired {
                guilds: guild_ids.len(),
                guilds_max: self.config.guilds_per_shard_max,
            });
        }
        let session_id = SessionId::new(self.config.core_index, identity.session_nonce);
        let ready = encode_ready(&ReadyParts {
            user_json: &identity.user_json,
            guild_ids: &guild_ids,
            session_id,
            resume_gateway_url: self.config.resume_gateway_url(),
            shard: identify.shard,
            application_id: identity.application_id,
            application_flags: identity.application_flags,
        });
        let mut state = ResumableState {
            session_id,
            token: identify.token.clone(),
            user_id: identity.user_id,
            intents: identify.intents,
            shard: identify.shard,
            large_threshold: identify.large_threshold,
            ring: ReplayRing::new(
                self.config.replay_ring_len_max,
                self.config.replay_ring_bytes_max,
            ),
            expires_at: Micros::NEVER,
        };
        state.ring.push(Dispatch::new(
            "READY",
            ready,
            DispatchScope::User,
            Intents::empty(),
        ));
        self.outputs.push_back(Output::Ready(Box::new(ReadyInfo {
            session_id,
            user_id: identity.user_id,
            shard: identify.shard,
            intents: identify.intents,
            guild_ids,
            presence: identify.presence.clone(),
            large_threshold: identify.large_threshold,
        })));
        self.phase = Phase::Live(Box::new(Live { state, seq_sent: 0 }));
        self.pump(now);
    }

    fn handle_resume_found(&mut self, now: Micros, mut state: Box<ResumableState>) {
        let Phase::Resuming(resume) = &self.phase else {
            // This connection closed (or never asked): the state is not ours to drop.
            self.outputs.push_back(Output::DetachedReturned(state));
            return;
        };
        let (token_ok, seq) = (resume.token == state.token, resume.seq);
        if !token_ok {
            self.outputs.push_back(Output::DetachedReturned(state));
            return self.invalid_session();
        }
        if now >= state.expires_at {
            return self.invalid_session();
        }
        if seq > state.ring.seq_last() {
            let seq_last = state.ring.seq_last();
            return self.close(GatewayError::InvalidSeq { seq, seq_last });
        }
        if !state.ring.covers(seq) {
            return self.invalid_session();
        }
        state.expires_at = Micros::NEVER;
        state.ring.push(Dispatch::new(
            "RESUMED",
            b"{}".to_vec(),
            DispatchScope::User,
            Intents::empty(),
        ));
        self.outputs.push_back(Output::Resumed(Box::new(ReadyInfo {
            session_id: state.session_id,
            user_id: state.user_id,
            shard: state.shard,
            intents: state.intents,
            guild_ids: Vec::new(),
            presence: None,
            large_threshold: state.large_threshold,
        })));
        self.phase = Phase::Live(Box::new(Live {
            state: *state,
            seq_sent: seq,
        }));
        self.pump(now);
    }

    fn handle_dispatch(&mut self, now: Micros, event: &Arc<Dispatch>) {
        let Phase::Live(live) = &mut self.phase else {
            return;
        };
        if !event.visible_to(live.state.intents, live.state.shard) {
            return;
        }
        live.state.ring.push(Arc::clone(event));
        if live.seq_sent + 1 < live.state.ring.seq_first() {
            // The ring dropped an event this connection never received.
            return self.close(GatewayError::SlowConsumer);
        }
        self.pump(now);
    }

    fn handle_dispatch_paced(&mut self, now: Micros, event: Arc<Dispatch>) {
        let Phase::Live(live) = &self.phase else {
            return;
        };
        if !event.visible_to(live.state.intents, live.state.shard) {
            return;
        }
        self.paced_bytes += event.ring_bytes();
        self.paced.push_back(event);
        if self.paced_bytes > PACED_BYTES_MAX {
            return self.close(GatewayError::SlowConsumer);
        }
        self.pump(now);
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

    /// Sends dispatches from the ring while the send window has room.
    fn pump(&mut self, now: Micros) {
        loop {
            let Phase::Live(live) = &mut self.phase else {
                return;
            };
            if live.seq_sent == live.state.ring.seq_last() {
                let Some(next) = self.paced.pop_front() else {
                    self.backlogged_since = None;
                    return;
                };
                // Nothing unsent is in the ring, so whatever this push evicts was sent.
                self.paced_bytes -= next.ring_bytes();
                live.state.ring.push(next);
                debug_assert_eq!(live.seq_sent + 1, live.state.ring.seq_last());
                debug_assert!(live.state.ring.covers(live.seq_sent + 1));
            }
            if self.in_flight_bytes >= self.config.send_window_bytes {
                self.backlogged_since.get_or_insert(now);
                return;
            }
            let seq = live.seq_sent + 1;
            let event = Arc::clone(live.state.ring.get(seq).expect("covered: checked on push"));
            live.seq_sent = seq;
            self.send(Outgoing::Dispatch { seq, event: &event }, false);
        }
    }

    /// op 9 `d:false`; the connection stays open for a fresh Identify.
    fn invalid_session(&mut self) {
        self.phase = Phase::Greeted;
        self.send(Outgoing::Whole(frame::encode_invalid_session(false)), true);
    }

    fn send(&mut self, message: Outgoing<'_>, priority: bool) {
        if let Some(frame) = self.encode_frame(message, priority) {
            self.outputs.push_back(Output::Send(frame));
        }
    }

    /// Encodes one frame and counts it in flight; a compressor failure closes the session.
    fn encode_frame(&mut self, message: Outgoing<'_>, priority: bool) -> Option<OutFrame> {
        match self
            .encoder
            .encode_payload(message, &self.config.compression)
        {
            Ok(bytes) => {
                self.in_flight_bytes += bytes.len();
                Some(OutFrame {
                    bytes,
                    binary: self.encoder.binary(),
                    priority,
                })
            }
            Err(e) => {
                self.close(GatewayError::Compression(e.0));
                None
            }
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

fn op_of(payload: &ClientPayload) -> u64 {
    match payload {
        ClientPayload::Heartbeat { .. } => 1,
        ClientPayload::Identify(_) => 2,
        ClientPayload::PresenceUpdate(_) => 3,
        ClientPayload::VoiceStateUpdate(_) => 4,
        ClientPayload::Resume(_) => 6,
        ClientPayload::RequestGuildMembers(_) => 8,
        ClientPayload::RequestSoundboardSounds(_) => 31,
    }
}
