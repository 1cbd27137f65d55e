//! Untrusted bytes the world layer parses: bot tokens (from every REST request and every
//! IDENTIFY), permission strings and overwrite JSON (from REST bodies), and stored message
//! values (from disk, which may be corrupt), and ISO 8601 timestamps (a member's
//! `communication_disabled_until`). The first byte picks the parser. Nothing may
//! panic; what parses must also survive its own round trip.
#![no_main]

use engine::world::message::{decode_message, encode_message};
use engine::world::permissions::{Overwrite, Permissions};
use engine::world::{decode_token, iso8601_from_unix_ms, unix_ms_from_iso8601, TokenSecret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            let _ = decode_token(&TokenSecret([7; 32]), &text);
        }
        1 => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(permissions) = Permissions::parse_decimal(&text) {
                let again = Permissions::parse_decimal(&permissions.encode_decimal());
                assert_eq!(again.ok(), Some(permissions));
            }
        }
        2 => {
            let _ = serde_json::from_slice::<Overwrite>(rest);
            let _ = serde_json::from_slice::<Permissions>(rest);
        }
        3 => {
            let text = String::from_utf8_lossy(rest);
            if let Some(ms) = unix_ms_from_iso8601(&text) {
                // What parses is an instant whose own formatting parses back to it.
                assert_eq!(unix_ms_from_iso8601(&iso8601_from_unix_ms(ms)), Some(ms));
            }
        }
        _ => {
            if let Ok(message) = decode_message(rest) {
                let encoded = encode_message(&message);
                let again = decode_message(&encoded).expect("our own encoding decodes");
                assert_eq!(encode_message(&again), encoded);
            }
        }
    }
});
