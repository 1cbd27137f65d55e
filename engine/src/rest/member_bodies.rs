//! The bodies and queries of the member and ban routes, read into typed requests
//! (`world::guild_ops::member_forms`) on the receiving core; and [`member_request`], which
//! picks the parser of every member, role, ban and invite route (roles:
//! `role_bodies.rs`, invites: `invite_bodies.rs`).
//!
//! Why here: the owner core's operations parse nothing. Each value keeps the refusal of
//! what it could not read, for the owner to answer where Discord checks it: after
//! membership and permission, and for a member edit field by field after the member
//! itself (`member_forms.rs` says why).
//!
//! Discord's rules: member lists take `limit` 1–1000 (default 1) and `after` (a user id
//! or 0); a search takes `query` (required, percent-decoded, at most 100 characters) and
//! `limit`; a member edit takes `nick` (at most 32), `communication_disabled_until` (ISO
//! 8601 or `null`), `roles` (at most 250 ids), `mute`, `deaf`, and `channel_id`
//! (a voice channel id, or `null` to disconnect); ban lists take `limit` 1–1000 (default 1000),
//! `before`, `after`; a ban takes `delete_message_seconds` 0–604800,
//! `delete_message_days` 0–7 and `reason` (at most 512).

use super::invite_bodies::{parse_invite_form, parse_invite_query};
use super::member_fields::{
    form_error, nullable_string, optional_bool, optional_integer, optional_snowflakes,
    query_integer, query_pairs, query_snowflake, snowflake_value, Object,
};
use super::role_bodies::{parse_role_form, parse_role_positions};
use crate::rest::parse_object;
use crate::world::guild_ops::member_forms::{
    BanForm, BanListQuery, MemberEdit, MemberListQuery, MemberSearchQuery,
};
use crate::world::guild_ops::{MemberRequest, MemberRoute, Parsed};
use crate::world::{ChannelId, Refusal, RoleId};
use serde_json::Value;

/// Most members one list or search returns.
const MEMBERS_LIMIT_MAX: u64 = 1000;
/// Longest search `query`, in characters.
const SEARCH_QUERY_CHARS_MAX: usize = 100;
/// Longest nickname, in characters.
const NICK_CHARS_MAX: usize = 32;
/// Most roles one member edit may list (Discord's role limit per guild).
const MEMBER_ROLES_MAX: usize = 250;
/// Most bans one list call returns.
const BANS_LIMIT_MAX: u64 = 1000;
/// Longest ban reason, in characters.
const BAN_REASON_CHARS_MAX: usize = 512;
/// Most seconds of messages a ban may ask to delete (7 days).
const DELETE_MESSAGE_SECONDS_MAX: u64 = 604_800;

/// The typed request of `route` from its URL `query` (without `?`) and `body` (for a
/// ban, with the audit-log reason already in it: `member_routes::ban_body_with_audit_reason`).
///
/// ```
/// use engine::rest::member_bodies::member_request;
/// use engine::world::guild_ops::member_forms::MemberListQuery;
/// use engine::world::guild_ops::{MemberRequest, MemberRoute};
/// use engine::world::GuildId;
/// let request = member_request(&MemberRoute::ListMembers(GuildId(1)), "limit=5", b"");
/// let query = MemberListQuery { limit: 5, after: 0 };
/// assert_eq!(request, MemberRequest::ListMembers(Ok(query)));
/// ```
pub fn member_request(route: &MemberRoute, query: &str, body: &[u8]) -> MemberRequest {
    use MemberRoute as R;
    match route {
        R::ListMembers(_) => MemberRequest::ListMembers(parse_member_list_query(query)),
        R::SearchMembers(_) => MemberRequest::SearchMembers(parse_member_search_query(query)),
        R::EditMember(..) => MemberRequest::EditMember(Box::new(parse_member_edit(body))),
        R::ListBans(_) => MemberRequest::ListBans(parse_ban_list_query(query)),
        R::CreateBan(..) => MemberRequest::CreateBan(parse_ban_form(body)),
        R::CreateRole(_) | R::EditRole(..) => MemberRequest::Role(parse_role_form(body)),
        R::EditRolePositions(_) => MemberRequest::EditRolePositions(parse_role_positions(body)),
        R::CreateInvite(_) => MemberRequest::CreateInvite(parse_invite_form(body)),
        R::GetInvite(_) => MemberRequest::GetInvite(parse_invite_query(query)),
        R::GetMember(..)
        | R::KickMember(..)
        | R::AddMemberRole(..)
        | R::RemoveMemberRole(..)
        | R::LeaveGuild(_)
        | R::GetBan(..)
        | R::RemoveBan(..)
        | R::ListRoles(_)
        | R::GetRole(..)
        | R::DeleteRole(..)
        | R::ListGuildInvites(_)
        | R::ListChannelInvites(_)
        | R::DeleteInvite(_)
        | R::AcceptInvite(_) => MemberRequest::Bare,
    }
}

