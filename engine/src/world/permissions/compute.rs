//! Discord's permission algorithm: base permissions, channel overwrites, implicit rules,
//! threads and timeouts, as pure functions of their inputs.
//!
//! Implements `topics/permissions` of Discord's API docs:
//! - "Permission Overwrites": [`base_permissions`] is `compute_base_permissions` and
//!   [`channel_permissions`] is `compute_overwrites`, step for step (owner → ALL;
//!   @everyone | roles; ADMINISTRATOR → ALL; then @everyone's overwrite, all role
//!   overwrites' denies then all their allows, then the member's overwrite).
//! - "Implicit Permissions": [`apply_implicit`] (see [`ChannelClass`] for which rule
//!   applies where).
//! - "Inherited Permissions (Threads)": [`for_thread`].
//! - "Permissions for Timed Out Members": [`apply_timeout`].
//!
//! [`permissions_in_channel`] runs all of these in the one correct order; REST checks and
//! fan-out should call it (or `GuildSnapshot`, which does) rather than the steps.
//!
//! Elsewhere: role hierarchy checks (who may edit or assign which role) belong to the
//! REST handlers; private-thread membership and the 2FA requirement for moderation bits
//! are not permission bits and are not modelled here.
//!
//! Invariants:
//! - At most one overwrite per (kind, id) on a channel, as Discord keys them; asserted
//!   in debug builds (the REST layer replaces an overwrite rather than adding a second).
//! - Whatever the inputs, a member whose base permissions hold ADMINISTRATOR (the owner
//!   included) gets `Permissions::ALL` in every channel.

use super::bits::Permissions;
use crate::world::ids::{GuildId, RoleId, UserId};

/// Whose permissions an overwrite changes (Discord's overwrite `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverwriteKind {
    /// A role (`type` 0); the @everyone overwrite is the role overwrite whose id is the
    /// guild id.
    Role,
    /// A member (`type` 1).
    Member,
}

impl OverwriteKind {
    /// Discord's numeric overwrite type: 0 role, 1 member; `None` for anything else.
    pub fn from_discord_type(value: u64) -> Option<OverwriteKind> {
        match value {
            0 => Some(OverwriteKind::Role),
            1 => Some(OverwriteKind::Member),
            _ => None,
        }
    }

    /// Discord's numeric overwrite type.
    pub fn discord_type(self) -> u8 {
        match self {
            OverwriteKind::Role => 0,
            OverwriteKind::Member => 1,
        }
    }
}

/// A channel permission overwrite, as Discord sends it.
///
/// ```
/// use engine::world::permissions::{Overwrite, Permissions};
/// use engine::world::RoleId;
///
/// let mute = Overwrite::role(RoleId(7), Permissions::NONE, Permissions::SEND_MESSAGES);
/// assert_eq!(mute.id, 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    /// The role id or user id, depending on `kind`.
    pub id: u64,
    /// Whether `id` is a role or a member.
    pub kind: OverwriteKind,
    /// Permissions granted.
    pub allow: Permissions,
    /// Permissions removed (before `allow` is applied, so `allow` wins within one overwrite).
    pub deny: Permissions,
}

impl Overwrite {
    /// An overwrite for role `role` (the guild id's role is @everyone).
    pub fn role(role: RoleId, allow: Permissions, deny: Permissions) -> Overwrite {
        Overwrite {
            id: role.0,
            kind: OverwriteKind::Role,
            allow,
            deny,
        }
    }

    /// An overwrite for member `user`.
    pub fn member(user: UserId, allow: Permissions, deny: Permissions) -> Overwrite {
        Overwrite {
            id: user.0,
            kind: OverwriteKind::Member,
            allow,
            deny,
        }
    }

    /// Applies this overwrite: deny first, then allow.
    fn apply(&self, permissions: Permissions) -> Permissions {
        permissions.difference(self.deny) | self.allow
    }
}

