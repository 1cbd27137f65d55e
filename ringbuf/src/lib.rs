//! Lock-free bounded single-producer single-consumer ring, the only channel between Flux
//! cores.
//!
//! Each core runs its own reactor and shares no locks with the others. When core A needs
//! core B to do something (fan a `MESSAGE_CREATE` out to B's sessions, hand over a
//! connection), it pushes an event into the ring that goes from A to B; each ordered pair
//! of cores has one ring per direction. B drains many events per wake-up.
//!
//! ```
//! use std::collections::VecDeque;
//!
//! let (mut producer, mut consumer) = ringbuf::ring::<u64>(1024);
//!
//! // Core A: push what fits, keep the rest in a local outbox for the next turn.
//! let mut outbox: VecDeque<u64> = (0..1500).collect();
//! let pushed = producer.push_batch(&mut outbox);
//! assert_eq!(pushed, 1024);
//! assert_eq!(outbox.len(), 476);
//!
//! // Core B, on wake-up: drain a bounded batch, then go back to its sockets.
//! let batch: Vec<u64> = consumer.drain(256).collect();
//! assert_eq!(batch.len(), 256);
//! assert_eq!(batch[0], 0);
//!
//! // The slots of those 256 are free again (published once, when the drain ended).
//! assert_eq!(producer.push_batch(&mut outbox), 256);
//! ```
//!
//! What it does: a fixed array of `capacity` slots (a power of two) and two indices.
//! `Producer` and `Consumer` are the two halves; [`ring`] makes exactly one of each, they
//! are `Send` but not `Clone`, and every operation takes `&mut self`, so the type system
//! rules out a second producer or consumer. Single `push`/`pop` give the value back or
//! return `None` at the edges; `push_iter`, `push_batch`, `drain` and `pop_batch` move
//! many items for one atomic store. Dropping the ring drops the items still in it.
//!
//! What it leaves to others: blocking, waking a sleeping core (the engine pairs each ring
//! with an eventfd or io_uring message), and what to do when a ring is full (the engine's
//! outbox and back-pressure policy). It does no I/O and never reads a clock.
//!
//! Invariants (see `raw.rs`, the only module with `unsafe` code, for the full argument):
//! - `tail - head <= capacity` (wrapping `usize` counters, masked on access); checked
//!   by both halves whenever they load the other's index (in debug builds and under
//!   loom).
//! - The producer writes only slots the consumer has released, and the consumer reads
//!   only slots the producer has published; one `Release`/`Acquire` pair per direction
//!   orders them.
//! - `head` and `tail` live on separate cache lines, and each half caches the other's
//!   index, so a busy ring does not bounce one line between the two cores per item.
//!
//! Checking it: `cargo test -p ringbuf` (unit, threaded, model-based property tests),
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p ringbuf --release
//! --test loom` (every interleaving of small rings), and
//! `MIRIFLAGS=-Zmiri-strict-provenance cargo +nightly miri test -p ringbuf --lib`
//! (undefined behaviour and data races in the unsafe code). Throughput against
//! `crossbeam_queue::ArrayQueue` and `rtrb`: `cargo run --release -p bench -- ring`.

#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod consumer;
mod error;
mod producer;
#[allow(unsafe_code)]
mod raw;
mod sync;

#[cfg(test)]
mod tests;

pub use consumer::Drain;
pub use error::Error;
pub use raw::{Consumer, Producer};

/// Makes a ring of `capacity` slots and returns its two halves.
///
/// Give the `Producer` to the core that sends and the `Consumer` to the core that
/// receives.
///
/// # Panics
///
/// If `capacity` is not a power of two. Use [`try_ring`] when it comes from configuration.
///
/// ```
/// let (mut producer, mut consumer) = ringbuf::ring::<String>(16);
/// let receiver = std::thread::spawn(move || loop {
///     if let Some(text) = consumer.pop() {
///         return text;
///     }
///     std::thread::yield_now();
/// });
/// producer.push("hi".to_string()).unwrap();
/// assert_eq!(receiver.join().unwrap(), "hi");
/// ```
pub fn ring<T: Send>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    match try_ring(capacity) {
        Ok(halves) => halves,
        Err(error) => panic!("{error}"),
    }
}

/// Makes a ring of `capacity` slots, or says why it cannot.
///
/// ```
/// assert!(ringbuf::try_ring::<u8>(8).is_ok());
/// assert_eq!(
///     ringbuf::try_ring::<u8>(12).unwrap_err(),
///     ringbuf::Error::CapacityNotPowerOfTwo { capacity: 12 },
/// );
/// ```
pub fn try_ring<T: Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), Error> {
    if !capacity.is_power_of_two() {
        return Err(Error::CapacityNotPowerOfTwo { capacity });
    }
    Ok(raw::pair(capacity, 0))
}
