//! The open-loop publishing schedule: when each post is due, whatever the server does.
//!
//! `P` publishers share one rate `R`. Post number `g = k·P + i` of the window (publisher
//! `i`'s `k`-th post) is due at `start + g / R`, so the publishers' posts interleave
//! evenly and the total is `R` posts per second. The window holds `round(R · duration)`
//! posts. A post that leaves after its due time is *late*; its latencies still count from
//! the due time, so a slow server cannot hide its slowness by slowing the client down
//! (no coordinated omission).

use std::time::Duration;

/// One window's schedule. Times are nanoseconds after the fleet's epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Publishers sharing the rate.
    pub publishers: u32,
    /// Posts per second, all publishers together.
    pub rate_per_s: f64,
    /// When post 0 is due.
    pub start_ns: u64,
    /// Posts in the window, all publishers together.
    pub total_posts: u64,
}

impl Schedule {
    /// A window of `duration` at `rate_per_s` starting at `start_ns`.
    pub fn new(publishers: u32, rate_per_s: f64, start_ns: u64, duration: Duration) -> Schedule {
        assert!(publishers > 0, "a schedule needs a publisher");
        assert!(
            rate_per_s > 0.0 && rate_per_s.is_finite(),
            "rate must be positive"
        );
        Schedule {
            publishers,
            rate_per_s,
            start_ns,
            total_posts: (rate_per_s * duration.as_secs_f64()).round() as u64,
        }
    }

    /// When publisher `publisher`'s post `seq` is due.
    pub fn due_ns(&self, publisher: u32, seq: u64) -> u64 {
        let index = seq * u64::from(self.publishers) + u64::from(publisher);
        self.start_ns + (index as f64 * 1e9 / self.rate_per_s) as u64
    }

    /// How many posts publisher `publisher` sends in the window.
    pub fn posts_for(&self, publisher: u32) -> u64 {
        let publisher = u64::from(publisher);
        let publishers = u64::from(self.publishers);
        if publisher >= self.total_posts {
            return 0;
        }
        (self.total_posts - publisher).div_ceil(publishers)
    }

    /// The most posts any one publisher sends (publisher 0's count).
    pub fn posts_per_publisher_max(&self) -> u64 {
        self.posts_for(0)
    }

    /// When the window ends: the due time of the first post after it.
    pub fn end_ns(&self) -> u64 {
        self.start_ns + (self.total_posts as f64 * 1e9 / self.rate_per_s) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_interleave_evenly_across_publishers() {
        let schedule = Schedule::new(4, 1000.0, 5_000, Duration::from_millis(10));
        assert_eq!(schedule.total_posts, 10);
        // Post g is due at start + g ms, whoever sends it.
        let mut due: Vec<u64> = (0..4)
            .flat_map(|i| (0..schedule.posts_for(i)).map(move |k| schedule.due_ns(i, k)))
            .collect();
        due.sort_unstable();
        let expected: Vec<u64> = (0..10).map(|g| 5_000 + g * 1_000_000).collect();
        assert_eq!(due, expected);
        assert_eq!(schedule.due_ns(1, 2), 5_000 + 9 * 1_000_000);
        assert_eq!(schedule.end_ns(), 5_000 + 10_000_000);
    }

    #[test]
    fn post_counts_add_up_whatever_the_split() {
        for (publishers, total) in [(1, 0), (1, 7), (3, 7), (8, 5), (8, 8), (8, 1201)] {
            let schedule = Schedule {
                publishers,
                rate_per_s: 100.0,
                start_ns: 0,
                total_posts: total,
            };
            let sum: u64 = (0..publishers).map(|i| schedule.posts_for(i)).sum();
            assert_eq!(sum, total, "{publishers} publishers, {total} posts");
            assert!((0..publishers)
                .all(|i| schedule.posts_for(i) <= schedule.posts_per_publisher_max()));
        }
    }

    #[test]
    fn the_rate_is_kept_over_long_windows() {
        let schedule = Schedule::new(8, 1200.0, 0, Duration::from_secs(5));
        assert_eq!(schedule.total_posts, 6000);
        let last = schedule.due_ns(7, schedule.posts_for(7) - 1);
        assert!((4_999_000_000..5_000_000_000).contains(&last), "{last}");
    }
}
