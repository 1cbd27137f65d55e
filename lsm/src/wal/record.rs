//! The WAL record: one batch, framed and checksummed.
//!
//! ```text
//!  0        4        8                16
//!  +--------+--------+----------------+--------------------------------------+
//!  | crc32c | len    | seq      u64   | payload (len bytes)                  |
//!  |  u32   |  u32   |                |                                      |
//!  +--------+--------+----------------+--------------------------------------+
//!  crc32c covers bytes 4..16+len (len, seq and payload). Framing integers are little-endian.
//!
//!  payload: | op_count u32 | op | op | ...
//!  op:      | kind u8 (1 put, 2 delete) | key_len u16 | value_len u32 (put only) | key | value |
//! ```
//!
//! One record per batch makes a batch atomic: after a crash the record is either whole
//! (its CRC matches) or it is the torn tail and is cut off.
//!
//! Invariants:
//! - A record whose CRC matches but whose payload does not parse is corruption, not a torn
//!   tail: torn writes cannot produce a matching CRC (short of a 2^-32 accident).
//! - `decode_record` never panics on any input (property-tested and fuzzed).

use crate::batch::Op;
use crate::key::KEY_LEN_MAX;
use crate::VALUE_LEN_MAX;

/// Bytes before the payload.
pub const HEADER_LEN: usize = 16;
/// Largest payload accepted; a header claiming more is treated as torn.
pub const PAYLOAD_LEN_MAX: usize = 256 << 20;

const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;

/// What the bytes at the front of a buffer hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole, valid record of `len` bytes.
    Record {
        /// The batch's sequence number (its ticket).
        seq: u64,
        /// The batch's ops, in order.
        ops: Vec<Op>,
        /// Bytes the record occupies.
        len: usize,
    },
    /// Too few bytes, an impossible length or a CRC mismatch: a torn write.
    Torn,
    /// The CRC matched but the payload is malformed.
    Corrupt(&'static str),
}

/// Appends the record of batch `seq` holding `ops` to `out`.
pub fn encode_record(seq: u64, ops: &[Op], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    out.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for op in ops {
        debug_assert!(op.key.len() <= KEY_LEN_MAX, "append validates key lengths");
        match &op.value {
            Some(value) => {
                debug_assert!(
                    value.len() <= VALUE_LEN_MAX,
                    "append validates value lengths"
                );
                out.push(KIND_PUT);
                out.extend_from_slice(&(op.key.len() as u16).to_le_bytes());
                out.extend_from_slice(&(value.len() as u32).to_le_bytes());
                out.extend_from_slice(&op.key);
                out.extend_from_slice(value);
            }
            None => {
                out.push(KIND_DELETE);
                out.extend_from_slice(&(op.key.len() as u16).to_le_bytes());
                out.extend_from_slice(&op.key);
            }
        }
    }
    let payload_len = out.len() - start - HEADER_LEN;
    assert!(
        payload_len <= PAYLOAD_LEN_MAX,
        "batch too large for one WAL record"
    );
    out[start + 4..start + 8].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[start + 8..start + 16].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c::crc32c(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes the record at the front of `bytes`.
pub fn decode_record(bytes: &[u8]) -> Decoded {
    if bytes.len() < HEADER_LEN {
        return Decoded::Torn;
    }
    let crc = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
    let payload_len = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    if payload_len > PAYLOAD_LEN_MAX || bytes.len() - HEADER_LEN < payload_len {
        return Decoded::Torn;
    }
    let len = HEADER_LEN + payload_len;
    if crc32c::crc32c(&bytes[4..len]) != crc {
        return Decoded::Torn;
    }
    let seq = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    match decode_ops(&bytes[HEADER_LEN..len]) {
        Ok(ops) => Decoded::Record { seq, ops, len },
        Err(what) => Decoded::Corrupt(what),
    }
}

fn decode_ops(mut payload: &[u8]) -> Result<Vec<Op>, &'static str> {
    let count = take_u32(&mut payload).ok_or("missing op count")? as usize;
    // Each op is at least 3 bytes, which bounds the allocation by the payload size.
    if count > payload.len() / 3 {
        return Err("op count exceeds payload");
    }
    let mut ops = Vec::with_capacity(count);
    for _ in 0..count {
        let kind = take(&mut payload, 1).ok_or("truncated op kind")?[0];
        let key_len = take_u16(&mut payload).ok_or("truncated key length")? as usize;
        let value_len = match kind {
            KIND_PUT => Some(take_u32(&mut payload).ok_or("truncated value length")? as usize),
            KIND_DELETE => None,
            _ => return Err("unknown op kind"),
        };
        if key_len == 0 || key_len > KEY_LEN_MAX {
            return Err("bad key length");
        }
        let key = take(&mut payload, key_len).ok_or("truncated key")?.to_vec();
        let value = match value_len {
            Some(n) if n > VALUE_LEN_MAX => return Err("bad value length"),
            Some(n) => Some(take(&mut payload, n).ok_or("truncated value")?.to_vec()),
            None => None,
        };
        ops.push(Op { key, value });
    }
    if !payload.is_empty() {
        return Err("trailing bytes after the last op");
    }
    Ok(ops)
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if bytes.len() < n {
        return None;
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Some(head)
}

fn take_u16(bytes: &mut &[u8]) -> Option<u16> {
    take(bytes, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn take_u32(bytes: &mut &[u8]) -> Option<u32> {
    take(bytes, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn op_strategy() -> impl Strategy<Value = Op> {
        (
            proptest::collection::vec(any::<u8>(), 1..40),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        )
            .prop_map(|(key, value)| Op { key, value })
    }

    #[test]
    fn empty_batch_round_trips() {
        let mut buf = Vec::new();
        encode_record(9, &[], &mut buf);
        assert_eq!(buf.len(), HEADER_LEN + 4);
        assert_eq!(
            decode_record(&buf),
            Decoded::Record {
                seq: 9,
                ops: vec![],
                len: buf.len()
            }
        );
    }

    #[test]
    fn every_truncation_is_torn() {
        let ops = vec![
            Op {
                key: b"k1".to_vec(),
                value: Some(vec![7; 200]),
            },
            Op {
                key: b"k2".to_vec(),
                value: None,
            },
        ];
        let mut buf = Vec::new();
        encode_record(1, &ops, &mut buf);
        for cut in 0..buf.len() {
            assert_eq!(decode_record(&buf[..cut]), Decoded::Torn, "cut at {cut}");
        }
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let ops = vec![Op {
            key: b"key".to_vec(),
            value: Some(b"value".to_vec()),
        }];
        let mut buf = Vec::new();
        encode_record(3, &ops, &mut buf);
        for bit in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !matches!(decode_record(&bad), Decoded::Record { .. }),
                "bit {bit}"
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip(seq: u64, ops in proptest::collection::vec(op_strategy(), 0..20)) {
            let mut buf = vec![0xAA; 3];
            encode_record(seq, &ops, &mut buf);
            let len = buf.len() - 3;
            prop_assert_eq!(decode_record(&buf[3..]), Decoded::Record { seq, ops, len });
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_record(&bytes);
        }
    }
}
