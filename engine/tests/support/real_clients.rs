//! Running the real Discord client libraries against a `flux` process.
//!
//! The libraries are the judges of compatibility (CLIENTS.md), so these tests start the
//! real `flux` binary, not an in-process server, and run each library's unmodified code
//! from `clients/`: Python scripts with the venv's interpreter (`FLUX_PYTHON`), Node
//! scripts with `node` next to `clients/node/node_modules` (`FLUX_NODE_CLIENTS`).
//! `scripts/test` installs both and sets both variables. Without them a test fails under CI
//! (`CI=true`), because a compatibility check that quietly did not run proves nothing, and
//! skips with a loud message elsewhere.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one client script may run before it is killed and the test fails.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(90);

/// The language a client library is written in.
#[derive(Debug, Clone, Copy)]
pub enum Runtime {
    /// discord.py, hikari: scripts under `clients/python/`.
    Python,
    /// discord.js: scripts under `clients/node/`.
    Node,
}

/// The repository root (the workspace), where `clients/` lives.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine/ sits in the workspace root")
}

/// The interpreter for `runtime`, or `None` (after a loud message) when the libraries are
/// not installed and this is not CI.
pub fn interpreter(runtime: Runtime, test: &str) -> Option<PathBuf> {
    let (variable, found) = match runtime {
        Runtime::Python => (
            "FLUX_PYTHON",
            std::env::var_os("FLUX_PYTHON").map(PathBuf::from),
        ),
        Runtime::Node => (
            "FLUX_NODE_CLIENTS",
            std::env::var_os("FLUX_NODE_CLIENTS").map(|_| PathBuf::from("node")),
        ),
    };
    if found.is_some() {
        return found;
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1") {
        panic!("{variable} is not set under CI: run scripts/test (it installs the clients)");
    }
    eprintln!(
        "\n!!!!!!!! SKIPPED {test}: {variable} is not set. Run scripts/install-clients and set \
         FLUX_PYTHON=.venv/bin/python FLUX_NODE_CLIENTS=clients/node, or run scripts/test. \
         !!!!!!!!\n"
    );
    None
}

/// A `flux serve` process on an ephemeral port with its own data directory, killed and
/// cleaned up when dropped.
pub struct FluxProcess {
    child: Child,
    data_dir: PathBuf,
    log_path: PathBuf,
    io: String,
    extra_args: Vec<String>,
}

impl FluxProcess {
    /// Starts `flux serve --cores 2 --test-hooks --io <io>` and waits for `bootstrap.json`.
    pub fn spawn(io: &str, label: &str) -> FluxProcess {
        FluxProcess::spawn_with(io, label, &[])
    }

    /// [`FluxProcess::spawn`] with more `flux serve` arguments (e.g.
    /// `--no-rest-rate-limits`).
    pub fn spawn_with(io: &str, label: &str, extra_args: &[&str]) -> FluxProcess {
        let data_dir =
            std::env::temp_dir().join(format!("flux-{label}-{}-{io}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        let log_path = data_dir.with_extension("log");
        let extra_args: Vec<String> = extra_args.iter().map(|arg| arg.to_string()).collect();
        let child = start_flux(io, &data_dir, &log_path, "127.0.0.1:0", &extra_args, false);
        let server = FluxProcess {
            child,
            data_dir,
            log_path,
            io: io.to_string(),
            extra_args,
        };
        let started = Instant::now();
        while !server.bootstrap().exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no bootstrap.json; flux log:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50)); // Written atomically; the cores start.
        server
    }

