//! `flux admin`: offline changes to a data dir — create a bot, create a guild, add a
//! member, list tokens, revoke a user's tokens.
//!
//! Offline because the stores have one writer: the server. `AdminDir::open` takes the
//! data dir's lock (`crate::data_dir_lock`) and refuses with a clear message while a
//! server runs on it; stop the server, run the command, start it again (the server reads
//! the world back from the stores at start, so the change is there).
//!
//! What it writes is what the server would: the world is read with
//! `persist::load_from_stores` (the core count is the number of `core-N` stores in the
//! dir, checked against their `layout.cores`), and each value goes to the store of the
//! core that owns it — an account and its application to the user's home core, a guild
//! to its owner core — in one durable batch (`persist::put_*`). Tokens are signed with
//! the data dir's `token_secret`, like the demo bots' (`world::account_token`).
//!
//! Ids come from a Snowflake generator with worker id 1; the server's cores use worker 0,
//! so an id made here never equals one a server made, whatever the clocks did.
//!
//! Elsewhere: the CLI itself (`bin/flux.rs`), humans registering over REST
//! (`app::accounts`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::data_dir_lock::{is_held_elsewhere, DataDirLock, LOCK_FILE};
use crate::world::persist::{self, core_dir};
use crate::world::{
    account_token, home_core, load_secret, load_world, owner_core, Account, Application,
    ApplicationId, ChannelId, GuildId, Member, TokenSecret, User, UserId, World, WorldError,
    APPLICATION_FLAGS_PRIVILEGED,
};

/// Why an admin command did not do its job. Each is the operator's to fix.
#[derive(Debug)]
#[non_exhaustive]
pub enum AdminError {
    /// A server holds the data dir.
    ServerRunning(PathBuf),
    /// The data dir has no stores (no server ever ran on it) or no token secret.
    NotADataDir(PathBuf, String),
    /// Reading or writing the world failed.
    World(WorldError),
    /// A file could not be opened or locked.
    Io(PathBuf, std::io::Error),
    /// No user with this id or username.
    UnknownUser(String),
    /// No guild with this id or name.
    UnknownGuild(String),
    /// The username is in use.
    UsernameTaken(String),
    /// A name outside 2–32 characters, or with control characters.
    BadName(String),
    /// The user is already a member of the guild.
    AlreadyMember { guild: GuildId, user: UserId },
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::ServerRunning(dir) => write!(
                f,
                "a flux server is running on {} ({LOCK_FILE} is locked); stop it first, \
                 then run the admin command, then start the server again",
                dir.display()
            ),
            AdminError::NotADataDir(dir, why) => {
                write!(f, "{} is not a flux data dir: {why}", dir.display())
            }
            AdminError::World(error) => write!(f, "{error}"),
            AdminError::Io(path, error) => write!(f, "{}: {error}", path.display()),
            AdminError::UnknownUser(user) => write!(f, "no user {user:?} (id or username)"),
            AdminError::UnknownGuild(guild) => write!(f, "no guild {guild:?} (id or name)"),
            AdminError::UsernameTaken(name) => write!(f, "the username {name:?} is taken"),
            AdminError::BadName(name) => write!(
                f,
                "{name:?}: a name has 2 to 32 characters and no control characters"
            ),
            AdminError::AlreadyMember { guild, user } => {
                write!(f, "user {user} is already a member of guild {guild}")
            }
        }
    }
}

impl std::error::Error for AdminError {}

impl From<WorldError> for AdminError {
    fn from(error: WorldError) -> AdminError {
        AdminError::World(error)
    }
}

/// A bot `create_bot` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedBot {
    /// Its user (and application) id.
    pub user_id: UserId,
    /// Its token (without `Bot `).
    pub token: String,
}

/// One line of `list_tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLine {
    /// The user.
    pub user_id: UserId,
    /// Their username.
    pub username: String,
    /// Whether it is a bot.
    pub bot: bool,
    /// A token of the account's current generation.
    pub token: String,
}

/// A data dir opened for offline changes; holds its lock until dropped.
#[derive(Debug)]
pub struct AdminDir {
    data_dir: PathBuf,
    cores: usize,
    secret: TokenSecret,
    world: World,
    ids: snowflake::Generator,
    _lock: DataDirLock,
}

