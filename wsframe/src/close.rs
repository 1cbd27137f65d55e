//! Close frame payloads (RFC 6455 §5.5.1, §7.4): status codes, reasons, and building our own.
//!
//! A Close payload is empty, or a 2-byte big-endian status code followed by a UTF-8 reason.
//! Receiving: a 1-byte payload, a code that may not appear on the wire, or a reason that is not
//! UTF-8 fails the connection. Sending: [`encode_close_payload`] builds the payload on the stack
//! and cuts the reason at a character boundary so the frame stays within 125 bytes.
//!
//! Which codes may appear on the wire (§7.4.1, §7.4.2 and the IANA registry):
//! - 1000–1003 and 1007–1014: defined by RFC 6455 or registered with IANA.
//! - 3000–4999: for libraries, frameworks and applications (our gateway uses 4000–4999).
//! - Never: 0–999, 1004 (reserved), 1005 and 1006 (only for reporting locally), 1015 (TLS
//!   failure, local only), 1016–2999 (unassigned or reserved for future RFCs), 5000 and up.
//!
//! Invariant: a payload built by [`encode_close_payload`] always parses back with
//! [`parse_close_payload`] to the same code and (possibly shortened) reason.

use crate::header::CONTROL_PAYLOAD_LEN_MAX;
use crate::Error;

/// 1000: the purpose of the connection has been fulfilled.
pub const NORMAL: u16 = 1000;
/// 1001: the endpoint is going away (server shutdown, page navigation).
pub const GOING_AWAY: u16 = 1001;
/// 1002: the peer broke the protocol.
pub const PROTOCOL_ERROR: u16 = 1002;
/// 1003: the peer sent a kind of data we do not accept.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// 1005: no status code was present. Reported locally, never sent.
pub const NO_STATUS: u16 = 1005;
/// 1006: the connection dropped without a Close frame. Reported locally, never sent.
pub const ABNORMAL: u16 = 1006;
/// 1007: a text message or close reason was not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// 1008: the message violates the endpoint's policy.
pub const POLICY_VIOLATION: u16 = 1008;
/// 1009: the message is too big to process.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// 1011: the server hit an unexpected condition.
pub const INTERNAL_ERROR: u16 = 1011;

/// The longest reason that fits in a control frame next to the 2-byte code.
pub const REASON_LEN_MAX: usize = CONTROL_PAYLOAD_LEN_MAX - 2;

/// Whether `code` may appear in a Close frame on the wire.
///
/// ```
/// use wsframe::close::is_code_allowed;
///
/// assert!(is_code_allowed(1000));
/// assert!(is_code_allowed(4002));
/// assert!(!is_code_allowed(1005)); // "no status" is only reported locally
/// assert!(!is_code_allowed(2999)); // unassigned
/// ```
pub const fn is_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Parses a received Close payload into its status code (absent for an empty payload) and
/// reason.
///
/// ```
/// use wsframe::close::parse_close_payload;
/// use wsframe::Error;
///
/// assert_eq!(parse_close_payload(b""), Ok((None, "")));
/// assert_eq!(parse_close_payload(b"\x03\xe8bye"), Ok((Some(1000), "bye")));
/// assert_eq!(parse_close_payload(b"\x03"), Err(Error::CloseFrameTooShort));
/// assert_eq!(parse_close_payload(b"\x03\xed"), Err(Error::InvalidCloseCode { code: 1005 }));
/// ```
pub fn parse_close_payload(payload: &[u8]) -> Result<(Option<u16>, &str), Error> {
    match payload {
        [] => Ok((None, "")),
        [_] => Err(Error::CloseFrameTooShort),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !is_code_allowed(code) {
                return Err(Error::InvalidCloseCode { code });
            }
            let reason = std::str::from_utf8(reason).map_err(|_| Error::InvalidCloseReason)?;
            Ok((Some(code), reason))
        }
    }
}

