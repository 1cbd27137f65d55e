//! Every scenario runs at its tiny size (a few sessions, a fraction of a second) and writes
//! its JSON and SVG into a directory of its own under `$TMPDIR`. Each JSON file must carry
//! its fields with non-zero values and each SVG must hold the servers' names, so no
//! scenario can rot and no plot can silently lose its data.

use std::path::{Path, PathBuf};

use bench::scenarios::{self, Outcome};
use bench::Size;
use serde_json::Value;

/// A fresh output directory for one test.
fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-scenarios-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The binary with the `serve` subcommand (this process is the test harness).
fn server_exe() -> Option<PathBuf> {
    Some(env!("CARGO_BIN_EXE_bench").into())
}

/// Checks both files exist where expected, returns the JSON, removes the directory.
fn read_outcome(outcome: &Outcome, dir: &Path, stem: &str, svg_texts: &[&str]) -> Value {
    assert_eq!(outcome.written.json, dir.join(format!("{stem}.json")));
    assert_eq!(outcome.written.svg, dir.join(format!("{stem}.svg")));
    let svg = std::fs::read_to_string(&outcome.written.svg).expect("the SVG was written");
    assert!(svg.starts_with("<svg"), "{svg}");
    for text in svg_texts {
        assert!(svg.contains(text), "{text:?} missing from the SVG");
    }
    let json = std::fs::read_to_string(&outcome.written.json).expect("the JSON was written");
    let json: Value = serde_json::from_str(&json).expect("valid JSON");
    assert!(json["meta"]["machine"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(json["meta"]["unix_time_s"].as_u64().unwrap() > 0);
    assert!(json["meta"]["runs"].as_u64().unwrap() > 0);
    std::fs::remove_dir_all(dir).unwrap();
    json
}

/// `value` is a number above zero.
fn positive(value: &Value, what: &str) -> f64 {
    let number = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"));
    assert!(number > 0.0, "{what} = {number}");
    number
}

/// The entry of `servers` for `name` (`Flux` or `Peer`).
fn server<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["servers"]
        .as_array()
        .expect("a servers array")
        .iter()
        .find(|s| s["server"] == name)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
}

#[test]
fn fanout_writes_a_point_per_server_and_rate() {
    let dir = out_dir("fanout");
    let options = bench::gateway_fanout::Options {
        server_exe: server_exe(),
        ..bench::gateway_fanout::Options::for_size(Size::Tiny)
    };
    let outcome = scenarios::fanout::run(&options, &dir).expect("files written");
    let json = read_outcome(
        &outcome,
        &dir,
        "fanout-4",
        &["Flux, 1 core", "peer (tokio)"],
    );
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "Flux and the peer at one rate: {json}");
    for point in points {
        assert_eq!(point["runs_ok"], 1, "{point}");
        positive(&point["offered_posts_per_s"], "offered posts/s");
        positive(
            &point["sustained_deliveries_per_s"],
            "sustained deliveries/s",
        );
        positive(&point["deliver_p99_ms"], "publish→deliver p99");
    }
    positive(
        &json["flux_over_peer"][0]["sustained_deliveries"],
        "the ratio",
    );
}

#[test]
fn idle_measures_memory_with_and_without_sessions() {
    let dir = out_dir("idle");
    let options = scenarios::idle::Options {
        server_exe: server_exe(),
        out_dir: dir.clone(),
        ..scenarios::idle::Options::for_size(Size::Tiny)
    };
    let outcome = scenarios::idle::run(&options).expect("files written");
    let json = read_outcome(
        &outcome,
        &dir,
        "idle",
        &["Flux", "peer (tokio)", "sessions"],
    );
    assert_eq!(json["steps"], serde_json::json!([2, 4]));
    for name in ["Flux", "Peer"] {
        let summary = server(&json, name);
        assert_eq!(summary["failures"], serde_json::json!([]), "{summary}");
        positive(&summary["baseline_bytes"], "baseline memory");
        for point in summary["points"].as_array().unwrap() {
            assert_eq!(point["runs_ok"], 1, "{point}");
            positive(&point["memory_bytes"], "memory with sessions");
            // A handful of sessions may fit in pages the server already had, so the
            // difference is only required to be a number here; the full run measures it.
            assert!(point["bytes_per_session"].is_number(), "{point}");
        }
    }
}

