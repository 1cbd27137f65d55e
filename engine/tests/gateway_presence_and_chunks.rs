//! Gateway op 3 (Presence Update → PRESENCE_UPDATE) and op 8 (Request Guild Members →
//! GUILD_MEMBERS_CHUNK) against the real Flux application, once per I/O backend.
//!
//! - op 8 by query (case-insensitive username prefix, limit), by user ids (`not_found`),
//!   with the nonce echoed and `chunk_index + 1 == chunk_count` as discord.py waits for,
//!   guild_id sent as a JSON number; the whole list refused without GUILD_MEMBERS (no
//!   chunk, as on Discord) while other requests are still answered.
//! - Presence with the two sessions on different cores (the test moves one with Resume
//!   until they are): GUILD_CREATE `presences` lists a member who is online, op 3 reaches
//!   the other bot (GUILD_PRESENCES) as PRESENCE_UPDATE, never a bot without that
//!   intent; a resumable disconnect keeps the user online, a close with 1000 makes the
//!   user offline, and so does a Resume the server refuses for good (4007).
//!
//! The demo world has two bots, and each may identify once per 5 s, so each test
//! identifies each bot at most once.

mod support;

use serde_json::{json, Value};
use support::gateway::{inject_dispatch, metrics, Gateway, INTENTS_DEFAULT};
use support::{start_flux, Received};

const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_PRESENCES: u64 = 1 << 8;

/// The next GUILD_MEMBERS_CHUNK with this nonce, asserting no other chunk comes first.
fn chunk(gateway: &mut Gateway, nonce: &str) -> Value {
    let chunk = gateway.recv_named("GUILD_MEMBERS_CHUNK");
    assert_eq!(chunk["d"]["nonce"], nonce, "{chunk}");
    chunk["d"].clone()
}

