//! Discord JSON for bans, invites and the member, role, ban and invite dispatches.
//!
//! The objects themselves (User, Member, Role) are encoded by `world::json`, so they
//! match every other place they appear; this file wraps them into the shapes the
//! routes answer and the dispatches carry (Discord's `resources/guild`,
//! `resources/invite` and `topics/gateway-events`), every documented field present and
//! nullable ones `null`:
//! - Ban: `{reason, user}`.
//! - Invite: `type` (0, guild), `code`, `guild` (an invite guild), `channel`
//!   (`{id, name, type}`), `inviter`, `expires_at`, and the metadata `uses`, `max_uses`,
//!   `max_age`, `temporary`, `created_at`; `approximate_member_count` /
//!   `approximate_presence_count` only when asked for (`with_counts`), as on Discord
//!   (the presence count is 0 here; `invites.rs` fills it from `OpContext::online`).
//!   Flux has no presence data at the owner core, so the presence count is 0.
//! - GUILD_MEMBER_ADD / GUILD_MEMBER_UPDATE: the member object plus `guild_id`;
//!   GUILD_MEMBER_REMOVE, GUILD_BAN_ADD, GUILD_BAN_REMOVE: `{guild_id, user}`;
//!   GUILD_ROLE_CREATE / UPDATE: `{guild_id, role}`; GUILD_ROLE_DELETE:
//!   `{guild_id, role_id}`; INVITE_CREATE: the invite's channel, code, times, inviter
//!   and limits with `guild_id`; INVITE_DELETE: `{channel_id, guild_id, code}`.
//!
//! Checked against twilight-model's strict types in the tests below.

use crate::world::ids::{GuildId, RoleId, UserId};
use crate::world::json::{member_json, role_json, user_json};
use crate::world::model::{Ban, Guild, Invite, Member, Role, User, UserLookup};
use crate::world::timestamp::iso8601_from_unix_ms;
use serde_json::{json, Value};

/// The User object of `id`, or a placeholder for a user the server no longer knows
/// (a ban outlives its user's account, and a dispatch must still name the user).
pub fn user_value(users: &dyn UserLookup, id: UserId) -> Value {
    match users.user(id) {
        Some(user) => user_json(user),
        None => user_json(&placeholder_user(id)),
    }
}

/// A Member object (with a placeholder user if the user is unknown).
pub fn member_value(users: &dyn UserLookup, member: &Member) -> Value {
    match users.user(member.user_id) {
        Some(user) => member_json(member, user),
        None => member_json(member, &placeholder_user(member.user_id)),
    }
}

/// The Ban object.
pub fn ban_json(users: &dyn UserLookup, ban: &Ban) -> Value {
    json!({ "reason": ban.reason, "user": user_value(users, ban.user_id) })
}

/// The Invite object with its metadata, as the invite routes answer it.
pub fn invite_json(
    guild: &Guild,
    invite: &Invite,
    users: &dyn UserLookup,
    with_counts: bool,
) -> Value {
    let channel = guild.channel(invite.channel_id);
    let mut value = json!({
        "type": 0,
        "code": invite.code,
        "guild": invite_guild_json(guild),
        "guild_id": guild.id.to_string(),
        "channel": {
            "id": invite.channel_id.to_string(),
            "name": channel.map(|channel| channel.name.clone()),
            "type": channel.map_or(0, |channel| channel.kind.discord_type()),
        },
        "inviter": user_value(users, invite.inviter_id),
        "expires_at": expires_at(invite),
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "max_age": invite.max_age_s,
        "temporary": invite.temporary,
        "created_at": iso8601_from_unix_ms(invite.created_at_unix_ms),
        "flags": 0,
    });
    if with_counts {
        if let Value::Object(object) = &mut value {
            object.insert(
                "approximate_member_count".into(),
                guild.members.len().into(),
            );
            object.insert("approximate_presence_count".into(), 0.into());
        }
    }
    value
}

