//! Autobahn TestSuite section 3, "Reserved Bits", ported to the decoder.
//!
//! Flux negotiates no extension, so any RSV bit fails the connection with 1002, on data and
//! control frames alike. Messages before the bad frame are still delivered; nothing after it
//! is. "RSV = n" is the 3-bit value with RSV1 highest, as in Autobahn.

mod common;

use common::*;
use wsframe::Error;

fn rsv_failure(rsv: u8) -> Event {
    Event::Failed(Error::ReservedBitsSet { rsv })
}

/// Case 3.1: small text message with RSV = 1.
#[test]
fn case_3_1_text_with_rsv_1() {
    let events = run_every_chop(server(), &[raw(true, 1, 0x1, b"Hello, world!")]);
    assert_eq!(events, [rsv_failure(1)]);
    failed_with(&events, 1002);
}

fn text_then_bad_then_ping(rsv: u8, chop: Chop) -> Vec<Event> {
    let frames = [
        text(b"Hello, world!"),
        raw(true, rsv, 0x1, b"Hello, world!"),
        ping(b""),
    ];
    run(server(), &frames, chop)
}

/// Case 3.2: small text message, then again with RSV = 2, then a ping.
#[test]
fn case_3_2_text_then_rsv_2_then_ping() {
    let events = text_then_bad_then_ping(2, Chop::All);
    assert_eq!(events, [Event::text("Hello, world!"), rsv_failure(2)]);
}

/// Case 3.3: as 3.2 with RSV = 3, sent in frame-wise chops.
#[test]
fn case_3_3_text_then_rsv_3_then_ping_frame_wise() {
    let events = text_then_bad_then_ping(3, Chop::PerFrame);
    assert_eq!(events, [Event::text("Hello, world!"), rsv_failure(3)]);
}

/// Case 3.4: as 3.2 with RSV = 4, sent in octet-wise chops.
#[test]
fn case_3_4_text_then_rsv_4_then_ping_octet_wise() {
    let events = text_then_bad_then_ping(4, Chop::Octets);
    assert_eq!(events, [Event::text("Hello, world!"), rsv_failure(4)]);
}

/// Case 3.5: small binary message with RSV = 5.
#[test]
fn case_3_5_binary_with_rsv_5() {
    let events = run_every_chop(
        server(),
        &[raw(true, 5, 0x2, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")],
    );
    assert_eq!(events, [rsv_failure(5)]);
}

/// Case 3.6: ping with RSV = 6.
#[test]
fn case_3_6_ping_with_rsv_6() {
    let events = run_every_chop(server(), &[raw(true, 6, 0x9, b"Hello, world!")]);
    assert_eq!(events, [rsv_failure(6)]);
}

/// Case 3.7: close with RSV = 7.
#[test]
fn case_3_7_close_with_rsv_7() {
    let events = run_every_chop(server(), &[raw(true, 7, 0x8, b"")]);
    assert_eq!(events, [rsv_failure(7)]);
}
