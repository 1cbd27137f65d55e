//! Discord JSON for a message: what `GET /channels/{id}/messages` returns and what
//! MESSAGE_CREATE / MESSAGE_UPDATE carry as `d`.
//!
//! Every documented field a client reads is present, nullable ones as `null`: twilight
//! requires `id`, `channel_id`, `type`, `content`, `author`, `timestamp`, `tts`,
//! `mention_everyone`, `mentions`, `mention_roles`, `attachments`, `embeds` and `pinned`
//! (CLIENTS.md §3); hikari indexes `flags`, `edited_timestamp` and `pinned` directly (§5);
//! discord.py needs the `member` of a guild message to carry `roles` and `flags` (§1.4).
//! Users and members are encoded by `world::json`, so they match every other object.
//!
//! Fields Discord sends only in some cases follow Discord: `guild_id` and `member` only
//! for guild messages (the author must still be a member), `message_reference` only when
//! the message references one, `referenced_message` only for replies (`null` when the
//! referenced message is gone), `thread` only when a thread was started from it.
//! These must be *absent*, not `null`, when they do not apply: hikari tests
//! `"webhook_id" in payload` (and `guild_id`, `message_reference.guild_id`,
//! `application_id`) and then parses the value as a snowflake, so a `null` there crashes
//! it (`hikari/impl/entity_factory.py`, `deserialize_message`). `webhook_id`,
//! `application_id`, `activity`, `poll` and `position` are therefore never sent.

use super::{Attachment, Message, MessageId, MessageKind, Nonce, Reaction};
use crate::world::attachment_url::UrlSigning;
use crate::world::ids::{ChannelId, GuildId, RoleId, UserId};
use crate::world::json::{to_value, AsString, IdList, MemberView, UserView};
use crate::world::model::{Guild, Member, UserLookup};
use crate::world::{iso8601_from_unix_ms, user_json};
use serde::Serialize;
use serde_json::{json, Value};

/// What encoding a message needs beyond the message itself.
pub struct MessageJsonContext<'a> {
    /// Resolves mentioned users (unknown ones are left out, as Discord leaves out deleted
    /// users).
    pub users: &'a dyn UserLookup,
    /// The message's guild, for the author's `member` and each mention's `member`.
    /// `None` for a DM, or when the caller has no guild state at hand (then no `member`).
    pub guild: Option<&'a Guild>,
    /// Who will read this JSON, for each reaction's `me`. `None` for a dispatch shared by
    /// many sessions (then `me` is false everywhere).
    pub viewer: Option<UserId>,
    /// For a reply: the referenced message's JSON (encoded by the caller, one level deep
    /// as on Discord), or `None` when it was deleted (sent as `null`). Ignored for other
    /// kinds.
    pub referenced_message: Option<Value>,
    /// The thread channel started from this message, as channel JSON, if the message has
    /// `thread_id` and the caller resolved it.
    pub thread: Option<Value>,
    /// Signs each attachment's `url` and `proxy_url` (`world::attachment_url`); `None`
    /// writes them as stored (unit tests).
    pub attachment_urls: Option<UrlSigning<'a>>,
}

/// The Message object of `message` as `context.viewer` sees it.
///
/// Redaction for the MESSAGE_CONTENT intent is the caller's choice: encode
/// `message.without_content()` for a viewer `message_content_visible` rejects.
pub fn message_json(message: &Message, context: &MessageJsonContext<'_>) -> Value {
    to_value(&MessageView::new(message, context, None))
}

/// [`message_json`] written as bytes to `out`, with `channel_type` as MESSAGE_CREATE and
/// MESSAGE_UPDATE carry it (absent when `None`). The hot path (a POST's answer, every
/// message dispatch): it builds no `Value`, so it costs a few allocations instead of a
/// hundred, and writes the same bytes `message_json` serialises to.
pub fn write_message_json(
    message: &Message,
    context: &MessageJsonContext<'_>,
    channel_type: Option<u8>,
    out: &mut Vec<u8>,
) {
    serde_json::to_writer(out, &MessageView::new(message, context, channel_type))
        .expect("a message view serialises");
}

