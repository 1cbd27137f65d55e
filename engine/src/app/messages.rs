//! The message path of issue 6: `POST/GET/PATCH/DELETE /channels/{id}/messages[/{id}]`,
//! the owner core's durable write, and MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE
//! fan-out to every core's sessions. Reactions, typing and pins take the same path:
//! - reactions (`…/messages/{id}/reactions[/{emoji}[/@me|/{user}]]`) rewrite the stored
//!   message (durable before the 204) and dispatch MESSAGE_REACTION_ADD / _REMOVE /
//!   _REMOVE_ALL / _REMOVE_EMOJI (GUILD_MESSAGE_REACTIONS) only when something changed;
//! - typing (`POST /channels/{id}/typing`) is not stored: the owner checks
//!   SEND_MESSAGES, answers 204 and sends TYPING_START (GUILD_MESSAGE_TYPING, `timestamp`
//!   in unix seconds) to every core at once;
//! - pins (`/channels/{id}/pins[/{id}]`, `/channels/{id}/messages/pins[/{id}]`) set
//!   `pinned` on the message and keep the channel's pin list (newest first, at most 250,
//!   else 30003) in the owner store's meta key `pins.{channel}`, in the same batch; they
//!   dispatch CHANNEL_PINS_UPDATE (GUILDS);
//! - bulk delete (`POST /channels/{id}/messages/bulk-delete`, MANAGE_MESSAGES; body rules
//!   in `rest::bulk_delete`) deletes the ids that exist in one batch (unknown ids are
//!   skipped, as on Discord), answers 204 once durable and dispatches one
//!   MESSAGE_DELETE_BULK `{ids, channel_id, guild_id}` (GUILD_MESSAGES);
//! - a multipart create (`payload_json` + `files[n]`) stores its files durably
//!   (`attachments.rs`) before the message that names them is appended.
//!
//! Who does what:
//!
//! ```text
//! receiving core                    owner core (guild_id >> 22) % cores       every core
//! route_http ─► try_message_route
//!   auth (Directory), channel → guild (channel index)
//!   ── MessageRateCheck ─► user's home core: admit_message_call (RateLimiter::check;
//!                          429 back, or) ─► forward_to_owner
//!   ─── MessageCall (mesh, or inline when it is the owner) ──►
//!                                   owner_handle: permissions, validation,
//!                                   Snowflake, Store::append ─► Ticket
//!                                   … handle_tick ─► poll_store: Store::poll
//!                                   reports the ticket durable ─► finish_write
//!   ◄── MessageAnswer (HTTP response) ─┤
//!   Outbox::respond                    └── MessageEvent (once per core) ──► deliver_events:
//!                                                          serialise d once per variant,
//!                                                          Input::Dispatch per session
//! ```
//!
//! Durability: a write is answered, and its event sent, only after `Store::poll` reports
//! its ticket durable (fdatasync'd by the store's commit thread). The store's commit
//! thread signals its wake eventfd; the reactor watches that fd (`App::wake_fd`: a
//! readiness poll in the epoll backend, an `IORING_OP_POLL_ADD` in the io_uring one) and
//! calls `App::handle_wake`, which polls the store. So a reactor never blocks on the disk
//! and never spins: the acknowledgement goes out on the loop turn after the fdatasync.
//! While writes wait, a tick every `STORE_POLL_FALLBACK` polls too, as a safety net.
//!
//! Known gaps (documented, not hidden):
//! - Rate limits: a call is counted on its user's home core `(user_id >> 22) % cores`
//!   (`MessageRateCheck`, as `rest::ratelimit` describes), which then forwards it to the
//!   owner. Answers decided on the receiving core before that (bad route, 401, unknown
//!   channel) are not counted. The issue-4 routes are metered on the same limiter by
//!   `rest_limits.rs`.
//! - An edit or delete reads the durable message; two edits of one message in the same
//!   few hundred microseconds may both start from the same version (last writer wins).
//! - The channel index and viewer sets are rebuilt per guild whenever its replica
//!   changes (`reindex_guild`, called from `guilds.rs`), O(members × channels).
//! - Reactions and pins read the durable message (and pin list) like an edit does: two
//!   changes of one message within one fdatasync may both start from the same version.
//! - `GET …/messages/pins` ignores `before` / `limit` and answers every pin with
//!   `has_more: false` (at most 250 pins exist). A deleted message stays in its pin list
//!   and is skipped when listed. Custom emojis are not checked against the guild's emoji
//!   list (Flux has none): any well-formed `name:id` is accepted.
//! - `enforce_nonce` dedupe lives in owner-core memory (5 minutes), not in the store: a
//!   restart forgets it.

use crate::id_hash::IdHashSet;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use lsm::{Batch, Store, Ticket};
use snowflake::Generator;

use super::{FluxApp, FluxMesh};
use crate::gateway::{Dispatch, DispatchRun, DispatchScope, Intents};
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::bulk_delete::parse_bulk_delete;
use crate::rest::messages::{
    message_route, parse_create_with_files, parse_edit, parse_history_query, parse_mentions,
    MessageRoute,
};
use crate::rest::ratelimit::{classify, BucketKey, RateLimiter, RouteClass, Verdict};
use crate::rest::{Method, RestError};
use crate::world::history::{self, message_bucket, HistoryError};
use crate::world::message::{
    write_message_json, Author, Emoji, Message, MessageId, MessageJsonContext, Nonce,
};
use crate::world::permissions::{
    members_who_can_view, ChannelSnapshot, GuildSnapshot, Permissions,
};
use crate::world::{owner_core, ChannelId, GuildId, UserId, UserLookup, World};

/// A safety net: while writes wait, the store is also polled on a tick this often, in
/// case a wake-up was missed (the wake fd is the normal path).
pub(super) const STORE_POLL_FALLBACK: Duration = Duration::from_millis(50);
/// How long a nonce sent with `enforce_nonce` dedupes (Discord: "a few minutes").
const NONCE_TTL_MS: u64 = 5 * 60 * 1000;
/// The meta key holding the newest Snowflake this core issued (u64 little-endian).
const LAST_ID_KEY: &[u8] = b"snowflake.last";

/// A channel as the message path sees it.
#[derive(Debug)]
struct ChannelInfo {
    /// The guild; for a DM, the channel's own id (a guild of two, see `index_dm`).
    guild_id: u64,
    /// For a DM: its pair core, which owns it (`world::dm`).
    dm_owner: Option<usize>,
    snapshot: ChannelSnapshot,
    /// Members allowed to view it: the recipients of its events (a hash set: fan-out
    /// asks it once per session per event; shared so an event need not copy it).
    viewers: Arc<IdHashSet<UserId>>,
}

