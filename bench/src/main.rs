//! `cargo run --release -p bench -- <suite>`: run one benchmark suite (or `all`) at full
//! size and print its markdown table, ready to paste into `docs/BENCHMARKS.md`.
//!
//! Micro-benchmark suites: `ring`, `wsframe`, `lsm`, `all`. Voice: `sfu` (encrypted RTP
//! forwarded per second on one core, with `--server-cpus`, `--load-cpus`, `--rate` packets
//! per second per speaker (one value, or one per scenario), `--seconds`, `--runs`, `--mode`). Server scenarios (each also
//! writes `<out>/<name>.json` and an SVG plot; `bench::scenarios` says what each
//! measures): `fanout`, `idle`, `reconnect`, `cores`, `ceiling`, `soak`.
//!
//! Flags, each for the scenarios it names; any flag left out keeps the scenario's
//! full-size default: `--cores 1,2 --server-cpus 0 --load-cpus 1-3 --sessions N
//! --publishers N --rate 200,400,800 --seconds S --runs N --compress zlib-stream
//! --sources N --io uring|epoll --no-peer --steps 1000,5000 --missed K
//! --frames-per-write 1,8,32 --hostile N --out DIR --tiny`.
//!
//! `bench serve flux|peer …` (hidden) is not a suite: it is the child process the server
//! scenarios start for each server under test (`bench::servers`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bench::scenarios::{self, Outcome};
use bench::{report, Report, Size};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Flux benchmarks; peers are measured side by side in the same run")]
struct Cli {
    /// Which suite: ring, wsframe, lsm, sfu, all; or a scenario: fanout, idle, reconnect,
    /// cores, ceiling.
    suite: String,
    /// Run at the tiny test size instead of the full size.
    #[arg(long)]
    tiny: bool,
    /// fanout: server core counts to sweep, comma-separated.
    #[arg(long, value_delimiter = ',')]
    cores: Option<Vec<usize>>,
    /// fanout: CPUs the server is pinned to, e.g. `0` or `0-3` (default: the first
    /// `cores` CPUs).
    #[arg(long)]
    server_cpus: Option<String>,
    /// fanout: CPUs of the load generator, one thread each (default: every other CPU).
    #[arg(long)]
    load_cpus: Option<String>,
    /// fanout: gateway sessions.
    #[arg(long)]
    sessions: Option<usize>,
    /// fanout: publisher connections.
    #[arg(long)]
    publishers: Option<usize>,
    /// fanout: posts per second (open loop); a comma list is a rising sweep.
    #[arg(long, value_delimiter = ',')]
    rate: Option<Vec<f64>>,
    /// fanout: seconds the publishers post per rate.
    #[arg(long)]
    seconds: Option<f64>,
    /// fanout: runs per (server, core count); the table shows medians.
    #[arg(long)]
    runs: Option<usize>,
    /// fanout: transport compression: none, zlib-stream or zstd-stream.
    #[arg(long)]
    compress: Option<bench::loadgen::Compression>,
    /// fanout: 127.0.0.x source addresses the client sockets spread over.
    #[arg(long)]
    sources: Option<usize>,
    /// fanout: Flux's I/O backend: uring or epoll.
    #[arg(long)]
    io: Option<engine::IoBackend>,
    /// fanout, idle, reconnect, cores: skip the peer server.
    #[arg(long)]
    no_peer: bool,
    /// idle: session counts to measure, rising, comma-separated.
    #[arg(long, value_delimiter = ',')]
    steps: Option<Vec<usize>>,
    /// reconnect: posts made while every session is disconnected.
    #[arg(long)]
    missed: Option<u32>,
    /// ceiling: frames per writev, one row each, comma-separated.
    #[arg(long, value_delimiter = ',')]
    frames_per_write: Option<Vec<usize>>,
    /// sfu: transport mode, `aead_xchacha20_poly1305_rtpsize` (default) or
    /// `aead_aes256_gcm_rtpsize`.
    #[arg(long)]
    mode: Option<String>,
    /// soak: hostile connections held open against the server.
    #[arg(long)]
    hostile: Option<usize>,
    /// Scenarios: where the JSON and SVG files go.
    #[arg(long, default_value = "docs/bench")]
    out: PathBuf,
}

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|arg| arg == "serve") {
        return bench::servers::serve_main(std::env::args_os().skip(1));
    }
    let cli = Cli::parse();
    let size = if cli.tiny { Size::Tiny } else { Size::Full };
    let suites: Vec<Box<dyn Fn() -> Report>> = match cli.suite.as_str() {
        "ring" => vec![Box::new(move || bench::ring::run(size))],
        "wsframe" => vec![Box::new(move || bench::wsframe_decode::run(size))],
        "lsm" => vec![Box::new(move || bench::lsm_store::run(size))],
        "sfu" => match sfu_options(&cli, size) {
            Ok(options) => vec![Box::new(move || bench::sfu_forward::run_with(&options))],
            Err(error) => {
                eprintln!("sfu: {error}");
                return ExitCode::from(2);
            }
        },
        "all" => vec![
            Box::new(move || bench::wsframe_decode::run(size)),
            Box::new(move || bench::ring::run(size)),
        ],
        "fanout" | "idle" | "reconnect" | "cores" | "ceiling" | "soak" => {
            return run_scenario(&cli, size);
        }
        other => {
            eprintln!(
                "unknown suite {other:?}; expected one of: ring, wsframe, lsm, sfu, all, fanout, \
                 idle, reconnect, cores, ceiling, soak"
            );
            return ExitCode::from(2);
        }
    };
    println!("Machine: {}\n", report::machine_line());
    for suite in suites {
        print_report(&suite());
    }
    ExitCode::SUCCESS
}

