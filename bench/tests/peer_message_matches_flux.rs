//! The peer's MESSAGE_CREATE carries the same fields as Flux's and is within 5% of its
//! size, so the `fanout` suite moves the same bytes per event through both servers.
//!
//! Both servers get the same POST, and the test compares the `d` a gateway session
//! receives: the set of key paths must be equal, and the lengths within 5%. Flux runs
//! in-process on its demo world: the first demo bot posts in `#general`, the second
//! listens.

mod common;

use std::collections::BTreeSet;

use common::{post_pipelined, runtime, start_peer, Client};

/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT, as the suite's sessions identify.
const INTENTS: u32 = 1 | (1 << 9) | (1 << 15);
/// Content shaped like the suite's `{seq}:{sent_ns}`.
const BODY: &str = "{\"content\":\"123456:1765432109876543210\"}";

#[test]
fn peer_message_create_matches_flux_fields_and_size() {
    let flux_d = flux_message_create();
    let peer_d = peer_message_create();
    let flux: serde_json::Value = serde_json::from_str(&flux_d).unwrap();
    let peer: serde_json::Value = serde_json::from_str(&peer_d).unwrap();
    assert_eq!(
        key_paths(&peer),
        key_paths(&flux),
        "same field set\nflux {flux_d}\npeer {peer_d}"
    );
    let ratio = peer_d.len() as f64 / flux_d.len() as f64;
    println!(
        "MESSAGE_CREATE d: Flux {} bytes, peer {} bytes ({:+.1}%)\nflux {flux_d}\npeer {peer_d}",
        flux_d.len(),
        peer_d.len(),
        (ratio - 1.0) * 100.0
    );
    assert!((0.95..=1.05).contains(&ratio), "peer/Flux size {ratio:.3}");
}

fn flux_message_create() -> String {
    let mut config = engine::Config::ephemeral();
    config.cores = Some(1);
    config.limits.rest_rate_limits = false;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let secret = [0x5a_u8; 32];
    let demo = engine::world::demo_world(now_ms, secret).unwrap();
    std::fs::create_dir_all(&config.data_dir).unwrap();
    engine::world::write_file_atomic(&config.data_dir, engine::world::SECRET_FILE, &secret, 0o600)
        .unwrap();
    engine::world::save_world(&config.data_dir, &demo.world).unwrap();
    let server = engine::Server::start(config).unwrap();
    let addr = server.local_addr();
    let d = runtime().block_on(async {
        let mut listener = Client::connect(addr, None).await;
        listener
            .identify(&format!("Bot {}", demo.bots[1].token), INTENTS)
            .await;
        let channel_id = demo.text_channel_id.0.to_string();
        let authorization = format!("Bot {}", demo.bots[0].token);
        post_pipelined(addr, &authorization, &channel_id, &[BODY.to_owned()]);
        listener.next_message_create().await.1
    });
    server.shutdown().unwrap();
    d
}

fn peer_message_create() -> String {
    let addr = start_peer(1);
    runtime().block_on(async {
        let mut listener = Client::connect(addr, None).await;
        let channel_id = listener.identify("Bot any", INTENTS).await;
        post_pipelined(addr, "Bot any", &channel_id, &[BODY.to_owned()]);
        listener.next_message_create().await.1
    })
}

/// Every key path in `value` (`author.id`, `member.roles`, …); array items are not
/// descended into, since both messages have empty arrays.
fn key_paths(value: &serde_json::Value) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    collect(value, "", &mut paths);
    paths
}

fn collect(value: &serde_json::Value, prefix: &str, paths: &mut BTreeSet<String>) {
    if let serde_json::Value::Object(object) = value {
        for (key, child) in object {
            let path = format!("{prefix}{key}");
            collect(child, &format!("{path}."), paths);
            paths.insert(path);
        }
    }
}
