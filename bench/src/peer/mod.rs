//! The `fanout` suite's peer: the strongest fair broadcast server one would write with
//! tokio and tokio-tungstenite, serving Flux's gateway and message-create surface on one
//! port, so the suite can compare Flux's fan-out with it in the same run.
//!
//! How it fans out:
//! - A `POST /api/v10/channels/{id}/messages` builds ONE message object shaped like
//!   Flux's MESSAGE_CREATE `d` (same field set, `message.rs`), serialises it once, answers
//!   200 with those bytes, and sends them as an `Arc<Event>` on one
//!   `tokio::sync::broadcast` channel (capacity `BROADCAST_CAPACITY`).
//! - Each session task `select!`s over its broadcast receiver and its socket. An event is
//!   spliced into `{"op":0,"s":N,"t":"MESSAGE_CREATE","d":…}` with the session's own `s`
//!   and fed to tungstenite without a flush; every event already queued is `try_recv`d
//!   and fed too; then one flush (`session.rs`). This is feed-then-flush: under load one
//!   write carries many frames.
//! - tungstenite reads with a 4 KiB buffer per session (clients send little), and HTTP
//!   answers every pipelined request already read with one write (`http.rs`).
//! - Compression, when a session asks for it, is per connection: its own zlib (level 6,
//!   with `zlib-rs`, the library Flux deflates with) or zstd (level 1) stream, compressing
//!   every dispatch itself (`transport.rs`). That
//!   is what a tokio server would do; Flux's spliced zlib compresses each `d` once per
//!   core, so compressed runs compare designs, not just I/O.
//!
//! What it deliberately does NOT do, and a reader of the results must keep in mind:
//! it stores nothing and fsyncs nothing (the 200 leaves before anything is durable);
//! it checks nothing (no token, permission, intent or rate limit); it replays nothing
//! (RESUME gets op 9 `d:false`). A session that falls more than `BROADCAST_CAPACITY`
//! events behind is closed with 4000 and counted (`GET /peer/stats`), never skipped
//! silently.
//!
//! Threads: `workers` tokio workers (a current-thread runtime for 1). The caller has
//! already pinned the process to its CPUs; the peer pins nothing itself.

mod connection;
mod http;
mod message;
mod session;
mod transport;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::broadcast;

use message::{Event, World};

/// What `serve` runs.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// Where to listen; port 0 picks one (reported to `on_listening`).
    pub listen: SocketAddr,
    /// tokio worker threads; 1 uses a current-thread runtime.
    pub workers: usize,
}

/// Events a session may fall behind before it is closed with 4000.
pub const BROADCAST_CAPACITY: usize = 65_536;
/// The heartbeat interval the peer announces (Discord's).
pub const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// Connections the listener queues before `accept`; the suite connects ~1000 at once.
const LISTEN_BACKLOG: u32 = 4096;

/// Blocks serving until the process ends. Calls `on_listening` once with the bound address.
///
/// Returns only if the runtime cannot be built or the address cannot be bound.
pub fn serve(options: PeerOptions, on_listening: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let runtime = if options.workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.workers)
            .enable_all()
            .build()?
    };
    let listener = runtime.block_on(async { bind(options.listen) })?;
    let addr = listener.local_addr()?;
    let state = Arc::new(State::new(addr));
    on_listening(addr);
    // The accept loop runs on the runtime's workers; this thread only waits for it.
    runtime
        .block_on(async move { tokio::spawn(accept_loop(listener, state)).await })
        .map_err(std::io::Error::other)
}

/// What every connection of one peer shares.
struct State {
    addr: SocketAddr,
    world: World,
    events: broadcast::Sender<Arc<Event>>,
    events_published: AtomicU64,
    sessions_identified: AtomicU64,
    sessions_lagged: AtomicU64,
}

impl State {
    fn new(addr: SocketAddr) -> State {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        State {
            addr,
            world: World::new(),
            events,
            events_published: AtomicU64::new(0),
            sessions_identified: AtomicU64::new(0),
            sessions_lagged: AtomicU64::new(0),
        }
    }

    /// READY's `d` for the `number`th session (each gets its own user and session id).
    fn ready_json(&self, number: u64) -> String {
        let world = &self.world;
        let user_id = world.author_id + 1_000 + number;
        serde_json::json!({
            "v": 10,
            "user": {
                "id": user_id.to_string(), "username": format!("peer-{number}"),
                "discriminator": "0", "global_name": null, "avatar": null, "bot": true,
                "system": false, "public_flags": 0, "flags": 0, "mfa_enabled": false,
                "verified": true, "email": null, "locale": "en-US", "premium_type": 0,
            },
            "guilds": [{ "id": world.guild_id.to_string(), "unavailable": true }],
            "session_id": format!("{:032x}", u128::from(world.next_id())),
            "resume_gateway_url": format!("ws://{}", self.addr),
            "session_type": "normal",
            "shard": [0, 1],
            "application": { "id": user_id.to_string(), "flags": 0 },
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        })
        .to_string()
    }

    /// GUILD_CREATE's `d`: the one guild with `#general` (where the publishers post).
    fn guild_create_json(&self) -> String {
        let world = &self.world;
        let guild_id = world.guild_id.to_string();
        let channel = |id: u64, kind: u8, name: &str, position: u32| {
            serde_json::json!({
                "id": id.to_string(), "type": kind, "guild_id": guild_id, "name": name,
                "position": position, "permission_overwrites": [], "parent_id": null,
                "nsfw": false, "topic": null, "last_message_id": null, "rate_limit_per_user": 0,
            })
        };
        serde_json::json!({
            "id": guild_id,
            "name": "Flux peer",
            "icon": null,
            "owner_id": world.author_id.to_string(),
            "unavailable": false,
            "large": false,
            "member_count": 1,
            "joined_at": world.joined_at,
            "features": [],
            "roles": [{
                "id": guild_id, "name": "@everyone", "permissions": "1071698660929",
                "position": 0, "color": 0, "hoist": false, "managed": false,
                "mentionable": false, "flags": 0,
            }],
            "channels": [
                channel(world.text_channel_id(), 0, "general", 0),
                channel(world.text_channel_id() + 1, 2, "General", 1),
            ],
            "members": [],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "emojis": [],
            "stickers": [],
        })
        .to_string()
    }
}

fn bind(listen: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match listen {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(listen)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut reported = false;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Dispatches are flushed in batches already; Nagle would only delay them.
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection::handle_connection(stream, Arc::clone(&state)));
            }
            Err(error) => {
                // Out of file descriptors, most likely; the connection waits in the backlog.
                if !reported {
                    eprintln!("peer: accept failed: {error}; raise RLIMIT_NOFILE if it repeats");
                    reported = true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
