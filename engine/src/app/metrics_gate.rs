//! Who may read `GET /_flux/metrics`: what operators expect of a metrics endpoint.
//!
//! - Without a configured token (`Config::metrics_token`, `flux serve --metrics-token`),
//!   only a peer on a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127.x): a
//!   scraper on the same machine, or an SSH tunnel. Anyone else gets 403.
//! - With a token, `Authorization: Bearer <token>` from anywhere, loopback included
//!   (a scraper on another machine, behind a proxy whose address would be loopback);
//!   without it or with another, 401.
//!
//! Why: the counters say how many sessions, connections and messages the server holds and
//! how its cores are loaded, which helps an attacker time and size an attack; and the
//! answer is built from every core's counters, so it is not free to serve to a flood.
//! Refusals carry Discord's JSON error body like every other Flux error.

use std::net::IpAddr;

use crate::http::Response;

/// Whether a metrics request may be answered; the refusal to send otherwise.
pub(super) fn check_metrics_access(
    peer: IpAddr,
    authorization: Option<&[u8]>,
    token: Option<&str>,
) -> Result<(), Response> {
    match token {
        None if is_loopback(peer) => Ok(()),
        None => Err(Response::error(403, "403: Forbidden", 0)),
        Some(token) => {
            let presented = authorization.and_then(|value| value.strip_prefix(b"Bearer "));
            if presented.is_some_and(|presented| bytes_equal(presented, token.as_bytes())) {
                Ok(())
            } else {
                Err(Response::error(401, "401: Unauthorized", 0)
                    .with_header("WWW-Authenticate", "Bearer"))
            }
        }
    }
}

fn is_loopback(peer: IpAddr) -> bool {
    match peer {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Compares in time that depends only on the lengths, so a guesser learns nothing from
/// how long a refusal took.
fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn status(peer: &str, authorization: Option<&str>, token: Option<&str>) -> u16 {
        match check_metrics_access(ip(peer), authorization.map(str::as_bytes), token) {
            Ok(()) => 200,
            Err(response) => response.status,
        }
    }

    #[test]
    fn without_a_token_only_loopback_is_answered() {
        for peer in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(status(peer, None, None), 200, "{peer}");
        }
        for peer in [
            "192.0.2.2",
            "10.0.0.1",
            "0.0.0.0",
            "fd00::2",
            "::ffff:10.0.0.1",
        ] {
            assert_eq!(status(peer, None, None), 403, "{peer}");
            assert_eq!(status(peer, Some("Bearer anything"), None), 403, "{peer}");
        }
    }

    #[test]
    fn with_a_token_the_token_is_needed_from_everywhere() {
        let token = Some("s3cret");
        for peer in ["127.0.0.1", "192.0.2.2", "fd00::2"] {
            assert_eq!(status(peer, Some("Bearer s3cret"), token), 200, "{peer}");
            for wrong in [
                None,
                Some("Bearer s3cre"),
                Some("Bearer s3cret "),
                Some("bearer s3cret"),
                Some("Bot s3cret"),
                Some("s3cret"),
                Some("Bearer "),
            ] {
                assert_eq!(status(peer, wrong, token), 401, "{peer} {wrong:?}");
            }
        }
    }

    #[test]
    fn refusals_are_discord_json() {
        let refused = check_metrics_access(ip("192.0.2.2"), None, None).unwrap_err();
        let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"message": "403: Forbidden", "code": 0})
        );
        let refused = check_metrics_access(ip("127.0.0.1"), None, Some("t")).unwrap_err();
        assert_eq!(refused.status, 401);
        let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(body["code"], 0);
    }
}
