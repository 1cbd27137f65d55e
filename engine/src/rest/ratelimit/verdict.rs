//! A limiter's answer for one request, and how it is written on the response.
//!
//! Every response carries `X-RateLimit-Limit`, `-Remaining`, `-Reset` (Unix seconds with
//! milliseconds, `1700000001.250`), `-Reset-After` (seconds with milliseconds, `4.400`),
//! `-Bucket` and `-Scope`. Who reads what (CLIENTS.md §1.5, §2, §3):
//! - discord.py reads `Limit`, `Remaining`, `Reset-After` (or `Reset`) and `Bucket`; on a
//!   429 it reads only the JSON body (`retry_after` as float seconds, `global`) and treats
//!   a 429 *without a `Via` header* as a Cloudflare ban that it does not retry.
//! - discord.js reads the same headers plus `Retry-After` (`Number(value) * 1000`, so an
//!   integer or a float both work) and treats the mere *presence* of
//!   `X-RateLimit-Global` as global: it is sent only on a global 429, never as `false`.
//! - twilight parses the set only when `X-RateLimit-Scope` is present: `user` needs
//!   bucket, limit, remaining and reset-after; `shared` needs bucket and `Retry-After`;
//!   `global` nothing more.
//!
//! A 429 therefore adds `Retry-After` (whole seconds rounded up, as Discord sends it, so a
//! client never retries early), `Via: 1.1 flux`, `X-RateLimit-Global: true` when global,
//! and the body `{"message": "You are being rate limited.", "retry_after": 0.25,
//! "global": false}` (retry_after in seconds with millisecond precision). `Content-Type:
//! application/json` is the REST wrapper's to add, as for every response.

use super::limiter::Scope;
use super::routes::RouteClass;
use crate::world::encode;
use serde_json::json;

/// The limiter's answer for one request. `Copy` and small: a home core can send it back
/// over the mesh to the core that holds the connection.
///
/// ```
/// use engine::rest::ratelimit::{classify, Verdict};
/// use engine::rest::Method;
/// let verdict = Verdict::unmetered(classify(Method::Get, "/api/v10/users/@me"));
/// assert!(verdict.is_admitted());
/// let headers = verdict.headers(1_700_000_000_000);
/// assert!(headers.contains(&("X-RateLimit-Reset-After", "1.000".to_string())));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    route: RouteClass,
    remaining: u32,
    reset_after_ms: u64,
    refusal: Option<Refusal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refusal {
    scope: Scope,
    retry_after_ms: u64,
}

/// The `message` of every 429 body, Discord's wording.
pub const RATE_LIMITED_MESSAGE: &str = "You are being rate limited.";

impl Verdict {
    /// The answer for a request nothing was counted against (no token to key it by):
    /// a fresh bucket, full, resetting in one window.
    pub fn unmetered(route: RouteClass) -> Verdict {
        let policy = route.policy();
        Verdict {
            route,
            remaining: policy.limit,
            reset_after_ms: policy.window_ms,
            refusal: None,
        }
    }

    /// An admission that left `used` admissions in the bucket's window.
    pub(super) fn admitted(route: RouteClass, used: u32, reset_after_ms: u64) -> Verdict {
        let limit = route.policy().limit;
        debug_assert!(used >= 1 && used <= limit, "an admission is in its window");
        Verdict {
            route,
            remaining: limit.saturating_sub(used),
            reset_after_ms,
            refusal: None,
        }
    }

    /// A refusal; `used` and `reset_after_ms` describe the route bucket as it stands.
    pub(super) fn refused(
        route: RouteClass,
        used: u32,
        reset_after_ms: u64,
        scope: Scope,
        retry_after_ms: u64,
    ) -> Verdict {
        debug_assert!(retry_after_ms >= 1, "a refusal always has a wait");
        Verdict {
            route,
            remaining: route.policy().limit.saturating_sub(used),
            reset_after_ms,
            refusal: Some(Refusal {
                scope,
                retry_after_ms,
            }),
        }
    }

    /// Whether the request may run.
    pub fn is_admitted(&self) -> bool {
        self.refusal.is_none()
    }

    /// The route this verdict is about.
    pub fn route(&self) -> RouteClass {
        self.route
    }

    /// The bucket's limit (`X-RateLimit-Limit`).
    pub fn limit(&self) -> u32 {
        self.route.policy().limit
    }

    /// Admissions the bucket has room for now (`X-RateLimit-Remaining`).
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Milliseconds until the bucket is full again (`X-RateLimit-Reset-After`).
    pub fn reset_after_ms(&self) -> u64 {
        self.reset_after_ms
    }

    /// Why the request was refused, if it was.
    pub fn scope(&self) -> Option<Scope> {
        self.refusal.map(|refusal| refusal.scope)
    }

