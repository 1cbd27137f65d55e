//! Servers under test, each in its own child process pinned to its own CPUs.
//!
//! Why a child process: a server that shares a process with its load generator shares
//! its allocator, its page cache of hot code and, without care, its CPUs; and its CPU
//! time cannot be told apart from the client's. A child has none of those problems, and
//! `/proc/<pid>` gives its CPU time and memory (`placement.rs`).
//!
//! The protocol between parent and child is deliberately tiny:
//! - The parent runs its own executable as `bench serve flux --cpus 0 --cores 1
//!   --data-dir DIR [--io uring|epoll] [--listen ADDR]` or `bench serve peer --cpus 0
//!   --workers 1 [--listen ADDR]` (`child.rs`).
//! - The child pins itself to `--cpus` before it starts any thread, starts the server on
//!   127.0.0.1:0, and prints exactly one line on stdout: `LISTENING 127.0.0.1:PORT`. A
//!   server that cannot start prints `UNAVAILABLE <why>` instead and exits.
//! - The child serves until its stdin closes (the parent dropped it, or died) or it is
//!   killed. `ServerProcess` (`process.rs`) kills and reaps it when dropped.
//!
//! Both servers speak the same surface on one port: the Discord gateway v10 WebSocket at
//! `GET /?v=10&encoding=json[&compress=…]` and `POST /api/v10/channels/{id}/messages`.
//! Flux runs on a data dir the parent seeded (`flux_world.rs`: one bot user per session,
//! because Flux enforces the identify limit per user); the peer accepts any token.
//! `target.rs` puts a started server and the tokens a client needs together.

mod child;
mod flux_world;
mod metrics;
mod process;
mod target;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use child::{serve_main, ServeCommand};
pub use flux_world::{seed, FluxDataDir, SeededWorld};
pub use metrics::{write_counters, WriteCounters};
pub use process::{bench_executable, ServerProcess};
pub use target::{Server, StartError, Target};

/// Which server a child process runs, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerKind {
    /// Flux on a seeded data dir.
    Flux {
        /// Reactor cores (`Config::cores`).
        cores: usize,
        /// The data dir (seeded by the parent, e.g. with [`FluxDataDir`]).
        data_dir: PathBuf,
        /// The I/O backend.
        io: engine::IoBackend,
        /// Where to listen; `None` is 127.0.0.1 on a free port. A restart can pass the
        /// previous address to keep it.
        listen: Option<SocketAddr>,
        /// The gateway heartbeat interval; `None` is the engine's default.
        heartbeat_interval_ms: Option<u64>,
    },
    /// The tokio peer (`bench::peer`).
    Peer {
        /// Runtime worker threads.
        workers: usize,
        /// Where to listen, as for Flux.
        listen: Option<SocketAddr>,
    },
}

impl ServerKind {
    /// The short name the CLI uses: `flux` or `peer`.
    pub fn name(&self) -> &'static str {
        match self {
            ServerKind::Flux { .. } => "flux",
            ServerKind::Peer { .. } => "peer",
        }
    }
}
