//! Helpers shared by the integration tests: a frame builder that can also write frames the
//! encoder refuses to (reserved bits and opcodes, fragmented control frames), and a driver that
//! feeds frames to a decoder chopped the ways Autobahn chops them.
#![allow(dead_code)] // Each test file uses a different subset.

use wsframe::mask::apply_mask;
use wsframe::{Config, Decoder, Error, FrameHeader, Message, Opcode};

/// The masking key of every client frame built here.
pub const KEY: [u8; 4] = [0x9E, 0x21, 0x4C, 0xD3];

/// What the decoder produced, owned so a list of them can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    Failed(Error),
}

impl Event {
    pub fn from_message(message: Message<'_>) -> Event {
        match message {
            Message::Text(text) => Event::Text(text.to_owned()),
            Message::Binary(bytes) => Event::Binary(bytes.to_vec()),
            Message::Ping(bytes) => Event::Ping(bytes.to_vec()),
            Message::Pong(bytes) => Event::Pong(bytes.to_vec()),
            Message::Close { code, reason } => Event::Close(code, reason.to_owned()),
        }
    }

    pub fn text(text: &str) -> Event {
        Event::Text(text.to_owned())
    }
}

/// A masked client frame with any FIN, RSV value (RSV1 = 4) and opcode nibble.
pub fn raw(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv,
        opcode: Opcode::Binary,
        mask: Some(KEY),
        payload_len: payload.len() as u64,
    };
    let mut bytes = header.encode().to_vec();
    bytes[0] = (bytes[0] & 0xF0) | opcode;
    let start = bytes.len();
    bytes.extend_from_slice(payload);
    apply_mask(&mut bytes[start..], KEY, 0);
    bytes
}

/// A masked client frame.
pub fn frame(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
    raw(fin, 0, opcode.as_u4(), payload)
}

pub fn text(payload: &[u8]) -> Vec<u8> {
    frame(Opcode::Text, true, payload)
}

pub fn binary(payload: &[u8]) -> Vec<u8> {
    frame(Opcode::Binary, true, payload)
}

pub fn ping(payload: &[u8]) -> Vec<u8> {
    frame(Opcode::Ping, true, payload)
}

pub fn pong(payload: &[u8]) -> Vec<u8> {
    frame(Opcode::Pong, true, payload)
}

/// A Close frame with a code and reason (reason bytes are not checked here).
pub fn close(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    frame(Opcode::Close, true, &payload)
}

/// How the bytes reach the decoder, as in Autobahn's test cases.
#[derive(Clone, Copy, Debug)]
pub enum Chop {
    /// Every frame in one read.
    All,
    /// One read per frame.
    PerFrame,
    /// One read per byte ("octet-wise chops").
    Octets,
    /// Reads of this many bytes.
    Sized(usize),
}

/// Feeds `frames` to a fresh decoder as `chop` says; collects events until an error.
pub fn run(config: Config, frames: &[Vec<u8>], chop: Chop) -> Vec<Event> {
    let stream = frames.concat();
    let reads: Vec<&[u8]> = match chop {
        Chop::All => vec![&stream],
        Chop::PerFrame => frames.iter().map(Vec::as_slice).collect(),
        Chop::Octets => stream.chunks(1).collect(),
        Chop::Sized(len) => stream.chunks(len).collect(),
    };
    let mut decoder = Decoder::new(config);
    let mut events = Vec::new();
    for read in reads {
        let mut input = read;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(message)) => events.push(Event::from_message(message)),
                Ok(None) => break,
                Err(error) => {
                    events.push(Event::Failed(error));
                    return events;
                }
            }
        }
    }
    events
}

/// Runs `frames` chopped every way and checks that all agree; returns the events.
pub fn run_every_chop(config: Config, frames: &[Vec<u8>]) -> Vec<Event> {
    let all = run(config, frames, Chop::All);
    for chop in [
        Chop::PerFrame,
        Chop::Octets,
        Chop::Sized(3),
        Chop::Sized(997),
    ] {
        assert_eq!(
            run(config, frames, chop),
            all,
            "{chop:?} changed the result"
        );
    }
    all
}

/// A server decoder with room for Autobahn's largest messages in sections 1–7 (256 KiB).
pub fn server() -> Config {
    Config::server()
        .with_message_len_max(1 << 20)
        .with_frame_len_max(1 << 20)
}

/// Asserts the events end in a failure with `close_code`, and returns that error.
pub fn failed_with(events: &[Event], close_code: u16) -> Error {
    match events.last() {
        Some(Event::Failed(error)) => {
            assert_eq!(error.close_code(), close_code, "{error:?}");
            *error
        }
        other => panic!("expected a failure with {close_code}, got {other:?} in {events:?}"),
    }
}

/// Feeds `reads` one at a time and returns the index of the read that failed, if any.
pub fn failing_read(config: Config, reads: &[&[u8]]) -> Option<(usize, Error)> {
    let mut decoder = Decoder::new(config);
    for (index, read) in reads.iter().enumerate() {
        let mut input = *read;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => return Some((index, error)),
            }
        }
    }
    None
}
