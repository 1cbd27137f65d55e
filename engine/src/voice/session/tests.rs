//! The voice session's rules, driven in virtual time.

use serde_json::{json, Value};

use super::*;

const IDENTIFY: &[u8] =
    br#"{"op":0,"d":{"server_id":"1","user_id":"2","session_id":"s","token":"t"}}"#;
const SELECT: &[u8] = br#"{"op":1,"d":{"protocol":"udp","data":{"address":"127.0.0.1","port":5000,"mode":"aead_xchacha20_poly1305_rtpsize"}}}"#;

fn drain(session: &mut VoiceSession) -> Vec<VoiceOutput> {
    std::iter::from_fn(|| session.poll()).collect()
}

fn sent(outputs: &[VoiceOutput]) -> Vec<Value> {
    outputs
        .iter()
        .filter_map(|o| match o {
            VoiceOutput::Send(text) => Some(serde_json::from_str(text).unwrap()),
            _ => None,
        })
        .collect()
}

fn closed(outputs: &[VoiceOutput]) -> Option<u16> {
    outputs.iter().find_map(|o| match o {
        VoiceOutput::Close(code) => Some(code.code()),
        _ => None,
    })
}

/// A session through Identify, Ready, Select Protocol and Session Description.
fn streaming(now: u64) -> VoiceSession {
    let mut session = VoiceSession::new(VoiceSessionConfig::default(), now);
    session.handle(now, VoiceInput::Message(IDENTIFY));
    session.handle(
        now,
        VoiceInput::Admitted {
            ssrc: 7,
            ip: "127.0.0.1",
            port: 4000,
        },
    );
    session.handle(now, VoiceInput::Message(SELECT));
    session.handle(
        now,
        VoiceInput::Keyed {
            mode: MODES[0],
            secret_key: [9; 32],
        },
    );
    drain(&mut session);
    assert!(session.is_streaming());
    session
}