/// Which implicit rules a channel is subject to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelClass {
    /// Text, announcement, forum and media channels (Discord types 0, 5, 15, 16): the
    /// SEND_MESSAGES rule.
    Text,
    /// Voice and stage channels (types 2, 13): the CONNECT rule, and the SEND_MESSAGES
    /// rule for their text chat.
    Voice,
    /// Threads (types 10, 11, 12): the parent's permissions, with SEND_MESSAGES taken
    /// from SEND_MESSAGES_IN_THREADS (see [`for_thread`]).
    Thread,
    /// Categories (type 4): only the VIEW_CHANNEL rule; they hold no messages.
    Category,
}

impl ChannelClass {
    /// The class of Discord channel type `discord_type`; `None` for DMs (types 1 and 3,
    /// which have no permission overwrites) and unknown types.
    pub fn of_discord_type(discord_type: u64) -> Option<ChannelClass> {
        match discord_type {
            0 | 5 | 15 | 16 => Some(ChannelClass::Text),
            2 | 13 => Some(ChannelClass::Voice),
            10..=12 => Some(ChannelClass::Thread),
            4 => Some(ChannelClass::Category),
            _ => None,
        }
    }
}

/// What a member cannot use in a channel where they cannot send messages: Discord's
/// documented list ("Denying SEND_MESSAGES implicitly denies MENTION_EVERYONE,
/// SEND_TTS_MESSAGES, ATTACH_FILES, and EMBED_LINKS").
pub const NEEDS_SEND_MESSAGES: Permissions = Permissions::MENTION_EVERYONE
    .union(Permissions::SEND_TTS_MESSAGES)
    .union(Permissions::ATTACH_FILES)
    .union(Permissions::EMBED_LINKS);

/// What a member cannot use in a voice or stage channel they cannot connect to.
///
/// Discord documents the rule with one example ("denying the CONNECT permission also
/// implicitly denies other permissions such as MANAGE_CHANNEL") and no list. Flux takes
/// that example plus every permission whose table entry is voice or stage only and that
/// acts inside the channel: speaking, streaming, activities, soundboard, priority
/// speaker, requesting to speak, setting the status, and muting, deafening or moving
/// the members in it. Text-chat permissions of a voice channel are not in this set;
/// they follow the SEND_MESSAGES rule.
pub const NEEDS_CONNECT: Permissions = Permissions::MANAGE_CHANNELS
    .union(Permissions::PRIORITY_SPEAKER)
    .union(Permissions::STREAM)
    .union(Permissions::SPEAK)
    .union(Permissions::MUTE_MEMBERS)
    .union(Permissions::DEAFEN_MEMBERS)
    .union(Permissions::MOVE_MEMBERS)
    .union(Permissions::USE_VAD)
    .union(Permissions::REQUEST_TO_SPEAK)
    .union(Permissions::USE_EMBEDDED_ACTIVITIES)
    .union(Permissions::USE_SOUNDBOARD)
    .union(Permissions::USE_EXTERNAL_SOUNDS)
    .union(Permissions::SET_VOICE_CHANNEL_STATUS);

/// What a timed-out member keeps: "Timed out members will temporarily lose all
/// permissions except VIEW_CHANNEL and READ_MESSAGE_HISTORY."
pub const TIMEOUT_KEEPS: Permissions =
    Permissions::VIEW_CHANNEL.union(Permissions::READ_MESSAGE_HISTORY);

const _: () = assert!(!NEEDS_SEND_MESSAGES.intersects(Permissions::SEND_MESSAGES));
const _: () = assert!(!NEEDS_CONNECT.intersects(Permissions::CONNECT));
const _: () = assert!(!NEEDS_CONNECT.intersects(Permissions::VIEW_CHANNEL));
// Visibility ignores timeouts; that is only right while a timeout keeps VIEW_CHANNEL.
const _: () = assert!(TIMEOUT_KEEPS.contains(Permissions::VIEW_CHANNEL));

