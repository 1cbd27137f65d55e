//! The privileged MESSAGE_CONTENT intent (gateway intent bit 15).
//!
//! A bot without it still receives messages, but with `content`, `embeds`, `attachments`
//! and `components` empty (Discord also empties `poll`, which Flux does not have). Discord
//! makes three exceptions, where the content is always visible:
//! - direct messages (the message has no guild);
//! - messages the bot itself sent;
//! - messages that mention the bot by user mention (role mentions and @everyone do not
//!   count).
//!
//! Discord applies the rule to every API surface, not only the gateway: a REST history page
//! read by a bot without the intent is redacted the same way. The decision is a pure
//! predicate over ids and flags so the gateway can compute it once per session and the
//! dispatch can be serialised once per variant (with and without content), never once per
//! session.
//!
//! A reply's `referenced_message` is a message too: the caller encodes the target with
//! the same rule for the same viewer (`message_json` takes it already encoded).
//!
//! Elsewhere: which sessions have the intent (`engine::gateway`, from IDENTIFY), whether a
//! viewer may see the channel at all (`world::permissions`).

use super::Message;
use crate::world::ids::UserId;

/// Whether `viewer_id` sees the content of a message by `author_id` mentioning `mentions`.
///
/// `intents_has_content`: the viewer's session asked for MESSAGE_CONTENT (or the viewer is
/// a human, whose clients always see content; the caller passes `true` for them).
/// `is_dm`: the message was sent in a DM channel.
///
/// ```
/// use engine::world::message::message_content_visible;
/// use engine::world::UserId;
/// let (bot, someone) = (UserId(1), UserId(2));
/// assert!(!message_content_visible(false, false, bot, someone, &[]));
/// assert!(message_content_visible(false, false, bot, someone, &[bot]));
/// ```
pub fn message_content_visible(
    intents_has_content: bool,
    is_dm: bool,
    viewer_id: UserId,
    author_id: UserId,
    mentions: &[UserId],
) -> bool {
    intents_has_content || is_dm || viewer_id == author_id || mentions.contains(&viewer_id)
}

impl Message {
    /// Whether `viewer_id`, with or without the MESSAGE_CONTENT intent, sees this message's
    /// content (`message_content_visible` applied to this message).
    pub fn content_visible_to(&self, viewer_id: UserId, intents_has_content: bool) -> bool {
        message_content_visible(
            intents_has_content,
            self.is_dm(),
            viewer_id,
            self.author.id,
            &self.mentions,
        )
    }

    /// The message as a viewer without MESSAGE_CONTENT sees it: `content`, `embeds`,
    /// `attachments` and `components` empty, everything else (mentions, reactions, flags,
    /// the reference) unchanged, as on Discord.
    pub fn without_content(&self) -> Message {
        Message {
            content: String::new(),
            embeds: Vec::new(),
            attachments: Vec::new(),
            components: Vec::new(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Attachment, Author, MessageId};
    use super::*;
    use crate::world::ids::{ChannelId, GuildId, RoleId};
    use serde_json::json;

    const BOT: UserId = UserId(100);
    const AUTHOR: UserId = UserId(200);
    const OTHER: UserId = UserId(300);

    #[test]
    fn without_the_intent_a_guild_message_is_hidden() {
        assert!(!message_content_visible(false, false, BOT, AUTHOR, &[]));
        assert!(!message_content_visible(
            false,
            false,
            BOT,
            AUTHOR,
            &[OTHER]
        ));
    }

    #[test]
    fn with_the_intent_everything_is_visible() {
        assert!(message_content_visible(true, false, BOT, AUTHOR, &[]));
    }

    #[test]
    fn dms_are_always_visible() {
        assert!(message_content_visible(false, true, BOT, AUTHOR, &[]));
    }

    #[test]
    fn the_bots_own_messages_are_visible() {
        assert!(message_content_visible(false, false, BOT, BOT, &[]));
    }

    #[test]
    fn a_user_mention_of_the_bot_makes_it_visible() {
        assert!(message_content_visible(
            false,
            false,
            BOT,
            AUTHOR,
            &[OTHER, BOT]
        ));
    }

    #[test]
    fn role_mentions_and_everyone_do_not_count() {
        let mut message = guild_message();
        message.mention_everyone = true;
        message.mention_roles = vec![RoleId(5)];
        assert!(!message.content_visible_to(BOT, false));
        message.mentions = vec![BOT];
        assert!(message.content_visible_to(BOT, false));
    }

    #[test]
    fn without_content_empties_exactly_the_four_fields() {
        let mut message = guild_message();
        message.embeds = vec![json!({"title": "t"})];
        message.components = vec![json!({"type": 1, "components": []})];
        message.attachments = vec![Attachment {
            id: 1,
            filename: "a.png".into(),
            size: 3,
            url: "http://x/a.png".into(),
            proxy_url: "http://x/a.png".into(),
            content_type: Some("image/png".into()),
            ..Attachment::default()
        }];
        message.mentions = vec![OTHER];
        message.pinned = true;
        let redacted = message.without_content();
        assert_eq!(redacted.content, "");
        assert!(redacted.embeds.is_empty());
        assert!(redacted.attachments.is_empty());
        assert!(redacted.components.is_empty());
        let restored = Message {
            content: message.content.clone(),
            embeds: message.embeds.clone(),
            attachments: message.attachments.clone(),
            components: message.components.clone(),
            ..redacted
        };
        assert_eq!(restored, message, "nothing else changes");
    }

    fn guild_message() -> Message {
        let author = Author {
            id: AUTHOR,
            username: "a".into(),
            global_name: None,
            bot: false,
            public_flags: 0,
        };
        Message::new(
            MessageId(1 << 30),
            ChannelId(1),
            Some(GuildId(2)),
            author,
            "secret".into(),
        )
    }
}
