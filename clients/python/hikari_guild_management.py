"""Unmodified hikari 2.7.0's REST client against Flux: guild management, every answer
deserialised into hikari's models (hikari reads each field it models and fails on a
missing or mistyped one).

Usage: hikari_guild_management.py <bootstrap.json>

Bot A (the demo guild's owner) creates a text channel with an overwrite, edits it and
its overwrites, lists channels; creates, edits and lists roles; adds a role to bot B and
removes it, edits B's nick, fetches B and the member list; creates, fetches, lists and
deletes an invite; fetches the guild; starts threads (from a message and without one)
and lists active ones; opens a DM with B; bans, lists and unbans a registered human;
deletes the channel and the role. Each answer is checked against what was asked.
Prints `FAIL: ...` and exits 1 on any failure, `PASS: ...` on success.
"""

import asyncio
import json
import sys

import aiohttp
import hikari


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


async def register_human(boot, username):
    async with aiohttp.ClientSession() as http:
        async with http.post(
            boot["base_url"] + "/api/v10/auth/register",
            json={"username": username, "password": "correct horse battery"},
        ) as response:
            body = await response.json()
            check(response.status == 201, f"register: {response.status} {body}")
            return int(body["user"]["id"])


async def main(boot):
    guild_id = int(boot["guild_id"])
    general_id = int(boot["text_channel_id"])
    a_id, b_id = int(boot["bots"][0]["id"]), int(boot["bots"][1]["id"])
    app = hikari.RESTApp(url=boot["base_url"] + "/api/v10")
    await app.start()
    try:
        async with app.acquire(boot["bots"][0]["token"], hikari.TokenType.BOT) as rest:
            await flow(rest, boot, guild_id, general_id, a_id, b_id)
    finally:
        await app.close()
    print("PASS: hikari's REST client deserialised every guild-management answer", flush=True)


