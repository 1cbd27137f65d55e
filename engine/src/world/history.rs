//! A channel's message history over the `lsm` store: Discord's
//! `GET /channels/{id}/messages?before|after|around&limit`, plus the few store helpers a
//! message write needs (the bucket function, put, delete, get, and a channel's pin list).
//!
//! Implements Discord's paging rules exactly as clients depend on them (CLIENTS.md §1.4):
//! - `limit` is 1..=100, default 50; anything else is `HistoryError::LimitOutOfRange`,
//!   which the REST layer answers with 50035 Invalid Form Body (`errors.limit`).
//! - A page is always **newest first**.
//! - No anchor: the newest `limit` messages.
//! - `before=id`: the newest `limit` messages older than `id` (discord.py pages backwards
//!   with `before = last element`).
//! - `after=id`: the **oldest** `limit` messages newer than `id`, still newest first.
//!   discord.py's `oldest_first=True` sends `after=0`, takes `data[0]` as the next `after`
//!   and reverses the page; returning the newest ones instead would skip history.
//! - `around=id`: the anchor itself if it exists, with up to `limit / 2` messages older and
//!   up to `limit / 2` messages newer than it (the nearest ones on each side). A short side
//!   is not filled from the other. So an even `limit` can return `limit + 1` messages and
//!   `around` with `limit=1` returns just the anchor: discord.py documents exactly this
//!   ("if the limit is an even number then this will return at most limit + 1 messages",
//!   and it maps a requested 101 to `limit=100`, `discord/abc.py` history()).
//! - At most one of `before`, `after`, `around` (Discord documents them as mutually
//!   exclusive); two or more is `HistoryError::ConflictingAnchors`, also 50035.
//! - Deleted messages (tombstones in `lsm`) never appear; an edit is a put over the same
//!   key, so pages show the newest version.
//!
//! Elsewhere: permission checks (READ_MESSAGE_HISTORY, VIEW_CHANNEL) and query-string
//! parsing (`engine::rest`), JSON (`message::message_json`), durability and tickets (the
//! caller drives `lsm::Store::append` / `poll`).
//!
//! Mapping onto `lsm::Store::history`: `Latest`, `Before` and `After` map one to one (the
//! store scans across its 10-day buckets itself). `around` is built from `Page::After`,
//! `get_message` and `Page::Before`, because the store's own `Page::Around` returns
//! exactly `limit` messages (`limit / 2` older, the rest from the anchor upwards), not
//! Discord's `limit / 2` on each side of the anchor.

use super::ids::ChannelId;
use super::message::{decode_message, encode_message, Message, MessageDecodeError, MessageId};
use lsm::{Batch, Page, Store};
use std::fmt;

/// The page size when the query gives none.
pub const HISTORY_LIMIT_DEFAULT: usize = 50;
/// The largest page a query may ask for.
pub const HISTORY_LIMIT_MAX: usize = 100;

/// The bucket of a message id for `lsm::Options::new`: the `snowflake` crate's 10-day
/// bucket, the only place a bucket is computed. A data dir must always use this function.
///
/// ```
/// use engine::world::history::message_bucket;
/// assert_eq!(message_bucket(0), 0);
/// assert_eq!(message_bucket((10 * 86_400_000) << 22), 1);
/// ```
pub fn message_bucket(message_id: u64) -> u32 {
    snowflake::Bucket::of(snowflake::Snowflake::new(message_id)).index()
}

/// A history request as the REST layer parsed it from the query string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// `before=`: messages older than this id.
    pub before: Option<MessageId>,
    /// `after=`: messages newer than this id (`0` means from the very first).
    pub after: Option<MessageId>,
    /// `around=`: messages around this id.
    pub around: Option<MessageId>,
    /// `limit=`, as given (validated here so the error names the field).
    pub limit: Option<i64>,
}

/// Where a validated page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The newest messages.
    Latest,
    /// Older than the id.
    Before(MessageId),
    /// Newer than the id (the oldest of them).
    After(MessageId),
    /// Around the id.
    Around(MessageId),
}

/// A query that passed validation: one anchor and a limit in 1..=100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidHistoryQuery {
    /// Where the page starts.
    pub anchor: Anchor,
    /// How many messages at most (`around` may return `limit + 1`, see the module docs).
    pub limit: usize,
}

