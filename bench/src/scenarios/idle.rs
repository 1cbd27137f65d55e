//! Scenario `idle`: what one idle, identified gateway session costs a server in user-space
//! memory, at rising session counts, for Flux and the peer (each in its own child process).
//!
//! Method, per run and per server:
//! - Start the server fresh (Flux seeded with one bot user per session of the largest
//!   step), let its memory settle, read its resident anonymous memory: the 0-session
//!   baseline.
//! - For each step N (rising): connect the sessions that take the total to N as one more
//!   fleet held beside the earlier ones (each fleet on its own seeded users, every session
//!   IDENTIFYed and READY), wait until every session has sent its first heartbeat, let the
//!   memory settle, read it again.
//!
//! The heartbeat is what makes a session idle in its steady state: it acknowledges what
//! the client received, and Flux then lets go of the READY and GUILD_CREATE it kept for a
//! Resume. So that the wait is seconds, not Discord's 41.25 s, Flux is started with a
//! `heartbeat_interval_ms` interval (clients send their first heartbeat within one
//! interval); the peer keeps its own interval and keeps nothing per session to let go of.
//! - bytes per session = (memory with N sessions − baseline) ÷ N.
//!
//! Memory is `/proc/<pid>/status` `RssAnon` (heap and stacks: what sessions allocate),
//! `VmRSS` where the kernel has no `RssAnon`. Kernel socket buffers are not in it: this is
//! the server's own cost. "Settled": two readings 100 ms apart within 0.5%, or
//! `settle_max`, whichever comes first.
//!
//! Bounds: one process holds at most its open-files limit of sockets (20,000 here, for the
//! load generator and for the server alike), so the default steps stop below it
//! ([`default_steps`]). Sockets spread over `sources` 127.0.0.x addresses so no address
//! runs out of ephemeral ports.
//!
//! Command: `cargo run --release -p bench -- idle [--steps 1000,5000,10000,19000]
//! [--runs 3] [--sources 4] [--server-cpus 0] [--load-cpus 1] [--no-peer] [--out DIR]`.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use serde::Serialize;

use super::output::{self, median, Meta, Outcome};
use crate::loadgen::{Fleet, Plan};
use crate::placement::{self, CpuSplit, Rss};
use crate::plot::{LineChart, Panel, Series};
use crate::servers::{Server, ServerProcess, StartError, Target};
use crate::{Report, Size};

/// Open files kept free in each process for everything that is not a session socket.
const SPARE_FILES: u64 = 200;
/// How often the memory is read while it settles.
const SETTLE_STEP: Duration = Duration::from_millis(100);

/// What the scenario runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Session counts, rising; each is measured with all of its sessions open.
    pub steps: Vec<usize>,
    /// Runs per server; the values are medians.
    pub runs: usize,
    /// Whether to measure the peer too.
    pub peer: bool,
    /// The server's CPUs (default: the first one).
    pub server_cpus: Option<Vec<usize>>,
    /// The load generator's CPUs (default: the others).
    pub load_cpus: Option<Vec<usize>>,
    /// 127.0.0.x source addresses the sessions spread over.
    pub sources: usize,
    /// Flux's I/O backend.
    pub io: engine::IoBackend,
    /// The longest wait for the memory to settle after each step.
    pub settle_max: Duration,
    /// Flux's gateway heartbeat interval; each step waits a little more than one.
    pub heartbeat_interval_ms: u64,
    /// The executable with the `serve` subcommand; `None`: this one.
    pub server_exe: Option<PathBuf>,
    /// Where the JSON and SVG go.
    pub out_dir: PathBuf,
}

impl Options {
    /// Tiny: 2 and 4 sessions, one run. Full: [`default_steps`] for this process's
    /// open-files limit, 3 runs.
    pub fn for_size(size: Size) -> Options {
        let common = Options {
            steps: vec![2, 4],
            runs: 1,
            peer: true,
            server_cpus: None,
            load_cpus: None,
            sources: 4,
            io: engine::IoBackend::Uring,
            settle_max: Duration::from_millis(300),
            heartbeat_interval_ms: 200,
            server_exe: None,
            out_dir: PathBuf::from("docs/bench"),
        };
        match size {
            Size::Tiny => common,
            Size::Full => Options {
                steps: default_steps(placement::raise_nofile_limit().unwrap_or(1024)),
                runs: 3,
                settle_max: Duration::from_secs(3),
                heartbeat_interval_ms: 2_000,
                ..common
            },
        }
    }
}

