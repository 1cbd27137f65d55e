//! Voice states: who is in which voice channel of a guild, and the rules for joining.
//!
//! A voice state is Discord's record that a user's gateway session is connected to a
//! voice channel (gateway op 4 Voice State Update sets it; VOICE_STATE_UPDATE and
//! GUILD_CREATE's `voice_states` show it). Where it lives: a [`VoiceBook`] on the guild's
//! owner core `(guild_id >> 22) % cores` decides every change, so two joins of one user
//! on two cores cannot race; every core keeps the announced states for GUILD_CREATE
//! (`app/voice_states.rs`).
//!
//! Voice states are not stored. Like Discord's, they describe live connections: a
//! restart ends every voice connection, and with it every voice state.
//!
//! Implements: Discord Gateway v10 "Update Voice State" (op 4), the Voice State object,
//! "Voice Server Update" (the token's half; the endpoint is the owner core's voice
//! gateway, chosen by the app).
//!
//! The rules, as Discord applies them: the user must be a member; the channel must be a
//! voice channel of the guild (type 2) the user may view and CONNECT to; a channel whose
//! `user_limit` is reached takes only members with MOVE_MEMBERS (or who are already in
//! it). A refused op 4 is not answered (Discord does not answer it either; the client
//! times out), which the app logs. Server mute and deafen come from the member
//! (`Member::mute`, `Member::deaf`).
//!
//! Invariants:
//! - A book holds a state only for a user in a channel (`channel_id` is `Some`); leaving
//!   removes it.
//! - A voice token is single-use and expires `VOICE_TOKEN_TTL_MS` after it was minted.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::guild_ops::authority::channel_permissions;
use super::ids::{ChannelId, GuildId, UserId};
use super::json::member_json;
use super::model::{Channel, ChannelKind, Guild, User};
use super::permissions::Permissions;

/// How long a voice token from VOICE_SERVER_UPDATE may be used to identify on the voice
/// gateway. Clients connect at once (discord.py within its 30 s connect timeout).
pub const VOICE_TOKEN_TTL_MS: u64 = 60_000;

/// Voice tokens remembered at most per book: a client that asks again and again for a
/// token without using it cannot grow the owner core without bound.
pub const VOICE_TOKENS_MAX: usize = 4096;

/// One user's connection to a voice channel of a guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceState {
    /// The guild.
    pub guild_id: GuildId,
    /// The voice channel; `None` in the announcement of a leave.
    pub channel_id: Option<ChannelId>,
    /// The user.
    pub user_id: UserId,
    /// The gateway session that holds the connection (its `session_id`).
    pub session_id: String,
    /// Muted by the user.
    pub self_mute: bool,
    /// Deafened by the user.
    pub self_deaf: bool,
    /// Muted by the server (`Member::mute`).
    pub mute: bool,
    /// Deafened by the server (`Member::deaf`).
    pub deaf: bool,
}

impl VoiceState {
    /// The Voice State object; with `member` (the member and its user) as a guild's
    /// VOICE_STATE_UPDATE carries it (discord-ext-voice-recv reads it).
    pub fn to_json(&self, guild: Option<&Guild>, user: Option<&User>) -> Value {
        let member = guild
            .and_then(|guild| guild.member(self.user_id))
            .zip(user)
            .map(|(member, user)| member_json(member, user));
        let mut value = json!({
            "guild_id": self.guild_id.0.to_string(),
            "channel_id": self.channel_id.map(|id| id.0.to_string()),
            "user_id": self.user_id.0.to_string(),
            "session_id": self.session_id,
            "deaf": self.deaf,
            "mute": self.mute,
            "self_deaf": self.self_deaf,
            "self_mute": self.self_mute,
            "self_stream": false,
            "self_video": false,
            "suppress": false,
            "request_to_speak_timestamp": null,
        });
        if let (Some(member), Value::Object(object)) = (member, &mut value) {
            object.insert("member".into(), member);
        }
        value
    }
}

/// Why an op 4 was not applied (logged; the client gets no answer, as on Discord).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceRefusal {
    /// The user is not a member of the guild.
    NotMember,
    /// No such channel in the guild.
    UnknownChannel,
    /// The channel is not a voice channel.
    NotVoice,
    /// The user may not view or CONNECT to the channel.
    MissingConnect,
    /// The channel's `user_limit` is reached.
    ChannelFull,
    /// The session asking does not hold the user's voice connection (a leave from
    /// another session).
    OtherSession,
}

