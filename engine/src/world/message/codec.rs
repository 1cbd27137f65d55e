//! The storage encoding of a message: the value of its `lsm` message key.
//!
//! A small hand-rolled binary format behind a version byte, not JSON. Messages are most of
//! what a Flux data dir holds, and JSON would spend a large share of each value on key
//! names and decimal ids (a 19-digit id in quotes is 21 bytes; here it is 8). The format
//! is also strict in a way JSON is not: every length is checked against the bytes left,
//! every flag byte must be 0 or 1, trailing bytes are an error, so a corrupt value is
//! reported, never half-read. Embeds and components are the one place JSON stays: they are
//! opaque sender JSON, stored as one JSON array text each (serde_json's parser bounds its
//! recursion depth, so a hostile nesting cannot overflow the stack).
//!
//! ```text
//! value   := version u8 (= 1 or 2) | message
//! message := id u64 | channel_id u64 | guild_id opt<u64> | author | kind u8
//!            | content str | edited_at_unix_ms opt<u64> | bits u8 | flags u64
//!            | mentions list<u64> | mention_roles list<u64> | attachments list<attachment>
//!            | embeds json | components json | reactions list<reaction> | nonce
//!            | referenced_message_id opt<u64> | thread_id opt<u64>
//! author     := id u64 | username str | global_name opt<str> | bot bool | public_flags u64
//! attachment := id u64 | filename str | size u64 | url str | proxy_url str
//!               | content_type opt<str>
//!               | (version 2 only) description opt<str> | title opt<str>
//!                 | width opt<u64> | height opt<u64>     (each ≤ u32::MAX)
//! reaction   := emoji_id opt<u64> | emoji_name str | animated bool | user_ids list<u64>
//! nonce      := 0 | 1 str | 2 i64
//! bits    := bit 0 tts, bit 1 mention_everyone, bit 2 pinned; other bits must be 0
//! opt<T>  := 0 | 1 T          bool := 0 | 1
//! str     := len u32 | UTF-8 bytes     list<T> := count u32 | T…     json := str
//! ```
//!
//! Integers are little-endian, as in `lsm`'s own framing. `kind` is Discord's type number.
//!
//! Versioning: a new field means version 2; the decoder keeps reading version 1 (filling
//! the new field's default), so a data dir never needs a rewrite. A version this build does
//! not know is an error (`UnknownVersion`): the data dir is from a newer Flux.

use super::{
    has_duplicates, Attachment, Author, Emoji, Message, MessageId, MessageKind, Nonce, Reaction,
};
use crate::world::ids::{ChannelId, GuildId, RoleId, UserId};
use serde_json::Value;
use std::fmt;

/// The format version `encode_message` writes.
pub const MESSAGE_FORMAT_VERSION: u8 = 2;
/// The oldest format version `decode_message` still reads.
pub const MESSAGE_FORMAT_VERSION_MIN: u8 = 1;

const BIT_TTS: u8 = 1;
const BIT_MENTION_EVERYONE: u8 = 2;
const BIT_PINNED: u8 = 4;
const BITS_KNOWN: u8 = BIT_TTS | BIT_MENTION_EVERYONE | BIT_PINNED;

/// Why stored bytes are not a message. Each means the value is corrupt (or from a newer
/// Flux); the REST layer answers 500 and logs the message id, never guesses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageDecodeError {
    /// The value is empty: not even a version byte.
    Empty,
    /// The version byte names a format this build does not know.
    UnknownVersion(u8),
    /// The value ends inside `field`.
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// A string field is not UTF-8.
    InvalidUtf8 {
        /// The field.
        field: &'static str,
    },
    /// A tag, bool or bit-set byte has a value the format does not define.
    InvalidTag {
        /// The field.
        field: &'static str,
        /// The byte found.
        tag: u8,
    },
    /// The message type is not one Flux stores.
    UnknownKind(u8),
    /// Embeds or components are not a JSON array.
    InvalidJson {
        /// The field.
        field: &'static str,
        /// What the parser said.
        detail: String,
    },
    /// A list that must not repeat (mentions, reaction users, emojis) repeats, or a
    /// reaction has no user.
    BrokenInvariant {
        /// The field.
        field: &'static str,
    },
    /// Bytes remain after the last field.
    TrailingBytes(usize),
}

