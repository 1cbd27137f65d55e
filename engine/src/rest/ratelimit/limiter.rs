//! The limiter state: one sliding log per bucket and one per token for the global limit.
//!
//! Window: a *sliding log*. A bucket remembers the times of its last `limit` admissions
//! and admits a request at `now` only if fewer than `limit` of them lie in
//! `(now - window, now]`. So no bucket ever admits more than `limit` requests in *any*
//! interval of its window's length; a fixed window would let a burst straddle a reset and
//! admit twice the limit (the property test checks this against a naive log). The cost
//! is `limit` timestamps per live bucket, at most 50.
//!
//! What the headers promise: after an admission, `Remaining` is what the log still has
//! room for now, and `Reset-After` is when the *whole* log has expired (newest admission
//! plus the window). Clients model a bucket as "`Remaining` until the reset, then
//! `Limit`" (discord.py, discord.js, twilight); with a sliding log room only grows until
//! then, so a client that obeys the headers is never refused. On a 429, `retry_after` is
//! tighter: when the oldest admission in the window expires and one request fits again.
//!
//! Order of checks: the token's global log first (a 429 there has scope `global`), then
//! the route bucket (scope `user`). A request counts against both only when both admit it;
//! refused requests count against nothing, so a client that keeps hammering one exhausted
//! bucket does not lose its global budget for other routes.
//!
//! Memory: a log whose newest admission is a window old is indistinguishable from no log,
//! so `prune` drops it without granting anything. At most `buckets_max` route logs and
//! `users_max` global logs exist; when a new one is needed and the table is full even
//! after a prune, a live log is evicted: first one of the same user's (it can only loosen
//! that user's own route limits, never their global one), else an arbitrary one. Refusing
//! instead would let a few hundred accounts that fill the table (one user holds at most
//! 50 × 10 = 500 route logs) lock every other user out with 429s. The price of an
//! eviction is bounded: the evicted log's owner may be admitted up to one more window's
//! worth on that bucket (or, for a global log, once more in that second).
//!
//! Time: `now_ms` is a monotonic millisecond count supplied by the caller (never wall
//! time, which can step back). A `now_ms` below one already seen is treated as that one,
//! so windows never reopen early.

use super::routes::{Policy, RouteClass};
use super::Verdict;
use std::collections::{HashMap, VecDeque};

/// The limiter's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Requests per token per `global_window_ms`, all routes together (Discord: 50/s).
    pub global_limit: u32,
    /// The global window in milliseconds.
    pub global_window_ms: u64,
    /// Route logs kept at most (each at most `limit` timestamps).
    pub buckets_max: usize,
    /// Global (per-token) logs kept at most.
    pub users_max: usize,
}

impl Default for RateLimitConfig {
    /// Discord's global 50 requests per second; room for 65 536 live route buckets and
    /// 16 384 active tokens per core (a few MB at the worst).
    fn default() -> Self {
        RateLimitConfig {
            global_limit: 50,
            global_window_ms: 1_000,
            buckets_max: 65_536,
            users_max: 16_384,
        }
    }
}

/// What one request is limited by: whose token, which route, which major parameter.
/// `Copy` and small, so a core that is not the token's home core can send it over the
/// mesh and get a `Verdict` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BucketKey {
    /// The token's user id.
    pub user_id: u64,
    /// The route row and major parameter (`classify`).
    pub route: RouteClass,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The route bucket of this user is spent (`X-RateLimit-Scope: user`).
    User,
    /// The token's global budget is spent (`X-RateLimit-Scope: global`,
    /// `X-RateLimit-Global: true`, `"global": true`).
    Global,
}

/// A per-core REST rate limiter. Owned by one core; see the module docs of
/// `rest::ratelimit` for how cores share it.
///
/// ```
/// use engine::rest::ratelimit::{classify, BucketKey, RateLimiter};
/// use engine::rest::Method;
/// let mut limiter = RateLimiter::default();
/// let key = BucketKey { user_id: 1, route: classify(Method::Post, "/api/v10/channels/9/messages") };
/// for _ in 0..5 {
///     assert!(limiter.check(key, 0).is_admitted());
/// }
/// let refused = limiter.check(key, 1_000);
/// assert_eq!(refused.retry_after_ms(), Some(4_000));
/// assert!(limiter.check(key, 5_000).is_admitted());
/// ```
#[derive(Debug, Default)]
pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: HashMap<BucketKey, Log>,
    globals: HashMap<u64, Log>,
    now_last_ms: u64,
}

