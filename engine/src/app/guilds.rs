//! Guild state on its owner core, its replicas on every core, and the path of a
//! guild-changing REST call (issue 6).
//!
//! Who holds what:
//! - The **owner core** `(guild_id >> 22) % cores` holds the authoritative `Guild` in
//!   `GuildState::owned`. Only it changes the guild, so nothing about a guild is ever
//!   written by two threads and no lock exists.
//! - **Every core** holds a replica `Arc<Guild>` of every guild in
//!   `GuildState::replicas`, plus indexes derived from it (channel → guild, invite code
//!   → guild, user → guilds). A core needs them to route a request (which guild does
//!   channel X belong to?), to build READY and GUILD_CREATE for its own sessions, and to
//!   decide which of its sessions may see an event. The replica is an immutable
//!   snapshot the owner builds once per change and sends by `Arc` over the mesh: cores
//!   share it read-only, never write it, and replace it whole (ARCHITECTURE.md explains
//!   this read-mostly sharing).
//!
//! A call's path (`GuildCall`):
//!
//! ```text
//! receiving core                         owner core                          every core
//! try_guild_route: parse (rest::guild_routes / member_routes), authenticate,
//!   Target → guild id (replica indexes) ── GuildCall (mesh or inline) ──►
//!                                        run_guild_call: the pure op on the owned
//!                                        Guild (world::guild_ops), then, if it changed,
//!                                        persist::put_guild into this core's lsm batch
//!                                        ─ Store::append ─► durable (poll_store)
//!                                        └─ GuildSync (new Arc<Guild> + events) ──►
//!                                                                   apply_guild_sync:
//!                                                                   swap the replica,
//!                                                                   reindex, GUILD_CREATE /
//!                                                                   GUILD_DELETE to joining /
//!                                                                   leaving members' sessions,
//!                                                                   then each event once per
//!                                                                   core to its audience
//!                                        ◄── Synced (every core) ──┘
//!   ◄── MessageAnswer (the HTTP answer) ─┘ after the last Synced
//! ```
//!
//! Ordering: the owner holds the HTTP answer until every core, itself included, has
//! applied the `GuildSync` (`held_answers.rs`), so a client reads its own write on any
//! connection, whichever core serves it (discord.js's `createInvite` then `fetchInvite`
//! on another connection got 10006 otherwise). The owner updates its authoritative guild at once (so
//! two calls in one group commit see each other) but answers and broadcasts only after
//! durability: a crash loses only changes nobody was told about.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::{FluxApp, FluxMesh};
use crate::gateway::{Dispatch, DispatchScope, Input, Intents};
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::guild_routes::{guild_route, GuildRoute};
use crate::rest::member_routes::{ban_body_with_audit_reason, member_route, MemberRoute};
use crate::rest::ratelimit::classify;
use crate::rest::{Method, RestError};
use crate::world::guild_ops::{
    encode, routes_guild, Audience, GuildEvent, OpContext, Outcome, Target,
};
use crate::world::permissions::{ChannelSnapshot, GuildSnapshot, Permissions};
use crate::world::{owner_core, Guild, GuildId, UserId, World};

/// Every guild as this core knows it.
#[derive(Debug, Default)]
pub(super) struct GuildState {
    /// The guilds this core owns: the only mutable copies.
    owned: HashMap<u64, Guild>,
    /// Every guild's latest durable snapshot (owned ones too).
    replicas: HashMap<u64, Arc<Guild>>,
    by_channel: HashMap<u64, u64>,
    by_invite: HashMap<String, u64>,
    by_member: HashMap<u64, BTreeSet<u64>>,
}

impl GuildState {
    /// Core `core`'s state from the world as loaded at start.
    pub(super) fn from_world(world: &World, core: usize, cores: usize) -> GuildState {
        let mut state = GuildState::default();
        for guild in &world.guilds {
            if owner_core(guild.id, cores) == core {
                state.owned.insert(guild.id.0, guild.clone());
            }
            state.replace(guild.id.0, Some(Arc::new(guild.clone())));
        }
        state
    }

    /// The replica of guild `id`.
    pub(super) fn guild(&self, id: u64) -> Option<&Arc<Guild>> {
        self.replicas.get(&id)
    }

    /// The guild that holds channel (or thread) `channel_id`.
    pub(super) fn guild_of_channel(&self, channel_id: u64) -> Option<u64> {
        self.by_channel.get(&channel_id).copied()
    }

