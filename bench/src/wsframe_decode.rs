//! Benchmark suite `wsframe`: how fast the server-role decoder turns masked client frames into
//! messages, against `tungstenite` in the same run, and what word-at-a-time unmasking buys
//! over the byte loop.
//!
//! Decode: a buffer of masked Text frames (ASCII, JSON-like; every frame has its own key) is
//! fed to each decoder in 64 KiB reads, as a reactor would after `read(2)`. Cases: 120-byte
//! payloads (a typical gateway event) and 16 KiB payloads. Decoders:
//! - `wsframe decode`: `Decoder::decode(&mut &[u8])` straight from the read buffer.
//! - `wsframe handle/poll`: the same decoder through its copying inbox API.
//! - `tungstenite`: `WebSocket::from_raw_socket` (server role) over an in-memory socket; it
//!   allocates each message, which is part of what is measured.
//!
//! All three unmask, validate UTF-8 and enforce the same 1 MiB limits.
//!
//! Unmask: `mask::apply_mask` (u64 words, key rotated and replicated) against
//! `mask::apply_mask_bytewise` on one in-cache buffer of 120 bytes and of 16 KiB.
//!
//! Method: runs of all variants are interleaved so a noisy neighbour hurts them alike. Tables
//! show the median over runs, the min and max, and the ratio of wsframe's median to each
//! peer's. MB are 10^6 bytes of wire (decode) or payload (unmask). The checksum adds up
//! every decoded payload length and first byte, and the unmasked bytes.

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use tungstenite::protocol::{Role as TRole, WebSocket, WebSocketConfig};
use wsframe::mask::{apply_mask, apply_mask_bytewise};
use wsframe::{encode_frame, Config, Decoder, FrameHeader, Message, Opcode};

use crate::{Report, Size};

/// Bytes handed to a decoder per simulated `read(2)`.
const READ_LEN: usize = 64 * 1024;
/// Message and frame limit for every decoder.
const LEN_MAX: usize = 1 << 20;
/// Payload sizes measured.
const PAYLOAD_LENS: [usize; 2] = [120, 16 * 1024];

/// Runs the suite.
pub fn run(size: Size) -> Report {
    let (wire_len_target, runs, unmask_bytes) = match size {
        Size::Tiny => (40 * 1024, 3, 256 * 1024),
        Size::Full => (16 << 20, 11, 256 << 20),
    };
    let mut checksum = 0u64;
    let mut decode_rows = Vec::new();
    for payload_len in PAYLOAD_LENS {
        let (wire, frames) = build_wire(payload_len, wire_len_target);
        let mut samples = vec![Vec::new(); DECODERS.len()];
        for _ in 0..runs {
            for (decoder, durations) in DECODERS.iter().zip(&mut samples) {
                let start = Instant::now();
                let (decoded, sum) = (decoder.run)(black_box(&wire));
                durations.push(start.elapsed());
                assert_eq!(decoded, frames, "{} lost frames", decoder.name);
                checksum = checksum.wrapping_add(sum);
            }
        }
        decode_rows.push((payload_len, wire.len(), frames, samples));
    }

    let mut unmask_rows = Vec::new();
    for payload_len in PAYLOAD_LENS {
        let repetitions = (unmask_bytes / payload_len).max(1);
        let mut buffer: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..runs {
            for (index, unmask) in [
                apply_mask as fn(&mut [u8], [u8; 4], usize),
                apply_mask_bytewise,
            ]
            .into_iter()
            .enumerate()
            {
                let start = Instant::now();
                for repetition in 0..repetitions {
                    unmask(black_box(&mut buffer), [0x37, 0xFA, 0x21, 0x3D], repetition);
                }
                samples[index].push(start.elapsed());
            }
        }
        checksum = checksum.wrapping_add(buffer.iter().map(|&b| u64::from(b)).sum::<u64>());
        unmask_rows.push((payload_len, repetitions * payload_len, samples));
    }

    let table = render(runs, &decode_rows, &unmask_rows);
    Report {
        suite: "wsframe",
        table,
        checksum,
    }
}

/// One decoder under test: decodes a whole wire buffer, returns (frames, checksum).
struct DecoderCase {
    name: &'static str,
    run: fn(&[u8]) -> (usize, u64),
}

const DECODERS: [DecoderCase; 3] = [
    DecoderCase {
        name: "wsframe decode",
        run: wsframe_decode,
    },
    DecoderCase {
        name: "wsframe handle/poll",
        run: wsframe_handle_poll,
    },
    DecoderCase {
        name: "tungstenite",
        run: tungstenite_read,
    },
];

fn server_config() -> Config {
    Config::server()
        .with_message_len_max(LEN_MAX)
        .with_frame_len_max(LEN_MAX)
}

fn wsframe_decode(wire: &[u8]) -> (usize, u64) {
    let mut decoder = Decoder::new(server_config());
    let (mut frames, mut sum) = (0, 0u64);
    for read in wire.chunks(READ_LEN) {
        let mut input = read;
        while let Some(message) = decoder
            .decode(&mut input)
            .expect("benchmark frames are valid")
        {
            frames += 1;
            sum = sum.wrapping_add(digest(message));
        }
    }
    (frames, sum)
}

