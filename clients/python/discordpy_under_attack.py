"""Unmodified discord.py keeps working while Flux is under attack (the Rust test attacks).

Usage: discordpy_under_attack.py <bootstrap.json> <messages>

Bot A and bot B are two `discord.Client`s (set up by `discordpy_support`). Once both are
ready, A sends `<messages>` messages one after another, timing each `TextChannel.send`
(POST, answered once durable), and B's `on_message` must see every one, in order. Prints
the REST latencies (`latency_ms p50=… p99=… max=…`); fails if any send takes longer than
SEND_MAX_S (a generous bound: the attack shares the machine's two CPUs with this script),
or if B misses or reorders a message.
"""

import asyncio
import json
import sys
import time

import discord

from discordpy_support import TIMEOUT_S, Recorder, fail, make_client, point_at_flux, run_clients

SEND_MAX_S = 5.0


async def main(boot, count):
    point_at_flux(boot)
    channel_id = int(boot["text_channel_id"])
    client_a, client_b = make_client(), make_client()
    seen_a = Recorder(client_a, [])
    seen_b = Recorder(client_b, ["message"])
    latencies = []

    async def flow():
        channel = client_a.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            fail(f"#general not in A's cache: {channel!r}")
        for n in range(count):
            started = time.monotonic()
            sent = await asyncio.wait_for(channel.send(f"under attack {n}"), TIMEOUT_S)
            latencies.append(time.monotonic() - started)
            if sent.content != f"under attack {n}":
                fail(f"send {n} returned content={sent.content!r}")
        after = 0
        for n in range(count):
            index, message = await seen_b.wait_for("message", after=after)
            if message.content != f"under attack {n}":
                fail(f"B's message {n} was {message.content!r}")
            after = index + 1

    await run_clients(
        [
            (client_a, seen_a, boot["bots"][0]["token"]),
            (client_b, seen_b, boot["bots"][1]["token"]),
        ],
        flow,
    )
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)] * 1000
    print(f"latency_ms p50={p50:.1f} p99={p99:.1f} max={ordered[-1] * 1000:.1f}", flush=True)
    if ordered[-1] > SEND_MAX_S:
        fail(f"a send took {ordered[-1]:.2f} s (bound {SEND_MAX_S} s)")
    print(f"PASS: {count} messages sent and received in order during the attack", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap, int(sys.argv[2])))
