//! One serialised GUILD_CREATE per (guild, user, largeness), shared by every session on a
//! core.
//!
//! GUILD_CREATE's `d` differs between users only in `joined_at` and, for a large guild,
//! in which member it carries, so a core serialises it once per combination and every
//! session of that user (a bot's shards, its reconnects) gets the same `Arc<[u8]>` to
//! splice into its frame and keep in its replay ring without copying. It is kept as a
//! dispatch's tail, `d` followed by the `}` that closes the gateway frame
//! (`gateway::Dispatch::from_tail`), so the sessions' replay rings hold no copy of their
//! own: without that, an idle session's GUILD_CREATE was its largest allocation.
//!
//! Bound: `CACHE_BYTES_MAX` bytes of payloads; past it the oldest entries go (a session
//! holding one keeps it). The cache is for the sessions of one user that start close
//! together (a bot's shards, a reconnect storm), not a copy of every user's payload: an
//! idle session's replay ring lets go of its GUILD_CREATE once the client acknowledges it
//! (`gateway::ReplayRing::forget_through`), and `release_unheld` then lets the cache's
//! copy go too, so an idle fleet keeps none (4 MiB at 10,000 sessions was 420 bytes a
//! session).
//! The owner of the guild's state calls `invalidate` whenever the guild changes (every
//! GUILD/CHANNEL/ROLE/MEMBER update), which drops that guild's entries; a session that
//! already holds an old `Arc` keeps a consistent snapshot.

use super::ids::{GuildId, UserId};
use super::json::guild_create_json;
use super::model::{Guild, UserLookup};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A core's cache of serialised GUILD_CREATE payloads.
///
/// ```
/// use engine::world::{demo_world, GuildCreateCache};
/// let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
/// let mut cache = GuildCreateCache::default();
/// let guild = &demo.world.guilds[0];
/// let a = cache.get_or_encode(guild, &demo.world, demo.bots[0].user_id, 250);
/// let b = cache.get_or_encode(guild, &demo.world, demo.bots[0].user_id, 250);
/// assert!(std::sync::Arc::ptr_eq(&a, &b));
/// ```
#[derive(Debug, Default)]
pub struct GuildCreateCache {
    entries: HashMap<CacheKey, Arc<[u8]>>,
    /// Keys in insertion order, oldest first (some may be gone: `invalidate`).
    order: VecDeque<CacheKey>,
    bytes: usize,
}

type CacheKey = (GuildId, UserId, bool);

/// Payload bytes a core keeps cached.
pub const CACHE_BYTES_MAX: usize = 4 << 20;

impl GuildCreateCache {
    /// The GUILD_CREATE `d` for `for_user` followed by `}` (a dispatch's tail),
    /// serialised on first use.
    pub fn get_or_encode(
        &mut self,
        guild: &Guild,
        users: &impl UserLookup,
        for_user: UserId,
        large_threshold: u32,
    ) -> Arc<[u8]> {
        let key = (
            guild.id,
            for_user,
            guild.members.len() > large_threshold as usize,
        );
        if let Some(tail) = self.entries.get(&key) {
            return Arc::clone(tail);
        }
        let mut tail = guild_create_json(guild, users, for_user, large_threshold).to_vec();
        tail.push(b'}');
        let tail: Arc<[u8]> = tail.into();
        while self.bytes + tail.len() > CACHE_BYTES_MAX {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.entries.remove(&oldest) {
                self.bytes -= old.len();
            }
        }
        self.bytes += tail.len();
        self.order.push_back(key);
        self.entries.insert(key, Arc::clone(&tail));
        tail
    }

    /// Looks at up to `budget` of the oldest payloads and lets go of those no session
    /// holds any more (every session that got one has had it acknowledged, so the rest of
    /// the burst it was cached for is over); a held one moves to the back. Once nothing is
    /// cached, the tables give their memory back too. O(`budget`); the gateway calls it
    /// for each client message, so idle sessions' heartbeats empty the cache.
    ///
    /// ```
    /// use engine::world::{demo_world, GuildCreateCache};
    /// let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
    /// let mut cache = GuildCreateCache::default();
    /// let guild = &demo.world.guilds[0];
    /// let held = cache.get_or_encode(guild, &demo.world, demo.bots[0].user_id, 250);
    /// cache.release_unheld(4);
    /// assert_eq!(cache.len(), 1); // a session's ring still holds it
    /// drop(held);
    /// cache.release_unheld(4);
    /// assert!(cache.is_empty());
    /// ```
    pub fn release_unheld(&mut self, budget: usize) {
        for _ in 0..budget.min(self.order.len()) {
            let Some(key) = self.order.pop_front() else {
                break;
            };
            match self.entries.get(&key) {
                Some(tail) if Arc::strong_count(tail) > 1 => self.order.push_back(key),
                Some(_) => {
                    let tail = self.entries.remove(&key).expect("just looked up");
                    self.bytes -= tail.len();
                }
                None => {}
            }
        }
        if self.entries.is_empty() && self.entries.capacity() != 0 {
            debug_assert_eq!(self.bytes, 0);
            self.entries = HashMap::new();
            self.order = VecDeque::new();
        }
    }

