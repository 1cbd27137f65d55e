//! Real clients, unmodified, against the `flux` binary, for gateway op 8 (member chunks)
//! and op 3 (presence). Once per I/O backend.
//!
//! - discord.py 2.7.1 (`clients/python/discordpy_presence_chunks.py`): a bot with the
//!   members and presences intents reaches `on_ready` promptly with its guild `chunked`;
//!   `guild.chunk()` and `guild.query_members` are answered; another bot's
//!   `change_presence` reaches it as `on_presence_update`, idle and then invisible (seen
//!   as offline).
//! - discord.js 14.28.1 (`clients/node/discordjs_presence_chunks.js`): `members.fetch()`
//!   (all, and by id) and `presenceUpdate`, idle and then offline.
//!
//! How the interpreters are found (and why a missing one fails under CI) is in
//! `support/real_clients.rs`.

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

fn discordjs_fetches_members_and_sees_presence(io: &str) {
    let Some(node) = interpreter(Runtime::Node, "discordjs_presence_chunks") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordjs-presence");
    let run = run_client(&node, "node/discordjs_presence_chunks.js", &server);
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

#[test]
fn discordjs_presence_chunks_epoll() {
    discordjs_fetches_members_and_sees_presence("epoll");
}

#[test]
fn discordjs_presence_chunks_io_uring() {
    discordjs_fetches_members_and_sees_presence("uring");
}
