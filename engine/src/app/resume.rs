//! Detached sessions and Resume, across cores.
//!
//! A session that ends with a resumable code leaves its `ResumableState` (replay ring
//! included) in the detached map of the core its `SessionId` names; while it waits there
//! it keeps taking its guilds' dispatches. A Resume on any core asks that core, which
//! *moves* the state over the mesh (`ResumeFound`); nothing is copied and nothing is
//! shared. Expired states are swept at their `expires_at`.
//!
//! Invariants:
//! - A session id is in at most one detached map, and only in the one of the core it
//!   names (asserted in `keep_detached`).
//! - A state handed to a connection that is gone by the time it arrives is parked home
//!   again (`resume_found`), so no state is lost in transit.

use super::mesh::Detached;
use super::{FluxApp, FluxMesh, Metrics};
use crate::gateway::{Input, Micros, SessionId};
use crate::reactor::{ConnId, Outbox};

impl FluxApp {
    /// A client sent op 6 for `session_id` on `conn` (this core).
    pub(super) fn resume(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        session_id: SessionId,
    ) {
        let owner = usize::from(session_id.core());
        if owner == self.core {
            match self.take_detached(session_id) {
                Some(detached) => self.resume_found(out, conn, detached),
                None => self.resume_not_found(out, conn),
            }
        } else if owner < self.cores {
            out.send_mesh(
                owner,
                FluxMesh::ResumeAsk {
                    session_id,
                    reply_core: self.core,
                    conn,
                },
            );
        } else {
            // An id naming a core this server does not have: from another server run.
            self.resume_not_found(out, conn);
        }
    }

    /// The owner's side of a `ResumeAsk`.
    pub(super) fn handle_resume_ask(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        session_id: SessionId,
        reply_core: usize,
        conn: ConnId,
    ) {
        let message = match self.take_detached(session_id) {
            Some(detached) => FluxMesh::ResumeFound {
                conn,
                detached: Box::new(detached),
            },
            None => FluxMesh::ResumeNotFound { conn },
        };
        out.send_mesh(reply_core, message);
    }

    /// The detached state reached the resuming connection's core.
    pub(super) fn resume_found(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        detached: Detached,
    ) {
        let Some(gateway) = self.conns.get_mut(&conn) else {
            // The connection closed while the state travelled: send it home again.
            return self.keep_detached(out, detached);
        };
        debug_assert!(
            gateway.guild_ids.is_empty(),
            "a resuming session has no guilds yet"
        );
        gateway.resuming_guild_ids = detached.guild_ids;
        self.drive(out, conn, Input::ResumeFound(Box::new(detached.state)));
    }

    pub(super) fn resume_not_found(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId) {
        if self.conns.contains_key(&conn) {
            Metrics::bump(&self.shared.metrics.gateway_resume_not_found_total);
        }
        self.drive(out, conn, Input::ResumeNotFound);
    }

    /// Keep a detached session on the core its id names (here, or parked over the mesh).
    pub(super) fn keep_detached(&mut self, out: &mut Outbox<FluxMesh>, detached: Detached) {
        let session_id = detached.state.session_id();
        let owner = usize::from(session_id.core());
        if owner != self.core {
            assert!(
                owner < self.cores,
                "a live session's id names one of our cores"
            );
            out.send_mesh(owner, FluxMesh::Park(Box::new(detached)));
            return;
        }
        let expires_at = detached.state.expires_at();
        let previous = self.detached.insert(session_id, detached);
        assert!(previous.is_none(), "session {session_id} detached twice");
        Metrics::shift(&self.shared.metrics.gateway_sessions_detached, 1);
        self.detached_sweep_at = Some(
            self.detached_sweep_at
                .map_or(expires_at, |at| at.min(expires_at)),
        );
        self.arm(out);
    }

    fn take_detached(&mut self, session_id: SessionId) -> Option<Detached> {
        let detached = self.detached.remove(&session_id)?;
        Metrics::shift(&self.shared.metrics.gateway_sessions_detached, -1);
        Some(detached)
    }

    /// Drop detached sessions whose time is up.
    pub(super) fn sweep_detached(&mut self, now: Micros) {
        if self.detached_sweep_at.is_none_or(|at| at > now) {
            return;
        }
        let before = self.detached.len();
        self.detached
            .retain(|_, detached| detached.state.expires_at() > now);
        let dropped = before - self.detached.len();
        Metrics::shift(
            &self.shared.metrics.gateway_sessions_detached,
            -(dropped as i64),
        );
        self.detached_sweep_at = self
            .detached
            .values()
            .map(|detached| detached.state.expires_at())
            .min();
    }
}
