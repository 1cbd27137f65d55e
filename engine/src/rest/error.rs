//! Discord's JSON error bodies and the HTTP status of each refusal (`world::Refusal`).
//!
//! Every error is `{"message": "...", "code": N}`, plus a nested `errors` object for
//! form errors (code 50035). discord.py builds `HTTPException.code` and `.text` from these
//! two keys and picks `Forbidden`/`NotFound` from the status (CLIENTS.md §1.4).

use crate::world::{encode, Refusal};
use serde_json::{json, Value};

impl Refusal {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Unauthorized => 401,
            Refusal::NotFound
            | Refusal::UnknownApplication
            | Refusal::UnknownUser
            | Refusal::UnknownChannel
            | Refusal::UnknownMessage
            | Refusal::UnknownGuild
            | Refusal::UnknownMember
            | Refusal::UnknownRole
            | Refusal::UnknownInvite
            | Refusal::UnknownBan => 404,
            Refusal::UserBanned => 403,
            Refusal::Coded { .. } => 400,
            Refusal::InvalidForm(_) => 400,
            Refusal::MissingAccess
            | Refusal::MissingPermissions
            | Refusal::NotAuthor
            | Refusal::CannotMessageUser => 403,
            Refusal::EmptyMessage
            | Refusal::InvalidJson
            | Refusal::UnknownEmoji
            | Refusal::MaxPins
            | Refusal::MaxReactions => 400,
            Refusal::StoreFailed => 500,
            Refusal::StoreBusy => 429,
            Refusal::MethodNotAllowed => 405,
            Refusal::InvalidFormBody { .. } => 400,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        match self {
            Refusal::Unauthorized => error_body(0, "401: Unauthorized"),
            Refusal::NotFound => error_body(0, "404: Not Found"),
            Refusal::MethodNotAllowed => error_body(0, "405: Method Not Allowed"),
            Refusal::UnknownApplication => error_body(10002, "Unknown Application"),
            Refusal::UnknownUser => error_body(10013, "Unknown User"),
            Refusal::UnknownChannel => error_body(10003, "Unknown Channel"),
            Refusal::UnknownMessage => error_body(10008, "Unknown Message"),
            Refusal::UnknownGuild => error_body(10004, "Unknown Guild"),
            Refusal::UnknownMember => error_body(10007, "Unknown Member"),
            Refusal::UnknownRole => error_body(10011, "Unknown Role"),
            Refusal::UnknownInvite => error_body(10006, "Unknown Invite"),
            Refusal::UnknownBan => error_body(10026, "Unknown Ban"),
            Refusal::UserBanned => error_body(40007, "The user is banned from this guild."),
            Refusal::Coded { code, message, .. } => error_body(*code, message),
            Refusal::InvalidForm(errors) => form_error_body(errors.clone()),
            Refusal::UnknownEmoji => error_body(10014, "Unknown Emoji"),
            Refusal::MaxPins => error_body(30003, "Maximum number of pins reached (250)"),
            Refusal::MaxReactions => error_body(30010, "Maximum number of reactions reached (20)"),
            Refusal::MissingAccess => error_body(50001, "Missing Access"),
            Refusal::CannotMessageUser => error_body(50007, "Cannot send messages to this user"),
            Refusal::MissingPermissions => error_body(50013, "Missing Permissions"),
            Refusal::NotAuthor => {
                error_body(50005, "Cannot edit a message authored by another user")
            }
            Refusal::EmptyMessage => error_body(50006, "Cannot send an empty message"),
            Refusal::InvalidJson => error_body(50109, "The request body contains invalid JSON."),
            Refusal::StoreFailed => error_body(0, "500: Internal Server Error"),
            Refusal::StoreBusy => encode(&json!({
                "message": "The server is busy storing earlier writes; retry shortly.",
                "retry_after": STORE_BUSY_RETRY_AFTER_S,
                "global": false,
                "code": 0,
            })),
            Refusal::InvalidFormBody {
                field,
                code,
                message,
            } => {
                let errors =
                    json!({ *field: { "_errors": [{ "code": code, "message": message }] } });
                form_error_body(errors)
            }
        }
    }
}

/// Seconds a client is asked to wait after `StoreBusy`.
pub const STORE_BUSY_RETRY_AFTER_S: f64 = 0.1;

impl From<lsm::Error> for Refusal {
    /// A store refusal: `Stall` is back-pressure (429), anything else a failure (500).
    fn from(error: lsm::Error) -> Refusal {
        match error {
            lsm::Error::Stall(_) => Refusal::StoreBusy,
            _ => Refusal::StoreFailed,
        }
    }
}

