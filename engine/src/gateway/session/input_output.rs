//! What goes into a session and what comes out of it: `Input`, `Output`, the `OutFrame`s to
//! write, and the questions the session asks its caller with their answers (`Identity`,
//! `AuthenticateRequest`, `ReadyInfo`).
//!
//! Why a file of its own: this is the whole surface between the sans-IO session and its
//! shell (the reactor and the application). A reader who wants to drive a session needs
//! this file and `Session::handle`/`Session::poll`, not the state machine behind them.
//!
//! Invariants a shell must keep: the order of one connection's `Output::Send`s on the wire,
//! and one answer per question (`Authenticate`, `Resume`).

use std::sync::Arc;

use super::ResumableState;
use crate::gateway::close_code::CloseCode;
use crate::gateway::dispatch::Dispatch;
use crate::gateway::intents::Intents;
use crate::gateway::payload::{
    GatewayShard, PresenceUpdate, RequestGuildMembers, RequestSoundboardSounds, VoiceStateUpdate,
};
use crate::gateway::session_id::SessionId;
use crate::gateway::time::Micros;
use crate::reactor::Payload;

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
    /// The token this session authenticated with (or resumes with) was revoked (logout):
    /// closes 4004, and the session cannot be resumed.
    TokenRevoked,
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
