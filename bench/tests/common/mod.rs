//! What the peer's tests share: starting the peer in a thread, a gateway client that
//! decodes plain, zlib-stream and zstd-stream sessions, and a pipelining publisher.
//!
//! The client is deliberately independent of the peer's code: tokio-tungstenite for the
//! WebSocket, flate2 and zstd's own decoders for the streams, httparse for answers.

#![allow(dead_code)] // Each test file uses a different part.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long any one step may wait before the test fails instead of hanging.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts `bench::peer::serve` on 127.0.0.1:0 in a thread (it serves until the test
/// process ends) and returns its address.
pub fn start_peer(workers: usize) -> SocketAddr {
    let (bound, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let options = bench::peer::PeerOptions {
            listen: ([127, 0, 0, 1], 0).into(),
            workers,
        };
        bench::peer::serve(options, move |addr| bound.send(addr).unwrap()).unwrap();
    });
    listening
        .recv_timeout(STEP_TIMEOUT)
        .expect("peer listening")
}

/// A current-thread runtime for the test's clients.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One gateway client and its stream decoder.
pub struct Client {
    pub ws: WebSocketStream<tokio::net::TcpStream>,
    decoder: Decoder,
}

enum Decoder {
    Plain,
    Zlib(flate2::Decompress),
    Zstd(zstd::stream::raw::Decoder<'static>),
}

impl Client {
    /// Connects to `addr` with `compress` (`zlib-stream`, `zstd-stream` or none).
    pub async fn connect(addr: SocketAddr, compress: Option<&str>) -> Client {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut url = format!("ws://{addr}/?v=10&encoding=json");
        if let Some(compress) = compress {
            url.push_str("&compress=");
            url.push_str(compress);
        }
        let (ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
        let decoder = match compress {
            None => Decoder::Plain,
            Some("zlib-stream") => Decoder::Zlib(flate2::Decompress::new(true)),
            Some(_) => Decoder::Zstd(zstd::stream::raw::Decoder::new().unwrap()),
        };
        Client { ws, decoder }
    }

    /// The next payload as text, decompressed when the session is compressed.
    pub async fn next_payload(&mut self) -> String {
        loop {
            let message = tokio::time::timeout(STEP_TIMEOUT, self.ws.next())
                .await
                .expect("a payload before the timeout")
                .expect("the stream is open")
                .expect("a valid frame");
            match (message, &mut self.decoder) {
                (Message::Text(text), Decoder::Plain) => return text.as_str().to_owned(),
                (Message::Binary(wire), Decoder::Zlib(inflate)) => {
                    assert!(wire.ends_with(&[0, 0, 0xff, 0xff]), "sync flush marker");
                    let mut out = Vec::with_capacity(wire.len() * 8 + 4096);
                    inflate
                        .decompress_vec(&wire, &mut out, flate2::FlushDecompress::Sync)
                        .unwrap();
                    return String::from_utf8(out).unwrap();
                }
                (Message::Binary(wire), Decoder::Zstd(decoder)) => {
                    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                    let mut out = vec![0u8; wire.len() * 16 + 4096];
                    let mut input = InBuffer::around(&wire[..]);
                    let mut output = OutBuffer::around(&mut out[..]);
                    decoder.run(&mut input, &mut output).unwrap();
                    assert_eq!(input.pos(), wire.len(), "one message, one chunk");
                    let written = output.pos();
                    out.truncate(written);
                    return String::from_utf8(out).unwrap();
                }
                (Message::Ping(_) | Message::Pong(_), _) => continue,
                (other, _) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_owned())).await.unwrap();
    }

    /// Hello, IDENTIFY, then READY (s=1) and GUILD_CREATE (s=2); returns GUILD_CREATE's
    /// first text channel id.
    pub async fn identify(&mut self, token: &str, intents: u32) -> String {
        let hello: serde_json::Value = serde_json::from_str(&self.next_payload().await).unwrap();
        assert_eq!(hello["op"], 10, "{hello}");
        assert!(hello["d"]["heartbeat_interval"].as_u64().unwrap() > 0);
        let identify = format!(
            "{{\"op\":2,\"d\":{{\"token\":\"{token}\",\"intents\":{intents},\
             \"properties\":{{\"os\":\"linux\",\"browser\":\"test\",\"device\":\"test\"}}}}}}"
        );
        self.send_text(&identify).await;
        loop {
            let payload: serde_json::Value =
                serde_json::from_str(&self.next_payload().await).unwrap();
            if payload["t"] == "READY" {
                assert_eq!(payload["s"], 1, "{payload}");
                assert!(payload["d"]["session_id"].is_string(), "{payload}");
            }
            if payload["t"] == "GUILD_CREATE" {
                assert_eq!(payload["s"], 2, "{payload}");
                let channels = payload["d"]["channels"].as_array().unwrap();
                let text = channels.iter().find(|channel| channel["type"] == 0);
                return text.unwrap()["id"].as_str().unwrap().to_owned();
            }
        }
    }

    /// The next MESSAGE_CREATE: its `s` and its `d` exactly as sent.
    pub async fn next_message_create(&mut self) -> (u64, String) {
        loop {
            let text = self.next_payload().await;
            if let Some(parsed) = split_dispatch(&text, "MESSAGE_CREATE") {
                return parsed;
            }
        }
    }
}

/// `{"op":0,"s":N,"t":"NAME","d":D}` → `(N, D)` when the name matches, D byte for byte.
pub fn split_dispatch(text: &str, name: &str) -> Option<(u64, String)> {
    let rest = text.strip_prefix("{\"op\":0,\"s\":")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let seq = rest[..digits].parse().ok()?;
    let rest = rest[digits..].strip_prefix(&format!(",\"t\":\"{name}\",\"d\":"))?;
    Some((seq, rest.strip_suffix('}')?.to_owned()))
}

/// Writes every body as one pipelined batch of `POST /channels/{channel_id}/messages` on
/// one keep-alive connection, then reads the answers in order; returns their bodies.
pub fn post_pipelined(
    addr: SocketAddr,
    authorization: &str,
    channel_id: &str,
    bodies: &[String],
) -> Vec<String> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(STEP_TIMEOUT)).unwrap();
    let mut batch = Vec::new();
    for body in bodies {
        write!(
            batch,
            "POST /api/v10/channels/{channel_id}/messages HTTP/1.1\r\nHost: test\r\n\
             Authorization: {authorization}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    }
    stream.write_all(&batch).unwrap();
    let mut buffer = Vec::new();
    let mut answers = Vec::new();
    let mut start = 0;
    while answers.len() < bodies.len() {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        if let Ok(httparse::Status::Complete(head_len)) = response.parse(&buffer[start..]) {
            let length: usize = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                .unwrap();
            let end = start + head_len + length;
            if buffer.len() >= end {
                let body = String::from_utf8(buffer[start + head_len..end].to_vec()).unwrap();
                assert_eq!(response.code, Some(200), "{body}");
                answers.push(body);
                start = end;
                continue;
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        let read = match stream.read(&mut chunk) {
            // A signal for another thread of this process can interrupt a read that has a
            // timeout set (signal(7)); it is not an answer.
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            read => read.unwrap(),
        };
        assert!(
            read > 0,
            "connection closed after {} answers",
            answers.len()
        );
        buffer.extend_from_slice(&chunk[..read]);
    }
    assert_eq!(start, buffer.len(), "no answer beyond the requests");
    answers
}

/// One GET on a fresh connection; returns the body.
pub fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(STEP_TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}
