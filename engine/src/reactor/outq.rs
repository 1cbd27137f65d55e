//! A connection's outbound queue: frames waiting for the socket, in two lanes.
//!
//! The reactor appends frames as the application produces them and, when it services the
//! connection, copies what is queued into its one per-core send buffer and hands that to
//! the kernel in one `send(2)`, then drops what the kernel took (`gather`, `consume`).
//! That coalescing is the point of this file: a dispatch fanned out to a busy session
//! costs one system call per wake-up, not one per frame.
//!
//! Why copy instead of a gathering write of the frames where they lie: a fanned-out
//! dispatch is two pieces per session (its own header and prefix, then the body every
//! session shares), so a gathering write of 80 dispatches is 160 iovecs, and the kernel
//! copies piece by piece. Copying them into one buffer that stays hot in the CPU's cache
//! (the same buffer for every connection of the core) costs less than that, and the
//! kernel then copies one contiguous run (measured in docs/BENCHMARKS.md, "fanout").
//!
//! Storage is compact because a busy core touches every session's queue per event: a
//! frame is one 32-byte entry, and its small bytes (the WebSocket header, a spliced
//! payload's per-session prefix, a short owned payload) live back to back in the lane's
//! `inline` buffer. A large owned payload stays in its own `Vec`, and shared bytes stay
//! shared (`Arc`), until they are copied out. A fan-out's run of dispatches is one entry
//! for the whole run (`push_run`, `numbered.rs`): the frames are rendered only here, as
//! they are copied out.
//!
//! Order: a partly written entry first (a frame, or a run, is never split by another
//! frame), then the priority lane (heartbeat ACKs, close frames), then the bulk lane
//! (dispatches, HTTP responses). Within a lane, frames keep their order. So a heartbeat
//! ACK may wait for the rest of one run (at most `MESH_BATCH_MAX` frames) once the run
//! has started to go out.
//!
//! Invariants:
//! - `queued_bytes` is the sum of the unwritten bytes of every frame held here.
//! - `partial`, if any, names a lane whose front frame has `0 < offset < len` bytes
//!   written.
//! - A lane's `inline[inline_start..]` is the concatenation of its frames' inline bytes.

use std::collections::VecDeque;
use std::sync::Arc;

use super::numbered::NumberedRun;

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
/// `Spliced` is how a dispatch is queued without a copy or an allocation per session: the
/// session's own `{"op":0,"s":N,...,"d":` lives inline in the queue and the event's
/// serialised `d` (shared by every session on the core) stays shared until the write.
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

/// Owned payloads up to this many bytes are copied into the lane's inline buffer (and
/// their `Vec` freed at once); longer ones stay in their own allocation until written.
const INLINE_PAYLOAD_MAX: usize = 512;

/// One frame for [`OutQueue::push`] on a cold path (a pong, a close frame, an HTTP
/// response): a header of at most 10 bytes (none for raw HTTP bytes) and a payload.
/// Dispatches go through [`OutQueue::push_frame`] without building one.
#[derive(Debug, Clone)]
pub(crate) struct OutFrame {
    header: [u8; 10],
    header_len: u8,
    payload: Payload,
    lane: Lane,
}

impl OutFrame {
    pub(crate) fn new(header: &[u8], payload: Payload, lane: Lane) -> OutFrame {
        assert!(header.len() <= 10, "frame header of {} bytes", header.len());
        let mut inline = [0; 10];
        inline[..header.len()].copy_from_slice(header);
        OutFrame {
            header: inline,
            header_len: header.len() as u8,
            payload,
            lane,
        }
    }

    /// Raw bytes (an HTTP response): no header.
    pub(crate) fn raw(bytes: Vec<u8>, lane: Lane) -> OutFrame {
        OutFrame::new(&[], Payload::Owned(bytes), lane)
    }
}

