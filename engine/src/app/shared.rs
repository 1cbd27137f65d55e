//! What every core's application shares: the world and user directory *as loaded at
//! start*, the clock origin and the metrics.
//!
//! The world here is only the starting point: each core copies the directory and builds
//! its guild state from it (`guild_state.rs`), and from then on guilds change on their owner
//! cores and reach the others as mesh messages. Nothing in `Shared` is written after
//! start except the relaxed metric counters and the store faults a test arms, so there is
//! nothing to lock.
//!
//! The metrics are relaxed atomic counters: each is written by whichever core sees the
//! event and read only by `GET /_flux/metrics`, which needs no consistency between
//! counters.
//!
//! Invariant: `epoch` is the same `Instant` for every core, so a [`Micros`] deadline
//! (a detached session's `expires_at`) means the same moment on every core and can
//! travel over the mesh.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::gateway::Micros;
use crate::world::{Directory, World};

/// Shared, immutable state of one server (one `Arc` per core).
#[derive(Debug)]
pub struct Shared {
    /// The world as opened at start.
    pub world: Arc<World>,
    /// Users and tokens, built from `world`.
    pub directory: Directory,
    /// `ws://HOST:PORT` of this server (`wss://` with `Config::main_tls`), no trailing
    /// slash: READY's `resume_gateway_url` and `GET /gateway`'s `url`.
    pub gateway_url: String,
    /// Whether `/_flux/test/*` is served.
    pub test_hooks: bool,
    /// Counters for `GET /_flux/metrics`.
    pub metrics: Metrics,
    /// Store failures armed by `/_flux/test/store-faults` (test hooks only).
    pub store_faults: Arc<super::commit::StoreFaults>,
    /// The data dir's lock, held while any core runs (`crate::data_dir_lock`).
    pub(crate) data_dir_lock: Option<crate::data_dir_lock::DataDirLock>,
    epoch: Instant,
}

impl Shared {
    /// State for a server bound to `local_addr`.
    pub fn new(
        world: World,
        directory: Directory,
        local_addr: SocketAddr,
        test_hooks: bool,
    ) -> Shared {
        Shared {
            world: Arc::new(world),
            directory,
            gateway_url: gateway_url(local_addr),
            test_hooks,
            metrics: Metrics::default(),
            store_faults: Arc::default(),
            data_dir_lock: None,
            epoch: Instant::now(),
        }
    }

    /// `now` on the gateway's clock (microseconds since the server started).
    pub fn micros(&self, now: Instant) -> Micros {
        let us = now.saturating_duration_since(self.epoch).as_micros();
        Micros(u64::try_from(us).unwrap_or(u64::MAX - 1))
    }

    /// The `Instant` of a gateway deadline; `None` for [`Micros::NEVER`].
    pub fn instant(&self, at: Micros) -> Option<Instant> {
        (at != Micros::NEVER).then(|| self.epoch + Duration::from_micros(at.0))
    }
}

/// The URL clients reach this server's gateway at. An unspecified bind address
/// (`0.0.0.0`, `::`) is advertised as loopback, like `bootstrap.json` does.
pub fn gateway_url(local_addr: SocketAddr) -> String {
    let mut addr = local_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("ws://{addr}")
}

