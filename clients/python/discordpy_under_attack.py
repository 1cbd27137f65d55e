"""Unmodified discord.py keeps working while Flux is under attack (the Rust test attacks).

Usage: discordpy_under_attack.py <bootstrap.json> <messages>

Bot A and bot B are two `discord.Client`s (CLIENTS.md §1.1). Once both are ready, A sends
`<messages>` messages one after another, timing each `TextChannel.send` (POST, answered once
durable), and B's `on_message` must see every one, in order. Prints the REST latencies
(`latency_ms p50=… p99=… max=…`); fails if any send takes longer than SEND_MAX_S (a
generous bound: the attack shares the machine's two CPUs with this script), if B misses or
reorders a message, or if anything waits more than 60 s.
"""

import asyncio
import json
import sys
import time

import discord
import yarl

TIMEOUT_S = 60
SEND_MAX_S = 5.0


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def make_client():
    intents = discord.Intents.default()
    intents.message_content = True
    return discord.Client(intents=intents, guild_ready_timeout=0.2)


async def main(boot, count):
    discord.http.Route.BASE = boot["base_url"] + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(boot["gateway_url"] + "/")
    channel_id = int(boot["text_channel_id"])

    client_a, client_b = make_client(), make_client()
    ready_a, ready_b = asyncio.Event(), asyncio.Event()
    received = asyncio.Queue()

    @client_a.event
    async def on_ready():
        ready_a.set()

    @client_b.event
    async def on_ready():  # noqa: F811 (a different client)
        ready_b.set()

    @client_b.event
    async def on_message(message):
        await received.put(message.content)

    runners = [
        asyncio.create_task(client_a.start(boot["bots"][0]["token"])),
        asyncio.create_task(client_b.start(boot["bots"][1]["token"])),
    ]
    latencies = []
    try:
        await asyncio.wait_for(ready_a.wait(), TIMEOUT_S)
        await asyncio.wait_for(ready_b.wait(), TIMEOUT_S)
        channel = client_a.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            fail(f"#general not in A's cache: {channel!r}")
        for n in range(count):
            started = time.monotonic()
            sent = await asyncio.wait_for(channel.send(f"under attack {n}"), TIMEOUT_S)
            latencies.append(time.monotonic() - started)
            if sent.content != f"under attack {n}":
                fail(f"send {n} returned content={sent.content!r}")
        for n in range(count):
            content = await asyncio.wait_for(received.get(), TIMEOUT_S)
            if content != f"under attack {n}":
                fail(f"B's message {n} was {content!r}")
    except asyncio.TimeoutError:
        fail(f"timed out (ready_a={ready_a.is_set()} ready_b={ready_b.is_set()}, sent {len(latencies)})")
    finally:
        await asyncio.wait_for(client_a.close(), 10)
        await asyncio.wait_for(client_b.close(), 10)
    for runner in runners:
        await asyncio.wait_for(runner, 10)
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
