//! Buckets tile the id space without gaps or overlap, and `Bucket::of` agrees
//! with each bucket's first and last id.

use proptest::prelude::*;
use snowflake::{Bucket, Snowflake, BUCKET_SIZE_MS, DISCORD_EPOCH_MS};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn every_id_lies_inside_its_bucket(raw in any::<u64>()) {
        let id = Snowflake::new(raw);
        let bucket = Bucket::of(id);
        prop_assert!(bucket.first_id() <= id && id <= bucket.last_id());
        prop_assert_eq!(u64::from(bucket.index()), (raw >> 22) / BUCKET_SIZE_MS);
        prop_assert_eq!(Bucket::of(bucket.first_id()), bucket);
        prop_assert_eq!(Bucket::of(bucket.last_id()), bucket);
    }

    #[test]
    fn consecutive_buckets_meet_exactly(index in 0u32..Bucket::MAX.index()) {
        let bucket = Bucket::from_index(index).unwrap();
        let newer = bucket.newer().unwrap();
        prop_assert_eq!(bucket.last_id().get() + 1, newer.first_id().get());
        prop_assert_eq!(newer.older(), Some(bucket));
        prop_assert_eq!(newer.first_timestamp_ms() - bucket.first_timestamp_ms(), BUCKET_SIZE_MS);
    }

    #[test]
    fn of_is_monotonic(a in any::<u64>(), b in any::<u64>()) {
        let (low, high) = (a.min(b), a.max(b));
        prop_assert!(Bucket::of(Snowflake::new(low)) <= Bucket::of(Snowflake::new(high)));
    }
}

#[test]
fn first_bucket_starts_at_the_epoch_and_spans_ten_days() {
    let first = Bucket::of(Snowflake::MIN);
    assert_eq!(first.first_timestamp_ms(), DISCORD_EPOCH_MS);
    let last_ms = DISCORD_EPOCH_MS + 10 * 86_400_000 - 1;
    assert_eq!(first.last_id().timestamp_ms(), last_ms);
    assert_eq!(
        Bucket::of(Snowflake::from_timestamp_ms(last_ms).unwrap()),
        first
    );
    assert_eq!(
        Bucket::of(Snowflake::from_timestamp_ms(last_ms + 1).unwrap()).index(),
        1
    );
}

#[test]
fn a_scan_across_buckets_visits_newest_first_and_covers_the_range() {
    // Messages before `before`, down to the channel's creation.
    let channel = Snowflake::from_timestamp_ms(1_600_000_000_000).unwrap();
    let before = Snowflake::from_timestamp_ms(1_600_000_000_000 + 35 * 86_400_000).unwrap();
    let buckets: Vec<Bucket> =
        Bucket::newest_first(Bucket::of(before), Bucket::of(channel)).collect();
    assert_eq!(buckets.first(), Some(&Bucket::of(before)));
    assert_eq!(buckets.last(), Some(&Bucket::of(channel)));
    assert!(buckets
        .windows(2)
        .all(|pair| pair[0].older() == Some(pair[1])));
    assert!(
        buckets.len() == 4 || buckets.len() == 5,
        "35 days span 4 or 5 buckets"
    );
}
