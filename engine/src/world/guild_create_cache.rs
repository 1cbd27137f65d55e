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
//! Bound: at most one entry per (guild, user with a session on this core, largeness).
//! The owner of the guild's state calls `invalidate` whenever the guild changes (issue 6:
//! every GUILD/CHANNEL/ROLE/MEMBER update), which drops that guild's entries; a session
//! that already holds an old `Arc` keeps a consistent snapshot.

use super::ids::{GuildId, UserId};
use super::json::guild_create_json;
use super::model::{Guild, UserLookup};
use std::collections::HashMap;
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
    entries: HashMap<(GuildId, UserId, bool), Arc<[u8]>>,
}

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
        let large = guild.members.len() > large_threshold as usize;
        self.entries
            .entry((guild.id, for_user, large))
            .or_insert_with(|| {
                let mut tail = guild_create_json(guild, users, for_user, large_threshold).to_vec();
                tail.push(b'}');
                tail.into()
            })
            .clone()
    }

    /// Forgets every payload of `guild_id`; call after any change to the guild.
    pub fn invalidate(&mut self, guild_id: GuildId) {
        self.entries.retain(|(guild, _, _), _| *guild != guild_id);
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
}
