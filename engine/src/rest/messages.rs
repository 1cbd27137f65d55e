//! The message routes, sans-IO: which request is a message route, and what
//! its body and query say.
//!
//! These routes are not answered by `handle_request`: they need the channel's owner core
//! (its `lsm` store and Snowflake generator), so the app (`app/messages.rs`) recognises
//! them with [`message_route`], parses them here, and answers after the owner has acted.
//!
//! Discord's rules implemented here (CLIENTS.md §1.4, §1.6):
//! - `content` is at most 2000 characters (Unicode scalar values), else 50035 with
//!   `errors.content._errors[0].code = "BASE_TYPE_MAX_LENGTH"`.
//! - A create with no content and no embeds is 50006 Cannot send an empty message.
//! - `nonce` is a string (≤ 25 characters) or an integer; `enforce_nonce` asks for dedupe.
//! - `embeds` are kept as the sender's JSON objects (at most 10), within Discord's embed
//!   limits (`embeds.rs`: 6,000 characters in all, and each member's own limit).
//! - History's `limit`, `before`, `after`, `around` must be integers / snowflakes, else
//!   50035 naming the field (the range of `limit` is checked by `world::history`).
//! - Reaction, typing and pin routes (`message_route` covers them too); a reaction's
//!   `{emoji}` segment is parsed by `parse_emoji` (10014 Unknown Emoji when it is none).
//! - `POST …/messages/bulk-delete` is recognised here; its body is `bulk_delete.rs`'s.
//! - A create with files (`parse_create_with_files`) needs no content or embeds.
//! - Mentions (`<@id>`, `<@!id>`, `<@&id>`, `@everyone`, `@here`) are found in the
//!   content by `parse_mentions`; the app keeps those that exist.
//!
//! Tests: unit and property tests below; fuzz target from `engine/`:
//! `cargo +nightly fuzz run rest_messages`.

use super::router::{parse_snowflake, strip_version_prefix, Method, RouteError};
use crate::rest::parse_object;
use crate::world::history::HistoryQuery;
use crate::world::message::{Emoji, MessageId, Nonce};
use crate::world::Refusal;
use crate::world::{ChannelId, UserId};
use serde_json::Value;

/// Longest `content`, in characters.
pub const CONTENT_CHARS_MAX: usize = 2000;
/// Most embeds in one message.
pub const EMBEDS_MAX: usize = 10;
/// Longest string nonce.
pub const NONCE_CHARS_MAX: usize = 25;

/// A message route with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRoute {
    /// `POST /channels/{channel.id}/messages`
    Create(ChannelId),
    /// `GET /channels/{channel.id}/messages`
    List(ChannelId),
    /// `GET /channels/{channel.id}/messages/{message.id}`
    Get(ChannelId, MessageId),
    /// `PATCH /channels/{channel.id}/messages/{message.id}`
    Edit(ChannelId, MessageId),
    /// `DELETE /channels/{channel.id}/messages/{message.id}`
    Delete(ChannelId, MessageId),
    /// `PUT /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me`
    AddReaction(ChannelId, MessageId, Emoji),
    /// `DELETE …/reactions/{emoji}/@me` (`None`) or `…/reactions/{emoji}/{user.id}`.
    RemoveReaction(ChannelId, MessageId, Emoji, Option<UserId>),
    /// `GET …/reactions/{emoji}`: the users who reacted.
    ListReactions(ChannelId, MessageId, Emoji),
    /// `DELETE …/reactions/{emoji}`: every reaction with one emoji.
    RemoveEmojiReactions(ChannelId, MessageId, Emoji),
    /// `DELETE …/reactions`: every reaction.
    RemoveAllReactions(ChannelId, MessageId),
    /// `POST /channels/{channel.id}/typing`
    Typing(ChannelId),
    /// `GET /channels/{channel.id}/pins` (`legacy`: an array of messages) or
    /// `GET /channels/{channel.id}/messages/pins` (`{items, has_more}`).
    ListPins {
        /// The channel.
        channel: ChannelId,
        /// Whether the legacy shape is asked for.
        legacy: bool,
    },
    /// `PUT /channels/{channel.id}/pins/{message.id}` or `…/messages/pins/{message.id}`.
    Pin(ChannelId, MessageId),
    /// `DELETE` of the same paths.
    Unpin(ChannelId, MessageId),
    /// `POST /channels/{channel.id}/messages/bulk-delete` (body: `bulk_delete.rs`).
    BulkDelete(ChannelId),
}

