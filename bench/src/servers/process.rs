//! The parent side: start a `bench serve …` child, learn its address, measure it, end it.
//!
//! Invariants:
//! - A `ServerProcess` always has a live or reaped child; dropping it kills (SIGKILL) and
//!   reaps, so no benchmark leaves a server behind, even when it fails half way.
//! - The child's stdout is drained for its whole life (a thread forwards any line after
//!   `LISTENING` to stderr), so a chatty server never blocks on a full pipe.
//! - Waiting for `LISTENING` is bounded by `START_TIMEOUT`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::ServerKind;
use crate::placement::{self, Rss};

/// How long a child may take to print `LISTENING` (Flux loads its world first).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The executable that has the `serve` subcommand: this one, when it is `bench`. Tests
/// run inside a test harness and pass `env!("CARGO_BIN_EXE_bench")` instead.
pub fn bench_executable() -> io::Result<PathBuf> {
    std::env::current_exe()
}

/// A server under test running in a child process.
#[derive(Debug)]
pub struct ServerProcess {
    /// The child's process id (for `/proc/<pid>`).
    pub pid: u32,
    /// Where it listens: gateway and REST on the same port.
    pub addr: SocketAddr,
    /// The CPUs it is pinned to.
    pub cpus: Vec<usize>,
    child: Child,
    stdin: Option<ChildStdin>,
    reaped: bool,
}

impl ServerProcess {
    /// Starts `exe serve <kind> --cpus <cpus> …` and waits until it listens.
    ///
    /// A server that says it cannot run (the peer before it exists, a Flux that cannot
    /// open its data dir) is an `ErrorKind::Unsupported` error carrying its reason.
    pub fn spawn(exe: &Path, kind: &ServerKind, cpus: &[usize]) -> io::Result<ServerProcess> {
        let mut command = Command::new(exe);
        command
            .arg("serve")
            .arg(kind.name())
            .arg("--cpus")
            .arg(placement::format_cpu_list(cpus));
        match kind {
            ServerKind::Flux {
                cores,
                data_dir,
                io,
                listen,
                heartbeat_interval_ms,
            } => {
                let io = match io {
                    engine::IoBackend::Uring => "uring",
                    engine::IoBackend::Epoll => "epoll",
                };
                command
                    .arg("--cores")
                    .arg(cores.to_string())
                    .arg("--data-dir")
                    .arg(data_dir)
                    .arg("--io")
                    .arg(io);
                if let Some(listen) = listen {
                    command.arg("--listen").arg(listen.to_string());
                }
                if let Some(ms) = heartbeat_interval_ms {
                    command.arg("--heartbeat-interval-ms").arg(ms.to_string());
                }
            }
            ServerKind::Peer { workers, listen } => {
                command.arg("--workers").arg(workers.to_string());
                if let Some(listen) = listen {
                    command.arg("--listen").arg(listen.to_string());
                }
            }
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting {}: {e}", exe.display())))?;
        let pid = child.id();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout was piped above");
        let mut process = ServerProcess {
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            cpus: cpus.to_vec(),
            child,
            stdin,
            reaped: false,
        };
        process.addr = process.wait_listening(stdout, kind.name())?;
        Ok(process)
    }

    /// CPU seconds the server has used so far (all its threads).
    pub fn cpu_seconds(&self) -> io::Result<f64> {
        placement::process_cpu_seconds(self.pid)
    }

    /// The server's resident memory now.
    pub fn rss(&self) -> io::Result<Rss> {
        placement::process_rss(self.pid)
    }

    /// The server's resident memory now (`VmRSS`), in bytes.
    pub fn rss_bytes(&self) -> io::Result<u64> {
        self.rss().map(|rss| rss.total_bytes)
    }

    /// Kills the server at once (SIGKILL: no flush, no goodbye, as a crash) and reaps it.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        if !self.reaped {
            // Already exited is fine: wait() below reaps it either way.
            let _ = self.child.kill();
        }
        self.reap()
    }

    /// Asks the server to stop (closes its stdin: Flux shuts down gracefully), waits up
    /// to `grace`, then kills it.
    pub fn shutdown(mut self, grace: Duration) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                self.reaped = true;
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill()
    }

    fn reap(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }

    /// Reads the child's first stdout line (bounded), then keeps draining stdout.
    fn wait_listening(
        &mut self,
        stdout: std::process::ChildStdout,
        name: &str,
    ) -> io::Result<SocketAddr> {
        let (first_line, first_line_rx) = mpsc::channel::<String>();
        let prefix = format!("[{name} {}] ", self.pid);
        std::thread::Builder::new()
            .name(format!("{name}-stdout"))
            .spawn(move || {
                let mut lines = BufReader::new(stdout).lines();
                if let Some(Ok(line)) = lines.next() {
                    let _ = first_line.send(line);
                }
                for line in lines.map_while(Result::ok) {
                    let _ = writeln!(io::stderr(), "{prefix}{line}");
                }
            })?;
        let line = match first_line_rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{name} server printed nothing in {START_TIMEOUT:?}"),
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = self.reap()?;
                return Err(io::Error::other(format!(
                    "{name} server exited before listening ({status})"
                )));
            }
        };
        parse_first_line(&line, name)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.kill();
        }
    }
}

/// `LISTENING addr` → the address; `UNAVAILABLE why` → an `Unsupported` error.
fn parse_first_line(line: &str, name: &str) -> io::Result<SocketAddr> {
    if let Some(addr) = line.strip_prefix("LISTENING ") {
        return addr.trim().parse().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{name} server announced {addr:?}: {e}"),
            )
        });
    }
    if let Some(why) = line.strip_prefix("UNAVAILABLE ") {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            why.trim().to_string(),
        ));
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{name} server printed {line:?} where LISTENING was expected"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_gives_the_address_or_the_reason() {
        assert_eq!(
            parse_first_line("LISTENING 127.0.0.1:4242", "flux").unwrap(),
            "127.0.0.1:4242".parse().unwrap()
        );
        let unavailable = parse_first_line("UNAVAILABLE peer not built yet", "peer").unwrap_err();
        assert_eq!(unavailable.kind(), io::ErrorKind::Unsupported);
        assert_eq!(unavailable.to_string(), "peer not built yet");
        assert!(parse_first_line("hello", "flux").is_err());
        assert!(parse_first_line("LISTENING nowhere", "flux").is_err());
    }
}
