//! The Discord data model as Flux stores it: users, accounts, applications, guilds,
//! channels, roles and members.
//!
//! These structs hold only what Flux can change. Fields Discord documents but Flux never
//! varies (banner, splash, premium tier, …) are written as constants by `json.rs`, so
//! adding a real value later means adding a field here and one line there.
//!
//! The serde derives are Flux's *storage* form (`world.json` today, `lsm` later), not
//! Discord's wire form: ids are numbers, times are Unix milliseconds. Discord JSON is
//! produced only by `json.rs`.
//!
//! Invariants (checked by `World::validate` on load, asserted after changes):
//! - Every member, guild owner and application refers to a known user.
//! - Every guild has its `@everyone` role, whose id is the guild id.
//! - Every channel's `guild_id` is the guild that holds it.
//! - Ids are unique within their kind.

use super::ids::{ApplicationId, ChannelId, GuildId, RoleId, UserId};
use super::WorldError;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A Discord user: a human or a bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The unique handle (Discord's post-2023 usernames have discriminator "0").
    pub username: String,
    /// The display name, if the user set one.
    pub global_name: Option<String>,
    /// Whether this is a bot account.
    pub bot: bool,
    /// Public user flags (badges); private flags equal public ones in Flux.
    pub public_flags: u64,
    /// Whether the account has two-factor authentication.
    pub mfa_enabled: bool,
}

/// What Flux knows about a user beyond the Discord object: how they authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The Discord-visible user.
    pub user: User,
    /// Tokens minted with an older generation are revoked.
    pub token_generation: u32,
    /// When the current generation's token was minted (Unix seconds); part of the token.
    pub token_issued_at_s: u32,
    /// Whether IDENTIFY may ask for the privileged intents (presences, members, content).
    pub privileged_intents_allowed: bool,
    /// The argon2 PHC string of a human's password (`POST /auth/register`); `None` for
    /// bots, which only authenticate with their token.
    #[serde(default)]
    pub password_hash: Option<String>,
}

/// A bot's application (what `GET /oauth2/applications/@me` describes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The application id; Flux gives a bot's application the bot user's id, as Discord does.
    pub id: ApplicationId,
    /// Display name.
    pub name: String,
    /// Description shown to users; may be empty.
    pub description: String,
    /// The bot user of this application.
    pub bot_user_id: UserId,
    /// The user who owns the application.
    pub owner_id: UserId,
    /// Whether anyone may add the bot to a guild.
    pub bot_public: bool,
    /// Whether adding the bot needs the full OAuth2 code grant.
    pub bot_require_code_grant: bool,
    /// The hex-encoded public key for interaction signatures (64 hex digits).
    pub verify_key: String,
    /// Application flags (see `APPLICATION_FLAG_*`).
    pub flags: u64,
}

/// The application flag that says the bot may receive presences (limited: < 100 guilds).
pub const APPLICATION_FLAG_GATEWAY_PRESENCE_LIMITED: u64 = 1 << 13;
/// The application flag that says the bot may request guild members (limited).
pub const APPLICATION_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED: u64 = 1 << 15;
/// The application flag that says the bot may read message content (limited).
pub const APPLICATION_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;

/// The flags of an application whose bot may use every privileged intent.
pub const APPLICATION_FLAGS_PRIVILEGED: u64 = APPLICATION_FLAG_GATEWAY_PRESENCE_LIMITED
    | APPLICATION_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED
    | APPLICATION_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED;

/// A role in a guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// The role id; `@everyone` has the guild's id.
    pub id: RoleId,
    /// Display name (`@everyone` for the default role).
    pub name: String,
    /// The primary colour as 0xRRGGBB; 0 means no colour.
    pub color: u32,
    /// Whether members are shown separately in the member list.
    pub hoist: bool,
    /// Sort position; `@everyone` is 0.
    pub position: i32,
    /// Permission bits (see `permissions.rs`).
    pub permissions: u64,
    /// Whether an integration manages this role.
    pub managed: bool,
    /// Whether anyone may mention it.
    pub mentionable: bool,
    /// Role flags (1 = in a prompt).
    pub flags: u64,
}

/// Whose permissions an overwrite changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverwriteTarget {
    /// A role (Discord type 0).
    Role(RoleId),
    /// A member (Discord type 1).
    Member(UserId),
}

/// A channel permission overwrite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionOverwrite {
    /// The role or member it applies to.
    pub target: OverwriteTarget,
    /// Bits granted.
    pub allow: u64,
    /// Bits removed.
    pub deny: u64,
}

