"""Unmodified discord.py against a running Flux: member chunking (op 8) and presence (op 3).

Usage: discordpy_presence_chunks.py <bootstrap.json>

Only the library's two documented base-URL class attributes are changed (CLIENTS.md §1.1). Two
bots run in one event loop. The script checks, in order:

1. Bot B (members and presences intents on, so discord.py chunks guilds at startup) reaches
   `on_ready` within 10 s, and the demo guild is `chunked`.
2. `guild.chunk()` (op 8, query "", limit 0, guild_id as a number), `guild.query_members` by
   a username prefix with presences, and by user id: each returns the expected members.
3. Bot A (no presences intent) connects and calls `change_presence(idle, Game("chess"))`
   (op 3); B's `on_presence_update` sees A idle playing chess.
4. A goes invisible; B's `on_presence_update` sees A offline. (Not by closing A: discord.py's
   `close()` reaches the server as close code 4000, which keeps the session resumable, and a
   resumable session keeps its user online until it expires, as on Discord.)

Any failed check prints `FAIL: ...` and exits 1. Each wait is bounded by 30 s.
"""

import asyncio
import json
import sys
import time

import discord
import yarl

TIMEOUT_S = 30


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


async def wait_for(event, runners, what):
    """Wait for `event`, failing at once if a `client.start` ended (it raised) meanwhile."""
    waiter = asyncio.ensure_future(event.wait())
    done, _ = await asyncio.wait({waiter, *runners}, timeout=TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        for runner in runners:
            if runner in done:
                error = runner.exception() if not runner.cancelled() else "cancelled"
                fail(f"client.start ended before {what}: {error!r}")
        fail(f"timed out waiting for {what}")


async def main(boot):
    discord.http.Route.BASE = boot["base_url"] + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(boot["gateway_url"] + "/")
    bot_a, bot_b = boot["bots"][0], boot["bots"][1]
    a_id, guild_id = int(bot_a["id"]), int(boot["guild_id"])

    intents_b = discord.Intents.default()
    intents_b.members = True
    intents_b.presences = True
    b = discord.Client(intents=intents_b, guild_ready_timeout=0.2)
    a = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.2)
    b_ready, a_ready, a_idle, a_offline = (asyncio.Event() for _ in range(4))

    @b.event
    async def on_ready():
        b_ready.set()

    @a.event
    async def on_ready():  # noqa: F811 (one handler per client)
        a_ready.set()

    @b.event
    async def on_presence_update(before, after):
        if after.id != a_id:
            return
        print(f"presence of A: {after.status} {after.activity!r}", flush=True)
        if after.status == discord.Status.idle and after.activity and after.activity.name == "chess":
            a_idle.set()
        if after.status == discord.Status.offline:
            a_offline.set()

    started = time.monotonic()
    runner_b = asyncio.create_task(b.start(bot_b["token"]))
    runners = [runner_b]
    try:
        await wait_for(b_ready, runners, "B on_ready")
        took = time.monotonic() - started
        guild = b.get_guild(guild_id)
        if guild is None:
            fail("demo guild not in B's cache")
        print(f"B ready after {took:.2f}s, chunked={guild.chunked}, members={len(guild.members)}", flush=True)
        if took > 10:
            fail(f"on_ready took {took:.1f}s: member chunking held it up")
        if not guild.chunked:
            fail("the demo guild is not chunked after on_ready")

        members = await asyncio.wait_for(guild.chunk(), TIMEOUT_S)
        if sorted(m.id for m in members) != sorted(int(bot["id"]) for bot in boot["bots"]):
            fail(f"guild.chunk() returned {members!r}")
        prefix = bot_a["username"].upper()
        found = await guild.query_members(query=prefix, limit=5, presences=True)
        if [m.id for m in found] != [a_id]:
            fail(f"query_members({prefix!r}) returned {found!r}")
        by_id = await guild.query_members(user_ids=[a_id])
        if [m.id for m in by_id] != [a_id]:
            fail(f"query_members(user_ids) returned {by_id!r}")
        print(f"chunks: chunk()={len(members)} query={len(found)} ids={len(by_id)}", flush=True)

        runner_a = asyncio.create_task(a.start(bot_a["token"]))
        runners.append(runner_a)
        await wait_for(a_ready, runners, "A on_ready")
        await a.change_presence(status=discord.Status.idle, activity=discord.Game("chess"))
        await wait_for(a_idle, runners, "B sees A idle playing chess")
        await a.change_presence(status=discord.Status.invisible)
        await wait_for(a_offline, runners, "B sees A offline (invisible)")
        await asyncio.wait_for(a.close(), 10)
        runners.remove(runner_a)
        await asyncio.wait_for(runner_a, 10)
    finally:
        if not a.is_closed():
            await asyncio.wait_for(a.close(), 10)
        await asyncio.wait_for(b.close(), 10)
    await asyncio.wait_for(runner_b, 10)
    print("PASS: prompt on_ready, chunked guild, chunk/query_members answered, presence idle then invisible", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
