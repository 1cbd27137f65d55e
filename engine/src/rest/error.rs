//! Discord's JSON error bodies and the HTTP status of each REST error.
//!
//! Every error is `{"message": "...", "code": N}`, plus a nested `errors` object for
//! form errors (code 50035). discord.py builds `HTTPException.code` and `.text` from these
//! two keys and picks `Forbidden`/`NotFound` from the status (CLIENTS.md §1.4).

use crate::world::encode;
use serde_json::{json, Value};

/// Why a REST request failed; each variant documents what the client sees.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestError {
    /// No or an invalid token: 401 `{"message": "401: Unauthorized", "code": 0}`.
    /// discord.py turns this into `LoginFailure` at startup.
    Unauthorized,
    /// Unknown path: 404 `{"message": "404: Not Found", "code": 0}`.
    NotFound,
    /// Known path, other method: 405 `{"message": "405: Method Not Allowed", "code": 0}`.
    MethodNotAllowed,
    /// 404 code 10002 Unknown Application (a token whose user has no application).
    UnknownApplication,
    /// 404 code 10013 Unknown User.
    UnknownUser,
    /// 404 code 10003 Unknown Channel.
    UnknownChannel,
    /// 404 code 10008 Unknown Message.
    UnknownMessage,
    /// 404 code 10004 Unknown Guild.
    UnknownGuild,
    /// 404 code 10007 Unknown Member.
    UnknownMember,
    /// 404 code 10011 Unknown Role.
    UnknownRole,
    /// 404 code 10006 Unknown Invite.
    UnknownInvite,
    /// 404 code 10026 Unknown Ban.
    UnknownBan,
    /// 403 code 40007 The user is banned from this guild.
    UserBanned,
    /// Any other Discord error: `status` with `{"message": message, "code": code}`.
    Coded {
        /// HTTP status.
        status: u16,
        /// Discord's JSON error code.
        code: u32,
        /// Discord's message for it.
        message: &'static str,
    },
    /// 429: the owner core's store refused the write for now (its memtables wait for a
    /// flush): back-pressure, not failure. Nothing was written; the body is Discord's
    /// 429 shape with a short `retry_after`, which every client library honours by
    /// waiting and sending again.
    StoreBusy,
    /// 400 code 50035 Invalid Form Body with a prebuilt nested `errors` object (for
    /// errors inside arrays or several fields at once).
    InvalidForm(Value),
    /// 400 code 10014 Unknown Emoji (a reaction path segment that is no emoji).
    UnknownEmoji,
    /// 400 code 30003 Maximum number of pins reached (250).
    MaxPins,
    /// 403 code 50001 Missing Access (the caller cannot view the channel).
    MissingAccess,
    /// 403 code 50013 Missing Permissions.
    MissingPermissions,
    /// 403 code 50005 Cannot edit a message authored by another user.
    NotAuthor,
    /// 400 code 50006 Cannot send an empty message.
    EmptyMessage,
    /// 400 code 50109: the request body is not valid JSON.
    InvalidJson,
    /// 500 code 0: the core's message store failed (the request was not applied or its
    /// durability is unknown).
    StoreFailed,
    /// 400 code 50035 Invalid Form Body, with `errors.{field}._errors[0]` saying why.
    InvalidFormBody {
        /// The parameter or body field at fault.
        field: &'static str,
        /// Discord's error code string, e.g. `NUMBER_TYPE_COERCE`.
        code: &'static str,
        /// A sentence for humans.
        message: String,
    },
}

