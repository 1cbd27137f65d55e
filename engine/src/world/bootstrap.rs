//! First run: open a data dir, create the demo world if it is empty, and write
//! `bootstrap.json` for other tools and tests.
//!
//! `bootstrap.json` has exactly the keys tools and tests rely on — `base_url`,
//! `gateway_url`, `guild_id`, `text_channel_id`, `voice_channel_id`,
//! `bots: [{id, username, token}]` — ids as decimal strings, mode 0600 because it holds
//! tokens. On a data dir that already holds
//! a world the world is kept and `bootstrap.json` is left as it is. If the file is missing
//! there (a crash between writing the world and writing it), it is written again from the
//! world; the tokens in it are the accounts' current ones, so it matches the first.
//!
//! Order of writes on first run: the secret, then the world, then `bootstrap.json`, each
//! atomic. A crash at any point leaves a dir the next start completes.
//!
//! Also here: the text `flux serve` prints to say how to point each client at the server.

use super::demo::demo_world;
use super::ids::{ChannelId, GuildId};
use super::model::{ChannelKind, World};
use super::token::{account_token, TokenSecret};
use super::world_file::{
    io_error, load_secret, load_world, os_random_32, save_secret, save_world, write_file_atomic,
};
use super::WorldError;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// The bootstrap file's name in the data dir.
pub const BOOTSTRAP_FILE: &str = "bootstrap.json";

/// The contents of `bootstrap.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    /// `http://HOST:PORT`, the REST base without `/api`.
    pub base_url: String,
    /// `ws://HOST:PORT`, the gateway, no trailing slash.
    pub gateway_url: String,
    /// The demo guild's id.
    pub guild_id: String,
    /// `#general`'s id.
    pub text_channel_id: String,
    /// The "General" voice channel's id.
    pub voice_channel_id: String,
    /// The demo bots, the guild owner first.
    pub bots: Vec<BootstrapBot>,
}

/// One bot in `bootstrap.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapBot {
    /// The bot's user id.
    pub id: String,
    /// Its username.
    pub username: String,
    /// Its token (without `Bot `).
    pub token: String,
}

/// A data dir opened by `open_data_dir`.
#[derive(Debug)]
pub struct Opened {
    /// The world the server starts with.
    pub world: World,
    /// The key that signs its tokens.
    pub secret: TokenSecret,
    /// True when this start created the world (first run).
    pub created: bool,
    /// What `bootstrap.json` holds now.
    pub bootstrap: Bootstrap,
}

/// Opens `data_dir` for a server reachable at `listen`, creating it and the demo world on
/// first run. `now_unix_ms` dates the new ids and tokens.
///
/// `listen` must be the address actually bound (resolve port 0 first); an unspecified
/// address (`0.0.0.0`, `::`) is written as the loopback address, which clients can reach.
pub fn open_data_dir(
    data_dir: &Path,
    listen: SocketAddr,
    now_unix_ms: u64,
) -> Result<Opened, WorldError> {
    std::fs::create_dir_all(data_dir).map_err(io_error(data_dir.to_path_buf()))?;
    let secret = load_secret(data_dir)?;
    let world = load_world(data_dir)?;
    let (world, secret, created) = match (world, secret) {
        (Some(world), Some(secret)) => (world, secret, false),
        (Some(_), None) => return Err(WorldError::SecretMissing(data_dir.to_path_buf())),
        (None, secret) => {
            let secret = match secret {
                Some(secret) => secret,
                None => {
                    let fresh = os_random_32().map_err(io_error("/dev/urandom".into()))?;
                    let secret = TokenSecret(fresh);
                    save_secret(data_dir, &secret)?;
                    secret
                }
            };
            let demo = demo_world(now_unix_ms, secret.0)?;
            save_world(data_dir, &demo.world)?;
            (demo.world, secret, true)
        }
    };
    let bootstrap = match read_bootstrap(data_dir)? {
        Some(existing) if !created => existing,
        _ => {
            let fresh = bootstrap_of(&world, &secret, listen)?;
            write_bootstrap(data_dir, &fresh)?;
            fresh
        }
    };
    Ok(Opened {
        world,
        secret,
        created,
        bootstrap,
    })
}

