//! Applying the application's commands (`Outbox`) to the connections they name.
//!
//! Why: the application never touches a connection. It queues commands, and this is the one
//! place they take effect, after every callback, so a command for a connection that is gone
//! or no longer `Open` (its `ConnId` names an older generation) is dropped here, and the
//! frames it queues are counted against the outbox bound here. The datagrams a callback
//! queued leave here too, after its commands (`datagrams.rs`).

use crate::reactor::app::{App, CloseCause, Command, QueuedPayload};
use crate::reactor::conn::Phase;
use crate::reactor::outq::{Lane, Payload};
use crate::reactor::ws;

use super::Reactor;

impl<A: App> Reactor<A> {
    pub(super) fn apply_commands(&mut self) {
        while let Some(command) = self.out.commands.pop_front() {
            match command {
                Command::Send {
                    conn,
                    kind,
                    payload,
                    lane,
                } => {
                    let Some(key) = self.live_ws(conn) else {
                        continue;
                    };
                    let outq = &mut self.conns[key].outq;
                    match payload {
                        QueuedPayload::Owned(bytes) => {
                            let header = ws::data_header(kind, bytes.len());
                            outq.push_frame(&header, Payload::Owned(bytes), lane);
                        }
                        QueuedPayload::Shared(bytes) => {
                            let header = ws::data_header(kind, bytes.len());
                            outq.push_frame(&header, Payload::Shared(bytes), lane);
                        }
                        QueuedPayload::Spliced { at, len, shared } => {
                            let at = at as usize;
                            let prefix = &self.out.prefixes[at..at + usize::from(len)];
                            let header = ws::data_header(kind, prefix.len() + shared.len());
                            outq.push_spliced(&header, prefix, shared, lane);
                        }
                    }
                    self.stats.queued_frames(1);
                    match lane {
                        Lane::Priority => self.touch_urgent(key),
                        Lane::Bulk => self.touch(key),
                    }
                    self.check_outbox_bound(key);
                }
                Command::SendRun { conn, first, run } => {
                    let Some(key) = self.live_ws(conn) else {
                        continue;
                    };
                    self.stats.queued_frames(run.frames());
                    self.conns[key].outq.push_run(run, first);
                    self.touch(key);
                    self.check_outbox_bound(key);
                }
                Command::Close { conn, code, reason } => {
                    let Some(key) = self.live(conn) else { continue };
                    let frame = match self.conns[key].phase {
                        Phase::WebSocket { .. } => {
                            Some(ws::close_frame(Some(code), &reason, Lane::Bulk))
                        }
                        Phase::Http { .. } => None,
                    };
                    self.start_close(key, frame, CloseCause::ClosedByApp);
                }
                Command::Respond { conn, response } => self.respond_later(conn, *response),
                Command::Abort { conn } => {
                    if let Some(key) = self.live(conn) {
                        self.kill(key, CloseCause::Aborted);
                    }
                }
                Command::Mesh { core, message } => self.mesh.send(core, *message),
            }
        }
        self.out.prefixes.clear();
        if let Some(deadline) = self.out.wake_at.take() {
            self.app_deadline = Some(self.app_deadline.map_or(deadline, |d| d.min(deadline)));
        }
        if !self.out.datagrams.is_empty() {
            self.flush_datagrams();
        }
    }
}