/// `GET /guilds/{g}/members?limit&after`.
pub fn parse_member_list_query(query: &str) -> Parsed<MemberListQuery> {
    let mut limit = 1;
    let mut after = 0;
    for (key, value) in query_pairs(query) {
        match key {
            "limit" => limit = query_integer(value, "limit", 1, MEMBERS_LIMIT_MAX)?,
            "after" => after = query_snowflake(value, "after")?,
            _ => {}
        }
    }
    Ok(MemberListQuery {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
        after,
    })
}

/// `GET /guilds/{g}/members/search?query&limit`.
pub fn parse_member_search_query(query: &str) -> Parsed<MemberSearchQuery> {
    let mut limit = 1;
    let mut text = None;
    for (key, value) in query_pairs(query) {
        match key {
            "limit" => limit = query_integer(value, "limit", 1, MEMBERS_LIMIT_MAX)?,
            "query" => text = Some(percent_decoded(value)?),
            _ => {}
        }
    }
    let text =
        text.ok_or_else(|| form_error("query", "BASE_TYPE_REQUIRED", "This field is required"))?;
    if text.chars().count() > SEARCH_QUERY_CHARS_MAX {
        return Err(form_error(
            "query",
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {SEARCH_QUERY_CHARS_MAX} or fewer in length."),
        ));
    }
    Ok(MemberSearchQuery {
        text,
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    })
}

/// `PATCH /guilds/{g}/members/{u}`: each field read on its own, its refusal kept.
pub fn parse_member_edit(body: &[u8]) -> Parsed<MemberEdit> {
    let object = parse_object(body)?;
    let channel_id = match object.get("channel_id") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => snowflake_value(value, "channel_id").map(|id| Some(Some(ChannelId(id)))),
    };
    Ok(MemberEdit {
        nick: nullable_string(&object, "nick", NICK_CHARS_MAX),
        timeout_until: timeout_until(&object),
        channel_id,
        roles: optional_snowflakes(&object, "roles", MEMBER_ROLES_MAX)
            .map(|roles| roles.map(|ids| ids.into_iter().map(RoleId).collect())),
        mute: optional_bool(&object, "mute"),
        deaf: optional_bool(&object, "deaf"),
    })
}

/// `GET /guilds/{g}/bans?limit&before&after`.
pub fn parse_ban_list_query(query: &str) -> Parsed<BanListQuery> {
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
    Ok(BanListQuery {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
        before,
        after,
    })
}

/// `PUT /guilds/{g}/bans/{u}`.
pub fn parse_ban_form(body: &[u8]) -> Parsed<BanForm> {
    let object = parse_object(body)?;
    optional_integer(
        &object,
        "delete_message_seconds",
        0,
        DELETE_MESSAGE_SECONDS_MAX,
    )?;
    optional_integer(&object, "delete_message_days", 0, 7)?;
    let reason = nullable_string(&object, "reason", BAN_REASON_CHARS_MAX)?.flatten();
    Ok(BanForm { reason })
}

/// `communication_disabled_until`: absent → `None`; `null` → `Some(None)`; an ISO 8601
/// time → `Some(Some(unix_ms))`.
fn timeout_until(object: &Object) -> Parsed<Option<Option<u64>>> {
    const FIELD: &str = "communication_disabled_until";
    match object.get(FIELD) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) => crate::world::unix_ms_from_iso8601(text)
            .map(|until| Some(Some(until)))
            .ok_or_else(|| {
                form_error(FIELD, "DATE_TIME_INVALID", "Could not parse the timestamp.")
            }),
        Some(_) => Err(form_error(
            FIELD,
            "DATE_TIME_INVALID",
            "Must be an ISO 8601 timestamp or null.",
        )),
    }
}

/// `%XX` and `+` decoding of a query value; 50035 for bad escapes or non-UTF-8.
fn percent_decoded(value: &str) -> Result<String, Refusal> {
    let invalid = || {
        form_error(
            "query",
            "BASE_TYPE_STRING",
            "Could not interpret the value as string.",
        )
    };
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'%' => {
                let hex = bytes.get(index + 1..index + 3).ok_or_else(invalid)?;
                let hex = std::str::from_utf8(hex).map_err(|_| invalid())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| invalid())?);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| invalid())
}
