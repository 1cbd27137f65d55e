//! WebSocket frames from the client's side: read the server's frames in place, write our
//! own masked.
//!
//! Why not `wsframe::Decoder`: it copies every payload into its message buffer and
//! validates UTF-8, which is right for a server facing untrusted clients and wasted work
//! for a load generator that must outrun the server. [`FrameReader`] returns each
//! unfragmented frame's payload as a slice of the read buffer, with no copy; only a
//! fragmented message is reassembled. The writing side uses `wsframe`'s encoder, whose
//! masking is proven by its own property tests.
//!
//! Implements: RFC 6455 §5.2 framing in the client role: server frames must be unmasked,
//! RSV bits zero, control frames final and at most 125 bytes, lengths minimal or not (we
//! accept both). Elsewhere: the opening handshake (`handshake.rs`), what the messages mean
//! (`session.rs`).
//!
//! Invariants:
//! - `FrameReader::next` consumes only whole frames: `*pos` always sits at a frame
//!   boundary, and the bytes from there on must be kept for the next read.
//! - A message larger than `message_len_max` is an error, never an allocation.

use std::fmt;

/// One message from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMessage<'a> {
    /// A text message (not checked for UTF-8).
    Text(&'a [u8]),
    /// A binary message (compressed gateway payloads).
    Binary(&'a [u8]),
    /// A ping, to answer with a pong carrying the same payload.
    Ping(&'a [u8]),
    /// A pong.
    Pong,
    /// The server closes; `code` is `None` when the frame had no payload.
    Close {
        /// The close code.
        code: Option<u16>,
        /// The reason, as sent.
        reason: &'a [u8],
    },
}

/// Why the server's bytes are not valid frames for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A server frame had the MASK bit set (§5.1).
    MaskedServerFrame,
    /// An RSV bit was set; no extension was negotiated.
    ReservedBits,
    /// Opcode 3–7 or 11–15.
    UnknownOpcode(u8),
    /// A control frame was fragmented or longer than 125 bytes.
    BadControlFrame,
    /// A continuation without a message to continue, or a new message inside one.
    BadFragmentation,
    /// A message beyond the reader's limit.
    TooLarge(u64),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::MaskedServerFrame => write!(f, "the server sent a masked frame"),
            FrameError::ReservedBits => write!(f, "the server set an RSV bit"),
            FrameError::UnknownOpcode(op) => write!(f, "the server sent opcode {op}"),
            FrameError::BadControlFrame => write!(f, "fragmented or long control frame"),
            FrameError::BadFragmentation => write!(f, "bad fragmentation"),
            FrameError::TooLarge(len) => write!(f, "a {len}-byte message is over the limit"),
        }
    }
}

/// Reads server frames from a buffer, reassembling the rare fragmented message. The
/// default reader accepts no payload at all; it only stands in while a real one is lent.
#[derive(Debug, Default)]
pub struct FrameReader {
    message_len_max: u64,
    fragments: Vec<u8>,
    fragment_opcode: Option<u8>,
}

const OPCODE_CONTINUATION: u8 = 0x0;
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_BINARY: u8 = 0x2;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

impl FrameReader {
    /// A reader that refuses messages over `message_len_max` bytes.
    pub fn new(message_len_max: usize) -> FrameReader {
        FrameReader {
            message_len_max: message_len_max as u64,
            fragments: Vec::new(),
            fragment_opcode: None,
        }
    }

