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

use super::{Attachment, Message, MessageKind, Nonce, Reaction};
use crate::world::ids::UserId;
use crate::world::model::{Guild, Member, UserLookup};
use crate::world::{iso8601_from_unix_ms, member_json, user_json};
use serde_json::{json, Map, Value};

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
}

/// The Message object of `message` as `context.viewer` sees it.
///
/// Redaction for the MESSAGE_CONTENT intent is the caller's choice: encode
/// `message.without_content()` for a viewer `message_content_visible` rejects.
pub fn message_json(message: &Message, context: &MessageJsonContext<'_>) -> Value {
    let member = context
        .guild
        .and_then(|guild| guild.member(message.author.id))
        .map(|member| partial_member_json(member, context));
    let mentions: Vec<Value> = message
        .mentions
        .iter()
        .filter_map(|&id| context.users.user(id))
        .map(|user| {
            let mut value = user_json(user);
            let guild_member = context.guild.and_then(|guild| guild.member(user.id));
            if let (Some(member), Value::Object(object)) = (guild_member, &mut value) {
                object.insert("member".into(), partial_member_json(member, context));
            }
            value
        })
        .collect();
    let mut value = json!({
        "id": message.id.to_string(),
        "channel_id": message.channel_id.to_string(),
        "author": user_json(&message.author.to_user()),
        "content": message.content,
        "timestamp": iso8601_from_unix_ms(message.timestamp_unix_ms()),
        "edited_timestamp": message.edited_at_unix_ms.map(iso8601_from_unix_ms),
        "tts": message.tts,
        "mention_everyone": message.mention_everyone,
        "mentions": mentions,
        "mention_roles": message
            .mention_roles
            .iter()
            .map(|role| role.to_string())
            .collect::<Vec<_>>(),
        "mention_channels": [],
        "attachments": message.attachments.iter().map(attachment_json).collect::<Vec<_>>(),
        "embeds": message.embeds.iter().map(embed_json).collect::<Vec<_>>(),
        "components": message.components,
        "reactions": message
            .reactions
            .iter()
            .map(|reaction| reaction_json(reaction, context.viewer))
            .collect::<Vec<_>>(),
        "nonce": message.nonce.as_ref().map(nonce_json),
        "pinned": message.pinned,
        "type": message.kind.discord_type(),
        "flags": message.flags,
        "sticker_items": [],
    });
    let object = match &mut value {
        Value::Object(object) => object,
        _ => unreachable!("json!({{…}}) builds an object"),
    };
    if let Some(guild_id) = message.guild_id {
        object.insert("guild_id".into(), guild_id.to_string().into());
    }
    if let Some(member) = member {
        object.insert("member".into(), member);
    }
    insert_reference(object, message, context);
    if let (Some(_), Some(thread)) = (message.thread_id, &context.thread) {
        object.insert("thread".into(), thread.clone());
    }
    value
}

/// `message_reference` and, for replies, `referenced_message`.
fn insert_reference(
    object: &mut Map<String, Value>,
    message: &Message,
    context: &MessageJsonContext<'_>,
) {
    let Some(referenced) = message.referenced_message_id else {
        return;
    };
    let mut reference = json!({
        "type": 0,
        "message_id": referenced.to_string(),
        "channel_id": message.channel_id.to_string(),
        "fail_if_not_exists": true,
    });
    if let (Some(guild_id), Value::Object(fields)) = (message.guild_id, &mut reference) {
        fields.insert("guild_id".into(), guild_id.to_string().into());
    }
    object.insert("message_reference".into(), reference);
    if message.kind == MessageKind::Reply {
        let value = context.referenced_message.clone().unwrap_or(Value::Null);
        object.insert("referenced_message".into(), value);
    }
}

/// A guild member as a message carries it: the Member object without `user` (Discord
/// sends the user as `author` or as the mention itself), with `roles` and `flags`.
fn partial_member_json(member: &Member, context: &MessageJsonContext<'_>) -> Value {
    let Some(user) = context.users.user(member.user_id) else {
        // A member whose user is unknown breaks World::validate; omit the user part.
        debug_assert!(false, "member {} without a user", member.user_id);
        return Value::Null;
    };
    let mut value = member_json(member, user);
    if let Value::Object(object) = &mut value {
        object.remove("user");
    }
    value
}

fn attachment_json(attachment: &Attachment) -> Value {
    let mut value = json!({
        "id": attachment.id.to_string(),
        "filename": attachment.filename,
        "description": attachment.description,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": attachment.url,
        "proxy_url": attachment.proxy_url,
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
