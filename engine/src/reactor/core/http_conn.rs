//! One HTTP/1.1 connection as the reactor runs it: parse its requests, hand each to the
//! application, write the answers in request order, keep the client's deadlines, and
//! upgrade it to a WebSocket.
//!
//! Why here and not in `crate::http`: that module parses and encodes bytes. What this file
//! decides needs the connection's slot, the core's pause (`http_pause.rs`) and the
//! application: pipelining up to `HTTP_PIPELINE_MAX`, a fresh `ConnId` per request, the
//! head check before a body is read (`App::check_head`), the 408 for a late client.
//!
//! Invariants:
//! - Answers leave in request order, whatever order the application finishes them in.
//! - An upgrade is parsed only once every earlier request is answered, and keeps the
//!   connection's own id.
//! - A client that leaves its answers unread past `answers_unread`'s bound is neither read
//!   from nor parsed until it takes some.

use std::time::Duration;

use crate::http::{self, upgrade, Request, Response};
use crate::reactor::app::{App, CloseCause, ConnId, HttpAnswer};
use crate::reactor::conn::{
    HttpAwaited, HttpWait, InApp, PendingAnswer, Phase, State, HTTP_PIPELINE_MAX,
};
use crate::reactor::outq::{Lane, OutFrame, OutQueue};

use super::Reactor;

/// Whether an HTTP client has left so many answers unread that no further request of it is
/// read or parsed until it takes some: past `HTTP_UNREAD_BYTES_MAX` bytes held in memory
/// (or `outbox_bytes_max`, if smaller), or
/// past twice `HTTP_PIPELINE_MAX` queued entries (a file body is one entry and an open
/// file, so a client pipelining downloads cannot make the core hold thousands of them).
pub(super) fn answers_unread(outq: &OutQueue, outbox_bytes_max: usize) -> bool {
    let bound = outbox_bytes_max.min(HTTP_UNREAD_BYTES_MAX);
    outq.bytes_in_memory() > bound || outq.entries() > 2 * HTTP_PIPELINE_MAX
}

/// The most unread HTTP answers (in memory) past which a connection's further requests
/// wait: one large answer is still sent whole, but a client that pipelines and never reads
/// holds this much, not `outbox_bytes_max` (a soak with 850 such clients held 850 MiB).
const HTTP_UNREAD_BYTES_MAX: usize = 64 * 1024;

impl<A: App> Reactor<A> {
    /// Parse requests from the connection's buffer and hand each to the application, up
    /// to `HTTP_PIPELINE_MAX` unanswered at once; answers leave in request order
    /// (`flush_answers`). Each request gets its own `ConnId` (a fresh generation on the
    /// connection's slot), so answers the application finishes out of order still find
    /// their place. An upgrade waits until every earlier request is answered, and keeps
    /// the connection's own id, which the WebSocket then goes by.
    ///
    /// Never nested: an answer the application gives while a request is being handled
    /// (its commands answer another request, whose connection may then parse its next one)
    /// defers that connection to the outermost call, which parses it once the request in
    /// hand is done. Nested, the calls went one level deeper per request in flight on the
    /// core (64 deep with 8 pipelining publishers, over 1,000 with 250): a stack that grew
    /// with the number of clients.
    pub(super) fn process_http(&mut self, key: usize) {
        let Some(generation) = self.conns.get(key).map(|conn| conn.generation) else {
            return;
        };
        self.http_deferred.push_back((key, generation));
        if self.http_parsing {
            return;
        }
        self.http_parsing = true;
        while let Some((key, generation)) = self.http_deferred.pop_front() {
            if self.holds(key, generation) {
                self.process_http_requests(key);
                self.refresh_http_wait(key);
            }
        }
        self.http_parsing = false;
    }

