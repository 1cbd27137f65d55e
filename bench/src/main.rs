//! `cargo run --release -p bench -- <suite>`: run one benchmark suite (or `all`) at full
//! size and print its markdown table, ready to paste into `docs/BENCHMARKS.md`.

use bench::{report, Report, Size};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Flux benchmarks; peers are measured side by side in the same run")]
struct Cli {
    /// Which suite: ring, wsframe, lsm, all.
    suite: String,
    /// Run at the tiny test size instead of the full size.
    #[arg(long)]
    tiny: bool,
}

fn main() {
    let cli = Cli::parse();
    let size = if cli.tiny { Size::Tiny } else { Size::Full };
    let suites: Vec<fn(Size) -> Report> = match cli.suite.as_str() {
        "ring" => vec![bench::ring::run],
        "wsframe" => vec![bench::wsframe_decode::run],
        "lsm" => vec![bench::lsm_store::run],
        "all" => vec![bench::wsframe_decode::run, bench::ring::run],
        other => {
            eprintln!("unknown suite {other:?}; expected one of: ring, wsframe, lsm, all");
            std::process::exit(2);
        }
    };
    println!("Machine: {}\n", report::machine_line());
    for suite in suites {
        let report = suite(size);
        println!(
            "## {}\n\n{}\nchecksum: {}\n",
            report.suite, report.table, report.checksum
        );
    }
}
