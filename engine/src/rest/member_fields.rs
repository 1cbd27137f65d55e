//! Reading the JSON bodies and query strings of the member, role, ban and invite routes
//! (`member_bodies.rs`, `role_bodies.rs`, `invite_bodies.rs`): one small function per
//! field type, each turning a bad value into Discord's 50035 Invalid Form Body naming the
//! field. These routes answer the first fault (the guild, channel and thread routes
//! collect every fault instead: `form_fields.rs`).
//!
//! Discord's conventions followed here: the body becomes an object by
//! `rest::parse_object` (an empty body counts as `{}`: clients send none for
//! `PUT …/bans/{id}` and `POST /invites/{code}`); unknown fields and query parameters are
//! ignored. A field may be absent (`None`), `null` (`Some(None)` where the field is
//! nullable) or a value.

use crate::world::permissions::Permissions;
use crate::world::Refusal;
use serde_json::{Map, Value};

/// A parsed JSON object body.
pub type Object = Map<String, Value>;

/// 50035 with `errors.{field}._errors[0] = {code, message}`.
pub fn form_error(field: &'static str, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::InvalidFormBody {
        field,
        code,
        message: message.into(),
    }
}

/// A nullable string of at most `chars_max` characters: absent, `null`, or text.
pub fn nullable_string(
    object: &Object,
    field: &'static str,
    chars_max: usize,
) -> Result<Option<Option<String>>, Refusal> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) if text.chars().count() > chars_max => Err(form_error(
            field,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {chars_max} or fewer in length."),
        )),
        Some(Value::String(text)) => Ok(Some(Some(text.clone()))),
        Some(_) => Err(form_error(
            field,
            "BASE_TYPE_STRING",
            "Could not interpret the value as string.",
        )),
    }
}

/// A boolean: absent or `null` is `None`.
pub fn optional_bool(object: &Object, field: &'static str) -> Result<Option<bool>, Refusal> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(form_error(
            field,
            "BASE_TYPE_BOOLEAN",
            "Must be either true or false.",
        )),
    }
}

/// An integer in `min..=max`: absent or `null` is `None`.
pub fn optional_integer(
    object: &Object,
    field: &'static str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, Refusal> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => match number.as_u64() {
            Some(value) if (min..=max).contains(&value) => Ok(Some(value)),
            _ => Err(out_of_range(field, min, max)),
        },
        Some(_) => Err(form_error(field, "NUMBER_TYPE_COERCE", "Value is not int.")),
    }
}

/// A permission set as Discord sends it: a decimal string (API v8+) or a number.
pub fn optional_permissions(
    object: &Object,
    field: &'static str,
) -> Result<Option<Permissions>, Refusal> {
    let invalid = || {
        form_error(
            field,
            "NUMBER_TYPE_COERCE",
            "Value is not a valid permission set.",
        )
    };
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Permissions::parse_decimal(text)
            .map(Some)
            .map_err(|_| invalid()),
        Some(Value::Number(number)) => number
            .as_u64()
            .map(|bits| Some(Permissions::from_bits_truncate(bits)))
            .ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}

/// A snowflake given as a decimal string or a number.
pub fn snowflake_value(value: &Value, field: &'static str) -> Result<u64, Refusal> {
    let parsed = match value {
        Value::String(text) => snowflake::Snowflake::parse_ascii(text.as_bytes())
            .ok()
            .map(|id| id.get()),
        Value::Number(number) => number.as_u64(),
        _ => None,
    };
    parsed.ok_or_else(|| form_error(field, "NUMBER_TYPE_COERCE", "Value is not snowflake."))
}

/// A list of snowflakes of at most `len_max` items: absent or `null` is `None`.
pub fn optional_snowflakes(
    object: &Object,
    field: &'static str,
    len_max: usize,
) -> Result<Option<Vec<u64>>, Refusal> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() > len_max => Err(form_error(
            field,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {len_max} or fewer in length."),
        )),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| snowflake_value(item, field))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(form_error(
            field,
            "BASE_TYPE_LIST",
            "Could not interpret the value as a list.",
        )),
    }
}

