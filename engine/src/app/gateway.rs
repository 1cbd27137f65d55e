//! One gateway connection's life on a core: feed its [`Session`], drain its outputs.
//!
//! `drive` feeds one input and then `pump`s the outputs. `pump` emits frames, closes and
//! deadlines at once, in poll order, and only afterwards acts on the outputs that feed
//! the session again (identify answers, GUILD_CREATEs after READY, resume answers).
//! That order is what keeps a connection's frames in sequence: READY's frame sits in the
//! same batch as `Output::Ready`, after it, so GUILD_CREATE must wait until READY is in
//! the outbox. With compressed streams a reordering would corrupt the stream, so every
//! gateway frame goes on the bulk lane; a session's `priority` flag means "not held
//! behind the send window", which the session has already applied.
//!
//! Identify: the token is checked against the shared `Directory`; the identify rate
//! limit is asked of the user's home core (`mesh.rs`), here or over the mesh.

use std::collections::HashSet;
use std::sync::Arc;

use super::mesh::Detached;
use super::{FluxApp, FluxMesh, Metrics};
use crate::gateway::{
    AuthenticateRequest, Dispatch, Identity, Input, Intents, Micros, Output, ReadyInfo, Session,
};
use crate::reactor::{CloseCause, ConnId, FrameKind, Lane, Outbox};
use crate::world::presence::SessionPresence;
use crate::world::{ready_user_json, UserId};

/// One open gateway WebSocket.
#[derive(Debug)]
pub(super) struct GatewayConn {
    pub session: Session,
    /// The deadline registered in `FluxApp::timers`, if any.
    pub wake_at: Option<Micros>,
    /// The guilds this session is subscribed to (set on READY or RESUMED).
    pub guild_ids: Vec<u64>,
    /// While a Resume is being answered: the guilds of the detached state handed in,
    /// subscribed on RESUMED or handed back with the state if the session refuses it.
    pub resuming_guild_ids: Vec<u64>,
    /// While a Resume is being answered: the core the detached state came from, if it
    /// travelled over the mesh.
    pub resuming_from: Option<usize>,
    /// The session's `large_threshold`, for GUILD_CREATEs of guilds it joins later.
    pub large_threshold: u32,
    /// The user and session id presence reports name, from READY or RESUMED on
    /// (`presence.rs`).
    pub presence_of: Option<(u64, crate::gateway::SessionId)>,
}

/// What a batch of outputs asks for after its frames are out.
enum FollowUp {
    Authenticate(Box<AuthenticateRequest>),
    Resume(crate::gateway::SessionId),
    Ready(Box<ReadyInfo>),
    Resumed(Box<ReadyInfo>),
    Returned(Box<crate::gateway::ResumableState>),
    Presence(crate::gateway::PresenceUpdate),
    Members(crate::gateway::RequestGuildMembers),
    Voice(crate::gateway::VoiceStateUpdate),
}

impl FluxApp {
    pub(super) fn open_gateway(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, target: &str) {
        let session = Session::new(Arc::clone(&self.session_config), target, self.now(out));
        let previous = self.conns.insert(
            conn,
            Box::new(GatewayConn {
                session,
                wake_at: None,
                guild_ids: Vec::new(),
                resuming_guild_ids: Vec::new(),
                resuming_from: None,
                large_threshold: 50,
                presence_of: None,
            }),
        );
        assert!(previous.is_none(), "a connection id is opened once");
        Metrics::shift(&self.shared.metrics.gateway_connections_open, 1);
        self.pump(out, conn);
    }

    /// Feed `input` to `conn`'s session, then emit what it produced.
    pub(super) fn drive(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, input: Input<'_>) {
        let now = self.now(out);
        let Some(gateway) = self.conns.get_mut(&conn) else {
            return;
        };
        gateway.session.handle(now, input);
        self.pump(out, conn);
    }

