"""Unmodified discord.py against Flux: a bot without MESSAGE_CONTENT sees empty content.

Usage: discordpy_message_content.py <bootstrap.json> [attachments]

Bot A asks for MESSAGE_CONTENT; bot B connects with plain `discord.Intents.default()`,
where `message_content` is False (the privileged intent is off). Discord's rule
(MESSAGE_CONTENT docs): such a bot still receives MESSAGE_CREATE, but with `content`,
`embeds`, `attachments` and `components` empty, except in DMs, for its own messages and
for messages that mention it. Checks:

1. A sends "secret from A" with an embed to #general; the returned `Message` (A's own)
   carries both, and so does A's own on_message.
2. B's on_message for that message has `content == ""`, no embeds and no attachments,
   with the right author and id (the event itself is not withheld).
3. A sends "<@B> hello B" with an embed; B's on_message shows the content and the
   embed, and lists B in `message.mentions` (the mention exception).
4. A sends another plain message; B again sees it empty (the exception was per message).
5. A edits the plain message; B's on_raw_message_edit (MESSAGE_UPDATE) carries empty
   content. A edits the mention; B's carries the new content.
6. With `attachments` only (needs multipart message create: `payload_json` and
   `files[n]`, discord.py http.py `handle_message_parameters`/`MultipartParameters`): A
   sends a file without and with a mention of B; B sees no attachment on the first and
   the file on the second, and `Attachment.read()` fetches its bytes from the Flux URL.

Any failed check prints `FAIL: ...` and exits 1. Each wait is bounded.
"""

import asyncio
import io
import json
import sys

import discord

from discordpy_support import Recorder, fail, make_client, point_at_flux, run_clients


async def check_attachments(channel, seen_b, b_id):
    data = b"flux attachment bytes"
    try:
        plain = await channel.send("a file", file=discord.File(io.BytesIO(data), "plain.txt"))
    except discord.HTTPException as error:
        fail(f"multipart send: HTTP {error.status} code {error.code}: {error.text}")
    if [a.filename for a in plain.attachments] != ["plain.txt"]:
        fail(f"A's send returned attachments {plain.attachments!r}")
    _, hidden = await seen_b.wait_for("message", lambda m: m.id == plain.id)
    if hidden.attachments or hidden.content != "":
        fail(f"B without MESSAGE_CONTENT saw attachments {hidden.attachments!r}")
    mention = await channel.send(f"<@{b_id}> a file for B", file=discord.File(io.BytesIO(data), "forb.txt"))
    _, shown = await seen_b.wait_for("message", lambda m: m.id == mention.id)
    if [a.filename for a in shown.attachments] != ["forb.txt"]:
        fail(f"B does not see the attachment of a message that mentions it: {shown.attachments!r}")
    if await shown.attachments[0].read() != data:
        fail("the attachment's URL does not serve the uploaded bytes")
    print("attachments follow the MESSAGE_CONTENT rule and are served back", flush=True)


async def main(boot, with_attachments):
    point_at_flux(boot)
    channel_id = int(boot["text_channel_id"])
    a_id, b_id = int(boot["bots"][0]["id"]), int(boot["bots"][1]["id"])
    client_a, client_b = make_client(), make_client(message_content=False)
    if client_b.intents.message_content:
        fail("Intents.default() asked for MESSAGE_CONTENT")
    seen_a = Recorder(client_a, ["message"])
    seen_b = Recorder(client_b, ["message", "raw_message_edit"])

    async def flow():
        channel = client_a.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            fail(f"#general not in A's cache: {channel!r}")

        plain = await channel.send("secret from A", embed=discord.Embed(title="hidden embed"))
        if plain.content != "secret from A" or len(plain.embeds) != 1:
            fail(f"A's send returned content={plain.content!r} embeds={plain.embeds!r}")
        _, own = await seen_a.wait_for("message", lambda m: m.id == plain.id)
        if own.content != "secret from A" or len(own.embeds) != 1:
            fail(f"A does not see its own message: {own.content!r} {own.embeds!r}")
        _, hidden = await seen_b.wait_for("message", lambda m: m.id == plain.id)
        if hidden.author.id != a_id or hidden.channel.id != channel_id:
            fail(f"B's on_message names the wrong author/channel: {hidden!r}")
        if hidden.content != "" or hidden.embeds or hidden.attachments:
            fail(
                f"B without MESSAGE_CONTENT saw content={hidden.content!r} "
                f"embeds={hidden.embeds!r} attachments={hidden.attachments!r}"
            )
        print("B without MESSAGE_CONTENT sees an empty message", flush=True)

        mention = await channel.send(f"<@{b_id}> hello B", embed=discord.Embed(title="for B"))
        _, shown = await seen_b.wait_for("message", lambda m: m.id == mention.id)
        if shown.content != f"<@{b_id}> hello B":
            fail(f"B does not see the content of a message that mentions it: {shown.content!r}")
        if [e.title for e in shown.embeds] != ["for B"]:
            fail(f"B does not see the embed of a message that mentions it: {shown.embeds!r}")
        if b_id not in [user.id for user in shown.mentions]:
            fail(f"message.mentions lacks B: {shown.mentions!r}")
        print(f"B sees a message that mentions it: {shown.content!r}", flush=True)

        again = await channel.send("another secret")
        _, hidden_again = await seen_b.wait_for("message", lambda m: m.id == again.id)
        if hidden_again.content != "":
            fail(f"B saw {hidden_again.content!r} after the mention")

        await plain.edit(content="edited secret")
        _, edit = await seen_b.wait_for("raw_message_edit", lambda e: e.message_id == plain.id)
        if edit.data.get("content") != "" or edit.data.get("embeds"):
            fail(f"B's MESSAGE_UPDATE without MESSAGE_CONTENT carries {edit.data!r}")
        await mention.edit(content=f"<@{b_id}> edited for B")
        _, edit = await seen_b.wait_for("raw_message_edit", lambda e: e.message_id == mention.id)
        if edit.data.get("content") != f"<@{b_id}> edited for B":
            fail(f"B's MESSAGE_UPDATE of a mention lacks the content: {edit.data!r}")
        print("MESSAGE_UPDATE follows the same rule", flush=True)

        if with_attachments:
            await check_attachments(channel, seen_b, b_id)

    await run_clients(
        [
            (client_a, seen_a, boot["bots"][0]["token"]),
            (client_b, seen_b, boot["bots"][1]["token"]),
        ],
        flow,
    )
    print("PASS: MESSAGE_CONTENT off empties content/embeds/attachments except when B is mentioned", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    if len(sys.argv) > 3 or (len(sys.argv) == 3 and sys.argv[2] != "attachments"):
        fail("usage: discordpy_message_content.py <bootstrap.json> [attachments]")
    asyncio.run(main(bootstrap, len(sys.argv) == 3))
