//! The bodies of the channel, position, overwrite and thread routes, read into typed
//! requests (`world::guild_ops::channel_forms`) on the receiving core.
//!
//! Why here: the owner core's operations parse nothing; this layer reads untrusted bytes.
//! Faults of shape are found here and collected into one 50035 (`form_fields.rs`); what
//! needs the guild (a parent that is a category of it, an overwrite's role, a positions
//! entry's channel, a `type` that must stay the channel's) is the operation's, which
//! adds its faults to these — so a value's `faults` may be non-empty, and a body whose
//! faults are all of shape is still refused by the owner, at the point Discord checks it.
//!
//! Discord's rules (`resources/guild`, `resources/channel`, `topics/threads`): channel
//! `name` 1–100 characters and not blank, `type` 0, 2 or 4 on create, `topic` at most
//! 1024, `rate_limit_per_user` 0–21600, `bitrate` 8000–96000, `user_limit` 0–99,
//! `rtc_region` 1–32, `default_auto_archive_duration` and thread `auto_archive_duration`
//! one of 60, 1440, 4320, 10080; overwrites `{id, type: 0|1, allow?, deny?}`; a thread
//! `name` 1–100 (required), `type` 11 or 12 (default 12) unless started from a message.

use super::form_fields::{FieldReader, FormErrors};
use crate::rest::parse_object;
use crate::world::guild_ops::channel_forms::{
    ChannelEdit, ChannelFields, ChannelForm, ChannelPositions, OverwriteEntry, OverwriteForm,
    PositionEntry, ThreadEdit, ThreadForm,
};
use crate::world::guild_ops::channels::OVERWRITES_MAX;
use crate::world::guild_ops::Parsed;
use crate::world::{ChannelId, Refusal};
use serde_json::{Map, Value};

/// Auto-archive durations Discord allows, in minutes.
const AUTO_ARCHIVE_MINUTES: [i64; 4] = [60, 1440, 4320, 10080];
/// Longest slow mode, in seconds.
const RATE_LIMIT_MAX_S: i64 = 21_600;

/// `POST /guilds/{id}/channels`.
///
/// ```
/// use engine::rest::channel_bodies::parse_channel_form;
/// let form = parse_channel_form(br#"{"name": "news", "type": 2}"#).unwrap();
/// assert_eq!((form.kind_type, form.fields.name.as_deref()), (2, Some("news")));
/// assert!(form.faults.is_empty());
/// ```
pub fn parse_channel_form(body: &[u8]) -> Parsed<ChannelForm> {
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let kind_type = errors.choice(&object, "type", &[0, 2, 4]).unwrap_or(0);
    if !object.contains_key("name") {
        errors.required(&["name"]);
    }
    let fields = read_fields(&mut errors, &object);
    Ok(ChannelForm {
        kind_type,
        fields,
        faults: errors,
    })
}

/// `PATCH /channels/{id}`: the body read both as a guild channel's and as a thread's.
pub fn parse_channel_edit(body: &[u8]) -> Parsed<ChannelEdit> {
    let object = parse_object(body)?;
    let kind_type = object.get("type").map(Value::as_i64);
    let mut errors = FormErrors::default();
    let fields = read_fields(&mut errors, &object);
    Ok(ChannelEdit {
        kind_type,
        fields,
        faults: errors,
        thread: read_thread_edit(&object),
    })
}

/// `PATCH /guilds/{id}/channels`: a JSON array of `{id, position?, parent_id?,
/// lock_permissions?}`.
pub fn parse_channel_positions(body: &[u8]) -> Parsed<ChannelPositions> {
    let items = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => {
            let mut errors = FormErrors::default();
            errors.add(
                &[],
                "LIST_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            );
            return Err(errors.finish().expect_err("a fault was recorded"));
        }
        Err(_) => return Err(Refusal::InvalidJson),
    };
    let mut positions = ChannelPositions::default();
    for (index, item) in items.iter().enumerate() {
        if let Some(entry) = read_position(&mut positions.faults, index, item) {
            positions.entries.push(entry);
        }
    }
    Ok(positions)
}

