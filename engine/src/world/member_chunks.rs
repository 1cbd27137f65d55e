//! GUILD_MEMBERS_CHUNK: the answer to gateway op 8 (Request Guild Members), built from a
//! guild snapshot.
//!
//! Implements: Discord Gateway v10 "Request Guild Members" and "Guild Members Chunk":
//! members chosen by a username prefix (`query`, case-insensitive, at most 100 unless the
//! query is empty) with `limit` (0 with an empty query: every member), or by `user_ids`
//! (those that are not members are listed in `not_found`); at most 1000 members per chunk;
//! `chunk_index`/`chunk_count`; `presences` of the chosen members when asked; the
//! request's `nonce` echoed in every chunk. No match still yields one chunk
//! (`chunk_count: 1`), because discord.py waits for `chunk_index + 1 == chunk_count`.
//!
//! Elsewhere: which sessions may ask for what (intents, gateway shard) is the session's
//! (`gateway/session/client_message.rs`); where presences come from is the core's presence map
//! (`app/presence.rs`); sending the chunks is the app's (`app/presence.rs`).
//!
//! Invariants:
//! - Every selected member appears in exactly one chunk, in guild order (query) or in
//!   request order (user ids); a chunk holds 1..=`MEMBERS_PER_CHUNK` members except the
//!   single chunk of an empty answer.
//! - Work is bounded by the guild's member count (plus 100 ids).

use serde_json::{json, Value};

use super::ids::UserId;
use super::json::{encode, member_json};
use super::model::{Guild, UserLookup};

/// Members per GUILD_MEMBERS_CHUNK, as on Discord.
pub const MEMBERS_PER_CHUNK: usize = 1000;

/// The most members a non-empty `query` returns.
pub const MEMBER_QUERY_RESULTS_MAX: usize = 100;

/// Which members an op 8 asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberSelection<'a> {
    /// Usernames starting with `prefix` (any case); `limit` 0 means no limit for an
    /// empty prefix and `MEMBER_QUERY_RESULTS_MAX` otherwise.
    Query { prefix: &'a str, limit: u32 },
    /// These users (at most 100, checked by the payload decoder).
    UserIds(&'a [u64]),
}

/// One op 8, as the chunk builder needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRequest<'a> {
    pub selection: MemberSelection<'a>,
    /// Whether to send `presences` (already false without GUILD_PRESENCES).
    pub presences: bool,
    pub nonce: Option<&'a str>,
}

/// The `d` of every GUILD_MEMBERS_CHUNK answering `request`, in order (never empty).
/// `presence_of` gives a member's presence object (`world::presence::presence_json`)
/// when the user is not offline.
///
/// ```
/// use engine::world::{demo_world, member_chunks::*};
/// let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
/// let guild = &demo.world.guilds[0];
/// let request = ChunkRequest {
///     selection: MemberSelection::Query { prefix: "", limit: 0 },
///     presences: false,
///     nonce: Some("n1"),
/// };
/// let chunks = member_chunks(guild, &demo.world, &request, |_| None);
/// let d: serde_json::Value = serde_json::from_slice(&chunks[0]).unwrap();
/// assert_eq!(d["chunk_count"], 1);
/// assert_eq!(d["members"].as_array().unwrap().len(), guild.members.len());
/// assert_eq!(d["nonce"], "n1");
/// ```
pub fn member_chunks(
    guild: &Guild,
    users: &impl UserLookup,
    request: &ChunkRequest<'_>,
    presence_of: impl Fn(UserId) -> Option<Value>,
) -> Vec<Vec<u8>> {
    let (chosen, not_found) = select(guild, users, request.selection);
    let chunk_count = chosen.len().div_ceil(MEMBERS_PER_CHUNK).max(1);
    let mut chunks = Vec::with_capacity(chunk_count);
    for chunk_index in 0..chunk_count {
        let start = (chunk_index * MEMBERS_PER_CHUNK).min(chosen.len());
        let end = (start + MEMBERS_PER_CHUNK).min(chosen.len());
        let part = chosen.get(start..end).unwrap_or_default();
        debug_assert!(!part.is_empty() || chunk_count == 1);
        let members: Vec<Value> = part.iter().map(|(_, member)| member.clone()).collect();
        let mut d = json!({
            "guild_id": guild.id.to_string(),
            "members": members,
            "chunk_index": chunk_index,
            "chunk_count": chunk_count,
            "not_found": if chunk_index == 0 { not_found.clone() } else { Vec::new() },
        });
        let Value::Object(object) = &mut d else {
            unreachable!("built with json!({{…}}) above")
        };
        if request.presences {
            let presences: Vec<Value> = part
                .iter()
                .filter_map(|(user_id, _)| presence_of(*user_id))
                .collect();
            object.insert("presences".into(), presences.into());
        }
        if let Some(nonce) = request.nonce {
            object.insert("nonce".into(), nonce.into());
        }
        chunks.push(encode(&d));
    }
    debug_assert_eq!(chunks.len(), chunk_count);
    chunks
}

