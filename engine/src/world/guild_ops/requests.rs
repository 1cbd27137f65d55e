//! The typed requests of the guild, channel, overwrite, thread, member, role, ban and
//! invite routes: what the owner core's operations take (`route_entry::apply`,
//! `apply_member_route`), with the path parameters already checked.
//!
//! Why here and not in `rest`: these are the operations' inputs, so the domain owns their
//! types; `rest::guild_routes` and `rest::member_routes` parse paths into them and
//! re-export them next to their parsers. A route's body and query become a
//! [`GuildRequest`] or [`MemberRequest`] (`rest::guild_bodies`, `rest::member_bodies`), on
//! the receiving core, before the call goes to the guild's owner.
//!
//! A body's refusal travels as a value ([`Parsed`]): Discord checks who may act before
//! it looks at the body (a non-member gets 10004 for any body, a member without the
//! permission 50013), so the owner answers the parse's refusal at the point where the
//! operation would have read the body, and every answer stays as it was.

use super::channel_forms::{ChannelEdit, ChannelForm, ChannelPositions, OverwriteForm, ThreadForm};
use super::guild_forms::{GuildEdit, GuildForm, GuildQuery};
use super::member_forms::{
    BanForm, BanListQuery, InviteForm, InviteQuery, MemberEdit, MemberListQuery, MemberSearchQuery,
    RoleForm, RolePositions,
};
use super::Target;
use crate::world::message::MessageId;
use crate::world::Refusal;
use crate::world::{ChannelId, GuildId, RoleId, UserId};

/// A guild, channel, overwrite or thread route with its path parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuildRoute {
    /// `POST /guilds`
    CreateGuild,
    /// `GET /guilds/{guild.id}` (query `with_counts`)
    GetGuild(GuildId),
    /// `PATCH /guilds/{guild.id}`
    ModifyGuild(GuildId),
    /// `DELETE /guilds/{guild.id}`
    DeleteGuild(GuildId),
    /// `GET /guilds/{guild.id}/channels`
    ListChannels(GuildId),
    /// `POST /guilds/{guild.id}/channels`
    CreateChannel(GuildId),
    /// `PATCH /guilds/{guild.id}/channels`
    ModifyChannelPositions(GuildId),
    /// `GET /guilds/{guild.id}/threads/active`
    ActiveThreads(GuildId),
    /// `GET /channels/{channel.id}`
    GetChannel(ChannelId),
    /// `PATCH /channels/{channel.id}`
    ModifyChannel(ChannelId),
    /// `DELETE /channels/{channel.id}`
    DeleteChannel(ChannelId),
    /// `PUT /channels/{channel.id}/permissions/{overwrite.id}`
    PutOverwrite(ChannelId, u64),
    /// `DELETE /channels/{channel.id}/permissions/{overwrite.id}`
    DeleteOverwrite(ChannelId, u64),
    /// `POST /channels/{channel.id}/messages/{message.id}/threads`
    StartThreadFromMessage(ChannelId, MessageId),
    /// `POST /channels/{channel.id}/threads`
    StartThread(ChannelId),
    /// `PUT /channels/{thread.id}/thread-members/@me`
    JoinThread(ChannelId),
    /// `DELETE /channels/{thread.id}/thread-members/@me`
    LeaveThread(ChannelId),
}

impl GuildRoute {
    /// Which guild the route acts on, as the receiving core can tell: `None` only for
    /// `POST /guilds`, which creates one.
    ///
    /// ```
    /// use engine::rest::guild_routes::GuildRoute;
    /// use engine::world::guild_ops::Target;
    /// use engine::world::{ChannelId, GuildId};
    /// assert_eq!(GuildRoute::CreateGuild.target(), None);
    /// assert_eq!(GuildRoute::GetGuild(GuildId(7)).target(), Some(Target::Guild(GuildId(7))));
    /// assert_eq!(
    ///     GuildRoute::JoinThread(ChannelId(9)).target(),
    ///     Some(Target::Channel(ChannelId(9)))
    /// );
    /// ```
    pub fn target(&self) -> Option<Target> {
        match *self {
            GuildRoute::CreateGuild => None,
            GuildRoute::GetGuild(guild)
            | GuildRoute::ModifyGuild(guild)
            | GuildRoute::DeleteGuild(guild)
            | GuildRoute::ListChannels(guild)
            | GuildRoute::CreateChannel(guild)
            | GuildRoute::ModifyChannelPositions(guild)
            | GuildRoute::ActiveThreads(guild) => Some(Target::Guild(guild)),
            GuildRoute::GetChannel(channel)
            | GuildRoute::ModifyChannel(channel)
            | GuildRoute::DeleteChannel(channel)
            | GuildRoute::PutOverwrite(channel, _)
            | GuildRoute::DeleteOverwrite(channel, _)
            | GuildRoute::StartThreadFromMessage(channel, _)
            | GuildRoute::StartThread(channel)
            | GuildRoute::JoinThread(channel)
            | GuildRoute::LeaveThread(channel) => Some(Target::Channel(channel)),
        }
    }

