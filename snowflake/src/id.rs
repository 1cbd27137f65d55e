//! The `Snowflake` id and its 64-bit layout.
//!
//! ```text
//!  63                                          22 21   17 16   12 11          0
//! +----------------------------------------------+-------+-------+-------------+
//! |  milliseconds since DISCORD_EPOCH_MS (42)    | worker|process|  sequence   |
//! |                                              |  (5)  |  (5)  |    (12)     |
//! +----------------------------------------------+-------+-------+-------------+
//! ```
//!
//! Implements: Discord's documented snowflake format ("Snowflakes" in the API
//! reference) and its sharding formula `(id >> 22) % count`.
//! Elsewhere: decimal text (`decimal.rs`), issuing ids (`generator.rs`),
//! storage buckets (`bucket.rs`).
//!
//! Invariants:
//! - Every `u64` is a valid snowflake: the fields cover all 64 bits, so
//!   decoding a field can never fail and never panics.
//! - Ordering ids orders them by time first; ids from one generator are
//!   strictly increasing (see `generator.rs`).
//! - Building an id from parts checks every field; nothing is truncated.

use core::num::NonZeroU32;

use crate::Error;

/// The Discord epoch, 2015-01-01T00:00:00Z, in Unix milliseconds.
///
/// ```
/// assert_eq!(snowflake::DISCORD_EPOCH_MS, 1_420_070_400_000);
/// ```
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A Discord-style 64-bit id: creation time, issuing node, and a sequence.
///
/// `Display` and `FromStr` use the decimal string form Discord sends in
/// JSON; see [`Snowflake::parse_ascii`] for the exact rules.
///
/// ```
/// use snowflake::Snowflake;
///
/// // An id from Discord's documentation.
/// let id: Snowflake = "175928847299117063".parse()?;
/// assert_eq!(id.timestamp_ms(), 1_462_015_105_796); // 2016-04-30T11:18:25.796Z
/// assert_eq!(id.worker(), 1);
/// assert_eq!(id.process(), 0);
/// assert_eq!(id.sequence(), 7);
/// assert_eq!(id.to_string(), "175928847299117063");
/// # Ok::<(), snowflake::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Snowflake(u64);

/// The four fields of a [`Snowflake`], for building one with
/// [`Snowflake::from_parts`] or reading one with [`Snowflake::parts`].
///
/// A struct rather than four positional arguments so that worker and
/// process, both `u8`, cannot be swapped by accident.
///
/// ```
/// use snowflake::{Parts, Snowflake};
///
/// let parts = Parts { timestamp_ms: 1_462_015_105_796, worker: 1, process: 0, sequence: 7 };
/// let id = Snowflake::from_parts(parts)?;
/// assert_eq!(id.get(), 175_928_847_299_117_063);
/// assert_eq!(id.parts(), parts);
/// # Ok::<(), snowflake::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parts {
    /// Unix time in milliseconds, in `DISCORD_EPOCH_MS..=Snowflake::TIMESTAMP_MS_MAX`.
    pub timestamp_ms: u64,
    /// Worker (Discord's "internal worker id"), `0..=31`. Flux: the node.
    pub worker: u8,
    /// Process (Discord's "internal process id"), `0..=31`. Flux: the core.
    pub process: u8,
    /// Per-millisecond counter, `0..=4095`.
    pub sequence: u16,
}

pub(crate) const TIMESTAMP_BITS: u32 = 42;
pub(crate) const WORKER_BITS: u32 = 5;
pub(crate) const PROCESS_BITS: u32 = 5;
pub(crate) const SEQUENCE_BITS: u32 = 12;

pub(crate) const TIMESTAMP_SHIFT: u32 = WORKER_BITS + PROCESS_BITS + SEQUENCE_BITS;
pub(crate) const WORKER_SHIFT: u32 = PROCESS_BITS + SEQUENCE_BITS;
pub(crate) const PROCESS_SHIFT: u32 = SEQUENCE_BITS;

const _: () = assert!(TIMESTAMP_BITS + WORKER_BITS + PROCESS_BITS + SEQUENCE_BITS == 64);
const _: () = assert!(
    TIMESTAMP_SHIFT == 22,
    "Discord's `id >> 22` must give the time"
);
const _: () = assert!(Snowflake::TIMESTAMP_MS_MAX > DISCORD_EPOCH_MS);
const _: () = assert!(Snowflake::MAX.since_epoch_ms() == Snowflake::SINCE_EPOCH_MS_MAX);

