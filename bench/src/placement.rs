//! Where benchmark processes and threads run, and what they cost: CPU lists, affinity, the
//! open-files limit, and CPU time and memory of a process read from `/proc`.
//!
//! Why this exists: a server benchmark is only honest when the server and the load
//! generator do not fight over the same CPUs, and when the report can show how much CPU
//! each side used. The `fanout` suite runs each server as a child process pinned to its
//! own CPUs (`servers.rs`) and the load generator's threads on the others (`loadgen/`);
//! both use these helpers.
//!
//! Affinity is per thread on Linux: `sched_setaffinity(0, …)` sets the calling thread's
//! mask, and threads started afterwards inherit it. A child that pins its main thread
//! before it starts any other thread therefore pins the whole process; Flux's reactors
//! then pin themselves inside that set (`engine::reactor::sys::allowed_cpus`).
//!
//! CPU time comes from `/proc/<pid>/stat` (utime + stime, in clock ticks, usually 10 ms:
//! good to 0.2 % over a 5 s window) and memory from `/proc/<pid>/status`. Run-queue wait
//! (time a thread was ready but another task had its CPU) comes from `schedstat`: on a
//! shared machine it tells a starved process from an idle one.

use std::io;
use std::mem::{size_of, MaybeUninit};

/// Parses a CPU list as Linux writes them (`0`, `0-3`, `0,2,4-7`) into ascending,
/// deduplicated CPU numbers.
///
/// ```
/// assert_eq!(bench::placement::parse_cpu_list("0,2,4-6").unwrap(), vec![0, 2, 4, 5, 6]);
/// assert!(bench::placement::parse_cpu_list("3-1").is_err());
/// ```
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!("empty entry in CPU list {text:?}"));
        }
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (parse_cpu(first, text)?, parse_cpu(last, text)?),
            None => {
                let cpu = parse_cpu(part, text)?;
                (cpu, cpu)
            }
        };
        if first > last {
            return Err(format!(
                "range {part:?} runs backwards in CPU list {text:?}"
            ));
        }
        cpus.extend(first..=last);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Writes CPUs back as a list `parse_cpu_list` reads, with ranges where they are
/// consecutive: `[0, 1, 2, 5]` → `"0-2,5"`.
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut index = 0;
    while index < sorted.len() {
        let first = sorted[index];
        let mut last = first;
        while index + 1 < sorted.len() && sorted[index + 1] == last + 1 {
            index += 1;
            last = sorted[index];
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
        index += 1;
    }
    parts.join(",")
}

/// Which CPUs a server under test gets and which its load generator gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuSplit {
    /// Server cores (Flux reactors, peer workers).
    pub cores: usize,
    /// CPUs the server process is pinned to.
    pub server_cpus: Vec<usize>,
    /// CPUs of the load generator, one thread each.
    pub load_cpus: Vec<usize>,
}

impl CpuSplit {
    /// Splits `available` for a server of `cores` cores: the server gets `server` (default:
    /// the first `cores` CPUs), the load gets `load` (default: every CPU the server does not
    /// use, or all of them when it uses every one, which [`CpuSplit::co_located`] then says).
    ///
    /// ```
    /// use bench::placement::CpuSplit;
    /// let split = CpuSplit::new(1, None, None, &[0, 1, 2]).unwrap();
    /// assert_eq!(split.label(), "server 0 / load 1-2");
    /// assert!(CpuSplit::new(2, None, None, &[0, 1]).unwrap().co_located());
    /// ```
    pub fn new(
        cores: usize,
        server: Option<&[usize]>,
        load: Option<&[usize]>,
        available: &[usize],
    ) -> Result<CpuSplit, String> {
        let server_cpus = match server {
            Some(cpus) => cpus.to_vec(),
            None => available.iter().copied().take(cores).collect(),
        };
        if server_cpus.is_empty() {
            return Err("no CPU to run the server on".into());
        }
        if server_cpus.len() < cores {
            return Err(format!(
                "{cores} core(s) skipped: only {} server CPU(s) ({})",
                server_cpus.len(),
                format_cpu_list(&server_cpus)
            ));
        }
        let load_cpus = match load {
            Some(cpus) => cpus.to_vec(),
            None => {
                let rest: Vec<usize> = available
                    .iter()
                    .copied()
                    .filter(|c| !server_cpus.contains(c))
                    .collect();
                if rest.is_empty() {
                    available.to_vec()
                } else {
                    rest
                }
            }
        };
        Ok(CpuSplit {
            cores,
            server_cpus,
            load_cpus,
        })
    }

