//! `POST /channels/{id}/messages/bulk-delete`'s body, sans-IO: which message ids to delete.
//!
//! Discord's rules (API reference, "Bulk Delete Messages"):
//! - the body is `{"messages": [snowflake, …]}` with 2 to 100 ids, else 50035 with
//!   `errors.messages._errors[0].code` `BASE_TYPE_MIN_LENGTH` / `BASE_TYPE_MAX_LENGTH`
//!   (`BASE_TYPE_REQUIRED` when the field is missing);
//! - an id may appear once (a repeat is 50035; Discord's own text is "Duplicate messages
//!   provided." — Flux sends that message with code `BASE_TYPE_DUPLICATES`);
//! - no message may be older than 14 days by its Snowflake timestamp, else 400 code 50034
//!   "You can only bulk delete messages that are under 14 days old.";
//! - ids that name no message are skipped, not an error (the owner core does that part).
//!
//! The caller supplies `now_unix_ms`: this module never reads the clock.
//!
//! Tests: unit and property tests below (any body yields ids or an error, never a panic).

use crate::rest::parse_object;
use crate::world::message::MessageId;
use crate::world::Refusal;
use serde_json::Value;

/// Fewest ids in one bulk delete.
pub const BULK_DELETE_MIN: usize = 2;
/// Most ids in one bulk delete.
pub const BULK_DELETE_MAX: usize = 100;
/// How old a message may be and still be bulk deleted (Discord: two weeks).
pub const BULK_DELETE_AGE_MAX_MS: u64 = 14 * 24 * 60 * 60 * 1000;

/// Discord's epoch (2015-01-01T00:00:00Z) in unix milliseconds: a Snowflake's top 42 bits
/// count milliseconds since then.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// The 50034 answer.
pub const TOO_OLD: Refusal = Refusal::Coded {
    code: 50034,
    message: "You can only bulk delete messages that are under 14 days old.",
};

/// Parses and validates a bulk-delete body: the ids in the order sent.
///
/// ```
/// use engine::rest::bulk_delete::parse_bulk_delete;
/// let now = 1_800_000_000_000u64;
/// let recent = (now - 1_420_070_400_000) << 22; // a Snowflake minted at `now`
/// let body = format!(r#"{{"messages": ["{}", "{}"]}}"#, recent, recent + 1);
/// assert_eq!(parse_bulk_delete(body.as_bytes(), now).unwrap().len(), 2);
/// assert!(parse_bulk_delete(br#"{"messages": ["1"]}"#, now).is_err());
/// ```
pub fn parse_bulk_delete(body: &[u8], now_unix_ms: u64) -> Result<Vec<MessageId>, Refusal> {
    let object = parse_object(body)?;
    let items = match object.get("messages") {
        None | Some(Value::Null) => {
            return Err(form_error(
                "messages",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ))
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(form_error(
                "messages",
                "BASE_TYPE_LIST",
                "Could not interpret the value as a list.",
            ))
        }
    };
    if items.len() < BULK_DELETE_MIN {
        return Err(form_error(
            "messages",
            "BASE_TYPE_MIN_LENGTH",
            "Must be 2 or more in length.",
        ));
    }
    if items.len() > BULK_DELETE_MAX {
        return Err(form_error(
            "messages",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 100 or fewer in length.",
        ));
    }
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let id = snowflake_of(item).ok_or_else(|| {
            form_error(
                "messages",
                "NUMBER_TYPE_COERCE",
                format!("Value \"{}\" is not snowflake.", short(item)),
            )
        })?;
        if ids.contains(&id) {
            return Err(form_error(
                "messages",
                "BASE_TYPE_DUPLICATES",
                "Duplicate messages provided.",
            ));
        }
        ids.push(id);
    }
    let oldest_allowed_ms = now_unix_ms.saturating_sub(BULK_DELETE_AGE_MAX_MS);
    if ids
        .iter()
        .any(|&id| snowflake_unix_ms(id) < oldest_allowed_ms)
    {
        return Err(TOO_OLD);
    }
    Ok(ids.into_iter().map(MessageId).collect())
}

/// The unix time a Snowflake was minted at.
pub fn snowflake_unix_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// A Snowflake sent as a decimal string (Discord's form) or a JSON integer; 0 is no id.
fn snowflake_of(item: &Value) -> Option<u64> {
    let id = match item {
        Value::String(text) => {
            if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse::<u64>().ok()?
        }
        Value::Number(number) => number.as_u64()?,
        _ => return None,
    };
    (id != 0).then_some(id)
}