/// `PUT /channels/{id}/permissions/{overwrite.id}`: `type` 0 or 1 (required), `allow`
/// and `deny` permission sets.
pub fn parse_overwrite_form(body: &[u8]) -> Parsed<OverwriteForm> {
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let kind = errors.choice(&object, "type", &[0, 1]);
    if !object.contains_key("type") {
        errors.required(&["type"]);
    }
    let allow = errors.permissions(object.get("allow"), &["allow"]);
    let deny = errors.permissions(object.get("deny"), &["deny"]);
    errors.finish()?;
    Ok(OverwriteForm {
        member: kind == Some(1),
        allow,
        deny,
    })
}

/// Either thread start; `from_message`: `POST /channels/{id}/messages/{id}/threads`,
/// which is always public and reads no `type`.
pub fn parse_thread_form(body: &[u8], from_message: bool) -> Parsed<ThreadForm> {
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let name = errors.string(&object, "name", 1, 100, false).flatten();
    if !object.contains_key("name") {
        errors.required(&["name"]);
    }
    let auto_archive = errors.choice(&object, "auto_archive_duration", &AUTO_ARCHIVE_MINUTES);
    let rate_limit = errors
        .integer(&object, "rate_limit_per_user", 0, RATE_LIMIT_MAX_S, true)
        .flatten();
    let private = !from_message && errors.choice(&object, "type", &[11, 12]).unwrap_or(12) == 12;
    let invitable = errors.boolean(&object, "invitable").unwrap_or(true);
    errors.finish()?;
    Ok(ThreadForm {
        name: name.unwrap_or_default(),
        auto_archive_duration: auto_archive.and_then(|minutes| u32::try_from(minutes).ok()),
        rate_limit_per_user: rate_limit.and_then(|rate| u32::try_from(rate).ok()),
        private,
        invitable,
    })
}

/// A thread's fields in a `PATCH /channels/{id}` body, or their 50035.
fn read_thread_edit(object: &Map<String, Value>) -> Result<ThreadEdit, Refusal> {
    let mut errors = FormErrors::default();
    let name = errors.string(object, "name", 1, 100, false).flatten();
    let archived = errors.boolean(object, "archived");
    let auto_archive_duration = errors
        .choice(object, "auto_archive_duration", &AUTO_ARCHIVE_MINUTES)
        .and_then(|minutes| u32::try_from(minutes).ok());
    let locked = errors.boolean(object, "locked");
    let invitable = errors.boolean(object, "invitable");
    let rate_limit_per_user = errors
        .integer(object, "rate_limit_per_user", 0, RATE_LIMIT_MAX_S, true)
        .map(|rate| rate.and_then(|r| u32::try_from(r).ok()).unwrap_or(0));
    errors.finish()?;
    Ok(ThreadEdit {
        name,
        archived,
        auto_archive_duration,
        locked,
        invitable,
        rate_limit_per_user,
    })
}

