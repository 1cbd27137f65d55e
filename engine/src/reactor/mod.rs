//! The per-core reactor: sockets, I/O backends, and the seam to the application.
//!
//! Each core runs one `Reactor` (`core.rs`) on its own pinned thread. The reactor owns
//! that core's listening socket (`SO_REUSEPORT`: the kernel spreads connections over the
//! cores' sockets), its own voice listener (TLS) and voice UDP socket, a slab of
//! connections, the core's mesh endpoint, and one [`App`]. It
//! speaks HTTP/1.1 (`crate::http`) and WebSocket (`wsframe`) itself and hands the
//! application complete requests and messages; the application answers through its
//! [`Outbox`].
//!
//! Read in this order: `app.rs` (the seam), `core.rs` (the loop), `core/` (one file per
//! job of a turn: `http_conn.rs` and `websocket.rs`, a connection's protocol; `service.rs`,
//! the write path; `accept.rs`, `completions.rs`, `commands.rs`, `close.rs`, `deadlines.rs`,
//! `http_pause.rs`), `conn.rs` (a connection's life cycle), `outq.rs` (write coalescing
//! and the priority lane), `backend/` (one `Op`, two executions: epoll and io_uring), then
//! the bounds: `timers.rs` (every connection's deadline), `admission.rs` (connection caps).
//!
//! `tls.rs` is a connection's TLS session (rustls, sans-IO), passed through on reads and
//! writes by `core/tls_io.rs`; `core/datagrams.rs` runs the core's voice UDP socket.
//!
//! `sys.rs`, `sys_udp.rs` (the UDP batch calls) and `backend/uring.rs` hold all of the
//! reactor's `unsafe` code (the engine's
//! only other block is the data dir's `flock`, `data_dir_lock.rs`).

pub(crate) mod admission;
mod app;
mod backend;
mod conn;
pub(crate) mod core;
mod heap_trim;
mod numbered;
mod outbox;
mod outq;
mod stats;
pub(crate) mod sys;
pub(crate) mod sys_udp;
pub mod testapp;
mod timers;
mod tls;
mod ws;

pub use app::{App, CloseCause, ConnId, CoreInfo, FrameKind, HttpAnswer, WsMessage};
pub(crate) use backend::fallback_message;
pub use backend::io_uring_available;
pub use core::OUTBOX_HARD_FACTOR;
pub(crate) use numbered::decimal;
pub use numbered::{deflate_stored_header, Lead, NumberedRun};
pub use outbox::Outbox;
pub use outq::{Lane, Payload, Prefix, PREFIX_BYTES_MAX};
pub use stats::{CoreStats, Stats};
