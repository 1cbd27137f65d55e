//! The peer's HTTP/1.1: keep-alive with pipelining, answers in order, one write per batch.
//!
//! Every complete request already read is answered into one buffer, which is written in
//! one `write_all` before the next read: a publisher that pipelines k requests gets k
//! answers from one syscall, as a tuned server would do it.
//!
//! Routes: `POST /api/v10/channels/{id}/messages` (any channel id, any or no
//! `Authorization`), `GET /api/v10/gateway` and `/gateway/bot`, and `GET /peer/stats`
//! (counters a harness may read). Nothing else exists (404).
//!
//! Not implemented, since no client of the suite sends them: chunked request bodies
//! (411), `Expect: 100-continue`, HTTP/1.0 keep-alive rules.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::message::CreateMessage;
use super::State;

/// The most one request (head and body) may take; a longer one gets 413 and a close.
const REQUEST_BYTES_MAX: usize = 1024 * 1024;
/// How much more is read at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// One request, parsed from the buffer it borrows.
struct Request<'a> {
    method: &'a str,
    path: &'a str,
    body: &'a [u8],
    close: bool,
}

/// What parsing the front of the buffer gave.
enum Parsed<'a> {
    /// A whole request of this many bytes.
    Complete(Request<'a>, usize),
    /// More bytes are needed.
    Partial,
    /// A request the peer will not serve; answer this status and close.
    Refused(u16),
}

/// Serves requests on `stream` until it closes; `buffer` holds what was already read.
pub(super) async fn serve_http(mut stream: TcpStream, mut buffer: Vec<u8>, state: Arc<State>) {
    let mut out = Vec::with_capacity(READ_CHUNK_BYTES);
    loop {
        let mut start = 0;
        let mut close = false;
        while !close {
            match parse_request(&buffer[start..]) {
                Parsed::Complete(request, len) => {
                    close = request.close;
                    answer(&request, &state, &mut out);
                    start += len;
                }
                Parsed::Partial if buffer.len() - start > REQUEST_BYTES_MAX => {
                    encode_response(&mut out, 413, "{\"message\":\"Request too large\"}");
                    close = true;
                }
                Parsed::Partial => break,
                Parsed::Refused(status) => {
                    encode_response(&mut out, status, "{\"message\":\"Bad request\"}");
                    close = true;
                }
            }
        }
        // One write for every answer of this batch.
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if close {
            return;
        }
        buffer.drain(..start);
        buffer.reserve(READ_CHUNK_BYTES);
        match stream.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn parse_request(buffer: &[u8]) -> Parsed<'_> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buffer) {
        Ok(httparse::Status::Complete(head_len)) => head_len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Refused(400),
    };
    let mut body_len = 0;
    let mut close = false;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                Some(len) => body_len = len,
                None => return Parsed::Refused(400),
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Refused(411);
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = header.value.eq_ignore_ascii_case(b"close");
        }
    }
    if body_len > REQUEST_BYTES_MAX {
        return Parsed::Refused(413);
    }
    let Some(body) = buffer.get(head_len..head_len + body_len) else {
        return Parsed::Partial;
    };
    Parsed::Complete(
        Request {
            method: request.method.unwrap_or(""),
            path: request.path.unwrap_or("/"),
            body,
            close,
        },
        head_len + body_len,
    )
}

/// Appends the answer to `request` to `out`.
fn answer(request: &Request<'_>, state: &State, out: &mut Vec<u8>) {
    let path = request.path.split('?').next().unwrap_or("");
    let route = strip_api_prefix(path);
    match (request.method, route) {
        ("POST", Some(route)) if channel_of_messages_route(route).is_some() => {
            let channel_id = channel_of_messages_route(route).unwrap_or_default();
            create_message(state, channel_id, request.body, out);
        }
        ("GET", Some("/gateway")) | ("GET", Some("/gateway/bot")) => {
            let body = format!(
                "{{\"url\":\"ws://{}\",\"shards\":1,\"session_start_limit\":{{\"total\":1000000,\
                 \"remaining\":1000000,\"reset_after\":0,\"max_concurrency\":16}}}}",
                state.addr
            );
            encode_response(out, 200, &body);
        }
        ("GET", None) if path == "/peer/stats" => {
            let body = format!(
                "{{\"events\":{},\"sessions\":{},\"sessions_lagged\":{}}}",
                state.events_published.load(Ordering::Relaxed),
                state.sessions_identified.load(Ordering::Relaxed),
                state.sessions_lagged.load(Ordering::Relaxed),
            );
            encode_response(out, 200, &body);
        }
        _ => encode_response(out, 404, "{\"message\":\"404: Not Found\",\"code\":0}"),
    }
}

/// Builds the message once, broadcasts it, and answers with the same bytes.
fn create_message(state: &State, channel_id: &str, body: &[u8], out: &mut Vec<u8>) {
    let create: CreateMessage = match serde_json::from_slice(body) {
        Ok(create) => create,
        Err(_) => {
            encode_response(
                out,
                400,
                "{\"message\":\"Invalid Form Body\",\"code\":50035}",
            );
            return;
        }
    };
    let event = Arc::new(state.world.encode_message_create(channel_id, &create));
    encode_response(out, 200, &event.d);
    state.events_published.fetch_add(1, Ordering::Relaxed);
    // No session listening is not an error for a broadcast server.
    let _ = state.events.send(event);
}

/// `/api/v10/x` or `/api/x` → `/x`; `None` outside `/api`.
fn strip_api_prefix(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api")?;
    if let Some(versioned) = rest.strip_prefix("/v") {
        let digits = versioned.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            return Some(&versioned[digits..]);
        }
    }
    Some(rest)
}

/// The `{id}` of `/channels/{id}/messages`.
fn channel_of_messages_route(route: &str) -> Option<&str> {
    let id = route
        .strip_prefix("/channels/")?
        .strip_suffix("/messages")?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

fn encode_response(out: &mut Vec<u8>, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        411 => "Length Required",
        413 => "Payload Too Large",
        _ => "Error",
    };
    let mut head = String::with_capacity(96);
    // Writing to a String cannot fail.
    let _ = write!(
        head,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_recognised() {
        assert_eq!(strip_api_prefix("/api/v10/gateway"), Some("/gateway"));
        assert_eq!(strip_api_prefix("/api/gateway"), Some("/gateway"));
        assert_eq!(strip_api_prefix("/gateway"), None);
        assert_eq!(
            channel_of_messages_route("/channels/123/messages"),
            Some("123")
        );
        assert_eq!(channel_of_messages_route("/channels//messages"), None);
        assert_eq!(channel_of_messages_route("/channels/1/x/messages"), None);
    }

    #[test]
    fn pipelined_requests_parse_one_by_one() {
        let one = b"POST /api/v10/channels/1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
        let mut two = one.to_vec();
        two.extend_from_slice(one);
        let Parsed::Complete(first, len) = parse_request(&two) else {
            panic!("first request");
        };
        assert_eq!(first.body, b"{}");
        assert_eq!(len, one.len());
        assert!(matches!(parse_request(&two[len..]), Parsed::Complete(_, _)));
        assert!(matches!(parse_request(&two[..len - 1]), Parsed::Partial));
    }

    #[test]
    fn chunked_bodies_are_refused() {
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(parse_request(chunked), Parsed::Refused(411)));
    }
}
