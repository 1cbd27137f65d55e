//! CPU time of this process's threads, split into load generator and server, so a table
//! can say whether the server or the client was the limit.
//!
//! Read from `/proc/self/task/*/stat` (utime + stime, in clock ticks, usually 10 ms): the
//! client's threads are the ones named `fanout-*` (receivers and publishers); every other
//! thread (Flux's reactors and store threads, the peer's tokio workers, the idle main
//! thread) counts as server. The main thread only sleeps while a run is measured, so it
//! adds next to nothing.

use std::time::Duration;

/// CPU time used so far, by role.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CpuTime {
    pub server: Duration,
    pub client: Duration,
}

impl CpuTime {
    /// Sums every thread's CPU time now; threads that ended since are not counted, so
    /// take both samples while the run's threads are alive.
    pub(super) fn sample() -> CpuTime {
        // SAFETY: sysconf only reads a configuration value.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        let mut total = CpuTime::default();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return total;
        };
        for task in tasks.flatten() {
            let path = task.path();
            let Some(ticks) = std::fs::read_to_string(path.join("stat"))
                .ok()
                .and_then(|stat| busy_ticks(&stat))
            else {
                continue;
            };
            let time = Duration::from_micros(ticks * 1_000_000 / ticks_per_second);
            let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            if name.starts_with("fanout-") {
                total.client += time;
            } else {
                total.server += time;
            }
        }
        total
    }

    /// What was used between `earlier` and `self`.
    pub(super) fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            server: self.server.saturating_sub(earlier.server),
            client: self.client.saturating_sub(earlier.client),
        }
    }
}

/// utime + stime from one `/proc/*/stat` line (fields 14 and 15; the name in field 2 may
/// hold spaces, so count from its closing parenthesis).
fn busy_ticks(stat: &str) -> Option<u64> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ticks_skips_a_name_with_spaces() {
        let stat = "42 (a b) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 9 0 0";
        assert_eq!(busy_ticks(stat), Some(12));
        assert_eq!(busy_ticks("garbage"), None);
    }
}
