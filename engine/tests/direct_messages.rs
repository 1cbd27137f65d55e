//! Direct messages end to end on two cores: `POST /users/@me/channels` finds or creates
//! the one DM of a pair (on the pair's core, durable before the answer), messages in it
//! take the message path, and MESSAGE_CREATE reaches exactly the recipients' sessions
//! that asked for DIRECT_MESSAGES, with content (the MESSAGE_CONTENT intent does not
//! apply to DMs) and without `guild_id`. One IDENTIFY per bot and server: the identify
//! limit admits one per 5 s.

mod support;

use serde_json::json;
use support::gateway::{Gateway, INTENTS_DEFAULT};
use support::rest::call;
use support::{assert_error, start_flux};

const DIRECT_MESSAGES: u64 = 1 << 12;

fn open_dm(addr: std::net::SocketAddr, token: &str, recipient: &str) -> support::HttpResponse {
    call(
        addr,
        "POST",
        "/api/v10/users/@me/channels",
        token,
        Some(&json!({ "recipient_id": recipient })),
    )
}

fn a_dm_is_found_or_created_once_and_carries_messages(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let (id_a, id_b) = (&boot.bots[0].id, &boot.bots[1].id);

    // A is online before the DM exists: it is subscribed when the DM appears.
    let (mut gateway_a, _) = Gateway::connect(addr);
    gateway_a.identify_ready(token_a, INTENTS_DEFAULT, 1);

    let opened = open_dm(addr, token_a, id_b);
    assert_eq!(opened.status, 200, "{opened:?}");
    let channel = opened.json();
    assert_eq!(channel["type"], 1);
    assert_eq!(channel["recipients"][0]["id"], *id_b);
    let channel_id = channel["id"].as_str().unwrap().to_string();
    // Idempotent from either side, on any core.
    for (token, other) in [(token_a, id_b), (token_b, id_a), (token_a, id_b)] {
        let again = open_dm(addr, token, other);
        assert_eq!(again.status, 200);
        assert_eq!(again.json()["id"], channel_id);
        assert_eq!(again.json()["recipients"][0]["id"], *other);
    }
    let listed = call(addr, "GET", "/api/v10/users/@me/channels", token_b, None).json();
    assert_eq!(listed[0]["id"], channel_id);

    // B connects after the DM exists: it is subscribed from READY on.
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(token_b, INTENTS_DEFAULT, 1);
    let messages = format!("/api/v10/channels/{channel_id}/messages");
    let sent = call(
        addr,
        "POST",
        &messages,
        token_a,
        Some(&json!({"content": "psst"})),
    );
    assert_eq!(sent.status, 200, "{sent:?}");
    assert!(
        sent.json().get("guild_id").is_none(),
        "a DM message has no guild_id"
    );
    let seen = gateway_b.recv_named("MESSAGE_CREATE");
    assert_eq!(seen["d"]["id"], sent.json()["id"]);
    assert_eq!(
        seen["d"]["content"], "psst",
        "DM content needs no MESSAGE_CONTENT"
    );
    assert!(seen["d"].get("guild_id").is_none());
    // discord.js makes a DM it has not cached from `channel_type` (MessageCreate.js);
    // without it the message is dropped.
    assert_eq!(seen["d"]["channel_type"], 1);
    assert_eq!(
        gateway_a.recv_named("MESSAGE_CREATE")["d"]["content"],
        "psst"
    );

    let reply = call(
        addr,
        "POST",
        &messages,
        token_b,
        Some(&json!({"content": "hi A"})),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        gateway_a.recv_named("MESSAGE_CREATE")["d"]["content"],
        "hi A"
    );
    assert_eq!(
        gateway_b.recv_named("MESSAGE_CREATE")["d"]["content"],
        "hi A"
    );

    // Typing in a DM is DIRECT_MESSAGE_TYPING: B's default intents include it.
    let typing_path = format!("/api/v10/channels/{channel_id}/typing");
    assert_eq!(call(addr, "POST", &typing_path, token_a, None).status, 204);
    let typed = gateway_b.recv_named("TYPING_START");
    assert_eq!(typed["d"]["channel_id"], channel_id);
    assert!(typed["d"].get("guild_id").is_none());

    // History from both sides, newest first.
    for token in [token_a, token_b] {
        let history = call(addr, "GET", &messages, token, None).json();
        let contents: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        assert_eq!(contents, ["hi A", "psst"]);
    }

    assert_error(&open_dm(addr, token_a, "12345"), 404, 10013);
    assert_error(&open_dm(addr, token_a, "abc"), 400, 50035);
    let anonymous = call(addr, "GET", "/api/v10/users/@me/channels", "nope", None);
    assert_error(&anonymous, 401, 0);
}
both_backends!(
    dm_channels,
    a_dm_is_found_or_created_once_and_carries_messages
);

