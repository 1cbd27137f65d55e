//! The role routes: list, get, create, edit, delete and reorder.
//!
//! Discord's rules (`resources/guild`, "Create/Modify/Delete Guild Role", "Modify Guild
//! Role Positions"), with the hierarchy of `authority.rs`:
//! - every change needs MANAGE_ROLES; a role may only be edited, moved or deleted by a
//!   member whose highest role is above it (the owner excepted), and permission bits the
//!   caller lacks may be neither granted nor taken away (owner and administrators have
//!   every bit);
//! - create: `name` (default "new role", at most 100 characters), `permissions` (a
//!   decimal string; default @everyone's), `color` (0–0xFFFFFF), `hoist`,
//!   `mentionable`; the new role takes position 1 and every other role moves up one,
//!   as on Discord; at most 250 roles (30005);
//! - delete: @everyone cannot be deleted (400, 50028 Invalid Role); the role leaves
//!   every member and every channel overwrite, and the roles above it move down one;
//! - positions: `[{id, position}]`; the listed roles take their positions, the others
//!   keep their relative order, and the result is renumbered 1..n above @everyone
//!   (which never moves).
//!
//! Dispatches: GUILD_ROLE_CREATE / UPDATE / DELETE, a GUILD_ROLE_UPDATE for every role
//! whose position a create, delete or reorder shifted, and a CHANNEL_UPDATE for every
//! channel that lost an overwrite with a deleted role. `icon` and `unicode_emoji` are
//! ignored (Flux stores no role icons).

use super::authority::Actor;
use super::member_form::{
    form_error, nullable_string, optional_bool, optional_integer, optional_permissions,
    parse_object, snowflake_value, Object,
};
use super::member_json::{role_delete_json, role_event_json};
use super::member_ops::{channel_event, role_event};
use super::{encode, GuildEvent, OpContext, Outcome};
use crate::rest::RestError;
use crate::world::ids::RoleId;
use crate::world::json::{channel_json, role_json};
use crate::world::model::{Guild, OverwriteTarget, Role};
use crate::world::permissions::Permissions;
use serde_json::Value;
use std::collections::HashMap;

/// Most roles a guild may have, @everyone included.
pub const ROLES_MAX: usize = 250;
/// Longest role name, in characters.
pub const ROLE_NAME_CHARS_MAX: usize = 100;
/// The largest colour (0xRRGGBB).
pub const COLOR_MAX: u64 = 0xFF_FFFF;

/// `GET /guilds/{g}/roles`.
pub(super) fn list(guild: &Guild, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    Actor::of(guild, cx.actor)?;
    let roles: Vec<Value> = guild.roles.iter().map(role_json).collect();
    Ok(Outcome::read(200, encode(&Value::Array(roles))))
}

/// `GET /guilds/{g}/roles/{r}`.
pub(super) fn get(guild: &Guild, role_id: RoleId, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    Actor::of(guild, cx.actor)?;
    let role = find(guild, role_id)?;
    Ok(Outcome::read(200, encode(&role_json(role))))
}

/// `POST /guilds/{g}/roles`.
pub(super) fn create(guild: &mut Guild, body: &[u8], cx: &mut OpContext<'_>) -> Result<Outcome, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let object = parse_object(body)?;
    let fields = RoleFields::parse(&object)?;
    if guild.roles.len() >= ROLES_MAX {
        return Err(RestError::Coded {
            status: 400,
            code: 30005,
            message: "Maximum number of guild roles reached (250)",
        });
    }
    let everyone = find(guild, guild.id.everyone_role())?.permissions;
    let permissions = fields
        .permissions
        .unwrap_or(Permissions::from_bits_truncate(everyone));
    actor.require_may_grant(permissions)?;
    let id = RoleId((cx.next_id)()?);
    let role = Role {
        id,
        name: fields
            .name
            .flatten()
            .unwrap_or_else(|| "new role".to_string()),
        color: fields.color.unwrap_or(0),
        hoist: fields.hoist.unwrap_or(false),
        position: 1,
        permissions: permissions.bits(),
        managed: false,
        mentionable: fields.mentionable.unwrap_or(false),
        flags: 0,
    };
    let mut events = vec![role_event(
        "GUILD_ROLE_CREATE",
        role_event_json(guild.id, &role),
    )];
    for other in guild.roles.iter_mut().filter(|role| role.position >= 1) {
        other.position = other.position.saturating_add(1);
        events.push(role_event("GUILD_ROLE_UPDATE", role_event_json(guild.id, other)));
    }
    let body = encode(&role_json(&role));
    guild.roles.push(role);
    Ok(Outcome::write(200, body, events))
}