/// INVITE_CREATE's `d`.
pub fn invite_create_json(guild_id: GuildId, invite: &Invite, users: &dyn UserLookup) -> Value {
    json!({
        "channel_id": invite.channel_id.to_string(),
        "code": invite.code,
        "created_at": iso8601_from_unix_ms(invite.created_at_unix_ms),
        "expires_at": expires_at(invite),
        "guild_id": guild_id.to_string(),
        "inviter": user_value(users, invite.inviter_id),
        "max_age": invite.max_age_s,
        "max_uses": invite.max_uses,
        "temporary": invite.temporary,
        "uses": invite.uses,
    })
}

/// INVITE_DELETE's `d`.
pub fn invite_delete_json(guild_id: GuildId, invite: &Invite) -> Value {
    json!({
        "channel_id": invite.channel_id.to_string(),
        "guild_id": guild_id.to_string(),
        "code": invite.code,
    })
}

/// GUILD_ROLE_CREATE's and GUILD_ROLE_UPDATE's `d`.
pub fn role_event_json(guild_id: GuildId, role: &Role) -> Value {
    json!({ "guild_id": guild_id.to_string(), "role": role_json(role) })
}

/// GUILD_ROLE_DELETE's `d`.
pub fn role_delete_json(guild_id: GuildId, role_id: RoleId) -> Value {
    json!({ "guild_id": guild_id.to_string(), "role_id": role_id.to_string() })
}

/// GUILD_MEMBER_ADD's and GUILD_MEMBER_UPDATE's `d`: the member plus `guild_id`.
pub fn member_event_json(guild_id: GuildId, member: &Member, users: &dyn UserLookup) -> Value {
    let mut value = member_value(users, member);
    if let Value::Object(object) = &mut value {
        object.insert("guild_id".into(), guild_id.to_string().into());
    }
    value
}

/// GUILD_MEMBER_REMOVE's, GUILD_BAN_ADD's and GUILD_BAN_REMOVE's `d`.
pub fn guild_user_json(guild_id: GuildId, user_id: UserId, users: &dyn UserLookup) -> Value {
    json!({ "guild_id": guild_id.to_string(), "user": user_value(users, user_id) })
}

fn invite_guild_json(guild: &Guild) -> Value {
    json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "splash": null,
        "banner": null,
        "description": guild.description,
        "icon": null,
        "features": guild.features,
        "verification_level": guild.verification_level,
        "vanity_url_code": null,
        "premium_subscription_count": 0,
        "nsfw_level": 0,
        "welcome_screen": null,
    })
}

fn expires_at(invite: &Invite) -> Value {
    if invite.max_age_s == 0 {
        return Value::Null;
    }
    let at = invite
        .created_at_unix_ms
        .saturating_add(u64::from(invite.max_age_s) * 1000);
    iso8601_from_unix_ms(at).into()
}

