"""Unmodified discord.py against Flux: history over 250 messages, both directions.

Usage: discordpy_history_250.py <bootstrap.json>

The server runs with `--no-rest-rate-limits` (the test says why: 250 sends at Discord's
5 per 5 s per channel would take over four minutes). Checks:

1. Bot A sends 250 messages "history 000" … "history 249" to #general, one after another,
   so their order is the send order.
2. `channel.history(limit=None)` — discord.py pages backwards with `before=<oldest id of
   the previous page>`, 100 at a time (abc.py `_before_strategy`) — yields all 250 newest
   first: ids and contents exactly the sent list reversed, no gap, no duplicate.
3. `channel.history(limit=None, oldest_first=True)` — pages forwards with `after=`, starting
   at id 0 (abc.py `_after_strategy`, which takes the newest id of each page as the next
   `after` and reverses each page) — yields exactly the sent list in order.
4. `channel.history(limit=120, after=<message 99>, oldest_first=True)` yields messages
   100…219 (a bounded `after` crossing a page border).

Any failed check prints `FAIL: ...` and exits 1.
"""

import asyncio
import json
import sys
import time

import discord

from discordpy_support import Recorder, fail, make_client, point_at_flux, run_clients

COUNT = 250


def describe(messages):
    return [(m.id, m.content) for m in messages]


def check_same(label, got, expected):
    ids = [m.id for m in got]
    if len(set(ids)) != len(ids):
        fail(f"{label}: duplicates among {len(ids)} messages")
    if ids != [m.id for m in expected]:
        missing = sorted(set(m.id for m in expected) - set(ids))
        fail(f"{label}: {len(ids)} messages, {len(missing)} missing (first {missing[:5]}), order or ids differ")
    contents = [m.content for m in got]
    if contents != [m.content for m in expected]:
        fail(f"{label}: contents differ: {contents[:3]}…")
    print(f"{label}: {len(got)} messages, in order, no gap or duplicate", flush=True)


async def main(boot):
    point_at_flux(boot)
    channel_id = int(boot["text_channel_id"])
    client_a = make_client()
    seen_a = Recorder(client_a, [])

    async def flow():
        channel = client_a.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            fail(f"#general not in A's cache: {channel!r}")
        started = time.monotonic()
        sent = []
        for n in range(COUNT):
            sent.append(await channel.send(f"history {n:03}"))
        print(f"sent {COUNT} messages in {time.monotonic() - started:.1f} s", flush=True)
        if [m.id for m in sent] != sorted(m.id for m in sent):
            fail("ids of messages sent one after another do not increase")

        newest_first = [m async for m in channel.history(limit=None)]
        check_same("history(limit=None)", newest_first, list(reversed(sent)))

        oldest_first = [m async for m in channel.history(limit=None, oldest_first=True)]
        check_same("history(limit=None, oldest_first=True)", oldest_first, sent)

        window = [m async for m in channel.history(limit=120, after=sent[99], oldest_first=True)]
        check_same("history(limit=120, after=#99, oldest_first=True)", window, sent[100:220])

    await run_clients([(client_a, seen_a, boot["bots"][0]["token"])], flow)
    print(f"PASS: history pages backwards and forwards over {COUNT} messages", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
