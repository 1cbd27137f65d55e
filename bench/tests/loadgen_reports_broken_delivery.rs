//! The load generator turns a broken delivery into a failure that names it, never into a
//! number. A small fake gateway (blocking threads, its own field order) delivers every
//! post to every session, except that it can be told to drop one delivery, send one twice,
//! or skip one sequence number; the clean fake must pass and each fault must be reported
//! with the session and the post it hit.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bench::loadgen::{Fleet, Plan, Timeouts, Window};
use sha1::{Digest, Sha1};

/// What the fake does wrong on the third post it receives (after the warm-up and one more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The first session never gets it.
    Drop,
    /// The first session gets it twice (each with its own `s`).
    Duplicate,
    /// The first session's `s` jumps by 2.
    SkipSeq,
    /// From the third post on, deliveries go out but no POST is answered.
    Unanswered,
}

struct Gateway {
    fault: Fault,
    posts: usize,
    sessions: Vec<(TcpStream, u64)>,
}

fn fake_server(fault: Fault) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let gateway = Arc::new(Mutex::new(Gateway {
        fault,
        posts: 0,
        sessions: Vec::new(),
    }));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let gateway = Arc::clone(&gateway);
            std::thread::spawn(move || serve(stream, &gateway));
        }
    });
    addr
}

fn serve(mut stream: TcpStream, gateway: &Mutex<Gateway>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(head_len)) = request.parse(&buf) {
            let header = |name: &str| {
                request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
            };
            if request.method == Some("GET") {
                let key = header("sec-websocket-key").unwrap();
                return serve_gateway(stream, &key, &buf[head_len..], gateway);
            }
            let length: usize = header("content-length").unwrap().parse().unwrap();
            if buf.len() >= head_len + length {
                let body = String::from_utf8(buf[head_len..head_len + length].to_vec()).unwrap();
                buf.drain(..head_len + length);
                let content = body.split('"').nth(3).unwrap().to_string();
                let answered = publish(gateway, &content);
                if !answered {
                    continue;
                }
                let answer = format!("{{\"id\":\"1\",\"content\":\"{content}\"}}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                stream.write_all(response.as_bytes()).unwrap();
                continue;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(read) => buf.extend_from_slice(&chunk[..read]),
        }
    }
}

