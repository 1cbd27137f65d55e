//! Typed Discord ids, the stand-in id generator, and which core owns a guild.
//!
//! Every id is a Discord snowflake: milliseconds since the Discord epoch
//! (2015-01-01, `1420070400000`) in the top 42 bits, then 5 bits of worker, 5 bits of
//! process and a 12-bit increment. Ids travel as decimal strings in JSON and as plain
//! `u64` numbers in Flux's own files.
//!
//! `IdGenerator` is a local stand-in until the `snowflake` crate lands: every id the
//! world creates goes through `IdGenerator::next_id`, so switching to the real generator
//! is a change to that one function. It never reads the clock; `now` is an argument.
//!
//! Invariants:
//! - `IdGenerator::next_id` is strictly increasing, even when `now` goes backwards.
//! - A guild is owned by core `(guild_id >> 22) % cores`, computed only in `owner_core`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds from the Unix epoch to the Discord epoch (2015-01-01T00:00:00Z).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

const INCREMENT_BITS: u32 = 12;
const INCREMENT_MAX: u16 = (1 << INCREMENT_BITS) - 1;
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

/// The core that owns `guild_id` when the server runs `cores` reactors.
///
/// This is Discord's shard formula applied to Flux's cores; every guild-changing request is
/// forwarded to this core. `cores` must be at least 1.
///
/// ```
/// use engine::world::{owner_core, GuildId};
/// let guild = GuildId(175928847299117063);
/// assert_eq!(owner_core(guild, 1), 0);
/// assert_eq!(owner_core(guild, 4), ((175928847299117063u64 >> 22) % 4) as usize);
/// ```
pub fn owner_core(guild_id: GuildId, cores: usize) -> usize {
    assert!(cores >= 1, "a server runs at least one core");
    ((guild_id.0 >> TIMESTAMP_SHIFT) % cores as u64) as usize
}

/// Makes snowflakes in Discord's layout from a caller-supplied clock.
///
/// ```
/// use engine::world::IdGenerator;
/// let mut ids = IdGenerator::new(0);
/// let a = ids.next_id(1_700_000_000_000);
/// let b = ids.next_id(1_700_000_000_000);
/// assert!(b > a);
/// ```
#[derive(Debug, Clone)]
pub struct IdGenerator {
    worker: u8,
    last_ms: u64,
    increment: u16,
}

impl IdGenerator {
    /// A generator for `worker` (0–31; Flux uses the core number).
    pub fn new(worker: u8) -> IdGenerator {
        assert!(worker < 32, "the worker field has 5 bits");
        IdGenerator {
            worker,
            last_ms: 0,
            increment: 0,
        }
    }

    /// The next id at Unix time `now_unix_ms`.
    ///
    /// If the clock stands still past 4096 ids, or goes backwards, the id's timestamp
    /// moves forward logically instead, so ids never repeat or decrease.
    pub fn next_id(&mut self, now_unix_ms: u64) -> u64 {
        let now_ms = now_unix_ms.saturating_sub(DISCORD_EPOCH_MS);
        if now_ms > self.last_ms {
            self.last_ms = now_ms;
            self.increment = 0;
        } else if self.increment == INCREMENT_MAX {
            self.last_ms += 1;
            self.increment = 0;
        } else {
            self.increment += 1;
        }
        (self.last_ms << TIMESTAMP_SHIFT)
            | (u64::from(self.worker) << 17)
            | u64::from(self.increment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_creation_time() {
        let mut ids = IdGenerator::new(3);
        let now = 1_700_000_000_123;
        let id = UserId(ids.next_id(now));
        assert_eq!(id.created_at_unix_ms(), now);
        assert_eq!((id.0 >> 17) & 31, 3);
    }

    #[test]
    fn ids_increase_when_the_clock_stalls_or_goes_back() {
        let mut ids = IdGenerator::new(0);
        let mut last = 0;
        for step in 0..10_000u64 {
            let now = 1_700_000_000_000 - (step % 7); // stalls and goes backwards
            let id = ids.next_id(now);
            assert!(id > last, "step {step}: {id} <= {last}");
            last = id;
        }
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
}