impl RestError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            RestError::Unauthorized => 401,
            RestError::NotFound
            | RestError::UnknownApplication
            | RestError::UnknownUser
            | RestError::UnknownChannel
            | RestError::UnknownMessage
            | RestError::UnknownGuild
            | RestError::UnknownMember
            | RestError::UnknownRole
            | RestError::UnknownInvite
            | RestError::UnknownBan => 404,
            RestError::UserBanned => 403,
            RestError::Coded { status, .. } => *status,
            RestError::InvalidForm(_) => 400,
            RestError::MissingAccess | RestError::MissingPermissions | RestError::NotAuthor => 403,
            RestError::EmptyMessage
            | RestError::InvalidJson
            | RestError::UnknownEmoji
            | RestError::MaxPins => 400,
            RestError::StoreFailed => 500,
            RestError::StoreBusy => 429,
            RestError::MethodNotAllowed => 405,
            RestError::InvalidFormBody { .. } => 400,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        match self {
            RestError::Unauthorized => error_body(0, "401: Unauthorized"),
            RestError::NotFound => error_body(0, "404: Not Found"),
            RestError::MethodNotAllowed => error_body(0, "405: Method Not Allowed"),
            RestError::UnknownApplication => error_body(10002, "Unknown Application"),
            RestError::UnknownUser => error_body(10013, "Unknown User"),
            RestError::UnknownChannel => error_body(10003, "Unknown Channel"),
            RestError::UnknownMessage => error_body(10008, "Unknown Message"),
            RestError::UnknownGuild => error_body(10004, "Unknown Guild"),
            RestError::UnknownMember => error_body(10007, "Unknown Member"),
            RestError::UnknownRole => error_body(10011, "Unknown Role"),
            RestError::UnknownInvite => error_body(10006, "Unknown Invite"),
            RestError::UnknownBan => error_body(10026, "Unknown Ban"),
            RestError::UserBanned => error_body(40007, "The user is banned from this guild."),
            RestError::Coded { code, message, .. } => error_body(*code, message),
            RestError::InvalidForm(errors) => form_error_body(errors.clone()),
            RestError::UnknownEmoji => error_body(10014, "Unknown Emoji"),
            RestError::MaxPins => error_body(30003, "Maximum number of pins reached (250)"),
            RestError::MissingAccess => error_body(50001, "Missing Access"),
            RestError::MissingPermissions => error_body(50013, "Missing Permissions"),
            RestError::NotAuthor => {
                error_body(50005, "Cannot edit a message authored by another user")
            }
            RestError::EmptyMessage => error_body(50006, "Cannot send an empty message"),
            RestError::InvalidJson => error_body(50109, "The request body contains invalid JSON."),
            RestError::StoreFailed => error_body(0, "500: Internal Server Error"),
            RestError::StoreBusy => encode(&json!({
                "message": "The server is busy storing earlier writes; retry shortly.",
                "retry_after": STORE_BUSY_RETRY_AFTER_S,
                "global": false,
                "code": 0,
            })),
            RestError::InvalidFormBody {
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

impl From<lsm::Error> for RestError {
    /// A store refusal: `Stall` is back-pressure (429), anything else a failure (500).
    fn from(error: lsm::Error) -> RestError {
        match error {
            lsm::Error::Stall(_) => RestError::StoreBusy,
            _ => RestError::StoreFailed,
        }
    }
}

impl From<crate::world::message_ops::MessageError> for RestError {
    /// A message rule's refusal as Discord answers it.
    fn from(error: crate::world::message_ops::MessageError) -> RestError {
        use crate::world::history::HistoryError;
        use crate::world::message_ops::MessageError;
        match error {
            MessageError::UnknownMessage => RestError::UnknownMessage,
            MessageError::MissingAccess => RestError::MissingAccess,
            MessageError::MissingPermissions => RestError::MissingPermissions,
            MessageError::NotAuthor => RestError::NotAuthor,
            MessageError::EmptyMessage => RestError::EmptyMessage,
            MessageError::MaxPins => RestError::MaxPins,
            MessageError::UnknownAuthor => RestError::Unauthorized,
            MessageError::History(HistoryError::LimitOutOfRange { .. }) => {
                RestError::InvalidFormBody {
                    field: "limit",
                    code: "NUMBER_TYPE_MAX",
                    message: "Must be between 1 and 100.".into(),
                }
            }
            MessageError::History(HistoryError::ConflictingAnchors) => RestError::InvalidFormBody {
                field: "around",
                code: "BASE_TYPE_BAD_COMBINATION",
                message: "Only one of before, after and around may be given.".into(),
            },
            MessageError::History(_) | MessageError::StoreFailed => RestError::StoreFailed,
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
        let busy = RestError::from(lsm::Error::Stall(lsm::Stall::FlushBehind));
        assert_eq!(busy, RestError::StoreBusy);
        assert_eq!(busy.status(), 429);
        let body: Value = serde_json::from_slice(&busy.body()).unwrap();
        assert_eq!(body["retry_after"], STORE_BUSY_RETRY_AFTER_S);
        assert_eq!(body["global"], false);
        let failed = RestError::from(lsm::Error::Poisoned);
        assert_eq!(failed.status(), 500);
    }

    #[test]
    fn statuses_and_codes() {
        let table = [
            (RestError::Unauthorized, 401, 0, "401: Unauthorized"),
            (RestError::NotFound, 404, 0, "404: Not Found"),
            (
                RestError::MethodNotAllowed,
                405,
                0,
                "405: Method Not Allowed",
            ),
            (
                RestError::UnknownApplication,
                404,
                10002,
                "Unknown Application",
            ),
            (RestError::UnknownUser, 404, 10013, "Unknown User"),
            (RestError::UnknownChannel, 404, 10003, "Unknown Channel"),
            (RestError::UnknownMessage, 404, 10008, "Unknown Message"),
            (RestError::MissingAccess, 403, 50001, "Missing Access"),
            (
                RestError::MissingPermissions,
                403,
                50013,
                "Missing Permissions",
            ),
            (
                RestError::NotAuthor,
                403,
                50005,
                "Cannot edit a message authored by another user",
            ),
            (
                RestError::EmptyMessage,
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
        let error = RestError::InvalidFormBody {
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
