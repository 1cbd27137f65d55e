//! Server frames for the WebSocket connection layer, built for the outbound queue.
//!
//! Headers come from `wsframe::FrameHeader::encode` and sit in the queue's inline bytes;
//! payloads stay where the application put them until the queue copies them into the
//! core's send buffer (`outq.rs`). Decoding is `wsframe::Decoder`'s job; the
//! reactor (`core/websocket.rs`) drives it and answers pings and closes.

use wsframe::{FrameHeader, Opcode};

use super::app::FrameKind;
use super::outq::{Lane, OutFrame, Payload};

/// The header of a data frame (text or binary) of `len` payload bytes.
pub(crate) fn data_header(kind: FrameKind, len: usize) -> wsframe::HeaderBytes {
    let opcode = match kind {
        FrameKind::Text => Opcode::Text,
        FrameKind::Binary => Opcode::Binary,
    };
    FrameHeader::server(opcode, len).encode()
}

/// How long [`data_header`] is for `len` payload bytes (the same for text and binary).
pub(crate) fn data_header_len(len: usize) -> usize {
    FrameHeader::server(Opcode::Text, len).encoded_len()
}

/// The Pong that answers a Ping (RFC 6455 §5.5.3: same payload). Priority: a Pong must
/// not wait behind a backlog of dispatches.
pub(crate) fn pong_frame(ping_payload: &[u8]) -> OutFrame {
    let header = FrameHeader::server(Opcode::Pong, ping_payload.len()).encode();
    OutFrame::new(
        &header,
        Payload::Owned(ping_payload.to_vec()),
        Lane::Priority,
    )
}

/// A Close frame with `code` and `reason`, or an empty one when `code` is `None`
/// (echoing a Close that carried no code, §5.5.1).
pub(crate) fn close_frame(code: Option<u16>, reason: &str, lane: Lane) -> OutFrame {
    let payload = match code {
        Some(code) => {
            assert!(
                wsframe::close::is_code_allowed(code),
                "close code {code} may not be sent"
            );
            wsframe::close::encode_close_payload(code, reason).to_vec()
        }
        None => Vec::new(),
    };
    let header = FrameHeader::server(Opcode::Close, payload.len()).encode();
    OutFrame::new(&header, Payload::Owned(payload), lane)
}