/// The fields a channel create and modify share, each checked for shape.
fn read_fields(errors: &mut FormErrors, object: &Map<String, Value>) -> ChannelFields {
    let count = |value: Option<Option<i64>>| {
        value.map(|value| value.and_then(|v| u32::try_from(v).ok()).unwrap_or(0))
    };
    let mut fields = ChannelFields {
        name: errors.string(object, "name", 1, 100, false).flatten(),
        position: errors
            .integer(object, "position", 0, i64::from(i32::MAX), true)
            .flatten()
            .and_then(|p| i32::try_from(p).ok()),
        nsfw: errors.boolean(object, "nsfw"),
        topic: errors.string(object, "topic", 0, 1024, true),
        rate_limit_per_user: count(errors.integer(
            object,
            "rate_limit_per_user",
            0,
            RATE_LIMIT_MAX_S,
            true,
        )),
        default_auto_archive_duration: errors
            .choice(
                object,
                "default_auto_archive_duration",
                &AUTO_ARCHIVE_MINUTES,
            )
            .and_then(|minutes| u32::try_from(minutes).ok()),
        bitrate: errors
            .integer(object, "bitrate", 8_000, 96_000, true)
            .map(|value| value.and_then(|v| u32::try_from(v).ok()).unwrap_or(64_000)),
        user_limit: count(errors.integer(object, "user_limit", 0, 99, true)),
        rtc_region: errors.string(object, "rtc_region", 1, 32, true),
        ..ChannelFields::default()
    };
    if fields
        .name
        .as_ref()
        .is_some_and(|name| name.trim().is_empty())
    {
        fields.name = None;
        errors.add(
            &["name"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
    }
    if let Some(value) = object.get("parent_id") {
        fields.parent_id = errors
            .snowflake(value, &["parent_id"])
            .map(|parent| parent.map(ChannelId));
    }
    match object.get("permission_overwrites") {
        None => {}
        Some(Value::Null) => fields.overwrites = Some(Vec::new()),
        Some(Value::Array(items)) if items.len() > OVERWRITES_MAX => errors.add(
            &["permission_overwrites"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 100 or fewer in length.",
        ),
        Some(Value::Array(items)) => fields.overwrites = Some(read_overwrites(errors, items)),
        Some(_) => errors.add(
            &["permission_overwrites"],
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        ),
    }
    fields
}

/// The well-formed entries of `permission_overwrites`: each `{id, type, allow?, deny?}`.
fn read_overwrites(errors: &mut FormErrors, items: &[Value]) -> Vec<OverwriteEntry> {
    let mut entries = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let key = index.to_string();
        let path = |field: &'static str| ["permission_overwrites", key.as_str(), field];
        let Value::Object(object) = item else {
            errors.add(
                &["permission_overwrites", key.as_str()],
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            );
            continue;
        };
        let id = match object.get("id") {
            Some(value) => errors.snowflake(value, &path("id")).flatten(),
            None => {
                errors.required(&path("id"));
                None
            }
        };
        let kind = match object.get("type") {
            Some(value) => match value.as_u64() {
                Some(kind @ (0 | 1)) => Some(kind),
                _ => {
                    errors.add(
                        &path("type"),
                        "BASE_TYPE_CHOICES",
                        "Value must be one of {0, 1}.",
                    );
                    None
                }
            },
            None => {
                errors.required(&path("type"));
                None
            }
        };
        let allow = errors.permissions(object.get("allow"), &path("allow"));
        let deny = errors.permissions(object.get("deny"), &path("deny"));
        if let (Some(id), Some(kind)) = (id, kind) {
            entries.push(OverwriteEntry {
                index,
                id,
                member: kind == 1,
                allow,
                deny,
            });
        }
    }
    entries
}

/// One entry of a positions body; `None` (the fault recorded in `faults`) when it is
/// not an object or has no snowflake `id`.
fn read_position(faults: &mut FormErrors, index: usize, item: &Value) -> Option<PositionEntry> {
    let key = index.to_string();
    let key = key.as_str();
    let Value::Object(object) = item else {
        faults.add(
            &[key],
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        );
        return None;
    };
    let Some(id) = object.get("id") else {
        faults.required(&[key, "id"]);
        return None;
    };
    let Some(id) = faults.snowflake(id, &[key, "id"])? else {
        faults.required(&[key, "id"]);
        return None;
    };
    let mut errors = FormErrors::default();
    let position = match object.get("position") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_i64().and_then(|p| i32::try_from(p).ok()) {
            Some(position) => Some(position),
            None => {
                errors.add(
                    &[key, "position"],
                    "NUMBER_TYPE_COERCE",
                    "Value is not int.",
                );
                None
            }
        },
    };
    let parent_id = object.get("parent_id").and_then(|value| {
        errors
            .snowflake(value, &[key, "parent_id"])
            .map(|parent| parent.map(ChannelId))
    });
    let lock_permissions = match object.get("lock_permissions") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(lock)) => *lock,
        Some(_) => {
            errors.add(
                &[key, "lock_permissions"],
                "BASE_TYPE_BOOLEAN",
                "Must be either true or false.",
            );
            false
        }
    };
    Some(PositionEntry {
        index,
        id: ChannelId(id),
        position,
        parent_id,
        lock_permissions,
        faults: errors,
    })
}
