//! The ring's memory and its index protocol: the only module with `unsafe` code.
//!
//! Everything else in the crate is built from the safe primitives here. None of them has
//! a precondition; each checks, against its own half's view of the indices, that the
//! slots it touches belong to it:
//!
//! | half       | move items (not yet seen by the other half) | look at the other side | make visible |
//! |------------|---------------------------------------------|------------------------|--------------|
//! | `Producer` | `stage`, `stage_iter`                       | `refresh_free`         | `publish`    |
//! | `Consumer` | `take`, `claim` (returns a `Drain`)         | `refresh_len`          | `publish`    |
//!
//! A batch moves many items and publishes once, so it costs one `Release` store (and at
//! most one `Acquire` load of the other side's index) however many items it moves. The
//! batch loops keep their index in a local and touch the slot array through a slice
//! borrowed once, so the per-item cost is a bounds-checked slot access and a move.
//!
//! # Indices
//!
//! `tail` counts the items ever pushed and `head` the items ever popped. Both are `usize`
//! counters that only grow, wrapping at `2^usize::BITS`; the slot of index `i` is
//! `i & mask`. The capacity is a power of two, so it divides `2^usize::BITS` and masking
//! commutes with wrapping. Differences are taken with `wrapping_sub`.
//!
//! Invariants (the `invariant!` asserts check them on both halves, in debug builds and
//! under loom):
//! - `0 <= tail - head <= capacity` at every instant, seen from either half.
//! - Slots for indices in `[head, tail)` hold initialised values that the ring owns; all
//!   other slots are logically uninitialised.
//! - Each index has one writer. The producer alone advances `tail`; the consumer alone
//!   advances `head`. Each half keeps its own index in a plain field (authoritative) and
//!   publishes it to the shared atomic; published `<=` local, and local `-` published
//!   `<= capacity`.
//! - The producer owns the slots in `[tail, published head + capacity)` and writes only
//!   those; the consumer owns `[head, published tail)` and reads only those. The two
//!   ranges never overlap, which is the whole safety argument of this module.
//! - Each half also caches the other side's index (`head_cached`, `tail_cached`). A cached
//!   value is one that was published earlier, so it lags the real one: the producer's
//!   cached free space and the consumer's cached length are lower bounds, safe to act on.
//!   Re-reading the other side's index only when the cache says "no room" / "nothing
//!   there" keeps the other side's cache line out of this core most of the time.
//! - While a `Drain` is alive, the consumer's `head` already stands at the end of the
//!   range the drain claimed, and the drain owns the values in `[next, end)` it has not
//!   yielded yet. Its `Drop` sets `head` back to `next`, so those values stay in the ring.
//!   A drain leaked with `mem::forget` never sets it back: its values are leaked, never
//!   read or dropped twice (the `Vec::drain` approach to leaks), and their slots return
//!   to the producer at the consumer's next `publish`.
//! - Each half also remembers the index it last published (`tail_published`,
//!   `head_published`) and `publish` stores only when its index moved. So a failed push
//!   or an empty poll costs no store, and progress that was not published (a leaked
//!   drain, a push whose iterator panicked) goes out with the next call that publishes,
//!   whether or not that call itself moved anything.
//!
//! # Memory ordering
//!
//! Two `Release`/`Acquire` pairs, one per direction:
//! - `tail`: the producer writes slots, then stores `tail` with `Release`; the consumer
//!   loads `tail` with `Acquire`, then reads slots below it. The slot writes happen-before
//!   the reads.
//! - `head`: the consumer moves values out of slots, then stores `head` with `Release`; the
//!   producer loads `head` with `Acquire`, then overwrites slots below `head + capacity`.
//!   The reads happen-before the overwrites (no write-after-read race).
//!
//! A half never loads its own shared index (it has the local copy), and nothing needs
//! `SeqCst`: there is no third party that must agree on a global order.
//!
//! Dropping: each half publishes its local index in its `Drop`, so that when the last
//! half goes, `Shared::drop` sees exactly the items still owned by the ring, including
//! items staged by a push whose iterator panicked.

