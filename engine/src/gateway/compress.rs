//! Transport compression: zlib-stream and zstd-stream, one stream per connection.
//!
//! Implements: Discord's `compress=zlib-stream` (one zlib stream for the whole connection,
//! every message ends on a sync flush so it ends in `00 00 ff ff`) and `compress=zstd-stream`
//! (one zstd frame for the whole connection, every message ends on a flush, so a client
//! decodes each WebSocket message as the next chunk of one continuing stream).
//!
//! Compression is the most expensive thing a session does, so there are three encoders:
//!
//! - `Encoder::ZlibSpliced` (the zlib-stream default): per-session state is one bit. Each
//!   message is compressed *on its own*, as raw deflate that ends on a sync flush, and the
//!   pieces are concatenated after the 2-byte zlib header. A deflate stream may contain any
//!   sequence of blocks, and a sync flush leaves the stream byte-aligned, so the client's
//!   inflater cannot tell the difference. That makes a dispatch's `d` compressible *once
//!   per core* and shareable by every session: a session adds only its
//!   `{"op":0,"s":N,"t":"NAME","d":` prefix as a 5-byte-header stored block. Messages are also
//!   independent of each other, so a heartbeat ACK could be reordered without breaking the
//!   stream. The price: no back-references across messages, so small messages compress less.
//! - `Encoder::Zlib`: a classic per-connection deflate context (`zlib-rs`), with a small
//!   window and memLevel so the state stays small. Better ratio on streams of small similar
//!   messages; costs a context per session and CPU per session per message.
//! - `Encoder::Zstd`: a per-connection zstd context with a small window, hash and chain
//!   tables. zstd's frame format carries entropy tables and repeat offsets from block to block,
//!   so its messages cannot be spliced; each session compresses its own.
//!
//! `examples/gateway_compression.rs` measures bytes saved, ns per message and heap bytes per
//! session for each encoder and for the library defaults.
//!
//! Invariants:
//! - Every zlib-stream message ends in `00 00 ff ff`.
//! - Messages of one connection must reach the wire in the order they were encoded (except
//!   in spliced mode, where only the first message, which carries the zlib header, must
//!   come first). The session encodes in the order its outputs are drained.

use std::cell::RefCell;
use std::sync::Arc;

use zlib_rs::{Deflate, DeflateConfig, DeflateFlush};
use zstd::zstd_safe::{self, CCtx, CParameter, InBuffer, OutBuffer};

use super::dispatch::Dispatch;
use super::frame::encode_dispatch_prefix;
use super::query::TransportCompression;
use crate::reactor::{deflate_stored_header, Payload, Prefix};

/// How zlib-stream connections are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZlibMode {
    /// Independent per-message pieces, dispatch bodies compressed once per core.
    Spliced,
    /// One deflate context per connection.
    Context,
}

/// Compression parameters for every connection of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressionConfig {
    pub zlib_mode: ZlibMode,
    /// Deflate level 0..=9 (both zlib modes).
    pub zlib_level: i32,
    /// Context mode: log2 of the window, 9..=15 (clients inflate any window up to 15).
    pub zlib_window_bits: u8,
    /// Context mode: memLevel 1..=9 (sizes the literal buffer; zlib-rs keeps a fixed
    /// 64 Ki-entry hash table whatever this says).
    pub zlib_mem_level: i32,
    /// Spliced mode: messages shorter than this go out as stored (uncompressed) blocks;
    /// deflating a tiny message costs more CPU than the bytes it saves.
    pub zlib_stored_below_bytes: usize,
    pub zstd_level: i32,
    pub zstd_window_log: u32,
    pub zstd_hash_log: u32,
    pub zstd_chain_log: u32,
}