/// A member's guild-level permissions (Discord's `compute_base_permissions`).
///
/// `member_role_permissions` are the permissions of the member's roles, without
/// @everyone, whose permissions are `everyone_permissions`.
///
/// ```
/// use engine::world::permissions::{base_permissions, Permissions};
/// use engine::world::UserId;
///
/// let everyone = Permissions::VIEW_CHANNEL;
/// let base = base_permissions(UserId(1), everyone, UserId(2), [Permissions::KICK_MEMBERS]);
/// assert_eq!(base, Permissions::VIEW_CHANNEL | Permissions::KICK_MEMBERS);
/// assert_eq!(base_permissions(UserId(1), everyone, UserId(1), []), Permissions::ALL);
/// ```
pub fn base_permissions(
    guild_owner_id: UserId,
    everyone_permissions: Permissions,
    member_id: UserId,
    member_role_permissions: impl IntoIterator<Item = Permissions>,
) -> Permissions {
    if member_id == guild_owner_id {
        return Permissions::ALL;
    }
    let permissions = member_role_permissions
        .into_iter()
        .fold(everyone_permissions, |permissions, role| permissions | role);
    if permissions.contains(Permissions::ADMINISTRATOR) {
        return Permissions::ALL;
    }
    permissions
}

/// A member's permissions in a channel after its overwrites (Discord's
/// `compute_overwrites`), before implicit rules and timeouts.
///
/// `member_role_ids` are the member's roles without @everyone (an @everyone id in it
/// is ignored: its overwrite is applied once, first, as Discord does).
pub fn channel_permissions(
    base: Permissions,
    overwrites: &[Overwrite],
    guild_id: GuildId,
    member_id: UserId,
    member_role_ids: &[RoleId],
) -> Permissions {
    if base.contains(Permissions::ADMINISTRATOR) {
        return Permissions::ALL;
    }
    debug_assert!(overwrites_are_unique(overwrites), "duplicate overwrite");
    let everyone_id = guild_id.everyone_role().0;
    let mut everyone = None;
    let mut member = None;
    let mut roles_allow = Permissions::NONE;
    let mut roles_deny = Permissions::NONE;
    for overwrite in overwrites {
        match overwrite.kind {
            OverwriteKind::Role if overwrite.id == everyone_id => everyone = Some(overwrite),
            OverwriteKind::Role => {
                if member_role_ids.iter().any(|role| role.0 == overwrite.id) {
                    roles_allow |= overwrite.allow;
                    roles_deny |= overwrite.deny;
                }
            }
            OverwriteKind::Member if overwrite.id == member_id.0 => member = Some(overwrite),
            OverwriteKind::Member => {}
        }
    }
    let mut permissions = base;
    if let Some(everyone) = everyone {
        permissions = everyone.apply(permissions);
    }
    permissions = permissions.difference(roles_deny) | roles_allow;
    if let Some(member) = member {
        permissions = member.apply(permissions);
    }
    permissions
}

/// Discord's implicit denials for a channel of class `class`, applied to the result of
/// [`channel_permissions`] (for a thread: of its parent's overwrites):
///
/// 1. Without VIEW_CHANNEL, nothing: the result is empty.
/// 2. Threads: [`for_thread`] replaces SEND_MESSAGES.
/// 3. Voice and stage without CONNECT: [`NEEDS_CONNECT`] is removed.
/// 4. Text, voice (its text chat) and threads without SEND_MESSAGES:
///    [`NEEDS_SEND_MESSAGES`] is removed.
pub fn apply_implicit(permissions: Permissions, class: ChannelClass) -> Permissions {
    if !can_view(permissions) {
        return Permissions::NONE;
    }
    let mut permissions = permissions;
    if class == ChannelClass::Thread {
        permissions = thread_send_rule(permissions);
    }
    if class == ChannelClass::Voice && !permissions.contains(Permissions::CONNECT) {
        permissions = permissions.difference(NEEDS_CONNECT);
    }
    let has_chat = matches!(
        class,
        ChannelClass::Text | ChannelClass::Voice | ChannelClass::Thread
    );
    if has_chat && !permissions.contains(Permissions::SEND_MESSAGES) {
        permissions = permissions.difference(NEEDS_SEND_MESSAGES);
    }
    permissions
}

