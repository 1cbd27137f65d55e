//! Incremental RFC 6455 decoder: bytes in, validated messages out.
//!
//! Give it whatever bytes the socket produced, split anywhere, one byte at a time included.
//! It returns each complete message and keeps a partial frame until more bytes arrive. It does
//! no I/O, never looks at a clock and never allocates per message: payloads are unmasked
//! straight from the caller's bytes into a buffer that is reused for the next message.
//!
//! Implements: §5.1–5.4 (framing, masking by role, fragmentation), §5.5 (control frames,
//! interleaved between fragments), §5.5.1 (Close payloads, via `close.rs`), §8.1 (UTF-8 of
//! text messages, checked as the bytes arrive, via `message.rs`).
//! Elsewhere: the header layout (`header.rs`), the HTTP upgrade and the replies a server sends
//! (Pong, Close) belong to the engine.
//!
//! Two ways to drive it, one core:
//! - [`Decoder::decode`] takes a `&mut &[u8]` from the reactor's own read buffer and advances
//!   it past what was consumed; it stops after each complete message. No extra copy.
//! - [`Decoder::handle`] / [`Decoder::poll`] (the house sans-IO shape): `handle` copies bytes
//!   into an inbox, `poll` drains messages from it.
//!
//! Invariants:
//! - Each rule is checked as soon as the bytes that can break it are present: header rules
//!   from the first header bytes, size limits from the announced length (before buffering any
//!   of the payload), UTF-8 on every piece of a text message (Autobahn 6.4.3).
//! - After an error the decoder is failed for good: every call returns the same error.
//! - After a Close frame it ignores all further input (§5.5.1: nothing may follow a Close).
//! - It holds at most one partial header (14 bytes), one control payload (125 bytes) and one
//!   data message (`message_len_max` bytes).

use crate::close::parse_close_payload;
use crate::header::{FrameHeader, CONTROL_PAYLOAD_LEN_MAX, HEADER_LEN_MAX};
use crate::mask::apply_mask;
use crate::message::{Assembler, DataKind};
use crate::{Config, Error, Message, Opcode, Role};

/// Decodes a stream of WebSocket frames into [`Message`]s.
///
/// ```
/// use wsframe::{encode_frame, Config, Decoder, FrameHeader, Message, Opcode};
///
/// // A client sends "Hello" as two fragments with a Ping in between.
/// let key = [0x11, 0x22, 0x33, 0x44];
/// let mut wire = Vec::new();
/// let first = FrameHeader { fin: false, ..FrameHeader::client(Opcode::Text, 3, key) };
/// encode_frame(&mut wire, &first, b"Hel");
/// encode_frame(&mut wire, &FrameHeader::client(Opcode::Ping, 0, key), b"");
/// encode_frame(&mut wire, &FrameHeader::client(Opcode::Continuation, 2, key), b"lo");
///
/// let mut decoder = Decoder::new(Config::server());
/// let mut input = wire.as_slice();
/// assert_eq!(decoder.decode(&mut input), Ok(Some(Message::Ping(b""))));
/// assert_eq!(decoder.decode(&mut input), Ok(Some(Message::Text("Hello"))));
/// assert_eq!(decoder.decode(&mut input), Ok(None));
/// assert!(input.is_empty());
/// ```
#[derive(Debug)]
pub struct Decoder {
    stream: Stream,
    /// Bytes given to `handle` and not yet consumed by `poll`; unused by `decode`.
    inbox: Vec<u8>,
    inbox_read: usize,
}

impl Decoder {
    /// A decoder with no bytes seen yet.
    pub fn new(config: Config) -> Decoder {
        Decoder {
            stream: Stream::new(config),
            inbox: Vec::new(),
            inbox_read: 0,
        }
    }

