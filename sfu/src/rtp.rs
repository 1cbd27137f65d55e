//! RTP fixed header, CSRC list and header-extension preamble (RFC 3550 §5.1, §5.3.1).
//!
//! Two entry points, because an encrypted packet can only be half-parsed:
//! - [`parse_rtp_header`] reads what is in the clear in Discord's rtpsize modes: the
//!   12-byte fixed header, the CSRCs and, when X is set, the 4-byte extension preamble
//!   (profile and length). The extension *body* is encrypted there, so it is only
//!   located (its length is checked against the datagram), never read.
//! - [`parse_rtp`] reads a whole cleartext packet: header, extension body, payload, and
//!   strips padding. The forwarding path uses it on the decrypted bytes (see `Sfu`).
//!
//! Elsewhere: the extension elements (`extension.rs`), the AEAD framing (`crypto.rs`).
//!
//! Invariants:
//! - A parsed header's `extension_end()` is within the datagram it came from.
//! - A parsed packet's payload never includes padding, and padding is never longer than
//!   what follows the header. Breaking either is the peer's fault: an `Error`, never a
//!   panic.

use crate::{Error, Ssrc};

/// Length of the fixed RTP header, before CSRCs.
pub const RTP_HEADER_LEN: usize = 12;
/// Length of the header-extension preamble (16-bit profile, 16-bit length in words).
pub const EXTENSION_PREAMBLE_LEN: usize = 4;

/// The cleartext part of an RTP header.
///
/// ```
/// use sfu::{parse_rtp_header, Ssrc};
/// let header = parse_rtp_header(&[0x80, 0x78, 0, 7, 0, 0, 3, 0xC0, 0, 0, 0, 42]).unwrap();
/// assert_eq!((header.payload_type, header.sequence, header.timestamp), (120, 7, 960));
/// assert_eq!(header.ssrc, Ssrc(42));
/// assert_eq!(header.aad_len(), 12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// P: the packet ends in padding whose last byte is its length.
    pub padding: bool,
    /// M: for audio, the first packet after silence.
    pub marker: bool,
    /// 7-bit payload type; Discord's Opus is 120.
    pub payload_type: u8,
    /// Sequence number, +1 per packet, wrapping.
    pub sequence: u16,
    /// Media timestamp; +960 per 20 ms Opus frame at 48 kHz.
    pub timestamp: u32,
    /// Synchronisation source: which sender.
    pub ssrc: Ssrc,
    /// How many CSRCs follow the fixed header (0..=15).
    pub csrc_count: u8,
    /// The extension preamble when X is set.
    pub extension: Option<ExtensionPreamble>,
}

/// The 4-byte preamble of a header extension (RFC 3550 §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionPreamble {
    /// "Defined by profile": 0xBEDE for RFC 8285 one-byte elements, 0x100x for two-byte.
    pub profile: u16,
    /// Length of the body that follows, in bytes (the wire carries 32-bit words).
    pub body_len: usize,
}

impl RtpHeader {
    /// Bytes of fixed header plus CSRCs.
    pub fn fixed_len(&self) -> usize {
        RTP_HEADER_LEN + 4 * usize::from(self.csrc_count)
    }

    /// Bytes that stay in the clear and are authenticated in the rtpsize modes: the fixed
    /// header, the CSRCs and, when X is set, the extension preamble (not its body).
    pub fn aad_len(&self) -> usize {
        self.fixed_len() + self.extension.map_or(0, |_| EXTENSION_PREAMBLE_LEN)
    }

    /// Where the extension body ends and the payload starts, in a cleartext packet.
    pub fn extension_end(&self) -> usize {
        self.aad_len() + self.extension.map_or(0, |e| e.body_len)
    }
}

/// A whole cleartext RTP packet, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header.
    pub header: RtpHeader,
    /// The CSRC list, 4 bytes each.
    pub csrcs: &'a [u8],
    /// The extension body (empty without X), for `extension::Extensions`.
    pub extension_body: &'a [u8],
    /// The payload, padding removed.
    pub payload: &'a [u8],
}

/// Parses the cleartext part of an RTP header (see the module docs).
///
/// Checks version 2, that the CSRCs fit, and that the extension preamble and the body its
/// length announces fit in `datagram`. The body itself is not read.
pub fn parse_rtp_header(datagram: &[u8]) -> Result<RtpHeader, Error> {
    let Some(fixed) = datagram.get(..RTP_HEADER_LEN) else {
        return Err(Error::Truncated);
    };
    if fixed[0] >> 6 != 2 {
        return Err(Error::BadVersion);
    }
    let mut header = RtpHeader {
        padding: fixed[0] & 0x20 != 0,
        marker: fixed[1] & 0x80 != 0,
        payload_type: fixed[1] & 0x7F,
        sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
        timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ssrc: Ssrc(u32::from_be_bytes([
            fixed[8], fixed[9], fixed[10], fixed[11],
        ])),
        csrc_count: fixed[0] & 0x0F,
        extension: None,
    };
    let fixed_len = header.fixed_len();
    if datagram.len() < fixed_len {
        return Err(Error::CsrcBeyondPacket);
    }
    if fixed[0] & 0x10 != 0 {
        let Some(preamble) = datagram.get(fixed_len..fixed_len + EXTENSION_PREAMBLE_LEN) else {
            return Err(Error::ExtensionBeyondPacket);
        };
        let words = u16::from_be_bytes([preamble[2], preamble[3]]);
        header.extension = Some(ExtensionPreamble {
            profile: u16::from_be_bytes([preamble[0], preamble[1]]),
            body_len: 4 * usize::from(words),
        });
        if datagram.len() < header.extension_end() {
            return Err(Error::ExtensionBeyondPacket);
        }
    }
    debug_assert!(header.extension_end() <= datagram.len());
    Ok(header)
}

