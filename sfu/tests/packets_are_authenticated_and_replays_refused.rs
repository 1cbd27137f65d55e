//! What reaches the forwarding path: only packets that authenticate under the sender's
//! key, once each; and what leaves it: CC=0 headers that discord-ext-voice-recv opens.

mod common;

use std::time::Instant;

use common::{drain, Client};
use proptest::prelude::*;
use sfu::discovery::encode_discovery_request;
use sfu::extension::{encode_one_byte_extensions, ONE_BYTE_PROFILE};
use sfu::{ChannelKey, Mode, Sfu, SfuConfig, SfuEvent, Ssrc};

fn pair(mode: Mode) -> (Sfu, Client, Client) {
    let mut sfu = Sfu::new(SfuConfig::default());
    let alice = Client::new(1, mode);
    let bob = Client::new(2, mode);
    alice.join(&mut sfu, 5);
    bob.join(&mut sfu, 5);
    (sfu, alice, bob)
}

#[test]
fn tampered_and_replayed_packets_are_dropped_and_counted() {
    for mode in Mode::ALL {
        let (mut sfu, mut alice, _bob) = pair(mode);
        let now = Instant::now();
        let good = alice.rtp(b"first");
        sfu.handle_datagram(alice.address, &good, now);
        assert_eq!(drain(&mut sfu).len(), 1);
        // The same datagram again: a replay.
        sfu.handle_datagram(alice.address, &good, now);
        assert!(drain(&mut sfu).is_empty());
        assert_eq!(sfu.counters().replays, 1);
        // One flipped bit in the ciphertext, then in the header (AAD).
        for at in [20, 3] {
            let mut bad = alice.rtp(b"second");
            bad[at] ^= 0x40;
            sfu.handle_datagram(alice.address, &bad, now);
        }
        assert!(drain(&mut sfu).is_empty());
        assert_eq!(sfu.counters().auth_failures, 2);
        // A forged packet with a fresh counter did not move the window: the real packets
        // with those counters still go through.
        let mut later = alice.clone_at_counter(1);
        sfu.handle_datagram(alice.address, &later.rtp(b"late"), now);
        assert_eq!(drain(&mut sfu).len(), 1);
        // Late but inside the window: accepted; more than 64 behind: refused.
        alice.counter = 200;
        sfu.handle_datagram(alice.address, &alice.rtp(b"jump"), now);
        alice.counter = 150;
        sfu.handle_datagram(alice.address, &alice.rtp(b"late ok"), now);
        alice.counter = 100;
        sfu.handle_datagram(alice.address, &alice.rtp(b"too old"), now);
        assert_eq!(drain(&mut sfu).len(), 2);
        assert_eq!(sfu.counters().replays, 2);
        let stats = sfu.member_stats(alice.member).unwrap();
        assert_eq!((stats.packets_received, stats.packets_dropped), (4, 4));
    }
}

/// A packet sealed under another member's key, or before any key was set, goes nowhere.
#[test]
fn wrong_key_and_no_key() {
    let (mut sfu, mut alice, bob) = pair(Mode::AeadXChaCha20Poly1305RtpSize);
    alice.key = bob.key;
    sfu.handle_datagram(alice.address, &alice.rtp(b"x"), Instant::now());
    assert_eq!(sfu.counters().auth_failures, 1);
    let carol = Client::new(3, Mode::AeadXChaCha20Poly1305RtpSize);
    sfu.admit(carol.member, ChannelKey(5), carol.ssrc).unwrap();
    let mut carol = carol;
    sfu.handle_datagram(carol.address, &carol.rtp(b"y"), Instant::now());
    assert_eq!(sfu.counters().no_crypto, 1);
    assert!(drain(&mut sfu).is_empty());
}

#[test]
fn csrcs_are_stripped_and_the_extension_survives() {
    for mode in Mode::ALL {
        let (mut sfu, mut alice, bob) = pair(mode);
        let mut body = Vec::new();
        encode_one_byte_extensions(&[(1, &[0x80 | 40]), (3, &[1, 2, 3])], &mut body);
        let datagram = alice.rtp_with(
            b"opus!",
            &[0xAAAA_AAAA, 0xBBBB_BBBB],
            Some((ONE_BYTE_PROFILE, &body)),
        );
        sfu.handle_datagram(alice.address, &datagram, Instant::now());
        let sent = drain(&mut sfu);
        assert_eq!(sent.len(), 1);
        let received = bob.open(&sent[0].1);
        let extension = received.header.extension.expect("X kept");
        assert_eq!(
            (extension.profile, extension.body_len),
            (ONE_BYTE_PROFILE, body.len())
        );
        assert_eq!(received.plaintext, [&body[..], b"opus!"].concat());
        // 12-byte header + 4-byte preamble + ciphertext + tag + counter.
        assert_eq!(sent[0].1.len(), 16 + body.len() + 5 + 16 + 4);
    }
}

