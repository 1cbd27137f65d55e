//! Reactions, typing and pins end to end over real sockets, on two cores: each route is
//! answered by the channel's owner core (writes once durable) and its event
//! (MESSAGE_REACTION_*, TYPING_START, CHANNEL_PINS_UPDATE) reaches the other bot's
//! gateway session. Bot 0 owns the demo guild (every permission); bot 1 has only
//! @everyone's defaults (no MANAGE_MESSAGES, no PIN_MESSAGES), which gives the 50013
//! cases. Every test runs once per I/O backend.

mod support;

use serde_json::{json, Value};
use support::gateway::{Gateway, INTENTS_DEFAULT};
use support::rest::call;
use support::{assert_error, start_flux};

const THUMBS: &str = "%F0%9F%91%8D";

fn assert_204(response: &support::HttpResponse) {
    assert_eq!(response.status, 204, "{response:?}");
    assert!(response.body.is_empty(), "{response:?}");
}

fn reactions_reach_the_other_bot(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (a, b) = (&boot.bots[0], &boot.bots[1]);
    let channel = &boot.text_channel_id;
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(&b.token, INTENTS_DEFAULT, 1);

    let created = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{channel}/messages"),
        &a.token,
        Some(&json!({"content": "react to me"})),
    );
    assert_eq!(created.status, 200, "{created:?}");
    let id = created.json()["id"].as_str().unwrap().to_string();
    let reactions = format!("/api/v10/channels/{channel}/messages/{id}/reactions");

    assert_204(&call(
        addr,
        "PUT",
        &format!("{reactions}/{THUMBS}/@me"),
        &a.token,
        None,
    ));
    let add = gateway_b.recv_named("MESSAGE_REACTION_ADD");
    assert_eq!(add["d"]["type"], 0);
    assert_eq!(add["d"]["burst"], false);
    assert_eq!(add["d"]["emoji"], json!({"id": null, "name": "👍"}));
    assert_eq!(add["d"]["user_id"], a.id);
    assert_eq!(add["d"]["message_id"], id);
    assert_eq!(add["d"]["guild_id"], boot.guild_id);
    assert_eq!(add["d"]["message_author_id"], a.id);
    assert_eq!(add["d"]["member"]["user"]["id"], a.id);
    assert!(add["d"]["member"]["roles"].is_array());
    assert!(add["d"]["member"]["flags"].is_u64());
    // Idempotent: a second add answers 204 and changes nothing.
    assert_204(&call(
        addr,
        "PUT",
        &format!("{reactions}/{THUMBS}/@me"),
        &a.token,
        None,
    ));
    // B joins with a custom emoji and with 👍.
    assert_204(&call(
        addr,
        "PUT",
        &format!("{reactions}/flux%3A42/@me"),
        &b.token,
        None,
    ));
    let custom = gateway_b.recv_named("MESSAGE_REACTION_ADD");
    assert_eq!(custom["d"]["emoji"]["id"], "42");
    assert_eq!(custom["d"]["emoji"]["name"], "flux");
    assert_204(&call(
        addr,
        "PUT",
        &format!("{reactions}/{THUMBS}/@me"),
        &b.token,
        None,
    ));
    gateway_b.recv_named("MESSAGE_REACTION_ADD");

    let users = call(
        addr,
        "GET",
        &format!("{reactions}/{THUMBS}"),
        &b.token,
        None,
    );
    assert_eq!(users.status, 200, "{users:?}");
    let mut ids: Vec<String> = users
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_str().unwrap().to_string())
        .collect();
    let mut want = vec![a.id.clone(), b.id.clone()];
    ids.sort();
    want.sort();
    assert_eq!(ids, want);
    let one = call(
        addr,
        "GET",
        &format!("{reactions}/{THUMBS}?limit=1"),
        &b.token,
        None,
    );
    assert_eq!(one.json().as_array().unwrap().len(), 1);
    assert_error(
        &call(
            addr,
            "GET",
            &format!("{reactions}/{THUMBS}?limit=0"),
            &b.token,
            None,
        ),
        400,
        50035,
    );

    // The message shows the reactions, with `me` for the caller.
    let message = call(
        addr,
        "GET",
        &format!("/api/v10/channels/{channel}/messages/{id}"),
        &b.token,
        None,
    )
    .json();
    assert_eq!(message["reactions"][0]["count"], 2);
    assert_eq!(message["reactions"][0]["me"], true);

    // B may not remove A's reaction; A (owner) may remove B's.
    assert_error(
        &call(
            addr,
            "DELETE",
            &format!("{reactions}/{THUMBS}/{}", a.id),
            &b.token,
            None,
        ),
        403,
        50013,
    );
    assert_204(&call(
        addr,
        "DELETE",
        &format!("{reactions}/{THUMBS}/{}", b.id),
        &a.token,
        None,
    ));
    let removed = gateway_b.recv_named("MESSAGE_REACTION_REMOVE");
    assert_eq!(removed["d"]["user_id"], b.id);
    assert_eq!(removed["d"]["emoji"]["name"], "👍");
    assert_eq!(removed["d"]["type"], 0);
    assert_204(&call(
        addr,
        "DELETE",
        &format!("{reactions}/{THUMBS}/@me"),
        &a.token,
        None,
    ));
    let removed = gateway_b.recv_named("MESSAGE_REACTION_REMOVE");
    assert_eq!(removed["d"]["user_id"], a.id);

    // Remove one emoji, then all.
    assert_error(
        &call(
            addr,
            "DELETE",
            &format!("{reactions}/flux%3A42"),
            &b.token,
            None,
        ),
        403,
        50013,
    );
    assert_204(&call(
        addr,
        "DELETE",
        &format!("{reactions}/flux%3A42"),
        &a.token,
        None,
    ));
    let emoji = gateway_b.recv_named("MESSAGE_REACTION_REMOVE_EMOJI");
    assert_eq!(emoji["d"]["emoji"]["id"], "42");
    assert_204(&call(
        addr,
        "PUT",
        &format!("{reactions}/{THUMBS}/@me"),
        &b.token,
        None,
    ));
    gateway_b.recv_named("MESSAGE_REACTION_ADD");
    assert_error(
        &call(addr, "DELETE", &reactions, &b.token, None),
        403,
        50013,
    );
    assert_204(&call(addr, "DELETE", &reactions, &a.token, None));
    let all = gateway_b.recv_named("MESSAGE_REACTION_REMOVE_ALL");
    assert_eq!(all["d"]["message_id"], id);
    let message = call(
        addr,
        "GET",
        &format!("/api/v10/channels/{channel}/messages/{id}"),
        &b.token,
        None,
    )
    .json();
    assert_eq!(message["reactions"], json!([]));
}
both_backends!(reactions_reach_the_other_bot, reactions_reach_the_other_bot);