    /// What the client of an open HTTP connection owes now, and until when (`Limits`):
    /// the rest of a request head, counted from its first byte; the rest of a body, counted from when its head was complete and
    /// lengthened by the body's size; or, with nothing in flight (or its answers left
    /// unread past the bound), its next request. While a request is with the application
    /// the client owes nothing: the server's own pace governs.
    pub(super) fn refresh_http_wait(&mut self, key: usize) {
        // While the core pauses HTTP (`http_paused`), unparsed bytes wait for the server,
        // not for the client: no head or body deadline runs.
        let paused = self.http_paused();
        let limits = &self.config.limits;
        let now = self.out.now;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let wait = match &conn.phase {
            Phase::Http {
                inbuf,
                answers,
                close_after,
            } if conn.state == State::Open && answers.is_empty() && !*close_after => {
                let unread = answers_unread(&conn.outq, limits.outbox_bytes_max);
                if unread || (inbuf.is_empty() && conn.request_started.is_none()) {
                    // Nothing in flight, or a client that stopped reading its answers
                    // (nothing more is parsed until it does): the idle deadline, renewed
                    // whenever the client takes some of them.
                    Some(HttpWait {
                        until: now + Duration::from_millis(limits.http_idle_timeout_ms),
                        what: HttpAwaited::NextRequest,
                    })
                } else if paused {
                    None
                } else {
                    let started = *conn.request_started.get_or_insert(now);
                    match http::awaited_body(inbuf, &limits.http) {
                        None => Some(HttpWait {
                            until: started + Duration::from_millis(limits.http_head_timeout_ms),
                            what: HttpAwaited::Head,
                        }),
                        // Counted once, from when the head was first seen complete.
                        Some(_) if conn.http_wait.is_some_and(|w| w.what == HttpAwaited::Body) => {
                            conn.http_wait
                        }
                        Some(body) => {
                            let rate = limits.http_body_min_bytes_per_s.max(1);
                            let ms = limits.http_body_timeout_ms
                                + (body as u64).saturating_mul(1000) / rate;
                            Some(HttpWait {
                                until: now + Duration::from_millis(ms),
                                what: HttpAwaited::Body,
                            })
                        }
                    }
                }
            }
            _ => None,
        };
        conn.http_wait = wait;
        if wait.is_some() {
            self.watch(key);
        }
    }

    /// The client missed its HTTP deadline: 408 for a request it left half sent, a plain
    /// close for an idle kept-alive connection.
    pub(super) fn http_timed_out(&mut self, key: usize, what: HttpAwaited) {
        self.stats.http_timeout();
        self.conns[key].http_wait = None;
        if what != HttpAwaited::NextRequest {
            self.write_response(key, &http::HttpError::RequestTimeout.to_response(), false);
        }
        self.close_http(key);
    }