/// The Message object as one serialisable view, so that the `Value` and the bytes cannot
/// disagree. Fields in sorted order, as a `serde_json::Map` writes them (`UserView`).
/// Rare, free-form parts (mentions, attachments, embeds, reactions, the reference) stay
/// `Value`s.
#[derive(Serialize)]
struct MessageView<'a> {
    attachments: Vec<Value>,
    author: UserView<'a>,
    channel_id: AsString<ChannelId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_type: Option<u8>,
    components: &'a [Value],
    content: &'a str,
    edited_timestamp: Option<String>,
    embeds: Vec<Value>,
    flags: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    guild_id: Option<AsString<GuildId>>,
    id: AsString<MessageId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<MemberView<'a>>,
    mention_channels: [(); 0],
    mention_everyone: bool,
    mention_roles: IdList<'a, RoleId>,
    mentions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_reference: Option<Value>,
    nonce: Option<Value>,
    pinned: bool,
    reactions: Vec<Value>,
    /// Absent unless a reply; then the referenced message, or `null` once it is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    referenced_message: Option<Option<&'a Value>>,
    sticker_items: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    thread: Option<&'a Value>,
    timestamp: String,
    tts: bool,
    #[serde(rename = "type")]
    kind: u8,
}

impl<'a> MessageView<'a> {
    fn new(
        message: &'a Message,
        context: &'a MessageJsonContext<'_>,
        channel_type: Option<u8>,
    ) -> MessageView<'a> {
        let member = context
            .guild
            .and_then(|guild| guild.member(message.author.id))
            .and_then(|member| partial_member(member, context));
        let mentions: Vec<Value> = message
            .mentions
            .iter()
            .filter_map(|&id| context.users.user(id))
            .map(|user| {
                let mut value = user_json(user);
                let guild_member = context.guild.and_then(|guild| guild.member(user.id));
                let partial = guild_member.and_then(|member| partial_member(member, context));
                if let (Some(member), Value::Object(object)) = (partial, &mut value) {
                    object.insert("member".into(), to_value(&member));
                }
                value
            })
            .collect();
        let author = &message.author;
        MessageView {
            attachments: message
                .attachments
                .iter()
                .map(|attachment| attachment_json(attachment, context.attachment_urls))
                .collect(),
            author: UserView::new(
                author.id,
                &author.username,
                author.global_name.as_deref(),
                author.bot,
                author.public_flags,
            ),
            channel_id: AsString(message.channel_id),
            channel_type,
            components: &message.components,
            content: &message.content,
            edited_timestamp: message.edited_at_unix_ms.map(iso8601_from_unix_ms),
            embeds: message.embeds.iter().map(embed_json).collect(),
            flags: message.flags,
            guild_id: message.guild_id.map(AsString),
            id: AsString(message.id),
            member,
            mention_channels: [],
            mention_everyone: message.mention_everyone,
            mention_roles: IdList(&message.mention_roles),
            mentions,
            message_reference: message_reference(message),
            nonce: message.nonce.as_ref().map(nonce_json),
            pinned: message.pinned,
            reactions: message
                .reactions
                .iter()
                .map(|reaction| reaction_json(reaction, context.viewer))
                .collect(),
            referenced_message: (message.referenced_message_id.is_some()
                && message.kind == MessageKind::Reply)
                .then_some(context.referenced_message.as_ref()),
            sticker_items: [],
            thread: message.thread_id.and(context.thread.as_ref()),
            timestamp: iso8601_from_unix_ms(message.timestamp_unix_ms()),
            tts: message.tts,
            kind: message.kind.discord_type(),
        }
    }
}

/// `message_reference`, for a message that references one.
fn message_reference(message: &Message) -> Option<Value> {
    let referenced = message.referenced_message_id?;
    let mut reference = json!({
        "type": 0,
        "message_id": referenced.to_string(),
        "channel_id": message.channel_id.to_string(),
        "fail_if_not_exists": true,
    });
    if let (Some(guild_id), Value::Object(fields)) = (message.guild_id, &mut reference) {
        fields.insert("guild_id".into(), guild_id.to_string().into());
    }
    Some(reference)
}

/// A guild member as a message carries it: the Member object without `user` (Discord
/// sends the user as `author` or as the mention itself), with `roles` and `flags`.
fn partial_member<'a>(
    member: &'a Member,
    context: &MessageJsonContext<'_>,
) -> Option<MemberView<'a>> {
    if context.users.user(member.user_id).is_none() {
        // A member whose user is unknown breaks World::validate; leave the member out.
        debug_assert!(false, "member {} without a user", member.user_id);
        return None;
    }
    Some(MemberView::of(member, None))
}