    /// Consumes bytes from the front of `input` until one message is complete, and returns it.
    ///
    /// - `Ok(Some(message))`: `input` now starts just after that message's last frame; call
    ///   again with it for the next one.
    /// - `Ok(None)`: all of `input` was consumed (part of a frame may be kept for later).
    /// - `Err(error)`: the peer broke a rule. Send a Close with `error.close_code()` and stop
    ///   reading; every later call returns the same error.
    ///
    /// The message borrows the decoder until the next call.
    ///
    /// ```
    /// use wsframe::{encode_frame, Config, Decoder, FrameHeader, Message, Opcode};
    ///
    /// let mut wire = Vec::new();
    /// encode_frame(&mut wire, &FrameHeader::client(Opcode::Text, 2, [9, 9, 9, 9]), b"hi");
    /// let mut decoder = Decoder::new(Config::server());
    /// // Bytes may arrive one at a time.
    /// for (index, byte) in wire.iter().enumerate() {
    ///     let mut input: &[u8] = std::slice::from_ref(byte);
    ///     let result = decoder.decode(&mut input);
    ///     if index + 1 < wire.len() {
    ///         assert_eq!(result, Ok(None));
    ///     } else {
    ///         assert_eq!(result, Ok(Some(Message::Text("hi"))));
    ///     }
    /// }
    /// ```
    pub fn decode<'d>(&'d mut self, input: &mut &[u8]) -> Result<Option<Message<'d>>, Error> {
        self.stream.decode(input)
    }

    /// Queues bytes for [`Decoder::poll`]. Copies them, so the caller's buffer is free again at
    /// once. Call `poll` until it returns `None` after each `handle`.
    pub fn handle(&mut self, bytes: &[u8]) {
        if self.stream.ignores_input() {
            return;
        }
        if self.inbox_read == self.inbox.len() {
            self.inbox.clear();
        } else {
            self.inbox.drain(..self.inbox_read);
        }
        self.inbox_read = 0;
        self.inbox.extend_from_slice(bytes);
    }

    /// The next message from the bytes queued by [`Decoder::handle`], `None` when they are
    /// used up, or the error that failed the connection. After an error, stop polling: the
    /// same error is returned on every call.
    ///
    /// ```
    /// use wsframe::{encode_frame, Config, Decoder, FrameHeader, Message, Opcode};
    ///
    /// let mut wire = Vec::new();
    /// encode_frame(&mut wire, &FrameHeader::client(Opcode::Binary, 3, [1, 2, 3, 4]), b"abc");
    /// encode_frame(&mut wire, &FrameHeader::client(Opcode::Pong, 0, [1, 2, 3, 4]), b"");
    ///
    /// let mut decoder = Decoder::new(Config::server());
    /// decoder.handle(&wire);
    /// let mut received = Vec::new();
    /// while let Some(event) = decoder.poll() {
    ///     match event {
    ///         Ok(message) => received.push(format!("{message:?}")),
    ///         Err(error) => panic!("close with {}", error.close_code()),
    ///     }
    /// }
    /// assert_eq!(received, ["Binary([97, 98, 99])", "Pong([])"]);
    /// ```
    pub fn poll(&mut self) -> Option<Result<Message<'_>, Error>> {
        let Decoder {
            stream,
            inbox,
            inbox_read,
        } = self;
        let mut input = &inbox[*inbox_read..];
        let len_before = input.len();
        let result = stream.decode(&mut input);
        *inbox_read += len_before - input.len();
        debug_assert!(*inbox_read <= inbox.len());
        result.transpose()
    }

    /// Whether the decoder is between messages: it holds no partial header, frame or
    /// fragmented message, no bytes queued by [`Decoder::handle`], and it has neither
    /// failed nor received a Close. Such a decoder knows nothing that a new one built with
    /// the same [`Config`] does not, so a caller holding many idle connections may drop it
    /// and build a new one when the next bytes arrive (the engine does, so an idle
    /// WebSocket holds no decoder).
    ///
    /// ```
    /// use wsframe::{encode_frame, Config, Decoder, FrameHeader, Message, Opcode};
    ///
    /// let mut wire = Vec::new();
    /// encode_frame(&mut wire, &FrameHeader::client(Opcode::Text, 2, [7; 4]), b"hi");
    /// let mut decoder = Decoder::new(Config::server());
    /// let mut input = &wire[..3];
    /// assert_eq!(decoder.decode(&mut input), Ok(None));
    /// assert!(!decoder.is_between_messages()); // part of the frame is held
    /// let mut input = &wire[3..];
    /// assert_eq!(decoder.decode(&mut input), Ok(Some(Message::Text("hi"))));
    /// assert!(decoder.is_between_messages());
    /// ```
    pub fn is_between_messages(&self) -> bool {
        self.inbox_read == self.inbox.len() && self.stream.is_between_messages()
    }

    /// Whether a Close frame has been received; all later input is ignored.
    pub fn is_closed(&self) -> bool {
        matches!(self.stream.phase, Phase::Closed)
    }

    /// The error that failed this decoder, if any.
    pub fn error(&self) -> Option<Error> {
        match self.stream.phase {
            Phase::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// The settings this decoder was built with.
    pub fn config(&self) -> &Config {
        &self.stream.config
    }
}

/// Where in the byte stream the decoder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Between frames, or inside a header (`header_buf` holds its first bytes).
    Header,
    /// Inside the payload of `Stream::frame`.
    Payload,
    /// A Close frame was delivered; input is ignored.
    Closed,
    /// The peer broke a rule; every call returns this error.
    Failed(Error),
}

