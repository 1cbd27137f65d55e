//! The forwarding unit: one core's voice channels, their members and the packet path.
//!
//! Control calls (`admit`, `set_crypto`, `set_flags`, `move_member`, `remove`) come from
//! the voice gateway and take effect before the next datagram. `handle_datagram` takes
//! every datagram of the core's voice socket and sorts it:
//!
//! - 74 bytes starting `00 01`: IP discovery, answered to the source address;
//! - 8 bytes: discord-ext-voice-recv's keepalive, ignored;
//! - RTP: authenticated with the sender's key, replay-checked, then re-encrypted once
//!   per recipient with the recipient's key and counter (`forward`);
//! - RTCP: authenticated, parsed for receiver reports, and terminated here.
//!
//! Outputs are drained with `poll_transmit` (or `transmits` + `clear_transmits` for
//! batch sends) and `poll_event`. `poll_timeout` says when `handle_timeout` must run so a
//! speaker who went silent without a quiet packet is turned off.
//!
//! Invariants:
//! - `by_member`, `by_ssrc` and `channels` index exactly the occupied slots: each member
//!   is in one channel list, once, and its SSRC maps back to its slot (`check_indexes`).
//! - A packet goes only to members of the sender's channel, never to the sender, never to
//!   a deafened member, and only with the recipient's key and a counter it never used.
//! - A member's address is set by IP discovery only until an authenticated packet
//!   arrives; after that only authenticated packets move it, so a spoofed discovery
//!   request cannot redirect an established member's audio.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use crate::crypto::{VoiceCipher, COUNTER_LEN, OVERHEAD_LEN};
use crate::discovery::{encode_discovery_response, parse_discovery_request, DISCOVERY_LEN};
use crate::extension::find_audio_level;
use crate::replay::ReplayWindow;
use crate::rtcp::{RtcpPacket, RtcpPackets};
use crate::rtp::{padding_len, parse_rtp_header, EXTENSION_PREAMBLE_LEN, RTP_HEADER_LEN};
use crate::speaking::{SpeakingConfig, SpeakingDetector};
use crate::stats::{Counters, MemberStats, ReceptionStats};
use crate::transmit::{Transmit, TransmitQueue};
use crate::{classify, ChannelKey, Error, MemberId, Mode, PacketKind, Ssrc};

/// Size of discord-ext-voice-recv's UDP keepalive.
pub const KEEPALIVE_LEN: usize = 8;
/// Length of the RTCP header that stays in the clear (AAD) in the rtpsize modes.
pub const RTCP_HEADER_LEN: usize = 8;

/// Settings of one `Sfu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SfuConfig {
    /// RFC 8285 id of the RFC 6464 audio-level element. There is no SDP in Discord voice
    /// to negotiate it, so every client is assumed to use this id (default 1).
    pub audio_level_extension_id: u8,
    /// Speaking-detector thresholds.
    pub speaking: SpeakingConfig,
    /// Bytes the transmit queue may hold before new datagrams are dropped (default 4 MiB:
    /// a few hundred input packets' worth of copies to 200 listeners).
    pub transmit_bytes_max: usize,
    /// Events held before the oldest is dropped (default 4096).
    pub events_max: usize,
}

impl Default for SfuConfig {
    fn default() -> SfuConfig {
        SfuConfig {
            audio_level_extension_id: 1,
            speaking: SpeakingConfig::default(),
            transmit_bytes_max: 4 << 20,
            events_max: 4096,
        }
    }
}

/// A member's voice state flags, as the gateway knows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// Muted by a moderator: the member's packets are dropped.
    pub server_mute: bool,
    /// Deafened by a moderator: the member receives nothing.
    pub server_deaf: bool,
    /// Muted by the member. Informational: a self-muted client normally stops sending on
    /// its own, and the SFU forwards whatever it still sends; only a server mute drops.
    pub self_mute: bool,
    /// Deafened by the member: it receives nothing.
    pub self_deaf: bool,
}

impl Flags {
    /// Whether the member receives no audio.
    pub fn deaf(&self) -> bool {
        self.server_deaf || self.self_deaf
    }
}

