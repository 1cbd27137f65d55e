//! RTCP compound packets (RFC 3550 §6): SR, RR, SDES and BYE parsed, others skipped.
//!
//! A compound packet is several RTCP packets back to back, each starting with a 4-byte
//! header (`V=2 | P | count(5)`, packet type, length in 32-bit words minus one).
//! [`RtcpPackets`] walks them without allocating; each report list is validated when its
//! packet is parsed, so iterating the report blocks or SDES chunks afterwards cannot fail.
//!
//! The SFU terminates RTCP: it reads receiver reports for `MemberStats` and never forwards
//! RTCP. Decryption (the 8-byte header is AAD in the rtpsize modes) is in `crypto.rs`.
//!
//! Invariant: every length is checked against the bytes present before it is used; a
//! compound packet that lies about a length yields `Error::BadRtcpLength` and iteration
//! stops there.

use crate::{Error, Ssrc};

/// Length of one report block in an SR or RR.
pub const REPORT_BLOCK_LEN: usize = 24;
/// RTCP packet types.
pub const SENDER_REPORT: u8 = 200;
/// Receiver report.
pub const RECEIVER_REPORT: u8 = 201;
/// Source description.
pub const SOURCE_DESCRIPTION: u8 = 202;
/// Goodbye.
pub const BYE: u8 = 203;

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// SR (type 200): what the sender sent, plus reports on what it received.
    SenderReport {
        /// The sender.
        ssrc: Ssrc,
        /// The sender-info block.
        info: SenderInfo,
        /// Reports on sources it receives.
        reports: ReportBlocks<'a>,
    },
    /// RR (type 201): reports on what the sender of this RTCP packet received.
    ReceiverReport {
        /// The reporter.
        ssrc: Ssrc,
        /// One block per source it hears.
        reports: ReportBlocks<'a>,
    },
    /// SDES (type 202): already checked, walk it with [`SdesItems`].
    SourceDescription {
        /// Number of chunks.
        chunk_count: u8,
        /// The chunks' bytes.
        chunks: SdesItems<'a>,
    },
    /// BYE (type 203): these sources leave.
    Bye {
        /// 4 bytes per SSRC.
        sources: &'a [u8],
        /// The optional reason text.
        reason: Option<&'a [u8]>,
    },
    /// Any other packet type (APP, feedback, XR): skipped.
    Other {
        /// Its packet type.
        packet_type: u8,
    },
}

/// The 20-byte sender-info block of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// NTP timestamp, 32.32 fixed point.
    pub ntp_timestamp: u64,
    /// The RTP timestamp matching it.
    pub rtp_timestamp: u32,
    /// Packets sent so far.
    pub packet_count: u32,
    /// Payload octets sent so far.
    pub octet_count: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// Which source this block is about.
    pub ssrc: Ssrc,
    /// Fraction of packets lost since the previous report, in 1/256ths.
    pub fraction_lost: u8,
    /// Packets lost since the start, 24-bit signed (duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Interarrival jitter in timestamp units (1/48000 s for Opus).
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from the source.
    pub last_sender_report: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sender_report: u32,
}

/// The report blocks of an SR or RR; length already checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a>(&'a [u8]);

impl<'a> Iterator for ReportBlocks<'a> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let (block, rest) = self.0.split_first_chunk::<REPORT_BLOCK_LEN>()?;
        self.0 = rest;
        let word =
            |i: usize| u32::from_be_bytes([block[i], block[i + 1], block[i + 2], block[i + 3]]);
        // Sign-extend the 24-bit cumulative count.
        let cumulative_lost = (i32::from_be_bytes([block[5], block[6], block[7], 0])) >> 8;
        Some(ReportBlock {
            ssrc: Ssrc(word(0)),
            fraction_lost: block[4],
            cumulative_lost,
            highest_sequence: word(8),
            jitter: word(12),
            last_sender_report: word(16),
            delay_since_last_sender_report: word(20),
        })
    }
}