/// What a finished frame completed.
#[derive(Clone, Copy, Debug)]
enum Completed {
    Data,
    Ping,
    Pong,
    Close,
}

/// The decoding state machine. Split from [`Decoder`] so `poll` can lend it the inbox.
#[derive(Debug)]
struct Stream {
    config: Config,
    phase: Phase,
    /// The first bytes of a header that arrived split across calls.
    header_buf: [u8; HEADER_LEN_MAX],
    header_buf_len: usize,
    /// The frame whose payload is being read (meaningful in `Phase::Payload`).
    frame: FrameHeader,
    payload_remaining: u64,
    /// Payload bytes of `frame` consumed so far, modulo 4: where the next byte sits in the key.
    mask_offset: usize,
    /// The payload of the control frame being read.
    control: [u8; CONTROL_PAYLOAD_LEN_MAX],
    control_len: usize,
    assembler: Assembler,
    /// The last call delivered the data message; release its buffer on the next call.
    data_delivered: bool,
}

impl Stream {
    fn new(config: Config) -> Stream {
        Stream {
            config,
            phase: Phase::Header,
            header_buf: [0; HEADER_LEN_MAX],
            header_buf_len: 0,
            frame: FrameHeader::server(Opcode::Continuation, 0),
            payload_remaining: 0,
            mask_offset: 0,
            control: [0; CONTROL_PAYLOAD_LEN_MAX],
            control_len: 0,
            assembler: Assembler::default(),
            data_delivered: false,
        }
    }

    /// No header, frame or message is partly read. `control_len`, `frame`,
    /// `payload_remaining` and `mask_offset` are set afresh by `begin_frame`, and a
    /// delivered message (`data_delivered`) is released on the next call, so in this state
    /// the stream behaves as a new one would.
    fn is_between_messages(&self) -> bool {
        self.phase == Phase::Header
            && self.header_buf_len == 0
            && (!self.assembler.is_open() || self.data_delivered)
    }

    fn ignores_input(&self) -> bool {
        matches!(self.phase, Phase::Closed | Phase::Failed(_))
    }

