//! `cargo run --release -p bench -- <suite>`: run one benchmark suite (or `all`) at full
//! size and print its markdown table, ready to paste into `docs/BENCHMARKS.md`.
//!
//! The `fanout` suite also takes `--cores 1,2 --server-cpus 0 --load-cpus 1-3 --sessions N
//! --publishers N --rate 200,400,800 --seconds S --runs N --compress zlib-stream
//! --sources N --io uring|epoll --no-peer`; any flag left out keeps the suite's full-size
//! default.
//!
//! `bench serve flux|peer …` (hidden) is not a suite: it is the child process the `fanout`
//! suite starts for each server under test (`bench::servers`).

use std::process::ExitCode;
use std::time::Duration;

use bench::{report, Report, Size};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Flux benchmarks; peers are measured side by side in the same run")]
struct Cli {
    /// Which suite: ring, wsframe, lsm, fanout, all.
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
    /// fanout: skip the peer server.
    #[arg(long)]
    no_peer: bool,
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
        "fanout" => {
            let options = match fanout_options(&cli, size) {
                Ok(options) => options,
                Err(error) => {
                    eprintln!("fanout: {error}");
                    return ExitCode::from(2);
                }
            };
            vec![Box::new(move || bench::gateway_fanout::run_with(&options))]
        }
        "all" => vec![
            Box::new(move || bench::wsframe_decode::run(size)),
            Box::new(move || bench::ring::run(size)),
        ],
        other => {
            eprintln!("unknown suite {other:?}; expected one of: ring, wsframe, lsm, fanout, all");
            return ExitCode::from(2);
        }
    };
    println!("Machine: {}\n", report::machine_line());
    for suite in suites {
        let report = suite();
        println!(
            "## {}\n\n{}\nchecksum: {}\n",
            report.suite, report.table, report.checksum
        );
    }
    ExitCode::SUCCESS
}

fn fanout_options(cli: &Cli, size: Size) -> Result<bench::gateway_fanout::Options, String> {
    let mut options = bench::gateway_fanout::Options::for_size(size);
    if let Some(cores) = &cli.cores {
        options.cores = cores.clone();
    }
    if let Some(cpus) = &cli.server_cpus {
        options.server_cpus = Some(bench::placement::parse_cpu_list(cpus)?);
    }
    if let Some(cpus) = &cli.load_cpus {
        options.load_cpus = Some(bench::placement::parse_cpu_list(cpus)?);
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
