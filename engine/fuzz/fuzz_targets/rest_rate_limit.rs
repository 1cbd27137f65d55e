//! Fuzz the rate-limit route classifier and the limiter with hostile paths and times.
//!
//! Input: lines of `<method byte><time step byte><path bytes>`. Properties: no input
//! panics; every path gets a class whose template its bucket hash is derived from; a
//! refusal always has a positive wait and a 429 body; the tables stay within their caps.
#![no_main]

use engine::rest::ratelimit::{classify, BucketKey, RateLimitConfig, RateLimiter};
use engine::rest::Method;
use libfuzzer_sys::fuzz_target;

const METHODS: [Method; 6] = [
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Patch,
    Method::Delete,
    Method::Other,
];

fuzz_target!(|data: &[u8]| {
    let config = RateLimitConfig {
        buckets_max: 8,
        users_max: 2,
        ..RateLimitConfig::default()
    };
    let mut limiter = RateLimiter::new(config);
    let mut now_ms = 0u64;
    for line in data.split(|&byte| byte == b'\n') {
        let [method, step, path @ ..] = line else {
            continue;
        };
        let Ok(path) = std::str::from_utf8(path) else {
            continue;
        };
        now_ms += u64::from(*step) * 7;
        let route = classify(METHODS[usize::from(*method) % METHODS.len()], path);
        assert_eq!(route.bucket_hash().len(), 16);
        let key = BucketKey {
            user_id: u64::from(*method % 3),
            route,
        };
        let verdict = limiter.check(key, now_ms);
        assert!(verdict.remaining() <= verdict.limit());
        assert_eq!(verdict.is_admitted(), verdict.refusal_body().is_none());
        if let Some(wait) = verdict.retry_after_ms() {
            assert!(wait >= 1);
        }
        assert!(limiter.bucket_count() <= config.buckets_max);
        assert!(limiter.user_count() <= config.users_max);
        if *step == 0xff {
            limiter.prune(now_ms);
        }
    }
});
