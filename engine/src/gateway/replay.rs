//! The per-session replay ring: the last dispatches sent (or owed) to a session.
//!
//! A Resume replays every event with `seq` greater than the client's; this ring is where they
//! come from. It doubles as the send queue: events the connection has not taken yet are the
//! ring's newest entries (`session.rs` tracks how far sending got).
//!
//! Bound: at most `len_max` events and `bytes_max` charged bytes (`Dispatch::ring_bytes`, the
//! framed size; the bytes themselves are shared with other sessions, so the charge is a
//! logical cap on what one session can pin). When a push would exceed either bound, the
//! oldest events are dropped; the newest event always stays, even if it alone exceeds
//! `bytes_max`. A Resume whose `seq` is older than the oldest kept event gets op 9 `d:false`.
//!
//! Events the client has acknowledged (op 1 Heartbeat carries the last `s` it received) are
//! dropped at once (`forget_through`): a Resume starts after the client's last sequence
//! number, so they are never replayed, and an idle session keeps no READY or GUILD_CREATE
//! it already delivered.
//!
//! Invariants:
//! - Kept sequence numbers are contiguous and end at `seq_last`.
//! - `len() <= len_max`, and `bytes() <= bytes_max` unless `len() == 1`.

use std::collections::VecDeque;
use std::sync::Arc;

use super::dispatch::Dispatch;

/// A bounded ring of `(seq, event)`.
///
/// ```
/// use engine::gateway::{Dispatch, DispatchScope, Intents, ReplayRing};
/// let mut ring = ReplayRing::new(2, 1 << 20);
/// for _ in 0..3 {
///     ring.push(Dispatch::new("X", b"{}".to_vec(), DispatchScope::User, Intents::empty()));
/// }
/// assert_eq!(ring.seq_last(), 3);
/// assert!(ring.covers(1) && !ring.covers(0)); // event 1 was dropped
/// ```
#[derive(Debug)]
pub struct ReplayRing {
    entries: VecDeque<Arc<Dispatch>>,
    bytes: usize,
    len_max: usize,
    bytes_max: usize,
    seq_last: u64,
}

impl ReplayRing {
    pub fn new(len_max: usize, bytes_max: usize) -> ReplayRing {
        assert!(len_max >= 1, "a replay ring must hold at least one event");
        ReplayRing {
            entries: VecDeque::new(),
            bytes: 0,
            len_max,
            bytes_max,
            seq_last: 0,
        }
    }

    /// Appends an event with the next sequence number and returns that number. Drops the
    /// oldest events past the bounds; returns how many were dropped too.
    pub fn push(&mut self, event: Arc<Dispatch>) -> (u64, usize) {
        let mut dropped = 0;
        // Room first, so a full ring never holds `len_max + 1` entries: the deque's
        // capacity stays at `len_max` rather than doubling past it.
        if self.entries.len() == self.len_max {
            self.drop_oldest();
            dropped += 1;
        }
        self.bytes += event.ring_bytes();
        self.entries.push_back(event);
        self.seq_last += 1;
        while self.bytes > self.bytes_max && self.entries.len() > 1 {
            self.drop_oldest();
            dropped += 1;
        }
        debug_assert!(self.entries.len() <= self.len_max);
        debug_assert!(self.bytes <= self.bytes_max || self.entries.len() == 1);
        (self.seq_last, dropped)
    }

    fn drop_oldest(&mut self) {
        let old = self.entries.pop_front().expect("a kept event to drop");
        self.bytes -= old.ring_bytes();
    }

    /// Drops the kept events up to and including `seq`; returns how many.
    pub fn forget_through(&mut self, seq: u64) -> usize {
        let mut dropped = 0;
        while self.seq_first() <= seq {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.ring_bytes();
            dropped += 1;
        }
        if self.entries.is_empty() {
            // The client has everything: an idle session keeps no capacity either (a
            // burst's, up to `len_max` slots). The next event allocates again.
            self.entries = VecDeque::new();
        }
        dropped
    }

    /// The last sequence number assigned (0 before the first event).
    pub fn seq_last(&self) -> u64 {
        self.seq_last
    }

    /// The oldest sequence number still kept (`seq_last + 1` when empty).
    pub fn seq_first(&self) -> u64 {
        self.seq_last + 1 - self.entries.len() as u64
    }

    /// Whether every event after `seq` is still here, so a Resume from `seq` can replay.
    pub fn covers(&self, seq: u64) -> bool {
        seq <= self.seq_last && seq + 1 >= self.seq_first()
    }

    /// The event with sequence number `seq`, if kept.
    pub fn get(&self, seq: u64) -> Option<&Arc<Dispatch>> {
        let index = seq.checked_sub(self.seq_first())?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Charged bytes currently kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{DispatchScope, Intents};

    fn event(d_len: usize) -> Arc<Dispatch> {
        let d = format!("\"{}\"", "x".repeat(d_len));
        Dispatch::new("E", d.into_bytes(), DispatchScope::User, Intents::empty())
    }

    #[test]
    fn empty_ring_covers_only_zero() {
        let ring = ReplayRing::new(4, 1000);
        assert!(ring.covers(0));
        assert!(!ring.covers(1));
        assert_eq!(ring.seq_first(), 1);
        assert!(ring.get(0).is_none() && ring.get(1).is_none());
    }

    #[test]
    fn a_ring_emptied_by_acknowledgement_keeps_no_capacity() {
        let mut ring = ReplayRing::new(8, usize::MAX);
        for _ in 0..5 {
            ring.push(event(1));
        }
        assert_eq!(ring.forget_through(3), 3);
        assert!(ring.entries.capacity() >= 2, "events left: capacity kept");
        assert_eq!(ring.forget_through(5), 2);
        assert_eq!(ring.entries.capacity(), 0);
        assert_eq!((ring.seq_first(), ring.seq_last()), (6, 5));
        assert_eq!(ring.push(event(1)).0, 6);
    }

    #[test]
    fn length_bound_drops_oldest() {
        let mut ring = ReplayRing::new(3, usize::MAX);
        for expected in 1..=5 {
            let (seq, _) = ring.push(event(1));
            assert_eq!(seq, expected);
        }
        assert_eq!((ring.len(), ring.seq_first(), ring.seq_last()), (3, 3, 5));
        assert!(!ring.covers(1));
        assert!(ring.covers(2)); // replays 3, 4, 5
        assert!(ring.covers(5));
        assert!(!ring.covers(6));
        assert!(ring.get(2).is_none());
        assert!(ring.get(3).is_some() && ring.get(5).is_some() && ring.get(6).is_none());
    }

    #[test]
    fn byte_bound_drops_oldest_but_keeps_the_newest() {
        let one = event(100).ring_bytes();
        let mut ring = ReplayRing::new(100, one * 2);
        ring.push(event(100));
        ring.push(event(100));
        assert_eq!(ring.len(), 2);
        let (_, dropped) = ring.push(event(100));
        assert_eq!((dropped, ring.len(), ring.bytes()), (1, 2, one * 2));
        let (_, dropped) = ring.push(event(10_000)); // bigger than the whole bound
        assert_eq!((dropped, ring.len()), (2, 1));
        assert_eq!(ring.seq_first(), 4);
        ring.push(event(100));
        assert_eq!(
            ring.len(),
            1,
            "the oversized event goes once a newer one arrives"
        );
    }
}
