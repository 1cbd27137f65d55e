//! Test fixture for the member, role, ban and invite operations: the demo guild grown
//! into a small hierarchy, and a way to run a request against it.
//!
//! Roles, highest first: Admin (3, ADMINISTRATOR), Mod (2, the moderation bits), Helper
//! (1, KICK_MEMBERS and MANAGE_ROLES). Members: the owner and the second demo bot (no
//! roles), `admin` (Admin), `moderator` (Mod), `helper` (Helper), `plain` (none).
//! `outsider` is a known user who is not a member; `banned` is banned. The text channel
//! has a Helper overwrite; invites: `live` (owner's, 2 uses) and `old` (expired).

use super::{apply_member_route, OpContext, Outcome};
use crate::rest::member_bodies::member_request;
use crate::rest::member_routes::member_route;
use crate::rest::Method;
use crate::world::demo::demo_world;
use crate::world::ids::{ChannelId, RoleId, UserId, DISCORD_EPOCH_MS};
use crate::world::model::{
    Account, Ban, Guild, Invite, Member, OverwriteTarget, PermissionOverwrite, Role, User, World,
};
use crate::world::permissions::Permissions;
use crate::world::Refusal;

/// The fixture's clock.
pub const NOW: u64 = 1_700_000_000_000;

/// The moderation bits of the Mod role.
pub const MOD_PERMISSIONS: Permissions = Permissions::MANAGE_ROLES
    .union(Permissions::KICK_MEMBERS)
    .union(Permissions::BAN_MEMBERS)
    .union(Permissions::MANAGE_NICKNAMES)
    .union(Permissions::MANAGE_CHANNELS)
    .union(Permissions::MANAGE_GUILD)
    .union(Permissions::MUTE_MEMBERS)
    .union(Permissions::DEAFEN_MEMBERS);

/// The Helper role's bits.
pub const HELPER_PERMISSIONS: Permissions =
    Permissions::KICK_MEMBERS.union(Permissions::MANAGE_ROLES);

#[derive(Debug, Clone)]
pub struct Fixture {
    pub world: World,
    pub guild: Guild,
    pub owner: UserId,
    pub bot: UserId,
    pub admin: UserId,
    pub moderator: UserId,
    pub helper: UserId,
    pub plain: UserId,
    pub outsider: UserId,
    pub banned: UserId,
    pub admin_role: RoleId,
    pub mod_role: RoleId,
    pub helper_role: RoleId,
    pub text: ChannelId,
    pub voice: ChannelId,
    pub next_id: u64,
    /// The last value the test CSPRNG gave (a counter, so codes differ).
    pub random_seed: u64,
    /// Members connected to voice, and to which channel (the owner's voice states).
    pub in_voice: Vec<(UserId, ChannelId)>,
}

