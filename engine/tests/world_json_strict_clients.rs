//! Flux's Discord JSON deserialises into twilight-model's strict types.
//!
//! twilight-model (a dev-dependency, used only as this test oracle) requires every field
//! that is neither `Option` nor `#[serde(default)]`, and CLIENTS.md §3 records that a
//! GUILD_CREATE which satisfied discord.py failed it. Each object Flux sends at startup is
//! fed to the type twilight parses it into: GUILD_CREATE, READY (with its user and
//! application), the REST answers of `/users/@me`, `/users/{id}`,
//! `/oauth2/applications/@me` and `/gateway/bot`, and channel, member, role and user
//! objects on their own.

use engine::rest::{handle_request, Method, Request, RestContext, SessionStartLimit};
use engine::world::{
    application_json, channel_json, demo_world, guild_create_json, member_json,
    ready_application_json, ready_user_json, role_json, unavailable_guild_json, user_json, Demo,
    Directory,
};
use serde_json::{json, Value};
use twilight_model::channel::{Channel, ChannelType};
use twilight_model::gateway::connection_info::BotConnectionInfo;
use twilight_model::gateway::payload::incoming::{GuildCreate, Ready};
use twilight_model::guild::{Member, Permissions as TwilightPermissions, Role};
use twilight_model::oauth::Application;
use twilight_model::user::{CurrentUser, User};

const NOW: u64 = 1_700_000_000_000;

fn demo() -> Demo {
    demo_world(NOW, [11; 32]).unwrap()
}

fn parse<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> T {
    match serde_json::from_value(value.clone()) {
        Ok(parsed) => parsed,
        Err(error) => panic!("twilight rejects {what}: {error}\n{value:#}"),
    }
}

#[test]
fn guild_create_is_an_available_twilight_guild() {
    let demo = demo();
    let guild = &demo.world.guilds[0];
    for (for_user, large_threshold) in [(demo.bots[0].user_id, 250), (demo.bots[1].user_id, 1)] {
        let bytes = guild_create_json(guild, &demo.world, for_user, large_threshold);
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let GuildCreate::Available(parsed) = parse::<GuildCreate>(&value, "GUILD_CREATE") else {
            panic!("twilight read GUILD_CREATE as an unavailable guild");
        };
        assert_eq!(parsed.id.get(), demo.guild_id.0);
        assert_eq!(parsed.name, "Flux");
        assert_eq!(parsed.owner_id.get(), demo.bots[0].user_id.0);
        assert_eq!(parsed.member_count, Some(2));
        assert_eq!(parsed.unavailable, Some(false));
        assert_eq!(parsed.channels.len(), 3);
        let text = parsed
            .channels
            .iter()
            .find(|c| c.id.get() == demo.text_channel_id.0)
            .unwrap();
        assert_eq!(text.kind, ChannelType::GuildText);
        let voice = parsed
            .channels
            .iter()
            .find(|c| c.id.get() == demo.voice_channel_id.0)
            .unwrap();
        assert_eq!(voice.kind, ChannelType::GuildVoice);
        assert_eq!(voice.bitrate, Some(64_000));
        assert_eq!(parsed.roles.len(), 1);
        assert_eq!(parsed.roles[0].id.get(), demo.guild_id.0);
        assert!(parsed.joined_at.is_some());
    }
}

#[test]
fn ready_parses_with_user_application_and_guild_stubs() {
    let demo = demo();
    let account = &demo.world.accounts[0];
    let ready = json!({
        "v": 10,
        "user": ready_user_json(&account.user),
        "guilds": demo.world.guilds.iter().map(unavailable_guild_json).collect::<Vec<_>>(),
        "session_id": "0123456789abcdef",
        "resume_gateway_url": "ws://127.0.0.1:8080",
        "shard": [0, 1],
        "application": ready_application_json(&demo.world.applications[0]),
    });
    let parsed: Ready = parse(&ready, "READY");
    assert_eq!(parsed.user.id.get(), account.user.id.0);
    assert_eq!(parsed.user.name, account.user.username);
    assert_eq!(parsed.user.discriminator, 0);
    assert!(parsed.user.bot);
    assert_eq!(parsed.guilds.len(), 1);
    assert_eq!(parsed.application.id.get(), demo.world.applications[0].id.0);
}

