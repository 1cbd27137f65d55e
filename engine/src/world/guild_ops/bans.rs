//! The ban routes: list, get, create (which removes the member) and remove.
//!
//! Discord's rules (`resources/guild`, "Get Guild Bans", "Create/Remove Guild Ban"):
//! every ban route needs BAN_MEMBERS; list takes `limit` 1–1000 (default 1000) and
//! `before` / `after` user ids, sorted by user id (`before` returns the bans just below
//! it); banning a member needs a higher role and never reaches the owner; a user who is
//! not a member can be banned too, if the server knows them (else 10013); banning an
//! already banned user changes nothing (204); removing a ban that does not exist is
//! 10026 Unknown Ban.
//!
//! `delete_message_seconds` (0–604800) and the deprecated `delete_message_days` (0–7)
//! are validated (by `rest::member_bodies`) but **no messages are deleted**: messages live in the channels' stores
//! on the owner core, outside the `Guild` value this operation changes. `reason` may be
//! given in the body (at most 512 characters); the REST layer puts the
//! `X-Audit-Log-Reason` header there when the body has none, as discord.py sends it only
//! so (`rest::member_routes::ban_body_with_audit_reason`; Flux has no audit log).

use super::authority::Actor;
use super::member_forms::{BanForm, BanListQuery};
use super::member_json::{ban_json, guild_user_json};
use super::member_ops::{ban_event, member_event};
use super::{OpContext, Outcome};
use super::{Parsed, Reply};
use crate::world::ids::UserId;
use crate::world::json::encode;
use crate::world::model::{Ban, Guild};
use crate::world::permissions::Permissions;
use crate::world::Refusal;
use serde_json::Value;

/// `GET /guilds/{g}/bans?limit&before&after`.
pub(super) fn list(
    guild: &Guild,
    query: &Parsed<BanListQuery>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?.require(Permissions::BAN_MEMBERS)?;
    let BanListQuery {
        limit,
        before,
        after,
    } = *query.as_ref().map_err(Clone::clone)?;
    let mut bans: Vec<&Ban> = guild
        .bans
        .iter()
        .filter(|ban| after.is_none_or(|after| ban.user_id.0 > after))
        .filter(|ban| before.is_none_or(|before| ban.user_id.0 < before))
        .collect();
    bans.sort_unstable_by_key(|ban| ban.user_id);
    // With only `before`, the page is the bans just below it; otherwise from the start.
    let skip = if before.is_some() && after.is_none() {
        bans.len().saturating_sub(limit)
    } else {
        0
    };
    let page: Vec<Value> = bans
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|ban| ban_json(cx.users, ban))
        .collect();
    Ok(Outcome::read(Reply::Shown, encode(&Value::Array(page))))
}

/// `GET /guilds/{g}/bans/{u}`.
pub(super) fn get(guild: &Guild, user_id: UserId, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?.require(Permissions::BAN_MEMBERS)?;
    let ban = guild
        .bans
        .iter()
        .find(|ban| ban.user_id == user_id)
        .ok_or(Refusal::UnknownBan)?;
    Ok(Outcome::read(
        Reply::Shown,
        encode(&ban_json(cx.users, ban)),
    ))
}

/// `PUT /guilds/{g}/bans/{u}`.
pub(super) fn create(
    guild: &mut Guild,
    user_id: UserId,
    form: &Parsed<BanForm>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    actor.require(Permissions::BAN_MEMBERS)?;
    let reason = form.as_ref().map_err(Clone::clone)?.reason.clone();
    let member = guild.member(user_id);
    match member {
        Some(member) => actor.require_outranks_member(guild, member)?,
        None if cx.users.user(user_id).is_none() => return Err(Refusal::UnknownUser),
        None => {}
    }
    if guild.bans.iter().any(|ban| ban.user_id == user_id) {
        return Ok(Outcome::read(Reply::Done, Vec::new()));
    }
    let was_member = member.is_some();
    guild.bans.push(Ban { user_id, reason });
    let mut events = vec![ban_event(
        "GUILD_BAN_ADD",
        guild_user_json(guild.id, user_id, cx.users),
    )];
    if was_member {
        guild.members.retain(|member| member.user_id != user_id);
        events.push(member_event(
            "GUILD_MEMBER_REMOVE",
            guild_user_json(guild.id, user_id, cx.users),
        ));
    }
    Ok(Outcome::write(Reply::Done, Vec::new(), events))
}

/// `DELETE /guilds/{g}/bans/{u}`.
pub(super) fn remove(
    guild: &mut Guild,
    user_id: UserId,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?.require(Permissions::BAN_MEMBERS)?;
    let index = guild
        .bans
        .iter()
        .position(|ban| ban.user_id == user_id)
        .ok_or(Refusal::UnknownBan)?;
    guild.bans.remove(index);
    let event = ban_event(
        "GUILD_BAN_REMOVE",
        guild_user_json(guild.id, user_id, cx.users),
    );
    Ok(Outcome::write(Reply::Done, Vec::new(), vec![event]))
}

#[cfg(test)]
mod tests {
    use super::super::member_fixture::{event_names, json_of, Fixture};
    use super::*;
    use crate::gateway::Intents;
    use crate::rest::Method;
    use crate::world::guild_ops::Audience;

    fn ban_path(f: &Fixture, user: UserId) -> String {
        f.guild_path(&format!("/bans/{user}"))
    }