/// What an accepted op 4 changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceChange {
    /// The state to announce (VOICE_STATE_UPDATE); its `channel_id` is `None` for a leave.
    pub state: VoiceState,
    /// The channel the user was in before, if any.
    pub from: Option<ChannelId>,
}

/// A minted voice token and what it admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceTicket {
    /// The guild (the voice gateway's `server_id`).
    pub guild_id: GuildId,
    /// The user.
    pub user_id: UserId,
    /// The gateway session it was minted for.
    pub session_id: String,
    /// When it stops admitting (Unix ms).
    pub expires_unix_ms: u64,
}

/// The voice states of the guilds one core owns, and the tokens it minted.
#[derive(Debug, Default)]
pub struct VoiceBook {
    states: HashMap<GuildId, BTreeMap<UserId, VoiceState>>,
    tokens: HashMap<String, VoiceTicket>,
}

impl VoiceBook {
    /// Applies op 4 from `session_id` of `user` to `guild` at `now_unix_ms`.
    /// `Ok(None)`: nothing to announce (a leave of a user not in voice).
    ///
    /// ```
    /// use engine::world::voice_state::VoiceBook;
    /// use engine::world::demo_world;
    ///
    /// let demo = demo_world(1_700_000_000_000, [1; 32]).unwrap();
    /// let guild = &demo.world.guilds[0];
    /// let mut book = VoiceBook::default();
    /// let bot = demo.bots[0].user_id;
    /// let change = book
    ///     .request(guild, bot, "s1", Some(demo.voice_channel_id), (false, false), 0)
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(change.state.channel_id, Some(demo.voice_channel_id));
    /// assert_eq!(book.occupants(guild.id, demo.voice_channel_id).count(), 1);
    /// ```
    pub fn request(
        &mut self,
        guild: &Guild,
        user: UserId,
        session_id: &str,
        channel: Option<ChannelId>,
        (self_mute, self_deaf): (bool, bool),
        now_unix_ms: u64,
    ) -> Result<Option<VoiceChange>, VoiceRefusal> {
        let member = guild.member(user).ok_or(VoiceRefusal::NotMember)?;
        let current = self.state(guild.id, user);
        let from = current.and_then(|state| state.channel_id);
        let Some(channel_id) = channel else {
            let Some(current) = current else {
                return Ok(None);
            };
            if current.session_id != session_id {
                return Err(VoiceRefusal::OtherSession);
            }
            let mut state = self.leave(guild.id, user).expect("a state was found above");
            state.channel_id = None;
            return Ok(Some(VoiceChange { state, from }));
        };
        let target = guild
            .channel(channel_id)
            .ok_or(VoiceRefusal::UnknownChannel)?;
        let ChannelKind::Voice(settings) = &target.kind else {
            return Err(VoiceRefusal::NotVoice);
        };
        let (connect, move_members) = may_connect(guild, target, user, now_unix_ms);
        if !connect {
            return Err(VoiceRefusal::MissingConnect);
        }
        let occupants = self.occupants(guild.id, channel_id).count();
        let staying = from == Some(channel_id);
        if settings.user_limit > 0
            && occupants >= settings.user_limit as usize
            && !staying
            && !move_members
        {
            return Err(VoiceRefusal::ChannelFull);
        }
        let state = VoiceState {
            guild_id: guild.id,
            channel_id: Some(channel_id),
            user_id: user,
            session_id: session_id.to_owned(),
            self_mute,
            self_deaf,
            mute: member.mute,
            deaf: member.deaf,
        };
        self.states
            .entry(guild.id)
            .or_default()
            .insert(user, state.clone());
        Ok(Some(VoiceChange { state, from }))
    }

