//! Decoding client payloads: `{"op": N, "d": ...}` into typed, validated values.
//!
//! Implements: the `d` shapes of Discord Gateway v10 ops 1, 2, 3, 4, 6, 8 and 31, with the
//! leniency real clients need (CLIENTS.md): snowflakes as strings *or* numbers (discord.py
//! sends op 8 `guild_id` as a number), a `Bot ` prefix on tokens (twilight), presence with
//! the legacy `game` key (discord.py), `presence: null` (twilight), `seq: null` on Resume.
//!
//! Elsewhere: what a session does with each payload (`session/client_message.rs`); intents
//! and shard rules that need the session's state are checked there, rules about the payload
//! alone here.
//!
//! Invariants:
//! - Any byte string yields `Ok` or a `GatewayError`, never a panic (fuzzed: `gateway_payload`).
//! - Payloads over `CLIENT_PAYLOAD_BYTES_MAX` are refused before they are parsed.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::num::NonZeroU32;

use super::error::GatewayError;
use super::intents::Intents;
use super::opcode::Opcode;

/// The largest client payload Discord accepts; bigger ones close with 4002. A shell whose
/// WebSocket decoder enforces a message size limit should use this value and report a
/// message over it as `Input::PayloadTooLarge`.
pub const CLIENT_PAYLOAD_BYTES_MAX: usize = 4096;

/// `large_threshold` must lie in this range (Discord's documented 50..=250).
pub const LARGE_THRESHOLD_RANGE: std::ops::RangeInclusive<u64> = 50..=250;

/// Longest `nonce` in op 8 that is echoed back; Discord ignores longer ones, and so do we.
pub const MEMBER_REQUEST_NONCE_BYTES_MAX: usize = 32;

/// Most `user_ids` in one op 8.
pub const MEMBER_REQUEST_USER_IDS_MAX: usize = 100;

/// One decoded client payload.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientPayload {
    /// op 1: `d` is the last sequence number the client saw, or null.
    Heartbeat { seq: Option<u64> },
    /// op 2.
    Identify(Box<Identify>),
    /// op 3.
    PresenceUpdate(PresenceUpdate),
    /// op 4.
    VoiceStateUpdate(VoiceStateUpdate),
    /// op 6.
    Resume(Resume),
    /// op 8.
    RequestGuildMembers(RequestGuildMembers),
    /// op 31.
    RequestSoundboardSounds(RequestSoundboardSounds),
}

/// `[shard_id, shard_count]` from Identify: which slice of the user's guilds this connection
/// carries. (Flux's own "shard" is a core's slice of guilds; this is Discord's.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GatewayShard {
    pub id: u32,
    pub count: u32,
}

impl GatewayShard {
    /// The whole user on one connection.
    pub const ONE: GatewayShard = GatewayShard { id: 0, count: 1 };

    /// The gateway shard that receives a guild's events: `(guild_id >> 22) % count`
    /// (`snowflake::Snowflake::shard_of`, Discord's formula, which also picks Flux's
    /// owner cores). A `count` of 0 counts as 1.
    pub fn for_guild(guild_id: u64, count: u32) -> u32 {
        debug_assert!(count > 0);
        let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        snowflake::Snowflake::new(guild_id).shard_of(count)
    }

    /// Whether this shard receives `guild_id`'s events.
    pub fn carries_guild(self, guild_id: u64) -> bool {
        GatewayShard::for_guild(guild_id, self.count) == self.id
    }

    /// Whether this shard receives direct-message events (shard 0 only).
    pub fn carries_direct_messages(self) -> bool {
        self.id == 0
    }
}

/// `properties` from Identify; missing strings are empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionProperties {
    pub os: String,
    pub browser: String,
    pub device: String,
}

/// op 2 Identify, validated except for what needs the user (token, privileged intents).
#[derive(Debug, Clone, PartialEq)]
pub struct Identify {
    /// The token without any `Bot ` prefix.
    pub token: String,
    pub properties: ConnectionProperties,
    /// Payload compression (zlib per message); Flux ignores it and sends plain payloads,
    /// which every client accepts.
    pub compress: bool,
    pub large_threshold: u16,
    pub shard: GatewayShard,
    pub presence: Option<PresenceUpdate>,
    pub intents: Intents,
}

