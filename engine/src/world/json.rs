//! Discord JSON for the model: the objects REST returns and the gateway dispatches.
//!
//! Strict clients deserialise every documented field (twilight through serde, hikari by
//! indexing `payload["…"]`), so each object here carries every documented field, with
//! `null` for nullable ones that have no value — never an omitted key. The lists that
//! broke real clients are in `shared/compat/CLIENTS.md` §1.2, §1.3, §3 and §5; the
//! tests at the bottom check them, and `tests/world_json_strict_clients.rs` feeds the
//! output to `twilight-model`.
//!
//! Conventions, as on Discord: ids and permission sets are decimal strings, times are
//! ISO 8601 with microseconds, `discriminator` is `"0"` (post-2023 usernames).
//!
//! Elsewhere: the gateway frames these as `d` (`engine::gateway`); `rest` sends them.

use super::ids::{ChannelId, RoleId, UserId};
use super::model::{
    Application, Channel, ChannelKind, Guild, Member, OverwriteTarget, PermissionOverwrite, Role,
    ThreadMember, ThreadSettings, User, UserLookup,
};
use super::timestamp::iso8601_from_unix_ms;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The public User object (as in member lists, message authors and `GET /users/{id}`).
pub fn user_json(user: &User) -> Value {
    to_value(&UserView::of(user))
}

/// A value Discord sends as a decimal string (ids), written without building a `String`.
pub(crate) struct AsString<T>(pub T);

impl<T: std::fmt::Display> Serialize for AsString<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// A list of ids, each as a decimal string.
pub(crate) struct IdList<'a, T>(pub &'a [T]);

impl<T: std::fmt::Display> Serialize for IdList<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(AsString))
    }
}

/// A view that serialises into a `Value`; views hold only what they borrow, so this fails
/// only on a bug.
pub(crate) fn to_value(view: &impl Serialize) -> Value {
    serde_json::to_value(view).expect("a JSON view serialises")
}

/// The public User object as a view that serialises straight to bytes; `user_json` is this
/// as a `Value`. The views here list their fields in the order a `serde_json::Map` writes
/// its keys (sorted), so an object's bytes are the same whichever way it was built.
#[derive(Serialize)]
pub(crate) struct UserView<'a> {
    accent_color: (),
    avatar: (),
    avatar_decoration_data: (),
    banner: (),
    bot: bool,
    collectibles: (),
    discriminator: &'static str,
    global_name: Option<&'a str>,
    id: AsString<UserId>,
    primary_guild: (),
    public_flags: u64,
    system: bool,
    username: &'a str,
}

impl<'a> UserView<'a> {
    pub(crate) fn of(user: &'a User) -> UserView<'a> {
        UserView::new(
            user.id,
            &user.username,
            user.global_name.as_deref(),
            user.bot,
            user.public_flags,
        )
    }

    pub(crate) fn new(
        id: UserId,
        username: &'a str,
        global_name: Option<&'a str>,
        bot: bool,
        public_flags: u64,
    ) -> UserView<'a> {
        UserView {
            accent_color: (),
            avatar: (),
            avatar_decoration_data: (),
            banner: (),
            bot,
            collectibles: (),
            discriminator: "0",
            global_name,
            id: AsString(id),
            primary_guild: (),
            public_flags,
            system: false,
            username,
        }
    }
}

/// The current user, as READY's `user` and `GET /users/@me` send it: the public object
/// plus `mfa_enabled` (twilight and hikari require it), `verified`, `email`, `flags`,
/// `locale` and `premium_type`.
pub fn ready_user_json(user: &User) -> Value {
    let mut value = user_json(user);
    let object = as_object(&mut value);
    object.insert("mfa_enabled".into(), user.mfa_enabled.into());
    object.insert("verified".into(), true.into());
    object.insert("email".into(), Value::Null);
    object.insert("flags".into(), user.public_flags.into());
    object.insert("locale".into(), "en-US".into());
    object.insert("premium_type".into(), 0.into());
    value
}

