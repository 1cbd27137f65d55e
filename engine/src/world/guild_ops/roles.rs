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
use super::member_forms::{RoleForm, RolePositions, ROLES_MAX};
use super::member_json::{role_delete_json, role_event_json};
use super::member_ops::{channel_event, form_error, role_event};
use super::{GuildEvent, OpContext, Outcome};
use super::{Parsed, Reply};
use crate::world::ids::RoleId;
use crate::world::json::{channel_json, encode, role_json};
use crate::world::model::{Guild, OverwriteTarget, Role};
use crate::world::permissions::Permissions;
use crate::world::Refusal;
use serde_json::Value;
use std::collections::HashMap;

/// `GET /guilds/{g}/roles`.
pub(super) fn list(guild: &Guild, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    let roles: Vec<Value> = guild.roles.iter().map(role_json).collect();
    Ok(Outcome::read(Reply::Shown, encode(&Value::Array(roles))))
}

/// `GET /guilds/{g}/roles/{r}`.
pub(super) fn get(guild: &Guild, role_id: RoleId, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    let role = find(guild, role_id)?;
    Ok(Outcome::read(Reply::Shown, encode(&role_json(role))))
}

/// `POST /guilds/{g}/roles`.
pub(super) fn create(
    guild: &mut Guild,
    form: &Parsed<RoleForm>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let fields = form.as_ref().map_err(Clone::clone)?;
    if guild.roles.len() >= ROLES_MAX {
        return Err(Refusal::Coded {
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
            .clone()
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
        events.push(role_event(
            "GUILD_ROLE_UPDATE",
            role_event_json(guild.id, other),
        ));
    }
    let body = encode(&role_json(&role));
    guild.roles.push(role);
    Ok(Outcome::write(Reply::Shown, body, events))
}

/// `PATCH /guilds/{g}/roles/{r}`.
pub(super) fn edit(
    guild: &mut Guild,
    role_id: RoleId,
    form: &Parsed<RoleForm>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let index = guild
        .roles
        .iter()
        .position(|role| role.id == role_id)
        .ok_or(Refusal::UnknownRole)?;
    let role = &guild.roles[index];
    actor.require_outranks_position(role.position)?;
    let fields = form.as_ref().map_err(Clone::clone)?;
    let mut updated = role.clone();
    if let Some(name) = fields.name.clone() {
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
        return Ok(Outcome::read(Reply::Shown, body));
    }
    let event = role_event("GUILD_ROLE_UPDATE", role_event_json(guild.id, &updated));
    guild.roles[index] = updated;
    Ok(Outcome::write(Reply::Shown, body, vec![event]))
}

/// `DELETE /guilds/{g}/roles/{r}`.
pub(super) fn delete(
    guild: &mut Guild,
    role_id: RoleId,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let index = guild
        .roles
        .iter()
        .position(|role| role.id == role_id)
        .ok_or(Refusal::UnknownRole)?;
    if role_id == guild.id.everyone_role() {
        return Err(Refusal::Coded {
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
    for other in guild
        .roles
        .iter_mut()
        .filter(|role| role.position > position)
    {
        other.position -= 1;
        events.push(role_event(
            "GUILD_ROLE_UPDATE",
            role_event_json(guild.id, other),
        ));
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
    Ok(Outcome::write(Reply::Done, Vec::new(), events))
}

/// `PATCH /guilds/{g}/roles` with `[{id, position}]`.
pub(super) fn edit_positions(
    guild: &mut Guild,
    positions: &Parsed<RolePositions>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let actor = Actor::of(guild, cx.actor, cx.now_unix_ms)?;
    actor.require(Permissions::MANAGE_ROLES)?;
    let requested = requested_positions(guild, positions)?;
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
            events.push(role_event(
                "GUILD_ROLE_UPDATE",
                role_event_json(guild.id, role),
            ));
        }
    }
    let body = encode(&Value::Array(guild.roles.iter().map(role_json).collect()));
    if events.is_empty() {
        return Ok(Outcome::read(Reply::Shown, body));
    }
    Ok(Outcome::write(Reply::Shown, body, events))
}

/// The wished positions of a reorder: each entry's role must be one of the guild's
/// (10011 otherwise), checked before its position is read, entry by entry.
/// @everyone's entry is ignored.
fn requested_positions(
    guild: &Guild,
    positions: &Parsed<RolePositions>,
) -> Result<HashMap<RoleId, i64>, Refusal> {
    let mut requested = HashMap::new();
    for entry in &positions.as_ref().map_err(Clone::clone)?.entries {
        let entry = entry.as_ref().map_err(Clone::clone)?;
        find(guild, entry.id)?;
        if let Some(position) = entry.position.clone()? {
            if entry.id != guild.id.everyone_role() {
                requested.insert(entry.id, position);
            }
        }
    }
    Ok(requested)
}

fn find(guild: &Guild, role_id: RoleId) -> Result<&Role, Refusal> {
    guild
        .roles
        .iter()
        .find(|role| role.id == role_id)
        .ok_or(Refusal::UnknownRole)
}

#[cfg(test)]
mod tests {
    use super::super::member_fixture::{event_names, json_of, Fixture, HELPER_PERMISSIONS};
    use super::*;
    use crate::gateway::Intents;
    use crate::rest::Method;
    use crate::world::guild_ops::Audience;

    fn positions(f: &Fixture) -> Vec<(String, i32)> {
        let mut roles: Vec<(String, i32)> = f
            .guild
            .roles
            .iter()
            .map(|role| (role.name.clone(), role.position))
            .collect();
        roles.sort_by_key(|(_, position)| *position);
        roles
    }

    #[test]
    fn list_and_get() {
        let mut f = Fixture::new();
        let out = f
            .run(f.plain, Method::Get, &f.guild_path("/roles"), "", "")
            .unwrap();
        assert_eq!(json_of(&out).as_array().unwrap().len(), 4);
        let path = f.guild_path(&format!("/roles/{}", f.mod_role));
        let out = f.run(f.plain, Method::Get, &path, "", "").unwrap();
        assert_eq!(json_of(&out)["name"], "Mod");
        assert_eq!(
            f.run(f.plain, Method::Get, &f.guild_path("/roles/5"), "", "")
                .unwrap_err(),
            Refusal::UnknownRole
        );
        assert_eq!(
            f.run(f.outsider, Method::Get, &path, "", "").unwrap_err(),
            Refusal::UnknownGuild
        );
    }

    #[test]
    fn create_goes_to_position_one_and_pushes_the_rest_up() {
        let mut f = Fixture::new();
        let path = f.guild_path("/roles");
        let body = r#"{"name":"fresh","permissions":"1024","color":255,"hoist":true}"#;
        let out = f.run(f.helper, Method::Post, &path, "", body).unwrap();
        let role = json_of(&out);
        assert_eq!(
            (role["name"].as_str(), role["position"].as_i64()),
            (Some("fresh"), Some(1))
        );
        assert_eq!(role["permissions"], "1024");
        assert_eq!(role["color"], 255);
        assert_eq!(
            event_names(&out),
            [
                "GUILD_ROLE_CREATE",
                "GUILD_ROLE_UPDATE",
                "GUILD_ROLE_UPDATE",
                "GUILD_ROLE_UPDATE"
            ]
        );
        assert!(out
            .events
            .iter()
            .all(|e| e.intents == Intents::GUILDS && e.audience == Audience::Guild));
        assert_eq!(out.events[0].d["role"]["name"], "fresh");
        assert_eq!(
            positions(&f),
            [
                ("@everyone".to_string(), 0),
                ("fresh".to_string(), 1),
                ("Helper".to_string(), 2),
                ("Mod".to_string(), 3),
                ("Admin".to_string(), 4)
            ]
        );
        // discord.py 2.7 sends the colour only as `colors.primary_color`.
        let body = r#"{"name":"tinted","colors":{"primary_color":3447003}}"#;
        let out = f.run(f.helper, Method::Post, &path, "", body).unwrap();
        let tinted = json_of(&out);
        assert_eq!(tinted["color"], 3447003);
        assert_eq!(tinted["colors"]["primary_color"], 3447003);
        let tinted_path = f.guild_path(&format!("/roles/{}", tinted["id"].as_str().unwrap()));
        let body = r#"{"colors":{"primary_color":15105570}}"#;
        let out = f
            .run(f.helper, Method::Patch, &tinted_path, "", body)
            .unwrap();
        assert_eq!(json_of(&out)["color"], 15105570);
        let body = r#"{"colors":{"primary_color":16777216}}"#;
        assert!(f
            .run(f.helper, Method::Patch, &tinted_path, "", body)
            .is_err());
        // Defaults: "new role" with @everyone's permissions.
        let out = f.run(f.owner, Method::Post, &path, "", "").unwrap();
        let everyone = f.guild.roles[0].permissions.to_string();
        assert_eq!(json_of(&out)["name"], "new role");
        assert_eq!(json_of(&out)["permissions"], everyone);
    }

    #[test]
    fn create_refusals() {
        let mut f = Fixture::new();
        let path = f.guild_path("/roles");
        assert_eq!(
            f.run(f.plain, Method::Post, &path, "", "{}").unwrap_err(),
            Refusal::MissingPermissions
        );
        // The helper may not grant BAN_MEMBERS, which it lacks.
        let ban = format!(r#"{{"permissions":"{}"}}"#, Permissions::BAN_MEMBERS.bits());
        assert_eq!(
            f.run(f.helper, Method::Post, &path, "", &ban).unwrap_err(),
            Refusal::MissingPermissions
        );
        // An administrator has every bit.
        f.run(f.admin, Method::Post, &path, "", &ban).unwrap();
        for body in [
            r#"{"permissions":"-1"}"#,
            r#"{"permissions":true}"#,
            r#"{"color":16777216}"#,
            r#"{"name":7}"#,
            r#"{"hoist":"yes"}"#,
        ] {
            assert!(
                matches!(
                    f.run(f.owner, Method::Post, &path, "", body),
                    Err(Refusal::InvalidFormBody { .. })
                ),
                "{body}"
            );
        }
        while f.guild.roles.len() < ROLES_MAX {
            f.run(f.owner, Method::Post, &path, "", "{}").unwrap();
        }
        let full = f.run(f.owner, Method::Post, &path, "", "{}").unwrap_err();
        assert_eq!(full.status(), 400);
        let body: Value = serde_json::from_slice(&full.body()).unwrap();
        assert_eq!(body["code"], 30005);
    }

    #[test]
    fn edit_follows_the_hierarchy() {
        let mut f = Fixture::new();
        let helper = f.guild_path(&format!("/roles/{}", f.helper_role));
        let out = f
            .run(
                f.moderator,
                Method::Patch,
                &helper,
                "",
                r#"{"name":"Helpers","mentionable":true}"#,
            )
            .unwrap();
        assert_eq!(json_of(&out)["name"], "Helpers");
        assert_eq!(event_names(&out), ["GUILD_ROLE_UPDATE"]);
        let same = f
            .run(
                f.moderator,
                Method::Patch,
                &helper,
                "",
                r#"{"name":"Helpers"}"#,
            )
            .unwrap();
        assert!(!same.changed && same.events.is_empty());
        // Its own highest role is not below it.
        assert_eq!(
            f.run(f.helper, Method::Patch, &helper, "", r#"{"name":"x"}"#)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        // An administrator is still bound by the hierarchy.
        let admin = f.guild_path(&format!("/roles/{}", f.admin_role));
        assert_eq!(
            f.run(f.admin, Method::Patch, &admin, "", r#"{"name":"x"}"#)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        f.run(f.owner, Method::Patch, &admin, "", r#"{"name":"Admins"}"#)
            .unwrap();
        // The moderator may not add ADMINISTRATOR, nor remove a bit it lacks.
        let admin_bits = format!(
            r#"{{"permissions":"{}"}}"#,
            (HELPER_PERMISSIONS | Permissions::ADMINISTRATOR).bits()
        );
        assert_eq!(
            f.run(f.moderator, Method::Patch, &helper, "", &admin_bits)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        let fewer = format!(
            r#"{{"permissions":"{}"}}"#,
            Permissions::KICK_MEMBERS.bits()
        );
        f.run(f.moderator, Method::Patch, &helper, "", &fewer)
            .unwrap();
        assert_eq!(
            f.role(f.helper_role).unwrap().permissions,
            Permissions::KICK_MEMBERS.bits()
        );
        assert_eq!(
            f.run(f.moderator, Method::Patch, &helper, "", r#"{"name":null}"#)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            f.run(f.owner, Method::Patch, &f.guild_path("/roles/77"), "", "{}")
                .unwrap_err(),
            Refusal::UnknownRole
        );
        // @everyone keeps its name.
        let everyone = f.guild_path(&format!("/roles/{}", f.guild.id));
        f.run(
            f.owner,
            Method::Patch,
            &everyone,
            "",
            r#"{"name":"all","hoist":true}"#,
        )
        .unwrap();
        assert_eq!(f.guild.roles[0].name, "@everyone");
    }

    #[test]
    fn delete_cleans_members_and_overwrites() {
        let mut f = Fixture::new();
        let helper = f.guild_path(&format!("/roles/{}", f.helper_role));
        assert_eq!(
            f.run(f.helper, Method::Delete, &helper, "", "")
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        let out = f.run(f.moderator, Method::Delete, &helper, "", "").unwrap();
        assert_eq!(out.reply, Reply::Done);
        assert_eq!(
            event_names(&out),
            [
                "GUILD_ROLE_DELETE",
                "GUILD_ROLE_UPDATE",
                "GUILD_ROLE_UPDATE",
                "CHANNEL_UPDATE"
            ]
        );
        assert_eq!(out.events[0].d["role_id"], f.helper_role.to_string());
        assert_eq!(out.events[3].audience, Audience::Channel(f.text));
        assert!(f.role(f.helper_role).is_none());
        assert!(f.member(f.helper).unwrap().roles.is_empty());
        assert!(f.guild.channels[0].permission_overwrites.is_empty());
        assert_eq!(f.role(f.mod_role).unwrap().position, 1);
        assert_eq!(f.role(f.admin_role).unwrap().position, 2);
        assert_eq!(
            f.run(f.moderator, Method::Delete, &helper, "", "")
                .unwrap_err(),
            Refusal::UnknownRole
        );
        let everyone = f.guild_path(&format!("/roles/{}", f.guild.id));
        let refused = f
            .run(f.owner, Method::Delete, &everyone, "", "")
            .unwrap_err();
        let body: Value = serde_json::from_slice(&refused.body()).unwrap();
        assert_eq!(
            (refused.status(), body["code"].as_u64()),
            (400, Some(50028))
        );
        assert_eq!(
            f.run(f.plain, Method::Delete, &everyone, "", "")
                .unwrap_err(),
            Refusal::MissingPermissions
        );
    }

    #[test]
    fn reorder() {
        let mut f = Fixture::new();
        let path = f.guild_path("/roles");
        // The owner moves Helper to the top: the others move down one.
        let body = format!(r#"[{{"id":"{}","position":3}}]"#, f.helper_role);
        let out = f.run(f.owner, Method::Patch, &path, "", &body).unwrap();
        assert_eq!(json_of(&out).as_array().unwrap().len(), 4);
        assert_eq!(event_names(&out).len(), 3);
        assert_eq!(
            positions(&f),
            [
                ("@everyone".to_string(), 0),
                ("Mod".to_string(), 1),
                ("Admin".to_string(), 2),
                ("Helper".to_string(), 3)
            ]
        );
        // Back down to the bottom.
        let body = format!(r#"[{{"id":"{}","position":1}}]"#, f.helper_role);
        f.run(f.owner, Method::Patch, &path, "", &body).unwrap();
        assert_eq!(positions(&f)[1].0, "Helper");
        assert_eq!(positions(&f)[3].0, "Admin");
        // Nothing moves: a read.
        let out = f.run(f.owner, Method::Patch, &path, "", &body).unwrap();
        assert!(!out.changed);
        // The moderator (Mod at 2) may swap Helper above nothing it cannot reach, but
        // not lift Helper to its own rank.
        let up = format!(r#"[{{"id":"{}","position":2}}]"#, f.helper_role);
        assert_eq!(
            f.run(f.moderator, Method::Patch, &path, "", &up)
                .unwrap_err(),
            Refusal::MissingPermissions
        );
        assert_eq!(
            f.run(f.plain, Method::Patch, &path, "", &up).unwrap_err(),
            Refusal::MissingPermissions
        );
        for (body, error) in [
            (
                r#"[{"id":"99","position":1}]"#.to_string(),
                Refusal::UnknownRole,
            ),
            (
                "{}".to_string(),
                Refusal::InvalidFormBody {
                    field: "_errors",
                    code: "BASE_TYPE_LIST",
                    message: "Could not interpret the value as a list.".into(),
                },
            ),
            ("[".to_string(), Refusal::InvalidJson),
        ] {
            assert_eq!(
                f.run(f.owner, Method::Patch, &path, "", &body).unwrap_err(),
                error
            );
        }
    }
}