use std::mem::MaybeUninit;

use crate::sync::{Arc, AtomicUsize, CachePadded, Ordering, UnsafeCell};

/// `assert!` in debug builds and under loom (whose tests run in release mode); nothing in
/// a plain release build, where the hot path stays branch-free.
macro_rules! invariant {
    ($($arg:tt)*) => {
        if cfg!(any(debug_assertions, loom)) {
            assert!($($arg)*);
        }
    };
}

/// The pushing half of a ring. There is exactly one per ring: it is not `Clone`, and
/// pushing takes `&mut self`, so two threads can never push to the same ring.
///
/// It is `Send` when `T` is, so it can move to the core that produces.
///
/// ```
/// let (mut producer, mut consumer) = ringbuf::ring::<u32>(2);
/// assert_eq!(producer.push(1), Ok(()));
/// assert_eq!(producer.push(2), Ok(()));
/// assert_eq!(producer.push(3), Err(3)); // Full: the value comes back.
/// assert_eq!(consumer.pop(), Some(1));
/// ```
///
/// A second producer cannot be made:
///
/// ```compile_fail,E0599
/// let (producer, _consumer) = ringbuf::ring::<u32>(2);
/// let second = producer.clone();
/// ```
///
/// and a shared reference cannot push:
///
/// ```compile_fail,E0596
/// fn push_through_shared(producer: &ringbuf::Producer<u32>) {
///     producer.push(1).unwrap();
/// }
/// ```
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// Index of the next slot to write: the number of items this half ever staged.
    tail: usize,
    /// The `tail` this half last stored to `shared.tail`; `publish` stores only when
    /// `tail` moved, so an unsuccessful push costs no store.
    tail_published: usize,
    /// The consumer's `head` as last loaded; lags the real one.
    head_cached: usize,
    /// `capacity - 1`, copied here so the hot path does not chase the `Arc`.
    mask: usize,
}

/// The popping half of a ring. There is exactly one per ring: it is not `Clone`, and
/// popping takes `&mut self`, so two threads can never pop from the same ring.
///
/// It is `Send` when `T` is, so it can move to the core that consumes.
///
/// ```
/// let (mut producer, mut consumer) = ringbuf::ring::<&str>(4);
/// producer.push("hello").unwrap();
/// assert_eq!(consumer.pop(), Some("hello"));
/// assert_eq!(consumer.pop(), None); // Empty.
/// ```
///
/// The ring moves values between threads, so it only carries `Send` values:
///
/// ```compile_fail,E0277
/// let (_producer, _consumer) = ringbuf::ring::<std::rc::Rc<u8>>(2);
/// ```
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Index of the next slot to read: the number of items this half ever took.
    head: usize,
    /// The `head` this half last stored to `shared.head`; `publish` stores only when
    /// `head` moved, so polling an empty ring costs no store.
    head_published: usize,
    /// The producer's `tail` as last loaded; lags the real one.
    tail_cached: usize,
    /// `capacity - 1`.
    mask: usize,
}

/// What both halves point at. `head` and `tail` each own whole cache lines, so the
/// consumer's stores to `head` never invalidate the line holding `tail` and vice versa;
/// `slots` (pointer and length, read-only after construction) follows on its own line.
struct Shared<T> {
    /// Published consumer index. Stored only by the consumer (`Release`), loaded by the
    /// producer (`Acquire`).
    head: CachePadded<AtomicUsize>,
    /// Published producer index. Stored only by the producer (`Release`), loaded by the
    /// consumer (`Acquire`).
    tail: CachePadded<AtomicUsize>,
    /// `capacity` slots; the slot of index `i` is `slots[i & mask]`.
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

/// Builds both halves of a ring whose indices start at `start`.
///
/// Every start is equivalent; tests pass one close to `usize::MAX` to cross the wrap of
/// the index counters.
pub(crate) fn pair<T>(capacity: usize, start: usize) -> (Producer<T>, Consumer<T>) {
    assert!(
        capacity.is_power_of_two(),
        "ring capacity {capacity} is not a power of two"
    );
    let slots = (0..capacity)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let shared = Arc::new(Shared {
        head: CachePadded(AtomicUsize::new(start)),
        tail: CachePadded(AtomicUsize::new(start)),
        slots,
    });
    let mask = capacity - 1;
    let producer = Producer {
        shared: Arc::clone(&shared),
        tail: start,
        tail_published: start,
        head_cached: start,
        mask,
    };
    let consumer = Consumer {
        shared,
        head: start,
        head_published: start,
        tail_cached: start,
        mask,
    };
    (producer, consumer)
}

impl<T> Producer<T> {
    /// How many items the ring holds at most.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Free slots according to the cached `head`: a lower bound of the real number.
    pub(crate) fn free_cached(&self) -> usize {
        self.capacity() - self.tail.wrapping_sub(self.head_cached)
    }

