//! The operations that create, change or remove messages, and typing (announced, never
//! stored).

use super::{
    existing, may_create, require, MessageContext, MessageEdit, MessageError, MessageEvent,
    MessageOutcome, MessageView, NewMessage, Reply, StoreWrite,
};
use crate::world::message::{parse_mentions, Author, Message, MessageId};
use crate::world::permissions::Permissions;
use crate::world::{GuildId, RoleId, UserId};

/// `POST /channels/{id}/messages`: SEND_MESSAGES, ATTACH_FILES with files; `tts` only
/// with SEND_TTS_MESSAGES (without it Discord sends the message without speech); in a
/// DM, only between users who share a guild (50007).
pub(super) fn create(
    cx: &MessageContext<'_>,
    new: NewMessage,
) -> Result<MessageOutcome, MessageError> {
    may_create(cx, !new.attachments.is_empty())?;
    if cx.dm && !cx.dm_users_share_a_guild {
        return Err(MessageError::CannotMessageUser);
    }
    if new.content.is_empty() && new.embeds.is_empty() && new.attachments.is_empty() {
        return Err(MessageError::EmptyMessage);
    }
    let author = cx.users.user(cx.actor).ok_or(MessageError::UnknownAuthor)?;
    let guild_id = (!cx.dm).then_some(GuildId(cx.guild_id));
    let mut message = Message::new(
        new.id,
        cx.channel_id,
        guild_id,
        Author::of(author),
        new.content,
    );
    message.tts = new.tts && cx.permissions.contains(Permissions::SEND_TTS_MESSAGES);
    message.embeds = new.embeds;
    message.nonce = new.nonce;
    message.attachments = new.attachments;
    set_mentions(&mut message, cx);
    Ok(MessageOutcome {
        unnamed_files: Vec::new(),
        writes: vec![StoreWrite::Put(message.clone())],
        event: Some(MessageEvent::Create(message.clone())),
        reply: Reply::Message(message),
    })
}

/// `PATCH /channels/{id}/messages/{id}`: the author only; the result may not be empty.
pub(super) fn edit(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
    edit: MessageEdit,
) -> Result<MessageOutcome, MessageError> {
    let mut message = existing(view, cx, message_id)?;
    if message.author.id != cx.actor {
        return Err(MessageError::NotAuthor);
    }
    if let Some(content) = edit.content {
        message.content = content;
        set_mentions(&mut message, cx);
    }
    if let Some(embeds) = edit.embeds {
        message.embeds = embeds;
    }
    if message.content.is_empty() && message.embeds.is_empty() && message.attachments.is_empty() {
        return Err(MessageError::EmptyMessage);
    }
    message.edited_at_unix_ms = Some(cx.now_unix_ms);
    Ok(MessageOutcome {
        unnamed_files: Vec::new(),
        writes: vec![StoreWrite::Put(message.clone())],
        event: Some(MessageEvent::Update(message.clone())),
        reply: Reply::Message(message),
    })
}

/// `DELETE /channels/{id}/messages/{id}`: the author, or MANAGE_MESSAGES.
pub(super) fn delete(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
) -> Result<MessageOutcome, MessageError> {
    let message = existing(view, cx, message_id)?;
    if message.author.id != cx.actor {
        require(cx, Permissions::MANAGE_MESSAGES)?;
    }
    Ok(MessageOutcome {
        unnamed_files: message.attachments.iter().map(|a| a.id).collect(),
        writes: vec![StoreWrite::Delete(cx.channel_id, message_id)],
        event: Some(MessageEvent::Delete {
            guild_id: cx.guild_id,
            channel_id: cx.channel_id,
            message_id,
        }),
        reply: Reply::Done,
    })
}

/// `POST /channels/{id}/messages/bulk-delete` (MANAGE_MESSAGES): deletes the ids that
/// name a message of the channel, skips the others (as Discord does).
pub(super) fn bulk_delete(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    asked: Vec<MessageId>,
) -> Result<MessageOutcome, MessageError> {
    require(cx, Permissions::MANAGE_MESSAGES)?;
    let mut message_ids = Vec::with_capacity(asked.len());
    let mut unnamed_files = Vec::new();
    for message_id in asked {
        if message_ids.contains(&message_id) {
            continue;
        }
        if let Some(message) = view.message(cx.channel_id, message_id)? {
            unnamed_files.extend(message.attachments.iter().map(|a| a.id));
            message_ids.push(message_id);
        }
    }
    if message_ids.is_empty() {
        return Ok(MessageOutcome::reply(Reply::Done));
    }
    Ok(MessageOutcome {
        unnamed_files,
        writes: message_ids
            .iter()
            .map(|id| StoreWrite::Delete(cx.channel_id, *id))
            .collect(),
        event: Some(MessageEvent::DeleteBulk {
            guild_id: cx.guild_id,
            channel_id: cx.channel_id,
            message_ids,
        }),
        reply: Reply::Done,
    })
}

/// `POST /channels/{id}/typing` (SEND_MESSAGES): TYPING_START at once, nothing stored.
pub(super) fn typing(cx: &MessageContext<'_>) -> Result<MessageOutcome, MessageError> {
    require(cx, Permissions::SEND_MESSAGES)?;
    Ok(MessageOutcome {
        unnamed_files: Vec::new(),
        writes: Vec::new(),
        event: Some(MessageEvent::Typing {
            guild_id: cx.guild_id,
            channel_id: cx.channel_id,
            user_id: cx.actor,
            timestamp_s: cx.now_unix_ms / 1000,
        }),
        reply: Reply::Done,
    })
}

/// Fills `mentions`, `mention_roles` and `mention_everyone` from the content, as Discord
/// does: users that exist, roles of the guild, and @everyone / @here only when the author
/// has MENTION_EVERYONE. The mentioned users see the content without MESSAGE_CONTENT.
fn set_mentions(message: &mut Message, cx: &MessageContext<'_>) {
    let found = parse_mentions(&message.content);
    message.mentions = found
        .users
        .into_iter()
        .map(UserId)
        .filter(|&id| cx.users.user(id).is_some())
        .collect();
    message.mention_roles = found
        .roles
        .into_iter()
        .map(RoleId)
        .filter(|role| cx.guild.roles.contains_key(role))
        .collect();
    message.mention_everyone =
        found.everyone && cx.permissions.contains(Permissions::MENTION_EVERYONE);
}
