//! The message path end to end over real sockets, on two cores: REST create / get /
//! history / edit / delete answered by the channel's owner core after the write is
//! durable, and MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE on the other bot's
//! gateway session, with content only where the MESSAGE_CONTENT rules allow it.
//! Requests go over fresh connections, which land on either core, so both the owner and
//! the forwarding path are exercised. Every test runs once per I/O backend.

mod support;

use std::collections::HashSet;

use serde_json::json;
use support::gateway::{drop_gateway_connections, metrics, Gateway, INTENTS_DEFAULT};
use support::rest::{call, call_on};
use support::{assert_error, start_flux, HttpClient};

const MESSAGE_CONTENT: u64 = 1 << 15;

fn create_edit_delete_reach_the_other_bot(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let channel = &boot.text_channel_id;
    let messages = format!("/api/v10/channels/{channel}/messages");

    // A reads content (privileged intent); B does not.
    let (mut gateway_a, _) = Gateway::connect(addr);
    gateway_a.identify_ready(token_a, INTENTS_DEFAULT | MESSAGE_CONTENT, 1);
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(token_b, INTENTS_DEFAULT, 1);

    let created = call(
        addr,
        "POST",
        &messages,
        token_a,
        Some(&json!({"content": "hello from A"})),
    );
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.header("content-type"), Some("application/json"));
    let message = created.json();
    assert_eq!(message["content"], "hello from A");
    assert_eq!(message["channel_id"], *channel);
    assert_eq!(message["author"]["id"], boot.bots[0].id);
    let id = message["id"].as_str().unwrap().to_string();

    let seen_by_b = gateway_b.recv_named("MESSAGE_CREATE");
    assert_eq!(seen_by_b["d"]["id"], id);
    assert_eq!(seen_by_b["d"]["guild_id"], boot.guild_id);
    assert_eq!(seen_by_b["d"]["content"], "", "B lacks MESSAGE_CONTENT");
    let seen_by_a = gateway_a.recv_named("MESSAGE_CREATE");
    assert_eq!(
        seen_by_a["d"]["content"], "hello from A",
        "the author sees it"
    );

    let from_b = call(
        addr,
        "POST",
        &messages,
        token_b,
        Some(&json!({"content": "hi from B"})),
    );
    assert_eq!(from_b.status, 200, "{from_b:?}");
    assert_eq!(
        gateway_a.recv_named("MESSAGE_CREATE")["d"]["content"],
        "hi from B"
    );
    assert_eq!(
        gateway_b.recv_named("MESSAGE_CREATE")["d"]["content"],
        "hi from B",
        "B sees its own message's content"
    );

    // A mention shows the content to the mentioned bot without MESSAGE_CONTENT.
    let mention = format!("hey <@{}>", boot.bots[1].id);
    let mentioned = call(
        addr,
        "POST",
        &messages,
        token_a,
        Some(&json!({ "content": mention })),
    );
    assert_eq!(mentioned.status, 200, "{mentioned:?}");
    assert_eq!(mentioned.json()["mentions"][0]["id"], boot.bots[1].id);
    let seen = gateway_b.recv_named("MESSAGE_CREATE");
    assert_eq!(seen["d"]["content"], mention, "the mentioned user sees it");
    gateway_a.recv_named("MESSAGE_CREATE");

    // GET from fresh connections, until one has landed on the core that does not own
    // the guild and was forwarded (connections spread over both cores).
    let mut tries = 0;
    while metrics(addr)["rest_message_forwarded_total"] == 0 {
        let got = call(addr, "GET", &format!("{messages}/{id}"), token_b, None);
        assert_eq!(got.status, 200, "{got:?}");
        assert_eq!(got.json()["content"], "hello from A");
        tries += 1;
        assert!(tries < 200, "no request ever reached the non-owner core");
    }

    // Edit: only the author.
    let edit_path = format!("{messages}/{id}");
    let denied = call(
        addr,
        "PATCH",
        &edit_path,
        token_b,
        Some(&json!({"content": "x"})),
    );
    assert_error(&denied, 403, 50005);
    let edited = call(
        addr,
        "PATCH",
        &edit_path,
        token_a,
        Some(&json!({"content": "edited"})),
    );
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(edited.json()["content"], "edited");
    assert!(edited.json()["edited_timestamp"].is_string());
    let update = gateway_b.recv_named("MESSAGE_UPDATE");
    assert_eq!(update["d"]["id"], id);
    let update_a = gateway_a.recv_named("MESSAGE_UPDATE");
    assert_eq!(update_a["d"]["content"], "edited");

    // Delete, then it is gone.
    let deleted = call(addr, "DELETE", &edit_path, token_a, None);
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(
        deleted.header("content-type"),
        None,
        "no body, no Content-Type"
    );
    assert!(deleted.body.is_empty());
    let delete = gateway_b.recv_named("MESSAGE_DELETE");
    assert_eq!(
        delete["d"],
        json!({"id": id, "channel_id": channel, "guild_id": boot.guild_id})
    );
    assert_error(&call(addr, "GET", &edit_path, token_a, None), 404, 10008);
    assert_error(&call(addr, "DELETE", &edit_path, token_a, None), 404, 10008);

    // Nonce dedupe.
    let body = json!({"content": "once", "nonce": "n-1", "enforce_nonce": true});
    let first = call(addr, "POST", &messages, token_a, Some(&body)).json();
    let second = call(addr, "POST", &messages, token_a, Some(&body)).json();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["nonce"], "n-1");
    // Writes acknowledged: three creates, the edit, the delete, the first nonce create.
    assert_eq!(metrics(addr)["message_writes_durable_total"], 6);
}
both_backends!(
    create_edit_delete_reach_the_other_bot,
    create_edit_delete_reach_the_other_bot
);

