//! The Flux server engine.
//!
//! `engine` owns everything the low-level crates refuse to touch: cores, sockets and the
//! clock. It runs one pinned reactor per core ([`reactor`]), speaks HTTP/1.1 ([`http`])
//! and WebSocket (with `wsframe`) itself, lets cores talk over lock-free rings ([`mesh`]),
//! and runs [`app::FluxApp`] on every core: the Discord REST API ([`rest`]) and Gateway
//! v10 ([`gateway`]) over the world in [`world`]. Later it will own guild state per core
//! (`core = (guild_id >> 22) % cores`), store it in `lsm`, and forward voice with `sfu`.
//!
//! # Embedding
//!
//! Start a server in-process on an ephemeral port with a temporary data directory (a demo
//! world is created in it), talk to it, and shut it down. Four calls are the whole API:
//! [`Server::start`], [`Server::local_addr`], [`Server::bootstrap`] (what
//! `bootstrap.json` says: URLs, the demo guild, bot tokens) and [`Server::shutdown`].
//!
//! ```
//! use std::io::{Read, Write};
//!
//! let server = engine::Server::start(engine::Config::ephemeral())?;
//! let bot = &server.bootstrap().expect("the Flux app writes one").bots[0];
//! let mut client = std::net::TcpStream::connect(server.local_addr())?;
//! let request = format!(
//!     "GET /api/v10/users/@me HTTP/1.1\r\nHost: flux\r\nAuthorization: Bot {}\r\n\
//!      Connection: close\r\n\r\n",
//!     bot.token
//! );
//! client.write_all(request.as_bytes())?;
//! let mut answer = String::new();
//! client.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.contains(&format!("\"username\":\"{}\"", bot.username)));
//! server.shutdown()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! To run your own application on every core, implement [`reactor::App`] and call
//! [`Server::start_with`]. The `flux` binary is a thin CLI over this API.
//!
//! Each core also listens for voice on its own port, TLS over TCP with UDP on the same number
//! ([`Server::voice_addrs`], [`reactor::CoreInfo::voice_addr`]; [`Config::voice`] turns them
//! off), and [`Config::main_tls`] puts the main listener behind TLS too ([`certificate`]).
#![deny(unsafe_code)]

pub mod admin;
pub mod app;
pub mod certificate;
pub mod data_dir_lock;
pub mod http;
pub mod id_hash;
pub mod mesh;
pub mod reactor;
mod server;

pub mod rest;
pub mod world;

pub mod gateway;
pub mod voice;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use certificate::TlsFiles;
pub use http::HttpLimits;
pub use server::{Server, TerminationSignals};

/// How to run one Flux server. The defaults are the embedded defaults of `flux serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the store and `bootstrap.json` live.
    pub data_dir: PathBuf,
    /// The HTTP and WebSocket listening address. Port 0 picks a free port
    /// (see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// Reactor threads, one per core; `None` means every core the process may run on.
    pub cores: Option<usize>,
    /// The I/O backend. io_uring falls back to epoll, with a log line, where the kernel
    /// or a seccomp profile refuses it.
    pub io: IoBackend,
    /// The gateway's `heartbeat_interval` (op 10 Hello), in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// The voice gateway's `heartbeat_interval` (op 8 Hello), in milliseconds; a voice
    /// connection silent for two intervals is closed with 4009.
    pub voice_heartbeat_interval_ms: u64,
    /// Size limits and timeouts of the reactor.
    pub limits: Limits,
    /// Delete `data_dir` after shutdown (set by [`Config::ephemeral`]).
    pub remove_data_dir_on_shutdown: bool,
    /// Serve the `/_flux/test/*` routes (drop every gateway connection, inject a dispatch,
    /// arm store faults, stall a core: `app/test_hooks.rs`).
    /// For tests only: anyone who can reach the port could use them. Off by default;
    /// `flux serve --test-hooks` turns them on.
    pub test_hooks: bool,
    /// The TLS certificate and key (PEM). `None`: a self-signed certificate for
    /// `localhost`, `127.0.0.1` and the listen address, made on the first run and kept in
    /// `data_dir/tls/` (`certificate.rs`). Used by the voice listeners, and by the main
    /// listener when `main_tls` is set.
    pub tls: Option<TlsFiles>,
    /// Whether the main listener (REST and the gateway) speaks TLS (`flux serve --tls`, or
    /// implied by `--tls-cert`). Off by default: plain `http://` and `ws://`, for a proxy
    /// in front or a local development server.
    pub main_tls: bool,
    /// Whether each core opens its voice listener: a TCP port of its own, always TLS, and a
    /// UDP socket on the same port number (`CoreInfo::voice_addr`, `Server::voice_addrs`).
    pub voice: bool,
    /// Core `c`'s voice port is `voice_port_base + c`. `None`: the main port + 1; with main
    /// port 0, every core takes an ephemeral port (and UDP the same number).
    pub voice_port_base: Option<u16>,
    /// The bearer token `GET /_flux/metrics` requires (`Authorization: Bearer <token>`,
    /// from any address). `None` (the default): no token, and only loopback peers are
    /// answered (403 for others). See docs/SECURITY.md.
    pub metrics_token: Option<String>,
}

