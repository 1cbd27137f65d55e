//! The invite routes: create and list a channel's invites, list a guild's, get, delete,
//! and accept (join the guild).
//!
//! Discord's rules (`resources/invite`, `resources/channel` "Create Channel Invite"):
//! - create: CREATE_INSTANT_INVITE in the channel (50001 when the caller cannot see
//!   it); `max_age` 0–604800 s (default 86400; 0 = forever), `max_uses` 0–100 (0 =
//!   unlimited), `temporary`, `unique` — without `unique`, an equal live invite by the
//!   same caller is answered instead of a new one; at most 1000 invites per guild
//!   (30016);
//! - list: MANAGE_CHANNELS in the channel, or MANAGE_GUILD for the guild's list;
//! - get: anyone, member or not (`with_counts` adds the approximate counts);
//! - delete: MANAGE_CHANNELS in the invite's channel, or MANAGE_GUILD; answers the
//!   invite;
//! - accept (`POST /invites/{code}`, the legacy join route): the caller becomes a
//!   member; a banned user gets 40007; an expired or used-up invite is 10006; a member
//!   gets the invite back and nothing changes. A join counts one use; the use that
//!   exhausts an invite deletes it (INVITE_DELETE), as Discord does.
//!
//! Codes are 8 characters of `[A-Za-z0-9]`, derived by a bit mixer from a fresh id of
//! `OpContext::next_id` (ids never repeat, so neither do the mixer's inputs), and
//! unique within the guild (a clash draws another id). The coordinator keeps the
//! server-wide index from code to guild and must also refuse a code another guild
//! already holds; the odds of that are 1 in 62^8 per pair.
//!
//! An invite that expired by age stays stored until deleted, but every route except
//! delete treats it as gone (10006), and lists leave it out.

use super::authority::{channel_permissions, Actor};
use super::member_forms::{InviteForm, InviteQuery};
use super::member_json::{invite_create_json, invite_delete_json, invite_json, member_event_json};
use super::member_ops::{invite_event, member_event};
use super::{OpContext, Outcome};
use super::{Parsed, Reply};
use crate::world::ids::ChannelId;
use crate::world::json::encode;
use crate::world::model::{Guild, Invite, Member};
use crate::world::permissions::Permissions;
use crate::world::Refusal;
use serde_json::Value;

/// Most invites one guild may hold.
pub const INVITES_PER_GUILD_MAX: usize = 1000;
/// Length of a generated code.
pub const INVITE_CODE_LEN: usize = 8;
/// Ids drawn for one code before giving up (a clash is already 1 in 10^14).
const CODE_ATTEMPTS_MAX: usize = 8;

const CODE_ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `POST /channels/{c}/invites`.
pub(super) fn create(
    guild: &mut Guild,
    channel_id: ChannelId,
    form: &Parsed<InviteForm>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    require_in_channel(guild, channel_id, cx, Permissions::CREATE_INSTANT_INVITE)?;
    let InviteForm {
        max_age_s,
        max_uses,
        temporary,
        unique,
    } = *form.as_ref().map_err(Clone::clone)?;

    if !unique {
        let same = guild.invites.iter().find(|invite| {
            invite.channel_id == channel_id
                && invite.inviter_id == cx.actor
                && invite.max_age_s == max_age_s
                && invite.max_uses == max_uses
                && invite.temporary == temporary
                && !invite.expired(cx.now_unix_ms)
        });
        if let Some(invite) = same {
            return Ok(Outcome::read(
                Reply::Shown,
                encode(&invite_json(guild, invite, cx.users, false)),
            ));
        }
    }
    if guild.invites.len() >= INVITES_PER_GUILD_MAX {
        return Err(Refusal::Coded {
            code: 30016,
            message: "Maximum number of invites reached (1000)",
        });
    }
    let code = fresh_code(guild, cx)?;
    let invite = Invite {
        code,
        channel_id,
        inviter_id: cx.actor,
        created_at_unix_ms: cx.now_unix_ms,
        max_age_s,
        max_uses,
        uses: 0,
        temporary,
    };
    let body = encode(&invite_json(guild, &invite, cx.users, false));
    let event = invite_event(
        "INVITE_CREATE",
        channel_id,
        invite_create_json(guild.id, &invite, cx.users),
    );
    guild.invites.push(invite);
    Ok(Outcome::write(Reply::Shown, body, vec![event]))
}

