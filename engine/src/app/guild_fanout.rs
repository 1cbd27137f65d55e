//! What every core does with a durable guild change (`GuildSync`): swap the replica,
//! reindex its channels, send GUILD_CREATE / GUILD_DELETE to the local sessions of
//! members who joined or left (derived by comparing member sets, so operations never
//! have to know about sessions), and deliver each event once to its audience.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{FluxApp, FluxMesh};
use crate::gateway::{Dispatch, DispatchScope, Input, Intents};
use crate::reactor::Outbox;
use crate::world::encode;
use crate::world::guild_ops::{Audience, GuildEvent};
use crate::world::permissions::{ChannelSnapshot, GuildSnapshot, Permissions};
use crate::world::{Guild, GuildId, UserId};

/// A durable guild change, sent by the owner once to every core (itself included).
#[derive(Debug)]
pub struct GuildSync {
    /// The guild.
    pub guild_id: u64,
    /// Its new snapshot; `None` when it was deleted.
    pub guild: Option<Arc<Guild>>,
    /// The dispatches that follow, in order.
    pub events: Vec<GuildEvent>,
}

impl FluxApp {
    /// On every core: take the new replica, tell joining and leaving members' sessions,
    /// and deliver the events to the sessions allowed to see them.
    pub(super) fn apply_guild_sync(&mut self, out: &mut Outbox<FluxMesh>, sync: &GuildSync) {
        let guild_id = sync.guild_id;
        let old = self.guilds.replace(guild_id, sync.guild.clone());
        self.channels.reindex_guild(guild_id, sync.guild.as_deref());
        self.guild_create_cache.invalidate(GuildId(guild_id));
        let members = |guild: &Option<Arc<Guild>>| -> BTreeSet<u64> {
            guild
                .iter()
                .flat_map(|g| g.members.iter().map(|m| m.user_id.0))
                .collect()
        };
        let (before, after) = (members(&old), members(&sync.guild));
        let joined: BTreeSet<u64> = after.difference(&before).copied().collect();
        let left: BTreeSet<u64> = before.difference(&after).copied().collect();
        if !joined.is_empty() {
            self.guild_joined(out, guild_id, &joined);
        }
        for event in &sync.events {
            self.deliver_guild_event(out, guild_id, event, old.as_deref());
        }
        for user in &joined {
            self.announce_presence_in(out, *user, guild_id);
        }
        if !left.is_empty() {
            self.guild_left(out, guild_id, &left, sync.guild.is_none());
        }
        if crate::world::core_of(guild_id, self.cores) == self.core {
            self.voice_follow_guild(out, guild_id);
        }
    }

    /// Subscribes the local sessions of users who joined `guild_id` and sends each its
    /// GUILD_CREATE.
    fn guild_joined(&mut self, out: &mut Outbox<FluxMesh>, guild_id: u64, users: &BTreeSet<u64>) {
        let Some(guild) = self.guilds.guild(guild_id).cloned() else {
            return;
        };
        let (live, detached) = self.subscribe_users(guild_id, |user| users.contains(&user));
        for conn in live {
            let Some(gateway) = self.conns.get(&conn) else {
                continue;
            };
            let (Some(user), Some(intents)) =
                (gateway.session.user_id(), gateway.session.intents())
            else {
                continue;
            };
            let large_threshold = gateway.large_threshold;
            let cached = self.guild_create_cache.get_or_encode(
                &guild,
                &self.directory,
                UserId(user),
                large_threshold,
            );
            let event = self.guild_create_dispatch(&guild, cached, intents, Intents::GUILDS);
            self.drive(out, conn, Input::Dispatch(&event));
        }
        // Detached sessions keep their own GUILD_CREATE (the threads each may view),
        // without presences; joining while detached is rare.
        for session_id in detached {
            let Some(parked) = self.detached.get_mut(&session_id) else {
                continue;
            };
            let viewer = UserId(parked.state.user_id());
            let d = crate::world::guild_create_json(&guild, &self.directory, viewer, 250);
            let event = Dispatch::new(
                "GUILD_CREATE",
                d.to_vec(),
                DispatchScope::Guild(guild_id),
                Intents::GUILDS,
            );
            parked.state.handle_dispatch(&event);
        }
    }

