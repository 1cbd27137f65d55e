"""Unmodified discord.py against Flux: the history bots read survives SIGKILL.

Usage: discordpy_restart.py <bootstrap.json> write <record.json>
       discordpy_restart.py <bootstrap.json> read <record.json>

The test runs `write`, kills the `flux` process with SIGKILL, restarts it on the same data
dir and port, and runs `read` in a fresh interpreter (new gateway sessions, empty caches).

write: bot A sends COUNT messages to #general — more than the 5 per 5 s bucket, so
discord.py also waits out the server's rate limit headers — edits one, reacts 👍 to one
and pins one; then reads `channel.history(limit=None, oldest_first=True)` and
`channel.pins()` and records what it saw (ids, contents, edited, pinned, reactions).

read: bots A and B each read `channel.history(limit=None, oldest_first=True)` and the
newest-first `channel.history(limit=None)` and `channel.pins()`; each must equal the record
exactly (ids, contents, order, edit, pin, reaction). Then A sends one more message, whose
id is larger than every recorded one (the Snowflake generator resumed past the store).

Any failed check prints `FAIL: ...` and exits 1.
"""

import asyncio
import json
import sys
import time

import discord

from discordpy_support import Recorder, fail, make_client, point_at_flux, run_clients

COUNT = 8


def snapshot(messages):
    return [
        {
            "id": str(m.id),
            "content": m.content,
            "author": str(m.author.id),
            "edited": m.edited_at is not None,
            "pinned": m.pinned,
            "reactions": sorted((str(r.emoji), r.count) for r in m.reactions),
        }
        for m in messages
    ]


async def write(channel, record_path):
    started = time.monotonic()
    sent = []
    for n in range(COUNT):
        sent.append(await channel.send(f"before the kill {n}"))
    # Past the fifth send discord.py waits for the bucket the server's headers describe.
    print(f"sent {COUNT} messages in {time.monotonic() - started:.1f} s", flush=True)
    await sent[2].edit(content="before the kill 2 (edited)")
    await sent[3].add_reaction("\N{THUMBS UP SIGN}")
    await sent[4].pin()
    history = [m async for m in channel.history(limit=None, oldest_first=True)]
    if [m.id for m in history] != [m.id for m in sent]:
        fail(f"history before the kill: {[m.id for m in history]} != sent {[m.id for m in sent]}")
    pins = [str(m.id) async for m in channel.pins()]
    record = normalise({"history": snapshot(history), "pins": pins})
    if not record["history"][2]["edited"] or record["history"][4]["pinned"] is not True:
        fail(f"the edit or the pin is not in history: {record}")
    if normalise(record["history"][3]["reactions"]) != [["\N{THUMBS UP SIGN}", 1]]:
        fail(f"the reaction is not in history: {record['history'][3]}")
    with open(record_path, "w") as f:
        json.dump(record, f)
    print(f"recorded {len(history)} messages and {len(pins)} pin(s)", flush=True)


def normalise(record):
    """JSON turns tuples into lists; compare both sides in JSON's shape."""
    return json.loads(json.dumps(record))


async def read(label, channel, record):
    oldest_first = [m async for m in channel.history(limit=None, oldest_first=True)]
    if normalise(snapshot(oldest_first)) != record["history"]:
        fail(f"{label}: history after the restart differs:\n{snapshot(oldest_first)}\n!=\n{record['history']}")
    newest_first = [m async for m in channel.history(limit=None)]
    if [m.id for m in newest_first] != [m.id for m in reversed(oldest_first)]:
        fail(f"{label}: newest-first history is not the reverse")
    pins = [str(m.id) async for m in channel.pins()]
    if pins != record["pins"]:
        fail(f"{label}: pins after the restart {pins} != {record['pins']}")
    print(f"{label} reads the same {len(oldest_first)} messages and pins after the restart", flush=True)


async def main(boot, mode, record_path):
    point_at_flux(boot)
    channel_id = int(boot["text_channel_id"])
    client_a, client_b = make_client(), make_client()
    seen_a, seen_b = Recorder(client_a, []), Recorder(client_b, [])

    async def flow():
        channel_a = client_a.get_channel(channel_id)
        channel_b = client_b.get_channel(channel_id)
        if not isinstance(channel_a, discord.TextChannel) or not isinstance(channel_b, discord.TextChannel):
            fail("#general is not in both caches")
        if mode == "write":
            await write(channel_a, record_path)
            return
        with open(record_path) as f:
            record = json.load(f)
        if len(record["history"]) != COUNT:
            fail(f"the record holds {len(record['history'])} messages")
        await read("A", channel_a, record)
        await read("B", channel_b, record)
        after = await channel_a.send("after the restart")
        newest = max(int(m["id"]) for m in record["history"])
        if after.id <= newest:
            fail(f"new message id {after.id} is not after the stored {newest}")

    await run_clients(
        [
            (client_a, seen_a, boot["bots"][0]["token"]),
            (client_b, seen_b, boot["bots"][1]["token"]),
        ],
        flow,
    )
    print(f"PASS: {mode}", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    if len(sys.argv) != 4 or sys.argv[2] not in ("write", "read"):
        fail("usage: discordpy_restart.py <bootstrap.json> write|read <record.json>")
    asyncio.run(main(bootstrap, sys.argv[2], sys.argv[3]))