fn reaction_errors(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let channel = &boot.text_channel_id;
    let created = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{channel}/messages"),
        token,
        Some(&json!({"content": "x"})),
    );
    let id = created.json()["id"].as_str().unwrap().to_string();
    let reactions = format!("/api/v10/channels/{channel}/messages/{id}/reactions");
    assert_error(
        &call(
            addr,
            "PUT",
            &format!("{reactions}/thumbsup/@me"),
            token,
            None,
        ),
        400,
        10014,
    );
    assert_error(
        &call(addr, "PUT", &format!("{reactions}/%ZZ/@me"), token, None),
        400,
        10014,
    );
    assert_error(
        &call(
            addr,
            "PUT",
            &format!("/api/v10/channels/{channel}/messages/1/reactions/{THUMBS}/@me"),
            token,
            None,
        ),
        404,
        10008,
    );
    assert_error(
        &call(
            addr,
            "PUT",
            &format!("/api/v10/channels/1/messages/{id}/reactions/{THUMBS}/@me"),
            token,
            None,
        ),
        404,
        10003,
    );
}
both_backends!(reaction_errors, reaction_errors);

fn typing_reaches_the_other_bot(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (a, b) = (&boot.bots[0], &boot.bots[1]);
    let channel = &boot.text_channel_id;
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(&b.token, INTENTS_DEFAULT, 1);
    let typing = format!("/api/v10/channels/{channel}/typing");
    assert_204(&call(addr, "POST", &typing, &a.token, None));
    let start = gateway_b.recv_named("TYPING_START");
    assert_eq!(start["d"]["user_id"], a.id);
    assert_eq!(start["d"]["channel_id"], *channel);
    assert_eq!(start["d"]["guild_id"], boot.guild_id);
    assert!(
        start["d"]["timestamp"].is_u64(),
        "unix seconds as an integer: {start}"
    );
    let seconds = start["d"]["timestamp"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(seconds) < 60, "{seconds} vs {now}");
    assert_eq!(start["d"]["member"]["user"]["id"], a.id);
    assert_error(
        &call(addr, "POST", "/api/v10/channels/1/typing", &a.token, None),
        404,
        10003,
    );
    assert_error(&call(addr, "GET", &typing, &a.token, None), 405, 0);
}
both_backends!(typing_reaches_the_other_bot, typing_reaches_the_other_bot);

