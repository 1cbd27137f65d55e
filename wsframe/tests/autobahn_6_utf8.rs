//! Autobahn TestSuite section 6, "UTF-8 Handling", ported to the decoder.
//!
//! 6.1–6.4 send hand-made messages: empty fragments, valid text split on and inside code
//! points, invalid text, and the fail-fast cases (6.4.x) where the connection must fail on the
//! frame or read that makes the bytes so far invalid, before the rest arrives.
//!
//! 6.5–6.23 send one text message per test vector, taken from Markus Kuhn's UTF-8 decoder
//! stress test as Autobahn groups them (`case6_x_x.py`); one test per group, sub-case numbers
//! in the assertion messages. Each vector is checked three ways: in one frame, in one frame
//! read byte by byte (the failure must come on exactly the byte where `std` says the prefix
//! stops being valid UTF-8), and as a message of 1-byte fragments.

mod common;

use common::*;
use wsframe::{Error, FrameHeader, Opcode};

const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"; // "κόσμε"
const HELLO_UTF8: &str = "Hello-µ@ßöäüàá-UTF-8!!";
/// Autobahn 6.3.1: "κόσμε", then an encoded UTF-16 surrogate (ED A0 80), then "edited".
const INVALID_SURROGATE: &[u8] =
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";
/// Autobahn 6.4.x: "κόσμε", then 0x110000 in UTF-8's integer scheme (F4 90 80 80), then
/// "edited". Invalid exactly on byte 12 (0x90).
const INVALID_OUT_OF_RANGE: &[u8] =
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64";

fn fragments_of_one_octet(payload: &[u8]) -> Vec<Vec<u8>> {
    if payload.is_empty() {
        return vec![text(b"")];
    }
    let last = payload.len() - 1;
    payload
        .iter()
        .enumerate()
        .map(|(index, byte)| {
            let opcode = if index == 0 {
                Opcode::Text
            } else {
                Opcode::Continuation
            };
            frame(opcode, index == last, std::slice::from_ref(byte))
        })
        .collect()
}

/// Case 6.1.1: text message of length 0.
#[test]
fn case_6_1_1_empty_text() {
    assert_eq!(run_every_chop(server(), &[text(b"")]), [Event::text("")]);
}

/// Case 6.1.2: fragmented text message, 3 fragments each of length 0.
#[test]
fn case_6_1_2_three_empty_fragments() {
    let frames = [
        frame(Opcode::Text, false, b""),
        frame(Opcode::Continuation, false, b""),
        frame(Opcode::Continuation, true, b""),
    ];
    assert_eq!(run_every_chop(server(), &frames), [Event::text("")]);
}

/// Case 6.1.3: 3 fragments, first and last of length 0, middle non-empty.
#[test]
fn case_6_1_3_empty_first_and_last_fragment() {
    let frames = [
        frame(Opcode::Text, false, b""),
        frame(Opcode::Continuation, false, b"middle frame payload"),
        frame(Opcode::Continuation, true, b""),
    ];
    assert_eq!(
        run_every_chop(server(), &frames),
        [Event::text("middle frame payload")]
    );
}

/// Case 6.2.1: valid UTF-8 text in one fragment.
#[test]
fn case_6_2_1_valid_utf8_one_fragment() {
    assert_eq!(
        run_every_chop(server(), &[text(HELLO_UTF8.as_bytes())]),
        [Event::text(HELLO_UTF8)]
    );
}

/// Case 6.2.2: valid UTF-8 text in two fragments, split on a code point boundary.
#[test]
fn case_6_2_2_valid_utf8_split_on_code_point() {
    let (first, second) = HELLO_UTF8.split_at(HELLO_UTF8.find('ü').unwrap());
    let frames = [
        frame(Opcode::Text, false, first.as_bytes()),
        frame(Opcode::Continuation, true, second.as_bytes()),
    ];
    assert_eq!(run_every_chop(server(), &frames), [Event::text(HELLO_UTF8)]);
}

/// Case 6.2.3: valid UTF-8 text in fragments of 1 octet (frames end inside code points).
#[test]
fn case_6_2_3_valid_utf8_one_octet_fragments() {
    let frames = fragments_of_one_octet(HELLO_UTF8.as_bytes());
    assert_eq!(run_every_chop(server(), &frames), [Event::text(HELLO_UTF8)]);
}

