// Unmodified discord.js 14.28.1 against a running Flux: ready, resume after a server-side
// drop, destroy.
//
// Usage: node discordjs_ready_resume.js <bootstrap.json>
//
// Only the documented `rest.api` knob is set; the gateway URL comes from Flux's
// `GET /gateway/bot` (CLIENTS.md §2). discord.js waits for a GUILD_CREATE for every guild in
// READY, closes with 4200 when it plans to resume, and resumes at READY's
// resume_gateway_url. Checks: ready as the demo bot with the demo guild and both channels
// cached; after Flux drops every gateway connection the shard resumes (Flux's metrics: one
// IDENTIFY, at least one RESUME); destroy() ends cleanly. Prints `FAIL: ...`, exits 1.
'use strict';

const fs = require('fs');
const { Client, GatewayIntentBits, ChannelType } = require('discord.js');

const TIMEOUT_MS = 60_000;
const boot = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

async function httpJson(method, path) {
  const response = await fetch(boot.base_url + path, { method });
  return response.json();
}

function waitFor(emitter, event, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function main() {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
    rest: { api: boot.base_url + '/api' },
  });
  const ready = waitFor(client, 'clientReady', 'clientReady');
  await client.login(boot.bots[0].token);
  await ready;

  if (client.user.id !== boot.bots[0].id) fail(`ready as ${client.user.id}`);
  const guild = client.guilds.cache.get(boot.guild_id);
  if (!guild || guild.name !== 'Flux') fail(`demo guild missing: ${[...client.guilds.cache.keys()]}`);
  const text = guild.channels.cache.get(boot.text_channel_id);
  const voice = guild.channels.cache.get(boot.voice_channel_id);
  if (!text || text.name !== 'general' || text.type !== ChannelType.GuildText) fail(`text channel: ${text}`);
  if (!voice || voice.name !== 'General' || voice.type !== ChannelType.GuildVoice) fail(`voice channel: ${voice}`);
  console.log(`ready: guild=${guild.name} channels=${[...guild.channels.cache.values()].map((c) => c.name)}`);

  const resumed = waitFor(client, 'shardResume', 'shardResume');
  console.log('server dropped connections:', await httpJson('POST', '/_flux/test/drop-gateway-connections'));
  await resumed;
  const metrics = await httpJson('GET', '/_flux/metrics');
  console.log('metrics after resume:', metrics);
  if (metrics.gateway_identify_total !== 1) fail(`expected exactly one IDENTIFY: ${JSON.stringify(metrics)}`);
  if (!(metrics.gateway_resume_total >= 1)) fail(`expected a RESUME: ${JSON.stringify(metrics)}`);

  await client.destroy();
  console.log('PASS: discord.js ready, resumed after a server-side drop, destroyed');
}

main().catch((error) => fail(error && error.stack ? error.stack : String(error)));
