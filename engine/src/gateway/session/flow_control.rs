//! Dispatches and send flow control: how events leave a session.
//!
//! Events go into the replay ring, which doubles as the send queue: `pump` hands the shell
//! frames from it while the send window (`send_window_bytes`) has room; paced bulk events
//! (`Input::DispatchPaced`) enter the ring one at a time, only when nothing unsent is in
//! it. `dispatch` and `dispatch_run` are the fan-out's fast paths for a live session with
//! nothing waiting. The module doc of `session.rs` says why (heartbeat ACKs never wait
//! behind bulk dispatches).
//!
//! Invariants:
//! - Sequence numbers never skip (`debug_assert`ed where the fast paths push).
//! - Every frame handed to the shell is counted in `in_flight_bytes` until the shell
//!   reports it written.

use std::sync::Arc;

use super::{Input, OutFrame, Output, Phase, Session};
use crate::gateway::compress::{Encoder, Outgoing};
use crate::gateway::dispatch::Dispatch;
use crate::gateway::error::GatewayError;
use crate::gateway::frame::DispatchRun;
use crate::gateway::intents::Intents;
use crate::gateway::payload::GatewayShard;
use crate::gateway::time::Micros;
use crate::reactor::NumberedRun;

/// Ring bytes of paced dispatches one session may hold back (a few answers to op 8 for
/// a guild of tens of thousands of members); past it the session closes 4000 like any
/// slow consumer.
pub const PACED_BYTES_MAX: usize = 64 << 20;

impl Session {
    /// Fan-out's fast path: `handle(now, Input::Dispatch(event))` for the common case
    /// of a live session with nothing queued and room in its send window, which is to
    /// frame the event at once. Returns that frame; in every other case it does exactly
    /// what `handle` does and returns `None`, and the caller drains `poll` as usual.
    ///
    /// Why: a dispatch to ten thousand sessions is ten thousand calls; skipping the
    /// output queue and the deadline bookkeeping (which this case cannot change) is most
    /// of the per-session cost left in user space.
    pub fn dispatch(&mut self, now: Micros, event: &Arc<Dispatch>) -> Option<OutFrame> {
        let fast = self.in_flight_bytes < self.config.send_window_bytes
            && self
                .next_seq_if_fast(|intents, shard| event.visible_to(intents, shard))
                .is_some();
        if !fast {
            self.handle(now, Input::Dispatch(event));
            return None;
        }
        let Phase::Live(live) = &mut self.phase else {
            unreachable!("checked: live")
        };
        let (seq, _) = live.state.ring.push(Arc::clone(event));
        debug_assert_eq!(seq, live.seq_sent + 1);
        live.seq_sent = seq;
        debug_assert!(self.backlogged_since.is_none());
        let frame = self.encode_frame(Outgoing::Dispatch { seq, event }, false);
        if frame.is_none() {
            self.schedule(); // The compressor failed and closed the session.
        }
        frame
    }

