//! `flux`: the command-line shell around the `engine` library.
//!
//! `flux serve` with no arguments uses the embedded defaults (./flux-data,
//! 127.0.0.1:8080, every core, io_uring with epoll as the fallback). SIGTERM and SIGINT
//! shut the server down gracefully: stop accepting, tell every session to reconnect,
//! flush, exit.
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
            heartbeat_interval_ms,
        } => {
            let config = engine::Config {
                data_dir,
                listen,
                cores,
                io,
                heartbeat_interval_ms,
                ..engine::Config::default()
            };
            match serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("flux: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn serve(config: engine::Config) -> std::io::Result<()> {
    // Before the reactors start, so they inherit the blocked signals.
    let signals = engine::TerminationSignals::block()?;
    let server = engine::Server::start(config)?;
    println!(
        "flux: listening on http://{} with {} core(s) ({:?} I/O); Ctrl-C to stop",
        server.local_addr(),
        server.cores(),
        server.io_backend()
    );
    let signal = signals.wait()?;
    eprintln!("flux: signal {signal}, shutting down gracefully");
    server.shutdown()
}
