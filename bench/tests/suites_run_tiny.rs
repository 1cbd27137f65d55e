//! Every benchmark suite runs at its tiny size in the test suite, so none can rot, and
//! each must report a non-zero checksum: proof that the measured work really happened.

use bench::Size;

#[test]
fn wsframe_decode_suite_runs() {
    let report = bench::wsframe_decode::run(Size::Tiny);
    assert_eq!(report.suite, "wsframe");
    assert!(report.table.contains('|'), "{}", report.table);
    assert_ne!(report.checksum, 0);
}

#[test]
fn ring_suite_runs() {
    let report = bench::ring::run(Size::Tiny);
    assert_eq!(report.suite, "ring");
    assert!(report.table.contains('|'), "{}", report.table);
    assert_ne!(report.checksum, 0);
}

/// Flux in a child process, the lean load generator in this one: a few sessions, a few
/// posts, every delivery checked. The peer row is either measured or, until the peer
/// exists, marked unavailable; it never fails the test by being absent.
#[test]
fn fanout_suite_runs() {
    let options = bench::gateway_fanout::Options {
        // This process is the test harness; the `serve` subcommand lives in `bench`.
        server_exe: Some(env!("CARGO_BIN_EXE_bench").into()),
        ..bench::gateway_fanout::Options::for_size(Size::Tiny)
    };
    let report = bench::gateway_fanout::run_with(&options);
    assert_eq!(report.suite, "fanout");
    assert!(report.table.contains("| Flux | 1 |"), "{}", report.table);
    assert!(
        report.table.contains("| 1/1 |"),
        "one run passed: {}",
        report.table
    );
    assert!(!report.table.contains("failed:"), "{}", report.table);
    assert!(
        report.table.contains("| peer (tokio) | 1 |"),
        "the peer has a row, measured or unavailable: {}",
        report.table
    );
    // 4 sessions × 10 posts, each counted as seq + 1 per session: 4 × (1 + … + 10), once
    // per server measured (Flux, and the peer unless it is unavailable).
    let servers = if report.table.contains("unavailable") {
        1
    } else {
        2
    };
    assert_eq!(report.checksum, servers * 4 * 55, "{}", report.table);
}

/// Flux's `Sfu`, the tokio peer and the no-crypto ceiling, each forwarding a few hundred
/// sealed packets on loopback; every received packet is opened and checked, and a wrong
/// one fails its run.
#[test]
fn sfu_suite_runs() {
    let report = bench::sfu_forward::run(Size::Tiny);
    assert_eq!(report.suite, "sfu");
    for server in ["Flux `Sfu`", "tokio UdpSocket", "ceiling"] {
        for scenario in ["1 channel: 2 speakers", "3 channels × 3"] {
            let row = report
                .table
                .lines()
                .find(|line| line.contains(server) && line.contains(scenario))
                .unwrap_or_else(|| panic!("no row for {server} / {scenario}:\n{}", report.table));
            assert!(row.contains("| 1/1 |"), "the run passed: {row}");
            assert!(!row.contains("WRONG"), "{row}");
        }
    }
    assert_ne!(report.checksum, 0);
}