    pub(super) fn pump(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId) {
        let mut follow_ups = Vec::new();
        let Some(gateway) = self.conns.get_mut(&conn) else {
            return;
        };
        let mut wake = None;
        while let Some(output) = gateway.session.poll() {
            match output {
                Output::Send(frame) => send_frame(out, conn, frame),
                Output::Close { code, reason } => out.close(conn, code.code(), &reason),
                Output::WakeAt(at) => wake = Some(at),
                Output::Authenticate(request) => follow_ups.push(FollowUp::Authenticate(request)),
                Output::Resume { session_id } => follow_ups.push(FollowUp::Resume(session_id)),
                Output::Ready(info) => follow_ups.push(FollowUp::Ready(info)),
                Output::Resumed(info) => follow_ups.push(FollowUp::Resumed(info)),
                Output::DetachedReturned(state) => follow_ups.push(FollowUp::Returned(state)),
                // Cleanup happens in `close_gateway`, when the reactor reports the close.
                Output::SessionEnded { .. } => {}
                Output::PresenceUpdate(update) => follow_ups.push(FollowUp::Presence(update)),
                Output::RequestGuildMembers(request) => follow_ups.push(FollowUp::Members(request)),
                Output::VoiceStateUpdate(update) => follow_ups.push(FollowUp::Voice(update)),
                // Soundboard sounds are not served yet.
                _ => {}
            }
        }
        if let Some(at) = wake {
            self.set_timer(out, conn, at);
        }
        for follow_up in follow_ups {
            match follow_up {
                FollowUp::Authenticate(request) => self.authenticate(out, conn, &request),
                FollowUp::Resume(session_id) => self.resume(out, conn, session_id),
                FollowUp::Ready(info) => self.ready(out, conn, &info),
                FollowUp::Resumed(info) => self.resumed(conn, &info),
                FollowUp::Presence(update) => self.presence_updated(out, conn, &update),
                FollowUp::Members(request) => self.answer_member_request(out, conn, &request),
                FollowUp::Voice(update) => self.voice_state_requested(out, conn, update),
                FollowUp::Returned(state) => {
                    let guild_ids = self
                        .conns
                        .get_mut(&conn)
                        .map(|gateway| {
                            gateway.resuming_from = None;
                            std::mem::take(&mut gateway.resuming_guild_ids)
                        })
                        .unwrap_or_default();
                    self.keep_detached(
                        out,
                        Detached {
                            state: *state,
                            guild_ids,
                        },
                    );
                }
            }
        }
    }

    fn set_timer(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, at: Micros) {
        let Some(gateway) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Some(old) = gateway.wake_at.replace(at) {
            self.timers.remove(&(old, conn));
        }
        self.timers.insert((at, conn));
        self.arm(out);
    }

    /// Tick every session whose deadline has come. A deadline set during these ticks
    /// waits for the next turn, so one turn's work is bounded by the sessions due now.
    pub(super) fn fire_timers(&mut self, out: &mut Outbox<FluxMesh>, now: Micros) {
        let due: Vec<(Micros, ConnId)> = self
            .timers
            .iter()
            .take_while(|(at, _)| *at <= now)
            .copied()
            .collect();
        for (at, conn) in due {
            self.timers.remove(&(at, conn));
            if let Some(gateway) = self.conns.get_mut(&conn) {
                debug_assert_eq!(gateway.wake_at, Some(at), "one timer per connection");
                gateway.wake_at = None;
            }
            self.drive(out, conn, Input::Tick);
        }
    }

    fn authenticate(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &AuthenticateRequest,
    ) {
        let user_id = match self.directory.authenticate(&request.token) {
            Ok(entry) => entry.user.id.0,
            Err(_) => return self.drive(out, conn, Input::AuthenticationFailed),
        };
        let home = self.home_core(user_id);
        if home == self.core {
            let admitted = self.admit_identify(user_id, request.shard.id, self.now(out));
            self.answer_identify(out, conn, user_id, admitted);
        } else {
            out.send_mesh(
                home,
                FluxMesh::IdentifyAsk {
                    user_id,
                    shard_id: request.shard.id,
                    reply_core: self.core,
                    conn,
                },
            );
        }
    }

    /// The home core's side of the identify limit.
    pub(super) fn admit_identify(&mut self, user_id: u64, shard_id: u32, now: Micros) -> bool {
        debug_assert_eq!(
            self.home_core(user_id),
            self.core,
            "limits live on the home core"
        );
        self.identify_limiter.prune(now);
        self.identify_limiter
            .try_identify(user_id, shard_id, now)
            .is_ok()
    }

