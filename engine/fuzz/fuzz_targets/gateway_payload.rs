//! Arbitrary client payloads against the gateway: the decoder alone, then a live session.
//!
//! The first byte picks the session's phase (fresh, identified, or resuming) and transport
//! compression; the rest, split on 0xFF bytes, is a sequence of client messages. Nothing may
//! panic, and a session emits at most one `SessionEnded`.
#![no_main]

use std::sync::Arc;

use engine::gateway::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_client_payload(data);
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let target = match selector % 3 {
        0 => "/?v=10&encoding=json",
        1 => "/?v=10&encoding=json&compress=zlib-stream",
        _ => "/?v=10&encoding=json&compress=zstd-stream",
    };
    let config = Arc::new(SessionConfig::default().with_heartbeat_interval_ms(1000));
    let mut session = Session::new(config, target, Micros(0));
    let mut now = Micros(0);
    let mut ended = 0;
    if selector & 0x10 != 0 {
        session.handle(
            now,
            Input::Message(br#"{"op":2,"d":{"token":"t","properties":{},"intents":513}}"#),
        );
        session.handle(
            now,
            Input::Identified(Box::new(Identity {
                user_id: 1,
                user_json: r#"{"id":"1"}"#.into(),
                application_id: 1,
                application_flags: 0,
                privileged_intents_granted: Intents::empty(),
                guild_ids: vec![1 << 22],
                session_nonce: 7,
            })),
        );
    }
    for message in rest.split(|b| *b == 0xff) {
        now = now.plus_ms(u64::from(message.first().copied().unwrap_or(0)));
        session.handle(now, Input::Message(message));
        while let Some(output) = session.poll() {
            match output {
                Output::SessionEnded { .. } => ended += 1,
                Output::Authenticate(_) => session.handle(now, Input::AuthenticationFailed),
                Output::Resume { .. } => session.handle(now, Input::ResumeNotFound),
                _ => {}
            }
        }
    }
    assert!(ended <= 1);
});
