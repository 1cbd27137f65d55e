//! The rate-limit headers every REST response carries.
//!
//! For now the values are constant but well formed: a 50-request bucket per route with
//! 49 remaining that resets in one second, scope `user`. Clients therefore never wait,
//! and every client's parser is satisfied: discord.py needs `Limit`, `Remaining` and a
//! reset header together (CLIENTS.md §1.5), twilight parses them only when `Scope` is
//! present and then needs `Bucket`, `Limit`, `Remaining`, `Reset-After` (§3), discord.js
//! reads the same set (§2). The real per-route buckets, the global limit and 429s with
//! `Retry-After`, `X-RateLimit-Global` and `Via` are issue 6; they replace `headers`
//! with values from a limiter and keep the header names.

use super::router::Route;

/// The constant bucket size advertised until the limiter exists.
pub const LIMIT: u32 = 50;
/// Milliseconds until the advertised bucket resets.
pub const RESET_AFTER_MS: u64 = 1_000;

/// The six rate-limit headers for a response to `route` (`None`: an unrouted request) at
/// `now_unix_ms`.
pub fn headers(route: Option<&Route>, now_unix_ms: u64) -> [(&'static str, String); 6] {
    let reset_ms = now_unix_ms + RESET_AFTER_MS;
    [
        ("X-RateLimit-Limit", LIMIT.to_string()),
        ("X-RateLimit-Remaining", (LIMIT - 1).to_string()),
        (
            "X-RateLimit-Reset",
            format!("{}.{:03}", reset_ms / 1000, reset_ms % 1000),
        ),
        (
            "X-RateLimit-Reset-After",
            format!("{}.{:03}", RESET_AFTER_MS / 1000, RESET_AFTER_MS % 1000),
        ),
        ("X-RateLimit-Bucket", bucket(route)),
        ("X-RateLimit-Scope", "user".to_string()),
    ]
}

/// The opaque bucket id of a route: a stable hash of its template (FNV-1a, 64 bits, hex),
/// so the same route always reports the same bucket, as Discord's hashes do.
pub fn bucket(route: Option<&Route>) -> String {
    let template = route.map_or("unrouted", Route::template);
    let hash = template
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::UserId;

    #[test]
    fn header_values_parse_as_clients_parse_them() {
        let headers = headers(Some(&Route::CurrentUser), 1_700_000_000_250);
        let value = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
                .unwrap()
        };
        assert_eq!(value("X-RateLimit-Limit").parse::<u32>().unwrap(), 50);
        assert!(value("X-RateLimit-Remaining").parse::<u32>().unwrap() > 0);
        assert_eq!(value("X-RateLimit-Reset"), "1700000001.250");
        assert_eq!(
            value("X-RateLimit-Reset-After").parse::<f64>().unwrap(),
            1.0
        );
        assert_eq!(value("X-RateLimit-Scope"), "user");
        assert_eq!(value("X-RateLimit-Bucket").len(), 16);
    }

    #[test]
    fn buckets_follow_the_route_template_not_its_parameters() {
        let a = bucket(Some(&Route::User(UserId(1))));
        assert_eq!(a, bucket(Some(&Route::User(UserId(2)))));
        assert_ne!(a, bucket(Some(&Route::CurrentUser)));
        assert_ne!(a, bucket(None));
    }
}
