//! Presence across cores (gateway op 3 → PRESENCE_UPDATE) and member chunks (op 8 →
//! GUILD_MEMBERS_CHUNK).
//!
//! Presence, the path of one change:
//!
//! ```text
//! session's core                    user's home core                 every core
//! READY (Identify's presence),      handle_presence_report:
//! op 3, or the session gone ──────► PresenceBook::report (all the
//!   report_presence                 user's sessions, any core) ──────► apply_presence_sync:
//!   (PresenceReport)                aggregate changed? (PresenceSync)  presence map, then one
//!                                                                      PRESENCE_UPDATE per guild
//!                                                                      the user is in, serialised
//!                                                                      once, to that guild's local
//!                                                                      sessions (GUILD_PRESENCES)
//! ```
//!
//! The home core `(user_id >> 22) % cores` is the only place that sees all of a user's
//! sessions, so it alone decides the aggregate (most present status wins; invisible is
//! offline; `world::presence`) and no core ever reads another's state. Each core keeps
//! the announced aggregate of every user who is not offline (`FluxApp::presences`) to
//! fill GUILD_CREATE's `presences` and GUILD_MEMBERS_CHUNK's `presences` locally.
//!
//! When a user goes offline: a session counts until it is gone for good — closed with
//! 1000/1001 or a non-resumable code (`close_gateway`), detached and then expired
//! unresumed (`sweep_detached`), or dropped by a Resume that failed for good
//! (`resume_found`). A session that dropped and may still resume keeps its user online,
//! as on Discord, so a reconnect does not flap the user's status for everyone. (discord.py's
//! `Client.close()` reaches the server as close code 4000, so such a bot stays online
//! until its session expires, `SessionConfig::detached_ttl_ms`, 120 s.)
//!
//! Member chunks are answered by the session's own core from its replica of the guild
//! (`world::member_chunks`): no mesh hop, one scan of the member list per op 8, and op 8
//! counts against the session's 120/60 s command limit. The chunks go in as paced
//! dispatches (`Input::DispatchPaced`): each takes its sequence number only when the
//! ones before it are out, so thousands of members never overflow the replay ring.
//!
//! Invariants:
//! - `presences` holds no offline user (checked in `apply_presence_sync`).
//! - Reports of one session travel one ring (its core's to the home core), so they
//!   arrive in the order they were made, except across a cross-core Resume, where a
//!   report from the old core and one from the new core could in principle cross.

use std::sync::Arc;

use serde_json::Value;

use super::{FluxApp, FluxMesh};
use crate::gateway::{
    Dispatch, DispatchScope, Input, Intents, PresenceUpdate, RequestGuildMembers, SessionId,
};
use crate::reactor::{ConnId, Outbox};
use crate::world::member_chunks::{member_chunks, ChunkRequest, MemberSelection};
use crate::world::presence::{presence_json, Presence, SessionPresence};
use crate::world::{encode, Guild, UserId};

impl FluxApp {
    /// A local session's presence is now `presence` (`None`: the session is gone for
    /// good): tell the user's home core.
    pub(super) fn report_presence(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        user_id: u64,
        session_id: SessionId,
        presence: Option<SessionPresence>,
    ) {
        let home = self.home_core(user_id);
        out.send_mesh(
            home,
            FluxMesh::PresenceReport {
                user_id,
                session_id,
                presence,
            },
        );
    }

    /// op 3 from a live session on `conn`.
    pub(super) fn presence_updated(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        update: &PresenceUpdate,
    ) {
        let Some((user_id, session_id)) = self.conns.get(&conn).and_then(|g| g.presence_of) else {
            return;
        };
        let presence = SessionPresence::from_update(Some(update), super::answers::unix_ms());
        self.report_presence(out, user_id, session_id, Some(presence));
    }

    /// On the user's home core: record the report and, if the aggregate changed, send it
    /// to every core (this one too, through its own queue, so every core applies changes
    /// in the same order).
    pub(super) fn handle_presence_report(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        user_id: u64,
        session_id: SessionId,
        presence: Option<SessionPresence>,
    ) {
        debug_assert_eq!(self.home_core(user_id), self.core, "reports go home");
        let Some(aggregate) = self.presence_book.report(user_id, session_id, presence) else {
            return;
        };
        let presence = Arc::new(aggregate);
        for core in 0..self.cores {
            out.send_mesh(
                core,
                FluxMesh::PresenceSync {
                    user_id,
                    presence: Arc::clone(&presence),
                },
            );
        }
    }

