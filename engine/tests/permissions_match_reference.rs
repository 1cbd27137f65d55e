//! The permission engine agrees with a naive reference on random guilds, and fan-out's
//! visibility set is exactly the members the reference lets view the channel.
//!
//! The reference below is written separately from `engine::world::permissions`, straight
//! from Discord's `topics/permissions` text: one bit at a time, following the eight-step
//! hierarchy ("1. Base permissions given to @everyone … 8. Member-specific overwrites
//! that allow permissions"), then the implicit rules, thread inheritance and the timeout
//! rule. It uses its own bit numbers, copied from the docs' table, and none of the
//! engine's helpers; the engine is only called to be checked.
//!
//! The random guilds have an owner, roles with random permissions (ADMINISTRATOR now and
//! then), a role that was deleted but is still held and overwritten, members with random
//! role subsets (duplicates included) and timeouts (past or future), and channels of
//! every class with random overwrites for @everyone, roles, members, non-members, and a
//! member overwrite that carries the guild id.

use engine::world::permissions::{
    base_permissions, channel_permissions, members_who_can_view, ChannelClass, ChannelSnapshot,
    GuildSnapshot, MemberSnapshot, Overwrite, Permissions,
};
use engine::world::{GuildId, RoleId, UserId};
use proptest::prelude::*;
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------------------
// The reference, from the docs.
// ---------------------------------------------------------------------------------------

/// Every bit in the docs' "Bitwise Permission Flags" table: 0 to 46, then 48 to 52.
fn documented_bits() -> Vec<u32> {
    (0..=52).filter(|&bit| bit != 47).collect()
}

const ADMINISTRATOR: u32 = 3;
const VIEW_CHANNEL: u32 = 10;
const SEND_MESSAGES: u32 = 11;
const READ_MESSAGE_HISTORY: u32 = 16;
const CONNECT: u32 = 20;
const SEND_MESSAGES_IN_THREADS: u32 = 38;
/// "Denying SEND_MESSAGES implicitly denies MENTION_EVERYONE, SEND_TTS_MESSAGES,
/// ATTACH_FILES, and EMBED_LINKS."
const NEED_SEND_MESSAGES: [u32; 4] = [17, 12, 15, 14];
/// Without CONNECT in voice: MANAGE_CHANNELS (the docs' example) and the in-channel
/// voice actions Flux documents: PRIORITY_SPEAKER, STREAM, SPEAK, MUTE_MEMBERS,
/// DEAFEN_MEMBERS, MOVE_MEMBERS, USE_VAD, REQUEST_TO_SPEAK, USE_EMBEDDED_ACTIVITIES,
/// USE_SOUNDBOARD, USE_EXTERNAL_SOUNDS, SET_VOICE_CHANNEL_STATUS.
const NEED_CONNECT: [u32; 13] = [4, 8, 9, 21, 22, 23, 24, 25, 32, 39, 42, 45, 48];

fn has(value: u64, bit: u32) -> bool {
    value >> bit & 1 == 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Text,
    Voice,
    Thread,
    Category,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Role(u64),
    Member(u64),
}

#[derive(Debug, Clone)]
struct RefOverwrite {
    target: Target,
    allow: u64,
    deny: u64,
}

#[derive(Debug, Clone)]
struct RefMember {
    id: u64,
    roles: Vec<u64>,
    timeout_until_ms: Option<u64>,
}

#[derive(Debug, Clone)]
struct RefChannel {
    class: Class,
    overwrites: Vec<RefOverwrite>,
}

#[derive(Debug, Clone)]
struct RefGuild {
    id: u64,
    owner: u64,
    everyone: u64,
    /// Existing roles other than @everyone: (id, permissions).
    roles: Vec<(u64, u64)>,
    members: Vec<RefMember>,
    channels: Vec<RefChannel>,
}

struct Reference {
    base: u64,
    /// Guild level with the timeout rule applied.
    guild_level: u64,
    after_overwrites: u64,
    last: u64,
}

