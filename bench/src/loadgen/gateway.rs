//! Gateway payloads the cheap way: find the few fields a load generator needs by byte
//! search, and write the few payloads it sends.
//!
//! Why not a JSON parser: a session sees every MESSAGE_CREATE of the channel, and the
//! generator must spend far less per event than the server does, or it measures itself.
//! The search relies on facts about gateway payloads that both servers keep:
//! - `"op":`, `"s":` and `"t":"` occur once, at the top level (Flux writes them first:
//!   `{"op":0,"s":N,"t":"NAME","d":…}`). A message object has no key named `op`, `s` or
//!   `t`, and a string value cannot contain `"s":` because its quotes are escaped.
//! - The marker this generator puts in `content` is plain ASCII (`marker.rs`), so the
//!   value after `"content":"` runs to the next `"` with no escapes.
//!
//! Elsewhere: what the session does with these fields (`session.rs`).

use std::fmt::Write as _;

/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT.
pub const INTENTS: u32 = 1 | (1 << 9) | (1 << 15);

/// The top-level fields of one gateway payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload<'a> {
    /// `op`.
    pub op: Option<u64>,
    /// `s`, on dispatches (op 0).
    pub s: Option<u64>,
    /// `t`, on dispatches.
    pub t: Option<&'a [u8]>,
}

/// Finds `op`, `s` and `t` in one payload.
pub fn parse_payload(text: &[u8]) -> Payload<'_> {
    if let Some(payload) = parse_dispatch_head(text) {
        return payload;
    }
    Payload {
        op: find_u64(text, b"\"op\":"),
        s: find_u64(text, b"\"s\":"),
        t: find_str(text, b"\"t\":\""),
    }
}

/// The fast path of `parse_payload`: a dispatch that starts `{"op":0,"s":N,"t":"NAME"`, as
/// both servers write every one, read in one pass from the front. It finds what the
/// searches would (each key's first occurrence is right here); anything else is `None`,
/// and the searches take it.
fn parse_dispatch_head(text: &[u8]) -> Option<Payload<'_>> {
    let rest = text.strip_prefix(b"{\"op\":0,\"s\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let s = super::marker::parse_u64(&rest[..digits])?;
    let rest = rest[digits..].strip_prefix(b",\"t\":\"")?;
    let len = rest.iter().position(|&b| b == b'"')?;
    Some(Payload {
        op: Some(0),
        s: Some(s),
        t: Some(&rest[..len]),
    })
}

/// The unsigned integer after the first `key` in `text` (`null` and strings are `None`).
pub fn find_u64(text: &[u8], key: &[u8]) -> Option<u64> {
    let start = find(text, key)? + key.len();
    let rest = &text[start..];
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    super::marker::parse_u64(&rest[..digits])
}

/// The string after the first `key` in `text` (`key` ends with the opening quote), up to
/// the next quote. Only for values known to hold no escapes.
pub fn find_str<'a>(text: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let start = find(text, key)? + key.len();
    let len = text[start..].iter().position(|&b| b == b'"')?;
    Some(&text[start..start + len])
}

/// `"content":"fx:`: where a post's marker starts.
const MARKER_NEEDLE: &[u8] = b"\"content\":\"fx:";

/// The marker in a MESSAGE_CREATE's `content`, if it starts with our `fx:` prefix.
///
/// The hot path of the whole generator (once per delivery). `hint` is where the needle
/// was in this session's last MESSAGE_CREATE (0 at first), and is updated: a server
/// frames every delivery alike, so the needle is there give or take the digits of the
/// numbers before it, and a look at a few bytes around it is enough. Elsewhere it scans
/// for the `x` of `fx:`, a byte rare in gateway payloads, eight bytes at a time, and checks
/// the bytes around each hit (not for the first byte of `"content":"`: quotes are every
/// few bytes in JSON).
pub fn find_marker<'a>(text: &'a [u8], hint: &mut usize) -> Option<&'a [u8]> {
    const SLACK: usize = 16;
    if text
        .get(*hint..)
        .is_some_and(|at| at.starts_with(MARKER_NEEDLE))
    {
        // Where it was last time: the same framing, numbers of the same length.
        let value = *hint + MARKER_NEEDLE.len() - 3;
        let len = text[value..].iter().position(|&b| b == b'"')?;
        return Some(&text[value..value + len]);
    }
    let near = hint.saturating_sub(SLACK);
    let end = (*hint + SLACK + MARKER_NEEDLE.len()).min(text.len());
    let start = match (near < end)
        .then(|| find(&text[near..end], MARKER_NEEDLE))
        .flatten()
    {
        Some(at) => near + at,
        None => scan_for_marker(text)?,
    };
    *hint = start;
    let value = start + MARKER_NEEDLE.len() - 3;
    let len = text[value..].iter().position(|&b| b == b'"')?;
    Some(&text[value..value + len])
}