fn pins_are_listed_and_dispatched(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (a, b) = (&boot.bots[0], &boot.bots[1]);
    let channel = &boot.text_channel_id;
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(&b.token, INTENTS_DEFAULT, 1);
    let created = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{channel}/messages"),
        &a.token,
        Some(&json!({"content": "pin me"})),
    );
    let id = created.json()["id"].as_str().unwrap().to_string();
    let legacy = format!("/api/v10/channels/{channel}/pins");
    let current = format!("/api/v10/channels/{channel}/messages/pins");

    assert_error(
        &call(addr, "PUT", &format!("{current}/{id}"), &b.token, None),
        403,
        50013,
    );
    assert_error(
        &call(addr, "PUT", &format!("{current}/1"), &a.token, None),
        404,
        10008,
    );
    assert_204(&call(
        addr,
        "PUT",
        &format!("{current}/{id}"),
        &a.token,
        None,
    ));
    let update = gateway_b.recv_named("CHANNEL_PINS_UPDATE");
    assert_eq!(update["d"]["channel_id"], *channel);
    assert_eq!(update["d"]["guild_id"], boot.guild_id);
    assert!(update["d"]["last_pin_timestamp"].is_string(), "{update}");

    let listed = call(addr, "GET", &legacy, &b.token, None).json();
    assert_eq!(listed[0]["id"], id, "{listed}");
    assert_eq!(listed[0]["pinned"], true);
    let listed = call(addr, "GET", &current, &b.token, None).json();
    assert_eq!(listed["has_more"], false);
    assert_eq!(listed["items"][0]["message"]["id"], id, "{listed}");
    assert!(listed["items"][0]["pinned_at"].is_string());

    assert_204(&call(
        addr,
        "DELETE",
        &format!("{legacy}/{id}"),
        &a.token,
        None,
    ));
    let update = gateway_b.recv_named("CHANNEL_PINS_UPDATE");
    assert_eq!(update["d"]["last_pin_timestamp"], Value::Null);
    assert_eq!(call(addr, "GET", &legacy, &b.token, None).json(), json!([]));
    assert_eq!(
        call(addr, "GET", &current, &b.token, None).json()["items"],
        json!([])
    );
    let message = call(
        addr,
        "GET",
        &format!("/api/v10/channels/{channel}/messages/{id}"),
        &b.token,
        None,
    )
    .json();
    assert_eq!(message["pinned"], false);
}
both_backends!(
    pins_are_listed_and_dispatched,
    pins_are_listed_and_dispatched
);

