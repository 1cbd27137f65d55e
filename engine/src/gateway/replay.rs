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
//! it already delivered. READY goes as soon as it is sent (`identify_resume.rs`): a client
//! that did not get it has no session id to resume with.
//!
//! Storage: a fan-out gives a run of events to every session of a core at once
//! (`DispatchRun`), so a ring keeps such a run as one entry that shares the run's events
//! (`RunEvents`), not as one reference-counted entry per event. Taking a run costs a
//! session one entry and one reference count, whatever its length; a busy core does that
//! for every session per run, which is what made the per-event push a visible share of its
//! time (docs/BENCHMARKS.md, "fanout"). A run's entry keeps the whole run alive until the
//! last of its events is dropped, so a ring pins at most one run's events beyond what it is
//! charged for, and those are shared with every other session.
//!
//! Invariants:
//! - Kept sequence numbers are contiguous and end at `seq_last`.
//! - `len() <= len_max`, and `bytes() <= bytes_max` unless `len() == 1`.
//! - `len` is the sum of the entries' lengths, and no entry is empty.
//! - Taking a run leaves the ring exactly as taking its events one by one would.

use std::collections::VecDeque;
use std::sync::Arc;

use super::dispatch::Dispatch;

/// The events of one fan-out run, shared by the replay rings of every session that got it.
#[derive(Debug)]
pub struct RunEvents {
    events: Box<[Arc<Dispatch>]>,
    /// `charged[i]`: the sum of the first `i` events' `Dispatch::ring_bytes` (one more
    /// than there are events), so a ring drops any part of a run in one subtraction.
    charged: Box<[usize]>,
}

impl RunEvents {
    /// At least one event, and at most `u16::MAX` (a run is a few dozen).
    pub fn new(events: Vec<Arc<Dispatch>>) -> Arc<RunEvents> {
        assert!(
            !events.is_empty() && events.len() <= usize::from(u16::MAX),
            "a run has 1 to 65535 events"
        );
        let charged = std::iter::once(0)
            .chain(events.iter().scan(0, |sum, event| {
                *sum += event.ring_bytes();
                Some(*sum)
            }))
            .collect();
        Arc::new(RunEvents {
            events: events.into(),
            charged,
        })
    }

    /// Charged bytes of the events `start..end`.
    fn charged(&self, start: usize, end: usize) -> usize {
        self.charged[end] - self.charged[start]
    }

    pub fn events(&self) -> &[Arc<Dispatch>] {
        &self.events
    }
}

/// One entry of a ring: a single event, or the part `start..end` of a run still kept.
#[derive(Debug)]
enum Entry {
    One(Arc<Dispatch>),
    Run {
        run: Arc<RunEvents>,
        start: u16,
        end: u16,
    },
}

impl Entry {
    fn len(&self) -> usize {
        match self {
            Entry::One(_) => 1,
            Entry::Run { start, end, .. } => usize::from(end - start),
        }
    }

    /// Charged bytes of the events still kept here.
    fn charged(&self) -> usize {
        match self {
            Entry::One(event) => event.ring_bytes(),
            Entry::Run { run, start, end } => run.charged(usize::from(*start), usize::from(*end)),
        }
    }

    fn get(&self, index: usize) -> &Arc<Dispatch> {
        match self {
            Entry::One(event) => {
                debug_assert_eq!(index, 0);
                event
            }
            Entry::Run { run, start, .. } => &run.events[usize::from(*start) + index],
        }
    }
}

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
    entries: VecDeque<Entry>,
    /// Events kept (entries count as many as they hold). `u32`, like `len_max`, so that a
    /// ring costs an idle session no more than before runs were kept whole.
    len: u32,
    len_max: u32,
    bytes: usize,
    bytes_max: usize,
    seq_last: u64,
}

impl ReplayRing {
    pub fn new(len_max: usize, bytes_max: usize) -> ReplayRing {
        assert!(len_max >= 1, "a replay ring must hold at least one event");
        ReplayRing {
            entries: VecDeque::new(),
            len: 0,
            // A ring of more than 4 billion events is one nobody can hold anyway.
            len_max: u32::try_from(len_max).unwrap_or(u32::MAX),
            bytes: 0,
            bytes_max,
            seq_last: 0,
        }
    }