/// A Close payload built on the stack: the code, then the reason. Derefs to its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosePayload {
    bytes: [u8; CONTROL_PAYLOAD_LEN_MAX],
    len: u8,
}

impl ClosePayload {
    /// The payload bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::ops::Deref for ClosePayload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Builds a Close payload. A reason longer than [`REASON_LEN_MAX`] bytes is cut at the last
/// character boundary that fits.
///
/// `code` must be one we may send ([`is_code_allowed`]); passing 1005, 1006 or 1015 is a bug
/// in the caller and asserts in debug builds.
///
/// ```
/// use wsframe::close::{encode_close_payload, parse_close_payload};
///
/// let payload = encode_close_payload(4002, "decode error");
/// assert_eq!(parse_close_payload(&payload), Ok((Some(4002), "decode error")));
/// ```
pub fn encode_close_payload(code: u16, reason: &str) -> ClosePayload {
    debug_assert!(is_code_allowed(code), "close code {code} may not be sent");
    let mut reason_len = reason.len().min(REASON_LEN_MAX);
    while !reason.is_char_boundary(reason_len) {
        reason_len -= 1;
    }
    let mut bytes = [0u8; CONTROL_PAYLOAD_LEN_MAX];
    bytes[..2].copy_from_slice(&code.to_be_bytes());
    bytes[2..2 + reason_len].copy_from_slice(&reason.as_bytes()[..reason_len]);
    ClosePayload {
        bytes,
        len: (2 + reason_len) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_codes_follow_rfc_and_registry() {
        let allowed = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        ];
        let refused = [
            0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ];
        for code in allowed.into_iter().chain([3000, 3999, 4000, 4002, 4999]) {
            assert!(is_code_allowed(code), "{code}");
            let payload = code.to_be_bytes();
            assert_eq!(parse_close_payload(&payload), Ok((Some(code), "")));
        }
        for code in refused {
            assert!(!is_code_allowed(code), "{code}");
            let payload = code.to_be_bytes();
            assert_eq!(
                parse_close_payload(&payload),
                Err(Error::InvalidCloseCode { code })
            );
        }
        // Exhaustively: the table above agrees with the ranges.
        let count = (0..=u16::MAX).filter(|&c| is_code_allowed(c)).count();
        assert_eq!(count, 4 + 8 + 2000);
    }

    #[test]
    fn payload_lengths() {
        assert_eq!(parse_close_payload(&[]), Ok((None, "")));
        assert_eq!(parse_close_payload(&[0x03]), Err(Error::CloseFrameTooShort));
        assert_eq!(parse_close_payload(&[0x03, 0xE8]), Ok((Some(1000), "")));
    }

    #[test]
    fn reason_must_be_utf8() {
        let mut payload = vec![0x03, 0xE8];
        payload
            .extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited");
        assert_eq!(
            parse_close_payload(&payload),
            Err(Error::InvalidCloseReason)
        );
    }

    #[test]
    fn long_reasons_are_cut_at_a_char_boundary() {
        let ascii = "x".repeat(200);
        let payload = encode_close_payload(NORMAL, &ascii);
        assert_eq!(payload.len(), CONTROL_PAYLOAD_LEN_MAX);
        assert_eq!(
            parse_close_payload(&payload),
            Ok((Some(NORMAL), &ascii[..REASON_LEN_MAX]))
        );

        // 'é' is 2 bytes: 61 of them take 122 bytes, a 62nd would need 124.
        let accents = "é".repeat(80);
        let payload = encode_close_payload(PROTOCOL_ERROR, &accents);
        let (code, reason) = parse_close_payload(&payload).unwrap();
        assert_eq!(code, Some(PROTOCOL_ERROR));
        assert_eq!(reason, "é".repeat(61));

        let exact = "y".repeat(REASON_LEN_MAX);
        let payload = encode_close_payload(4000, &exact);
        assert_eq!(
            parse_close_payload(&payload),
            Ok((Some(4000), exact.as_str()))
        );
    }
}