/// Reactions share Discord's 1-per-250-ms bucket: a second add right after the first is
/// refused with 429 and the reaction bucket's headers.
fn reactions_are_rate_limited(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let channel = &boot.text_channel_id;
    let created = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{channel}/messages"),
        token,
        Some(&json!({"content": "x"})),
    );
    let id = created.json()["id"].as_str().unwrap().to_string();
    let reactions = format!("/api/v10/channels/{channel}/messages/{id}/reactions");
    let first = call(
        addr,
        "PUT",
        &format!("{reactions}/{THUMBS}/@me"),
        token,
        None,
    );
    assert_204(&first);
    assert_eq!(first.header("x-ratelimit-limit"), Some("1"), "{first:?}");
    let second = call(
        addr,
        "PUT",
        &format!("{reactions}/%E2%9D%A4/@me"),
        token,
        None,
    );
    assert_eq!(second.status, 429, "{second:?}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_204(&call(
        addr,
        "PUT",
        &format!("{reactions}/%E2%9D%A4/@me"),
        token,
        None,
    ));
}
both_backends!(reactions_are_rate_limited, reactions_are_rate_limited);

/// A session without GUILD_MESSAGE_REACTIONS and GUILD_MESSAGE_TYPING gets neither event:
/// the next of those three names it sees is the later MESSAGE_CREATE.
fn intents_gate_reactions_and_typing(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (a, b) = (&boot.bots[0], &boot.bots[1]);
    let channel = &boot.text_channel_id;
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(&b.token, INTENTS_DEFAULT & !((1 << 10) | (1 << 11)), 1);
    let messages = format!("/api/v10/channels/{channel}/messages");
    let created = call(
        addr,
        "POST",
        &messages,
        &a.token,
        Some(&json!({"content": "1"})),
    );
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(gateway_b.recv_named("MESSAGE_CREATE")["d"]["id"], id);
    assert_204(&call(
        addr,
        "PUT",
        &format!("{messages}/{id}/reactions/{THUMBS}/@me"),
        &a.token,
        None,
    ));
    assert_204(&call(
        addr,
        "POST",
        &format!("/api/v10/channels/{channel}/typing"),
        &a.token,
        None,
    ));
    let later = call(
        addr,
        "POST",
        &messages,
        &a.token,
        Some(&json!({"content": "2"})),
    );
    let later_id = later.json()["id"].clone();
    loop {
        let dispatch = gateway_b.recv_dispatch();
        let name = dispatch["t"].as_str().unwrap_or_default().to_string();
        assert!(
            name != "MESSAGE_REACTION_ADD" && name != "TYPING_START",
            "{dispatch}"
        );
        if name == "MESSAGE_CREATE" {
            assert_eq!(dispatch["d"]["id"], later_id);
            break;
        }
    }
}
both_backends!(
    intents_gate_reactions_and_typing,
    intents_gate_reactions_and_typing
);

/// A channel holds at most 250 pins: the 251st is 30003.
fn the_251st_pin_is_refused(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let channel = &boot.text_channel_id;
    let messages = format!("/api/v10/channels/{channel}/messages");
    let pin = |n: usize| {
        let created = call(
            addr,
            "POST",
            &messages,
            token,
            Some(&json!({ "content": n.to_string() })),
        );
        let id = created.json()["id"].as_str().unwrap().to_string();
        call(
            addr,
            "PUT",
            &format!("/api/v10/channels/{channel}/pins/{id}"),
            token,
            None,
        )
    };
    for n in 0..250 {
        assert_204(&pin(n));
    }
    assert_error(&pin(250), 400, 30003);
    let listed = call(
        addr,
        "GET",
        &format!("/api/v10/channels/{channel}/pins"),
        token,
        None,
    )
    .json();
    assert_eq!(listed.as_array().unwrap().len(), 250);
    assert_eq!(listed[0]["content"], "249", "newest pin first");
}
both_backends!(the_251st_pin_is_refused, the_251st_pin_is_refused);
