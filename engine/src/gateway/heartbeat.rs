//! Heartbeat bookkeeping: when the client last proved it is alive, and when it is a zombie.
//!
//! Implements: Discord's heartbeat rule. The client heartbeats every `heartbeat_interval` ms
//! (discord.py sends its first one as soon as Hello arrives). A client that has not
//! heartbeated for `timeout` is closed with 4009 and its session is discarded.
//!
//! Timeout: `heartbeat_interval * 1.5` by default (41250 ms → 61875 ms), counted from Hello
//! and then from each heartbeat. Discord does not publish its grace; 1.5× leaves a client
//! that heartbeats on time half an interval of slack for jitter and a slow network, and
//! matches discord.py's own 60 s receive timeout closely.
//!
//! Late by whose clock: a server busy with other connections reads a heartbeat later than
//! it arrived. So a message the session is handed is never refused as late (it may have
//! come in time), and the zombie verdict is given by a `Tick` whose time is when the
//! caller last read its sockets (`reactor::Outbox::read_at`), not the clock: a session is
//! a zombie when, with everything that had arrived read, no heartbeat came by the
//! deadline.

use super::time::Micros;

/// Tracks the zombie deadline.
///
/// ```
/// use engine::gateway::{Heartbeat, Micros};
/// let mut hb = Heartbeat::new(Micros(0), 1_000_000);
/// assert!(!hb.is_zombie(Micros(999_999)));
/// hb.record(Micros(500_000));
/// assert!(!hb.is_zombie(Micros(1_400_000)));
/// assert!(hb.is_zombie(Micros(1_500_000)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    timeout_us: u64,
    deadline: Micros,
}

impl Heartbeat {
    /// Starts counting at `now` (when Hello goes out).
    pub fn new(now: Micros, timeout_us: u64) -> Heartbeat {
        Heartbeat {
            timeout_us,
            deadline: now.plus_us(timeout_us),
        }
    }

    /// A heartbeat arrived at `now`.
    pub fn record(&mut self, now: Micros) {
        self.deadline = self.deadline.max(now.plus_us(self.timeout_us));
    }

    /// When the session becomes a zombie unless a heartbeat arrives first.
    pub fn deadline(&self) -> Micros {
        self.deadline
    }

    pub fn is_zombie(&self, now: Micros) -> bool {
        now >= self.deadline
    }
}
