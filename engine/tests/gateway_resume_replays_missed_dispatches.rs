//! Resume over raw frames: after the server drops the TCP connection, dispatches sent
//! while the client was away are replayed in order, then RESUMED with `d: {}`; an unknown
//! session gets op 9 `d: false`; a Resume that lands on another core than the one that
//! holds the detached session moves it there and works, also a second time (then the
//! session waited away from its home core, found through the home's forwarding entry).
//! Every test runs once per I/O backend.

mod support;

use serde_json::json;
use support::gateway::{
    drop_gateway_connections, inject_dispatch, metrics, Gateway, INTENTS_DEFAULT,
};
use support::{start_flux, Received};

fn resume_replays_missed_dispatches_in_order(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let (mut gateway, _) = Gateway::connect(addr);
    let ready = gateway.identify_ready(token, INTENTS_DEFAULT, 1);
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_string();

    assert_eq!(drop_gateway_connections(addr), 1);
    assert_eq!(
        gateway.ws.recv(),
        Received::Eof,
        "dropped without a close frame"
    );
    for n in 0..3 {
        let delivered = inject_dispatch(addr, &boot.guild_id, "FLUX_TEST", &json!({"n": n}));
        assert_eq!(delivered, 1, "the detached session takes it");
    }

    let (mut gateway, _) = Gateway::connect(addr);
    gateway.resume(token, &session_id, 2);
    for n in 0..3 {
        let missed = gateway.recv_dispatch();
        assert_eq!(missed["t"], "FLUX_TEST");
        assert_eq!(missed["s"], 3 + n);
        assert_eq!(missed["d"], json!({"n": n}));
    }
    let resumed = gateway.recv_dispatch();
    assert_eq!(resumed["t"], "RESUMED");
    assert_eq!(resumed["s"], 6);
    assert_eq!(resumed["d"], json!({}));

    // Live again: new dispatches continue the sequence.
    inject_dispatch(addr, &boot.guild_id, "FLUX_TEST", &json!({"n": 3}));
    assert_eq!(gateway.recv_dispatch()["s"], 7);
    let counters = metrics(addr);
    assert_eq!(counters["gateway_identify_total"], 1);
    assert_eq!(counters["gateway_resume_total"], 1);
}
both_backends!(
    resume_replays_missed_dispatches_in_order,
    resume_replays_missed_dispatches_in_order
);

fn unknown_session_gets_invalid_session(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let token = server.bootstrap().unwrap().bots[0].token.clone();
    for session_id in [
        "0000aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "0001ffffffffffffffffffffffffffff",
        "nope",
    ] {
        let (mut gateway, _) = Gateway::connect(addr);
        gateway.resume(&token, session_id, 1);
        assert_eq!(
            gateway.recv_json(),
            json!({"op": 9, "d": false}),
            "{session_id}"
        );
        // The connection stays open for a fresh Identify.
        gateway.send(&json!({"op": 1, "d": null}));
        assert_eq!(gateway.recv_json()["op"], 11);
    }
}
both_backends!(
    unknown_session_gets_invalid_session,
    unknown_session_gets_invalid_session
);

fn resume_on_another_core_moves_the_session(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.cores = Some(2));
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let (mut gateway, _) = Gateway::connect(addr);
    let ready = gateway.identify_ready(token, INTENTS_DEFAULT, 1);
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_string();
    let mut seq = 2;
    let mut remote_resumes = 0;
    // The kernel picks the core per connection; keep resuming until two resumes landed on
    // a core other than the one holding the session (each try: ~1/2). From the first
    // remote resume on, the session detaches away from its home core, so later resumes
    // go through the home core's forwarding entry.
    for attempt in 0..64 {
        gateway.ws.send_close(4000); // discord.py's own close code: the session is kept.
        while !matches!(gateway.ws.recv(), Received::Close(..) | Received::Eof) {}
        inject_dispatch(
            addr,
            &boot.guild_id,
            "FLUX_TEST",
            &json!({"attempt": attempt}),
        );
        let (mut next, _) = Gateway::connect(addr);
        next.resume(token, &session_id, seq);
        let missed = next.recv_dispatch();
        assert_eq!(missed["t"], "FLUX_TEST", "{missed}");
        assert_eq!(missed["d"]["attempt"], attempt);
        assert_eq!(missed["s"], seq + 1);
        let resumed = next.recv_dispatch();
        assert_eq!(resumed["t"], "RESUMED");
        seq = resumed["s"].as_u64().unwrap();
        gateway = next;
        remote_resumes = metrics(addr)["gateway_resume_remote_total"]
            .as_u64()
            .unwrap();
        if remote_resumes >= 2 {
            break;
        }
    }
    assert!(
        remote_resumes >= 2,
        "no resume landed on the other core in 64 tries"
    );
    let counters = metrics(addr);
    assert_eq!(counters["gateway_identify_total"], 1);
    assert_eq!(counters["gateway_resume_not_found_total"], 0);
    gateway.send(&json!({"op": 1, "d": seq}));
    assert_eq!(gateway.recv_json()["op"], 11);
}
both_backends!(
    resume_on_another_core_moves_the_session,
    resume_on_another_core_moves_the_session
);

