// Unmodified discord.js 14, two bots against a running Flux: A sends two files
// (`channel.send({files})`: undici's multipart writer, `payload_json` + `files[n]`), each
// attachment's `url` downloads back byte-identical, B's messageCreate carries both, and
// `channel.bulkDelete` (POST …/messages/bulk-delete) reaches B's messageDeleteBulk.
//
// Usage: node discordjs_attachments.js <bootstrap.json>
// Prints `FAIL: ...` and exits 1 on any failure, `PASS: ...` on success.
'use strict';

const fs = require('fs');
const { AttachmentBuilder, Client, GatewayIntentBits } = require('discord.js');

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

  const text = Buffer.from('hello from "discord.js"\r\n--almost a boundary\n');
  const binary = Buffer.alloc(50_000, 0);
  for (let i = 0; i < binary.length; i += 1) binary[i] = (i * 31) % 256;
  const created = waitFor(b, 'messageCreate', 'B messageCreate', (m) => m.author.id === a.user.id);
  const sent = await channel.send({
    content: 'files from discord.js',
    files: [
      new AttachmentBuilder(text, { name: 'quote "me".txt', description: 'alt text' }),
      new AttachmentBuilder(binary, { name: 'data.bin' }),
    ],
  });
  const attachments = [...sent.attachments.values()];
  if (attachments.length !== 2) fail(`${attachments.length} attachments`);
  const [notes, blob] = attachments;
  if (notes.size !== text.length || blob.size !== binary.length) {
    fail(`sizes ${notes.size}, ${blob.size}`);
  }
  if (notes.description !== 'alt text') fail(`description ${JSON.stringify(notes.description)}`);
  if (blob.name !== 'data.bin') fail(`name ${blob.name}`);
  // undici writes `"` as %22 (the HTML form encoding); Flux decodes it, then stores the
  // name with Discord's character rules (`"` and space become `_`).
  if (notes.name !== 'quote__me_.txt') fail(`name ${notes.name}`);
  for (const [attachment, expected] of [[notes, text], [blob, binary]]) {
    const response = await fetch(attachment.url);
    const got = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || !got.equals(expected)) {
      fail(`${attachment.url}: ${response.status}, ${got.length} bytes, not the ${expected.length} sent`);
    }
  }
  console.log(`attachments served back byte-identical: ${attachments.map((x) => x.name).join(', ')}`);
  const [seen] = await created;
  if (seen.id !== sent.id || seen.attachments.size !== 2) {
    fail(`B saw ${seen.id} with ${seen.attachments.size} attachments`);
  }

  const first = await channel.send('bulk 1');
  const second = await channel.send('bulk 2');
  const bulk = waitFor(b, 'messageDeleteBulk', 'B messageDeleteBulk');
  const deleted = await channel.bulkDelete([first.id, second.id]);
  if (deleted.size !== 2) fail(`bulkDelete returned ${deleted.size}`);
  const [gone] = await bulk;
  const ids = [...gone.keys()].sort();
  if (JSON.stringify(ids) !== JSON.stringify([first.id, second.id].sort())) {
    fail(`B's messageDeleteBulk named ${ids}`);
  }
  console.log('B saw the bulk delete');

  await a.destroy();
  await b.destroy();
  console.log('PASS: files sent, served back byte-identical, received, and bulk deleted with discord.js');
}

main().catch((error) => fail(error.stack || String(error)));
