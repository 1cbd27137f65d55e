//! Session ids: 32 lowercase hex digits with the owning core in the first four.
//!
//! A Resume may land on any core (SO_REUSEPORT spreads connections), but the detached
//! session lives on the core that created it. Putting the core index in the id lets the
//! receiving core forward the lookup without a shared table.
//!
//! Layout: `cccc` (core index, u16) then 28 hex digits (112 random bits the caller supplies;
//! the session core reads no randomness itself). Clients treat the id as an opaque string.
//!
//! Invariants: `parse(format(id)) == id`; `parse` accepts exactly 32 ASCII hex digits.

use std::fmt;

/// Identifies one gateway session across reconnects.
///
/// ```
/// use engine::gateway::SessionId;
/// let id = SessionId::new(3, 0xdead_beef);
/// let text = id.to_string();
/// assert_eq!(text.len(), 32);
/// assert_eq!(SessionId::parse(&text), Some(id));
/// assert_eq!(id.core(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId {
    core: u16,
    nonce: u128,
}

const NONCE_BITS: u32 = 112;
const NONCE_MASK: u128 = (1 << NONCE_BITS) - 1;

impl SessionId {
    /// A session id for `core` from caller-supplied randomness (only the low 112 bits are used).
    pub fn new(core: u16, random: u128) -> SessionId {
        SessionId {
            core,
            nonce: random & NONCE_MASK,
        }
    }

    /// The core that owns the session.
    pub fn core(self) -> u16 {
        self.core
    }

    /// Parses a client-supplied id; `None` for anything but 32 hex digits.
    pub fn parse(text: &str) -> Option<SessionId> {
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let value = u128::from_str_radix(text, 16).ok()?;
        Some(SessionId {
            core: (value >> NONCE_BITS) as u16,
            nonce: value & NONCE_MASK,
        })
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = (u128::from(self.core) << NONCE_BITS) | self.nonce;
        write!(f, "{value:032x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_anything_but_32_hex_digits() {
        for bad in [
            "",
            "abc",
            &"g".repeat(32),
            &"0".repeat(31),
            &"0".repeat(33),
            "+0000000000000000000000000000000",
        ] {
            assert_eq!(SessionId::parse(bad), None, "{bad:?}");
        }
        assert!(SessionId::parse(&"F".repeat(32)).is_some());
    }

    proptest! {
        #[test]
        fn round_trips(core: u16, random: u128) {
            let id = SessionId::new(core, random);
            let text = id.to_string();
            prop_assert_eq!(text.len(), 32);
            prop_assert_eq!(SessionId::parse(&text), Some(id));
            prop_assert_eq!(id.core(), core);
        }

        #[test]
        fn parse_never_panics(text in ".{0,40}") {
            let _ = SessionId::parse(&text);
        }
    }
}
