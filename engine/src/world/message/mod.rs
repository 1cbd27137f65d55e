//! Messages: what Flux stores for each chat message, and the three ways it leaves the
//! core: Discord JSON (`json.rs`), the MESSAGE_CONTENT-less variant (`content.rs`), and the
//! `lsm` value (`codec.rs`). History pages over the store live in `world::history`.
//!
//! Implements: Discord's Message object (the fields real clients read, CLIENTS.md §1.4,
//! §1.6, §3 and §5), the privileged MESSAGE_CONTENT intent's redaction rules, and a
//! versioned storage encoding.
//!
//! Elsewhere: who may read or send in a channel (`world::permissions`), REST parsing and
//! validation of a new message (`engine::rest`), dispatch fan-out (`engine::gateway`),
//! attachment bytes (stored and served by the REST layer; a message only names them).
//!
//! Design choices a reader should know:
//! - The `timestamp` is not stored: it is the id's creation time, as on Discord
//!   (`Message::timestamp_unix_ms`). So a message's time and its place in history can
//!   never disagree.
//! - The author is stored as a snapshot (`Author`): a history page is then encoded from
//!   the message alone, even when the author has since left every guild or was deleted.
//!   Mentions are stored as user ids and resolved at encode time (unknown users are
//!   dropped from `mentions`, as Discord drops deleted users).
//! - Reactions keep the ids of the users who reacted, in reaction order. `count` is their
//!   number, and `me` is computed per viewer at encode time (`Reaction::me`): true exactly
//!   when the viewer's id is in the list. A dispatch serialised once for many sessions
//!   passes no viewer, so `me` is false there; a REST answer passes the caller.
//! - Embeds and components are kept as the JSON values the sender gave (validated by the
//!   REST layer, opaque here), so Flux never loses a field it does not model.
//!
//! Invariants (kept by `add_reaction` / `remove_reaction`, rejected by the decoder on the
//! way in, and so asserted on every write: `encode_message` decodes its own output in
//! debug builds):
//! - A reaction's `user_ids` has no duplicates and is never empty (an emoji whose last
//!   user leaves disappears).
//! - `mentions` and `mention_roles` hold no duplicates.

mod codec;
mod content;
mod json;
mod mentions;

pub use codec::{decode_message, encode_message, MessageDecodeError, MESSAGE_FORMAT_VERSION};
pub use content::message_content_visible;
pub use json::{message_json, write_message_json, MessageJsonContext};
pub use mentions::{parse_mentions, Mentions};

use super::ids::{ChannelId, GuildId, RoleId, UserId, DISCORD_EPOCH_MS};
use super::model::User;
use serde_json::Value;
use std::fmt;

/// A message id (a Discord snowflake; its top 42 bits date the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

impl MessageId {
    /// The Unix time in milliseconds at which this id (so this message) was created.
    ///
    /// ```
    /// use engine::world::message::MessageId;
    /// assert_eq!(MessageId(175928847299117063).created_at_unix_ms(), 1_462_015_105_796);
    /// ```
    pub fn created_at_unix_ms(self) -> u64 {
        (self.0 >> 22) + DISCORD_EPOCH_MS
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The message types Flux creates (Discord's `type` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// An ordinary message (type 0).
    Default,
    /// "X pinned a message" (type 6).
    ChannelPinnedMessage,
    /// "X started a thread" (type 18).
    ThreadCreated,
    /// A reply; `referenced_message_id` names the message it answers (type 19).
    Reply,
    /// The first message of a thread started from a message (type 21).
    ThreadStarterMessage,
}

impl MessageKind {
    /// Discord's numeric message type.
    pub fn discord_type(self) -> u8 {
        match self {
            MessageKind::Default => 0,
            MessageKind::ChannelPinnedMessage => 6,
            MessageKind::ThreadCreated => 18,
            MessageKind::Reply => 19,
            MessageKind::ThreadStarterMessage => 21,
        }
    }

    /// The kind of Discord type `value`, if Flux has it.
    pub fn from_discord_type(value: u8) -> Option<MessageKind> {
        [
            MessageKind::Default,
            MessageKind::ChannelPinnedMessage,
            MessageKind::ThreadCreated,
            MessageKind::Reply,
            MessageKind::ThreadStarterMessage,
        ]
        .into_iter()
        .find(|kind| kind.discord_type() == value)
    }
}

/// The author as they were when the message was sent: what the JSON `author` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// The author's user id.
    pub id: UserId,
    /// Their username.
    pub username: String,
    /// Their display name.
    pub global_name: Option<String>,
    /// Whether the author is a bot.
    pub bot: bool,
    /// Their public flags (badges).
    pub public_flags: u64,
}

impl Author {
    /// A snapshot of `user`.
    pub fn of(user: &User) -> Author {
        Author {
            id: user.id,
            username: user.username.clone(),
            global_name: user.global_name.clone(),
            bot: user.bot,
            public_flags: user.public_flags,
        }
    }

