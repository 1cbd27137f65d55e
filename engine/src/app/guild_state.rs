//! Every guild as one core knows it: the replicas and their indexes on every core, and
//! on the owner core its working and durable copies of the guilds it owns.
//!
//! Who holds what:
//! - The **owner core** `(guild_id >> 22) % cores` holds the authoritative `Guild` in
//!   `GuildState::owned`. Only it changes the guild, so nothing about a guild is ever
//!   written by two threads and no lock exists. `owned` is the *working* copy the next
//!   operation runs on (changes in flight included, so two calls in one group commit see
//!   each other); `durable` is the last durable snapshot, what a failed write goes back
//!   to (ARCHITECTURE.md, "Commit protocol").
//! - **Every core** holds a replica `Arc<Guild>` of every guild in
//!   `GuildState::replicas`, plus indexes derived from it (channel → guild, invite code
//!   → guild, user → guilds). A core needs them to route a request (which guild does
//!   channel X belong to?), to build READY and GUILD_CREATE for its own sessions, and to
//!   decide which of its sessions may see an event. The replica is an immutable
//!   snapshot the owner builds once per change and sends by `Arc` over the mesh: cores
//!   share it read-only, never write it, and replace it whole.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::commit::WriteId;
use crate::world::{owner_core, Guild, World};

/// Every guild as this core knows it.
#[derive(Debug, Default)]
pub(super) struct GuildState {
    /// The guilds this core owns, as the next operation sees them (changes in flight
    /// included): the only mutable copies.
    pub(super) owned: HashMap<u64, Guild>,
    /// The guilds this core owns, as last made durable.
    pub(super) durable: HashMap<u64, Arc<Guild>>,
    /// Owned guilds with changes in flight.
    pub(super) in_flight: HashMap<u64, GuildInFlight>,
    /// Every guild's latest durable snapshot (owned ones too).
    replicas: HashMap<u64, Arc<Guild>>,
    by_channel: HashMap<u64, u64>,
    by_invite: HashMap<String, u64>,
    by_member: HashMap<u64, BTreeSet<u64>>,
}

impl GuildState {
    /// Core `core`'s state from the world as loaded at start.
    pub(super) fn from_world(world: &World, core: usize, cores: usize) -> GuildState {
        let mut state = GuildState::default();
        for guild in &world.guilds {
            let snapshot = Arc::new(guild.clone());
            if owner_core(guild.id, cores) == core {
                state.owned.insert(guild.id.0, guild.clone());
                state.durable.insert(guild.id.0, Arc::clone(&snapshot));
            }
            state.replace(guild.id.0, Some(snapshot));
        }
        state
    }

    /// Puts owned guild `id`'s working copy back to its durable snapshot (gone if it has
    /// none: a creation that never became durable).
    pub(super) fn restore(&mut self, id: u64) {
        match self.durable.get(&id) {
            Some(guild) => {
                self.owned.insert(id, Guild::clone(guild));
            }
            None => {
                self.owned.remove(&id);
            }
        }
    }

    /// Owned guild `guild_id`'s write `write`, leaving it as `accepted`, was appended.
    pub(super) fn appended(&mut self, guild_id: u64, write: WriteId, accepted: Option<Arc<Guild>>) {
        let entry = self.in_flight.entry(guild_id).or_insert(GuildInFlight {
            writes: 0,
            last: write,
            accepted: None,
        });
        entry.writes += 1;
        entry.last = write;
        entry.accepted = accepted;
    }

    /// The store refused owned guild `guild_id`'s change: the working copy goes back to
    /// what the writes in flight left, or to the durable snapshot.
    pub(super) fn refused(&mut self, guild_id: u64) {
        let Some(in_flight) = self.in_flight.get(&guild_id) else {
            self.restore(guild_id);
            return;
        };
        match &in_flight.accepted {
            Some(guild) => {
                self.owned.insert(guild_id, Guild::clone(guild));
            }
            None => {
                self.owned.remove(&guild_id);
            }
        }
    }

