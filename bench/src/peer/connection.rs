//! One accepted connection on the peer's single port: read the first request head, then
//! hand the socket to the gateway (a WebSocket upgrade) or to HTTP (anything else), as
//! Flux does on its one port.
//!
//! The upgrade is answered here (RFC 6455 §4.2.2: `101` with `Sec-WebSocket-Accept`), and
//! the socket becomes a `tokio_tungstenite::WebSocketStream` with a 4 KiB read buffer,
//! which is what `accept_hdr_async` would build after the same checks. Bytes read past the
//! head are kept: for HTTP they are pipelined requests, for a WebSocket the first frames.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::transport::Transport;
use super::{http, session, State};

/// The most a first request head may take before the connection is dropped.
const HEAD_BYTES_MAX: usize = 16 * 1024;
/// tungstenite's read buffer per session: small, since clients send little.
const WS_READ_BUFFER_BYTES: usize = 4 * 1024;

/// What the first request head asked for.
enum FirstRequest {
    /// A WebSocket upgrade: the accept key and the `compress=` query value.
    Upgrade {
        accept_key: String,
        compress: Option<String>,
    },
    /// Anything else; HTTP parses it again with the rest of the connection.
    Http,
}

/// Serves one connection until it closes.
pub(super) async fn handle_connection(mut stream: TcpStream, state: Arc<State>) {
    let mut buffer = Vec::with_capacity(4096);
    let (first, head_len) = loop {
        match parse_first_request(&buffer) {
            Ok(Some(parsed)) => break parsed,
            Ok(None) if buffer.len() < HEAD_BYTES_MAX => {}
            // A head too long or malformed: HTTP answers 400 and closes.
            Ok(None) | Err(()) => break (FirstRequest::Http, 0),
        }
        buffer.reserve(4096);
        match stream.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    };
    match first {
        FirstRequest::Http => http::serve_http(stream, buffer, state).await,
        FirstRequest::Upgrade {
            accept_key,
            compress,
        } => {
            let Some(transport) = Transport::for_query(compress.as_deref()) else {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
                return;
            };
            let Ok(transport) = transport else { return };
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {accept_key}\r\n\r\n"
            );
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
            let rest = buffer.split_off(head_len);
            let config = WebSocketConfig::default().read_buffer_size(WS_READ_BUFFER_BYTES);
            let ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config))
                .await;
            session::run_session(ws, transport, state).await;
        }
    }
}

/// Parses the head at the start of `buffer`: `Ok(None)` while it is incomplete.
fn parse_first_request(buffer: &[u8]) -> Result<Option<(FirstRequest, usize)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buffer) {
        Ok(httparse::Status::Complete(head_len)) => head_len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    let upgrade = request.method == Some("GET")
        && header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = header("sec-websocket-key");
    let first = match (upgrade, key) {
        (true, Some(key)) => FirstRequest::Upgrade {
            accept_key: derive_accept_key(key.trim().as_bytes()),
            compress: query_value(request.path.unwrap_or("/"), "compress").map(str::to_owned),
        },
        _ => FirstRequest::Http,
    };
    Ok(Some((first, head_len)))
}

/// The value of `name` in the query of `path`, if any.
fn query_value<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = path.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_found() {
        let path = "/?v=10&encoding=json&compress=zlib-stream";
        assert_eq!(query_value(path, "compress"), Some("zlib-stream"));
        assert_eq!(query_value(path, "encoding"), Some("json"));
        assert_eq!(query_value("/?v=10", "compress"), None);
        assert_eq!(query_value("/", "compress"), None);
    }

    #[test]
    fn upgrade_and_http_heads_are_told_apart() {
        let upgrade = b"GET /?v=10&encoding=json HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\n\r\n";
        let Ok(Some((FirstRequest::Upgrade { accept_key, .. }, len))) =
            parse_first_request(upgrade)
        else {
            panic!("an upgrade");
        };
        // RFC 6455 §1.3's example key and answer.
        assert_eq!(accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(len, upgrade.len());
        let post = b"POST /api/v10/channels/1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
        assert!(matches!(
            parse_first_request(post),
            Ok(Some((FirstRequest::Http, _)))
        ));
        assert!(matches!(parse_first_request(b"GET / HT"), Ok(None)));
    }
}
