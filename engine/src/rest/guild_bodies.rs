//! The bodies and queries of the guild object's routes, read into typed requests on the
//! receiving core: `POST /guilds` ([`parse_guild_form`]), `GET /guilds/{id}`
//! ([`parse_guild_query`]), `PATCH /guilds/{id}` ([`parse_guild_edit`]); and
//! [`guild_request`], which picks the parser of every guild, channel, overwrite and thread
//! route (the channel ones are `channel_bodies.rs`').
//!
//! Why here: the owner core's operations (`world::guild_ops`) take typed values and parse
//! nothing; reading untrusted bytes is this layer's job. Faults of shape are found here
//! (Discord's 50035 with every field's fault, `form_fields.rs`); what needs the guild (an
//! AFK channel that is a voice channel of it, an owner who is a member) is the
//! operation's, which adds its faults to these.
//!
//! Discord's rules: `name` 2–100 characters (required on create); `description` at most
//! 120; `afk_timeout` one of 60, 300, 900, 1800, 3600; `preferred_locale` one of Discord's
//! locales; the three levels from their choice lists; `with_counts` `true`/`false` (also
//! `1`/`0`, any case). Fields Flux has no use for (`icon`, `roles`, `channels`, …) are
//! ignored.

use super::channel_bodies::{
    parse_channel_edit, parse_channel_form, parse_channel_positions, parse_overwrite_form,
    parse_thread_form,
};
use super::form_fields::{FieldReader, FormErrors};
use crate::rest::parse_object;
use crate::world::guild_ops::guild_forms::{GuildEdit, GuildForm, GuildLevels, GuildQuery};
use crate::world::guild_ops::{GuildRequest, GuildRoute, Parsed};
use crate::world::{ChannelId, Refusal, UserId};
use serde_json::{Map, Value};

/// The AFK timeouts Discord allows, in seconds.
const AFK_TIMEOUTS: [i64; 5] = [60, 300, 900, 1800, 3600];

/// The locales Discord accepts for `preferred_locale`.
const LOCALES: [&str; 31] = [
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW",
];

/// The typed request of `route` from its URL `query` (without `?`) and `body`.
///
/// ```
/// use engine::rest::guild_bodies::guild_request;
/// use engine::world::guild_ops::{guild_forms::GuildQuery, GuildRequest, GuildRoute};
/// use engine::world::GuildId;
/// let request = guild_request(&GuildRoute::GetGuild(GuildId(1)), "with_counts=true", b"");
/// assert_eq!(request, GuildRequest::GetGuild(Ok(GuildQuery { with_counts: true })));
/// ```
pub fn guild_request(route: &GuildRoute, query: &str, body: &[u8]) -> GuildRequest {
    match route {
        GuildRoute::CreateGuild => GuildRequest::CreateGuild(parse_guild_form(body)),
        GuildRoute::GetGuild(_) => GuildRequest::GetGuild(parse_guild_query(query)),
        GuildRoute::ModifyGuild(_) => GuildRequest::ModifyGuild(parse_guild_edit(body)),
        GuildRoute::CreateChannel(_) => GuildRequest::CreateChannel(parse_channel_form(body)),
        GuildRoute::ModifyChannelPositions(_) => {
            GuildRequest::ModifyChannelPositions(parse_channel_positions(body))
        }
        GuildRoute::ModifyChannel(_) => {
            GuildRequest::ModifyChannel(Box::new(parse_channel_edit(body)))
        }
        GuildRoute::PutOverwrite(..) => GuildRequest::PutOverwrite(parse_overwrite_form(body)),
        GuildRoute::StartThreadFromMessage(..) => {
            GuildRequest::StartThread(parse_thread_form(body, true))
        }
        GuildRoute::StartThread(_) => GuildRequest::StartThread(parse_thread_form(body, false)),
        GuildRoute::DeleteGuild(_)
        | GuildRoute::ListChannels(_)
        | GuildRoute::ActiveThreads(_)
        | GuildRoute::GetChannel(_)
        | GuildRoute::DeleteChannel(_)
        | GuildRoute::DeleteOverwrite(..)
        | GuildRoute::JoinThread(_)
        | GuildRoute::LeaveThread(_) => GuildRequest::Bare,
    }
}

/// `POST /guilds`: `name` 2–100 characters (required) and the levels; every fault in
/// one 50035.
pub fn parse_guild_form(body: &[u8]) -> Parsed<GuildForm> {
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let name = errors.string(&object, "name", 2, 100, false).flatten();
    if !object.contains_key("name") {
        errors.required(&["name"]);
    }
    let levels = read_levels(&mut errors, &object);
    errors.finish()?;
    Ok(GuildForm {
        name: name.unwrap_or_default(),
        levels,
    })
}

/// `GET /guilds/{id}`'s query: `with_counts` `true`/`false` (also `1`/`0`, any case),
/// else 50035 naming it; other parameters are ignored.
pub fn parse_guild_query(query: &str) -> Parsed<GuildQuery> {
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
    Ok(GuildQuery { with_counts })
}

/// `PATCH /guilds/{id}`: every field checked for shape, the faults kept in the edit for
/// the owner to answer with its own.
pub fn parse_guild_edit(body: &[u8]) -> Parsed<GuildEdit> {
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let name = errors.string(&object, "name", 2, 100, false).flatten();
    let description = errors.string(&object, "description", 0, 120, true);
    let afk_timeout = errors
        .choice(&object, "afk_timeout", &AFK_TIMEOUTS)
        .and_then(|seconds| u32::try_from(seconds).ok());
    let locale = errors
        .string(&object, "preferred_locale", 1, 16, false)
        .flatten();
    let preferred_locale = match locale {
        Some(locale) if !LOCALES.contains(&locale.as_str()) => {
            errors.add(
                &["preferred_locale"],
                "LOCALE_INVALID",
                format!("\"{locale}\" is not a valid locale."),
            );
            None
        }
        locale => locale,
    };
    let afk_channel_id = channel_id(&mut errors, &object, "afk_channel_id");
    let system_channel_id = channel_id(&mut errors, &object, "system_channel_id");
    let owner_id = match object.get("owner_id") {
        None => None,
        Some(value) => errors.snowflake(value, &["owner_id"]).flatten().map(UserId),
    };
    let levels = read_levels(&mut errors, &object);
    Ok(GuildEdit {
        name,
        description,
        afk_timeout,
        preferred_locale,
        afk_channel_id,
        system_channel_id,
        owner_id,
        levels,
        faults: errors,
    })
}

/// A nullable channel id field: `Some(None)` for `null`, `None` when absent or not a
/// snowflake (the fault recorded).
fn channel_id(
    errors: &mut FormErrors,
    object: &Map<String, Value>,
    key: &'static str,
) -> Option<Option<ChannelId>> {
    errors
        .snowflake(object.get(key)?, &[key])
        .map(|id| id.map(ChannelId))
}

/// The three moderation levels both create and modify take.
fn read_levels(errors: &mut FormErrors, object: &Map<String, Value>) -> GuildLevels {
    // Each is checked against a choice list of small numbers.
    let level = |value: Option<i64>| value.map(|value| u8::try_from(value).unwrap_or(0));
    GuildLevels {
        verification: level(errors.choice(object, "verification_level", &[0, 1, 2, 3, 4])),
        notifications: level(errors.choice(object, "default_message_notifications", &[0, 1])),
        content_filter: level(errors.choice(object, "explicit_content_filter", &[0, 1, 2])),
    }
}
