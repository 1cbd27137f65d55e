//! Sans-IO selective forwarding unit for Flux voice.
//!
//! A Discord voice client sends Opus in RTP over UDP, encrypted with a key the voice
//! gateway handed it. This crate is what sits behind the voice port: it answers IP
//! discovery, authenticates and decrypts each packet with the sender's key, re-encrypts
//! it for every other member of the voice channel with that member's key, reads RTCP
//! receiver reports, and derives who is speaking from the RFC 6464 audio level. Like every
//! low-level Flux crate it never opens a socket and never reads the clock: the engine
//! hands it datagrams, their source address and `now`, and drains the datagrams to send
//! and the events to tell the gateway. Start reading at [`Sfu`].
//!
//! Implements: RFC 3550 §5.1 (RTP header), §6.4 (SR/RR), §6.5 (SDES), §6.6 (BYE); RFC 5761
//! §4 (RTP and RTCP on one port); RFC 8285 (header extensions, both forms); RFC 6464
//! (client-to-mixer audio level); Discord's IP discovery and its `aead_xchacha20_poly1305_rtpsize`
//! and `aead_aes256_gcm_rtpsize` transport modes, byte for byte as discord.py and
//! discord-ext-voice-recv use them (`docs/VOICE.md` draws every layout).
//! Elsewhere: the voice gateway (SSRC assignment, keys, op 5 SPEAKING) and the sockets
//! live in `engine`. DAVE end-to-end encryption is not implemented (sessions run with
//! `dave_protocol_version: 0`); the SFU would forward DAVE frames untouched anyway.
//!
//! Modules, one job each: `rtp` (header parsing), `extension` (RFC 8285 elements and the
//! audio level), `rtcp` (compound packets), `discovery` (IP discovery), `crypto` (the two
//! AEAD framings), `replay` (the 64-packet window), `speaking` (level hysteresis),
//! `transmit` (the reusable output arena), `stats` (counters), `sfu` (the unit).
//!
//! Invariants:
//! - No input from a peer panics: every parser returns `Error`, and the fuzz targets in
//!   `sfu/fuzz/` exercise them on arbitrary bytes.
//! - A forwarded packet is authenticated under the sender's key first and sealed under
//!   each recipient's key with a nonce counter that recipient never saw from us before.
//! - The forwarding path allocates nothing per packet once its buffers have grown.
//!
//! ```
//! use std::time::Instant;
//! use sfu::rtp::{encode_rtp_header, RtpHeader};
//! use sfu::{ChannelKey, MemberId, Mode, Sfu, SfuConfig, Ssrc, VoiceCipher};
//!
//! let mode = Mode::AeadXChaCha20Poly1305RtpSize;
//! let mut sfu = Sfu::new(SfuConfig::default());
//! let (alice, bob) = (MemberId(1), MemberId(2));
//! let (alice_addr, bob_addr) = ("10.0.0.1:5000".parse().unwrap(), "10.0.0.2:5000".parse().unwrap());
//! for (member, ssrc, key, address) in [(alice, 11, [1; 32], alice_addr), (bob, 22, [2; 32], bob_addr)] {
//!     sfu.admit(member, ChannelKey(7), Ssrc(ssrc)).unwrap();
//!     sfu.set_crypto(member, mode, key).unwrap();
//!     // IP discovery tells the SFU where the member is.
//!     sfu.handle_datagram(address, &sfu::discovery::encode_discovery_request(Ssrc(ssrc)), Instant::now());
//! }
//! sfu.clear_transmits(); // the two discovery answers
//!
//! // Alice sends one Opus frame, the way discord.py does.
//! let header = RtpHeader { padding: false, marker: false, payload_type: 120, sequence: 1,
//!     timestamp: 960, ssrc: Ssrc(11), csrc_count: 0, extension: None };
//! let mut aad = Vec::new();
//! encode_rtp_header(&header, &[], &mut aad);
//! let mut datagram = Vec::new();
//! VoiceCipher::new(mode, &[1; 32]).seal(&aad, b"opus", 0, &mut datagram);
//! sfu.handle_datagram(alice_addr, &datagram, Instant::now());
//!
//! // Bob gets it under his own key; Alice gets nothing back.
//! let copy = sfu.poll_transmit().unwrap();
//! assert_eq!(copy.destination, bob_addr);
//! let mut opus = Vec::new();
//! VoiceCipher::new(mode, &[2; 32]).open(copy.payload, 12, &mut opus).unwrap();
//! assert_eq!(opus, b"opus");
//! assert!(sfu.poll_transmit().is_none());
//! ```
#![forbid(unsafe_code)]

pub mod crypto;
pub mod discovery;
mod error;
pub mod extension;
pub mod replay;
pub mod rtcp;
pub mod rtp;
mod sfu;
pub mod speaking;
mod stats;
mod transmit;

pub use crate::crypto::{Mode, VoiceCipher};
pub use crate::error::Error;
pub use crate::replay::ReplayWindow;
pub use crate::rtp::{parse_rtp, parse_rtp_header, RtpHeader, RtpPacket};
pub use crate::sfu::{Flags, Sfu, SfuConfig, SfuEvent, KEEPALIVE_LEN, RTCP_HEADER_LEN};
pub use crate::stats::{Counters, MemberStats, ReceptionStats};
pub use crate::transmit::Transmit;

/// A Flux user in a voice channel: the user's snowflake id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub u64);

/// A voice channel: the channel's snowflake id. Members with equal keys hear each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelKey(pub u64);

/// An RTP synchronisation source: the 32-bit id that tells senders apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssrc(pub u32);

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
