// Unmodified discord.js 14.28.1 against a running Flux: guild management by bot A, each
// change seen by bot B.
//
// Usage: node discordjs_guild_management.js <bootstrap.json>
//
// A (the demo guild's owner) creates a text channel whose overwrite hides it from B, edits
// it, then shows it to B with `permissionOverwrites.edit`: B's `channelCreate` comes only
// then, with the edited name. A edits it again (B's `channelUpdate`), creates and edits a
// role (B's `roleCreate` / `roleUpdate`), adds the role to B and removes it (B's
// `guildMemberUpdate` each time), creates and fetches an invite, lists members over REST
// (`members.list`) and over the gateway (`members.fetch`), starts a thread from a message
// (B's `threadCreate`), sends B a DM (B's `messageCreate` in a DM channel), deletes the
// channel and the role (B's `channelDelete` / `roleDelete`).
// Prints `FAIL: ...` and exits 1 on any failure, `PASS: ...` on success.
'use strict';

const fs = require('fs');
const {
  ChannelType,
  Client,
  GatewayIntentBits,
  Partials,
  PermissionFlagsBits,
} = require('discord.js');

const TIMEOUT_MS = 30_000;
const boot = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

// Every event B received, in order, so a check can also say what came before.
const seenB = [];

function waitFor(emitter, event, what, predicate = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS);
    const listener = (...args) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

async function login(token, record) {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMembers,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.GuildInvites,
      GatewayIntentBits.DirectMessages,
      GatewayIntentBits.MessageContent,
    ],
    partials: [Partials.Channel],
    rest: { api: boot.base_url + '/api' },
  });
  if (record) {
    for (const event of ['channelCreate', 'channelUpdate', 'channelDelete', 'threadCreate']) {
      client.on(event, (...args) => seenB.push([event, args[args.length - 1].id]));
    }
  }
  const ready = waitFor(client, 'clientReady', 'clientReady');
  await client.login(token);
  await ready;
  return client;
}

