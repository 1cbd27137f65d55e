//! The Flux application: what each core's reactor runs.
//!
//! [`FluxApp`] implements [`reactor::App`](crate::reactor::App). It is a thin shell
//! between the reactor and the sans-IO cores: HTTP requests go to the REST core
//! (`crate::rest`), WebSocket upgrades on any path of the main listener become gateway
//! sessions ([`Session`](crate::gateway::Session)), upgrades on a core's voice listener
//! become voice gateway sessions ([`VoiceSession`](crate::voice::VoiceSession)), datagrams
//! on its UDP socket go to its SFU, and the questions a session asks (is this
//! token valid, may this user identify now, where is the session this client resumes)
//! are answered from the world snapshot or by another core over the mesh.
//!
//! Files, one job each:
//! - `http_routes.rs`: HTTP routing — REST bridge, `/_flux/metrics`, upgrades.
//! - `body_gate.rs`: what a request head must show before its body is read.
//! - `answers.rs`: JSON and error responses, and the one way an answer reaches its
//!   connection (here, or over the mesh); the application's one wall clock.
//! - `metering.rs`: the rate-limit hop on the caller's home core, and its limiter.
//! - `mesh.rs`: the messages between cores, and `Call`, the one message that carries a
//!   request to the core that runs it.
//! - `commit.rs`: the owner core's store, Snowflake generator and writes in flight.
//! - `writes.rs`: what happens when a write settles: answer and announce, or undo.
//! - `held_answers.rs`: answers held until every core has taken a change.
//! - `channel_index.rs`: every channel's guild, owner core, permission view and viewers.
//! - `messages.rs`: the message routes on the owner (rules in `world::message_ops`).
//! - `message_state.rs`: the owner's messages in flight and `enforce_nonce` dedupe.
//! - `message_fanout.rs`: MESSAGE_* events to every local session that may see them.
//! - `fanout_hold.rs`: the run of message events gathered for one fan-out, and how long it
//!   may wait while the core is behind its sockets.
//! - `attachments.rs`: multipart uploads stored under `<data-dir>/attachments/` and
//!   served by `GET /attachments/…`.
//! - `guild_state.rs`: every guild as this core knows it (replicas, indexes, and the
//!   owner's working and durable copies).
//! - `guild_calls.rs`: a guild-changing call from the receiving core to the owner's
//!   commit.
//! - `guild_fanout.rs`: a durable guild change on every core (replica, GUILD_CREATE /
//!   GUILD_DELETE to joining / leaving members, delta events).
//! - `dms.rs`: `POST/GET /users/@me/channels` and every core's DM replicas.
//! - `accounts.rs`: `/auth/register`, `/auth/login`, `/auth/logout`, `PATCH /users/@me`:
//!   the username registry on core 0, account writes on the home core, every core's copy.
//! - `logins.rs`: `POST /auth/login`: the name's failures on its home core, the address's
//!   on the receiving core, the hash on the receiving core.
//! - `metrics_gate.rs`: who may read `GET /_flux/metrics` (loopback, or a bearer token).
//! - `login_throttle.rs`: password attempts per key (name or address) in a sliding minute.
//! - `rest_limits.rs`: the account-free REST routes, answered on the home core.
//! - `gateway.rs`: one gateway connection's life: feeding its `Session`, draining its
//!   outputs into the outbox in order, identify, READY + GUILD_CREATE, dispatch fan-out.
//! - `resume.rs`: detached sessions, their expiry, and Resume across cores.
//! - `voice_states.rs`: voice states across cores (op 4 → the guild's owner →
//!   VOICE_STATE_UPDATE on every core, VOICE_SERVER_UPDATE to the asking session).
//! - `voice_gateway.rs`: the owner's voice gateway connections, its SFU, and the UDP
//!   datagrams between them.
//! - `voice_metrics.rs`: the `voice` section of `/_flux/metrics`, gathered from every
//!   core.
//! - `presence.rs`: presence across cores (op 3 → home core → PRESENCE_UPDATE on every
//!   core) and member chunks (op 8 → GUILD_MEMBERS_CHUNK from the local replica).
//! - `test_hooks.rs`: `/_flux/test/*`, for tests only (`Config::test_hooks`).
//! - `shared.rs`: the read-only state every core shares, and the metrics.
//!
//! Connection life cycle:
//!
//! ```text
//! accept ─► HTTP request ─► REST / metrics / test hook answer (keep-alive)
//!               │ Upgrade: websocket (any path)
//!               ▼
//!          handle_ws_open: Session::new(query) ─► Hello
//!               │ op 2 ─► Authenticate ─► Directory + IdentifyLimiter (home core)
//!               │ op 6 ─► Resume ─► detached map here, or ResumeAsk to the id's core
//!               ▼
//!          Live: READY, GUILD_CREATE per guild, dispatches, heartbeats
//!               │ socket closed / session closed (resumable code)
//!               ▼
//!          handle_closed: Session::into_resumable ─► Detached (on this core; the
//!               │                                   home core learns where)
//!               │ Resume within detached_ttl_ms          │ expiry
//!               ▼                                        ▼
//!          a new connection's Session (any core)        dropped
//! ```
//!
//! Invariants (asserted where they could break):
//! - Frames of one connection reach the outbox in exactly `Session::poll` order, all on
//!   the bulk lane (`gateway.rs`: outputs are emitted before any follow-up input is fed).
//! - A detached session is in at most one place: a core's map, a mesh message, or a
//!   `Session` (it moves; `resume.rs` asserts no map ever holds an id twice).
//! - `handle_closed` removes every trace of a connection (timers, subscriptions).

