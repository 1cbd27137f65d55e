//! The real discord.py 2.7.1 with its voice extra (PyNaCl, davey) and the real receiving
//! extension discord-ext-voice-recv, unmodified, against the `flux` binary: bot A plays
//! Opus frames into the demo voice channel over Flux's voice gateway (TLS, v8) and UDP;
//! bot B, in the same channel, receives every frame decrypted with its own key, in order,
//! and a speaking event for A; while B listens in another voice channel it receives nothing.
//! Once per I/O backend.
//!
//! The script is `clients/python/discordpy_voice.py`; how the interpreter is found (and
//! why a missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use support::real_clients::{assert_passed, interpreter, run_client_with, FluxProcess, Runtime};

fn discordpy_voice_reaches_the_channel(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_voice") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordpy-voice");
    let cert = server.data_dir().join("tls").join("cert.pem");
    let run = run_client_with(
        &python,
        "python/discordpy_voice.py",
        &server,
        &[cert.as_os_str()],
    );
    assert_passed(&run);
    assert!(
        run.stdout
            .contains("B heard all 50 frames of A in order, and none from another channel"),
        "{}",
        run.stdout
    );
}

#[test]
fn discordpy_voice_epoll() {
    discordpy_voice_reaches_the_channel("epoll");
}

#[test]
fn discordpy_voice_io_uring() {
    discordpy_voice_reaches_the_channel("uring");
}