/// The items of an SDES packet, as `(ssrc, item type, text)`; checked at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItems<'a> {
    bytes: &'a [u8],
    chunks_left: u8,
    ssrc: Option<Ssrc>,
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = (Ssrc, u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // `parse_sdes` walked these exact bytes with the same steps, so every `get` below
        // succeeds; a `None` would only end the iteration early.
        loop {
            let ssrc = match self.ssrc {
                Some(ssrc) => ssrc,
                None => {
                    if self.chunks_left == 0 {
                        return None;
                    }
                    let (word, rest) = self.bytes.split_first_chunk::<4>()?;
                    self.bytes = rest;
                    self.chunks_left -= 1;
                    *self.ssrc.insert(Ssrc(u32::from_be_bytes(*word)))
                }
            };
            match sdes_item(self.bytes) {
                SdesStep::Item(kind, text, rest) => {
                    self.bytes = rest;
                    return Some((ssrc, kind, text));
                }
                SdesStep::End(rest) => {
                    self.bytes = rest;
                    self.ssrc = None;
                }
                SdesStep::Malformed => return None,
            }
        }
    }
}

/// Iterator over the packets of a compound RTCP packet.
///
/// ```
/// use sfu::rtcp::{encode_receiver_report, RtcpPacket, RtcpPackets, ReportBlock};
/// use sfu::Ssrc;
/// let mut bytes = Vec::new();
/// let block = ReportBlock { ssrc: Ssrc(7), fraction_lost: 64, ..Default::default() };
/// encode_receiver_report(Ssrc(1), &[block], &mut bytes);
/// match RtcpPackets::new(&bytes).next() {
///     Some(Ok(RtcpPacket::ReceiverReport { ssrc, mut reports })) => {
///         assert_eq!(ssrc, Ssrc(1));
///         assert_eq!(reports.next(), Some(block));
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RtcpPackets<'a> {
    rest: &'a [u8],
}

impl<'a> RtcpPackets<'a> {
    /// Packets of `compound`, in order.
    pub fn new(compound: &'a [u8]) -> RtcpPackets<'a> {
        RtcpPackets { rest: compound }
    }
}

impl<'a> Iterator for RtcpPackets<'a> {
    type Item = Result<RtcpPacket<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let result = split_packet(self.rest);
        match result {
            Ok((packet, rest)) => {
                self.rest = rest;
                Some(Ok(packet))
            }
            Err(error) => {
                self.rest = &[];
                Some(Err(error))
            }
        }
    }
}

fn split_packet(bytes: &[u8]) -> Result<(RtcpPacket<'_>, &[u8]), Error> {
    let Some(header) = bytes.first_chunk::<4>() else {
        return Err(Error::Truncated);
    };
    if header[0] >> 6 != 2 {
        return Err(Error::BadVersion);
    }
    let len = 4 * (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1);
    let Some(packet) = bytes.get(..len) else {
        return Err(Error::BadRtcpLength);
    };
    let count = header[0] & 0x1F;
    let mut body = &packet[4..];
    if header[0] & 0x20 != 0 {
        // Padding: the last byte counts it, header excluded.
        match body.last() {
            Some(&pad) if pad != 0 && usize::from(pad) <= body.len() => {
                body = &body[..body.len() - usize::from(pad)];
            }
            _ => return Err(Error::BadRtcpLength),
        }
    }
    let parsed = match header[1] {
        SENDER_REPORT => {
            let (ssrc, rest) = take_ssrc(body)?;
            let Some((info, rest)) = rest.split_first_chunk::<20>() else {
                return Err(Error::BadRtcpLength);
            };
            let word =
                |i: usize| u32::from_be_bytes([info[i], info[i + 1], info[i + 2], info[i + 3]]);
            RtcpPacket::SenderReport {
                ssrc,
                info: SenderInfo {
                    ntp_timestamp: (u64::from(word(0)) << 32) | u64::from(word(4)),
                    rtp_timestamp: word(8),
                    packet_count: word(12),
                    octet_count: word(16),
                },
                reports: report_blocks(rest, count)?,
            }
        }
        RECEIVER_REPORT => {
            let (ssrc, rest) = take_ssrc(body)?;
            RtcpPacket::ReceiverReport {
                ssrc,
                reports: report_blocks(rest, count)?,
            }
        }
        SOURCE_DESCRIPTION => RtcpPacket::SourceDescription {
            chunk_count: count,
            chunks: parse_sdes(body, count)?,
        },
        BYE => {
            let Some(sources) = body.get(..4 * usize::from(count)) else {
                return Err(Error::BadRtcpLength);
            };
            let after = &body[sources.len()..];
            let reason = match after.split_first() {
                None => None,
                Some((&reason_len, text)) => match text.get(..usize::from(reason_len)) {
                    Some(reason) => Some(reason),
                    None => return Err(Error::BadRtcpLength),
                },
            };
            RtcpPacket::Bye { sources, reason }
        }
        packet_type => RtcpPacket::Other { packet_type },
    };
    Ok((parsed, &bytes[len..]))
}

