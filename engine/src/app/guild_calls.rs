//! The path of a guild-changing REST call, from the receiving core to the guild's
//! owner core and its commit (state: `guild_state.rs`; what every core does with a
//! durable change: `guild_fanout.rs`).
//!
//! A call's path (`GuildCall`):
//!
//! ```text
//! receiving core                         owner core                          every core
//! route_rest: rest::families parses, authenticates;
//! receive_guild_request: body and query → typed request
//!   (rest::guild_bodies, rest::member_bodies); Target → guild id (replica indexes)
//!   ── RateCheck (home core) ── Call::Guild (mesh or inline) ──►
//!                                        run_guild_call: the pure op on the working
//!                                        Guild (world::guild_ops), then, if it changed,
//!                                        persist::put_guild into a batch
//!                                        ─ CommitQueue::append ─► durable (poll_store)
//!                                        └─ guild_durable: GuildSync (new Arc<Guild>
//!                                           + events) ──────────────────────────►
//!                                                                   apply_guild_sync
//!                                                                   (guild_fanout.rs)
//!                                        ◄── Synced (every core) ──┘
//!   ◄── Answer (the HTTP answer) ─┘ after the last Synced
//! ```
//!
//! Ordering: the owner holds the HTTP answer until every core, itself included, has
//! applied the `GuildSync` (`held_answers.rs`), so a client reads its own write on any
//! connection, whichever core serves it (discord.js's `createInvite` then `fetchInvite`
//! on another connection got 10006 otherwise).
//!
//! Commit protocol (`writes.rs`): the owner keeps each owned guild twice. `owned` is
//! the *working* guild the next operation runs on: it includes the changes in flight, so
//! two calls in one group commit see each other. `durable` is the last durable snapshot.
//! A change is answered and sent to the cores only once durable; an append the store
//! refuses puts the working guild back at once, and a failed commit puts it back to the
//! durable snapshot. A call that changes nothing while changes of its guild are in flight
//! (a read, a refusal) is answered only when they settle, so no answer shows a change
//! before it is durable.

use std::sync::Arc;

use super::answers::{error_response, json_response, unix_ms};
use super::commit::{Answer, STORE_POLL_FALLBACK};
use super::guild_fanout::GuildSync;
use super::mesh::{Call, Caller};
use super::writes::Change;
use super::{FluxApp, FluxMesh};
use crate::http::HeaderName;
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::families::Family;
use crate::rest::guild_bodies::guild_request;
use crate::rest::guild_routes::{status_of, GuildRoute};
use crate::rest::member_bodies::member_request;
use crate::rest::member_routes::{ban_body_with_audit_reason, MemberRoute};
use crate::rest::ratelimit::classify;
use crate::rest::Method;
use crate::world::guild_ops::{route_entry, GuildRequest, OpContext, Outcome, Target};
use crate::world::Refusal;
use crate::world::{owner_core, Guild, GuildId, UserId};

/// Most guilds one user may be in (Discord: 100 for a user; then 30001).
const GUILDS_PER_USER_MAX: usize = 100;

/// What an operation did to the working guild.
enum GuildDecision {
    /// Nothing: answer (a read, or a change that changes nothing).
    Unchanged(Outcome),
    /// A change, and the guild's new snapshot (`None`: deleted).
    Changed(Outcome, Option<Arc<Guild>>),
}

/// The owner's operation on an existing guild (`world::guild_ops`).
pub type ApplyFn = Box<dyn FnOnce(&mut Guild, &mut OpContext) -> Result<Outcome, Refusal> + Send>;
/// The owner's operation creating a guild with the id the receiving core chose.
pub type CreateFn =
    Box<dyn FnOnce(GuildId, &mut OpContext) -> Result<(Guild, Outcome), Refusal> + Send>;

/// The owner's half of a call, built by the receiving core from the parsed route: the
/// route and its typed request (never the request's bytes) are moved into the closure,
/// so this file needs to know no route type.
pub enum GuildOp {
    /// An operation on an existing guild.
    Apply {
        /// The pure operation (`world::guild_ops`). A changed guild left without members
        /// was deleted (`route_entry::guild_deleted`).
        op: ApplyFn,
        /// A message (channel, message id) that must exist in the owner's store first
        /// (a thread started from a message); else 10008 Unknown Message.
        needs_message: Option<(u64, u64)>,
    },
    /// `POST /guilds`: the new guild's id was chosen by the receiving core.
    Create(CreateFn),
}

