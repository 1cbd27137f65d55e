//! Direct-message channels: a channel between two users, outside any guild.
//!
//! Why a separate kind of state: a DM belongs to no guild, so `owner_core(guild_id)`
//! cannot say which core owns it. A DM is owned by its **pair core**, the home core of
//! the lower of its two user ids: one core decides, without a lock, whether the pair
//! already has a channel (`POST /users/@me/channels` is idempotent on Discord), stores
//! it in its `lsm` store (`dm.{id}`, `world::persist`) and owns its messages. Every core
//! keeps a replica of every DM (it is small) to route requests and fan events out.
//!
//! Invariants: `recipients` holds two user ids in ascending order (equal when a user
//! opened a DM with themselves); the pair names at most one channel.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ids::{core_of, ChannelId, UserId};
use super::json::user_json;
use super::model::UserLookup;

/// Discord's channel type of a DM.
pub const DM_CHANNEL_TYPE: u8 = 1;

/// A DM channel (Discord channel type 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmChannel {
    /// The channel id.
    pub id: ChannelId,
    /// The two users, ascending.
    pub recipients: [UserId; 2],
}

impl DmChannel {
    /// The DM of `a` and `b` (in either order) with id `id`.
    pub fn new(id: ChannelId, a: UserId, b: UserId) -> DmChannel {
        DmChannel {
            id,
            recipients: [a.min(b), a.max(b)],
        }
    }

    /// The pair key of `a` and `b`, order-free.
    pub fn pair(a: UserId, b: UserId) -> (u64, u64) {
        (a.0.min(b.0), a.0.max(b.0))
    }

    /// This channel's pair key.
    pub fn key(&self) -> (u64, u64) {
        (self.recipients[0].0, self.recipients[1].0)
    }

    /// Whether `user` is one of the two.
    pub fn has(&self, user: UserId) -> bool {
        self.recipients.contains(&user)
    }

    /// The core that owns the pair `a`, `b` among `cores`: the lower id's core,
    /// `(min(a, b) >> 22) % cores` (`world::core_of`).
    pub fn pair_core(a: UserId, b: UserId, cores: usize) -> usize {
        core_of(a.0.min(b.0), cores)
    }

    /// The core that owns this channel.
    pub fn owner_core(&self, cores: usize) -> usize {
        DmChannel::pair_core(self.recipients[0], self.recipients[1], cores)
    }
}

/// The DM Channel object as `viewer` sees it: `recipients` lists the other user (or the
/// viewer, for a DM with themselves), as Discord does.
pub fn dm_channel_json(
    channel: &DmChannel,
    viewer: UserId,
    last_message_id: Option<u64>,
    users: &dyn UserLookup,
) -> Value {
    let [a, b] = channel.recipients;
    let other = if a == viewer { b } else { a };
    let recipients: Vec<Value> = users.user(other).map(user_json).into_iter().collect();
    json!({
        "id": channel.id.to_string(),
        "type": DM_CHANNEL_TYPE,
        "last_message_id": last_message_id.map(|id| id.to_string()),
        "flags": 0,
        "recipients": recipients,
        "last_pin_timestamp": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo_world;

    #[test]
    fn the_pair_is_order_free_and_owned_by_one_core() {
        let (a, b) = (UserId(7 << 22), UserId(3 << 22));
        let channel = DmChannel::new(ChannelId(99), a, b);
        assert_eq!(channel.recipients, [b, a]);
        assert_eq!(channel.key(), DmChannel::pair(a, b));
        assert_eq!(DmChannel::pair(a, b), DmChannel::pair(b, a));
        for cores in 1..8 {
            assert_eq!(channel.owner_core(cores), DmChannel::pair_core(b, a, cores));
            assert!(channel.owner_core(cores) < cores);
        }
        assert!(channel.has(a) && channel.has(b) && !channel.has(UserId(1)));
    }

    #[test]
    fn the_json_names_the_other_user_and_deserialises_strictly() {
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let (a, b) = (demo.bots[0].user_id, demo.bots[1].user_id);
        let channel = DmChannel::new(ChannelId(5 << 22), a, b);
        let value = dm_channel_json(&channel, a, Some(6 << 22), &demo.world);
        assert_eq!(value["recipients"][0]["id"], b.to_string());
        assert_eq!(value["type"], 1);
        let parsed: twilight_model::channel::Channel = serde_json::from_value(value).unwrap();
        assert_eq!(parsed.id.get(), channel.id.0);
    }
}
