//! The gateway over raw WebSocket frames, as a client library sees it: Hello first,
//! Identify → READY (the fields real clients require) → one GUILD_CREATE for the demo
//! guild, heartbeat → ACK, zlib-stream and zstd-stream round trips over several messages
//! of one stream, a bad client closing only itself, and op 7 on graceful shutdown.
//! Every test runs once per I/O backend.

mod support;

use serde_json::{json, Value};
use support::gateway::{inject_dispatch, metrics, Gateway, INTENTS_DEFAULT};
use support::{start_flux, HttpClient, Received, WsClient};

fn identify_gets_ready_and_the_demo_guild(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (mut gateway, interval) = Gateway::connect(addr);
    assert_eq!(interval, 41_250);

    let ready = gateway.identify_ready(&boot.bots[0].token, INTENTS_DEFAULT, 0);
    assert_eq!(ready["s"], 1);
    let d = &ready["d"];
    assert_eq!(d["v"], 10);
    assert_eq!(d["user"]["id"], boot.bots[0].id);
    assert!(d["user"]["mfa_enabled"].is_boolean(), "{d}");
    assert_eq!(d["session_id"].as_str().unwrap().len(), 32);
    assert_eq!(
        d["resume_gateway_url"],
        format!("ws://{addr}"),
        "no trailing slash"
    );
    assert!(d["application"]["flags"].is_u64(), "{d}");
    assert_eq!(
        d["guilds"],
        json!([{"id": boot.guild_id, "unavailable": true}])
    );

    let guild_create = gateway.recv_dispatch();
    assert_eq!(guild_create["t"], "GUILD_CREATE");
    assert_eq!(guild_create["s"], 2);
    assert_eq!(guild_create["d"]["id"], boot.guild_id);
    let channels: Vec<&str> = guild_create["d"]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        channels.contains(&"general") && channels.contains(&"General"),
        "{channels:?}"
    );

    gateway.send(&json!({"op": 1, "d": 2}));
    assert_eq!(gateway.recv_json(), json!({"op": 11, "d": null}));
    let counters = metrics(addr);
    assert_eq!(counters["gateway_identify_total"], 1);
    // The reactors' counters: Hello, READY, GUILD_CREATE and the ACK went out as frames,
    // in at least one socket write.
    let reactor = &counters["reactor"];
    let (frames, writes) = (
        reactor["frames_queued"].as_u64().unwrap(),
        reactor["write_batches"].as_u64().unwrap(),
    );
    assert!(frames >= 4 && writes >= 1, "{reactor}");
    assert!(
        reactor["connections_open"].as_u64().unwrap() >= 1,
        "{reactor}"
    );

    // The same server answers REST with the gateway URL it speaks.
    let mut http = HttpClient::new(addr);
    http.send(b"GET /api/v10/gateway HTTP/1.1\r\nHost: flux\r\n\r\n");
    let response = http.read_response().unwrap();
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json()["url"], format!("ws://{addr}"));
}
both_backends!(
    identify_gets_ready_and_the_demo_guild,
    identify_gets_ready_and_the_demo_guild
);

/// Inflate zlib-stream messages with one context; each must end on a sync flush.
fn zlib_messages(
    gateway: &mut Gateway,
    inflater: &mut flate2::Decompress,
    count: usize,
) -> Vec<Value> {
    (0..count)
        .map(|_| {
            let Received::Binary(bytes) = gateway.ws.recv() else {
                panic!("zlib-stream sends BINARY frames")
            };
            assert!(
                bytes.ends_with(&[0, 0, 0xff, 0xff]),
                "sync flush at the end"
            );
            let mut out = Vec::with_capacity(64 * 1024);
            let before = inflater.total_in();
            inflater
                .decompress_vec(&bytes, &mut out, flate2::FlushDecompress::Sync)
                .expect("valid deflate");
            assert_eq!(
                inflater.total_in() - before,
                bytes.len() as u64,
                "all consumed"
            );
            serde_json::from_slice(&out).expect("JSON inside")
        })
        .collect()
}

fn zlib_stream_round_trips(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let mut gateway = Gateway::connect_raw(addr, "/?v=10&encoding=json&compress=zlib-stream");
    let mut inflater = flate2::Decompress::new(true);
    let hello = zlib_messages(&mut gateway, &mut inflater, 1);
    assert_eq!(hello[0]["op"], 10);
    // Clients may send BINARY JSON (hikari does).
    let identify = json!({"op": 2, "d": {"token": boot.bots[0].token, "properties": {},
        "intents": INTENTS_DEFAULT}});
    gateway.ws.send_binary(identify.to_string().as_bytes());
    let messages = zlib_messages(&mut gateway, &mut inflater, 2);
    assert_eq!(messages[0]["t"], "READY");
    assert_eq!(messages[1]["t"], "GUILD_CREATE");
    assert_eq!(
        inject_dispatch(addr, &boot.guild_id, "FLUX_TEST", &json!({"n": 1})),
        1
    );
    gateway.send(&json!({"op": 1, "d": 2}));
    let mut rest = zlib_messages(&mut gateway, &mut inflater, 2);
    rest.sort_by_key(|m| m["op"].as_u64());
    assert_eq!(rest[0]["t"], "FLUX_TEST");
    assert_eq!(rest[0]["s"], 3);
    assert_eq!(rest[1], json!({"op": 11, "d": null}));
}
both_backends!(zlib_stream_round_trips, zlib_stream_round_trips);