impl std::fmt::Debug for GuildOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuildOp::Apply { needs_message, .. } => {
                write!(f, "GuildOp::Apply(needs_message: {needs_message:?})")
            }
            GuildOp::Create(_) => f.write_str("GuildOp::Create"),
        }
    }
}

/// A guild route on its way to the guild's owner core.
#[derive(Debug)]
pub struct GuildCall {
    pub(super) caller: Caller,
    guild_id: u64,
    op: GuildOp,
}

/// What `receive_guild_request` makes of a route: the guild the call acts on (or a new
/// one) and the owner's operation.
pub(super) enum Parsed {
    /// A call on the guild `Target` names.
    Existing(Target, GuildOp),
    /// A new guild (`POST /guilds`).
    Create(GuildOp),
    /// `GET /users/@me/guilds`, answered from this core's replicas.
    OwnGuilds,
}

/// A member, role, ban or invite route (`rest::member_routes`) as a call for the owner,
/// its body and query already typed (`rest::member_bodies`): the owner gets no bytes.
fn member_call(route: MemberRoute, query: &str, body: &[u8]) -> Parsed {
    let request = member_request(&route, query, body);
    let target = route.target();
    let op: ApplyFn = Box::new(move |guild, cx| {
        crate::world::guild_ops::apply_member_route(guild, &route, &request, cx)
    });
    Parsed::Existing(
        target,
        GuildOp::Apply {
            op,
            needs_message: None,
        },
    )
}

/// A guild, channel or thread route (`rest::guild_routes`) as a call for the owner, its
/// body and query already typed (`rest::guild_bodies`): the owner gets no bytes.
fn guild_call(route: GuildRoute, query: &str, body: &[u8]) -> Parsed {
    let request = guild_request(&route, query, body);
    let Some(target) = route.target() else {
        let form = match request {
            GuildRequest::CreateGuild(form) => form,
            other => unreachable!("POST /guilds parses into a guild form, not {other:?}"),
        };
        return Parsed::Create(GuildOp::Create(Box::new(move |id, cx| {
            route_entry::create_guild(id, &form, cx)
        })));
    };
    let needs_message = match route {
        GuildRoute::StartThreadFromMessage(channel, message) => Some((channel.0, message.0)),
        _ => None,
    };
    let op: ApplyFn = Box::new(move |guild, cx| route_entry::apply(guild, &route, &request, cx));
    Parsed::Existing(target, GuildOp::Apply { op, needs_message })
}

impl FluxApp {
    /// A guild, channel, role, member, ban, invite or thread route (or
    /// `GET /users/@me/guilds`) from `user_id`: its guild found in this core's replica
    /// indexes, then metered and sent to the guild's owner.
    pub(super) fn receive_guild_request(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
        family: Family,
        user_id: u64,
        headers: Vec<(HeaderName, String)>,
    ) -> HttpAnswer {
        let route_class = classify(Method::parse(&request.method), request.path());
        let query = request.target.split_once('?').map_or("", |(_, q)| q);
        if self.would_pass_guild_cap(&family, user_id) {
            let error = Refusal::Coded {
                code: 30001,
                message: "Maximum number of guilds reached (100)",
            };
            return HttpAnswer::Respond(error_response(&headers, &error));
        }
        let parsed = match family {
            Family::OwnGuilds => Parsed::OwnGuilds,
            Family::Guild(route) => guild_call(route, query, &request.body),
            Family::Member(route) => match route {
                MemberRoute::CreateBan(..) => {
                    let audit_reason = request.header_str("x-audit-log-reason");
                    let body = ban_body_with_audit_reason(&request.body, audit_reason);
                    member_call(route, query, &body)
                }
                _ => member_call(route, query, &request.body),
            },
            other => unreachable!("{other:?} is no guild family"),
        };
        let respond = |error: Refusal| HttpAnswer::Respond(error_response(&headers, &error));
        let (guild_id, op) = match parsed {
            Parsed::OwnGuilds => {
                let call = super::mesh::Call::OwnGuilds(Caller {
                    user_id,
                    reply_core: self.core,
                    conn,
                    headers,
                });
                return self.meter(out, call, route_class);
            }
            Parsed::Existing(target, op) => {
                let guild_id = match &target {
                    Target::Guild(id) => self.guilds.guild(id.0).map(|_| id.0),
                    Target::Channel(id) => self.guilds.guild_of_channel(id.0),
                    Target::Invite(code) => self.guilds.guild_of_invite(code),
                };
                let Some(guild_id) = guild_id else {
                    return respond(match target {
                        Target::Guild(_) => Refusal::UnknownGuild,
                        Target::Channel(_) => Refusal::UnknownChannel,
                        Target::Invite(_) => Refusal::UnknownInvite,
                    });
                };
                (guild_id, op)
            }
            Parsed::Create(op) => match self.commits.next_id(unix_ms()) {
                Ok(id) => (id, op),
                Err(error) => return respond(error),
            },
        };
        let call = GuildCall {
            caller: Caller {
                user_id,
                reply_core: self.core,
                conn,
                headers,
            },
            guild_id,
            op,
        };
        self.meter(out, super::mesh::Call::Guild(call), route_class)
    }

