//! discord.js 14.28.1 and hikari 2.7.0, unmodified, drive guild management against the
//! `flux` binary. Once per I/O backend.
//!
//! - discord.js (`clients/node/discordjs_guild_management.js`): bot A creates a channel
//!   hidden from bot B, edits it, shows it to B with `permissionOverwrites.edit` (B's
//!   `channelCreate` comes only then), creates/edits/deletes a role, adds and removes it
//!   on B (B's `guildMemberUpdate`), creates and fetches an invite, lists members over
//!   REST and the gateway, starts a thread from a message (B's `threadCreate`), DMs B
//!   (B's `messageCreate` in a DM: needs MESSAGE_CREATE's `channel_type`) and deletes
//!   the channel and role (B's `channelDelete` / `roleDelete`).
//! - hikari (`clients/python/hikari_guild_management.py`): the REST client only; every
//!   guild-management answer (channels, overwrites, roles, members, invites, the guild,
//!   threads, a DM, bans) deserialises into hikari's strict models with the values asked.
//!
//! How the interpreters are found (and why a missing one fails under CI) is in
//! `support/real_clients.rs`.

mod support;

use support::real_clients::{
    assert_identifies, assert_passed, interpreter, run_client, FluxProcess, Runtime,
};

fn discordjs_guild_management(io: &str) {
    let Some(node) = interpreter(Runtime::Node, "discordjs_guild_management") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordjs-guild-management");
    let run = run_client(&node, "node/discordjs_guild_management.js", &server);
    assert_passed(&run);
    assert_identifies(&server, 2);
}

fn hikari_guild_management(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "hikari_guild_management") else {
        return;
    };
    let server = FluxProcess::spawn(io, "hikari-guild-management");
    let run = run_client(&python, "python/hikari_guild_management.py", &server);
    assert_passed(&run);
}

#[test]
fn discordjs_guild_management_epoll() {
    discordjs_guild_management("epoll");
}

#[test]
fn discordjs_guild_management_io_uring() {
    discordjs_guild_management("uring");
}

#[test]
fn hikari_guild_management_epoll() {
    hikari_guild_management("epoll");
}

#[test]
fn hikari_guild_management_io_uring() {
    hikari_guild_management("uring");
}