    /// Fan-out's fast path for a run of dispatches: when this session is a live session,
    /// plain-text or spliced zlib-stream, with nothing else pending, room in its send
    /// window for all of the run but its last event (which, as with `dispatch`, may end
    /// past the window), and every event visible to it, the events go into its replay
    /// ring as `dispatch` would put them there, and the session's first `s` of the run
    /// comes back with the frames to queue numbered from it (`Outbox::send_run`):
    /// `run.frames()`, or `run.zlib_frames()`, which are byte for byte what `dispatch`
    /// would send one by one. `None`: nothing was done, and the caller gives the events
    /// to `dispatch` one by one.
    pub fn dispatch_run<'r>(
        &mut self,
        run: &'r DispatchRun,
    ) -> Option<(u64, &'r Arc<NumberedRun>)> {
        let frames = match self.encoder {
            Encoder::Plain => run.frames(),
            Encoder::ZlibSpliced { header_sent: true } => {
                run.zlib_frames(&self.config.compression)?
            }
            _ => return None,
        };
        let first = self.next_seq_if_fast(|intents, shard| run.visible_to(intents, shard))?;
        let bytes = frames.payload_bytes(first);
        // `handle` sends each event while the window has room before it, so the whole
        // run leaves at once exactly when everything before its last event fits (the last
        // may end past the window, as a single `dispatch` may).
        let before_last = bytes - frames.last_payload_bytes(first);
        if self.in_flight_bytes + before_last >= self.config.send_window_bytes {
            return None;
        }
        let Phase::Live(live) = &mut self.phase else {
            unreachable!("checked: live")
        };
        let (seq, _) = live.state.ring.push_run(run.ring_entry());
        debug_assert_eq!(seq, first);
        live.seq_sent = live.state.ring.seq_last();
        debug_assert!(self.backlogged_since.is_none());
        self.in_flight_bytes += bytes;
        Some((first, frames))
    }

    /// The `s` the next dispatch gets, if `events` may take a fast path: the session is
    /// live, nothing waits before them (no output, no paced event, nothing unsent in the
    /// ring), and the events are visible to it (`visible`, asked with its intents and
    /// shard). The send window is the caller's to check. A session past its heartbeat
    /// deadline still takes it: only its tick finds a zombie (`heartbeat.rs`).
    fn next_seq_if_fast(&self, visible: impl FnOnce(Intents, GatewayShard) -> bool) -> Option<u64> {
        let Phase::Live(live) = &self.phase else {
            return None;
        };
        let fast = self.outputs.is_empty()
            && self.paced.is_empty()
            && live.seq_sent == live.state.ring.seq_last()
            && visible(live.state.intents, live.state.shard);
        fast.then_some(live.seq_sent + 1)
    }

    pub(super) fn handle_dispatch(&mut self, now: Micros, event: &Arc<Dispatch>) {
        let Phase::Live(live) = &mut self.phase else {
            return;
        };
        if !event.visible_to(live.state.intents, live.state.shard) {
            return;
        }
        live.state.ring.push(Arc::clone(event));
        if live.seq_sent + 1 < live.state.ring.seq_first() {
            // The ring dropped an event this connection never received.
            return self.close(GatewayError::SlowConsumer);
        }
        self.pump(now);
    }

    pub(super) fn handle_dispatch_paced(&mut self, now: Micros, event: Arc<Dispatch>) {
        let Phase::Live(live) = &self.phase else {
            return;
        };
        if !event.visible_to(live.state.intents, live.state.shard) {
            return;
        }
        self.paced_bytes += event.ring_bytes();
        self.paced.push_back(event);
        if self.paced_bytes > PACED_BYTES_MAX {
            return self.close(GatewayError::SlowConsumer);
        }
        self.pump(now);
    }

    /// Sends dispatches from the ring while the send window has room.
    pub(super) fn pump(&mut self, now: Micros) {
        loop {
            let Phase::Live(live) = &mut self.phase else {
                return;
            };
            if live.seq_sent == live.state.ring.seq_last() {
                let Some(next) = self.paced.pop_front() else {
                    self.backlogged_since = None;
                    return;
                };
                // Nothing unsent is in the ring, so whatever this push evicts was sent.
                self.paced_bytes -= next.ring_bytes();
                live.state.ring.push(next);
                debug_assert_eq!(live.seq_sent + 1, live.state.ring.seq_last());
                debug_assert!(live.state.ring.covers(live.seq_sent + 1));
            }
            if self.in_flight_bytes >= self.config.send_window_bytes {
                self.backlogged_since.get_or_insert(now);
                return;
            }
            let seq = live.seq_sent + 1;
            let event = Arc::clone(live.state.ring.get(seq).expect("covered: checked on push"));
            live.seq_sent = seq;
            self.send(Outgoing::Dispatch { seq, event: &event }, false);
        }
    }

    pub(super) fn send(&mut self, message: Outgoing<'_>, priority: bool) {
        if let Some(frame) = self.encode_frame(message, priority) {
            self.outputs.push_back(Output::Send(frame));
        }
    }

    /// Encodes one frame and counts it in flight; a compressor failure closes the session.
    fn encode_frame(&mut self, message: Outgoing<'_>, priority: bool) -> Option<OutFrame> {
        match self
            .encoder
            .encode_payload(message, &self.config.compression)
        {
            Ok(bytes) => {
                self.in_flight_bytes += bytes.len();
                Some(OutFrame {
                    bytes,
                    binary: self.encoder.binary(),
                    priority,
                })
            }
            Err(e) => {
                self.close(GatewayError::Compression(e.0));
                None
            }
        }
    }
}
