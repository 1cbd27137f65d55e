//! The run of message events a core gathers before it fans them out, and when it may hold
//! that run back.
//!
//! Why: fanning an event out visits every session that may see it (its state, replay ring
//! and outbound queue fetched into the CPU's cache, a command, a queue entry), so a run of
//! k events about one channel costs each session one visit instead of k
//! (`message_fanout.rs`). Runs form within one mesh drain on their own; this file lets a
//! run outlive the drain while the core is behind its sockets (`Outbox::behind_sockets`:
//! many connections wait for their writes, behind deep queues). There an event queued now
//! leaves no sooner than one queued a few turns later, for most sessions, while each visit
//! costs the same; with 10,000 sessions a round of writes takes hundreds of milliseconds,
//! and without holding each visit carried about one event.
//!
//! Rules (the caller, `mesh.rs`, applies them in this order):
//! - an event about another channel than the run's, or one past `RUN_MAX`, releases the
//!   run first;
//! - a mesh message that may dispatch to sessions (`FluxMesh::may_dispatch`) releases the
//!   run first, so sessions see everything in the order the mesh brought it;
//! - at the end of each drain and of each loop turn the run goes out unless the core is
//!   behind its sockets and its first event arrived less than `HOLD_MAX` ago.
//!
//! Sans-IO: the caller passes the clock and the reactor's verdict, and delivers what it
//! gets back.

use std::time::{Duration, Instant};

/// The longest a run waits for a core behind its sockets: about a tenth of one round of
/// writes over 10,000 busy sessions, so a session's visit carries ten or more events
/// there, while no event waits longer than that for the round it would have joined.
pub(super) const HOLD_MAX: Duration = Duration::from_millis(50);

/// The most events one run gathers. A session takes a run whole only when all of it but
/// its last event fits its send window (`Session::dispatch_run`; 32 MESSAGE_CREATEs are
/// about 32 KiB of its 256), and `run_view` handles at most 64.
pub(super) const RUN_MAX: usize = 32;

/// Events about one channel, gathered for one fan-out. See the module documentation.
#[derive(Debug)]
pub(super) struct FanoutHold<E> {
    run: Vec<E>,
    channel_id: u64,
    since: Instant,
}

impl<E> FanoutHold<E> {
    pub(super) fn new(now: Instant) -> FanoutHold<E> {
        FanoutHold {
            run: Vec::new(),
            channel_id: 0,
            since: now,
        }
    }

    /// Whether `event`, about `channel_id`, may join the run gathered so far; when not,
    /// the caller releases the run (`take`) before it `push`es.
    pub(super) fn joins(&self, channel_id: u64) -> bool {
        self.run.is_empty() || (self.channel_id == channel_id && self.run.len() < RUN_MAX)
    }

    /// Adds `event` to the run; it must join it (`joins`).
    pub(super) fn push(&mut self, event: E, channel_id: u64, now: Instant) {
        assert!(
            self.joins(channel_id),
            "an event joins only its channel's run"
        );
        if self.run.is_empty() {
            self.channel_id = channel_id;
            self.since = now;
        }
        self.run.push(event);
    }

    /// Whether a run waits.
    pub(super) fn holds(&self) -> bool {
        !self.run.is_empty()
    }

    /// Whether the run may wait longer: the core is `behind` its sockets and the run's
    /// first event arrived less than `HOLD_MAX` before `now`.
    pub(super) fn may_wait(&self, now: Instant, behind: bool) -> bool {
        behind && now.saturating_duration_since(self.since) < HOLD_MAX
    }

    /// The run, to deliver now; hand the emptied vector back with `recycle` to keep its
    /// capacity.
    pub(super) fn take(&mut self) -> Vec<E> {
        std::mem::take(&mut self.run)
    }

    /// Gives back the vector `take` returned, once its events are delivered.
    pub(super) fn recycle(&mut self, mut run: Vec<E>) {
        if self.run.is_empty() {
            run.clear();
            self.run = run;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_of_one_channel_join_up_to_the_bound() {
        let t0 = Instant::now();
        let mut hold = FanoutHold::new(t0);
        assert!(!hold.holds());
        for i in 0..RUN_MAX {
            assert!(hold.joins(7));
            hold.push(i, 7, t0);
        }
        assert!(!hold.joins(7), "the run is full");
        assert!(!hold.joins(8), "another channel never joins");
        let run = hold.take();
        assert_eq!(run, (0..RUN_MAX).collect::<Vec<_>>());
        assert!(!hold.holds());
        hold.recycle(run);
        assert!(hold.joins(8), "an empty run takes any channel");
        hold.push(99, 8, t0);
        assert!(!hold.joins(7));
        assert_eq!(hold.take(), vec![99]);
    }

    #[test]
    fn a_run_waits_only_while_the_core_is_behind_and_not_past_the_bound() {
        let t0 = Instant::now();
        let mut hold = FanoutHold::new(t0);
        hold.push("create", 1, t0);
        assert!(hold.may_wait(t0, true));
        assert!(!hold.may_wait(t0, false), "a core not behind sends at once");
        let late = t0 + HOLD_MAX;
        assert!(!hold.may_wait(late, true), "no event waits past the bound");
        // Later events do not restart the clock: it is the first event's wait.
        hold.push("update", 1, t0 + HOLD_MAX / 2);
        assert!(!hold.may_wait(late, true));
        assert_eq!(hold.take(), vec!["create", "update"]);
        // A new run starts its own clock.
        hold.push("delete", 1, late);
        assert!(hold.may_wait(late + HOLD_MAX / 2, true));
    }

    #[test]
    fn recycle_never_drops_a_run_gathered_meanwhile() {
        let t0 = Instant::now();
        let mut hold = FanoutHold::new(t0);
        hold.push(1, 1, t0);
        let run = hold.take();
        hold.push(2, 1, t0);
        hold.recycle(run);
        assert_eq!(hold.take(), vec![2]);
    }
}
