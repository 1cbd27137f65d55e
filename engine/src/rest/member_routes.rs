//! The member, role, ban and invite routes, sans-IO: which request is one of them, with
//! its path parameters, and which guild it acts on.
//!
//! Like the message routes (`messages.rs`), these are not answered by `handle_request`:
//! each changes (or reads) one guild, which lives on its owner core. The app recognises
//! them with [`member_route`], finds the owner from [`MemberRoute::target`], and runs
//! `world::guild_ops::apply_member_route` there. Bodies and query strings are read into
//! typed requests by `member_bodies.rs` on the receiving core; this file only reads the
//! path.
//!
//! Routes (Discord API v10, `/api/v10`, `/api/v9` and `/api` prefixes, one trailing
//! slash tolerated):
//! - members: `GET /guilds/{g}/members`, `GET /guilds/{g}/members/search`,
//!   `GET|PATCH|DELETE /guilds/{g}/members/{u}`,
//!   `PATCH /guilds/{g}/members/@me`, `PUT|DELETE /guilds/{g}/members/{u}/roles/{r}`,
//!   and leaving: `DELETE /users/@me/guilds/{g}`;
//! - bans: `GET /guilds/{g}/bans`, `GET|PUT|DELETE /guilds/{g}/bans/{u}`;
//! - roles: `GET|POST|PATCH /guilds/{g}/roles`, `GET|PATCH|DELETE /guilds/{g}/roles/{r}`;
//! - invites: `GET /guilds/{g}/invites`, `GET|POST /channels/{c}/invites`,
//!   `GET|DELETE|POST /invites/{code}` (POST is the legacy "accept invite": join).
//!
//! A snowflake that does not parse is Discord's 50035 naming the parameter
//! (`guild_id`, `user_id`, `role_id`, `channel_id`); a known path with another method
//! is 405; an invite code that cannot exist (empty, longer than
//! [`INVITE_CODE_LEN_MAX`], or not `[A-Za-z0-9_-]`) is 10006 Unknown Invite.
//!
//! Tests: unit and property tests below; fuzz target from `engine/`:
//! `cargo +nightly fuzz run member_routes`.

use super::router::{parse_snowflake, strip_version_prefix, Method, RouteError};
pub use crate::world::guild_ops::{MemberRef, MemberRoute};
use crate::world::Refusal;
use crate::world::{ChannelId, GuildId, RoleId, UserId};

/// Longest invite code a path may name (Discord's vanity codes are at most 32).
pub const INVITE_CODE_LEN_MAX: usize = 32;

/// `None` when `path` is not a member, role, ban or invite route; otherwise the route
/// or the error to answer (405 for another method, 50035 for a bad snowflake, 10006 for
/// a code that cannot be an invite).
///
/// ```
/// use engine::rest::member_routes::{member_route, MemberRef, MemberRoute};
/// use engine::rest::Method;
/// use engine::world::{GuildId, UserId};
/// assert_eq!(
///     member_route(Method::Delete, "/api/v10/guilds/1/members/2"),
///     Some(Ok(MemberRoute::KickMember(GuildId(1), UserId(2))))
/// );
/// assert_eq!(
///     member_route(Method::Patch, "/api/guilds/1/members/@me"),
///     Some(Ok(MemberRoute::EditMember(GuildId(1), MemberRef::Me)))
/// );
/// assert_eq!(member_route(Method::Get, "/api/v10/guilds/1"), None);
/// ```
pub fn member_route(method: Method, path: &str) -> Option<Result<MemberRoute, Refusal>> {
    let rest = strip_version_prefix(path)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    // At most six segments are ours; a longer path is someone else's (or nobody's).
    let mut segments = [""; 7];
    let mut count = 0;
    for segment in rest.split('/') {
        if count == segments.len() || segment.is_empty() {
            return None;
        }
        segments[count] = segment;
        count += 1;
    }
    let segments = &segments[..count];
    let known = matches!(
        segments,
        ["guilds", _, "members"]
            | ["guilds", _, "members", _]
            | ["guilds", _, "members", _, "roles", _]
            | ["guilds", _, "bans"]
            | ["guilds", _, "bans", _]
            | ["guilds", _, "roles"]
            | ["guilds", _, "roles", _]
            | ["guilds", _, "invites"]
            | ["channels", _, "invites"]
            | ["invites", _]
            | ["users", "@me", "guilds", _]
    );
    if !known {
        return None;
    }
    Some(parse_route(method, segments))
}