/// The `key=value` pairs of a query string, in order (no percent-decoding: every value
/// these routes read is a number, a snowflake or a boolean).
pub fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// A query integer in `min..=max`.
pub fn query_integer(value: &str, field: &'static str, min: u64, max: u64) -> Result<u64, Refusal> {
    let parsed: u64 = value.parse().map_err(|_| {
        form_error(
            field,
            "NUMBER_TYPE_COERCE",
            format!("Value \"{}\" is not int.", truncate(value)),
        )
    })?;
    if (min..=max).contains(&parsed) {
        Ok(parsed)
    } else {
        Err(out_of_range(field, min, max))
    }
}

/// A query snowflake (`0` allowed, as in `after=0`).
pub fn query_snowflake(value: &str, field: &'static str) -> Result<u64, Refusal> {
    if value == "0" {
        return Ok(0);
    }
    snowflake::Snowflake::parse_ascii(value.as_bytes())
        .map(|id| id.get())
        .map_err(|_| {
            form_error(
                field,
                "NUMBER_TYPE_COERCE",
                format!("Value \"{}\" is not snowflake.", truncate(value)),
            )
        })
}

/// A query boolean as Discord's clients send it (`true`/`false`, `1`/`0`).
pub fn query_bool(value: &str, field: &'static str) -> Result<bool, Refusal> {
    match value {
        "true" | "True" | "1" => Ok(true),
        "false" | "False" | "0" => Ok(false),
        _ => Err(form_error(
            field,
            "BASE_TYPE_BOOLEAN",
            "Must be either true or false.",
        )),
    }
}

fn out_of_range(field: &'static str, min: u64, max: u64) -> Refusal {
    form_error(
        field,
        "NUMBER_TYPE_MAX",
        format!("Must be between {min} and {max}."),
    )
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Object {
        match value {
            Value::Object(object) => object,
            _ => unreachable!(),
        }
    }

    #[test]
    fn bodies() {
        let body = object(json!({
            "nick": null, "name": "x", "long": "abcdef", "b": true, "n": 7,
            "p": "8", "q": 8, "bad": "-1", "ids": ["1", 2], "badids": ["x"]
        }));
        assert_eq!(nullable_string(&body, "nick", 3), Ok(Some(None)));
        assert_eq!(
            nullable_string(&body, "name", 3),
            Ok(Some(Some("x".into())))
        );
        assert_eq!(nullable_string(&body, "absent", 3), Ok(None));
        assert!(nullable_string(&body, "long", 3).is_err());
        assert!(nullable_string(&body, "n", 3).is_err());
        assert_eq!(optional_bool(&body, "b"), Ok(Some(true)));
        assert!(optional_bool(&body, "n").is_err());
        assert_eq!(optional_integer(&body, "n", 0, 10), Ok(Some(7)));
        assert!(optional_integer(&body, "n", 0, 5).is_err());
        assert_eq!(
            optional_permissions(&body, "p"),
            Ok(Some(Permissions::ADMINISTRATOR))
        );
        assert_eq!(
            optional_permissions(&body, "q"),
            Ok(Some(Permissions::ADMINISTRATOR))
        );
        assert!(optional_permissions(&body, "bad").is_err());
        assert_eq!(optional_snowflakes(&body, "ids", 5), Ok(Some(vec![1, 2])));
        assert!(optional_snowflakes(&body, "ids", 1).is_err());
        assert!(optional_snowflakes(&body, "badids", 5).is_err());
    }

    #[test]
    fn queries() {
        let pairs: Vec<_> = query_pairs("limit=5&&after=7&flag").collect();
        assert_eq!(pairs, vec![("limit", "5"), ("after", "7"), ("flag", "")]);
        assert_eq!(query_integer("5", "limit", 1, 1000), Ok(5));
        assert!(query_integer("0", "limit", 1, 1000).is_err());
        assert!(query_integer("x", "limit", 1, 1000).is_err());
        assert_eq!(query_snowflake("0", "after"), Ok(0));
        assert_eq!(query_snowflake("12", "after"), Ok(12));
        assert!(query_snowflake("-1", "after").is_err());
        assert_eq!(query_bool("true", "with_counts"), Ok(true));
        assert!(query_bool("yes", "with_counts").is_err());
    }
}