/// Which I/O backend the reactors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoBackend {
    /// Readiness with `epoll(7)`: defines correct behaviour, works everywhere.
    Epoll,
    /// Completions with `io_uring(7)`: the default where the kernel allows it.
    Uring,
}

impl std::str::FromStr for IoBackend {
    type Err = String;
    fn from_str(text: &str) -> Result<IoBackend, String> {
        match text {
            "uring" | "io_uring" | "io-uring" => Ok(IoBackend::Uring),
            "epoll" => Ok(IoBackend::Epoll),
            _ => Err(format!("unknown I/O backend {text:?}; use uring or epoll")),
        }
    }
}

/// Size limits and timeouts. Every queue in the reactor is bounded by one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// HTTP request head (431) and body (413) limits.
    pub http: HttpLimits,
    /// The largest WebSocket message a client may send (the gateway's 4096; over it the
    /// application picks the close code, 4002 for the gateway).
    pub ws_message_bytes_max: usize,
    /// A connection's outbound queue may pass this for `slow_consumer_grace_ms`; past
    /// [`reactor::OUTBOX_HARD_FACTOR`] times this it is closed at once.
    pub outbox_bytes_max: usize,
    /// How long a queue may stay past `outbox_bytes_max` before the slow-consumer close.
    pub slow_consumer_grace_ms: u64,
    /// The close code for a slow consumer (4000 is resumable for Discord clients).
    pub slow_consumer_close_code: u16,
    /// How long a closing connection may take to flush and hear the peer's EOF.
    pub close_linger_ms: u64,
    /// How long shutdown waits for connections before closing what is left.
    pub shutdown_grace_ms: u64,
    /// Slots per mesh ring (a power of two). Also how many messages a core may hold for
    /// cores whose rings are full before it stops parsing HTTP requests.
    pub mesh_ring_len: usize,
    /// `SO_SNDBUF` for accepted sockets; `None` keeps the kernel's autotuning.
    pub socket_send_buffer_bytes: Option<usize>,
    /// Connections the process holds at most; past it a new one gets 503 and is closed.
    /// `0` (the default) is the open-file limit less 256 for the store's files, the
    /// eventfds and the rings, so a full server refuses cleanly instead of failing
    /// `accept(2)` with EMFILE.
    pub connections_max: usize,
    /// Connections one source address holds at most (`0`: no cap); past it a new one gets
    /// 503 and is closed. 256: a bot with many shards and a pool of REST connections
    /// stays far below it, and one host cannot take a server's whole budget. Behind a
    /// proxy every client shares the proxy's address: set 0 there and cap at the proxy.
    pub connections_per_address_max: usize,
    /// How long a client has to send a request head, counted from its first byte (a new
    /// connection that has sent nothing is idle: `http_idle_timeout_ms`). Past it: 408
    /// and close. Ten seconds: a real client sends a head in one packet; a slow-loris
    /// client trickles one forever.
    pub http_head_timeout_ms: u64,
    /// How long a client has to send a request body once its head is in, plus the body's
    /// length at `http_body_min_bytes_per_s`. Past it: 408 and close. So a 25 MiB upload
    /// gets 10 s + 400 s, and a 100-byte JSON body 10 s.
    pub http_body_timeout_ms: u64,
    /// The slowest upload the body deadline allows for (64 KiB/s, a poor mobile link).
    pub http_body_min_bytes_per_s: u64,
    /// How long a connection with nothing in flight (kept alive, or new and silent) may
    /// stay silent before it is closed (no answer: RFC 9112 §9.8 lets either side close an idle connection).
    /// Sixty seconds: longer than the keep-alive of the client libraries (aiohttp 15 s,
    /// undici 4 s), so the client, not the server, normally closes first.
    pub http_idle_timeout_ms: u64,
    /// How long a gateway connection has after Hello to Identify or Resume; past it the
    /// session closes with 4009. Sixty seconds: discord.js identifies only when its
    /// identify throttle lets it (5 s per shard sharing a concurrency bucket), so this
    /// covers twelve shards in one bucket; raise it for more.
    pub identify_timeout_ms: u64,
    /// Whether REST routes (messages, guilds, the gateway and users) are rate limited
    /// (Discord's buckets and the global 50 per second per token). Tests that write
    /// hundreds of messages turn it off.
    pub rest_rate_limits: bool,
    /// Failed logins plus registrations one source address may make per minute on one
    /// core (`0`: no limit); past it 429 with `retry_after`. 20: a household or office
    /// behind one address mistypes far less, while a guesser gets 20 tries a minute per
    /// core over all names together (and 5 per name: the per-name throttle), and a script
    /// creates at most 20 accounts a minute per core. Behind a proxy every client shares
    /// the proxy's address: raise it there.
    pub password_attempts_per_address_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            http: HttpLimits::default(),
            ws_message_bytes_max: 4096,
            outbox_bytes_max: 1 << 20,
            slow_consumer_grace_ms: 10_000,
            slow_consumer_close_code: 4000,
            close_linger_ms: 2_000,
            shutdown_grace_ms: 5_000,
            mesh_ring_len: 4096,
            socket_send_buffer_bytes: None,
            connections_max: 0,
            connections_per_address_max: 256,
            http_head_timeout_ms: 10_000,
            http_body_timeout_ms: 10_000,
            http_body_min_bytes_per_s: 64 * 1024,
            http_idle_timeout_ms: 60_000,
            identify_timeout_ms: 60_000,
            rest_rate_limits: true,
            password_attempts_per_address_max: 20,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./flux-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cores: None,
            io: IoBackend::Uring,
            heartbeat_interval_ms: 41_250,
            voice_heartbeat_interval_ms: crate::voice::VoiceSessionConfig::default()
                .heartbeat_interval_ms,
            limits: Limits::default(),
            remove_data_dir_on_shutdown: false,
            test_hooks: false,
            tls: None,
            main_tls: false,
            voice: true,
            voice_port_base: None,
            metrics_token: None,
        }
    }
}

impl Config {
    /// For tests and embedding: 127.0.0.1 on a free port, two cores, and a fresh
    /// temporary data directory that is removed after shutdown.
    pub fn ephemeral() -> Config {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "flux-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        Config {
            data_dir: std::env::temp_dir().join(unique),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            cores: Some(2),
            remove_data_dir_on_shutdown: true,
            ..Config::default()
        }
    }

    /// A human-readable account of what starting this server will do.
    pub fn plan(&self) -> String {
        let cores = match self.cores {
            Some(n) => n.to_string(),
            None => "all".to_string(),
        };
        format!(
            "flux: serving on {}://{} with {} reactor core(s) ({:?} I/O), data in {}.",
            if self.main_tls { "https" } else { "http" },
            self.listen,
            cores,
            self.io,
            self.data_dir.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_match_the_documented_command_line() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./flux-data"));
        assert_eq!(config.io, IoBackend::Uring);
        assert!(config.plan().contains("127.0.0.1:8080"));
    }

    #[test]
    fn ephemeral_configs_do_not_share_a_data_dir() {
        assert_ne!(Config::ephemeral().data_dir, Config::ephemeral().data_dir);
        assert_eq!(Config::ephemeral().listen.port(), 0);
    }
}