/// Parses a whole cleartext RTP packet: header, CSRCs, extension body, payload.
///
/// ```
/// use sfu::parse_rtp;
/// // P set: payload [9, 9], then 2 bytes of padding whose last byte says 2.
/// let packet = parse_rtp(&[0xA0, 0x78, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 9, 9, 0, 2]).unwrap();
/// assert_eq!(packet.payload, &[9, 9]);
/// ```
pub fn parse_rtp(datagram: &[u8]) -> Result<RtpPacket<'_>, Error> {
    let header = parse_rtp_header(datagram)?;
    let rest = &datagram[header.extension_end()..];
    let payload_len = rest.len() - padding_len(&header, rest)?;
    Ok(RtpPacket {
        header,
        csrcs: &datagram[RTP_HEADER_LEN..header.fixed_len()],
        extension_body: &datagram[header.aad_len()..header.extension_end()],
        payload: &rest[..payload_len],
    })
}

/// How many bytes of padding end `after_header` (the bytes after the extension body), per
/// the header's P bit: 0 without P, else the last byte, which must be 1..=len.
pub fn padding_len(header: &RtpHeader, after_header: &[u8]) -> Result<usize, Error> {
    if !header.padding {
        return Ok(0);
    }
    match after_header.last() {
        Some(&count) if count != 0 && usize::from(count) <= after_header.len() => {
            Ok(usize::from(count))
        }
        _ => Err(Error::PaddingBeyondPayload),
    }
}