/// A queued frame's bytes that are not inline: none, its own, shared, or a connection's
/// share of a [`NumberedRun`] (many frames, rendered only when written).
enum Body {
    None,
    Owned(Vec<u8>),
    Shared(Arc<[u8]>),
    Run {
        run: Arc<NumberedRun>,
        first: u64,
    },
    /// An HTTP response's file body: read in pieces as the socket takes them, so it is
    /// never in memory whole.
    File(crate::http::FileBody),
}

/// One queued entry: `inline_len` bytes in its lane's inline buffer, then `body`, `len`
/// bytes in all. Usually one frame; a `Body::Run` is several, always written in order like
/// one.
struct Entry {
    len: u32,
    inline_len: u32,
    body: Body,
}

impl Entry {
    fn new(inline_len: usize, body: Body) -> Entry {
        let body_len = match &body {
            Body::None => 0,
            Body::Owned(bytes) => bytes.len(),
            Body::Shared(bytes) => bytes.len(),
            Body::Run { run, first } => run.wire_bytes(*first),
            Body::File(file) => usize::try_from(file.len).expect("a file under 4 GiB"),
        };
        Entry {
            len: u32::try_from(inline_len + body_len).expect("a queued frame under 4 GiB"),
            inline_len: u32::try_from(inline_len).expect("inline bytes"),
            body,
        }
    }

    fn len(&self) -> usize {
        self.len as usize
    }
}

/// One lane's frames, their inline bytes back to back.
#[derive(Default)]
struct LaneQueue {
    frames: VecDeque<Entry>,
    inline: Vec<u8>,
    /// Inline bytes before this belong to frames already written.
    inline_start: usize,
}

/// A lane queue that has held more than this many frames, or inline bytes, gives the
/// memory back once it is empty: an idle session should not keep even READY's burst of
/// capacity (about 0.3 KB of a 4 KB idle session). Growing it again costs a few
/// allocations per write of a busy connection, where the write itself costs microseconds;
/// a fan-out's run is one entry anyway.
const LANE_FRAMES_KEPT_MAX: usize = 4;
const LANE_INLINE_KEPT_MAX: usize = 128;

impl LaneQueue {
    /// Queues `header`, then `inline` (both copied here), then `body`; returns the
    /// frame's length.
    fn push(&mut self, header: &[u8], inline: &[u8], body: Body) -> usize {
        let start = self.inline.len();
        self.inline.extend_from_slice(header);
        self.inline.extend_from_slice(inline);
        let entry = Entry::new(self.inline.len() - start, body);
        let len = entry.len();
        if self.frames.capacity() == 0 {
            // One slot, not the deque's first four: an idle connection's last write (a
            // heartbeat ACK) is one frame. A second frame grows it as usual.
            self.frames.reserve_exact(1);
        }
        self.frames.push_back(entry);
        len
    }

    /// Removes the front frame and its inline bytes.
    fn pop_front(&mut self) {
        let entry = self.frames.pop_front().expect("a frame to pop");
        self.inline_start += entry.inline_len as usize;
        debug_assert!(self.inline_start <= self.inline.len());
        if self.frames.is_empty() {
            self.inline.clear();
            self.inline_start = 0;
            if self.frames.capacity() > LANE_FRAMES_KEPT_MAX {
                self.frames = VecDeque::new();
            }
            if self.inline.capacity() > LANE_INLINE_KEPT_MAX {
                self.inline = Vec::new();
            }
        } else if self.inline_start > 4096 && self.inline_start * 2 > self.inline.len() {
            // Mostly written: move the rest to the front (amortised: it was at least
            // as many bytes of appends).
            self.inline.drain(..self.inline_start);
            self.inline_start = 0;
        }
    }

    /// Keeps the first `kept` frames and drops the rest; returns the bytes dropped.
    fn truncate(&mut self, kept: usize) -> usize {
        let mut inline_kept = self.inline_start;
        let mut dropped = 0;
        for (i, entry) in self.frames.iter().enumerate() {
            if i < kept {
                inline_kept += entry.inline_len as usize;
            } else {
                dropped += entry.len();
            }
        }
        self.frames.truncate(kept);
        self.inline.truncate(inline_kept);
        if self.frames.is_empty() {
            self.inline.clear();
            self.inline_start = 0;
        }
        dropped
    }

