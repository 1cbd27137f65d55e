//! `flux`: the command-line shell around the `engine` library.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

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
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            cores,
        } => {
            let config = engine::Config {
                data_dir,
                listen,
                cores,
            };
            println!("{}", config.plan());
        }
    }
}
