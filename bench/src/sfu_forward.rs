//! Benchmark suite `sfu`: encrypted RTP packets forwarded per second on one core, for
//! Flux's `Sfu` and its peers in the same run.
//!
//! Scenarios (the roster, `roster.rs`):
//! - **one big channel**: 10 speakers and 200 listeners; each packet fans out to 209.
//! - **many small channels**: 100 channels of 5 members, all speaking; fan-out 4.
//!
//! Servers, each on one thread pinned to the server CPU with one UDP socket on loopback:
//! - **Flux**: `sfu::Sfu` behind a `recvmmsg`/`sendmmsg` loop (`flux.rs`);
//! - **tokio**: a straightforward tokio `UdpSocket` forwarder doing the same decrypt and
//!   re-encrypt (`tokio_peer.rs`);
//! - **ceiling**: the same batched loop with no cryptography (`ceiling_loop.rs`), the
//!   kernel's limit for this traffic on this machine.
//!
//! Load (`load.rs`): one thread pinned to the load CPU sends sealed 60–160 byte payloads
//! (20 ms Opus sizes) from every speaker at a fixed rate, counts what reaches members, and
//! opens one packet in `verify_every` to check it byte for byte under the right key.
//!
//! Method: runs are interleaved (run 1 of every server, then run 2, …) so a noisy
//! neighbour hurts all alike. Each server meters itself from the first media packet in to
//! the last datagram out (`Meter`). Per run, "forwarded/s" is what its `sendmmsg` or
//! `send_to` accepted in that window divided by its length; "per CPU-second" divides the
//! same count by the server thread's own CPU time in the window (user + system,
//! `RUSAGE_THREAD`): the per-core capacity when the server is saturated (server CPU near
//! 100%), and still comparable when it is not. "delivered" is what reached the members
//! over what the speakers sent times the fan-out: below 100% when the offer exceeds what
//! the server forwards (the kernel drops the excess at the server's socket).
//! The table shows medians over runs, and Flux's per-run ratio to each peer, median of
//! those. On loopback the kernel delivers each datagram into the receiver's socket in the
//! sender's system call, so the server's CPU time includes that delivery: equally for
//! every server.

mod ceiling_loop;
mod flux;
mod load;
mod roster;
mod sys;
mod tokio_peer;

use std::fmt::Write as _;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sfu::Mode;

pub use load::{LoadOptions, LoadResult, Verify};
pub use roster::Roster;

use crate::{Report, Size};

/// What one server thread did.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerStats {
    /// Datagrams it received.
    pub datagrams: u64,
    /// Datagrams the kernel accepted from it after the first media packet arrived.
    pub sent: u64,
    /// CPU seconds of its thread from the first media packet to the end.
    pub cpu_seconds: f64,
    /// Seconds from the first media packet in to the last datagram out: the window in
    /// which `sent` happened, backlog drained after the load stopped included.
    pub active_seconds: f64,
}

/// Measures a server from its first media datagram (anything but IP discovery) to its
/// last send, so discovery and idle waiting at either end do not dilute the rates.
#[derive(Debug, Default)]
struct Meter {
    start: Option<(Instant, f64)>,
    last_send: Option<Instant>,
    stats: ServerStats,
}

impl Meter {
    /// A datagram batch arrived; `media` when any of it was not IP discovery.
    fn received(&mut self, datagrams: usize, media: bool) {
        self.stats.datagrams += datagrams as u64;
        if media && self.start.is_none() {
            self.start = Some((Instant::now(), crate::placement::thread_cpu_seconds()));
        }
    }

    /// `count` datagrams were accepted by the kernel just now.
    fn sent(&mut self, count: usize) {
        if count > 0 && self.start.is_some() {
            self.stats.sent += count as u64;
            self.last_send = Some(Instant::now());
        }
    }

    fn finish(mut self) -> ServerStats {
        if let (Some((start, cpu)), Some(last)) = (self.start, self.last_send) {
            self.stats.cpu_seconds = crate::placement::thread_cpu_seconds() - cpu;
            self.stats.active_seconds = (last - start).as_secs_f64();
        }
        self.stats
    }
}

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// `sfu::Sfu` in a `recvmmsg`/`sendmmsg` loop.
    Flux,
    /// A tokio `UdpSocket` forwarder.
    Tokio,
    /// The no-crypto batched loop.
    Ceiling,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Flux => "Flux `Sfu` (recvmmsg/sendmmsg)",
            Server::Tokio => "tokio UdpSocket forwarder",
            Server::Ceiling => "ceiling: no crypto, recvmmsg/sendmmsg",
        }
    }
}

/// One scenario: a roster and the rate each speaker sends at.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The members.
    pub roster: Roster,
    /// Packets per second per speaker.
    pub rate_per_speaker: f64,
}

