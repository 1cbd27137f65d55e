//! HTTP/1.1 for the reactor, without I/O.
//!
//! The reactor appends whatever the socket produced to a connection's input buffer and
//! calls [`parse_request`]; it gets back nothing yet, one complete [`Request`] and how many
//! bytes it used, or an [`HttpError`] that already knows its status code and JSON body.
//! Responses are plain values ([`Response`]) that [`Response::encode_into`] turns into
//! bytes. The WebSocket opening handshake (RFC 6455 §4.2) lives in [`upgrade`].
//!
//! Implements: RFC 9112 §2–§6 (message syntax, framing with `Content-Length`, persistent
//! connections), RFC 6455 §4.2.1–§4.2.2 (server side of the opening handshake).
//! Elsewhere: routing (the application), sockets and keep-alive timers (`reactor`).
//!
//! Deliberate limits:
//! - Request bodies need `Content-Length`. A `Transfer-Encoding` request body (chunked) is
//!   answered `411 Length Required` and the connection is closed: no Discord client sends
//!   chunked bodies, and supporting it would add a second body parser to fuzz.
//! - The request head (request line + headers) is bounded (`431`), so is the body (`413`),
//!   and so is the number of headers (`431`).
//!
//! Invariants:
//! - No byte sequence makes the parser panic (property tests and `engine/fuzz`).
//! - Where the head ends does not depend on how the bytes were split across reads.
//! - Every error answer has `Content-Type: application/json` exactly (CLIENTS.md §0.1).
//!
//! Fuzzing: `cd engine && cargo +nightly fuzz run http_request` (target in `engine/fuzz`).

mod error;
mod request;
mod response;
pub mod upgrade;

pub use error::HttpError;
pub use request::{
    awaited_body, parse_head, parse_request, HttpLimits, Listener, Request, Version,
};
pub use response::{json_error_body, FileBody, HeaderName, Response};
