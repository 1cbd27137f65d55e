//! The ring's memory and its index protocol: the only module with `unsafe` code.
//!
//! Everything else in the crate is built from the six safe primitives here, three per
//! half. None of them has a precondition; each checks, against its own half's view of
//! the indices, that the slot it touches belongs to it:
//!
//! | half       | stage one item (not yet visible) | look at the other side | make visible |
//! |------------|----------------------------------|------------------------|--------------|
//! | `Producer` | `stage`                          | `refresh_free`         | `publish`    |
//! | `Consumer` | `take`                           | `refresh_len`          | `publish`    |
//!
//! A batch stages many items and publishes once, so it costs one `Release` store (and at
//! most one `Acquire` load of the other side's index) however many items it moves.
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
//! items staged by a push whose iterator panicked, and excluding items taken by a `Drain`
//! that was leaked with `mem::forget`.

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
        head_cached: start,
        mask,
    };
    let consumer = Consumer {
        shared,
        head: start,
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

    /// Makes every staged item visible to the consumer with one store.
    pub(crate) fn publish(&mut self) {
        // Ordering: Release makes every slot write in `stage` before it happen-before the
        // consumer's Acquire load of `tail` in `Consumer::refresh_len`, hence before it reads.
        self.shared.tail.store(self.tail, Ordering::Release);
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

    /// Hands every slot taken so far back to the producer with one store.
    pub(crate) fn publish(&mut self) {
        // Ordering: Release makes the reads in `take` happen-before the producer's Acquire
        // load of `head` in `Producer::refresh_free`, hence before it overwrites the slots.
        self.shared.head.store(self.head, Ordering::Release);
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

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // Items staged by a push whose iterator panicked become visible (and so are
        // dropped with the ring, not leaked).
        self.publish();
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // Items moved out by a leaked `Drain` are not in the ring any more; publishing
        // keeps `Shared::drop` from dropping them a second time.
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