fn attachment_json(attachment: &Attachment, signing: Option<UrlSigning<'_>>) -> Value {
    // One HMAC per attachment: `url` and `proxy_url` are the same file.
    let (url, proxy_url) = match signing {
        Some(signing) if attachment.url == attachment.proxy_url => {
            let signed = signing.sign(&attachment.url);
            (signed.clone(), signed)
        }
        Some(signing) => (
            signing.sign(&attachment.url),
            signing.sign(&attachment.proxy_url),
        ),
        None => (attachment.url.clone(), attachment.proxy_url.clone()),
    };
    let mut value = json!({
        "id": attachment.id.to_string(),
        "filename": attachment.filename,
        "description": attachment.description,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": url,
        "proxy_url": proxy_url,
        "height": attachment.height,
        "width": attachment.width,
        "ephemeral": false,
        "flags": 0,
    });
    // Discord sends `title` only when the stored name differs from the one uploaded.
    if let (Some(title), Value::Object(object)) = (&attachment.title, &mut value) {
        object.insert("title".into(), Value::from(title.clone()));
    }
    value
}

/// An embed as Discord returns it: as sent, with `type` defaulting to `"rich"` (Discord
/// always sends one; twilight requires it).
fn embed_json(embed: &Value) -> Value {
    let mut embed = embed.clone();
    if let Value::Object(object) = &mut embed {
        object.entry("type").or_insert_with(|| "rich".into());
    }
    embed
}

fn reaction_json(reaction: &Reaction, viewer: Option<UserId>) -> Value {
    json!({
        "count": reaction.count(),
        "count_details": { "burst": 0, "normal": reaction.count() },
        "me": reaction.me(viewer),
        "me_burst": false,
        "burst_colors": [],
        "emoji": {
            "id": reaction.emoji.id.map(|id| id.to_string()),
            "name": reaction.emoji.name,
            "animated": reaction.emoji.animated,
        },
    })
}