/// Something the engine should tell the voice gateway about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfuEvent {
    /// The member started or stopped speaking, judged from its audio level (see
    /// `speaking`). Also `speaking: false` when a speaking member is removed, moved or
    /// server-muted.
    Speaking {
        /// Who.
        member: MemberId,
        /// Its SSRC, for op 5 SPEAKING.
        ssrc: Ssrc,
        /// The new state.
        speaking: bool,
    },
    /// Datagrams for the member now go to `address` (IP discovery, or an authenticated
    /// packet from a new address after a NAT rebinding).
    AddressLearned {
        /// Who.
        member: MemberId,
        /// Where its packets come from.
        address: SocketAddr,
    },
}

/// One member's state.
#[derive(Debug)]
struct Member {
    id: MemberId,
    channel: ChannelKey,
    ssrc: Ssrc,
    flags: Flags,
    address: Option<SocketAddr>,
    /// An authenticated packet arrived from `address`: discovery may no longer move it.
    address_authenticated: bool,
    cipher: Option<VoiceCipher>,
    rtp_replay: ReplayWindow,
    rtcp_replay: ReplayWindow,
    /// The nonce counter for the next packet sent to this member; `None` once all 2^32
    /// are spent under the current key.
    send_counter: Option<u32>,
    speaking: SpeakingDetector,
    stats: MemberStats,
}

/// All voice channels owned by one core; see the module docs.
///
/// ```
/// use std::time::Instant;
/// use sfu::discovery::{encode_discovery_request, parse_discovery_response};
/// use sfu::{ChannelKey, MemberId, Mode, Sfu, SfuConfig, Ssrc};
///
/// let mut sfu = Sfu::new(SfuConfig::default());
/// sfu.admit(MemberId(1), ChannelKey(10), Ssrc(111)).unwrap();
/// sfu.set_crypto(MemberId(1), Mode::AeadXChaCha20Poly1305RtpSize, [1; 32]).unwrap();
///
/// // The client's IP discovery is answered to where it came from.
/// let client = "198.51.100.7:40000".parse().unwrap();
/// sfu.handle_datagram(client, &encode_discovery_request(Ssrc(111)), Instant::now());
/// let reply = sfu.poll_transmit().unwrap();
/// assert_eq!(reply.destination, client);
/// assert_eq!(parse_discovery_response(reply.payload), Ok((Ssrc(111), client)));
/// assert!(sfu.poll_transmit().is_none());
/// assert_eq!(sfu.member_address(MemberId(1)), Some(client));
/// ```
#[derive(Debug)]
pub struct Sfu {
    config: SfuConfig,
    slots: Vec<Option<Member>>,
    free_slots: Vec<usize>,
    by_member: HashMap<MemberId, usize>,
    by_ssrc: HashMap<Ssrc, usize>,
    channels: HashMap<ChannelKey, Vec<usize>>,
    /// Decrypted bytes of the packet being handled; reused, never shrunk.
    scratch: Vec<u8>,
    transmits: TransmitQueue,
    events: VecDeque<SfuEvent>,
    counters: Counters,
    /// Members whose detector says speaking: `handle_timeout` has work only when > 0.
    speaking_count: usize,
}

impl Sfu {
    /// An empty unit.
    pub fn new(config: SfuConfig) -> Sfu {
        Sfu {
            config,
            slots: Vec::new(),
            free_slots: Vec::new(),
            by_member: HashMap::new(),
            by_ssrc: HashMap::new(),
            channels: HashMap::new(),
            scratch: Vec::with_capacity(2048),
            transmits: TransmitQueue::new(config.transmit_bytes_max),
            events: VecDeque::new(),
            counters: Counters::default(),
            speaking_count: 0,
        }
    }

