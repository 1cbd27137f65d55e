//! Scenario `fanout`: the fan-out sweep of `crate::gateway_fanout`, written as
//! `fanout-<sessions>.json` and `.svg`.
//!
//! The plot has two panels against the offered posts/s: sustained deliveries/s (one line
//! per server and core count: where a line bends away from the offered load, the server
//! is saturated) and publish→deliver p99. The JSON holds every point (medians over runs,
//! with failures by reason) and the Flux ÷ peer ratios of the same run.
//!
//! Command: `cargo run --release -p bench -- fanout [fanout flags] [--out docs/bench]`.

use std::io;
use std::path::Path;

use serde::Serialize;

use super::output::{self, Meta, Outcome};
use crate::gateway_fanout::{self, Fanout, FanoutPoint, Options};
use crate::plot::{LineChart, Panel, Series};
use crate::servers::Server;

/// The JSON file.
#[derive(Debug, Serialize)]
struct FanoutFile {
    meta: Meta,
    sessions: usize,
    publishers: usize,
    seconds_per_rate: f64,
    compress: &'static str,
    points: Vec<FanoutPoint>,
    flux_over_peer: Vec<Ratio>,
}

/// Flux ÷ peer at one (core count, offered rate), both medians of the same invocation.
#[derive(Debug, Serialize)]
struct Ratio {
    cores: usize,
    offered_posts_per_s: f64,
    sustained_deliveries: f64,
    deliver_p99: f64,
}

/// Runs the sweep and writes its files into `out_dir`.
pub fn run(options: &Options, out_dir: &Path) -> io::Result<Outcome> {
    let fanout = gateway_fanout::measure(options);
    let written = write(&fanout, out_dir)?;
    Ok(Outcome {
        report: fanout.report(),
        written,
    })
}

/// Writes `fanout-<sessions>.json` and `.svg` for a finished sweep.
pub fn write(fanout: &Fanout, out_dir: &Path) -> io::Result<output::Written> {
    let options = fanout.options();
    let points = fanout.points();
    let file = FanoutFile {
        meta: Meta::new("fanout", options.runs),
        sessions: options.sessions,
        publishers: options.publishers,
        seconds_per_rate: options.duration.as_secs_f64(),
        compress: options.compress.name(),
        flux_over_peer: ratios(&points),
        points,
    };
    let panels = [
        Panel::Line(LineChart {
            title: format!("Fan-out to {} sessions: sustained", options.sessions),
            x_label: "offered posts/s".into(),
            y_label: "deliveries/s".into(),
            series: series(&file.points, |p| p.sustained_deliveries_per_s),
        }),
        Panel::Line(LineChart {
            title: "publish → deliver p99".into(),
            x_label: "offered posts/s".into(),
            y_label: "ms".into(),
            series: series(&file.points, |p| p.deliver_p99_ms),
        }),
    ];
    output::write(
        out_dir,
        &format!("fanout-{}", options.sessions),
        &file,
        &panels,
    )
}

/// One line per (server, core count), in the order the points come.
pub(crate) fn series(points: &[FanoutPoint], value: fn(&FanoutPoint) -> f64) -> Vec<Series> {
    let mut series: Vec<(Server, usize, Series)> = Vec::new();
    for point in points {
        let index = match series
            .iter()
            .position(|(s, c, _)| *s == point.server && *c == point.cores)
        {
            Some(index) => index,
            None => {
                series.push((
                    point.server,
                    point.cores,
                    Series {
                        name: series_name(point),
                        points: Vec::new(),
                    },
                ));
                series.len() - 1
            }
        };
        series[index]
            .2
            .points
            .push((point.offered_posts_per_s, value(point)));
    }
    series.into_iter().map(|(_, _, s)| s).collect()
}

fn series_name(point: &FanoutPoint) -> String {
    let cores = if point.cores == 1 { "core" } else { "cores" };
    let shared = if point.co_located { ", co-located" } else { "" };
    format!("{}, {} {cores}{shared}", point.server.name(), point.cores)
}

fn ratios(points: &[FanoutPoint]) -> Vec<Ratio> {
    points
        .iter()
        .filter(|p| p.server == Server::Flux)
        .filter_map(|flux| {
            let peer = points.iter().find(|p| {
                p.server == Server::Peer
                    && p.cores == flux.cores
                    && p.offered_posts_per_s == flux.offered_posts_per_s
            })?;
            Some(Ratio {
                cores: flux.cores,
                offered_posts_per_s: flux.offered_posts_per_s,
                sustained_deliveries: flux.sustained_deliveries_per_s
                    / peer.sustained_deliveries_per_s,
                deliver_p99: flux.deliver_p99_ms / peer.deliver_p99_ms,
            })
        })
        .collect()
}
