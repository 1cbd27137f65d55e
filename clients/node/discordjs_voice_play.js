// Unmodified discord.js 14 with @discordjs/voice against a running Flux: bot A joins the demo
// voice channel once bot B is in it, reaches VoiceConnectionStatus.Ready over Flux's voice
// gateway (TLS, v8) and UDP, and plays 50 distinct Opus frames (StreamType.Opus, so no
// encoder). B is a discord.py receiver run next to this script
// (clients/python/discordpy_voice_receive.py), which checks what it hears.
//
// Usage: NODE_EXTRA_CA_CERTS=<data-dir>/tls/cert.pem node discordjs_voice_play.js <bootstrap.json>
// Prints `FAIL: ...` and exits 1 on any failure, `PASS: ...` on success.
'use strict';

const fs = require('fs');
const { Readable } = require('stream');
const { Client, GatewayIntentBits } = require('discord.js');
const {
  AudioPlayerStatus,
  StreamType,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  entersState,
  joinVoiceChannel,
} = require('@discordjs/voice');

const TIMEOUT_MS = 30_000;
const boot = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// The same frames the receiver expects: a TOC byte, two filler bytes, the index, "flux".
const FRAMES = Array.from({ length: 50 }, (_, i) =>
  Buffer.concat([Buffer.from([0xfc, 0xff, 0xfe, i >> 8, i & 0xff]), Buffer.from('flux')]),
);

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

async function until(check, what) {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main() {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates],
    rest: { api: boot.base_url + '/api' },
  });
  const ready = new Promise((resolve) => client.once('clientReady', resolve));
  await client.login(boot.bots[0].token);
  await ready;
  const guild = await client.guilds.fetch(boot.guild_id);
  const listener = boot.bots[1].id;
  await until(
    () => guild.voiceStates.cache.get(listener)?.channelId === boot.voice_channel_id,
    'the listener in the voice channel',
  );

  const connection = joinVoiceChannel({
    channelId: boot.voice_channel_id,
    guildId: guild.id,
    adapterCreator: guild.voiceAdapterCreator,
    selfDeaf: false,
    selfMute: false,
  });
  connection.on('error', (error) => fail(`voice connection error: ${error}`));
  try {
    await entersState(connection, VoiceConnectionStatus.Ready, TIMEOUT_MS);
  } catch (error) {
    fail(`the voice connection did not become Ready: ${connection.state.status} (${error})`);
  }
  const mode = connection.state.networking?.state?.connectionData?.encryptionMode;
  console.log(`voice connection Ready, encryption mode ${mode}`);

  const player = createAudioPlayer();
  player.on('error', (error) => fail(`audio player error: ${error.message}`));
  connection.subscribe(player);
  const resource = createAudioResource(Readable.from(FRAMES), { inputType: StreamType.Opus });
  player.play(resource);
  await entersState(player, AudioPlayerStatus.Playing, TIMEOUT_MS);
  await entersState(player, AudioPlayerStatus.Idle, TIMEOUT_MS);
  // Let the trailing silence frames go out, then wait for the receiver's verdict.
  await new Promise((resolve) => setTimeout(resolve, 500));
  if (process.argv[3]) {
    await until(() => fs.existsSync(process.argv[3]), "the receiver's verdict");
  }
  connection.destroy();
  await client.destroy();
  console.log(`PASS: @discordjs/voice reached Ready (${mode}) and played ${FRAMES.length} Opus frames`);
}

main().catch((error) => fail(error.stack || String(error)));
