"""Unmodified discord.py against a running Flux: files, and bulk delete.

Usage: discordpy_attachments.py <bootstrap.json>

Bot A and bot B are two `discord.Client`s in this process (only the two documented base-URL
class attributes are changed, CLIENTS.md §1.1). Checks:

1. A sends two `discord.File`s with content (`TextChannel.send(files=...)`: a multipart
   POST /channels/{id}/messages with `payload_json` and `files[n]`); the returned
   `Message.attachments` name both, with size, description and content type.
2. `Attachment.read()` (a GET of the attachment's `url`, Discord's CDN path on Flux)
   returns exactly the bytes sent, for both files.
3. B's `on_message` sees the message with both attachments (B has MESSAGE_CONTENT).
4. A sends two more messages and deletes them with `TextChannel.delete_messages`
   (POST …/messages/bulk-delete); B's `on_raw_bulk_message_delete` names both ids.
5. Both clients close cleanly.

Any failed check prints `FAIL: ...` and exits 1. Each wait is bounded by 60 s.
"""

import asyncio
import io
import json
import sys

import discord
import yarl

TIMEOUT_S = 60


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def make_client():
    intents = discord.Intents.default()
    intents.message_content = True
    return discord.Client(intents=intents, guild_ready_timeout=0.2)


async def main(boot):
    discord.http.Route.BASE = boot["base_url"] + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(boot["gateway_url"] + "/")
    channel_id = int(boot["text_channel_id"])

    client_a, client_b = make_client(), make_client()
    ready_a, ready_b = asyncio.Event(), asyncio.Event()
    b_events = asyncio.Queue()

    @client_a.event
    async def on_ready():
        ready_a.set()

    @client_b.event
    async def on_ready():  # noqa: F811 (a different client)
        ready_b.set()

    @client_b.event
    async def on_message(message):
        await b_events.put(("message", message))

    @client_b.event
    async def on_raw_bulk_message_delete(payload):
        await b_events.put(("bulk", payload))

    async def next_event(kind):
        while True:
            got, value = await asyncio.wait_for(b_events.get(), TIMEOUT_S)
            if got == kind:
                return value

    runners = [
        asyncio.create_task(client_a.start(boot["bots"][0]["token"])),
        asyncio.create_task(client_b.start(boot["bots"][1]["token"])),
    ]
    try:
        await asyncio.wait_for(ready_a.wait(), TIMEOUT_S)
        await asyncio.wait_for(ready_b.wait(), TIMEOUT_S)
        channel = client_a.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            fail(f"#general not in A's cache: {channel!r}")

        text = "plain text file\nsecond line\n".encode()
        binary = bytes(range(256)) * 300  # 76.8 kB, every byte value
        sent = await channel.send(
            "two files",
            files=[
                discord.File(io.BytesIO(text), filename="notes.txt", description="some notes"),
                discord.File(io.BytesIO(binary), filename="blob.bin"),
            ],
        )
        names = [a.filename for a in sent.attachments]
        if names != ["notes.txt", "blob.bin"]:
            fail(f"attachments are {names}")
        notes, blob = sent.attachments
        if notes.size != len(text) or blob.size != len(binary):
            fail(f"sizes {notes.size}, {blob.size}")
        if notes.description != "some notes":
            fail(f"description {notes.description!r}")
        if not (notes.content_type or "").startswith("text/plain"):
            fail(f"content_type {notes.content_type!r}")
        for attachment, expected in ((notes, text), (blob, binary)):
            got = await attachment.read()
            if got != expected:
                fail(f"{attachment.url} served {len(got)} bytes, not the {len(expected)} sent")
        print(f"attachments served back byte-identical: {[a.url for a in sent.attachments]}", flush=True)

        received = await next_event("message")
        if received.id != sent.id or [a.filename for a in received.attachments] != names:
            fail(f"B's on_message got {received!r} with {received.attachments!r}")
        print("B received the attachments", flush=True)

        first = await channel.send("to be bulk deleted 1")
        second = await channel.send("to be bulk deleted 2")
        await channel.delete_messages([first, second])
        while True:
            bulk = await next_event("bulk")
            if bulk.message_ids == {first.id, second.id} and bulk.channel_id == channel_id:
                break
            fail(f"B's on_raw_bulk_message_delete got {bulk!r}")
        print("B saw the bulk delete", flush=True)
    except asyncio.TimeoutError:
        fail(f"timed out (ready_a={ready_a.is_set()} ready_b={ready_b.is_set()})")
    finally:
        await asyncio.wait_for(client_a.close(), 10)
        await asyncio.wait_for(client_b.close(), 10)
    for runner in runners:
        await asyncio.wait_for(runner, 10)
    print("PASS: files sent, served back byte-identical, received, and bulk deleted with discord.py", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