impl Fixture {
    pub fn new() -> Fixture {
        let demo = demo_world(NOW, [5; 32]).unwrap();
        let mut world = demo.world;
        let base = (NOW - DISCORD_EPOCH_MS) << 22;
        let user = |n: u64| UserId(base + 1000 + n);
        let role = |n: u64| RoleId(base + 2000 + n);
        let names = [
            "admin",
            "moderator",
            "helper",
            "plain",
            "outsider",
            "banned",
        ];
        for (n, name) in names.iter().enumerate() {
            let mut account: Account = world.accounts[1].clone();
            account.user = User {
                id: user(n as u64),
                username: (*name).into(),
                global_name: None,
                bot: false,
                public_flags: 0,
                mfa_enabled: false,
            };
            world.accounts.push(account);
        }
        let guild = &mut world.guilds[0];
        let make_role = |id: RoleId, name: &str, position: i32, permissions: Permissions| Role {
            id,
            name: name.into(),
            color: 0,
            hoist: false,
            position,
            permissions: permissions.bits(),
            managed: false,
            mentionable: false,
            flags: 0,
        };
        guild
            .roles
            .push(make_role(role(3), "Admin", 3, Permissions::ADMINISTRATOR));
        guild
            .roles
            .push(make_role(role(2), "Mod", 2, MOD_PERMISSIONS));
        guild
            .roles
            .push(make_role(role(1), "Helper", 1, HELPER_PERMISSIONS));
        let member = |id: UserId, roles: Vec<RoleId>| Member {
            user_id: id,
            nick: None,
            roles,
            joined_at_unix_ms: NOW,
            deaf: false,
            mute: false,
            flags: 0,
            pending: false,
            communication_disabled_until_unix_ms: None,
        };
        guild.members.push(member(user(0), vec![role(3)]));
        guild.members.push(member(user(1), vec![role(2)]));
        guild.members.push(member(user(2), vec![role(1)]));
        guild.members.push(member(user(3), vec![]));
        guild.bans.push(Ban {
            user_id: user(5),
            reason: Some("spam".into()),
        });
        guild.channels[0]
            .permission_overwrites
            .push(PermissionOverwrite {
                target: OverwriteTarget::Role(role(1)),
                allow: Permissions::SEND_MESSAGES.bits(),
                deny: 0,
            });
        let invite = |code: &str, created_at_unix_ms: u64, max_age_s: u32| Invite {
            code: code.into(),
            channel_id: demo.text_channel_id,
            inviter_id: demo.bots[0].user_id,
            created_at_unix_ms,
            max_age_s,
            max_uses: 2,
            uses: 0,
            temporary: false,
        };
        guild.invites.push(invite("live", NOW, 3600));
        guild.invites.push(invite("old", NOW - 10_000_000, 60));
        world.validate().unwrap();
        Fixture {
            guild: world.guilds[0].clone(),
            world,
            owner: demo.bots[0].user_id,
            bot: demo.bots[1].user_id,
            admin: user(0),
            moderator: user(1),
            helper: user(2),
            plain: user(3),
            outsider: user(4),
            banned: user(5),
            admin_role: role(3),
            mod_role: role(2),
            helper_role: role(1),
            text: demo.text_channel_id,
            voice: demo.voice_channel_id,
            next_id: base + 5000,
            random_seed: 0,
            in_voice: Vec::new(),
        }
    }

    /// Runs `method path?query` with `body` as `actor` against the guild.
    pub fn run(
        &mut self,
        actor: UserId,
        method: Method,
        path: &str,
        query: &str,
        body: &str,
    ) -> Result<Outcome, Refusal> {
        let route = match member_route(method, path) {
            Some(route) => route?,
            None => panic!("{path} is not a member route"),
        };
        let mut counter = self.next_id;
        let mut next_id = || -> Result<u64, Refusal> {
            counter += 1;
            Ok(counter)
        };
        let mut random_seed = self.random_seed;
        let mut random = || -> Result<u64, Refusal> {
            random_seed += 0x9E37_79B9;
            Ok(random_seed)
        };
        let in_voice = self.in_voice.clone();
        let voice_channel = move |user: UserId| {
            in_voice
                .iter()
                .find(|(member, _)| *member == user)
                .map(|(_, channel)| *channel)
        };
        let mut cx = OpContext {
            actor,
            now_unix_ms: NOW,
            users: &self.world,
            online: &|_| false,
            next_id: &mut next_id,
            random: &mut random,
            voice_channel: &voice_channel,
        };
        let request = member_request(&route, query, body.as_bytes());
        let result = apply_member_route(&mut self.guild, &route, &request, &mut cx);
        self.next_id = counter;
        self.random_seed = random_seed;
        result
    }

    /// `/api/v10/guilds/{guild}` followed by `tail`.
    pub fn guild_path(&self, tail: &str) -> String {
        format!("/api/v10/guilds/{}{tail}", self.guild.id)
    }

    pub fn member(&self, user: UserId) -> Option<&Member> {
        self.guild.member(user)
    }

    pub fn role(&self, id: RoleId) -> Option<&Role> {
        self.guild.roles.iter().find(|role| role.id == id)
    }
}

/// The body as JSON.
pub fn json_of(outcome: &Outcome) -> serde_json::Value {
    serde_json::from_slice(&outcome.body).unwrap()
}

/// The names of the outcome's events, in order.
pub fn event_names(outcome: &Outcome) -> Vec<&'static str> {
    outcome.events.iter().map(|event| event.name).collect()
}