/// A thread's permissions from its parent channel's permissions after overwrites
/// (threads have no overwrites of their own).
///
/// Discord: "Threads inherit permissions from the parent channel, with one exception:
/// the SEND_MESSAGES permission is not inherited; users must have
/// SEND_MESSAGES_IN_THREADS to send a message in a thread." And VIEW_CHANNEL on the
/// parent is needed to see any of its threads. So: no VIEW_CHANNEL on the parent gives
/// nothing; otherwise the parent's permissions, with SEND_MESSAGES present exactly
/// when SEND_MESSAGES_IN_THREADS is, and the SEND_MESSAGES implicit rule applied to
/// that. Pass the parent's permissions *before* its own implicit rules (a member denied
/// SEND_MESSAGES in an announcement channel but allowed SEND_MESSAGES_IN_THREADS keeps
/// ATTACH_FILES in its threads); this equals `apply_implicit(parent, Thread)`.
pub fn for_thread(parent_overwritten: Permissions) -> Permissions {
    apply_implicit(parent_overwritten, ChannelClass::Thread)
}

/// Discord's timeout rule: a timed-out member keeps only [`TIMEOUT_KEEPS`], unless
/// `base` holds ADMINISTRATOR (owners and administrators are exempt).
pub fn apply_timeout(permissions: Permissions, base: Permissions, timed_out: bool) -> Permissions {
    if !timed_out || base.contains(Permissions::ADMINISTRATOR) {
        return permissions;
    }
    permissions & TIMEOUT_KEEPS
}

/// Whether a member is timed out at `now_unix_ms`: their `communication_disabled_until`
/// is set and still in the future.
pub fn is_timed_out(communication_disabled_until_unix_ms: Option<u64>, now_unix_ms: u64) -> bool {
    communication_disabled_until_unix_ms.is_some_and(|until| until > now_unix_ms)
}

/// Whether these channel permissions let the member see the channel at all; fan-out
/// sends a channel's events only to members for whom this holds.
pub fn can_view(channel_permissions: Permissions) -> bool {
    channel_permissions.contains(Permissions::VIEW_CHANNEL)
}

/// Everything a member may do in one channel, in Discord's order: base permissions,
/// overwrites, implicit rules, then the timeout rule.
pub fn permissions_in_channel(
    base: Permissions,
    overwrites: &[Overwrite],
    class: ChannelClass,
    guild_id: GuildId,
    member_id: UserId,
    member_role_ids: &[RoleId],
    timed_out: bool,
) -> Permissions {
    let overwritten = channel_permissions(base, overwrites, guild_id, member_id, member_role_ids);
    let implicit = apply_implicit(overwritten, class);
    let result = apply_timeout(implicit, base, timed_out);
    debug_assert!(!base.contains(Permissions::ADMINISTRATOR) || result == Permissions::ALL);
    result
}

fn thread_send_rule(permissions: Permissions) -> Permissions {
    if permissions.contains(Permissions::SEND_MESSAGES_IN_THREADS) {
        permissions | Permissions::SEND_MESSAGES
    } else {
        permissions.difference(Permissions::SEND_MESSAGES)
    }
}