/// The suite's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scenarios, each measured with every server.
    pub scenarios: Vec<Scenario>,
    /// The servers.
    pub servers: Vec<Server>,
    /// Runs per (scenario, server).
    pub runs: usize,
    /// Length of each run's send phase.
    pub duration: Duration,
    /// CPU of the server thread (`None`: not pinned).
    pub server_cpu: Option<usize>,
    /// CPU of the load thread (`None`: not pinned).
    pub load_cpu: Option<usize>,
    /// Open and check one received packet in this many.
    pub verify_every: u64,
}

impl Options {
    /// Full size: both scenarios, rates that offer well beyond 150k forwards a second,
    /// 3 runs of 3 s; server on CPU 0 and load on CPU 1 when the machine has two.
    /// Tiny: small channels, a few hundred packets, one run, nothing pinned.
    pub fn for_size(size: Size) -> Options {
        let mode = Mode::AeadXChaCha20Poly1305RtpSize;
        match size {
            Size::Full => {
                let cpus = crate::placement::allowed_cpus();
                let two = cpus.len() >= 2;
                Options {
                    scenarios: vec![
                        Scenario {
                            roster: Roster::new(
                                "1 channel: 10 speakers, 200 listeners".into(),
                                mode,
                                1,
                                10,
                                200,
                            ),
                            rate_per_speaker: 200.0,
                        },
                        Scenario {
                            roster: Roster::new(
                                "100 channels × 5, all speaking".into(),
                                mode,
                                100,
                                5,
                                0,
                            ),
                            rate_per_speaker: 200.0,
                        },
                    ],
                    servers: vec![Server::Flux, Server::Tokio, Server::Ceiling],
                    runs: 3,
                    duration: Duration::from_secs(3),
                    server_cpu: two.then(|| cpus[0]),
                    load_cpu: two.then(|| cpus[1]),
                    verify_every: 997,
                }
            }
            Size::Tiny => Options {
                scenarios: vec![
                    Scenario {
                        roster: Roster::new(
                            "1 channel: 2 speakers, 4 listeners".into(),
                            mode,
                            1,
                            2,
                            4,
                        ),
                        rate_per_speaker: 500.0,
                    },
                    Scenario {
                        roster: Roster::new(
                            "3 channels × 3, all speaking".into(),
                            Mode::AeadAes256GcmRtpSize,
                            3,
                            3,
                            0,
                        ),
                        rate_per_speaker: 200.0,
                    },
                ],
                servers: vec![Server::Flux, Server::Tokio, Server::Ceiling],
                runs: 1,
                duration: Duration::from_millis(200),
                server_cpu: None,
                load_cpu: None,
                verify_every: 1,
            },
        }
    }
}

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Run {
    server: ServerStats,
    load: LoadResult,
}

impl Run {
    fn forwarded_per_second(&self) -> f64 {
        self.server.sent as f64 / self.server.active_seconds.max(1e-9)
    }

    fn forwarded_per_cpu_second(&self) -> f64 {
        self.server.sent as f64 / self.server.cpu_seconds.max(1e-9)
    }
}

/// Runs the suite at `size`.
pub fn run(size: Size) -> Report {
    run_with(&Options::for_size(size))
}

