//! The real discord.py 2.7.1, unmodified, against the `flux` binary: two bots in one
//! script; A sends, edits and deletes a message in #general and B sees each (on_message,
//! on_raw_message_edit, on_raw_message_delete); `channel.history` is newest first. Once
//! per I/O backend.
//!
//! The script is `clients/python/discordpy_messages.py`; how the interpreter is found (and
//! why a missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use support::real_clients::{
    assert_identifies, assert_passed, interpreter, run_client, FluxProcess, Runtime,
};

fn discordpy_bots_exchange_messages(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_messages") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordpy-msg");
    let run = run_client(&python, "python/discordpy_messages.py", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn discordpy_messages_epoll() {
    discordpy_bots_exchange_messages("epoll");
}

#[test]
fn discordpy_messages_io_uring() {
    discordpy_bots_exchange_messages("uring");
}