/// Defaults chosen by `examples/gateway_compression.rs` (numbers in `docs/BENCHMARKS.md`):
/// spliced zlib at level 3 compresses as well as level 6 for half the per-core CPU; zstd level 1 with a 4 KiB window and 1 Ki-entry tables
/// compresses MESSAGE_CREATE streams as well as level 3 with 64 KiB tables, in 57 KB of
/// context instead of 1.7 MB (zstd's level-3 defaults).
impl Default for CompressionConfig {
    fn default() -> Self {
        CompressionConfig {
            zlib_mode: ZlibMode::Spliced,
            zlib_level: 3,
            zlib_window_bits: 11,
            zlib_mem_level: 1,
            zlib_stored_below_bytes: 64,
            zstd_level: 1,
            zstd_window_log: 12,
            zstd_hash_log: 10,
            zstd_chain_log: 10,
        }
    }
}

/// One message to encode: a whole payload, or a dispatch to be framed with its `seq`.
#[derive(Debug, Clone, Copy)]
pub enum Outgoing<'a> {
    Whole(&'a [u8]),
    Dispatch { seq: u64, event: &'a Dispatch },
}

/// The per-connection encoder.
pub enum Encoder {
    /// TEXT frames, no compression.
    Plain,
    /// zlib-stream, spliced pieces; the flag says whether the zlib header went out.
    ZlibSpliced { header_sent: bool },
    /// zlib-stream with a per-connection deflate context.
    Zlib(Box<Deflate>),
    /// zstd-stream with a per-connection context.
    Zstd(Box<CCtx<'static>>),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoder::Plain => "Plain",
            Encoder::ZlibSpliced { .. } => "ZlibSpliced",
            Encoder::Zlib(_) => "Zlib",
            Encoder::Zstd(_) => "Zstd",
        })
    }
}

/// A compressor failed; the session closes with 4000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressError(pub String);

/// The zlib header our spliced streams start with: deflate, 32 KiB window, no dictionary.
pub const ZLIB_HEADER: [u8; 2] = [0x78, 0x01];

/// What every zlib-stream message ends with.
pub const ZLIB_SYNC_FLUSH_SUFFIX: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

impl Encoder {
    /// The encoder for a connection that asked for `compression`.
    pub fn new(
        compression: TransportCompression,
        config: &CompressionConfig,
    ) -> Result<Encoder, CompressError> {
        Ok(match (compression, config.zlib_mode) {
            (TransportCompression::None, _) => Encoder::Plain,
            (TransportCompression::ZlibStream, ZlibMode::Spliced) => {
                Encoder::ZlibSpliced { header_sent: false }
            }
            (TransportCompression::ZlibStream, ZlibMode::Context) => {
                Encoder::Zlib(Box::new(new_deflate(
                    config.zlib_level,
                    i32::from(config.zlib_window_bits),
                    config.zlib_mem_level,
                )?))
            }
            (TransportCompression::ZstdStream, _) => Encoder::Zstd(Box::new(new_zstd(config)?)),
        })
    }

    /// Whether messages go out as BINARY frames (compressed) or TEXT (plain).
    pub fn binary(&self) -> bool {
        !matches!(self, Encoder::Plain)
    }

    /// Appends the wire bytes of `message` to `out`.
    pub fn encode(
        &mut self,
        message: Outgoing<'_>,
        config: &CompressionConfig,
        out: &mut Vec<u8>,
    ) -> Result<(), CompressError> {
        match self {
            Encoder::Plain => {
                append_plain(message, out);
                Ok(())
            }
            Encoder::ZlibSpliced { header_sent } => {
                if !*header_sent {
                    out.extend_from_slice(&ZLIB_HEADER);
                    *header_sent = true;
                }
                encode_spliced(message, config, out)?;
                debug_assert!(out.ends_with(&ZLIB_SYNC_FLUSH_SUFFIX));
                Ok(())
            }
            Encoder::Zlib(deflate) => {
                let mut plain = Vec::new();
                let input = plain_bytes(message, &mut plain);
                deflate_sync(deflate, input, out)?;
                debug_assert!(out.ends_with(&ZLIB_SYNC_FLUSH_SUFFIX));
                Ok(())
            }
            Encoder::Zstd(cctx) => {
                let mut plain = Vec::new();
                let input = plain_bytes(message, &mut plain);
                zstd_flush(cctx, input, out)
            }
        }
    }

