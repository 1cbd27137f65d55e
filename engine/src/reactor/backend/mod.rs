//! One description of each I/O operation, executed by either of two backends.
//!
//! An [`Op`] says what to do (accept, read into this buffer, wait until a socket can
//! take more bytes) and owns every buffer involved. The reactor submits ops and later receives [`Completion`]s that
//! hand the same op back with its result:
//!
//! - `epoll` runs the system call directly when the descriptor is ready (at once if it
//!   already is) and parks the op until the next readiness edge otherwise.
//! - `io_uring` turns the op into one submission entry and keeps it until its completion.
//!
//! Either way, a buffer handed to the kernel stays inside its op, and the op stays inside
//! the backend, until the completion arrives, even if the connection it served is gone.
//! The epoll path defines correct behaviour; the io_uring path passes the same tests.
//!
//! Writes are not ops: the reactor sends from its one per-core buffer with a
//! non-blocking `send(2)` (`core/service.rs`, `write_now`), and only when the kernel's send buffer
//! is full does it submit `Writable` to hear when there is room again.
//!
//! Invariants:
//! - At most one read-side op (accept, read or readiness) and one `Writable` per
//!   descriptor.
//! - The reactor closes a descriptor only when none of its ops is in flight.

mod epoll;
mod uring;

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::time::Duration;

use crate::IoBackend;

/// Which reactor object an op belongs to; the reactor encodes its own meaning.
pub(crate) type Token = u64;

/// What to do, with the buffers to do it with.
pub(crate) enum OpKind {
    /// Accept one connection; on success `accepted` holds it.
    Accept {
        listener: RawFd,
        accepted: Option<OwnedFd>,
    },
    /// Read into `buf`'s spare capacity; on success `buf.len()` grew by the result.
    Read { fd: RawFd, buf: Vec<u8> },
    /// Read from a socket once it is readable, into a buffer the backend lends only at
    /// that moment (`buf` is empty while the op waits), so an idle connection holds no
    /// read buffer. Completes like `Read`; give the buffer back with `Backend::recycle`.
    Recv { fd: RawFd, buf: Vec<u8> },
    /// Completes when `fd` can take more bytes (or failed: the next send says how).
    Writable { fd: RawFd },
    /// Complete once `fd` is readable, reading nothing (the owner drains it): how the
    /// reactor watches an application's descriptor, e.g. a store's wake eventfd, and the
    /// voice UDP socket (drained with `recvmmsg` by `core/datagrams.rs`).
    Poll { fd: RawFd },
}

impl OpKind {
    fn fd(&self) -> RawFd {
        match self {
            OpKind::Accept { listener, .. } => *listener,
            OpKind::Read { fd, .. }
            | OpKind::Recv { fd, .. }
            | OpKind::Writable { fd }
            | OpKind::Poll { fd } => *fd,
        }
    }

    fn is_write(&self) -> bool {
        matches!(self, OpKind::Writable { .. })
    }

    /// Run the system call now on a non-blocking descriptor (the epoll path).
    fn run_now(&mut self) -> io::Result<usize> {
        loop {
            match self.run_once() {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
        }
    }

    fn run_once(&mut self) -> io::Result<usize> {
        match self {
            OpKind::Accept { listener, accepted } => {
                *accepted = Some(super::sys::accept(*listener, true)?);
                Ok(0)
            }
            OpKind::Read { fd, buf } => super::sys::read_into(*fd, buf),
            OpKind::Recv { fd, buf } => {
                debug_assert!(buf.capacity() > 0, "a Recv runs with a lent buffer");
                super::sys::recv_into(*fd, buf)
            }
            OpKind::Writable { fd } => {
                if super::sys::poll_ready(*fd, libc::POLLOUT)? {
                    Ok(0)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                }
            }
            OpKind::Poll { fd } => {
                if super::sys::poll_ready(*fd, libc::POLLIN)? {
                    Ok(0)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                }
            }
        }
    }
}

/// Bytes of one lent read buffer.
pub(crate) const READ_BUF_LEN: usize = 16 * 1024;
/// Spare read buffers kept for reuse.
const READ_POOL_MAX: usize = 256;

/// Read buffers lent to `Recv` ops only while they read: as many exist as reads are
/// being handled at once, not one per connection.
#[derive(Default)]
pub(crate) struct ReadPool {
    spare: Vec<Vec<u8>>,
}

impl ReadPool {
    pub(crate) fn lend(&mut self) -> Vec<u8> {
        self.spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(READ_BUF_LEN))
    }

