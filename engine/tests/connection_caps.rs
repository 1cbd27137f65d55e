//! Connection caps: one source address holds at most `connections_per_address_max`
//! connections and the process at most `connections_max`. A connection past a cap gets a
//! 503 with Discord's JSON error and is closed; connections from other addresses, and
//! the ones already admitted, are unaffected; a closed connection gives its place back.

mod support;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use engine::{Config, IoBackend};
use support::{connect_from, HttpClient};

fn client_from(source: Ipv4Addr, addr: SocketAddr) -> HttpClient {
    HttpClient::from_stream(connect_from(source, addr))
}

fn served(client: &mut HttpClient) -> bool {
    client.send(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n");
    client.read_response().is_some_and(|r| r.status == 200)
}

/// What a refused connection reads: a 503 with the reason, then EOF.
fn refusal(mut stream: TcpStream) -> String {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.starts_with("HTTP/1.1 503"), "{text:?}");
    assert!(text.contains("\"code\""), "{text}");
    text
}

fn per_address_cap(io: IoBackend) {
    let server = support::start_with(io, |config: &mut Config| {
        config.limits.connections_per_address_max = 8;
    });
    let addr = server.local_addr();
    let one = Ipv4Addr::new(127, 0, 0, 1);
    let mut admitted: Vec<HttpClient> = (0..8).map(|_| client_from(one, addr)).collect();
    for client in &mut admitted {
        assert!(served(client));
    }
    let text = refusal(connect_from(one, addr));
    assert!(
        text.contains("too many connections from this address"),
        "{text}"
    );
    // Another address has its own budget.
    let mut other = client_from(Ipv4Addr::new(127, 0, 0, 2), addr);
    assert!(served(&mut other));
    // The admitted ones still work.
    assert!(served(&mut admitted[7]));
    // Closing one gives its place back once the server has freed the slot.
    drop(admitted.pop());
    let started = Instant::now();
    loop {
        let mut again = client_from(one, addr);
        let mut probe = [0u8; 1];
        again
            .stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        match again.stream.peek(&mut probe) {
            // Bytes before any request: the 503.
            Ok(n) if n > 0 => {
                assert!(started.elapsed() < Duration::from_secs(5), "never freed");
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {
                again
                    .stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                assert!(served(&mut again));
                break;
            }
        }
    }
    assert!(server.stats().connections_refused >= 1);
    server.shutdown().unwrap();
}
both_backends!(per_address, per_address_cap);

fn process_cap(io: IoBackend) {
    let server = support::start_with(io, |config: &mut Config| {
        config.limits.connections_max = 4;
        config.limits.connections_per_address_max = 0;
    });
    let addr = server.local_addr();
    let mut admitted: Vec<HttpClient> = (0..4).map(|_| HttpClient::new(addr)).collect();
    for client in &mut admitted {
        assert!(served(client));
    }
    let text = refusal(support::connect(addr));
    assert!(text.contains("the server is full"), "{text}");
    let from_elsewhere = connect_from(Ipv4Addr::new(127, 0, 0, 3), addr);
    refusal(from_elsewhere);
    assert!(served(&mut admitted[0]));
    assert_eq!(server.stats().connections_refused, 2);
    server.shutdown().unwrap();
}
both_backends!(process, process_cap);
