//! One gateway session as a client: the WebSocket handshake, Hello, IDENTIFY or RESUME,
//! heartbeats, and the check of every dispatch it receives.
//!
//! The session does no I/O. The worker (`worker.rs`) owns the socket: it reads into its
//! scratch buffer and calls [`Session::handle_input`], which consumes whole frames and says
//! how many bytes it used; whatever the session wants to send lands in `outbox`, which the
//! worker writes. Time comes in as `now_ns` (nanoseconds after the fleet's epoch).
//!
//! Life cycle:
//!
//! ```text
//! Idle ─connect─► Connecting ─writable─► Upgrading ─101─► Greeting ─Hello─► Joining
//!                                                                     (op 2 or op 6 sent)
//!   ▲                                                                        │ READY / RESUMED
//!   │ reconnect (worker)                                                     ▼
//! Detached ◄──── dropped on purpose ─────────────────────────────────────── Live
//!                                        Closed ◄── server close, EOF, error, timeout
//! ```
//!
//! Invariants:
//! - Every dispatch's `s` goes through the ledger, which checks the +1 rule.
//! - A session counts itself ready once per join (`JoinEvent::Joined`).
//! - Closed is final until the worker reconnects the session on purpose.

use super::frame::{encode_client_pong, encode_client_text, FrameReader, ServerMessage};
use super::gateway::{
    encode_heartbeat, encode_identify, encode_resume, find_marker, find_str, find_u64,
    parse_payload,
};
use super::handshake::{encode_upgrade_request, parse_upgrade_response};
use super::inflate::{Compression, Inflater};
use super::ledger::{Receipt, SessionLedger};
use super::marker::{parse_marker, Marker};
use super::rng::XorShift64;

/// Where a session is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the worker to connect it.
    Idle,
    /// TCP connect in progress.
    Connecting,
    /// Upgrade request sent, waiting for 101.
    Upgrading,
    /// WebSocket open, waiting for Hello.
    Greeting,
    /// IDENTIFY or RESUME sent, waiting for READY or RESUMED.
    Joining,
    /// Receiving dispatches.
    Live,
    /// Dropped on purpose; keeps its session id and `s` for a resume.
    Detached,
    /// Ended by the server, the network or a timeout.
    Closed,
}

/// How the next connection joins the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// op 2: a new gateway session (`s` restarts at 1).
    Identify,
    /// op 6: continue the previous session; the server replays what was missed.
    Resume,
}

/// What a session reports to its worker's tallies.
#[derive(Debug, Default)]
pub struct Tally {
    /// Sessions that got READY or RESUMED.
    pub joined: u64,
    /// Dispatches received between RESUME and RESUMED (the replay).
    pub replayed: u64,
    /// Measured posts received for the first time.
    pub delivered: u64,
    /// Latest delivery time, nanoseconds after the epoch.
    pub last_delivery_ns: u64,
    /// Messages (data frames) received.
    pub frames: u64,
    /// Size of a MESSAGE_CREATE as the session saw it (inflated), for the report.
    pub event_bytes: usize,
    /// publish→deliver latencies in nanoseconds, from each post's scheduled time.
    pub delivery_ns: Option<hdrhistogram::Histogram<u64>>,
    /// Scratch for inflated text, reused by every session of the worker.
    pub inflated: Vec<u8>,
    /// Masking keys, `Sec-WebSocket-Key`s and heartbeat jitter for the worker's sessions.
    pub rng: XorShift64,
}

/// One gateway session.
#[derive(Debug)]
pub struct Session {
    /// The session's number in the fleet.
    pub index: usize,
    token: String,
    /// Where it is in its life cycle.
    pub state: State,
    /// How the next connection joins.
    pub join: Join,
    /// Bytes the worker must write, in order.
    pub outbox: Vec<u8>,
    /// Receipts and sequence checks.
    pub ledger: SessionLedger,
    /// When the current connect must have reached Live, nanoseconds after the epoch.
    pub join_deadline_ns: u64,
    /// When the next heartbeat is due (0: none scheduled).
    pub next_heartbeat_ns: u64,
    compression: Compression,
    key: String,
    reader: FrameReader,
    inflater: Inflater,
    session_id: Option<String>,
    heartbeat_interval_ns: u64,
    replayed: u64,
    warm_round_seen: Option<u64>,
    /// Where the last MESSAGE_CREATE's marker was (`find_marker`).
    marker_hint: usize,
}

