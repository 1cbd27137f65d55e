//! Arbitrary client messages against the voice gateway: the decoder alone, then a live
//! voice session that is admitted and keyed as soon as it asks. Nothing may panic, and
//! nothing follows a close.
#![no_main]

use engine::voice::payload::decode_client;
use engine::voice::{VoiceInput, VoiceOutput, VoiceSession, VoiceSessionConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_client(data);
    let mut session = VoiceSession::new(VoiceSessionConfig::default(), 0);
    let mut closed = false;
    for (now, message) in data.split(|b| *b == 0xFF).enumerate() {
        session.handle(now as u64, VoiceInput::Message(message));
        while let Some(output) = session.poll() {
            assert!(!closed, "an output after Close");
            match output {
                VoiceOutput::Close(_) => closed = true,
                VoiceOutput::Identify(_) => session.handle(
                    now as u64,
                    VoiceInput::Admitted { ssrc: 1, ip: "127.0.0.1", port: 1 },
                ),
                VoiceOutput::SelectProtocol(select) => session.handle(
                    now as u64,
                    VoiceInput::Keyed { mode: &select.mode, secret_key: [0; 32] },
                ),
                VoiceOutput::Resume(_) => {
                    session.handle(now as u64, VoiceInput::Reattached { seq_ack: None })
                }
                _ => {}
            }
        }
    }
});
