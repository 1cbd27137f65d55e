//! Every HTTP connection is bounded in time. A client that trickles its request head or
//! body gets 408 (Discord's JSON error shape) and is closed once its deadline passes; a
//! kept-alive connection that stays silent is closed; a client that keeps to its deadlines
//! is never cut. Deadlines are shortened here (`Limits`), and every wait is bounded.

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use engine::{Config, IoBackend, Server};
use support::HttpClient;

const HEAD_MS: u64 = 300;
const BODY_MS: u64 = 300;
const IDLE_MS: u64 = 400;

fn start(io: IoBackend) -> Server {
    support::start_with(io, |config: &mut Config| {
        config.limits.http_head_timeout_ms = HEAD_MS;
        config.limits.http_body_timeout_ms = BODY_MS;
        config.limits.http_idle_timeout_ms = IDLE_MS;
        // A 1,000-byte body at this rate gets 100 ms on top of BODY_MS.
        config.limits.http_body_min_bytes_per_s = 10_000;
    })
}

/// Reads until EOF (or 5 s); returns the bytes and how long it took.
fn read_to_close(client: &mut HttpClient, since: Instant) -> (Vec<u8>, Duration) {
    let mut bytes = client.take_buffered();
    let mut chunk = [0u8; 4096];
    loop {
        match client.stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => panic!("the server did not close the connection: {error}"),
        }
    }
    (bytes, since.elapsed())
}

/// Sends `bytes` one at a time every `gap`, stopping early if the server closes.
fn trickle(client: &mut HttpClient, bytes: &[u8], gap: Duration) {
    for &byte in bytes {
        if client.stream.write_all(&[byte]).is_err() {
            return;
        }
        std::thread::sleep(gap);
    }
}

fn assert_408(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.contains("\"code\": 0") || text.contains("\"code\":0"),
        "{text}"
    );
    assert!(text.contains("408: Request Timeout"), "{text}");
}

fn slow_head_gets_408(io: IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    let started = Instant::now();
    // 40 bytes at 50 ms each would take 2 s; the head deadline is 0.3 s from the first.
    trickle(
        &mut client,
        b"GET /health HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\n\r\n",
        Duration::from_millis(50),
    );
    let (bytes, took) = read_to_close(&mut client, started);
    assert_408(&bytes);
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    assert_eq!(server.stats().http_timeouts, 1);
    server.shutdown().unwrap();
}
both_backends!(slow_head, slow_head_gets_408);

/// A connection that sends nothing is idle (clients open connections ahead of need): it
/// is closed quietly at the idle deadline, not answered 408 at the head deadline.
fn silent_new_connection_is_idle(io: IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    let started = Instant::now();
    let (bytes, took) = read_to_close(&mut client, started);
    assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    assert!(
        took >= Duration::from_millis(IDLE_MS - 50) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );
    server.shutdown().unwrap();
}
both_backends!(silent_new_connection, silent_new_connection_is_idle);