async function main() {
  const a = await login(boot.bots[0].token, false);
  const b = await login(boot.bots[1].token, true);
  const guild = await a.guilds.fetch(boot.guild_id);
  const memberB = await guild.members.fetch(b.user.id);

  // Channels.
  const start = seenB.length;
  const channel = await guild.channels.create({
    name: 'djs-mgmt',
    type: ChannelType.GuildText,
    topic: 'hidden',
    permissionOverwrites: [{ id: b.user.id, deny: [PermissionFlagsBits.ViewChannel] }],
  });
  const edited = await channel.edit({ name: 'djs-renamed', topic: 'renamed while hidden' });
  if (edited.name !== 'djs-renamed' || edited.topic !== 'renamed while hidden') {
    fail(`edit answered ${edited.name} ${edited.topic}`);
  }
  const shown = waitFor(b, 'channelCreate', 'B channelCreate', (c) => c.id === channel.id);
  await channel.permissionOverwrites.edit(b.user.id, { ViewChannel: true });
  const [createdB] = await shown;
  const early = seenB.slice(start).filter(([, id]) => id === channel.id);
  if (early[0][0] !== 'channelCreate') fail(`B's first event about the channel: ${early}`);
  if (createdB.name !== 'djs-renamed' || createdB.topic !== 'renamed while hidden') {
    fail(`B's channel: ${createdB.name} ${createdB.topic}`);
  }
  const updated = waitFor(b, 'channelUpdate', 'B channelUpdate', (_o, c) => c.id === channel.id);
  await channel.edit({ topic: 'visible now', rateLimitPerUser: 5 });
  const [, afterB] = await updated;
  if (afterB.topic !== 'visible now' || afterB.rateLimitPerUser !== 5) {
    fail(`B's channel update: ${afterB.topic} ${afterB.rateLimitPerUser}`);
  }
  console.log('channels: B saw create only once shown, then the update');

  // Roles.
  const roleCreated = waitFor(b, 'roleCreate', 'B roleCreate', (r) => r.name === 'djs-role');
  const role = await guild.roles.create({
    name: 'djs-role',
    colors: { primaryColor: 0x3498db },
    permissions: [PermissionFlagsBits.ManageMessages],
  });
  const [roleB] = await roleCreated;
  if (roleB.id !== role.id || roleB.color !== 0x3498db || !roleB.permissions.has(PermissionFlagsBits.ManageMessages)) {
    fail(`B's role: ${roleB.id} ${roleB.color} ${roleB.permissions.bitfield}`);
  }
  const roleUpdated = waitFor(b, 'roleUpdate', 'B roleUpdate', (_o, r) => r.id === role.id);
  await role.edit({ name: 'djs-role-2', hoist: true });
  const [, roleAfter] = await roleUpdated;
  if (roleAfter.name !== 'djs-role-2' || !roleAfter.hoist) fail(`B's role update: ${roleAfter.name}`);
  console.log('roles: create and update seen by B');

  // Member roles.
  const added = waitFor(b, 'guildMemberUpdate', 'B guildMemberUpdate (add)',
    (_o, m) => m.id === b.user.id && m.roles.cache.has(role.id));
  await memberB.roles.add(role);
  await added;
  const removed = waitFor(b, 'guildMemberUpdate', 'B guildMemberUpdate (remove)',
    (_o, m) => m.id === b.user.id && !m.roles.cache.has(role.id));
  await memberB.roles.remove(role);
  await removed;
  console.log('member roles: add and remove seen by B');

  // Invites and listings.
  const invite = await channel.createInvite({ maxAge: 3600, maxUses: 3 });
  const fetched = await a.fetchInvite(invite.code);
  if (fetched.guild.id !== boot.guild_id || fetched.channel.id !== channel.id || invite.maxUses !== 3) {
    fail(`invite: ${fetched.guild.id} ${fetched.channel.id} ${invite.maxUses}`);
  }
  const listed = await guild.members.list({ limit: 100 });
  const chunked = await guild.members.fetch();
  for (const members of [listed, chunked]) {
    if (!members.has(a.user.id) || !members.has(b.user.id)) fail(`members: ${[...members.keys()]}`);
  }
  console.log(`invite ${invite.code}; ${listed.size} members listed, ${chunked.size} chunked`);

  // Threads.
  const starter = await channel.send('thread starter');
  const threadSeen = waitFor(b, 'threadCreate', 'B threadCreate', (t) => t.name === 'djs-thread');
  const thread = await starter.startThread({ name: 'djs-thread' });
  const [threadB, newlyCreated] = await threadSeen;
  if (threadB.id !== thread.id || threadB.parentId !== channel.id || !newlyCreated) {
    fail(`B's thread: ${threadB.id} ${threadB.parentId} ${newlyCreated}`);
  }
  const inThread = waitFor(b, 'messageCreate', 'B messageCreate in the thread', (m) => m.channelId === thread.id);
  await thread.send('inside');
  await inThread;
  console.log('thread from a message seen by B');

  // A DM.
  const dmSeen = waitFor(b, 'messageCreate', 'B messageCreate in a DM', (m) => m.content === 'psst');
  const dm = await a.users.createDM(b.user.id);
  await dm.send('psst');
  const [dmB] = await dmSeen;
  if (dmB.channel.type !== ChannelType.DM || dmB.author.id !== a.user.id) {
    fail(`B's DM: type ${dmB.channel.type} from ${dmB.author.id}`);
  }
  console.log('DM seen by B');

  // Deletes.
  const channelGone = waitFor(b, 'channelDelete', 'B channelDelete', (c) => c.id === channel.id);
  await channel.delete();
  await channelGone;
  const roleGone = waitFor(b, 'roleDelete', 'B roleDelete', (r) => r.id === role.id);
  await role.delete();
  await roleGone;
  console.log('channel and role deletes seen by B');

  await a.destroy();
  await b.destroy();
  console.log('PASS: discord.js guild management, each change seen by B');
}

main().catch((error) => fail(error && error.stack ? error.stack : String(error)));