    /// Whether `family` would make `user_id` a member of one guild more than
    /// `GUILDS_PER_USER_MAX` (creating a guild, or accepting an invite to a guild they are
    /// not in). Counted on this core's replicas, so creations in flight on other cores at
    /// the same moment may pass it by their number.
    fn would_pass_guild_cap(&self, family: &Family, user_id: u64) -> bool {
        let joins = match family {
            Family::Guild(GuildRoute::CreateGuild) => true,
            Family::Member(MemberRoute::AcceptInvite(code)) => self
                .guilds
                .guild_of_invite(code)
                .is_none_or(|guild| !self.guilds.is_member(user_id, guild)),
            _ => false,
        };
        joins && self.guilds.guild_count(user_id) >= GUILDS_PER_USER_MAX
    }

    /// Hands `call` to its guild's owner core: inline when that is this core.
    pub(super) fn guild_call_to_owner(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: GuildCall,
        in_http: bool,
    ) -> HttpAnswer {
        let owner = owner_core(GuildId(call.guild_id), self.cores);
        if owner != self.core {
            out.send_mesh(owner, FluxMesh::Call(Box::new(Call::Guild(call))));
            return HttpAnswer::Later;
        }
        let reply = call.caller.reply();
        match self.run_guild_call(out, call) {
            Some(response) => self.answer(out, reply, response, in_http),
            None => HttpAnswer::Later,
        }
    }

    /// On the owner core: runs the operation on the working guild. A refusal or a read is
    /// answered now (`Some`), or, while changes of the guild are in flight, when they
    /// settle; a change is appended and answered once durable (`None`).
    fn run_guild_call(&mut self, out: &mut Outbox<FluxMesh>, call: GuildCall) -> Option<Response> {
        debug_assert_eq!(owner_core(GuildId(call.guild_id), self.cores), self.core);
        let GuildCall {
            caller,
            guild_id,
            op,
        } = call;
        let Caller {
            user_id,
            reply_core,
            conn,
            headers,
        } = caller;
        let headers = &headers;
        let decided = self.run_guild_op(user_id, guild_id, op);
        let (outcome, snapshot) = match decided {
            Ok(GuildDecision::Changed(outcome, snapshot)) => (outcome, snapshot),
            Ok(GuildDecision::Unchanged(outcome)) => {
                if let Some(voice_move) = outcome.voice_move {
                    self.move_voice_member(out, GuildId(guild_id), voice_move);
                }
                let response = json_response(headers, status_of(outcome.reply), outcome.body);
                return self.answer_after_guild_writes(guild_id, (reply_core, conn), response);
            }
            Err(error) => {
                let response = error_response(headers, &error);
                return self.answer_after_guild_writes(guild_id, (reply_core, conn), response);
            }
        };
        let voice_move = outcome.voice_move;
        let response = json_response(headers, status_of(outcome.reply), outcome.body);
        let sync = Arc::new(GuildSync {
            guild_id,
            guild: snapshot,
            events: outcome.events,
        });
        let appended = self.commits.batch().and_then(|mut batch| {
            match &sync.guild {
                Some(guild) => crate::world::persist::put_guild(&mut batch, guild),
                None => crate::world::persist::delete_guild(&mut batch, GuildId(guild_id)),
            }
            let answer = Answer {
                reply_core,
                conn,
                response,
            };
            self.commits
                .append(&mut batch, Change::Guild(Arc::clone(&sync)), answer)
                .map_err(|refused| refused.0)
        });
        match appended {
            Ok(write) => {
                self.guilds.appended(guild_id, write, sync.guild.clone());
                if let Some(voice_move) = voice_move {
                    // Voice states are not stored: the move takes effect now, with the
                    // edit's stored part on its way to durability.
                    self.move_voice_member(out, GuildId(guild_id), voice_move);
                }
                out.wake_at(out.now() + STORE_POLL_FALLBACK);
                None
            }
            Err(error) => {
                // Refused: the working guild goes back to before this call.
                self.guilds.refused(guild_id);
                Some(error_response(headers, &error))
            }
        }
    }

