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

/// `POST path` with a JSON body and no token (the `/auth/*` routes), on a fresh
/// connection.
pub fn post_anonymous(addr: SocketAddr, path: &str, body: &Value) -> HttpResponse {
    let text = body.to_string();
    let mut http = HttpClient::new(addr);
    http.send(
        format!(
            "POST {path} HTTP/1.1\r\nHost: flux\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{text}",
            text.len()
        )
        .as_bytes(),
    );
    http.read_response().expect("a response")
}

/// Registers a human account (`POST /auth/register`); returns (token, user id).
pub fn register(addr: SocketAddr, username: &str) -> (String, String) {
    let body = serde_json::json!({ "username": username, "password": "correct horse battery" });
    let response = post_anonymous(addr, "/api/v10/auth/register", &body);
    assert_eq!(response.status, 201, "{response:?}");
    let value = response.json();
    (
        value["token"].as_str().expect("a token").to_string(),
        value["user"]["id"].as_str().expect("a user id").to_string(),
    )
}