impl MessageRoute {
    /// The channel the route acts on.
    pub fn channel_id(&self) -> ChannelId {
        match *self {
            MessageRoute::Create(channel)
            | MessageRoute::List(channel)
            | MessageRoute::Get(channel, _)
            | MessageRoute::Edit(channel, _)
            | MessageRoute::Delete(channel, _)
            | MessageRoute::AddReaction(channel, ..)
            | MessageRoute::RemoveReaction(channel, ..)
            | MessageRoute::ListReactions(channel, ..)
            | MessageRoute::RemoveEmojiReactions(channel, ..)
            | MessageRoute::RemoveAllReactions(channel, _)
            | MessageRoute::Typing(channel)
            | MessageRoute::ListPins { channel, .. }
            | MessageRoute::Pin(channel, _)
            | MessageRoute::Unpin(channel, _)
            | MessageRoute::BulkDelete(channel) => channel,
        }
    }

    /// Whether the route changes the store (and so answers only once durable).
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            MessageRoute::List(_)
                | MessageRoute::Get(..)
                | MessageRoute::ListReactions(..)
                | MessageRoute::Typing(_)
                | MessageRoute::ListPins { .. }
        )
    }
}

/// `None` when `path` is not a message, reaction, typing or pin route under
/// `/channels/{id}`; otherwise the route or the error to answer (405 for another method,
/// 50035 for a bad snowflake, 10014 for a reaction segment that is no emoji).
///
/// ```
/// use engine::rest::messages::{message_route, MessageRoute};
/// use engine::rest::Method;
/// use engine::world::ChannelId;
/// assert_eq!(
///     message_route(Method::Post, "/api/v10/channels/42/messages"),
///     Some(Ok(MessageRoute::Create(ChannelId(42))))
/// );
/// assert_eq!(message_route(Method::Get, "/api/v10/users/@me"), None);
/// ```
pub fn message_route(method: Method, path: &str) -> Option<Result<MessageRoute, Refusal>> {
    let rest = strip_version_prefix(path)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    let ["channels", channel, tail @ ..] = segments.as_slice() else {
        return None;
    };
    if tail.is_empty() || tail.iter().any(|segment| segment.is_empty()) {
        return None;
    }
    let known = matches!(
        tail,
        ["messages"]
            | ["messages", _]
            | ["messages", _, "reactions"]
            | ["messages", _, "reactions", _]
            | ["messages", _, "reactions", _, _]
            | ["messages", "pins", _]
            | ["typing"]
            | ["pins"]
            | ["pins", _]
    );
    if !known {
        return None;
    }
    Some(parse_route(method, channel, tail))
}

