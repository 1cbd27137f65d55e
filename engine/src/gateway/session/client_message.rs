//! The client's payloads: what a session does with each message the client sends.
//!
//! Heartbeats are answered at once (and acknowledge dispatches); Identify and Resume become
//! questions for the caller; ops 3, 4, 8 and 31 are taken only from a live session (op 8
//! also checked against its intents and gateway shard) and handed to the caller as
//! outputs. Every payload counts against the client's rate limit first.
//!
//! Elsewhere: decoding the JSON (`payload.rs`), and what the answers to Identify and Resume
//! do (`identify_resume.rs`).
//!
//! Invariant: no client message panics; anything the session cannot take closes it with a
//! `GatewayError`'s close code.

use super::{AuthenticateRequest, Output, Phase, Session};
use crate::gateway::compress::Outgoing;
use crate::gateway::error::GatewayError;
use crate::gateway::frame;
use crate::gateway::intents::Intents;
use crate::gateway::payload::{decode_client_payload, ClientPayload, RequestGuildMembers};
use crate::gateway::session_id::SessionId;
use crate::gateway::time::Micros;

impl Session {
    pub(super) fn handle_message(&mut self, now: Micros, bytes: &[u8]) {
        if matches!(self.phase, Phase::Ended(_)) {
            return;
        }
        if !self.limiter.admit(now) {
            return self.close(GatewayError::RateLimited);
        }
        let payload = match decode_client_payload(bytes) {
            Ok(payload) => payload,
            Err(e) => return self.close(e),
        };
        let live = matches!(self.phase, Phase::Live(_));
        match payload {
            ClientPayload::Heartbeat { seq } => {
                self.heartbeat.record(now);
                if let (Some(seq), Phase::Live(live)) = (seq, &mut self.phase) {
                    // The client has everything through `seq` (never more than was sent:
                    // the rest of the ring is still the send queue).
                    live.state.ring.forget_through(seq.min(live.seq_sent));
                }
                self.send(Outgoing::Whole(frame::HEARTBEAT_ACK), true);
            }
            ClientPayload::Identify(identify) => {
                if !matches!(self.phase, Phase::Greeted) {
                    return self.close(GatewayError::AlreadyAuthenticated);
                }
                self.outputs
                    .push_back(Output::Authenticate(Box::new(AuthenticateRequest {
                        token: identify.token.clone(),
                        shard: identify.shard,
                        intents: identify.intents,
                    })));
                self.phase = Phase::Authenticating(identify);
            }
            ClientPayload::Resume(resume) => {
                if !matches!(self.phase, Phase::Greeted) {
                    return self.close(GatewayError::AlreadyAuthenticated);
                }
                match SessionId::parse(&resume.session_id) {
                    Some(session_id) => {
                        self.outputs.push_back(Output::Resume { session_id });
                        self.phase = Phase::Resuming(resume);
                    }
                    None => self.invalid_session(),
                }
            }
            ClientPayload::PresenceUpdate(p) if live => {
                self.outputs.push_back(Output::PresenceUpdate(p))
            }
            ClientPayload::VoiceStateUpdate(v) if live => {
                self.outputs.push_back(Output::VoiceStateUpdate(v))
            }
            ClientPayload::RequestGuildMembers(r) if live => self.handle_request_guild_members(r),
            ClientPayload::RequestSoundboardSounds(r) if live => {
                self.outputs.push_back(Output::RequestSoundboardSounds(r))
            }
            other => self.close(GatewayError::NotAuthenticated(op_of(&other))),
        }
    }

    /// op 8, with Discord's rules that need the session's intents and shard
    /// (discord-api-docs, gateway-events "Request Guild Members"):
    /// - `presences: true` without GUILD_PRESENCES "will always be false": answered
    ///   without presences.
    /// - The whole member list (`query: ""` without `user_ids`) needs GUILD_MEMBERS.
    ///   Discord does not close the connection then; it sends no chunk at all (reported
    ///   in discord-api-docs#5855 and discordrb#53), and so does Flux. The clients check
    ///   the intent themselves before they ask (discord.py, discordeno).
    /// - A guild that is not on this connection's gateway shard gets no chunk either.
    ///
    /// Cost: op 8 counts against the 120/60 s command limit like every payload, so a
    /// flood closes with 4008 before it can ask for more than 120 guild scans a minute.
    fn handle_request_guild_members(&mut self, mut request: RequestGuildMembers) {
        let Phase::Live(live) = &self.phase else {
            debug_assert!(false, "op 8 is handled only when live");
            return;
        };
        let intents = live.state.intents;
        if !live.state.shard.carries_guild(request.guild_id) {
            return;
        }
        let whole_list = request.user_ids.is_none() && request.query.as_deref() == Some("");
        if whole_list && !intents.contains(Intents::GUILD_MEMBERS) {
            return;
        }
        request.presences &= intents.contains(Intents::GUILD_PRESENCES);
        self.outputs.push_back(Output::RequestGuildMembers(request));
    }
}

fn op_of(payload: &ClientPayload) -> u64 {
    match payload {
        ClientPayload::Heartbeat { .. } => 1,
        ClientPayload::Identify(_) => 2,
        ClientPayload::PresenceUpdate(_) => 3,
        ClientPayload::VoiceStateUpdate(_) => 4,
        ClientPayload::Resume(_) => 6,
        ClientPayload::RequestGuildMembers(_) => 8,
        ClientPayload::RequestSoundboardSounds(_) => 31,
    }
}