    /// Encodes `message` as a frame payload. A dispatch on a plain or spliced-zlib
    /// connection is not copied: the payload is this session's prefix (inline, no heap)
    /// followed by the event's shared tail (`Dispatch::tail`, or its deflated form). Every
    /// other message, and every message of a per-connection compressor, is encoded into
    /// its own buffer by [`Encoder::encode`].
    pub fn encode_payload(
        &mut self,
        message: Outgoing<'_>,
        config: &CompressionConfig,
    ) -> Result<Payload, CompressError> {
        if let Outgoing::Dispatch { seq, event } = message {
            let spliced = match self {
                Encoder::Plain => spliced_plain(seq, event),
                Encoder::ZlibSpliced { header_sent } => {
                    let spliced = spliced_zlib(seq, event, !*header_sent, config)?;
                    if spliced.is_some() {
                        *header_sent = true;
                    }
                    spliced
                }
                Encoder::Zlib(_) | Encoder::Zstd(_) => None,
            };
            if let Some(payload) = spliced {
                return Ok(payload);
            }
        }
        let mut bytes = Vec::new();
        self.encode(message, config, &mut bytes)?;
        Ok(Payload::Owned(bytes))
    }

    /// Heap bytes held by the compression context, where the library can say (zstd).
    /// zlib-rs allocates through Rust's global allocator; measure it with a counting
    /// allocator (see `examples/gateway_compression.rs`).
    pub fn context_heap_bytes(&self) -> Option<usize> {
        match self {
            Encoder::Plain | Encoder::ZlibSpliced { .. } => Some(0),
            Encoder::Zlib(_) => None,
            Encoder::Zstd(cctx) => Some(cctx.sizeof()),
        }
    }
}

/// Raw deflate of `input` ending on a sync flush: one independent piece of a zlib stream.
/// Uses a per-thread scratch context (one per core in a thread-per-core server).
pub fn deflate_piece(input: &[u8], level: i32) -> Result<Vec<u8>, CompressError> {
    thread_local! {
        static SCRATCH: RefCell<Option<(i32, Deflate)>> = const { RefCell::new(None) };
    }
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        let reuse = matches!(&*slot, Some((l, _)) if *l == level);
        if !reuse {
            *slot = Some((level, new_deflate(level, -15, 8)?));
        }
        let (_, deflate) = slot.as_mut().expect("filled above");
        deflate.reset();
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        deflate_sync(deflate, input, &mut out)?;
        Ok(out)
    })
}

/// Appends `data` as stored (uncompressed) deflate blocks, then an empty stored block, so
/// the message ends in `00 00 ff ff`. Requires a byte-aligned stream (true after a flush).
pub fn append_stored(data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(usize::from(u16::MAX)) {
        append_stored_block(chunk, out);
    }
    append_stored_block(&[], out);
}

fn append_stored_block(chunk: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&stored_block_header(chunk.len()));
    out.extend_from_slice(chunk);
}

/// The header of a deflate stored block of `len` bytes (`reactor::deflate_stored_header`,
/// which a zlib-stream session's run of dispatches is framed with too).
fn stored_block_header(len: usize) -> [u8; 5] {
    deflate_stored_header(u16::try_from(len).expect("chunks are at most 65535 bytes"))
}

fn append_plain(message: Outgoing<'_>, out: &mut Vec<u8>) {
    match message {
        Outgoing::Whole(bytes) => out.extend_from_slice(bytes),
        Outgoing::Dispatch { seq, event } => {
            super::frame::encode_dispatch(out, seq, event.name(), event.d())
        }
    }
}

fn plain_bytes<'a>(message: Outgoing<'a>, scratch: &'a mut Vec<u8>) -> &'a [u8] {
    match message {
        Outgoing::Whole(bytes) => bytes,
        Outgoing::Dispatch { .. } => {
            append_plain(message, scratch);
            scratch
        }
    }
}

