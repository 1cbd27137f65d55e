//! Voice states across cores: gateway op 4 → VOICE_STATE_UPDATE on every core and
//! VOICE_SERVER_UPDATE to the asking session.
//!
//! The path of one op 4:
//!
//! ```text
//! session's core                 guild's owner core                    every core
//! op 4 ─► voice_state_requested  handle_voice_ask:
//!   (VoiceAsk) ─────────────────► VoiceBook::request (the rules,        apply_voice_sync:
//!                                 world::voice_state); a voice token     replica of the guild's
//!                                 minted for a join or move ──────────►  voice states, then
//!                                   (VoiceSync, every core)              VOICE_STATE_UPDATE to
//!                                 ──► (VoiceServer, the asking core)     the guild's sessions
//! voice_server: VOICE_SERVER_UPDATE {token, guild_id, endpoint} to the session that asked
//! ```
//!
//! The owner decides because it alone sees every op 4 of the guild's members, from every
//! core: two joins of one user cannot race, and a channel's `user_limit` holds. The
//! endpoint it names is its own voice gateway (`FluxApp::voice_addr`), so every voice
//! connection of a guild, and every RTP packet of its channels, meets on that one core.
//! The owner sends `VoiceSync` before `VoiceServer` on the same ring when the asking
//! core is elsewhere, so a client sees VOICE_STATE_UPDATE first, as Discord sends them.
//!
//! A session that is gone for good (closed, or detached and expired) leaves every voice
//! channel it held (`leave_voice_of_session`); a session that may still resume keeps its
//! voice state, as on Discord. A refused op 4 gets no answer (Discord sends none), only a
//! log line.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{FluxApp, FluxMesh};
use crate::gateway::{Dispatch, DispatchScope, Input, Intents, VoiceStateUpdate};
use crate::reactor::{ConnId, Outbox};
use crate::world::voice_state::{VoiceState, VoiceTicket, VOICE_TOKEN_TTL_MS};
use crate::world::{encode, ChannelId, GuildId, UserId};

/// An op 4 on its way to the guild's owner core.
#[derive(Debug)]
pub struct VoiceAsk {
    /// The user.
    pub user_id: u64,
    /// The asking gateway session's id.
    pub session_id: String,
    /// What the session asked.
    pub update: VoiceStateUpdate,
    /// Where the session is, for VOICE_SERVER_UPDATE.
    pub reply_core: usize,
    /// The session's connection there (`None` when the session is gone: a leave only).
    pub conn: Option<ConnId>,
}

/// Every core's copy of the voice states of every guild (announced by the owners).
#[derive(Debug, Default)]
pub(super) struct VoiceReplicas {
    states: BTreeMap<u64, BTreeMap<u64, Arc<VoiceState>>>,
}

impl VoiceReplicas {
    /// Records an announced state (a leave removes the user).
    fn apply(&mut self, state: &Arc<VoiceState>) {
        let guild = self.states.entry(state.guild_id.0).or_default();
        if state.channel_id.is_some() {
            guild.insert(state.user_id.0, Arc::clone(state));
        } else {
            guild.remove(&state.user_id.0);
        }
        if guild.is_empty() {
            self.states.remove(&state.guild_id.0);
        }
    }

    /// The voice states of `guild_id`.
    pub(super) fn of_guild(&self, guild_id: u64) -> impl Iterator<Item = &Arc<VoiceState>> + '_ {
        self.states
            .get(&guild_id)
            .into_iter()
            .flat_map(|g| g.values())
    }

    /// The guilds where `session_id` of `user_id` holds a voice connection.
    fn guilds_of_session(&self, user_id: u64, session_id: &str) -> Vec<u64> {
        self.states
            .iter()
            .filter(|(_, users)| {
                users
                    .get(&user_id)
                    .is_some_and(|state| state.session_id == session_id)
            })
            .map(|(guild, _)| *guild)
            .collect()
    }
}

