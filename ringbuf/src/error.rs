//! The crate's one error type.
//!
//! A full or empty ring is not an error (the value comes back in `Err`, or `pop` returns
//! `None`); the only thing that can be wrong is a capacity that came from configuration.

#![forbid(unsafe_code)]

use std::fmt;

/// Why a ring could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The capacity must be a power of two (1, 2, 4, ...) so that an index maps to its
    /// slot with a mask and the index counters can wrap. Zero is not a power of two.
    CapacityNotPowerOfTwo {
        /// The capacity that was asked for.
        capacity: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::CapacityNotPowerOfTwo { capacity } => write!(
                f,
                "ring capacity {capacity} is not a power of two; use {}",
                capacity
                    .checked_next_power_of_two()
                    .unwrap_or(1 << (usize::BITS - 1))
            ),
        }
    }
}

impl std::error::Error for Error {}
