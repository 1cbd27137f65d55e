//! Who may do what to members and roles: the caller's guild permissions and Discord's
//! role hierarchy, decided once here for the member, role, ban and invite operations.
//!
//! Discord's rules (`topics/permissions`, "Permission Hierarchy"):
//! - The owner may do anything, to anyone but themself being kicked, banned or leaving.
//! - Everyone else needs the route's permission bit (ADMINISTRATOR implies every bit).
//! - A member may only manage (edit, assign, move, delete) roles *strictly below* their
//!   highest role, and may only kick, ban or rename members whose highest role is
//!   strictly below their own. ADMINISTRATOR does **not** lift the hierarchy; only
//!   ownership does.
//! - A member may not grant (or take away) a permission bit they lack themself, unless
//!   they are the owner or an administrator (who has every bit).
//!
//! A member's "highest role" is the greatest `position` among their roles, @everyone's
//! 0 when they have none. A refusal is 50013 Missing Permissions, as on Discord.
//!
//! A timed-out member (`communication_disabled_until` in the future) keeps only
//! VIEW_CHANNEL and READ_MESSAGE_HISTORY, unless they are an administrator or the owner,
//! exactly as the permission algorithm (`world::permissions`) applies it to channels: a
//! timed-out moderator may not kick, ban, time out or edit roles.

use crate::world::ids::{RoleId, UserId};
use crate::world::model::{Channel, Guild, Member};
use crate::world::permissions::{
    apply_timeout, base_permissions, is_timed_out, ChannelSnapshot, GuildSnapshot, Permissions,
};
use crate::world::Refusal;

/// The caller of a member or role route, as the hierarchy rules see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The caller.
    pub user_id: UserId,
    /// Whether they own the guild.
    pub owner: bool,
    /// Their guild-level permissions (every bit for the owner and administrators).
    pub permissions: Permissions,
    /// The position of their highest role (0: only @everyone).
    pub highest_position: i32,
}

impl Actor {
    /// The member `user_id` of `guild` as an actor at `now_unix_ms` (a timeout then in
    /// force takes their powers); 10004 Unknown Guild when they are not a member
    /// (Discord hides guilds from non-members).
    pub fn of(guild: &Guild, user_id: UserId, now_unix_ms: u64) -> Result<Actor, Refusal> {
        let member = guild.member(user_id).ok_or(Refusal::UnknownGuild)?;
        let base = member_permissions(guild, member);
        let timed_out = is_timed_out(member.communication_disabled_until_unix_ms, now_unix_ms);
        Ok(Actor {
            user_id,
            owner: guild.owner_id == user_id,
            permissions: apply_timeout(base, base, timed_out),
            highest_position: highest_position(guild, member),
        })
    }

    /// 50013 unless the actor holds every bit of `needed`.
    pub fn require(&self, needed: Permissions) -> Result<(), Refusal> {
        if self.permissions.contains(needed) {
            Ok(())
        } else {
            Err(Refusal::MissingPermissions)
        }
    }

    /// Whether the actor may manage a role at `position` (strictly below their highest,
    /// or they own the guild).
    pub fn outranks_position(&self, position: i32) -> bool {
        self.owner || position < self.highest_position
    }

    /// 50013 unless the actor may manage the role at `position`.
    pub fn require_outranks_position(&self, position: i32) -> Result<(), Refusal> {
        if self.outranks_position(position) {
            Ok(())
        } else {
            Err(Refusal::MissingPermissions)
        }
    }

    /// 50013 unless the actor may act on `target` (kick, ban, rename, change roles):
    /// never on the owner, and only below the actor's highest role.
    pub fn require_outranks_member(&self, guild: &Guild, target: &Member) -> Result<(), Refusal> {
        if target.user_id == guild.owner_id {
            return Err(Refusal::MissingPermissions);
        }
        self.require_outranks_position(highest_position(guild, target))
    }

    /// 50013 unless the actor may set or clear every bit in `changed` (a role's
    /// permissions before XOR after).
    pub fn require_may_grant(&self, changed: Permissions) -> Result<(), Refusal> {
        if self.owner || self.permissions.contains(changed) {
            Ok(())
        } else {
            Err(Refusal::MissingPermissions)
        }
    }
}

/// The member's guild-level permissions (Discord's `compute_base_permissions`), before
/// any timeout: what decides whether the member may be timed out at all.
pub fn member_permissions(guild: &Guild, member: &Member) -> Permissions {
    let everyone = guild
        .roles
        .iter()
        .find(|role| role.id == guild.id.everyone_role())
        .map_or(Permissions::NONE, |role| {
            Permissions::from_bits_truncate(role.permissions)
        });
    let roles = member
        .roles
        .iter()
        .filter_map(|id| role_permissions(guild, *id));
    base_permissions(guild.owner_id, everyone, member.user_id, roles)
}

/// The position of the member's highest role; 0 (@everyone's) when they have none.
pub fn highest_position(guild: &Guild, member: &Member) -> i32 {
    member
        .roles
        .iter()
        .filter_map(|id| guild.roles.iter().find(|role| role.id == *id))
        .map(|role| role.position)
        .max()
        .unwrap_or(0)
        .max(0)
}

/// What `user_id` may do in `channel` at `now_unix_ms` (overwrites, implicit rules and
/// a timeout then in force applied).
pub fn channel_permissions(
    guild: &Guild,
    channel: &Channel,
    user_id: UserId,
    now_unix_ms: u64,
) -> Permissions {
    let snapshot = GuildSnapshot::of_guild(guild);
    let Some(member) = snapshot.member(user_id) else {
        return Permissions::NONE;
    };
    // A thread inherits its parent's overwrites; a private one shows only to its members
    // and MANAGE_THREADS holders.
    let view = ChannelSnapshot::of_guild_channel(guild, channel);
    snapshot.permissions_in(member, &view, now_unix_ms)
}

fn role_permissions(guild: &Guild, id: RoleId) -> Option<Permissions> {
    if id == guild.id.everyone_role() {
        return None;
    }
    guild
        .roles
        .iter()
        .find(|role| role.id == id)
        .map(|role| Permissions::from_bits_truncate(role.permissions))
}