/// Why a history page could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryError {
    /// `limit` is outside 1..=100. The client sees 50035 Invalid Form Body with
    /// `errors.limit` (NUMBER_TYPE_MIN below 1, NUMBER_TYPE_MAX above 100).
    LimitOutOfRange {
        /// The limit given.
        limit: i64,
    },
    /// More than one of `before`, `after`, `around`. The client sees 50035.
    ConflictingAnchors,
    /// The store failed (I/O, corruption it detected, a dead worker). The client sees 500.
    Store(lsm::Error),
    /// A stored value is not a message of this channel: corruption. The client sees 500;
    /// the operator sees the message id.
    Corrupt {
        /// The id in the key.
        message_id: u64,
        /// What was wrong.
        detail: String,
    },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::LimitOutOfRange { limit } => {
                write!(f, "limit {limit} is not in 1..={HISTORY_LIMIT_MAX}")
            }
            HistoryError::ConflictingAnchors => {
                write!(f, "only one of before, after and around may be given")
            }
            HistoryError::Store(error) => write!(f, "message store: {error}"),
            HistoryError::Corrupt { message_id, detail } => write!(
                f,
                "stored message {message_id} is corrupt ({detail}); restore the data dir \
                 from a replica"
            ),
        }
    }
}

impl std::error::Error for HistoryError {}

impl From<lsm::Error> for HistoryError {
    fn from(error: lsm::Error) -> HistoryError {
        HistoryError::Store(error)
    }
}

impl HistoryQuery {
    /// Checks the limit and that at most one anchor is given. Pure: no store needed.
    pub fn validate(&self) -> Result<ValidHistoryQuery, HistoryError> {
        let limit = match self.limit {
            None => HISTORY_LIMIT_DEFAULT,
            Some(limit) => usize::try_from(limit)
                .ok()
                .filter(|limit| (1..=HISTORY_LIMIT_MAX).contains(limit))
                .ok_or(HistoryError::LimitOutOfRange { limit })?,
        };
        let anchor = match (self.before, self.after, self.around) {
            (None, None, None) => Anchor::Latest,
            (Some(id), None, None) => Anchor::Before(id),
            (None, Some(id), None) => Anchor::After(id),
            (None, None, Some(id)) => Anchor::Around(id),
            _ => return Err(HistoryError::ConflictingAnchors),
        };
        Ok(ValidHistoryQuery { anchor, limit })
    }
}

/// One page of `channel_id`'s history, newest first, by Discord's rules (module docs).
///
/// Reads only durable messages (what `lsm` has made readable), never blocks on a write.
pub fn history(
    store: &Store,
    channel_id: ChannelId,
    query: &HistoryQuery,
) -> Result<Vec<Message>, HistoryError> {
    let ValidHistoryQuery { anchor, limit } = query.validate()?;
    let channel = channel_id.0;
    let stored = match anchor {
        Anchor::Latest => store.history(channel, Page::Latest, limit)?,
        Anchor::Before(id) => store.history(channel, Page::Before(id.0), limit)?,
        Anchor::After(id) => store.history(channel, Page::After(id.0), limit)?,
        Anchor::Around(id) => {
            let side = limit / 2;
            let mut page = store.history(channel, Page::After(id.0), side)?;
            if let Some(value) = store.get_message(channel, id.0)? {
                page.push(lsm::Message {
                    message_id: id.0,
                    value,
                });
            }
            page.extend(store.history(channel, Page::Before(id.0), side)?);
            page
        }
    };
    let messages = stored
        .into_iter()
        .map(|entry| decode_stored(channel_id, entry.message_id, &entry.value))
        .collect::<Result<Vec<_>, _>>()?;
    debug_assert!(
        messages.windows(2).all(|pair| pair[0].id > pair[1].id),
        "a page is strictly newest first"
    );
    debug_assert!(messages.len() <= limit + usize::from(matches!(anchor, Anchor::Around(_))));
    Ok(messages)
}

/// Message `message_id` of `channel_id`, if it exists and is not deleted
/// (`GET /channels/{c}/messages/{m}`; `None` is 10008 Unknown Message).
pub fn get_message(
    store: &Store,
    channel_id: ChannelId,
    message_id: MessageId,
) -> Result<Option<Message>, HistoryError> {
    store
        .get_message(channel_id.0, message_id.0)?
        .map(|value| decode_stored(channel_id, message_id.0, &value))
        .transpose()
}

/// Adds a create or an edit of `message` to `batch` (an edit is a put over the same key).
pub fn put_message(batch: &mut Batch, message: &Message) {
    batch.put_message(message.channel_id.0, message.id.0, encode_message(message));
}

/// Adds a delete of message `message_id` of `channel_id` to `batch` (a tombstone).
pub fn delete_message(batch: &mut Batch, channel_id: ChannelId, message_id: MessageId) {
    batch.delete_message(channel_id.0, message_id.0);
}

