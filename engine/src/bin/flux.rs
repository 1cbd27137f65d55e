//! `flux`: the command-line shell around the `engine` library.
//!
//! `flux serve` with no arguments uses the embedded defaults (./flux-data,
//! 127.0.0.1:8080, every core, io_uring with epoll as the fallback). It binds, opens the
//! data dir (a demo world and `bootstrap.json` on first run, with the real port even for
//! `--listen 127.0.0.1:0`), prints how to point a bot at it, and serves REST and the
//! gateway. `--test-hooks` adds the `/_flux/test/*` routes, for tests only. SIGTERM and SIGINT
//! shut the server down gracefully: stop accepting, tell every session to reconnect,
//! flush, exit.
//!
//! `flux admin <command>` changes a data dir offline (`engine::admin`): `create-bot`,
//! `create-guild`, `add-member`, `list-tokens`, `revoke`. It refuses while a server runs
//! on the dir (the server holds `flux.lock`); stop the server first.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "flux",
    version,
    about = "Flux: a thread-per-core Discord-class chat server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded defaults: ./flux-data, 127.0.0.1:8080, all cores).
    Serve {
        /// Directory for the store and bootstrap.json.
        #[arg(long, default_value = "./flux-data")]
        data_dir: PathBuf,
        /// HTTP/WebSocket listen address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Number of reactor cores (default: all).
        #[arg(long)]
        cores: Option<usize>,
        /// I/O backend: uring (falls back to epoll if the kernel refuses) or epoll.
        #[arg(long, default_value = "uring")]
        io: engine::IoBackend,
        /// Gateway heartbeat interval sent in op 10 Hello, in milliseconds.
        #[arg(long, default_value_t = 41_250)]
        heartbeat_interval_ms: u64,
        /// Voice gateway heartbeat interval sent in op 8 Hello, in milliseconds.
        #[arg(long, default_value_t = 13_750)]
        voice_heartbeat_interval_ms: u64,
        /// Turn off the REST rate limits (Discord's per-route buckets, e.g. 5 messages per
        /// 5 s per channel). FOR TESTS that write hundreds of messages through real clients.
        #[arg(long)]
        no_rest_rate_limits: bool,
        /// Serve /_flux/test/* (drop all gateway connections, inject dispatches).
        /// FOR TESTS ONLY: anyone who reaches the port may use them.
        #[arg(long)]
        test_hooks: bool,
        /// Largest multipart/form-data request (message attachments), in bytes; larger
        /// uploads get 413 code 40005. Discord's default upload limit is 25 MiB.
        #[arg(long, default_value_t = 25 * 1024 * 1024)]
        upload_bytes_max: usize,
        /// Serve the main listener (REST and gateway) over TLS: https:// and wss://. With no
        /// --tls-cert, a self-signed certificate kept in <data-dir>/tls/ is used.
        #[arg(long)]
        tls: bool,
        /// TLS certificate chain (PEM, leaf first); implies --tls. Voice listeners always
        /// speak TLS: without this they use the self-signed certificate.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// First core's voice port (TLS over TCP, and UDP on the same number); core c
        /// listens on BASE + c. Default: the listen port + 1 (ephemeral with port 0).
        #[arg(long, value_name = "BASE")]
        voice_port: Option<u16>,
        /// Open no voice listeners or UDP sockets.
        #[arg(long)]
        no_voice: bool,
        /// Require `Authorization: Bearer <TOKEN>` for GET /_flux/metrics, from any
        /// address. Without it, metrics are answered to loopback peers only (403 for
        /// others).
        #[arg(long, value_name = "TOKEN")]
        metrics_token: Option<String>,
        #[command(flatten)]
        client_limits: ClientLimits,
    },
    /// Change a data dir offline: bots, guilds, members, tokens. Stop the server first.
    Admin {
        /// The data dir a server ran on.
        #[arg(long, default_value = "./flux-data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        action: AdminAction,
    },
}

/// What one client may hold and for how long; each value and why it is the default:
/// docs/SECURITY.md.
#[derive(clap::Args)]
struct ClientLimits {
    /// Connections the whole server holds at most (0: the open-file limit less 256).
    #[arg(long, default_value_t = engine::Limits::default().connections_max)]
    connections_max: usize,
    /// Connections one source address holds at most (0: no cap; use 0 behind a proxy).
    #[arg(long, default_value_t = engine::Limits::default().connections_per_address_max)]
    connections_per_address_max: usize,
    /// Time for a request head from its first byte, in milliseconds (then 408).
    #[arg(long, default_value_t = engine::Limits::default().http_head_timeout_ms)]
    http_head_timeout_ms: u64,
    /// Time for a request body once its head is in, in milliseconds, plus its length at
    /// --http-body-min-bytes-per-s (then 408).
    #[arg(long, default_value_t = engine::Limits::default().http_body_timeout_ms)]
    http_body_timeout_ms: u64,
    /// The slowest upload the body deadline allows for, in bytes per second.
    #[arg(long, default_value_t = engine::Limits::default().http_body_min_bytes_per_s)]
    http_body_min_bytes_per_s: u64,
    /// Silence allowed on a kept-alive connection with nothing in flight, in milliseconds.
    #[arg(long, default_value_t = engine::Limits::default().http_idle_timeout_ms)]
    http_idle_timeout_ms: u64,
    /// Time from gateway Hello to Identify or Resume, in milliseconds (then 4009).
    #[arg(long, default_value_t = engine::Limits::default().identify_timeout_ms)]
    identify_timeout_ms: u64,
    /// Failed logins plus registrations one source address may make per minute on one
    /// core (then 429; 0: no limit; raise it behind a proxy).
    #[arg(long, default_value_t = engine::Limits::default().password_attempts_per_address_max)]
    password_attempts_per_address_max: usize,
}