fn parse_route(method: Method, channel: &str, tail: &[&str]) -> Result<MessageRoute, Refusal> {
    let channel = ChannelId(parse_snowflake("channel_id", channel).map_err(snowflake_error)?);
    let message_id = |text: &str| {
        parse_snowflake("message_id", text)
            .map(MessageId)
            .map_err(snowflake_error)
    };
    match (method, tail) {
        (Method::Post, ["messages"]) => Ok(MessageRoute::Create(channel)),
        (Method::Get, ["messages"]) => Ok(MessageRoute::List(channel)),
        (_, ["messages"]) => Err(Refusal::MethodNotAllowed),
        (Method::Get, ["messages", "pins"]) => Ok(MessageRoute::ListPins {
            channel,
            legacy: false,
        }),
        (Method::Get, ["pins"]) => Ok(MessageRoute::ListPins {
            channel,
            legacy: true,
        }),
        (Method::Put, ["messages", "pins", message] | ["pins", message]) => {
            Ok(MessageRoute::Pin(channel, message_id(message)?))
        }
        (Method::Delete, ["messages", "pins", message] | ["pins", message]) => {
            Ok(MessageRoute::Unpin(channel, message_id(message)?))
        }
        (_, ["messages", "pins", ..] | ["pins", ..]) => Err(Refusal::MethodNotAllowed),
        (Method::Post, ["messages", "bulk-delete"]) => Ok(MessageRoute::BulkDelete(channel)),
        (_, ["messages", "bulk-delete"]) => Err(Refusal::MethodNotAllowed),
        (Method::Post, ["typing"]) => Ok(MessageRoute::Typing(channel)),
        (_, ["typing"]) => Err(Refusal::MethodNotAllowed),
        (_, ["messages", message]) => {
            let message = message_id(message)?;
            match method {
                Method::Get => Ok(MessageRoute::Get(channel, message)),
                Method::Patch => Ok(MessageRoute::Edit(channel, message)),
                Method::Delete => Ok(MessageRoute::Delete(channel, message)),
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        (_, ["messages", message, "reactions", rest @ ..]) => {
            let message = message_id(message)?;
            match (method, rest) {
                (Method::Delete, []) => Ok(MessageRoute::RemoveAllReactions(channel, message)),
                (Method::Get, [emoji]) => Ok(MessageRoute::ListReactions(
                    channel,
                    message,
                    parse_emoji(emoji)?,
                )),
                (Method::Delete, [emoji]) => Ok(MessageRoute::RemoveEmojiReactions(
                    channel,
                    message,
                    parse_emoji(emoji)?,
                )),
                (Method::Put, [emoji, "@me"]) => Ok(MessageRoute::AddReaction(
                    channel,
                    message,
                    parse_emoji(emoji)?,
                )),
                (Method::Delete, [emoji, user]) => {
                    let emoji = parse_emoji(emoji)?;
                    let user = if *user == "@me" {
                        None
                    } else {
                        Some(UserId(
                            parse_snowflake("user_id", user).map_err(snowflake_error)?,
                        ))
                    };
                    Ok(MessageRoute::RemoveReaction(channel, message, emoji, user))
                }
                _ => Err(Refusal::MethodNotAllowed),
            }
        }
        _ => Err(Refusal::NotFound),
    }
}

/// Longest emoji path segment Flux accepts, in bytes once decoded.
const EMOJI_BYTES_MAX: usize = 64;

/// A reaction's `{emoji}` path segment (CLIENTS.md §1.4): a percent-encoded Unicode
/// emoji (`%F0%9F%91%8D`), or a custom emoji as `name:id` (`name%3Aid`; an `a:` prefix
/// for an animated one is accepted and dropped, as the id names the emoji). Anything
/// else is 10014 Unknown Emoji.
///
/// Flux has no emoji table, so a "Unicode emoji" is any short text with at least one
/// non-ASCII character and no whitespace or control characters; a custom emoji's name
/// is 2–32 of `[A-Za-z0-9_]`.
///
/// ```
/// use engine::rest::messages::parse_emoji;
/// assert_eq!(parse_emoji("%F0%9F%91%8D").unwrap().name, "👍");
/// assert_eq!(parse_emoji("flux%3A42").unwrap().id, Some(42));
/// assert!(parse_emoji("thumbsup").is_err());
/// ```
pub fn parse_emoji(segment: &str) -> Result<Emoji, Refusal> {
    let decoded = percent_decode(segment).ok_or(Refusal::UnknownEmoji)?;
    if decoded.is_empty() || decoded.len() > EMOJI_BYTES_MAX {
        return Err(Refusal::UnknownEmoji);
    }
    if let Some((name, id)) = decoded.rsplit_once(':') {
        let name = name.strip_prefix("a:").unwrap_or(name);
        let name_ok = (2..=32).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let id = parse_snowflake("emoji_id", id).map_err(|_| Refusal::UnknownEmoji)?;
        if !name_ok {
            return Err(Refusal::UnknownEmoji);
        }
        return Ok(Emoji {
            id: Some(id),
            name: name.to_string(),
            animated: false,
        });
    }
    let unicode_ok = !decoded.is_ascii()
        && !decoded
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':');
    if !unicode_ok {
        return Err(Refusal::UnknownEmoji);
    }
    Ok(Emoji {
        id: None,
        name: decoded,
        animated: false,
    })
}

/// `%XX` decoding of a path segment; `None` for a bad escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn snowflake_error(error: RouteError) -> Refusal {
    match error {
        RouteError::InvalidSnowflake { field, value } => Refusal::InvalidFormBody {
            field,
            code: "NUMBER_TYPE_COERCE",
            message: format!("Value \"{value}\" is not snowflake."),
        },
        RouteError::NotFound => Refusal::NotFound,
        RouteError::MethodNotAllowed => Refusal::MethodNotAllowed,
    }
}

