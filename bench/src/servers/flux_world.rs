//! A data dir for benchmarks against Flux: the demo world plus one bot user per gateway
//! session, written by the parent before it starts the `bench serve flux` child, so the
//! parent already knows every token and the channel id.
//!
//! Why one user per session: Flux enforces Discord's identify limit per user
//! (`max_concurrency` 1: one IDENTIFY per 5 s per bucket, see
//! `engine::gateway::IdentifyLimitConfig`), and the embedding `Config` has no knob for it.
//! Two demo bots could open two sessions per 5 s, far too few. A guild with S members, each
//! with one session, is also the shape of the real load (many users, one channel), and it
//! needs no change to the engine: the suite writes `token_secret` and `world.json` into an
//! empty data dir before `Server::start`, which then keeps that world (the same path as a
//! restart) and seeds its stores from it.
//!
//! [`FluxDataDir`] owns such a dir under `$TMPDIR` and removes it when dropped. It outlives
//! any one server process, so a scenario can kill Flux and start it again on the same data.
//!
//! Each user id is minted one millisecond apart, so `(user_id >> 22) % cores` spreads the
//! users' home cores (where their identify limits live) over every core.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::world::{
    account_token, demo_world, save_world, write_file_atomic, Account, Application, ApplicationId,
    ChannelId, IdGenerator, Member, TokenSecret, User, UserId, APPLICATION_FLAGS_PRIVILEGED,
    SECRET_FILE,
};

/// What the suite needs to drive a seeded Flux server.
#[derive(Debug, Clone)]
pub struct SeededWorld {
    /// `#general`, the channel every message is posted to.
    pub text_channel_id: ChannelId,
    /// The guild owner's token (the publishers post as this bot).
    pub publisher_token: String,
    /// One token per gateway session, each a different member of the guild.
    pub session_tokens: Vec<String>,
}

/// A seeded data dir under `$TMPDIR`, removed when dropped.
#[derive(Debug)]
pub struct FluxDataDir {
    /// Where it is; pass it to `bench serve flux --data-dir`.
    pub path: PathBuf,
    /// Its channel and tokens.
    pub world: SeededWorld,
}

impl FluxDataDir {
    /// Creates a fresh dir and seeds it with `sessions` bot members.
    pub fn seed(sessions: usize) -> std::io::Result<FluxDataDir> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "flux-bench-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        if path.exists() {
            // A leftover of an earlier process with the same pid: never ours to keep.
            std::fs::remove_dir_all(&path)?;
        }
        match seed(&path, sessions) {
            Ok(world) => Ok(FluxDataDir { path, world }),
            Err(error) => {
                let _ = std::fs::remove_dir_all(&path);
                Err(error)
            }
        }
    }
}

impl Drop for FluxDataDir {
    fn drop(&mut self) {
        // Best effort: a dir left in $TMPDIR is harmless.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Writes a world with `sessions` extra bot members into the empty dir `data_dir`.
pub fn seed(data_dir: &Path, sessions: usize) -> std::io::Result<SeededWorld> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let secret = [0x5a_u8; 32];
    let mut demo = demo_world(now_ms, secret).map_err(std::io::Error::other)?;
    // Mint ids in the past, one per millisecond, so none collides with the demo ids
    // (minted at `now_ms`) and their home cores differ.
    let first_ms = now_ms - 1 - sessions as u64;
    let mut ids = IdGenerator::for_core(1).map_err(std::io::Error::other)?;
    let token_secret = TokenSecret(secret);
    let mut session_tokens = Vec::with_capacity(sessions);
    for index in 0..sessions {
        let user_id = UserId(
            ids.next_id(first_ms + index as u64)
                .map_err(std::io::Error::other)?,
        );
        let account = bench_account(user_id, index, now_ms);
        session_tokens.push(account_token(&token_secret, &account));
        demo.world.accounts.push(account);
        demo.world
            .applications
            .push(bench_application(user_id, index));
        demo.world.guilds[0].members.push(Member {
            user_id,
            nick: None,
            roles: Vec::new(),
            joined_at_unix_ms: now_ms,
            deaf: false,
            mute: false,
            flags: 0,
            pending: false,
            communication_disabled_until_unix_ms: None,
        });
    }
    demo.world.validate().map_err(std::io::Error::other)?;
    std::fs::create_dir_all(data_dir)?;
    write_file_atomic(data_dir, SECRET_FILE, &secret, 0o600)?;
    save_world(data_dir, &demo.world).map_err(std::io::Error::other)?;
    Ok(SeededWorld {
        text_channel_id: demo.text_channel_id,
        publisher_token: demo.bots[0].token.clone(),
        session_tokens,
    })
}

fn bench_account(user_id: UserId, index: usize, now_ms: u64) -> Account {
    Account {
        user: User {
            id: user_id,
            username: format!("fanout-{index}"),
            global_name: None,
            bot: true,
            public_flags: 0,
            mfa_enabled: false,
        },
        token_generation: 0,
        token_issued_at_s: u32::try_from(now_ms / 1000).unwrap_or(u32::MAX),
        // MESSAGE_CONTENT is privileged; the receivers read the send time from `content`.
        privileged_intents_allowed: true,
        password_hash: None,
    }
}

fn bench_application(bot_user_id: UserId, index: usize) -> Application {
    Application {
        id: ApplicationId(bot_user_id.0),
        name: format!("Fanout {index}"),
        description: String::new(),
        bot_user_id,
        owner_id: bot_user_id,
        bot_public: true,
        bot_require_code_grant: false,
        // Clients only parse the hex; Flux does not sign interactions.
        verify_key: format!("{:064x}", bot_user_id.0),
        flags: APPLICATION_FLAGS_PRIVILEGED,
    }
}
