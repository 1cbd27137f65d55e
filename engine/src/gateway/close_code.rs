//! Gateway close codes: what each one means and what the client may do next.
//!
//! Implements: Discord Gateway v10 "Gateway Close Event Codes" (4000–4014), and the rule for
//! codes the *client* closes with (CLIENTS.md §1.7, §2): 1000/1001 end the session, anything
//! else (4000 from discord.py, 4200 from discord.js, an abnormal drop) keeps it resumable.
//!
//! Elsewhere: which code a given protocol violation earns lives in `error.rs`; sending the
//! close frame is the shell's job.
//!
//! Invariants:
//! - `CloseCode::code` and `CloseCode::from_code` are inverse on 4000..=4014.
//! - A code with `may_reconnect() == false` also has `session_resumable() == false`.

/// A close code the server sends. Numbers and meanings are Discord's.
///
/// ```
/// use engine::gateway::CloseCode;
/// assert_eq!(CloseCode::SessionTimedOut.code(), 4009);
/// assert!(!CloseCode::SessionTimedOut.session_resumable());
/// assert!(!CloseCode::AuthenticationFailed.may_reconnect());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 4000: something went wrong on our side (also: slow consumer, server-asked reconnect).
    UnknownError,
    /// 4001: the client sent an opcode we do not accept from clients.
    UnknownOpcode,
    /// 4002: the payload was not valid JSON, had a missing or ill-typed field, or exceeded
    /// 4096 bytes.
    DecodeError,
    /// 4003: an op other than Heartbeat, Identify or Resume before the session was identified.
    NotAuthenticated,
    /// 4004: the token in Identify is not valid.
    AuthenticationFailed,
    /// 4005: a second Identify (or a Resume) on an identified connection.
    AlreadyAuthenticated,
    /// 4006: defined by old Discord docs as "invalid session"; Discord no longer sends it and
    /// neither does Flux (it exists so every number 4000..=4014 round-trips).
    InvalidSessionUnused,
    /// 4007: Resume with a sequence number ahead of anything we sent.
    InvalidSeq,
    /// 4008: more than the allowed client payloads per window (120 per 60 s).
    RateLimited,
    /// 4009: the client missed its heartbeat window; the session is gone and a Resume gets
    /// op 9 `d:false`.
    SessionTimedOut,
    /// 4010: `shard` in Identify is not `[id, count]` with `id < count`, `count > 0`.
    InvalidShard,
    /// 4011: the user is in more guilds than one gateway shard may carry.
    ShardingRequired,
    /// 4012: unsupported `v`, `encoding` or `compress` in the connection query.
    InvalidApiVersion,
    /// 4013: `intents` has bits outside the known set.
    InvalidIntents,
    /// 4014: a privileged intent the user has not been granted.
    DisallowedIntents,
}

impl CloseCode {
    /// Every code, in numeric order.
    pub const ALL: [CloseCode; 15] = [
        CloseCode::UnknownError,
        CloseCode::UnknownOpcode,
        CloseCode::DecodeError,
        CloseCode::NotAuthenticated,
        CloseCode::AuthenticationFailed,
        CloseCode::AlreadyAuthenticated,
        CloseCode::InvalidSessionUnused,
        CloseCode::InvalidSeq,
        CloseCode::RateLimited,
        CloseCode::SessionTimedOut,
        CloseCode::InvalidShard,
        CloseCode::ShardingRequired,
        CloseCode::InvalidApiVersion,
        CloseCode::InvalidIntents,
        CloseCode::DisallowedIntents,
    ];

    /// The number on the wire.
    pub fn code(self) -> u16 {
        4000 + CloseCode::ALL
            .iter()
            .position(|c| *c == self)
            .expect("ALL lists every variant") as u16
    }