/// `PATCH /guilds/{g}/roles/{r}`.
pub(super) fn edit(
    guild: &mut Guild,
    role_id: RoleId,
    body: &[u8],
    cx: &OpContext<'_>,
) -> Result<Outcome, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let index = guild
        .roles
        .iter()
        .position(|role| role.id == role_id)
        .ok_or(RestError::UnknownRole)?;
    let role = &guild.roles[index];
    actor.require_outranks_position(role.position)?;
    let object = parse_object(body)?;
    let fields = RoleFields::parse(&object)?;
    let mut updated = role.clone();
    if let Some(name) = fields.name {
        // @everyone keeps its name, as on Discord.
        if role_id != guild.id.everyone_role() {
            updated.name = name.ok_or_else(|| {
                form_error("name", "BASE_TYPE_REQUIRED", "This field is required")
            })?;
        }
    }
    if let Some(permissions) = fields.permissions {
        let old = Permissions::from_bits_truncate(role.permissions);
        let changed = (old | permissions) & !(old & permissions);
        actor.require_may_grant(changed)?;
        updated.permissions = permissions.bits();
    }
    if let Some(color) = fields.color {
        updated.color = color;
    }
    if let Some(hoist) = fields.hoist {
        updated.hoist = hoist;
    }
    if let Some(mentionable) = fields.mentionable {
        updated.mentionable = mentionable;
    }
    let body = encode(&role_json(&updated));
    if updated == *role {
        return Ok(Outcome::read(200, body));
    }
    let event = role_event("GUILD_ROLE_UPDATE", role_event_json(guild.id, &updated));
    guild.roles[index] = updated;
    Ok(Outcome::write(200, body, vec![event]))
}

/// `DELETE /guilds/{g}/roles/{r}`.
pub(super) fn delete(guild: &mut Guild, role_id: RoleId, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let index = guild
        .roles
        .iter()
        .position(|role| role.id == role_id)
        .ok_or(RestError::UnknownRole)?;
    if role_id == guild.id.everyone_role() {
        return Err(RestError::Coded {
            status: 400,
            code: 50028,
            message: "Invalid Role",
        });
    }
    let position = guild.roles[index].position;
    actor.require_outranks_position(position)?;

    guild.roles.remove(index);
    let mut events = vec![role_event(
        "GUILD_ROLE_DELETE",
        role_delete_json(guild.id, role_id),
    )];
    for other in guild.roles.iter_mut().filter(|role| role.position > position) {
        other.position -= 1;
        events.push(role_event("GUILD_ROLE_UPDATE", role_event_json(guild.id, other)));
    }
    for member in &mut guild.members {
        member.roles.retain(|id| *id != role_id);
    }
    for channel in &mut guild.channels {
        let before = channel.permission_overwrites.len();
        channel
            .permission_overwrites
            .retain(|overwrite| overwrite.target != OverwriteTarget::Role(role_id));
        if channel.permission_overwrites.len() != before {
            events.push(channel_event(channel.id, channel_json(channel)));
        }
    }
    Ok(Outcome::write(204, Vec::new(), events))
}

