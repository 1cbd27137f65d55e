//! A connection's outbound queue: frames waiting for the socket, in two lanes.
//!
//! The reactor appends frames as the application produces them and, once per wake-up,
//! takes everything queued as one [`WriteBatch`]: one `writev` (epoll) or one `SENDMSG`
//! (io_uring) for the whole batch. That coalescing is the point of this file: a dispatch
//! fanned out to a busy session costs one system call per wake-up, not one per frame.
//!
//! Order: a partly written frame first (a frame is never split by another one), then the
//! priority lane (heartbeat ACKs, close frames), then the bulk lane (dispatches, HTTP
//! responses). Within a lane, frames keep their order.
//!
//! Invariants:
//! - `queued_bytes` is the sum of the unwritten bytes of every frame held here.
//! - At most one batch is in flight; its frames are owned by the batch (and so by the `Op`
//!   that carries it) until [`OutQueue::complete`] takes them back.
//! - `partial`, if any, has `0 < offset < len`.

use std::collections::VecDeque;
use std::sync::Arc;

/// At most this many iovecs go into one batch (Linux `IOV_MAX` is 1024).
const BATCH_IOVECS_MAX: usize = 512;
/// At most this many bytes go into one batch; the rest waits for the next wake-up.
const BATCH_BYTES_MAX: usize = 1 << 20;

/// Which lane a frame waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Goes ahead of every queued bulk frame (but never splits a partly written one).
    Priority,
    /// Everything else, in order.
    Bulk,
}

/// A frame's payload: owned, shared between the sessions of a fan-out, or a small
/// per-connection prefix spliced in front of shared bytes.
///
/// `Spliced` is how a dispatch reaches a socket without a copy or an allocation per
/// session: the session's own `{"op":0,"s":N,...,"d":` lives inline in the frame and the
/// event's serialised `d` (shared by every session on the core) follows as a second iovec.
#[derive(Debug, Clone)]
pub enum Payload {
    /// Bytes for one connection.
    Owned(Vec<u8>),
    /// Bytes shared by many connections, written without copying.
    Shared(Arc<[u8]>),
    /// `prefix` (this connection's) followed by `shared` (everyone's).
    Spliced { prefix: Prefix, shared: Arc<[u8]> },
}

impl Payload {
    /// Bytes on the wire (before the frame header).
    pub fn len(&self) -> usize {
        match self {
            Payload::Owned(bytes) => bytes.len(),
            Payload::Shared(bytes) => bytes.len(),
            Payload::Spliced { prefix, shared } => prefix.len() + shared.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload as one contiguous buffer (copies; for tests and cold paths).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Payload::Owned(bytes) => bytes.clone(),
            Payload::Shared(bytes) => bytes.to_vec(),
            Payload::Spliced { prefix, shared } => [prefix.as_slice(), shared].concat(),
        }
    }
}

/// Payloads are equal when their bytes are, however they are held.
impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.len() == other.len() && self.to_vec() == other.to_vec()
    }
}

impl Eq for Payload {}

/// Bytes a [`Prefix`] holds inline: a dispatch prefix `{"op":0,"s":<20 digits>,"t":"NAME","d":`
/// for names up to 40 characters, with room for a deflate stored-block header and the
/// zlib stream header in front of it.
pub const PREFIX_BYTES_MAX: usize = 96;

/// A few bytes kept inline (no heap): one connection's part of a spliced payload.
#[derive(Clone, Copy)]
pub struct Prefix {
    len: u8,
    bytes: [u8; PREFIX_BYTES_MAX],
}

impl Prefix {
    /// An empty prefix.
    pub const fn new() -> Prefix {
        Prefix {
            len: 0,
            bytes: [0; PREFIX_BYTES_MAX],
        }
    }

    /// Appends `bytes`; `false` (and nothing appended) when they do not fit.
    #[must_use]
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let len = usize::from(self.len);
        let Some(end) = len
            .checked_add(bytes.len())
            .filter(|&end| end <= PREFIX_BYTES_MAX)
        else {
            return false;
        };
        self.bytes[len..end].copy_from_slice(bytes);
        self.len = end as u8;
        true
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Prefix {
    fn default() -> Prefix {
        Prefix::new()
    }
}

impl std::fmt::Debug for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prefix({:?})", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Payload {
        Payload::Owned(bytes)
    }
}