impl Snowflake {
    /// The smallest id: the epoch, worker 0, process 0, sequence 0.
    pub const MIN: Snowflake = Snowflake(0);
    /// The largest id: the last millisecond of the range, every field at its maximum.
    pub const MAX: Snowflake = Snowflake(u64::MAX);
    /// Largest worker, `2^5 - 1`.
    pub const WORKER_MAX: u8 = (1 << WORKER_BITS) - 1;
    /// Largest process, `2^5 - 1`.
    pub const PROCESS_MAX: u8 = (1 << PROCESS_BITS) - 1;
    /// Largest sequence, `2^12 - 1`: at most 4096 ids per millisecond per
    /// (worker, process).
    pub const SEQUENCE_MAX: u16 = (1 << SEQUENCE_BITS) - 1;
    /// Largest time field, `2^42 - 1` milliseconds after the epoch.
    pub const SINCE_EPOCH_MS_MAX: u64 = (1 << TIMESTAMP_BITS) - 1;
    /// Largest Unix time in milliseconds that fits (in the year 2154).
    pub const TIMESTAMP_MS_MAX: u64 = DISCORD_EPOCH_MS + Self::SINCE_EPOCH_MS_MAX;

    /// Wraps a raw value. Every `u64` is a valid snowflake.
    pub const fn new(raw: u64) -> Snowflake {
        Snowflake(raw)
    }

    /// The raw 64-bit value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Builds an id from its fields, rejecting any field out of range.
    ///
    /// ```
    /// use snowflake::{Error, Parts, Snowflake};
    ///
    /// let parts = Parts { timestamp_ms: 1_500_000_000_000, worker: 32, process: 0, sequence: 0 };
    /// assert_eq!(Snowflake::from_parts(parts), Err(Error::WorkerOutOfRange { worker: 32 }));
    /// ```
    pub const fn from_parts(parts: Parts) -> Result<Snowflake, Error> {
        let since_epoch_ms = match since_epoch_ms_of(parts.timestamp_ms) {
            Ok(ms) => ms,
            Err(error) => return Err(error),
        };
        if parts.worker > Self::WORKER_MAX {
            return Err(Error::WorkerOutOfRange {
                worker: parts.worker,
            });
        }
        if parts.process > Self::PROCESS_MAX {
            return Err(Error::ProcessOutOfRange {
                process: parts.process,
            });
        }
        if parts.sequence > Self::SEQUENCE_MAX {
            return Err(Error::SequenceOutOfRange {
                sequence: parts.sequence,
            });
        }
        Ok(Self::compose(
            since_epoch_ms,
            node_bits(parts.worker, parts.process),
            parts.sequence,
        ))
    }

    /// The smallest id created at Unix millisecond `timestamp_ms` (worker,
    /// process and sequence all zero).
    ///
    /// Use it to turn a time into a query bound: every id created at or after
    /// `timestamp_ms` is `>=` the result, every id created before is `<`.
    /// Discord's bulk delete refuses messages older than 14 days:
    ///
    /// ```
    /// use snowflake::Snowflake;
    ///
    /// const FOURTEEN_DAYS_MS: u64 = 14 * 86_400_000;
    /// let now_ms = 1_700_000_000_000;
    /// let oldest_allowed = Snowflake::from_timestamp_ms(now_ms - FOURTEEN_DAYS_MS)?;
    /// let message: Snowflake = "1166862083686400000".parse()?; // 2023-10-26
    /// assert!(message < oldest_allowed); // 20 days old: too old to bulk delete.
    /// # Ok::<(), snowflake::Error>(())
    /// ```
    pub const fn from_timestamp_ms(timestamp_ms: u64) -> Result<Snowflake, Error> {
        match since_epoch_ms_of(timestamp_ms) {
            Ok(ms) => Ok(Self::compose(ms, 0, 0)),
            Err(error) => Err(error),
        }
    }

    /// Creation time as Unix milliseconds.
    pub const fn timestamp_ms(self) -> u64 {
        self.since_epoch_ms() + DISCORD_EPOCH_MS
    }

    /// Creation time as milliseconds since [`DISCORD_EPOCH_MS`]: the raw
    /// 42-bit field, `id >> 22`.
    pub const fn since_epoch_ms(self) -> u64 {
        self.0 >> TIMESTAMP_SHIFT
    }

    /// The 5-bit worker field.
    pub const fn worker(self) -> u8 {
        ((self.0 >> WORKER_SHIFT) & Self::WORKER_MAX as u64) as u8
    }

    /// The 5-bit process field.
    pub const fn process(self) -> u8 {
        ((self.0 >> PROCESS_SHIFT) & Self::PROCESS_MAX as u64) as u8
    }

    /// The 12-bit sequence field.
    pub const fn sequence(self) -> u16 {
        (self.0 & Self::SEQUENCE_MAX as u64) as u16
    }

    /// All four fields at once.
    pub const fn parts(self) -> Parts {
        Parts {
            timestamp_ms: self.timestamp_ms(),
            worker: self.worker(),
            process: self.process(),
            sequence: self.sequence(),
        }
    }

