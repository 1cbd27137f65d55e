//! One test per rule the decoder enforces, table-driven at the edges.

use super::*;

const KEY: [u8; 4] = [0x5A, 0x01, 0xFE, 0x77];

/// What a decode produced, owned so results can be compared after the decoder moves on.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    Failed(Error),
}

fn owned(message: Message<'_>) -> Event {
    match message {
        Message::Text(text) => Event::Text(text.to_owned()),
        Message::Binary(bytes) => Event::Binary(bytes.to_vec()),
        Message::Ping(bytes) => Event::Ping(bytes.to_vec()),
        Message::Pong(bytes) => Event::Pong(bytes.to_vec()),
        Message::Close { code, reason } => Event::Close(code, reason.to_owned()),
    }
}

/// Feeds `bytes` in pieces of `piece_len` and collects every event, stopping at an error.
fn decode_in_pieces(config: Config, bytes: &[u8], piece_len: usize) -> Vec<Event> {
    let mut decoder = Decoder::new(config);
    let mut events = Vec::new();
    for piece in bytes.chunks(piece_len.max(1)) {
        let mut input = piece;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(message)) => events.push(owned(message)),
                Ok(None) => break,
                Err(error) => {
                    events.push(Event::Failed(error));
                    return events;
                }
            }
        }
    }
    events
}

/// Decodes `bytes` whole, and byte by byte, and checks both give the same events.
fn decode(config: Config, bytes: &[u8]) -> Vec<Event> {
    let whole = decode_in_pieces(config, bytes, bytes.len());
    let bytewise = decode_in_pieces(config, bytes, 1);
    assert_eq!(whole, bytewise, "splitting the input changed the result");
    whole
}

/// A frame with any fin/rsv/opcode nibble, masked with `KEY` if `masked`.
fn raw_frame(fin: bool, rsv: u8, opcode: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv,
        opcode: Opcode::Binary,
        mask: masked.then_some(KEY),
        payload_len: payload.len() as u64,
    };
    let mut bytes = header.encode().to_vec();
    bytes[0] = (bytes[0] & 0xF0) | opcode;
    let start = bytes.len();
    bytes.extend_from_slice(payload);
    if masked {
        apply_mask(&mut bytes[start..], KEY, 0);
    }
    bytes
}

/// A masked client frame.
fn client(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
    raw_frame(fin, 0, opcode.as_u4(), true, payload)
}

fn server() -> Config {
    Config::server()
        .with_message_len_max(1 << 17)
        .with_frame_len_max(1 << 17)
}

#[test]
fn payload_lengths_at_form_edges() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536] {
        let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let text = String::from_utf8(payload.clone()).unwrap();
        let mut bytes = client(Opcode::Text, true, &payload);
        bytes.extend(client(Opcode::Binary, true, &payload));
        let expected = vec![Event::Text(text), Event::Binary(payload)];
        if len <= 127 {
            assert_eq!(decode(server(), &bytes), expected, "{len}");
        } else {
            for piece_len in [bytes.len(), 4096, 7] {
                assert_eq!(
                    decode_in_pieces(server(), &bytes, piece_len),
                    expected,
                    "{len}"
                );
            }
        }
    }
}

#[test]
fn server_requires_masked_frames_and_client_forbids_them() {
    for opcode in [
        Opcode::Text,
        Opcode::Binary,
        Opcode::Ping,
        Opcode::Pong,
        Opcode::Close,
    ] {
        let unmasked = raw_frame(true, 0, opcode.as_u4(), false, b"");
        assert_eq!(
            decode(server(), &unmasked),
            [Event::Failed(Error::UnmaskedClientFrame)]
        );
        let masked = raw_frame(true, 0, opcode.as_u4(), true, b"");
        assert_eq!(
            decode(Config::client(), &masked),
            [Event::Failed(Error::MaskedServerFrame)]
        );
    }
    let unmasked = raw_frame(true, 0, 0x2, false, b"ok");
    assert_eq!(
        decode(Config::client(), &unmasked),
        [Event::Binary(b"ok".to_vec())]
    );
    // A continuation must be masked too.
    let mut bytes = client(Opcode::Text, false, b"a");
    bytes.extend(raw_frame(true, 0, 0x0, false, b"b"));
    assert_eq!(
        decode(server(), &bytes),
        [Event::Failed(Error::UnmaskedClientFrame)]
    );
    assert_eq!(Error::UnmaskedClientFrame.close_code(), 1002);
}

