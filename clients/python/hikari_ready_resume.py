"""Unmodified hikari 2.7.0 against a running Flux: ready, resume after a server-side drop, close.

Usage: hikari_ready_resume.py <bootstrap.json>

hikari is the strictest of the Python libraries: it insists on zlib-stream BINARY frames once it
asked for transport compression, sends its own payloads as BINARY frames, checks the token's
shape, and reads every documented guild field (CLIENTS.md §0.3, §0.4, §0.8, §5). Only the
documented `rest_url` knob is set; the gateway URL comes from Flux's `GET /gateway/bot`.

Checks: the shard becomes ready as the demo bot; the demo guild arrives with both channels;
after Flux drops every gateway connection the shard RESUMES (Flux's metrics: one IDENTIFY, at
least one RESUME); the bot closes cleanly. Prints `FAIL: ...` and exits 1 on any failure.
"""

import asyncio
import json
import sys
import urllib.request

import hikari

TIMEOUT_S = 60


def http_json(method, url):
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"null")


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


async def main(boot):
    intents = hikari.Intents.ALL_UNPRIVILEGED | hikari.Intents.MESSAGE_CONTENT
    bot = hikari.GatewayBot(
        boot["bots"][0]["token"], rest_url=boot["base_url"] + "/api/v10", intents=intents
    )
    ready = asyncio.Event()
    guild_seen = asyncio.Event()
    resumed = asyncio.Event()
    seen = {}

    @bot.listen(hikari.ShardReadyEvent)
    async def on_ready(event):
        seen["user"] = (event.my_user.id, event.my_user.username)
        ready.set()

    @bot.listen(hikari.GuildAvailableEvent)
    async def on_guild(event):
        channels = {c.id: (c.name, c.type) for c in event.guild.get_channels().values()}
        seen["guild"] = (event.guild.id, event.guild.name, channels)
        guild_seen.set()

    @bot.listen(hikari.ShardResumedEvent)
    async def on_resumed(event):
        resumed.set()

    await bot.start()
    try:
        await asyncio.wait_for(ready.wait(), TIMEOUT_S)
        await asyncio.wait_for(guild_seen.wait(), TIMEOUT_S)
        user_id, _ = seen["user"]
        if user_id != int(boot["bots"][0]["id"]):
            fail(f"ready as {seen['user']}, expected bot {boot['bots'][0]['id']}")
        guild_id, guild_name, channels = seen["guild"]
        if guild_id != int(boot["guild_id"]) or guild_name != "Flux":
            fail(f"unexpected guild {seen['guild']}")
        text = channels.get(int(boot["text_channel_id"]))
        voice = channels.get(int(boot["voice_channel_id"]))
        if text != ("general", hikari.ChannelType.GUILD_TEXT):
            fail(f"text channel wrong: {text}")
        if voice != ("General", hikari.ChannelType.GUILD_VOICE):
            fail(f"voice channel wrong: {voice}")
        print(f"ready: guild={guild_name!r} channels={sorted(n for n, _ in channels.values())}")

        dropped = await asyncio.to_thread(
            http_json, "POST", boot["base_url"] + "/_flux/test/drop-gateway-connections"
        )
        print(f"server dropped connections: {dropped}", flush=True)
        await asyncio.wait_for(resumed.wait(), TIMEOUT_S)
        metrics = await asyncio.to_thread(http_json, "GET", boot["base_url"] + "/_flux/metrics")
        print(f"metrics after resume: {metrics}", flush=True)
        if metrics.get("gateway_identify_total") != 1:
            fail(f"expected exactly one IDENTIFY, metrics say {metrics}")
        if metrics.get("gateway_resume_total", 0) < 1:
            fail(f"expected a RESUME, metrics say {metrics}")
    except asyncio.TimeoutError:
        fail(f"timed out: ready={ready.is_set()} guild={guild_seen.is_set()} "
             f"resumed={resumed.is_set()}")
    finally:
        await asyncio.wait_for(bot.close(), 10)
    print("PASS: hikari ready over zlib-stream, resumed after a server-side drop, closed")


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
