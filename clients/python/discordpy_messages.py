"""Unmodified discord.py against a running Flux: two bots exchange, edit and delete a message.

Usage: discordpy_messages.py <bootstrap.json>

Bot A and bot B are two `discord.Client`s in this process (each its own gateway session;
only the two documented base-URL class attributes are changed, CLIENTS.md §1.1). Checks:

1. Both reach `on_ready` with #general in cache.
2. A sends "hello from A" to #general (`TextChannel.send`: POST /channels/{id}/messages);
   the returned `Message` has that content, and B's `on_message` fires with it, author A.
3. A reacts 👍 (`Message.add_reaction`: PUT …/reactions/%F0%9F%91%8D/@me); B's
   `on_raw_reaction_add` names the emoji, A and the message.
4. A types (`await channel.typing()`: POST /channels/{id}/typing); B's `on_raw_typing`
   names A and the channel.
5. A pins the message (`Message.pin`: PUT …/messages/pins/{id}); `channel.pins()` (GET
   …/messages/pins) contains it.
6. A edits it (`Message.edit`: PATCH); B's `on_raw_message_edit` carries the new content.
7. A sends a second message; `channel.history(limit=10)` (GET …/messages) returns the two
   newest first, the first one edited.
8. A deletes the first (`Message.delete`: DELETE); B's `on_raw_message_delete` names it.
9. Both clients close cleanly.

Any failed check prints `FAIL: ...` and exits 1. Each wait is bounded by 60 s.
"""

import asyncio
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
    a_id = int(boot["bots"][0]["id"])

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
    async def on_raw_message_edit(payload):
        await b_events.put(("edit", payload))

    @client_b.event
    async def on_raw_message_delete(payload):
        await b_events.put(("delete", payload))

    @client_b.event
    async def on_raw_reaction_add(payload):
        await b_events.put(("reaction", payload))

    @client_b.event
    async def on_raw_typing(payload):
        await b_events.put(("typing", payload))

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

        sent = await channel.send("hello from A")
        if sent.content != "hello from A" or sent.author.id != a_id:
            fail(f"send returned {sent!r} content={sent.content!r}")
        received = await next_event("message")
        if received.id != sent.id or received.content != "hello from A" or received.author.id != a_id:
            fail(f"B's on_message got {received!r} content={received.content!r}")
        print(f"B received: {received.content!r}", flush=True)

        await sent.add_reaction("\N{THUMBS UP SIGN}")
        reaction = await next_event("reaction")
        if (
            str(reaction.emoji) != "\N{THUMBS UP SIGN}"
            or reaction.user_id != a_id
            or reaction.message_id != sent.id
            or reaction.event_type != "REACTION_ADD"
        ):
            fail(f"B's on_raw_reaction_add got {reaction!r}")
        print(f"B saw the reaction {reaction.emoji}", flush=True)

        await channel.typing()
        typing = await next_event("typing")
        if typing.user_id != a_id or typing.channel_id != channel_id:
            fail(f"B's on_raw_typing got {typing!r}")
        print("B saw A typing", flush=True)

        await sent.pin()
        pins = [message async for message in channel.pins()]
        if sent.id not in [m.id for m in pins]:
            fail(f"channel.pins() lacks the pinned message: {[m.id for m in pins]}")
        if not pins[0].pinned:
            fail("a pinned message says pinned=false")
        print("the pin is listed", flush=True)

        edited = await sent.edit(content="edited by A")
        if edited.content != "edited by A":
            fail(f"edit returned content={edited.content!r}")
        edit = await next_event("edit")
        if edit.message_id != sent.id or edit.data.get("content") != "edited by A":
            fail(f"B's on_raw_message_edit got {edit!r}")
        print("B saw the edit", flush=True)

        second = await channel.send("second from A")
        await next_event("message")
        history = [message async for message in channel.history(limit=10)]
        if [m.id for m in history[:2]] != [second.id, sent.id]:
            fail(f"history is not newest first: {[(m.id, m.content) for m in history]}")
        if history[1].content != "edited by A":
            fail(f"history shows {history[1].content!r} for the edited message")
        print(f"history: {[m.content for m in history]}", flush=True)

        await sent.delete()
        deleted = await next_event("delete")
        if deleted.message_id != sent.id or deleted.channel_id != channel_id:
            fail(f"B's on_raw_message_delete got {deleted!r}")
        print("B saw the delete", flush=True)
    except asyncio.TimeoutError:
        fail(f"timed out (ready_a={ready_a.is_set()} ready_b={ready_b.is_set()})")
    finally:
        await asyncio.wait_for(client_a.close(), 10)
        await asyncio.wait_for(client_b.close(), 10)
    for runner in runners:
        await asyncio.wait_for(runner, 10)
    print("PASS: send, receive, react, type, pin, edit, history, delete between two discord.py bots", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
