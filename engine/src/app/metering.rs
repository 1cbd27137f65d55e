//! The rate-limit hop every authenticated guild, DM and `/users/@me/guilds` request
//! takes: counted on its user's home core `(user_id >> 22) % cores`, which holds that
//! user's one `RateLimiter` (so the per-route buckets and the global 50 requests per
//! second per token span every route family), then passed on to where it runs.
//!
//! ```text
//! receiving core ─► home core: RateLimiter::check ─► 429 back to the receiving core
//!                                                 └► the call goes on: a guild call to
//!                                                    the guild's owner, a DM call to the
//!                                                    pair core, GET /users/@me/guilds
//!                                                    answered right there (every core has
//!                                                    every replica)
//! ```
//!
//! Each hop is a direct call when the cores coincide. With rate limits off
//! (`Limits::rest_rate_limits`) calls skip the home core and carry a fresh bucket's
//! headers. The message routes keep their own `MessageRateCheck` (`messages.rs`), and
//! the gateway and user routes `RestCall` (`rest_limits.rs`), with the same limiter.

use super::dms::DmCall;
use super::guilds::GuildCall;
use super::{FluxApp, FluxMesh};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::ratelimit::{BucketKey, RouteClass, Verdict};

/// A request waiting for its rate-limit verdict.
#[derive(Debug)]
pub enum Metered {
    /// A guild route, for the guild's owner afterwards.
    Guild(GuildCall),
    /// `POST /users/@me/channels`, for the DM pair's core afterwards.
    Dm(DmCall),
    /// `GET /users/@me/guilds`, answered by whichever core admits it.
    OwnGuilds {
        reply_core: usize,
        conn: ConnId,
        user_id: u64,
        headers: Vec<(String, String)>,
    },
}

impl Metered {
    fn user_id(&self) -> u64 {
        match self {
            Metered::Guild(call) => call.user_id(),
            Metered::Dm(call) => call.user_id(),
            Metered::OwnGuilds { user_id, .. } => *user_id,
        }
    }

    fn reply(&self) -> (usize, ConnId) {
        match self {
            Metered::Guild(call) => call.reply(),
            Metered::Dm(call) => call.reply(),
            Metered::OwnGuilds {
                reply_core, conn, ..
            } => (*reply_core, *conn),
        }
    }

    fn headers_mut(&mut self) -> &mut Vec<(String, String)> {
        match self {
            Metered::Guild(call) => call.headers_mut(),
            Metered::Dm(call) => call.headers_mut(),
            Metered::OwnGuilds { headers, .. } => headers,
        }
    }
}

impl FluxApp {
    /// On the receiving core: count `call` on its user's home core (here or over the
    /// mesh), or run it at once when rate limits are off.
    pub(super) fn meter(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: Metered,
        route: RouteClass,
    ) -> HttpAnswer {
        if !self.messages.rate_limited() {
            return self.proceed(out, call, true);
        }
        let now_ms = self.now(out).0 / 1000;
        let home = self.home_core(call.user_id());
        if home != self.core {
            let check = FluxMesh::RateCheck {
                call: Box::new(call),
                route,
                now_ms,
            };
            out.send_mesh(home, check);
            return HttpAnswer::Later;
        }
        self.admit_metered(out, call, route, now_ms, true)
    }

    /// On the caller's home core: count the call, then answer 429 or let it proceed with
    /// the verdict's headers. `in_http`: called from this core's `handle_http`, whose
    /// answer is returned instead of sent.
    pub(super) fn admit_metered(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        mut call: Metered,
        route: RouteClass,
        now_ms: u64,
        in_http: bool,
    ) -> HttpAnswer {
        let key = BucketKey {
            user_id: call.user_id(),
            route,
        };
        let verdict = self
            .messages
            .check_rate(key, now_ms)
            .unwrap_or_else(|| Verdict::unmetered(route));
        let headers = call.headers_mut();
        headers.truncate(1); // Content-Type
        headers.extend(
            verdict
                .headers(super::http_routes::unix_ms())
                .into_iter()
                .map(|(name, value)| (name.to_string(), value)),
        );
        if let Some(body) = verdict.refusal_body() {
            let response = super::messages::json_response(call.headers_mut(), 429, body);
            return self.answer(out, call.reply(), response, in_http);
        }
        self.proceed(out, call, in_http)
    }

    /// An admitted call goes where it runs.
    fn proceed(&mut self, out: &mut Outbox<FluxMesh>, call: Metered, in_http: bool) -> HttpAnswer {
        match call {
            Metered::Guild(call) => self.guild_call_to_owner(out, call, in_http),
            Metered::Dm(call) => self.dm_call_to_pair_core(out, call, in_http),
            Metered::OwnGuilds {
                reply_core,
                conn,
                user_id,
                headers,
            } => {
                let body = self.current_user_guilds(user_id);
                let response = super::messages::json_response(&headers, 200, body);
                self.answer(out, (reply_core, conn), response, in_http)
            }
        }
    }

    /// An answer decided on this core: returned to `handle_http` when the request came in
    /// here, sent to the receiving core otherwise.
    pub(super) fn answer(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        (reply_core, conn): (usize, ConnId),
        response: crate::http::Response,
        in_http: bool,
    ) -> HttpAnswer {
        if in_http {
            debug_assert_eq!(
                reply_core, self.core,
                "handle_http answers its own requests"
            );
            return HttpAnswer::Respond(response);
        }
        self.send_answer(out, reply_core, conn, response);
        HttpAnswer::Later
    }
}
