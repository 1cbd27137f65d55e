//! Property tests: whatever we encode, the decoder gives back, however the bytes are split.
//!
//! - Random headers survive `encode` → `parse`.
//! - Random message sequences, data messages cut into random fragments (inside UTF-8 code
//!   points too) with Pings and Pongs between the fragments, encoded as masked client frames
//!   with random keys (or unmasked server frames), then cut at random read boundaries, decode
//!   to exactly the messages sent, control frames first where they were interleaved.

mod common;

use common::Event;
use proptest::prelude::*;
use wsframe::{encode_frame, encode_message, Config, Decoder, FrameHeader, Message, Opcode, Role};

#[derive(Clone, Debug)]
struct DataMessage {
    text: bool,
    payload: Vec<u8>,
    /// Fragment boundaries, as indices into `payload`.
    cuts: Vec<prop::sample::Index>,
    /// Control frames sent after fragment number `.0` (modulo the fragment count).
    interleaved: Vec<(prop::sample::Index, Opcode, Vec<u8>)>,
}

#[derive(Clone, Debug)]
enum Item {
    Data(DataMessage),
    Control(Opcode, Vec<u8>),
}

fn control() -> impl Strategy<Value = (Opcode, Vec<u8>)> {
    (
        prop_oneof![Just(Opcode::Ping), Just(Opcode::Pong)],
        proptest::collection::vec(any::<u8>(), 0..=125),
    )
}

fn data_message() -> impl Strategy<Value = DataMessage> {
    let text = proptest::collection::vec(any::<char>(), 0..80)
        .prop_map(|chars| (true, chars.into_iter().collect::<String>().into_bytes()));
    let binary = prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => (65530usize..65540, any::<u8>()).prop_map(|(len, byte)| vec![byte; len]),
    ]
    .prop_map(|bytes| (false, bytes));
    (
        prop_oneof![text, binary],
        proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
        proptest::collection::vec((any::<prop::sample::Index>(), control()), 0..3),
    )
        .prop_map(|((text, payload), cuts, interleaved)| DataMessage {
            text,
            payload,
            cuts,
            interleaved: interleaved
                .into_iter()
                .map(|(at, (op, p))| (at, op, p))
                .collect(),
        })
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        3 => data_message().prop_map(Item::Data),
        1 => control().prop_map(|(opcode, payload)| Item::Control(opcode, payload)),
    ]
}

/// Masks from a seed, so every frame gets its own key.
struct Keys(u64);

impl Keys {
    fn next(&mut self, role: Role) -> Option<[u8; 4]> {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (role == Role::Server).then(|| ((self.0 >> 32) as u32).to_le_bytes())
    }
}

/// Encodes `items` as the peer of a decoder with `role` would; returns the wire bytes and
/// the events the decoder must produce.
fn encode_items(items: &[Item], role: Role, keys: &mut Keys) -> (Vec<u8>, Vec<Event>) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for item in items {
        match item {
            Item::Control(opcode, payload) => {
                push_control(&mut wire, &mut expected, *opcode, payload, keys.next(role));
            }
            Item::Data(message) => {
                let mut points: Vec<usize> = message
                    .cuts
                    .iter()
                    .map(|c| c.index(message.payload.len() + 1))
                    .collect();
                points.push(0);
                points.push(message.payload.len());
                points.sort_unstable();
                points.dedup();
                if points.len() == 1 {
                    points.push(0); // empty payload: one empty frame
                }
                let fragments = points.len() - 1;
                for (index, pair) in points.windows(2).enumerate() {
                    let piece = &message.payload[pair[0]..pair[1]];
                    let opcode = match (index, message.text) {
                        (0, true) => Opcode::Text,
                        (0, false) => Opcode::Binary,
                        _ => Opcode::Continuation,
                    };
                    let header = FrameHeader {
                        fin: index + 1 == fragments,
                        mask: keys.next(role),
                        ..FrameHeader::server(opcode, piece.len())
                    };
                    encode_frame(&mut wire, &header, piece);
                    if index + 1 < fragments {
                        for (at, opcode, payload) in &message.interleaved {
                            if at.index(fragments - 1) == index {
                                push_control(
                                    &mut wire,
                                    &mut expected,
                                    *opcode,
                                    payload,
                                    keys.next(role),
                                );
                            }
                        }
                    }
                }
                expected.push(if message.text {
                    Event::Text(String::from_utf8(message.payload.clone()).unwrap())
                } else {
                    Event::Binary(message.payload.clone())
                });
            }
        }
    }
    (wire, expected)
}

