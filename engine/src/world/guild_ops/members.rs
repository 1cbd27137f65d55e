//! The member routes: list, get, edit (nick, roles, mute, deaf), kick, add and remove
//! one role, and leave.
//!
//! Discord's rules (`resources/guild`, "List/Get/Modify/Remove Guild Member", "Add/Remove
//! Guild Member Role", `resources/user` "Leave Guild"), with the hierarchy of
//! `authority.rs`:
//! - list: `limit` 1–1000 (default 1), `after` a user id (default 0), sorted by user id;
//! - search: `query` (required, at most 100 characters) matched as a case-insensitive
//!   prefix of the username, global name or nick; `limit` 1–1000 (default 1);
//! - nick: at most 32 characters, `null` or `""` resets it; another member's nick needs
//!   MANAGE_NICKNAMES and a higher role, one's own CHANGE_NICKNAME (or
//!   MANAGE_NICKNAMES); `PATCH …/members/@me` changes only the caller's nick;
//! - roles: MANAGE_ROLES, and every role added or removed must be below the caller's
//!   highest role; an unknown role (or @everyone) is 10011;
//! - mute / deaf: MUTE_MEMBERS / DEAFEN_MEMBERS (Flux does not require the member to be
//!   in voice);
//! - kick: KICK_MEMBERS and a higher role; the owner cannot be kicked (50013);
//! - leave: the owner cannot leave their guild (400, 50055 Invalid Guild).
//!
//! - timeout (`communication_disabled_until`, an ISO 8601 time at most 28 days ahead;
//!   null or a past time ends it): MODERATE_MEMBERS and a higher role; neither the owner
//!   nor an administrator can be timed out (50013). While it lasts the member keeps only
//!   VIEW_CHANNEL and READ_MESSAGE_HISTORY (`world::permissions`).
//!
//! - channel_id: move a member who is in voice to a voice channel, or disconnect them
//!   with `null`: MOVE_MEMBERS, and CONNECT to the target; a member not in voice is 40032.
//!   The owner app applies the move to its voice states (`Outcome::voice_move`).

use super::authority::{channel_permissions, Actor};
use super::member_forms::{MemberEdit, MemberListQuery, MemberSearchQuery};
use super::member_json::{guild_user_json, member_event_json, member_value};
use super::member_ops::{form_error, member_event};
use super::Reply;
use super::{MemberRef, Parsed};
use super::{OpContext, Outcome, VoiceMove};
use crate::world::ids::{ChannelId, RoleId, UserId};
use crate::world::json::encode;
use crate::world::model::{ChannelKind, Guild, Member};
use crate::world::permissions::Permissions;
use crate::world::Refusal;
use serde_json::Value;

/// `GET /guilds/{g}/members?limit&after`.
pub(super) fn list(
    guild: &Guild,
    query: &Parsed<MemberListQuery>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    let MemberListQuery { limit, after } = *query.as_ref().map_err(Clone::clone)?;
    let mut found: Vec<&Member> = guild
        .members
        .iter()
        .filter(|member| member.user_id.0 > after)
        .collect();
    found.sort_unstable_by_key(|member| member.user_id);
    let page: Vec<Value> = found
        .into_iter()
        .take(limit)
        .map(|member| member_value(cx.users, member))
        .collect();
    Ok(Outcome::read(Reply::Shown, encode(&Value::Array(page))))
}

/// `GET /guilds/{g}/members/search?query&limit`.
pub(super) fn search(
    guild: &Guild,
    query: &Parsed<MemberSearchQuery>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    let query = query.as_ref().map_err(Clone::clone)?;
    let needle = query.text.to_lowercase();
    let matches =
        |name: Option<&str>| name.is_some_and(|name| name.to_lowercase().starts_with(&needle));
    let page: Vec<Value> = guild
        .members
        .iter()
        .filter(|member| {
            let user = cx.users.user(member.user_id);
            matches(member.nick.as_deref())
                || matches(user.map(|user| user.username.as_str()))
                || matches(user.and_then(|user| user.global_name.as_deref()))
        })
        .take(query.limit)
        .map(|member| member_value(cx.users, member))
        .collect();
    Ok(Outcome::read(Reply::Shown, encode(&Value::Array(page))))
}

/// `GET /guilds/{g}/members/{u}`.
pub(super) fn get(
    guild: &Guild,
    member: MemberRef,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    let user_id = resolve(member, cx);
    let member = guild.member(user_id).ok_or(Refusal::UnknownMember)?;
    Ok(Outcome::read(
        Reply::Shown,
        encode(&member_value(cx.users, member)),
    ))
}

