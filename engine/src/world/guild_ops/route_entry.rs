//! The one entry point for the guild, channel, overwrite and thread routes
//! (`rest::guild_routes::GuildRoute`) on the owner core, and what those routes share:
//! who the caller is in the guild and what they may do, and how channel dispatches are
//! addressed.
//!
//! The owner core calls [`apply`] with the guild the route's `target()` named (or
//! [`create_guild`] for `POST /guilds`, which has no guild yet). The work is split by
//! family: `guild_object.rs` (the guild itself), `channels.rs` (channels, positions and
//! overwrites), `threads.rs` (threads). Each keeps the contract of the `guild_ops`
//! module doc: `Err` leaves the guild unchanged.
//!
//! Discord's refusals, in the order Discord checks them:
//! - Guild routes: a caller who is not a member gets 10004 Unknown Guild (Discord does
//!   not reveal guilds to outsiders).
//! - Channel routes: a channel that is not in the guild is 10003 Unknown Channel; a
//!   caller who is not a member or cannot view the channel gets 50001 Missing Access
//!   (Discord answers 50001, not 10004, for a channel of a guild one is not in); a
//!   caller who can view it but lacks the route's permission gets 50013.
//!
//! Deleting a guild: [`apply`] with `DeleteGuild` empties the guild (no members,
//! channels or invites) and answers 204; [`guild_deleted`] then holds, and the app drops
//! the guild from its state and store. Every former member's GUILD_DELETE is derived by
//! the app from the member lists before and after, like any leave.

use std::collections::BTreeSet;

use serde_json::Value;

use super::GuildRoute;
use super::{channels, guild_object, threads, Audience, GuildEvent, OpContext, Outcome};
use crate::gateway::Intents;
use crate::world::ids::{ChannelId, GuildId, UserId};
use crate::world::json::channel_json;
use crate::world::model::{Channel, Guild};
use crate::world::permissions::{
    members_who_can_view, ChannelSnapshot, GuildSnapshot, MemberSnapshot, Permissions,
};
use crate::world::Refusal;

/// Runs `route` on `guild` for `cx.actor`. `query` is the URL query without `?`;
/// `body` the request body (ignored by reads).
///
/// `POST /guilds` is not answered here (there is no guild yet): it gets 404, and the app
/// calls [`create_guild`] instead.
///
/// ```
/// use engine::rest::guild_routes::GuildRoute;
/// use engine::world::guild_ops::{route_entry::apply, OpContext, Reply};
/// use engine::world::{demo_world, Refusal};
///
/// let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
/// let mut guild = demo.world.guilds[0].clone();
/// let mut next_id = || Ok(1);
/// let mut random = || -> Result<u64, Refusal> { Ok(7) };
/// let mut cx = OpContext {
///     actor: demo.bots[1].user_id,
///     now_unix_ms: 1_700_000_000_000,
///     users: &demo.world,
///     online: &|_| false,
///     next_id: &mut next_id,
///     random: &mut random,
/// };
/// let outcome = apply(&mut guild, &GuildRoute::GetGuild(demo.guild_id), "", b"", &mut cx).unwrap();
/// assert_eq!((outcome.reply, outcome.changed), (Reply::Shown, false));
/// ```
pub fn apply(
    guild: &mut Guild,
    route: &GuildRoute,
    query: &str,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    if let Some(answer) = read(guild, route, query, cx) {
        return answer;
    }
    match *route {
        GuildRoute::CreateGuild => Err(Refusal::NotFound),
        GuildRoute::GetGuild(_)
        | GuildRoute::ListChannels(_)
        | GuildRoute::ActiveThreads(_)
        | GuildRoute::GetChannel(_) => unreachable!("`read` answers every read route"),
        GuildRoute::ModifyGuild(id) => {
            guild_object::modify(guild_checked_mut(guild, id)?, body, cx)
        }
        GuildRoute::DeleteGuild(id) => guild_object::delete(guild_checked_mut(guild, id)?, cx),
        GuildRoute::CreateChannel(id) => channels::create(guild_checked_mut(guild, id)?, body, cx),
        GuildRoute::ModifyChannelPositions(id) => {
            channels::positions(guild_checked_mut(guild, id)?, body, cx)
        }
        GuildRoute::ModifyChannel(id) => channels::modify(guild, id, body, cx),
        GuildRoute::DeleteChannel(id) => channels::delete(guild, id, cx),
        GuildRoute::PutOverwrite(id, target) => {
            channels::put_overwrite(guild, id, target, body, cx)
        }
        GuildRoute::DeleteOverwrite(id, target) => {
            channels::delete_overwrite(guild, id, target, cx)
        }
        GuildRoute::StartThreadFromMessage(id, message) => {
            threads::start(guild, id, Some(message), body, cx)
        }
        GuildRoute::StartThread(id) => threads::start(guild, id, None, body, cx),
        GuildRoute::JoinThread(id) => threads::join(guild, id, cx),
        GuildRoute::LeaveThread(id) => threads::leave(guild, id, cx),
    }
}

/// Answers a route that only reads (`GuildRoute::writes` is false) from a shared
/// `&Guild`, so a core may answer it from its replica without the owner; `None` for a
/// route that writes.
pub fn read(
    guild: &Guild,
    route: &GuildRoute,
    query: &str,
    cx: &OpContext<'_>,
) -> Option<Result<Outcome, Refusal>> {
    let answer = match *route {
        GuildRoute::GetGuild(id) => {
            guild_checked(guild, id).and_then(|g| guild_object::get(g, query, cx))
        }
        GuildRoute::ListChannels(id) => {
            guild_checked(guild, id).and_then(|g| channels::list(g, cx))
        }
        GuildRoute::ActiveThreads(id) => {
            guild_checked(guild, id).and_then(|g| threads::active(g, cx))
        }
        GuildRoute::GetChannel(id) => channels::get(guild, id, cx),
        _ => return None,
    };
    debug_assert!(!route.writes());
    Some(answer)
}

