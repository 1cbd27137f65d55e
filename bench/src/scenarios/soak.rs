//! Scenario `soak`: healthy clients keep working while thousands of hostile connections
//! misbehave against the same Flux (`loadgen/hostile.rs` says how), for a minute.
//!
//! What it shows, and fails on: the server stays up; every healthy session receives every
//! acknowledged post exactly once with `s` rising by one (the load generator's own check:
//! a loss is a failure, not a number); and the server's memory stays flat while hostile
//! connections come and go. It reports the healthy clients' latencies, the server's RSS
//! over time, and per hostile kind how many connections were opened and closed by the
//! server.
//!
//! The server runs on `--server-cpus`; the load generator and the hostile thread share
//! `--load-cpus`, so the healthy clients' latencies include that sharing (the hostile
//! thread's reconnect churn is real work on the load CPU). The bench's Flux has no
//! per-address cap (its load comes from a few addresses), so every hostile connection is
//! admitted: the caps have their own tests (`engine/tests/connection_caps.rs`).
//!
//! Command: `cargo run --release -p bench -- soak [--sessions 500] [--hostile 17000]
//! [--rate 50] [--seconds 60] [--server-cpus 0] [--load-cpus 1] [--out DIR]`.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::output::{self, Meta, Outcome};
use crate::loadgen::hostile::{self, HostileCounts};
use crate::loadgen::{Fleet, Plan, Window};
use crate::placement;
use crate::plot::{LineChart, Panel, Series};
use crate::servers::{Server, StartError, Target};
use crate::{Report, Size};

/// What the soak runs.
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    /// Healthy gateway sessions (each with its own bot user).
    pub sessions: usize,
    /// Healthy REST publishers.
    pub publishers: usize,
    /// Healthy posts per second.
    pub rate_per_s: f64,
    /// How long the healthy clients post while the hostile ones run.
    pub seconds: f64,
    /// Hostile connections held open (and reopened) the whole time.
    pub hostile: usize,
    /// Source addresses of the healthy clients (127.0.0.1 …).
    pub sources: usize,
    pub server_cpus: Vec<usize>,
    pub load_cpus: Vec<usize>,
    #[serde(skip)]
    pub io: engine::IoBackend,
    #[serde(skip)]
    pub out_dir: PathBuf,
    /// The executable with `serve` (`None`: this one; tests pass the bench binary).
    #[serde(skip)]
    pub server_exe: Option<PathBuf>,
}

impl Options {
    /// Tiny: 10 sessions, 200 hostile connections, 3 s. Full: 500 sessions, 17,000 hostile
    /// connections (with the load generator's own, about 19,000 sockets: what one process
    /// holds here), 50 posts/s for 60 s.
    pub fn for_size(size: Size) -> Options {
        let cpus = placement::allowed_cpus();
        let (server_cpus, load_cpus) = match cpus.as_slice() {
            [] => (Vec::new(), Vec::new()),
            [only] => (vec![*only], vec![*only]),
            [first, rest @ ..] => (vec![*first], rest.to_vec()),
        };
        let (sessions, hostile, rate_per_s, seconds) = match size {
            Size::Tiny => (10, 200, 20.0, 3.0),
            Size::Full => (500, 17_000, 50.0, 60.0),
        };
        Options {
            sessions,
            publishers: 4,
            rate_per_s,
            seconds,
            hostile,
            sources: 4,
            server_cpus,
            load_cpus,
            io: engine::IoBackend::Uring,
            out_dir: PathBuf::from("docs/bench"),
            server_exe: None,
        }
    }
}

/// One RSS sample.
#[derive(Debug, Clone, Copy, Serialize)]
struct Sample {
    at_s: f64,
    rss_bytes: u64,
}

/// The JSON file.
#[derive(Debug, Serialize)]
struct SoakFile<'a> {
    meta: Meta,
    options: &'a Options,
    ok: bool,
    failure: Option<String>,
    posts_acked: u64,
    deliveries: u64,
    post_p50_ms: f64,
    post_p99_ms: f64,
    deliver_p50_ms: f64,
    deliver_p99_ms: f64,
    rss: Vec<Sample>,
    rss_at_start_bytes: u64,
    rss_max_bytes: u64,
    rss_at_end_bytes: u64,
    hostile: HostileCounts,
}

/// Hostile clients come from 127.0.0.10 on, 200 per address.
fn hostile_sources(hostile: usize) -> Vec<Ipv4Addr> {
    let addresses = hostile.div_ceil(200).clamp(1, 240);
    (0..addresses)
        .map(|i| Ipv4Addr::new(127, 0, 0, 10 + i as u8))
        .collect()
}

