//! The member routes: list, get, edit (nick, roles, mute, deaf), kick, add and remove
//! one role, and leave.
//!
//! Discord's rules (`resources/guild`, "List/Get/Modify/Remove Guild Member", "Add/Remove
//! Guild Member Role", `resources/user` "Leave Guild"), with the hierarchy of
//! `authority.rs`:
//! - list: `limit` 1–1000 (default 1), `after` a user id (default 0), sorted by user id;
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
//! Left out: `communication_disabled_until` (timeouts are not stored yet: only `null`
//! is accepted) and `channel_id` (moving voice members: only `null`, i.e. nothing).

use super::authority::Actor;
use super::member_form::{
    form_error, nullable_string, optional_bool, optional_snowflakes, parse_object, query_integer,
    query_pairs, query_snowflake,
};
use super::member_json::{guild_user_json, member_event_json, member_value};
use super::member_ops::member_event;
use super::{encode, OpContext, Outcome};
use crate::rest::member_routes::MemberRef;
use crate::rest::RestError;
use crate::world::ids::{RoleId, UserId};
use crate::world::model::{Guild, Member};
use crate::world::permissions::Permissions;
use serde_json::Value;

/// Most members one list call returns.
pub const MEMBERS_LIMIT_MAX: u64 = 1000;
/// Longest nickname, in characters.
pub const NICK_CHARS_MAX: usize = 32;
/// Most roles one member edit may list (Discord's role limit per guild).
pub const MEMBER_ROLES_MAX: usize = 250;

/// `GET /guilds/{g}/members?limit&after`.
pub(super) fn list(guild: &Guild, query: &str, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    Actor::of(guild, cx.actor)?;
    let mut limit = 1;
    let mut after = 0;
    for (key, value) in query_pairs(query) {
        match key {
            "limit" => limit = query_integer(value, "limit", 1, MEMBERS_LIMIT_MAX)?,
            "after" => after = query_snowflake(value, "after")?,
            _ => {}
        }
    }
    let mut found: Vec<&Member> = guild
        .members
        .iter()
        .filter(|member| member.user_id.0 > after)
        .collect();
    found.sort_unstable_by_key(|member| member.user_id);
    let page: Vec<Value> = found
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|member| member_value(cx.users, member))
        .collect();
    Ok(Outcome::read(200, encode(&Value::Array(page))))
}

/// `GET /guilds/{g}/members/{u}`.
pub(super) fn get(guild: &Guild, member: MemberRef, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    Actor::of(guild, cx.actor)?;
    let user_id = resolve(member, cx);
    let member = guild.member(user_id).ok_or(RestError::UnknownMember)?;
    Ok(Outcome::read(200, encode(&member_value(cx.users, member))))
}

/// `PATCH /guilds/{g}/members/{u}` and `…/members/@me`.
pub(super) fn edit(
    guild: &mut Guild,
    member: MemberRef,
    body: &[u8],
    cx: &OpContext<'_>,
) -> Result<Outcome, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    let object = parse_object(body)?;
    let own_route = member == MemberRef::Me;
    let user_id = resolve(member, cx);
    let index = guild
        .members
        .iter()
        .position(|member| member.user_id == user_id)
        .ok_or(RestError::UnknownMember)?;
    let target = &guild.members[index];
    let nick = nullable_string(&object, "nick", NICK_CHARS_MAX)?;
    let (roles, mute, deaf) = if own_route {
        (None, None, None)
    } else {
        for unsupported in ["communication_disabled_until", "channel_id"] {
            if !matches!(object.get(unsupported), None | Some(Value::Null)) {
                return Err(form_error(
                    unsupported,
                    "UNSUPPORTED",
                    "Flux does not support this field yet.",
                ));
            }
        }
        (
            optional_snowflakes(&object, "roles", MEMBER_ROLES_MAX)?,
            optional_bool(&object, "mute")?,
            optional_bool(&object, "deaf")?,
        )
    };

    let mut updated = target.clone();
    if let Some(nick) = nick {
        if user_id == actor.user_id {
            if !actor.permissions.intersects(
                Permissions::CHANGE_NICKNAME.union(Permissions::MANAGE_NICKNAMES),
            ) {
                return Err(RestError::MissingPermissions);
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
        for id in roles.into_iter().map(RoleId) {
            if !new_roles.contains(&id) {
                new_roles.push(id);
            }
        }
        for id in &new_roles {
            if guild_role_position(guild, *id).is_none() {
                return Err(RestError::UnknownRole);
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
        return Ok(Outcome::read(200, body));
    }
    let event = member_event(
        "GUILD_MEMBER_UPDATE",
        member_event_json(guild.id, &updated, cx.users),
    );
    guild.members[index] = updated;
    Ok(Outcome::write(200, body, vec![event]))
}

/// `DELETE /guilds/{g}/members/{u}`.
pub(super) fn kick(guild: &mut Guild, user_id: UserId, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    actor.require(Permissions::KICK_MEMBERS)?;
    let target = guild.member(user_id).ok_or(RestError::UnknownMember)?;
    actor.require_outranks_member(guild, target)?;
    Ok(remove_member(guild, user_id, cx))
}

/// `DELETE /users/@me/guilds/{g}`.
pub(super) fn leave(guild: &mut Guild, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    if actor.owner {
        return Err(RestError::Coded {
            status: 400,
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
) -> Result<Outcome, RestError> {
    let index = role_change_target(guild, user_id, role_id, cx)?;
    if guild.members[index].roles.contains(&role_id) {
        return Ok(Outcome::read(204, Vec::new()));
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
) -> Result<Outcome, RestError> {
    let index = role_change_target(guild, user_id, role_id, cx)?;
    if !guild.members[index].roles.contains(&role_id) {
        return Ok(Outcome::read(204, Vec::new()));
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
) -> Result<usize, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let index = guild
        .members
        .iter()
        .position(|member| member.user_id == user_id)
        .ok_or(RestError::UnknownMember)?;
    let position = guild_role_position(guild, role_id).ok_or(RestError::UnknownRole)?;
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
    Outcome::write(204, Vec::new(), vec![event])
}

/// Removes the member `user_id` (who must be one) and says GUILD_MEMBER_REMOVE.
pub(super) fn remove_member(guild: &mut Guild, user_id: UserId, cx: &OpContext<'_>) -> Outcome {
    debug_assert!(guild.member(user_id).is_some());
    guild.members.retain(|member| member.user_id != user_id);
    let event = member_event(
        "GUILD_MEMBER_REMOVE",
        guild_user_json(guild.id, user_id, cx.users),
    );
    Outcome::write(204, Vec::new(), vec![event])
}

fn resolve(member: MemberRef, cx: &OpContext<'_>) -> UserId {
    match member {
        MemberRef::User(user_id) => user_id,
        MemberRef::Me => cx.actor,
    }
}
