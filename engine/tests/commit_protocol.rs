//! The commit protocol on a two-core server: nothing of a change is visible before it is
//! durable, and a failed write leaves no trace — not in the owner's memory, not on the
//! other cores, not in a nonce cache — so the retry is what gets stored.
//!
//! Failures are injected with `/_flux/test/store-faults` in both shapes a store fails:
//! an append the store refuses, and a commit that fails after the append was accepted (a
//! failed fdatasync). Each family is covered: a ban, a channel change, a DM open, a
//! message sent with `enforce_nonce`, a logout and a registration (whose name core 0
//! reserved is free again). The ban is read back after a restart, from disk.
//! And a change builds on the changes in flight before it: reactions sent at once from
//! two connections all stay.

mod support;

use std::path::PathBuf;

use serde_json::{json, Value};
use support::rest::{call, call_on, post_anonymous, register};
use support::{assert_error, start_flux, HttpClient};

/// Arms the next store failures: `refuse` refused appends, `fail` failed commits.
fn arm(addr: std::net::SocketAddr, refuse: u32, fail: u32) {
    let body = json!({ "refuse_appends": refuse, "fail_commits": fail });
    let armed = call(
        addr,
        "POST",
        "/_flux/test/store-faults",
        "unused",
        Some(&body),
    );
    assert_eq!(armed.status, 200, "{armed:?}");
}

/// The two shapes of store failure: (refused appends, failed commits).
const FAILURES: [(u32, u32); 2] = [(1, 0), (0, 1)];

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flux-commit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn start_in(io: engine::IoBackend, dir: &std::path::Path) -> engine::Server {
    let dir = dir.to_path_buf();
    start_flux(io, move |config| {
        config.data_dir = dir;
        config.remove_data_dir_on_shutdown = false;
        config.limits.rest_rate_limits = false;
    })
}

