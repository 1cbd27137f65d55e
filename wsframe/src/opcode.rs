//! The six opcodes RFC 6455 defines (§5.2, §11.8).
//!
//! Values 3–7 and 0xB–0xF are reserved for future use; [`Opcode::from_u4`] refuses them so
//! that a reserved opcode can never reach the rest of the decoder.
//!
//! Invariant: an `Opcode` is always one of the six defined values, and
//! `Opcode::is_control` is true exactly for Close, Ping and Pong (high bit of the nibble).

/// A frame opcode defined by RFC 6455.
///
/// ```
/// use wsframe::Opcode;
///
/// assert_eq!(Opcode::from_u4(0x9), Some(Opcode::Ping));
/// assert!(Opcode::Ping.is_control());
/// assert_eq!(Opcode::from_u4(0x3), None); // reserved
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// 0x0: the next fragment of an open Text or Binary message.
    Continuation = 0x0,
    /// 0x1: the first (or only) frame of a UTF-8 text message.
    Text = 0x1,
    /// 0x2: the first (or only) frame of a binary message.
    Binary = 0x2,
    /// 0x8: the closing handshake.
    Close = 0x8,
    /// 0x9: a keep-alive request; answered with a Pong carrying the same payload.
    Ping = 0x9,
    /// 0xA: the answer to a Ping, or an unsolicited heartbeat.
    Pong = 0xA,
}

impl Opcode {
    /// The opcode for a 4-bit value, or `None` when the value is reserved.
    pub const fn from_u4(value: u8) -> Option<Opcode> {
        match value {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub const fn as_u4(self) -> u8 {
        self as u8
    }

    /// Close, Ping and Pong are control frames: at most 125 payload bytes, never fragmented,
    /// and allowed between the fragments of a data message (§5.5).
    pub const fn is_control(self) -> bool {
        self.as_u4() & 0x8 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nibble_is_defined_or_reserved() {
        for value in 0u8..16 {
            match Opcode::from_u4(value) {
                Some(opcode) => {
                    assert_eq!(opcode.as_u4(), value);
                    assert_eq!(opcode.is_control(), value >= 8);
                }
                None => assert!(matches!(value, 3..=7 | 0xB..=0xF), "{value}"),
            }
        }
    }
}