impl FluxApp {
    /// op 4 from a live session on `conn`: ask the guild's owner.
    pub(super) fn voice_state_requested(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        update: VoiceStateUpdate,
    ) {
        let Some((user_id, session_id)) = self.conns.get(&conn).and_then(|g| g.presence_of) else {
            return;
        };
        let ask = VoiceAsk {
            user_id,
            session_id: session_id.to_string(),
            update,
            reply_core: self.core,
            conn: Some(conn),
        };
        self.send_voice_ask(out, ask);
    }

    /// A session is gone for good: leave every voice channel it held.
    pub(super) fn leave_voice_of_session(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        user_id: u64,
        session_id: crate::gateway::SessionId,
    ) {
        let session_id = session_id.to_string();
        for guild_id in self.voice.guilds_of_session(user_id, &session_id) {
            let update = VoiceStateUpdate {
                guild_id,
                channel_id: None,
                self_mute: false,
                self_deaf: false,
            };
            let ask = VoiceAsk {
                user_id,
                session_id: session_id.clone(),
                update,
                reply_core: self.core,
                conn: None,
            };
            self.send_voice_ask(out, ask);
        }
    }

    fn send_voice_ask(&mut self, out: &mut Outbox<FluxMesh>, ask: VoiceAsk) {
        let owner = crate::world::core_of(ask.update.guild_id, self.cores);
        if owner == self.core {
            self.handle_voice_ask(out, ask);
        } else {
            out.send_mesh(owner, FluxMesh::VoiceAsk(Box::new(ask)));
        }
    }

    /// On the owner: a member edit's `channel_id`. The operation checked MOVE_MEMBERS,
    /// the mover's CONNECT to the target and that the member is in voice, so neither the
    /// member's own permissions nor the channel's `user_limit` stop a move, as on Discord.
    pub(super) fn move_voice_member(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild: GuildId,
        voice_move: crate::world::guild_ops::VoiceMove,
    ) {
        if let Some(change) = self.voice_book.moved(guild, voice_move.user, voice_move.to) {
            self.announce_voice_state(out, change.state);
        }
    }

    /// On the owner, after the `VoiceBook` took a change: the voice gateway and the SFU
    /// follow at once, and every core learns the state (`VoiceSync`).
    fn announce_voice_state(&mut self, out: &mut Outbox<FluxMesh>, state: VoiceState) {
        let channel = state.channel_id.map(|c| c.0);
        self.voice_state_applied(out, state.guild_id, state.user_id, channel);
        let state = Arc::new(state);
        for core in 0..self.cores {
            out.send_mesh(
                core,
                FluxMesh::VoiceSync {
                    state: Arc::clone(&state),
                },
            );
        }
    }

    /// On the guild's owner: apply the rules, announce the change to every core, and
    /// for a join or move send the asking session its voice server.
    pub(super) fn handle_voice_ask(&mut self, out: &mut Outbox<FluxMesh>, ask: VoiceAsk) {
        let guild_id = ask.update.guild_id;
        debug_assert_eq!(crate::world::core_of(guild_id, self.cores), self.core);
        let Some(guild) = self.guilds.guild(guild_id).cloned() else {
            return;
        };
        let now_ms = super::answers::unix_ms();
        let user = UserId(ask.user_id);
        let flags = (ask.update.self_mute, ask.update.self_deaf);
        let channel = ask.update.channel_id.map(ChannelId);
        let change =
            match self
                .voice_book
                .request(&guild, user, &ask.session_id, channel, flags, now_ms)
            {
                Ok(Some(change)) => change,
                Ok(None) => return,
                Err(refusal) => {
                    eprintln!(
                    "flux: core {}: voice state update of user {} in guild {guild_id} refused: \
                     {refusal:?}",
                    self.core, ask.user_id
                );
                    return;
                }
            };
        let joined = change.state.channel_id;
        self.announce_voice_state(out, change.state);
        let (Some(_), Some(conn)) = (joined, ask.conn) else {
            return;
        };
        let Some(token) = self.voice_token() else {
            return;
        };
        let ticket = VoiceTicket {
            guild_id: GuildId(guild_id),
            user_id: user,
            session_id: ask.session_id.clone(),
            expires_unix_ms: now_ms + VOICE_TOKEN_TTL_MS,
        };
        self.voice_book.mint(token.clone(), ticket, now_ms);
        let server = FluxMesh::VoiceServer {
            conn,
            guild_id,
            token,
            endpoint: self.voice_addr.map(|addr| addr.to_string()),
        };
        out.send_mesh(ask.reply_core, server);
    }