mod accounts;
mod answers;
mod attachments;
mod body_gate;
mod channel_index;
mod commit;
mod dms;
mod fanout_hold;
mod gateway;
mod guild_audience;
mod guild_calls;
mod guild_fanout;
mod guild_state;
mod held_answers;
mod http_routes;
mod login_throttle;
mod logins;
pub mod mesh;
mod message_fanout;
mod message_state;
mod messages;
mod metering;
mod metrics_gate;
mod presence;
mod rest_limits;
mod resume;
pub mod shared;
mod test_hooks;
mod voice_gateway;
mod voice_metrics;
mod voice_states;
mod writes;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::gateway::{IdentifyLimitConfig, IdentifyLimiter, Micros, SessionConfig, SessionId};
use crate::http::{Request, Response};
use crate::id_hash::IdHashMap;
use crate::reactor::{App, CloseCause, ConnId, CoreInfo, HttpAnswer, Outbox, WsMessage};
use crate::world::{self, Bootstrap, Directory, GuildCreateCache};
use crate::Config;

pub use commit::StoreFaults;
pub use mesh::{Call, Detached, FluxMesh};
pub use shared::{Metrics, Shared};

/// Opens the data dir for a server bound to `local_addr` (creating the demo world on
/// first run) and returns the shared state plus what `bootstrap.json` says.
///
/// The world itself comes from the cores' stores (`world::persist`): `world.json` only
/// seeds stores that have never been seeded, so every change made while a server ran
/// is back after a restart.
pub fn prepare(
    config: &Config,
    local_addr: SocketAddr,
    cores: usize,
) -> std::io::Result<(Arc<Shared>, Bootstrap)> {
    let now_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut opened = world::open_data_dir(&config.data_dir, local_addr, now_unix_ms)
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    // https:// and wss:// when the main listener speaks TLS.
    world::set_bootstrap_tls(&config.data_dir, &mut opened.bootstrap, config.main_tls)
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    // One writer per data dir: `flux admin` and a second server refuse while this
    // server runs.
    let lock = crate::data_dir_lock::DataDirLock::acquire(&config.data_dir).map_err(|error| {
        if crate::data_dir_lock::is_held_elsewhere(&error) {
            std::io::Error::other(format!(
                "{} is in use by another flux server ({} is locked)",
                config.data_dir.display(),
                crate::data_dir_lock::LOCK_FILE
            ))
        } else {
            error
        }
    })?;
    let stored = world::persist::load_from_stores(&config.data_dir, cores, &opened.world, || {
        lsm::Options::new(world::history::message_bucket)
    })
    .map_err(|error| std::io::Error::other(error.to_string()))?;
    let directory = Directory::from_world(&stored, opened.secret.clone());
    let mut shared = Shared::new(stored, directory, local_addr, config.test_hooks);
    shared.data_dir_lock = Some(lock);
    if config.main_tls {
        // `GET /gateway` sends clients to the TLS listener they asked on.
        shared.gateway_url = shared.gateway_url.replacen("ws://", "wss://", 1);
    }
    Ok((Arc::new(shared), opened.bootstrap))
}