    /// Which of `count` shards owns this id: `(id >> 22) % count`.
    ///
    /// This is Discord's gateway sharding formula, applied to a guild id. In
    /// Flux it picks the core that owns a guild (`shard_of(cores)`). It uses
    /// only the time field, so ids created in the same millisecond land on the
    /// same shard whatever node issued them. `count` is non-zero by type,
    /// so this cannot divide by zero.
    ///
    /// ```
    /// use core::num::NonZeroU32;
    /// use snowflake::Snowflake;
    ///
    /// let guild = Snowflake::new(197_038_439_483_310_086);
    /// let cores = NonZeroU32::new(8).unwrap();
    /// assert_eq!(guild.shard_of(cores), ((197_038_439_483_310_086u64 >> 22) % 8) as u32);
    /// ```
    pub const fn shard_of(self, count: NonZeroU32) -> u32 {
        // The remainder is below `count`, a u32, so the cast is lossless.
        (self.since_epoch_ms() % count.get() as u64) as u32
    }

    /// Assembles the raw value from fields that the caller already checked.
    pub(crate) const fn compose(since_epoch_ms: u64, node_bits: u64, sequence: u16) -> Snowflake {
        debug_assert!(since_epoch_ms <= Self::SINCE_EPOCH_MS_MAX);
        debug_assert!(node_bits & !NODE_MASK == 0);
        debug_assert!(sequence <= Self::SEQUENCE_MAX);
        Snowflake((since_epoch_ms << TIMESTAMP_SHIFT) | node_bits | sequence as u64)
    }

    /// The worker and process bits of this id, in place.
    pub(crate) const fn node_bits(self) -> u64 {
        self.0 & NODE_MASK
    }
}

impl From<u64> for Snowflake {
    fn from(raw: u64) -> Snowflake {
        Snowflake(raw)
    }
}

impl From<Snowflake> for u64 {
    fn from(id: Snowflake) -> u64 {
        id.0
    }
}

/// Worker and process bits together: bits 12..=21.
const NODE_MASK: u64 = ((1 << (WORKER_BITS + PROCESS_BITS)) - 1) << PROCESS_SHIFT;

/// Worker and process placed in their bit positions. Callers check ranges.
pub(crate) const fn node_bits(worker: u8, process: u8) -> u64 {
    debug_assert!(worker <= Snowflake::WORKER_MAX);
    debug_assert!(process <= Snowflake::PROCESS_MAX);
    ((worker as u64) << WORKER_SHIFT) | ((process as u64) << PROCESS_SHIFT)
}