fn push_control(
    wire: &mut Vec<u8>,
    expected: &mut Vec<Event>,
    opcode: Opcode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let message = if opcode == Opcode::Ping {
        Message::Ping(payload)
    } else {
        Message::Pong(payload)
    };
    encode_message(wire, &message, mask);
    expected.push(Event::from_message(message));
}

/// Decodes `wire` read by read, cut at `cuts`.
fn decode_reads(config: Config, wire: &[u8], cuts: &[prop::sample::Index]) -> Vec<Event> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
    points.push(0);
    points.push(wire.len());
    points.sort_unstable();
    let mut decoder = Decoder::new(config);
    let mut events = Vec::new();
    for pair in points.windows(2) {
        let mut input = &wire[pair[0]..pair[1]];
        while let Some(message) = decoder
            .decode(&mut input)
            .expect("valid stream must decode")
        {
            events.push(Event::from_message(message));
        }
        assert!(input.is_empty());
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None, // no regression files next to integration tests
        ..ProptestConfig::default()
    })]

    #[test]
    fn header_encode_parse_round_trip(
        fin in any::<bool>(),
        opcode in prop::sample::select(vec![Opcode::Continuation, Opcode::Text, Opcode::Binary]),
        mask in any::<Option<[u8; 4]>>(),
        payload_len in prop_oneof![0u64..130, 65530u64..65540, 0u64..(1 << 63)],
    ) {
        let header = FrameHeader { fin, rsv: 0, opcode, mask, payload_len };
        let bytes = header.encode();
        prop_assert_eq!(bytes.len(), header.encoded_len());
        prop_assert_eq!(FrameHeader::parse(&bytes), Ok(Some((header, bytes.len()))));
        for cut in 0..bytes.len() {
            prop_assert_eq!(FrameHeader::parse(&bytes[..cut]), Ok(None));
        }
    }

    #[test]
    fn client_streams_round_trip_through_server_decoder(
        items in proptest::collection::vec(item(), 0..8),
        seed in any::<u64>(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        close in any::<Option<(u16, String)>>(),
    ) {
        let (mut wire, mut expected) = encode_items(&items, Role::Server, &mut Keys(seed));
        if let Some((code, reason)) = close {
            // A Close ends the stream; anything after it is ignored.
            let code = 3000 + code % 2000;
            let reason: String = reason.chars().take(30).collect();
            encode_message(&mut wire, &Message::Close { code: Some(code), reason: &reason }, Some([1, 2, 3, 4]));
            expected.push(Event::Close(Some(code), reason));
            let (after, _) = encode_items(&items, Role::Server, &mut Keys(seed ^ 1));
            wire.extend(after);
        }
        let config = Config::server().with_message_len_max(1 << 17).with_frame_len_max(1 << 17);
        prop_assert_eq!(decode_reads(config, &wire, &cuts), expected);
    }

    #[test]
    fn server_streams_round_trip_through_client_decoder(
        items in proptest::collection::vec(item(), 0..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let (wire, expected) = encode_items(&items, Role::Client, &mut Keys(0));
        let config = Config::client().with_message_len_max(1 << 17).with_frame_len_max(1 << 17);
        prop_assert_eq!(decode_reads(config, &wire, &cuts), expected);
    }

    #[test]
    fn every_read_boundary_gives_the_same_result(
        items in proptest::collection::vec(item(), 1..4),
        seed in any::<u64>(),
        read_len in 1usize..40,
    ) {
        let (wire, expected) = encode_items(&items, Role::Server, &mut Keys(seed));
        let config = Config::server().with_message_len_max(1 << 17).with_frame_len_max(1 << 17);
        let mut decoder = Decoder::new(config);
        let mut events = Vec::new();
        for read in wire.chunks(read_len) {
            decoder.handle(read);
            while let Some(result) = decoder.poll() {
                events.push(Event::from_message(result.expect("valid stream must decode")));
            }
        }
        prop_assert_eq!(events, expected);
    }
}
