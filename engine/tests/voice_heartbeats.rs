//! The voice gateway's silence deadline, end to end on the real Flux application (one
//! core, once per I/O backend), with the voice heartbeat interval shortened to 200 ms:
//!
//! - a voice connection that stops heartbeating is closed with 4009 once two intervals
//!   have passed since it was last heard;
//! - a heartbeat that arrived in time counts even when the core reads it after the
//!   deadline: the core stalls (a test hook sleeps its thread, as a long loop turn would)
//!   while the heartbeat waits unread in the socket, and the client gets its op 6, not
//!   4009.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::gateway::{post, Gateway};
use support::tls::{cert_of, client_config, TlsWs};
use support::voice::{session_for_voice, voice_identify};
use wsframe::Opcode;

/// One core whose voice Hello says 200 ms; a voice connection of its first bot that has
/// read Hello and Ready, and the main gateway session it belongs to.
fn voice_connected(io: engine::IoBackend) -> (engine::Server, Gateway, TlsWs) {
    let mut data_dir = std::path::PathBuf::new();
    let server = support::start_flux(io, |config| {
        config.cores = Some(1);
        config.voice_heartbeat_interval_ms = 200;
        data_dir = config.data_dir.clone();
    });
    let boot = server.bootstrap().unwrap();
    let (mut gateway, ids) = session_for_voice(server.local_addr(), boot, &boot.bots[0]);
    let config = client_config(&cert_of(&data_dir));
    let mut ws = voice_identify(&mut gateway, &config, &ids).ws;
    assert_eq!(recv(&mut ws)["d"]["heartbeat_interval"], 200, "Hello first");
    assert_eq!(recv(&mut ws)["op"], 2, "then Ready");
    (server, gateway, ws)
}

fn recv(ws: &mut TlsWs) -> Value {
    serde_json::from_slice(&ws.recv()).unwrap()
}

/// A v8 heartbeat with nonce `t`; the answer must be op 6 with the same nonce.
fn heartbeat(ws: &mut TlsWs, t: u64) {
    let beat = json!({"op": 3, "d": {"t": t, "seq_ack": 0}});
    ws.send(Opcode::Text, beat.to_string().as_bytes());
}

fn expect_ack(ws: &mut TlsWs, t: u64) {
    let ack = recv(ws);
    assert_eq!(
        (ack["op"].as_u64(), ack["d"]["t"].as_u64()),
        (Some(6), Some(t)),
        "{ack}"
    );
}

fn a_silent_voice_connection_is_closed(io: engine::IoBackend) {
    let (_server, _gateway, mut ws) = voice_connected(io);
    heartbeat(&mut ws, 1);
    expect_ack(&mut ws, 1);
    let last_heard = Instant::now();
    assert_eq!(ws.expect_close(), 4009);
    let waited = last_heard.elapsed();
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_secs(5),
        "closed {waited:?} after the last heartbeat; the deadline is 400 ms"
    );
}
both_backends!(
    a_silent_voice_connection_is_closed,
    a_silent_voice_connection_is_closed
);

fn a_voice_heartbeat_that_came_while_the_core_was_busy_counts(io: engine::IoBackend) {
    let (server, _gateway, mut ws) = voice_connected(io);
    let addr = server.local_addr();
    heartbeat(&mut ws, 1);
    expect_ack(&mut ws, 1);
    // The deadline is now 400 ms away (two intervals). The core sleeps for 900 ms.
    let stall = std::thread::spawn(move || post(addr, "/_flux/test/stall", &json!({"ms": 900})));
    std::thread::sleep(Duration::from_millis(100));
    let sent = Instant::now();
    heartbeat(&mut ws, 2);
    expect_ack(&mut ws, 2);
    // The ACK came after the deadline had passed: the core read the heartbeat late.
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(500),
        "the core was not busy past the deadline: {waited:?}"
    );
    assert_eq!(stall.join().unwrap().status, 200);
    heartbeat(&mut ws, 3);
    expect_ack(&mut ws, 3);
}
both_backends!(
    a_voice_heartbeat_that_came_while_the_core_was_busy_counts,
    a_voice_heartbeat_that_came_while_the_core_was_busy_counts
);
