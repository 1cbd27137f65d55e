//! Back-pressure, not buffering: a client that sends without reading holds a bounded
//! amount of server memory, is closed once it stops making progress, and never slows a
//! healthy client down.
//! - 400,000 pipelined `GET /api/v10/gateway` (16 MB) on one socket that never reads: the
//!   server stops reading that socket once its unread answers pass the bound, so the
//!   process grows by a few MB, not by what was sent (a reviewer measured 147 MB before).
//! - A WebSocket client that floods pings and reads no pongs is not read while its pongs
//!   wait, so it holds one read's worth of them; its heartbeats then go unread too, and
//!   the zombie rule ends it.
//!
//! Every loop here is bounded in count and time.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{start_flux, HttpClient, Received, WsClient};

fn pipelined_requests_without_reading_are_bounded(io: engine::IoBackend) {
    let server = start_flux(io, |config| {
        config.limits.http_idle_timeout_ms = 1_000;
    });
    let addr = server.local_addr();
    let rss_before = support::rss_bytes(std::process::id());

    let request = b"GET /api/v10/gateway HTTP/1.1\r\nHost: flux\r\n\r\n";
    let chunk: Vec<u8> = request
        .iter()
        .copied()
        .cycle()
        .take(request.len() * 1_000)
        .collect();
    let mut flooder = support::connect(addr);
    flooder
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let started = Instant::now();
    let (mut sent, mut at) = (0usize, 0usize);
    while sent < 400_000 * request.len() && started.elapsed() < Duration::from_secs(20) {
        // Partial writes continue where they stopped, so requests stay whole.
        match flooder.write(&chunk[at..]) {
            Ok(n) => {
                sent += n;
                at = (at + n) % chunk.len();
            }
            Err(_) => break, // The server stopped reading: the kernel buffers are full.
        }
    }
    let sent_requests = sent / request.len();
    assert!(
        sent_requests < 400_000,
        "the server read all {sent_requests} requests from a client that reads nothing"
    );

    // A healthy client is answered at once meanwhile.
    let asked = Instant::now();
    let mut healthy = HttpClient::new(addr);
    healthy.send(b"GET /api/v10/gateway HTTP/1.1\r\nHost: flux\r\n\r\n");
    assert_eq!(healthy.read_response().expect("served").status, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );

    let grown = support::rss_bytes(std::process::id()).saturating_sub(rss_before);
    assert!(
        grown < 32 << 20,
        "the process grew by {grown} bytes for one client that never reads"
    );

    // It made no progress for the idle deadline, so it is closed; what it reads first
    // are whole answers that were already queued.
    flooder
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match flooder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => panic!("not closed: {error} after {received} bytes"),
        }
    }
    assert!(received > 0);
    assert!(server.stats().http_timeouts >= 1);
    server.shutdown().unwrap();
}
both_backends!(
    pipelined_requests_without_reading,
    pipelined_requests_without_reading_are_bounded
);

fn a_ping_flood_that_reads_no_pongs_is_closed(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.heartbeat_interval_ms = 200);
    let mut ws = WsClient::connect(server.local_addr(), "/?v=10&encoding=json");
    let hello = ws.recv();
    assert!(matches!(hello, Received::Text(_)), "{hello:?}");
    ws.stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let started = Instant::now();
    let ping = ws.frame(wsframe::Opcode::Ping, &[b'p'; 125]);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 100)
        .collect();
    let (mut sent, mut at) = (0usize, 0usize);
    while started.elapsed() < Duration::from_secs(20) && sent < 200 << 20 {
        // Partial writes continue where they stopped, so frames stay whole.
        match ws.stream.write(&burst[at..]) {
            Ok(n) => {
                sent += n;
                at = (at + n) % burst.len();
            }
            Err(_) => break, // The server stopped reading, or closed.
        }
    }
    assert!(
        sent < 200 << 20,
        "the server read all {sent} bytes of pings"
    );
    // It stopped reading once its pongs were not taken, so its heartbeats go unread too:
    // the session is reaped as a zombie, and the connection ends.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.stats().connections_open > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = server.stats();
    assert_eq!(stats.connections_open, 0, "{stats:?} after {sent} bytes");
    // What it held: one read's worth of pongs, not what it sent.
    assert!(stats.outbox_bytes_peak <= 64 * 1024, "{stats:?}");
    // Another client is unaffected.
    let (mut other, _) = support::gateway::Gateway::connect(server.local_addr());
    other.send(&json!({"op": 1, "d": null}));
    assert_eq!(other.recv_json()["op"], 11);
    server.shutdown().unwrap();
}
both_backends!(ping_flood, a_ping_flood_that_reads_no_pongs_is_closed);
