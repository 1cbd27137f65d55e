//! Flux benchmarks as a library, so the test suite can run every suite at a tiny size
//! (it then cannot rot) while `main.rs` runs them at full size.
//!
//! Each suite module exposes `run(size: Size) -> Report`. A report is a markdown table
//! ready for `docs/BENCHMARKS.md` plus a checksum of the work done, so that an optimiser
//! that deletes the work is noticed.

pub mod ceiling;
pub mod gateway_fanout;
pub mod lsm_store;
pub mod peer;
pub mod report;
pub mod ring;
pub mod wsframe_decode;

pub use report::{Report, Size};