/// One core's message state: its store (for the guilds it owns), its Snowflake
/// generator, writes waiting for durability, and the channel index every core needs.
pub(super) struct Messages {
    store: Result<Store, String>,
    ids: Generator,
    pending: VecDeque<PendingWrite>,
    nonces: HashMap<(u64, NonceKey), (Arc<Message>, u64)>,
    channels: HashMap<u64, ChannelInfo>,
    guilds: HashMap<u64, GuildSnapshot>,
    /// The rate-limit logs of the users whose home core this is; `None` when
    /// `Limits::rest_rate_limits` is off.
    limiter: Option<RateLimiter>,
    /// When `limiter` is next pruned (monotonic ms).
    prune_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum NonceKey {
    Text(String),
    Integer(i64),
}

#[derive(Debug)]
struct PendingWrite {
    ticket: Ticket,
    reply_core: usize,
    conn: ConnId,
    response: Response,
    event: PendingEvent,
}

/// What a durable write announces to every core.
#[derive(Debug)]
enum PendingEvent {
    /// A message change (`MessageEvent`).
    Message(Arc<MessageEvent>),
    /// A guild change (`guilds.rs`).
    Guild(Arc<super::guilds::GuildSync>),
    /// A new DM channel (`dms.rs`).
    Dm(Arc<crate::world::dm::DmChannel>),
    /// An account change on its home core (`accounts.rs`).
    Account(Arc<super::accounts::AccountSync>),
}

/// A request on its way to the channel's owner core.
#[derive(Debug)]
pub struct MessageCall {
    reply_core: usize,
    conn: ConnId,
    user_id: u64,
    route: MessageRoute,
    query: String,
    body: Vec<u8>,
    /// The request's `Content-Type` (multipart bodies carry files).
    content_type: Option<String>,
    /// `Content-Type` and the rate-limit headers, decided by the receiving core.
    headers: Vec<(String, String)>,
}

/// A change (durable, except typing), sent by the owner once to every core.
#[derive(Debug)]
pub enum MessageEvent {
    /// MESSAGE_CREATE.
    Create(Message),
    /// MESSAGE_UPDATE.
    Update(Message),
    /// MESSAGE_DELETE.
    Delete {
        guild_id: u64,
        channel_id: ChannelId,
        message_id: MessageId,
    },
    /// MESSAGE_REACTION_ADD / _REMOVE / _REMOVE_ALL / _REMOVE_EMOJI.
    Reaction {
        guild_id: u64,
        channel_id: ChannelId,
        message_id: MessageId,
        change: ReactionChange,
    },
    /// TYPING_START (not stored).
    Typing {
        guild_id: u64,
        channel_id: ChannelId,
        user_id: UserId,
        timestamp_s: u64,
    },
    /// CHANNEL_PINS_UPDATE.
    PinsUpdate {
        guild_id: u64,
        channel_id: ChannelId,
        last_pin_unix_ms: Option<u64>,
    },
    /// MESSAGE_DELETE_BULK: the ids that existed and were deleted, in the order asked.
    DeleteBulk {
        guild_id: u64,
        channel_id: ChannelId,
        message_ids: Vec<MessageId>,
    },
}

/// What happened to a message's reactions.
#[derive(Debug)]
pub enum ReactionChange {
    /// A user added one (`author`: the message's author, Discord's `message_author_id`).
    Add {
        user_id: UserId,
        emoji: Emoji,
        author: UserId,
    },
    /// A user's reaction was removed.
    Remove { user_id: UserId, emoji: Emoji },
    /// Every reaction was removed.
    RemoveAll,
    /// Every reaction with one emoji was removed.
    RemoveEmoji(Emoji),
}

impl MessageEvent {
    pub(super) fn channel_id(&self) -> ChannelId {
        match self {
            MessageEvent::Create(message) | MessageEvent::Update(message) => message.channel_id,
            MessageEvent::Delete { channel_id, .. }
            | MessageEvent::Reaction { channel_id, .. }
            | MessageEvent::Typing { channel_id, .. }
            | MessageEvent::PinsUpdate { channel_id, .. }
            | MessageEvent::DeleteBulk { channel_id, .. } => *channel_id,
        }
    }
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("store_ok", &self.store.is_ok())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl Messages {
    /// Opens core `core`'s store in `<data_dir>/core-N/` and indexes `world`'s channels.
    /// A store that cannot be opened leaves the message routes answering 500 (and says so
    /// on stderr) rather than stopping the core.
    pub(super) fn open(config: &crate::Config, core: usize, world: &World) -> Messages {
        let data_dir = &config.data_dir;
        let process = u8::try_from(core.min(31)).expect("31 fits in u8");
        let mut ids = Generator::new(0, process).expect("worker 0 and process ≤ 31 are valid");
        let dir = data_dir.join(format!("core-{core}"));
        let store = std::fs::create_dir_all(&dir)
            .map_err(|error| error.to_string())
            .and_then(|()| {
                Store::open(&dir, lsm::Options::new(message_bucket))
                    .map_err(|error| error.to_string())
            })
            .and_then(|store| {
                if let Some(bytes) = store.get_meta(LAST_ID_KEY).map_err(|e| e.to_string())? {
                    let bytes: [u8; 8] = bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| format!("{LAST_ID_KEY:?} is not 8 bytes"))?;
                    ids.resume_after(snowflake::Snowflake::new(u64::from_le_bytes(bytes)));
                }
                Ok(store)
            });
        if let Err(error) = &store {
            eprintln!(
                "flux: core {core}: message store {}: {error}",
                dir.display()
            );
        }
        let mut messages = Messages {
            store,
            ids,
            pending: VecDeque::new(),
            nonces: HashMap::new(),
            channels: HashMap::new(),
            guilds: HashMap::new(),
            limiter: config.limits.rest_rate_limits.then(RateLimiter::default),
            prune_at_ms: 0,
        };
        for guild in &world.guilds {
            messages.reindex_guild(guild.id.0, Some(guild));
        }
        messages
    }

    /// `Ok` if message `message_id` exists in channel `channel_id` of this core's store;
    /// 10008 Unknown Message if not.
    pub(super) fn message_exists(&self, channel_id: u64, message_id: u64) -> Result<(), RestError> {
        let store = self.store.as_ref().map_err(|_| RestError::StoreFailed)?;
        history::get_message(store, ChannelId(channel_id), MessageId(message_id))
            .map_err(history_error)?
            .map(|_| ())
            .ok_or(RestError::UnknownMessage)
    }

    /// A fresh Snowflake from this core's generator.
    pub(super) fn next_id(&mut self, now_unix_ms: u64) -> Result<u64, RestError> {
        self.ids
            .next(now_unix_ms)
            .map(|id| id.get())
            .map_err(|_| RestError::StoreFailed)
    }

    /// Appends a guild change (its whole new value, or its removal) to this core's
    /// store, with the newest issued Snowflake, and queues its answer and broadcast
    /// for when it is durable.
    pub(super) fn append_guild(
        &mut self,
        sync: super::guilds::GuildSync,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) -> Result<(), RestError> {
        let sync = Arc::new(sync);
        let put = |batch: &mut Batch| match &sync.guild {
            Some(guild) => crate::world::persist::put_guild(batch, guild),
            None => crate::world::persist::delete_guild(batch, GuildId(sync.guild_id)),
        };
        let event = PendingEvent::Guild(Arc::clone(&sync));
        self.append_pending(put, event, reply_core, conn, response)
    }

    /// Appends a new DM channel to this (its pair) core's store and queues its answer
    /// and `DmSync` for when it is durable.
    pub(super) fn append_dm(
        &mut self,
        channel: Arc<crate::world::dm::DmChannel>,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) -> Result<(), RestError> {
        let put = |batch: &mut Batch| crate::world::persist::put_dm(batch, &channel);
        let event = PendingEvent::Dm(Arc::clone(&channel));
        self.append_pending(put, event, reply_core, conn, response)
    }

    /// Appends an account (new, or with a new token generation) to this core's store,
    /// and queues its answer and broadcast for when it is durable (`accounts.rs`).
    pub(super) fn append_account(
        &mut self,
        sync: super::accounts::AccountSync,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) -> Result<(), RestError> {
        let sync = Arc::new(sync);
        let put = |batch: &mut Batch| {
            crate::world::persist::put_account(batch, &sync.account);
            if let Some(application) = &sync.application {
                crate::world::persist::put_application(batch, application);
            }
        };
        let event = PendingEvent::Account(Arc::clone(&sync));
        self.append_pending(put, event, reply_core, conn, response)
    }

    /// Builds a batch with `put`, and appends it as `append_batch` does.
    fn append_pending(
        &mut self,
        put: impl FnOnce(&mut Batch),
        event: PendingEvent,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) -> Result<(), RestError> {
        let store = self.store.as_mut().map_err(|_| RestError::StoreFailed)?;
        let mut batch = store.batch();
        put(&mut batch);
        self.append_batch(&mut batch, event, reply_core, conn, response)
    }

    /// Appends `batch` (with the newest issued Snowflake) to this core's store and
    /// queues `response` and `event` for when it is durable.
    fn append_batch(
        &mut self,
        batch: &mut Batch,
        event: PendingEvent,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) -> Result<(), RestError> {
        let store = self.store.as_mut().map_err(|_| RestError::StoreFailed)?;
        if let Some(last) = self.ids.last_id() {
            batch.put_meta(LAST_ID_KEY, last.get().to_le_bytes().to_vec());
        }
        let ticket = store.append(batch).map_err(RestError::from)?;
        self.pending.push_back(PendingWrite {
            ticket,
            reply_core,
            conn,
            response,
            event,
        });
        Ok(())
    }

