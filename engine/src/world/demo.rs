//! The demo world `flux serve` creates on an empty data dir (its first run).
//!
//! One guild "Flux" with a `#general` text channel, a "General" voice channel and a
//! restricted `#staff` text channel, and two bot users in it; the first owns the guild,
//! both may use the privileged intents. `#staff` denies @everyone VIEW_CHANNEL, so the
//! owner (who has every permission) sees it and the second bot does not: the demo shows
//! permission-filtered routes and dispatches without any setup. `#general` stays the first
//! text channel, the one `bootstrap.json` names. Built purely from `now` and a secret, so
//! tests get the same world the binary does.
//! `bootstrap.rs` writes it to disk and describes it in `bootstrap.json`.

use super::hmac::hmac_sha1;
use super::ids::{ApplicationId, ChannelId, GuildId, IdGenerator, RoleId, UserId};
use super::model::{
    Account, Application, Channel, ChannelKind, Guild, Member, OverwriteTarget,
    PermissionOverwrite, Role, TextSettings, User, VoiceSettings, World,
    APPLICATION_FLAGS_PRIVILEGED,
};
use super::permissions::{Permissions, EVERYONE_DEFAULT};
use super::token::{account_token, TokenSecret};
use super::WorldError;

/// A demo bot with the token that authenticates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoBot {
    /// The bot's user id.
    pub user_id: UserId,
    /// Its username.
    pub username: String,
    /// Its current token.
    pub token: String,
}

/// A freshly built demo world and the handles tests and `bootstrap.json` need.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The world itself.
    pub world: World,
    /// The secret its tokens are signed with.
    pub secret: TokenSecret,
    /// The "Flux" guild.
    pub guild_id: GuildId,
    /// `#general`.
    pub text_channel_id: ChannelId,
    /// "General" (voice).
    pub voice_channel_id: ChannelId,
    /// `#staff`: @everyone is denied VIEW_CHANNEL; only the owner sees it.
    pub staff_channel_id: ChannelId,
    /// The two bots; the first owns the guild.
    pub bots: Vec<DemoBot>,
}

/// The usernames of the demo bots, in order.
pub const DEMO_BOT_USERNAMES: [&str; 2] = ["flux-bot-a", "flux-bot-b"];

/// Builds the demo world at `now_unix_ms`, signing tokens with `secret`. Fails only for a
/// clock the id generator refuses (before 2015).
///
/// ```
/// use engine::world::demo_world;
/// let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
/// assert_eq!(demo.world.guilds[0].name, "Flux");
/// assert_eq!(demo.world.guilds[0].owner_id, demo.bots[0].user_id);
/// ```
pub fn demo_world(now_unix_ms: u64, secret: [u8; 32]) -> Result<Demo, WorldError> {
    let secret = TokenSecret(secret);
    let mut ids = IdGenerator::for_core(0)?;
    let now_s = u32::try_from(now_unix_ms / 1000).unwrap_or(u32::MAX);
    let guild_id = GuildId(ids.next_id(now_unix_ms)?);
    let text_channel_id = ChannelId(ids.next_id(now_unix_ms)?);
    let voice_channel_id = ChannelId(ids.next_id(now_unix_ms)?);
    let staff_channel_id = ChannelId(ids.next_id(now_unix_ms)?);

    let mut world = World::default();
    for (index, username) in DEMO_BOT_USERNAMES.iter().enumerate() {
        let user_id = UserId(ids.next_id(now_unix_ms)?);
        world.accounts.push(bot_account(user_id, username, now_s));
        world
            .applications
            .push(bot_application(&secret, user_id, index));
    }
    let owner_id = world.accounts[0].user.id;
    let members = world
        .accounts
        .iter()
        .map(|account| Member {
            user_id: account.user.id,
            nick: None,
            roles: Vec::new(),
            joined_at_unix_ms: now_unix_ms,
            deaf: false,
            mute: false,
            flags: 0,
            pending: false,
            communication_disabled_until_unix_ms: None,
        })
        .collect();
    let mut guild = new_guild(
        guild_id,
        "Flux",
        owner_id,
        [text_channel_id, voice_channel_id],
        now_unix_ms,
    );
    guild
        .channels
        .push(staff_channel(guild_id, staff_channel_id));
    guild.members = members;
    world.guilds.push(guild);
    debug_assert!(world.validate().is_ok());

    let bots = world
        .accounts
        .iter()
        .map(|account| DemoBot {
            user_id: account.user.id,
            username: account.user.username.clone(),
            token: account_token(&secret, account),
        })
        .collect();
    Ok(Demo {
        world,
        secret,
        guild_id,
        text_channel_id,
        voice_channel_id,
        staff_channel_id,
        bots,
    })
}

