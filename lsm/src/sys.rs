//! The crate's only `unsafe`: mapping table files into memory, and the eventfd that wakes
//! the caller's reactor.
//!
//! Tables are read through `mmap` so that a history read touches only the pages it needs
//! and the kernel's page cache is the block cache. The wake fd lets a reactor sleep in
//! `epoll_wait`/io_uring and still learn when a group commit became durable or a flush
//! finished, without a callback into its thread.
//!
//! Under Miri (which cannot map files or make eventfds) a table is read into a `Vec`
//! instead and the wake fd is absent; everything above this module is identical.
//!
//! Invariants:
//! - A mapped table file is never written or truncated after it is mapped: tables are
//!   written completely, fsynced and closed before they are opened for reading, and are
//!   only ever unlinked afterwards (an unlinked file stays mapped until the map is dropped).
//!   The data directory belongs to one process (see `Store::open`).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::Error;

/// The bytes of one immutable file, mapped read-only.
#[derive(Debug)]
pub struct Mapped {
    #[cfg(not(miri))]
    map: Option<memmap2::Mmap>,
    #[cfg(miri)]
    map: Vec<u8>,
}

impl Mapped {
    /// Maps all of `file` (found at `path`, for error messages).
    #[cfg(not(miri))]
    pub fn map(file: &File, path: &Path) -> Result<Mapped, Error> {
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path, &e))?
            .len();
        if len == 0 {
            return Ok(Mapped { map: None });
        }
        // SAFETY: the mapping stays valid and unchanged for its lifetime because nothing
        // writes or truncates a table file once it is complete: `TableBuilder::finish`
        // fsyncs and drops its only writable handle before `Table::open` maps it, and the
        // store only unlinks obsolete tables (module invariant above).
        let map = unsafe { memmap2::Mmap::map(file) }.map_err(|e| Error::io("mmap", path, &e))?;
        Ok(Mapped { map: Some(map) })
    }

    /// Reads all of `file` (Miri cannot map files).
    #[cfg(miri)]
    pub fn map(file: &File, path: &Path) -> Result<Mapped, Error> {
        use std::io::Read;
        let mut map = Vec::new();
        (&*file)
            .read_to_end(&mut map)
            .map_err(|e| Error::io("read", path, &e))?;
        Ok(Mapped { map })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        #[cfg(not(miri))]
        return self.map.as_deref().unwrap_or(&[]);
        #[cfg(miri)]
        return &self.map;
    }
}

/// A non-blocking eventfd: background threads `notify`, the reactor registers `fd()` for
/// readability and calls `Store::poll`, which `drain`s it.
#[derive(Debug)]
pub struct Wake {
    fd: Option<OwnedFd>,
}

impl Wake {
    /// Creates the eventfd.
    pub fn new() -> io::Result<Wake> {
        #[cfg(miri)]
        return Ok(Wake { fd: None });
        #[cfg(not(miri))]
        {
            // SAFETY: eventfd takes no pointers; a negative return is checked below.
            let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a fresh, valid fd (checked above) that nothing else owns.
            Ok(Wake {
                fd: Some(unsafe { OwnedFd::from_raw_fd(raw) }),
            })
        }
    }

    /// Makes the fd readable. Never blocks: the counter saturating is not possible in
    /// practice (2^64 - 2 notifications without a drain), and a failed write only means the
    /// fd is already readable.
    pub fn notify(&self) {
        if let Some(fd) = &self.fd {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live local `u64` to an fd we own.
            let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Resets the fd to not readable.
    pub fn drain(&self) {
        if let Some(fd) = &self.fd {
            let mut count: u64 = 0;
            // SAFETY: reads at most 8 bytes into a live local `u64` from an fd we own; the
            // fd is non-blocking, so an empty counter returns EAGAIN instead of blocking.
            let _ = unsafe { libc::read(fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        }
    }

    /// The fd to register for readability, if there is one.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|fd| {
            use std::os::fd::AsFd;
            fd.as_fd()
        })
    }
}
