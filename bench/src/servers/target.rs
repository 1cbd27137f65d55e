//! A server under test, started and ready to be driven: the child process plus what a
//! client needs to talk to it (session tokens, the publisher's token, the channel).
//!
//! Why it exists: every scenario (`fanout`, `idle`, `reconnect`, `cores`) starts Flux or
//! the peer the same way, and Flux needs more than a process: a seeded data dir that must
//! outlive the process (a crash-and-restart scenario starts a second process on it), and
//! one token per session. [`Target`] keeps those together so a scenario only says which
//! server, how many sessions and which CPUs.
//!
//! Invariants:
//! - A Flux target owns its data dir; the dir outlives every process started on it and is
//!   removed when the target is dropped (after the process, which is declared first).
//! - The peer accepts any token and any channel id, so its plan uses one token for every
//!   session and a 19-digit channel id, which keeps its events as long as Flux's.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;

use super::{FluxDataDir, ServerKind, ServerProcess};
use crate::loadgen::Plan;

/// Which server is under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Server {
    /// Flux (`engine::Server`) on a seeded data dir.
    Flux,
    /// The tokio peer (`crate::peer`).
    Peer,
}

impl Server {
    /// The name reports and plots use.
    pub fn name(self) -> &'static str {
        match self {
            Server::Flux => "Flux",
            Server::Peer => "peer (tokio)",
        }
    }

    /// The servers a scenario measures: Flux, and the peer unless it was left out. Runs
    /// interleave them in this order.
    pub fn measured(with_peer: bool) -> &'static [Server] {
        if with_peer {
            &[Server::Flux, Server::Peer]
        } else {
            &[Server::Flux]
        }
    }
}

/// A running server under test.
#[derive(Debug)]
pub struct Target {
    /// Which server.
    pub server: Server,
    /// The running child process. Declared before `data_dir`, so it is killed before the
    /// dir it writes to is removed.
    pub process: ServerProcess,
    kind: ServerKind,
    data_dir: Option<FluxDataDir>,
}

/// Why a target did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The server says it cannot run here (not a failure of the benchmark).
    Unavailable(String),
    /// Seeding or starting failed.
    Failed(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Unavailable(why) => write!(f, "unavailable: {why}"),
            StartError::Failed(why) => f.write_str(why),
        }
    }
}

impl Target {
    /// Starts `server` with `cores` cores pinned to `cpus`, ready for `sessions` sessions
    /// (Flux: that many bot users are seeded first).
    pub fn start(
        server: Server,
        exe: &Path,
        sessions: usize,
        cores: usize,
        cpus: &[usize],
        io: engine::IoBackend,
    ) -> Result<Target, StartError> {
        Target::start_with_heartbeat(server, exe, sessions, cores, cpus, io, None)
    }

    /// `start`, with Flux telling clients to heartbeat every `heartbeat_interval_ms`
    /// (`None`: Discord's 41,250 ms). The peer keeps its own.
    pub fn start_with_heartbeat(
        server: Server,
        exe: &Path,
        sessions: usize,
        cores: usize,
        cpus: &[usize],
        io: engine::IoBackend,
        heartbeat_interval_ms: Option<u64>,
    ) -> Result<Target, StartError> {
        let (kind, data_dir) = match server {
            Server::Flux => {
                let dir = FluxDataDir::seed(sessions).map_err(|error| {
                    StartError::Failed(format!("seeding a Flux data dir: {error}"))
                })?;
                let kind = ServerKind::Flux {
                    cores,
                    data_dir: dir.path.clone(),
                    io,
                    listen: None,
                    heartbeat_interval_ms,
                };
                (kind, Some(dir))
            }
            Server::Peer => (
                ServerKind::Peer {
                    workers: cores,
                    listen: None,
                },
                None,
            ),
        };
        let process = spawn(server, exe, &kind, cpus)?;
        Ok(Target {
            server,
            process,
            kind,
            data_dir,
        })
    }

    /// Where the server listens now.
    pub fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// A plan for `sessions` sessions with this server's tokens, channel and pid; the
    /// caller sets the rest (publishers, CPUs, sources).
    pub fn plan(&self, sessions: usize) -> Plan {
        self.plan_for(0..sessions)
    }

    /// A plan for the sessions `range` of the seeded users: fleets held side by side
    /// (the `idle` scenario adds sessions in steps) must not share a Flux user, whose
    /// identify limit would refuse the second one.
    pub fn plan_for(&self, range: Range<usize>) -> Plan {
        let sessions = range.len();
        let (session_tokens, publisher_token, channel_id) = match &self.data_dir {
            Some(dir) => {
                let world = &dir.world;
                assert!(
                    range.end <= world.session_tokens.len(),
                    "the data dir was seeded for fewer sessions"
                );
                (
                    world.session_tokens[range].to_vec(),
                    world.publisher_token.clone(),
                    world.text_channel_id.0.to_string(),
                )
            }
            None => (
                vec!["peer".to_string()],
                "peer".to_string(),
                // Any channel id is accepted; a 19-digit one keeps the peer's events as
                // long as Flux's.
                "1300000000000000002".to_string(),
            ),
        };
        Plan {
            session_tokens,
            publisher_token,
            channel_id,
            server_pid: Some(self.process.pid),
            ..Plan::new(self.process.addr, sessions)
        }
    }

    /// Kills the server (SIGKILL: a crash, nothing flushed) and starts it again on the same
    /// CPUs and, for Flux, the same data dir. Returns how long the new process took to
    /// listen. The address may change; sessions reconnect to [`Target::addr`].
    pub fn crash_and_restart(&mut self, exe: &Path) -> Result<std::time::Duration, StartError> {
        self.process
            .kill()
            .map_err(|error| StartError::Failed(format!("SIGKILL: {error}")))?;
        let started = std::time::Instant::now();
        let cpus = self.process.cpus.clone();
        self.process = spawn(self.server, exe, &self.kind, &cpus)?;
        Ok(started.elapsed())
    }
}

fn spawn(
    server: Server,
    exe: &Path,
    kind: &ServerKind,
    cpus: &[usize],
) -> Result<ServerProcess, StartError> {
    ServerProcess::spawn(exe, kind, cpus).map_err(|error| match error.kind() {
        io::ErrorKind::Unsupported => StartError::Unavailable(error.to_string()),
        _ => StartError::Failed(format!("starting {}: {error}", server.name())),
    })
}
