//! Reading the JSON fields of the guild, channel and thread bodies the way Discord does:
//! every field checked, every fault recorded into one `world::guild_ops::FormErrors`
//! (one 50035 Invalid Form Body nesting by field and array index).
//!
//! Why collect instead of failing on the first fault: Discord reports all of them at
//! once, and clients show each under its field. Unknown fields are ignored, as on
//! Discord. The owner core adds the faults only the guild can tell to the same
//! collection (`world::guild_ops::FormErrors` says why it is split).
//!
//! Conventions: a reader returns `None` when the field is absent *or* was invalid (the
//! fault is recorded); a nullable reader returns `Some(None)` for an explicit `null`.
//! The operation checks `FormErrors::finish` before using any value, so a body with any
//! fault changes nothing.

use serde_json::{Map, Value};

pub use crate::world::guild_ops::FormErrors;
use crate::world::permissions::Permissions;

/// The field readers: each reads one field of a body object and records its fault.
///
/// ```
/// use engine::rest::form_fields::{FieldReader, FormErrors};
/// let object = serde_json::json!({"name": "x"});
/// let mut errors = FormErrors::default();
/// assert_eq!(errors.string(object.as_object().unwrap(), "name", 2, 100, false), None);
/// assert!(errors.finish().is_err());
/// ```
pub trait FieldReader {
    /// Records `code`/`message` at `path`.
    fn record(&mut self, path: &[&str], code: &str, message: impl Into<String>);

    /// A string of `min..=max` characters at `key`; `Some(None)` for `null` when
    /// `nullable`.
    fn string(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        min: usize,
        max: usize,
        nullable: bool,
    ) -> Option<Option<String>> {
        match object.get(key)? {
            Value::Null if nullable => Some(None),
            Value::String(text) => {
                let chars = text.chars().count();
                if chars < min || chars > max {
                    let message = format!("Must be between {min} and {max} in length.");
                    self.record(&[key], "BASE_TYPE_BAD_LENGTH", message);
                    None
                } else {
                    Some(Some(text.clone()))
                }
            }
            _ => {
                self.record(
                    &[key],
                    "BASE_TYPE_STRING",
                    "Could not interpret the value as string.",
                );
                None
            }
        }
    }

    /// An integer in `min..=max` at `key`; `Some(None)` for `null` when `nullable`.
    fn integer(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        min: i64,
        max: i64,
        nullable: bool,
    ) -> Option<Option<i64>> {
        let value = object.get(key)?;
        if value.is_null() && nullable {
            return Some(None);
        }
        let Some(number) = value.as_i64() else {
            self.record(
                &[key],
                "NUMBER_TYPE_COERCE",
                format!("Value \"{}\" is not int.", truncated(value)),
            );
            return None;
        };
        if number < min {
            let message = format!("int value should be greater than or equal to {min}.");
            self.record(&[key], "NUMBER_TYPE_MIN", message);
            None
        } else if number > max {
            let message = format!("int value should be less than or equal to {max}.");
            self.record(&[key], "NUMBER_TYPE_MAX", message);
            None
        } else {
            Some(Some(number))
        }
    }

    /// An integer that must be one of `choices`.
    fn choice(&mut self, object: &Map<String, Value>, key: &str, choices: &[i64]) -> Option<i64> {
        let value = object.get(key)?;
        match value.as_i64() {
            Some(number) if choices.contains(&number) => Some(number),
            _ => {
                let listed: Vec<String> = choices.iter().map(|c| c.to_string()).collect();
                let message = format!("Value must be one of {{{}}}.", listed.join(", "));
                self.record(&[key], "BASE_TYPE_CHOICES", message);
                None
            }
        }
    }

    /// A boolean at `key` (`null` reads as absent, as Discord treats it).
    fn boolean(&mut self, object: &Map<String, Value>, key: &str) -> Option<bool> {
        match object.get(key)? {
            Value::Null => None,
            Value::Bool(flag) => Some(*flag),
            _ => {
                self.record(&[key], "BASE_TYPE_BOOLEAN", "Must be either true or false.");
                None
            }
        }
    }

