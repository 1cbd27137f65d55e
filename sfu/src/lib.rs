//! Sans-IO selective forwarding unit for Flux voice.
//!
//! This crate will parse RTP (RFC 3550) and RTCP compound packets itself, forward each
//! encrypted RTP packet to every other member of a voice channel, and detect speaking
//! from the RFC 6464 audio-level header extension. Like every low-level Flux crate it
//! never opens a socket and never reads the clock: the engine hands it datagrams and
//! `now`, and drains the datagrams to send.
//!
//! Status: skeleton. Only the first step of every voice packet exists today: telling
//! RTP from RTCP when both share one UDP port (RFC 5761 §4), which the forwarding path
//! will build on.
#![forbid(unsafe_code)]

/// What a datagram on the voice port is, judged by its first two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// An RTP media packet (version 2, payload type outside 64..=95).
    Rtp,
    /// An RTCP packet (version 2, packet type 192..=223, i.e. payload type 64..=95).
    Rtcp,
}

/// Demultiplexes RTP and RTCP sharing one port, as RFC 5761 §4 describes.
///
/// Returns `None` for anything that is not version-2 RTP/RTCP (too short, or another
/// protocol such as STUN or the Discord IP-discovery packet), so the caller can route or
/// drop it without a panic.
///
/// ```
/// use sfu::{classify, PacketKind};
/// assert_eq!(classify(&[0x80, 0x78, 0, 1]), Some(PacketKind::Rtp));
/// assert_eq!(classify(&[0x80, 0xC8, 0, 6]), Some(PacketKind::Rtcp)); // sender report
/// assert_eq!(classify(&[0x00, 0x01]), None);
/// ```
pub fn classify(datagram: &[u8]) -> Option<PacketKind> {
    let [first, second, ..] = *datagram else {
        return None;
    };
    if first >> 6 != 2 {
        return None;
    }
    // The second byte is marker bit + 7-bit payload type for RTP, or the full 8-bit
    // packet type for RTCP. RTCP types 192..=223 map to payload types 64..=95 once the
    // marker bit is masked off, a range RFC 5761 reserves so the two never collide.
    let payload_type = second & 0x7F;
    if (64..=95).contains(&payload_type) {
        Some(PacketKind::Rtcp)
    } else {
        Some(PacketKind::Rtp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtcp_types_are_recognised_and_rtp_opus_is_not_rtcp() {
        for packet_type in 192u8..=223 {
            assert_eq!(
                classify(&[0x81, packet_type]),
                Some(PacketKind::Rtcp),
                "{packet_type}"
            );
        }
        // Opus as Discord sends it: payload type 120, with and without the marker bit.
        assert_eq!(classify(&[0x80, 120]), Some(PacketKind::Rtp));
        assert_eq!(classify(&[0x90, 0x80 | 120]), Some(PacketKind::Rtp));
        // Version 1 and truncated datagrams are neither.
        assert_eq!(classify(&[0x40, 120]), None);
        assert_eq!(classify(&[0x80]), None);
        assert_eq!(classify(&[]), None);
    }
}