impl AdminDir {
    /// Locks `data_dir` and reads the world from its stores.
    pub fn open(data_dir: &Path) -> Result<AdminDir, AdminError> {
        if !data_dir.is_dir() {
            return Err(AdminError::NotADataDir(
                data_dir.to_path_buf(),
                "no such directory".into(),
            ));
        }
        let lock = DataDirLock::acquire(data_dir).map_err(|error| {
            if is_held_elsewhere(&error) {
                AdminError::ServerRunning(data_dir.to_path_buf())
            } else {
                AdminError::Io(data_dir.join(LOCK_FILE), error)
            }
        })?;
        let cores = (0..)
            .take_while(|core| core_dir(data_dir, *core).is_dir())
            .count();
        if cores == 0 {
            return Err(AdminError::NotADataDir(
                data_dir.to_path_buf(),
                "no core-0 store; run `flux serve` on it once first".into(),
            ));
        }
        let secret = load_secret(data_dir)?.ok_or_else(|| {
            AdminError::NotADataDir(data_dir.to_path_buf(), "no token_secret".into())
        })?;
        let seed = load_world(data_dir)?.unwrap_or_default();
        let world = persist::load_from_stores(data_dir, cores, &seed, store_options)?;
        let ids = snowflake::Generator::new(1, 0).expect("worker 1, process 0 are valid");
        Ok(AdminDir {
            data_dir: data_dir.to_path_buf(),
            cores,
            secret,
            world,
            ids,
            _lock: lock,
        })
    }

    /// The world as the stores hold it (with this session's changes).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The core count of the data dir's layout.
    pub fn cores(&self) -> usize {
        self.cores
    }

    /// Creates a bot user named `name` and its application (privileged intents allowed,
    /// like the demo bots); returns its id and token.
    pub fn create_bot(&mut self, name: &str, now_unix_ms: u64) -> Result<CreatedBot, AdminError> {
        check_name(name)?;
        if self.world.accounts.iter().any(|a| a.user.username == name) {
            return Err(AdminError::UsernameTaken(name.into()));
        }
        let user_id = UserId(self.next_id(now_unix_ms)?);
        let account = Account {
            user: User {
                id: user_id,
                username: name.into(),
                global_name: None,
                bot: true,
                public_flags: 0,
                mfa_enabled: false,
            },
            token_generation: 0,
            token_issued_at_s: unix_s(now_unix_ms),
            privileged_intents_allowed: true,
            password_hash: None,
        };
        let application = Application {
            id: ApplicationId(user_id.0),
            name: name.into(),
            description: String::new(),
            bot_user_id: user_id,
            owner_id: user_id,
            bot_public: true,
            bot_require_code_grant: false,
            verify_key: crate::world::verify_key(&self.secret, user_id),
            flags: APPLICATION_FLAGS_PRIVILEGED,
        };
        self.write(home_core(user_id, self.cores), |batch| {
            persist::put_account(batch, &account);
            persist::put_application(batch, &application);
        })?;
        let token = account_token(&self.secret, &account);
        self.world.accounts.push(account);
        self.world.applications.push(application);
        Ok(CreatedBot { user_id, token })
    }

    /// Creates a guild like the demo's (@everyone with the default permissions,
    /// `#general` and a "General" voice channel) owned by `owner` (an id or username),
    /// who is its first member.
    pub fn create_guild(
        &mut self,
        name: &str,
        owner: &str,
        now_unix_ms: u64,
    ) -> Result<GuildId, AdminError> {
        check_name(name)?;
        let owner_id = self.find_user(owner)?;
        let guild_id = GuildId(self.next_id(now_unix_ms)?);
        let text_id = ChannelId(self.next_id(now_unix_ms)?);
        let voice_id = ChannelId(self.next_id(now_unix_ms)?);
        let guild =
            crate::world::new_guild(guild_id, name, owner_id, [text_id, voice_id], now_unix_ms);
        self.write(owner_core(guild_id, self.cores), |batch| {
            persist::put_guild(batch, &guild);
        })?;
        self.world.guilds.push(guild);
        Ok(guild_id)
    }

    /// Makes `user` a member of `guild` (each an id or a name).
    pub fn add_member(
        &mut self,
        guild: &str,
        user: &str,
        now_unix_ms: u64,
    ) -> Result<(GuildId, UserId), AdminError> {
        let user_id = self.find_user(user)?;
        let index = self.find_guild(guild)?;
        let mut changed = self.world.guilds[index].clone();
        if changed.member(user_id).is_some() {
            return Err(AdminError::AlreadyMember {
                guild: changed.id,
                user: user_id,
            });
        }
        changed.members.push(member(user_id, now_unix_ms));
        self.write(owner_core(changed.id, self.cores), |batch| {
            persist::put_guild(batch, &changed);
        })?;
        let guild_id = changed.id;
        self.world.guilds[index] = changed;
        Ok((guild_id, user_id))
    }

