//! Measures gateway transport compression: bytes saved, CPU per message, heap per session.
//!
//! Run: `cargo run --release -p engine --example gateway_compression [sessions] [messages]`
//!
//! Each configuration encodes the same stream for `sessions` sessions (default 200): one
//! READY, one GUILD_CREATE and `messages` (default 500) MESSAGE_CREATE dispatches, each
//! event serialised once and shared (`Arc<Dispatch>`), as the engine fans them out. Heap
//! per session is the live heap a counting global allocator sees held by the encoders after
//! the run, divided by sessions (zstd allocates through C malloc, so its figure is
//! `ZSTD_sizeof_CCtx` instead). Every output is decoded again afterwards to check it.
#![deny(unsafe_op_in_unsafe_fn)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use engine::gateway::{
    CompressionConfig, Dispatch, DispatchScope, Encoder, Intents, Outgoing, TransportCompression,
    ZlibMode,
};

/// Counts live heap bytes allocated through Rust's global allocator.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout the caller gave us, which GlobalAlloc requires to be non-zero.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc*` with this layout (we allocate nothing else).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged; `ptr`/`layout` came from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn user(i: u64) -> String {
    format!(
        r#"{{"id":"{}","username":"member{i}","global_name":"Member {i}","discriminator":"0","avatar":"a3f{:029x}","bot":false,"public_flags":0,"avatar_decoration_data":null,"banner":null,"accent_color":null}}"#,
        100_000_000_000_000_000 + i * 4_194_304,
        i * 7_919
    )
}

fn message_create(i: u64) -> Vec<u8> {
    let words = [
        "the", "build", "is", "green", "again", "ship", "it", "tonight", "who", "broke", "main",
        "lol",
    ];
    let content: Vec<&str> = (0..(5 + i % 17))
        .map(|k| words[((i * 31 + k * 7) % 12) as usize])
        .collect();
    format!(
        r#"{{"type":0,"tts":false,"timestamp":"2026-05-01T12:{:02}:{:02}.{:03}000+00:00","pinned":false,"nonce":"{}","mentions":[],"mention_roles":[],"mention_everyone":false,"member":{{"roles":["{}"],"premium_since":null,"pending":false,"nick":null,"mute":false,"joined_at":"2025-11-02T10:00:00.000000+00:00","flags":0,"deaf":false,"communication_disabled_until":null,"banner":null,"avatar":null}},"id":"{}","flags":0,"embeds":[],"edited_timestamp":null,"content":"{}","components":[],"channel_id":"1234567890123456789","author":{},"attachments":[],"guild_id":"1234567890000000000"}}"#,
        i / 60 % 60,
        i % 60,
        i % 1000,
        1_300_000_000_000_000_000 + i * 977,
        1_234_567_890_000_000_111u64,
        1_300_000_000_000_000_000 + i * 4_194_304,
        content.join(" "),
        user(i % 40),
    )
    .into_bytes()
}

