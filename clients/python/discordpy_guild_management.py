"""Unmodified discord.py against Flux: guild management, and the events another bot sees.

Usage: discordpy_guild_management.py <bootstrap.json>

Bot A owns the demo guild; bot B is a plain member; both have the members intent. A human
registered over `POST /auth/register` joins through invites (discord.py bots cannot accept
invites, so that one call is plain aiohttp) so A can kick and ban someone. A drives every
change through discord.py's own API and B (or A, where only a manager may see the event)
checks the matching event carries the right data:

1. `guild.create_text_channel(overwrites=...)` hiding it from B; `channel.edit(name, topic)`;
   then `channel.set_permissions(B, view_channel=True)`: B's first event about the channel
   is `on_guild_channel_create`, with the edited name and topic; a later edit is B's
   `on_guild_channel_update`.
2. `guild.create_role(name, permissions, colour)`, `role.edit(...)`: B's
   `on_guild_role_create` / `on_guild_role_update` with the same values.
3. `member.add_roles` / `remove_roles` / `edit(nick=)`: B's `on_member_update` each time.
3b. `member.timeout(...)`: B sees itself timed out, its send is Forbidden 50013, then lifted.
4. `channel.create_invite()` (A's `on_invite_create`), `client.fetch_invite(code)`,
   `invite.delete()` (A's `on_invite_delete`).
5. `guild.fetch_members(limit=None)`, `guild.fetch_channels()`, `guild.fetch_roles()`.
6. `message.create_thread(name)` and `thread.send` (B's `on_thread_create`, then B's
   `on_message` in the thread); B's `thread.join()` (B's `on_thread_join`, A's
   `on_thread_member_join`) and `thread.leave()` (B's `on_thread_remove`);
   `channel.create_thread(type=public_thread)`.
7. The human joins; `guild.kick` (B's `on_member_remove`); joins again; `guild.ban` (B's
   `on_member_ban`), `guild.bans()`, `guild.unban` (B's `on_member_unban`).
8. `channel.delete()`, `role.delete()`: B's `on_guild_channel_delete` /
   `on_guild_role_delete`.
9. `member.create_dm()` + `dm.send`: B's `on_message` in a DMChannel; A's
   `client.user.edit(username=)`.

Any failed check prints `FAIL: ...` and exits 1.
"""

import asyncio
import datetime
import json
import sys

import aiohttp
import discord

from discordpy_support import Recorder, fail, make_client, point_at_flux, run_clients

B_EVENTS = [
    "guild_channel_create",
    "guild_channel_update",
    "guild_channel_delete",
    "guild_role_create",
    "guild_role_update",
    "guild_role_delete",
    "member_update",
    "member_join",
    "member_remove",
    "member_ban",
    "member_unban",
    "thread_create",
    "thread_join",
    "thread_remove",
    "message",
]
A_EVENTS = ["invite_create", "invite_delete", "message", "thread_member_join"]


def two(handler):
    """Recorder values for two-argument events are (before, after) tuples."""
    return lambda pair: handler(*pair)


async def register_human(boot, username):
    async with aiohttp.ClientSession() as http:
        async with http.post(
            boot["base_url"] + "/api/v10/auth/register",
            json={"username": username, "password": "correct horse battery"},
        ) as response:
            body = await response.json()
            if response.status != 201:
                fail(f"register {username}: {response.status} {body}")
            return int(body["user"]["id"]), body["token"]


async def accept_invite(boot, token, code):
    async with aiohttp.ClientSession() as http:
        async with http.post(
            boot["base_url"] + f"/api/v10/invites/{code}",
            headers={"Authorization": token},
        ) as response:
            body = await response.text()
            if response.status != 200:
                fail(f"accept invite {code}: {response.status} {body}")


