//! The fan-out sweep as data points, one per (server, core count, offered rate): the
//! medians the table shows, in a form a plot or a JSON file can take.
//!
//! Why a separate view: the table is for people reading a report; the points are what
//! `scenarios::fanout` writes as JSON and plots, and what `scenarios::cores` reduces to one
//! number per core count. Both must come from the same medians, so both are built here from
//! the same `medians()` call.
//!
//! A value that could not be measured (no run passed) is NaN, which JSON writes as `null`.

use serde::Serialize;

use super::{medians, Fanout, LOAD_BOUND};
use crate::servers::Server;

/// One (server, core count, offered rate): medians over the runs that passed.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutPoint {
    /// Which server.
    pub server: Server,
    /// Its cores (Flux reactors, peer workers).
    pub cores: usize,
    /// `server 0 / load 1-3`, `(co-located)` when they share a CPU.
    pub cpus: String,
    /// Whether the server and the load generator shared a CPU.
    pub co_located: bool,
    /// Gateway sessions, every one a receiver.
    pub sessions: usize,
    /// Posts per second the publishers offered (open loop).
    pub offered_posts_per_s: f64,
    /// `offered_posts_per_s × sessions`: the deliveries the offer asks for.
    pub offered_deliveries_per_s: f64,
    /// Deliveries ÷ (window + drain): what the server sustained.
    pub sustained_deliveries_per_s: f64,
    /// Posts answered 200 per second of the window.
    pub acked_per_s: f64,
    /// Publish (scheduled time) → delivered, median, milliseconds.
    pub deliver_p50_ms: f64,
    /// Publish → delivered, 99th percentile, milliseconds.
    pub deliver_p99_ms: f64,
    /// POST → 200 (Flux: after fdatasync), 99th percentile, milliseconds.
    pub post_p99_ms: f64,
    /// The server's CPU seconds per million deliveries.
    pub server_cpu_s_per_million: f64,
    /// The busiest load thread had work more than 85% of the window: the load generator
    /// may have set the pace.
    pub load_bound: bool,
    /// Runs whose window passed every check.
    pub runs_ok: usize,
    /// Runs in which the server started.
    pub runs: usize,
    /// Why the other runs failed.
    pub failures: Vec<String>,
}

impl Fanout {
    /// Every (server, core count, rate) that was run, in table order; unavailable servers
    /// have none.
    pub fn points(&self) -> Vec<FanoutPoint> {
        let mut points = Vec::new();
        for placement in &self.placements {
            for &server in &self.servers {
                let unavailable = self.sweeps.iter().any(|s| {
                    s.server == server && s.cores == placement.cores && s.unavailable.is_some()
                });
                if unavailable {
                    continue;
                }
                for &rate in &self.options.rates {
                    let m = medians(&self.sweeps, server, placement.cores, rate);
                    points.push(FanoutPoint {
                        server,
                        cores: placement.cores,
                        cpus: placement.label(),
                        co_located: placement.co_located(),
                        sessions: self.options.sessions,
                        offered_posts_per_s: rate,
                        offered_deliveries_per_s: rate * self.options.sessions as f64,
                        sustained_deliveries_per_s: m.delivered_per_s,
                        acked_per_s: m.acked_per_s,
                        deliver_p50_ms: m.delivery_p50 / 1e6,
                        deliver_p99_ms: m.delivery_p99 / 1e6,
                        post_p99_ms: m.post_p99 / 1e6,
                        server_cpu_s_per_million: m.server_cpu_per_m,
                        load_bound: m.load_demand > LOAD_BOUND,
                        runs_ok: m.runs_ok,
                        runs: m.runs,
                        failures: m.failures,
                    });
                }
            }
        }
        points
    }
}