/// Settings only a text channel (Discord type 0) has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSettings {
    /// The channel topic.
    pub topic: Option<String>,
    /// Slow mode: seconds a member waits between messages (0–21600).
    pub rate_limit_per_user: u32,
    /// Minutes of inactivity after which new threads archive (60, 1440, 4320, 10080).
    pub default_auto_archive_duration: u32,
}

/// Settings only a voice channel (Discord type 2) has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceSettings {
    /// Audio bitrate in bits per second.
    pub bitrate: u32,
    /// Maximum users; 0 means unlimited.
    pub user_limit: u32,
    /// The voice region id; `None` picks automatically.
    pub rtc_region: Option<String>,
}

/// One member of a thread (Discord's thread member object, without the guild member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadMember {
    /// The member's user.
    pub user_id: UserId,
    /// When they joined the thread (Unix milliseconds).
    pub joined_at_unix_ms: u64,
    /// Thread member flags (notification settings); 0 in Flux.
    pub flags: u64,
}

/// Settings only a thread (Discord types 11 and 12) has. A thread's parent channel is
/// its `Channel::parent_id`; it has no overwrites of its own (it inherits the parent's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadSettings {
    /// A private thread (type 12), seen only by its members and MANAGE_THREADS holders;
    /// otherwise public (type 11).
    pub private: bool,
    /// The user who started it.
    pub owner_id: UserId,
    /// Archived threads take no messages until unarchived.
    pub archived: bool,
    /// Locked threads can be unarchived only by MANAGE_THREADS holders.
    pub locked: bool,
    /// Minutes of inactivity before it archives (60, 1440, 4320, 10080).
    pub auto_archive_duration: u32,
    /// When `archived` last changed (or the thread was created), Unix milliseconds.
    pub archive_timestamp_unix_ms: u64,
    /// Whether non-moderators may add others to a private thread.
    pub invitable: bool,
    /// Slow mode in the thread (0–21600 seconds).
    pub rate_limit_per_user: u32,
    /// The thread's members, in join order.
    pub members: Vec<ThreadMember>,
    /// Messages in the thread now (Discord stops counting deleted ones).
    pub message_count: u32,
    /// Messages ever sent in the thread.
    pub total_message_sent: u32,
    /// When the thread was created (Unix milliseconds).
    pub created_at_unix_ms: u64,
}

/// What kind of channel this is, with that kind's own settings.
///
/// Storage compatibility: variants are only ever added (serde's externally tagged form
/// names them), so guilds stored before a variant existed still load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelKind {
    /// A text channel (Discord type 0).
    Text(TextSettings),
    /// A voice channel (Discord type 2).
    Voice(VoiceSettings),
    /// A category (Discord type 4): holds other channels through their `parent_id`.
    Category,
    /// A public or private thread (Discord types 11 and 12) under a text channel.
    Thread(ThreadSettings),
}

impl ChannelKind {
    /// Discord's numeric channel type.
    pub fn discord_type(&self) -> u8 {
        match self {
            ChannelKind::Text(_) => 0,
            ChannelKind::Voice(_) => 2,
            ChannelKind::Category => 4,
            ChannelKind::Thread(thread) if thread.private => 12,
            ChannelKind::Thread(_) => 11,
        }
    }

    /// The thread settings, when this is a thread.
    pub fn thread(&self) -> Option<&ThreadSettings> {
        match self {
            ChannelKind::Thread(thread) => Some(thread),
            _ => None,
        }
    }
}

/// A guild channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// The channel id.
    pub id: ChannelId,
    /// The guild that holds it.
    pub guild_id: GuildId,
    /// Display name (text channels are lower-case, no spaces, by convention).
    pub name: String,
    /// Sort position among channels of its kind.
    pub position: i32,
    /// The category it sits in.
    pub parent_id: Option<ChannelId>,
    /// Age-restricted.
    pub nsfw: bool,
    /// Overwrites in the order Discord applies them.
    pub permission_overwrites: Vec<PermissionOverwrite>,
    /// Id of the newest message, if any. Messages live in the owner core's message
    /// store, which does not update this field, so it stays as the channel was created.
    pub last_message_id: Option<u64>,
    /// Channel flags.
    pub flags: u64,
    /// Text or voice, with that kind's settings.
    pub kind: ChannelKind,
}

