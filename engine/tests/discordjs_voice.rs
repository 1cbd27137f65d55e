//! Two real libraries in one voice channel against the `flux` binary: discord.js 14.28.1
//! with @discordjs/voice 0.19.2 joins, reaches `VoiceConnectionStatus.Ready` over Flux's
//! voice gateway (TLS, v8) and UDP, and plays an Opus stream; discord.py 2.7.1 with
//! discord-ext-voice-recv, in the same channel, receives every frame decrypted with its
//! own key, in order. Once per I/O backend.
//!
//! The scripts are `clients/node/discordjs_voice_play.js` and
//! `clients/python/discordpy_voice_receive.py`; how the interpreters are found (and why a
//! missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use support::real_clients::{assert_passed, interpreter, spawn_client, FluxProcess, Runtime};

fn discordjs_plays_to_discordpy(io: &str) {
    let (Some(python), Some(node)) = (
        interpreter(Runtime::Python, "discordjs_voice"),
        interpreter(Runtime::Node, "discordjs_voice"),
    ) else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordjs-voice");
    let cert = server.data_dir().join("tls").join("cert.pem");
    let done = server.data_dir().join("receiver-done");
    let receiver = spawn_client(
        &python,
        "python/discordpy_voice_receive.py",
        &server,
        &[cert.as_os_str(), done.as_os_str()],
        &[],
    );
    let player = spawn_client(
        &node,
        "node/discordjs_voice_play.js",
        &server,
        &[done.as_os_str()],
        &[("NODE_EXTRA_CA_CERTS", cert.as_os_str())],
    );
    let heard = receiver.wait(&server);
    let played = player.wait(&server);
    assert_passed(&heard);
    assert_passed(&played);
    assert!(
        played.stdout.contains("voice connection Ready"),
        "{}",
        played.stdout
    );
}

#[test]
fn discordjs_voice_epoll() {
    discordjs_plays_to_discordpy("epoll");
}

#[test]
fn discordjs_voice_io_uring() {
    discordjs_plays_to_discordpy("uring");
}