impl From<Arc<[u8]>> for Payload {
    fn from(bytes: Arc<[u8]>) -> Payload {
        Payload::Shared(bytes)
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Payload {
        Payload::Owned(text.as_bytes().to_vec())
    }
}

impl From<String> for Payload {
    fn from(text: String) -> Payload {
        Payload::Owned(text.into_bytes())
    }
}

/// Header bytes kept inline: a server WebSocket header (at most 10 bytes) followed by a
/// spliced payload's prefix.
pub(crate) const HEAD_BYTES_MAX: usize = 10 + PREFIX_BYTES_MAX;

/// One frame on its way out: a small inline head (the WebSocket header and any
/// per-connection prefix; empty for raw HTTP bytes) and a body that is never a `Spliced`
/// payload (its prefix moved into the head).
#[derive(Debug, Clone)]
pub(crate) struct OutFrame {
    head: [u8; HEAD_BYTES_MAX],
    head_len: u8,
    body: Body,
    lane: Lane,
}

/// An [`OutFrame`]'s body: owned or shared bytes.
#[derive(Debug, Clone)]
enum Body {
    Owned(Vec<u8>),
    Shared(Arc<[u8]>),
}

impl Body {
    fn as_slice(&self) -> &[u8] {
        match self {
            Body::Owned(bytes) => bytes,
            Body::Shared(bytes) => bytes,
        }
    }
}

impl OutFrame {
    /// `head` (at most 10 bytes: a frame header) then `payload`; a spliced payload's
    /// prefix joins the head, so the frame is still two iovecs.
    pub(crate) fn new(head: &[u8], payload: Payload, lane: Lane) -> OutFrame {
        assert!(head.len() <= 10, "frame header of {} bytes", head.len());
        let mut inline = [0; HEAD_BYTES_MAX];
        inline[..head.len()].copy_from_slice(head);
        let mut head_len = head.len();
        let body = match payload {
            Payload::Owned(bytes) => Body::Owned(bytes),
            Payload::Shared(bytes) => Body::Shared(bytes),
            Payload::Spliced { prefix, shared } => {
                let prefix = prefix.as_slice();
                inline[head_len..head_len + prefix.len()].copy_from_slice(prefix);
                head_len += prefix.len();
                Body::Shared(shared)
            }
        };
        OutFrame {
            head: inline,
            head_len: head_len as u8,
            body,
            lane,
        }
    }

    /// Raw bytes (an HTTP response): no header.
    pub(crate) fn raw(bytes: Vec<u8>, lane: Lane) -> OutFrame {
        OutFrame::new(&[], Payload::Owned(bytes), lane)
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.head_len) + self.body.as_slice().len()
    }

    fn head(&self) -> &[u8] {
        &self.head[..usize::from(self.head_len)]
    }

    /// The frame's unwritten bytes after `offset`, as up to two slices.
    fn parts_from(&self, offset: usize) -> [&[u8]; 2] {
        let head = self.head();
        let body = self.body.as_slice();
        if offset < head.len() {
            [&head[offset..], body]
        } else {
            [&[], &body[offset - head.len()..]]
        }
    }
}

/// The frames of one write, owned until the kernel says how much it took.
pub(crate) struct WriteBatch {
    frames: Vec<OutFrame>,
    /// Bytes of `frames[0]` written by earlier batches.
    first_offset: usize,
    /// Points into `frames`; valid while `frames` is neither changed nor dropped. The
    /// frames' bytes live on the heap (or inline in a `Vec`'s heap buffer), so moving the
    /// batch does not move them.
    iov: Vec<libc::iovec>,
    bytes: usize,
}

impl WriteBatch {
    /// The iovecs for `writev`/`SENDMSG`, built when the batch was taken.
    pub(crate) fn iovecs(&self) -> &[libc::iovec] {
        &self.iov
    }
}

/// How far behind its sockets a core is: the unwritten bytes of each of its outbound
/// queues, each counted up to `BACKLOG_COUNTED_PER_QUEUE_MAX`, summed, and kept up to date
/// by the queues themselves.
///
/// Why capped: the sum decides when the core stops taking HTTP requests (`core.rs`,
/// `http_paused`). Uncapped, a few clients that stop reading (each may hold megabytes until
/// it is closed as a slow consumer) could pause every other client's requests; capped,
/// the pause needs most connections to be behind, which is what overload looks like.
pub(crate) type CoreBacklog = std::rc::Rc<std::cell::Cell<usize>>;

/// The most one queue adds to its core's `CoreBacklog`.
pub(crate) const BACKLOG_COUNTED_PER_QUEUE_MAX: usize = 64 * 1024;

/// The outbound queue of one connection.
#[derive(Default)]
pub(crate) struct OutQueue {
    partial: Option<(OutFrame, usize)>,
    priority: VecDeque<OutFrame>,
    bulk: VecDeque<OutFrame>,
    queued_bytes: usize,
    in_flight_bytes: usize,
    in_flight: bool,
    /// The core's total, and what this queue adds to it now.
    backlog: CoreBacklog,
    counted: usize,
}

impl Drop for OutQueue {
    fn drop(&mut self) {
        self.backlog.set(self.backlog.get() - self.counted);
    }
}

