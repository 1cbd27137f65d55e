//! The load generator's session primitives against a real Flux child process: measured
//! windows pass their exactly-once checks, sessions dropped abruptly RESUME and get every
//! post they missed replayed, and after a server crash (SIGKILL) and restart on the same
//! data dir every session IDENTIFYs again and receives new posts.

use std::time::Duration;

use bench::loadgen::{Fleet, Plan, Window};
use bench::servers::{FluxDataDir, ServerKind, ServerProcess};

const SESSIONS: usize = 8;

fn flux(data_dir: &FluxDataDir) -> ServerProcess {
    let cpus = bench::placement::allowed_cpus();
    let kind = ServerKind::Flux {
        cores: 1,
        data_dir: data_dir.path.clone(),
        io: engine::IoBackend::Epoll,
        listen: None,
        heartbeat_interval_ms: None,
    };
    ServerProcess::spawn(env!("CARGO_BIN_EXE_bench").as_ref(), &kind, &cpus[..1])
        .expect("Flux starts")
}

fn window(posts: u32) -> Window {
    Window {
        rate_per_s: f64::from(posts) * 5.0,
        duration: Duration::from_millis(200),
    }
}

#[test]
fn sessions_resume_and_reidentify_without_losing_an_acknowledged_post() {
    let data_dir = FluxDataDir::seed(SESSIONS).expect("seeding");
    let mut server = flux(&data_dir);
    let world = &data_dir.world;
    let plan = Plan {
        session_tokens: world.session_tokens.clone(),
        publisher_token: world.publisher_token.clone(),
        channel_id: world.text_channel_id.0.to_string(),
        publishers: 2,
        sources: 3,
        server_pid: Some(server.pid),
        ..Plan::new(server.addr, SESSIONS)
    };
    let mut fleet = Fleet::connect(&plan, None).expect("every session READY");
    assert_eq!(fleet.sessions_live(), SESSIONS);
    fleet.warm_up().expect("warm-up reaches every session");

    let measured = fleet.publish(window(20)).expect("a clean window passes");
    assert_eq!(measured.posts_scheduled, 20);
    assert_eq!(measured.posts_acked, 20);
    assert_eq!(measured.deliveries, 20 * SESSIONS as u64);
    assert_eq!(measured.post_ns.len(), 20);
    assert_eq!(measured.delivery_ns.len(), 20 * SESSIONS as u64);
    assert!(measured.server_cpu_s.is_some());
    let rss = server.rss().expect("the server's memory");
    assert!(rss.total_bytes > 1 << 20, "{rss:?}");

    // Every connection drops; posts made meanwhile must come back through RESUME.
    fleet.drop_connections().expect("every session drops");
    assert_eq!(fleet.sessions_live(), 0);
    let posted = fleet
        .post(window(15))
        .expect("posts answered while nobody listens");
    assert_eq!(posted.acked(), 15);
    let rejoined = fleet.resume().expect("every session RESUMED");
    assert_eq!(rejoined.sessions, SESSIONS);
    assert!(rejoined.replayed >= 15 * SESSIONS as u64, "{rejoined:?}");
    let measured = fleet
        .await_deliveries(posted)
        .expect("nothing lost across the resume");
    assert_eq!(measured.deliveries, 15 * SESSIONS as u64);

    // A crash: sessions lose their server; a new one on the same data takes IDENTIFY.
    server.kill().expect("SIGKILL");
    let server = flux(&data_dir);
    let rejoined = fleet
        .identify_again(server.addr)
        .expect("every session READY again");
    assert_eq!(rejoined.sessions, SESSIONS);
    assert_eq!(rejoined.replayed, 0);
    let measured = fleet
        .publish(window(10))
        .expect("the restarted server delivers");
    assert_eq!(measured.deliveries, 10 * SESSIONS as u64);
    fleet.close();
}

/// Many publishers pipelining posts to one channel: however many connect, the core lets a
/// bounded number of requests into the application at once, so one group commit's burst of
/// events fits every session's replay ring and no session that reads is closed with 4000.
/// (With a bound per connection only, 150 publishers pipelining 8 posts each closed them.)
#[test]
fn a_burst_from_many_pipelining_publishers_closes_no_session() {
    const PUBLISHERS: usize = 150;
    let data_dir = FluxDataDir::seed(SESSIONS).expect("seeding");
    let server = flux(&data_dir);
    let world = &data_dir.world;
    let plan = Plan {
        session_tokens: world.session_tokens.clone(),
        publisher_token: world.publisher_token.clone(),
        channel_id: world.text_channel_id.0.to_string(),
        publishers: PUBLISHERS,
        sources: 3,
        server_pid: Some(server.pid),
        ..Plan::new(server.addr, SESSIONS)
    };
    let mut fleet = Fleet::connect(&plan, None).expect("every session READY");
    fleet.warm_up().expect("warm-up reaches every session");
    // Far more than the server takes in 300 ms: every publisher keeps 64 posts in flight.
    let posts = 30 * PUBLISHERS as u32;
    let measured = fleet
        .publish(Window {
            rate_per_s: f64::from(posts) / 0.3,
            duration: Duration::from_millis(300),
        })
        .expect("every acknowledged post reaches every session, and none is closed");
    assert_eq!(measured.posts_acked, u64::from(posts));
    assert_eq!(measured.deliveries, u64::from(posts) * SESSIONS as u64);
    assert_eq!(fleet.sessions_live(), SESSIONS);
    fleet.close();
}
