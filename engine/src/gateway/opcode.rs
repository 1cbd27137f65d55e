//! Gateway opcodes: the `op` field of every payload.
//!
//! Implements: Discord Gateway v10 "Gateway Opcodes". The direction matters: a client may
//! send only 1, 2, 3, 4, 6, 8 and 31; anything else from a client is closed with 4001.
//!
//! Elsewhere: decoding each opcode's `d` (`payload.rs`), encoding ours (`frame.rs`).

/// A gateway opcode.
///
/// ```
/// use engine::gateway::Opcode;
/// assert_eq!(Opcode::from_u64(6), Some(Opcode::Resume));
/// assert!(Opcode::Resume.sent_by_client());
/// assert!(!Opcode::Hello.sent_by_client());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0, server → client: an event.
    Dispatch,
    /// 1, both ways: a heartbeat (the server may ask for one).
    Heartbeat,
    /// 2, client → server: start a new session.
    Identify,
    /// 3, client → server: update the client's presence.
    PresenceUpdate,
    /// 4, client → server: join, move or leave a voice channel.
    VoiceStateUpdate,
    /// 6, client → server: continue a session after a reconnect.
    Resume,
    /// 7, server → client: reconnect and resume.
    Reconnect,
    /// 8, client → server: ask for GUILD_MEMBERS_CHUNK events.
    RequestGuildMembers,
    /// 9, server → client: the session is invalid; `d` says whether it is resumable.
    InvalidSession,
    /// 10, server → client: first message, carries `heartbeat_interval`.
    Hello,
    /// 11, server → client: a heartbeat was received.
    HeartbeatAck,
    /// 31, client → server: ask for SOUNDBOARD_SOUNDS events.
    RequestSoundboardSounds,
}

impl Opcode {
    /// The number on the wire.
    pub fn code(self) -> u8 {
        match self {
            Opcode::Dispatch => 0,
            Opcode::Heartbeat => 1,
            Opcode::Identify => 2,
            Opcode::PresenceUpdate => 3,
            Opcode::VoiceStateUpdate => 4,
            Opcode::Resume => 6,
            Opcode::Reconnect => 7,
            Opcode::RequestGuildMembers => 8,
            Opcode::InvalidSession => 9,
            Opcode::Hello => 10,
            Opcode::HeartbeatAck => 11,
            Opcode::RequestSoundboardSounds => 31,
        }
    }

    /// The opcode for a number, if Discord defines one we know.
    pub fn from_u64(op: u64) -> Option<Opcode> {
        Some(match op {
            0 => Opcode::Dispatch,
            1 => Opcode::Heartbeat,
            2 => Opcode::Identify,
            3 => Opcode::PresenceUpdate,
            4 => Opcode::VoiceStateUpdate,
            6 => Opcode::Resume,
            7 => Opcode::Reconnect,
            8 => Opcode::RequestGuildMembers,
            9 => Opcode::InvalidSession,
            10 => Opcode::Hello,
            11 => Opcode::HeartbeatAck,
            31 => Opcode::RequestSoundboardSounds,
            _ => return None,
        })
    }

    /// Whether a client may send this opcode.
    pub fn sent_by_client(self) -> bool {
        matches!(
            self,
            Opcode::Heartbeat
                | Opcode::Identify
                | Opcode::PresenceUpdate
                | Opcode::VoiceStateUpdate
                | Opcode::Resume
                | Opcode::RequestGuildMembers
                | Opcode::RequestSoundboardSounds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_unknown_numbers_are_none() {
        for op in 0..=64u64 {
            match Opcode::from_u64(op) {
                Some(code) => assert_eq!(u64::from(code.code()), op),
                None => assert!(matches!(op, 5 | 12..=30 | 32..), "{op}"),
            }
        }
        assert_eq!(Opcode::from_u64(u64::MAX), None);
    }

    #[test]
    fn client_opcodes() {
        let client: Vec<u8> = (0..=31)
            .filter_map(Opcode::from_u64)
            .filter(|o| o.sent_by_client())
            .map(|o| o.code())
            .collect();
        assert_eq!(client, vec![1, 2, 3, 4, 6, 8, 31]);
    }
}
