//! The REST handlers: route, authenticate, answer.
//!
//! Three entry points, one path: `handle_request_limited` counts the request against the
//! token's `RateLimiter` (when this core holds it), `handle_request_with` takes a verdict
//! decided elsewhere (the token's home core, over the mesh), and `handle_request` counts
//! nothing (unmetered headers). A refused request is answered 429 without running its
//! handler. Each handler returns a JSON value or a `Refusal`; the wrapper adds
//! `Content-Type` and the rate-limit headers to both, so no response can leave without
//! them. Handlers never panic on any request: every lookup of peer-supplied data is an
//! `Option` turned into a Discord error.

use super::ratelimit::{classify, BucketKey, RateLimiter, Verdict};
use super::router::{route, Route, RouteError};
use super::{Request, Response, RestContext};
use crate::world::attachment_url::UrlKey;
use crate::world::Refusal;
use crate::world::{
    application_json, encode, ready_user_json, user_json, DirectoryEntry, UserLookup,
};
use serde_json::{json, Value};

/// Answers one request without counting it against any limiter: the rate-limit headers
/// describe a fresh bucket of its route (`Verdict::unmetered`). For callers that do not
/// hold the token's limiter and have no verdict for it.
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
    let verdict = Verdict::unmetered(classify(request.method, request.path));
    handle_request_with(context, request, &verdict)
}

/// Answers one request after counting it against `limiter`, which must be the limiter
/// that holds the token's budget (its user's home core; see `rest::ratelimit`).
/// `now_ms` is monotonic time for the windows; `context.now_unix_ms` is only for headers.
/// Requests without a valid token are not counted (`Verdict::unmetered`).
///
/// ```
/// use engine::rest::ratelimit::RateLimiter;
/// use engine::rest::{handle_request_limited, Method, Request, RestContext, SessionStartLimit};
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
/// let mut limiter = RateLimiter::default();
/// let response = handle_request_limited(&context, &mut limiter, &request, 0);
/// assert_eq!(response.header("x-ratelimit-remaining"), Some("49"));
/// ```
pub fn handle_request_limited(
    context: &RestContext<'_>,
    limiter: &mut RateLimiter,
    request: &Request<'_>,
    now_ms: u64,
) -> Response {
    let route = classify(request.method, request.path);
    let verdict = match authenticate(context, request) {
        Ok(caller) => limiter.check(
            BucketKey {
                user_id: caller.user.id.0,
                route,
            },
            now_ms,
        ),
        Err(_) => Verdict::unmetered(route),
    };
    handle_request_with(context, request, &verdict)
}

/// Answers one request given the rate limiter's `verdict` for it: a refusal is a 429
/// (headers, `Via`, and the `{message, retry_after, global}` body) and runs no handler;
/// an admission runs the handler and carries the verdict's headers.
pub fn handle_request_with(
    context: &RestContext<'_>,
    request: &Request<'_>,
    verdict: &Verdict,
) -> Response {
    let mut headers = Vec::with_capacity(10);
    headers.push(("Content-Type", "application/json".to_string()));
    headers.extend(verdict.headers(context.now_unix_ms));
    if let Some(body) = verdict.refusal_body() {
        return Response {
            status: 429,
            headers,
            body,
        };
    }
    let routed = route(request.method, request.path);
    let result = match &routed {
        Ok(route) => answer(context, request, route),
        Err(error) => Err(route_error(error)),
    };
    let (status, body) = match result {
        Ok(value) => (200, encode(&value)),
        Err(error) => (error.status(), error.body()),
    };
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
) -> Result<Value, Refusal> {
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
            .ok_or(Refusal::UnknownUser),
        Route::CurrentApplication => current_application(context, caller),
        Route::RefreshAttachmentUrls => refresh_attachment_urls(context, request.body),
    }
}

/// Most URLs one `POST /attachments/refresh-urls` takes (Flux's own bound: Discord
/// documents none; a message holds at most 10 files, so 50 covers five messages).
pub const REFRESH_URLS_MAX: usize = 50;

/// `{attachment_urls: [url, …]}` → `{refreshed_urls: [{original, refreshed}, …]}`, in
/// order. A URL this server signed (expired or not) comes back signed afresh; any other
/// comes back unchanged, so a guessed path never becomes a working URL.
fn refresh_attachment_urls(context: &RestContext<'_>, body: &[u8]) -> Result<Value, Refusal> {
    let object = crate::rest::parse_object(body)?;
    let invalid = |code: &'static str, message: String| Refusal::InvalidFormBody {
        field: "attachment_urls",
        code,
        message,
    };
    let urls = match object.get("attachment_urls") {
        Some(Value::Array(urls)) => urls,
        None | Some(Value::Null) => {
            return Err(invalid(
                "BASE_TYPE_REQUIRED",
                "This field is required".into(),
            ))
        }
        Some(_) => return Err(invalid("BASE_TYPE_BAD_TYPE", "Must be an array.".into())),
    };
    if urls.len() > REFRESH_URLS_MAX {
        let message = format!("Must be {REFRESH_URLS_MAX} or fewer in length.");
        return Err(invalid("BASE_TYPE_MAX_LENGTH", message));
    }
    let key = UrlKey::from_secret(context.directory.secret());
    let now_s = context.now_unix_ms / 1000;
    let mut refreshed = Vec::with_capacity(urls.len());
    for url in urls {
        let Some(url) = url.as_str() else {
            return Err(invalid("BASE_TYPE_BAD_TYPE", "Must be a string.".into()));
        };
        let fresh = key.refresh(url, now_s).unwrap_or_else(|| url.to_string());
        refreshed.push(json!({ "original": url, "refreshed": fresh }));
    }
    Ok(json!({ "refreshed_urls": refreshed }))
}

fn authenticate<'d>(
    context: &RestContext<'d>,
    request: &Request<'_>,
) -> Result<&'d DirectoryEntry, Refusal> {
    let header = request.authorization.ok_or(Refusal::Unauthorized)?;
    context
        .directory
        .authenticate(header)
        .map_err(|_| Refusal::Unauthorized)
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
) -> Result<Value, Refusal> {
    let app = caller
        .application
        .as_ref()
        .ok_or(Refusal::UnknownApplication)?;
    let owner = context
        .directory
        .user(app.owner_id)
        .ok_or(Refusal::UnknownApplication)?;
    Ok(application_json(app, &caller.user, owner))
}

fn route_error(error: &RouteError) -> Refusal {
    match error {
        RouteError::NotFound => Refusal::NotFound,
        RouteError::MethodNotAllowed => Refusal::MethodNotAllowed,
        RouteError::InvalidSnowflake { field, value } => Refusal::InvalidFormBody {
            field,
            code: "NUMBER_TYPE_COERCE",
            message: format!("Value \"{value}\" is not snowflake."),
        },
    }
}