    fn decode<'d>(&'d mut self, input: &mut &[u8]) -> Result<Option<Message<'d>>, Error> {
        match self.phase {
            Phase::Failed(error) => return Err(error),
            Phase::Closed => {
                *input = &input[input.len()..];
                return Ok(None);
            }
            Phase::Header | Phase::Payload => {}
        }
        if self.data_delivered {
            self.assembler.release();
            self.data_delivered = false;
        }
        let completed = match self.advance(input) {
            Ok(Some(completed)) => completed,
            Ok(None) => {
                debug_assert!(input.is_empty(), "Ok(None) means all input was consumed");
                return Ok(None);
            }
            Err(error) => {
                self.phase = Phase::Failed(error);
                return Err(error);
            }
        };
        // Borrow the fields separately: the message borrows a buffer while `phase` changes.
        let Stream {
            phase,
            assembler,
            control,
            control_len,
            data_delivered,
            ..
        } = self;
        let control = &control[..*control_len];
        let message = match completed {
            Completed::Data => {
                *data_delivered = true;
                assembler.message()
            }
            Completed::Ping => Ok(Message::Ping(control)),
            Completed::Pong => Ok(Message::Pong(control)),
            Completed::Close => {
                parse_close_payload(control).map(|(code, reason)| Message::Close { code, reason })
            }
        };
        match message {
            Ok(message) => {
                if let Message::Close { .. } = message {
                    *phase = Phase::Closed;
                }
                Ok(Some(message))
            }
            Err(error) => {
                *phase = Phase::Failed(error);
                Err(error)
            }
        }
    }

    /// Consumes input until a frame completes something deliverable, or input runs out.
    fn advance(&mut self, input: &mut &[u8]) -> Result<Option<Completed>, Error> {
        loop {
            match self.phase {
                Phase::Header => {
                    let Some(header) = self.take_header(input)? else {
                        return Ok(None);
                    };
                    self.begin_frame(header)?;
                }
                Phase::Payload => {
                    self.take_payload(input);
                    if self.payload_remaining > 0 {
                        debug_assert!(input.is_empty());
                        // Fail fast on text that can no longer become valid (Autobahn 6.4.3).
                        if !self.frame.opcode.is_control() {
                            self.assembler.check_text_prefix()?;
                        }
                        return Ok(None);
                    }
                    self.phase = Phase::Header;
                    if let Some(completed) = self.end_frame()? {
                        return Ok(Some(completed));
                    }
                }
                Phase::Closed | Phase::Failed(_) => unreachable!("decode() returns early"),
            }
        }
    }

    /// Takes a complete header from `header_buf` and `input`, or stores what is there.
    fn take_header(&mut self, input: &mut &[u8]) -> Result<Option<FrameHeader>, Error> {
        if self.header_buf_len == 0 {
            // Fast path: the whole header is in the caller's bytes.
            if let Some((header, header_len)) = FrameHeader::parse(input)? {
                *input = &input[header_len..];
                return Ok(Some(header));
            }
        }
        let buffered = self.header_buf_len;
        let take = input.len().min(HEADER_LEN_MAX - buffered);
        self.header_buf[buffered..buffered + take].copy_from_slice(&input[..take]);
        self.header_buf_len += take;
        match FrameHeader::parse(&self.header_buf[..self.header_buf_len])? {
            Some((header, header_len)) => {
                debug_assert!(header_len > buffered && header_len - buffered <= take);
                *input = &input[header_len - buffered..];
                self.header_buf_len = 0;
                Ok(Some(header))
            }
            None => {
                debug_assert!(
                    self.header_buf_len < HEADER_LEN_MAX,
                    "14 bytes always parse"
                );
                debug_assert_eq!(take, input.len());
                *input = &input[take..];
                Ok(None)
            }
        }
    }

    /// Applies the rules that depend on the connection, then starts reading the payload.
    fn begin_frame(&mut self, header: FrameHeader) -> Result<(), Error> {
        match (self.config.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(Error::UnmaskedClientFrame),
            (Role::Client, true) => return Err(Error::MaskedServerFrame),
            _ => {}
        }
        match header.opcode {
            Opcode::Continuation if !self.assembler.is_open() => {
                return Err(Error::ContinuationWithoutStart)
            }
            Opcode::Text | Opcode::Binary if self.assembler.is_open() => {
                return Err(Error::DataFrameInsideMessage)
            }
            _ => {}
        }
        let len_max = self.config.frame_len_max;
        if header.payload_len > len_max as u64 {
            return Err(Error::FrameTooBig {
                len: header.payload_len,
                len_max,
            });
        }
        if header.opcode.is_control() {
            debug_assert!(header.payload_len <= CONTROL_PAYLOAD_LEN_MAX as u64);
            self.control_len = 0;
        } else {
            let len = (self.assembler.len() as u64).saturating_add(header.payload_len);
            let len_max = self.config.message_len_max;
            if len > len_max as u64 {
                return Err(Error::MessageTooBig { len, len_max });
            }
            match header.opcode {
                Opcode::Text => self.assembler.open(DataKind::Text),
                Opcode::Binary => self.assembler.open(DataKind::Binary),
                _ => {}
            }
        }
        self.frame = header;
        self.payload_remaining = header.payload_len;
        self.mask_offset = 0;
        self.phase = Phase::Payload;
        Ok(())
    }

    /// Copies as much of the current payload as `input` holds into its buffer, unmasking it.
    fn take_payload(&mut self, input: &mut &[u8]) {
        let take = usize::try_from(self.payload_remaining)
            .map_or(input.len(), |remaining| remaining.min(input.len()));
        let (chunk, rest) = input.split_at(take);
        *input = rest;
        let destination: &mut [u8] = if self.frame.opcode.is_control() {
            let start = self.control_len;
            self.control_len += take;
            debug_assert!(self.control_len <= CONTROL_PAYLOAD_LEN_MAX);
            let destination = &mut self.control[start..start + take];
            destination.copy_from_slice(chunk);
            destination
        } else {
            let payload = self.assembler.payload_mut();
            let start = payload.len();
            payload.extend_from_slice(chunk);
            debug_assert!(payload.len() <= self.config.message_len_max);
            &mut payload[start..]
        };
        if let Some(key) = self.frame.mask {
            apply_mask(destination, key, self.mask_offset);
        }
        self.mask_offset = (self.mask_offset + take) % 4;
        self.payload_remaining -= take as u64;
    }

    /// A frame's payload is complete: say what it completed, if anything.
    fn end_frame(&mut self) -> Result<Option<Completed>, Error> {
        debug_assert_eq!(self.payload_remaining, 0);
        let completed = match self.frame.opcode {
            Opcode::Ping => Completed::Ping,
            Opcode::Pong => Completed::Pong,
            Opcode::Close => Completed::Close,
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                if !self.frame.fin {
                    // More fragments follow; make sure what we have can still become UTF-8.
                    self.assembler.check_text_prefix()?;
                    return Ok(None);
                }
                Completed::Data
            }
        };
        Ok(Some(completed))
    }
}

#[cfg(test)]
mod tests;