fn placeholder_user(id: UserId) -> User {
    User {
        id,
        username: "deleted_user".into(),
        global_name: None,
        bot: false,
        public_flags: 0,
        mfa_enabled: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo::demo_world;
    use twilight_model::gateway::payload::incoming as events;

    fn strict<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> T {
        match serde_json::from_value(value.clone()) {
            Ok(parsed) => parsed,
            Err(error) => panic!("twilight rejects {what}: {error}\n{value:#}"),
        }
    }

    fn fixture() -> (crate::world::World, Invite) {
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let invite = Invite {
            code: "aB3dE6gH".into(),
            channel_id: demo.text_channel_id,
            inviter_id: demo.bots[0].user_id,
            created_at_unix_ms: 1_700_000_000_000,
            max_age_s: 86_400,
            max_uses: 5,
            uses: 1,
            temporary: false,
        };
        (demo.world, invite)
    }

    #[test]
    fn invites_parse_as_twilight_invites() {
        let (world, invite) = fixture();
        let guild = &world.guilds[0];
        for counts in [false, true] {
            let value = invite_json(guild, &invite, &world, counts);
            let parsed: twilight_model::guild::invite::Invite = strict(&value, "the invite");
            assert_eq!(parsed.code, "aB3dE6gH");
            assert_eq!(parsed.uses, Some(1));
            assert_eq!(parsed.max_age, Some(86_400));
            assert_eq!(parsed.guild.unwrap().name, "Flux");
            assert_eq!(parsed.channel.unwrap().name.as_deref(), Some("general"));
            assert!(parsed.expires_at.is_some());
            assert_eq!(parsed.approximate_member_count.is_some(), counts);
            for key in [
                "inviter",
                "expires_at",
                "created_at",
                "temporary",
                "max_uses",
            ] {
                assert!(value.get(key).is_some(), "invite lacks {key}");
            }
        }
        let forever = Invite {
            max_age_s: 0,
            ..invite.clone()
        };
        assert!(invite_json(guild, &forever, &world, false)["expires_at"].is_null());
        let created: events::InviteCreate = strict(
            &invite_create_json(guild.id, &invite, &world),
            "INVITE_CREATE",
        );
        assert_eq!(created.max_uses, 5);
        let deleted: events::InviteDelete =
            strict(&invite_delete_json(guild.id, &invite), "INVITE_DELETE");
        assert_eq!(deleted.code, "aB3dE6gH");
    }

    #[test]
    fn bans_parse_as_twilight_bans() {
        let (world, _) = fixture();
        let user = world.accounts[1].user.id;
        let ban = Ban {
            user_id: user,
            reason: Some("spam".into()),
        };
        let parsed: twilight_model::guild::Ban = strict(&ban_json(&world, &ban), "the ban");
        assert_eq!(parsed.reason.as_deref(), Some("spam"));
        let gone = Ban {
            user_id: UserId(99),
            reason: None,
        };
        let parsed: twilight_model::guild::Ban = strict(&ban_json(&world, &gone), "a stub ban");
        assert_eq!(parsed.user.id.get(), 99);
        let guild = world.guilds[0].id;
        let _: events::BanAdd = strict(&guild_user_json(guild, user, &world), "GUILD_BAN_ADD");
        let _: events::BanRemove =
            strict(&guild_user_json(guild, user, &world), "GUILD_BAN_REMOVE");
        let _: events::MemberRemove =
            strict(&guild_user_json(guild, user, &world), "GUILD_MEMBER_REMOVE");
    }

    #[test]
    fn member_and_role_events_parse_as_twilight_events() {
        let (world, _) = fixture();
        let guild = &world.guilds[0];
        let member = Member {
            nick: Some("nick".into()),
            roles: vec![RoleId(5)],
            ..guild.members[1].clone()
        };
        let added: events::MemberAdd = strict(
            &member_event_json(guild.id, &member, &world),
            "GUILD_MEMBER_ADD",
        );
        assert_eq!(added.guild_id.get(), guild.id.0);
        let updated: events::MemberUpdate = strict(
            &member_event_json(guild.id, &member, &world),
            "GUILD_MEMBER_UPDATE",
        );
        assert_eq!(updated.nick.as_deref(), Some("nick"));
        assert_eq!(updated.roles.len(), 1);
        let value = member_event_json(guild.id, &member, &world);
        for key in [
            "guild_id",
            "roles",
            "user",
            "nick",
            "avatar",
            "joined_at",
            "premium_since",
            "deaf",
            "mute",
            "pending",
            "communication_disabled_until",
            "flags",
        ] {
            assert!(value.get(key).is_some(), "GUILD_MEMBER_UPDATE lacks {key}");
        }
        let stub = Member {
            user_id: UserId(77),
            ..member
        };
        let _: events::MemberUpdate =
            strict(&member_event_json(guild.id, &stub, &world), "a stub member");
        let role = &guild.roles[0];
        let created: events::RoleCreate =
            strict(&role_event_json(guild.id, role), "GUILD_ROLE_CREATE");
        assert_eq!(created.role.name, "@everyone");
        let _: events::RoleUpdate = strict(&role_event_json(guild.id, role), "GUILD_ROLE_UPDATE");
        let deleted: events::RoleDelete =
            strict(&role_delete_json(guild.id, RoleId(5)), "GUILD_ROLE_DELETE");
        assert_eq!(deleted.role_id.get(), 5);
    }
}
