//! The 2–14 byte frame header (RFC 6455 §5.2): parse it from untrusted bytes, encode our own.
//!
//! ```text
//!  0               1               2               3
//!  7 6 5 4 3 2 1 0 7 6 5 4 3 2 1 0 7 6 5 4 3 2 1 0 7 6 5 4 3 2 1 0
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               | Masking-key, if MASK set to 1 |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```
//!
//! Parsing enforces the rules that need no context: reserved bits clear (we negotiate no
//! extension), opcode defined, control frames final and at most 125 bytes, payload length in
//! its minimal form with the top bit of a 64-bit length clear. Each rule is checked as soon as
//! the byte that carries it is present, so a bad header fails before its later bytes arrive.
//! Rules that depend on the connection (masking per role, fragmentation state, size limits)
//! live in `decoder.rs`.
//!
//! Invariants:
//! - A header is at most [`HEADER_LEN_MAX`] bytes; `parse` never asks for more.
//! - `encode` always writes the minimal length form, so `parse(encode(h)) == h` for every
//!   header whose payload length is below 2^63.

use crate::{Error, Opcode};

/// The longest possible header: 2 fixed bytes, an 8-byte length and a 4-byte masking key.
pub const HEADER_LEN_MAX: usize = 14;

/// The largest payload a control frame may carry (§5.5).
pub const CONTROL_PAYLOAD_LEN_MAX: usize = 125;

/// One frame header, without its payload.
///
/// ```
/// use wsframe::{FrameHeader, Opcode};
///
/// let header = FrameHeader::server(Opcode::Text, 300);
/// let bytes = header.encode();
/// assert_eq!(&bytes[..], &[0x81, 126, 0x01, 0x2C]);
/// assert_eq!(FrameHeader::parse(&bytes), Ok(Some((header, 4))));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN: this is the final frame of its message.
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit number, RSV1 highest. Always 0 in frames we accept.
    pub rsv: u8,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The masking key: present on every client frame, absent on every server frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// The header of a final, unmasked frame, as a server sends it.
    #[inline]
    pub const fn server(opcode: Opcode, payload_len: usize) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: payload_len as u64,
        }
    }

    /// The header of a final frame masked with `mask`, as a client sends it. A real client
    /// must draw `mask` from a strong random source for every frame (§5.3); this crate never
    /// picks one because it never touches randomness.
    pub const fn client(opcode: Opcode, payload_len: usize, mask: [u8; 4]) -> FrameHeader {
        FrameHeader {
            mask: Some(mask),
            ..FrameHeader::server(opcode, payload_len)
        }
    }

    /// Parses the header at the start of `bytes`.
    ///
    /// Returns the header and its length in bytes, `Ok(None)` when `bytes` ends before the
    /// header does, or the first rule the bytes present so far already break.
    ///
    /// ```
    /// use wsframe::{Error, FrameHeader};
    ///
    /// assert_eq!(FrameHeader::parse(&[0x81]), Ok(None)); // needs the length byte
    /// assert_eq!(FrameHeader::parse(&[0x83]), Err(Error::ReservedOpcode { opcode: 3 }));
    /// // 5 bytes announced with the 16-bit form: not minimal.
    /// assert_eq!(
    ///     FrameHeader::parse(&[0x82, 126, 0x00, 0x05]),
    ///     Err(Error::NonMinimalLength { len: 5 })
    /// );
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, Error> {
        let Some(&first) = bytes.first() else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        let rsv = (first >> 4) & 0b111;
        if rsv != 0 {
            return Err(Error::ReservedBitsSet { rsv });
        }
        let opcode_bits = first & 0x0F;
        let opcode = Opcode::from_u4(opcode_bits).ok_or(Error::ReservedOpcode {
            opcode: opcode_bits,
        })?;
        if opcode.is_control() && !fin {
            return Err(Error::FragmentedControlFrame);
        }

        let Some(&second) = bytes.get(1) else {
            return Ok(None);
        };
        let masked = second & 0x80 != 0;
        let len_field = second & 0x7F;
        if opcode.is_control() && usize::from(len_field) > CONTROL_PAYLOAD_LEN_MAX {
            return Err(Error::ControlFrameTooLong);
        }
        let Some((payload_len, len_end)) = parse_payload_len(bytes, len_field)? else {
            return Ok(None);
        };

        let (mask, header_len) = if masked {
            let Some(key) = bytes.get(len_end..len_end + 4) else {
                return Ok(None);
            };
            (Some([key[0], key[1], key[2], key[3]]), len_end + 4)
        } else {
            (None, len_end)
        };
        debug_assert!(header_len <= HEADER_LEN_MAX);
        Ok(Some((
            FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        )))
    }

    /// How many bytes [`FrameHeader::encode`] writes for this header: 2 to 14.
    #[inline]
    pub const fn encoded_len(&self) -> usize {
        let len_bytes = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + len_bytes + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes the header into a small stack buffer, so a reactor can `writev` it next to a
    /// payload that stays where it is.
    ///
    /// ```
    /// use wsframe::{FrameHeader, Opcode};
    ///
    /// let payload = b"hello";
    /// let header = FrameHeader::server(Opcode::Binary, payload.len()).encode();
    /// let iovecs: [&[u8]; 2] = [&header, payload];
    /// assert_eq!(iovecs.concat(), [&[0x82, 5][..], b"hello"].concat());
    /// ```
    #[inline]
    pub fn encode(&self) -> HeaderBytes {
        debug_assert!(self.rsv <= 0b111, "rsv is a 3-bit field");
        debug_assert!(
            self.payload_len >> 63 == 0,
            "payload length needs its top bit clear"
        );
        let mut bytes = [0u8; HEADER_LEN_MAX];
        bytes[0] = u8::from(self.fin) << 7 | (self.rsv & 0b111) << 4 | self.opcode.as_u4();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut len = 2;
        match self.payload_len {
            0..=125 => bytes[1] = mask_bit | self.payload_len as u8,
            126..=0xFFFF => {
                bytes[1] = mask_bit | 126;
                bytes[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
                len = 4;
            }
            _ => {
                bytes[1] = mask_bit | 127;
                bytes[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
                len = 10;
            }
        }
        if let Some(key) = self.mask {
            bytes[len..len + 4].copy_from_slice(&key);
            len += 4;
        }
        debug_assert_eq!(len, self.encoded_len());
        HeaderBytes {
            bytes,
            len: len as u8,
        }
    }
}

/// An encoded header: a 14-byte stack buffer and how much of it is used. Derefs to the used
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderBytes {
    bytes: [u8; HEADER_LEN_MAX],
    len: u8,
}

impl HeaderBytes {
    /// The encoded header bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::ops::Deref for HeaderBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for HeaderBytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Reads the payload length that follows the 7-bit length field. Returns the length and the
/// offset just past it, or `None` when the extended length has not fully arrived.
fn parse_payload_len(bytes: &[u8], len_field: u8) -> Result<Option<(u64, usize)>, Error> {
    match len_field {
        126 => {
            let Some(ext) = bytes.get(2..4) else {
                return Ok(None);
            };
            let len = u64::from(u16::from_be_bytes([ext[0], ext[1]]));
            if len < 126 {
                return Err(Error::NonMinimalLength { len });
            }
            Ok(Some((len, 4)))
        }
        127 => {
            let Some(ext) = bytes.get(2..10) else {
                return Ok(None);
            };
            let mut be = [0u8; 8];
            be.copy_from_slice(ext);
            let len = u64::from_be_bytes(be);
            if len >> 63 != 0 {
                return Err(Error::LengthMsbSet);
            }
            if len <= 0xFFFF {
                return Err(Error::NonMinimalLength { len });
            }
            Ok(Some((len, 10)))
        }
        short => Ok(Some((u64::from(short), 2))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn length_forms_at_their_edges() {
        // (payload length, header bytes without mask, encoded length field)
        let table: &[(u64, usize, &[u8])] = &[
            (0, 2, &[0]),
            (1, 2, &[1]),
            (125, 2, &[125]),
            (126, 4, &[126, 0x00, 0x7E]),
            (127, 4, &[126, 0x00, 0x7F]),
            (65535, 4, &[126, 0xFF, 0xFF]),
            (65536, 10, &[127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]),
            (
                (1 << 63) - 1,
                10,
                &[127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            ),
        ];
        for &(payload_len, header_len, len_bytes) in table {
            for mask in [None, Some(KEY)] {
                let header = FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode: Opcode::Binary,
                    mask,
                    payload_len,
                };
                let encoded = header.encode();
                let expected_len = header_len + if mask.is_some() { 4 } else { 0 };
                assert_eq!(encoded.len(), expected_len, "{payload_len}");
                assert_eq!(encoded[1] & 0x7F, len_bytes[0], "{payload_len}");
                assert_eq!(&encoded[2..header_len], &len_bytes[1..], "{payload_len}");
                assert_eq!(
                    FrameHeader::parse(&encoded),
                    Ok(Some((header, expected_len)))
                );
                // Every strict prefix asks for more bytes, never errors.
                for cut in 0..encoded.len() {
                    assert_eq!(
                        FrameHeader::parse(&encoded[..cut]),
                        Ok(None),
                        "{payload_len}"
                    );
                }
                // Bytes after the header are not looked at.
                let mut longer = encoded.to_vec();
                longer.extend_from_slice(&[0xFF; 20]);
                assert_eq!(
                    FrameHeader::parse(&longer),
                    Ok(Some((header, expected_len)))
                );
            }
        }
    }

    #[test]
    fn non_minimal_lengths_are_rejected() {
        let table: &[(&[u8], u64)] = &[
            (&[0x82, 126, 0x00, 0x00], 0),
            (&[0x82, 126, 0x00, 0x7D], 125),
            (&[0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0], 0),
            (&[0x82, 127, 0, 0, 0, 0, 0, 0, 0, 125], 125),
            (&[0x82, 127, 0, 0, 0, 0, 0, 0, 0, 126], 126),
            (&[0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF], 65535),
        ];
        for &(bytes, len) in table {
            assert_eq!(
                FrameHeader::parse(bytes),
                Err(Error::NonMinimalLength { len })
            );
        }
        // The smallest lengths each form may carry are accepted.
        assert!(FrameHeader::parse(&[0x82, 126, 0x00, 0x7E])
            .unwrap()
            .is_some());
        assert!(FrameHeader::parse(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .is_some());
    }

    #[test]
    fn top_bit_of_64_bit_length_is_rejected() {
        for first in [0x80, 0xFF] {
            let bytes = [0x82, 127, first, 0, 0, 0, 0, 0, 0, 0];
            assert_eq!(FrameHeader::parse(&bytes), Err(Error::LengthMsbSet));
        }
    }

    #[test]
    fn reserved_bits_are_rejected_from_the_first_byte() {
        for rsv in 1u8..8 {
            let first = 0x80 | rsv << 4 | 0x1;
            assert_eq!(
                FrameHeader::parse(&[first]),
                Err(Error::ReservedBitsSet { rsv })
            );
        }
    }

    #[test]
    fn reserved_opcodes_are_rejected_from_the_first_byte() {
        for opcode in (3u8..=7).chain(0xB..=0xF) {
            assert_eq!(
                FrameHeader::parse(&[0x80 | opcode]),
                Err(Error::ReservedOpcode { opcode })
            );
        }
    }

    #[test]
    fn control_frames_must_be_final_and_short() {
        for opcode in [Opcode::Close, Opcode::Ping, Opcode::Pong] {
            let op = opcode.as_u4();
            assert_eq!(
                FrameHeader::parse(&[op]),
                Err(Error::FragmentedControlFrame)
            );
            for len_field in 126u8..=127 {
                assert_eq!(
                    FrameHeader::parse(&[0x80 | op, len_field]),
                    Err(Error::ControlFrameTooLong)
                );
            }
            let (header, len) = FrameHeader::parse(&[0x80 | op, 125]).unwrap().unwrap();
            assert_eq!((header.payload_len, len), (125, 2));
        }
        // Data frames may be fragmented and long.
        assert!(FrameHeader::parse(&[0x01, 126, 0x01, 0x00])
            .unwrap()
            .is_some());
    }

    #[test]
    fn fields_survive_encoding() {
        for fin in [false, true] {
            for rsv in 0u8..8 {
                let header = FrameHeader {
                    fin,
                    rsv,
                    opcode: Opcode::Continuation,
                    mask: Some(KEY),
                    payload_len: 7,
                };
                let encoded = header.encode();
                assert_eq!(encoded[0] >> 7 == 1, fin);
                assert_eq!((encoded[0] >> 4) & 7, rsv);
                assert_eq!(&encoded[2..6], &KEY);
                if rsv == 0 {
                    assert_eq!(FrameHeader::parse(&encoded), Ok(Some((header, 6))));
                }
            }
        }
    }
}
