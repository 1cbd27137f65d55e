//! What the SFU counts: per member (`MemberStats`) and per core (`Counters`).
//!
//! Everything here is plain numbers the engine can read at any time, for the admin API,
//! logs and tests. Nothing is reset by reading; counters only grow (wrapping after 2^64).

use crate::rtcp::ReportBlock;
use crate::Ssrc;

/// Counts for one member since it was admitted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberStats {
    /// RTP packets from this member that authenticated.
    pub packets_received: u64,
    /// Copies of this member's packets queued for other members.
    pub packets_forwarded: u64,
    /// Packets carrying this member's SSRC that were dropped: no key yet, failed
    /// authentication, replayed, malformed after decryption, or server-muted.
    pub packets_dropped: u64,
    /// Copies of other members' packets queued for this member.
    pub packets_delivered: u64,
    /// RTCP packets from this member that authenticated.
    pub rtcp_received: u64,
    /// How well this member hears, from its most recent RTCP SR/RR that carried report
    /// blocks; `None` until one arrives.
    pub reception: Option<ReceptionStats>,
}

/// One member's view of its downlink, from a receiver report (RFC 3550 §6.4.1).
///
/// A report carries one block per source the member hears; this keeps the block with
/// the highest fraction lost, the source the member hears worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceptionStats {
    /// The source the block is about.
    pub source: Ssrc,
    /// Fraction lost since the previous report, in 1/256ths.
    pub fraction_lost: u8,
    /// Packets lost since the start (can be negative with duplicates).
    pub cumulative_lost: i32,
    /// Interarrival jitter in RTP timestamp units (1/48000 s for Opus).
    pub jitter: u32,
}

impl ReceptionStats {
    /// The fraction lost as a number in `0.0..1.0`.
    pub fn loss(&self) -> f64 {
        f64::from(self.fraction_lost) / 256.0
    }

    /// The jitter in milliseconds, for Opus's 48 kHz clock.
    pub fn jitter_ms(&self) -> f64 {
        f64::from(self.jitter) / 48.0
    }

    pub(crate) fn from_block(block: &ReportBlock) -> ReceptionStats {
        ReceptionStats {
            source: block.ssrc,
            fraction_lost: block.fraction_lost,
            cumulative_lost: block.cumulative_lost,
            jitter: block.jitter,
        }
    }
}

/// Counts for a whole `Sfu` (one core), by what happened to each datagram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Every datagram handed to `handle_datagram`.
    pub datagrams: u64,
    /// IP discovery requests answered.
    pub discovery_answered: u64,
    /// IP discovery requests for an SSRC no member has: not answered.
    pub discovery_unknown_ssrc: u64,
    /// 8-byte keepalives (discord-ext-voice-recv sends one): ignored.
    pub keepalives: u64,
    /// RTP packets that authenticated.
    pub rtp_authenticated: u64,
    /// RTCP packets that authenticated.
    pub rtcp_authenticated: u64,
    /// Datagrams that failed to parse, before or after decryption, and RTCP compounds
    /// with a malformed packet.
    pub malformed: u64,
    /// Well-formed packets whose SSRC no member has.
    pub unknown_ssrc: u64,
    /// Packets from a member without a key yet (before SELECT_PROTOCOL completes).
    pub no_crypto: u64,
    /// Packets whose AEAD tag did not verify.
    pub auth_failures: u64,
    /// Packets whose nonce counter was replayed or too old.
    pub replays: u64,
    /// Packets from server-muted members, dropped.
    pub muted_dropped: u64,
    /// Copies queued for recipients.
    pub forwarded: u64,
    /// Copies dropped because the transmit queue was full.
    pub transmit_overflow: u64,
    /// Copies not sent because the recipient's nonce counter is spent (it needs a new key).
    pub nonce_exhausted: u64,
    /// Audio-level extensions that were malformed (the packet was still forwarded).
    pub bad_extensions: u64,
    /// Events dropped because the event queue was full.
    pub events_dropped: u64,
}