    /// The next message in `buf[*pos..]`, moving `*pos` past the frames it used.
    /// `Ok(None)`: the rest of `buf` is an incomplete frame (possibly empty).
    pub fn next<'a>(
        &'a mut self,
        buf: &'a [u8],
        pos: &mut usize,
    ) -> Result<Option<ServerMessage<'a>>, FrameError> {
        // The reassembled message is returned after the loop: returning a borrow of
        // `self.fragments` from inside it would outlive the loop's other mutations.
        let opcode = loop {
            let Some((header, payload_start, payload_end)) =
                parse_header(&buf[*pos..], self.message_len_max)?
            else {
                return Ok(None);
            };
            let payload = &buf[*pos + payload_start..*pos + payload_end];
            *pos += payload_end;
            match (header.opcode, header.fin) {
                (OPCODE_TEXT, true) | (OPCODE_BINARY, true) if self.fragment_opcode.is_none() => {
                    return Ok(Some(data_message(header.opcode, payload)));
                }
                (OPCODE_TEXT | OPCODE_BINARY, false) if self.fragment_opcode.is_none() => {
                    self.fragments.clear();
                    self.fragments.extend_from_slice(payload);
                    self.fragment_opcode = Some(header.opcode);
                }
                (OPCODE_CONTINUATION, fin) => {
                    let Some(opcode) = self.fragment_opcode else {
                        return Err(FrameError::BadFragmentation);
                    };
                    let total = (self.fragments.len() + payload.len()) as u64;
                    if total > self.message_len_max {
                        return Err(FrameError::TooLarge(total));
                    }
                    self.fragments.extend_from_slice(payload);
                    if fin {
                        self.fragment_opcode = None;
                        break opcode;
                    }
                }
                (OPCODE_TEXT | OPCODE_BINARY, _) => return Err(FrameError::BadFragmentation),
                (OPCODE_PING, _) => return Ok(Some(ServerMessage::Ping(payload))),
                (OPCODE_PONG, _) => return Ok(Some(ServerMessage::Pong)),
                (OPCODE_CLOSE, _) => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    let reason = payload.get(2..).unwrap_or(&[]);
                    return Ok(Some(ServerMessage::Close { code, reason }));
                }
                (opcode, _) => return Err(FrameError::UnknownOpcode(opcode)),
            }
        };
        Ok(Some(data_message(opcode, &self.fragments)))
    }
}

/// Appends a masked text frame (client → server).
pub fn encode_client_text(out: &mut Vec<u8>, text: &str, mask: [u8; 4]) {
    wsframe::encode_message(out, &wsframe::Message::Text(text), Some(mask));
}

/// Appends a masked pong answering a ping's `payload`.
pub fn encode_client_pong(out: &mut Vec<u8>, payload: &[u8], mask: [u8; 4]) {
    wsframe::encode_message(out, &wsframe::Message::Pong(payload), Some(mask));
}

struct Header {
    fin: bool,
    opcode: u8,
}

fn data_message(opcode: u8, payload: &[u8]) -> ServerMessage<'_> {
    if opcode == OPCODE_TEXT {
        ServerMessage::Text(payload)
    } else {
        ServerMessage::Binary(payload)
    }
}

