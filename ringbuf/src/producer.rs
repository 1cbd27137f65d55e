//! The producer's public API: single pushes and batches, built from `raw`'s primitives.
//!
//! A push never blocks and never allocates. When the ring is full, a single push gives
//! the value back and a batch push stops and says how many it took; what to do then
//! (keep the rest in a local outbox, drop, back off) is the caller's policy. A batch
//! publishes once at the end, so the consumer sees it all at once and pays one cache
//! miss for it.

#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::fmt;

use crate::Producer;

impl<T> Producer<T> {
    /// Pushes one value, or gives it back in `Err` when the ring is full.
    ///
    /// ```
    /// let (mut producer, _consumer) = ringbuf::ring(1);
    /// assert_eq!(producer.push('a'), Ok(()));
    /// assert_eq!(producer.push('b'), Err('b'));
    /// ```
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.free_cached() == 0 {
            self.refresh_free();
        }
        self.stage(value)?; // Still no room after looking at the consumer's index: full.
        self.publish();
        Ok(())
    }

    /// Pushes values from `items` until the ring is full or `items` runs out, and returns
    /// how many it pushed. It never takes a value from `items` it cannot push, so the rest
    /// stay in the iterator. The consumer sees all of them at once (one `Release` store).
    ///
    /// ```
    /// let (mut producer, mut consumer) = ringbuf::ring(4);
    /// let mut events = 1..=6;
    /// assert_eq!(producer.push_iter(&mut events), 4);
    /// assert_eq!(events.next(), Some(5)); // Not lost: still in the iterator.
    /// assert_eq!(consumer.drain(usize::MAX).collect::<Vec<_>>(), [1, 2, 3, 4]);
    /// ```
    pub fn push_iter<I: Iterator<Item = T>>(&mut self, items: &mut I) -> usize {
        // Look at the consumer's index only if the cached view may not hold all of `items`.
        let wanted = items.size_hint().1.unwrap_or(usize::MAX);
        let mut free = self.free_cached();
        if free < wanted {
            free = self.refresh_free();
        }
        let mut pushed = 0;
        while pushed < free {
            let Some(value) = items.next() else { break };
            if self.stage(value).is_err() {
                unreachable!("stage refused a value with {pushed} of {free} free slots used");
            }
            pushed += 1;
        }
        if pushed > 0 {
            self.publish();
        }
        pushed
    }

    /// Moves values from the front of `outbox` into the ring until the ring is full or
    /// `outbox` is empty, and returns how many it moved. What does not fit stays in
    /// `outbox`, in order, for the next attempt.
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// let (mut producer, mut consumer) = ringbuf::ring(2);
    /// let mut outbox = VecDeque::from([1, 2, 3]);
    /// assert_eq!(producer.push_batch(&mut outbox), 2);
    /// assert_eq!(outbox, [3]);
    /// assert_eq!(consumer.pop(), Some(1));
    /// assert_eq!(producer.push_batch(&mut outbox), 1);
    /// assert!(outbox.is_empty());
    /// ```
    pub fn push_batch(&mut self, outbox: &mut VecDeque<T>) -> usize {
        let mut free = self.free_cached();
        if free < outbox.len() {
            free = self.refresh_free();
        }
        let count = free.min(outbox.len());
        // `drain(..count)` drops what it did not yield, so it must yield all `count`
        // values; it does, because nothing but this half can shrink the free space.
        let pushed = self.push_iter(&mut outbox.drain(..count));
        assert_eq!(pushed, count, "ring refused values it had room for");
        pushed
    }

    /// The number of items in the ring. The consumer may be popping, so the real number
    /// may already be smaller (never larger).
    pub fn len(&self) -> usize {
        self.len_now()
    }

    /// Whether the ring is empty. The consumer may be popping, so `false` may already be
    /// stale; `true` is not (only this half adds items).
    pub fn is_empty(&self) -> bool {
        self.len_now() == 0
    }

    /// Whether the ring is full, so that the next `push` would fail unless the consumer
    /// pops first.
    pub fn is_full(&self) -> bool {
        self.len_now() == self.capacity()
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