    /// A server whose data dir `prepare` changed offline after a first run (for example
    /// with `flux admin create-bot`): starts, waits for the first run's set-up, kills it,
    /// runs `prepare(data_dir)`, drops `bootstrap.json` and starts again on a fresh port,
    /// whose `bootstrap.json` then describes the prepared world.
    pub fn spawn_prepared(io: &str, label: &str, prepare: impl FnOnce(&Path)) -> FluxProcess {
        let mut server = FluxProcess::spawn(io, label);
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reaped");
        prepare(&server.data_dir);
        std::fs::remove_file(server.bootstrap()).expect("bootstrap.json");
        server.child = start_flux(
            io,
            &server.data_dir,
            &server.log_path,
            "127.0.0.1:0",
            &server.extra_args,
            true,
        );
        let started = Instant::now();
        while !server.bootstrap().exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no bootstrap.json after the restart; flux log:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50));
        server
    }

    /// Runs `flux admin --data-dir <this server's> <args>` (the server must be stopped)
    /// and returns its standard output.
    pub fn admin(data_dir: &Path, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_flux"))
            .arg("admin")
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .output()
            .expect("flux admin runs");
        assert!(
            output.status.success(),
            "flux admin {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    /// Kills the process with SIGKILL (no shutdown, no flush beyond what each answer
    /// promised), then starts `flux serve` again on the same data dir and the same port
    /// (`bootstrap.json`, kept from the first run, names it) and waits until it listens.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        let base_url = read_base_url(&self.bootstrap());
        let addr: std::net::SocketAddr = base_url
            .trim_start_matches("http://")
            .parse()
            .expect("base_url is http://IP:PORT");
        // A process killed while io_uring ops are in flight keeps its listening sockets in
        // the port's SO_REUSEPORT group until the kernel tears the ring down, shortly after
        // it is reaped (see messages_survive_kill.rs); wait before reusing the port.
        std::thread::sleep(Duration::from_millis(300));
        self.child = start_flux(
            &self.io,
            &self.data_dir,
            &self.log_path,
            &addr.to_string(),
            &self.extra_args,
            true,
        );
        let started = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "flux does not listen again; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id (for `/proc/<pid>`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's data directory (its TLS certificate is under `tls/`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `<data-dir>/bootstrap.json`: URLs, the demo guild and the bots' tokens.
    pub fn bootstrap(&self) -> PathBuf {
        self.data_dir.join("bootstrap.json")
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

/// Starts `flux serve` on `data_dir`, its stderr appended to (or, for a first start,
/// written to) `log_path`.
fn start_flux(
    io: &str,
    data_dir: &Path,
    log_path: &Path,
    listen: &str,
    extra_args: &[String],
    append_log: bool,
) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append_log)
        .truncate(!append_log)
        .open(log_path)
        .expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_flux"));
    command.args(["serve", "--listen", listen, "--cores", "2", "--test-hooks"]);
    if !listen.ends_with(":0") {
        // A fixed port (a restart): its voice ports (port + 1 and up) may be other
        // tests' clients'. A first start's voice ports are ephemeral like its own.
        command.arg("--no-voice");
    }
    command
        .args(["--io", io])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra_args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("flux starts")
}

fn read_base_url(bootstrap: &Path) -> String {
    let text = std::fs::read_to_string(bootstrap).expect("bootstrap.json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("bootstrap.json is JSON");
    value["base_url"]
        .as_str()
        .expect("bootstrap.json has base_url")
        .to_string()
}

impl Drop for FluxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// What a client script did.
pub struct ClientRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `clients/<script>` with `interpreter`, passing the server's bootstrap file, and
/// kills it after [`CLIENT_TIMEOUT`]. Output is read on threads so a chatty client never
/// blocks on a full pipe.
pub fn run_client(interpreter: &Path, script: &str, server: &FluxProcess) -> ClientRun {
    run_client_with(interpreter, script, server, &[])
}

/// [`run_client`] with more arguments after the bootstrap file's path.
pub fn run_client_with(
    interpreter: &Path,
    script: &str,
    server: &FluxProcess,
    extra_args: &[&std::ffi::OsStr],
) -> ClientRun {
    spawn_client(interpreter, script, server, extra_args, &[]).wait(server)
}

/// A client script running next to the test (and perhaps to another client).
pub struct RunningClient {
    child: std::process::Child,
    script: String,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
    started: Instant,
}

/// Starts `clients/<script>` with `interpreter`, the server's bootstrap file, `extra_args`
/// and the environment variables `envs`, without waiting for it.
pub fn spawn_client(
    interpreter: &Path,
    script: &str,
    server: &FluxProcess,
    extra_args: &[&std::ffi::OsStr],
    envs: &[(&str, &std::ffi::OsStr)],
) -> RunningClient {
    let mut child = Command::new(interpreter)
        .arg(repo_root().join("clients").join(script))
        .arg(server.bootstrap())
        .args(extra_args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{interpreter:?} starts: {error}"));
    RunningClient {
        stdout: drain(child.stdout.take().expect("piped")),
        stderr: drain(child.stderr.take().expect("piped")),
        child,
        script: script.to_owned(),
        started: Instant::now(),
    }
}

impl RunningClient {
    /// Waits for the script to exit (killing it after [`CLIENT_TIMEOUT`]) and prints its
    /// output with the server's log.
    pub fn wait(mut self, server: &FluxProcess) -> ClientRun {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if self.started.elapsed() > CLIENT_TIMEOUT {
                let _ = self.child.kill();
                break self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let run = ClientRun {
            success: status.success(),
            stdout: self.stdout.join().expect("reader"),
            stderr: self.stderr.join().expect("reader"),
        };
        eprintln!(
            "--- {} stdout ---\n{}--- stderr ---\n{}--- flux log ---\n{}",
            self.script,
            run.stdout,
            run.stderr,
            server.log()
        );
        run
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// The script exited 0 and printed its `PASS:` line (every script checks its own flow and
/// prints `FAIL: ...` otherwise).
pub fn assert_passed(run: &ClientRun) {
    assert!(
        run.success,
        "client script failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("PASS:"), "{}", run.stdout);
}

/// The server logged exactly `count` IDENTIFYs: one per bot, so no library re-identified.
pub fn assert_identifies(server: &FluxProcess, count: usize) {
    let log = server.log();
    assert_eq!(
        log.matches(": IDENTIFY user ").count(),
        count,
        "IDENTIFYs: {log}"
    );
}

/// The checks every ready-and-resume script shares: it passed, and the server logged one
/// IDENTIFY and a RESUME (the library resumed rather than starting a new session).
pub fn assert_ready_then_resumed(run: &ClientRun, server: &FluxProcess) {
    assert_passed(run);
    assert_identifies(server, 1);
    let log = server.log();
    assert!(
        log.contains(": RESUME session "),
        "the server logged the RESUME: {log}"
    );
}
