//! The gateway's transport compression, client side: one inflater per session.
//!
//! Implements: Discord's `compress=zlib-stream` (one zlib stream per connection; each
//! message ends on a sync flush, so its last four bytes are `00 00 ff ff`; a client
//! buffers binary messages until it sees them) and `compress=zstd-stream` (one zstd frame
//! per connection; each WebSocket message is the next flushed chunk). Inflated text is
//! checked exactly like an uncompressed text message.
//!
//! zlib goes through `crate::zlib` (the engine's `zlib-rs`), zstd through `zstd`.
//!
//! Cost: zlib keeps a 32 KiB window per session, zstd the window the server announced.
//! Both are real client costs, which is the point: a load generator that skipped them
//! would not load the server the way real clients do (the server compresses per session).

use crate::zlib::{inflate_vec, Inflate, InflateFlush, Status};
use zstd::zstd_safe::{DCtx, InBuffer, OutBuffer};

/// Which transport compression the sessions ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Plain text frames.
    #[default]
    None,
    /// `compress=zlib-stream`.
    ZlibStream,
    /// `compress=zstd-stream`.
    ZstdStream,
}

impl Compression {
    /// The name used on the command line and in the gateway URL.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::ZlibStream => "zlib-stream",
            Compression::ZstdStream => "zstd-stream",
        }
    }

    /// The gateway URL's query for this compression.
    pub fn gateway_path(self) -> &'static str {
        match self {
            Compression::None => "/?v=10&encoding=json",
            Compression::ZlibStream => "/?v=10&encoding=json&compress=zlib-stream",
            Compression::ZstdStream => "/?v=10&encoding=json&compress=zstd-stream",
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(text: &str) -> Result<Compression, String> {
        match text {
            "none" => Ok(Compression::None),
            "zlib-stream" | "zlib" => Ok(Compression::ZlibStream),
            "zstd-stream" | "zstd" => Ok(Compression::ZstdStream),
            _ => Err(format!(
                "unknown compression {text:?}; use none, zlib-stream or zstd-stream"
            )),
        }
    }
}

/// What every zlib-stream message ends with.
const ZLIB_SUFFIX: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// One session's decompression state.
pub struct Inflater {
    stream: Stream,
    /// zlib-stream input of a message not yet ended by the suffix (rare: only if the
    /// server split one message over several WebSocket messages).
    pending: Vec<u8>,
}

enum Stream {
    None,
    Zlib(Box<Inflate>),
    Zstd(DCtx<'static>),
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.stream {
            Stream::None => "none",
            Stream::Zlib(_) => "zlib",
            Stream::Zstd(_) => "zstd",
        };
        write!(f, "Inflater({kind}, {} pending)", self.pending.len())
    }
}

impl Inflater {
    /// A fresh stream (one per connection: a reconnect starts a new one).
    pub fn new(compression: Compression) -> Inflater {
        let stream = match compression {
            Compression::None => Stream::None,
            Compression::ZlibStream => Stream::Zlib(Box::new(Inflate::new(true, 15))),
            Compression::ZstdStream => Stream::Zstd(DCtx::create()),
        };
        Inflater {
            stream,
            pending: Vec::new(),
        }
    }

