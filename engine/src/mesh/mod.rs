//! The mesh: how cores talk without sharing a lock.
//!
//! Every ordered pair of cores `(a, b)` has one `ringbuf` SPSC ring from `a` to `b`, and
//! every core has one eventfd. Core `a` pushes into the ring to `b` and, once per loop
//! turn, signals `b`'s eventfd if it pushed anything; `b`'s reactor keeps a read of its
//! eventfd in flight in either backend, wakes, and drains its incoming rings.
//!
//! When a ring is full the message goes to a local overflow queue for that target, and
//! every later message to the same target queues behind it so order is kept. The overflow
//! is retried every loop turn. Nothing blocks and nothing is dropped; a target that stays
//! stuck makes the overflow grow, which is logged (once per doubling) because it means a
//! core is not keeping up. What bounds it is the reactor's: past a ring's worth of overflow
//! the sending core takes no new HTTP request (`reactor/core/http_pause.rs`), so posts stop
//! feeding fan-out to a core that cannot take it.
//!
//! A message to this core itself skips the rings and is delivered on the next loop turn.
//!
//! Invariants:
//! - Messages from one core to another arrive in the order they were sent.
//! - A core drains at most `ring_len` messages per source per turn, so one busy peer
//!   cannot starve the sockets; if more remain the reactor does not sleep.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use ringbuf::{Consumer, Producer};

/// One core's ends of the mesh.
pub(crate) struct MeshEndpoint<M> {
    core: usize,
    ring_len: usize,
    to: Vec<Option<Producer<M>>>,
    from: Vec<Option<Consumer<M>>>,
    wake: Arc<[OwnedFd]>,
    overflow: Vec<VecDeque<M>>,
    overflow_logged: Vec<usize>,
    local: VecDeque<M>,
    pushed: Vec<bool>,
}

/// Build the endpoints of a mesh of `cores` cores with rings of `ring_len` slots.
pub(crate) fn build<M: Send>(
    cores: usize,
    ring_len: usize,
    wake: Arc<[OwnedFd]>,
) -> Vec<MeshEndpoint<M>> {
    assert_eq!(wake.len(), cores, "one eventfd per core");
    assert!(
        ring_len.is_power_of_two(),
        "mesh ring length {ring_len} must be a power of two"
    );
    let mut endpoints: Vec<MeshEndpoint<M>> = (0..cores)
        .map(|core| MeshEndpoint {
            core,
            ring_len,
            to: (0..cores).map(|_| None).collect(),
            from: (0..cores).map(|_| None).collect(),
            wake: Arc::clone(&wake),
            overflow: (0..cores).map(|_| VecDeque::new()).collect(),
            overflow_logged: vec![0; cores],
            local: VecDeque::new(),
            pushed: vec![false; cores],
        })
        .collect();
    for a in 0..cores {
        for b in 0..cores {
            if a != b {
                let (producer, consumer) = ringbuf::ring(ring_len);
                endpoints[a].to[b] = Some(producer);
                endpoints[b].from[a] = Some(consumer);
            }
        }
    }
    endpoints
}

impl<M: Send> MeshEndpoint<M> {
    /// Queue `message` for core `target`. Never blocks, never drops.
    pub(crate) fn send(&mut self, target: usize, message: M) {
        if target == self.core {
            self.local.push_back(message);
            return;
        }
        let overflow = &mut self.overflow[target];
        if !overflow.is_empty() {
            overflow.push_back(message);
            return;
        }
        let producer = self.to[target]
            .as_mut()
            .expect("a ring to every other core");
        match producer.push(message) {
            Ok(()) => self.pushed[target] = true,
            Err(message) => overflow.push_back(message),
        }
    }

    /// Retry overflow queues and wake every core that got something this turn.
    pub(crate) fn flush(&mut self) {
        for target in 0..self.to.len() {
            let overflow = &mut self.overflow[target];
            if !overflow.is_empty() {
                let producer = self.to[target]
                    .as_mut()
                    .expect("a ring to every other core");
                if producer.push_batch(overflow) > 0 {
                    self.pushed[target] = true;
                }
                let len = overflow.len();
                if len > self.ring_len && len >= 2 * self.overflow_logged[target] {
                    eprintln!(
                        "flux: core {} holds {len} mesh messages for core {target}, whose ring \
                         is full; that core is not keeping up",
                        self.core
                    );
                    self.overflow_logged[target] = len;
                }
            }
            if std::mem::take(&mut self.pushed[target]) {
                crate::reactor::sys::eventfd_signal(self.wake[target].as_raw_fd());
            }
        }
    }

    /// Move up to `ring_len` messages per source into `out` as `(from_core, message)`.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<(usize, M)>) {
        let core = self.core;
        out.extend(self.local.drain(..).map(|m| (core, m)));
        for (source, consumer) in self.from.iter_mut().enumerate() {
            if let Some(consumer) = consumer {
                out.extend(consumer.drain(self.ring_len).map(|m| (source, m)));
            }
        }
    }

    /// Whether messages are waiting to be drained or pushed (then the reactor must not
    /// sleep).
    pub(crate) fn has_pending(&self) -> bool {
        !self.local.is_empty()
            || self
                .from
                .iter()
                .flatten()
                .any(|consumer| !consumer.is_empty())
            || self.overflow.iter().any(|queue| !queue.is_empty())
    }

    /// Messages waiting in this core's overflow queues, every target together.
    pub(crate) fn overflow_len(&self) -> usize {
        self.overflow.iter().map(VecDeque::len).sum()
    }

    /// Slots in each ring.
    pub(crate) fn ring_len(&self) -> usize {
        self.ring_len
    }

    /// This core's own eventfd.
    pub(crate) fn wake_fd(&self) -> &OwnedFd {
        &self.wake[self.core]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mesh(cores: usize, ring_len: usize) -> Vec<MeshEndpoint<u32>> {
        let wake: Vec<OwnedFd> = (0..cores)
            .map(|_| crate::reactor::sys::eventfd(true).unwrap())
            .collect();
        build(cores, ring_len, wake.into())
    }

    #[test]
    fn full_ring_overflows_in_order_and_nothing_is_lost() {
        let mut endpoints = mesh(2, 4);
        let (left, right) = endpoints.split_at_mut(1);
        for i in 0..10 {
            left[0].send(1, i);
        }
        assert_eq!(left[0].overflow_len(), 6, "the ring took 4 of 10");
        left[0].flush();
        assert_eq!(left[0].overflow_len(), 6, "nothing was drained yet");
        let mut received = Vec::new();
        while received.len() < 10 {
            let mut batch = Vec::new();
            right[0].drain_into(&mut batch);
            assert!(batch.len() <= 4);
            received.extend(batch.into_iter().map(|(from, m)| {
                assert_eq!(from, 0);
                m
            }));
            left[0].flush();
        }
        assert_eq!(received, (0..10).collect::<Vec<_>>());
        assert_eq!(left[0].overflow_len(), 0);
        assert!(!left[0].has_pending() && !right[0].has_pending());
    }

    #[test]
    fn a_message_to_self_is_delivered_locally() {
        let mut endpoints = mesh(1, 2);
        endpoints[0].send(0, 7);
        let mut out = Vec::new();
        endpoints[0].drain_into(&mut out);
        assert_eq!(out, vec![(0, 7)]);
    }
}
