//! Flux benchmarks as a library, so the test suite can run every suite at a tiny size
//! (it then cannot rot) while `main.rs` runs them at full size.
//!
//! Each suite module exposes `run(size: Size) -> Report`. A report is a markdown table
//! ready for `docs/BENCHMARKS.md` plus a checksum of the work done, so that an optimiser
//! that deletes the work is noticed.
//!
//! Server benchmarks are built from three parts: `servers` runs each server under test as
//! a child process pinned to its own CPUs, `loadgen` is the lean load generator that
//! drives it from other CPUs, and `placement` pins, counts CPU time and reads memory.
//! `scenarios` turns them into one command per question (fan-out, idle memory, reconnect
//! storms, core scaling, the kernel ceiling), each writing JSON and an SVG plot (`plot`).

pub mod ceiling;
pub mod gateway_fanout;
pub mod loadgen;
pub mod lsm_store;
pub mod peer;
pub mod placement;
pub mod plot;
pub mod report;
pub mod ring;
pub mod scenarios;
pub mod servers;
pub mod sfu_forward;
pub mod wsframe_decode;
pub mod zlib;

pub use report::{Report, Size};