/// `PATCH /guilds/{g}/members/{u}` and `…/members/@me`.
pub(super) fn edit(
    guild: &mut Guild,
    member: MemberRef,
    edit: &Parsed<MemberEdit>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    let edit = edit.as_ref().map_err(Clone::clone)?;
    let own_route = member == MemberRef::Me;
    let user_id = resolve(member, cx);
    let index = guild
        .members
        .iter()
        .position(|member| member.user_id == user_id)
        .ok_or(Refusal::UnknownMember)?;
    let target = &guild.members[index];
    let nick = edit.nick.clone()?;
    let timeout = if own_route {
        None
    } else {
        timeout_field(edit.timeout_until.clone()?, cx.now_unix_ms)?
    };
    let (channel, roles, mute, deaf) = if own_route {
        (None, None, None, None)
    } else {
        (
            edit.channel_id.clone()?,
            edit.roles.clone()?,
            edit.mute.clone()?,
            edit.deaf.clone()?,
        )
    };
    let voice_move = match channel {
        Some(to) => Some(voice_move(guild, &actor, user_id, to, cx)?),
        None => None,
    };

    let mut updated = target.clone();
    if let Some(nick) = nick {
        if user_id == actor.user_id {
            if !actor
                .permissions
                .intersects(Permissions::CHANGE_NICKNAME.union(Permissions::MANAGE_NICKNAMES))
            {
                return Err(Refusal::MissingPermissions);
            }
        } else {
            actor.require(Permissions::MANAGE_NICKNAMES)?;
            actor.require_outranks_member(guild, target)?;
        }
        updated.nick = nick.filter(|nick| !nick.is_empty());
    }
    if let Some(roles) = roles {
        actor.require(Permissions::MANAGE_ROLES)?;
        let mut new_roles: Vec<RoleId> = Vec::with_capacity(roles.len());
        for id in roles {
            if !new_roles.contains(&id) {
                new_roles.push(id);
            }
        }
        for id in &new_roles {
            if guild_role_position(guild, *id).is_none() {
                return Err(Refusal::UnknownRole);
            }
        }
        let changed = new_roles
            .iter()
            .filter(|id| !target.roles.contains(id))
            .chain(target.roles.iter().filter(|id| !new_roles.contains(id)));
        for id in changed {
            // A role the member holds that no longer exists grants nothing: removing it
            // needs no rank.
            if let Some(position) = guild_role_position(guild, *id) {
                actor.require_outranks_position(position)?;
            }
        }
        updated.roles = new_roles;
    }
    if let Some(until) = timeout {
        actor.require(Permissions::MODERATE_MEMBERS)?;
        actor.require_outranks_member(guild, target)?;
        let target_permissions = super::authority::member_permissions(guild, target);
        if target.user_id == guild.owner_id
            || target_permissions.contains(Permissions::ADMINISTRATOR)
        {
            return Err(Refusal::MissingPermissions);
        }
        updated.communication_disabled_until_unix_ms = until;
    }
    if let Some(mute) = mute {
        actor.require(Permissions::MUTE_MEMBERS)?;
        updated.mute = mute;
    }
    if let Some(deaf) = deaf {
        actor.require(Permissions::DEAFEN_MEMBERS)?;
        updated.deaf = deaf;
    }
    let body = encode(&member_value(cx.users, &updated));
    if updated == *target {
        let mut outcome = Outcome::read(Reply::Shown, body);
        outcome.voice_move = voice_move;
        return Ok(outcome);
    }
    let event = member_event(
        "GUILD_MEMBER_UPDATE",
        member_event_json(guild.id, &updated, cx.users),
    );
    guild.members[index] = updated;
    let mut outcome = Outcome::write(Reply::Shown, body, vec![event]);
    outcome.voice_move = voice_move;
    Ok(outcome)
}

/// `channel_id` in a member edit: Discord's rules for moving (or, with `null`,
/// disconnecting) a member in voice. The mover needs MOVE_MEMBERS, and CONNECT to the
/// target; the target is a voice channel of the guild; the member must be in voice now
/// (40032 otherwise).
fn voice_move(
    guild: &Guild,
    actor: &Actor,
    user_id: UserId,
    to: Option<ChannelId>,
    cx: &OpContext<'_>,
) -> Result<VoiceMove, Refusal> {
    actor.require(Permissions::MOVE_MEMBERS)?;
    if let Some(channel_id) = to {
        let channel = guild.channel(channel_id).ok_or(Refusal::UnknownChannel)?;
        if !matches!(channel.kind, ChannelKind::Voice(_)) {
            return Err(Refusal::InvalidFormBody {
                field: "channel_id",
                code: "CHANNEL_TYPE_INVALID",
                message: "The channel is not a voice channel.".into(),
            });
        }
        let held = channel_permissions(guild, channel, actor.user_id, cx.now_unix_ms);
        if !held.contains(Permissions::CONNECT) {
            return Err(Refusal::MissingPermissions);
        }
    }
    if (cx.voice_channel)(user_id).is_none() {
        return Err(Refusal::Coded {
            code: 40032,
            message: "Target user is not connected to voice.",
        });
    }
    Ok(VoiceMove { user: user_id, to })
}