/// The largest message a session accepts (READY and GUILD_CREATE of a big guild).
const MESSAGE_LEN_MAX: usize = 64 << 20;
/// The largest upgrade answer head a session waits for.
const UPGRADE_HEAD_MAX: usize = 16 * 1024;

impl Session {
    /// A session that will identify with `token` once connected.
    pub fn new(index: usize, token: String, compression: Compression) -> Session {
        Session {
            index,
            token,
            state: State::Idle,
            join: Join::Identify,
            outbox: Vec::new(),
            ledger: SessionLedger::new(),
            join_deadline_ns: 0,
            next_heartbeat_ns: 0,
            compression,
            key: String::new(),
            reader: FrameReader::new(MESSAGE_LEN_MAX),
            inflater: Inflater::new(compression),
            session_id: None,
            heartbeat_interval_ns: 0,
            replayed: 0,
            warm_round_seen: None,
            marker_hint: 0,
        }
    }

    /// The worker started a TCP connect; it must be Live by `deadline_ns`.
    pub fn handle_connect_started(&mut self, deadline_ns: u64) {
        self.state = State::Connecting;
        self.join_deadline_ns = deadline_ns;
        self.outbox.clear();
        self.reader = FrameReader::new(MESSAGE_LEN_MAX);
        self.inflater = Inflater::new(self.compression);
        self.next_heartbeat_ns = 0;
    }

    /// The TCP connect completed: queue the upgrade request.
    pub fn handle_connected(&mut self, host: &str, tally: &mut Tally) {
        debug_assert_eq!(self.state, State::Connecting);
        let mut key_bytes = [0u8; 16];
        tally.rng.fill(&mut key_bytes);
        self.key = encode_upgrade_request(
            &mut self.outbox,
            host,
            self.compression.gateway_path(),
            key_bytes,
        );
        self.state = State::Upgrading;
    }

    /// Bytes from the socket: consumes whole frames from `buf` and returns how many bytes
    /// it used; the rest must be offered again with more bytes behind them.
    pub fn handle_input(&mut self, buf: &[u8], now_ns: u64, tally: &mut Tally) -> usize {
        let mut pos = 0;
        if self.state == State::Upgrading {
            match parse_upgrade_response(buf, &self.key) {
                Ok(Some(head_len)) => {
                    pos = head_len;
                    self.state = State::Greeting;
                }
                Ok(None) if buf.len() > UPGRADE_HEAD_MAX => {
                    self.close("upgrade answer head too long".into());
                    return buf.len();
                }
                Ok(None) => return 0,
                Err(error) => {
                    self.close(error);
                    return buf.len();
                }
            }
        }
        // The reader lends out slices of its own buffer for fragmented messages, so it
        // steps out of `self` while the handlers change the session.
        let mut reader = std::mem::take(&mut self.reader);
        let used = self.handle_frames(&mut reader, buf, pos, now_ns, tally);
        self.reader = reader;
        used
    }

    fn handle_frames(
        &mut self,
        reader: &mut FrameReader,
        buf: &[u8],
        mut pos: usize,
        now_ns: u64,
        tally: &mut Tally,
    ) -> usize {
        while self.is_open() {
            let message = match reader.next(buf, &mut pos) {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(error) => {
                    self.close(format!("bad frame from the server: {error}"));
                    return buf.len();
                }
            };
            tally.frames += 1;
            let result = match message {
                ServerMessage::Text(text) => {
                    handle_text(self, text, now_ns, tally);
                    Ok(())
                }
                ServerMessage::Binary(payload) => {
                    let mut inflated = std::mem::take(&mut tally.inflated);
                    inflated.clear();
                    let result = self.inflater.inflate(payload, &mut inflated);
                    if let Ok(true) = result {
                        handle_text(self, &inflated, now_ns, tally);
                    }
                    tally.inflated = inflated;
                    result.map(drop)
                }
                ServerMessage::Ping(payload) => {
                    let mask = tally.rng.mask_key();
                    encode_client_pong(&mut self.outbox, payload, mask);
                    Ok(())
                }
                ServerMessage::Pong => Ok(()),
                ServerMessage::Close { code, reason } => {
                    let reason = String::from_utf8_lossy(reason);
                    Err(match code {
                        Some(code) => format!("server closed with {code} {reason:?}"),
                        None => "server closed without a code".to_string(),
                    })
                }
            };
            if let Err(error) = result {
                self.close(error);
                return buf.len();
            }
        }
        pos
    }

