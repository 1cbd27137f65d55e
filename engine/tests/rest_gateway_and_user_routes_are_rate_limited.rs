//! The gateway and user routes (`/users/@me`, `/gateway/bot`, …) are metered on the
//! caller's home core like the message routes: real `X-RateLimit-Remaining` counts, and once the
//! token's budget is spent a 429 with `Retry-After`, `Via`, `X-RateLimit-Global` (when the
//! global limit refused it) and Discord's `{message, retry_after, global}` body — whichever
//! core the connection landed on. The public `GET /gateway` (no token) stays unmetered.

mod support;

use support::{start_flux, HttpClient, HttpResponse};

/// Sends `count` pipelined GETs of `path` on one connection and reads every answer.
fn burst(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
    count: usize,
) -> Vec<HttpResponse> {
    let mut http = HttpClient::new(addr);
    let authorization = token.map_or(String::new(), |token| {
        format!("Authorization: Bot {token}\r\n")
    });
    let request = format!("GET {path} HTTP/1.1\r\nHost: flux\r\n{authorization}\r\n");
    http.send(request.repeat(count).as_bytes());
    (0..count)
        .map(|_| http.read_response().expect("one answer per request"))
        .collect()
}

fn gateway_and_user_routes_are_metered(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let token = &boot.bots[0].token;

    let first = burst(addr, "/api/v10/users/@me", Some(token), 1).remove(0);
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.header("x-ratelimit-limit"), Some("50"));
    assert_eq!(
        first.header("x-ratelimit-remaining"),
        Some("49"),
        "counted, not a fresh bucket's headers"
    );

    // Spend the token's budget from several connections at once (they land on either
    // core; the count lives on the user's home core). 4 × 20 requests, at most 50 admitted
    // per second: the burst takes far less than a second, so some are refused.
    let answers: Vec<HttpResponse> = std::thread::scope(|scope| {
        let workers: Vec<_> = ["/api/v10/users/@me", "/api/v10/gateway/bot"]
            .iter()
            .cycle()
            .take(4)
            .map(|path| scope.spawn(move || burst(addr, path, Some(token), 20)))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    let admitted = answers.iter().filter(|a| a.status == 200).count();
    let refused: Vec<&HttpResponse> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(
        admitted + refused.len(),
        answers.len(),
        "only 200s and 429s"
    );
    assert!(!refused.is_empty(), "81 requests in well under a second");
    assert!(
        admitted <= 49,
        "the first call already used one of 50: {admitted}"
    );
    for answer in &refused {
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(answer.header("via"), Some("1.1 flux"));
        let retry_after: f64 = answer
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(retry_after > 0.0 && retry_after <= 1.0, "{retry_after}");
        let body = answer.json();
        assert_eq!(body["message"], "You are being rate limited.");
        assert!(body["retry_after"].as_f64().unwrap() > 0.0);
        let global = body["global"].as_bool().expect("global is a bool");
        assert_eq!(
            answer.header("x-ratelimit-global"),
            global.then_some("true"),
            "present exactly when global"
        );
        assert!(answer.header("x-ratelimit-scope").is_some());
    }

    // Without a token, GET /gateway is not counted per token (Discord limits it per IP).
    let public = burst(addr, "/api/v10/gateway", None, 60);
    assert!(public.iter().all(|answer| answer.status == 200));
    let unauthorized = burst(addr, "/api/v10/users/@me", None, 3);
    assert!(unauthorized.iter().all(|answer| answer.status == 401));
}

both_backends!(
    gateway_and_user_routes_get_real_buckets_and_429s,
    gateway_and_user_routes_are_metered
);
