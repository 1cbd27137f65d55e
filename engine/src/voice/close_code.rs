//! Voice gateway close codes: what each one means, and whether the client may resume.
//!
//! Implements: Discord's "Voice Close Event Codes" (4001–4022). discord.py reconnects
//! after 4014 and 4022 only when it was moved, and resumes after 4015
//! (CLIENTS.md §1.8); every other code ends its voice connection.
//!
//! Invariants:
//! - `VoiceCloseCode::code` and `VoiceCloseCode::from_code` are inverse.

/// A close code the voice gateway sends. Numbers and meanings are Discord's.
///
/// ```
/// use engine::voice::VoiceCloseCode;
/// assert_eq!(VoiceCloseCode::SessionTimeout.code(), 4009);
/// assert_eq!(VoiceCloseCode::from_code(4014), Some(VoiceCloseCode::Disconnected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoiceCloseCode {
    /// 4001: an opcode the server does not take from clients.
    UnknownOpcode,
    /// 4002: a payload that is not JSON of the opcode's shape.
    FailedToDecode,
    /// 4003: a message other than Identify, Resume or Heartbeat before Identify.
    NotAuthenticated,
    /// 4004: the voice token is unknown, used, expired or for someone else.
    AuthenticationFailed,
    /// 4005: a second Identify or Resume on an identified connection.
    AlreadyAuthenticated,
    /// 4006: a Resume of a session that no longer exists, or whose missed messages are
    /// no longer buffered.
    SessionNoLongerValid,
    /// 4009: no heartbeat within the window (or no Identify in time).
    SessionTimeout,
    /// 4011: the server (guild) named is not served here.
    ServerNotFound,
    /// 4012: Select Protocol named a protocol other than `udp`.
    UnknownProtocol,
    /// 4014: the user left the channel, was removed or moved away, or the main gateway
    /// session ended. Should not reconnect.
    Disconnected,
    /// 4015: the voice server failed; the client should resume.
    VoiceServerCrashed,
    /// 4016: Select Protocol named an encryption mode this server does not offer.
    UnknownEncryptionMode,
    /// 4020: a malformed request, such as a heartbeat without `t`.
    BadRequest,
    /// 4021: too many messages.
    RateLimited,
    /// 4022: the call ended (the channel was deleted).
    CallTerminated,
}

impl VoiceCloseCode {
    /// Every code, in numeric order.
    pub const ALL: [VoiceCloseCode; 15] = [
        VoiceCloseCode::UnknownOpcode,
        VoiceCloseCode::FailedToDecode,
        VoiceCloseCode::NotAuthenticated,
        VoiceCloseCode::AuthenticationFailed,
        VoiceCloseCode::AlreadyAuthenticated,
        VoiceCloseCode::SessionNoLongerValid,
        VoiceCloseCode::SessionTimeout,
        VoiceCloseCode::ServerNotFound,
        VoiceCloseCode::UnknownProtocol,
        VoiceCloseCode::Disconnected,
        VoiceCloseCode::VoiceServerCrashed,
        VoiceCloseCode::UnknownEncryptionMode,
        VoiceCloseCode::BadRequest,
        VoiceCloseCode::RateLimited,
        VoiceCloseCode::CallTerminated,
    ];

    /// The number on the wire.
    pub const fn code(self) -> u16 {
        match self {
            VoiceCloseCode::UnknownOpcode => 4001,
            VoiceCloseCode::FailedToDecode => 4002,
            VoiceCloseCode::NotAuthenticated => 4003,
            VoiceCloseCode::AuthenticationFailed => 4004,
            VoiceCloseCode::AlreadyAuthenticated => 4005,
            VoiceCloseCode::SessionNoLongerValid => 4006,
            VoiceCloseCode::SessionTimeout => 4009,
            VoiceCloseCode::ServerNotFound => 4011,
            VoiceCloseCode::UnknownProtocol => 4012,
            VoiceCloseCode::Disconnected => 4014,
            VoiceCloseCode::VoiceServerCrashed => 4015,
            VoiceCloseCode::UnknownEncryptionMode => 4016,
            VoiceCloseCode::BadRequest => 4020,
            VoiceCloseCode::RateLimited => 4021,
            VoiceCloseCode::CallTerminated => 4022,
        }
    }

    /// The code for a number, if it is one of Discord's voice close codes.
    pub fn from_code(code: u16) -> Option<VoiceCloseCode> {
        VoiceCloseCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The close frame's reason text.
    pub const fn reason(self) -> &'static str {
        match self {
            VoiceCloseCode::UnknownOpcode => "Unknown opcode",
            VoiceCloseCode::FailedToDecode => "Failed to decode payload",
            VoiceCloseCode::NotAuthenticated => "Not authenticated",
            VoiceCloseCode::AuthenticationFailed => "Authentication failed",
            VoiceCloseCode::AlreadyAuthenticated => "Already authenticated",
            VoiceCloseCode::SessionNoLongerValid => "Session no longer valid",
            VoiceCloseCode::SessionTimeout => "Session timeout",
            VoiceCloseCode::ServerNotFound => "Server not found",
            VoiceCloseCode::UnknownProtocol => "Unknown protocol",
            VoiceCloseCode::Disconnected => "Disconnected",
            VoiceCloseCode::VoiceServerCrashed => "Voice server crashed",
            VoiceCloseCode::UnknownEncryptionMode => "Unknown encryption mode",
            VoiceCloseCode::BadRequest => "Bad request",
            VoiceCloseCode::RateLimited => "Disconnected: rate limited",
            VoiceCloseCode::CallTerminated => "Disconnected: call terminated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::VoiceCloseCode;

    #[test]
    fn codes_round_trip_and_ascend() {
        let mut last = 0;
        for code in VoiceCloseCode::ALL {
            assert!(code.code() > last, "{code:?} out of order");
            last = code.code();
            assert_eq!(VoiceCloseCode::from_code(code.code()), Some(code));
            assert!(!code.reason().is_empty());
        }
        assert_eq!(VoiceCloseCode::from_code(4000), None);
        assert_eq!(VoiceCloseCode::from_code(4013), None);
    }
}
