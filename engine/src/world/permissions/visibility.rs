//! The permission view of one guild, and who may see a channel: what fan-out asks
//! before it writes a channel's event to a session.
//!
//! `GuildSnapshot` holds only what the algorithm reads (owner, role permissions,
//! members' roles and timeouts); a `ChannelSnapshot` holds a channel's class and
//! overwrites. Both can be built from the stored model (`of_guild`, `of_channel`) or by
//! hand. [`members_who_can_view`] is the set a channel's MESSAGE_CREATE, TYPING_START
//! and reaction events go to.
//!
//! Visibility takes no `now`: a timeout removes everything except VIEW_CHANNEL and
//! READ_MESSAGE_HISTORY (asserted at compile time in `compute.rs`), so it never hides a
//! channel.
//!
//! Elsewhere: the algorithm itself (`compute.rs`); sessions, intents and shards
//! (`crate::gateway`). A private thread's snapshot carries its members: only they and
//! MANAGE_THREADS holders see it (`of_guild_channel` builds thread snapshots).
//!
//! Invariant: `roles` holds the @everyone role under the guild id (the model's own
//! invariant); a member's role that is not in `roles` (deleted meanwhile) grants nothing.

use super::bits::Permissions;
use super::compute::{
    apply_timeout, base_permissions, can_view, is_timed_out, permissions_in_channel, ChannelClass,
    Overwrite,
};
use crate::world::ids::{GuildId, RoleId, UserId};
use crate::world::model::{Channel, ChannelKind, Guild, OverwriteTarget};
use std::collections::{BTreeSet, HashMap};

/// A member as the permission algorithm sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSnapshot {
    /// The member's user id.
    pub user_id: UserId,
    /// Their roles, without @everyone.
    pub role_ids: Vec<RoleId>,
    /// Discord's `communication_disabled_until` (Unix ms): timed out until then.
    pub communication_disabled_until_unix_ms: Option<u64>,
}

/// A guild as the permission algorithm sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildSnapshot {
    /// The guild id, which is also the @everyone role's id.
    pub guild_id: GuildId,
    /// The owner, who has every permission.
    pub owner_id: UserId,
    /// Every role's permissions, @everyone included.
    pub roles: HashMap<RoleId, Permissions>,
    /// The members.
    pub members: Vec<MemberSnapshot>,
}

/// A channel (or thread) as the permission algorithm sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSnapshot {
    /// Which implicit rules apply.
    pub class: ChannelClass,
    /// The channel's overwrites; for a thread, its parent's.
    pub overwrites: Vec<Overwrite>,
    /// For a private thread, its members: anyone else needs MANAGE_THREADS to see it.
    /// `None` for every other channel.
    pub private_thread_members: Option<BTreeSet<UserId>>,
}

impl GuildSnapshot {
    /// The permission view of a stored guild (the model has no timeouts yet, so no
    /// member is timed out).
    pub fn of_guild(guild: &Guild) -> GuildSnapshot {
        GuildSnapshot {
            guild_id: guild.id,
            owner_id: guild.owner_id,
            roles: guild
                .roles
                .iter()
                .map(|role| (role.id, Permissions::from_bits_truncate(role.permissions)))
                .collect(),
            members: guild
                .members
                .iter()
                .map(|member| MemberSnapshot {
                    user_id: member.user_id,
                    role_ids: member.roles.clone(),
                    communication_disabled_until_unix_ms: member
                        .communication_disabled_until_unix_ms,
                })
                .collect(),
        }
    }

    /// The member `user_id`, if they are in the guild.
    pub fn member(&self, user_id: UserId) -> Option<&MemberSnapshot> {
        self.members.iter().find(|member| member.user_id == user_id)
    }

    /// The member's guild-level permissions (no timeout applied: see `permissions_in`).
    pub fn base_permissions(&self, member: &MemberSnapshot) -> Permissions {
        debug_assert!(self.roles.contains_key(&self.guild_id.everyone_role()));
        let everyone_id = self.guild_id.everyone_role();
        let everyone = self.role_permissions(everyone_id);
        let roles = member
            .role_ids
            .iter()
            .filter(|&&role| role != everyone_id)
            .map(|&role| self.role_permissions(role));
        base_permissions(self.owner_id, everyone, member.user_id, roles)
    }