/// The application object of `GET /oauth2/applications/@me`.
///
/// discord.py needs `id`, `name`, `description`, `icon`, `bot_public`,
/// `bot_require_code_grant`, `owner` and `verify_key` (CLIENTS §1.2 row 2).
pub fn application_json(app: &Application, bot: &User, owner: &User) -> Value {
    debug_assert_eq!(app.bot_user_id, bot.id);
    debug_assert_eq!(app.owner_id, owner.id);
    json!({
        "id": app.id.to_string(),
        "name": app.name,
        "icon": null,
        "description": app.description,
        "summary": "",
        "type": null,
        "bot": user_json(bot),
        "bot_public": app.bot_public,
        "bot_require_code_grant": app.bot_require_code_grant,
        "owner": user_json(owner),
        "team": null,
        "verify_key": app.verify_key,
        "flags": app.flags,
        "rpc_origins": [],
        "redirect_uris": [],
        "tags": [],
        "hook": true,
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "event_webhooks_url": null,
        "event_webhooks_status": 1,
        "cover_image": null,
        "approximate_guild_count": 0,
        "approximate_user_install_count": 0,
        "integration_types_config": {"0": {}},
    })
}

/// READY's partial `application`: `id` and `flags` (discord.py reads `flags`, twilight
/// requires both).
pub fn ready_application_json(app: &Application) -> Value {
    json!({ "id": app.id.to_string(), "flags": app.flags })
}

/// A Role object. `color` is kept for old clients; discord.py reads `colors`.
pub fn role_json(role: &Role) -> Value {
    json!({
        "id": role.id.to_string(),
        "name": role.name,
        "color": role.color,
        "colors": {
            "primary_color": role.color,
            "secondary_color": null,
            "tertiary_color": null,
        },
        "hoist": role.hoist,
        "icon": null,
        "unicode_emoji": null,
        "position": role.position,
        "permissions": role.permissions.to_string(),
        "managed": role.managed,
        "mentionable": role.mentionable,
        "flags": role.flags,
    })
}

/// A guild Channel object of any kind Flux has: text, voice and category channels with
/// `permission_overwrites` always present (hikari requires it); threads in Discord's
/// thread shape (`thread_fields`).
pub fn channel_json(channel: &Channel) -> Value {
    let mut value = json!({
        "id": channel.id.to_string(),
        "type": channel.kind.discord_type(),
        "guild_id": channel.guild_id.to_string(),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": channel
            .permission_overwrites
            .iter()
            .map(overwrite_json)
            .collect::<Vec<_>>(),
        "parent_id": channel.parent_id.map(|id| id.to_string()),
        "nsfw": channel.nsfw,
        "last_message_id": channel.last_message_id.map(|id| id.to_string()),
        "flags": channel.flags,
    });
    let object = as_object(&mut value);
    match &channel.kind {
        ChannelKind::Text(text) => {
            object.insert("topic".into(), text.topic.clone().into());
            object.insert(
                "rate_limit_per_user".into(),
                text.rate_limit_per_user.into(),
            );
            object.insert("last_pin_timestamp".into(), Value::Null);
            object.insert(
                "default_auto_archive_duration".into(),
                text.default_auto_archive_duration.into(),
            );
            object.insert("default_thread_rate_limit_per_user".into(), 0.into());
        }
        ChannelKind::Voice(voice) => {
            object.insert("bitrate".into(), voice.bitrate.into());
            object.insert("user_limit".into(), voice.user_limit.into());
            object.insert("rtc_region".into(), voice.rtc_region.clone().into());
            object.insert("video_quality_mode".into(), 1.into());
            object.insert("rate_limit_per_user".into(), 0.into());
        }
        ChannelKind::Category => {}
        ChannelKind::Thread(thread) => thread_fields(object, thread),
    }
    value
}