impl RateLimiter {
    /// A limiter with `config`.
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        assert!(config.global_limit >= 1 && config.global_window_ms >= 1);
        assert!(config.buckets_max >= 1 && config.users_max >= 1);
        RateLimiter {
            config,
            buckets: HashMap::new(),
            globals: HashMap::new(),
            now_last_ms: 0,
        }
    }

    /// Counts one request for `key` at `now_ms` if both the token's global budget and the
    /// route bucket have room; otherwise refuses it and counts nothing.
    pub fn check(&mut self, key: BucketKey, now_ms: u64) -> Verdict {
        let now = now_ms.max(self.now_last_ms);
        self.now_last_ms = now;
        let policy = key.route.policy();
        let global = Policy {
            limit: self.config.global_limit,
            window_ms: self.config.global_window_ms,
        };
        // The route bucket's state as it stands, for the headers of any refusal.
        let route_state = match self.buckets.get_mut(&key) {
            Some(log) => {
                log.expire(now);
                (log.len(), log.reset_after_ms(now))
            }
            None => (0, policy.window_ms),
        };
        let refuse = |scope, retry_after_ms: u64| {
            Verdict::refused(
                key.route,
                route_state.0,
                route_state.1,
                scope,
                retry_after_ms,
            )
        };
        if let Some(log) = self.globals.get_mut(&key.user_id) {
            log.expire(now);
            if log.is_full() {
                return refuse(Scope::Global, log.retry_after_ms(now));
            }
        }
        if let Some(log) = self.buckets.get(&key) {
            if log.is_full() {
                return refuse(Scope::User, log.retry_after_ms(now));
            }
        }
        self.make_room(key, now);
        self.globals
            .entry(key.user_id)
            .or_insert_with(|| Log::new(global))
            .admit(now);
        debug_assert!(self.globals.len() <= self.config.users_max);
        let log = self.buckets.entry(key).or_insert_with(|| Log::new(policy));
        log.admit(now);
        let verdict = Verdict::admitted(key.route, log.len(), log.reset_after_ms(now));
        debug_assert!(self.buckets.len() <= self.config.buckets_max);
        verdict
    }

    /// Forgets every log whose admissions have all left their window. Exact: a forgotten
    /// log behaves like the empty log it is. Call it on a tick (once a second is plenty)
    /// so memory follows the load; `check` also calls it when a table is full.
    pub fn prune(&mut self, now_ms: u64) {
        let now = now_ms.max(self.now_last_ms);
        self.buckets.retain(|_, log| !log.is_expired(now));
        self.globals.retain(|_, log| !log.is_expired(now));
    }

    /// Live route logs (for metrics and tests).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Live global logs (for metrics and tests).
    pub fn user_count(&self) -> usize {
        self.globals.len()
    }

    /// Ensures both tables can take `key`'s logs: prunes, then evicts if still full.
    fn make_room(&mut self, key: BucketKey, now: u64) {
        let bucket_missing = !self.buckets.contains_key(&key);
        let global_missing = !self.globals.contains_key(&key.user_id);
        let buckets_full = bucket_missing && self.buckets.len() >= self.config.buckets_max;
        let globals_full = global_missing && self.globals.len() >= self.config.users_max;
        if !buckets_full && !globals_full {
            return;
        }
        self.prune(now);
        if bucket_missing && self.buckets.len() >= self.config.buckets_max {
            let own = self
                .buckets
                .keys()
                .find(|k| k.user_id == key.user_id)
                .copied();
            let victim = own.or_else(|| self.buckets.keys().next().copied());
            if let Some(victim) = victim {
                self.buckets.remove(&victim);
            }
        }
        if global_missing && self.globals.len() >= self.config.users_max {
            let victim = self.globals.keys().next().copied();
            if let Some(victim) = victim {
                self.globals.remove(&victim);
            }
        }
    }
}

