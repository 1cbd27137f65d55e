//! Tests of the guild, channel, overwrite and thread operations: every route's success
//! and each of its refusals, Discord's JSON shapes (checked by twilight-model), and the
//! unchanged-on-error contract as a property test.

use super::*;
use crate::rest::guild_bodies::{guild_request, parse_guild_form};
use crate::world::guild_ops::guild_forms::GuildQuery;
use crate::world::guild_ops::GuildRoute as R;
use crate::world::guild_ops::{GuildRequest, Reply};
use crate::world::ids::RoleId;
use crate::world::message::MessageId;
use crate::world::model::{
    Account, Invite, OverwriteTarget, PermissionOverwrite, Role, User, World,
};
use crate::world::{demo_world, Demo};
use proptest::prelude::*;
use serde_json::json;

const NOW: u64 = 1_700_000_000_000;
const OUTSIDER: UserId = UserId(777);

struct Fixture {
    world: World,
    guild: Guild,
    owner: UserId,
    member: UserId,
    text: ChannelId,
    voice: ChannelId,
    next_id: u64,
    random_seed: u64,
}

fn fixture() -> Fixture {
    let Demo {
        mut world,
        text_channel_id,
        voice_channel_id,
        bots,
        ..
    } = demo_world(NOW, [3; 32]).unwrap();
    world.accounts.push(Account {
        user: User {
            id: OUTSIDER,
            username: "outsider".into(),
            global_name: None,
            bot: false,
            public_flags: 0,
            mfa_enabled: false,
        },
        token_generation: 0,
        token_issued_at_s: 0,
        privileged_intents_allowed: false,
        password_hash: None,
    });
    let guild = world.guilds[0].clone();
    Fixture {
        world,
        guild,
        owner: bots[0].user_id,
        member: bots[1].user_id,
        text: text_channel_id,
        voice: voice_channel_id,
        next_id: 1 << 40,
        random_seed: 0,
    }
}

impl Fixture {
    fn run(&mut self, actor: UserId, route: R, body: &str) -> Result<Outcome, Refusal> {
        self.run_query(actor, route, "", body)
    }

    fn run_query(
        &mut self,
        actor: UserId,
        route: R,
        query: &str,
        body: &str,
    ) -> Result<Outcome, Refusal> {
        let mut next = self.next_id;
        let mut next_id = || {
            next += 1;
            Ok(next)
        };
        let mut random_seed = self.random_seed;
        let mut random = || -> Result<u64, Refusal> {
            random_seed += 0x9E37_79B9;
            Ok(random_seed)
        };
        let mut cx = OpContext {
            actor,
            now_unix_ms: NOW + 1000,
            users: &self.world,
            online: &|_| false,
            next_id: &mut next_id,
            random: &mut random,
            voice_channel: &|_| None,
        };
        let before = self.guild.clone();
        let request = guild_request(&route, query, body.as_bytes());
        let result = apply(&mut self.guild, &route, &request, &mut cx);
        self.next_id = next;
        self.random_seed = random_seed;
        match &result {
            Err(_) => assert_eq!(self.guild, before, "{route:?} failed but changed the guild"),
            Ok(outcome) if !outcome.changed => {
                assert_eq!(self.guild, before, "{route:?} said unchanged")
            }
            Ok(_) => {
                let mut world = self.world.clone();
                world.guilds[0] = self.guild.clone();
                if !guild_deleted(&self.guild) {
                    world
                        .validate()
                        .expect("a changed guild keeps the invariants");
                }
            }
        }
        result
    }

    /// Runs a route that must succeed; returns its outcome and JSON body.
    fn ok(&mut self, actor: UserId, route: R, body: &str) -> (Outcome, Value) {
        let outcome = self
            .run(actor, route, body)
            .unwrap_or_else(|error| panic!("{route:?} {body}: {error:?}"));
        let value = if outcome.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&outcome.body).unwrap()
        };
        (outcome, value)
    }

    fn channel(&self, id: ChannelId) -> &Channel {
        self.guild.channel(id).expect("channel exists")
    }

    fn set_everyone(&mut self, permissions: Permissions) {
        let everyone = self.guild.id.everyone_role();
        let role = self
            .guild
            .roles
            .iter_mut()
            .find(|r| r.id == everyone)
            .unwrap();
        role.permissions = permissions.bits();
    }

    /// Gives the member a role with `permissions`.
    fn grant_member(&mut self, permissions: Permissions) {
        let role = RoleId(4242);
        self.guild.roles.push(Role {
            id: role,
            name: "mod".into(),
            color: 0,
            hoist: false,
            position: 1,
            permissions: permissions.bits(),
            managed: false,
            mentionable: false,
            flags: 0,
        });
        let member = self.member;
        let entry = self
            .guild
            .members
            .iter_mut()
            .find(|m| m.user_id == member)
            .unwrap();
        entry.roles.push(role);
    }

    fn hide_text_from_everyone(&mut self) {
        let everyone = self.guild.id.everyone_role();
        let text = self.text;
        let channel = self
            .guild
            .channels
            .iter_mut()
            .find(|c| c.id == text)
            .unwrap();
        channel.permission_overwrites.push(PermissionOverwrite {
            target: OverwriteTarget::Role(everyone),
            allow: 0,
            deny: Permissions::VIEW_CHANNEL.bits(),
        });
    }

    fn thread_from_message(&mut self, message: u64) -> ChannelId {
        let owner = self.owner;
        let route = R::StartThreadFromMessage(self.text, MessageId(message));
        self.ok(owner, route, r#"{"name": "topic"}"#);
        ChannelId(message)
    }
}

fn form_error_at(result: Result<Outcome, Refusal>, path: &[&str]) -> Value {
    let error = result.expect_err("a form error");
    let errors = match &error {
        Refusal::InvalidForm(errors) => errors.clone(),
        Refusal::InvalidFormBody { field, code, .. } => {
            json!({ *field: { "_errors": [{ "code": code }] } })
        }
        other => panic!("expected 50035, got {other:?}"),
    };
    let body: Value = serde_json::from_slice(&error.body()).unwrap();
    assert_eq!(body["code"], 50035);
    let mut node = &errors;
    for key in path {
        node = &node[*key];
    }
    let first = &node["_errors"][0];
    assert!(first["code"].is_string(), "no error at {path:?}: {errors}");
    first["code"].clone()
}

fn event_names(outcome: &Outcome) -> Vec<&'static str> {
    outcome.events.iter().map(|event| event.name).collect()
}

// ---- guilds -------------------------------------------------------------------------

#[test]
fn get_guild_for_members_only() {
    let mut f = fixture();
    let id = f.guild.id;
    let (outcome, value) = f.ok(f.member, R::GetGuild(id), "");
    assert_eq!((outcome.reply, outcome.changed), (Reply::Shown, false));
    assert_eq!(value["id"], id.to_string());
    assert!(value.get("approximate_member_count").is_none());
    let outcome = f
        .run_query(f.member, R::GetGuild(id), "with_counts=true", "")
        .unwrap();
    let value: Value = serde_json::from_slice(&outcome.body).unwrap();
    assert_eq!(value["approximate_member_count"], 2);
    assert_eq!(value["approximate_presence_count"], 0);
    assert_eq!(
        f.run(OUTSIDER, R::GetGuild(id), "").err(),
        Some(Refusal::UnknownGuild)
    );
    let code = form_error_at(
        f.run_query(f.member, R::GetGuild(id), "with_counts=maybe", ""),
        &["with_counts"],
    );
    assert_eq!(code, "BASE_TYPE_BOOLEAN");
}

