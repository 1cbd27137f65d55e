//! The READY dispatch body, built once per session from the caller's pre-serialised pieces.
//!
//! Fields are what the clients need (CLIENTS.md §1.2 row 6, §3): `v`, `user`, `guilds` as
//! unavailable stubs, `session_id`, `resume_gateway_url` (no trailing slash), `shard`,
//! `application {id, flags}`, plus the empty collections Discord also sends to bots
//! (`private_channels`, `relationships`, `presences`, `guild_join_requests`, ...), which
//! strict deserialisers (twilight, hikari) may expect.

use std::io::Write;

use super::payload::GatewayShard;
use super::session_id::SessionId;

/// What READY is built from.
pub(crate) struct ReadyParts<'a> {
    /// The user object, JSON, as the caller serialised it.
    pub user_json: &'a str,
    /// Guilds on this gateway shard.
    pub guild_ids: &'a [u64],
    pub session_id: SessionId,
    pub resume_gateway_url: &'a str,
    pub shard: GatewayShard,
    pub application_id: u64,
    pub application_flags: u64,
}

/// The `d` of READY.
pub(crate) fn encode_ready(parts: &ReadyParts<'_>) -> Vec<u8> {
    debug_assert!(!parts.resume_gateway_url.ends_with('/'));
    let mut out = Vec::with_capacity(512 + parts.user_json.len() + parts.guild_ids.len() * 40);
    let url = serde_json::to_string(parts.resume_gateway_url).expect("a string serialises");
    // Writing to a Vec cannot fail.
    let _ = write!(out, r#"{{"v":10,"user":{},"guilds":["#, parts.user_json);
    for (i, guild_id) in parts.guild_ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(out, r#"{{"id":"{guild_id}","unavailable":true}}"#);
    }
    let _ = write!(
        out,
        r#"],"session_id":"{}","session_type":"normal","resume_gateway_url":{url},"shard":[{},{}],"application":{{"id":"{}","flags":{}}},"private_channels":[],"relationships":[],"presences":[],"guild_join_requests":[],"geo_ordered_rtc_regions":[],"user_settings":{{}},"_trace":["[\"flux\",{{\"micros\":0}}]"]}}"#,
        parts.session_id,
        parts.shard.id,
        parts.shard.count,
        parts.application_id,
        parts.application_flags,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_has_every_field_clients_require() {
        let session_id = SessionId::new(2, 77);
        let d = encode_ready(&ReadyParts {
            user_json: r#"{"id":"5","username":"bot","discriminator":"0","avatar":null,"mfa_enabled":false}"#,
            guild_ids: &[10, 20],
            session_id,
            resume_gateway_url: "ws://127.0.0.1:8080",
            shard: GatewayShard { id: 1, count: 2 },
            application_id: 5,
            application_flags: 0,
        });
        let v: serde_json::Value = serde_json::from_slice(&d).unwrap();
        assert_eq!(v["v"], 10);
        assert_eq!(v["user"]["id"], "5");
        assert_eq!(v["user"]["mfa_enabled"], false);
        assert_eq!(
            v["guilds"],
            serde_json::json!([{"id":"10","unavailable":true},{"id":"20","unavailable":true}])
        );
        assert_eq!(v["session_id"], session_id.to_string());
        assert_eq!(v["resume_gateway_url"], "ws://127.0.0.1:8080");
        assert_eq!(v["shard"], serde_json::json!([1, 2]));
        assert_eq!(v["application"], serde_json::json!({"id":"5","flags":0}));
        assert_eq!(v["private_channels"], serde_json::json!([]));
        assert!(v["_trace"].is_array());
    }

    #[test]
    fn no_guilds_is_an_empty_list() {
        let d = encode_ready(&ReadyParts {
            user_json: "{}",
            guild_ids: &[],
            session_id: SessionId::new(0, 0),
            resume_gateway_url: "ws://h\"x",
            shard: GatewayShard::ONE,
            application_id: 1,
            application_flags: 8,
        });
        let v: serde_json::Value = serde_json::from_slice(&d).unwrap();
        assert_eq!(v["guilds"], serde_json::json!([]));
        assert_eq!(v["resume_gateway_url"], "ws://h\"x");
    }
}
