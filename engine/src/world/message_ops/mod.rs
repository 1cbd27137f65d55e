//! The message rules as pure operations: who may create, edit, delete, react to, pin and
//! list messages, and what each change writes and announces.
//!
//! Why pure: the owner core runs these rules, and its commit protocol (ARCHITECTURE.md,
//! "Commit protocol") needs to know a change completely *before* anything of it becomes
//! real. An operation reads the channel's messages through a [`MessageView`] and returns
//! a [`MessageOutcome`]: the [`StoreWrite`]s for the owner's lsm batch, the
//! [`MessageEvent`] to announce once they are durable, and the [`Reply`] for the caller.
//! It writes nothing itself, so a refusal leaves no trace by construction, and the same
//! rules run against the real store or against the reference model in the tests.
//!
//! The same shape as the guild operations (`world::guild_ops`), with one step further:
//! nothing here knows HTTP. A refusal is a [`MessageError`]; `rest::error` maps each to
//! Discord's status and JSON code. Requests arrive typed ([`MessageRequest`]); the REST
//! layer parsed the path, query and body.
//!
//! Files: `reads.rs` (history, one message, reaction users, pins), `writes.rs` (create,
//! edit, delete, bulk delete, typing), `reactions.rs`, `pins.rs`.

mod pins;
mod reactions;
mod reads;
mod writes;

#[cfg(test)]
mod tests;

use crate::world::history::{HistoryError, HistoryQuery};
use crate::world::message::{Attachment, Emoji, Message, MessageId, Nonce};
use crate::world::permissions::{GuildSnapshot, Permissions};
use crate::world::{ChannelId, UserId, UserLookup};

pub use pins::PINS_MAX;
pub use reactions::REACTIONS_MAX;

/// One pinned message: its id and when it was pinned (Unix ms). A channel's pin list is
/// newest first.
pub type Pin = (MessageId, u64);

/// The durable messages of the owner's store, as the rules read them.
pub trait MessageView {
    /// Message `message_id` of `channel_id`, if it exists.
    fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Option<Message>, MessageError>;
    /// The channel's pin list, newest first.
    fn pins(&self, channel_id: ChannelId) -> Result<Vec<Pin>, MessageError>;
    /// A page of the channel's history.
    fn history(
        &self,
        channel_id: ChannelId,
        query: &HistoryQuery,
    ) -> Result<Vec<Message>, MessageError>;
}

/// Who asks, where, and what they may do there.
pub struct MessageContext<'a> {
    /// The caller.
    pub actor: UserId,
    /// The channel (or thread, or DM channel).
    pub channel_id: ChannelId,
    /// Its guild; for a DM, the channel's own id (a guild of two).
    pub guild_id: u64,
    /// Whether the channel is a DM.
    pub dm: bool,
    /// For a DM: whether its two users share a guild. Discord refuses messages between
    /// users with nothing in common (50007), so a stranger cannot be messaged.
    pub dm_users_share_a_guild: bool,
    /// The caller's permissions in the channel now (timeouts applied).
    pub permissions: Permissions,
    /// The guild's permission view (its roles, for role mentions).
    pub guild: &'a GuildSnapshot,
    /// Every user (authors, mentions, reaction lists).
    pub users: &'a dyn UserLookup,
    /// The time of the call.
    pub now_unix_ms: u64,
}

/// A message route, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageRequest {
    /// A page of history.
    List(HistoryQuery),
    /// One message.
    Get(MessageId),
    /// A new message.
    Create(NewMessage),
    /// An edit by the author.
    Edit(MessageId, MessageEdit),
    /// A delete (the author, or MANAGE_MESSAGES).
    Delete(MessageId),
    /// Many deletes at once (MANAGE_MESSAGES); ids that name no message are skipped.
    BulkDelete(Vec<MessageId>),
    /// The caller adds a reaction.
    AddReaction(MessageId, Emoji),
    /// A reaction removed: the caller's (`None`), or another user's (MANAGE_MESSAGES).
    RemoveReaction(MessageId, Emoji, Option<UserId>),
    /// Every reaction removed.
    RemoveAllReactions(MessageId),
    /// Every reaction with one emoji removed.
    RemoveEmojiReactions(MessageId, Emoji),
    /// The users who reacted with `emoji`, by id, after `after`, at most `limit`.
    ListReactions {
        /// The message.
        message_id: MessageId,
        /// The emoji.
        emoji: Emoji,
        /// At most this many users.
        limit: usize,
        /// Only users with a greater id.
        after: u64,
    },
    /// The caller is typing (not stored).
    Typing,
    /// The pinned messages.
    ListPins,
    /// Pin a message.
    Pin(MessageId),
    /// Unpin a message.
    Unpin(MessageId),
}

