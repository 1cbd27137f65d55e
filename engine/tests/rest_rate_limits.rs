//! REST rate limits as clients see them: per-route buckets per channel and per user, the
//! global 50 requests per second per token, the headers on every response, and 429s that
//! discord.py (body + `Via`), discord.js (`Retry-After`, `X-RateLimit-Global`) and
//! twilight (`X-RateLimit-Scope`) can each act on. A property test checks the limiter
//! against a naive log of admissions: no bucket ever admits more than its limit in any
//! window, and the headers never promise room that is not there.

use engine::rest::ratelimit::{
    classify, BucketKey, RateLimitConfig, RateLimiter, Scope, Verdict, RATE_LIMITED_MESSAGE,
};
use engine::rest::{
    handle_request, handle_request_limited, Method, Request, Response, RestContext,
    SessionStartLimit,
};
use engine::world::{demo_world, Demo, Directory};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

const NOW_UNIX_MS: u64 = 1_700_000_000_000;

struct Fixture {
    demo: Demo,
    directory: Directory,
    limiter: RateLimiter,
}

fn fixture() -> Fixture {
    let demo = demo_world(NOW_UNIX_MS, [33; 32]).unwrap();
    let directory = Directory::from_world(&demo.world, demo.secret.clone());
    Fixture {
        demo,
        directory,
        limiter: RateLimiter::default(),
    }
}

impl Fixture {
    /// One request by bot `bot` (or none) at monotonic `now_ms`; wall time moves with it.
    fn call(&mut self, bot: Option<usize>, method: Method, target: &str, now_ms: u64) -> Response {
        let context = RestContext {
            directory: &self.directory,
            gateway_url: "ws://127.0.0.1:1",
            shards_recommended: 1,
            session_start_limit: SessionStartLimit::default(),
            now_unix_ms: NOW_UNIX_MS + now_ms,
        };
        let auth = bot.map(|index| format!("Bot {}", self.demo.bots[index].token));
        let request = Request::new(method, target, auth.as_deref(), b"");
        let response = handle_request_limited(&context, &mut self.limiter, &request, now_ms);
        assert_well_formed(&response);
        response
    }

    fn send(&mut self, bot: usize, channel: u64, now_ms: u64) -> Response {
        let target = format!("/api/v10/channels/{channel}/messages");
        self.call(Some(bot), Method::Post, &target, now_ms)
    }
}

