//! Gateway intents: the bit set a client names in Identify to choose which events it gets.
//!
//! Implements: Discord Gateway v10 "Gateway Intents" and "Privileged Intents". Bits outside
//! `Intents::KNOWN` close with 4013; privileged bits the user was not granted close with 4014.
//!
//! Elsewhere: which intent gates which event is the event producer's knowledge; a
//! `Dispatch` carries the intents that let a session see it (`dispatch.rs`).

/// A set of gateway intents.
///
/// ```
/// use engine::gateway::Intents;
/// let asked = Intents::from_bits(53575421).unwrap(); // discord.py's default
/// assert!(asked.contains(Intents::GUILDS));
/// assert!(asked.privileged().is_empty());
/// assert!(Intents::from_bits(1 << 40).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Intents(u64);

impl Intents {
    pub const GUILDS: Intents = Intents(1 << 0);
    /// Privileged.
    pub const GUILD_MEMBERS: Intents = Intents(1 << 1);
    pub const GUILD_MODERATION: Intents = Intents(1 << 2);
    pub const GUILD_EXPRESSIONS: Intents = Intents(1 << 3);
    pub const GUILD_INTEGRATIONS: Intents = Intents(1 << 4);
    pub const GUILD_WEBHOOKS: Intents = Intents(1 << 5);
    pub const GUILD_INVITES: Intents = Intents(1 << 6);
    pub const GUILD_VOICE_STATES: Intents = Intents(1 << 7);
    /// Privileged.
    pub const GUILD_PRESENCES: Intents = Intents(1 << 8);
    pub const GUILD_MESSAGES: Intents = Intents(1 << 9);
    pub const GUILD_MESSAGE_REACTIONS: Intents = Intents(1 << 10);
    pub const GUILD_MESSAGE_TYPING: Intents = Intents(1 << 11);
    pub const DIRECT_MESSAGES: Intents = Intents(1 << 12);
    pub const DIRECT_MESSAGE_REACTIONS: Intents = Intents(1 << 13);
    pub const DIRECT_MESSAGE_TYPING: Intents = Intents(1 << 14);
    /// Privileged.
    pub const MESSAGE_CONTENT: Intents = Intents(1 << 15);
    pub const GUILD_SCHEDULED_EVENTS: Intents = Intents(1 << 16);
    pub const AUTO_MODERATION_CONFIGURATION: Intents = Intents(1 << 20);
    pub const AUTO_MODERATION_EXECUTION: Intents = Intents(1 << 21);
    pub const GUILD_MESSAGE_POLLS: Intents = Intents(1 << 24);
    pub const DIRECT_MESSAGE_POLLS: Intents = Intents(1 << 25);

    /// Every bit Discord defines (0–16, 20, 21, 24, 25). Bits 17–19 and 22–23 are unassigned.
    pub const KNOWN: Intents = Intents(0x1FFFF | (1 << 20) | (1 << 21) | (1 << 24) | (1 << 25));
    /// The intents a user must be granted: GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT.
    pub const PRIVILEGED: Intents = Intents((1 << 1) | (1 << 8) | (1 << 15));

    /// The empty set.
    pub const fn empty() -> Intents {
        Intents(0)
    }

    /// Parses the number a client sent; `Err` carries the unknown bits (close 4013).
    pub fn from_bits(bits: u64) -> Result<Intents, u64> {
        let unknown = bits & !Intents::KNOWN.0;
        if unknown != 0 {
            return Err(unknown);
        }
        Ok(Intents(bits))
    }

    /// Any bits, unchecked: for sets the server builds itself (for example grants).
    pub const fn from_bits_truncate(bits: u64) -> Intents {
        Intents(bits & Intents::KNOWN.0)
    }

    pub const fn bits(self) -> u64 {
        self.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Intents) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a bit.
    pub const fn intersects(self, other: Intents) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn union(self, other: Intents) -> Intents {
        Intents(self.0 | other.0)
    }

    /// The privileged bits of this set.
    pub const fn privileged(self) -> Intents {
        Intents(self.0 & Intents::PRIVILEGED.0)
    }

    /// The privileged bits asked for but not in `granted` (non-empty: close 4014).
    pub const fn privileged_missing(self, granted: Intents) -> Intents {
        Intents(self.privileged().0 & !granted.0)
    }
}

impl std::ops::BitOr for Intents {
    type Output = Intents;
    fn bitor(self, other: Intents) -> Intents {
        self.union(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bits_are_accepted_and_unassigned_bits_are_reported() {
        assert_eq!(Intents::from_bits(0), Ok(Intents::empty()));
        assert!(Intents::from_bits(Intents::KNOWN.bits()).is_ok());
        for bit in [17u32, 18, 19, 22, 23, 26, 40, 63] {
            assert_eq!(Intents::from_bits(1 << bit), Err(1 << bit), "bit {bit}");
        }
        assert_eq!(Intents::from_bits((1 << 17) | 1), Err(1 << 17));
    }

    #[test]
    fn client_defaults_are_valid() {
        // discord.py default (everything but the privileged three) and all intents.
        let default = Intents::from_bits(53575421).unwrap();
        assert!(default.privileged().is_empty());
        assert_eq!(Intents::from_bits(53608447).unwrap(), Intents::KNOWN);
    }

    #[test]
    fn missing_privileged_intents() {
        let asked = Intents::GUILDS | Intents::GUILD_MEMBERS | Intents::MESSAGE_CONTENT;
        assert_eq!(
            asked.privileged_missing(Intents::PRIVILEGED),
            Intents::empty()
        );
        assert_eq!(
            asked.privileged_missing(Intents::GUILD_MEMBERS),
            Intents::MESSAGE_CONTENT
        );
        assert_eq!(
            asked.privileged_missing(Intents::empty()),
            Intents::GUILD_MEMBERS | Intents::MESSAGE_CONTENT
        );
    }
}
