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
//! releases the answer, as account updates do (`accounts.rs`).

use std::collections::HashMap;

use crate::http::Response;
use crate::reactor::ConnId;

/// The answers one core holds, by acknowledgement number.
#[derive(Debug, Default)]
pub(super) struct HeldAnswers {
    held: HashMap<u64, Held>,
    next: u64,
}

#[derive(Debug)]
struct Held {
    remaining: usize,
    reply_core: usize,
    conn: ConnId,
    response: Response,
}

impl HeldAnswers {
    /// Holds `response` for `conn` on `reply_core` until `cores` acknowledgements of the
    /// returned number arrive.
    pub(super) fn hold(
        &mut self,
        cores: usize,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) -> u64 {
        assert!(cores > 0, "at least this core acknowledges");
        let number = self.next;
        self.next += 1;
        let held = Held {
            remaining: cores,
            reply_core,
            conn,
            response,
        };
        self.held.insert(number, held);
        number
    }

    /// One acknowledgement of `number`; the answer (reply core, connection, response)
    /// once it was the last.
    pub(super) fn acked(&mut self, number: u64) -> Option<(usize, ConnId, Response)> {
        let Some(held) = self.held.get_mut(&number) else {
            debug_assert!(false, "an acknowledgement nobody waits for");
            return None;
        };
        held.remaining -= 1;
        if held.remaining > 0 {
            return None;
        }
        let done = self.held.remove(&number)?;
        Some((done.reply_core, done.conn, done.response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_acknowledgement_releases_the_answer() {
        let mut answers = HeldAnswers::default();
        let conn = ConnId {
            index: 3,
            generation: 1,
        };
        let first = answers.hold(3, 1, conn, Response::json(200, Vec::new()));
        let second = answers.hold(1, 0, conn, Response::json(204, Vec::new()));
        assert_ne!(first, second);
        assert!(answers.acked(first).is_none());
        let (core, _, response) = answers.acked(second).expect("one ack was all");
        assert_eq!((core, response.status), (0, 204));
        assert!(answers.acked(first).is_none());
        let (core, _, response) = answers.acked(first).expect("the third ack");
        assert_eq!((core, response.status), (1, 200));
        assert!(answers.held.is_empty());
    }
}
