//! The synchronisation primitives the ring is built from, and their loom twins.
//!
//! A normal build uses `std`'s atomics, `Arc` and `UnsafeCell`. A build with
//! `RUSTFLAGS="--cfg loom"` uses loom's instead, so `tests/loom.rs` can run the very same
//! ring code under loom's model checker, which explores every interleaving of the two
//! threads and reports any access to a slot that is not ordered by a happens-before edge.
//!
//! loom's `UnsafeCell` can only be reached through `with_mut`, so the std version here
//! offers the same closure-based API (as the loom documentation recommends). The closure
//! receives a raw pointer; dereferencing it is the caller's `unsafe` business, which lives
//! in `ring.rs` only.
//!
//! Also here: `CachePadded`, which puts a value on its own cache line(s) so that the
//! producer's index and the consumer's index never share a line.

#![forbid(unsafe_code)]

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `std::cell::UnsafeCell` behind loom's `with_mut` API.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a raw pointer to the contents. Creating the pointer is safe;
    /// using it is not, and each caller argues why its access is exclusive.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Aligns `T` to 128 bytes, so it owns whole cache lines.
///
/// 128 rather than 64 because x86 CPUs fetch adjacent line pairs (the spatial prefetcher)
/// and Apple/ARM big cores use 128-byte lines; `crossbeam_utils::CachePadded` makes the
/// same choice on those targets.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

const _: () = assert!(std::mem::align_of::<CachePadded<u8>>() == 128);
const _: () = assert!(std::mem::size_of::<CachePadded<usize>>() == 128);
