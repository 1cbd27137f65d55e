//! The one route table of Flux's REST API: which family a request belongs to, with its
//! typed route. Each family runs somewhere else — the message routes on the channel's
//! owner core, the guild and member routes on the guild's owner, the DM routes on the
//! pair's core, the account routes on core 0 and the account's home core — so the app
//! asks here once and hands the request to its family (`app::http_routes`); no part of
//! the app matches URL paths itself.
//!
//! Families are tried in a fixed order; the first whose paths include this one decides
//! (including 405 for a known path with another method). A path no family claims is
//! `Family::Other`: the account-free routes `handle_request` answers, and its 404/405.

use super::auth::{auth_route, AuthRoute};
use super::guild_routes::{guild_route, GuildRoute};
use super::member_routes::{member_route, MemberRoute};
use super::messages::{message_route, MessageRoute};
use super::router::{strip_version_prefix, Method};
use crate::world::Refusal;

/// A request's family and typed route.
#[derive(Debug, Clone, PartialEq)]
pub enum Family {
    /// `/auth/register`, `/auth/login`, `/auth/logout`, `PATCH /users/@me`.
    Auth(AuthRoute),
    /// `/channels/{id}/messages…`, reactions, typing, pins.
    Message(MessageRoute),
    /// Guild, channel, overwrite and thread routes.
    Guild(GuildRoute),
    /// Member, role, ban and invite routes.
    Member(MemberRoute),
    /// `GET /users/@me/guilds`.
    OwnGuilds,
    /// `GET` or `POST /users/@me/channels`.
    Dms(Method),
    /// Everything else (`rest::handle_request`).
    Other,
}

/// The family of `method path`, or the refusal of its route (405, or a bad path
/// parameter's 50035).
pub fn family_of(method: Method, path: &str) -> Result<Family, Refusal> {
    let under_api = strip_version_prefix(path).map(|rest| rest.trim_end_matches('/'));
    if let Some(route) = auth_route(method, path) {
        return route
            .map(Family::Auth)
            .map_err(|()| Refusal::MethodNotAllowed);
    }
    match (method, under_api) {
        (Method::Patch, Some("users/@me")) => return Ok(Family::Auth(AuthRoute::Profile)),
        (Method::Get, Some("users/@me/guilds")) => return Ok(Family::OwnGuilds),
        (Method::Get | Method::Post, Some("users/@me/channels")) => return Ok(Family::Dms(method)),
        (_, Some("users/@me/channels")) => return Err(Refusal::MethodNotAllowed),
        _ => {}
    }
    if let Some(route) = message_route(method, path) {
        return route.map(Family::Message);
    }
    if let Some(route) = guild_route(method, path) {
        return route.map(Family::Guild);
    }
    if let Some(route) = member_route(method, path) {
        return route.map(Family::Member);
    }
    Ok(Family::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_claims_its_paths() {
        let cases = [
            (Method::Post, "/api/v10/auth/login", "Auth"),
            (Method::Patch, "/api/v10/users/@me", "Auth"),
            (Method::Get, "/api/v10/users/@me", "Other"),
            (Method::Get, "/api/v10/users/@me/guilds", "OwnGuilds"),
            (Method::Post, "/api/v10/users/@me/channels", "Dms"),
            (Method::Post, "/api/v10/channels/1/messages", "Message"),
            (Method::Patch, "/api/v10/channels/1", "Guild"),
            (Method::Put, "/api/v10/guilds/1/bans/2", "Member"),
            (Method::Get, "/api/v10/gateway", "Other"),
            (Method::Get, "/nowhere", "Other"),
        ];
        for (method, path, want) in cases {
            let family = family_of(method, path).unwrap();
            let name = format!("{family:?}");
            assert!(name.starts_with(want), "{method:?} {path}: {name}");
        }
        assert_eq!(
            family_of(Method::Get, "/api/v10/auth/login"),
            Err(Refusal::MethodNotAllowed)
        );
        assert_eq!(
            family_of(Method::Delete, "/api/v10/users/@me/channels"),
            Err(Refusal::MethodNotAllowed)
        );
    }
}
