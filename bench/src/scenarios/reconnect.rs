//! Scenario `reconnect`: how fast every session comes back after a mass disconnect, and
//! proof that nothing acknowledged is lost on the way.
//!
//! Method, per run and per server (a fresh server and data dir each run):
//! 1. N sessions connect, IDENTIFY and receive a warm-up post.
//! 2. RESUME storm (Flux only): every connection is dropped at once, abruptly (no close
//!    frame: to the server it is a network failure, so the sessions stay resumable). K
//!    posts are made and acknowledged while nobody listens. Then every session reconnects
//!    and RESUMEs at once. Measured: time from the first reconnect to the last RESUMED,
//!    and the dispatches replayed. The fleet then checks that every session received every
//!    one of the K posts exactly once, with `s` rising by one (else the run fails).
//! 3. Re-IDENTIFY storm: the server is killed (SIGKILL: a crash) and started again on the
//!    same CPUs and, for Flux, the same data dir; every session IDENTIFYs again at once.
//!    Measured: time for the new process to listen, and time from the first reconnect to
//!    the last READY. A short window of posts then must reach every session.
//!
//! The peer keeps no replay (it answers RESUME with op 9, Invalid Session), so for the
//! peer only the re-IDENTIFY storm is measured; the output says so.
//!
//! "At once" is bounded by the load generator's handshake concurrency
//! (`Plan::handshakes_in_flight`, reported in the JSON), as for a real client fleet.
//!
//! Command: `cargo run --release -p bench -- reconnect [--sessions 1000] [--missed 100]
//! [--runs 3] [--sources 4] [--server-cpus 0] [--load-cpus 1] [--no-peer] [--out DIR]`.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::ProgressBar;
use serde::Serialize;

use super::output::{self, median, Meta, Outcome};
use crate::loadgen::{Fleet, Plan, Window};
use crate::placement::{self, CpuSplit};
use crate::plot::{BarChart, BarSeries, Panel};
use crate::servers::{Server, StartError, Target};
use crate::{Report, Size};

/// Why the peer has no RESUME numbers.
const PEER_RESUME_NOTE: &str = "not measured: the peer keeps no replay (it answers RESUME \
                                with op 9 Invalid Session), so only its re-IDENTIFY storm is";

/// What the scenario runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Gateway sessions.
    pub sessions: usize,
    /// Posts made while every session is disconnected.
    pub missed: u32,
    /// How long those posts take (open loop, spread evenly).
    pub missed_window: Duration,
    /// Posts of the check window after the re-IDENTIFY.
    pub check_posts: u32,
    /// Publisher connections.
    pub publishers: usize,
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
    /// The executable with the `serve` subcommand; `None`: this one.
    pub server_exe: Option<PathBuf>,
    /// Where the JSON and SVG go.
    pub out_dir: PathBuf,
}

impl Options {
    /// Tiny: 4 sessions, 5 missed posts, one run. Full: 1,000 sessions, 100 missed posts,
    /// 3 runs.
    pub fn for_size(size: Size) -> Options {
        let common = Options {
            sessions: 4,
            missed: 5,
            missed_window: Duration::from_millis(200),
            check_posts: 5,
            publishers: 2,
            runs: 1,
            peer: true,
            server_cpus: None,
            load_cpus: None,
            sources: 4,
            io: engine::IoBackend::Uring,
            server_exe: None,
            out_dir: PathBuf::from("docs/bench"),
        };
        match size {
            Size::Tiny => common,
            Size::Full => Options {
                sessions: 1000,
                missed: 100,
                missed_window: Duration::from_millis(500),
                check_posts: 20,
                runs: 3,
                ..common
            },
        }
    }
}

/// Runs every server `runs` times and writes `reconnect-<sessions>.json` and `.svg`.
pub fn run(options: &Options) -> io::Result<Outcome> {
    let exe = output::server_executable(options.server_exe.as_deref())?;
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
            let result = run_once(server, &exe, &split, options, &progress);
            progress.suspend(|| log_run(run, &result));
            runs.push(result);
        }
    }
    progress.finish_and_clear();
    let file = summarise(options, &split, servers, &runs);
    let report = Report {
        suite: "reconnect",
        table: render(&file),
        checksum: runs
            .iter()
            .filter_map(|r| r.resume.as_ref())
            .map(|r| r.deliveries)
            .sum::<u64>()
            + runs
                .iter()
                .filter_map(|r| r.reidentify.as_ref())
                .map(|r| r.deliveries)
                .sum::<u64>(),
    };
    let panels = [Panel::Bars(BarChart {
        title: format!("{} sessions back after a mass disconnect", options.sessions),
        y_label: "seconds (median)".into(),
        categories: vec![
            format!("RESUME, {} missed posts", options.missed),
            "restart to listening".into(),
            "re-IDENTIFY after SIGKILL".into(),
        ],
        series: file
            .servers
            .iter()
            .map(|s| BarSeries {
                name: s.server.name().to_string(),
                values: vec![
                    s.resume.as_ref().map(|r| r.seconds),
                    Some(s.reidentify.restart_seconds),
                    Some(s.reidentify.seconds),
                ],
            })
            .collect(),
    })];
    let stem = format!("reconnect-{}", options.sessions);
    let written = output::write(&options.out_dir, &stem, &file, &panels)?;
    Ok(Outcome { report, written })
}