fn print_report(report: &Report) {
    println!(
        "## {}\n\n{}\nchecksum: {}\n",
        report.suite, report.table, report.checksum
    );
}

/// Runs one scenario, prints its table and where its files went.
fn run_scenario(cli: &Cli, size: Size) -> ExitCode {
    let outcome: Result<std::io::Result<Outcome>, String> = match cli.suite.as_str() {
        "fanout" => fanout_options(cli, bench::gateway_fanout::Options::for_size(size))
            .map(|options| scenarios::fanout::run(&options, &cli.out)),
        "cores" => {
            let defaults = scenarios::cores::Options::for_size(size);
            fanout_options(cli, defaults.fanout).map(|fanout| {
                scenarios::cores::run(&scenarios::cores::Options {
                    fanout,
                    out_dir: cli.out.clone(),
                })
            })
        }
        "idle" => idle_options(cli, size).map(|options| scenarios::idle::run(&options)),
        "soak" => soak_options(cli, size).map(|options| scenarios::soak::run(&options)),
        "reconnect" => {
            reconnect_options(cli, size).map(|options| scenarios::reconnect::run(&options))
        }
        _ => ceiling_options(cli, size).map(|options| scenarios::ceiling::run(&options)),
    };
    match outcome {
        Err(error) => {
            eprintln!("{}: {error}", cli.suite);
            ExitCode::from(2)
        }
        Ok(Err(error)) => {
            eprintln!("{}: {error}", cli.suite);
            ExitCode::FAILURE
        }
        Ok(Ok(outcome)) => {
            println!("Machine: {}\n", report::machine_line());
            print_report(&outcome.report);
            println!(
                "wrote {} and {}",
                outcome.written.json.display(),
                outcome.written.svg.display()
            );
            ExitCode::SUCCESS
        }
    }
}

/// The `sfu` suite's options: `size`'s defaults with every flag given applied.
fn sfu_options(cli: &Cli, size: Size) -> Result<bench::sfu_forward::Options, String> {
    let mut options = bench::sfu_forward::Options::for_size(size);
    if let Some(cpus) = server_cpus(cli)? {
        options.server_cpu = cpus.first().copied();
    }
    if let Some(cpus) = load_cpus(cli)? {
        options.load_cpu = cpus.first().copied();
    }
    if let Some(rates) = &cli.rate {
        if rates.iter().any(|rate| !rate.is_finite() || *rate <= 0.0) {
            return Err(format!(
                "--rate must be positive packets per second: {rates:?}"
            ));
        }
        for (index, scenario) in options.scenarios.iter_mut().enumerate() {
            scenario.rate_per_speaker = *rates.get(index).or(rates.last()).expect("non-empty");
        }
    }
    if let Some(seconds) = cli.seconds {
        options.duration = Duration::from_secs_f64(seconds.max(0.05));
    }
    if let Some(runs) = cli.runs {
        options.runs = runs.max(1);
    }
    if let Some(name) = &cli.mode {
        let mode = sfu::Mode::from_name(name).ok_or_else(|| {
            format!(
                "--mode {name:?}: expected aead_xchacha20_poly1305_rtpsize or \
                 aead_aes256_gcm_rtpsize"
            )
        })?;
        for scenario in &mut options.scenarios {
            scenario.roster.mode = mode;
        }
    }
    Ok(options)
}

fn soak_options(cli: &Cli, size: Size) -> Result<scenarios::soak::Options, String> {
    let mut options = scenarios::soak::Options::for_size(size);
    if let Some(sessions) = cli.sessions {
        options.sessions = sessions.max(1);
    }
    if let Some(hostile) = cli.hostile {
        options.hostile = hostile;
    }
    if let Some(publishers) = cli.publishers {
        options.publishers = publishers.max(1);
    }
    if let Some(rate) = cli.rate.as_ref().and_then(|rates| rates.first()) {
        options.rate_per_s = *rate;
    }
    if let Some(seconds) = cli.seconds {
        options.seconds = seconds;
    }
    if let Some(sources) = cli.sources {
        options.sources = sources.clamp(1, 9);
    }
    if let Some(io) = cli.io {
        options.io = io;
    }
    if let Some(cpus) = server_cpus(cli)? {
        options.server_cpus = cpus;
    }
    if let Some(cpus) = load_cpus(cli)? {
        options.load_cpus = cpus;
    }
    options.out_dir.clone_from(&cli.out);
    Ok(options)
}