    fn process_http_requests(&mut self, key: usize) {
        loop {
            let outbox_bytes_max = self.config.limits.outbox_bytes_max;
            let paused = self.http_paused();
            let Self {
                conns, config, app, ..
            } = self;
            let conn = &mut conns[key];
            let Phase::Http {
                inbuf,
                answers,
                close_after,
            } = &mut conn.phase
            else {
                return;
            };
            if *close_after
                || conn.state != State::Open
                || answers.len() >= HTTP_PIPELINE_MAX
                || answers_unread(&conn.outq, outbox_bytes_max)
            {
                return;
            }
            if paused {
                let entry = (key, conn.generation);
                if !self.paused_http.contains(&entry) {
                    self.paused_http.push(entry);
                }
                return;
            }
            let (mut request, used) = match http::parse_request(inbuf, &config.limits.http) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => {
                    if conn.peer_eof {
                        *close_after = true;
                        self.flush_answers(key);
                        return;
                    }
                    if conn.head_checked {
                        return;
                    }
                    // The head is in and a body is announced: the application may refuse
                    // it before a byte of the body is read (`App::check_head`).
                    let Ok(Some((mut head, _, body_len))) =
                        http::parse_head(inbuf, &config.limits.http)
                    else {
                        return;
                    };
                    head.listener = conn.listener;
                    if body_len == 0 {
                        return;
                    }
                    conn.head_checked = true;
                    head.peer_ip = conn.peer_ip;
                    if let Err(response) = app.check_head(&head, body_len) {
                        answers.push_back(PendingAnswer {
                            request: conn.generation,
                            response: Some(response),
                            keep_alive: false,
                            in_app: None,
                        });
                        *close_after = true;
                        self.flush_answers(key);
                    }
                    return;
                }
                Err(error) => {
                    answers.push_back(PendingAnswer {
                        request: conn.generation,
                        response: Some(error.to_response()),
                        keep_alive: false,
                        in_app: None,
                    });
                    *close_after = true;
                    self.flush_answers(key);
                    return;
                }
            };
            request.listener = conn.listener;
            request.peer_ip = conn.peer_ip;
            let upgrade = upgrade::is_upgrade_request(&request);
            if upgrade && !answers.is_empty() {
                return; // Parsed again once the answers before it are out.
            }
            inbuf.drain(..used);
            // The next request's head check and deadlines start afresh.
            conn.head_checked = false;
            conn.http_wait = None;
            // What is left is the next request's start, which arrived by now.
            conn.request_started = (!inbuf.is_empty()).then_some(self.out.now);
            conn.app_knows = true;
            let keep_alive = request.keep_alive() && self.shutdown_deadline.is_none();
            // The request's place in the answer order is taken before the application sees
            // it: answering an earlier request from inside `handle_http` parses the next one
            // (`respond_later`), which must queue behind this one. An upgrade (only ever
            // parsed with no answer pending) keeps the connection's own id, which the
            // WebSocket then goes by.
            let generation = if upgrade {
                conn.generation
            } else {
                let generation = self.generation_next;
                self.generation_next = self.generation_next.wrapping_add(1);
                generation
            };
            answers.push_back(PendingAnswer {
                request: generation,
                response: None,
                keep_alive,
                in_app: Some(InApp::new(&self.http_in_app)),
            });
            *close_after |= !keep_alive;
            let id = ConnId {
                index: key as u32,
                generation,
            };
            let answer = self.app.handle_http(&mut self.out, id, &request);
            self.apply_commands();
            if !self.is_open(key) {
                return;
            }
            match answer {
                // The loop goes on to the next request: no `process_http` from inside.
                HttpAnswer::Respond(response) => self.fill_answer(id, response),
                HttpAnswer::Later => {}
                HttpAnswer::Upgrade if upgrade => {
                    if let Phase::Http { answers, .. } = &mut self.conns[key].phase {
                        debug_assert_eq!(answers.len(), 1, "an upgrade waits for earlier answers");
                        answers.clear();
                    }
                    self.upgrade(key, id, &request);
                    return;
                }
                HttpAnswer::Upgrade => {
                    let refusal = Response::error(400, "400: Bad Request (not an upgrade)", 0);
                    self.fill_answer(id, refusal);
                }
            }
            if self.conns[key].state != State::Open {
                return;
            }
        }
    }

    /// Write the answers at the front of the order that are ready; close the connection
    /// once the last one that will be answered is out.
    pub(super) fn flush_answers(&mut self, key: usize) {
        loop {
            let Phase::Http {
                answers,
                close_after,
                ..
            } = &mut self.conns[key].phase
            else {
                return;
            };
            if answers
                .front()
                .is_some_and(|answer| answer.response.is_some())
            {
                let answer = answers.pop_front().expect("checked: not empty");
                let response = answer.response.expect("checked: ready");
                let keep_alive = answer.keep_alive && self.shutdown_deadline.is_none();
                self.write_response(key, &response, keep_alive);
                if !keep_alive {
                    self.close_http(key);
                    return;
                }
            } else {
                if answers.is_empty() && *close_after {
                    self.close_http(key);
                }
                return;
            }
        }
    }

    fn upgrade(&mut self, key: usize, id: ConnId, request: &Request) {
        let accept = match upgrade::check_upgrade(request) {
            Ok(accept) => accept,
            Err(error) => {
                self.write_response(key, &error.to_response(), false);
                self.close_http(key);
                return;
            }
        };
        let mut bytes = Vec::with_capacity(160);
        upgrade::encode_switching_protocols(&accept, &mut bytes);
        let conn = &mut self.conns[key];
        conn.outq.push(OutFrame::raw(bytes, Lane::Bulk));
        conn.outq.set_in_backlog(true);
        let old = std::mem::replace(&mut conn.phase, Phase::WebSocket { decoder: None });
        self.websockets += 1;
        let Phase::Http {
            inbuf: leftover, ..
        } = old
        else {
            unreachable!("upgraded twice")
        };
        self.app.handle_ws_open(&mut self.out, id, request);
        self.apply_commands();
        // A client may send frames right behind the handshake, in the same segment.
        if !leftover.is_empty() && self.is_open(key) {
            self.handle_ws_bytes(key, &leftover);
        }
    }

    fn write_response(&mut self, key: usize, response: &Response, keep_alive: bool) {
        let mut bytes = Vec::with_capacity(response.body.len() + 128);
        response.encode_into(&mut bytes, keep_alive);
        let outq = &mut self.conns[key].outq;
        outq.push(OutFrame::raw(bytes, Lane::Bulk));
        if let Some(file) = &response.file {
            outq.push_file(file.clone());
        }
        self.stats.outbox_bytes(outq.bytes());
        self.touch_urgent(key);
    }

    /// An HTTP connection is done: write what is queued, then close.
    fn close_http(&mut self, key: usize) {
        self.start_close(key, None, CloseCause::HttpDone);
    }

    /// The application's answer to the request `request` (a `ConnId` handed out by
    /// `process_http`); ignored when the connection is gone.
    pub(super) fn respond_later(&mut self, request: ConnId, response: Response) {
        let key = request.index as usize;
        self.fill_answer(request, response);
        if self.is_open(key) {
            self.process_http(key);
        }
    }

    /// Put `response` in `request`'s place in the answer order and write what is ready.
    fn fill_answer(&mut self, request: ConnId, response: Response) {
        let key = request.index as usize;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.state != State::Open {
            return;
        }
        let Phase::Http { answers, .. } = &mut conn.phase else {
            return; // The slot now holds another connection, which has upgraded.
        };
        let Some(answer) = answers
            .iter_mut()
            .find(|answer| answer.request == request.generation)
        else {
            return; // The slot now holds another connection.
        };
        assert!(answer.response.is_none(), "a request answered twice");
        answer.response = Some(response);
        answer.in_app = None;
        self.flush_answers(key);
    }
}
