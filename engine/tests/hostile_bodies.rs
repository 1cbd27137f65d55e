//! Bodies are judged by their head before a byte of them is read: a body without a valid
//! token gets 401 at once (a reviewer's unauthenticated `Content-Length: 26214400`
//! multipart POST used to get no answer while the server waited to buffer 25 MiB), a body
//! over 1 MiB on a route that takes no attachments gets 413 (40005) at once, and only the
//! message routes wait for a large upload. Sign-up and login take a body without a token.

mod support;

use std::io::Read;
use std::time::{Duration, Instant};

use engine::IoBackend;
use support::{start_flux, HttpClient, HttpResponse};

const UPLOAD: usize = 25 * 1024 * 1024;

/// Sends only the head of a request announcing `len` body bytes.
fn head_only(client: &mut HttpClient, method: &str, path: &str, token: Option<&str>, len: usize) {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bot {t}\r\n"));
    client.send(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: flux\r\n{auth}\
             Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: {len}\r\n\r\n"
        )
        .as_bytes(),
    );
}

fn answered_at_once(client: &mut HttpClient) -> HttpResponse {
    let asked = Instant::now();
    let response = client.read_response().expect("an answer before the body");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    // Then the connection closes: the unread body makes the stream unusable.
    let mut rest = Vec::new();
    let _ = client.stream.read_to_end(&mut rest);
    response
}

fn bodies_are_judged_by_their_heads(io: IoBackend) {
    let server = start_flux(io, |config| {
        config.limits.http.multipart_body_bytes_max = UPLOAD;
    });
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = boot.bots[0].token.as_str();
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);

    for bad in [None, Some("not-a-token")] {
        let mut client = HttpClient::new(addr);
        head_only(&mut client, "POST", &messages, bad, UPLOAD);
        let response = answered_at_once(&mut client);
        support::assert_error(&response, 401, 0);
    }

    // A valid token, but a route that takes no attachments: over 1 MiB is refused.
    let mut client = HttpClient::new(addr);
    let roles = format!("/api/v10/guilds/{}/roles", boot.guild_id);
    head_only(&mut client, "POST", &roles, Some(token), 5 * 1024 * 1024);
    let response = answered_at_once(&mut client);
    support::assert_error(&response, 413, 40005);

    // The message route waits for a large upload from a valid token.
    let mut client = HttpClient::new(addr);
    head_only(&mut client, "POST", &messages, Some(token), 2 * 1024 * 1024);
    client
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let asked = Instant::now();
    while asked.elapsed() < Duration::from_millis(300) {
        match client.stream.read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            other => panic!("answered before the body: {other:?}"),
        }
    }

    // Sign-up takes a body without a token (a bad one here: the handler's own 400).
    let mut client = HttpClient::new(addr);
    client.send(
        b"POST /api/v10/auth/register HTTP/1.1\r\nHost: flux\r\n\
          Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    );
    let response = client.read_response().expect("an answer");
    assert_eq!(response.status, 400, "{:?}", response.json());
    server.shutdown().unwrap();
}
both_backends!(judged_by_heads, bodies_are_judged_by_their_heads);

/// A message whose embeds break Discord's limits (here 8,192 characters in all, the
/// reviewer's case) is refused with 50035 and Discord's error shape, and nothing is stored
/// or dispatched; the same message within the limits is accepted.
fn embeds_over_discords_limits_are_refused(io: IoBackend) {
    use serde_json::json;
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = boot.bots[0].token.as_str();
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    let big = json!({"description": "x".repeat(4096)});
    let refused = support::rest::call(
        addr,
        "POST",
        &messages,
        token,
        Some(&json!({"embeds": [big, big]})),
    );
    support::assert_error(&refused, 400, 50035);
    assert_eq!(
        refused.json()["errors"]["embeds"]["_errors"][0]["code"],
        "MAX_EMBED_SIZE_EXCEEDED"
    );
    let long_title = json!({"title": "t".repeat(257)});
    let refused = support::rest::call(
        addr,
        "POST",
        &messages,
        token,
        Some(&json!({"embeds": [long_title]})),
    );
    support::assert_error(&refused, 400, 50035);
    assert_eq!(
        refused.json()["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    let history = support::rest::call(addr, "GET", &messages, token, None);
    assert_eq!(history.status, 200);
    assert_eq!(
        history.json().as_array().map(Vec::len),
        Some(0),
        "nothing stored"
    );
    let fits = json!({"embeds": [{"description": "x".repeat(4096)}, {"title": "t".repeat(256)}]});
    let created = support::rest::call(addr, "POST", &messages, token, Some(&fits));
    assert_eq!(created.status, 200, "{:?}", created.json());
    server.shutdown().unwrap();
}
both_backends!(embed_limits, embeds_over_discords_limits_are_refused);
