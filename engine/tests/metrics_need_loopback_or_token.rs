//! `GET /_flux/metrics` answers only what operators expect: by default loopback peers
//! (403 with Discord's JSON error for any other address), and with a configured token
//! `Authorization: Bearer <token>` from anywhere (401 without it). Every test runs once
//! per I/O backend.

mod support;

use std::net::{IpAddr, SocketAddr, UdpSocket};

use engine::IoBackend;
use support::{assert_error, HttpClient, HttpResponse};

fn get_metrics(addr: SocketAddr, authorization: Option<&str>) -> HttpResponse {
    let mut http = HttpClient::new(addr);
    let authorization = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    http.send(
        format!("GET /_flux/metrics HTTP/1.1\r\nHost: flux\r\n{authorization}\r\n").as_bytes(),
    );
    http.read_response().expect("a response")
}

/// This machine's address on its default route, if it has one that is not loopback (no
/// packet is sent: connecting a UDP socket only picks the source address).
fn non_loopback_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.200:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn loopback_only_by_default(io: IoBackend) {
    let server = support::start_flux(io, |config| {
        config.listen = SocketAddr::from(([0, 0, 0, 0], 0));
    });
    let port = server.local_addr().port();
    let local = SocketAddr::from(([127, 0, 0, 1], port));
    let answered = get_metrics(local, None);
    assert_eq!(answered.status, 200, "{answered:?}");
    assert!(answered.json().is_object());
    match non_loopback_address() {
        Some(ip) => {
            let refused = get_metrics(SocketAddr::new(ip, port), None);
            assert_error(&refused, 403, 0);
            // A token means nothing while none is configured.
            let refused = get_metrics(SocketAddr::new(ip, port), Some("Bearer x"));
            assert_error(&refused, 403, 0);
        }
        None => eprintln!("no non-loopback address here: only the unit tests cover 403"),
    }
    server.shutdown().unwrap();
}

both_backends!(loopback_only, loopback_only_by_default);

fn a_configured_token_is_required_from_everywhere(io: IoBackend) {
    let server = support::start_flux(io, |config| {
        config.listen = SocketAddr::from(([0, 0, 0, 0], 0));
        config.metrics_token = Some("scrape-me-7f3a".into());
    });
    let port = server.local_addr().port();
    let mut peers = vec![SocketAddr::from(([127, 0, 0, 1], port))];
    peers.extend(non_loopback_address().map(|ip| SocketAddr::new(ip, port)));
    for addr in peers {
        for wrong in [
            None,
            Some("Bearer scrape-me"),
            Some("Bot scrape-me-7f3a"),
            Some("scrape-me-7f3a"),
        ] {
            let refused = get_metrics(addr, wrong);
            assert_error(&refused, 401, 0);
            assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
        }
        let answered = get_metrics(addr, Some("Bearer scrape-me-7f3a"));
        assert_eq!(answered.status, 200, "{addr}: {answered:?}");
        assert!(answered.json().is_object(), "{answered:?}");
    }
    server.shutdown().unwrap();
}

both_backends!(
    token_required,
    a_configured_token_is_required_from_everywhere
);
