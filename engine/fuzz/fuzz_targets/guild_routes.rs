//! Fuzz the guild, channel, overwrite and thread routes end to end on the owner's side:
//! route parsing (`guild_route`), the body and query typed (`guild_request`, as the
//! receiving core does), then the operation (`route_entry::apply`, or
//! `create_guild` for `POST /guilds`) on the demo guild.
//!
//! Input: the first byte picks a method, the second the caller (owner, member or a
//! stranger), the rest is split at the first NUL into a path-and-query and a body.
//! Properties: nothing panics; an operation that fails, or says it changed nothing,
//! leaves the guild exactly as it was.
#![no_main]

use engine::rest::guild_bodies::guild_request;
use engine::rest::guild_routes::{guild_route, GuildRoute};
use engine::rest::Method;
use engine::world::guild_ops::route_entry::{apply, create_guild};
use engine::world::guild_ops::{GuildRequest, OpContext};
use engine::world::{demo_world, ChannelId, Demo, GuildId, Refusal, UserId};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const METHODS: [Method; 6] = [
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Patch,
    Method::Delete,
    Method::Other,
];

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| demo_world(1_700_000_000_000, [9; 32]).expect("demo world"))
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
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let method = METHODS[usize::from(*method) % METHODS.len()];
    let Some(Ok(route)) = guild_route(method, path) else {
        return;
    };
    let demo = demo();
    let actor = match actor % 3 {
        0 => demo.bots[0].user_id,
        1 => demo.bots[1].user_id,
        _ => UserId(777),
    };
    let mut next = 1u64 << 40;
    let mut next_id = || {
        next += 1;
        Ok(next)
    };
    let mut random = || -> Result<u64, Refusal> { Ok(0x5EED) };
    let mut cx = OpContext {
        actor,
        now_unix_ms: 1_700_000_001_000,
        users: &demo.world,
        online: &|_| false,
        next_id: &mut next_id,
        random: &mut random,
        voice_channel: &|_| None,
    };
    let request = guild_request(&route, query, body);
    if route == GuildRoute::CreateGuild {
        if let GuildRequest::CreateGuild(form) = &request {
            let _ = create_guild(GuildId(1 << 41), form, &mut cx);
        }
        return;
    }
    // Aim channel and guild routes at the demo guild whatever ids the input names.
    let route = retarget(route, demo);
    let mut guild = demo.world.guilds[0].clone();
    match apply(&mut guild, &route, &request, &mut cx) {
        Err(_) => assert_eq!(guild, demo.world.guilds[0]),
        Ok(outcome) if !outcome.changed => assert_eq!(guild, demo.world.guilds[0]),
        Ok(_) => {}
    }
});

fn retarget(route: GuildRoute, demo: &Demo) -> GuildRoute {
    let guild = demo.guild_id;
    match route {
        GuildRoute::GetGuild(_) => GuildRoute::GetGuild(guild),
        GuildRoute::ModifyGuild(_) => GuildRoute::ModifyGuild(guild),
        GuildRoute::DeleteGuild(_) => GuildRoute::DeleteGuild(guild),
        GuildRoute::ListChannels(_) => GuildRoute::ListChannels(guild),
        GuildRoute::CreateChannel(_) => GuildRoute::CreateChannel(guild),
        GuildRoute::ModifyChannelPositions(_) => GuildRoute::ModifyChannelPositions(guild),
        GuildRoute::ActiveThreads(_) => GuildRoute::ActiveThreads(guild),
        // A small channel id names one of the demo's channels (the fuzzer cannot guess
        // snowflakes); others stay unknown channels.
        GuildRoute::GetChannel(id) => GuildRoute::GetChannel(channel(id, demo)),
        GuildRoute::ModifyChannel(id) => GuildRoute::ModifyChannel(channel(id, demo)),
        GuildRoute::DeleteChannel(id) => GuildRoute::DeleteChannel(channel(id, demo)),
        GuildRoute::PutOverwrite(id, target) => GuildRoute::PutOverwrite(channel(id, demo), target),
        GuildRoute::DeleteOverwrite(id, target) => {
            GuildRoute::DeleteOverwrite(channel(id, demo), target)
        }
        GuildRoute::StartThreadFromMessage(id, message) => {
            GuildRoute::StartThreadFromMessage(channel(id, demo), message)
        }
        GuildRoute::StartThread(id) => GuildRoute::StartThread(channel(id, demo)),
        GuildRoute::JoinThread(id) => GuildRoute::JoinThread(channel(id, demo)),
        GuildRoute::LeaveThread(id) => GuildRoute::LeaveThread(channel(id, demo)),
        GuildRoute::CreateGuild => GuildRoute::CreateGuild,
    }
}

fn channel(id: ChannelId, demo: &Demo) -> ChannelId {
    let channels = &demo.world.guilds[0].channels;
    match usize::try_from(id.0) {
        Ok(index) if index < 16 && !channels.is_empty() => channels[index % channels.len()].id,
        _ => id,
    }
}