#[test]
fn padding_is_validated_after_decryption() {
    let (mut sfu, mut alice, bob) = pair(Mode::AeadXChaCha20Poly1305RtpSize);
    // P set, payload [1, 2, 3] then 2 bytes of padding: forwarded as is. The header is
    // AAD, so the P bit is set before sealing.
    let mut header = alice.rtp(b"")[..12].to_vec();
    header[0] |= 0x20;
    let mut good = Vec::new();
    alice
        .cipher()
        .seal(&header, &[1, 2, 3, 0, 2], alice.counter, &mut good);
    alice.counter += 1;
    sfu.handle_datagram(alice.address, &good, Instant::now());
    let sent = drain(&mut sfu);
    assert_eq!(sent.len(), 1);
    assert!(bob.open(&sent[0].1).header.padding);
    // Padding count 9 for 5 bytes: malformed after decryption, dropped.
    let mut bad = Vec::new();
    alice
        .cipher()
        .seal(&header, &[1, 2, 3, 0, 9], alice.counter, &mut bad);
    sfu.handle_datagram(alice.address, &bad, Instant::now());
    assert!(drain(&mut sfu).is_empty());
    assert_eq!(sfu.counters().malformed, 1);
}

#[test]
fn addresses_come_from_discovery_then_only_from_authenticated_packets() {
    let (mut sfu, mut alice, _bob) = pair(Mode::AeadXChaCha20Poly1305RtpSize);
    assert_eq!(sfu.member_address(alice.member), Some(alice.address));
    // Discovery for an unknown SSRC is not answered.
    sfu.handle_datagram(
        alice.address,
        &encode_discovery_request(Ssrc(999)),
        Instant::now(),
    );
    assert!(drain(&mut sfu).is_empty());
    assert_eq!(sfu.counters().discovery_unknown_ssrc, 1);
    // An authenticated packet from a new port (NAT rebinding) moves the address.
    let rebound = "127.0.0.1:40000".parse().unwrap();
    sfu.handle_datagram(rebound, &alice.rtp(b"x"), Instant::now());
    assert_eq!(drain(&mut sfu).len(), 1, "forwarded to Bob");
    assert_eq!(sfu.member_address(alice.member), Some(rebound));
    assert_eq!(
        sfu.poll_event(),
        Some(SfuEvent::AddressLearned {
            member: alice.member,
            address: rebound
        })
    );
    // A spoofed discovery request for Alice's SSRC is answered to its source, but no
    // longer moves her address.
    let spoofer = "127.0.0.9:6666".parse().unwrap();
    sfu.handle_datagram(
        spoofer,
        &encode_discovery_request(alice.ssrc),
        Instant::now(),
    );
    assert_eq!(
        drain(&mut sfu).iter().map(|t| t.0).collect::<Vec<_>>(),
        [spoofer]
    );
    assert_eq!(sfu.member_address(alice.member), Some(rebound));
    assert_eq!(sfu.poll_event(), None);
    drain(&mut sfu);
}

#[test]
fn keepalives_and_junk_are_counted_not_forwarded() {
    let (mut sfu, alice, _bob) = pair(Mode::AeadXChaCha20Poly1305RtpSize);
    let now = Instant::now();
    sfu.handle_datagram(alice.address, &[0u8; 8], now);
    sfu.handle_datagram(alice.address, &[0x80, 0x78, 0, 1], now);
    sfu.handle_datagram(alice.address, &[0x00; 30], now);
    // A known SSRC but no room for tag and counter.
    let mut short = vec![0x80, 0x78, 0, 1, 0, 0, 0, 0];
    short.extend_from_slice(&alice.ssrc.0.to_be_bytes());
    short.extend_from_slice(&[0; 10]);
    sfu.handle_datagram(alice.address, &short, now);
    assert!(drain(&mut sfu).is_empty());
    assert_eq!(sfu.counters().keepalives, 1);
    assert_eq!(sfu.counters().malformed, 3);
}

proptest! {
    /// Arbitrary datagrams, and real packets with arbitrary corruption, from members and
    /// strangers: never a panic, never a forward of a corrupted packet.
    #[test]
    fn arbitrary_datagrams_never_panic_or_forward(
        junk in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 0..20),
        flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..4),
    ) {
        let (mut sfu, mut alice, _bob) = pair(Mode::AeadAes256GcmRtpSize);
        let now = Instant::now();
        for datagram in &junk {
            sfu.handle_datagram(alice.address, datagram, now);
        }
        let mut corrupted = alice.rtp(b"payload");
        for (at, mask) in flips {
            let len = corrupted.len();
            corrupted[at % len] ^= mask;
        }
        sfu.handle_datagram(alice.address, &corrupted, now);
        // Any transmits are discovery answers to junk that happened to be a request.
        for (_, bytes) in drain(&mut sfu) {
            prop_assert_eq!(bytes.len(), 74);
        }
    }
}
