//! How a session becomes live: the caller's answer to Identify (READY) or to Resume
//! (RESUMED and the replay of what the client missed), and op 9 for a client that must
//! start over.
//!
//! Why a file of its own: these are the session's only two ways into `Phase::Live`, and
//! both check what the client asked for against what the caller found (privileged
//! intents, the guilds per gateway shard; the token, the expiry and the sequence number of
//! a detached session).
//!
//! Invariant: a detached session handed in while this connection is not resuming, or with
//! the wrong token, goes back to the caller (`Output::DetachedReturned`): it is not this
//! connection's to drop.

use super::{Identity, Live, Output, Phase, ReadyInfo, ResumableState, Session};
use crate::gateway::compress::Outgoing;
use crate::gateway::dispatch::{Dispatch, DispatchScope};
use crate::gateway::error::GatewayError;
use crate::gateway::frame;
use crate::gateway::intents::Intents;
use crate::gateway::ready::{encode_ready, ReadyParts};
use crate::gateway::replay::ReplayRing;
use crate::gateway::session_id::SessionId;
use crate::gateway::time::Micros;

impl Session {
    pub(super) fn handle_identified(&mut self, now: Micros, identity: Identity) {
        let Phase::Authenticating(identify) = &self.phase else {
            debug_assert!(self.is_ended(), "Identified without a pending Identify");
            return;
        };
        let identify = identify.clone();
        let missing = identify
            .intents
            .privileged_missing(identity.privileged_intents_granted);
        if !missing.is_empty() {
            return self.close(GatewayError::DisallowedIntents { missing });
        }
        let guild_ids: Vec<u64> = identity
            .guild_ids
            .iter()
            .copied()
            .filter(|g| identify.shard.carries_guild(*g))
            .collect();
        if guild_ids.len() > self.config.guilds_per_shard_max {
            return self.close(GatewayError::ShardingRequired {
                guilds: guild_ids.len(),
                guilds_max: self.config.guilds_per_shard_max,
            });
        }
        let session_id = SessionId::new(self.config.core_index, identity.session_nonce);
        let ready = encode_ready(&ReadyParts {
            user_json: &identity.user_json,
            guild_ids: &guild_ids,
            session_id,
            resume_gateway_url: self.config.resume_gateway_url(),
            shard: identify.shard,
            application_id: identity.application_id,
            application_flags: identity.application_flags,
        });
        let mut state = ResumableState {
            session_id,
            token: identify.token.clone(),
            user_id: identity.user_id,
            intents: identify.intents,
            shard: identify.shard,
            large_threshold: identify.large_threshold,
            ring: ReplayRing::new(
                self.config.replay_ring_len_max,
                self.config.replay_ring_bytes_max,
            ),
            expires_at: Micros::NEVER,
        };
        state.ring.push(Dispatch::new(
            "READY",
            ready,
            DispatchScope::User,
            Intents::empty(),
        ));
        self.outputs.push_back(Output::Ready(Box::new(ReadyInfo {
            session_id,
            user_id: identity.user_id,
            shard: identify.shard,
            intents: identify.intents,
            guild_ids,
            presence: identify.presence.clone(),
            large_threshold: identify.large_threshold,
        })));
        self.phase = Phase::Live(Box::new(Live { state, seq_sent: 0 }));
        self.pump(now);
        // A Resume never replays READY (a client that did not get it has no session id to
        // resume with), so the ring lets it go once it is sent rather than at the first
        // heartbeat: sessions connecting by the thousand then hold no READY each for the
        // seconds until they heartbeat.
        if let Phase::Live(live) = &mut self.phase {
            if live.seq_sent >= 1 {
                live.state.ring.forget_through(1);
            }
        }
    }

    pub(super) fn handle_resume_found(&mut self, now: Micros, mut state: Box<ResumableState>) {
        let Phase::Resuming(resume) = &self.phase else {
            // This connection closed (or never asked): the state is not ours to drop.
            self.outputs.push_back(Output::DetachedReturned(state));
            return;
        };
        let (token_ok, seq) = (resume.token == state.token, resume.seq);
        if !token_ok {
            self.outputs.push_back(Output::DetachedReturned(state));
            return self.invalid_session();
        }
        if now >= state.expires_at {
            return self.invalid_session();
        }
        if seq > state.ring.seq_last() {
            let seq_last = state.ring.seq_last();
            return self.close(GatewayError::InvalidSeq { seq, seq_last });
        }
        if !state.ring.covers(seq) {
            return self.invalid_session();
        }
        state.expires_at = Micros::NEVER;
        state.ring.push(Dispatch::new(
            "RESUMED",
            b"{}".to_vec(),
            DispatchScope::User,
            Intents::empty(),
        ));
        self.outputs.push_back(Output::Resumed(Box::new(ReadyInfo {
            session_id: state.session_id,
            user_id: state.user_id,
            shard: state.shard,
            intents: state.intents,
            guild_ids: Vec::new(),
            presence: None,
            large_threshold: state.large_threshold,
        })));
        self.phase = Phase::Live(Box::new(Live {
            state: *state,
            seq_sent: seq,
        }));
        self.pump(now);
    }

    /// op 9 `d:false`; the connection stays open for a fresh Identify.
    pub(super) fn invalid_session(&mut self) {
        self.phase = Phase::Greeted;
        self.send(Outgoing::Whole(frame::encode_invalid_session(false)), true);
    }
}