    /// On the owner, after a durable guild change: voice states follow the guild. A member
    /// who left (kicked, banned) or whose channel is gone leaves voice (a deleted channel
    /// ends its connections with 4022), and a changed server mute or deafen (a member
    /// edit) is announced and reaches the SFU at once.
    pub(super) fn voice_follow_guild(&mut self, out: &mut Outbox<FluxMesh>, guild_id: u64) {
        let guild = self.guilds.guild(guild_id).cloned();
        let states: Vec<VoiceState> = self
            .voice_book
            .in_guild(GuildId(guild_id))
            .cloned()
            .collect();
        for state in states {
            let user = state.user_id;
            let member = guild.as_deref().and_then(|g| g.member(user));
            let channel_alive = guild.as_deref().is_some_and(|g| {
                state
                    .channel_id
                    .is_some_and(|channel| g.channel(channel).is_some())
            });
            let changed = match member {
                Some(member) if channel_alive => {
                    self.voice_book
                        .server_flags(GuildId(guild_id), user, member.mute, member.deaf)
                }
                _ => {
                    if member.is_some() {
                        self.voice_channel_deleted(out, GuildId(guild_id), user);
                    }
                    self.voice_book
                        .leave(GuildId(guild_id), user)
                        .map(|mut gone| {
                            gone.channel_id = None;
                            gone
                        })
                }
            };
            if let Some(changed) = changed {
                self.announce_voice_state(out, changed);
            }
        }
    }

    /// On every core: remember the state and tell the guild's sessions that may see it.
    pub(super) fn apply_voice_sync(&mut self, out: &mut Outbox<FluxMesh>, state: &Arc<VoiceState>) {
        self.voice.apply(state);
        let guild_id = state.guild_id.0;
        let guild = self.guilds.guild(guild_id).cloned();
        let user = self.directory.entry(state.user_id).map(|entry| &entry.user);
        let d = encode(&state.to_json(guild.as_deref(), user));
        let event = Dispatch::new(
            "VOICE_STATE_UPDATE",
            d,
            DispatchScope::Guild(guild_id),
            Intents::GUILD_VOICE_STATES,
        );
        self.fan_out(out, guild_id, &event);
    }

    /// On the asking session's core: VOICE_SERVER_UPDATE to that session, if it is still
    /// there. No intent gates it (Discord sends it to the session that asked).
    pub(super) fn voice_server(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        guild_id: u64,
        token: &str,
        endpoint: Option<&str>,
    ) {
        let d = encode(&serde_json::json!({
            "token": token,
            "guild_id": guild_id.to_string(),
            "endpoint": endpoint,
        }));
        let event = Dispatch::new(
            "VOICE_SERVER_UPDATE",
            d,
            DispatchScope::Guild(guild_id),
            Intents::empty(),
        );
        self.drive(out, conn, Input::Dispatch(&event));
    }

    /// GUILD_CREATE's `voice_states` for `guild_id`, from this core's copy (without
    /// `guild_id` and `member`, as Discord sends them there).
    pub(super) fn guild_voice_states(&self, guild_id: u64) -> Vec<serde_json::Value> {
        self.voice
            .of_guild(guild_id)
            .map(|state| {
                let mut value = state.to_json(None, None);
                if let serde_json::Value::Object(object) = &mut value {
                    object.remove("guild_id");
                }
                value
            })
            .collect()
    }

    /// 32 hex digits from the OS's CSPRNG, so a voice token cannot be guessed; `None`
    /// (logged: the session gets no voice server) if the OS cannot give them.
    fn voice_token(&self) -> Option<String> {
        let mut bytes = [0u8; 16];
        if let Err(error) = getrandom::fill(&mut bytes) {
            eprintln!(
                "flux: core {}: no voice token: the OS CSPRNG failed ({error})",
                self.core
            );
            return None;
        }
        Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}
