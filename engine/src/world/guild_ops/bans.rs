//! The ban routes: list, get, create (which removes the member) and remove.
//!
//! Discord's rules (`resources/guild`, "Get Guild Bans", "Create/Remove Guild Ban"):
//! every ban route needs BAN_MEMBERS; list takes `limit` 1–1000 (default 1000) and
//! `before` / `after` user ids, sorted by user id (`before` returns the bans just below
//! it); banning a member needs a higher role and never reaches the owner; a user who is
//! not a member can be banned too, if the server knows them (else 10013); banning an
//! already banned user changes nothing (204); removing a ban that does not exist is
//! 10026 Unknown Ban.
//!
//! `delete_message_seconds` (0–604800) and the deprecated `delete_message_days` (0–7)
//! are validated but **no messages are deleted**: messages live in the channels' stores
//! on the owner core, outside the `Guild` value this operation changes. `reason` may be
//! given in the body (at most 512 characters); the `X-Audit-Log-Reason` header is not
//! read (Flux has no audit log).

use super::authority::Actor;
use super::member_form::{
    nullable_string, optional_integer, parse_object, query_integer, query_pairs, query_snowflake,
};
use super::member_json::{ban_json, guild_user_json};
use super::member_ops::{ban_event, member_event};
use super::{encode, OpContext, Outcome};
use crate::rest::RestError;
use crate::world::ids::UserId;
use crate::world::model::{Ban, Guild};
use crate::world::permissions::Permissions;
use serde_json::Value;

/// Most bans one list call returns.
pub const BANS_LIMIT_MAX: u64 = 1000;
/// Longest ban reason, in characters.
pub const BAN_REASON_CHARS_MAX: usize = 512;
/// Most seconds of messages a ban may ask to delete (7 days).
pub const DELETE_MESSAGE_SECONDS_MAX: u64 = 604_800;

/// `GET /guilds/{g}/bans?limit&before&after`.
pub(super) fn list(guild: &Guild, query: &str, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    Actor::of(guild, cx.actor)?.require(Permissions::BAN_MEMBERS)?;
    let mut limit = BANS_LIMIT_MAX;
    let mut before = None;
    let mut after = None;
    for (key, value) in query_pairs(query) {
        match key {
            "limit" => limit = query_integer(value, "limit", 1, BANS_LIMIT_MAX)?,
            "before" => before = Some(query_snowflake(value, "before")?),
            "after" => after = Some(query_snowflake(value, "after")?),
            _ => {}
        }
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut bans: Vec<&Ban> = guild
        .bans
        .iter()
        .filter(|ban| after.is_none_or(|after| ban.user_id.0 > after))
        .filter(|ban| before.is_none_or(|before| ban.user_id.0 < before))
        .collect();
    bans.sort_unstable_by_key(|ban| ban.user_id);
    // With only `before`, the page is the bans just below it; otherwise from the start.
    let skip = if before.is_some() && after.is_none() {
        bans.len().saturating_sub(limit)
    } else {
        0
    };
    let page: Vec<Value> = bans
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|ban| ban_json(cx.users, ban))
        .collect();
    Ok(Outcome::read(200, encode(&Value::Array(page))))
}

/// `GET /guilds/{g}/bans/{u}`.
pub(super) fn get(guild: &Guild, user_id: UserId, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    Actor::of(guild, cx.actor)?.require(Permissions::BAN_MEMBERS)?;
    let ban = guild
        .bans
        .iter()
        .find(|ban| ban.user_id == user_id)
        .ok_or(RestError::UnknownBan)?;
    Ok(Outcome::read(200, encode(&ban_json(cx.users, ban))))
}

/// `PUT /guilds/{g}/bans/{u}`.
pub(super) fn create(
    guild: &mut Guild,
    user_id: UserId,
    body: &[u8],
    cx: &OpContext<'_>,
) -> Result<Outcome, RestError> {
    let actor = Actor::of(guild, cx.actor)?;
    actor.require(Permissions::BAN_MEMBERS)?;
    let object = parse_object(body)?;
    optional_integer(&object, "delete_message_seconds", 0, DELETE_MESSAGE_SECONDS_MAX)?;
    optional_integer(&object, "delete_message_days", 0, 7)?;
    let reason = nullable_string(&object, "reason", BAN_REASON_CHARS_MAX)?.flatten();
    let member = guild.member(user_id);
    match member {
        Some(member) => actor.require_outranks_member(guild, member)?,
        None if cx.users.user(user_id).is_none() => return Err(RestError::UnknownUser),
        None => {}
    }
    if guild.bans.iter().any(|ban| ban.user_id == user_id) {
        return Ok(Outcome::read(204, Vec::new()));
    }
    let was_member = member.is_some();
    guild.bans.push(Ban { user_id, reason });
    let mut events = vec![ban_event(
        "GUILD_BAN_ADD",
        guild_user_json(guild.id, user_id, cx.users),
    )];
    if was_member {
        guild.members.retain(|member| member.user_id != user_id);
        events.push(member_event(
            "GUILD_MEMBER_REMOVE",
            guild_user_json(guild.id, user_id, cx.users),
        ));
    }
    Ok(Outcome::write(204, Vec::new(), events))
}

/// `DELETE /guilds/{g}/bans/{u}`.
pub(super) fn remove(guild: &mut Guild, user_id: UserId, cx: &OpContext<'_>) -> Result<Outcome, RestError> {
    Actor::of(guild, cx.actor)?.require(Permissions::BAN_MEMBERS)?;
    let index = guild
        .bans
        .iter()
        .position(|ban| ban.user_id == user_id)
        .ok_or(RestError::UnknownBan)?;
    guild.bans.remove(index);
    let event = ban_event(
        "GUILD_BAN_REMOVE",
        guild_user_json(guild.id, user_id, cx.users),
    );
    Ok(Outcome::write(204, Vec::new(), vec![event]))
}
