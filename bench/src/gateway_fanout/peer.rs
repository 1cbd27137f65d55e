//! The `fanout` suite's peer: the broadcast server one would write with tokio and
//! tokio-tungstenite, doing the same job as Flux minus everything that makes Flux a
//! server of record.
//!
//! What it does: accepts WebSockets (port `ws_addr`), sends Hello, answers IDENTIFY with a
//! READY, answers heartbeats; accepts keep-alive HTTP/1.1 (port `http_addr`), and for each
//! `POST /api/v10/channels/{id}/messages` builds a message object shaped like Flux's (id,
//! author, member, timestamp, …), sends it to every session through one
//! `tokio::sync::broadcast` channel, and answers 200 with it. Each session task frames the
//! shared `d` with its own `s`, as a gateway must.
//!
//! What it does NOT do, so the comparison must be read with this in mind: no fdatasync
//! and no storage at all (the 200 leaves before anything is durable), no token check, no
//! permission or intent checks, no rate limits, no per-core sharding of guild state. A
//! session that falls more than `BROADCAST_CAPACITY` messages behind loses messages
//! (`Lagged`), where Flux would keep them in the session's outbox or close it as a slow
//! consumer; the suite counts deliveries, so a loss shows up as a timeout.
//!
//! Cores: a multi-thread runtime with one worker per server core, each worker pinned to
//! one of the server's CPUs, the same CPUs Flux's reactors use in the same run.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// Messages a session may fall behind before it loses some.
const BROADCAST_CAPACITY: usize = 16_384;
/// The heartbeat interval the peer announces (Discord's).
const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// The ids the peer puts in its objects (any snowflakes do).
const GUILD_ID: u64 = 1_300_000_000_000_000_000;
const AUTHOR_ID: u64 = 1_300_000_000_000_000_001;

/// A running peer server.
pub struct Peer {
    runtime: Option<tokio::runtime::Runtime>,
    /// Where the sessions connect.
    pub ws_addr: SocketAddr,
    /// Where the publishers POST.
    pub http_addr: SocketAddr,
}

struct State {
    events: broadcast::Sender<Arc<str>>,
    next_id: AtomicU64,
}

impl Peer {
    /// Starts the peer with `workers` runtime threads pinned round robin to `cpus`.
    pub fn start(workers: usize, cpus: Vec<usize>) -> std::io::Result<Peer> {
        let started = AtomicUsize::new(0);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .enable_all()
            .on_thread_start(move || {
                if !cpus.is_empty() {
                    let index = started.fetch_add(1, Ordering::Relaxed);
                    let id = cpus[index % cpus.len()];
                    let _ = core_affinity::set_for_current(core_affinity::CoreId { id });
                }
            })
            .build()?;
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let (ws_listener, http_listener) = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                TcpListener::bind(loopback).await?,
                TcpListener::bind(loopback).await?,
            ))
        })?;
        let ws_addr = ws_listener.local_addr()?;
        let http_addr = http_listener.local_addr()?;
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        let state = Arc::new(State {
            events,
            next_id: AtomicU64::new(GUILD_ID + 1000),
        });
        let ws_state = Arc::clone(&state);
        runtime.spawn(accept_loop(ws_listener, move |stream| {
            tokio::spawn(serve_session(stream, Arc::clone(&ws_state)));
        }));
        runtime.spawn(accept_loop(http_listener, move |stream| {
            tokio::spawn(serve_http(stream, Arc::clone(&state)));
        }));
        Ok(Peer {
            runtime: Some(runtime),
            ws_addr,
            http_addr,
        })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
}

async fn accept_loop(listener: TcpListener, spawn: impl Fn(TcpStream)) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        spawn(stream);
    }
}

