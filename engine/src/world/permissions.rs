//! The permission bits the demo world's roles use, as Discord numbers them.
//!
//! Only what a new guild's `@everyone` needs lives here; issue 6's permission engine
//! (base permissions, overwrites, implicit rules) will grow this file into the full set.
//! Permissions travel as decimal strings in JSON, because they exceed 2^53.

/// Allows creating instant invites.
pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
/// Allows all permissions and bypasses channel overwrites.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// Allows adding reactions to messages.
pub const ADD_REACTIONS: u64 = 1 << 6;
/// Allows using Go Live.
pub const STREAM: u64 = 1 << 9;
/// Allows viewing a channel.
pub const VIEW_CHANNEL: u64 = 1 << 10;
/// Allows sending messages.
pub const SEND_MESSAGES: u64 = 1 << 11;
/// Links sent by this user are auto-embedded.
pub const EMBED_LINKS: u64 = 1 << 14;
/// Allows uploading files.
pub const ATTACH_FILES: u64 = 1 << 15;
/// Allows reading message history.
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
/// Allows using emojis from other guilds.
pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
/// Allows joining a voice channel.
pub const CONNECT: u64 = 1 << 20;
/// Allows speaking in a voice channel.
pub const SPEAK: u64 = 1 << 21;
/// Allows voice activity detection.
pub const USE_VAD: u64 = 1 << 25;
/// Allows changing one's own nickname.
pub const CHANGE_NICKNAME: u64 = 1 << 26;
/// Allows using application commands.
pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
/// Allows creating public threads.
pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
/// Allows sending messages in threads.
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

/// What Discord grants `@everyone` in a newly created guild (the voice, text and
/// reaction basics; no moderation rights).
pub const EVERYONE_DEFAULT: u64 = CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS;

const _: () = assert!(EVERYONE_DEFAULT & ADMINISTRATOR == 0);