/// A user's membership in a guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's user.
    pub user_id: UserId,
    /// Guild nickname.
    pub nick: Option<String>,
    /// Role ids, without `@everyone` (Discord leaves it implicit).
    pub roles: Vec<RoleId>,
    /// When the user joined (Unix milliseconds).
    pub joined_at_unix_ms: u64,
    /// Server-deafened in voice.
    pub deaf: bool,
    /// Server-muted in voice.
    pub mute: bool,
    /// Guild member flags.
    pub flags: u64,
    /// Has not yet passed membership screening.
    pub pending: bool,
    /// Timed out until then (Unix milliseconds): no permission but VIEW_CHANNEL and
    /// READ_MESSAGE_HISTORY while it lasts.
    #[serde(default)]
    pub communication_disabled_until_unix_ms: Option<u64>,
}

/// A guild and everything it owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guild {
    /// The guild id.
    pub id: GuildId,
    /// Display name (2–100 characters).
    pub name: String,
    /// The owner's user id; the owner has every permission.
    pub owner_id: UserId,
    /// Guild description.
    pub description: Option<String>,
    /// Enabled guild feature strings.
    pub features: Vec<String>,
    /// The AFK voice channel.
    pub afk_channel_id: Option<ChannelId>,
    /// Seconds before a silent member moves to the AFK channel (60, 300, 900, 1800, 3600).
    pub afk_timeout: u32,
    /// Where system messages (joins, boosts) go.
    pub system_channel_id: Option<ChannelId>,
    /// Verification level (0 none … 4 very high).
    pub verification_level: u8,
    /// 0 all messages, 1 only mentions.
    pub default_message_notifications: u8,
    /// 0 disabled, 1 members without roles, 2 all members.
    pub explicit_content_filter: u8,
    /// The locale of a community guild, e.g. `en-US`.
    pub preferred_locale: String,
    /// Roles, `@everyone` first.
    pub roles: Vec<Role>,
    /// Channels in creation order.
    pub channels: Vec<Channel>,
    /// Members in join order.
    pub members: Vec<Member>,
    /// Banned users (they cannot rejoin until unbanned).
    #[serde(default)]
    pub bans: Vec<Ban>,
    /// Live invites to this guild's channels.
    #[serde(default)]
    pub invites: Vec<Invite>,
}

/// A guild ban.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// The banned user.
    pub user_id: UserId,
    /// Why, as the moderator wrote it.
    pub reason: Option<String>,
}

/// An invite to a guild channel (`POST /channels/{id}/invites`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The invite code (what `discord.gg/<code>` names), unique server-wide.
    pub code: String,
    /// The channel it leads to.
    pub channel_id: ChannelId,
    /// Who created it.
    pub inviter_id: UserId,
    /// When it was created (Unix milliseconds).
    pub created_at_unix_ms: u64,
    /// Seconds it lives; 0 means forever.
    pub max_age_s: u32,
    /// Uses before it expires; 0 means unlimited.
    pub max_uses: u32,
    /// Times it has been used.
    pub uses: u32,
    /// Whether it grants temporary membership.
    pub temporary: bool,
}

impl Invite {
    /// Whether the invite can no longer be used at `now_unix_ms`.
    pub fn expired(&self, now_unix_ms: u64) -> bool {
        let aged = self.max_age_s != 0
            && now_unix_ms >= self.created_at_unix_ms + u64::from(self.max_age_s) * 1000;
        let used_up = self.max_uses != 0 && self.uses >= self.max_uses;
        aged || used_up
    }
}

impl Guild {
    /// The member entry of `user_id`, if they are in this guild.
    pub fn member(&self, user_id: UserId) -> Option<&Member> {
        self.members.iter().find(|member| member.user_id == user_id)
    }

    /// The channel `channel_id`, if it belongs to this guild.
    pub fn channel(&self, channel_id: ChannelId) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|channel| channel.id == channel_id)
    }
}

/// Everything Flux stores, as one value (until the `lsm` store takes over).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct World {
    /// Every user with their credentials.
    pub accounts: Vec<Account>,
    /// Every bot application.
    pub applications: Vec<Application>,
    /// Every guild.
    pub guilds: Vec<Guild>,
    /// Every direct-message channel.
    #[serde(default)]
    pub dm_channels: Vec<super::dm::DmChannel>,
}

/// Finds users by id; implemented by `World` and by each core's `Directory`.
pub trait UserLookup {
    /// The user `id`, if it exists.
    fn user(&self, id: UserId) -> Option<&User>;
}

impl UserLookup for World {
    fn user(&self, id: UserId) -> Option<&User> {
        self.account(id).map(|account| &account.user)
    }
}

impl World {
    /// The account of user `id`.
    pub fn account(&self, id: UserId) -> Option<&Account> {
        self.accounts.iter().find(|account| account.user.id == id)
    }

    /// The application whose bot is `bot_user_id`.
    pub fn application_of(&self, bot_user_id: UserId) -> Option<&Application> {
        self.applications
            .iter()
            .find(|app| app.bot_user_id == bot_user_id)
    }