    /// The member's guild-level permissions at `now_unix_ms` (for guild routes: kick,
    /// ban, manage roles, nickname…): the base, cut to [`super::TIMEOUT_KEEPS`] while
    /// they are timed out, unless they are an administrator or the owner.
    pub fn guild_permissions(&self, member: &MemberSnapshot, now_unix_ms: u64) -> Permissions {
        let base = self.base_permissions(member);
        let timed_out = is_timed_out(member.communication_disabled_until_unix_ms, now_unix_ms);
        apply_timeout(base, base, timed_out)
    }

    /// Everything `member` may do in `channel` at `now_unix_ms`.
    ///
    /// ```
    /// use engine::world::permissions::{
    ///     ChannelClass, ChannelSnapshot, GuildSnapshot, MemberSnapshot, Overwrite, Permissions,
    /// };
    /// use engine::world::{GuildId, RoleId, UserId};
    ///
    /// let guild = GuildSnapshot {
    ///     guild_id: GuildId(1),
    ///     owner_id: UserId(9),
    ///     roles: [(RoleId(1), Permissions::VIEW_CHANNEL)].into(),
    ///     members: vec![MemberSnapshot {
    ///         user_id: UserId(2),
    ///         role_ids: vec![],
    ///         communication_disabled_until_unix_ms: None,
    ///     }],
    /// };
    /// let hidden = ChannelSnapshot {
    ///     class: ChannelClass::Text,
    ///     overwrites: vec![Overwrite::role(RoleId(1), Permissions::NONE, Permissions::VIEW_CHANNEL)],
    ///     private_thread_members: None,
    /// };
    /// assert_eq!(guild.permissions_in(&guild.members[0], &hidden, 0), Permissions::NONE);
    /// ```
    pub fn permissions_in(
        &self,
        member: &MemberSnapshot,
        channel: &ChannelSnapshot,
        now_unix_ms: u64,
    ) -> Permissions {
        let base = self.base_permissions(member);
        let permissions = permissions_in_channel(
            base,
            &channel.overwrites,
            channel.class,
            self.guild_id,
            member.user_id,
            &member.role_ids,
            is_timed_out(member.communication_disabled_until_unix_ms, now_unix_ms),
        );
        match &channel.private_thread_members {
            // Discord: a private thread is visible to its members and to those who may
            // manage threads (both still need to see the parent).
            Some(members)
                if !members.contains(&member.user_id)
                    && !permissions.contains(Permissions::MANAGE_THREADS) =>
            {
                Permissions::NONE
            }
            _ => permissions,
        }
    }

    fn role_permissions(&self, role: RoleId) -> Permissions {
        self.roles.get(&role).copied().unwrap_or(Permissions::NONE)
    }
}

impl ChannelSnapshot {
    /// The permission view of a stored channel. A thread needs its parent's overwrites,
    /// which only the guild has: use [`ChannelSnapshot::of_guild_channel`] for threads
    /// (here a thread gets no overwrites at all).
    pub fn of_channel(channel: &Channel) -> ChannelSnapshot {
        let class = match channel.kind {
            ChannelKind::Text(_) => ChannelClass::Text,
            ChannelKind::Voice(_) => ChannelClass::Voice,
            ChannelKind::Category => ChannelClass::Category,
            ChannelKind::Thread(_) => ChannelClass::Thread,
        };
        let overwrites = channel
            .permission_overwrites
            .iter()
            .map(|overwrite| {
                let allow = Permissions::from_bits_truncate(overwrite.allow);
                let deny = Permissions::from_bits_truncate(overwrite.deny);
                match overwrite.target {
                    OverwriteTarget::Role(role) => Overwrite::role(role, allow, deny),
                    OverwriteTarget::Member(user) => Overwrite::member(user, allow, deny),
                }
            })
            .collect();
        ChannelSnapshot {
            class,
            overwrites,
            private_thread_members: None,
        }
    }