fn role_bits(guild: &RefGuild, role: u64) -> u64 {
    let mut bits = 0;
    for &(id, permissions) in &guild.roles {
        if id == role {
            bits = permissions;
        }
    }
    bits
}

fn reference(guild: &RefGuild, member: &RefMember, channel: &RefChannel, now_ms: u64) -> Reference {
    let all: u64 = documented_bits().iter().map(|bit| 1u64 << bit).sum();
    // Guild level: owner has everything; else @everyone, then each role.
    let mut base = 0u64;
    let administrator;
    if member.id == guild.owner {
        base = all;
        administrator = true;
    } else {
        for bit in documented_bits() {
            let mut granted = has(guild.everyone, bit);
            for &role in &member.roles {
                if has(role_bits(guild, role), bit) {
                    granted = true;
                }
            }
            if granted {
                base |= 1 << bit;
            }
        }
        administrator = has(base, ADMINISTRATOR);
        if administrator {
            base = all;
        }
    }
    let timed_out = matches!(member.timeout_until_ms, Some(until) if until > now_ms);
    if administrator {
        return Reference {
            base,
            guild_level: all,
            after_overwrites: all,
            last: all,
        };
    }

    // Channel level, one bit at a time, in the docs' order.
    let everyone_overwrite = channel
        .overwrites
        .iter()
        .find(|overwrite| overwrite.target == Target::Role(guild.id));
    let role_overwrites: Vec<&RefOverwrite> = channel
        .overwrites
        .iter()
        .filter(|overwrite| match overwrite.target {
            Target::Role(id) => id != guild.id && member.roles.contains(&id),
            Target::Member(_) => false,
        })
        .collect();
    let member_overwrite = channel
        .overwrites
        .iter()
        .find(|overwrite| overwrite.target == Target::Member(member.id));
    let mut after = 0u64;
    for bit in documented_bits() {
        // Steps 1 and 2.
        let mut granted = has(base, bit);
        // Steps 3 and 4.
        if let Some(overwrite) = everyone_overwrite {
            if has(overwrite.deny, bit) {
                granted = false;
            }
            if has(overwrite.allow, bit) {
                granted = true;
            }
        }
        // Step 5: any of the member's roles denying it.
        if role_overwrites
            .iter()
            .any(|overwrite| has(overwrite.deny, bit))
        {
            granted = false;
        }
        // Step 6: any of the member's roles allowing it.
        if role_overwrites
            .iter()
            .any(|overwrite| has(overwrite.allow, bit))
        {
            granted = true;
        }
        // Steps 7 and 8.
        if let Some(overwrite) = member_overwrite {
            if has(overwrite.deny, bit) {
                granted = false;
            }
            if has(overwrite.allow, bit) {
                granted = true;
            }
        }
        if granted {
            after |= 1 << bit;
        }
    }

    // Implicit permissions.
    let mut last = after;
    if !has(last, VIEW_CHANNEL) {
        last = 0;
    }
    if channel.class == Class::Thread && last != 0 {
        // SEND_MESSAGES is not inherited: SEND_MESSAGES_IN_THREADS decides.
        if has(last, SEND_MESSAGES_IN_THREADS) {
            last |= 1 << SEND_MESSAGES;
        } else {
            last &= !(1 << SEND_MESSAGES);
        }
    }
    if channel.class == Class::Voice && !has(last, CONNECT) {
        for bit in NEED_CONNECT {
            last &= !(1 << bit);
        }
    }
    if channel.class != Class::Category && !has(last, SEND_MESSAGES) {
        for bit in NEED_SEND_MESSAGES {
            last &= !(1 << bit);
        }
    }

    // Timed out: only VIEW_CHANNEL and READ_MESSAGE_HISTORY survive.
    let keep_if_timed_out = |value: u64| {
        if !timed_out {
            return value;
        }
        let mut kept = 0;
        for bit in [VIEW_CHANNEL, READ_MESSAGE_HISTORY] {
            if has(value, bit) {
                kept |= 1 << bit;
            }
        }
        kept
    };
    last = keep_if_timed_out(last);
    Reference {
        base,
        guild_level: keep_if_timed_out(base),
        after_overwrites: after,
        last,
    }
}