fn wsframe_handle_poll(wire: &[u8]) -> (usize, u64) {
    let mut decoder = Decoder::new(server_config());
    let (mut frames, mut sum) = (0, 0u64);
    for read in wire.chunks(READ_LEN) {
        decoder.handle(read);
        while let Some(result) = decoder.poll() {
            frames += 1;
            sum = sum.wrapping_add(digest(result.expect("benchmark frames are valid")));
        }
    }
    (frames, sum)
}

fn digest(message: Message<'_>) -> u64 {
    match message {
        Message::Text(text) => text.len() as u64 + u64::from(text.as_bytes()[0]),
        other => panic!("benchmark sends only text, got {other:?}"),
    }
}

/// Hands out the wire in `READ_LEN` reads, then `WouldBlock`; swallows writes.
struct MemorySocket<'a> {
    wire: &'a [u8],
}

impl Read for MemorySocket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.wire.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let take = buf.len().min(READ_LEN).min(self.wire.len());
        buf[..take].copy_from_slice(&self.wire[..take]);
        self.wire = &self.wire[take..];
        Ok(take)
    }
}

impl Write for MemorySocket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tungstenite_read(wire: &[u8]) -> (usize, u64) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(LEN_MAX))
        .max_frame_size(Some(LEN_MAX));
    let mut socket = WebSocket::from_raw_socket(MemorySocket { wire }, TRole::Server, Some(config));
    let (mut frames, mut sum) = (0, 0u64);
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Text(text)) => {
                frames += 1;
                sum = sum.wrapping_add(text.len() as u64 + u64::from(text.as_bytes()[0]));
            }
            Err(tungstenite::Error::Io(error)) if error.kind() == io::ErrorKind::WouldBlock => {
                return (frames, sum);
            }
            other => panic!("benchmark frames are valid text, got {other:?}"),
        }
    }
}

/// Masked Text frames of `payload_len` bytes, about `wire_len_target` bytes in all.
fn build_wire(payload_len: usize, wire_len_target: usize) -> (Vec<u8>, usize) {
    let pattern =
        br#"{"op":0,"t":"MESSAGE_CREATE","s":42,"d":{"channel_id":"1055","content":"hello flux"}}"#;
    let payload: Vec<u8> = pattern.iter().copied().cycle().take(payload_len).collect();
    let mut wire = Vec::with_capacity(wire_len_target + payload_len + 14);
    let mut frames = 0;
    let mut key = 0x9E37_79B9u32;
    while wire.len() < wire_len_target || frames < 2 {
        key = key.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let header = FrameHeader::client(Opcode::Text, payload.len(), key.to_le_bytes());
        encode_frame(&mut wire, &header, &payload);
        frames += 1;
    }
    (wire, frames)
}

type DecodeRow = (usize, usize, usize, Vec<Vec<Duration>>);
type UnmaskRow = (usize, usize, [Vec<Duration>; 2]);

fn render(runs: usize, decode_rows: &[DecodeRow], unmask_rows: &[UnmaskRow]) -> String {
    let mut table = format!(
        "Decode: masked client Text frames through a server-role decoder, {} KiB reads, \
         median of {runs} runs.\n\n\
         | payload | decoder | MB/s (median) | frames/s (median) | MB/s min–max | wsframe decode vs this |\n\
         |---|---|---:|---:|---:|---:|\n",
        READ_LEN / 1024
    );
    for (payload_len, wire_len, frames, samples) in decode_rows {
        let reference = median(&samples[0]);
        for (decoder, durations) in DECODERS.iter().zip(samples) {
            let mid = median(durations);
            let (fast, slow) = extremes(durations);
            table += &format!(
                "| {} | {} | {:.0} | {:.2} M | {:.0}–{:.0} | {:.2}× |\n",
                size_label(*payload_len),
                decoder.name,
                rate(*wire_len, mid),
                rate(*frames, mid),
                rate(*wire_len, slow),
                rate(*wire_len, fast),
                mid.as_secs_f64() / reference.as_secs_f64(),
            );
        }
    }
    table += &format!(
        "\nUnmask: one in-cache buffer, median of {runs} runs.\n\n\
         | payload | method | MB/s (median) | MB/s min–max | word-at-a-time vs this |\n\
         |---|---|---:|---:|---:|\n"
    );
    for (payload_len, bytes, samples) in unmask_rows {
        let reference = median(&samples[0]);
        for (name, durations) in ["word-at-a-time (u64)", "byte loop"].iter().zip(samples) {
            let mid = median(durations);
            let (fast, slow) = extremes(durations);
            table += &format!(
                "| {} | {} | {:.0} | {:.0}–{:.0} | {:.2}× |\n",
                size_label(*payload_len),
                name,
                rate(*bytes, mid),
                rate(*bytes, slow),
                rate(*bytes, fast),
                mid.as_secs_f64() / reference.as_secs_f64(),
            );
        }
    }
    table
}

fn size_label(bytes: usize) -> String {
    if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// Units per second in millions (bytes: MB/s; frames: M frames/s).
fn rate(units: usize, elapsed: Duration) -> f64 {
    units as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6
}

fn median(durations: &[Duration]) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

fn extremes(durations: &[Duration]) -> (Duration, Duration) {
    let fastest = durations.iter().min().copied().unwrap_or_default();
    let slowest = durations.iter().max().copied().unwrap_or_default();
    (fastest, slowest)
}