    /// Makes every later Snowflake of this core greater than `id` (ids this core issued
    /// that live in another core's store, such as user ids, survive a clock step back).
    pub(super) fn resume_ids_after(&mut self, id: u64) {
        self.ids.resume_after(snowflake::Snowflake::new(id));
    }

    /// Rebuilds the channel index and permission view of guild `guild_id` from its new
    /// replica (`None`: the guild is gone).
    pub(super) fn reindex_guild(&mut self, guild_id: u64, guild: Option<&crate::world::Guild>) {
        self.channels
            .retain(|_, channel| channel.guild_id != guild_id);
        self.guilds.remove(&guild_id);
        let Some(guild) = guild else {
            return;
        };
        let snapshot = GuildSnapshot::of_guild(guild);
        for channel in &guild.channels {
            let channel_snapshot = super::guilds::channel_snapshot(guild, channel);
            let viewers = Arc::new(
                members_who_can_view(&snapshot, &channel_snapshot)
                    .into_iter()
                    .collect(),
            );
            self.channels.insert(
                channel.id.0,
                ChannelInfo {
                    guild_id,
                    dm_owner: None,
                    snapshot: channel_snapshot,
                    viewers,
                },
            );
        }
        self.guilds.insert(guild_id, snapshot);
    }

    /// Indexes DM channel `channel` as a guild of two: its own id stands for the guild,
    /// whose @everyone grants the recipients what Discord lets DM recipients do.
    pub(super) fn index_dm(&mut self, channel: &crate::world::dm::DmChannel, cores: usize) {
        use crate::world::permissions::MemberSnapshot;
        let id = channel.id.0;
        let pseudo = GuildId(id);
        let members: Vec<MemberSnapshot> = channel
            .recipients
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|user| MemberSnapshot {
                user_id: *user,
                role_ids: Vec::new(),
                communication_disabled_until_unix_ms: None,
            })
            .collect();
        let snapshot = GuildSnapshot {
            guild_id: pseudo,
            owner_id: UserId(0),
            roles: [(pseudo.everyone_role(), DM_PERMISSIONS)]
                .into_iter()
                .collect(),
            members,
        };
        self.channels.insert(
            id,
            ChannelInfo {
                guild_id: id,
                dm_owner: Some(channel.owner_core(cores)),
                snapshot: ChannelSnapshot {
                    class: crate::world::permissions::ChannelClass::Text,
                    overwrites: Vec::new(),
                    private_thread_members: None,
                },
                viewers: Arc::new(channel.recipients.iter().copied().collect()),
            },
        );
        self.guilds.insert(id, snapshot);
    }

    /// The core that owns channel `channel_id`'s messages, if the channel is known.
    pub(super) fn owner_of(&self, channel_id: u64, cores: usize) -> Option<usize> {
        let channel = self.channels.get(&channel_id)?;
        Some(
            channel
                .dm_owner
                .unwrap_or_else(|| owner_core(GuildId(channel.guild_id), cores)),
        )
    }

    /// Whether REST calls are rate limited (`Limits::rest_rate_limits`).
    pub(super) fn rate_limited(&self) -> bool {
        self.limiter.is_some()
    }

    /// Counts a call against its user's buckets on this, the user's home core: the
    /// verdict, or `None` when rate limits are off. Used by `rest_limits.rs`.
    pub(super) fn check_rate(&mut self, key: BucketKey, now_ms: u64) -> Option<Verdict> {
        let limiter = self.limiter.as_mut()?;
        if now_ms >= self.prune_at_ms {
            limiter.prune(now_ms);
            self.prune_at_ms = now_ms + 1000;
        }
        Some(limiter.check(key, now_ms))
    }

    /// The members who hold `needed` in channel `channel_id`, from the permission views
    /// `reindex_guild` keeps (the viewer set itself for VIEW_CHANNEL); `None` for a
    /// channel this core does not know.
    pub(super) fn members_with(
        &self,
        channel_id: u64,
        needed: Permissions,
    ) -> Option<BTreeSet<UserId>> {
        let channel = self.channels.get(&channel_id)?;
        if needed == Permissions::VIEW_CHANNEL {
            return Some(channel.viewers.iter().copied().collect());
        }
        let guild = self.guilds.get(&channel.guild_id)?;
        Some(
            guild
                .members
                .iter()
                .filter(|member| {
                    guild
                        .permissions_in(member, &channel.snapshot, 0)
                        .contains(needed)
                })
                .map(|member| member.user_id)
                .collect(),
        )
    }

    /// Whether writes wait for durability.
    pub(super) fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The store's wake eventfd, for the reactor to watch (`App::wake_fd`).
    pub(super) fn wake_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let fd = self.store.as_ref().ok()?.wake_fd()?;
        Some(fd.as_raw_fd())
    }
}

/// A response with the receiving core's headers. A 204 has no body and so no
/// `Content-Type` (discord.py parses any `application/json` body, even an empty one).
pub(super) fn json_response(headers: &[(String, String)], status: u16, body: Vec<u8>) -> Response {
    let headers = headers
        .iter()
        .filter(|(name, _)| status != 204 || !name.eq_ignore_ascii_case("content-type"))
        .cloned()
        .collect();
    Response {
        status,
        headers,
        body,
        file: None,
    }
}

pub(super) fn error_response(headers: &[(String, String)], error: &RestError) -> Response {
    let mut response = json_response(headers, error.status(), error.body());
    if *error == RestError::StoreBusy {
        // Back-pressure: the 429 headers every client library reads (CLIENTS.md §1.5).
        response.headers.retain(|(name, _)| {
            !name.eq_ignore_ascii_case("retry-after")
                && !name.eq_ignore_ascii_case("x-ratelimit-scope")
        });
        response.headers.push(("Retry-After".into(), "1".into()));
        response
            .headers
            .push(("X-RateLimit-Scope".into(), "shared".into()));
        response.headers.push(("Via".into(), "1.1 flux".into()));
    }
    response
}

fn encode(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value serialises")
}

impl FluxApp {
    /// `route_http`'s hook: answers message routes, or `None` for every other path.
    pub(super) fn try_message_route(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
    ) -> Option<HttpAnswer> {
        let method = Method::parse(&request.method);
        let path = request.path();
        let routed = message_route(method, path)?;
        super::Metrics::bump(&self.shared.metrics.rest_requests_total);
        let now_unix_ms = super::http_routes::unix_ms();
        let user = request
            .header_str("authorization")
            .and_then(|token| self.directory.authenticate(token).ok())
            .map(|entry| entry.user.id.0);
        let route_class = classify(method, path);
        let now_ms = self.now(out).0 / 1000;
        // Answers decided here (bad route, bad token, unknown channel) are not counted
        // against a bucket; they carry a fresh bucket's headers.
        let headers = super::http_routes::unmetered_headers(route_class, now_unix_ms);
        let route = match routed {
            Ok(route) => route,
            Err(error) => return Some(HttpAnswer::Respond(error_response(&headers, &error))),
        };
        let Some(user_id) = user else {
            return Some(HttpAnswer::Respond(error_response(
                &headers,
                &RestError::Unauthorized,
            )));
        };
        let Some(owner) = self.messages.owner_of(route.channel_id().0, self.cores) else {
            return Some(HttpAnswer::Respond(error_response(
                &headers,
                &RestError::UnknownChannel,
            )));
        };
        if owner != self.core {
            super::Metrics::bump(&self.shared.metrics.rest_message_forwarded_total);
        }
        let call = MessageCall {
            reply_core: self.core,
            conn,
            user_id,
            route,
            query: request
                .target
                .split_once('?')
                .map_or("", |(_, q)| q)
                .to_string(),
            body: request.body.clone(),
            content_type: request.header_str("content-type").map(str::to_string),
            headers,
        };
        let answered = match self.messages.limiter {
            Some(_) if self.home_core(user_id) != self.core => {
                out.send_mesh(
                    self.home_core(user_id),
                    FluxMesh::MessageRateCheck {
                        call: Box::new(call),
                        route: route_class,
                        now_ms,
                    },
                );
                None
            }
            Some(_) => self.admit_message_call(out, call, route_class, now_ms, true),
            None => self.forward_to_owner(out, call, true),
        };
        Some(answered.map_or(HttpAnswer::Later, HttpAnswer::Respond))
    }

