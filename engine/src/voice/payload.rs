//! Voice gateway messages: decoding what a client sends, encoding what the server sends.
//!
//! Implements: Discord's voice gateway v8 opcodes 0 Identify, 1 Select Protocol,
//! 3 Heartbeat (v8's `{t, seq_ack}` and the older bare nonce), 5 Speaking, 7 Resume and
//! 12 Client Connect from clients; 2 Ready, 4 Session Description, 5 Speaking, 6 Heartbeat
//! ACK, 8 Hello, 9 Resumed, 11 Clients Connect and 13 Client Disconnect from the server.
//! Ids arrive as strings or numbers (discord.py sends strings, some clients numbers).
//!
//! Elsewhere: which opcode is allowed when is the session's rule (`session.rs`).
//! The DAVE opcodes (21–31) are never offered: Session Description says
//! `dave_protocol_version: 0`, so a client sends none of them, and one that does gets
//! 4001 like any opcode the server does not take.
//!
//! Invariants:
//! - `decode_client` never panics: every malformed message is a `VoiceDecodeError`,
//!   which the session answers with its close code (property-tested and fuzzed).

use serde::Deserialize;
use serde_json::{json, Value};

use super::VoiceCloseCode;

/// The encryption modes Flux offers, in the order Ready lists them: clients pick the
/// first they support (discord.py supports only the first).
pub const MODES: [&str; 2] = ["aead_xchacha20_poly1305_rtpsize", "aead_aes256_gcm_rtpsize"];

/// One message from a voice client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceClientMessage {
    /// op 0.
    Identify(VoiceIdentify),
    /// op 1.
    SelectProtocol(SelectProtocol),
    /// op 3: `t` is echoed in the ACK; `seq_ack` is the last numbered message seen.
    Heartbeat {
        /// The client's nonce, echoed in op 6.
        t: u64,
        /// The last sequence number the client saw (`None`: none, or a pre-v8 heartbeat).
        seq_ack: Option<u64>,
        /// The pre-v8 form: a bare integer, answered as a bare integer.
        bare: bool,
    },
    /// op 5: the client's speaking flags (a bit mask since v4; `true`/`false` before).
    Speaking {
        /// Microphone (1), soundshare (2), priority (4).
        speaking: u32,
        /// The SSRC the client sends with.
        ssrc: u32,
    },
    /// op 7.
    Resume(VoiceResume),
    /// op 12 (discord.py sends `{audio_ssrc}` after it connects): nothing to do.
    ClientConnect,
}

/// op 0 Identify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceIdentify {
    /// The guild id.
    pub server_id: u64,
    /// The user id.
    pub user_id: u64,
    /// The main gateway session's id (from VOICE_STATE_UPDATE).
    pub session_id: String,
    /// The voice token (from VOICE_SERVER_UPDATE).
    pub token: String,
}

/// op 1 Select Protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectProtocol {
    /// Must be `udp`.
    pub protocol: String,
    /// The client's address as IP discovery told it.
    pub address: String,
    /// The client's UDP port.
    pub port: u16,
    /// The encryption mode chosen from Ready's `modes`.
    pub mode: String,
}

/// op 7 Resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceResume {
    /// The guild id.
    pub server_id: u64,
    /// The main gateway session's id.
    pub session_id: String,
    /// The voice token the connection identified with.
    pub token: String,
    /// The last sequence number the client saw (`None`: none).
    pub seq_ack: Option<u64>,
}

/// Why a client message was refused: the close code says which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceDecodeError {
    /// The code to close with.
    pub close: VoiceCloseCode,
    /// What was wrong (for the log).
    pub detail: String,
}

impl VoiceDecodeError {
    fn decode(detail: impl ToString) -> VoiceDecodeError {
        VoiceDecodeError {
            close: VoiceCloseCode::FailedToDecode,
            detail: detail.to_string(),
        }
    }
}

/// Decodes one text message from a voice client.
///
/// ```
/// use engine::voice::payload::{decode_client, VoiceClientMessage};
/// let heartbeat = decode_client(br#"{"op":3,"d":{"t":17,"seq_ack":4}}"#).unwrap();
/// assert_eq!(heartbeat, VoiceClientMessage::Heartbeat { t: 17, seq_ack: Some(4), bare: false });
/// assert!(decode_client(b"{").is_err());
/// ```
pub fn decode_client(bytes: &[u8]) -> Result<VoiceClientMessage, VoiceDecodeError> {
    #[derive(Deserialize)]
    struct Envelope {
        op: u64,
        #[serde(default)]
        d: Value,
    }
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(VoiceDecodeError::decode)?;
    let d = envelope.d;
    match envelope.op {
        0 => {
            let wire: IdentifyWire = parse_d(d)?;
            Ok(VoiceClientMessage::Identify(VoiceIdentify {
                server_id: wire.server_id.0,
                user_id: wire.user_id.0,
                session_id: wire.session_id,
                token: wire.token,
            }))
        }
        1 => {
            let wire: SelectWire = parse_d(d)?;
            Ok(VoiceClientMessage::SelectProtocol(SelectProtocol {
                protocol: wire.protocol,
                address: wire.data.address,
                port: wire.data.port,
                mode: wire.data.mode,
            }))
        }
        3 => heartbeat(d),
        5 => {
            let wire: SpeakingWire = parse_d(d)?;
            Ok(VoiceClientMessage::Speaking {
                speaking: wire.speaking.0,
                ssrc: wire.ssrc,
            })
        }
        7 => {
            let wire: ResumeWire = parse_d(d)?;
            Ok(VoiceClientMessage::Resume(VoiceResume {
                server_id: wire.server_id.0,
                session_id: wire.session_id,
                token: wire.token,
                seq_ack: wire.seq_ack.and_then(|s| u64::try_from(s).ok()),
            }))
        }
        12 => Ok(VoiceClientMessage::ClientConnect),
        op => Err(VoiceDecodeError {
            close: VoiceCloseCode::UnknownOpcode,
            detail: format!("opcode {op} is not taken from clients"),
        }),
    }
}

