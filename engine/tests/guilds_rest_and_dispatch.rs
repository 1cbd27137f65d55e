//! Guild state end to end over real sockets on two cores: routes that read or change a
//! guild are answered by its owner core (after the change is durable), every core's
//! replica follows, and the dispatches reach exactly the sessions allowed to see them.
//! Requests go over fresh connections, which land on either core, so both the owner
//! and the forwarding path are exercised. Every test runs once per I/O backend.
//!
//! One IDENTIFY per user and server where possible: the identify limit admits one per
//! user per 5 s (Discord's max_concurrency 1).

mod support;

use serde_json::{json, Value};
use support::gateway::{Gateway, INTENTS_DEFAULT};
use support::rest::{call, register};
use support::{assert_error, start_flux, HttpResponse};

use std::net::SocketAddr;

const GUILD_MEMBERS: u64 = 1 << 1;
const MESSAGE_CONTENT: u64 = 1 << 15;
const VIEW_CHANNEL: u64 = 1 << 10;

/// Dispatches up to and including the first one named `name`.
fn until(gateway: &mut Gateway, name: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let dispatch = gateway.recv_dispatch();
        let done = dispatch["t"] == name;
        seen.push(dispatch);
        if done {
            return seen;
        }
    }
}

fn send(addr: SocketAddr, token: &str, channel: &str, content: &str) -> HttpResponse {
    let path = format!("/api/v10/channels/{channel}/messages");
    call(
        addr,
        "POST",
        &path,
        token,
        Some(&json!({ "content": content })),
    )
}

fn current_user_guilds_lists_the_demo_guild_with_the_callers_view(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    for _ in 0..4 {
        let owner = call(addr, "GET", "/api/v10/users/@me/guilds", token_a, None);
        assert_eq!(owner.status, 200, "{owner:?}");
        assert_eq!(owner.header("content-type"), Some("application/json"));
        let guilds = owner.json();
        assert_eq!(guilds.as_array().unwrap().len(), 1);
        assert_eq!(guilds[0]["id"], boot.guild_id);
        assert_eq!(guilds[0]["name"], "Flux");
        assert_eq!(guilds[0]["owner"], true);
        let bits: u64 = guilds[0]["permissions"].as_str().unwrap().parse().unwrap();
        assert_ne!(bits & 0x8, 0, "ADMINISTRATOR is among the owner's bits");
    }
    let member = call(addr, "GET", "/api/v10/users/@me/guilds", token_b, None).json();
    assert_eq!(member[0]["owner"], false);
    let bits: u64 = member[0]["permissions"].as_str().unwrap().parse().unwrap();
    assert_eq!(bits & 0x8, 0, "B is no administrator");
    assert_ne!(
        bits & VIEW_CHANNEL,
        0,
        "B may view channels (@everyone default)"
    );

    let anonymous = call(
        addr,
        "GET",
        "/api/v10/users/@me/guilds",
        "not-a-token",
        None,
    );
    assert_error(&anonymous, 401, 0);
}
both_backends!(
    current_user_guilds,
    current_user_guilds_lists_the_demo_guild_with_the_callers_view
);