/// One core's application.
pub struct FluxApp {
    core: usize,
    /// Every core's reactor counters, for `GET /_flux/metrics`.
    reactor_stats: Arc<[Arc<crate::reactor::CoreStats>]>,
    cores: usize,
    shared: Arc<Shared>,
    /// The largest body a route without attachments takes (`body_gate.rs`).
    json_body_bytes_max: usize,
    /// The token `GET /_flux/metrics` requires, if any (`metrics_gate.rs`).
    metrics_token: Option<String>,
    session_config: Arc<SessionConfig>,
    /// Open gateway connections on this core. Boxed: a table keeps about 1.6 slots per
    /// entry, and an idle 400-byte `GatewayConn` inline cost 650 bytes a session.
    conns: IdHashMap<ConnId, Box<gateway::GatewayConn>>,
    /// Session deadlines, earliest first.
    timers: BTreeSet<(Micros, ConnId)>,
    /// Live sessions per guild, with their intents, for dispatch fan-out.
    subscribers: guild_audience::GuildAudiences,
    /// Scratch for `deliver_events`: the subscribers of the guild being fanned out to.
    fanout_conns: Vec<ConnId>,
    /// The run of message events `route_mesh_batch` is gathering, about one channel; held
    /// across loop turns while the core is behind its sockets (`fanout_hold.rs`).
    fanout_hold: fanout_hold::FanoutHold<Arc<world::message_ops::MessageEvent>>,
    /// Sessions that detached on this core.
    detached: HashMap<SessionId, Detached>,
    /// For sessions whose home is this core but which detached elsewhere: that core,
    /// and until when the entry is worth keeping.
    moved: HashMap<SessionId, (usize, Micros)>,
    /// The earliest `expires_at` in `detached` and `moved` (a sweep is due then).
    detached_sweep_at: Option<Micros>,
    /// Identify limits of the users whose home core this is.
    identify_limiter: IdentifyLimiter,
    guild_create_cache: GuildCreateCache,
    hooks: test_hooks::PendingHooks,
    /// State of the session-id generator (seeded from the OS).
    nonce_state: u64,
    /// This core's store, Snowflakes and writes in flight (`commit.rs`).
    commits: commit::CommitQueue<writes::Change>,
    /// Every channel's guild, owner and viewers (`channel_index.rs`).
    channels: channel_index::ChannelIndex,
    /// The owner's messages in flight and nonces (`message_state.rs`).
    message_state: messages::MessageState,
    /// The rate-limit logs of the users whose home core this is (`metering.rs`).
    limiter: metering::RestLimiter,
    /// This core's copy of the users and tokens, kept current by `AccountSync`.
    directory: Directory,
    /// Owned guilds and every guild's replica (`guild_state.rs`).
    guilds: guild_state::GuildState,
    /// Every DM channel (`dms.rs`).
    dms: dms::DmState,
    /// Guild and DM answers waiting for every core to take the change (`held_answers.rs`).
    held: held_answers::HeldAnswers,
    /// Where attachment files are stored and served from (`attachments.rs`).
    attachments: attachments::Attachments,
    /// The sessions' presences of the users whose home core this is (`presence.rs`).
    presence_book: world::presence::PresenceBook,
    /// Every user who is not offline, as their home cores announced (`presence.rs`).
    presences: HashMap<u64, Arc<world::presence::Presence>>,
    /// Every account, and on core 0 the username registry (`accounts.rs`).
    accounts: accounts::AccountState,
    /// The voice states of the guilds this core owns, and the voice tokens it minted
    /// (`voice_states.rs`).
    voice_book: world::voice_state::VoiceBook,
    /// Every guild's voice states, as their owners announced them (`voice_states.rs`).
    voice: voice_states::VoiceReplicas,
    /// This core's voice gateway address, named in VOICE_SERVER_UPDATE for the guilds it
    /// owns; `None` without a voice listener.
    voice_addr: Option<SocketAddr>,
    /// Voice WebSockets, the detached ones, and the SFU (`voice_gateway.rs`).
    voice_gateway: voice_gateway::VoiceGateway,
    /// Metrics requests waiting for the other cores' voice reports (`voice_metrics.rs`).
    voice_reports: voice_metrics::PendingReports,
}

