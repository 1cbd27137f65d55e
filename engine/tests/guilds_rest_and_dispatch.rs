//! Guild state end to end over real sockets on two cores: routes that read or change a
//! guild are answered by its owner core (after the change is durable), every core's
//! replica follows, and the dispatches reach exactly the sessions allowed to see them.
//! Requests go over fresh connections, which land on either core, so both the owner
//! and the forwarding path are exercised. Every test runs once per I/O backend.

mod support;

use support::rest::call;
use support::{assert_error, start_flux};

fn current_user_guilds_lists_the_demo_guild_with_the_callers_view(io: engine::IoBackend) {
    let server = start_flux(io, |_| {});
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (token_a, token_b) = (&boot.bots[0].token, &boot.bots[1].token);
    for _ in 0..4 {
        let owner = call(addr, "GET", "/api/v10/users/@me/guilds", token_a, None);
        assert_eq!(owner.status, 200, "{owner:?}");
        assert_eq!(owner.header("content-type"), Some("application/json"));
        let guilds = owner.json();
        assert_eq!(guilds.as_array().unwrap().len(), 1);
        assert_eq!(guilds[0]["id"], boot.guild_id);
        assert_eq!(guilds[0]["name"], "Flux");
        assert_eq!(guilds[0]["owner"], true);
        // The owner has every permission: all 64-bit documented bits as a decimal string.
        let bits: u64 = guilds[0]["permissions"].as_str().unwrap().parse().unwrap();
        assert_ne!(bits & 0x8, 0, "ADMINISTRATOR is among the owner's bits");
    }
    let member = call(addr, "GET", "/api/v10/users/@me/guilds", token_b, None).json();
    assert_eq!(member[0]["owner"], false);
    let bits: u64 = member[0]["permissions"].as_str().unwrap().parse().unwrap();
    assert_eq!(bits & 0x8, 0, "B is no administrator");
    assert_ne!(bits & 0x400, 0, "B may view channels (@everyone default)");

    let anonymous = call(
        addr,
        "GET",
        "/api/v10/users/@me/guilds",
        "not-a-token",
        None,
    );
    assert_error(&anonymous, 401, 0);
}
both_backends!(
    current_user_guilds,
    current_user_guilds_lists_the_demo_guild_with_the_callers_view
);