    /// On the caller's home core (which holds its rate-limit logs): count the call, then
    /// answer 429 or pass it on to the owner core with the verdict's headers. `in_http`:
    /// called from this core's `handle_http`, whose answer is returned (`Some`) instead
    /// of sent.
    pub(super) fn admit_message_call(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        mut call: MessageCall,
        route: RouteClass,
        now_ms: u64,
        in_http: bool,
    ) -> Option<Response> {
        let verdict = match self.messages.limiter.as_mut() {
            Some(limiter) => {
                if now_ms >= self.messages.prune_at_ms {
                    limiter.prune(now_ms);
                    self.messages.prune_at_ms = now_ms + 1000;
                }
                let key = BucketKey {
                    user_id: call.user_id,
                    route,
                };
                limiter.check(key, now_ms)
            }
            None => Verdict::unmetered(route),
        };
        let now_unix_ms = super::http_routes::unix_ms();
        call.headers.truncate(1); // Content-Type
        call.headers.extend(
            verdict
                .headers(now_unix_ms)
                .into_iter()
                .map(|(name, value)| (name.to_string(), value)),
        );
        if let Some(body) = verdict.refusal_body() {
            let response = json_response(&call.headers, 429, body);
            return self.reply(out, call.reply_core, call.conn, response, in_http);
        }
        self.forward_to_owner(out, call, in_http)
    }

    /// Hands `call` to its channel's owner core: inline when that is this core.
    fn forward_to_owner(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: MessageCall,
        in_http: bool,
    ) -> Option<Response> {
        let owner = self
            .messages
            .owner_of(call.route.channel_id().0, self.cores)
            .unwrap_or(self.core);
        if owner != self.core {
            out.send_mesh(owner, FluxMesh::MessageCall(Box::new(call)));
            return None;
        }
        let (reply_core, conn) = (call.reply_core, call.conn);
        let response = self.owner_handle(out, call)?;
        self.reply(out, reply_core, conn, response, in_http)
    }

    /// An answer decided now: returned to `handle_http` on the receiving core, sent
    /// otherwise.
    fn reply(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        reply_core: usize,
        conn: ConnId,
        response: Response,
        in_http: bool,
    ) -> Option<Response> {
        if in_http {
            debug_assert_eq!(
                reply_core, self.core,
                "handle_http answers its own requests"
            );
            return Some(response);
        }
        self.send_answer(out, reply_core, conn, response);
        None
    }

    /// On the owner core: a call that came over the mesh.
    pub(super) fn handle_message_call(&mut self, out: &mut Outbox<FluxMesh>, call: MessageCall) {
        let answered = self.forward_to_owner(out, call, false);
        debug_assert!(answered.is_none(), "mesh calls are answered by message");
    }

    /// On the owner core: answers a read now (`Some`), or appends a write and answers it
    /// once durable (`None`; `finish_write` sends the answer).
    fn owner_handle(&mut self, out: &mut Outbox<FluxMesh>, call: MessageCall) -> Option<Response> {
        let now_unix_ms = super::http_routes::unix_ms();
        match self.owner_apply(&call, now_unix_ms) {
            Ok(Applied::Answer(status, body)) => Some(json_response(&call.headers, status, body)),
            Ok(Applied::Write {
                ticket,
                status,
                body,
                event,
            }) => {
                self.messages.pending.push_back(PendingWrite {
                    ticket,
                    reply_core: call.reply_core,
                    conn: call.conn,
                    response: json_response(&call.headers, status, body),
                    event: PendingEvent::Message(Arc::from(event)),
                });
                out.wake_at(out.now() + STORE_POLL_FALLBACK);
                None
            }
            Ok(Applied::Event(event)) => {
                let event: Arc<MessageEvent> = Arc::from(event);
                for core in 0..self.cores {
                    out.send_mesh(core, FluxMesh::MessageEvent(Arc::clone(&event)));
                }
                Some(json_response(&call.headers, 204, Vec::new()))
            }
            Err(error) => Some(error_response(&call.headers, &error)),
        }
    }

