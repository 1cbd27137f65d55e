//! Benchmark suite `fanout`: S gateway sessions listen on one channel while P publishers
//! POST to it on an open-loop schedule; the suite measures what a chat server is for, at a
//! rising rate, for Flux and a peer in the same run.
//!
//! Method:
//! - Each server runs in its own child process, pinned to `--server-cpus` (default: the
//!   first `cores` CPUs this process may use), started fresh for each run
//!   (`crate::servers`). The load generator (`crate::loadgen`) runs in this process, one
//!   pinned mio thread per `--load-cpus` CPU (default: every other CPU). When the two sets
//!   overlap the table says "co-located": the numbers then include the fight for CPUs.
//! - One fleet per (run, server): connect every session, warm up (one post must reach
//!   every session before anything is timed), then one window per rate of the sweep, in
//!   rising order. A window that fails its checks ends that server's sweep.
//! - Open loop: post `g` is due at `start + g / rate`; latencies count from the due time,
//!   so a slow server cannot slow the client down to look fast. POST→200 for Flux is the
//!   durable acknowledgement (after fdatasync); publish→deliver is due time → the session
//!   read the MESSAGE_CREATE.
//! - Every window is checked while it is measured: every session must receive every
//!   acknowledged post exactly once, with `s` rising by exactly 1. A failed check is a
//!   row that says why, never a number.
//! - Runs are interleaved (Flux, peer, Flux, peer, …); the table shows medians over runs.
//! - CPU: the server's CPU seconds over the window (from the first post to the last
//!   delivery), per million deliveries, and the load generator's own CPU, so a reader can
//!   tell which side was the limit.
//!
//! Servers: Flux (`cores` reactors, REST rate limits off, a data dir under `$TMPDIR` with
//! one bot user per session: `servers/flux_world.rs` says why) and the peer
//! (`crate::peer`, `cores` tokio workers). Until the peer exists its row says
//! "unavailable".
//!
//! Command: `cargo run --release -p bench -- fanout [--cores 1] [--server-cpus 0]
//! [--load-cpus 1] [--sessions 1000] [--publishers 8] [--rate 200,400,800] [--seconds 5]
//! [--runs 3] [--compress none|zlib-stream|zstd-stream] [--sources 1] [--no-peer]`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::ProgressBar;

use crate::loadgen::{Compression, Fleet, Measured, Plan, Window};
use crate::placement;
use crate::scenarios::output::median;
use crate::servers::{Server, StartError, Target};
use crate::{Report, Size};

mod points;

pub use points::FanoutPoint;

/// A load thread that had work for more than this fraction of the window (on its CPU, or
/// runnable and waiting for it) may have held the server back; the table flags the row.
const LOAD_BOUND: f64 = 0.85;

/// What the suite runs; `for_size` gives the defaults, the CLI may override each field.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server core counts to sweep (Flux reactors, peer workers).
    pub cores: Vec<usize>,
    /// Gateway sessions.
    pub sessions: usize,
    /// Publisher connections.
    pub publishers: usize,
    /// Posts per second, all publishers together; one window per rate, rising.
    pub rates: Vec<f64>,
    /// How long each window posts.
    pub duration: Duration,
    /// Runs per (server, core count).
    pub runs: usize,
    /// Whether to run the peer too.
    pub peer: bool,
    /// CPUs the server is pinned to; `None`: the first `cores` CPUs available.
    pub server_cpus: Option<Vec<usize>>,
    /// CPUs of the load generator (one thread each); `None`: the CPUs the server does not
    /// use, or all of them if it uses every one.
    pub load_cpus: Option<Vec<usize>>,
    /// Transport compression of the sessions.
    pub compress: Compression,
    /// 127.0.0.x source addresses the client sockets spread over.
    pub sources: usize,
    /// Flux's I/O backend.
    pub io: engine::IoBackend,
    /// The executable with the `serve` subcommand; `None`: this one.
    pub server_exe: Option<PathBuf>,
}

