//! The Discord Gateway v10 session core, sans-IO.
//!
//! A [`Session`] is one WebSocket connection's worth of gateway protocol. It never opens a
//! socket and never reads a clock: the shell (the reactor) feeds it client messages, socket
//! events and `now` through [`Session::handle`], and drains [`Session::poll`] for frames to
//! write, closes, wake-up deadlines, and questions for the caller (is this token valid?
//! where is the session this client wants to resume?). The caller answers questions with
//! more inputs. Because time is an input, tests run a full heartbeat timeout in
//! microseconds.
//!
//! Implements: Discord Gateway v10 as the real clients use it (`shared/compat/CLIENTS.md`):
//! connection query, opcodes 0–11 and 31, close codes 4000–4014, intents, gateway sharding,
//! the replay ring and Resume, identify rate limits, zlib-stream and zstd-stream.
//! Elsewhere: HTTP/WebSocket framing and sockets (reactor), users, guilds and event
//! production (world), `GET /gateway/bot` (REST, using [`IdentifyLimiter`] for
//! `session_start_limit`).
//!
//! # Session life cycle
//!
//! ```text
//!            Session::new(query)
//!                   │ query not v=10 / json / known compress ──► Close 4012 ──► Ended
//!                   ▼
//!            ┌─ Greeted ◄──────────────── op 9 d:false (unknown session, wrong token,
//!            │  (Hello sent;               seq older than the ring, expired, identify
//!            │   heartbeats ACKed in        rate-limited): the client may try again
//!            │   every state)
//!   op 2 ────┤                                        op 6 ─────┐
//!            ▼                                                  ▼
//!      Authenticating ── Output::Authenticate          Resuming ── Output::Resume
//!            │  Input::Identified                           │  Input::ResumeFound(state)
//!            │  (4004 bad token, 4014 privileged,           │  (4007 seq ahead of ring)
//!            │   4011 too many guilds)                      │
//!            ▼                                              ▼
//!          Live ◄──────────── replay seq > client's, RESUMED ─┘
//!   READY, dispatches (s = 1, 2, ...), ops 3/4/8/31 → outputs
//!            │
//!            │ client closes (not 1000/1001), socket drops,
//!            │ server closes with a resumable code (4000 reconnect / slow consumer,
//!            │ 4001-4003, 4005, 4008)
//!            ▼
//!          Ended{resumable} ── Session::into_resumable(now) ──► Detached (ResumableState)
//!            │                                                    │ keeps taking dispatches
//!            │ 1000/1001 from the client, 4009 zombie,            │ into its replay ring
//!            │ 4007, 4004, 4010-4014                               │
//!            ▼                                                    ▼
//!          Gone                              Resume moves it into a new Session, or
//!                                            expires_at passes (detached_ttl_ms) ──► Gone
//! ```
//!
//! # Driving a session (what the reactor does)
//!
//! ```
//! use std::sync::Arc;
//! use engine::gateway::*;
//!
//! let config = Arc::new(SessionConfig::default());
//! let mut now = Micros(0);
//! // On WebSocket upgrade of GET /?v=10&encoding=json:
//! let mut session = Session::new(config, "/?v=10&encoding=json", now);
//! let mut wire = Vec::new(); // stands in for the socket's write queue
//! let mut drain = |session: &mut Session, wire: &mut Vec<OutFrame>| {
//!     let mut ended = None;
//!     while let Some(output) = session.poll() {
//!         match output {
//!             Output::Send(frame) => wire.push(frame), // TEXT or BINARY; keep the order
//!             Output::Close { code, reason } => { let _ = (code, reason); }
//!             Output::WakeAt(_deadline) => {}          // arm the connection's timer
//!             Output::Authenticate(req) => assert_eq!(req.token, "tok"),
//!             Output::SessionEnded { resumable } => ended = Some(resumable),
//!             _ => {}
//!         }
//!     }
//!     ended
//! };
//! drain(&mut session, &mut wire); // Hello
//! now = now.plus_ms(5);
//! session.handle(now, Input::Message(br#"{"op":2,"d":{"token":"Bot tok","properties":{},"intents":513}}"#));
//! drain(&mut session, &mut wire); // Output::Authenticate
//! // The caller checks the token and the IdentifyLimiter, then answers:
//! session.handle(now, Input::Identified(Box::new(Identity {
//!     user_id: 5,
//!     user_json: r#"{"id":"5","username":"bot","discriminator":"0","avatar":null,"mfa_enabled":false}"#.into(),
//!     application_id: 5,
//!     application_flags: 0,
//!     privileged_intents_granted: Intents::empty(),
//!     guild_ids: vec![1 << 22],
//!     session_nonce: 0x1234,
//! })));
//! drain(&mut session, &mut wire); // READY, Output::Ready
//! // Events for the session's guilds, serialised once per core:
//! let event = Dispatch::new("GUILD_CREATE", br#"{"id":"4194304"}"#.to_vec(),
//!     DispatchScope::Guild(1 << 22), Intents::GUILDS);
//! session.handle(now, Input::Dispatch(&event));
//! drain(&mut session, &mut wire);
//! // After the socket accepted bytes: Input::Written { bytes } (opens the send window).
//! // When a WakeAt deadline passes: Input::Tick. When the socket closes:
//! assert_eq!(drain(&mut session, &mut wire), None);
//! session.handle(now, Input::SocketClosed { code: Some(4000) });
//! assert_eq!(drain(&mut session, &mut wire), Some(true));
//! let detached = session.into_resumable(now).expect("4000 keeps the session");
//! assert_eq!(detached.seq_last(), 2); // READY = 1, GUILD_CREATE = 2
//! ```
//!
//! The session is `session.rs` (its state and life cycle; start reading there) and
//! `session/`: `config.rs`, `input_output.rs` (what the shell feeds and drains),
//! `resumable.rs` (what survives a reconnect), `client_message.rs` (the client's ops),
//! `identify_resume.rs` (READY and RESUMED), `flow_control.rs` (dispatches and the send
//! window).
//!
//! Fuzzing: `cd engine/fuzz && cargo +nightly fuzz run gateway_payload`.
#![forbid(unsafe_code)]

