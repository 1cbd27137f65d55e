//! The real discord.py 2.7.1, unmodified, against the `flux` binary: a bot with the
//! members and presences intents reaches `on_ready` promptly with its guild `chunked`;
//! `guild.chunk()` and `guild.query_members` (gateway op 8) are answered; another bot's
//! `change_presence` (op 3) reaches it as `on_presence_update`, idle and then invisible
//! (seen as offline). Once per I/O backend.
//!
//! The script is `clients/python/discordpy_presence_chunks.py`; how the interpreter is
//! found (and why a missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use support::real_clients::{
    assert_identifies, assert_passed, interpreter, run_client, FluxProcess, Runtime,
};

fn discordpy_chunks_members_and_sees_presence(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_presence_chunks") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordpy-presence");
    let run = run_client(&python, "python/discordpy_presence_chunks.py", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn discordpy_presence_chunks_epoll() {
    discordpy_chunks_members_and_sees_presence("epoll");
}

#[test]
fn discordpy_presence_chunks_io_uring() {
    discordpy_chunks_members_and_sees_presence("uring");
}
