//! The faults of one guild, channel or thread body, collected the way Discord reports
//! them: one 50035 Invalid Form Body whose `errors` object nests by field (and array
//! index), e.g. `{"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "…"}]}}`.
//!
//! Why it lives in `world` although `rest` finds most faults: a body's faults are found
//! in two places. `rest::form_fields` reads the JSON on the receiving core and records
//! what is wrong with its shape (types, lengths, choices); the operation on the owner
//! core adds what only the guild can tell (a parent that is no category, an overwrite
//! naming an unknown role) to the same collection, and answers all of them at once, as
//! Discord does. Both record into this one type.

use serde_json::{json, Map, Value};

use crate::world::Refusal;

/// The faults found in one body, in the order they were found; `finish` nests them by
/// path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    faults: Vec<Fault>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    path: Vec<String>,
    code: String,
    message: String,
}

impl FormErrors {
    /// Records `code`/`message` at `path` (field names and array indices as strings).
    ///
    /// ```
    /// use engine::world::guild_ops::FormErrors;
    /// let mut errors = FormErrors::default();
    /// errors.add(&["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.");
    /// assert!(errors.finish().is_err());
    /// ```
    pub fn add(&mut self, path: &[&str], code: &str, message: impl Into<String>) {
        self.faults.push(Fault {
            path: path.iter().map(|key| key.to_string()).collect(),
            code: code.to_string(),
            message: message.into(),
        });
    }

    /// Records every fault of `other` after those recorded so far.
    pub fn merge(&mut self, other: FormErrors) {
        self.faults.extend(other.faults);
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// `Ok` when the body had no fault, else the 50035 error with every fault.
    pub fn finish(self) -> Result<(), Refusal> {
        if self.faults.is_empty() {
            return Ok(());
        }
        let mut errors = Map::new();
        for fault in self.faults {
            let mut node = &mut errors;
            for key in fault.path {
                let entry = node.entry(key).or_insert_with(|| Value::Object(Map::new()));
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
                list.push(json!({ "code": fault.code, "message": fault.message }));
            }
        }
        Err(Refusal::InvalidForm(Value::Object(errors)))
    }

    /// A required field that is absent.
    pub fn required(&mut self, path: &[&str]) {
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_nest_by_path_and_collect() {
        let mut errors = FormErrors::default();
        errors.add(&["name"], "A", "a");
        errors.add(&["name"], "B", "b");
        errors.required(&["permission_overwrites", "0", "id"]);
        assert!(!errors.is_empty());
        let Err(Refusal::InvalidForm(value)) = errors.finish() else {
            panic!("errors were recorded");
        };
        assert_eq!(value["name"]["_errors"][1]["code"], "B");
        assert_eq!(
            value["permission_overwrites"]["0"]["id"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
        assert!(FormErrors::default().finish().is_ok());
    }
}
