//! Storage buckets: ten-day slices of snowflake time.
//!
//! Discord's message tables partition each channel by
//! `(channel_id, bucket)` where `bucket = (id >> 22) / BUCKET_SIZE` and
//! `BUCKET_SIZE` is ten days in milliseconds. A partition then holds a
//! bounded slice of history, and a "latest 50 messages" query reads the
//! newest bucket first and walks older ones only if it needs more.
//!
//! Elsewhere: which buckets a channel actually has (the `lsm`), and the
//! channel's own bucket as the oldest one worth scanning (its id is older than
//! every message in it).
//!
//! Invariants:
//! - [`Bucket::of`] is the only function that computes a bucket.
//! - `Bucket::of(id)` is monotonic in `id`, and
//!   `b.first_id() <= id <= b.last_id()` exactly when `Bucket::of(id) == b`.
//! - Consecutive buckets tile the id space: `b.last_id() + 1 == b.newer().first_id()`.

use crate::{Error, Snowflake};

/// Length of one bucket: ten days in milliseconds.
pub const BUCKET_SIZE_MS: u64 = 10 * 86_400_000;

/// A ten-day slice of snowflake time, numbered from the Discord epoch.
///
/// ```
/// use snowflake::{Bucket, Snowflake, BUCKET_SIZE_MS, DISCORD_EPOCH_MS};
///
/// let id = Snowflake::from_timestamp_ms(DISCORD_EPOCH_MS + 25 * 86_400_000)?; // day 25
/// let bucket = Bucket::of(id);
/// assert_eq!(bucket.index(), 2); // days 20..30
/// assert!(bucket.first_id() <= id && id <= bucket.last_id());
/// assert_eq!(bucket.first_timestamp_ms(), DISCORD_EPOCH_MS + 2 * BUCKET_SIZE_MS);
///
/// // A scan for messages before `id`, newest bucket first, stopping at the
/// // channel's creation bucket.
/// let channel = Snowflake::from_timestamp_ms(DISCORD_EPOCH_MS)?;
/// let order: Vec<u32> = Bucket::newest_first(bucket, Bucket::of(channel)).map(Bucket::index).collect();
/// assert_eq!(order, [2, 1, 0]);
/// # Ok::<(), snowflake::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bucket(u32);

const _: () = assert!(Snowflake::SINCE_EPOCH_MS_MAX / BUCKET_SIZE_MS <= u32::MAX as u64);

impl Bucket {
    /// The bucket of [`Snowflake::MAX`]; it is cut short by the end of the
    /// 42-bit range.
    pub const MAX: Bucket = Bucket((Snowflake::SINCE_EPOCH_MS_MAX / BUCKET_SIZE_MS) as u32);

    /// The bucket that holds `id`: `(id >> 22) / BUCKET_SIZE_MS`.
    ///
    /// This is the only place a bucket is computed; everything else asks it.
    pub const fn of(id: Snowflake) -> Bucket {
        // At most `MAX.0`, which the compile-time assert above fits in u32.
        Bucket((id.since_epoch_ms() / BUCKET_SIZE_MS) as u32)
    }

    /// The bucket numbered `index`, e.g. read back from a storage key.
    pub const fn from_index(index: u32) -> Result<Bucket, Error> {
        if index > Self::MAX.0 {
            return Err(Error::BucketOutOfRange { index });
        }
        Ok(Bucket(index))
    }

    /// The bucket number, for storage keys.
    pub const fn index(self) -> u32 {
        self.0
    }

    /// Unix milliseconds at which this bucket starts.
    pub const fn first_timestamp_ms(self) -> u64 {
        self.first_id().timestamp_ms()
    }

    /// The smallest id in this bucket.
    pub const fn first_id(self) -> Snowflake {
        let first_ms = self.0 as u64 * BUCKET_SIZE_MS;
        Snowflake::compose(first_ms, 0, 0)
    }

    /// The largest id in this bucket (every low field at its maximum).
    pub const fn last_id(self) -> Snowflake {
        match self.newer() {
            Some(newer) => Snowflake::new(newer.first_id().get() - 1),
            None => Snowflake::MAX,
        }
    }

    /// The next bucket in time, or `None` after [`Bucket::MAX`].
    pub const fn newer(self) -> Option<Bucket> {
        if self.0 >= Self::MAX.0 {
            return None;
        }
        Some(Bucket(self.0 + 1))
    }