/// Appends `header`'s wire form to `out`: fixed header, `csrcs`, and the extension
/// preamble when `header.extension` is set (the body is the caller's to append).
///
/// `csrcs.len()` must equal `header.csrc_count` and be at most 15, and an extension body
/// length must be a multiple of 4 below 256 KiB; these are our own bytes, so a mismatch
/// is a bug.
pub fn encode_rtp_header(header: &RtpHeader, csrcs: &[u32], out: &mut Vec<u8>) {
    assert_eq!(csrcs.len(), usize::from(header.csrc_count), "CSRC count");
    assert!(csrcs.len() <= 15, "at most 15 CSRCs");
    let first = 0x80
        | (u8::from(header.padding) << 5)
        | (u8::from(header.extension.is_some()) << 4)
        | header.csrc_count;
    out.push(first);
    out.push((u8::from(header.marker) << 7) | (header.payload_type & 0x7F));
    out.extend_from_slice(&header.sequence.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.0.to_be_bytes());
    for csrc in csrcs {
        out.extend_from_slice(&csrc.to_be_bytes());
    }
    if let Some(extension) = header.extension {
        assert_eq!(extension.body_len % 4, 0, "extension body is whole words");
        let words = u16::try_from(extension.body_len / 4).expect("extension body under 256 KiB");
        out.extend_from_slice(&extension.profile.to_be_bytes());
        out.extend_from_slice(&words.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(csrc_count: u8, extension: Option<ExtensionPreamble>) -> RtpHeader {
        RtpHeader {
            padding: false,
            marker: true,
            payload_type: 120,
            sequence: 0xFFFF,
            timestamp: 0xDEAD_BEEF,
            ssrc: Ssrc(0x0102_0304),
            csrc_count,
            extension,
        }
    }

    #[test]
    fn discord_py_header_parses() {
        let bytes = [0x80, 0x78, 0x12, 0x34, 0, 0, 0x03, 0xC0, 0, 0, 0x30, 0x39];
        let parsed = parse_rtp_header(&bytes).unwrap();
        assert_eq!(parsed.sequence, 0x1234);
        assert_eq!(parsed.timestamp, 960);
        assert_eq!(parsed.ssrc, Ssrc(12345));
        assert!(!parsed.marker && !parsed.padding);
        assert_eq!(parsed.extension, None);
        assert_eq!(parse_rtp(&bytes).unwrap().payload, &[] as &[u8]);
    }

    #[test]
    fn malformed_headers_are_errors() {
        let mut ok = Vec::new();
        encode_rtp_header(&header(0, None), &[], &mut ok);
        // Truncated at every length below 12.
        for len in 0..RTP_HEADER_LEN {
            assert_eq!(parse_rtp_header(&ok[..len]), Err(Error::Truncated), "{len}");
        }
        // Versions 0, 1 and 3.
        for version in [0u8, 1, 3] {
            let mut bad = ok.clone();
            bad[0] = (bad[0] & 0x3F) | (version << 6);
            assert_eq!(parse_rtp_header(&bad), Err(Error::BadVersion));
        }
        // CC = 2 with only one CSRC present.
        let mut csrc = ok.clone();
        csrc[0] |= 2;
        csrc.extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(parse_rtp_header(&csrc), Err(Error::CsrcBeyondPacket));
        // X set but the preamble is cut, then the body is cut.
        let mut ext = ok.clone();
        ext[0] |= 0x10;
        ext.extend_from_slice(&[0xBE, 0xDE]);
        assert_eq!(parse_rtp_header(&ext), Err(Error::ExtensionBeyondPacket));
        ext.extend_from_slice(&[0, 2, 0x10, 0, 0, 0]);
        assert_eq!(parse_rtp_header(&ext), Err(Error::ExtensionBeyondPacket));
        ext.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(parse_rtp_header(&ext).unwrap().extension_end(), 24);
    }

    #[test]
    fn padding_edges() {
        let mut base = Vec::new();
        encode_rtp_header(
            &RtpHeader {
                padding: true,
                ..header(0, None)
            },
            &[],
            &mut base,
        );
        // No bytes after the header at all: nowhere to read the count.
        assert_eq!(parse_rtp(&base), Err(Error::PaddingBeyondPayload));
        // Count 0 is invalid (the count includes itself).
        let zero = [base.clone(), vec![1, 2, 0]].concat();
        assert_eq!(parse_rtp(&zero), Err(Error::PaddingBeyondPayload));
        // Count longer than what follows the header.
        let long = [base.clone(), vec![1, 2, 4]].concat();
        assert_eq!(parse_rtp(&long), Err(Error::PaddingBeyondPayload));
        // Exactly all of it: an empty payload.
        let all = [base.clone(), vec![1, 2, 3]].concat();
        assert_eq!(parse_rtp(&all).unwrap().payload, &[] as &[u8]);
        let one = [base, vec![1, 2, 1]].concat();
        assert_eq!(parse_rtp(&one).unwrap().payload, &[1, 2]);
    }

    #[test]
    fn sequence_and_timestamp_wrap_values_survive() {
        for (sequence, timestamp) in [(0u16, 0u32), (0xFFFF, u32::MAX), (0x8000, 0x8000_0000)] {
            let mut bytes = Vec::new();
            let h = RtpHeader {
                sequence,
                timestamp,
                ..header(0, None)
            };
            encode_rtp_header(&h, &[], &mut bytes);
            assert_eq!(parse_rtp_header(&bytes), Ok(h));
        }
    }

    fn arb_header() -> impl Strategy<Value = (RtpHeader, Vec<u32>, Vec<u8>, Vec<u8>, u8)> {
        (
            any::<(bool, u8, u16, u32, u32)>(),
            proptest::collection::vec(any::<u32>(), 0..=15),
            proptest::option::of((any::<u16>(), 0usize..8)),
            proptest::collection::vec(any::<u8>(), 0..64),
            0u8..8,
        )
            .prop_map(
                |((marker, pt, sequence, timestamp, ssrc), csrcs, ext, payload, pad)| {
                    let extension = ext.map(|(profile, words)| ExtensionPreamble {
                        profile,
                        body_len: 4 * words,
                    });
                    let body: Vec<u8> = (0..extension.map_or(0, |e| e.body_len))
                        .map(|i| i as u8)
                        .collect();
                    let header = RtpHeader {
                        padding: pad > 0,
                        marker,
                        payload_type: pt & 0x7F,
                        sequence,
                        timestamp,
                        ssrc: Ssrc(ssrc),
                        csrc_count: csrcs.len() as u8,
                        extension,
                    };
                    (header, csrcs, body, payload, pad)
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip((header, csrcs, body, payload, pad) in arb_header()) {
            let mut bytes = Vec::new();
            encode_rtp_header(&header, &csrcs, &mut bytes);
            bytes.extend_from_slice(&body);
            bytes.extend_from_slice(&payload);
            if pad > 0 {
                bytes.extend(std::iter::repeat_n(0, usize::from(pad) - 1));
                bytes.push(pad);
            }
            let packet = parse_rtp(&bytes).unwrap();
            prop_assert_eq!(packet.header, header);
            prop_assert_eq!(packet.extension_body, &body[..]);
            prop_assert_eq!(packet.payload, &payload[..]);
            prop_assert_eq!(packet.csrcs.len(), 4 * csrcs.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            if let Ok(header) = parse_rtp_header(&bytes) {
                prop_assert!(header.extension_end() <= bytes.len());
            }
            if let Ok(packet) = parse_rtp(&bytes) {
                prop_assert!(packet.payload.len() + packet.header.extension_end() <= bytes.len());
            }
        }
    }
}