    /// Every account with a token of its current generation, in id order.
    pub fn list_tokens(&self) -> Vec<TokenLine> {
        self.world
            .accounts
            .iter()
            .map(|account| TokenLine {
                user_id: account.user.id,
                username: account.user.username.clone(),
                bot: account.user.bot,
                token: account_token(&self.secret, account),
            })
            .collect()
    }

    /// Revokes every token of `user` (an id or username); returns the new current token.
    pub fn revoke(&mut self, user: &str, now_unix_ms: u64) -> Result<String, AdminError> {
        let user_id = self.find_user(user)?;
        let mut world = self.world.clone();
        world
            .revoke_tokens(user_id, unix_s(now_unix_ms))
            .ok_or_else(|| AdminError::UnknownUser(user.into()))?;
        let account = world
            .account(user_id)
            .cloned()
            .ok_or_else(|| AdminError::UnknownUser(user.into()))?;
        self.write(home_core(user_id, self.cores), |batch| {
            persist::put_account(batch, &account);
        })?;
        self.world = world;
        Ok(account_token(&self.secret, &account))
    }

    fn find_user(&self, user: &str) -> Result<UserId, AdminError> {
        let by_id = user.parse::<u64>().ok().map(UserId);
        self.world
            .accounts
            .iter()
            .find(|a| Some(a.user.id) == by_id || a.user.username == user)
            .map(|a| a.user.id)
            .ok_or_else(|| AdminError::UnknownUser(user.into()))
    }

    fn find_guild(&self, guild: &str) -> Result<usize, AdminError> {
        let by_id = guild.parse::<u64>().ok().map(GuildId);
        let by_id_index = self.world.guilds.iter().position(|g| Some(g.id) == by_id);
        by_id_index
            .or_else(|| self.world.guilds.iter().position(|g| g.name == guild))
            .ok_or_else(|| AdminError::UnknownGuild(guild.into()))
    }

    fn next_id(&mut self, now_unix_ms: u64) -> Result<u64, AdminError> {
        self.ids
            .next(now_unix_ms)
            .map(|id| id.get())
            .map_err(|error| AdminError::World(WorldError::Clock(error)))
    }

    /// Appends one batch to core `core`'s store and waits until it is durable.
    fn write(&self, core: usize, fill: impl FnOnce(&mut lsm::Batch)) -> Result<(), AdminError> {
        let dir = core_dir(&self.data_dir, core);
        let failed = |error: lsm::Error| {
            AdminError::World(WorldError::Corrupt {
                path: dir.clone(),
                detail: format!("store: {error}"),
            })
        };
        let mut store = lsm::Store::open(&dir, store_options()).map_err(failed)?;
        let mut batch = store.batch();
        fill(&mut batch);
        let ticket = store.append(&mut batch).map_err(failed)?;
        store.wait_durable(ticket).map_err(failed)?;
        store.close().map_err(failed)
    }
}

/// The `lsm` options the server opens its stores with.
fn store_options() -> lsm::Options {
    lsm::Options::new(crate::world::history::message_bucket)
}

fn member(user_id: UserId, now_unix_ms: u64) -> Member {
    Member {
        user_id,
        nick: None,
        roles: Vec::new(),
        joined_at_unix_ms: now_unix_ms,
        deaf: false,
        mute: false,
        flags: 0,
        pending: false,
        communication_disabled_until_unix_ms: None,
    }
}

fn check_name(name: &str) -> Result<(), AdminError> {
    let chars = name.chars().count();
    if (2..=32).contains(&chars) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(AdminError::BadName(name.into()))
    }
}