    /// Appends an event with the next sequence number and returns that number. Drops the
    /// oldest events past the bounds; returns how many were dropped too.
    pub fn push(&mut self, event: Arc<Dispatch>) -> (u64, usize) {
        let dropped = self.make_room(1);
        self.bytes += event.ring_bytes();
        self.len += 1;
        self.entries.push_back(Entry::One(event));
        self.seq_last += 1;
        (self.seq_last, dropped + self.enforce_bounds())
    }

    /// Appends every event of `run`, in order, as `push` would one by one, in one entry.
    /// Returns the first event's sequence number and how many events were dropped.
    pub fn push_run(&mut self, run: &Arc<RunEvents>) -> (u64, usize) {
        let first = self.seq_last + 1;
        let count = run.events.len();
        let dropped = self.make_room(count);
        self.bytes += run.charged(0, count);
        self.len += count as u32;
        self.entries.push_back(Entry::Run {
            run: Arc::clone(run),
            start: 0,
            end: u16::try_from(count).expect("checked in RunEvents::new"),
        });
        self.seq_last += count as u64;
        (first, dropped + self.enforce_bounds())
    }

    /// Drops the oldest events that `count` new ones would push past `len_max`, before they
    /// are added: the deque then never holds more entries than `len_max`, so its capacity
    /// does not double past it.
    fn make_room(&mut self, count: usize) -> usize {
        let over = (self.len as usize + count).saturating_sub(self.len_max as usize);
        let dropped = over.min(self.len as usize);
        self.drop_oldest(dropped);
        dropped
    }

    /// Drops the oldest events until the bounds hold (the newest always stays); returns
    /// how many.
    fn enforce_bounds(&mut self) -> usize {
        // A run longer than the room `make_room` could free before it was added sheds its
        // own first events here.
        let mut dropped = self.make_room(0);
        // The byte bound: whole entries while the rest is still over it, then as few
        // events of the next one as bring it under (never the newest event).
        while self.bytes > self.bytes_max && self.len > 1 {
            let front = self.entries.front().expect("a kept event");
            let whole = front.len().min(self.len as usize - 1);
            let count = match front {
                Entry::Run { run, start, .. } => {
                    let start = usize::from(*start);
                    let over = self.bytes - self.bytes_max;
                    // The fewest events whose charge covers `over`, if this entry has them.
                    (1..whole)
                        .find(|&count| run.charged(start, start + count) >= over)
                        .unwrap_or(whole)
                }
                Entry::One(_) => 1,
            };
            self.drop_oldest(count);
            dropped += count;
        }
        debug_assert!(self.len <= self.len_max);
        debug_assert!(self.bytes <= self.bytes_max || self.len == 1);
        dropped
    }

    /// Drops the `count` oldest events (all kept ones at most), whole entries at a time
    /// where it can.
    fn drop_oldest(&mut self, count: usize) {
        let mut left = count;
        while left > 0 {
            let front = self.entries.front_mut().expect("a kept event to drop");
            let len = front.len();
            if left >= len {
                self.bytes -= front.charged();
                self.entries.pop_front();
                left -= len;
                continue;
            }
            let Entry::Run { run, start, .. } = front else {
                unreachable!("a single event's entry is dropped whole")
            };
            let from = usize::from(*start);
            self.bytes -= run.charged(from, from + left);
            *start += u16::try_from(left).expect("less than the entry's length");
            left = 0;
        }
        self.len -= u32::try_from(count).expect("at most the kept events");
    }

