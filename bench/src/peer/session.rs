//! One gateway session of the peer: Hello, IDENTIFY → READY and GUILD_CREATE, heartbeat
//! ACKs, then every broadcast event as a dispatch with this session's next `s`.
//!
//! Fan-out is feed-then-flush: when an event arrives the session splices its `s` into the
//! shared `d` and `feed`s the frame (tungstenite buffers it), then `try_recv`s every event
//! already queued and feeds each, then flushes once. Under load one flush carries many
//! frames, which is the strongest form a tokio-tungstenite server can take without
//! leaving the library.
//!
//! A session that falls more than the broadcast capacity behind (`RecvError::Lagged`) is
//! closed with 4000 and counted in `State::sessions_lagged`; it never skips silently.
//! RESUME is answered with op 9 `d:false` (the peer replays nothing), a second IDENTIFY
//! closes with 4005, and other opcodes are ignored.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::message::Event;
use super::transport::Transport;
use super::{State, HEARTBEAT_INTERVAL_MS};

type Ws = WebSocketStream<TcpStream>;

/// How long a closing session may take to get its close frame out.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The opcode of a client payload; the rest is not read.
#[derive(serde::Deserialize)]
struct Incoming {
    op: u8,
}

/// Why a session ended early; it is dropped either way.
struct Ended;

/// Runs one session until the client leaves or the session is closed.
pub(super) async fn run_session(mut ws: Ws, mut transport: Transport, state: Arc<State>) {
    let hello = format!("{{\"op\":10,\"d\":{{\"heartbeat_interval\":{HEARTBEAT_INTERVAL_MS}}}}}");
    if send(&mut ws, &mut transport, hello).await.is_err() {
        return;
    }
    // Before IDENTIFY the session only reads.
    loop {
        match next_op(&mut ws).await {
            Ok(Some(2)) => break,
            Ok(Some(op)) => {
                if answer_op(&mut ws, &mut transport, op).await.is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(Ended) => return,
        }
    }
    // Subscribe before READY, so every event published after the client saw READY reaches it.
    let mut events = state.events.subscribe();
    let session_number = state.sessions_identified.fetch_add(1, Ordering::Relaxed);
    let mut seq = 0u64;
    for (name, d) in [
        ("READY", state.ready_json(session_number)),
        ("GUILD_CREATE", state.guild_create_json()),
    ] {
        seq += 1;
        let frame = encode_dispatch(seq, name, &d);
        if feed(&mut ws, &mut transport, frame).await.is_err() {
            return;
        }
    }
    if ws.flush().await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => {
                let result = match event {
                    Ok(first) => {
                        let queued = &mut events;
                        fan_out(&mut ws, &mut transport, queued, &mut seq, &first, &state).await
                    }
                    Err(RecvError::Lagged(missed)) => lagged(&mut ws, missed, &state).await,
                    Err(RecvError::Closed) => Err(Ended),
                };
                if result.is_err() {
                    return;
                }
            }
            op = next_op(&mut ws) => match op {
                Ok(Some(2)) => {
                    let _ = close(&mut ws, 4005, "Already authenticated").await;
                    return;
                }
                Ok(Some(op)) => {
                    if answer_op(&mut ws, &mut transport, op).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(Ended) => return,
            },
        }
    }
}

/// Feeds `first` and every event already queued, then flushes once.
async fn fan_out(
    ws: &mut Ws,
    transport: &mut Transport,
    events: &mut tokio::sync::broadcast::Receiver<Arc<Event>>,
    seq: &mut u64,
    first: &Event,
    state: &State,
) -> Result<(), Ended> {
    *seq += 1;
    feed(ws, transport, encode_dispatch(*seq, first.name, &first.d)).await?;
    // Bounded by the broadcast capacity: at most that many events can be queued.
    loop {
        match events.try_recv() {
            Ok(event) => {
                *seq += 1;
                feed(ws, transport, encode_dispatch(*seq, event.name, &event.d)).await?;
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Lagged(missed)) => return lagged(ws, missed, state).await,
            Err(TryRecvError::Closed) => return Err(Ended),
        }
    }
    ws.flush().await.map_err(|_| Ended)
}

/// `{"op":0,"s":N,"t":"NAME","d":` + d + `}`.
fn encode_dispatch(seq: u64, name: &str, d: &str) -> String {
    let mut frame = String::with_capacity(d.len() + name.len() + 40);
    // Writing to a String cannot fail.
    let _ = write!(frame, "{{\"op\":0,\"s\":{seq},\"t\":\"{name}\",\"d\":");
    frame.push_str(d);
    frame.push('}');
    frame
}

/// Answers a client opcode other than IDENTIFY.
async fn answer_op(ws: &mut Ws, transport: &mut Transport, op: u8) -> Result<(), Ended> {
    match op {
        1 => send(ws, transport, "{\"op\":11,\"d\":null}".into()).await,
        // The peer keeps no session state to resume from.
        6 => send(ws, transport, "{\"op\":9,\"d\":false}".into()).await,
        _ => Ok(()),
    }
}

/// The next client opcode: `Ok(None)` for a frame that carries none (ping, pong, or a
/// payload that is not JSON with an `op`).
async fn next_op(ws: &mut Ws) -> Result<Option<u8>, Ended> {
    let message = match ws.next().await {
        Some(Ok(message)) => message,
        Some(Err(_)) | None => return Err(Ended),
    };
    let payload: &[u8] = match &message {
        Message::Text(text) => text.as_bytes(),
        Message::Binary(bytes) => bytes,
        // tungstenite queued the pong; it leaves with this flush.
        Message::Ping(_) => {
            ws.flush().await.map_err(|_| Ended)?;
            return Ok(None);
        }
        Message::Close(_) => return Err(Ended),
        Message::Pong(_) | Message::Frame(_) => return Ok(None),
    };
    Ok(serde_json::from_slice::<Incoming>(payload)
        .ok()
        .map(|incoming| incoming.op))
}

async fn lagged(ws: &mut Ws, missed: u64, state: &State) -> Result<(), Ended> {
    let before = state.sessions_lagged.fetch_add(1, Ordering::Relaxed);
    if before == 0 {
        eprintln!(
            "peer: a session fell {missed} events behind the broadcast and was closed with \
             4000; GET /peer/stats counts every such session"
        );
    }
    let _ = close(ws, 4000, "Lagged behind the broadcast").await;
    Err(Ended)
}

async fn close(ws: &mut Ws, code: u16, reason: &'static str) -> Result<(), Ended> {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from_static(reason),
    };
    match tokio::time::timeout(CLOSE_TIMEOUT, ws.close(Some(frame))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(Ended),
    }
}

async fn feed(ws: &mut Ws, transport: &mut Transport, payload: String) -> Result<(), Ended> {
    let message = transport.encode(payload).map_err(|error| {
        eprintln!("peer: {}", error.0);
        Ended
    })?;
    ws.feed(message).await.map_err(|_| Ended)
}

async fn send(ws: &mut Ws, transport: &mut Transport, payload: String) -> Result<(), Ended> {
    feed(ws, transport, payload).await?;
    ws.flush().await.map_err(|_| Ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_splice_seq_and_name_around_d() {
        assert_eq!(
            encode_dispatch(7, "MESSAGE_CREATE", "{\"id\":\"1\"}"),
            "{\"op\":0,\"s\":7,\"t\":\"MESSAGE_CREATE\",\"d\":{\"id\":\"1\"}}"
        );
    }
}