    /// Unsubscribes the local sessions of users who left `guild_id` (or all, when it was
    /// deleted) and sends each GUILD_DELETE.
    fn guild_left(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild_id: u64,
        users: &BTreeSet<u64>,
        deleted: bool,
    ) {
        let d = encode(&serde_json::json!({ "id": guild_id.to_string() }));
        let event = Dispatch::new(
            "GUILD_DELETE",
            d,
            DispatchScope::Guild(guild_id),
            Intents::GUILDS,
        );
        let leaving = |user: u64| deleted || users.contains(&user);
        self.deliver(out, Some(guild_id), &event, leaving);
        self.unsubscribe_users(guild_id, leaving);
    }

    /// Encodes `event` once and hands it to each local session in its audience (the
    /// session itself filters by intents and shard).
    fn deliver_guild_event(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild_id: u64,
        event: &GuildEvent,
        old: Option<&Guild>,
    ) {
        let dispatch = Dispatch::new(
            event.name,
            encode(&event.d),
            DispatchScope::Guild(guild_id),
            event.intents,
        );
        let guild = self.guilds.guild(guild_id).cloned();
        let audience = Recipients::of(
            &event.audience,
            guild.as_deref().or(old),
            |channel, needed| self.channels.members_with(channel.0, needed),
        );
        self.deliver(out, Some(guild_id), &dispatch, |user| {
            audience.includes(user)
        });
    }

    /// `GET /users/@me/guilds`: the caller's guilds from this core's replicas.
    pub(super) fn current_user_guilds(&self, user_id: u64) -> Vec<u8> {
        let guilds: Vec<serde_json::Value> = self
            .guilds
            .guilds_of(user_id)
            .into_iter()
            .filter_map(|id| self.guilds.guild(id))
            .map(|guild| partial_guild_json(guild, UserId(user_id)))
            .collect();
        encode(&serde_json::Value::Array(guilds))
    }
}

/// Who an event's audience is, resolved once per event on each core.
enum Recipients {
    All,
    Some(BTreeSet<u64>),
}

impl Recipients {
    /// `cached`: the members holding a permission in a channel, from the views this core
    /// already keeps (`ChannelIndex::members_with`); computed from `guild` only for a channel
    /// those no longer hold (a deleted guild's).
    fn of(
        audience: &Audience,
        guild: Option<&Guild>,
        cached: impl Fn(crate::world::ChannelId, Permissions) -> Option<BTreeSet<UserId>>,
    ) -> Recipients {
        let Some(guild) = guild else {
            return Recipients::All;
        };
        let with = |channel_id: crate::world::ChannelId, needed: Permissions| {
            if let Some(members) = cached(channel_id, needed) {
                return members.into_iter().map(|user| user.0).collect();
            }
            let snapshot = GuildSnapshot::of_guild(guild);
            let Some(channel) = guild.channel(channel_id) else {
                return BTreeSet::new();
            };
            let channel = channel_snapshot(guild, channel);
            snapshot
                .members
                .iter()
                .filter(|m| snapshot.permissions_in(m, &channel, 0).contains(needed))
                .map(|m| m.user_id.0)
                .collect()
        };
        match audience {
            Audience::Guild => Recipients::All,
            Audience::Channel(channel) => {
                Recipients::Some(with(*channel, Permissions::VIEW_CHANNEL))
            }
            Audience::ChannelPermission(channel, needed) => {
                Recipients::Some(with(*channel, *needed | Permissions::VIEW_CHANNEL))
            }
            Audience::Users(users) => Recipients::Some(users.iter().map(|u| u.0).collect()),
        }
    }

    fn includes(&self, user: u64) -> bool {
        match self {
            Recipients::All => true,
            Recipients::Some(users) => users.contains(&user),
        }
    }
}

/// The permission view of `channel`; a thread inherits its parent's overwrites and a
/// private thread shows only to its members and MANAGE_THREADS holders.
pub(super) fn channel_snapshot(guild: &Guild, channel: &crate::world::Channel) -> ChannelSnapshot {
    ChannelSnapshot::of_guild_channel(guild, channel)
}

/// The partial guild of `GET /users/@me/guilds`.
fn partial_guild_json(guild: &Guild, viewer: UserId) -> serde_json::Value {
    let snapshot = GuildSnapshot::of_guild(guild);
    let permissions = snapshot.member(viewer).map_or(Permissions::NONE, |member| {
        snapshot.guild_permissions(member, 0)
    });
    serde_json::json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "banner": null,
        "owner": guild.owner_id == viewer,
        "permissions": permissions.encode_decimal(),
        "features": guild.features,
        "approximate_member_count": guild.members.len(),
        "approximate_presence_count": 0,
    })
}
