//! The permission bit set: every bit Discord documents, as a `Permissions` value.
//!
//! Implements the "Bitwise Permission Flags" table of Discord's `topics/permissions`
//! (bits 0–46 and 48–52; bit 47 was `USE_CLYDE_AI`, withdrawn and no longer documented).
//! Elsewhere: the decimal string form (`decimal.rs`) and the computation (`compute.rs`).
//!
//! Invariant: a `Permissions` never holds a bit outside [`Permissions::ALL`]. Every
//! constructor keeps it (`from_bits_truncate` drops unknown bits, `from_bits` refuses
//! them), so `!p` is the complement within `ALL` and `ALL` is the top of the lattice.

use std::fmt;
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not};

/// A set of Discord permission bits.
///
/// ```
/// use engine::world::permissions::Permissions;
///
/// let p = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
/// assert!(p.contains(Permissions::VIEW_CHANNEL));
/// assert!(!p.contains(Permissions::VIEW_CHANNEL | Permissions::ATTACH_FILES));
/// assert_eq!((p & !Permissions::SEND_MESSAGES), Permissions::VIEW_CHANNEL);
/// assert_eq!(p.to_string(), "3072");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Permissions(u64);

macro_rules! permission_bits {
    ($($(#[$doc:meta])* $name:ident = $shift:literal;)*) => {
        impl Permissions {
            $(
                $(#[$doc])*
                pub const $name: Permissions = Permissions(1 << $shift);
            )*

            /// Every documented permission, one bit each.
            pub const ALL: Permissions = Permissions(0 $(| (1 << $shift))*);

            /// Each documented permission with its Discord name, in bit order.
            pub const NAMED: &'static [(&'static str, Permissions)] =
                &[$((stringify!($name), Permissions(1 << $shift))),*];
        }
    };
}

permission_bits! {
    /// Allows creation of instant invites (T, V, S).
    CREATE_INSTANT_INVITE = 0;
    /// Allows kicking members.
    KICK_MEMBERS = 1;
    /// Allows banning members.
    BAN_MEMBERS = 2;
    /// Allows all permissions and bypasses channel permission overwrites.
    ADMINISTRATOR = 3;
    /// Allows management and editing of channels (T, V, S).
    MANAGE_CHANNELS = 4;
    /// Allows management and editing of the guild.
    MANAGE_GUILD = 5;
    /// Allows adding new reactions to messages (T, V, S).
    ADD_REACTIONS = 6;
    /// Allows viewing the audit log.
    VIEW_AUDIT_LOG = 7;
    /// Allows using priority speaker in a voice channel (V).
    PRIORITY_SPEAKER = 8;
    /// Allows going live (V, S).
    STREAM = 9;
    /// Allows viewing a channel: reading its messages, joining it in voice (T, V, S).
    VIEW_CHANNEL = 10;
    /// Allows sending messages in a channel, not in its threads (T, V, S).
    SEND_MESSAGES = 11;
    /// Allows sending `/tts` messages (T, V, S).
    SEND_TTS_MESSAGES = 12;
    /// Allows deleting other users' messages (T, V, S).
    MANAGE_MESSAGES = 13;
    /// Links sent by this member are auto-embedded (T, V, S).
    EMBED_LINKS = 14;
    /// Allows uploading images and files (T, V, S).
    ATTACH_FILES = 15;
    /// Allows reading message history (T, V, S).
    READ_MESSAGE_HISTORY = 16;
    /// Allows `@everyone` and `@here` mentions (T, V, S).
    MENTION_EVERYONE = 17;
    /// Allows custom emojis from other guilds (T, V, S).
    USE_EXTERNAL_EMOJIS = 18;
    /// Allows viewing guild insights.
    VIEW_GUILD_INSIGHTS = 19;
    /// Allows joining a voice channel (V, S).
    CONNECT = 20;
    /// Allows speaking in a voice channel (V).
    SPEAK = 21;
    /// Allows muting members in voice (V, S).
    MUTE_MEMBERS = 22;
    /// Allows deafening members in voice (V).
    DEAFEN_MEMBERS = 23;
    /// Allows moving members between voice channels (V, S).
    MOVE_MEMBERS = 24;
    /// Allows voice-activity detection (V).
    USE_VAD = 25;
    /// Allows changing one's own nickname.
    CHANGE_NICKNAME = 26;
    /// Allows changing other members' nicknames.
    MANAGE_NICKNAMES = 27;
    /// Allows managing roles; in a channel, its overwrites ("Manage Permissions") (T, V, S).
    MANAGE_ROLES = 28;
    /// Allows managing webhooks (T, V, S).
    MANAGE_WEBHOOKS = 29;
    /// Allows editing and deleting emojis, stickers and sounds created by anyone.
    MANAGE_GUILD_EXPRESSIONS = 30;
    /// Allows using application commands (T, V, S).
    USE_APPLICATION_COMMANDS = 31;
    /// Allows requesting to speak in stage channels (S).
    REQUEST_TO_SPEAK = 32;
    /// Allows editing and deleting scheduled events created by anyone (V, S).
    MANAGE_EVENTS = 33;
    /// Allows deleting and archiving threads and viewing all private threads (T).
    MANAGE_THREADS = 34;
    /// Allows creating public and announcement threads (T).
    CREATE_PUBLIC_THREADS = 35;
    /// Allows creating private threads (T).
    CREATE_PRIVATE_THREADS = 36;
    /// Allows custom stickers from other guilds (T, V, S).
    USE_EXTERNAL_STICKERS = 37;
    /// Allows sending messages in threads (T).
    SEND_MESSAGES_IN_THREADS = 38;
    /// Allows using Activities (T, V).
    USE_EMBEDDED_ACTIVITIES = 39;
    /// Allows timing members out.
    MODERATE_MEMBERS = 40;
    /// Allows viewing role subscription insights.
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 41;
    /// Allows using the soundboard (V).
    USE_SOUNDBOARD = 42;
    /// Allows creating emojis, stickers and sounds, and editing one's own.
    CREATE_GUILD_EXPRESSIONS = 43;
    /// Allows creating scheduled events, and editing one's own (V, S).
    CREATE_EVENTS = 44;
    /// Allows soundboard sounds from other guilds (V).
    USE_EXTERNAL_SOUNDS = 45;
    /// Allows sending voice messages (T, V, S).
    SEND_VOICE_MESSAGES = 46;
    /// Allows setting a voice channel's status (V).
    SET_VOICE_CHANNEL_STATUS = 48;
    /// Allows sending polls (T, V, S).
    SEND_POLLS = 49;
    /// Allows user-installed apps to send public responses (T, V, S).
    USE_EXTERNAL_APPS = 50;
    /// Allows pinning and unpinning messages (T).
    PIN_MESSAGES = 51;
    /// Allows bypassing slow mode (T, V, S).
    BYPASS_SLOWMODE = 52;
}

const _: () = assert!(Permissions::ALL.0.count_ones() as usize == Permissions::NAMED.len());
const _: () = assert!(Permissions::ALL.0 & (1 << 47) == 0);
const _: () = assert!(Permissions::ALL.0 >> 53 == 0);

impl Permissions {
    /// No permission at all.
    pub const NONE: Permissions = Permissions(0);

    /// The set holding exactly `bits`, or `None` if a bit is not a documented permission.
    pub const fn from_bits(bits: u64) -> Option<Permissions> {
        if bits & !Permissions::ALL.0 == 0 {
            Some(Permissions(bits))
        } else {
            None
        }
    }

    /// The documented permissions among `bits`; undocumented bits are dropped, as Discord
    /// ignores permission bits it does not define.
    pub const fn from_bits_truncate(bits: u64) -> Permissions {
        Permissions(bits & Permissions::ALL.0)
    }

    /// The raw bits (what Flux stores and Discord serialises as a decimal string).
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every permission in `other` is in `self`.
    pub const fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share at least one permission.
    pub const fn intersects(self, other: Permissions) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no permission is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self` without the permissions in `other`.
    pub const fn difference(self, other: Permissions) -> Permissions {
        Permissions(self.0 & !other.0)
    }

    /// `self` with the permissions in `other` added.
    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// The names of the permissions set, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Permissions::NAMED
            .iter()
            .filter(move |(_, bit)| self.contains(*bit))
            .map(|(name, _)| *name)
    }
}

impl BitOr for Permissions {
    type Output = Permissions;
    fn bitor(self, other: Permissions) -> Permissions {
        self.union(other)
    }
}

impl BitOrAssign for Permissions {
    fn bitor_assign(&mut self, other: Permissions) {
        *self = *self | other;
    }
}

impl BitAnd for Permissions {
    type Output = Permissions;
    fn bitand(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }
}

impl BitAndAssign for Permissions {
    fn bitand_assign(&mut self, other: Permissions) {
        *self = *self & other;
    }
}

impl Not for Permissions {
    type Output = Permissions;
    /// The complement within [`Permissions::ALL`], so `!Permissions::NONE == ALL`.
    fn not(self) -> Permissions {
        Permissions(!self.0 & Permissions::ALL.0)
    }
}

impl fmt::Debug for Permissions {
    /// `Permissions(VIEW_CHANNEL | SEND_MESSAGES)`, or `Permissions(NONE)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permissions(")?;
        let mut names = self.names().peekable();
        if names.peek().is_none() {
            f.write_str("NONE")?;
        }
        while let Some(name) = names.next() {
            f.write_str(name)?;
            if names.peek().is_some() {
                f.write_str(" | ")?;
            }
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_match_the_documented_values() {
        let table: [(Permissions, u64); 8] = [
            (Permissions::CREATE_INSTANT_INVITE, 0x1),
            (Permissions::ADMINISTRATOR, 0x8),
            (Permissions::VIEW_CHANNEL, 0x400),
            (Permissions::SEND_MESSAGES, 0x800),
            (Permissions::USE_APPLICATION_COMMANDS, 0x8000_0000),
            (Permissions::SEND_MESSAGES_IN_THREADS, 0x40_0000_0000),
            (Permissions::USE_EXTERNAL_APPS, 0x4_0000_0000_0000),
            (Permissions::BYPASS_SLOWMODE, 0x10_0000_0000_0000),
        ];
        for (permission, value) in table {
            assert_eq!(permission.bits(), value, "{permission:?}");
        }
    }

    #[test]
    fn named_table_is_in_bit_order_with_one_bit_each() {
        let mut previous = 0;
        for (name, bit) in Permissions::NAMED {
            assert_eq!(bit.bits().count_ones(), 1, "{name}");
            assert!(bit.bits() > previous, "{name} out of order");
            previous = bit.bits();
        }
        let union = Permissions::NAMED
            .iter()
            .fold(Permissions::NONE, |all, (_, bit)| all | *bit);
        assert_eq!(union, Permissions::ALL);
    }

    #[test]
    fn undocumented_bits_never_enter_a_value() {
        assert_eq!(Permissions::from_bits(1 << 47), None);
        assert_eq!(Permissions::from_bits(1 << 63), None);
        assert_eq!(
            Permissions::from_bits(0x400),
            Some(Permissions::VIEW_CHANNEL)
        );
        assert_eq!(Permissions::from_bits_truncate(u64::MAX), Permissions::ALL);
        assert_eq!(!Permissions::NONE, Permissions::ALL);
        assert_eq!(!Permissions::ALL, Permissions::NONE);
    }

    #[test]
    fn set_operations() {
        let read = Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY;
        assert!(read.contains(Permissions::VIEW_CHANNEL));
        assert!(read.contains(Permissions::NONE));
        assert!(!read.contains(Permissions::ALL));
        assert!(read.intersects(Permissions::VIEW_CHANNEL | Permissions::SPEAK));
        assert!(!read.intersects(Permissions::SPEAK));
        assert_eq!(
            read.difference(Permissions::VIEW_CHANNEL),
            Permissions::READ_MESSAGE_HISTORY
        );
        let mut p = Permissions::NONE;
        p |= Permissions::SPEAK;
        p &= Permissions::SPEAK | Permissions::CONNECT;
        assert_eq!(p, Permissions::SPEAK);
        assert!(Permissions::NONE.is_empty());
    }

    #[test]
    fn debug_names_the_bits() {
        assert_eq!(format!("{:?}", Permissions::NONE), "Permissions(NONE)");
        assert_eq!(
            format!(
                "{:?}",
                Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES
            ),
            "Permissions(VIEW_CHANNEL | SEND_MESSAGES)"
        );
    }
}
