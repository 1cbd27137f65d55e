//! The voice gateway's shell on a guild's owner core: voice WebSocket connections
//! (`voice::VoiceSession`), the core's SFU (`sfu::Sfu`), and the UDP datagrams between
//! them.
//!
//! Why here, on the owner: the endpoint VOICE_SERVER_UPDATE names is the owner core's own
//! voice listener, and Ready names the same core's UDP port, so a channel's connections,
//! keys and packets meet on one core with nothing shared (`voice_states.rs` says how a
//! join gets there).
//!
//! What each session's question gets:
//! - Identify: the token is redeemed against the owner's `VoiceBook` (single use, this
//!   guild, user and session, not expired), the user must be in a voice channel there;
//!   the connection gets a fresh SSRC, which is also its SFU member id, and joins the SFU.
//!   Everyone already connected in the channel is told (op 11 Clients Connect), and the
//!   newcomer learns each of them (op 11, and op 5 with their SSRC so a receiver can map
//!   SSRC to user, as discord-ext-voice-recv does).
//! - Select Protocol: a fresh 32-byte key from the OS's CSPRNG keys the SFU.
//! - Speaking (op 5 from the client, or derived by the SFU from the audio level):
//!   relayed with `user_id` to the channel's other connections.
//! - Resume: the detached session of that guild and gateway session, if the token
//!   matches, moves onto the new connection and re-sends what the client missed.
//!
//! A connection that drops is kept for `VOICE_RESUME_TTL_MS` (the SFU keeps forwarding to
//! its address meanwhile, as Discord's does); a voice state that leaves, or an expired
//! detached connection, leaves the SFU, and the channel hears op 13 Client Disconnect.
//! Leaving the channel or the guild closes the live connection with 4014.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use serde_json::json;

use super::{FluxApp, FluxMesh};
use crate::id_hash::IdHashMap;
use crate::reactor::{CloseCause, ConnId, Outbox};
use crate::voice::payload::{SelectProtocol, VoiceIdentify, VoiceResume};
use crate::voice::{VoiceCloseCode, VoiceInput, VoiceOutput, VoiceSession, VoiceSessionConfig};
use crate::world::{GuildId, UserId};

/// How long a dropped voice connection may be resumed.
pub(super) const VOICE_RESUME_TTL_MS: u64 = 30_000;

/// Who a voice connection is, once admitted.
#[derive(Debug, Clone)]
struct Speaker {
    guild_id: u64,
    user_id: u64,
    /// The main gateway session it belongs to.
    session_id: String,
    channel_id: u64,
    ssrc: u32,
    /// The last speaking flags the client sent (0 until it sends op 5).
    speaking: u32,
}

impl Speaker {
    fn member(&self) -> sfu::MemberId {
        sfu::MemberId(u64::from(self.ssrc))
    }
}

/// One voice WebSocket.
#[derive(Debug)]
struct VoiceConn {
    session: VoiceSession,
    speaker: Option<Speaker>,
    wake_ms: Option<u64>,
}

/// A voice connection whose socket dropped, waiting for a Resume.
#[derive(Debug)]
struct DetachedVoice {
    session: VoiceSession,
    speaker: Speaker,
    expires_ms: u64,
}

/// One core's voice gateway: its connections, the detached ones, and its SFU.
#[derive(Debug)]
pub(super) struct VoiceGateway {
    config: VoiceSessionConfig,
    conns: IdHashMap<ConnId, VoiceConn>,
    /// By guild and main gateway session.
    detached: HashMap<(u64, String), DetachedVoice>,
    timers: BTreeSet<(u64, ConnId)>,
    ssrc_next: u32,
    sfu: sfu::Sfu,
}

impl VoiceGateway {
    /// Core `core`'s voice gateway, telling clients to heartbeat every
    /// `heartbeat_interval_ms`.
    pub(super) fn new(core: usize, heartbeat_interval_ms: u64) -> VoiceGateway {
        VoiceGateway {
            config: VoiceSessionConfig {
                heartbeat_interval_ms,
                ..VoiceSessionConfig::default()
            },
            conns: IdHashMap::default(),
            detached: HashMap::new(),
            timers: BTreeSet::new(),
            // SSRCs differ between cores, which helps a reader of a packet capture.
            ssrc_next: (core as u32).wrapping_mul(1 << 24) | 1,
            sfu: sfu::Sfu::new(sfu::SfuConfig::default()),
        }
    }