fn zstd_messages(
    gateway: &mut Gateway,
    decoder: &mut zstd::stream::raw::Decoder<'static>,
    count: usize,
) -> Vec<Value> {
    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
    (0..count)
        .map(|_| {
            let Received::Binary(bytes) = gateway.ws.recv() else {
                panic!("zstd-stream sends BINARY frames")
            };
            let mut input = InBuffer::around(&bytes);
            let mut text = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let mut output = OutBuffer::around(&mut chunk[..]);
                decoder.run(&mut input, &mut output).expect("valid zstd");
                let produced = output.pos();
                text.extend_from_slice(&chunk[..produced]);
                if input.pos() == bytes.len() && produced < chunk.len() {
                    break;
                }
            }
            serde_json::from_slice(&text).expect("each message decodes whole")
        })
        .collect()
}

fn zstd_stream_round_trips(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let mut gateway = Gateway::connect_raw(addr, "/?v=10&encoding=json&compress=zstd-stream");
    let mut decoder = zstd::stream::raw::Decoder::new().unwrap();
    assert_eq!(zstd_messages(&mut gateway, &mut decoder, 1)[0]["op"], 10);
    gateway.identify(&boot.bots[0].token, INTENTS_DEFAULT);
    let messages = zstd_messages(&mut gateway, &mut decoder, 2);
    assert_eq!(messages[0]["t"], "READY");
    assert_eq!(messages[1]["t"], "GUILD_CREATE");
    gateway.send(&json!({"op": 1, "d": 2}));
    assert_eq!(
        zstd_messages(&mut gateway, &mut decoder, 1)[0],
        json!({"op": 11, "d": null})
    );
}
both_backends!(zstd_stream_round_trips, zstd_stream_round_trips);

fn a_bad_client_closes_only_itself(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (mut good, _) = Gateway::connect(addr);
    good.identify_ready(&boot.bots[0].token, INTENTS_DEFAULT, 1);

    let (mut oversize, _) = Gateway::connect(addr);
    oversize
        .ws
        .send_text(&format!(r#"{{"op":1,"d":"{}"}}"#, "x".repeat(5000)));
    assert_eq!(oversize.expect_close(), 4002);

    let (mut garbage, _) = Gateway::connect(addr);
    garbage.ws.send_text("{not json");
    assert_eq!(garbage.expect_close(), 4002);

    let mut unmasked = WsClient::connect(addr, "/?v=10&encoding=json");
    assert!(matches!(unmasked.recv(), Received::Text(_)), "Hello");
    unmasked.send_raw(&[0x81, 0x02, b'{', b'}']); // A client frame without a mask.
    assert!(matches!(unmasked.recv(), Received::Close(Some(1002), _)));

    // The well-behaved session never noticed.
    good.send(&json!({"op": 1, "d": 2}));
    assert_eq!(good.recv_json(), json!({"op": 11, "d": null}));
    assert_eq!(
        inject_dispatch(addr, &boot.guild_id, "FLUX_TEST", &json!({})),
        1
    );
    assert_eq!(good.recv_dispatch()["t"], "FLUX_TEST");
}
both_backends!(
    a_bad_client_closes_only_itself,
    a_bad_client_closes_only_itself
);

fn graceful_shutdown_sends_op_7(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (mut gateway, _) = Gateway::connect(addr);
    gateway.identify_ready(&boot.bots[0].token, INTENTS_DEFAULT, 1);
    let stopping = std::thread::spawn(move || server.shutdown());
    assert_eq!(gateway.recv_json(), json!({"op": 7, "d": null}));
    assert_eq!(
        gateway.expect_close(),
        4000,
        "resumable: the client comes back"
    );
    gateway.ws.send_close(4000);
    stopping.join().unwrap().unwrap();
}
both_backends!(graceful_shutdown_sends_op_7, graceful_shutdown_sends_op_7);

/// More than the session's 256 KiB send window of dispatches: they keep flowing because
/// the reactor reports written bytes (`App::handle_written` → `Input::Written`).
fn dispatches_past_the_send_window_keep_flowing(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (mut gateway, _) = Gateway::connect(addr);
    gateway.identify_ready(&boot.bots[0].token, INTENTS_DEFAULT, 1);
    let pad = "x".repeat(2000);
    let count = 200; // ~400 KB
    let reader = std::thread::spawn(move || {
        for n in 0..count {
            let dispatch = gateway.recv_dispatch();
            assert_eq!(dispatch["s"], 3 + n);
            assert_eq!(dispatch["d"]["n"], n);
        }
    });
    for n in 0..count {
        inject_dispatch(
            addr,
            &boot.guild_id,
            "FLUX_TEST",
            &json!({"n": n, "pad": pad}),
        );
    }
    reader.join().unwrap();
}
both_backends!(
    dispatches_past_the_send_window_keep_flowing,
    dispatches_past_the_send_window_keep_flowing
);

/// The identify limit (one per 5 s per user with max_concurrency 1) holds whichever core
/// a connection lands on: it lives on the user's home core. A refused Identify gets op 9
/// `d: false` and the connection stays open.
fn the_identify_limit_holds_across_cores(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.cores = Some(2));
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (mut first, _) = Gateway::connect(addr);
    first.identify_ready(&boot.bots[0].token, INTENTS_DEFAULT, 1);
    for _ in 0..6 {
        let (mut again, _) = Gateway::connect(addr);
        again.identify(&boot.bots[0].token, INTENTS_DEFAULT);
        assert_eq!(again.recv_json(), json!({"op": 9, "d": false}));
    }
    let counters = metrics(addr);
    assert_eq!(counters["gateway_identify_total"], 1);
    assert_eq!(counters["gateway_identify_refused_total"], 6);
    // Another user has a budget of its own.
    let (mut other, _) = Gateway::connect(addr);
    other.identify_ready(&boot.bots[1].token, INTENTS_DEFAULT, 1);
}
both_backends!(
    the_identify_limit_holds_across_cores,
    the_identify_limit_holds_across_cores
);
