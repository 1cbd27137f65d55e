//! RFC 6455 WebSocket frames, sans-IO: bytes in, validated messages out; messages in, bytes
//! out.
//!
//! `wsframe` never opens a socket, never reads a clock and never draws random numbers. The
//! engine's reactor reads bytes into its own buffer and hands them to a [`Decoder`]; the
//! decoder returns each complete [`Message`] or the [`Error`] that fails the connection, with
//! the close code to send ([`Error::close_code`]). Replies (Pong, Close) and the HTTP upgrade
//! are the engine's job.
//!
//! # Design
//!
//! - **Incremental.** Bytes may arrive split anywhere, one at a time included. A partial
//!   header waits in a 14-byte buffer; a partial payload is unmasked straight into the message
//!   buffer as it arrives.
//! - **Fail fast.** Every rule is checked as soon as the bytes that can break it are present:
//!   reserved bits and opcodes from the first byte, control-frame rules from the second, length
//!   encoding, masking by role, fragmentation and size limits from the complete header (before
//!   any payload is buffered), UTF-8 of text on every piece (Autobahn 6.4.3). After an error
//!   the decoder stays failed.
//! - **No allocation in steady state.** A data message is reassembled in one `Vec` whose
//!   capacity is reused; control payloads sit in a 125-byte array; a [`Message`] borrows these
//!   buffers until the next call. Encoding writes into the caller's `Vec`, or encodes only the
//!   header into a 14-byte stack buffer ([`FrameHeader::encode`]) for `writev`.
//! - **Fast unmasking** a word at a time ([`mask::apply_mask`]), in safe code, proven equal to
//!   the byte loop by property tests.
//! - **No extensions.** Flux negotiates none, so any RSV bit fails the connection (1002).
//!
//! Files, one job each: `header.rs` (the 2–14 byte header), `mask.rs` (masking), `utf8.rs`
//! (incremental UTF-8), `close.rs` (Close payloads and codes), `message.rs` (messages and
//! fragment reassembly), `decoder.rs` (the state machine), `encoder.rs` (our frames),
//! `error.rs` (what went wrong and which close code answers it).
//!
//! # Example: a server's read path
//!
//! ```
//! use wsframe::{encode_frame, encode_message, Config, Decoder, FrameHeader, Message, Opcode};
//!
//! // What a client might send: a text message and a ping, masked.
//! let mut socket_bytes = Vec::new();
//! encode_message(&mut socket_bytes, &Message::Text("{\"op\":1}"), Some([1, 2, 3, 4]));
//! encode_message(&mut socket_bytes, &Message::Ping(b"t=1"), Some([5, 6, 7, 8]));
//!
//! let mut decoder = Decoder::new(Config::server().with_message_len_max(4096));
//! let mut outbox = Vec::new();
//! let mut input = socket_bytes.as_slice(); // one read; any split works the same
//! loop {
//!     match decoder.decode(&mut input) {
//!         Ok(Some(Message::Text(text))) => assert_eq!(text, "{\"op\":1}"),
//!         Ok(Some(Message::Ping(payload))) => {
//!             encode_frame(&mut outbox, &FrameHeader::server(Opcode::Pong, payload.len()), payload)
//!         }
//!         Ok(Some(Message::Close { .. })) => break, // answer with a Close, then shut down
//!         Ok(Some(_)) => {}
//!         Ok(None) => break, // all bytes consumed; wait for the next read
//!         Err(error) => {
//!             wsframe::encode_close_frame(&mut outbox, error.close_code(), "", None);
//!             break;
//!         }
//!     }
//! }
//! assert_eq!(outbox, [0x8A, 3, b't', b'=', b'1']);
//! ```
//!
//! # Fuzzing
//!
//! `wsframe/fuzz` is its own cargo project (outside the workspace). From `wsframe/`:
//! `cargo +nightly fuzz run decode -- -max_total_time=720`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod close;
mod config;
mod decoder;
mod encoder;
mod error;
mod header;
pub mod mask;
mod message;
mod opcode;
mod utf8;

pub use config::{Config, Role};
pub use decoder::Decoder;
pub use encoder::{encode_close_frame, encode_frame, encode_message};
pub use error::Error;
pub use header::{FrameHeader, HeaderBytes, CONTROL_PAYLOAD_LEN_MAX, HEADER_LEN_MAX};
pub use message::Message;
pub use opcode::Opcode;

/// Internals for the fuzz targets only (`--cfg fuzzing`), not part of the API.
#[cfg(fuzzing)]
pub mod fuzzing {
    pub use crate::utf8::Utf8Validator;
}
