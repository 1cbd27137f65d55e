//! Unit tests of the public API, both halves in one thread, plus one two-thread stress test.
//!
//! They also run under Miri (`cargo +nightly miri test -p ringbuf --lib`), which checks the
//! unsafe code for undefined behaviour and data races, so loop counts shrink when
//! `cfg!(miri)`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::{ring, try_ring, Consumer, Error, Producer};

/// Counts its drops in a counter shared by the values of one test.
#[derive(Debug)]
struct Counted {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

fn counted(drops: &Arc<AtomicUsize>, ids: std::ops::Range<u32>) -> Vec<Counted> {
    ids.map(|id| Counted {
        id,
        drops: Arc::clone(drops),
    })
    .collect()
}

fn scale(full: usize, under_miri: usize) -> usize {
    if cfg!(miri) {
        under_miri
    } else {
        full
    }
}

#[test]
fn halves_are_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Producer<String>>();
    assert_send::<Consumer<String>>();
}

#[test]
fn capacity_must_be_a_power_of_two() {
    for capacity in [0, 3, 6, 12, 1000, usize::MAX] {
        assert_eq!(
            try_ring::<u8>(capacity).unwrap_err(),
            Error::CapacityNotPowerOfTwo { capacity },
        );
    }
    for capacity in [1, 2, 4, 1024] {
        let (producer, consumer) = try_ring::<u8>(capacity).unwrap();
        assert_eq!(producer.capacity(), capacity);
        assert_eq!(consumer.capacity(), capacity);
    }
    let message = Error::CapacityNotPowerOfTwo { capacity: 12 }.to_string();
    assert!(message.contains("use 16"), "{message}");
}

#[test]
#[should_panic(expected = "not a power of two")]
fn ring_panics_on_a_bad_capacity() {
    let _ = ring::<u8>(3);
}

#[test]
fn items_come_out_in_push_order() {
    let (mut producer, mut consumer) = ring(8);
    for value in 10..15 {
        producer.push(value).unwrap();
    }
    let popped: Vec<i32> = std::iter::from_fn(|| consumer.pop()).collect();
    assert_eq!(popped, [10, 11, 12, 13, 14]);
}

#[test]
fn full_and_empty_edges_for_small_capacities() {
    for capacity in [1, 2, 4, 8] {
        let (mut producer, mut consumer) = ring::<usize>(capacity);
        assert!(
            producer.is_empty() && consumer.is_empty(),
            "capacity {capacity}"
        );
        assert_eq!(consumer.pop(), None);
        for value in 0..capacity {
            assert!(!producer.is_full(), "capacity {capacity}, value {value}");
            producer.push(value).unwrap();
            assert_eq!(consumer.len(), value + 1);
        }
        assert!(
            producer.is_full() && consumer.is_full(),
            "capacity {capacity}"
        );
        assert_eq!(
            producer.push(capacity),
            Err(capacity),
            "capacity {capacity}"
        );
        assert_eq!(producer.len(), capacity);
        assert_eq!(consumer.pop(), Some(0));
        assert_eq!(
            producer.push(capacity),
            Ok(()),
            "one slot free after one pop"
        );
        for expected in 1..=capacity {
            assert_eq!(consumer.pop(), Some(expected), "capacity {capacity}");
        }
        assert_eq!(consumer.pop(), None);
        assert!(
            producer.is_empty() && consumer.is_empty(),
            "capacity {capacity}"
        );
    }
}

#[test]
fn wraps_around_the_slots_many_times() {
    for capacity in [1, 2, 4] {
        let (mut producer, mut consumer) = ring::<usize>(capacity);
        let mut next_push = 0;
        let mut next_pop = 0;
        for round in 0..scale(5_000, 200) {
            // Push a varying amount (1..=capacity), pop a varying amount, so the
            // occupied range starts at every slot offset.
            for _ in 0..=(round % capacity) {
                if producer.push(next_push).is_ok() {
                    next_push += 1;
                }
            }
            for _ in 0..=((round / 2) % capacity) {
                if let Some(value) = consumer.pop() {
                    assert_eq!(value, next_pop);
                    next_pop += 1;
                }
            }
            assert!(next_push - next_pop <= capacity);
        }
        assert!(
            next_pop > scale(5_000, 200) / 2,
            "capacity {capacity}: too few went round"
        );
    }
}

