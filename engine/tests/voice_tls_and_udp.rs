//! The I/O shell of voice, end to end with a real TLS client (rustls): each core's own voice
//! listener (TLS, the same HTTP and WebSocket machinery, requests marked `Listener::Voice`),
//! a handshake and request split into one-byte writes, a client that does not speak TLS
//! closed without harm to another, the main listener serving HTTPS with `main_tls`, UDP
//! datagrams echoed through `App::handle_datagram` and `Outbox::send_datagram`, the
//! self-signed certificate reused on restart, and the voice port numbering.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use engine::{Config, IoBackend, Server};
use wsframe::{FrameHeader, Opcode};

use support::tls::{cert_of, client_config, read_response, retry, tls_connect, TlsWs};

/// Wait until the server's counters satisfy `done` (they are written after the syscalls
/// that a client may already have seen the result of).
fn wait_for_stats(server: &Server, done: impl Fn(&engine::reactor::Stats) -> bool) {
    let started = std::time::Instant::now();
    loop {
        let stats = server.stats();
        if done(&stats) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{stats:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A server of the echo app whose data dir the test knows (for the certificate).
fn start(io: IoBackend, adjust: impl FnOnce(&mut Config)) -> (Server, PathBuf) {
    let mut data_dir = PathBuf::new();
    let server = support::start_with(io, |config| {
        adjust(config);
        data_dir = config.data_dir.clone();
    });
    (server, data_dir)
}

fn websocket_echo_on_every_cores_voice_listener(io: IoBackend) {
    let (server, data_dir) = start(io, |_| {});
    let voice = server.voice_addrs().to_vec();
    assert_eq!(voice.len(), server.cores());
    let config = client_config(&cert_of(&data_dir));
    for addr in voice {
        assert_eq!(addr.ip(), server.local_addr().ip());
        assert_ne!(addr.port(), server.local_addr().port());
        let mut ws = TlsWs::open(tls_connect(addr, &config));
        ws.send(Opcode::Text, b"listener");
        assert_eq!(ws.recv(), b"listener voice");
        ws.send(Opcode::Text, b"hello over TLS");
        assert_eq!(ws.recv(), b"hello over TLS");
        let binary: Vec<u8> = (0..4_000u32).map(|i| (i % 251) as u8).collect();
        ws.send(Opcode::Binary, &binary);
        assert_eq!(ws.recv(), binary);
        // Larger than a TLS record (16 KiB): sealed and sent as several.
        ws.send(Opcode::Text, b"flood 3 100000");
        for _ in 0..3 {
            assert_eq!(ws.recv(), vec![b'x'; 100_000]);
        }
        // Many frames queued at once leave through the sealed write path.
        ws.send(Opcode::Text, b"flood 50 3000");
        for _ in 0..50 {
            assert_eq!(ws.recv(), vec![b'x'; 3000]);
        }
    }
    // The plain main listener is unchanged.
    let mut plain = support::WsClient::connect(server.local_addr(), "/");
    plain.send_text("listener");
    assert_eq!(
        plain.recv(),
        support::Received::Text("listener main".to_string())
    );
    server.shutdown().unwrap();
}
both_backends!(
    websocket_echo_on_every_cores_voice_listener,
    websocket_echo_on_every_cores_voice_listener
);

fn a_handshake_and_request_in_one_byte_writes(io: IoBackend) {
    let (server, data_dir) = start(io, |_| {});
    let config = client_config(&cert_of(&data_dir));
    let mut stream = TcpStream::connect(server.voice_addrs()[0]).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut session =
        rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
    session
        .writer()
        .write_all(b"GET /listener HTTP/1.1\r\nHost: flux\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut plaintext = Vec::new();
    loop {
        // Everything the client has to say, one byte per write.
        let mut wire = Vec::new();
        while session.wants_write() {
            session.write_tls(&mut wire).unwrap();
        }
        for byte in &wire {
            stream.write_all(std::slice::from_ref(byte)).unwrap();
        }
        let mut chunk = [0u8; 4096];
        let n = retry(|| stream.read(&mut chunk)).unwrap();
        if n == 0 {
            break;
        }
        let mut input = &chunk[..n];
        while !input.is_empty() {
            session.read_tls(&mut input).unwrap();
            session.process_new_packets().unwrap();
        }
        let _ = session.reader().read_to_end(&mut plaintext);
    }
    let text = String::from_utf8(plaintext).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with(r#"{"listener":"voice"}"#), "{text}");
    server.shutdown().unwrap();
}
both_backends!(
    a_handshake_and_request_in_one_byte_writes,
    a_handshake_and_request_in_one_byte_writes
);

fn a_client_without_tls_is_closed_and_others_go_on(io: IoBackend) {
    let (server, data_dir) = start(io, |_| {});
    let addr = server.voice_addrs()[0];
    let config = client_config(&cert_of(&data_dir));
    let mut good = TlsWs::open(tls_connect(addr, &config));
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /listener HTTP/1.1\r\nHost: flux\r\n\r\n")
        .unwrap();
    // The server answers with at most a TLS alert, never HTTP, then closes.
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP"), "{answer:?}");
    // Random bytes too.
    let mut noise = TcpStream::connect(addr).unwrap();
    noise
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    noise
        .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2])
        .unwrap();
    let _ = noise.read_to_end(&mut answer);
    good.send(Opcode::Text, b"still here");
    assert_eq!(good.recv(), b"still here");
    server.shutdown().unwrap();
}
both_backends!(
    a_client_without_tls_is_closed_and_others_go_on,
    a_client_without_tls_is_closed_and_others_go_on
);

fn the_main_listener_serves_https_when_asked(io: IoBackend) {
    let (server, data_dir) = start(io, |config| config.main_tls = true);
    let config = client_config(&cert_of(&data_dir));
    let mut tls = tls_connect(server.local_addr(), &config);
    for _ in 0..3 {
        // Kept alive: three requests on one TLS connection.
        tls.write_all(b"GET /listener HTTP/1.1\r\nHost: flux\r\n\r\n")
            .unwrap();
        let (head, body) = read_response(&mut tls);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert_eq!(body, br#"{"listener":"main"}"#);
    }
    let mut ws = TlsWs::open(tls_connect(server.local_addr(), &config));
    ws.send(Opcode::Text, b"listener");
    assert_eq!(ws.recv(), b"listener main");
    // Plain HTTP on it gets no HTTP answer.
    let mut plain = TcpStream::connect(server.local_addr()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain.write_all(b"GET /health HTTP/1.1\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP"));
    server.shutdown().unwrap();
}
both_backends!(
    the_main_listener_serves_https_when_asked,
    the_main_listener_serves_https_when_asked
);

fn datagrams_are_echoed_by_the_application(io: IoBackend) {
    let (server, _) = start(io, |_| {});
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut total = 0;
    for &addr in server.voice_addrs() {
        for round in 0..10 {
            // A window small enough for the socket buffers: nothing may be dropped.
            let mut expected = Vec::new();
            for i in 0..40 {
                let payload = format!("{addr} round {round} datagram {i} {}", "v".repeat(i * 20));
                client.send_to(payload.as_bytes(), addr).unwrap();
                expected.push(format!("echo:{payload}"));
            }
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            while got.len() < expected.len() {
                let (n, from) = retry(|| client.recv_from(&mut buf)).expect("an echo");
                assert_eq!(from, addr, "the echo comes from the core's own port");
                got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
            }
            got.sort();
            expected.sort();
            assert_eq!(got, expected);
            total += 40;
        }
    }
    wait_for_stats(&server, |stats| stats.datagrams_sent == total as u64);
    let stats = server.stats();
    assert_eq!(stats.datagrams_received, total as u64);
    assert_eq!(stats.datagrams_dropped, 0);
    server.shutdown().unwrap();
}
both_backends!(
    datagrams_are_echoed_by_the_application,
    datagrams_are_echoed_by_the_application
);

#[test]
fn the_self_signed_certificate_is_reused_on_restart() {
    let mut config = Config::ephemeral();
    config.remove_data_dir_on_shutdown = false;
    let data_dir = config.data_dir.clone();
    let first = Server::start_with(config.clone(), engine::reactor::testapp::EchoApp::new).unwrap();
    let cert = std::fs::read(cert_of(&data_dir)).unwrap();
    let trusted = client_config(&cert_of(&data_dir));
    first.shutdown().unwrap();

    let second = Server::start_with(config, engine::reactor::testapp::EchoApp::new).unwrap();
    assert_eq!(std::fs::read(cert_of(&data_dir)).unwrap(), cert);
    // A client that trusted the first run's certificate trusts the second run.
    let mut ws = TlsWs::open(tls_connect(second.voice_addrs()[1], &trusted));
    ws.send(Opcode::Text, b"again");
    assert_eq!(ws.recv(), b"again");
    second.shutdown().unwrap();
    std::fs::remove_dir_all(&data_dir).unwrap();
}

/// A main port P such that P + 1 and P + 2 are free for TCP and UDP now.
fn ports_free_above() -> u16 {
    for _ in 0..50 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port > 65_000 {
            continue;
        }
        let free = (1..=2).all(|offset| {
            let addr = SocketAddr::from(([127, 0, 0, 1], port + offset));
            std::net::TcpListener::bind(addr).is_ok() && UdpSocket::bind(addr).is_ok()
        });
        if free {
            return port;
        }
    }
    panic!("no free run of ports");
}

#[test]
fn voice_ports_follow_the_main_port_or_the_configured_base() {
    let port = ports_free_above();
    let mut config = Config::ephemeral();
    config.listen = SocketAddr::from(([127, 0, 0, 1], port));
    let server = Server::start_with(config, engine::reactor::testapp::EchoApp::new).unwrap();
    let ports: Vec<u16> = server.voice_addrs().iter().map(SocketAddr::port).collect();
    assert_eq!(ports, [port + 1, port + 2]);
    // Both halves of a voice port are taken: TCP and UDP.
    let voice = server.voice_addrs()[1];
    assert!(UdpSocket::bind(voice).is_err());
    assert!(std::net::TcpListener::bind(voice).is_err());
    server.shutdown().unwrap();

    let base = ports_free_above() + 1;
    let mut config = Config::ephemeral();
    config.voice_port_base = Some(base);
    let server = Server::start_with(config, engine::reactor::testapp::EchoApp::new).unwrap();
    let ports: Vec<u16> = server.voice_addrs().iter().map(SocketAddr::port).collect();
    assert_eq!(ports, [base, base + 1]);
    server.shutdown().unwrap();

    let mut config = Config::ephemeral();
    config.voice = false;
    let server = Server::start_with(config, engine::reactor::testapp::EchoApp::new).unwrap();
    assert!(server.voice_addrs().is_empty());
    server.shutdown().unwrap();
}

#[test]
fn ephemeral_voice_ports_share_their_number_between_tcp_and_udp() {
    let (server, _) = start(IoBackend::Epoll, |_| {});
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for &addr in server.voice_addrs() {
        // TCP on the number answers TLS...
        assert!(TcpStream::connect(addr).is_ok());
        // ...and UDP on the same number answers datagrams.
        client.send_to(b"ping", addr).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = retry(|| client.recv_from(&mut buf)).unwrap();
        assert_eq!((&buf[..n], from), (&b"echo:ping"[..], addr));
    }
    server.shutdown().unwrap();
}

#[test]
fn flux_over_tls_announces_wss_and_counts_datagrams() {
    let mut data_dir = PathBuf::new();
    let server = support::start_flux(IoBackend::Epoll, |config| {
        config.main_tls = true;
        data_dir = config.data_dir.clone();
    });
    let config = client_config(&cert_of(&data_dir));
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    for &addr in server.voice_addrs() {
        client.send_to(b"not yet a voice packet", addr).unwrap();
    }
    let mut tls = tls_connect(server.local_addr(), &config);
    tls.write_all(b"GET /api/v10/gateway HTTP/1.1\r\nHost: flux\r\n\r\n")
        .unwrap();
    let (head, body) = read_response(&mut tls);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let gateway: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let expected = format!("wss://{}", server.local_addr());
    assert_eq!(gateway["url"], expected.as_str());
    let bootstrap = server.bootstrap().unwrap();
    assert_eq!(bootstrap.gateway_url, expected);
    assert_eq!(
        bootstrap.base_url,
        format!("https://{}", server.local_addr())
    );
    // The datagrams reached the application (which ignores them) and are counted.
    let started = std::time::Instant::now();
    loop {
        tls.write_all(b"GET /_flux/metrics HTTP/1.1\r\nHost: flux\r\n\r\n")
            .unwrap();
        let (_, body) = read_response(&mut tls);
        let metrics: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let received = metrics["reactor"]["datagrams_received"].as_u64().unwrap();
        if received == server.voice_addrs().len() as u64 {
            assert_eq!(metrics["reactor"]["datagrams_dropped"], 0);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{metrics}");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.shutdown().unwrap();
}

fn a_client_trickling_its_handshake_meets_the_head_deadline(io: IoBackend) {
    let (server, _) = start(io, |config| config.limits.http_head_timeout_ms = 300);
    let mut stream = TcpStream::connect(server.voice_addrs()[0]).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    // The first bytes of a TLS record header, and nothing more.
    stream.write_all(&[0x16, 0x03]).unwrap();
    let mut rest = Vec::new();
    let _ = retry(|| stream.read_to_end(&mut rest));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after {:?}",
        started.elapsed()
    );
    server.shutdown().unwrap();
}
both_backends!(
    a_client_trickling_its_handshake_meets_the_head_deadline,
    a_client_trickling_its_handshake_meets_the_head_deadline
);

#[test]
fn the_flux_binary_takes_the_tls_and_voice_flags() {
    use std::io::BufRead;
    let data_dir = std::env::temp_dir().join(format!("flux-tls-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flux"))
        .args(["serve", "--listen", "127.0.0.1:0", "--cores", "1", "--tls"])
        .arg("--data-dir")
        .arg(&data_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let main: SocketAddr = first
        .split("https://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no https address in {first:?}"))
        .parse()
        .unwrap();
    let voice: SocketAddr = lines
        .map(Result::unwrap)
        .find_map(|line| {
            let rest = line.strip_prefix("flux: voice on ")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .expect("a voice line");
    let config = client_config(&cert_of(&data_dir));
    // Both speak TLS; the voice listener serves only the voice gateway's WebSocket.
    for (addr, status) in [(main, "200 OK"), (voice, "404 Not Found")] {
        let mut tls = tls_connect(addr, &config);
        tls.write_all(b"GET /api/v10/gateway HTTP/1.1\r\nHost: flux\r\n\r\n")
            .unwrap();
        let (head, _) = read_response(&mut tls);
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{head}"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
}

fn any_callback_may_send_a_datagram(io: IoBackend) {
    let (server, _) = start(io, |_| {});
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut ws = support::WsClient::connect(server.local_addr(), "/");
    for i in 0..100 {
        ws.send_text(&format!(
            "datagram {} from a message {i}",
            client.local_addr().unwrap()
        ));
    }
    let mut buf = [0u8; 256];
    for i in 0..100 {
        let (n, from) = retry(|| client.recv_from(&mut buf)).expect("a datagram");
        assert!(server.voice_addrs().contains(&from), "{from}");
        assert_eq!(&buf[..n], format!("from a message {i}").as_bytes());
    }
    wait_for_stats(&server, |stats| stats.datagrams_sent == 100);
    server.shutdown().unwrap();

    // Without voice sockets a datagram has nowhere to leave from: dropped and counted.
    let (server, _) = start(io, |config| config.voice = false);
    let mut ws = support::WsClient::connect(server.local_addr(), "/");
    ws.send_text(&format!("datagram {} lost", client.local_addr().unwrap()));
    ws.send_text("written");
    assert!(matches!(ws.recv(), support::Received::Text(_)));
    let stats = server.stats();
    assert_eq!((stats.datagrams_sent, stats.datagrams_dropped), (0, 1));
    server.shutdown().unwrap();
}
both_backends!(
    any_callback_may_send_a_datagram,
    any_callback_may_send_a_datagram
);

fn a_tls_client_that_stops_reading_is_a_slow_consumer(io: IoBackend) {
    let (server, data_dir) = start(io, |config| {
        config.limits.outbox_bytes_max = 64 * 1024;
        config.limits.slow_consumer_grace_ms = 100;
        config.limits.socket_send_buffer_bytes = Some(4096);
    });
    let config = client_config(&cert_of(&data_dir));
    let mut ws = TlsWs::open(tls_connect(server.voice_addrs()[0], &config));
    // The socket takes little, the sealed ciphertext it refuses waits (one send's worth at
    // most), and the queue behind it passes its bound: closed like a plain slow consumer.
    let started = std::time::Instant::now();
    while server.stats().slow_consumer_closes == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never closed: {:?}",
            server.stats()
        );
        // Once the server has closed, a write may fail: the loop's check ends it then.
        let mut frame = Vec::new();
        let header = FrameHeader::client(Opcode::Text, 14, [3, 1, 4, 1]);
        wsframe::encode_frame(&mut frame, &header, b"flood 10 10000");
        let _ = ws.tls.write_all(&frame);
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every healthy client is still served.
    let mut other = TlsWs::open(tls_connect(server.voice_addrs()[0], &config));
    other.send(Opcode::Text, b"fine");
    assert_eq!(other.recv(), b"fine");
    server.shutdown().unwrap();
}
both_backends!(
    a_tls_client_that_stops_reading_is_a_slow_consumer,
    a_tls_client_that_stops_reading_is_a_slow_consumer
);