async def flow(rest, boot, guild_id, general_id, a_id, b_id):
    # Channels and overwrites.
    hide_b = hikari.PermissionOverwrite(
        id=b_id, type=hikari.PermissionOverwriteType.MEMBER, deny=hikari.Permissions.VIEW_CHANNEL
    )
    channel = await rest.create_guild_text_channel(
        guild_id, "hikari-mgmt", topic="made by hikari", permission_overwrites=[hide_b]
    )
    check(isinstance(channel, hikari.GuildTextChannel), f"created {channel!r}")
    check(channel.name == "hikari-mgmt" and channel.topic == "made by hikari", f"created {channel!r}")
    check(
        channel.permission_overwrites[b_id].deny == hikari.Permissions.VIEW_CHANNEL,
        f"overwrites {channel.permission_overwrites!r}",
    )
    edited = await rest.edit_channel(channel.id, name="hikari-renamed", topic="edited", rate_limit_per_user=3)
    check(
        edited.name == "hikari-renamed" and edited.topic == "edited" and edited.rate_limit_per_user.total_seconds() == 3,
        f"edited {edited!r}",
    )
    await rest.edit_permission_overwrite(
        channel.id, b_id, target_type=hikari.PermissionOverwriteType.MEMBER, allow=hikari.Permissions.VIEW_CHANNEL
    )
    fetched = await rest.fetch_channel(channel.id)
    check(
        fetched.permission_overwrites[b_id].allow == hikari.Permissions.VIEW_CHANNEL,
        f"overwrite after edit {fetched.permission_overwrites!r}",
    )
    channels = await rest.fetch_guild_channels(guild_id)
    check(channel.id in {c.id for c in channels}, f"channels {channels!r}")
    print(f"channels: created, edited, overwrite set; {len(channels)} listed", flush=True)

    # Roles.
    role = await rest.create_role(
        guild_id, name="hikari-role", permissions=hikari.Permissions.MANAGE_MESSAGES, color=0x2ECC71, hoist=True
    )
    check(
        role.name == "hikari-role" and role.color == 0x2ECC71 and role.is_hoisted
        and role.permissions == hikari.Permissions.MANAGE_MESSAGES,
        f"role {role!r}",
    )
    role = await rest.edit_role(guild_id, role.id, name="hikari-role-2", mentionable=True)
    check(role.name == "hikari-role-2" and role.is_mentionable, f"edited role {role!r}")
    roles = await rest.fetch_roles(guild_id)
    check(role.id in {r.id for r in roles}, f"roles {roles!r}")
    print(f"roles: created, edited; {len(roles)} listed", flush=True)

    # Members.
    await rest.add_role_to_member(guild_id, b_id, role.id, reason="testing")
    member = await rest.fetch_member(guild_id, b_id)
    check(role.id in member.role_ids, f"B's roles after add: {member.role_ids}")
    await rest.remove_role_from_member(guild_id, b_id, role.id)
    member = await rest.edit_member(guild_id, b_id, nickname="hikari-nick")
    check(member.nickname == "hikari-nick" and role.id not in member.role_ids, f"edited member {member!r}")
    members = [m async for m in rest.fetch_members(guild_id)]
    check({a_id, b_id} <= {m.id for m in members}, f"members {members!r}")
    print(f"members: role added and removed, nick set; {len(members)} listed", flush=True)

    # Invites.
    invite = await rest.create_invite(channel.id, max_age=3600, max_uses=2)
    check(invite.channel_id == channel.id and invite.max_uses == 2, f"invite {invite!r}")
    got = await rest.fetch_invite(invite.code)
    check(got.guild_id == guild_id and got.channel_id == channel.id, f"fetched invite {got!r}")
    check(invite.code in {i.code for i in await rest.fetch_channel_invites(channel.id)}, "channel invites")
    check(invite.code in {i.code for i in await rest.fetch_guild_invites(guild_id)}, "guild invites")
    await rest.delete_invite(invite.code)
    print(f"invites: {invite.code} created, fetched, listed, deleted", flush=True)

    # The guild.
    guild = await rest.fetch_guild(guild_id)
    check(guild.id == guild_id and guild.owner_id == a_id, f"guild {guild!r}")
    check(role.id in guild.roles, f"the guild's roles {list(guild.roles)!r}")
    print(f"guild: {guild.name!r}, {len(guild.roles)} roles", flush=True)

    # Threads.
    starter = await rest.create_message(channel.id, "thread starter")
    thread = await rest.create_message_thread(channel.id, starter.id, "hikari-thread")
    check(isinstance(thread, hikari.GuildThreadChannel) and thread.parent_id == channel.id, f"thread {thread!r}")
    loose = await rest.create_thread(channel.id, hikari.ChannelType.GUILD_PUBLIC_THREAD, "hikari-loose")
    check(loose.name == "hikari-loose", f"thread {loose!r}")
    sent = await rest.create_message(thread.id, "inside")
    check(sent.channel_id == thread.id, f"thread message {sent!r}")
    active = await rest.fetch_active_threads(guild_id)
    check({thread.id, loose.id} <= {t.id for t in active}, f"active threads {active!r}")
    print("threads: from a message, without one, active listed", flush=True)

    # A DM.
    dm = await rest.create_dm_channel(b_id)
    check(isinstance(dm, hikari.DMChannel) and dm.recipient.id == b_id, f"DM {dm!r}")
    dm_message = await rest.create_message(dm.id, "a word in private")
    check(dm_message.channel_id == dm.id and dm_message.guild_id is None, f"DM message {dm_message!r}")
    print("DM: opened and sent", flush=True)

    # Bans (of a human who never joined: a ban needs only a known user).
    human_id = await register_human(boot, "hikari_human")
    await rest.ban_user(guild_id, human_id, reason="testing")
    bans = [ban async for ban in rest.fetch_bans(guild_id)]
    check([ban.user.id for ban in bans] == [human_id], f"bans {bans!r}")
    ban = await rest.fetch_ban(guild_id, human_id)
    check(ban.reason == "testing", f"ban {ban!r}")
    await rest.unban_user(guild_id, human_id)
    print("bans: ban, list, fetch, unban", flush=True)

    # Deletes.
    deleted = await rest.delete_channel(channel.id)
    check(deleted.id == channel.id, f"deleted {deleted!r}")
    await rest.delete_role(guild_id, role.id)
    check(role.id not in {r.id for r in await rest.fetch_roles(guild_id)}, "the role is gone")
    print("deletes: channel and role", flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bootstrap = json.load(f)
    asyncio.run(main(bootstrap))
