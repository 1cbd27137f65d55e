//! Everything a client can do wrong, and the close code each mistake earns.
//!
//! One variant per cause. A session that meets one of these emits `Output::Close` with
//! `close_code()` and `reason()`, then ends; it never panics on client input.

use super::close_code::CloseCode;
use super::intents::Intents;
use super::query::{truncate, QueryError};

/// A protocol violation by the client (or a refusal by the server) that closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayError {
    /// The connection query named a version, encoding or compression we do not speak. 4012.
    Query(QueryError),
    /// A client payload over `CLIENT_PAYLOAD_BYTES_MAX` bytes (4096). 4002.
    PayloadTooLarge { len: usize },
    /// Not UTF-8, not JSON, or a field missing or of the wrong type. 4002 with the reason.
    Decode(String),
    /// An opcode a client may not send. 4001.
    UnknownOpcode(u64),
    /// Anything but Heartbeat, Identify or Resume before the session is identified. 4003.
    NotAuthenticated(u64),
    /// Identify or Resume on a connection that already has a session. 4005.
    AlreadyAuthenticated,
    /// The caller said the Identify token is not valid. 4004.
    AuthenticationFailed,
    /// Resume with `seq` beyond the last one we sent. 4007.
    InvalidSeq { seq: u64, seq_last: u64 },
    /// More client payloads than the window allows. 4008.
    RateLimited,
    /// No heartbeat within the heartbeat timeout. 4009.
    SessionTimedOut,
    /// No Identify or Resume within `identify_timeout_ms` of Hello. 4009.
    IdentifyTimedOut { ms: u64 },
    /// `shard` was not `[id, count]` with `id < count` and `0 < count`. 4010.
    InvalidShard { id: u64, count: u64 },
    /// The user has more guilds on this shard than one shard may carry. 4011.
    ShardingRequired { guilds: usize, guilds_max: usize },
    /// `intents` had bits outside the known set. 4013.
    InvalidIntents { unknown_bits: u64 },
    /// Privileged intents the user has not been granted. 4014.
    DisallowedIntents { missing: Intents },
    /// The connection fell too far behind the events sent to it. 4000 (resumable).
    SlowConsumer,
    /// The server asked the client to reconnect (op 7 sent first). 4000 (resumable).
    Reconnect,
    /// The compressor failed (out of memory). 4000.
    Compression(String),
}

impl GatewayError {
    /// The close code the client sees.
    pub fn close_code(&self) -> CloseCode {
        match self {
            GatewayError::Query(_) => CloseCode::InvalidApiVersion,
            GatewayError::PayloadTooLarge { .. } | GatewayError::Decode(_) => {
                CloseCode::DecodeError
            }
            GatewayError::UnknownOpcode(_) => CloseCode::UnknownOpcode,
            GatewayError::NotAuthenticated(_) => CloseCode::NotAuthenticated,
            GatewayError::AlreadyAuthenticated => CloseCode::AlreadyAuthenticated,
            GatewayError::AuthenticationFailed => CloseCode::AuthenticationFailed,
            GatewayError::InvalidSeq { .. } => CloseCode::InvalidSeq,
            GatewayError::RateLimited => CloseCode::RateLimited,
            GatewayError::SessionTimedOut | GatewayError::IdentifyTimedOut { .. } => {
                CloseCode::SessionTimedOut
            }
            GatewayError::InvalidShard { .. } => CloseCode::InvalidShard,
            GatewayError::ShardingRequired { .. } => CloseCode::ShardingRequired,
            GatewayError::InvalidIntents { .. } => CloseCode::InvalidIntents,
            GatewayError::DisallowedIntents { .. } => CloseCode::DisallowedIntents,
            GatewayError::SlowConsumer | GatewayError::Reconnect | GatewayError::Compression(_) => {
                CloseCode::UnknownError
            }
        }
    }

    /// The close frame's reason: says what was wrong, at most 123 bytes (RFC 6455 §5.5).
    pub fn reason(&self) -> String {
        let text = match self {
            GatewayError::Query(e) => e.reason(),
            GatewayError::PayloadTooLarge { len } => {
                format!("payload of {len} bytes exceeds 4096")
            }
            GatewayError::Decode(why) => format!("decode error: {why}"),
            GatewayError::UnknownOpcode(op) => format!("unknown opcode {op}"),
            GatewayError::NotAuthenticated(op) => format!("op {op} before identify"),
            GatewayError::AlreadyAuthenticated => "already authenticated".to_string(),
            GatewayError::AuthenticationFailed => "authentication failed".to_string(),
            GatewayError::InvalidSeq { seq, seq_last } => {
                format!("resume seq {seq} is ahead of the last sent {seq_last}")
            }
            GatewayError::RateLimited => "rate limited: over 120 payloads in 60 s".to_string(),
            GatewayError::SessionTimedOut => "session timed out: no heartbeat".to_string(),
            GatewayError::IdentifyTimedOut { ms } => {
                format!("session timed out: no identify within {ms} ms of hello")
            }
            GatewayError::InvalidShard { id, count } => format!("invalid shard [{id}, {count}]"),
            GatewayError::ShardingRequired { guilds, guilds_max } => {
                format!("sharding required: {guilds} guilds on one shard, max {guilds_max}")
            }
            GatewayError::InvalidIntents { unknown_bits } => {
                format!("invalid intents: unknown bits {unknown_bits:#x}")
            }
            GatewayError::DisallowedIntents { missing } => {
                format!("disallowed intents: {:#x} not granted", missing.bits())
            }
            GatewayError::SlowConsumer => "reconnect: connection fell behind".to_string(),
            GatewayError::Reconnect => "reconnect requested".to_string(),
            GatewayError::Compression(why) => format!("compression failed: {why}"),
        };
        truncate(&text, 123).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fit_a_close_frame() {
        let long = "é".repeat(200);
        for e in [
            GatewayError::Decode(long.clone()),
            GatewayError::Compression(long.clone()),
            GatewayError::Query(QueryError::UnsupportedEncoding(long)),
        ] {
            assert!(e.reason().len() <= 123, "{e:?}");
            assert!(!e.reason().is_empty());
        }
    }

    #[test]
    fn codes() {
        assert_eq!(
            GatewayError::PayloadTooLarge { len: 5000 }
                .close_code()
                .code(),
            4002
        );
        assert_eq!(GatewayError::UnknownOpcode(5).close_code().code(), 4001);
        assert_eq!(GatewayError::SlowConsumer.close_code().code(), 4000);
        assert_eq!(
            GatewayError::ShardingRequired {
                guilds: 1,
                guilds_max: 0
            }
            .close_code()
            .code(),
            4011
        );
    }
}
