//! Fuzz the `multipart/form-data` parser, the boundary parameter and filename sanitising.
//!
//! Input: up to the first NUL is a `Content-Type` header value, the rest is the body.
//! Properties: no input panics; every part's bytes lie inside the body; a sanitised
//! filename is always one the attachment route accepts, and sanitising is idempotent.
#![no_main]

use engine::rest::multipart::{
    boundary_of, is_sanitized, parse_multipart, sanitize_filename, PARTS_MAX,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let content_type = String::from_utf8_lossy(head);
    // Also parse with a fixed boundary, so bodies are explored without a valid header.
    let boundary = boundary_of(&content_type).unwrap_or_else(|_| "b".to_string());
    if let Ok(parts) = parse_multipart(body, &boundary) {
        assert!(parts.len() <= PARTS_MAX);
        let range = body.as_ptr_range();
        for part in &parts {
            let part_range = part.data.as_ptr_range();
            assert!(range.start <= part_range.start && part_range.end <= range.end);
            if let Some(filename) = &part.filename {
                let clean = sanitize_filename(filename);
                assert!(is_sanitized(&clean));
                assert_eq!(sanitize_filename(&clean), clean);
            }
        }
    }
    let clean = sanitize_filename(&content_type);
    assert!(is_sanitized(&clean));
});