fn take_ssrc(body: &[u8]) -> Result<(Ssrc, &[u8]), Error> {
    match body.split_first_chunk::<4>() {
        Some((word, rest)) => Ok((Ssrc(u32::from_be_bytes(*word)), rest)),
        None => Err(Error::BadRtcpLength),
    }
}

fn report_blocks(rest: &[u8], count: u8) -> Result<ReportBlocks<'_>, Error> {
    // Profile-specific extensions may follow the blocks; they are ignored.
    match rest.get(..REPORT_BLOCK_LEN * usize::from(count)) {
        Some(blocks) => Ok(ReportBlocks(blocks)),
        None => Err(Error::BadRtcpLength),
    }
}

enum SdesStep<'a> {
    Item(u8, &'a [u8], &'a [u8]),
    /// The END item and the chunk's padding consumed; the next chunk's bytes.
    End(&'a [u8]),
    Malformed,
}

/// One step through an SDES chunk's items. `bytes` starts at an item; the chunk started
/// on a word boundary, so padding after END runs to the next multiple of 4 measured from
/// the end of the packet body (chunks are whole words).
fn sdes_item(bytes: &[u8]) -> SdesStep<'_> {
    match bytes.split_first() {
        None => SdesStep::Malformed,
        Some((0, rest)) => {
            // END, then zero padding to the next word boundary (the body's length is whole
            // words, so the boundary is where `rest.len()` is a multiple of 4).
            let pad = rest.len() % 4;
            SdesStep::End(&rest[pad..])
        }
        Some((&kind, rest)) => match rest.split_first() {
            Some((&len, text)) => match text.get(..usize::from(len)) {
                Some(value) => SdesStep::Item(kind, value, &text[usize::from(len)..]),
                None => SdesStep::Malformed,
            },
            None => SdesStep::Malformed,
        },
    }
}

/// Walks the SDES chunks once to check every length, so `SdesItems` can be infallible.
fn parse_sdes(body: &[u8], count: u8) -> Result<SdesItems<'_>, Error> {
    let mut bytes = body;
    for _ in 0..count {
        let Some((_, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(Error::BadRtcpLength);
        };
        bytes = rest;
        // Each item consumes at least 2 bytes, so this ends within `body.len()` steps.
        loop {
            match sdes_item(bytes) {
                SdesStep::Item(_, _, rest) => bytes = rest,
                SdesStep::End(rest) => {
                    bytes = rest;
                    break;
                }
                SdesStep::Malformed => return Err(Error::BadRtcpLength),
            }
        }
    }
    Ok(SdesItems {
        bytes: body,
        chunks_left: count,
        ssrc: None,
    })
}

fn encode_header(padding: bool, count: u8, packet_type: u8, body_len: usize, out: &mut Vec<u8>) {
    assert!(count < 32, "RTCP count is 5 bits");
    assert_eq!(body_len % 4, 0, "RTCP packets are whole words");
    let words = u16::try_from(body_len / 4).expect("RTCP packet under 256 KiB");
    out.push(0x80 | (u8::from(padding) << 5) | count);
    out.push(packet_type);
    out.extend_from_slice(&words.to_be_bytes());
}

fn encode_blocks(blocks: &[ReportBlock], out: &mut Vec<u8>) {
    for block in blocks {
        out.extend_from_slice(&block.ssrc.0.to_be_bytes());
        out.push(block.fraction_lost);
        out.extend_from_slice(&block.cumulative_lost.to_be_bytes()[1..]);
        out.extend_from_slice(&block.highest_sequence.to_be_bytes());
        out.extend_from_slice(&block.jitter.to_be_bytes());
        out.extend_from_slice(&block.last_sender_report.to_be_bytes());
        out.extend_from_slice(&block.delay_since_last_sender_report.to_be_bytes());
    }
}

/// Appends an RR from `ssrc` with `blocks` (at most 31) to `out`.
pub fn encode_receiver_report(ssrc: Ssrc, blocks: &[ReportBlock], out: &mut Vec<u8>) {
    let count = u8::try_from(blocks.len()).expect("at most 31 report blocks");
    encode_header(false, count, RECEIVER_REPORT, 4 + 24 * blocks.len(), out);
    out.extend_from_slice(&ssrc.0.to_be_bytes());
    encode_blocks(blocks, out);
}

