//! One gateway session of the `fanout` suite: connect, Hello, IDENTIFY, READY, then
//! heartbeat and time every MESSAGE_CREATE.
//!
//! Fields are found by substring, not by a JSON parser, so the client spends as little as
//! possible per event and the server is what is measured. This relies on the suite's own
//! contents (`{seq}:{sent_ns}`, never escaped) and on `"s":` and `"t":` being top-level
//! keys in both servers' frames.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio_tungstenite::tungstenite::Message;

use super::{Shared, INTENTS};

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

pub(super) async fn session(
    ws_addr: SocketAddr,
    token: &str,
    shared: &Shared,
    histogram: &RefCell<Histogram<u64>>,
    connects: &tokio::sync::Semaphore,
) -> Result<(), String> {
    let (mut ws, heartbeat_ms) = {
        let _permit = connects.acquire().await.map_err(|e| e.to_string())?;
        identify(ws_addr, token).await?
    };
    shared.ready.fetch_add(1, Ordering::AcqRel);
    let mut seq: Option<u64> = None;
    let period = Duration::from_millis(heartbeat_ms.max(1));
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            message = ws.next() => {
                let owned = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => return Err(format!("server closed a session: {frame:?}")),
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => return Err(format!("session read: {error}")),
                    None => return Err("session stream ended".into()),
                };
                let text = owned.as_str();
                if let Some(s) = field_u64(text, "\"s\":") {
                    seq = Some(s);
                }
                if text.contains("\"t\":\"MESSAGE_CREATE\"") {
                    record_event(text, shared, histogram)?;
                } else if text.contains("\"op\":1,") || text.contains("\"op\":1}") {
                    ws.send(heartbeat_frame(seq)).await.map_err(|e| e.to_string())?;
                }
            }
            _ = heartbeat.tick() => {
                ws.send(heartbeat_frame(seq)).await.map_err(|e| format!("heartbeat: {e}"))?;
            }
        }
    }
}

async fn identify(ws_addr: SocketAddr, token: &str) -> Result<(Ws, u64), String> {
    let stream = tokio::net::TcpStream::connect(ws_addr)
        .await
        .map_err(|e| format!("session connect to {ws_addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let url = format!("ws://{ws_addr}/?v=10&encoding=json");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(|e| format!("WebSocket handshake: {e}"))?;
    let hello = next_text(&mut ws).await?;
    let heartbeat_ms =
        field_u64(&hello, "\"heartbeat_interval\":").ok_or("Hello without heartbeat_interval")?;
    let identify = format!(
        "{{\"op\":2,\"d\":{{\"token\":\"Bot {token}\",\"intents\":{INTENTS},\
         \"properties\":{{\"os\":\"linux\",\"browser\":\"flux-bench\",\"device\":\"flux-bench\"}}}}}}"
    );
    ws.send(Message::text(identify))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let text = next_text(&mut ws).await?;
        if text.contains("\"t\":\"READY\"") {
            return Ok((ws, heartbeat_ms));
        }
        if text.contains("\"op\":9") {
            return Err(format!("IDENTIFY refused: {text}"));
        }
    }
}

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed while identifying: {frame:?}"))
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(format!("read while identifying: {error}")),
            None => return Err("stream ended while identifying".into()),
        }
    }
}

fn heartbeat_frame(seq: Option<u64>) -> Message {
    match seq {
        Some(seq) => Message::text(format!("{{\"op\":1,\"d\":{seq}}}")),
        None => Message::text("{\"op\":1,\"d\":null}"),
    }
}

/// Times one MESSAGE_CREATE from the `{seq}:{sent_ns}` in its `content`.
fn record_event(
    text: &str,
    shared: &Shared,
    histogram: &RefCell<Histogram<u64>>,
) -> Result<(), String> {
    let now_ns = shared.now_ns();
    let content = field_str(text, "\"content\":\"").ok_or("MESSAGE_CREATE without content")?;
    if content.starts_with('w') {
        shared.warm.fetch_add(1, Ordering::AcqRel);
        shared.event_bytes.store(text.len(), Ordering::Relaxed);
        return Ok(());
    }
    let (seq, sent_ns) = content
        .split_once(':')
        .and_then(|(seq, sent)| Some((seq.parse::<u64>().ok()?, sent.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("content not written by this run: {content:?}"))?;
    histogram
        .borrow_mut()
        .saturating_record(now_ns.saturating_sub(sent_ns));
    shared.checksum.fetch_add(seq, Ordering::Relaxed);
    shared.last_delivery_ns.fetch_max(now_ns, Ordering::AcqRel);
    shared.delivered.fetch_add(1, Ordering::AcqRel);
    Ok(())
}

/// The digits after the first `key` in `text`.
fn field_u64(text: &str, key: &str) -> Option<u64> {
    let rest = &text[text.find(key)? + key.len()..];
    let digits = rest.trim_start();
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The string after the first `key` (which ends with the opening quote), up to the next
/// quote; our contents never hold escapes.
fn field_str<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let rest = &text[text.find(key)? + key.len()..];
    Some(&rest[..rest.find('"')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_by_key() {
        let text = r#"{"op":0,"s":17,"t":"MESSAGE_CREATE","d":{"content":"5:900","id":"1"}}"#;
        assert_eq!(field_u64(text, "\"s\":"), Some(17));
        assert_eq!(field_str(text, "\"content\":\""), Some("5:900"));
        assert_eq!(field_u64(text, "\"x\":"), None);
    }
}
