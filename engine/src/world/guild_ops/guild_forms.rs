//! The typed requests of the guild object's own routes: `POST /guilds` ([`GuildForm`]),
//! `GET /guilds/{id}` ([`GuildQuery`]) and `PATCH /guilds/{id}` ([`GuildEdit`]).
//!
//! Why typed values: the owner core's operations (`guild_object.rs`) decide with the
//! guild's state and nothing else; reading JSON and URL queries is `rest::guild_bodies`'
//! job, done on the receiving core. What a value holds is already checked for shape
//! (types, lengths, choices); what only the guild can tell (does the AFK channel exist
//! and is it a voice channel, is the new owner a member) is the operation's.
//!
//! Invariant: a field is `None` when the body did not set it (or set it wrongly: then
//! `GuildEdit::faults` says so and the operation answers 50035 before using any field).

use super::FormErrors;
use crate::world::ids::{ChannelId, UserId};
use crate::world::model::Guild;

/// `POST /guilds`: a valid body (a faulty one never becomes a `GuildForm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildForm {
    /// The guild's name, 2–100 characters.
    pub name: String,
    /// The moderation levels the body set.
    pub levels: GuildLevels,
}

/// `GET /guilds/{id}`'s query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuildQuery {
    /// `with_counts=true`: add `approximate_member_count` and
    /// `approximate_presence_count`.
    pub with_counts: bool,
}

/// `PATCH /guilds/{id}`: the fields the body set, and the faults of its shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuildEdit {
    /// New name, 2–100 characters.
    pub name: Option<String>,
    /// New description (`Some(None)`: cleared), at most 120 characters.
    pub description: Option<Option<String>>,
    /// New AFK timeout in seconds, one of Discord's five.
    pub afk_timeout: Option<u32>,
    /// New `preferred_locale`, one of Discord's locales.
    pub preferred_locale: Option<String>,
    /// New AFK channel (`Some(None)`: none); the operation checks it is a voice channel
    /// of the guild.
    pub afk_channel_id: Option<Option<ChannelId>>,
    /// New system channel (`Some(None)`: none); the operation checks it is a text
    /// channel of the guild.
    pub system_channel_id: Option<Option<ChannelId>>,
    /// New owner (a transfer); the operation checks it is a member.
    pub owner_id: Option<UserId>,
    /// The moderation levels the body set.
    pub levels: GuildLevels,
    /// The faults of the body's shape (empty for a valid body).
    pub faults: FormErrors,
}

/// The three moderation levels both create and modify take, each checked against
/// Discord's choices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuildLevels {
    /// `verification_level`, 0–4.
    pub verification: Option<u8>,
    /// `default_message_notifications`, 0–1.
    pub notifications: Option<u8>,
    /// `explicit_content_filter`, 0–2.
    pub content_filter: Option<u8>,
}

impl GuildLevels {
    /// Writes the levels that were set into `guild`.
    pub fn apply(&self, guild: &mut Guild) {
        if let Some(value) = self.verification {
            guild.verification_level = value;
        }
        if let Some(value) = self.notifications {
            guild.default_message_notifications = value;
        }
        if let Some(value) = self.content_filter {
            guild.explicit_content_filter = value;
        }
    }
}
