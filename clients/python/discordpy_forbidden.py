"""Unmodified discord.py against Flux: a bot without VIEW_CHANNEL gets Forbidden and no events.

Usage: discordpy_forbidden.py <bootstrap.json>

The demo guild's #staff denies @everyone VIEW_CHANNEL; bot A owns the guild (owners have
every permission), bot B is a plain member. Checks:

1. A finds #staff in its cache; B's `permissions_for(me).view_channel` there is False
   (discord.py computes it from the overwrites in GUILD_CREATE), and True in #general.
2. B's `channel.send` to #staff raises `discord.Forbidden` with code 50001 (Missing
   Access); so do `channel.history()` and `fetch_message`.
3. A sends in #staff, types there and reacts to its message; A's own on_message sees it
   (the dispatch exists). Then A sends in #general. B's on_message fires for the #general
   message, and among everything B received before it there is no on_message,
   on_raw_typing or on_raw_reaction_add from #staff: the guild's events reach B in order,
   so "none from #staff" is a fact, not a timeout.

Any failed check prints `FAIL: ...` and exits 1.
"""

import asyncio
import json
import sys

import discord

from discordpy_support import Recorder, fail, make_client, point_at_flux, run_clients

B_EVENTS = ["message", "raw_typing", "raw_reaction_add", "raw_message_edit", "raw_message_delete"]


def channel_of(name, value):
    return value.channel.id if name == "message" else value.channel_id


async def expect_forbidden(label, action):
    try:
        await action()
    except discord.Forbidden as error:
        if error.code != 50001:
            fail(f"{label}: Forbidden with code {error.code}, expected 50001 (Missing Access)")
        print(f"{label}: Forbidden 50001 ({error.text})", flush=True)
        return
    except discord.HTTPException as error:
        fail(f"{label}: HTTP {error.status} code {error.code}, expected 403 50001")
    fail(f"{label}: succeeded without VIEW_CHANNEL")


async def main(boot):
    point_at_flux(boot)
    guild_id = int(boot["guild_id"])
    general_id = int(boot["text_channel_id"])
    a_id = int(boot["bots"][0]["id"])
    client_a, client_b = make_client(), make_client()
    seen_a = Recorder(client_a, ["message"])
    seen_b = Recorder(client_b, B_EVENTS)

    async def flow():
        guild_a = client_a.get_guild(guild_id)
        staff = discord.utils.get(guild_a.text_channels, name="staff")
        if staff is None:
            fail(f"no #staff in A's cache: {guild_a.text_channels!r}")
        if not staff.permissions_for(guild_a.me).view_channel:
            fail("the owner cannot view #staff")

        guild_b = client_b.get_guild(guild_id)
        staff_b = client_b.get_channel(staff.id)
        if staff_b is not None:
            if staff_b.permissions_for(guild_b.me).view_channel:
                fail("discord.py computes VIEW_CHANNEL for B in #staff")
        else:
            staff_b = client_b.get_partial_messageable(staff.id, guild_id=guild_id)
        if not client_b.get_channel(general_id).permissions_for(guild_b.me).view_channel:
            fail("B cannot view #general")

        await expect_forbidden("B sends to #staff", lambda: staff_b.send("let me in"))

        async def read_history():
            return [m async for m in staff_b.history(limit=10)]

        await expect_forbidden("B reads #staff's history", read_history)

        secret = await staff.send("staff only")
        await seen_a.wait_for("message", lambda m: m.id == secret.id)
        await expect_forbidden("B fetches a #staff message", lambda: staff_b.fetch_message(secret.id))
        await staff.typing()
        await secret.add_reaction("\N{THUMBS UP SIGN}")
        await secret.edit(content="staff only (edited)")
        await (await staff.send("to be deleted")).delete()

        general = client_a.get_channel(general_id)
        marker = await general.send("after the staff meeting")
        index, _ = await seen_b.wait_for("message", lambda m: m.id == marker.id)
        leaked = [
            (name, value)
            for name, value in seen_b.events[:index]
            if channel_of(name, value) == staff.id
        ]
        if leaked:
            fail(f"B received events from #staff: {leaked!r}")
        print(
            f"B received {index} earlier event(s), none from #staff, then A's #general message",
            flush=True,
        )
        if seen_b.events[index][1].author.id != a_id:
            fail("the #general message has the wrong author")

    await run_clients(
        [
            (client_a, seen_a, boot["bots"][0]["token"]),
            (client_b, seen_b, boot["bots"][1]["token"]),
        ],
        flow,
    )
    print("PASS: without VIEW_CHANNEL, B gets Forbidden 50001 and no events from #staff", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