/// A valid `POST /channels/{id}/messages` body.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateMessage {
    /// The text (may be empty when there are embeds).
    pub content: String,
    /// The sender's nonce.
    pub nonce: Option<Nonce>,
    /// Whether a repeated nonce returns the first message instead of a new one.
    pub enforce_nonce: bool,
    /// Text-to-speech.
    pub tts: bool,
    /// Embeds, passed through.
    pub embeds: Vec<Value>,
}

/// A valid `PATCH /channels/{id}/messages/{id}` body: each field present replaces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EditMessage {
    /// New content, if sent (`null` clears it).
    pub content: Option<String>,
    /// New embeds, if sent (`null` clears them).
    pub embeds: Option<Vec<Value>>,
}

fn form_error(field: &'static str, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::InvalidFormBody {
        field,
        code,
        message: message.into(),
    }
}

fn parse_content(value: &Value) -> Result<String, Refusal> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(text) => {
            if text.chars().count() > CONTENT_CHARS_MAX {
                Err(form_error(
                    "content",
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {CONTENT_CHARS_MAX} or fewer in length."),
                ))
            } else {
                Ok(text.clone())
            }
        }
        _ => Err(form_error(
            "content",
            "BASE_TYPE_STRING",
            "Could not interpret the value as string.",
        )),
    }
}

fn parse_embeds(value: &Value) -> Result<Vec<Value>, Refusal> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) if items.len() > EMBEDS_MAX => Err(form_error(
            "embeds",
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {EMBEDS_MAX} or fewer in length."),
        )),
        Value::Array(items) if items.iter().all(Value::is_object) => {
            super::embeds::check_embeds(items)?;
            Ok(items.clone())
        }
        _ => Err(form_error(
            "embeds",
            "BASE_TYPE_LIST",
            "Could not interpret the value as a list of objects.",
        )),
    }
}

fn parse_nonce(value: &Value) -> Result<Option<Nonce>, Refusal> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.chars().count() <= NONCE_CHARS_MAX => {
            Ok(Some(Nonce::Text(text.clone())))
        }
        Value::Number(number) => number
            .as_i64()
            .map(|n| Some(Nonce::Integer(n)))
            .ok_or_else(|| form_error("nonce", "NUMBER_TYPE_COERCE", "Invalid nonce.")),
        _ => Err(form_error(
            "nonce",
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {NONCE_CHARS_MAX} or fewer in length."),
        )),
    }
}

/// Parses and validates a create body (JSON, or multipart's `payload_json`).
pub fn parse_create(body: &[u8]) -> Result<CreateMessage, Refusal> {
    parse_create_with_files(body, 0)
}

/// Like `parse_create`, for a body that came with `files` uploaded files: a message with
/// files needs no content or embeds.
pub fn parse_create_with_files(body: &[u8], files: usize) -> Result<CreateMessage, Refusal> {
    let object = parse_object(body)?;
    let null = Value::Null;
    let field = |name: &str| object.get(name).unwrap_or(&null);
    let content = parse_content(field("content"))?;
    let embeds = parse_embeds(field("embeds"))?;
    let nonce = parse_nonce(field("nonce"))?;
    let enforce_nonce = field("enforce_nonce").as_bool().unwrap_or(false);
    let tts = field("tts").as_bool().unwrap_or(false);
    if content.is_empty() && embeds.is_empty() && files == 0 {
        return Err(Refusal::EmptyMessage);
    }
    Ok(CreateMessage {
        content,
        nonce,
        enforce_nonce,
        tts,
        embeds,
    })
}

