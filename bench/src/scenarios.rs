//! Scenarios: one command each (`cargo run --release -p bench -- <scenario>`), each with a
//! progress bar, a markdown table on stdout, and a JSON file plus an SVG plot under
//! `--out` (default `docs/bench/`), so a result can be committed, diffed and looked at.
//!
//! - `fanout` (`fanout.rs`): deliveries/s and publish→deliver p99 against a rising offered
//!   rate, Flux and the peer in the same run (`crate::gateway_fanout` measures).
//! - `idle` (`idle.rs`): the server's user-space memory per idle identified session.
//! - `reconnect` (`reconnect.rs`): every connection dropped at once, then RESUME; then a
//!   SIGKILL and restart, then re-IDENTIFY: time until every session is back, and proof
//!   that nothing acknowledged was lost.
//! - `cores` (`cores.rs`): saturated sustained deliveries/s per server core count.
//! - `ceiling` (`ceiling.rs`): the loopback kernel ceiling (`crate::ceiling`) as a scenario.
//! - `soak` (`soak.rs`): healthy sessions and publishers against Flux while thousands of
//!   hostile connections (`crate::loadgen::hostile`) misbehave: nothing lost, RSS over time.
//!   Flux only, one run (there is no peer to compare: the peer defends nothing).
//!
//! Rules every scenario keeps: servers run as pinned child processes (`crate::servers`),
//! the load on other CPUs where the machine has them and labelled "co-located" where not;
//! medians over `runs` (3 by default); where both servers are measured the Flux ÷ peer
//! ratios come from the same invocation; every wait is bounded, so every scenario ends by
//! itself; a failed run is reported with its reason, never as a number.
//!
//! `output.rs` writes the files; `crate::plot` draws the charts.

pub mod ceiling;
pub mod cores;
pub mod fanout;
pub mod idle;
pub mod output;
pub mod reconnect;
pub mod soak;

pub use output::{Meta, Outcome, Written};