impl FluxApp {
    /// The application of core `info.core`.
    pub fn new(info: &CoreInfo, shared: Arc<Shared>) -> FluxApp {
        let mut session_config =
            SessionConfig::default().with_heartbeat_interval_ms(info.config.heartbeat_interval_ms);
        session_config.core_index = u16::try_from(info.core).expect("fewer than 65536 cores");
        session_config.resume_gateway_url = shared.gateway_url.clone();
        session_config.slow_consumer_grace_ms = info.config.limits.slow_consumer_grace_ms;
        session_config.identify_timeout_ms = info.config.limits.identify_timeout_ms;
        let accounts = accounts::AccountState::from_world(
            &shared.world,
            info.config.limits.password_attempts_per_address_max,
        );
        let mut commits = commit::CommitQueue::open(
            &info.config.data_dir,
            info.core,
            Arc::clone(&shared.store_faults),
        );
        if let Some(max_user_id) = accounts.max_user_id() {
            // User ids come from core 0's generator but live in their home core's store.
            commits.resume_ids_after(max_user_id);
        }
        FluxApp {
            core: info.core,
            reactor_stats: Arc::clone(&info.reactor_stats),
            cores: info.cores,
            commits,
            channels: channel_index::ChannelIndex::from_world(&shared.world, info.cores),
            message_state: messages::MessageState::default(),
            limiter: metering::RestLimiter::new(info.config.limits.rest_rate_limits),
            accounts,
            directory: shared.directory.clone(),
            guilds: guild_state::GuildState::from_world(&shared.world, info.core, info.cores),
            dms: dms::DmState::from_world(&shared.world),
            held: held_answers::HeldAnswers::default(),
            attachments: attachments::Attachments::new(
                &info.config.data_dir,
                &shared.gateway_url,
                shared.directory.secret(),
            ),
            presence_book: world::presence::PresenceBook::default(),
            presences: HashMap::new(),
            voice_book: world::voice_state::VoiceBook::default(),
            voice: voice_states::VoiceReplicas::default(),
            voice_addr: info.voice_addr,
            voice_gateway: voice_gateway::VoiceGateway::new(
                info.core,
                info.config.voice_heartbeat_interval_ms,
            ),
            voice_reports: voice_metrics::PendingReports::default(),
            shared,
            json_body_bytes_max: info.config.limits.http.body_bytes_max,
            metrics_token: info.config.metrics_token.clone(),
            session_config: Arc::new(session_config),
            conns: IdHashMap::default(),
            timers: BTreeSet::new(),
            subscribers: guild_audience::GuildAudiences::default(),
            fanout_conns: Vec::new(),
            fanout_hold: fanout_hold::FanoutHold::new(std::time::Instant::now()),
            detached: HashMap::new(),
            moved: HashMap::new(),
            detached_sweep_at: None,
            identify_limiter: IdentifyLimiter::new(IdentifyLimitConfig::default()),
            guild_create_cache: GuildCreateCache::default(),
            hooks: test_hooks::PendingHooks::default(),
            nonce_state: os_seed() ^ (info.core as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// The core that owns `user_id`'s identify limits and presence:
    /// `(user_id >> 22) % cores` (`world::home_core`).
    fn home_core(&self, user_id: u64) -> usize {
        world::home_core(world::UserId(user_id), self.cores)
    }

    /// 128 bits for a session id (splitmix64 twice).
    fn session_nonce(&mut self) -> u128 {
        let high = splitmix64(&mut self.nonce_state);
        let low = splitmix64(&mut self.nonce_state);
        (u128::from(high) << 64) | u128::from(low)
    }

    fn now(&self, out: &Outbox<FluxMesh>) -> Micros {
        self.shared.micros(out.now())
    }

    /// Asks the reactor for a tick at the earliest of our deadlines.
    fn arm(&self, out: &mut Outbox<FluxMesh>) {
        let timer = self.timers.first().map(|(at, _)| *at);
        let voice = self
            .voice_gateway
            .next_deadline_ms()
            .map(|ms| Micros(ms.saturating_mul(1000)));
        let next = [timer, self.detached_sweep_at, voice]
            .into_iter()
            .flatten()
            .min();
        let sfu = self.voice_gateway.sfu_deadline();
        let instant = next.and_then(|at| self.shared.instant(at));
        if let Some(instant) = [instant, sfu].into_iter().flatten().min() {
            out.wake_at(instant);
        }
    }
}

impl App for FluxApp {
    type Mesh = FluxMesh;

    fn handle_http(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
    ) -> HttpAnswer {
        self.route_http(out, conn, request)
    }

    fn check_head(&mut self, head: &Request, body_len: usize) -> Result<(), Response> {
        self.check_request_head(head, body_len)
    }

    fn handle_ws_open(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, request: &Request) {
        match request.listener {
            crate::http::Listener::Voice => self.open_voice(out, conn),
            crate::http::Listener::Main => self.open_gateway(out, conn, &request.target),
        }
    }

    fn handle_ws_message(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        message: WsMessage<'_>,
    ) {
        if self.voice_gateway.serves(conn) {
            let input = match message {
                WsMessage::Text(text) => crate::voice::VoiceInput::Message(text.as_bytes()),
                WsMessage::Binary(_) => crate::voice::VoiceInput::Binary,
            };
            return self.drive_voice(out, conn, input);
        }
        let bytes = match message {
            WsMessage::Text(text) => text.as_bytes(),
            WsMessage::Binary(bytes) => bytes,
        };
        self.drive(out, conn, crate::gateway::Input::Message(bytes));
        // Heartbeats acknowledge GUILD_CREATEs, so this is when cached ones stop being
        // held; two per message empties the cache within one heartbeat interval.
        self.guild_create_cache.release_unheld(2);
    }

    fn handle_written(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, bytes: usize) {
        if self.conns.contains_key(&conn) {
            self.drive(out, conn, crate::gateway::Input::Written { bytes });
        }
    }

    fn handle_ws_error(&mut self, _: ConnId, error: &wsframe::Error) -> u16 {
        match error {
            // Discord: any client payload over 4096 bytes closes with 4002 Decode error.
            wsframe::Error::MessageTooBig { .. } | wsframe::Error::FrameTooBig { .. } => {
                crate::gateway::CloseCode::DecodeError.code()
            }
            other => other.close_code(),
        }
    }

    fn handle_closed(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, cause: &CloseCause) {
        if self.voice_gateway.serves(conn) {
            return self.close_voice(out, conn, cause);
        }
        self.close_gateway(out, conn, cause);
    }

    fn handle_datagram(&mut self, out: &mut Outbox<FluxMesh>, from: SocketAddr, datagram: &[u8]) {
        self.voice_datagram(out, from, datagram);
    }

    fn handle_tick(&mut self, out: &mut Outbox<FluxMesh>, _now: Instant) -> Option<Instant> {
        // Sessions' deadlines judge silence (a heartbeat, an IDENTIFY or a RESUME that did
        // not come), so they fire by what this core has read, not by the clock: a deadline
        // between the two fires on the next turn, once the sockets have been read.
        let heard_by = self.shared.micros(out.read_at());
        self.fire_timers(out, heard_by);
        self.fire_voice_timers(out);
        self.sweep_detached(out, heard_by);
        self.poll_store(out);
        self.arm(out);
        None
    }

    fn wake_fd(&self) -> Option<std::os::fd::RawFd> {
        self.commits.wake_fd()
    }

    fn handle_wake(&mut self, out: &mut Outbox<FluxMesh>) {
        self.poll_store(out);
    }

    fn handle_mesh(&mut self, out: &mut Outbox<FluxMesh>, from_core: usize, message: FluxMesh) {
        if message.may_dispatch() {
            self.flush_fanout(out);
        }
        self.route_mesh(out, from_core, message);
    }

    fn handle_mesh_batch(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        messages: &mut Vec<(usize, FluxMesh)>,
    ) {
        self.route_mesh_batch(out, messages);
    }

    fn handle_turn_end(&mut self, out: &mut Outbox<FluxMesh>) -> bool {
        self.release_fanout(out)
    }

    fn handle_shutdown(&mut self, out: &mut Outbox<FluxMesh>) {
        self.flush_fanout(out);
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.drive(out, conn, crate::gateway::Input::Reconnect);
        }
    }
}

impl std::fmt::Debug for FluxApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluxApp")
            .field("core", &self.core)
            .field("conns", &self.conns.len())
            .field("detached", &self.detached.len())
            .finish()
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64 bits from the OS; the clock if `/dev/urandom` cannot be read.
fn os_seed() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    }
}
