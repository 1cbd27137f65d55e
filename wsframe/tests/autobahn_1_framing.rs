//! Autobahn TestSuite section 1, "Framing", ported to the decoder.
//!
//! Each case sends one unfragmented message of a given length; the server must deliver it
//! unchanged (Autobahn then expects the echo, which is the engine's job). Lengths sit at the
//! edges of the three length forms: 125/126/127 and 65535/65536. Every case also runs with the
//! bytes chopped per frame, per octet and in 3- and 997-byte reads (1.x.8 is the 997 case).

mod common;

use common::*;

fn text_case(len: usize) {
    let payload = "*".repeat(len);
    assert_eq!(
        run_every_chop(server(), &[text(payload.as_bytes())]),
        [Event::Text(payload)]
    );
}

fn binary_case(len: usize) {
    let payload = vec![0xFE; len];
    assert_eq!(
        run_every_chop(server(), &[binary(&payload)]),
        [Event::Binary(payload)]
    );
}

/// Case 1.1.1: text message, payload length 0.
#[test]
fn case_1_1_1_text_length_0() {
    text_case(0);
}

/// Case 1.1.2: text message, payload length 125.
#[test]
fn case_1_1_2_text_length_125() {
    text_case(125);
}

/// Case 1.1.3: text message, payload length 126 (first 16-bit length).
#[test]
fn case_1_1_3_text_length_126() {
    text_case(126);
}

/// Case 1.1.4: text message, payload length 127.
#[test]
fn case_1_1_4_text_length_127() {
    text_case(127);
}

/// Case 1.1.5: text message, payload length 128.
#[test]
fn case_1_1_5_text_length_128() {
    text_case(128);
}

/// Case 1.1.6: text message, payload length 65535 (last 16-bit length).
#[test]
fn case_1_1_6_text_length_65535() {
    text_case(65535);
}

/// Case 1.1.7: text message, payload length 65536 (first 64-bit length).
#[test]
fn case_1_1_7_text_length_65536() {
    text_case(65536);
}

/// Case 1.1.8: text message, payload length 65536, sent in chops of 997 octets.
#[test]
fn case_1_1_8_text_length_65536_in_997_octet_chops() {
    let payload = "*".repeat(65536);
    let events = run(server(), &[text(payload.as_bytes())], Chop::Sized(997));
    assert_eq!(events, [Event::Text(payload)]);
}

/// Case 1.2.1: binary message, payload length 0.
#[test]
fn case_1_2_1_binary_length_0() {
    binary_case(0);
}

/// Case 1.2.2: binary message, payload length 125.
#[test]
fn case_1_2_2_binary_length_125() {
    binary_case(125);
}

/// Case 1.2.3: binary message, payload length 126.
#[test]
fn case_1_2_3_binary_length_126() {
    binary_case(126);
}

/// Case 1.2.4: binary message, payload length 127.
#[test]
fn case_1_2_4_binary_length_127() {
    binary_case(127);
}

/// Case 1.2.5: binary message, payload length 128.
#[test]
fn case_1_2_5_binary_length_128() {
    binary_case(128);
}

/// Case 1.2.6: binary message, payload length 65535.
#[test]
fn case_1_2_6_binary_length_65535() {
    binary_case(65535);
}

/// Case 1.2.7: binary message, payload length 65536.
#[test]
fn case_1_2_7_binary_length_65536() {
    binary_case(65536);
}

/// Case 1.2.8: binary message, payload length 65536, sent in chops of 997 octets.
#[test]
fn case_1_2_8_binary_length_65536_in_997_octet_chops() {
    let payload = vec![0xFE; 65536];
    let events = run(server(), &[binary(&payload)], Chop::Sized(997));
    assert_eq!(events, [Event::Binary(payload)]);
}
