//! Scenario `ceiling`: the loopback kernel ceiling of `crate::ceiling` (one thread doing
//! nothing but `writev` of pre-built frames) as a command with a JSON file and a plot of
//! frames/s against frames per write.
//!
//! CPUs map as in the server scenarios: the sender stands where the server would
//! (`--server-cpus`, its first CPU), the readers where the load generator would
//! (`--load-cpus`, one reader thread each). Defaults: the first allowed CPU sends, the
//! others read (all of them, sharing the sender's, on a one-CPU machine).
//!
//! Command: `cargo run --release -p bench -- ceiling [--sessions 1000]
//! [--frames-per-write 1,8,32] [--seconds 2] [--runs 3] [--server-cpus 0]
//! [--load-cpus 1] [--out DIR]`.

use std::io;
use std::path::PathBuf;

use serde::Serialize;

use super::output::{self, Meta, Outcome};
use crate::ceiling::{run_ceiling, CeilingOptions, CeilingRow};
use crate::placement;
use crate::plot::{LineChart, Panel, Series};
use crate::{Report, Size};

/// What the scenario runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub ceiling: CeilingOptions,
    /// Where the JSON and SVG go.
    pub out_dir: PathBuf,
}

impl Options {
    /// Tiny: `CeilingOptions::tiny()`. Full: `CeilingOptions::default()` (1,000 sessions,
    /// k = 1, 8, 32, 3 runs of 2 s) on the default CPUs.
    pub fn for_size(size: Size) -> Options {
        let ceiling = match size {
            Size::Tiny => CeilingOptions::tiny(),
            Size::Full => {
                let cpus = placement::allowed_cpus();
                let readers = if cpus.len() > 1 {
                    cpus[1..].to_vec()
                } else {
                    cpus.clone()
                };
                CeilingOptions {
                    sender_cpu: cpus.first().copied(),
                    reader_cpus: readers,
                    ..CeilingOptions::default()
                }
            }
        };
        Options {
            ceiling,
            out_dir: PathBuf::from("docs/bench"),
        }
    }
}

/// The JSON file.
#[derive(Debug, Serialize)]
struct CeilingFile<'a> {
    meta: Meta,
    options: &'a CeilingOptions,
    /// The frame size actually written, header included.
    frame_bytes: usize,
    rows: &'a [CeilingRow],
}

/// Measures every row and writes `ceiling.json` and `ceiling.svg`.
pub fn run(options: &Options) -> io::Result<Outcome> {
    let ceiling = &options.ceiling;
    // The measurement has no progress hook: a spinner shows that it runs, and for how long.
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!(
        "ceiling: {} row(s) × {} run(s) of {} s",
        ceiling.frames_per_write.len(),
        ceiling.runs,
        ceiling.seconds
    ));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let report = run_ceiling(ceiling);
    bar.finish_and_clear();
    let file = CeilingFile {
        meta: Meta::new("ceiling", ceiling.runs),
        options: ceiling,
        frame_bytes: report.frame_bytes,
        rows: &report.rows,
    };
    let sender = ceiling
        .sender_cpu
        .map_or("any CPU".to_string(), |cpu| format!("CPU {cpu}"));
    let readers = if ceiling.reader_cpus.is_empty() {
        "one unpinned reader".to_string()
    } else {
        format!(
            "readers on {}",
            placement::format_cpu_list(&ceiling.reader_cpus)
        )
    };
    let panels = [Panel::Line(LineChart {
        title: format!(
            "Loopback writev ceiling, {} sessions, sender on {sender}",
            ceiling.sessions
        ),
        x_label: "frames per writev".into(),
        y_label: format!("frames/s ({} bytes each)", report.frame_bytes),
        series: vec![Series {
            name: "one sending thread".into(),
            points: report
                .rows
                .iter()
                .map(|row| (row.frames_per_write as f64, row.frames_per_s))
                .collect(),
        }],
    })];
    let written = output::write(&options.out_dir, "ceiling", &file, &panels)?;
    let table = format!(
        "{} loopback sessions, {}-byte frames, sender on {sender}, {readers}, {} run(s) of {} s \
         per row (medians).\n\n{}",
        ceiling.sessions,
        report.frame_bytes,
        ceiling.runs,
        ceiling.seconds,
        report.table()
    );
    Ok(Outcome {
        report: Report {
            suite: "ceiling",
            table,
            checksum: report.checksum,
        },
        written,
    })
}