#[test]
fn the_handshake_runs_in_discord_py_order() {
    let mut session = VoiceSession::new(VoiceSessionConfig::default(), 0);
    // discord.py sends Identify before it reads Hello.
    session.handle(1, VoiceInput::Message(IDENTIFY));
    let outputs = drain(&mut session);
    assert_eq!(sent(&outputs)[0]["op"], 8, "Hello first");
    let identify = outputs.iter().find_map(|o| match o {
        VoiceOutput::Identify(i) => Some(i.clone()),
        _ => None,
    });
    assert_eq!(identify.unwrap().server_id, 1);
    session.handle(
        2,
        VoiceInput::Admitted {
            ssrc: 7,
            ip: "127.0.0.1",
            port: 4000,
        },
    );
    let ready = sent(&drain(&mut session));
    assert_eq!(
        (ready[0]["op"].as_u64(), ready[0]["d"]["ssrc"].as_u64()),
        (Some(2), Some(7))
    );
    assert_eq!(session.ssrc(), Some(7));
    session.handle(3, VoiceInput::Message(SELECT));
    assert!(drain(&mut session)
        .iter()
        .any(|o| matches!(o, VoiceOutput::SelectProtocol(s) if s.port == 5000)));
    session.handle(
        4,
        VoiceInput::Keyed {
            mode: MODES[0],
            secret_key: [9; 32],
        },
    );
    let description = sent(&drain(&mut session));
    assert_eq!(description[0]["op"], 4);
    assert_eq!(description[0]["d"]["secret_key"][0], 9);
    session.handle(
        5,
        VoiceInput::Message(br#"{"op":5,"d":{"speaking":1,"delay":0,"ssrc":7}}"#),
    );
    let relayed: Vec<VoiceOutput> = drain(&mut session)
        .into_iter()
        .filter(|o| !matches!(o, VoiceOutput::WakeAt(_)))
        .collect();
    assert_eq!(
        relayed,
        vec![VoiceOutput::Speaking {
            speaking: 1,
            ssrc: 7
        }]
    );
    session.handle(
        6,
        VoiceInput::Message(br#"{"op":3,"d":{"t":42,"seq_ack":-1}}"#),
    );
    assert_eq!(
        sent(&drain(&mut session))[0],
        json!({"op": 6, "d": {"t": 42}})
    );
}

#[test]
fn rules_broken_close_with_discords_codes() {
    let close_after = |messages: &[&[u8]], admitted: bool| {
        let mut session = VoiceSession::new(VoiceSessionConfig::default(), 0);
        let mut outputs = Vec::new();
        for (i, message) in messages.iter().enumerate() {
            session.handle(i as u64, VoiceInput::Message(message));
            if admitted && i == 0 {
                session.handle(
                    0,
                    VoiceInput::Admitted {
                        ssrc: 7,
                        ip: "a",
                        port: 1,
                    },
                );
            }
            outputs.extend(drain(&mut session));
        }
        closed(&outputs)
    };
    assert_eq!(close_after(&[SELECT], false), Some(4003), "before Identify");
    assert_eq!(close_after(&[IDENTIFY, IDENTIFY], true), Some(4005));
    let other_protocol = br#"{"op":1,"d":{"protocol":"webrtc","data":{"address":"a","port":1,"mode":"aead_xchacha20_poly1305_rtpsize"}}}"#;
    assert_eq!(close_after(&[IDENTIFY, other_protocol], true), Some(4012));
    let old_mode = br#"{"op":1,"d":{"protocol":"udp","data":{"address":"a","port":1,"mode":"xsalsa20_poly1305"}}}"#;
    assert_eq!(close_after(&[IDENTIFY, old_mode], true), Some(4016));
    let foreign_ssrc = br#"{"op":5,"d":{"speaking":1,"delay":0,"ssrc":8}}"#;
    assert_eq!(close_after(&[IDENTIFY, foreign_ssrc], true), Some(4020));
    assert_eq!(close_after(&[b"{"], false), Some(4002));
    let mut refused = VoiceSession::new(VoiceSessionConfig::default(), 0);
    refused.handle(0, VoiceInput::Message(IDENTIFY));
    refused.handle(0, VoiceInput::Refused(VoiceCloseCode::AuthenticationFailed));
    refused.handle(0, VoiceInput::Message(SELECT));
    let outputs = drain(&mut refused);
    assert_eq!(closed(&outputs), Some(4004));
    assert!(
        matches!(outputs.last(), Some(VoiceOutput::Close(_))),
        "nothing after a close"
    );
}

#[test]
fn silence_and_a_missing_identify_time_out() {
    let config = VoiceSessionConfig::default();
    let mut quiet = VoiceSession::new(config.clone(), 0);
    let wake = drain(&mut quiet)
        .into_iter()
        .find_map(|o| match o {
            VoiceOutput::WakeAt(at) => Some(at),
            _ => None,
        })
        .unwrap();
    assert_eq!(wake, config.identify_timeout_ms);
    quiet.handle(wake - 1, VoiceInput::Tick);
    assert_eq!(closed(&drain(&mut quiet)), None);
    quiet.handle(wake, VoiceInput::Tick);
    assert_eq!(closed(&drain(&mut quiet)), Some(4009));

    let mut session = streaming(0);
    let interval = config.heartbeat_interval_ms;
    session.handle(interval, VoiceInput::Message(br#"{"op":3,"d":{"t":1}}"#));
    session.handle(3 * interval - 1, VoiceInput::Tick);
    assert_eq!(closed(&drain(&mut session)), None, "heard at one interval");
    session.handle(3 * interval, VoiceInput::Tick);
    assert_eq!(closed(&drain(&mut session)), Some(4009));
}

#[test]
fn a_flood_is_closed_with_4021() {
    let config = VoiceSessionConfig::default();
    let mut session = streaming(0);
    // Identify and Select Protocol were the first two of the window.
    for _ in 0..config.messages_per_window_max - 2 {
        session.handle(1, VoiceInput::Message(br#"{"op":3,"d":{"t":1}}"#));
    }
    assert_eq!(closed(&drain(&mut session)), None);
    session.handle(1, VoiceInput::Message(br#"{"op":3,"d":{"t":1}}"#));
    assert_eq!(closed(&drain(&mut session)), Some(4021));
}

#[test]
fn resume_resends_what_the_client_missed() {
    let mut session = streaming(0);
    for user in 1..=3 {
        session.handle(
            1,
            VoiceInput::Numbered {
                op: 13,
                d: &json!({ "user_id": user.to_string() }),
            },
        );
    }
    let numbered = sent(&drain(&mut session));
    assert_eq!(
        numbered
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // The client saw 1; on its new connection (which said Hello) it gets Resumed, then 2
    // and 3.
    session.handle(2, VoiceInput::Reattached { seq_ack: Some(1) });
    let resumed = sent(&drain(&mut session));
    let ops: Vec<u64> = resumed.iter().map(|m| m["op"].as_u64().unwrap()).collect();
    assert_eq!(ops, vec![9, 13, 13]);
    assert_eq!(resumed[1]["seq"], 2);
    // Ahead of what was sent: invalid.
    session.handle(3, VoiceInput::Reattached { seq_ack: Some(9) });
    assert_eq!(closed(&drain(&mut session)), Some(4006));
}

#[test]
fn a_resume_past_the_buffer_is_refused() {
    let config = VoiceSessionConfig {
        numbered_buffer_len: 2,
        ..VoiceSessionConfig::default()
    };
    let mut session = VoiceSession::new(config, 0);
    for i in 0..5 {
        session.handle(
            0,
            VoiceInput::Numbered {
                op: 11,
                d: &json!({ "user_ids": [i.to_string()] }),
            },
        );
    }
    drain(&mut session);
    session.handle(1, VoiceInput::Reattached { seq_ack: Some(2) });
    assert_eq!(closed(&drain(&mut session)), Some(4006), "3 is gone");
}
