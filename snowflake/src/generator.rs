//! Issues strictly increasing snowflakes for one (worker, process) pair.
//!
//! One `Generator` per core: it takes `&mut self`, holds no lock and touches
//! no atomic, and it never reads a clock. The caller passes `now_ms` (Unix
//! milliseconds) on every call.
//!
//! Policy, per call:
//! - `now_ms` past the last id's millisecond: use `now_ms`, sequence 0.
//! - `now_ms` in the same millisecond, or earlier (the wall clock stepped
//!   back): keep the last millisecond and take the next sequence. Ids stay
//!   strictly increasing and never repeat, whatever the clock does.
//! - Sequence 4095 already used: borrow the next millisecond. The id's time
//!   then runs ahead of the wall clock. It may run at most `ahead_ms_max`
//!   milliseconds past the newest `now_ms` seen so far (default
//!   [`Generator::AHEAD_MS_MAX_DEFAULT`], one second: 4096 × 1001 ids in a
//!   burst). Past that, `next` returns [`Error::SequenceExhausted`] with the
//!   wait needed, and emits nothing: back-pressure, never a duplicate.
//! - `now_ms` outside the 42-bit range: [`Error::TimestampBeforeEpoch`] or
//!   [`Error::TimestampAfterMax`], state untouched. Likewise when borrowing
//!   would step past the last representable millisecond (the year 2154).
//!
//! The drift budget is measured from the newest `now_ms` seen, not from the
//! current one, so a wall clock that steps back does not by itself cause
//! errors: ids keep coming at up to 4096 per millisecond of the old clock
//! plus the budget, until the wall clock catches up again. Feed it a clock
//! that does not step back (realtime at start-up plus monotonic elapsed) and
//! that path is never taken.
//!
//! Elsewhere: the id layout (`id.rs`). Uniqueness across generators is the
//! engine's job: give each core its own (worker, process) pair, and after a
//! restart call [`Generator::resume_after`] with the newest id it issued.
//!
//! Invariants:
//! - Every id returned is greater than every id returned before.
//! - The id's time is at most `ahead_ms_max` past the newest `now_ms` seen,
//!   except right after `resume_after` (see there).

use crate::id::{node_bits, since_epoch_ms_of};
use crate::{Error, Snowflake};

/// Issues ids for one core. See the module docs for the policy.
///
/// ```
/// use snowflake::{Generator, Snowflake};
///
/// let mut ids = Generator::new(1, 3)?; // worker 1 (node), process 3 (core)
/// let now_ms = 1_700_000_000_000;
/// let a = ids.next(now_ms)?;
/// let b = ids.next(now_ms)?;
/// assert!(a < b);
/// assert_eq!((b.timestamp_ms(), b.worker(), b.process(), b.sequence()), (now_ms, 1, 3, 1));
///
/// // The wall clock steps back a second: ids still increase.
/// let c = ids.next(now_ms - 1_000)?;
/// assert!(b < c);
/// assert_eq!(c.timestamp_ms(), now_ms);
/// # Ok::<(), snowflake::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Generator {
    node_bits: u64,
    ahead_ms_max: u64,
    /// Time field and sequence of the newest id issued (or resumed after).
    last: Option<(u64, u16)>,
    /// Newest `now_ms` seen, as milliseconds since the epoch.
    wall_high_ms: u64,
}

impl Generator {
    /// Default drift budget: one second ahead of the newest `now_ms`.
    pub const AHEAD_MS_MAX_DEFAULT: u64 = 1_000;

    /// A generator for `worker` (`0..=31`, the node) and `process`
    /// (`0..=31`, the core) with the default drift budget.
    pub const fn new(worker: u8, process: u8) -> Result<Generator, Error> {
        if worker > Snowflake::WORKER_MAX {
            return Err(Error::WorkerOutOfRange { worker });
        }
        if process > Snowflake::PROCESS_MAX {
            return Err(Error::ProcessOutOfRange { process });
        }
        Ok(Generator {
            node_bits: node_bits(worker, process),
            ahead_ms_max: Self::AHEAD_MS_MAX_DEFAULT,
            last: None,
            wall_high_ms: 0,
        })
    }