/// Appends an SR from `ssrc` with `blocks` (at most 31) to `out`.
pub fn encode_sender_report(
    ssrc: Ssrc,
    info: &SenderInfo,
    blocks: &[ReportBlock],
    out: &mut Vec<u8>,
) {
    let count = u8::try_from(blocks.len()).expect("at most 31 report blocks");
    encode_header(false, count, SENDER_REPORT, 24 + 24 * blocks.len(), out);
    out.extend_from_slice(&ssrc.0.to_be_bytes());
    out.extend_from_slice(&info.ntp_timestamp.to_be_bytes());
    out.extend_from_slice(&info.rtp_timestamp.to_be_bytes());
    out.extend_from_slice(&info.packet_count.to_be_bytes());
    out.extend_from_slice(&info.octet_count.to_be_bytes());
    encode_blocks(blocks, out);
}

/// Appends an SDES with one chunk: `ssrc` and its CNAME (at most 255 bytes).
pub fn encode_sdes_cname(ssrc: Ssrc, cname: &[u8], out: &mut Vec<u8>) {
    let len = u8::try_from(cname.len()).expect("CNAME at most 255 bytes");
    // ssrc, CNAME item (type 1, len, text), END, padded to a word.
    let body_len = (4 + 2 + cname.len() + 1).div_ceil(4) * 4;
    encode_header(false, 1, SOURCE_DESCRIPTION, body_len, out);
    let start = out.len();
    out.extend_from_slice(&ssrc.0.to_be_bytes());
    out.extend_from_slice(&[1, len]);
    out.extend_from_slice(cname);
    out.push(0);
    out.resize(start + body_len, 0);
}

