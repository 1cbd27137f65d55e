//! A ring driven by random push/pop/batch sequences behaves like a bounded `VecDeque`.
//!
//! Both halves live on one thread here, so the ring's answers are deterministic: every
//! push succeeds exactly when the model has room, every pop returns the model's front,
//! and partial batches (a full ring, a drain dropped early) leave the same items behind.
//! Concurrency is `tests/loom.rs`'s job and the threaded unit test's.

use std::collections::VecDeque;

use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Push(u16),
    PushIter(Vec<u16>),
    PushBatch(Vec<u16>),
    Pop,
    /// Start a `drain(max)`, take `take` items from it, then drop it.
    Drain {
        max: usize,
        take: usize,
    },
    PopBatch(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let values = prop::collection::vec(any::<u16>(), 0..20);
    prop_oneof![
        3 => any::<u16>().prop_map(Step::Push),
        2 => values.clone().prop_map(Step::PushIter),
        2 => values.prop_map(Step::PushBatch),
        3 => Just(Step::Pop),
        2 => (0..20usize, 0..20usize).prop_map(|(max, take)| Step::Drain { max, take }),
        1 => (0..20usize).prop_map(Step::PopBatch),
    ]
}

proptest! {
    #[test]
    fn ring_matches_a_bounded_vecdeque(
        capacity_log2 in 0u32..5,
        steps in prop::collection::vec(step(), 1..200),
    ) {
        let capacity = 1usize << capacity_log2;
        let (mut producer, mut consumer) = ringbuf::ring::<u16>(capacity);
        let mut model: VecDeque<u16> = VecDeque::new();
        for step in steps {
            match step {
                Step::Push(value) => {
                    let expected = if model.len() < capacity {
                        model.push_back(value);
                        Ok(())
                    } else {
                        Err(value)
                    };
                    prop_assert_eq!(producer.push(value), expected);
                }
                Step::PushIter(values) => {
                    let fits = values.len().min(capacity - model.len());
                    model.extend(&values[..fits]);
                    let mut items = values.iter().copied();
                    prop_assert_eq!(producer.push_iter(&mut items), fits);
                    prop_assert_eq!(items.collect::<Vec<_>>(), &values[fits..]);
                }
                Step::PushBatch(values) => {
                    let fits = values.len().min(capacity - model.len());
                    model.extend(&values[..fits]);
                    let mut outbox: VecDeque<u16> = values.iter().copied().collect();
                    prop_assert_eq!(producer.push_batch(&mut outbox), fits);
                    prop_assert_eq!(Vec::from(outbox), &values[fits..]);
                }
                Step::Pop => prop_assert_eq!(consumer.pop(), model.pop_front()),
                Step::Drain { max, take } => {
                    let mut drain = consumer.drain(max);
                    prop_assert_eq!(drain.len(), max.min(model.len()));
                    let taken: Vec<u16> = drain.by_ref().take(take).collect();
                    drop(drain);
                    let expected: Vec<u16> = model.drain(..take.min(max).min(model.len())).collect();
                    prop_assert_eq!(taken, expected);
                }
                Step::PopBatch(max) => {
                    let mut out = Vec::new();
                    prop_assert_eq!(consumer.pop_batch(&mut out, max), max.min(model.len()));
                    let expected: Vec<u16> = model.drain(..max.min(model.len())).collect();
                    prop_assert_eq!(out, expected);
                }
            }
            prop_assert_eq!(producer.len(), model.len());
            prop_assert_eq!(consumer.len(), model.len());
            prop_assert_eq!(producer.is_empty(), model.is_empty());
            prop_assert_eq!(consumer.is_full(), model.len() == capacity);
        }
        // What is left comes out in order.
        prop_assert_eq!(consumer.drain(usize::MAX).collect::<Vec<_>>(), Vec::from(model));
    }
}
