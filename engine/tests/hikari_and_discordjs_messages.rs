//! hikari 2.7.0 and discord.js 14.28.1, unmodified, two bots each against the `flux`
//! binary: bot A sends a message to #general over REST, bot B receives it over the gateway
//! with its content (hikari over zlib-stream), A edits it and B sees the update, A deletes
//! it and B sees the delete; discord.js also reacts (B sees the reaction) and reads the
//! history newest first. Once per I/O backend.
//! Scripts: `clients/python/hikari_messages.py`, `clients/node/discordjs_messages.js`.

mod support;

use support::real_clients::{
    assert_identifies, assert_passed, interpreter, run_client, FluxProcess, Runtime,
};

fn hikari_bots_exchange_messages(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "hikari_messages") else {
        return;
    };
    let server = FluxProcess::spawn(io, "hikari-msg");
    let run = run_client(&python, "python/hikari_messages.py", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

fn discordjs_bots_exchange_messages(io: &str) {
    let Some(node) = interpreter(Runtime::Node, "discordjs_messages") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordjs-msg");
    let run = run_client(&node, "node/discordjs_messages.js", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn hikari_messages_epoll() {
    hikari_bots_exchange_messages("epoll");
}

#[test]
fn hikari_messages_io_uring() {
    hikari_bots_exchange_messages("uring");
}

#[test]
fn discordjs_messages_epoll() {
    discordjs_bots_exchange_messages("epoll");
}

#[test]
fn discordjs_messages_io_uring() {
    discordjs_bots_exchange_messages("uring");
}