impl Options {
    /// The defaults: tiny for `cargo test`, the reported sweep for `Full`.
    pub fn for_size(size: Size) -> Options {
        let common = Options {
            cores: vec![1],
            sessions: 4,
            publishers: 1,
            rates: vec![50.0],
            duration: Duration::from_millis(200),
            runs: 1,
            peer: true,
            server_cpus: None,
            load_cpus: None,
            compress: Compression::None,
            sources: 1,
            io: engine::IoBackend::Uring,
            server_exe: None,
        };
        match size {
            Size::Tiny => common,
            Size::Full => Options {
                sessions: 1000,
                publishers: 8,
                rates: vec![250.0, 500.0, 1000.0, 2000.0],
                duration: Duration::from_secs(5),
                runs: 3,
                ..common
            },
        }
    }
}

/// Runs the suite at `size` with its default options.
pub fn run(size: Size) -> Report {
    run_with(&Options::for_size(size))
}

/// Runs the suite with explicit options.
pub fn run_with(options: &Options) -> Report {
    measure(options).report()
}

/// Everything one invocation measured: every sweep of every run, for the table
/// ([`Fanout::report`]) and the plots and JSON ([`Fanout::points`]).
pub struct Fanout {
    options: Options,
    placements: Vec<Placement>,
    notes: Vec<String>,
    servers: Vec<Server>,
    sweeps: Vec<Sweep>,
}

/// Runs every (run, core count, server) sweep, interleaved, and keeps them all.
pub fn measure(options: &Options) -> Fanout {
    let available = placement::allowed_cpus();
    let servers = Server::measured(options.peer);
    let mut placements = Vec::new();
    let mut notes = Vec::new();
    for &cores in &options.cores {
        match place(options, cores, &available) {
            Ok(placement) => placements.push(placement),
            Err(note) => notes.push(note),
        }
    }
    let progress = crate::report::progress_bar();
    let mut sweeps: Vec<Sweep> = Vec::new();
    for run in 0..options.runs {
        for placement in &placements {
            for &server in servers {
                let sweep = run_sweep(server, placement, options, &progress);
                // The log lines go between the progress bar's redraws, not through them.
                progress.suspend(|| log_sweep(run, &sweep, placement));
                sweeps.push(sweep);
            }
        }
    }
    progress.finish_and_clear();
    Fanout {
        options: options.clone(),
        placements,
        notes,
        servers: servers.to_vec(),
        sweeps,
    }
}

impl Fanout {
    /// The markdown table (medians over runs, then Flux ÷ peer) and the checksum.
    pub fn report(&self) -> Report {
        let checksum = self
            .sweeps
            .iter()
            .flat_map(|s| s.windows.iter())
            .filter_map(|(_, w)| w.as_ref().ok())
            .fold(0u64, |sum, m| sum.wrapping_add(m.checksum));
        Report {
            suite: "fanout",
            table: render(
                &self.options,
                &self.placements,
                &self.notes,
                &self.servers,
                &self.sweeps,
            ),
            checksum,
        }
    }

    /// The options it ran with.
    pub fn options(&self) -> &Options {
        &self.options
    }
}

/// Where one core count runs.
type Placement = placement::CpuSplit;

/// One server's sweep in one run: a measurement (or failure) per rate, or why it could
/// not start at all.
struct Sweep {
    server: Server,
    cores: usize,
    /// Why there is no sweep: the server is not available (not a failure).
    unavailable: Option<String>,
    /// Why the sweep could not start (a failure).
    setup_error: Option<String>,
    windows: Vec<(f64, Result<Measured, String>)>,
    /// The server's resident memory with every session connected, after the sweep.
    rss_bytes: Option<u64>,
    /// Frames per socket write during each window (Flux reports it; the peer cannot).
    frames_per_write: Vec<Option<f64>>,
}