    /// Loads the consumer's published `head` and returns the free slots it implies.
    pub(crate) fn refresh_free(&mut self) -> usize {
        // Ordering: Acquire pairs with the consumer's Release store in `Consumer::publish`:
        // the consumer's reads of every slot below `head` happen-before this load, hence
        // before any write `stage` then makes to those slots.
        let head = self.shared.head.load(Ordering::Acquire);
        invariant!(
            head.wrapping_sub(self.head_cached) <= self.capacity(),
            "producer: head moved from {} back to {head}",
            self.head_cached
        );
        invariant!(
            self.tail.wrapping_sub(head) <= self.capacity(),
            "producer: tail {} - head {head} exceeds capacity {}",
            self.tail,
            self.capacity()
        );
        self.head_cached = head;
        self.free_cached()
    }

    /// Writes `value` into the next slot without making it visible; `publish` does that.
    /// Gives the value back when the cached view says the ring is full (the caller decides
    /// whether to `refresh_free` and retry).
    pub(crate) fn stage(&mut self, value: T) -> Result<(), T> {
        if self.free_cached() == 0 {
            return Err(value);
        }
        let slot = &self.shared.slots[self.tail & self.mask];
        // SAFETY: `tail` is in `[head_cached, head_cached + capacity)` (the check just
        // above), and `head_cached <= head`, so this slot is in the producer's range
        // `[tail, head + capacity)`: the consumer finished reading it (the Acquire load in
        // `refresh_free` made that read happen-before this write) and will not touch it
        // until `publish` stores a `tail` past it. Only this half writes, because
        // `Producer` is unique and `stage` takes `&mut self`. The slot is logically
        // uninitialised, so overwriting without dropping is right.
        slot.with_mut(|ptr| unsafe { ptr.write(MaybeUninit::new(value)) });
        self.tail = self.tail.wrapping_add(1);
        Ok(())
    }

    /// Writes values from `items` into the next slots until the cached view says the ring
    /// is full or `items` runs out, without making them visible; returns how many. Never
    /// takes a value from `items` it has no slot for.
    pub(crate) fn stage_iter<I: Iterator<Item = T>>(&mut self, items: &mut I) -> usize {
        let start = self.tail;
        let (first, second) = segments(&self.shared.slots, start, self.free_cached());
        // If `items.next()` panics, the guard still advances `tail` past what was written,
        // so those values are published (and dropped) later rather than leaked.
        let mut tail = TailGuard {
            tail: &mut self.tail,
            next: start,
        };
        'segments: for segment in [first, second] {
            for slot in segment {
                let Some(value) = items.next() else {
                    break 'segments;
                };
                // SAFETY: `segments` returned the slots of indices `[tail, tail + free)`,
                // with `free` from `free_cached`, so all are below `head_cached + capacity
                // <= head + capacity`: the producer's range, as argued in `stage`. Each slot
                // is visited once, so each is written once.
                slot.with_mut(|ptr| unsafe { ptr.write(MaybeUninit::new(value)) });
                tail.next = tail.next.wrapping_add(1);
            }
        }
        tail.next.wrapping_sub(start)
    }

