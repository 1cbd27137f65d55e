//! The `fanout` suite's peer server: the strong tokio broadcast server Flux is compared
//! with, speaking the same surface on one port (gateway WebSocket and the message POST).
//!
//! PLACEHOLDER: the real peer is written on another branch and replaces this file when
//! the branches merge. Until then `serve` only reports that the peer is not built, and the
//! suite shows the peer's row as unavailable. The signature below is the contract both
//! branches share; `servers.rs` calls it from the `bench serve peer` child process.

use std::net::SocketAddr;

/// How to run the peer. The child process has already pinned itself to its CPUs.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// Where to listen; port 0 picks a free port, reported through `on_listening`.
    pub listen: SocketAddr,
    /// Runtime worker threads.
    pub workers: usize,
}

/// Runs the peer until the process ends, calling `on_listening` once with the bound
/// address. Blocks; prints nothing.
pub fn serve(options: PeerOptions, on_listening: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let _ = (options, on_listening);
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "peer not built yet",
    ))
}