fn place(options: &Options, cores: usize, available: &[usize]) -> Result<Placement, String> {
    placement::CpuSplit::new(
        cores,
        options.server_cpus.as_deref(),
        options.load_cpus.as_deref(),
        available,
    )
}

fn run_sweep(
    server: Server,
    placement: &Placement,
    options: &Options,
    progress: &ProgressBar,
) -> Sweep {
    let mut sweep = Sweep {
        server,
        cores: placement.cores,
        unavailable: None,
        setup_error: None,
        windows: Vec::new(),
        rss_bytes: None,
        frames_per_write: Vec::new(),
    };
    let exe = match &options.server_exe {
        Some(exe) => exe.clone(),
        None => match crate::servers::bench_executable() {
            Ok(exe) => exe,
            Err(error) => {
                sweep.setup_error = Some(format!("cannot find this executable: {error}"));
                return sweep;
            }
        },
    };
    let target = match Target::start(
        server,
        &exe,
        options.sessions,
        placement.cores,
        &placement.server_cpus,
        options.io,
    ) {
        Ok(target) => target,
        Err(StartError::Unavailable(why)) => {
            sweep.unavailable = Some(why);
            return sweep;
        }
        Err(StartError::Failed(why)) => {
            sweep.setup_error = Some(why);
            return sweep;
        }
    };
    let plan = Plan {
        compress: options.compress,
        publishers: options.publishers,
        load_cpus: placement.load_cpus.clone(),
        sources: options.sources,
        ..target.plan(options.sessions)
    };
    let mut fleet = match Fleet::connect(&plan, Some(progress))
        .and_then(|mut fleet| fleet.warm_up().map(|()| fleet))
    {
        Ok(fleet) => fleet,
        Err(error) => {
            sweep.setup_error = Some(error);
            return sweep;
        }
    };
    let mut rates = options.rates.clone();
    rates.sort_by(f64::total_cmp);
    for rate in rates {
        let before = crate::servers::write_counters(target.addr());
        let measured = fleet.publish(Window {
            rate_per_s: rate,
            duration: options.duration,
        });
        let after = crate::servers::write_counters(target.addr());
        sweep.frames_per_write.push(match (before, after) {
            (Some(before), Some(after)) => after.frames_per_write_since(&before),
            _ => None,
        });
        let failed = measured.is_err();
        sweep.windows.push((rate, measured));
        if failed {
            break;
        }
    }
    sweep.rss_bytes = target.process.rss().ok().map(|rss| rss.total_bytes);
    fleet.close();
    drop(target);
    sweep
}

fn log_sweep(run: usize, sweep: &Sweep, placement: &Placement) {
    let label = format!(
        "fanout run {run}: {} on {} core(s), {}",
        sweep.server.name(),
        sweep.cores,
        placement.label()
    );
    if let Some(why) = &sweep.unavailable {
        eprintln!("{label}: unavailable: {why}");
    }
    if let Some(error) = &sweep.setup_error {
        eprintln!("{label}: FAILED to start: {error}");
    }
    for (index, (rate, window)) in sweep.windows.iter().enumerate() {
        let frames_per_write = match sweep.frames_per_write.get(index).copied().flatten() {
            Some(frames) => format!(", {frames:.1} frames per socket write"),
            None => String::new(),
        };
        match window {
            Ok(m) => eprintln!(
                "{label}: {rate:.0} posts/s{frames_per_write}: {:.0} deliveries/s scheduled, {:.0}/s sustained (drain {:.3} s), \
                 POST p50 {} p99 {}, deliver p50 {} p99 {} max {}, late {} (window full {}), \
                 server {:.2} CPU s ({:.2} s per M deliveries, waited {:.2} s for a CPU), load {:.2} CPU s \
                 (busiest thread {:.0}% on CPU, {:.0}% with run-queue wait), posts unanswered {}",
                m.deliveries_per_s,
                m.delivered_per_s,
                m.drain.as_secs_f64(),
                millis(m.post_ns.value_at_quantile(0.5)),
                millis(m.post_ns.value_at_quantile(0.99)),
                millis(m.delivery_ns.value_at_quantile(0.5)),
                millis(m.delivery_ns.value_at_quantile(0.99)),
                millis(m.delivery_ns.max()),
                m.late_sends,
                m.window_full_sends,
                m.server_cpu_s.unwrap_or(f64::NAN),
                server_cpu_per_million(m),
                m.server_waiting_s.unwrap_or(f64::NAN),
                m.load_cpu_s,
                m.load_thread_busy_max * 100.0,
                m.load_thread_demand_max * 100.0,
                m.posts_unanswered,
            ),
            Err(error) => eprintln!("{label}: {rate:.0} posts/s FAILED: {error}"),
        }
    }
}