    /// Whether the server and the load share a CPU: the numbers then include their fight.
    pub fn co_located(&self) -> bool {
        self.server_cpus
            .iter()
            .any(|cpu| self.load_cpus.contains(cpu))
    }

    /// `server 0 / load 1-3`, with ` (co-located)` when they share a CPU.
    pub fn label(&self) -> String {
        let mut label = format!(
            "server {} / load {}",
            format_cpu_list(&self.server_cpus),
            format_cpu_list(&self.load_cpus)
        );
        if self.co_located() {
            label.push_str(" (co-located)");
        }
        label
    }
}

/// The CPUs the calling thread may run on, ascending (empty if the kernel refuses to say).
pub fn allowed_cpus() -> Vec<usize> {
    let mut set = MaybeUninit::<libc::cpu_set_t>::zeroed();
    // SAFETY: `set` is a zeroed cpu_set_t and the size passed is its size.
    let result =
        unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), set.as_mut_ptr()) };
    if result != 0 {
        return Vec::new();
    }
    // SAFETY: sched_getaffinity returned 0, so it wrote the whole set.
    let set = unsafe { set.assume_init() };
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the bound CPU_ISSET requires.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// Restricts the calling thread, and every thread it starts afterwards, to `cpus`.
///
/// Called first thing in a child process, before any other thread exists, this places
/// the whole process.
pub fn set_process_affinity(cpus: &[usize]) -> io::Result<()> {
    if cpus.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty CPU set would leave the thread nowhere to run",
        ));
    }
    if let Some(&cpu) = cpus.iter().find(|&&cpu| cpu >= libc::CPU_SETSIZE as usize) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU {cpu} is beyond CPU_SETSIZE"),
        ));
    }
    // SAFETY: a zeroed cpu_set_t is the empty set (it is plain integers).
    let mut set = unsafe { MaybeUninit::<libc::cpu_set_t>::zeroed().assume_init() };
    for &cpu in cpus {
        // SAFETY: every cpu was checked against CPU_SETSIZE above.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is an initialised cpu_set_t and the size passed is its size.
    let result = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Pins the calling thread to one CPU (a load generator thread per load CPU).
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    set_process_affinity(&[cpu])
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit and returns the new soft
/// limit. Thousands of sessions need thousands of descriptors; raising the soft limit up
/// to the hard one needs no privilege.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the valid, writable struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads one valid rlimit struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// CPU seconds (user + system) process `pid` has used so far, all its threads together.
pub fn process_cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = parse_stat_cpu_ticks(&stat).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected /proc/{pid}/stat"),
        )
    })?;
    Ok(ticks as f64 / clock_ticks_per_second())
}

/// CPU seconds (user + system) this process has used so far, to the microsecond.
pub fn own_cpu_seconds() -> f64 {
    rusage_seconds(libc::RUSAGE_SELF)
}

/// CPU seconds (user + system) the calling thread has used so far, to the microsecond.
pub fn thread_cpu_seconds() -> f64 {
    rusage_seconds(libc::RUSAGE_THREAD)
}

/// Nanosecond scheduler accounting of one thread, from `schedstat`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SchedStat {
    /// Seconds on a CPU.
    pub on_cpu_s: f64,
    /// Seconds runnable but waiting for a CPU (another task had it).
    pub waiting_s: f64,
}

/// The calling thread's scheduler accounting (`/proc/thread-self/schedstat`).
pub fn thread_schedstat() -> io::Result<SchedStat> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    parse_schedstat(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected schedstat"))
}

/// Seconds the threads of process `pid` spent runnable but waiting for a CPU, all threads
/// together (threads that already exited are not counted).
pub fn process_waiting_seconds(pid: u32) -> io::Result<f64> {
    let mut total = 0.0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may exit between the listing and the read.
        if let Some(stat) = std::fs::read_to_string(path)
            .ok()
            .as_deref()
            .and_then(parse_schedstat)
        {
            total += stat.waiting_s;
        }
    }
    Ok(total)
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rss {
    /// `VmRSS`: every resident page, file-backed (the binary) included.
    pub total_bytes: u64,
    /// `RssAnon`: resident anonymous memory (heap, stacks), what sessions cost; `None` on
    /// kernels that do not report it.
    pub anon_bytes: Option<u64>,
}

/// The resident memory of process `pid`.
pub fn process_rss(pid: u32) -> io::Result<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_rss(&status).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no VmRSS in /proc/{pid}/status"),
        )
    })
}

fn parse_cpu(text: &str, list: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a CPU number in CPU list {list:?}"))
}