/// Parses and validates an edit body.
pub fn parse_edit(body: &[u8]) -> Result<EditMessage, Refusal> {
    let object = parse_object(body)?;
    Ok(EditMessage {
        content: object.get("content").map(parse_content).transpose()?,
        embeds: object.get("embeds").map(parse_embeds).transpose()?,
    })
}

pub use crate::world::message::{parse_mentions, Mentions};

/// Parses the history query string (`limit`, `before`, `after`, `around`; others are
/// ignored, as Discord does).
pub fn parse_history_query(query: &str) -> Result<HistoryQuery, Refusal> {
    let mut parsed = HistoryQuery::default();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let id = |field: &'static str| -> Result<MessageId, Refusal> {
            if value == "0" {
                return Ok(MessageId(0));
            }
            parse_snowflake(field, value)
                .map(MessageId)
                .map_err(snowflake_error)
        };
        match key {
            "limit" => {
                parsed.limit = Some(value.parse::<i64>().map_err(|_| {
                    form_error(
                        "limit",
                        "NUMBER_TYPE_COERCE",
                        format!("Value \"{}\" is not int.", truncate(value)),
                    )
                })?)
            }
            "before" => parsed.before = Some(id("before")?),
            "after" => parsed.after = Some(id("after")?),
            "around" => parsed.around = Some(id("around")?),
            _ => {}
        }
    }
    Ok(parsed)
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

/// The typed request of every message route but `Create` (whose body may carry files,
/// parsed on the owner core with them): the path, query and body checked here.
pub fn message_request(
    route: &MessageRoute,
    query: &str,
    body: &[u8],
    now_unix_ms: u64,
) -> Result<crate::world::message_ops::MessageRequest, Refusal> {
    use crate::world::message_ops::{MessageEdit, MessageRequest};
    Ok(match route.clone() {
        MessageRoute::Create(_) => {
            debug_assert!(false, "a create is parsed with its files");
            return Err(Refusal::NotFound);
        }
        MessageRoute::List(_) => MessageRequest::List(parse_history_query(query)?),
        MessageRoute::Get(_, id) => MessageRequest::Get(id),
        MessageRoute::Edit(_, id) => {
            let edit = parse_edit(body)?;
            MessageRequest::Edit(
                id,
                MessageEdit {
                    content: edit.content,
                    embeds: edit.embeds,
                },
            )
        }
        MessageRoute::Delete(_, id) => MessageRequest::Delete(id),
        MessageRoute::AddReaction(_, id, emoji) => MessageRequest::AddReaction(id, emoji),
        MessageRoute::RemoveReaction(_, id, emoji, user) => {
            MessageRequest::RemoveReaction(id, emoji, user)
        }
        MessageRoute::ListReactions(_, message_id, emoji) => {
            let (limit, after) = parse_reaction_query(query)?;
            MessageRequest::ListReactions {
                message_id,
                emoji,
                limit,
                after,
            }
        }
        MessageRoute::RemoveEmojiReactions(_, id, emoji) => {
            MessageRequest::RemoveEmojiReactions(id, emoji)
        }
        MessageRoute::RemoveAllReactions(_, id) => MessageRequest::RemoveAllReactions(id),
        MessageRoute::Typing(_) => MessageRequest::Typing,
        MessageRoute::ListPins { .. } => MessageRequest::ListPins,
        MessageRoute::Pin(_, id) => MessageRequest::Pin(id),
        MessageRoute::Unpin(_, id) => MessageRequest::Unpin(id),
        MessageRoute::BulkDelete(_) => {
            MessageRequest::BulkDelete(super::bulk_delete::parse_bulk_delete(body, now_unix_ms)?)
        }
    })
}