fn server_cpu_per_million(m: &Measured) -> f64 {
    m.server_cpu_s.unwrap_or(f64::NAN) / (m.deliveries as f64).max(1.0) * 1e6
}

/// The medians over runs of one (server, cores, rate).
struct Medians {
    runs_ok: usize,
    runs: usize,
    failures: Vec<String>,
    deliveries_per_s: f64,
    delivered_per_s: f64,
    acked_per_s: f64,
    post_p50: f64,
    post_p99: f64,
    post_max: f64,
    delivery_p50: f64,
    delivery_p99: f64,
    delivery_max: f64,
    late_sends: f64,
    drain_s: f64,
    server_cpu_per_m: f64,
    server_busy: f64,
    server_waiting: f64,
    unanswered: f64,
    load_cpu_s: f64,
    load_busiest: f64,
    load_demand: f64,
    event_bytes: usize,
}

fn medians(sweeps: &[Sweep], server: Server, cores: usize, rate: f64) -> Medians {
    let mine: Vec<&Sweep> = sweeps
        .iter()
        .filter(|s| s.server == server && s.cores == cores)
        .collect();
    let windows: Vec<&Result<Measured, String>> = mine
        .iter()
        .flat_map(|s| s.windows.iter().filter(|(r, _)| *r == rate).map(|(_, w)| w))
        .collect();
    let ok: Vec<&Measured> = windows.iter().filter_map(|w| w.as_ref().ok()).collect();
    let mut failures: Vec<String> = windows
        .iter()
        .filter_map(|w| w.as_ref().err().cloned())
        .collect();
    failures.extend(mine.iter().filter_map(|s| s.setup_error.clone()));
    let of = |value: fn(&Measured) -> f64| median(ok.iter().map(|m| value(m)).collect());
    Medians {
        runs_ok: ok.len(),
        runs: mine.iter().filter(|s| s.unavailable.is_none()).count(),
        failures,
        deliveries_per_s: of(|m| m.deliveries_per_s),
        delivered_per_s: of(|m| m.delivered_per_s),
        acked_per_s: of(|m| m.acked_per_s),
        post_p50: of(|m| m.post_ns.value_at_quantile(0.5) as f64),
        post_p99: of(|m| m.post_ns.value_at_quantile(0.99) as f64),
        post_max: of(|m| m.post_ns.max() as f64),
        delivery_p50: of(|m| m.delivery_ns.value_at_quantile(0.5) as f64),
        delivery_p99: of(|m| m.delivery_ns.value_at_quantile(0.99) as f64),
        delivery_max: of(|m| m.delivery_ns.max() as f64),
        late_sends: of(|m| m.late_sends as f64),
        drain_s: of(|m| m.drain.as_secs_f64()),
        server_cpu_per_m: of(server_cpu_per_million),
        server_busy: of(|m| {
            m.server_cpu_s.unwrap_or(f64::NAN) / m.cpu_span.as_secs_f64().max(1e-9)
        }),
        load_cpu_s: of(|m| m.load_cpu_s),
        load_busiest: of(|m| m.load_thread_busy_max),
        load_demand: of(|m| m.load_thread_demand_max),
        server_waiting: of(|m| {
            m.server_waiting_s.unwrap_or(f64::NAN) / m.cpu_span.as_secs_f64().max(1e-9)
        }),
        unanswered: of(|m| m.posts_unanswered as f64),
        event_bytes: ok.first().map_or(0, |m| m.event_bytes),
    }
}

