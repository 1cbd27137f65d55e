//! Fuzz target: arbitrary bytes, split at arbitrary points, through the decoder in both roles.
//!
//! Input layout: byte 0 picks the role and the limits, byte 1 seeds the split points, the rest
//! is the byte stream. Checked, besides "never panics":
//! - Splitting the stream differently (whole, pseudo-random pieces, `handle`/`poll`) never
//!   changes the messages or the error.
//! - Every message obeys the protocol: control payloads at most 125 bytes, close codes allowed
//!   on the wire, data messages within `message_len_max`.
//! - A failed decoder keeps returning the same error; a closed one ignores input.
//! - Re-encoding the decoded messages and decoding them again gives the same messages.
//! - The incremental UTF-8 validator agrees with `std::str::from_utf8` on the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsframe::fuzzing::Utf8Validator;
use wsframe::{close, encode_message, Config, Decoder, Error, Message, Role};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    Failed(Error),
}

fn owned(message: Message<'_>) -> Event {
    match message {
        Message::Text(text) => Event::Text(text.to_owned()),
        Message::Binary(bytes) => Event::Binary(bytes.to_vec()),
        Message::Ping(bytes) => Event::Ping(bytes.to_vec()),
        Message::Pong(bytes) => Event::Pong(bytes.to_vec()),
        Message::Close { code, reason } => Event::Close(code, reason.to_owned()),
    }
}

/// A tiny xorshift generator for split points: deterministic per input.
struct Splits(u32);

impl Splits {
    fn next_len(&mut self, max: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        1 + (self.0 as usize) % max.max(1)
    }
}

fn decode_pieces(
    config: Config,
    stream: &[u8],
    splits: &mut Splits,
    piece_max: usize,
) -> Vec<Event> {
    let mut decoder = Decoder::new(config);
    let mut events = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let (piece, after) = rest.split_at(splits.next_len(piece_max).min(rest.len()));
        rest = after;
        let mut input = piece;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(message)) => {
                    check_message(&config, &message);
                    let closed = matches!(message, Message::Close { .. });
                    events.push(owned(message));
                    if closed {
                        assert!(decoder.is_closed());
                    }
                }
                Ok(None) => {
                    assert!(input.is_empty());
                    break;
                }
                Err(error) => {
                    assert_eq!(decoder.error(), Some(error));
                    assert_eq!(decoder.decode(&mut &b"\x81\x80\0\0\0\0"[..]), Err(error));
                    events.push(Event::Failed(error));
                    return events;
                }
            }
        }
    }
    events
}

fn decode_polled(config: Config, stream: &[u8], splits: &mut Splits) -> Vec<Event> {
    let mut decoder = Decoder::new(config);
    let mut events = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let (piece, after) = rest.split_at(splits.next_len(64).min(rest.len()));
        rest = after;
        decoder.handle(piece);
        while let Some(result) = decoder.poll() {
            match result {
                Ok(message) => events.push(owned(message)),
                Err(error) => {
                    events.push(Event::Failed(error));
                    return events;
                }
            }
        }
    }
    events
}

fn check_message(config: &Config, message: &Message<'_>) {
    match message {
        Message::Text(text) => assert!(text.len() <= config.message_len_max),
        Message::Binary(bytes) => assert!(bytes.len() <= config.message_len_max),
        Message::Ping(bytes) | Message::Pong(bytes) => assert!(bytes.len() <= 125),
        Message::Close { code, reason } => {
            assert!(code.is_none_or(close::is_code_allowed));
            assert!(code.is_some() || reason.is_empty());
            assert!(reason.len() <= 123);
        }
    }
}

fn reencode_and_decode(config: Config, events: &[Event]) {
    let messages: Vec<&Event> = events
        .iter()
        .filter(|e| !matches!(e, Event::Failed(_)))
        .collect();
    let mask = (config.role == Role::Server).then_some([0x12, 0x34, 0x56, 0x78]);
    let mut wire = Vec::new();
    for event in &messages {
        let message = match event {
            Event::Text(text) => Message::Text(text),
            Event::Binary(bytes) => Message::Binary(bytes),
            Event::Ping(bytes) => Message::Ping(bytes),
            Event::Pong(bytes) => Message::Pong(bytes),
            Event::Close(code, reason) => Message::Close {
                code: *code,
                reason,
            },
            Event::Failed(_) => unreachable!(),
        };
        encode_message(&mut wire, &message, mask);
    }
    // Re-encoded messages are single frames, so allow a frame as big as a message.
    let config = config.with_frame_len_max(config.message_len_max);
    let again = decode_pieces(config, &wire, &mut Splits(7), wire.len());
    assert_eq!(again.len(), messages.len());
    for (a, b) in again.iter().zip(messages) {
        assert_eq!(a, b);
    }
}

fn check_utf8(stream: &[u8], splits: &mut Splits) {
    let mut validator = Utf8Validator::new();
    let mut seen = 0;
    let mut rest = stream;
    while !rest.is_empty() {
        let (piece, after) = rest.split_at(splits.next_len(8).min(rest.len()));
        rest = after;
        seen += piece.len();
        let prefix_ok = match std::str::from_utf8(&stream[..seen]) {
            Ok(_) => true,
            Err(error) => error.error_len().is_none(),
        };
        assert_eq!(validator.feed(piece).is_ok(), prefix_ok);
        if !prefix_ok {
            return;
        }
    }
    assert_eq!(validator.is_complete(), std::str::from_utf8(stream).is_ok());
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, stream @ ..] = data else {
        return;
    };
    let role = if flags & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let base = if role == Role::Server {
        Config::server()
    } else {
        Config::client()
    };
    let config = match (flags >> 1) & 3 {
        0 => base,
        1 => base.with_message_len_max(64).with_frame_len_max(64),
        2 => base.with_message_len_max(300).with_frame_len_max(100),
        _ => base.with_message_len_max(4096).with_frame_len_max(4096),
    };
    let seed = u32::from(*seed) | 0x100;

    let whole = decode_pieces(config, stream, &mut Splits(seed), stream.len());
    let pieces = decode_pieces(config, stream, &mut Splits(seed), 16);
    assert_eq!(whole, pieces);
    let single_bytes = decode_pieces(config, stream, &mut Splits(seed), 1);
    assert_eq!(whole, single_bytes);
    let polled = decode_polled(config, stream, &mut Splits(seed ^ 0xA5A5));
    assert_eq!(whole, polled);

    reencode_and_decode(config, &whole);
    check_utf8(stream, &mut Splits(seed));
});
