//! Everything a running server changed comes back after a restart of the server on the
//! same data dir: the stores, not `world.json`, are the truth once a server ran
//! (`world::persist`). Each test stops the first server cleanly and starts a second one
//! on the same data dir; `messages_survive_kill.rs` covers `kill -9` of the binary.

mod support;

use std::path::PathBuf;

use serde_json::json;
use support::rest::{call, register};
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

/// Users, guilds, channels, overwrites, roles, members, invites, bans, threads,
/// reactions and pins made over REST are all there after a restart.
fn guild_state_survives_a_restart(io: engine::IoBackend) {
    let dir = data_dir(&format!("guilds-{io:?}"));
    let server = restart(io, &dir);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token_a = &boot.bots[0].token;
    let guild = &boot.guild_id;
    let (token_h, id_h) = register(addr, "keeper");
    let (token_banned, id_banned) = register(addr, "troublemaker");
    let renamed = call(
        addr,
        "PATCH",
        &format!("/api/v10/guilds/{guild}"),
        token_a,
        Some(&json!({"name": "Renamed"})),
    );
    assert_eq!(renamed.status, 200);
    let role = call(
        addr,
        "POST",
        &format!("/api/v10/guilds/{guild}/roles"),
        token_a,
        Some(&json!({"name": "keepers", "permissions": "0"})),
    );
    let role_id = role.json()["id"].as_str().unwrap().to_string();
    let channel = call(
        addr,
        "POST",
        &format!("/api/v10/guilds/{guild}/channels"),
        token_a,
        Some(&json!({
            "name": "vault",
            "permission_overwrites": [{"id": role_id, "type": 0, "allow": "1024", "deny": "0"}]
        })),
    );
    assert_eq!(channel.status, 201, "{channel:?}");
    let channel_id = channel.json()["id"].as_str().unwrap().to_string();
    let invite = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{channel_id}/invites"),
        token_a,
        Some(&json!({"max_age": 0})),
    );
    let code = invite.json()["code"].as_str().unwrap().to_string();
    let invite_path = format!("/api/v10/invites/{code}");
    assert_eq!(call(addr, "POST", &invite_path, &token_h, None).status, 200);
    let give = format!("/api/v10/guilds/{guild}/members/{id_h}/roles/{role_id}");
    assert_eq!(call(addr, "PUT", &give, token_a, None).status, 204);
    let ban = format!("/api/v10/guilds/{guild}/bans/{id_banned}");
    assert_eq!(
        call(addr, "PUT", &ban, token_a, Some(&json!({}))).status,
        204
    );
    let messages = format!("/api/v10/channels/{channel_id}/messages");
    let sent = call(
        addr,
        "POST",
        &messages,
        &token_h,
        Some(&json!({"content": "safe"})),
    );
    assert_eq!(sent.status, 200, "{sent:?}");
    let message_id = sent.json()["id"].as_str().unwrap().to_string();
    let react = format!("{messages}/{message_id}/reactions/%F0%9F%91%8D/@me");
    assert_eq!(call(addr, "PUT", &react, token_a, None).status, 204);
    let pin = format!("/api/v10/channels/{channel_id}/pins/{message_id}");
    assert_eq!(call(addr, "PUT", &pin, token_a, None).status, 204);
    let thread = call(
        addr,
        "POST",
        &format!("{messages}/{message_id}/threads"),
        token_a,
        Some(&json!({"name": "kept thread"})),
    );
    assert_eq!(thread.status, 201, "{thread:?}");
    server.shutdown().unwrap();

    let server = restart(io, &dir);
    let addr = server.local_addr();
    let got = call(
        addr,
        "GET",
        &format!("/api/v10/guilds/{guild}"),
        &token_h,
        None,
    )
    .json();
    assert_eq!(got["name"], "Renamed");
    assert!(got["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == role_id.as_str()));
    let member = call(
        addr,
        "GET",
        &format!("/api/v10/guilds/{guild}/members/{id_h}"),
        token_a,
        None,
    );
    assert_eq!(
        member.status, 200,
        "the human is still a member: {member:?}"
    );
    assert_eq!(member.json()["roles"], json!([role_id]));
    let fetched = call(
        addr,
        "GET",
        &format!("/api/v10/channels/{channel_id}"),
        &token_h,
        None,
    );
    assert_eq!(fetched.json()["name"], "vault");
    assert_eq!(fetched.json()["permission_overwrites"][0]["id"], role_id);
    assert_eq!(call(addr, "GET", &invite_path, &token_h, None).status, 200);
    assert_eq!(call(addr, "GET", &ban, token_a, None).status, 200);
    assert_eq!(
        call(addr, "POST", &invite_path, &token_banned, None).status,
        403,
        "the ban holds after a restart"
    );
    let history = call(addr, "GET", &messages, &token_h, None).json();
    assert_eq!(history[0]["id"], message_id);
    assert_eq!(history[0]["content"], "safe");
    assert_eq!(history[0]["pinned"], true);
    assert_eq!(history[0]["reactions"][0]["count"], 1);
    let active = call(
        addr,
        "GET",
        &format!("/api/v10/guilds/{guild}/threads/active"),
        token_a,
        None,
    );
    assert_eq!(active.json()["threads"][0]["id"], message_id);
    let guilds = call(addr, "GET", "/api/v10/users/@me/guilds", &token_h, None).json();
    assert_eq!(guilds[0]["name"], "Renamed");
    server.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
both_backends!(guild_restart, guild_state_survives_a_restart);