    /// Forgets every payload of `guild_id`; call after any change to the guild.
    pub fn invalidate(&mut self, guild_id: GuildId) {
        let bytes = &mut self.bytes;
        self.entries.retain(|(guild, _, _), tail| {
            let keep = *guild != guild_id;
            if !keep {
                *bytes -= tail.len();
            }
            keep
        });
        self.order.retain(|(guild, _, _)| *guild != guild_id);
    }

    /// How many payloads are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo::demo_world;
    use serde_json::Value;

    #[test]
    fn shared_per_user_and_refreshed_after_invalidate() {
        let mut demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
        let mut cache = GuildCreateCache::default();
        let (a, b) = (demo.bots[0].user_id, demo.bots[1].user_id);
        let first = cache.get_or_encode(&demo.world.guilds[0], &demo.world, a, 250);
        assert!(Arc::ptr_eq(
            &first,
            &cache.get_or_encode(&demo.world.guilds[0], &demo.world, a, 250)
        ));
        let other = cache.get_or_encode(&demo.world.guilds[0], &demo.world, b, 250);
        assert!(!Arc::ptr_eq(&first, &other));
        cache.get_or_encode(&demo.world.guilds[0], &demo.world, a, 1); // large variant
        assert_eq!(cache.len(), 3);

        demo.world.guilds[0].name = "Renamed".into();
        cache.invalidate(demo.guild_id);
        assert!(cache.is_empty());
        let fresh = cache.get_or_encode(&demo.world.guilds[0], &demo.world, a, 250);
        let d = |tail: &[u8]| serde_json::from_slice::<Value>(tail.strip_suffix(b"}").unwrap());
        let value = d(&fresh).unwrap();
        assert_eq!(value["name"], "Renamed");
        // The old snapshot is untouched for sessions still holding it.
        let old = d(&first).unwrap();
        assert_eq!(old["name"], "Flux");
    }

    #[test]
    fn payloads_no_session_holds_are_released_and_held_ones_kept() {
        let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
        let guild = &demo.world.guilds[0];
        let mut cache = GuildCreateCache::default();
        let held = cache.get_or_encode(guild, &demo.world, demo.bots[0].user_id, 250);
        drop(cache.get_or_encode(guild, &demo.world, demo.bots[1].user_id, 250));
        drop(cache.get_or_encode(guild, &demo.world, demo.bots[1].user_id, 1));
        cache.release_unheld(1);
        assert_eq!(cache.len(), 3, "the held oldest moved to the back");
        cache.release_unheld(2);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.bytes, held.len());
        cache.release_unheld(10);
        let again = cache.get_or_encode(guild, &demo.world, demo.bots[0].user_id, 250);
        assert!(Arc::ptr_eq(&held, &again), "still cached while held");
        drop((held, again));
        cache.release_unheld(10);
        assert!(cache.is_empty());
        assert_eq!(cache.bytes, 0);
        assert_eq!(cache.entries.capacity(), 0, "an empty cache keeps no table");
    }

    #[test]
    fn the_oldest_payloads_go_past_the_byte_bound() {
        let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
        let guild = &demo.world.guilds[0];
        let mut cache = GuildCreateCache::default();
        let one = cache.get_or_encode(guild, &demo.world, demo.bots[0].user_id, 250);
        // Distinct users fill it (a non-member's payload is a little shorter: no
        // `joined_at`), past the bound.
        let fits = CACHE_BYTES_MAX / one.len();
        for n in 1..2 * fits {
            cache.get_or_encode(guild, &demo.world, UserId(1_000 + n as u64), 250);
            assert!(cache.bytes <= CACHE_BYTES_MAX);
        }
        assert!(
            cache.len() >= fits && cache.len() < 2 * fits - 1,
            "{}",
            cache.len()
        );
        // The first one went; asking again encodes it anew.
        let again = cache.get_or_encode(guild, &demo.world, demo.bots[0].user_id, 250);
        assert!(!Arc::ptr_eq(&one, &again));
        assert_eq!(one, again);
        cache.invalidate(demo.guild_id);
        assert_eq!((cache.len(), cache.bytes), (0, 0));
    }
}