/// A thread is a channel without position or overwrites of its own (it inherits its
/// parent's), plus `owner_id`, the counts and `thread_metadata`, as Discord sends it.
fn thread_fields(object: &mut Map<String, Value>, thread: &ThreadSettings) {
    object.remove("position");
    object.remove("permission_overwrites");
    object.insert("owner_id".into(), thread.owner_id.to_string().into());
    object.insert(
        "rate_limit_per_user".into(),
        thread.rate_limit_per_user.into(),
    );
    object.insert("message_count".into(), thread.message_count.into());
    object.insert("member_count".into(), thread.members.len().min(50).into());
    object.insert(
        "total_message_sent".into(),
        thread.total_message_sent.into(),
    );
    object.insert("last_pin_timestamp".into(), Value::Null);
    object.insert(
        "thread_metadata".into(),
        json!({
            "archived": thread.archived,
            "auto_archive_duration": thread.auto_archive_duration,
            "archive_timestamp": iso8601_from_unix_ms(thread.archive_timestamp_unix_ms),
            "locked": thread.locked,
            "invitable": thread.invitable,
            "create_timestamp": iso8601_from_unix_ms(thread.created_at_unix_ms),
        }),
    );
}

/// A thread member object of thread `thread_id` (as THREAD_MEMBERS_UPDATE, THREAD_MEMBER_UPDATE
/// and `GET /guilds/{id}/threads/active` send it): `id`, `user_id`, `join_timestamp`, `flags`.
pub fn thread_member_json(thread_id: ChannelId, member: &ThreadMember) -> Value {
    json!({
        "id": thread_id.to_string(),
        "user_id": member.user_id.to_string(),
        "join_timestamp": iso8601_from_unix_ms(member.joined_at_unix_ms),
        "flags": member.flags,
    })
}

fn overwrite_json(overwrite: &PermissionOverwrite) -> Value {
    let (id, kind) = match overwrite.target {
        OverwriteTarget::Role(role) => (role.0, 0),
        OverwriteTarget::Member(user) => (user.0, 1),
    };
    json!({
        "id": id.to_string(),
        "type": kind,
        "allow": overwrite.allow.to_string(),
        "deny": overwrite.deny.to_string(),
    })
}

/// A guild Member object with its full `user`, `roles` and `flags` (discord.py reads
/// `flags` unconditionally).
pub fn member_json(member: &Member, user: &User) -> Value {
    to_value(&MemberView::of(member, Some(user)))
}

/// The Member object as a view (see `UserView`); without `user` as a message carries it.
#[derive(Serialize)]
pub(crate) struct MemberView<'a> {
    avatar: (),
    avatar_decoration_data: (),
    banner: (),
    communication_disabled_until: Option<String>,
    deaf: bool,
    flags: u64,
    joined_at: String,
    mute: bool,
    nick: Option<&'a str>,
    pending: bool,
    premium_since: (),
    roles: IdList<'a, RoleId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<UserView<'a>>,
}

impl<'a> MemberView<'a> {
    pub(crate) fn of(member: &'a Member, user: Option<&'a User>) -> MemberView<'a> {
        debug_assert!(user.is_none_or(|user| user.id == member.user_id));
        MemberView {
            avatar: (),
            avatar_decoration_data: (),
            banner: (),
            communication_disabled_until: member
                .communication_disabled_until_unix_ms
                .map(iso8601_from_unix_ms),
            deaf: member.deaf,
            flags: member.flags,
            joined_at: iso8601_from_unix_ms(member.joined_at_unix_ms),
            mute: member.mute,
            nick: member.nick.as_deref(),
            pending: member.pending,
            premium_since: (),
            roles: IdList(&member.roles),
            user: user.map(UserView::of),
        }
    }
}