/// The longest timeout Discord allows: 28 days.
const TIMEOUT_MS_MAX: u64 = 28 * 24 * 60 * 60 * 1000;

/// `communication_disabled_until` as read: absent → no change (`None`); null or a time
/// already past → end the timeout (`Some(None)`); a time up to 28 days ahead →
/// `Some(Some(ms))`; further ahead is 50035.
fn timeout_field(
    until: Option<Option<u64>>,
    now_unix_ms: u64,
) -> Result<Option<Option<u64>>, Refusal> {
    let Some(Some(until)) = until else {
        return Ok(until);
    };
    if until <= now_unix_ms {
        return Ok(Some(None));
    }
    if until - now_unix_ms > TIMEOUT_MS_MAX {
        return Err(form_error(
            "communication_disabled_until",
            "DATE_TIME_OUT_OF_RANGE",
            "A timeout may last at most 28 days.",
        ));
    }
    Ok(Some(Some(until)))
}

/// `DELETE /guilds/{g}/members/{u}`.
pub(super) fn kick(
    guild: &mut Guild,
    user_id: UserId,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    actor.require(Permissions::KICK_MEMBERS)?;
    let target = guild.member(user_id).ok_or(Refusal::UnknownMember)?;
    actor.require_outranks_member(guild, target)?;
    Ok(remove_member(guild, user_id, cx))
}

/// `DELETE /users/@me/guilds/{g}`.
pub(super) fn leave(guild: &mut Guild, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    if actor.owner {
        return Err(Refusal::Coded {
            code: 50055,
            message: "Invalid Guild",
        });
    }
    Ok(remove_member(guild, actor.user_id, cx))
}

/// `PUT /guilds/{g}/members/{u}/roles/{r}`.
pub(super) fn add_role(
    guild: &mut Guild,
    user_id: UserId,
    role_id: RoleId,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let index = role_change_target(guild, user_id, role_id, cx)?;
    if guild.members[index].roles.contains(&role_id) {
        return Ok(Outcome::read(Reply::Done, Vec::new()));
    }
    guild.members[index].roles.push(role_id);
    Ok(member_updated(guild, index, cx))
}

/// `DELETE /guilds/{g}/members/{u}/roles/{r}`.
pub(super) fn remove_role(
    guild: &mut Guild,
    user_id: UserId,
    role_id: RoleId,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let index = role_change_target(guild, user_id, role_id, cx)?;
    if !guild.members[index].roles.contains(&role_id) {
        return Ok(Outcome::read(Reply::Done, Vec::new()));
    }
    guild.members[index].roles.retain(|id| *id != role_id);
    Ok(member_updated(guild, index, cx))
}

/// Checks a one-role change and returns the member's index.
fn role_change_target(
    guild: &Guild,
    user_id: UserId,
    role_id: RoleId,
    cx: &OpContext<'_>,
) -> Result<usize, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let index = guild
        .members
        .iter()
        .position(|member| member.user_id == user_id)
        .ok_or(Refusal::UnknownMember)?;
    let position = guild_role_position(guild, role_id).ok_or(Refusal::UnknownRole)?;
    actor.require_outranks_position(position)?;
    Ok(index)
}

/// The position of a role a member may hold (`None` for unknown roles and @everyone).
fn guild_role_position(guild: &Guild, role_id: RoleId) -> Option<i32> {
    if role_id == guild.id.everyone_role() {
        return None;
    }
    guild
        .roles
        .iter()
        .find(|role| role.id == role_id)
        .map(|role| role.position)
}

fn member_updated(guild: &Guild, index: usize, cx: &OpContext<'_>) -> Outcome {
    let member = &guild.members[index];
    let event = member_event(
        "GUILD_MEMBER_UPDATE",
        member_event_json(guild.id, member, cx.users),
    );
    Outcome::write(Reply::Done, Vec::new(), vec![event])
}

/// Removes the member `user_id` (who must be one) and says GUILD_MEMBER_REMOVE.
pub(super) fn remove_member(guild: &mut Guild, user_id: UserId, cx: &OpContext<'_>) -> Outcome {
    debug_assert!(guild.member(user_id).is_some());
    guild.members.retain(|member| member.user_id != user_id);
    let event = member_event(
        "GUILD_MEMBER_REMOVE",
        guild_user_json(guild.id, user_id, cx.users),
    );
    Outcome::write(Reply::Done, Vec::new(), vec![event])
}

fn resolve(member: MemberRef, cx: &OpContext<'_>) -> UserId {
    match member {
        MemberRef::User(user_id) => user_id,
        MemberRef::Me => cx.actor,
    }
}

#[cfg(test)]
mod tests;
