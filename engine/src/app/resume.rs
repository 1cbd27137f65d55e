//! Detached sessions and Resume, across cores.
//!
//! A session that ends with a resumable code leaves its `ResumableState` (replay ring
//! included) in the detached map of the core where its connection was, and keeps taking
//! its guilds' dispatches there: every core receives every event, so a detached session
//! misses nothing wherever it waits, and it never travels while events are in flight.
//!
//! A Resume may land on any core. The session id names the core that created the
//! session, its *home*; when a session detaches away from home (after a cross-core
//! resume), the home core learns where it waits (`Moved`). So a Resume asks at most two
//! cores: the home core answers from its own map or forwards the question to where the
//! session waits, and that core *moves* the state to the resuming core (`ResumeFound`);
//! nothing is copied and nothing is shared. Expired states and forwarding entries are
//! swept at their `expires_at`.
//!
//! Sessions follow their token: when a user's tokens are revoked (logout bumps the
//! account's token generation), every core closes that user's live sessions whose token
//! no longer authenticates with 4004 and drops their detached ones
//! (`end_revoked_sessions`), and a Resume is checked against the current directory
//! before the state is handed over (`resume_found`), so a stolen token and session id
//! resume nothing after a logout.
//!
//! Invariants:
//! - A session id is in at most one detached map (asserted in `keep_detached`): a state
//!   is in a map, in one mesh message, or inside one `Session`.
//! - A state handed to a connection that is gone by the time it arrives is kept where it
//!   arrived (`resume_found`), so no state is lost in transit.
//! - Only a home core forwards, and never to itself, so a question is forwarded at most
//!   once.

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
        if let Some(detached) = self.take_detached(session_id) {
            return self.resume_found(out, conn, detached, None);
        }
        let home = usize::from(session_id.core());
        if home >= self.cores {
            // An id naming a core this server does not have: from another server run.
            return self.resume_not_found(out, conn);
        }
        let reply_core = self.core;
        if home == self.core {
            match self.moved.remove(&session_id) {
                Some((core, _)) => out.send_mesh(
                    core,
                    FluxMesh::ResumeAsk {
                        session_id,
                        reply_core,
                        conn,
                    },
                ),
                None => self.resume_not_found(out, conn),
            }
        } else {
            out.send_mesh(
                home,
                FluxMesh::ResumeAsk {
                    session_id,
                    reply_core,
                    conn,
                },
            );
        }
    }

    /// Another core asks for `session_id`: answer from this core's map, or, as its home,
    /// forward the question to where it waits.
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
            None => {
                let home = usize::from(session_id.core()) == self.core;
                if let Some((core, _)) = home.then(|| self.moved.remove(&session_id)).flatten() {
                    debug_assert_ne!(core, self.core, "forwarding entries name other cores");
                    let ask = FluxMesh::ResumeAsk {
                        session_id,
                        reply_core,
                        conn,
                    };
                    return out.send_mesh(core, ask);
                }
                FluxMesh::ResumeNotFound { conn }
            }
        };
        out.send_mesh(reply_core, message);
    }

    /// The detached state reached the resuming connection's core (`from`: the core it
    /// travelled from, `None` if it waited here).
    pub(super) fn resume_found(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        detached: Detached,
        from: Option<usize>,
    ) {
        if self.directory.authenticate(detached.state.token()).is_err() {
            // Revoked since it detached: the state is gone for good, the resumer is told
            // 4004, as for a bad token.
            // (`take_detached` already counted it out of the gauge.)
            let (session_id, user_id) = (detached.state.session_id(), detached.state.user_id());
            self.session_gone(out, user_id, session_id);
            return self.drive(out, conn, Input::TokenRevoked);
        }
        let Some(gateway) = self.conns.get_mut(&conn) else {
            // The connection closed while the state travelled: it waits here now.
            return self.keep_detached(out, detached);
        };
        debug_assert!(
            gateway.guild_ids.is_empty(),
            "a resuming session has no guilds yet"
        );
        gateway.resuming_guild_ids = detached.guild_ids;
        gateway.resuming_from = from;
        let (session_id, user_id) = (detached.state.session_id(), detached.state.user_id());
        self.drive(out, conn, Input::ResumeFound(Box::new(detached.state)));
        // The session either took the state (RESUMED), handed it back (wrong token: it
        // waits here again), or dropped it (expired, seq ahead, seq too old): then the
        // session is gone for good and its user's home core must hear of it.
        let resumed =
            self.conns.get(&conn).and_then(|g| g.session.session_id()) == Some(session_id);
        if !resumed && !self.detached.contains_key(&session_id) {
            self.session_gone(out, user_id, session_id);
        }
    }

    pub(super) fn resume_not_found(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId) {
        if self.conns.contains_key(&conn) {
            Metrics::bump(&self.shared.metrics.gateway_resume_not_found_total);
        }
        self.drive(out, conn, Input::ResumeNotFound);
    }

    /// Keep a detached session on this core; tell its home core if that is elsewhere.
    pub(super) fn keep_detached(&mut self, out: &mut Outbox<FluxMesh>, detached: Detached) {
        let session_id = detached.state.session_id();
        let expires_at = detached.state.expires_at();
        let home = usize::from(session_id.core());
        assert!(
            home < self.cores,
            "a live session's id names one of our cores"
        );
        if home != self.core {
            let moved = FluxMesh::Moved {
                session_id,
                core: self.core,
                expires_at,
            };
            out.send_mesh(home, moved);
        } else {
            self.moved.remove(&session_id);
        }
        let previous = self.detached.insert(session_id, detached);
        assert!(previous.is_none(), "session {session_id} detached twice");
        Metrics::shift(&self.shared.metrics.gateway_sessions_detached, 1);
        self.sweep_later(expires_at);
        self.arm(out);
    }

    /// The home core learns where one of its sessions waits.
    pub(super) fn handle_moved(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        session_id: SessionId,
        core: usize,
        expires_at: Micros,
    ) {
        debug_assert_eq!(usize::from(session_id.core()), self.core, "Moved goes home");
        debug_assert_ne!(core, self.core);
        self.moved.insert(session_id, (core, expires_at));
        self.sweep_later(expires_at);
        self.arm(out);
    }

    fn take_detached(&mut self, session_id: SessionId) -> Option<Detached> {
        let detached = self.detached.remove(&session_id)?;
        Metrics::shift(&self.shared.metrics.gateway_sessions_detached, -1);
        Some(detached)
    }

    fn sweep_later(&mut self, at: Micros) {
        self.detached_sweep_at = Some(self.detached_sweep_at.map_or(at, |next| next.min(at)));
    }

    /// Drop detached sessions and forwarding entries whose time is up; a dropped
    /// session is gone for good, so its user's home core hears of it (`presence.rs`).
    pub(super) fn sweep_detached(&mut self, out: &mut Outbox<FluxMesh>, now: Micros) {
        if self.detached_sweep_at.is_none_or(|at| at > now) {
            return;
        }
        let expired: Vec<(SessionId, u64)> = self
            .detached
            .iter()
            .filter(|(_, detached)| detached.state.expires_at() <= now)
            .map(|(id, detached)| (*id, detached.state.user_id()))
            .collect();
        for (session_id, user_id) in &expired {
            self.detached.remove(session_id);
            self.session_gone(out, *user_id, *session_id);
        }
        let dropped = expired.len();
        Metrics::shift(
            &self.shared.metrics.gateway_sessions_detached,
            -(dropped as i64),
        );
        self.moved.retain(|_, (_, expires_at)| *expires_at > now);
        let detached = self.detached.values().map(|d| d.state.expires_at());
        let moved = self.moved.values().map(|(_, expires_at)| *expires_at);
        self.detached_sweep_at = detached.chain(moved).min();
    }

    /// `user_id`'s tokens changed (a logout): close this core's live sessions of that
    /// user whose token no longer authenticates (4004) and drop the detached ones.
    pub(super) fn end_revoked_sessions(&mut self, out: &mut Outbox<FluxMesh>, user_id: u64) {
        let revoked = |directory: &crate::world::Directory, token: &str| {
            directory.authenticate(token).is_err()
        };
        let live: Vec<ConnId> = self
            .live_conns_where(|user| user == user_id)
            .into_iter()
            .filter(|conn| {
                let token = self.conns[conn].session.token().unwrap_or_default();
                revoked(&self.directory, token)
            })
            .collect();
        for conn in live {
            self.drive(out, conn, Input::TokenRevoked);
        }
        let dropped: Vec<SessionId> = self
            .detached
            .iter()
            .filter(|(_, parked)| parked.state.user_id() == user_id)
            .filter(|(_, parked)| revoked(&self.directory, parked.state.token()))
            .map(|(id, _)| *id)
            .collect();
        for session_id in &dropped {
            self.detached.remove(session_id);
            self.session_gone(out, user_id, *session_id);
        }
        Metrics::shift(
            &self.shared.metrics.gateway_sessions_detached,
            -(dropped.len() as i64),
        );
    }
}
