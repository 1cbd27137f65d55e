//! The one entry point of the member, role, ban and invite operations, and the event
//! constructors they share.
//!
//! `app::guild_calls` calls [`apply_member_route`] on the owner core with the guild that
//! [`MemberRoute::target`] named; the route's family module (`members.rs`, `roles.rs`,
//! `bans.rs`, `invites.rs`) does the work under the contract in `guild_ops`'s module doc
//! (on `Err` the guild is unchanged; `changed` exactly when it was modified).
//!
//! Which intents and audiences each dispatch gets (Discord's `topics/gateway` intents
//! table):
//! - GUILD_MEMBER_ADD / UPDATE / REMOVE: every member, GUILD_MEMBERS;
//! - GUILD_BAN_ADD / REMOVE: every member, GUILD_MODERATION;
//! - GUILD_ROLE_CREATE / UPDATE / DELETE: every member, GUILDS;
//! - INVITE_CREATE / DELETE: members with MANAGE_CHANNELS in the invite's channel,
//!   GUILD_INVITES;
//! - CHANNEL_UPDATE (a deleted role's overwrites removed): the channel's viewers, GUILDS.
//!
//! A guild route whose guild id is not `guild`'s is 10004 (the caller picked the wrong
//! guild: a bug in the app, answered as the client would see a missing guild).

use super::MemberRoute;
use super::{bans, invites, members, roles, Audience, GuildEvent, OpContext, Outcome, Target};
use crate::gateway::Intents;
use crate::world::ids::ChannelId;
use crate::world::model::Guild;
use crate::world::permissions::Permissions;
use crate::world::Refusal;
use serde_json::Value;

/// Runs a member, role, ban or invite route on `guild` (see the module doc).
///
/// ```
/// use engine::rest::member_routes::member_route;
/// use engine::rest::Method;
/// use engine::world::Refusal;
/// use engine::world::guild_ops::{apply_member_route, OpContext, Reply};
/// use engine::world::demo_world;
///
/// let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
/// let mut guild = demo.world.guilds[0].clone();
/// let path = format!("/api/v10/guilds/{}/roles", guild.id);
/// let route = member_route(Method::Post, &path).unwrap().unwrap();
/// let mut id = 1_000u64 << 22;
/// let mut next_id = || -> Result<u64, Refusal> {
///     id += 1;
///     Ok(id)
/// };
/// let mut random = || -> Result<u64, Refusal> { Ok(7) };
/// let mut cx = OpContext {
///     actor: demo.bots[0].user_id,
///     now_unix_ms: 1_700_000_000_000,
///     users: &demo.world,
///     online: &|_| false,
///     next_id: &mut next_id,
///     random: &mut random,
/// };
/// let body = br#"{"name":"mods"}"#;
/// let outcome = apply_member_route(&mut guild, &route, "", body, &mut cx).unwrap();
/// assert_eq!(outcome.reply, Reply::Shown);
/// assert_eq!(outcome.events[0].name, "GUILD_ROLE_CREATE");
/// assert_eq!(guild.roles.len(), 2);
/// ```
pub fn apply_member_route(
    guild: &mut Guild,
    route: &MemberRoute,
    query: &str,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    if let Target::Guild(id) = route.target() {
        if id != guild.id {
            return Err(Refusal::UnknownGuild);
        }
    }
    use MemberRoute as R;
    match route {
        R::ListMembers(_) => members::list(guild, query, cx),
        R::SearchMembers(_) => members::search(guild, query, cx),
        R::GetMember(_, member) => members::get(guild, *member, cx),
        R::EditMember(_, member) => members::edit(guild, *member, body, cx),
        R::KickMember(_, user) => members::kick(guild, *user, cx),
        R::AddMemberRole(_, user, role) => members::add_role(guild, *user, *role, cx),
        R::RemoveMemberRole(_, user, role) => members::remove_role(guild, *user, *role, cx),
        R::LeaveGuild(_) => members::leave(guild, cx),
        R::ListBans(_) => bans::list(guild, query, cx),
        R::GetBan(_, user) => bans::get(guild, *user, cx),
        R::CreateBan(_, user) => bans::create(guild, *user, body, cx),
        R::RemoveBan(_, user) => bans::remove(guild, *user, cx),
        R::ListRoles(_) => roles::list(guild, cx),
        R::GetRole(_, role) => roles::get(guild, *role, cx),
        R::CreateRole(_) => roles::create(guild, body, cx),
        R::EditRole(_, role) => roles::edit(guild, *role, body, cx),
        R::DeleteRole(_, role) => roles::delete(guild, *role, cx),
        R::EditRolePositions(_) => roles::edit_positions(guild, body, cx),
        R::ListGuildInvites(_) => invites::list_guild(guild, cx),
        R::CreateInvite(channel) => invites::create(guild, *channel, body, cx),
        R::ListChannelInvites(channel) => invites::list_channel(guild, *channel, cx),
        R::GetInvite(code) => invites::get(guild, code, query, cx),
        R::DeleteInvite(code) => invites::delete(guild, code, cx),
        R::AcceptInvite(code) => invites::accept(guild, code, cx),
    }
}

/// A GUILD_MEMBER_* dispatch.
pub(super) fn member_event(name: &'static str, d: Value) -> GuildEvent {
    GuildEvent {
        name,
        d,
        intents: Intents::GUILD_MEMBERS,
        audience: Audience::Guild,
    }
}

/// A GUILD_BAN_* dispatch.
pub(super) fn ban_event(name: &'static str, d: Value) -> GuildEvent {
    GuildEvent {
        name,
        d,
        intents: Intents::GUILD_MODERATION,
        audience: Audience::Guild,
    }
}

/// A GUILD_ROLE_* dispatch.
pub(super) fn role_event(name: &'static str, d: Value) -> GuildEvent {
    GuildEvent {
        name,
        d,
        intents: Intents::GUILDS,
        audience: Audience::Guild,
    }
}

/// An INVITE_* dispatch about an invite to `channel`.
pub(super) fn invite_event(name: &'static str, channel: ChannelId, d: Value) -> GuildEvent {
    GuildEvent {
        name,
        d,
        intents: Intents::GUILD_INVITES,
        audience: Audience::ChannelPermission(channel, Permissions::MANAGE_CHANNELS),
    }
}

/// A CHANNEL_UPDATE for `channel`'s viewers.
pub(super) fn channel_event(channel: ChannelId, d: Value) -> GuildEvent {
    GuildEvent {
        name: "CHANNEL_UPDATE",
        d,
        intents: Intents::GUILDS,
        audience: Audience::Channel(channel),
    }
}
