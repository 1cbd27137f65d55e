//! A batch: the puts and deletes one reactor tick hands to the store together.
//!
//! A batch is the unit of atomicity and of acknowledgement: it becomes one WAL record, it
//! is durable as a whole or not at all, and it gets one [`crate::Ticket`]. An edit is a put
//! over an existing key; a delete writes a tombstone. Within a batch a later op on the same
//! key wins.

use crate::key::{encode_meta_key, BucketFn, MessageKey};

/// One write: a put (`value` is `Some`) or a delete (a tombstone, `value` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The encoded key (see [`crate::key`]).
    pub key: Vec<u8>,
    /// The new value, or `None` for a delete.
    pub value: Option<Vec<u8>>,
}

/// Writes to append together.
///
/// ```
/// let bucket_of: lsm::key::BucketFn = |id| (id >> 22) as u32;
/// let mut batch = lsm::Batch::new(bucket_of);
/// batch.put_message(10, 1 << 22, b"hello".to_vec());
/// batch.put_meta(b"guild:1/name", b"Flux".to_vec());
/// batch.delete_message(10, 5);
/// assert_eq!(batch.len(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct Batch {
    pub(crate) ops: Vec<Op>,
    bucket_of: BucketFn,
    bytes: usize,
}

impl Batch {
    /// An empty batch whose message keys are bucketed by `bucket_of`.
    pub fn new(bucket_of: BucketFn) -> Batch {
        Batch {
            ops: Vec::new(),
            bucket_of,
            bytes: 0,
        }
    }

    /// Stores (or edits) message `message_id` of `channel_id`.
    pub fn put_message(&mut self, channel_id: u64, message_id: u64, value: Vec<u8>) {
        let key = MessageKey::new(channel_id, message_id, self.bucket_of)
            .encode()
            .to_vec();
        self.push(Op {
            key,
            value: Some(value),
        });
    }

    /// Deletes message `message_id` of `channel_id`.
    pub fn delete_message(&mut self, channel_id: u64, message_id: u64) {
        let key = MessageKey::new(channel_id, message_id, self.bucket_of)
            .encode()
            .to_vec();
        self.push(Op { key, value: None });
    }

    /// Stores the metadata entry `name`.
    pub fn put_meta(&mut self, name: &[u8], value: Vec<u8>) {
        self.push(Op {
            key: encode_meta_key(name),
            value: Some(value),
        });
    }

    /// Deletes the metadata entry `name`.
    pub fn delete_meta(&mut self, name: &[u8]) {
        self.push(Op {
            key: encode_meta_key(name),
            value: None,
        });
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True if the batch holds no op.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Key and value bytes in the batch: the "user bytes" of write amplification.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The ops, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    fn push(&mut self, op: Op) {
        self.bytes += op.key.len() + op.value.as_ref().map_or(0, Vec::len);
        self.ops.push(op);
    }
}