    fn owner_apply(&mut self, call: &MessageCall, now_unix_ms: u64) -> Result<Applied, RestError> {
        let messages = &mut self.messages;
        let channel_id = call.route.channel_id();
        let channel = messages
            .channels
            .get(&channel_id.0)
            .ok_or(RestError::UnknownChannel)?;
        let guild_id = channel.guild_id;
        let snapshot = messages
            .guilds
            .get(&guild_id)
            .ok_or(RestError::UnknownChannel)?;
        let user_id = UserId(call.user_id);
        let member = snapshot.member(user_id).ok_or(RestError::MissingAccess)?;
        let permissions = snapshot.permissions_in(member, &channel.snapshot, now_unix_ms);
        if !permissions.contains(Permissions::VIEW_CHANNEL) {
            return Err(RestError::MissingAccess);
        }
        let guild = self.guilds.guild(guild_id).map(|guild| &**guild);
        let json = |message: &Message| {
            let mut bytes = Vec::with_capacity(1024);
            write_message_json(
                message,
                &MessageJsonContext {
                    users: &self.directory,
                    guild,
                    viewer: Some(user_id),
                    referenced_message: None,
                    thread: None,
                },
                None,
                &mut bytes,
            );
            bytes
        };
        let store = messages
            .store
            .as_mut()
            .map_err(|_| RestError::StoreFailed)?;
        match call.route.clone() {
            MessageRoute::List(_) => {
                let query = parse_history_query(&call.query)?;
                if !permissions.contains(Permissions::READ_MESSAGE_HISTORY) {
                    // Discord: without READ_MESSAGE_HISTORY no messages are returned.
                    query.validate().map_err(history_error)?;
                    return Ok(Applied::Answer(200, b"[]".to_vec()));
                }
                let page = history::history(store, channel_id, &query).map_err(history_error)?;
                let mut body = Vec::with_capacity(page.len() * 512 + 2);
                body.push(b'[');
                for (index, message) in page.iter().enumerate() {
                    if index > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(&json(message));
                }
                body.push(b']');
                Ok(Applied::Answer(200, body))
            }
            MessageRoute::Get(_, message_id) => {
                if !permissions.contains(Permissions::READ_MESSAGE_HISTORY) {
                    return Err(RestError::MissingPermissions);
                }
                let message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                Ok(Applied::Answer(200, json(&message)))
            }
            MessageRoute::Create(_) => {
                if !permissions.contains(Permissions::SEND_MESSAGES) {
                    return Err(RestError::MissingPermissions);
                }
                let upload =
                    super::attachments::parse_upload(call.content_type.as_deref(), &call.body)?;
                let create = parse_create_with_files(&upload.payload, upload.files.len())?;
                let nonce_key = create.nonce.as_ref().map(|nonce| match nonce {
                    Nonce::Text(text) => NonceKey::Text(text.clone()),
                    Nonce::Integer(n) => NonceKey::Integer(*n),
                });
                if let (true, Some(key)) = (create.enforce_nonce, &nonce_key) {
                    if let Some((original, at)) = messages.nonces.get(&(call.user_id, key.clone()))
                    {
                        if now_unix_ms.saturating_sub(*at) < NONCE_TTL_MS {
                            return Ok(Applied::Answer(200, json(original)));
                        }
                    }
                }
                let author = self
                    .directory
                    .user(user_id)
                    .ok_or(RestError::Unauthorized)?;
                // Files are durable before the message that names them is appended.
                let attachments =
                    self.attachments
                        .store(&upload, channel_id, &mut messages.ids, now_unix_ms)?;
                let id = messages
                    .ids
                    .next(now_unix_ms)
                    .map_err(|_| RestError::StoreFailed)?;
                let mut message = Message::new(
                    MessageId(id.get()),
                    channel_id,
                    channel.dm_owner.is_none().then_some(GuildId(guild_id)),
                    Author::of(author),
                    create.content,
                );
                message.tts = create.tts;
                message.embeds = create.embeds;
                message.nonce = create.nonce;
                message.attachments = attachments;
                set_mentions(&mut message, permissions, &self.directory, snapshot);
                let mut batch = store.batch();
                history::put_message(&mut batch, &message);
                batch.put_meta(LAST_ID_KEY, id.get().to_le_bytes().to_vec());
                let body = json(&message);
                // Kept for `enforce_nonce` only once the append is accepted, and cloned only
                // when the client asked for it.
                let kept = match (create.enforce_nonce, nonce_key) {
                    (true, Some(key)) => Some((key, Arc::new(message.clone()))),
                    _ => None,
                };
                let applied =
                    Applied::write(store, &mut batch, 200, body, MessageEvent::Create(message))?;
                if let Some((key, message)) = kept {
                    messages
                        .nonces
                        .retain(|_, (_, at)| now_unix_ms.saturating_sub(*at) < NONCE_TTL_MS);
                    messages
                        .nonces
                        .insert((call.user_id, key), (message, now_unix_ms));
                }
                Ok(applied)
            }
            MessageRoute::Edit(_, message_id) => {
                let mut message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                if message.author.id != user_id {
                    return Err(RestError::NotAuthor);
                }
                let edit = parse_edit(&call.body)?;
                if let Some(content) = edit.content {
                    message.content = content;
                    set_mentions(&mut message, permissions, &self.directory, snapshot);
                }
                if let Some(embeds) = edit.embeds {
                    message.embeds = embeds;
                }
                if message.content.is_empty() && message.embeds.is_empty() {
                    return Err(RestError::EmptyMessage);
                }
                message.edited_at_unix_ms = Some(now_unix_ms);
                let mut batch = store.batch();
                history::put_message(&mut batch, &message);
                let body = json(&message);
                Applied::write(store, &mut batch, 200, body, MessageEvent::Update(message))
            }
            MessageRoute::Delete(_, message_id) => {
                let message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                if message.author.id != user_id
                    && !permissions.contains(Permissions::MANAGE_MESSAGES)
                {
                    return Err(RestError::MissingPermissions);
                }
                let mut batch = store.batch();
                history::delete_message(&mut batch, channel_id, message_id);
                let event = MessageEvent::Delete {
                    guild_id,
                    channel_id,
                    message_id,
                };
                Applied::write(store, &mut batch, 204, Vec::new(), event)
            }
            MessageRoute::AddReaction(_, message_id, emoji) => {
                if !permissions.contains(Permissions::READ_MESSAGE_HISTORY) {
                    return Err(RestError::MissingPermissions);
                }
                let mut message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                // Discord: joining an existing reaction needs no ADD_REACTIONS.
                let existing = message.reactions.iter().any(|r| r.emoji == emoji);
                if !existing && !permissions.contains(Permissions::ADD_REACTIONS) {
                    return Err(RestError::MissingPermissions);
                }
                if !message.add_reaction(&emoji, user_id) {
                    return Ok(Applied::Answer(204, Vec::new()));
                }
                let author = message.author.id;
                reaction_write(
                    store,
                    &message,
                    guild_id,
                    ReactionChange::Add {
                        user_id,
                        emoji,
                        author,
                    },
                )
            }
            MessageRoute::RemoveReaction(_, message_id, emoji, user) => {
                let target = user.unwrap_or(user_id);
                if target != user_id && !permissions.contains(Permissions::MANAGE_MESSAGES) {
                    return Err(RestError::MissingPermissions);
                }
                let mut message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                if !message.remove_reaction(&emoji, target) {
                    return Ok(Applied::Answer(204, Vec::new()));
                }
                reaction_write(
                    store,
                    &message,
                    guild_id,
                    ReactionChange::Remove {
                        user_id: target,
                        emoji,
                    },
                )
            }
            MessageRoute::RemoveAllReactions(_, message_id) => {
                if !permissions.contains(Permissions::MANAGE_MESSAGES) {
                    return Err(RestError::MissingPermissions);
                }
                let mut message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                if message.reactions.is_empty() {
                    return Ok(Applied::Answer(204, Vec::new()));
                }
                message.reactions.clear();
                reaction_write(store, &message, guild_id, ReactionChange::RemoveAll)
            }
            MessageRoute::RemoveEmojiReactions(_, message_id, emoji) => {
                if !permissions.contains(Permissions::MANAGE_MESSAGES) {
                    return Err(RestError::MissingPermissions);
                }
                let mut message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                let before = message.reactions.len();
                message.reactions.retain(|r| r.emoji != emoji);
                if message.reactions.len() == before {
                    return Ok(Applied::Answer(204, Vec::new()));
                }
                reaction_write(
                    store,
                    &message,
                    guild_id,
                    ReactionChange::RemoveEmoji(emoji),
                )
            }
            MessageRoute::ListReactions(_, message_id, emoji) => {
                if !permissions.contains(Permissions::READ_MESSAGE_HISTORY) {
                    return Err(RestError::MissingPermissions);
                }
                let (limit, after) = parse_reaction_query(&call.query)?;
                let message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                let mut ids: Vec<UserId> = message
                    .reactions
                    .iter()
                    .find(|r| r.emoji == emoji)
                    .map(|r| r.user_ids.clone())
                    .unwrap_or_default();
                ids.sort_unstable();
                let users: Vec<serde_json::Value> = ids
                    .into_iter()
                    .filter(|id| id.0 > after)
                    .filter_map(|id| self.directory.user(id))
                    .take(limit)
                    .map(crate::world::user_json)
                    .collect();
                Ok(Applied::Answer(
                    200,
                    encode(&serde_json::Value::from(users)),
                ))
            }
            MessageRoute::Typing(_) => {
                if !permissions.contains(Permissions::SEND_MESSAGES) {
                    return Err(RestError::MissingPermissions);
                }
                Ok(Applied::Event(Box::new(MessageEvent::Typing {
                    guild_id,
                    channel_id,
                    user_id,
                    timestamp_s: now_unix_ms / 1000,
                })))
            }
            MessageRoute::ListPins { legacy, .. } => {
                if !permissions.contains(Permissions::READ_MESSAGE_HISTORY) {
                    return Ok(Applied::Answer(
                        200,
                        if legacy {
                            b"[]".to_vec()
                        } else {
                            br#"{"items":[],"has_more":false}"#.to_vec()
                        },
                    ));
                }
                let pins = read_pins(store, channel_id)?;
                let mut items = Vec::with_capacity(pins.len());
                for (message_id, pinned_at) in pins {
                    let Some(message) = history::get_message(store, channel_id, message_id)
                        .map_err(history_error)?
                    else {
                        continue; // deleted since it was pinned
                    };
                    let value: serde_json::Value =
                        serde_json::from_slice(&json(&message)).expect("message_json is JSON");
                    items.push(if legacy {
                        value
                    } else {
                        serde_json::json!({
                            "pinned_at": crate::world::iso8601_from_unix_ms(pinned_at),
                            "message": value,
                        })
                    });
                }
                let body = if legacy {
                    serde_json::Value::from(items)
                } else {
                    serde_json::json!({ "items": items, "has_more": false })
                };
                Ok(Applied::Answer(200, encode(&body)))
            }
            MessageRoute::Pin(_, message_id) | MessageRoute::Unpin(_, message_id) => {
                let pin = matches!(call.route, MessageRoute::Pin(..));
                if !permissions.contains(Permissions::MANAGE_MESSAGES)
                    && !permissions.contains(Permissions::PIN_MESSAGES)
                {
                    return Err(RestError::MissingPermissions);
                }
                let mut message = history::get_message(store, channel_id, message_id)
                    .map_err(history_error)?
                    .ok_or(RestError::UnknownMessage)?;
                if message.pinned == pin {
                    return Ok(Applied::Answer(204, Vec::new()));
                }
                let mut pins = read_pins(store, channel_id)?;
                pins.retain(|(id, _)| *id != message_id);
                if pin {
                    if pins.len() >= PINS_MAX {
                        return Err(RestError::MaxPins);
                    }
                    pins.insert(0, (message_id, now_unix_ms));
                }
                message.pinned = pin;
                let mut batch = store.batch();
                history::put_message(&mut batch, &message);
                batch.put_meta(&pins_key(channel_id), encode_pins(&pins));
                let event = MessageEvent::PinsUpdate {
                    guild_id,
                    channel_id,
                    last_pin_unix_ms: pins.first().map(|(_, at)| *at),
                };
                Applied::write(store, &mut batch, 204, Vec::new(), event)
            }
            MessageRoute::BulkDelete(_) => {
                if !permissions.contains(Permissions::MANAGE_MESSAGES) {
                    return Err(RestError::MissingPermissions);
                }
                let asked = parse_bulk_delete(&call.body, now_unix_ms)?;
                let mut batch = store.batch();
                let mut message_ids = Vec::with_capacity(asked.len());
                for message_id in asked {
                    // Discord skips ids that name no message in the channel.
                    if history::get_message(store, channel_id, message_id)
                        .map_err(history_error)?
                        .is_some()
                    {
                        history::delete_message(&mut batch, channel_id, message_id);
                        message_ids.push(message_id);
                    }
                }
                if message_ids.is_empty() {
                    return Ok(Applied::Answer(204, Vec::new()));
                }
                let event = MessageEvent::DeleteBulk {
                    guild_id,
                    channel_id,
                    message_ids,
                };
                Applied::write(store, &mut batch, 204, Vec::new(), event)
            }
        }
    }