fn parse_route(method: Method, segments: &[&str]) -> Result<MemberRoute, Refusal> {
    use MemberRoute as R;
    match segments {
        ["invites", code] => {
            let code = parse_invite_code(code)?;
            match method {
                Method::Get => Ok(R::GetInvite(code)),
                Method::Delete => Ok(R::DeleteInvite(code)),
                Method::Post => Ok(R::AcceptInvite(code)),
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        ["channels", channel, "invites"] => {
            let channel = ChannelId(snowflake("channel_id", channel)?);
            match method {
                Method::Get => Ok(R::ListChannelInvites(channel)),
                Method::Post => Ok(R::CreateInvite(channel)),
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        ["users", "@me", "guilds", guild] => {
            let guild = GuildId(snowflake("guild_id", guild)?);
            match method {
                Method::Delete => Ok(R::LeaveGuild(guild)),
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        ["guilds", guild, tail @ ..] => {
            let guild = GuildId(snowflake("guild_id", guild)?);
            parse_guild_route(method, guild, tail)
        }
        _ => Err(Refusal::NotFound),
    }
}

fn parse_guild_route(
    method: Method,
    guild: GuildId,
    tail: &[&str],
) -> Result<MemberRoute, Refusal> {
    use MemberRoute as R;
    let user = |text: &str| snowflake("user_id", text).map(UserId);
    let role = |text: &str| snowflake("role_id", text).map(RoleId);
    match (method, tail) {
        (Method::Get, ["members"]) => Ok(R::ListMembers(guild)),
        (Method::Get, ["members", "search"]) => Ok(R::SearchMembers(guild)),
        (_, ["members", member]) => {
            let member = if *member == "@me" {
                MemberRef::Me
            } else {
                MemberRef::User(user(member)?)
            };
            match (method, member) {
                (Method::Get, _) => Ok(R::GetMember(guild, member)),
                (Method::Patch, _) => Ok(R::EditMember(guild, member)),
                (Method::Delete, MemberRef::User(user)) => Ok(R::KickMember(guild, user)),
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        (_, ["members", member, "roles", role_id]) => {
            let (member, role_id) = (user(member)?, role(role_id)?);
            match method {
                Method::Put => Ok(R::AddMemberRole(guild, member, role_id)),
                Method::Delete => Ok(R::RemoveMemberRole(guild, member, role_id)),
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        (Method::Get, ["bans"]) => Ok(R::ListBans(guild)),
        (_, ["bans", banned]) => {
            let banned = user(banned)?;
            match method {
                Method::Get => Ok(R::GetBan(guild, banned)),
                Method::Put => Ok(R::CreateBan(guild, banned)),
                Method::Delete => Ok(R::RemoveBan(guild, banned)),
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        (Method::Get, ["roles"]) => Ok(R::ListRoles(guild)),
        (Method::Post, ["roles"]) => Ok(R::CreateRole(guild)),
        (Method::Patch, ["roles"]) => Ok(R::EditRolePositions(guild)),
        (_, ["roles", role_id]) => {
            let role_id = role(role_id)?;
            match method {
                Method::Get => Ok(R::GetRole(guild, role_id)),
                Method::Patch => Ok(R::EditRole(guild, role_id)),
                Method::Delete => Ok(R::DeleteRole(guild, role_id)),
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        (Method::Get, ["invites"]) => Ok(R::ListGuildInvites(guild)),
        (_, ["members" | "bans" | "roles" | "invites"]) => Err(Refusal::MethodNotAllowed),
        _ => Err(Refusal::NotFound),
    }
}

/// The body of `PUT /guilds/{g}/bans/{u}` with the `X-Audit-Log-Reason` header (`%XX`
/// decoded) as its `reason` when the body has none: discord.py sends a ban's reason only
/// in that header (http.py `request`, `_uriquote(reason)`), and Discord keeps it as the
/// ban's reason. A body that is not a JSON object is left for the operation to refuse.
pub fn ban_body_with_audit_reason(body: &[u8], header: Option<&str>) -> Vec<u8> {
    let Some(header) = header else {
        return body.to_vec();
    };
    let reason = super::messages::percent_decode(header).unwrap_or_else(|| header.to_string());
    let object = if body.iter().all(u8::is_ascii_whitespace) {
        Some(serde_json::Map::new())
    } else {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(object)) => Some(object),
            _ => None,
        }
    };
    match object {
        Some(mut object) if !object.contains_key("reason") => {
            object.insert("reason".into(), reason.into());
            serde_json::to_vec(&object).unwrap_or_else(|_| body.to_vec())
        }
        _ => body.to_vec(),
    }
}

/// An invite code from a path: 1–32 of `[A-Za-z0-9_-]`, else 10006 Unknown Invite
/// (no such invite can exist, so there is nothing to look up).
pub fn parse_invite_code(text: &str) -> Result<String, Refusal> {
    let valid = !text.is_empty()
        && text.len() <= INVITE_CODE_LEN_MAX
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(text.to_string())
    } else {
        Err(Refusal::UnknownInvite)
    }
}

fn snowflake(field: &'static str, text: &str) -> Result<u64, Refusal> {
    parse_snowflake(field, text).map_err(|error| match error {
        RouteError::InvalidSnowflake { field, value } => Refusal::InvalidFormBody {
            field,
            code: "NUMBER_TYPE_COERCE",
            message: format!("Value \"{value}\" is not snowflake."),
        },
        RouteError::NotFound => Refusal::NotFound,
        RouteError::MethodNotAllowed => Refusal::MethodNotAllowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::guild_ops::Target;
    use proptest::prelude::*;

    fn parsed(method: Method, path: &str) -> Option<Result<MemberRoute, Refusal>> {
        member_route(method, path)
    }

    #[test]
    fn routes_table() {
        use MemberRoute as R;
        let (g, u, r, c) = (GuildId(1), UserId(2), RoleId(3), ChannelId(4));
        let table = [
            (Method::Get, "/api/v10/guilds/1/members", R::ListMembers(g)),
            (
                Method::Get,
                "/api/v10/guilds/1/members/search",
                R::SearchMembers(g),
            ),
            (
                Method::Get,
                "/api/v9/guilds/1/members/2/",
                R::GetMember(g, MemberRef::User(u)),
            ),
            (
                Method::Get,
                "/api/guilds/1/members/@me",
                R::GetMember(g, MemberRef::Me),
            ),
            (
                Method::Patch,
                "/api/v10/guilds/1/members/2",
                R::EditMember(g, MemberRef::User(u)),
            ),
            (
                Method::Patch,
                "/api/v10/guilds/1/members/@me",
                R::EditMember(g, MemberRef::Me),
            ),
            (
                Method::Delete,
                "/api/v10/guilds/1/members/2",
                R::KickMember(g, u),
            ),
            (
                Method::Put,
                "/api/v10/guilds/1/members/2/roles/3",
                R::AddMemberRole(g, u, r),
            ),
            (
                Method::Delete,
                "/api/v10/guilds/1/members/2/roles/3",
                R::RemoveMemberRole(g, u, r),
            ),
            (
                Method::Delete,
                "/api/v10/users/@me/guilds/1",
                R::LeaveGuild(g),
            ),
            (Method::Get, "/api/v10/guilds/1/bans", R::ListBans(g)),
            (Method::Get, "/api/v10/guilds/1/bans/2", R::GetBan(g, u)),
            (Method::Put, "/api/v10/guilds/1/bans/2", R::CreateBan(g, u)),
            (
                Method::Delete,
                "/api/v10/guilds/1/bans/2",
                R::RemoveBan(g, u),
            ),
            (Method::Get, "/api/v10/guilds/1/roles", R::ListRoles(g)),
            (Method::Post, "/api/v10/guilds/1/roles", R::CreateRole(g)),
            (
                Method::Patch,
                "/api/v10/guilds/1/roles",
                R::EditRolePositions(g),
            ),
            (Method::Get, "/api/v10/guilds/1/roles/3", R::GetRole(g, r)),
            (
                Method::Patch,
                "/api/v10/guilds/1/roles/3",
                R::EditRole(g, r),
            ),
            (
                Method::Delete,
                "/api/v10/guilds/1/roles/3",
                R::DeleteRole(g, r),
            ),
            (
                Method::Get,
                "/api/v10/guilds/1/invites",
                R::ListGuildInvites(g),
            ),
            (
                Method::Post,
                "/api/v10/channels/4/invites",
                R::CreateInvite(c),
            ),
            (
                Method::Get,
                "/api/v10/channels/4/invites",
                R::ListChannelInvites(c),
            ),
            (
                Method::Get,
                "/api/v10/invites/abcDEF12",
                R::GetInvite("abcDEF12".into()),
            ),
            (
                Method::Delete,
                "/api/v10/invites/abc",
                R::DeleteInvite("abc".into()),
            ),
            (
                Method::Post,
                "/api/v10/invites/a-b_c",
                R::AcceptInvite("a-b_c".into()),
            ),
        ];
        for (method, path, route) in table {
            assert_eq!(parsed(method, path), Some(Ok(route)), "{method:?} {path}");
        }
    }

    #[test]
    fn targets() {
        let route = |m, p| parsed(m, p).unwrap().unwrap();
        assert_eq!(
            route(Method::Delete, "/api/v10/users/@me/guilds/9").target(),
            Target::Guild(GuildId(9))
        );
        assert_eq!(
            route(Method::Post, "/api/v10/channels/8/invites").target(),
            Target::Channel(ChannelId(8))
        );
        assert_eq!(
            route(Method::Post, "/api/v10/invites/xyz").target(),
            Target::Invite("xyz".into())
        );
        assert!(route(Method::Post, "/api/v10/invites/xyz").open_to_non_members());
        assert!(!route(Method::Get, "/api/v10/guilds/1/roles").open_to_non_members());
        assert!(!route(Method::Get, "/api/v10/guilds/1/roles").writes());
        assert!(route(Method::Put, "/api/v10/guilds/1/bans/2").writes());
    }

    #[test]
    fn errors() {
        let table = [
            (
                Method::Post,
                "/api/v10/guilds/1/members",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Put,
                "/api/v10/guilds/1/members/2",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Delete,
                "/api/v10/guilds/1/members/@me",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Get,
                "/api/v10/guilds/1/members/2/roles/3",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Post,
                "/api/v10/guilds/1/bans/2",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Delete,
                "/api/v10/guilds/1/roles",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Put,
                "/api/v10/guilds/1/roles/3",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Get,
                "/api/v10/users/@me/guilds/1",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Patch,
                "/api/v10/invites/abc",
                Refusal::MethodNotAllowed,
            ),
            (
                Method::Delete,
                "/api/v10/channels/4/invites",
                Refusal::MethodNotAllowed,
            ),
            (Method::Get, "/api/v10/invites/a.b", Refusal::UnknownInvite),
            (
                Method::Get,
                "/api/v10/invites/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                Refusal::UnknownInvite,
            ),
        ];
        for (method, path, error) in table {
            assert_eq!(parsed(method, path), Some(Err(error)), "{method:?} {path}");
        }
        for (path, field) in [
            ("/api/v10/guilds/x/members", "guild_id"),
            ("/api/v10/guilds/1/members/-2", "user_id"),
            ("/api/v10/guilds/1/roles/3a", "role_id"),
            ("/api/v10/channels/z/invites", "channel_id"),
            ("/api/v10/users/@me/guilds/@me", "guild_id"),
        ] {
            match parsed(Method::Delete, path) {
                Some(Err(Refusal::InvalidFormBody { field: got, .. })) => {
                    assert_eq!(got, field, "{path}")
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn ban_reason_comes_from_the_audit_log_header_when_the_body_has_none() {
        let merged = |body: &str, header| {
            let bytes = ban_body_with_audit_reason(body.as_bytes(), header);
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        assert_eq!(
            merged("", Some("too%20rude")),
            serde_json::json!({"reason": "too rude"})
        );
        assert_eq!(
            merged(r#"{"delete_message_seconds":0}"#, Some("spam")),
            serde_json::json!({"delete_message_seconds": 0, "reason": "spam"})
        );
        assert_eq!(
            merged(r#"{"reason":"body wins"}"#, Some("header")),
            serde_json::json!({"reason": "body wins"})
        );
        assert_eq!(merged("{}", None), serde_json::json!({}));
        // A bad escape is kept as sent; a body that is not an object is left alone.
        assert_eq!(
            merged("", Some("100%")),
            serde_json::json!({"reason": "100%"})
        );
        assert_eq!(
            ban_body_with_audit_reason(b"[1]", Some("x")),
            b"[1]".to_vec()
        );
    }

    #[test]
    fn other_paths_are_not_ours() {
        for path in [
            "/api/v10/guilds/1",
            "/api/v10/guilds/1/channels",
            "/api/v10/guilds/1/members/2/roles",
            "/api/v10/guilds/1/members/2/roles/3/4",
            "/api/v10/channels/1/messages",
            "/api/v10/users/@me/guilds",
            "/api/v10/users/@me",
            "/api/v8/guilds/1/members",
            "/guilds/1/members",
            "/api/v10/guilds//members",
            "/api/v10/invites",
            "/api/v10/invites/a/b",
        ] {
            assert_eq!(parsed(Method::Get, path), None, "{path}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_ids_round_trip(
            path in "(/api(/v10|/v9)?)?(/[a-z@0-9]{0,8}){0,8}/?",
            guild in 1u64..u64::MAX,
            user in 1u64..u64::MAX,
        ) {
            let _ = member_route(Method::Get, &path);
            let _ = member_route(Method::Delete, &path);
            let kick = format!("/api/v10/guilds/{guild}/members/{user}");
            prop_assert_eq!(
                member_route(Method::Delete, &kick),
                Some(Ok(MemberRoute::KickMember(GuildId(guild), UserId(user))))
            );
        }

        #[test]
        fn invite_codes_are_checked(code in "\\PC{0,40}") {
            let path = format!("/api/v10/invites/{code}");
            if let Some(Ok(MemberRoute::GetInvite(parsed))) = member_route(Method::Get, &path) {
                // One trailing slash is the same route (`/invites/abc/`), never part of
                // the code.
                prop_assert_eq!(parsed.as_str(), code.strip_suffix('/').unwrap_or(&code));
                prop_assert!(!parsed.contains('/'));
                prop_assert!(parsed.len() <= INVITE_CODE_LEN_MAX);
            }
        }
    }
}
