//! HTTP routing for a Flux core: which requests become gateway sessions, which go to the
//! REST core, and Flux's own `/_flux/*` routes.
//!
//! - `Upgrade: websocket` on any path is the gateway (clients connect to `/`,
//!   `/?v=10&...`, or whatever `GET /gateway` returned; CLIENTS.md §6). The reactor checks
//!   the handshake; the query is the session's business (`Session::new`, 4012 if bad).
//! - `GET /_flux/metrics`: the counters of [`Metrics`](super::Metrics) as JSON.
//! - `/_flux/test/*`: test hooks, only with `Config::test_hooks` (else 404).
//! - `/api/…/channels/{id}/messages[/{id}]`: the message path (`messages.rs`), answered
//!   by the channel's owner core, possibly later (`HttpAnswer::Later`).
//! - `GET /attachments/{channel}/{attachment}/{filename}`: uploaded files, no token
//!   (`attachments.rs`).
//! - `/auth/{register,login,logout}` (also under `/api/v10`): accounts (`accounts.rs`).
//! - Guild, channel, role, member, ban, invite and thread routes (`guilds.rs`) and
//!   `/users/@me/channels` (`dms.rs`).
//! - Everything else: the gateway and user routes of `rest::handle_request` (`/gateway`,
//!   `/gateway/bot`, `/users/@me`, `/users/{id}`, `/oauth2/applications/@me`), counted on
//!   the caller's home core (`rest_limits.rs`, `rest::handle_request_with`; without a
//!   valid token, `rest::handle_request`, unmetered); the answer always carries
//!   `Content-Type: application/json` exactly (CLIENTS.md §0.1).

use super::{FluxApp, FluxMesh};
use crate::http::{upgrade, Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::{self, Method, RestContext, SessionStartLimit};

impl FluxApp {
    pub(super) fn route_http(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
    ) -> HttpAnswer {
        if upgrade::is_upgrade_request(request) {
            return HttpAnswer::Upgrade;
        }
        let path = request.path();
        if path == "/_flux/metrics" {
            return match request.method.as_str() {
                "GET" => {
                    let mut reactor = crate::reactor::Stats::default();
                    for core in self.reactor_stats.iter() {
                        core.add_to(&mut reactor);
                    }
                    let body = self.shared.metrics.to_json_with(Some(&reactor));
                    HttpAnswer::Respond(Response::json(200, body))
                }
                _ => HttpAnswer::Respond(Response::error(405, "405: Method Not Allowed", 0)),
            };
        }
        if let Some(hook) = path.strip_prefix("/_flux/test/") {
            if !self.shared.test_hooks {
                return HttpAnswer::Respond(Response::not_found());
            }
            return self.handle_test_hook(out, conn, request, hook);
        }
        if let Some(response) = self.attachments.serve(&request.method, path) {
            return HttpAnswer::Respond(response);
        }
        if let Some(answer) = self.try_account_route(out, conn, request) {
            return answer;
        }
        if let Some(answer) = self.try_message_route(out, conn, request) {
            return answer;
        }
        if let Some(answer) = self.try_guild_route(out, conn, request) {
            return answer;
        }
        if let Some(answer) = self.try_dm_route(out, conn, request) {
            return answer;
        }
        self.answer_rest_metered(out, conn, request)
    }

    /// A gateway or user route answered here without counting it (`rest_limits.rs`
    /// decides).
    pub(super) fn answer_rest(&mut self, out: &Outbox<FluxMesh>, request: &Request) -> Response {
        super::Metrics::bump(&self.shared.metrics.rest_requests_total);
        let authorization = request.header_str("authorization");
        let rest_request = rest::Request::new(
            Method::parse(&request.method),
            &request.target,
            authorization,
            &request.body,
        );
        let context = RestContext {
            directory: &self.directory,
            gateway_url: &self.shared.gateway_url,
            shards_recommended: 1,
            session_start_limit: self.session_start_limit(out, authorization),
            now_unix_ms: unix_ms(),
        };
        let answer = rest::handle_request(&context, &rest_request);
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

    /// The token's identify budget if this core is its user's home core; Discord's
    /// defaults otherwise (asking the home core would make REST wait on the mesh; the
    /// numbers are advisory for clients).
    fn session_start_limit(
        &self,
        out: &Outbox<FluxMesh>,
        authorization: Option<&str>,
    ) -> SessionStartLimit {
        let user_id = authorization
            .and_then(|token| self.directory.authenticate(token).ok())
            .map(|entry| entry.user.id.0);
        match user_id {
            Some(user_id) if self.home_core(user_id) == self.core => self
                .identify_limiter
                .session_start_limit(user_id, self.now(out)),
            _ => SessionStartLimit::default(),
        }
    }
}

/// `Content-Type: application/json` and the rate-limit headers of a fresh bucket of
/// `route`: what an answer carries when it was decided before any bucket counted it (a
/// bad route, a bad token), or while rate limits are off.
pub(super) fn unmetered_headers(
    route: crate::rest::ratelimit::RouteClass,
    now_unix_ms: u64,
) -> Vec<(String, String)> {
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    headers.extend(
        crate::rest::ratelimit::Verdict::unmetered(route)
            .headers(now_unix_ms)
            .into_iter()
            .map(|(name, value)| (name.to_string(), value)),
    );
    headers
}

pub(super) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