    /// Heartbeat if one is due; returns whether it queued one.
    pub fn poll_heartbeat(&mut self, now_ns: u64, tally: &mut Tally) -> bool {
        if self.next_heartbeat_ns == 0 || now_ns < self.next_heartbeat_ns || !self.is_open() {
            return false;
        }
        self.next_heartbeat_ns += self.heartbeat_interval_ns.max(1_000_000);
        self.queue_heartbeat_now(tally);
        true
    }

    /// The connection ended (EOF, reset, timeout) while it should not have.
    pub fn close(&mut self, why: String) {
        if self.state != State::Detached {
            self.ledger.handle_closed(why);
        }
        self.state = State::Closed;
    }

    /// The worker dropped the connection on purpose, to resume later.
    pub fn detach(&mut self) {
        self.state = State::Detached;
        self.next_heartbeat_ns = 0;
    }

    /// Makes the session connect again and join with `join`; forgets a close.
    pub fn rejoin(&mut self, join: Join) {
        self.join = join;
        self.state = State::Idle;
        self.ledger.clear_closed();
    }

    /// The last warm-up round this session received.
    pub fn warm_round_seen(&self) -> Option<u64> {
        self.warm_round_seen
    }

    /// Whether the socket should stay registered.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Idle | State::Detached | State::Closed)
    }

    /// Whether the session is still on its way to Live.
    pub fn is_joining(&self) -> bool {
        matches!(
            self.state,
            State::Connecting | State::Upgrading | State::Greeting | State::Joining
        )
    }

    fn queue_heartbeat_now(&mut self, tally: &mut Tally) {
        let mask = tally.rng.mask_key();
        encode_client_text(
            &mut self.outbox,
            &encode_heartbeat(self.ledger.last_s()),
            mask,
        );
    }
}

/// One gateway payload (already inflated).
fn handle_text(session: &mut Session, text: &[u8], now_ns: u64, tally: &mut Tally) {
    let payload = parse_payload(text);
    match payload.op {
        Some(0) => {
            let Some(s) = payload.s else {
                session.close("a dispatch without s".into());
                return;
            };
            session.ledger.handle_seq(s);
            if session.state == State::Joining && session.join == Join::Resume {
                session.replayed += 1;
            }
            match payload.t.unwrap_or_default() {
                b"MESSAGE_CREATE" => handle_message_create(session, text, now_ns, tally),
                b"READY" => {
                    session.session_id = find_str(text, b"\"session_id\":\"")
                        .map(|id| String::from_utf8_lossy(id).into_owned());
                    if session.session_id.is_none() {
                        session.close("READY without session_id".into());
                        return;
                    }
                    session.state = State::Live;
                    tally.joined += 1;
                }
                b"RESUMED" => {
                    session.state = State::Live;
                    // RESUMED itself went through the replay count above.
                    tally.replayed += session.replayed.saturating_sub(1);
                    session.replayed = 0;
                    tally.joined += 1;
                }
                _ => {}
            }
        }
        Some(10) => handle_hello(session, text, now_ns, tally),
        Some(1) => session.queue_heartbeat_now(tally),
        Some(7) => session.close("the server asked to reconnect (op 7)".into()),
        Some(9) => session.close(format!(
            "invalid session (op 9) while {}",
            if session.join == Join::Resume {
                "resuming"
            } else {
                "identifying"
            }
        )),
        // op 11 heartbeat ACK and anything else need nothing.
        _ => {}
    }
}

