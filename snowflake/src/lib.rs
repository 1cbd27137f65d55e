//! Discord-style snowflake ids for Flux.
//!
//! A snowflake is a 64-bit id that sorts by creation time: 42 bits of
//! milliseconds since [`DISCORD_EPOCH_MS`], 5 bits of worker, 5 bits of
//! process and 12 bits of sequence. Flux uses the worker for the node and the
//! process for the core, so each core issues ids with its own [`Generator`]
//! and no coordination.
//!
//! This crate never reads a clock and never does I/O: the caller passes
//! `now_ms` (Unix milliseconds). It has no `unsafe` and no dependencies
//! (serde only with the `serde` feature).
//!
//! - [`Snowflake`] (`id.rs`): the id, its fields, [`Snowflake::from_timestamp_ms`]
//!   for time-based query bounds, and [`Snowflake::shard_of`] for routing.
//! - Decimal text (`decimal.rs`): strict [`Snowflake::parse_ascii`] / `FromStr` for
//!   untrusted input and allocation-free [`Snowflake::encode_decimal`] / `Display`.
//! - [`Generator`] (`generator.rs`): strictly increasing ids per core, even when
//!   the clock steps back; bounded borrowing when a millisecond runs out.
//! - [`Bucket`] (`bucket.rs`): the ten-day storage partition of an id.
//! - [`Error`] (`error.rs`): every way the above can refuse.
//!
//! ```
//! use core::num::NonZeroU32;
//! use snowflake::{Bucket, Generator, Snowflake};
//!
//! // The owning core issues the message id from its own generator.
//! let mut ids = Generator::new(0, 2)?; // node 0, core 2
//! let now_ms = 1_700_000_000_000;
//! let message = ids.next(now_ms)?;
//! assert_eq!(message.timestamp_ms(), now_ms);
//!
//! // Ids travel as decimal strings in JSON.
//! let text = message.to_string();
//! assert_eq!(text.parse::<Snowflake>()?, message);
//!
//! // Routing and storage.
//! let guild: Snowflake = "197038439483310086".parse()?;
//! let core = guild.shard_of(NonZeroU32::new(4).unwrap());
//! assert!(core < 4);
//! let bucket = Bucket::of(message);
//! assert!(bucket.first_id() <= message && message <= bucket.last_id());
//! # Ok::<(), snowflake::Error>(())
//! ```
//!
//! Fuzzing the decimal parser (its own cargo project, outside the workspace):
//!
//! ```text
//! cd snowflake/fuzz && cargo +nightly fuzz run parse_decimal -- -max_total_time=60
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bucket;
mod decimal;
mod error;
mod generator;
mod id;
#[cfg(feature = "serde")]
mod serde_impl;

pub use bucket::{Bucket, NewestFirst, BUCKET_SIZE_MS};
pub use decimal::DECIMAL_LEN_MAX;
pub use error::Error;
pub use generator::Generator;
pub use id::{Parts, Snowflake, DISCORD_EPOCH_MS};
