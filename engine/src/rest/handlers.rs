//! The REST handlers: route, authenticate, answer.
//!
//! `handle_request` is the only entry point. Each handler returns a JSON value or a
//! `RestError`; the wrapper adds `Content-Type` and the rate-limit headers to both, so no
//! response can leave without them. Handlers never panic on any request: every lookup of
//! peer-supplied data is an `Option` turned into a Discord error.

use super::error::RestError;
use super::ratelimit;
use super::router::{route, Route, RouteError};
use super::{Request, Response, RestContext};
use crate::world::{application_json, ready_user_json, user_json, DirectoryEntry, UserLookup};
use serde_json::{json, Value};

/// Answers one request.
///
/// ```
/// use engine::rest::{handle_request, Method, Request, RestContext, SessionStartLimit};
/// use engine::world::{demo_world, Directory};
/// let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
/// let directory = Directory::from_world(&demo.world, demo.secret.clone());
/// let context = RestContext {
///     directory: &directory,
///     gateway_url: "ws://127.0.0.1:8080",
///     shards_recommended: 1,
///     session_start_limit: SessionStartLimit::default(),
///     now_unix_ms: 1_700_000_000_000,
/// };
/// let auth = format!("Bot {}", demo.bots[0].token);
/// let request = Request::new(Method::Get, "/api/v10/users/@me", Some(&auth), b"");
/// let response = handle_request(&context, &request);
/// assert_eq!(response.status, 200);
/// assert_eq!(response.header("content-type"), Some("application/json"));
/// ```
pub fn handle_request(context: &RestContext<'_>, request: &Request<'_>) -> Response {
    let routed = route(request.method, request.path);
    let result = match &routed {
        Ok(route) => answer(context, request, route),
        Err(error) => Err(route_error(error)),
    };
    let (status, body) = match result {
        Ok(value) => (
            200,
            serde_json::to_vec(&value).expect("a JSON value serialises"),
        ),
        Err(error) => (error.status(), error.body()),
    };
    let mut headers = Vec::with_capacity(7);
    headers.push(("Content-Type", "application/json".to_string()));
    headers.extend(ratelimit::headers(
        routed.as_ref().ok(),
        context.now_unix_ms,
    ));
    Response {
        status,
        headers,
        body,
    }
}

fn answer(
    context: &RestContext<'_>,
    request: &Request<'_>,
    route: &Route,
) -> Result<Value, RestError> {
    if !route.needs_authorization() {
        return match route {
            Route::Gateway => Ok(json!({ "url": context.gateway_url })),
            _ => unreachable!("only GET /gateway is public; needs_authorization says so"),
        };
    }
    let caller = authenticate(context, request)?;
    match route {
        Route::Gateway => unreachable!("handled above"),
        Route::GatewayBot => Ok(gateway_bot(context)),
        Route::CurrentUser => Ok(ready_user_json(&caller.user)),
        Route::User(user_id) => context
            .directory
            .user(*user_id)
            .map(user_json)
            .ok_or(RestError::UnknownUser),
        Route::CurrentApplication => current_application(context, caller),
    }
}

fn authenticate<'d>(
    context: &RestContext<'d>,
    request: &Request<'_>,
) -> Result<&'d DirectoryEntry, RestError> {
    let header = request.authorization.ok_or(RestError::Unauthorized)?;
    context
        .directory
        .authenticate(header)
        .map_err(|_| RestError::Unauthorized)
}

fn gateway_bot(context: &RestContext<'_>) -> Value {
    let limit = context.session_start_limit;
    json!({
        "url": context.gateway_url,
        "shards": context.shards_recommended,
        "session_start_limit": {
            "total": limit.total,
            "remaining": limit.remaining,
            "reset_after": limit.reset_after_ms,
            "max_concurrency": limit.max_concurrency,
        },
    })
}

fn current_application(
    context: &RestContext<'_>,
    caller: &DirectoryEntry,
) -> Result<Value, RestError> {
    let app = caller
        .application
        .as_ref()
        .ok_or(RestError::UnknownApplication)?;
    let owner = context
        .directory
        .user(app.owner_id)
        .ok_or(RestError::UnknownApplication)?;
    Ok(application_json(app, &caller.user, owner))
}

fn route_error(error: &RouteError) -> RestError {
    match error {
        RouteError::NotFound => RestError::NotFound,
        RouteError::MethodNotAllowed => RestError::MethodNotAllowed,
        RouteError::InvalidSnowflake { field, value } => RestError::InvalidFormBody {
            field,
            code: "NUMBER_TYPE_COERCE",
            message: format!("Value \"{value}\" is not snowflake."),
        },
    }
}
