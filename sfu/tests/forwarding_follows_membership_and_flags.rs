//! Who receives what: channels, deafen, mute, moves and removals, each taking effect at
//! once, and every copy opening under its recipient's key to the sender's payload.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use common::{drain, Client};
use proptest::prelude::*;
use sfu::{ChannelKey, Flags, Mode, Sfu, SfuConfig};

/// Sends one packet from `sender` and returns, per recipient id, the opened packet.
fn send(
    sfu: &mut Sfu,
    clients: &mut [Client],
    sender: usize,
    payload: &[u8],
) -> BTreeMap<u64, Vec<u8>> {
    let datagram = clients[sender].rtp(payload);
    let (seq, ts) = (
        clients[sender].sequence.wrapping_sub(1),
        clients[sender].timestamp.wrapping_sub(960),
    );
    sfu.handle_datagram(clients[sender].address, &datagram, Instant::now());
    let mut got = BTreeMap::new();
    for (destination, bytes) in drain(sfu) {
        let recipient = clients
            .iter()
            .find(|c| c.address == destination)
            .expect("a client's address");
        let received = recipient.open(&bytes);
        assert_eq!(
            received.header.ssrc, clients[sender].ssrc,
            "sender's SSRC kept"
        );
        assert_eq!(received.header.sequence, seq, "sender's sequence kept");
        assert_eq!(received.header.timestamp, ts, "sender's timestamp kept");
        assert_eq!(received.header.payload_type, 120);
        assert!(
            got.insert(recipient.member.0, received.plaintext).is_none(),
            "one copy each"
        );
    }
    got
}

fn ids(got: &BTreeMap<u64, Vec<u8>>) -> Vec<u64> {
    got.keys().copied().collect()
}

#[test]
fn scenario_channels_deafen_mute_move_remove() {
    let mut sfu = Sfu::new(SfuConfig::default());
    let mut clients: Vec<Client> = (0..6)
        .map(|i| {
            let mode = if i % 2 == 0 {
                Mode::AeadXChaCha20Poly1305RtpSize
            } else {
                Mode::AeadAes256GcmRtpSize
            };
            Client::new(i, mode)
        })
        .collect();
    // Channel 1: 0, 1, 2, 3. Channel 2: 4, 5.
    for (i, client) in clients.iter().enumerate() {
        client.join(&mut sfu, if i < 4 { 1 } else { 2 });
    }
    let got = send(&mut sfu, &mut clients, 0, b"hello");
    assert_eq!(ids(&got), [1, 2, 3]);
    assert!(got.values().all(|p| p == b"hello"));
    assert_eq!(ids(&send(&mut sfu, &mut clients, 4, b"other")), [5]);

    // Self-deaf 2, server-deaf 3: only 1 hears 0.
    sfu.set_flags(
        clients[2].member,
        Flags {
            self_deaf: true,
            ..Flags::default()
        },
    )
    .unwrap();
    sfu.set_flags(
        clients[3].member,
        Flags {
            server_deaf: true,
            ..Flags::default()
        },
    )
    .unwrap();
    assert_eq!(ids(&send(&mut sfu, &mut clients, 0, b"a")), [1]);
    // A deafened member still speaks to the others.
    assert_eq!(ids(&send(&mut sfu, &mut clients, 2, b"b")), [0, 1]);
    // Self-mute is informational; server mute drops.
    sfu.set_flags(
        clients[1].member,
        Flags {
            self_mute: true,
            ..Flags::default()
        },
    )
    .unwrap();
    assert_eq!(ids(&send(&mut sfu, &mut clients, 1, b"c")), [0]);
    sfu.set_flags(
        clients[1].member,
        Flags {
            server_mute: true,
            ..Flags::default()
        },
    )
    .unwrap();
    assert!(send(&mut sfu, &mut clients, 1, b"d").is_empty());
    assert_eq!(sfu.counters().muted_dropped, 1);
    sfu.set_flags(clients[1].member, Flags::default()).unwrap();
    sfu.set_flags(clients[2].member, Flags::default()).unwrap();

    // Move 0 to channel 2: it now hears and is heard there only.
    sfu.move_member(clients[0].member, ChannelKey(2)).unwrap();
    assert_eq!(ids(&send(&mut sfu, &mut clients, 0, b"e")), [4, 5]);
    assert_eq!(ids(&send(&mut sfu, &mut clients, 1, b"f")), [2]);
    // Re-admit with the same SSRC is a move too, key and address kept.
    let (member, ssrc) = (clients[0].member, clients[0].ssrc);
    sfu.admit(member, ChannelKey(1), ssrc).unwrap();
    assert_eq!(ids(&send(&mut sfu, &mut clients, 0, b"g")), [1, 2]);

    // Remove 1: it receives nothing and its packets are unknown.
    assert!(sfu.remove(clients[1].member));
    assert!(!sfu.remove(clients[1].member));
    assert_eq!(ids(&send(&mut sfu, &mut clients, 0, b"h")), [2]);
    assert!(send(&mut sfu, &mut clients, 1, b"i").is_empty());
    assert_eq!(sfu.counters().unknown_ssrc, 1);
    assert_eq!(sfu.member_stats(clients[1].member), None);

    // A member without an address (no discovery, no packet yet) gets nothing.
    let late = Client::new(9, Mode::AeadXChaCha20Poly1305RtpSize);
    sfu.admit(late.member, ChannelKey(1), late.ssrc).unwrap();
    sfu.set_crypto(late.member, late.mode, late.key).unwrap();
    assert_eq!(ids(&send(&mut sfu, &mut clients, 0, b"j")), [2]);
}