fn guild_create() -> Vec<u8> {
    let channels: Vec<String> = (0..30)
        .map(|c| format!(r#"{{"id":"{}","type":{},"name":"channel-{c}","position":{c},"parent_id":null,"topic":null,"nsfw":false,"rate_limit_per_user":0,"last_message_id":null,"permission_overwrites":[],"flags":0,"bitrate":64000,"user_limit":0}}"#, 1_234_567_890_123_400_000u64 + c, if c % 5 == 4 { 2 } else { 0 }))
        .collect();
    let roles: Vec<String> = (0..15)
        .map(|r| format!(r#"{{"id":"{}","name":"role-{r}","color":0,"colors":{{"primary_color":0,"secondary_color":null,"tertiary_color":null}},"hoist":false,"managed":false,"mentionable":false,"permissions":"1071698660929","position":{r},"flags":0,"icon":null,"unicode_emoji":null}}"#, 1_234_567_890_000_000_100u64 + r))
        .collect();
    let members: Vec<String> = (0..100)
        .map(|m| format!(r#"{{"user":{},"roles":[],"flags":0,"deaf":false,"mute":false,"joined_at":"2025-11-02T10:00:00.000000+00:00","nick":null,"avatar":null,"pending":false}}"#, user(m)))
        .collect();
    format!(
        r#"{{"id":"1234567890000000000","name":"Flux","icon":null,"owner_id":"100000000000000000","afk_channel_id":null,"afk_timeout":300,"verification_level":0,"default_message_notifications":0,"explicit_content_filter":0,"features":[],"mfa_level":0,"system_channel_id":null,"system_channel_flags":0,"preferred_locale":"en-US","premium_progress_bar_enabled":false,"nsfw_level":0,"member_count":100,"large":false,"unavailable":false,"joined_at":"2025-11-02T10:00:00.000000+00:00","channels":[{}],"roles":[{}],"members":[{}],"voice_states":[],"presences":[],"threads":[],"emojis":[],"stickers":[]}}"#,
        channels.join(","),
        roles.join(","),
        members.join(",")
    )
    .into_bytes()
}

fn ready() -> Vec<u8> {
    let guilds: Vec<String> = (0..10)
        .map(|g| {
            format!(
                r#"{{"id":"{}","unavailable":true}}"#,
                1_234_567_890_000_000_000u64 + (g << 22)
            )
        })
        .collect();
    format!(
        r#"{{"v":10,"user":{},"guilds":[{}],"session_id":"0003a1b2c3d4e5f60718293a4b5c6d7e","session_type":"normal","resume_gateway_url":"ws://127.0.0.1:8080","shard":[0,1],"application":{{"id":"100000000000000000","flags":0}},"private_channels":[],"relationships":[],"presences":[],"guild_join_requests":[],"geo_ordered_rtc_regions":[],"user_settings":{{}},"_trace":["[\"flux\",{{\"micros\":0}}]"]}}"#,
        user(0),
        guilds.join(",")
    )
    .into_bytes()
}

struct Row {
    name: &'static str,
    plain: [usize; 3],
    wire: [usize; 3],
    ns_per_message: f64,
    core_ns_per_event: f64,
    heap_per_session: isize,
    zstd_sizeof: Option<usize>,
}

fn run(
    name: &'static str,
    compression: TransportCompression,
    config: CompressionConfig,
    events: &[Arc<Dispatch>],
    sessions: usize,
) -> Row {
    // Spliced zlib compresses each event body once per core; do that first, timed apart, so
    // the per-session figures below are what each extra session costs.
    let mut core_ns = 0u128;
    if compression == TransportCompression::ZlibStream && config.zlib_mode == ZlibMode::Spliced {
        let mut warm = Encoder::new(compression, &config).expect("valid config");
        let start = Instant::now();
        for event in events {
            let mut out = Vec::new();
            warm.encode(Outgoing::Dispatch { seq: 1, event }, &config, &mut out)
                .expect("encode");
        }
        core_ns = start.elapsed().as_nanos();
    }
    let before = live();
    let mut encoders: Vec<Encoder> = (0..sessions)
        .map(|_| Encoder::new(compression, &config).expect("valid config"))
        .collect();
    let mut plain = [0usize; 3];
    let mut wire = [0usize; 3];
    let mut outputs: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3]; // session 0's stream, for checking
    let mut elapsed_ns = 0u128;
    let mut count = 0u64;
    for (index, event) in events.iter().enumerate() {
        let kind = index.min(2);
        let start = Instant::now();
        for (s, encoder) in encoders.iter_mut().enumerate() {
            let mut out = Vec::new();
            encoder
                .encode(
                    Outgoing::Dispatch {
                        seq: index as u64 + 1,
                        event,
                    },
                    &config,
                    &mut out,
                )
                .expect("encode");
            if s == 0 {
                let framed = event.d().len() + event.name().len() + 20;
                plain[kind] += framed;
                wire[kind] += out.len();
                outputs[kind].push(out);
            }
        }
        elapsed_ns += start.elapsed().as_nanos();
        count += sessions as u64;
    }
    let kept: isize = outputs
        .iter()
        .flatten()
        .map(|o| o.capacity() as isize)
        .sum::<isize>()
        + outputs
            .iter()
            .map(|o| (o.capacity() * 24) as isize)
            .sum::<isize>();
    let heap =
        live() - before - kept - (encoders.capacity() * std::mem::size_of::<Encoder>()) as isize;
    let zstd_sizeof = encoders[0]
        .context_heap_bytes()
        .filter(|_| compression == TransportCompression::ZstdStream);
    check(compression, &outputs, events);
    drop(encoders);
    Row {
        name,
        plain,
        wire,
        ns_per_message: elapsed_ns as f64 / count as f64,
        core_ns_per_event: core_ns as f64 / events.len() as f64,
        heap_per_session: heap / sessions as isize,
        zstd_sizeof,
    }
}

/// Decodes session 0's stream in order and compares it with the plain frames.
fn check(compression: TransportCompression, outputs: &[Vec<Vec<u8>>], events: &[Arc<Dispatch>]) {
    let mut ordered: Vec<&Vec<u8>> = Vec::new();
    ordered.push(&outputs[0][0]);
    ordered.push(&outputs[1][0]);
    ordered.extend(outputs[2].iter());
    let mut inflater = flate2::Decompress::new(true);
    let mut zstd_decoder = zstd::stream::raw::Decoder::new().unwrap();
    for (index, (wire, event)) in ordered.iter().zip(events).enumerate() {
        let mut expected = Vec::new();
        engine::gateway::encode_dispatch(&mut expected, index as u64 + 1, event.name(), event.d());
        let decoded = match compression {
            TransportCompression::None => wire.to_vec(),
            TransportCompression::ZlibStream => {
                let mut out = Vec::with_capacity(expected.len() + 64);
                inflater
                    .decompress_vec(wire, &mut out, flate2::FlushDecompress::Sync)
                    .unwrap();
                out
            }
            TransportCompression::ZstdStream => {
                use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                let mut out = vec![0u8; expected.len() + 64];
                let mut input = InBuffer::around(wire);
                let mut output = OutBuffer::around(&mut out[..]);
                zstd_decoder.run(&mut input, &mut output).unwrap();
                let n = output.pos();
                out.truncate(n);
                out
            }
        };
        assert_eq!(decoded, expected, "message {index} does not round-trip");
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let sessions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let messages: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let shared =
        |name: &str, d: Vec<u8>| Dispatch::new(name, d, DispatchScope::User, Intents::empty());
    let small = CompressionConfig::default();
    let zlib = |mode: ZlibMode, level: i32, window_bits: u8, mem_level: i32| CompressionConfig {
        zlib_mode: mode,
        zlib_level: level,
        zlib_window_bits: window_bits,
        zlib_mem_level: mem_level,
        ..small
    };
    let zstd = |level: i32, window_log: u32, hash_log: u32, chain_log: u32| CompressionConfig {
        zstd_level: level,
        zstd_window_log: window_log,
        zstd_hash_log: hash_log,
        zstd_chain_log: chain_log,
        ..small
    };
    use TransportCompression::{None as Plain, ZlibStream as Zlib, ZstdStream as Zstd};
    use ZlibMode::{Context, Spliced};
    let configs: Vec<(&'static str, TransportCompression, CompressionConfig)> = vec![
        ("plain (TEXT)", Plain, small),
        ("zlib spliced L1", Zlib, zlib(Spliced, 1, 11, 1)),
        ("zlib spliced L3 (default)", Zlib, small),
        ("zlib spliced L6", Zlib, zlib(Spliced, 6, 11, 1)),
        ("zlib ctx w11 mem1 L1", Zlib, zlib(Context, 1, 11, 1)),
        ("zlib ctx w11 mem1 L3", Zlib, zlib(Context, 3, 11, 1)),
        ("zlib ctx w11 mem1 L6", Zlib, zlib(Context, 6, 11, 1)),
        (
            "zlib ctx w15 mem8 L6 (zlib default)",
            Zlib,
            zlib(Context, 6, 15, 8),
        ),
        ("zstd L1 w10 h10 c10", Zstd, zstd(1, 10, 10, 10)),
        ("zstd L1 w12 h10 c10 (default)", Zstd, small),
        ("zstd L3 w12 h12 c12", Zstd, zstd(3, 12, 12, 12)),
        (
            "zstd L3 w17 h17 c16 (zstd L3 default)",
            Zstd,
            zstd(3, 17, 17, 16),
        ),
    ];
    println!(
        "sessions {sessions}, stream per session: READY + GUILD_CREATE + {messages} MESSAGE_CREATE"
    );
    println!(
        "{:<38} {:>14} {:>16} {:>16} {:>12} {:>12} {:>14}",
        "encoder",
        "READY B",
        "GUILD_CREATE B",
        "MSG_CREATE B/msg",
        "ns/msg/sess",
        "ns/ev/core",
        "heap B/session"
    );
    let mut checksum = 0usize;
    for (name, compression, config) in configs {
        // Fresh events per configuration, so spliced mode pays its once-per-core deflate here.
        let mut events = vec![
            shared("READY", ready()),
            shared("GUILD_CREATE", guild_create()),
        ];
        events.extend((0..messages).map(|i| shared("MESSAGE_CREATE", message_create(i))));
        let row = run(name, compression, config, &events, sessions);
        checksum = checksum.wrapping_add(row.wire.iter().sum::<usize>());
        let heap = match row.zstd_sizeof {
            Some(bytes) => format!("{bytes} (C)"),
            None => row.heap_per_session.to_string(),
        };
        println!(
            "{:<38} {:>6} ({:>4.1}%) {:>6} ({:>5.1}%) {:>7.0} ({:>4.1}%) {:>12.0} {:>12.0} {:>14}",
            row.name,
            row.wire[0],
            100.0 * row.wire[0] as f64 / row.plain[0] as f64,
            row.wire[1],
            100.0 * row.wire[1] as f64 / row.plain[1] as f64,
            row.wire[2] as f64 / messages as f64,
            100.0 * row.wire[2] as f64 / row.plain[2] as f64,
            row.ns_per_message,
            row.core_ns_per_event,
            heap,
        );
    }
    println!("(percent: wire bytes as a share of plain bytes; checksum {checksum})");
}
