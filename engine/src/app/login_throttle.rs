//! Password attempts per key within a sliding window: the logs behind the login
//! throttles. A key is a login name (on the name's home core) or a source address (on the
//! core that received the request); `logins.rs` decides what counts.
//!
//! Why: the per-core hash budget (`world::password::HashBudget`) bounds how fast a core
//! hashes for everyone, but one attacker could spend all of it guessing one account's
//! password, or create accounts as fast as the budget allows. These logs bound guesses per
//! account and attempts per address.
//!
//! An attempt is counted when it begins (`begin`), before its password is hashed, so
//! attempts running at once cannot all slip past the count; one that turns out not to
//! count (a right password, or one never hashed) is taken back (`forgive`, `forget`).
//!
//! Memory: at most `KEYS_MAX` keys are tracked; a full table first forgets keys whose
//! attempts have all expired, then evicts an arbitrary one (that key may try `max` times
//! more).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Wrong passwords allowed per login name and window, across every core.
pub(super) const NAME_FAILURES_MAX: usize = 5;
/// The window, in milliseconds (monotonic).
pub(super) const WINDOW_MS: u64 = 60_000;
/// Keys tracked at most.
const KEYS_MAX: usize = 16_384;

/// Recent attempts by key: at most `max` within `WINDOW_MS`.
#[derive(Debug)]
pub(super) struct AttemptLog<K> {
    /// Attempts allowed per key and window; 0: no limit, nothing is recorded.
    max: usize,
    attempts: HashMap<K, VecDeque<u64>>,
}

impl<K: Hash + Eq + Clone> AttemptLog<K> {
    /// A log allowing `max` attempts per key and window (0: no limit).
    pub(super) fn new(max: usize) -> AttemptLog<K> {
        AttemptLog {
            max,
            attempts: HashMap::new(),
        }
    }

    /// `Err(wait_ms)` while `key` may not try again; otherwise the attempt is counted.
    pub(super) fn begin(&mut self, key: &K, now_ms: u64) -> Result<(), u64> {
        if self.max == 0 {
            return Ok(());
        }
        if let Some(log) = self.attempts.get_mut(key) {
            while log.front().is_some_and(|at| at + WINDOW_MS <= now_ms) {
                log.pop_front();
            }
            if log.len() >= self.max {
                let oldest = *log.front().expect("max > 0 entries");
                return Err((oldest + WINDOW_MS).saturating_sub(now_ms).max(1));
            }
        }
        self.make_room(key, now_ms);
        let log = self.attempts.entry(key.clone()).or_default();
        log.push_back(now_ms);
        debug_assert!(log.len() <= self.max);
        Ok(())
    }

    /// One attempt of `key` does not count after all (it was never hashed, or it was
    /// right and this log counts only failures per address).
    pub(super) fn forgive(&mut self, key: &K) {
        if let Some(log) = self.attempts.get_mut(key) {
            log.pop_back();
            if log.is_empty() {
                self.attempts.remove(key);
            }
        }
    }

    /// Every attempt of `key` is forgotten (a right password for a name).
    pub(super) fn forget(&mut self, key: &K) {
        self.attempts.remove(key);
    }

    /// Before a new key goes in: a full table forgets expired keys, then an arbitrary one.
    fn make_room(&mut self, key: &K, now_ms: u64) {
        if self.attempts.contains_key(key) || self.attempts.len() < KEYS_MAX {
            return;
        }
        self.attempts
            .retain(|_, log| log.back().is_some_and(|at| at + WINDOW_MS > now_ms));
        if self.attempts.len() >= KEYS_MAX {
            let victim = self.attempts.keys().next().cloned();
            if let Some(victim) = victim {
                self.attempts.remove(&victim);
            }
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.attempts.len()
    }
}

/// The core that counts `name`'s failed logins, whichever core receives them: FNV-1a of
/// the (lowercased) name, modulo the core count. Any function the cores agree on would do;
/// this one is fixed, so it never depends on a hasher's seed.
pub(super) fn name_core(name: &str, cores: usize) -> usize {
    debug_assert!(cores > 0);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % cores as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_attempts_lock_a_name_for_the_rest_of_the_minute() {
        let mut log = AttemptLog::new(NAME_FAILURES_MAX);
        let ada = "ada".to_string();
        for at in 0..NAME_FAILURES_MAX as u64 {
            assert_eq!(log.begin(&ada, at * 1_000), Ok(()));
        }
        assert_eq!(log.begin(&ada, 10_000), Err(50_000));
        assert_eq!(
            log.begin(&"bob".to_string(), 10_000),
            Ok(()),
            "other names are free"
        );
        assert_eq!(log.begin(&ada, 60_000), Ok(()), "the oldest expired");
        log.forget(&ada);
        log.forget(&"bob".to_string());
        assert_eq!(log.tracked(), 0);
    }

    #[test]
    fn a_forgiven_attempt_does_not_count() {
        let mut log = AttemptLog::new(2);
        let key = "10.0.0.1".to_string();
        for _ in 0..10 {
            assert_eq!(log.begin(&key, 0), Ok(()));
            log.forgive(&key);
        }
        assert_eq!(log.tracked(), 0);
        assert_eq!(log.begin(&key, 0), Ok(()));
        assert_eq!(log.begin(&key, 0), Ok(()));
        assert!(log.begin(&key, 0).is_err());
    }

    #[test]
    fn zero_is_no_limit() {
        let mut log = AttemptLog::new(0);
        for _ in 0..1_000 {
            assert_eq!(log.begin(&1u8, 0), Ok(()));
        }
        assert_eq!(log.tracked(), 0);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut log = AttemptLog::new(NAME_FAILURES_MAX);
        for n in 0..KEYS_MAX + 10 {
            log.begin(&format!("name{n}"), 0).unwrap();
        }
        assert!(log.tracked() <= KEYS_MAX);
    }

    #[test]
    fn every_core_is_some_name_s_home() {
        for cores in 1..=8 {
            let mut seen = vec![false; cores];
            for n in 0..1_000 {
                let core = name_core(&format!("user_{n}"), cores);
                assert!(core < cores);
                seen[core] = true;
            }
            assert!(seen.iter().all(|s| *s), "{cores} cores: {seen:?}");
        }
        assert_eq!(name_core("ada", 4), name_core("ada", 4));
    }
}