    /// One of owned guild `guild_id`'s writes settled.
    pub(super) fn settled(&mut self, guild_id: u64) {
        let entry = self.in_flight.get_mut(&guild_id);
        let entry = entry.expect("a settled guild write was in flight");
        entry.writes -= 1;
        if entry.writes == 0 {
            self.in_flight.remove(&guild_id);
        }
    }

    /// A write of owned guild `guild_id` failed: back to its durable snapshot (every
    /// later write of it fails in the same poll, `commit.rs`).
    pub(super) fn write_failed(&mut self, guild_id: u64) {
        self.settled(guild_id);
        self.restore(guild_id);
    }

    /// The replica of guild `id`.
    pub(super) fn guild(&self, id: u64) -> Option<&Arc<Guild>> {
        self.replicas.get(&id)
    }

    /// The guild that holds channel (or thread) `channel_id`.
    pub(super) fn guild_of_channel(&self, channel_id: u64) -> Option<u64> {
        self.by_channel.get(&channel_id).copied()
    }

    /// The guild invite `code` leads to.
    pub(super) fn guild_of_invite(&self, code: &str) -> Option<u64> {
        self.by_invite.get(code).copied()
    }

    /// The guilds `user_id` is a member of, in id order.
    pub(super) fn guilds_of(&self, user_id: u64) -> Vec<u64> {
        self.by_member
            .get(&user_id)
            .map(|guilds| guilds.iter().copied().collect())
            .unwrap_or_default()
    }

    /// How many guilds `user_id` is a member of.
    pub(super) fn guild_count(&self, user_id: u64) -> usize {
        self.by_member.get(&user_id).map_or(0, BTreeSet::len)
    }

    /// Whether `user_id` is a member of guild `guild_id`.
    pub(super) fn is_member(&self, user_id: u64, guild_id: u64) -> bool {
        self.by_member
            .get(&user_id)
            .is_some_and(|guilds| guilds.contains(&guild_id))
    }

    /// Whether users `a` and `b` are members of some guild together.
    pub(super) fn share_a_guild(&self, a: u64, b: u64) -> bool {
        let (Some(of_a), Some(of_b)) = (self.by_member.get(&a), self.by_member.get(&b)) else {
            return false;
        };
        of_a.intersection(of_b).next().is_some()
    }

    /// Swaps guild `id`'s replica for `new` (`None`: deleted) and fixes the indexes;
    /// returns the old replica.
    pub(super) fn replace(&mut self, id: u64, new: Option<Arc<Guild>>) -> Option<Arc<Guild>> {
        let old = match &new {
            Some(guild) => self.replicas.insert(id, Arc::clone(guild)),
            None => self.replicas.remove(&id),
        };
        if let Some(old) = &old {
            for channel in &old.channels {
                self.by_channel.remove(&channel.id.0);
            }
            for invite in &old.invites {
                self.by_invite.remove(&invite.code);
            }
            for member in &old.members {
                if let Some(guilds) = self.by_member.get_mut(&member.user_id.0) {
                    guilds.remove(&id);
                    if guilds.is_empty() {
                        self.by_member.remove(&member.user_id.0);
                    }
                }
            }
        }
        if let Some(guild) = &new {
            for channel in &guild.channels {
                self.by_channel.insert(channel.id.0, id);
            }
            for invite in &guild.invites {
                self.by_invite.insert(invite.code.clone(), id);
            }
            for member in &guild.members {
                self.by_member
                    .entry(member.user_id.0)
                    .or_default()
                    .insert(id);
            }
        }
        old
    }
}

/// An owned guild's changes in flight.
#[derive(Debug)]
pub(super) struct GuildInFlight {
    /// How many.
    pub(super) writes: usize,
    /// The last one's write.
    pub(super) last: WriteId,
    /// The guild as the last one leaves it (`None`: deleted).
    pub(super) accepted: Option<Arc<Guild>>,
}