fn short(item: &Value) -> String {
    match item {
        Value::String(text) => text.chars().take(32).collect(),
        other => other.to_string().chars().take(32).collect(),
    }
}

fn form_error(field: &'static str, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::InvalidFormBody {
        field,
        code,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: u64 = 1_800_000_000_000;

    fn id_at(unix_ms: u64, low: u64) -> u64 {
        ((unix_ms - DISCORD_EPOCH_MS) << 22) | low
    }

    fn code_of(error: &Refusal) -> (u16, serde_json::Value) {
        let body: Value = serde_json::from_slice(&error.body()).unwrap();
        (error.status(), body)
    }

    #[test]
    fn counts_outside_two_to_a_hundred_are_form_errors() {
        for (count, expected) in [
            (0, Some("BASE_TYPE_MIN_LENGTH")),
            (1, Some("BASE_TYPE_MIN_LENGTH")),
            (2, None),
            (100, None),
            (101, Some("BASE_TYPE_MAX_LENGTH")),
        ] {
            let ids: Vec<String> = (0..count).map(|n| id_at(NOW, n).to_string()).collect();
            let body = serde_json::json!({ "messages": ids }).to_string();
            let result = parse_bulk_delete(body.as_bytes(), NOW);
            match expected {
                None => assert_eq!(result.unwrap().len(), count as usize),
                Some(code) => {
                    let (status, body) = code_of(&result.unwrap_err());
                    assert_eq!(status, 400);
                    assert_eq!(body["code"], 50035);
                    assert_eq!(body["errors"]["messages"]["_errors"][0]["code"], code);
                }
            }
        }
    }

    #[test]
    fn duplicates_missing_field_and_bad_ids_are_form_errors() {
        let id = id_at(NOW, 1).to_string();
        for (body, code) in [
            (
                format!(r#"{{"messages":["{id}","{id}"]}}"#),
                "BASE_TYPE_DUPLICATES",
            ),
            ("{}".to_string(), "BASE_TYPE_REQUIRED"),
            (String::new(), "BASE_TYPE_REQUIRED"),
            (r#"{"messages":"x"}"#.to_string(), "BASE_TYPE_LIST"),
            (
                format!(r#"{{"messages":["{id}","abc"]}}"#),
                "NUMBER_TYPE_COERCE",
            ),
            (
                format!(r#"{{"messages":["{id}",-5]}}"#),
                "NUMBER_TYPE_COERCE",
            ),
        ] {
            let (status, value) = code_of(&parse_bulk_delete(body.as_bytes(), NOW).unwrap_err());
            assert_eq!(
                (status, value["code"].as_u64()),
                (400, Some(50035)),
                "{body}"
            );
            assert_eq!(
                value["errors"]["messages"]["_errors"][0]["code"], code,
                "{body}"
            );
        }
        assert_eq!(
            parse_bulk_delete(b"not json", NOW),
            Err(Refusal::InvalidJson)
        );
    }

    #[test]
    fn fourteen_days_is_the_edge() {
        let edge = NOW - BULK_DELETE_AGE_MAX_MS;
        let fresh = id_at(NOW, 0);
        let at_edge =
            serde_json::json!({ "messages": [fresh.to_string(), id_at(edge, 0).to_string()] });
        assert!(parse_bulk_delete(at_edge.to_string().as_bytes(), NOW).is_ok());
        let too_old = serde_json::json!({ "messages": [fresh, id_at(edge - 1, 0)] });
        let (status, body) =
            code_of(&parse_bulk_delete(too_old.to_string().as_bytes(), NOW).unwrap_err());
        assert_eq!((status, body["code"].as_u64()), (400, Some(50034)));
    }

    proptest! {
        #[test]
        fn any_body_gives_ids_or_an_error(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_bulk_delete(&body, NOW);
        }

        #[test]
        fn accepted_ids_are_unique_recent_and_in_order(
            offsets in proptest::collection::vec(0u64..BULK_DELETE_AGE_MAX_MS, 2..100)
        ) {
            let ids: Vec<u64> = offsets.iter().enumerate()
                .map(|(n, offset)| id_at(NOW - offset, n as u64)).collect();
            let body = serde_json::json!({ "messages": ids.iter().map(u64::to_string).collect::<Vec<_>>() });
            let parsed = parse_bulk_delete(body.to_string().as_bytes(), NOW).unwrap();
            prop_assert_eq!(parsed.iter().map(|id| id.0).collect::<Vec<_>>(), ids);
        }
    }
}