impl fmt::Display for MessageDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageDecodeError::Empty => write!(f, "empty message value"),
            MessageDecodeError::UnknownVersion(version) => write!(
                f,
                "message format version {version} is newer than this build knows; \
                 run the Flux version that wrote this data dir"
            ),
            MessageDecodeError::Truncated { field } => write!(f, "message ends inside {field}"),
            MessageDecodeError::InvalidUtf8 { field } => write!(f, "{field} is not UTF-8"),
            MessageDecodeError::InvalidTag { field, tag } => {
                write!(f, "{field} has undefined byte {tag}")
            }
            MessageDecodeError::UnknownKind(kind) => write!(f, "unknown message type {kind}"),
            MessageDecodeError::InvalidJson { field, detail } => {
                write!(f, "{field} is not a JSON array: {detail}")
            }
            MessageDecodeError::BrokenInvariant { field } => {
                write!(f, "{field} breaks its invariant (duplicates or empty)")
            }
            MessageDecodeError::TrailingBytes(count) => {
                write!(f, "{count} bytes after the last field")
            }
        }
    }
}

impl std::error::Error for MessageDecodeError {}

/// The stored form of `message` (see the module docs for the layout).
///
/// ```
/// use engine::world::message::{decode_message, encode_message, Author, Message, MessageId};
/// use engine::world::{ChannelId, UserId};
/// let author = Author { id: UserId(1), username: "a".into(), global_name: None, bot: true,
///                       public_flags: 0 };
/// let message = Message::new(MessageId(1 << 22), ChannelId(2), None, author, "hi".into());
/// assert_eq!(decode_message(&encode_message(&message)).unwrap(), message);
/// ```
pub fn encode_message(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + message.content.len());
    out.push(MESSAGE_FORMAT_VERSION);
    put_u64(&mut out, message.id.0);
    put_u64(&mut out, message.channel_id.0);
    put_opt_u64(&mut out, message.guild_id.map(|id| id.0));
    put_u64(&mut out, message.author.id.0);
    put_str(&mut out, &message.author.username);
    put_opt_str(&mut out, message.author.global_name.as_deref());
    out.push(u8::from(message.author.bot));
    put_u64(&mut out, message.author.public_flags);
    out.push(message.kind.discord_type());
    put_str(&mut out, &message.content);
    put_opt_u64(&mut out, message.edited_at_unix_ms);
    let bits = (u8::from(message.tts) * BIT_TTS)
        | (u8::from(message.mention_everyone) * BIT_MENTION_EVERYONE)
        | (u8::from(message.pinned) * BIT_PINNED);
    out.push(bits);
    put_u64(&mut out, message.flags);
    put_ids(&mut out, message.mentions.iter().map(|id| id.0));
    put_ids(&mut out, message.mention_roles.iter().map(|id| id.0));
    put_len(&mut out, message.attachments.len());
    for attachment in &message.attachments {
        put_u64(&mut out, attachment.id);
        put_str(&mut out, &attachment.filename);
        put_u64(&mut out, attachment.size);
        put_str(&mut out, &attachment.url);
        put_str(&mut out, &attachment.proxy_url);
        put_opt_str(&mut out, attachment.content_type.as_deref());
        put_opt_str(&mut out, attachment.description.as_deref());
        put_opt_str(&mut out, attachment.title.as_deref());
        put_opt_u64(&mut out, attachment.width.map(u64::from));
        put_opt_u64(&mut out, attachment.height.map(u64::from));
    }
    put_json(&mut out, &message.embeds);
    put_json(&mut out, &message.components);
    put_len(&mut out, message.reactions.len());
    for reaction in &message.reactions {
        put_opt_u64(&mut out, reaction.emoji.id);
        put_str(&mut out, &reaction.emoji.name);
        out.push(u8::from(reaction.emoji.animated));
        put_ids(&mut out, reaction.user_ids.iter().map(|id| id.0));
    }
    match &message.nonce {
        None => out.push(0),
        Some(Nonce::Text(text)) => {
            out.push(1);
            put_str(&mut out, text);
        }
        Some(Nonce::Integer(number)) => {
            out.push(2);
            out.extend_from_slice(&number.to_le_bytes());
        }
    }
    put_opt_u64(&mut out, message.referenced_message_id.map(|id| id.0));
    put_opt_u64(&mut out, message.thread_id.map(|id| id.0));
    debug_assert_eq!(decode_message(&out).as_ref(), Ok(message));
    out
}