    #[test]
    fn ban_a_member_removes_them() {
        let mut f = Fixture::new();
        let path = ban_path(&f, f.plain);
        let body = r#"{"delete_message_seconds":3600,"reason":"rude"}"#;
        let out = f.run(f.moderator, Method::Put, &path, "", body).unwrap();
        assert_eq!((out.reply, out.changed), (Reply::Done, true));
        assert_eq!(event_names(&out), ["GUILD_BAN_ADD", "GUILD_MEMBER_REMOVE"]);
        assert_eq!(out.events[0].intents, Intents::GUILD_MODERATION);
        assert_eq!(out.events[1].intents, Intents::GUILD_MEMBERS);
        assert!(out.events.iter().all(|e| e.audience == Audience::Guild));
        assert_eq!(out.events[0].d["user"]["id"], f.plain.to_string());
        assert!(f.member(f.plain).is_none());
        let got = f.run(f.moderator, Method::Get, &path, "", "").unwrap();
        assert_eq!(json_of(&got)["reason"], "rude");
        // Banning again changes nothing.
        let again = f.run(f.moderator, Method::Put, &path, "", "").unwrap();
        assert!(!again.changed && again.events.is_empty());
    }

    #[test]
    fn a_timed_out_moderator_may_not_ban_kick_or_edit_roles() {
        use super::super::member_fixture::NOW;
        let mut f = Fixture::new();
        let moderator = f.moderator;
        let timed_out_until = |f: &mut Fixture, until: Option<u64>| {
            let index = f.guild.members.iter().position(|m| m.user_id == moderator);
            f.guild.members[index.unwrap()].communication_disabled_until_unix_ms = until;
        };
        timed_out_until(&mut f, Some(NOW + 60_000));
        let ban = ban_path(&f, f.plain);
        let kick = f.guild_path(&format!("/members/{}", f.plain));
        let role = f.guild_path(&format!("/members/{}/roles/{}", f.plain, f.helper_role));
        let before = f.guild.clone();
        for (method, path) in [
            (Method::Put, &ban),
            (Method::Delete, &kick),
            (Method::Put, &role),
        ] {
            let refused = f.run(moderator, method, path, "", "").unwrap_err();
            assert_eq!(refused, Refusal::MissingPermissions, "{method:?} {path}");
        }
        assert_eq!(f.guild, before, "a refusal changes nothing");
        // Once the timeout has passed, the same ban goes through.
        timed_out_until(&mut f, Some(NOW - 1));
        let out = f.run(moderator, Method::Put, &ban, "", "").unwrap();
        assert_eq!((out.reply, out.changed), (Reply::Done, true));
    }

    #[test]
    fn ban_a_non_member_and_the_rules() {
        let mut f = Fixture::new();
        let outsider = ban_path(&f, f.outsider);
        let out = f.run(f.moderator, Method::Put, &outsider, "", "").unwrap();
        assert_eq!(event_names(&out), ["GUILD_BAN_ADD"]);
        assert_eq!(
            f.run(
                f.moderator,
                Method::Put,
                &ban_path(&f, UserId(424242)),
                "",
                ""
            )
            .unwrap_err(),
            Refusal::UnknownUser
        );
        assert_eq!(
            f.run(f.plain, Method::Put, &ban_path(&f, f.bot), "", "")
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        assert_eq!(
            f.run(f.moderator, Method::Put, &ban_path(&f, f.admin), "", "")
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        assert_eq!(
            f.run(f.admin, Method::Put, &ban_path(&f, f.owner), "", "")
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        for body in [
            r#"{"delete_message_seconds":604801}"#,
            r#"{"delete_message_days":8}"#,
            r#"{"reason":5}"#,
        ] {
            assert!(matches!(
                f.run(f.owner, Method::Put, &ban_path(&f, f.plain), "", body),
                Err(Refusal::InvalidFormBody { .. })
            ));
        }
        assert!(f.member(f.plain).is_some());
    }

    #[test]
    fn unban_and_unknown_ban() {
        let mut f = Fixture::new();
        let path = ban_path(&f, f.banned);
        assert_eq!(
            f.run(f.plain, Method::Delete, &path, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
        let out = f.run(f.moderator, Method::Delete, &path, "", "").unwrap();
        assert_eq!(event_names(&out), ["GUILD_BAN_REMOVE"]);
        assert!(f.guild.bans.is_empty());
        assert_eq!(
            f.run(f.moderator, Method::Delete, &path, "", "")
                .unwrap_err(),
            Refusal::UnknownBan
        );
        assert_eq!(
            f.run(f.moderator, Method::Get, &path, "", "").unwrap_err(),
            Refusal::UnknownBan
        );
    }

    #[test]
    fn list_pages_before_and_after() {
        let mut f = Fixture::new();
        f.guild.bans = (1..=5)
            .map(|n| Ban {
                user_id: UserId(n * 10),
                reason: None,
            })
            .collect();
        let path = f.guild_path("/bans");
        let ids = |f: &mut Fixture, query: &str| -> Vec<String> {
            let out = f.run(f.moderator, Method::Get, &path, query, "").unwrap();
            json_of(&out)
                .as_array()
                .unwrap()
                .iter()
                .map(|ban| ban["user"]["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids(&mut f, ""), ["10", "20", "30", "40", "50"]);
        assert_eq!(ids(&mut f, "limit=2"), ["10", "20"]);
        assert_eq!(ids(&mut f, "after=20&limit=2"), ["30", "40"]);
        assert_eq!(ids(&mut f, "before=40&limit=2"), ["20", "30"]);
        assert_eq!(ids(&mut f, "before=50&after=10"), ["20", "30", "40"]);
        assert!(f
            .run(f.moderator, Method::Get, &path, "limit=0", "")
            .is_err());
        assert_eq!(
            f.run(f.plain, Method::Get, &path, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
        assert_eq!(
            f.run(f.outsider, Method::Get, &path, "", "").unwrap_err(),
            Refusal::UnknownGuild
        );
    }
}