    /// The identify verdict reached this (the session's) core.
    pub(super) fn answer_identify(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        user_id: u64,
        admitted: bool,
    ) {
        if !admitted {
            Metrics::bump(&self.shared.metrics.gateway_identify_refused_total);
            return self.drive(out, conn, Input::IdentifyRateLimited);
        }
        let Some(entry) = self.directory.entry(UserId(user_id)) else {
            return self.drive(out, conn, Input::AuthenticationFailed);
        };
        let user_json =
            serde_json::to_string(&ready_user_json(&entry.user)).expect("a JSON value serialises");
        let (application_id, application_flags) = entry
            .application
            .as_ref()
            .map_or((user_id, 0), |app| (app.id.0, app.flags));
        let identity = Identity {
            user_id,
            user_json,
            application_id,
            application_flags,
            privileged_intents_granted: if entry.privileged_intents_allowed {
                Intents::PRIVILEGED
            } else {
                Intents::empty()
            },
            guild_ids: self.guilds.guilds_of(user_id),
            session_nonce: self.session_nonce(),
        };
        self.drive(out, conn, Input::Identified(Box::new(identity)));
    }

    /// READY is out: subscribe the session and send one GUILD_CREATE per guild.
    fn ready(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, info: &ReadyInfo) {
        Metrics::bump(&self.shared.metrics.gateway_identify_total);
        eprintln!(
            "flux: core {}: IDENTIFY user {} -> session {} (shard [{}, {}], {} guild(s))",
            self.core,
            info.user_id,
            info.session_id,
            info.shard.id,
            info.shard.count,
            info.guild_ids.len()
        );
        // Guilds on this session's shard, plus the user's DMs (shard 0 carries them; the
        // session filters by scope).
        let mut subscriptions = info.guild_ids.clone();
        subscriptions.extend(self.dms.channels_of(info.user_id).iter().map(|c| c.id.0));
        self.subscribe(conn, &subscriptions);
        if let Some(gateway) = self.conns.get_mut(&conn) {
            gateway.large_threshold = u32::from(info.large_threshold);
            gateway.presence_of = Some((info.user_id, info.session_id));
        }
        let presence =
            SessionPresence::from_update(info.presence.as_ref(), super::answers::unix_ms());
        self.report_presence(out, info.user_id, info.session_id, Some(presence));
        for &guild_id in &info.guild_ids {
            let Some(guild) = self.guilds.guild(guild_id).cloned() else {
                continue;
            };
            let cached = self.guild_create_cache.get_or_encode(
                &guild,
                &self.directory,
                UserId(info.user_id),
                u32::from(info.large_threshold),
            );
            let event = self.guild_create_dispatch(&guild, cached, info.intents, Intents::empty());
            self.drive(out, conn, Input::Dispatch(&event));
        }
    }

    fn resumed(&mut self, conn: ConnId, info: &ReadyInfo) {
        Metrics::bump(&self.shared.metrics.gateway_resume_total);
        let Some(gateway) = self.conns.get_mut(&conn) else {
            return;
        };
        let guild_ids = std::mem::take(&mut gateway.resuming_guild_ids);
        gateway.presence_of = Some((info.user_id, info.session_id));
        let moved = match gateway.resuming_from.take() {
            Some(core) => {
                Metrics::bump(&self.shared.metrics.gateway_resume_remote_total);
                format!(" (moved from core {core})")
            }
            None => String::new(),
        };
        eprintln!(
            "flux: core {}: RESUME session {} of user {}{moved}",
            self.core, info.session_id, info.user_id
        );
        self.subscribe(conn, &guild_ids);
    }