/// The header at the start of `bytes`, and where its payload starts and ends; `None` until
/// the whole frame is there.
fn parse_header(bytes: &[u8], len_max: u64) -> Result<Option<(Header, usize, usize)>, FrameError> {
    let [first, second, ..] = *bytes else {
        return Ok(None);
    };
    if first & 0x70 != 0 {
        return Err(FrameError::ReservedBits);
    }
    if second & 0x80 != 0 {
        return Err(FrameError::MaskedServerFrame);
    }
    let header = Header {
        fin: first & 0x80 != 0,
        opcode: first & 0x0F,
    };
    if !matches!(header.opcode, 0x0..=0x2 | 0x8..=0xA) {
        return Err(FrameError::UnknownOpcode(header.opcode));
    }
    let (header_len, len) = match second & 0x7F {
        126 => match bytes.get(2..4) {
            Some(b) => (4, u64::from(u16::from_be_bytes([b[0], b[1]]))),
            None => return Ok(None),
        },
        127 => match bytes.get(2..10) {
            // The slice is exactly 8 bytes.
            Some(b) => (10, u64::from_be_bytes(b.try_into().expect("8 bytes"))),
            None => return Ok(None),
        },
        short => (2, u64::from(short)),
    };
    if header.opcode >= OPCODE_CLOSE && (!header.fin || len > 125) {
        return Err(FrameError::BadControlFrame);
    }
    if len > len_max {
        return Err(FrameError::TooLarge(len));
    }
    let end = header_len + len as usize;
    if bytes.len() < end {
        return Ok(None);
    }
    Ok(Some((header, header_len, end)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsframe::{encode_frame, encode_message, FrameHeader, Message, Opcode};

    fn server_frames(messages: &[Message<'_>]) -> Vec<u8> {
        let mut wire = Vec::new();
        for message in messages {
            encode_message(&mut wire, message, None);
        }
        wire
    }

    /// Every message in `wire`, fed in pieces of `step` bytes as reads would bring them.
    fn read_all(wire: &[u8], step: usize) -> Vec<String> {
        let mut reader = FrameReader::new(1 << 20);
        let mut buffer = Vec::new();
        let mut seen = Vec::new();
        for piece in wire.chunks(step) {
            buffer.extend_from_slice(piece);
            let mut pos = 0;
            while let Some(message) = reader.next(&buffer, &mut pos).unwrap() {
                seen.push(match message {
                    ServerMessage::Text(t) => format!("text {}", String::from_utf8_lossy(t)),
                    ServerMessage::Binary(b) => format!("binary {}", b.len()),
                    ServerMessage::Ping(p) => format!("ping {}", String::from_utf8_lossy(p)),
                    ServerMessage::Pong => "pong".into(),
                    ServerMessage::Close { code, .. } => format!("close {code:?}"),
                });
            }
            buffer.drain(..pos);
        }
        assert!(buffer.is_empty(), "{} bytes left over", buffer.len());
        seen
    }

    #[test]
    fn messages_survive_any_split_and_every_length_encoding() {
        let long = "x".repeat(70_000);
        let medium = "y".repeat(300);
        let wire = server_frames(&[
            Message::Text("{\"op\":10}"),
            Message::Ping(b"hb"),
            Message::Text(&medium),
            Message::Binary(&[1, 2, 3]),
            Message::Text(&long),
            Message::Pong(b""),
            Message::Close {
                code: Some(4000),
                reason: "slow",
            },
        ]);
        let expected = vec![
            "text {\"op\":10}".to_string(),
            "ping hb".into(),
            format!("text {medium}"),
            "binary 3".into(),
            format!("text {long}"),
            "pong".into(),
            "close Some(4000)".into(),
        ];
        for step in [1, 2, 3, 7, 125, 4096, wire.len()] {
            assert_eq!(read_all(&wire, step), expected, "step {step}");
        }
    }

    #[test]
    fn fragments_are_reassembled_around_a_ping() {
        let mut wire = Vec::new();
        encode_frame(
            &mut wire,
            &FrameHeader {
                fin: false,
                ..FrameHeader::server(Opcode::Text, 3)
            },
            b"Hel",
        );
        encode_frame(&mut wire, &FrameHeader::server(Opcode::Ping, 1), b"p");
        encode_frame(
            &mut wire,
            &FrameHeader::server(Opcode::Continuation, 2),
            b"lo",
        );
        assert_eq!(read_all(&wire, 1), ["ping p", "text Hello"]);
    }

    #[test]
    fn broken_server_frames_are_errors() {
        let mut masked = Vec::new();
        encode_message(&mut masked, &Message::Text("hi"), Some([1, 2, 3, 4]));
        let cases: Vec<(Vec<u8>, FrameError)> = vec![
            (masked, FrameError::MaskedServerFrame),
            (vec![0xC1, 0x00], FrameError::ReservedBits),
            (vec![0x83, 0x00], FrameError::UnknownOpcode(3)),
            (vec![0x09, 0x00], FrameError::BadControlFrame),
            (vec![0x89, 126, 0, 126], FrameError::BadControlFrame),
            (vec![0x80, 0x00], FrameError::BadFragmentation),
            (
                vec![0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0],
                FrameError::TooLarge(1 << 32),
            ),
        ];
        for (wire, expected) in cases {
            let mut reader = FrameReader::new(1 << 20);
            assert_eq!(reader.next(&wire, &mut 0), Err(expected), "{wire:x?}");
        }
    }

    #[test]
    fn client_frames_are_masked_and_a_server_decodes_them() {
        let mut rng = super::super::rng::XorShift64::new(7);
        let texts = [
            "",
            "{\"op\":1,\"d\":42}",
            &"z".repeat(126),
            &"w".repeat(65_536),
        ];
        for text in texts {
            let mask = rng.mask_key();
            let mut wire = Vec::new();
            encode_client_text(&mut wire, text, mask);
            assert_ne!(wire[1] & 0x80, 0, "MASK bit set");
            if !text.is_empty() {
                assert_ne!(
                    &wire[wire.len() - text.len()..],
                    text.as_bytes(),
                    "payload is masked"
                );
            }
            let mut decoder =
                wsframe::Decoder::new(wsframe::Config::server().with_message_len_max(1 << 20));
            assert_eq!(
                decoder.decode(&mut wire.as_slice()),
                Ok(Some(Message::Text(text)))
            );
        }
        let mut wire = Vec::new();
        encode_client_pong(&mut wire, b"abc", rng.mask_key());
        let mut decoder = wsframe::Decoder::new(wsframe::Config::server());
        assert_eq!(
            decoder.decode(&mut wire.as_slice()),
            Ok(Some(Message::Pong(b"abc")))
        );
    }
}