    /// On every core: remember the user's presence and tell the local sessions of every
    /// guild the user is in, one PRESENCE_UPDATE per guild, serialised once.
    pub(super) fn apply_presence_sync(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        user_id: u64,
        presence: &Arc<Presence>,
    ) {
        if presence.is_offline() {
            self.presences.remove(&user_id);
        } else {
            self.presences.insert(user_id, Arc::clone(presence));
        }
        debug_assert!(self.presences.values().all(|p| !p.is_offline()));
        for guild_id in self.guilds.guilds_of(user_id) {
            // Only sessions with GUILD_PRESENCES see it (most bots have none): asked of
            // the guild's counts, not of each session.
            let listening = self
                .subscribers
                .may_reach(guild_id, Intents::GUILD_PRESENCES)
                || self.detached.values().any(|parked| {
                    parked.guild_ids.contains(&guild_id)
                        && parked.state.intents().intersects(Intents::GUILD_PRESENCES)
                });
            if !listening {
                continue;
            }
            let d = encode(&presence_json(user_id, presence, guild_id));
            let event = Dispatch::new(
                "PRESENCE_UPDATE",
                d,
                DispatchScope::Guild(guild_id),
                Intents::GUILD_PRESENCES,
            );
            self.fan_out(out, guild_id, &event);
        }
    }

    /// Someone joined `guild_id`: its other members' local sessions learn their presence
    /// (if they are not offline), as Discord sends PRESENCE_UPDATE after GUILD_MEMBER_ADD.
    pub(super) fn announce_presence_in(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        user_id: u64,
        guild_id: u64,
    ) {
        let Some(presence) = self.presences.get(&user_id).cloned() else {
            return;
        };
        let d = encode(&presence_json(user_id, &presence, guild_id));
        let event = Dispatch::new(
            "PRESENCE_UPDATE",
            d,
            DispatchScope::Guild(guild_id),
            Intents::GUILD_PRESENCES,
        );
        self.fan_out(out, guild_id, &event);
    }

    /// The presence objects of `guild`'s members who are not offline, as this core
    /// knows them.
    pub(super) fn guild_presences(&self, guild: &Guild) -> Vec<Value> {
        if self.presences.is_empty() {
            return Vec::new();
        }
        guild
            .members
            .iter()
            .filter_map(|member| {
                let presence = self.presences.get(&member.user_id.0)?;
                Some(presence_json(member.user_id.0, presence, guild.id.0))
            })
            .collect()
    }

    /// GUILD_CREATE for a session with `intents`, gated by `gate`: the cached payload
    /// shared as it is, or with `presences` filled in for a session with GUILD_PRESENCES
    /// when anyone is online, and `voice_states` for one with GUILD_VOICE_STATES when
    /// anyone is in voice.
    pub(super) fn guild_create_dispatch(
        &self,
        guild: &Guild,
        cached_tail: Arc<[u8]>,
        intents: Intents,
        gate: Intents,
    ) -> Arc<Dispatch> {
        let scope = DispatchScope::Guild(guild.id.0);
        let presences = if intents.contains(Intents::GUILD_PRESENCES) {
            self.guild_presences(guild)
        } else {
            Vec::new()
        };
        let voice_states = if intents.contains(Intents::GUILD_VOICE_STATES) {
            self.guild_voice_states(guild.id.0)
        } else {
            Vec::new()
        };
        if !presences.is_empty() || !voice_states.is_empty() {
            let d = &cached_tail[..cached_tail.len() - 1];
            match serde_json::from_slice(d) {
                Ok(Value::Object(mut object)) => {
                    object.insert("presences".into(), presences.into());
                    object.insert("voice_states".into(), voice_states.into());
                    let d = encode(&Value::Object(object));
                    return Dispatch::new("GUILD_CREATE", d, scope, gate);
                }
                _ => debug_assert!(false, "GUILD_CREATE payloads are our own JSON objects"),
            }
        }
        Dispatch::from_tail("GUILD_CREATE", cached_tail, scope, gate)
    }

    /// op 8 from a live session on `conn`: GUILD_MEMBERS_CHUNKs from this core's replica
    /// of the guild. The session already applied the intent and shard rules; a guild the
    /// session is not subscribed to (not a member) gets no answer, as on Discord.
    pub(super) fn answer_member_request(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &RequestGuildMembers,
    ) {
        let Some(gateway) = self.conns.get(&conn) else {
            return;
        };
        if !gateway.guild_ids.contains(&request.guild_id) {
            return;
        }
        let Some(guild) = self.guilds.guild(request.guild_id).cloned() else {
            return;
        };
        let selection = match (&request.user_ids, &request.query) {
            (Some(ids), _) => MemberSelection::UserIds(ids),
            (None, Some(prefix)) => MemberSelection::Query {
                prefix,
                limit: request.limit,
            },
            (None, None) => {
                debug_assert!(false, "the decoder requires query or user_ids");
                return;
            }
        };
        let chunk_request = ChunkRequest {
            selection,
            presences: request.presences,
            nonce: request.nonce.as_deref(),
        };
        let presences = &self.presences;
        let chunks = member_chunks(&guild, &self.directory, &chunk_request, |user: UserId| {
            presences
                .get(&user.0)
                .map(|presence| presence_json(user.0, presence, request.guild_id))
        });
        for d in chunks {
            let event = Dispatch::new(
                "GUILD_MEMBERS_CHUNK",
                d,
                DispatchScope::Guild(request.guild_id),
                Intents::empty(),
            );
            self.drive(out, conn, Input::DispatchPaced(event));
        }
    }
}
