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
mod tests {
    use super::super::member_fixture::{event_names, json_of, Fixture};
    use super::*;
    use crate::gateway::Intents;
    use crate::rest::Method;
    use crate::world::guild_ops::Audience;

    fn member_path(f: &Fixture, user: UserId) -> String {
        f.guild_path(&format!("/members/{user}"))
    }

    #[test]
    fn timeouts_need_moderate_members_and_rank_and_take_permissions_away() {
        use super::super::member_fixture::NOW;
        use crate::world::permissions::GuildSnapshot;
        let mut f = Fixture::new();
        let plain = member_path(&f, f.plain);
        let in_an_hour = crate::world::iso8601_from_unix_ms(NOW + 3_600_000);
        let body = format!(r#"{{"communication_disabled_until":"{in_an_hour}"}}"#);
        // Without MODERATE_MEMBERS, refused; the owner may.
        assert_eq!(
            f.run(
                f.plain,
                Method::Patch,
                &member_path(&f, f.helper),
                "",
                &body
            )
            .unwrap_err(),
            Refusal::MissingPermissions
        );
        let outcome = f.run(f.owner, Method::Patch, &plain, "", &body).unwrap();
        assert_eq!(event_names(&outcome), ["GUILD_MEMBER_UPDATE"]);
        let answer = json_of(&outcome);
        assert_eq!(answer["communication_disabled_until"], in_an_hour.as_str());
        let stored = f.guild.member(f.plain).unwrap();
        assert_eq!(
            stored.communication_disabled_until_unix_ms,
            Some(NOW + 3_600_000)
        );
        // While it lasts, the member keeps only VIEW_CHANNEL and READ_MESSAGE_HISTORY.
        let snapshot = GuildSnapshot::of_guild(&f.guild);
        let member = snapshot.member(f.plain).unwrap();
        let during = snapshot.guild_permissions(member, NOW + 1);
        assert!(!during.contains(Permissions::SEND_MESSAGES));
        assert!(during.contains(Permissions::VIEW_CHANNEL));
        let after = snapshot.guild_permissions(member, NOW + 3_600_001);
        assert!(after.contains(Permissions::SEND_MESSAGES));
        // More than 28 days, a bad time, the owner and administrators: refused.
        let far = crate::world::iso8601_from_unix_ms(NOW + TIMEOUT_MS_MAX + 60_000);
        assert!(matches!(
            f.run(
                f.owner,
                Method::Patch,
                &plain,
                "",
                &format!(r#"{{"communication_disabled_until":"{far}"}}"#)
            ),
            Err(Refusal::InvalidFormBody {
                code: "DATE_TIME_OUT_OF_RANGE",
                ..
            })
        ));
        assert!(matches!(
            f.run(
                f.owner,
                Method::Patch,
                &plain,
                "",
                r#"{"communication_disabled_until":"soon"}"#
            ),
            Err(Refusal::InvalidFormBody {
                code: "DATE_TIME_INVALID",
                ..
            })
        ));
        assert_eq!(
            f.run(f.owner, Method::Patch, &member_path(&f, f.admin), "", &body)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        // null ends it.
        let cleared = f
            .run(
                f.owner,
                Method::Patch,
                &plain,
                "",
                r#"{"communication_disabled_until":null}"#,
            )
            .unwrap();
        assert!(json_of(&cleared)["communication_disabled_until"].is_null());
        assert_eq!(
            f.guild
                .member(f.plain)
                .unwrap()
                .communication_disabled_until_unix_ms,
            None
        );
    }

    #[test]
    fn list_pages_by_user_id() {
        let mut f = Fixture::new();
        let path = f.guild_path("/members");
        let all = f
            .run(f.plain, Method::Get, &path, "limit=1000", "")
            .unwrap();
        let ids: Vec<u64> = json_of(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|member| member["user"]["id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(ids.len(), f.guild.members.len());
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
        let one = f.run(f.plain, Method::Get, &path, "", "").unwrap();
        assert_eq!(
            json_of(&one).as_array().unwrap().len(),
            1,
            "default limit is 1"
        );
        let after = format!("limit=2&after={}", ids[0]);
        let page = f.run(f.plain, Method::Get, &path, &after, "").unwrap();
        let page = json_of(&page);
        assert_eq!(page.as_array().unwrap().len(), 2);
        assert_eq!(page[0]["user"]["id"], ids[1].to_string());
        assert!(!all.changed);
        for bad in ["limit=0", "limit=1001", "limit=x", "after=-1"] {
            assert!(
                matches!(
                    f.run(f.plain, Method::Get, &path, bad, ""),
                    Err(Refusal::InvalidFormBody { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            f.run(f.outsider, Method::Get, &path, "", "").unwrap_err(),
            Refusal::UnknownGuild
        );
    }

    #[test]
    fn search_by_prefix() {
        let mut f = Fixture::new();
        let path = f.guild_path("/members/search");
        let names = |f: &mut Fixture, query: &str| -> Vec<String> {
            let out = f.run(f.plain, Method::Get, &path, query, "").unwrap();
            json_of(&out)
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["user"]["username"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&mut f, "query=MOD&limit=10"), ["moderator"]);
        assert_eq!(names(&mut f, "query=flux-bot&limit=10").len(), 2);
        assert_eq!(
            names(&mut f, "query=flux-bot").len(),
            1,
            "default limit is 1"
        );
        assert!(names(&mut f, "query=zzz").is_empty());
        let me = f.guild_path("/members/@me");
        f.run(f.plain, Method::Patch, &me, "", r#"{"nick":"Zed Z"}"#)
            .unwrap();
        assert_eq!(names(&mut f, "query=zed%20z"), ["plain"]);
        assert_eq!(names(&mut f, "query=zed+"), ["plain"]);
        for bad in ["", "limit=5", "query=%zz", "query=a&limit=0"] {
            assert!(
                matches!(
                    f.run(f.plain, Method::Get, &path, bad, ""),
                    Err(Refusal::InvalidFormBody { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            f.run(f.outsider, Method::Get, &path, "query=a", "")
                .unwrap_err(),
            Refusal::UnknownGuild
        );
    }

    #[test]
    fn get_member_and_me() {
        let mut f = Fixture::new();
        let path = member_path(&f, f.moderator);
        let got = f.run(f.plain, Method::Get, &path, "", "").unwrap();
        assert_eq!(json_of(&got)["user"]["id"], f.moderator.to_string());
        assert_eq!(json_of(&got)["roles"][0], f.mod_role.to_string());
        let me = f
            .run(f.plain, Method::Get, &f.guild_path("/members/@me"), "", "")
            .unwrap();
        assert_eq!(json_of(&me)["user"]["id"], f.plain.to_string());
        let missing = member_path(&f, f.outsider);
        assert_eq!(
            f.run(f.plain, Method::Get, &missing, "", "").unwrap_err(),
            Refusal::UnknownMember
        );
        assert_eq!(
            f.run(f.outsider, Method::Get, &path, "", "").unwrap_err(),
            Refusal::UnknownGuild
        );
    }

    #[test]
    fn nick_changes_follow_the_rules() {
        let mut f = Fixture::new();
        // Own nick via @me needs CHANGE_NICKNAME, which @everyone has in the demo.
        let me = f.guild_path("/members/@me");
        let out = f
            .run(
                f.plain,
                Method::Patch,
                &me,
                "",
                r#"{"nick":"Plain","roles":["1"]}"#,
            )
            .unwrap();
        assert_eq!(json_of(&out)["nick"], "Plain");
        assert_eq!(event_names(&out), ["GUILD_MEMBER_UPDATE"]);
        assert_eq!(out.events[0].intents, Intents::GUILD_MEMBERS);
        assert_eq!(out.events[0].audience, Audience::Guild);
        assert_eq!(out.events[0].d["guild_id"], f.guild.id.to_string());
        assert_eq!(f.member(f.plain).unwrap().nick.as_deref(), Some("Plain"));
        assert!(
            f.member(f.plain).unwrap().roles.is_empty(),
            "@me ignores roles"
        );
        // The same nick again changes nothing.
        let again = f
            .run(f.plain, Method::Patch, &me, "", r#"{"nick":"Plain"}"#)
            .unwrap();
        assert!(!again.changed && again.events.is_empty());
        // "" resets it.
        f.run(f.plain, Method::Patch, &me, "", r#"{"nick":""}"#)
            .unwrap();
        assert_eq!(f.member(f.plain).unwrap().nick, None);
        // Another member's nick: MANAGE_NICKNAMES and a higher role.
        let plain = member_path(&f, f.plain);
        f.run(f.moderator, Method::Patch, &plain, "", r#"{"nick":"x"}"#)
            .unwrap();
        assert_eq!(
            f.run(f.helper, Method::Patch, &plain, "", r#"{"nick":"y"}"#)
                .unwrap_err(),
            Refusal::MissingPermissions,
            "the helper lacks MANAGE_NICKNAMES"
        );
        let admin = member_path(&f, f.admin);
        assert_eq!(
            f.run(f.moderator, Method::Patch, &admin, "", r#"{"nick":"y"}"#)
                .unwrap_err(),
            Refusal::MissingPermissions,
            "the admin ranks above the moderator"
        );
        let owner = member_path(&f, f.owner);
        assert_eq!(
            f.run(f.admin, Method::Patch, &owner, "", r#"{"nick":"y"}"#)
                .unwrap_err(),
            Refusal::MissingPermissions,
            "nobody renames the owner"
        );
        let long = format!(r#"{{"nick":"{}"}}"#, "n".repeat(33));
        assert!(matches!(
            f.run(f.owner, Method::Patch, &plain, "", &long),
            Err(Refusal::InvalidFormBody { field: "nick", .. })
        ));
        assert_eq!(
            f.run(f.owner, Method::Patch, &plain, "", "{").unwrap_err(),
            Refusal::InvalidJson
        );
    }

    #[test]
    fn own_nick_without_change_nickname_is_refused() {
        let mut f = Fixture::new();
        let everyone = f.guild.id.everyone_role();
        for role in &mut f.guild.roles {
            if role.id == everyone {
                role.permissions &= !Permissions::CHANGE_NICKNAME.bits();
            }
        }
        let me = f.guild_path("/members/@me");
        assert_eq!(
            f.run(f.plain, Method::Patch, &me, "", r#"{"nick":"x"}"#)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
    }

    #[test]
    fn channel_id_moves_or_disconnects_a_member_in_voice() {
        let mut f = Fixture::new();
        let plain = member_path(&f, f.plain);
        let to_voice = format!(r#"{{"channel_id":"{}"}}"#, f.voice);
        // Not in voice: 40032, whoever asks.
        assert_eq!(
            f.run(f.owner, Method::Patch, &plain, "", &to_voice)
                .unwrap_err(),
            Refusal::Coded {
                code: 40032,
                message: "Target user is not connected to voice."
            }
        );
        let elsewhere = f.voice;
        f.in_voice.push((f.plain, elsewhere));
        // The moderator lacks MOVE_MEMBERS; the owner has every permission.
        assert_eq!(
            f.run(f.moderator, Method::Patch, &plain, "", &to_voice)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        let moved = f
            .run(f.owner, Method::Patch, &plain, "", &to_voice)
            .unwrap();
        assert_eq!(
            moved.voice_move,
            Some(VoiceMove {
                user: f.plain,
                to: Some(f.voice)
            })
        );
        assert!(!moved.changed, "voice states are not the guild's to store");
        let gone = f
            .run(f.owner, Method::Patch, &plain, "", r#"{"channel_id":null}"#)
            .unwrap();
        assert_eq!(gone.voice_move.map(|m| m.to), Some(None));
        // A move with a stored change carries both.
        let both = format!(r#"{{"channel_id":"{}","mute":true}}"#, f.voice);
        let out = f.run(f.owner, Method::Patch, &plain, "", &both).unwrap();
        assert!(out.changed && out.voice_move.is_some());
        // The target must be a voice channel of the guild.
        let to_text = format!(r#"{{"channel_id":"{}"}}"#, f.text);
        assert!(matches!(
            f.run(f.owner, Method::Patch, &plain, "", &to_text)
                .unwrap_err(),
            Refusal::InvalidFormBody {
                field: "channel_id",
                ..
            }
        ));
        assert_eq!(
            f.run(
                f.owner,
                Method::Patch,
                &plain,
                "",
                r#"{"channel_id":"12345"}"#
            )
            .unwrap_err(),
            Refusal::UnknownChannel
        );
        // `@me` edits only the nick: channel_id is not read there.
        let me = member_path(&f, f.owner).replace(&f.owner.0.to_string(), "@me");
        let own = f.run(f.owner, Method::Patch, &me, "", &to_voice).unwrap();
        assert_eq!(own.voice_move, None);
    }

    #[test]
    fn roles_mute_and_deaf() {
        let mut f = Fixture::new();
        let plain = member_path(&f, f.plain);
        let body = format!(
            r#"{{"roles":["{}"],"mute":true,"deaf":true}}"#,
            f.helper_role
        );
        let out = f
            .run(f.moderator, Method::Patch, &plain, "", &body)
            .unwrap();
        let member = f.member(f.plain).unwrap();
        assert_eq!(member.roles, vec![f.helper_role]);
        assert!(member.mute && member.deaf);
        assert_eq!(json_of(&out)["mute"], true);
        // A role at or above the actor's highest cannot be given or taken.
        let body = format!(r#"{{"roles":["{}"]}}"#, f.mod_role);
        assert_eq!(
            f.run(f.moderator, Method::Patch, &plain, "", &body)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        let unknown = r#"{"roles":["12345"]}"#;
        assert_eq!(
            f.run(f.moderator, Method::Patch, &plain, "", unknown)
                .unwrap_err(),
            Refusal::UnknownRole
        );
        let everyone = format!(r#"{{"roles":["{}"]}}"#, f.guild.id);
        assert_eq!(
            f.run(f.moderator, Method::Patch, &plain, "", &everyone)
                .unwrap_err(),
            Refusal::UnknownRole
        );
        // The helper has MANAGE_ROLES but no MUTE_MEMBERS.
        assert_eq!(
            f.run(f.helper, Method::Patch, &plain, "", r#"{"mute":false}"#)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        assert_eq!(
            f.run(f.plain, Method::Patch, &plain, "", r#"{"roles":[]}"#)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        assert!(matches!(
            f.run(
                f.owner,
                Method::Patch,
                &plain,
                "",
                r#"{"communication_disabled_until":"2030-01-01T00:00:00Z"}"#
            ),
            Err(Refusal::InvalidFormBody {
                field: "communication_disabled_until",
                ..
            })
        ));
        assert_eq!(
            f.run(
                f.owner,
                Method::Patch,
                &member_path(&f, f.outsider),
                "",
                "{}"
            )
            .unwrap_err(),
            Refusal::UnknownMember
        );
    }

    #[test]
    fn kick_needs_rank_and_spares_the_owner() {
        let mut f = Fixture::new();
        let plain = member_path(&f, f.plain);
        assert_eq!(
            f.run(f.bot, Method::Delete, &plain, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
        let helper = member_path(&f, f.helper);
        assert_eq!(
            f.run(f.helper, Method::Delete, &helper, "", "")
                .unwrap_err(),
            Refusal::MissingPermissions,
            "not oneself: equal rank"
        );
        let owner = member_path(&f, f.owner);
        assert_eq!(
            f.run(f.admin, Method::Delete, &owner, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
        let out = f.run(f.helper, Method::Delete, &plain, "", "").unwrap();
        assert_eq!(out.reply, Reply::Done);
        assert!(out.body.is_empty());
        assert_eq!(event_names(&out), ["GUILD_MEMBER_REMOVE"]);
        assert_eq!(out.events[0].d["user"]["id"], f.plain.to_string());
        assert!(f.member(f.plain).is_none());
        assert_eq!(
            f.run(f.helper, Method::Delete, &plain, "", "").unwrap_err(),
            Refusal::UnknownMember
        );
        f.run(f.owner, Method::Delete, &member_path(&f, f.admin), "", "")
            .unwrap();
    }

    #[test]
    fn one_role_add_and_remove() {
        let mut f = Fixture::new();
        let path = f.guild_path(&format!("/members/{}/roles/{}", f.plain, f.helper_role));
        let out = f.run(f.moderator, Method::Put, &path, "", "").unwrap();
        assert_eq!((out.reply, out.changed), (Reply::Done, true));
        assert_eq!(event_names(&out), ["GUILD_MEMBER_UPDATE"]);
        assert_eq!(out.events[0].d["roles"][0], f.helper_role.to_string());
        let again = f.run(f.moderator, Method::Put, &path, "", "").unwrap();
        assert!(!again.changed && again.events.is_empty());
        assert_eq!(
            f.run(f.helper, Method::Delete, &path, "", "").unwrap_err(),
            Refusal::MissingPermissions,
            "the helper's own rank"
        );
        let out = f.run(f.moderator, Method::Delete, &path, "", "").unwrap();
        assert!(out.changed);
        assert!(f.member(f.plain).unwrap().roles.is_empty());
        let again = f.run(f.moderator, Method::Delete, &path, "", "").unwrap();
        assert!(!again.changed);
        let unknown_role = f.guild_path(&format!("/members/{}/roles/99", f.plain));
        assert_eq!(
            f.run(f.moderator, Method::Put, &unknown_role, "", "")
                .unwrap_err(),
            Refusal::UnknownRole
        );
        let unknown_member =
            f.guild_path(&format!("/members/{}/roles/{}", f.outsider, f.helper_role));
        assert_eq!(
            f.run(f.moderator, Method::Put, &unknown_member, "", "")
                .unwrap_err(),
            Refusal::UnknownMember
        );
        assert_eq!(
            f.run(f.plain, Method::Put, &path, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
    }

    #[test]
    fn leaving() {
        let mut f = Fixture::new();
        let path = format!("/api/v10/users/@me/guilds/{}", f.guild.id);
        let out = f.run(f.plain, Method::Delete, &path, "", "").unwrap();
        assert_eq!(out.reply, Reply::Done);
        assert_eq!(event_names(&out), ["GUILD_MEMBER_REMOVE"]);
        assert!(f.member(f.plain).is_none());
        assert_eq!(
            f.run(f.plain, Method::Delete, &path, "", "").unwrap_err(),
            Refusal::UnknownGuild
        );
        let owner_leaves = f.run(f.owner, Method::Delete, &path, "", "").unwrap_err();
        assert_eq!(owner_leaves.status(), 400);
        let body: serde_json::Value = serde_json::from_slice(&owner_leaves.body()).unwrap();
        assert_eq!(body["code"], 50055);
    }

    #[test]
    fn a_route_for_another_guild_is_unknown() {
        let mut f = Fixture::new();
        let path = format!("/api/v10/guilds/{}/members", f.guild.id.0 + 1);
        assert_eq!(
            f.run(f.owner, Method::Get, &path, "", "").unwrap_err(),
            Refusal::UnknownGuild
        );
    }
}
