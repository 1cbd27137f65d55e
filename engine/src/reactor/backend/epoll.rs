//! The epoll backend: run each op's system call when its descriptor is ready.
//!
//! Descriptors are registered once, edge-triggered, for both directions. An op is tried
//! at once when submitted; on `EAGAIN` it is parked in its descriptor's slot and retried
//! after the next readiness edge. Completed ops queue in `ready` until `wait` hands them
//! out, so the reactor sees the same completion stream as with io_uring.
//!
//! Invariant: a parked op is retried after every edge for its direction, so with
//! edge-triggering no readiness is lost (an op tried before registration is covered
//! because `EPOLL_CTL_ADD` reports readiness that already exists).

use std::collections::VecDeque;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::time::Duration;

use super::{Completion, Op, OpKind, ReadPool};
use crate::reactor::sys;

const EVENTS_MAX: usize = 1024;

#[derive(Default)]
struct Slot {
    registered: bool,
    reader: Option<Op>,
    writer: Option<Op>,
}

pub(crate) struct Epoll {
    epoll: OwnedFd,
    /// Indexed by descriptor number (descriptors are small, dense integers).
    slots: Vec<Slot>,
    ready: VecDeque<Completion>,
    events: Vec<libc::epoll_event>,
    parked: usize,
    pub(super) pool: ReadPool,
}

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        Ok(Epoll {
            epoll: sys::epoll_create()?,
            slots: Vec::new(),
            ready: VecDeque::new(),
            events: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS_MAX],
            parked: 0,
            pool: ReadPool::default(),
        })
    }

    pub(crate) fn submit(&mut self, mut op: Op) {
        if let OpKind::Recv { buf, .. } = &mut op.kind {
            *buf = self.pool.lend();
        }
        match op.kind.run_now() {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if let OpKind::Recv { buf, .. } = &mut op.kind {
                    // Waiting costs no buffer; one is lent again when the socket is ready.
                    self.pool.give_back(std::mem::take(buf));
                }
                self.park(op)
            }
            result => self.ready.push_back(Completion {
                token: op.token,
                kind: op.kind,
                result,
            }),
        }
    }

    fn park(&mut self, op: Op) {
        let fd = op.kind.fd();
        let index = usize::try_from(fd).expect("descriptors are non-negative");
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, Slot::default);
        }
        let slot = &mut self.slots[index];
        if !slot.registered {
            let events = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
            if let Err(error) = sys::epoll_add(&self.epoll, fd, events) {
                // Cannot watch it: complete the op with the error rather than lose it.
                self.ready.push_back(Completion {
                    token: op.token,
                    kind: op.kind,
                    result: Err(error),
                });
                return;
            }
            slot.registered = true;
        }
        let place = if op.kind.is_write() {
            &mut slot.writer
        } else {
            &mut slot.reader
        };
        assert!(
            place.is_none(),
            "two ops in flight on fd {fd} in one direction"
        );
        *place = Some(op);
        self.parked += 1;
    }

    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Completion>,
    ) -> io::Result<()> {
        let timeout_ms = if !self.ready.is_empty() {
            0
        } else {
            match timeout {
                None => -1,
                // Round up so a deadline 0.3 ms away does not spin.
                Some(t) => t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32,
            }
        };
        let n = sys::epoll_wait(&self.epoll, &mut self.events, timeout_ms)?;
        for i in 0..n {
            let event = self.events[i];
            let fd = event.u64 as usize;
            let flags = event.events as i32;
            let hangup = flags & (libc::EPOLLHUP | libc::EPOLLERR) != 0;
            if flags & (libc::EPOLLIN | libc::EPOLLRDHUP) != 0 || hangup {
                self.retry(fd, false);
            }
            if flags & libc::EPOLLOUT != 0 || hangup {
                self.retry(fd, true);
            }
        }
        out.extend(self.ready.drain(..));
        Ok(())
    }

    fn retry(&mut self, fd: usize, write: bool) {
        let Some(slot) = self.slots.get_mut(fd) else {
            return;
        };
        let place = if write {
            &mut slot.writer
        } else {
            &mut slot.reader
        };
        if let Some(op) = place.take() {
            self.parked -= 1;
            self.submit(op);
        }
    }

    pub(crate) fn forget(&mut self, fd: RawFd) {
        if let Some(slot) = usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i)) {
            assert!(
                slot.reader.is_none() && slot.writer.is_none(),
                "closing fd {fd} with ops parked"
            );
            // Closing the descriptor removes it from the epoll set; the next descriptor
            // with this number registers afresh.
            slot.registered = false;
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.parked + self.ready.len()
    }
}
