//! Answers held until every core has taken a change.
//!
//! Why: a client reads its own write on whichever connection comes next, and its next
//! connection may be served by any core. A change that every core replicates (a guild, a
//! new DM) is sent to every core, the owner itself included, over the mesh; a core drains
//! its rings in core order, so without waiting the owner could answer, and the client's
//! next request be handled on some core, before that core took the change (discord.js's
//! `createInvite` then `fetchInvite` got 10006 Unknown Invite, `createDM` then `send`
//! 10003 Unknown Channel). So the owner holds the answer here, every core acknowledges
//! with `FluxMesh::Synced` after applying the change, and the last acknowledgement
//! releases the answer. Guild changes, new DMs and account changes all wait here.

use std::collections::HashMap;

use super::commit::Answer;

/// The answers one core holds, by acknowledgement number.
#[derive(Debug, Default)]
pub(super) struct HeldAnswers {
    held: HashMap<u64, Held>,
    next: u64,
}

#[derive(Debug)]
struct Held {
    remaining: usize,
    answers: Vec<Answer>,
}

impl HeldAnswers {
    /// Holds `answers` until `cores` acknowledgements of the returned number arrive.
    pub(super) fn hold(&mut self, cores: usize, answers: Vec<Answer>) -> u64 {
        assert!(cores > 0, "at least this core acknowledges");
        let number = self.next;
        self.next += 1;
        let held = Held {
            remaining: cores,
            answers,
        };
        self.held.insert(number, held);
        number
    }

    /// One acknowledgement of `number`; the answers once it was the last.
    pub(super) fn acked(&mut self, number: u64) -> Option<Vec<Answer>> {
        let Some(held) = self.held.get_mut(&number) else {
            debug_assert!(false, "an acknowledgement nobody waits for");
            return None;
        };
        held.remaining -= 1;
        if held.remaining > 0 {
            return None;
        }
        let done = self.held.remove(&number)?;
        Some(done.answers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Response;
    use crate::reactor::ConnId;

    fn answer(reply_core: usize, status: u16) -> Answer {
        Answer {
            reply_core,
            conn: ConnId {
                index: 3,
                generation: 1,
            },
            response: Response::json(status, Vec::new()),
        }
    }

    #[test]
    fn the_last_acknowledgement_releases_the_answers() {
        let mut answers = HeldAnswers::default();
        let first = answers.hold(3, vec![answer(1, 200), answer(2, 200)]);
        let second = answers.hold(1, vec![answer(0, 204)]);
        assert_ne!(first, second);
        assert!(answers.acked(first).is_none());
        let released = answers.acked(second).expect("one ack was all");
        assert_eq!(
            (released[0].reply_core, released[0].response.status),
            (0, 204)
        );
        assert!(answers.acked(first).is_none());
        let released = answers.acked(first).expect("the third ack");
        let cores: Vec<usize> = released.iter().map(|a| a.reply_core).collect();
        assert_eq!(cores, [1, 2]);
        assert!(answers.held.is_empty());
    }
}