impl From<crate::world::message_ops::MessageError> for Refusal {
    /// A message rule's refusal as Discord answers it.
    fn from(error: crate::world::message_ops::MessageError) -> Refusal {
        use crate::world::history::HistoryError;
        use crate::world::message_ops::MessageError;
        match error {
            MessageError::UnknownMessage => Refusal::UnknownMessage,
            MessageError::MissingAccess => Refusal::MissingAccess,
            MessageError::CannotMessageUser => Refusal::CannotMessageUser,
            MessageError::MissingPermissions => Refusal::MissingPermissions,
            MessageError::NotAuthor => Refusal::NotAuthor,
            MessageError::EmptyMessage => Refusal::EmptyMessage,
            MessageError::MaxPins => Refusal::MaxPins,
            MessageError::MaxReactions => Refusal::MaxReactions,
            MessageError::UnknownAuthor => Refusal::Unauthorized,
            MessageError::History(HistoryError::LimitOutOfRange { .. }) => {
                Refusal::InvalidFormBody {
                    field: "limit",
                    code: "NUMBER_TYPE_MAX",
                    message: "Must be between 1 and 100.".into(),
                }
            }
            MessageError::History(HistoryError::ConflictingAnchors) => Refusal::InvalidFormBody {
                field: "around",
                code: "BASE_TYPE_BAD_COMBINATION",
                message: "Only one of before, after and around may be given.".into(),
            },
            MessageError::History(_) | MessageError::StoreFailed => Refusal::StoreFailed,
        }
    }
}

/// `{"message": message, "code": code}` as bytes.
///
/// ```
/// use engine::rest::error_body;
/// let body: serde_json::Value = serde_json::from_slice(&error_body(10008, "Unknown Message")).unwrap();
/// assert_eq!(body, serde_json::json!({"message": "Unknown Message", "code": 10008}));
/// ```
pub fn error_body(code: u32, message: &str) -> Vec<u8> {
    encode(&json!({ "message": message, "code": code }))
}

/// Discord's 50035 Invalid Form Body with a nested `errors` object.
pub fn form_error_body(errors: Value) -> Vec<u8> {
    encode(&json!({ "message": "Invalid Form Body", "code": 50035, "errors": errors }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_stall_is_back_pressure_and_anything_else_a_failure() {
        let busy = Refusal::from(lsm::Error::Stall(lsm::Stall::FlushBehind));
        assert_eq!(busy, Refusal::StoreBusy);
        assert_eq!(busy.status(), 429);
        let body: Value = serde_json::from_slice(&busy.body()).unwrap();
        assert_eq!(body["retry_after"], STORE_BUSY_RETRY_AFTER_S);
        assert_eq!(body["global"], false);
        let failed = Refusal::from(lsm::Error::Poisoned);
        assert_eq!(failed.status(), 500);
    }

    #[test]
    fn statuses_and_codes() {
        let table = [
            (Refusal::Unauthorized, 401, 0, "401: Unauthorized"),
            (Refusal::NotFound, 404, 0, "404: Not Found"),
            (Refusal::MethodNotAllowed, 405, 0, "405: Method Not Allowed"),
            (
                Refusal::UnknownApplication,
                404,
                10002,
                "Unknown Application",
            ),
            (Refusal::UnknownUser, 404, 10013, "Unknown User"),
            (Refusal::UnknownChannel, 404, 10003, "Unknown Channel"),
            (Refusal::UnknownMessage, 404, 10008, "Unknown Message"),
            (Refusal::MissingAccess, 403, 50001, "Missing Access"),
            (
                Refusal::MissingPermissions,
                403,
                50013,
                "Missing Permissions",
            ),
            (
                Refusal::NotAuthor,
                403,
                50005,
                "Cannot edit a message authored by another user",
            ),
            (
                Refusal::EmptyMessage,
                400,
                50006,
                "Cannot send an empty message",
            ),
        ];
        for (error, status, code, message) in table {
            assert_eq!(error.status(), status);
            let body: Value = serde_json::from_slice(&error.body()).unwrap();
            assert_eq!(body, json!({"message": message, "code": code}));
        }
    }

    #[test]
    fn form_errors_nest_under_the_field() {
        let error = Refusal::InvalidFormBody {
            field: "user_id",
            code: "NUMBER_TYPE_COERCE",
            message: "Value \"x\" is not snowflake.".into(),
        };
        assert_eq!(error.status(), 400);
        let body: Value = serde_json::from_slice(&error.body()).unwrap();
        assert_eq!(body["code"], 50035);
        assert_eq!(
            body["errors"]["user_id"]["_errors"][0]["code"],
            "NUMBER_TYPE_COERCE"
        );
    }
}