/// A user's status in a presence update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Online,
    Dnd,
    Idle,
    Invisible,
    Offline,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Online => "online",
            Status::Dnd => "dnd",
            Status::Idle => "idle",
            Status::Invisible => "invisible",
            Status::Offline => "offline",
        }
    }
}

/// One activity in a presence update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub name: String,
    /// Activity type 0..=6 (playing, streaming, listening, watching, custom, competing, hang).
    pub kind: u8,
    pub url: Option<String>,
    pub state: Option<String>,
}

/// op 3 Presence Update (also the `presence` of Identify).
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceUpdate {
    /// Unix ms since the client went idle.
    pub since: Option<u64>,
    pub activities: Vec<Activity>,
    pub status: Status,
    pub afk: bool,
}

/// op 4 Voice State Update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceStateUpdate {
    pub guild_id: u64,
    /// None: leave voice.
    pub channel_id: Option<u64>,
    pub self_mute: bool,
    pub self_deaf: bool,
}

/// op 6 Resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The token without any `Bot ` prefix.
    pub token: String,
    pub session_id: String,
    /// The last sequence number the client saw (null counts as 0).
    pub seq: u64,
}

/// op 8 Request Guild Members: either a name `query` (with `limit`) or `user_ids`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestGuildMembers {
    pub guild_id: u64,
    pub query: Option<String>,
    pub limit: u32,
    pub presences: bool,
    pub user_ids: Option<Vec<u64>>,
    /// Dropped when longer than 32 bytes, as Discord does.
    pub nonce: Option<String>,
}

/// op 31 Request Soundboard Sounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSoundboardSounds {
    pub guild_ids: Vec<u64>,
}

/// Decodes one client message (TEXT or BINARY frame; both carry JSON).
///
/// ```
/// use engine::gateway::{decode_client_payload, ClientPayload};
/// let p = decode_client_payload(br#"{"op":1,"d":null}"#).unwrap();
/// assert_eq!(p, ClientPayload::Heartbeat { seq: None });
/// assert_eq!(decode_client_payload(b"{").unwrap_err().close_code().code(), 4002);
/// ```
pub fn decode_client_payload(bytes: &[u8]) -> Result<ClientPayload, GatewayError> {
    if bytes.len() > CLIENT_PAYLOAD_BYTES_MAX {
        return Err(GatewayError::PayloadTooLarge { len: bytes.len() });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| decode_error("payload is not UTF-8"))?;
    let envelope: Envelope<'_> = serde_json::from_str(text).map_err(json_error)?;
    let opcode = Opcode::from_u64(envelope.op)
        .filter(|o| o.sent_by_client())
        .ok_or(GatewayError::UnknownOpcode(envelope.op))?;
    let d = envelope.d.map(RawValue::get).unwrap_or("null");
    Ok(match opcode {
        Opcode::Heartbeat => ClientPayload::Heartbeat {
            seq: parse_d::<Option<u64>>(d)?,
        },
        Opcode::Identify => {
            ClientPayload::Identify(Box::new(parse_d::<IdentifyWire>(d)?.validate()?))
        }
        Opcode::PresenceUpdate => {
            ClientPayload::PresenceUpdate(parse_d::<PresenceWire>(d)?.validate()?)
        }
        Opcode::VoiceStateUpdate => {
            let w: VoiceStateWire = parse_d(d)?;
            ClientPayload::VoiceStateUpdate(VoiceStateUpdate {
                guild_id: w.guild_id.0,
                channel_id: w.channel_id.map(|c| c.0),
                self_mute: w.self_mute.unwrap_or(false),
                self_deaf: w.self_deaf.unwrap_or(false),
            })
        }
        Opcode::Resume => {
            let w: ResumeWire = parse_d(d)?;
            ClientPayload::Resume(Resume {
                token: strip_bot_prefix(w.token),
                session_id: w.session_id,
                seq: w.seq.unwrap_or(0),
            })
        }
        Opcode::RequestGuildMembers => {
            ClientPayload::RequestGuildMembers(parse_d::<MembersWire>(d)?.validate()?)
        }
        Opcode::RequestSoundboardSounds => {
            let w: SoundboardWire = parse_d(d)?;
            if w.guild_ids.len() > MEMBER_REQUEST_USER_IDS_MAX {
                return Err(decode_error("guild_ids: at most 100"));
            }
            ClientPayload::RequestSoundboardSounds(RequestSoundboardSounds {
                guild_ids: w.guild_ids.into_iter().map(|g| g.0).collect(),
            })
        }
        Opcode::Dispatch
        | Opcode::Reconnect
        | Opcode::InvalidSession
        | Opcode::Hello
        | Opcode::HeartbeatAck => unreachable!("filtered by sent_by_client above"),
    })
}

