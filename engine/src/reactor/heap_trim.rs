//! When the process gives freed heap memory back to the kernel.
//!
//! A burst (thousands of sessions identifying, each READY and GUILD_CREATE queued and kept
//! until the first heartbeat) leaves the allocator's arenas full of free chunks between
//! the allocations that stay. The C allocator returns only the top of an arena to the
//! kernel by itself, so those pages stay resident: at 5,000 idle sessions about 1.8 KB a
//! session. Core 0 looks once a second at how many bytes the allocator holds free and,
//! when that grew by `GROWTH_MIN` since its low point, asks it to return every whole free
//! page (`sys::heap_trim`). Pages a later burst needs are faulted in again, at most once a
//! second's worth. It looks only on a turn with nothing else to do (`Reactor::check_heap`):
//! under a 10,000-session fan-out the look itself took 6–11 ms and trims came every other
//! second, returning pages the load faulted straight back in.
//!
//! Invariants: at most one check per `CHECK_INTERVAL`; `free_low` is the least free
//! byte count seen since the last trim (so a free that follows reuse still counts).

use std::time::{Duration, Instant};

/// How often core 0 looks.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Growth of the allocator's free bytes that is worth a trim.
pub(crate) const GROWTH_MIN: usize = 1 << 20;

/// The trim policy's state: when to look next, and the free bytes' low point.
#[derive(Debug)]
pub(crate) struct HeapTrim {
    check_at: Instant,
    free_low: usize,
}

impl HeapTrim {
    /// The first check is due at once: whatever start-up freed (loading the world,
    /// building the application) goes back before the server takes its first connection,
    /// so the trims later are about what connections freed.
    pub(crate) fn new(now: Instant) -> HeapTrim {
        HeapTrim {
            check_at: now,
            free_low: 0,
        }
    }

    /// When the next check is due.
    pub(crate) fn check_at(&self) -> Instant {
        self.check_at
    }

    /// At or after `check_at`: given the allocator's free bytes now, whether to trim. The
    /// first check after start trims whatever start-up left (`free_low` starts at 0).
    pub(crate) fn check(&mut self, now: Instant, free_bytes: usize) -> bool {
        debug_assert!(now >= self.check_at, "checked before it was due");
        self.check_at = now + CHECK_INTERVAL;
        self.free_low = self.free_low.min(free_bytes);
        let trim = free_bytes - self.free_low >= GROWTH_MIN;
        if trim {
            // Trimmed pages stay free chunks: the count does not drop, only what is
            // freed from here on is new.
            self.free_low = free_bytes;
        }
        trim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_when_free_bytes_grew_past_their_low_point() {
        let start = Instant::now();
        let mut policy = HeapTrim::new(start);
        let mut now = policy.check_at();
        assert!(policy.check(now, 3 << 20), "start-up's free bytes");
        now = policy.check_at();
        assert!(!policy.check(now, 3 << 20), "nothing new");
        now = policy.check_at();
        assert!(!policy.check(now, 1 << 20), "reused");
        now = policy.check_at();
        assert!(
            !policy.check(now, (2 << 20) - 1),
            "less than GROWTH_MIN since the low"
        );
        now = policy.check_at();
        assert!(policy.check(now, 2 << 20), "freed again after reuse");
        assert_eq!(policy.check_at(), now + CHECK_INTERVAL);
    }
}
