//! Typed Discord ids, the stand-in id generator, and which core owns what an id names.
//!
//! Every id is a Discord snowflake: milliseconds since the Discord epoch
//! (2015-01-01, `1420070400000`) in the top 42 bits, then 5 bits of worker, 5 bits of
//! process and a 12-bit increment. Ids travel as decimal strings in JSON and as plain
//! `u64` numbers in Flux's own files.
//!
//! `IdGenerator` wraps the `snowflake` crate's generator; every id the world creates goes
//! through `IdGenerator::next_id`. It never reads the clock; `now` is an argument.
//!
//! Invariants:
//! - `IdGenerator::next_id` is strictly increasing, even when `now` goes backwards.
//! - The core that owns an id is `(id >> 22) % cores`, computed only in `core_of` (by
//!   `snowflake::Snowflake::shard_of`, the same formula Discord uses for shards): a
//!   guild's owner core (`owner_core`), a user's home core (`home_core`), a DM pair's core
//!   (`world::dm::DmChannel::pair_core`).

use super::WorldError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::num::NonZeroU32;

/// Milliseconds from the Unix epoch to the Discord epoch (2015-01-01T00:00:00Z).
pub const DISCORD_EPOCH_MS: u64 = snowflake::DISCORD_EPOCH_MS;

const TIMESTAMP_SHIFT: u32 = 22;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The Unix time in milliseconds at which this id was created.
            pub fn created_at_unix_ms(self) -> u64 {
                (self.0 >> TIMESTAMP_SHIFT) + DISCORD_EPOCH_MS
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user (human or bot) id.
    UserId
);
id_type!(
    /// A guild id. The `@everyone` role shares it.
    GuildId
);
id_type!(
    /// A channel id.
    ChannelId
);
id_type!(
    /// A role id.
    RoleId
);
id_type!(
    /// An application id. A bot's application has the bot user's id, as on Discord.
    ApplicationId
);

impl GuildId {
    /// The id of this guild's `@everyone` role, which Discord defines as the guild id.
    pub fn everyone_role(self) -> RoleId {
        RoleId(self.0)
    }
}

/// Which of `cores` cores owns the snowflake `id`: `(id >> 22) % cores`.
///
/// This is Discord's shard formula (`snowflake::Snowflake::shard_of`) applied to Flux's
/// cores. It reads only the id's time field, so it never changes for an id, and ids
/// minted over time spread evenly. `cores` must be at least 1.
///
/// ```
/// use engine::world::core_of;
/// assert_eq!(core_of(175928847299117063, 1), 0);
/// assert_eq!(core_of(175928847299117063, 4), ((175928847299117063u64 >> 22) % 4) as usize);
/// ```
pub fn core_of(id: u64, cores: usize) -> usize {
    assert!(cores >= 1, "a server runs at least one core");
    let cores = u32::try_from(cores).unwrap_or(u32::MAX);
    // `cores >= 1` is asserted above.
    let cores = NonZeroU32::new(cores).expect("cores >= 1");
    snowflake::Snowflake::new(id).shard_of(cores) as usize
}

/// The core that owns `guild_id` when the server runs `cores` reactors:
/// `(guild_id >> 22) % cores` (`core_of`).
///
/// Every guild-changing request is forwarded to this core, and its store holds the guild.
/// `cores` must be at least 1.
///
/// ```
/// use engine::world::{owner_core, GuildId};
/// let guild = GuildId(175928847299117063);
/// assert_eq!(owner_core(guild, 1), 0);
/// assert_eq!(owner_core(guild, 4), ((175928847299117063u64 >> 22) % 4) as usize);
/// ```
pub fn owner_core(guild_id: GuildId, cores: usize) -> usize {
    core_of(guild_id.0, cores)
}

