//! Benchmark suite `wsframe_decode`: skeleton until its crate lands.

use crate::{Report, Size};

/// Runs the suite.
pub fn run(_size: Size) -> Report {
    Report { suite: "wsframe", table: String::new(), checksum: 0 }
}
