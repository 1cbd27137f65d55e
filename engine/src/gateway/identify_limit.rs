//! Identify rate limiting per user: `max_concurrency` buckets and the daily session budget.
//!
//! Implements: Discord's "Session Start Limit" and "Sharding for Large Bots / max_concurrency".
//! - A user's Identifies fall into `max_concurrency` buckets, `bucket = shard_id % max_concurrency`;
//!   each bucket admits one Identify per `bucket_interval` (5 s).
//! - `total` session starts per `reset_period` (1000 per 24 h); each admitted Identify spends
//!   one, `remaining` counts down, and `reset_after` says when the budget refills.
//!   `GET /gateway/bot` reports the same numbers (`session_start_limit`).
//!
//! What a refused Identify gets: op 9 Invalid Session `d:false`, as Discord documents for
//! identifying too fast. Every client treats that as "wait, then identify again" (discord.py
//! sleeps 5 s first), which is exactly the back-off a bucket needs; a close code would make
//! discord.py try to *resume* instead. The connection stays open.
//!
//! This is a plain struct with no clock: the owner (the user's home core, or a replica on
//! each core) passes `now`. Memory: one small entry per user seen; `prune` drops entries
//! whose budget has refilled and whose buckets are idle.

use std::collections::HashMap;

use super::time::Micros;

/// Limits, Discord's by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifyLimitConfig {
    pub max_concurrency: u32,
    pub bucket_interval_us: u64,
    pub session_starts_total: u32,
    pub reset_period_us: u64,
}

impl Default for IdentifyLimitConfig {
    fn default() -> Self {
        IdentifyLimitConfig {
            max_concurrency: 1,
            bucket_interval_us: 5_000_000,
            session_starts_total: 1000,
            reset_period_us: 24 * 3600 * 1_000_000,
        }
    }
}

/// Why an Identify was refused (the session answers op 9 `d:false` either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifyRefusal {
    /// Another Identify in the same bucket less than `bucket_interval` ago.
    Concurrency { retry_after_us: u64 },
    /// The daily budget is spent.
    SessionStartLimit { reset_after_us: u64 },
}

/// A user's IDENTIFY budget as `GET /gateway/bot` reports it (`session_start_limit`):
/// `IdentifyLimiter::session_start_limit` computes it, `rest` renders it.
///
/// ```
/// use engine::gateway::SessionStartLimit;
/// let fresh = SessionStartLimit::default();
/// assert_eq!((fresh.total, fresh.remaining, fresh.max_concurrency), (1000, 1000, 1));
/// assert_eq!(fresh.reset_after_ms, 86_400_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStartLimit {
    /// IDENTIFYs allowed per reset period.
    pub total: u32,
    /// IDENTIFYs left in this period.
    pub remaining: u32,
    /// Milliseconds until `remaining` resets to `total`.
    pub reset_after_ms: u64,
    /// IDENTIFYs allowed per 5 seconds (one per bucket `shard_id % max_concurrency`).
    pub max_concurrency: u32,
}

impl Default for SessionStartLimit {
    /// The untouched budget under Discord's limits for a small bot (`IdentifyLimitConfig`'s
    /// defaults: 1000 a day, one at a time), for a user whose limiter is not at hand.
    fn default() -> Self {
        let config = IdentifyLimitConfig::default();
        SessionStartLimit {
            total: config.session_starts_total,
            remaining: config.session_starts_total,
            reset_after_ms: config.reset_period_us / 1000,
            max_concurrency: config.max_concurrency,
        }
    }
}

/// Per-user Identify limiter.
///
/// ```
/// use engine::gateway::{IdentifyLimiter, IdentifyLimitConfig, Micros};
/// let mut limits = IdentifyLimiter::new(IdentifyLimitConfig::default());
/// assert!(limits.try_identify(42, 0, Micros(0)).is_ok());
/// assert!(limits.try_identify(42, 0, Micros(1_000_000)).is_err()); // same bucket, < 5 s
/// assert!(limits.try_identify(42, 0, Micros(5_000_000)).is_ok());
/// assert_eq!(limits.session_start_limit(42, Micros(5_000_000)).remaining, 998);
/// ```
#[derive(Debug)]
pub struct IdentifyLimiter {
    config: IdentifyLimitConfig,
    users: HashMap<u64, UserLimit>,
}

#[derive(Debug)]
struct UserLimit {
    remaining: u32,
    reset_at: Micros,
    /// Per bucket: when it admits the next Identify.
    bucket_next: Vec<Micros>,
}

impl IdentifyLimiter {
    pub fn new(config: IdentifyLimitConfig) -> IdentifyLimiter {
        assert!(config.max_concurrency >= 1, "max_concurrency is at least 1");
        IdentifyLimiter {
            config,
            users: HashMap::new(),
        }
    }

