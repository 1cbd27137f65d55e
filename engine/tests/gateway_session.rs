//! The gateway session driven through its public sans-IO API with fake time: every opcode,
//! every close code, heartbeats and zombies, Identify/READY, Resume and replay, and flow
//! control. Compression, arbitrary client bytes and the fan-out fast paths are in
//! `gateway_session_transport.rs`; the harness (`Client`) is `support/session.rs`.

mod support;

use std::sync::Arc;

use engine::gateway::*;
use serde_json::{json, Value};
use support::session::*;

// ---------------------------------------------------------------------------------------
// Hello, query, heartbeats

#[test]
fn hello_is_first_and_carries_the_configured_interval() {
    let mut c = Client::connect();
    assert!(c.frames[0].priority);
    assert_eq!(
        c.take_json(),
        vec![json!({"op": 10, "d": {"heartbeat_interval": 1000}})]
    );
    assert_eq!(
        c.wakes,
        vec![Micros(1500 * MS)],
        "zombie deadline 1.5 intervals after Hello"
    );
    let default = Session::new(Arc::new(SessionConfig::default()), "/", Micros(0));
    let mut default = default;
    let Some(Output::Send(hello)) = default.poll() else {
        panic!()
    };
    assert_eq!(
        hello.bytes.to_vec(),
        br#"{"op":10,"d":{"heartbeat_interval":41250}}"#
    );
}

#[test]
fn unsupported_query_closes_4012_without_hello() {
    for target in ["/?v=9", "/?v=10&encoding=etf", "/?v=10&compress=deflate"] {
        let c = Client::connect_with(config(), target);
        assert!(c.frames.is_empty(), "{target}");
        assert_eq!(c.close_code(), Some(4012), "{target}");
        assert_eq!(c.ended, Some(false));
    }
    let c = Client::connect_with(config(), "/?encoding=etf");
    assert!(c.closes[0].1.contains("encoding=etf"));
}

