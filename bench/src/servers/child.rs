//! The child side: `bench serve flux|peer`, a server pinned to its CPUs that announces its
//! address on stdout and serves until its stdin closes.
//!
//! Order matters: the process pins itself first, while its main thread is its only
//! thread, so every thread the server starts later inherits the CPU set (and Flux's
//! reactors pin themselves inside it). Only then does anything start a thread.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::placement;

/// `bench serve …`: run one server in this process (the benchmark's child).
#[derive(Debug, Parser)]
#[command(
    name = "bench serve",
    about = "Run a server under test (the fanout suite's child)"
)]
pub enum ServeCommand {
    /// Flux on a data dir the parent seeded.
    Flux {
        /// CPUs this process may run on, e.g. `0` or `0-3`.
        #[arg(long)]
        cpus: String,
        /// Reactor cores.
        #[arg(long, default_value_t = 1)]
        cores: usize,
        /// The seeded data dir.
        #[arg(long)]
        data_dir: PathBuf,
        /// I/O backend: uring (falls back to epoll) or epoll.
        #[arg(long, default_value = "uring")]
        io: engine::IoBackend,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// The gateway heartbeat interval (op 10 Hello); the engine's default if absent.
        #[arg(long)]
        heartbeat_interval_ms: Option<u64>,
    },
    /// The tokio peer server.
    Peer {
        /// CPUs this process may run on.
        #[arg(long)]
        cpus: String,
        /// Runtime worker threads.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
}

/// Runs `bench serve …`; `args` starts with `serve`. Returns when stdin closes.
pub fn serve_main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let command = ServeCommand::parse_from(args);
    let cpus = match &command {
        ServeCommand::Flux { cpus, .. } | ServeCommand::Peer { cpus, .. } => cpus,
    };
    // First, while this is the only thread (see the module doc).
    let pinned = placement::parse_cpu_list(cpus)
        .map_err(std::io::Error::other)
        .and_then(|cpus| placement::set_process_affinity(&cpus));
    if let Err(error) = pinned {
        return unavailable(&format!("cannot pin to CPUs {cpus}: {error}"));
    }
    match command {
        ServeCommand::Flux {
            cores,
            data_dir,
            io,
            listen,
            heartbeat_interval_ms,
            ..
        } => serve_flux(cores, data_dir, io, listen, heartbeat_interval_ms),
        ServeCommand::Peer {
            workers, listen, ..
        } => serve_peer(workers, listen),
    }
}

fn serve_flux(
    cores: usize,
    data_dir: PathBuf,
    io: engine::IoBackend,
    listen: SocketAddr,
    heartbeat_interval_ms: Option<u64>,
) -> ExitCode {
    let defaults = engine::Config::default();
    let config = engine::Config {
        heartbeat_interval_ms: heartbeat_interval_ms.unwrap_or(defaults.heartbeat_interval_ms),
        data_dir,
        listen,
        cores: Some(cores.max(1)),
        io,
        limits: engine::Limits {
            // Publishers post hundreds of messages per second to one channel; Discord's
            // per-channel bucket (5 per 5 s) would answer 429.
            rest_rate_limits: false,
            // The load generator opens up to 19,000 sessions from a handful of
            // 127.0.0.x addresses; the per-address cap (256) is for the open internet.
            connections_per_address_max: 0,
            ..engine::Limits::default()
        },
        remove_data_dir_on_shutdown: false,
        // The chat benchmarks measure no voice; its ports (listen port + 1 and up) could
        // collide with the load generator's connections.
        voice: false,
        ..defaults
    };
    let server = match engine::Server::start(config) {
        Ok(server) => server,
        Err(error) => return unavailable(&format!("Flux did not start: {error}")),
    };
    announce(server.local_addr());
    wait_for_stdin_to_close();
    match server.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench serve flux: shutdown: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve_peer(workers: usize, listen: SocketAddr) -> ExitCode {
    // The peer blocks its caller, so a watcher ends the process when the parent goes.
    let watcher = std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(|| {
            wait_for_stdin_to_close();
            std::process::exit(0);
        });
    if let Err(error) = watcher {
        return unavailable(&format!("cannot start the stdin watcher: {error}"));
    }
    let mut listening = false;
    let options = crate::peer::PeerOptions {
        listen,
        workers: workers.max(1),
    };
    let result = crate::peer::serve(options, |addr| {
        listening = true;
        announce(addr);
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if !listening => unavailable(&error.to_string()),
        Err(error) => {
            eprintln!("bench serve peer: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The one line the parent waits for.
fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    // If the parent is gone, nobody reads this; stdin closing ends the child anyway.
    let _ = writeln!(out, "LISTENING {addr}");
    let _ = out.flush();
}

/// Tells the parent why there is no server, and exits with 3.
fn unavailable(why: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "UNAVAILABLE {}", why.replace('\n', " "));
    let _ = out.flush();
    ExitCode::from(3)
}

fn wait_for_stdin_to_close() {
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 256];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