/// `{"op":0,"s":N,"t":"NAME","d":` inline, then `d}` shared; `None` when the prefix does
/// not fit inline (a name over 40 characters: none today).
fn spliced_plain(seq: u64, event: &Dispatch) -> Option<Payload> {
    let mut prefix = Prefix::new();
    write_dispatch_prefix(&mut prefix, seq, event.name())?;
    Some(Payload::Spliced {
        prefix,
        shared: Arc::clone(event.tail()),
    })
}

/// [zlib header] + the prefix as a stored block inline, then the event's deflated tail
/// (computed once per core, on first use) shared.
fn spliced_zlib(
    seq: u64,
    event: &Dispatch,
    with_header: bool,
    config: &CompressionConfig,
) -> Result<Option<Payload>, CompressError> {
    let mut plain = Prefix::new();
    if write_dispatch_prefix(&mut plain, seq, event.name()).is_none() {
        return Ok(None);
    }
    let mut prefix = Prefix::new();
    let fits = (!with_header || prefix.push(&ZLIB_HEADER))
        && prefix.push(&stored_block_header(plain.len()))
        && prefix.push(plain.as_slice());
    if !fits {
        return Ok(None);
    }
    Ok(Some(Payload::Spliced {
        prefix,
        shared: Arc::clone(deflated_tail(event, config)?),
    }))
}

/// Writes the dispatch prefix into `prefix`; `None` when it does not fit.
fn write_dispatch_prefix(prefix: &mut Prefix, seq: u64, name: &str) -> Option<()> {
    let mut digits = [0; 20];
    let pieces = super::frame::dispatch_prefix_pieces(seq, name, &mut digits);
    pieces.iter().all(|piece| prefix.push(piece)).then_some(())
}

/// The event's `d}` as raw deflate ending on a sync flush, computed once and shared.
pub(super) fn deflated_tail<'a>(
    event: &'a Dispatch,
    config: &CompressionConfig,
) -> Result<&'a Arc<[u8]>, CompressError> {
    if let Some(tail) = event.deflated_tail.get() {
        return Ok(tail);
    }
    let piece: Arc<[u8]> = deflate_piece(event.tail(), config.zlib_level)?.into();
    Ok(event.deflated_tail.get_or_init(|| piece))
}

fn encode_spliced(
    message: Outgoing<'_>,
    config: &CompressionConfig,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    match message {
        Outgoing::Whole(bytes) if bytes.len() < config.zlib_stored_below_bytes => {
            append_stored(bytes, out);
        }
        Outgoing::Whole(bytes) => out.extend_from_slice(&deflate_piece(bytes, config.zlib_level)?),
        Outgoing::Dispatch { seq, event } => {
            let mut prefix = Vec::with_capacity(64);
            encode_dispatch_prefix(&mut prefix, seq, event.name());
            append_stored_block(&prefix, out);
            out.extend_from_slice(deflated_tail(event, config)?);
        }
    }
    Ok(())
}

fn new_deflate(level: i32, window_bits: i32, mem_level: i32) -> Result<Deflate, CompressError> {
    let valid = (0..=9).contains(&level)
        && (9..=15).contains(&window_bits.abs())
        && (1..=9).contains(&mem_level);
    if !valid {
        return Err(CompressError(format!(
            "zlib parameters out of range: level {level}, window_bits {window_bits}, \
             mem_level {mem_level}"
        )));
    }
    Ok(Deflate::new_with_config(DeflateConfig {
        level,
        window_bits,
        mem_level,
        ..DeflateConfig::default()
    }))
}

/// Compresses all of `input` and sync-flushes, appending to `out`.
fn deflate_sync(
    deflate: &mut Deflate,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    let in_start = deflate.total_in();
    loop {
        let consumed = (deflate.total_in() - in_start) as usize;
        let rest = &input[consumed..];
        let len = out.len();
        let room = rest.len() / 2 + 64;
        out.resize(len + room, 0);
        let out_start = deflate.total_out();
        let status = deflate.compress(rest, &mut out[len..], DeflateFlush::SyncFlush);
        let produced = (deflate.total_out() - out_start) as usize;
        out.truncate(len + produced);
        status.map_err(|e| CompressError(e.as_str().to_string()))?;
        let done = (deflate.total_in() - in_start) as usize == input.len();
        // zlib's contract: the flush is complete when output room was left over.
        if done && produced < room {
            return Ok(());
        }
    }
}