    /// A moderator moved `user` to `to` (a member edit's `channel_id`), or disconnected
    /// them (`None`). The operation checked the moderator's permissions and the target
    /// channel; the user's own permissions and the channel's `user_limit` do not apply.
    /// `None` when the user is not in voice in `guild`.
    pub fn moved(
        &mut self,
        guild: GuildId,
        user: UserId,
        to: Option<ChannelId>,
    ) -> Option<VoiceChange> {
        let current = self.state(guild, user)?.clone();
        let from = current.channel_id;
        match to {
            Some(channel) => {
                let state = VoiceState {
                    channel_id: Some(channel),
                    ..current
                };
                self.states
                    .entry(guild)
                    .or_default()
                    .insert(user, state.clone());
                Some(VoiceChange { state, from })
            }
            None => {
                let mut state = self.leave(guild, user)?;
                state.channel_id = None;
                Some(VoiceChange { state, from })
            }
        }
    }

    /// The server's mute and deafen for `user` changed (a member edit): the new state to
    /// announce, if the user is in voice and it changed.
    pub fn server_flags(
        &mut self,
        guild: GuildId,
        user: UserId,
        mute: bool,
        deaf: bool,
    ) -> Option<VoiceState> {
        let state = self.states.get_mut(&guild)?.get_mut(&user)?;
        if (state.mute, state.deaf) == (mute, deaf) {
            return None;
        }
        (state.mute, state.deaf) = (mute, deaf);
        Some(state.clone())
    }

    /// Removes `user`'s state in `guild` (they left, were removed from the guild, or their
    /// session ended) and returns it.
    pub fn leave(&mut self, guild: GuildId, user: UserId) -> Option<VoiceState> {
        let states = self.states.get_mut(&guild)?;
        let state = states.remove(&user);
        if states.is_empty() {
            self.states.remove(&guild);
        }
        state
    }

    /// `user`'s state in `guild`, if they are in voice there.
    pub fn state(&self, guild: GuildId, user: UserId) -> Option<&VoiceState> {
        self.states.get(&guild)?.get(&user)
    }

    /// The states of the users in `channel`.
    pub fn occupants(
        &self,
        guild: GuildId,
        channel: ChannelId,
    ) -> impl Iterator<Item = &VoiceState> + '_ {
        self.states
            .get(&guild)
            .into_iter()
            .flat_map(|states| states.values())
            .filter(move |state| state.channel_id == Some(channel))
    }

    /// Every state in `guild`.
    pub fn in_guild(&self, guild: GuildId) -> impl Iterator<Item = &VoiceState> + '_ {
        self.states.get(&guild).into_iter().flat_map(|s| s.values())
    }

    /// Remembers `token` (random, minted by the caller) as admitting `ticket`'s user to
    /// the voice gateway until `ticket.expires_unix_ms`. Expired tokens are forgotten
    /// here; past `VOICE_TOKENS_MAX` the one closest to expiry goes.
    pub fn mint(&mut self, token: String, ticket: VoiceTicket, now_unix_ms: u64) {
        self.tokens
            .retain(|_, held| held.expires_unix_ms > now_unix_ms);
        if self.tokens.len() >= VOICE_TOKENS_MAX {
            let oldest = self
                .tokens
                .iter()
                .min_by_key(|(_, held)| held.expires_unix_ms)
                .map(|(token, _)| token.clone());
            if let Some(oldest) = oldest {
                self.tokens.remove(&oldest);
            }
        }
        self.tokens.insert(token, ticket);
    }

    /// Takes `token` for the voice gateway's Identify: the ticket if the token exists,
    /// has not expired and names this guild, user and session. A token is used once,
    /// whether or not it matched.
    pub fn redeem(
        &mut self,
        token: &str,
        guild: GuildId,
        user: UserId,
        session_id: &str,
        now_unix_ms: u64,
    ) -> Option<VoiceTicket> {
        let ticket = self.tokens.remove(token)?;
        let valid = ticket.expires_unix_ms > now_unix_ms
            && ticket.guild_id == guild
            && ticket.user_id == user
            && ticket.session_id == session_id;
        valid.then_some(ticket)
    }
}

/// Whether `user` may connect to `channel` (VIEW_CHANNEL and CONNECT), and whether they
/// hold MOVE_MEMBERS there (which lets them into a full channel).
fn may_connect(guild: &Guild, channel: &Channel, user: UserId, now_unix_ms: u64) -> (bool, bool) {
    let held = channel_permissions(guild, channel, user, now_unix_ms);
    (
        held.contains(Permissions::VIEW_CHANNEL | Permissions::CONNECT),
        held.contains(Permissions::MOVE_MEMBERS),
    )
}

#[cfg(test)]
mod tests;