fn unix_s(unix_ms: u64) -> u32 {
    u32::try_from(unix_ms / 1000).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Directory;

    const NOW: u64 = 1_750_000_000_000;

    /// A data dir as a first `flux serve` with `cores` cores leaves it.
    fn served_dir(name: &str, cores: usize) -> PathBuf {
        let dir = crate::world::tests::temporary_dir(name);
        let addr = "127.0.0.1:8080".parse().unwrap();
        let opened = crate::world::open_data_dir(&dir, addr, NOW).unwrap();
        persist::load_from_stores(&dir, cores, &opened.world, store_options).unwrap();
        dir
    }

    /// What a server starting on `dir` would load, and its directory.
    fn reload(dir: &Path, cores: usize) -> (World, Directory) {
        let seed = load_world(dir).unwrap().unwrap();
        let world = persist::load_from_stores(dir, cores, &seed, store_options).unwrap();
        let secret = load_secret(dir).unwrap().unwrap();
        let directory = Directory::from_world(&world, secret);
        (world, directory)
    }

    #[test]
    fn create_bot_guild_and_member_reach_the_right_stores() {
        let dir = served_dir("admin-create", 3);
        let mut admin = AdminDir::open(&dir).unwrap();
        assert_eq!(admin.cores(), 3);
        let bot = admin.create_bot("helper bot", NOW).unwrap();
        let other = admin.create_bot("second", NOW + 1).unwrap();
        assert!(matches!(
            admin.create_bot("helper bot", NOW),
            Err(AdminError::UsernameTaken(_))
        ));
        assert!(matches!(
            admin.create_bot("x", NOW),
            Err(AdminError::BadName(_))
        ));
        let guild = admin.create_guild("Ops", "helper bot", NOW).unwrap();
        let (_, added) = admin
            .add_member(&guild.0.to_string(), "second", NOW)
            .unwrap();
        assert_eq!(added, other.user_id);
        assert!(matches!(
            admin.add_member("Ops", &other.user_id.0.to_string(), NOW),
            Err(AdminError::AlreadyMember { .. })
        ));
        assert!(matches!(
            admin.add_member("Nope", "second", NOW),
            Err(AdminError::UnknownGuild(_))
        ));
        assert!(matches!(
            admin.create_guild("Ops2", "nobody", NOW),
            Err(AdminError::UnknownUser(_))
        ));
        drop(admin);

        let (world, directory) = reload(&dir, 3);
        let entry = directory.authenticate(&bot.token).unwrap();
        assert_eq!(entry.user.id, bot.user_id);
        assert!(entry.user.bot && entry.privileged_intents_allowed);
        assert!(entry.application.is_some());
        assert_eq!(entry.guild_ids.len(), 1, "the new guild");
        let guild = world.guild(guild).unwrap();
        assert_eq!(guild.owner_id, bot.user_id);
        assert_eq!(guild.members.len(), 2);
        assert_eq!(guild.channels.len(), 2);
        assert_eq!(guild.roles[0].id, guild.id.everyone_role());
        assert_eq!(directory.entry(other.user_id).unwrap().guild_ids.len(), 1);
        // Each value sits in its owner's store.
        let share = |core: usize| {
            let path = core_dir(&dir, core);
            let store = lsm::Store::open(&path, store_options()).unwrap();
            persist::read_share(&store, &path).unwrap()
        };
        let home = share(home_core(bot.user_id, 3));
        assert!(home.accounts.iter().any(|a| a.user.id == bot.user_id));
        assert!(home
            .applications
            .iter()
            .any(|a| a.bot_user_id == bot.user_id));
        let owner = share(owner_core(guild.id, 3));
        assert!(owner.guilds.iter().any(|g| g.id == guild.id));
    }

    #[test]
    fn list_and_revoke_tokens() {
        let dir = served_dir("admin-revoke", 2);
        let mut admin = AdminDir::open(&dir).unwrap();
        let lines = admin.list_tokens();
        assert_eq!(lines.len(), 2, "the demo bots");
        let old = lines[0].token.clone();
        let user = lines[0].user_id;
        let new = admin.revoke(&lines[0].username, NOW + 5_000).unwrap();
        assert_ne!(new, old);
        assert_eq!(admin.list_tokens()[0].token, new);
        assert!(matches!(
            admin.revoke("ghost", NOW),
            Err(AdminError::UnknownUser(_))
        ));
        drop(admin);
        let (_, directory) = reload(&dir, 2);
        assert!(directory.authenticate(&old).is_err(), "revoked");
        assert_eq!(directory.authenticate(&new).unwrap().user.id, user);
        assert!(directory.authenticate(&lines[1].token).is_ok(), "untouched");
    }

    #[test]
    fn refuses_a_locked_dir_and_a_dir_without_stores() {
        let dir = served_dir("admin-locked", 2);
        let held = DataDirLock::acquire(&dir).unwrap();
        let error = AdminDir::open(&dir).unwrap_err();
        assert!(matches!(error, AdminError::ServerRunning(_)));
        assert!(error.to_string().contains("stop it first"), "{error}");
        drop(held);
        assert!(AdminDir::open(&dir).is_ok());
        let empty = crate::world::tests::temporary_dir("admin-empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert!(matches!(
            AdminDir::open(&empty),
            Err(AdminError::NotADataDir(..))
        ));
        assert!(matches!(
            AdminDir::open(&empty.join("missing")),
            Err(AdminError::NotADataDir(..))
        ));
    }
}