fn handle_hello(session: &mut Session, text: &[u8], now_ns: u64, tally: &mut Tally) {
    if session.state != State::Greeting {
        session.close("Hello after the session started".into());
        return;
    }
    let Some(interval_ms) = find_u64(text, b"\"heartbeat_interval\":") else {
        session.close("Hello without heartbeat_interval".into());
        return;
    };
    session.heartbeat_interval_ns = interval_ms.max(1) * 1_000_000;
    // Discord clients wait interval × jitter before the first heartbeat, so thousands of
    // sessions that connected together do not heartbeat together.
    let jitter = tally.rng.next_u64() % session.heartbeat_interval_ns.max(1);
    session.next_heartbeat_ns = now_ns + jitter;
    let payload = match (session.join, &session.session_id) {
        (Join::Resume, Some(session_id)) => {
            encode_resume(&session.token, session_id, session.ledger.last_s())
        }
        (Join::Resume, None) => {
            session.close("asked to resume a session that never got READY".into());
            return;
        }
        (Join::Identify, _) => {
            session.ledger.restart_seq();
            encode_identify(&session.token)
        }
    };
    session.replayed = 0;
    let mask = tally.rng.mask_key();
    encode_client_text(&mut session.outbox, &payload, mask);
    session.state = State::Joining;
}