    fn front_len(&self) -> Option<usize> {
        self.frames.front().map(Entry::len)
    }
}

/// Appends up to `room` bytes of `frame` (from `offset`) to `out`; returns the room left.
/// Fails only when a file body cannot be read.
fn copy_frame(
    out: &mut Vec<u8>,
    inline: &[u8],
    entry: &Entry,
    offset: usize,
    room: usize,
) -> std::io::Result<usize> {
    let body: &[u8] = match &entry.body {
        Body::None => &[],
        Body::Owned(bytes) => bytes,
        Body::Shared(bytes) => bytes,
        Body::Run { run, first } => {
            debug_assert_eq!(entry.inline_len, 0, "a run has no inline bytes");
            return Ok(run.write(*first, offset, room, out));
        }
        Body::File(file) => {
            debug_assert_eq!(entry.inline_len, 0, "a file has no inline bytes");
            return copy_file(out, file, offset, room);
        }
    };
    let mut skip = offset;
    Ok(copy_parts(out, [inline, body], &mut skip, room))
}

/// Appends up to `room` bytes of `file` from `offset` to `out`, read with `pread`; returns
/// the room left. A file that ends early (truncated under us) is an error: its length was
/// promised in `Content-Length`.
fn copy_file(
    out: &mut Vec<u8>,
    file: &crate::http::FileBody,
    offset: usize,
    room: usize,
) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let left = usize::try_from(file.len).expect("a file under 4 GiB") - offset;
    let take = left.min(room);
    let start = out.len();
    out.resize(start + take, 0);
    let read = file.file.read_exact_at(&mut out[start..], offset as u64);
    if let Err(error) = read {
        out.truncate(start);
        return Err(error);
    }
    Ok(room - take)
}

/// Appends to `out`, at most `room` bytes, what follows the first `skip` bytes of `parts`
/// laid end to end; `skip` is reduced by what was passed over. Returns the room left.
pub(super) fn copy_parts(
    out: &mut Vec<u8>,
    parts: [&[u8]; 2],
    skip: &mut usize,
    room: usize,
) -> usize {
    let mut room = room;
    for part in parts {
        if room == 0 {
            break;
        }
        if *skip >= part.len() {
            *skip -= part.len();
            continue;
        }
        let take = (part.len() - *skip).min(room);
        out.extend_from_slice(&part[*skip..*skip + take]);
        room -= take;
        *skip = 0;
    }
    room
}

/// How far behind its sockets a core is: the unwritten bytes of each of its outbound
/// queues, each counted up to `BACKLOG_COUNTED_PER_QUEUE_MAX`, summed, and kept up to date
/// by the queues themselves.
///
/// Why capped: the sum decides when the core stops taking HTTP requests (`core/http_pause.rs`,
/// `http_paused`). Uncapped, a few clients that stop reading (each may hold megabytes until
/// it is closed as a slow consumer) could pause every other client's requests; capped,
/// the pause needs most connections to be behind, which is what overload looks like.
/// And only the queues the reactor says count (`set_in_backlog`): WebSocket queues within
/// their slow-consumer bound. An HTTP client's unread answers, or a WebSocket client that
/// stopped reading, are held by their own bounds; counted here, a few thousand of them
/// could pause every healthy client's requests.
pub(crate) type CoreBacklog = std::rc::Rc<std::cell::Cell<usize>>;

/// The most one queue adds to its core's `CoreBacklog`.
pub(crate) const BACKLOG_COUNTED_PER_QUEUE_MAX: usize = 256 * 1024;

/// The outbound queue of one connection.
pub(crate) struct OutQueue {
    priority: LaneQueue,
    bulk: LaneQueue,
    /// The lane whose front frame is partly written, and how many of its bytes went.
    partial: Option<(Lane, usize)>,
    queued_bytes: usize,
    /// The core's total, and what this queue adds to it now.
    backlog: CoreBacklog,
    counted: usize,
    /// Whether this queue's bytes count toward `backlog` at all.
    in_backlog: bool,
}

