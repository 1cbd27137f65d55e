//! Back-pressure across cores, on the real Flux application with two cores (once per I/O
//! backend): one core stops taking mesh messages (the test hook stalls it for 3 s) while
//! a client posts, one message at a time, to a channel the other core owns. The owner
//! acknowledges each post once it is durable and sends its run of events to every core,
//! so its runs for the stalled core queue in its mesh overflow. Once more of them wait than
//! a ring holds, the owner reads no new HTTP request until the stalled core has taken half:
//! the queue stays within a ring and a few messages (`Stats::mesh_overflow_peak`), instead
//! of growing with every post. Nothing is lost: every post is answered 200, and a session
//! receives every message once, in order.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;
use support::gateway::{post, Gateway, INTENTS_DEFAULT};
use support::rest::call_on;
use support::{start_flux, HttpClient};

/// Slots in each mesh ring, small so a test can fill one.
const RING: usize = 16;
/// Posts made one after another while the other core is stalled.
const POSTS: usize = 200;

fn a_stalled_core_holds_back_the_posts_that_feed_it(io: engine::IoBackend) {
    let server = start_flux(io, |config| {
        config.cores = Some(2);
        config.limits.mesh_ring_len = RING;
        config.limits.rest_rate_limits = false;
    });
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let bot = &boot.bots[0];
    let guild_id: u64 = boot.guild_id.parse().unwrap();
    let owner = ((guild_id >> 22) % 2) as usize;
    let stalled = 1 - owner;
    let (mut gateway, _) = Gateway::connect(addr);
    gateway.identify_ready(&bot.token, INTENTS_DEFAULT, 1);

    let stall = std::thread::spawn(move || {
        post(
            addr,
            "/_flux/test/stall",
            &json!({"ms": 3_000, "core": stalled}),
        )
    });
    std::thread::sleep(Duration::from_millis(100));
    // A connection on the owner core: the stalled core answers nothing meanwhile.
    let mut http = connection_on_a_live_core(addr);
    let path = format!("/api/v10/channels/{}/messages", boot.text_channel_id);
    // The longest a post waited for its answer, and how many were answered before it.
    let (mut longest, mut answered_before) = (Duration::ZERO, 0);
    for i in 0..POSTS {
        let body = json!({"content": format!("post {i}")});
        let asked = Instant::now();
        let answer = call_on(&mut http, "POST", &path, &bot.token, Some(&body));
        assert_eq!(answer.status, 200, "post {i}: {answer:?}");
        if asked.elapsed() > longest {
            (longest, answered_before) = (asked.elapsed(), i);
        }
    }
    assert_eq!(stall.join().unwrap().status, 200);
    // The owner answered posts while the other core slept, so their runs for it queued
    // up; past a ring's worth it held the next post back until that core woke.
    assert!(
        longest >= Duration::from_millis(300) && answered_before >= RING,
        "no post was held back after the ring filled: the longest wait was {longest:?}, \
         after {answered_before} posts"
    );
    let peak = server.stats().mesh_overflow_peak;
    assert!(
        (RING..=RING + 8).contains(&peak),
        "the mesh overflow reached {peak} messages with rings of {RING}"
    );

    for i in 0..POSTS {
        let event = gateway.recv_named("MESSAGE_CREATE");
        assert_eq!(event["d"]["content"], format!("post {i}"), "{event}");
    }
}
both_backends!(
    a_stalled_core_holds_back_the_posts_that_feed_it,
    a_stalled_core_holds_back_the_posts_that_feed_it
);

/// A keep-alive connection that a core answers within 200 ms (so not the stalled one),
/// found by asking `GET /api/v10/gateway` on fresh connections.
fn connection_on_a_live_core(addr: std::net::SocketAddr) -> HttpClient {
    for _ in 0..32 {
        let mut stream = support::connect(addr);
        stream
            .write_all(b"GET /api/v10/gateway HTTP/1.1\r\nHost: flux\r\n\r\n")
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        // `peek` waits for the answer's first bytes without taking them.
        let answered = stream.peek(&mut [0u8; 1]).is_ok_and(|n| n > 0);
        stream.set_read_timeout(None).unwrap();
        if answered {
            let mut client = HttpClient::from_stream(stream);
            assert_eq!(client.read_response().unwrap().status, 200);
            return client;
        }
    }
    panic!("no connection reached a core that answers");
}
