//! The peer's transport compression: one compressor per connection, as a tokio server
//! written with the usual crates would do it.
//!
//! Implements: Discord's `compress=zlib-stream` (one zlib stream per connection, level 6,
//! every message ends on a sync flush, so it ends in `00 00 ff ff`) with `zlib-rs`, the
//! engine's own zlib (`crate::zlib`: why not `flate2`'s default backend), and
//! `compress=zstd-stream` (one zstd frame per connection, level 1, every message ends on
//! a flush) with `zstd`. Compressed messages go out as binary frames, plain ones as text.
//!
//! Unlike Flux's spliced zlib mode, nothing is shared between sessions: each session
//! compresses every dispatch itself, which is what a per-connection stream means.

use crate::zlib::{deflate_vec, Deflate, DeflateFlush, Status};
use tokio_tungstenite::tungstenite::Message;
use zstd::zstd_safe::zstd_sys::ZSTD_EndDirective;
use zstd::zstd_safe::{CCtx, CParameter, InBuffer, OutBuffer};

/// How one connection's messages are encoded.
pub enum Transport {
    /// JSON text frames.
    Plain,
    /// One zlib stream (level 6, 32 KiB window).
    Zlib(Box<Deflate>),
    /// One zstd stream (level 1).
    Zstd(CCtx<'static>),
}

/// A compressor that failed; the session closes.
#[derive(Debug)]
pub struct CompressError(pub String);

impl Transport {
    /// The transport a `compress=` query value asks for; `None` for an unknown one.
    pub fn for_query(compress: Option<&str>) -> Option<Result<Transport, CompressError>> {
        match compress {
            None => Some(Ok(Transport::Plain)),
            Some("zlib-stream") => Some(Ok(Transport::Zlib(Box::new(Deflate::new(6, true, 15))))),
            Some("zstd-stream") => Some(new_zstd().map(Transport::Zstd)),
            Some(_) => None,
        }
    }

    /// Encodes one payload as the next message of this connection.
    pub fn encode(&mut self, payload: String) -> Result<Message, CompressError> {
        match self {
            Transport::Plain => Ok(Message::text(payload)),
            Transport::Zlib(compress) => {
                Ok(Message::binary(deflate_sync(compress, payload.as_bytes())?))
            }
            Transport::Zstd(context) => {
                Ok(Message::binary(zstd_flush(context, payload.as_bytes())?))
            }
        }
    }
}

fn new_zstd() -> Result<CCtx<'static>, CompressError> {
    let mut context = CCtx::try_create().ok_or_else(|| CompressError("zstd: no context".into()))?;
    context
        .set_parameter(CParameter::CompressionLevel(1))
        .map_err(|code| CompressError(format!("zstd level: error {code}")))?;
    Ok(context)
}

/// Deflates `input` as the next piece of the stream, ending on a sync flush.
fn deflate_sync(deflate: &mut Deflate, input: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    let mut consumed = 0;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(input.len() / 2 + 64);
        }
        let (status, taken) = deflate_vec(
            deflate,
            &input[consumed..],
            &mut out,
            DeflateFlush::SyncFlush,
        )
        .map_err(CompressError)?;
        consumed += taken;
        // The flush is complete once all input is in and the output was not filled.
        if consumed == input.len() && out.len() < out.capacity() || status == Status::StreamEnd {
            break;
        }
    }
    debug_assert!(
        out.ends_with(&[0, 0, 0xff, 0xff]),
        "a sync flush ends in 00 00 ff ff"
    );
    Ok(out)
}

/// Compresses `input` as the next chunk of the zstd frame, ending on a flush.
fn zstd_flush(context: &mut CCtx<'static>, input: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut out: Vec<u8> = Vec::with_capacity(input.len() / 2 + 64);
    let mut source = InBuffer::around(input);
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(input.len() / 2 + 64);
        }
        let filled = out.len();
        let mut target = OutBuffer::around_pos(&mut out, filled);
        let remaining = context
            .compress_stream2(&mut target, &mut source, ZSTD_EndDirective::ZSTD_e_flush)
            .map_err(|code| CompressError(format!("zstd: error {code}")))?;
        if remaining == 0 && source.pos() == input.len() {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payloads() -> Vec<String> {
        (0..20)
            .map(|i| format!("{{\"op\":0,\"s\":{i},\"d\":\"{}\"}}", "x".repeat(i * 97)))
            .collect()
    }

    #[test]
    fn zlib_stream_round_trips_message_by_message() {
        let mut transport = Transport::for_query(Some("zlib-stream")).unwrap().unwrap();
        let mut inflate = flate2::Decompress::new(true);
        for payload in payloads() {
            let Message::Binary(wire) = transport.encode(payload.clone()).unwrap() else {
                panic!("compressed messages are binary");
            };
            assert!(wire.ends_with(&[0, 0, 0xff, 0xff]));
            let mut out = Vec::with_capacity(payload.len() + 64);
            inflate
                .decompress_vec(&wire, &mut out, flate2::FlushDecompress::Sync)
                .unwrap();
            assert_eq!(out, payload.as_bytes());
        }
    }

    #[test]
    fn zstd_stream_round_trips_message_by_message() {
        let mut transport = Transport::for_query(Some("zstd-stream")).unwrap().unwrap();
        let mut decoder = zstd::stream::raw::Decoder::new().unwrap();
        for payload in payloads() {
            let Message::Binary(wire) = transport.encode(payload.clone()).unwrap() else {
                panic!("compressed messages are binary");
            };
            let mut out = vec![0u8; payload.len() + 64];
            let mut input = zstd::stream::raw::InBuffer::around(&wire[..]);
            let mut output = zstd::stream::raw::OutBuffer::around(&mut out[..]);
            use zstd::stream::raw::Operation;
            decoder.run(&mut input, &mut output).unwrap();
            assert_eq!(input.pos(), wire.len());
            let written = output.pos();
            assert_eq!(&out[..written], payload.as_bytes());
        }
    }

    #[test]
    fn unknown_compression_is_refused() {
        assert!(Transport::for_query(Some("gzip")).is_none());
    }
}
