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

use super::guild_forms::{GuildForm, GuildQuery};
use super::{channels, guild_object, threads, Audience, GuildEvent, OpContext, Outcome};
use super::{GuildRequest, GuildRoute, Parsed};
use crate::gateway::Intents;
use crate::world::ids::{ChannelId, GuildId, UserId};
use crate::world::json::channel_json;
use crate::world::model::{Channel, Guild};
use crate::world::permissions::{
    members_who_can_view, ChannelSnapshot, GuildSnapshot, MemberSnapshot, Permissions,
};
use crate::world::Refusal;

/// Runs `route` on `guild` for `cx.actor`, with what its body or query said
/// (`request`, parsed by `rest::guild_bodies` on the receiving core).
///
/// `POST /guilds` is not answered here (there is no guild yet): it gets 404, and the app
/// calls [`create_guild`] instead. A `request` of another route than `route` is the
/// caller's bug, answered 404.
///
/// ```
/// use engine::rest::guild_routes::GuildRoute;
/// use engine::world::guild_ops::guild_forms::GuildQuery;
/// use engine::world::guild_ops::{route_entry::apply, GuildRequest, OpContext, Reply};
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
///     voice_channel: &|_| None,
/// };
/// let route = GuildRoute::GetGuild(demo.guild_id);
/// let request = GuildRequest::GetGuild(Ok(GuildQuery::default()));
/// let outcome = apply(&mut guild, &route, &request, &mut cx).unwrap();
/// assert_eq!((outcome.reply, outcome.changed), (Reply::Shown, false));
/// ```
pub fn apply(
    guild: &mut Guild,
    route: &GuildRoute,
    request: &GuildRequest,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    if let Some(answer) = read(guild, route, request, cx) {
        return answer;
    }
    use GuildRequest as Q;
    use GuildRoute as R;
    match (*route, request) {
        (R::ModifyGuild(id), Q::ModifyGuild(edit)) => {
            guild_object::modify(guild_checked_mut(guild, id)?, edit, cx)
        }
        (R::DeleteGuild(id), _) => guild_object::delete(guild_checked_mut(guild, id)?, cx),
        (R::CreateChannel(id), Q::CreateChannel(form)) => {
            channels::create(guild_checked_mut(guild, id)?, form, cx)
        }
        (R::ModifyChannelPositions(id), Q::ModifyChannelPositions(positions)) => {
            channels::positions(guild_checked_mut(guild, id)?, positions, cx)
        }
        (R::ModifyChannel(id), Q::ModifyChannel(edit)) => channels::modify(guild, id, edit, cx),
        (R::DeleteChannel(id), _) => channels::delete(guild, id, cx),
        (R::PutOverwrite(id, target), Q::PutOverwrite(form)) => {
            channels::put_overwrite(guild, id, target, form, cx)
        }
        (R::DeleteOverwrite(id, target), _) => channels::delete_overwrite(guild, id, target, cx),
        (R::StartThreadFromMessage(id, message), Q::StartThread(form)) => {
            threads::start(guild, id, Some(message), form, cx)
        }
        (R::StartThread(id), Q::StartThread(form)) => threads::start(guild, id, None, form, cx),
        (R::JoinThread(id), _) => threads::join(guild, id, cx),
        (R::LeaveThread(id), _) => threads::leave(guild, id, cx),
        (R::CreateGuild, _) => Err(Refusal::NotFound),
        (R::GetGuild(_) | R::ListChannels(_) | R::ActiveThreads(_) | R::GetChannel(_), _) => {
            unreachable!("`read` answers every read route")
        }
        (route, request) => {
            debug_assert!(
                false,
                "{route:?} got the request of another route: {request:?}"
            );
            Err(Refusal::NotFound)
        }
    }
}

/// Answers a route that only reads (`GuildRoute::writes` is false) from a shared
/// `&Guild`, so a core may answer it from its replica without the owner; `None` for a
/// route that writes.
pub fn read(
    guild: &Guild,
    route: &GuildRoute,
    request: &GuildRequest,
    cx: &OpContext<'_>,
) -> Option<Result<Outcome, Refusal>> {
    let answer = match *route {
        GuildRoute::GetGuild(id) => {
            let query = match request {
                GuildRequest::GetGuild(query) => query.clone(),
                _ => Ok(GuildQuery::default()),
            };
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
    form: &Parsed<GuildForm>,
    cx: &mut OpContext<'_>,
) -> Result<(Guild, Outcome), Refusal> {
    guild_object::create(id, form, cx)
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