/// Where the first `"content":"fx:` starts.
fn scan_for_marker(text: &[u8]) -> Option<usize> {
    const ANCHOR: usize = 12; // The `x`.
    const _: () = assert!(MARKER_NEEDLE[ANCHOR] == b'x');
    let mut from = ANCHOR;
    while from < text.len() {
        let at = from + find_byte(&text[from..], b'x')?;
        let start = at - ANCHOR;
        if text[start..].starts_with(MARKER_NEEDLE) {
            return Some(start);
        }
        from = at + 1;
    }
    None
}

/// The first position of `byte` in `haystack`, eight bytes per step (SWAR: a word with a
/// zero byte after XOR with the repeated byte has a matching byte there).
pub fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let repeated = LOW * u64::from(byte);
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        // chunks_exact yields 8-byte slices.
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ repeated;
        let found = word.wrapping_sub(LOW) & !word & HIGH;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map(|at| offset + at)
}

/// The first position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while from + needle.len() <= haystack.len() {
        let at = from
            + haystack[from..=haystack.len() - needle.len()]
                .iter()
                .position(|&b| b == first)?;
        if same_bytes(&haystack[at + 1..at + needle.len()], rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether two slices of equal length hold the same bytes, compared in place: the needles
/// here are a few bytes long, where a call to `memcmp` costs more than the comparison.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let mut same = true;
    for (x, y) in a.iter().zip(b) {
        same &= x == y;
    }
    same
}

/// op 2 Identify.
pub fn encode_identify(token: &str) -> String {
    format!(
        "{{\"op\":2,\"d\":{{\"token\":\"{token}\",\"intents\":{INTENTS},\
         \"properties\":{{\"os\":\"linux\",\"browser\":\"flux-bench\",\"device\":\"flux-bench\"}}}}}}"
    )
}

/// op 6 Resume.
pub fn encode_resume(token: &str, session_id: &str, seq: u64) -> String {
    format!(
        "{{\"op\":6,\"d\":{{\"token\":\"{token}\",\"session_id\":\"{session_id}\",\"seq\":{seq}}}}}"
    )
}

