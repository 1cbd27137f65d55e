//! What Flux cores say to each other over the mesh, and who answers what.
//!
//! | message          | from → to                          | answer                      |
//! |------------------|------------------------------------|-----------------------------|
//! | `IdentifyAsk`    | session's core → user's home core  | `IdentifyAnswer`            |
//! | `ResumeAsk`      | resuming core → session's home core, which may forward it once to where the session waits | `ResumeFound` / `ResumeNotFound` |
//! | `Moved`          | core where a session detached → its home core | none: home records it |
//! | `RateCheck`      | receiving core → the caller's home core (`metering.rs`) | a 429 `Answer`, or the call goes on: a `Call`, or the answer itself for the account-free REST routes |
//! | `Call`           | receiving or home core → the core that runs it: a channel's or guild's owner, a DM's pair core, core 0 for usernames, an account's home core, a login name's home core (and back: `LoginAdmitted`) | `Answer` (after durability for a change); none for `ReleaseName` (home core → core 0: a failed account write's reserved name) and `LoginOutcome` (receiving core → the name's home core) |
//! | `Answer`         | the core that decided → the receiving core | none: `Outbox::respond` |
//! | `MessageEvent`   | owner core → every core (itself too), after durability | none |
//! | `GuildSync`      | owner core → every core (itself too), after durability | `Synced` |
//! | `DmSync`         | pair core → every core (itself too), after durability | `Synced` |
//! | `AccountUpdate`  | home core → every core (itself too), after durability | `Synced` |
//! | `Synced`         | every core → the core holding the answer | the held `Answer`s once all cores acked (`held_answers.rs`) |
//! | `PresenceReport` | a session's core → its user's home core | `PresenceSync` if the aggregate changed |
//! | `PresenceSync`   | a user's home core → every core (itself too) | none |
//! | `VoiceAsk`       | a session's core → the guild's owner core (`voice_states.rs`) | `VoiceSync` to every core, then `VoiceServer` for a join |
//! | `VoiceSync`      | a guild's owner → every core (itself too) | none |
//! | `VoiceReportAsk` | the core answering `GET /_flux/metrics` → every other core (`voice_metrics.rs`) | `VoiceReportAnswer` |
//! | `VoiceReportAnswer` | every other core → the asking core | the metrics answer, with the last |
//! | `VoiceServer`    | a guild's owner → the asking session's core | none: VOICE_SERVER_UPDATE |
//! | `DropGateway`    | test hook's core → every other core | `HookDone`                  |
//! | `Dispatch`       | test hook's core → every other core | `HookDone`                  |
//! | `HookDone`       | every other core → the hook's core | the hook's HTTP answer once all reported |
//! | `Stall`          | test hook's core → the core named in the request | none: it sleeps |
//!
//! The user's home core is `(user_id >> 22) % cores`: it alone owns that user's
//! `IdentifyLimiter` entry, so the limit holds across cores without a lock.
//!
//! A detached session waits on the core where its connection ended, because that core
//! receives every event anyway; its home core (named in the session id) keeps a
//! forwarding entry when that is elsewhere (`Moved`), so a Resume needs at most two
//! hops to find it (`resume.rs`). A `ResumeFound` that arrives for a connection that
//! closed meanwhile is kept where it arrived, so a session is never lost in transit.
//!
//! Every message is `Send` (checked below at compile time): a detached session's state
//! is plain data (its replay ring holds `Arc<Dispatch>`); the compressor state stays with
//! the connection's `Session` and never crosses cores.

use std::sync::Arc;

use crate::gateway::{Dispatch, ResumableState, SessionId};
use crate::http::HeaderName;
use crate::reactor::ConnId;

