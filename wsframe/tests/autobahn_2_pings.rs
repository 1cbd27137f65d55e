//! Autobahn TestSuite section 2, "Pings/Pongs", ported to the decoder.
//!
//! The decoder delivers every Ping (the engine answers each with a Pong carrying the same
//! payload) and every Pong, solicited or not (the engine ignores unsolicited ones). A Ping over
//! 125 bytes fails the connection with 1002.

mod common;

use common::*;
use wsframe::Error;

/// Case 2.1: ping without payload.
#[test]
fn case_2_1_ping_without_payload() {
    assert_eq!(
        run_every_chop(server(), &[ping(b"")]),
        [Event::Ping(vec![])]
    );
}

/// Case 2.2: ping with a small text payload.
#[test]
fn case_2_2_ping_with_small_text_payload() {
    let events = run_every_chop(server(), &[ping(b"Hello, world!")]);
    assert_eq!(events, [Event::Ping(b"Hello, world!".to_vec())]);
}

/// Case 2.3: ping with a small binary (non UTF-8) payload.
#[test]
fn case_2_3_ping_with_small_binary_payload() {
    let payload = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff";
    assert_eq!(
        run_every_chop(server(), &[ping(payload)]),
        [Event::Ping(payload.to_vec())]
    );
}

/// Case 2.4: ping with a binary payload of 125 octets.
#[test]
fn case_2_4_ping_with_125_octets() {
    let payload = [0xFE; 125];
    assert_eq!(
        run_every_chop(server(), &[ping(&payload)]),
        [Event::Ping(payload.to_vec())]
    );
}

/// Case 2.5: ping with a binary payload of 126 octets: fail with 1002.
#[test]
fn case_2_5_ping_with_126_octets_fails() {
    let events = run_every_chop(server(), &[ping(&[0xFE; 126])]);
    assert_eq!(events, [Event::Failed(Error::ControlFrameTooLong)]);
    failed_with(&events, 1002);
}

/// Case 2.6: ping with 125 octets, sent in octet-wise chops.
#[test]
fn case_2_6_ping_with_125_octets_octet_wise() {
    let payload = [0xFE; 125];
    assert_eq!(
        run(server(), &[ping(&payload)], Chop::Octets),
        [Event::Ping(payload.to_vec())]
    );
}

/// Case 2.7: unsolicited pong without payload.
#[test]
fn case_2_7_unsolicited_pong_without_payload() {
    assert_eq!(
        run_every_chop(server(), &[pong(b"")]),
        [Event::Pong(vec![])]
    );
}

/// Case 2.8: unsolicited pong with payload.
#[test]
fn case_2_8_unsolicited_pong_with_payload() {
    let events = run_every_chop(server(), &[pong(b"unsolicited pong payload")]);
    assert_eq!(events, [Event::Pong(b"unsolicited pong payload".to_vec())]);
}

/// Case 2.9: unsolicited pong with payload, then ping with payload.
#[test]
fn case_2_9_unsolicited_pong_then_ping() {
    let frames = [pong(b"unsolicited pong payload"), ping(b"ping payload")];
    assert_eq!(
        run_every_chop(server(), &frames),
        [
            Event::Pong(b"unsolicited pong payload".to_vec()),
            Event::Ping(b"ping payload".to_vec())
        ]
    );
}

fn ten_pings() -> (Vec<Vec<u8>>, Vec<Event>) {
    let payloads: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("payload-{i}").into_bytes())
        .collect();
    let frames = payloads.iter().map(|p| ping(p)).collect();
    let events = payloads.into_iter().map(Event::Ping).collect();
    (frames, events)
}

/// Case 2.10: ten pings with payload.
#[test]
fn case_2_10_ten_pings() {
    let (frames, expected) = ten_pings();
    assert_eq!(run(server(), &frames, Chop::All), expected);
}

/// Case 2.11: ten pings with payload, sent in octet-wise chops.
#[test]
fn case_2_11_ten_pings_octet_wise() {
    let (frames, expected) = ten_pings();
    assert_eq!(run(server(), &frames, Chop::Octets), expected);
}
