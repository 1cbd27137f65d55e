//! Autobahn TestSuite section 5, "Fragmentation", ported to the decoder.
//!
//! Fragments of a data message are reassembled; control frames between them are delivered at
//! once. Failing with 1002: a fragmented control frame, a continuation with nothing to
//! continue, and a new Text frame while a message is still open. "Chops" are how the bytes are
//! split into reads: all at once, per frame, or per octet.

mod common;

use common::*;
use wsframe::{Error, Opcode};

fn fragmented_control(opcode: Opcode) {
    let frames = [
        raw(false, 0, opcode.as_u4(), b"fragment1"),
        frame(Opcode::Continuation, true, b"fragment2"),
    ];
    let events = run_every_chop(server(), &frames);
    assert_eq!(events, [Event::Failed(Error::FragmentedControlFrame)]);
    failed_with(&events, 1002);
}

/// Case 5.1: ping fragmented into 2 fragments.
#[test]
fn case_5_1_ping_in_two_fragments_fails() {
    fragmented_control(Opcode::Ping);
}

/// Case 5.2: pong fragmented into 2 fragments.
#[test]
fn case_5_2_pong_in_two_fragments_fails() {
    fragmented_control(Opcode::Pong);
}

fn two_fragments(chop: Chop) -> Vec<Event> {
    let frames = [
        frame(Opcode::Text, false, b"fragment1"),
        frame(Opcode::Continuation, true, b"fragment2"),
    ];
    run(server(), &frames, chop)
}

/// Case 5.3: text message in 2 fragments.
#[test]
fn case_5_3_text_in_two_fragments() {
    assert_eq!(
        two_fragments(Chop::All),
        [Event::text("fragment1fragment2")]
    );
}

/// Case 5.4: text message in 2 fragments, frame-wise chops.
#[test]
fn case_5_4_text_in_two_fragments_frame_wise() {
    assert_eq!(
        two_fragments(Chop::PerFrame),
        [Event::text("fragment1fragment2")]
    );
}

/// Case 5.5: text message in 2 fragments, octet-wise chops.
#[test]
fn case_5_5_text_in_two_fragments_octet_wise() {
    assert_eq!(
        two_fragments(Chop::Octets),
        [Event::text("fragment1fragment2")]
    );
}

fn two_fragments_with_ping(chop: Chop) -> Vec<Event> {
    let frames = [
        frame(Opcode::Text, false, b"fragment1"),
        ping(b"ping payload"),
        frame(Opcode::Continuation, true, b"fragment2"),
    ];
    run(server(), &frames, chop)
}

fn ping_then_text() -> Vec<Event> {
    vec![
        Event::Ping(b"ping payload".to_vec()),
        Event::text("fragment1fragment2"),
    ]
}

/// Case 5.6: text in 2 fragments with a ping in between.
#[test]
fn case_5_6_text_in_two_fragments_with_ping_between() {
    assert_eq!(two_fragments_with_ping(Chop::All), ping_then_text());
}

/// Case 5.7: as 5.6, frame-wise chops.
#[test]
fn case_5_7_text_with_ping_between_frame_wise() {
    assert_eq!(two_fragments_with_ping(Chop::PerFrame), ping_then_text());
}

/// Case 5.8: as 5.6, octet-wise chops.
#[test]
fn case_5_8_text_with_ping_between_octet_wise() {
    assert_eq!(two_fragments_with_ping(Chop::Octets), ping_then_text());
}

fn continuation_first(fin: bool, chop: Chop) -> Vec<Event> {
    let frames = [
        frame(Opcode::Continuation, fin, b"non-continuation payload"),
        text(b"Hello, world!"),
    ];
    run(server(), &frames, chop)
}

/// Case 5.9: continuation with FIN = true and nothing to continue, then text; one chop.
#[test]
fn case_5_9_continuation_fin_without_start() {
    let events = continuation_first(true, Chop::All);
    assert_eq!(events, [Event::Failed(Error::ContinuationWithoutStart)]);
    failed_with(&events, 1002);
}

/// Case 5.10: as 5.9, frame-wise chops.
#[test]
fn case_5_10_continuation_fin_without_start_frame_wise() {
    assert_eq!(
        continuation_first(true, Chop::PerFrame),
        [Event::Failed(Error::ContinuationWithoutStart)]
    );
}

/// Case 5.11: as 5.9, octet-wise chops.
#[test]
fn case_5_11_continuation_fin_without_start_octet_wise() {
    assert_eq!(
        continuation_first(true, Chop::Octets),
        [Event::Failed(Error::ContinuationWithoutStart)]
    );
}