    /// Sets how many milliseconds the ids' time may run ahead of the newest
    /// `now_ms` when a millisecond's 4096 sequences are used up. `0` never
    /// borrows: the 4097th id in a millisecond is an error.
    pub const fn with_ahead_ms_max(mut self, ahead_ms_max: u64) -> Generator {
        self.ahead_ms_max = ahead_ms_max;
        self
    }

    /// The drift budget in milliseconds.
    pub const fn ahead_ms_max(&self) -> u64 {
        self.ahead_ms_max
    }

    /// The worker every id from this generator carries.
    pub const fn worker(&self) -> u8 {
        Snowflake::new(self.node_bits).worker()
    }

    /// The process every id from this generator carries.
    pub const fn process(&self) -> u8 {
        Snowflake::new(self.node_bits).process()
    }

    /// The newest id issued, if any.
    pub fn last_id(&self) -> Option<Snowflake> {
        let (since_epoch_ms, sequence) = self.last?;
        Some(Snowflake::compose(since_epoch_ms, self.node_bits, sequence))
    }

    /// Issues the next id at Unix millisecond `now_ms`.
    ///
    /// On error nothing is issued and the generator is unchanged, except that
    /// a valid `now_ms` still counts as seen.
    pub fn next(&mut self, now_ms: u64) -> Result<Snowflake, Error> {
        let wall_ms = since_epoch_ms_of(now_ms)?;
        self.wall_high_ms = self.wall_high_ms.max(wall_ms);
        let (since_epoch_ms, sequence) = match self.last {
            None => (wall_ms, 0),
            Some((last_ms, _)) if wall_ms > last_ms => (wall_ms, 0),
            Some((last_ms, last_sequence)) if last_sequence < Snowflake::SEQUENCE_MAX => {
                (last_ms, last_sequence + 1)
            }
            Some((last_ms, _)) => (self.borrow_ms(last_ms, wall_ms)?, 0),
        };
        let id = Snowflake::compose(since_epoch_ms, self.node_bits, sequence);
        debug_assert!(
            self.last_id().is_none_or(|last| last < id),
            "ids must increase"
        );
        self.last = Some((since_epoch_ms, sequence));
        Ok(id)
    }

    /// Makes every later id greater than `id`, e.g. the newest id this core
    /// issued before a restart (the engine reads it back from the log).
    ///
    /// Later ids never sit at or below `id`, even if the clock reads earlier.
    /// They continue in `id`'s millisecond while its node has sequences left
    /// (another node's id skips to the next millisecond), then borrow under
    /// the usual drift budget: if `id` is further ahead of the wall clock than
    /// the budget, `next` returns [`Error::SequenceExhausted`] until the
    /// clock catches up. An `id` older than the newest issued id changes
    /// nothing.
    ///
    /// ```
    /// use snowflake::{Generator, Snowflake};
    ///
    /// let before_restart = Snowflake::new(1_166_862_083_686_400_123);
    /// let mut ids = Generator::new(0, 0)?;
    /// ids.resume_after(before_restart);
    /// // Even if the clock now reads earlier than that id:
    /// assert!(ids.next(before_restart.timestamp_ms() - 10)? > before_restart);
    /// # Ok::<(), snowflake::Error>(())
    /// ```
    pub fn resume_after(&mut self, id: Snowflake) {
        // Same node: continue its sequence. Another node: that id may sit
        // anywhere in its millisecond relative to ours, so skip the millisecond.
        let floor_sequence = if id.node_bits() == self.node_bits {
            id.sequence()
        } else {
            Snowflake::SEQUENCE_MAX
        };
        let floor = (id.since_epoch_ms(), floor_sequence);
        if self.last.is_none_or(|last| last < floor) {
            self.last = Some(floor);
        }
    }