    /// The guild `id`.
    pub fn guild(&self, id: GuildId) -> Option<&Guild> {
        self.guilds.iter().find(|guild| guild.id == id)
    }

    /// Revokes every token of `user_id` by moving to the next token generation, minted at
    /// `now_unix_s`. Returns the new generation, or `None` for an unknown user.
    pub fn revoke_tokens(&mut self, user_id: UserId, now_unix_s: u32) -> Option<u32> {
        let account = self.accounts.iter_mut().find(|a| a.user.id == user_id)?;
        // Saturating: generations only grow (directories keep the maximum they have
        // seen), and four billion revocations of one account is not a reachable state.
        account.token_generation = account.token_generation.saturating_add(1);
        account.token_issued_at_s = now_unix_s;
        Some(account.token_generation)
    }

    /// Checks the invariants in this module's header; a world read from disk must pass
    /// before it is used.
    pub fn validate(&self) -> Result<(), WorldError> {
        let mut user_ids = HashSet::new();
        for account in &self.accounts {
            if !user_ids.insert(account.user.id) {
                return Err(inconsistent(format!("user {} twice", account.user.id)));
            }
        }
        for app in &self.applications {
            for user in [app.bot_user_id, app.owner_id] {
                if !user_ids.contains(&user) {
                    return Err(inconsistent(format!(
                        "application {} names user {user}",
                        app.id
                    )));
                }
            }
        }
        let mut guild_ids = HashSet::new();
        for guild in &self.guilds {
            if !guild_ids.insert(guild.id) {
                return Err(inconsistent(format!("guild {} twice", guild.id)));
            }
            validate_guild(guild, &user_ids)?;
        }
        Ok(())
    }
}

fn validate_guild(guild: &Guild, user_ids: &HashSet<UserId>) -> Result<(), WorldError> {
    if !user_ids.contains(&guild.owner_id) {
        return Err(inconsistent(format!("guild {} owner unknown", guild.id)));
    }
    if !guild
        .roles
        .iter()
        .any(|role| role.id == guild.id.everyone_role())
    {
        return Err(inconsistent(format!(
            "guild {} has no @everyone role",
            guild.id
        )));
    }
    let role_ids: HashSet<RoleId> = guild.roles.iter().map(|role| role.id).collect();
    if role_ids.len() != guild.roles.len() {
        return Err(inconsistent(format!("guild {} repeats a role", guild.id)));
    }
    for channel in &guild.channels {
        if channel.guild_id != guild.id {
            return Err(inconsistent(format!(
                "channel {} in the wrong guild",
                channel.id
            )));
        }
    }
    let mut member_ids = HashSet::new();
    for member in &guild.members {
        if !user_ids.contains(&member.user_id) || !member_ids.insert(member.user_id) {
            return Err(inconsistent(format!(
                "guild {} member {}",
                guild.id, member.user_id
            )));
        }
        if let Some(role) = member.roles.iter().find(|role| !role_ids.contains(role)) {
            return Err(inconsistent(format!(
                "member {} has unknown role {role}",
                member.user_id
            )));
        }
    }
    Ok(())
}

fn inconsistent(what: String) -> WorldError {
    WorldError::Inconsistent(what)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guilds stored before categories and threads existed still load, and the new
    /// kinds round-trip through the storage form.
    #[test]
    fn channel_kinds_stay_loadable() {
        let old = r#"{"Text": {"topic": null, "rate_limit_per_user": 0,
            "default_auto_archive_duration": 1440}}"#;
        let kind: ChannelKind = serde_json::from_str(old).unwrap();
        assert_eq!(kind.discord_type(), 0);
        let voice = r#"{"Voice": {"bitrate": 64000, "user_limit": 0, "rtc_region": null}}"#;
        assert_eq!(
            serde_json::from_str::<ChannelKind>(voice)
                .unwrap()
                .discord_type(),
            2
        );
        let thread = ChannelKind::Thread(ThreadSettings {
            private: true,
            owner_id: UserId(1),
            archived: false,
            locked: false,
            auto_archive_duration: 60,
            archive_timestamp_unix_ms: 5,
            invitable: true,
            rate_limit_per_user: 0,
            members: vec![ThreadMember {
                user_id: UserId(1),
                joined_at_unix_ms: 5,
                flags: 0,
            }],
            message_count: 0,
            total_message_sent: 0,
            created_at_unix_ms: 5,
        });
        for kind in [ChannelKind::Category, thread] {
            let stored = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<ChannelKind>(&stored).unwrap(), kind);
        }
    }
}
