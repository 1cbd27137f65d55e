//! Discord's refusals as the domain speaks them: the one error vocabulary of every
//! operation (guild, member, message, account) and of the REST layer that answers them.
//!
//! Why it lives in `world`: the owner-core operations (`world::guild_ops`,
//! `world::message_ops`) decide refusals, and they must not depend on the HTTP layer. The
//! mapping to an HTTP status and Discord's JSON body is `rest::error`'s (`Refusal::status`,
//! `Refusal::body`), the only place a status is chosen.

use serde_json::Value;

/// Why a request was refused, in Discord's vocabulary: each variant is one of Discord's
/// refusals (its JSON error code and message). No HTTP here: `rest::error` gives each its
/// status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// No or an invalid token: 401 `{"message": "401: Unauthorized", "code": 0}`.
    /// discord.py turns this into `LoginFailure` at startup.
    Unauthorized,
    /// Unknown path: 404 `{"message": "404: Not Found", "code": 0}`.
    NotFound,
    /// Known path, other method: 405 `{"message": "405: Method Not Allowed", "code": 0}`.
    MethodNotAllowed,
    /// Discord 10002: Unknown Application (a token whose user has no application).
    UnknownApplication,
    /// Discord 10013: Unknown User.
    UnknownUser,
    /// Discord 10003: Unknown Channel.
    UnknownChannel,
    /// Discord 10008: Unknown Message.
    UnknownMessage,
    /// Discord 10004: Unknown Guild.
    UnknownGuild,
    /// Discord 10007: Unknown Member.
    UnknownMember,
    /// Discord 10011: Unknown Role.
    UnknownRole,
    /// Discord 10006: Unknown Invite.
    UnknownInvite,
    /// Discord 10026: Unknown Ban.
    UnknownBan,
    /// Discord 40007: The user is banned from this guild.
    UserBanned,
    /// Discord 50007: Cannot send messages to this user (a DM with no guild in common).
    CannotMessageUser,
    /// Any other Discord error: `status` with `{"message": message, "code": code}`.
    Coded {
        /// Discord's JSON error code (its HTTP status is 400).
        code: u32,
        /// Discord's message for it.
        message: &'static str,
    },
    /// the owner core's store refused the write for now (its memtables wait for a
    /// flush): back-pressure, not failure. Nothing was written; the body is Discord's
    /// 429 shape with a short `retry_after`, which every client library honours by
    /// waiting and sending again.
    StoreBusy,
    /// Discord 50035: Invalid Form Body with a prebuilt nested `errors` object (for
    /// errors inside arrays or several fields at once).
    InvalidForm(Value),
    /// Discord 10014: Unknown Emoji (a reaction path segment that is no emoji).
    UnknownEmoji,
    /// Discord 30003: Maximum number of pins reached (250).
    MaxPins,
    /// Discord 30010: Maximum number of reactions reached (20).
    MaxReactions,
    /// Discord 50001: Missing Access (the caller cannot view the channel).
    MissingAccess,
    /// Discord 50013: Missing Permissions.
    MissingPermissions,
    /// Discord 50005: Cannot edit a message authored by another user.
    NotAuthor,
    /// Discord 50006: Cannot send an empty message.
    EmptyMessage,
    /// 400 code 50109: the request body is not valid JSON.
    InvalidJson,
    /// the core's message store failed (the request was not applied or its
    /// durability is unknown).
    StoreFailed,
    /// Discord 50035: Invalid Form Body, with `errors.{field}._errors[0]` saying why.
    InvalidFormBody {
        /// The parameter or body field at fault.
        field: &'static str,
        /// Discord's error code string, e.g. `NUMBER_TYPE_COERCE`.
        code: &'static str,
        /// A sentence for humans.
        message: String,
    },
}