/// Guild and channel changes: who may make them, what everyone sees, and a private
/// channel whose events reach only those who can view it, before and after an
/// overwrite lets a member in.
fn guild_and_channel_changes_reach_exactly_their_audience(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let guild = &boot.guild_id;
    let (mut gateway_a, _) = Gateway::connect(addr);
    gateway_a.identify_ready(token_a, INTENTS_DEFAULT | MESSAGE_CONTENT, 1);
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(token_b, INTENTS_DEFAULT | MESSAGE_CONTENT, 1);

    // Only the owner (MANAGE_GUILD) renames the guild; everyone sees GUILD_UPDATE.
    let path = format!("/api/v10/guilds/{guild}");
    let refused = call(
        addr,
        "PATCH",
        &path,
        token_b,
        Some(&json!({"name": "Mine"})),
    );
    assert_error(&refused, 403, 50013);
    let renamed = call(
        addr,
        "PATCH",
        &path,
        token_a,
        Some(&json!({"name": "Flux 2"})),
    );
    assert_eq!(renamed.status, 200, "{renamed:?}");
    assert_eq!(renamed.json()["name"], "Flux 2");
    for gateway in [&mut gateway_a, &mut gateway_b] {
        let update = gateway.recv_named("GUILD_UPDATE");
        assert_eq!(update["d"]["name"], "Flux 2");
        assert_eq!(update["d"]["id"], *guild);
    }
    // Every core reads the write at once (fresh connections land on either core).
    for _ in 0..4 {
        assert_eq!(
            call(addr, "GET", &path, token_b, None).json()["name"],
            "Flux 2"
        );
    }
    let too_short = call(addr, "PATCH", &path, token_a, Some(&json!({"name": "x"})));
    assert_error(&too_short, 400, 50035);
    assert!(
        too_short.json()["errors"]["name"].is_object(),
        "{:?}",
        too_short.json()
    );

    // A public channel: CHANNEL_CREATE for both.
    let channels = format!("/api/v10/guilds/{guild}/channels");
    let public = call(
        addr,
        "POST",
        &channels,
        token_a,
        Some(&json!({"name": "news"})),
    );
    assert_eq!(public.status, 201, "{public:?}");
    let public_id = public.json()["id"].as_str().unwrap().to_string();
    for gateway in [&mut gateway_a, &mut gateway_b] {
        let created = gateway.recv_named("CHANNEL_CREATE");
        assert_eq!(created["d"]["id"], public_id);
        assert_eq!(created["d"]["guild_id"], *guild);
    }
    let refused = call(
        addr,
        "POST",
        &channels,
        token_b,
        Some(&json!({"name": "mine"})),
    );
    assert_error(&refused, 403, 50013);
    // Messages work in the new channel at once, on every core.
    let hello = send(addr, token_a, &public_id, "first in news");
    assert_eq!(hello.status, 200, "{hello:?}");
    assert_eq!(
        gateway_b.recv_named("MESSAGE_CREATE")["d"]["content"],
        "first in news"
    );

    // A private channel (@everyone denied VIEW_CHANNEL): only A hears of it.
    let private = call(
        addr,
        "POST",
        &channels,
        token_a,
        Some(&json!({
            "name": "secret",
            "permission_overwrites": [
                {"id": guild, "type": 0, "allow": "0", "deny": VIEW_CHANNEL.to_string()}
            ]
        })),
    );
    assert_eq!(private.status, 201, "{private:?}");
    let private_id = private.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        gateway_a.recv_named("CHANNEL_CREATE")["d"]["id"],
        private_id
    );
    let secret = send(addr, token_a, &private_id, "hidden");
    assert_eq!(secret.status, 200);
    assert_eq!(
        gateway_a.recv_named("MESSAGE_CREATE")["d"]["content"],
        "hidden"
    );
    assert_error(&send(addr, token_b, &private_id, "let me in"), 403, 50001);
    // B saw neither: the next things B sees are the sentinel's.
    let sentinel = send(addr, token_a, &public_id, "sentinel 1");
    let seen = until(&mut gateway_b, "MESSAGE_CREATE");
    assert_eq!(
        seen.last().unwrap()["d"]["id"],
        sentinel.json()["id"],
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|d| d["d"]["id"] != private_id),
        "B heard of the private channel: {seen:?}"
    );

    // A member overwrite lets B in: B gets CHANNEL_CREATE (it never had the channel, and
    // discord.py drops a CHANNEL_UPDATE for an unknown channel), then its messages.
    let overwrite = format!(
        "/api/v10/channels/{private_id}/permissions/{}",
        boot.bots[1].id
    );
    let put = call(
        addr,
        "PUT",
        &overwrite,
        token_a,
        Some(&json!({"type": 1, "allow": VIEW_CHANNEL.to_string(), "deny": "0"})),
    );
    assert_eq!(put.status, 204, "{put:?}");
    let shown = gateway_b.recv_named("CHANNEL_CREATE");
    assert_eq!(shown["d"]["id"], private_id);
    assert_eq!(
        shown["d"]["permission_overwrites"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A, who could view it already, gets the CHANNEL_UPDATE.
    assert_eq!(
        gateway_a.recv_named("CHANNEL_UPDATE")["d"]["id"],
        private_id
    );
    let welcome = send(addr, token_a, &private_id, "welcome B");
    assert_eq!(welcome.status, 200);
    assert_eq!(
        gateway_b.recv_named("MESSAGE_CREATE")["d"]["content"],
        "welcome B"
    );

    // Deleting a channel answers the channel and tells who could see it.
    let delete = call(
        addr,
        "DELETE",
        &format!("/api/v10/channels/{public_id}"),
        token_a,
        None,
    );
    assert_eq!(delete.status, 200, "{delete:?}");
    assert_eq!(delete.json()["id"], public_id);
    assert_eq!(gateway_b.recv_named("CHANNEL_DELETE")["d"]["id"], public_id);
    assert_error(&send(addr, token_a, &public_id, "gone"), 404, 10003);
    let unknown = call(addr, "GET", "/api/v10/guilds/12345", token_a, None);
    assert_error(&unknown, 404, 10004);
}
both_backends!(
    guild_and_channel_changes,
    guild_and_channel_changes_reach_exactly_their_audience
);

/// Roles, members, invites, bans and joining: a registered user joins through an invite
/// (their session gets GUILD_CREATE, members get GUILD_MEMBER_ADD), gets a role, is
/// kicked (GUILD_DELETE), rejoins, is banned and cannot rejoin.
fn members_join_get_roles_and_leave_through_invites_kicks_and_bans(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token_a = &boot.bots[0].token;
    let guild = &boot.guild_id;
    let (mut gateway_a, _) = Gateway::connect(addr);
    gateway_a.identify_ready(token_a, INTENTS_DEFAULT | GUILD_MEMBERS, 1);
    let (token_h, id_h) = register(addr, "human_one");
    let (mut gateway_h, _) = Gateway::connect(addr);
    let ready = gateway_h.identify_ready(&token_h, INTENTS_DEFAULT, 0);
    assert_eq!(ready["d"]["guilds"].as_array().unwrap().len(), 0);

    // A role, created by the owner.
    let roles = format!("/api/v10/guilds/{guild}/roles");
    let role = call(
        addr,
        "POST",
        &roles,
        token_a,
        Some(&json!({"name": "helpers", "permissions": "0", "hoist": true})),
    );
    assert_eq!(role.status, 200, "{role:?}");
    let role_id = role.json()["id"].as_str().unwrap().to_string();
    let created = gateway_a.recv_named("GUILD_ROLE_CREATE");
    assert_eq!(created["d"]["role"]["id"], role_id);

    // An invite to #general; the human joins with it.
    let invite = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{}/invites", boot.text_channel_id),
        token_a,
        Some(&json!({"max_age": 0})),
    );
    assert_eq!(invite.status, 200, "{invite:?}");
    let code = invite.json()["code"].as_str().unwrap().to_string();
    let invite_path = format!("/api/v10/invites/{code}");
    // Answered once every core has the new replica: fresh connections, on either core,
    // find the invite at once (discord.js's fetchInvite after createInvite got 10006).
    for _ in 0..4 {
        assert_eq!(call(addr, "GET", &invite_path, token_a, None).status, 200);
    }
    let fetched = call(addr, "GET", &invite_path, &token_h, None);
    assert_eq!(fetched.status, 200, "{fetched:?}");
    assert_eq!(fetched.json()["guild"]["id"], *guild);
    let joined = call(addr, "POST", &invite_path, &token_h, None);
    assert_eq!(joined.status, 200, "{joined:?}");
    let guild_create = gateway_h.recv_named("GUILD_CREATE");
    assert_eq!(guild_create["d"]["id"], *guild);
    let added = gateway_a.recv_named("GUILD_MEMBER_ADD");
    assert_eq!(added["d"]["user"]["id"], id_h);
    // The new member reads and writes #general at once.
    let hello = send(addr, &token_h, &boot.text_channel_id, "hi all");
    assert_eq!(hello.status, 200, "{hello:?}");
    assert_eq!(
        gateway_a.recv_named("MESSAGE_CREATE")["d"]["author"]["id"],
        id_h
    );
    let listed = call(
        addr,
        "GET",
        &format!("/api/v10/guilds/{guild}/members?limit=10"),
        token_a,
        None,
    );
    assert_eq!(listed.json().as_array().unwrap().len(), 3);

    // The role, given and seen.
    let member_role = format!("/api/v10/guilds/{guild}/members/{id_h}/roles/{role_id}");
    assert_eq!(call(addr, "PUT", &member_role, token_a, None).status, 204);
    let update = gateway_a.recv_named("GUILD_MEMBER_UPDATE");
    assert_eq!(update["d"]["user"]["id"], id_h);
    assert_eq!(update["d"]["roles"], json!([role_id]));
    // A member without MANAGE_ROLES cannot do the same.
    let refused = call(
        addr,
        "PUT",
        &format!(
            "/api/v10/guilds/{guild}/members/{}/roles/{role_id}",
            boot.bots[1].id
        ),
        &token_h,
        None,
    );
    assert_error(&refused, 403, 50013);

    // Kicked: the member's session loses the guild.
    let member = format!("/api/v10/guilds/{guild}/members/{id_h}");
    assert_eq!(call(addr, "DELETE", &member, token_a, None).status, 204);
    let deleted = gateway_h.recv_named("GUILD_DELETE");
    assert_eq!(deleted["d"]["id"], *guild);
    assert_eq!(
        gateway_a.recv_named("GUILD_MEMBER_REMOVE")["d"]["user"]["id"],
        id_h
    );
    assert_error(
        &send(addr, &token_h, &boot.text_channel_id, "still here?"),
        403,
        50001,
    );
    assert_error(&call(addr, "GET", &member, token_a, None), 404, 10007);

    // Rejoins, then banned: GUILD_DELETE again, and the invite no longer works.
    assert_eq!(call(addr, "POST", &invite_path, &token_h, None).status, 200);
    assert_eq!(gateway_h.recv_named("GUILD_CREATE")["d"]["id"], *guild);
    let ban = format!("/api/v10/guilds/{guild}/bans/{id_h}");
    assert_eq!(
        call(addr, "PUT", &ban, token_a, Some(&json!({}))).status,
        204
    );
    assert_eq!(gateway_h.recv_named("GUILD_DELETE")["d"]["id"], *guild);
    assert_eq!(call(addr, "GET", &ban, token_a, None).status, 200);
    assert_error(
        &call(addr, "POST", &invite_path, &token_h, None),
        403,
        40007,
    );
    assert_eq!(call(addr, "DELETE", &ban, token_a, None).status, 204);
    assert_error(&call(addr, "DELETE", &ban, token_a, None), 404, 10026);
    assert_error(
        &call(addr, "POST", "/api/v10/invites/nosuchcode", &token_h, None),
        404,
        10006,
    );
    // The role can be deleted; the guild no longer lists it.
    let role_path = format!("{roles}/{role_id}");
    assert_eq!(call(addr, "DELETE", &role_path, token_a, None).status, 204);
    assert_eq!(
        gateway_a.recv_named("GUILD_ROLE_DELETE")["d"]["role_id"],
        role_id
    );
    assert_error(&call(addr, "GET", &role_path, token_a, None), 404, 10011);
}
both_backends!(
    members_roles_invites_bans,
    members_join_get_roles_and_leave_through_invites_kicks_and_bans
);