/// Case 6.2.4: "κόσμε" in fragments of 1 octet.
#[test]
fn case_6_2_4_kosme_one_octet_fragments() {
    let frames = fragments_of_one_octet(KOSME);
    let kosme = std::str::from_utf8(KOSME).unwrap(); // its 'ό' is U+1F79, not U+03CC
    assert_eq!(run_every_chop(server(), &frames), [Event::text(kosme)]);
}

/// Case 6.3.1: invalid UTF-8 text, unfragmented.
#[test]
fn case_6_3_1_invalid_utf8_one_frame() {
    let events = run_every_chop(server(), &[text(INVALID_SURROGATE)]);
    assert_eq!(events, [Event::Failed(Error::InvalidUtf8)]);
    failed_with(&events, 1007);
}

/// Case 6.3.2: invalid UTF-8 text in fragments of 1 octet; fails on the fragment holding the
/// first impossible byte (0xA0 after 0xED), not at the end.
#[test]
fn case_6_3_2_invalid_utf8_one_octet_fragments() {
    let frames = fragments_of_one_octet(INVALID_SURROGATE);
    assert_eq!(
        run_every_chop(server(), &frames),
        [Event::Failed(Error::InvalidUtf8)]
    );
    let reads: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    assert_eq!(
        failing_read(server(), &reads),
        Some((12, Error::InvalidUtf8))
    );
}

/// Case 6.4.1: invalid text in 3 frames; the 2nd frame makes it invalid and must fail before
/// the 3rd is sent.
#[test]
fn case_6_4_1_fail_fast_on_second_frame() {
    let frames = [
        frame(Opcode::Text, false, &INVALID_OUT_OF_RANGE[..11]),
        frame(Opcode::Continuation, false, &INVALID_OUT_OF_RANGE[11..15]),
        frame(Opcode::Continuation, true, &INVALID_OUT_OF_RANGE[15..]),
    ];
    let reads: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    assert_eq!(
        failing_read(server(), &reads),
        Some((1, Error::InvalidUtf8))
    );
}

/// Case 6.4.2: as 6.4.1, but the 2nd frame is only the octet that makes the payload invalid
/// (the 1st frame ends with F4, still a valid prefix).
#[test]
fn case_6_4_2_fail_fast_on_single_octet_frame() {
    let frames = [
        frame(Opcode::Text, false, &INVALID_OUT_OF_RANGE[..12]),
        frame(Opcode::Continuation, false, &INVALID_OUT_OF_RANGE[12..13]),
        frame(Opcode::Continuation, true, &INVALID_OUT_OF_RANGE[13..]),
    ];
    let reads: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    assert_eq!(
        failing_read(server(), &reads),
        Some((1, Error::InvalidUtf8))
    );
}

fn one_frame_in_chops(cuts: [usize; 2]) -> Option<(usize, Error)> {
    let bytes = text(INVALID_OUT_OF_RANGE);
    let header_len = FrameHeader::parse(&bytes).unwrap().unwrap().1;
    let (first, rest) = bytes.split_at(header_len + cuts[0]);
    let (second, third) = rest.split_at(cuts[1] - cuts[0]);
    failing_read(server(), &[first, second, third])
}

/// Case 6.4.3: one frame sent in 3 chops (header + "κόσμε", F4 90 80 80, "edited"); must fail
/// on the 2nd chop, inside the frame.
#[test]
fn case_6_4_3_fail_fast_inside_a_frame() {
    assert_eq!(one_frame_in_chops([11, 15]), Some((1, Error::InvalidUtf8)));
}

/// Case 6.4.4: as 6.4.3, but the 2nd chop is only the octet that makes the payload invalid.
#[test]
fn case_6_4_4_fail_fast_on_single_octet_chop() {
    assert_eq!(one_frame_in_chops([12, 13]), Some((1, Error::InvalidUtf8)));
}

