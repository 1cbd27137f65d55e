//! Rate limits for the gateway and user routes that `rest::handle_request` answers
//! (`/gateway`, `/gateway/bot`, `/users/@me`, `/users/{id}`, `/oauth2/applications/@me`):
//! each call is counted on its user's home core `(user_id >> 22) % cores`, the core that
//! holds that user's `RateLimiter` logs (the same limiter the message routes use, so the
//! global 50 per second per token spans both), and answered there.
//!
//! ```text
//! receiving core                         user's home core
//! route_http ─► answer_rest_metered
//!   authenticate (Directory, no lookup)
//!   home core here? ── yes ─► RateLimiter::check ─► handle_request_with ─► respond
//!        │ no
//!        └── RestCall (mesh) ──────────► handle_rest_call: RateLimiter::check,
//!                                          handle_request_with (429 or the answer)
//!   Outbox::respond ◄── MessageAnswer ───┘
//! ```
//!
//! The home core answers the whole request, not only the verdict: every core has the same
//! `Directory`, and the home core also holds the token's identify budget, so
//! `/gateway/bot`'s `session_start_limit` is exact there.
//!
//! Not counted (unmetered headers, as before): requests without a valid token — including
//! the public `GET /gateway`, which Discord limits per IP address, not per token; Flux has
//! no per-IP limiter yet — and everything when `Limits::rest_rate_limits` is off.

use super::{FluxApp, FluxMesh};
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::ratelimit::{classify, BucketKey};
use crate::rest::{self, Method, RestContext};

/// A gateway or user route request on its way to its user's home core.
#[derive(Debug)]
pub struct RestCall {
    reply_core: usize,
    conn: ConnId,
    method: Method,
    /// The request-line target (path and query).
    target: String,
    authorization: Option<String>,
    body: Vec<u8>,
    user_id: u64,
    /// Monotonic ms on the receiving core (the limiter's clock).
    now_ms: u64,
}

impl FluxApp {
    /// `route_http`'s fallback: the gateway and user routes, metered on the caller's home
    /// core.
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
        let Some(user_id) = user_id.filter(|_| self.messages.rate_limited()) else {
            return HttpAnswer::Respond(self.answer_rest(out, request));
        };
        super::Metrics::bump(&self.shared.metrics.rest_requests_total);
        let call = RestCall {
            reply_core: self.core,
            conn,
            method: Method::parse(&request.method),
            target: request.target.clone(),
            authorization: authorization.map(str::to_string),
            body: request.body.clone(),
            user_id,
            now_ms: self.now(out).0 / 1000,
        };
        let home = self.home_core(user_id);
        if home != self.core {
            out.send_mesh(home, FluxMesh::RestCall(Box::new(call)));
            return HttpAnswer::Later;
        }
        HttpAnswer::Respond(self.answer_rest_call(out, &call))
    }

    /// On the home core: a call that came over the mesh; the answer goes back by message.
    pub(super) fn handle_rest_call(&mut self, out: &mut Outbox<FluxMesh>, call: RestCall) {
        debug_assert_eq!(self.home_core(call.user_id), self.core);
        let response = self.answer_rest_call(out, &call);
        out.send_mesh(
            call.reply_core,
            FluxMesh::MessageAnswer {
                conn: call.conn,
                response: Box::new(response),
            },
        );
    }

    /// Counts `call` against its user's buckets and answers it (a 429 runs no handler).
    fn answer_rest_call(&mut self, out: &Outbox<FluxMesh>, call: &RestCall) -> Response {
        let request = rest::Request::new(
            call.method,
            &call.target,
            call.authorization.as_deref(),
            &call.body,
        );
        let key = BucketKey {
            user_id: call.user_id,
            route: classify(request.method, request.path),
        };
        let verdict = self
            .messages
            .check_rate(key, call.now_ms)
            .unwrap_or_else(|| rest::Verdict::unmetered(key.route));
        let context = RestContext {
            directory: &self.directory,
            gateway_url: &self.shared.gateway_url,
            shards_recommended: 1,
            session_start_limit: self
                .identify_limiter
                .session_start_limit(call.user_id, self.now(out)),
            now_unix_ms: super::http_routes::unix_ms(),
        };
        let answer = rest::handle_request_with(&context, &request, &verdict);
        Response {
            status: answer.status,
            headers: answer
                .headers
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
            body: answer.body,
            file: None,
        }
    }
}
