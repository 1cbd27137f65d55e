//! The consumer's public API: single pops and batches, built from `raw`'s primitives.
//!
//! The reactor drains many events per wake-up, so the batch form is the main one:
//! `drain(max)` yields up to `max` items and hands their slots back to the producer once,
//! when the `Drain` is dropped. A pop never blocks; waking a sleeping consumer is the
//! engine's business, not the ring's.

#![forbid(unsafe_code)]

use std::fmt;
use std::iter::FusedIterator;

use crate::Consumer;

/// Iterator over up to `max` items popped by [`Consumer::drain`].
///
/// Items it did not yield stay in the ring. When it is dropped, it hands the slots of the
/// items it yielded back to the producer with one `Release` store. If it is leaked with
/// `mem::forget`, those slots come back at the consumer's next pop, drain or drop.
pub struct Drain<'a, T> {
    consumer: &'a mut Consumer<T>,
    /// The consumer's `head` when the drain began; the drain ends when `head` gets to `end`.
    start: usize,
    end: usize,
}

impl<T> Consumer<T> {
    /// Pops one value, or `None` when the ring is empty.
    ///
    /// ```
    /// let (mut producer, mut consumer) = ringbuf::ring(2);
    /// assert_eq!(consumer.pop(), None);
    /// producer.push(7).unwrap();
    /// assert_eq!(consumer.pop(), Some(7));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.len_cached() == 0 {
            self.refresh_len();
        }
        let value = self.take()?;
        self.publish();
        Some(value)
    }

    /// Pops up to `max` values lazily, handing their slots back to the producer once, when
    /// the returned iterator is dropped. The iterator is exact: its `len()` is what it will
    /// yield. Values it does not yield stay in the ring, in order.
    ///
    /// ```
    /// let (mut producer, mut consumer) = ringbuf::ring(8);
    /// producer.push_iter(&mut (1..=5));
    /// let mut batch = consumer.drain(3);
    /// assert_eq!(batch.len(), 3);
    /// assert_eq!(batch.next(), Some(1));
    /// drop(batch); // 2 and 3 were not yielded: they stay.
    /// assert_eq!(consumer.drain(usize::MAX).collect::<Vec<_>>(), [2, 3, 4, 5]);
    /// ```
    pub fn drain(&mut self, max: usize) -> Drain<'_, T> {
        // Look at the producer's index only if the cached view may hold fewer than `max`.
        let mut ready = self.len_cached();
        if ready < max {
            ready = self.refresh_len();
        }
        let start = self.head();
        let end = start.wrapping_add(ready.min(max));
        Drain {
            consumer: self,
            start,
            end,
        }
    }

    /// Pops up to `max` values into `out` and returns how many it popped; one `Release`
    /// store for all of them.
    ///
    /// ```
    /// let (mut producer, mut consumer) = ringbuf::ring(4);
    /// producer.push_iter(&mut (0..4));
    /// let mut events = Vec::new();
    /// assert_eq!(consumer.pop_batch(&mut events, 3), 3);
    /// assert_eq!(events, [0, 1, 2]);
    /// ```
    pub fn pop_batch<E: Extend<T>>(&mut self, out: &mut E, max: usize) -> usize {
        let before = self.head();
        out.extend(self.drain(max));
        // Counted from the index, not the iterator, so an `Extend` that stops early
        // reports the truth.
        self.head().wrapping_sub(before)
    }

    /// The number of items in the ring. The producer may be pushing, so the real number
    /// may already be larger (never smaller).
    pub fn len(&self) -> usize {
        self.len_now()
    }

    /// Whether the ring is empty. The producer may be pushing, so `true` may already be
    /// stale; `false` is not (only this half removes items).
    pub fn is_empty(&self) -> bool {
        self.len_now() == 0
    }

    /// Whether the ring is full. The producer may be pushing, so `false` may already be
    /// stale; `true` is not.
    pub fn is_full(&self) -> bool {
        self.len_now() == self.capacity()
    }
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.consumer.head() == self.end {
            return None;
        }
        let value = self.consumer.take();
        debug_assert!(
            value.is_some(),
            "drain end {} is past the cached tail",
            self.end
        );
        value
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end.wrapping_sub(self.consumer.head());
        (left, Some(left))
    }
}

impl<T> ExactSizeIterator for Drain<'_, T> {}

impl<T> FusedIterator for Drain<'_, T> {}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        // An empty drain (the common "nothing new" poll) stores nothing, so it does not
        // pull the `head` cache line away from the producer's core.
        if self.consumer.head() != self.start {
            self.consumer.publish();
        }
    }
}

impl<T> fmt::Debug for Drain<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain")
            .field("left", &self.len())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