/// Appends a BYE for `sources` (at most 31) with an optional reason (at most 255 bytes).
pub fn encode_bye(sources: &[Ssrc], reason: Option<&[u8]>, out: &mut Vec<u8>) {
    let count = u8::try_from(sources.len()).expect("at most 31 sources");
    let reason_len = reason.map_or(0, |r| 1 + r.len());
    let body_len = (4 * sources.len() + reason_len).div_ceil(4) * 4;
    encode_header(false, count, BYE, body_len, out);
    let start = out.len();
    for source in sources {
        out.extend_from_slice(&source.0.to_be_bytes());
    }
    if let Some(reason) = reason {
        out.push(u8::try_from(reason.len()).expect("BYE reason at most 255 bytes"));
        out.extend_from_slice(reason);
    }
    out.resize(start + body_len, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block(ssrc: u32, cumulative_lost: i32) -> ReportBlock {
        ReportBlock {
            ssrc: Ssrc(ssrc),
            fraction_lost: 25,
            cumulative_lost,
            highest_sequence: 70_000,
            jitter: 480,
            last_sender_report: 1,
            delay_since_last_sender_report: 2,
        }
    }

    #[test]
    fn compound_of_every_kind_parses() {
        let mut bytes = Vec::new();
        let info = SenderInfo {
            ntp_timestamp: 0x0102_0304_0506_0708,
            rtp_timestamp: 9,
            packet_count: 10,
            octet_count: 11,
        };
        encode_sender_report(Ssrc(1), &info, &[block(2, -3)], &mut bytes);
        encode_receiver_report(
            Ssrc(1),
            &[block(3, 8_388_607), block(4, -8_388_608)],
            &mut bytes,
        );
        encode_sdes_cname(Ssrc(1), b"flux", &mut bytes);
        encode_bye(&[Ssrc(1), Ssrc(5)], Some(b"moved"), &mut bytes);
        let packets: Vec<_> = RtcpPackets::new(&bytes).map(Result::unwrap).collect();
        assert_eq!(packets.len(), 4);
        let RtcpPacket::SenderReport {
            ssrc,
            info: got,
            reports,
        } = packets[0]
        else {
            panic!("{:?}", packets[0]);
        };
        assert_eq!((ssrc, got), (Ssrc(1), info));
        assert_eq!(reports.collect::<Vec<_>>(), [block(2, -3)]);
        let RtcpPacket::ReceiverReport { reports, .. } = packets[1] else {
            panic!("{:?}", packets[1]);
        };
        assert_eq!(
            reports.collect::<Vec<_>>(),
            [block(3, 8_388_607), block(4, -8_388_608)]
        );
        let RtcpPacket::SourceDescription { chunks, .. } = packets[2] else {
            panic!("{:?}", packets[2]);
        };
        assert_eq!(chunks.collect::<Vec<_>>(), [(Ssrc(1), 1, &b"flux"[..])]);
        assert_eq!(
            packets[3],
            RtcpPacket::Bye {
                sources: &[0, 0, 0, 1, 0, 0, 0, 5],
                reason: Some(b"moved"),
            }
        );
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut rr = Vec::new();
        encode_receiver_report(Ssrc(1), &[block(2, 0)], &mut rr);
        // Length field one word too long for the datagram.
        let mut long = rr.clone();
        long[3] += 1;
        assert_eq!(
            RtcpPackets::new(&long).next(),
            Some(Err(Error::BadRtcpLength))
        );
        // Report count 2 in a packet with room for 1.
        let mut count = rr.clone();
        count[0] += 1;
        assert_eq!(
            RtcpPackets::new(&count).next(),
            Some(Err(Error::BadRtcpLength))
        );
        // Truncated header, bad version.
        assert_eq!(
            RtcpPackets::new(&rr[..3]).next(),
            Some(Err(Error::Truncated))
        );
        let mut version = rr.clone();
        version[0] &= 0x3F;
        assert_eq!(
            RtcpPackets::new(&version).next(),
            Some(Err(Error::BadVersion))
        );
        // An SDES item running past its packet.
        let mut sdes = Vec::new();
        encode_sdes_cname(Ssrc(1), b"abc", &mut sdes);
        sdes[9] = 200;
        assert_eq!(
            RtcpPackets::new(&sdes).next(),
            Some(Err(Error::BadRtcpLength))
        );
        // Padding longer than the packet.
        let mut padded = rr.clone();
        padded[0] |= 0x20;
        *padded.last_mut().unwrap() = 200;
        assert_eq!(
            RtcpPackets::new(&padded).next(),
            Some(Err(Error::BadRtcpLength))
        );
        // After an error the iterator stops.
        let mut after = count.clone();
        after.extend_from_slice(&rr);
        let mut packets = RtcpPackets::new(&after);
        assert!(packets.next().unwrap().is_err());
        assert!(packets.next().is_none());
    }

    proptest! {
        #[test]
        fn receiver_report_round_trip(
            ssrc in any::<u32>(),
            blocks in proptest::collection::vec(
                (any::<u32>(), any::<u8>(), -8_388_608i32..8_388_608, any::<[u32; 4]>()),
                0..31,
            ),
        ) {
            let blocks: Vec<ReportBlock> = blocks
                .into_iter()
                .map(|(ssrc, fraction_lost, cumulative_lost, [a, b, c, d])| ReportBlock {
                    ssrc: Ssrc(ssrc),
                    fraction_lost,
                    cumulative_lost,
                    highest_sequence: a,
                    jitter: b,
                    last_sender_report: c,
                    delay_since_last_sender_report: d,
                })
                .collect();
            let mut bytes = Vec::new();
            encode_receiver_report(Ssrc(ssrc), &blocks, &mut bytes);
            let mut packets = RtcpPackets::new(&bytes);
            let Some(Ok(RtcpPacket::ReceiverReport { ssrc: got, reports })) = packets.next() else {
                panic!("not an RR");
            };
            prop_assert_eq!(got, Ssrc(ssrc));
            prop_assert_eq!(reports.collect::<Vec<_>>(), blocks);
            prop_assert!(packets.next().is_none());
        }

        #[test]
        fn sdes_and_bye_round_trip(
            cname in proptest::collection::vec(1u8..=255, 0..40),
            reason in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        ) {
            let mut bytes = Vec::new();
            encode_sdes_cname(Ssrc(9), &cname, &mut bytes);
            encode_bye(&[Ssrc(9)], reason.as_deref(), &mut bytes);
            let packets: Vec<_> = RtcpPackets::new(&bytes).collect::<Result<_, _>>().unwrap();
            let RtcpPacket::SourceDescription { chunks, .. } = packets[0] else { panic!() };
            prop_assert_eq!(chunks.collect::<Vec<_>>(), vec![(Ssrc(9), 1, &cname[..])]);
            prop_assert_eq!(packets[1], RtcpPacket::Bye { sources: &[0, 0, 0, 9], reason: reason.as_deref() });
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            for packet in RtcpPackets::new(&bytes).take(64) {
                match packet {
                    Ok(RtcpPacket::SenderReport { reports, .. } | RtcpPacket::ReceiverReport { reports, .. }) => {
                        prop_assert!(reports.count() < 32);
                    }
                    Ok(RtcpPacket::SourceDescription { chunks, .. }) => {
                        prop_assert!(chunks.count() <= bytes.len());
                    }
                    Ok(_) => {}
                    Err(_) => {}
                }
            }
        }
    }
}
