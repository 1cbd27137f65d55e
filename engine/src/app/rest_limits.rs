//! The account-free REST routes (`/gateway`, `/gateway/bot`, `/users/@me`,
//! `/users/{id}`, `/oauth2/applications/@me`), answered by `rest::handle_request_with`
//! on the caller's home core once the rate-limit hop (`metering.rs`) counted them there:
//!
//! ```text
//! receiving core                          user's home core
//! route_http ─► answer_rest_metered
//!   authenticate (Directory, no lookup)
//!   meter(Call::Rest) ── RateCheck ──► admit_metered: RestLimiter::check,
//!                                         answer_rest_call (429 or the answer)
//!   Outbox::respond ◄──── Answer ─────────┘
//! ```
//!
//! The home core answers the whole request, not only the verdict: every core has the same
//! `Directory`, and the home core also holds the token's identify budget, so
//! `/gateway/bot`'s `session_start_limit` is exact there.
//!
//! Not counted (unmetered headers, as before): requests without a valid token — including
//! the public `GET /gateway`, which Discord limits per IP address, not per token; Flux has
//! no per-IP limiter yet — and everything when `Limits::rest_rate_limits` is off.

use super::mesh::Caller;
use super::{FluxApp, FluxMesh};
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::ratelimit::classify;
use crate::rest::{self, Method, RestContext, SessionStartLimit};

/// An account-free REST request on its way to its user's home core.
#[derive(Debug)]
pub struct RestCall {
    /// The caller (no headers: the handler's answer brings its own).
    pub(super) caller: Caller,
    method: Method,
    /// The request-line target (path and query).
    target: String,
    authorization: Option<String>,
    body: Vec<u8>,
    /// The route's bucket.
    route: crate::rest::ratelimit::RouteClass,
    /// The rate-limit verdict, once the home core counted the call (a fresh bucket's
    /// while rate limits are off).
    verdict: Option<rest::Verdict>,
}

impl RestCall {
    /// The home core counted the call: its answer carries `verdict`.
    pub(super) fn counted(&mut self, verdict: rest::Verdict) {
        self.verdict = Some(verdict);
    }
}

impl FluxApp {
    /// `route_http`'s fallback: the account-free REST routes, metered on the caller's
    /// home core (`metering.rs`).
    pub(super) fn answer_rest_metered(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
    ) -> HttpAnswer {
        let authorization = request.header_str("authorization");
        let user_id = authorization
            .and_then(|token| self.directory.authenticate(token).ok())
            .map(|entry| entry.user.id.0);
        let Some(user_id) = user_id.filter(|_| self.limiter.enabled()) else {
            return HttpAnswer::Respond(self.answer_rest(out, request));
        };
        super::Metrics::bump(&self.shared.metrics.rest_requests_total);
        let method = Method::parse(&request.method);
        let route = classify(method, request.path());
        let call = RestCall {
            caller: Caller {
                user_id,
                reply_core: self.core,
                conn,
                headers: Vec::new(),
            },
            method,
            target: request.target.clone(),
            authorization: authorization.map(str::to_string),
            body: request.body.clone(),
            route,
            verdict: None,
        };
        self.meter(out, super::mesh::Call::Rest(call), route)
    }

    /// On the home core, once counted: the answer (a 429 runs no handler).
    pub(super) fn answer_rest_call(&mut self, out: &Outbox<FluxMesh>, call: &RestCall) -> Response {
        let verdict = &call
            .verdict
            .unwrap_or_else(|| rest::Verdict::unmetered(call.route));
        let request = rest::Request::new(
            call.method,
            &call.target,
            call.authorization.as_deref(),
            &call.body,
        );
        let limit = self
            .identify_limiter
            .session_start_limit(call.caller.user_id, self.now(out));
        let context = RestContext {
            directory: &self.directory,
            gateway_url: &self.shared.gateway_url,
            shards_recommended: 1,
            session_start_limit: SessionStartLimit {
                total: limit.total,
                remaining: limit.remaining,
                reset_after_ms: limit.reset_after_ms,
                max_concurrency: limit.max_concurrency,
            },
            now_unix_ms: super::answers::unix_ms(),
        };
        let answer = rest::handle_request_with(&context, &request, verdict);
        Response {
            status: answer.status,
            headers: answer
                .headers
                .into_iter()
                .map(|(name, value)| (name.into(), value))
                .collect(),
            body: answer.body,
            file: None,
        }
    }
}
