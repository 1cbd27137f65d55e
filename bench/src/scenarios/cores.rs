//! Scenario `cores`: how fan-out throughput grows with server cores, for Flux and the peer
//! in the same run.
//!
//! Method: the `fanout` sweep (`crate::gateway_fanout`) at each core count, offered rates
//! rising until the server cannot keep up (a window that fails its checks ends that
//! sweep). Per (server, core count) the result is the peak sustained deliveries/s: the
//! highest median, over the rates that passed, of deliveries ÷ (window + drain).
//! "Fell behind" says that at some rate that passed the server sustained less than 90% of
//! the offered deliveries: only then is the peak the server's capacity rather than the
//! sweep's top. "Failed at" names the lowest rate at which no run passed its checks (the
//! reasons are in the points): a peak below a failure is bounded by that failure, not
//! necessarily by capacity.
//!
//! Core counts: 1, 2, 4, … up to the CPUs this process may use. The load generator runs on
//! the CPUs the server does not use; at the top count it has none left and shares the
//! server's, which the output labels "co-located" (on a 2-CPU machine: 1 core clean, 2
//! co-located). A larger machine continues the same curve with the same command.
//!
//! Command: `cargo run --release -p bench -- cores [--cores 1,2] [--sessions 1000]
//! [--publishers 8] [--rate 100,200,400,800,1600] [--seconds 2] [--runs 3] [--no-peer]
//! [--out DIR]`.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::output::{self, Meta, Outcome};
use crate::gateway_fanout::{self, FanoutPoint};
use crate::placement;
use crate::plot::{BarChart, BarSeries, Panel};
use crate::servers::Server;
use crate::Size;

/// Sustained below this fraction of the offered deliveries: the server fell behind.
const KEPT_UP: f64 = 0.9;

/// What the scenario runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The sweep; its `cores` are the core counts.
    pub fanout: gateway_fanout::Options,
    /// Where the JSON and SVG go.
    pub out_dir: PathBuf,
}

impl Options {
    /// Tiny: one core, the fanout suite's tiny sweep. Full: [`default_cores`], 1,000
    /// sessions, 8 publishers, 100 → 1,600 posts/s, 2 s per rate, 3 runs.
    pub fn for_size(size: Size) -> Options {
        let fanout = match size {
            Size::Tiny => gateway_fanout::Options::for_size(Size::Tiny),
            Size::Full => gateway_fanout::Options {
                cores: default_cores(placement::allowed_cpus().len()),
                rates: vec![100.0, 200.0, 400.0, 800.0, 1600.0],
                duration: Duration::from_secs(2),
                ..gateway_fanout::Options::for_size(Size::Full)
            },
        };
        Options {
            fanout,
            out_dir: PathBuf::from("docs/bench"),
        }
    }
}

/// 1, 2, 4, … below `cpus`, then `cpus` itself: `[1, 2]` for 2 CPUs, `[1, 2, 4, 6]` for 6.
pub fn default_cores(cpus: usize) -> Vec<usize> {
    let mut cores: Vec<usize> = std::iter::successors(Some(1usize), |c| Some(c * 2))
        .take_while(|&c| c < cpus)
        .collect();
    cores.push(cpus.max(1));
    cores.dedup();
    cores
}

/// Runs the sweep at every core count and writes `cores-<sessions>.json` and `.svg`.
pub fn run(options: &Options) -> io::Result<Outcome> {
    let fanout = gateway_fanout::measure(&options.fanout);
    let points = fanout.points();
    let peaks = peaks(&points);
    let file = CoresFile {
        meta: Meta::new("cores", options.fanout.runs),
        sessions: options.fanout.sessions,
        publishers: options.fanout.publishers,
        offered_posts_per_s: options.fanout.rates.clone(),
        seconds_per_rate: options.fanout.duration.as_secs_f64(),
        flux_over_peer: ratios(&peaks),
        peaks,
        points,
    };
    let mut report = fanout.report();
    report.suite = "cores";
    report.table = format!("{}\n{}", render(&file), report.table);
    let panels = [Panel::Bars(chart(&file))];
    let stem = format!("cores-{}", file.sessions);
    let written = output::write(&options.out_dir, &stem, &file, &panels)?;
    Ok(Outcome { report, written })
}

/// The JSON file.
#[derive(Debug, Serialize)]
struct CoresFile {
    meta: Meta,
    sessions: usize,
    publishers: usize,
    offered_posts_per_s: Vec<f64>,
    seconds_per_rate: f64,
    peaks: Vec<Peak>,
    flux_over_peer: Vec<Ratio>,
    /// Every point of the sweep behind the peaks.
    points: Vec<FanoutPoint>,
}

/// One (server, core count).
#[derive(Debug, Serialize)]
struct Peak {
    server: Server,
    cores: usize,
    cpus: String,
    co_located: bool,
    /// The highest median sustained deliveries/s over the rates that passed (NaN: none).
    sustained_deliveries_per_s: f64,
    /// The offered rate it was reached at.
    at_offered_posts_per_s: f64,
    /// Publish → deliver p99 there, milliseconds.
    deliver_p99_ms: f64,
    /// At a rate that passed, the server sustained under 90% of the offer: the peak is its
    /// capacity.
    fell_behind: bool,
    /// The lowest offered rate at which no run passed its checks, if any.
    failed_at_posts_per_s: Option<f64>,
    /// The load generator may have set the pace at the peak.
    load_bound: bool,
    /// Runs that passed at the peak's rate, of `runs`: a peak that one run of three
    /// reached is weaker evidence than one all three reached.
    runs_ok: usize,
    runs: usize,
}