    pub(crate) fn give_back(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() == READ_BUF_LEN && self.spare.len() < READ_POOL_MAX {
            buf.clear();
            self.spare.push(buf);
        }
    }
}

/// An operation and the token its completion will carry.
pub(crate) struct Op {
    pub token: Token,
    pub kind: OpKind,
}

/// A finished operation: the op itself (with its buffers) and the system call's result.
pub(crate) struct Completion {
    pub token: Token,
    pub kind: OpKind,
    pub result: io::Result<usize>,
}

/// The backend a reactor runs on. One per core, never moved in a hot path, so the size
/// difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Backend {
    Epoll(epoll::Epoll),
    Uring(uring::Uring),
}

impl Backend {
    /// Build the requested backend; io_uring falls back to epoll with a log line.
    pub(crate) fn new(requested: IoBackend, core: usize) -> io::Result<Backend> {
        if requested == IoBackend::Uring {
            match uring::Uring::new() {
                Ok(uring) => return Ok(Backend::Uring(uring)),
                Err(error) => eprintln!("flux: core {core}: {}", fallback_message(&error)),
            }
        }
        Ok(Backend::Epoll(epoll::Epoll::new()?))
    }

    pub(crate) fn kind(&self) -> IoBackend {
        match self {
            Backend::Epoll(_) => IoBackend::Epoll,
            Backend::Uring(_) => IoBackend::Uring,
        }
    }

    /// Whether descriptors for this backend must be non-blocking (epoll) or blocking
    /// (io_uring, which arms its own poll and must not see EAGAIN).
    pub(crate) fn wants_nonblocking(&self) -> bool {
        matches!(self, Backend::Epoll(_))
    }

    pub(crate) fn submit(&mut self, op: Op) {
        match self {
            Backend::Epoll(epoll) => epoll.submit(op),
            Backend::Uring(uring) => uring.submit(op),
        }
    }

    /// Wait up to `timeout` (forever with `None`) for completions and append them to `out`.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Completion>,
    ) -> io::Result<()> {
        match self {
            Backend::Epoll(epoll) => epoll.wait(timeout, out),
            Backend::Uring(uring) => uring.wait(timeout, out),
        }
    }

    /// Give back a buffer a `Recv` completion carried.
    pub(crate) fn recycle(&mut self, buf: Vec<u8>) {
        match self {
            Backend::Epoll(epoll) => epoll.pool.give_back(buf),
            Backend::Uring(uring) => uring.pool.give_back(buf),
        }
    }

    /// Forget a descriptor that is about to be closed (no op of it may be in flight).
    pub(crate) fn forget(&mut self, fd: RawFd) {
        if let Backend::Epoll(epoll) = self {
            epoll.forget(fd);
        }
    }

    /// Ops submitted and not yet completed.
    pub(crate) fn in_flight(&self) -> usize {
        match self {
            Backend::Epoll(epoll) => epoll.in_flight(),
            Backend::Uring(uring) => uring.in_flight(),
        }
    }
}

/// Whether io_uring can be set up in this process (a probe; used to pick the backend for
/// every core at once and by tests).
pub fn io_uring_available() -> Result<(), io::Error> {
    uring::Uring::probe()
}

/// The operator-facing line printed when io_uring is not available.
pub(crate) fn fallback_message(error: &io::Error) -> String {
    let name = match error.raw_os_error() {
        Some(libc::EPERM) => "EPERM",
        Some(libc::ENOSYS) => "ENOSYS",
        Some(libc::ENOMEM) => "ENOMEM",
        Some(libc::EINVAL) => "EINVAL",
        _ => "an error",
    };
    format!(
        "io_uring setup returned {name} ({error}); check kernel.io_uring_disabled and the \
         seccomp profile. Using epoll."
    )
}
