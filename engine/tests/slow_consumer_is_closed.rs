//! A client that never reads cannot make the server hold unbounded memory: once its
//! outbound queue stays past `outbox_bytes_max` for the grace period (or passes the hard
//! cap) the reactor drops its backlog and closes it, and a second client on the same
//! server keeps getting prompt echoes throughout. The core's own back-pressure (HTTP
//! requests wait while most sessions are behind) ends as soon as they catch up.

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

/// Requests paused while most sessions are behind go on once those sessions catch up, even
/// when nothing else happens afterwards: the writes that drain the backlog are the last
/// event, so the loop itself must notice that the paused connections may resume.
fn paused_requests_resume_when_the_backlog_drains(io: engine::IoBackend) {
    let server = start_with(io, |config| {
        config.limits.outbox_bytes_max = 4 << 20;
        config.limits.slow_consumer_grace_ms = 60_000;
        config.limits.socket_send_buffer_bytes = Some(4096);
        config.cores = Some(1);
    });
    // Eight sessions, each with about 1 MiB it has not read: each counts 64 KiB towards
    // the core's backlog, 512 KiB in all, past the pause bound (256 KiB here). Requests
    // resume at half the bound: once six sessions have caught up (two left, 128 KiB).
    const FRAMES: usize = 128;
    let mut readers: Vec<WsClient> = (0..8)
        .map(|_| WsClient::connect(server.local_addr(), "/"))
        .collect();
    for reader in &mut readers {
        reader.send_text(&format!("flood {FRAMES} 8192"));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut client = support::HttpClient::new(server.local_addr());
    client.send(b"GET /health HTTP/1.1\r\nHost: f\r\n\r\n");
    client
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = std::io::Read::read(&mut client.stream, &mut byte);
    assert!(
        early.is_err(),
        "the request waits while the sessions are behind: {early:?}"
    );
    client
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // The last two never read, so the sixth one's final write is the last thing the
    // server does.
    for reader in &mut readers[..6] {
        for _ in 0..FRAMES {
            assert_eq!(reader.recv(), Received::Binary(vec![b'x'; 8192]));
        }
    }
    let caught_up = Instant::now();
    let response = client
        .read_response()
        .expect("answered once the sessions caught up");
    assert_eq!(response.status, 200);
    assert!(
        caught_up.elapsed() < Duration::from_secs(2),
        "{:?}",
        caught_up.elapsed()
    );
    server.shutdown().unwrap();
}
both_backends!(
    paused_requests_resume_when_the_backlog_drains,
    paused_requests_resume_when_the_backlog_drains
);
