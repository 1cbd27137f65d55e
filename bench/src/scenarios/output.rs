//! Where a scenario's results go: one JSON file and one SVG file per scenario run, side by
//! side under the output directory, and the header every JSON file starts with.
//!
//! Why a header: a number without its machine, command and date cannot be compared with
//! anything. Every JSON file therefore opens with [`Meta`]: the scenario, the machine line
//! of `report::machine_line`, the command line that produced it, and when.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::plot::{self, Panel};
use crate::Report;

/// The header of every scenario's JSON file.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// The scenario's name, as on the command line.
    pub scenario: &'static str,
    /// CPU model, cores, kernel.
    pub machine: String,
    /// The command line of this process.
    pub command: String,
    /// When the file was written, seconds since the Unix epoch.
    pub unix_time_s: u64,
    /// Runs per measurement; the values are medians over them.
    pub runs: usize,
}

impl Meta {
    /// The header for `scenario` measured over `runs` runs, now, on this machine.
    pub fn new(scenario: &'static str, runs: usize) -> Meta {
        Meta {
            scenario,
            machine: crate::report::machine_line(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            unix_time_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            runs,
        }
    }
}

/// The two files a scenario wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub json: PathBuf,
    pub svg: PathBuf,
}

/// What a scenario returns: its table for stdout and the files it wrote.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub report: Report,
    pub written: Written,
}

/// Writes `<dir>/<stem>.json` (pretty) and `<dir>/<stem>.svg`, creating `dir` if needed.
pub fn write(
    dir: &Path,
    stem: &str,
    json: &impl Serialize,
    panels: &[Panel],
) -> io::Result<Written> {
    std::fs::create_dir_all(dir)?;
    let written = Written {
        json: dir.join(format!("{stem}.json")),
        svg: dir.join(format!("{stem}.svg")),
    };
    let mut text = serde_json::to_string_pretty(json).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(&written.json, text)?;
    plot::write_svg(&written.svg, panels)?;
    Ok(written)
}

/// The executable with the `serve` subcommand: `exe` when given (tests pass the `bench`
/// binary), else this one.
pub fn server_executable(exe: Option<&Path>) -> io::Result<PathBuf> {
    match exe {
        Some(exe) => Ok(exe.to_path_buf()),
        None => crate::servers::bench_executable(),
    }
}

/// The median of `values` (NaN when empty), the statistic every scenario reports.
pub fn median(mut values: Vec<f64>) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_even_and_odd_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn json_and_svg_land_side_by_side() {
        let dir = std::env::temp_dir().join(format!("bench-output-{}", std::process::id()));
        let written = write(&dir, "x", &Meta::new("test", 1), &[]).unwrap();
        assert_eq!(written.json, dir.join("x.json"));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&written.json).unwrap()).unwrap();
        assert_eq!(json["scenario"], "test");
        assert!(json["unix_time_s"].as_u64().unwrap() > 0);
        assert!(std::fs::read_to_string(&written.svg)
            .unwrap()
            .starts_with("<svg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