fn a_session_without_direct_messages_gets_no_dm_events(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(token_b, INTENTS_DEFAULT & !DIRECT_MESSAGES, 1);
    let opened = open_dm(addr, token_a, &boot.bots[1].id);
    let channel_id = opened.json()["id"].as_str().unwrap().to_string();
    let dm = format!("/api/v10/channels/{channel_id}/messages");
    let sent = call(addr, "POST", &dm, token_a, Some(&json!({"content": "x"})));
    assert_eq!(sent.status, 200);
    // The next MESSAGE_CREATE B sees is the guild message sent after the DM.
    let general = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    let guild_message = call(
        addr,
        "POST",
        &general,
        token_a,
        Some(&json!({"content": "y"})),
    );
    let next = gateway_b.recv_named("MESSAGE_CREATE");
    assert_eq!(next["d"]["id"], guild_message.json()["id"]);
    assert_eq!(next["d"]["channel_type"], 0, "a guild text channel");
}

/// A new DM is answered only once every core has it: the next request, the first message,
/// may reach the pair core from another core before the pair core took its own
/// `DmSync` (discord.js's `createDM` then `send` got 10003 Unknown Channel). Each round
/// opens a DM with a freshly registered user (who joins the bot's guild first: users with
/// no guild in common cannot message each other) and sends at once on the same
/// connection.
fn a_new_dm_takes_a_message_at_once(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token_a = &boot.bots[0].token;
    let invite = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{}/invites", boot.text_channel_id),
        token_a,
        Some(&json!({ "max_uses": 0 })),
    );
    let invite = format!(
        "/api/v10/invites/{}",
        invite.json()["code"].as_str().unwrap()
    );
    let mut rounds = 0;
    let mut index = 0;
    while rounds < 16 {
        index += 1;
        let body =
            json!({"username": format!("dm_racer_{index}"), "password": "correct horse battery"})
                .to_string();
        let mut http = support::HttpClient::new(addr);
        http.send(
            format!(
                "POST /api/v10/auth/register HTTP/1.1\r\nHost: flux\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        let registered = http.read_response().expect("a response");
        if registered.status == 429 {
            // Password hashing is budgeted per core and second.
            std::thread::sleep(std::time::Duration::from_millis(200));
            continue;
        }
        assert_eq!(registered.status, 201, "{registered:?}");
        let human = registered.json()["user"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let human_token = registered.json()["token"].as_str().unwrap().to_string();
        let joined = call(addr, "POST", &invite, &human_token, None);
        assert_eq!(joined.status, 200, "{joined:?}");
        let mut http = support::HttpClient::new(addr);
        let opened = support::rest::call_on(
            &mut http,
            "POST",
            "/api/v10/users/@me/channels",
            token_a,
            Some(&json!({ "recipient_id": human })),
        );
        assert_eq!(opened.status, 200, "{opened:?}");
        let channel_id = opened.json()["id"].as_str().unwrap().to_string();
        for mut client in [http, support::HttpClient::new(addr)] {
            let sent = support::rest::call_on(
                &mut client,
                "POST",
                &format!("/api/v10/channels/{channel_id}/messages"),
                token_a,
                Some(&json!({"content": "first"})),
            );
            assert_eq!(sent.status, 200, "round {rounds}: {sent:?}");
        }
        rounds += 1;
    }
}
both_backends!(new_dm_at_once, a_new_dm_takes_a_message_at_once);
both_backends!(
    no_dm_intent,
    a_session_without_direct_messages_gets_no_dm_events
);

/// Users with no guild in common cannot message each other (Discord's 50007): a bot may
/// open a DM with a stranger, but what it sends there is refused until they share a guild.
fn strangers_cannot_be_messaged(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let bot = &boot.bots[0].token;
    let (human_token, human) = support::rest::register(addr, "a_stranger");
    let opened = open_dm(addr, bot, &human);
    assert_eq!(opened.status, 200, "{opened:?}");
    let messages = format!(
        "/api/v10/channels/{}/messages",
        opened.json()["id"].as_str().unwrap()
    );
    let refused = call(
        addr,
        "POST",
        &messages,
        bot,
        Some(&json!({"content": "hello?"})),
    );
    assert_error(&refused, 403, 50007);
    let refused = call(
        addr,
        "POST",
        &messages,
        &human_token,
        Some(&json!({"content": "hi"})),
    );
    assert_error(&refused, 403, 50007);
    // Once the stranger joins the bot's guild, the same DM carries messages.
    let invite = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{}/invites", boot.text_channel_id),
        bot,
        Some(&json!({})),
    );
    let code = invite.json()["code"].as_str().unwrap().to_string();
    let joined = call(
        addr,
        "POST",
        &format!("/api/v10/invites/{code}"),
        &human_token,
        None,
    );
    assert_eq!(joined.status, 200, "{joined:?}");
    let sent = call(
        addr,
        "POST",
        &messages,
        bot,
        Some(&json!({"content": "welcome"})),
    );
    assert_eq!(sent.status, 200, "{sent:?}");
}
both_backends!(strangers, strangers_cannot_be_messaged);