    /// The snapshot as a `User`, so `world::user_json` encodes it like every other user.
    pub fn to_user(&self) -> User {
        User {
            id: self.id,
            username: self.username.clone(),
            global_name: self.global_name.clone(),
            bot: self.bot,
            public_flags: self.public_flags,
            mfa_enabled: false, // not part of the public user object
        }
    }
}

/// A file attached to a message. The bytes live elsewhere; `url` serves them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attachment {
    /// The attachment id (a snowflake).
    pub id: u64,
    /// The file name the sender gave.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// Where the file is served.
    pub url: String,
    /// The proxied URL (Flux serves both from the same place).
    pub proxy_url: String,
    /// The media type, if known.
    pub content_type: Option<String>,
    /// The sender's description (alt text), at most 1024 characters.
    pub description: Option<String>,
    /// The sender's original file name when it had to be changed to be stored (Discord's
    /// `title`); `None` when `filename` is what was sent.
    pub title: Option<String>,
    /// Width in pixels, for images whose size Flux can read (PNG, GIF).
    pub width: Option<u32>,
    /// Height in pixels, likewise.
    pub height: Option<u32>,
}

/// A reaction emoji: a Unicode emoji (`id` is `None`, `name` is the emoji) or a custom one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Emoji {
    /// The custom emoji's id; `None` for a Unicode emoji.
    pub id: Option<u64>,
    /// The Unicode emoji itself, or the custom emoji's name.
    pub name: String,
    /// Whether a custom emoji is animated.
    pub animated: bool,
}

/// One emoji's reactions on a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    /// The emoji.
    pub emoji: Emoji,
    /// Who reacted, in the order they did; never empty, no duplicates.
    pub user_ids: Vec<UserId>,
}

impl Reaction {
    /// How many users reacted with this emoji (Discord's `count`).
    pub fn count(&self) -> usize {
        self.user_ids.len()
    }

    /// Discord's `me`: whether `viewer` is one of them. `None` (a dispatch shared by many
    /// sessions) is never "me".
    pub fn me(&self, viewer: Option<UserId>) -> bool {
        viewer.is_some_and(|viewer| self.user_ids.contains(&viewer))
    }
}

/// The `nonce` a client sent with a message: Discord accepts a string or an integer and
/// echoes it back as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Nonce {
    /// A string nonce (discord.py sends digits as a string).
    Text(String),
    /// An integer nonce.
    Integer(i64),
}

/// A message as Flux stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The message id; its creation time is the message's `timestamp`.
    pub id: MessageId,
    /// The channel (or thread) it was sent in.
    pub channel_id: ChannelId,
    /// The guild of that channel; `None` for a DM.
    pub guild_id: Option<GuildId>,
    /// Who sent it, as they were then.
    pub author: Author,
    /// The message type.
    pub kind: MessageKind,
    /// The text (up to 2000 characters; the REST layer checks).
    pub content: String,
    /// When it was last edited (Unix milliseconds).
    pub edited_at_unix_ms: Option<u64>,
    /// Text-to-speech.
    pub tts: bool,
    /// Whether it mentions @everyone or @here.
    pub mention_everyone: bool,
    /// Users it mentions, in order, without duplicates.
    pub mentions: Vec<UserId>,
    /// Roles it mentions, in order, without duplicates.
    pub mention_roles: Vec<RoleId>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// Embeds, as the sender's JSON objects.
    pub embeds: Vec<Value>,
    /// Components (buttons, menus), as the sender's JSON objects.
    pub components: Vec<Value>,
    /// Reactions, in the order each emoji was first used.
    pub reactions: Vec<Reaction>,
    /// Whether it is pinned.
    pub pinned: bool,
    /// Message flags (e.g. 4 = SUPPRESS_EMBEDS).
    pub flags: u64,
    /// The sender's nonce, echoed back.
    pub nonce: Option<Nonce>,
    /// The message this one replies to (`Reply`) or quotes.
    pub referenced_message_id: Option<MessageId>,
    /// The thread started from this message, if any.
    pub thread_id: Option<ChannelId>,
}