    /// The previous bucket in time, or `None` before bucket 0.
    pub const fn older(self) -> Option<Bucket> {
        match self.0.checked_sub(1) {
            Some(index) => Some(Bucket(index)),
            None => None,
        }
    }

    /// Buckets from `newest` down to `oldest`, both included; empty if
    /// `oldest > newest`. This is the order the LSM scans a channel's history.
    pub const fn newest_first(newest: Bucket, oldest: Bucket) -> NewestFirst {
        NewestFirst {
            next: Some(newest),
            oldest,
        }
    }
}

/// Iterator from [`Bucket::newest_first`]. Yields at most
/// `newest - oldest + 1` buckets.
#[derive(Debug, Clone)]
pub struct NewestFirst {
    next: Option<Bucket>,
    oldest: Bucket,
}

impl Iterator for NewestFirst {
    type Item = Bucket;

    fn next(&mut self) -> Option<Bucket> {
        let bucket = self.next.filter(|bucket| *bucket >= self.oldest)?;
        self.next = bucket.older();
        Some(bucket)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match self.next {
            Some(next) if next >= self.oldest => (next.0 - self.oldest.0) as usize + 1,
            _ => 0,
        };
        (len, Some(len))
    }
}

impl ExactSizeIterator for NewestFirst {}

impl core::iter::FusedIterator for NewestFirst {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DISCORD_EPOCH_MS;

    #[test]
    fn last_millisecond_of_a_bucket_and_first_of_the_next() {
        for n in [0u64, 1, 2, 41, 365] {
            let last_ms = DISCORD_EPOCH_MS + (n + 1) * BUCKET_SIZE_MS - 1;
            let last = Snowflake::from_parts(crate::Parts {
                timestamp_ms: last_ms,
                worker: 31,
                process: 31,
                sequence: 4095,
            })
            .unwrap();
            let first_of_next = Snowflake::from_timestamp_ms(last_ms + 1).unwrap();
            assert_eq!(Bucket::of(last).index() as u64, n);
            assert_eq!(Bucket::of(first_of_next).index() as u64, n + 1);
            assert_eq!(Bucket::of(last).last_id(), last);
            assert_eq!(Bucket::of(first_of_next).first_id(), first_of_next);
            assert_eq!(last.get() + 1, first_of_next.get());
        }
    }

    #[test]
    fn matches_discords_formula() {
        for raw in [
            0,
            175_928_847_299_117_063,
            1_166_862_083_686_400_000,
            u64::MAX,
        ] {
            let expected = (raw >> 22) / (1000 * 60 * 60 * 24 * 10);
            assert_eq!(Bucket::of(Snowflake::new(raw)).index() as u64, expected);
        }
    }

    #[test]
    fn range_ends_at_max() {
        assert_eq!(Bucket::of(Snowflake::MAX), Bucket::MAX);
        assert_eq!(Bucket::MAX.index(), 5090);
        assert_eq!(Bucket::MAX.last_id(), Snowflake::MAX);
        assert_eq!(Bucket::MAX.newer(), None);
        assert_eq!(Bucket::from_index(5090), Ok(Bucket::MAX));
        assert_eq!(
            Bucket::from_index(5091),
            Err(Error::BucketOutOfRange { index: 5091 })
        );
        assert_eq!(
            Bucket::from_index(u32::MAX),
            Err(Error::BucketOutOfRange { index: u32::MAX })
        );
        let zero = Bucket::of(Snowflake::MIN);
        assert_eq!(
            (zero.index(), zero.older(), zero.first_id()),
            (0, None, Snowflake::MIN)
        );
    }

    #[test]
    fn newest_first_walks_down_inclusive() {
        let b = |index| Bucket::from_index(index).unwrap();
        let order: Vec<u32> = Bucket::newest_first(b(7), b(4))
            .map(Bucket::index)
            .collect();
        assert_eq!(order, [7, 6, 5, 4]);
        assert_eq!(Bucket::newest_first(b(7), b(4)).len(), 4);
        assert_eq!(Bucket::newest_first(b(3), b(3)).collect::<Vec<_>>(), [b(3)]);
        assert_eq!(Bucket::newest_first(b(3), b(4)).len(), 0);
        assert_eq!(Bucket::newest_first(b(3), b(4)).next(), None);
        assert_eq!(Bucket::newest_first(b(1), b(0)).count(), 2);
        assert_eq!(Bucket::newest_first(Bucket::MAX, b(0)).count(), 5091);
    }
}