/// Reads a stored message. Any byte string gives a message or an error, never a panic.
pub fn decode_message(bytes: &[u8]) -> Result<Message, MessageDecodeError> {
    let (&version, rest) = bytes.split_first().ok_or(MessageDecodeError::Empty)?;
    if !(MESSAGE_FORMAT_VERSION_MIN..=MESSAGE_FORMAT_VERSION).contains(&version) {
        return Err(MessageDecodeError::UnknownVersion(version));
    }
    let mut reader = Reader { bytes: rest };
    let message = read_v1(&mut reader, version)?;
    if !reader.bytes.is_empty() {
        return Err(MessageDecodeError::TrailingBytes(reader.bytes.len()));
    }
    Ok(message)
}

/// Reads version 1 and 2 (which adds four attachment fields).
fn read_v1(r: &mut Reader<'_>, version: u8) -> Result<Message, MessageDecodeError> {
    let id = MessageId(r.u64("id")?);
    let channel_id = ChannelId(r.u64("channel_id")?);
    let guild_id = r.opt_u64("guild_id")?.map(GuildId);
    let author = Author {
        id: UserId(r.u64("author.id")?),
        username: r.str("author.username")?,
        global_name: r.opt_str("author.global_name")?,
        bot: r.bool("author.bot")?,
        public_flags: r.u64("author.public_flags")?,
    };
    let kind_byte = r.u8("type")?;
    let kind = MessageKind::from_discord_type(kind_byte)
        .ok_or(MessageDecodeError::UnknownKind(kind_byte))?;
    let content = r.str("content")?;
    let edited_at_unix_ms = r.opt_u64("edited_timestamp")?;
    let bits = r.u8("bits")?;
    if bits & !BITS_KNOWN != 0 {
        return Err(MessageDecodeError::InvalidTag {
            field: "bits",
            tag: bits,
        });
    }
    let flags = r.u64("flags")?;
    let mentions: Vec<UserId> = r.ids("mentions")?.into_iter().map(UserId).collect();
    let mention_roles: Vec<RoleId> = r.ids("mention_roles")?.into_iter().map(RoleId).collect();
    if has_duplicates(&mentions) || has_duplicates(&mention_roles) {
        return Err(MessageDecodeError::BrokenInvariant { field: "mentions" });
    }
    let mut attachments = Vec::new();
    for _ in 0..r.u32("attachments")? {
        let mut attachment = Attachment {
            id: r.u64("attachment.id")?,
            filename: r.str("attachment.filename")?,
            size: r.u64("attachment.size")?,
            url: r.str("attachment.url")?,
            proxy_url: r.str("attachment.proxy_url")?,
            content_type: r.opt_str("attachment.content_type")?,
            ..Attachment::default()
        };
        if version >= 2 {
            let pixels = |value: Option<u64>, field| {
                value
                    .map(u32::try_from)
                    .transpose()
                    .map_err(|_| MessageDecodeError::BrokenInvariant { field })
            };
            attachment.description = r.opt_str("attachment.description")?;
            attachment.title = r.opt_str("attachment.title")?;
            attachment.width = pixels(r.opt_u64("attachment.width")?, "attachment.width")?;
            attachment.height = pixels(r.opt_u64("attachment.height")?, "attachment.height")?;
        }
        attachments.push(attachment);
    }
    let embeds = r.json("embeds")?;
    let components = r.json("components")?;
    let mut reactions: Vec<Reaction> = Vec::new();
    for _ in 0..r.u32("reactions")? {
        let emoji = Emoji {
            id: r.opt_u64("reaction.emoji.id")?,
            name: r.str("reaction.emoji.name")?,
            animated: r.bool("reaction.emoji.animated")?,
        };
        let user_ids: Vec<UserId> = r.ids("reaction.users")?.into_iter().map(UserId).collect();
        let repeated = reactions.iter().any(|earlier| earlier.emoji == emoji);
        if user_ids.is_empty() || has_duplicates(&user_ids) || repeated {
            return Err(MessageDecodeError::BrokenInvariant { field: "reactions" });
        }
        reactions.push(Reaction { emoji, user_ids });
    }
    let nonce = match r.u8("nonce")? {
        0 => None,
        1 => Some(Nonce::Text(r.str("nonce")?)),
        2 => Some(Nonce::Integer(i64::from_le_bytes(r.array("nonce")?))),
        tag => {
            return Err(MessageDecodeError::InvalidTag {
                field: "nonce",
                tag,
            })
        }
    };
    let referenced_message_id = r.opt_u64("referenced_message_id")?.map(MessageId);
    let thread_id = r.opt_u64("thread_id")?.map(ChannelId);
    Ok(Message {
        id,
        channel_id,
        guild_id,
        author,
        kind,
        content,
        edited_at_unix_ms,
        tts: bits & BIT_TTS != 0,
        mention_everyone: bits & BIT_MENTION_EVERYONE != 0,
        mentions,
        mention_roles,
        attachments,
        embeds,
        components,
        reactions,
        pinned: bits & BIT_PINNED != 0,
        flags,
        nonce,
        referenced_message_id,
        thread_id,
    })
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_opt_u64(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            put_u64(out, value);
        }
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Every length here is bounded far below 4 GiB: an HTTP request body is capped long
    // before, and `lsm` refuses values over 16 MiB. Reaching this would be a bug.
    let len = u32::try_from(len).expect("a message field is shorter than 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            put_str(out, text);
        }
    }
}

