//! The voice gateway (v8): the WebSocket a voice client opens to the endpoint that
//! VOICE_SERVER_UPDATE named, to get its SSRC, UDP port and transport key.
//!
//! Sans-IO like the main gateway: `session.rs` is one connection's protocol, fed with
//! text messages and the time; `payload.rs` decodes and encodes its messages;
//! `close_code.rs` names its close codes. The app (`app/voice_gateway.rs`) is the shell:
//! it answers a session's questions (the token, from the guild owner's `VoiceBook`; the
//! SSRC and key, from the core's SFU) and relays speaking and connect events within a
//! channel. The RTP packets themselves never come here: they go to the `sfu` crate
//! through the core's UDP socket.
//!
//! Where it runs: every voice connection of a guild lands on the guild's owner core,
//! because the endpoint VOICE_SERVER_UPDATE names is that core's own voice listener,
//! so a channel's members, their keys and their packets meet on one core.

pub mod close_code;
pub mod payload;
pub mod session;

pub use close_code::VoiceCloseCode;
pub use session::{VoiceInput, VoiceOutput, VoiceSession, VoiceSessionConfig};
