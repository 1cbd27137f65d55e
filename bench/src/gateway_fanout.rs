//! Benchmark suite `fanout`: the first end-to-end server benchmark. S gateway sessions
//! listen on one channel while P publishers POST messages to it; the suite measures what a
//! chat server is for, at 1, 2, 4, … server cores, for Flux and a peer in the same run.
//!
//! Measured per run:
//! - POST → 200 latency, p50/p99. For Flux the 200 leaves after the message is fdatasync'd
//!   (group commit on the guild's owner core), so this is the durable acknowledgement.
//! - POST → MESSAGE_CREATE latency at the receiving sessions, p50/p99, over every
//!   (message, session) pair.
//! - Delivered events per second: MESSAGE_CREATEs received by all sessions, from the first
//!   POST to the last delivery.
//! - Acknowledged messages per second.
//! - Cores busy: CPU seconds per second of the server's threads and of the load
//!   generator's, over the same window (`load/cpu.rs`), so a reader can tell which side
//!   was the limit.
//!
//! The publishers are closed loops, so the suite runs at saturation: when fan-out cannot
//! keep up with the POSTs, events queue in the server's outboxes and the delivery latency
//! includes that queueing. Flux bounds that queue (`Limits::outbox_bytes_max`) and closes
//! a session that stays behind with 4000; the run then fails and the table says so.
//!
//! Servers: Flux in-process (`engine::Server::start`, `cores: Some(n)`, REST rate limits
//! off, the data dir under `$TMPDIR`), and the peer in `crate::peer`, a tokio +
//! tokio-tungstenite broadcast server with `n` runtime workers that does no fsync, no
//! storage and no permission checks. Flux's sessions are S distinct bot users in the demo
//! guild (`gateway_fanout/flux_world.rs` says why).
//!
//! Cores: the server gets the first `n` CPUs this process may use (Flux's reactors pin
//! there by themselves; the peer's workers are pinned there), the load generator the rest.
//! When `n` is every CPU, client and server share them and the table says so.
//!
//! Command: `cargo run --release -p bench -- fanout [--cores 1,2,4,8,16] [--sessions 1000]
//! [--publishers 8] [--seconds 3] [--runs 3] [--no-peer]`.
//!
//! Method: runs are interleaved (every core count and both servers, then again), each
//! server started fresh for each run; the table shows the median over the runs of each
//! number. Every message carries its sequence number and send time in `content`; the
//! checksum is the sum of the sequence numbers delivered, counted once per session.

mod flux_world;
mod load;

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::{Report, Size};
use load::{Load, Measured, Target};

/// What the suite runs; `for_size` gives the defaults, the CLI may override each field.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server core counts to sweep.
    pub cores: Vec<usize>,
    /// Gateway sessions.
    pub sessions: usize,
    /// Closed-loop publishers.
    pub publishers: usize,
    /// How long the publishers post per run.
    pub duration: Duration,
    /// Runs per (server, core count).
    pub runs: usize,
    /// Whether to run the peer too.
    pub peer: bool,
}