impl OutQueue {
    /// An empty queue whose bytes count towards `backlog`.
    pub(crate) fn new(backlog: CoreBacklog) -> OutQueue {
        OutQueue {
            partial: None,
            priority: VecDeque::new(),
            bulk: VecDeque::new(),
            queued_bytes: 0,
            in_flight_bytes: 0,
            in_flight: false,
            backlog,
            counted: 0,
        }
    }

    pub(crate) fn push(&mut self, frame: OutFrame) {
        self.queued_bytes += frame.len();
        match frame.lane {
            Lane::Priority => self.priority.push_back(frame),
            Lane::Bulk => self.bulk.push_back(frame),
        }
        self.recount();
    }

    /// Brings this queue's share of the core's backlog up to date with `bytes()`.
    fn recount(&mut self) {
        let counted = self.bytes().min(BACKLOG_COUNTED_PER_QUEUE_MAX);
        self.backlog
            .set(self.backlog.get() + counted - self.counted);
        self.counted = counted;
    }

    /// Bytes waiting here or in the batch in flight: what the slow-consumer bound limits.
    pub(crate) fn bytes(&self) -> usize {
        self.queued_bytes + self.in_flight_bytes
    }

    /// Whether there is anything to write and no batch already in flight.
    pub(crate) fn wants_write(&self) -> bool {
        !self.in_flight && self.queued_bytes > 0
    }

    pub(crate) fn write_in_flight(&self) -> bool {
        self.in_flight
    }

    pub(crate) fn is_idle(&self) -> bool {
        !self.in_flight && self.queued_bytes == 0
    }

    /// Drop every bulk frame that has not started to go out (a slow consumer's backlog;
    /// the application keeps its own replay copy). Returns how many bytes were dropped.
    pub(crate) fn drop_bulk(&mut self) -> usize {
        let dropped: usize = self.bulk.iter().map(OutFrame::len).sum();
        self.bulk.clear();
        self.queued_bytes -= dropped;
        self.recount();
        dropped
    }

    /// Take the next batch: the partial frame, then priority, then bulk.
    pub(crate) fn take_batch(&mut self) -> Option<WriteBatch> {
        if !self.wants_write() {
            return None;
        }
        let mut frames = Vec::new();
        let mut first_offset = 0;
        let mut iovecs = 0;
        let mut bytes = 0;
        if let Some((frame, offset)) = self.partial.take() {
            debug_assert!(offset > 0 && offset < frame.len());
            bytes += frame.len() - offset;
            iovecs += 2;
            first_offset = offset;
            frames.push(frame);
        }
        for lane in [Lane::Priority, Lane::Bulk] {
            let queue = match lane {
                Lane::Priority => &mut self.priority,
                Lane::Bulk => &mut self.bulk,
            };
            while iovecs + 2 <= BATCH_IOVECS_MAX && bytes < BATCH_BYTES_MAX {
                let Some(frame) = queue.pop_front() else {
                    break;
                };
                bytes += frame.len();
                iovecs += 2;
                frames.push(frame);
            }
        }
        debug_assert!(bytes <= self.queued_bytes);
        self.queued_bytes -= bytes;
        self.in_flight_bytes = bytes;
        self.in_flight = true;
        let iov = build_iovecs(&frames, first_offset);
        Some(WriteBatch {
            frames,
            first_offset,
            iov,
            bytes,
        })
    }

    /// Take a batch back after the kernel wrote `written` of its bytes (0 after an error).
    pub(crate) fn complete(&mut self, batch: WriteBatch, written: usize) {
        assert!(self.in_flight, "a batch completed with none in flight");
        assert!(
            written <= batch.bytes,
            "kernel wrote {written} of {} bytes",
            batch.bytes
        );
        debug_assert!(self.partial.is_none());
        self.in_flight = false;
        self.in_flight_bytes = 0;
        let mut left = written + batch.first_offset;
        let mut unwritten = Vec::new();
        for frame in batch.frames {
            if left >= frame.len() {
                left -= frame.len();
            } else if left > 0 {
                self.queued_bytes += frame.len() - left;
                self.partial = Some((frame, left));
                left = 0;
            } else {
                self.queued_bytes += frame.len();
                unwritten.push(frame);
            }
        }
        // Unwritten frames go back to the front of their lanes, keeping their order.
        for frame in unwritten.into_iter().rev() {
            match frame.lane {
                Lane::Priority => self.priority.push_front(frame),
                Lane::Bulk => self.bulk.push_front(frame),
            }
        }
        self.recount();
    }
}

