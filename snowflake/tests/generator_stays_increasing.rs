//! A generator's ids strictly increase and never repeat: in bursts far past
//! 4096 per millisecond, and while the wall clock jumps back and forth.

use std::collections::HashSet;

use proptest::prelude::*;
use snowflake::{Error, Generator, Snowflake};

const NOW_MS: u64 = 1_700_000_000_000;

#[test]
fn hundred_thousand_ids_in_one_millisecond_are_unique_and_increasing() {
    let mut ids = Generator::new(3, 9).unwrap();
    let mut seen = HashSet::new();
    let mut previous = None;
    for _ in 0..100_000 {
        let id = ids.next(NOW_MS).unwrap();
        assert!(previous < Some(id), "{previous:?} then {id:?}");
        assert!(seen.insert(id));
        assert_eq!((id.worker(), id.process()), (3, 9));
        previous = Some(id);
    }
    // 100_000 ids need ceil(100_000 / 4096) = 25 milliseconds.
    let last = previous.unwrap();
    assert_eq!(last.timestamp_ms(), NOW_MS + 24);
    assert_eq!(u32::from(last.sequence()), (100_000 - 1) % 4096);
}

#[test]
fn clock_stepping_back_keeps_the_last_millisecond() {
    let mut ids = Generator::new(0, 1).unwrap();
    let before = ids.next(NOW_MS).unwrap();
    // NTP steps the clock back an hour.
    let during: Vec<Snowflake> = (0..10)
        .map(|i| ids.next(NOW_MS - 3_600_000 + i).unwrap())
        .collect();
    assert!(before < during[0]);
    assert!(during.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(during.iter().all(|id| id.timestamp_ms() == NOW_MS));
    assert_eq!(during[9].sequence(), 10);
    // The clock comes back: ids follow it again.
    let after = ids.next(NOW_MS + 5).unwrap();
    assert!(during[9] < after);
    assert_eq!((after.timestamp_ms(), after.sequence()), (NOW_MS + 5, 0));
}

#[test]
fn clock_stepping_back_during_a_burst_stays_within_budget() {
    let mut ids = Generator::new(0, 0).unwrap().with_ahead_ms_max(10);
    ids.next(NOW_MS).unwrap();
    let mut previous = ids.last_id().unwrap();
    let mut issued = 1u64;
    // The clock reads an hour early; the budget is still measured from NOW_MS.
    loop {
        match ids.next(NOW_MS - 3_600_000) {
            Ok(id) => {
                assert!(previous < id);
                assert!(id.timestamp_ms() <= NOW_MS + 10);
                previous = id;
                issued += 1;
            }
            Err(Error::SequenceExhausted { retry_after_ms }) => {
                assert_eq!(retry_after_ms, 3_600_000 + 1);
                break;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(issued, 11 * 4096);
}

#[derive(Debug, Clone)]
enum Step {
    /// Move the wall clock by this many milliseconds (may be negative).
    Clock(i64),
    /// Ask for this many ids at the current wall clock.
    Burst(u16),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (-5_000i64..5_000).prop_map(Step::Clock),
        (-3i64..4).prop_map(Step::Clock),
        (1u16..9_000).prop_map(Step::Burst),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the clock does: ids increase, and their time stays within the
    /// budget of the newest clock reading; an exhausted budget reports a wait
    /// that, once waited, lets `next` succeed.
    #[test]
    fn ids_increase_under_any_clock(steps in prop::collection::vec(step(), 1..40), budget in 0u64..4) {
        let mut ids = Generator::new(1, 1).unwrap().with_ahead_ms_max(budget);
        let mut wall_ms = NOW_MS;
        let mut wall_high_ms = NOW_MS;
        let mut previous: Option<Snowflake> = None;
        for step in steps {
            match step {
                Step::Clock(delta) => wall_ms = wall_ms.checked_add_signed(delta).unwrap(),
                Step::Burst(count) => {
                    wall_high_ms = wall_high_ms.max(wall_ms);
                    for _ in 0..count {
                        match ids.next(wall_ms) {
                            Ok(id) => {
                                prop_assert!(previous < Some(id));
                                prop_assert!(id.timestamp_ms() <= wall_high_ms + budget);
                                previous = Some(id);
                            }
                            Err(Error::SequenceExhausted { retry_after_ms }) => {
                                prop_assert!(retry_after_ms >= 1);
                                let mut waited = ids.clone();
                                let id = waited.next(wall_ms + retry_after_ms).unwrap();
                                prop_assert!(previous < Some(id));
                                if retry_after_ms > 1 {
                                    let mut early = ids.clone();
                                    let result = early.next(wall_ms + retry_after_ms - 1);
                                    prop_assert!(
                                        matches!(result, Err(Error::SequenceExhausted { .. })),
                                        "{:?}", result
                                    );
                                }
                                break;
                            }
                            Err(other) => prop_assert!(false, "unexpected {:?}", other),
                        }
                    }
                }
            }
        }
    }
}