    /// A snowflake (string or integer) at `path`; `Some(None)` for `null`.
    fn snowflake(&mut self, value: &Value, path: &[&str]) -> Option<Option<u64>> {
        let parsed = match value {
            Value::Null => return Some(None),
            Value::String(text) => snowflake::Snowflake::parse_ascii(text.as_bytes())
                .ok()
                .map(|id| id.get()),
            Value::Number(number) => number.as_u64(),
            _ => None,
        };
        if parsed.is_none() {
            let message = format!("Value \"{}\" is not snowflake.", truncated(value));
            self.record(path, "NUMBER_TYPE_COERCE", message);
            return None;
        }
        Some(parsed)
    }

    /// A permission set (decimal string or integer) at `path`; absent or `null` is none.
    fn permissions(&mut self, value: Option<&Value>, path: &[&str]) -> Permissions {
        match value {
            None | Some(Value::Null) => Permissions::NONE,
            Some(value) => match serde_json::from_value::<Permissions>(value.clone()) {
                Ok(permissions) => permissions,
                Err(_) => {
                    let message = format!("Value \"{}\" is not int.", truncated(value));
                    self.record(path, "NUMBER_TYPE_COERCE", message);
                    Permissions::NONE
                }
            },
        }
    }
}

impl FieldReader for FormErrors {
    fn record(&mut self, path: &[&str], code: &str, message: impl Into<String>) {
        self.add(path, code, message);
    }
}

/// A value as text for an error message, cut to 64 characters.
fn truncated(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::parse_object;
    use crate::world::Refusal;

    #[test]
    fn errors_nest_by_path_and_collect() {
        let mut errors = FormErrors::default();
        let object = parse_object(br#"{"name": "x", "position": "high", "nsfw": 3}"#).unwrap();
        assert_eq!(errors.string(&object, "name", 2, 100, false), None);
        assert_eq!(errors.integer(&object, "position", 0, 10, true), None);
        assert_eq!(errors.boolean(&object, "nsfw"), None);
        errors.add(&["permission_overwrites", "0", "id"], "X", "y");
        let Err(Refusal::InvalidForm(value)) = errors.finish() else {
            panic!("errors were recorded");
        };
        assert_eq!(value["name"]["_errors"][0]["code"], "BASE_TYPE_BAD_LENGTH");
        assert_eq!(
            value["position"]["_errors"][0]["code"],
            "NUMBER_TYPE_COERCE"
        );
        assert_eq!(value["nsfw"]["_errors"][0]["code"], "BASE_TYPE_BOOLEAN");
        assert_eq!(
            value["permission_overwrites"]["0"]["id"]["_errors"][0]["code"],
            "X"
        );
    }

    #[test]
    fn readers_accept_valid_values() {
        let mut errors = FormErrors::default();
        let object =
            parse_object(br#"{"a": "abc", "b": null, "c": 5, "d": true, "e": "42", "f": "8"}"#)
                .unwrap();
        assert_eq!(
            errors.string(&object, "a", 1, 3, false),
            Some(Some("abc".into()))
        );
        assert_eq!(errors.string(&object, "b", 1, 3, true), Some(None));
        assert_eq!(errors.integer(&object, "c", 0, 5, false), Some(Some(5)));
        assert_eq!(errors.choice(&object, "c", &[1, 5]), Some(5));
        assert_eq!(errors.boolean(&object, "d"), Some(true));
        assert_eq!(errors.snowflake(&object["e"], &["e"]), Some(Some(42)));
        assert_eq!(
            errors.permissions(object.get("f"), &["f"]),
            Permissions::ADMINISTRATOR
        );
        assert_eq!(errors.string(&object, "missing", 0, 1, true), None);
        assert!(errors.is_empty());
        assert!(errors.finish().is_ok());
    }
}