/// Case 5.12: continuation with FIN = false and nothing to continue, then text; one chop.
#[test]
fn case_5_12_continuation_no_fin_without_start() {
    assert_eq!(
        continuation_first(false, Chop::All),
        [Event::Failed(Error::ContinuationWithoutStart)]
    );
}

/// Case 5.13: as 5.12, frame-wise chops.
#[test]
fn case_5_13_continuation_no_fin_without_start_frame_wise() {
    assert_eq!(
        continuation_first(false, Chop::PerFrame),
        [Event::Failed(Error::ContinuationWithoutStart)]
    );
}

/// Case 5.14: as 5.12, octet-wise chops.
#[test]
fn case_5_14_continuation_no_fin_without_start_octet_wise() {
    assert_eq!(
        continuation_first(false, Chop::Octets),
        [Event::Failed(Error::ContinuationWithoutStart)]
    );
}

/// Case 5.15: text in 2 fragments, then a continuation (FIN = false) with nothing to continue,
/// then an unfragmented text; one chop.
#[test]
fn case_5_15_continuation_after_completed_message() {
    let frames = [
        frame(Opcode::Text, false, b"fragment1"),
        frame(Opcode::Continuation, true, b"fragment2"),
        frame(Opcode::Continuation, false, b"fragment3"),
        text(b"fragment4"),
    ];
    assert_eq!(
        run_every_chop(server(), &frames),
        [
            Event::text("fragment1fragment2"),
            Event::Failed(Error::ContinuationWithoutStart)
        ]
    );
}

fn repeated_twice(first_fin: bool) -> Vec<Vec<u8>> {
    let round = [
        frame(Opcode::Continuation, first_fin, b"fragment1"),
        frame(Opcode::Text, false, b"fragment2"),
        frame(Opcode::Continuation, true, b"fragment3"),
    ];
    round.iter().chain(round.iter()).cloned().collect()
}

/// Case 5.16: twice: continuation (FIN = false) with nothing to continue, then text in 2
/// fragments.
#[test]
fn case_5_16_repeated_continuation_no_fin_then_fragments() {
    let events = run_every_chop(server(), &repeated_twice(false));
    assert_eq!(events, [Event::Failed(Error::ContinuationWithoutStart)]);
}

/// Case 5.17: twice: continuation (FIN = true) with nothing to continue, then text in 2
/// fragments.
#[test]
fn case_5_17_repeated_continuation_fin_then_fragments() {
    let events = run_every_chop(server(), &repeated_twice(true));
    assert_eq!(events, [Event::Failed(Error::ContinuationWithoutStart)]);
}

/// Case 5.18: text in 2 fragments with both frames' opcode set to text.
#[test]
fn case_5_18_two_text_opcodes_in_one_message() {
    let frames = [frame(Opcode::Text, false, b"fragment1"), text(b"fragment2")];
    let events = run_every_chop(server(), &frames);
    assert_eq!(events, [Event::Failed(Error::DataFrameInsideMessage)]);
    failed_with(&events, 1002);
}

fn five_fragments_two_pings(chop: Chop) -> Vec<Event> {
    let frames = [
        frame(Opcode::Text, false, b"fragment1"),
        frame(Opcode::Continuation, false, b"fragment2"),
        ping(b"pongme 1!"),
        frame(Opcode::Continuation, false, b"fragment3"),
        frame(Opcode::Continuation, false, b"fragment4"),
        ping(b"pongme 2!"),
        frame(Opcode::Continuation, true, b"fragment5"),
    ];
    run(server(), &frames, chop)
}

fn pings_then_five_fragments() -> Vec<Event> {
    vec![
        Event::Ping(b"pongme 1!".to_vec()),
        Event::Ping(b"pongme 2!".to_vec()),
        Event::text("fragment1fragment2fragment3fragment4fragment5"),
    ]
}

/// Case 5.19: text in 5 fragments with 2 pings in between (Autobahn sleeps between frames;
/// per-frame reads model that).
#[test]
fn case_5_19_five_fragments_with_two_pings() {
    assert_eq!(
        five_fragments_two_pings(Chop::PerFrame),
        pings_then_five_fragments()
    );
}

/// Case 5.20: as 5.19, all frames sent synchronously (one chop; octet-wise for good measure).
#[test]
fn case_5_20_five_fragments_with_two_pings_one_chop() {
    assert_eq!(
        five_fragments_two_pings(Chop::All),
        pings_then_five_fragments()
    );
    assert_eq!(
        five_fragments_two_pings(Chop::Octets),
        pings_then_five_fragments()
    );
}
