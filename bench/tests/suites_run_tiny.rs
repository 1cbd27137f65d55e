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

#[test]
fn fanout_suite_runs() {
    let report = bench::gateway_fanout::run(Size::Tiny);
    assert_eq!(report.suite, "fanout");
    assert!(report.table.contains("| Flux | 1 |"), "{}", report.table);
    assert!(!report.table.contains("failed:"), "{}", report.table);
    assert_ne!(report.checksum, 0);
}