    /// When the store's wake fd fires (and on ticks while writes wait): poll the store,
    /// which also drains the fd, and finish the writes that became durable.
    pub(super) fn poll_store(&mut self, out: &mut Outbox<FluxMesh>) {
        let Ok(store) = self.messages.store.as_mut() else {
            return;
        };
        match store.poll() {
            Ok(_) => {
                let durable = store.durable();
                while self
                    .messages
                    .pending
                    .front()
                    .is_some_and(|write| write.ticket <= durable)
                {
                    let write = self.messages.pending.pop_front().expect("front exists");
                    self.finish_write(out, write);
                }
            }
            Err(error) => {
                // The store is poisoned: nothing pending will ever be durable.
                eprintln!("flux: core {}: message store failed: {error}", self.core);
                let failed: Vec<PendingWrite> = self.messages.pending.drain(..).collect();
                for write in failed {
                    let mut response = write.response;
                    response.status = 500;
                    response.body = RestError::StoreFailed.body();
                    self.send_answer(out, write.reply_core, write.conn, response);
                }
            }
        }
        if self.messages.waiting() {
            out.wake_at(out.now() + STORE_POLL_FALLBACK);
        }
    }

    /// A write is durable: answer it and send its event once to every core.
    fn finish_write(&mut self, out: &mut Outbox<FluxMesh>, write: PendingWrite) {
        match write.event {
            PendingEvent::Message(event) => {
                super::Metrics::bump(&self.shared.metrics.message_writes_durable_total);
                self.send_answer(out, write.reply_core, write.conn, write.response);
                for core in 0..self.cores {
                    out.send_mesh(core, FluxMesh::MessageEvent(Arc::clone(&event)));
                }
            }
            PendingEvent::Dm(channel) => {
                // Every core indexes it first, then the answer (`dms.rs`).
                self.broadcast_dm(out, channel, write.reply_core, write.conn, write.response);
            }
            PendingEvent::Account(sync) => {
                // Every core's directory first, then the answer (`accounts.rs`).
                self.broadcast_account(out, sync, write.reply_core, write.conn, write.response);
            }
            PendingEvent::Guild(sync) => {
                super::Metrics::bump(&self.shared.metrics.guild_writes_durable_total);
                // Every core's replica first, then the answer: the caller reads its
                // write on any connection (`held_answers.rs`).
                self.broadcast_guild_sync(out, sync, write.reply_core, write.conn, write.response);
            }
        }
    }

    pub(super) fn send_answer(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) {
        if reply_core == self.core {
            out.respond(conn, response);
        } else {
            out.send_mesh(
                reply_core,
                FluxMesh::MessageAnswer {
                    conn,
                    response: Box::new(response),
                },
            );
        }
    }

    /// On every core: hand durable changes to each local session that may see them.
    /// `events` are consecutive mesh messages about one channel (`handle_mesh_batch`
    /// groups them); each session gets all of them in a row, so its state, replay ring and
    /// outbound queue are fetched into the CPU's cache once per run, not once per event.
    /// Each `d` is serialised at most twice per core (with and without content); sessions
    /// get the variant `message_content_visible` picks for them.
    pub(super) fn deliver_events(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        events: &[Arc<MessageEvent>],
    ) {
        let Some(first) = events.first() else {
            return;
        };
        let channel_id = first.channel_id();
        assert!(
            events.iter().all(|event| event.channel_id() == channel_id),
            "a run of message events is about one channel"
        );
        let Some(channel) = self.messages.channels.get(&channel_id.0) else {
            return;
        };
        let guild_id = channel.guild_id;
        let dm = channel.dm_owner.is_some();
        let viewers = Arc::clone(&channel.viewers);
        let replica = self.guilds.guild(guild_id).cloned();
        let guild = replica.as_deref();
        let encoded: Vec<EncodedEvent<'_>> = events
            .iter()
            .map(|event| self.encode_event(event, guild, guild_id, dm))
            .collect();
        let directory = &self.directory;
        let redact = |name: &str, message: &Message| {
            encode_message_dispatch(directory, guild, name, message, dm, guild_id)
        };
        let now = self.now(out);
        let mut conns = std::mem::take(&mut self.fanout_conns);
        conns.clear();
        let mut to_pump = Vec::new();
        let mut runs: Vec<(u64, Option<DispatchRun>)> = Vec::new();
        conns.extend(
            self.subscribers
                .get(&guild_id)
                .into_iter()
                .flatten()
                .copied(),
        );
        for &conn in &conns {
            let Some(gateway) = self.conns.get_mut(&conn) else {
                continue;
            };
            let session = &mut gateway.session;
            let (Some(user_id), Some(intents)) = (session.user_id(), session.intents()) else {
                continue;
            };
            if !viewers.contains(&UserId(user_id)) {
                continue;
            }
            // The run as this session sees it (which events without content), framed once
            // per distinct view; queued whole when the session takes the fast path.
            if let Some(view) = run_view(&encoded, user_id, intents, &redact) {
                let at = match runs.iter().position(|(seen, _)| *seen == view) {
                    Some(at) => at,
                    None => {
                        let events = encoded
                            .iter()
                            .map(|event| Arc::clone(event.pick(user_id, intents, &redact)))
                            .collect();
                        runs.push((view, DispatchRun::new(events)));
                        runs.len() - 1
                    }
                };
                if let Some(run) = &runs[at].1 {
                    if let Some(first) = session.dispatch_run(now, run) {
                        out.send_run(conn, Arc::clone(run.frames()), first);
                        continue;
                    }
                }
            }
            let mut pump = false;
            for event in &encoded {
                let dispatch = event.pick(user_id, intents, &redact);
                match session.dispatch(now, dispatch) {
                    Some(frame) => super::gateway::send_frame(out, conn, frame),
                    // Queued inside the session (window full, or it is closing): the
                    // pump below takes it out, in order, after the rest of the run.
                    None => pump = true,
                }
            }
            if pump {
                to_pump.push(conn);
            }
        }
        self.fanout_conns = conns;
        for parked in self.detached.values_mut() {
            if !parked.guild_ids.contains(&guild_id)
                || !viewers.contains(&UserId(parked.state.user_id()))
            {
                continue;
            }
            let (user_id, intents) = (parked.state.user_id(), parked.state.intents());
            for event in &encoded {
                parked
                    .state
                    .handle_dispatch(event.pick(user_id, intents, &redact));
            }
        }
        for conn in to_pump {
            self.pump(out, conn);
        }
    }

