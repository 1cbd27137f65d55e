//! The core's deadlines: giving the timers a connection's next deadline (`watch`), and
//! firing what is due in step 2 of a turn: the application's tick, an accept retry, the end
//! of the shutdown grace, slow consumers, late HTTP clients, and closes that took too long.
//!
//! Why one place: every bound with a time in it comes due here, so what happens when a
//! deadline passes is read off one function (what each deadline is: `Conn::deadline`). The timers are a lazy min-heap (`timers.rs`): an
//! entry whose deadline has since moved is skipped, not removed.

use std::time::{Duration, Instant};

use crate::reactor::app::{App, CloseCause};
use crate::reactor::conn::State;

use super::Reactor;

impl<A: App> Reactor<A> {
    /// Makes sure the core's timers will look at this connection by its deadline.
    pub(super) fn watch(&mut self, key: usize) {
        let grace = Duration::from_millis(self.config.limits.slow_consumer_grace_ms);
        let conn = &mut self.conns[key];
        let Some(at) = conn.deadline(grace) else {
            return;
        };
        if conn.timer_at.is_none_or(|scheduled| at < scheduled) {
            conn.timer_at = Some(at);
            self.timers.schedule(at, key, conn.generation);
        }
    }

    pub(super) fn fire_deadlines(&mut self, now: Instant) {
        if self.app_deadline.is_some_and(|deadline| deadline <= now) {
            self.app_deadline = None;
            let next = self.app.handle_tick(&mut self.out, now);
            if let Some(next) = next {
                self.out.wake_at(next);
            }
            self.apply_commands();
        }
        if self.accept_retry_at.is_some_and(|at| at <= now) {
            self.accept_retry_at = None;
            self.submit_accepts();
        }
        if self
            .shutdown_deadline
            .is_some_and(|deadline| deadline <= now)
        {
            let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
            for key in keys {
                self.kill(key, CloseCause::Shutdown);
            }
        }
        let grace = Duration::from_millis(self.config.limits.slow_consumer_grace_ms);
        let soft = self.config.limits.outbox_bytes_max;
        while let Some(timer) = self.timers.pop_due(now) {
            let Some(conn) = self.conns.get_mut(timer.key) else {
                continue;
            };
            if conn.generation != timer.generation || conn.timer_at != Some(timer.at) {
                continue; // Stale: the connection's deadline moved (`timers.rs`).
            }
            conn.timer_at = None;
            let key = timer.key;
            if conn.state == State::Open
                && conn.outq.bytes() <= soft
                && conn.over_bound_since.take().is_some()
            {
                conn.outq.set_in_backlog(true);
            }
            match conn.state {
                State::Open => {
                    if conn
                        .over_bound_since
                        .is_some_and(|since| since + grace <= now)
                    {
                        self.slow_consumer(key);
                    } else if let Some(wait) = conn.http_wait.filter(|wait| wait.until <= now) {
                        self.http_timed_out(key, wait.what);
                    }
                }
                State::Draining { deadline } | State::Lingering { deadline } => {
                    if deadline <= now {
                        self.kill(key, CloseCause::ConnectionLost);
                    }
                }
                State::Dead => {}
            }
            // Whatever deadline is left (a later one, or the close that just began).
            self.watch(key);
        }
    }
}