    /// Milliseconds until a retry is admitted, if the request was refused.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.refusal.map(|refusal| refusal.retry_after_ms)
    }

    /// The rate-limit headers for this verdict at wall-clock time `now_unix_ms` (only
    /// `X-RateLimit-Reset` depends on it). Six on an admission; a refusal adds
    /// `Retry-After`, `Via` and, when global, `X-RateLimit-Global`.
    pub fn headers(&self, now_unix_ms: u64) -> Vec<(&'static str, String)> {
        let mut headers = Vec::with_capacity(9);
        headers.push(("X-RateLimit-Limit", self.limit().to_string()));
        headers.push(("X-RateLimit-Remaining", self.remaining.to_string()));
        headers.push((
            "X-RateLimit-Reset",
            seconds_with_ms(now_unix_ms.saturating_add(self.reset_after_ms)),
        ));
        headers.push((
            "X-RateLimit-Reset-After",
            seconds_with_ms(self.reset_after_ms),
        ));
        headers.push(("X-RateLimit-Bucket", self.route.bucket_hash()));
        let scope = match self.scope() {
            None | Some(Scope::User) => "user",
            Some(Scope::Global) => "global",
        };
        headers.push(("X-RateLimit-Scope", scope.to_string()));
        if let Some(refusal) = self.refusal {
            let seconds = refusal.retry_after_ms.div_ceil(1000);
            headers.push(("Retry-After", seconds.to_string()));
            headers.push(("Via", "1.1 flux".to_string()));
            if refusal.scope == Scope::Global {
                headers.push(("X-RateLimit-Global", "true".to_string()));
            }
        }
        headers
    }

    /// The 429 JSON body for a refusal; `None` for an admission.
    pub fn refusal_body(&self) -> Option<Vec<u8>> {
        let refusal = self.refusal?;
        let body = json!({
            "message": RATE_LIMITED_MESSAGE,
            "retry_after": refusal.retry_after_ms as f64 / 1000.0,
            "global": refusal.scope == Scope::Global,
        });
        Some(encode(&body))
    }
}

/// `1234` ms → `"1.234"`.
fn seconds_with_ms(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::ratelimit::classify;
    use crate::rest::Method;
    use serde_json::Value;

    fn value<'h>(headers: &'h [(&'static str, String)], name: &str) -> Option<&'h str> {
        headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    fn reaction() -> RouteClass {
        classify(
            Method::Put,
            "/api/v10/channels/1/messages/2/reactions/x/@me",
        )
    }

    #[test]
    fn admission_headers_are_the_six_clients_parse() {
        let verdict =
            Verdict::admitted(classify(Method::Post, "/api/channels/1/messages"), 2, 4_400);
        let headers = verdict.headers(1_700_000_000_250);
        assert_eq!(headers.len(), 6);
        assert_eq!(value(&headers, "X-RateLimit-Limit"), Some("5"));
        assert_eq!(value(&headers, "X-RateLimit-Remaining"), Some("3"));
        assert_eq!(value(&headers, "X-RateLimit-Reset"), Some("1700000004.650"));
        assert_eq!(value(&headers, "X-RateLimit-Reset-After"), Some("4.400"));
        assert_eq!(value(&headers, "X-RateLimit-Scope"), Some("user"));
        let bucket = value(&headers, "X-RateLimit-Bucket").unwrap();
        assert!(bucket.len() == 16 && bucket.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(verdict.refusal_body(), None);
    }

    #[test]
    fn a_route_refusal_has_retry_after_via_and_no_global_header() {
        let verdict = Verdict::refused(reaction(), 1, 250, Scope::User, 250);
        let headers = verdict.headers(1_000);
        assert_eq!(value(&headers, "Retry-After"), Some("1"), "rounded up");
        assert_eq!(value(&headers, "Via"), Some("1.1 flux"));
        assert_eq!(
            value(&headers, "X-RateLimit-Global"),
            None,
            "presence means global"
        );
        assert_eq!(value(&headers, "X-RateLimit-Scope"), Some("user"));
        assert_eq!(value(&headers, "X-RateLimit-Remaining"), Some("0"));
        let body: Value = serde_json::from_slice(&verdict.refusal_body().unwrap()).unwrap();
        assert_eq!(body["message"], RATE_LIMITED_MESSAGE);
        assert_eq!(body["retry_after"].as_f64(), Some(0.25));
        assert_eq!(body["global"], false);
    }

    #[test]
    fn a_global_refusal_says_so_everywhere() {
        let verdict = Verdict::refused(reaction(), 0, 250, Scope::Global, 1_001);
        let headers = verdict.headers(1_000);
        assert_eq!(value(&headers, "X-RateLimit-Global"), Some("true"));
        assert_eq!(value(&headers, "X-RateLimit-Scope"), Some("global"));
        assert_eq!(value(&headers, "Retry-After"), Some("2"));
        assert_eq!(value(&headers, "X-RateLimit-Remaining"), Some("1"));
        let body: Value = serde_json::from_slice(&verdict.refusal_body().unwrap()).unwrap();
        assert_eq!(body["retry_after"].as_f64(), Some(1.001));
        assert_eq!(body["global"], true);
    }

    #[test]
    fn seconds_keep_three_decimals() {
        assert_eq!(seconds_with_ms(0), "0.000");
        assert_eq!(seconds_with_ms(5), "0.005");
        assert_eq!(seconds_with_ms(250), "0.250");
        assert_eq!(seconds_with_ms(60_000), "60.000");
    }
}