// ---------------------------------------------------------------------------------------
// The engine's view of the same guild.
// ---------------------------------------------------------------------------------------

fn engine_guild(guild: &RefGuild) -> GuildSnapshot {
    let mut roles: std::collections::HashMap<RoleId, Permissions> = guild
        .roles
        .iter()
        .map(|&(id, bits)| (RoleId(id), Permissions::from_bits_truncate(bits)))
        .collect();
    roles.insert(
        RoleId(guild.id),
        Permissions::from_bits_truncate(guild.everyone),
    );
    GuildSnapshot {
        guild_id: GuildId(guild.id),
        owner_id: UserId(guild.owner),
        roles,
        members: guild
            .members
            .iter()
            .map(|member| MemberSnapshot {
                user_id: UserId(member.id),
                role_ids: member.roles.iter().map(|&id| RoleId(id)).collect(),
                communication_disabled_until_unix_ms: member.timeout_until_ms,
            })
            .collect(),
    }
}

fn engine_channel(channel: &RefChannel) -> ChannelSnapshot {
    let class = match channel.class {
        Class::Text => ChannelClass::Text,
        Class::Voice => ChannelClass::Voice,
        Class::Thread => ChannelClass::Thread,
        Class::Category => ChannelClass::Category,
    };
    let overwrites = channel
        .overwrites
        .iter()
        .map(|overwrite| {
            let allow = Permissions::from_bits_truncate(overwrite.allow);
            let deny = Permissions::from_bits_truncate(overwrite.deny);
            match overwrite.target {
                Target::Role(id) => Overwrite::role(RoleId(id), allow, deny),
                Target::Member(id) => Overwrite::member(UserId(id), allow, deny),
            }
        })
        .collect();
    ChannelSnapshot {
        class,
        overwrites,
        private_thread_members: None,
    }
}

// ---------------------------------------------------------------------------------------
// Random guilds.
// ---------------------------------------------------------------------------------------

const GUILD_ID: u64 = 1_000;
const FIRST_ROLE_ID: u64 = 2_000;
const FIRST_USER_ID: u64 = 3_000;
const STRANGER_ID: u64 = 9_999;
const NOW_MS: u64 = 1_700_000_000_000;

/// Permission bits: dense, sparse, or none; undocumented bits included (dropped by
/// both sides).
fn bits() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (any::<u64>(), any::<u64>()).prop_map(|(a, b)| a & b),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c)| a & b & c),
        Just(0),
    ]
}

/// Role permissions: ADMINISTRATOR only now and then, or most members would be admins.
fn role_bits_strategy() -> impl Strategy<Value = u64> {
    (bits(), prop::bool::weighted(0.08)).prop_map(|(bits, admin)| {
        let bits = bits & !(1 << ADMINISTRATOR);
        if admin {
            bits | 1 << ADMINISTRATOR
        } else {
            bits
        }
    })
}

fn class() -> impl Strategy<Value = Class> {
    prop_oneof![
        Just(Class::Text),
        Just(Class::Voice),
        Just(Class::Thread),
        Just(Class::Category)
    ]
}