fn render(
    options: &Options,
    placements: &[Placement],
    notes: &[String],
    servers: &[Server],
    sweeps: &[Sweep],
) -> String {
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{} sessions (compression: {}; one bot user each for Flux), {} publishers posting on an \
         open-loop schedule for {:.1} s per rate, in-flight bound 64 per publisher; latencies \
         from each post's scheduled time; deliveries/s counts every post scheduled in the window \
         (all were delivered, or the row fails), sustained/s divides them by window + drain; medians over {} run(s); Flux data dir on {}; Flux I/O {:?}.\n",
        options.sessions,
        options.compress.name(),
        options.publishers,
        options.duration.as_secs_f64(),
        options.runs,
        data_dir_filesystem(),
        options.io,
    );
    for note in notes {
        let _ = writeln!(table, "Note: {note}.\n");
    }
    table.push_str(
        "| server | cores | CPUs | posts/s offered | acked/s | deliveries/s | sustained/s | POST→200 p50 | p99 | max \
         | publish→deliver p50 | p99 | max | late sends | drain | server CPU s per M deliveries \
         | server cores busy (+ waiting for a CPU) | load CPU s | busiest load thread (+ waiting) \
         | MESSAGE_CREATE bytes | runs ok |\n",
    );
    table.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for placement in placements {
        let n = placement.cores;
        let cpus = placement.label();
        for &server in servers {
            let mine: Vec<&Sweep> = sweeps
                .iter()
                .filter(|s| s.server == server && s.cores == n)
                .collect();
            if let Some(why) = mine.iter().find_map(|s| s.unavailable.clone()) {
                let _ = writeln!(
                    table,
                    "| {} | {n} | {cpus} | unavailable: {why} |",
                    server.name()
                );
                continue;
            }
            for &rate in &options.rates {
                let m = medians(sweeps, server, n, rate);
                let _ = writeln!(
                    table,
                    "| {} | {n} | {cpus} | {rate:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {:.3} | {:.2} (+{:.2}) | {:.2} | {:.0}% (+{:.0}%) | {} | {}/{} |",
                    server.name(),
                    m.acked_per_s,
                    m.deliveries_per_s,
                    m.delivered_per_s,
                    millis(m.post_p50 as u64),
                    millis(m.post_p99 as u64),
                    millis(m.post_max as u64),
                    millis(m.delivery_p50 as u64),
                    millis(m.delivery_p99 as u64),
                    millis(m.delivery_max as u64),
                    m.late_sends,
                    seconds(m.drain_s),
                    m.server_cpu_per_m,
                    m.server_busy,
                    m.server_waiting,
                    m.load_cpu_s,
                    m.load_busiest * 100.0,
                    (m.load_demand - m.load_busiest).max(0.0) * 100.0,
                    m.event_bytes,
                    m.runs_ok,
                    m.runs,
                );
                if m.load_demand > LOAD_BOUND {
                    let _ = writeln!(
                        table,
                        "|  | {n} | {cpus} | {rate:.0} | load-bound: the busiest load thread had work {:.0}% of \
                         the time ({:.0}% on its CPU), so this row measures the load generator as much as \
                         the server; give it more (or quieter) CPUs |",
                        m.load_demand * 100.0,
                        m.load_busiest * 100.0
                    );
                }
                if m.unanswered > 0.0 {
                    let _ = writeln!(
                        table,
                        "|  | {n} | {cpus} | {rate:.0} | {:.0} post(s) still unanswered when answers were \
                         final (acked/s counts only answered ones) |",
                        m.unanswered
                    );
                }
                for failure in &m.failures {
                    let _ = writeln!(
                        table,
                        "|  | {n} | {cpus} | {rate:.0} | failed: {} |",
                        failure.replace('|', "/")
                    );
                }
            }
            let rss: Vec<f64> = mine
                .iter()
                .filter_map(|s| s.rss_bytes)
                .map(|b| b as f64)
                .collect();
            if !rss.is_empty() {
                let _ = writeln!(
                    table,
                    "|  | {n} | {cpus} | server RSS with {} sessions: {:.1} MiB |",
                    options.sessions,
                    median(rss) / (1024.0 * 1024.0)
                );
            }
        }
    }
    if servers.len() == 2 {
        render_ratios(&mut table, options, placements, sweeps);
    }
    table
}