fn nonce_json(nonce: &Nonce) -> Value {
    match nonce {
        Nonce::Text(text) => text.clone().into(),
        Nonce::Integer(number) => (*number).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Author, Emoji, MessageId};
    use super::*;
    use crate::world::demo::demo_world;
    use crate::world::ids::{ChannelId, RoleId};

    /// Keys CLIENTS.md says some client reads without a fallback.
    const REQUIRED: &[&str] = &[
        "id",
        "channel_id",
        "type",
        "content",
        "author",
        "timestamp",
        "edited_timestamp",
        "tts",
        "mention_everyone",
        "mentions",
        "mention_roles",
        "attachments",
        "embeds",
        "pinned",
        "flags",
        "components",
        "reactions",
        "nonce",
    ];

    #[test]
    fn a_guild_reply_carries_every_field_and_its_member() {
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let guild = &demo.world.guilds[0];
        let author = demo.world.accounts[0].user.clone();
        let other = demo.world.accounts[1].user.id;
        let mut message = Message::new(
            MessageId(1 << 40),
            demo.text_channel_id,
            Some(guild.id),
            Author::of(&author),
            "hi".into(),
        );
        message.kind = MessageKind::Reply;
        message.referenced_message_id = Some(MessageId(1 << 30));
        message.mentions = vec![other, crate::world::UserId(999)];
        message.mention_roles = vec![RoleId(5)];
        message.nonce = Some(Nonce::Integer(-3));
        message.embeds = vec![json!({"title": "t"}), json!({"type": "image"})];
        let emoji = Emoji {
            id: Some(77),
            name: "flux".into(),
            animated: true,
        };
        message.add_reaction(&emoji, other);
        let context = MessageJsonContext {
            users: &demo.world,
            guild: Some(guild),
            viewer: Some(other),
            referenced_message: None,
            thread: None,
            attachment_urls: None,
        };
        let value = message_json(&message, &context);
        for key in REQUIRED {
            assert!(value.get(*key).is_some(), "message lacks `{key}`: {value}");
        }
        assert_eq!(value["guild_id"], guild.id.to_string());
        assert!(value["member"]["roles"].is_array());
        assert!(value["member"]["flags"].is_u64());
        assert!(value["member"].get("user").is_none());
        assert_eq!(
            value["mentions"].as_array().unwrap().len(),
            1,
            "user 999 is unknown"
        );
        assert_eq!(value["mentions"][0]["id"], other.to_string());
        assert!(value["mentions"][0]["member"]["roles"].is_array());
        assert_eq!(value["type"], 19);
        assert!(
            value["referenced_message"].is_null(),
            "deleted reply target"
        );
        assert_eq!(
            value["message_reference"]["message_id"],
            (1u64 << 30).to_string()
        );
        assert_eq!(value["reactions"][0]["me"], true);
        assert_eq!(value["reactions"][0]["count"], 1);
        assert_eq!(value["reactions"][0]["emoji"]["id"], "77");
        assert_eq!(value["nonce"], -3);
        assert_eq!(value["embeds"][0], json!({"title": "t", "type": "rich"}));
        assert_eq!(value["embeds"][1]["type"], "image", "a given type is kept");
        assert!(value["edited_timestamp"].is_null());
        assert_eq!(value["author"]["id"], author.id.to_string());
        let shared = MessageJsonContext {
            viewer: None,
            ..context
        };
        assert_eq!(message_json(&message, &shared)["reactions"][0]["me"], false);
    }

    #[test]
    fn the_bytes_are_the_value_serialised_whatever_the_message_holds() {
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let guild = &demo.world.guilds[0];
        let author = demo.world.accounts[0].user.clone();
        let other = demo.world.accounts[1].user.id;
        let plain = Message::new(
            MessageId(1 << 40),
            demo.text_channel_id,
            Some(guild.id),
            Author::of(&author),
            "a \"quoted\" line\nand émoji 🎉".into(),
        );
        let mut rich = plain.clone();
        rich.kind = MessageKind::Reply;
        rich.referenced_message_id = Some(MessageId(1 << 30));
        rich.mentions = vec![other];
        rich.mention_roles = vec![RoleId(5), RoleId(6)];
        rich.nonce = Some(Nonce::Text("n1".into()));
        rich.embeds = vec![json!({"title": "t"})];
        rich.components = vec![json!({"type": 1, "components": []})];
        rich.edited_at_unix_ms = Some(1_700_000_001_000);
        rich.thread_id = Some(ChannelId(1 << 41));
        rich.pinned = true;
        rich.add_reaction(
            &Emoji {
                id: None,
                name: "👍".into(),
                animated: false,
            },
            other,
        );
        let mut dm = plain.clone();
        dm.guild_id = None;
        let referenced = json!({"id": "1"});
        let thread = json!({"id": "2", "type": 11});
        for (message, guild, referenced, thread) in [
            (&plain, Some(guild), None, None),
            (
                &rich,
                Some(guild),
                Some(referenced.clone()),
                Some(thread.clone()),
            ),
            (&rich, Some(guild), None, None),
            (&dm, None, None, None),
        ] {
            let context = MessageJsonContext {
                users: &demo.world,
                guild,
                viewer: Some(other),
                referenced_message: referenced,
                thread,
                attachment_urls: None,
            };
            let value = message_json(message, &context);
            let mut bytes = Vec::new();
            write_message_json(message, &context, None, &mut bytes);
            assert_eq!(
                String::from_utf8(bytes).unwrap(),
                serde_json::to_string(&value).unwrap()
            );
            let mut with_type = value.clone();
            with_type["channel_type"] = 0.into();
            let mut bytes = Vec::new();
            write_message_json(message, &context, Some(0), &mut bytes);
            assert_eq!(
                String::from_utf8(bytes).unwrap(),
                serde_json::to_string(&with_type).unwrap()
            );
        }
    }

    #[test]
    fn a_dm_has_no_guild_member_or_reference() {
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let author = demo.world.accounts[0].user.clone();
        let message = Message::new(
            MessageId(1 << 40),
            ChannelId(9),
            None,
            Author::of(&author),
            "hi".into(),
        );
        let context = MessageJsonContext {
            users: &demo.world,
            guild: None,
            viewer: None,
            referenced_message: None,
            thread: None,
            attachment_urls: None,
        };
        let value = message_json(&message, &context);
        for absent in [
            "guild_id",
            "member",
            "message_reference",
            "referenced_message",
            "webhook_id",
            "application_id",
        ] {
            assert!(value.get(absent).is_none(), "a DM has no `{absent}`");
        }
        let mut reply = message.clone();
        reply.kind = MessageKind::Reply;
        reply.referenced_message_id = Some(MessageId(1 << 30));
        let reply_value = message_json(&reply, &context);
        let reference = &reply_value["message_reference"];
        assert_eq!(reference["channel_id"], "9");
        assert!(
            reference.get("guild_id").is_none(),
            "hikari parses a present guild_id"
        );
        assert!(value["nonce"].is_null());
        assert_eq!(value["type"], 0);
        assert_eq!(value["flags"], 0);
    }
}
