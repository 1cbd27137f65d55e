//! The core-wide pause of HTTP requests while the core is behind its sockets, has as many
//! requests in the application as it lets in at once, or holds more mesh messages than a
//! ring's worth for cores that are not taking them.
//!
//! Why a file of its own: it is one policy with three inputs, the core's unwritten backlog
//! (`CoreBacklog`), its requests in the application (`conn::InApp`) and its mesh overflow
//! (`MeshEndpoint::overflow_len`), which decides for every HTTP connection of the core at
//! once whether its next request is read and parsed (`http_paused` says why the pause
//! exists). The connections it holds back wait in `paused_http` and go on once all three
//! have halved.
//!
//! Elsewhere: each HTTP connection's own bound on unread answers (`http_conn.rs`,
//! `answers_unread`) and a WebSocket's slow-consumer bound (`websocket.rs`).

use crate::reactor::app::App;

use super::Reactor;
use crate::reactor::conn::HTTP_IN_APP_PER_CORE_MAX;

/// Unwritten bytes per connection past which HTTP requests wait (`http_paused`): about
/// 128 MESSAGE_CREATE frames each. The bytes are mostly shared event bodies, so the memory
/// this stands for is far less. Each queue counts at most `BACKLOG_COUNTED_PER_QUEUE_MAX`
/// (256 KiB), so the pause needs at least half of the WebSocket connections to be behind,
/// not a few clients that stopped reading, and at least four (`BACKLOG_MIN_BYTES`).
///
/// Why this size: the pause sets how many events a saturated core's sessions collect
/// between two of their writes, and a write's fixed cost (the system call, the wake-up of
/// the reader, the segments' own work) is paid per write, not per frame. At 32 KiB a
/// saturated core wrote about 95 frames per `send(2)`; at 128 KiB it writes 165 to 195, and
/// its CPU per delivery fell by about a tenth (docs/BENCHMARKS.md, "fanout"). It stays
/// under a session's send window (512 KiB) with room for a burst of events: past the
/// window, events wait in the replay ring and go out one frame at a time.
const BACKLOG_PER_CONN_BYTES: usize = 128 * 1024;
const BACKLOG_MIN_BYTES: usize = 4 * super::super::outq::BACKLOG_COUNTED_PER_QUEUE_MAX;

impl<A: App> Reactor<A> {
    /// Whether HTTP requests wait: the core has more unwritten bytes than
    /// `BACKLOG_PER_CONN_BYTES` per connection (at least `BACKLOG_MIN_BYTES`). A session's
    /// send window (512 KiB) caps what it queues here, so the bound must stay under that
    /// per session, or a burst would pass the replay ring before the pause began.
    ///
    /// Why: when messages arrive faster than this core can write them to its sessions,
    /// the backlog would grow until sessions fall so far behind that they are closed
    /// (4000) though their clients read as fast as they can. Taking no new request
    /// instead makes the publishers wait, so the server runs at its capacity, answers
    /// later, and drops nobody. Real slow consumers still have their own bound.
    ///
    /// Also while the core's connections have `HTTP_IN_APP_PER_CORE_MAX` requests in the
    /// application (`conn.rs` says why): whatever the number of publishers, a burst of
    /// events stays small enough for the sessions' replay rings.
    ///
    /// And while more mesh messages wait in this core's overflow queues than one ring holds
    /// (`mesh/mod.rs`): another core is not taking what this one sends it (stalled, or
    /// slower than this core's fan-out to it). Each post this core owns sends a run of
    /// events to every core with sessions in the guild, and the post is acknowledged before
    /// those runs are taken, so without this a stalled core would let the queue grow with
    /// every post; with it, the queue stays within about a ring plus what the requests
    /// already in the application and the gateway's rate-limited messages add.
    pub(super) fn http_paused(&self) -> bool {
        self.backlog.get() > self.backlog_limit()
            || self.http_in_app.get() >= HTTP_IN_APP_PER_CORE_MAX
            || self.mesh.overflow_len() > self.mesh.ring_len()
    }

    /// `BACKLOG_PER_CONN_BYTES` per WebSocket connection (the ones fan-out writes to; HTTP
    /// connections queue next to nothing), at least `BACKLOG_MIN_BYTES`.
    fn backlog_limit(&self) -> usize {
        (self.websockets * BACKLOG_PER_CONN_BYTES).max(BACKLOG_MIN_BYTES)
    }

    /// Whether paused HTTP connections may go on: some wait and the backlog, the requests
    /// in the application and the mesh overflow have halved.
    /// `next_timeout` asks too: writes are synchronous, so once they have drained the
    /// backlog no completion may come to wake the loop, and the paused connections would
    /// wait for an unrelated event.
    pub(super) fn http_resumable(&self) -> bool {
        !self.paused_http.is_empty()
            && self.backlog.get() <= self.backlog_limit() / 2
            && self.http_in_app.get() <= HTTP_IN_APP_PER_CORE_MAX / 2
            && self.mesh.overflow_len() <= self.mesh.ring_len() / 2
    }

    /// Once the backlog, the requests in the application and the mesh overflow have
    /// halved, let paused HTTP connections read and parse again.
    pub(super) fn resume_paused_http(&mut self) {
        if !self.http_resumable() {
            return;
        }
        for (key, generation) in std::mem::take(&mut self.paused_http) {
            if self.holds(key, generation) {
                self.touch(key);
                self.process_http(key);
            }
        }
    }
}