#[test]
fn reserved_bits_fail_on_every_frame_kind() {
    for rsv in 1u8..8 {
        for opcode in [0x1, 0x2, 0x8, 0x9, 0xA] {
            let bytes = raw_frame(true, rsv, opcode, true, b"");
            assert_eq!(
                decode(server(), &bytes),
                [Event::Failed(Error::ReservedBitsSet { rsv })]
            );
        }
        // On a continuation inside an open message.
        let mut bytes = client(Opcode::Text, false, b"a");
        bytes.extend(raw_frame(true, rsv, 0x0, true, b"b"));
        assert_eq!(
            decode(server(), &bytes),
            [Event::Failed(Error::ReservedBitsSet { rsv })]
        );
    }
}

#[test]
fn reserved_opcodes_fail() {
    for opcode in (3u8..=7).chain(0xB..=0xF) {
        let mut bytes = client(Opcode::Text, true, b"before");
        bytes.extend(raw_frame(true, 0, opcode, true, b"payload"));
        bytes.extend(client(Opcode::Ping, true, b""));
        assert_eq!(
            decode(server(), &bytes),
            [
                Event::Text("before".into()),
                Event::Failed(Error::ReservedOpcode { opcode })
            ]
        );
    }
}

#[test]
fn control_frames_carry_at_most_125_bytes_and_are_final() {
    for opcode in [Opcode::Ping, Opcode::Pong] {
        let payload = [0xAB; 125];
        let expected = if opcode == Opcode::Ping {
            Event::Ping(payload.to_vec())
        } else {
            Event::Pong(payload.to_vec())
        };
        assert_eq!(
            decode(server(), &client(opcode, true, &payload)),
            [expected]
        );
        // 126 and 127 bytes need the 16-bit length form, which control frames may not use.
        for len in [126, 127, 65535, 65536] {
            let bytes = client(opcode, true, &vec![0; len]);
            assert_eq!(
                decode(server(), &bytes),
                [Event::Failed(Error::ControlFrameTooLong)]
            );
        }
        let bytes = client(opcode, false, b"x");
        assert_eq!(
            decode(server(), &bytes),
            [Event::Failed(Error::FragmentedControlFrame)]
        );
    }
}

#[test]
fn fragments_reassemble_with_control_frames_between() {
    let mut bytes = client(Opcode::Binary, false, b"ab");
    bytes.extend(client(Opcode::Ping, true, b"1"));
    bytes.extend(client(Opcode::Continuation, false, b""));
    bytes.extend(client(Opcode::Pong, true, b"2"));
    bytes.extend(client(Opcode::Continuation, false, b"cd"));
    bytes.extend(client(Opcode::Continuation, true, b"e"));
    bytes.extend(client(Opcode::Text, true, b"next"));
    assert_eq!(
        decode(server(), &bytes),
        [
            Event::Ping(b"1".to_vec()),
            Event::Pong(b"2".to_vec()),
            Event::Binary(b"abcde".to_vec()),
            Event::Text("next".into()),
        ]
    );
}

#[test]
fn continuation_without_start_fails() {
    for fin in [true, false] {
        let bytes = client(Opcode::Continuation, fin, b"x");
        assert_eq!(
            decode(server(), &bytes),
            [Event::Failed(Error::ContinuationWithoutStart)]
        );
        // Also right after a completed message.
        let mut bytes = client(Opcode::Text, true, b"done");
        bytes.extend(client(Opcode::Continuation, fin, b"x"));
        assert_eq!(
            decode(server(), &bytes),
            [
                Event::Text("done".into()),
                Event::Failed(Error::ContinuationWithoutStart)
            ]
        );
    }
}

#[test]
fn new_data_frame_inside_open_message_fails() {
    for (first, second) in [
        (Opcode::Text, Opcode::Text),
        (Opcode::Text, Opcode::Binary),
        (Opcode::Binary, Opcode::Text),
        (Opcode::Binary, Opcode::Binary),
    ] {
        for fin in [true, false] {
            let mut bytes = client(first, false, b"a");
            bytes.extend(client(second, fin, b"b"));
            assert_eq!(
                decode(server(), &bytes),
                [Event::Failed(Error::DataFrameInsideMessage)]
            );
        }
    }
}

