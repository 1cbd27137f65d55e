//! Leaving `Open`: draining what is queued, lingering for the peer's EOF, and the hard stop
//! (the life cycle is drawn in `conn.rs`).
//!
//! Invariants:
//! - `App::handle_closed` is called exactly once per connection the application knows
//!   (`notify_closed` takes `app_knows`).
//! - `kill` only shuts the socket down and marks the connection dead; its slot is freed by
//!   `service` once none of its ops is in flight.

use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::reactor::app::{App, CloseCause, ConnId};
use crate::reactor::conn::State;
use crate::reactor::outq::OutFrame;
use crate::reactor::sys;

use super::Reactor;

impl<A: App> Reactor<A> {
    /// Leave `Open`: tell the application, queue `frame` (a Close frame) and drain.
    pub(super) fn start_close(&mut self, key: usize, frame: Option<OutFrame>, cause: CloseCause) {
        let conn = &mut self.conns[key];
        if conn.state != State::Open {
            return;
        }
        if let Some(frame) = frame {
            conn.outq.push(frame);
        }
        let deadline = self.out.now + Duration::from_millis(self.config.limits.close_linger_ms);
        conn.state = State::Draining { deadline };
        self.notify_closed(key, &cause);
        self.watch(key);
        self.touch(key);
        if self.conns[key].is_flushed() {
            self.start_linger(key);
        }
    }

    /// Everything is written: half-close (after TLS's close_notify) and wait for the
    /// peer's EOF.
    pub(super) fn start_linger(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        debug_assert!(matches!(conn.state, State::Draining { .. }));
        if conn.peer_eof {
            self.kill(key, CloseCause::ConnectionLost);
            return;
        }
        self.send_close_notify(key);
        let conn = &mut self.conns[key];
        sys::shutdown(conn.fd.as_raw_fd(), libc::SHUT_WR);
        let deadline = self.out.now + Duration::from_millis(self.config.limits.close_linger_ms);
        conn.state = State::Lingering { deadline };
        self.watch(key);
    }

    /// Stop everything now; the slot is freed once no op is in flight.
    pub(super) fn kill(&mut self, key: usize, cause: CloseCause) {
        let conn = &mut self.conns[key];
        if conn.state == State::Dead {
            return;
        }
        conn.state = State::Dead;
        // Wakes a read or write still in flight in either backend.
        sys::shutdown(conn.fd.as_raw_fd(), libc::SHUT_RDWR);
        self.notify_closed(key, &cause);
        self.touch(key);
    }

    fn notify_closed(&mut self, key: usize, cause: &CloseCause) {
        let conn = &mut self.conns[key];
        if std::mem::take(&mut conn.app_knows) {
            let id = ConnId {
                index: key as u32,
                generation: conn.generation,
            };
            self.app.handle_closed(&mut self.out, id, cause);
        }
    }
}
