//! Fuzz the HTTP request parser and the WebSocket handshake check.
//!
//! Properties: no input panics; a complete request consumes at most the input; splitting
//! the input anywhere (the first byte picks where) either asks for more bytes or gives
//! exactly the same answer as the whole input; and the head alone (`parse_head`,
//! `awaited_body`, what the reactor judges a body by before reading it) agrees with the
//! whole request.
#![no_main]

use engine::http::{awaited_body, parse_head, parse_request, upgrade, HttpLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, bytes)) = data.split_first() else {
        return;
    };
    let limits = HttpLimits {
        head_bytes_max: 2048,
        body_bytes_max: 512,
        multipart_body_bytes_max: 1024,
    };
    let whole = parse_request(bytes, &limits);
    if let Ok(Some((request, consumed))) = &whole {
        assert!(*consumed <= bytes.len());
        assert!(
            request.body.len() + 4 <= *consumed,
            "a head is at least 4 bytes"
        );
        let _ = upgrade::check_upgrade(request);
        let _ = request.keep_alive();
        let (head, head_len, body_len) = parse_head(bytes, &limits)
            .expect("a parsed request has a head")
            .expect("complete");
        assert_eq!(head_len + body_len, *consumed);
        assert_eq!((&head.method, &head.target), (&request.method, &request.target));
        assert!(head.headers().eq(request.headers()));
        assert_eq!(awaited_body(bytes, &limits), Some(body_len));
    }
    let split = usize::from(split).min(bytes.len());
    match parse_request(&bytes[..split], &limits) {
        Ok(None) => {}
        // An error or a request found in a prefix must be the whole input's answer.
        prefix => assert_eq!(prefix, whole),
    }
});
