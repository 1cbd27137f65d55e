//! Fuzz the HTTP request parser and the WebSocket handshake check.
//!
//! Properties: no input panics; a complete request consumes at most the input; and
//! splitting the input anywhere (the first byte picks where) either asks for more bytes
//! or gives exactly the same answer as the whole input.
#![no_main]

use engine::http::{parse_request, upgrade, HttpLimits};
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
    }
    let split = usize::from(split).min(bytes.len());
    match parse_request(&bytes[..split], &limits) {
        Ok(None) => {}
        // An error or a request found in a prefix must be the whole input's answer.
        prefix => assert_eq!(prefix, whole),
    }
});
