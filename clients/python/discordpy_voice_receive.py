"""Unmodified discord.py with discord-ext-voice-recv, listening to another library's bot.

Usage: discordpy_voice_receive.py <bootstrap.json> <cert.pem> <done-file>

Bot B (the second demo bot) joins the demo voice channel with `VoiceRecvClient` and keeps
the Opus payloads it receives (no decoding, so no libopus). Bot A is played by another
process (discord.js with @discordjs/voice, `clients/node/discordjs_voice_play.js`), which
waits until B is in the channel. Checks: B receives all 50 frames A plays, decrypted with
B's own key, attributed to A, in order (trailing silence frames left out). Then B writes
`<done-file>` (the player waits for it before it leaves) and disconnects.

Any failed check prints `FAIL: ...` and exits 1; the wait is bounded by 60 s.
"""

import asyncio
import json
import ssl
import sys

import aiohttp
import discord
from discord.ext import voice_recv

from discordpy_support import fail, point_at_flux

FRAMES = [bytes([0xFC, 0xFF, 0xFE]) + i.to_bytes(2, "big") + b"flux" for i in range(50)]
SILENCE = b"\xf8\xff\xfe"
WAIT_S = 60


async def main(boot, cafile, done_file):
    point_at_flux(boot)
    context = ssl.create_default_context(cafile=cafile)
    client = discord.Client(
        intents=discord.Intents.default(),
        guild_ready_timeout=0.2,
        connector=aiohttp.TCPConnector(ssl=context),
    )
    ready = asyncio.Event()

    @client.event
    async def on_ready():
        ready.set()

    runner = asyncio.create_task(client.start(boot["bots"][1]["token"]))
    await asyncio.wait_for(ready.wait(), WAIT_S)
    heard = []

    def write(user, data):
        if data.opus and data.opus != SILENCE:
            heard.append((user.id if user else None, bytes(data.opus)))

    channel = client.get_guild(int(boot["guild_id"])).get_channel(int(boot["voice_channel_id"]))
    vc = await channel.connect(cls=voice_recv.VoiceRecvClient, timeout=WAIT_S)
    vc.listen(voice_recv.BasicSink(write, decode=False))
    a_id = int(boot["bots"][0]["id"])
    for _ in range(WAIT_S * 20):
        if len([p for u, p in heard if u == a_id]) >= len(FRAMES):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    from_a = [payload for user, payload in heard if user == a_id]
    if from_a != FRAMES:
        fail(
            f"heard {len(from_a)} frames from A ({len(heard)} in all), "
            f"not the {len(FRAMES)} played, in order"
        )
    with open(done_file, "w") as f:
        f.write("heard\n")
    await asyncio.wait_for(vc.disconnect(), 10)
    await asyncio.wait_for(client.close(), 10)
    await asyncio.wait_for(runner, 10)
    print(f"PASS: discord.py heard all {len(FRAMES)} frames discord.js played, in order", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap, sys.argv[2], sys.argv[3]))
