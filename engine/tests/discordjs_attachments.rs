//! The real discord.js 14, unmodified, against the `flux` binary: A sends two files
//! (undici's multipart writer), each attachment URL downloads back byte-identical, B's
//! messageCreate carries them, and `channel.bulkDelete` reaches B's messageDeleteBulk.
//! Once per I/O backend.
//!
//! The script is `clients/node/discordjs_attachments.js`; how node is found (and why a
//! missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use support::real_clients::{
    assert_identifies, assert_passed, interpreter, run_client, FluxProcess, Runtime,
};

fn discordjs_sends_files_and_bulk_deletes(io: &str) {
    let Some(node) = interpreter(Runtime::Node, "discordjs_attachments") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordjs-files");
    let run = run_client(&node, "node/discordjs_attachments.js", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn discordjs_attachments_epoll() {
    discordjs_sends_files_and_bulk_deletes("epoll");
}

#[test]
fn discordjs_attachments_io_uring() {
    discordjs_sends_files_and_bulk_deletes("uring");
}
