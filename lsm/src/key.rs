//! Key encoding: how a message id or a metadata name becomes bytes that sort correctly.
//!
//! The store compares keys as plain byte strings (`memcmp`), so the encoding must make byte
//! order equal to the order we want to read in. Every key starts with a keyspace byte:
//!
//! ```text
//! message key (21 bytes, all integers big-endian):
//!   0      1                 9          13                21
//!   +------+-----------------+----------+-----------------+
//!   | 0x01 | channel_id  u64 | bucket   | message_id  u64 |
//!   |      |                 |   u32    |                 |
//!   +------+-----------------+----------+-----------------+
//!   \______ channel prefix __/
//!
//! metadata key: | 0x02 | caller's bytes (at most KEY_LEN_MAX - 1) |
//! ```
//!
//! Big-endian integers compare bytewise in numeric order, so all of one channel's messages
//! are adjacent and sorted by `(bucket, message_id)`. The bucket (the Cassandra-style 10-day
//! partition) must be a non-decreasing function of the message id; then `(bucket, id)` order
//! is plain id order and a scan crosses bucket boundaries without noticing them: a channel
//! quiet for months pages exactly like a busy one. The bucket function belongs to the
//! `snowflake` crate; this crate takes it as a [`BucketFn`] and never computes one itself.
//!
//! The 9-byte channel prefix is what the per-table Bloom filters also index, so a channel
//! scan can skip tables that hold nothing of that channel.

/// Keyspace byte of message keys.
pub const KEYSPACE_MESSAGE: u8 = 0x01;
/// Keyspace byte of metadata keys (guilds, channels, members, roles, read states...).
pub const KEYSPACE_META: u8 = 0x02;
/// Length of an encoded message key.
pub const MESSAGE_KEY_LEN: usize = 1 + 8 + 4 + 8;
/// Length of the channel prefix: keyspace byte and channel id.
pub const CHANNEL_PREFIX_LEN: usize = 1 + 8;
/// Longest encoded key, keyspace byte included. Keeps a key's length in a `u16` on disk.
pub const KEY_LEN_MAX: usize = 1024;

const _: () = assert!(KEY_LEN_MAX <= u16::MAX as usize);
const _: () = assert!(CHANNEL_PREFIX_LEN < MESSAGE_KEY_LEN);

/// Maps a message id to its bucket. Must be non-decreasing in the id (asserted in debug
/// builds when keys are made). The engine passes `snowflake`'s bucket function.
pub type BucketFn = fn(u64) -> u32;

/// The primary key of one message.
///
/// ```
/// use lsm::key::MessageKey;
/// let key = MessageKey { channel_id: 7, bucket: 3, message_id: 42 };
/// assert_eq!(MessageKey::decode(&key.encode()), Some(key));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageKey {
    /// The channel the message belongs to.
    pub channel_id: u64,
    /// The message's time bucket, from the caller's [`BucketFn`].
    pub bucket: u32,
    /// The message's Snowflake.
    pub message_id: u64,
}

impl MessageKey {
    /// Builds the key of `message_id` in `channel_id`, computing its bucket with `bucket_of`.
    pub fn new(channel_id: u64, message_id: u64, bucket_of: BucketFn) -> MessageKey {
        MessageKey {
            channel_id,
            bucket: bucket_of(message_id),
            message_id,
        }
    }

    /// The 21-byte big-endian encoding.
    pub fn encode(&self) -> [u8; MESSAGE_KEY_LEN] {
        let mut out = [0u8; MESSAGE_KEY_LEN];
        out[0] = KEYSPACE_MESSAGE;
        out[1..9].copy_from_slice(&self.channel_id.to_be_bytes());
        out[9..13].copy_from_slice(&self.bucket.to_be_bytes());
        out[13..21].copy_from_slice(&self.message_id.to_be_bytes());
        out
    }