    /// The permission view of `channel` in `guild`: for a thread, its parent's overwrites
    /// and, when private, its member list (a thread whose parent is gone sees nothing
    /// but what the guild-level permissions give).
    pub fn of_guild_channel(guild: &Guild, channel: &Channel) -> ChannelSnapshot {
        let ChannelKind::Thread(thread) = &channel.kind else {
            return ChannelSnapshot::of_channel(channel);
        };
        let parent = channel
            .parent_id
            .and_then(|parent| guild.channel(parent))
            .map(ChannelSnapshot::of_channel)
            .unwrap_or_else(|| ChannelSnapshot::of_channel(channel));
        let mut snapshot = ChannelSnapshot::thread_of(&parent);
        if thread.private {
            snapshot.private_thread_members =
                Some(thread.members.iter().map(|member| member.user_id).collect());
        }
        snapshot
    }

    /// A public thread of `parent`: threads have no overwrites and inherit their parent's.
    pub fn thread_of(parent: &ChannelSnapshot) -> ChannelSnapshot {
        ChannelSnapshot {
            class: ChannelClass::Thread,
            overwrites: parent.overwrites.clone(),
            private_thread_members: None,
        }
    }
}

/// The members allowed to view `channel`: the recipients of its events.
pub fn members_who_can_view(guild: &GuildSnapshot, channel: &ChannelSnapshot) -> BTreeSet<UserId> {
    guild
        .members
        .iter()
        // The time does not matter: a timeout never removes VIEW_CHANNEL.
        .filter(|member| can_view(guild.permissions_in(member, channel, 0)))
        .map(|member| member.user_id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo_world;

    #[test]
    fn demo_guild_channels_are_visible_to_every_member_but_staff() {
        let demo = demo_world(1_700_000_000_000, [7; 32]).expect("demo world");
        for guild in &demo.world.guilds {
            let snapshot = GuildSnapshot::of_guild(guild);
            let everyone: BTreeSet<UserId> = guild.members.iter().map(|m| m.user_id).collect();
            assert!(everyone.len() > 1);
            for channel in &guild.channels {
                let expected = if channel.id == demo.staff_channel_id {
                    [guild.owner_id].into() // @everyone is denied VIEW_CHANNEL there.
                } else {
                    everyone.clone()
                };
                let channel = ChannelSnapshot::of_channel(channel);
                assert_eq!(members_who_can_view(&snapshot, &channel), expected);
            }
        }
    }

    #[test]
    fn private_channel_is_visible_to_its_role_and_the_owner() {
        let guild_id = GuildId(50);
        let staff = RoleId(51);
        let member = |id: u64, roles: Vec<RoleId>| MemberSnapshot {
            user_id: UserId(id),
            role_ids: roles,
            communication_disabled_until_unix_ms: Some(u64::MAX),
        };
        let guild = GuildSnapshot {
            guild_id,
            owner_id: UserId(1),
            roles: [
                (guild_id.everyone_role(), Permissions::VIEW_CHANNEL),
                (staff, Permissions::NONE),
            ]
            .into(),
            members: vec![member(1, vec![]), member(2, vec![staff]), member(3, vec![])],
        };
        let channel = ChannelSnapshot {
            class: ChannelClass::Text,
            overwrites: vec![
                Overwrite::role(
                    guild_id.everyone_role(),
                    Permissions::NONE,
                    Permissions::VIEW_CHANNEL,
                ),
                Overwrite::role(staff, Permissions::VIEW_CHANNEL, Permissions::NONE),
            ],
            private_thread_members: None,
        };
        let expected: BTreeSet<UserId> = [UserId(1), UserId(2)].into();
        assert_eq!(members_who_can_view(&guild, &channel), expected);
        // Everyone here is timed out: guild rights shrink, except the owner's.
        assert_eq!(
            guild.guild_permissions(&guild.members[0], 0),
            Permissions::ALL
        );
        assert_eq!(
            guild.guild_permissions(&guild.members[1], 0),
            Permissions::VIEW_CHANNEL
        );
        let thread = ChannelSnapshot::thread_of(&channel);
        assert_eq!(members_who_can_view(&guild, &thread), expected);
        // A private thread: its member 2, and the owner (MANAGE_THREADS); member 3 can
        // never see the parent, so membership alone would not help them.
        let private = ChannelSnapshot {
            private_thread_members: Some([UserId(2), UserId(3)].into()),
            ..thread
        };
        assert_eq!(members_who_can_view(&guild, &private), expected);
        let private = ChannelSnapshot {
            private_thread_members: Some(BTreeSet::new()),
            ..private
        };
        assert_eq!(members_who_can_view(&guild, &private), [UserId(1)].into());
    }
}