#[derive(Debug, Serialize)]
struct Ratio {
    cores: usize,
    sustained_deliveries: f64,
}

fn peaks(points: &[FanoutPoint]) -> Vec<Peak> {
    let mut keys: Vec<(Server, usize)> = Vec::new();
    for point in points {
        if !keys.contains(&(point.server, point.cores)) {
            keys.push((point.server, point.cores));
        }
    }
    keys.into_iter()
        .map(|(server, cores)| {
            let mine: Vec<&FanoutPoint> = points
                .iter()
                .filter(|p| p.server == server && p.cores == cores)
                .collect();
            let best = mine
                .iter()
                .filter(|p| p.runs_ok > 0 && p.sustained_deliveries_per_s.is_finite())
                .max_by(|a, b| {
                    a.sustained_deliveries_per_s
                        .total_cmp(&b.sustained_deliveries_per_s)
                });
            let fell_behind = mine.iter().any(|p| {
                p.runs_ok > 0 && p.sustained_deliveries_per_s < KEPT_UP * p.offered_deliveries_per_s
            });
            let failed_at = mine
                .iter()
                .filter(|p| p.runs_ok == 0)
                .map(|p| p.offered_posts_per_s)
                .min_by(f64::total_cmp);
            Peak {
                server,
                cores,
                cpus: mine[0].cpus.clone(),
                co_located: mine[0].co_located,
                sustained_deliveries_per_s: best.map_or(f64::NAN, |p| p.sustained_deliveries_per_s),
                at_offered_posts_per_s: best.map_or(f64::NAN, |p| p.offered_posts_per_s),
                deliver_p99_ms: best.map_or(f64::NAN, |p| p.deliver_p99_ms),
                fell_behind,
                failed_at_posts_per_s: failed_at,
                load_bound: best.is_some_and(|p| p.load_bound),
                runs_ok: best.map_or(0, |p| p.runs_ok),
                runs: best.map_or(mine[0].runs, |p| p.runs),
            }
        })
        .collect()
}

fn ratios(peaks: &[Peak]) -> Vec<Ratio> {
    peaks
        .iter()
        .filter(|p| p.server == Server::Flux)
        .filter_map(|flux| {
            let peer = peaks
                .iter()
                .find(|p| p.server == Server::Peer && p.cores == flux.cores)?;
            Some(Ratio {
                cores: flux.cores,
                sustained_deliveries: flux.sustained_deliveries_per_s
                    / peer.sustained_deliveries_per_s,
            })
        })
        .collect()
}

fn chart(file: &CoresFile) -> BarChart {
    let mut cores: Vec<(usize, bool)> = Vec::new();
    let mut servers: Vec<Server> = Vec::new();
    for peak in &file.peaks {
        if !cores.iter().any(|(c, _)| *c == peak.cores) {
            cores.push((peak.cores, peak.co_located));
        }
        if !servers.contains(&peak.server) {
            servers.push(peak.server);
        }
    }
    BarChart {
        title: format!("Peak sustained fan-out, {} sessions", file.sessions),
        y_label: "deliveries/s".into(),
        categories: cores
            .iter()
            .map(|&(n, shared)| {
                let unit = if n == 1 { "core" } else { "cores" };
                let shared = if shared { " (co-located)" } else { "" };
                format!("{n} {unit}{shared}")
            })
            .collect(),
        series: servers
            .iter()
            .map(|&server| BarSeries {
                name: server.name().to_string(),
                values: cores
                    .iter()
                    .map(|&(n, _)| {
                        file.peaks
                            .iter()
                            .find(|p| p.server == server && p.cores == n)
                            .map(|p| p.sustained_deliveries_per_s)
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn render(file: &CoresFile) -> String {
    let mut table = String::from(
        "Peak sustained deliveries/s per core count (median over runs at each rate, then the \
         highest rate that passed):\n\n\
         | server | cores | CPUs | peak deliveries/s | at posts/s | deliver p99 | fell behind | failed at \
         posts/s | load-bound \
         | runs ok there |\n\
         |---|---:|---|---:|---:|---:|---|---:|---|---:|\n",
    );
    for peak in &file.peaks {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.0} | {:.0} | {:.1} ms | {} | {} | {} | {}/{} |",
            peak.server.name(),
            peak.cores,
            peak.cpus,
            peak.sustained_deliveries_per_s,
            peak.at_offered_posts_per_s,
            peak.deliver_p99_ms,
            if peak.fell_behind { "yes" } else { "no" },
            peak.failed_at_posts_per_s
                .map_or("—".to_string(), |rate| format!("{rate:.0}")),
            if peak.load_bound { "yes" } else { "no" },
            peak.runs_ok,
            peak.runs,
        );
    }
    if !file.flux_over_peer.is_empty() {
        table.push_str("\n| cores | Flux ÷ peer peak |\n|---:|---:|\n");
        for ratio in &file.flux_over_peer {
            let _ = writeln!(
                table,
                "| {} | {:.2} |",
                ratio.cores, ratio.sustained_deliveries
            );
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_counts_double_then_end_at_every_cpu() {
        assert_eq!(default_cores(1), vec![1]);
        assert_eq!(default_cores(2), vec![1, 2]);
        assert_eq!(default_cores(6), vec![1, 2, 4, 6]);
        assert_eq!(default_cores(16), vec![1, 2, 4, 8, 16]);
        assert_eq!(default_cores(0), vec![1]);
    }
}
