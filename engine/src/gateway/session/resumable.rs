//! `ResumableState`: everything a session keeps across a reconnect.
//!
//! Why a file of its own: this state outlives its connection. It moves out of an ended
//! `Session` (`into_resumable`), waits detached, still taking dispatches into its replay
//! ring, and moves into the `Session` of the client's next connection with
//! `Input::ResumeFound`. Its fields are the session module's to read and write; outside it
//! only the getters below are visible.
//!
//! Invariant: while detached, the replay ring keeps taking every event the session would
//! have received, so a Resume replays exactly what the client missed.

use std::sync::Arc;

use crate::gateway::dispatch::Dispatch;
use crate::gateway::intents::Intents;
use crate::gateway::payload::GatewayShard;
use crate::gateway::replay::ReplayRing;
use crate::gateway::session_id::SessionId;
use crate::gateway::time::Micros;

/// Everything a session keeps across a reconnect. It moves: out of a closed `Session` by
/// `into_resumable`, into a new one by `Input::ResumeFound`. While detached it still takes
/// dispatches, which a Resume then replays.
#[derive(Debug)]
pub struct ResumableState {
    pub(super) session_id: SessionId,
    pub(super) token: String,
    pub(super) user_id: u64,
    pub(super) intents: Intents,
    pub(super) shard: GatewayShard,
    pub(super) large_threshold: u16,
    pub(super) ring: ReplayRing,
    pub(super) expires_at: Micros,
}

impl ResumableState {
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// The token it authenticated with (a Resume must present the same one, and it must
    /// still be valid).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The intents the session identified with.
    pub fn intents(&self) -> Intents {
        self.intents
    }

    /// After this time a Resume is refused; the caller should drop the state.
    pub fn expires_at(&self) -> Micros {
        self.expires_at
    }

    /// The last sequence number assigned.
    pub fn seq_last(&self) -> u64 {
        self.ring.seq_last()
    }

    /// Records an event the detached session missed, if it would have received it.
    pub fn handle_dispatch(&mut self, event: &Arc<Dispatch>) {
        if event.visible_to(self.intents, self.shard) {
            self.ring.push(Arc::clone(event));
        }
    }
}
