//! HTTP/1.1 persistence: several requests on one connection, pipelined requests answered
//! in order (also when one of them is answered later through the outbox), and
//! `Connection: close` honoured.

mod support;

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
