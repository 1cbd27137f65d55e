//! Every gateway and user route (`rest::handle_request`) answers with Discord's shapes,
//! and every failure with Discord's status and JSON error body; every response carries
//! `Content-Type: application/json` exactly and the six rate-limit headers.

use engine::rest::{handle_request, Method, Request, Response, RestContext, SessionStartLimit};
use engine::world::{account_token, demo_world, Account, Demo, Directory, User, UserId, World};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000_000;
const GATEWAY: &str = "ws://127.0.0.1:8080";

struct Fixture {
    demo: Demo,
    directory: Directory,
    human_token: String,
}

/// The demo world plus a human account (no application), for the 10002 case.
fn fixture() -> Fixture {
    let mut demo = demo_world(NOW, [21; 32]).unwrap();
    let human = Account {
        user: User {
            id: UserId(demo.bots[1].user_id.0 + 1),
            username: "human".into(),
            global_name: Some("A Human".into()),
            bot: false,
            public_flags: 0,
            mfa_enabled: true,
        },
        token_generation: 0,
        token_issued_at_s: 1,
        privileged_intents_allowed: false,
        password_hash: None,
    };
    let human_token = account_token(&demo.secret, &human);
    demo.world.accounts.push(human);
    demo.world.validate().unwrap();
    let directory = Directory::from_world(&demo.world, demo.secret.clone());
    Fixture {
        demo,
        directory,
        human_token,
    }
}

impl Fixture {
    fn call(&self, method: Method, target: &str, authorization: Option<&str>) -> Response {
        let context = RestContext {
            directory: &self.directory,
            gateway_url: GATEWAY,
            shards_recommended: 1,
            session_start_limit: SessionStartLimit {
                total: 1000,
                remaining: 997,
                reset_after_ms: 12_345,
                max_concurrency: 1,
            },
            now_unix_ms: NOW,
        };
        let response = handle_request(&context, &Request::new(method, target, authorization, b""));
        assert_common_headers(&response, target);
        response
    }

    fn bot_auth(&self, index: usize) -> String {
        format!("Bot {}", self.demo.bots[index].token)
    }
}

fn assert_common_headers(response: &Response, target: &str) {
    assert_eq!(
        response.header("Content-Type"),
        Some("application/json"),
        "{target}"
    );
    for name in [
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
        "X-RateLimit-Scope",
    ] {
        assert!(response.header(name).is_some(), "{target} lacks {name}");
    }
    assert_eq!(response.header("X-RateLimit-Scope"), Some("user"));
}

fn json_of(response: &Response) -> Value {
    serde_json::from_slice(&response.body).expect("every body is JSON")
}

fn assert_error(response: &Response, status: u16, code: u64, message: &str) {
    assert_eq!(response.status, status);
    let body = json_of(response);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["message"], message, "{body}");
}

#[test]
fn gateway_needs_no_token_and_names_the_ws_url() {
    let fixture = fixture();
    for path in [
        "/api/v10/gateway",
        "/api/v9/gateway",
        "/api/gateway",
        "/api/v10/gateway?v=10",
    ] {
        let response = fixture.call(Method::Get, path, None);
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(json_of(&response), json!({"url": GATEWAY}));
    }
}

#[test]
fn gateway_bot_reports_shards_and_the_callers_identify_budget() {
    let fixture = fixture();
    let response = fixture.call(
        Method::Get,
        "/api/v10/gateway/bot",
        Some(&fixture.bot_auth(0)),
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        json_of(&response),
        json!({
            "url": GATEWAY,
            "shards": 1,
            "session_start_limit": {
                "total": 1000, "remaining": 997, "reset_after": 12_345, "max_concurrency": 1
            }
        })
    );
}

#[test]
fn users_me_is_the_tokens_user_bare_or_prefixed() {
    let fixture = fixture();
    for (index, bot) in fixture.demo.bots.iter().enumerate() {
        for auth in [fixture.bot_auth(index), bot.token.clone()] {
            let response = fixture.call(Method::Get, "/api/v10/users/@me", Some(&auth));
            assert_eq!(response.status, 200);
            let body = json_of(&response);
            assert_eq!(body["id"], bot.user_id.to_string());
            assert_eq!(body["username"], bot.username);
            assert_eq!(body["discriminator"], "0");
            assert_eq!(body["bot"], true);
            assert!(body["avatar"].is_null());
            assert_eq!(body["mfa_enabled"], false);
        }
    }
}

