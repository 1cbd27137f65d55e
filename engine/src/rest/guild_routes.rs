//! The guild, channel, overwrite and thread routes, sans-IO: which request is one of
//! them, with its path parameters.
//!
//! Like the message routes (`messages.rs`), these are not answered by `handle_request`:
//! they change a guild, which only its owner core may do. The app recognises them with
//! [`guild_route`], asks [`GuildRoute::target`] which guild they act on, forwards them to
//! that guild's owner core, and the owner runs `world::guild_ops::route_entry::apply`
//! (or `create_guild` for `POST /guilds`) with the typed request `guild_bodies.rs` read
//! from the body and query on the receiving core.
//!
//! Paths (Discord API v10; also `/api/v9` and unversioned `/api`, one trailing slash
//! tolerated):
//! - `POST /guilds`; `GET/PATCH/DELETE /guilds/{guild.id}`;
//!   `GET/POST/PATCH /guilds/{guild.id}/channels`; `GET /guilds/{guild.id}/threads/active`;
//! - `GET/PATCH/DELETE /channels/{channel.id}`;
//!   `PUT/DELETE /channels/{channel.id}/permissions/{overwrite.id}`;
//! - `POST /channels/{channel.id}/messages/{message.id}/threads`,
//!   `POST /channels/{channel.id}/threads`,
//!   `PUT/DELETE /channels/{thread.id}/thread-members/@me`.
//!
//! A known path with another method is 405; a path parameter that is not a snowflake is
//! 50035 naming it (`NUMBER_TYPE_COERCE`), as on Discord. Everything else is `None`
//! (not one of these routes): the member, role, ban and invite routes live in
//! `member_routes.rs`, messages in `messages.rs`.
//!
//! Tests: unit and property tests below; fuzz target from `engine/`:
//! `cargo +nightly fuzz run guild_routes` (parse, then apply on the demo guild).

use super::router::{parse_snowflake, strip_version_prefix, Method, RouteError};
pub use crate::world::guild_ops::GuildRoute;
use crate::world::message::MessageId;
use crate::world::Refusal;
use crate::world::{ChannelId, GuildId};

/// Most path segments these routes have (after the version prefix); longer paths are
/// not looked at further.
const SEGMENTS_MAX: usize = 6;

/// `None` when `method path` is not one of this module's routes; otherwise the route or
/// the error to answer (405 for another method, 50035 for a bad snowflake).
///
/// ```
/// use engine::rest::guild_routes::{guild_route, GuildRoute};
/// use engine::rest::Method;
/// use engine::world::{ChannelId, GuildId};
/// assert_eq!(guild_route(Method::Post, "/api/v10/guilds"), Some(Ok(GuildRoute::CreateGuild)));
/// assert_eq!(
///     guild_route(Method::Get, "/api/v9/guilds/5/channels"),
///     Some(Ok(GuildRoute::ListChannels(GuildId(5))))
/// );
/// assert_eq!(
///     guild_route(Method::Delete, "/api/channels/8/"),
///     Some(Ok(GuildRoute::DeleteChannel(ChannelId(8))))
/// );
/// assert_eq!(guild_route(Method::Get, "/api/v10/guilds/5/members"), None);
/// ```
pub fn guild_route(method: Method, path: &str) -> Option<Result<GuildRoute, Refusal>> {
    let rest = strip_version_prefix(path)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut segments: [&str; SEGMENTS_MAX] = [""; SEGMENTS_MAX];
    let mut count = 0;
    for segment in rest.split('/') {
        if count == SEGMENTS_MAX || segment.is_empty() {
            return None;
        }
        segments[count] = segment;
        count += 1;
    }
    let segments = &segments[..count];
    let known = matches!(
        segments,
        ["guilds"]
            | ["guilds", _]
            | ["guilds", _, "channels"]
            | ["guilds", _, "threads", "active"]
            | ["channels", _]
            | ["channels", _, "permissions", _]
            | ["channels", _, "messages", _, "threads"]
            | ["channels", _, "threads"]
            | ["channels", _, "thread-members", "@me"]
    );
    // `/guilds/templates`-style words are other routes, not a malformed guild id.
    let other_word =
        matches!(segments, ["guilds", word, ..] if !word.starts_with(|c: char| c.is_ascii_digit()));
    if !known || other_word {
        return None;
    }
    Some(parse_route(method, segments))
}

