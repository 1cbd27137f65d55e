//! Pins: a message's `pinned` flag and the channel's pin list (newest first, at most
//! `PINS_MAX`) change together, in one store batch.

use super::{
    existing, MessageContext, MessageError, MessageEvent, MessageOutcome, MessageView, Reply,
    StoreWrite,
};
use crate::world::message::MessageId;
use crate::world::permissions::Permissions;

/// Most pins in one channel (Discord: 250; then 30003).
pub const PINS_MAX: usize = 250;

/// `PUT` (`pin`) or `DELETE` of `/channels/{id}/pins/{id}` (MANAGE_MESSAGES or
/// PIN_MESSAGES). Pinning a pinned message, or unpinning an unpinned one, changes nothing.
pub(super) fn set_pinned(
    view: &dyn MessageView,
    cx: &MessageContext<'_>,
    message_id: MessageId,
    pin: bool,
) -> Result<MessageOutcome, MessageError> {
    if !cx.permissions.contains(Permissions::MANAGE_MESSAGES)
        && !cx.permissions.contains(Permissions::PIN_MESSAGES)
    {
        return Err(MessageError::MissingPermissions);
    }
    let mut message = existing(view, cx, message_id)?;
    if message.pinned == pin {
        return Ok(MessageOutcome::reply(Reply::Done));
    }
    let mut pins = view.pins(cx.channel_id)?;
    pins.retain(|(id, _)| *id != message_id);
    if pin {
        if pins.len() >= PINS_MAX {
            return Err(MessageError::MaxPins);
        }
        pins.insert(0, (message_id, cx.now_unix_ms));
    }
    message.pinned = pin;
    let event = MessageEvent::PinsUpdate {
        guild_id: cx.guild_id,
        channel_id: cx.channel_id,
        last_pin_unix_ms: pins.first().map(|(_, at)| *at),
    };
    Ok(MessageOutcome {
        unnamed_files: Vec::new(),
        writes: vec![
            StoreWrite::Put(message),
            StoreWrite::Pins(cx.channel_id, pins),
        ],
        event: Some(event),
        reply: Reply::Done,
    })
}
