//! What a guild-changing REST call does to a guild, decided without any socket or clock:
//! the owner core's pure half of every guild, channel, role, member, ban, invite and
//! thread route.
//!
//! Why a separate, pure layer: the owner core (`app::guild_calls`) has one job per call —
//! find the guild, run an operation on it, store the result durably, answer, and fan
//! out. The operation itself (check permissions with `world::permissions`, check what
//! only the guild can tell about the request, change the `Guild`, say which dispatches
//! follow and who may see them) is the Discord-specific part, and it is testable with a
//! `Guild` value and nothing else. Each submodule owns one family of routes.
//!
//! Operations take typed requests (`requests.rs`; the types in `guild_forms.rs`,
//! `channel_forms.rs`, `member_forms.rs`), never bytes: `rest` reads the body and query
//! on the receiving core and checks their shape; a refusal of that reading travels in
//! the request (`Parsed`) and the operation answers it where Discord checks the body.
//!
//! The contract every operation keeps:
//! - It gets the guild as `&mut Guild` and either returns `Ok(Outcome)` or `Err` **with
//!   the guild unchanged** (validate everything, then mutate).
//! - `Outcome::changed` is true exactly when the guild was modified; the owner then
//!   stores the whole guild and answers only once that write is durable.
//! - `Outcome::events` are the *delta* dispatches (GUILD_MEMBER_ADD, CHANNEL_CREATE,
//!   GUILD_ROLE_UPDATE, …). GUILD_CREATE / GUILD_DELETE towards a user who joins or
//!   leaves a guild are **not** listed: every core derives them itself by comparing the
//!   guild's members before and after (`app::guild_fanout`), because only that core knows
//!   which of its sessions belong to the user.
//! - Ids come from `OpContext::next_id` (the owner core's Snowflake generator), times
//!   from `OpContext::now_unix_ms`.

pub mod authority;
mod bans;
pub mod channel_forms;
pub mod channels;
mod form_errors;
pub mod guild_forms;
pub mod guild_object;
mod invites;
#[cfg(test)]
mod member_fixture;
pub mod member_forms;
pub mod member_json;
mod member_ops;
#[cfg(test)]
mod member_props;
mod members;
mod requests;
mod roles;
pub mod route_entry;
pub mod threads;

pub use form_errors::FormErrors;
pub use invites::invite_code;
pub use member_ops::apply_member_route;
pub use requests::{GuildRequest, GuildRoute, MemberRef, MemberRequest, MemberRoute, Parsed};

use std::collections::BTreeSet;

use serde_json::Value;

use super::ids::{ChannelId, UserId};
use super::model::UserLookup;
use super::permissions::Permissions;
use crate::gateway::Intents;
use crate::world::Refusal;

/// Which guild a route acts on, as the receiving core can tell from the path: the
/// guild id itself, a channel (found in the core's channel index) or an invite code
/// (found in the core's invite index). The owner core of that guild runs the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/guilds/{guild.id}/…`.
    Guild(super::ids::GuildId),
    /// `/channels/{channel.id}/…` (threads are channels too).
    Channel(ChannelId),
    /// `/invites/{code}`.
    Invite(String),
}

/// What an operation may use besides the guild.
pub struct OpContext<'a> {
    /// The authenticated caller.
    pub actor: UserId,
    /// Wall-clock time of the call (Unix milliseconds).
    pub now_unix_ms: u64,
    /// Every user the server knows (for member objects and "does this user exist").
    pub users: &'a dyn UserLookup,
    /// Whether a user is online (not offline or invisible) as the owner core's presence
    /// map says: `approximate_presence_count`.
    pub online: &'a dyn Fn(UserId) -> bool,
    /// A fresh Snowflake from the owner core's generator.
    pub next_id: &'a mut dyn FnMut() -> Result<u64, Refusal>,
    /// 64 bits from a cryptographically secure generator (the OS's), for what must not
    /// be guessed: invite codes.
    pub random: &'a mut dyn FnMut() -> Result<u64, Refusal>,
    /// The voice channel a member of this guild is connected to now, as the owner core's
    /// voice states say (`world::voice_state`); `None` when not in voice.
    pub voice_channel: &'a dyn Fn(UserId) -> Option<ChannelId>,
}

impl std::fmt::Debug for OpContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpContext")
            .field("actor", &self.actor)
            .field("now_unix_ms", &self.now_unix_ms)
            .finish_non_exhaustive()
    }
}

/// The result of an operation: the HTTP answer, whether the guild changed, and the
/// dispatches that follow once the change is durable.
#[derive(Debug)]
pub struct Outcome {
    /// What kind of answer the caller gets (`rest::status_of` gives its HTTP status).
    pub reply: Reply,
    /// JSON body; empty for `Reply::Done`.
    pub body: Vec<u8>,
    /// Whether the guild was modified (and so must be stored).
    pub changed: bool,
    /// Dispatches to send after the change is durable, in order.
    pub events: Vec<GuildEvent>,
    /// A voice member to move or disconnect (a member edit's `channel_id`); voice states
    /// are the owner app's, not the guild's, so the app applies it.
    pub voice_move: Option<VoiceMove>,
}

/// A member edit's `channel_id`: move `user` to the voice channel `to`, or disconnect
/// them from voice (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceMove {
    /// The member in voice.
    pub user: UserId,
    /// The voice channel to move them to; `None` disconnects them.
    pub to: Option<ChannelId>,
}

/// What kind of answer an operation gives, without HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// An object or list, shown to the caller (HTTP 200).
    Shown,
    /// A new object (HTTP 201).
    Created,
    /// Nothing to show (HTTP 204).
    Done,
}

impl Outcome {
    /// A read: `reply` with `body`, nothing changed.
    pub fn read(reply: Reply, body: Vec<u8>) -> Outcome {
        Outcome {
            reply,
            body,
            changed: false,
            events: Vec::new(),
            voice_move: None,
        }
    }

    /// A change answered with `reply` and `body`, followed by `events`.
    pub fn write(reply: Reply, body: Vec<u8>, events: Vec<GuildEvent>) -> Outcome {
        Outcome {
            reply,
            body,
            changed: true,
            events,
            voice_move: None,
        }
    }
}

/// One dispatch an operation asks for.
#[derive(Debug, Clone)]
pub struct GuildEvent {
    /// The dispatch name (`t`), e.g. `CHANNEL_CREATE`.
    pub name: &'static str,
    /// Its `d`.
    pub d: Value,
    /// The intent a session needs to receive it (`Intents::empty()`: always sent).
    pub intents: Intents,
    /// Which members may receive it.
    pub audience: Audience,
}

/// Which members of the guild a dispatch reaches (always also filtered by intents and
/// gateway shard on each core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every member.
    Guild,
    /// Members who can view this channel in the guild *after* the change.
    Channel(ChannelId),
    /// Members who, after the change, have these permissions in this channel (e.g.
    /// INVITE_CREATE needs MANAGE_CHANNELS).
    ChannelPermission(ChannelId, Permissions),
    /// Exactly these users (e.g. viewers of a channel *before* it was deleted).
    Users(BTreeSet<UserId>),
}

/// How many of `guild`'s members are online (`approximate_presence_count`).
pub fn online_count(guild: &super::model::Guild, cx: &OpContext<'_>) -> usize {
    guild
        .members
        .iter()
        .filter(|member| (cx.online)(member.user_id))
        .count()
}