    /// Whether the route may change the guild (a read never does).
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            GuildRoute::GetGuild(_)
                | GuildRoute::ListChannels(_)
                | GuildRoute::ActiveThreads(_)
                | GuildRoute::GetChannel(_)
        )
    }
}

/// A body or query as its parser left it: the typed value, or the refusal the owner
/// answers where the operation reads it.
pub type Parsed<T> = Result<T, Refusal>;

/// What a guild, channel, overwrite or thread route's body or query said, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum GuildRequest {
    /// A route that reads neither body nor query.
    Bare,
    /// `POST /guilds`.
    CreateGuild(Parsed<GuildForm>),
    /// `GET /guilds/{guild.id}`.
    GetGuild(Parsed<GuildQuery>),
    /// `PATCH /guilds/{guild.id}`.
    ModifyGuild(Parsed<GuildEdit>),
    /// `POST /guilds/{guild.id}/channels`.
    CreateChannel(Parsed<ChannelForm>),
    /// `PATCH /guilds/{guild.id}/channels`.
    ModifyChannelPositions(Parsed<ChannelPositions>),
    /// `PATCH /channels/{channel.id}`.
    ModifyChannel(Box<Parsed<ChannelEdit>>),
    /// `PUT /channels/{channel.id}/permissions/{overwrite.id}`.
    PutOverwrite(Parsed<OverwriteForm>),
    /// Either thread start.
    StartThread(Parsed<ThreadForm>),
}

/// What a member, role, ban or invite route's body or query said, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRequest {
    /// A route that reads neither body nor query.
    Bare,
    /// `GET /guilds/{guild.id}/members`.
    ListMembers(Parsed<MemberListQuery>),
    /// `GET /guilds/{guild.id}/members/search`.
    SearchMembers(Parsed<MemberSearchQuery>),
    /// `PATCH /guilds/{guild.id}/members/{user.id}` (also `@me`).
    EditMember(Box<Parsed<MemberEdit>>),
    /// `GET /guilds/{guild.id}/bans`.
    ListBans(Parsed<BanListQuery>),
    /// `PUT /guilds/{guild.id}/bans/{user.id}`.
    CreateBan(Parsed<BanForm>),
    /// `POST /guilds/{guild.id}/roles` and `PATCH /guilds/{guild.id}/roles/{role.id}`.
    Role(Parsed<RoleForm>),
    /// `PATCH /guilds/{guild.id}/roles`.
    EditRolePositions(Parsed<RolePositions>),
    /// `POST /channels/{channel.id}/invites`.
    CreateInvite(Parsed<InviteForm>),
    /// `GET /invites/{code}`.
    GetInvite(Parsed<InviteQuery>),
}

/// Whose member entry a member route names: a user id, or `@me` (the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRef {
    /// `/members/{user.id}`.
    User(UserId),
    /// `/members/@me`.
    Me,
}

