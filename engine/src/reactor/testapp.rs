//! A small built-in application that exercises every part of the reactor seam.
//!
//! It is what `Server::start` runs until the gateway and REST applications are wired in,
//! and what the reactor's integration tests talk to:
//!
//! - `GET /health` answers `{"ok":true,"core":N}`; `POST /echo` answers the body back;
//!   `GET /later` answers on the next tick through `Outbox::respond` (an asynchronous
//!   answer), `GET /later/N` about N milliseconds later with `{"later":true,"ms":N,
//!   "answered":K}` (K: how many delayed answers this core gave before it, so a test sees
//!   the order the application finished in); `GET /answer-later` answers every waiting
//!   `/later` request at once, from inside its own handler, then itself with
//!   `{"answered_later":N}`; anything else is a JSON 404.
//! - Any request with `Upgrade: websocket` is accepted as a WebSocket, whatever its path.
//! - On a WebSocket it echoes text and binary messages, with five commands:
//!   `close` (closes with 1000), `abort` (drops the connection without a close frame),
//!   `written` (answers `written N`, the bytes `App::handle_written` reported so far),
//!   `mesh K` (a round trip through core K, answered `mesh pong from core K`) and
//!   `flood N SIZE` (N binary frames of SIZE bytes, for slow-consumer tests); `listener`
//!   answers `listener main` or `listener voice`, the listener the upgrade came in on;
//!   `datagram ADDR TEXT` sends TEXT as a UDP datagram to ADDR from the core's voice socket.
//! - `GET /listener` answers `{"listener":"main"}` or `{"listener":"voice"}`.
//! - A UDP datagram on a core's voice socket is echoed to its sender, prefixed with `echo:`.
//! - On shutdown it sends `reconnect` to every open WebSocket, standing in for the
//!   gateway's op 7.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::app::{App, CoreInfo, HttpAnswer, WsMessage};
use super::{ConnId, Outbox};
use crate::http::{Request, Response};

/// What the test application's cores send each other.
#[derive(Debug)]
pub enum EchoMesh {
    /// Please answer `Pong` to `reply_core` for `conn`.
    Ping {
        /// The core to answer.
        reply_core: usize,
        /// The connection on that core waiting for the answer.
        conn: ConnId,
    },
    /// The answer to a `Ping`, from core `from`.
    Pong {
        /// The waiting connection.
        conn: ConnId,
        /// Who answered.
        from: usize,
    },
}

/// The built-in test application (one per core).
#[derive(Debug)]
pub struct EchoApp {
    core: usize,
    open: BTreeSet<ConnId>,
    /// Delayed answers: (due, arrival order) → the request.
    later: BTreeMap<(std::time::Instant, u64), (ConnId, Option<u64>)>,
    later_seq: u64,
    later_answered: u64,
    written: BTreeMap<ConnId, usize>,
    /// The listener each open WebSocket's upgrade came in on.
    listeners: BTreeMap<ConnId, crate::http::Listener>,
    /// Reused for each datagram's echo.
    echo: Vec<u8>,
}

impl EchoApp {
    /// The application for one core.
    pub fn new(info: &CoreInfo) -> EchoApp {
        EchoApp {
            core: info.core,
            open: BTreeSet::new(),
            later: BTreeMap::new(),
            later_seq: 0,
            later_answered: 0,
            written: BTreeMap::new(),
            listeners: BTreeMap::new(),
            echo: Vec::new(),
        }
    }
}

impl App for EchoApp {
    type Mesh = EchoMesh;