fn guild() -> impl Strategy<Value = RefGuild> {
    (0usize..6, 1usize..8).prop_flat_map(|(role_count, member_count)| {
        // Role index `role_count` is a deleted role: members still hold it and
        // channels may still overwrite it, but it grants nothing at guild level.
        let role_id = move |index: usize| FIRST_ROLE_ID + (index % (role_count + 1)) as u64;
        let member_id = move |index: usize| FIRST_USER_ID + (index % member_count) as u64;
        let member = (
            prop::collection::vec(0usize..16, 0..4),
            prop_oneof![
                Just(None),
                Just(Some(NOW_MS - 1)),
                Just(Some(NOW_MS)),
                Just(Some(NOW_MS + 60_000)),
            ],
        );
        let overwrite = (0usize..64, 0u8..8, bits(), bits());
        let channel = (class(), prop::collection::vec(overwrite, 0..8));
        (
            role_bits_strategy(),
            prop::collection::vec(role_bits_strategy(), role_count),
            prop::collection::vec(member, member_count),
            0usize..member_count,
            prop::collection::vec(channel, 1..6),
        )
            .prop_map(move |(everyone, roles, members, owner, channels)| {
                let roles = roles
                    .into_iter()
                    .enumerate()
                    .map(|(index, bits)| (role_id(index), bits))
                    .collect();
                let members = members
                    .into_iter()
                    .enumerate()
                    .map(|(index, (roles, timeout_until_ms))| RefMember {
                        id: member_id(index),
                        roles: roles.into_iter().map(role_id).collect(),
                        timeout_until_ms,
                    })
                    .collect();
                let channels = channels
                    .into_iter()
                    .map(|(class, raw)| {
                        let mut overwrites: Vec<RefOverwrite> = Vec::new();
                        for (index, kind, allow, deny) in raw {
                            let target = match kind {
                                0 | 1 => Target::Role(GUILD_ID),
                                2..=4 => Target::Role(role_id(index)),
                                5 | 6 => Target::Member(member_id(index)),
                                _ if index % 2 == 0 => Target::Member(STRANGER_ID),
                                _ => Target::Member(GUILD_ID),
                            };
                            // Discord keys overwrites by target: keep the first.
                            if overwrites.iter().all(|o| o.target != target) {
                                overwrites.push(RefOverwrite {
                                    target,
                                    allow,
                                    deny,
                                });
                            }
                        }
                        RefChannel { class, overwrites }
                    })
                    .collect();
                RefGuild {
                    id: GUILD_ID,
                    owner: member_id(owner),
                    everyone,
                    roles,
                    members,
                    channels,
                }
            })
    })
}

// ---------------------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------------------

#[test]
fn engine_all_is_the_documented_table() {
    let all: u64 = documented_bits().iter().map(|bit| 1u64 << bit).sum();
    assert_eq!(Permissions::ALL.bits(), all);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn every_member_in_every_channel_matches_the_reference(guild in guild()) {
        let snapshot = engine_guild(&guild);
        for channel in &guild.channels {
            let engine_channel = engine_channel(channel);
            let mut viewers = BTreeSet::new();
            for (member, engine_member) in guild.members.iter().zip(&snapshot.members) {
                let expected = reference(&guild, member, channel, NOW_MS);

                let base = snapshot.base_permissions(engine_member);
                prop_assert_eq!(base.bits(), expected.base, "base of {}", member.id);
                let everyone = Permissions::from_bits_truncate(guild.everyone);
                let roles = member
                    .roles
                    .iter()
                    .map(|&role| Permissions::from_bits_truncate(role_bits(&guild, role)));
                let free = base_permissions(UserId(guild.owner), everyone, UserId(member.id), roles);
                prop_assert_eq!(free, base);
                let guild_level = snapshot.guild_permissions(engine_member, NOW_MS);
                prop_assert_eq!(guild_level.bits(), expected.guild_level);

                let overwritten = channel_permissions(
                    base,
                    &engine_channel.overwrites,
                    GuildId(guild.id),
                    UserId(member.id),
                    &engine_member.role_ids,
                );
                prop_assert_eq!(
                    overwritten.bits(),
                    expected.after_overwrites,
                    "overwrites for {} in {:?}",
                    member.id,
                    channel
                );

                let got = snapshot.permissions_in(engine_member, &engine_channel, NOW_MS);
                prop_assert_eq!(
                    got.bits(),
                    expected.last,
                    "{} in {:?}: engine {:?}",
                    member.id,
                    channel,
                    got
                );
                if has(expected.last, VIEW_CHANNEL) {
                    viewers.insert(UserId(member.id));
                }
            }
            prop_assert_eq!(members_who_can_view(&snapshot, &engine_channel), viewers);
        }
    }
}
