//! Speaking events from the audio-level extension, through the whole unit, and RTCP
//! receiver reports turned into member stats.

mod common;

use std::time::{Duration, Instant};

use common::{drain, Client};
use sfu::extension::{encode_one_byte_extensions, ONE_BYTE_PROFILE};
use sfu::rtcp::ReportBlock;
use sfu::{ChannelKey, Flags, Mode, Sfu, SfuConfig, SfuEvent, Ssrc};

const FRAME: Duration = Duration::from_millis(20);

fn level_packet(client: &mut Client, id: u8, level: u8) -> Vec<u8> {
    let mut body = Vec::new();
    encode_one_byte_extensions(&[(id, &[level])], &mut body);
    client.rtp_with(&[0xF8, 0xFF, 0xFE], &[], Some((ONE_BYTE_PROFILE, &body)))
}

fn speaking_events(sfu: &mut Sfu) -> Vec<bool> {
    std::iter::from_fn(|| sfu.poll_event())
        .filter_map(|event| match event {
            SfuEvent::Speaking { speaking, .. } => Some(speaking),
            SfuEvent::AddressLearned { .. } => None,
        })
        .collect()
}

#[test]
fn speaking_turns_on_after_three_loud_and_off_after_ten_quiet() {
    let mut sfu = Sfu::new(SfuConfig::default());
    let mut alice = Client::new(1, Mode::AeadXChaCha20Poly1305RtpSize);
    let bob = Client::new(2, Mode::AeadXChaCha20Poly1305RtpSize);
    alice.join(&mut sfu, 1);
    bob.join(&mut sfu, 1);
    let (member, ssrc) = (alice.member, alice.ssrc);
    let mut at = Instant::now();
    let mut send = |sfu: &mut Sfu, level: u8| {
        let packet = level_packet(&mut alice, 1, level);
        sfu.handle_datagram(alice.address, &packet, at);
        at += FRAME;
        drain(sfu);
    };
    send(&mut sfu, 20);
    send(&mut sfu, 20);
    assert_eq!(speaking_events(&mut sfu), [] as [bool; 0]);
    send(&mut sfu, 20);
    let on = sfu.poll_event();
    assert_eq!(
        on,
        Some(SfuEvent::Speaking {
            member,
            ssrc,
            speaking: true
        })
    );
    for _ in 0..9 {
        send(&mut sfu, 127);
    }
    assert_eq!(speaking_events(&mut sfu), [] as [bool; 0]);
    send(&mut sfu, 127);
    assert_eq!(speaking_events(&mut sfu), [false]);
    assert_eq!(sfu.poll_timeout(), None);
}

#[test]
fn silence_timeout_mute_and_removal_end_speaking() {
    let mut sfu = Sfu::new(SfuConfig::default());
    let mut alice = Client::new(1, Mode::AeadAes256GcmRtpSize);
    alice.join(&mut sfu, 1);
    let start = Instant::now();
    let talk = |sfu: &mut Sfu, alice: &mut Client, from: Instant| {
        for i in 0..3 {
            let packet = level_packet(alice, 1, 10);
            sfu.handle_datagram(alice.address, &packet, from + FRAME * i);
        }
        assert_eq!(speaking_events(sfu), [true]);
    };
    // The client stops sending: off 200 ms after the last packet, via the timer.
    talk(&mut sfu, &mut alice, start);
    let deadline = sfu.poll_timeout().expect("a speaker has a deadline");
    assert_eq!(deadline, start + FRAME * 2 + Duration::from_millis(200));
    sfu.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(speaking_events(&mut sfu), [] as [bool; 0]);
    sfu.handle_timeout(deadline);
    assert_eq!(speaking_events(&mut sfu), [false]);
    // Server mute while speaking, then a move, then removal: each ends the talk spurt.
    talk(&mut sfu, &mut alice, start + Duration::from_secs(1));
    sfu.set_flags(
        alice.member,
        Flags {
            server_mute: true,
            ..Flags::default()
        },
    )
    .unwrap();
    assert_eq!(speaking_events(&mut sfu), [false]);
    sfu.set_flags(alice.member, Flags::default()).unwrap();
    talk(&mut sfu, &mut alice, start + Duration::from_secs(2));
    sfu.move_member(alice.member, ChannelKey(2)).unwrap();
    assert_eq!(speaking_events(&mut sfu), [false]);
    talk(&mut sfu, &mut alice, start + Duration::from_secs(3));
    sfu.remove(alice.member);
    assert_eq!(speaking_events(&mut sfu), [false]);
    assert_eq!(sfu.poll_timeout(), None);
}

#[test]
fn the_extension_id_is_a_setting() {
    let config = SfuConfig {
        audio_level_extension_id: 5,
        ..SfuConfig::default()
    };
    let mut sfu = Sfu::new(config);
    let mut alice = Client::new(1, Mode::AeadXChaCha20Poly1305RtpSize);
    alice.join(&mut sfu, 1);
    let now = Instant::now();
    for _ in 0..5 {
        let packet = level_packet(&mut alice, 1, 0); // id 1: not the audio level here
        sfu.handle_datagram(alice.address, &packet, now);
    }
    assert_eq!(speaking_events(&mut sfu), [] as [bool; 0]);
    for _ in 0..3 {
        let packet = level_packet(&mut alice, 5, 0);
        sfu.handle_datagram(alice.address, &packet, now);
    }
    assert_eq!(speaking_events(&mut sfu), [true]);
}

#[test]
fn receiver_reports_become_member_stats() {
    let mut sfu = Sfu::new(SfuConfig::default());
    let mut alice = Client::new(1, Mode::AeadAes256GcmRtpSize);
    alice.join(&mut sfu, 1);
    assert_eq!(sfu.member_stats(alice.member).unwrap().reception, None);
    let block = |ssrc: u32, fraction_lost: u8, cumulative_lost: i32, jitter: u32| ReportBlock {
        ssrc: Ssrc(ssrc),
        fraction_lost,
        cumulative_lost,
        jitter,
        ..ReportBlock::default()
    };
    let report = alice.receiver_report(&[block(7, 10, 3, 96), block(8, 64, -2, 480)]);
    sfu.handle_datagram(alice.address, &report, Instant::now());
    let reception = sfu.member_stats(alice.member).unwrap().reception.unwrap();
    assert_eq!((reception.source, reception.fraction_lost), (Ssrc(8), 64));
    assert_eq!((reception.cumulative_lost, reception.jitter), (-2, 480));
    assert_eq!(reception.loss(), 0.25);
    assert_eq!(reception.jitter_ms(), 10.0);
    // RTCP is terminated: nothing forwarded.
    assert!(drain(&mut sfu).is_empty());
    assert_eq!(sfu.counters().rtcp_authenticated, 1);
    // Replayed and tampered RTCP are refused like RTP.
    sfu.handle_datagram(alice.address, &report, Instant::now());
    assert_eq!(sfu.counters().replays, 1);
    let mut tampered = alice.receiver_report(&[block(7, 200, 0, 0)]);
    tampered[12] ^= 1;
    sfu.handle_datagram(alice.address, &tampered, Instant::now());
    assert_eq!(sfu.counters().auth_failures, 1);
    assert_eq!(
        sfu.member_stats(alice.member)
            .unwrap()
            .reception
            .unwrap()
            .fraction_lost,
        64
    );
    assert_eq!(sfu.member_stats(alice.member).unwrap().rtcp_received, 1);
}