    /// This core's live sessions whose user `wanted` accepts.
    pub(super) fn live_conns_where(&self, wanted: impl Fn(u64) -> bool) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, gateway)| gateway.session.user_id().is_some_and(&wanted))
            .map(|(conn, _)| *conn)
            .collect()
    }

    /// Adds `guild_id` (a guild joined, or a new DM channel) to `conn`'s subscriptions.
    pub(super) fn add_subscription(&mut self, conn: ConnId, guild_id: u64) {
        let Some(gateway) = self.conns.get_mut(&conn) else {
            return;
        };
        if !gateway.guild_ids.contains(&guild_id) {
            gateway.guild_ids.push(guild_id);
        }
        let intents = subscribed_intents(&gateway.session);
        self.subscribers.insert(guild_id, conn, intents);
    }

    fn subscribe(&mut self, conn: ConnId, guild_ids: &[u64]) {
        let Some(gateway) = self.conns.get_mut(&conn) else {
            return;
        };
        gateway.guild_ids = guild_ids.to_vec();
        let intents = subscribed_intents(&gateway.session);
        for &guild_id in guild_ids {
            self.subscribers.insert(guild_id, conn, intents);
        }
    }

    /// Delivers `event` to this core's live and detached sessions in `guild_id`;
    /// returns how many sessions took it.
    pub(super) fn fan_out(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild_id: u64,
        event: &Arc<Dispatch>,
    ) -> usize {
        self.deliver(out, Some(guild_id), event, |_| true)
    }

    /// Hands `event` to this core's sessions, live and detached, whose user `includes`
    /// accepts: those subscribed to `guild_id`, or every session when it is `None` (the
    /// session itself then filters by intents and shard). The one loop over both kinds of
    /// session for every event but the message fan-out (`message_fanout.rs`), whose
    /// batching it does not need. Returns how many sessions took it.
    pub(super) fn deliver(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild_id: Option<u64>,
        event: &Arc<Dispatch>,
        includes: impl Fn(u64) -> bool,
    ) -> usize {
        let user_of = |conn: &ConnId| self.conns.get(conn).and_then(|g| g.session.user_id());
        let live: Vec<ConnId> = match guild_id {
            Some(guild_id) => self
                .subscribers
                .conns_holding(guild_id, event.intents())
                .filter(|conn| user_of(conn).is_some_and(&includes))
                .collect(),
            None => self.live_conns_where(&includes),
        };
        for &conn in &live {
            self.drive(out, conn, Input::Dispatch(event));
        }
        let mut detached = 0;
        for parked in self.detached.values_mut() {
            let subscribed = guild_id.is_none_or(|id| parked.guild_ids.contains(&id));
            if subscribed && includes(parked.state.user_id()) {
                parked.state.handle_dispatch(event);
                detached += 1;
            }
        }
        live.len() + detached
    }

    /// Subscribes this core's sessions, live and detached, of the users `includes`
    /// accepts to `guild_id` (a guild they joined, a new DM of theirs). Returns the live
    /// connections and the detached sessions that were not subscribed before.
    pub(super) fn subscribe_users(
        &mut self,
        guild_id: u64,
        includes: impl Fn(u64) -> bool,
    ) -> (Vec<ConnId>, Vec<crate::gateway::SessionId>) {
        let live: Vec<ConnId> = self
            .live_conns_where(&includes)
            .into_iter()
            .filter(|conn| {
                self.conns
                    .get(conn)
                    .is_some_and(|gateway| !gateway.guild_ids.contains(&guild_id))
            })
            .collect();
        for &conn in &live {
            self.add_subscription(conn, guild_id);
        }
        let mut detached = Vec::new();
        for (session_id, parked) in &mut self.detached {
            if includes(parked.state.user_id()) && !parked.guild_ids.contains(&guild_id) {
                parked.guild_ids.push(guild_id);
                detached.push(*session_id);
            }
        }
        (live, detached)
    }

    /// Unsubscribes this core's sessions, live and detached, of the users `includes`
    /// accepts from `guild_id` (a guild they left, or one deleted).
    pub(super) fn unsubscribe_users(&mut self, guild_id: u64, includes: impl Fn(u64) -> bool) {
        let live: Vec<ConnId> = self
            .subscribers
            .conns(guild_id)
            .filter(|conn| {
                let user = self.conns.get(conn).and_then(|g| g.session.user_id());
                user.is_some_and(&includes)
            })
            .collect();
        for conn in live {
            if let Some(gateway) = self.conns.get_mut(&conn) {
                gateway.guild_ids.retain(|id| *id != guild_id);
            }
            self.subscribers.remove(guild_id, conn);
        }
        for parked in self.detached.values_mut() {
            if includes(parked.state.user_id()) {
                parked.guild_ids.retain(|id| *id != guild_id);
            }
        }
    }

    /// The reactor says the connection is gone: end the session, keep what resumes.
    pub(super) fn close_gateway(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        cause: &CloseCause,
    ) {
        let Some(mut gateway) = self.conns.remove(&conn) else {
            return;
        };
        Metrics::shift(&self.shared.metrics.gateway_connections_open, -1);
        if let Some(at) = gateway.wake_at.take() {
            self.timers.remove(&(at, conn));
        }
        for &guild_id in &gateway.guild_ids {
            self.subscribers.remove(guild_id, conn);
        }
        let now = self.now(out);
        let input = match cause {
            CloseCause::PeerClosed { code, .. } => Input::SocketClosed { code: *code },
            CloseCause::ProtocolError {
                error:
                    wsframe::Error::MessageTooBig { len, .. } | wsframe::Error::FrameTooBig { len, .. },
                ..
            } => Input::PayloadTooLarge {
                len: usize::try_from(*len).unwrap_or(usize::MAX),
            },
            _ => Input::SocketClosed { code: None },
        };
        gateway.session.handle(now, input);
        let guild_ids = std::mem::take(&mut gateway.guild_ids);
        while let Some(output) = gateway.session.poll() {
            if let Output::DetachedReturned(state) = output {
                // A resume answer raced with the close: the session goes back home.
                let guild_ids = std::mem::take(&mut gateway.resuming_guild_ids);
                self.keep_detached(
                    out,
                    Detached {
                        state: *state,
                        guild_ids,
                    },
                );
            }
        }
        match gateway.session.into_resumable(now) {
            Some(state) => self.keep_detached(out, Detached { state, guild_ids }),
            None => {
                if let Some((user_id, session_id)) = gateway.presence_of {
                    self.session_gone(out, user_id, session_id);
                }
            }
        }
        debug_assert!(
            !self.timers.iter().any(|(_, c)| *c == conn),
            "no timer outlives its connection"
        );
    }

    /// A session is gone for good (closed with a code that ends it, detached and expired,
    /// or dropped by a failed Resume): its user may go offline, and it leaves every voice
    /// channel it held.
    pub(super) fn session_gone(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        user_id: u64,
        session_id: crate::gateway::SessionId,
    ) {
        self.report_presence(out, user_id, session_id, None);
        self.leave_voice_of_session(out, user_id, session_id);
    }

    /// Abort every gateway connection of this core (test hook); returns how many.
    pub(super) fn abort_all_gateway(&mut self, out: &mut Outbox<FluxMesh>) -> usize {
        let conns: HashSet<ConnId> = self.conns.keys().copied().collect();
        for &conn in &conns {
            out.abort(conn);
        }
        conns.len()
    }
}

