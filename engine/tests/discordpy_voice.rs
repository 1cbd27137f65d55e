//! The real discord.py 2.7.1 with its voice extra (PyNaCl, davey) and the real receiving
//! extension discord-ext-voice-recv, unmodified, against the `flux` binary: bot A plays
//! Opus frames into the demo voice channel over Flux's voice gateway (TLS, v8) and UDP;
//! bot B, in the same channel, receives every frame decrypted with its own key, in order,
//! and a speaking event for A; bot C, in another voice channel, receives nothing. C is a
//! third bot made offline with `flux admin create-bot` and `add-member`.
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
    let mut token_c = String::new();
    let server = FluxProcess::spawn_prepared(io, "discordpy-voice", |data_dir| {
        let created = FluxProcess::admin(data_dir, &["create-bot", "voice-c"]);
        let field = |name: &str| {
            created
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim().to_owned())
                .unwrap_or_else(|| panic!("{name} in {created}"))
        };
        token_c = field("token:");
        let bootstrap: serde_json::Value =
            serde_json::from_slice(&std::fs::read(data_dir.join("bootstrap.json")).unwrap())
                .unwrap();
        let guild = bootstrap["guild_id"].as_str().unwrap();
        FluxProcess::admin(data_dir, &["add-member", guild, &field("user_id:")]);
    });
    let cert = server.data_dir().join("tls").join("cert.pem");
    let token_c = std::ffi::OsString::from(token_c);
    let run = run_client_with(
        &python,
        "python/discordpy_voice.py",
        &server,
        &[cert.as_os_str(), &token_c],
    );
    assert_passed(&run);
    assert!(
        run.stdout
            .contains("B heard all 50 frames of A in order; C, elsewhere, heard none"),
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
