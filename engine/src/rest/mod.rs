//! Discord's REST API, sans-IO: a parsed `Request` in, a `Response` out.
//!
//! The HTTP layer (`crate::http`) parses the request head and body and hands the method,
//! path, query, `Authorization` header and body here; it writes the returned status,
//! headers and body back (adding `Content-Length` and connection headers itself). Nothing
//! here touches a socket or reads the clock: `RestContext::now_unix_ms` is an input.
//!
//! The gateway and user routes are answered here, by `handle_request` (the `Route` enum;
//! under `/api/v10`, also `/api/v9` and unversioned `/api`): `GET /gateway`,
//! `GET /gateway/bot`, `GET /users/@me`, `GET /users/{id}`, `GET /oauth2/applications/@me`.
//! Every response has `Content-Type: application/json` exactly (discord.py compares it
//! with `==`, CLIENTS.md §0.1) and the six rate-limit headers (`ratelimit`: per-route
//! buckets, the global limit, 429 bodies). Errors are Discord JSON bodies (`error.rs`);
//! authentication is `Authorization: Bot <token>` (a bare token is accepted too) checked
//! against the core's `Directory`.
//!
//! The message routes are recognised and parsed in `messages.rs` (with `bulk_delete.rs`
//! and `multipart.rs` for those bodies), the guild, channel and thread routes in
//! `guild_routes.rs`, the member, role, ban and invite routes in `member_routes.rs`, and
//! the account routes in `auth.rs`; the app (`crate::app`) answers them, since they need
//! a core's state. The rate-limit verdict comes from the token's home core (`ratelimit`
//! module docs say how it is wired).

pub mod auth;
pub mod bulk_delete;
pub mod channel_bodies;
pub mod embeds;
mod error;
pub mod families;
pub mod form_fields;
pub mod guild_bodies;
pub mod guild_routes;
mod handlers;
pub mod invite_bodies;
mod json_body;
pub mod member_bodies;
pub mod member_fields;
pub mod member_routes;
pub mod messages;
pub mod multipart;
pub mod ratelimit;
pub mod role_bodies;
pub(crate) mod router;

#[cfg(test)]
mod body_tests;

/// What `GET /gateway/bot` reports about IDENTIFY budgets: the gateway's identify limiter
/// owns the numbers (`crate::gateway::IdentifyLimiter`), and `RestContext` carries them in.
pub use crate::gateway::SessionStartLimit;
pub use error::{error_body, form_error_body};
pub use handlers::{handle_request, handle_request_limited, handle_request_with};
pub use json_body::parse_object;
pub use ratelimit::{RateLimiter, Verdict};
pub use router::{route, Method, Route, RouteError};

use crate::world::Directory;

/// One HTTP request, as much of it as REST needs. Borrowed from the HTTP layer's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: &'a str,
    /// The query string without `?` (empty when absent).
    pub query: &'a str,
    /// The `Authorization` header's value, if sent.
    pub authorization: Option<&'a str>,
    /// The body (empty for GET).
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// A request from the request-line target (`/path?query`), splitting off the query.
    ///
    /// ```
    /// use engine::rest::{Method, Request};
    /// let request = Request::new(Method::Get, "/api/v10/gateway?v=10", None, b"");
    /// assert_eq!((request.path, request.query), ("/api/v10/gateway", "v=10"));
    /// ```
    pub fn new(
        method: Method,
        target: &'a str,
        authorization: Option<&'a str>,
        body: &'a [u8],
    ) -> Request<'a> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method,
            path,
            query,
            authorization,
            body,
        }
    }
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Headers in order; `Content-Length` is the HTTP layer's to add.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body (empty for 204).
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (ASCII case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What a core supplies to answer REST requests.
#[derive(Debug, Clone, Copy)]
pub struct RestContext<'a> {
    /// This core's copy of the users and tokens.
    pub directory: &'a Directory,
    /// The gateway URL to advertise, `ws://HOST:PORT` without a trailing slash
    /// (twilight appends `/?v=10…` itself, CLIENTS.md §0.6).
    pub gateway_url: &'a str,
    /// The recommended shard count for `GET /gateway/bot`.
    pub shards_recommended: u32,
    /// The identify budget of the requesting token (the caller looks it up).
    pub session_start_limit: SessionStartLimit,
    /// The current time, for the rate-limit reset header.
    pub now_unix_ms: u64,
}