/// The intents a connection is subscribed to its guilds with: its session's once live;
/// every intent before that (sessions subscribe at READY, so never today), so that no
/// event is ever skipped for it.
fn subscribed_intents(session: &crate::gateway::Session) -> Intents {
    session.intents().unwrap_or(Intents::KNOWN)
}

/// Queues a session's frame on its connection (BINARY when compressed, else TEXT).
pub(super) fn send_frame(
    out: &mut Outbox<FluxMesh>,
    conn: ConnId,
    frame: crate::gateway::OutFrame,
) {
    let kind = if frame.binary {
        FrameKind::Binary
    } else {
        FrameKind::Text
    };
    out.send(conn, kind, frame.bytes, Lane::Bulk);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// Each open session holds one boxed `GatewayConn` (its `Session` inline) for as long
    /// as it is connected, idle or not, and a queued `Output` per slot of the session's
    /// output queue while it drains. A field added here costs every idle session its
    /// size; raise a bound only on purpose, and say why.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_session_stays_small() {
        let conn = size_of::<GatewayConn>();
        assert!(conn <= 400, "GatewayConn is {conn} bytes");
        let session = size_of::<Session>();
        assert!(session <= 240, "Session is {session} bytes");
        let output = size_of::<crate::gateway::Output>();
        assert!(output <= 128, "Output is {output} bytes");
        let resumable = size_of::<crate::gateway::ResumableState>();
        assert!(resumable <= 160, "ResumableState is {resumable} bytes");
    }
}
