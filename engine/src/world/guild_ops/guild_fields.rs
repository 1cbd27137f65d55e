//! Reading JSON bodies of the guild, channel and thread routes the way Discord does:
//! every field checked, every fault collected into one 50035 Invalid Form Body whose
//! `errors` object nests by field (and array index), e.g.
//! `{"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "…"}]}}`.
//!
//! Why collect instead of failing on the first fault: Discord reports all of them at
//! once, and clients show each under its field. Unknown fields are ignored, as on
//! Discord.
//!
//! Conventions: a reader returns `None` when the field is absent *or* was invalid (the
//! fault is recorded in [`FormErrors`]); a nullable reader returns `Some(None)` for an
//! explicit `null`. Callers check `FormErrors::finish` before using any value, so a
//! body with any fault changes nothing.

use serde_json::{json, Map, Value};

use crate::world::permissions::Permissions;
use crate::world::Refusal;

/// The faults found in one body, nested by path.
#[derive(Debug, Default)]
pub(super) struct FormErrors {
    errors: Map<String, Value>,
}

impl FormErrors {
    /// Records `code`/`message` at `path` (field names and array indices as strings).
    pub(super) fn add(&mut self, path: &[&str], code: &str, message: impl Into<String>) {
        let mut node = &mut self.errors;
        for key in path {
            let entry = node
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(next) = entry else {
                unreachable!("made an object just above");
            };
            node = next;
        }
        let list = node
            .entry("_errors")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.push(error(code, &message.into()));
        }
    }

    /// Whether nothing was recorded.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok` when the body had no fault, else the 50035 error with every fault.
    pub(super) fn finish(self) -> Result<(), Refusal> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Refusal::InvalidForm(Value::Object(self.errors)))
        }
    }

    /// A required field that is absent.
    pub(super) fn required(&mut self, path: &[&str]) {
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required");
    }

    /// A string of `min..=max` characters at `key`; `Some(None)` for `null` when
    /// `nullable`.
    pub(super) fn string(
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
                    self.add(&[key], "BASE_TYPE_BAD_LENGTH", message);
                    None
                } else {
                    Some(Some(text.clone()))
                }
            }
            _ => {
                self.add(
                    &[key],
                    "BASE_TYPE_STRING",
                    "Could not interpret the value as string.",
                );
                None
            }
        }
    }

    /// An integer in `min..=max` at `key`; `Some(None)` for `null` when `nullable`.
    pub(super) fn integer(
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
            self.add(
                &[key],
                "NUMBER_TYPE_COERCE",
                format!("Value \"{}\" is not int.", truncated(value)),
            );
            return None;
        };
        if number < min {
            let message = format!("int value should be greater than or equal to {min}.");
            self.add(&[key], "NUMBER_TYPE_MIN", message);
            None
        } else if number > max {
            let message = format!("int value should be less than or equal to {max}.");
            self.add(&[key], "NUMBER_TYPE_MAX", message);
            None
        } else {
            Some(Some(number))
        }
    }

    /// An integer that must be one of `choices`.
    pub(super) fn choice(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        choices: &[i64],
    ) -> Option<i64> {
        let value = object.get(key)?;
        match value.as_i64() {
            Some(number) if choices.contains(&number) => Some(number),
            _ => {
                let listed: Vec<String> = choices.iter().map(|c| c.to_string()).collect();
                let message = format!("Value must be one of {{{}}}.", listed.join(", "));
                self.add(&[key], "BASE_TYPE_CHOICES", message);
                None
            }
        }
    }

    /// A boolean at `key` (`null` reads as absent, as Discord treats it).
    pub(super) fn boolean(&mut self, object: &Map<String, Value>, key: &str) -> Option<bool> {
        match object.get(key)? {
            Value::Null => None,
            Value::Bool(flag) => Some(*flag),
            _ => {
                self.add(&[key], "BASE_TYPE_BOOLEAN", "Must be either true or false.");
                None
            }
        }
    }

    /// A snowflake (string or integer) at `path`; `Some(None)` for `null`.
    pub(super) fn snowflake(&mut self, value: &Value, path: &[&str]) -> Option<Option<u64>> {
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
            self.add(path, "NUMBER_TYPE_COERCE", message);
            return None;
        }
        Some(parsed)
    }

    /// A permission set (decimal string or integer) at `path`; absent or `null` is none.
    pub(super) fn permissions(&mut self, value: Option<&Value>, path: &[&str]) -> Permissions {
        match value {
            None | Some(Value::Null) => Permissions::NONE,
            Some(value) => match serde_json::from_value::<Permissions>(value.clone()) {
                Ok(permissions) => permissions,
                Err(_) => {
                    let message = format!("Value \"{}\" is not int.", truncated(value));
                    self.add(path, "NUMBER_TYPE_COERCE", message);
                    Permissions::NONE
                }
            },
        }
    }
}

fn error(code: &str, message: &str) -> Value {
    json!({ "code": code, "message": message })
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
    use crate::world::parse_object;

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