/// The admission times of one bucket, oldest first, at most `policy.limit` of them.
#[derive(Debug)]
struct Log {
    policy: Policy,
    admitted_ms: VecDeque<u64>,
}

impl Log {
    fn new(policy: Policy) -> Log {
        Log {
            policy,
            admitted_ms: VecDeque::with_capacity(policy.limit.min(64) as usize),
        }
    }

    fn len(&self) -> u32 {
        // At most `limit`, a u32 (asserted in `admit`).
        self.admitted_ms.len() as u32
    }

    fn is_full(&self) -> bool {
        self.len() >= self.policy.limit
    }

    /// Drops admissions that left the window `(now - window, now]`.
    fn expire(&mut self, now: u64) {
        while let Some(&oldest) = self.admitted_ms.front() {
            if oldest + self.policy.window_ms > now {
                break;
            }
            self.admitted_ms.pop_front();
        }
    }

    fn is_expired(&self, now: u64) -> bool {
        self.admitted_ms
            .back()
            .is_none_or(|&newest| newest + self.policy.window_ms <= now)
    }

    /// Milliseconds until the whole log has expired (0 if it has).
    fn expiry_ms(&self, now: u64) -> u64 {
        self.admitted_ms.back().map_or(0, |&newest| {
            (newest + self.policy.window_ms).saturating_sub(now)
        })
    }

    /// Milliseconds until the bucket is full again: the `Reset-After` header. A fresh
    /// bucket reports its window, as Discord does for a bucket just opened.
    fn reset_after_ms(&self, now: u64) -> u64 {
        match self.expiry_ms(now) {
            0 => self.policy.window_ms,
            ms => ms,
        }
    }

    /// Milliseconds until a full log has room for one more (the oldest one expires).
    fn retry_after_ms(&self, now: u64) -> u64 {
        debug_assert!(self.is_full(), "only a full log refuses");
        let oldest = self.admitted_ms.front().copied().unwrap_or(now);
        (oldest + self.policy.window_ms).saturating_sub(now).max(1)
    }