/// `GET /channels/{c}/invites`.
pub(super) fn list_channel(
    guild: &Guild,
    channel_id: ChannelId,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    require_in_channel(guild, channel_id, cx, Permissions::MANAGE_CHANNELS)?;
    Ok(live_invites(guild, cx, |invite| {
        invite.channel_id == channel_id
    }))
}

/// `GET /guilds/{g}/invites`.
pub(super) fn list_guild(guild: &Guild, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?.require(Permissions::MANAGE_GUILD)?;
    Ok(live_invites(guild, cx, |_| true))
}

/// `GET /invites/{code}?with_counts&with_expiration`.
pub(super) fn get(
    guild: &Guild,
    code: &str,
    query: &Parsed<InviteQuery>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let InviteQuery { with_counts } = *query.as_ref().map_err(Clone::clone)?;
    let invite = live_invite(guild, code, cx)?;
    Ok(Outcome::read(
        Reply::Shown,
        encode(&{
            let mut value = invite_json(guild, invite, cx.users, with_counts);
            if with_counts {
                value["approximate_presence_count"] = super::online_count(guild, cx).into();
            }
            value
        }),
    ))
}

/// `DELETE /invites/{code}`.
pub(super) fn delete(
    guild: &mut Guild,
    code: &str,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    let index = guild
        .invites
        .iter()
        .position(|invite| invite.code == code)
        .ok_or(Refusal::UnknownInvite)?;
    let invite = &guild.invites[index];
    let in_channel = guild
        .channel(invite.channel_id)
        .map_or(Permissions::NONE, |channel| {
            channel_permissions(guild, channel, actor.user_id, cx.now_unix_ms)
        });
    if !actor.permissions.contains(Permissions::MANAGE_GUILD)
        && !in_channel.contains(Permissions::MANAGE_CHANNELS)
    {
        return Err(Refusal::MissingPermissions);
    }
    let body = encode(&invite_json(guild, invite, cx.users, false));
    let invite = guild.invites.remove(index);
    let event = invite_event(
        "INVITE_DELETE",
        invite.channel_id,
        invite_delete_json(guild.id, &invite),
    );
    Ok(Outcome::write(Reply::Shown, body, vec![event]))
}

/// Most members one guild holds. Why this number: a guild is stored whole (one value,
/// `persist::put_guild`, about 190 bytes a member), and every join rewrites it, so the
/// value must stay far below the store's 16 MiB limit (25,000 members is about 5 MB) and
/// one join's write bounded. A guild past it refuses new members with Discord's 30019.
pub const MEMBERS_MAX: usize = 25_000;

