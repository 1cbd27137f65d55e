//! The real discord.py 2.7.1, unmodified, against the `flux` binary: two bots in one
//! script; A sends, edits and deletes a message in #general and B sees each (on_message,
//! on_raw_message_edit, on_raw_message_delete); `channel.history` is newest first. Once
//! per I/O backend.
//!
//! The script is `clients/python/discordpy_messages.py`; the interpreter comes from
//! `FLUX_PYTHON` (`scripts/test` runs `scripts/install-clients` and sets it to
//! `.venv/bin/python`). Without `FLUX_PYTHON` the test fails under CI (`CI=true`) and
//! prints a loud skip message elsewhere.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

fn python() -> Option<PathBuf> {
    match std::env::var_os("FLUX_PYTHON") {
        Some(python) => Some(PathBuf::from(python)),
        None if std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1") => {
            panic!("FLUX_PYTHON is not set under CI: run scripts/test (it installs the clients)")
        }
        None => {
            eprintln!(
                "\n!!!!!!!! SKIPPED discordpy_messages: FLUX_PYTHON is not set. Run \
                 scripts/install-clients and FLUX_PYTHON=.venv/bin/python cargo test, or \
                 scripts/test. !!!!!!!!\n"
            );
            None
        }
    }
}

/// Kills the server when the test ends, whatever happens.
struct Flux(Child);

impl Drop for Flux {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn discordpy_bots_exchange_messages(io: &str) {
    let Some(python) = python() else { return };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let script = repo.join("clients/python/discordpy_messages.py");
    let data_dir =
        std::env::temp_dir().join(format!("flux-discordpy-msg-{}-{io}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let log_path = data_dir.with_extension("log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = Flux(
        Command::new(env!("CARGO_BIN_EXE_flux"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--cores",
                "2",
                "--test-hooks",
                "--io",
                io,
            ])
            .arg("--data-dir")
            .arg(&data_dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("flux starts"),
    );
    let bootstrap = data_dir.join("bootstrap.json");
    let started = Instant::now();
    while !bootstrap.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no bootstrap.json"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50)); // Written atomically; the cores start.

    let mut child = Command::new(&python)
        .arg(&script)
        .arg(&bootstrap)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    eprintln!("--- discord.py stdout ---\n{stdout}--- stderr ---\n{stderr}--- flux log ---\n{log}");
    assert!(status.success(), "discord.py script failed: {status:?}");
    assert!(stdout.contains("PASS:"), "{stdout}");
    assert_eq!(
        log.matches(": IDENTIFY user ").count(),
        2,
        "one IDENTIFY per bot: {log}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
    let _ = std::fs::remove_file(&log_path);
}

#[test]
fn discordpy_messages_epoll() {
    discordpy_bots_exchange_messages("epoll");
}

#[test]
fn discordpy_messages_io_uring() {
    discordpy_bots_exchange_messages("uring");
}