    /// Whether `conn` is a voice connection of this core.
    pub(super) fn serves(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    /// The earliest deadline: a session's, a detached connection's expiry, the SFU's.
    pub(super) fn next_deadline_ms(&self) -> Option<u64> {
        let session = self.timers.first().map(|(at, _)| *at);
        let detached = self.detached.values().map(|d| d.expires_ms).min();
        [session, detached].into_iter().flatten().min()
    }

    /// The SFU's own deadline (speaking detection).
    pub(super) fn sfu_deadline(&self) -> Option<std::time::Instant> {
        self.sfu.poll_timeout()
    }

    /// The SFU, every admitted member (live or detached) as `(guild, channel, user, ssrc,
    /// SFU member)`, and the number of live voice connections: what the metrics report.
    #[allow(clippy::type_complexity)]
    pub(super) fn report_parts(
        &self,
    ) -> (
        &sfu::Sfu,
        impl Iterator<Item = (u64, u64, u64, u32, sfu::MemberId)> + '_,
        usize,
    ) {
        let live = self
            .conns
            .values()
            .filter_map(|voice| voice.speaker.as_ref());
        let detached = self.detached.values().map(|d| &d.speaker);
        let speakers = live
            .chain(detached)
            .map(|s| (s.guild_id, s.channel_id, s.user_id, s.ssrc, s.member()));
        (&self.sfu, speakers, self.conns.len())
    }

    fn next_ssrc(&mut self) -> u32 {
        let ssrc = self.ssrc_next;
        self.ssrc_next = self.ssrc_next.wrapping_add(1).max(1);
        ssrc
    }

    /// The admitted connections in `channel_id` of `guild_id`, but `except`.
    fn in_channel(&self, guild_id: u64, channel_id: u64, except: Option<ConnId>) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(conn, voice)| {
                Some(**conn) != except
                    && voice
                        .speaker
                        .as_ref()
                        .is_some_and(|s| s.guild_id == guild_id && s.channel_id == channel_id)
            })
            .map(|(conn, _)| *conn)
            .collect()
    }

    fn conn_of_member(&self, guild_id: u64, user_id: u64) -> Option<ConnId> {
        self.conns.iter().find_map(|(conn, voice)| {
            voice
                .speaker
                .as_ref()
                .is_some_and(|s| s.guild_id == guild_id && s.user_id == user_id)
                .then_some(*conn)
        })
    }
}

impl FluxApp {
    fn now_ms(&self, out: &Outbox<FluxMesh>) -> u64 {
        self.now(out).0 / 1000
    }

    /// A WebSocket opened on this core's voice listener.
    pub(super) fn open_voice(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId) {
        let session = VoiceSession::new(self.voice_gateway.config.clone(), self.now_ms(out));
        let voice = VoiceConn {
            session,
            speaker: None,
            wake_ms: None,
        };
        let previous = self.voice_gateway.conns.insert(conn, voice);
        assert!(previous.is_none(), "a connection id is opened once");
        self.pump_voice(out, conn);
    }

    /// Feed `input` to `conn`'s voice session, then act on what it asks.
    pub(super) fn drive_voice(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        input: VoiceInput<'_>,
    ) {
        let now = self.now_ms(out);
        self.drive_voice_at(out, conn, now, input);
    }

    /// `drive_voice` at `now_ms` instead of this turn's time.
    fn drive_voice_at(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        now_ms: u64,
        input: VoiceInput<'_>,
    ) {
        let Some(voice) = self.voice_gateway.conns.get_mut(&conn) else {
            return;
        };
        voice.session.handle(now_ms, input);
        self.pump_voice(out, conn);
    }

