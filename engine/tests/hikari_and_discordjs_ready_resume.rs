//! hikari 2.7.0 and discord.js 14.28.1, unmodified, against the `flux` binary: each
//! reaches ready with the demo guild and both channels cached, resumes after Flux drops
//! every gateway connection (one IDENTIFY, then a RESUME), and shuts down cleanly. Once
//! per I/O backend.
//!
//! hikari is the strict one: zlib-stream BINARY frames only, BINARY frames from the client,
//! a Discord-shaped token, every documented guild field (CLIENTS.md §0.3, §0.4, §0.8, §5).
//! discord.js finds the gateway through `GET /gateway/bot`, waits for every guild's
//! GUILD_CREATE, and closes with 4200 before it resumes (CLIENTS.md §2).

mod support;

use support::real_clients::{
    assert_ready_then_resumed, interpreter, run_client, FluxProcess, Runtime,
};

fn hikari_reaches_ready_and_resumes(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "hikari_ready_resume") else {
        return;
    };
    let server = FluxProcess::spawn(io, "hikari");
    let run = run_client(&python, "python/hikari_ready_resume.py", &server);
    assert_ready_then_resumed(&run, &server);
}

fn discordjs_reaches_ready_and_resumes(io: &str) {
    let Some(node) = interpreter(Runtime::Node, "discordjs_ready_resume") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordjs");
    let run = run_client(&node, "node/discordjs_ready_resume.js", &server);
    assert_ready_then_resumed(&run, &server);
}

#[test]
fn hikari_ready_resume_epoll() {
    hikari_reaches_ready_and_resumes("epoll");
}

#[test]
fn hikari_ready_resume_io_uring() {
    hikari_reaches_ready_and_resumes("uring");
}

#[test]
fn discordjs_ready_resume_epoll() {
    discordjs_reaches_ready_and_resumes("epoll");
}

#[test]
fn discordjs_ready_resume_io_uring() {
    discordjs_reaches_ready_and_resumes("uring");
}