    /// The dispatch for `event` in channel `guild_id` (a DM channel's own id when `dm`;
    /// `guild` is this core's replica of it), serialised once for every session of this
    /// core.
    fn encode_event<'a>(
        &self,
        event: &'a MessageEvent,
        guild: Option<&crate::world::Guild>,
        guild_id: u64,
        dm: bool,
    ) -> EncodedEvent<'a> {
        let (scope, message_intents) = message_dispatch_target(guild_id, dm);
        let encode_message = |name: &str, message: &Message| {
            encode_message_dispatch(&self.directory, guild, name, message, dm, guild_id)
        };
        let (full, message) = match event {
            MessageEvent::Create(message) => (
                encode_message("MESSAGE_CREATE", message),
                Some(("MESSAGE_CREATE", message)),
            ),
            MessageEvent::Update(message) => (
                encode_message("MESSAGE_UPDATE", message),
                Some(("MESSAGE_UPDATE", message)),
            ),
            MessageEvent::Delete {
                channel_id,
                message_id,
                ..
            } => {
                let mut d = serde_json::json!({
                    "id": message_id.to_string(),
                    "channel_id": channel_id.to_string(),
                    "guild_id": guild_id.to_string(),
                });
                if dm {
                    strip_guild_fields(&mut d);
                }
                let dispatch = Dispatch::new("MESSAGE_DELETE", encode(&d), scope, message_intents);
                (dispatch, None)
            }
            MessageEvent::DeleteBulk {
                channel_id,
                message_ids,
                ..
            } => {
                let d = serde_json::json!({
                    "ids": message_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "channel_id": channel_id.to_string(),
                    "guild_id": guild_id.to_string(),
                });
                let dispatch =
                    Dispatch::new("MESSAGE_DELETE_BULK", encode(&d), scope, message_intents);
                (dispatch, None)
            }
            MessageEvent::Reaction { .. }
            | MessageEvent::Typing { .. }
            | MessageEvent::PinsUpdate { .. } => {
                let member = |user_id: UserId| {
                    guild
                        .and_then(|guild| guild.member(user_id))
                        .and_then(|member| {
                            let user = self.directory.user(member.user_id)?;
                            Some(crate::world::member_json(member, user))
                        })
                        .unwrap_or(serde_json::Value::Null)
                };
                let (name, mut d, mut intents) = other_event_json(event, guild_id, member);
                if dm {
                    strip_guild_fields(&mut d);
                    intents = dm_intents(intents);
                }
                let dispatch = Dispatch::new(name, encode(&d), scope, intents);
                (dispatch, None)
            }
        };
        EncodedEvent {
            full,
            message,
            redacted: std::cell::OnceCell::new(),
        }
    }
}

/// One message event as this core's sessions get it: the full dispatch, and (built only if
/// a viewer lacks MESSAGE_CONTENT, and then once) the one without content.
struct EncodedEvent<'a> {
    full: Arc<Dispatch>,
    /// The message and its event name, for events that carry content.
    message: Option<(&'static str, &'a Message)>,
    redacted: std::cell::OnceCell<Arc<Dispatch>>,
}

impl EncodedEvent<'_> {
    /// The variant `user_id`, with `intents`, may see; `redact` builds the one without
    /// content.
    fn pick(
        &self,
        user_id: u64,
        intents: Intents,
        redact: &impl Fn(&str, &Message) -> Arc<Dispatch>,
    ) -> &Arc<Dispatch> {
        let Some((name, message)) = self.message else {
            return &self.full;
        };
        if message.content_visible_to(UserId(user_id), intents.contains(Intents::MESSAGE_CONTENT)) {
            return &self.full;
        }
        self.redacted
            .get_or_init(|| redact(name, &message.without_content()))
    }
}

/// Which events of a run `user_id` (with `intents`) gets without their content, as bits;
/// `None` for a run longer than 64 events (then it goes event by event).
fn run_view(
    encoded: &[EncodedEvent<'_>],
    user_id: u64,
    intents: Intents,
    redact: &impl Fn(&str, &Message) -> Arc<Dispatch>,
) -> Option<u64> {
    if encoded.len() > 64 {
        return None;
    }
    Some(
        encoded
            .iter()
            .enumerate()
            .filter(|(_, event)| !Arc::ptr_eq(event.pick(user_id, intents, redact), &event.full))
            .fold(0, |view, (i, _)| view | 1 << i),
    )
}

/// Who a message event in channel `guild_id` goes to, and the intent it needs: a guild's
/// subscribers with GUILD_MESSAGES, or a DM's recipients with DIRECT_MESSAGES.
fn message_dispatch_target(guild_id: u64, dm: bool) -> (DispatchScope, Intents) {
    if dm {
        (DispatchScope::DirectMessage, Intents::DIRECT_MESSAGES)
    } else {
        (DispatchScope::Guild(guild_id), Intents::GUILD_MESSAGES)
    }
}

/// MESSAGE_CREATE or MESSAGE_UPDATE (`name`) for `message`, as every session of a core gets
/// it.
fn encode_message_dispatch(
    directory: &dyn UserLookup,
    guild: Option<&crate::world::Guild>,
    name: &str,
    message: &Message,
    dm: bool,
    guild_id: u64,
) -> Arc<Dispatch> {
    let (scope, message_intents) = message_dispatch_target(guild_id, dm);
    // discord.js finds a DM it has not cached by MESSAGE_CREATE's `channel_type`
    // (MessageCreate.js; without it no channel is made and the event is dropped), as
    // Discord sends it.
    let channel_type = if dm {
        Some(crate::world::dm::DM_CHANNEL_TYPE)
    } else {
        guild
            .and_then(|guild| guild.channel(message.channel_id))
            .map(|channel| channel.kind.discord_type())
    };
    let mut d = Vec::with_capacity(1024);
    write_message_json(
        message,
        &MessageJsonContext {
            users: directory,
            guild,
            viewer: None,
            referenced_message: None,
            thread: None,
        },
        channel_type,
        &mut d,
    );
    Dispatch::new(name, d, scope, message_intents)
}

/// What DM recipients may do: the channel is theirs (Discord computes no permissions
/// for DMs; this is the set its checks amount to).
const DM_PERMISSIONS: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::READ_MESSAGE_HISTORY)
    .union(Permissions::ADD_REACTIONS)
    .union(Permissions::EMBED_LINKS)
    .union(Permissions::ATTACH_FILES)
    .union(Permissions::USE_EXTERNAL_EMOJIS);

/// A DM event's `d` has no `guild_id` and no `member`.
fn strip_guild_fields(d: &mut serde_json::Value) {
    if let serde_json::Value::Object(fields) = d {
        fields.remove("guild_id");
        fields.remove("member");
    }
}

/// The DM intent that gates what `guild_intents` gates in a guild.
fn dm_intents(guild_intents: Intents) -> Intents {
    if guild_intents == Intents::GUILD_MESSAGE_REACTIONS {
        Intents::DIRECT_MESSAGE_REACTIONS
    } else if guild_intents == Intents::GUILD_MESSAGE_TYPING {
        Intents::DIRECT_MESSAGE_TYPING
    } else if guild_intents == Intents::GUILD_MESSAGES || guild_intents == Intents::GUILDS {
        Intents::DIRECT_MESSAGES
    } else {
        guild_intents
    }
}

/// What the owner did with a call.
enum Applied {
    /// A read: answer now.
    Answer(u16, Vec<u8>),
    /// Nothing to store (typing): answer 204 now and send the event.
    Event(Box<MessageEvent>),
    /// A write: answer once `ticket` is durable, then send `event`.
    Write {
        ticket: Ticket,
        status: u16,
        body: Vec<u8>,
        event: Box<MessageEvent>,
    },
}

