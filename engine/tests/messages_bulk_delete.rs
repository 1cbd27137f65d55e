//! `POST /channels/{id}/messages/bulk-delete` end to end on two cores: Discord's errors
//! (50013 without MANAGE_MESSAGES, 50035 for 1, 101 or repeated ids, 50034 for a message
//! older than 14 days), unknown ids skipped, 204 after durability, MESSAGE_DELETE_BULK
//! on another bot's session, and the deletion surviving a restart on the same data dir.

mod support;

use serde_json::{json, Value};
use support::gateway::{Gateway, INTENTS_DEFAULT};
use support::rest::call;
use support::{assert_error, start_flux};

const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

fn snowflake_at(unix_ms: u64) -> String {
    ((unix_ms - DISCORD_EPOCH_MS) << 22).to_string()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn bulk_delete_errors_dispatch_and_durability(io: engine::IoBackend) {
    let data_dir = std::env::temp_dir().join(format!(
        "flux-bulk-delete-{}-{io:?}-{}",
        std::process::id(),
        now_ms()
    ));
    let adjust = |config: &mut engine::Config| {
        config.limits.rest_rate_limits = false;
        config.data_dir = data_dir.clone();
        config.remove_data_dir_on_shutdown = false;
    };
    let server = start_flux(io, adjust);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    // A owns the guild (every permission); B has @everyone's, without MANAGE_MESSAGES.
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let channel = &boot.text_channel_id;
    let messages = format!("/api/v10/channels/{channel}/messages");
    let bulk = format!("{messages}/bulk-delete");

    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(token_b, INTENTS_DEFAULT, 1);

    let ids: Vec<String> = (0..3)
        .map(|n| {
            let created = call(
                addr,
                "POST",
                &messages,
                token_a,
                Some(&json!({ "content": format!("m{n}") })),
            );
            assert_eq!(created.status, 200, "{created:?}");
            created.json()["id"].as_str().unwrap().to_string()
        })
        .collect();

    // Errors, each with Discord's code; none deletes anything.
    let denied = call(
        addr,
        "POST",
        &bulk,
        token_b,
        Some(&json!({ "messages": [ids[0], ids[1]] })),
    );
    assert_error(&denied, 403, 50013);
    let form_code = |body: &Value| {
        let answer = call(addr, "POST", &bulk, token_a, Some(body));
        assert_error(&answer, 400, 50035);
        answer.json()["errors"]["messages"]["_errors"][0]["code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        form_code(&json!({ "messages": [ids[0]] })),
        "BASE_TYPE_MIN_LENGTH"
    );
    let too_many: Vec<String> = (0..101u64)
        .map(|n| (ids[0].parse::<u64>().unwrap() + n).to_string())
        .collect();
    assert_eq!(
        form_code(&json!({ "messages": too_many })),
        "BASE_TYPE_MAX_LENGTH"
    );
    assert_eq!(
        form_code(&json!({ "messages": [ids[0], ids[0]] })),
        "BASE_TYPE_DUPLICATES"
    );
    assert_eq!(form_code(&json!({})), "BASE_TYPE_REQUIRED");
    let old = snowflake_at(now_ms() - 15 * 24 * 3_600_000);
    let too_old = call(
        addr,
        "POST",
        &bulk,
        token_a,
        Some(&json!({ "messages": [ids[0], old] })),
    );
    assert_error(&too_old, 400, 50034);
    assert_eq!(
        too_old.json()["message"],
        "You can only bulk delete messages that are under 14 days old."
    );
    let wrong_method = call(addr, "GET", &bulk, token_a, None);
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
    for id in &ids {
        let got = call(addr, "GET", &format!("{messages}/{id}"), token_a, None);
        assert_eq!(got.status, 200, "errors delete nothing: {got:?}");
    }

    // Two real ids and one that names no message (skipped, as on Discord).
    let unknown = snowflake_at(now_ms() - 60_000);
    let deleted = call(
        addr,
        "POST",
        &bulk,
        token_a,
        Some(&json!({ "messages": [ids[0], unknown, ids[1]] })),
    );
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert!(deleted.body.is_empty());
    let event = gateway_b.recv_named("MESSAGE_DELETE_BULK");
    assert_eq!(
        event["d"],
        json!({ "ids": [ids[0], ids[1]], "channel_id": channel, "guild_id": boot.guild_id })
    );
    let check_deleted = |addr| {
        for (id, status) in [(&ids[0], 404), (&ids[1], 404), (&ids[2], 200)] {
            let got = call(addr, "GET", &format!("{messages}/{id}"), token_a, None);
            assert_eq!(got.status, status, "{id}: {got:?}");
        }
        let history = call(addr, "GET", &messages, token_a, None).json();
        let left: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(left, [ids[2].as_str()]);
    };
    check_deleted(addr);
    // Only unknown ids: nothing to do, still 204, no event.
    let nothing = call(
        addr,
        "POST",
        &bulk,
        token_a,
        Some(&json!({ "messages": [ids[0], ids[1]] })),
    );
    assert_eq!(nothing.status, 204, "{nothing:?}");

    drop(gateway_b);
    server.shutdown().unwrap();
    let restarted = start_flux(io, adjust);
    check_deleted(restarted.local_addr());
    restarted.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}

both_backends!(
    bulk_delete_checks_dispatches_and_survives_restart,
    bulk_delete_errors_dispatch_and_durability
);

/// Discord's bucket for bulk delete: one per second per channel, so a second call at once
/// is a 429 of scope `user`.
fn bulk_delete_has_its_own_bucket(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let bulk = format!(
        "/api/v10/channels/{}/messages/bulk-delete",
        boot.text_channel_id
    );
    let recent = now_ms() - 1_000;
    let body = json!({ "messages": [snowflake_at(recent), snowflake_at(recent - 1)] });
    let first = call(addr, "POST", &bulk, token, Some(&body));
    assert_eq!(first.status, 204, "{first:?}");
    assert_eq!(first.header("x-ratelimit-limit"), Some("1"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("0"));
    let second = call(addr, "POST", &bulk, token, Some(&body));
    assert_eq!(second.status, 429, "{second:?}");
    assert_eq!(second.header("x-ratelimit-scope"), Some("user"));
    assert!(second.header("retry-after").is_some());
}

both_backends!(
    bulk_delete_is_one_per_second,
    bulk_delete_has_its_own_bucket
);