/// The Guild object (as `GET /guilds/{id}` and GUILD_UPDATE send it), every documented
/// field present. hikari indexes `afk_channel_id`, `application_id`, `rules_channel_id`,
/// `public_updates_channel_id`, `vanity_url_code`, `banner`, `splash` … directly;
/// twilight requires the fields in CLIENTS §3.
pub fn guild_json(guild: &Guild) -> Value {
    json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": guild.owner_id.to_string(),
        "region": null,
        "afk_channel_id": guild.afk_channel_id.map(|id| id.to_string()),
        "afk_timeout": guild.afk_timeout,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": guild.verification_level,
        "default_message_notifications": guild.default_message_notifications,
        "explicit_content_filter": guild.explicit_content_filter,
        "roles": guild.roles.iter().map(role_json).collect::<Vec<_>>(),
        "emojis": [],
        "features": guild.features,
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": guild.system_channel_id.map(|id| id.to_string()),
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500_000,
        "vanity_url_code": null,
        "description": guild.description,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": guild.preferred_locale,
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "incidents_data": null,
        "hub_type": null,
        "latest_onboarding_question_id": null,
    })
}

/// The `d` of GUILD_CREATE for `for_user`, serialised once into shared bytes.
///
/// It is the Guild object plus the gateway-only fields: `joined_at` (the current user's),
/// `large`, `unavailable: false`, `member_count`, `members`, `channels` (without threads),
/// `threads` (the active ones `for_user` may view), and empty `presences`, `voice_states`, `stage_instances`, `guild_scheduled_events`,
/// `soundboard_sounds`. A guild with more than `large_threshold` members is `large` and
/// then carries only `for_user`'s own member (clients chunk the rest with op 8), as
/// Discord sends only online members; otherwise it carries every member, so discord.py
/// sees `member_count == len(members)` and does not chunk.
///
/// The result varies only with (`guild`, `for_user`, largeness); `GuildCreateCache`
/// keeps one copy per combination for every session on a core to share.
pub fn guild_create_json(
    guild: &Guild,
    users: &impl UserLookup,
    for_user: UserId,
    large_threshold: u32,
) -> Arc<[u8]> {
    let large = guild.members.len() > large_threshold as usize;
    let members: Vec<Value> = guild
        .members
        .iter()
        .filter(|member| !large || member.user_id == for_user)
        .filter_map(|member| {
            let user = users.user(member.user_id);
            debug_assert!(user.is_some(), "World::validate guarantees members' users");
            user.map(|user| member_json(member, user))
        })
        .collect();
    let joined_at = guild
        .member(for_user)
        .map(|member| iso8601_from_unix_ms(member.joined_at_unix_ms));

    let mut value = guild_json(guild);
    let object = as_object(&mut value);
    object.insert("joined_at".into(), joined_at.into());
    object.insert("large".into(), large.into());
    object.insert("unavailable".into(), false.into());
    object.insert("member_count".into(), guild.members.len().into());
    object.insert("members".into(), members.into());
    // Threads are not channels here: `threads` lists the active ones `for_user` may view
    // (a public thread needs its parent channel's VIEW_CHANNEL, a private one membership
    // or MANAGE_THREADS), as Discord does.
    let snapshot = crate::world::permissions::GuildSnapshot::of_guild(guild);
    let viewer = snapshot.member(for_user);
    let (threads, channels): (Vec<&Channel>, Vec<&Channel>) = guild
        .channels
        .iter()
        .partition(|channel| channel.kind.thread().is_some());
    let channels: Vec<Value> = channels.into_iter().map(channel_json).collect();
    object.insert("channels".into(), channels.into());
    let threads: Vec<Value> = threads
        .into_iter()
        .filter(|channel| channel.kind.thread().is_some_and(|thread| !thread.archived))
        .filter(|channel| {
            let view = crate::world::permissions::ChannelSnapshot::of_guild_channel(guild, channel);
            viewer.is_some_and(|viewer| {
                snapshot
                    .permissions_in(viewer, &view, 0)
                    .contains(crate::world::permissions::Permissions::VIEW_CHANNEL)
            })
        })
        .map(channel_json)
        .collect();
    object.insert("threads".into(), threads.into());
    for empty in [
        "presences",
        "voice_states",
        "stage_instances",
        "guild_scheduled_events",
        "soundboard_sounds",
    ] {
        object.insert(empty.into(), Value::Array(Vec::new()));
    }
    encode(&value).into()
}

/// The unavailable-guild stub READY lists: `{"id": "…", "unavailable": true}`.
pub fn unavailable_guild_json(guild: &Guild) -> Value {
    json!({ "id": guild.id.to_string(), "unavailable": true })
}

