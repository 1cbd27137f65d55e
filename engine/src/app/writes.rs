//! What the application does when one of its writes settles (`commit.rs`): a durable
//! write is answered and announced; a failed one is undone and answered 500.
//!
//! The rule (ARCHITECTURE.md, "Commit protocol"): nothing of a change is visible before
//! it is durable — not to clients (answers wait in the commit queue), not to other cores
//! (syncs and events leave from here), not to this core's own caches (nonces, the DM pair
//! index) — and a failed write leaves no trace. What the owner computes its next change
//! from while writes are in flight (its *working* state: an owned guild, an account, a
//! message with a reaction in flight) is undone here to the durable state when they fail.

use std::sync::Arc;

use super::accounts::AccountSync;
use super::commit::{Settled, Write, STORE_POLL_FALLBACK};
use super::guild_fanout::GuildSync;
use super::messages::MessageWrite;
use super::{FluxApp, FluxMesh};
use crate::reactor::Outbox;
use crate::world::dm::DmChannel;

/// What a queued write changes, per family.
#[derive(Debug)]
pub(super) enum Change {
    /// Messages of one channel (`messages.rs`).
    Message(MessageWrite),
    /// A guild, created, changed or deleted (`guild_calls.rs`).
    Guild(Arc<GuildSync>),
    /// A new DM channel (`dms.rs`).
    Dm(Arc<DmChannel>),
    /// An account on its home core (`accounts.rs`).
    Account(Arc<AccountSync>),
}

impl FluxApp {
    /// When the store's wake fd fires (and on ticks while writes wait): settle the writes
    /// the store finished with, in order.
    pub(super) fn poll_store(&mut self, out: &mut Outbox<FluxMesh>) {
        let mut settled = Vec::new();
        self.commits.poll(self.core, &mut settled);
        let mut failed = Vec::new();
        for write in settled {
            match write {
                Settled::Durable(write) => self.durable(out, write),
                Settled::Failed(write) => failed.push(write),
            }
        }
        // Failures are a suffix of the queue: every durable write before them is applied
        // above, so undoing to the durable state is exact.
        for write in &failed {
            self.undo(out, &write.change);
        }
        for write in failed {
            super::Metrics::bump(&self.shared.metrics.store_writes_failed_total);
            for answer in write.answers {
                self.send_answer(out, answer.reply_core, answer.conn, answer.response);
            }
        }
        if self.commits.waiting() {
            out.wake_at(out.now() + STORE_POLL_FALLBACK);
        }
    }

    /// A write is durable: its family makes it visible and answers.
    fn durable(&mut self, out: &mut Outbox<FluxMesh>, write: Write<Change>) {
        match write.change {
            Change::Message(change) => {
                super::Metrics::bump(&self.shared.metrics.message_writes_durable_total);
                self.message_durable(out, change, write.answers);
            }
            Change::Guild(sync) => {
                super::Metrics::bump(&self.shared.metrics.guild_writes_durable_total);
                self.guild_durable(out, sync, write.answers);
            }
            Change::Dm(channel) => self.dm_durable(out, channel, write.answers),
            Change::Account(sync) => self.account_durable(out, sync, write.answers),
        }
    }

    /// A write failed: forget what the owner prepared for it.
    fn undo(&mut self, out: &mut Outbox<FluxMesh>, change: &Change) {
        match change {
            Change::Message(change) => self.message_failed(change),
            Change::Guild(sync) => self.guilds.write_failed(sync.guild_id),
            Change::Dm(channel) => self.dms.write_failed(channel),
            Change::Account(sync) => self.account_failed(out, sync),
        }
    }
}