#[test]
fn users_by_id_and_unknown_users() {
    let fixture = fixture();
    let auth = fixture.bot_auth(0);
    let other = fixture.demo.bots[1].user_id;
    let response = fixture.call(Method::Get, &format!("/api/v10/users/{other}"), Some(&auth));
    assert_eq!(response.status, 200);
    let body = json_of(&response);
    assert_eq!(body["id"], other.to_string());
    assert!(
        body.get("email").is_none(),
        "the public user object has no private fields"
    );

    let response = fixture.call(Method::Get, "/api/v10/users/1", Some(&auth));
    assert_error(&response, 404, 10013, "Unknown User");

    let response = fixture.call(Method::Get, "/api/v10/users/not-a-number", Some(&auth));
    assert_error(&response, 400, 50035, "Invalid Form Body");
    let body = json_of(&response);
    assert_eq!(
        body["errors"]["user_id"]["_errors"][0]["code"],
        "NUMBER_TYPE_COERCE"
    );
}

#[test]
fn current_application_has_what_discord_py_reads() {
    let fixture = fixture();
    let response = fixture.call(
        Method::Get,
        "/api/v10/oauth2/applications/@me",
        Some(&fixture.bot_auth(1)),
    );
    assert_eq!(response.status, 200);
    let body = json_of(&response);
    // CLIENTS.md §1.2 row 2: removing any of these crashed discord.py's login.
    for key in [
        "id",
        "name",
        "description",
        "icon",
        "bot_public",
        "bot_require_code_grant",
        "owner",
        "verify_key",
    ] {
        assert!(body.get(key).is_some(), "application lacks {key}");
    }
    for key in ["id", "username", "discriminator", "avatar"] {
        assert!(body["owner"].get(key).is_some(), "owner lacks {key}");
    }
    assert_eq!(body["id"], fixture.demo.bots[1].user_id.to_string());

    let human = format!("Bot {}", fixture.human_token);
    let response = fixture.call(
        Method::Get,
        "/api/v10/oauth2/applications/@me",
        Some(&human),
    );
    assert_error(&response, 404, 10002, "Unknown Application");
    // The human's own token still works where no application is needed.
    let response = fixture.call(Method::Get, "/api/v10/users/@me", Some(&human));
    assert_eq!(json_of(&response)["mfa_enabled"], true);
}

#[test]
fn missing_invalid_and_revoked_tokens_get_401() {
    let fixture = fixture();
    let good = &fixture.demo.bots[0].token;
    let tampered = format!("Bot {}x", good);
    let other_install = {
        let other = demo_world(NOW, [99; 32]).unwrap();
        format!("Bot {}", other.bots[0].token)
    };
    let revoked = {
        let mut world: World = fixture.demo.world.clone();
        world
            .revoke_tokens(fixture.demo.bots[0].user_id, 5)
            .unwrap();
        Directory::from_world(&world, fixture.demo.secret.clone())
    };
    for route in [
        "/api/v10/users/@me",
        "/api/v10/gateway/bot",
        "/api/v10/oauth2/applications/@me",
    ] {
        for auth in [
            None,
            Some(""),
            Some("Bot "),
            Some("Bearer x.y.z"),
            Some(tampered.as_str()),
        ] {
            let response = fixture.call(Method::Get, route, auth);
            assert_error(&response, 401, 0, "401: Unauthorized");
        }
        let response = fixture.call(Method::Get, route, Some(&other_install));
        assert_error(&response, 401, 0, "401: Unauthorized");

        let context = RestContext {
            directory: &revoked,
            gateway_url: GATEWAY,
            shards_recommended: 1,
            session_start_limit: SessionStartLimit::default(),
            now_unix_ms: NOW,
        };
        let auth = fixture.bot_auth(0);
        let response = handle_request(
            &context,
            &Request::new(Method::Get, route, Some(&auth), b""),
        );
        assert_error(&response, 401, 0, "401: Unauthorized");
    }
}

#[test]
fn unknown_routes_and_methods() {
    let fixture = fixture();
    let auth = fixture.bot_auth(0);
    for path in [
        "/",
        "/api/v10/nope",
        "/api/v6/users/@me",
        "/api/v10/users/@me/extra/deep",
    ] {
        let response = fixture.call(Method::Get, path, Some(&auth));
        assert_error(&response, 404, 0, "404: Not Found");
    }
    for method in [
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Other,
    ] {
        let response = fixture.call(method, "/api/v10/users/@me", Some(&auth));
        assert_error(&response, 405, 0, "405: Method Not Allowed");
    }
}

#[test]
fn rate_limit_bucket_is_stable_per_route() {
    let fixture = fixture();
    let auth = fixture.bot_auth(0);
    let bucket = |target: &str| {
        fixture
            .call(Method::Get, target, Some(&auth))
            .header("X-RateLimit-Bucket")
            .unwrap()
            .to_string()
    };
    let first = fixture.demo.bots[0].user_id;
    let second = fixture.demo.bots[1].user_id;
    assert_eq!(
        bucket(&format!("/api/v10/users/{first}")),
        bucket(&format!("/api/v10/users/{second}"))
    );
    assert_ne!(bucket("/api/v10/users/@me"), bucket("/api/v10/gateway/bot"));
}
