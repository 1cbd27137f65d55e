//! Autobahn TestSuite section 7, "Close Handling", ported to the decoder.
//!
//! 7.1.x are about the connection after a Close: Autobahn sends more frames after its Close
//! and expects the server to ignore them and close cleanly with 1000. At the decoder level we
//! model that as: the Close is delivered, and everything after it (valid frames, open
//! fragments, even garbage) is consumed and ignored, never an error. Answering the Close and
//! shutting the socket is the engine's job.
//!
//! 7.3.x check the Close payload's length, 7.5.1 the reason's UTF-8, 7.7.x valid codes,
//! 7.9.x invalid codes, 7.13.x codes above 4999. Autobahn's current 7.9 list is
//! 0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999; older releases also listed 1012–1014,
//! which have since been registered with IANA (Service Restart, Try Again Later, Bad Gateway)
//! and which we accept.

mod common;

use common::*;
use wsframe::{Error, Opcode};

fn normal_close() -> Event {
    Event::Close(Some(1000), String::new())
}

/// Case 7.1.1: a text message followed by a close frame.
#[test]
fn case_7_1_1_message_then_close() {
    let frames = [text(b"Hello World!"), close(1000, b"")];
    assert_eq!(
        run_every_chop(server(), &frames),
        [Event::text("Hello World!"), normal_close()]
    );
}

/// Case 7.1.2: two close frames; the second is ignored.
#[test]
fn case_7_1_2_two_close_frames() {
    let frames = [close(1000, b""), close(1000, b"")];
    assert_eq!(run_every_chop(server(), &frames), [normal_close()]);
}

/// Case 7.1.3: a ping after the close frame is ignored.
#[test]
fn case_7_1_3_ping_after_close() {
    let frames = [close(1000, b""), ping(b"")];
    assert_eq!(run_every_chop(server(), &frames), [normal_close()]);
}

/// Case 7.1.4: a text message after the close frame is ignored.
#[test]
fn case_7_1_4_text_after_close() {
    let frames = [close(1000, b""), text(b"Hello World!")];
    assert_eq!(run_every_chop(server(), &frames), [normal_close()]);
}

/// Case 7.1.5: first fragment, close, then the last fragment: the message is never delivered.
#[test]
fn case_7_1_5_fragment_close_fragment() {
    let frames = [
        frame(Opcode::Text, false, b"fragment1"),
        close(1000, b""),
        frame(Opcode::Continuation, true, b"fragment2"),
    ];
    assert_eq!(run_every_chop(server(), &frames), [normal_close()]);
}

/// Case 7.1.6: a 256 KiB text message, a small text, close, then a ping.
#[test]
fn case_7_1_6_large_message_close_then_ping() {
    let large: String = "BAsd7&jh23".chars().cycle().take(256 * 1024).collect();
    let frames = [
        text(large.as_bytes()),
        text(b"Hello World!"),
        close(1000, b""),
        ping(b""),
    ];
    for chop in [Chop::All, Chop::PerFrame, Chop::Sized(4096)] {
        assert_eq!(
            run(server(), &frames, chop),
            [
                Event::Text(large.clone()),
                Event::text("Hello World!"),
                normal_close()
            ]
        );
    }
}

/// Not an Autobahn case: garbage after a Close is ignored too, not reported.
#[test]
fn case_7_1_x_garbage_after_close_is_ignored() {
    let frames = [close(1000, b""), vec![0xFF; 64]];
    assert_eq!(run_every_chop(server(), &frames), [normal_close()]);
}

/// Case 7.3.1: close frame with payload length 0 (no code, no reason).
#[test]
fn case_7_3_1_close_without_payload() {
    let frames = [frame(Opcode::Close, true, b"")];
    assert_eq!(
        run_every_chop(server(), &frames),
        [Event::Close(None, String::new())]
    );
}

/// Case 7.3.2: close frame with payload length 1.
#[test]
fn case_7_3_2_close_with_one_byte_payload() {
    let events = run_every_chop(server(), &[frame(Opcode::Close, true, b"a")]);
    assert_eq!(events, [Event::Failed(Error::CloseFrameTooShort)]);
    failed_with(&events, 1002);
}