    /// Makes every staged item visible to the consumer with one store (none if nothing
    /// was staged since the last one).
    pub(crate) fn publish(&mut self) {
        if self.tail == self.tail_published {
            return;
        }
        // Ordering: Release makes every slot write in `stage` before it happen-before the
        // consumer's Acquire load of `tail` in `Consumer::refresh_len`, hence before it reads.
        self.shared.tail.store(self.tail, Ordering::Release);
        self.tail_published = self.tail;
    }

    /// The number of items in the ring right now, an upper bound (the consumer may be
    /// popping); includes staged items while a batch is in flight.
    pub(crate) fn len_now(&self) -> usize {
        // Ordering: Acquire for the same reason as in `refresh_free`, though here only the
        // count is used.
        let head = self.shared.head.load(Ordering::Acquire);
        let len = self.tail.wrapping_sub(head);
        invariant!(
            len <= self.capacity(),
            "producer: len {len} exceeds capacity"
        );
        len
    }
}

impl<T> Consumer<T> {
    /// How many items the ring holds at most.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Items ready to take according to the cached `tail`: a lower bound of the real number.
    pub(crate) fn len_cached(&self) -> usize {
        self.tail_cached.wrapping_sub(self.head)
    }

    /// Loads the producer's published `tail` and returns the items ready to take.
    pub(crate) fn refresh_len(&mut self) -> usize {
        // Ordering: Acquire pairs with the producer's Release store in `Producer::publish`:
        // its writes of every slot below `tail` happen-before this load, hence before
        // `take` reads them.
        let tail = self.shared.tail.load(Ordering::Acquire);
        invariant!(
            tail.wrapping_sub(self.tail_cached) <= self.capacity(),
            "consumer: tail moved from {} back to {tail}",
            self.tail_cached
        );
        invariant!(
            tail.wrapping_sub(self.head) <= self.capacity(),
            "consumer: tail {tail} - head {} exceeds capacity {}",
            self.head,
            self.capacity()
        );
        self.tail_cached = tail;
        self.len_cached()
    }

    /// Moves the next item out of its slot without telling the producer the slot is free;
    /// `publish` does that. `None` when the cached view says the ring is empty.
    pub(crate) fn take(&mut self) -> Option<T> {
        if self.head == self.tail_cached {
            return None;
        }
        let slot = &self.shared.slots[self.head & self.mask];
        // SAFETY: `head` is in `[head, tail_cached)` (the check just above) and
        // `tail_cached <= tail`, so the slot is initialised: the producer wrote it before
        // its Release store of a `tail` past it, which our Acquire load in `refresh_len`
        // observed. The producer will not write it again until `publish` stores a `head`
        // past it. `head` advances right after, so the value is moved out exactly once.
        let value = slot.with_mut(|ptr| unsafe { ptr.read().assume_init() });
        self.head = self.head.wrapping_add(1);
        Some(value)
    }

    /// Claims up to `max` of the items the cached view says are ready, for a `Drain` to
    /// yield one by one. Nothing is handed back to the producer until the drain drops.
    pub(crate) fn claim(&mut self, max: usize) -> Drain<'_, T> {
        let start = self.head;
        let count = self.len_cached().min(max);
        let (first, second) = segments(&self.shared.slots, start, count);
        // Claimed up front: see the `Drain` invariant in the module header.
        let end = start.wrapping_add(count);
        self.head = end;
        Drain {
            segment: first.iter(),
            wrapped: second.iter(),
            shared_head: &self.shared.head,
            head: &mut self.head,
            head_published: &mut self.head_published,
            end,
        }
    }

    /// Hands every slot taken so far back to the producer with one store (none if nothing
    /// was taken since the last one).
    pub(crate) fn publish(&mut self) {
        publish_head(&self.shared.head, self.head, &mut self.head_published);
    }

    /// The index of the next item to take, so callers can tell whether they took any.
    pub(crate) fn head(&self) -> usize {
        self.head
    }

    /// The number of items in the ring right now, a lower bound (the producer may be
    /// pushing).
    pub(crate) fn len_now(&self) -> usize {
        // Ordering: Acquire for the same reason as in `refresh_len`, though here only the
        // count is used.
        let tail = self.shared.tail.load(Ordering::Acquire);
        let len = tail.wrapping_sub(self.head);
        invariant!(
            len <= self.capacity(),
            "consumer: len {len} exceeds capacity"
        );
        len
    }
}