/// One server's run.
struct RunResult {
    server: Server,
    unavailable: Option<String>,
    resume: Option<ResumeRun>,
    reidentify: Option<IdentifyRun>,
    error: Option<String>,
}

struct ResumeRun {
    seconds: f64,
    replayed: u64,
    missed_acked: u64,
    /// Missed posts delivered, over every session (checked exactly once).
    deliveries: u64,
}

struct IdentifyRun {
    restart_seconds: f64,
    seconds: f64,
    /// Check-window posts delivered after the re-IDENTIFY, over every session.
    deliveries: u64,
}

fn run_once(
    server: Server,
    exe: &Path,
    split: &CpuSplit,
    options: &Options,
    progress: &ProgressBar,
) -> RunResult {
    let mut result = RunResult {
        server,
        unavailable: None,
        resume: None,
        reidentify: None,
        error: None,
    };
    let mut target = match Target::start(
        server,
        exe,
        options.sessions,
        1,
        &split.server_cpus,
        options.io,
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
    let plan = Plan {
        publishers: options.publishers,
        load_cpus: split.load_cpus.clone(),
        sources: options.sources,
        ..target.plan(options.sessions)
    };
    let outcome = (|| -> Result<(), String> {
        let mut fleet = Fleet::connect(&plan, Some(progress))?;
        fleet.warm_up()?;
        if server == Server::Flux {
            result.resume = Some(resume_storm(&mut fleet, options)?);
        }
        let restart = target
            .crash_and_restart(exe)
            .map_err(|e| format!("restarting after SIGKILL: {e}"))?;
        let rejoined = fleet.identify_again(target.addr())?;
        let checked = fleet.publish(window(options.check_posts, Duration::from_millis(200)))?;
        result.reidentify = Some(IdentifyRun {
            restart_seconds: restart.as_secs_f64(),
            seconds: rejoined.elapsed.as_secs_f64(),
            deliveries: checked.deliveries,
        });
        fleet.close();
        Ok(())
    })();
    result.error = outcome.err();
    result
}

/// Drop everything, post while nobody listens, RESUME everything, check nothing is lost.
fn resume_storm(fleet: &mut Fleet, options: &Options) -> Result<ResumeRun, String> {
    fleet.drop_connections()?;
    let posted = fleet.post(window(options.missed, options.missed_window))?;
    let missed_acked = posted.acked();
    let rejoined = fleet.resume()?;
    let measured = fleet.await_deliveries(posted)?;
    Ok(ResumeRun {
        seconds: rejoined.elapsed.as_secs_f64(),
        replayed: rejoined.replayed,
        missed_acked,
        deliveries: measured.deliveries,
    })
}

/// `posts` posts spread evenly over `duration`.
fn window(posts: u32, duration: Duration) -> Window {
    Window {
        rate_per_s: f64::from(posts.max(1)) / duration.as_secs_f64(),
        duration,
    }
}

fn log_run(run: usize, result: &RunResult) {
    let name = result.server.name();
    if let Some(why) = &result.unavailable {
        eprintln!("reconnect run {run}: {name} unavailable: {why}");
        return;
    }
    if let Some(resume) = &result.resume {
        eprintln!(
            "reconnect run {run}: {name} RESUME storm: all back in {:.3} s, {} dispatches replayed, \
             {} missed posts acked, {} delivered exactly once",
            resume.seconds, resume.replayed, resume.missed_acked, resume.deliveries
        );
    }
    if let Some(identify) = &result.reidentify {
        eprintln!(
            "reconnect run {run}: {name} SIGKILL: listening again after {:.3} s, every session \
             READY {:.3} s later, {} check deliveries",
            identify.restart_seconds, identify.seconds, identify.deliveries
        );
    }
    if let Some(error) = &result.error {
        eprintln!("reconnect run {run}: {name} FAILED: {error}");
    }
}

/// The JSON file.
#[derive(Debug, Serialize)]
struct ReconnectFile {
    meta: Meta,
    sessions: usize,
    missed_posts: u32,
    publishers: usize,
    handshakes_in_flight: usize,
    cpus: String,
    servers: Vec<ServerSummary>,
}

#[derive(Debug, Serialize)]
struct ServerSummary {
    server: Server,
    unavailable: Option<String>,
    /// `None` for the peer: see `resume_note`.
    resume: Option<ResumeSummary>,
    resume_note: Option<&'static str>,
    reidentify: IdentifySummary,
    runs_ok: usize,
    failures: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ResumeSummary {
    /// Median seconds from the first reconnect to the last RESUMED.
    seconds: f64,
    seconds_runs: Vec<f64>,
    /// Median dispatches replayed, over every session.
    replayed: f64,
    /// Median missed posts delivered, over every session (each checked exactly once).
    deliveries_checked: f64,
}

#[derive(Debug, Serialize)]
struct IdentifySummary {
    /// Median seconds from SIGKILL's reap to the new process listening.
    restart_seconds: f64,
    /// Median seconds from the first reconnect to the last READY.
    seconds: f64,
    seconds_runs: Vec<f64>,
    /// Median check-window deliveries after the storm, over every session.
    deliveries_checked: f64,
}

fn summarise(
    options: &Options,
    split: &CpuSplit,
    servers: &[Server],
    runs: &[RunResult],
) -> ReconnectFile {
    let summaries = servers
        .iter()
        .map(|&server| {
            let mine: Vec<&RunResult> = runs.iter().filter(|r| r.server == server).collect();
            let resumes: Vec<&ResumeRun> = mine.iter().filter_map(|r| r.resume.as_ref()).collect();
            let identifies: Vec<&IdentifyRun> =
                mine.iter().filter_map(|r| r.reidentify.as_ref()).collect();
            let of_identify =
                |f: fn(&IdentifyRun) -> f64| median(identifies.iter().map(|r| f(r)).collect());
            ServerSummary {
                server,
                unavailable: mine.iter().find_map(|r| r.unavailable.clone()),
                resume: (server == Server::Flux).then(|| ResumeSummary {
                    seconds: median(resumes.iter().map(|r| r.seconds).collect()),
                    seconds_runs: resumes.iter().map(|r| r.seconds).collect(),
                    replayed: median(resumes.iter().map(|r| r.replayed as f64).collect()),
                    deliveries_checked: median(
                        resumes.iter().map(|r| r.deliveries as f64).collect(),
                    ),
                }),
                resume_note: (server == Server::Peer).then_some(PEER_RESUME_NOTE),
                reidentify: IdentifySummary {
                    restart_seconds: of_identify(|r| r.restart_seconds),
                    seconds: of_identify(|r| r.seconds),
                    seconds_runs: identifies.iter().map(|r| r.seconds).collect(),
                    deliveries_checked: of_identify(|r| r.deliveries as f64),
                },
                runs_ok: mine.iter().filter(|r| r.error.is_none()).count(),
                failures: mine.iter().filter_map(|r| r.error.clone()).collect(),
            }
        })
        .collect();
    ReconnectFile {
        meta: Meta::new("reconnect", options.runs),
        sessions: options.sessions,
        missed_posts: options.missed,
        publishers: options.publishers,
        handshakes_in_flight: Plan::new(([127, 0, 0, 1], 0).into(), 1).handshakes_in_flight,
        cpus: split.label(),
        servers: summaries,
    }
}

fn render(file: &ReconnectFile) -> String {
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{} sessions, one server core ({}); {} posts made while every session was down; at most \
         {} handshakes in flight; medians over {} run(s).\n",
        file.sessions, file.cpus, file.missed_posts, file.handshakes_in_flight, file.meta.runs
    );
    table.push_str(
        "| server | RESUME: all back | replayed | missed deliveries checked | restart to listening \
         | re-IDENTIFY: all back | runs ok |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for server in &file.servers {
        let name = server.server.name();
        if let Some(why) = &server.unavailable {
            let _ = writeln!(table, "| {name} | unavailable: {why} |");
            continue;
        }
        let resume = match &server.resume {
            Some(r) => format!(
                "{:.3} s | {:.0} | {:.0}",
                r.seconds, r.replayed, r.deliveries_checked
            ),
            None => "— | — | —".to_string(),
        };
        let _ = writeln!(
            table,
            "| {name} | {resume} | {:.3} s | {:.3} s | {}/{} |",
            server.reidentify.restart_seconds,
            server.reidentify.seconds,
            server.runs_ok,
            file.meta.runs
        );
        for failure in &server.failures {
            let _ = writeln!(table, "| {name} | failed: {} |", failure.replace('|', "/"));
        }
    }
    for server in &file.servers {
        if let Some(note) = server.resume_note {
            let _ = writeln!(table, "\n{}: RESUME {note}.", server.server.name());
        }
    }
    table
}