fn parse_route(method: Method, segments: &[&str]) -> Result<GuildRoute, Refusal> {
    use Method::{Delete, Get, Patch, Post, Put};
    let guild = |text: &str| snowflake("guild_id", text).map(GuildId);
    let channel = |text: &str| snowflake("channel_id", text).map(ChannelId);
    match (method, segments) {
        (Post, ["guilds"]) => Ok(GuildRoute::CreateGuild),
        (Get, ["guilds", id]) => Ok(GuildRoute::GetGuild(guild(id)?)),
        (Patch, ["guilds", id]) => Ok(GuildRoute::ModifyGuild(guild(id)?)),
        (Delete, ["guilds", id]) => Ok(GuildRoute::DeleteGuild(guild(id)?)),
        (Get, ["guilds", id, "channels"]) => Ok(GuildRoute::ListChannels(guild(id)?)),
        (Post, ["guilds", id, "channels"]) => Ok(GuildRoute::CreateChannel(guild(id)?)),
        (Patch, ["guilds", id, "channels"]) => Ok(GuildRoute::ModifyChannelPositions(guild(id)?)),
        (Get, ["guilds", id, "threads", "active"]) => Ok(GuildRoute::ActiveThreads(guild(id)?)),
        (Get, ["channels", id]) => Ok(GuildRoute::GetChannel(channel(id)?)),
        (Patch, ["channels", id]) => Ok(GuildRoute::ModifyChannel(channel(id)?)),
        (Delete, ["channels", id]) => Ok(GuildRoute::DeleteChannel(channel(id)?)),
        (Put | Delete, ["channels", id, "permissions", overwrite]) => {
            let channel = channel(id)?;
            let overwrite = snowflake("overwrite_id", overwrite)?;
            Ok(if method == Put {
                GuildRoute::PutOverwrite(channel, overwrite)
            } else {
                GuildRoute::DeleteOverwrite(channel, overwrite)
            })
        }
        (Post, ["channels", id, "messages", message, "threads"]) => {
            let channel = channel(id)?;
            let message = MessageId(snowflake("message_id", message)?);
            Ok(GuildRoute::StartThreadFromMessage(channel, message))
        }
        (Post, ["channels", id, "threads"]) => Ok(GuildRoute::StartThread(channel(id)?)),
        (Put, ["channels", id, "thread-members", "@me"]) => {
            Ok(GuildRoute::JoinThread(channel(id)?))
        }
        (Delete, ["channels", id, "thread-members", "@me"]) => {
            Ok(GuildRoute::LeaveThread(channel(id)?))
        }
        _ => Err(Refusal::MethodNotAllowed),
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

/// The HTTP status of a guild operation's reply (`world::guild_ops::Reply`).
pub fn status_of(reply: crate::world::guild_ops::Reply) -> u16 {
    use crate::world::guild_ops::Reply;
    match reply {
        Reply::Shown => 200,
        Reply::Created => 201,
        Reply::Done => 204,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn routes() {
        use Method::{Delete, Get, Other, Patch, Post, Put};
        let table: &[(Method, &str, Result<GuildRoute, Refusal>)] = &[
            (Post, "/api/v10/guilds", Ok(GuildRoute::CreateGuild)),
            (
                Get,
                "/api/v10/guilds/1",
                Ok(GuildRoute::GetGuild(GuildId(1))),
            ),
            (
                Patch,
                "/api/v9/guilds/1",
                Ok(GuildRoute::ModifyGuild(GuildId(1))),
            ),
            (
                Delete,
                "/api/guilds/1/",
                Ok(GuildRoute::DeleteGuild(GuildId(1))),
            ),
            (
                Get,
                "/api/v10/guilds/2/channels",
                Ok(GuildRoute::ListChannels(GuildId(2))),
            ),
            (
                Post,
                "/api/v10/guilds/2/channels",
                Ok(GuildRoute::CreateChannel(GuildId(2))),
            ),
            (
                Patch,
                "/api/v10/guilds/2/channels",
                Ok(GuildRoute::ModifyChannelPositions(GuildId(2))),
            ),
            (
                Get,
                "/api/v10/guilds/2/threads/active",
                Ok(GuildRoute::ActiveThreads(GuildId(2))),
            ),
            (
                Get,
                "/api/v10/channels/3",
                Ok(GuildRoute::GetChannel(ChannelId(3))),
            ),
            (
                Patch,
                "/api/v10/channels/3",
                Ok(GuildRoute::ModifyChannel(ChannelId(3))),
            ),
            (
                Delete,
                "/api/v10/channels/3",
                Ok(GuildRoute::DeleteChannel(ChannelId(3))),
            ),
            (
                Put,
                "/api/v10/channels/3/permissions/4",
                Ok(GuildRoute::PutOverwrite(ChannelId(3), 4)),
            ),
            (
                Delete,
                "/api/v10/channels/3/permissions/4",
                Ok(GuildRoute::DeleteOverwrite(ChannelId(3), 4)),
            ),
            (
                Post,
                "/api/v10/channels/3/messages/5/threads",
                Ok(GuildRoute::StartThreadFromMessage(
                    ChannelId(3),
                    MessageId(5),
                )),
            ),
            (
                Post,
                "/api/v10/channels/3/threads",
                Ok(GuildRoute::StartThread(ChannelId(3))),
            ),
            (
                Put,
                "/api/v10/channels/3/thread-members/@me",
                Ok(GuildRoute::JoinThread(ChannelId(3))),
            ),
            (
                Delete,
                "/api/v10/channels/3/thread-members/@me",
                Ok(GuildRoute::LeaveThread(ChannelId(3))),
            ),
            (Get, "/api/v10/guilds", Err(Refusal::MethodNotAllowed)),
            (Put, "/api/v10/guilds/1", Err(Refusal::MethodNotAllowed)),
            (Other, "/api/v10/channels/1", Err(Refusal::MethodNotAllowed)),
            (
                Get,
                "/api/v10/channels/3/threads",
                Err(Refusal::MethodNotAllowed),
            ),
            (
                Get,
                "/api/v10/channels/3/permissions/4",
                Err(Refusal::MethodNotAllowed),
            ),
        ];
        for (method, path, expected) in table {
            assert_eq!(
                guild_route(*method, path).as_ref(),
                Some(expected),
                "{method:?} {path}"
            );
        }
    }

    #[test]
    fn other_paths_are_not_ours() {
        for path in [
            "/api/v10/guilds/1/members",
            "/api/v10/guilds/1/roles",
            "/api/v10/guilds/1/bans/2",
            "/api/v10/channels/1/messages",
            "/api/v10/channels/1/messages/2",
            "/api/v10/channels/1/invites",
            "/api/v10/channels/1/thread-members/5",
            "/api/v10/guilds/templates/abc",
            "/api/v8/guilds/1",
            "/guilds/1",
            "/api/v10/guilds//channels",
            "/api/v10/users/@me",
        ] {
            assert_eq!(guild_route(Method::Get, path), None, "{path}");
        }
    }

    #[test]
    fn bad_snowflakes_name_their_parameter() {
        for (method, path, field) in [
            (Method::Get, "/api/v10/guilds/1x", "guild_id"),
            (Method::Get, "/api/v10/channels/-1", "channel_id"),
            (
                Method::Put,
                "/api/v10/channels/1/permissions/abc",
                "overwrite_id",
            ),
            (
                Method::Post,
                "/api/v10/channels/1/messages/x/threads",
                "message_id",
            ),
        ] {
            match guild_route(method, path) {
                Some(Err(Refusal::InvalidFormBody {
                    field: got, code, ..
                })) => {
                    assert_eq!((got, code), (field, "NUMBER_TYPE_COERCE"), "{path}");
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_targets_are_consistent(
            method in 0usize..6,
            path in "(/(api|v10|v9|guilds|channels|threads|active|permissions|messages|thread-members|@me|[0-9]{1,3}|x)){0,8}/?",
        ) {
            let methods = [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete, Method::Other];
            if let Some(Ok(route)) = guild_route(methods[method], &path) {
                prop_assert_eq!(route.target().is_none(), route == GuildRoute::CreateGuild);
                prop_assert!(route.writes() || methods[method] == Method::Get);
            }
        }

        #[test]
        fn never_panics_on_any_text(path in ".{0,120}") {
            let _ = guild_route(Method::Get, &path);
        }
    }
}