/// The chosen members (user id and member JSON) and the `not_found` ids.
fn select(
    guild: &Guild,
    users: &impl UserLookup,
    selection: MemberSelection<'_>,
) -> (Vec<(UserId, Value)>, Vec<Value>) {
    match selection {
        MemberSelection::Query { prefix, limit } => {
            let limit = match (prefix.is_empty(), limit) {
                (true, 0) => usize::MAX,
                (true, n) => n as usize,
                (false, 0) => MEMBER_QUERY_RESULTS_MAX,
                (false, n) => (n as usize).min(MEMBER_QUERY_RESULTS_MAX),
            };
            let prefix = prefix.to_lowercase();
            let chosen = guild
                .members
                .iter()
                .filter_map(|member| {
                    let user = users.user(member.user_id);
                    debug_assert!(user.is_some(), "World::validate guarantees members' users");
                    let user = user?;
                    let matches =
                        prefix.is_empty() || user.username.to_lowercase().starts_with(&prefix);
                    matches.then(|| (member.user_id, member_json(member, user)))
                })
                .take(limit)
                .collect();
            (chosen, Vec::new())
        }
        MemberSelection::UserIds(ids) => {
            let mut chosen = Vec::new();
            let mut not_found = Vec::new();
            for (index, &id) in ids.iter().enumerate() {
                if ids.get(..index).is_some_and(|before| before.contains(&id)) {
                    continue; // Asked twice, answered once.
                }
                let user_id = UserId(id);
                match (guild.member(user_id), users.user(user_id)) {
                    (Some(member), Some(user)) => {
                        chosen.push((user_id, member_json(member, user)));
                    }
                    _ => not_found.push(Value::String(id.to_string())),
                }
            }
            (chosen, not_found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo::demo_world;
    use crate::world::model::{Member, User};
    use std::collections::HashMap;

    struct Users(HashMap<UserId, User>);

    impl UserLookup for Users {
        fn user(&self, id: UserId) -> Option<&User> {
            self.0.get(&id)
        }
    }

    /// The demo guild grown to `count` members named `m0000`, `m0001`, …
    fn big_guild(count: u64) -> (Guild, Users) {
        let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
        let mut guild = demo.world.guilds[0].clone();
        let template = guild.members[0].clone();
        let mut users = HashMap::new();
        guild.members.clear();
        for n in 0..count {
            let id = UserId((n + 1) << 22 | n);
            users.insert(
                id,
                User {
                    id,
                    username: format!("m{n:04}"),
                    global_name: None,
                    bot: false,
                    public_flags: 0,
                    mfa_enabled: false,
                },
            );
            guild.members.push(Member {
                user_id: id,
                ..template.clone()
            });
        }
        (guild, Users(users))
    }

    fn decode(chunks: &[Vec<u8>]) -> Vec<Value> {
        chunks
            .iter()
            .map(|c| serde_json::from_slice(c).unwrap())
            .collect()
    }

    fn names(d: &Value) -> Vec<String> {
        d["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user"]["username"].as_str().unwrap().to_string())
            .collect()
    }

    fn query(prefix: &str, limit: u32) -> ChunkRequest<'_> {
        ChunkRequest {
            selection: MemberSelection::Query { prefix, limit },
            presences: false,
            nonce: None,
        }
    }

    #[test]
    fn everyone_is_split_into_chunks_of_1000_in_guild_order() {
        for (count, want_chunks) in [(999, 1), (1000, 1), (1001, 2), (2500, 3)] {
            let (guild, users) = big_guild(count);
            let mut request = query("", 0);
            request.nonce = Some("abc");
            let chunks = decode(&member_chunks(&guild, &users, &request, |_| None));
            assert_eq!(chunks.len(), want_chunks, "{count}");
            let mut seen = Vec::new();
            for (index, d) in chunks.iter().enumerate() {
                assert_eq!(d["chunk_index"], index);
                assert_eq!(d["chunk_count"], want_chunks);
                assert_eq!(d["nonce"], "abc");
                assert_eq!(d["guild_id"], guild.id.to_string());
                assert!(d.get("presences").is_none(), "not asked");
                let len = d["members"].as_array().unwrap().len();
                assert!((1..=MEMBERS_PER_CHUNK).contains(&len));
                seen.extend(names(d));
            }
            let want: Vec<String> = (0..count).map(|n| format!("m{n:04}")).collect();
            assert_eq!(seen, want, "each member once, in order");
        }
    }

    #[test]
    fn query_is_a_case_insensitive_prefix_with_limits() {
        let (guild, users) = big_guild(300);
        let run = |request: ChunkRequest<'_>| {
            let chunks = decode(&member_chunks(&guild, &users, &request, |_| None));
            assert_eq!(chunks.len(), 1);
            names(&chunks[0])
        };
        assert_eq!(run(query("M012", 0)).len(), 10); // m0120..m0129
        assert_eq!(run(query("m012", 3)), vec!["m0120", "m0121", "m0122"]);
        assert_eq!(run(query("m", 0)).len(), MEMBER_QUERY_RESULTS_MAX);
        assert_eq!(run(query("m", 5000)).len(), MEMBER_QUERY_RESULTS_MAX);
        assert_eq!(run(query("", 7)).len(), 7);
        assert_eq!(run(query("", 0)).len(), 300);
        // No match: one empty chunk, so a client waiting for the last chunk stops waiting.
        let none = decode(&member_chunks(&guild, &users, &query("zz", 0), |_| None));
        assert_eq!(none.len(), 1);
        assert_eq!(none[0]["chunk_count"], 1);
        assert_eq!(none[0]["members"], json!([]));
        assert!(none[0].get("nonce").is_none(), "no nonce asked, none sent");
    }

    proptest::proptest! {
        // Each case builds a guild of up to 2300 members: few cases keep debug runs short.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Any guild size, prefix and limit: chunks are numbered 0..count, hold
        /// 1..=1000 members each (or one empty chunk), and together hold exactly the
        /// matching members in guild order, no more than the limit.
        #[test]
        fn chunks_partition_the_matching_members(
            count in 0u64..2300,
            prefix in "(|m|M0|m00|m1|x)",
            limit in proptest::prop_oneof![proptest::strategy::Just(0u32), 1u32..3000],
        ) {
            let (guild, users) = big_guild(count);
            let chunks = decode(&member_chunks(&guild, &users, &query(&prefix, limit), |_| None));
            let lower = prefix.to_lowercase();
            let mut want: Vec<String> = (0..count)
                .map(|n| format!("m{n:04}"))
                .filter(|name| name.starts_with(&lower))
                .collect();
            let cap = match (prefix.is_empty(), limit) {
                (true, 0) => usize::MAX,
                (true, n) => n as usize,
                (false, 0) => MEMBER_QUERY_RESULTS_MAX,
                (false, n) => (n as usize).min(MEMBER_QUERY_RESULTS_MAX),
            };
            want.truncate(cap);
            let mut seen = Vec::new();
            for (index, d) in chunks.iter().enumerate() {
                proptest::prop_assert_eq!(d["chunk_index"].as_u64(), Some(index as u64));
                proptest::prop_assert_eq!(d["chunk_count"].as_u64(), Some(chunks.len() as u64));
                let len = d["members"].as_array().unwrap().len();
                proptest::prop_assert!(len <= MEMBERS_PER_CHUNK);
                proptest::prop_assert!(len > 0 || chunks.len() == 1);
                seen.extend(names(d));
            }
            proptest::prop_assert_eq!(seen, want);
        }
    }

    #[test]
    fn user_ids_list_the_missing_in_not_found_and_presences_when_asked() {
        let (guild, users) = big_guild(5);
        let first = guild.members[0].user_id.0;
        let third = guild.members[2].user_id.0;
        let ids = [third, 12345, first, third];
        let request = ChunkRequest {
            selection: MemberSelection::UserIds(&ids),
            presences: true,
            nonce: Some("x"),
        };
        let presence_of = |id: UserId| {
            (id.0 == first).then(|| json!({"user": {"id": id.0.to_string()}, "status": "idle"}))
        };
        let chunks = decode(&member_chunks(&guild, &users, &request, presence_of));
        assert_eq!(chunks.len(), 1);
        assert_eq!(names(&chunks[0]), vec!["m0002", "m0000"]);
        assert_eq!(chunks[0]["not_found"], json!(["12345"]));
        assert_eq!(chunks[0]["presences"].as_array().unwrap().len(), 1);
        assert_eq!(chunks[0]["presences"][0]["status"], "idle");
        assert_eq!(chunks[0]["members"][0]["user"]["id"], third.to_string());
        assert!(chunks[0]["members"][0]["roles"].is_array());
    }
}