fn put_ids(out: &mut Vec<u8>, ids: impl ExactSizeIterator<Item = u64>) {
    put_len(out, ids.len());
    for id in ids {
        put_u64(out, id);
    }
}

fn put_json(out: &mut Vec<u8>, values: &[Value]) {
    // A slice of serde_json Values always serialises (map keys are strings).
    let text = serde_json::to_string(values).expect("JSON values serialise");
    put_str(out, &text);
}

/// A cursor over untrusted bytes: every read checks what is left.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, len: usize, field: &'static str) -> Result<&[u8], MessageDecodeError> {
        if self.bytes.len() < len {
            return Err(MessageDecodeError::Truncated { field });
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], MessageDecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, MessageDecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, MessageDecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, MessageDecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    fn bool(&mut self, field: &'static str) -> Result<bool, MessageDecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(MessageDecodeError::InvalidTag { field, tag }),
        }
    }

    fn present(&mut self, field: &'static str) -> Result<bool, MessageDecodeError> {
        self.bool(field)
    }

    fn opt_u64(&mut self, field: &'static str) -> Result<Option<u64>, MessageDecodeError> {
        if self.present(field)? {
            Ok(Some(self.u64(field)?))
        } else {
            Ok(None)
        }
    }

    fn str(&mut self, field: &'static str) -> Result<String, MessageDecodeError> {
        let len = self.u32(field)? as usize;
        let bytes = self.take(len, field)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| MessageDecodeError::InvalidUtf8 { field })
    }

    fn opt_str(&mut self, field: &'static str) -> Result<Option<String>, MessageDecodeError> {
        if self.present(field)? {
            Ok(Some(self.str(field)?))
        } else {
            Ok(None)
        }
    }

    /// A list of u64 ids. The count is checked against the bytes left before anything is
    /// allocated, so a corrupt count cannot ask for gigabytes.
    fn ids(&mut self, field: &'static str) -> Result<Vec<u64>, MessageDecodeError> {
        let count = self.u32(field)? as usize;
        if count > self.bytes.len() / 8 {
            return Err(MessageDecodeError::Truncated { field });
        }
        (0..count).map(|_| self.u64(field)).collect()
    }

    fn json(&mut self, field: &'static str) -> Result<Vec<Value>, MessageDecodeError> {
        let text = self.str(field)?;
        serde_json::from_str(&text).map_err(|error| MessageDecodeError::InvalidJson {
            field,
            detail: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn unique_ids(max: usize) -> impl Strategy<Value = Vec<u64>> {
        prop::collection::btree_set(any::<u64>(), 0..max).prop_map(|set| set.into_iter().collect())
    }

    prop_compose! {
        fn attachment()(id in any::<u64>(), filename in ".{0,20}", size in any::<u64>(),
                        url in ".{0,30}", content_type in prop::option::of("[a-z/]{1,12}"),
                        description in prop::option::of(".{0,20}"),
                        title in prop::option::of(".{0,20}"),
                        width in prop::option::of(any::<u32>()),
                        height in prop::option::of(any::<u32>()))
                        -> Attachment {
            Attachment { id, filename, size, url: url.clone(), proxy_url: url, content_type,
                         description, title, width, height }
        }
    }

    fn reactions() -> impl Strategy<Value = Vec<Reaction>> {
        let reaction = (
            prop::option::of(any::<u64>()),
            ".{1,8}",
            any::<bool>(),
            prop::collection::btree_set(any::<u64>(), 1..5),
        )
            .prop_map(|(id, name, animated, users)| Reaction {
                emoji: Emoji { id, name, animated },
                user_ids: users.into_iter().map(UserId).collect(),
            });
        prop::collection::vec(reaction, 0..4).prop_map(|mut list| {
            let mut seen: Vec<Emoji> = Vec::new();
            list.retain(|r| {
                let fresh = !seen.contains(&r.emoji);
                seen.push(r.emoji.clone());
                fresh
            });
            list
        })
    }

    prop_compose! {
        fn message()(
            ids in (any::<u64>(), any::<u64>(), prop::option::of(any::<u64>()), any::<u64>()),
            author_text in (".{0,16}", prop::option::of(".{0,16}"), any::<bool>(), any::<u64>()),
            kind in prop::sample::select(vec![0u8, 6, 18, 19, 21]),
            content in ".{0,80}",
            edited in prop::option::of(any::<u64>()),
            bits in (any::<bool>(), any::<bool>(), any::<bool>(), any::<u64>()),
            mentions in unique_ids(5),
            roles in unique_ids(5),
            attachments in prop::collection::vec(attachment(), 0..3),
            embeds in prop::collection::vec(json_value(), 0..3),
            components in prop::collection::vec(json_value(), 0..2),
            reactions in reactions(),
            nonce in prop::option::of(prop_oneof![
                ".{0,25}".prop_map(Nonce::Text), any::<i64>().prop_map(Nonce::Integer)]),
            refs in (prop::option::of(any::<u64>()), prop::option::of(any::<u64>())),
        ) -> Message {
            let author = Author {
                id: UserId(ids.3),
                username: author_text.0,
                global_name: author_text.1,
                bot: author_text.2,
                public_flags: author_text.3,
            };
            Message {
                kind: MessageKind::from_discord_type(kind).unwrap(),
                edited_at_unix_ms: edited,
                tts: bits.0,
                mention_everyone: bits.1,
                pinned: bits.2,
                flags: bits.3,
                mentions: mentions.into_iter().map(UserId).collect(),
                mention_roles: roles.into_iter().map(RoleId).collect(),
                attachments,
                embeds,
                components,
                reactions,
                nonce,
                referenced_message_id: refs.0.map(MessageId),
                thread_id: refs.1.map(ChannelId),
                ..Message::new(MessageId(ids.0), ChannelId(ids.1), ids.2.map(GuildId), author,
                               content)
            }
        }
    }

    proptest! {
        #[test]
        fn every_message_round_trips(message in message()) {
            let bytes = encode_message(&message);
            prop_assert_eq!(bytes[0], MESSAGE_FORMAT_VERSION);
            prop_assert_eq!(decode_message(&bytes), Ok(message));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_message(&bytes);
        }

        #[test]
        fn versioned_arbitrary_bytes_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..512)
        ) {
            let mut value = vec![MESSAGE_FORMAT_VERSION];
            value.extend(bytes);
            let _ = decode_message(&value);
        }

        #[test]
        fn every_truncation_and_bit_flip_is_an_error_or_a_message(
            message in message(), cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(), bit in 0..8u8,
        ) {
            let bytes = encode_message(&message);
            let cut = cut.index(bytes.len());
            prop_assert!(decode_message(&bytes[..cut]).is_err(), "a prefix is never whole");
            let mut flipped = bytes.clone();
            flipped[flip.index(bytes.len())] ^= 1 << bit;
            if let Ok(decoded) = decode_message(&flipped) {
                // A flip inside a number or a string can still be a valid message (even an
                // equal one: `\u000b` and `\u000B` in embed JSON). Whatever it decodes to
                // must then store and read back as itself.
                prop_assert_eq!(decode_message(&encode_message(&decoded)), Ok(decoded));
            }
        }
    }

    #[test]
    fn corrupt_values_name_their_cause() {
        let author = Author {
            id: UserId(1),
            username: "a".into(),
            global_name: None,
            bot: false,
            public_flags: 0,
        };
        let mut message = Message::new(MessageId(5), ChannelId(6), None, author, "x".into());
        message.embeds = vec![json!({"title": "t"})];
        let bytes = encode_message(&message);
        assert_eq!(decode_message(&[]), Err(MessageDecodeError::Empty));
        assert_eq!(
            decode_message(&[3]),
            Err(MessageDecodeError::UnknownVersion(3))
        );
        // Version 1 (no attachment details) still reads: without attachments the two
        // layouts are the same after the version byte.
        let mut version_1 = bytes.clone();
        version_1[0] = 1;
        assert_eq!(decode_message(&version_1), Ok(message.clone()));
        assert_eq!(
            decode_message(&[1, 0, 0]),
            Err(MessageDecodeError::Truncated { field: "id" })
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            decode_message(&trailing),
            Err(MessageDecodeError::TrailingBytes(1))
        );
        // guild_id's presence byte sits right after id and channel_id.
        let mut bad_tag = bytes.clone();
        bad_tag[17] = 7;
        assert_eq!(
            decode_message(&bad_tag),
            Err(MessageDecodeError::InvalidTag {
                field: "guild_id",
                tag: 7
            })
        );
        // A huge mention count cannot make the decoder allocate: the count is checked
        // against the bytes left. Offset 57 = version, ids, author ("a"), type, content
        // ("x"), edited, bits, flags (see the layout in the module docs).
        let mut huge = bytes.clone();
        assert_eq!(huge[57..61], [0, 0, 0, 0], "no mentions");
        huge[57..61].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode_message(&huge),
            Err(MessageDecodeError::Truncated { field: "mentions" })
        );
    }

    #[test]
    fn the_stored_form_is_compact() {
        let author = Author {
            id: UserId(175928847299117063),
            username: "someone".into(),
            global_name: None,
            bot: false,
            public_flags: 0,
        };
        let message = Message::new(
            MessageId(175928847299117063),
            ChannelId(175928847299117063),
            Some(GuildId(175928847299117063)),
            author,
            "hello world".into(),
        );
        let bytes = encode_message(&message);
        // 4 ids (32) + header/tags + "someone" + "hello world" + two "[]" + small fields.
        assert!(bytes.len() < 120, "{} bytes", bytes.len());
    }
}
