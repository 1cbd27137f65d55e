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

use super::{bans, invites, members, roles, Audience, GuildEvent, OpContext, Outcome, Target};
use super::{MemberRequest, MemberRoute};
use crate::gateway::Intents;
use crate::world::ids::ChannelId;
use crate::world::model::Guild;
use crate::world::permissions::Permissions;
use crate::world::Refusal;
use serde_json::Value;

/// Runs a member, role, ban or invite route on `guild` with what its body or query said
/// (`request`, parsed by `rest::member_bodies` on the receiving core; see the module
/// doc). A `request` of another route than `route` is the caller's bug, answered 404.
///
/// ```
/// use engine::rest::member_routes::member_route;
/// use engine::rest::Method;
/// use engine::world::Refusal;
/// use engine::world::guild_ops::member_forms::RoleForm;
/// use engine::world::guild_ops::{apply_member_route, MemberRequest, OpContext, Reply};
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
///     voice_channel: &|_| None,
/// };
/// let form = RoleForm { name: Some(Some("mods".into())), ..RoleForm::default() };
/// let request = MemberRequest::Role(Ok(form));
/// let outcome = apply_member_route(&mut guild, &route, &request, &mut cx).unwrap();
/// assert_eq!(outcome.reply, Reply::Shown);
/// assert_eq!(outcome.events[0].name, "GUILD_ROLE_CREATE");
/// assert_eq!(guild.roles.len(), 2);
/// ```
pub fn apply_member_route(
    guild: &mut Guild,
    route: &MemberRoute,
    request: &MemberRequest,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    if let Target::Guild(id) = route.target() {
        if id != guild.id {
            return Err(Refusal::UnknownGuild);
        }
    }
    use MemberRequest as Q;
    use MemberRoute as R;
    match (route, request) {
        (R::ListMembers(_), Q::ListMembers(query)) => members::list(guild, query, cx),
        (R::SearchMembers(_), Q::SearchMembers(query)) => members::search(guild, query, cx),
        (R::GetMember(_, member), _) => members::get(guild, *member, cx),
        (R::EditMember(_, member), Q::EditMember(edit)) => members::edit(guild, *member, edit, cx),
        (R::KickMember(_, user), _) => members::kick(guild, *user, cx),
        (R::AddMemberRole(_, user, role), _) => members::add_role(guild, *user, *role, cx),
        (R::RemoveMemberRole(_, user, role), _) => members::remove_role(guild, *user, *role, cx),
        (R::LeaveGuild(_), _) => members::leave(guild, cx),
        (R::ListBans(_), Q::ListBans(query)) => bans::list(guild, query, cx),
        (R::GetBan(_, user), _) => bans::get(guild, *user, cx),
        (R::CreateBan(_, user), Q::CreateBan(form)) => bans::create(guild, *user, form, cx),
        (R::RemoveBan(_, user), _) => bans::remove(guild, *user, cx),
        (R::ListRoles(_), _) => roles::list(guild, cx),
        (R::GetRole(_, role), _) => roles::get(guild, *role, cx),
        (R::CreateRole(_), Q::Role(form)) => roles::create(guild, form, cx),
        (R::EditRole(_, role), Q::Role(form)) => roles::edit(guild, *role, form, cx),
        (R::DeleteRole(_, role), _) => roles::delete(guild, *role, cx),
        (R::EditRolePositions(_), Q::EditRolePositions(positions)) => {
            roles::edit_positions(guild, positions, cx)
        }
        (R::ListGuildInvites(_), _) => invites::list_guild(guild, cx),
        (R::CreateInvite(channel), Q::CreateInvite(form)) => {
            invites::create(guild, *channel, form, cx)
        }
        (R::ListChannelInvites(channel), _) => invites::list_channel(guild, *channel, cx),
        (R::GetInvite(code), Q::GetInvite(query)) => invites::get(guild, code, query, cx),
        (R::DeleteInvite(code), _) => invites::delete(guild, code, cx),
        (R::AcceptInvite(code), _) => invites::accept(guild, code, cx),
        (route, request) => {
            debug_assert!(
                false,
                "{route:?} got the request of another route: {request:?}"
            );
            Err(Refusal::NotFound)
        }
    }
}

/// 50035 with `errors.{field}._errors[0] = {code, message}`: a fault only the owner can
/// tell (a role name an edit may not clear, a timeout too far ahead).
pub(super) fn form_error(
    field: &'static str,
    code: &'static str,
    message: impl Into<String>,
) -> Refusal {
    Refusal::InvalidFormBody {
        field,
        code,
        message: message.into(),
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