/// A message between two Flux cores.
#[derive(Debug)]
pub enum FluxMesh {
    /// May `user_id` identify on gateway shard `shard_id` now? Asked of the home core.
    IdentifyAsk {
        user_id: u64,
        shard_id: u32,
        reply_core: usize,
        conn: ConnId,
    },
    /// The home core's verdict for `conn` (on the asking core).
    IdentifyAnswer {
        conn: ConnId,
        user_id: u64,
        admitted: bool,
    },
    /// Move detached session `session_id` to `reply_core` for `conn` (asked of its home
    /// core, which answers or forwards the question once).
    ResumeAsk {
        session_id: SessionId,
        reply_core: usize,
        conn: ConnId,
    },
    /// The detached session, moved out of the owner's map.
    ResumeFound {
        conn: ConnId,
        detached: Box<Detached>,
    },
    /// No such detached session (never existed, expired or already taken).
    ResumeNotFound { conn: ConnId },
    /// To a session's home core: it detached on `core` and waits there until
    /// `expires_at`.
    Moved {
        session_id: SessionId,
        core: usize,
        expires_at: crate::gateway::Micros,
    },
    /// Test hook: drop every gateway connection, then answer `HookDone`.
    DropGateway { hook: HookId },
    /// Test hook: sleep this core's thread for `ms` milliseconds, as a long loop turn would.
    Stall { ms: u64 },
    /// Test hook: deliver this dispatch to the guild's sessions, then answer `HookDone`.
    Dispatch {
        event: Arc<Dispatch>,
        guild_id: u64,
        hook: HookId,
    },
    /// A request for its user's home core to count against the user's rate limits
    /// before it goes on (`metering.rs`).
    RateCheck {
        call: Box<Call>,
        route: crate::rest::ratelimit::RouteClass,
        now_ms: u64,
    },
    /// A request for the core that runs it ([`Call`]).
    Call(Box<Call>),
    /// The HTTP answer for `conn` on the receiving core.
    Answer {
        conn: ConnId,
        response: Box<crate::http::Response>,
    },
    /// A durable message change (or typing), to deliver to this core's sessions.
    MessageEvent(Arc<crate::world::message_ops::MessageEvent>),
    /// A durable guild change, from its owner to every core (`guild_fanout.rs`); acknowledge
    /// to `ack_core` with `Synced`.
    GuildSync {
        sync: Arc<super::guild_fanout::GuildSync>,
        ack_core: usize,
        ack: u64,
    },
    /// A new DM channel, from its pair core to every core (itself too), after
    /// durability; acknowledge to `ack_core` with `Synced`.
    DmSync {
        channel: Arc<crate::world::dm::DmChannel>,
        ack_core: usize,
        ack: u64,
    },
    /// A durable account change for every core's directory; acknowledge to `ack_core`
    /// with `Synced`.
    AccountUpdate {
        sync: Arc<super::accounts::AccountSync>,
        ack_core: usize,
        ack: u64,
    },
    /// A core took `GuildSync`, `DmSync` or `AccountUpdate` number `ack`
    /// (`held_answers.rs`).
    Synced { ack: u64 },
    /// To a user's home core: one session's presence (`None`: the session is gone for
    /// good) (`presence.rs`).
    PresenceReport {
        user_id: u64,
        session_id: SessionId,
        presence: Option<crate::world::presence::SessionPresence>,
    },
    /// From a user's home core to every core: the user's new aggregate presence.
    PresenceSync {
        user_id: u64,
        presence: Arc<crate::world::presence::Presence>,
    },
    /// A core finished its part of a hook; `count` connections or sessions were affected.
    HookDone { hook: HookId, count: usize },
    /// To a guild's owner core: a session's op 4 (`voice_states.rs`).
    VoiceAsk(Box<super::voice_states::VoiceAsk>),
    /// From a guild's owner to every core (itself too): a voice state changed.
    VoiceSync {
        state: Arc<crate::world::voice_state::VoiceState>,
    },
    /// A metrics request on `reply_core` asks for this core's voice report.
    VoiceReportAsk { reply_core: usize, number: u64 },
    /// This core's voice report for request `number` (`voice_metrics.rs`).
    VoiceReportAnswer {
        number: u64,
        report: Box<super::voice_metrics::VoiceReport>,
    },
    /// From a guild's owner to the asking session's core: its VOICE_SERVER_UPDATE.
    VoiceServer {
        conn: ConnId,
        guild_id: u64,
        token: String,
        endpoint: Option<String>,
    },
}

