//! A tiny REST client for the message tests: one request per call, with a bot token.

use std::net::SocketAddr;

use serde_json::Value;

use super::{HttpClient, HttpResponse};

/// Sends `method path` with `Authorization: Bot token` and an optional JSON body on
/// `http`, and reads the answer.
pub fn call_on(
    http: &mut HttpClient,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> HttpResponse {
    let body = body.map(Value::to_string).unwrap_or_default();
    http.send(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: flux\r\nAuthorization: Bot {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    http.read_response().expect("a response")
}

/// Like `call_on`, on a fresh connection (which may land on any core).
pub fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> HttpResponse {
    call_on(&mut HttpClient::new(addr), method, path, token, body)
}
