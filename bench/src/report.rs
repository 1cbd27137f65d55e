//! What a benchmark suite returns, how big it should run, and how it shows progress.

/// How much work a suite does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A few milliseconds of work: used by `cargo test` so the suites cannot rot.
    Tiny,
    /// The size reported in `docs/BENCHMARKS.md`.
    Full,
}

/// The result of one suite.
#[derive(Debug, Clone)]
pub struct Report {
    /// The suite's name, as given on the command line.
    pub suite: &'static str,
    /// A markdown table of the results.
    pub table: String,
    /// A checksum of the work done (bytes decoded, items moved, ...), never zero after
    /// real work; printed so that work optimised away shows up.
    pub checksum: u64,
}

/// One line describing the machine, for the top of every report.
pub fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown kernel".to_string());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cores} cores, Linux {kernel}")
}

/// The progress bar every server scenario shows on stderr: what it waits for, how far.
pub fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    let style =
        indicatif::ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
