//! Encodes our own frames: unmasked for a server, masked for a client (tests, load generator).
//!
//! These functions write trusted data, so a broken rule here is a bug in the caller, caught by
//! `debug_assert!`: a header that announces a different length than the payload, a fragmented
//! or oversized control frame. To put a header next to a payload that stays in place (for
//! `writev`), use [`FrameHeader::encode`](crate::FrameHeader::encode) instead.
//!
//! Implements: §5.2 (layout, minimal lengths), §5.3 (masking with a caller-chosen key; this
//! crate never draws random numbers), §5.5.1 (Close payloads, via `close.rs`).

use crate::close::encode_close_payload;
use crate::header::CONTROL_PAYLOAD_LEN_MAX;
use crate::mask::apply_mask;
use crate::{FrameHeader, Message, Opcode};

/// Appends one frame to `out`: `header`, then `payload`, masked if the header has a key.
///
/// ```
/// use wsframe::{encode_frame, FrameHeader, Opcode};
///
/// let mut out = Vec::new();
/// encode_frame(&mut out, &FrameHeader::server(Opcode::Text, 2), b"hi");
/// assert_eq!(out, [0x81, 0x02, b'h', b'i']);
///
/// out.clear();
/// encode_frame(&mut out, &FrameHeader::client(Opcode::Text, 2, [1, 1, 1, 1]), b"hi");
/// assert_eq!(out, [0x81, 0x82, 1, 1, 1, 1, b'h' ^ 1, b'i' ^ 1]);
/// ```
pub fn encode_frame(out: &mut Vec<u8>, header: &FrameHeader, payload: &[u8]) {
    debug_assert_eq!(
        header.payload_len,
        payload.len() as u64,
        "header must announce the payload"
    );
    debug_assert!(
        !header.opcode.is_control() || (header.fin && payload.len() <= CONTROL_PAYLOAD_LEN_MAX),
        "control frames are final and carry at most 125 bytes"
    );
    out.reserve(header.encoded_len() + payload.len());
    out.extend_from_slice(&header.encode());
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// Appends `message` to `out` as one final frame, masked with `mask` if given (client role).
///
/// ```
/// use wsframe::{encode_message, Config, Decoder, Message};
///
/// let mut out = Vec::new();
/// let message = Message::Close { code: Some(4002), reason: "decode error" };
/// encode_message(&mut out, &message, Some([7, 7, 7, 7]));
/// let mut decoder = Decoder::new(Config::server());
/// assert_eq!(decoder.decode(&mut out.as_slice()), Ok(Some(message)));
/// ```
pub fn encode_message(out: &mut Vec<u8>, message: &Message<'_>, mask: Option<[u8; 4]>) {
    let (opcode, payload): (Opcode, &[u8]) = match message {
        Message::Text(text) => (Opcode::Text, text.as_bytes()),
        Message::Binary(bytes) => (Opcode::Binary, bytes),
        Message::Ping(bytes) => (Opcode::Ping, bytes),
        Message::Pong(bytes) => (Opcode::Pong, bytes),
        Message::Close {
            code: Some(code),
            reason,
        } => {
            return encode_close_frame(out, *code, reason, mask);
        }
        Message::Close { code: None, reason } => {
            debug_assert!(reason.is_empty(), "a reason needs a status code before it");
            (Opcode::Close, &[])
        }
    };
    let header = FrameHeader {
        mask,
        ..FrameHeader::server(opcode, payload.len())
    };
    encode_frame(out, &header, payload);
}

/// Appends a Close frame with `code` and `reason` (cut to fit 125 bytes at a character
/// boundary), masked with `mask` if given.
///
/// ```
/// use wsframe::{close, encode_close_frame};
///
/// let mut out = Vec::new();
/// encode_close_frame(&mut out, close::PROTOCOL_ERROR, "", None);
/// assert_eq!(out, [0x88, 0x02, 0x03, 0xEA]);
/// ```
pub fn encode_close_frame(out: &mut Vec<u8>, code: u16, reason: &str, mask: Option<[u8; 4]>) {
    let payload = encode_close_payload(code, reason);
    let header = FrameHeader {
        mask,
        ..FrameHeader::server(Opcode::Close, payload.len())
    };
    encode_frame(out, &header, &payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Decoder};

    #[test]
    fn server_frames_at_length_edges_decode_in_client_role() {
        for len in [0usize, 1, 125, 126, 127, 65535, 65536] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut out = Vec::new();
            encode_frame(
                &mut out,
                &FrameHeader::server(Opcode::Binary, len),
                &payload,
            );
            let expected_header = match len {
                0..=125 => 2,
                126..=65535 => 4,
                _ => 10,
            };
            assert_eq!(out.len(), expected_header + len);
            assert_eq!(
                &out[expected_header..],
                &payload[..],
                "server frames are not masked"
            );
            let mut decoder = Decoder::new(Config::client().with_message_len_max(1 << 17));
            let mut input = out.as_slice();
            assert_eq!(
                decoder.decode(&mut input),
                Ok(Some(Message::Binary(&payload)))
            );
        }
    }

    #[test]
    fn client_frames_are_masked_and_decode_in_server_role() {
        let key = [0xA1, 0xB2, 0xC3, 0xD4];
        let text = "masked ✓";
        let mut out = Vec::new();
        encode_frame(
            &mut out,
            &FrameHeader::client(Opcode::Text, text.len(), key),
            text.as_bytes(),
        );
        assert_eq!(out[1] & 0x80, 0x80);
        assert_eq!(&out[2..6], &key);
        assert_ne!(&out[6..], text.as_bytes());
        let mut decoder = Decoder::new(Config::server());
        assert_eq!(
            decoder.decode(&mut out.as_slice()),
            Ok(Some(Message::Text(text)))
        );
    }

    #[test]
    fn every_message_kind_round_trips() {
        let messages = [
            Message::Text("héllo"),
            Message::Binary(&[0, 1, 2, 255]),
            Message::Ping(b"p"),
            Message::Pong(b""),
            Message::Close {
                code: None,
                reason: "",
            },
            Message::Close {
                code: Some(1001),
                reason: "bye",
            },
        ];
        for message in messages {
            let mut out = Vec::new();
            encode_message(&mut out, &message, None);
            let mut decoder = Decoder::new(Config::client());
            assert_eq!(decoder.decode(&mut out.as_slice()), Ok(Some(message)));
        }
    }
}