/// Checks one Autobahn 6.5–6.23 vector: `valid` is Autobahn's verdict.
fn check_vector(case: &str, valid: bool, payload: &[u8]) {
    assert_eq!(
        std::str::from_utf8(payload).is_ok(),
        valid,
        "case {case}: verdict differs from std"
    );
    let expected = match std::str::from_utf8(payload) {
        Ok(text) => Event::text(text),
        Err(_) => Event::Failed(Error::InvalidUtf8),
    };
    let one_frame = text(payload);
    assert_eq!(
        run_every_chop(server(), std::slice::from_ref(&one_frame)),
        std::slice::from_ref(&expected),
        "case {case}"
    );
    assert_eq!(
        run(server(), &fragments_of_one_octet(payload), Chop::All),
        std::slice::from_ref(&expected),
        "case {case} in 1-octet fragments"
    );
    if !valid {
        // Fail fast: reading the frame byte by byte, the error comes on the first byte after
        // which the payload is no longer a valid prefix (or on the last byte if the payload
        // only ends too early).
        let header_len = one_frame.len() - payload.len();
        let breaking = (1..=payload.len())
            .find(|&end| matches!(std::str::from_utf8(&payload[..end]), Err(e) if e.error_len().is_some()))
            .unwrap_or(payload.len());
        let reads: Vec<&[u8]> = one_frame.chunks(1).collect();
        assert_eq!(
            failing_read(server(), &reads),
            Some((header_len + breaking - 1, Error::InvalidUtf8)),
            "case {case}: did not fail fast"
        );
    }
}

fn check_group(group: &str, vectors: &[(bool, Vec<u8>)], count: usize) {
    assert_eq!(
        vectors.len(),
        count,
        "group {group} has {count} cases in Autobahn"
    );
    for (index, (valid, payload)) in vectors.iter().enumerate() {
        check_vector(&format!("{group}.{}", index + 1), *valid, payload);
    }
}

fn vectors(list: &[(bool, &[u8])]) -> Vec<(bool, Vec<u8>)> {
    list.iter()
        .map(|(valid, bytes)| (*valid, bytes.to_vec()))
        .collect()
}

/// Cases 6.5.1–6.5.5: some valid UTF-8 sequences.
#[test]
fn case_6_5_x_some_valid_utf8_sequences() {
    let list: &[(bool, &[u8])] = &[
        (true, b"hello\x24world"),             // 6.5.1: U+0024
        (true, b"hello\xC2\xA2world"),         // 6.5.2: U+00A2
        (true, b"hello\xE2\x82\xACworld"),     // 6.5.3: U+20AC
        (true, b"hello\xF0\xA4\xAD\xA2world"), // 6.5.4: U+24B62
        (true, KOSME),                         // 6.5.5
    ];
    check_group("6.5", &vectors(list), 5);
}

/// Cases 6.6.1–6.6.11: every prefix of "κόσμε"; valid exactly when it ends on a code point.
#[test]
fn case_6_6_x_all_prefixes_of_valid_utf8() {
    let list: Vec<(bool, Vec<u8>)> = (1..=KOSME.len())
        .map(|end| ([2, 5, 7, 9, 11].contains(&end), KOSME[..end].to_vec()))
        .collect();
    check_group("6.6", &list, 11);
}

/// Cases 6.7.1–6.7.4: first possible sequence of each length.
#[test]
fn case_6_7_x_first_possible_sequence_of_each_length() {
    let list: &[(bool, &[u8])] = &[
        (true, b"\x00"),
        (true, b"\xc2\x80"),
        (true, b"\xe0\xa0\x80"),
        (true, b"\xf0\x90\x80\x80"),
    ];
    check_group("6.7", &vectors(list), 4);
}

/// Cases 6.8.1–6.8.2: first possible 5- and 6-byte sequences (not UTF-8 any more).
#[test]
fn case_6_8_x_first_possible_5_and_6_byte_sequences() {
    let list: &[(bool, &[u8])] = &[
        (false, b"\xf8\x88\x80\x80\x80"),
        (false, b"\xfc\x84\x80\x80\x80\x80"),
    ];
    check_group("6.8", &vectors(list), 2);
}

/// Cases 6.9.1–6.9.4: last possible sequence of each length.
#[test]
fn case_6_9_x_last_possible_sequence_of_each_length() {
    let list: &[(bool, &[u8])] = &[
        (true, b"\x7f"),
        (true, b"\xdf\xbf"),
        (true, b"\xef\xbf\xbf"),
        (true, b"\xf4\x8f\xbf\xbf"),
    ];
    check_group("6.9", &vectors(list), 4);
}

