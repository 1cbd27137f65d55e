//! Maps a method and path to a `Route`: the table of REST endpoints Flux serves.
//!
//! Accepted prefixes: `/api/v10`, `/api/v9` (Discord serves both with the same shapes for
//! these routes) and a bare `/api` (Discord's unversioned default; Flux answers as v10).
//! Any other version, a path outside `/api`, or an unknown path is `NotFound`; a known
//! path with another method is `MethodNotAllowed`. One trailing slash is tolerated.
//!
//! Growing it: add a `Route` variant, an arm in `match_segments` (a slice
//! pattern per path, methods matched inside it), its `template` for the rate-limit
//! bucket, and a handler. Snowflakes in the path go through `parse_snowflake`, so a bad
//! one becomes Discord's 50035 form error naming the parameter.

use crate::world::UserId;

/// Deepest path Flux serves after the version prefix; deeper paths are `NotFound`
/// without further work (bounds the work on hostile input).
const SEGMENTS_MAX: usize = 8;

/// An HTTP method, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// Anything else (HEAD, OPTIONS, …): no route accepts it.
    Other,
}

impl Method {
    /// Classifies a request-line method token (case-sensitive, as RFC 9110 says).
    pub fn parse(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => Method::Other,
        }
    }
}

/// A REST endpoint with its path parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// `GET /gateway`: the gateway URL (no authentication, as on Discord).
    Gateway,
    /// `GET /gateway/bot`: URL, recommended shards and the identify budget.
    GatewayBot,
    /// `GET /users/@me`: the token's user.
    CurrentUser,
    /// `GET /users/{user.id}`.
    User(UserId),
    /// `GET /oauth2/applications/@me`: the token's bot application.
    CurrentApplication,
    /// `POST /attachments/refresh-urls`: attachment URLs signed afresh
    /// (`world::attachment_url`).
    RefreshAttachmentUrls,
}

impl Route {
    /// The route's template, which names its rate-limit bucket.
    pub fn template(&self) -> &'static str {
        match self {
            Route::Gateway => "GET /gateway",
            Route::GatewayBot => "GET /gateway/bot",
            Route::CurrentUser => "GET /users/@me",
            Route::User(_) => "GET /users/{user.id}",
            Route::CurrentApplication => "GET /oauth2/applications/@me",
            Route::RefreshAttachmentUrls => "POST /attachments/refresh-urls",
        }
    }

    /// Whether the route needs `Authorization`.
    pub fn needs_authorization(&self) -> bool {
        !matches!(self, Route::Gateway)
    }
}

/// Why no route matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No such path (404, code 0).
    NotFound,
    /// The path exists but not with this method (405, code 0).
    MethodNotAllowed,
    /// A path parameter that must be a snowflake is not one (400, code 50035).
    InvalidSnowflake {
        /// The parameter's name in Discord's error body, e.g. `user_id`.
        field: &'static str,
        /// What was sent, for the message (truncated to the segment limit).
        value: String,
    },
}

/// Finds the route for `method` and `path` (the path without its query).
///
/// ```
/// use engine::rest::{route, Method, Route};
/// assert_eq!(route(Method::Get, "/api/v10/users/@me"), Ok(Route::CurrentUser));
/// assert_eq!(route(Method::Get, "/api/v9/gateway/bot/"), Ok(Route::GatewayBot));
/// ```
pub fn route(method: Method, path: &str) -> Result<Route, RouteError> {
    let rest = strip_version_prefix(path).ok_or(RouteError::NotFound)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut segments: [&str; SEGMENTS_MAX] = [""; SEGMENTS_MAX];
    let mut count = 0;
    if !rest.is_empty() {
        for segment in rest.split('/') {
            if count == SEGMENTS_MAX || segment.is_empty() {
                return Err(RouteError::NotFound);
            }
            segments[count] = segment;
            count += 1;
        }
    }
    match_segments(method, &segments[..count])
}

