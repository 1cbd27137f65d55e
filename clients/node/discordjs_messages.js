// Unmodified discord.js 14.28.1, two bots against a running Flux: A sends, edits, reacts to
// and deletes a message in #general; B receives each event with the right content; A
// fetches the channel's history newest first.
//
// Usage: node discordjs_messages.js <bootstrap.json>
// Prints `FAIL: ...` and exits 1 on any failure, `PASS: ...` on success.
'use strict';

const fs = require('fs');
const { Client, GatewayIntentBits } = require('discord.js');

const TIMEOUT_MS = 60_000;
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

async function login(token) {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.GuildMessageReactions,
      GatewayIntentBits.MessageContent,
    ],
    rest: { api: boot.base_url + '/api' },
  });
  const ready = waitFor(client, 'clientReady', 'clientReady');
  await client.login(token);
  await ready;
  return client;
}

async function main() {
  const a = await login(boot.bots[0].token);
  const b = await login(boot.bots[1].token);
  const channel = await a.channels.fetch(boot.text_channel_id);

  const created = waitFor(b, 'messageCreate', 'B messageCreate', (m) => m.author.id === a.user.id);
  const sent = await channel.send('hello from discord.js');
  const [seen] = await created;
  if (seen.id !== sent.id || seen.content !== 'hello from discord.js') {
    fail(`B saw ${seen.id} ${JSON.stringify(seen.content)}, A sent ${sent.id}`);
  }
  if (seen.guildId !== boot.guild_id || seen.channelId !== boot.text_channel_id) {
    fail(`B saw it in guild ${seen.guildId} channel ${seen.channelId}`);
  }
  console.log(`B received ${seen.id}: ${seen.content}`);

  const updated = waitFor(b, 'messageUpdate', 'B messageUpdate', (_old, m) => m.id === sent.id);
  await sent.edit('edited by discord.js');
  const [, after] = await updated;
  if (after.content !== 'edited by discord.js') fail(`B saw the edit as ${JSON.stringify(after.content)}`);

  const reacted = waitFor(b, 'messageReactionAdd', 'B messageReactionAdd', (r) => r.message.id === sent.id);
  await sent.react('👍');
  const [reaction, reactor] = await reacted;
  if (reaction.emoji.name !== '👍' || reactor.id !== a.user.id) {
    fail(`B saw reaction ${reaction.emoji.name} by ${reactor.id}`);
  }

  const history = await channel.messages.fetch({ limit: 10 });
  const ids = [...history.keys()];
  if (ids[0] !== sent.id) fail(`history is not newest first: ${ids}`);
  const sorted = [...ids].sort((x, y) => (BigInt(y) > BigInt(x) ? 1 : -1));
  if (ids.join() !== sorted.join()) fail(`history out of order: ${ids}`);

  const deleted = waitFor(b, 'messageDelete', 'B messageDelete', (m) => m.id === sent.id);
  await sent.delete();
  await deleted;

  await a.destroy();
  await b.destroy();
  console.log('PASS: discord.js sent, B received, edited, reacted, history newest first, deleted');
}

main().catch((error) => fail(error && error.stack ? error.stack : String(error)));