/// Case 7.3.3: close frame with payload length 2 (code only).
#[test]
fn case_7_3_3_close_with_code() {
    assert_eq!(
        run_every_chop(server(), &[close(1000, b"")]),
        [normal_close()]
    );
}

/// Case 7.3.4: close frame with code and reason.
#[test]
fn case_7_3_4_close_with_code_and_reason() {
    let events = run_every_chop(server(), &[close(1000, b"Hello World!")]);
    assert_eq!(events, [Event::Close(Some(1000), "Hello World!".into())]);
}

/// Case 7.3.5: close frame with a reason of the maximum length (123 bytes).
#[test]
fn case_7_3_5_close_with_longest_reason() {
    let reason = "*".repeat(123);
    let events = run_every_chop(server(), &[close(1000, reason.as_bytes())]);
    assert_eq!(events, [Event::Close(Some(1000), reason)]);
}

/// Case 7.3.6: close frame with a reason one byte too long (payload 126 bytes).
#[test]
fn case_7_3_6_close_with_too_long_reason() {
    let reason = "*".repeat(124);
    let events = run_every_chop(server(), &[close(1000, reason.as_bytes())]);
    assert_eq!(events, [Event::Failed(Error::ControlFrameTooLong)]);
    failed_with(&events, 1002);
}

/// Case 7.5.1: close frame with a reason that is not UTF-8.
#[test]
fn case_7_5_1_close_with_invalid_utf8_reason() {
    let reason =
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";
    let events = run_every_chop(server(), &[close(1000, reason)]);
    assert_eq!(events, [Event::Failed(Error::InvalidCloseReason)]);
    failed_with(&events, 1007);
}

/// Cases 7.7.1–7.7.13: close frames with valid codes.
#[test]
fn case_7_7_x_valid_close_codes() {
    let codes = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ];
    for (index, code) in codes.into_iter().enumerate() {
        let events = run_every_chop(server(), &[close(code, b"")]);
        assert_eq!(
            events,
            [Event::Close(Some(code), String::new())],
            "case 7.7.{}",
            index + 1
        );
    }
}

/// Cases 7.9.1–7.9.9: close frames with invalid codes.
#[test]
fn case_7_9_x_invalid_close_codes() {
    let codes = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
    for (index, code) in codes.into_iter().enumerate() {
        let events = run_every_chop(server(), &[close(code, b"")]);
        assert_eq!(
            events,
            [Event::Failed(Error::InvalidCloseCode { code })],
            "case 7.9.{}",
            index + 1
        );
        failed_with(&events, 1002);
    }
}

/// Codes 1012–1014 (listed as invalid by old Autobahn releases) are IANA-registered; accepted.
#[test]
fn case_7_9_x_iana_registered_codes_are_accepted() {
    for code in [1012, 1013, 1014] {
        assert_eq!(
            run_every_chop(server(), &[close(code, b"")]),
            [Event::Close(Some(code), String::new())]
        );
    }
    // 1015 (TLS handshake failure) is only ever reported locally.
    let events = run_every_chop(server(), &[close(1015, b"")]);
    assert_eq!(
        events,
        [Event::Failed(Error::InvalidCloseCode { code: 1015 })]
    );
}

/// Case 7.13.1: close code 5000. The spec leaves the outcome open ("informational"); codes
/// above 4999 are outside every range RFC 6455 defines, so we fail with 1002.
#[test]
fn case_7_13_1_close_code_5000() {
    let events = run_every_chop(server(), &[close(5000, b"")]);
    assert_eq!(
        events,
        [Event::Failed(Error::InvalidCloseCode { code: 5000 })]
    );
}

/// Case 7.13.2: close code 65535, treated like 7.13.1.
#[test]
fn case_7_13_2_close_code_65535() {
    let events = run_every_chop(server(), &[close(65535, b"")]);
    assert_eq!(
        events,
        [Event::Failed(Error::InvalidCloseCode { code: 65535 })]
    );
}
