//! Human accounts end to end over real sockets on two cores: `POST /auth/register`
//! (core 0 decides the name, the home core stores the account), the token working at
//! once for REST and IDENTIFY on whichever core a connection lands, duplicate names and
//! bad bodies refused with Discord's 50035 shape, login right and wrong, logout revoking
//! every token everywhere, and all of it still true after the server is stopped and a
//! new one starts on the same data dir. Every test runs once per I/O backend.

mod support;

use std::net::SocketAddr;
use std::path::Path;

use engine::{Config, IoBackend, Server};
use serde_json::{json, Value};
use support::gateway::{post, Gateway, INTENTS_DEFAULT};
use support::rest::call;
use support::{assert_error, HttpClient, HttpResponse};

const MESSAGE_CONTENT: u64 = 1 << 15;

fn start_on(io: IoBackend, data_dir: &Path) -> Server {
    support::start_flux(io, |config: &mut Config| {
        config.data_dir = data_dir.to_path_buf();
        config.remove_data_dir_on_shutdown = false;
        config.limits.rest_rate_limits = false;
    })
}

fn register(addr: SocketAddr, username: &str, password: &str) -> HttpResponse {
    post(
        addr,
        "/api/v10/auth/register",
        &json!({"username": username, "password": password}),
    )
}

fn login(addr: SocketAddr, login: &str, password: &str) -> HttpResponse {
    post(
        addr,
        "/auth/login",
        &json!({"login": login, "password": password}),
    )
}

/// `GET /users/@me` over several fresh connections (so both cores answer): the status of
/// each, which must all agree.
fn me_status(addr: SocketAddr, token: &str) -> (u16, Value) {
    let mut seen = None;
    for _ in 0..6 {
        let response = call(addr, "GET", "/api/v10/users/@me", token, None);
        let status = response.status;
        if let Some((first, _)) = &seen {
            assert_eq!(status, *first, "every core agrees: {response:?}");
        }
        seen = Some((status, response.json()));
    }
    seen.expect("six calls")
}