impl ClientLimits {
    fn apply(self, limits: &mut engine::Limits) {
        limits.connections_max = self.connections_max;
        limits.connections_per_address_max = self.connections_per_address_max;
        limits.http_head_timeout_ms = self.http_head_timeout_ms;
        limits.http_body_timeout_ms = self.http_body_timeout_ms;
        limits.http_body_min_bytes_per_s = self.http_body_min_bytes_per_s;
        limits.http_idle_timeout_ms = self.http_idle_timeout_ms;
        limits.identify_timeout_ms = self.identify_timeout_ms;
        limits.password_attempts_per_address_max = self.password_attempts_per_address_max;
    }
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create a bot user and its application; prints its id and token.
    CreateBot {
        /// The bot's username (2-32 characters).
        name: String,
    },
    /// Create a guild (@everyone, #general, General voice) owned by a user.
    CreateGuild {
        /// The guild's name.
        name: String,
        /// The owner: a user id or username.
        #[arg(long)]
        owner: String,
    },
    /// Make a user a member of a guild.
    AddMember {
        /// A guild id or name.
        guild: String,
        /// A user id or username.
        user: String,
    },
    /// Print every account with a token of its current generation.
    ListTokens,
    /// Revoke every token of a user; prints the new one.
    Revoke {
        /// A user id or username.
        user: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            cores,
            io,
            no_rest_rate_limits,
            heartbeat_interval_ms,
            voice_heartbeat_interval_ms,
            test_hooks,
            upload_bytes_max,
            tls,
            tls_cert,
            tls_key,
            voice_port,
            no_voice,
            metrics_token,
            client_limits,
        } => {
            let tls_files = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(engine::TlsFiles { cert, key }),
                _ => None, // clap requires both or neither.
            };
            let mut limits = engine::Limits::default();
            limits.http.multipart_body_bytes_max = upload_bytes_max;
            client_limits.apply(&mut limits);
            let config = engine::Config {
                limits,
                data_dir,
                listen,
                cores,
                io,
                heartbeat_interval_ms,
                voice_heartbeat_interval_ms,
                test_hooks,
                main_tls: tls || tls_files.is_some(),
                tls: tls_files,
                voice: !no_voice,
                voice_port_base: voice_port,
                metrics_token,
                ..engine::Config::default()
            };
            let config = engine::Config {
                limits: engine::Limits {
                    rest_rate_limits: !no_rest_rate_limits,
                    ..config.limits
                },
                ..config
            };
            match serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("flux: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Admin { data_dir, action } => match admin(&data_dir, action) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("flux admin: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

fn admin(data_dir: &std::path::Path, action: AdminAction) -> Result<(), engine::admin::AdminError> {
    let now_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut dir = engine::admin::AdminDir::open(data_dir)?;
    match action {
        AdminAction::CreateBot { name } => {
            let bot = dir.create_bot(&name, now_unix_ms)?;
            println!("user_id: {}", bot.user_id);
            println!("token: {}", bot.token);
        }
        AdminAction::CreateGuild { name, owner } => {
            let guild = dir.create_guild(&name, &owner, now_unix_ms)?;
            println!("guild_id: {guild}");
        }
        AdminAction::AddMember { guild, user } => {
            let (guild, user) = dir.add_member(&guild, &user, now_unix_ms)?;
            println!("user {user} is now a member of guild {guild}");
        }
        AdminAction::ListTokens => {
            for line in dir.list_tokens() {
                let kind = if line.bot { "bot" } else { "user" };
                println!("{} {kind} {} {}", line.user_id, line.username, line.token);
            }
        }
        AdminAction::Revoke { user } => {
            let token = dir.revoke(&user, now_unix_ms)?;
            println!("token: {token}");
        }
    }
    Ok(())
}

fn serve(config: engine::Config) -> std::io::Result<()> {
    // Before the reactors start, so they inherit the blocked signals.
    let signals = engine::TerminationSignals::block()?;
    let data_dir = config.data_dir.clone();
    let test_hooks = config.test_hooks;
    let scheme = if config.main_tls { "https" } else { "http" };
    // Binds first, then opens the data dir, so bootstrap.json names the real port.
    let server = engine::Server::start(config)?;
    println!(
        "flux: listening on {scheme}://{} with {} core(s) ({:?} I/O); Ctrl-C to stop",
        server.local_addr(),
        server.cores(),
        server.io_backend()
    );
    if let Some(bootstrap) = server.bootstrap() {
        println!("{}", engine::world::how_to_connect(bootstrap, &data_dir));
    }
    if let (Some(first), Some(last)) = (server.voice_addrs().first(), server.voice_addrs().last()) {
        println!(
            "flux: voice on {first} to port {} (TLS over TCP, and UDP), one port per core",
            last.port()
        );
    }
    if test_hooks {
        eprintln!("flux: --test-hooks is on: /_flux/test/* is served. Never use it in production.");
    }
    let signal = signals.wait()?;
    eprintln!("flux: signal {signal}, shutting down gracefully");
    server.shutdown()
}