#[test]
fn reconnect_resumes_and_reidentifies_without_losing_a_post() {
    let dir = out_dir("reconnect");
    let options = scenarios::reconnect::Options {
        server_exe: server_exe(),
        out_dir: dir.clone(),
        ..scenarios::reconnect::Options::for_size(Size::Tiny)
    };
    let (sessions, missed) = (options.sessions as f64, f64::from(options.missed));
    let outcome = scenarios::reconnect::run(&options).expect("files written");
    let json = read_outcome(
        &outcome,
        &dir,
        "reconnect-4",
        &["Flux", "peer (tokio)", "re-IDENTIFY after SIGKILL"],
    );
    let flux = server(&json, "Flux");
    assert_eq!(flux["runs_ok"], 1, "{flux}");
    positive(&flux["resume"]["seconds"], "Flux RESUME storm");
    assert!(positive(&flux["resume"]["replayed"], "replayed") >= missed * sessions);
    assert_eq!(
        flux["resume"]["deliveries_checked"].as_f64(),
        Some(missed * sessions)
    );
    let peer = server(&json, "Peer");
    assert_eq!(peer["runs_ok"], 1, "{peer}");
    assert!(peer["resume"].is_null());
    assert!(peer["resume_note"].as_str().unwrap().contains("no replay"));
    for summary in [flux, peer] {
        positive(&summary["reidentify"]["seconds"], "re-IDENTIFY storm");
        positive(&summary["reidentify"]["restart_seconds"], "restart");
        positive(
            &summary["reidentify"]["deliveries_checked"],
            "posts after the restart",
        );
    }
}

#[test]
fn cores_reports_a_peak_per_server_and_core_count() {
    let dir = out_dir("cores");
    let mut options = scenarios::cores::Options::for_size(Size::Tiny);
    options.fanout.server_exe = server_exe();
    options.out_dir = dir.clone();
    let outcome = scenarios::cores::run(&options).expect("files written");
    let json = read_outcome(&outcome, &dir, "cores-4", &["Flux", "1 core"]);
    let peaks = json["peaks"].as_array().unwrap();
    assert_eq!(peaks.len(), 2, "{json}");
    for peak in peaks {
        assert_eq!(peak["cores"], 1);
        positive(&peak["sustained_deliveries_per_s"], "peak deliveries/s");
        positive(&peak["at_offered_posts_per_s"], "its offered rate");
    }
    assert!(outcome.report.table.contains("Peak sustained"));
}

#[test]
fn ceiling_writes_frames_per_second_per_row() {
    let dir = out_dir("ceiling");
    let options = scenarios::ceiling::Options {
        out_dir: dir.clone(),
        ..scenarios::ceiling::Options::for_size(Size::Tiny)
    };
    let outcome = scenarios::ceiling::run(&options).expect("files written");
    let json = read_outcome(&outcome, &dir, "ceiling", &["frames per writev"]);
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{json}");
    for row in rows {
        assert!(row["error"].is_null(), "{row}");
        positive(&row["frames_per_s"], "frames/s");
        positive(&row["frames_read"], "frames read");
    }
    positive(&json["frame_bytes"], "frame size");
    assert_ne!(outcome.report.checksum, 0);
}

#[test]
fn soak_keeps_healthy_clients_whole_among_hostile_ones() {
    let dir = out_dir("soak");
    let options = scenarios::soak::Options {
        server_exe: server_exe(),
        out_dir: dir.clone(),
        ..scenarios::soak::Options::for_size(Size::Tiny)
    };
    let (sessions, hostile) = (options.sessions, options.hostile);
    let outcome = scenarios::soak::run(&options).expect("the healthy clients lost nothing");
    let json = read_outcome(&outcome, &dir, "soak", &["RSS"]);
    assert_eq!(json["ok"], true, "{json}");
    let acked = positive(&json["posts_acked"], "posts acknowledged");
    assert_eq!(
        json["deliveries"].as_f64(),
        Some(acked * sessions as f64),
        "every healthy session got every acknowledged post"
    );
    positive(&json["rss_max_bytes"], "server RSS");
    let kinds = json["hostile"]["kinds"].as_array().expect("hostile kinds");
    let opened: u64 = kinds.iter().map(|k| k["opened"].as_u64().unwrap()).sum();
    assert!(opened >= hostile as u64, "{kinds:?}");
}
