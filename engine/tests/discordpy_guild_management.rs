//! The real discord.py 2.7.1, unmodified, drives guild management against the `flux`
//! binary and a second bot checks each change reaches it: channels (created hidden by an
//! overwrite, edited, shown; B's first event is CHANNEL_CREATE), roles, member roles and
//! nick, invites, member/channel/role listings, threads, kick, ban with its reason and
//! unban of a registered human, deletes, a DM and a rename. Once per I/O backend.
//!
//! What discord.py needed from the server is in the script's and the fixes' commits:
//! CHANNEL_CREATE for a member an overwrite lets view a channel, `colors.primary_color`
//! for role colours, and the ban reason from `X-Audit-Log-Reason`. The script is
//! `clients/python/discordpy_guild_management.py`; how the interpreter is found (and why
//! a missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use support::real_clients::{
    assert_identifies, assert_passed, interpreter, run_client, FluxProcess, Runtime,
};

fn guild_management(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_guild_management") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordpy-guild-management");
    let run = run_client(&python, "python/discordpy_guild_management.py", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

#[test]
fn guild_management_epoll() {
    guild_management("epoll");
}

#[test]
fn guild_management_io_uring() {
    guild_management("uring");
}
