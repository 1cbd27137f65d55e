//! Everything a running server changed comes back after a restart of the server on the
//! same data dir: the stores, not `world.json`, are the truth once a server ran
//! (`world::persist`). Each test stops the first server cleanly and starts a second one
//! on the same data dir; `messages_survive_kill.rs` covers `kill -9` of the binary.

mod support;

use std::path::PathBuf;

use serde_json::json;
use support::rest::call;
use support::start_flux;

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flux-restart-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn restart(io: engine::IoBackend, dir: &std::path::Path) -> engine::Server {
    let dir = dir.to_path_buf();
    start_flux(io, move |config| {
        config.data_dir = dir;
        config.remove_data_dir_on_shutdown = false;
        config.limits.rest_rate_limits = false;
    })
}

fn dm_channels_and_their_messages_survive_a_restart(io: engine::IoBackend) {
    let dir = data_dir(&format!("dm-{io:?}"));
    let server = restart(io, &dir);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token_a = &boot.bots[0].token;
    let opened = call(
        addr,
        "POST",
        "/api/v10/users/@me/channels",
        token_a,
        Some(&json!({ "recipient_id": boot.bots[1].id })),
    );
    let channel_id = opened.json()["id"].as_str().unwrap().to_string();
    let messages = format!("/api/v10/channels/{channel_id}/messages");
    let sent = call(
        addr,
        "POST",
        &messages,
        token_a,
        Some(&json!({"content": "kept"})),
    );
    assert_eq!(sent.status, 200);
    server.shutdown().unwrap();

    let server = restart(io, &dir);
    let addr = server.local_addr();
    let token_b = &boot.bots[1].token;
    let listed = call(addr, "GET", "/api/v10/users/@me/channels", token_b, None).json();
    assert_eq!(listed[0]["id"], channel_id);
    let again = call(
        addr,
        "POST",
        "/api/v10/users/@me/channels",
        token_b,
        Some(&json!({ "recipient_id": boot.bots[0].id })),
    );
    assert_eq!(again.json()["id"], channel_id, "the pair keeps its one DM");
    let history = call(addr, "GET", &messages, token_b, None).json();
    assert_eq!(history[0]["id"], sent.json()["id"]);
    assert_eq!(history[0]["content"], "kept");
    server.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
both_backends!(dm_restart, dm_channels_and_their_messages_survive_a_restart);
