//! The client side of the WebSocket opening handshake (RFC 6455 §4.1).
//!
//! A real `Sec-WebSocket-Key` (16 random bytes, base64) goes out, and the server's
//! `Sec-WebSocket-Accept` must be base64(SHA-1(key + GUID)): a server that answers 101
//! without doing the handshake's arithmetic is caught here, not believed.
//!
//! Elsewhere: frames after the handshake (`frame.rs`). The server's first frames may
//! arrive in the same read as its 101, so the parser reports where the head ended.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The GUID every server appends to the key (RFC 6455 §1.3).
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Appends a GET upgrade request for `path` on `host` to `out` and returns the key sent.
pub fn encode_upgrade_request(
    out: &mut Vec<u8>,
    host: &str,
    path: &str,
    key_bytes: [u8; 16],
) -> String {
    let key = STANDARD.encode(key_bytes);
    out.extend_from_slice(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .as_bytes(),
    );
    key
}

/// The `Sec-WebSocket-Accept` a server must answer to `key`.
pub fn expected_accept(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}

/// Checks the server's answer to our upgrade. `Ok(None)`: the head is not complete yet;
/// `Ok(Some(len))`: a valid 101 whose head is `len` bytes (frames may follow).
pub fn parse_upgrade_response(buf: &[u8], key: &str) -> Result<Option<usize>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(format!("bad upgrade answer: {error}")),
    };
    let code = response.code.unwrap_or(0);
    if code != 101 {
        let body = String::from_utf8_lossy(&buf[head_len..buf.len().min(head_len + 200)]);
        return Err(format!("upgrade answered {code} instead of 101: {body}"));
    }
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    if !header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return Err("101 without Upgrade: websocket".into());
    }
    if !header("connection").is_some_and(|v| v.to_ascii_lowercase().contains("upgrade")) {
        return Err("101 without Connection: upgrade".into());
    }
    let accept = header("sec-websocket-accept").ok_or("101 without Sec-WebSocket-Accept")?;
    if accept != expected_accept(key) {
        return Err(format!(
            "Sec-WebSocket-Accept {accept:?} does not match the key"
        ));
    }
    Ok(Some(head_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_key_gives_the_rfc_accept() {
        // RFC 6455 §1.3.
        assert_eq!(
            expected_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn a_valid_101_is_accepted_even_in_pieces_and_with_frames_behind_it() {
        let mut request = Vec::new();
        let key = encode_upgrade_request(
            &mut request,
            "127.0.0.1:80",
            "/?v=10&encoding=json",
            [7; 16],
        );
        let request = String::from_utf8(request).unwrap();
        assert!(request.starts_with("GET /?v=10&encoding=json HTTP/1.1\r\n"));
        assert!(request.contains(&format!("Sec-WebSocket-Key: {key}\r\n")));
        let mut bytes = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            expected_accept(&key)
        )
        .into_bytes();
        let head = bytes.len();
        bytes.extend_from_slice(&[0x81, 2, b'h', b'i']);
        let bytes = bytes.as_slice();
        for cut in [0, 1, 20, head - 1] {
            assert_eq!(
                parse_upgrade_response(&bytes[..cut], &key),
                Ok(None),
                "cut {cut}"
            );
        }
        assert_eq!(parse_upgrade_response(bytes, &key), Ok(Some(head)));
    }

    #[test]
    fn wrong_answers_are_refused() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
        let cases = [
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad".to_string(),
            format!("HTTP/1.1 101 OK\r\n{ok}Sec-WebSocket-Accept: nope\r\n\r\n"),
            format!("HTTP/1.1 101 OK\r\n{ok}\r\n"),
            "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n\r\n".to_string(),
            "garbage\r\n\r\n".to_string(),
        ];
        for case in cases {
            assert!(
                parse_upgrade_response(case.as_bytes(), key).is_err(),
                "{case:?}"
            );
        }
    }
}