/// `GET …/reactions/{emoji}`'s query: `limit` 1–100 (default 25) and `after` (a user id).
fn parse_reaction_query(query: &str) -> Result<(usize, u64), Refusal> {
    let mut limit = 25;
    let mut after = 0;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| Refusal::InvalidFormBody {
                        field: "limit",
                        code: "NUMBER_TYPE_MAX",
                        message: "Must be between 1 and 100.".into(),
                    })?;
            }
            "after" => {
                after = value.parse::<u64>().map_err(|_| Refusal::InvalidFormBody {
                    field: "after",
                    code: "NUMBER_TYPE_COERCE",
                    message: format!("Value \"{value}\" is not snowflake."),
                })?;
            }
            _ => {}
        }
    }
    Ok((limit, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn routes() {
        let c = ChannelId(5);
        let m = MessageId(7);
        let thumbs = Emoji {
            id: None,
            name: "👍".into(),
            animated: false,
        };
        let custom = Emoji {
            id: Some(42),
            name: "flux".into(),
            animated: false,
        };
        let table = [
            (
                Method::Post,
                "/api/v10/channels/5/messages",
                Some(Ok(MessageRoute::Create(c))),
            ),
            (
                Method::Get,
                "/api/v9/channels/5/messages/",
                Some(Ok(MessageRoute::List(c))),
            ),
            (
                Method::Get,
                "/api/channels/5/messages/7",
                Some(Ok(MessageRoute::Get(c, m))),
            ),
            (
                Method::Patch,
                "/api/v10/channels/5/messages/7",
                Some(Ok(MessageRoute::Edit(c, m))),
            ),
            (
                Method::Delete,
                "/api/v10/channels/5/messages/7",
                Some(Ok(MessageRoute::Delete(c, m))),
            ),
            (
                Method::Put,
                "/api/v10/channels/5/messages",
                Some(Err(Refusal::MethodNotAllowed)),
            ),
            (
                Method::Post,
                "/api/v10/channels/5/messages/7",
                Some(Err(Refusal::MethodNotAllowed)),
            ),
            (Method::Get, "/api/v10/channels/5", None),
            (
                Method::Get,
                "/api/v10/channels/5/messages/7/reactions",
                Some(Err(Refusal::MethodNotAllowed)),
            ),
            (
                Method::Delete,
                "/api/v10/channels/5/messages/7/reactions",
                Some(Ok(MessageRoute::RemoveAllReactions(c, m))),
            ),
            (
                Method::Put,
                "/api/v10/channels/5/messages/7/reactions/%F0%9F%91%8D/@me",
                Some(Ok(MessageRoute::AddReaction(c, m, thumbs.clone()))),
            ),
            (
                Method::Delete,
                "/api/v10/channels/5/messages/7/reactions/flux%3A42/9",
                Some(Ok(MessageRoute::RemoveReaction(
                    c,
                    m,
                    custom.clone(),
                    Some(UserId(9)),
                ))),
            ),
            (
                Method::Get,
                "/api/v10/channels/5/messages/7/reactions/flux:42",
                Some(Ok(MessageRoute::ListReactions(c, m, custom.clone()))),
            ),
            (
                Method::Put,
                "/api/v10/channels/5/messages/7/reactions/nope/@me",
                Some(Err(Refusal::UnknownEmoji)),
            ),
            (
                Method::Post,
                "/api/v10/channels/5/typing",
                Some(Ok(MessageRoute::Typing(c))),
            ),
            (
                Method::Get,
                "/api/v10/channels/5/pins",
                Some(Ok(MessageRoute::ListPins {
                    channel: c,
                    legacy: true,
                })),
            ),
            (
                Method::Get,
                "/api/v10/channels/5/messages/pins",
                Some(Ok(MessageRoute::ListPins {
                    channel: c,
                    legacy: false,
                })),
            ),
            (
                Method::Put,
                "/api/v10/channels/5/messages/pins/7",
                Some(Ok(MessageRoute::Pin(c, m))),
            ),
            (
                Method::Delete,
                "/api/v10/channels/5/pins/7",
                Some(Ok(MessageRoute::Unpin(c, m))),
            ),
            (Method::Get, "/api/v10/channels/5/invites", None),
            (Method::Get, "/channels/5/messages", None),
        ];
        for (method, path, want) in table {
            assert_eq!(message_route(method, path), want, "{method:?} {path}");
        }
        let Some(Err(Refusal::InvalidFormBody { field, .. })) =
            message_route(Method::Get, "/api/v10/channels/x/messages")
        else {
            panic!("a bad channel id is a form error");
        };
        assert_eq!(field, "channel_id");
    }

    #[test]
    fn emoji_segments() {
        assert_eq!(parse_emoji("%F0%9F%91%8D").unwrap().name, "👍");
        assert_eq!(
            parse_emoji("1%EF%B8%8F%E2%83%A3").unwrap().name,
            "1\u{fe0f}\u{20e3}"
        );
        let custom = parse_emoji("a%3Aparty_cat%3A123").unwrap();
        assert_eq!((custom.id, custom.name.as_str()), (Some(123), "party_cat"));
        for garbage in [
            "",
            "abc",
            "%ZZ",
            "%FF",
            "x%3A1",
            "name%3Anotanid",
            "%20",
            "%F0%9F%91%8D%20",
        ] {
            assert_eq!(
                parse_emoji(garbage),
                Err(Refusal::UnknownEmoji),
                "{garbage:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn emoji_parsing_never_panics(segment in ".{0,80}") {
            let _ = parse_emoji(&segment);
        }
    }

    #[test]
    fn create_bodies() {
        let ok = parse_create(br#"{"content":"hi","nonce":"12","enforce_nonce":true,"tts":false}"#)
            .unwrap();
        assert_eq!(ok.content, "hi");
        assert_eq!(ok.nonce, Some(Nonce::Text("12".into())));
        assert!(ok.enforce_nonce);
        assert_eq!(
            parse_create(br#"{"content":""}"#),
            Err(Refusal::EmptyMessage)
        );
        assert_eq!(parse_create(br#"{}"#), Err(Refusal::EmptyMessage));
        let long = format!(r#"{{"content":"{}"}}"#, "é".repeat(2001));
        let Err(Refusal::InvalidFormBody { field, code, .. }) = parse_create(long.as_bytes())
        else {
            panic!("2001 characters are too many");
        };
        assert_eq!((field, code), ("content", "BASE_TYPE_MAX_LENGTH"));
        let exact = format!(r#"{{"content":"{}"}}"#, "é".repeat(2000));
        assert!(parse_create(exact.as_bytes()).is_ok());
        assert!(parse_create(br#"{"embeds":[{"title":"t"}]}"#).is_ok());
        assert_eq!(parse_create(b"not json"), Err(Refusal::InvalidJson));
        // No body is `{}`, as on Discord: an empty message, not invalid JSON.
        assert_eq!(parse_create(b""), Err(Refusal::EmptyMessage));
        assert_eq!(parse_edit(b"").map(|edit| edit.content), Ok(None));
    }

    #[test]
    fn history_queries() {
        let query = parse_history_query("limit=100&before=42").unwrap();
        assert_eq!(query.limit, Some(100));
        assert_eq!(query.before, Some(MessageId(42)));
        assert_eq!(
            parse_history_query("after=0").unwrap().after,
            Some(MessageId(0))
        );
        assert!(parse_history_query("limit=x").is_err());
        assert!(parse_history_query("around=-1").is_err());
    }

    #[test]
    fn mentions() {
        assert_eq!(parse_mentions("plain"), Mentions::default());
        let found = parse_mentions("<@1><@!2><@1><@&3><@&3> <@ 4> <@5");
        assert_eq!(found.users, vec![1, 2]);
        assert_eq!(found.roles, vec![3]);
        assert!(!found.everyone);
        assert!(parse_mentions("hey @everyone").everyone);
        assert_eq!(parse_mentions("<@<@9>").users, vec![9]);
    }

    proptest! {
        #[test]
        fn mentions_never_panic_and_are_unique(content in ".{0,120}") {
            let found = parse_mentions(&content);
            let unique: std::collections::HashSet<_> = found.users.iter().collect();
            prop_assert_eq!(unique.len(), found.users.len());
        }

        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200), query in ".{0,80}", path in "(/[a-z0-9@]{0,6}){0,8}") {
            let _ = parse_create(&body);
            let _ = parse_edit(&body);
            let _ = parse_history_query(&query);
            let _ = message_route(Method::Get, &path);
        }
    }
}
