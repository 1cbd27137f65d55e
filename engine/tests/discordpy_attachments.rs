//! The real discord.py 2.7.1, unmodified, against the `flux` binary: A sends two
//! `discord.File`s (multipart `payload_json` + `files[n]`), `Attachment.read()` downloads
//! each back byte-identical from its `url`, B's `on_message` sees them, and
//! `TextChannel.delete_messages` (bulk delete) reaches B's `on_raw_bulk_message_delete`.
//! Once per I/O backend.
//!
//! The script is `clients/python/discordpy_attachments.py`; how the interpreter is found
//! (and why a missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use support::real_clients::{
    assert_identifies, assert_passed, interpreter, run_client, FluxProcess, Runtime,
};

fn discordpy_sends_files_and_bulk_deletes(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_attachments") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordpy-files");
    let run = run_client(&python, "python/discordpy_attachments.py", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn discordpy_attachments_epoll() {
    discordpy_sends_files_and_bulk_deletes("epoll");
}

#[test]
fn discordpy_attachments_io_uring() {
    discordpy_sends_files_and_bulk_deletes("uring");
}