/// Runs the suite with `options`.
pub fn run_with(options: &Options) -> Report {
    let mut table = String::new();
    let _ = writeln!(
        table,
        "Server CPU {}, load CPU {}; {} s per run, {} runs, medians; mode {}.\n",
        options
            .server_cpu
            .map_or("unpinned".into(), |c| c.to_string()),
        options
            .load_cpu
            .map_or("unpinned".into(), |c| c.to_string()),
        options.duration.as_secs_f64(),
        options.runs,
        options
            .scenarios
            .first()
            .map_or("-", |s| s.roster.mode.name()),
    );
    table.push_str(
        "| scenario | server | runs ok | offered in/s | forwarded/s | forwarded per server CPU-s | server CPU | delivered | verified | Flux ÷ this (per CPU-s) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut checksum = 0u64;
    for scenario in &options.scenarios {
        let mut results: Vec<Vec<Result<Run, String>>> = vec![Vec::new(); options.servers.len()];
        for _ in 0..options.runs {
            for (slot, &server) in options.servers.iter().enumerate() {
                results[slot].push(measure(options, scenario, server));
            }
        }
        let flux = options.servers.iter().position(|&s| s == Server::Flux);
        for (slot, &server) in options.servers.iter().enumerate() {
            let ok: Vec<Run> = results[slot]
                .iter()
                .filter_map(|r| r.as_ref().ok().copied())
                .collect();
            let failures: Vec<&String> = results[slot]
                .iter()
                .filter_map(|r| r.as_ref().err())
                .collect();
            for run in &ok {
                checksum = checksum.wrapping_add(run.load.received + run.load.verified);
            }
            if ok.is_empty() {
                let _ = writeln!(
                    table,
                    "| {} | {} | 0/{} | failed: {} | | | | | | |",
                    scenario.roster.name,
                    server.name(),
                    options.runs,
                    failures.first().map_or("", |s| s.as_str())
                );
                continue;
            }
            let offered = median(ok.iter().map(|r| r.load.sent as f64 / r.load.send_seconds));
            let forwarded = median(ok.iter().map(Run::forwarded_per_second));
            let per_cpu = median(ok.iter().map(Run::forwarded_per_cpu_second));
            let cpu = median(
                ok.iter()
                    .map(|r| r.server.cpu_seconds / r.server.active_seconds.max(1e-9)),
            );
            let expected: u64 = ok
                .iter()
                .map(|r| r.load.sent * scenario.roster.fanout() as u64)
                .sum();
            let received: u64 = ok.iter().map(|r| r.load.received).sum();
            let verified: u64 = ok.iter().map(|r| r.load.verified).sum();
            let bad: u64 = ok.iter().map(|r| r.load.verify_failures).sum();
            let ratio = match flux {
                Some(flux) if flux != slot => {
                    let ratios =
                        results[flux]
                            .iter()
                            .zip(&results[slot])
                            .filter_map(|(a, b)| match (a, b) {
                                (Ok(a), Ok(b)) => Some(
                                    a.forwarded_per_cpu_second() / b.forwarded_per_cpu_second(),
                                ),
                                _ => None,
                            });
                    format!("{:.2}×", median(ratios))
                }
                _ => "—".into(),
            };
            let _ = writeln!(
                table,
                "| {} | {} | {}/{} | {} | {} | {} | {:.0}% | {:.1}% | {}{} | {} |",
                scenario.roster.name,
                server.name(),
                ok.len(),
                options.runs,
                thousands(offered),
                thousands(forwarded),
                thousands(per_cpu),
                cpu * 100.0,
                100.0 * received as f64 / expected.max(1) as f64,
                verified,
                if bad > 0 {
                    format!(" ({bad} WRONG)")
                } else {
                    String::new()
                },
                ratio,
            );
        }
    }
    Report {
        suite: "sfu",
        table,
        checksum,
    }
}

/// One run of `server` under `scenario`.
fn measure(options: &Options, scenario: &Scenario, server: Server) -> Result<Run, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("server socket: {e}"))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| format!("server socket timeout: {e}"))?;
    sys::set_buffer_sizes(socket.as_raw_fd(), 8 << 20);
    let address = socket.local_addr().map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let roster = Arc::new(scenario.roster.clone());
    let server_thread = {
        let (stop, roster, cpu) = (Arc::clone(&stop), Arc::clone(&roster), options.server_cpu);
        std::thread::Builder::new()
            .name("sfu-server".into())
            .spawn(move || {
                if let Some(cpu) = cpu {
                    let _ = crate::placement::pin_current_thread(cpu);
                }
                match server {
                    Server::Flux => flux::serve(&socket, &roster, &stop),
                    Server::Tokio => tokio_peer::serve(socket, &roster, &stop),
                    Server::Ceiling => ceiling_loop::serve(&socket, &roster, &stop),
                }
            })
            .map_err(|e| format!("server thread: {e}"))?
    };
    let load_options = LoadOptions {
        rate_per_speaker: scenario.rate_per_speaker,
        duration: options.duration,
        verify_every: options.verify_every,
    };
    let verify = if server == Server::Ceiling {
        Verify::SenderKey
    } else {
        Verify::RecipientKey
    };
    let load_thread = {
        let (roster, cpu) = (Arc::clone(&roster), options.load_cpu);
        std::thread::Builder::new()
            .name("sfu-load".into())
            .spawn(move || {
                if let Some(cpu) = cpu {
                    let _ = crate::placement::pin_current_thread(cpu);
                }
                load::run(address, &roster, &load_options, verify)
            })
            .map_err(|e| {
                stop.store(true, Ordering::Relaxed); // The server thread ends within 20 ms.
                format!("load thread: {e}")
            })?
    };
    // Stop the server whatever became of the load, so no run leaves a thread behind.
    let load = load_thread.join();
    stop.store(true, Ordering::Relaxed);
    let server = server_thread
        .join()
        .map_err(|_| "server thread panicked".to_string())?;
    let load = load.map_err(|_| "load thread panicked".to_string())??;
    if load.verify_failures > 0 {
        return Err(format!("{} packets opened wrong", load.verify_failures));
    }
    Ok(Run { server, load })
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn thousands(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1} k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}