impl FluxMesh {
    /// Whether handling this message may dispatch to this core's sessions, so that a
    /// message-event run held back (`release_fanout`) must go out first to keep the order
    /// of what sessions see. Requests, answers and acknowledgements do not: a change they
    /// cause reaches sessions later, after durability, as a `MessageEvent` or a `*Sync`.
    pub(super) fn may_dispatch(&self) -> bool {
        match self {
            FluxMesh::IdentifyAsk { .. }
            | FluxMesh::ResumeAsk { .. }
            | FluxMesh::Moved { .. }
            | FluxMesh::RateCheck { .. }
            | FluxMesh::Call(_)
            | FluxMesh::Answer { .. }
            | FluxMesh::Synced { .. }
            | FluxMesh::PresenceReport { .. }
            | FluxMesh::HookDone { .. }
            | FluxMesh::Stall { .. }
            | FluxMesh::VoiceAsk(_)
            | FluxMesh::VoiceReportAsk { .. }
            | FluxMesh::VoiceReportAnswer { .. } => false,
            FluxMesh::IdentifyAnswer { .. }
            | FluxMesh::ResumeFound { .. }
            | FluxMesh::ResumeNotFound { .. }
            | FluxMesh::DropGateway { .. }
            | FluxMesh::Dispatch { .. }
            | FluxMesh::MessageEvent(_)
            | FluxMesh::GuildSync { .. }
            | FluxMesh::DmSync { .. }
            | FluxMesh::AccountUpdate { .. }
            | FluxMesh::PresenceSync { .. }
            | FluxMesh::VoiceSync { .. }
            | FluxMesh::VoiceServer { .. } => true,
        }
    }
}

/// Who made a request and where its answer goes: what every [`Call`] carries.
#[derive(Debug)]
pub struct Caller {
    /// The caller's user id (0 for a registration: the account does not exist yet).
    pub user_id: u64,
    /// The core that received the request.
    pub reply_core: usize,
    /// The request's connection on that core.
    pub conn: ConnId,
    /// The answer's headers: `Content-Type` and the rate-limit headers (the metering hop
    /// sets these). Empty for an account-free REST call, whose answer brings its own.
    pub headers: Vec<(HeaderName, String)>,
}

impl Caller {
    /// Where the answer goes: the receiving core and its connection.
    pub fn reply(&self) -> (usize, ConnId) {
        (self.reply_core, self.conn)
    }
}

/// A request on its way: from the receiving core through its caller's home core
/// (`RateCheck`, for the metered ones) to the core that runs it. Each carries its
/// caller, where its answer goes, and its typed operation.
#[derive(Debug)]
pub enum Call {
    /// A message route, for the channel's owner (`messages.rs`).
    Message(super::messages::MessageCall),
    /// A guild route, for the guild's owner (`guild_calls.rs`).
    Guild(super::guild_calls::GuildCall),
    /// `POST /users/@me/channels`, for the DM pair's core (`dms.rs`).
    Dm(super::dms::DmCall),
    /// A registration, for core 0, which decides whether the name is free
    /// (`accounts.rs`).
    Register(super::accounts::RegisterCall),
    /// A profile edit with a new username, for core 0 to reserve first.
    Rename(super::accounts::AccountWrite),
    /// An account change, for the account's home core.
    Account(super::accounts::AccountWrite),
    /// For core 0: the write `username` was reserved for failed; free it again.
    ReleaseName { username: String, user_id: u64 },
    /// `GET /users/@me/guilds`, answered by whichever core admits it (every core has
    /// every replica).
    OwnGuilds(Caller),
    /// An account-free REST route, answered on the caller's home core
    /// (`rest_limits.rs`).
    Rest(super::rest_limits::RestCall),
    /// A login, for the name's home core, which counts the name's attempts
    /// (`logins.rs`).
    LoginCheck(super::logins::LoginCall),
    /// A login the name's home core let try, back to the receiving core to hash.
    LoginAdmitted(super::logins::LoginCall),
    /// For the name's home core: how a login it let try ended (no answer).
    LoginOutcome {
        login: String,
        outcome: super::logins::LoginOutcome,
    },
}

impl Call {
    /// Who made it and where its answer goes (`None`: a call without an answer).
    pub(super) fn caller(&self) -> Option<&Caller> {
        match self {
            Call::Message(call) => Some(&call.caller),
            Call::Guild(call) => Some(&call.caller),
            Call::Dm(call) => Some(&call.caller),
            Call::OwnGuilds(caller) => Some(caller),
            Call::Rest(call) => Some(&call.caller),
            Call::Register(call) => Some(&call.caller),
            Call::Rename(write) | Call::Account(write) => Some(&write.caller),
            Call::LoginCheck(call) | Call::LoginAdmitted(call) => Some(&call.caller),
            Call::ReleaseName { .. } | Call::LoginOutcome { .. } => None,
        }
    }

