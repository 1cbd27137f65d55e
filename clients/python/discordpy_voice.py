"""Unmodified discord.py voice against a running Flux: A plays, B hears it, C elsewhere does not.

Usage: discordpy_voice.py <bootstrap.json> <cert.pem> <token of bot C>

Three `discord.Client`s in this process, each with its own gateway session: A and B are the
demo bots, C a third bot the test made with `flux admin create-bot` and `add-member`. Only
the two documented base-URL class attributes are changed (CLIENTS.md §1.1), and each client's
aiohttp connector trusts Flux's self-signed certificate (the voice gateway is always
`wss://`, CLIENTS.md §1.8). Checks:

1. A creates a second voice channel. B joins the demo voice channel and C the second one,
   each with discord-ext-voice-recv's `VoiceRecvClient` and a sink that keeps the Opus
   payloads (no decoding, so no libopus).
2. A joins the demo voice channel with discord.py's own `VoiceClient` (IP discovery,
   Select Protocol, `aead_xchacha20_poly1305_rtpsize`) and plays an `AudioSource` of 50
   distinct Opus frames (20 ms each; `is_opus()`, so no libopus or ffmpeg).
3. B receives every frame, decrypted with its own key, equal to what A sent and in order
   (discord.py's five trailing silence frames are left out), attributed to user A.
4. B gets a speaking event for A (op 5 relayed with A's user id and SSRC).
5. C, in the other voice channel, receives nothing.
6. Everyone disconnects (op 4 with channel_id null) and the clients close.

Any failed check prints `FAIL: ...` and exits 1. Each wait is bounded by 30 s.
"""

import asyncio
import json
import ssl
import sys

import aiohttp
import discord
from discord.ext import voice_recv

from discordpy_support import TIMEOUT_S, fail, point_at_flux

FRAMES = [bytes([0xFC, 0xFF, 0xFE]) + i.to_bytes(2, "big") + b"flux" for i in range(50)]
SILENCE = b"\xf8\xff\xfe"


class Frames(discord.AudioSource):
    """Fixed Opus frames, one per 20 ms read; discord.py sends them as they are."""

    def __init__(self, frames):
        self.frames = list(frames)

    def is_opus(self):
        return True

    def read(self):
        return self.frames.pop(0) if self.frames else b""


def make_client(cafile):
    context = ssl.create_default_context(cafile=cafile)
    intents = discord.Intents.default()
    return discord.Client(
        intents=intents,
        guild_ready_timeout=0.2,
        connector=aiohttp.TCPConnector(ssl=context),
    )


def opus_sink(received):
    def write(user, data):
        if data.opus and data.opus != SILENCE:
            received.append((user.id if user else None, bytes(data.opus)))

    return voice_recv.BasicSink(write, decode=False)


async def wait_until(predicate, what):
    for _ in range(int(TIMEOUT_S / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    fail(f"timed out waiting for {what}")


async def start(client, token):
    """Starts `client` and waits for its on_ready; returns the task running it."""
    ready = asyncio.Event()

    @client.event
    async def on_ready():
        ready.set()

    task = asyncio.create_task(client.start(token))

    try:
        await asyncio.wait_for(ready.wait(), TIMEOUT_S)
    except asyncio.TimeoutError:
        fail("a client did not reach on_ready")
    return task


async def main(boot, cafile, token_c):
    point_at_flux(boot)
    guild_id = int(boot["guild_id"])
    voice_id = int(boot["voice_channel_id"])
    a_id = int(boot["bots"][0]["id"])

    client_a, client_b, client_c = (make_client(cafile) for _ in range(3))
    speaking = []

    @client_b.event
    async def on_voice_member_speaking_state(member, ssrc, state):
        speaking.append((member.id if member else None, ssrc, int(state)))

    tasks = [
        await start(client_a, boot["bots"][0]["token"]),
        await start(client_b, boot["bots"][1]["token"]),
        await start(client_c, token_c),
    ]
    guild_a = client_a.get_guild(guild_id)
    other = await guild_a.create_voice_channel("elsewhere")
    await wait_until(
        lambda: client_c.get_guild(guild_id).get_channel(other.id) is not None,
        "C's copy of the new channel",
    )

    async def listen_in(client, channel_id, heard):
        channel = client.get_guild(guild_id).get_channel(channel_id)
        vc = await channel.connect(cls=voice_recv.VoiceRecvClient, timeout=TIMEOUT_S)
        vc.listen(opus_sink(heard))
        return vc

    heard_b, heard_c = [], []
    vc_b = await listen_in(client_b, voice_id, heard_b)
    vc_c = await listen_in(client_c, other.id, heard_c)
    vc_a = await guild_a.get_channel(voice_id).connect(timeout=TIMEOUT_S)
    if vc_a.mode != "aead_xchacha20_poly1305_rtpsize":
        fail(f"A negotiated {vc_a.mode}")
    done = asyncio.Event()
    vc_a.play(Frames(FRAMES), after=lambda error: client_a.loop.call_soon_threadsafe(done.set))
    await asyncio.wait_for(done.wait(), TIMEOUT_S)
    await wait_until(lambda: len(heard_b) >= len(FRAMES), f"{len(FRAMES)} frames at B")
    await asyncio.sleep(0.5)  # anything extra, at B or C, would have arrived by now

    from_a = [payload for user, payload in heard_b if user == a_id]
    if from_a != FRAMES:
        fail(
            f"B heard {len(from_a)} frames from A ({len(heard_b)} in all), "
            f"not the {len(FRAMES)} sent, in order"
        )
    if not any(user == a_id and state != 0 for user, _, state in speaking):
        fail(f"B got no speaking event for A: {speaking}")
    if heard_c:
        fail(f"C, in another voice channel, heard {len(heard_c)} packets")
    print(f"B heard all {len(FRAMES)} frames of A in order; C, elsewhere, heard none", flush=True)

    for vc in (vc_a, vc_b, vc_c):
        await asyncio.wait_for(vc.disconnect(), 10)
    for client in (client_a, client_b, client_c):
        await asyncio.wait_for(client.close(), 10)
    for task in tasks:
        await asyncio.wait_for(task, 10)
    print("PASS: discord.py voice: A played, B heard every frame in order, C elsewhere none", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap, sys.argv[2], sys.argv[3]))
