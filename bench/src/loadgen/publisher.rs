//! One publisher: a keep-alive HTTP/1.1 connection that posts on an open-loop schedule,
//! pipelining requests up to a bound, and times each answer from the post's due time.
//!
//! Open loop: post `seq` leaves at its due time (`schedule.rs`) whether or not earlier
//! posts were answered, up to `in_flight_max` outstanding requests. At the bound the post
//! waits and leaves late; its POST→200 latency still counts from the due time, so the
//! numbers include the waiting a real client would have seen (no coordinated omission).
//! Late sends are counted: many of them mean the server, not the schedule, set the pace.
//!
//! Answers arrive in request order (HTTP/1.1 pipelining), so the oldest in-flight request
//! owns the next answer. A 200 must echo the post's marker in its body, which also proves
//! the answers are not shifted by one. Anything else is a refusal, counted and reported.
//!
//! The publisher does no I/O: the worker writes `outbox` and feeds answers to
//! [`Publisher::handle_input`].

use std::collections::VecDeque;
use std::sync::Arc;

use hdrhistogram::Histogram;

use super::http_response::ResponseReader;
use super::ledger::AckBook;
use super::marker::{encode_marker, Marker};
use super::schedule::Schedule;

/// A post that leaves more than this after its due time is counted late.
pub const LATE_NS: u64 = 1_000_000;

/// Where a publisher's connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublisherState {
    /// Not connected yet.
    Idle,
    /// TCP connect in progress.
    Connecting,
    /// Ready to post.
    Open,
    /// Lost; the reason is in `failure`.
    Closed,
}

/// One measurement window as a publisher sees it.
#[derive(Debug)]
pub struct PublisherWindow {
    /// The window's number (in every marker).
    pub id: u32,
    /// When each post is due.
    pub schedule: Schedule,
    /// Shared record of what was sent and answered.
    pub book: Arc<AckBook>,
}

/// What a publisher counted in one window.
#[derive(Debug)]
pub struct PublisherStats {
    /// Posts written.
    pub sent: u64,
    /// Posts answered 200 (before answers were final).
    pub acked: u64,
    /// Posts answered with anything else.
    pub refused: u64,
    /// The first refusal: status and the start of the body.
    pub first_refusal: Option<String>,
    /// Posts that left more than `LATE_NS` after their due time.
    pub late_sends: u64,
    /// Posts held back because `in_flight_max` requests were outstanding.
    pub window_full_sends: u64,
    /// Answers that arrived after answers were declared final (not counted as acked).
    pub late_answers: u64,
    /// POST→200 latencies from the due time, nanoseconds.
    pub post_ns: Histogram<u64>,
}

