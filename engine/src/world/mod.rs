//! The Discord data model Flux serves, and everything about it that needs no socket:
//! ids, the JSON real clients deserialise, tokens, the per-core user directory, and the
//! demo world a first run creates.
//!
//! Sans-IO except `world_file.rs` and `bootstrap.rs`, which read and write the data dir,
//! and `password.rs`, which reads salts from `/dev/urandom`. No file here reads the clock:
//! every function that dates something takes `now`.
//!
//! Reading order: `model.rs` (what a guild is), `json.rs` (how clients see it),
//! `token.rs` and `directory.rs` (who may connect), `bootstrap.rs` (first run).
//!
//! Elsewhere: sockets, HTTP and the gateway protocol (`crate::http`, `crate::gateway`);
//! REST routing (`crate::rest`); durable storage (the `lsm` crate: `persist.rs` says which
//! keys of the per-core stores hold the world; `world.json` is only the first run's seed).
//!
//! Ownership: guild state lives on its owner core (`owner_core`); the `Directory` is the
//! read-mostly part every core holds; each JSON encoder is the one place a Discord
//! object's shape is decided.

pub mod attachment_url;
mod bootstrap;
mod demo;
mod directory;
pub mod dm;
mod guild_create_cache;
pub mod guild_ops;
pub mod history;
mod hmac;
mod ids;
mod json;
pub mod member_chunks;
pub mod message;
pub mod message_ops;
mod model;
pub mod password;
pub mod permissions;
pub mod persist;
pub mod presence;
mod refusal;
mod timestamp;
mod token;
pub mod voice_state;
mod world_file;

pub use bootstrap::{
    bootstrap_ids, bootstrap_of, how_to_connect, open_data_dir, read_bootstrap, set_bootstrap_tls,
    Bootstrap, BootstrapBot, Opened, BOOTSTRAP_FILE,
};
pub use demo::{demo_world, Demo, DemoBot, DEMO_BOT_USERNAMES};
pub(crate) use demo::{new_guild, verify_key};
pub use directory::{Directory, DirectoryEntry};
pub use guild_create_cache::GuildCreateCache;
pub use hmac::hmac_sha1;
pub use ids::{
    core_of, home_core, owner_core, ApplicationId, ChannelId, GuildId, IdGenerator, RoleId, UserId,
    DISCORD_EPOCH_MS,
};
pub use json::{
    application_json, channel_json, encode, guild_create_json, guild_json, member_json,
    ready_application_json, ready_user_json, role_json, thread_member_json, unavailable_guild_json,
    user_json,
};
pub use model::{
    Account, Application, Ban, Channel, ChannelKind, Guild, Invite, Member, OverwriteTarget,
    PermissionOverwrite, Role, TextSettings, ThreadMember, ThreadSettings, User, UserLookup,
    VoiceSettings, World, APPLICATION_FLAGS_PRIVILEGED,
};
pub use refusal::Refusal;
pub use timestamp::{iso8601_from_unix_ms, unix_ms_from_iso8601};
pub use token::{
    account_token, decode_token, decode_user_id, mint_token, strip_bot_prefix, TokenClaims,
    TokenError, TokenSecret,
};
pub use world_file::{
    load_secret, load_world, save_world, write_file_atomic, SECRET_FILE, WORLD_FILE,
};

use std::fmt;
use std::path::PathBuf;

/// What can go wrong opening or storing the world. Each is the disk's or the operator's
/// doing, never a peer's; the server reports it and does not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum WorldError {
    /// Reading or writing a file in the data dir failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file exists but cannot be parsed (torn by another tool, or from a newer Flux).
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
    /// The stored world breaks an invariant of `model.rs` (a member without a user, …).
    Inconsistent(String),
    /// `world.json` exists but `token_secret` does not, so no issued token could verify.
    SecretMissing(PathBuf),
    /// The id generator refused the clock (before 2015, past 2154, or a burst past its
    /// drift budget).
    Clock(snowflake::Error),
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorldError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            WorldError::Corrupt { path, detail } => write!(
                f,
                "{} is not a Flux file this build can read ({detail}); restore it from a \
                 backup, or move the data dir away to start a fresh demo world",
                path.display()
            ),
            WorldError::Inconsistent(what) => write!(f, "the stored world is inconsistent: {what}"),
            WorldError::SecretMissing(dir) => write!(
                f,
                "{} holds a world but no token_secret, so no token could be verified; \
                 restore token_secret, or remove world.json and bootstrap.json to start fresh",
                dir.display()
            ),
            WorldError::Clock(error) => write!(
                f,
                "cannot issue ids: {error:?}; check the system clock (ids need a time after 2015)"
            ),
        }
    }
}

impl std::error::Error for WorldError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorldError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// A fresh, empty directory under the system temp dir, unique to this process and name.
    pub(crate) fn temporary_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("flux-world-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