    /// The caller, to change the answer's headers (the metering hop).
    pub(super) fn caller_mut(&mut self) -> Option<&mut Caller> {
        match self {
            Call::Message(call) => Some(&mut call.caller),
            Call::Guild(call) => Some(&mut call.caller),
            Call::Dm(call) => Some(&mut call.caller),
            Call::OwnGuilds(caller) => Some(caller),
            Call::Rest(call) => Some(&mut call.caller),
            Call::Register(call) => Some(&mut call.caller),
            Call::Rename(write) | Call::Account(write) => Some(&mut write.caller),
            Call::LoginCheck(call) | Call::LoginAdmitted(call) => Some(&mut call.caller),
            Call::ReleaseName { .. } | Call::LoginOutcome { .. } => None,
        }
    }
}

/// A detached session and the guilds it is subscribed to.
#[derive(Debug)]
pub struct Detached {
    /// The session's resumable state (replay ring included).
    pub state: ResumableState,
    /// The guilds its dispatches come from (READY's guilds on its gateway shard).
    pub guild_ids: Vec<u64>,
}

/// Names one pending test-hook request: the core that waits and its local number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookId {
    pub core: usize,
    pub number: u64,
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<FluxMesh>();
};

impl super::FluxApp {
    /// Another core (or this one) sent `message`.
    /// Consecutive message events about one channel go to `deliver_events` together;
    /// everything else, in order, to `route_mesh`, after the run gathered so far if it may
    /// dispatch. The run may outlive the batch (`fanout_hold.rs`).
    pub(super) fn route_mesh_batch(
        &mut self,
        out: &mut crate::reactor::Outbox<FluxMesh>,
        messages: &mut Vec<(usize, FluxMesh)>,
    ) {
        for (from, message) in messages.drain(..) {
            match message {
                FluxMesh::MessageEvent(event) => {
                    let channel_id = event.channel_id().0;
                    if !self.fanout_hold.joins(channel_id) {
                        self.flush_fanout(out);
                    }
                    self.fanout_hold.push(event, channel_id, out.now());
                }
                other => {
                    if other.may_dispatch() {
                        self.flush_fanout(out);
                    }
                    self.route_mesh(out, from, other);
                }
            }
        }
        self.release_fanout(out);
    }

    /// Fans the gathered run of message events out now (`deliver_events`), if there is one.
    pub(super) fn flush_fanout(&mut self, out: &mut crate::reactor::Outbox<FluxMesh>) {
        if !self.fanout_hold.holds() {
            return;
        }
        let run = self.fanout_hold.take();
        self.deliver_events(out, &run);
        self.fanout_hold.recycle(run);
    }

    /// Fans the gathered run out unless it may wait (`FanoutHold::may_wait`, while the core
    /// is behind its sockets). Returns whether a run waits.
    pub(super) fn release_fanout(&mut self, out: &mut crate::reactor::Outbox<FluxMesh>) -> bool {
        if self.fanout_hold.holds() && self.fanout_hold.may_wait(out.now(), out.behind_sockets()) {
            return true;
        }
        self.flush_fanout(out);
        false
    }

    /// Runs `call` on this core, the one it was sent to (`in_http`: it came in here, and
    /// its answer, if decided now, is returned).
    pub(super) fn run_call(
        &mut self,
        out: &mut crate::reactor::Outbox<FluxMesh>,
        call: Call,
        in_http: bool,
    ) -> crate::reactor::HttpAnswer {
        match call {
            Call::Message(call) => self.message_call_to_owner(out, call, in_http),
            Call::Guild(call) => self.guild_call_to_owner(out, call, in_http),
            Call::Dm(call) => self.dm_call_to_pair_core(out, call, in_http),
            Call::Register(call) => self.handle_register(out, call, in_http),
            Call::Rename(write) if self.core != super::accounts::REGISTRY_CORE => {
                // Metered on the caller's home core; the name is core 0's to give.
                let call = Box::new(Call::Rename(write));
                out.send_mesh(super::accounts::REGISTRY_CORE, FluxMesh::Call(call));
                crate::reactor::HttpAnswer::Later
            }
            Call::Rename(write) => self.handle_rename(out, write, in_http),
            Call::Account(write) => self.send_account_write(out, write, in_http),
            Call::ReleaseName { username, user_id } => {
                self.release_name(&username, user_id);
                crate::reactor::HttpAnswer::Later
            }
            Call::OwnGuilds(caller) => {
                let body = self.current_user_guilds(caller.user_id);
                let response = super::answers::json_response(&caller.headers, 200, body);
                self.answer(out, caller.reply(), response, in_http)
            }
            Call::Rest(call) => {
                let reply = call.caller.reply();
                let response = self.answer_rest_call(out, &call);
                self.answer(out, reply, response, in_http)
            }
            Call::LoginCheck(call) => self.check_login_name(out, call, in_http),
            Call::LoginAdmitted(call) => self.login_admitted(out, call, in_http),
            Call::LoginOutcome { login, outcome } => {
                self.login_outcome(&login, outcome);
                crate::reactor::HttpAnswer::Later
            }
        }
    }