impl Options {
    /// The defaults: tiny for `cargo test`, the reported sweep for `Full`.
    pub fn for_size(size: Size) -> Options {
        match size {
            Size::Tiny => Options {
                cores: vec![1],
                sessions: 4,
                publishers: 1,
                duration: Duration::from_millis(100),
                runs: 1,
                peer: true,
            },
            Size::Full => Options {
                cores: vec![1, 2, 4, 8, 16],
                sessions: 1000,
                publishers: 8,
                duration: Duration::from_secs(3),
                runs: 3,
                peer: true,
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
    raise_open_files_limit();
    let cpus: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|core| core.id)
        .collect();
    let cores: Vec<usize> = options
        .cores
        .iter()
        .copied()
        .filter(|&n| n >= 1 && n <= cpus.len().max(1))
        .collect();
    let servers: &[Server] = if options.peer {
        &[Server::Flux, Server::Peer]
    } else {
        &[Server::Flux]
    };
    let mut results: Vec<Outcome> = Vec::new();
    for run in 0..options.runs {
        for &n in &cores {
            for &server in servers {
                let outcome = run_one(server, n, &cpus, options);
                match &outcome.result {
                    Ok(measured) => eprintln!(
                        "fanout run {run}: {} ({})",
                        outcome.label(),
                        summary(measured)
                    ),
                    Err(error) => {
                        eprintln!("fanout run {run}: {} FAILED: {error}", outcome.label())
                    }
                }
                results.push(outcome);
            }
        }
    }
    let checksum = results
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .fold(0u64, |sum, m| sum.wrapping_add(m.checksum));
    Report {
        suite: "fanout",
        table: render(options, &cores, &cpus, servers, &results),
        checksum,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Flux,
    Peer,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Flux => "Flux",
            Server::Peer => "peer (tokio-tungstenite)",
        }
    }
}

struct Outcome {
    server: Server,
    cores: usize,
    result: Result<Measured, String>,
}

impl Outcome {
    fn label(&self) -> String {
        format!("{} on {} core(s)", self.server.name(), self.cores)
    }
}

fn run_one(server: Server, n: usize, cpus: &[usize], options: &Options) -> Outcome {
    let (server_cpus, client_cpus) = split_cpus(cpus, n);
    let load = Load {
        publishers: options.publishers,
        duration: options.duration,
        receiver_threads: if client_cpus.is_empty() {
            (cpus.len() / 4).max(1)
        } else {
            client_cpus.len()
        },
        client_cpus,
    };
    let result = match server {
        Server::Flux => run_flux(n, options.sessions, &load),
        Server::Peer => run_peer(n, server_cpus, options.sessions, &load),
    };
    Outcome {
        server,
        cores: n,
        result,
    }
}

/// The first `n` CPUs serve, the rest load; when none are left, both share all of them.
fn split_cpus(cpus: &[usize], n: usize) -> (Vec<usize>, Vec<usize>) {
    let n = n.min(cpus.len());
    (cpus[..n].to_vec(), cpus[n..].to_vec())
}

fn run_flux(n: usize, sessions: usize, load: &Load) -> Result<Measured, String> {
    let mut config = engine::Config::ephemeral();
    config.cores = Some(n);
    config.limits.rest_rate_limits = false;
    let world = flux_world::seed(&config.data_dir, sessions)
        .map_err(|e| format!("seeding {}: {e}", config.data_dir.display()))?;
    let server = engine::Server::start(config).map_err(|e| format!("Flux start: {e}"))?;
    let target = Target {
        http_addr: server.local_addr(),
        ws_addr: server.local_addr(),
        channel_id: world.text_channel_id.0.to_string(),
        publisher_token: world.publisher_token,
        session_tokens: world.session_tokens,
    };
    let measured = load::run(&target, load);
    server
        .shutdown()
        .map_err(|e| format!("Flux shutdown: {e}"))?;
    measured
}

fn run_peer(n: usize, cpus: Vec<usize>, sessions: usize, load: &Load) -> Result<Measured, String> {
    // `peer::serve` blocks for the life of the process, so this thread (and its idle
    // runtime) outlives the run; a harness that runs each server as its own process ends it.
    let (bound, listening) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("peer".into())
        .spawn(move || {
            pin_current_thread(&cpus);
            let options = crate::peer::PeerOptions {
                listen: ([127, 0, 0, 1], 0).into(),
                workers: n,
            };
            let reply = bound.clone();
            if let Err(error) = crate::peer::serve(options, move |addr| {
                let _ = reply.send(Ok(addr));
            }) {
                let _ = bound.send(Err(error));
            }
        })
        .map_err(|e| format!("peer thread: {e}"))?;
    let addr = listening
        .recv_timeout(Duration::from_secs(10))
        .map_err(|e| format!("peer start: {e}"))?
        .map_err(|e| format!("peer start: {e}"))?;
    let target = Target {
        http_addr: addr,
        ws_addr: addr,
        // Any id is accepted; a 19-digit snowflake keeps the event as long as Flux's.
        channel_id: "1300000000000000002".into(),
        publisher_token: "peer".into(),
        session_tokens: vec![String::new(); sessions],
    };
    load::run(&target, load)
}

/// Pins this thread (and the runtime threads it starts, which inherit the mask) to `cpus`.
fn pin_current_thread(cpus: &[usize]) {
    if cpus.is_empty() {
        return;
    }
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu < libc::CPU_SETSIZE as usize {
            // SAFETY: CPU_SET writes one bit of `set`; `cpu` is below CPU_SETSIZE (checked
            // on the line above).
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is this thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

fn summary(m: &Measured) -> String {
    format!(
        "{} acked, POST p50 {}, delivery p50 {} p99 {}, {:.0} events/s, {}/{} delivered",
        m.acked,
        millis(m.post_ns.value_at_quantile(0.5)),
        millis(m.delivery_ns.value_at_quantile(0.5)),
        millis(m.delivery_ns.value_at_quantile(0.99)),
        events_per_second(m),
        m.delivered,
        m.expected
    )
}

fn events_per_second(m: &Measured) -> f64 {
    m.delivered as f64 / m.delivery_elapsed.as_secs_f64().max(1e-9)
}

fn acked_per_second(m: &Measured) -> f64 {
    m.acked as f64 / m.publish_elapsed.as_secs_f64().max(1e-9)
}

/// The medians over one (server, core count)'s successful runs.
struct Medians {
    runs_ok: usize,
    failures: Vec<String>,
    acked_per_s: f64,
    post_p50_ns: f64,
    post_p99_ns: f64,
    delivery_p50_ns: f64,
    delivery_p99_ns: f64,
    events_per_s: f64,
    event_bytes: usize,
    server_cores_busy: f64,
    client_cores_busy: f64,
}

fn medians(results: &[Outcome], server: Server, cores: usize) -> Medians {
    let mine: Vec<&Outcome> = results
        .iter()
        .filter(|o| o.server == server && o.cores == cores)
        .collect();
    let ok: Vec<&Measured> = mine.iter().filter_map(|o| o.result.as_ref().ok()).collect();
    let failures = mine
        .iter()
        .filter_map(|o| o.result.as_ref().err().cloned())
        .collect();
    let quantile = |h: fn(&Measured) -> &Histogram<u64>, q: f64| {
        median(
            ok.iter()
                .map(|m| h(m).value_at_quantile(q) as f64)
                .collect(),
        )
    };
    Medians {
        runs_ok: ok.len(),
        failures,
        acked_per_s: median(ok.iter().map(|m| acked_per_second(m)).collect()),
        post_p50_ns: quantile(|m| &m.post_ns, 0.5),
        post_p99_ns: quantile(|m| &m.post_ns, 0.99),
        delivery_p50_ns: quantile(|m| &m.delivery_ns, 0.5),
        delivery_p99_ns: quantile(|m| &m.delivery_ns, 0.99),
        events_per_s: median(ok.iter().map(|m| events_per_second(m)).collect()),
        event_bytes: ok.first().map_or(0, |m| m.event_bytes),
        server_cores_busy: median(ok.iter().map(|m| busy(m.server_cpu, m)).collect()),
        client_cores_busy: median(ok.iter().map(|m| busy(m.client_cpu, m)).collect()),
    }
}

/// CPU seconds per second of the measured window: how many cores were busy.
fn busy(cpu: Duration, m: &Measured) -> f64 {
    cpu.as_secs_f64() / m.cpu_window.as_secs_f64().max(1e-9)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn render(
    options: &Options,
    cores: &[usize],
    cpus: &[usize],
    servers: &[Server],
    results: &[Outcome],
) -> String {
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{} sessions (one bot user each for Flux), {} closed-loop publishers posting for {:.1} s \
         per run, medians over {} run(s); {} CPUs available; Flux data dir on {}.\n",
        options.sessions,
        options.publishers,
        options.duration.as_secs_f64(),
        options.runs,
        cpus.len(),
        data_dir_filesystem()
    );
    table.push_str(
        "| server | cores | client CPUs | msgs/s acked | POST→200 p50 | p99 | POST→MESSAGE_CREATE p50 \
         | p99 | events/s delivered | server cores busy | client cores busy \
         | MESSAGE_CREATE bytes | runs ok |\n",
    );
    table.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for &n in cores {
        let (_, client) = split_cpus(cpus, n);
        let client = if client.is_empty() {
            "shared".to_string()
        } else {
            format!("{}", client.len())
        };
        for &server in servers {
            let m = medians(results, server, n);
            let _ = writeln!(
                table,
                "| {} | {n} | {client} | {:.0} | {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {}/{} |",
                server.name(),
                m.acked_per_s,
                millis(m.post_p50_ns as u64),
                millis(m.post_p99_ns as u64),
                millis(m.delivery_p50_ns as u64),
                millis(m.delivery_p99_ns as u64),
                m.events_per_s,
                m.server_cores_busy,
                m.client_cores_busy,
                m.event_bytes,
                m.runs_ok,
                m.runs_ok + m.failures.len(),
            );
            for failure in &m.failures {
                let _ = writeln!(table, "|  | {n} | failed: {failure} | | | | | | | | | | |");
            }
        }
    }
    if servers.len() == 2 {
        render_ratios(&mut table, cores, results);
    }
    table
}

fn render_ratios(table: &mut String, cores: &[usize], results: &[Outcome]) {
    table.push_str(
        "\nFlux ÷ peer (medians; events/s above 1 means Flux delivers more, latency below 1 \
         means Flux is faster). The peer does no fsync, stores nothing and checks no \
         permissions; Flux answers only after fdatasync.\n\n\
         | cores | events/s | msgs/s acked | POST p50 | POST p99 | delivery p50 | delivery p99 |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for &n in cores {
        let flux = medians(results, Server::Flux, n);
        let peer = medians(results, Server::Peer, n);
        let _ = writeln!(
            table,
            "| {n} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            flux.events_per_s / peer.events_per_s,
            flux.acked_per_s / peer.acked_per_s,
            flux.post_p50_ns / peer.post_p50_ns,
            flux.post_p99_ns / peer.post_p99_ns,
            flux.delivery_p50_ns / peer.delivery_p50_ns,
            flux.delivery_p99_ns / peer.delivery_p99_ns,
        );
    }
}

fn millis(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
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

/// Many sessions need many descriptors (two per session in one process): lift the soft
/// limit to the hard one.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the valid, writable struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0
        && limit.rlim_cur < limit.rlim_max
    {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads one valid rlimit struct; raising the soft limit up to the
        // hard limit needs no privilege.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
}