impl MessageRequest {
    /// Whether the request only reads: it is answered from durable state only.
    pub fn reads(&self) -> bool {
        matches!(
            self,
            MessageRequest::List(_)
                | MessageRequest::Get(_)
                | MessageRequest::ListReactions { .. }
                | MessageRequest::ListPins
        )
    }
}

/// A new message as the caller sent it, with the id the owner chose and the files it
/// already stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The owner's Snowflake for it.
    pub id: MessageId,
    /// The text.
    pub content: String,
    /// Text-to-speech, as asked (kept only with SEND_TTS_MESSAGES).
    pub tts: bool,
    /// Embeds, as the sender's JSON objects.
    pub embeds: Vec<serde_json::Value>,
    /// The sender's nonce, echoed back.
    pub nonce: Option<Nonce>,
    /// The files, stored before the message names them.
    pub attachments: Vec<Attachment>,
}

/// An edit: each field present replaces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageEdit {
    /// New content.
    pub content: Option<String>,
    /// New embeds.
    pub embeds: Option<Vec<serde_json::Value>>,
}

/// One change for the owner's store.
// One value per call, moved into the batch once; boxing the message would cost an
// allocation per message created.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StoreWrite {
    /// The message, new or changed.
    Put(Message),
    /// The message is gone.
    Delete(ChannelId, MessageId),
    /// The channel's new pin list.
    Pins(ChannelId, Vec<Pin>),
}

/// What the caller gets.
// One value per call, rendered once (see `StoreWrite`).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// One message.
    Message(Message),
    /// Messages, in order.
    Messages(Vec<Message>),
    /// Users, by id.
    Users(Vec<UserId>),
    /// Pinned messages and when each was pinned, newest first.
    Pins(Vec<(Message, u64)>),
    /// Nothing (204).
    Done,
}

/// What an operation decided. `writes` empty: nothing to store (a read, a change that
/// changes nothing, or typing, whose `event` goes out at once).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageOutcome {
    /// For the owner's store, in one batch.
    pub writes: Vec<StoreWrite>,
    /// Attachment files (by attachment id) no message names once the writes are
    /// durable: a deleted message's files, removed then (Discord removes them too).
    pub unnamed_files: Vec<u64>,
    /// For every core once the writes are durable.
    pub event: Option<MessageEvent>,
    /// For the caller once the writes are durable.
    pub reply: Reply,
}

impl MessageOutcome {
    fn reply(reply: Reply) -> MessageOutcome {
        MessageOutcome {
            writes: Vec::new(),
            unnamed_files: Vec::new(),
            event: None,
            reply,
        }
    }
}

/// A message change, announced once it is durable (typing: at once).
#[derive(Debug, Clone, PartialEq)]
pub enum MessageEvent {
    /// MESSAGE_CREATE.
    Create(Message),
    /// MESSAGE_UPDATE.
    Update(Message),
    /// MESSAGE_DELETE.
    Delete {
        guild_id: u64,
        channel_id: ChannelId,
        message_id: MessageId,
    },
    /// MESSAGE_REACTION_ADD / _REMOVE / _REMOVE_ALL / _REMOVE_EMOJI.
    Reaction {
        guild_id: u64,
        channel_id: ChannelId,
        message_id: MessageId,
        change: ReactionChange,
    },
    /// TYPING_START (not stored).
    Typing {
        guild_id: u64,
        channel_id: ChannelId,
        user_id: UserId,
        timestamp_s: u64,
    },
    /// CHANNEL_PINS_UPDATE.
    PinsUpdate {
        guild_id: u64,
        channel_id: ChannelId,
        last_pin_unix_ms: Option<u64>,
    },
    /// MESSAGE_DELETE_BULK: the ids that existed and were deleted, in the order asked.
    DeleteBulk {
        guild_id: u64,
        channel_id: ChannelId,
        message_ids: Vec<MessageId>,
    },
}

impl MessageEvent {
    /// The channel the event is about.
    pub fn channel_id(&self) -> ChannelId {
        match self {
            MessageEvent::Create(message) | MessageEvent::Update(message) => message.channel_id,
            MessageEvent::Delete { channel_id, .. }
            | MessageEvent::Reaction { channel_id, .. }
            | MessageEvent::Typing { channel_id, .. }
            | MessageEvent::PinsUpdate { channel_id, .. }
            | MessageEvent::DeleteBulk { channel_id, .. } => *channel_id,
        }
    }
}

