//! Fuzzes `Snowflake::parse_ascii`, `FromStr` and the serde JSON path with
//! arbitrary bytes.
//!
//! Checks: nothing panics; an accepted input is exactly the canonical decimal
//! form of the id it parsed to; `FromStr` and the serde string path agree with
//! `parse_ascii`.
//!
//! Run: `cd snowflake/fuzz && cargo +nightly fuzz run parse_decimal -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;
use snowflake::{Snowflake, DECIMAL_LEN_MAX};

fuzz_target!(|bytes: &[u8]| {
    let parsed = Snowflake::parse_ascii(bytes);
    if let Ok(id) = parsed {
        let mut buf = [0u8; DECIMAL_LEN_MAX];
        assert_eq!(id.encode_decimal(&mut buf).as_bytes(), bytes);
    }
    if let Ok(text) = core::str::from_utf8(bytes) {
        assert_eq!(text.parse::<Snowflake>(), parsed);
        let json = serde_json::to_string(text).expect("a str serializes");
        let from_json = serde_json::from_str::<Snowflake>(&json).ok();
        assert_eq!(from_json, parsed.ok());
        // Also the raw text as a JSON document (numbers, garbage): must not panic.
        let _ = serde_json::from_str::<Snowflake>(text);
    }
});
