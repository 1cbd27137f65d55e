//! HTTP routing for a Flux core: which requests become gateway sessions, which go to the
//! REST core, and Flux's own `/_flux/*` routes.
//!
//! - `Upgrade: websocket` on any path is the gateway (clients connect to `/`,
//!   `/?v=10&...`, or whatever `GET /gateway` returned; CLIENTS.md §6). The reactor checks
//!   the handshake; the query is the session's business (`Session::new`, 4012 if bad).
//! - `GET /_flux/metrics`: the counters of [`Metrics`](super::Metrics) as JSON, to
//!   loopback peers or with the configured bearer token (`metrics_gate.rs`).
//! - `/_flux/test/*`: test hooks, only with `Config::test_hooks` (else 404).
//! - `GET /attachments/{channel}/{attachment}/{filename}`: uploaded files, no token
//!   (`attachments.rs`).
//! - Every other path is REST: `rest::families::family_of` names its family and typed
//!   route, `route_rest` does what every family shares (count the request, a fresh
//!   bucket's headers, authenticate the token; 401 without one except for register and
//!   login), and the family takes it from there: accounts (`accounts.rs`), messages
//!   (`messages.rs`), guilds, members and `/users/@me/guilds` (`guild_calls.rs`), DMs
//!   (`dms.rs`), and the account-free routes (`rest_limits.rs`,
//!   `rest::handle_request_with`; without a valid token `rest::handle_request`,
//!   unmetered). Answers always carry `Content-Type: application/json` exactly
//!   (CLIENTS.md §0.1), except 204s, which carry no body.

use super::answers::{error_response, unix_ms};
use super::{FluxApp, FluxMesh};
use crate::http::HeaderName;
use crate::http::{upgrade, Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::auth::AuthRoute;
use crate::rest::families::{family_of, Family};
use crate::rest::ratelimit::classify;
use crate::rest::{self, Method, RestContext, SessionStartLimit};
use crate::world::Refusal;

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
        if request.listener == crate::http::Listener::Voice {
            // The voice listener serves only the voice gateway's WebSocket.
            return HttpAnswer::Respond(Response::not_found());
        }
        let path = request.path();
        if path == "/_flux/metrics" {
            let access = super::metrics_gate::check_metrics_access(
                request.peer_ip,
                request.header("authorization"),
                self.metrics_token.as_deref(),
            );
            if let Err(refusal) = access {
                return HttpAnswer::Respond(refusal);
            }
            return match request.method.as_str() {
                "GET" => self.answer_metrics(out, conn),
                _ => HttpAnswer::Respond(Response::error(405, "405: Method Not Allowed", 0)),
            };
        }
        if let Some(hook) = path.strip_prefix("/_flux/test/") {
            if !self.shared.test_hooks {
                return HttpAnswer::Respond(Response::not_found());
            }
            return self.handle_test_hook(out, conn, request, hook);
        }
        let served = self
            .attachments
            .serve(&request.method, path, request.query(), unix_ms());
        if let Some(response) = served {
            return HttpAnswer::Respond(response);
        }
        self.route_rest(out, conn, request)
    }

    /// A REST request: its family from the one route table (`rest::families`), the one
    /// opening every family shares (count it, a fresh bucket's headers, the caller's
    /// token), then the family's own path.
    fn route_rest(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
    ) -> HttpAnswer {
        let method = Method::parse(&request.method);
        let path = request.path();
        let family = family_of(method, path);
        if family == Ok(Family::Other) {
            return self.answer_rest_metered(out, conn, request);
        }
        super::Metrics::bump(&self.shared.metrics.rest_requests_total);
        // Answers decided here (bad route, bad token) are not counted against a bucket;
        // they carry a fresh bucket's headers.
        let headers = unmetered_headers(classify(method, path), unix_ms());
        let family = match family {
            Ok(family) => family,
            Err(error) => return HttpAnswer::Respond(error_response(&headers, &error)),
        };
        let user = request
            .header_str("authorization")
            .and_then(|token| self.directory.authenticate(token).ok())
            .map(|entry| entry.user.id);
        let needs_token = !matches!(
            family,
            Family::Auth(
                AuthRoute::Register | AuthRoute::Login | AuthRoute::Logout | AuthRoute::Profile
            )
        );
        let user_id = match user {
            Some(user) => user,
            None if needs_token => {
                return HttpAnswer::Respond(error_response(&headers, &Refusal::Unauthorized))
            }
            None => crate::world::UserId(0),
        };
        match family {
            Family::Auth(route) => {
                self.receive_account_request(out, conn, request, route, user, headers)
            }
            Family::Message(route) => {
                self.receive_message_request(out, conn, request, route, user_id.0, headers)
            }
            Family::Guild(_) | Family::Member(_) | Family::OwnGuilds => {
                self.receive_guild_request(out, conn, request, family, user_id.0, headers)
            }
            Family::Dms(_) => self.receive_dm_request(out, conn, request, user_id, headers),
            Family::Other => unreachable!("answered above"),
        }
    }

    /// An account-free route answered here without counting it (`rest_limits.rs`
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
                .map(|(name, value)| (name.into(), value))
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
) -> Vec<(HeaderName, String)> {
    let mut headers = vec![("Content-Type".into(), "application/json".to_string())];
    headers.extend(
        crate::rest::ratelimit::Verdict::unmetered(route)
            .headers(now_unix_ms)
            .into_iter()
            .map(|(name, value)| (name.into(), value)),
    );
    headers
}
