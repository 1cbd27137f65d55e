//! The io_uring backend: each op becomes one submission entry.
//!
//! An op moves into the `in_flight` slab when submitted; its slab key is the entry's
//! `user_data`. A `Recv` is submitted as a `POLL_ADD` and holds no buffer while it
//! waits: when the poll completes, a buffer is lent and the socket read without blocking
//! (`MSG_DONTWAIT`), so ten thousand idle sessions do not pin ten thousand read buffers.
//! `Writable` is a `POLL_ADD` for `POLLOUT`. The only entry that points into memory is a
//! `Read`'s, into its op's own heap buffer, which does not move when the slab grows. The
//! op leaves the slab only when its completion arrives, so the kernel never writes into
//! memory we have freed.
//!
//! Descriptors here are blocking: io_uring arms its own poll for sockets and would report
//! `EAGAIN` to us for a non-blocking one.
//!
//! Invariant: if the ring is dropped with ops still in flight (a reactor torn down by a
//! panic), their buffers are leaked on purpose rather than freed under the kernel.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use io_uring::{opcode, squeue, types, IoUring};
use slab::Slab;

use super::{Completion, Op, OpKind, ReadPool};

const SUBMISSION_ENTRIES: u32 = 1024;
const COMPLETION_ENTRIES: u32 = 8192;

struct InFlight {
    op: Op,
}

pub(crate) struct Uring {
    ring: IoUring,
    in_flight: Slab<InFlight>,
    /// Built entries the submission queue had no room for yet, in order.
    unpushed: VecDeque<squeue::Entry>,
    pub(super) pool: ReadPool,
}

impl Uring {
    pub(crate) fn new() -> io::Result<Uring> {
        let ring = IoUring::builder()
            .setup_cqsize(COMPLETION_ENTRIES)
            .build(SUBMISSION_ENTRIES)?;
        Ok(Uring {
            ring,
            in_flight: Slab::new(),
            unpushed: VecDeque::new(),
            pool: ReadPool::default(),
        })
    }

    pub(crate) fn probe() -> io::Result<()> {
        IoUring::new(8).map(drop)
    }

    pub(crate) fn submit(&mut self, op: Op) {
        let entry = self.in_flight.vacant_entry();
        let key = entry.key();
        let slot = entry.insert(InFlight { op });
        self.unpushed
            .push_back(build_entry(slot).user_data(key as u64));
        self.push_unpushed();
    }

    /// Move entries into the submission queue, handing full queues to the kernel. An
    /// entry that still does not fit (the kernel answers EBUSY while completions back up)
    /// waits for the next `wait`, which reaps completions first.
    fn push_unpushed(&mut self) {
        while let Some(sqe) = self.unpushed.front() {
            // SAFETY: the only pointer an entry carries (a `Read`'s) points into its
            // `in_flight` slot's buffer, heap memory that stays put until `wait` removes
            // the slot after this entry's completion.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                self.unpushed.pop_front();
            } else if self.ring.submit().is_err() {
                break;
            }
        }
    }

    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Completion>,
    ) -> io::Result<()> {
        self.push_unpushed();
        // A zero timeout (the loop still has work) must not wait at all: with a timespec the
        // kernel arms a timer and sleeps until it fires, tens of microseconds on this VM per
        // turn. A plain enter submits, and the return to user space runs the task work that
        // posts ready completions.
        let poll_only = timeout.is_some_and(|timeout| timeout.is_zero());
        let result = if poll_only || !self.ring.completion().is_empty() || !self.unpushed.is_empty()
        {
            self.ring.submit()
        } else if let Some(timeout) = timeout {
            let ts = types::Timespec::from(timeout);
            let args = types::SubmitArgs::new().timespec(&ts);
            self.ring.submitter().submit_with_args(1, &args)
        } else {
            self.ring.submit_and_wait(1)
        };
        match result {
            Ok(_) => {}
            Err(error) if matches!(error.raw_os_error(), Some(libc::ETIME | libc::EINTR)) => {}
            Err(error) if error.raw_os_error() == Some(libc::EBUSY) => {}
            Err(error) => return Err(error),
        }
        let mut not_ready = Vec::new();
        for cqe in self.ring.completion() {
            let key = cqe.user_data() as usize;
            let InFlight { mut op } = self.in_flight.remove(key);
            let res = cqe.result();
            if let (OpKind::Recv { fd, buf }, true) = (&mut op.kind, res >= 0) {
                // The poll says readable: lend a buffer and read without blocking.
                *buf = self.pool.lend();
                match crate::reactor::sys::recv_into(*fd, buf) {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        self.pool.give_back(std::mem::take(buf));
                        not_ready.push(op);
                    }
                    result => out.push(Completion {
                        token: op.token,
                        kind: op.kind,
                        result,
                    }),
                }
                continue;
            }
            let result = if res < 0 {
                Err(io::Error::from_raw_os_error(-res))
            } else {
                let n = res as usize;
                match &mut op.kind {
                    OpKind::Accept { accepted, .. } => {
                        *accepted = Some(crate::reactor::sys::own_accepted(res));
                        Ok(0)
                    }
                    OpKind::Read { buf, .. } => {
                        let len = buf.len() + n;
                        assert!(len <= buf.capacity(), "kernel read past the buffer");
                        // SAFETY: the kernel wrote `n` bytes into the spare capacity we
                        // gave it (see `build_entry`), and `len` is within capacity.
                        unsafe { buf.set_len(len) };
                        Ok(n)
                    }
                    OpKind::Writable { .. } | OpKind::Poll { .. } | OpKind::Recv { .. } => Ok(n),
                }
            };
            out.push(Completion {
                token: op.token,
                kind: op.kind,
                result,
            });
        }
        // Readiness that went away before the read (another reader cannot exist, but a
        // spurious wake-up can): wait again.
        for op in not_ready {
            self.submit(op);
        }
        Ok(())
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