/// A guild created over REST reaches its creator's session, takes messages, and goes
/// away with GUILD_DELETE when its owner deletes it.
fn a_created_guild_lives_and_dies_on_its_owner_core(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let (token_h, id_h) = register(addr, "founder");
    let (mut gateway_h, _) = Gateway::connect(addr);
    gateway_h.identify_ready(&token_h, INTENTS_DEFAULT, 0);
    let created = call(
        addr,
        "POST",
        "/api/v10/guilds",
        &token_h,
        Some(&json!({"name": "Home"})),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let guild = created.json();
    let guild_id = guild["id"].as_str().unwrap().to_string();
    assert_eq!(guild["owner_id"], id_h);
    let announced = gateway_h.recv_named("GUILD_CREATE");
    assert_eq!(announced["d"]["id"], guild_id);
    let channels = announced["d"]["channels"].as_array().unwrap();
    let text = channels
        .iter()
        .find(|c| c["type"] == 0)
        .expect("a text channel");
    let text_id = text["id"].as_str().unwrap().to_string();
    let sent = send(addr, &token_h, &text_id, "my own place");
    assert_eq!(sent.status, 200, "{sent:?}");
    let guilds = call(addr, "GET", "/api/v10/users/@me/guilds", &token_h, None).json();
    assert_eq!(guilds[0]["id"], guild_id);

    let path = format!("/api/v10/guilds/{guild_id}");
    assert_eq!(call(addr, "DELETE", &path, &token_h, None).status, 204);
    assert_eq!(gateway_h.recv_named("GUILD_DELETE")["d"]["id"], guild_id);
    assert_error(&call(addr, "GET", &path, &token_h, None), 404, 10004);
    assert_error(&send(addr, &token_h, &text_id, "echo?"), 404, 10003);
    let none = call(addr, "GET", "/api/v10/users/@me/guilds", &token_h, None).json();
    assert_eq!(none, json!([]));
    let bad = call(
        addr,
        "POST",
        "/api/v10/guilds",
        &token_h,
        Some(&json!({"name": ""})),
    );
    assert_error(&bad, 400, 50035);
}
both_backends!(
    created_guild,
    a_created_guild_lives_and_dies_on_its_owner_core
);

/// A thread started from a message: THREAD_CREATE for those who see the parent, and
/// messages in the thread reach them.
fn threads_start_from_messages_and_carry_messages(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let (mut gateway_b, _) = Gateway::connect(addr);
    gateway_b.identify_ready(token_b, INTENTS_DEFAULT | MESSAGE_CONTENT, 1);
    let root = send(addr, token_a, &boot.text_channel_id, "let's discuss");
    let root_id = root.json()["id"].as_str().unwrap().to_string();
    let threads = format!(
        "/api/v10/channels/{}/messages/{root_id}/threads",
        boot.text_channel_id
    );
    let thread = call(
        addr,
        "POST",
        &threads,
        token_a,
        Some(&json!({"name": "topic"})),
    );
    assert_eq!(thread.status, 201, "{thread:?}");
    let thread_id = thread.json()["id"].as_str().unwrap().to_string();
    assert_eq!(thread_id, root_id, "a thread from a message takes its id");
    assert_eq!(gateway_b.recv_named("THREAD_CREATE")["d"]["id"], thread_id);
    let inside = send(addr, token_a, &thread_id, "in the thread");
    assert_eq!(inside.status, 200, "{inside:?}");
    let seen = gateway_b.recv_named("MESSAGE_CREATE");
    assert_eq!(seen["d"]["channel_id"], thread_id);
    assert_eq!(seen["d"]["content"], "in the thread");
    let missing = format!(
        "/api/v10/channels/{}/messages/1234567890123/threads",
        boot.text_channel_id
    );
    let refused = call(addr, "POST", &missing, token_a, Some(&json!({"name": "x"})));
    assert_error(&refused, 404, 10008);
    let active = call(
        addr,
        "GET",
        &format!("/api/v10/guilds/{}/threads/active", boot.guild_id),
        token_b,
        None,
    );
    assert_eq!(active.status, 200, "{active:?}");
    assert_eq!(active.json()["threads"][0]["id"], thread_id);
}
both_backends!(threads, threads_start_from_messages_and_carry_messages);

fn identify_shard(gateway: &mut Gateway, token: &str, intents: u64, shard: [u64; 2]) -> Value {
    gateway.send(&json!({"op": 2, "d": {
        "token": token,
        "properties": {"os": "linux", "browser": "flux-test", "device": "flux-test"},
        "intents": intents,
        "shard": shard,
    }}));
    let ready = gateway.recv_dispatch();
    assert_eq!(ready["t"], "READY", "{ready}");
    ready
}

/// Gateway sharding: a session on shard [i, 2] hears only of guilds with
/// `(guild_id >> 22) % 2 == i` — their GUILD_CREATE and their messages.
fn each_shard_carries_only_its_guilds(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let shard_of = |id: &str| (id.parse::<u64>().unwrap() >> 22) % 2;
    let demo_shard = shard_of(&boot.guild_id);
    // A guild on the other shard (ids are milliseconds apart: a few tries at most).
    let mut other = None;
    for _ in 0..50 {
        let created = call(
            addr,
            "POST",
            "/api/v10/guilds",
            token_a,
            Some(&json!({"name": "Other"})),
        );
        assert_eq!(created.status, 201, "{created:?}");
        let id = created.json()["id"].as_str().unwrap().to_string();
        if shard_of(&id) != demo_shard {
            other = Some(id);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let other = other.expect("a guild on the other shard");
    let channels = call(
        addr,
        "GET",
        &format!("/api/v10/guilds/{other}/channels"),
        token_a,
        None,
    );
    let other_text = channels.json()[0]["id"].as_str().unwrap().to_string();
    let invite = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{other_text}/invites"),
        token_a,
        Some(&json!({})),
    );
    let code = invite.json()["code"].as_str().unwrap().to_string();
    assert_eq!(
        call(
            addr,
            "POST",
            &format!("/api/v10/invites/{code}"),
            token_b,
            None
        )
        .status,
        200
    );

    // A listens on the demo guild's shard, B on the other one; both are in both guilds.
    let intents = INTENTS_DEFAULT | MESSAGE_CONTENT;
    let (mut gateway_a, _) = Gateway::connect(addr);
    let ready_a = identify_shard(&mut gateway_a, token_a, intents, [demo_shard, 2]);
    assert_eq!(ready_a["d"]["shard"], json!([demo_shard, 2]));
    assert_eq!(
        gateway_a.recv_named("GUILD_CREATE")["d"]["id"],
        boot.guild_id
    );
    let (mut gateway_b, _) = Gateway::connect(addr);
    identify_shard(&mut gateway_b, token_b, intents, [1 - demo_shard, 2]);
    assert_eq!(gateway_b.recv_named("GUILD_CREATE")["d"]["id"], other);

    // A message in each guild: each session hears only its shard's.
    let in_demo = send(addr, token_b, &boot.text_channel_id, "demo shard");
    let in_other = send(addr, token_a, &other_text, "other shard");
    let seen_a = until(&mut gateway_a, "MESSAGE_CREATE");
    assert_eq!(seen_a.last().unwrap()["d"]["id"], in_demo.json()["id"]);
    let seen_b = until(&mut gateway_b, "MESSAGE_CREATE");
    assert_eq!(seen_b.last().unwrap()["d"]["id"], in_other.json()["id"]);
    // And the next one each sees is again its own shard's, not the other's.
    let again_demo = send(addr, token_b, &boot.text_channel_id, "demo again");
    let again_other = send(addr, token_a, &other_text, "other again");
    assert_eq!(
        until(&mut gateway_a, "MESSAGE_CREATE").last().unwrap()["d"]["id"],
        again_demo.json()["id"]
    );
    assert_eq!(
        until(&mut gateway_b, "MESSAGE_CREATE").last().unwrap()["d"]["id"],
        again_other.json()["id"]
    );
}
both_backends!(sharding, each_shard_carries_only_its_guilds);

/// Guild routes are metered on the caller's home core like the message routes: per-route
/// buckets (PATCH /guilds/{id}: 5 per 5 s) with Discord's headers, then a 429 with
/// `Retry-After`, `Via` and Discord's body, and nothing applied.
fn guild_routes_are_rate_limited_per_route_and_user(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token_a = &boot.bots[0].token;
    let path = format!("/api/v10/guilds/{}", boot.guild_id);
    let mut statuses = Vec::new();
    for round in 0..6 {
        let name = format!("Flux {round}");
        let response = call(
            addr,
            "PATCH",
            &path,
            token_a,
            Some(&json!({ "name": name })),
        );
        if response.status == 200 {
            assert_eq!(response.header("x-ratelimit-limit"), Some("5"));
            let remaining: u32 = response
                .header("x-ratelimit-remaining")
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(remaining, 4 - round, "{response:?}");
        } else {
            assert_eq!(response.status, 429, "{response:?}");
            assert!(response.header("retry-after").is_some());
            assert!(response.header("via").is_some());
            assert_eq!(response.header("x-ratelimit-scope"), Some("user"));
            let body = response.json();
            assert_eq!(body["global"], false);
            assert!(body["retry_after"].as_f64().unwrap() > 0.0);
        }
        statuses.push(response.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    // The refused rename was not applied.
    let guild = call(addr, "GET", &path, token_a, None).json();
    assert_eq!(guild["name"], "Flux 4");
}
both_backends!(
    guild_rate_limits,
    guild_routes_are_rate_limited_per_route_and_user
);

/// The global limit (50 requests per second per token) spans route families: the gateway
/// and user routes, guild routes and `/users/@me/guilds` all count against one budget on the
/// token's home core, though no single route's bucket is spent.
fn the_global_limit_spans_every_route_family(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token_b = &boot.bots[1].token;
    let paths = [
        "/api/v10/users/@me".to_string(),
        format!("/api/v10/guilds/{}", boot.guild_id),
        "/api/v10/users/@me/guilds".to_string(),
    ];
    // Pipelined on one connection, so all 60 arrive within the second even on a slow
    // machine; the answers come back in order.
    let mut http = support::HttpClient::new(addr);
    let mut pipeline = String::new();
    for round in 0..60 {
        pipeline.push_str(&format!(
            "GET {} HTTP/1.1\r\nHost: flux\r\nAuthorization: Bot {token_b}\r\n\r\n",
            paths[round % 3]
        ));
    }
    http.send(pipeline.as_bytes());
    let mut admitted = 0;
    let mut global_refusal = None;
    for _ in 0..60 {
        let response = http.read_response().expect("an answer per request");
        match response.status {
            200 => admitted += 1,
            429 => {
                global_refusal.get_or_insert(response);
            }
            other => panic!("unexpected {other}: {response:?}"),
        }
    }
    let refusal = global_refusal.expect("the global limit refuses within 60 requests");
    assert_eq!(
        refusal.header("x-ratelimit-global"),
        Some("true"),
        "{refusal:?}"
    );
    assert_eq!(refusal.header("x-ratelimit-scope"), Some("global"));
    assert_eq!(refusal.json()["global"], true);
    assert!(refusal.header("retry-after").is_some());
    assert_eq!(admitted, 50, "exactly the global budget is admitted");
}
both_backends!(global_rate_limit, the_global_limit_spans_every_route_family);

/// `with_counts` counts the members online: a bot's session makes it online on every
/// core (its home core broadcasts the presence), so the owner core counts it.
fn with_counts_reports_online_members(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token_a = &boot.bots[0].token;
    let path = format!("/api/v10/guilds/{}?with_counts=true", boot.guild_id);
    let before = call(addr, "GET", &path, token_a, None).json();
    assert_eq!(before["approximate_member_count"], 2);
    assert_eq!(before["approximate_presence_count"], 0);
    let (mut gateway_a, _) = Gateway::connect(addr);
    gateway_a.identify_ready(token_a, INTENTS_DEFAULT, 1);
    // The presence travels home core → every core; poll briefly (bounded).
    let mut online = 0;
    for _ in 0..100 {
        online = call(addr, "GET", &path, token_a, None).json()["approximate_presence_count"]
            .as_u64()
            .unwrap();
        if online == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(online, 1, "bot A is online");
}
both_backends!(with_counts, with_counts_reports_online_members);

/// A timeout (`communication_disabled_until`) silences a member everywhere at once: the
/// message path, on whichever core, refuses their messages until it ends.
fn a_timed_out_member_cannot_send_until_the_timeout_ends(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let member = format!(
        "/api/v10/guilds/{}/members/{}",
        boot.guild_id, boot.bots[1].id
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let until = engine::world::iso8601_from_unix_ms(now_ms + 3_600_000);
    let timed_out = call(
        addr,
        "PATCH",
        &member,
        token_a,
        Some(&json!({ "communication_disabled_until": until })),
    );
    assert_eq!(timed_out.status, 200, "{timed_out:?}");
    assert_eq!(
        timed_out.json()["communication_disabled_until"],
        until.as_str()
    );
    for _ in 0..4 {
        assert_error(
            &send(addr, token_b, &boot.text_channel_id, "hush"),
            403,
            50013,
        );
    }
    // B can still read.
    let history = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    assert_eq!(call(addr, "GET", &history, token_b, None).status, 200);
    // B cannot time A (the owner) out.
    let owner = format!(
        "/api/v10/guilds/{}/members/{}",
        boot.guild_id, boot.bots[0].id
    );
    let refused = call(
        addr,
        "PATCH",
        &owner,
        token_b,
        Some(&json!({ "communication_disabled_until": until })),
    );
    assert_error(&refused, 403, 50013);
    let cleared = call(
        addr,
        "PATCH",
        &member,
        token_a,
        Some(&json!({ "communication_disabled_until": null })),
    );
    assert_eq!(cleared.status, 200);
    assert_eq!(
        send(addr, token_b, &boot.text_channel_id, "back").status,
        200
    );
}
both_backends!(
    timeouts,
    a_timed_out_member_cannot_send_until_the_timeout_ends
);

/// A user may be in at most 100 guilds (Discord's 30001): the 101st creation is refused,
/// and so is an invite into yet another guild; an invite into a guild they are already in
/// is not a new guild.
fn a_user_is_in_at_most_a_hundred_guilds(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token, _) = register(addr, "collector");
    let mut first_text = None;
    for n in 0..100 {
        let created = call(
            addr,
            "POST",
            "/api/v10/guilds",
            &token,
            Some(&json!({ "name": format!("Guild {n}") })),
        );
        assert_eq!(created.status, 201, "guild {n}: {created:?}");
        if first_text.is_none() {
            first_text = created.json()["system_channel_id"]
                .as_str()
                .map(str::to_string);
        }
    }
    let refused = call(
        addr,
        "POST",
        "/api/v10/guilds",
        &token,
        Some(&json!({"name": "One more"})),
    );
    assert_error(&refused, 400, 30001);
    // An invite into the bots' guild would be the 101st.
    let invite = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{}/invites", boot.text_channel_id),
        &boot.bots[0].token,
        Some(&json!({})),
    );
    let code = invite.json()["code"].as_str().unwrap().to_string();
    let refused = call(
        addr,
        "POST",
        &format!("/api/v10/invites/{code}"),
        &token,
        None,
    );
    assert_error(&refused, 400, 30001);
    // One of their own guilds' invites is no new guild.
    let text = first_text.expect("a system channel");
    let own = call(
        addr,
        "POST",
        &format!("/api/v10/channels/{text}/invites"),
        &token,
        Some(&json!({})),
    );
    let own_code = own.json()["code"].as_str().unwrap().to_string();
    let again = call(
        addr,
        "POST",
        &format!("/api/v10/invites/{own_code}"),
        &token,
        None,
    );
    assert_eq!(again.status, 200, "{again:?}");
    let guilds = call(addr, "GET", "/api/v10/users/@me/guilds", &token, None).json();
    assert_eq!(guilds.as_array().unwrap().len(), 100);
}
both_backends!(guild_cap, a_user_is_in_at_most_a_hundred_guilds);