fn new_zstd(config: &CompressionConfig) -> Result<CCtx<'static>, CompressError> {
    let mut cctx = CCtx::try_create().ok_or_else(|| CompressError("zstd: out of memory".into()))?;
    for parameter in [
        CParameter::CompressionLevel(config.zstd_level),
        CParameter::WindowLog(config.zstd_window_log),
        CParameter::HashLog(config.zstd_hash_log),
        CParameter::ChainLog(config.zstd_chain_log),
        CParameter::ContentSizeFlag(false),
        CParameter::ChecksumFlag(false),
    ] {
        cctx.set_parameter(parameter).map_err(zstd_error)?;
    }
    Ok(cctx)
}

fn zstd_flush(
    cctx: &mut CCtx<'static>,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    let mut source = InBuffer::around(input);
    loop {
        out.reserve(input.len() - source.pos() + 64);
        let len = out.len();
        let mut sink = OutBuffer::around_pos(out, len);
        let pending = cctx
            .compress_stream2(
                &mut sink,
                &mut source,
                zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_flush,
            )
            .map_err(zstd_error)?;
        if pending == 0 && source.pos() == input.len() {
            return Ok(());
        }
    }
}

fn zstd_error(code: usize) -> CompressError {
    CompressError(format!("zstd: {}", zstd_safe::get_error_name(code)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{DispatchScope, Intents};
    use std::io::Read;

    /// A zlib-stream client: one inflater for the whole connection (miniz_oxide backend,
    /// independent of the zlib-rs encoder), fed message by message.
    struct ZlibClient(flate2::Decompress);

    impl ZlibClient {
        fn new() -> Self {
            ZlibClient(flate2::Decompress::new(true))
        }
        fn message(&mut self, wire: &[u8]) -> Vec<u8> {
            assert!(
                wire.ends_with(&ZLIB_SYNC_FLUSH_SUFFIX),
                "message must end on a sync flush"
            );
            let mut out = Vec::with_capacity(wire.len() * 8 + 1024);
            let start_in = self.0.total_in();
            loop {
                let consumed = (self.0.total_in() - start_in) as usize;
                if out.capacity() - out.len() < 1024 {
                    out.reserve(out.capacity());
                }
                self.0
                    .decompress_vec(&wire[consumed..], &mut out, flate2::FlushDecompress::Sync)
                    .expect("valid deflate");
                if (self.0.total_in() - start_in) as usize == wire.len()
                    && out.capacity() > out.len()
                {
                    return out;
                }
            }
        }
    }

    /// A zstd-stream client: one decompression context for the whole connection.
    struct ZstdClient(zstd::stream::raw::Decoder<'static>);

    impl ZstdClient {
        fn new() -> Self {
            ZstdClient(zstd::stream::raw::Decoder::new().unwrap())
        }
        fn message(&mut self, wire: &[u8]) -> Vec<u8> {
            use zstd::stream::raw::Operation;
            let mut out = Vec::new();
            let mut input = zstd::stream::raw::InBuffer::around(wire);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let mut output = zstd::stream::raw::OutBuffer::around(&mut buf[..]);
                self.0.run(&mut input, &mut output).expect("valid zstd");
                let n = output.pos();
                out.extend_from_slice(&buf[..n]);
                if input.pos() == wire.len() && n < buf.len() {
                    return out;
                }
            }
        }
    }

    fn messages() -> Vec<Vec<u8>> {
        let mut all = vec![
            crate::gateway::frame::encode_hello(41250),
            b"{\"op\":11,\"d\":null}".to_vec(),
        ];
        for i in 0..200u64 {
            all.push(format!(
                r#"{{"op":0,"s":{i},"t":"MESSAGE_CREATE","d":{{"id":"{}","channel_id":"42","content":"hello number {i}","author":{{"id":"7","username":"flux"}}}}}}"#,
                1_000_000 + i * 7919
            ).into_bytes());
        }
        all.push(vec![b' '; 70_000]); // more than one stored block, and a long deflate
        all.push(b"{}".to_vec());
        all
    }

    fn config(mode: ZlibMode) -> CompressionConfig {
        CompressionConfig {
            zlib_mode: mode,
            ..CompressionConfig::default()
        }
    }

    #[test]
    fn zlib_stream_round_trips_across_many_messages_in_both_modes() {
        for mode in [ZlibMode::Spliced, ZlibMode::Context] {
            let config = config(mode);
            let mut encoder = Encoder::new(TransportCompression::ZlibStream, &config).unwrap();
            assert!(encoder.binary());
            let mut client = ZlibClient::new();
            for message in messages() {
                let mut wire = Vec::new();
                encoder
                    .encode(Outgoing::Whole(&message), &config, &mut wire)
                    .unwrap();
                assert_eq!(client.message(&wire), message, "{mode:?}");
            }
        }
    }

    #[test]
    fn spliced_dispatches_share_one_compressed_body_and_decode_in_any_session() {
        let config = config(ZlibMode::Spliced);
        let d = br#"{"id":"1","content":"a shared body that every session reuses, a shared body"}"#;
        let event = Dispatch::new(
            "MESSAGE_CREATE",
            d.to_vec(),
            DispatchScope::User,
            Intents::empty(),
        );
        for session in 0..3u64 {
            let mut encoder = Encoder::new(TransportCompression::ZlibStream, &config).unwrap();
            let mut client = ZlibClient::new();
            let mut wire = Vec::new();
            encoder
                .encode(Outgoing::Whole(b"{\"op\":10,\"d\":{}}"), &config, &mut wire)
                .unwrap();
            client.message(&wire);
            for seq in 1..=3 {
                let mut wire = Vec::new();
                encoder
                    .encode(
                        Outgoing::Dispatch {
                            seq: seq + session,
                            event: &event,
                        },
                        &config,
                        &mut wire,
                    )
                    .unwrap();
                let mut plain = Vec::new();
                crate::gateway::frame::encode_dispatch(
                    &mut plain,
                    seq + session,
                    "MESSAGE_CREATE",
                    d,
                );
                assert_eq!(client.message(&wire), plain);
            }
        }
        assert!(
            event.deflated_tail.get().is_some(),
            "the body was compressed once and kept"
        );
    }

    #[test]
    fn dispatch_payloads_share_the_event_bytes_and_decode_to_the_spliced_frame() {
        let d = br#"{"id":"9","content":"shared by every session on the core"}"#;
        let event = Dispatch::new(
            "MESSAGE_CREATE",
            d.to_vec(),
            DispatchScope::User,
            Intents::empty(),
        );
        for compression in [TransportCompression::None, TransportCompression::ZlibStream] {
            let config = config(ZlibMode::Spliced);
            let mut encoder = Encoder::new(compression, &config).unwrap();
            let mut client = ZlibClient::new();
            // The first message of a zlib stream is a dispatch: its prefix carries the
            // zlib header. Then large sequence numbers, whose prefix is longest.
            for seq in [1, 2, u64::MAX - 1, u64::MAX] {
                let payload = encoder
                    .encode_payload(Outgoing::Dispatch { seq, event: &event }, &config)
                    .unwrap();
                let Payload::Spliced { prefix, shared } = &payload else {
                    panic!("a dispatch is spliced, got {payload:?}");
                };
                assert!(prefix.len() <= crate::reactor::PREFIX_BYTES_MAX);
                let expected_shared = match compression {
                    TransportCompression::None => event.tail(),
                    _ => event.deflated_tail.get().unwrap(),
                };
                assert!(Arc::ptr_eq(shared, expected_shared), "no copy of the body");
                let mut plain = Vec::new();
                crate::gateway::frame::encode_dispatch(&mut plain, seq, "MESSAGE_CREATE", d);
                let wire = payload.to_vec();
                let decoded = match compression {
                    TransportCompression::None => wire,
                    _ => client.message(&wire),
                };
                assert_eq!(decoded, plain, "{compression:?} seq {seq}");
            }
            // A whole message after the dispatches continues the same stream.
            let hello = encoder
                .encode_payload(Outgoing::Whole(b"{\"op\":11,\"d\":null}"), &config)
                .unwrap();
            if compression == TransportCompression::ZlibStream {
                assert_eq!(client.message(&hello.to_vec()), b"{\"op\":11,\"d\":null}");
            }
        }
    }

    #[test]
    fn spliced_stream_is_valid_for_a_plain_zlib_reader_too() {
        // Concatenate a whole connection and inflate it with a streaming Read, as a client
        // that ignores message boundaries would.
        let config = config(ZlibMode::Spliced);
        let mut encoder = Encoder::new(TransportCompression::ZlibStream, &config).unwrap();
        let mut wire = Vec::new();
        let mut plain = Vec::new();
        for message in messages() {
            encoder
                .encode(Outgoing::Whole(&message), &config, &mut wire)
                .unwrap();
            plain.extend_from_slice(&message);
        }
        let mut decoded = Vec::new();
        let mut reader = flate2::read::ZlibDecoder::new(&wire[..]);
        // The stream never ends (no final block), so read until the data runs out.
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => decoded.extend_from_slice(&buf[..n]),
                Err(_) => break, // "unexpected end" once the input is exhausted
            }
        }
        assert_eq!(decoded, plain);
    }

    #[test]
    fn zstd_stream_round_trips_across_many_messages() {
        let config = CompressionConfig::default();
        let mut encoder = Encoder::new(TransportCompression::ZstdStream, &config).unwrap();
        let mut client = ZstdClient::new();
        let event = Dispatch::new(
            "GUILD_CREATE",
            b"{\"id\":\"9\"}".to_vec(),
            DispatchScope::User,
            Intents::empty(),
        );
        for message in messages() {
            let mut wire = Vec::new();
            encoder
                .encode(Outgoing::Whole(&message), &config, &mut wire)
                .unwrap();
            assert_eq!(client.message(&wire), message);
        }
        let mut wire = Vec::new();
        encoder
            .encode(
                Outgoing::Dispatch {
                    seq: 5,
                    event: &event,
                },
                &config,
                &mut wire,
            )
            .unwrap();
        assert_eq!(
            client.message(&wire),
            br#"{"op":0,"s":5,"t":"GUILD_CREATE","d":{"id":"9"}}"#
        );
        assert!(encoder.context_heap_bytes().unwrap() > 0);
    }

    #[test]
    fn plain_is_text_and_verbatim() {
        let config = CompressionConfig::default();
        let mut encoder = Encoder::new(TransportCompression::None, &config).unwrap();
        assert!(!encoder.binary());
        let mut wire = Vec::new();
        encoder
            .encode(Outgoing::Whole(b"{\"op\":11}"), &config, &mut wire)
            .unwrap();
        assert_eq!(wire, b"{\"op\":11}");
    }

    #[test]
    fn compression_saves_bytes_on_json() {
        let message = messages()[100].clone();
        let mut body = Vec::new();
        for _ in 0..20 {
            body.extend_from_slice(&message);
        }
        for mode in [ZlibMode::Spliced, ZlibMode::Context] {
            let config = config(mode);
            let mut encoder = Encoder::new(TransportCompression::ZlibStream, &config).unwrap();
            let mut wire = Vec::new();
            encoder
                .encode(Outgoing::Whole(&body), &config, &mut wire)
                .unwrap();
            assert!(
                wire.len() * 4 < body.len(),
                "{mode:?}: {} of {}",
                wire.len(),
                body.len()
            );
        }
    }

    #[test]
    fn bad_parameters_are_errors_not_panics() {
        let config = CompressionConfig {
            zlib_mode: ZlibMode::Context,
            zlib_window_bits: 20,
            ..Default::default()
        };
        assert!(Encoder::new(TransportCompression::ZlibStream, &config).is_err());
        let config = CompressionConfig {
            zstd_window_log: 99,
            ..Default::default()
        };
        assert!(Encoder::new(TransportCompression::ZstdStream, &config).is_err());
    }
}