/// The home core of `user_id` among `cores`: `(user_id >> 22) % cores` (`core_of`).
///
/// It alone stores the user's account and application, counts the user's REST and
/// IDENTIFY budgets, and gathers the user's presence. `cores` must be at least 1.
///
/// ```
/// use engine::world::{home_core, UserId};
/// let user = UserId(80351110224678912);
/// assert_eq!(home_core(user, 3), ((80351110224678912u64 >> 22) % 3) as usize);
/// ```
pub fn home_core(user_id: UserId, cores: usize) -> usize {
    core_of(user_id.0, cores)
}

/// Issues the ids a core creates: the `snowflake` crate's generator with Flux's
/// (node 0, core) pair. Every id the world makes goes through `next_id`.
///
/// ```
/// use engine::world::IdGenerator;
/// let mut ids = IdGenerator::for_core(0).unwrap();
/// let a = ids.next_id(1_700_000_000_000).unwrap();
/// let b = ids.next_id(1_700_000_000_000).unwrap();
/// assert!(b > a);
/// ```
#[derive(Debug, Clone)]
pub struct IdGenerator {
    inner: snowflake::Generator,
}

impl IdGenerator {
    /// The generator of core `core` (0–31) on this node.
    pub fn for_core(core: u8) -> Result<IdGenerator, WorldError> {
        let inner = snowflake::Generator::new(0, core).map_err(WorldError::Clock)?;
        Ok(IdGenerator { inner })
    }

    /// The next id at Unix time `now_unix_ms`; strictly greater than every earlier one.
    ///
    /// Fails only for a clock before 2015 or past 2154, or a burst beyond the generator's
    /// drift budget (millions of ids in one millisecond).
    pub fn next_id(&mut self, now_unix_ms: u64) -> Result<u64, WorldError> {
        self.inner
            .next(now_unix_ms)
            .map(|id| id.get())
            .map_err(WorldError::Clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_creation_time() {
        let mut ids = IdGenerator::for_core(3).unwrap();
        let now = 1_700_000_000_123;
        let id = UserId(ids.next_id(now).unwrap());
        assert_eq!(id.created_at_unix_ms(), now);
        assert_eq!((id.0 >> 12) & 31, 3, "the core is the process field");
    }

    #[test]
    fn ids_increase_when_the_clock_stalls_or_goes_back() {
        let mut ids = IdGenerator::for_core(0).unwrap();
        let mut last = 0;
        for step in 0..10_000u64 {
            let now = 1_700_000_000_000 - (step % 7); // stalls and goes backwards
            let id = ids.next_id(now).unwrap();
            assert!(id > last, "step {step}: {id} <= {last}");
            last = id;
        }
    }

    #[test]
    fn a_clock_before_2015_is_an_error() {
        let mut ids = IdGenerator::for_core(0).unwrap();
        assert!(matches!(ids.next_id(0), Err(WorldError::Clock(_))));
        assert!(IdGenerator::for_core(32).is_err());
    }

    #[test]
    fn known_discord_id_decodes_to_its_documented_time() {
        // The example from Discord's snowflake documentation: 2016-04-30 11:18:25.796 UTC.
        assert_eq!(
            UserId(175928847299117063).created_at_unix_ms(),
            1_462_015_105_796
        );
    }

    #[test]
    fn owner_core_spreads_by_timestamp() {
        let guild = GuildId(175928847299117063);
        assert_eq!(owner_core(guild, 1), 0);
        assert_eq!(owner_core(guild, 7), ((guild.0 >> 22) % 7) as usize);
        assert_eq!(guild.everyone_role(), RoleId(guild.0));
    }

    #[test]
    fn every_owner_is_the_shard_formula_on_the_time_field() {
        // Ids that differ only below bit 22 (same millisecond) share a core.
        for (id, cores) in [
            (0, 1),
            (1 << 22, 2),
            ((5 << 22) | 0x3f_ffff, 4),
            (u64::MAX, 7),
        ] {
            let core = core_of(id, cores);
            assert_eq!(core, ((id >> 22) % cores as u64) as usize);
            assert_eq!(core, core_of(id & !0x3f_ffff, cores));
            assert_eq!(owner_core(GuildId(id), cores), core);
            assert_eq!(home_core(UserId(id), cores), core);
        }
    }
}
