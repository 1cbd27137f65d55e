//! The core's voice UDP socket: datagrams in, to `App::handle_datagram`, and the
//! application's datagrams out (`Outbox::send_datagram`).
//!
//! In: the socket is watched like the application's wake descriptor, with an
//! `OpKind::Poll` (token `TOKEN_UDP`), which either backend completes when it is readable.
//! Then the reactor drains it with `recvmmsg` into reused slots (`sys_udp.rs`), hands each
//! datagram to the application, applies the commands after each batch, and polls again. At
//! most `DATAGRAMS_PER_TURN_MAX` are read per completion: a flood of datagrams must not
//! starve the TCP connections, so the rest waits for the next turn (the poll completes at
//! once while datagrams wait, in both backends).
//!
//! Out: `apply_commands` ends with `flush_datagrams` whenever the application queued some,
//! so what one callback (or one batch) queued leaves in `sendmmsg` calls of up to
//! `DATAGRAM_BATCH` right after it. A full socket buffer drops the rest of the batch: UDP
//! promises nothing, and a voice packet late by a turn is worth no more than a lost one.
//!
//! Invariants:
//! - At most one poll of the socket is in flight (`Udp::polling`).
//! - Nothing here allocates per datagram: the receive slots and the outbox's datagram
//!   buffer keep their capacity.

use std::os::fd::{AsRawFd, OwnedFd};

use crate::reactor::app::App;
use crate::reactor::backend::{Op, OpKind};
use crate::reactor::sys_udp::{self, DatagramSlots, DATAGRAM_BATCH};

use super::completions::TOKEN_UDP;
use super::Reactor;

/// Datagrams read per readiness before the loop turns to its other work.
const DATAGRAMS_PER_TURN_MAX: usize = 8 * DATAGRAM_BATCH;

/// The core's voice UDP socket and its receive buffers.
pub(super) struct Udp {
    pub fd: OwnedFd,
    /// A poll of it is in flight.
    polling: bool,
    slots: Box<DatagramSlots>,
}

impl Udp {
    pub(super) fn new(fd: OwnedFd) -> Udp {
        Udp {
            fd,
            polling: false,
            slots: Box::new(DatagramSlots::new()),
        }
    }
}

impl<A: App> Reactor<A> {
    pub(super) fn submit_udp_poll(&mut self) {
        let Some(udp) = &mut self.udp else {
            return;
        };
        debug_assert!(!udp.polling);
        udp.polling = true;
        let fd = udp.fd.as_raw_fd();
        self.backend.submit(Op {
            token: TOKEN_UDP,
            kind: OpKind::Poll { fd },
        });
    }

    /// The socket is readable (or was shut down: then it stops).
    pub(super) fn handle_udp_readable(&mut self, result: std::io::Result<usize>) {
        let Some(udp) = &mut self.udp else {
            unreachable!("a UDP completion without a UDP socket");
        };
        udp.polling = false;
        if self.shutdown_deadline.is_some() {
            return;
        }
        if let Err(error) = result {
            assert!(
                error.kind() == std::io::ErrorKind::Interrupted,
                "voice UDP socket poll: {error}"
            );
        }
        let mut handled = 0;
        while handled < DATAGRAMS_PER_TURN_MAX {
            let Some(udp) = &mut self.udp else {
                break;
            };
            let count = match sys_udp::recv_datagrams(udp.fd.as_raw_fd(), &mut udp.slots) {
                Ok(count) => count,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    // An ICMP error reported on the socket, for example: the next read
                    // goes on with the datagrams behind it.
                    eprintln!("flux: core {}: voice UDP receive: {error}", self.core);
                    break;
                }
            };
            for index in 0..count {
                let (from, datagram, truncated) = udp.slots.get(index);
                match from {
                    Some(from) if !truncated => {
                        // Counted first, so a peer that got the answer sees the count.
                        self.stats.datagrams_received(1);
                        self.app.handle_datagram(&mut self.out, from, datagram);
                    }
                    _ => self.stats.datagrams_dropped(1),
                }
            }
            self.apply_commands();
            handled += count;
            if count < DATAGRAM_BATCH {
                break; // Drained for now.
            }
        }
        self.submit_udp_poll();
    }

    /// Send the datagrams the application queued (module doc: a full socket drops).
    pub(super) fn flush_datagrams(&mut self) {
        let datagrams = &mut self.out.datagrams;
        let Some(udp) = &self.udp else {
            self.stats.datagrams_dropped(datagrams.list.len());
            datagrams.clear();
            return;
        };
        let fd = udp.fd.as_raw_fd();
        let mut next = 0;
        let (mut sent, mut dropped) = (0, 0);
        while next < datagrams.list.len() {
            match sys_udp::send_datagrams(fd, &datagrams.bytes, &datagrams.list[next..]) {
                Ok(0) => {
                    dropped += datagrams.list.len() - next;
                    break;
                }
                Ok(count) => {
                    sent += count;
                    next += count;
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    dropped += datagrams.list.len() - next;
                    break;
                }
                Err(_) => {
                    // This datagram's own fault (no route to its address, too long for
                    // the path): drop it, send the rest.
                    dropped += 1;
                    next += 1;
                }
            }
        }
        datagrams.clear();
        // After the calls (a peer may see a datagram a moment before its count).
        self.stats.datagrams_sent(sent);
        self.stats.datagrams_dropped(dropped);
    }
}
