//! A channel holds at most 100 permission overwrites: the 101st target is refused with
//! Discord's 30060 (nothing changes), an overwrite already there may still be rewritten,
//! and a channel edit carrying more than 100 is refused with 50035. Every test runs once
//! per I/O backend.

mod support;

use serde_json::json;
use support::assert_error;
use support::rest::call;

const OVERWRITES_MAX: usize = 100;

fn overwrites_per_channel_are_capped(io: engine::IoBackend) {
    let server = support::start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let owner = &boot.bots[0].token;
    let guild = &boot.guild_id;
    let channel = &boot.text_channel_id;
    let overwrite_of = |target: &str| format!("/api/v10/channels/{channel}/permissions/{target}");
    // @everyone (the guild's id) and 100 new roles: one target more than the cap.
    let mut targets = vec![guild.clone()];
    for n in 0..OVERWRITES_MAX {
        let role = call(
            addr,
            "POST",
            &format!("/api/v10/guilds/{guild}/roles"),
            owner,
            Some(&json!({ "name": format!("role {n}") })),
        );
        assert_eq!(role.status, 200, "{role:?}");
        targets.push(role.json()["id"].as_str().unwrap().to_string());
    }
    let body = json!({ "type": 0, "allow": "1024", "deny": "0" });
    for target in &targets[..OVERWRITES_MAX] {
        let put = call(addr, "PUT", &overwrite_of(target), owner, Some(&body));
        assert_eq!(put.status, 204, "{put:?}");
    }
    let refused = call(
        addr,
        "PUT",
        &overwrite_of(&targets[OVERWRITES_MAX]),
        owner,
        Some(&body),
    );
    assert_error(&refused, 400, 30060);
    // One already there may still change.
    let deny = json!({ "type": 0, "allow": "0", "deny": "2048" });
    let rewritten = call(addr, "PUT", &overwrite_of(&targets[1]), owner, Some(&deny));
    assert_eq!(rewritten.status, 204, "{rewritten:?}");
    let shown = call(
        addr,
        "GET",
        &format!("/api/v10/channels/{channel}"),
        owner,
        None,
    );
    let overwrites = shown.json()["permission_overwrites"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        overwrites.len(),
        OVERWRITES_MAX,
        "the refused one was not added"
    );
    assert!(overwrites
        .iter()
        .all(|o| o["id"] != targets[OVERWRITES_MAX].as_str()));
    // A channel edit with more than the cap is a form error.
    let too_many: Vec<_> = targets
        .iter()
        .map(|id| json!({ "id": id, "type": 0, "allow": "1024", "deny": "0" }))
        .collect();
    let patch = json!({ "permission_overwrites": too_many });
    let edited = call(
        addr,
        "PATCH",
        &format!("/api/v10/channels/{channel}"),
        owner,
        Some(&patch),
    );
    assert_error(&edited, 400, 50035);
    assert_eq!(
        edited.json()["errors"]["permission_overwrites"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    server.shutdown().unwrap();
}

both_backends!(overwrites_capped, overwrites_per_channel_are_capped);
