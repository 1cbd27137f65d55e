//! The bodies of the role routes, read into typed requests
//! (`world::guild_ops::member_forms`) on the receiving core: create and edit
//! ([`parse_role_form`]) and reorder ([`parse_role_positions`]).
//!
//! Why here: the owner core's operations (`world::guild_ops::roles`) parse nothing. A
//! faulty body's refusal travels in the value and the owner answers it after MANAGE_ROLES
//! and the role's rank are checked, as Discord does.
//!
//! Discord's rules: `name` at most 100 characters, `permissions` a decimal string (or a
//! number), `color` 0–0xFFFFFF (discord.py 2.7 sends only `colors.primary_color`, which
//! Flux reads when `color` is absent), `hoist`, `mentionable`; positions are a list of at
//! most 250 `{id, position}` objects. `icon` and `unicode_emoji` are ignored.

use super::member_fields::{
    form_error, nullable_string, optional_bool, optional_integer, optional_permissions,
    snowflake_value,
};
use crate::rest::parse_object;
use crate::world::guild_ops::member_forms::{RoleForm, RolePosition, RolePositions, ROLES_MAX};
use crate::world::guild_ops::Parsed;
use crate::world::{Refusal, RoleId};
use serde_json::Value;

/// Longest role name, in characters.
const ROLE_NAME_CHARS_MAX: usize = 100;
/// Largest colour (24 bits).
const COLOR_MAX: u64 = 0xFF_FFFF;

/// `POST /guilds/{g}/roles` and `PATCH /guilds/{g}/roles/{r}`.
///
/// ```
/// use engine::rest::role_bodies::parse_role_form;
/// let form = parse_role_form(br#"{"name": "mods", "color": 255}"#).unwrap();
/// assert_eq!((form.name, form.color), (Some(Some("mods".into())), Some(255)));
/// assert!(parse_role_form(br#"{"color": -1}"#).is_err());
/// ```
pub fn parse_role_form(body: &[u8]) -> Parsed<RoleForm> {
    let object = parse_object(body)?;
    let mut color = optional_integer(&object, "color", 0, COLOR_MAX)?;
    // discord.py 2.7 sends only the newer `colors` object (guild.py `create_role`,
    // role.py `edit`); Flux keeps the primary colour, the one `color` mirrors.
    if color.is_none() {
        if let Some(Value::Object(colors)) = object.get("colors") {
            color = optional_integer(colors, "primary_color", 0, COLOR_MAX)?;
        }
    }
    Ok(RoleForm {
        name: nullable_string(&object, "name", ROLE_NAME_CHARS_MAX)?,
        permissions: optional_permissions(&object, "permissions")?,
        // `COLOR_MAX` fits in 24 bits.
        color: color.map(|color| u32::try_from(color).unwrap_or(0)),
        hoist: optional_bool(&object, "hoist")?,
        mentionable: optional_bool(&object, "mentionable")?,
    })
}

/// `PATCH /guilds/{g}/roles`: a list of at most 250 `{id, position}`; the entries up to
/// the first faulty one (whose refusal it holds).
pub fn parse_role_positions(body: &[u8]) -> Parsed<RolePositions> {
    let items = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) if items.len() <= ROLES_MAX => items,
        Ok(Value::Array(_)) => {
            return Err(form_error(
                "_errors",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {ROLES_MAX} or fewer in length."),
            ))
        }
        Ok(_) => {
            return Err(form_error(
                "_errors",
                "BASE_TYPE_LIST",
                "Could not interpret the value as a list.",
            ))
        }
        Err(_) => return Err(Refusal::InvalidJson),
    };
    let mut positions = RolePositions::default();
    for item in &items {
        let entry = read_position(item);
        let faulty = entry.is_err();
        positions.entries.push(entry);
        if faulty {
            break;
        }
    }
    Ok(positions)
}

/// One `{id, position}` entry.
fn read_position(item: &Value) -> Parsed<RolePosition> {
    let Value::Object(object) = item else {
        return Err(form_error(
            "_errors",
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        ));
    };
    let id = RoleId(snowflake_value(
        object.get("id").unwrap_or(&Value::Null),
        "id",
    )?);
    let position = match object.get("position") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| form_error("position", "NUMBER_TYPE_COERCE", "Value is not int.")),
    };
    Ok(RolePosition { id, position })
}