fn idle_options(cli: &Cli, size: Size) -> Result<scenarios::idle::Options, String> {
    let mut options = scenarios::idle::Options::for_size(size);
    if let Some(steps) = &cli.steps {
        options.steps = steps.clone();
    } else if let Some(sessions) = cli.sessions {
        options.steps = vec![sessions];
    }
    if options.steps.iter().all(|&n| n == 0) {
        return Err("--steps needs at least one positive session count".into());
    }
    if let Some(runs) = cli.runs {
        options.runs = runs.max(1);
    }
    options.server_cpus = server_cpus(cli)?;
    options.load_cpus = load_cpus(cli)?;
    if let Some(sources) = cli.sources {
        options.sources = sources.clamp(1, 254);
    }
    if let Some(io) = cli.io {
        options.io = io;
    }
    options.peer &= !cli.no_peer;
    options.out_dir.clone_from(&cli.out);
    Ok(options)
}

fn reconnect_options(cli: &Cli, size: Size) -> Result<scenarios::reconnect::Options, String> {
    let mut options = scenarios::reconnect::Options::for_size(size);
    if let Some(sessions) = cli.sessions {
        options.sessions = sessions.max(1);
    }
    if let Some(missed) = cli.missed {
        options.missed = missed.max(1);
    }
    if let Some(publishers) = cli.publishers {
        options.publishers = publishers.max(1);
    }
    if let Some(runs) = cli.runs {
        options.runs = runs.max(1);
    }
    options.server_cpus = server_cpus(cli)?;
    options.load_cpus = load_cpus(cli)?;
    if let Some(sources) = cli.sources {
        options.sources = sources.clamp(1, 254);
    }
    if let Some(io) = cli.io {
        options.io = io;
    }
    options.peer &= !cli.no_peer;
    options.out_dir.clone_from(&cli.out);
    Ok(options)
}

fn ceiling_options(cli: &Cli, size: Size) -> Result<scenarios::ceiling::Options, String> {
    let mut options = scenarios::ceiling::Options::for_size(size);
    let ceiling = &mut options.ceiling;
    if let Some(cpus) = server_cpus(cli)? {
        ceiling.sender_cpu = cpus.first().copied();
    }
    if let Some(cpus) = load_cpus(cli)? {
        ceiling.reader_cpus = cpus;
    }
    if let Some(sessions) = cli.sessions {
        ceiling.sessions = sessions.max(1);
    }
    if let Some(ks) = &cli.frames_per_write {
        if ks.iter().any(|&k| !(1..=1024).contains(&k)) {
            return Err(format!("--frames-per-write must be 1..=1024: {ks:?}"));
        }
        ceiling.frames_per_write = ks.clone();
    }
    if let Some(seconds) = cli.seconds {
        ceiling.seconds = seconds.max(0.01);
    }
    if let Some(runs) = cli.runs {
        ceiling.runs = runs.max(1);
    }
    options.out_dir.clone_from(&cli.out);
    Ok(options)
}

fn server_cpus(cli: &Cli) -> Result<Option<Vec<usize>>, String> {
    cli.server_cpus
        .as_deref()
        .map(bench::placement::parse_cpu_list)
        .transpose()
}

fn load_cpus(cli: &Cli) -> Result<Option<Vec<usize>>, String> {
    cli.load_cpus
        .as_deref()
        .map(bench::placement::parse_cpu_list)
        .transpose()
}

/// The fanout sweep's options: `defaults` with every flag given applied.
fn fanout_options(
    cli: &Cli,
    mut options: bench::gateway_fanout::Options,
) -> Result<bench::gateway_fanout::Options, String> {
    if let Some(cores) = &cli.cores {
        options.cores = cores.clone();
    }
    if let Some(cpus) = server_cpus(cli)? {
        options.server_cpus = Some(cpus);
    }
    if let Some(cpus) = load_cpus(cli)? {
        options.load_cpus = Some(cpus);
    }
    if let Some(sessions) = cli.sessions {
        options.sessions = sessions.max(1);
    }
    if let Some(publishers) = cli.publishers {
        options.publishers = publishers.max(1);
    }
    if let Some(rates) = &cli.rate {
        if rates.iter().any(|rate| !rate.is_finite() || *rate <= 0.0) {
            return Err(format!(
                "--rate must be positive posts per second: {rates:?}"
            ));
        }
        options.rates = rates.clone();
    }
    if let Some(seconds) = cli.seconds {
        options.duration = Duration::from_secs_f64(seconds.max(0.01));
    }
    if let Some(runs) = cli.runs {
        options.runs = runs.max(1);
    }
    if let Some(compress) = cli.compress {
        options.compress = compress;
    }
    if let Some(sources) = cli.sources {
        options.sources = sources.clamp(1, 254);
    }
    if let Some(io) = cli.io {
        options.io = io;
    }
    options.peer &= !cli.no_peer;
    Ok(options)
}