/// `PATCH /guilds/{g}/roles` with `[{id, position}]`.
pub(super) fn edit_positions(guild: &mut Guild, body: &[u8], cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let requested = parse_positions(guild, body)?;
    let everyone = guild.id.everyone_role();

    // Sort the roles above @everyone by their wished position; at a tie, a role moved
    // up lands above the one it displaces and a role moved down below it.
    let mut order: Vec<(i64, u8, RoleId, i32)> = guild
        .roles
        .iter()
        .filter(|role| role.id != everyone)
        .map(|role| {
            let current = i64::from(role.position);
            match requested.get(&role.id) {
                Some(&wished) if wished > current => (wished, 2, role.id, role.position),
                Some(&wished) if wished < current => (wished, 0, role.id, role.position),
                _ => (current, 1, role.id, role.position),
            }
        })
        .collect();
    order.sort_unstable();
    let mut moves: HashMap<RoleId, i32> = HashMap::new();
    for (rank, (_, _, id, old)) in order.iter().enumerate() {
        let new = i32::try_from(rank + 1).unwrap_or(i32::MAX);
        if new != *old {
            actor.require_outranks_position(*old)?;
            actor.require_outranks_position(new)?;
            moves.insert(*id, new);
        }
    }

    let mut events: Vec<GuildEvent> = Vec::new();
    for role in guild.roles.iter_mut() {
        if let Some(&new) = moves.get(&role.id) {
            role.position = new;
            events.push(role_event("GUILD_ROLE_UPDATE", role_event_json(guild.id, role)));
        }
    }
    let body = encode(&Value::Array(guild.roles.iter().map(role_json).collect()));
    if events.is_empty() {
        return Ok(Outcome::read(200, body));
    }
    Ok(Outcome::write(200, body, events))
}

/// The body fields of a role create or edit; `None`: absent.
struct RoleFields {
    name: Option<Option<String>>,
    permissions: Option<Permissions>,
    color: Option<u32>,
    hoist: Option<bool>,
    mentionable: Option<bool>,
}

impl RoleFields {
    fn parse(object: &Object) -> Result<RoleFields, RestError> {
        let color = optional_integer(object, "color", 0, COLOR_MAX)?;
        Ok(RoleFields {
            name: nullable_string(object, "name", ROLE_NAME_CHARS_MAX)?,
            permissions: optional_permissions(object, "permissions")?,
            // `COLOR_MAX` fits in 24 bits.
            color: color.map(|color| u32::try_from(color).unwrap_or(0)),
            hoist: optional_bool(object, "hoist")?,
            mentionable: optional_bool(object, "mentionable")?,
        })
    }
}

/// The `[{id, position}]` body: each id a role of the guild (10011 otherwise), each
/// position an integer (absent or `null`: the role stays where it is). @everyone's entry
/// is ignored.
fn parse_positions(guild: &Guild, body: &[u8]) -> Result<HashMap<RoleId, i64>, RestError> {
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
        Err(_) => return Err(RestError::InvalidJson),
    };
    let mut requested = HashMap::new();
    for item in &items {
        let Value::Object(object) = item else {
            return Err(form_error(
                "_errors",
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            ));
        };
        let id = RoleId(snowflake_value(object.get("id").unwrap_or(&Value::Null), "id")?);
        find(guild, id)?;
        let position = match object.get("position") {
            None | Some(Value::Null) => None,
            Some(value) => Some(value.as_i64().ok_or_else(|| {
                form_error("position", "NUMBER_TYPE_COERCE", "Value is not int.")
            })?),
        };
        if let Some(position) = position {
            if id != guild.id.everyone_role() {
                requested.insert(id, position);
            }
        }
    }
    Ok(requested)
}

fn find(guild: &Guild, role_id: RoleId) -> Result<&Role, RestError> {
    guild
        .roles
        .iter()
        .find(|role| role.id == role_id)
        .ok_or(RestError::UnknownRole)
}
