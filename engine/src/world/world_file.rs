//! `world.json` and `token_secret`: the world's own files in the data dir, read and
//! written atomically. (The per-core `lsm` stores are `persist.rs`.)
//!
//! - `world.json`: the whole `World`, versioned (`{"format": 1, "world": …}`). A first
//!   run writes it as the seed; `persist.rs` copies each core's share into that core's
//!   store, where the world lives from then on, and the file is not written again.
//! - `token_secret`: 32 random bytes that sign every token (mode 0600).
//! - `bootstrap.json`: written by `bootstrap.rs` with `write_file_atomic`.
//!
//! Each write goes to a temporary file in the same directory, is fsynced, renamed over
//! the target and the directory is fsynced, so a crash leaves either the old file or the
//! new one, never a torn one.
//!
//! It never reads the clock.

use super::model::World;
use super::token::TokenSecret;
use super::WorldError;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The world's file name in the data dir.
pub const WORLD_FILE: &str = "world.json";
/// The token secret's file name in the data dir.
pub const SECRET_FILE: &str = "token_secret";

const WORLD_FORMAT: u32 = 1;
const SECRET_LEN: usize = 32;

#[derive(Serialize, Deserialize)]
struct WorldFile {
    format: u32,
    world: World,
}

/// Writes `bytes` to `dir/name` with permissions `mode`, atomically and durably.
pub fn write_file_atomic(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
    let temporary = dir.join(format!(".{name}.tmp"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&temporary)?;
    // `mode` applies only when the file is created; a leftover temporary keeps its own.
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, dir.join(name))?;
    File::open(dir)?.sync_all()
}

/// Reads the world from `dir`, or `None` if the dir holds none yet.
pub fn load_world(dir: &Path) -> Result<Option<World>, WorldError> {
    let path = dir.join(WORLD_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(WorldError::Io { path, source }),
    };
    let file: WorldFile = serde_json::from_slice(&bytes).map_err(|error| WorldError::Corrupt {
        path: path.clone(),
        detail: error.to_string(),
    })?;
    if file.format != WORLD_FORMAT {
        return Err(WorldError::Corrupt {
            path,
            detail: format!("format {} (this build reads {WORLD_FORMAT})", file.format),
        });
    }
    file.world.validate()?;
    Ok(Some(file.world))
}

/// Writes `world` to `dir` atomically (mode 0600: it names every account).
pub fn save_world(dir: &Path, world: &World) -> Result<(), WorldError> {
    debug_assert!(world.validate().is_ok(), "only a valid world is stored");
    let file = WorldFile {
        format: WORLD_FORMAT,
        world: world.clone(),
    };
    // Plain structs with string keys always serialise.
    let bytes = serde_json::to_vec_pretty(&file).expect("the world serialises");
    write_file_atomic(dir, WORLD_FILE, &bytes, 0o600).map_err(io_error(dir.join(WORLD_FILE)))
}

/// Reads the token secret from `dir`, or `None` if there is none yet.
pub fn load_secret(dir: &Path) -> Result<Option<TokenSecret>, WorldError> {
    let path = dir.join(SECRET_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(WorldError::Io { path, source }),
    };
    let key: [u8; SECRET_LEN] = bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| WorldError::Corrupt {
            path,
            detail: format!("{} bytes, expected {SECRET_LEN}", bytes.len()),
        })?;
    Ok(Some(TokenSecret(key)))
}

/// Stores a new token secret in `dir` (mode 0600).
pub fn save_secret(dir: &Path, secret: &TokenSecret) -> Result<(), WorldError> {
    write_file_atomic(dir, SECRET_FILE, &secret.0, 0o600).map_err(io_error(dir.join(SECRET_FILE)))
}

/// 32 bytes from the kernel's random source, for a new installation's secret.
pub fn os_random_32() -> io::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

pub(super) fn io_error(path: PathBuf) -> impl FnOnce(io::Error) -> WorldError {
    move |source| WorldError::Io { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo::demo_world;
    use crate::world::tests::temporary_dir;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn world_round_trips_through_the_file() {
        let dir = temporary_dir("round-trip");
        assert!(load_world(&dir).unwrap().is_none());
        let demo = demo_world(1_700_000_000_000, [2; 32]).unwrap();
        save_world(&dir, &demo.world).unwrap();
        assert_eq!(load_world(&dir).unwrap(), Some(demo.world.clone()));
        let mode = fs::metadata(dir.join(WORLD_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            !dir.join(".world.json.tmp").exists(),
            "the temporary file was renamed"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_rewrite_replaces_the_whole_file() {
        let dir = temporary_dir("rewrite");
        let mut demo = demo_world(1_700_000_000_000, [2; 32]).unwrap();
        save_world(&dir, &demo.world).unwrap();
        demo.world.guilds[0].name = "Renamed".into();
        demo.world.guilds[0].channels.pop();
        save_world(&dir, &demo.world).unwrap();
        assert_eq!(load_world(&dir).unwrap().unwrap(), demo.world);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_and_inconsistent_files_are_errors_not_panics() {
        let dir = temporary_dir("corrupt");
        fs::write(dir.join(WORLD_FILE), b"{\"format\":1,\"world\":").unwrap();
        assert!(matches!(load_world(&dir), Err(WorldError::Corrupt { .. })));
        fs::write(dir.join(WORLD_FILE), b"{\"format\":9,\"world\":{}}").unwrap();
        assert!(matches!(load_world(&dir), Err(WorldError::Corrupt { .. })));

        let mut demo = demo_world(1_700_000_000_000, [2; 32]).unwrap();
        demo.world.guilds[0].roles.clear(); // no @everyone
        let file = WorldFile {
            format: WORLD_FORMAT,
            world: demo.world,
        };
        fs::write(dir.join(WORLD_FILE), serde_json::to_vec(&file).unwrap()).unwrap();
        assert!(matches!(load_world(&dir), Err(WorldError::Inconsistent(_))));

        fs::write(dir.join(SECRET_FILE), [1u8; 5]).unwrap();
        assert!(matches!(load_secret(&dir), Err(WorldError::Corrupt { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secret_round_trips_with_mode_0600() {
        let dir = temporary_dir("secret");
        assert_eq!(load_secret(&dir).unwrap(), None);
        let secret = TokenSecret(os_random_32().unwrap());
        save_secret(&dir, &secret).unwrap();
        assert_eq!(load_secret(&dir).unwrap(), Some(secret));
        let mode = fs::metadata(dir.join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }
}