/// One gateway session: Hello, IDENTIFY → READY, then every broadcast message as a
/// MESSAGE_CREATE with this session's next `s`.
async fn serve_session(stream: TcpStream, state: Arc<State>) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let hello = format!("{{\"op\":10,\"d\":{{\"heartbeat_interval\":{HEARTBEAT_INTERVAL_MS}}}}}");
    if ws.send(Message::text(hello)).await.is_err() {
        return;
    }
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str().contains("\"op\":2") => break,
            Some(Ok(_)) => continue,
            _ => return,
        }
    }
    // Subscribe before READY, so every message POSTed after the client saw READY reaches it.
    let mut events = state.events.subscribe();
    let mut seq: u64 = 1;
    let ready = format!(
        "{{\"op\":0,\"s\":{seq},\"t\":\"READY\",\"d\":{{\"v\":10,\"session_id\":\"peer\",\
         \"user\":{{\"id\":\"{AUTHOR_ID}\",\"username\":\"peer\",\"bot\":true}},\
         \"guilds\":[{{\"id\":\"{GUILD_ID}\",\"unavailable\":true}}]}}}}"
    );
    if ws.send(Message::text(ready)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(d) => {
                    seq += 1;
                    let frame = format!("{{\"op\":0,\"s\":{seq},\"t\":\"MESSAGE_CREATE\",\"d\":{d}}}");
                    if ws.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) if text.as_str().contains("\"op\":1") => {
                    if ws.send(Message::text("{\"op\":11}")).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// One keep-alive HTTP/1.1 connection; only the create-message route exists.
async fn serve_http(mut stream: TcpStream, state: Arc<State>) {
    let mut buffer = Vec::with_capacity(4096);
    loop {
        let Some((head_len, path_ok, body_len)) = read_head(&mut stream, &mut buffer).await else {
            return;
        };
        while buffer.len() < head_len + body_len {
            if read_more(&mut stream, &mut buffer).await.is_none() {
                return;
            }
        }
        let body = &buffer[head_len..head_len + body_len];
        let answer = match (path_ok, content_of(body)) {
            (true, Some(content)) => {
                let message = message_json(&state, &content);
                // No receivers yet is not an error for a broadcast server.
                let _ = state.events.send(Arc::from(message.as_str()));
                response(200, &message)
            }
            _ => response(404, "{\"message\":\"Unknown route\",\"code\":0}"),
        };
        buffer.drain(..head_len + body_len);
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one request head; returns its length, whether it is a create-message POST, and
/// its Content-Length.
async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(usize, bool, usize)> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(buffer) {
            Ok(httparse::Status::Complete(head_len)) => {
                let path_ok = request.method == Some("POST")
                    && request.path.is_some_and(|p| {
                        p.starts_with("/api/v10/channels/") && p.ends_with("/messages")
                    });
                let body_len = request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                return Some((head_len, path_ok, body_len));
            }
            Ok(httparse::Status::Partial) => read_more(stream, buffer).await?,
            Err(_) => return None,
        }
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(read) => {
            buffer.extend_from_slice(&chunk[..read]);
            Some(())
        }
    }
}

fn content_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(value.get("content")?.as_str()?.to_owned())
}

/// A message object with the fields Flux sends for a guild message.
fn message_json(state: &State, content: &str) -> String {
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    serde_json::json!({
        "id": id.to_string(),
        "channel_id": (GUILD_ID + 1).to_string(),
        "guild_id": GUILD_ID.to_string(),
        "type": 0,
        "content": content,
        "author": {
            "id": AUTHOR_ID.to_string(), "username": "flux-bot-a", "discriminator": "0",
            "global_name": null, "avatar": null, "bot": true, "public_flags": 0,
        },
        "member": {
            "roles": [], "nick": null, "avatar": null, "joined_at": "2026-11-23T00:00:00.000000+00:00",
            "premium_since": null, "deaf": false, "mute": false, "flags": 0, "pending": false,
        },
        "timestamp": "2026-11-23T00:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "flags": 0,
        "components": [],
    })
    .to_string()
}

fn response(status: u16, body: &str) -> String {
    let reason = if status == 200 { "OK" } else { "Not Found" };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}