    /// Admits `member` to `channel` with the SSRC the voice gateway gave it in READY.
    ///
    /// A member already admitted with the same SSRC is moved (as `move_member`); with a
    /// different SSRC it starts a new voice session: key, address, replay windows and
    /// stats are forgotten. Fails with `SsrcInUse` when another member has `ssrc`.
    pub fn admit(
        &mut self,
        member: MemberId,
        channel: ChannelKey,
        ssrc: Ssrc,
    ) -> Result<(), Error> {
        if let Some(&slot) = self.by_ssrc.get(&ssrc) {
            if self.member(slot).id != member {
                return Err(Error::SsrcInUse);
            }
            return self.move_member(member, channel);
        }
        self.remove(member);
        let state = Member {
            id: member,
            channel,
            ssrc,
            flags: Flags::default(),
            address: None,
            address_authenticated: false,
            cipher: None,
            rtp_replay: ReplayWindow::default(),
            rtcp_replay: ReplayWindow::default(),
            send_counter: None,
            speaking: SpeakingDetector::default(),
            stats: MemberStats::default(),
        };
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                debug_assert!(self.slots[slot].is_none());
                self.slots[slot] = Some(state);
                slot
            }
            None => {
                self.slots.push(Some(state));
                self.slots.len() - 1
            }
        };
        self.by_member.insert(member, slot);
        self.by_ssrc.insert(ssrc, slot);
        self.channels.entry(channel).or_default().push(slot);
        self.check_indexes();
        Ok(())
    }

    /// Sets the key and mode from SESSION_DESCRIPTION. Packets from and to the member
    /// use it from now on; its replay windows and its outgoing nonce counter start over,
    /// which is safe because the key is new.
    pub fn set_crypto(
        &mut self,
        member: MemberId,
        mode: Mode,
        secret_key: [u8; 32],
    ) -> Result<(), Error> {
        let slot = self.slot(member)?;
        let state = self.member_mut(slot);
        state.cipher = Some(VoiceCipher::new(mode, &secret_key));
        state.rtp_replay = ReplayWindow::default();
        state.rtcp_replay = ReplayWindow::default();
        state.send_counter = Some(0);
        Ok(())
    }

    /// Sets the member's mute and deafen flags; the next datagram already obeys them.
    /// Server-muting a speaking member emits `Speaking { speaking: false }`.
    pub fn set_flags(&mut self, member: MemberId, flags: Flags) -> Result<(), Error> {
        let slot = self.slot(member)?;
        self.member_mut(slot).flags = flags;
        if flags.server_mute {
            self.stop_speaking(slot);
        }
        Ok(())
    }

    /// Moves the member to `channel` (a no-op when it is there already). Its key and
    /// address stay; a speaking member stops speaking in the old channel.
    pub fn move_member(&mut self, member: MemberId, channel: ChannelKey) -> Result<(), Error> {
        let slot = self.slot(member)?;
        let old = self.member(slot).channel;
        if old == channel {
            return Ok(());
        }
        self.stop_speaking(slot);
        self.leave_channel(slot, old);
        self.member_mut(slot).channel = channel;
        self.channels.entry(channel).or_default().push(slot);
        self.check_indexes();
        Ok(())
    }

    /// Removes the member; returns whether it was admitted. Nothing more is sent to it
    /// or forwarded from it, even datagrams already handled but not yet drained stay.
    pub fn remove(&mut self, member: MemberId) -> bool {
        let Some(&slot) = self.by_member.get(&member) else {
            return false;
        };
        self.stop_speaking(slot);
        let state = self.slots[slot]
            .take()
            .expect("by_member points at an occupied slot");
        self.by_member.remove(&member);
        self.by_ssrc.remove(&state.ssrc);
        self.leave_channel(slot, state.channel);
        self.free_slots.push(slot);
        self.check_indexes();
        true
    }

    /// Handles one datagram from the voice socket; see the module docs for the kinds.
    /// Never fails: what cannot be used is counted in `counters` and dropped.
    pub fn handle_datagram(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        self.counters.datagrams += 1;
        if datagram.len() == DISCOVERY_LEN && datagram[..2] == [0, 1] {
            self.handle_discovery(from, datagram);
        } else if datagram.len() == KEEPALIVE_LEN {
            self.counters.keepalives += 1;
        } else {
            match classify(datagram) {
                Some(PacketKind::Rtp) => self.handle_rtp(from, datagram, now),
                Some(PacketKind::Rtcp) => self.handle_rtcp(from, datagram),
                None => self.counters.malformed += 1,
            }
        }
    }

    /// The next datagram to send, oldest first; `None` when all are drained.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.transmits.pop()
    }

    /// Every datagram not yet drained, oldest first, for one `sendmmsg`. Follow with
    /// `clear_transmits` once they are sent (or given up).
    pub fn transmits(&self) -> impl ExactSizeIterator<Item = Transmit<'_>> + '_ {
        self.transmits.pending()
    }

    /// Forgets every pending datagram, keeping the buffers for reuse.
    pub fn clear_transmits(&mut self) {
        self.transmits.clear();
    }

    /// The next event; `None` when there are none.
    pub fn poll_event(&mut self) -> Option<SfuEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should next run; `None` while nobody is speaking.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.speaking_count == 0 {
            return None;
        }
        self.slots
            .iter()
            .flatten()
            .filter_map(|member| member.speaking.deadline(&self.config.speaking))
            .min()
    }

    /// Turns off speakers from whom no packet arrived for `off_after_silence`. Costs one
    /// pass over the members while anybody speaks, nothing otherwise.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.speaking_count == 0 {
            return;
        }
        for slot in 0..self.slots.len() {
            let Some(member) = self.slots[slot].as_mut() else {
                continue;
            };
            if let Some(speaking) = member.speaking.handle_timeout(now, &self.config.speaking) {
                let (id, ssrc) = (member.id, member.ssrc);
                self.speaking_changed(id, ssrc, speaking);
            }
        }
    }

    /// The member's counts and reception report; `None` when not admitted.
    pub fn member_stats(&self, member: MemberId) -> Option<MemberStats> {
        let slot = *self.by_member.get(&member)?;
        Some(self.member(slot).stats)
    }

    /// Where the member's datagrams go; `None` until discovery or its first packet.
    pub fn member_address(&self, member: MemberId) -> Option<SocketAddr> {
        let slot = *self.by_member.get(&member)?;
        self.member(slot).address
    }

    /// Members admitted.
    pub fn member_count(&self) -> usize {
        self.by_member.len()
    }

    /// This unit's counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn handle_discovery(&mut self, from: SocketAddr, datagram: &[u8]) {
        let Ok(ssrc) = parse_discovery_request(datagram) else {
            self.counters.malformed += 1;
            return;
        };
        let Some(&slot) = self.by_ssrc.get(&ssrc) else {
            // Same size as the request, so answering would not amplify, but an unknown
            // SSRC has no business here.
            self.counters.discovery_unknown_ssrc += 1;
            return;
        };
        if !self.member(slot).address_authenticated {
            self.learn_address(slot, from);
        }
        let response = encode_discovery_response(ssrc, from);
        if self
            .transmits
            .push(from, |out| out.extend_from_slice(&response))
        {
            self.counters.discovery_answered += 1;
        } else {
            self.counters.transmit_overflow += 1;
        }
    }

    fn handle_rtp(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        let Ok(header) = parse_rtp_header(datagram) else {
            self.counters.malformed += 1;
            return;
        };
        let Some(&slot) = self.by_ssrc.get(&header.ssrc) else {
            self.counters.unknown_ssrc += 1;
            return;
        };
        let aad_len = header.aad_len();
        if let Err(error) = self.open(slot, datagram, aad_len, Kind::Rtp) {
            self.count_drop(slot, error);
            return;
        }
        self.learn_authenticated_address(slot, from);
        self.counters.rtp_authenticated += 1;
        self.member_mut(slot).stats.packets_received += 1;

        // The plaintext is the extension body (if any) then the payload and padding.
        let body_len = header.extension.map_or(0, |extension| extension.body_len);
        let well_formed = body_len <= self.scratch.len()
            && padding_len(&header, &self.scratch[body_len..]).is_ok();
        if !well_formed {
            self.count_drop(slot, Error::ExtensionBeyondPacket);
            return;
        }
        if self.member(slot).flags.server_mute {
            self.counters.muted_dropped += 1;
            self.member_mut(slot).stats.packets_dropped += 1;
            return;
        }
        if let Some(extension) = header.extension {
            let id = self.config.audio_level_extension_id;
            match find_audio_level(extension.profile, &self.scratch[..body_len], id) {
                Ok(Some(level)) => {
                    let member = self.slots[slot].as_mut().expect("slot from by_ssrc");
                    if let Some(speaking) =
                        member
                            .speaking
                            .handle_level(level, now, &self.config.speaking)
                    {
                        let (id, ssrc) = (member.id, member.ssrc);
                        self.speaking_changed(id, ssrc, speaking);
                    }
                }
                Ok(None) => {}
                Err(_) => self.counters.bad_extensions += 1,
            }
        }

        // The forwarded header: the sender's, with its CSRCs stripped (CC = 0), keeping
        // the extension preamble when X is set, since the body is part of the plaintext.
        let mut aad = [0u8; RTP_HEADER_LEN + EXTENSION_PREAMBLE_LEN];
        aad[..RTP_HEADER_LEN].copy_from_slice(&datagram[..RTP_HEADER_LEN]);
        aad[0] &= 0xF0;
        let mut out_aad_len = RTP_HEADER_LEN;
        if header.extension.is_some() {
            let preamble = header.fixed_len();
            aad[RTP_HEADER_LEN..]
                .copy_from_slice(&datagram[preamble..preamble + EXTENSION_PREAMBLE_LEN]);
            out_aad_len += EXTENSION_PREAMBLE_LEN;
        }
        self.forward(slot, &aad[..out_aad_len]);
    }

    /// Queues one copy of the plaintext in `scratch` for each recipient in the sender's
    /// channel, sealed under the recipient's key and counter.
    fn forward(&mut self, sender: usize, aad: &[u8]) {
        let channel = self.member(sender).channel;
        let recipients = self
            .channels
            .get(&channel)
            .expect("a member's channel is listed");
        let plaintext = &self.scratch;
        let mut forwarded = 0u64;
        for &slot in recipients {
            if slot == sender {
                continue;
            }
            let recipient = self.slots[slot]
                .as_mut()
                .expect("channel lists occupied slots");
            let (Some(address), Some(cipher)) = (recipient.address, &recipient.cipher) else {
                continue; // Not connected yet: no address or no key.
            };
            if recipient.flags.deaf() {
                continue;
            }
            let Some(counter) = recipient.send_counter else {
                self.counters.nonce_exhausted += 1;
                continue;
            };
            if self
                .transmits
                .push(address, |out| cipher.seal(aad, plaintext, counter, out))
            {
                recipient.send_counter = counter.checked_add(1);
                recipient.stats.packets_delivered += 1;
                forwarded += 1;
            } else {
                self.counters.transmit_overflow += 1;
            }
        }
        self.counters.forwarded += forwarded;
        self.member_mut(sender).stats.packets_forwarded += forwarded;
    }

    fn handle_rtcp(&mut self, from: SocketAddr, datagram: &[u8]) {
        let Some(ssrc) = datagram.get(4..RTCP_HEADER_LEN) else {
            self.counters.malformed += 1;
            return;
        };
        let ssrc = Ssrc(u32::from_be_bytes([ssrc[0], ssrc[1], ssrc[2], ssrc[3]]));
        let Some(&slot) = self.by_ssrc.get(&ssrc) else {
            self.counters.unknown_ssrc += 1;
            return;
        };
        if let Err(error) = self.open(slot, datagram, RTCP_HEADER_LEN, Kind::Rtcp) {
            self.count_drop(slot, error);
            return;
        }
        self.learn_authenticated_address(slot, from);
        self.counters.rtcp_authenticated += 1;
        // `open` left header ‖ plaintext in `scratch`: the compound packet in the clear.
        let mut worst: Option<ReceptionStats> = None;
        let mut malformed = false;
        for packet in RtcpPackets::new(&self.scratch) {
            match packet {
                Ok(
                    RtcpPacket::ReceiverReport { reports, .. }
                    | RtcpPacket::SenderReport { reports, .. },
                ) => {
                    for block in reports {
                        if worst.is_none_or(|w| block.fraction_lost >= w.fraction_lost) {
                            worst = Some(ReceptionStats::from_block(&block));
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    malformed = true;
                    break;
                }
            }
        }
        self.counters.malformed += u64::from(malformed);
        let stats = &mut self.member_mut(slot).stats;
        stats.rtcp_received += 1;
        if worst.is_some() {
            stats.reception = worst;
        }
    }

    /// Replay-checks and decrypts `datagram` with the member's key into `scratch` (for
    /// RTCP, after a copy of the cleartext header), then records the counter as seen.
    fn open(
        &mut self,
        slot: usize,
        datagram: &[u8],
        aad_len: usize,
        kind: Kind,
    ) -> Result<(), Error> {
        let member = self.slots[slot].as_mut().expect("slot from by_ssrc");
        let Some(cipher) = &member.cipher else {
            return Err(Error::UnknownMember);
        };
        if datagram.len() < aad_len + OVERHEAD_LEN {
            return Err(Error::Truncated);
        }
        let counter_bytes = &datagram[datagram.len() - COUNTER_LEN..];
        let counter = u32::from_be_bytes([
            counter_bytes[0],
            counter_bytes[1],
            counter_bytes[2],
            counter_bytes[3],
        ]);
        let window = match kind {
            Kind::Rtp => &mut member.rtp_replay,
            Kind::Rtcp => &mut member.rtcp_replay,
        };
        if !window.check(counter) {
            return Err(Error::Replayed);
        }
        self.scratch.clear();
        if kind == Kind::Rtcp {
            self.scratch.extend_from_slice(&datagram[..aad_len]);
        }
        let opened = cipher.open(datagram, aad_len, &mut self.scratch)?;
        debug_assert_eq!(opened, counter);
        window.accept(counter);
        Ok(())
    }

    /// Counts a packet from the member in `slot` that was dropped for `error`.
    fn count_drop(&mut self, slot: usize, error: Error) {
        let counter = match error {
            Error::UnknownMember => &mut self.counters.no_crypto,
            Error::Replayed => &mut self.counters.replays,
            Error::AuthenticationFailed => &mut self.counters.auth_failures,
            _ => &mut self.counters.malformed,
        };
        *counter += 1;
        self.member_mut(slot).stats.packets_dropped += 1;
    }

    fn learn_authenticated_address(&mut self, slot: usize, from: SocketAddr) {
        self.member_mut(slot).address_authenticated = true;
        self.learn_address(slot, from);
    }

    fn learn_address(&mut self, slot: usize, from: SocketAddr) {
        let member = self.member_mut(slot);
        if member.address != Some(from) {
            member.address = Some(from);
            let event = SfuEvent::AddressLearned {
                member: member.id,
                address: from,
            };
            self.push_event(event);
        }
    }

    fn stop_speaking(&mut self, slot: usize) {
        let member = self.member_mut(slot);
        if let Some(speaking) = member.speaking.reset() {
            let (id, ssrc) = (member.id, member.ssrc);
            self.speaking_changed(id, ssrc, speaking);
        }
    }

    fn speaking_changed(&mut self, member: MemberId, ssrc: Ssrc, speaking: bool) {
        if speaking {
            self.speaking_count += 1;
        } else {
            debug_assert!(
                self.speaking_count > 0,
                "a speaker stopped that never started"
            );
            self.speaking_count -= 1;
        }
        self.push_event(SfuEvent::Speaking {
            member,
            ssrc,
            speaking,
        });
    }

    fn push_event(&mut self, event: SfuEvent) {
        debug_assert!(self.events.len() <= self.config.events_max);
        if self.events.len() >= self.config.events_max {
            self.events.pop_front(); // The engine is not polling; the oldest news goes.
            self.counters.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    fn leave_channel(&mut self, slot: usize, channel: ChannelKey) {
        let members = self
            .channels
            .get_mut(&channel)
            .expect("a member's channel is listed");
        let at = members
            .iter()
            .position(|&s| s == slot)
            .expect("member is in its channel");
        members.swap_remove(at);
        if members.is_empty() {
            self.channels.remove(&channel);
        }
    }

    fn slot(&self, member: MemberId) -> Result<usize, Error> {
        self.by_member
            .get(&member)
            .copied()
            .ok_or(Error::UnknownMember)
    }

    fn member(&self, slot: usize) -> &Member {
        self.slots[slot]
            .as_ref()
            .expect("indexes point at occupied slots")
    }

    fn member_mut(&mut self, slot: usize) -> &mut Member {
        self.slots[slot]
            .as_mut()
            .expect("indexes point at occupied slots")
    }

    /// The index invariant of the module docs, checked in debug builds after each change
    /// of membership (linear in members, so not in release builds).
    fn check_indexes(&self) {
        if !cfg!(debug_assertions) {
            return;
        }
        let occupied = self.slots.iter().flatten().count();
        assert_eq!(self.by_member.len(), occupied);
        assert_eq!(self.by_ssrc.len(), occupied);
        assert_eq!(
            self.channels.values().map(Vec::len).sum::<usize>(),
            occupied
        );
        for (slot, member) in self.slots.iter().enumerate() {
            let Some(member) = member else { continue };
            assert_eq!(self.by_member.get(&member.id), Some(&slot));
            assert_eq!(self.by_ssrc.get(&member.ssrc), Some(&slot));
            let listed = self.channels[&member.channel]
                .iter()
                .filter(|&&s| s == slot)
                .count();
            assert_eq!(
                listed, 1,
                "member {:?} listed once in its channel",
                member.id
            );
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rtp,
    Rtcp,
}