#[test]
fn heartbeat_before_identify_is_acked_at_once_with_priority() {
    let mut c = Client::connect();
    c.take_json();
    c.at_ms(10).send(r#"{"op":1,"d":null}"#);
    assert!(c.frames[0].priority);
    assert_eq!(c.take_json(), vec![json!({"op": 11, "d": null})]);
    assert_eq!(
        c.wakes.last(),
        Some(&Micros(1510 * MS)),
        "deadline moved by the heartbeat"
    );
}

#[test]
fn zombie_is_closed_4009_and_cannot_resume() {
    let mut c = Client::connect();
    c.identify();
    c.at_ms(1400).send(r#"{"op":1,"d":1}"#); // deadline -> 2900 ms
    c.tick_to_deadline(2900);
    assert_eq!(c.close_code(), Some(4009));
    assert_eq!(c.ended, Some(false));
    assert!(c.session.into_resumable(Micros(3000 * MS)).is_none());
}

/// A heartbeat handed over after the deadline but before a tick found the session silent
/// counts: the server may have read it late (busy with other connections) though it
/// arrived in time. Only a tick finds a zombie; a dispatch past the deadline does not.
#[test]
fn a_heartbeat_read_after_the_deadline_but_before_the_tick_counts() {
    let mut c = Client::connect();
    c.identify();
    c.take_json();
    c.at_ms(1600)
        .input(Input::Dispatch(&event("MESSAGE_CREATE", 1)));
    assert!(
        c.closes.is_empty(),
        "a dispatch past the deadline is not a verdict"
    );
    c.at_ms(1700).send(r#"{"op":1,"d":3}"#);
    assert!(c.closes.is_empty());
    let sent = c.take_json();
    assert_eq!(sent.last(), Some(&json!({"op": 11, "d": null})), "{sent:?}");
    assert_eq!(sent[0]["t"], "MESSAGE_CREATE");
    assert_eq!(
        c.wakes.last(),
        Some(&Micros(3200 * MS)),
        "deadline from the heartbeat"
    );
    c.tick_to_deadline(3200);
    assert_eq!(c.close_code(), Some(4009));
}

/// A connection that heartbeats but never identifies is closed with 4009 once
/// `identify_timeout_ms` has passed since Hello; heartbeats do not extend it, and a
/// session that identified in time is not affected.
#[test]
fn no_identify_within_the_timeout_closes_4009_heartbeats_or_not() {
    let config = SessionConfig {
        identify_timeout_ms: 2_500,
        ..config()
    };
    let mut c = Client::connect_with(config.clone(), "/?v=10&encoding=json");
    c.take_json();
    assert!(c.wakes.contains(&Micros(1500 * MS)), "{:?}", c.wakes);
    for ms in [1000, 2000] {
        c.at_ms(ms).send(r#"{"op":1,"d":null}"#);
        assert_eq!(c.take_json(), vec![json!({"op": 11, "d": null})]);
    }
    assert_eq!(
        c.wakes.last(),
        Some(&Micros(2500 * MS)),
        "the identify deadline"
    );
    c.tick_to_deadline(2500);
    assert_eq!(c.close_code(), Some(4009));
    assert!(
        c.closes[0].1.contains("no identify within 2500 ms"),
        "{:?}",
        c.closes
    );
    assert_eq!(c.ended, Some(false));

    let mut c = Client::connect_with(config, "/?v=10&encoding=json");
    c.at_ms(1000).send(r#"{"op":1,"d":null}"#);
    c.at_ms(2000).send(r#"{"op":1,"d":null}"#);
    c.at_ms(2400);
    c.identify();
    for ms in [3000, 4000, 5000] {
        c.at_ms(ms).send(r#"{"op":1,"d":1}"#);
        c.input(Input::Tick);
    }
    assert!(c.closes.is_empty(), "{:?}", c.closes);
}

#[test]
fn server_asks_for_a_heartbeat() {
    let mut c = Client::connect();
    c.take_json();
    c.input(Input::RequestHeartbeat);
    assert!(c.frames[0].priority);
    assert_eq!(c.take_json(), vec![json!({"op": 1, "d": null})]);
    c.identify();
    c.input(Input::RequestHeartbeat);
    assert_eq!(c.take_json(), vec![json!({"op": 1, "d": 1})]);
}

// ---------------------------------------------------------------------------------------
// Identify and READY

#[test]
fn identify_then_ready_with_everything_clients_need() {
    let mut c = Client::connect();
    c.take_json();
    c.send(
        r#"{"op":2,"d":{"token":"Bot tok","properties":{"os":"linux"},"intents":513,
           "shard":[1,2],"presence":{"status":"idle","game":{"name":"x"}}}}"#,
    );
    let Some(Output::Authenticate(request)) = c.take_others().pop() else {
        panic!()
    };
    assert_eq!(request.token, "tok");
    assert_eq!(request.shard, GatewayShard { id: 1, count: 2 });
    assert_eq!(request.intents.bits(), 513);
    // Guilds 1<<22 and 3<<22 are on shard 1 of 2; 2<<22 is on shard 0.
    c.input(Input::Identified(Box::new(identity(vec![
        1 << 22,
        2 << 22,
        3 << 22,
    ]))));
    let frames = c.take_json();
    assert_eq!(frames.len(), 1);
    let ready = &frames[0];
    assert_eq!(
        (ready["op"].clone(), ready["s"].clone(), ready["t"].clone()),
        (json!(0), json!(1), json!("READY"))
    );
    let d = &ready["d"];
    assert_eq!(d["v"], 10);
    assert_eq!(d["user"], serde_json::from_str::<Value>(USER).unwrap());
    assert_eq!(
        d["guilds"],
        json!([{"id": (1u64 << 22).to_string(), "unavailable": true},
               {"id": (3u64 << 22).to_string(), "unavailable": true}])
    );
    assert_eq!(
        d["resume_gateway_url"], "ws://127.0.0.1:9000",
        "no trailing slash"
    );
    assert_eq!(d["shard"], json!([1, 2]));
    assert_eq!(d["application"], json!({"id": "5", "flags": 0}));
    let session_id = SessionId::parse(d["session_id"].as_str().unwrap()).unwrap();
    assert_eq!(session_id.core(), 3);
    let Some(Output::Ready(info)) = c.take_others().pop() else {
        panic!()
    };
    assert_eq!(info.session_id, session_id);
    assert_eq!(info.guild_ids, vec![1 << 22, 3 << 22]);
    assert_eq!(info.presence.unwrap().status, Status::Idle);
    assert_eq!(c.session.session_id(), Some(session_id));
}

#[test]
fn identify_refusals_close_with_discords_codes() {
    type Case = (&'static str, Box<dyn Fn(&mut Client)>);
    let cases: Vec<Case> = vec![
        (
            "4004 bad token",
            Box::new(|c: &mut Client| {
                c.send(&json!({"op": 2, "d": identify_d(1)}).to_string());
                c.input(Input::AuthenticationFailed);
            }),
        ),
        (
            "4014 privileged not granted",
            Box::new(|c: &mut Client| {
                c.send(&json!({"op": 2, "d": identify_d(1 | (1 << 15))}).to_string());
                c.input(Input::Identified(Box::new(identity(vec![]))));
            }),
        ),
        (
            "4013 unknown intent",
            Box::new(|c: &mut Client| {
                c.send(&json!({"op": 2, "d": identify_d(1 << 17)}).to_string());
            }),
        ),
        (
            "4010 shard",
            Box::new(|c: &mut Client| {
                c.send(r#"{"op":2,"d":{"token":"t","properties":{},"intents":1,"shard":[2,2]}}"#);
            }),
        ),
        (
            "4011 sharding required",
            Box::new(|c: &mut Client| {
                c.send(&json!({"op": 2, "d": identify_d(1)}).to_string());
                c.input(Input::Identified(Box::new(identity(
                    (0..3).map(|g| g << 22).collect(),
                ))));
            }),
        ),
        (
            "4005 second identify",
            Box::new(|c: &mut Client| {
                c.identify();
                c.send(&json!({"op": 2, "d": identify_d(1)}).to_string());
            }),
        ),
        (
            "4005 identify while authenticating",
            Box::new(|c: &mut Client| {
                c.send(&json!({"op": 2, "d": identify_d(1)}).to_string());
                c.send(&json!({"op": 2, "d": identify_d(1)}).to_string());
            }),
        ),
        (
            "4005 resume when identified",
            Box::new(|c: &mut Client| {
                c.identify();
                c.send(r#"{"op":6,"d":{"token":"tok","session_id":"x","seq":1}}"#);
            }),
        ),
        (
            "4003 op 3 before identify",
            Box::new(|c: &mut Client| {
                c.send(
                    r#"{"op":3,"d":{"status":"online","activities":[],"afk":false,"since":null}}"#,
                );
            }),
        ),
        (
            "4003 op 8 while authenticating",
            Box::new(|c: &mut Client| {
                c.send(&json!({"op": 2, "d": identify_d(1)}).to_string());
                c.send(r#"{"op":8,"d":{"guild_id":1,"query":"","limit":0}}"#);
            }),
        ),
        (
            "4001 unknown opcode",
            Box::new(|c: &mut Client| {
                c.send(r#"{"op":5,"d":null}"#);
            }),
        ),
        (
            "4001 server opcode",
            Box::new(|c: &mut Client| {
                c.send(r#"{"op":10,"d":null}"#);
            }),
        ),
        (
            "4002 bad json",
            Box::new(|c: &mut Client| {
                c.send(r#"{"op":1,"#);
            }),
        ),
        (
            "4002 ill-typed",
            Box::new(|c: &mut Client| {
                c.send(r#"{"op":2,"d":{"token":1}}"#);
            }),
        ),
        (
            "4002 over 4096 bytes",
            Box::new(|c: &mut Client| {
                let big = format!(r#"{{"op":1,"d":null,"pad":"{}"}}"#, "x".repeat(4096));
                c.send(&big);
            }),
        ),
        (
            "4002 shell's size limit",
            Box::new(|c: &mut Client| {
                c.input(Input::PayloadTooLarge { len: 1 << 20 });
            }),
        ),
    ];
    let mut config = config();
    config.guilds_per_shard_max = 2;
    for (name, act) in cases {
        let mut c = Client::connect_with(config.clone(), "/");
        act(&mut c);
        let want: u16 = name[..4].parse().unwrap();
        assert_eq!(c.close_code(), Some(want), "{name}: {:?}", c.closes);
        assert_eq!(c.closes.len(), 1, "{name}");
        assert!(c.ended.is_some(), "{name}");
        // Nothing more comes out of an ended session.
        c.send(r#"{"op":1,"d":null}"#);
        assert_eq!(c.closes.len(), 1, "{name}");
    }
}

#[test]
fn more_than_120_payloads_in_60s_closes_4008_heartbeats_included() {
    let mut c = Client::connect();
    c.identify(); // payload 1
    for i in 0..119 {
        c.at_ms(i).send(r#"{"op":1,"d":1}"#);
    }
    assert!(c.closes.is_empty());
    c.at_ms(200).send(r#"{"op":1,"d":1}"#);
    assert_eq!(c.close_code(), Some(4008));
    assert_eq!(c.ended, Some(true), "4008 keeps the session resumable");
}

#[test]
fn payloads_spread_over_windows_are_fine() {
    let mut c = Client::connect_with(config().with_heartbeat_interval_ms(100_000), "/");
    for i in 0..360 {
        c.at_ms(i * 500).send(r#"{"op":1,"d":null}"#); // 2/s, 120 per minute
    }
    assert!(c.closes.is_empty(), "{:?}", c.closes);
}

#[test]
fn identify_rate_limited_gets_op9_false_and_may_identify_again() {
    let mut c = Client::connect();
    c.take_json();
    c.send(&json!({"op": 2, "d": identify_d(1)}).to_string());
    c.take_others();
    c.input(Input::IdentifyRateLimited);
    assert_eq!(c.take_json(), vec![json!({"op": 9, "d": false})]);
    assert!(c.closes.is_empty());
    c.identify_with(identify_d(1), identity(vec![]));
    assert_eq!(c.take_json()[0]["t"], "READY");
}

// ---------------------------------------------------------------------------------------
// Dispatch

#[test]
fn dispatches_are_numbered_per_session_and_filtered() {
    let mut c = Client::connect();
    c.identify(); // intents 513 = GUILDS | GUILD_MESSAGES, shard [0, 1]
    let message = event("MESSAGE_CREATE", 1);
    let typing = Dispatch::new(
        "TYPING_START",
        b"{}".to_vec(),
        DispatchScope::Guild(1 << 22),
        Intents::GUILD_MESSAGE_TYPING,
    );
    let dm = Dispatch::new(
        "MESSAGE_CREATE",
        b"{\"dm\":1}".to_vec(),
        DispatchScope::DirectMessage,
        Intents::DIRECT_MESSAGES | Intents::GUILD_MESSAGES,
    );
    c.input(Input::Dispatch(&message));
    c.input(Input::Dispatch(&typing)); // no intent: dropped, no seq used
    c.input(Input::Dispatch(&dm));
    c.input(Input::Dispatch(&message));
    let frames = c.take_json();
    assert_eq!(seqs(&frames), vec![2, 3, 4]);
    assert_eq!(
        frames[0],
        json!({"op": 0, "s": 2, "t": "MESSAGE_CREATE", "d": {"n": 1}})
    );
    assert_eq!(frames[1]["d"], json!({"dm": 1}));
    assert!(!c.frames.iter().any(|f| f.priority));
}

#[test]
fn shards_receive_only_their_guilds_and_dms_go_to_shard_zero() {
    let mut shard1 = Client::connect();
    shard1.take_json();
    let mut d = identify_d(1 << 9 | 1 << 12);
    d["shard"] = json!([1, 2]);
    shard1.identify_with(d, identity(vec![]));
    shard1.take_json();
    let on_shard0 = Dispatch::new(
        "MESSAGE_CREATE",
        b"{}".to_vec(),
        DispatchScope::Guild(2 << 22),
        Intents::GUILD_MESSAGES,
    );
    let on_shard1 = Dispatch::new(
        "MESSAGE_CREATE",
        b"{}".to_vec(),
        DispatchScope::Guild(3 << 22),
        Intents::GUILD_MESSAGES,
    );
    let dm = Dispatch::new(
        "MESSAGE_CREATE",
        b"{}".to_vec(),
        DispatchScope::DirectMessage,
        Intents::DIRECT_MESSAGES,
    );
    for e in [&on_shard0, &on_shard1, &dm] {
        shard1.input(Input::Dispatch(e));
    }
    assert_eq!(
        seqs(&shard1.take_json()),
        vec![2],
        "only the guild on shard 1"
    );
}

#[test]
fn client_ops_after_ready_become_outputs() {
    let mut c = Client::connect();
    c.identify();
    c.send(r#"{"op":3,"d":{"since":null,"activities":[{"name":"chess","type":0}],"status":"dnd","afk":false}}"#);
    c.send(
        r#"{"op":4,"d":{"guild_id":"4194304","channel_id":77,"self_mute":false,"self_deaf":true}}"#,
    );
    c.send(
        r#"{"op":8,"d":{"guild_id":4194304,"presences":false,"limit":0,"query":"b","nonce":"ab"}}"#,
    );
    c.send(r#"{"op":31,"d":{"guild_ids":["4194304"]}}"#);
    let outs = c.take_others();
    assert!(matches!(&outs[0], Output::PresenceUpdate(p) if p.status == Status::Dnd));
    assert!(
        matches!(&outs[1], Output::VoiceStateUpdate(v) if v.channel_id == Some(77) && v.self_deaf)
    );
    assert!(
        matches!(&outs[2], Output::RequestGuildMembers(r) if r.guild_id == 1 << 22 && r.nonce.as_deref() == Some("ab"))
    );
    assert!(matches!(&outs[3], Output::RequestSoundboardSounds(r) if r.guild_ids == vec![1 << 22]));
    assert!(c.closes.is_empty());
}

/// The op 8 requests a session hands on, after Discord's intent and shard rules.
fn member_requests(
    intents: u64,
    granted: Intents,
    shard: Option<[u32; 2]>,
    ops: &[&str],
) -> Vec<Option<RequestGuildMembers>> {
    let mut c = Client::connect();
    c.take_json();
    let mut d = identify_d(intents);
    if let Some(shard) = shard {
        d["shard"] = json!(shard);
    }
    let mut id = identity(vec![1 << 22, 2 << 22]);
    id.privileged_intents_granted = granted;
    c.identify_with(d, id);
    ops.iter()
        .map(|op| {
            c.send(op);
            assert!(c.closes.is_empty(), "{op}: {:?}", c.closes);
            let outs = c.take_others();
            assert!(outs.len() <= 1, "{outs:?}");
            outs.into_iter().next().map(|out| match out {
                Output::RequestGuildMembers(r) => r,
                other => panic!("{other:?}"),
            })
        })
        .collect()
}

#[test]
fn op8_whole_member_list_needs_guild_members_and_presences_need_guild_presences() {
    let all =
        r#"{"op":8,"d":{"guild_id":"4194304","query":"","limit":0,"presences":true,"nonce":"n"}}"#;
    let prefix = r#"{"op":8,"d":{"guild_id":4194304,"query":"ab","limit":5,"presences":true}}"#;
    let ids = r#"{"op":8,"d":{"guild_id":4194304,"user_ids":["7",8],"presences":false}}"#;
    // GUILDS | GUILD_MESSAGES: no privileged intents.
    let plain = member_requests(513, Intents::empty(), None, &[all, prefix, ids]);
    assert_eq!(
        plain[0], None,
        "no chunk for the whole list without GUILD_MEMBERS"
    );
    let p = plain[1]
        .as_ref()
        .expect("a prefix query needs no privileged intent");
    assert_eq!(
        (p.query.as_deref(), p.limit, p.presences),
        (Some("ab"), 5, false)
    );
    assert_eq!(plain[2].as_ref().unwrap().user_ids, Some(vec![7, 8]));
    // With GUILD_MEMBERS and GUILD_PRESENCES (granted): everything goes through.
    let privileged = member_requests(513 | 2 | 256, Intents::PRIVILEGED, None, &[all, prefix]);
    let all_request = privileged[0]
        .as_ref()
        .expect("whole list with GUILD_MEMBERS");
    assert!(all_request.presences);
    assert_eq!(all_request.nonce.as_deref(), Some("n"));
    assert!(privileged[1].as_ref().unwrap().presences);
    // GUILD_MEMBERS without GUILD_PRESENCES: the list, without presences.
    let members_only = member_requests(513 | 2, Intents::PRIVILEGED, None, &[all]);
    assert!(!members_only[0].as_ref().unwrap().presences);
}

#[test]
fn op8_for_a_guild_on_another_gateway_shard_is_not_answered() {
    // Shard [1, 2] carries guild 1 << 22, not 2 << 22.
    let theirs = r#"{"op":8,"d":{"guild_id":8388608,"user_ids":"7"}}"#;
    let ours = r#"{"op":8,"d":{"guild_id":4194304,"user_ids":"7"}}"#;
    let got = member_requests(513, Intents::empty(), Some([1, 2]), &[theirs, ours]);
    assert_eq!(got[0], None);
    assert_eq!(got[1].as_ref().unwrap().guild_id, 1 << 22);
}

#[test]
fn op3_and_op8_close_codes() {
    // Before Identify: 4003 not authenticated.
    for op in [
        r#"{"op":3,"d":{"since":null,"activities":[],"status":"idle","afk":false}}"#,
        r#"{"op":8,"d":{"guild_id":1,"query":"","limit":0}}"#,
    ] {
        let mut c = Client::connect();
        c.send(op);
        assert_eq!(c.close_code(), Some(4003), "{op}");
    }
    // Malformed once live: 4002 decode error.
    for op in [
        r#"{"op":3,"d":{"since":null,"activities":[],"status":"away","afk":false}}"#,
        r#"{"op":3,"d":{"activities":[]}}"#,
        r#"{"op":3,"d":{"status":"idle","activities":[{"type":0}]}}"#,
        r#"{"op":3,"d":{"status":"idle","since":-5}}"#,
        r#"{"op":8,"d":{"guild_id":1}}"#,
        r#"{"op":8,"d":{"query":""}}"#,
        r#"{"op":8,"d":{"guild_id":1,"query":"","limit":-1}}"#,
        r#"{"op":8,"d":{"guild_id":1,"user_ids":[true]}}"#,
    ] {
        let mut c = Client::connect();
        c.identify();
        c.send(op);
        assert_eq!(c.close_code(), Some(4002), "{op}");
        assert_eq!(c.ended, Some(true), "4002 is resumable");
    }
    // A flood of op 8 is bounded by the command limit: 4008.
    let mut c = Client::connect();
    c.identify(); // payload 1
    for i in 0..119 {
        c.at_ms(i)
            .send(r#"{"op":8,"d":{"guild_id":4194304,"user_ids":"7"}}"#);
    }
    assert_eq!(c.take_others().len(), 119);
    assert!(c.closes.is_empty());
    c.at_ms(200)
        .send(r#"{"op":8,"d":{"guild_id":4194304,"user_ids":"7"}}"#);
    assert_eq!(c.close_code(), Some(4008));
    assert!(
        c.take_others().is_empty(),
        "the refused request is not answered"
    );
}

/// A 1000-member chunk is larger than the send window; several of them exceed the replay
/// ring. Fed as ordinary dispatches they push unsent ones out of the ring (4000); paced,
/// they go out one by one as the shell reports bytes written, in order, and the session
/// stays open.
#[test]
fn paced_dispatches_wait_for_the_ring_to_drain() {
    let small = SessionConfig {
        send_window_bytes: 10_000,
        replay_ring_bytes_max: 50_000,
        ..config()
    };
    let chunk = |n: u64| {
        let d = json!({"n": n, "pad": "x".repeat(30_000)})
            .to_string()
            .into_bytes();
        Dispatch::new(
            "GUILD_MEMBERS_CHUNK",
            d,
            DispatchScope::Guild(1 << 22),
            Intents::empty(),
        )
    };
    let mut flood = Client::connect_with(small.clone(), "/?v=10&encoding=json");
    flood.identify();
    for n in 0..5 {
        flood.input(Input::Dispatch(&chunk(n)));
    }
    assert_eq!(
        flood.close_code(),
        Some(4000),
        "unsent events were pushed out"
    );

    let mut paced = Client::connect_with(small, "/?v=10&encoding=json");
    paced.identify();
    for n in 0..5 {
        paced.input(Input::DispatchPaced(chunk(n)));
    }
    let mut got = Vec::new();
    for _ in 0..10 {
        let frames = paced.take_json();
        let written: usize = frames.iter().map(|f| f.to_string().len()).sum();
        got.extend(frames);
        if got.len() == 5 {
            break;
        }
        paced.input(Input::Written {
            bytes: written.max(1) + 1000,
        });
    }
    assert!(paced.closes.is_empty(), "{:?}", paced.closes);
    let ns: Vec<u64> = got.iter().map(|f| f["d"]["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, vec![0, 1, 2, 3, 4]);
    assert_eq!(seqs(&got), vec![2, 3, 4, 5, 6], "after READY, in order");
}

// ---------------------------------------------------------------------------------------
// Resume

/// A live session that identified and received READY + 3 events (s 2, 3, 4), and its id.
fn live_with_history() -> (Client, String) {
    let mut c = Client::connect();
    let ready = c.identify();
    let session_id = ready[0]["d"]["session_id"].as_str().unwrap().to_string();
    for n in 0..3 {
        c.input(Input::Dispatch(&event("MESSAGE_CREATE", n)));
    }
    assert_eq!(seqs(&c.take_json()), vec![2, 3, 4]);
    (c, session_id)
}

/// Identifies, receives READY + 3 events, drops with `code`, returns the detached state.
fn session_with_history(code: Option<u16>) -> (ResumableState, String) {
    let (mut c, session_id) = live_with_history();
    c.at_ms(100).input(Input::SocketClosed { code });
    assert_eq!(c.ended, Some(true));
    let state = c.session.into_resumable(c.now).unwrap();
    assert_eq!(state.expires_at(), Micros(100 * MS + 120_000 * MS));
    (state, session_id)
}

fn resume(session_id: &str, token: &str, seq: u64) -> String {
    json!({"op": 6, "d": {"token": token, "session_id": session_id, "seq": seq}}).to_string()
}

/// A new connection that asks to resume `session_id` from `seq` with `token` and is
/// handed `state` (as the caller hands the detached state it found).
fn resumed_with(state: ResumableState, session_id: &str, token: &str, seq: u64) -> Client {
    let mut c = Client::connect();
    c.take_json();
    c.send(&resume(session_id, token, seq));
    c.take_others();
    c.input(Input::ResumeFound(Box::new(state)));
    c
}

#[test]
fn resume_replays_missed_dispatches_in_order_then_resumed() {
    let (mut state, session_id) = session_with_history(Some(4000));
    // Two more events arrive while detached.
    state.handle_dispatch(&event("MESSAGE_CREATE", 10));
    state.handle_dispatch(&event("MESSAGE_UPDATE", 11));
    assert_eq!(state.seq_last(), 6);
    let mut c = Client::connect();
    c.take_json();
    c.at_ms(200).send(&resume(&session_id, "Bot tok", 3)); // the client saw up to s=3
    let Some(Output::Resume { session_id: asked }) = c.take_others().pop() else {
        panic!()
    };
    assert_eq!(asked.to_string(), session_id);
    assert_eq!(asked.core(), 3, "the caller routes the lookup to core 3");
    c.input(Input::ResumeFound(Box::new(state)));
    let frames = c.take_json();
    assert_eq!(seqs(&frames), vec![4, 5, 6, 7]);
    assert_eq!(frames[0]["d"], json!({"n": 2}));
    assert_eq!(frames[1]["d"], json!({"n": 10}));
    assert_eq!(frames[2]["t"], "MESSAGE_UPDATE");
    assert_eq!(frames[3], json!({"op": 0, "s": 7, "t": "RESUMED", "d": {}}));
    assert!(
        matches!(c.take_others().as_slice(), [Output::Resumed(info)] if info.session_id.to_string() == session_id)
    );
    // Live again: new events continue the sequence.
    c.input(Input::Dispatch(&event("MESSAGE_CREATE", 12)));
    assert_eq!(seqs(&c.take_json()), vec![8]);
    assert_eq!(c.session.session_id().unwrap().to_string(), session_id);
}

/// Identifies, receives READY + 3 events, acknowledges s=3 by heartbeat, receives one
/// more, drops: the detached state and the session id.
fn session_with_acknowledged_history() -> (ResumableState, String) {
    let (mut c, session_id) = live_with_history();
    // A confused client acknowledging more than it was sent frees only what was sent.
    c.send(r#"{"op":1,"d":3}"#);
    c.send(r#"{"op":1,"d":99}"#);
    assert_eq!(c.take_json(), vec![json!({"op": 11, "d": null}); 2]);
    c.input(Input::Dispatch(&event("MESSAGE_CREATE", 3)));
    assert_eq!(seqs(&c.take_json()), vec![5]);
    c.input(Input::SocketClosed { code: Some(4000) });
    let state = c.session.into_resumable(c.now).unwrap();
    assert_eq!(state.seq_last(), 5);
    (state, session_id)
}

#[test]
fn a_heartbeat_lets_go_of_what_the_client_has_and_resume_starts_after_it() {
    // Resuming from the last one the client had replays only what it lacks.
    let (state, session_id) = session_with_acknowledged_history();
    let mut again = resumed_with(state, &session_id, "tok", 4);
    let frames = again.take_json();
    assert_eq!(seqs(&frames), vec![5, 6]);
    assert_eq!(frames[0]["d"], json!({"n": 3}));
    assert_eq!(frames[1]["t"], "RESUMED");
    // A Resume from before what was acknowledged is refused: those events are gone.
    let (state, session_id) = session_with_acknowledged_history();
    let mut old = resumed_with(state, &session_id, "tok", 2);
    assert_eq!(old.take_json(), vec![json!({"op": 9, "d": false})]);
}

/// READY leaves the ring once it is sent: a client with the session id got it, so a
/// Resume from s=1 replays what came after, and one from s=0 (a READY it claims it lacks)
/// is refused, where it used to be replayed until the first heartbeat.
#[test]
fn ready_is_never_replayed() {
    let (state, session_id) = session_with_history(Some(4000));
    let mut c = resumed_with(state, &session_id, "tok", 1);
    assert_eq!(seqs(&c.take_json()), vec![2, 3, 4, 5]);

    let (state, session_id) = session_with_history(Some(4000));
    let mut c = resumed_with(state, &session_id, "tok", 0);
    assert_eq!(c.take_json(), vec![json!({"op": 9, "d": false})]);
}

#[test]
fn resume_with_nothing_missed_sends_only_resumed() {
    let (state, session_id) = session_with_history(None);
    let mut c = resumed_with(state, &session_id, "tok", 4);
    assert_eq!(
        c.take_json(),
        vec![json!({"op": 0, "s": 5, "t": "RESUMED", "d": {}})]
    );
}

#[test]
fn resume_refusals() {
    // Wrong token: op 9 false, and the state goes back to the caller intact.
    let (state, session_id) = session_with_history(Some(4200));
    let mut c = resumed_with(state, &session_id, "other", 4);
    assert_eq!(c.take_json(), vec![json!({"op": 9, "d": false})]);
    let Some(Output::DetachedReturned(state)) = c.take_others().pop() else {
        panic!()
    };
    assert_eq!(state.seq_last(), 4);
    assert!(
        c.closes.is_empty(),
        "the client may identify on this connection"
    );

    // Seq ahead of anything sent: 4007, and the state is gone.
    let mut c = Client::connect();
    c.send(&resume(&session_id, "tok", 5));
    c.take_others();
    c.input(Input::ResumeFound(state));
    assert_eq!(c.close_code(), Some(4007));
    assert!(c.take_others().is_empty());

    // Unknown session.
    let mut c = Client::connect();
    c.take_json();
    c.send(&resume(&SessionId::new(1, 9).to_string(), "tok", 1));
    c.input(Input::ResumeNotFound);
    assert_eq!(c.take_json(), vec![json!({"op": 9, "d": false})]);

    // Not even a session id: op 9 without asking the caller.
    let mut c = Client::connect();
    c.take_json();
    c.send(&resume("nope", "tok", 1));
    assert!(c.take_others().is_empty());
    assert_eq!(c.take_json(), vec![json!({"op": 9, "d": false})]);

    // Expired.
    let (state, session_id) = session_with_history(Some(4000));
    let mut c = Client::connect_with(config().with_heartbeat_interval_ms(1_000_000), "/");
    c.take_json();
    c.at_ms(100 + 120_000).send(&resume(&session_id, "tok", 4));
    c.input(Input::ResumeFound(Box::new(state)));
    assert_eq!(c.take_json(), vec![json!({"op": 9, "d": false})]);
}

#[test]
fn resume_older_than_the_ring_gets_op9_false() {
    let mut config = config();
    config.replay_ring_len_max = 3;
    let mut c = Client::connect_with(config.clone(), "/");
    let ready = c.identify();
    let session_id = ready[0]["d"]["session_id"].as_str().unwrap().to_string();
    for n in 0..4 {
        c.input(Input::Dispatch(&event("MESSAGE_CREATE", n)));
    }
    c.input(Input::SocketClosed { code: Some(4000) });
    let state = c.session.into_resumable(c.now).unwrap(); // ring holds s = 3, 4, 5
    let mut c = Client::connect_with(config.clone(), "/");
    c.take_json();
    c.send(&resume(&session_id, "tok", 1)); // needs s = 2: dropped
    c.input(Input::ResumeFound(Box::new(state)));
    assert_eq!(c.take_json(), vec![json!({"op": 9, "d": false})]);
}

#[test]
fn resume_near_the_oldest_kept_event_works() {
    let mut config = config();
    config.replay_ring_len_max = 3;
    let mut c = Client::connect_with(config.clone(), "/");
    let ready = c.identify();
    let session_id = ready[0]["d"]["session_id"].as_str().unwrap().to_string();
    for n in 0..4 {
        c.input(Input::Dispatch(&event("MESSAGE_CREATE", n)));
    }
    c.input(Input::SocketClosed { code: None });
    let state = c.session.into_resumable(c.now).unwrap();
    let mut c = Client::connect_with(config, "/");
    c.take_json();
    c.send(&resume(&session_id, "tok", 3)); // ring holds 3, 4, 5; RESUMED will push out 3
    c.input(Input::ResumeFound(Box::new(state)));
    assert_eq!(seqs(&c.take_json()), vec![4, 5, 6]);
}

#[test]
fn client_close_1000_or_1001_ends_the_session_anything_else_keeps_it() {
    for (code, resumable) in [
        (Some(1000), false),
        (Some(1001), false),
        (Some(4000), true),
        (Some(4200), true),
        (Some(1006), true),
        (None, true),
    ] {
        let mut c = Client::connect();
        c.identify();
        c.input(Input::SocketClosed { code });
        assert_eq!(c.ended, Some(resumable), "{code:?}");
        assert_eq!(
            c.session.into_resumable(Micros(0)).is_some(),
            resumable,
            "{code:?}"
        );
    }
    // Before identify there is nothing to resume.
    let mut c = Client::connect();
    c.input(Input::SocketClosed { code: Some(4000) });
    assert_eq!(c.ended, Some(false));
}

#[test]
fn a_resume_answer_after_the_connection_closed_is_handed_back() {
    let (state, session_id) = session_with_history(Some(4000));
    let mut c = Client::connect();
    c.send(&resume(&session_id, "tok", 4));
    c.input(Input::SocketClosed { code: None });
    c.take_others();
    c.input(Input::ResumeFound(Box::new(state)));
    assert!(matches!(
        c.take_others().as_slice(),
        [Output::DetachedReturned(_)]
    ));
}

#[test]
fn reconnect_sends_op7_then_closes_resumably() {
    let mut c = Client::connect();
    c.identify();
    c.input(Input::Reconnect);
    let frames = c.take_json();
    assert_eq!(frames, vec![json!({"op": 7, "d": null})]);
    assert_eq!(c.close_code(), Some(4000));
    assert_eq!(c.ended, Some(true));
    assert!(c.session.into_resumable(Micros(0)).is_some());
}

// ---------------------------------------------------------------------------------------
// Flow control and slow consumers

#[test]
fn acks_are_not_held_behind_dispatches_and_written_reopens_the_window() {
    let mut config = config();
    config.send_window_bytes = 300;
    let mut c = Client::connect_with(config, "/");
    c.identify(); // Hello + READY already exceed the window
    for n in 0..5 {
        c.input(Input::Dispatch(&event("MESSAGE_CREATE", n)));
    }
    assert!(
        c.take_json().is_empty(),
        "window full: dispatches wait in the ring"
    );
    c.send(r#"{"op":1,"d":1}"#);
    assert_eq!(
        c.take_json(),
        vec![json!({"op": 11, "d": null})],
        "the ACK goes out anyway"
    );
    c.input(Input::Written { bytes: 100_000 });
    assert_eq!(seqs(&c.take_json()), vec![2, 3, 4, 5, 6]);
}

#[test]
fn a_consumer_stuck_past_the_grace_is_closed_resumably() {
    let mut config = config().with_heartbeat_interval_ms(100_000);
    config.send_window_bytes = 300;
    config.slow_consumer_grace_ms = 5000;
    let mut c = Client::connect_with(config, "/");
    c.identify();
    c.at_ms(1000)
        .input(Input::Dispatch(&event("MESSAGE_CREATE", 0)));
    assert_eq!(
        c.wakes.last(),
        Some(&Micros(6000 * MS)),
        "wake for the slow-consumer deadline"
    );
    c.tick_to_deadline(6000);
    assert_eq!(c.close_code(), Some(4000));
    assert_eq!(c.ended, Some(true));
    let state = c.session.into_resumable(c.now).unwrap();
    assert_eq!(state.seq_last(), 2, "the ring kept what it missed");
}

#[test]
fn ring_overflow_of_unsent_events_closes_the_connection() {
    let mut config = config();
    config.send_window_bytes = 1; // Hello fills it: READY and the rest wait
    config.replay_ring_len_max = 5;
    let mut c = Client::connect_with(config, "/");
    c.identify();
    for n in 0..4 {
        c.input(Input::Dispatch(&event("MESSAGE_CREATE", n)));
    }
    assert!(c.closes.is_empty());
    c.input(Input::Dispatch(&event("MESSAGE_CREATE", 4)));
    assert_eq!(c.close_code(), Some(4000));
}