#[test]
fn invalid_utf8_fails_with_1007() {
    let bytes = client(
        Opcode::Text,
        true,
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
    );
    assert_eq!(
        decode(server(), &bytes),
        [Event::Failed(Error::InvalidUtf8)]
    );
    assert_eq!(Error::InvalidUtf8.close_code(), 1007);
    // Binary messages are not checked.
    let bytes = client(Opcode::Binary, true, b"\xff\xfe");
    assert_eq!(
        decode(server(), &bytes),
        [Event::Binary(b"\xff\xfe".to_vec())]
    );
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    // One frame: "κόσμε" + F4 90 80 80 + "edited". Feed the header and the valid part, then
    // the byte that breaks the prefix: the error must come before the rest arrives.
    let payload = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited";
    let bytes = client(Opcode::Text, true, payload);
    let header_len = 6;
    let mut decoder = Decoder::new(server());
    let mut valid_part = &bytes[..header_len + 12]; // ends with F4, still a valid prefix
    assert_eq!(decoder.decode(&mut valid_part), Ok(None));
    let mut breaking = &bytes[header_len + 12..header_len + 13];
    assert_eq!(decoder.decode(&mut breaking), Err(Error::InvalidUtf8));
    // And it stays failed.
    let mut rest = &bytes[header_len + 13..];
    assert_eq!(decoder.decode(&mut rest), Err(Error::InvalidUtf8));
}

#[test]
fn invalid_utf8_fails_before_the_next_fragment_or_control_frame() {
    let mut bytes = client(Opcode::Text, false, b"ok\xc0");
    bytes.extend(client(Opcode::Ping, true, b"after"));
    assert_eq!(
        decode(server(), &bytes),
        [Event::Failed(Error::InvalidUtf8)]
    );
}

#[test]
fn code_points_may_span_fragments_but_not_end_a_message_unfinished() {
    let euro = "€".as_bytes();
    let mut bytes = client(Opcode::Text, false, &euro[..1]);
    bytes.extend(client(Opcode::Ping, true, b""));
    bytes.extend(client(Opcode::Continuation, false, &euro[1..2]));
    bytes.extend(client(Opcode::Continuation, true, &euro[2..]));
    assert_eq!(
        decode(server(), &bytes),
        [Event::Ping(vec![]), Event::Text("€".into())]
    );

    let mut bytes = client(Opcode::Text, false, b"a");
    bytes.extend(client(Opcode::Continuation, true, &euro[..2]));
    assert_eq!(
        decode(server(), &bytes),
        [Event::Failed(Error::InvalidUtf8)]
    );
}

#[test]
fn close_payloads_are_validated() {
    let table: &[(&[u8], Event)] = &[
        (b"", Event::Close(None, String::new())),
        (b"\x03", Event::Failed(Error::CloseFrameTooShort)),
        (b"\x03\xe8", Event::Close(Some(1000), String::new())),
        (b"\x0f\xa2bye", Event::Close(Some(4002), "bye".into())),
        (b"\x03\xe8\xff", Event::Failed(Error::InvalidCloseReason)),
        (
            b"\x03\xed",
            Event::Failed(Error::InvalidCloseCode { code: 1005 }),
        ),
        (
            b"\x00\x00",
            Event::Failed(Error::InvalidCloseCode { code: 0 }),
        ),
        (
            b"\x13\x88",
            Event::Failed(Error::InvalidCloseCode { code: 5000 }),
        ),
    ];
    for (payload, expected) in table {
        let bytes = client(Opcode::Close, true, payload);
        assert_eq!(
            decode(server(), &bytes),
            std::slice::from_ref(expected),
            "{payload:x?}"
        );
    }
    assert_eq!(Error::InvalidCloseReason.close_code(), 1007);
}