/// Converts Unix milliseconds to the 42-bit time field, or says why it cannot.
pub(crate) const fn since_epoch_ms_of(timestamp_ms: u64) -> Result<u64, Error> {
    if timestamp_ms < DISCORD_EPOCH_MS {
        return Err(Error::TimestampBeforeEpoch { timestamp_ms });
    }
    if timestamp_ms > Snowflake::TIMESTAMP_MS_MAX {
        return Err(Error::TimestampAfterMax { timestamp_ms });
    }
    Ok(timestamp_ms - DISCORD_EPOCH_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(timestamp_ms: u64, worker: u8, process: u8, sequence: u16) -> Parts {
        Parts {
            timestamp_ms,
            worker,
            process,
            sequence,
        }
    }

    #[test]
    fn discord_documented_example_decodes() {
        // From the "Snowflakes" section of Discord's API reference.
        let id = Snowflake::new(175_928_847_299_117_063);
        assert_eq!(id.since_epoch_ms(), 41_944_705_796);
        assert_eq!(id.parts(), parts(1_462_015_105_796, 1, 0, 7));
    }

    #[test]
    fn fields_sit_in_their_bits() {
        let cases = [
            (parts(DISCORD_EPOCH_MS, 0, 0, 1), 1),
            (parts(DISCORD_EPOCH_MS, 0, 1, 0), 1 << 12),
            (parts(DISCORD_EPOCH_MS, 1, 0, 0), 1 << 17),
            (parts(DISCORD_EPOCH_MS + 1, 0, 0, 0), 1 << 22),
            (parts(Snowflake::TIMESTAMP_MS_MAX, 31, 31, 4095), u64::MAX),
            (parts(DISCORD_EPOCH_MS, 31, 31, 4095), (1 << 22) - 1),
        ];
        for (parts, raw) in cases {
            let id = Snowflake::from_parts(parts).unwrap();
            assert_eq!(id.get(), raw, "{parts:?}");
            assert_eq!(id.parts(), parts);
        }
    }

    #[test]
    fn from_parts_rejects_each_field_out_of_range() {
        let ok = parts(DISCORD_EPOCH_MS, 31, 31, 4095);
        assert!(Snowflake::from_parts(ok).is_ok());
        let cases = [
            (
                Parts { worker: 32, ..ok },
                Error::WorkerOutOfRange { worker: 32 },
            ),
            (
                Parts { worker: 255, ..ok },
                Error::WorkerOutOfRange { worker: 255 },
            ),
            (
                Parts { process: 32, ..ok },
                Error::ProcessOutOfRange { process: 32 },
            ),
            (
                Parts {
                    sequence: 4096,
                    ..ok
                },
                Error::SequenceOutOfRange { sequence: 4096 },
            ),
            (
                Parts {
                    timestamp_ms: DISCORD_EPOCH_MS - 1,
                    ..ok
                },
                Error::TimestampBeforeEpoch {
                    timestamp_ms: DISCORD_EPOCH_MS - 1,
                },
            ),
            (
                Parts {
                    timestamp_ms: Snowflake::TIMESTAMP_MS_MAX + 1,
                    ..ok
                },
                Error::TimestampAfterMax {
                    timestamp_ms: Snowflake::TIMESTAMP_MS_MAX + 1,
                },
            ),
            (
                Parts {
                    timestamp_ms: 0,
                    ..ok
                },
                Error::TimestampBeforeEpoch { timestamp_ms: 0 },
            ),
            (
                Parts {
                    timestamp_ms: u64::MAX,
                    ..ok
                },
                Error::TimestampAfterMax {
                    timestamp_ms: u64::MAX,
                },
            ),
        ];
        for (parts, error) in cases {
            assert_eq!(Snowflake::from_parts(parts), Err(error), "{parts:?}");
        }
    }

    #[test]
    fn from_timestamp_ms_is_the_smallest_id_of_that_millisecond() {
        let ms = 1_600_000_000_000;
        let first = Snowflake::from_timestamp_ms(ms).unwrap();
        assert_eq!(first.parts(), parts(ms, 0, 0, 0));
        let last_of_previous = Snowflake::from_parts(parts(ms - 1, 31, 31, 4095)).unwrap();
        assert_eq!(last_of_previous.get() + 1, first.get());
        assert_eq!(
            Snowflake::from_timestamp_ms(DISCORD_EPOCH_MS),
            Ok(Snowflake::MIN)
        );
        assert_eq!(
            Snowflake::from_timestamp_ms(DISCORD_EPOCH_MS - 1),
            Err(Error::TimestampBeforeEpoch {
                timestamp_ms: DISCORD_EPOCH_MS - 1
            })
        );
        assert_eq!(
            Snowflake::from_timestamp_ms(Snowflake::TIMESTAMP_MS_MAX)
                .unwrap()
                .timestamp_ms(),
            Snowflake::TIMESTAMP_MS_MAX
        );
    }

    #[test]
    fn ordering_follows_time_then_node_then_sequence() {
        let a = Snowflake::from_parts(parts(DISCORD_EPOCH_MS + 5, 31, 31, 4095)).unwrap();
        let b = Snowflake::from_parts(parts(DISCORD_EPOCH_MS + 6, 0, 0, 0)).unwrap();
        let c = Snowflake::from_parts(parts(DISCORD_EPOCH_MS + 6, 0, 0, 1)).unwrap();
        let d = Snowflake::from_parts(parts(DISCORD_EPOCH_MS + 6, 0, 1, 0)).unwrap();
        let e = Snowflake::from_parts(parts(DISCORD_EPOCH_MS + 6, 1, 0, 0)).unwrap();
        assert!(a < b && b < c && c < d && d < e);
    }

    #[test]
    fn shard_of_uses_only_the_time_field() {
        let count = NonZeroU32::new(7).unwrap();
        let ms = DISCORD_EPOCH_MS + 1_000_003;
        let low = Snowflake::from_parts(parts(ms, 0, 0, 0)).unwrap();
        let high = Snowflake::from_parts(parts(ms, 31, 31, 4095)).unwrap();
        assert_eq!(low.shard_of(count), (1_000_003 % 7) as u32);
        assert_eq!(high.shard_of(count), low.shard_of(count));
        assert_eq!(
            Snowflake::MAX.shard_of(NonZeroU32::MAX),
            ((u64::MAX >> 22) % u32::MAX as u64) as u32
        );
        assert_eq!(Snowflake::MAX.shard_of(NonZeroU32::MIN), 0);
    }

    #[test]
    fn node_bits_keeps_only_worker_and_process() {
        let id = Snowflake::from_parts(parts(DISCORD_EPOCH_MS + 9, 21, 10, 77)).unwrap();
        assert_eq!(id.node_bits(), node_bits(21, 10));
        assert_eq!(Snowflake::MAX.node_bits(), node_bits(31, 31));
    }
}
