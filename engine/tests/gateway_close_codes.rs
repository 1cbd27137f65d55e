//! Every close code a client can trigger, over raw frames, once per I/O backend:
//! 4001 unknown opcode, 4002 bad JSON and a payload over 4096 bytes, 4003 an op before
//! Identify, 4004 a bad token, 4005 a second Identify, 4007 a Resume with a sequence
//! ahead of the server's, 4008 more than 120 payloads a minute, 4009 a session that
//! stops heartbeating (zombie reaping) and one that heartbeats but never identifies,
//! 4010 an invalid shard, 4012 a bad version or
//! encoding, 4013 invalid intents, 4014 privileged intents the user was not granted.

mod support;

use serde_json::{json, Value};
use support::gateway::{post, Gateway, INTENTS_DEFAULT};
use support::{start_flux, Received};

fn identify_payload(token: &str, extra: Value) -> Value {
    let mut d = json!({"token": token, "properties": {}, "intents": INTENTS_DEFAULT});
    for (key, value) in extra.as_object().unwrap() {
        d[key] = value.clone();
    }
    json!({"op": 2, "d": d})
}

fn client_errors_close_with_discords_codes(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = boot.bots[0].token.as_str();
    let cases: Vec<(&str, Vec<String>, u16)> = vec![
        ("unknown opcode", vec![r#"{"op":99,"d":null}"#.into()], 4001),
        ("not JSON", vec!["{oops".into()], 4002),
        (
            "over 4096 bytes",
            vec![format!(r#"{{"op":1,"d":"{}"}}"#, "x".repeat(4100))],
            4002,
        ),
        (
            "op 3 before Identify",
            vec![
                r#"{"op":3,"d":{"since":null,"activities":[],"status":"online","afk":false}}"#
                    .into(),
            ],
            4003,
        ),
        (
            "bad token",
            vec![identify_payload("not-a-token", json!({})).to_string()],
            4004,
        ),
        (
            "invalid shard",
            vec![identify_payload(token, json!({"shard": [2, 2]})).to_string()],
            4010,
        ),
        (
            "invalid intents",
            vec![identify_payload(token, json!({"intents": 1u64 << 40})).to_string()],
            4013,
        ),
        (
            "121 payloads",
            (0..121)
                .map(|_| r#"{"op":1,"d":null}"#.to_string())
                .collect(),
            4008,
        ),
    ];
    for (name, payloads, code) in cases {
        let (mut gateway, _) = Gateway::connect(addr);
        for payload in &payloads {
            gateway.ws.send_text(payload);
        }
        assert_eq!(gateway.expect_close(), code, "{name}");
    }

    // 4005: a second Identify on an identified connection.
    let (mut gateway, _) = Gateway::connect(addr);
    let ready = gateway.identify_ready(token, INTENTS_DEFAULT, 1);
    gateway.identify(token, INTENTS_DEFAULT);
    assert_eq!(gateway.expect_close(), 4005, "double identify");

    // 4007: resuming that (resumable) session from a sequence the server never sent.
    let session_id = ready["d"]["session_id"].as_str().unwrap();
    let (mut gateway, _) = Gateway::connect(addr);
    gateway.resume(token, session_id, 99);
    assert_eq!(gateway.expect_close(), 4007, "seq ahead");

    // 4012: a version or encoding the gateway does not speak; no Hello first.
    for query in [
        "/?v=9&encoding=json",
        "/?v=10&encoding=etf",
        "/?v=10&compress=gzip",
    ] {
        let mut gateway = Gateway::connect_raw(addr, query);
        assert!(
            matches!(gateway.ws.recv(), Received::Close(Some(4012), _)),
            "{query}"
        );
    }
}
both_backends!(
    client_errors_close_with_discords_codes,
    client_errors_close_with_discords_codes
);

fn a_silent_session_is_reaped_as_a_zombie(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.heartbeat_interval_ms = 200);
    let addr = server.local_addr();
    let token = server.bootstrap().unwrap().bots[0].token.clone();
    let (mut beating, interval) = Gateway::connect(addr);
    assert_eq!(interval, 200);
    let (mut silent, _) = Gateway::connect(addr);
    silent.identify_ready(&token, INTENTS_DEFAULT, 1);
    let started = std::time::Instant::now();
    // The other session heartbeats on time and stays.
    let beats = std::thread::spawn(move || {
        for _ in 0..5 {
            beating.send(&json!({"op": 1, "d": null}));
            assert_eq!(beating.recv_json()["op"], 11);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        beating
    });
    assert_eq!(silent.expect_close(), 4009);
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(250),
        "{waited:?}"
    );
    let mut beating = beats.join().unwrap();
    beating.send(&json!({"op": 1, "d": null}));
    assert_eq!(beating.recv_json()["op"], 11);
}
both_backends!(
    a_silent_session_is_reaped_as_a_zombie,
    a_silent_session_is_reaped_as_a_zombie
);

/// A heartbeat that arrives in time counts even when the core reads it after the
/// deadline: the core stalls (a test hook sleeps its thread, as a long loop turn would)
/// past the session's deadline while the heartbeat waits unread in the socket; once the
/// core reads it, the session is ACKed, not closed with 4009. A core busy with other
/// connections must not reap the ones that did nothing wrong.
fn a_heartbeat_that_came_while_the_core_was_busy_counts(io: engine::IoBackend) {
    let server = start_flux(io, |config| {
        config.cores = Some(1);
        config.heartbeat_interval_ms = 200;
    });
    let addr = server.local_addr();
    let token = server.bootstrap().unwrap().bots[0].token.clone();
    let (mut gateway, _) = Gateway::connect(addr);
    gateway.identify_ready(&token, INTENTS_DEFAULT, 1);
    gateway.send(&json!({"op": 1, "d": null}));
    assert_eq!(gateway.recv_json()["op"], 11);
    // The deadline is now 300 ms away (1.5 intervals). The core sleeps for 900 ms.
    let stall = std::thread::spawn(move || post(addr, "/_flux/test/stall", &json!({"ms": 900})));
    std::thread::sleep(std::time::Duration::from_millis(100));
    let sent = std::time::Instant::now();
    gateway.send(&json!({"op": 1, "d": null}));
    let answer = gateway.ws.recv();
    let waited = sent.elapsed();
    let Received::Text(text) = answer else {
        panic!("expected a heartbeat ACK, got {answer:?}");
    };
    let ack: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ack["op"], 11, "{ack}");
    // The ACK came after the deadline had passed: the core read the heartbeat late.
    assert!(
        waited >= std::time::Duration::from_millis(400),
        "the core was not busy past the deadline: {waited:?}"
    );
    assert_eq!(stall.join().unwrap().status, 200);
    gateway.send(&json!({"op": 1, "d": null}));
    assert_eq!(gateway.recv_json()["op"], 11, "the session lives on");
}
both_backends!(
    a_heartbeat_that_came_while_the_core_was_busy_counts,
    a_heartbeat_that_came_while_the_core_was_busy_counts
);

/// A connection that heartbeats on time but never identifies is closed with 4009 once
/// `identify_timeout_ms` has passed since Hello (shortened here to 400 ms).
fn a_session_that_never_identifies_is_closed(io: engine::IoBackend) {
    let server = start_flux(io, |config| {
        config.heartbeat_interval_ms = 200;
        config.limits.identify_timeout_ms = 400;
    });
    let (mut idle, _) = Gateway::connect(server.local_addr());
    let started = std::time::Instant::now();
    let code = loop {
        idle.send(&json!({"op": 1, "d": null}));
        match idle.ws.recv() {
            Received::Close(code, _) => break code.expect("a close code"),
            Received::Eof => panic!("connection ended without a close frame"),
            _ => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    };
    assert_eq!(code, 4009);
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(350),
        "{waited:?}"
    );
}
both_backends!(
    a_session_that_never_identifies_is_closed,
    a_session_that_never_identifies_is_closed
);

fn privileged_intents_need_a_grant(io: engine::IoBackend) {
    // A data dir whose second bot may not use privileged intents.
    let mut data_dir = None;
    let server = start_flux(io, |config| {
        let opened = engine::world::open_data_dir(
            &config.data_dir,
            "127.0.0.1:9".parse().unwrap(),
            1_700_000_000_000,
        )
        .unwrap();
        let mut world = opened.world;
        world.accounts[1].privileged_intents_allowed = false;
        engine::world::save_world(&config.data_dir, &world).unwrap();
        data_dir = Some(config.data_dir.clone());
    });
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let members = 1 << 1;
    let (mut gateway, _) = Gateway::connect(addr);
    gateway.identify(&boot.bots[1].token, INTENTS_DEFAULT | members);
    assert_eq!(gateway.expect_close(), 4014);
    // The granted bot may.
    let (mut gateway, _) = Gateway::connect(addr);
    gateway.identify_ready(&boot.bots[0].token, INTENTS_DEFAULT | members, 1);
    assert!(data_dir.unwrap().join("bootstrap.json").exists());
}
both_backends!(
    privileged_intents_need_a_grant,
    privileged_intents_need_a_grant
);