fn render_ratios(
    table: &mut String,
    options: &Options,
    placements: &[Placement],
    sweeps: &[Sweep],
) {
    let peer_ran = sweeps
        .iter()
        .any(|s| s.server == Server::Peer && s.unavailable.is_none());
    if !peer_ran {
        return;
    }
    table.push_str(
        "\nFlux ÷ peer, same run (medians). Sustained deliveries/s above 1: Flux delivered more; latency and \
         CPU per delivery below 1: Flux is faster or cheaper. The peer stores nothing and checks no \
         permissions; Flux answers a POST only after fdatasync.\n\n\
         | cores | posts/s offered | sustained deliveries/s | acked/s | POST p50 | POST p99 | deliver p50 | deliver p99 | server CPU per delivery |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for placement in placements {
        let n = placement.cores;
        for &rate in &options.rates {
            let flux = medians(sweeps, Server::Flux, n, rate);
            let peer = medians(sweeps, Server::Peer, n, rate);
            let _ = writeln!(
                table,
                "| {n} | {rate:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                flux.delivered_per_s / peer.delivered_per_s,
                flux.acked_per_s / peer.acked_per_s,
                flux.post_p50 / peer.post_p50,
                flux.post_p99 / peer.post_p99,
                flux.delivery_p50 / peer.delivery_p50,
                flux.delivery_p99 / peer.delivery_p99,
                flux.server_cpu_per_m / peer.server_cpu_per_m,
            );
        }
    }
}

fn millis(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

fn seconds(s: f64) -> String {
    format!("{s:.3} s")
}

/// The filesystem type under `$TMPDIR` (where Flux's data dirs go), from /proc/mounts:
/// a tmpfs makes fdatasync free, which the reader must know.
fn data_dir_filesystem() -> String {
    let dir = std::env::temp_dir();
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let best = mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            dir.starts_with(point)
                .then(|| (point.len(), kind.to_string()))
        })
        .max_by_key(|(len, _)| *len);
    match best {
        Some((_, kind)) => format!("{} ({kind})", dir.display()),
        None => format!("{} (filesystem unknown)", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_split_between_server_and_load_and_overlap_is_named() {
        let mut options = Options::for_size(Size::Tiny);
        let placement = place(&options, 1, &[0, 1, 2, 3]).unwrap();
        assert_eq!(
            (
                placement.server_cpus.as_slice(),
                placement.load_cpus.as_slice()
            ),
            (&[0][..], &[1, 2, 3][..])
        );
        assert!(!placement.co_located());
        let everything = place(&options, 2, &[0, 1]).unwrap();
        assert!(everything.co_located());
        assert!(everything.label().ends_with("(co-located)"));
        options.server_cpus = Some(vec![3]);
        options.load_cpus = Some(vec![0, 1]);
        let chosen = place(&options, 1, &[0, 1, 2, 3]).unwrap();
        assert_eq!(chosen.label(), "server 3 / load 0-1");
        assert!(place(&options, 2, &[0, 1, 2, 3])
            .unwrap_err()
            .contains("skipped"));
    }
}
