//! Acknowledged messages survive `kill -9`: the `flux` binary is started on a data dir,
//! N messages are posted (each 200 means durable on the owner core's `lsm` store), the
//! process is killed with SIGKILL, restarted on the same data dir and port, and history
//! returns all N in order; a new message after the restart gets a larger Snowflake
//! (the generator resumed after the newest stored id). Runs once per I/O backend.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::rest::call;

/// Kills the server when dropped.
struct Flux(Child);

impl Drop for Flux {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(data_dir: &Path, listen: &str, io: &str) -> Flux {
    Flux(
        Command::new(env!("CARGO_BIN_EXE_flux"))
            .args(["serve", "--listen", listen, "--cores", "2", "--io", io])
            // A fixed port: its voice ports (port + 1 and up) may be other tests' clients'.
            .arg("--no-voice")
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("flux starts"),
    )
}

fn wait_until_listening(addr: std::net::SocketAddr) {
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "flux listens");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn acknowledged_messages_survive_kill(io: &str) {
    let data_dir = std::env::temp_dir().join(format!("flux-kill9-{}-{io}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut server = spawn(&data_dir, "127.0.0.1:0", io);
    let bootstrap_path = data_dir.join("bootstrap.json");
    let started = Instant::now();
    let boot: engine::world::Bootstrap = loop {
        if let Ok(text) = std::fs::read_to_string(&bootstrap_path) {
            if let Ok(boot) = serde_json::from_str(&text) {
                break boot;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no bootstrap.json"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let addr: std::net::SocketAddr = boot
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("base_url is http://IP:PORT");
    wait_until_listening(addr);
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    // Five per bot fits the POST bucket (5 per 5 s) without waiting.
    let mut sent = Vec::new();
    for n in 0..10 {
        let token = &boot.bots[n % 2].token;
        let created = call(
            addr,
            "POST",
            &messages,
            token,
            Some(&json!({"content": format!("durable {n}")})),
        );
        assert_eq!(created.status, 200, "{created:?}");
        sent.push(created.json()["id"].as_str().unwrap().to_string());
    }
    // SIGKILL: no shutdown, no flush beyond what each 200 promised.
    server.0.kill().expect("kill -9");
    server.0.wait().unwrap();
    drop(server);
    // A process killed while io_uring ops are in flight keeps its listening sockets
    // alive until the kernel tears the ring down, shortly after the process is reaped;
    // meanwhile they stay in the port's SO_REUSEPORT group and a connection hashed to one
    // is reset. So wait a moment before reusing the port (seen only with io_uring).
    std::thread::sleep(Duration::from_millis(300));

    let _server = spawn(&data_dir, &addr.to_string(), io);
    wait_until_listening(addr);
    let page = call(
        addr,
        "GET",
        &format!("{messages}?limit=100"),
        &boot.bots[0].token,
        None,
    );
    assert_eq!(page.status, 200, "{page:?}");
    let page = page.json();
    let mut ids: Vec<String> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    ids.reverse();
    assert_eq!(ids, sent, "every acknowledged message, in order");
    assert_eq!(page[0]["content"], "durable 9");

    let after = call(
        addr,
        "POST",
        &messages,
        &boot.bots[0].token,
        Some(&json!({"content": "after restart"})),
    );
    assert_eq!(after.status, 200, "{after:?}");
    let new_id: u64 = after.json()["id"].as_str().unwrap().parse().unwrap();
    let newest: u64 = sent.last().unwrap().parse().unwrap();
    assert!(
        new_id > newest,
        "Snowflakes keep increasing across the restart"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn epoll() {
    acknowledged_messages_survive_kill("epoll");
}

#[test]
fn io_uring() {
    acknowledged_messages_survive_kill("uring");
}
