//! A client that never reads cannot make the server hold unbounded memory: once its
//! outbound queue stays past `outbox_bytes_max` for the grace period (or passes the hard
//! cap) the reactor drops its backlog and closes it, and a second client on the same
//! server keeps getting prompt echoes throughout.

mod support;

use std::time::{Duration, Instant};

use support::{start_with, Received, WsClient};

const OUTBOX_BYTES_MAX: usize = 64 * 1024;
const FRAME_BYTES: usize = 8 * 1024;

fn a_client_that_never_reads_is_closed(io: engine::IoBackend) {
    let server = start_with(io, |config| {
        config.limits.outbox_bytes_max = OUTBOX_BYTES_MAX;
        config.limits.slow_consumer_grace_ms = 100;
        config.limits.socket_send_buffer_bytes = Some(4096);
        config.cores = Some(1); // Both clients on one reactor: the other must not slow down.
    });
    let mut reader = WsClient::connect(server.local_addr(), "/");
    let mut sleeper = WsClient::connect(server.local_addr(), "/");
    let started = Instant::now();
    let mut requested = 0;
    while server.stats().slow_consumer_closes == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never closed; {:?}",
            server.stats()
        );
        // The sleeper asks for more and never reads. A write may fail once the server
        // has given up on it, which is the point.
        let frame = sleeper.frame(
            wsframe::Opcode::Text,
            format!("flood 1 {FRAME_BYTES}").as_bytes(),
        );
        if std::io::Write::write_all(&mut sleeper.stream, &frame).is_err() {
            break;
        }
        requested += FRAME_BYTES;
        // Meanwhile the reader is served at once.
        reader.send_text("still here?");
        assert_eq!(reader.recv(), Received::Text("still here?".into()));
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = server.stats();
    eprintln!("{io:?}: asked for {requested} bytes; {stats:?}");
    assert_eq!(stats.slow_consumer_closes, 1);
    let bound = OUTBOX_BYTES_MAX * engine::reactor::OUTBOX_HARD_FACTOR + FRAME_BYTES + 16;
    assert!(
        stats.outbox_bytes_peak <= bound,
        "queue reached {} bytes",
        stats.outbox_bytes_peak
    );
    assert!(
        requested > stats.outbox_bytes_peak,
        "the test must ask for more than the bound"
    );
    // The sleeper's connection ends (after at most the close linger), with whatever it
    // had been sent so far.
    loop {
        match sleeper.recv() {
            Received::Binary(_) => {}
            Received::Close(code, _) => assert_eq!(code, Some(4000)),
            Received::Eof => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    reader.send_text("after");
    assert_eq!(reader.recv(), Received::Text("after".into()));
    server.shutdown().unwrap();
}
both_backends!(
    a_client_that_never_reads_is_closed,
    a_client_that_never_reads_is_closed
);

/// The core stops taking HTTP requests when most of its connections are behind (that is
/// overload, and publishers should wait); one client that stops reading must not make it
/// stop for everybody while that client waits for its slow-consumer close.
fn a_client_that_never_reads_does_not_pause_anyone_elses_requests(io: engine::IoBackend) {
    let server = start_with(io, |config| {
        config.limits.outbox_bytes_max = 4 << 20;
        config.limits.slow_consumer_grace_ms = 60_000;
        config.limits.socket_send_buffer_bytes = Some(4096);
        config.cores = Some(1);
    });
    let mut sleeper = WsClient::connect(server.local_addr(), "/");
    let started = Instant::now();
    // Well past the core's pause bound (32 KiB per connection, at least 256 KiB) if the
    // sleeper's whole queue counted.
    while server.stats().outbox_bytes_peak < 1 << 20 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            server.stats()
        );
        let frame = sleeper.frame(wsframe::Opcode::Text, b"flood 16 8192");
        std::io::Write::write_all(&mut sleeper.stream, &frame).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(server.stats().slow_consumer_closes, 0);
    for _ in 0..3 {
        let mut client = support::HttpClient::new(server.local_addr());
        let asked = Instant::now();
        client.send(b"GET /health HTTP/1.1\r\nHost: f\r\n\r\n");
        let response = client
            .read_response()
            .expect("answered while the sleeper sleeps");
        assert_eq!(response.status, 200);
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
    }
    server.shutdown().unwrap();
}
both_backends!(
    a_client_that_never_reads_does_not_pause_anyone_elses_requests,
    a_client_that_never_reads_does_not_pause_anyone_elses_requests
);