fn usernames(d: &Value) -> Vec<String> {
    let mut names: Vec<String> = d["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn member_requests_are_answered_in_chunks(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let guild_number: u64 = boot.guild_id.parse().unwrap();
    let (a, b) = (&boot.bots[0], &boot.bots[1]);

    let (mut members, _) = Gateway::connect(addr);
    members.identify_ready(&b.token, INTENTS_DEFAULT | GUILD_MEMBERS, 1);
    // discord.py's startup chunking request, guild_id as a JSON number.
    members.send(&json!({"op": 8, "d": {
        "guild_id": guild_number, "presences": false, "limit": 0, "query": "",
        "nonce": "0f3a"}}));
    let d = chunk(&mut members, "0f3a");
    assert_eq!(d["guild_id"], boot.guild_id);
    assert_eq!(
        (d["chunk_index"].as_u64(), d["chunk_count"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(usernames(&d), vec![a.username.clone(), b.username.clone()]);
    for member in d["members"].as_array().unwrap() {
        assert!(
            member["roles"].is_array() && member["flags"].is_u64(),
            "{member}"
        );
        assert!(member["joined_at"].is_string(), "{member}");
    }
    assert_eq!(d["not_found"], json!([]));
    assert!(d.get("presences").is_none(), "not asked for");

    // A prefix in another case, with and without a limit.
    members.send(&json!({"op": 8, "d": {
        "guild_id": boot.guild_id, "query": b.username.to_uppercase(), "limit": 0,
        "nonce": "prefix"}}));
    assert_eq!(
        usernames(&chunk(&mut members, "prefix")),
        vec![b.username.clone()]
    );
    let common: String = a.username.chars().take(4).collect();
    members.send(&json!({"op": 8, "d": {
        "guild_id": boot.guild_id, "query": common, "limit": 1, "nonce": "limit"}}));
    assert_eq!(usernames(&chunk(&mut members, "limit")).len(), 1);
    members.send(&json!({"op": 8, "d": {
        "guild_id": boot.guild_id, "query": "no-such-user", "limit": 10, "nonce": "none"}}));
    let none = chunk(&mut members, "none");
    assert_eq!(none["members"], json!([]));
    assert_eq!(none["chunk_count"], 1, "an empty answer is still one chunk");

    // By user ids: the unknown one comes back in not_found.
    members.send(&json!({"op": 8, "d": {
        "guild_id": boot.guild_id, "user_ids": [a.id, "12345"], "nonce": "ids"}}));
    let ids = chunk(&mut members, "ids");
    assert_eq!(usernames(&ids), vec![a.username.clone()]);
    assert_eq!(ids["not_found"], json!(["12345"]));

    // Without GUILD_MEMBERS, the whole list gets no answer (as on Discord), an unknown
    // guild neither, and a request by id still does: the first chunk is the last one's.
    let (mut plain, _) = Gateway::connect(addr);
    plain.identify_ready(&a.token, INTENTS_DEFAULT, 1);
    plain.send(&json!({"op": 8, "d": {
        "guild_id": guild_number, "query": "", "limit": 0, "nonce": "refused"}}));
    plain.send(&json!({"op": 8, "d": {
        "guild_id": "12345", "user_ids": [b.id], "nonce": "unknown-guild"}}));
    plain.send(&json!({"op": 8, "d": {
        "guild_id": guild_number, "user_ids": b.id, "nonce": "after"}}));
    let after = chunk(&mut plain, "after");
    assert_eq!(usernames(&after), vec![b.username.clone()]);
    plain.send(&json!({"op": 1, "d": null}));
    assert_eq!(plain.recv_json()["op"], 11, "the connection stays open");
}
both_backends!(
    member_requests_are_answered_in_chunks,
    member_requests_are_answered_in_chunks
);

/// The core a session id names (its first four hex digits).
fn core_of(session_id: &str) -> u64 {
    u64::from_str_radix(&session_id[..4], 16).unwrap()
}

fn presence_reaches_members_with_the_intent_across_cores(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.cores = Some(2));
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (a, b) = (&boot.bots[0], &boot.bots[1]);

    // A (no GUILD_PRESENCES) comes online and goes idle before B connects.
    let (mut gateway_a, _) = Gateway::connect(addr);
    let ready_a = gateway_a.identify_ready(&a.token, INTENTS_DEFAULT, 1);
    let session_a = ready_a["d"]["session_id"].as_str().unwrap().to_string();
    let mut seq_a = 2;
    gateway_a.send(&json!({"op": 3, "d": {
        "since": null, "activities": [{"name": "chess", "type": 0}], "status": "idle",
        "afk": false}}));
    let mut marker = 0;
    // The change goes A's core → A's home core → every core over the mesh, in
    // microseconds; give it ample time before B's GUILD_CREATE is built.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify(&b.token, INTENTS_DEFAULT | GUILD_PRESENCES);
    let ready = gateway_b.recv_named("READY");
    let core_b = core_of(ready["d"]["session_id"].as_str().unwrap());
    let guild_create = gateway_b.recv_named("GUILD_CREATE");
    let presences = guild_create["d"]["presences"].as_array().unwrap().clone();
    let of_a: Vec<&Value> = presences
        .iter()
        .filter(|p| p["user"]["id"] == a.id.as_str())
        .collect();
    assert_eq!(of_a.len(), 1, "A is online: {presences:?}");
    assert_eq!(of_a[0]["status"], "idle");
    assert_eq!(of_a[0]["activities"][0]["name"], "chess");
    assert_eq!(of_a[0]["client_status"], json!({"web": "idle"}));

    // Move A (by Resume, which the identify limit does not count) until A and B are on
    // different cores. A resume that moved the session bumps gateway_resume_remote_total.
    let mut core_a = core_of(&session_a);
    let mut moves = metrics(addr)["gateway_resume_remote_total"]
        .as_u64()
        .unwrap();
    for _ in 0..32 {
        if core_a != core_b {
            break;
        }
        gateway_a.ws.send_close(4000);
        while !matches!(gateway_a.ws.recv(), Received::Close(..) | Received::Eof) {}
        let (mut next, _) = Gateway::connect(addr);
        next.resume(&a.token, &session_a, seq_a);
        let resumed = next.recv_named("RESUMED");
        seq_a = resumed["s"].as_u64().unwrap();
        gateway_a = next;
        let now = metrics(addr)["gateway_resume_remote_total"]
            .as_u64()
            .unwrap();
        if now > moves {
            core_a = 1 - core_a;
            moves = now;
        }
    }
    assert_ne!(
        core_a, core_b,
        "A never landed on the other core in 32 resumes"
    );

    // Each resumable disconnect above kept A online: B saw no offline for A.
    marker += 1;
    inject_dispatch(
        addr,
        &boot.guild_id,
        "FLUX_TEST",
        &json!({"marker": marker}),
    );
    let before = gateway_b.until_marker(marker);
    assert!(
        !before
            .iter()
            .any(|d| d["t"] == "PRESENCE_UPDATE" && d["d"]["status"] == "offline"),
        "{before:?}"
    );

    // A changes presence on its core; B, on the other core, receives it.
    gateway_a.send(&json!({"op": 3, "d": {
        "since": 1_700_000_000_000u64, "activities": [{"name": "go", "type": 0}],
        "status": "dnd", "afk": true}}));
    let update = loop {
        let update = gateway_b.recv_named("PRESENCE_UPDATE");
        if update["d"]["user"]["id"] == a.id.as_str() {
            break update;
        }
    };
    let d = &update["d"];
    assert_eq!(d["guild_id"], boot.guild_id);
    assert_eq!(d["status"], "dnd");
    assert_eq!(d["activities"][0]["name"], "go");
    assert!(d["activities"][0]["created_at"].is_u64());
    assert_eq!(d["client_status"], json!({"web": "dnd"}));

    // The member chunk carries A's presence when B asks for presences.
    gateway_b.send(&json!({"op": 8, "d": {
        "guild_id": boot.guild_id, "user_ids": [a.id], "presences": true, "nonce": "p"}}));
    let members = chunk(&mut gateway_b, "p");
    assert_eq!(members["presences"][0]["user"]["id"], a.id.as_str());
    assert_eq!(members["presences"][0]["status"], "dnd");

    // B's own changes do not reach A, whose session lacks GUILD_PRESENCES.
    gateway_b.send(&json!({"op": 3, "d": {
        "since": null, "activities": [], "status": "idle", "afk": false}}));
    loop {
        let own = gateway_b.recv_named("PRESENCE_UPDATE");
        if own["d"]["user"]["id"] == b.id.as_str() && own["d"]["status"] == "idle" {
            break; // Delivered everywhere by now: A's core sent it to its own sessions too.
        }
    }
    marker += 1;
    inject_dispatch(
        addr,
        &boot.guild_id,
        "FLUX_TEST",
        &json!({"marker": marker}),
    );
    let seen_by_a = gateway_a.until_marker(marker);
    assert!(
        seen_by_a.iter().all(|d| d["t"] != "PRESENCE_UPDATE"),
        "{seen_by_a:?}"
    );

    // A closes for good: B sees A offline, with no activities.
    gateway_a.ws.send_close(1000);
    let offline = loop {
        let update = gateway_b.recv_named("PRESENCE_UPDATE");
        if update["d"]["user"]["id"] == a.id.as_str() {
            break update;
        }
    };
    assert_eq!(offline["d"]["status"], "offline");
    assert_eq!(offline["d"]["activities"], json!([]));
    assert_eq!(offline["d"]["client_status"], json!({}));
}
both_backends!(
    presence_reaches_members_with_the_intent_across_cores,
    presence_reaches_members_with_the_intent_across_cores
);

/// A session that detached keeps its user online; when a Resume of it fails for good
/// (seq ahead of the ring: 4007, the state is dropped) the user goes offline.
fn a_refused_resume_takes_the_user_offline(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (a, b) = (&boot.bots[0], &boot.bots[1]);
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(&b.token, INTENTS_DEFAULT | GUILD_PRESENCES, 1);
    let (mut gateway_a, _) = Gateway::connect(addr);
    let ready_a = gateway_a.identify_ready(&a.token, INTENTS_DEFAULT, 1);
    let session_a = ready_a["d"]["session_id"].as_str().unwrap().to_string();
    let online = loop {
        let update = gateway_b.recv_named("PRESENCE_UPDATE");
        if update["d"]["user"]["id"] == a.id.as_str() {
            break update;
        }
    };
    assert_eq!(
        online["d"]["status"], "online",
        "no Identify presence: online"
    );

    gateway_a.ws.send_close(4000);
    while !matches!(gateway_a.ws.recv(), Received::Close(..) | Received::Eof) {}
    inject_dispatch(addr, &boot.guild_id, "FLUX_TEST", &json!({"marker": 1}));
    let meanwhile = gateway_b.until_marker(1);
    assert!(
        meanwhile.iter().all(|d| d["t"] != "PRESENCE_UPDATE"),
        "detached, still online: {meanwhile:?}"
    );

    let (mut again, _) = Gateway::connect(addr);
    again.resume(&a.token, &session_a, 9999);
    assert_eq!(again.expect_close(), 4007);
    let offline = loop {
        let update = gateway_b.recv_named("PRESENCE_UPDATE");
        if update["d"]["user"]["id"] == a.id.as_str() {
            break update;
        }
    };
    assert_eq!(offline["d"]["status"], "offline");
}
both_backends!(
    a_refused_resume_takes_the_user_offline,
    a_refused_resume_takes_the_user_offline
);