    /// The guild invite `code` leads to.
    pub(super) fn guild_of_invite(&self, code: &str) -> Option<u64> {
        self.by_invite.get(code).copied()
    }

    /// The guilds `user_id` is a member of, in id order.
    pub(super) fn guilds_of(&self, user_id: u64) -> Vec<u64> {
        self.by_member
            .get(&user_id)
            .map(|guilds| guilds.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Swaps guild `id`'s replica for `new` (`None`: deleted) and fixes the indexes;
    /// returns the old replica.
    fn replace(&mut self, id: u64, new: Option<Arc<Guild>>) -> Option<Arc<Guild>> {
        let old = match &new {
            Some(guild) => self.replicas.insert(id, Arc::clone(guild)),
            None => self.replicas.remove(&id),
        };
        if let Some(old) = &old {
            for channel in &old.channels {
                self.by_channel.remove(&channel.id.0);
            }
            for invite in &old.invites {
                self.by_invite.remove(&invite.code);
            }
            for member in &old.members {
                if let Some(guilds) = self.by_member.get_mut(&member.user_id.0) {
                    guilds.remove(&id);
                    if guilds.is_empty() {
                        self.by_member.remove(&member.user_id.0);
                    }
                }
            }
        }
        if let Some(guild) = &new {
            for channel in &guild.channels {
                self.by_channel.insert(channel.id.0, id);
            }
            for invite in &guild.invites {
                self.by_invite.insert(invite.code.clone(), id);
            }
            for member in &guild.members {
                self.by_member
                    .entry(member.user_id.0)
                    .or_default()
                    .insert(id);
            }
        }
        old
    }
}

/// The owner's operation on an existing guild (`world::guild_ops`).
pub type ApplyFn = Box<dyn FnOnce(&mut Guild, &mut OpContext) -> Result<Outcome, RestError> + Send>;
/// The owner's operation creating a guild with the id the receiving core chose.
pub type CreateFn =
    Box<dyn FnOnce(GuildId, &mut OpContext) -> Result<(Guild, Outcome), RestError> + Send>;

/// The owner's half of a call, built by the receiving core from the parsed route: the
/// route, query and body are moved into the closure, so this file needs to know no
/// route type.
pub enum GuildOp {
    /// An operation on an existing guild.
    Apply {
        /// The pure operation (`world::guild_ops`). A changed guild left without members
        /// was deleted (`routes_guild::guild_deleted`).
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
    reply_core: usize,
    conn: ConnId,
    user_id: u64,
    guild_id: u64,
    op: GuildOp,
    headers: Vec<(String, String)>,
}

impl GuildCall {
    /// The caller.
    pub(super) fn user_id(&self) -> u64 {
        self.user_id
    }

    /// Where the answer goes: the receiving core and its connection.
    pub(super) fn reply(&self) -> (usize, ConnId) {
        (self.reply_core, self.conn)
    }

    /// The answer's headers (rate-limit headers are set by `metering.rs`).
    pub(super) fn headers_mut(&mut self) -> &mut Vec<(String, String)> {
        &mut self.headers
    }
}

/// A durable guild change, sent by the owner once to every core (itself included).
#[derive(Debug)]
pub struct GuildSync {
    /// The guild.
    pub guild_id: u64,
    /// Its new snapshot; `None` when it was deleted.
    pub guild: Option<Arc<Guild>>,
    /// The dispatches that follow, in order.
    pub events: Vec<GuildEvent>,
}

/// What a route parser hands `try_guild_route`: the guild the call acts on (or a new
/// one) and the owner's operation.
pub(super) enum Parsed {
    /// A call on the guild `Target` names.
    Existing(Target, GuildOp),
    /// A new guild (`POST /guilds`).
    Create(GuildOp),
    /// `GET /users/@me/guilds`, answered from this core's replicas.
    OwnGuilds,
}

/// The parsers of every guild-changing route family, tried in order; each returns
/// `None` for paths that are not its own.
fn parse_guild_call(
    method: Method,
    path: &str,
    query: &str,
    body: &[u8],
    audit_reason: Option<&str>,
) -> Option<Result<Parsed, RestError>> {
    if let Some(route) = guild_route(method, path) {
        return Some(route.map(|route| guild_call(route, query, body)));
    }
    if let Some(route) = member_route(method, path) {
        let body = match route {
            Ok(MemberRoute::CreateBan(..)) => ban_body_with_audit_reason(body, audit_reason),
            _ => body.to_vec(),
        };
        return Some(route.map(|route| member_call(route, query, body)));
    }
    None
}

/// A member, role, ban or invite route (`rest::member_routes`) as a call for the owner.
fn member_call(route: MemberRoute, query: &str, body: Vec<u8>) -> Parsed {
    let query = query.to_string();
    let target = route.target();
    let op: ApplyFn = Box::new(move |guild, cx| {
        crate::world::guild_ops::apply_member_route(guild, &route, &query, &body, cx)
    });
    Parsed::Existing(
        target,
        GuildOp::Apply {
            op,
            needs_message: None,
        },
    )
}

/// A guild, channel or thread route (`rest::guild_routes`) as a call for the owner.
fn guild_call(route: GuildRoute, query: &str, body: &[u8]) -> Parsed {
    let (query, body) = (query.to_string(), body.to_vec());
    let Some(target) = route.target() else {
        return Parsed::Create(GuildOp::Create(Box::new(move |id, cx| {
            routes_guild::create_guild(id, &body, cx)
        })));
    };
    let needs_message = match route {
        GuildRoute::StartThreadFromMessage(channel, message) => Some((channel.0, message.0)),
        _ => None,
    };
    let op: ApplyFn =
        Box::new(move |guild, cx| routes_guild::apply(guild, &route, &query, &body, cx));
    Parsed::Existing(target, GuildOp::Apply { op, needs_message })
}

impl FluxApp {
    /// `route_http`'s hook for guild, channel, role, member, ban, invite and thread
    /// routes; `None` for every other path.
    pub(super) fn try_guild_route(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
    ) -> Option<HttpAnswer> {
        let method = Method::parse(&request.method);
        let path = request.path();
        let query = request.target.split_once('?').map_or("", |(_, q)| q);
        let own_guilds = method == Method::Get
            && crate::rest::router::strip_version_prefix(path)
                .is_some_and(|rest| rest.trim_end_matches('/') == "users/@me/guilds");
        let parsed = if own_guilds {
            Ok(Parsed::OwnGuilds)
        } else {
            let audit_reason = request.header_str("x-audit-log-reason");
            parse_guild_call(method, path, query, &request.body, audit_reason)?
        };
        super::Metrics::bump(&self.shared.metrics.rest_requests_total);
        let now_unix_ms = super::http_routes::unix_ms();
        let headers = super::http_routes::unmetered_headers(classify(method, path), now_unix_ms);
        let respond = |error: RestError| {
            Some(HttpAnswer::Respond(super::messages::error_response(
                &headers, &error,
            )))
        };
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(error) => return respond(error),
        };
        let Some(user_id) = request
            .header_str("authorization")
            .and_then(|token| self.directory.authenticate(token).ok())
            .map(|entry| entry.user.id.0)
        else {
            return respond(RestError::Unauthorized);
        };
        let (guild_id, op) = match parsed {
            Parsed::OwnGuilds => {
                let call = super::metering::Metered::OwnGuilds {
                    reply_core: self.core,
                    conn,
                    user_id,
                    headers,
                };
                return Some(self.meter(out, call, classify(method, path)));
            }
            Parsed::Existing(target, op) => {
                let guild_id = match &target {
                    Target::Guild(id) => self.guilds.guild(id.0).map(|_| id.0),
                    Target::Channel(id) => self.guilds.guild_of_channel(id.0),
                    Target::Invite(code) => self.guilds.guild_of_invite(code),
                };
                let Some(guild_id) = guild_id else {
                    return respond(match target {
                        Target::Guild(_) => RestError::UnknownGuild,
                        Target::Channel(_) => RestError::UnknownChannel,
                        Target::Invite(_) => RestError::UnknownInvite,
                    });
                };
                (guild_id, op)
            }
            Parsed::Create(op) => match self.messages.next_id(now_unix_ms) {
                Ok(id) => (id, op),
                Err(error) => return respond(error),
            },
        };
        let call = GuildCall {
            reply_core: self.core,
            conn,
            user_id,
            guild_id,
            op,
            headers,
        };
        Some(self.meter(
            out,
            super::metering::Metered::Guild(call),
            classify(method, path),
        ))
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
            out.send_mesh(owner, FluxMesh::GuildCall(Box::new(call)));
            return HttpAnswer::Later;
        }
        let (reply_core, conn) = (call.reply_core, call.conn);
        match self.run_guild_call(out, call) {
            Some(response) if in_http => HttpAnswer::Respond(response),
            Some(response) => {
                self.send_answer(out, reply_core, conn, response);
                HttpAnswer::Later
            }
            None => HttpAnswer::Later,
        }
    }

    /// On the owner core: a call that came over the mesh.
    pub(super) fn handle_guild_call(&mut self, out: &mut Outbox<FluxMesh>, call: GuildCall) {
        let (reply_core, conn) = (call.reply_core, call.conn);
        if let Some(response) = self.run_guild_call(out, call) {
            self.send_answer(out, reply_core, conn, response);
        }
    }

    /// On the owner core: runs the operation. A read or a refusal is answered now
    /// (`Some`); a change is appended to the store and answered once durable (`None`).
    fn run_guild_call(&mut self, out: &mut Outbox<FluxMesh>, call: GuildCall) -> Option<Response> {
        debug_assert_eq!(owner_core(GuildId(call.guild_id), self.cores), self.core);
        let now_unix_ms = super::http_routes::unix_ms();
        let headers = call.headers;
        let guild_id = call.guild_id;
        if let GuildOp::Apply {
            needs_message: Some((channel_id, message_id)),
            ..
        } = &call.op
        {
            if let Err(error) = self.messages.message_exists(*channel_id, *message_id) {
                return Some(super::messages::error_response(&headers, &error));
            }
        }
        let messages = &mut self.messages;
        let mut next_id = |now: u64| messages.next_id(now);
        let mut next = || next_id(now_unix_ms);
        let presences = &self.presences;
        let mut cx = OpContext {
            actor: UserId(call.user_id),
            now_unix_ms,
            users: &self.directory,
            online: &|user: UserId| presences.contains_key(&user.0),
            next_id: &mut next,
        };
        let (outcome, snapshot) = match call.op {
            GuildOp::Apply { op, .. } => {
                let Some(guild) = self.guilds.owned.get_mut(&guild_id) else {
                    let error = RestError::UnknownGuild;
                    return Some(super::messages::error_response(&headers, &error));
                };
                let outcome = match op(guild, &mut cx) {
                    Ok(outcome) => outcome,
                    Err(error) => return Some(super::messages::error_response(&headers, &error)),
                };
                if !outcome.changed {
                    return Some(super::messages::json_response(
                        &headers,
                        outcome.status,
                        outcome.body,
                    ));
                }
                if routes_guild::guild_deleted(guild) {
                    self.guilds.owned.remove(&guild_id);
                    (outcome, None)
                } else {
                    (outcome, Some(Arc::new(guild.clone())))
                }
            }
            GuildOp::Create(create) => {
                let (guild, outcome) = match create(GuildId(guild_id), &mut cx) {
                    Ok(created) => created,
                    Err(error) => return Some(super::messages::error_response(&headers, &error)),
                };
                assert_eq!(
                    guild.id.0, guild_id,
                    "a new guild keeps the id it was routed by"
                );
                let snapshot = Arc::new(guild.clone());
                self.guilds.owned.insert(guild_id, guild);
                (outcome, Some(snapshot))
            }
        };
        let response = super::messages::json_response(&headers, outcome.status, outcome.body);
        let sync = GuildSync {
            guild_id,
            guild: snapshot,
            events: outcome.events,
        };
        match self
            .messages
            .append_guild(sync, call.reply_core, call.conn, response)
        {
            Ok(()) => {
                out.wake_at(out.now() + super::messages::STORE_POLL_FALLBACK);
                None
            }
            Err(error) => Some(super::messages::error_response(&headers, &error)),
        }
    }

    /// A guild change is durable: send it to every core, and hold the answer until
    /// every core has the new replica (`sync_acked`).
    pub(super) fn broadcast_guild_sync(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        sync: Arc<GuildSync>,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) {
        let ack = self.held.hold(self.cores, reply_core, conn, response);
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

    /// On the core that holds answer `ack`: one more core took its change; the answer
    /// goes out with the last (`held_answers.rs`).
    pub(super) fn sync_acked(&mut self, out: &mut Outbox<FluxMesh>, ack: u64) {
        if let Some((reply_core, conn, response)) = self.held.acked(ack) {
            self.send_answer(out, reply_core, conn, response);
        }
    }

    /// On every core: take the new replica, tell joining and leaving members' sessions,
    /// and deliver the events to the sessions allowed to see them.
    pub(super) fn apply_guild_sync(&mut self, out: &mut Outbox<FluxMesh>, sync: &GuildSync) {
        let guild_id = sync.guild_id;
        let old = self.guilds.replace(guild_id, sync.guild.clone());
        self.messages.reindex_guild(guild_id, sync.guild.as_deref());
        self.guild_create_cache.invalidate(GuildId(guild_id));
        let members = |guild: &Option<Arc<Guild>>| -> BTreeSet<u64> {
            guild
                .iter()
                .flat_map(|g| g.members.iter().map(|m| m.user_id.0))
                .collect()
        };
        let (before, after) = (members(&old), members(&sync.guild));
        let joined: BTreeSet<u64> = after.difference(&before).copied().collect();
        let left: BTreeSet<u64> = before.difference(&after).copied().collect();
        if !joined.is_empty() {
            self.guild_joined(out, guild_id, &joined);
        }
        for event in &sync.events {
            self.deliver_guild_event(out, guild_id, event, old.as_deref());
        }
        for user in &joined {
            self.announce_presence_in(out, *user, guild_id);
        }
        if !left.is_empty() {
            self.guild_left(out, guild_id, &left, sync.guild.is_none());
        }
    }

    /// Subscribes the local sessions of users who joined `guild_id` and sends each its
    /// GUILD_CREATE.
    fn guild_joined(&mut self, out: &mut Outbox<FluxMesh>, guild_id: u64, users: &BTreeSet<u64>) {
        let Some(guild) = self.guilds.guild(guild_id).cloned() else {
            return;
        };
        for conn in self.live_conns_where(|user| users.contains(&user)) {
            let Some(gateway) = self.conns.get(&conn) else {
                continue;
            };
            let (Some(user), Some(intents)) =
                (gateway.session.user_id(), gateway.session.intents())
            else {
                continue;
            };
            let large_threshold = gateway.large_threshold;
            self.add_subscription(conn, guild_id);
            let cached = self.guild_create_cache.get_or_encode(
                &guild,
                &self.directory,
                UserId(user),
                large_threshold,
            );
            let event = self.guild_create_dispatch(&guild, cached, intents, Intents::GUILDS);
            self.drive(out, conn, Input::Dispatch(&event));
        }
        let mut detached_create = None;
        for parked in self.detached.values_mut() {
            if users.contains(&parked.state.user_id()) && !parked.guild_ids.contains(&guild_id) {
                parked.guild_ids.push(guild_id);
                let d = detached_create.get_or_insert_with(|| {
                    crate::world::guild_create_json(&guild, &self.directory, UserId(0), 250)
                });
                let event = Dispatch::new(
                    "GUILD_CREATE",
                    d.to_vec(),
                    DispatchScope::Guild(guild_id),
                    Intents::GUILDS,
                );
                parked.state.handle_dispatch(&event);
            }
        }
    }

    /// Unsubscribes the local sessions of users who left `guild_id` (or all, when it was
    /// deleted) and sends each GUILD_DELETE.
    fn guild_left(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild_id: u64,
        users: &BTreeSet<u64>,
        deleted: bool,
    ) {
        let d = encode(&serde_json::json!({ "id": guild_id.to_string() }));
        let event = Dispatch::new(
            "GUILD_DELETE",
            d,
            DispatchScope::Guild(guild_id),
            Intents::GUILDS,
        );
        let conns: Vec<ConnId> = self
            .subscribers
            .get(&guild_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|conn| {
                self.conns
                    .get(conn)
                    .and_then(|g| g.session.user_id())
                    .is_some_and(|user| deleted || users.contains(&user))
            })
            .collect();
        for conn in conns {
            self.drive(out, conn, Input::Dispatch(&event));
            if let Some(gateway) = self.conns.get_mut(&conn) {
                gateway.guild_ids.retain(|id| *id != guild_id);
            }
            if let Some(subscribed) = self.subscribers.get_mut(&guild_id) {
                subscribed.remove(&conn);
                if subscribed.is_empty() {
                    self.subscribers.remove(&guild_id);
                }
            }
        }
        for parked in self.detached.values_mut() {
            if parked.guild_ids.contains(&guild_id)
                && (deleted || users.contains(&parked.state.user_id()))
            {
                parked.state.handle_dispatch(&event);
                parked.guild_ids.retain(|id| *id != guild_id);
            }
        }
    }

    /// Encodes `event` once and hands it to each local session in its audience (the
    /// session itself filters by intents and shard).
    fn deliver_guild_event(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild_id: u64,
        event: &GuildEvent,
        old: Option<&Guild>,
    ) {
        let dispatch = Dispatch::new(
            event.name,
            encode(&event.d),
            DispatchScope::Guild(guild_id),
            event.intents,
        );
        let guild = self.guilds.guild(guild_id).cloned();
        let audience = Recipients::of(
            &event.audience,
            guild.as_deref().or(old),
            |channel, needed| self.messages.members_with(channel.0, needed),
        );
        let live: Vec<ConnId> = self
            .subscribers
            .get(&guild_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|conn| {
                self.conns
                    .get(conn)
                    .and_then(|g| g.session.user_id())
                    .is_some_and(|user| audience.includes(user))
            })
            .collect();
        for conn in live {
            self.drive(out, conn, Input::Dispatch(&dispatch));
        }
        for parked in self.detached.values_mut() {
            if parked.guild_ids.contains(&guild_id) && audience.includes(parked.state.user_id()) {
                parked.state.handle_dispatch(&dispatch);
            }
        }
    }

    /// `GET /users/@me/guilds`: the caller's guilds from this core's replicas.
    pub(super) fn current_user_guilds(&self, user_id: u64) -> Vec<u8> {
        let guilds: Vec<serde_json::Value> = self
            .guilds
            .guilds_of(user_id)
            .into_iter()
            .filter_map(|id| self.guilds.guild(id))
            .map(|guild| partial_guild_json(guild, UserId(user_id)))
            .collect();
        encode(&serde_json::Value::Array(guilds))
    }
}

/// Who an event's audience is, resolved once per event on each core.
enum Recipients {
    All,
    Some(BTreeSet<u64>),
}

impl Recipients {
    /// `cached`: the members holding a permission in a channel, from the views this core
    /// already keeps (`Messages::members_with`); computed from `guild` only for a channel
    /// those no longer hold (a deleted guild's).
    fn of(
        audience: &Audience,
        guild: Option<&Guild>,
        cached: impl Fn(crate::world::ChannelId, Permissions) -> Option<BTreeSet<UserId>>,
    ) -> Recipients {
        let Some(guild) = guild else {
            return Recipients::All;
        };
        let with = |channel_id: crate::world::ChannelId, needed: Permissions| {
            if let Some(members) = cached(channel_id, needed) {
                return members.into_iter().map(|user| user.0).collect();
            }
            let snapshot = GuildSnapshot::of_guild(guild);
            let Some(channel) = guild.channel(channel_id) else {
                return BTreeSet::new();
            };
            let channel = channel_snapshot(guild, channel);
            snapshot
                .members
                .iter()
                .filter(|m| snapshot.permissions_in(m, &channel, 0).contains(needed))
                .map(|m| m.user_id.0)
                .collect()
        };
        match audience {
            Audience::Guild => Recipients::All,
            Audience::Channel(channel) => {
                Recipients::Some(with(*channel, Permissions::VIEW_CHANNEL))
            }
            Audience::ChannelPermission(channel, needed) => {
                Recipients::Some(with(*channel, *needed | Permissions::VIEW_CHANNEL))
            }
            Audience::Users(users) => Recipients::Some(users.iter().map(|u| u.0).collect()),
        }
    }

    fn includes(&self, user: u64) -> bool {
        match self {
            Recipients::All => true,
            Recipients::Some(users) => users.contains(&user),
        }
    }
}

/// The permission view of `channel`; a thread inherits its parent's overwrites and a
/// private thread shows only to its members and MANAGE_THREADS holders.
pub(super) fn channel_snapshot(guild: &Guild, channel: &crate::world::Channel) -> ChannelSnapshot {
    ChannelSnapshot::of_guild_channel(guild, channel)
}

/// `serde_json::to_vec` of a value that always serialises.
pub(super) fn encode_json(value: &serde_json::Value) -> Vec<u8> {
    encode(value)
}

/// The partial guild of `GET /users/@me/guilds`.
fn partial_guild_json(guild: &Guild, viewer: UserId) -> serde_json::Value {
    let snapshot = GuildSnapshot::of_guild(guild);
    let permissions = snapshot.member(viewer).map_or(Permissions::NONE, |member| {
        snapshot.guild_permissions(member, 0)
    });
    serde_json::json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "banner": null,
        "owner": guild.owner_id == viewer,
        "permissions": permissions.encode_decimal(),
        "features": guild.features,
        "approximate_member_count": guild.members.len(),
        "approximate_presence_count": 0,
    })
}
