//! A request body as a JSON object, read the way Discord reads one. Every route with a
//! JSON body starts here: accounts (`auth.rs`), messages (`messages.rs`,
//! `bulk_delete.rs`), DMs (`app::dms`), and the guild, channel, member, role, ban and
//! invite bodies (`guild_bodies.rs`, `channel_bodies.rs`, `member_bodies.rs`,
//! `role_bodies.rs`, `invite_bodies.rs`).
//!
//! Discord's rules:
//! - No body, or only whitespace, counts as `{}`. Clients send none where every field is
//!   optional (discord.py's `PUT /guilds/{g}/bans/{u}`, whose option travels in the query
//!   string, and `POST /invites/{code}`), and Discord answers a missing body the way it
//!   answers `{}`: `POST /channels/{id}/messages` without one is 50006 Cannot send an
//!   empty message, not 50109, and a route with required fields names each one
//!   `BASE_TYPE_REQUIRED`.
//! - Bytes that are not JSON are 50109 The request body contains invalid JSON.
//! - JSON that is not an object is 50035 with
//!   `errors._errors[0].code = "DICT_TYPE_CONVERT"`.
//!
//! Elsewhere: each route's parser checks the fields; this file only decides whether the
//! body is an object. Bodies that are JSON arrays (channel and role positions) are read by
//! their own routes.

use serde_json::{json, Map, Value};

use crate::world::Refusal;

/// The body as a JSON object; an empty (or all-whitespace) body is `{}`.
///
/// ```
/// use engine::rest::parse_object;
/// use engine::world::Refusal;
/// assert_eq!(parse_object(br#"{"nick": null}"#).unwrap()["nick"], serde_json::Value::Null);
/// assert!(parse_object(b"").unwrap().is_empty());
/// assert_eq!(parse_object(b"{"), Err(Refusal::InvalidJson));
/// assert!(matches!(parse_object(b"[1]"), Err(Refusal::InvalidForm(_))));
/// ```
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Refusal::InvalidForm(json!({ "_errors": [{
            "code": "DICT_TYPE_CONVERT",
            "message": "Only dictionaries may be used in a DictType",
        }] }))),
        Err(_) => Err(Refusal::InvalidJson),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_blank_body_is_an_empty_object() {
        for body in [&b""[..], b" ", b"\r\n", b" \t\r\n "] {
            assert_eq!(parse_object(body), Ok(Map::new()), "{body:?}");
        }
    }

    #[test]
    fn objects_pass_and_everything_else_is_discords_error() {
        let object = parse_object(br#" {"a": 1, "b": [null]} "#).unwrap();
        assert_eq!(Value::Object(object), json!({"a": 1, "b": [null]}));
        for body in [&b"{"[..], b"not json", b"{} {}", b"\xff"] {
            assert_eq!(parse_object(body), Err(Refusal::InvalidJson), "{body:?}");
        }
        for body in [&b"[1]"[..], b"null", b"\"text\"", b"7", b"true"] {
            let error = parse_object(body).unwrap_err();
            let wire: Value = serde_json::from_slice(&error.body()).unwrap();
            assert_eq!((error.status(), wire["code"].as_u64()), (400, Some(50035)));
            assert_eq!(
                wire["errors"],
                json!({"_errors": [{
                    "code": "DICT_TYPE_CONVERT",
                    "message": "Only dictionaries may be used in a DictType",
                }]}),
                "{body:?}"
            );
        }
    }
}