/// Describes `world`'s first guild, its first text and voice channels and its bots.
pub fn bootstrap_of(
    world: &World,
    secret: &TokenSecret,
    listen: SocketAddr,
) -> Result<Bootstrap, WorldError> {
    let guild = world
        .guilds
        .first()
        .ok_or_else(|| WorldError::Inconsistent("the world has no guild to describe".into()))?;
    let first_channel = |voice: bool| -> Result<ChannelId, WorldError> {
        guild
            .channels
            .iter()
            .find(|channel| matches!(channel.kind, ChannelKind::Voice(_)) == voice)
            .map(|channel| channel.id)
            .ok_or_else(|| WorldError::Inconsistent(format!("guild {} lacks a channel", guild.id)))
    };
    let bots = world
        .accounts
        .iter()
        .filter(|account| account.user.bot && guild.member(account.user.id).is_some())
        .map(|account| BootstrapBot {
            id: account.user.id.to_string(),
            username: account.user.username.clone(),
            token: account_token(secret, account),
        })
        .collect();
    let host = reachable(listen);
    Ok(Bootstrap {
        base_url: format!("http://{host}"),
        gateway_url: format!("ws://{host}"),
        guild_id: guild.id.to_string(),
        text_channel_id: first_channel(false)?.to_string(),
        voice_channel_id: first_channel(true)?.to_string(),
        bots,
    })
}

/// Reads `bootstrap.json`, or `None` if there is none.
pub fn read_bootstrap(data_dir: &Path) -> Result<Option<Bootstrap>, WorldError> {
    let path = data_dir.join(BOOTSTRAP_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| WorldError::Corrupt {
                    path,
                    detail: error.to_string(),
                })
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(WorldError::Io { path, source }),
    }
}

/// Make `bootstrap` name TLS URLs (`https://`, `wss://`) when the main listener speaks TLS
/// (`Config::main_tls`) and plain ones when it does not, rewriting `data_dir`'s
/// `bootstrap.json` when that changes its URLs. Host and port stay as written.
pub fn set_bootstrap_tls(
    data_dir: &Path,
    bootstrap: &mut Bootstrap,
    tls: bool,
) -> Result<(), WorldError> {
    let (http, ws) = if tls {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let base_url = format!("{http}://{}", without_scheme(&bootstrap.base_url));
    let gateway_url = format!("{ws}://{}", without_scheme(&bootstrap.gateway_url));
    if base_url != bootstrap.base_url || gateway_url != bootstrap.gateway_url {
        bootstrap.base_url = base_url;
        bootstrap.gateway_url = gateway_url;
        write_bootstrap(data_dir, bootstrap)?;
    }
    Ok(())
}

/// `host:port` of a URL like `http://host:port`.
fn without_scheme(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

fn write_bootstrap(data_dir: &Path, bootstrap: &Bootstrap) -> Result<(), WorldError> {
    let mut bytes = serde_json::to_vec_pretty(bootstrap).expect("plain strings serialise");
    bytes.push(b'\n');
    write_file_atomic(data_dir, BOOTSTRAP_FILE, &bytes, 0o600)
        .map_err(io_error(data_dir.join(BOOTSTRAP_FILE)))
}

/// The address clients should dial for a server listening on `listen`.
fn reachable(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, listen.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, listen.port()).into(),
        _ => listen,
    }
}

