//! Where the world lives in the per-core `lsm` stores, and how a server (or `flux admin`)
//! reads it back.
//!
//! Why in the stores and not in `world.json`: guild state is owned by one core and
//! changes while the server runs; the owner appends each change to *its own* store in
//! the same group commit as its messages, so a change is durable exactly when it is
//! acknowledged, with no lock and no file shared between cores. `world.json` is only the
//! first run's seed and is not written again.
//!
//! Layout (meta keys of `<data-dir>/core-N/`):
//! - `guild.{id}` → the `Guild` (serde JSON, storage form), on `owner_core(id)`;
//! - `account.{id}` → the `Account`, on the user's home core `(id >> 22) % cores`;
//! - `application.{id}` → the `Application`, next to its bot's account;
//! - `dm.{id}` → a `DmChannel`, on its pair core (`world::dm`);
//! - `world.seeded` → present once this core's share of `world.json` was copied in;
//! - `layout.cores` → the core count the data dir was laid out for (u64 LE). Guild
//!   ownership depends on it, so a server refuses to start with another count.
//!
//! Whole values, not deltas: a guild change rewrites the guild's value. That keeps
//! recovery trivial (the newest value wins) at the cost of O(guild size) bytes per
//! change, fine for guilds of thousands of members; per-member keys are the next step
//! for very large guilds.

use std::path::Path;

use lsm::{Batch, Store};
use serde::{de::DeserializeOwned, Serialize};

use super::dm::DmChannel;
use super::ids::{home_core, owner_core, GuildId};
use super::model::{Account, Application, Guild, World};
use super::WorldError;

/// Meta key prefix of guilds.
pub const GUILD_PREFIX: &str = "guild.";
/// Meta key prefix of accounts.
pub const ACCOUNT_PREFIX: &str = "account.";
/// Meta key prefix of direct-message channels.
pub const DM_PREFIX: &str = "dm.";
/// Meta key prefix of applications.
pub const APPLICATION_PREFIX: &str = "application.";
/// Set once a core's share of the seed world is in its store.
pub const SEEDED_KEY: &[u8] = b"world.seeded";
/// The core count the data dir was laid out for.
pub const LAYOUT_CORES_KEY: &[u8] = b"layout.cores";

/// The directory of core `core`'s store.
pub fn core_dir(data_dir: &Path, core: usize) -> std::path::PathBuf {
    data_dir.join(format!("core-{core}"))
}

/// Adds `guild` (its whole current value) to `batch`.
pub fn put_guild(batch: &mut Batch, guild: &Guild) {
    batch.put_meta(&key(GUILD_PREFIX, guild.id.0), to_json(guild));
}

/// Adds the removal of guild `id` to `batch`.
pub fn delete_guild(batch: &mut Batch, id: GuildId) {
    batch.delete_meta(&key(GUILD_PREFIX, id.0));
}

/// Adds `account` to `batch`.
pub fn put_account(batch: &mut Batch, account: &Account) {
    batch.put_meta(&key(ACCOUNT_PREFIX, account.user.id.0), to_json(account));
}

/// Adds the DM channel `channel` to `batch`.
pub fn put_dm(batch: &mut Batch, channel: &DmChannel) {
    batch.put_meta(&key(DM_PREFIX, channel.id.0), to_json(channel));
}

/// Adds `application` to `batch`.
pub fn put_application(batch: &mut Batch, application: &Application) {
    batch.put_meta(
        &key(APPLICATION_PREFIX, application.id.0),
        to_json(application),
    );
}

/// What one core's store holds of the world.
#[derive(Debug, Default)]
pub struct CoreShare {
    /// Accounts whose home is this core.
    pub accounts: Vec<Account>,
    /// Their applications.
    pub applications: Vec<Application>,
    /// Guilds this core owns.
    pub guilds: Vec<Guild>,
    /// DM channels whose pair core this is.
    pub dm_channels: Vec<DmChannel>,
}

/// Reads every account, application and guild in `store`.
pub fn read_share(store: &Store, dir: &Path) -> Result<CoreShare, WorldError> {
    Ok(CoreShare {
        accounts: scan(store, dir, ACCOUNT_PREFIX)?,
        applications: scan(store, dir, APPLICATION_PREFIX)?,
        guilds: scan(store, dir, GUILD_PREFIX)?,
        dm_channels: scan(store, dir, DM_PREFIX)?,
    })
}

