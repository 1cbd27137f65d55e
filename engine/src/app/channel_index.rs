//! Every channel this core knows, as the message path needs it: which guild holds it
//! (and so which core owns its messages), its permission view, and who may see it.
//!
//! Why every core keeps one: the receiving core routes a message call to the channel's
//! owner without asking anyone, and every core filters the events it fans out to its own
//! sessions by the channel's viewers. The index is rebuilt per guild from each durable
//! replica (`reindex_guild`, called when a `GuildSync` is applied) and per DM when a DM
//! becomes durable (`index_dm`).
//!
//! Cost (documented, not hidden): a guild's reindex is O(members × channels).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::id_hash::IdHashSet;
use crate::world::dm::DmChannel;
use crate::world::permissions::{
    members_who_can_view, ChannelClass, ChannelSnapshot, GuildSnapshot, MemberSnapshot, Permissions,
};
use crate::world::{owner_core, Guild, GuildId, UserId, World};

/// What DM recipients may do: the channel is theirs (Discord computes no permissions
/// for DMs; this is the set its checks amount to).
const DM_PERMISSIONS: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::READ_MESSAGE_HISTORY)
    .union(Permissions::ADD_REACTIONS)
    .union(Permissions::EMBED_LINKS)
    .union(Permissions::ATTACH_FILES)
    .union(Permissions::USE_EXTERNAL_EMOJIS);

/// A channel as the message path sees it.
#[derive(Debug)]
pub(super) struct ChannelInfo {
    /// The guild; for a DM, the channel's own id (a guild of two, see `index_dm`).
    pub guild_id: u64,
    /// For a DM: its pair core, which owns it (`world::dm`).
    pub dm_owner: Option<usize>,
    pub snapshot: ChannelSnapshot,
    /// Members allowed to view it: the recipients of its events (a hash set: fan-out
    /// asks it once per session per event; shared so an event need not copy it).
    pub viewers: Arc<IdHashSet<UserId>>,
}

/// The channel index of one core.
#[derive(Debug, Default)]
pub(super) struct ChannelIndex {
    channels: HashMap<u64, ChannelInfo>,
    guilds: HashMap<u64, GuildSnapshot>,
}

impl ChannelIndex {
    /// The index of every channel of `world`'s guilds and DMs.
    pub(super) fn from_world(world: &World, cores: usize) -> ChannelIndex {
        let mut index = ChannelIndex::default();
        for guild in &world.guilds {
            index.reindex_guild(guild.id.0, Some(guild));
        }
        for channel in &world.dm_channels {
            index.index_dm(channel, cores);
        }
        index
    }

    /// Channel `channel_id`, if known.
    pub(super) fn channel(&self, channel_id: u64) -> Option<&ChannelInfo> {
        self.channels.get(&channel_id)
    }

    /// The permission view of guild `guild_id` (a DM's own id for a DM).
    pub(super) fn guild(&self, guild_id: u64) -> Option<&GuildSnapshot> {
        self.guilds.get(&guild_id)
    }

    /// Rebuilds the channel index and permission view of guild `guild_id` from its new
    /// replica (`None`: the guild is gone).
    pub(super) fn reindex_guild(&mut self, guild_id: u64, guild: Option<&Guild>) {
        self.channels
            .retain(|_, channel| channel.guild_id != guild_id);
        self.guilds.remove(&guild_id);
        let Some(guild) = guild else {
            return;
        };
        let snapshot = GuildSnapshot::of_guild(guild);
        for channel in &guild.channels {
            let channel_snapshot = ChannelSnapshot::of_guild_channel(guild, channel);
            let viewers = Arc::new(
                members_who_can_view(&snapshot, &channel_snapshot)
                    .into_iter()
                    .collect(),
            );
            self.channels.insert(
                channel.id.0,
                ChannelInfo {
                    guild_id,
                    dm_owner: None,
                    snapshot: channel_snapshot,
                    viewers,
                },
            );
        }
        self.guilds.insert(guild_id, snapshot);
    }

    /// Indexes DM channel `channel` as a guild of two: its own id stands for the guild,
    /// whose @everyone grants the recipients what Discord lets DM recipients do.
    pub(super) fn index_dm(&mut self, channel: &DmChannel, cores: usize) {
        let id = channel.id.0;
        let pseudo = GuildId(id);
        let members: Vec<MemberSnapshot> = channel
            .recipients
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|user| MemberSnapshot {
                user_id: *user,
                role_ids: Vec::new(),
                communication_disabled_until_unix_ms: None,
            })
            .collect();
        let snapshot = GuildSnapshot {
            guild_id: pseudo,
            owner_id: UserId(0),
            roles: [(pseudo.everyone_role(), DM_PERMISSIONS)]
                .into_iter()
                .collect(),
            members,
        };
        self.channels.insert(
            id,
            ChannelInfo {
                guild_id: id,
                dm_owner: Some(channel.owner_core(cores)),
                snapshot: ChannelSnapshot {
                    class: ChannelClass::Text,
                    overwrites: Vec::new(),
                    private_thread_members: None,
                },
                viewers: Arc::new(channel.recipients.iter().copied().collect()),
            },
        );
        self.guilds.insert(id, snapshot);
    }

    /// The core that owns channel `channel_id`'s messages, if the channel is known.
    pub(super) fn owner_of(&self, channel_id: u64, cores: usize) -> Option<usize> {
        let channel = self.channels.get(&channel_id)?;
        Some(
            channel
                .dm_owner
                .unwrap_or_else(|| owner_core(GuildId(channel.guild_id), cores)),
        )
    }

    /// `user`'s permissions in channel `channel_id` at `now_unix_ms` (none for a channel
    /// this core does not know or a user who is not a member).
    pub(super) fn permissions_of(
        &self,
        channel_id: u64,
        user: UserId,
        now_unix_ms: u64,
    ) -> Permissions {
        let Some(channel) = self.channels.get(&channel_id) else {
            return Permissions::NONE;
        };
        let Some(guild) = self.guilds.get(&channel.guild_id) else {
            return Permissions::NONE;
        };
        guild.member(user).map_or(Permissions::NONE, |member| {
            guild.permissions_in(member, &channel.snapshot, now_unix_ms)
        })
    }

    /// The members who hold `needed` in channel `channel_id` (the viewer set itself for
    /// VIEW_CHANNEL); `None` for a channel this core does not know.
    pub(super) fn members_with(
        &self,
        channel_id: u64,
        needed: Permissions,
    ) -> Option<BTreeSet<UserId>> {
        let channel = self.channels.get(&channel_id)?;
        if needed == Permissions::VIEW_CHANNEL {
            return Some(channel.viewers.iter().copied().collect());
        }
        let guild = self.guilds.get(&channel.guild_id)?;
        Some(
            guild
                .members
                .iter()
                .filter(|member| {
                    guild
                        .permissions_in(member, &channel.snapshot, 0)
                        .contains(needed)
                })
                .map(|member| member.user_id)
                .collect(),
        )
    }
}
