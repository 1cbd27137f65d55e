//! A raw gateway client for the integration tests: JSON over the `WsClient` above, plus
//! the HTTP calls to Flux's metrics and test hooks.

use std::net::SocketAddr;

use serde_json::{json, Value};

use super::{HttpClient, HttpResponse, Received, WsClient};

/// Default intents of discord.py (CLIENTS.md §1.2 row 5), no privileged ones.
pub const INTENTS_DEFAULT: u64 = 53_575_421 & !((1 << 1) | (1 << 8) | (1 << 15));

/// One gateway connection.
pub struct Gateway {
    pub ws: WsClient,
}

impl Gateway {
    /// Connect with `query` (e.g. `/?v=10&encoding=json`), without reading anything.
    pub fn connect_raw(addr: SocketAddr, query: &str) -> Gateway {
        Gateway {
            ws: WsClient::connect(addr, query),
        }
    }

    /// Connect and read Hello; returns the heartbeat interval.
    pub fn connect(addr: SocketAddr) -> (Gateway, u64) {
        let mut gateway = Gateway::connect_raw(addr, "/?v=10&encoding=json");
        let hello = gateway.recv_json();
        assert_eq!(hello["op"], 10, "Hello first: {hello}");
        let interval = hello["d"]["heartbeat_interval"].as_u64().expect("interval");
        (gateway, interval)
    }

    pub fn send(&mut self, payload: &Value) {
        self.ws.send_text(&payload.to_string());
    }

    /// The next text message as JSON; panics on anything else.
    pub fn recv_json(&mut self) -> Value {
        match self.ws.recv() {
            Received::Text(text) => serde_json::from_str(&text).expect("server JSON"),
            other => panic!("expected a JSON text frame, got {other:?}"),
        }
    }

    /// Read until a Close frame; returns its code. Panics on EOF without one.
    pub fn expect_close(&mut self) -> u16 {
        loop {
            match self.ws.recv() {
                Received::Close(code, _) => return code.expect("a close code"),
                Received::Eof => panic!("connection ended without a close frame"),
                _ => {}
            }
        }
    }

    /// The next dispatch (op 0), skipping heartbeat ACKs.
    pub fn recv_dispatch(&mut self) -> Value {
        loop {
            let payload = self.recv_json();
            match payload["op"].as_u64() {
                Some(0) => return payload,
                Some(11) => {}
                _ => panic!("expected a dispatch, got {payload}"),
            }
        }
    }

    /// The next dispatch named `name`, skipping other dispatches.
    pub fn recv_named(&mut self, name: &str) -> Value {
        loop {
            let dispatch = self.recv_dispatch();
            if dispatch["t"] == name {
                return dispatch;
            }
        }
    }

    /// Reads dispatches up to the FLUX_TEST marker `n` (`inject_dispatch`), returning
    /// those before it.
    pub fn until_marker(&mut self, n: u64) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let dispatch = self.recv_dispatch();
            if dispatch["t"] == "FLUX_TEST" && dispatch["d"]["marker"] == n {
                return seen;
            }
            seen.push(dispatch);
        }
    }

    pub fn identify(&mut self, token: &str, intents: u64) {
        self.send(&json!({"op": 2, "d": {
            "token": token,
            "properties": {"os": "linux", "browser": "flux-test", "device": "flux-test"},
            "intents": intents,
        }}));
    }

    /// Identify and read READY and the GUILD_CREATEs; returns READY.
    pub fn identify_ready(&mut self, token: &str, intents: u64, guilds: usize) -> Value {
        self.identify(token, intents);
        let ready = self.recv_dispatch();
        assert_eq!(ready["t"], "READY", "{ready}");
        for _ in 0..guilds {
            let guild_create = self.recv_dispatch();
            assert_eq!(guild_create["t"], "GUILD_CREATE", "{guild_create}");
        }
        ready
    }

    pub fn resume(&mut self, token: &str, session_id: &str, seq: u64) {
        self.send(&json!({"op": 6, "d": {"token": token, "session_id": session_id, "seq": seq}}));
    }
}

/// `POST path` with a JSON body; the parsed response.
pub fn post(addr: SocketAddr, path: &str, body: &Value) -> HttpResponse {
    let body = body.to_string();
    let mut http = HttpClient::new(addr);
    http.send(
        format!(
            "POST {path} HTTP/1.1\r\nHost: flux\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    http.read_response().expect("a response")
}

/// `GET /_flux/metrics`.
pub fn metrics(addr: SocketAddr) -> Value {
    let mut http = HttpClient::new(addr);
    http.send(b"GET /_flux/metrics HTTP/1.1\r\nHost: flux\r\n\r\n");
    http.read_response().expect("a response").json()
}

/// Inject a dispatch into `guild_id` on every core; returns how many sessions took it.
pub fn inject_dispatch(addr: SocketAddr, guild_id: &str, name: &str, d: &Value) -> u64 {
    let response = post(
        addr,
        "/_flux/test/dispatch",
        &json!({"guild_id": guild_id, "t": name, "d": d}),
    );
    assert_eq!(response.status, 200, "{response:?}");
    response.json()["delivered"].as_u64().unwrap()
}

/// Drop every gateway connection on every core; returns how many.
pub fn drop_gateway_connections(addr: SocketAddr) -> u64 {
    let response = post(addr, "/_flux/test/drop-gateway-connections", &json!({}));
    assert_eq!(response.status, 200, "{response:?}");
    response.json()["dropped"].as_u64().unwrap()
}
