//! Reactions: a user adds or removes theirs; a moderator removes anyone's, all of them,
//! or all of one emoji. Each rewrites the message and announces the change only when
//! something changed (a second identical reaction is a 204 that stores nothing).

use super::{
    existing, require, MessageContext, MessageError, MessageEvent, MessageOutcome, MessageView,
    ReactionChange, Reply, StoreWrite,
};
use crate::world::message::{Emoji, Message, MessageId};
use crate::world::permissions::Permissions;
use crate::world::UserId;

/// Most distinct emojis on one message (Discord: 20; then 30010).
pub const REACTIONS_MAX: usize = 20;

/// `PUT …/reactions/{emoji}/@me` (READ_MESSAGE_HISTORY; a new emoji also needs
/// ADD_REACTIONS, joining an existing one does not; at most `REACTIONS_MAX` emojis).
pub(super) fn add(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
    emoji: Emoji,
) -> Result<MessageOutcome, MessageError> {
    require(cx, Permissions::READ_MESSAGE_HISTORY)?;
    let mut message = existing(view, cx, message_id)?;
    let joins = message.reactions.iter().any(|r| r.emoji == emoji);
    if !joins {
        require(cx, Permissions::ADD_REACTIONS)?;
        if message.reactions.len() >= REACTIONS_MAX {
            return Err(MessageError::MaxReactions);
        }
    }
    if !message.add_reaction(&emoji, cx.actor) {
        return Ok(MessageOutcome::reply(Reply::Done));
    }
    let author = message.author.id;
    let change = ReactionChange::Add {
        user_id: cx.actor,
        emoji,
        author,
    };
    Ok(rewrite(cx, message, change))
}

/// `DELETE …/reactions/{emoji}/@me` or `…/{user}` (someone else's: MANAGE_MESSAGES).
pub(super) fn remove(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
    emoji: Emoji,
    user: Option<UserId>,
) -> Result<MessageOutcome, MessageError> {
    let target = user.unwrap_or(cx.actor);
    if target != cx.actor {
        require(cx, Permissions::MANAGE_MESSAGES)?;
    }
    let mut message = existing(view, cx, message_id)?;
    if !message.remove_reaction(&emoji, target) {
        return Ok(MessageOutcome::reply(Reply::Done));
    }
    let change = ReactionChange::Remove {
        user_id: target,
        emoji,
    };
    Ok(rewrite(cx, message, change))
}

/// `DELETE …/reactions` (MANAGE_MESSAGES).
pub(super) fn remove_all(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
) -> Result<MessageOutcome, MessageError> {
    require(cx, Permissions::MANAGE_MESSAGES)?;
    let mut message = existing(view, cx, message_id)?;
    if message.reactions.is_empty() {
        return Ok(MessageOutcome::reply(Reply::Done));
    }
    message.reactions.clear();
    Ok(rewrite(cx, message, ReactionChange::RemoveAll))
}

/// `DELETE …/reactions/{emoji}` (MANAGE_MESSAGES).
pub(super) fn remove_emoji(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
    emoji: Emoji,
) -> Result<MessageOutcome, MessageError> {
    require(cx, Permissions::MANAGE_MESSAGES)?;
    let mut message = existing(view, cx, message_id)?;
    let before = message.reactions.len();
    message.reactions.retain(|r| r.emoji != emoji);
    if message.reactions.len() == before {
        return Ok(MessageOutcome::reply(Reply::Done));
    }
    Ok(rewrite(cx, message, ReactionChange::RemoveEmoji(emoji)))
}

/// The message with its new reactions, and the event naming the change.
fn rewrite(cx: &MessageContext<'_>, message: Message, change: ReactionChange) -> MessageOutcome {
    let event = MessageEvent::Reaction {
        guild_id: cx.guild_id,
        channel_id: message.channel_id,
        message_id: message.id,
        change,
    };
    MessageOutcome {
        unnamed_files: Vec::new(),
        writes: vec![StoreWrite::Put(message)],
        event: Some(event),
        reply: Reply::Done,
    }
}