impl Default for OutQueue {
    /// A queue counting toward a backlog of its own (for tests and cold paths).
    fn default() -> OutQueue {
        OutQueue::new(CoreBacklog::default())
    }
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
            priority: LaneQueue::default(),
            bulk: LaneQueue::default(),
            partial: None,
            queued_bytes: 0,
            backlog,
            counted: 0,
            in_backlog: true,
        }
    }

    /// Whether this queue counts toward the core's backlog from now on.
    pub(crate) fn set_in_backlog(&mut self, counts: bool) {
        if self.in_backlog != counts {
            self.in_backlog = counts;
            self.recount();
        }
    }

    fn lane(&self, lane: Lane) -> &LaneQueue {
        match lane {
            Lane::Priority => &self.priority,
            Lane::Bulk => &self.bulk,
        }
    }

    fn lane_mut(&mut self, lane: Lane) -> &mut LaneQueue {
        match lane {
            Lane::Priority => &mut self.priority,
            Lane::Bulk => &mut self.bulk,
        }
    }

    /// Queues a frame built on a cold path.
    pub(crate) fn push(&mut self, frame: OutFrame) {
        let header_len = usize::from(frame.header_len);
        self.push_frame(&frame.header[..header_len], frame.payload, frame.lane);
    }

    /// Queues `header` (at most 10 bytes: a WebSocket frame header, or none) followed by
    /// `payload`.
    pub(crate) fn push_frame(&mut self, header: &[u8], payload: Payload, lane: Lane) {
        match payload {
            Payload::Owned(bytes) if bytes.len() <= INLINE_PAYLOAD_MAX => {
                self.push_parts(header, &bytes, Body::None, lane)
            }
            Payload::Owned(bytes) => self.push_parts(header, &[], Body::Owned(bytes), lane),
            Payload::Shared(bytes) => self.push_parts(header, &[], Body::Shared(bytes), lane),
            Payload::Spliced { prefix, shared } => {
                self.push_spliced(header, prefix.as_slice(), shared, lane)
            }
        }
    }

    /// Queues `header`, this connection's `prefix`, then the `shared` bytes: a fanned-out
    /// dispatch, without building a [`Payload`].
    pub(crate) fn push_spliced(
        &mut self,
        header: &[u8],
        prefix: &[u8],
        shared: Arc<[u8]>,
        lane: Lane,
    ) {
        self.push_parts(header, prefix, Body::Shared(shared), lane);
    }

    fn push_parts(&mut self, header: &[u8], inline: &[u8], body: Body, lane: Lane) {
        debug_assert!(header.len() <= 10);
        let len = self.lane_mut(lane).push(header, inline, body);
        self.queued_bytes += len;
        self.recount();
    }

    /// Queues an HTTP response's file body in the bulk lane (after the response's head,
    /// which the caller queued first).
    pub(crate) fn push_file(&mut self, file: crate::http::FileBody) {
        if file.len > 0 {
            self.push_parts(&[], &[], Body::File(file), Lane::Bulk);
        }
    }

    /// Whether no priority frame (a pong, a heartbeat ACK, a close) waits to be written.
    pub(crate) fn priority_is_idle(&self) -> bool {
        self.priority.frames.is_empty()
    }

    /// Entries waiting (a frame, a run, an HTTP response's head or its file each count one).
    pub(crate) fn entries(&self) -> usize {
        self.priority.frames.len() + self.bulk.frames.len()
    }

    /// Bytes this queue holds in memory: `bytes()` without the unsent part of file bodies,
    /// which stay on disk until they are sent.
    pub(crate) fn bytes_in_memory(&self) -> usize {
        let mut on_disk = 0;
        for lane in [Lane::Priority, Lane::Bulk] {
            for (i, entry) in self.lane(lane).frames.iter().enumerate() {
                if matches!(entry.body, Body::File(_)) {
                    let sent = match self.partial {
                        Some((partial, offset)) if partial == lane && i == 0 => offset,
                        _ => 0,
                    };
                    on_disk += entry.len() - sent;
                }
            }
        }
        self.queued_bytes - on_disk
    }

    /// Queues a connection's share of `run` (its frames numbered from `first`) in the bulk
    /// lane: one entry, whatever the run's length.
    pub(crate) fn push_run(&mut self, run: Arc<NumberedRun>, first: u64) {
        self.push_parts(&[], &[], Body::Run { run, first }, Lane::Bulk);
    }

    /// Brings this queue's share of the core's backlog up to date with `bytes()`.
    fn recount(&mut self) {
        let counted = if self.in_backlog {
            self.bytes().min(BACKLOG_COUNTED_PER_QUEUE_MAX)
        } else {
            0
        };
        self.backlog
            .set(self.backlog.get() + counted - self.counted);
        self.counted = counted;
    }

    /// Bytes waiting here: what the slow-consumer bound limits.
    pub(crate) fn bytes(&self) -> usize {
        self.queued_bytes
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.queued_bytes == 0
    }

    /// Drop every bulk frame that has not started to go out (a slow consumer's backlog;
    /// the application keeps its own replay copy). Returns how many bytes were dropped.
    pub(crate) fn drop_bulk(&mut self) -> usize {
        let kept = usize::from(matches!(self.partial, Some((Lane::Bulk, _))));
        let dropped = self.bulk.truncate(kept);
        self.queued_bytes -= dropped;
        self.recount();
        dropped
    }

    /// Appends the queue's next bytes to `out`, at most `max` of them, in the order they
    /// must reach the socket: the partial frame's rest, then priority, then bulk. Nothing
    /// is removed; [`OutQueue::consume`] does that once the kernel says how much it took.
    pub(crate) fn gather(&self, out: &mut Vec<u8>, max: usize) -> std::io::Result<()> {
        let mut room = max;
        let mut skip = [0usize; 2];
        if let Some((lane, offset)) = self.partial {
            let queue = self.lane(lane);
            let entry = queue.frames.front().expect("a partial frame");
            let inline = &queue.inline[queue.inline_start..][..entry.inline_len as usize];
            room = copy_frame(out, inline, entry, offset, room)?;
            skip[lane as usize] = 1;
        }
        for lane in [Lane::Priority, Lane::Bulk] {
            let queue = self.lane(lane);
            let mut at = queue.inline_start;
            for (i, entry) in queue.frames.iter().enumerate() {
                let inline_len = entry.inline_len as usize;
                if i >= skip[lane as usize] {
                    if room == 0 {
                        return Ok(());
                    }
                    room = copy_frame(out, &queue.inline[at..at + inline_len], entry, 0, room)?;
                }
                at += inline_len;
            }
        }
        Ok(())
    }

    /// The kernel took the first `written` bytes of what [`OutQueue::gather`] produced:
    /// drop them (whole frames leave; a frame cut short becomes the partial one).
    pub(crate) fn consume(&mut self, written: usize) {
        assert!(
            written <= self.queued_bytes,
            "kernel wrote {written} of {} bytes",
            self.queued_bytes
        );
        self.queued_bytes -= written;
        let mut left = written;
        if let Some((lane, offset)) = self.partial.take() {
            let queue = self.lane_mut(lane);
            let len = queue.front_len().expect("a partial frame");
            if offset + left < len {
                self.partial = Some((lane, offset + left));
                left = 0;
            } else {
                left -= len - offset;
                queue.pop_front();
            }
        }
        for lane in [Lane::Priority, Lane::Bulk] {
            while left > 0 {
                let queue = self.lane_mut(lane);
                let Some(len) = queue.front_len() else {
                    break;
                };
                if left >= len {
                    left -= len;
                    queue.pop_front();
                } else {
                    self.partial = Some((lane, left));
                    left = 0;
                }
            }
        }
        debug_assert_eq!(left, 0);
        self.recount();
    }
}

#[cfg(test)]
#[path = "outq_tests.rs"]
mod tests;
