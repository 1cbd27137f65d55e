//! `flux admin` as an operator runs it: the real binary creates a bot and a guild on a
//! data dir a server ran on; a server started on that dir then accepts the printed token
//! on the gateway (READY, with the new guild's GUILD_CREATE). While the server runs, the
//! admin command (and a second server) refuses and says why.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use engine::{Config, IoBackend, Server};
use support::gateway::{Gateway, INTENTS_DEFAULT};

fn start_on(data_dir: &Path) -> Server {
    support::start_flux(IoBackend::Epoll, |config: &mut Config| {
        config.data_dir = data_dir.to_path_buf();
        config.remove_data_dir_on_shutdown = false;
    })
}

fn flux_admin(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flux"))
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("the flux binary runs")
}

fn field<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {stdout:?}"))
        .trim()
}

#[test]
fn create_bot_with_the_binary_then_identify() {
    let data_dir = std::env::temp_dir().join(format!("flux-admin-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let server = start_on(&data_dir);

    // Refused while the server holds the dir.
    let refused = flux_admin(&data_dir, &["create-bot", "early"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("running"), "{stderr}");
    // So is a second server.
    let second = Server::start(Config {
        data_dir: data_dir.clone(),
        remove_data_dir_on_shutdown: false,
        ..Config::ephemeral()
    });
    let Err(error) = second else {
        panic!("one server per data dir");
    };
    assert!(error.to_string().contains("in use"), "{error}");
    server.shutdown().unwrap();

    let created = flux_admin(&data_dir, &["create-bot", "ops-bot"]);
    let stdout = String::from_utf8_lossy(&created.stdout).to_string();
    assert!(created.status.success(), "{created:?}");
    let user_id = field(&stdout, "user_id:").to_string();
    let token = field(&stdout, "token:").to_string();
    let guild = flux_admin(&data_dir, &["create-guild", "Ops", "--owner", "ops-bot"]);
    assert!(guild.status.success(), "{guild:?}");
    let guild_stdout = String::from_utf8_lossy(&guild.stdout).to_string();
    let guild_id = field(&guild_stdout, "guild_id:").to_string();
    let added = flux_admin(&data_dir, &["add-member", "Ops", "flux-bot-b"]);
    assert!(added.status.success(), "{added:?}");
    let listed = flux_admin(&data_dir, &["list-tokens"]);
    let listing = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(
        listing.contains(&format!("{user_id} bot ops-bot {token}")),
        "{listing}"
    );
    assert_eq!(
        listing.lines().count(),
        3,
        "two demo bots and ours: {listing}"
    );

    let server = start_on(&data_dir);
    let (mut gateway, _) = Gateway::connect(server.local_addr());
    gateway.identify(&token, INTENTS_DEFAULT);
    let ready = gateway.recv_dispatch();
    assert_eq!(ready["t"], "READY", "{ready}");
    assert_eq!(ready["d"]["user"]["id"], user_id);
    assert_eq!(ready["d"]["user"]["bot"], true);
    assert_eq!(ready["d"]["guilds"][0]["id"], guild_id);
    let guild_create = gateway.recv_named("GUILD_CREATE");
    assert_eq!(guild_create["d"]["name"], "Ops");
    assert_eq!(guild_create["d"]["member_count"], 2);
    drop(gateway);
    server.shutdown().unwrap();

    // Revoke from the CLI: the old token no longer identifies after a restart.
    let revoked = flux_admin(&data_dir, &["revoke", "ops-bot"]);
    assert!(revoked.status.success(), "{revoked:?}");
    let server = start_on(&data_dir);
    let (mut gateway, _) = Gateway::connect(server.local_addr());
    gateway.identify(&token, INTENTS_DEFAULT);
    assert_eq!(gateway.expect_close(), 4004);
    drop(gateway);
    server.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}
