//! Every interleaving of a producer thread and a consumer thread on tiny rings, under loom.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p ringbuf --release --test loom`.
//! With `--cfg loom` the ring is built on loom's atomics, `Arc` and `UnsafeCell`, so loom
//! explores the thread schedules and the values each `Acquire` load may see, and fails a
//! test if a slot is touched by both threads without a happens-before edge between them
//! (a data race), if a value is lost, duplicated or reordered, or if a `tail - head <=
//! capacity` assertion inside the ring fires (those stay on in release builds under loom).
//!
//! Capacities are 1, 2 and 4 with a few items more than fit, so every test crosses both
//! the full and the empty edge and wraps the slot array. Retry loops yield to loom when
//! they make no progress, which is what lets loom bound them.

#![cfg(loom)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use loom::thread;
use ringbuf::{ring, Consumer, Producer};

/// No bound on preemptions: every schedule.
const EXHAUSTIVE: Option<usize> = None;

/// Explores every schedule of `f`, or (`Some(n)`) those with at most `n` preemptions;
/// loom's documentation finds 2–3 enough to expose ordering bugs. Only the test whose
/// exhaustive run takes about a minute is bounded.
fn check(preemptions: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = preemptions;
    builder.check(f);
}

/// Pushes `values` one at a time, yielding while the ring is full.
fn push_each(producer: &mut Producer<usize>, values: std::ops::Range<usize>) {
    for value in values {
        let mut value = value;
        while let Err(refused) = producer.push(value) {
            value = refused;
            thread::yield_now();
        }
    }
}

/// Pops `count` values one at a time, yielding while the ring is empty.
fn pop_each(consumer: &mut Consumer<usize>, count: usize) -> Vec<usize> {
    let mut popped = Vec::new();
    while popped.len() < count {
        match consumer.pop() {
            Some(value) => popped.push(value),
            None => thread::yield_now(),
        }
    }
    popped
}

#[test]
fn single_pushes_and_pops_keep_order_across_the_full_edge() {
    for capacity in [1, 2] {
        check(EXHAUSTIVE, move || {
            let (mut producer, mut consumer) = ring::<usize>(capacity);
            let sender = thread::spawn(move || push_each(&mut producer, 0..3));
            assert_eq!(pop_each(&mut consumer, 3), [0, 1, 2]);
            sender.join().unwrap();
        });
    }
}

#[test]
fn batches_keep_order_and_lose_nothing() {
    for capacity in [2, 4] {
        check(EXHAUSTIVE, move || {
            let (mut producer, mut consumer) = ring::<usize>(capacity);
            let total = capacity + 2;
            let sender = thread::spawn(move || {
                let mut values = 0..total;
                while !values.is_empty() {
                    if producer.push_iter(&mut values) == 0 {
                        thread::yield_now();
                    }
                }
            });
            let mut received = Vec::new();
            while received.len() < total {
                let before = received.len();
                // Drain at most 3, so a batch can end before the ring is empty.
                received.extend(consumer.drain(3));
                if received.len() == before {
                    thread::yield_now();
                }
            }
            assert_eq!(received, (0..total).collect::<Vec<_>>());
            sender.join().unwrap();
        });
    }
}

#[test]
fn outbox_batches_meet_single_pops() {
    check(EXHAUSTIVE, || {
        let (mut producer, mut consumer) = ring::<usize>(2);
        let sender = thread::spawn(move || {
            let mut outbox: VecDeque<usize> = (0..3).collect();
            while !outbox.is_empty() {
                if producer.push_batch(&mut outbox) == 0 {
                    thread::yield_now();
                }
            }
            assert!(producer.len() <= producer.capacity());
        });
        let popped = pop_each(&mut consumer, 3);
        assert_eq!(popped, [0, 1, 2]);
        assert!(consumer.is_empty());
        sender.join().unwrap();
    });
}

#[test]
fn single_pushes_meet_a_partial_drain() {
    check(EXHAUSTIVE, || {
        let (mut producer, mut consumer) = ring::<usize>(2);
        let sender = thread::spawn(move || push_each(&mut producer, 0..3));
        let mut received = Vec::new();
        while received.len() < 3 {
            let mut batch = consumer.drain(2);
            // Take one and drop the drain: the rest stays for the next round, and the
            // producer must not overwrite it in between.
            match batch.next() {
                Some(value) => received.push(value),
                None => {
                    drop(batch);
                    thread::yield_now();
                }
            }
        }
        assert_eq!(received, [0, 1, 2]);
        sender.join().unwrap();
    });
}

#[test]
fn lengths_seen_from_either_half_stay_within_capacity() {
    check(Some(4), || {
        let (mut producer, mut consumer) = ring::<usize>(2);
        let sender = thread::spawn(move || {
            for value in 0..3 {
                let _ = producer.push(value);
                assert!(producer.len() <= 2);
            }
        });
        for _ in 0..3 {
            let len = consumer.len();
            assert!(len <= 2, "consumer saw len {len}");
            let _ = consumer.pop();
        }
        sender.join().unwrap();
    });
}

/// Counts drops; the counter is a plain std atomic because loom runs one schedule at a
/// time on one OS thread and the counter is only read after both halves are gone.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn halves_dropped_on_different_threads_drop_each_item_once() {
    check(EXHAUSTIVE, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut producer, mut consumer) = ring::<Counted>(2);
        let sender_drops = Arc::clone(&drops);
        let sender = thread::spawn(move || {
            for _ in 0..3 {
                // The third push may find the ring full; the refused value drops here.
                let _ = producer.push(Counted(Arc::clone(&sender_drops)));
            }
            // `producer` drops here, on this thread, possibly before or after the consumer.
        });
        let popped = consumer.pop();
        drop(popped);
        drop(consumer);
        sender.join().unwrap();
        assert_eq!(
            drops.load(Ordering::Relaxed),
            3,
            "each of the 3 values dropped once"
        );
    });
}