impl Drop for Uring {
    fn drop(&mut self) {
        if !self.in_flight.is_empty() {
            // The kernel may still touch these buffers while the ring winds down.
            std::mem::forget(std::mem::take(&mut self.in_flight));
        }
    }
}

/// The submission entry for an op; pointers refer to memory owned by `slot`.
fn build_entry(slot: &mut InFlight) -> squeue::Entry {
    match &mut slot.op.kind {
        OpKind::Accept { listener, .. } => opcode::Accept::new(
            types::Fd(*listener),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
        .flags(libc::SOCK_CLOEXEC)
        .build(),
        OpKind::Read { fd, buf } => {
            let spare = buf.spare_capacity_mut();
            let len = spare.len().min(u32::MAX as usize) as u32;
            // READ rather than RECV: the same op reads sockets and the wake-up eventfd.
            opcode::Read::new(types::Fd(*fd), spare.as_mut_ptr().cast(), len)
                .offset(u64::MAX)
                .build()
        }
        OpKind::Poll { fd } | OpKind::Recv { fd, .. } => {
            opcode::PollAdd::new(types::Fd(*fd), libc::POLLIN as u32).build()
        }
        OpKind::Writable { fd } => {
            opcode::PollAdd::new(types::Fd(*fd), libc::POLLOUT as u32).build()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    /// A zero-timeout wait enters the kernel without waiting for events; a completion that
    /// became ready must still be reaped by such waits alone, as the loop relies on while
    /// it has work.
    #[test]
    fn a_zero_timeout_wait_reaps_a_completion_without_waiting_for_it() {
        let Ok(mut uring) = Uring::new() else {
            eprintln!("io_uring unavailable here; the epoll backend is tested instead");
            return;
        };
        let (reader, mut writer) = UnixStream::pair().unwrap();
        let mut out = Vec::new();
        uring.submit(Op {
            token: 7,
            kind: OpKind::Poll {
                fd: reader.as_raw_fd(),
            },
        });
        uring.wait(Some(Duration::ZERO), &mut out).unwrap();
        assert!(out.is_empty(), "nothing is readable yet");
        assert_eq!(uring.in_flight(), 1);

        std::io::Write::write_all(&mut writer, b"x").unwrap();
        for _ in 0..10_000 {
            uring.wait(Some(Duration::ZERO), &mut out).unwrap();
            if !out.is_empty() {
                break;
            }
            std::thread::yield_now();
        }
        assert_eq!(
            out.len(),
            1,
            "the ready poll is reaped by zero-timeout waits"
        );
        assert_eq!(out[0].token, 7);
        assert!(out[0].result.is_ok());
        assert_eq!(uring.in_flight(), 0);
    }
}