fn serve_gateway(mut stream: TcpStream, key: &str, leftover: &[u8], gateway: &Mutex<Gateway>) {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes();
    wsframe::encode_message(
        &mut out,
        &wsframe::Message::Text(r#"{"op":10,"d":{"heartbeat_interval":45000}}"#),
        None,
    );
    stream.write_all(&out).unwrap();
    let mut decoder = wsframe::Decoder::new(wsframe::Config::server());
    let mut pending = leftover.to_vec();
    let mut chunk = [0u8; 4096];
    let mut identified = false;
    loop {
        let mut input = pending.as_slice();
        // The decoder consumes every byte it is given and keeps a partial frame itself.
        while let Ok(Some(message)) = decoder.decode(&mut input) {
            let wsframe::Message::Text(text) = message else {
                continue;
            };
            if text.contains("\"op\":2") && !identified {
                identified = true;
                let mut gateway = gateway.lock().unwrap();
                let id = gateway.sessions.len();
                let mut ready = Vec::new();
                let text =
                    format!(r#"{{"t":"READY","s":1,"op":0,"d":{{"session_id":"fake-{id}"}}}}"#);
                wsframe::encode_message(&mut ready, &wsframe::Message::Text(&text), None);
                stream.write_all(&ready).unwrap();
                gateway.sessions.push((stream.try_clone().unwrap(), 1));
            }
        }
        pending.clear();
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(read) => pending.extend_from_slice(&chunk[..read]),
        }
    }
}

/// MESSAGE_CREATE to every session, with the configured fault on the third post; returns
/// whether the POST gets an answer.
fn publish(gateway: &Mutex<Gateway>, content: &str) -> bool {
    let mut gateway = gateway.lock().unwrap();
    gateway.posts += 1;
    let faulty = gateway.posts == 3;
    let fault = gateway.fault;
    for (index, (stream, s)) in gateway.sessions.iter_mut().enumerate() {
        let hit = faulty && index == 0;
        let copies = match (hit, fault) {
            (true, Fault::Drop) => 0,
            (true, Fault::Duplicate) => 2,
            _ => 1,
        };
        if hit && fault == Fault::SkipSeq {
            *s += 1;
        }
        for _ in 0..copies {
            *s += 1;
            let text = format!(
                r#"{{"t":"MESSAGE_CREATE","s":{s},"op":0,"d":{{"id":"1","author":{{"username":"x"}},"content":"{content}"}}}}"#
            );
            let mut frame = Vec::new();
            wsframe::encode_message(&mut frame, &wsframe::Message::Text(&text), None);
            // A session that went away is the fleet's problem to report, not the fake's.
            let _ = stream.write_all(&frame);
        }
    }
    !(fault == Fault::Unanswered && gateway.posts >= 3)
}

fn fleet_against(fault: Fault) -> Fleet {
    let addr = fake_server(fault);
    let plan = Plan {
        session_tokens: vec!["any".into()],
        publisher_token: "any".into(),
        channel_id: "1".into(),
        publishers: 2,
        timeouts: Timeouts {
            answers: Duration::from_secs(1),
            deliveries: Duration::from_secs(1),
            ..Timeouts::default()
        },
        ..Plan::new(addr, 4)
    };
    let mut fleet = Fleet::connect(&plan, None).expect("the fake lets every session in");
    fleet
        .warm_up()
        .expect("the warm-up is the fake's first post: never faulty");
    fleet
}

/// Ten posts at 50 per second.
const WINDOW: Window = Window {
    rate_per_s: 50.0,
    duration: Duration::from_millis(200),
};

fn run_against(fault: Fault) -> Result<bench::loadgen::Measured, String> {
    let mut fleet = fleet_against(fault);
    let measured = fleet.publish(WINDOW);
    fleet.close();
    measured
}

#[test]
fn a_clean_server_passes() {
    let measured = run_against(Fault::None).expect("no fault, no failure");
    assert_eq!(measured.posts_acked, 10);
    assert_eq!(measured.deliveries, 40);
}

/// The error names exactly one session (the fake's first, whichever fleet session that
/// is) and says `what` about it.
fn names_one_session(error: &str, what: &str) {
    assert_eq!(error.matches("session ").count(), 1, "{error}");
    let (_, rest) = error.split_once("session ").unwrap();
    let (number, said) = rest.split_once(": ").unwrap();
    assert!(number.parse::<usize>().unwrap() < 4, "{error}");
    assert!(said.starts_with(what), "{error}");
}

#[test]
fn a_dropped_delivery_is_named() {
    let error = run_against(Fault::Drop).unwrap_err();
    names_one_session(&error, "missed 1 acked message(s), first publisher 1 seq 0");
}

#[test]
fn a_duplicate_delivery_is_named() {
    let error = run_against(Fault::Duplicate).unwrap_err();
    names_one_session(&error, "1 duplicate(s), first publisher 1 seq 0");
}

#[test]
fn a_sequence_gap_is_named() {
    let error = run_against(Fault::SkipSeq).unwrap_err();
    names_one_session(&error, "1 sequence break(s), first expected s=4 got s=5");
}

#[test]
fn unanswered_posts_may_be_delivered_but_spoil_the_next_window() {
    let mut fleet = fleet_against(Fault::Unanswered);
    let measured = fleet.publish(WINDOW).expect("unanswered posts are allowed");
    assert_eq!(
        measured.posts_acked, 1,
        "only the first measured post was answered"
    );
    assert_eq!(measured.posts_unanswered, 9);
    assert_eq!(
        measured.deliveries, 4,
        "the one acked post, to each session"
    );
    assert_eq!(measured.deliveries_unanswered, 9 * 4);
    let error = fleet.publish(WINDOW).unwrap_err();
    assert_eq!(
        error,
        "no further window on this fleet: window 0 left 9 post(s) unanswered after 1s"
    );
    fleet.close();
}