fn overwrites_are_unique(overwrites: &[Overwrite]) -> bool {
    overwrites.iter().enumerate().all(|(index, a)| {
        overwrites[index + 1..]
            .iter()
            .all(|b| (a.kind, a.id) != (b.kind, b.id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permissions as P;

    const GUILD: GuildId = GuildId(100);
    const OWNER: UserId = UserId(1);
    const ALICE: UserId = UserId(2);
    const MODS: RoleId = RoleId(10);
    const MUTED: RoleId = RoleId(11);

    fn everyone_overwrite(allow: P, deny: P) -> Overwrite {
        Overwrite::role(GUILD.everyone_role(), allow, deny)
    }

    fn text_default() -> P {
        P::VIEW_CHANNEL
            | P::SEND_MESSAGES
            | P::READ_MESSAGE_HISTORY
            | P::ATTACH_FILES
            | P::EMBED_LINKS
            | P::ADD_REACTIONS
    }

    #[test]
    fn owner_has_everything_whatever_the_roles() {
        assert_eq!(base_permissions(OWNER, P::NONE, OWNER, []), P::ALL);
        let deny_all = [
            everyone_overwrite(P::NONE, P::ALL),
            Overwrite::member(OWNER, P::NONE, P::ALL),
        ];
        let base = base_permissions(OWNER, P::NONE, OWNER, []);
        let channel =
            permissions_in_channel(base, &deny_all, ChannelClass::Text, GUILD, OWNER, &[], true);
        assert_eq!(channel, P::ALL);
    }

    #[test]
    fn administrator_from_any_role_gives_all_and_bypasses_overwrites() {
        let base = base_permissions(OWNER, P::VIEW_CHANNEL, ALICE, [P::SPEAK, P::ADMINISTRATOR]);
        assert_eq!(base, P::ALL);
        let deny = [Overwrite::member(ALICE, P::NONE, P::ALL)];
        assert_eq!(
            channel_permissions(base, &deny, GUILD, ALICE, &[MODS]),
            P::ALL
        );
        let everyone_admin = base_permissions(OWNER, P::ADMINISTRATOR, ALICE, []);
        assert_eq!(everyone_admin, P::ALL);
    }

    #[test]
    fn base_is_everyone_or_roles() {
        let base = base_permissions(
            OWNER,
            P::VIEW_CHANNEL,
            ALICE,
            [P::KICK_MEMBERS, P::BAN_MEMBERS],
        );
        assert_eq!(base, P::VIEW_CHANNEL | P::KICK_MEMBERS | P::BAN_MEMBERS);
    }

    #[test]
    fn everyone_deny_then_role_allow() {
        let overwrites = [
            everyone_overwrite(P::NONE, P::VIEW_CHANNEL),
            Overwrite::role(MODS, P::VIEW_CHANNEL, P::NONE),
        ];
        let base = text_default();
        assert!(!can_view(channel_permissions(
            base,
            &overwrites,
            GUILD,
            ALICE,
            &[]
        )));
        assert!(can_view(channel_permissions(
            base,
            &overwrites,
            GUILD,
            ALICE,
            &[MODS]
        )));
    }

    #[test]
    fn role_allow_beats_role_deny_whatever_the_order() {
        // Discord combines every role's deny, then every role's allow: an allow from
        // one role wins over a deny from another, regardless of position.
        for overwrites in [
            [
                Overwrite::role(MODS, P::SEND_MESSAGES, P::NONE),
                Overwrite::role(MUTED, P::NONE, P::SEND_MESSAGES),
            ],
            [
                Overwrite::role(MUTED, P::NONE, P::SEND_MESSAGES),
                Overwrite::role(MODS, P::SEND_MESSAGES, P::NONE),
            ],
        ] {
            let both =
                channel_permissions(text_default(), &overwrites, GUILD, ALICE, &[MUTED, MODS]);
            assert!(both.contains(P::SEND_MESSAGES));
            let muted_only =
                channel_permissions(text_default(), &overwrites, GUILD, ALICE, &[MUTED]);
            assert!(!muted_only.contains(P::SEND_MESSAGES));
        }
    }

    #[test]
    fn everyone_overwrite_applies_before_role_overwrites() {
        // @everyone allows ATTACH_FILES, a role denies it: the role's deny comes later.
        let overwrites = [
            Overwrite::role(MUTED, P::NONE, P::ATTACH_FILES),
            everyone_overwrite(P::ATTACH_FILES, P::NONE),
        ];
        let p = channel_permissions(P::VIEW_CHANNEL, &overwrites, GUILD, ALICE, &[MUTED]);
        assert!(!p.contains(P::ATTACH_FILES));
    }

    #[test]
    fn member_overwrite_beats_role_overwrites() {
        let overwrites = [
            Overwrite::role(MODS, P::MANAGE_MESSAGES, P::SEND_MESSAGES),
            Overwrite::member(ALICE, P::SEND_MESSAGES, P::MANAGE_MESSAGES),
        ];
        let p = channel_permissions(text_default(), &overwrites, GUILD, ALICE, &[MODS]);
        assert!(p.contains(P::SEND_MESSAGES));
        assert!(!p.contains(P::MANAGE_MESSAGES));
        // Another member's overwrite does nothing for Alice.
        let other = [Overwrite::member(UserId(3), P::NONE, P::VIEW_CHANNEL)];
        assert_eq!(
            channel_permissions(text_default(), &other, GUILD, ALICE, &[]),
            text_default()
        );
    }

    #[test]
    fn allow_wins_within_one_overwrite() {
        let overwrites = [everyone_overwrite(P::SPEAK, P::SPEAK)];
        assert!(channel_permissions(P::NONE, &overwrites, GUILD, ALICE, &[]).contains(P::SPEAK));
    }

    #[test]
    fn a_member_overwrite_with_the_guild_id_is_not_the_everyone_overwrite() {
        let overwrites = [Overwrite::member(UserId(GUILD.0), P::NONE, P::VIEW_CHANNEL)];
        assert!(can_view(channel_permissions(
            text_default(),
            &overwrites,
            GUILD,
            ALICE,
            &[]
        )));
    }

    #[test]
    fn an_everyone_id_among_the_roles_changes_nothing() {
        let overwrites = [
            everyone_overwrite(P::NONE, P::SEND_MESSAGES),
            Overwrite::role(MODS, P::SEND_MESSAGES, P::NONE),
        ];
        let with = channel_permissions(
            text_default(),
            &overwrites,
            GUILD,
            ALICE,
            &[MODS, GUILD.everyone_role()],
        );
        let without = channel_permissions(text_default(), &overwrites, GUILD, ALICE, &[MODS]);
        assert_eq!(with, without);
        let plain = channel_permissions(
            text_default(),
            &overwrites,
            GUILD,
            ALICE,
            &[GUILD.everyone_role()],
        );
        assert!(!plain.contains(P::SEND_MESSAGES));
    }

    #[test]
    fn no_view_channel_means_nothing() {
        let p = P::ALL
            .difference(P::VIEW_CHANNEL)
            .difference(P::ADMINISTRATOR);
        for class in [
            ChannelClass::Text,
            ChannelClass::Voice,
            ChannelClass::Thread,
            ChannelClass::Category,
        ] {
            assert_eq!(apply_implicit(p, class), P::NONE, "{class:?}");
        }
    }

    #[test]
    fn no_send_messages_removes_the_documented_four() {
        let p = text_default() | P::MENTION_EVERYONE | P::SEND_TTS_MESSAGES;
        let without_send = p.difference(P::SEND_MESSAGES);
        let expected = P::VIEW_CHANNEL | P::READ_MESSAGE_HISTORY | P::ADD_REACTIONS;
        assert_eq!(apply_implicit(without_send, ChannelClass::Text), expected);
        assert_eq!(apply_implicit(without_send, ChannelClass::Voice), expected);
        assert_eq!(
            apply_implicit(without_send, ChannelClass::Category),
            without_send
        );
        assert_eq!(apply_implicit(p, ChannelClass::Text), p);
    }

    #[test]
    fn no_connect_removes_voice_actions_only() {
        let voice = P::VIEW_CHANNEL
            | P::SPEAK
            | P::STREAM
            | P::USE_VAD
            | P::MOVE_MEMBERS
            | P::MANAGE_CHANNELS;
        let p = voice | P::SEND_MESSAGES | P::ATTACH_FILES;
        assert_eq!(
            apply_implicit(p, ChannelClass::Voice),
            P::VIEW_CHANNEL | P::SEND_MESSAGES | P::ATTACH_FILES
        );
        assert_eq!(
            apply_implicit(p | P::CONNECT, ChannelClass::Voice),
            p | P::CONNECT
        );
        // A text channel has no CONNECT rule.
        assert_eq!(apply_implicit(p, ChannelClass::Text), p);
    }

    #[test]
    fn threads_send_with_send_messages_in_threads() {
        let announcement = P::VIEW_CHANNEL
            | P::READ_MESSAGE_HISTORY
            | P::ATTACH_FILES
            | P::SEND_MESSAGES_IN_THREADS;
        // Denied SEND_MESSAGES in the parent, allowed in its threads.
        let thread = for_thread(announcement);
        assert!(thread.contains(P::SEND_MESSAGES | P::ATTACH_FILES));
        // Allowed SEND_MESSAGES in the parent but not in threads.
        let parent = P::VIEW_CHANNEL | P::SEND_MESSAGES | P::ATTACH_FILES;
        let thread = for_thread(parent);
        assert!(!thread.contains(P::SEND_MESSAGES));
        assert!(!thread.contains(P::ATTACH_FILES));
        assert!(thread.contains(P::VIEW_CHANNEL));
        // No VIEW_CHANNEL on the parent hides every thread.
        assert_eq!(for_thread(P::ALL.difference(P::VIEW_CHANNEL)), P::NONE);
    }

    #[test]
    fn thread_inherits_the_parents_overwrites() {
        let overwrites = [
            everyone_overwrite(P::NONE, P::SEND_MESSAGES),
            Overwrite::role(MODS, P::SEND_MESSAGES_IN_THREADS, P::NONE),
        ];
        let base = text_default();
        let in_thread = |roles: &[RoleId]| {
            permissions_in_channel(
                base,
                &overwrites,
                ChannelClass::Thread,
                GUILD,
                ALICE,
                roles,
                false,
            )
        };
        assert!(!in_thread(&[]).contains(P::SEND_MESSAGES));
        assert!(in_thread(&[MODS]).contains(P::SEND_MESSAGES));
        let in_parent = permissions_in_channel(
            base,
            &overwrites,
            ChannelClass::Text,
            GUILD,
            ALICE,
            &[MODS],
            false,
        );
        assert!(!in_parent.contains(P::SEND_MESSAGES));
    }

    #[test]
    fn timed_out_members_keep_view_and_history_only() {
        let base = text_default() | P::MODERATE_MEMBERS;
        let overwrites = [Overwrite::member(ALICE, P::MENTION_EVERYONE, P::NONE)];
        let p = permissions_in_channel(
            base,
            &overwrites,
            ChannelClass::Text,
            GUILD,
            ALICE,
            &[],
            true,
        );
        assert_eq!(p, P::VIEW_CHANNEL | P::READ_MESSAGE_HISTORY);
        // Still hidden where they could not view anyway.
        let hidden = [Overwrite::member(ALICE, P::NONE, P::VIEW_CHANNEL)];
        let p = permissions_in_channel(base, &hidden, ChannelClass::Text, GUILD, ALICE, &[], true);
        assert_eq!(p, P::NONE);
        // Administrators are exempt.
        let admin = base_permissions(OWNER, P::NONE, ALICE, [P::ADMINISTRATOR]);
        let p = permissions_in_channel(admin, &hidden, ChannelClass::Text, GUILD, ALICE, &[], true);
        assert_eq!(p, P::ALL);
    }

    #[test]
    fn timeout_is_over_when_the_deadline_passes() {
        assert!(is_timed_out(Some(1_001), 1_000));
        assert!(!is_timed_out(Some(1_000), 1_000));
        assert!(!is_timed_out(None, 1_000));
    }

    #[test]
    fn class_of_discord_types() {
        assert_eq!(ChannelClass::of_discord_type(0), Some(ChannelClass::Text));
        assert_eq!(ChannelClass::of_discord_type(5), Some(ChannelClass::Text));
        assert_eq!(ChannelClass::of_discord_type(2), Some(ChannelClass::Voice));
        assert_eq!(ChannelClass::of_discord_type(13), Some(ChannelClass::Voice));
        assert_eq!(
            ChannelClass::of_discord_type(11),
            Some(ChannelClass::Thread)
        );
        assert_eq!(
            ChannelClass::of_discord_type(4),
            Some(ChannelClass::Category)
        );
        assert_eq!(ChannelClass::of_discord_type(1), None);
        assert_eq!(
            OverwriteKind::from_discord_type(1),
            Some(OverwriteKind::Member)
        );
        assert_eq!(OverwriteKind::from_discord_type(2), None);
        assert_eq!(OverwriteKind::Role.discord_type(), 0);
    }
}
