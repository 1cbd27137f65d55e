//! Fuzz the member, role, ban and invite routes: path parsing, the body and query typed
//! (`member_request`, as the receiving core does) and the owner-side
//! operation on the demo guild (grown by one role and one invite).
//!
//! Input: byte 0 picks the method, byte 1 the caller (the owner, the other bot, or a
//! stranger); the rest is split at the first NUL into a path-and-query and a body. In
//! the path, `@g`, `@c`, `@u` and `@r` stand for the guild, its text channel, the
//! second bot and the extra role, so the fuzzer reaches the operations, not only the
//! parser.
//! Properties: nothing panics; an error leaves the guild unchanged; `changed` is true
//! exactly when the guild differs; a 204 has an empty body.
#![no_main]

use engine::rest::member_bodies::member_request;
use engine::rest::member_routes::member_route;
use engine::world::Refusal;
use engine::rest::Method;
use engine::world::guild_ops::{apply_member_route, OpContext, Reply};
use engine::world::{demo_world, Demo, Guild, Invite, Role, UserId};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const NOW: u64 = 1_700_000_000_000;

const METHODS: [Method; 6] = [
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Patch,
    Method::Delete,
    Method::Other,
];

fn fixture() -> &'static (Demo, Guild) {
    static FIXTURE: OnceLock<(Demo, Guild)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let demo = demo_world(NOW, [9; 32]).expect("the demo world builds");
        let mut guild = demo.world.guilds[0].clone();
        guild.roles.push(Role {
            id: engine::world::RoleId(guild.id.0 + 7),
            name: "mods".into(),
            color: 0,
            hoist: false,
            position: 1,
            permissions: 1 << 28,
            managed: false,
            mentionable: false,
            flags: 0,
        });
        guild.invites.push(Invite {
            code: "flux".into(),
            channel_id: demo.text_channel_id,
            inviter_id: demo.bots[0].user_id,
            created_at_unix_ms: NOW,
            max_age_s: 0,
            max_uses: 0,
            uses: 0,
            temporary: false,
        });
        (demo, guild)
    })
}

fuzz_target!(|data: &[u8]| {
    let [method, actor, rest @ ..] = data else {
        return;
    };
    let (target, body) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(target) = std::str::from_utf8(target) else {
        return;
    };
    let (demo, original) = fixture();
    let target = target
        .replace("@g", &original.id.to_string())
        .replace("@c", &demo.text_channel_id.to_string())
        .replace("@u", &demo.bots[1].user_id.to_string())
        .replace("@r", &(original.id.0 + 7).to_string());
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let method = METHODS[usize::from(*method) % METHODS.len()];
    let Some(Ok(route)) = member_route(method, path) else {
        return;
    };
    let actor = match actor % 3 {
        0 => demo.bots[0].user_id,
        1 => demo.bots[1].user_id,
        _ => UserId(12345),
    };
    let mut guild = original.clone();
    let mut id = NOW << 22;
    let mut next_id = || -> Result<u64, Refusal> {
        id += 1;
        Ok(id)
    };
    let mut random = || -> Result<u64, Refusal> { Ok(0x5EED) };
    let mut cx = OpContext {
        actor,
        now_unix_ms: NOW,
        users: &demo.world,
        online: &|_| false,
        next_id: &mut next_id,
        random: &mut random,
        voice_channel: &|_| None,
    };
    let request = member_request(&route, query, body);
    match apply_member_route(&mut guild, &route, &request, &mut cx) {
        Err(_) => assert_eq!(&guild, original, "an error changed the guild"),
        Ok(outcome) => {
            assert_eq!(outcome.changed, guild != *original);
            assert_eq!(outcome.body.is_empty(), outcome.reply == Reply::Done);
        }
    }
});