    /// Inflates one binary message's `payload`, appending the text to `out`. Returns
    /// false when the message is not complete yet (zlib: no suffix so far).
    pub fn inflate(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<bool, String> {
        match &mut self.stream {
            Stream::None => Err("binary message on an uncompressed connection".into()),
            Stream::Zlib(zlib) => {
                if self.pending.is_empty() && payload.ends_with(&ZLIB_SUFFIX) {
                    return inflate_zlib(zlib, payload, out).map(|()| true);
                }
                self.pending.extend_from_slice(payload);
                if !self.pending.ends_with(&ZLIB_SUFFIX) {
                    return Ok(false);
                }
                let input = std::mem::take(&mut self.pending);
                inflate_zlib(zlib, &input, out)?;
                self.pending = input;
                self.pending.clear();
                Ok(true)
            }
            Stream::Zstd(zstd) => inflate_zstd(zstd, payload, out).map(|()| true),
        }
    }
}

fn inflate_zlib(zlib: &mut Inflate, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut consumed = 0;
    loop {
        out.reserve((input.len() * 4).max(4096));
        let out_before = out.len();
        let (status, taken) = inflate_vec(zlib, &input[consumed..], out, InflateFlush::SyncFlush)
            .map_err(|e| format!("zlib-stream {e}"))?;
        consumed += taken;
        let out_full = out.len() == out.capacity();
        if status == Status::StreamEnd {
            return Err("the server ended its zlib stream".into());
        }
        if consumed == input.len() && !out_full {
            return Ok(());
        }
        if taken == 0 && out.len() == out_before && !out_full {
            return Err("zlib-stream inflate made no progress".into());
        }
    }
}

fn inflate_zstd(zstd: &mut DCtx<'static>, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut input = InBuffer::around(input);
    // Each turn either finishes or finds the output full and doubles it, so a handful of
    // turns suffice; the bound turns a decoder that stops making progress into an error.
    for _ in 0..64 {
        out.reserve((input.src.len() * 8).max(4096).max(out.capacity()));
        let start = out.len();
        let mut output = OutBuffer::around_pos(out, start);
        zstd.decompress_stream(&mut output, &mut input)
            .map_err(|code| {
                format!(
                    "zstd-stream decompress: {}",
                    zstd::zstd_safe::get_error_name(code)
                )
            })?;
        let full = output.pos() == output.capacity();
        if input.pos() == input.src.len() && !full {
            return Ok(());
        }
    }
    Err("zstd-stream decompress made no progress".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression as Level, FlushCompress};

    /// A zlib stream whose every message ends on a sync flush, as the gateway sends it.
    fn zlib_messages(texts: &[&str]) -> Vec<Vec<u8>> {
        let mut deflate = Compress::new(Level::default(), true);
        texts
            .iter()
            .map(|text| {
                let mut out = Vec::with_capacity(text.len() + 64);
                let before = deflate.total_in();
                while deflate.total_in() - before < text.len() as u64 || out.is_empty() {
                    let offset = (deflate.total_in() - before) as usize;
                    out.reserve(1024);
                    deflate
                        .compress_vec(&text.as_bytes()[offset..], &mut out, FlushCompress::Sync)
                        .unwrap();
                }
                assert!(out.ends_with(&ZLIB_SUFFIX));
                out
            })
            .collect()
    }

    fn zstd_messages(texts: &[&str]) -> Vec<Vec<u8>> {
        use std::io::Write;
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        texts
            .iter()
            .map(|text| {
                encoder.write_all(text.as_bytes()).unwrap();
                encoder.flush().unwrap();
                std::mem::take(encoder.get_mut())
            })
            .collect()
    }

    fn texts() -> Vec<String> {
        vec![
            r#"{"op":10,"d":{"heartbeat_interval":41250}}"#.to_string(),
            format!(
                r#"{{"op":0,"s":1,"t":"READY","d":{{"pad":"{}"}}}}"#,
                "a".repeat(100_000)
            ),
            r#"{"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"content":"fx:0:1:2:3"}}"#.to_string(),
        ]
    }

    #[test]
    fn zlib_stream_messages_inflate_one_by_one() {
        let texts = texts();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut inflater = Inflater::new(Compression::ZlibStream);
        for (message, text) in zlib_messages(&refs).iter().zip(&texts) {
            let mut out = Vec::new();
            assert!(inflater.inflate(message, &mut out).unwrap());
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn a_zlib_message_split_over_two_websocket_messages_waits_for_the_suffix() {
        let texts = texts();
        let message = &zlib_messages(&[&texts[1]])[0];
        let (first, second) = message.split_at(message.len() / 2);
        let mut inflater = Inflater::new(Compression::ZlibStream);
        let mut out = Vec::new();
        assert!(!inflater.inflate(first, &mut out).unwrap());
        assert!(out.is_empty());
        assert!(inflater.inflate(second, &mut out).unwrap());
        assert_eq!(out, texts[1].as_bytes());
    }

    #[test]
    fn zstd_stream_messages_inflate_one_by_one() {
        let texts = texts();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut inflater = Inflater::new(Compression::ZstdStream);
        for (message, text) in zstd_messages(&refs).iter().zip(&texts) {
            let mut out = Vec::new();
            assert!(inflater.inflate(message, &mut out).unwrap());
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn garbage_and_plain_connections_are_errors() {
        let mut out = Vec::new();
        assert!(Inflater::new(Compression::None)
            .inflate(b"x", &mut out)
            .is_err());
        let garbage = [0x13, 0x37, 0x00, 0x00, 0xff, 0xff];
        assert!(Inflater::new(Compression::ZlibStream)
            .inflate(&garbage, &mut out)
            .is_err());
        assert!(Inflater::new(Compression::ZstdStream)
            .inflate(&garbage, &mut out)
            .is_err());
        assert_eq!("zstd-stream".parse(), Ok(Compression::ZstdStream));
        assert!("gzip".parse::<Compression>().is_err());
    }
}