/// Serialises a JSON value Flux built itself: a REST body or a dispatch's `d`.
///
/// This is `serde_json::to_vec` without the `Result`: serialising a `Value` cannot fail,
/// since its map keys are strings and it holds no foreign `Serialize` impl.
///
/// ```
/// use engine::world::encode;
/// assert_eq!(encode(&serde_json::json!({"id": "1", "ok": true})), br#"{"id":"1","ok":true}"#);
/// ```
pub fn encode(value: &Value) -> Vec<u8> {
    // A serde_json::Value always serialises: its map keys are strings.
    serde_json::to_vec(value).expect("a JSON value serialises")
}

fn as_object(value: &mut Value) -> &mut Map<String, Value> {
    match value {
        Value::Object(object) => object,
        _ => unreachable!("every encoder above builds an object with json!({{…}})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo::demo_world;

    /// Keys every strict client needs, from CLIENTS.md §1.2, §1.3, §3 and §5.
    const GUILD_KEYS: &[&str] = &[
        // twilight's custom deserialiser (§3)
        "afk_timeout",
        "default_message_notifications",
        "explicit_content_filter",
        "features",
        "id",
        "mfa_level",
        "name",
        "nsfw_level",
        "owner_id",
        "preferred_locale",
        "premium_progress_bar_enabled",
        "roles",
        "system_channel_flags",
        "verification_level",
        // hikari's payload["…"] reads (§5: "assume the complete documented Guild object")
        "afk_channel_id",
        "application_id",
        "system_channel_id",
        "rules_channel_id",
        "public_updates_channel_id",
        "icon",
        "splash",
        "vanity_url_code",
        "description",
        "banner",
        "premium_tier",
        "emojis",
        "stickers",
        // the rest of the documented object, nullable ones as null
        "discovery_splash",
        "widget_enabled",
        "widget_channel_id",
        "max_presences",
        "max_members",
        "premium_subscription_count",
        "max_video_channel_users",
        "max_stage_video_channel_users",
        "safety_alerts_channel_id",
        "incidents_data",
    ];
    const GUILD_CREATE_KEYS: &[&str] = &[
        "joined_at",
        "large",
        "unavailable",
        "member_count",
        "members",
        "channels",
        "threads",
        "presences",
        "voice_states",
        "stage_instances",
        "guild_scheduled_events",
        "soundboard_sounds",
    ];
    const USER_KEYS: &[&str] = &[
        "id",
        "username",
        "discriminator",
        "global_name",
        "avatar",
        "bot",
        "banner",
        "accent_color",
        "public_flags",
        "avatar_decoration_data",
    ];
    const CURRENT_USER_KEYS: &[&str] = &["mfa_enabled", "verified", "email", "flags", "locale"];
    const ROLE_KEYS: &[&str] = &[
        "id",
        "name",
        "color",
        "colors",
        "hoist",
        "icon",
        "unicode_emoji",
        "position",
        "permissions",
        "managed",
        "mentionable",
        "flags",
    ];
    const MEMBER_KEYS: &[&str] = &[
        "user",
        "nick",
        "avatar",
        "roles",
        "joined_at",
        "premium_since",
        "deaf",
        "mute",
        "flags",
        "pending",
        "communication_disabled_until",
    ];
    const CHANNEL_KEYS: &[&str] = &[
        "id",
        "type",
        "guild_id",
        "name",
        "position",
        "permission_overwrites",
        "parent_id",
        "nsfw",
        "last_message_id",
        "flags",
        "rate_limit_per_user",
    ];
    const TEXT_KEYS: &[&str] = &["topic", "last_pin_timestamp"];
    const VOICE_KEYS: &[&str] = &["bitrate", "user_limit", "rtc_region", "video_quality_mode"];
    const APPLICATION_KEYS: &[&str] = &[
        "id",
        "name",
        "description",
        "icon",
        "bot_public",
        "bot_require_code_grant",
        "owner",
        "verify_key",
        "flags",
        "team",
    ];

    fn assert_keys(value: &Value, keys: &[&str], what: &str) {
        let object = value
            .as_object()
            .unwrap_or_else(|| panic!("{what} is not an object"));
        for key in keys {
            assert!(object.contains_key(*key), "{what} lacks `{key}`: {value}");
        }
    }

    #[test]
    fn guild_create_carries_every_field_strict_clients_read() {
        let demo = demo_world(1_700_000_000_000, [7; 32]).unwrap();
        let guild = &demo.world.guilds[0];
        let bot = demo.world.accounts[0].user.id;
        let bytes = guild_create_json(guild, &demo.world, bot, 250);
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_keys(&value, GUILD_KEYS, "guild");
        assert_keys(&value, GUILD_CREATE_KEYS, "GUILD_CREATE");
        assert_eq!(value["unavailable"], false);
        assert_eq!(value["large"], false);
        assert_eq!(value["member_count"], 2);
        assert_eq!(value["members"].as_array().unwrap().len(), 2);
        assert_eq!(value["owner_id"], bot.to_string());
        // The @everyone role has the guild's id.
        assert!(value["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|role| role["id"] == value["id"] && role["name"] == "@everyone"));
        for role in value["roles"].as_array().unwrap() {
            assert_keys(role, ROLE_KEYS, "role");
            assert!(role["permissions"].is_string());
            assert!(role.get("tags").is_none(), "tags are omitted, not null");
        }
        for member in value["members"].as_array().unwrap() {
            assert_keys(member, MEMBER_KEYS, "member");
            assert_keys(&member["user"], USER_KEYS, "member.user");
        }
        let channels = value["channels"].as_array().unwrap();
        assert_eq!(channels.len(), 3);
        for channel in channels {
            assert_keys(channel, CHANNEL_KEYS, "channel");
            let extra = if channel["type"] == 0 {
                TEXT_KEYS
            } else {
                VOICE_KEYS
            };
            assert_keys(channel, extra, "channel kind");
        }
        assert!(value["joined_at"].as_str().unwrap().ends_with("+00:00"));
    }

    #[test]
    fn large_guild_create_sends_only_the_current_member() {
        let demo = demo_world(1_700_000_000_000, [7; 32]).unwrap();
        let guild = &demo.world.guilds[0];
        let bot = demo.world.accounts[1].user.id;
        let value: Value =
            serde_json::from_slice(&guild_create_json(guild, &demo.world, bot, 1)).unwrap();
        assert_eq!(value["large"], true);
        assert_eq!(value["member_count"], 2);
        let members = value["members"].as_array().unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0]["user"]["id"], bot.to_string());
    }

    #[test]
    fn current_user_and_application_carry_required_fields() {
        let demo = demo_world(1_700_000_000_000, [7; 32]).unwrap();
        let user = &demo.world.accounts[0].user;
        let current = ready_user_json(user);
        assert_keys(&current, USER_KEYS, "user");
        assert_keys(&current, CURRENT_USER_KEYS, "current user");
        assert_eq!(current["discriminator"], "0");
        assert_eq!(current["bot"], true);
        assert!(current["avatar"].is_null());
        let app = &demo.world.applications[0];
        let app_value = application_json(app, user, user);
        assert_keys(&app_value, APPLICATION_KEYS, "application");
        assert_keys(&app_value["owner"], USER_KEYS, "application.owner");
        assert_eq!(app_value["verify_key"].as_str().unwrap().len(), 64);
        let partial = ready_application_json(app);
        assert_eq!(partial["id"], app.id.to_string());
        assert!(partial["flags"].is_u64());
    }

    #[test]
    fn overwrites_encode_type_and_string_bits() {
        let overwrite = PermissionOverwrite {
            target: OverwriteTarget::Member(UserId(42)),
            allow: 1 << 40,
            deny: 3,
        };
        let value = overwrite_json(&overwrite);
        assert_eq!(
            value,
            json!({"id": "42", "type": 1, "allow": "1099511627776", "deny": "3"})
        );
    }
}