    fn pump_voice(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId) {
        let mut questions = Vec::new();
        let Some(voice) = self.voice_gateway.conns.get_mut(&conn) else {
            return;
        };
        let mut wake = None;
        while let Some(output) = voice.session.poll() {
            match output {
                VoiceOutput::Send(text) => out.send_text(conn, text.into_bytes()),
                VoiceOutput::Close(code) => out.close(conn, code.code(), code.reason()),
                VoiceOutput::WakeAt(at) => wake = Some(at),
                question => questions.push(question),
            }
        }
        if let Some(at) = wake {
            if let Some(old) = voice.wake_ms.replace(at) {
                self.voice_gateway.timers.remove(&(old, conn));
            }
            self.voice_gateway.timers.insert((at, conn));
            self.arm(out);
        }
        for question in questions {
            match question {
                VoiceOutput::Identify(identify) => self.voice_identify(out, conn, &identify),
                VoiceOutput::Resume(resume) => self.voice_resume(out, conn, &resume),
                VoiceOutput::SelectProtocol(select) => self.voice_select(out, conn, &select),
                VoiceOutput::Speaking { speaking, ssrc } => {
                    self.voice_speaking(out, conn, speaking, ssrc)
                }
                VoiceOutput::Send(_) | VoiceOutput::Close(_) | VoiceOutput::WakeAt(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }

    fn voice_identify(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        identify: &VoiceIdentify,
    ) {
        let refuse = |app: &mut FluxApp, out: &mut Outbox<FluxMesh>, code| {
            app.drive_voice(out, conn, VoiceInput::Refused(code));
        };
        if crate::world::core_of(identify.server_id, self.cores) != self.core {
            return refuse(self, out, VoiceCloseCode::ServerNotFound);
        }
        let (guild, user) = (GuildId(identify.server_id), UserId(identify.user_id));
        let now_unix = super::answers::unix_ms();
        let ticket =
            self.voice_book
                .redeem(&identify.token, guild, user, &identify.session_id, now_unix);
        let channel = self
            .voice_book
            .state(guild, user)
            .filter(|state| state.session_id == identify.session_id)
            .and_then(|state| state.channel_id);
        let (Some(_), Some(channel)) = (ticket, channel) else {
            return refuse(self, out, VoiceCloseCode::AuthenticationFailed);
        };
        // A newer connection of the same member replaces the old one.
        if let Some(old) = self.voice_gateway.conn_of_member(guild.0, user.0) {
            self.drive_voice(
                out,
                old,
                VoiceInput::Disconnect(VoiceCloseCode::Disconnected),
            );
            self.voice_member_left(out, old);
        }
        // So does a new Identify for a connection that dropped (instead of resuming).
        let dropped = self
            .voice_gateway
            .detached
            .remove(&(guild.0, identify.session_id.clone()));
        if let Some(dropped) = dropped {
            self.voice_member_gone(out, &dropped.speaker, None);
        }
        let Some(addr) = self.voice_addr else {
            return refuse(self, out, VoiceCloseCode::ServerNotFound);
        };
        let ssrc = self.voice_gateway.next_ssrc();
        let speaker = Speaker {
            guild_id: guild.0,
            user_id: user.0,
            session_id: identify.session_id.clone(),
            channel_id: channel.0,
            ssrc,
            speaking: 0,
        };
        let flags = self.voice_flags(guild, user);
        let sfu = &mut self.voice_gateway.sfu;
        if sfu
            .admit(
                speaker.member(),
                sfu::ChannelKey(channel.0),
                sfu::Ssrc(ssrc),
            )
            .is_err()
        {
            return refuse(self, out, VoiceCloseCode::VoiceServerCrashed);
        }
        let _ = sfu.set_flags(speaker.member(), flags);
        if let Some(voice) = self.voice_gateway.conns.get_mut(&conn) {
            voice.speaker = Some(speaker.clone());
        }
        let ip = addr.ip().to_string();
        self.drive_voice(
            out,
            conn,
            VoiceInput::Admitted {
                ssrc,
                ip: &ip,
                port: addr.port(),
            },
        );
        self.announce_connect(out, conn, &speaker);
    }

    /// op 11 to the channel about the newcomer, and to the newcomer about everyone there
    /// (op 11, then op 5 with each one's SSRC).
    fn announce_connect(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, speaker: &Speaker) {
        let others =
            self.voice_gateway
                .in_channel(speaker.guild_id, speaker.channel_id, Some(conn));
        let joined = json!({ "user_ids": [speaker.user_id.to_string()] });
        self.numbered_to_channel(out, speaker, Some(conn), (11, &joined));
        let present: Vec<Speaker> = others
            .iter()
            .filter_map(|c| self.voice_gateway.conns.get(c)?.speaker.clone())
            .collect();
        if present.is_empty() {
            return;
        }
        let ids: Vec<String> = present.iter().map(|s| s.user_id.to_string()).collect();
        self.drive_voice(
            out,
            conn,
            VoiceInput::Numbered {
                op: 11,
                d: &json!({ "user_ids": ids }),
            },
        );
        for other in present {
            let d = speaking_json(&other, other.speaking);
            self.drive_voice(out, conn, VoiceInput::Numbered { op: 5, d: &d });
        }
    }

    fn voice_select(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, select: &SelectProtocol) {
        let Some(speaker) = self.voice_speaker(conn) else {
            return;
        };
        let Some(mode) = sfu::Mode::from_name(&select.mode) else {
            return self.drive_voice(
                out,
                conn,
                VoiceInput::Refused(VoiceCloseCode::UnknownEncryptionMode),
            );
        };
        let mut key = [0u8; 32];
        if let Err(error) = getrandom::fill(&mut key) {
            eprintln!(
                "flux: core {}: no voice key: the OS CSPRNG failed ({error})",
                self.core
            );
            return self.drive_voice(
                out,
                conn,
                VoiceInput::Refused(VoiceCloseCode::VoiceServerCrashed),
            );
        }
        if self
            .voice_gateway
            .sfu
            .set_crypto(speaker.member(), mode, key)
            .is_err()
        {
            return self.drive_voice(
                out,
                conn,
                VoiceInput::Refused(VoiceCloseCode::VoiceServerCrashed),
            );
        }
        self.drive_voice(
            out,
            conn,
            VoiceInput::Keyed {
                mode: &select.mode,
                secret_key: key,
            },
        );
    }

    fn voice_resume(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId, resume: &VoiceResume) {
        let key = (resume.server_id, resume.session_id.clone());
        let matches = self
            .voice_gateway
            .detached
            .get(&key)
            .is_some_and(|d| d.session.token() == Some(resume.token.as_str()));
        let Some(detached) = matches
            .then(|| self.voice_gateway.detached.remove(&key))
            .flatten()
        else {
            return self.drive_voice(
                out,
                conn,
                VoiceInput::Refused(VoiceCloseCode::SessionNoLongerValid),
            );
        };
        let Some(voice) = self.voice_gateway.conns.get_mut(&conn) else {
            return;
        };
        if let Some(old) = voice.wake_ms.take() {
            self.voice_gateway.timers.remove(&(old, conn));
        }
        voice.session = detached.session;
        voice.speaker = Some(detached.speaker);
        self.drive_voice(
            out,
            conn,
            VoiceInput::Reattached {
                seq_ack: resume.seq_ack,
            },
        );
    }

    /// op 5 from a client: relayed to the channel with its user id.
    fn voice_speaking(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        speaking: u32,
        ssrc: u32,
    ) {
        let Some(voice) = self.voice_gateway.conns.get_mut(&conn) else {
            return;
        };
        let Some(speaker) = voice.speaker.as_mut() else {
            return;
        };
        debug_assert_eq!(speaker.ssrc, ssrc, "the session checked the SSRC");
        speaker.speaking = speaking;
        let speaker = speaker.clone();
        self.relay_speaking(out, &speaker, speaking, Some(conn));
    }

    fn relay_speaking(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        speaker: &Speaker,
        speaking: u32,
        except: Option<ConnId>,
    ) {
        let d = speaking_json(speaker, speaking);
        self.numbered_to_channel(out, speaker, except, (5, &d));
    }

    /// A numbered message (op 5, 11 or 13) for everyone in `speaker`'s channel but
    /// `except`: live connections send it, detached ones keep it for their Resume.
    fn numbered_to_channel(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        speaker: &Speaker,
        except: Option<ConnId>,
        (op, d): (u8, &serde_json::Value),
    ) {
        for other in self
            .voice_gateway
            .in_channel(speaker.guild_id, speaker.channel_id, except)
        {
            self.drive_voice(out, other, VoiceInput::Numbered { op, d });
        }
        let now = self.now_ms(out);
        for detached in self.voice_gateway.detached.values_mut() {
            let there = &detached.speaker;
            let same_member =
                there.guild_id == speaker.guild_id && there.user_id == speaker.user_id;
            if there.guild_id == speaker.guild_id
                && there.channel_id == speaker.channel_id
                && !same_member
            {
                detached.session.handle(now, VoiceInput::Numbered { op, d });
                // Nobody to send to: the buffer keeps it for the Resume.
                while detached.session.poll().is_some() {}
            }
        }
    }

    fn voice_speaker(&self, conn: ConnId) -> Option<Speaker> {
        self.voice_gateway.conns.get(&conn)?.speaker.clone()
    }

    /// The SFU flags of a member from its voice state.
    fn voice_flags(&self, guild: GuildId, user: UserId) -> sfu::Flags {
        let state = self.voice_book.state(guild, user);
        sfu::Flags {
            server_mute: state.is_some_and(|s| s.mute),
            server_deaf: state.is_some_and(|s| s.deaf),
            self_mute: state.is_some_and(|s| s.self_mute),
            self_deaf: state.is_some_and(|s| s.self_deaf),
        }
    }

    /// The voice socket closed: keep the session for a Resume, or forget it.
    pub(super) fn close_voice(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        cause: &CloseCause,
    ) {
        let Some(voice) = self.voice_gateway.conns.remove(&conn) else {
            return;
        };
        if let Some(at) = voice.wake_ms {
            self.voice_gateway.timers.remove(&(at, conn));
        }
        let Some(speaker) = voice.speaker else {
            return;
        };
        // A client that closes with 1000 is done (discord.py also sends op 4 to leave);
        // a session the server closed is over. Anything else may resume.
        let ended = voice.session.is_closed()
            || matches!(
                cause,
                CloseCause::PeerClosed {
                    code: Some(1000),
                    ..
                }
            );
        if ended {
            return self.voice_member_gone(out, &speaker, Some(conn));
        }
        let expires_ms = self.now_ms(out) + VOICE_RESUME_TTL_MS;
        let key = (speaker.guild_id, speaker.session_id.clone());
        let detached = DetachedVoice {
            session: voice.session,
            speaker,
            expires_ms,
        };
        if let Some(replaced) = self.voice_gateway.detached.insert(key, detached) {
            self.voice_member_gone(out, &replaced.speaker, None);
        }
        self.arm(out);
    }

    /// `conn`'s member leaves the SFU and the channel hears op 13 (the connection stays
    /// for the caller to close).
    fn voice_member_left(&mut self, out: &mut Outbox<FluxMesh>, conn: ConnId) {
        let Some(speaker) = self
            .voice_gateway
            .conns
            .get_mut(&conn)
            .and_then(|voice| voice.speaker.take())
        else {
            return;
        };
        self.voice_member_gone(out, &speaker, Some(conn));
    }

    fn voice_member_gone(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        speaker: &Speaker,
        conn: Option<ConnId>,
    ) {
        self.voice_gateway.sfu.remove(speaker.member());
        self.drain_sfu(out);
        self.announce_disconnect(out, speaker, conn);
    }

    /// op 13 Client Disconnect about `speaker` to the rest of its channel.
    fn announce_disconnect(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        speaker: &Speaker,
        conn: Option<ConnId>,
    ) {
        let d = json!({ "user_id": speaker.user_id.to_string() });
        self.numbered_to_channel(out, speaker, conn, (13, &d));
    }

    /// On the owner, after `VoiceBook` took a change of `user`'s voice state in `guild`:
    /// a leave closes the member's voice connection (4014); a move moves it in the SFU
    /// and tells both channels; new flags reach the SFU at once.
    pub(super) fn voice_state_applied(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild: GuildId,
        user: UserId,
        channel: Option<u64>,
    ) {
        let live = self.voice_gateway.conn_of_member(guild.0, user.0);
        let Some(channel) = channel else {
            let detached: Vec<(u64, String)> = self
                .voice_gateway
                .detached
                .iter()
                .filter(|(_, d)| d.speaker.guild_id == guild.0 && d.speaker.user_id == user.0)
                .map(|(key, _)| key.clone())
                .collect();
            for key in detached {
                if let Some(gone) = self.voice_gateway.detached.remove(&key) {
                    self.voice_member_gone(out, &gone.speaker, None);
                }
            }
            if let Some(conn) = live {
                self.voice_member_left(out, conn);
                self.drive_voice(
                    out,
                    conn,
                    VoiceInput::Disconnect(VoiceCloseCode::Disconnected),
                );
            }
            return;
        };
        let Some(conn) = live else {
            return;
        };
        let flags = self.voice_flags(guild, user);
        let Some(speaker) = self.voice_speaker(conn) else {
            return;
        };
        let _ = self.voice_gateway.sfu.set_flags(speaker.member(), flags);
        if speaker.channel_id == channel {
            return;
        }
        // Moved: the old channel hears a disconnect, the new one a connect; the member
        // keeps its key and address in the SFU.
        self.announce_disconnect(out, &speaker, Some(conn));
        let moved = Speaker {
            channel_id: channel,
            speaking: 0,
            ..speaker
        };
        if self
            .voice_gateway
            .sfu
            .move_member(moved.member(), sfu::ChannelKey(channel))
            .is_err()
        {
            return self.drive_voice(
                out,
                conn,
                VoiceInput::Disconnect(VoiceCloseCode::VoiceServerCrashed),
            );
        }
        self.drain_sfu(out);
        if let Some(voice) = self.voice_gateway.conns.get_mut(&conn) {
            voice.speaker = Some(moved.clone());
        }
        self.announce_connect(out, conn, &moved);
    }

    /// The member's voice channel was deleted: its connection ends with 4022 (the leave
    /// that follows finds it closed).
    pub(super) fn voice_channel_deleted(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        guild: GuildId,
        user: UserId,
    ) {
        if let Some(conn) = self.voice_gateway.conn_of_member(guild.0, user.0) {
            self.voice_member_left(out, conn);
            self.drive_voice(
                out,
                conn,
                VoiceInput::Disconnect(VoiceCloseCode::CallTerminated),
            );
        }
    }

    /// Voice deadlines that have come: sessions' ticks, expired detached connections,
    /// the SFU's speaking detector.
    ///
    /// The sessions' deadlines and the detached connections' judge a client's silence (a
    /// heartbeat, an Identify or a Resume that did not come), so they fire by what this
    /// core has read (`Outbox::read_at`), not by the clock, as the main gateway's do: past
    /// the clock's deadline, the awaited message may sit unread while the core was busy.
    pub(super) fn fire_voice_timers(&mut self, out: &mut Outbox<FluxMesh>) {
        let heard_by = self.shared.micros(out.read_at()).0 / 1000;
        let due: Vec<(u64, ConnId)> = self
            .voice_gateway
            .timers
            .iter()
            .take_while(|(at, _)| *at <= heard_by)
            .copied()
            .collect();
        for (at, conn) in due {
            self.voice_gateway.timers.remove(&(at, conn));
            if let Some(voice) = self.voice_gateway.conns.get_mut(&conn) {
                voice.wake_ms = None;
            }
            self.drive_voice_at(out, conn, heard_by, VoiceInput::Tick);
        }
        let expired: Vec<(u64, String)> = self
            .voice_gateway
            .detached
            .iter()
            .filter(|(_, d)| d.expires_ms <= heard_by)
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            if let Some(gone) = self.voice_gateway.detached.remove(&key) {
                self.voice_member_gone(out, &gone.speaker, None);
            }
        }
        if self
            .voice_gateway
            .sfu
            .poll_timeout()
            .is_some_and(|at| at <= out.now())
        {
            self.voice_gateway.sfu.handle_timeout(out.now());
            self.drain_sfu(out);
        }
    }

    /// A datagram on this core's voice UDP port.
    pub(super) fn voice_datagram(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        from: SocketAddr,
        datagram: &[u8],
    ) {
        self.voice_gateway
            .sfu
            .handle_datagram(from, datagram, out.now());
        self.drain_sfu(out);
    }

    /// Sends what the SFU queued and acts on its events.
    fn drain_sfu(&mut self, out: &mut Outbox<FluxMesh>) {
        for transmit in self.voice_gateway.sfu.transmits() {
            out.send_datagram(transmit.destination, transmit.payload);
        }
        self.voice_gateway.sfu.clear_transmits();
        while let Some(event) = self.voice_gateway.sfu.poll_event() {
            let sfu::SfuEvent::Speaking {
                member, speaking, ..
            } = event
            else {
                continue;
            };
            let conn = self.voice_gateway.conns.iter().find_map(|(conn, voice)| {
                voice
                    .speaker
                    .as_ref()
                    .is_some_and(|s| s.member() == member)
                    .then_some(*conn)
            });
            let Some(speaker) = conn.and_then(|conn| self.voice_speaker(conn)) else {
                continue;
            };
            // Derived from the audio level: the others hear it, like a client's op 5.
            self.relay_speaking(out, &speaker, u32::from(speaking), conn);
        }
    }
}

/// op 5 as the server relays it.
fn speaking_json(speaker: &Speaker, speaking: u32) -> serde_json::Value {
    json!({
        "user_id": speaker.user_id.to_string(),
        "ssrc": speaker.ssrc,
        "speaking": speaking,
    })
}
