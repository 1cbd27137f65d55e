//! Failed logins per login name, on one core: after `FAILURES_MAX` wrong passwords for a
//! name within `WINDOW_MS`, that name is refused (429) without hashing until the oldest
//! failure leaves the window.
//!
//! Why: the per-core hash budget (`world::password::HashBudget`) bounds how fast a core
//! hashes for everyone, but one attacker could spend all of it guessing one account's
//! password. This bounds guesses per account: `FAILURES_MAX` per window per core, so
//! `cores × FAILURES_MAX` per minute at most. Names that do not exist are counted the same
//! way, so the throttle does not tell which names exist either.
//!
//! Memory: at most `NAMES_MAX` names are tracked; a full table first forgets names whose
//! failures have all expired, then evicts an arbitrary one (that name may be guessed
//! `FAILURES_MAX` times more).
//!
//! Known gap: counted per core (a login is answered on the core that receives it), not
//! across cores; and not per source address (the application does not see it).

use std::collections::{HashMap, VecDeque};

/// Wrong passwords allowed per name and window, per core.
pub(super) const FAILURES_MAX: usize = 5;
/// The window, in milliseconds (monotonic).
const WINDOW_MS: u64 = 60_000;
/// Names tracked at most.
const NAMES_MAX: usize = 16_384;

/// One core's failed logins by name.
#[derive(Debug, Default)]
pub(super) struct LoginThrottle {
    failures: HashMap<String, VecDeque<u64>>,
}

impl LoginThrottle {
    /// `Err(wait_ms)` while `name` may not try again; `Ok` otherwise.
    pub(super) fn check(&mut self, name: &str, now_ms: u64) -> Result<(), u64> {
        let Some(log) = self.failures.get_mut(name) else {
            return Ok(());
        };
        while log.front().is_some_and(|at| at + WINDOW_MS <= now_ms) {
            log.pop_front();
        }
        if log.len() < FAILURES_MAX {
            return Ok(());
        }
        let oldest = *log.front().expect("FAILURES_MAX > 0 entries");
        Err((oldest + WINDOW_MS).saturating_sub(now_ms).max(1))
    }

    /// A wrong password (or an unknown name) for `name` at `now_ms`.
    pub(super) fn failed(&mut self, name: &str, now_ms: u64) {
        if !self.failures.contains_key(name) && self.failures.len() >= NAMES_MAX {
            self.failures
                .retain(|_, log| log.back().is_some_and(|at| at + WINDOW_MS > now_ms));
            if self.failures.len() >= NAMES_MAX {
                let victim = self.failures.keys().next().cloned();
                if let Some(victim) = victim {
                    self.failures.remove(&victim);
                }
            }
        }
        let log = self.failures.entry(name.to_string()).or_default();
        log.push_back(now_ms);
        if log.len() > FAILURES_MAX {
            log.pop_front();
        }
    }

    /// A right password for `name`: its failures are forgotten.
    pub(super) fn succeeded(&mut self, name: &str) {
        self.failures.remove(name);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.failures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_a_name_for_the_rest_of_the_minute() {
        let mut throttle = LoginThrottle::default();
        for at in 0..FAILURES_MAX as u64 {
            assert_eq!(throttle.check("ada", at * 1_000), Ok(()));
            throttle.failed("ada", at * 1_000);
        }
        assert_eq!(throttle.check("ada", 10_000), Err(50_000));
        assert_eq!(
            throttle.check("bob", 10_000),
            Ok(()),
            "other names are free"
        );
        assert_eq!(
            throttle.check("ada", 60_000),
            Ok(()),
            "the oldest failure expired"
        );
        throttle.succeeded("ada");
        assert_eq!(throttle.tracked(), 0);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut throttle = LoginThrottle::default();
        for n in 0..NAMES_MAX + 10 {
            throttle.failed(&format!("name{n}"), 0);
        }
        assert!(throttle.tracked() <= NAMES_MAX);
    }
}