fn build_iovecs(frames: &[OutFrame], first_offset: usize) -> Vec<libc::iovec> {
    let mut iov = Vec::with_capacity(frames.len() * 2);
    for (i, frame) in frames.iter().enumerate() {
        let offset = if i == 0 { first_offset } else { 0 };
        for part in frame.parts_from(offset) {
            if !part.is_empty() {
                iov.push(libc::iovec {
                    iov_base: part.as_ptr() as *mut _,
                    iov_len: part.len(),
                });
            }
        }
    }
    iov
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str, lane: Lane) -> OutFrame {
        OutFrame::new(&text.as_bytes()[..1], Payload::from(&text[1..]), lane)
    }

    fn take_bytes(queue: &mut OutQueue, written: usize) -> Vec<u8> {
        let batch = queue.take_batch().unwrap();
        let mut all = Vec::new();
        for (i, frame) in batch.frames.iter().enumerate() {
            let offset = if i == 0 { batch.first_offset } else { 0 };
            for part in frame.parts_from(offset) {
                all.extend_from_slice(part);
            }
        }
        assert_eq!(all.len(), batch.bytes);
        let iov_len: usize = batch.iovecs().iter().map(|iov| iov.iov_len).sum();
        assert_eq!(iov_len, batch.bytes);
        let written = written.min(all.len());
        queue.complete(batch, written);
        all.truncate(written);
        all
    }

    #[test]
    fn priority_goes_first_but_never_splits_a_partial_frame() {
        let mut queue = OutQueue::default();
        queue.push(frame("bulk-one", Lane::Bulk));
        queue.push(frame("bulk-two", Lane::Bulk));
        assert_eq!(take_bytes(&mut queue, 3), b"bul");
        queue.push(frame("ACK", Lane::Priority));
        // The partial bulk frame finishes first, then the ACK jumps the second bulk frame.
        assert_eq!(take_bytes(&mut queue, usize::MAX), b"k-oneACKbulk-two");
        assert!(queue.is_idle());
        assert_eq!(queue.bytes(), 0);
    }

    #[test]
    fn short_writes_keep_order_and_byte_count() {
        let mut queue = OutQueue::default();
        let frames = ["alpha", "beta", "gamma", "delta"];
        for (i, text) in frames.iter().enumerate() {
            let lane = if i % 2 == 0 {
                Lane::Bulk
            } else {
                Lane::Priority
            };
            queue.push(frame(text, lane));
        }
        let total: usize = frames.iter().map(|f| f.len()).sum();
        assert_eq!(queue.bytes(), total);
        let mut out = Vec::new();
        while !queue.is_idle() {
            out.extend(take_bytes(&mut queue, 2));
            assert_eq!(queue.bytes(), total - out.len());
        }
        assert_eq!(out, b"betadeltaalphagamma");
    }

    #[test]
    fn drop_bulk_keeps_priority_and_partial() {
        let mut queue = OutQueue::default();
        queue.push(frame("bulk-one", Lane::Bulk));
        assert_eq!(take_bytes(&mut queue, 4), b"bulk");
        queue.push(frame("bulk-two", Lane::Bulk));
        queue.push(frame("CLOSE", Lane::Priority));
        assert_eq!(queue.drop_bulk(), 8);
        assert_eq!(take_bytes(&mut queue, usize::MAX), b"-oneCLOSE");
    }

    #[test]
    fn a_queue_adds_at_most_its_cap_to_the_core_backlog() {
        let backlog = CoreBacklog::default();
        let mut small = OutQueue::new(CoreBacklog::clone(&backlog));
        let mut stuck = OutQueue::new(CoreBacklog::clone(&backlog));
        small.push(frame("hello", Lane::Bulk));
        assert_eq!(backlog.get(), 5);
        for _ in 0..100 {
            stuck.push(OutFrame::new(
                b"",
                Payload::Owned(vec![0; 4096]),
                Lane::Bulk,
            ));
        }
        assert_eq!(backlog.get(), 5 + BACKLOG_COUNTED_PER_QUEUE_MAX);
        assert_eq!(take_bytes(&mut small, 2), b"he");
        assert_eq!(backlog.get(), 3 + BACKLOG_COUNTED_PER_QUEUE_MAX);
        assert_eq!(stuck.drop_bulk(), 100 * 4096);
        assert_eq!(backlog.get(), 3);
        drop(small);
        assert_eq!(backlog.get(), 0);
    }

    #[test]
    fn a_batch_is_bounded_in_iovecs() {
        let mut queue = OutQueue::default();
        for _ in 0..BATCH_IOVECS_MAX {
            queue.push(frame("xy", Lane::Bulk));
        }
        let batch = queue.take_batch().unwrap();
        assert!(batch.iovecs().len() <= BATCH_IOVECS_MAX);
        assert!(!queue.wants_write(), "one batch in flight at a time");
        queue.complete(batch, 0);
        assert!(queue.wants_write());
        assert_eq!(queue.bytes(), BATCH_IOVECS_MAX * 2);
    }
}
