"""Unmodified discord.py voice against a running Flux: A plays, B hears it only in A's channel.

Usage: discordpy_voice.py <bootstrap.json> <cert.pem>

Two `discord.Client`s (the demo bots) in this process, each with its own gateway session;
only the two documented base-URL class attributes are changed (CLIENTS.md §1.1), and each
client's aiohttp connector trusts Flux's self-signed certificate (the voice gateway is
always `wss://`, CLIENTS.md §1.8). Checks:

1. A creates a second voice channel; B joins it with discord-ext-voice-recv's
   `VoiceRecvClient` and listens with a sink that keeps the Opus payloads (no decoding,
   so no libopus).
2. A joins the demo voice channel with discord.py's own `VoiceClient` (IP discovery,
   Select Protocol, `aead_xchacha20_poly1305_rtpsize`) and plays an `AudioSource` of 50
   distinct Opus frames (20 ms each; `is_opus()`, so no libopus or ffmpeg). B, in the
   other channel, receives nothing.
3. B leaves and joins A's channel; A plays the same frames again.
4. B receives every frame, decrypted with its own key, equal to what A sent and in order
   (discord.py's five trailing silence frames are left out), attributed to user A.
5. B gets a speaking event for A (op 5 relayed with A's user id and SSRC).
6. Both disconnect (op 4 with channel_id null) and the clients close.

Any failed check prints `FAIL: ...` and exits 1. Each wait is bounded by 30 s.
"""

import asyncio
import json
import os
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


async def main(boot, cafile):
    point_at_flux(boot)
    guild_id = int(boot["guild_id"])
    voice_id = int(boot["voice_channel_id"])
    a_id = int(boot["bots"][0]["id"])

    client_a, client_b = make_client(cafile), make_client(cafile)
    speaking = []

    @client_b.event
    async def on_voice_member_speaking_state(member, ssrc, state):
        speaking.append((member.id if member else None, ssrc, int(state)))

    tasks = [
        await start(client_a, boot["bots"][0]["token"]),
        await start(client_b, boot["bots"][1]["token"]),
    ]
    guild_a = client_a.get_guild(guild_id)
    other = await guild_a.create_voice_channel("elsewhere")
    await wait_until(
        lambda: client_b.get_guild(guild_id).get_channel(other.id) is not None,
        "B's copy of the new channel",
    )

    async def listen_in(channel_id, heard):
        channel = client_b.get_guild(guild_id).get_channel(channel_id)
        vc = await channel.connect(cls=voice_recv.VoiceRecvClient, timeout=TIMEOUT_S)
        vc.listen(opus_sink(heard))
        return vc

    async def play(vc):
        done = asyncio.Event()
        vc.play(Frames(FRAMES), after=lambda error: client_a.loop.call_soon_threadsafe(done.set))
        await asyncio.wait_for(done.wait(), TIMEOUT_S)

    heard_elsewhere = []
    vc_b = await listen_in(other.id, heard_elsewhere)
    vc_a = await guild_a.get_channel(voice_id).connect(timeout=TIMEOUT_S)
    if vc_a.mode != "aead_xchacha20_poly1305_rtpsize":
        fail(f"A negotiated {vc_a.mode}")
    await play(vc_a)
    await asyncio.sleep(0.5)  # anything forwarded would have arrived by now
    if heard_elsewhere:
        fail(f"B, in another channel, heard {len(heard_elsewhere)} packets")
    await asyncio.wait_for(vc_b.disconnect(), 10)

    heard = []
    vc_b = await listen_in(voice_id, heard)
    await play(vc_a)
    await wait_until(lambda: len(heard) >= len(FRAMES), f"{len(FRAMES)} frames at B")
    await asyncio.sleep(0.5)  # anything extra would arrive now
    from_a = [payload for user, payload in heard if user == a_id]
    if from_a != FRAMES:
        fail(
            f"B heard {len(from_a)} frames from A ({len(heard)} in all), "
            f"not the {len(FRAMES)} sent, in order"
        )
    if not any(user == a_id and state != 0 for user, _, state in speaking):
        fail(f"B got no speaking event for A: {speaking}")
    print(f"B heard all {len(FRAMES)} frames of A in order, and none from another channel", flush=True)

    for vc in (vc_a, vc_b):
        await asyncio.wait_for(vc.disconnect(), 10)
    for client in (client_a, client_b):
        await asyncio.wait_for(client.close(), 10)
    for task in tasks:
        await asyncio.wait_for(task, 10)
    print("PASS: discord.py voice: A played, B heard every frame in order only in A's channel", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    default_cert = os.path.join(os.path.dirname(sys.argv[1]), "tls", "cert.pem")
    asyncio.run(main(bootstrap, sys.argv[2] if len(sys.argv) > 2 else default_cert))