/// What happened to a message's reactions.
#[derive(Debug, Clone, PartialEq)]
pub enum ReactionChange {
    /// A user added one (`author`: the message's author, Discord's `message_author_id`).
    Add {
        user_id: UserId,
        emoji: Emoji,
        author: UserId,
    },
    /// A user's reaction was removed.
    Remove { user_id: UserId, emoji: Emoji },
    /// Every reaction was removed.
    RemoveAll,
    /// Every reaction with one emoji was removed.
    RemoveEmoji(Emoji),
}

/// Why a message operation was refused. No HTTP here: `rest::error` maps each to
/// Discord's status and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// The message does not exist in the channel (Discord 10008).
    UnknownMessage,
    /// The caller is not a member or cannot view the channel (50001).
    MissingAccess,
    /// A DM whose users share no guild (50007).
    CannotMessageUser,
    /// The caller lacks a permission the operation needs (50013).
    MissingPermissions,
    /// Only the author may edit a message (50005).
    NotAuthor,
    /// A message would have no content, embeds or files (50006).
    EmptyMessage,
    /// The channel already has `PINS_MAX` pins (30003).
    MaxPins,
    /// The message already has `REACTIONS_MAX` distinct emojis (30010).
    MaxReactions,
    /// The author is no user (their account is gone).
    UnknownAuthor,
    /// A history query that cannot be answered (its fields, or the store).
    History(HistoryError),
    /// The store could not be read.
    StoreFailed,
}

impl From<HistoryError> for MessageError {
    fn from(error: HistoryError) -> MessageError {
        MessageError::History(error)
    }
}

/// Runs `request` in `cx` against `view`.
pub fn apply(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    request: MessageRequest,
) -> Result<MessageOutcome, MessageError> {
    if !cx.permissions.contains(Permissions::VIEW_CHANNEL) {
        return Err(MessageError::MissingAccess);
    }
    match request {
        MessageRequest::List(query) => reads::history(view, cx, &query),
        MessageRequest::Get(message_id) => reads::message(view, cx, message_id),
        MessageRequest::ListReactions {
            message_id,
            emoji,
            limit,
            after,
        } => reads::reaction_users(view, cx, message_id, &emoji, limit, after),
        MessageRequest::ListPins => reads::pins(view, cx),
        MessageRequest::Create(new) => writes::create(cx, new),
        MessageRequest::Edit(message_id, edit) => writes::edit(view, cx, message_id, edit),
        MessageRequest::Delete(message_id) => writes::delete(view, cx, message_id),
        MessageRequest::BulkDelete(message_ids) => writes::bulk_delete(view, cx, message_ids),
        MessageRequest::Typing => writes::typing(cx),
        MessageRequest::AddReaction(message_id, emoji) => {
            reactions::add(view, cx, message_id, emoji)
        }
        MessageRequest::RemoveReaction(message_id, emoji, user) => {
            reactions::remove(view, cx, message_id, emoji, user)
        }
        MessageRequest::RemoveAllReactions(message_id) => {
            reactions::remove_all(view, cx, message_id)
        }
        MessageRequest::RemoveEmojiReactions(message_id, emoji) => {
            reactions::remove_emoji(view, cx, message_id, emoji)
        }
        MessageRequest::Pin(message_id) => pins::set_pinned(view, cx, message_id, true),
        MessageRequest::Unpin(message_id) => pins::set_pinned(view, cx, message_id, false),
    }
}

/// The checks a create passes before its files are stored: the caller may send here, and
/// attach files if there are any. `create` checks them again.
pub fn may_create(cx: &MessageContext<'_>, with_files: bool) -> Result<(), MessageError> {
    if !cx.permissions.contains(Permissions::VIEW_CHANNEL) {
        return Err(MessageError::MissingAccess);
    }
    require(cx, Permissions::SEND_MESSAGES)?;
    if with_files {
        require(cx, Permissions::ATTACH_FILES)?;
    }
    Ok(())
}

/// 50013 unless the caller holds `needed` in the channel.
fn require(cx: &MessageContext<'_>, needed: Permissions) -> Result<(), MessageError> {
    if cx.permissions.contains(needed) {
        Ok(())
    } else {
        Err(MessageError::MissingPermissions)
    }
}

/// Message `message_id` of the call's channel, or 10008.
fn existing(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
) -> Result<Message, MessageError> {
    view.message(cx.channel_id, message_id)?
        .ok_or(MessageError::UnknownMessage)
}