/// The text `flux serve` prints at startup: where the server is and the lines that point
/// discord.py, discord.js, hikari and twilight at it (CLIENTS.md §1.1, §2, §3, §5). Tokens
/// are not printed; they are in `bootstrap.json`.
pub fn how_to_connect(bootstrap: &Bootstrap, data_dir: &Path) -> String {
    let base = &bootstrap.base_url;
    let gateway = &bootstrap.gateway_url;
    let host = without_scheme(base);
    // twilight's proxy flag: plain HTTP to the proxy (true) or HTTPS (false).
    let plain = !base.starts_with("https://");
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "Flux is serving REST at {base}/api/v10 and the gateway at {gateway}\n\
         Demo guild \"Flux\" {guild}: #general {text_channel}, General (voice) {voice}, \
         #staff (only the owner, the first bot, may view it)\n\
         Bot tokens: {bootstrap_path} ({bots} bots)\n\
         \n\
         Point a bot at it:\n\
         \x20 discord.py  discord.http.Route.BASE = \"{base}/api/v10\"\n\
         \x20             discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(\"{gateway}/\")\n\
         \x20 discord.js  new Client({{ intents, rest: {{ api: \"{base}/api\" }} }})\n\
         \x20 hikari      hikari.GatewayBot(token, rest_url=\"{base}/api/v10\")\n\
         \x20 twilight    Client::builder().proxy(\"{host}\".into(), {plain}); \
         ConfigBuilder::new(token, intents).proxy_url(\"{gateway}\".into())\n",
        guild = bootstrap.guild_id,
        text_channel = bootstrap.text_channel_id,
        voice = bootstrap.voice_channel_id,
        bootstrap_path = data_dir.join(BOOTSTRAP_FILE).display(),
        bots = bootstrap.bots.len(),
    );
    text
}

