//! Everything a peer can get wrong on the voice port, as values.
//!
//! One enum for the crate: the parsers return it, and `Sfu::handle_datagram` turns each
//! into a counter (the peer sees nothing: a bad datagram is dropped, never answered). The
//! control calls (`Sfu::admit`, `Sfu::set_crypto`, …) return it for the engine's mistakes
//! that are not bugs, such as two members claiming one SSRC.

use std::fmt;

/// Why a datagram or a control call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the format's fixed part, or than a length field promised
    /// (RTP header under 12 bytes, an encrypted packet without room for tag and nonce).
    Truncated,
    /// The two version bits are not 2 (RFC 3550 §5.1, §6.4.1).
    BadVersion,
    /// The CSRC count asks for more 32-bit identifiers than the packet holds.
    CsrcBeyondPacket,
    /// The X bit is set but the extension preamble or its body runs past the end.
    ExtensionBeyondPacket,
    /// An RFC 8285 element's length runs past the extension body.
    ExtensionElementBeyondBody,
    /// The P bit is set but the padding count is 0 or larger than the payload.
    PaddingBeyondPayload,
    /// An RTCP packet's length field runs past the compound packet, or is too short for
    /// its own report count or SDES items.
    BadRtcpLength,
    /// An IP discovery packet with the wrong size, type or length field.
    BadDiscovery,
    /// The AEAD tag did not verify: wrong key, tampered bytes, or not rtpsize framing.
    AuthenticationFailed,
    /// The nonce counter was seen before, or is older than the replay window.
    Replayed,
    /// `admit` with an SSRC that another member of this `Sfu` already uses.
    SsrcInUse,
    /// A control call for a member that was never admitted (or was removed).
    UnknownMember,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::Truncated => "datagram shorter than its format or length fields require",
            Error::BadVersion => "RTP/RTCP version is not 2",
            Error::CsrcBeyondPacket => "RTP CSRC count runs past the packet",
            Error::ExtensionBeyondPacket => "RTP header extension runs past the packet",
            Error::ExtensionElementBeyondBody => "RFC 8285 element runs past the extension",
            Error::PaddingBeyondPayload => "RTP padding count is 0 or exceeds the payload",
            Error::BadRtcpLength => "RTCP length field disagrees with the packet",
            Error::BadDiscovery => "IP discovery packet has the wrong size, type or length",
            Error::AuthenticationFailed => "AEAD authentication failed",
            Error::Replayed => "nonce counter replayed or older than the replay window",
            Error::SsrcInUse => "SSRC already used by another member",
            Error::UnknownMember => "member was never admitted or has been removed",
        };
        f.write_str(text)
    }
}

impl std::error::Error for Error {}