#[test]
fn each_object_parses_on_its_own() {
    let demo = demo();
    let guild = &demo.world.guilds[0];
    let user = &demo.world.accounts[1].user;
    let current: CurrentUser = parse(&ready_user_json(user), "current user");
    assert!(!current.mfa_enabled);
    let public: User = parse(&user_json(user), "user");
    assert_eq!(public.id.get(), user.id.0);
    for channel in &guild.channels {
        let parsed: Channel = parse(&channel_json(channel), "channel");
        assert_eq!(parsed.guild_id.map(|id| id.get()), Some(guild.id.0));
        // #staff carries the @everyone deny of VIEW_CHANNEL; the others none.
        let overwrites = parsed.permission_overwrites.expect("always present");
        assert_eq!(overwrites.len(), channel.permission_overwrites.len());
        for (parsed, model) in overwrites.iter().zip(&channel.permission_overwrites) {
            assert_eq!(parsed.allow.bits(), model.allow);
            assert_eq!(parsed.deny.bits(), model.deny);
        }
        if channel.id == demo.staff_channel_id {
            assert_eq!(overwrites.len(), 1);
            assert_eq!(overwrites[0].id.get(), guild.id.0, "@everyone's role id");
            assert!(overwrites[0]
                .deny
                .contains(TwilightPermissions::VIEW_CHANNEL));
        }
    }
    for member in &guild.members {
        let member_user = &demo
            .world
            .accounts
            .iter()
            .find(|a| a.user.id == member.user_id)
            .unwrap()
            .user;
        let parsed: Member = parse(&member_json(member, member_user), "member");
        assert_eq!(parsed.user.id.get(), member.user_id.0);
    }
    let role: Role = parse(&role_json(&guild.roles[0]), "role");
    assert_eq!(role.name, "@everyone");
    assert_eq!(role.permissions.bits(), guild.roles[0].permissions);
    let app = &demo.world.applications[0];
    let owner = &demo.world.accounts[0].user;
    let parsed: Application = parse(&application_json(app, owner, owner), "application");
    assert_eq!(parsed.verify_key, app.verify_key);
    assert!(parsed.owner.is_some());
}

#[test]
fn rest_answers_parse_as_twilight_reads_them() {
    let demo = demo();
    let directory = Directory::from_world(&demo.world, demo.secret.clone());
    let context = RestContext {
        directory: &directory,
        gateway_url: "ws://127.0.0.1:8080",
        shards_recommended: 1,
        session_start_limit: SessionStartLimit::default(),
        now_unix_ms: NOW,
    };
    let auth = format!("Bot {}", demo.bots[0].token);
    let get = |path: &str| -> Value {
        let response = handle_request(&context, &Request::new(Method::Get, path, Some(&auth), b""));
        assert_eq!(
            response.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&response.body)
        );
        serde_json::from_slice(&response.body).unwrap()
    };
    let me: CurrentUser = parse(&get("/api/v10/users/@me"), "GET /users/@me");
    assert_eq!(me.id.get(), demo.bots[0].user_id.0);
    let other = format!("/api/v10/users/{}", demo.bots[1].user_id);
    let other: User = parse(&get(&other), "GET /users/{id}");
    assert_eq!(other.id.get(), demo.bots[1].user_id.0);
    let app: Application = parse(&get("/api/v10/oauth2/applications/@me"), "application");
    assert_eq!(app.id.get(), demo.bots[0].user_id.0);
    let info: BotConnectionInfo = parse(&get("/api/v10/gateway/bot"), "GET /gateway/bot");
    assert_eq!(info.url, "ws://127.0.0.1:8080");
    assert_eq!(info.shards, 1);
    assert_eq!(info.session_start_limit.max_concurrency, 1);
}

/// The oracle bites: dropping a field CLIENTS.md says broke twilight makes it fail, so the
/// tests above prove something.
#[test]
fn the_oracle_rejects_the_fields_that_broke_twilight() {
    let demo = demo();
    let bytes = guild_create_json(
        &demo.world.guilds[0],
        &demo.world,
        demo.bots[0].user_id,
        250,
    );
    let mut guild: Value = serde_json::from_slice(&bytes).unwrap();
    guild.as_object_mut().unwrap().remove("afk_timeout");
    assert!(!matches!(
        serde_json::from_value::<GuildCreate>(guild),
        Ok(GuildCreate::Available(_))
    ));
    let mut user = ready_user_json(&demo.world.accounts[0].user);
    user.as_object_mut().unwrap().remove("mfa_enabled");
    assert!(serde_json::from_value::<CurrentUser>(user).is_err());
    let mut member = member_json(
        &demo.world.guilds[0].members[0],
        &demo.world.accounts[0].user,
    );
    member.as_object_mut().unwrap().remove("flags");
    assert!(serde_json::from_value::<Member>(member).is_err());
}