/// Opens (creating if needed) every core's store under `data_dir`, copies each core's
/// share of `seed` into stores not yet seeded, checks the layout's core count, and
/// returns the world the stores hold. Stores are closed again: each core reopens its
/// own on its own thread.
pub fn load_from_stores(
    data_dir: &Path,
    cores: usize,
    seed: &World,
    options: impl Fn() -> lsm::Options,
) -> Result<World, WorldError> {
    assert!(cores > 0, "a server has at least one core");
    let mut world = World::default();
    for core in 0..cores {
        let dir = core_dir(data_dir, core);
        std::fs::create_dir_all(&dir).map_err(|source| WorldError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut store = Store::open(&dir, options()).map_err(|e| store_error(&dir, e))?;
        check_layout(&store, &dir, cores)?;
        if store
            .get_meta(SEEDED_KEY)
            .map_err(|e| store_error(&dir, e))?
            .is_none()
        {
            let mut batch = store.batch();
            seed_share(&mut batch, seed, core, cores);
            batch.put_meta(SEEDED_KEY, vec![1]);
            batch.put_meta(LAYOUT_CORES_KEY, (cores as u64).to_le_bytes().to_vec());
            let ticket = store.append(&mut batch).map_err(|e| store_error(&dir, e))?;
            store
                .wait_durable(ticket)
                .map_err(|e| store_error(&dir, e))?;
        }
        let share = read_share(&store, &dir)?;
        world.accounts.extend(share.accounts);
        world.applications.extend(share.applications);
        world.guilds.extend(share.guilds);
        world.dm_channels.extend(share.dm_channels);
        store.close().map_err(|e| store_error(&dir, e))?;
    }
    // A data dir laid out for more cores still has stores past `cores`.
    if core_dir(data_dir, cores).join("MANIFEST").exists() || core_dir(data_dir, cores).exists() {
        return Err(WorldError::Inconsistent(format!(
            "{} was laid out for more than {cores} cores; start with the same core count \
             (--cores) it was created with",
            data_dir.display()
        )));
    }
    world.accounts.sort_by_key(|account| account.user.id);
    world.applications.sort_by_key(|app| app.id);
    world.guilds.sort_by_key(|guild| guild.id);
    world.dm_channels.sort_by_key(|channel| channel.id);
    world.validate()?;
    Ok(world)
}

/// Adds core `core`'s share of `world` to `batch`.
pub fn seed_share(batch: &mut Batch, world: &World, core: usize, cores: usize) {
    for account in world
        .accounts
        .iter()
        .filter(|a| home_core(a.user.id, cores) == core)
    {
        put_account(batch, account);
    }
    for app in world
        .applications
        .iter()
        .filter(|app| home_core(app.bot_user_id, cores) == core)
    {
        put_application(batch, app);
    }
    for guild in world
        .guilds
        .iter()
        .filter(|g| owner_core(g.id, cores) == core)
    {
        put_guild(batch, guild);
    }
    for channel in world
        .dm_channels
        .iter()
        .filter(|c| c.owner_core(cores) == core)
    {
        put_dm(batch, channel);
    }
}

fn check_layout(store: &Store, dir: &Path, cores: usize) -> Result<(), WorldError> {
    let Some(bytes) = store
        .get_meta(LAYOUT_CORES_KEY)
        .map_err(|e| store_error(dir, e))?
    else {
        return Ok(());
    };
    let stored = <[u8; 8]>::try_from(bytes.as_slice())
        .map(u64::from_le_bytes)
        .map_err(|_| WorldError::Corrupt {
            path: dir.to_path_buf(),
            detail: "layout.cores is not 8 bytes".into(),
        })?;
    if stored != cores as u64 {
        return Err(WorldError::Inconsistent(format!(
            "{} was laid out for {stored} cores, this server has {cores}; guild ownership \
             depends on the count, so start with --cores {stored}",
            dir.display()
        )));
    }
    Ok(())
}

fn key(prefix: &str, id: u64) -> Vec<u8> {
    format!("{prefix}{id}").into_bytes()
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("world values serialise")
}

fn scan<T: DeserializeOwned>(
    store: &Store,
    dir: &Path,
    prefix: &str,
) -> Result<Vec<T>, WorldError> {
    let mut found = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store
            .scan_meta(prefix.as_bytes(), after.as_deref(), 256)
            .map_err(|e| store_error(dir, e))?;
        let Some((last, _)) = page.last() else {
            return Ok(found);
        };
        after = Some(last.clone());
        for (name, value) in &page {
            let parsed = serde_json::from_slice(value).map_err(|error| WorldError::Corrupt {
                path: dir.to_path_buf(),
                detail: format!("{}: {error}", String::from_utf8_lossy(name)),
            })?;
            found.push(parsed);
        }
    }
}

fn store_error(dir: &Path, error: lsm::Error) -> WorldError {
    WorldError::Corrupt {
        path: dir.to_path_buf(),
        detail: format!("store: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo_world;
    use crate::world::history::message_bucket;

    fn options() -> lsm::Options {
        lsm::Options::new(message_bucket)
    }

    #[test]
    fn a_seeded_world_reads_back_equal_and_is_seeded_once() {
        let dir = crate::world::tests::temporary_dir("persist-seed");
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let world = load_from_stores(&dir, 3, &demo.world, options).unwrap();
        assert_eq!(world, demo.world);
        // A second load ignores a different seed: the stores are the truth now.
        let other = demo_world(1_700_000_100_000, [4; 32]).unwrap();
        assert_eq!(
            load_from_stores(&dir, 3, &other.world, options).unwrap(),
            demo.world
        );
    }

    #[test]
    fn a_changed_guild_wins_over_the_seed() {
        let dir = crate::world::tests::temporary_dir("persist-change");
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        load_from_stores(&dir, 2, &demo.world, options).unwrap();
        let mut guild = demo.world.guilds[0].clone();
        guild.name = "Renamed".into();
        let owner = crate::world::owner_core(guild.id, 2);
        let mut store = Store::open(&core_dir(&dir, owner), options()).unwrap();
        let mut batch = store.batch();
        put_guild(&mut batch, &guild);
        let ticket = store.append(&mut batch).unwrap();
        store.wait_durable(ticket).unwrap();
        store.close().unwrap();
        let world = load_from_stores(&dir, 2, &demo.world, options).unwrap();
        assert_eq!(world.guilds[0].name, "Renamed");
    }

    #[test]
    fn another_core_count_is_refused_with_a_clear_error() {
        let dir = crate::world::tests::temporary_dir("persist-cores");
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        load_from_stores(&dir, 2, &demo.world, options).unwrap();
        let fewer = load_from_stores(&dir, 1, &demo.world, options).unwrap_err();
        assert!(fewer.to_string().contains("cores"), "{fewer}");
        let more = load_from_stores(&dir, 3, &demo.world, options).unwrap_err();
        assert!(more.to_string().contains("--cores 2"), "{more}");
    }
}
