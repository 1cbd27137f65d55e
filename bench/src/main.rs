//! `cargo run --release -p bench -- <suite>`: run one benchmark suite (or `all`) at full
//! size and print its markdown table, ready to paste into `docs/BENCHMARKS.md`.
//!
//! The `fanout` suite also takes `--cores 1,2,4 --sessions N --publishers N --seconds S
//! --runs N --no-peer`; any flag left out keeps the suite's full-size default.

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
    /// fanout: server core counts to sweep, comma-separated (counts above the CPUs this
    /// process may use are skipped).
    #[arg(long, value_delimiter = ',')]
    cores: Option<Vec<usize>>,
    /// fanout: gateway sessions.
    #[arg(long)]
    sessions: Option<usize>,
    /// fanout: closed-loop publishers.
    #[arg(long)]
    publishers: Option<usize>,
    /// fanout: seconds the publishers post per run.
    #[arg(long)]
    seconds: Option<f64>,
    /// fanout: runs per (server, core count); the table shows medians.
    #[arg(long)]
    runs: Option<usize>,
    /// fanout: skip the peer server.
    #[arg(long)]
    no_peer: bool,
}

fn main() {
    let cli = Cli::parse();
    let size = if cli.tiny { Size::Tiny } else { Size::Full };
    let fanout = || fanout_options(&cli, size);
    let suites: Vec<Box<dyn Fn() -> Report>> = match cli.suite.as_str() {
        "ring" => vec![Box::new(move || bench::ring::run(size))],
        "wsframe" => vec![Box::new(move || bench::wsframe_decode::run(size))],
        "lsm" => vec![Box::new(move || bench::lsm_store::run(size))],
        "fanout" => {
            let options = fanout();
            vec![Box::new(move || bench::gateway_fanout::run_with(&options))]
        }
        "all" => vec![
            Box::new(move || bench::wsframe_decode::run(size)),
            Box::new(move || bench::ring::run(size)),
        ],
        other => {
            eprintln!("unknown suite {other:?}; expected one of: ring, wsframe, lsm, fanout, all");
            std::process::exit(2);
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
}

fn fanout_options(cli: &Cli, size: Size) -> bench::gateway_fanout::Options {
    let mut options = bench::gateway_fanout::Options::for_size(size);
    if let Some(cores) = &cli.cores {
        options.cores = cores.clone();
    }
    if let Some(sessions) = cli.sessions {
        options.sessions = sessions.max(1);
    }
    if let Some(publishers) = cli.publishers {
        options.publishers = publishers.max(1);
    }
    if let Some(seconds) = cli.seconds {
        options.duration = Duration::from_secs_f64(seconds.max(0.01));
    }
    if let Some(runs) = cli.runs {
        options.runs = runs.max(1);
    }
    options.peer &= !cli.no_peer;
    options
}