    pub(super) fn route_mesh(
        &mut self,
        out: &mut crate::reactor::Outbox<FluxMesh>,
        from_core: usize,
        message: FluxMesh,
    ) {
        match message {
            FluxMesh::IdentifyAsk {
                user_id,
                shard_id,
                reply_core,
                conn,
            } => {
                let admitted = self.admit_identify(user_id, shard_id, self.now(out));
                out.send_mesh(
                    reply_core,
                    FluxMesh::IdentifyAnswer {
                        conn,
                        user_id,
                        admitted,
                    },
                );
            }
            FluxMesh::IdentifyAnswer {
                conn,
                user_id,
                admitted,
            } => self.answer_identify(out, conn, user_id, admitted),
            FluxMesh::ResumeAsk {
                session_id,
                reply_core,
                conn,
            } => self.handle_resume_ask(out, session_id, reply_core, conn),
            FluxMesh::ResumeFound { conn, detached } => {
                self.resume_found(out, conn, *detached, Some(from_core))
            }
            FluxMesh::ResumeNotFound { conn } => self.resume_not_found(out, conn),
            FluxMesh::Moved {
                session_id,
                core,
                expires_at,
            } => self.handle_moved(out, session_id, core, expires_at),
            FluxMesh::DropGateway { hook } => {
                let count = self.abort_all_gateway(out);
                out.send_mesh(hook.core, FluxMesh::HookDone { hook, count });
            }
            FluxMesh::Stall { ms } => std::thread::sleep(std::time::Duration::from_millis(ms)),
            FluxMesh::Dispatch {
                event,
                guild_id,
                hook,
            } => {
                let count = self.fan_out(out, guild_id, &event);
                out.send_mesh(hook.core, FluxMesh::HookDone { hook, count });
            }
            FluxMesh::RateCheck {
                call,
                route,
                now_ms,
            } => {
                let answered = self.admit_metered(out, *call, route, now_ms, false);
                debug_assert!(matches!(answered, crate::reactor::HttpAnswer::Later));
            }
            FluxMesh::Call(call) => {
                let answered = self.run_call(out, *call, false);
                debug_assert!(matches!(answered, crate::reactor::HttpAnswer::Later));
            }
            FluxMesh::Answer { conn, response } => out.respond(conn, *response),
            FluxMesh::MessageEvent(event) => self.deliver_events(out, &[event]),
            FluxMesh::GuildSync {
                sync,
                ack_core,
                ack,
            } => {
                self.apply_guild_sync(out, &sync);
                out.send_mesh(ack_core, FluxMesh::Synced { ack });
            }
            FluxMesh::DmSync {
                channel,
                ack_core,
                ack,
            } => {
                self.apply_dm_sync(&channel);
                out.send_mesh(ack_core, FluxMesh::Synced { ack });
            }
            FluxMesh::AccountUpdate {
                sync,
                ack_core,
                ack,
            } => {
                self.apply_account_update(out, &sync);
                out.send_mesh(ack_core, FluxMesh::Synced { ack });
            }
            FluxMesh::Synced { ack } => self.sync_acked(out, ack),
            FluxMesh::PresenceReport {
                user_id,
                session_id,
                presence,
            } => self.handle_presence_report(out, user_id, session_id, presence),
            FluxMesh::PresenceSync { user_id, presence } => {
                self.apply_presence_sync(out, user_id, &presence)
            }
            FluxMesh::VoiceAsk(ask) => self.handle_voice_ask(out, *ask),
            FluxMesh::VoiceReportAsk { reply_core, number } => {
                self.send_voice_report(out, reply_core, number)
            }
            FluxMesh::VoiceReportAnswer { number, report } => {
                self.voice_report_arrived(out, number, *report)
            }
            FluxMesh::VoiceSync { state } => self.apply_voice_sync(out, &state),
            FluxMesh::VoiceServer {
                conn,
                guild_id,
                token,
                endpoint,
            } => self.voice_server(out, conn, guild_id, &token, endpoint.as_deref()),
            FluxMesh::HookDone { hook, count } => {
                debug_assert_ne!(from_core, self.core, "a core answers its own hooks inline");
                self.hook_done(out, hook, count);
            }
        }
    }
}