/// Iterator over up to `max` items popped by [`Consumer::drain`].
///
/// Items it did not yield stay in the ring. When it is dropped, it hands the slots of the
/// items it yielded back to the producer with one `Release` store. If it is leaked with
/// `mem::forget`, the items it did not yield are leaked too (never dropped).
pub struct Drain<'a, T> {
    /// The claimed slots not yielded yet, up to the end of the slot array...
    segment: std::slice::Iter<'a, UnsafeCell<MaybeUninit<T>>>,
    /// ...and those that wrapped round to its start.
    wrapped: std::slice::Iter<'a, UnsafeCell<MaybeUninit<T>>>,
    shared_head: &'a AtomicUsize,
    /// The consumer's `head`, which stands at `end` while the drain lives.
    head: &'a mut usize,
    /// The consumer's `head_published`.
    head_published: &'a mut usize,
    /// One past the last claimed index; the drain owns `[end - len(), end)`.
    end: usize,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        let slot = match self.segment.next() {
            Some(slot) => slot,
            None => {
                self.segment = std::mem::take(&mut self.wrapped);
                self.segment.next()?
            }
        };
        // SAFETY: the slot is one of those `claim` took from `[head, tail_cached)`:
        // initialised, published by the producer (see `take`), and not rewritten until a
        // `head` past it is published. That happens in `Drop` below, after this read, or
        // (if the drain is leaked) at a later `Consumer::publish`, which needs the
        // consumer's `&mut` back, so this drain can no longer be used by then. The
        // iterators yield each slot once, so each value is moved out once, and `head`
        // stands at `end` meanwhile, so `take` and later drains stay off the range.
        Some(slot.with_mut(|ptr| unsafe { ptr.read().assume_init() }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.segment.len() + self.wrapped.len();
        (left, Some(left))
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        // Values not yielded go back to the ring.
        let next = self
            .end
            .wrapping_sub(self.segment.len() + self.wrapped.len());
        *self.head = next;
        // An empty drain (the common "nothing new" poll) stores nothing, so it does not
        // pull the `head` cache line away from the producer's core.
        publish_head(self.shared_head, next, self.head_published);
    }
}

/// The slots of the `count` indices from `start`, split where they wrap round the end of
/// the slot array: `(from start's slot to the end, from slot 0 on)`.
fn segments<S>(slots: &[S], start: usize, count: usize) -> (&[S], &[S]) {
    invariant!(
        count <= slots.len(),
        "{count} slots asked of {}",
        slots.len()
    );
    let offset = start & (slots.len() - 1);
    let first_len = count.min(slots.len() - offset);
    (
        &slots[offset..offset + first_len],
        &slots[..count - first_len],
    )
}

/// Stores the consumer's `head` unless it is already published; shared by
/// `Consumer::publish` and `Drain::drop`.
#[inline]
fn publish_head(shared_head: &AtomicUsize, head: usize, head_published: &mut usize) {
    if head == *head_published {
        return;
    }
    // Ordering: Release makes the reads of slots in `take` and `Drain::next` happen-before
    // the producer's Acquire load of `head` in `Producer::refresh_free`, hence before it
    // overwrites those slots.
    shared_head.store(head, Ordering::Release);
    *head_published = head;
}

/// Writes a producer's `tail` when dropped, so a panicking iterator cannot lose track of
/// the slots already written.
struct TailGuard<'a> {
    tail: &'a mut usize,
    next: usize,
}

