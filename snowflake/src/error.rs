//! The crate's one error type.
//!
//! Everything a peer, a clock or an operator can get wrong is a variant here;
//! each says which rule was broken and what the caller should tell the peer.
//! Broken internal assumptions are not here: those are asserts.

use core::fmt;

/// Why a snowflake could not be parsed, built or generated.
///
/// Parse errors come from untrusted input (a JSON body, a URL path): answer
/// HTTP 400 / gateway close 4002 (decode error). Timestamp errors mean the
/// caller's clock or query is outside the 42-bit range of the layout.
/// [`Error::SequenceExhausted`] is back-pressure: answer HTTP 429.
///
/// ```
/// use snowflake::{Error, Snowflake};
///
/// assert_eq!(Snowflake::parse_ascii(b""), Err(Error::Empty));
/// assert_eq!(
///     "+1".parse::<Snowflake>(),
///     Err(Error::InvalidDigit { index: 0, byte: b'+' })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// Parse: the input has no bytes. Discord never sends `""` as an id.
    Empty,
    /// Parse: more than [`crate::DECIMAL_LEN_MAX`] bytes, so it cannot be a
    /// canonical `u64` (leading zeros are rejected). Checked before anything
    /// else, which bounds the work done on hostile input.
    TooLong {
        /// Length of the input in bytes.
        len: usize,
    },
    /// Parse: a byte other than `0`–`9`. Signs, whitespace, `_`, `.` and
    /// non-ASCII bytes all land here; `index` is the first such byte.
    InvalidDigit {
        /// Byte offset of the first offending byte.
        index: usize,
        /// The offending byte.
        byte: u8,
    },
    /// Parse: more than one digit and the first is `0` (e.g. `"0123"`).
    /// Rejected so that every id has exactly one string form, which makes
    /// string ids safe to use as cache and dedupe keys.
    LeadingZero,
    /// Parse: twenty digits whose value exceeds `u64::MAX`.
    Overflow,
    /// Build: worker above [`crate::Snowflake::WORKER_MAX`] (31).
    WorkerOutOfRange {
        /// The rejected worker.
        worker: u8,
    },
    /// Build: process above [`crate::Snowflake::PROCESS_MAX`] (31).
    ProcessOutOfRange {
        /// The rejected process.
        process: u8,
    },
    /// Build: sequence above [`crate::Snowflake::SEQUENCE_MAX`] (4095).
    SequenceOutOfRange {
        /// The rejected sequence.
        sequence: u16,
    },
    /// A Unix timestamp earlier than [`crate::DISCORD_EPOCH_MS`]
    /// (2015-01-01T00:00:00Z). From a generator this means the host clock is
    /// wrong; from a query, clamp to [`crate::Snowflake::MIN`] yourself.
    TimestampBeforeEpoch {
        /// The rejected Unix time in milliseconds.
        timestamp_ms: u64,
    },
    /// A Unix timestamp past [`crate::Snowflake::TIMESTAMP_MS_MAX`]
    /// (42 bits after the epoch, in the year 2154).
    TimestampAfterMax {
        /// The rejected Unix time in milliseconds.
        timestamp_ms: u64,
    },
    /// A bucket index past [`crate::Bucket::MAX`].
    BucketOutOfRange {
        /// The rejected index.
        index: u32,
    },
    /// Generate: every sequence number up to `ahead_ms_max` milliseconds past
    /// the newest `now_ms` this generator has seen is used. Nothing was
    /// emitted; retry once the wall clock has advanced by `retry_after_ms`
    /// (HTTP 429 with that `retry_after`).
    SequenceExhausted {
        /// Milliseconds past the `now_ms` of the failed call after which
        /// `next` succeeds again.
        retry_after_ms: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Empty => f.write_str("snowflake is empty"),
            Error::TooLong { len } => {
                write!(
                    f,
                    "snowflake has {len} bytes; at most 20 decimal digits fit in u64"
                )
            }
            Error::InvalidDigit { index, byte } => {
                write!(
                    f,
                    "snowflake has byte {byte:#04x} at index {index}; only 0-9 are allowed"
                )
            }
            Error::LeadingZero => f.write_str("snowflake has a leading zero"),
            Error::Overflow => f.write_str("snowflake does not fit in u64"),
            Error::WorkerOutOfRange { worker } => {
                write!(f, "worker {worker} does not fit in 5 bits (max 31)")
            }
            Error::ProcessOutOfRange { process } => {
                write!(f, "process {process} does not fit in 5 bits (max 31)")
            }
            Error::SequenceOutOfRange { sequence } => {
                write!(f, "sequence {sequence} does not fit in 12 bits (max 4095)")
            }
            Error::TimestampBeforeEpoch { timestamp_ms } => write!(
                f,
                "timestamp {timestamp_ms} ms is before the Discord epoch (2015-01-01); \
                 check the host clock"
            ),
            Error::TimestampAfterMax { timestamp_ms } => write!(
                f,
                "timestamp {timestamp_ms} ms is past the 42-bit snowflake range; \
                 check the host clock"
            ),
            Error::BucketOutOfRange { index } => {
                write!(
                    f,
                    "bucket {index} is past the last bucket of the snowflake range"
                )
            }
            Error::SequenceExhausted { retry_after_ms } => write!(
                f,
                "snowflake generator used every id it may borrow ahead of the clock; \
                 retry after {retry_after_ms} ms"
            ),
        }
    }
}

impl std::error::Error for Error {}