#[test]
fn push_iter_fills_what_fits_and_leaves_the_rest_in_the_iterator() {
    let (mut producer, mut consumer) = ring(4);
    producer.push(0).unwrap();
    let mut items = 1..10;
    assert_eq!(producer.push_iter(&mut items), 3);
    assert_eq!(items.next(), Some(4));
    assert_eq!(producer.push_iter(&mut items), 0, "full: takes nothing");
    assert_eq!(items.next(), Some(5), "a full ring did not swallow an item");
    assert_eq!(consumer.pop_batch(&mut Vec::new(), 2), 2);
    // An iterator without an upper size bound makes the producer refresh its view.
    let mut odd = (6..20).filter(|v| v % 2 == 1);
    assert_eq!(producer.push_iter(&mut odd), 2);
    assert_eq!(odd.next(), Some(11));
    let all: Vec<i32> = consumer.drain(usize::MAX).collect();
    assert_eq!(all, [2, 3, 7, 9]);
    assert_eq!(producer.push_iter(&mut std::iter::empty()), 0);
}

#[test]
fn push_batch_moves_from_the_outbox_front_and_keeps_the_rest_in_order() {
    let (mut producer, mut consumer) = ring(4);
    let mut outbox: VecDeque<u32> = (0..10).collect();
    let mut received = Vec::new();
    let mut rounds = 0;
    while !outbox.is_empty() {
        let before = outbox.len();
        let pushed = producer.push_batch(&mut outbox);
        assert_eq!(outbox.len(), before - pushed);
        let unsent = outbox.len() as u32;
        assert_eq!(
            outbox.front().copied(),
            (unsent > 0).then_some(10 - unsent),
            "in order"
        );
        consumer.pop_batch(&mut received, 3);
        rounds += 1;
        assert!(rounds < 10, "no progress");
    }
    consumer.pop_batch(&mut received, usize::MAX);
    assert_eq!(received, (0..10).collect::<Vec<_>>());
    assert_eq!(producer.push_batch(&mut VecDeque::new()), 0);
}

#[test]
fn drain_yields_at_most_max_and_leaves_the_rest() {
    let (mut producer, mut consumer) = ring(8);
    producer.push_iter(&mut (0..5));
    assert_eq!(consumer.drain(0).count(), 0);
    let mut batch = consumer.drain(3);
    assert_eq!(batch.len(), 3);
    assert_eq!(batch.next(), Some(0));
    assert_eq!(batch.len(), 2);
    drop(batch);
    assert_eq!(consumer.len(), 4);
    let rest: Vec<u8> = consumer.drain(100).collect();
    assert_eq!(rest, [1, 2, 3, 4]);
    let mut empty = consumer.drain(100);
    assert_eq!(empty.next(), None);
    assert_eq!(empty.next(), None, "fused");
}

#[test]
fn drain_hands_slots_back_once_when_dropped() {
    let (mut producer, mut consumer) = ring(2);
    producer.push_iter(&mut (0..2));
    let mut batch = consumer.drain(2);
    assert_eq!(batch.next(), Some(0));
    assert_eq!(batch.next(), Some(1));
    assert_eq!(batch.next(), None);
    // The drain is alive, so the producer cannot see its slots yet.
    assert_eq!(consumer_free_space_seen_by(&mut producer), 0);
    drop(batch);
    assert_eq!(consumer_free_space_seen_by(&mut producer), 2);
}

fn consumer_free_space_seen_by(producer: &mut Producer<i32>) -> usize {
    let mut pushed = 0;
    while producer.push(-1).is_ok() {
        pushed += 1;
    }
    pushed
}

#[test]
fn drain_sees_items_pushed_since_the_last_look() {
    let (mut producer, mut consumer) = ring(4);
    producer.push(1).unwrap();
    assert_eq!(consumer.drain(1).collect::<Vec<_>>(), [1]);
    producer.push_iter(&mut (2..5));
    // The consumer's cached tail is stale (it saw 1 item); drain must look again.
    assert_eq!(consumer.drain(4).collect::<Vec<_>>(), [2, 3, 4]);
}

#[test]
fn pop_batch_counts_what_it_popped() {
    let (mut producer, mut consumer) = ring(8);
    producer.push_iter(&mut (0..6));
    let mut out = VecDeque::new();
    assert_eq!(consumer.pop_batch(&mut out, 4), 4);
    assert_eq!(consumer.pop_batch(&mut out, 4), 2);
    assert_eq!(consumer.pop_batch(&mut out, 4), 0);
    assert_eq!(out, [0, 1, 2, 3, 4, 5]);
}

#[test]
fn dropping_the_ring_drops_the_items_left_in_it() {
    for producer_dropped_first in [true, false] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut producer, mut consumer) = ring(4);
        // Go round the slots once so the leftovers straddle the end of the array.
        for value in counted(&drops, 0..3) {
            producer.push(value).unwrap();
        }
        assert_eq!(consumer.pop_batch(&mut Vec::new(), 3), 3);
        assert_eq!(drops.load(Ordering::Relaxed), 3);
        assert_eq!(
            producer.push_iter(&mut counted(&drops, 3..7).into_iter()),
            4
        );
        assert_eq!(consumer.pop().map(|c| c.id), Some(3));
        assert_eq!(drops.load(Ordering::Relaxed), 4);
        if producer_dropped_first {
            drop(producer);
            drop(consumer);
        } else {
            drop(consumer);
            drop(producer);
        }
        assert_eq!(
            drops.load(Ordering::Relaxed),
            7,
            "each of the 3 left dropped once"
        );
    }
}