/// The guild and channel ids of a bootstrap, parsed (for tests and tools).
pub fn bootstrap_ids(bootstrap: &Bootstrap) -> Option<(GuildId, ChannelId, ChannelId)> {
    Some((
        GuildId(bootstrap.guild_id.parse().ok()?),
        ChannelId(bootstrap.text_channel_id.parse().ok()?),
        ChannelId(bootstrap.voice_channel_id.parse().ok()?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::directory::Directory;
    use crate::world::tests::temporary_dir;
    use serde_json::Value;
    use std::os::unix::fs::PermissionsExt;

    const LISTEN: &str = "127.0.0.1:8080";
    const NOW: u64 = 1_700_000_000_000;

    #[test]
    fn first_run_writes_exactly_the_documented_keys_with_mode_0600() {
        let dir = temporary_dir("bootstrap-first").join("nested-data-dir");
        let opened = open_data_dir(&dir, LISTEN.parse().unwrap(), NOW).unwrap();
        assert!(opened.created);
        let path = dir.join(BOOTSTRAP_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "base_url",
                "bots",
                "gateway_url",
                "guild_id",
                "text_channel_id",
                "voice_channel_id"
            ]
        );
        assert_eq!(value["base_url"], "http://127.0.0.1:8080");
        assert_eq!(value["gateway_url"], "ws://127.0.0.1:8080");
        for id in ["guild_id", "text_channel_id", "voice_channel_id"] {
            let text = value[id].as_str().unwrap();
            assert!(text.parse::<u64>().is_ok(), "{id} = {text}");
        }
        let bots = value["bots"].as_array().unwrap();
        assert_eq!(bots.len(), 2);
        let directory = Directory::from_world(&opened.world, opened.secret.clone());
        for bot in bots {
            let mut bot_keys: Vec<&str> = bot
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            bot_keys.sort_unstable();
            assert_eq!(bot_keys, ["id", "token", "username"]);
            let entry = directory
                .authenticate(bot["token"].as_str().unwrap())
                .unwrap();
            assert_eq!(entry.user.id.to_string(), bot["id"].as_str().unwrap());
            assert_eq!(entry.user.username, bot["username"].as_str().unwrap());
        }
        let (guild_id, _, _) = bootstrap_ids(&opened.bootstrap).unwrap();
        let guild = opened.world.guild(guild_id).unwrap();
        assert_eq!(guild.owner_id.to_string(), bots[0]["id"].as_str().unwrap());
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn second_start_keeps_the_world_and_the_file() {
        let dir = temporary_dir("bootstrap-second");
        let first = open_data_dir(&dir, LISTEN.parse().unwrap(), NOW).unwrap();
        let bytes_before = std::fs::read(dir.join(BOOTSTRAP_FILE)).unwrap();
        // A later start, even on another address and time, keeps everything.
        let second = open_data_dir(&dir, "127.0.0.1:9999".parse().unwrap(), NOW + 60_000).unwrap();
        assert!(!second.created);
        assert_eq!(second.world, first.world);
        assert_eq!(second.secret, first.secret);
        assert_eq!(second.bootstrap, first.bootstrap);
        assert_eq!(
            std::fs::read(dir.join(BOOTSTRAP_FILE)).unwrap(),
            bytes_before
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_bootstrap_is_rewritten_with_the_same_tokens() {
        let dir = temporary_dir("bootstrap-missing");
        let first = open_data_dir(&dir, LISTEN.parse().unwrap(), NOW).unwrap();
        std::fs::remove_file(dir.join(BOOTSTRAP_FILE)).unwrap();
        let second = open_data_dir(&dir, LISTEN.parse().unwrap(), NOW + 1).unwrap();
        assert!(!second.created);
        assert_eq!(second.bootstrap, first.bootstrap);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_world_without_its_secret_is_an_error() {
        let dir = temporary_dir("bootstrap-no-secret");
        open_data_dir(&dir, LISTEN.parse().unwrap(), NOW).unwrap();
        std::fs::remove_file(dir.join(crate::world::world_file::SECRET_FILE)).unwrap();
        let error = open_data_dir(&dir, LISTEN.parse().unwrap(), NOW).unwrap_err();
        assert!(matches!(error, WorldError::SecretMissing(_)));
        assert!(error.to_string().contains("token_secret"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unspecified_listen_addresses_become_loopback() {
        let demo = demo_world(NOW, [1; 32]).unwrap();
        let v4 = bootstrap_of(&demo.world, &demo.secret, "0.0.0.0:80".parse().unwrap()).unwrap();
        assert_eq!(v4.base_url, "http://127.0.0.1:80");
        let v6 = bootstrap_of(&demo.world, &demo.secret, "[::]:81".parse().unwrap()).unwrap();
        assert_eq!(v6.gateway_url, "ws://[::1]:81");
    }

    #[test]
    fn startup_text_names_each_clients_knob() {
        let demo = demo_world(NOW, [1; 32]).unwrap();
        let bootstrap = bootstrap_of(&demo.world, &demo.secret, LISTEN.parse().unwrap()).unwrap();
        let text = how_to_connect(&bootstrap, Path::new("/srv/flux"));
        for needle in [
            "Route.BASE = \"http://127.0.0.1:8080/api/v10\"",
            "DEFAULT_GATEWAY = yarl.URL(\"ws://127.0.0.1:8080/\")",
            "api: \"http://127.0.0.1:8080/api\"",
            "rest_url=\"http://127.0.0.1:8080/api/v10\"",
            "proxy_url(\"ws://127.0.0.1:8080\"",
            "/srv/flux/bootstrap.json",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(
            !text.contains(&bootstrap.bots[0].token),
            "tokens are not printed"
        );
    }

    #[test]
    fn tls_turns_the_urls_to_https_and_wss_and_back() {
        let dir = temporary_dir("bootstrap-tls");
        let mut opened = open_data_dir(&dir, LISTEN.parse().unwrap(), NOW).unwrap();
        set_bootstrap_tls(&dir, &mut opened.bootstrap, true).unwrap();
        assert_eq!(opened.bootstrap.base_url, "https://127.0.0.1:8080");
        assert_eq!(opened.bootstrap.gateway_url, "wss://127.0.0.1:8080");
        let stored = read_bootstrap(&dir).unwrap().unwrap();
        assert_eq!(stored.gateway_url, "wss://127.0.0.1:8080");
        assert!(how_to_connect(&stored, &dir).contains(".proxy(\"127.0.0.1:8080\".into(), false)"));
        set_bootstrap_tls(&dir, &mut opened.bootstrap, false).unwrap();
        assert_eq!(
            read_bootstrap(&dir).unwrap().unwrap().base_url,
            "http://127.0.0.1:8080"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
