//! The peer's message object: built and serialised once per POST, then shared by every
//! session as bytes.
//!
//! The object has the same field set as Flux's MESSAGE_CREATE `d`
//! (`engine::world::message::json::message_json` plus the `channel_type` that
//! `deliver_event` adds), with the same nulls and empty arrays, so the bytes per event are
//! what Flux sends. The author is a bot like the suite's publisher (`flux-bot-a`) and its
//! `member` has no roles, as in Flux's demo guild. Ids come from one atomic counter that
//! starts at a snowflake for the peer's start time, so they are 19-digit strings like
//! Flux's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// One dispatch as every session receives it: the event name and the serialised `d`.
/// A session adds only its own `{"op":0,"s":N,"t":…,"d":` prefix and the closing `}`.
#[derive(Debug)]
pub struct Event {
    /// The dispatch name, e.g. `MESSAGE_CREATE`.
    pub name: &'static str,
    /// The `d` object as JSON text.
    pub d: String,
}

/// What `POST /channels/{id}/messages` reads from its body; other fields are ignored.
#[derive(Debug, serde::Deserialize)]
pub struct CreateMessage {
    pub content: String,
    #[serde(default)]
    pub nonce: Option<serde_json::Value>,
    #[serde(default)]
    pub tts: bool,
}

/// The peer's fixed world: one guild, its channels, the publishing bot, and the id
/// counter.
#[derive(Debug)]
pub struct World {
    pub guild_id: u64,
    pub author_id: u64,
    pub joined_at: String,
    next_id: AtomicU64,
}

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

impl World {
    /// A world whose ids start at a snowflake for `now`.
    pub fn new() -> World {
        let now_ms = unix_ms_now();
        let first = now_ms.saturating_sub(DISCORD_EPOCH_MS) << 22;
        World {
            guild_id: first,
            author_id: first + 1,
            joined_at: iso8601_from_unix_ms(now_ms),
            next_id: AtomicU64::new(first + 16),
        }
    }

    /// `#general`, the channel READY and GUILD_CREATE list (POSTs to any id are accepted).
    pub fn text_channel_id(&self) -> u64 {
        self.guild_id + 2
    }

    /// A fresh snowflake.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Builds and serialises one MESSAGE_CREATE `d` for a POST to `channel_id`.
    pub fn encode_message_create(&self, channel_id: &str, create: &CreateMessage) -> Event {
        let id = self.next_id();
        let message = MessageObject {
            id: id.to_string(),
            channel_id,
            author: Author {
                id: self.author_id.to_string(),
                username: "flux-bot-a",
                discriminator: "0",
                global_name: None,
                avatar: None,
                avatar_decoration_data: None,
                banner: None,
                accent_color: None,
                bot: true,
                system: false,
                public_flags: 0,
                collectibles: None,
                primary_guild: None,
            },
            content: &create.content,
            timestamp: iso8601_from_unix_ms(unix_ms_now()),
            edited_timestamp: None,
            tts: create.tts,
            mention_everyone: false,
            mentions: [],
            mention_roles: [],
            mention_channels: [],
            attachments: [],
            embeds: [],
            components: [],
            reactions: [],
            nonce: create.nonce.as_ref(),
            pinned: false,
            kind: 0,
            flags: 0,
            sticker_items: [],
            guild_id: self.guild_id.to_string(),
            member: Member {
                nick: None,
                avatar: None,
                banner: None,
                avatar_decoration_data: None,
                roles: [],
                joined_at: &self.joined_at,
                premium_since: None,
                deaf: false,
                mute: false,
                flags: 0,
                pending: false,
                communication_disabled_until: None,
            },
            channel_type: 0,
        };
        // Serialising plain structs of strings, numbers and nulls cannot fail.
        let d = serde_json::to_string(&message).unwrap_or_default();
        debug_assert!(!d.is_empty());
        Event {
            name: "MESSAGE_CREATE",
            d,
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// An always-empty JSON array.
type Empty = [u8; 0];
/// An always-null JSON value.
type Null = Option<()>;

#[derive(Serialize)]
struct MessageObject<'a> {
    id: String,
    channel_id: &'a str,
    author: Author,
    content: &'a str,
    timestamp: String,
    edited_timestamp: Null,
    tts: bool,
    mention_everyone: bool,
    mentions: Empty,
    mention_roles: Empty,
    mention_channels: Empty,
    attachments: Empty,
    embeds: Empty,
    components: Empty,
    reactions: Empty,
    nonce: Option<&'a serde_json::Value>,
    pinned: bool,
    #[serde(rename = "type")]
    kind: u8,
    flags: u32,
    sticker_items: Empty,
    guild_id: String,
    member: Member<'a>,
    channel_type: u8,
}

#[derive(Serialize)]
struct Author {
    id: String,
    username: &'static str,
    discriminator: &'static str,
    global_name: Null,
    avatar: Null,
    avatar_decoration_data: Null,
    banner: Null,
    accent_color: Null,
    bot: bool,
    system: bool,
    public_flags: u32,
    collectibles: Null,
    primary_guild: Null,
}

#[derive(Serialize)]
struct Member<'a> {
    nick: Null,
    avatar: Null,
    banner: Null,
    avatar_decoration_data: Null,
    roles: Empty,
    joined_at: &'a str,
    premium_since: Null,
    deaf: bool,
    mute: bool,
    flags: u32,
    pending: bool,
    communication_disabled_until: Null,
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2026-11-23T12:34:56.789000+00:00`, the form Discord (and Flux) send.
fn iso8601_from_unix_ms(unix_ms: u64) -> String {
    let seconds = unix_ms / 1000;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(seconds / 86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}000+00:00",
        second_of_day / 3600,
        (second_of_day / 60) % 60,
        second_of_day % 60,
        unix_ms % 1000
    )
}

/// Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_instants() {
        for (unix_ms, text) in [
            (0, "1970-01-01T00:00:00.000000+00:00"),
            (951_782_400_000, "2000-02-29T00:00:00.000000+00:00"),
            (1_462_015_105_796, "2016-04-30T11:18:25.796000+00:00"),
        ] {
            assert_eq!(iso8601_from_unix_ms(unix_ms), text);
        }
    }

    #[test]
    fn message_create_has_flux_fields() {
        let world = World::new();
        let create = CreateMessage {
            content: "hello".into(),
            nonce: Some("n1".into()),
            tts: false,
        };
        let event = world.encode_message_create("42", &create);
        let d: serde_json::Value = serde_json::from_str(&event.d).unwrap();
        assert_eq!(d["content"], "hello");
        assert_eq!(d["channel_id"], "42");
        assert_eq!(d["nonce"], "n1");
        assert_eq!(d["type"], 0);
        assert_eq!(d["member"]["roles"], serde_json::json!([]));
        assert_eq!(d["author"]["bot"], true);
        assert!(d["edited_timestamp"].is_null());
        let second = world.encode_message_create("42", &create);
        assert_ne!(event.d, second.d, "every message gets a fresh id");
    }
}
