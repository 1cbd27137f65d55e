//! Fuzz the message routes' parsers: route matching, create and edit bodies, history
//! queries, mention scanning and reaction emoji segments.
//!
//! Input: the first byte picks a method, the rest is split at the first NUL into a
//! path-and-query and a body. Properties: no input panics; a create that parses has
//! content within the limit and is not empty; mentions are unique.
#![no_main]

use engine::rest::messages::{
    message_route, parse_create, parse_edit, parse_emoji, parse_history_query, parse_mentions,
    CONTENT_CHARS_MAX,
};
use engine::rest::Method;
use libfuzzer_sys::fuzz_target;

const METHODS: [Method; 6] = [
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Patch,
    Method::Delete,
    Method::Other,
];

fuzz_target!(|data: &[u8]| {
    let [method, rest @ ..] = data else { return };
    let (target, body) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(target) = std::str::from_utf8(target) else {
        return;
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let _ = message_route(METHODS[usize::from(*method) % METHODS.len()], path);
    let _ = parse_history_query(query);
    if let Ok(emoji) = parse_emoji(path) {
        assert!(!emoji.name.is_empty());
    }
    if let Ok(create) = parse_create(body) {
        assert!(create.content.chars().count() <= CONTENT_CHARS_MAX);
        assert!(!create.content.is_empty() || !create.embeds.is_empty());
        let mentions = parse_mentions(&create.content);
        let mut users = mentions.users.clone();
        users.sort_unstable();
        users.dedup();
        assert_eq!(users.len(), mentions.users.len());
    }
    let _ = parse_edit(body);
});