impl Drop for TailGuard<'_> {
    fn drop(&mut self) {
        *self.tail = self.next;
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // Items staged by a push whose iterator panicked become visible (and so are
        // dropped with the ring, not leaked).
        self.publish();
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // Values claimed by a leaked `Drain` are not the ring's any more; publishing keeps
        // `Shared::drop` from dropping them.
        self.publish();
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Ordering: Relaxed is enough. `&mut self` means both halves are gone, and the last
        // `Arc` drop ran an Acquire fence after the other half's Release decrement, so each
        // half's final `publish` (in its `Drop`) happens-before these loads.
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        let mask = self.slots.len() - 1;
        invariant!(
            tail.wrapping_sub(head) <= self.slots.len(),
            "drop: tail - head > capacity"
        );
        let mut index = head;
        while index != tail {
            let slot = &self.slots[index & mask];
            // SAFETY: indices in `[head, tail)` hold initialised values owned by the ring
            // (module invariant), no half is left to touch them, and each index is visited
            // once, so each value is dropped exactly once. If a drop panics, the rest leak,
            // which is safe.
            slot.with_mut(|ptr| unsafe { (*ptr).assume_init_drop() });
            index = index.wrapping_add(1);
        }
    }
}

// SAFETY: `Shared` is reached only through the two halves, and the index protocol above
// gives every slot a single accessor at a time, ordered by Release/Acquire on `head` and
// `tail`. Values move from the producer's thread to the consumer's, which needs `T: Send`;
// no `&T` is ever handed to two threads, so `T: Sync` is not needed.
unsafe impl<T: Send> Sync for Shared<T> {}

#[cfg(test)]
mod tests {
    use super::pair;

    #[test]
    fn indices_wrap_past_usize_max() {
        let start = usize::MAX - 5;
        let (mut producer, mut consumer) = pair::<u64>(4, start);
        let mut next_push = 0;
        let mut next_pop = 0;
        for _ in 0..5 {
            while producer.stage(next_push).is_ok() {
                next_push += 1;
            }
            producer.publish();
            assert_eq!(producer.len_now(), 4);
            assert_eq!(consumer.refresh_len(), 4);
            while let Some(value) = consumer.take() {
                assert_eq!(value, next_pop);
                next_pop += 1;
            }
            consumer.publish();
            assert_eq!(producer.refresh_free(), 4);
        }
        assert_eq!(next_pop, 20);
        assert_eq!(
            consumer.head(),
            start.wrapping_add(20),
            "head wrapped through zero"
        );
    }

    #[test]
    fn staged_items_are_invisible_until_published() {
        let (mut producer, mut consumer) = pair::<u8>(4, 0);
        producer.stage(1).unwrap();
        producer.stage(2).unwrap();
        assert_eq!(consumer.refresh_len(), 0);
        assert_eq!(consumer.take(), None);
        producer.publish();
        assert_eq!(consumer.refresh_len(), 2);
    }

    #[test]
    fn taken_slots_are_not_free_until_published() {
        let (mut producer, mut consumer) = pair::<u8>(2, 0);
        producer.stage(1).unwrap();
        producer.stage(2).unwrap();
        producer.publish();
        assert_eq!(producer.stage(3), Err(3));
        consumer.refresh_len();
        assert_eq!(consumer.take(), Some(1));
        assert_eq!(
            producer.refresh_free(),
            0,
            "the taken slot is not handed back yet"
        );
        consumer.publish();
        assert_eq!(producer.refresh_free(), 1);
    }

    #[test]
    fn leaked_progress_is_published_when_a_half_drops() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::Relaxed);
            }
        }
        let (mut producer, mut consumer) = pair::<Counted>(4, usize::MAX);
        for _ in 0..3 {
            assert!(producer.stage(Counted).is_ok());
        }
        producer.publish();
        assert!(producer.stage(Counted).is_ok()); // Staged, never published by a push.
        consumer.refresh_len();
        drop(consumer.take()); // Taken, never published by a pop.
        assert_eq!(DROPS.load(Ordering::Relaxed), 1);
        drop(producer);
        drop(consumer);
        assert_eq!(
            DROPS.load(Ordering::Relaxed),
            4,
            "each value dropped exactly once"
        );
    }
}