fn bot_account(user_id: UserId, username: &str, now_s: u32) -> Account {
    Account {
        user: User {
            id: user_id,
            username: username.into(),
            global_name: None,
            bot: true,
            public_flags: 0,
            mfa_enabled: false,
        },
        token_generation: 0,
        token_issued_at_s: now_s,
        privileged_intents_allowed: true,
        password_hash: None,
    }
}

fn bot_application(secret: &TokenSecret, bot_user_id: UserId, index: usize) -> Application {
    Application {
        id: ApplicationId(bot_user_id.0),
        name: format!("Flux Bot {}", ["A", "B"][index]),
        description: String::new(),
        bot_user_id,
        // There is no human in the demo world; each bot owns its own application.
        owner_id: bot_user_id,
        bot_public: true,
        bot_require_code_grant: false,
        verify_key: verify_key(secret, bot_user_id),
        flags: APPLICATION_FLAGS_PRIVILEGED,
    }
}

/// A stable 32-byte, 64-hex-digit stand-in for the application's Ed25519 public key.
/// Flux does not sign interactions yet; clients only parse the hex.
pub(crate) fn verify_key(secret: &TokenSecret, id: UserId) -> String {
    let id = id.0.to_be_bytes();
    let first = hmac_sha1(&secret.0, &[b"verify-key-0", &id]);
    let second = hmac_sha1(&secret.0, &[b"verify-key-1", &id]);
    first
        .iter()
        .chain(&second[..12])
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A guild as Discord creates one (and the demo, `POST /guilds` and `flux admin
/// create-guild` start from): @everyone with the default permissions, `#general` (also the
/// system channel) and a "General" voice channel, and the owner as its only member.
pub(crate) fn new_guild(
    id: GuildId,
    name: &str,
    owner_id: UserId,
    [text_id, voice_id]: [ChannelId; 2],
    now_unix_ms: u64,
) -> Guild {
    Guild {
        id,
        name: name.into(),
        owner_id,
        description: None,
        features: Vec::new(),
        afk_channel_id: None,
        afk_timeout: 300,
        system_channel_id: Some(text_id),
        verification_level: 0,
        default_message_notifications: 0,
        explicit_content_filter: 0,
        preferred_locale: "en-US".into(),
        roles: vec![everyone_role(id)],
        channels: vec![text_channel(id, text_id), voice_channel(id, voice_id)],
        members: vec![Member {
            user_id: owner_id,
            nick: None,
            roles: Vec::new(),
            joined_at_unix_ms: now_unix_ms,
            deaf: false,
            mute: false,
            flags: 0,
            pending: false,
            communication_disabled_until_unix_ms: None,
        }],
        bans: Vec::new(),
        invites: Vec::new(),
    }
}

pub(crate) fn everyone_role(guild_id: GuildId) -> Role {
    Role {
        id: RoleId(guild_id.0),
        name: "@everyone".into(),
        color: 0,
        hoist: false,
        position: 0,
        permissions: EVERYONE_DEFAULT,
        managed: false,
        mentionable: false,
        flags: 0,
    }
}

pub(crate) fn text_channel(guild_id: GuildId, id: ChannelId) -> Channel {
    Channel {
        id,
        guild_id,
        name: "general".into(),
        position: 0,
        parent_id: None,
        nsfw: false,
        permission_overwrites: Vec::new(),
        last_message_id: None,
        flags: 0,
        kind: ChannelKind::Text(TextSettings {
            topic: None,
            rate_limit_per_user: 0,
            default_auto_archive_duration: 1440,
        }),
    }
}

pub(crate) fn voice_channel(guild_id: GuildId, id: ChannelId) -> Channel {
    Channel {
        id,
        guild_id,
        name: "General".into(),
        position: 0,
        parent_id: None,
        nsfw: false,
        permission_overwrites: Vec::new(),
        last_message_id: None,
        flags: 0,
        kind: ChannelKind::Voice(VoiceSettings {
            bitrate: 64_000,
            user_limit: 0,
            rtc_region: None,
        }),
    }
}

/// `#staff`, after `#general`: the @everyone overwrite denies VIEW_CHANNEL, so only
/// members with Administrator or the owner see it (the demo gives no one a role).
fn staff_channel(guild_id: GuildId, id: ChannelId) -> Channel {
    let mut channel = text_channel(guild_id, id);
    channel.name = "staff".into();
    channel.position = 1;
    channel.permission_overwrites = vec![PermissionOverwrite {
        target: OverwriteTarget::Role(guild_id.everyone_role()),
        allow: 0,
        deny: Permissions::VIEW_CHANNEL.bits(),
    }];
    channel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_world_has_the_documented_guild_channels_and_bots() {
        let demo = demo_world(1_700_000_000_000, [5; 32]).unwrap();
        demo.world.validate().unwrap();
        let guild = demo.world.guild(demo.guild_id).unwrap();
        assert_eq!(guild.name, "Flux");
        assert_eq!(guild.owner_id, demo.bots[0].user_id);
        let text = guild.channel(demo.text_channel_id).unwrap();
        assert_eq!(
            (text.name.as_str(), text.kind.discord_type()),
            ("general", 0)
        );
        let voice = guild.channel(demo.voice_channel_id).unwrap();
        assert_eq!(
            (voice.name.as_str(), voice.kind.discord_type()),
            ("General", 2)
        );
        let staff = guild.channel(demo.staff_channel_id).unwrap();
        assert_eq!(
            (staff.name.as_str(), staff.kind.discord_type()),
            ("staff", 0)
        );
        let first_text = guild
            .channels
            .iter()
            .find(|channel| channel.kind.discord_type() == 0)
            .unwrap();
        assert_eq!(first_text.id, demo.text_channel_id, "#general stays first");
        assert_eq!(demo.bots.len(), 2);
        for bot in &demo.bots {
            assert!(guild.member(bot.user_id).is_some());
            let account = demo.world.account(bot.user_id).unwrap();
            assert!(account.user.bot && account.privileged_intents_allowed);
            assert_eq!(
                demo.world
                    .application_of(bot.user_id)
                    .unwrap()
                    .verify_key
                    .len(),
                64
            );
        }
        assert_ne!(demo.bots[0].token, demo.bots[1].token);
        assert_eq!(guild.roles[0].id, demo.guild_id.everyone_role());
    }

    #[test]
    fn only_the_owner_views_staff() {
        use crate::world::permissions::{members_who_can_view, ChannelSnapshot, GuildSnapshot};
        let demo = demo_world(1_700_000_000_000, [5; 32]).unwrap();
        let guild = demo.world.guild(demo.guild_id).unwrap();
        let snapshot = GuildSnapshot::of_guild(guild);
        let viewers = |channel: ChannelId| {
            let channel = ChannelSnapshot::of_channel(guild.channel(channel).unwrap());
            members_who_can_view(&snapshot, &channel)
        };
        let (owner, other) = (demo.bots[0].user_id, demo.bots[1].user_id);
        assert_eq!(
            viewers(demo.staff_channel_id)
                .into_iter()
                .collect::<Vec<_>>(),
            [owner]
        );
        assert!(viewers(demo.text_channel_id).contains(&other));
    }
}