#[test]
fn input_after_close_is_ignored() {
    let mut bytes = client(Opcode::Text, false, b"part");
    bytes.extend(client(Opcode::Close, true, b"\x03\xe8"));
    bytes.extend(client(Opcode::Continuation, true, b"rest"));
    bytes.extend(client(Opcode::Ping, true, b""));
    bytes.extend([0xFF, 0xFF, 0xFF]); // garbage too
    assert_eq!(
        decode(server(), &bytes),
        [Event::Close(Some(1000), String::new())]
    );

    let mut decoder = Decoder::new(server());
    decoder.handle(&client(Opcode::Close, true, b""));
    assert!(matches!(
        decoder.poll(),
        Some(Ok(Message::Close { code: None, .. }))
    ));
    assert!(decoder.is_closed());
    decoder.handle(&client(Opcode::Text, true, b"ignored"));
    assert!(decoder.poll().is_none());
}

#[test]
fn message_size_limit_fails_from_the_header_alone() {
    let config = Config::server().with_message_len_max(4096);
    // Exactly the limit is fine.
    let bytes = client(Opcode::Binary, true, &[1; 4096]);
    assert_eq!(
        decode_in_pieces(config, &bytes, 1000),
        [Event::Binary(vec![1; 4096])]
    );
    // One more fails as soon as the 4-byte header is in, before any payload byte.
    let bytes = client(Opcode::Binary, true, &[1; 4097]);
    let mut decoder = Decoder::new(config);
    let mut header = &bytes[..4];
    assert_eq!(decoder.decode(&mut header), Ok(None));
    let too_big = Error::MessageTooBig {
        len: 4097,
        len_max: 4096,
    };
    let mut rest_of_header = &bytes[4..8];
    assert_eq!(decoder.decode(&mut rest_of_header), Err(too_big));
    assert_eq!(too_big.close_code(), 1009);
    // Across fragments: fails at the header of the fragment that crosses the limit.
    let mut bytes = client(Opcode::Text, false, &[b'a'; 4000]);
    bytes.extend(client(Opcode::Continuation, false, &[b'b'; 96]));
    bytes.extend(client(Opcode::Continuation, true, &[b'c'; 1]));
    assert_eq!(
        decode_in_pieces(config, &bytes, 512),
        [Event::Failed(Error::MessageTooBig {
            len: 4097,
            len_max: 4096
        })]
    );
    // The limit covers data messages; control frames have their own 125-byte cap.
    let config = Config::server().with_message_len_max(10);
    let bytes = client(Opcode::Ping, true, &[0; 100]);
    assert_eq!(decode(config, &bytes), [Event::Ping(vec![0; 100])]);
}

#[test]
fn huge_announced_lengths_fail_without_buffering() {
    let header = FrameHeader::client(Opcode::Binary, 0, KEY);
    let header = FrameHeader {
        payload_len: (1 << 63) - 1,
        ..header
    };
    let bytes = header.encode();
    let expected = Error::FrameTooBig {
        len: (1 << 63) - 1,
        len_max: 1 << 17,
    };
    assert_eq!(decode(server(), &bytes), [Event::Failed(expected)]);
}

#[test]
fn frame_size_limit_applies_per_frame() {
    let config = Config::server()
        .with_frame_len_max(100)
        .with_message_len_max(1000);
    let mut bytes = client(Opcode::Binary, false, &[0; 100]);
    bytes.extend(client(Opcode::Continuation, true, &[0; 100]));
    assert_eq!(decode(config, &bytes), [Event::Binary(vec![0; 200])]);
    let bytes = client(Opcode::Binary, true, &[0; 101]);
    assert_eq!(
        decode(config, &bytes),
        [Event::Failed(Error::FrameTooBig {
            len: 101,
            len_max: 100
        })]
    );
}

#[test]
fn failure_is_permanent() {
    let mut decoder = Decoder::new(server());
    let mut bad = &raw_frame(true, 0, 0x3, true, b"")[..];
    assert_eq!(
        decoder.decode(&mut bad),
        Err(Error::ReservedOpcode { opcode: 3 })
    );
    assert_eq!(decoder.error(), Some(Error::ReservedOpcode { opcode: 3 }));
    let good = client(Opcode::Text, true, b"fine");
    assert_eq!(
        decoder.decode(&mut good.as_slice()),
        Err(Error::ReservedOpcode { opcode: 3 })
    );
    decoder.handle(&good);
    assert_eq!(
        decoder.poll(),
        Some(Err(Error::ReservedOpcode { opcode: 3 }))
    );
}

