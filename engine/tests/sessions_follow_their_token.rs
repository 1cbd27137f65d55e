//! Sessions follow their token: a logout closes every live gateway session of the account
//! with 4004 on whichever core it lives, and a session that waited detached for a Resume
//! cannot be resumed with the revoked token (Discord closes with 4004 for a bad token;
//! here the detached state is gone, so the Resume is refused with op 9).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::gateway::{metrics, Gateway, INTENTS_DEFAULT};
use support::rest::{call, register};
use support::start_flux;

/// Waits until `/_flux/metrics` shows `detached` detached sessions.
fn wait_detached(addr: std::net::SocketAddr, detached: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = metrics(addr)["gateway_sessions_detached"].as_i64().unwrap();
        if now == detached {
            return;
        }
        assert!(Instant::now() < deadline, "{now} detached, want {detached}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn a_logout_ends_live_and_detached_sessions(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();

    // A live session, closed with 4004 by its user's logout.
    let (live_token, _) = register(addr, "live_one");
    let (mut live, _) = Gateway::connect(addr);
    live.identify_ready(&live_token, INTENTS_DEFAULT, 0);
    let logout = call(addr, "POST", "/api/v10/auth/logout", &live_token, None);
    assert_eq!(logout.status, 204, "{logout:?}");
    assert_eq!(live.expect_close(), 4004, "the live session is closed");

    // A detached session (its connection dropped, it waits for a Resume).
    let (token, _) = register(addr, "detached_one");
    let (mut first, _) = Gateway::connect(addr);
    let ready = first.identify_ready(&token, INTENTS_DEFAULT, 0);
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_string();
    let seq = ready["s"].as_u64().unwrap();
    drop(first);
    wait_detached(addr, 1);
    let logout = call(addr, "POST", "/api/v10/auth/logout", &token, None);
    assert_eq!(logout.status, 204, "{logout:?}");
    wait_detached(addr, 0);
    let (mut resumer, _) = Gateway::connect(addr);
    resumer.resume(&token, &session_id, seq);
    let answer = resumer.recv_json();
    assert_eq!(
        answer["op"], 9,
        "a revoked session does not resume: {answer}"
    );
    assert_eq!(answer["d"], json!(false));

    // Another user's session is untouched by these logouts.
    let (other_token, _) = register(addr, "bystander");
    let (mut other, _) = Gateway::connect(addr);
    other.identify_ready(&other_token, INTENTS_DEFAULT, 0);
    let me = call(addr, "GET", "/api/v10/users/@me", &other_token, None);
    assert_eq!(me.status, 200);
    other.send(&json!({"op": 1, "d": null}));
    assert_eq!(other.recv_json()["op"], 11, "still live: heartbeat ACK");
    server.shutdown().unwrap();
}

both_backends!(logout, a_logout_ends_live_and_detached_sessions);