    /// Drops the kept events up to and including `seq`; returns how many.
    pub fn forget_through(&mut self, seq: u64) -> usize {
        let through = seq.min(self.seq_last);
        let dropped = (through + 1).saturating_sub(self.seq_first()) as usize;
        self.drop_oldest(dropped);
        if self.entries.is_empty() {
            // The client has everything: an idle session keeps no capacity either (a
            // burst's, up to `len_max` entries). The next event allocates again.
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
        self.seq_last + 1 - u64::from(self.len)
    }

    /// Whether every event after `seq` is still here, so a Resume from `seq` can replay.
    pub fn covers(&self, seq: u64) -> bool {
        seq <= self.seq_last && seq + 1 >= self.seq_first()
    }

    /// The event with sequence number `seq`, if kept. Searched from the newest entry: the
    /// events asked for (the unsent ones, a Resume's replay) are the newest.
    pub fn get(&self, seq: u64) -> Option<&Arc<Dispatch>> {
        if seq < self.seq_first() || seq > self.seq_last {
            return None;
        }
        let mut after = self.seq_last; // The last sequence number of `entry`.
        for entry in self.entries.iter().rev() {
            let first = after + 1 - entry.len() as u64;
            if seq >= first {
                return Some(entry.get(usize::try_from(seq - first).ok()?));
            }
            after = first - 1;
        }
        unreachable!("a kept sequence number is in an entry")
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
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
    fn an_entry_is_two_words() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
    }

    #[test]
    fn a_run_is_one_entry_and_drops_event_by_event() {
        let one = event(100).ring_bytes();
        let mut ring = ReplayRing::new(100, one * 4);
        ring.push(event(100));
        let run = RunEvents::new((0..3).map(|_| event(100)).collect());
        assert_eq!(ring.push_run(&run), (2, 0));
        assert_eq!(
            (ring.entries.len(), ring.len(), ring.bytes()),
            (2, 4, one * 4)
        );
        assert!(Arc::ptr_eq(ring.get(3).unwrap(), &run.events()[1]));
        assert_eq!(ring.push(event(100)), (5, 1));
        assert_eq!(ring.forget_through(2), 1);
        assert_eq!((ring.seq_first(), ring.entries.len()), (3, 2));
        assert!(Arc::ptr_eq(ring.get(3).unwrap(), &run.events()[1]));
        assert_eq!(Arc::strong_count(&run), 2, "the ring shares the run");
        assert_eq!(ring.forget_through(4), 2);
        assert_eq!(
            Arc::strong_count(&run),
            1,
            "a run's entry goes with its last event"
        );
    }

    proptest::proptest! {
        /// A ring that takes runs is, event for event, the ring that takes their events
        /// one by one: same numbers, same bounds, same drops, the same events kept.
        #[test]
        fn a_run_is_its_events_pushed_one_by_one(
            steps in proptest::collection::vec((1usize..6, 0usize..300, 0u64..4), 1..40),
            len_max in 1usize..12,
            bytes_max in 1usize..2_000,
        ) {
            let mut runs = ReplayRing::new(len_max, bytes_max);
            let mut ones = ReplayRing::new(len_max, bytes_max);
            // The rule written out event by event: (seq, event) pairs.
            let mut model: VecDeque<(u64, Arc<Dispatch>)> = VecDeque::new();
            let mut model_seq = 0;
            for (count, d_len, forget_back) in steps {
                let events: Vec<_> = (0..count).map(|i| event(d_len + i)).collect();
                let (first, dropped) = runs.push_run(&RunEvents::new(events.clone()));
                let mut dropped_one_by_one = 0;
                for (i, event) in events.into_iter().enumerate() {
                    model_seq += 1;
                    model.push_back((model_seq, Arc::clone(&event)));
                    while model.len() > len_max
                        || (model.len() > 1
                            && model.iter().map(|(_, e)| e.ring_bytes()).sum::<usize>() > bytes_max)
                    {
                        model.pop_front();
                    }
                    let (seq, dropped) = ones.push(event);
                    proptest::prop_assert_eq!(seq, first + i as u64);
                    dropped_one_by_one += dropped;
                }
                proptest::prop_assert_eq!(dropped, dropped_one_by_one);
                if forget_back > 0 {
                    let seq = runs.seq_last().saturating_sub(forget_back);
                    proptest::prop_assert_eq!(runs.forget_through(seq), ones.forget_through(seq));
                    model.retain(|(kept, _)| *kept > seq);
                }
                let model_first = model.front().map_or(model_seq + 1, |(seq, _)| *seq);
                proptest::prop_assert_eq!(
                    (runs.seq_first(), runs.seq_last(), runs.len()),
                    (model_first, model_seq, model.len())
                );
                for (seq, event) in &model {
                    proptest::prop_assert!(Arc::ptr_eq(runs.get(*seq).unwrap(), event));
                }
                proptest::prop_assert_eq!(
                    (runs.seq_first(), runs.seq_last(), runs.len(), runs.bytes()),
                    (ones.seq_first(), ones.seq_last(), ones.len(), ones.bytes())
                );
                proptest::prop_assert!(runs.entries.len() <= len_max);
                for seq in runs.seq_first().saturating_sub(2)..=runs.seq_last() + 2 {
                    match (runs.get(seq), ones.get(seq)) {
                        (Some(a), Some(b)) => proptest::prop_assert!(Arc::ptr_eq(a, b)),
                        (None, None) => {}
                        _ => proptest::prop_assert!(false, "seq {} kept by one ring only", seq),
                    }
                }
            }
        }
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
        assert!(ring.entries.capacity() >= 1, "events left: capacity kept");
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