fn slow_body_gets_408(io: IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    client.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n{");
    let started = Instant::now();
    // The body's deadline is 300 ms + 1,000 B at 10,000 B/s = 0.4 s; 1,000 bytes at 20 ms
    // each would take 20 s.
    trickle(&mut client, &[b' '; 999], Duration::from_millis(20));
    let (bytes, took) = read_to_close(&mut client, started);
    assert_408(&bytes);
    assert!(
        took >= Duration::from_millis(BODY_MS) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );
    server.shutdown().unwrap();
}
both_backends!(slow_body, slow_body_gets_408);

fn idle_keep_alive_is_closed_quietly(io: IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    client.send(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(client.read_response().expect("an answer").status, 200);
    let started = Instant::now();
    let (bytes, took) = read_to_close(&mut client, started);
    assert!(
        bytes.is_empty(),
        "no answer to an idle connection: {bytes:?}"
    );
    assert!(
        took >= Duration::from_millis(IDLE_MS - 50) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );
    server.shutdown().unwrap();
}
both_backends!(idle_keep_alive, idle_keep_alive_is_closed_quietly);

/// Requests spaced closer than the idle deadline, each sent whole, keep one connection for
/// far longer than any deadline; a request the application takes long to answer does not
/// count against the client either.
fn a_client_within_its_deadlines_is_never_cut(io: IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    for _ in 0..8 {
        client.send(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(client.read_response().expect("still open").status, 200);
        std::thread::sleep(Duration::from_millis(IDLE_MS / 2));
    }
    // The app holds this one for 1 s, more than every deadline.
    client.send(b"GET /later/1000 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(client.read_response().expect("answered late").status, 200);
    assert_eq!(server.stats().http_timeouts, 0);
    server.shutdown().unwrap();
}
both_backends!(within_deadlines, a_client_within_its_deadlines_is_never_cut);

/// A pipelined request's body gets its own deadline, not the one of the request before
/// it: request 1's body deadline (set when its head arrived alone) has passed by the time
/// request 2's body completes, well within request 2's own. The margins are 125 ms each
/// way, so a loaded machine's scheduling does not decide the outcome.
fn each_pipelined_body_has_its_own_deadline(io: IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    // Request 1: its head alone at t=0; its deadline is BODY_MS + 100 ms = 400 ms (1,000 B
    // at 10,000 B/s).
    client.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n");
    std::thread::sleep(Duration::from_millis(BODY_MS / 2));
    // At t=150: its body, then request 2's head and part of its 2,000-byte body, in one
    // write. Request 2's deadline: 150 + BODY_MS + 200 = 650 ms.
    let mut bytes = vec![b'1'; 1000];
    bytes.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n");
    bytes.extend_from_slice(&[b'2'; 1000]);
    client.send(&bytes);
    // At t=525: past request 1's deadline, within request 2's.
    std::thread::sleep(Duration::from_millis(BODY_MS + 75));
    client.send(&[b'2'; 1000]);
    let first = client.read_response().expect("request 1 answered");
    assert_eq!((first.status, first.body.len()), (200, 1000));
    let second = client
        .read_response()
        .expect("request 2 answered, not timed out");
    assert_eq!(
        (second.status, second.body.as_slice()),
        (200, &[b'2'; 2000][..])
    );
    assert_eq!(server.stats().http_timeouts, 0);
    server.shutdown().unwrap();
}
both_backends!(pipelined_bodies, each_pipelined_body_has_its_own_deadline);

/// Many slow clients at once are all closed by their deadlines, and a healthy client is
/// served meanwhile.
fn many_slow_clients_are_all_closed(io: IoBackend) {
    let server = start(io);
    let addr: SocketAddr = server.local_addr();
    let mut slow: Vec<HttpClient> = (0..100)
        .map(|_| {
            let mut client = HttpClient::new(addr);
            client.send(b"GET /health HTTP/1.1\r\nHo");
            client
        })
        .collect();
    let mut healthy = HttpClient::new(addr);
    healthy.send(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(healthy.read_response().expect("served").status, 200);
    let started = Instant::now();
    for client in &mut slow {
        let (bytes, _) = read_to_close(client, started);
        assert_408(&bytes);
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(server.stats().http_timeouts, 100);
    server.shutdown().unwrap();
}
both_backends!(many_slow, many_slow_clients_are_all_closed);

/// `flux serve` takes the limits as flags: with `--http-head-timeout-ms 300` a head left
/// unfinished gets its 408 in well under the 10 s default.
#[test]
fn the_binary_takes_the_deadlines_as_flags() {
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let dir = std::env::temp_dir().join(format!("flux-deadline-flags-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_flux"))
            .args(["serve", "--cores", "1", "--http-head-timeout-ms", "300"])
            .args(["--no-voice", "--listen", &addr.to_string(), "--data-dir"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("flux starts"),
    );
    let started = Instant::now();
    let stream = loop {
        if let Ok(stream) = std::net::TcpStream::connect(addr) {
            break stream;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "flux listens");
        std::thread::sleep(Duration::from_millis(20));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    let mut client = HttpClient::from_stream(stream);
    client.send(b"GET /api/v10/gateway HTTP/1.1\r\nHo");
    let connected = Instant::now();
    let (bytes, took) = read_to_close(&mut client, connected);
    assert_408(&bytes);
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
