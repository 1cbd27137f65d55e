//! Discord's permission engine: the bit set, its decimal string form, and the algorithm
//! that decides what a member may do in a channel and who may see a channel's events.
//!
//! Why: every REST route checks a permission, and every channel event is fanned out
//! only to the members who may view that channel. Both must agree with Discord, or
//! clients show buttons that fail and bots see messages they should not. Everything here
//! is a pure function of its inputs: no I/O, no clock (`now` is an argument), no state.
//!
//! Implements Discord's `topics/permissions` (API docs):
//! - the "Bitwise Permission Flags" table (`bits.rs`, [`Permissions`]);
//! - permissions as decimal strings, as API v8+ sends them (`decimal.rs`);
//! - "Permission Overwrites" (the `compute_base_permissions` and `compute_overwrites`
//!   pseudo-code), "Implicit Permissions", "Inherited Permissions (Threads)" and
//!   "Permissions for Timed Out Members" (`compute.rs`);
//! - who may view a channel, for fan-out (`visibility.rs`, [`members_who_can_view`]);
//! - the overwrite object's JSON (`wire.rs`: `Serialize`/`Deserialize` on [`Overwrite`]).
//!
//! Reading order: `bits.rs`, then `compute.rs` (its header lists each rule and where
//! Flux had to choose because Discord's text is open-ended), then `visibility.rs`.
//!
//! Elsewhere: role hierarchy (who may edit or grant which role), private-thread
//! membership, the 2FA requirement on moderation bits, and mapping a refusal to
//! Discord's 50001 Missing Access / 50013 Missing Permissions (the REST handlers).
//!
//! Checked by unit tests per rule and by `engine/tests/permissions_match_reference.rs`,
//! a property test against an independent bit-by-bit reference implementation.
//!
//! The `u64` constants below are the raw forms the stored model (`Role::permissions`)
//! and the demo world use.

mod bits;
mod compute;
mod decimal;
mod visibility;
mod wire;

pub use bits::Permissions;
pub use compute::{
    apply_implicit, apply_timeout, base_permissions, can_view, channel_permissions, for_thread,
    is_timed_out, permissions_in_channel, ChannelClass, Overwrite, OverwriteKind, NEEDS_CONNECT,
    NEEDS_SEND_MESSAGES, TIMEOUT_KEEPS,
};
pub use decimal::{PermissionsParseError, PERMISSIONS_DECIMAL_LEN_MAX};
pub use visibility::{members_who_can_view, ChannelSnapshot, GuildSnapshot, MemberSnapshot};

/// Allows creating instant invites.
pub const CREATE_INSTANT_INVITE: u64 = Permissions::CREATE_INSTANT_INVITE.bits();
/// Allows all permissions and bypasses channel overwrites.
pub const ADMINISTRATOR: u64 = Permissions::ADMINISTRATOR.bits();
/// Allows adding reactions to messages.
pub const ADD_REACTIONS: u64 = Permissions::ADD_REACTIONS.bits();
/// Allows using Go Live.
pub const STREAM: u64 = Permissions::STREAM.bits();
/// Allows viewing a channel.
pub const VIEW_CHANNEL: u64 = Permissions::VIEW_CHANNEL.bits();
/// Allows sending messages.
pub const SEND_MESSAGES: u64 = Permissions::SEND_MESSAGES.bits();
/// Links sent by this user are auto-embedded.
pub const EMBED_LINKS: u64 = Permissions::EMBED_LINKS.bits();
/// Allows uploading files.
pub const ATTACH_FILES: u64 = Permissions::ATTACH_FILES.bits();
/// Allows reading message history.
pub const READ_MESSAGE_HISTORY: u64 = Permissions::READ_MESSAGE_HISTORY.bits();
/// Allows using emojis from other guilds.
pub const USE_EXTERNAL_EMOJIS: u64 = Permissions::USE_EXTERNAL_EMOJIS.bits();
/// Allows joining a voice channel.
pub const CONNECT: u64 = Permissions::CONNECT.bits();
/// Allows speaking in a voice channel.
pub const SPEAK: u64 = Permissions::SPEAK.bits();
/// Allows voice activity detection.
pub const USE_VAD: u64 = Permissions::USE_VAD.bits();
/// Allows changing one's own nickname.
pub const CHANGE_NICKNAME: u64 = Permissions::CHANGE_NICKNAME.bits();
/// Allows using application commands.
pub const USE_APPLICATION_COMMANDS: u64 = Permissions::USE_APPLICATION_COMMANDS.bits();
/// Allows creating public threads.
pub const CREATE_PUBLIC_THREADS: u64 = Permissions::CREATE_PUBLIC_THREADS.bits();
/// Allows sending messages in threads.
pub const SEND_MESSAGES_IN_THREADS: u64 = Permissions::SEND_MESSAGES_IN_THREADS.bits();

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
const _: () = assert!(Permissions::from_bits(EVERYONE_DEFAULT).is_some());
