//! Messages as the application sees them, and the buffer that reassembles fragments into them.
//!
//! A data message (Text or Binary) is one frame, or a first frame with FIN clear followed by
//! continuation frames up to one with FIN set (§5.4). Control frames may arrive between those
//! fragments and are delivered at once, without disturbing the message being assembled.
//!
//! [`Assembler`] owns the one reusable buffer a data message is collected in. Its capacity
//! survives from message to message, so a connection in steady state allocates nothing.
//! For text it also tracks how far the bytes have been checked for UTF-8, so the decoder can
//! fail fast on an invalid prefix before the message is complete.
//!
//! Invariants:
//! - At most one data message is open at a time.
//! - `utf8_checked_len <= payload.len()`, and for a text message the first
//!   `utf8_checked_len` bytes are a valid UTF-8 prefix.
//! - `payload.len()` never exceeds the configured `message_len_max` (checked by the decoder
//!   from frame headers, before the bytes are copied in).

use crate::utf8::Utf8Validator;
use crate::{Error, Opcode};

/// One message received from the peer. It borrows the decoder's buffers and is valid until the
/// next call into the decoder.
///
/// ```
/// use wsframe::{encode_frame, Config, Decoder, FrameHeader, Message, Opcode};
///
/// let mut wire = Vec::new();
/// encode_frame(&mut wire, &FrameHeader::client(Opcode::Ping, 2, [1, 2, 3, 4]), b"hb");
/// let mut decoder = Decoder::new(Config::server());
/// let mut input = wire.as_slice();
/// match decoder.decode(&mut input) {
///     Ok(Some(Message::Ping(payload))) => assert_eq!(payload, b"hb"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A complete text message, validated as UTF-8.
    Text(&'a str),
    /// A complete binary message.
    Binary(&'a [u8]),
    /// A Ping; the server answers with a Pong carrying the same payload (§5.5.2).
    Ping(&'a [u8]),
    /// A Pong, solicited or not.
    Pong(&'a [u8]),
    /// The peer started or answered the closing handshake. `code` is `None` when the frame had
    /// no payload (report 1005 locally). Both are validated: `code` is allowed on the wire and
    /// `reason` is UTF-8. After this the decoder ignores further input (§5.5.1).
    Close {
        /// The status code, if the frame carried one.
        code: Option<u16>,
        /// The reason, empty if none was given.
        reason: &'a str,
    },
}

impl Message<'_> {
    /// The opcode of the frame (or first fragment) that carried this message.
    pub fn opcode(&self) -> Opcode {
        match self {
            Message::Text(_) => Opcode::Text,
            Message::Binary(_) => Opcode::Binary,
            Message::Ping(_) => Opcode::Ping,
            Message::Pong(_) => Opcode::Pong,
            Message::Close { .. } => Opcode::Close,
        }
    }
}

/// The kind of the data message being assembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataKind {
    Text,
    Binary,
}

/// Collects the fragments of one data message in a buffer reused across messages.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    kind: Option<DataKind>,
    payload: Vec<u8>,
    utf8: Utf8Validator,
    utf8_checked_len: usize,
}

impl Assembler {
    /// Whether a message has started and not yet been completed.
    pub(crate) fn is_open(&self) -> bool {
        self.kind.is_some()
    }

    /// Bytes collected so far.
    pub(crate) fn len(&self) -> usize {
        self.payload.len()
    }

    /// Starts a message. The previous one must have been released.
    pub(crate) fn open(&mut self, kind: DataKind) {
        debug_assert!(!self.is_open(), "a data message is already open");
        debug_assert!(self.payload.is_empty() && self.utf8_checked_len == 0);
        self.kind = Some(kind);
    }

    /// The buffer the decoder unmasks payload bytes into.
    pub(crate) fn payload_mut(&mut self) -> &mut Vec<u8> {
        debug_assert!(self.is_open());
        &mut self.payload
    }

    /// For a text message, checks the bytes added since the last check: fails as soon as they
    /// cannot continue valid UTF-8. A no-op for binary messages.
    pub(crate) fn check_text_prefix(&mut self) -> Result<(), Error> {
        if self.kind != Some(DataKind::Text) {
            return Ok(());
        }
        debug_assert!(self.utf8_checked_len <= self.payload.len());
        self.utf8
            .feed(&self.payload[self.utf8_checked_len..])
            .map_err(|_| Error::InvalidUtf8)?;
        self.utf8_checked_len = self.payload.len();
        Ok(())
    }

    /// The complete message. Text is validated here in full, which also yields the `&str`
    /// without `unsafe`; bytes that were already checked as a prefix are checked again, which
    /// only happens for messages that arrived in more than one piece.
    pub(crate) fn message(&self) -> Result<Message<'_>, Error> {
        match self.kind {
            Some(DataKind::Text) => std::str::from_utf8(&self.payload)
                .map(Message::Text)
                .map_err(|_| Error::InvalidUtf8),
            Some(DataKind::Binary) => Ok(Message::Binary(&self.payload)),
            None => unreachable!("message() called without an open message"),
        }
    }

    /// Forgets the delivered message, keeping the buffer's capacity.
    pub(crate) fn release(&mut self) {
        self.kind = None;
        self.payload.clear();
        self.utf8.reset();
        self.utf8_checked_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_capacity_survives_release() {
        let mut assembler = Assembler::default();
        assembler.open(DataKind::Binary);
        assembler.payload_mut().extend_from_slice(&[7; 1000]);
        assert_eq!(assembler.message(), Ok(Message::Binary(&[7; 1000])));
        let capacity = assembler.payload.capacity();
        assembler.release();
        assert!(!assembler.is_open());
        assert_eq!(assembler.len(), 0);
        assert_eq!(assembler.payload.capacity(), capacity);
    }

    #[test]
    fn text_prefix_check_is_incremental() {
        let mut assembler = Assembler::default();
        assembler.open(DataKind::Text);
        assembler.payload_mut().extend_from_slice(b"ok \xe2\x82");
        assert_eq!(assembler.check_text_prefix(), Ok(()));
        assembler.payload_mut().extend_from_slice(b"\xac!");
        assert_eq!(assembler.check_text_prefix(), Ok(()));
        assert_eq!(assembler.message(), Ok(Message::Text("ok €!")));
        assembler.release();

        assembler.open(DataKind::Text);
        assembler.payload_mut().extend_from_slice(b"ok \xe2\x82");
        assert_eq!(assembler.check_text_prefix(), Ok(()));
        assembler.payload_mut().extend_from_slice(b"A");
        assert_eq!(assembler.check_text_prefix(), Err(Error::InvalidUtf8));
    }

    #[test]
    fn unfinished_code_point_fails_at_completion() {
        let mut assembler = Assembler::default();
        assembler.open(DataKind::Text);
        assembler.payload_mut().extend_from_slice(b"ok \xe2\x82");
        assert_eq!(assembler.check_text_prefix(), Ok(()));
        assert_eq!(assembler.message(), Err(Error::InvalidUtf8));
    }
}
