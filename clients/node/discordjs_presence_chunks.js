// Unmodified discord.js 14.28.1 against a running Flux: member chunks (gateway op 8) and
// presence (op 3). Bot B (GuildMembers + GuildPresences) fetches every member with
// `guild.members.fetch()` and one by id (both op 8, answered by GUILD_MEMBERS_CHUNK with
// the request's nonce); bot A (no presence intent) sets itself idle playing chess and B's
// `presenceUpdate` sees it; A goes invisible and B sees it offline.
//
// Usage: node discordjs_presence_chunks.js <bootstrap.json>
// Prints `FAIL: ...` and exits 1 on any failure, `PASS: ...` on success.
'use strict';

const fs = require('fs');
const { ActivityType, Client, GatewayIntentBits } = require('discord.js');

const TIMEOUT_MS = 30_000;
const boot = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

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

async function login(token, intents) {
  const client = new Client({ intents, rest: { api: boot.base_url + '/api' } });
  const ready = waitFor(client, 'clientReady', 'clientReady');
  await client.login(token);
  await ready;
  return client;
}

async function main() {
  const [botA, botB] = boot.bots;
  const b = await login(botB.token, [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMembers,
    GatewayIntentBits.GuildPresences,
  ]);
  const guild = b.guilds.cache.get(boot.guild_id);
  if (!guild) fail(`B has no guild ${boot.guild_id}`);

  const everyone = await guild.members.fetch({ time: TIMEOUT_MS });
  const ids = [...everyone.keys()].sort();
  const want = boot.bots.map((bot) => bot.id).sort();
  if (ids.join() !== want.join()) fail(`members.fetch() gave ${ids}, want ${want}`);
  const one = await guild.members.fetch({ user: [botA.id], time: TIMEOUT_MS });
  if ([...one.keys()].join() !== botA.id) fail(`members.fetch({user}) gave ${[...one.keys()]}`);
  console.log(`chunks: all=${everyone.size} by id=${one.size}`);

  const a = await login(botA.token, [GatewayIntentBits.Guilds]);
  const idle = waitFor(b, 'presenceUpdate', 'B sees A idle', (_old, now) =>
    now.userId === botA.id && now.status === 'idle' && now.activities.some((x) => x.name === 'chess'));
  a.user.setPresence({ status: 'idle', activities: [{ name: 'chess', type: ActivityType.Playing }] });
  const [, seen] = await idle;
  console.log(`B saw A ${seen.status} in guild ${seen.guild && seen.guild.id}`);
  if (!seen.guild || seen.guild.id !== boot.guild_id) fail('the presence has no guild');

  const offline = waitFor(b, 'presenceUpdate', 'B sees A offline', (_old, now) =>
    now.userId === botA.id && now.status === 'offline');
  a.user.setPresence({ status: 'invisible', activities: [] });
  await offline;

  await a.destroy();
  await b.destroy();
  console.log('PASS: discord.js members.fetch (all, by id) and presenceUpdate idle then offline');
}

main().catch((error) => fail(error && error.stack ? error.stack : String(error)));
