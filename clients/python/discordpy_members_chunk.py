"""Unmodified discord.py against Flux: the members intent does not delay on_ready.

Usage: discordpy_members_chunk.py <bootstrap.json> startup|request

Both bots identify with the privileged GUILD_MEMBERS intent, so discord.py's default
`chunk_guilds_at_startup` is on: for a guild it does not consider chunked
(`guild.member_count != len(guild.members)`, guild.py `Guild.chunked`) it sends op 8
REQUEST_GUILD_MEMBERS and holds `on_ready` until the GUILD_MEMBERS_CHUNKs arrive, or for
`max(5, member_count / 10000)` seconds (state.py `_chunk_timeout`) if they never do.

startup: from READY (discord.py's `on_connect`) to `on_ready` takes well under that
         timeout (< 3 s, with `guild_ready_timeout=0.2`), discord.py logs no "timed out
         waiting for chunks" warning, and the guild is chunked: `guild.chunked` is True
         and `len(guild.members) == guild.member_count`, each bot's member present.
request: additionally asks explicitly over op 8: `guild.chunk()` (query "", limit 0),
         `guild.query_members(query="flux-bot")` and `guild.query_members(user_ids=[B])`
         each answer within 5 s with the right members (needs op 8 → GUILD_MEMBERS_CHUNK).

Any failed check prints `FAIL: ...` and exits 1.
"""

import asyncio
import json
import logging
import sys
import time

from discordpy_support import Recorder, fail, make_client, point_at_flux, run_clients

READY_WITHIN_S = 3.0
CHUNK_WITHIN_S = 5.0


class ChunkTimeouts(logging.Handler):
    """Collects discord.py's warnings that a chunk request timed out (state.py)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.seen = []

    def emit(self, record):
        if "timed out waiting for chunks" in record.getMessage():
            self.seen.append(record.getMessage())


async def main(boot, mode):
    point_at_flux(boot)
    guild_id = int(boot["guild_id"])
    bot_ids = sorted(int(bot["id"]) for bot in boot["bots"])
    b_id = int(boot["bots"][1]["id"])
    client_a, client_b = make_client(members=True), make_client(members=True)
    for client in (client_a, client_b):
        if not client._connection._chunk_guilds:
            fail("chunk_guilds_at_startup is off with the members intent")
    seen_a, seen_b = Recorder(client_a, []), Recorder(client_b, [])
    chunk_timeouts = ChunkTimeouts()
    logging.getLogger("discord.state").addHandler(chunk_timeouts)
    started = time.monotonic()

    async def flow():
        for label, client, seen in (("A", client_a, seen_a), ("B", client_b, seen_b)):
            if seen.connect_at is None:
                fail(f"{label}: on_ready without on_connect")
            took = seen.ready_at - seen.connect_at
            if took >= READY_WITHIN_S:
                fail(f"{label}'s on_ready came {took:.2f} s after READY (chunk timeout: {CHUNK_WITHIN_S} s)")
            guild = client.get_guild(guild_id)
            if guild is None:
                fail(f"{label} has no guild at on_ready")
            if not guild.chunked or len(guild.members) != guild.member_count:
                fail(f"{label}: chunked={guild.chunked} members={len(guild.members)} count={guild.member_count}")
            if sorted(m.id for m in guild.members) != bot_ids:
                fail(f"{label}: members {[m.id for m in guild.members]} != {bot_ids}")
            print(
                f"{label}: on_ready {took:.2f} s after READY ({seen.ready_at - started:.2f} s after "
                f"start), {len(guild.members)} members cached",
                flush=True,
            )
        if chunk_timeouts.seen:
            fail(f"discord.py timed out waiting for chunks: {chunk_timeouts.seen}")
        if mode != "request":
            return

        guild = client_b.get_guild(guild_id)
        try:
            chunked = await asyncio.wait_for(guild.chunk(), CHUNK_WITHIN_S)
            by_name = await asyncio.wait_for(guild.query_members(query="flux-bot", limit=10), CHUNK_WITHIN_S)
            by_id = await asyncio.wait_for(guild.query_members(user_ids=[b_id]), CHUNK_WITHIN_S)
        except asyncio.TimeoutError:
            fail("no GUILD_MEMBERS_CHUNK answered op 8 within 5 s")
        if sorted(m.id for m in chunked) != bot_ids:
            fail(f"guild.chunk() gave {[m.id for m in chunked]}")
        if sorted(m.id for m in by_name) != bot_ids:
            fail(f"query_members(query='flux-bot') gave {[m.id for m in by_name]}")
        if [m.id for m in by_id] != [b_id]:
            fail(f"query_members(user_ids=[B]) gave {[m.id for m in by_id]}")
        print("op 8 answered chunk(), a name query and an id query", flush=True)

    await run_clients(
        [
            (client_a, seen_a, boot["bots"][0]["token"]),
            (client_b, seen_b, boot["bots"][1]["token"]),
        ],
        flow,
    )
    print(f"PASS: members {mode}", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    if len(sys.argv) != 3 or sys.argv[2] not in ("startup", "request"):
        fail("usage: discordpy_members_chunk.py <bootstrap.json> startup|request")
    asyncio.run(main(bootstrap, sys.argv[2]))