    fn admit(&mut self, now: u64) {
        self.expire(now);
        assert!(!self.is_full(), "admit only after checking for room");
        debug_assert!(self.admitted_ms.back().is_none_or(|&newest| newest <= now));
        self.admitted_ms.push_back(now);
        debug_assert!(self.len() <= self.policy.limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::ratelimit::classify;
    use crate::rest::Method;

    fn key(user_id: u64, method: Method, path: &str) -> BucketKey {
        BucketKey {
            user_id,
            route: classify(method, path),
        }
    }

    fn messages(user_id: u64, channel: u64) -> BucketKey {
        key(
            user_id,
            Method::Post,
            &format!("/api/v10/channels/{channel}/messages"),
        )
    }

    #[test]
    fn five_messages_pass_the_sixth_waits_for_the_oldest() {
        let mut limiter = RateLimiter::default();
        let key = messages(1, 10);
        for (i, at) in [0, 100, 200, 300, 400].into_iter().enumerate() {
            let verdict = limiter.check(key, at);
            assert!(verdict.is_admitted(), "message {i}");
            assert_eq!(verdict.remaining(), 4 - i as u32);
            assert_eq!(verdict.reset_after_ms(), 5_000);
        }
        let refused = limiter.check(key, 1_000);
        assert_eq!(refused.scope(), Some(Scope::User));
        assert_eq!(
            refused.retry_after_ms(),
            Some(4_000),
            "until the first expires"
        );
        assert_eq!(refused.remaining(), 0);
        assert_eq!(refused.reset_after_ms(), 4_400, "until the last expires");
        assert!(!limiter.check(key, 4_999).is_admitted());
        let verdict = limiter.check(key, 5_000);
        assert!(verdict.is_admitted());
        assert_eq!(verdict.remaining(), 0, "four are still in the window");
        assert!(!limiter.check(key, 5_099).is_admitted());
        assert!(limiter.check(key, 5_100).is_admitted());
    }

    #[test]
    fn refusals_count_against_nothing() {
        let mut limiter = RateLimiter::default();
        let key = key(
            1,
            Method::Put,
            "/api/v10/channels/1/messages/2/reactions/x/@me",
        );
        assert!(limiter.check(key, 0).is_admitted());
        for at in 1..250 {
            assert!(!limiter.check(key, at).is_admitted());
        }
        assert!(limiter.check(key, 250).is_admitted());
        let other = messages(1, 1);
        for _ in 0..5 {
            assert!(
                limiter.check(other, 300).is_admitted(),
                "global budget intact"
            );
        }
    }

    #[test]
    fn channels_and_users_are_independent() {
        let mut limiter = RateLimiter::default();
        for _ in 0..5 {
            assert!(limiter.check(messages(1, 10), 0).is_admitted());
        }
        assert!(!limiter.check(messages(1, 10), 0).is_admitted());
        assert!(
            limiter.check(messages(1, 11), 0).is_admitted(),
            "other channel"
        );
        assert!(
            limiter.check(messages(2, 10), 0).is_admitted(),
            "other user"
        );
    }

    #[test]
    fn global_limit_is_fifty_per_second_across_routes() {
        let mut limiter = RateLimiter::default();
        for channel in 0..50 {
            assert!(limiter.check(messages(1, channel), 0).is_admitted());
        }
        let refused = limiter.check(messages(1, 99), 500);
        assert_eq!(refused.scope(), Some(Scope::Global));
        assert_eq!(refused.retry_after_ms(), Some(500));
        assert!(
            limiter.check(messages(2, 99), 500).is_admitted(),
            "per token"
        );
        assert!(limiter.check(messages(1, 99), 1_000).is_admitted());
    }

    #[test]
    fn time_going_back_never_reopens_a_window() {
        let mut limiter = RateLimiter::default();
        let key = key(1, Method::Post, "/api/v10/channels/1/messages/bulk-delete");
        assert!(limiter.check(key, 10_000).is_admitted());
        assert!(!limiter.check(key, 0).is_admitted());
        assert!(limiter.check(key, 11_000).is_admitted());
    }

    #[test]
    fn prune_forgets_expired_logs_only() {
        let mut limiter = RateLimiter::default();
        for channel in 0..40 {
            limiter.check(messages(1, channel), 0);
        }
        limiter.check(key(2, Method::Get, "/api/v10/users/@me"), 4_500);
        assert_eq!(limiter.bucket_count(), 41);
        limiter.prune(4_999);
        assert_eq!(limiter.bucket_count(), 41, "nothing has expired yet");
        limiter.prune(5_000);
        assert_eq!(limiter.bucket_count(), 1);
        assert_eq!(limiter.user_count(), 1);
        limiter.prune(5_500);
        assert_eq!((limiter.bucket_count(), limiter.user_count()), (0, 0));
    }

    #[test]
    fn a_full_table_evicts_and_never_locks_anyone_out() {
        let mut limiter = RateLimiter::new(RateLimitConfig {
            buckets_max: 3,
            ..RateLimitConfig::default()
        });
        // User 1 fills the table with three channels' buckets.
        for channel in 0..3 {
            assert!(limiter
                .check(messages(1, channel), channel * 1_000)
                .is_admitted());
        }
        // Another user is not refused: one of the table's logs makes room.
        assert!(limiter.check(messages(2, 9), 3_000).is_admitted());
        assert_eq!(limiter.bucket_count(), 3);
        // User 1's own new bucket evicts one of user 1's logs, not user 2's.
        assert!(limiter.check(messages(1, 3), 3_000).is_admitted());
        assert_eq!(limiter.bucket_count(), 3);
        assert!(limiter.buckets.contains_key(&messages(2, 9)));
        // The user table likewise never refuses a new token.
        let mut limiter = RateLimiter::new(RateLimitConfig {
            users_max: 2,
            ..RateLimitConfig::default()
        });
        for user in 1..=5 {
            assert!(limiter.check(messages(user, 1), 0).is_admitted());
            assert!(limiter.user_count() <= 2);
        }
    }
}
