//! The owner core's message state between append and durability: the messages and pin
//! lists of writes in flight, and the nonces of `enforce_nonce` creates.
//!
//! Why: the store makes a batch readable only once it is durable, so two changes of one
//! message within one group commit (two users reacting at once) would both start from
//! the same durable version and the second would erase the first. So the next *change*
//! of a message builds on the writes in flight ([`OwnerView`] with `in_flight`), while
//! every *read* sees the durable store only (nothing is visible before it is durable).
//! A create is not recorded: its id is unknown to everyone until its write is durable.
//! An entry leaves when its last write settles, durable or failed: a failed write's
//! followers fail with it (`commit.rs`), so nothing builds on it afterwards.
//!
//! Nonces: `enforce_nonce` dedupes a create by `(user, nonce)` for `NONCE_TTL_MS`
//! (Discord: "a few minutes"). A nonce is remembered only once its message is durable; a
//! retry while it is in flight waits for the same write and gets the same answer, and a
//! failed write forgets it, so the retry after a 500 is stored. Known gap: the cache lives
//! in memory, so a restart forgets it.

use std::collections::HashMap;
use std::sync::Arc;

use lsm::Store;

use super::commit::WriteId;
use crate::world::history;
use crate::world::message::{Message, MessageId, Nonce};
use crate::world::message_ops::{MessageError, MessageView, Pin, StoreWrite};
use crate::world::ChannelId;

/// How long a nonce sent with `enforce_nonce` dedupes (Discord: "a few minutes").
const NONCE_TTL_MS: u64 = 5 * 60 * 1000;

/// What one write touched, to forget when it settles.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Touched {
    /// A message `(channel, message)`.
    Message(u64, u64),
    /// A channel's pin list.
    Pins(u64),
}

/// Messages (`None`: deleted) and pin lists of writes in flight, with how many writes
/// in flight touch each.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    messages: HashMap<(u64, u64), (Option<Message>, usize)>,
    pins: HashMap<u64, (Vec<Pin>, usize)>,
}

impl InFlight {
    /// What `writes` touch.
    pub(super) fn touched(writes: &[StoreWrite]) -> Vec<Touched> {
        writes
            .iter()
            .map(|write| match write {
                StoreWrite::Put(message) => Touched::Message(message.channel_id.0, message.id.0),
                StoreWrite::Delete(channel, id) => Touched::Message(channel.0, id.0),
                StoreWrite::Pins(channel, _) => Touched::Pins(channel.0),
            })
            .collect()
    }

    /// `writes` were appended: later changes build on them.
    pub(super) fn record(&mut self, writes: Vec<StoreWrite>) {
        for write in writes {
            match write {
                StoreWrite::Put(message) => {
                    let key = (message.channel_id.0, message.id.0);
                    let entry = self.messages.entry(key).or_insert((None, 0));
                    *entry = (Some(message), entry.1 + 1);
                }
                StoreWrite::Delete(channel, id) => {
                    let entry = self.messages.entry((channel.0, id.0)).or_insert((None, 0));
                    *entry = (None, entry.1 + 1);
                }
                StoreWrite::Pins(channel, pins) => {
                    let entry = self.pins.entry(channel.0).or_insert((Vec::new(), 0));
                    *entry = (pins, entry.1 + 1);
                }
            }
        }
    }

    /// A write that touched `touched` settled (durable or failed).
    pub(super) fn settled(&mut self, touched: &[Touched]) {
        for key in touched {
            match key {
                Touched::Message(channel, id) => {
                    let entry = self.messages.get_mut(&(*channel, *id));
                    let entry = entry.expect("a settled write was recorded");
                    entry.1 -= 1;
                    if entry.1 == 0 {
                        self.messages.remove(&(*channel, *id));
                    }
                }
                Touched::Pins(channel) => {
                    let entry = self.pins.get_mut(channel);
                    let entry = entry.expect("a settled write was recorded");
                    entry.1 -= 1;
                    if entry.1 == 0 {
                        self.pins.remove(channel);
                    }
                }
            }
        }
    }

    /// Whether nothing is in flight.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.pins.is_empty()
    }
}

/// The owner's store as the message rules read it: durable only, or (for a change)
/// with the writes in flight on top.
pub(super) struct OwnerView<'a> {
    pub store: &'a Store,
    pub in_flight: Option<&'a InFlight>,
}

impl MessageView for OwnerView<'_> {
    fn message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<Option<Message>, MessageError> {
        if let Some((message, _)) = self
            .in_flight
            .and_then(|in_flight| in_flight.messages.get(&(channel_id.0, message_id.0)))
        {
            return Ok(message.clone());
        }
        Ok(history::get_message(self.store, channel_id, message_id)?)
    }

    fn pins(&self, channel_id: ChannelId) -> Result<Vec<Pin>, MessageError> {
        if let Some((pins, _)) = self
            .in_flight
            .and_then(|in_flight| in_flight.pins.get(&channel_id.0))
        {
            return Ok(pins.clone());
        }
        history::pins(self.store, channel_id).map_err(|_| MessageError::StoreFailed)
    }

    fn history(
        &self,
        channel_id: ChannelId,
        query: &history::HistoryQuery,
    ) -> Result<Vec<Message>, MessageError> {
        Ok(history::history(self.store, channel_id, query)?)
    }
}

