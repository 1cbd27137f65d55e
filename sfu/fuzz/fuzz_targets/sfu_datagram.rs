//! Fuzz target: a sequence of arbitrary datagrams through a whole `Sfu` with three
//! members in one channel, one of them sending real encrypted packets between the junk.
//!
//! Input layout: a list of datagrams, each `len(1) ‖ bytes`; a datagram whose first
//! byte is 0xFF is replaced by a genuine packet from member 1 with the rest as payload.
//! Checked, besides "never panics": every transmit is either a 74-byte discovery answer
//! or a forward that member 2 or 3 can open; counters add up to the datagrams handled.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sfu::rtp::encode_rtp_header;
use sfu::{ChannelKey, MemberId, Mode, RtpHeader, Sfu, SfuConfig, Ssrc, VoiceCipher};

fuzz_target!(|data: &[u8]| {
    let mode = Mode::AeadXChaCha20Poly1305RtpSize;
    let mut sfu = Sfu::new(SfuConfig::default());
    let addresses: Vec<SocketAddr> = (1..=3u16)
        .map(|i| SocketAddr::from(([127, 0, 0, 1], 5000 + i)))
        .collect();
    for i in 1..=3u8 {
        let member = MemberId(u64::from(i));
        sfu.admit(member, ChannelKey(1), Ssrc(u32::from(i)))
            .expect("distinct SSRCs");
        sfu.set_crypto(member, mode, [i; 32])
            .expect("just admitted");
        let request = sfu::discovery::encode_discovery_request(Ssrc(u32::from(i)));
        sfu.handle_datagram(addresses[usize::from(i) - 1], &request, Instant::now());
    }
    sfu.clear_transmits();
    let ciphers: Vec<VoiceCipher> = (1..=3u8)
        .map(|i| VoiceCipher::new(mode, &[i; 32]))
        .collect();
    let start = Instant::now();
    let mut rest = data;
    let mut counter = 0u32;
    let mut handled = 0u64;
    while let [len, ref tail @ ..] = *rest {
        let len = usize::from(len).min(tail.len());
        let (datagram, after) = tail.split_at(len);
        rest = after;
        let now = start + Duration::from_millis(20 * handled);
        if datagram.first() == Some(&0xFF) {
            let header = RtpHeader {
                padding: false,
                marker: false,
                payload_type: 120,
                sequence: counter as u16,
                timestamp: counter.wrapping_mul(960),
                ssrc: Ssrc(1),
                csrc_count: 0,
                extension: None,
            };
            let mut aad = Vec::new();
            encode_rtp_header(&header, &[], &mut aad);
            let mut packet = Vec::new();
            ciphers[0].seal(&aad, &datagram[1..], counter, &mut packet);
            counter += 1;
            sfu.handle_datagram(addresses[0], &packet, now);
        } else {
            sfu.handle_datagram(addresses[0], datagram, now);
        }
        handled += 1;
        sfu.handle_timeout(now);
        while let Some(transmit) = sfu.poll_transmit() {
            let recipient = addresses.iter().position(|&a| a == transmit.destination);
            match recipient {
                Some(index) if transmit.payload.len() != 74 => {
                    assert_ne!(index, 0, "never back to the sender");
                    let mut plain = Vec::new();
                    ciphers[index]
                        .open(transmit.payload, 12, &mut plain)
                        .expect("a forward opens with the recipient's key");
                }
                _ => assert_eq!(
                    transmit.payload.len(),
                    74,
                    "only discovery answers elsewhere"
                ),
            }
        }
        while sfu.poll_event().is_some() {}
    }
    assert_eq!(sfu.counters().datagrams, handled + 3);
});
