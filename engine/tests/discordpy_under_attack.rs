//! A real discord.py bot keeps working while the server is attacked: two unmodified
//! discord.py clients exchange 30 messages (each `send` timed, bound 5 s, every message
//! received in order) while this test keeps slow heads, silent connections, pipelining
//! non-readers (200 requests each), ping bursts that are never read (200 pings each) and
//! unauthenticated 25 MiB uploads going against the same `flux` process. The attack is checked to have happened (401s and 408s came back), and the
//! server's memory is checked to stay bounded. Every loop is bounded in count and time.
//!
//! The script is `clients/python/discordpy_under_attack.py`; the interpreter rules are in
//! `support/real_clients.rs`.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::real_clients::{interpreter, run_client_with, FluxProcess, Runtime};

#[derive(Default)]
struct Attack {
    refused_401: AtomicU64,
    timed_out_408: AtomicU64,
    connections: AtomicU64,
}

/// A connection from `source` (the attack comes from other addresses than the bots, as on
/// the internet; one address would meet the per-address cap first).
fn open(source: Ipv4Addr, addr: SocketAddr, attack: &Attack) -> Option<TcpStream> {
    let stream = support::connect_from(source, addr);
    stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .ok()?;
    attack.connections.fetch_add(1, Ordering::Relaxed);
    Some(stream)
}

/// Reads what is there (within the read timeout) and counts the answers it recognises;
/// `false` once the server has closed the connection.
fn read_some(stream: &mut TcpStream, attack: &Attack) -> bool {
    let mut buf = [0u8; 4096];
    match stream.read(&mut buf) {
        Ok(0) => false,
        Ok(n) => {
            let text = String::from_utf8_lossy(&buf[..n]);
            if text.starts_with("HTTP/1.1 401") {
                attack.refused_401.fetch_add(1, Ordering::Relaxed);
            }
            if text.starts_with("HTTP/1.1 408") {
                attack.timed_out_408.fetch_add(1, Ordering::Relaxed);
            }
            true
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::Interrupted
            ) =>
        {
            true
        }
        Err(_) => false,
    }
}

/// One attacker thread: `count` connections of one kind, each reopened when it ends.
fn attacker(
    addr: SocketAddr,
    count: usize,
    kind: &'static str,
    stop: Arc<AtomicBool>,
    attack: Arc<Attack>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        let pipeline = b"GET /api/v10/gateway HTTP/1.1\r\nHost: flux\r\n\r\n".repeat(200);
        let mut pings =
            b"GET /?v=10&encoding=json HTTP/1.1\r\nHost: flux\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\n\r\n"
                .to_vec();
        for _ in 0..200 {
            wsframe::encode_message(
                &mut pings,
                &wsframe::Message::Ping(&[b'p'; 64]),
                Some([9; 4]),
            );
        }
        let upload = b"POST /api/v10/channels/1/messages HTTP/1.1\r\nHost: flux\r\n\
            Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 26214400\r\n\r\n";
        let mut conns: Vec<Option<TcpStream>> = (0..count).map(|_| None).collect();
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            for (index, slot) in conns.iter_mut().enumerate() {
                let Some(stream) = slot.as_mut() else {
                    let source = Ipv4Addr::new(127, 0, 0, 2 + (index % 4) as u8);
                    *slot = open(source, addr, &attack);
                    if let Some(stream) = slot.as_mut() {
                        // Each kind's opening burst; pipelines and pings are never read.
                        let first: &[u8] = match kind {
                            "slow-head" => b"GET /api/v10/gateway HTTP/1.1\r\nX-Slow: ",
                            "upload" => upload,
                            "pipeline" => &pipeline,
                            "ping" => &pings,
                            _ => b"",
                        };
                        let _ = stream.write(first);
                    }
                    continue;
                };
                let alive = match kind {
                    // A byte of a header line that never ends.
                    "slow-head" => stream.write(b"a").is_ok() && read_some(stream, &attack),
                    "silent" | "upload" => read_some(stream, &attack),
                    // Never read: they sit on their unread answers and pongs.
                    _ => true,
                };
                if !alive {
                    *slot = None;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

fn discordpy_works_during_an_attack(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_under_attack") else {
        return;
    };
    let server = FluxProcess::spawn_with(
        io,
        "discordpy-attack",
        &[
            "--no-rest-rate-limits",
            "--http-head-timeout-ms",
            "1000",
            "--http-idle-timeout-ms",
            "3000",
        ],
    );
    let boot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(server.bootstrap()).unwrap()).unwrap();
    let addr: SocketAddr = boot["base_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let attack = Arc::new(Attack::default());
    let threads: Vec<_> = [
        ("silent", 200),
        ("slow-head", 100),
        ("pipeline", 20),
        ("ping", 20),
        ("upload", 20),
    ]
    .into_iter()
    .map(|(kind, count)| attacker(addr, count, kind, Arc::clone(&stop), Arc::clone(&attack)))
    .collect();
    std::thread::sleep(Duration::from_secs(2)); // Let the attack get going.
    let run = run_client_with(
        &python,
        "python/discordpy_under_attack.py",
        &server,
        &[std::ffi::OsStr::new("30")],
    );
    let rss = support::rss_bytes(server.pid());
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("attacker");
    }
    eprintln!(
        "{}: {} attacking connections, {} answered 401, {} answered 408, server RSS {} MiB",
        run.stdout
            .lines()
            .find(|l| l.starts_with("latency_ms"))
            .unwrap_or("no latencies"),
        attack.connections.load(Ordering::Relaxed),
        attack.refused_401.load(Ordering::Relaxed),
        attack.timed_out_408.load(Ordering::Relaxed),
        rss >> 20
    );
    support::real_clients::assert_passed(&run);
    assert!(
        attack.refused_401.load(Ordering::Relaxed) > 0,
        "no upload was refused"
    );
    assert!(
        attack.timed_out_408.load(Ordering::Relaxed) > 0,
        "no slow head timed out"
    );
    assert!(rss > 0 && rss < 300 << 20, "server RSS {rss} bytes");
}

#[test]
fn discordpy_under_attack_epoll() {
    discordpy_works_during_an_attack("epoll");
}

#[test]
fn discordpy_under_attack_io_uring() {
    discordpy_works_during_an_attack("uring");
}