/// `POST /invites/{code}`: the caller joins (at most [`MEMBERS_MAX`] members).
pub(super) fn accept(
    guild: &mut Guild,
    code: &str,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let index = guild
        .invites
        .iter()
        .position(|invite| invite.code == code && !invite.expired(cx.now_unix_ms))
        .ok_or(Refusal::UnknownInvite)?;
    if guild.bans.iter().any(|ban| ban.user_id == cx.actor) {
        return Err(Refusal::UserBanned);
    }
    if guild.member(cx.actor).is_some() {
        let invite = &guild.invites[index];
        return Ok(Outcome::read(
            Reply::Shown,
            encode(&invite_json(guild, invite, cx.users, false)),
        ));
    }
    if cx.users.user(cx.actor).is_none() {
        return Err(Refusal::UnknownUser);
    }
    if guild.members.len() >= MEMBERS_MAX {
        return Err(Refusal::Coded {
            code: 30019,
            message: "Maximum number of server members reached",
        });
    }
    let member = Member {
        user_id: cx.actor,
        nick: None,
        roles: Vec::new(),
        joined_at_unix_ms: cx.now_unix_ms,
        deaf: false,
        mute: false,
        flags: 0,
        pending: false,
        communication_disabled_until_unix_ms: None,
    };
    let mut events = vec![member_event(
        "GUILD_MEMBER_ADD",
        member_event_json(guild.id, &member, cx.users),
    )];
    guild.members.push(member);
    let invite = &mut guild.invites[index];
    invite.uses = invite.uses.saturating_add(1);
    let invite = invite.clone();
    if invite.expired(cx.now_unix_ms) {
        guild.invites.remove(index);
        events.push(invite_event(
            "INVITE_DELETE",
            invite.channel_id,
            invite_delete_json(guild.id, &invite),
        ));
    }
    let body = encode(&invite_json(guild, &invite, cx.users, false));
    Ok(Outcome::write(Reply::Shown, body, events))
}

/// 10003 unless the channel is the guild's, 50001 unless the caller sees it, 50013
/// unless they hold `needed` there.
fn require_in_channel(
    guild: &Guild,
    channel_id: ChannelId,
    cx: &OpContext<'_>,
    needed: Permissions,
) -> Result<(), Refusal> {
    let channel = guild.channel(channel_id).ok_or(Refusal::UnknownChannel)?;
    let permissions = channel_permissions(guild, channel, cx.actor, cx.now_unix_ms);
    if !permissions.contains(Permissions::VIEW_CHANNEL) {
        return Err(Refusal::MissingAccess);
    }
    if !permissions.contains(needed) {
        return Err(Refusal::MissingPermissions);
    }
    Ok(())
}

fn live_invite<'g>(
    guild: &'g Guild,
    code: &str,
    cx: &OpContext<'_>,
) -> Result<&'g Invite, Refusal> {
    guild
        .invites
        .iter()
        .find(|invite| invite.code == code && !invite.expired(cx.now_unix_ms))
        .ok_or(Refusal::UnknownInvite)
}

fn live_invites(guild: &Guild, cx: &OpContext<'_>, keep: impl Fn(&Invite) -> bool) -> Outcome {
    let list: Vec<Value> = guild
        .invites
        .iter()
        .filter(|invite| keep(invite) && !invite.expired(cx.now_unix_ms))
        .map(|invite| invite_json(guild, invite, cx.users, false))
        .collect();
    Outcome::read(Reply::Shown, encode(&Value::Array(list)))
}

/// A code no invite of `guild` has, from fresh ids.
fn fresh_code(guild: &Guild, cx: &mut OpContext<'_>) -> Result<String, Refusal> {
    for _ in 0..CODE_ATTEMPTS_MAX {
        let code = invite_code((cx.random)()?);
        if !guild.invites.iter().any(|invite| invite.code == code) {
            return Ok(code);
        }
    }
    Err(Refusal::StoreFailed)
}

/// The code of `seed`, 64 random bits (`OpContext::random`, the OS's CSPRNG):
/// [`INVITE_CODE_LEN`] base-62 digits of them, run through SplitMix64's finaliser so that
/// any seed (a test's constant too) spreads over the alphabet. A code cannot be guessed
/// from the time it was made.
pub fn invite_code(seed: u64) -> String {
    let mut mixed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^= mixed >> 31;
    let mut code = String::with_capacity(INVITE_CODE_LEN);
    for _ in 0..INVITE_CODE_LEN {
        // `mixed % 62` < 62, the alphabet's length.
        code.push(char::from(CODE_ALPHABET[(mixed % 62) as usize]));
        mixed /= 62;
    }
    code
}