impl Message {
    /// A plain message with everything optional empty: the start of every new message.
    pub fn new(
        id: MessageId,
        channel_id: ChannelId,
        guild_id: Option<GuildId>,
        author: Author,
        content: String,
    ) -> Message {
        Message {
            id,
            channel_id,
            guild_id,
            author,
            kind: MessageKind::Default,
            content,
            edited_at_unix_ms: None,
            tts: false,
            mention_everyone: false,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            attachments: Vec::new(),
            embeds: Vec::new(),
            components: Vec::new(),
            reactions: Vec::new(),
            pinned: false,
            flags: 0,
            nonce: None,
            referenced_message_id: None,
            thread_id: None,
        }
    }

    /// Discord's `timestamp`: the id's creation time.
    pub fn timestamp_unix_ms(&self) -> u64 {
        self.id.created_at_unix_ms()
    }

    /// Whether this is a DM (no guild).
    pub fn is_dm(&self) -> bool {
        self.guild_id.is_none()
    }

    /// Adds `user`'s reaction with `emoji`. Returns false if it was already there (Discord
    /// answers 204 either way, but dispatches MESSAGE_REACTION_ADD only for a new one).
    pub fn add_reaction(&mut self, emoji: &Emoji, user: UserId) -> bool {
        let added = match self.reactions.iter_mut().find(|r| r.emoji == *emoji) {
            Some(reaction) if reaction.user_ids.contains(&user) => false,
            Some(reaction) => {
                reaction.user_ids.push(user);
                true
            }
            None => {
                self.reactions.push(Reaction {
                    emoji: emoji.clone(),
                    user_ids: vec![user],
                });
                true
            }
        };
        debug_assert!(self.reactions_are_well_formed());
        added
    }

    /// Removes `user`'s reaction with `emoji`; the emoji goes when its last user does.
    /// Returns false if there was none.
    pub fn remove_reaction(&mut self, emoji: &Emoji, user: UserId) -> bool {
        let Some(index) = self.reactions.iter().position(|r| r.emoji == *emoji) else {
            return false;
        };
        let users = &mut self.reactions[index].user_ids;
        let Some(position) = users.iter().position(|&u| u == user) else {
            return false;
        };
        users.remove(position);
        if users.is_empty() {
            self.reactions.remove(index);
        }
        debug_assert!(self.reactions_are_well_formed());
        true
    }

    /// The invariants of this module's header about reactions.
    fn reactions_are_well_formed(&self) -> bool {
        self.reactions.iter().enumerate().all(|(index, reaction)| {
            !reaction.user_ids.is_empty()
                && !has_duplicates(&reaction.user_ids)
                && !self.reactions[..index]
                    .iter()
                    .any(|earlier| earlier.emoji == reaction.emoji)
        })
    }
}

/// True if `items` holds an element twice (quadratic: the lists are short, and this runs
/// only in checks).
pub(crate) fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(index, item)| items[..index].contains(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn author() -> Author {
        Author {
            id: UserId(7),
            username: "ada".into(),
            global_name: Some("Ada".into()),
            bot: false,
            public_flags: 0,
        }
    }

    #[test]
    fn kinds_round_trip_through_discord_types() {
        for value in 0..=255u8 {
            if let Some(kind) = MessageKind::from_discord_type(value) {
                assert_eq!(kind.discord_type(), value);
            }
        }
        assert_eq!(MessageKind::from_discord_type(19), Some(MessageKind::Reply));
        assert_eq!(MessageKind::from_discord_type(1), None);
    }

    #[test]
    fn reactions_count_users_and_know_who_is_me() {
        let mut message =
            Message::new(MessageId(1 << 22), ChannelId(2), None, author(), "x".into());
        let thumbs = Emoji {
            id: None,
            name: "👍".into(),
            animated: false,
        };
        assert!(message.add_reaction(&thumbs, UserId(10)));
        assert!(
            !message.add_reaction(&thumbs, UserId(10)),
            "a user reacts once"
        );
        assert!(message.add_reaction(&thumbs, UserId(11)));
        let reaction = &message.reactions[0];
        assert_eq!(reaction.count(), 2);
        assert!(reaction.me(Some(UserId(11))));
        assert!(!reaction.me(Some(UserId(12))));
        assert!(!reaction.me(None), "a shared dispatch has no viewer");
        assert!(!message.remove_reaction(&thumbs, UserId(12)));
        assert!(message.remove_reaction(&thumbs, UserId(10)));
        assert!(message.remove_reaction(&thumbs, UserId(11)));
        assert!(
            message.reactions.is_empty(),
            "the last user takes the emoji away"
        );
    }

    #[test]
    fn the_timestamp_is_the_ids_time() {
        let message = Message::new(
            MessageId(175928847299117063),
            ChannelId(2),
            None,
            author(),
            String::new(),
        );
        assert_eq!(message.timestamp_unix_ms(), 1_462_015_105_796);
        assert!(message.is_dm());
    }
}
