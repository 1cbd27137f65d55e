//! `PATCH /users/@me`: the profile change is stored on the user's home core (a new
//! username reserved by core 0 first), every core's directory takes it before the
//! answer, and the user's sessions get USER_UPDATE.

mod support;

use serde_json::json;
use support::gateway::{Gateway, INTENTS_DEFAULT};
use support::rest::{call, post_anonymous};
use support::{assert_error, start_flux};

fn a_profile_change_is_seen_everywhere_and_announced(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    let id_a = &boot.bots[0].id;
    let (mut gateway_a, _) = Gateway::connect(addr);
    gateway_a.identify_ready(token_a, INTENTS_DEFAULT, 1);

    let changed = call(
        addr,
        "PATCH",
        "/api/v10/users/@me",
        token_a,
        Some(&json!({"global_name": "Bot A", "avatar": null})),
    );
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(changed.json()["global_name"], "Bot A");
    assert_eq!(changed.json()["id"], *id_a);
    let update = gateway_a.recv_named("USER_UPDATE");
    assert_eq!(update["d"]["global_name"], "Bot A");
    // Every core's directory has it (fresh connections land on either core).
    for _ in 0..4 {
        let seen = call(
            addr,
            "GET",
            &format!("/api/v10/users/{id_a}"),
            token_b,
            None,
        );
        assert_eq!(seen.json()["global_name"], "Bot A");
        let me = call(addr, "GET", "/api/v10/users/@me", token_a, None);
        assert_eq!(me.json()["global_name"], "Bot A");
    }

    let bad = call(
        addr,
        "PATCH",
        "/api/v10/users/@me",
        token_a,
        Some(&json!({"username": "Not Valid", "avatar": "data:image/png;base64,AAAA"})),
    );
    assert_error(&bad, 400, 50035);
    assert!(bad.json()["errors"]["username"].is_object());
    assert!(bad.json()["errors"]["avatar"].is_object());
    assert_error(
        &call(
            addr,
            "PATCH",
            "/api/v10/users/@me",
            "nope",
            Some(&json!({})),
        ),
        401,
        0,
    );

    // Usernames stay unique: a human cannot take another's name, but can take a free
    // one and then log in with it.
    let register = |name: &str| {
        let response = post_anonymous(
            addr,
            "/api/v10/auth/register",
            &json!({"username": name, "password": "correct horse battery"}),
        );
        assert_eq!(response.status, 201, "{response:?}");
        response.json()["token"].as_str().unwrap().to_string()
    };
    register("first_user");
    let token_h = register("renamer");
    let taken = call(
        addr,
        "PATCH",
        "/api/v10/users/@me",
        &token_h,
        Some(&json!({"username": "first_user"})),
    );
    assert_error(&taken, 400, 50035);
    assert_eq!(
        taken.json()["errors"]["username"]["_errors"][0]["code"],
        "USERNAME_ALREADY_TAKEN"
    );
    let renamed = call(
        addr,
        "PATCH",
        "/api/v10/users/@me",
        &token_h,
        Some(&json!({"username": "renamed"})),
    );
    assert_eq!(renamed.status, 200, "{renamed:?}");
    assert_eq!(renamed.json()["username"], "renamed");
    let login = post_anonymous(
        addr,
        "/api/v10/auth/login",
        &json!({"login": "renamed", "password": "correct horse battery"}),
    );
    assert_eq!(login.status, 200, "{login:?}");
    let old_name = post_anonymous(
        addr,
        "/api/v10/auth/login",
        &json!({"login": "renamer", "password": "correct horse battery"}),
    );
    assert_error(&old_name, 400, 50035);
    // The old name is free again.
    register("renamer");
}
both_backends!(profile, a_profile_change_is_seen_everywhere_and_announced);

/// Profile edits and logouts are counted like every authenticated route, on the
/// caller's home core: PATCH /users/@me allows 2 per 10 s (Discord's bucket), the third
/// is a 429 with the rate-limit headers and changes nothing.
fn profile_edits_are_rate_limited(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;
    for name in ["First", "Second"] {
        let changed = call(
            addr,
            "PATCH",
            "/api/v10/users/@me",
            token,
            Some(&json!({"global_name": name})),
        );
        assert_eq!(changed.status, 200, "{changed:?}");
        assert!(
            changed.header("x-ratelimit-bucket").is_some(),
            "{changed:?}"
        );
    }
    let limited = call(
        addr,
        "PATCH",
        "/api/v10/users/@me",
        token,
        Some(&json!({"global_name": "Third"})),
    );
    assert_eq!(limited.status, 429, "{limited:?}");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(limited.json()["global"], false);
    let me = call(addr, "GET", "/api/v10/users/@me", token, None);
    assert_eq!(
        me.json()["global_name"],
        "Second",
        "the refused edit changed nothing"
    );
}
both_backends!(rate_limited, profile_edits_are_rate_limited);