/// op 8 Hello.
pub fn encode_hello(heartbeat_interval_ms: u64) -> String {
    json!({"op": 8, "d": {"heartbeat_interval": heartbeat_interval_ms, "v": 8}}).to_string()
}

/// op 2 Ready: where to send UDP, and the modes offered.
pub fn encode_ready(ssrc: u32, ip: &str, port: u16) -> String {
    json!({"op": 2, "d": {
        "ssrc": ssrc,
        "ip": ip,
        "port": port,
        "modes": MODES,
        "experiments": [],
    }})
    .to_string()
}

/// op 4 Session Description: the mode and the 32-byte key, without DAVE.
pub fn encode_session_description(mode: &str, secret_key: &[u8; 32]) -> String {
    json!({"op": 4, "d": {
        "mode": mode,
        "secret_key": secret_key,
        "audio_codec": "opus",
        "video_codec": null,
        "media_session_id": null,
        "dave_protocol_version": 0,
    }})
    .to_string()
}

/// op 6 Heartbeat ACK, in the form the heartbeat came in.
pub fn encode_heartbeat_ack(t: u64, bare: bool) -> String {
    if bare {
        json!({"op": 6, "d": t}).to_string()
    } else {
        json!({"op": 6, "d": {"t": t}}).to_string()
    }
}

/// op 9 Resumed.
pub fn encode_resumed() -> String {
    json!({"op": 9, "d": null}).to_string()
}

/// A numbered message (v8 buffers these for Resume): op 5, 11 or 13 with its `seq`.
pub fn encode_numbered(op: u8, d: &Value, seq: u64) -> String {
    json!({"op": op, "d": d, "seq": seq}).to_string()
}

/// A snowflake as JSON sends it: a decimal string or a number.
#[derive(Debug)]
struct Id(u64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(u64),
            Text(String),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Number(n) => Ok(Id(n)),
            Wire::Text(text) => text
                .parse::<snowflake::Snowflake>()
                .map(|id| Id(id.get()))
                .map_err(|_| serde::de::Error::custom("an id is a decimal snowflake")),
        }
    }
}

/// Speaking flags as a number (v4+) or a boolean (older clients).
#[derive(Debug)]
struct Flags(u32);

impl<'de> Deserialize<'de> for Flags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Flags, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(u32),
            Bool(bool),
        }
        Ok(Flags(match Wire::deserialize(deserializer)? {
            Wire::Number(n) => n,
            Wire::Bool(b) => u32::from(b),
        }))
    }
}

#[derive(Deserialize)]
struct IdentifyWire {
    server_id: Id,
    user_id: Id,
    session_id: String,
    token: String,
}

#[derive(Deserialize)]
struct SelectWire {
    protocol: String,
    data: SelectDataWire,
}

#[derive(Deserialize)]
struct SelectDataWire {
    address: String,
    port: u16,
    mode: String,
}

#[derive(Deserialize)]
struct SpeakingWire {
    speaking: Flags,
    ssrc: u32,
}

#[derive(Deserialize)]
struct ResumeWire {
    server_id: Id,
    session_id: String,
    token: String,
    #[serde(default)]
    seq_ack: Option<i64>,
}

fn parse_d<T: serde::de::DeserializeOwned>(d: Value) -> Result<T, VoiceDecodeError> {
    serde_json::from_value(d).map_err(VoiceDecodeError::decode)
}

/// op 3: `{t, seq_ack}` since v8, a bare nonce before; anything else is 4020.
fn heartbeat(d: Value) -> Result<VoiceClientMessage, VoiceDecodeError> {
    let bad = || VoiceDecodeError {
        close: VoiceCloseCode::BadRequest,
        detail: "a heartbeat carries an integer nonce".into(),
    };
    match d {
        Value::Number(n) => Ok(VoiceClientMessage::Heartbeat {
            t: n.as_u64().ok_or_else(bad)?,
            seq_ack: None,
            bare: true,
        }),
        Value::Object(object) => {
            let t = object.get("t").and_then(Value::as_u64).ok_or_else(bad)?;
            let seq_ack = object
                .get("seq_ack")
                .and_then(Value::as_i64)
                .and_then(|s| u64::try_from(s).ok());
            Ok(VoiceClientMessage::Heartbeat {
                t,
                seq_ack,
                bare: false,
            })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests;
