//! The `fanout` suite's peer delivers every message to every session, in order, with the
//! same `d` for all, over plain, zlib-stream and zstd-stream sessions; answers pipelined
//! POSTs in order; ACKs heartbeats; and refuses resumes with op 9.

mod common;

use common::{get, post_pipelined, runtime, start_peer, Client};

const MESSAGES: usize = 50;
/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT, as the suite's sessions identify.
const INTENTS: u32 = 1 | (1 << 9) | (1 << 15);

fn fans_out_with(workers: usize) {
    let addr = start_peer(workers);
    runtime().block_on(async {
        let mut plain = Vec::new();
        let mut channel_id = String::new();
        for _ in 0..3 {
            let mut client = Client::connect(addr, None).await;
            channel_id = client.identify("Bot any", INTENTS).await;
            plain.push(client);
        }
        let mut zlib = Client::connect(addr, Some("zlib-stream")).await;
        zlib.identify("Bot any", INTENTS).await;
        let mut zstd = Client::connect(addr, Some("zstd-stream")).await;
        zstd.identify("Bot any", INTENTS).await;

        let bodies: Vec<String> = (0..MESSAGES)
            .map(|i| format!("{{\"content\":\"message {i}\",\"nonce\":\"{i}\"}}"))
            .collect();
        let answers = post_pipelined(addr, "Bot any", &channel_id, &bodies);
        for (i, answer) in answers.iter().enumerate() {
            let d: serde_json::Value = serde_json::from_str(answer).unwrap();
            assert_eq!(
                d["content"],
                format!("message {i}"),
                "answers come in order"
            );
            assert_eq!(d["channel_id"], channel_id.as_str());
            assert_eq!(d["nonce"], i.to_string());
        }

        for client in plain.iter_mut().chain([&mut zlib, &mut zstd]) {
            for (i, answer) in answers.iter().enumerate() {
                let (seq, d) = client.next_message_create().await;
                // READY is s=1 and GUILD_CREATE s=2.
                assert_eq!(seq, i as u64 + 3, "s rises by one");
                assert_eq!(&d, answer, "every session gets the POST's own bytes");
            }
        }

        let first = &mut plain[0];
        first.send_text("{\"op\":1,\"d\":52}").await;
        assert_eq!(first.next_payload().await, "{\"op\":11,\"d\":null}");
        zlib.send_text("{\"op\":1,\"d\":52}").await;
        assert_eq!(zlib.next_payload().await, "{\"op\":11,\"d\":null}");

        let mut resuming = Client::connect(addr, None).await;
        let _hello = resuming.next_payload().await;
        resuming
            .send_text("{\"op\":6,\"d\":{\"token\":\"x\",\"session_id\":\"y\",\"seq\":3}}")
            .await;
        assert_eq!(resuming.next_payload().await, "{\"op\":9,\"d\":false}");
    });
    let stats: serde_json::Value = serde_json::from_str(&get(addr, "/peer/stats")).unwrap();
    assert_eq!(stats["events"], MESSAGES);
    assert_eq!(stats["sessions"], 5);
    assert_eq!(stats["sessions_lagged"], 0);
}

#[test]
fn peer_fans_out_every_message_on_one_worker() {
    fans_out_with(1);
}

#[test]
fn peer_fans_out_every_message_on_two_workers() {
    fans_out_with(2);
}

#[test]
fn peer_answers_gateway_and_unknown_routes() {
    let addr = start_peer(1);
    let gateway: serde_json::Value =
        serde_json::from_str(&get(addr, "/api/v10/gateway/bot")).unwrap();
    assert_eq!(gateway["url"], format!("ws://{addr}"));
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}

/// Runs the peer by hand for a quick check with real clients:
/// `PEER_LISTEN=127.0.0.1:8080 PEER_WORKERS=2 cargo test --release -p bench --test
/// peer_fans_out_every_message -- --ignored --nocapture serve_peer_by_hand`.
/// It serves until interrupted.
#[test]
#[ignore = "serves until interrupted; run by hand"]
fn serve_peer_by_hand() {
    let listen = std::env::var("PEER_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let workers = std::env::var("PEER_WORKERS").map_or(1, |w| w.parse().unwrap());
    let options = bench::peer::PeerOptions {
        listen: listen.parse().unwrap(),
        workers,
    };
    bench::peer::serve(options, |addr| {
        println!("peer listening on {addr} with {workers} worker(s); Ctrl-C to stop")
    })
    .unwrap();
}