fn handle_message_create(session: &mut Session, text: &[u8], now_ns: u64, tally: &mut Tally) {
    let Some(content) = find_marker(text, &mut session.marker_hint) else {
        // Not ours: take the slow path only to name it in the verdict.
        let content = find_str(text, b"\"content\":\"").unwrap_or_default();
        session.ledger.handle_foreign(content);
        return;
    };
    match parse_marker(content) {
        Some(Marker::Post {
            window,
            publisher,
            seq,
            scheduled_ns,
        }) => {
            if session.ledger.handle_post(window, publisher, seq) == Receipt::New {
                tally.delivered += 1;
                tally.last_delivery_ns = tally.last_delivery_ns.max(now_ns);
                if let Some(histogram) = &mut tally.delivery_ns {
                    histogram.saturating_record(now_ns.saturating_sub(scheduled_ns).max(1));
                }
            }
        }
        Some(Marker::Warm { round }) => {
            session.warm_round_seen = Some(round);
            tally.event_bytes = text.len();
        }
        None => session.ledger.handle_foreign(content),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::handshake::expected_accept;
    use crate::loadgen::ledger::AckBook;
    use crate::loadgen::schedule::Schedule;
    use std::time::Duration;

    fn server_text(out: &mut Vec<u8>, text: &str) {
        wsframe::encode_message(out, &wsframe::Message::Text(text), None);
    }

    /// A session driven through the handshake to Live, as a server would.
    fn live_session(tally: &mut Tally) -> Session {
        let mut session = Session::new(3, "tok".into(), Compression::None);
        session.handle_connect_started(1_000);
        session.handle_connected("127.0.0.1:1", tally);
        let request = String::from_utf8(std::mem::take(&mut session.outbox)).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .to_string();
        let mut wire = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            expected_accept(&key)
        )
        .into_bytes();
        server_text(&mut wire, r#"{"op":10,"d":{"heartbeat_interval":1000}}"#);
        // Byte by byte: every split must work.
        let mut held = Vec::new();
        for byte in wire {
            held.push(byte);
            let used = session.handle_input(&held, 2_000, tally);
            held.drain(..used);
        }
        assert!(held.is_empty());
        assert_eq!(session.state, State::Joining);
        assert!(
            String::from_utf8_lossy(&session.outbox).len() > 10,
            "IDENTIFY queued"
        );
        session.outbox.clear();
        let mut ready = Vec::new();
        server_text(
            &mut ready,
            r#"{"op":0,"s":1,"t":"READY","d":{"session_id":"abc"}}"#,
        );
        server_text(&mut ready, r#"{"op":0,"s":2,"t":"GUILD_CREATE","d":{}}"#);
        assert_eq!(session.handle_input(&ready, 3_000, tally), ready.len());
        assert_eq!(session.state, State::Live);
        session
    }

    #[test]
    fn a_session_joins_and_checks_every_post() {
        let mut tally = Tally {
            delivery_ns: Some(crate::loadgen::new_histogram()),
            ..Tally::default()
        };
        let mut session = live_session(&mut tally);
        assert_eq!(tally.joined, 1);
        let book = AckBook::new(0, &Schedule::new(1, 10.0, 0, Duration::from_secs(1)));
        session.ledger.open_window(&book);
        let mut wire = Vec::new();
        for (s, seq) in [(3, 0), (4, 1), (5, 1), (7, 2)] {
            server_text(
                &mut wire,
                &format!(
                    r#"{{"op":0,"s":{s},"t":"MESSAGE_CREATE","d":{{"content":"fx:0:0:{seq}:500"}}}}"#
                ),
            );
        }
        assert_eq!(session.handle_input(&wire, 10_500, &mut tally), wire.len());
        assert_eq!(tally.delivered, 3);
        let latencies = tally.delivery_ns.as_ref().unwrap();
        assert_eq!(latencies.len(), 3);
        assert!(latencies.equivalent(latencies.max(), 10_000));
        for seq in 0..3 {
            book.mark_sent(0, seq);
            book.mark_acked(0, seq);
        }
        let error = session.ledger.verdict(3, &book).unwrap_err();
        assert!(
            error.contains("1 duplicate(s), first publisher 0 seq 1"),
            "{error}"
        );
        assert!(error.contains("first expected s=6 got s=7"), "{error}");
    }

    #[test]
    fn heartbeats_pings_and_closes() {
        let mut tally = Tally::default();
        let mut session = live_session(&mut tally);
        assert!(session.next_heartbeat_ns >= 2_000);
        assert!(session.poll_heartbeat(session.next_heartbeat_ns, &mut tally));
        assert!(!session.poll_heartbeat(session.next_heartbeat_ns - 1, &mut tally));
        let mut decoder = wsframe::Decoder::new(wsframe::Config::server());
        let mut input = session.outbox.as_slice();
        assert_eq!(
            decoder.decode(&mut input),
            Ok(Some(wsframe::Message::Text(r#"{"op":1,"d":2}"#)))
        );
        session.outbox.clear();

        let mut wire = Vec::new();
        wsframe::encode_message(&mut wire, &wsframe::Message::Ping(b"x"), None);
        server_text(&mut wire, r#"{"op":1,"d":null}"#);
        wsframe::encode_close_frame(&mut wire, 4000, "slow", None);
        session.handle_input(&wire, 5_000, &mut tally);
        let mut decoder = wsframe::Decoder::new(wsframe::Config::server());
        let mut input = session.outbox.as_slice();
        assert_eq!(
            decoder.decode(&mut input),
            Ok(Some(wsframe::Message::Pong(b"x")))
        );
        assert_eq!(
            decoder.decode(&mut input),
            Ok(Some(wsframe::Message::Text(r#"{"op":1,"d":2}"#)))
        );
        assert_eq!(session.state, State::Closed);
        assert_eq!(
            session.ledger.closed(),
            Some("server closed with 4000 \"slow\"")
        );
    }

    #[test]
    fn a_resume_replays_and_keeps_counting() {
        let mut tally = Tally::default();
        let mut session = live_session(&mut tally);
        session.detach();
        session.rejoin(Join::Resume);
        session.handle_connect_started(4_000);
        session.handle_connected("h", &mut tally);
        let request = String::from_utf8(std::mem::take(&mut session.outbox)).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let mut wire = format!(
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            expected_accept(key)
        )
        .into_bytes();
        server_text(&mut wire, r#"{"op":10,"d":{"heartbeat_interval":1000}}"#);
        session.handle_input(&wire, 5_000, &mut tally);
        let mut decoder = wsframe::Decoder::new(wsframe::Config::server());
        let mut input = session.outbox.as_slice();
        assert_eq!(
            decoder.decode(&mut input),
            Ok(Some(wsframe::Message::Text(
                r#"{"op":6,"d":{"token":"tok","session_id":"abc","seq":2}}"#
            )))
        );
        let mut wire = Vec::new();
        server_text(&mut wire, r#"{"op":0,"s":3,"t":"TYPING_START","d":{}}"#);
        server_text(&mut wire, r#"{"op":0,"s":4,"t":"TYPING_START","d":{}}"#);
        server_text(&mut wire, r#"{"op":0,"s":5,"t":"RESUMED","d":{}}"#);
        session.handle_input(&wire, 6_000, &mut tally);
        assert_eq!(session.state, State::Live);
        assert_eq!(tally.replayed, 2);
        assert_eq!(tally.joined, 2);
        assert_eq!(session.ledger.last_s(), 5);
    }
}
