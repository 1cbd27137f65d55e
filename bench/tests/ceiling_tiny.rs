//! The kernel-ceiling measurement runs at its tiny size in the test suite, so it cannot
//! rot: every frame the sender wrote must be read at the other end, and the checksum
//! (frames read) must be non-zero.

use bench::ceiling::{run_ceiling, CeilingOptions};

#[test]
fn ceiling_tiny_delivers_every_frame_written() {
    let options = CeilingOptions::tiny();
    let report = run_ceiling(&options);
    println!("{}", report.table());
    assert_eq!(report.rows.len(), options.frames_per_write.len());
    assert_eq!(report.frame_bytes, options.frame_bytes);
    for row in &report.rows {
        assert_eq!(row.error, None, "{}", report.table());
        assert!(row.frames_written > 0, "{}", report.table());
        assert_eq!(row.frames_read, row.frames_written, "{}", report.table());
        assert!(row.frames_per_s > 0.0 && row.mb_per_s > 0.0);
        assert!(row.writes >= row.frames_written / row.frames_per_write as u64);
    }
    assert_eq!(
        report.checksum,
        report.rows.iter().map(|row| row.frames_read).sum::<u64>()
    );
    assert_ne!(report.checksum, 0);
}

/// The full measurement, by hand (prints the table):
/// `CEILING_SENDER_CPU=0 CEILING_READER_CPUS=1 cargo test --release -p bench --test
/// ceiling_tiny -- --ignored --nocapture`. `CEILING_SESSIONS`, `CEILING_SECONDS` and
/// `CEILING_RUNS` and `CEILING_FRAMES_PER_WRITE` (e.g. `1,8,32`) override the defaults
/// (1000 sessions, 2 s, 3 runs, k = 1, 8, 32).
#[test]
#[ignore = "takes about 20 s and wants quiet CPUs; run by hand"]
fn ceiling_full_by_hand() {
    let env = |name: &str| std::env::var(name).ok();
    let mut options = CeilingOptions {
        sender_cpu: env("CEILING_SENDER_CPU").map(|cpu| cpu.parse().unwrap()),
        reader_cpus: env("CEILING_READER_CPUS")
            .map(|cpus| cpus.split(',').map(|cpu| cpu.parse().unwrap()).collect())
            .unwrap_or_default(),
        ..CeilingOptions::default()
    };
    if let Some(sessions) = env("CEILING_SESSIONS") {
        options.sessions = sessions.parse().unwrap();
    }
    if let Some(seconds) = env("CEILING_SECONDS") {
        options.seconds = seconds.parse().unwrap();
    }
    if let Some(ks) = env("CEILING_FRAMES_PER_WRITE") {
        options.frames_per_write = ks.split(',').map(|k| k.parse().unwrap()).collect();
    }
    if let Some(runs) = env("CEILING_RUNS") {
        options.runs = runs.parse().unwrap();
    }
    let report = run_ceiling(&options);
    println!(
        "{options:?}\n{}checksum {}",
        report.table(),
        report.checksum
    );
    assert!(report.rows.iter().all(|row| row.error.is_none()));
}
