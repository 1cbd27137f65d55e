//! A dispatch event as the world hands it to sessions: serialised once, shared by all.
//!
//! The event's `d` is JSON produced once per core (per intent/permission variant) and shared
//! as `Arc<Dispatch>` by every session and every replay ring that holds it. Each session adds
//! only its own sequence number when it frames the event (`frame.rs`).
//!
//! Invariants:
//! - `name` is `[A-Z0-9_]+`, so it can be spliced into JSON without escaping (asserted: names
//!   come from our code, never from a peer).
//! - `d` is one complete JSON value (checked in debug builds).

use std::sync::{Arc, OnceLock};

use super::intents::Intents;
use super::payload::GatewayShard;

/// Who may receive a dispatch, beyond the intents check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DispatchScope {
    /// A guild event: delivered to the gateway shard `(guild_id >> 22) % count` only.
    Guild(u64),
    /// A direct-message event: delivered to gateway shard 0 only.
    DirectMessage,
    /// Addressed to this user's sessions regardless of shard (e.g. USER_UPDATE).
    User,
}

/// One event, ready to be framed by any number of sessions.
///
/// ```
/// use engine::gateway::{Dispatch, DispatchScope, Intents};
/// let event = Dispatch::new("MESSAGE_CREATE", br#"{"id":"1"}"#.to_vec(),
///     DispatchScope::Guild(1 << 22), Intents::GUILD_MESSAGES);
/// assert_eq!(event.name(), "MESSAGE_CREATE");
/// ```
#[derive(Debug)]
pub struct Dispatch {
    name: Box<str>,
    /// `d` + `}`: the bytes every session's frame ends with, shared by all of them (a
    /// frame is the session's own prefix, then these, with no copy).
    tail: Arc<[u8]>,
    scope: DispatchScope,
    intents: Intents,
    /// `tail` as raw deflate ending on a sync flush, computed on first use by a
    /// zlib-stream connection in spliced mode (`compress.rs`) and then shared.
    pub(crate) deflated_tail: OnceLock<Arc<[u8]>>,
}

impl Dispatch {
    /// A shared event. `intents`: the session needs at least one of these bits (empty: the
    /// event is not gated by intents, like READY or GUILD_CREATE for the GUILDS-less).
    pub fn new(
        name: &str,
        mut d: Vec<u8>,
        scope: DispatchScope,
        intents: Intents,
    ) -> Arc<Dispatch> {
        d.push(b'}');
        Dispatch::from_tail(name, d.into(), scope, intents)
    }

    /// A shared event whose tail (`d` followed by the `}` closing the frame) is already
    /// serialised and shared, as a cached GUILD_CREATE is: the dispatch holds no copy.
    pub fn from_tail(
        name: &str,
        tail: Arc<[u8]>,
        scope: DispatchScope,
        intents: Intents,
    ) -> Arc<Dispatch> {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "dispatch names are [A-Z0-9_]+, got {name:?}"
        );
        assert!(
            tail.ends_with(b"}"),
            "a dispatch tail ends with the frame's `}}`"
        );
        debug_assert!(
            serde_json::from_slice::<serde::de::IgnoredAny>(&tail[..tail.len() - 1]).is_ok(),
            "dispatch {name} d is not one JSON value"
        );
        Arc::new(Dispatch {
            name: name.into(),
            tail,
            scope,
            intents,
            deflated_tail: OnceLock::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pre-serialised `d`.
    pub fn d(&self) -> &[u8] {
        &self.tail[..self.tail.len() - 1]
    }

    /// `d` followed by the `}` that closes the frame: what a session's frame ends with.
    pub fn tail(&self) -> &Arc<[u8]> {
        &self.tail
    }

    pub fn scope(&self) -> DispatchScope {
        self.scope
    }

    /// The intents that let a session see the event: at least one of them (empty: not
    /// gated by intents).
    pub fn intents(&self) -> Intents {
        self.intents
    }

    /// Whether a session with these intents on this gateway shard receives the event.
    pub fn visible_to(&self, intents: Intents, shard: GatewayShard) -> bool {
        let intents_ok = self.intents.is_empty() || self.intents.intersects(intents);
        let shard_ok = match self.scope {
            DispatchScope::Guild(guild_id) => shard.carries_guild(guild_id),
            DispatchScope::DirectMessage => shard.carries_direct_messages(),
            DispatchScope::User => true,
        };
        intents_ok && shard_ok
    }

    /// Whether `other` goes to exactly the sessions this one goes to (the same scope and
    /// intents), so that `visible_to` answers the same for both.
    pub fn same_audience(&self, other: &Dispatch) -> bool {
        self.scope == other.scope && self.intents == other.intents
    }

    /// Bytes this event is charged in a replay ring: its framed size.
    pub fn ring_bytes(&self) -> usize {
        self.tail.len() - 1 + self.name.len() + super::frame::DISPATCH_FRAME_OVERHEAD_MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_checks_intents_and_shard() {
        let shard0 = GatewayShard { id: 0, count: 2 };
        let shard1 = GatewayShard { id: 1, count: 2 };
        let guild1 = 1u64 << 22; // -> shard 1 of 2
        let e = Dispatch::new(
            "X",
            b"{}".to_vec(),
            DispatchScope::Guild(guild1),
            Intents::GUILD_MESSAGES,
        );
        assert!(e.visible_to(Intents::GUILD_MESSAGES, shard1));
        assert!(!e.visible_to(Intents::GUILD_MESSAGES, shard0));
        assert!(!e.visible_to(Intents::GUILDS, shard1));
        let dm = Dispatch::new(
            "X",
            b"{}".to_vec(),
            DispatchScope::DirectMessage,
            Intents::empty(),
        );
        assert!(dm.visible_to(Intents::empty(), shard0));
        assert!(!dm.visible_to(Intents::KNOWN, shard1));
        let user = Dispatch::new("X", b"{}".to_vec(), DispatchScope::User, Intents::empty());
        assert!(user.visible_to(Intents::empty(), shard1));
    }

    #[test]
    #[should_panic(expected = "dispatch names")]
    fn lowercase_names_are_a_bug() {
        Dispatch::new(
            "message_create",
            b"{}".to_vec(),
            DispatchScope::User,
            Intents::empty(),
        );
    }
}
