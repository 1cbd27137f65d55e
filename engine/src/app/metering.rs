//! The rate-limit hop every authenticated REST request takes: counted on its user's home
//! core, which holds that user's one `RateLimiter` (so the per-route buckets and the
//! global 50 requests per second per token span every route family), then passed on to
//! where it runs.
//!
//! ```text
//! receiving core ─► home core: RestLimiter::check ─► 429 back to the receiving core
//!                                                 └► the call goes on: a message call to
//!                                                    the channel's owner, a guild call to
//!                                                    the guild's owner, a DM call to the
//!                                                    pair core (`Call`); GET
//!                                                    /users/@me/guilds and the account-free
//!                                                    REST routes (`rest_limits.rs`)
//!                                                    answered right there
//! ```
//!
//! Each hop is a direct call when the cores coincide. With rate limits off
//! (`Limits::rest_rate_limits`) calls skip the home core and carry a fresh bucket's
//! headers.

use super::mesh::Call;
use super::{FluxApp, FluxMesh};
use crate::reactor::{HttpAnswer, Outbox};
use crate::rest::ratelimit::{BucketKey, RateLimiter, RouteClass, Verdict};

/// The rate-limit logs of the users whose home core this is.
#[derive(Debug)]
pub(super) struct RestLimiter {
    /// `None` when `Limits::rest_rate_limits` is off.
    limiter: Option<RateLimiter>,
    /// When `limiter` is next pruned (monotonic ms).
    prune_at_ms: u64,
}

impl RestLimiter {
    /// A limiter, or none at all when `enabled` is false.
    pub(super) fn new(enabled: bool) -> RestLimiter {
        RestLimiter {
            limiter: enabled.then(RateLimiter::default),
            prune_at_ms: 0,
        }
    }

    /// Whether REST calls are rate limited.
    pub(super) fn enabled(&self) -> bool {
        self.limiter.is_some()
    }

    /// Counts a call against its user's buckets: the verdict (a fresh bucket's when
    /// rate limits are off).
    pub(super) fn check(&mut self, key: BucketKey, now_ms: u64) -> Verdict {
        let Some(limiter) = self.limiter.as_mut() else {
            return Verdict::unmetered(key.route);
        };
        if now_ms >= self.prune_at_ms {
            limiter.prune(now_ms);
            self.prune_at_ms = now_ms + 1000;
        }
        limiter.check(key, now_ms)
    }
}

impl FluxApp {
    /// On the receiving core: count `call` on its user's home core (here or over the
    /// mesh), or run it at once when rate limits are off.
    pub(super) fn meter(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: Call,
        route: RouteClass,
    ) -> HttpAnswer {
        if !self.limiter.enabled() {
            return self.run_call(out, call, true);
        }
        let now_ms = self.now(out).0 / 1000;
        let user_id = call.caller().map_or(0, |caller| caller.user_id);
        let home = self.home_core(user_id);
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
        mut call: Call,
        route: RouteClass,
        now_ms: u64,
        in_http: bool,
    ) -> HttpAnswer {
        let Some(user_id) = call.caller().map(|caller| caller.user_id) else {
            debug_assert!(false, "a metered call has a caller");
            return self.run_call(out, call, in_http);
        };
        let key = BucketKey { user_id, route };
        let verdict = self.limiter.check(key, now_ms);
        if let Call::Rest(rest) = &mut call {
            // Its handler answers a refusal, with the verdict's headers.
            rest.counted(verdict);
            return self.run_call(out, call, in_http);
        }
        if let Some(caller) = call.caller_mut() {
            let headers = &mut caller.headers;
            headers.truncate(1); // Content-Type
            headers.extend(
                verdict
                    .headers(super::answers::unix_ms())
                    .into_iter()
                    .map(|(name, value)| (name.into(), value)),
            );
            if let Some(body) = verdict.refusal_body() {
                let response = super::answers::json_response(headers, 429, body);
                let reply = caller.reply();
                return self.answer(out, reply, response, in_http);
            }
        }
        self.run_call(out, call, in_http)
    }
}
