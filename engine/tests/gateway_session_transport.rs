//! The gateway session's transports and fast paths, through its public sans-IO API with
//! fake time: zlib-stream and zstd-stream end to end (decoded by flate2 and zstd, not by
//! us), arbitrary client bytes, and fan-out's fast paths (`Session::dispatch`,
//! `Session::dispatch_run`) against `handle`. The harness (`Client`) is
//! `support/session.rs`.

mod support;

use std::sync::Arc;

use engine::gateway::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use support::session::*;

// ---------------------------------------------------------------------------------------
// Compression end to end

fn inflate_message(inflater: &mut flate2::Decompress, wire: &[u8]) -> Vec<u8> {
    assert!(wire.ends_with(&[0, 0, 0xff, 0xff]));
    let mut out = Vec::with_capacity(wire.len() * 20 + 4096);
    let start = inflater.total_in();
    inflater
        .decompress_vec(wire, &mut out, flate2::FlushDecompress::Sync)
        .unwrap();
    assert_eq!((inflater.total_in() - start) as usize, wire.len());
    out
}

fn run_compressed_session(target: &str, decode: &mut dyn FnMut(&[u8]) -> Vec<u8>) {
    let mut c = Client::connect_with(config(), target);
    c.identify_with(identify_d(513), identity(vec![1 << 22]));
    c.input(Input::Dispatch(&event("MESSAGE_CREATE", 1)));
    c.send(r#"{"op":1,"d":2}"#);
    let frames: Vec<Value> = c
        .frames
        .drain(..)
        .map(|f| {
            assert!(f.binary, "compressed frames are BINARY");
            serde_json::from_slice(&decode(&f.bytes.to_vec())).unwrap()
        })
        .collect();
    assert_eq!(frames[0]["op"], 10);
    assert_eq!(frames[1]["t"], "READY");
    assert_eq!(
        frames[2],
        json!({"op": 0, "s": 2, "t": "MESSAGE_CREATE", "d": {"n": 1}})
    );
    assert_eq!(frames[3], json!({"op": 11, "d": null}));
}

#[test]
fn zlib_stream_session_decodes_with_one_inflater() {
    for mode in [ZlibMode::Spliced, ZlibMode::Context] {
        let mut config = config();
        config.compression.zlib_mode = mode;
        let mut inflater = flate2::Decompress::new(true);
        let mut c = Client::connect_with(config, "/?v=10&encoding=json&compress=zlib-stream");
        c.identify_with(identify_d(513), identity(vec![1 << 22]));
        let decoded: Vec<Value> = c
            .frames
            .drain(..)
            .map(|f| {
                serde_json::from_slice(&inflate_message(&mut inflater, &f.bytes.to_vec())).unwrap()
            })
            .collect();
        assert_eq!(decoded[1]["t"], "READY", "{mode:?}");
    }
    let mut inflater = flate2::Decompress::new(true);
    run_compressed_session("/?compress=zlib-stream", &mut |w| {
        inflate_message(&mut inflater, w)
    });
}

/// A spliced zlib-stream session takes a run of dispatches whole, like a plain-text one,
/// and the run's frames continue its stream: one inflater (flate2, not ours) reads Hello
/// and READY, then each frame of the run as the dispatch with its own `s`.
/// A per-connection-context session (`ZlibMode::Context`) never takes a run.
#[test]
fn a_zlib_stream_session_takes_a_run_whole_and_its_stream_inflates() {
    let mut c = Client::connect_with(config(), "/?v=10&encoding=json&compress=zlib-stream");
    c.identify_with(identify_d(513), identity(vec![1 << 22]));
    c.input(Input::Written { bytes: 1 << 20 });
    let run = DispatchRun::new(vec![
        event("MESSAGE_CREATE", 1),
        event("MESSAGE_UPDATE", 2),
        event("MESSAGE_CREATE", 3),
    ])
    .expect("short names fit");
    let (first, frames) = c
        .session
        .dispatch_run(&run)
        .expect("a live zlib-stream session with room takes the run");
    assert_eq!(first, 2, "after READY");
    let mut inflater = flate2::Decompress::new(true);
    let mut decode = |wire: &[u8]| -> Value {
        serde_json::from_slice(&inflate_message(&mut inflater, wire)).unwrap()
    };
    let before: Vec<Value> = c
        .frames
        .drain(..)
        .map(|f| decode(&f.bytes.to_vec()))
        .collect();
    assert_eq!(before[1]["t"], "READY", "{before:?}");
    let names = ["MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_CREATE"];
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            decode(&frames.payload(i, first + i as u64)),
            json!({"op": 0, "s": first + i as u64, "t": name, "d": {"n": i + 1}})
        );
    }
    // The ring has them: a heartbeat acknowledging the run's end is ACKed, nothing resent.
    c.send(&format!(r#"{{"op":1,"d":{}}}"#, first + 2));
    let after: Vec<Value> = c
        .frames
        .drain(..)
        .map(|f| decode(&f.bytes.to_vec()))
        .collect();
    assert_eq!(after, vec![json!({"op": 11, "d": null})]);

    let mut config = config();
    config.compression.zlib_mode = ZlibMode::Context;
    let mut c = Client::connect_with(config, "/?v=10&encoding=json&compress=zlib-stream");
    c.identify_with(identify_d(513), identity(vec![1 << 22]));
    c.input(Input::Written { bytes: 1 << 20 });
    assert!(c.session.dispatch_run(&run).is_none());
}

#[test]
fn zstd_stream_session_decodes_with_one_context() {
    use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};
    let mut decoder = Decoder::new().unwrap();
    let mut decode = |wire: &[u8]| {
        let mut out = vec![0u8; 1 << 20];
        let mut input = InBuffer::around(wire);
        let mut output = OutBuffer::around(&mut out[..]);
        decoder.run(&mut input, &mut output).unwrap();
        assert_eq!(input.pos(), wire.len());
        let n = output.pos();
        out.truncate(n);
        out
    };
    run_compressed_session("/?v=10&encoding=json&compress=zstd-stream", &mut decode);
}