/// Cases 6.10.1–6.10.3: last possible 4-, 5- and 6-byte sequences beyond U+10FFFF.
#[test]
fn case_6_10_x_last_possible_sequences_beyond_range() {
    let list: &[(bool, &[u8])] = &[
        (false, b"\xf7\xbf\xbf\xbf"),
        (false, b"\xfb\xbf\xbf\xbf\xbf"),
        (false, b"\xfd\xbf\xbf\xbf\xbf\xbf"),
    ];
    check_group("6.10", &vectors(list), 3);
}

/// Cases 6.11.1–6.11.5: other boundary conditions.
#[test]
fn case_6_11_x_other_boundary_conditions() {
    let list: &[(bool, &[u8])] = &[
        (true, b"\xed\x9f\xbf"),
        (true, b"\xee\x80\x80"),
        (true, b"\xef\xbf\xbd"),
        (true, b"\xf4\x8f\xbf\xbf"),
        (false, b"\xf4\x90\x80\x80"),
    ];
    check_group("6.11", &vectors(list), 5);
}

/// Cases 6.12.1–6.12.8: unexpected continuation bytes.
#[test]
fn case_6_12_x_unexpected_continuation_bytes() {
    let mut list = vectors(&[
        (false, b"\x80"),
        (false, b"\xbf"),
        (false, b"\x80\xbf"),
        (false, b"\x80\xbf\x80"),
        (false, b"\x80\xbf\x80\xbf"),
        (false, b"\x80\xbf\x80\xbf\x80"),
        (false, b"\x80\xbf\x80\xbf\x80\xbf"),
    ]);
    list.push((false, (0x80..0xbf).collect())); // 6.12.8: 0x80 up to (not including) 0xBF
    check_group("6.12", &list, 8);
}

/// Cases 6.13.1–6.13.5: lonely start characters, each followed by a space.
#[test]
fn case_6_13_x_lonely_start_characters() {
    let list: Vec<(bool, Vec<u8>)> = [
        (0xc0u8, 0xdfu8),
        (0xe0, 0xef),
        (0xf0, 0xf7),
        (0xf8, 0xfb),
        (0xfc, 0xfd),
    ]
    .iter()
    .map(|&(first, end)| (false, (first..end).flat_map(|byte| [byte, 0x20]).collect()))
    .collect();
    check_group("6.13", &list, 5);
}

const LAST_BYTE_MISSING: [&[u8]; 10] = [
    b"\xc0",
    b"\xe0\x80",
    b"\xf0\x80\x80",
    b"\xf8\x80\x80\x80",
    b"\xfc\x80\x80\x80\x80",
    b"\xdf",
    b"\xef\xbf",
    b"\xf7\xbf\xbf",
    b"\xfb\xbf\xbf\xbf",
    b"\xfd\xbf\xbf\xbf\xbf",
];

/// Cases 6.14.1–6.14.10: sequences with the last continuation byte missing.
#[test]
fn case_6_14_x_last_continuation_byte_missing() {
    let list: Vec<(bool, Vec<u8>)> = LAST_BYTE_MISSING
        .iter()
        .map(|b| (false, b.to_vec()))
        .collect();
    check_group("6.14", &list, 10);
}

/// Case 6.15.1: concatenation of the incomplete sequences of 6.14.
#[test]
fn case_6_15_1_concatenated_incomplete_sequences() {
    check_group("6.15", &[(false, LAST_BYTE_MISSING.concat())], 1);
}

/// Cases 6.16.1–6.16.3: impossible bytes.
#[test]
fn case_6_16_x_impossible_bytes() {
    let list: &[(bool, &[u8])] = &[
        (false, b"\xfe"),
        (false, b"\xff"),
        (false, b"\xfe\xfe\xff\xff"),
    ];
    check_group("6.16", &vectors(list), 3);
}

