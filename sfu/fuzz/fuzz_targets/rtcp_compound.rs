//! Fuzz target: arbitrary bytes through the RTCP compound-packet iterator.
//!
//! Checked, besides "never panics": iteration ends (at most one packet per 4 bytes), stops
//! after the first error, and every report list and SDES walk validated at parse time can
//! be iterated to its end without running past the packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfu::rtcp::{RtcpPacket, RtcpPackets};

fuzz_target!(|data: &[u8]| {
    let mut packets = 0usize;
    let mut errored = false;
    for packet in RtcpPackets::new(data) {
        assert!(!errored, "nothing after an error");
        packets += 1;
        assert!(packets <= data.len() / 4 + 1);
        match packet {
            Ok(RtcpPacket::SenderReport { reports, .. })
            | Ok(RtcpPacket::ReceiverReport { reports, .. }) => {
                assert!(reports.count() * 24 <= data.len());
            }
            Ok(RtcpPacket::SourceDescription { chunks, .. }) => {
                let text: usize = chunks.map(|(_, _, text)| text.len()).sum();
                assert!(text <= data.len());
            }
            Ok(RtcpPacket::Bye { sources, reason }) => {
                assert_eq!(sources.len() % 4, 0);
                assert!(sources.len() + reason.map_or(0, <[u8]>::len) <= data.len());
            }
            Ok(RtcpPacket::Other { .. }) => {}
            Err(_) => errored = true,
        }
    }
});