#[test]
fn a_leaked_drain_neither_loses_slots_nor_drops_twice() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut producer, mut consumer) = ring(4);
    producer.push_iter(&mut counted(&drops, 0..4).into_iter());
    let mut batch = consumer.drain(4);
    let first = batch.next().unwrap();
    std::mem::forget(batch);
    assert_eq!(first.id, 0);
    drop(first);
    // The slot taken by the leaked drain comes back with the next pop.
    assert_eq!(consumer.pop().map(|c| c.id), Some(1));
    assert_eq!(
        producer.push_iter(&mut counted(&drops, 4..6).into_iter()),
        2
    );
    drop(producer);
    drop(consumer);
    assert_eq!(drops.load(Ordering::Relaxed), 6);
}

#[test]
fn a_panicking_iterator_loses_nothing_it_pushed() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut producer, mut consumer) = ring(8);
    let mut values = counted(&drops, 0..3).into_iter();
    let mut exploding = std::iter::from_fn(|| Some(values.next().expect("iterator exploded")));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        producer.push_iter(&mut exploding);
    }));
    assert!(result.is_err());
    // The 3 staged items become visible with the next publish.
    producer
        .push(Counted {
            id: 3,
            drops: Arc::clone(&drops),
        })
        .unwrap();
    let ids: Vec<u32> = consumer.drain(8).map(|c| c.id).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
    assert_eq!(drops.load(Ordering::Relaxed), 4);
}

#[test]
fn zero_sized_items_are_counted_like_any_other() {
    thread_local! {
        static TOKEN_DROPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    #[derive(Debug)]
    struct Token;
    impl Drop for Token {
        fn drop(&mut self) {
            TOKEN_DROPS.with(|drops| drops.set(drops.get() + 1));
        }
    }
    let (mut producer, mut consumer) = ring::<()>(4);
    assert_eq!(producer.push_iter(&mut std::iter::repeat_n((), 10)), 4);
    assert!(producer.is_full());
    assert_eq!(producer.push(()), Err(()));
    assert_eq!(consumer.drain(3).count(), 3);
    assert_eq!(consumer.len(), 1);

    let (mut producer, mut consumer) = ring::<Token>(2);
    producer.push_iter(&mut std::iter::repeat_with(|| Token).take(2));
    let rounds = scale(100, 10);
    for _ in 0..rounds {
        assert!(producer.push(Token).is_err()); // The refused token drops here.
        drop(consumer.pop().expect("the ring is full"));
        producer.push(Token).unwrap();
    }
    assert_eq!(TOKEN_DROPS.with(|drops| drops.get()), 2 * rounds);
    drop((producer, consumer));
    assert_eq!(
        TOKEN_DROPS.with(|drops| drops.get()),
        2 * rounds + 2,
        "the 2 left dropped once"
    );
}

#[test]
fn two_threads_keep_order_and_lose_nothing() {
    const BATCH: usize = 16;
    let total = scale(1_000_000, 3_000) as u64;
    // A small ring, so both the full and the empty edge are hit all the time.
    let (mut producer, mut consumer) = ring::<u64>(64);
    let sender = std::thread::spawn(move || {
        let mut next = 0;
        while next < total {
            // Alternate single pushes and batches of varying length.
            let pushed = if next % 3 == 0 {
                u64::from(producer.push(next).is_ok())
            } else {
                let len = (next % BATCH as u64) + 1;
                producer.push_iter(&mut (next..total.min(next + len))) as u64
            };
            next += pushed;
            if pushed == 0 {
                std::thread::yield_now();
            }
        }
    });
    let mut expected = 0;
    let mut sum = 0u64;
    while expected < total {
        let before = expected;
        if expected % 2 == 0 {
            for value in consumer.drain(BATCH) {
                assert_eq!(value, expected);
                expected += 1;
                sum = sum.wrapping_add(value);
            }
        } else if let Some(value) = consumer.pop() {
            assert_eq!(value, expected);
            expected += 1;
            sum = sum.wrapping_add(value);
        }
        if expected == before {
            std::thread::yield_now();
        }
    }
    sender.join().unwrap();
    assert_eq!(sum, total * (total - 1) / 2);
    assert_eq!(consumer.pop(), None);
}
