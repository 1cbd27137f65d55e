//! Discord's limits on a message's embeds, checked on the sender's JSON before it is
//! stored (sans-IO).
//!
//! Discord's documented limits ("Embed Limits"), counted in characters (Unicode scalar
//! values): `title` 256, `description` 4096, at most 25 `fields`, a field's `name` 256
//! and `value` 1024, `footer.text` 2048, `author.name` 256, and at most 6,000 characters
//! across all of those in all of a message's embeds. A broken limit is 50035 Invalid Form
//! Body, with Discord's error shape: the field's path (`embeds.0.fields.3.value`) and
//! `BASE_TYPE_MAX_LENGTH`, or `MAX_EMBED_SIZE_EXCEEDED` under `embeds` for the total.
//!
//! One limit is Flux's own: all embeds of a message serialise to at most
//! [`EMBEDS_JSON_BYTES_MAX`]. The text limits leave the other members (URLs, images,
//! unknown keys) unbounded, and a message's event must stay far below what a session may
//! have in flight, or every viewer would be closed as a slow consumer, resume, get the
//! same event, and be closed again, forever.

use serde_json::{json, Map, Value};

use crate::world::Refusal;

/// Longest `title`, `author.name` and field `name`.
pub const TITLE_CHARS_MAX: usize = 256;
/// Longest `description`.
pub const DESCRIPTION_CHARS_MAX: usize = 4096;
/// Most fields in one embed.
pub const FIELDS_MAX: usize = 25;
/// Longest field `value`.
pub const FIELD_VALUE_CHARS_MAX: usize = 1024;
/// Longest `footer.text`.
pub const FOOTER_CHARS_MAX: usize = 2048;
/// Most characters across every limited member of every embed of a message.
pub const TOTAL_CHARS_MAX: usize = 6000;
/// Most bytes all of a message's embeds serialise to (Flux's own bound, see above).
pub const EMBEDS_JSON_BYTES_MAX: usize = 32 * 1024;

/// Checks `embeds` (already known to be at most 10 objects) against the limits above.
pub fn check_embeds(embeds: &[Value]) -> Result<(), Refusal> {
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        let embed = embed
            .as_object()
            .expect("embeds are objects (parse_embeds)");
        let path = |rest: &str| format!("{i}.{rest}");
        total += text(embed, "title", TITLE_CHARS_MAX, &path("title"))?;
        total += text(
            embed,
            "description",
            DESCRIPTION_CHARS_MAX,
            &path("description"),
        )?;
        if let Some(footer) = embed.get("footer").and_then(Value::as_object) {
            total += text(footer, "text", FOOTER_CHARS_MAX, &path("footer.text"))?;
        }
        if let Some(author) = embed.get("author").and_then(Value::as_object) {
            total += text(author, "name", TITLE_CHARS_MAX, &path("author.name"))?;
        }
        match embed.get("fields") {
            None | Some(Value::Null) => {}
            Some(Value::Array(fields)) if fields.len() > FIELDS_MAX => {
                return Err(error(
                    &path("fields"),
                    "BASE_TYPE_MAX_LENGTH",
                    &format!("Must be {FIELDS_MAX} or fewer in length."),
                ));
            }
            Some(Value::Array(fields)) => {
                for (f, field) in fields.iter().enumerate() {
                    let field = field.as_object().ok_or_else(|| {
                        error(
                            &path(&format!("fields.{f}")),
                            "MODEL_TYPE_CONVERT",
                            "Only dictionaries may be used in a ModelType",
                        )
                    })?;
                    let at = |name: &str| path(&format!("fields.{f}.{name}"));
                    total += text(field, "name", TITLE_CHARS_MAX, &at("name"))?;
                    total += text(field, "value", FIELD_VALUE_CHARS_MAX, &at("value"))?;
                }
            }
            Some(_) => {
                return Err(error(
                    &path("fields"),
                    "BASE_TYPE_LIST",
                    "Could not interpret the value as a list.",
                ))
            }
        }
    }
    if total > TOTAL_CHARS_MAX {
        return Err(size_error(&format!(
            "Embed size exceeds maximum size of {TOTAL_CHARS_MAX}"
        )));
    }
    let bytes: usize = embeds
        .iter()
        .map(|embed| serde_json::to_vec(embed).map_or(usize::MAX, |json| json.len()))
        .fold(0, usize::saturating_add);
    if bytes > EMBEDS_JSON_BYTES_MAX {
        return Err(size_error(&format!(
            "Embeds serialise to {bytes} bytes; at most {EMBEDS_JSON_BYTES_MAX} are allowed"
        )));
    }
    Ok(())
}

/// The characters of `object[key]` if it is a string within `max`; 0 when absent or null.
fn text(object: &Map<String, Value>, key: &str, max: usize, path: &str) -> Result<usize, Refusal> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(text)) => {
            let chars = text.chars().count();
            if chars > max {
                Err(error(
                    path,
                    "BASE_TYPE_MAX_LENGTH",
                    &format!("Must be {max} or fewer in length."),
                ))
            } else {
                Ok(chars)
            }
        }
        Some(_) => Err(error(
            path,
            "BASE_TYPE_STRING",
            "Could not interpret the value as string.",
        )),
    }
}

/// 50035 with the error under `embeds.<path>` (dotted, as Discord nests it).
fn error(path: &str, code: &str, message: &str) -> Refusal {
    let mut errors = json!({ "_errors": [{ "code": code, "message": message }] });
    for segment in path.rsplit('.') {
        errors = json!({ segment: errors });
    }
    Refusal::InvalidForm(json!({ "embeds": errors }))
}