/// The meta key of a channel's pin list.
fn pins_key(channel_id: ChannelId) -> Vec<u8> {
    format!("pins.{}", channel_id.0).into_bytes()
}

/// Channel `channel_id`'s pin list, `(message id, pinned at unix ms)`, newest first.
pub fn pins(store: &Store, channel_id: ChannelId) -> Result<Vec<(MessageId, u64)>, lsm::Error> {
    let bytes = store.get_meta(&pins_key(channel_id))?.unwrap_or_default();
    Ok(bytes
        .chunks_exact(16)
        .map(|pair| {
            let id = u64::from_le_bytes(pair[..8].try_into().expect("8 bytes"));
            let at = u64::from_le_bytes(pair[8..].try_into().expect("8 bytes"));
            (MessageId(id), at)
        })
        .collect())
}

/// Adds channel `channel_id`'s new pin list to `batch` (u64 little-endian pairs).
pub fn put_pins(batch: &mut Batch, channel_id: ChannelId, pins: &[(MessageId, u64)]) {
    let bytes = pins
        .iter()
        .flat_map(|(id, at)| id.0.to_le_bytes().into_iter().chain(at.to_le_bytes()))
        .collect();
    batch.put_meta(&pins_key(channel_id), bytes);
}

/// Decodes a stored value and checks it belongs under its key.
fn decode_stored(
    channel_id: ChannelId,
    message_id: u64,
    value: &[u8],
) -> Result<Message, HistoryError> {
    let corrupt = |detail: String| HistoryError::Corrupt { message_id, detail };
    let message =
        decode_message(value).map_err(|error: MessageDecodeError| corrupt(error.to_string()))?;
    if message.id.0 != message_id || message.channel_id != channel_id {
        return Err(corrupt(format!(
            "the value is message {} of channel {}",
            message.id, message.channel_id
        )));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<i64>) -> HistoryQuery {
        HistoryQuery {
            limit,
            ..HistoryQuery::default()
        }
    }

    #[test]
    fn limits_follow_discord() {
        assert_eq!(query(None).validate().unwrap().limit, 50);
        for ok in [1, 2, 50, 99, 100] {
            assert_eq!(query(Some(ok)).validate().unwrap().limit, ok as usize);
        }
        for bad in [i64::MIN, -1, 0, 101, 1000, i64::MAX] {
            assert_eq!(
                query(Some(bad)).validate(),
                Err(HistoryError::LimitOutOfRange { limit: bad })
            );
        }
    }

    #[test]
    fn one_anchor_at_most() {
        let id = Some(MessageId(5));
        let cases = [
            ((None, None, None), Some(Anchor::Latest)),
            ((id, None, None), Some(Anchor::Before(MessageId(5)))),
            ((None, id, None), Some(Anchor::After(MessageId(5)))),
            ((None, None, id), Some(Anchor::Around(MessageId(5)))),
            ((id, id, None), None),
            ((id, None, id), None),
            ((None, id, id), None),
            ((id, id, id), None),
        ];
        for ((before, after, around), want) in cases {
            let got = HistoryQuery {
                before,
                after,
                around,
                limit: None,
            }
            .validate();
            match want {
                Some(anchor) => assert_eq!(got.unwrap().anchor, anchor),
                None => assert_eq!(got, Err(HistoryError::ConflictingAnchors)),
            }
        }
    }

    #[test]
    fn buckets_are_ten_days_and_monotonic() {
        let day = 86_400_000u64;
        assert_eq!(message_bucket((10 * day - 1) << 22), 0);
        assert_eq!(message_bucket((10 * day) << 22), 1);
        assert_eq!(message_bucket((35 * day) << 22), 3);
        assert!(message_bucket(u64::MAX) >= message_bucket(u64::MAX - 1));
    }

    #[test]
    fn a_value_under_the_wrong_key_is_corrupt() {
        let author = super::super::message::Author {
            id: super::super::ids::UserId(1),
            username: "a".into(),
            global_name: None,
            bot: false,
            public_flags: 0,
        };
        let message = Message::new(MessageId(9), ChannelId(3), None, author, "x".into());
        let value = encode_message(&message);
        assert!(decode_stored(ChannelId(3), 9, &value).is_ok());
        assert!(matches!(
            decode_stored(ChannelId(4), 9, &value),
            Err(HistoryError::Corrupt { message_id: 9, .. })
        ));
        assert!(matches!(
            decode_stored(ChannelId(3), 8, &value),
            Err(HistoryError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_stored(ChannelId(3), 9, &value[..5]),
            Err(HistoryError::Corrupt { .. })
        ));
    }
}