/// Server-wide counters, summed over cores.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Identifies that reached READY.
    pub gateway_identify_total: AtomicU64,
    /// Identifies refused by the identify rate limit (op 9).
    pub gateway_identify_refused_total: AtomicU64,
    /// Resumes that reached RESUMED.
    pub gateway_resume_total: AtomicU64,
    /// Of those, resumes whose detached state waited on another core and moved here
    /// over the mesh.
    pub gateway_resume_remote_total: AtomicU64,
    /// Resumes answered op 9 because the session was unknown, expired or taken.
    pub gateway_resume_not_found_total: AtomicU64,
    /// Gateway WebSocket connections open now.
    pub gateway_connections_open: AtomicI64,
    /// Detached sessions waiting for a Resume now.
    pub gateway_sessions_detached: AtomicI64,
    /// REST requests answered.
    pub rest_requests_total: AtomicU64,
    /// Message-route requests that arrived on a core other than their guild's owner and
    /// were forwarded to it over the mesh.
    pub rest_message_forwarded_total: AtomicU64,
    /// Message writes (create, edit, delete) made durable and acknowledged.
    pub message_writes_durable_total: AtomicU64,
    /// Guild changes (guild, channel, role, member, ban, invite, thread) made durable.
    pub guild_writes_durable_total: AtomicU64,
    /// Writes of any family the store accepted and then failed to make durable (each
    /// answered 500 and undone).
    pub store_writes_failed_total: AtomicU64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Moves a gauge by `delta`.
    pub fn shift(gauge: &AtomicI64, delta: i64) {
        gauge.fetch_add(delta, Ordering::Relaxed);
    }

    /// The counters as JSON bytes (without the reactors').
    pub fn to_json(&self) -> Vec<u8> {
        crate::world::encode(&self.to_value_with(None))
    }

    /// The counters, plus the reactors' (summed over cores) under `"reactor"`:
    /// `frames_queued / write_batches` is how many frames each socket write carried.
    pub fn to_value_with(&self, reactor: Option<&crate::reactor::Stats>) -> serde_json::Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let gauge = |g: &AtomicI64| g.load(Ordering::Relaxed);
        let value = serde_json::json!({
            "gateway_identify_total": get(&self.gateway_identify_total),
            "gateway_identify_refused_total": get(&self.gateway_identify_refused_total),
            "gateway_resume_total": get(&self.gateway_resume_total),
            "gateway_resume_remote_total": get(&self.gateway_resume_remote_total),
            "gateway_resume_not_found_total": get(&self.gateway_resume_not_found_total),
            "gateway_connections_open": gauge(&self.gateway_connections_open),
            "gateway_sessions_detached": gauge(&self.gateway_sessions_detached),
            "rest_requests_total": get(&self.rest_requests_total),
            "rest_message_forwarded_total": get(&self.rest_message_forwarded_total),
            "message_writes_durable_total": get(&self.message_writes_durable_total),
            "guild_writes_durable_total": get(&self.guild_writes_durable_total),
            "store_writes_failed_total": get(&self.store_writes_failed_total),
        });
        let mut value = value;
        if let (Some(stats), Some(object)) = (reactor, value.as_object_mut()) {
            object.insert(
                "reactor".into(),
                serde_json::json!({
                    "connections_open": stats.connections_open,
                    "connections_accepted": stats.connections_accepted,
                    "slow_consumer_closes": stats.slow_consumer_closes,
                    "protocol_error_closes": stats.protocol_error_closes,
                    "outbox_bytes_peak": stats.outbox_bytes_peak,
                    "write_batches": stats.write_batches,
                    "frames_queued": stats.frames_queued,
                    "datagrams_received": stats.datagrams_received,
                    "datagrams_sent": stats.datagrams_sent,
                    "datagrams_dropped": stats.datagrams_dropped,
                }),
            );
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_advertised_as_loopback() {
        assert_eq!(
            gateway_url("0.0.0.0:80".parse().unwrap()),
            "ws://127.0.0.1:80"
        );
        assert_eq!(gateway_url("[::]:80".parse().unwrap()), "ws://[::1]:80");
        assert_eq!(
            gateway_url("10.0.0.1:9".parse().unwrap()),
            "ws://10.0.0.1:9"
        );
    }

    #[test]
    fn metrics_json_names_the_counters_the_client_tests_read() {
        let metrics = Metrics::default();
        Metrics::bump(&metrics.gateway_identify_total);
        let value: serde_json::Value = serde_json::from_slice(&metrics.to_json()).unwrap();
        assert_eq!(value["gateway_identify_total"], 1);
        assert_eq!(value["gateway_resume_total"], 0);
    }
}