// ---------------------------------------------------------------------------------------
// Arbitrary input

#[derive(Debug, Clone)]
enum Step {
    Bytes(Vec<u8>),
    Json(u64, String),
    Identified,
    AuthFailed,
    ResumeNotFound,
    Tick(u64),
    Written(usize),
    Dispatch,
    DispatchPaced,
    Closed(Option<u16>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Step::Bytes),
        (
            prop::sample::select(vec![0u64, 1, 2, 3, 4, 6, 8, 9, 31, 99]),
            "[\\[\\]{}\",:0-9a-z_ -]{0,80}"
        )
            .prop_map(|(op, d)| Step::Json(op, d)),
        Just(Step::Identified),
        Just(Step::AuthFailed),
        Just(Step::ResumeNotFound),
        (0u64..3_000).prop_map(Step::Tick),
        (0usize..10_000).prop_map(Step::Written),
        Just(Step::Dispatch),
        Just(Step::DispatchPaced),
        proptest::option::of(any::<u16>()).prop_map(Step::Closed),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn arbitrary_client_input_never_panics(
        compress in prop::sample::select(vec!["", "zlib-stream", "zstd-stream"]),
        steps in proptest::collection::vec(step(), 0..40),
    ) {
        let mut session = Session::new(Arc::new(config()), &format!("/?compress={compress}"), Micros(0));
        let mut now = Micros(0);
        let mut ended = 0;
        let (mut asked_auth, mut asked_resume) = (false, false);
        let message = event("MESSAGE_CREATE", 1);
        let identify = json!({"op": 2, "d": identify_d(513)}).to_string();
        for step in steps {
            match step {
                Step::Bytes(b) => session.handle(now, Input::Message(&b)),
                Step::Json(op, d) => {
                    let text = if op == 2 && d.is_empty() { identify.clone() } else { format!(r#"{{"op":{op},"d":{d}}}"#) };
                    session.handle(now, Input::Message(text.as_bytes()))
                }
                // The caller answers only what it was asked (answering unasked is a caller bug).
                Step::Identified if asked_auth => { asked_auth = false; session.handle(now, Input::Identified(Box::new(identity(vec![1 << 22])))) }
                Step::AuthFailed if asked_auth => { asked_auth = false; session.handle(now, Input::AuthenticationFailed) }
                Step::ResumeNotFound if asked_resume => { asked_resume = false; session.handle(now, Input::ResumeNotFound) }
                Step::Identified | Step::AuthFailed | Step::ResumeNotFound => {}
                Step::Tick(ms) => { now = now.plus_ms(ms); session.handle(now, Input::Tick) }
                Step::Written(n) => session.handle(now, Input::Written { bytes: n }),
                Step::Dispatch => session.handle(now, Input::Dispatch(&message)),
                Step::DispatchPaced => {
                    session.handle(now, Input::DispatchPaced(Arc::clone(&message)))
                }
                Step::Closed(code) => session.handle(now, Input::SocketClosed { code }),
            }
            while let Some(output) = session.poll() {
                match output {
                    Output::SessionEnded { .. } => ended += 1,
                    Output::Authenticate(_) => asked_auth = true,
                    Output::Resume { .. } => asked_resume = true,
                    _ => {}
                }
            }
        }
        prop_assert!(ended <= 1);
    }
}

// ---------------------------------------------------------------------------------------
// The fan-out fast path

/// One step of a session's life after READY, for the fast-path property.
#[derive(Debug, Clone)]
enum FanoutStep {
    /// A dispatch of `d` bytes; `other_intent` is one the session did not ask for.
    Dispatch {
        d_len: usize,
        other_intent: bool,
    },
    /// A run of dispatches, as fan-out hands a run of one channel's events to a session
    /// (`Session::dispatch_run`, else one by one).
    Run(Vec<(usize, bool)>),
    /// The shell reports `bytes` written.
    Written(usize),
    /// Time passes (heartbeats go stale, slow-consumer grace runs out).
    Wait(u64),
    Heartbeat,
}

fn fanout_step() -> impl Strategy<Value = FanoutStep> {
    prop_oneof![
        6 => (1usize..3000, any::<bool>()).prop_map(|(d_len, other)| FanoutStep::Dispatch {
            d_len,
            other_intent: other && d_len % 5 == 0,
        }),
        3 => proptest::collection::vec((1usize..3000, any::<bool>()), 1..12).prop_map(|run| {
            FanoutStep::Run(
                run.into_iter()
                    .map(|(d_len, other)| (d_len, other && d_len % 7 == 0))
                    .collect(),
            )
        }),
        2 => (0usize..20_000).prop_map(FanoutStep::Written),
        1 => (0u64..1500).prop_map(FanoutStep::Wait),
        1 => Just(FanoutStep::Heartbeat),
    ]
}

/// The `n`th dispatch of a fan-out property: `d` of about `d_len` bytes, needing an intent
/// the session lacks when `other_intent`.
fn fanout_event(n: usize, d_len: usize, other_intent: bool) -> Arc<Dispatch> {
    let intents = if other_intent {
        Intents::GUILD_PRESENCES
    } else {
        Intents::GUILD_MESSAGES
    };
    let d = format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(d_len));
    Dispatch::new(
        "MESSAGE_CREATE",
        d.into_bytes(),
        DispatchScope::Guild(1 << 22),
        intents,
    )
}

/// Everything a session said, in order, as comparable values.
fn said(client: &mut Client) -> Vec<String> {
    let mut all: Vec<String> = client
        .frames
        .drain(..)
        .map(|f| format!("{} {:?}", f.binary, f.bytes.to_vec()))
        .collect();
    all.extend(client.closes.drain(..).map(|c| format!("close {c:?}")));
    all.extend(client.wakes.drain(..).map(|w| format!("wake {w:?}")));
    all.extend(client.take_others().iter().map(|o| format!("{o:?}")));
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// `Session::dispatch` and `Session::dispatch_run` (fan-out's fast paths) say exactly
    /// what `handle(Input::Dispatch)` says, in the same order, whatever the window, the
    /// backlog, the heartbeats and the compression.
    #[test]
    fn the_dispatch_fast_path_says_what_handle_says(
        steps in proptest::collection::vec(fanout_step(), 1..80),
        zlib in any::<bool>(),
        window_kib in 1usize..64,
    ) {
        let target = if zlib {
            "/?v=10&encoding=json&compress=zlib-stream"
        } else {
            "/?v=10&encoding=json"
        };
        let mut config = config();
        config.send_window_bytes = window_kib << 10;
        config.replay_ring_len_max = 64;
        let mut fast = Client::connect_with(config.clone(), target);
        let mut slow = Client::connect_with(config, target);
        for client in [&mut fast, &mut slow] {
            client.identify_with(identify_d(513), identity(vec![1 << 22]));
            client.input(Input::Written { bytes: 1 << 20 }); // Most cases start with room.
        }
        let mut ms = 0;
        for (n, step) in steps.into_iter().enumerate() {
            match step {
                FanoutStep::Dispatch { d_len, other_intent } => {
                    let event = fanout_event(n, d_len, other_intent);
                    if let Some(frame) = fast.session.dispatch(fast.now, &event) {
                        fast.frames.push(frame);
                    }
                    fast.drain();
                    slow.input(Input::Dispatch(&event));
                }
                FanoutStep::Run(run) => {
                    let events: Vec<_> = run
                        .iter()
                        .enumerate()
                        .map(|(i, &(d_len, other))| fanout_event(n * 100 + i, d_len, other))
                        .collect();
                    let run = DispatchRun::new(events.clone()).expect("short names fit");
                    if let Some((first, frames)) = fast.session.dispatch_run(&run) {
                        for i in 0..frames.frames() {
                            let bytes = frames.payload(i, first + i as u64);
                            fast.frames.push(OutFrame {
                                bytes: bytes.into(),
                                binary: zlib,
                                priority: false,
                            });
                        }
                    } else {
                        for event in &events {
                            if let Some(frame) = fast.session.dispatch(fast.now, event) {
                                fast.frames.push(frame);
                            }
                        }
                    }
                    fast.drain();
                    for event in &events {
                        slow.input(Input::Dispatch(event));
                    }
                }
                FanoutStep::Written(bytes) => {
                    fast.input(Input::Written { bytes });
                    slow.input(Input::Written { bytes });
                }
                FanoutStep::Wait(wait_ms) => {
                    ms += wait_ms;
                    fast.at_ms(ms).input(Input::Tick);
                    slow.at_ms(ms).input(Input::Tick);
                }
                FanoutStep::Heartbeat => {
                    fast.send(r#"{"op":1,"d":null}"#);
                    slow.send(r#"{"op":1,"d":null}"#);
                }
            }
            prop_assert_eq!(said(&mut fast), said(&mut slow), "after step {}", n);
            prop_assert_eq!(fast.ended, slow.ended);
        }
    }
}

#[test]
fn the_fast_path_frames_at_once_and_steps_aside_when_the_window_is_full() {
    let mut config = config();
    config.send_window_bytes = 40;
    let mut client = Client::connect_with(config, "/?v=10&encoding=json");
    client.identify_with(identify_d(513), identity(vec![1 << 22]));
    client.take_json();
    // READY and whatever the small window held back leave, and are reported written.
    loop {
        client.input(Input::Written { bytes: 1 << 20 });
        if client.take_json().is_empty() {
            break;
        }
    }
    let first = client
        .session
        .dispatch(client.now, &event("MESSAGE_CREATE", 1));
    let frame = first.expect("a live session with room frames at once");
    let value: Value = serde_json::from_slice(&frame.bytes.to_vec()).unwrap();
    assert_eq!(
        (value["s"].as_u64(), value["d"]["n"].as_u64()),
        (Some(2), Some(1))
    );
    // The window (40 bytes) is now full: the next one waits in the ring.
    assert!(client
        .session
        .dispatch(client.now, &event("MESSAGE_CREATE", 2))
        .is_none());
    client.drain();
    assert!(client.frames.is_empty());
    client.input(Input::Written {
        bytes: frame.bytes.len(),
    });
    assert_eq!(seqs(&client.take_json()), [3]);
}
