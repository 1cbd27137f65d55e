//! The real discord.py 2.7.1, unmodified, against the `flux` binary: intents, history,
//! permissions and restarts, beyond the everyday flow of `discordpy_messages.rs`. Each
//! runs once per I/O backend:
//!
//! - `message_content_*`: a bot without MESSAGE_CONTENT receives messages (and edits) with
//!   empty content and embeds, except a message that mentions it. The `attachments`
//!   variant also sends files (multipart) and reads one back from its URL.
//! - `history_250_*`: `channel.history(limit=None)` pages backwards and
//!   `oldest_first=True` pages forwards over 250 messages, in order, no gap or duplicate.
//!   The server runs with `--no-rest-rate-limits`: Discord's bucket (5 messages per 5 s per
//!   channel per user, which Flux enforces) would make 250 sends take over four minutes.
//!   discord.py does honour the bucket; `restart_*` sends past it with limits on.
//! - `forbidden_*`: a bot without VIEW_CHANNEL on the demo's #staff gets `discord.Forbidden`
//!   (50001) for send, history and fetch, and no event from #staff, shown against a later
//!   #general message it does receive.
//! - `restart_*`: what the bots read (messages, edit, reaction, pin) is the same after the
//!   process is SIGKILLed and restarted on its data dir, read by fresh discord.py sessions.
//! - `members_chunk_*`: with the members intent (discord.py chunks guilds at startup),
//!   `on_ready` comes promptly and the guild is chunked; the `request` variant asks over
//!   op 8 explicitly and waits for GUILD_MEMBERS_CHUNK.
//!
//! The scripts are `clients/python/discordpy_*.py`; how the interpreter is found (and why a
//! missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use std::ffi::OsStr;

use support::real_clients::{
    assert_identifies, assert_passed, interpreter, run_client, run_client_with, FluxProcess,
    Runtime,
};

fn message_content(io: &str, extra_args: &[&OsStr]) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_message_content") else {
        return;
    };
    // One data dir per test: the label tells the variants apart.
    let label = format!("discordpy-content{}", extra_args.len());
    let server = FluxProcess::spawn(io, &label);
    let script = "python/discordpy_message_content.py";
    let run = run_client_with(&python, script, &server, extra_args);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn message_content_epoll() {
    message_content("epoll", &[]);
}

#[test]
fn message_content_io_uring() {
    message_content("uring", &[]);
}

#[test]
fn message_content_attachments_epoll() {
    message_content("epoll", &[OsStr::new("attachments")]);
}

#[test]
fn message_content_attachments_io_uring() {
    message_content("uring", &[OsStr::new("attachments")]);
}

fn history_250(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_history_250") else {
        return;
    };
    let server = FluxProcess::spawn_with(io, "discordpy-history", &["--no-rest-rate-limits"]);
    let run = run_client(&python, "python/discordpy_history_250.py", &server);
    assert_passed(&run);
}

#[test]
fn history_250_epoll() {
    history_250("epoll");
}

#[test]
fn history_250_io_uring() {
    history_250("uring");
}

fn forbidden(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_forbidden") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordpy-forbidden");
    let run = run_client(&python, "python/discordpy_forbidden.py", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn forbidden_epoll() {
    forbidden("epoll");
}

#[test]
fn forbidden_io_uring() {
    forbidden("uring");
}

fn restart(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_restart") else {
        return;
    };
    let mut server = FluxProcess::spawn(io, "discordpy-restart");
    let record = std::env::temp_dir().join(format!(
        "flux-discordpy-restart-{}-{io}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&record);
    let script = "python/discordpy_restart.py";
    let write = run_client_with(
        &python,
        script,
        &server,
        &[OsStr::new("write"), record.as_os_str()],
    );
    assert_passed(&write);
    assert!(record.exists(), "the first run recorded its history");

    server.kill_and_restart();
    let read = run_client_with(
        &python,
        script,
        &server,
        &[OsStr::new("read"), record.as_os_str()],
    );
    let _ = std::fs::remove_file(&record);
    assert_passed(&read);
    // Two IDENTIFYs per run: the second process's sessions are new ones.
    assert_identifies(&server, 4);
}

#[test]
fn restart_epoll() {
    restart("epoll");
}

#[test]
fn restart_io_uring() {
    restart("uring");
}

fn members_chunk(io: &str, mode: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_members_chunk") else {
        return;
    };
    let server = FluxProcess::spawn(io, &format!("discordpy-members-{mode}"));
    let run = run_client_with(
        &python,
        "python/discordpy_members_chunk.py",
        &server,
        &[OsStr::new(mode)],
    );
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn members_chunk_startup_epoll() {
    members_chunk("epoll", "startup");
}

#[test]
fn members_chunk_startup_io_uring() {
    members_chunk("uring", "startup");
}

#[test]
fn members_chunk_request_epoll() {
    members_chunk("epoll", "request");
}

#[test]
fn members_chunk_request_io_uring() {
    members_chunk("uring", "request");
}
