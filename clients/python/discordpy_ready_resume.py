"""Unmodified discord.py against a running Flux: ready, resume after a server-side drop, clean close.

Usage: discordpy_ready_resume.py <bootstrap.json>

Only the library's two documented base-URL class attributes are changed (CLIENTS.md §1.1). The
script checks, in order:

1. `on_ready` fires with the demo guild in the cache, holding its #general text channel and its
   "General" voice channel.
2. The server drops every gateway TCP connection (Flux's `--test-hooks` route
   `POST /_flux/test/drop-gateway-connections`). discord.py reconnects and `on_resumed` fires.
3. Flux's counters (`GET /_flux/metrics`) show exactly one IDENTIFY and at least one RESUME: the
   session was resumed, not re-identified.
4. `client.close()` returns, and the process exits 0.

Any failed check prints `FAIL: ...` and exits 1; so does `client.start` raising (for example a
close code discord.py does not retry) while a step waits. Each wait is bounded by 60 s.
"""

import asyncio
import json
import sys
import urllib.request

import discord
import yarl

TIMEOUT_S = 60


def http_json(method, url):
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"null")


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


async def wait_for(event, runner, what):
    """Wait for `event`, failing at once if `client.start` ended (it raised) meanwhile."""
    waiter = asyncio.ensure_future(event.wait())
    done, _ = await asyncio.wait({waiter, runner}, timeout=TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        if runner in done:
            error = runner.exception() if not runner.cancelled() else "cancelled"
            fail(f"client.start ended before {what}: {error!r}")
        raise asyncio.TimeoutError


async def main(boot):
    discord.http.Route.BASE = boot["base_url"] + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(boot["gateway_url"] + "/")

    intents = discord.Intents.default()
    intents.members = True
    intents.message_content = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.2)
    ready = asyncio.Event()
    resumed = asyncio.Event()

    @client.event
    async def on_ready():
        ready.set()

    @client.event
    async def on_resumed():
        resumed.set()

    runner = asyncio.create_task(client.start(boot["bots"][0]["token"]))
    try:
        await wait_for(ready, runner, "on_ready")
        guild = client.get_guild(int(boot["guild_id"]))
        if guild is None:
            fail(f"demo guild {boot['guild_id']} not in cache; have {client.guilds}")
        text = guild.get_channel(int(boot["text_channel_id"]))
        voice = guild.get_channel(int(boot["voice_channel_id"]))
        if not isinstance(text, discord.TextChannel) or text.name != "general":
            fail(f"text channel missing or wrong: {text!r}")
        if not isinstance(voice, discord.VoiceChannel) or voice.name != "General":
            fail(f"voice channel missing or wrong: {voice!r}")
        if client.user is None or client.user.id != int(boot["bots"][0]["id"]):
            fail(f"client.user is {client.user!r}")
        print(f"ready: guild={guild.name!r} channels={[c.name for c in guild.channels]}", flush=True)

        dropped = await asyncio.to_thread(
            http_json, "POST", boot["base_url"] + "/_flux/test/drop-gateway-connections"
        )
        print(f"server dropped connections: {dropped}", flush=True)
        await wait_for(resumed, runner, "on_resumed")
        metrics = await asyncio.to_thread(http_json, "GET", boot["base_url"] + "/_flux/metrics")
        print(f"metrics after resume: {metrics}", flush=True)
        if metrics.get("gateway_identify_total") != 1:
            fail(f"expected exactly one IDENTIFY, metrics say {metrics}")
        if metrics.get("gateway_resume_total", 0) < 1:
            fail(f"expected a RESUME, metrics say {metrics}")
    except asyncio.TimeoutError:
        fail(f"timed out (ready={ready.is_set()} resumed={resumed.is_set()})")
    finally:
        await asyncio.wait_for(client.close(), 10)
    await asyncio.wait_for(runner, 10)
    print("PASS: ready, resumed after a server-side drop, closed cleanly", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
