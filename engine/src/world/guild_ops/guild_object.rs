//! The guild object's own routes: create (`POST /guilds`), get (with `with_counts`),
//! modify (`PATCH`) and delete, as Discord's `resources/guild` describes them.
//!
//! Discord's rules kept here:
//! - Create: `name` 2–100 characters (else 50035). The caller becomes the owner and the
//!   only member; the guild gets its `@everyone` role (id = guild id) with Discord's
//!   default permissions [`EVERYONE_DEFAULT`], a `#general` text channel (also the
//!   system channel) and a `General` voice channel. `verification_level`,
//!   `default_message_notifications` and `explicit_content_filter` are honoured; the
//!   optional `roles`, `channels`, `icon`, `afk_*` and `system_channel_*` fields are
//!   accepted and ignored (Flux builds the default layout instead).
//! - Get: any member; `with_counts=true` adds `approximate_member_count` and
//!   `approximate_presence_count` (members `OpContext::online` says are online: every
//!   core, the owner too, holds the presence map its users' home cores broadcast).
//! - Modify: MANAGE_GUILD; `owner_id` (a transfer) only by the owner, to a member;
//!   `afk_channel_id` must be a voice channel of the guild, `system_channel_id` a text
//!   channel. `icon`, `banner`, `splash`, `features`, … are ignored (Flux has none).
//!   A modify that changes nothing stores nothing and sends no GUILD_UPDATE.
//! - Delete: the owner only (anyone else 50013), 204. See `route_entry` for how the
//!   app learns of it.

use serde_json::{Map, Value};

use super::guild_fields::FormErrors;
use super::route_entry::Access;
use super::Reply;
use super::{Audience, GuildEvent, OpContext, Outcome};
use crate::gateway::Intents;
use crate::world::ids::{ChannelId, GuildId, UserId};
use crate::world::json::{encode, guild_json};
use crate::world::model::{ChannelKind, Guild};
use crate::world::parse_object;
use crate::world::permissions::Permissions;
use crate::world::Refusal;

/// The AFK timeouts Discord allows, in seconds.
const AFK_TIMEOUTS: [i64; 5] = [60, 300, 900, 1800, 3600];

/// The locales Discord accepts for `preferred_locale`.
const LOCALES: [&str; 31] = [
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW",
];

/// `POST /guilds`: the new guild and its 201 answer (no events: the app derives the
/// owner's GUILD_CREATE).
pub(super) fn create(
    id: GuildId,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<(Guild, Outcome), Refusal> {
    if cx.users.user(cx.actor).is_none() {
        return Err(Refusal::UnknownUser);
    }
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let name = errors.string(&object, "name", 2, 100, false).flatten();
    if !object.contains_key("name") {
        errors.required(&["name"]);
    }
    let levels = Levels::read(&mut errors, &object);
    errors.finish()?;
    let name = name.unwrap_or_default();
    let text_id = ChannelId((cx.next_id)()?);
    let voice_id = ChannelId((cx.next_id)()?);
    let mut guild =
        crate::world::new_guild(id, &name, cx.actor, [text_id, voice_id], cx.now_unix_ms);
    levels.apply(&mut guild);
    let outcome = Outcome::write(Reply::Created, encode(&guild_json(&guild)), Vec::new());
    Ok((guild, outcome))
}

/// `GET /guilds/{id}`: any member; `with_counts=true` adds the approximate counts.
pub(super) fn get(guild: &Guild, query: &str, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    Access::guild(guild, cx)?;
    let with_counts = with_counts(query)?;
    let mut value = guild_json(guild);
    if with_counts {
        if let Value::Object(object) = &mut value {
            object.insert(
                "approximate_member_count".into(),
                guild.members.len().into(),
            );
            object.insert(
                "approximate_presence_count".into(),
                super::online_count(guild, cx).into(),
            );
        }
    }
    Ok(Outcome::read(Reply::Shown, encode(&value)))
}

/// The `with_counts` query parameter: `true`/`false` (also `1`/`0`, any case), else
/// 50035 naming it.
fn with_counts(query: &str) -> Result<bool, Refusal> {
    let mut with_counts = false;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "with_counts" {
            continue;
        }
        with_counts = match value.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(Refusal::InvalidFormBody {
                    field: "with_counts",
                    code: "BASE_TYPE_BOOLEAN",
                    message: "Must be either true or false.".into(),
                })
            }
        };
    }
    Ok(with_counts)
}

