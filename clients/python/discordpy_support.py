"""Shared set-up for the discord.py scripts (not a test itself).

Only what every script repeats: pointing unmodified discord.py at Flux (the two documented
base-URL class attributes, CLIENTS.md §1.1), making a client, running clients until a
check finishes, recording each client's events in a list, and failing loudly. Each script
still states and checks its own flow.
"""

import asyncio
import sys
import time

import discord
import yarl

TIMEOUT_S = 30


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def point_at_flux(boot):
    discord.http.Route.BASE = boot["base_url"] + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(boot["gateway_url"] + "/")


def make_client(message_content=True, members=False):
    intents = discord.Intents.default()
    intents.message_content = message_content
    intents.members = members
    # Discord's guild_ready_timeout (2 s after the last GUILD_CREATE) only slows the
    # tests; 0.2 s is plenty on loopback.
    return discord.Client(intents=intents, guild_ready_timeout=0.2)


class Recorder:
    """Every event a client saw, in order, and a way to wait for the next matching one."""

    def __init__(self, client, names):
        self.events = []
        self._changed = asyncio.Condition()
        self.ready = asyncio.Event()
        self.connect_at = None
        self.ready_at = None
        for name in names:
            self._listen(client, name)

        async def on_connect():
            # discord.py dispatches `connect` when it parses READY (state.py parse_ready).
            if self.connect_at is None:
                self.connect_at = time.monotonic()

        async def on_ready():
            self.ready_at = time.monotonic()
            self.ready.set()

        client.event(on_connect)
        client.event(on_ready)

    def _listen(self, client, name):
        async def handler(*values):
            # Two-argument events (before, after) are recorded as one tuple.
            value = values[0] if len(values) == 1 else values
            async with self._changed:
                self.events.append((name, value))
                self._changed.notify_all()

        handler.__name__ = f"on_{name}"
        client.event(handler)

    async def wait_for(self, name, predicate=lambda value: True, after=0):
        """The first event `name` at index >= `after` for which `predicate` holds, and
        its index; fails after TIMEOUT_S."""

        async def found():
            async with self._changed:
                while True:
                    for index in range(after, len(self.events)):
                        got, value = self.events[index]
                        if got == name and predicate(value):
                            return index, value
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(found(), TIMEOUT_S)
        except asyncio.TimeoutError:
            fail(f"no {name} event within {TIMEOUT_S} s; saw {[n for n, _ in self.events]}")


async def run_clients(clients_and_tokens, body):
    """Starts each client, waits for every `on_ready` (the Recorder's), runs `body()`, then
    closes every client; exits 1 if a client does not get ready in time."""
    runners = [asyncio.create_task(client.start(token)) for client, _, token in clients_and_tokens]
    try:
        for _, recorder, _ in clients_and_tokens:
            try:
                await asyncio.wait_for(recorder.ready.wait(), TIMEOUT_S)
            except asyncio.TimeoutError:
                fail("a client did not reach on_ready")
        await body()
    finally:
        for client, _, _ in clients_and_tokens:
            await asyncio.wait_for(client.close(), 10)
    for runner in runners:
        await asyncio.wait_for(runner, 10)
