//! Per-core counters, written only by their own core and read by anyone.
//!
//! Each core owns one `CoreStats`; it updates it with relaxed atomic stores (no other
//! core writes it, so there is no contention, only the occasional read from a test or an
//! operator). [`Stats`] is the sum over cores at one moment.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// One core's counters.
#[derive(Debug, Default)]
pub struct CoreStats {
    connections_open: AtomicUsize,
    connections_accepted: AtomicU64,
    slow_consumer_closes: AtomicU64,
    protocol_error_closes: AtomicU64,
    http_timeouts: AtomicU64,
    connections_refused: AtomicU64,
    outbox_bytes_peak: AtomicUsize,
    mesh_overflow_peak: AtomicUsize,
    write_batches: AtomicU64,
    frames_queued: AtomicU64,
    datagrams_received: AtomicU64,
    datagrams_sent: AtomicU64,
    datagrams_dropped: AtomicU64,
}

/// A snapshot of the server's counters, summed over cores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections currently holding a slot (open or closing).
    pub connections_open: usize,
    /// Connections accepted since start.
    pub connections_accepted: u64,
    /// Connections closed because they stopped reading.
    pub slow_consumer_closes: u64,
    /// WebSocket connections closed for breaking the protocol.
    pub protocol_error_closes: u64,
    /// HTTP connections closed for missing a deadline (a request head, a body, or the next
    /// request of an idle kept-alive connection).
    pub http_timeouts: u64,
    /// Connections refused with 503 at a cap (`Limits::connections_max`,
    /// `connections_per_address_max`).
    pub connections_refused: u64,
    /// The largest outbound queue any one connection reached, in bytes.
    pub outbox_bytes_peak: usize,
    /// The most mesh messages one core held for other cores whose rings were full, at the
    /// end of a loop turn.
    pub mesh_overflow_peak: usize,
    /// Socket writes made (one `send(2)` each, counted before the call).
    pub write_batches: u64,
    /// WebSocket data frames the application queued (`Outbox::send`). Against
    /// `write_batches` it shows the coalescing.
    pub frames_queued: u64,
    /// UDP datagrams received on the voice sockets and handed to `App::handle_datagram`.
    pub datagrams_received: u64,
    /// UDP datagrams the voice sockets sent (`Outbox::send_datagram`).
    pub datagrams_sent: u64,
    /// UDP datagrams dropped: sends the socket had no room for (or that failed, or that a
    /// core without a voice socket was asked for), and received ones that were truncated.
    pub datagrams_dropped: u64,
}

impl CoreStats {
    pub(crate) fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn slow_consumer(&self) {
        self.slow_consumer_closes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn protocol_error(&self) {
        self.protocol_error_closes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn http_timeout(&self) {
        bump(&self.http_timeouts);
    }

    pub(crate) fn connection_refused(&self) {
        bump(&self.connections_refused);
    }

    pub(crate) fn outbox_bytes(&self, bytes: usize) {
        raise(&self.outbox_bytes_peak, bytes);
    }

    pub(crate) fn mesh_overflow(&self, messages: usize) {
        raise(&self.mesh_overflow_peak, messages);
    }

    pub(crate) fn write_batch(&self) {
        bump(&self.write_batches);
    }

    pub(crate) fn queued_frames(&self, frames: usize) {
        let counter = &self.frames_queued;
        counter.store(
            counter.load(Ordering::Relaxed) + frames as u64,
            Ordering::Relaxed,
        );
    }

    pub(crate) fn datagrams_received(&self, count: usize) {
        add(&self.datagrams_received, count);
    }

    pub(crate) fn datagrams_sent(&self, count: usize) {
        add(&self.datagrams_sent, count);
    }

    pub(crate) fn datagrams_dropped(&self, count: usize) {
        add(&self.datagrams_dropped, count);
    }

    /// Add this core's counters to `total`.
    pub fn add_to(&self, total: &mut Stats) {
        total.connections_open += self.connections_open.load(Ordering::Relaxed);
        total.connections_accepted += self.connections_accepted.load(Ordering::Relaxed);
        total.slow_consumer_closes += self.slow_consumer_closes.load(Ordering::Relaxed);
        total.protocol_error_closes += self.protocol_error_closes.load(Ordering::Relaxed);
        total.http_timeouts += self.http_timeouts.load(Ordering::Relaxed);
        total.connections_refused += self.connections_refused.load(Ordering::Relaxed);
        total.outbox_bytes_peak = total
            .outbox_bytes_peak
            .max(self.outbox_bytes_peak.load(Ordering::Relaxed));
        total.mesh_overflow_peak = total
            .mesh_overflow_peak
            .max(self.mesh_overflow_peak.load(Ordering::Relaxed));
        total.write_batches += self.write_batches.load(Ordering::Relaxed);
        total.frames_queued += self.frames_queued.load(Ordering::Relaxed);
        total.datagrams_received += self.datagrams_received.load(Ordering::Relaxed);
        total.datagrams_sent += self.datagrams_sent.load(Ordering::Relaxed);
        total.datagrams_dropped += self.datagrams_dropped.load(Ordering::Relaxed);
    }
}

/// Adds one to a counter only its own core writes: a plain load and store, without the
/// locked read-modify-write `fetch_add` would cost on every frame.
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Adds `count` to a counter only its own core writes (see `bump`).
fn add(counter: &AtomicU64, count: usize) {
    counter.store(
        counter.load(Ordering::Relaxed) + count as u64,
        Ordering::Relaxed,
    );
}

/// Raises a peak only its own core writes to `value` if that is higher (see `bump`).
fn raise(peak: &AtomicUsize, value: usize) {
    if value > peak.load(Ordering::Relaxed) {
        peak.store(value, Ordering::Relaxed);
    }
}
