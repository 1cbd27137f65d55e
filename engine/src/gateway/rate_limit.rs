//! The client payload rate limit: at most 120 payloads per 60 s, or close 4008.
//!
//! Counting: every payload counts, heartbeats included, as on Discord. discord.py limits
//! itself to 110 per 60 s and sends heartbeats outside that limiter; at one heartbeat per
//! 41.25 s it stays at or under 112 in any of our windows' worth of its own sends.
//!
//! Window: fixed, starting at the first payload after the previous window ended, like the
//! limiters in the clients. A fixed window lets a burst straddle two windows (up to 2× the
//! limit in a short time); the alternative, an exact sliding log, costs 120 timestamps per
//! session for little gain.

use super::time::Micros;

/// A fixed-window counter.
///
/// ```
/// use engine::gateway::{CommandLimiter, Micros};
/// let mut limit = CommandLimiter::new(2, 60_000_000);
/// assert!(limit.admit(Micros(0)) && limit.admit(Micros(1)));
/// assert!(!limit.admit(Micros(2)));
/// assert!(limit.admit(Micros(60_000_000)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CommandLimiter {
    count_max: u32,
    window_us: u64,
    window_end: Micros,
    count: u32,
}

impl CommandLimiter {
    pub fn new(count_max: u32, window_us: u64) -> CommandLimiter {
        CommandLimiter {
            count_max,
            window_us,
            window_end: Micros(0),
            count: 0,
        }
    }

    /// Counts one payload at `now`; false once the window's budget is spent.
    pub fn admit(&mut self, now: Micros) -> bool {
        if now >= self.window_end {
            self.window_end = now.plus_us(self.window_us);
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.count <= self.count_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hundred_twenty_per_minute_then_refused_then_reset() {
        let mut limit = CommandLimiter::new(120, 60_000_000);
        let start = Micros(5_000_000);
        for i in 0..120 {
            assert!(limit.admit(start.plus_us(i * 1000)), "payload {i}");
        }
        assert!(!limit.admit(start.plus_ms(59_999)));
        assert!(limit.admit(start.plus_ms(60_000)));
    }
}