impl PublisherStats {
    fn new() -> PublisherStats {
        PublisherStats {
            sent: 0,
            acked: 0,
            refused: 0,
            first_refusal: None,
            late_sends: 0,
            window_full_sends: 0,
            late_answers: 0,
            post_ns: super::new_histogram(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Request {
    Post {
        window: u32,
        seq: u64,
        scheduled_ns: u64,
    },
    Warm,
}

/// One publisher connection.
#[derive(Debug)]
pub struct Publisher {
    /// The publisher's number (in every marker it sends).
    pub index: u32,
    /// Where the connection is.
    pub state: PublisherState,
    /// Bytes the worker must write, in order.
    pub outbox: Vec<u8>,
    /// Why the connection was lost.
    pub failure: Option<String>,
    /// The open window, if any.
    pub window: Option<PublisherWindow>,
    /// This window's counts.
    pub stats: PublisherStats,
    /// Warm-up rounds answered 200.
    pub warm_acked: u64,
    /// Answers that arrived after their window had closed.
    pub answers_after_window: u64,
    request_head: String,
    in_flight_max: usize,
    in_flight: VecDeque<Request>,
    responses: ResponseReader,
    next_seq: u64,
    held_seq: Option<u64>,
    answers_final: bool,
    body: Vec<u8>,
}

impl Publisher {
    /// A publisher that posts to `channel_id` on `host` as `token`.
    pub fn new(
        index: u32,
        host: &str,
        channel_id: &str,
        token: &str,
        in_flight_max: usize,
    ) -> Publisher {
        assert!(in_flight_max > 0, "a publisher needs room for one request");
        Publisher {
            index,
            state: PublisherState::Idle,
            outbox: Vec::new(),
            failure: None,
            window: None,
            stats: PublisherStats::new(),
            warm_acked: 0,
            answers_after_window: 0,
            request_head: format!(
                "POST /api/v10/channels/{channel_id}/messages HTTP/1.1\r\nHost: {host}\r\n\
                 Authorization: Bot {token}\r\nContent-Type: application/json\r\nContent-Length: "
            ),
            in_flight_max,
            in_flight: VecDeque::new(),
            responses: ResponseReader::new(),
            next_seq: 0,
            held_seq: None,
            answers_final: false,
            body: Vec::with_capacity(96),
        }
    }

    /// Requests written and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether `in_flight_max` requests are outstanding (the next post must wait).
    pub fn is_window_full(&self) -> bool {
        self.in_flight.len() >= self.in_flight_max
    }

    /// Posts of the open window not written yet.
    pub fn posts_left(&self) -> u64 {
        self.window.as_ref().map_or(0, |w| {
            w.schedule
                .posts_for(self.index)
                .saturating_sub(self.next_seq)
        })
    }

    /// Starts a window: posts from seq 0 on its schedule, fresh counts.
    pub fn open_window(&mut self, window: PublisherWindow) {
        self.window = Some(window);
        self.stats = PublisherStats::new();
        self.next_seq = 0;
        self.held_seq = None;
        self.answers_final = false;
    }

    /// From now on answers no longer count as acknowledgements: the window's answers are
    /// final, and the ledgers are being checked against them.
    pub fn finalize_answers(&mut self) {
        self.answers_final = true;
    }

    /// Ends the window and returns its counts.
    pub fn close_window(&mut self) -> PublisherStats {
        self.window = None;
        std::mem::replace(&mut self.stats, PublisherStats::new())
    }

    /// When the next post is due, if one is left.
    pub fn next_due_ns(&self) -> Option<u64> {
        let window = self.window.as_ref()?;
        (self.next_seq < window.schedule.posts_for(self.index))
            .then(|| window.schedule.due_ns(self.index, self.next_seq))
    }

    /// Writes every post due by `now_ns`, up to the in-flight bound.
    pub fn poll_send(&mut self, now_ns: u64) {
        if self.state != PublisherState::Open {
            return;
        }
        while let Some(due_ns) = self.next_due_ns() {
            if due_ns > now_ns {
                return;
            }
            if self.in_flight.len() >= self.in_flight_max {
                if self.held_seq != Some(self.next_seq) {
                    self.held_seq = Some(self.next_seq);
                    self.stats.window_full_sends += 1;
                }
                return;
            }
            let Some(window) = &self.window else { return };
            let (id, seq) = (window.id, self.next_seq);
            window.book.mark_sent(self.index, seq);
            let marker = Marker::Post {
                window: id,
                publisher: self.index,
                seq,
                scheduled_ns: due_ns,
            };
            self.queue_request(marker);
            self.in_flight.push_back(Request::Post {
                window: id,
                seq,
                scheduled_ns: due_ns,
            });
            self.stats.sent += 1;
            if now_ns.saturating_sub(due_ns) > LATE_NS {
                self.stats.late_sends += 1;
            }
            self.next_seq += 1;
        }
    }

    /// Posts one warm-up message now (outside any schedule).
    pub fn post_warm(&mut self, round: u64) {
        self.queue_request(Marker::Warm { round });
        self.in_flight.push_back(Request::Warm);
    }

    /// Bytes from the socket. Returns an error when an answer breaks HTTP, answers no
    /// request, or refuses a warm-up post.
    pub fn handle_input(&mut self, bytes: &[u8], now_ns: u64) -> Result<(), String> {
        self.responses.push(bytes);
        while let Some(response) = self.responses.next()? {
            let Some(request) = self.in_flight.pop_front() else {
                return Err(format!(
                    "publisher {}: an answer ({}) to no request",
                    self.index, response.status
                ));
            };
            let close = response.close;
            match request {
                Request::Warm => {
                    if response.status != 200 {
                        return Err(format!(
                            "publisher {}: warm-up post answered {}: {}",
                            self.index,
                            response.status,
                            String::from_utf8_lossy(&response.body[..response.body.len().min(200)])
                        ));
                    }
                    self.warm_acked += 1;
                }
                Request::Post {
                    window: request_window,
                    seq,
                    scheduled_ns,
                } => {
                    let window = match &self.window {
                        Some(window) if window.id == request_window => window,
                        // The answer to a post of a window that already closed (it was
                        // counted unanswered there): it belongs to no open book.
                        _ => {
                            self.answers_after_window += 1;
                            if close {
                                return Err(self.closed_by_server());
                            }
                            continue;
                        }
                    };
                    if self.answers_final {
                        self.stats.late_answers += 1;
                    } else if response.status == 200
                        && echoes_marker(response.body, window.id, self.index, seq)
                    {
                        window.book.mark_acked(self.index, seq);
                        self.stats.acked += 1;
                        self.stats
                            .post_ns
                            .saturating_record(now_ns.saturating_sub(scheduled_ns).max(1));
                    } else {
                        window.book.mark_refused(self.index, seq);
                        self.stats.refused += 1;
                        if self.stats.first_refusal.is_none() {
                            // Which post the answer is about tells a refusal from an
                            // answer out of order; the body's start says why.
                            let echoed = super::gateway::find_marker(response.body, &mut 0)
                                .map_or("no marker".into(), |marker| {
                                    format!("marker {}", String::from_utf8_lossy(marker))
                                });
                            let body = String::from_utf8_lossy(
                                &response.body[..response.body.len().min(200)],
                            );
                            self.stats.first_refusal = Some(format!(
                                "publisher {} seq {seq}: {} with {echoed} (expected \
                                 fx:{}:{}:{seq}:…): {body}",
                                self.index, response.status, window.id, self.index
                            ));
                        }
                    }
                }
            }
            if close {
                return Err(self.closed_by_server());
            }
        }
        Ok(())
    }

    fn closed_by_server(&self) -> String {
        format!(
            "publisher {}: the server closed the connection (Connection: close)",
            self.index
        )
    }

    /// Forgets the old connection (its unanswered requests too) before a reconnect.
    pub fn reset_connection(&mut self) {
        self.state = PublisherState::Idle;
        self.outbox.clear();
        self.failure = None;
        self.in_flight.clear();
        self.responses = ResponseReader::new();
    }

    /// The connection was lost.
    pub fn close(&mut self, why: String) {
        self.state = PublisherState::Closed;
        self.failure.get_or_insert(format!(
            "publisher {}: {why} ({} request(s) unanswered)",
            self.index,
            self.in_flight.len()
        ));
    }

    fn queue_request(&mut self, marker: Marker) {
        self.body.clear();
        self.body.extend_from_slice(b"{\"content\":\"");
        encode_marker(&mut self.body, marker);
        self.body.extend_from_slice(b"\"}");
        self.outbox.extend_from_slice(self.request_head.as_bytes());
        self.outbox
            .extend_from_slice(self.body.len().to_string().as_bytes());
        self.outbox.extend_from_slice(b"\r\n\r\n");
        self.outbox.extend_from_slice(&self.body);
    }
}

/// Whether a 200's body carries the marker of post `seq` (the answer is for this post).
fn echoes_marker(body: &[u8], window: u32, publisher: u32, seq: u64) -> bool {
    let prefix = format!("fx:{window}:{publisher}:{seq}:");
    super::gateway::find(body, prefix.as_bytes()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn publisher(in_flight_max: usize) -> (Publisher, Arc<AckBook>) {
        // Publisher 1 of 2 at 1000 posts/s for 10 ms: its posts are due at 1, 3, 5, 7, 9 ms.
        let schedule = Schedule::new(2, 1000.0, 0, Duration::from_millis(10));
        let book = Arc::new(AckBook::new(4, &schedule));
        let mut publisher = Publisher::new(1, "h:1", "99", "tok", in_flight_max);
        publisher.state = PublisherState::Open;
        publisher.open_window(PublisherWindow {
            id: 4,
            schedule,
            book: Arc::clone(&book),
        });
        (publisher, book)
    }

    fn answer(status: u16, seq: u64) -> Vec<u8> {
        let body = format!("{{\"id\":\"1\",\"content\":\"fx:4:1:{seq}:123\"}}");
        format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn posts_leave_on_schedule_and_are_timed_from_it() {
        let (mut publisher, book) = publisher(64);
        assert_eq!(publisher.next_due_ns(), Some(1_000_000));
        publisher.poll_send(999_999);
        assert!(publisher.outbox.is_empty());
        publisher.poll_send(3_000_000);
        assert_eq!(publisher.in_flight(), 2);
        let requests = String::from_utf8(std::mem::take(&mut publisher.outbox)).unwrap();
        assert!(requests.starts_with("POST /api/v10/channels/99/messages HTTP/1.1\r\n"));
        assert!(requests.contains("Authorization: Bot tok\r\n"));
        assert!(requests.contains("{\"content\":\"fx:4:1:0:1000000\"}"));
        assert!(requests.contains("{\"content\":\"fx:4:1:1:3000000\"}"));
        assert_eq!(publisher.stats.late_sends, 1, "seq 0 left 2 ms late");

        // Both answers in one read, split anywhere.
        let mut wire = answer(200, 0);
        wire.extend(answer(500, 1));
        let (first, second) = wire.split_at(7);
        publisher.handle_input(first, 4_000_000).unwrap();
        publisher.handle_input(second, 4_000_000).unwrap();
        assert_eq!(publisher.in_flight(), 0);
        assert!(book.is_acked(1, 0));
        assert!(!book.is_acked(1, 1));
        let stats = publisher.close_window();
        assert_eq!((stats.sent, stats.acked, stats.refused), (2, 1, 1));
        assert!(stats.post_ns.equivalent(stats.post_ns.max(), 3_000_000));
        let refusal = stats.first_refusal.unwrap();
        assert!(refusal.starts_with("publisher 1 seq 1: 500 "), "{refusal}");
        assert!(refusal.contains("marker fx:4:1:1:123"), "{refusal}");
    }

    #[test]
    fn the_in_flight_bound_holds_posts_back_and_they_leave_late() {
        let (mut publisher, _book) = publisher(2);
        publisher.poll_send(9_000_000);
        assert_eq!(publisher.in_flight(), 2);
        publisher.poll_send(9_500_000);
        assert_eq!(
            publisher.stats.window_full_sends, 1,
            "counted once per held post"
        );
        publisher.handle_input(&answer(200, 0), 9_600_000).unwrap();
        publisher.poll_send(9_600_000);
        assert_eq!(publisher.in_flight(), 2);
        assert_eq!(publisher.stats.late_sends, 3, "seq 0, 1 and 2 left late");
        assert_eq!(publisher.posts_left(), 2);
    }

    #[test]
    fn answers_that_do_not_match_are_refusals_or_errors() {
        let (mut publisher, book) = publisher(8);
        publisher.poll_send(1_000_000);
        // A 200 for another post: the answers are shifted, not an acknowledgement.
        publisher.handle_input(&answer(200, 7), 2_000_000).unwrap();
        assert!(!book.is_acked(1, 0));
        assert_eq!(publisher.stats.refused, 1);
        assert!(publisher
            .handle_input(&answer(200, 1), 2_000_000)
            .unwrap_err()
            .contains("to no request"));

        let (mut publisher, _) = publisher_with_warm();
        let refused = b"HTTP/1.1 429 X\r\nContent-Length: 2\r\n\r\n{}";
        assert!(publisher
            .handle_input(refused, 0)
            .unwrap_err()
            .contains("warm-up post answered 429"));
    }

    fn publisher_with_warm() -> (Publisher, ()) {
        let mut publisher = Publisher::new(0, "h", "1", "t", 4);
        publisher.state = PublisherState::Open;
        publisher.post_warm(3);
        assert!(String::from_utf8_lossy(&publisher.outbox).contains("fx:warm:3"));
        (publisher, ())
    }

    #[test]
    fn answers_to_a_closed_window_count_in_no_book() {
        let (mut publisher, old_book) = publisher(8);
        publisher.poll_send(1_000_000);
        publisher.finalize_answers();
        publisher.close_window();
        // The next window opens while seq 0 of window 4 is still on the wire.
        let schedule = Schedule::new(2, 1000.0, 0, Duration::from_millis(10));
        let book = Arc::new(AckBook::new(5, &schedule));
        publisher.open_window(PublisherWindow {
            id: 5,
            schedule,
            book: Arc::clone(&book),
        });
        publisher.poll_send(1_000_000);
        publisher.handle_input(&answer(200, 0), 2_000_000).unwrap();
        assert_eq!(publisher.answers_after_window, 1);
        assert_eq!(old_book.acked_count() + book.acked_count(), 0);
        assert_eq!(publisher.stats.refused, 0, "not taken for window 5's seq 0");
        assert_eq!(
            publisher.in_flight(),
            1,
            "window 5's seq 0 still waits for its answer"
        );
    }

    #[test]
    fn answers_after_the_final_count_are_not_acknowledgements() {
        let (mut publisher, book) = publisher(8);
        publisher.poll_send(1_000_000);
        publisher.finalize_answers();
        publisher.handle_input(&answer(200, 0), 2_000_000).unwrap();
        assert!(!book.is_acked(1, 0));
        assert_eq!(book.unanswered_count(), 1);
        assert_eq!(publisher.close_window().late_answers, 1);
    }
}