    pub fn config(&self) -> IdentifyLimitConfig {
        self.config
    }

    /// Admits or refuses an Identify by `user_id` for gateway shard `shard_id` at `now`.
    /// An admitted Identify spends one session start and occupies its bucket.
    pub fn try_identify(
        &mut self,
        user_id: u64,
        shard_id: u32,
        now: Micros,
    ) -> Result<(), IdentifyRefusal> {
        let config = self.config;
        let user = self.user(user_id, now);
        let bucket = (shard_id % config.max_concurrency) as usize;
        if now < user.bucket_next[bucket] {
            return Err(IdentifyRefusal::Concurrency {
                retry_after_us: user.bucket_next[bucket].since(now),
            });
        }
        if user.remaining == 0 {
            return Err(IdentifyRefusal::SessionStartLimit {
                reset_after_us: user.reset_at.since(now),
            });
        }
        user.remaining -= 1;
        user.bucket_next[bucket] = now.plus_us(config.bucket_interval_us);
        Ok(())
    }

    /// What `GET /gateway/bot` reports for `user_id` at `now`.
    pub fn session_start_limit(&self, user_id: u64, now: Micros) -> SessionStartLimit {
        let config = self.config;
        let (remaining, reset_after_us) = match self.users.get(&user_id) {
            Some(user) if now < user.reset_at => (user.remaining, user.reset_at.since(now)),
            _ => (config.session_starts_total, config.reset_period_us),
        };
        SessionStartLimit {
            total: config.session_starts_total,
            remaining,
            reset_after_ms: reset_after_us / 1000,
            max_concurrency: config.max_concurrency,
        }
    }

    /// Forgets users whose budget has refilled and whose buckets are all open.
    pub fn prune(&mut self, now: Micros) {
        self.users
            .retain(|_, user| now < user.reset_at || user.bucket_next.iter().any(|t| now < *t));
    }

    /// Users currently tracked.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    fn user(&mut self, user_id: u64, now: Micros) -> &mut UserLimit {
        let config = self.config;
        let user = self.users.entry(user_id).or_insert_with(|| UserLimit {
            remaining: config.session_starts_total,
            reset_at: now.plus_us(config.reset_period_us),
            bucket_next: vec![Micros(0); config.max_concurrency as usize],
        });
        if now >= user.reset_at {
            user.remaining = config.session_starts_total;
            user.reset_at = now.plus_us(config.reset_period_us);
        }
        user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn buckets_are_shard_id_mod_max_concurrency() {
        let mut limits = IdentifyLimiter::new(IdentifyLimitConfig {
            max_concurrency: 2,
            ..Default::default()
        });
        let t = Micros(10 * S);
        assert!(limits.try_identify(1, 0, t).is_ok());
        assert!(
            limits.try_identify(1, 1, t).is_ok(),
            "shard 1 is in the other bucket"
        );
        assert_eq!(
            limits.try_identify(1, 2, t.plus_us(S)),
            Err(IdentifyRefusal::Concurrency {
                retry_after_us: 4 * S
            })
        );
        assert!(
            limits.try_identify(2, 0, t).is_ok(),
            "users are independent"
        );
        assert!(limits.try_identify(1, 2, t.plus_us(5 * S)).is_ok());
    }

    #[test]
    fn daily_budget_counts_down_and_refills() {
        let mut limits = IdentifyLimiter::new(IdentifyLimitConfig {
            session_starts_total: 2,
            bucket_interval_us: 0,
            reset_period_us: 100 * S,
            ..Default::default()
        });
        assert_eq!(limits.session_start_limit(7, Micros(0)).remaining, 2);
        assert!(limits.try_identify(7, 0, Micros(0)).is_ok());
        assert!(limits.try_identify(7, 0, Micros(S)).is_ok());
        let limit = limits.session_start_limit(7, Micros(10 * S));
        assert_eq!((limit.remaining, limit.reset_after_ms), (0, 90_000));
        assert_eq!(
            limits.try_identify(7, 0, Micros(10 * S)),
            Err(IdentifyRefusal::SessionStartLimit {
                reset_after_us: 90 * S
            })
        );
        assert!(limits.try_identify(7, 0, Micros(100 * S)).is_ok());
        assert_eq!(limits.session_start_limit(7, Micros(100 * S)).remaining, 1);
    }

    #[test]
    fn prune_forgets_idle_users() {
        let mut limits = IdentifyLimiter::new(IdentifyLimitConfig {
            reset_period_us: 10 * S,
            ..Default::default()
        });
        limits.try_identify(1, 0, Micros(0)).unwrap();
        limits.prune(Micros(9 * S));
        assert_eq!(limits.len(), 1);
        limits.prune(Micros(10 * S));
        assert!(limits.is_empty());
    }
}
