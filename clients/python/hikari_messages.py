"""Unmodified hikari 2.7.0, two bots against a running Flux: A sends a message to #general
over REST, B receives it over a zlib-stream gateway with its content, A edits it and B sees
the update, A deletes it and B sees the delete.

Usage: hikari_messages.py <bootstrap.json>
Prints `FAIL: ...` and exits 1 on any failure, `PASS: ...` on success.
"""

import asyncio
import json
import sys

import hikari

TIMEOUT_S = 60


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def make_bot(boot, index):
    intents = hikari.Intents.ALL_UNPRIVILEGED | hikari.Intents.MESSAGE_CONTENT
    return hikari.GatewayBot(
        boot["bots"][index]["token"],
        rest_url=boot["base_url"] + "/api/v10",
        intents=intents,
        banner=None,
    )


async def main(boot):
    a, b = make_bot(boot, 0), make_bot(boot, 1)
    channel_id = int(boot["text_channel_id"])
    a_id = int(boot["bots"][0]["id"])
    created, updated, deleted = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()

    @b.listen(hikari.GuildMessageCreateEvent)
    async def on_create(event):
        if event.author_id == a_id:
            await created.put(event.message)

    @b.listen(hikari.GuildMessageUpdateEvent)
    async def on_update(event):
        await updated.put(event.message)

    @b.listen(hikari.GuildMessageDeleteEvent)
    async def on_delete(event):
        await deleted.put(event.message_id)

    await a.start()
    await b.start()
    try:
        sent = await a.rest.create_message(channel_id, "hello from hikari")
        seen = await asyncio.wait_for(created.get(), TIMEOUT_S)
        if seen.id != sent.id or seen.content != "hello from hikari":
            fail(f"B saw {seen.id} {seen.content!r}, A sent {sent.id}")
        if seen.channel_id != channel_id or seen.guild_id != int(boot["guild_id"]):
            fail(f"B saw it in guild {seen.guild_id} channel {seen.channel_id}")
        print(f"B received {seen.id}: {seen.content}", flush=True)

        await a.rest.edit_message(channel_id, sent.id, "edited by hikari")
        edit = await asyncio.wait_for(updated.get(), TIMEOUT_S)
        if edit.id != sent.id or edit.content != "edited by hikari":
            fail(f"B saw the edit as {edit.id} {edit.content!r}")

        await a.rest.delete_message(channel_id, sent.id)
        gone = await asyncio.wait_for(deleted.get(), TIMEOUT_S)
        if gone != sent.id:
            fail(f"B saw delete of {gone}, expected {sent.id}")
    except asyncio.TimeoutError:
        fail(f"timed out: created={created.qsize()} updated={updated.qsize()} "
             f"deleted={deleted.qsize()}")
    finally:
        await asyncio.wait_for(a.close(), 10)
        await asyncio.wait_for(b.close(), 10)
    print("PASS: hikari sent over REST, B received over zlib-stream, edited, deleted")


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