    /// The code for a number, if it is one of Discord's 4000..=4014.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        let index = code.checked_sub(4000)? as usize;
        CloseCode::ALL.get(index).copied()
    }

    /// Discord's documented meaning, usable as the close frame's reason.
    pub fn meaning(self) -> &'static str {
        match self {
            CloseCode::UnknownError => "unknown error",
            CloseCode::UnknownOpcode => "unknown opcode",
            CloseCode::DecodeError => "decode error",
            CloseCode::NotAuthenticated => "not authenticated",
            CloseCode::AuthenticationFailed => "authentication failed",
            CloseCode::AlreadyAuthenticated => "already authenticated",
            CloseCode::InvalidSessionUnused => "invalid session",
            CloseCode::InvalidSeq => "invalid seq",
            CloseCode::RateLimited => "rate limited",
            CloseCode::SessionTimedOut => "session timed out",
            CloseCode::InvalidShard => "invalid shard",
            CloseCode::ShardingRequired => "sharding required",
            CloseCode::InvalidApiVersion => "invalid API version",
            CloseCode::InvalidIntents => "invalid intent(s)",
            CloseCode::DisallowedIntents => "disallowed intent(s)",
        }
    }

    /// Whether Discord documents that a client may reconnect after this code. Clients that
    /// follow the docs stop for good on 4004, 4010, 4011, 4012, 4013 and 4014.
    pub fn may_reconnect(self) -> bool {
        !matches!(
            self,
            CloseCode::AuthenticationFailed
                | CloseCode::InvalidShard
                | CloseCode::ShardingRequired
                | CloseCode::InvalidApiVersion
                | CloseCode::InvalidIntents
                | CloseCode::DisallowedIntents
        )
    }

    /// Whether the session survives this close so that a Resume can pick it up. 4007 and
    /// 4009 kill it (a Resume gets op 9 `d:false`), as do the codes that forbid reconnecting.
    pub fn session_resumable(self) -> bool {
        self.may_reconnect() && !matches!(self, CloseCode::InvalidSeq | CloseCode::SessionTimedOut)
    }
}

/// Whether a close *from the client* with `code` (None: no close frame, the TCP connection
/// just dropped) keeps the session resumable. Discord's rule, which the clients rely on:
/// 1000 and 1001 end the session; anything else keeps it (discord.py closes with 4000 even on
/// `client.close()`, discord.js with 4200 before resuming).
///
/// ```
/// use engine::gateway::client_close_keeps_session;
/// assert!(!client_close_keeps_session(Some(1000)));
/// assert!(client_close_keeps_session(Some(4200)));
/// assert!(client_close_keeps_session(None));
/// ```
pub fn client_close_keeps_session(code: Option<u16>) -> bool {
    !matches!(code, Some(1000) | Some(1001))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_number() {
        for (i, code) in CloseCode::ALL.iter().enumerate() {
            assert_eq!(code.code(), 4000 + i as u16);
            assert_eq!(CloseCode::from_code(code.code()), Some(*code));
        }
        assert_eq!(CloseCode::from_code(3999), None);
        assert_eq!(CloseCode::from_code(4015), None);
        assert_eq!(CloseCode::from_code(0), None);
    }

    #[test]
    fn fatal_codes_match_what_discord_py_refuses_to_reconnect_on() {
        let fatal: Vec<u16> = CloseCode::ALL
            .iter()
            .filter(|c| !c.may_reconnect())
            .map(|c| c.code())
            .collect();
        assert_eq!(fatal, vec![4004, 4010, 4011, 4012, 4013, 4014]);
    }

    #[test]
    fn resumable_codes_exclude_invalid_seq_and_timeout() {
        for code in CloseCode::ALL {
            if !code.may_reconnect() {
                assert!(!code.session_resumable(), "{code:?}");
            }
        }
        assert!(!CloseCode::InvalidSeq.session_resumable());
        assert!(!CloseCode::SessionTimedOut.session_resumable());
        assert!(CloseCode::UnknownError.session_resumable());
        assert!(CloseCode::RateLimited.session_resumable());
        assert!(CloseCode::DecodeError.session_resumable());
    }

    #[test]
    fn client_close_rule() {
        for (code, keeps) in [
            (Some(1000), false),
            (Some(1001), false),
            (Some(4000), true),
            (Some(4200), true),
            (Some(1006), true),
            (Some(1011), true),
            (None, true),
        ] {
            assert_eq!(client_close_keeps_session(code), keeps, "{code:?}");
        }
    }

    #[test]
    fn meanings_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for code in CloseCode::ALL {
            assert!(seen.insert(code.meaning()), "{code:?}");
        }
    }
}
