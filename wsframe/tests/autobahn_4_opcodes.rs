//! Autobahn TestSuite section 4, "Opcodes", ported to the decoder.
//!
//! Reserved opcodes (non-control 3–7, control 0xB–0xF) fail the connection with 1002, with or
//! without payload. A message before the bad frame is delivered; the Ping after it is not.

mod common;

use common::*;
use wsframe::Error;

fn reserved(opcode: u8) -> Event {
    Event::Failed(Error::ReservedOpcode { opcode })
}

fn alone(opcode: u8, payload: &[u8]) {
    let events = run_every_chop(server(), &[raw(true, 0, opcode, payload)]);
    assert_eq!(events, [reserved(opcode)]);
    failed_with(&events, 1002);
}

fn between_text_and_ping(opcode: u8, payload: &[u8]) {
    let frames = [
        text(b"Hello, world!"),
        raw(true, 0, opcode, payload),
        ping(b""),
    ];
    let events = run_every_chop(server(), &frames);
    assert_eq!(events, [Event::text("Hello, world!"), reserved(opcode)]);
}

/// Case 4.1.1: frame with reserved non-control opcode 3.
#[test]
fn case_4_1_1_reserved_data_opcode_3() {
    alone(3, b"");
}

/// Case 4.1.2: frame with reserved non-control opcode 4 and non-empty payload.
#[test]
fn case_4_1_2_reserved_data_opcode_4_with_payload() {
    alone(4, b"reserved opcode payload");
}

/// Case 4.1.3: text, then reserved non-control opcode 5, then ping.
#[test]
fn case_4_1_3_text_then_opcode_5_then_ping() {
    between_text_and_ping(5, b"");
}

/// Case 4.1.4: text, then reserved non-control opcode 6 with payload, then ping.
#[test]
fn case_4_1_4_text_then_opcode_6_with_payload_then_ping() {
    between_text_and_ping(6, b"reserved opcode payload");
}

/// Case 4.1.5: text, then reserved non-control opcode 7 with payload, then ping.
#[test]
fn case_4_1_5_text_then_opcode_7_with_payload_then_ping() {
    between_text_and_ping(7, b"reserved opcode payload");
}

/// Case 4.2.1: frame with reserved control opcode 11.
#[test]
fn case_4_2_1_reserved_control_opcode_11() {
    alone(11, b"");
}

/// Case 4.2.2: frame with reserved control opcode 12 and non-empty payload.
#[test]
fn case_4_2_2_reserved_control_opcode_12_with_payload() {
    alone(12, b"reserved opcode payload");
}

/// Case 4.2.3: text, then reserved control opcode 13, then ping.
#[test]
fn case_4_2_3_text_then_opcode_13_then_ping() {
    between_text_and_ping(13, b"");
}

/// Case 4.2.4: text, then reserved control opcode 14 with payload, then ping.
#[test]
fn case_4_2_4_text_then_opcode_14_with_payload_then_ping() {
    between_text_and_ping(14, b"reserved opcode payload");
}

/// Case 4.2.5: text, then reserved control opcode 15 with payload, then ping.
#[test]
fn case_4_2_5_text_then_opcode_15_with_payload_then_ping() {
    between_text_and_ping(15, b"reserved opcode payload");
}