/// `PATCH /guilds/{id}`.
pub(super) fn modify(
    guild: &mut Guild,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let access = Access::guild(guild, cx)?;
    access.require(Permissions::MANAGE_GUILD)?;
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let name = errors.string(&object, "name", 2, 100, false).flatten();
    let description = errors.string(&object, "description", 0, 120, true);
    let afk_timeout = errors.choice(&object, "afk_timeout", &AFK_TIMEOUTS);
    let locale = errors
        .string(&object, "preferred_locale", 1, 16, false)
        .flatten();
    if let Some(locale) = &locale {
        if !LOCALES.contains(&locale.as_str()) {
            errors.add(
                &["preferred_locale"],
                "LOCALE_INVALID",
                format!("\"{locale}\" is not a valid locale."),
            );
        }
    }
    let afk_channel = channel_field(&mut errors, guild, &object, "afk_channel_id", |kind| {
        matches!(kind, ChannelKind::Voice(_))
    });
    let system_channel = channel_field(&mut errors, guild, &object, "system_channel_id", |kind| {
        matches!(kind, ChannelKind::Text(_))
    });
    let owner = match object.get("owner_id") {
        None => None,
        Some(value) => errors.snowflake(value, &["owner_id"]).flatten().map(UserId),
    };
    if owner.is_some_and(|owner| guild.member(owner).is_none()) {
        errors.add(&["owner_id"], "GUILD_OWNER_INVALID", "Unknown member.");
    }
    let levels = Levels::read(&mut errors, &object);
    errors.finish()?;
    if owner.is_some_and(|owner| owner != guild.owner_id) && cx.actor != guild.owner_id {
        return Err(Refusal::MissingPermissions);
    }

    let before = guild.clone();
    if let Some(name) = name {
        guild.name = name;
    }
    if let Some(description) = description {
        guild.description = description;
    }
    if let Some(timeout) = afk_timeout.and_then(|t| u32::try_from(t).ok()) {
        guild.afk_timeout = timeout;
    }
    if let Some(locale) = locale {
        guild.preferred_locale = locale;
    }
    if let Some(channel) = afk_channel {
        guild.afk_channel_id = channel;
    }
    if let Some(channel) = system_channel {
        guild.system_channel_id = channel;
    }
    if let Some(owner) = owner {
        guild.owner_id = owner;
    }
    levels.apply(guild);
    let body = encode(&guild_json(guild));
    if *guild == before {
        return Ok(Outcome::read(Reply::Shown, body));
    }
    let event = guild_update(guild);
    Ok(Outcome::write(Reply::Shown, body, vec![event]))
}

/// GUILD_UPDATE with the whole guild object, to every member with GUILDS.
pub(super) fn guild_update(guild: &Guild) -> GuildEvent {
    GuildEvent {
        name: "GUILD_UPDATE",
        d: guild_json(guild),
        intents: Intents::GUILDS,
        audience: Audience::Guild,
    }
}

/// `DELETE /guilds/{id}`: the owner only.
pub(super) fn delete(guild: &mut Guild, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    Access::guild(guild, cx)?;
    if cx.actor != guild.owner_id {
        return Err(Refusal::MissingPermissions);
    }
    guild.members.clear();
    guild.channels.clear();
    guild.invites.clear();
    guild.bans.clear();
    Ok(Outcome::write(Reply::Done, Vec::new(), Vec::new()))
}

/// A nullable channel id field that must name a channel of `guild` of the right kind:
/// `Some(None)` for `null`, `None` when absent or invalid (the fault recorded).
fn channel_field(
    errors: &mut FormErrors,
    guild: &Guild,
    object: &Map<String, Value>,
    key: &'static str,
    kind_ok: fn(&ChannelKind) -> bool,
) -> Option<Option<ChannelId>> {
    let id = errors.snowflake(object.get(key)?, &[key])?;
    let Some(id) = id.map(ChannelId) else {
        return Some(None);
    };
    match guild.channel(id) {
        Some(channel) if kind_ok(&channel.kind) => Some(Some(id)),
        _ => {
            errors.add(
                &[key],
                "CHANNEL_TYPE_INVALID",
                "Invalid channel for this field.",
            );
            None
        }
    }
}

/// The three moderation levels both create and modify take.
struct Levels {
    verification: Option<i64>,
    notifications: Option<i64>,
    content_filter: Option<i64>,
}

impl Levels {
    fn read(errors: &mut FormErrors, object: &Map<String, Value>) -> Levels {
        Levels {
            verification: errors.choice(object, "verification_level", &[0, 1, 2, 3, 4]),
            notifications: errors.choice(object, "default_message_notifications", &[0, 1]),
            content_filter: errors.choice(object, "explicit_content_filter", &[0, 1, 2]),
        }
    }

    fn apply(&self, guild: &mut Guild) {
        // Each was checked against a choice list of small numbers.
        let level = |value: i64| u8::try_from(value).unwrap_or(0);
        if let Some(value) = self.verification {
            guild.verification_level = level(value);
        }
        if let Some(value) = self.notifications {
            guild.default_message_notifications = level(value);
        }
        if let Some(value) = self.content_filter {
            guild.explicit_content_filter = level(value);
        }
    }
}