    /// Decodes a message key; `None` if `bytes` is not one.
    pub fn decode(bytes: &[u8]) -> Option<MessageKey> {
        if bytes.len() != MESSAGE_KEY_LEN || bytes[0] != KEYSPACE_MESSAGE {
            return None;
        }
        Some(MessageKey {
            channel_id: u64::from_be_bytes(bytes[1..9].try_into().ok()?),
            bucket: u32::from_be_bytes(bytes[9..13].try_into().ok()?),
            message_id: u64::from_be_bytes(bytes[13..21].try_into().ok()?),
        })
    }
}

/// The 9-byte prefix shared by every message key of `channel_id`.
pub fn channel_prefix(channel_id: u64) -> [u8; CHANNEL_PREFIX_LEN] {
    let mut out = [0u8; CHANNEL_PREFIX_LEN];
    out[0] = KEYSPACE_MESSAGE;
    out[1..9].copy_from_slice(&channel_id.to_be_bytes());
    out
}

/// The smallest and the largest possible message key of `channel_id`.
pub fn channel_bounds(channel_id: u64) -> ([u8; MESSAGE_KEY_LEN], [u8; MESSAGE_KEY_LEN]) {
    let lo = MessageKey {
        channel_id,
        bucket: 0,
        message_id: 0,
    }
    .encode();
    let hi = MessageKey {
        channel_id,
        bucket: u32::MAX,
        message_id: u64::MAX,
    }
    .encode();
    (lo, hi)
}

/// Encodes the metadata key for the caller's `name`.
pub fn encode_meta_key(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + name.len());
    out.push(KEYSPACE_META);
    out.extend_from_slice(name);
    out
}

/// The prefix a Bloom filter indexes for `key`: the channel prefix of a message key, or
/// `None` for other keys (only their full key is indexed).
pub fn bloom_prefix(key: &[u8]) -> Option<&[u8]> {
    (key.len() == MESSAGE_KEY_LEN && key[0] == KEYSPACE_MESSAGE).then(|| &key[..CHANNEL_PREFIX_LEN])
}

/// The message id of a message key, or `None` for other keys.
pub fn message_id_of(key: &[u8]) -> Option<u64> {
    MessageKey::decode(key).map(|k| k.message_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges_round_trip() {
        for (c, b, m) in [(0, 0, 0), (u64::MAX, u32::MAX, u64::MAX), (1, 2, 3)] {
            let key = MessageKey {
                channel_id: c,
                bucket: b,
                message_id: m,
            };
            assert_eq!(MessageKey::decode(&key.encode()), Some(key));
        }
    }

    #[test]
    fn rejects_other_keyspaces_and_lengths() {
        let mut bytes = MessageKey {
            channel_id: 1,
            bucket: 2,
            message_id: 3,
        }
        .encode();
        assert_eq!(MessageKey::decode(&bytes[..20]), None);
        bytes[0] = KEYSPACE_META;
        assert_eq!(MessageKey::decode(&bytes), None);
        assert_eq!(bloom_prefix(&encode_meta_key(b"guild:1")), None);
    }

    #[test]
    fn meta_keys_sort_after_all_messages() {
        let (_, hi) = channel_bounds(u64::MAX);
        assert!(encode_meta_key(b"").as_slice() > hi.as_slice());
    }

    proptest! {
        #[test]
        fn byte_order_is_key_order(a: (u64, u32, u64), b: (u64, u32, u64)) {
            let ka = MessageKey { channel_id: a.0, bucket: a.1, message_id: a.2 };
            let kb = MessageKey { channel_id: b.0, bucket: b.1, message_id: b.2 };
            prop_assert_eq!(ka.cmp(&kb), ka.encode().cmp(&kb.encode()));
            prop_assert_eq!(MessageKey::decode(&ka.encode()), Some(ka));
        }

        #[test]
        fn channel_prefix_is_a_prefix(c: u64, b: u32, m: u64) {
            let key = MessageKey { channel_id: c, bucket: b, message_id: m }.encode();
            prop_assert_eq!(bloom_prefix(&key), Some(&channel_prefix(c)[..]));
            let (lo, hi) = channel_bounds(c);
            prop_assert!(lo <= key && key <= hi);
        }
    }
}