/// A ban whose write fails is not in memory anywhere (the banned member still posts and
/// is no ban on any core); the retry is stored and survives a restart.
fn a_failed_ban_leaves_no_trace_and_the_retry_is_stored(io: engine::IoBackend) {
    let dir = data_dir(&format!("ban-{io:?}"));
    let server = start_in(io, &dir);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (owner, member) = (&boot.bots[0], &boot.bots[1]);
    let ban = format!("/api/v10/guilds/{}/bans/{}", boot.guild_id, member.id);
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    for (refuse, fail) in FAILURES {
        arm(addr, refuse, fail);
        let failed = call(addr, "PUT", &ban, &owner.token, Some(&json!({})));
        assert_error(&failed, 500, 0);
        // Fresh connections land on either core: no core knows the ban.
        for _ in 0..4 {
            assert_error(&call(addr, "GET", &ban, &owner.token, None), 404, 10026);
        }
        let posted = call(
            addr,
            "POST",
            &messages,
            &member.token,
            Some(&json!({"content": "still here"})),
        );
        assert_eq!(
            posted.status, 200,
            "the member was never banned: {posted:?}"
        );
    }
    let banned = call(addr, "PUT", &ban, &owner.token, Some(&json!({})));
    assert_eq!(banned.status, 204, "the retry is stored: {banned:?}");
    assert_eq!(call(addr, "GET", &ban, &owner.token, None).status, 200);
    let refused = call(
        addr,
        "POST",
        &messages,
        &member.token,
        Some(&json!({"content": "x"})),
    );
    assert_ne!(refused.status, 200, "a banned member no longer posts");
    server.shutdown().unwrap();

    let server = start_in(io, &dir);
    let addr = server.local_addr();
    assert_eq!(
        call(addr, "GET", &ban, &owner.token, None).status,
        200,
        "the ban was stored"
    );
    server.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A channel rename whose write fails changes nothing; the retry renames.
fn a_failed_channel_change_leaves_no_trace(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let owner = &boot.bots[0].token;
    let channel = format!("/api/v10/channels/{}", boot.text_channel_id);
    let name_now = |addr| call(addr, "GET", &channel, owner, None).json()["name"].clone();
    let before = name_now(addr);
    for (refuse, fail) in FAILURES {
        arm(addr, refuse, fail);
        let failed = call(
            addr,
            "PATCH",
            &channel,
            owner,
            Some(&json!({"name": "renamed"})),
        );
        assert_error(&failed, 500, 0);
        for _ in 0..4 {
            assert_eq!(name_now(addr), before, "no core sees the failed rename");
        }
    }
    // The owner's working copy was put back too: an unrelated change builds on the
    // durable channel, not on the failed rename.
    let topic = call(addr, "PATCH", &channel, owner, Some(&json!({"topic": "t"})));
    assert_eq!(topic.status, 200, "{topic:?}");
    assert_eq!(topic.json()["name"], before);
    let renamed = call(
        addr,
        "PATCH",
        &channel,
        owner,
        Some(&json!({"name": "renamed"})),
    );
    assert_eq!(renamed.status, 200, "{renamed:?}");
    for _ in 0..4 {
        assert_eq!(name_now(addr), "renamed");
    }
}

/// A DM whose write fails does not exist; the retry creates it once.
fn a_failed_dm_open_leaves_no_trace(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let bot = &boot.bots[0].token;
    let (_, human) = register(addr, "dm_partner");
    let open = |addr| {
        call(
            addr,
            "POST",
            "/api/v10/users/@me/channels",
            bot,
            Some(&json!({ "recipient_id": human })),
        )
    };
    let listed = |addr| {
        let list = call(addr, "GET", "/api/v10/users/@me/channels", bot, None).json();
        list.as_array().unwrap().len()
    };
    let dms_before = listed(addr);
    for (refuse, fail) in FAILURES {
        arm(addr, refuse, fail);
        assert_error(&open(addr), 500, 0);
        for _ in 0..4 {
            assert_eq!(listed(addr), dms_before, "no core lists the failed DM");
        }
    }
    let opened = open(addr);
    assert_eq!(opened.status, 200, "{opened:?}");
    let id = opened.json()["id"].clone();
    for _ in 0..4 {
        assert_eq!(open(addr).json()["id"], id, "the one DM of the pair");
    }
    assert_eq!(listed(addr), dms_before + 1);
}

/// A message sent with `enforce_nonce` whose write fails is not stored and its nonce is
/// not remembered: the retry with the same nonce is stored, and only then dedupes.
fn a_failed_nonced_message_leaves_no_nonce(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let bot = &boot.bots[0].token;
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    let body = json!({"content": "exactly once", "nonce": "n-42", "enforce_nonce": true});
    let recent = |addr| -> Vec<Value> {
        let page = call(addr, "GET", &format!("{messages}?limit=20"), bot, None).json();
        page.as_array().unwrap().clone()
    };
    for (refuse, fail) in FAILURES {
        arm(addr, refuse, fail);
        let refused = call(addr, "POST", &messages, bot, Some(&body));
        assert_error(&refused, 500, 0);
        assert!(
            refused.header("x-ratelimit-bucket").is_some(),
            "the error answer carries the request's rate-limit headers: {refused:?}"
        );
        assert!(
            recent(addr).iter().all(|m| m["content"] != "exactly once"),
            "the failed message was not stored"
        );
    }
    let sent = call(addr, "POST", &messages, bot, Some(&body));
    assert_eq!(sent.status, 200, "the retry is a new message: {sent:?}");
    let id = sent.json()["id"].clone();
    let stored = call(
        addr,
        "GET",
        &format!("{messages}/{}", id.as_str().unwrap()),
        bot,
        None,
    );
    assert_eq!(stored.status, 200, "and it is stored");
    for _ in 0..3 {
        let again = call(addr, "POST", &messages, bot, Some(&body));
        assert_eq!(again.json()["id"], id, "the stored nonce dedupes");
    }
    let copies = recent(addr)
        .iter()
        .filter(|m| m["content"] == "exactly once")
        .count();
    assert_eq!(copies, 1);
}

/// A logout whose write fails revokes nothing: the token still works on every core;
/// the retry revokes it everywhere.
fn a_failed_logout_leaves_the_token_valid(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let (token, _) = register(addr, "logout_failure");
    let me = |addr| call(addr, "GET", "/api/v10/users/@me", &token, None).status;
    for (refuse, fail) in FAILURES {
        arm(addr, refuse, fail);
        let failed = call(addr, "POST", "/api/v10/auth/logout", &token, None);
        assert_error(&failed, 500, 0);
        for _ in 0..4 {
            assert_eq!(me(addr), 200, "the token was not revoked");
        }
    }
    let logout = call(addr, "POST", "/api/v10/auth/logout", &token, None);
    assert_eq!(logout.status, 204, "{logout:?}");
    for _ in 0..4 {
        assert_eq!(me(addr), 401, "the retry revoked it on every core");
    }
}

/// A registration whose write fails creates no account and keeps no hold on the name:
/// the same name registers afterwards.
fn a_failed_registration_leaves_the_name_free(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let body = json!({ "username": "second_try", "password": "correct horse battery" });
    for (refuse, fail) in FAILURES {
        arm(addr, refuse, fail);
        let failed = post_anonymous(addr, "/api/v10/auth/register", &body);
        assert_error(&failed, 500, 0);
        let login = post_anonymous(
            addr,
            "/api/v10/auth/login",
            &json!({ "login": "second_try", "password": "correct horse battery" }),
        );
        assert_ne!(login.status, 200, "no account exists: {login:?}");
    }
    let (token, _) = register(addr, "second_try");
    assert_eq!(
        call(addr, "GET", "/api/v10/users/@me", &token, None).json()["username"],
        "second_try"
    );
}

/// Two members react to one message at once, each on its own connection, many times:
/// every reaction stays (each change builds on the ones in flight before it).
fn reactions_in_flight_build_on_each_other(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    let (a, b) = (&boot.bots[0].token, &boot.bots[1].token);
    let sent = call(
        addr,
        "POST",
        &messages,
        a,
        Some(&json!({"content": "react"})),
    );
    let message = format!("{messages}/{}", sent.json()["id"].as_str().unwrap());
    const EMOJIS: u64 = 12;
    let react = |token: &str, mut http: HttpClient| {
        for n in 0..EMOJIS {
            let path = format!("{message}/reactions/e{n}:{}/@me", 1000 + n);
            let put = call_on(&mut http, "PUT", &path, token, None);
            assert_eq!(put.status, 204, "{put:?}");
        }
    };
    std::thread::scope(|scope| {
        let (http_a, http_b) = (HttpClient::new(addr), HttpClient::new(addr));
        scope.spawn(|| react(a, http_a));
        scope.spawn(|| react(b, http_b));
    });
    let reactions = call(addr, "GET", &message, a, None).json()["reactions"].clone();
    let counts: Vec<u64> = reactions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![2; EMOJIS as usize], "{reactions}");
}

both_backends!(ban, a_failed_ban_leaves_no_trace_and_the_retry_is_stored);
both_backends!(channel, a_failed_channel_change_leaves_no_trace);
both_backends!(dm, a_failed_dm_open_leaves_no_trace);
both_backends!(nonce, a_failed_nonced_message_leaves_no_nonce);
both_backends!(logout, a_failed_logout_leaves_the_token_valid);
both_backends!(registration, a_failed_registration_leaves_the_name_free);
both_backends!(reactions, reactions_in_flight_build_on_each_other);
