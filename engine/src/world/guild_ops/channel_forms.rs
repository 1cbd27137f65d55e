//! The typed requests of the channel, position, overwrite and thread routes:
//! `POST /guilds/{id}/channels` ([`ChannelForm`]), `PATCH /guilds/{id}/channels`
//! ([`ChannelPositions`]), `PATCH /channels/{id}` ([`ChannelEdit`]),
//! `PUT /channels/{id}/permissions/{overwrite.id}` ([`OverwriteForm`]) and the two
//! thread starts ([`ThreadForm`]).
//!
//! Why typed values: reading JSON is `rest::channel_bodies`' job on the receiving core;
//! the operations (`channels.rs`, `threads.rs`) decide with the guild alone. A value is
//! checked for shape; what needs the guild stays with the operation: a `parent_id` must
//! be a category of the guild, an overwrite of type 0 must name one of its roles, a
//! positions entry must name one of its channels, and a channel's `type` cannot change.
//! Those faults join the shape faults (`faults`) in one 50035, as on Discord.
//!
//! Invariant: a field is `None` when the body did not set it, or set it wrongly (then
//! `faults` names it and the operation answers 50035 before using any field).

use super::FormErrors;
use crate::world::ids::ChannelId;
use crate::world::permissions::Permissions;
use crate::world::Refusal;

/// The fields a channel create and a channel modify share, checked for shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelFields {
    /// 1–100 characters, not only whitespace.
    pub name: Option<String>,
    /// Sorting position.
    pub position: Option<i32>,
    /// Age-restricted.
    pub nsfw: Option<bool>,
    /// Category (`Some(None)`: none); the operation checks it is one of the guild's.
    pub parent_id: Option<Option<ChannelId>>,
    /// `permission_overwrites` (`null` is an empty list); the operation checks the roles.
    pub overwrites: Option<Vec<OverwriteEntry>>,
    /// Text channels: topic, at most 1024 characters (`Some(None)`: cleared).
    pub topic: Option<Option<String>>,
    /// Text channels: slow mode in seconds (`null` is 0).
    pub rate_limit_per_user: Option<u32>,
    /// Text channels: the default auto-archive duration of new threads, in minutes.
    pub default_auto_archive_duration: Option<u32>,
    /// Voice channels: bitrate (`null` is 64000).
    pub bitrate: Option<u32>,
    /// Voice channels: member limit (`null` is 0, no limit).
    pub user_limit: Option<u32>,
    /// Voice channels: region (`Some(None)`: automatic).
    pub rtc_region: Option<Option<String>>,
}

/// One well-formed entry of a body's `permission_overwrites`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverwriteEntry {
    /// Its index in the body's list (faults are reported under it).
    pub index: usize,
    /// The role or user it is for.
    pub id: u64,
    /// Type 1 (a member); else type 0 (a role).
    pub member: bool,
    /// Bits allowed.
    pub allow: Permissions,
    /// Bits denied.
    pub deny: Permissions,
}

/// `POST /guilds/{id}/channels`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelForm {
    /// Discord's channel type: 0 (text), 2 (voice) or 4 (category).
    pub kind_type: i64,
    /// The other fields.
    pub fields: ChannelFields,
    /// The faults of the body's shape.
    pub faults: FormErrors,
}

/// `PATCH /channels/{id}`: read both as a guild channel's and as a thread's fields,
/// since only the owner knows which the channel is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelEdit {
    /// `type` as sent: `Some(Some(n))` an integer, `Some(None)` anything else. It must
    /// be the channel's current type.
    pub kind_type: Option<Option<i64>>,
    /// The guild channel fields.
    pub fields: ChannelFields,
    /// The faults of the guild channel fields' shape.
    pub faults: FormErrors,
    /// The same body as a thread's fields, or its 50035.
    pub thread: Result<ThreadEdit, Refusal>,
}

/// `PATCH /channels/{thread.id}` on a thread: its valid fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadEdit {
    /// 1–100 characters.
    pub name: Option<String>,
    /// Archive or unarchive.
    pub archived: Option<bool>,
    /// Minutes of inactivity before it archives.
    pub auto_archive_duration: Option<u32>,
    /// Lock or unlock.
    pub locked: Option<bool>,
    /// Whether non-moderators may add others (private threads).
    pub invitable: Option<bool>,
    /// Slow mode in seconds (`null` is 0).
    pub rate_limit_per_user: Option<u32>,
}

/// `PATCH /guilds/{id}/channels`: the well-formed entries, and the faults of the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelPositions {
    /// Entries with a valid `id`, in body order.
    pub entries: Vec<PositionEntry>,
    /// Faults of entries that are not objects or have no valid `id`.
    pub faults: FormErrors,
}

/// One entry of a positions body whose `id` is a snowflake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionEntry {
    /// Its index in the body's list (faults are reported under it).
    pub index: usize,
    /// The channel it moves.
    pub id: ChannelId,
    /// New position.
    pub position: Option<i32>,
    /// New category (`Some(None)`: none); the operation checks it.
    pub parent_id: Option<Option<ChannelId>>,
    /// Copy the new parent's overwrites.
    pub lock_permissions: bool,
    /// Faults of this entry's other fields (reported only for a channel of the guild).
    pub faults: FormErrors,
}

/// `PUT /channels/{id}/permissions/{overwrite.id}`: a valid body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverwriteForm {
    /// Type 1 (a member); else type 0 (a role).
    pub member: bool,
    /// Bits allowed.
    pub allow: Permissions,
    /// Bits denied.
    pub deny: Permissions,
}

/// `POST /channels/{id}/threads` and `POST /channels/{id}/messages/{id}/threads`: a
/// valid body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadForm {
    /// 1–100 characters.
    pub name: String,
    /// Minutes of inactivity before it archives (`None`: the parent's default).
    pub auto_archive_duration: Option<u32>,
    /// Slow mode in seconds.
    pub rate_limit_per_user: Option<u32>,
    /// A private thread (type 12; never for a thread from a message).
    pub private: bool,
    /// Whether non-moderators may add others (private threads; default true).
    pub invitable: bool,
}
