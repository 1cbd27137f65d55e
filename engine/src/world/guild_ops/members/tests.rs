//! The member routes' rules against the member fixture: list and search, edits (nick,
//! roles, mute, deaf, timeouts, voice moves), kicks and leaving.

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
    let unknown_member = f.guild_path(&format!("/members/{}/roles/{}", f.outsider, f.helper_role));
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
