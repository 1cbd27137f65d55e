//! The datagrams the SFU wants sent, in one reusable arena.
//!
//! Forwarding one packet to 200 listeners makes 200 datagrams. Rather than a `Vec<u8>`
//! each, they are appended to one byte buffer with a small index beside it; both keep
//! their capacity when drained, so the steady state allocates nothing. A caller with
//! `sendmmsg` borrows every pending datagram at once (`Sfu::transmits`) and then clears;
//! a simple caller pops them one by one (`Sfu::poll_transmit`).
//!
//! Bound: at most `bytes_max` bytes are queued. A datagram that would pass it is dropped
//! and counted (`Counters::transmit_overflow`): the engine is not draining fast enough,
//! and late voice is worthless anyway.

use std::net::SocketAddr;

/// One datagram to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Where to send it.
    pub destination: SocketAddr,
    /// The whole UDP payload.
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    destination: SocketAddr,
    start: usize,
    end: usize,
}

#[derive(Debug)]
pub(crate) struct TransmitQueue {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    /// Entries before this were handed out by `pop`.
    next: usize,
    bytes_max: usize,
}

impl TransmitQueue {
    pub(crate) fn new(bytes_max: usize) -> TransmitQueue {
        TransmitQueue {
            bytes: Vec::new(),
            entries: Vec::new(),
            next: 0,
            bytes_max,
        }
    }

    /// Appends one datagram that `write` produces by appending to the buffer it is given.
    /// Returns false (and queues nothing) when the queue already holds `bytes_max` bytes.
    pub(crate) fn push(
        &mut self,
        destination: SocketAddr,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> bool {
        if self.bytes.len() >= self.bytes_max {
            return false;
        }
        let start = self.bytes.len();
        write(&mut self.bytes);
        let end = self.bytes.len();
        debug_assert!(end > start, "an empty datagram is a bug");
        self.entries.push(Entry {
            destination,
            start,
            end,
        });
        true
    }

    pub(crate) fn pop(&mut self) -> Option<Transmit<'_>> {
        debug_assert!(self.next <= self.entries.len());
        if self.next == self.entries.len() {
            self.clear();
            return None;
        }
        let entry = self.entries[self.next];
        self.next += 1;
        Some(Transmit {
            destination: entry.destination,
            payload: &self.bytes[entry.start..entry.end],
        })
    }

    pub(crate) fn pending(&self) -> impl ExactSizeIterator<Item = Transmit<'_>> + '_ {
        self.entries[self.next..].iter().map(|entry| Transmit {
            destination: entry.destination,
            payload: &self.bytes[entry.start..entry.end],
        })
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pop_in_order_then_reuse_and_respect_the_bound() {
        let to: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut queue = TransmitQueue::new(8);
        assert!(queue.push(to, |out| out.extend_from_slice(&[1, 2, 3])));
        assert!(queue.push(to, |out| out.extend_from_slice(&[4; 6])));
        // 9 bytes queued, past the bound of 8: refused.
        assert!(!queue.push(to, |out| out.push(5)));
        assert_eq!(queue.pending().len(), 2);
        assert_eq!(
            queue.pending().map(|t| t.payload.len()).collect::<Vec<_>>(),
            [3, 6]
        );
        assert_eq!(queue.pop().unwrap().payload, &[1, 2, 3]);
        assert_eq!(queue.pending().count(), 1);
        assert_eq!(queue.pop().unwrap().payload, &[4; 6]);
        assert!(queue.pop().is_none());
        assert!(
            queue.push(to, |out| out.push(7)),
            "drained queue has room again"
        );
        assert_eq!(queue.pop().unwrap().payload, &[7]);
    }
}