#[cfg(test)]
mod tests {
    use super::super::member_fixture::{event_names, json_of, Fixture, NOW};
    use super::*;
    use crate::gateway::Intents;
    use crate::rest::Method;
    use crate::world::guild_ops::Audience;
    use crate::world::ids::UserId;
    use crate::world::model::{OverwriteTarget, PermissionOverwrite};

    fn channel_invites(f: &Fixture, channel: ChannelId) -> String {
        let _ = f;
        format!("/api/v10/channels/{channel}/invites")
    }

    #[test]
    fn create_with_defaults_and_limits() {
        let mut f = Fixture::new();
        let path = channel_invites(&f, f.text);
        let out = f.run(f.plain, Method::Post, &path, "", "").unwrap();
        let invite = json_of(&out);
        let code = invite["code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), INVITE_CODE_LEN);
        assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(invite["max_age"], 86_400);
        assert_eq!(invite["max_uses"], 0);
        assert_eq!(invite["uses"], 0);
        assert_eq!(invite["inviter"]["id"], f.plain.to_string());
        assert_eq!(invite["channel"]["id"], f.text.to_string());
        assert_eq!(event_names(&out), ["INVITE_CREATE"]);
        assert_eq!(out.events[0].intents, Intents::GUILD_INVITES);
        assert_eq!(
            out.events[0].audience,
            Audience::ChannelPermission(f.text, Permissions::MANAGE_CHANNELS)
        );
        assert!(f.guild.invites.iter().any(|invite| invite.code == code));
        // Without `unique`, the same settings give the same invite back.
        let again = f.run(f.plain, Method::Post, &path, "", "{}").unwrap();
        assert!(!again.changed);
        assert_eq!(json_of(&again)["code"], code.as_str());
        let unique = f
            .run(f.plain, Method::Post, &path, "", r#"{"unique":true}"#)
            .unwrap();
        assert_ne!(json_of(&unique)["code"], code.as_str());
        let custom = r#"{"max_age":0,"max_uses":100,"temporary":true}"#;
        let out = f.run(f.plain, Method::Post, &path, "", custom).unwrap();
        let invite = json_of(&out);
        assert!(invite["expires_at"].is_null());
        assert_eq!(
            (invite["max_uses"].as_u64(), invite["temporary"].as_bool()),
            (Some(100), Some(true))
        );
        for body in [
            r#"{"max_age":604801}"#,
            r#"{"max_uses":101}"#,
            r#"{"temporary":1}"#,
        ] {
            assert!(matches!(
                f.run(f.plain, Method::Post, &path, "", body),
                Err(Refusal::InvalidFormBody { .. })
            ));
        }
    }

    #[test]
    fn codes_come_from_the_secure_random_source_not_the_clock() {
        let mut f = Fixture::new();
        let path = channel_invites(&f, f.text);
        let mut codes = Vec::new();
        for _ in 0..3 {
            // The fixture's stand-in for the OS CSPRNG gives its next value to the code.
            let expected = invite_code(f.random_seed + 0x9E37_79B9);
            let ids_before = f.next_id;
            let out = f
                .run(f.owner, Method::Post, &path, "", r#"{"unique":true}"#)
                .unwrap();
            let code = json_of(&out)["code"].as_str().unwrap().to_string();
            assert_eq!(code, expected);
            assert_ne!(
                code,
                invite_code(ids_before + 1),
                "not the next Snowflake's mix"
            );
            codes.push(code);
        }
        codes.dedup();
        assert_eq!(codes.len(), 3);
    }

    #[test]
    fn create_refusals() {
        let mut f = Fixture::new();
        let path = channel_invites(&f, f.text);
        assert_eq!(
            f.run(f.outsider, Method::Post, &path, "", "").unwrap_err(),
            Refusal::UnknownGuild
        );
        assert_eq!(
            f.run(
                f.plain,
                Method::Post,
                &channel_invites(&f, ChannelId(5)),
                "",
                ""
            )
            .unwrap_err(),
            Refusal::UnknownChannel
        );
        let everyone = f.guild.id.everyone_role();
        let deny = |bits: Permissions| PermissionOverwrite {
            target: OverwriteTarget::Role(everyone),
            allow: 0,
            deny: bits.bits(),
        };
        f.guild.channels[1]
            .permission_overwrites
            .push(deny(Permissions::CREATE_INSTANT_INVITE));
        let voice = channel_invites(&f, f.voice);
        assert_eq!(
            f.run(f.plain, Method::Post, &voice, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
        f.guild.channels[1].permission_overwrites[0] =
            deny(Permissions::CREATE_INSTANT_INVITE | Permissions::VIEW_CHANNEL);
        assert_eq!(
            f.run(f.plain, Method::Post, &voice, "", "").unwrap_err(),
            Refusal::MissingAccess
        );
        f.run(f.moderator, Method::Post, &voice, "", "")
            .unwrap_err();
        f.run(f.admin, Method::Post, &voice, "", "").unwrap();
        while f.guild.invites.len() < INVITES_PER_GUILD_MAX {
            f.run(f.owner, Method::Post, &path, "", r#"{"unique":true}"#)
                .unwrap();
        }
        let full = f
            .run(f.owner, Method::Post, &path, "", r#"{"unique":true}"#)
            .unwrap_err();
        assert_eq!(full.status(), 400);
    }

    #[test]
    fn lists_leave_out_expired_invites() {
        let mut f = Fixture::new();
        let path = channel_invites(&f, f.text);
        let out = f.run(f.moderator, Method::Get, &path, "", "").unwrap();
        let codes: Vec<String> = json_of(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|invite| invite["code"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(codes, ["live"]);
        assert_eq!(
            f.run(f.plain, Method::Get, &path, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
        let guild = f.guild_path("/invites");
        let out = f.run(f.moderator, Method::Get, &guild, "", "").unwrap();
        assert_eq!(json_of(&out).as_array().unwrap().len(), 1);
        assert_eq!(
            f.run(f.helper, Method::Get, &guild, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
    }

    #[test]
    fn get_is_open_to_anyone() {
        let mut f = Fixture::new();
        let out = f
            .run(
                f.outsider,
                Method::Get,
                "/api/v10/invites/live",
                "with_counts=true",
                "",
            )
            .unwrap();
        let invite = json_of(&out);
        assert_eq!(invite["guild"]["id"], f.guild.id.to_string());
        assert_eq!(
            invite["approximate_member_count"].as_u64(),
            Some(f.guild.members.len() as u64)
        );
        let plain = f
            .run(f.outsider, Method::Get, "/api/v10/invites/live", "", "")
            .unwrap();
        assert!(json_of(&plain).get("approximate_member_count").is_none());
        assert_eq!(
            f.run(f.outsider, Method::Get, "/api/v10/invites/old", "", "")
                .unwrap_err(),
            Refusal::UnknownInvite
        );
        assert_eq!(
            f.run(f.outsider, Method::Get, "/api/v10/invites/none", "", "")
                .unwrap_err(),
            Refusal::UnknownInvite
        );
        assert!(f
            .run(
                f.outsider,
                Method::Get,
                "/api/v10/invites/live",
                "with_counts=maybe",
                ""
            )
            .is_err());
    }

    #[test]
    fn delete_needs_manage_channels_or_manage_guild() {
        let mut f = Fixture::new();
        let path = "/api/v10/invites/live";
        assert_eq!(
            f.run(f.plain, Method::Delete, path, "", "").unwrap_err(),
            Refusal::MissingPermissions
        );
        assert_eq!(
            f.run(f.outsider, Method::Delete, path, "", "").unwrap_err(),
            Refusal::UnknownGuild
        );
        let out = f.run(f.moderator, Method::Delete, path, "", "").unwrap();
        assert_eq!(json_of(&out)["code"], "live");
        assert_eq!(event_names(&out), ["INVITE_DELETE"]);
        assert_eq!(out.events[0].d["code"], "live");
        assert_eq!(
            f.run(f.moderator, Method::Delete, path, "", "")
                .unwrap_err(),
            Refusal::UnknownInvite
        );
        // An expired invite can still be deleted.
        f.run(f.owner, Method::Delete, "/api/v10/invites/old", "", "")
            .unwrap();
        assert!(f.guild.invites.is_empty());
    }

    #[test]
    fn a_full_guild_takes_no_new_member() {
        let mut f = Fixture::new();
        let template = f.guild.members[0].clone();
        let mut next = 1u64 << 50;
        while f.guild.members.len() < MEMBERS_MAX {
            next += 1;
            f.guild.members.push(Member {
                user_id: UserId(next),
                ..template.clone()
            });
        }
        let refused = f
            .run(f.outsider, Method::Post, "/api/v10/invites/live", "", "")
            .unwrap_err();
        assert!(
            matches!(refused, Refusal::Coded { code: 30019, .. }),
            "{refused:?}"
        );
        assert!(f.member(f.outsider).is_none());
        f.guild.members.pop();
        f.run(f.outsider, Method::Post, "/api/v10/invites/live", "", "")
            .unwrap();
    }

    #[test]
    fn accept_joins_and_counts_uses() {
        let mut f = Fixture::new();
        let path = "/api/v10/invites/live";
        let out = f.run(f.outsider, Method::Post, path, "", "").unwrap();
        assert_eq!(event_names(&out), ["GUILD_MEMBER_ADD"]);
        assert_eq!(out.events[0].intents, Intents::GUILD_MEMBERS);
        assert_eq!(out.events[0].d["user"]["id"], f.outsider.to_string());
        assert_eq!(out.events[0].d["guild_id"], f.guild.id.to_string());
        let member = f.member(f.outsider).unwrap();
        assert_eq!((member.joined_at_unix_ms, member.roles.len()), (NOW, 0));
        assert_eq!(json_of(&out)["uses"], 1);
        // A member gets the invite back, unchanged.
        let again = f.run(f.outsider, Method::Post, path, "", "").unwrap();
        assert!(!again.changed);
        assert_eq!(json_of(&again)["uses"], 1);
        assert_eq!(
            f.run(f.banned, Method::Post, path, "", "").unwrap_err(),
            Refusal::UserBanned
        );
        // The second and last use deletes the invite.
        f.guild.members.retain(|member| member.user_id != f.plain);
        let out = f.run(f.plain, Method::Post, path, "", "").unwrap();
        assert_eq!(event_names(&out), ["GUILD_MEMBER_ADD", "INVITE_DELETE"]);
        assert_eq!(json_of(&out)["uses"], 2);
        assert!(f.guild.invites.iter().all(|invite| invite.code != "live"));
        assert_eq!(
            f.run(f.banned, Method::Post, path, "", "").unwrap_err(),
            Refusal::UnknownInvite
        );
        assert_eq!(
            f.run(f.banned, Method::Post, "/api/v10/invites/old", "", "")
                .unwrap_err(),
            Refusal::UnknownInvite
        );
    }

    #[test]
    fn an_unknown_user_cannot_join() {
        let mut f = Fixture::new();
        assert_eq!(
            f.run(UserId(31337), Method::Post, "/api/v10/invites/live", "", "")
                .unwrap_err(),
            Refusal::UnknownUser
        );
    }

    #[test]
    fn codes_differ_for_consecutive_ids() {
        let codes: std::collections::HashSet<String> = (0..10_000u64).map(invite_code).collect();
        assert_eq!(codes.len(), 10_000);
        assert!(codes.iter().all(|code| code.len() == INVITE_CODE_LEN));
    }
}