/// A member, role, ban or invite route with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRoute {
    /// `GET /guilds/{guild.id}/members?limit&after`.
    ListMembers(GuildId),
    /// `GET /guilds/{guild.id}/members/search?query&limit`.
    SearchMembers(GuildId),
    /// `GET /guilds/{guild.id}/members/{user.id}` (also `@me`).
    GetMember(GuildId, MemberRef),
    /// `PATCH /guilds/{guild.id}/members/{user.id}` (nick, roles, mute, deaf) or
    /// `PATCH /guilds/{guild.id}/members/@me` (the caller's own nick).
    EditMember(GuildId, MemberRef),
    /// `DELETE /guilds/{guild.id}/members/{user.id}`: kick.
    KickMember(GuildId, UserId),
    /// `PUT /guilds/{guild.id}/members/{user.id}/roles/{role.id}`.
    AddMemberRole(GuildId, UserId, RoleId),
    /// `DELETE /guilds/{guild.id}/members/{user.id}/roles/{role.id}`.
    RemoveMemberRole(GuildId, UserId, RoleId),
    /// `DELETE /users/@me/guilds/{guild.id}`: the caller leaves.
    LeaveGuild(GuildId),
    /// `GET /guilds/{guild.id}/bans?limit&before&after`.
    ListBans(GuildId),
    /// `GET /guilds/{guild.id}/bans/{user.id}`.
    GetBan(GuildId, UserId),
    /// `PUT /guilds/{guild.id}/bans/{user.id}`.
    CreateBan(GuildId, UserId),
    /// `DELETE /guilds/{guild.id}/bans/{user.id}`.
    RemoveBan(GuildId, UserId),
    /// `GET /guilds/{guild.id}/roles`.
    ListRoles(GuildId),
    /// `GET /guilds/{guild.id}/roles/{role.id}`.
    GetRole(GuildId, RoleId),
    /// `POST /guilds/{guild.id}/roles`.
    CreateRole(GuildId),
    /// `PATCH /guilds/{guild.id}/roles/{role.id}`.
    EditRole(GuildId, RoleId),
    /// `DELETE /guilds/{guild.id}/roles/{role.id}`.
    DeleteRole(GuildId, RoleId),
    /// `PATCH /guilds/{guild.id}/roles` with `[{id, position}]`.
    EditRolePositions(GuildId),
    /// `GET /guilds/{guild.id}/invites`.
    ListGuildInvites(GuildId),
    /// `POST /channels/{channel.id}/invites`.
    CreateInvite(ChannelId),
    /// `GET /channels/{channel.id}/invites`.
    ListChannelInvites(ChannelId),
    /// `GET /invites/{code}?with_counts&with_expiration`.
    GetInvite(String),
    /// `DELETE /invites/{code}`.
    DeleteInvite(String),
    /// `POST /invites/{code}`: the caller joins the invite's guild.
    AcceptInvite(String),
}

impl MemberRoute {
    /// Which guild the route acts on, as the receiving core can tell from the path.
    ///
    /// ```
    /// use engine::rest::member_routes::{member_route, MemberRoute};
    /// use engine::rest::Method;
    /// use engine::world::guild_ops::Target;
    /// use engine::world::GuildId;
    /// let route = member_route(Method::Get, "/api/v10/guilds/7/roles").unwrap().unwrap();
    /// assert_eq!(route.target(), Target::Guild(GuildId(7)));
    /// ```
    pub fn target(&self) -> Target {
        match self {
            MemberRoute::ListMembers(guild)
            | MemberRoute::SearchMembers(guild)
            | MemberRoute::GetMember(guild, _)
            | MemberRoute::EditMember(guild, _)
            | MemberRoute::KickMember(guild, _)
            | MemberRoute::AddMemberRole(guild, ..)
            | MemberRoute::RemoveMemberRole(guild, ..)
            | MemberRoute::LeaveGuild(guild)
            | MemberRoute::ListBans(guild)
            | MemberRoute::GetBan(guild, _)
            | MemberRoute::CreateBan(guild, _)
            | MemberRoute::RemoveBan(guild, _)
            | MemberRoute::ListRoles(guild)
            | MemberRoute::GetRole(guild, _)
            | MemberRoute::CreateRole(guild)
            | MemberRoute::EditRole(guild, _)
            | MemberRoute::DeleteRole(guild, _)
            | MemberRoute::EditRolePositions(guild)
            | MemberRoute::ListGuildInvites(guild) => Target::Guild(*guild),
            MemberRoute::CreateInvite(channel) | MemberRoute::ListChannelInvites(channel) => {
                Target::Channel(*channel)
            }
            MemberRoute::GetInvite(code)
            | MemberRoute::DeleteInvite(code)
            | MemberRoute::AcceptInvite(code) => Target::Invite(code.clone()),
        }
    }

    /// Whether the route may change the guild (and so is answered only once durable).
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            MemberRoute::ListMembers(_)
                | MemberRoute::SearchMembers(_)
                | MemberRoute::GetMember(..)
                | MemberRoute::ListBans(_)
                | MemberRoute::GetBan(..)
                | MemberRoute::ListRoles(_)
                | MemberRoute::GetRole(..)
                | MemberRoute::ListGuildInvites(_)
                | MemberRoute::ListChannelInvites(_)
                | MemberRoute::GetInvite(_)
        )
    }

    /// Whether the caller need not be a member of the guild (looking at or accepting an
    /// invite); every other route answers 10004 Unknown Guild to a non-member.
    pub fn open_to_non_members(&self) -> bool {
        matches!(
            self,
            MemberRoute::GetInvite(_) | MemberRoute::AcceptInvite(_)
        )
    }
}