/// utime + stime from one `/proc/<pid>/stat` line. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted from the last `)`.
fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    // After the name: state is field 3, utime field 14 and stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `on_cpu_ns waiting_ns timeslices`.
fn parse_schedstat(text: &str) -> Option<SchedStat> {
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let on_cpu = fields.next()?.ok()?;
    let waiting = fields.next()?.ok()?;
    Some(SchedStat {
        on_cpu_s: on_cpu as f64 / 1e9,
        waiting_s: waiting as f64 / 1e9,
    })
}

fn parse_status_rss(status: &str) -> Option<Rss> {
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    Some(Rss {
        total_bytes: kib("VmRSS:")?,
        anon_bytes: kib("RssAnon:"),
    })
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0 // The value on every Linux configuration in practice.
    }
}

fn rusage_seconds(who: libc::c_int) -> f64 {
    let mut usage = MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one rusage into the valid, writable struct passed.
    if unsafe { libc::getrusage(who, usage.as_mut_ptr()) } != 0 {
        return 0.0;
    }
    // SAFETY: getrusage returned 0, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_like_the_kernel_writes_them() {
        let cases: &[(&str, &[usize])] = &[
            ("0", &[0]),
            ("0-3", &[0, 1, 2, 3]),
            ("0,2,4-7", &[0, 2, 4, 5, 6, 7]),
            (" 3 , 1 ", &[1, 3]),
            ("1,1,0-1", &[0, 1]),
            ("5-5", &[5]),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_cpu_list(text).as_deref(), Ok(*expected), "{text:?}");
        }
    }

    #[test]
    fn bad_cpu_lists_say_what_is_wrong() {
        for text in ["", "a", "1,", "3-1", "1-", "-2", "0,,1"] {
            assert!(parse_cpu_list(text).is_err(), "{text:?} should not parse");
        }
        assert!(parse_cpu_list("3-1").unwrap_err().contains("backwards"));
    }

    #[test]
    fn cpu_lists_round_trip_through_their_short_form() {
        assert_eq!(format_cpu_list(&[0, 1, 2, 5]), "0-2,5");
        assert_eq!(format_cpu_list(&[7]), "7");
        assert_eq!(format_cpu_list(&[3, 1, 2, 9, 10]), "1-3,9-10");
        for cpus in [vec![0], vec![0, 2, 4], vec![1, 2, 3, 7, 8]] {
            assert_eq!(parse_cpu_list(&format_cpu_list(&cpus)).unwrap(), cpus);
        }
    }

    #[test]
    fn stat_ticks_skip_a_command_name_with_spaces_and_parentheses() {
        let stat = "42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 9 0 0";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(12));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn status_rss_reads_total_and_anonymous_memory() {
        let status = "Name:\tflux\nVmRSS:\t   2048 kB\nRssAnon:\t    1024 kB\nRssFile:\t 1024 kB\n";
        assert_eq!(
            parse_status_rss(status),
            Some(Rss {
                total_bytes: 2048 * 1024,
                anon_bytes: Some(1024 * 1024)
            })
        );
        assert_eq!(parse_status_rss("Name:\tx\n"), None);
    }

    #[test]
    fn schedstat_gives_cpu_and_wait_in_seconds() {
        assert_eq!(
            parse_schedstat("2000000000 500000000 7\n"),
            Some(SchedStat {
                on_cpu_s: 2.0,
                waiting_s: 0.5
            })
        );
        assert_eq!(parse_schedstat("x"), None);
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(5) {}
        assert!(thread_schedstat().unwrap().on_cpu_s > 0.0);
        assert!(process_waiting_seconds(std::process::id()).unwrap() >= 0.0);
    }

    #[test]
    fn this_process_reports_cpu_and_memory() {
        let pid = std::process::id();
        assert!(process_cpu_seconds(pid).unwrap() >= 0.0);
        assert!(process_rss(pid).unwrap().total_bytes > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(20) {}
        assert!(thread_cpu_seconds() > 0.0);
        assert!(own_cpu_seconds() >= thread_cpu_seconds());
    }

    #[test]
    fn a_thread_can_be_pinned_to_a_cpu_it_may_use() {
        let cpus = allowed_cpus();
        assert!(!cpus.is_empty());
        let last = *cpus.last().unwrap();
        std::thread::spawn(move || {
            pin_current_thread(last).unwrap();
            assert_eq!(allowed_cpus(), vec![last]);
        })
        .join()
        .unwrap();
        assert!(set_process_affinity(&[]).is_err());
    }
}