async def main(boot):
    point_at_flux(boot)
    guild_id = int(boot["guild_id"])
    general_id = int(boot["text_channel_id"])
    b_id = int(boot["bots"][1]["id"])
    client_a, client_b = make_client(members=True), make_client(members=True)
    seen_a = Recorder(client_a, A_EVENTS)
    seen_b = Recorder(client_b, B_EVENTS)

    async def flow():
        guild = client_a.get_guild(guild_id)
        member_b = guild.get_member(b_id) or await guild.fetch_member(b_id)

        # 1. A channel hidden from B, edited, then shown to B.
        start = len(seen_b.events)
        channel = await guild.create_text_channel(
            "mgmt",
            topic="hidden",
            overwrites={member_b: discord.PermissionOverwrite(view_channel=False)},
        )
        if channel.overwrites_for(member_b).view_channel is not False:
            fail(f"the created channel's overwrites: {channel.overwrites!r}")
        channel = await channel.edit(name="mgmt-renamed", topic="renamed while hidden")
        if channel.name != "mgmt-renamed" or channel.topic != "renamed while hidden":
            fail(f"edit answered {channel.name!r} {channel.topic!r}")
        await channel.set_permissions(member_b, view_channel=True)
        index, created = await seen_b.wait_for(
            "guild_channel_create", lambda c: c.id == channel.id, after=start
        )
        earlier = [
            name
            for name, value in seen_b.events[start:index]
            if name.startswith("guild_channel")
        ]
        if earlier:
            fail(f"B saw {earlier} about the channel while it was hidden")
        if created.name != "mgmt-renamed" or created.topic != "renamed while hidden":
            fail(f"B's channel: {created.name!r} {created.topic!r}")
        if not created.permissions_for(created.guild.me).view_channel:
            fail("B cannot view the channel by discord.py's own computation")
        print("1a. B saw the channel appear only once its overwrite allowed it", flush=True)
        channel = await channel.edit(topic="visible now", slowmode_delay=5, nsfw=True)
        _, (before, after) = await seen_b.wait_for(
            "guild_channel_update", two(lambda b, a: a.id == channel.id and a.topic == "visible now")
        )
        if before.topic != "renamed while hidden" or after.slowmode_delay != 5 or not after.nsfw:
            fail(f"B's channel update: {before.topic!r} -> {after.topic!r}, {after.slowmode_delay}")
        print("1b. channel edit seen by B", flush=True)

        # 2. Roles.
        role = await guild.create_role(
            name="mods",
            permissions=discord.Permissions(manage_messages=True, kick_members=True),
            colour=discord.Colour(0x3498DB),
        )
        _, role_b = await seen_b.wait_for("guild_role_create", lambda r: r.id == role.id)
        if (
            role_b.name != "mods"
            or role_b.colour.value != 0x3498DB
            or role_b.permissions != discord.Permissions(manage_messages=True, kick_members=True)
        ):
            fail(f"B's role: {role_b.name!r} {role_b.colour} {role_b.permissions}")
        role = await role.edit(name="moderators", hoist=True, mentionable=True, colour=0xE67E22)
        if role is None or role.name != "moderators":
            fail(f"role.edit answered {role!r}")
        _, (before, after) = await seen_b.wait_for(
            "guild_role_update", two(lambda b, a: a.id == role.id and a.name == "moderators")
        )
        if before.name != "mods" or not after.hoist or not after.mentionable or after.colour.value != 0xE67E22:
            fail(f"B's role update: {before.name!r} -> {after!r}")
        print("2. role create/update seen by B", flush=True)

        # 3. Member roles and nick.
        await member_b.add_roles(role, reason="testing")
        _, (before, after) = await seen_b.wait_for(
            "member_update", two(lambda b, a: a.id == b_id and role in a.roles)
        )
        if role in before.roles:
            fail("B had the role before it was added")
        await member_b.remove_roles(role)
        await seen_b.wait_for("member_update", two(lambda b, a: a.id == b_id and role not in a.roles and role in b.roles))
        member_b = await member_b.edit(nick="bee")
        if member_b is None or member_b.nick != "bee":
            fail(f"member.edit answered {member_b!r}")
        _, (before, after) = await seen_b.wait_for(
            "member_update", two(lambda b, a: a.id == b_id and a.nick == "bee")
        )
        print("3. member role add/remove and nick seen by B", flush=True)

        # 3b. A timeout (discord.py's Member.timeout sends communication_disabled_until):
        # B sees itself timed out, cannot send, and can again once the timeout is removed.
        await member_b.timeout(datetime.timedelta(minutes=10), reason="quiet please")
        _, (before, after) = await seen_b.wait_for(
            "member_update", two(lambda b, a: a.id == b_id and a.is_timed_out())
        )
        general_b = client_b.get_channel(general_id)
        try:
            await general_b.send("am I muted?")
            fail("a timed-out member could send")
        except discord.Forbidden as error:
            if error.code != 50013:
                fail(f"timed-out send: {error.code}")
        await member_b.timeout(None)
        await seen_b.wait_for(
            "member_update", two(lambda b, a: a.id == b_id and not a.is_timed_out())
        )
        await general_b.send("free again")
        print("3b. timeout seen by B, its send refused, then lifted", flush=True)

        # 4. Invites.
        invite = await channel.create_invite(max_age=3600, max_uses=5)
        _, invite_a = await seen_a.wait_for("invite_create", lambda i: i.code == invite.code)
        if invite_a.max_uses != 5 or invite_a.channel.id != channel.id:
            fail(f"A's INVITE_CREATE: {invite_a!r}")
        fetched = await client_a.fetch_invite(invite.code)
        if fetched.guild.id != guild_id or fetched.channel.id != channel.id:
            fail(f"fetch_invite: {fetched!r}")
        await fetched.delete()
        await seen_a.wait_for("invite_delete", lambda i: i.code == invite.code)
        try:
            await client_a.fetch_invite(invite.code)
            fail("a deleted invite still resolves")
        except discord.NotFound:
            pass
        print("4. invite create/fetch/delete", flush=True)

        # 5. Listings.
        members = [m async for m in guild.fetch_members(limit=None)]
        if {client_a.user.id, b_id} - {m.id for m in members}:
            fail(f"fetch_members: {members!r}")
        channels = await guild.fetch_channels()
        if channel.id not in {c.id for c in channels}:
            fail(f"fetch_channels: {channels!r}")
        roles = await guild.fetch_roles()
        if role.id not in {r.id for r in roles}:
            fail(f"fetch_roles: {roles!r}")
        print(f"5. {len(members)} members, {len(channels)} channels, {len(roles)} roles", flush=True)

        # 6. Threads.
        starter = await channel.send("thread starter")
        thread = await starter.create_thread(name="from a message")
        _, thread_b = await seen_b.wait_for("thread_create", lambda t: t.id == thread.id)
        if thread_b.name != "from a message" or thread_b.parent_id != channel.id:
            fail(f"B's thread: {thread_b!r}")
        in_thread = await thread.send("inside the thread")
        _, message_b = await seen_b.wait_for("message", lambda m: m.id == in_thread.id)
        if message_b.channel.id != thread.id or message_b.content != "inside the thread":
            fail(f"B's thread message: {message_b!r}")
        await thread_b.join()
        _, joined = await seen_b.wait_for("thread_join", lambda t: t.id == thread.id)
        if joined.me is None or joined.me.id != b_id:
            fail(f"B's thread membership after join: {joined.me!r}")
        _, joiner = await seen_a.wait_for("thread_member_join", lambda m: m.id == b_id)
        if joiner.thread_id != thread.id:
            fail(f"A saw B join {joiner.thread_id}, not {thread.id}")
        await thread_b.leave()
        await seen_b.wait_for("thread_remove", lambda t: t.id == thread.id)
        loose = await channel.create_thread(name="no message", type=discord.ChannelType.public_thread)
        _, loose_b = await seen_b.wait_for("thread_create", lambda t: t.id == loose.id)
        if loose_b.type != discord.ChannelType.public_thread:
            fail(f"B's second thread: {loose_b!r}")
        print("6. threads from a message and without one, seen by B; B joined and left", flush=True)

        # 7. A human joins, is kicked, rejoins, is banned and unbanned.
        human_id, human_token = await register_human(boot, "mgmt_human")
        invite = await client_a.get_channel(general_id).create_invite()
        await accept_invite(boot, human_token, invite.code)
        await seen_b.wait_for("member_join", lambda m: m.id == human_id)
        human = guild.get_member(human_id) or await guild.fetch_member(human_id)
        await guild.kick(human, reason="testing")
        await seen_b.wait_for("member_remove", lambda m: m.id == human_id)
        await accept_invite(boot, human_token, invite.code)
        await seen_b.wait_for("member_join", lambda m: m.id == human_id)
        await guild.ban(discord.Object(human_id), reason="testing", delete_message_seconds=0)
        await seen_b.wait_for("member_ban", two(lambda g, u: u.id == human_id))
        bans = [entry async for entry in guild.bans()]
        if [entry.user.id for entry in bans] != [human_id] or bans[0].reason != "testing":
            fail(f"bans(): {bans!r}")
        await guild.unban(discord.Object(human_id))
        await seen_b.wait_for("member_unban", two(lambda g, u: u.id == human_id))
        print("7. join, kick, rejoin, ban, bans(), unban seen by B", flush=True)

        # 8. Deletes.
        await channel.delete()
        await seen_b.wait_for("guild_channel_delete", lambda c: c.id == channel.id)
        await role.delete()
        await seen_b.wait_for("guild_role_delete", lambda r: r.id == role.id)
        print("8. channel and role delete seen by B", flush=True)

        # 9. A DM, and A renames itself.
        dm = await member_b.create_dm()
        sent = await dm.send("a private word")
        _, dm_b = await seen_b.wait_for("message", lambda m: m.id == sent.id)
        if not isinstance(dm_b.channel, discord.DMChannel) or dm_b.content != "a private word":
            fail(f"B's DM: {dm_b!r} in {dm_b.channel!r}")
        me = await client_a.user.edit(username="flux_bot_a_renamed")
        if me.name != "flux_bot_a_renamed":
            fail(f"user.edit answered {me!r}")
        print("9. DM seen by B; A renamed", flush=True)

    await run_clients(
        [
            (client_a, seen_a, boot["bots"][0]["token"]),
            (client_b, seen_b, boot["bots"][1]["token"]),
        ],
        flow,
    )
    print("PASS: discord.py's guild management API works and B sees each change", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
