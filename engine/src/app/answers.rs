//! How an HTTP answer is built and where it goes: the JSON and error responses every
//! route family uses, and the one way an answer reaches its connection (here, or over the
//! mesh to the core that received the request).
//!
//! Why one place: every family decides answers on some core — the receiving one, the
//! caller's home core, the owner — and each used to carry its own copy of "return it to
//! `handle_http`, or send it as a mesh message". Here there is one [`FluxApp::answer`].

use super::{FluxApp, FluxMesh};
use crate::http::HeaderName;
use crate::http::Response;
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::world::Refusal;

/// A response with the receiving core's headers. A 204 has no body and so no
/// `Content-Type` (discord.py parses any `application/json` body, even an empty one).
pub(super) fn json_response(
    headers: &[(HeaderName, String)],
    status: u16,
    body: Vec<u8>,
) -> Response {
    json_response_taking(headers.to_vec(), status, body)
}

/// [`json_response`] for a caller done with its headers: they move into the answer. A
/// message create answers with seven header pairs, and copying them (fourteen strings
/// allocated and freed per post) was a tenth of the core's time on the one-channel
/// durable path.
pub(super) fn json_response_taking(
    mut headers: Vec<(HeaderName, String)>,
    status: u16,
    body: Vec<u8>,
) -> Response {
    if status == 204 {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
    }
    Response {
        status,
        headers,
        body,
        file: None,
    }
}

/// Discord's JSON error for `error`, with the receiving core's headers. A `StoreBusy`
/// carries the 429 headers every client library reads (CLIENTS.md §1.5).
pub(super) fn error_response(headers: &[(HeaderName, String)], error: &Refusal) -> Response {
    let mut response = json_response(headers, error.status(), error.body());
    if !response
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        response
            .headers
            .push(("Content-Type".into(), "application/json".into()));
    }
    if *error == Refusal::StoreBusy {
        response.headers.retain(|(name, _)| {
            !name.eq_ignore_ascii_case("retry-after")
                && !name.eq_ignore_ascii_case("x-ratelimit-scope")
        });
        response.headers.push(("Retry-After".into(), "1".into()));
        response
            .headers
            .push(("X-RateLimit-Scope".into(), "shared".into()));
        response.headers.push(("Via".into(), "1.1 flux".into()));
    }
    response
}

/// Unix time in milliseconds: the one wall clock the application reads (timestamps in
/// answers and events, token issue times, Snowflakes). Deadlines use the reactor's
/// monotonic `Outbox::now` instead.
pub(super) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl FluxApp {
    /// An answer decided on this core: returned to `handle_http` when the request came in
    /// here (`in_http`), sent to the receiving core otherwise.
    pub(super) fn answer(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        (reply_core, conn): (usize, ConnId),
        response: Response,
        in_http: bool,
    ) -> HttpAnswer {
        if in_http {
            debug_assert_eq!(
                reply_core, self.core,
                "handle_http answers its own requests"
            );
            return HttpAnswer::Respond(response);
        }
        self.send_answer(out, reply_core, conn, response);
        HttpAnswer::Later
    }

    /// Sends `response` to `conn` on `reply_core`: the outbox here, a mesh `Answer` there.
    pub(super) fn send_answer(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) {
        if reply_core == self.core {
            out.respond(conn, response);
        } else {
            out.send_mesh(
                reply_core,
                FluxMesh::Answer {
                    conn,
                    response: Box::new(response),
                },
            );
        }
    }
}