/// Cases 6.17.1–6.17.5: overlong encodings of '/'.
#[test]
fn case_6_17_x_overlong_ascii() {
    let list: &[(bool, &[u8])] = &[
        (false, b"\xc0\xaf"),
        (false, b"\xe0\x80\xaf"),
        (false, b"\xf0\x80\x80\xaf"),
        (false, b"\xf8\x80\x80\x80\xaf"),
        (false, b"\xfc\x80\x80\x80\x80\xaf"),
    ];
    check_group("6.17", &vectors(list), 5);
}

/// Cases 6.18.1–6.18.5: maximum overlong sequences.
#[test]
fn case_6_18_x_maximum_overlong_sequences() {
    let list: &[(bool, &[u8])] = &[
        (false, b"\xc1\xbf"),
        (false, b"\xe0\x9f\xbf"),
        (false, b"\xf0\x8f\xbf\xbf"),
        (false, b"\xf8\x87\xbf\xbf\xbf"),
        (false, b"\xfc\x83\xbf\xbf\xbf\xbf"),
    ];
    check_group("6.18", &vectors(list), 5);
}

/// Cases 6.19.1–6.19.5: overlong encodings of NUL.
#[test]
fn case_6_19_x_overlong_nul() {
    let list: &[(bool, &[u8])] = &[
        (false, b"\xc0\x80"),
        (false, b"\xe0\x80\x80"),
        (false, b"\xf0\x80\x80\x80"),
        (false, b"\xf8\x80\x80\x80\x80"),
        (false, b"\xfc\x80\x80\x80\x80\x80"),
    ];
    check_group("6.19", &vectors(list), 5);
}

/// Cases 6.20.1–6.20.7: single UTF-16 surrogates.
#[test]
fn case_6_20_x_single_utf16_surrogates() {
    let list: &[(bool, &[u8])] = &[
        (false, b"\xed\xa0\x80"),
        (false, b"\xed\xad\xbf"),
        (false, b"\xed\xae\x80"),
        (false, b"\xed\xaf\xbf"),
        (false, b"\xed\xb0\x80"),
        (false, b"\xed\xbe\x80"),
        (false, b"\xed\xbf\xbf"),
    ];
    check_group("6.20", &vectors(list), 7);
}

/// Cases 6.21.1–6.21.8: paired UTF-16 surrogates.
#[test]
fn case_6_21_x_paired_utf16_surrogates() {
    let list: &[(bool, &[u8])] = &[
        (false, b"\xed\xa0\x80\xed\xb0\x80"),
        (false, b"\xed\xa0\x80\xed\xbf\xbf"),
        (false, b"\xed\xad\xbf\xed\xb0\x80"),
        (false, b"\xed\xad\xbf\xed\xbf\xbf"),
        (false, b"\xed\xae\x80\xed\xb0\x80"),
        (false, b"\xed\xae\x80\xed\xbf\xbf"),
        (false, b"\xed\xaf\xbf\xed\xb0\x80"),
        (false, b"\xed\xaf\xbf\xed\xbf\xbf"),
    ];
    check_group("6.21", &vectors(list), 8);
}

/// Cases 6.22.1–6.22.34: non-character code points, which are valid UTF-8 (RFC 3629):
/// U+FFFE, U+FFFF, then U+nFFFE and U+nFFFF for planes 1–16, in Autobahn's order.
#[test]
fn case_6_22_x_non_characters_are_valid() {
    let mut list = vectors(&[(true, b"\xef\xbf\xbe"), (true, b"\xef\xbf\xbf")]);
    for first in [0xf0u8, 0xf1, 0xf2, 0xf3, 0xf4] {
        for second in [0x8fu8, 0x9f, 0xaf, 0xbf] {
            if first == 0xf4 && second != 0x8f {
                continue; // beyond U+10FFFF
            }
            for last in [0xbeu8, 0xbf] {
                let bytes = vec![first, second, 0xbf, last];
                if first == 0xf0 && second == 0x8f {
                    continue; // overlong
                }
                list.push((true, bytes));
            }
        }
    }
    check_group("6.22", &list, 34);
}

/// Cases 6.23.1–6.23.7: Unicode specials U+FFF9..U+FFFF, replacement character included.
#[test]
fn case_6_23_x_unicode_specials() {
    let list: Vec<(bool, Vec<u8>)> = (0xb9u8..=0xbf)
        .map(|last| (true, vec![0xef, 0xbf, last]))
        .collect();
    check_group("6.23", &list, 7);
}