    /// Runs `op` for `user_id` on the working copy of guild `guild_id` (or creates it).
    fn run_guild_op(
        &mut self,
        user_id: u64,
        guild_id: u64,
        op: GuildOp,
    ) -> Result<GuildDecision, Refusal> {
        let now_unix_ms = unix_ms();
        if let GuildOp::Apply {
            needs_message: Some((channel_id, message_id)),
            ..
        } = &op
        {
            let store = self.commits.store()?;
            let found = crate::world::history::get_message(
                store,
                crate::world::ChannelId(*channel_id),
                crate::world::message::MessageId(*message_id),
            )
            .map_err(|_| Refusal::StoreFailed)?;
            found.ok_or(Refusal::UnknownMessage)?;
        }
        let commits = &mut self.commits;
        let mut next = || commits.next_id(now_unix_ms);
        let presences = &self.presences;
        let mut random = || -> Result<u64, Refusal> {
            getrandom::u64().map_err(|error| {
                eprintln!("flux: the OS random generator failed: {error}");
                Refusal::StoreFailed
            })
        };
        let voice_book = &self.voice_book;
        let voice_channel = |user: UserId| {
            voice_book
                .state(GuildId(guild_id), user)
                .and_then(|state| state.channel_id)
        };
        let mut cx = OpContext {
            actor: UserId(user_id),
            now_unix_ms,
            users: &self.directory,
            online: &|user: UserId| presences.contains_key(&user.0),
            next_id: &mut next,
            random: &mut random,
            voice_channel: &voice_channel,
        };
        match op {
            GuildOp::Apply { op, .. } => {
                let guild = self
                    .guilds
                    .owned
                    .get_mut(&guild_id)
                    .ok_or(Refusal::UnknownGuild)?;
                let outcome = op(guild, &mut cx)?;
                if !outcome.changed {
                    return Ok(GuildDecision::Unchanged(outcome));
                }
                if route_entry::guild_deleted(guild) {
                    self.guilds.owned.remove(&guild_id);
                    return Ok(GuildDecision::Changed(outcome, None));
                }
                let snapshot = Arc::new(guild.clone());
                Ok(GuildDecision::Changed(outcome, Some(snapshot)))
            }
            GuildOp::Create(create) => {
                let (guild, outcome) = create(GuildId(guild_id), &mut cx)?;
                assert_eq!(
                    guild.id.0, guild_id,
                    "a new guild keeps the id it was routed by"
                );
                let snapshot = Arc::new(guild.clone());
                self.guilds.owned.insert(guild_id, guild);
                Ok(GuildDecision::Changed(outcome, Some(snapshot)))
            }
        }
    }

    /// An answer decided without a change: sent now, or, while changes of the guild are
    /// in flight, together with the last of them (it may show them).
    fn answer_after_guild_writes(
        &mut self,
        guild_id: u64,
        (reply_core, conn): (usize, ConnId),
        response: Response,
    ) -> Option<Response> {
        let Some(write) = self.guilds.in_flight.get(&guild_id).map(|f| f.last) else {
            return Some(response);
        };
        let answer = Answer {
            reply_core,
            conn,
            response,
        };
        let joined = self.commits.follow(write, answer);
        assert!(joined, "a guild's last write in flight is queued");
        None
    }

    /// A guild change is durable: it becomes the owner's durable snapshot, goes to every
    /// core, and its answers wait until every core has the new replica (`sync_acked`).
    pub(super) fn guild_durable(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        sync: Arc<GuildSync>,
        answers: Vec<Answer>,
    ) {
        let guild_id = sync.guild_id;
        match &sync.guild {
            Some(guild) => self.guilds.durable.insert(guild_id, Arc::clone(guild)),
            None => self.guilds.durable.remove(&guild_id),
        };
        self.guilds.settled(guild_id);
        let ack = self.held.hold(self.cores, answers);
        for core in 0..self.cores {
            let sync = Arc::clone(&sync);
            let ack_core = self.core;
            out.send_mesh(
                core,
                FluxMesh::GuildSync {
                    sync,
                    ack_core,
                    ack,
                },
            );
        }
    }

    /// On the core that holds answer `ack`: one more core took its change; the answers
    /// go out with the last (`held_answers.rs`).
    pub(super) fn sync_acked(&mut self, out: &mut Outbox<FluxMesh>, ack: u64) {
        for answer in self.held.acked(ack).into_iter().flatten() {
            self.send_answer(out, answer.reply_core, answer.conn, answer.response);
        }
    }
}
