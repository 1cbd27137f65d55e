//! The server side of the WebSocket opening handshake (RFC 6455 §4.2).
//!
//! [`check_upgrade`] decides whether a request is a valid handshake and computes
//! `Sec-WebSocket-Accept`; [`encode_switching_protocols`] writes the 101 answer. Extensions
//! (permessage-deflate) are declined by not echoing them: Discord clients compress at the
//! gateway level instead (`compress=zlib-stream`), and no client studied needs the extension.

use base64::Engine as _;
use sha1::{Digest, Sha1};

use super::request::{has_token, Request};
use super::response::Response;

/// The GUID every server appends to the key (RFC 6455 §1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why a request is not a valid WebSocket handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The method is not GET (§4.2.1 item 1). 400.
    NotGet,
    /// `Upgrade` lacks `websocket` or `Connection` lacks `upgrade` (items 3–4). 400.
    NotAnUpgrade,
    /// `Sec-WebSocket-Version` is not 13 (item 6). 426 with `Sec-WebSocket-Version: 13`.
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` is missing or not base64 of 16 bytes (item 5). 400.
    BadKey,
}

impl UpgradeError {
    /// The answer to send instead of 101.
    pub fn to_response(&self) -> Response {
        match self {
            UpgradeError::NotGet => {
                Response::error(400, "400: Bad Request (WebSocket upgrade must be GET)", 0)
            }
            UpgradeError::NotAnUpgrade => Response::error(
                400,
                "400: Bad Request (expected Upgrade: websocket and Connection: upgrade)",
                0,
            ),
            UpgradeError::UnsupportedVersion => Response::error(
                426,
                "426: Upgrade Required (Sec-WebSocket-Version must be 13)",
                0,
            )
            .with_header("Sec-WebSocket-Version", "13"),
            UpgradeError::BadKey => {
                Response::error(400, "400: Bad Request (invalid Sec-WebSocket-Key)", 0)
            }
        }
    }
}

/// Whether the request asks for a WebSocket at all (`Upgrade: websocket`), valid or not.
pub fn is_upgrade_request(request: &Request) -> bool {
    request
        .header("upgrade")
        .is_some_and(|v| has_token(v, "websocket"))
}

/// Validate the handshake and return the `Sec-WebSocket-Accept` value.
pub fn check_upgrade(request: &Request) -> Result<String, UpgradeError> {
    if request.method != "GET" {
        return Err(UpgradeError::NotGet);
    }
    let connection = request.header("connection").unwrap_or(b"");
    if !is_upgrade_request(request) || !has_token(connection, "upgrade") {
        return Err(UpgradeError::NotAnUpgrade);
    }
    if request
        .header("sec-websocket-version")
        .map(<[u8]>::trim_ascii)
        != Some(b"13")
    {
        return Err(UpgradeError::UnsupportedVersion);
    }
    let key = request
        .header("sec-websocket-key")
        .ok_or(UpgradeError::BadKey)?
        .trim_ascii();
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(decoded) if decoded.len() == 16 => Ok(accept_key(key)),
        _ => Err(UpgradeError::BadKey),
    }
}

/// `base64(sha1(key + GUID))` (RFC 6455 §4.2.2 item 5.4).
pub fn accept_key(key: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(key);
    hasher.update(WEBSOCKET_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

/// The 101 answer. No `Sec-WebSocket-Extensions`: every extension offer is declined.
pub fn encode_switching_protocols(accept: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: ",
    );
    out.extend_from_slice(accept.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request, HttpLimits};

    fn request(head: &str) -> Request {
        parse_request(head.as_bytes(), &HttpLimits::default())
            .unwrap()
            .unwrap()
            .0
    }

    const GOOD: &str = "GET /?v=10 HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n\
        Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

    #[test]
    fn rfc_6455_example_key() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            check_upgrade(&request(GOOD)).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn switching_protocols_declines_extensions() {
        let mut out = Vec::new();
        encode_switching_protocols("abc", &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("Sec-WebSocket-Accept: abc\r\n"));
        assert!(!text.to_ascii_lowercase().contains("extensions"));
    }

    #[test]
    fn each_broken_rule_has_its_error() {
        let cases = [
            (GOOD.replace("GET", "POST"), UpgradeError::NotGet),
            (
                GOOD.replace("Upgrade: WebSocket", "Upgrade: h2c"),
                UpgradeError::NotAnUpgrade,
            ),
            (
                GOOD.replace("keep-alive, Upgrade", "keep-alive"),
                UpgradeError::NotAnUpgrade,
            ),
            (
                GOOD.replace("Version: 13", "Version: 8"),
                UpgradeError::UnsupportedVersion,
            ),
            (
                GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),
                UpgradeError::BadKey,
            ),
            (
                GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "!!!"),
                UpgradeError::BadKey,
            ),
        ];
        for (head, error) in cases {
            assert_eq!(check_upgrade(&request(&head)), Err(error));
        }
    }

    #[test]
    fn version_mismatch_answers_426_with_the_supported_version() {
        let response = UpgradeError::UnsupportedVersion.to_response();
        assert_eq!(response.status, 426);
        assert!(response
            .headers
            .contains(&("Sec-WebSocket-Version".into(), "13".into())));
    }
}