    fn handle_http(
        &mut self,
        out: &mut Outbox<EchoMesh>,
        conn: ConnId,
        request: &Request,
    ) -> HttpAnswer {
        if crate::http::upgrade::is_upgrade_request(request) {
            return HttpAnswer::Upgrade;
        }
        match (request.method.as_str(), request.path()) {
            ("GET", "/health") => {
                let body = format!(r#"{{"ok":true,"core":{}}}"#, self.core);
                HttpAnswer::Respond(Response::json(200, body.into_bytes()))
            }
            ("POST", "/echo") => HttpAnswer::Respond(Response::json(200, request.body.clone())),
            ("GET", "/listener") => {
                let body = format!(r#"{{"listener":"{}"}}"#, listener_name(request.listener));
                HttpAnswer::Respond(Response::json(200, body.into_bytes()))
            }
            ("GET", path) if path == "/later" || path.starts_with("/later/") => {
                let ms = path
                    .strip_prefix("/later/")
                    .and_then(|ms| ms.parse::<u64>().ok())
                    .map(|ms| ms.min(1000));
                let due = out.now() + Duration::from_millis(ms.unwrap_or(1));
                self.later_seq += 1;
                self.later.insert((due, self.later_seq), (conn, ms));
                out.wake_at(due);
                HttpAnswer::Later
            }
            ("GET", "/answer-later") => {
                let waiting = std::mem::take(&mut self.later);
                for (conn, _) in waiting.values() {
                    out.respond(*conn, Response::json(200, br#"{"later":true}"#.to_vec()));
                }
                let body = format!(r#"{{"answered_later":{}}}"#, waiting.len());
                HttpAnswer::Respond(Response::json(200, body.into_bytes()))
            }
            _ => HttpAnswer::Respond(Response::not_found()),
        }
    }

    fn handle_ws_open(&mut self, _: &mut Outbox<EchoMesh>, conn: ConnId, request: &Request) {
        self.open.insert(conn);
        self.listeners.insert(conn, request.listener);
    }

    fn handle_ws_message(
        &mut self,
        out: &mut Outbox<EchoMesh>,
        conn: ConnId,
        message: WsMessage<'_>,
    ) {
        match message {
            WsMessage::Text("close") => out.close(conn, 1000, "bye"),
            WsMessage::Text("abort") => out.abort(conn),
            WsMessage::Text("listener") => {
                let listener = self.listeners.get(&conn).copied().unwrap_or_default();
                out.send_text(conn, format!("listener {}", listener_name(listener)));
            }
            WsMessage::Text("written") => {
                let written = self.written.get(&conn).copied().unwrap_or(0);
                out.send_text(conn, format!("written {written}"));
            }
            WsMessage::Text(text) if text.starts_with("mesh ") => {
                match text[5..].trim().parse::<usize>() {
                    Ok(core) if core < out.cores() => out.send_mesh(
                        core,
                        EchoMesh::Ping {
                            reply_core: self.core,
                            conn,
                        },
                    ),
                    _ => out.send_text(conn, "no such core"),
                }
            }
            WsMessage::Text(text) if text.starts_with("datagram ") => {
                let mut parts = text[9..].splitn(2, ' ');
                match parts.next().and_then(|addr| addr.parse().ok()) {
                    Some(to) => out.send_datagram(to, parts.next().unwrap_or("").as_bytes()),
                    None => out.send_text(conn, "no such address"),
                }
            }
            WsMessage::Text(text) if text.starts_with("flood ") => {
                let mut numbers = text[6..]
                    .split(' ')
                    .map(|n| n.parse::<usize>().unwrap_or(0));
                let (count, size) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
                for _ in 0..count.min(100_000) {
                    out.send_binary(conn, vec![b'x'; size.min(1 << 20)]);
                }
            }
            WsMessage::Text(text) => out.send_text(conn, text),
            WsMessage::Binary(bytes) => out.send_binary(conn, bytes.to_vec()),
        }
    }

    fn handle_written(&mut self, _: &mut Outbox<EchoMesh>, conn: ConnId, bytes: usize) {
        assert!(
            self.open.contains(&conn),
            "written is reported for open WebSockets only"
        );
        *self.written.entry(conn).or_default() += bytes;
    }

    fn handle_closed(&mut self, _: &mut Outbox<EchoMesh>, conn: ConnId, _: &super::CloseCause) {
        self.open.remove(&conn);
        self.written.remove(&conn);
        self.listeners.remove(&conn);
        self.later.retain(|_, (waiting, _)| *waiting != conn);
    }

    fn handle_tick(
        &mut self,
        out: &mut Outbox<EchoMesh>,
        now: std::time::Instant,
    ) -> Option<std::time::Instant> {
        while let Some(entry) = self.later.first_entry() {
            if entry.key().0 > now {
                return Some(entry.key().0);
            }
            let (conn, ms) = entry.remove();
            let body = match ms {
                None => r#"{"later":true}"#.to_string(),
                Some(ms) => {
                    let answered = self.later_answered;
                    self.later_answered += 1;
                    format!(r#"{{"later":true,"ms":{ms},"answered":{answered}}}"#)
                }
            };
            out.respond(conn, Response::json(200, body.into_bytes()));
        }
        None
    }

    fn handle_mesh(&mut self, out: &mut Outbox<EchoMesh>, _: usize, message: EchoMesh) {
        match message {
            EchoMesh::Ping { reply_core, conn } => out.send_mesh(
                reply_core,
                EchoMesh::Pong {
                    conn,
                    from: self.core,
                },
            ),
            EchoMesh::Pong { conn, from } => {
                out.send_text(conn, format!("mesh pong from core {from}"))
            }
        }
    }

    fn handle_datagram(
        &mut self,
        out: &mut Outbox<EchoMesh>,
        from: std::net::SocketAddr,
        datagram: &[u8],
    ) {
        self.echo.clear();
        self.echo.extend_from_slice(b"echo:");
        self.echo.extend_from_slice(datagram);
        out.send_datagram(from, &self.echo);
    }

    fn handle_shutdown(&mut self, out: &mut Outbox<EchoMesh>) {
        for &conn in &self.open {
            out.send_text(conn, "reconnect");
        }
    }
}

fn listener_name(listener: crate::http::Listener) -> &'static str {
    match listener {
        crate::http::Listener::Main => "main",
        crate::http::Listener::Voice => "voice",
    }
}