/// `POST /guilds`: a new guild `id` owned by `cx.actor` (see `guild_object::create`).
pub fn create_guild(
    id: GuildId,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<(Guild, Outcome), Refusal> {
    guild_object::create(id, body, cx)
}

/// Whether `guild` was deleted by `DELETE /guilds/{id}`: a live guild always has its
/// owner as a member.
pub fn guild_deleted(guild: &Guild) -> bool {
    guild.members.is_empty()
}

fn guild_checked(guild: &Guild, id: GuildId) -> Result<&Guild, Refusal> {
    // The app found the guild by this id; a mismatch would be its bug, but an
    // answer is still better than a wrong guild.
    debug_assert_eq!(guild.id, id, "route delivered to the wrong guild");
    if guild.id == id {
        Ok(guild)
    } else {
        Err(Refusal::UnknownGuild)
    }
}

fn guild_checked_mut(guild: &mut Guild, id: GuildId) -> Result<&mut Guild, Refusal> {
    debug_assert_eq!(guild.id, id, "route delivered to the wrong guild");
    if guild.id == id {
        Ok(guild)
    } else {
        Err(Refusal::UnknownGuild)
    }
}

/// The caller as the permission algorithm sees them, with the guild's snapshot.
pub(super) struct Access {
    pub(super) snapshot: GuildSnapshot,
    pub(super) member: MemberSnapshot,
    pub(super) now_unix_ms: u64,
}

impl Access {
    /// The caller in a guild route: 10004 Unknown Guild when they are not a member.
    pub(super) fn guild(guild: &Guild, cx: &OpContext<'_>) -> Result<Access, Refusal> {
        Access::of(guild, cx).ok_or(Refusal::UnknownGuild)
    }

    fn of(guild: &Guild, cx: &OpContext<'_>) -> Option<Access> {
        let snapshot = GuildSnapshot::of_guild(guild);
        let member = snapshot.member(cx.actor)?.clone();
        Some(Access {
            snapshot,
            member,
            now_unix_ms: cx.now_unix_ms,
        })
    }

    /// The caller's guild-level permissions.
    pub(super) fn guild_permissions(&self) -> Permissions {
        self.snapshot
            .guild_permissions(&self.member, self.now_unix_ms)
    }

    /// 50013 unless the caller has `wanted` at guild level.
    pub(super) fn require(&self, wanted: Permissions) -> Result<(), Refusal> {
        if self.guild_permissions().contains(wanted) {
            Ok(())
        } else {
            Err(Refusal::MissingPermissions)
        }
    }

    /// The caller's permissions in `channel` of `guild` (threads: the parent's rules).
    pub(super) fn in_channel(&self, guild: &Guild, channel: &Channel) -> Permissions {
        let snapshot = ChannelSnapshot::of_guild_channel(guild, channel);
        self.snapshot
            .permissions_in(&self.member, &snapshot, self.now_unix_ms)
    }

    /// Whether the caller is an administrator (or the owner).
    pub(super) fn is_admin(&self) -> bool {
        self.snapshot
            .base_permissions(&self.member)
            .contains(Permissions::ADMINISTRATOR)
    }
}

/// A channel route's caller and channel: 10003 when the channel is not in the guild,
/// 50001 when the caller is not a member or cannot view it. Returns the channel's index
/// and the caller's permissions in it.
pub(super) fn channel_access(
    guild: &Guild,
    channel_id: ChannelId,
    cx: &OpContext<'_>,
) -> Result<(usize, Access, Permissions), Refusal> {
    let index = guild
        .channels
        .iter()
        .position(|channel| channel.id == channel_id)
        .ok_or(Refusal::UnknownChannel)?;
    let access = Access::of(guild, cx).ok_or(Refusal::MissingAccess)?;
    let permissions = access.in_channel(guild, &guild.channels[index]);
    if !permissions.contains(Permissions::VIEW_CHANNEL) {
        return Err(Refusal::MissingAccess);
    }
    Ok((index, access, permissions))
}

/// The members who may view `channel` in `guild` now.
pub(super) fn viewers(guild: &Guild, channel: &Channel) -> BTreeSet<UserId> {
    let snapshot = GuildSnapshot::of_guild(guild);
    members_who_can_view(
        &snapshot,
        &ChannelSnapshot::of_guild_channel(guild, channel),
    )
}

/// A GUILDS-intent dispatch about a channel, seen by its viewers after the change.
pub(super) fn channel_event(name: &'static str, channel: &Channel) -> GuildEvent {
    GuildEvent {
        name,
        d: channel_json(channel),
        intents: Intents::GUILDS,
        audience: Audience::Channel(channel.id),
    }
}

/// A GUILDS-intent dispatch with body `d` for exactly `users`.
pub(super) fn users_event(name: &'static str, d: Value, users: BTreeSet<UserId>) -> GuildEvent {
    GuildEvent {
        name,
        d,
        intents: Intents::GUILDS,
        audience: Audience::Users(users),
    }
}

/// Discord's 50024 for a route that does not apply to this kind of channel.
pub(super) const WRONG_CHANNEL_TYPE: Refusal = Refusal::Coded {
    code: 50024,
    message: "Cannot execute action on this channel type",
};

#[cfg(test)]
#[path = "route_entry_tests.rs"]
mod tests;