#[test]
fn message_buffer_is_reused() {
    let mut bytes = Vec::new();
    for round in 0..4u8 {
        bytes.extend(client(Opcode::Binary, false, &[round; 300]));
        bytes.extend(client(Opcode::Continuation, true, &[round; 300]));
    }
    let mut decoder = Decoder::new(server());
    let mut input = bytes.as_slice();
    let mut addresses = Vec::new();
    while let Some(message) = decoder.decode(&mut input).unwrap() {
        let Message::Binary(payload) = message else {
            panic!("{message:?}")
        };
        assert_eq!(payload.len(), 600);
        addresses.push(payload.as_ptr() as usize);
    }
    assert_eq!(addresses.len(), 4);
    // The first message sized the buffer; the others landed in the same allocation.
    assert!(
        addresses.windows(2).all(|pair| pair[0] == pair[1]),
        "{addresses:x?}"
    );
}

#[test]
fn handle_and_poll_match_decode() {
    let mut bytes = client(Opcode::Text, false, "fragmented ".as_bytes());
    bytes.extend(client(Opcode::Ping, true, b"p"));
    bytes.extend(client(Opcode::Continuation, true, "text ✓".as_bytes()));
    bytes.extend(client(Opcode::Binary, true, &[9; 200]));
    bytes.extend(client(Opcode::Close, true, b"\x03\xe8done"));
    let expected = decode(server(), &bytes);
    for piece_len in [1, 3, 64, bytes.len()] {
        let mut decoder = Decoder::new(server());
        let mut events = Vec::new();
        for piece in bytes.chunks(piece_len) {
            decoder.handle(piece);
            while let Some(result) = decoder.poll() {
                events.push(owned(result.unwrap()));
            }
        }
        assert_eq!(events, expected, "piece length {piece_len}");
    }
}

#[test]
fn a_decoder_between_messages_can_be_replaced_by_a_new_one() {
    let mut bytes = client(Opcode::Text, false, "fragmented ".as_bytes());
    bytes.extend(client(Opcode::Ping, true, b"p"));
    bytes.extend(client(Opcode::Continuation, true, "text ✓".as_bytes()));
    bytes.extend(client(Opcode::Binary, true, &[9; 200]));
    bytes.extend(client(Opcode::Text, true, b"{\"op\":1,\"d\":7}"));
    bytes.extend(client(Opcode::Pong, true, b""));
    bytes.extend(client(Opcode::Close, true, b"\x03\xe8done"));
    let expected = decode(server(), &bytes);
    let mut replaced = 0;
    for piece_len in 1..=bytes.len() {
        let mut decoder = Decoder::new(server());
        let mut events = Vec::new();
        for piece in bytes.chunks(piece_len) {
            let mut input = piece;
            while let Some(message) = decoder.decode(&mut input).unwrap() {
                events.push(owned(message));
            }
            if decoder.is_between_messages() {
                decoder = Decoder::new(server());
                replaced += 1;
            }
        }
        assert_eq!(events, expected, "piece length {piece_len}");
    }
    // Small pieces end at every message boundary, so decoders were replaced.
    assert!(replaced >= 4, "{replaced}");
}

#[test]
fn between_messages_is_false_inside_a_message_and_after_close_or_failure() {
    let fragment = client(Opcode::Text, false, b"part");
    let mut decoder = Decoder::new(server());
    assert!(decoder.is_between_messages());
    let mut input = &fragment[..1];
    assert_eq!(decoder.decode(&mut input), Ok(None));
    assert!(!decoder.is_between_messages(), "half a header");
    let mut input = &fragment[1..];
    assert_eq!(decoder.decode(&mut input), Ok(None));
    assert!(
        !decoder.is_between_messages(),
        "a fragmented message is open"
    );

    let close = client(Opcode::Close, true, b"");
    let mut decoder = Decoder::new(server());
    let mut input = close.as_slice();
    assert!(decoder.decode(&mut input).unwrap().is_some());
    assert!(!decoder.is_between_messages(), "closed");

    let unmasked = raw_frame(true, 0, 1, false, b"x");
    let mut decoder = Decoder::new(server());
    let mut input = unmasked.as_slice();
    assert!(decoder.decode(&mut input).is_err());
    assert!(!decoder.is_between_messages(), "failed");

    let mut decoder = Decoder::new(server());
    decoder.handle(&fragment[..2]);
    assert!(decoder.poll().is_none());
    assert!(!decoder.is_between_messages(), "bytes held by handle");
}