pub fn run(options: &Options) -> io::Result<Outcome> {
    let exe = output::server_executable(options.server_exe.as_deref())?;
    let target = Target::start(
        Server::Flux,
        &exe,
        options.sessions,
        options.server_cpus.len().max(1),
        &options.server_cpus,
        options.io,
    )
    .map_err(|error| match error {
        StartError::Unavailable(why) | StartError::Failed(why) => io::Error::other(why),
    })?;
    let plan = Plan {
        publishers: options.publishers,
        load_cpus: options.load_cpus.clone(),
        sources: options.sources,
        ..target.plan(options.sessions)
    };
    let mut fleet = Fleet::connect(&plan, None)
        .and_then(|mut fleet| fleet.warm_up().map(|()| fleet))
        .map_err(io::Error::other)?;
    let addr = target.addr();
    let pid = target.process.pid;
    let stop = Arc::new(AtomicBool::new(false));
    let window = Duration::from_secs_f64(options.seconds);
    let bound = Instant::now() + window + Duration::from_secs(120);
    let hostile_thread = {
        let (stop, sources, count) = (
            Arc::clone(&stop),
            hostile_sources(options.hostile),
            options.hostile,
        );
        let cpu = options.load_cpus.first().copied();
        std::thread::spawn(move || {
            if let Some(cpu) = cpu {
                let _ = placement::pin_current_thread(cpu);
            }
            hostile::run(addr, count, &sources, &stop, bound)
        })
    };
    let started = Instant::now();
    let sampler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) && Instant::now() < bound {
                if let Ok(rss) = placement::process_rss(pid) {
                    samples.push(Sample {
                        at_s: started.elapsed().as_secs_f64(),
                        rss_bytes: rss.total_bytes,
                    });
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            samples
        })
    };
    // Let the hostile connections open before the healthy clients are measured.
    std::thread::sleep(Duration::from_secs_f64(
        (options.seconds / 10.0).clamp(1.0, 5.0),
    ));
    let measured = fleet.publish(Window {
        rate_per_s: options.rate_per_s,
        duration: window,
    });
    stop.store(true, Ordering::Relaxed);
    let hostile_counts = hostile_thread
        .join()
        .map_err(|_| io::Error::other("the hostile thread panicked"))??;
    let rss = sampler
        .join()
        .map_err(|_| io::Error::other("the RSS sampler panicked"))?;
    let alive = crate::servers::write_counters(addr).is_some();
    fleet.close();
    drop(target);

    let (ok, failure) = match (&measured, alive) {
        (Ok(_), true) => (true, None),
        (Err(error), _) => (false, Some(error.clone())),
        (Ok(_), false) => (false, Some("the server stopped answering".to_string())),
    };
    let quantile = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e6;
    let (posts_acked, deliveries, post, deliver) = match &measured {
        Ok(m) => (
            m.posts_acked,
            m.deliveries,
            (quantile(&m.post_ns, 0.5), quantile(&m.post_ns, 0.99)),
            (
                quantile(&m.delivery_ns, 0.5),
                quantile(&m.delivery_ns, 0.99),
            ),
        ),
        Err(_) => (0, 0, (0.0, 0.0), (0.0, 0.0)),
    };
    // "At start": once the hostile connections are open (the first sample after the ramp).
    let ramp_s = (options.seconds / 10.0).clamp(1.0, 5.0);
    let rss_at_start = rss
        .iter()
        .find(|s| s.at_s >= ramp_s)
        .or(rss.first())
        .map_or(0, |s| s.rss_bytes);
    let rss_max = rss.iter().map(|s| s.rss_bytes).max().unwrap_or(0);
    let rss_at_end = rss.last().map_or(0, |s| s.rss_bytes);
    let file = SoakFile {
        meta: Meta::new("soak", 1),
        options,
        ok,
        failure: failure.clone(),
        posts_acked,
        deliveries,
        post_p50_ms: post.0,
        post_p99_ms: post.1,
        deliver_p50_ms: deliver.0,
        deliver_p99_ms: deliver.1,
        rss: rss.clone(),
        rss_at_start_bytes: rss_at_start,
        rss_max_bytes: rss_max,
        rss_at_end_bytes: rss_at_end,
        hostile: hostile_counts.clone(),
    };
    let panels = [Panel::Line(LineChart {
        title: format!(
            "Flux RSS while {} hostile connections churn ({} healthy sessions)",
            options.hostile, options.sessions
        ),
        x_label: "seconds".into(),
        y_label: "server RSS, MiB".into(),
        series: vec![Series {
            name: "RSS".into(),
            points: rss
                .iter()
                .map(|s| (s.at_s, s.rss_bytes as f64 / (1 << 20) as f64))
                .collect(),
        }],
    })];
    let written = output::write(&options.out_dir, "soak", &file, &panels)?;
    let mut table = format!(
        "{} healthy sessions, {} publishers at {} posts/s for {} s, against {} hostile \
         connections; server on {}, load and hostile thread on {}.\n\n",
        options.sessions,
        options.publishers,
        options.rate_per_s,
        options.seconds,
        options.hostile,
        placement::format_cpu_list(&options.server_cpus),
        placement::format_cpu_list(&options.load_cpus),
    );
    table.push_str(&match &failure {
        None => format!(
            "healthy: OK, {posts_acked} posts acknowledged, {deliveries} deliveries, every one \
             exactly once; POST→200 p50 {:.2} ms p99 {:.2} ms; publish→deliver p50 {:.2} ms \
             p99 {:.2} ms\n",
            post.0, post.1, deliver.0, deliver.1
        ),
        Some(why) => format!("FAILED: {why}\n"),
    });
    table.push_str(&format!(
        "server RSS: {:.1} MiB once the hostile connections were open, at most {:.1} MiB, \
         {:.1} MiB at the end\n\n| hostile kind | connections | opened | closed by the server | \
         connect errors |\n|---|---:|---:|---:|---:|\n",
        rss_at_start as f64 / (1 << 20) as f64,
        rss_max as f64 / (1 << 20) as f64,
        rss_at_end as f64 / (1 << 20) as f64,
    ));
    for kind in &hostile_counts.kinds {
        table.push_str(&format!(
            "| {:?} | {} | {} | {} | {} |\n",
            kind.kind.expect("every row has a kind"),
            kind.connections,
            kind.opened,
            kind.closed_by_server,
            kind.connect_errors
        ));
    }
    if !ok {
        return Err(io::Error::other(format!("{table}\nsoak failed")));
    }
    Ok(Outcome {
        report: Report {
            suite: "soak",
            table,
            checksum: deliveries,
        },
        written,
    })
}