#[test]
fn each_recipient_counter_increases_by_one_per_copy() {
    let mut sfu = Sfu::new(SfuConfig::default());
    let mut clients: Vec<Client> = (0..3)
        .map(|i| Client::new(i, Mode::AeadAes256GcmRtpSize))
        .collect();
    for client in &clients {
        client.join(&mut sfu, 1);
    }
    let mut counters: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    for round in 0..5 {
        for sender in 0..3 {
            let datagram = clients[sender].rtp(&[round as u8; 80]);
            sfu.handle_datagram(clients[sender].address, &datagram, Instant::now());
            for (destination, bytes) in drain(&mut sfu) {
                let recipient = clients.iter().find(|c| c.address == destination).unwrap();
                counters
                    .entry(recipient.member.0)
                    .or_default()
                    .push(recipient.open(&bytes).counter);
            }
        }
    }
    for (member, seen) in counters {
        // 2 senders × 5 rounds, counters 0..10 in order: never reused, never skipped.
        assert_eq!(seen, (0..10).collect::<Vec<u32>>(), "member {member}");
    }
    let stats = sfu.member_stats(clients[0].member).unwrap();
    assert_eq!(
        (
            stats.packets_received,
            stats.packets_forwarded,
            stats.packets_delivered
        ),
        (5, 10, 10)
    );
    assert_eq!(sfu.counters().forwarded, 30);
}

#[derive(Debug, Clone)]
enum Op {
    Admit(usize, u64),
    Move(usize, u64),
    Remove(usize),
    Flags(usize, Flags),
    Send(usize, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let member = 0usize..6;
    let channel = 1u64..4;
    prop_oneof![
        (member.clone(), channel.clone()).prop_map(|(m, c)| Op::Admit(m, c)),
        (member.clone(), channel).prop_map(|(m, c)| Op::Move(m, c)),
        member.clone().prop_map(Op::Remove),
        (member.clone(), any::<[bool; 4]>()).prop_map(|(m, [a, b, c, d])| Op::Flags(
            m,
            Flags {
                server_mute: a,
                server_deaf: b,
                self_mute: c,
                self_deaf: d
            }
        )),
        (member.clone(), any::<u8>()).prop_map(|(m, p)| Op::Send(m, p)),
        (member, any::<u8>()).prop_map(|(m, p)| Op::Send(m, p)),
    ]
}

proptest! {
    /// Against a model of channels and flags: every send reaches exactly the other
    /// non-deaf members of the sender's channel (none if the sender is server-muted),
    /// and each copy opens to the sender's payload.
    #[test]
    fn matches_a_model(ops in proptest::collection::vec(op(), 1..60)) {
        let mut sfu = Sfu::new(SfuConfig::default());
        let mut clients: Vec<Client> = (0..6).map(|i| Client::new(i, Mode::AeadXChaCha20Poly1305RtpSize)).collect();
        // Model: member -> (channel, flags).
        let mut model: BTreeMap<usize, (u64, Flags)> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Admit(m, c) => {
                    clients[m].join(&mut sfu, c);
                    let flags = model.get(&m).map(|e| e.1).unwrap_or_default();
                    model.insert(m, (c, flags));
                }
                Op::Move(m, c) => {
                    let result = sfu.move_member(clients[m].member, ChannelKey(c));
                    prop_assert_eq!(result.is_ok(), model.contains_key(&m));
                    if let Some(entry) = model.get_mut(&m) {
                        entry.0 = c;
                    }
                }
                Op::Remove(m) => {
                    prop_assert_eq!(sfu.remove(clients[m].member), model.remove(&m).is_some());
                }
                Op::Flags(m, flags) => {
                    let result = sfu.set_flags(clients[m].member, flags);
                    prop_assert_eq!(result.is_ok(), model.contains_key(&m));
                    if let Some(entry) = model.get_mut(&m) {
                        entry.1 = flags;
                    }
                }
                Op::Send(m, p) => {
                    let payload = vec![p; 1 + usize::from(p % 100)];
                    let got = send(&mut sfu, &mut clients, m, &payload);
                    let expected: BTreeSet<u64> = match model.get(&m) {
                        Some(&(channel, flags)) if !flags.server_mute => model
                            .iter()
                            .filter(|&(&other, &(c, f))| other != m && c == channel && !f.deaf())
                            .map(|(&other, _)| other as u64)
                            .collect(),
                        _ => BTreeSet::new(),
                    };
                    prop_assert_eq!(got.keys().copied().collect::<BTreeSet<_>>(), expected);
                    prop_assert!(got.values().all(|plain| *plain == payload));
                }
            }
        }
        prop_assert_eq!(sfu.member_count(), model.len());
    }
}
