//! HTTP/1.1 persistence: several requests on one connection, pipelined requests answered
//! in order (also when one of them is answered later through the outbox), and
//! `Connection: close` honoured.

mod support;

use std::io::Write;

use support::{start, HttpClient};

fn keep_alive_serves_sequential_requests(io: engine::IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    for _ in 0..3 {
        client.send(b"GET /health HTTP/1.1\r\nHost: flux\r\n\r\n");
        let response = client.read_response().expect("a response");
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json()["ok"], true);
        assert_eq!(response.header("connection"), None);
    }
    server.shutdown().unwrap();
}
both_backends!(
    keep_alive_serves_sequential_requests,
    keep_alive_serves_sequential_requests
);

fn pipelined_requests_are_answered_in_order(io: engine::IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    // One write: a delayed answer first, then an immediate one, a POST with a body, and
    // a 404. The order of the answers must be the order of the requests.
    client.send(
        b"GET /later HTTP/1.1\r\nHost: f\r\n\r\n\
          GET /health HTTP/1.1\r\nHost: f\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: f\r\nContent-Length: 9\r\n\r\n{\"n\": 42}\
          GET /nowhere HTTP/1.1\r\nHost: f\r\n\r\n",
    );
    let later = client.read_response().unwrap();
    assert_eq!(later.json()["later"], true);
    let health = client.read_response().unwrap();
    assert_eq!(health.json()["ok"], true);
    let echo = client.read_response().unwrap();
    assert_eq!(echo.json()["n"], 42);
    client.read_response().unwrap().assert_json_error(404);
    server.shutdown().unwrap();
}
both_backends!(
    pipelined_requests_are_answered_in_order,
    pipelined_requests_are_answered_in_order
);

fn pipelined_requests_are_in_the_application_at_once(io: engine::IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    // The first request takes longest. Had the server waited for each answer before
    // reading the next request, the application would finish them in request order;
    // with all three in the application at once it finishes the 1 ms one first, and the
    // answers still leave in request order.
    client.send(
        b"GET /later/300 HTTP/1.1\r\nHost: f\r\n\r\n\
          GET /later/1 HTTP/1.1\r\nHost: f\r\n\r\n\
          GET /health HTTP/1.1\r\nHost: f\r\n\r\n",
    );
    let slow = client.read_response().unwrap().json();
    assert_eq!(
        (slow["ms"].as_u64(), slow["answered"].as_u64()),
        (Some(300), Some(1))
    );
    let fast = client.read_response().unwrap().json();
    assert_eq!(
        (fast["ms"].as_u64(), fast["answered"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(client.read_response().unwrap().json()["ok"], true);
    server.shutdown().unwrap();
}
both_backends!(
    pipelined_requests_are_in_the_application_at_once,
    pipelined_requests_are_in_the_application_at_once
);

fn an_answer_given_while_a_later_request_is_handled_keeps_the_order(io: engine::IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    // `/answer-later` answers the waiting `/later/1000` from inside its own handler; that
    // answer lets the server parse the requests behind, which must still be answered
    // after `/answer-later` itself.
    client.send(
        b"GET /later/1000 HTTP/1.1\r\nHost: f\r\n\r\n\
          GET /answer-later HTTP/1.1\r\nHost: f\r\n\r\n\
          GET /health HTTP/1.1\r\nHost: f\r\n\r\n\
          GET /nowhere HTTP/1.1\r\nHost: f\r\n\r\n",
    );
    assert_eq!(client.read_response().unwrap().json()["later"], true);
    assert_eq!(client.read_response().unwrap().json()["answered_later"], 1);
    assert_eq!(client.read_response().unwrap().json()["ok"], true);
    client.read_response().unwrap().assert_json_error(404);
    server.shutdown().unwrap();
}
both_backends!(
    an_answer_given_while_a_later_request_is_handled_keeps_the_order,
    an_answer_given_while_a_later_request_is_handled_keeps_the_order
);

fn an_upgrade_behind_a_pending_request_waits_for_its_answer(io: engine::IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    client.send(
        b"GET /later/100 HTTP/1.1\r\nHost: f\r\n\r\n\
          GET / HTTP/1.1\r\nHost: f\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert_eq!(client.read_response().unwrap().json()["later"], true);
    let switched = client.read_response().unwrap();
    assert_eq!(switched.status, 101);
    assert_eq!(
        switched.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    server.shutdown().unwrap();
}
both_backends!(
    an_upgrade_behind_a_pending_request_waits_for_its_answer,
    an_upgrade_behind_a_pending_request_waits_for_its_answer
);

fn a_client_that_pipelines_without_reading_holds_bounded_memory(io: engine::IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    // 60,000 pipelined requests (about 2 MB) whose answers (about 6 MB) the client does
    // not read while it sends: the server must stop taking requests once a bound of
    // unread answers waits, not queue them all.
    const REQUESTS: usize = 60_000;
    let request = b"GET /health HTTP/1.1\r\nHost: f\r\n\r\n";
    let mut writer = client.stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let all: Vec<u8> = request.repeat(REQUESTS);
        writer.write_all(&all).unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let peak = server.stats().outbox_bytes_peak;
    let bound = engine::Limits::default().outbox_bytes_max;
    assert!(
        peak <= bound + 64 * 1024,
        "unread answers reached {peak} bytes (bound {bound})"
    );
    // Nothing is lost: once the client reads, every request is answered, in order.
    for _ in 0..REQUESTS {
        assert_eq!(client.read_response().unwrap().json()["ok"], true);
    }
    sender.join().unwrap();
    server.shutdown().unwrap();
}
both_backends!(
    a_client_that_pipelines_without_reading_holds_bounded_memory,
    a_client_that_pipelines_without_reading_holds_bounded_memory
);

fn a_request_split_into_single_bytes_is_parsed(io: engine::IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    for byte in b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" {
        client.send(&[*byte]);
    }
    let response = client.read_response().unwrap();
    assert_eq!(response.body, b"{}");
    server.shutdown().unwrap();
}
both_backends!(
    a_request_split_into_single_bytes_is_parsed,
    a_request_split_into_single_bytes_is_parsed
);

fn connection_close_is_honoured(io: engine::IoBackend) {
    let server = start(io);
    let mut client = HttpClient::new(server.local_addr());
    client.send(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
    let response = client.read_response().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(
        client.read_response().is_none(),
        "the second request must not be answered"
    );
    // HTTP/1.0 closes by default, too.
    let mut old = HttpClient::new(server.local_addr());
    old.send(b"GET /health HTTP/1.0\r\n\r\n");
    assert_eq!(old.read_response().unwrap().status, 200);
    assert!(old.read_response().is_none());
    server.shutdown().unwrap();
}
both_backends!(connection_close_is_honoured, connection_close_is_honoured);