/// 1,000, 5,000, 10,000 sessions and the most the open-files limit allows (rounded down to
/// a thousand), keeping the steps below it: `[1000, 5000, 10000, 19000]` at 20,000.
pub fn default_steps(open_files: u64) -> Vec<usize> {
    let cap = open_files.saturating_sub(SPARE_FILES) as usize;
    let top = if cap >= 1000 { cap / 1000 * 1000 } else { cap };
    let mut steps: Vec<usize> = [1000, 5000, 10_000]
        .into_iter()
        .filter(|&step| step < top)
        .collect();
    if top > 0 {
        steps.push(top);
    }
    steps
}

/// Runs every server `runs` times and writes `idle.json` and `idle.svg`.
pub fn run(options: &Options) -> io::Result<Outcome> {
    let exe = output::server_executable(options.server_exe.as_deref())?;
    let mut steps = options.steps.clone();
    steps.sort_unstable();
    steps.dedup();
    steps.retain(|&s| s > 0);
    let split = CpuSplit::new(
        1,
        options.server_cpus.as_deref(),
        options.load_cpus.as_deref(),
        &placement::allowed_cpus(),
    )
    .map_err(io::Error::other)?;
    let servers = Server::measured(options.peer);
    let progress = crate::report::progress_bar();
    let mut runs: Vec<RunResult> = Vec::new();
    for run in 0..options.runs {
        for &server in servers {
            let result = run_once(server, &exe, &steps, &split, options, &progress);
            progress.suspend(|| log_run(run, &result));
            runs.push(result);
        }
    }
    progress.finish_and_clear();
    let file = summarise(options, &steps, &split, servers, &runs);
    let report = Report {
        suite: "idle",
        table: render(&file),
        checksum: runs
            .iter()
            .flat_map(|r| r.steps.iter())
            .map(|(n, _)| *n as u64)
            .sum(),
    };
    let panels = [Panel::Line(LineChart {
        title: "Idle identified sessions: server memory per session".into(),
        x_label: "sessions".into(),
        y_label: "bytes per session (RssAnon)".into(),
        series: file
            .servers
            .iter()
            .map(|s| Series {
                name: s.server.name().to_string(),
                points: s
                    .points
                    .iter()
                    .map(|p| (p.sessions as f64, p.bytes_per_session))
                    .collect(),
            })
            .collect(),
    })];
    let written = output::write(&options.out_dir, "idle", &file, &panels)?;
    Ok(Outcome { report, written })
}

/// One server's run: its baseline and each step it reached.
struct RunResult {
    server: Server,
    unavailable: Option<String>,
    baseline: Option<Rss>,
    steps: Vec<(usize, Rss)>,
    error: Option<String>,
}

fn run_once(
    server: Server,
    exe: &std::path::Path,
    steps: &[usize],
    split: &CpuSplit,
    options: &Options,
    progress: &ProgressBar,
) -> RunResult {
    let mut result = RunResult {
        server,
        unavailable: None,
        baseline: None,
        steps: Vec::new(),
        error: None,
    };
    let largest = steps.last().copied().unwrap_or(0);
    let target = match Target::start_with_heartbeat(
        server,
        exe,
        largest,
        1,
        &split.server_cpus,
        options.io,
        Some(options.heartbeat_interval_ms),
    ) {
        Ok(target) => target,
        Err(StartError::Unavailable(why)) => {
            result.unavailable = Some(why);
            return result;
        }
        Err(StartError::Failed(why)) => {
            result.error = Some(why);
            return result;
        }
    };
    let mut fleets: Vec<Fleet> = Vec::new();
    let outcome = (|| -> Result<(), String> {
        result.baseline = Some(settled_rss(&target.process, options.settle_max)?);
        let mut open = 0;
        for &step in steps {
            let plan = Plan {
                publishers: 1,
                load_cpus: split.load_cpus.clone(),
                sources: options.sources,
                ..target.plan_for(open..step)
            };
            fleets.push(Fleet::connect(&plan, Some(progress))?);
            open = step;
            let live: usize = fleets.iter().map(Fleet::sessions_live).sum();
            if live != step {
                return Err(format!("{live} sessions live where {step} were opened"));
            }
            // Every session's first heartbeat is due within one interval.
            std::thread::sleep(Duration::from_millis(
                options.heartbeat_interval_ms * 5 / 4 + 100,
            ));
            result
                .steps
                .push((step, settled_rss(&target.process, options.settle_max)?));
        }
        Ok(())
    })();
    result.error = outcome.err();
    for fleet in fleets {
        fleet.close();
    }
    drop(target);
    result
}

