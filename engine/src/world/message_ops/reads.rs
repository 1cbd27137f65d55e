//! The read operations: a page of history, one message, the users of a reaction, the
//! pins. They change nothing; the owner answers them from durable state only.

use super::{existing, require, MessageContext, MessageError, MessageOutcome, MessageView, Reply};
use crate::world::history::HistoryQuery;
use crate::world::message::{Emoji, MessageId};
use crate::world::permissions::Permissions;
use crate::world::UserId;

/// `GET /channels/{id}/messages`. Without READ_MESSAGE_HISTORY no messages are returned
/// (Discord), but the query is still checked.
pub(super) fn history(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    query: &HistoryQuery,
) -> Result<MessageOutcome, MessageError> {
    if !cx.permissions.contains(Permissions::READ_MESSAGE_HISTORY) {
        query.validate()?;
        return Ok(MessageOutcome::reply(Reply::Messages(Vec::new())));
    }
    let page = view.history(cx.channel_id, query)?;
    Ok(MessageOutcome::reply(Reply::Messages(page)))
}

/// `GET /channels/{id}/messages/{id}` (READ_MESSAGE_HISTORY).
pub(super) fn message(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
) -> Result<MessageOutcome, MessageError> {
    require(cx, Permissions::READ_MESSAGE_HISTORY)?;
    let message = existing(view, cx, message_id)?;
    Ok(MessageOutcome::reply(Reply::Message(message)))
}

/// `GET …/reactions/{emoji}`: the users who reacted, by id, after `after`, the ones that
/// still exist, at most `limit` (READ_MESSAGE_HISTORY).
pub(super) fn reaction_users(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
    emoji: &Emoji,
    limit: usize,
    after: u64,
) -> Result<MessageOutcome, MessageError> {
    require(cx, Permissions::READ_MESSAGE_HISTORY)?;
    let message = existing(view, cx, message_id)?;
    let mut ids: Vec<UserId> = message
        .reactions
        .iter()
        .find(|reaction| reaction.emoji == *emoji)
        .map(|reaction| reaction.user_ids.clone())
        .unwrap_or_default();
    ids.sort_unstable();
    let users = ids
        .into_iter()
        .filter(|id| id.0 > after)
        .filter(|id| cx.users.user(*id).is_some())
        .take(limit)
        .collect();
    Ok(MessageOutcome::reply(Reply::Users(users)))
}

/// The pinned messages, newest first; deleted ones are skipped. Without
/// READ_MESSAGE_HISTORY, none.
pub(super) fn pins(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
) -> Result<MessageOutcome, MessageError> {
    if !cx.permissions.contains(Permissions::READ_MESSAGE_HISTORY) {
        return Ok(MessageOutcome::reply(Reply::Pins(Vec::new())));
    }
    let mut pinned = Vec::new();
    for (message_id, pinned_at) in view.pins(cx.channel_id)? {
        if let Some(message) = view.message(cx.channel_id, message_id)? {
            pinned.push((message, pinned_at));
        }
    }
    Ok(MessageOutcome::reply(Reply::Pins(pinned)))
}
