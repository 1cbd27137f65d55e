//! The typed requests of the member, ban, role and invite routes: the list and search
//! queries, the member edit, the ban, the role and role-positions bodies, and the
//! invite body and query.
//!
//! Why typed values: reading JSON and URL queries is `rest::member_bodies`' job, done on
//! the receiving core; the operations (`members.rs`, `bans.rs`, `roles.rs`, `invites.rs`)
//! decide with the guild alone. These routes answer the *first* fault, as Discord does
//! for them, and some faults come after a check of the guild (a member edit names an
//! unknown member before its nick is looked at; a positions entry's role must exist
//! before its position is read), so a value keeps each field's own refusal
//! ([`Parsed`]) and the operation takes it where it reads that field.
//!
//! What needs the guild or the clock stays with the operation: whether roles exist, the
//! hierarchy, and whether a timeout lies in the past or more than 28 days ahead.

use super::Parsed;
use crate::world::ids::RoleId;
use crate::world::permissions::Permissions;
use crate::world::ChannelId;

/// Most roles a guild may have, @everyone included (Discord's limit); also the longest
/// role positions list.
pub const ROLES_MAX: usize = 250;

/// `GET /guilds/{g}/members?limit&after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberListQuery {
    /// 1–1000 (default 1).
    pub limit: usize,
    /// Members with a greater user id (default 0).
    pub after: u64,
}

/// `GET /guilds/{g}/members/search?query&limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSearchQuery {
    /// The prefix, percent-decoded, at most 100 characters.
    pub text: String,
    /// 1–1000 (default 1).
    pub limit: usize,
}

/// `PATCH /guilds/{g}/members/{u}` (and `@me`): each field as read, or its refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEdit {
    /// New nick (`Some(None)`: reset), at most 32 characters.
    pub nick: Parsed<Option<Option<String>>>,
    /// `communication_disabled_until` as sent: `Some(None)` for `null`, else the
    /// instant (Unix ms) — whether it is past or too far ahead is the owner's to say.
    pub timeout_until: Parsed<Option<Option<u64>>>,
    /// `channel_id`: move a member who is in voice to this voice channel
    /// (`Some(Some(id))`) or disconnect them (`Some(None)`, JSON `null`).
    pub channel_id: Parsed<Option<Option<ChannelId>>>,
    /// New roles, at most 250 ids.
    pub roles: Parsed<Option<Vec<RoleId>>>,
    /// Server mute.
    pub mute: Parsed<Option<bool>>,
    /// Server deafen.
    pub deaf: Parsed<Option<bool>>,
}

/// `GET /guilds/{g}/bans?limit&before&after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanListQuery {
    /// 1–1000 (default 1000).
    pub limit: usize,
    /// Bans of users with a smaller id.
    pub before: Option<u64>,
    /// Bans of users with a greater id.
    pub after: Option<u64>,
}

/// `PUT /guilds/{g}/bans/{u}`: a valid body (`delete_message_*` are checked and
/// otherwise unused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BanForm {
    /// The ban's reason, at most 512 characters.
    pub reason: Option<String>,
}

/// `POST /guilds/{g}/roles` and `PATCH /guilds/{g}/roles/{r}`: a valid body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleForm {
    /// Name (`Some(None)`: `null`), at most 100 characters.
    pub name: Option<Option<String>>,
    /// Permission bits.
    pub permissions: Option<Permissions>,
    /// Colour, 0–0xFFFFFF (`color`, or discord.py's `colors.primary_color`).
    pub color: Option<u32>,
    /// Shown apart in the member list.
    pub hoist: Option<bool>,
    /// Mentionable by everyone.
    pub mentionable: Option<bool>,
}

/// `PATCH /guilds/{g}/roles` with `[{id, position}]`: the entries in body order, each
/// read or refused; reading stops at the first refused one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePositions {
    /// The entries up to and including the first faulty one.
    pub entries: Vec<Parsed<RolePosition>>,
}

/// One `{id, position}` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePosition {
    /// The role; the operation checks it exists.
    pub id: RoleId,
    /// The wished position (`None`: absent or `null`, the role stays), or its refusal.
    pub position: Parsed<Option<i64>>,
}

/// `POST /channels/{c}/invites`: a valid body with Discord's defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteForm {
    /// Seconds it lives, 0–604800 (0: forever; default 86400).
    pub max_age_s: u32,
    /// Uses allowed, 0–100 (0: unlimited).
    pub max_uses: u32,
    /// Membership ends when the member goes offline.
    pub temporary: bool,
    /// Always a new invite, never an equal live one.
    pub unique: bool,
}

/// `GET /invites/{code}?with_counts&with_expiration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InviteQuery {
    /// Add the approximate member and presence counts.
    pub with_counts: bool,
}