fn match_segments(method: Method, segments: &[&str]) -> Result<Route, RouteError> {
    use Method::Get;
    let only = |wanted: Method, route: Route| {
        if method == wanted {
            Ok(route)
        } else {
            Err(RouteError::MethodNotAllowed)
        }
    };
    match segments {
        ["gateway"] => only(Get, Route::Gateway),
        ["gateway", "bot"] => only(Get, Route::GatewayBot),
        ["users", "@me"] => only(Get, Route::CurrentUser),
        ["users", user_id] => {
            let user_id = UserId(parse_snowflake("user_id", user_id)?);
            only(Get, Route::User(user_id))
        }
        ["oauth2", "applications", "@me"] => only(Get, Route::CurrentApplication),
        ["attachments", "refresh-urls"] => only(Method::Post, Route::RefreshAttachmentUrls),
        _ => Err(RouteError::NotFound),
    }
}

/// `/api/v10/x` → `x`; also `/api/v9/x` and `/api/x`. `None` for anything else.
pub(crate) fn strip_version_prefix(path: &str) -> Option<&str> {
    let after_api = path.strip_prefix("/api")?;
    if after_api.is_empty() {
        return Some("");
    }
    let after_api = after_api.strip_prefix('/')?;
    for version in ["v10", "v9"] {
        if let Some(rest) = after_api.strip_prefix(version) {
            if rest.is_empty() {
                return Some("");
            }
            if let Some(rest) = rest.strip_prefix('/') {
                return Some(rest);
            }
        }
    }
    if after_api.starts_with('v') && after_api[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return None; // a version Flux does not serve
    }
    Some(after_api)
}

/// Parses a snowflake path parameter strictly (no sign, no leading zero, fits u64).
pub(super) fn parse_snowflake(field: &'static str, text: &str) -> Result<u64, RouteError> {
    snowflake::Snowflake::parse_ascii(text.as_bytes())
        .map(|id| id.get())
        .map_err(|_| RouteError::InvalidSnowflake {
            field,
            value: text.chars().take(64).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn routes_table() {
        let table: &[(Method, &str, Result<Route, RouteError>)] = &[
            (Method::Get, "/api/v10/gateway", Ok(Route::Gateway)),
            (Method::Get, "/api/v9/gateway", Ok(Route::Gateway)),
            (Method::Get, "/api/gateway", Ok(Route::Gateway)),
            (Method::Get, "/api/v10/gateway/", Ok(Route::Gateway)),
            (Method::Get, "/api/v10/gateway/bot", Ok(Route::GatewayBot)),
            (Method::Get, "/api/v10/users/@me", Ok(Route::CurrentUser)),
            (
                Method::Get,
                "/api/v10/users/42",
                Ok(Route::User(UserId(42))),
            ),
            (
                Method::Get,
                "/api/v10/oauth2/applications/@me",
                Ok(Route::CurrentApplication),
            ),
            (
                Method::Post,
                "/api/v10/users/@me",
                Err(RouteError::MethodNotAllowed),
            ),
            (
                Method::Other,
                "/api/v10/gateway",
                Err(RouteError::MethodNotAllowed),
            ),
            (Method::Get, "/api/v8/gateway", Err(RouteError::NotFound)),
            (Method::Get, "/api/v10", Err(RouteError::NotFound)),
            (Method::Get, "/api/v10/", Err(RouteError::NotFound)),
            (Method::Get, "/api/v10//gateway", Err(RouteError::NotFound)),
            (Method::Get, "/api/v10/gateway//", Err(RouteError::NotFound)),
            (Method::Get, "/apix/gateway", Err(RouteError::NotFound)),
            (Method::Get, "/gateway", Err(RouteError::NotFound)),
            (Method::Get, "", Err(RouteError::NotFound)),
            (
                Method::Get,
                "/api/v10/a/b/c/d/e/f/g/h/i",
                Err(RouteError::NotFound),
            ),
        ];
        for (method, path, want) in table {
            assert_eq!(&route(*method, path), want, "{method:?} {path}");
        }
    }

    #[test]
    fn bad_snowflakes_name_their_parameter() {
        for bad in ["abc", "-1", "+1", "007", "18446744073709551616"] {
            let path = format!("/api/v10/users/{bad}");
            assert_eq!(
                route(Method::Get, &path),
                Err(RouteError::InvalidSnowflake {
                    field: "user_id",
                    value: bad.into()
                })
            );
        }
    }

    proptest! {
        #[test]
        fn router_never_panics(method in "[A-Z]{0,7}", path in "(/[a-z0-9@%v]{0,6}){0,12}") {
            let _ = route(Method::parse(&method), &path);
        }

        #[test]
        fn router_never_panics_on_any_text(path in ".{0,200}") {
            let _ = route(Method::Get, &path);
        }
    }
}
