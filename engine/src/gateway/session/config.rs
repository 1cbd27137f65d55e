//! The settings shared by every session of a server (one `Arc` per core).
//!
//! Why a file of its own: these are the protocol's knobs, read by every part of the
//! session and changed by none, so they read best in one place next to their defaults,
//! which follow Discord's own values where it publishes them. The application fills in the
//! server's (`FluxApp::new`: core index, URL, heartbeat interval, and the timeouts from
//! `Limits`).

use crate::gateway::compress::CompressionConfig;

/// Settings shared by every session of a server (one `Arc` per core).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// This core's index, embedded in session ids so a Resume can be routed back.
    pub core_index: u16,
    /// Sent in Hello. Discord: 41250.
    pub heartbeat_interval_ms: u64,
    /// A session that does not heartbeat for this long is closed with 4009 (`heartbeat.rs`).
    pub heartbeat_timeout_ms: u64,
    pub replay_ring_len_max: usize,
    pub replay_ring_bytes_max: usize,
    /// How long a detached session waits for a Resume.
    pub detached_ttl_ms: u64,
    /// Client payloads allowed per window before 4008 (`rate_limit.rs`).
    pub client_payloads_max: u32,
    pub client_payloads_window_ms: u64,
    /// More guilds than this on one gateway shard closes with 4011. Discord: 2500.
    pub guilds_per_shard_max: usize,
    /// Bytes of frames handed to the shell and not yet reported written, past which
    /// dispatches wait in the replay ring. The default, 512 KiB, is four times what a
    /// busy core lets a session's queue reach before it stops taking requests
    /// (`reactor/core/http_pause.rs`), so a saturated core's bursts of events take the
    /// fan-out's fast path (a run queued whole) rather than the ring's one frame at a time.
    pub send_window_bytes: usize,
    /// How long dispatches may wait for the send window before the connection is closed.
    pub slow_consumer_grace_ms: u64,
    /// How long a connection may go from Hello to Identify or Resume before it is closed
    /// with 4009 (`Limits::identify_timeout_ms` says why 60 s).
    pub identify_timeout_ms: u64,
    /// `resume_gateway_url` in READY: a `ws://` URL, no trailing slash (stripped if given).
    pub resume_gateway_url: String,
    pub compression: CompressionConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            core_index: 0,
            heartbeat_interval_ms: 41_250,
            heartbeat_timeout_ms: 61_875,
            replay_ring_len_max: 1024,
            replay_ring_bytes_max: 1 << 20,
            detached_ttl_ms: 120_000,
            client_payloads_max: 120,
            client_payloads_window_ms: 60_000,
            guilds_per_shard_max: 2500,
            send_window_bytes: 512 << 10,
            slow_consumer_grace_ms: 15_000,
            identify_timeout_ms: 60_000,
            resume_gateway_url: "ws://127.0.0.1:8080".to_string(),
            compression: CompressionConfig::default(),
        }
    }
}

impl SessionConfig {
    /// Sets the heartbeat interval and a timeout of 1.5 intervals.
    pub fn with_heartbeat_interval_ms(mut self, interval_ms: u64) -> SessionConfig {
        self.heartbeat_interval_ms = interval_ms;
        self.heartbeat_timeout_ms = interval_ms + interval_ms / 2;
        self
    }

    pub(super) fn resume_gateway_url(&self) -> &str {
        self.resume_gateway_url.trim_end_matches('/')
    }
}