#[test]
fn modify_guild() {
    let mut f = fixture();
    let id = f.guild.id;
    let (outcome, value) = f.ok(
        f.owner,
        R::ModifyGuild(id),
        r#"{"name": "Renamed", "afk_timeout": 900, "afk_channel_id": null}"#,
    );
    assert!(outcome.changed);
    assert_eq!(value["name"], "Renamed");
    assert_eq!(f.guild.afk_timeout, 900);
    assert_eq!(event_names(&outcome), ["GUILD_UPDATE"]);
    assert_eq!(outcome.events[0].audience, Audience::Guild);
    assert_eq!(outcome.events[0].intents, Intents::GUILDS);
    // The same body again changes nothing and says so.
    let (outcome, _) = f.ok(f.owner, R::ModifyGuild(id), r#"{"name": "Renamed"}"#);
    assert!(!outcome.changed && outcome.events.is_empty());
    assert_eq!(
        f.run(f.member, R::ModifyGuild(id), r#"{"name": "Mine"}"#)
            .err(),
        Some(Refusal::MissingPermissions)
    );
    assert_eq!(
        f.run(OUTSIDER, R::ModifyGuild(id), "{}").err(),
        Some(Refusal::UnknownGuild)
    );
    let result = f.run(
        f.owner,
        R::ModifyGuild(id),
        r#"{"name": "x", "afk_timeout": 7}"#,
    );
    assert_eq!(form_error_at(result, &["name"]), "BASE_TYPE_BAD_LENGTH");
    let result = f.run(
        f.owner,
        R::ModifyGuild(id),
        &format!(r#"{{"afk_channel_id": "{}"}}"#, f.text),
    );
    assert_eq!(
        form_error_at(result, &["afk_channel_id"]),
        "CHANNEL_TYPE_INVALID"
    );
    let result = f.run(f.owner, R::ModifyGuild(id), r#"{"preferred_locale": "xx"}"#);
    assert_eq!(
        form_error_at(result, &["preferred_locale"]),
        "LOCALE_INVALID"
    );
    assert_eq!(
        f.run(f.owner, R::ModifyGuild(id), "[]").map(|_| ()),
        Err(Refusal::InvalidForm(
            json!({"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used in a DictType"}]})
        ))
    );
    assert_eq!(
        f.run(f.owner, R::ModifyGuild(id), "{").err(),
        Some(Refusal::InvalidJson)
    );
}

#[test]
fn only_the_owner_transfers_ownership() {
    let mut f = fixture();
    let id = f.guild.id;
    f.grant_member(Permissions::ADMINISTRATOR);
    let body = format!(r#"{{"owner_id": "{}"}}"#, f.member);
    assert_eq!(
        f.run(f.member, R::ModifyGuild(id), &body).err(),
        Some(Refusal::MissingPermissions)
    );
    let result = f.run(
        f.owner,
        R::ModifyGuild(id),
        &format!(r#"{{"owner_id": "{OUTSIDER}"}}"#),
    );
    assert_eq!(form_error_at(result, &["owner_id"]), "GUILD_OWNER_INVALID");
    f.ok(f.owner, R::ModifyGuild(id), &body);
    assert_eq!(f.guild.owner_id, f.member);
}

#[test]
fn delete_guild_is_owner_only() {
    let mut f = fixture();
    let id = f.guild.id;
    f.grant_member(Permissions::ADMINISTRATOR);
    assert_eq!(
        f.run(f.member, R::DeleteGuild(id), "").err(),
        Some(Refusal::MissingPermissions)
    );
    assert_eq!(
        f.run(OUTSIDER, R::DeleteGuild(id), "").err(),
        Some(Refusal::UnknownGuild)
    );
    assert!(!guild_deleted(&f.guild));
    let (outcome, _) = f.ok(f.owner, R::DeleteGuild(id), "");
    assert_eq!((outcome.reply, outcome.changed), (Reply::Done, true));
    assert!(outcome.body.is_empty() && outcome.events.is_empty());
    assert!(guild_deleted(&f.guild));
}

#[test]
fn create_guild_makes_the_caller_owner() {
    let f = fixture();
    let mut next = 100;
    let mut next_id = || {
        next += 1;
        Ok(next)
    };
    let mut random = || -> Result<u64, Refusal> { Ok(0x5EED) };
    let mut cx = OpContext {
        actor: f.member,
        now_unix_ms: NOW,
        users: &f.world,
        online: &|_| false,
        next_id: &mut next_id,
        random: &mut random,
        voice_channel: &|_| None,
    };
    let (guild, outcome) = create_guild(
        GuildId(55),
        &parse_guild_form(br#"{"name": "New", "verification_level": 2, "roles": []}"#),
        &mut cx,
    )
    .unwrap();
    assert_eq!((outcome.reply, outcome.changed), (Reply::Created, true));
    assert!(
        outcome.events.is_empty(),
        "GUILD_CREATE is the app's to derive"
    );
    assert_eq!(guild.owner_id, f.member);
    assert_eq!(guild.members.len(), 1);
    assert_eq!(guild.verification_level, 2);
    assert_eq!(guild.roles[0].id, GuildId(55).everyone_role());
    assert_eq!(
        guild.roles[0].permissions,
        crate::world::permissions::EVERYONE_DEFAULT
    );
    let kinds: Vec<u8> = guild
        .channels
        .iter()
        .map(|c| c.kind.discord_type())
        .collect();
    assert_eq!(kinds, [0, 2]);
    assert_eq!(guild.system_channel_id, Some(guild.channels[0].id));
    let mut world = f.world.clone();
    world.guilds.push(guild);
    world.validate().unwrap();
    let value: Value = serde_json::from_slice(&outcome.body).unwrap();
    assert_eq!(value["name"], "New");

    let code = form_error_at(
        create_guild(GuildId(56), &parse_guild_form(br#"{"name": "N"}"#), &mut cx).map(|(_, o)| o),
        &["name"],
    );
    assert_eq!(code, "BASE_TYPE_BAD_LENGTH");
    let code = form_error_at(
        create_guild(GuildId(56), &parse_guild_form(br#"{}"#), &mut cx).map(|(_, o)| o),
        &["name"],
    );
    assert_eq!(code, "BASE_TYPE_REQUIRED");
    cx.actor = UserId(123_456);
    assert_eq!(
        create_guild(
            GuildId(57),
            &parse_guild_form(br#"{"name": "Nope"}"#),
            &mut cx
        )
        .map(|_| ()),
        Err(Refusal::UnknownUser)
    );
}

// ---- channels -----------------------------------------------------------------------

#[test]
fn list_channels_excludes_threads() {
    let mut f = fixture();
    f.thread_from_message(9_000);
    let (_, value) = f.ok(f.member, R::ListChannels(f.guild.id), "");
    let ids: Vec<&str> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // Every channel of the demo guild (#general, General, #staff), and no thread.
    let expected: Vec<String> = f
        .guild
        .channels
        .iter()
        .filter(|c| !matches!(c.kind, crate::world::ChannelKind::Thread(_)))
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(expected.len(), 3);
    assert_eq!(ids, expected);
    assert_eq!(
        f.run(OUTSIDER, R::ListChannels(f.guild.id), "").err(),
        Some(Refusal::UnknownGuild)
    );
}

#[test]
fn create_channel() {
    let mut f = fixture();
    let id = f.guild.id;
    let (outcome, value) = f.ok(
        f.owner,
        R::CreateChannel(id),
        r#"{"name": "Off Topic", "topic": "anything"}"#,
    );
    assert_eq!(outcome.reply, Reply::Created);
    assert_eq!(value["name"], "off-topic");
    assert_eq!(value["type"], 0);
    assert_eq!(value["topic"], "anything");
    assert_eq!(event_names(&outcome), ["CHANNEL_CREATE"]);
    let new_id = ChannelId(value["id"].as_str().unwrap().parse().unwrap());
    assert_eq!(outcome.events[0].audience, Audience::Channel(new_id));
    assert_eq!(f.channel(new_id).position, 2, "after #general and #staff");

    let (_, category) = f.ok(
        f.owner,
        R::CreateChannel(id),
        r#"{"name": "Stuff", "type": 4}"#,
    );
    let body = format!(
        r#"{{"name": "Lounge", "type": 2, "parent_id": "{}", "user_limit": 5}}"#,
        category["id"].as_str().unwrap()
    );
    let (_, voice) = f.ok(f.owner, R::CreateChannel(id), &body);
    assert_eq!(voice["parent_id"], category["id"]);
    assert_eq!(voice["user_limit"], 5);
    assert_eq!(voice["name"], "Lounge");

    assert_eq!(
        f.run(f.member, R::CreateChannel(id), r#"{"name": "x"}"#)
            .err(),
        Some(Refusal::MissingPermissions)
    );
    assert_eq!(
        f.run(OUTSIDER, R::CreateChannel(id), r#"{"name": "x"}"#)
            .err(),
        Some(Refusal::UnknownGuild)
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::CreateChannel(id), r#"{"name": "x", "type": 5}"#),
            &["type"]
        ),
        "BASE_TYPE_CHOICES"
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::CreateChannel(id), r#"{"type": 0}"#),
            &["name"]
        ),
        "BASE_TYPE_REQUIRED"
    );
    let body = format!(r#"{{"name": "x", "parent_id": "{}"}}"#, f.text);
    assert_eq!(
        form_error_at(f.run(f.owner, R::CreateChannel(id), &body), &["parent_id"]),
        "CHANNEL_PARENT_INVALID"
    );
    let body = r#"{"name": "x", "permission_overwrites": [{"id": "1", "type": 0}, {"id": "x", "type": 1}]}"#;
    let result = f.run(f.owner, R::CreateChannel(id), body);
    let Err(Refusal::InvalidForm(errors)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(
        errors["permission_overwrites"]["0"]["id"]["_errors"][0]["code"],
        "UNKNOWN_ROLE"
    );
    assert_eq!(
        errors["permission_overwrites"]["1"]["id"]["_errors"][0]["code"],
        "NUMBER_TYPE_COERCE"
    );
}

#[test]
fn overwrites_grant_only_what_the_caller_has() {
    let mut f = fixture();
    let id = f.guild.id;
    f.grant_member(Permissions::MANAGE_CHANNELS | Permissions::MANAGE_ROLES);
    let everyone = id.everyone_role();
    let own = format!(
        r#"{{"name": "x", "permission_overwrites": [{{"id": "{everyone}", "type": 0, "deny": "{}"}}]}}"#,
        Permissions::SEND_MESSAGES.bits()
    );
    f.ok(f.member, R::CreateChannel(id), &own);
    let admin = format!(
        r#"{{"name": "y", "permission_overwrites": [{{"id": "{everyone}", "type": 0, "allow": "{}"}}]}}"#,
        Permissions::ADMINISTRATOR.bits()
    );
    assert_eq!(
        f.run(f.member, R::CreateChannel(id), &admin).err(),
        Some(Refusal::MissingPermissions)
    );
    let put = format!(
        r#"{{"type": 0, "allow": "{}"}}"#,
        Permissions::BAN_MEMBERS.bits()
    );
    assert_eq!(
        f.run(f.member, R::PutOverwrite(f.text, everyone.0), &put)
            .err(),
        Some(Refusal::MissingPermissions)
    );
}

#[test]
fn removing_an_overwrite_needs_the_same_grants_as_writing_it() {
    let mut f = fixture();
    let everyone = f.guild.id.everyone_role();
    // The owner denies @everyone SEND_MESSAGES and BAN_MEMBERS in the channel.
    let deny = format!(
        r#"{{"type": 0, "deny": "{}"}}"#,
        (Permissions::SEND_MESSAGES | Permissions::BAN_MEMBERS).bits()
    );
    f.ok(f.owner, R::PutOverwrite(f.text, everyone.0), &deny);
    // A member with MANAGE_ROLES but without BAN_MEMBERS may not lift it.
    f.grant_member(
        Permissions::MANAGE_CHANNELS | Permissions::MANAGE_ROLES | Permissions::VIEW_CHANNEL,
    );
    let before = f.guild.clone();
    assert_eq!(
        f.run(f.member, R::DeleteOverwrite(f.text, everyone.0), "")
            .err(),
        Some(Refusal::MissingPermissions)
    );
    assert_eq!(f.guild, before, "refused: unchanged");
    // An overwrite of bits the member holds may be removed; the owner removes any.
    let own = format!(
        r#"{{"type": 0, "deny": "{}"}}"#,
        Permissions::SEND_MESSAGES.bits()
    );
    f.ok(f.owner, R::PutOverwrite(f.voice, everyone.0), &own);
    f.ok(f.member, R::DeleteOverwrite(f.voice, everyone.0), "");
    f.ok(f.owner, R::DeleteOverwrite(f.text, everyone.0), "");
}

#[test]
fn channel_positions() {
    let mut f = fixture();
    let id = f.guild.id;
    let (_, category) = f.ok(f.owner, R::CreateChannel(id), r#"{"name": "Cat", "type": 4, "permission_overwrites": [{"id": "777", "type": 1, "allow": "1024"}]}"#);
    let category = category["id"].as_str().unwrap().to_string();
    let body = format!(
        r#"[{{"id": "{}", "position": 5, "parent_id": "{category}", "lock_permissions": true}}, {{"id": "{}", "position": 3}}]"#,
        f.text, f.voice
    );
    let (outcome, _) = f.ok(f.owner, R::ModifyChannelPositions(id), &body);
    assert_eq!((outcome.reply, outcome.changed), (Reply::Done, true));
    assert_eq!(event_names(&outcome), ["CHANNEL_UPDATE", "CHANNEL_UPDATE"]);
    let text = f.channel(f.text);
    assert_eq!(
        (text.position, text.parent_id.map(|p| p.to_string())),
        (5, Some(category.clone()))
    );
    assert_eq!(
        text.permission_overwrites.len(),
        1,
        "locked to the category"
    );
    assert_eq!(f.channel(f.voice).position, 3);
    let (outcome, _) = f.ok(f.owner, R::ModifyChannelPositions(id), &body);
    assert!(!outcome.changed && outcome.events.is_empty());

    assert_eq!(
        f.run(f.member, R::ModifyChannelPositions(id), "[]").err(),
        Some(Refusal::MissingPermissions)
    );
    assert_eq!(
        f.run(OUTSIDER, R::ModifyChannelPositions(id), "[]").err(),
        Some(Refusal::UnknownGuild)
    );
    let body = format!(
        r#"[{{"id": "{}", "position": 1}}, {{"id": "12345"}}]"#,
        f.text
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::ModifyChannelPositions(id), &body),
            &["1", "id"]
        ),
        "CHANNEL_INVALID"
    );
    let body = format!(r#"[{{"id": "{}", "parent_id": "{}"}}]"#, f.text, f.voice);
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::ModifyChannelPositions(id), &body),
            &["0", "parent_id"]
        ),
        "CHANNEL_PARENT_INVALID"
    );
    assert_eq!(
        form_error_at(f.run(f.owner, R::ModifyChannelPositions(id), "{}"), &[]),
        "LIST_TYPE_CONVERT"
    );
}

#[test]
fn get_channel_refusals() {
    let mut f = fixture();
    let (outcome, value) = f.ok(f.member, R::GetChannel(f.text), "");
    assert_eq!(outcome.reply, Reply::Shown);
    assert_eq!(value["id"], f.text.to_string());
    assert_eq!(
        f.run(f.member, R::GetChannel(ChannelId(1)), "").err(),
        Some(Refusal::UnknownChannel)
    );
    assert_eq!(
        f.run(OUTSIDER, R::GetChannel(f.text), "").err(),
        Some(Refusal::MissingAccess)
    );
    f.hide_text_from_everyone();
    assert_eq!(
        f.run(f.member, R::GetChannel(f.text), "").err(),
        Some(Refusal::MissingAccess)
    );
    f.ok(f.owner, R::GetChannel(f.text), "");
}

#[test]
fn modify_channel() {
    let mut f = fixture();
    let (outcome, value) = f.ok(
        f.owner,
        R::ModifyChannel(f.text),
        r#"{"topic": "news", "rate_limit_per_user": 10, "nsfw": true, "bitrate": 9000}"#,
    );
    assert_eq!(value["topic"], "news");
    assert_eq!(value["rate_limit_per_user"], 10);
    assert_eq!(value["nsfw"], true);
    assert_eq!(event_names(&outcome), ["CHANNEL_UPDATE"]);
    assert_eq!(outcome.events[0].audience, Audience::Channel(f.text));
    let (_, value) = f.ok(
        f.owner,
        R::ModifyChannel(f.voice),
        r#"{"bitrate": 9000, "topic": "ignored"}"#,
    );
    assert_eq!(value["bitrate"], 9000);
    let (outcome, _) = f.ok(f.owner, R::ModifyChannel(f.voice), r#"{"bitrate": 9000}"#);
    assert!(!outcome.changed);

    assert_eq!(
        f.run(f.member, R::ModifyChannel(f.text), r#"{"name": "x"}"#)
            .err(),
        Some(Refusal::MissingPermissions)
    );
    assert_eq!(
        f.run(OUTSIDER, R::ModifyChannel(f.text), "{}").err(),
        Some(Refusal::MissingAccess)
    );
    assert_eq!(
        f.run(f.owner, R::ModifyChannel(ChannelId(3)), "{}").err(),
        Some(Refusal::UnknownChannel)
    );
    let long = "t".repeat(1025);
    assert_eq!(
        form_error_at(
            f.run(
                f.owner,
                R::ModifyChannel(f.text),
                &format!(r#"{{"topic": "{long}"}}"#)
            ),
            &["topic"]
        ),
        "BASE_TYPE_BAD_LENGTH"
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::ModifyChannel(f.text), r#"{"type": 2}"#),
            &["type"]
        ),
        "BASE_TYPE_CHOICES"
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::ModifyChannel(f.voice), r#"{"user_limit": 100}"#),
            &["user_limit"]
        ),
        "NUMBER_TYPE_MAX"
    );
    f.grant_member(Permissions::MANAGE_CHANNELS);
    assert_eq!(
        f.run(
            f.member,
            R::ModifyChannel(f.text),
            r#"{"permission_overwrites": []}"#
        )
        .err(),
        Some(Refusal::MissingPermissions),
        "overwrites need MANAGE_ROLES too"
    );
    f.ok(f.member, R::ModifyChannel(f.text), r#"{"name": "renamed"}"#);
    f.hide_text_from_everyone();
    f.guild.roles.last_mut().unwrap().permissions = Permissions::MANAGE_CHANNELS.bits();
    assert_eq!(
        f.run(f.member, R::ModifyChannel(f.text), r#"{"name": "x"}"#)
            .err(),
        Some(Refusal::MissingAccess)
    );
}

#[test]
fn delete_channel_cleans_up() {
    let mut f = fixture();
    let id = f.guild.id;
    let (_, category) = f.ok(
        f.owner,
        R::CreateChannel(id),
        r#"{"name": "Cat", "type": 4}"#,
    );
    let category = ChannelId(category["id"].as_str().unwrap().parse().unwrap());
    let body = format!(r#"[{{"id": "{}", "parent_id": "{category}"}}]"#, f.voice);
    f.ok(f.owner, R::ModifyChannelPositions(id), &body);
    let (outcome, value) = f.ok(f.owner, R::DeleteChannel(category), "");
    assert_eq!(outcome.reply, Reply::Shown);
    assert_eq!(value["id"], category.to_string());
    assert_eq!(event_names(&outcome), ["CHANNEL_DELETE", "CHANNEL_UPDATE"]);
    assert_eq!(f.channel(f.voice).parent_id, None);

    let thread = f.thread_from_message(9_001);
    f.guild.invites.push(Invite {
        code: "abc".into(),
        channel_id: f.text,
        inviter_id: f.owner,
        created_at_unix_ms: NOW,
        max_age_s: 0,
        max_uses: 0,
        uses: 0,
        temporary: false,
    });
    assert_eq!(
        f.run(f.member, R::DeleteChannel(f.text), "").err(),
        Some(Refusal::MissingPermissions)
    );
    assert_eq!(
        f.run(OUTSIDER, R::DeleteChannel(f.text), "").err(),
        Some(Refusal::MissingAccess)
    );
    let (outcome, _) = f.ok(f.owner, R::DeleteChannel(f.text), "");
    assert_eq!(
        event_names(&outcome),
        [
            "CHANNEL_DELETE",
            "THREAD_DELETE",
            "INVITE_DELETE",
            "GUILD_UPDATE"
        ]
    );
    // INVITE_DELETE goes to those who could manage the channel before it went: the owner,
    // not the plain member.
    let invite_delete = &outcome.events[2];
    assert_eq!(invite_delete.d["code"], "abc");
    assert_eq!(
        invite_delete.audience,
        Audience::Users([f.owner].into_iter().collect())
    );
    let viewers: BTreeSet<UserId> = [f.owner, f.member].into();
    assert_eq!(outcome.events[0].audience, Audience::Users(viewers));
    assert!(f.guild.channel(f.text).is_none());
    assert!(f.guild.channel(thread).is_none());
    assert!(f.guild.invites.is_empty());
    assert_eq!(f.guild.system_channel_id, None);
    assert_eq!(
        f.run(f.owner, R::DeleteChannel(f.text), "").err(),
        Some(Refusal::UnknownChannel)
    );
}

#[test]
fn permission_overwrites() {
    let mut f = fixture();
    let everyone = f.guild.id.everyone_role();
    let body = format!(
        r#"{{"type": 0, "deny": "{}"}}"#,
        Permissions::VIEW_CHANNEL.bits()
    );
    let (outcome, _) = f.ok(f.owner, R::PutOverwrite(f.text, everyone.0), &body);
    assert_eq!((outcome.reply, outcome.changed), (Reply::Done, true));
    assert_eq!(event_names(&outcome), ["CHANNEL_UPDATE"]);
    // Those who could view it before learn the overwrite that now hides it.
    assert_eq!(
        outcome.events[0].audience,
        Audience::Users([f.owner, f.member].into())
    );
    assert_eq!(f.channel(f.text).permission_overwrites.len(), 1);
    assert_eq!(
        f.run(f.member, R::GetChannel(f.text), "").err(),
        Some(Refusal::MissingAccess)
    );
    // Putting it again replaces, not adds.
    let (outcome, _) = f.ok(f.owner, R::PutOverwrite(f.text, everyone.0), &body);
    assert!(!outcome.changed);
    let member_body = format!(
        r#"{{"type": 1, "allow": {}}}"#,
        Permissions::VIEW_CHANNEL.bits()
    );
    let (outcome, _) = f.ok(f.owner, R::PutOverwrite(f.text, f.member.0), &member_body);
    // The member who gains the view gets CHANNEL_CREATE (discord.py discards an update
    // for a channel it never got), the owner who had it the CHANNEL_UPDATE.
    assert_eq!(event_names(&outcome), ["CHANNEL_CREATE", "CHANNEL_UPDATE"]);
    assert_eq!(
        outcome.events[0].audience,
        Audience::Users([f.member].into())
    );
    assert_eq!(
        outcome.events[1].audience,
        Audience::Users([f.owner].into())
    );
    assert_eq!(outcome.events[0].d["id"], f.text.0.to_string());
    f.ok(f.member, R::GetChannel(f.text), "");
    // Hidden again by PATCH's `permission_overwrites`, shown again: CHANNEL_CREATE again.
    let hide = format!(
        r#"{{"permission_overwrites": [{{"id": "{}", "type": 0, "deny": "{}"}}]}}"#,
        everyone.0,
        Permissions::VIEW_CHANNEL.bits()
    );
    let (outcome, _) = f.ok(f.owner, R::ModifyChannel(f.text), &hide);
    assert_eq!(event_names(&outcome), ["CHANNEL_UPDATE"]);
    assert_eq!(
        outcome.events[0].audience,
        Audience::Users([f.owner, f.member].into())
    );
    let (outcome, _) = f.ok(f.owner, R::PutOverwrite(f.text, f.member.0), &member_body);
    assert_eq!(event_names(&outcome), ["CHANNEL_CREATE", "CHANNEL_UPDATE"]);
    // An edit that changes no one's view stays one CHANNEL_UPDATE to the viewers.
    let (outcome, _) = f.ok(f.owner, R::ModifyChannel(f.text), r#"{"topic": "t"}"#);
    assert_eq!(event_names(&outcome), ["CHANNEL_UPDATE"]);
    assert_eq!(outcome.events[0].audience, Audience::Channel(f.text));

    assert_eq!(
        f.run(f.member, R::PutOverwrite(f.text, everyone.0), &body)
            .err(),
        Some(Refusal::MissingPermissions)
    );
    assert_eq!(
        f.run(OUTSIDER, R::PutOverwrite(f.text, everyone.0), &body)
            .err(),
        Some(Refusal::MissingAccess)
    );
    assert_eq!(
        f.run(f.owner, R::PutOverwrite(f.text, 99), r#"{"type": 0}"#)
            .err(),
        Some(Refusal::UnknownRole)
    );
    assert_eq!(
        f.run(f.owner, R::PutOverwrite(f.text, 99), r#"{"type": 1}"#)
            .err(),
        Some(Refusal::UnknownUser)
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::PutOverwrite(f.text, 99), r#"{"type": 3}"#),
            &["type"]
        ),
        "BASE_TYPE_CHOICES"
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::PutOverwrite(f.text, 99), r#"{}"#),
            &["type"]
        ),
        "BASE_TYPE_REQUIRED"
    );
    assert_eq!(
        form_error_at(
            f.run(
                f.owner,
                R::PutOverwrite(f.text, 99),
                r#"{"type": 0, "allow": "x"}"#
            ),
            &["allow"]
        ),
        "NUMBER_TYPE_COERCE"
    );
    let thread = f.thread_from_message(9_002);
    assert_eq!(
        f.run(f.owner, R::PutOverwrite(thread, everyone.0), &body)
            .err(),
        Some(WRONG_CHANNEL_TYPE)
    );

    let (outcome, _) = f.ok(f.owner, R::DeleteOverwrite(f.text, everyone.0), "");
    assert_eq!((outcome.reply, outcome.changed), (Reply::Done, true));
    assert_eq!(f.channel(f.text).permission_overwrites.len(), 1);
    let (outcome, _) = f.ok(f.owner, R::DeleteOverwrite(f.text, everyone.0), "");
    assert!(!outcome.changed);
    assert_eq!(
        f.run(f.member, R::DeleteOverwrite(f.text, f.member.0), "")
            .err(),
        Some(Refusal::MissingPermissions)
    );
}

// ---- threads ------------------------------------------------------------------------

#[test]
fn start_thread_from_message() {
    let mut f = fixture();
    let route = R::StartThreadFromMessage(f.text, MessageId(5_000));
    let (outcome, value) = f.ok(
        f.member,
        route,
        r#"{"name": "chat", "auto_archive_duration": 60}"#,
    );
    assert_eq!(outcome.reply, Reply::Created);
    assert_eq!(value["id"], "5000");
    assert_eq!(value["type"], 11);
    assert_eq!(value["owner_id"], f.member.to_string());
    assert_eq!(value["parent_id"], f.text.to_string());
    assert_eq!(value["thread_metadata"]["auto_archive_duration"], 60);
    assert_eq!(value["member_count"], 1);
    assert_eq!(event_names(&outcome), ["THREAD_CREATE"]);
    assert_eq!(outcome.events[0].d["newly_created"], true);
    assert_eq!(
        outcome.events[0].audience,
        Audience::Channel(ChannelId(5_000))
    );
    assert_eq!(
        f.run(f.member, route, r#"{"name": "again"}"#).err(),
        Some(THREAD_EXISTS_FOR_TEST)
    );
    assert_eq!(
        f.run(
            f.owner,
            R::StartThreadFromMessage(f.voice, MessageId(5_001)),
            r#"{"name": "v"}"#
        )
        .err(),
        Some(WRONG_CHANNEL_TYPE)
    );
    assert_eq!(
        form_error_at(
            f.run(
                f.member,
                R::StartThreadFromMessage(f.text, MessageId(5_002)),
                "{}"
            ),
            &["name"]
        ),
        "BASE_TYPE_REQUIRED"
    );
    assert_eq!(
        form_error_at(
            f.run(
                f.member,
                R::StartThreadFromMessage(f.text, MessageId(5_002)),
                r#"{"name": "n", "auto_archive_duration": 5}"#
            ),
            &["auto_archive_duration"]
        ),
        "BASE_TYPE_CHOICES"
    );
    assert_eq!(
        f.run(
            OUTSIDER,
            R::StartThreadFromMessage(f.text, MessageId(5_002)),
            r#"{"name": "n"}"#
        )
        .err(),
        Some(Refusal::MissingAccess)
    );
    assert_eq!(
        f.run(
            f.member,
            R::StartThreadFromMessage(ChannelId(4), MessageId(5_002)),
            r#"{"name": "n"}"#
        )
        .err(),
        Some(Refusal::UnknownChannel)
    );
    f.set_everyone(Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES);
    assert_eq!(
        f.run(
            f.member,
            R::StartThreadFromMessage(f.text, MessageId(5_002)),
            r#"{"name": "n"}"#
        )
        .err(),
        Some(Refusal::MissingPermissions)
    );
    f.hide_text_from_everyone();
    assert_eq!(
        f.run(
            f.member,
            R::StartThreadFromMessage(f.text, MessageId(5_002)),
            r#"{"name": "n"}"#
        )
        .err(),
        Some(Refusal::MissingAccess)
    );
}

const THREAD_EXISTS_FOR_TEST: Refusal = Refusal::Coded {
    code: 160004,
    message: "A thread has already been created for this message",
};

/// Invites and GUILD_CREATE's `threads` follow thread visibility: a private thread the
/// caller is not in takes no invite from them and is not listed to them; nor is a public
/// thread of a channel they cannot see.
#[test]
fn threads_hidden_from_a_member_take_no_invite_and_are_not_listed() {
    let mut f = fixture();
    let (_, private) = f.ok(
        f.owner,
        R::StartThread(f.text),
        r#"{"name": "secret", "type": 12}"#,
    );
    let private_id: u64 = private["id"].as_str().unwrap().parse().unwrap();
    let (_, public) = f.ok(
        f.owner,
        R::StartThread(f.text),
        r#"{"name": "open", "type": 11}"#,
    );
    let public_id: u64 = public["id"].as_str().unwrap().parse().unwrap();
    f.grant_member(Permissions::CREATE_INSTANT_INVITE);
    let member = f.member;
    let invite = |f: &mut Fixture, actor: UserId, channel: u64| {
        let route = crate::world::guild_ops::MemberRoute::CreateInvite(ChannelId(channel));
        let form = crate::world::guild_ops::member_forms::InviteForm {
            max_age_s: 86_400,
            max_uses: 0,
            temporary: false,
            unique: false,
        };
        let request = crate::world::guild_ops::MemberRequest::CreateInvite(Ok(form));
        let mut next = f.next_id;
        let mut next_id = || {
            next += 1;
            Ok(next)
        };
        let seed = f.next_id ^ channel;
        let mut random = || -> Result<u64, Refusal> { Ok(seed) };
        let mut cx = OpContext {
            actor,
            now_unix_ms: NOW + 1000,
            users: &f.world,
            online: &|_| false,
            next_id: &mut next_id,
            random: &mut random,
            voice_channel: &|_| None,
        };
        crate::world::guild_ops::apply_member_route(&mut f.guild, &route, &request, &mut cx)
    };
    let listed = |f: &Fixture, viewer: UserId| -> Vec<u64> {
        let json = crate::world::guild_create_json(&f.guild, &f.world, viewer, 250);
        let value: Value = serde_json::from_slice(&json).unwrap();
        value["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(
        invite(&mut f, member, private_id).err(),
        Some(Refusal::MissingAccess),
        "not a member of the private thread"
    );
    assert!(invite(&mut f, member, public_id).is_ok());
    assert_eq!(listed(&f, f.member), [public_id]);
    assert_eq!(listed(&f, f.owner).len(), 2, "the owner sees both");
    // The parent channel hidden from the member hides its public thread too.
    let deny = format!(
        r#"{{"type": 1, "deny": "{}"}}"#,
        Permissions::VIEW_CHANNEL.bits()
    );
    f.ok(f.owner, R::PutOverwrite(f.text, f.member.0), &deny);
    assert_eq!(
        invite(&mut f, member, public_id).err(),
        Some(Refusal::MissingAccess)
    );
    assert!(listed(&f, f.member).is_empty());
}

#[test]
fn private_threads_need_the_permission_and_hide_from_others() {
    let mut f = fixture();
    let route = R::StartThread(f.text);
    assert_eq!(
        f.run(f.member, route, r#"{"name": "secret"}"#).err(),
        Some(Refusal::MissingPermissions),
        "type 12 by default"
    );
    let (_, public) = f.ok(f.member, route, r#"{"name": "open", "type": 11}"#);
    assert_eq!(public["type"], 11);
    let (outcome, private) = f.ok(
        f.owner,
        route,
        r#"{"name": "secret", "type": 12, "invitable": false}"#,
    );
    assert_eq!(private["type"], 12);
    assert_eq!(private["thread_metadata"]["invitable"], false);
    let private_id = ChannelId(private["id"].as_str().unwrap().parse().unwrap());
    assert_eq!(outcome.events[0].audience, Audience::Channel(private_id));
    assert_eq!(viewers(&f.guild, f.channel(private_id)), [f.owner].into());
    assert_eq!(
        f.run(f.member, R::GetChannel(private_id), "").err(),
        Some(Refusal::MissingAccess)
    );
    assert_eq!(
        f.run(f.member, R::JoinThread(private_id), "").err(),
        Some(Refusal::MissingAccess)
    );
    let (_, active) = f.ok(f.member, R::ActiveThreads(f.guild.id), "");
    assert_eq!(
        active["threads"].as_array().unwrap().len(),
        1,
        "only the public one"
    );
    assert_eq!(
        active["members"].as_array().unwrap().len(),
        1,
        "the member started it"
    );
    let (_, active) = f.ok(f.owner, R::ActiveThreads(f.guild.id), "");
    assert_eq!(active["threads"].as_array().unwrap().len(), 2);
    assert_eq!(active["members"].as_array().unwrap().len(), 1);
    assert_eq!(
        f.run(OUTSIDER, R::ActiveThreads(f.guild.id), "").err(),
        Some(Refusal::UnknownGuild)
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, route, r#"{"name": "x", "type": 0}"#),
            &["type"]
        ),
        "BASE_TYPE_CHOICES"
    );
}

#[test]
fn join_and_leave_a_thread() {
    let mut f = fixture();
    let thread = f.thread_from_message(6_000);
    let (outcome, _) = f.ok(f.member, R::JoinThread(thread), "");
    assert_eq!((outcome.reply, outcome.changed), (Reply::Done, true));
    assert_eq!(
        event_names(&outcome),
        [
            "THREAD_MEMBER_UPDATE",
            "THREAD_MEMBERS_UPDATE",
            "THREAD_MEMBERS_UPDATE"
        ]
    );
    assert_eq!(
        outcome.events[0].audience,
        Audience::Users([f.member].into())
    );
    assert_eq!(
        outcome.events[2].audience,
        Audience::Users([f.owner].into())
    );
    assert_eq!(outcome.events[2].intents, Intents::GUILD_MEMBERS);
    assert_eq!(outcome.events[1].d["member_count"], 2);
    assert_eq!(f.channel(thread).kind.thread().unwrap().members.len(), 2);
    let (outcome, _) = f.ok(f.member, R::JoinThread(thread), "");
    assert!(!outcome.changed && outcome.events.is_empty());

    let (outcome, _) = f.ok(f.member, R::LeaveThread(thread), "");
    assert_eq!(
        event_names(&outcome),
        ["THREAD_MEMBERS_UPDATE", "THREAD_MEMBERS_UPDATE"]
    );
    assert_eq!(
        outcome.events[0].d["removed_member_ids"],
        json!([f.member.to_string()])
    );
    let (outcome, _) = f.ok(f.member, R::LeaveThread(thread), "");
    assert!(!outcome.changed);

    assert_eq!(
        f.run(f.member, R::JoinThread(f.text), "").err(),
        Some(WRONG_CHANNEL_TYPE)
    );
    assert_eq!(
        f.run(OUTSIDER, R::JoinThread(thread), "").err(),
        Some(Refusal::MissingAccess)
    );
    assert_eq!(
        f.run(f.member, R::JoinThread(ChannelId(8)), "").err(),
        Some(Refusal::UnknownChannel)
    );
    f.ok(f.owner, R::ModifyChannel(thread), r#"{"archived": true}"#);
    assert_eq!(
        f.run(f.member, R::JoinThread(thread), "").err(),
        Some(THREAD_ARCHIVED_FOR_TEST)
    );
    assert_eq!(
        f.run(f.owner, R::LeaveThread(thread), "").err(),
        Some(THREAD_ARCHIVED_FOR_TEST)
    );
}

const THREAD_ARCHIVED_FOR_TEST: Refusal = Refusal::Coded {
    code: 50083,
    message: "Thread is archived",
};

#[test]
fn modify_a_thread() {
    let mut f = fixture();
    let thread = f.thread_from_message(7_000);
    let (outcome, value) = f.ok(
        f.owner,
        R::ModifyChannel(thread),
        r#"{"name": "renamed", "archived": true}"#,
    );
    assert_eq!(event_names(&outcome), ["THREAD_UPDATE"]);
    assert_eq!(value["thread_metadata"]["archived"], true);
    assert_eq!(value["name"], "renamed");
    assert_eq!(
        f.channel(thread)
            .kind
            .thread()
            .unwrap()
            .archive_timestamp_unix_ms,
        NOW + 1000
    );
    assert_eq!(
        f.run(f.owner, R::ModifyChannel(thread), r#"{"name": "x"}"#)
            .err(),
        Some(THREAD_ARCHIVED_FOR_TEST)
    );
    // Any member who may send in threads may unarchive an unlocked thread.
    f.ok(f.member, R::ModifyChannel(thread), r#"{"archived": false}"#);
    assert_eq!(
        f.run(f.member, R::ModifyChannel(thread), r#"{"name": "mine"}"#)
            .err(),
        Some(Refusal::MissingPermissions),
        "not the creator"
    );
    assert_eq!(
        f.run(f.member, R::ModifyChannel(thread), r#"{"locked": true}"#)
            .err(),
        Some(Refusal::MissingPermissions)
    );
    f.ok(
        f.owner,
        R::ModifyChannel(thread),
        r#"{"locked": true, "archived": true}"#,
    );
    assert_eq!(
        f.run(f.member, R::ModifyChannel(thread), r#"{"archived": false}"#)
            .err(),
        Some(Refusal::MissingPermissions),
        "locked"
    );
    assert_eq!(
        form_error_at(
            f.run(f.owner, R::ModifyChannel(thread), r#"{"archived": "no"}"#),
            &["archived"]
        ),
        "BASE_TYPE_BOOLEAN"
    );
    assert_eq!(
        f.run(OUTSIDER, R::ModifyChannel(thread), r#"{"archived": false}"#)
            .err(),
        Some(Refusal::MissingAccess)
    );

    assert_eq!(
        f.run(f.member, R::DeleteChannel(thread), "").err(),
        Some(Refusal::MissingPermissions)
    );
    let (outcome, value) = f.ok(f.owner, R::DeleteChannel(thread), "");
    assert_eq!(value["id"], thread.to_string());
    assert_eq!(event_names(&outcome), ["THREAD_DELETE"]);
    assert_eq!(outcome.events[0].d["parent_id"], f.text.to_string());
}

// ---- JSON shapes, checked by twilight-model ------------------------------------------

#[test]
fn every_channel_kind_is_a_twilight_channel() {
    use twilight_model::channel::{Channel as TwilightChannel, ChannelType};
    let mut f = fixture();
    let id = f.guild.id;
    f.ok(
        f.owner,
        R::CreateChannel(id),
        r#"{"name": "Cat", "type": 4}"#,
    );
    f.thread_from_message(8_000);
    f.ok(
        f.owner,
        R::StartThread(f.text),
        r#"{"name": "p", "type": 12}"#,
    );
    let mut seen = Vec::new();
    for channel in &f.guild.channels {
        let value = channel_json(channel);
        let parsed: TwilightChannel = serde_json::from_value(value.clone())
            .unwrap_or_else(|error| panic!("twilight rejects {value}: {error}"));
        assert_eq!(parsed.id.get(), channel.id.0);
        seen.push(parsed.kind);
        if let Some(thread) = channel.kind.thread() {
            let metadata = parsed.thread_metadata.expect("thread_metadata");
            assert_eq!(metadata.archived, thread.archived);
            assert_eq!(parsed.owner_id.map(|id| id.get()), Some(thread.owner_id.0));
            assert_eq!(parsed.member_count, Some(1));
            assert_eq!(parsed.message_count, Some(0));
            for key in [
                "total_message_sent",
                "last_message_id",
                "rate_limit_per_user",
                "flags",
            ] {
                assert!(value.get(key).is_some(), "thread lacks {key}");
            }
        } else {
            assert!(value["permission_overwrites"].is_array());
        }
    }
    assert_eq!(
        seen,
        [
            ChannelType::GuildText,
            ChannelType::GuildVoice,
            ChannelType::GuildText,
            ChannelType::GuildCategory,
            ChannelType::PublicThread,
            ChannelType::PrivateThread,
        ]
    );
}

#[test]
fn thread_payloads_are_twilight_payloads() {
    use twilight_model::channel::thread::ThreadsListing;
    use twilight_model::gateway::payload::incoming::{
        ThreadDelete, ThreadMemberUpdate, ThreadMembersUpdate,
    };
    let mut f = fixture();
    let thread = f.thread_from_message(8_100);
    let (outcome, _) = f.ok(f.member, R::JoinThread(thread), "");
    let update: ThreadMemberUpdate = serde_json::from_value(outcome.events[0].d.clone()).unwrap();
    assert_eq!(update.guild_id.get(), f.guild.id.0);
    let members: ThreadMembersUpdate = serde_json::from_value(outcome.events[1].d.clone()).unwrap();
    assert_eq!(members.member_count, 2);
    assert_eq!(members.added_members.len(), 1);
    let (outcome, _) = f.ok(f.member, R::LeaveThread(thread), "");
    let members: ThreadMembersUpdate = serde_json::from_value(outcome.events[0].d.clone()).unwrap();
    assert_eq!(members.removed_member_ids.len(), 1);
    let (_, active) = f.ok(f.owner, R::ActiveThreads(f.guild.id), "");
    let listing: ThreadsListing = serde_json::from_value(active).unwrap();
    assert_eq!((listing.threads.len(), listing.members.len()), (1, 1));
    let (outcome, _) = f.ok(f.owner, R::DeleteChannel(thread), "");
    let deleted: ThreadDelete = serde_json::from_value(outcome.events[0].d.clone()).unwrap();
    assert_eq!(deleted.id.get(), thread.0);
}

#[test]
fn guild_answers_are_twilight_guilds() {
    use twilight_model::guild::PartialGuild;
    let mut f = fixture();
    let id = f.guild.id;
    let outcome = f
        .run_query(f.owner, R::GetGuild(id), "with_counts=true", "")
        .unwrap();
    let value: Value = serde_json::from_slice(&outcome.body).unwrap();
    let parsed: PartialGuild = serde_json::from_value(value).unwrap();
    assert_eq!(parsed.id.get(), id.0);
    let (outcome, _) = f.ok(f.owner, R::ModifyGuild(id), r#"{"name": "Twilight"}"#);
    let parsed: PartialGuild = serde_json::from_value(outcome.events[0].d.clone()).unwrap();
    assert_eq!(parsed.name, "Twilight");
}

// ---- the unchanged-on-error contract --------------------------------------------------

/// JSON values that hit the validators' edges: ids of the fixture's objects, strings
/// around the length limits, numbers around the ranges, wrong types.
fn value_strategy(ids: Vec<u64>) -> impl Strategy<Value = Value> {
    let ids = proptest::sample::select(ids);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop_oneof![
            Just(-1i64),
            Just(0),
            Just(1),
            Just(2),
            Just(4),
            Just(11),
            Just(12),
            Just(60),
            Just(99),
            Just(100),
            Just(1440),
            Just(8_000),
            Just(21_601),
            Just(i64::MAX)
        ]
        .prop_map(Value::from),
        "[a-z ]{0,3}".prop_map(Value::from),
        Just(Value::from("x".repeat(101))),
        ids.clone().prop_map(|id| Value::from(id.to_string())),
        ids.prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map(key_strategy(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn key_strategy() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "name",
        "type",
        "topic",
        "position",
        "parent_id",
        "permission_overwrites",
        "id",
        "allow",
        "deny",
        "nsfw",
        "bitrate",
        "user_limit",
        "rate_limit_per_user",
        "archived",
        "locked",
        "invitable",
        "auto_archive_duration",
        "afk_channel_id",
        "afk_timeout",
        "system_channel_id",
        "owner_id",
        "verification_level",
        "description",
        "lock_permissions",
        "preferred_locale",
        "rtc_region",
        "default_auto_archive_duration",
    ])
    .prop_map(String::from)
}

fn body_strategy(ids: Vec<u64>) -> impl Strategy<Value = Value> {
    let id = proptest::sample::select(ids.clone());
    let templates = prop_oneof![
        Just(json!({"name": "abc"})),
        Just(json!({"name": "abc", "type": 4})),
        Just(json!({"name": "abc", "type": 2, "user_limit": 3})),
        Just(json!({"name": "abc", "type": 12})),
        Just(json!({"archived": true})),
        Just(json!({"archived": false})),
        Just(json!({"locked": true, "archived": true})),
        Just(json!({"topic": "t", "nsfw": true})),
        Just(json!({"type": 0, "deny": "1024"})),
        Just(json!({"type": 1, "allow": "2048"})),
        Just(json!({"afk_timeout": 60, "description": "d"})),
        id.clone()
            .prop_map(|id| json!({"parent_id": id.to_string()})),
        id.clone()
            .prop_map(|id| json!({"name": "abc", "parent_id": id.to_string()})),
        id.clone()
            .prop_map(|id| json!({"owner_id": id.to_string()})),
        id.clone()
            .prop_map(|id| json!({"system_channel_id": id.to_string()})),
        (id.clone(), any::<bool>()).prop_map(|(id, lock)| {
            json!([{"id": id.to_string(), "position": 2, "lock_permissions": lock}])
        }),
        (id.clone(), id).prop_map(|(id, parent)| {
            json!([{"id": id.to_string(), "parent_id": parent.to_string()}])
        }),
    ];
    prop_oneof![
        3 => templates,
        1 => proptest::collection::btree_map(key_strategy(), value_strategy(ids.clone()), 0..6)
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        1 => proptest::collection::vec(
            proptest::collection::btree_map(key_strategy(), value_strategy(ids.clone()), 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            0..3
        )
        .prop_map(Value::Array),
        1 => value_strategy(ids),
    ]
}

fn contract_fixture() -> (Fixture, Vec<u64>) {
    let mut f = fixture();
    let id = f.guild.id;
    f.ok(
        f.owner,
        R::CreateChannel(id),
        r#"{"name": "Cat", "type": 4}"#,
    );
    f.thread_from_message(9_900);
    f.ok(
        f.owner,
        R::StartThread(f.text),
        r#"{"name": "p", "type": 12}"#,
    );
    f.grant_member(Permissions::MANAGE_CHANNELS | Permissions::MANAGE_THREADS);
    let mut ids: Vec<u64> = f.guild.channels.iter().map(|c| c.id.0).collect();
    ids.extend(f.guild.roles.iter().map(|r| r.id.0));
    ids.extend([f.owner.0, f.member.0, OUTSIDER.0, 9_901, 1]);
    (f, ids)
}

fn route_for(selector: u8, a: u64, b: u64, guild: GuildId) -> R {
    let channel = ChannelId(a);
    match selector % 16 {
        0 => R::GetGuild(guild),
        1 => R::ModifyGuild(guild),
        2 => R::DeleteGuild(guild),
        3 => R::ListChannels(guild),
        4 => R::CreateChannel(guild),
        5 => R::ModifyChannelPositions(guild),
        6 => R::ActiveThreads(guild),
        7 => R::GetChannel(channel),
        8 => R::ModifyChannel(channel),
        9 => R::DeleteChannel(channel),
        10 => R::PutOverwrite(channel, b),
        11 => R::DeleteOverwrite(channel, b),
        12 => R::StartThreadFromMessage(channel, MessageId(b)),
        13 => R::StartThread(channel),
        14 => R::JoinThread(channel),
        _ => R::LeaveThread(channel),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn failed_or_unchanged_operations_leave_the_guild_alone(
        steps in proptest::collection::vec(
            (any::<u8>(), 0usize..64, 0usize..64, 0usize..4, body_strategy(contract_fixture().1)),
            1..6,
        ),
    ) {
        let (mut f, ids) = contract_fixture();
        let channels = f.guild.channels.len();
        let guild = f.guild.id;
        for (selector, a, b, actor, body) in steps {
            // Mostly a channel of the guild (the first ids), sometimes anything.
            let a = ids[a % if a < 48 { channels } else { ids.len() }];
            let b = ids[b % ids.len()];
            let actor = [f.owner, f.owner, f.member, OUTSIDER][actor];
            let route = route_for(selector, a, b, guild);
            // `run` asserts the contract (and the model's invariants) on every call.
            let _ = f.run(actor, route, &body.to_string());
            if guild_deleted(&f.guild) {
                break;
            }
        }
    }
}

#[test]
fn reads_are_answered_from_a_shared_guild() {
    let f = fixture();
    let mut next_id = || Ok(1);
    let mut random = || -> Result<u64, Refusal> { Ok(0x5EED) };
    let cx = OpContext {
        actor: f.member,
        now_unix_ms: NOW,
        users: &f.world,
        online: &|_| false,
        next_id: &mut next_id,
        random: &mut random,
        voice_channel: &|_| None,
    };
    for route in [
        R::GetGuild(f.guild.id),
        R::ListChannels(f.guild.id),
        R::ActiveThreads(f.guild.id),
        R::GetChannel(f.text),
    ] {
        let outcome = read(&f.guild, &route, &GuildRequest::Bare, &cx)
            .expect("a read")
            .unwrap();
        assert_eq!(
            (outcome.reply, outcome.changed),
            (Reply::Shown, false),
            "{route:?}"
        );
    }
    assert!(read(
        &f.guild,
        &R::ModifyGuild(f.guild.id),
        &GuildRequest::Bare,
        &cx
    )
    .is_none());
    assert!(read(
        &f.guild,
        &R::DeleteChannel(f.text),
        &GuildRequest::Bare,
        &cx
    )
    .is_none());
    let answer = read(
        &f.guild,
        &R::GetGuild(f.guild.id),
        &GuildRequest::Bare,
        &OpContext {
            actor: OUTSIDER,
            ..cx
        },
    );
    assert_eq!(answer.map(|a| a.err()), Some(Some(Refusal::UnknownGuild)));
}

#[test]
fn with_counts_counts_the_members_the_presence_map_calls_online() {
    let f = fixture();
    let mut next_id = || Ok(1);
    let owner = f.owner;
    let mut random = || -> Result<u64, Refusal> { Ok(0x5EED) };
    let cx = OpContext {
        actor: f.member,
        now_unix_ms: NOW,
        users: &f.world,
        online: &|user| user == owner,
        next_id: &mut next_id,
        random: &mut random,
        voice_channel: &|_| None,
    };
    let outcome = read(
        &f.guild,
        &R::GetGuild(f.guild.id),
        &GuildRequest::GetGuild(Ok(GuildQuery { with_counts: true })),
        &cx,
    )
    .expect("a read")
    .unwrap();
    let value: Value = serde_json::from_slice(&outcome.body).unwrap();
    assert_eq!(value["approximate_member_count"], 2);
    assert_eq!(value["approximate_presence_count"], 1);
}