    /// The millisecond after `last_ms`, if the drift budget and the 42-bit
    /// range allow it.
    fn borrow_ms(&self, last_ms: u64, wall_ms: u64) -> Result<u64, Error> {
        debug_assert!(wall_ms <= last_ms, "a newer wall clock never borrows");
        if last_ms == Snowflake::SINCE_EPOCH_MS_MAX {
            let timestamp_ms = Snowflake::TIMESTAMP_MS_MAX + 1;
            return Err(Error::TimestampAfterMax { timestamp_ms });
        }
        let borrowed_ms = last_ms + 1;
        let ahead_ms = borrowed_ms.saturating_sub(self.wall_high_ms);
        if ahead_ms > self.ahead_ms_max {
            // The wall clock must reach `borrowed_ms - ahead_ms_max`.
            let retry_after_ms = borrowed_ms - self.ahead_ms_max - wall_ms;
            return Err(Error::SequenceExhausted { retry_after_ms });
        }
        Ok(borrowed_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DISCORD_EPOCH_MS;

    const NOW_MS: u64 = 1_700_000_000_000;

    #[test]
    fn new_rejects_out_of_range_node() {
        assert_eq!(
            Generator::new(32, 0).unwrap_err(),
            Error::WorkerOutOfRange { worker: 32 }
        );
        assert_eq!(
            Generator::new(0, 32).unwrap_err(),
            Error::ProcessOutOfRange { process: 32 }
        );
        let ids = Generator::new(31, 31).unwrap();
        assert_eq!((ids.worker(), ids.process()), (31, 31));
    }

    #[test]
    fn new_millisecond_restarts_sequence() {
        let mut ids = Generator::new(2, 5).unwrap();
        assert_eq!(ids.next(NOW_MS).unwrap().sequence(), 0);
        assert_eq!(ids.next(NOW_MS).unwrap().sequence(), 1);
        let id = ids.next(NOW_MS + 3).unwrap();
        assert_eq!((id.timestamp_ms(), id.sequence()), (NOW_MS + 3, 0));
        assert_eq!((id.worker(), id.process()), (2, 5));
        assert_eq!(ids.last_id(), Some(id));
    }

    #[test]
    fn exhausted_millisecond_borrows_the_next() {
        let mut ids = Generator::new(0, 0).unwrap();
        for sequence in 0..=Snowflake::SEQUENCE_MAX {
            assert_eq!(ids.next(NOW_MS).unwrap().sequence(), sequence);
        }
        let borrowed = ids.next(NOW_MS).unwrap();
        assert_eq!(
            (borrowed.timestamp_ms(), borrowed.sequence()),
            (NOW_MS + 1, 0)
        );
        // When the wall clock reaches the borrowed millisecond, it continues it.
        let id = ids.next(NOW_MS + 1).unwrap();
        assert_eq!((id.timestamp_ms(), id.sequence()), (NOW_MS + 1, 1));
    }

    #[test]
    fn drift_budget_bounds_borrowing_then_reports_the_wait() {
        let mut ids = Generator::new(0, 0).unwrap().with_ahead_ms_max(2);
        let per_ms = u64::from(Snowflake::SEQUENCE_MAX) + 1;
        // Milliseconds NOW, NOW+1, NOW+2: 3 × 4096 ids.
        for _ in 0..3 * per_ms {
            ids.next(NOW_MS).unwrap();
        }
        assert_eq!(ids.last_id().unwrap().timestamp_ms(), NOW_MS + 2);
        assert_eq!(
            ids.next(NOW_MS),
            Err(Error::SequenceExhausted { retry_after_ms: 1 })
        );
        // An older clock reading must wait longer.
        assert_eq!(
            ids.next(NOW_MS - 4),
            Err(Error::SequenceExhausted { retry_after_ms: 5 })
        );
        // The error issued nothing; after the wait, ids continue above the last one.
        let last = ids.last_id().unwrap();
        let id = ids.next(NOW_MS + 1).unwrap();
        assert!(id > last);
        assert_eq!((id.timestamp_ms(), id.sequence()), (NOW_MS + 3, 0));
    }

    #[test]
    fn zero_budget_never_borrows() {
        let mut ids = Generator::new(0, 0).unwrap().with_ahead_ms_max(0);
        for _ in 0..=Snowflake::SEQUENCE_MAX {
            ids.next(NOW_MS).unwrap();
        }
        assert_eq!(
            ids.next(NOW_MS),
            Err(Error::SequenceExhausted { retry_after_ms: 1 })
        );
        assert_eq!(ids.next(NOW_MS + 1).unwrap().sequence(), 0);
    }

    #[test]
    fn clock_outside_range_is_an_error_and_changes_nothing() {
        let mut ids = Generator::new(0, 0).unwrap();
        let first = ids.next(NOW_MS).unwrap();
        assert_eq!(
            ids.next(0),
            Err(Error::TimestampBeforeEpoch { timestamp_ms: 0 })
        );
        assert_eq!(
            ids.next(DISCORD_EPOCH_MS - 1),
            Err(Error::TimestampBeforeEpoch {
                timestamp_ms: DISCORD_EPOCH_MS - 1
            })
        );
        assert_eq!(
            ids.next(u64::MAX),
            Err(Error::TimestampAfterMax {
                timestamp_ms: u64::MAX
            })
        );
        assert_eq!(ids.last_id(), Some(first));
        assert_eq!(ids.next(NOW_MS).unwrap().sequence(), 1);
    }

    #[test]
    fn last_millisecond_of_the_range_cannot_borrow() {
        let mut ids = Generator::new(0, 0).unwrap();
        for _ in 0..=Snowflake::SEQUENCE_MAX {
            ids.next(Snowflake::TIMESTAMP_MS_MAX).unwrap();
        }
        assert_eq!(
            ids.last_id(),
            Some(Snowflake::new(Snowflake::MAX.get() & !(0x3ff << 12)))
        );
        assert_eq!(
            ids.next(Snowflake::TIMESTAMP_MS_MAX),
            Err(Error::TimestampAfterMax {
                timestamp_ms: Snowflake::TIMESTAMP_MS_MAX + 1
            })
        );
    }

    #[test]
    fn resume_after_same_node_continues_its_sequence() {
        let mut before = Generator::new(4, 4).unwrap();
        before.next(NOW_MS).unwrap();
        let last = before.next(NOW_MS).unwrap();
        let mut after = Generator::new(4, 4).unwrap();
        after.resume_after(last);
        let id = after.next(NOW_MS).unwrap();
        assert_eq!((id.timestamp_ms(), id.sequence()), (NOW_MS, 2));
    }

    #[test]
    fn resume_after_other_node_skips_its_millisecond() {
        let other = Snowflake::from_parts(crate::Parts {
            timestamp_ms: NOW_MS,
            worker: 31,
            process: 31,
            sequence: 7,
        })
        .unwrap();
        let mut ids = Generator::new(0, 0).unwrap();
        ids.resume_after(other);
        let id = ids.next(NOW_MS).unwrap();
        assert!(id > other);
        assert_eq!((id.timestamp_ms(), id.sequence()), (NOW_MS + 1, 0));
    }

    #[test]
    fn resume_after_an_older_id_changes_nothing() {
        let mut ids = Generator::new(0, 0).unwrap();
        let newest = ids.next(NOW_MS).unwrap();
        ids.resume_after(Snowflake::from_timestamp_ms(NOW_MS - 1).unwrap());
        assert_eq!(ids.last_id(), Some(newest));
    }
}