/// op 1 Heartbeat with the last `s` seen (`null` before the first dispatch).
pub fn encode_heartbeat(seq: u64) -> String {
    let mut out = String::with_capacity(24);
    if seq == 0 {
        out.push_str("{\"op\":1,\"d\":null}");
    } else {
        // Writing to a String cannot fail.
        let _ = write!(out, "{{\"op\":1,\"d\":{seq}}}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_fields_are_found_in_either_order() {
        let flux =
            br#"{"op":0,"s":17,"t":"MESSAGE_CREATE","d":{"flags":0,"content":"fx:0:1:2:3"}}"#;
        assert_eq!(
            parse_payload(flux),
            Payload {
                op: Some(0),
                s: Some(17),
                t: Some(&b"MESSAGE_CREATE"[..])
            }
        );
        let other = br#"{"t":"READY","d":{"user":{"username":"s"}},"op":0, "s": 1}"#;
        assert_eq!(
            parse_payload(other),
            Payload {
                op: Some(0),
                s: Some(1),
                t: Some(&b"READY"[..])
            }
        );
        let hello = br#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#;
        assert_eq!(
            parse_payload(hello),
            Payload {
                op: Some(10),
                s: None,
                t: None
            }
        );
        assert_eq!(find_u64(hello, b"\"heartbeat_interval\":"), Some(41250));
        assert_eq!(find_str(flux, b"\"content\":\""), Some(&b"fx:0:1:2:3"[..]));
    }

    #[test]
    fn the_dispatch_fast_path_agrees_with_the_searches() {
        let cases: [&[u8]; 8] = [
            br#"{"op":0,"s":17,"t":"MESSAGE_CREATE","d":{"s":1,"content":"fx:0:1:2:3"}}"#,
            br#"{"op":0,"s":18446744073709551615,"t":"READY","d":{}}"#,
            br#"{"op":0,"s":184467440737095516150,"t":"READY","d":{}}"#,
            br#"{"op":0,"s":,"t":"READY","d":{}}"#,
            br#"{"op":0,"s":3,"d":{},"t":"RESUMED"}"#,
            br#"{"op":0,"s":3,"t":"OPEN"#,
            br#"{"op":11,"d":null}"#,
            br#"{"op":0,"s":3"#,
        ];
        for text in cases {
            let searched = Payload {
                op: find_u64(text, b"\"op\":"),
                s: find_u64(text, b"\"s\":"),
                t: find_str(text, b"\"t\":\""),
            };
            assert_eq!(
                parse_payload(text),
                searched,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert!(
            parse_dispatch_head(cases[0]).is_some(),
            "the common case is the fast one"
        );
    }

    #[test]
    fn the_marker_is_found_only_inside_content() {
        let marker = |text: &[u8]| find_marker(text, &mut 0).map(<[u8]>::to_vec);
        let text = br#"{"op":0,"s":5,"t":"MESSAGE_CREATE","d":{"author":{"username":"xfx:"},"content":"fx:1:2:3:4","id":"9"}}"#;
        assert_eq!(marker(text).as_deref(), Some(&b"fx:1:2:3:4"[..]));
        assert_eq!(marker(br#"{"d":{"content":"hello fx:1"}}"#), None);
        assert_eq!(marker(br#"{"content":"fx:"#), None);
        assert_eq!(marker(b"x"), None);
        assert_eq!(marker(br#""content":"fx:""#).as_deref(), Some(&b"fx:"[..]));
    }

    #[test]
    fn the_marker_is_found_near_the_last_one_or_anywhere() {
        let mut hint = 0;
        let first = br#"{"op":0,"s":9,"t":"MESSAGE_CREATE","d":{"content":"fx:1:2:3:4","id":"9"}}"#;
        assert_eq!(find_marker(first, &mut hint), Some(&b"fx:1:2:3:4"[..]));
        assert_eq!(&first[hint..hint + 10], br#""content":"#);
        // One more digit of `s` shifts it by a byte.
        let next = br#"{"op":0,"s":10,"t":"MESSAGE_CREATE","d":{"content":"fx:1:2:3:5","id":"9"}}"#;
        assert_eq!(find_marker(next, &mut hint), Some(&b"fx:1:2:3:5"[..]));
        // Far from the hint, and in a shorter text than the hint: still found.
        let far = [&br#"{"pad":""#[..], &[b'p'; 300], br#"","content":"fx:7"}"#].concat();
        assert_eq!(find_marker(&far, &mut hint), Some(&b"fx:7"[..]));
        assert_eq!(
            find_marker(br#"{"content":"fx:8"}"#, &mut hint),
            Some(&b"fx:8"[..])
        );
        assert_eq!(find_marker(br#"{"content":"none"}"#, &mut hint), None);
    }

    #[test]
    fn find_byte_agrees_with_a_plain_scan() {
        let text: Vec<u8> = (0..200u32).map(|i| (i * 7 % 23) as u8 + b'a').collect();
        for byte in 0..=255u8 {
            for start in [0, 1, 5, 9, 100, 199, 200] {
                let slice = &text[start..];
                assert_eq!(
                    find_byte(slice, byte),
                    slice.iter().position(|&b| b == byte),
                    "{byte} from {start}"
                );
            }
        }
        // A match in the high bit positions and right after a 0x01 byte (the SWAR trap).
        assert_eq!(find_byte(&[0x01, 0x00, 0x80, 0xff], 0x00), Some(1));
        assert_eq!(
            find_byte(
                &[0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00],
                0x00
            ),
            Some(8)
        );
    }

    #[test]
    fn find_handles_edges() {
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
        assert_eq!(find(b"ab", b"abc"), None);
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(find(b"aaa", b""), None);
        assert_eq!(find(b"xxa", b"a"), Some(2));
        assert_eq!(find_str(b"\"t\":\"open", b"\"t\":\""), None);
    }

    #[test]
    fn client_payloads_are_valid_json() {
        let identify: serde_json::Value = serde_json::from_str(&encode_identify("tok")).unwrap();
        assert_eq!(identify["op"], 2);
        assert_eq!(identify["d"]["intents"], 33281);
        assert_eq!(identify["d"]["properties"]["browser"], "flux-bench");
        let resume: serde_json::Value =
            serde_json::from_str(&encode_resume("t", "abc", 9)).unwrap();
        assert_eq!(resume["d"]["seq"], 9);
        assert_eq!(encode_heartbeat(0), r#"{"op":1,"d":null}"#);
        assert_eq!(encode_heartbeat(42), r#"{"op":1,"d":42}"#);
    }
}