fn form_error_code(response: &HttpResponse, field: &str) -> String {
    assert_error(response, 400, 50035);
    response.json()["errors"][field]["_errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn accounts_live_and_survive_restart(io: IoBackend) {
    let data_dir = std::env::temp_dir().join(format!(
        "flux-accounts-{}-{io:?}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    let server = start_on(io, &data_dir);
    let addr = server.local_addr();

    // Register: 201 {token, user}, a human without privileged intents.
    let created = register(addr, "ada_l", "correct horse battery");
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.header("content-type"), Some("application/json"));
    let body = created.json();
    let token = body["token"].as_str().expect("a token").to_string();
    assert_eq!(token.split('.').count(), 3, "Discord's shape: {token}");
    assert_eq!(body["user"]["username"], "ada_l");
    assert_eq!(body["user"]["bot"], false);
    let user_id = body["user"]["id"].as_str().unwrap().to_string();

    // The token works at once on every core, for REST and for IDENTIFY.
    let (status, me) = me_status(addr, &token);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], user_id);
    assert_eq!(me["username"], "ada_l");
    let (mut gateway, _) = Gateway::connect(addr);
    let ready = gateway.identify_ready(&token, INTENTS_DEFAULT, 0);
    assert_eq!(ready["d"]["user"]["id"], user_id);
    assert_eq!(ready["d"]["user"]["bot"], false);
    // A human has not been granted the privileged intents (a second user: the first
    // may identify once per 5 s).
    let second = register(addr, "grace.h", "another good one");
    assert_eq!(second.status, 201, "{second:?}");
    let second_token = second.json()["token"].as_str().unwrap().to_string();
    let (mut privileged, _) = Gateway::connect(addr);
    privileged.identify(&second_token, INTENTS_DEFAULT | MESSAGE_CONTENT);
    assert_eq!(privileged.expect_close(), 4014);

    // The name is taken, whichever core the request lands on.
    for _ in 0..4 {
        let again = register(addr, "ada_l", "another password");
        assert_eq!(
            form_error_code(&again, "username"),
            "USERNAME_ALREADY_TAKEN"
        );
    }
    // A demo bot.s name does not even pass the new-username rules.
    let bot = register(addr, "flux-bot-a", "another password");
    assert_eq!(
        form_error_code(&bot, "username"),
        "USERNAME_INVALID_CHARACTERS"
    );

    // Bad bodies.
    let invalid = post(addr, "/auth/register", &json!({}));
    assert_eq!(form_error_code(&invalid, "username"), "BASE_TYPE_REQUIRED");
    assert_eq!(form_error_code(&invalid, "password"), "BASE_TYPE_REQUIRED");
    let short = register(addr, "bob", "short");
    assert_eq!(form_error_code(&short, "password"), "BASE_TYPE_BAD_LENGTH");
    let upper = register(addr, "Bob", "long enough");
    assert_eq!(
        form_error_code(&upper, "username"),
        "USERNAME_INVALID_CHARACTERS"
    );
    let mut http = HttpClient::new(addr);
    http.send(
        b"POST /api/v10/auth/register HTTP/1.1\r\nHost: flux\r\n\
          Content-Type: application/json\r\nContent-Length: 8\r\n\r\nnot json",
    );
    let not_json = http.read_response().expect("a response");
    assert_error(&not_json, 400, 50109);
    // No body counts as `{}`, as on Discord: both required fields are missing.
    let no_body = call(addr, "POST", "/api/v10/auth/register", "x", None);
    assert_eq!(form_error_code(&no_body, "username"), "BASE_TYPE_REQUIRED");
    let wrong_method = call(addr, "GET", "/api/v10/auth/login", "x", None);
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");

    // Login: right password → a token of the current generation; wrong or unknown →
    // INVALID_LOGIN on both fields.
    let good = login(addr, "ADA_L", "correct horse battery");
    assert_eq!(good.status, 200, "{good:?}");
    assert_eq!(good.json()["user_id"], user_id);
    let login_token = good.json()["token"].as_str().unwrap().to_string();
    assert_eq!(me_status(addr, &login_token).0, 200);
    let wrong = login(addr, "ada_l", "correct horse battery!");
    assert_eq!(form_error_code(&wrong, "login"), "INVALID_LOGIN");
    assert_eq!(form_error_code(&wrong, "password"), "INVALID_LOGIN");
    let unknown = login(addr, "nobody_here", "correct horse battery");
    assert_eq!(form_error_code(&unknown, "login"), "INVALID_LOGIN");
    let missing = post(addr, "/auth/login", &json!({"login": "ada_l"}));
    assert_eq!(form_error_code(&missing, "password"), "BASE_TYPE_REQUIRED");

    // Logout revokes every token of the user on every core; without a token it is 401.
    let unauthenticated = post(addr, "/auth/logout", &json!({}));
    assert_eq!(unauthenticated.status, 401, "{unauthenticated:?}");
    let logout = call(addr, "POST", "/api/v10/auth/logout", &login_token, None);
    assert_eq!(logout.status, 204, "{logout:?}");
    assert_eq!(me_status(addr, &token).0, 401);
    assert_eq!(me_status(addr, &login_token).0, 401);
    let (mut revoked, _) = Gateway::connect(addr);
    revoked.identify(&token, INTENTS_DEFAULT);
    assert_eq!(revoked.expect_close(), 4004);
    let fresh = login(addr, "ada_l", "correct horse battery");
    assert_eq!(fresh.status, 200, "{fresh:?}");
    let fresh_token = fresh.json()["token"].as_str().unwrap().to_string();
    assert_eq!(me_status(addr, &fresh_token).0, 200);

    drop((gateway, privileged, revoked));
    server.shutdown().unwrap();

    // Restart on the same data dir: accounts, names and the revocation are all there.
    let server = start_on(io, &data_dir);
    let addr = server.local_addr();
    assert_eq!(me_status(addr, &token).0, 401, "revoked stays revoked");
    assert_eq!(me_status(addr, &login_token).0, 401);
    let (status, me) = me_status(addr, &fresh_token);
    assert_eq!((status, &me["id"]), (200, &json!(user_id)));
    assert_eq!(me_status(addr, &second_token).0, 200);
    let taken = register(addr, "grace.h", "yet another one");
    assert_eq!(
        form_error_code(&taken, "username"),
        "USERNAME_ALREADY_TAKEN"
    );
    let relogin = login(addr, "grace.h", "another good one");
    assert_eq!(relogin.status, 200, "{relogin:?}");
    let (mut gateway, _) = Gateway::connect(addr);
    let ready = gateway.identify_ready(&fresh_token, INTENTS_DEFAULT, 0);
    assert_eq!(ready["d"]["user"]["id"], user_id);
    // New registrations after a restart get ids above every stored one.
    let third = register(addr, "third_user", "password three");
    assert_eq!(third.status, 201, "{third:?}");
    let third_id: u64 = third.json()["user"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(third_id > user_id.parse::<u64>().unwrap());
    drop(gateway);
    server.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}

both_backends!(
    accounts_live_and_survive_restart,
    accounts_live_and_survive_restart
);

/// Like `register`, but waits out a 429 (each core allows itself a few password hashes
/// per second), checking the 429's shape on the way.
fn register_patiently(addr: SocketAddr, username: &str, password: &str) -> HttpResponse {
    loop {
        let response = register(addr, username, password);
        if response.status != 429 {
            return response;
        }
        assert!(response.header("via").is_some(), "{response:?}");
        let wait = response.json()["retry_after"]
            .as_f64()
            .expect("retry_after");
        std::thread::sleep(std::time::Duration::from_secs_f64(wait));
    }
}

/// Four cores, so registrations take every path (receiving core, core 0 and home core
/// all different, or any two the same): every new token works on every core, logouts
/// hold everywhere, and all of it survives a restart.
fn many_users_on_four_cores(io: IoBackend) {
    let data_dir = std::env::temp_dir().join(format!(
        "flux-accounts4-{}-{io:?}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    let start = || {
        support::start_flux(io, |config: &mut Config| {
            config.data_dir = data_dir.clone();
            config.remove_data_dir_on_shutdown = false;
            config.limits.rest_rate_limits = false;
            config.cores = Some(4);
        })
    };
    let server = start();
    let addr = server.local_addr();
    let mut users = Vec::new();
    for index in 0..10 {
        let name = format!("user_{index}");
        let created = register_patiently(addr, &name, "a fine password");
        assert_eq!(created.status, 201, "{created:?}");
        let token = created.json()["token"].as_str().unwrap().to_string();
        let id = created.json()["user"]["id"].as_str().unwrap().to_string();
        let (status, me) = me_status(addr, &token);
        assert_eq!((status, &me["id"]), (200, &json!(id)));
        users.push((id, token));
    }
    for (_, token) in users.iter().step_by(2) {
        let logout = call(addr, "POST", "/api/v10/auth/logout", token, None);
        assert_eq!(logout.status, 204, "{logout:?}");
    }
    let check = |addr: SocketAddr| {
        for (index, (_, token)) in users.iter().enumerate() {
            let want = if index % 2 == 0 { 401 } else { 200 };
            assert_eq!(me_status(addr, token).0, want, "user_{index}");
        }
    };
    check(addr);
    server.shutdown().unwrap();
    let server = start();
    check(server.local_addr());
    let taken = register(server.local_addr(), "user_3", "a fine password");
    assert_eq!(
        form_error_code(&taken, "username"),
        "USERNAME_ALREADY_TAKEN"
    );
    server.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}

both_backends!(many_users_on_four_cores, many_users_on_four_cores);

/// Many clients race for one name over connections spread across the cores: exactly one
/// wins, because core 0 alone decides.
fn one_name_one_winner(io: IoBackend) {
    let server = support::start_flux(io, |config| config.limits.rest_rate_limits = false);
    let addr = server.local_addr();
    let racers: Vec<_> = (0..6)
        .map(|index| {
            std::thread::spawn(move || {
                register(addr, "contested", &format!("password number {index}")).status
            })
        })
        .collect();
    let statuses: Vec<u16> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 400),
        "{statuses:?}"
    );
    server.shutdown().unwrap();
}