/// A nonce as a map key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum NonceKey {
    Text(String),
    Integer(i64),
}

impl NonceKey {
    pub(super) fn of(nonce: &Nonce) -> NonceKey {
        match nonce {
            Nonce::Text(text) => NonceKey::Text(text.clone()),
            Nonce::Integer(n) => NonceKey::Integer(*n),
        }
    }
}

/// A create's nonce, claimed while its write is in flight.
#[derive(Debug, Clone)]
pub(super) struct NonceClaim {
    pub user_id: u64,
    pub key: NonceKey,
    pub message: Arc<Message>,
}

/// What a nonce names now.
pub(super) enum NonceHit {
    /// A durable message: answer it again.
    Durable(Arc<Message>),
    /// A message in flight: wait for its write.
    InFlight(WriteId, Arc<Message>),
}

/// The `enforce_nonce` dedupe of one owner core.
#[derive(Debug, Default)]
pub(super) struct Nonces {
    durable: HashMap<(u64, NonceKey), (Arc<Message>, u64)>,
    in_flight: HashMap<(u64, NonceKey), (WriteId, Arc<Message>)>,
}

impl Nonces {
    /// What `(user_id, key)` names at `now_unix_ms`, if anything.
    pub(super) fn find(&self, user_id: u64, key: &NonceKey, now_unix_ms: u64) -> Option<NonceHit> {
        let key = (user_id, key.clone());
        if let Some((write, message)) = self.in_flight.get(&key) {
            return Some(NonceHit::InFlight(*write, Arc::clone(message)));
        }
        let (message, at) = self.durable.get(&key)?;
        (now_unix_ms.saturating_sub(*at) < NONCE_TTL_MS)
            .then(|| NonceHit::Durable(Arc::clone(message)))
    }

    /// `claim`'s message was appended as write `write`.
    pub(super) fn claim(&mut self, claim: &NonceClaim, write: WriteId) {
        let key = (claim.user_id, claim.key.clone());
        self.in_flight
            .insert(key, (write, Arc::clone(&claim.message)));
    }

    /// `claim`'s message is durable: the nonce dedupes from now on.
    pub(super) fn durable(&mut self, claim: &NonceClaim, now_unix_ms: u64) {
        let key = (claim.user_id, claim.key.clone());
        self.in_flight.remove(&key);
        self.durable
            .retain(|_, (_, at)| now_unix_ms.saturating_sub(*at) < NONCE_TTL_MS);
        self.durable
            .insert(key, (Arc::clone(&claim.message), now_unix_ms));
    }

    /// `claim`'s write failed: the nonce names nothing.
    pub(super) fn failed(&mut self, claim: &NonceClaim) {
        self.in_flight.remove(&(claim.user_id, claim.key.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::message::Author;
    use crate::world::{User, UserId};

    fn message(id: u64, content: &str) -> Message {
        let user = User {
            id: UserId(1),
            username: "a".into(),
            global_name: None,
            bot: false,
            public_flags: 0,
            mfa_enabled: false,
        };
        Message::new(
            MessageId(id),
            ChannelId(7),
            None,
            Author::of(&user),
            content.into(),
        )
    }

    #[test]
    fn in_flight_entries_live_until_their_last_write_settles() {
        let mut in_flight = InFlight::default();
        let first = vec![StoreWrite::Put(message(1, "a"))];
        let second = vec![
            StoreWrite::Put(message(1, "b")),
            StoreWrite::Pins(ChannelId(7), vec![(MessageId(1), 5)]),
        ];
        let (t1, t2) = (InFlight::touched(&first), InFlight::touched(&second));
        in_flight.record(first);
        in_flight.record(second);
        let seen = &in_flight.messages[&(7, 1)];
        assert_eq!(
            (seen.0.as_ref().unwrap().content.as_str(), seen.1),
            ("b", 2)
        );
        in_flight.settled(&t1);
        assert_eq!(in_flight.messages[&(7, 1)].1, 1);
        in_flight.settled(&t2);
        assert!(in_flight.is_empty());
    }

    #[test]
    fn a_nonce_dedupes_only_once_durable_and_is_forgotten_on_failure() {
        let mut nonces = Nonces::default();
        let key = NonceKey::Text("n".into());
        let claim = NonceClaim {
            user_id: 1,
            key: key.clone(),
            message: Arc::new(message(9, "x")),
        };
        assert!(nonces.find(1, &key, 0).is_none());
        nonces.claim(&claim, WriteId::for_tests(4));
        assert!(matches!(
            nonces.find(1, &key, 0),
            Some(NonceHit::InFlight(..))
        ));
        nonces.failed(&claim);
        assert!(
            nonces.find(1, &key, 0).is_none(),
            "a failed write leaves no nonce"
        );
        nonces.claim(&claim, WriteId::for_tests(5));
        nonces.durable(&claim, 1_000);
        assert!(matches!(
            nonces.find(1, &key, 2_000),
            Some(NonceHit::Durable(_))
        ));
        assert!(nonces.find(2, &key, 2_000).is_none(), "nonces are per user");
        assert!(
            nonces.find(1, &key, 1_000 + NONCE_TTL_MS).is_none(),
            "and expire"
        );
    }
}