/// Another user's token cannot take a session, and the refusal leaves it resumable.
fn a_resume_with_the_wrong_token_is_refused_and_the_session_kept(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (mut gateway, _) = Gateway::connect(addr);
    let ready = gateway.identify_ready(&boot.bots[0].token, INTENTS_DEFAULT, 1);
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_string();
    gateway.ws.send_close(4000);
    while !matches!(gateway.ws.recv(), Received::Close(..) | Received::Eof) {}

    let (mut thief, _) = Gateway::connect(addr);
    thief.resume(&boot.bots[1].token, &session_id, 2);
    assert_eq!(thief.recv_json(), json!({"op": 9, "d": false}));

    let (mut owner, _) = Gateway::connect(addr);
    owner.resume(&boot.bots[0].token, &session_id, 2);
    let resumed = owner.recv_dispatch();
    assert_eq!(resumed["t"], "RESUMED");
    assert_eq!(resumed["s"], 3);
    // Still subscribed to the demo guild after the round trip.
    assert_eq!(
        inject_dispatch(addr, &boot.guild_id, "FLUX_TEST", &json!({})),
        1
    );
    assert_eq!(owner.recv_dispatch()["s"], 4);
}
both_backends!(
    a_resume_with_the_wrong_token_is_refused_and_the_session_kept,
    a_resume_with_the_wrong_token_is_refused_and_the_session_kept
);

/// A client that identifies and then stops reading: its session stops taking frames at
/// the send window, is closed with 4000 (resumable) after the grace period, and keeps what
/// it missed in its replay ring; meanwhile another session in the same guild gets every
/// dispatch. A Resume then replays the rest in order.
fn a_session_that_stops_reading_is_closed_resumably(io: engine::IoBackend) {
    let server = start_flux(io, |config| {
        config.limits.slow_consumer_grace_ms = 300;
        config.limits.socket_send_buffer_bytes = Some(4096);
    });
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (mut slow, _) = Gateway::connect(addr);
    let ready = slow.identify_ready(&boot.bots[0].token, INTENTS_DEFAULT, 1);
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_string();
    shrink_receive_buffer(&slow.ws.stream);
    let (mut fast, _) = Gateway::connect(addr);
    fast.identify_ready(&boot.bots[1].token, INTENTS_DEFAULT, 1);

    // ~900 KB: far more than the slow client's kernel buffers plus the 256 KiB window,
    // within the replay ring's 1024 events and 1 MiB.
    let count = 600u64;
    let reader = std::thread::spawn(move || {
        for n in 0..count {
            assert_eq!(fast.recv_dispatch()["d"]["n"], n);
        }
        fast // Kept open: only the slow session may detach.
    });
    let pad = "x".repeat(1500);
    for n in 0..count {
        inject_dispatch(
            addr,
            &boot.guild_id,
            "FLUX_TEST",
            &json!({"n": n, "pad": pad}),
        );
    }
    let _fast = reader.join().expect("the other session got every dispatch");
    let started = std::time::Instant::now();
    while metrics(addr)["gateway_sessions_detached"] != 1 {
        assert!(
            started.elapsed().as_secs() < 10,
            "the slow session was never closed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    // Read what did arrive (the close frame is behind it), then resume from there.
    let mut seq_seen = 2;
    loop {
        match slow.ws.recv() {
            Received::Text(text) => {
                let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
                if payload["op"] == 0 {
                    assert_eq!(payload["s"], seq_seen + 1, "in order, no gap");
                    seq_seen += 1;
                }
            }
            Received::Close(code, _) => {
                assert_eq!(code, Some(4000));
                break;
            }
            Received::Eof => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(seq_seen < 2 + count, "the slow client did fall behind");
    let (mut back, _) = Gateway::connect(addr);
    back.resume(&boot.bots[0].token, &session_id, seq_seen);
    for seq in seq_seen + 1..=2 + count {
        let missed = back.recv_dispatch();
        assert_eq!(missed["s"], seq);
        assert_eq!(missed["d"]["n"], seq - 3);
    }
    assert_eq!(back.recv_dispatch()["t"], "RESUMED");
}
both_backends!(
    a_session_that_stops_reading_is_closed_resumably,
    a_session_that_stops_reading_is_closed_resumably
);

/// A small receive buffer, so the kernel cannot absorb what the client does not read
/// (loopback otherwise takes about a megabyte).
fn shrink_receive_buffer(stream: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let bytes: libc::c_int = 4096;
    // SAFETY: the descriptor is open for the duration of the call (borrowed from
    // `stream`), and the option value points to a live c_int whose size is passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_RCVBUF): {}",
        std::io::Error::last_os_error()
    );
}
