//! The body and query of the invite routes, read into typed requests
//! (`world::guild_ops::member_forms`) on the receiving core: create
//! ([`parse_invite_form`]) and get ([`parse_invite_query`]).
//!
//! Why here: the owner core's operations (`world::guild_ops::invites`) parse nothing; a
//! faulty body's refusal travels in the value and the owner answers it after the
//! caller's membership and CREATE_INSTANT_INVITE are checked, as Discord does.
//!
//! Discord's rules (`resources/channel` "Create Channel Invite", `resources/invite`):
//! `max_age` 0–604800 seconds (default 86400; 0 = forever), `max_uses` 0–100 (0 =
//! unlimited), `temporary`, `unique`; `with_counts` and `with_expiration` are booleans
//! (`expires_at` is always sent, so the latter is only checked).

use super::member_fields::{optional_bool, optional_integer, query_bool, query_pairs};
use crate::rest::parse_object;
use crate::world::guild_ops::member_forms::{InviteForm, InviteQuery};
use crate::world::guild_ops::Parsed;

/// Longest `max_age`, in seconds (7 days).
const INVITE_MAX_AGE_S_MAX: u64 = 604_800;
/// `max_age` when the body gives none (24 hours).
const INVITE_MAX_AGE_S_DEFAULT: u32 = 86_400;
/// Largest `max_uses`.
const INVITE_MAX_USES_MAX: u64 = 100;

/// `POST /channels/{c}/invites`, Discord's defaults applied.
///
/// ```
/// use engine::rest::invite_bodies::parse_invite_form;
/// let form = parse_invite_form(b"").unwrap();
/// assert_eq!((form.max_age_s, form.max_uses, form.unique), (86_400, 0, false));
/// assert!(parse_invite_form(br#"{"max_uses": 101}"#).is_err());
/// ```
pub fn parse_invite_form(body: &[u8]) -> Parsed<InviteForm> {
    let object = parse_object(body)?;
    let max_age_s = optional_integer(&object, "max_age", 0, INVITE_MAX_AGE_S_MAX)?
        .map_or(INVITE_MAX_AGE_S_DEFAULT, |age| {
            u32::try_from(age).unwrap_or(0)
        });
    let max_uses = optional_integer(&object, "max_uses", 0, INVITE_MAX_USES_MAX)?
        .map_or(0, |uses| u32::try_from(uses).unwrap_or(0));
    let temporary = optional_bool(&object, "temporary")?.unwrap_or(false);
    let unique = optional_bool(&object, "unique")?.unwrap_or(false);
    Ok(InviteForm {
        max_age_s,
        max_uses,
        temporary,
        unique,
    })
}

/// `GET /invites/{code}?with_counts&with_expiration`.
pub fn parse_invite_query(query: &str) -> Parsed<InviteQuery> {
    let mut with_counts = false;
    for (key, value) in query_pairs(query) {
        match key {
            "with_counts" => with_counts = query_bool(value, "with_counts")?,
            "with_expiration" => {
                query_bool(value, "with_expiration")?;
            }
            _ => {}
        }
    }
    Ok(InviteQuery { with_counts })
}