fn header<'r>(response: &'r Response, name: &str) -> &'r str {
    response
        .header(name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

fn float(response: &Response, name: &str) -> f64 {
    header(response, name)
        .parse()
        .expect("a float, as clients parse it")
}

/// What every response must carry, in the formats the clients parse.
fn assert_well_formed(response: &Response) {
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert!(
        header(response, "X-RateLimit-Limit")
            .parse::<u32>()
            .unwrap()
            >= 1
    );
    let remaining: u32 = header(response, "X-RateLimit-Remaining").parse().unwrap();
    assert!(remaining <= header(response, "X-RateLimit-Limit").parse().unwrap());
    let reset = header(response, "X-RateLimit-Reset");
    let (seconds, millis) = reset.split_once('.').expect("seconds.millis");
    assert!(
        seconds.parse::<u64>().is_ok() && millis.len() == 3,
        "{reset}"
    );
    assert!(float(response, "X-RateLimit-Reset-After") > 0.0);
    let bucket = header(response, "X-RateLimit-Bucket");
    assert!(bucket.len() == 16 && bucket.bytes().all(|b| b.is_ascii_hexdigit()));
    let scope = header(response, "X-RateLimit-Scope");
    if response.status == 429 {
        assert!(["user", "global", "shared"].contains(&scope), "{scope}");
        assert_eq!(
            response.header("Via"),
            Some("1.1 flux"),
            "discord.py needs Via"
        );
        let retry_after: u64 = header(response, "Retry-After").parse().unwrap();
        let body: Value = serde_json::from_slice(&response.body).expect("a JSON 429 body");
        assert_eq!(body["message"], RATE_LIMITED_MESSAGE);
        let body_retry = body["retry_after"]
            .as_f64()
            .expect("retry_after is a number");
        assert!(body_retry > 0.0);
        assert_eq!(
            retry_after,
            ((body_retry * 1000.0).round() as u64).div_ceil(1000)
        );
        let global = body["global"].as_bool().expect("global is a bool");
        assert_eq!(global, scope == "global");
        assert_eq!(response.header("X-RateLimit-Global").is_some(), global);
    } else {
        assert_eq!(scope, "user");
        assert_eq!(response.header("Via"), None);
        assert_eq!(response.header("Retry-After"), None);
        assert_eq!(response.header("X-RateLimit-Global"), None);
    }
}

fn body(response: &Response) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

#[test]
fn five_messages_per_channel_then_429_with_the_right_retry_after() {
    let mut fixture = fixture();
    for i in 0..5 {
        let response = fixture.send(0, 10, i * 100);
        assert_ne!(response.status, 429, "message {i}");
        assert_eq!(header(&response, "X-RateLimit-Limit"), "5");
        assert_eq!(
            header(&response, "X-RateLimit-Remaining"),
            (4 - i).to_string()
        );
        assert_eq!(header(&response, "X-RateLimit-Reset-After"), "5.000");
    }
    let refused = fixture.send(0, 10, 1_500);
    assert_eq!(refused.status, 429);
    assert_eq!(header(&refused, "X-RateLimit-Scope"), "user");
    assert_eq!(header(&refused, "X-RateLimit-Remaining"), "0");
    assert_eq!(body(&refused)["retry_after"].as_f64(), Some(3.5));
    assert_eq!(body(&refused)["global"], false);
    assert_eq!(
        header(&refused, "Retry-After"),
        "4",
        "whole seconds, rounded up"
    );
    assert_eq!(header(&refused, "X-RateLimit-Reset-After"), "3.900");
    assert_eq!(header(&refused, "X-RateLimit-Reset"), "1700000005.400");
}

#[test]
fn the_window_slides_so_room_returns_one_admission_at_a_time() {
    let mut fixture = fixture();
    for i in 0..5 {
        assert_ne!(fixture.send(0, 10, i * 1_000).status, 429);
    }
    assert_eq!(fixture.send(0, 10, 4_999).status, 429);
    assert_ne!(
        fixture.send(0, 10, 5_000).status,
        429,
        "the first left the window"
    );
    assert_eq!(fixture.send(0, 10, 5_001).status, 429);
    assert_ne!(fixture.send(0, 10, 6_000).status, 429);
    let fresh = fixture.send(0, 10, 20_000);
    assert_eq!(header(&fresh, "X-RateLimit-Remaining"), "4", "fully reset");
}

#[test]
fn channels_and_users_have_their_own_buckets() {
    let mut fixture = fixture();
    for _ in 0..5 {
        assert_ne!(fixture.send(0, 10, 0).status, 429);
    }
    assert_eq!(fixture.send(0, 10, 0).status, 429);
    let other_channel = fixture.send(0, 11, 0);
    assert_ne!(other_channel.status, 429);
    assert_eq!(header(&other_channel, "X-RateLimit-Remaining"), "4");
    let other_user = fixture.send(1, 10, 0);
    assert_ne!(other_user.status, 429);
    assert_eq!(header(&other_user, "X-RateLimit-Remaining"), "4");
    // Same route, same hash: clients key buckets by hash and major parameter themselves.
    assert_eq!(
        header(&other_channel, "X-RateLimit-Bucket"),
        header(&other_user, "X-RateLimit-Bucket")
    );
}

#[test]
fn fifty_requests_per_second_per_token_then_a_global_429() {
    let mut fixture = fixture();
    for channel in 0..50 {
        assert_ne!(fixture.send(0, channel, channel * 10).status, 429);
    }
    let refused = fixture.call(Some(0), Method::Get, "/api/v10/users/@me", 600);
    assert_eq!(refused.status, 429);
    assert_eq!(header(&refused, "X-RateLimit-Scope"), "global");
    assert_eq!(header(&refused, "X-RateLimit-Global"), "true");
    assert_eq!(body(&refused)["global"], true);
    assert_eq!(body(&refused)["retry_after"].as_f64(), Some(0.4));
    assert_eq!(
        body(&refused).get("id"),
        None,
        "a refused request runs no handler"
    );
    assert_ne!(
        fixture
            .call(Some(1), Method::Get, "/api/v10/users/@me", 600)
            .status,
        429,
        "another token has its own budget"
    );
    let after = fixture.call(Some(0), Method::Get, "/api/v10/users/@me", 1_000);
    assert_eq!(after.status, 200, "one slot freed at 1 s");
    assert_eq!(body(&after)["id"], fixture.demo.bots[0].user_id.to_string());
}

#[test]
fn reactions_are_one_per_quarter_second() {
    let mut fixture = fixture();
    let target = "/api/v10/channels/1/messages/2/reactions/x/@me";
    assert_ne!(fixture.call(Some(0), Method::Put, target, 0).status, 429);
    let refused = fixture.call(Some(0), Method::Put, target, 100);
    assert_eq!(refused.status, 429);
    assert_eq!(body(&refused)["message"], "You are being rate limited.");
    assert_eq!(body(&refused)["retry_after"].as_f64(), Some(0.15));
    assert_ne!(fixture.call(Some(0), Method::Put, target, 250).status, 429);
}

#[test]
fn requests_without_a_valid_token_are_not_counted() {
    let mut fixture = fixture();
    for at in 0..100 {
        let response = fixture.call(None, Method::Get, "/api/v10/gateway", at);
        assert_eq!(response.status, 200);
        assert_eq!(header(&response, "X-RateLimit-Remaining"), "50");
    }
    assert_eq!(fixture.limiter.bucket_count(), 0);
}

#[test]
fn the_unlimited_entry_point_sends_unmetered_headers() {
    let fixture = fixture();
    let context = RestContext {
        directory: &fixture.directory,
        gateway_url: "ws://127.0.0.1:1",
        shards_recommended: 1,
        session_start_limit: SessionStartLimit::default(),
        now_unix_ms: NOW_UNIX_MS,
    };
    let request = Request::new(Method::Get, "/api/v10/gateway", None, b"");
    let response = handle_request(&context, &request);
    assert_well_formed(&response);
    assert_eq!(header(&response, "X-RateLimit-Reset"), "1700000001.000");
}

#[test]
fn pruning_keeps_memory_bounded_by_the_global_limit_times_the_window() {
    let mut limiter = RateLimiter::default();
    let mut admitted = 0;
    // One user sprays a new channel every millisecond for 30 s; the core prunes once a
    // second. Only 50 requests a second are admitted, each bucket lives 5 s, so at most
    // 50 × 5 buckets (+ one second's worth before the next prune) ever exist.
    for now_ms in 0..30_000u64 {
        if now_ms % 1_000 == 0 {
            limiter.prune(now_ms);
        }
        let path = format!("/api/v10/channels/{}/messages", now_ms + 1);
        let key = BucketKey {
            user_id: 7,
            route: classify(Method::Post, &path),
        };
        admitted += u64::from(limiter.check(key, now_ms).is_admitted());
        assert!(
            limiter.bucket_count() <= 300,
            "{} at {now_ms}",
            limiter.bucket_count()
        );
    }
    assert_eq!(admitted, 50 * 30);
    limiter.prune(40_000);
    assert_eq!((limiter.bucket_count(), limiter.user_count()), (0, 0));
}

/// Requests the property test draws from: small limits and a large one, several major
/// parameters and a route without one.
const PATHS: &[(Method, &str)] = &[
    (Method::Post, "/api/v10/channels/1/messages"),
    (Method::Post, "/api/v10/channels/2/messages"),
    (
        Method::Put,
        "/api/v10/channels/1/messages/5/reactions/x/@me",
    ),
    (Method::Post, "/api/v10/channels/1/messages/bulk-delete"),
    (Method::Get, "/api/v10/guilds/3/members"),
    (Method::Get, "/api/v10/users/@me"),
    (Method::Get, "/api/v10/no/such/route"),
];

/// What the last admission in a bucket promised a client that obeys its headers:
/// `remaining` more before `at_ms + reset_after_ms`, and a full bucket from then on.
struct Promise {
    at_ms: u64,
    remaining: u32,
    reset_after_ms: u64,
}

fn count_in_window(log: &[u64], now: u64, window_ms: u64) -> usize {
    log.iter().filter(|&&t| t + window_ms > now).count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_bucket_admits_more_than_its_limit_in_any_window(
        steps in prop::collection::vec((0u64..3, 0..PATHS.len(), 0u64..120), 1..400),
        global_limit in 3u32..60,
        // Tables this test never fills: the exact limits hold for every bucket. (A full
        // table evicts a live log, whose owner may then be admitted over that bucket's
        // limit; `a_full_table_never_locks_anyone_out` checks that path.)
        buckets_max in prop::sample::select(vec![65_536usize]),
        users_max in prop::sample::select(vec![16_384usize]),
    ) {
        let config = RateLimitConfig {
            global_limit,
            buckets_max,
            users_max,
            ..RateLimitConfig::default()
        };
        let mut limiter = RateLimiter::new(config);
        let mut route_log: HashMap<BucketKey, Vec<u64>> = HashMap::new();
        let mut global_log: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut promises: HashMap<BucketKey, Promise> = HashMap::new();
        let mut now = 0;
        for (step, (user_id, path, dt)) in steps.into_iter().enumerate() {
            now += dt;
            if step % 50 == 49 {
                limiter.prune(now);
            }
            let (method, path) = PATHS[path];
            let key = BucketKey { user_id, route: classify(method, path) };
            let policy = key.route.policy();
            let verdict = limiter.check(key, now);
            let routes = route_log.entry(key).or_default();
            let globals = global_log.entry(user_id).or_default();
            let route_used = count_in_window(routes, now, policy.window_ms);
            let global_used = count_in_window(globals, now, config.global_window_ms);
            match verdict.scope() {
                None => {
                    prop_assert!(route_used < policy.limit as usize);
                    prop_assert!(global_used < global_limit as usize);
                    routes.push(now);
                    globals.push(now);
                    prop_assert_eq!(verdict.remaining() as usize, policy.limit as usize - route_used - 1);
                    prop_assert_eq!(verdict.reset_after_ms(), policy.window_ms);
                }
                Some(Scope::User) => {
                    prop_assert_eq!(route_used, policy.limit as usize, "refused with room left");
                    prop_assert!(global_used < global_limit as usize, "global is checked first");
                    let oldest = routes[routes.len() - route_used];
                    prop_assert_eq!(verdict.retry_after_ms(), Some(oldest + policy.window_ms - now));
                    prop_assert_eq!(verdict.remaining(), 0);
                }
                Some(Scope::Global) => {
                    prop_assert_eq!(global_used, global_limit as usize, "refused with room left");
                    let oldest = globals[globals.len() - global_used];
                    prop_assert_eq!(verdict.retry_after_ms(), Some(oldest + config.global_window_ms - now));
                }
            }
            // A client obeying the last headers for this bucket is never refused by it.
            if let Some(promise) = promises.get(&key) {
                // No admission since (each one replaces the promise), so the promise covers
                // this request whenever it said there was room, and always after the reset.
                let reset = now >= promise.at_ms + promise.reset_after_ms;
                if reset || promise.remaining > 0 {
                    prop_assert_ne!(verdict.scope(), Some(Scope::User), "headers promised room");
                }
            }
            if verdict.is_admitted() {
                promises.insert(key, Promise {
                    at_ms: now,
                    remaining: verdict.remaining(),
                    reset_after_ms: verdict.reset_after_ms(),
                });
            }
            prop_assert!(limiter.user_count() <= users_max.min(3));
            prop_assert!(limiter.bucket_count() <= buckets_max);
        }
        // The reference logs never hold more than a limit in any window.
        for (key, log) in &route_log {
            let policy = key.route.policy();
            for &t in log {
                prop_assert!(count_in_window(log, t, policy.window_ms) - count_after(log, t) <= policy.limit as usize);
            }
        }
        for log in global_log.values() {
            for &t in log {
                prop_assert!(count_in_window(log, t, config.global_window_ms) - count_after(log, t) <= global_limit as usize);
            }
        }
    }

    #[test]
    fn a_full_table_never_locks_anyone_out(
        steps in prop::collection::vec((0u64..40, 0..PATHS.len(), 0u64..50), 1..400),
        buckets_max in prop::sample::select(vec![1usize, 3, 6]),
        users_max in prop::sample::select(vec![1usize, 2]),
    ) {
        let config = RateLimitConfig { buckets_max, users_max, ..RateLimitConfig::default() };
        let mut limiter = RateLimiter::new(config);
        let mut route_log: HashMap<BucketKey, Vec<u64>> = HashMap::new();
        let mut global_log: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut now = 0;
        for (user_id, path, dt) in steps {
            now += dt;
            let (method, path) = PATHS[path];
            let key = BucketKey { user_id, route: classify(method, path) };
            let policy = key.route.policy();
            let verdict = limiter.check(key, now);
            let routes = route_log.entry(key).or_default();
            let globals = global_log.entry(user_id).or_default();
            let route_room = count_in_window(routes, now, policy.window_ms) < policy.limit as usize;
            let global_room =
                count_in_window(globals, now, config.global_window_ms) < config.global_limit as usize;
            // Whenever this user's own limits have room, the request is admitted, however
            // full the tables are with other users' logs.
            if route_room && global_room {
                prop_assert!(verdict.is_admitted(), "refused for others: {:?}", verdict.scope());
            }
            if verdict.is_admitted() {
                routes.push(now);
                globals.push(now);
            }
            prop_assert!(limiter.bucket_count() <= buckets_max);
            prop_assert!(limiter.user_count() <= users_max);
        }
    }

    #[test]
    fn headers_carry_the_verdicts_numbers(
        steps in prop::collection::vec((0..PATHS.len(), 0u64..400), 1..60),
        now_unix_ms in 0u64..4_000_000_000_000,
    ) {
        let mut limiter = RateLimiter::default();
        let mut now = 0;
        for (path, dt) in steps {
            now += dt;
            let (method, path) = PATHS[path];
            let verdict = limiter.check(BucketKey { user_id: 1, route: classify(method, path) }, now);
            let headers = verdict.headers(now_unix_ms);
            let get = |name: &str| headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
            prop_assert_eq!(get("X-RateLimit-Limit"), Some(verdict.limit().to_string()));
            prop_assert_eq!(get("X-RateLimit-Remaining"), Some(verdict.remaining().to_string()));
            let reset_after: f64 = get("X-RateLimit-Reset-After").unwrap().parse().unwrap();
            prop_assert_eq!((reset_after * 1000.0).round() as u64, verdict.reset_after_ms());
            let reset: f64 = get("X-RateLimit-Reset").unwrap().parse().unwrap();
            let reset_ms = now_unix_ms + verdict.reset_after_ms();
            prop_assert!((reset * 1000.0 - reset_ms as f64).abs() < 1.0);
            prop_assert_eq!(get("Via").is_some(), !verdict.is_admitted());
            if let Some(body) = verdict.refusal_body() {
                let body: Value = serde_json::from_slice(&body).unwrap();
                let retry = verdict.retry_after_ms().unwrap();
                prop_assert_eq!((body["retry_after"].as_f64().unwrap() * 1000.0).round() as u64, retry);
                prop_assert_eq!(get("Retry-After"), Some(retry.div_ceil(1000).to_string()));
            }
            let _ = Verdict::unmetered(classify(method, path));
        }
    }
}

/// Admissions strictly after `t` (the window `(t - w, t]` must not count them).
fn count_after(log: &[u64], t: u64) -> usize {
    log.iter().filter(|&&u| u > t).count()
}