both_backends!(one_name_one_winner, one_name_one_winner);

/// A login for a username that does not exist costs a password hash like a wrong
/// password does, so its timing does not tell which names exist: a burst of them on one
/// core runs into that core's hash budget (429) exactly as wrong passwords would.
fn unknown_usernames_cost_a_hash(io: IoBackend) {
    let server = support::start_flux(io, |config: &mut Config| {
        config.cores = Some(1);
        config.limits.rest_rate_limits = false;
    });
    let addr = server.local_addr();
    let mut statuses = Vec::new();
    for attempt in 0..30 {
        let answer = login(addr, &format!("nobody_{attempt}"), "correct horse battery");
        statuses.push(answer.status);
        if answer.status == 429 {
            break;
        }
        assert_eq!(
            answer.status, 400,
            "an unknown name is an invalid login: {answer:?}"
        );
    }
    assert_eq!(
        statuses.last(),
        Some(&429),
        "unknown names spend the hash budget: {statuses:?}"
    );
    server.shutdown().unwrap();
}

both_backends!(unknown_usernames, unknown_usernames_cost_a_hash);

/// Five wrong passwords for one account within a minute lock that name on the core (429,
/// no hash spent), even for the right password; another account is unaffected.
fn wrong_passwords_lock_the_name_for_a_while(io: IoBackend) {
    let server = support::start_flux(io, |config: &mut Config| {
        config.cores = Some(1);
        config.limits.rest_rate_limits = false;
    });
    let addr = server.local_addr();
    assert_eq!(
        register(addr, "guarded", "correct horse battery").status,
        201
    );
    assert_eq!(
        register(addr, "neighbour", "correct horse battery").status,
        201
    );
    for attempt in 0..5 {
        let wrong = login(addr, "guarded", "wrong password here");
        assert_eq!(wrong.status, 400, "attempt {attempt}: {wrong:?}");
        // Stay under the core's hash budget (8 per second).
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    let locked = login(addr, "guarded", "correct horse battery");
    assert_eq!(locked.status, 429, "{locked:?}");
    assert!(locked.json()["retry_after"].as_f64().unwrap() > 0.0);
    let other = login(addr, "neighbour", "correct horse battery");
    assert_eq!(other.status, 200, "{other:?}");
    server.shutdown().unwrap();
}

both_backends!(wrong_passwords, wrong_passwords_lock_the_name_for_a_while);

/// A name's failures count on one core (the name's home) whichever core receives them:
/// five wrong passwords over fresh connections, which the kernel spreads over four cores,
/// lock the name on every core.
fn failures_on_any_core_lock_the_name_everywhere(io: IoBackend) {
    let server = support::start_flux(io, |config: &mut Config| {
        config.cores = Some(4);
        config.limits.rest_rate_limits = false;
    });
    let addr = server.local_addr();
    assert_eq!(
        register_patiently(addr, "guarded", "correct horse battery").status,
        201
    );
    for attempt in 0..5 {
        let wrong = login(addr, "guarded", "wrong password here");
        assert_eq!(wrong.status, 400, "attempt {attempt}: {wrong:?}");
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    // Every core now refuses the name, the right password included: no core can have
    // seen five of the failures by itself unless they were counted in one place.
    for attempt in 0..8 {
        let locked = login(addr, "guarded", "correct horse battery");
        assert_eq!(locked.status, 429, "attempt {attempt}: {locked:?}");
        assert!(locked.json()["retry_after"].as_f64().unwrap() > 0.0);
        assert!(locked.header("retry-after").is_some(), "{locked:?}");
    }
    server.shutdown().unwrap();
}

both_backends!(
    failures_across_cores,
    failures_on_any_core_lock_the_name_everywhere
);

/// Failed logins over many names from one address run into the address's limit (here 4
/// a minute), while right passwords do not count; registrations count too.
fn one_address_guessing_many_names_is_throttled(io: IoBackend) {
    let server = support::start_flux(io, |config: &mut Config| {
        config.cores = Some(1);
        config.limits.rest_rate_limits = false;
        config.limits.password_attempts_per_address_max = 4;
    });
    let addr = server.local_addr();
    for name in ["first_one", "second_one"] {
        let created = register(addr, name, "correct horse battery");
        assert_eq!(created.status, 201, "{created:?}");
    }
    // Right passwords are forgiven: many of them, and the address is still free.
    for _ in 0..6 {
        let good = login(addr, "first_one", "correct horse battery");
        assert_eq!(good.status, 200, "{good:?}");
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    // Two registrations and two wrong guesses (each on another name) fill the four.
    for name in ["nobody_a", "nobody_b"] {
        let wrong = login(addr, name, "some guess here");
        assert_eq!(wrong.status, 400, "{wrong:?}");
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    for (name, password) in [
        ("second_one", "correct horse battery"),
        ("nobody_c", "some guess here"),
    ] {
        let refused = login(addr, name, password);
        assert_eq!(refused.status, 429, "{refused:?}");
        assert!(refused.header("retry-after").is_some(), "{refused:?}");
        assert!(refused.json()["retry_after"].as_f64().unwrap() > 0.0);
        assert_eq!(refused.json()["global"], false);
    }
    let register_refused = register(addr, "third_one", "correct horse battery");
    assert_eq!(register_refused.status, 429, "{register_refused:?}");
    server.shutdown().unwrap();
}

both_backends!(
    address_throttle,
    one_address_guessing_many_names_is_throttled
);