mod close_code;
mod compress;
mod dispatch;
mod error;
mod frame;
mod heartbeat;
mod identify_limit;
mod intents;
mod opcode;
mod payload;
mod query;
mod rate_limit;
mod ready;
mod replay;
mod session;
mod session_id;
mod time;

pub use close_code::{client_close_keeps_session, CloseCode};
pub use compress::{
    append_stored, deflate_piece, CompressError, CompressionConfig, Encoder, Outgoing, ZlibMode,
    ZLIB_HEADER, ZLIB_SYNC_FLUSH_SUFFIX,
};
pub use dispatch::{Dispatch, DispatchScope};
pub use error::GatewayError;
pub use frame::{
    encode_dispatch, encode_dispatch_prefix, encode_heartbeat, encode_hello,
    encode_invalid_session, DispatchRun, DISPATCH_FRAME_OVERHEAD_MAX, HEARTBEAT_ACK, RECONNECT,
};
pub use heartbeat::Heartbeat;
pub use identify_limit::{
    IdentifyLimitConfig, IdentifyLimiter, IdentifyRefusal, SessionStartLimit,
};
pub use intents::Intents;
pub use opcode::Opcode;
pub use payload::{
    decode_client_payload, strip_bot_prefix, Activity, ClientPayload, ConnectionProperties,
    GatewayShard, Identify, PresenceUpdate, RequestGuildMembers, RequestSoundboardSounds, Resume,
    Status, VoiceStateUpdate, CLIENT_PAYLOAD_BYTES_MAX, LARGE_THRESHOLD_RANGE,
    MEMBER_REQUEST_NONCE_BYTES_MAX, MEMBER_REQUEST_USER_IDS_MAX,
};
pub use query::{parse_connect_query, ConnectQuery, QueryError, TransportCompression};
pub use rate_limit::CommandLimiter;
pub use replay::{ReplayRing, RunEvents};
pub use session::{
    AuthenticateRequest, Identity, Input, OutFrame, Output, ReadyInfo, ResumableState, Session,
    SessionConfig, PACED_BYTES_MAX,
};
pub use session_id::SessionId;
pub use time::Micros;
