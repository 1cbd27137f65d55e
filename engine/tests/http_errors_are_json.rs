//! Bad requests get a precise 4xx with a Discord-style JSON body and
//! `Content-Type: application/json` exactly, and the connection is closed after it.

mod support;

use support::{start_with, HttpClient};

fn answer_to(server: &engine::Server, request: &[u8]) -> support::HttpResponse {
    let mut client = HttpClient::new(server.local_addr());
    client.send(request);
    let response = client.read_response().expect("an answer");
    assert!(
        client.read_response().is_none(),
        "an error answer closes the connection"
    );
    response
}

fn every_bad_request_has_its_status(io: engine::IoBackend) {
    let server = start_with(io, |config| {
        config.limits.http.head_bytes_max = 1024;
        config.limits.http.body_bytes_max = 64;
    });
    let long_header = format!("GET / HTTP/1.1\r\nX-Long: {}\r\n\r\n", "a".repeat(2000));
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"GET /x HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(), 400),
        (
            b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"POST /echo HTTP/1.1\r\nContent-Length: 65\r\n\r\n".to_vec(),
            413,
        ),
        (long_header.into_bytes(), 431),
        (
            b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            411,
        ),
        (
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
                .to_vec(),
            426,
        ),
        (
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
           Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n"
                .to_vec(),
            400,
        ),
    ];
    for (request, status) in cases {
        let response = answer_to(&server, &request);
        if status == 413 {
            // Discord's own oversized-request answer: code 40005.
            support::assert_error(&response, 413, 40005);
            assert_eq!(response.json()["message"], "Request entity too large");
            continue;
        }
        response.assert_json_error(status);
        if status == 426 {
            assert_eq!(response.header("sec-websocket-version"), Some("13"));
        }
    }
    server.shutdown().unwrap();
}
both_backends!(
    every_bad_request_has_its_status,
    every_bad_request_has_its_status
);

fn unknown_routes_are_json_404_and_keep_the_connection(io: engine::IoBackend) {
    let server = start_with(io, |_| {});
    let mut client = HttpClient::new(server.local_addr());
    client.send(b"GET /api/v10/nothing-here HTTP/1.1\r\n\r\n");
    client.read_response().unwrap().assert_json_error(404);
    client.send(b"GET /health HTTP/1.1\r\n\r\n");
    assert_eq!(client.read_response().unwrap().status, 200);
    server.shutdown().unwrap();
}
both_backends!(
    unknown_routes_are_json_404_and_keep_the_connection,
    unknown_routes_are_json_404_and_keep_the_connection
);