/// Reads the server's memory every `SETTLE_STEP` until two readings agree within 0.5%, or
/// `max` has passed.
fn settled_rss(process: &ServerProcess, max: Duration) -> Result<Rss, String> {
    let read = || {
        process
            .rss()
            .map_err(|e| format!("reading the server's memory: {e}"))
    };
    let deadline = Instant::now() + max;
    let mut last = read()?;
    loop {
        std::thread::sleep(SETTLE_STEP);
        let now = read()?;
        let (before, after) = (user_bytes(&last), user_bytes(&now));
        if before.abs_diff(after) <= before / 200 || Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}

/// `RssAnon`, or `VmRSS` where the kernel has no `RssAnon`.
fn user_bytes(rss: &Rss) -> u64 {
    rss.anon_bytes.unwrap_or(rss.total_bytes)
}

fn log_run(run: usize, result: &RunResult) {
    let name = result.server.name();
    if let Some(why) = &result.unavailable {
        eprintln!("idle run {run}: {name} unavailable: {why}");
        return;
    }
    if let Some(base) = &result.baseline {
        eprintln!(
            "idle run {run}: {name} baseline {:.1} MiB",
            user_bytes(base) as f64 / 1048576.0
        );
    }
    for (sessions, rss) in &result.steps {
        eprintln!(
            "idle run {run}: {name} {sessions} sessions: {:.1} MiB, {:.0} bytes/session",
            user_bytes(rss) as f64 / 1048576.0,
            per_session(result, *sessions, rss)
        );
    }
    if let Some(error) = &result.error {
        eprintln!("idle run {run}: {name} FAILED: {error}");
    }
}

fn per_session(result: &RunResult, sessions: usize, rss: &Rss) -> f64 {
    let base = result.baseline.as_ref().map_or(0, user_bytes);
    (user_bytes(rss) as f64 - base as f64) / sessions as f64
}

/// The JSON file.
#[derive(Debug, Serialize)]
struct IdleFile {
    meta: Meta,
    /// What "memory" means in this file.
    memory: &'static str,
    steps: Vec<usize>,
    cpus: String,
    sources: usize,
    /// Flux's heartbeat interval; every session heartbeated once before each reading.
    flux_heartbeat_interval_ms: u64,
    servers: Vec<ServerSummary>,
    flux_over_peer: Vec<StepRatio>,
}

#[derive(Debug, Serialize)]
struct ServerSummary {
    server: Server,
    unavailable: Option<String>,
    /// Median memory with no session, bytes.
    baseline_bytes: f64,
    points: Vec<StepSummary>,
    failures: Vec<String>,
}

#[derive(Debug, Serialize)]
struct StepSummary {
    sessions: usize,
    /// Median over the runs that reached this step.
    bytes_per_session: f64,
    bytes_per_session_runs: Vec<f64>,
    /// Median memory with these sessions open, bytes.
    memory_bytes: f64,
    runs_ok: usize,
}

#[derive(Debug, Serialize)]
struct StepRatio {
    sessions: usize,
    bytes_per_session: f64,
}

fn summarise(
    options: &Options,
    steps: &[usize],
    split: &CpuSplit,
    servers: &[Server],
    runs: &[RunResult],
) -> IdleFile {
    let summaries: Vec<ServerSummary> = servers
        .iter()
        .map(|&server| {
            let mine: Vec<&RunResult> = runs.iter().filter(|r| r.server == server).collect();
            let points = steps
                .iter()
                .map(|&sessions| {
                    let reached: Vec<(f64, f64)> = mine
                        .iter()
                        .flat_map(|r| {
                            r.steps.iter().filter(move |(n, _)| *n == sessions).map(
                                move |(n, rss)| (per_session(r, *n, rss), user_bytes(rss) as f64),
                            )
                        })
                        .collect();
                    StepSummary {
                        sessions,
                        bytes_per_session: median(reached.iter().map(|p| p.0).collect()),
                        bytes_per_session_runs: reached.iter().map(|p| p.0).collect(),
                        memory_bytes: median(reached.iter().map(|p| p.1).collect()),
                        runs_ok: reached.len(),
                    }
                })
                .collect();
            ServerSummary {
                server,
                unavailable: mine.iter().find_map(|r| r.unavailable.clone()),
                baseline_bytes: median(
                    mine.iter()
                        .filter_map(|r| r.baseline.as_ref())
                        .map(|b| user_bytes(b) as f64)
                        .collect(),
                ),
                points,
                failures: mine.iter().filter_map(|r| r.error.clone()).collect(),
            }
        })
        .collect();
    let flux_over_peer = match (summaries.first(), summaries.get(1)) {
        (Some(flux), Some(peer)) if peer.unavailable.is_none() => flux
            .points
            .iter()
            .zip(&peer.points)
            .map(|(f, p)| StepRatio {
                sessions: f.sessions,
                bytes_per_session: f.bytes_per_session / p.bytes_per_session,
            })
            .collect(),
        _ => Vec::new(),
    };
    let anon_known = runs
        .iter()
        .filter_map(|r| r.baseline.as_ref())
        .all(|b| b.anon_bytes.is_some());
    IdleFile {
        meta: Meta::new("idle", options.runs),
        memory: if anon_known {
            "RssAnon from /proc/<pid>/status"
        } else {
            "VmRSS from /proc/<pid>/status (no RssAnon on this kernel)"
        },
        steps: steps.to_vec(),
        cpus: split.label(),
        sources: options.sources,
        flux_heartbeat_interval_ms: options.heartbeat_interval_ms,
        servers: summaries,
        flux_over_peer,
    }
}

fn render(file: &IdleFile) -> String {
    let mut table = String::new();
    let _ = writeln!(
        table,
        "Idle identified sessions, one server core ({}), {} source address(es); memory: {}; \
         read once every session has heartbeated (Flux's interval: {} ms); \
         bytes per session = (memory with N − memory with 0) ÷ N, medians over {} run(s).\n",
        file.cpus, file.sources, file.memory, file.flux_heartbeat_interval_ms, file.meta.runs
    );
    table.push_str("| server | sessions | bytes/session | memory (MiB) | runs ok |\n");
    table.push_str("|---|---:|---:|---:|---:|\n");
    for server in &file.servers {
        if let Some(why) = &server.unavailable {
            let _ = writeln!(table, "| {} | unavailable: {why} |", server.server.name());
            continue;
        }
        let _ = writeln!(
            table,
            "| {} | 0 | (baseline) | {:.1} | |",
            server.server.name(),
            server.baseline_bytes / 1048576.0
        );
        for point in &server.points {
            let _ = writeln!(
                table,
                "| {} | {} | {:.0} | {:.1} | {} |",
                server.server.name(),
                point.sessions,
                point.bytes_per_session,
                point.memory_bytes / 1048576.0,
                point.runs_ok
            );
        }
        for failure in &server.failures {
            let _ = writeln!(
                table,
                "| {} | failed: {} |",
                server.server.name(),
                failure.replace('|', "/")
            );
        }
    }
    if !file.flux_over_peer.is_empty() {
        table.push_str("\nFlux ÷ peer bytes per session (same run; below 1: Flux uses less):\n\n");
        table.push_str("| sessions | ratio |\n|---:|---:|\n");
        for ratio in &file.flux_over_peer {
            let _ = writeln!(
                table,
                "| {} | {:.2} |",
                ratio.sessions, ratio.bytes_per_session
            );
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_steps_stay_below_the_open_files_limit() {
        assert_eq!(default_steps(20_000), vec![1000, 5000, 10_000, 19_000]);
        assert_eq!(default_steps(1024), vec![824]);
        assert_eq!(default_steps(8192), vec![1000, 5000, 7000]);
        assert_eq!(default_steps(100), Vec::<usize>::new());
    }
}
