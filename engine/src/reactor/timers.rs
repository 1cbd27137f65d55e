//! The reactor's connection deadlines: one min-heap for every connection of the core.
//!
//! Why a heap: every open connection now has a deadline (an HTTP connection waits for its
//! request head, its body or its next request; a closing one for its peer), so a core with
//! 19,000 connections cannot look at each of them every loop turn to find the next one.
//! `schedule` and `pop_due` are O(log n); the next deadline is at the top.
//!
//! Entries are lazy: a connection's deadline changes far more often than it fires (every
//! request moves it), so the reactor does not remove an entry when the deadline moves. It
//! keeps, per connection, the time of the entry it trusts (`Conn::timer_at`), schedules a
//! new entry only when the deadline moves *earlier*, and on `pop_due` skips entries that
//! are not the trusted one, or re-schedules a connection whose deadline moved later. So the
//! heap holds at most a few entries per connection, and a stale entry costs one pop.
//!
//! Invariant: entries pop in time order; ties in the order they were scheduled.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// One scheduled deadline: the connection's slab key and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timer {
    pub at: Instant,
    /// Tie-break: the order of `schedule` calls.
    order: u64,
    pub key: usize,
    pub generation: u32,
}

/// Deadlines of one core's connections.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
    scheduled: u64,
}

impl Timers {
    pub(crate) fn schedule(&mut self, at: Instant, key: usize, generation: u32) {
        self.scheduled += 1;
        self.heap.push(Reverse(Timer {
            at,
            order: self.scheduled,
            key,
            generation,
        }));
    }

    /// The earliest entry's time (perhaps a stale entry's: waking for it is harmless).
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(timer)| timer.at)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(timer)| timer)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    #[test]
    fn nothing_is_due_before_its_time() {
        let start = Instant::now();
        let mut timers = Timers::default();
        timers.schedule(start + Duration::from_millis(5), 1, 0);
        assert_eq!(timers.next(), Some(start + Duration::from_millis(5)));
        assert!(timers.pop_due(start).is_none());
        let due = timers
            .pop_due(start + Duration::from_millis(5))
            .expect("due");
        assert_eq!((due.key, due.generation), (1, 0));
        assert!(timers.pop_due(start + Duration::from_secs(1)).is_none());
        assert_eq!(timers.len(), 0);
    }

    proptest! {
        /// Whatever the order of scheduling, entries come out sorted by time, ties in
        /// scheduling order, and only once due.
        #[test]
        fn pops_in_time_order(offsets in proptest::collection::vec(0u64..50, 0..64), cut in 0u64..60) {
            let start = Instant::now();
            let mut timers = Timers::default();
            for (key, &ms) in offsets.iter().enumerate() {
                timers.schedule(start + Duration::from_millis(ms), key, 7);
            }
            let now = start + Duration::from_millis(cut);
            let mut popped = Vec::new();
            while let Some(timer) = timers.pop_due(now) {
                prop_assert!(timer.at <= now);
                popped.push((timer.at, timer.key));
            }
            let mut expected: Vec<_> = offsets
                .iter()
                .enumerate()
                .filter(|&(_, &ms)| ms <= cut)
                .map(|(key, &ms)| (start + Duration::from_millis(ms), key))
                .collect();
            expected.sort();
            prop_assert_eq!(popped, expected);
            prop_assert_eq!(timers.len(), offsets.iter().filter(|&&ms| ms > cut).count());
        }
    }
}
