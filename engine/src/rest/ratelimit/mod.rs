//! Discord's REST rate limits, sans-IO: per-route buckets, a global limit per token, and
//! the headers and 429 bodies clients act on.
//!
//! Why: real clients pace themselves from these headers (CLIENTS.md §1.5, §2, §3), and
//! expect Discord's limits: per-route buckets keyed by route, major parameter and user
//! (5 messages per 5 s per channel per user), a global 50 requests per second per token,
//! and 429s that each client can act on.
//!
//! The parts, one job each:
//! - `routes.rs`: `classify(method, path)` → `RouteClass` (a row of the `ROUTES` table:
//!   template, limit, window; plus the major parameter). Total: odd paths fall into one
//!   `unrouted` row.
//! - `limiter.rs`: `RateLimiter::check(BucketKey, now_ms)` → `Verdict`. Sliding logs, so
//!   no bucket ever admits more than its limit in any window; bounded tables; `prune`.
//! - `verdict.rs`: `Verdict::headers(now_unix_ms)` and `Verdict::refusal_body()`, the
//!   exact header names, formats and 429 body each client needs.
//!
//! `rest::handle_request_limited` puts them together for a request whose token's limiter
//! is at hand; `rest::handle_request_with` answers with a verdict decided elsewhere.
//!
//! Tests: unit tests beside each part, `engine/tests/rest_rate_limits.rs` (behaviour seen
//! through `handle_request_limited`, and a property test against a naive admission log),
//! and a fuzz target: from `engine/`, `cargo +nightly fuzz run rest_rate_limit`.
//!
//! No I/O and no clock: `now_ms` (monotonic, for windows) and `now_unix_ms` (wall clock,
//! only for the `X-RateLimit-Reset` header) are arguments.
//!
//! # Wiring it per core (what the engine must do)
//!
//! A token's budget must be counted in one place, or N cores would each admit the limit
//! and a client could get N times its budget by spreading connections. So each token's
//! logs live on its user's **home core**, `(user_id >> 22) % cores`, the same core that
//! already owns its identify budget (`gateway::IdentifyLimiter`). Each core owns one
//! `RateLimiter`, holding the logs of the users whose home it is. For a REST request on
//! core `c`:
//! 1. Authenticate (stateless HMAC check against the `Directory`) to get `user_id`, and
//!    `classify` the request: a `BucketKey { user_id, route }`.
//! 2. If `c` is the home core, `check` locally. Otherwise send the `BucketKey` (it is
//!    `Copy`, a few words) and `now_ms` to the home core over the mesh; the home core
//!    `check`s and sends the `Verdict` (also `Copy`) back. Monotonic clocks are the same
//!    `CLOCK_MONOTONIC` on every core, so `now_ms` from either side is fine; the limiter
//!    clamps a `now_ms` that is behind one it has seen.
//! 3. Call `rest::handle_request_with(context, request, &verdict)`: a refusal becomes the
//!    429 without running the handler; an admission runs it and carries the headers.
//!    Requests forwarded to a guild's owner core carry the verdict's headers with them.
//! 4. Call `prune(now_ms)` from the core's tick about once a second.
//!
//! Requests without a valid token are not counted (there is no token to key them by):
//! they get `Verdict::unmetered` headers. Discord limits those per IP (and counts 401,
//! 403 and 429 answers against an "invalid request" limit); that belongs to the HTTP
//! layer, which knows addresses, and is not done here.

mod limiter;
mod routes;
mod verdict;

pub use limiter::{BucketKey, RateLimitConfig, RateLimiter, Scope};
pub use routes::{classify, Major, Policy, RouteClass, ROUTES, UNROUTED, WINDOW_MAX_MS};
pub use verdict::{Verdict, RATE_LIMITED_MESSAGE};