fn size_error(message: &str) -> Refusal {
    Refusal::InvalidForm(json!({
        "embeds": { "_errors": [{ "code": "MAX_EMBED_SIZE_EXCEEDED", "message": message }] }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refused(result: Result<(), Refusal>) -> Value {
        let Err(error) = result else {
            panic!("accepted")
        };
        let body: Value = serde_json::from_slice(&error.body()).unwrap();
        assert_eq!(body["code"], 50035);
        body["errors"].clone()
    }

    #[test]
    fn each_field_has_its_limit_and_the_path_names_it() {
        let ok = json!({
            "title": "t".repeat(256), "description": "d".repeat(4096),
            "footer": {"text": "f"}, "author": {"name": "a"},
            "fields": [{"name": "n", "value": "v".repeat(1024)}],
        });
        assert!(check_embeds(&[ok]).is_ok());
        let cases = [
            (json!({"title": "é".repeat(257)}), "/embeds/0/title"),
            (
                json!({"description": "d".repeat(4097)}),
                "/embeds/0/description",
            ),
            (
                json!({"footer": {"text": "f".repeat(2049)}}),
                "/embeds/0/footer/text",
            ),
            (
                json!({"author": {"name": "a".repeat(257)}}),
                "/embeds/0/author/name",
            ),
            (
                json!({"fields": [{"name": "n", "value": "v"}, {"name": "n", "value": "v".repeat(1025)}]}),
                "/embeds/0/fields/1/value",
            ),
            (
                json!({"fields": vec![json!({"name": "n", "value": "v"}); 26]}),
                "/embeds/0/fields",
            ),
        ];
        for (embed, pointer) in cases {
            let errors = refused(check_embeds(&[json!({}), embed.clone()]).map(|_| ()));
            let pointer = pointer.replacen("/0/", "/1/", 1);
            let at = errors
                .pointer(&format!("{pointer}/_errors/0/code"))
                .unwrap_or_else(|| panic!("{pointer} in {errors}"));
            assert!(at == "BASE_TYPE_MAX_LENGTH", "{embed}: {errors}");
        }
    }

    /// The reviewer's case: embeds whose text totals 8,192 characters were stored.
    #[test]
    fn the_total_across_embeds_is_6000() {
        let embed = json!({"description": "x".repeat(4096)});
        let errors = refused(check_embeds(&[embed.clone(), embed]));
        assert_eq!(
            errors["embeds"]["_errors"][0]["code"],
            "MAX_EMBED_SIZE_EXCEEDED"
        );
        let fits = [
            json!({"description": "x".repeat(4000)}),
            json!({"title": "y".repeat(200), "fields": [{"name": "n".repeat(100), "value": "v".repeat(1000)}]}),
        ];
        assert!(check_embeds(&fits).is_ok(), "5,300 characters");
    }

    #[test]
    fn unlimited_members_are_bounded_in_bytes() {
        let embed = json!({"url": "u".repeat(EMBEDS_JSON_BYTES_MAX)});
        let errors = refused(check_embeds(&[embed]));
        assert_eq!(
            errors["embeds"]["_errors"][0]["code"],
            "MAX_EMBED_SIZE_EXCEEDED"
        );
    }

    #[test]
    fn wrong_types_are_refused_not_counted() {
        let errors = refused(check_embeds(&[json!({"title": 5})]));
        assert_eq!(
            errors["embeds"]["0"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_STRING"
        );
        let errors = refused(check_embeds(&[json!({"fields": {"name": "n"}})]));
        assert_eq!(
            errors["embeds"]["0"]["fields"]["_errors"][0]["code"],
            "BASE_TYPE_LIST"
        );
    }

    proptest! {
        /// Whatever the embeds, the check never panics, and what it accepts keeps every
        /// limit: at most 6,000 limited characters and `EMBEDS_JSON_BYTES_MAX` bytes.
        #[test]
        fn accepted_embeds_keep_every_limit(
            titles in proptest::collection::vec(proptest::option::of(".{0,300}"), 1..10),
            descriptions in proptest::collection::vec(0usize..5000, 1..10),
            values in proptest::collection::vec(0usize..1100, 0..30),
        ) {
            let embeds: Vec<Value> = titles
                .iter()
                .zip(&descriptions)
                .map(|(title, &d)| {
                    let fields: Vec<Value> = values
                        .iter()
                        .map(|&v| json!({"name": "n", "value": "v".repeat(v)}))
                        .collect();
                    json!({"title": title, "description": "d".repeat(d), "fields": fields})
                })
                .collect();
            if check_embeds(&embeds).is_ok() {
                let chars: usize = embeds.iter().map(|e| {
                    let text = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
                    text(&e["title"]) + text(&e["description"])
                        + e["fields"].as_array().unwrap().iter()
                            .map(|f| text(&f["name"]) + text(&f["value"])).sum::<usize>()
                }).sum();
                prop_assert!(chars <= TOTAL_CHARS_MAX);
                prop_assert!(values.len() <= FIELDS_MAX);
                let bytes: usize = embeds.iter().map(|e| serde_json::to_vec(e).unwrap().len()).sum();
                prop_assert!(bytes <= EMBEDS_JSON_BYTES_MAX);
            }
        }
    }
}