impl Applied {
    /// Appends `batch` to the owner core's store (never blocking) and returns the write to
    /// answer with `status` and `body`, and to dispatch as `event`, once the ticket is
    /// durable. Every write route ends here, so a store refusal is answered in one place.
    fn write(
        store: &mut Store,
        batch: &mut Batch,
        status: u16,
        body: Vec<u8>,
        event: MessageEvent,
    ) -> Result<Applied, RestError> {
        let ticket = store.append(batch).map_err(RestError::from)?;
        Ok(Applied::Write {
            ticket,
            status,
            body,
            event: Box::new(event),
        })
    }
}

/// Fills `mentions`, `mention_roles` and `mention_everyone` from the content, as Discord
/// does: users that exist, roles of the guild, and @everyone / @here only when the author
/// has MENTION_EVERYONE. The mentioned users see the content without MESSAGE_CONTENT.
fn set_mentions(
    message: &mut Message,
    permissions: Permissions,
    users: &dyn UserLookup,
    guild: &GuildSnapshot,
) {
    let found = parse_mentions(&message.content);
    message.mentions = found
        .users
        .into_iter()
        .map(UserId)
        .filter(|&id| users.user(id).is_some())
        .collect();
    message.mention_roles = found
        .roles
        .into_iter()
        .map(crate::world::RoleId)
        .filter(|role| guild.roles.contains_key(role))
        .collect();
    message.mention_everyone =
        found.everyone && permissions.contains(Permissions::MENTION_EVERYONE);
}

fn history_error(error: HistoryError) -> RestError {
    match error {
        HistoryError::LimitOutOfRange { .. } => RestError::InvalidFormBody {
            field: "limit",
            code: "NUMBER_TYPE_MAX",
            message: "Must be between 1 and 100.".into(),
        },
        HistoryError::ConflictingAnchors => RestError::InvalidFormBody {
            field: "around",
            code: "BASE_TYPE_BAD_COMBINATION",
            message: "Only one of before, after and around may be given.".into(),
        },
        _ => RestError::StoreFailed,
    }
}

/// Most pins in one channel (Discord: 250; then 30003).
const PINS_MAX: usize = 250;

/// The meta key of a channel's pin list.
fn pins_key(channel_id: ChannelId) -> Vec<u8> {
    format!("pins.{}", channel_id.0).into_bytes()
}

/// A pin list: `(message id, pinned at unix ms)` pairs, newest first, as u64 LE pairs.
fn encode_pins(pins: &[(MessageId, u64)]) -> Vec<u8> {
    pins.iter()
        .flat_map(|(id, at)| id.0.to_le_bytes().into_iter().chain(at.to_le_bytes()))
        .collect()
}

fn read_pins(store: &Store, channel_id: ChannelId) -> Result<Vec<(MessageId, u64)>, RestError> {
    let bytes = store
        .get_meta(&pins_key(channel_id))
        .map_err(|_| RestError::StoreFailed)?
        .unwrap_or_default();
    Ok(bytes
        .chunks_exact(16)
        .map(|pair| {
            let id = u64::from_le_bytes(pair[..8].try_into().expect("8 bytes"));
            let at = u64::from_le_bytes(pair[8..].try_into().expect("8 bytes"));
            (MessageId(id), at)
        })
        .collect())
}

/// Rewrites `message` (its reactions changed) and names the event to send once durable.
fn reaction_write(
    store: &mut Store,
    message: &Message,
    guild_id: u64,
    change: ReactionChange,
) -> Result<Applied, RestError> {
    let mut batch = store.batch();
    history::put_message(&mut batch, message);
    let event = MessageEvent::Reaction {
        guild_id,
        channel_id: message.channel_id,
        message_id: message.id,
        change,
    };
    Applied::write(store, &mut batch, 204, Vec::new(), event)
}

/// `GET …/reactions/{emoji}`'s query: `limit` 1–100 (default 25) and `after` (a user id).
fn parse_reaction_query(query: &str) -> Result<(usize, u64), RestError> {
    let mut limit = 25;
    let mut after = 0;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| RestError::InvalidFormBody {
                        field: "limit",
                        code: "NUMBER_TYPE_MAX",
                        message: "Must be between 1 and 100.".into(),
                    })?;
            }
            "after" => {
                after = value
                    .parse::<u64>()
                    .map_err(|_| RestError::InvalidFormBody {
                        field: "after",
                        code: "NUMBER_TYPE_COERCE",
                        message: format!("Value \"{value}\" is not snowflake."),
                    })?;
            }
            _ => {}
        }
    }
    Ok((limit, after))
}

fn emoji_json(emoji: &Emoji) -> serde_json::Value {
    match emoji.id {
        Some(id) => serde_json::json!({
            "id": id.to_string(),
            "name": emoji.name,
            "animated": emoji.animated,
        }),
        None => serde_json::json!({ "id": null, "name": emoji.name }),
    }
}

/// The name, `d` and gating intent of a reaction, typing or pins event (CLIENTS.md §1.6).
/// `member`: a guild member's JSON (with `user`, `roles`, `flags`), or null.
fn other_event_json(
    event: &MessageEvent,
    guild_id: u64,
    member: impl Fn(UserId) -> serde_json::Value,
) -> (&'static str, serde_json::Value, Intents) {
    use serde_json::json;
    let guild = guild_id.to_string();
    match event {
        MessageEvent::Reaction {
            channel_id,
            message_id,
            change,
            ..
        } => {
            let (channel, message) = (channel_id.to_string(), message_id.to_string());
            let (name, d) = match change {
                ReactionChange::Add {
                    user_id,
                    emoji,
                    author,
                } => (
                    "MESSAGE_REACTION_ADD",
                    json!({
                        "user_id": user_id.to_string(),
                        "channel_id": channel,
                        "message_id": message,
                        "guild_id": guild,
                        "member": member(*user_id),
                        "emoji": emoji_json(emoji),
                        "message_author_id": author.to_string(),
                        "burst": false,
                        "burst_colors": [],
                        "type": 0,
                    }),
                ),
                ReactionChange::Remove { user_id, emoji } => (
                    "MESSAGE_REACTION_REMOVE",
                    json!({
                        "user_id": user_id.to_string(),
                        "channel_id": channel,
                        "message_id": message,
                        "guild_id": guild,
                        "emoji": emoji_json(emoji),
                        "burst": false,
                        "type": 0,
                    }),
                ),
                ReactionChange::RemoveAll => (
                    "MESSAGE_REACTION_REMOVE_ALL",
                    json!({ "channel_id": channel, "message_id": message, "guild_id": guild }),
                ),
                ReactionChange::RemoveEmoji(emoji) => (
                    "MESSAGE_REACTION_REMOVE_EMOJI",
                    json!({
                        "channel_id": channel,
                        "message_id": message,
                        "guild_id": guild,
                        "emoji": emoji_json(emoji),
                    }),
                ),
            };
            (name, d, Intents::GUILD_MESSAGE_REACTIONS)
        }
        MessageEvent::Typing {
            channel_id,
            user_id,
            timestamp_s,
            ..
        } => (
            "TYPING_START",
            json!({
                "channel_id": channel_id.to_string(),
                "guild_id": guild,
                "user_id": user_id.to_string(),
                "timestamp": timestamp_s,
                "member": member(*user_id),
            }),
            Intents::GUILD_MESSAGE_TYPING,
        ),
        MessageEvent::PinsUpdate {
            channel_id,
            last_pin_unix_ms,
            ..
        } => (
            "CHANNEL_PINS_UPDATE",
            json!({
                "guild_id": guild,
                "channel_id": channel_id.to_string(),
                "last_pin_timestamp": last_pin_unix_ms.map(crate::world::iso8601_from_unix_ms),
            }),
            Intents::GUILDS,
        ),
        MessageEvent::Create(_)
        | MessageEvent::Update(_)
        | MessageEvent::Delete { .. }
        | MessageEvent::DeleteBulk { .. } => {
            unreachable!("message events are encoded by deliver_events")
        }
    }
}