/// Removes the `Bot ` prefix twilight puts on gateway tokens (CLIENTS.md §0.7).
pub fn strip_bot_prefix(token: String) -> String {
    match token.strip_prefix("Bot ") {
        Some(bare) => bare.to_string(),
        None => token,
    }
}

// ---------------------------------------------------------------------------------------
// Wire shapes (private): serde structs, then `validate` into the public types.

#[derive(Deserialize)]
struct Envelope<'a> {
    op: u64,
    #[serde(borrow, default)]
    d: Option<&'a RawValue>,
}

/// A snowflake sent as `"123"` or `123`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WireId(u64);

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<WireId, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = WireId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a snowflake as a string or a non-negative integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireId, E> {
                Ok(WireId(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireId, E> {
                u64::try_from(v)
                    .map(WireId)
                    .map_err(|_| E::custom("negative snowflake"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireId, E> {
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom("snowflake string must be decimal digits"));
                }
                v.parse()
                    .map(WireId)
                    .map_err(|_| E::custom("snowflake out of range"))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// `user_ids`: one snowflake or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(WireId),
    Many(Vec<WireId>),
}

#[derive(Deserialize)]
struct IdentifyWire {
    token: String,
    properties: PropertiesWire,
    #[serde(default)]
    compress: Option<bool>,
    #[serde(default)]
    large_threshold: Option<u64>,
    #[serde(default)]
    shard: Option<(u64, u64)>,
    #[serde(default)]
    presence: Option<PresenceWire>,
    intents: u64,
}

#[derive(Deserialize)]
struct PropertiesWire {
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    browser: Option<String>,
    #[serde(default)]
    device: Option<String>,
}

#[derive(Deserialize)]
struct PresenceWire {
    #[serde(default)]
    since: Option<f64>,
    #[serde(default)]
    activities: Option<Vec<ActivityWire>>,
    /// discord.py's identify uses the pre-v8 key.
    #[serde(default)]
    game: Option<ActivityWire>,
    status: String,
    #[serde(default)]
    afk: Option<bool>,
}

#[derive(Deserialize)]
struct ActivityWire {
    name: String,
    #[serde(rename = "type", default)]
    kind: u8,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct VoiceStateWire {
    guild_id: WireId,
    /// Required, but may be null (leave voice).
    #[serde(deserialize_with = "required_nullable")]
    channel_id: Option<WireId>,
    #[serde(default)]
    self_mute: Option<bool>,
    #[serde(default)]
    self_deaf: Option<bool>,
}

#[derive(Deserialize)]
struct ResumeWire {
    token: String,
    session_id: String,
    #[serde(default)]
    seq: Option<u64>,
}

#[derive(Deserialize)]
struct MembersWire {
    guild_id: WireId,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    presences: Option<bool>,
    #[serde(default)]
    user_ids: Option<OneOrMany>,
    #[serde(default)]
    nonce: Option<String>,
}

#[derive(Deserialize)]
struct SoundboardWire {
    guild_ids: Vec<WireId>,
}

impl IdentifyWire {
    fn validate(self) -> Result<Identify, GatewayError> {
        let intents = Intents::from_bits(self.intents)
            .map_err(|unknown_bits| GatewayError::InvalidIntents { unknown_bits })?;
        let shard = match self.shard {
            None => GatewayShard::ONE,
            Some((id, count)) => {
                if count == 0 || id >= count || count > u64::from(u32::MAX) {
                    return Err(GatewayError::InvalidShard { id, count });
                }
                GatewayShard {
                    id: id as u32,
                    count: count as u32,
                }
            }
        };
        let large_threshold = self.large_threshold.unwrap_or(50);
        if !LARGE_THRESHOLD_RANGE.contains(&large_threshold) {
            return Err(decode_error("large_threshold must be 50..=250"));
        }
        let presence = self.presence.map(PresenceWire::validate).transpose()?;
        Ok(Identify {
            token: strip_bot_prefix(self.token),
            properties: ConnectionProperties {
                os: self.properties.os.unwrap_or_default(),
                browser: self.properties.browser.unwrap_or_default(),
                device: self.properties.device.unwrap_or_default(),
            },
            compress: self.compress.unwrap_or(false),
            large_threshold: large_threshold as u16,
            shard,
            presence,
            intents,
        })
    }
}

impl PresenceWire {
    fn validate(self) -> Result<PresenceUpdate, GatewayError> {
        let status = match self.status.as_str() {
            "online" => Status::Online,
            "dnd" => Status::Dnd,
            "idle" => Status::Idle,
            "invisible" => Status::Invisible,
            "offline" => Status::Offline,
            _ => {
                return Err(decode_error(
                    "status must be online, dnd, idle, invisible or offline",
                ))
            }
        };
        let since = match self.since {
            Some(ms) if !(0.0..=9.0e15).contains(&ms) => {
                return Err(decode_error("since must be unix milliseconds"))
            }
            Some(ms) => Some(ms as u64),
            None => None,
        };
        let wires = self
            .activities
            .unwrap_or_default()
            .into_iter()
            .chain(self.game);
        let mut activities = Vec::new();
        for wire in wires {
            if wire.kind > 6 {
                return Err(decode_error("activity type must be 0..=6"));
            }
            activities.push(Activity {
                name: wire.name,
                kind: wire.kind,
                url: wire.url,
                state: wire.state,
            });
        }
        Ok(PresenceUpdate {
            since,
            activities,
            status,
            afk: self.afk.unwrap_or(false),
        })
    }
}

impl MembersWire {
    fn validate(self) -> Result<RequestGuildMembers, GatewayError> {
        let user_ids = self.user_ids.map(|ids| match ids {
            OneOrMany::One(id) => vec![id.0],
            OneOrMany::Many(ids) => ids.into_iter().map(|id| id.0).collect(),
        });
        match (&self.query, &user_ids) {
            (None, None) => return Err(decode_error("op 8 needs query or user_ids")),
            (_, Some(ids)) if ids.len() > MEMBER_REQUEST_USER_IDS_MAX => {
                return Err(decode_error("user_ids: at most 100"))
            }
            _ => {}
        }
        Ok(RequestGuildMembers {
            guild_id: self.guild_id.0,
            query: self.query,
            limit: self.limit.unwrap_or(0),
            presences: self.presences.unwrap_or(false),
            user_ids,
            nonce: self
                .nonce
                .filter(|n| n.len() <= MEMBER_REQUEST_NONCE_BYTES_MAX),
        })
    }
}

/// `Option<WireId>` that must be present (serde otherwise treats a missing `Option` as null).
fn required_nullable<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<WireId>, D::Error> {
    Option::<WireId>::deserialize(deserializer)
}

fn parse_d<'a, T: Deserialize<'a>>(d: &'a str) -> Result<T, GatewayError> {
    serde_json::from_str(d).map_err(json_error)
}

fn json_error(e: serde_json::Error) -> GatewayError {
    GatewayError::Decode(e.to_string())
}

fn decode_error(why: &str) -> GatewayError {
    GatewayError::Decode(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(text: &str) -> Result<ClientPayload, GatewayError> {
        decode_client_payload(text.as_bytes())
    }

    fn code(text: &str) -> u16 {
        decode(text).unwrap_err().close_code().code()
    }

    #[test]
    fn discord_py_identify_with_legacy_game_presence() {
        let p = decode(
            r#"{"op":2,"d":{"token":"abc","properties":{"os":"linux","browser":"discord.py",
            "device":"discord.py"},"compress":true,"large_threshold":250,"intents":53575421,
            "presence":{"status":"online","game":{"name":"chess","type":0},"since":0.0,
            "afk":false}}}"#,
        )
        .unwrap();
        let ClientPayload::Identify(id) = p else {
            panic!("{p:?}")
        };
        assert_eq!(id.token, "abc");
        assert_eq!(id.properties.browser, "discord.py");
        assert!(id.compress);
        assert_eq!(id.large_threshold, 250);
        assert_eq!(id.shard, GatewayShard::ONE);
        assert_eq!(id.intents.bits(), 53575421);
        let presence = id.presence.unwrap();
        assert_eq!(presence.status, Status::Online);
        assert_eq!(presence.activities[0].name, "chess");
        assert_eq!(presence.since, Some(0));
    }

    #[test]
    fn twilight_identify_with_bot_prefix_null_presence_and_shard() {
        let p = decode(
            r#"{"op":2,"d":{"token":"Bot good-token","properties":{"os":"linux",
            "browser":"twilight.rs","device":"twilight.rs"},"capabilities":0,"presence":null,
            "compress":false,"shard":[1,4],"large_threshold":50,"intents":513}}"#,
        )
        .unwrap();
        let ClientPayload::Identify(id) = p else {
            panic!()
        };
        assert_eq!(id.token, "good-token");
        assert_eq!(id.shard, GatewayShard { id: 1, count: 4 });
        assert_eq!(id.presence, None);
    }

    #[test]
    fn identify_refusals_carry_discords_codes() {
        let base = |extra: &str| {
            format!(r#"{{"op":2,"d":{{"token":"t","properties":{{}},"intents":1{extra}}}}}"#)
        };
        assert!(decode(&base("")).is_ok());
        assert_eq!(code(&base(r#","shard":[1,1]"#)), 4010);
        assert_eq!(code(&base(r#","shard":[0,0]"#)), 4010);
        assert_eq!(code(&base(r#","shard":[5,2]"#)), 4010);
        assert!(decode(&base(r#","shard":[1,2]"#)).is_ok());
        assert_eq!(code(&base(r#","large_threshold":49"#)), 4002);
        assert_eq!(code(&base(r#","large_threshold":251"#)), 4002);
        assert_eq!(code(&base(r#","presence":{"status":"asleep"}"#)), 4002);
        assert_eq!(
            code(r#"{"op":2,"d":{"token":"t","properties":{},"intents":131072}}"#),
            4013
        );
        assert_eq!(code(r#"{"op":2,"d":{"token":"t","properties":{}}}"#), 4002);
        assert_eq!(
            code(r#"{"op":2,"d":{"token":5,"properties":{},"intents":1}}"#),
            4002
        );
        assert_eq!(code(r#"{"op":2,"d":{"properties":{},"intents":1}}"#), 4002);
        assert_eq!(code(r#"{"op":2}"#), 4002);
    }

    #[test]
    fn heartbeat_d_is_null_or_a_sequence_number() {
        assert_eq!(
            decode(r#"{"op":1,"d":7}"#),
            Ok(ClientPayload::Heartbeat { seq: Some(7) })
        );
        assert_eq!(
            decode(r#"{"op":1}"#),
            Ok(ClientPayload::Heartbeat { seq: None })
        );
        assert_eq!(code(r#"{"op":1,"d":"x"}"#), 4002);
        assert_eq!(code(r#"{"op":1,"d":-1}"#), 4002);
    }

    #[test]
    fn request_guild_members_accepts_numeric_guild_id_and_drops_long_nonce() {
        let p = decode(
            r#"{"op":8,"d":{"guild_id":81384788765712384,"presences":false,"limit":0,
            "query":"","nonce":"abcd"}}"#,
        )
        .unwrap();
        assert_eq!(
            p,
            ClientPayload::RequestGuildMembers(RequestGuildMembers {
                guild_id: 81384788765712384,
                query: Some(String::new()),
                limit: 0,
                presences: false,
                user_ids: None,
                nonce: Some("abcd".into()),
            })
        );
        let long = "n".repeat(33);
        let text = format!(r#"{{"op":8,"d":{{"guild_id":"5","user_ids":"7","nonce":"{long}"}}}}"#);
        let ClientPayload::RequestGuildMembers(r) = decode(&text).unwrap() else {
            panic!()
        };
        assert_eq!(r.guild_id, 5);
        assert_eq!(r.user_ids, Some(vec![7]));
        assert_eq!(r.nonce, None);
        assert_eq!(code(r#"{"op":8,"d":{"guild_id":"5"}}"#), 4002);
        assert_eq!(code(r#"{"op":8,"d":{"guild_id":"x5","query":""}}"#), 4002);
        assert_eq!(code(r#"{"op":8,"d":{"guild_id":-5,"query":""}}"#), 4002);
        let many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
        let text = format!(
            r#"{{"op":8,"d":{{"guild_id":1,"user_ids":[{}]}}}}"#,
            many.join(",")
        );
        assert_eq!(code(&text), 4002);
    }

    #[test]
    fn op8_edges_nonce_32_bytes_100_ids_and_both_selectors() {
        let nonce = "n".repeat(MEMBER_REQUEST_NONCE_BYTES_MAX);
        let text =
            format!(r#"{{"op":8,"d":{{"guild_id":1,"query":"a","limit":3,"nonce":"{nonce}"}}}}"#);
        let ClientPayload::RequestGuildMembers(r) = decode(&text).unwrap() else {
            panic!()
        };
        assert_eq!(
            r.nonce.as_deref(),
            Some(nonce.as_str()),
            "32 bytes are kept"
        );
        assert_eq!((r.query.as_deref(), r.limit), (Some("a"), 3));
        // 32 bytes, not 32 characters: 11 three-byte characters are 33 bytes.
        let wide = "€".repeat(11);
        let text = format!(r#"{{"op":8,"d":{{"guild_id":1,"query":"","nonce":"{wide}"}}}}"#);
        let ClientPayload::RequestGuildMembers(r) = decode(&text).unwrap() else {
            panic!()
        };
        assert_eq!(r.nonce, None);
        let ids: Vec<String> = (0..MEMBER_REQUEST_USER_IDS_MAX)
            .map(|i| format!("\"{i}\""))
            .collect();
        let text = format!(
            r#"{{"op":8,"d":{{"guild_id":"1","user_ids":[{}]}}}}"#,
            ids.join(",")
        );
        let ClientPayload::RequestGuildMembers(r) = decode(&text).unwrap() else {
            panic!()
        };
        assert_eq!(r.user_ids.map(|ids| ids.len()), Some(100));
        // Both selectors: kept (the app answers by user_ids), limit defaults to 0.
        let ClientPayload::RequestGuildMembers(r) =
            decode(r#"{"op":8,"d":{"guild_id":1,"query":"x","user_ids":[2]}}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!((r.limit, r.user_ids), (0, Some(vec![2])));
        for bad in [
            r#"{"op":8,"d":{"guild_id":1,"query":5}}"#,
            r#"{"op":8,"d":{"guild_id":1,"query":"","presences":"yes"}}"#,
            r#"{"op":8,"d":{"guild_id":1,"query":"","nonce":7}}"#,
            r#"{"op":8,"d":{"guild_id":1,"query":"","limit":4294967296}}"#,
            r#"{"op":8,"d":null}"#,
        ] {
            assert_eq!(code(bad), 4002, "{bad}");
        }
    }

    #[test]
    fn op3_every_status_and_the_legacy_game_key() {
        for (status, want) in [
            ("online", Status::Online),
            ("dnd", Status::Dnd),
            ("idle", Status::Idle),
            ("invisible", Status::Invisible),
            ("offline", Status::Offline),
        ] {
            let text = format!(
                r#"{{"op":3,"d":{{"since":null,"activities":[],"status":"{status}","afk":false}}}}"#
            );
            let ClientPayload::PresenceUpdate(p) = decode(&text).unwrap() else {
                panic!()
            };
            assert_eq!(p.status, want);
            assert_eq!(want.as_str(), status);
        }
        let ClientPayload::PresenceUpdate(p) =
            decode(r#"{"op":3,"d":{"status":"online","game":{"name":"g"},"since":5.0}}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!((p.activities.len(), p.since, p.afk), (1, Some(5), false));
        for bad in [
            r#"{"op":3,"d":{"status":"ONLINE"}}"#,
            r#"{"op":3,"d":{"status":"idle","afk":"no"}}"#,
            r#"{"op":3,"d":{"status":"idle","activities":{}}}"#,
            r#"{"op":3,"d":null}"#,
        ] {
            assert_eq!(code(bad), 4002, "{bad}");
        }
    }

    #[test]
    fn voice_state_presence_resume_and_soundboard() {
        assert_eq!(
            decode(
                r#"{"op":4,"d":{"guild_id":1,"channel_id":null,"self_mute":true,"self_deaf":false}}"#
            ),
            Ok(ClientPayload::VoiceStateUpdate(VoiceStateUpdate {
                guild_id: 1,
                channel_id: None,
                self_mute: true,
                self_deaf: false
            }))
        );
        assert_eq!(code(r#"{"op":4,"d":{"guild_id":1}}"#), 4002);
        let p = decode(r#"{"op":3,"d":{"since":null,"activities":[{"name":"x","type":2}],"status":"idle","afk":true}}"#).unwrap();
        let ClientPayload::PresenceUpdate(p) = p else {
            panic!()
        };
        assert_eq!(
            (p.status, p.afk, p.activities[0].kind),
            (Status::Idle, true, 2)
        );
        assert_eq!(
            code(r#"{"op":3,"d":{"status":"idle","activities":[{"name":"x","type":9}]}}"#),
            4002
        );
        assert_eq!(
            decode(r#"{"op":6,"d":{"token":"Bot t","session_id":"s","seq":null}}"#),
            Ok(ClientPayload::Resume(Resume {
                token: "t".into(),
                session_id: "s".into(),
                seq: 0
            }))
        );
        assert_eq!(
            decode(r#"{"op":31,"d":{"guild_ids":["1",2]}}"#),
            Ok(ClientPayload::RequestSoundboardSounds(
                RequestSoundboardSounds {
                    guild_ids: vec![1, 2]
                }
            ))
        );
    }

    #[test]
    fn envelope_errors() {
        for (text, want) in [
            ("", 4002),
            ("null", 4002),
            ("[]", 4002),
            (r#"{"d":null}"#, 4002),
            (r#"{"op":"1"}"#, 4002),
            (r#"{"op":5,"d":null}"#, 4001),
            (r#"{"op":0,"d":null}"#, 4001),
            (r#"{"op":11,"d":null}"#, 4001),
            (r#"{"op":99999999999,"d":null}"#, 4001),
        ] {
            assert_eq!(code(text), want, "{text}");
        }
        assert_eq!(
            decode_client_payload(&[0xff, 0xfe])
                .unwrap_err()
                .close_code()
                .code(),
            4002
        );
    }

    #[test]
    fn size_limit_is_4096_bytes_inclusive() {
        let pad = |total: usize| {
            let head = r#"{"op":1,"d":null,"x":""#;
            let tail = r#""}"#;
            format!(
                "{head}{}{tail}",
                "a".repeat(total - head.len() - tail.len())
            )
        };
        assert!(decode(&pad(4096)).is_ok());
        assert_eq!(
            decode(&pad(4097)),
            Err(GatewayError::PayloadTooLarge { len: 4097 })
        );
    }

    #[test]
    fn shard_for_guild_uses_the_timestamp_bits() {
        assert_eq!(GatewayShard::for_guild(0, 4), 0);
        assert_eq!(GatewayShard::for_guild(3 << 22, 4), 3);
        assert_eq!(GatewayShard::for_guild((5 << 22) | 0x3f_ffff, 4), 1);
        assert!(GatewayShard { id: 1, count: 4 }.carries_guild(1 << 22));
        assert!(!GatewayShard { id: 1, count: 4 }.carries_direct_messages());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode_client_payload(&bytes);
        }

        #[test]
        fn arbitrary_d_for_each_client_op_never_panics(op in prop::sample::select(vec![1u64, 2, 3, 4, 6, 8, 31]), d in "[\\[\\]{}\",:0-9a-z_ -]{0,200}") {
            let text = format!(r#"{{"op":{op},"d":{d}}}"#);
            let _ = decode_client_payload(text.as_bytes());
        }
    }
}