fn errors_are_discord_errors(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);

    let unknown = call(
        addr,
        "POST",
        "/api/v10/channels/12345/messages",
        token,
        Some(&json!({"content": "x"})),
    );
    assert_error(&unknown, 404, 10003);
    assert_error(
        &call(
            addr,
            "POST",
            &messages,
            token,
            Some(&json!({"content": ""})),
        ),
        400,
        50006,
    );
    let long = call(
        addr,
        "POST",
        &messages,
        token,
        Some(&json!({"content": "x".repeat(2001)})),
    );
    assert_error(&long, 400, 50035);
    assert_eq!(
        long.json()["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    assert_error(
        &call(
            addr,
            "POST",
            &messages,
            "nope",
            Some(&json!({"content": "x"})),
        ),
        401,
        0,
    );
    assert_error(
        &call(addr, "GET", &format!("{messages}?limit=101"), token, None),
        400,
        50035,
    );
    assert_error(
        &call(addr, "GET", &format!("{messages}/1"), token, None),
        404,
        10008,
    );
}
both_backends!(errors_are_discord_errors, errors_are_discord_errors);

fn history_pages_without_gaps(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    let mut http = HttpClient::new(addr);
    let mut sent = Vec::new();
    for n in 0..250 {
        let created = call_on(
            &mut http,
            "POST",
            &messages,
            token,
            Some(&json!({"content": format!("m{n}")})),
        );
        assert_eq!(created.status, 200, "{created:?}");
        sent.push(
            created.json()["id"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
    }
    assert!(
        sent.windows(2).all(|pair| pair[0] < pair[1]),
        "ids increase"
    );

    // Backwards, as discord.py pages: before = the last element.
    let mut backwards = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let path = match before {
            Some(id) => format!("{messages}?limit=100&before={id}"),
            None => format!("{messages}?limit=100"),
        };
        let page = call_on(&mut http, "GET", &path, token, None).json();
        let ids: Vec<u64> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().parse().unwrap())
            .collect();
        if ids.is_empty() {
            break;
        }
        assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "newest first");
        before = ids.last().copied();
        backwards.extend(ids);
    }
    backwards.reverse();
    assert_eq!(backwards, sent);

    // Forwards from after=0: data[0] is the next anchor.
    let mut forwards = Vec::new();
    let mut after = 0u64;
    loop {
        let page = call_on(
            &mut http,
            "GET",
            &format!("{messages}?limit=100&after={after}"),
            token,
            None,
        )
        .json();
        let mut ids: Vec<u64> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().parse().unwrap())
            .collect();
        if ids.is_empty() {
            break;
        }
        after = ids[0];
        ids.reverse();
        forwards.extend(ids);
    }
    assert_eq!(forwards, sent);
    assert_eq!(forwards.iter().collect::<HashSet<_>>().len(), 250);
}
both_backends!(history_pages_without_gaps, history_pages_without_gaps);

/// The POST bucket (5 per 5 s per channel per user) holds across cores: the calls are
/// counted on the user's home core whichever core the connection landed on.
fn message_rate_limit_holds_across_cores(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[1].token;
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    let mut statuses = Vec::new();
    // Keep going until at least one request was forwarded from the non-owner core, so
    // both cores have served requests of this bucket.
    let mut n = 0;
    while n < 8 || metrics(addr)["rest_message_forwarded_total"] == 0 {
        assert!(n < 200, "no request ever reached the non-owner core");
        // A fresh connection each time: they spread over both cores.
        let response = call(
            addr,
            "POST",
            &messages,
            token,
            Some(&json!({"content": format!("r{n}")})),
        );
        if response.status == 200 {
            assert_eq!(response.header("x-ratelimit-limit"), Some("5"));
        } else {
            assert_eq!(response.status, 429, "{response:?}");
            assert_eq!(response.json()["global"], false);
            assert!(response.header("retry-after").is_some());
        }
        statuses.push(response.status);
        n += 1;
    }
    assert_eq!(statuses[..5], [200; 5]);
    assert!(
        statuses[5..].iter().all(|&status| status == 429),
        "{statuses:?}"
    );
}
both_backends!(
    message_rate_limit_holds_across_cores,
    message_rate_limit_holds_across_cores
);

/// A session that is detached when a message is created finds it in its replay on Resume.
fn detached_session_replays_message_create(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token_b = &boot.bots[1].token;
    let messages = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    let (mut gateway, _) = Gateway::connect(addr);
    let ready = gateway.identify_ready(token_b, INTENTS_DEFAULT | MESSAGE_CONTENT, 1);
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_string();
    assert_eq!(drop_gateway_connections(addr), 1);

    let created = call(
        addr,
        "POST",
        &messages,
        &boot.bots[0].token,
        Some(&json!({"content": "while you were away"})),
    );
    assert_eq!(created.status, 200, "{created:?}");

    let (mut gateway, _) = Gateway::connect(addr);
    gateway.resume(token_b, &session_id, 2);
    let replayed = gateway.recv_named("MESSAGE_CREATE");
    assert_eq!(replayed["d"]["content"], "while you were away");
    assert_eq!(replayed["d"]["id"], created.json()["id"]);
    assert_eq!(gateway.recv_named("RESUMED")["t"], "RESUMED");
}
both_backends!(
    detached_session_replays_message_create,
    detached_session_replays_message_create
);
