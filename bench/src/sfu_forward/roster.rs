//! Who is in the benchmark's voice channels, and what the speakers say.
//!
//! Every member has an SSRC, a key and a channel; the servers are told the roster up front
//! (as the voice gateway would admit them) and learn addresses from IP discovery. Payloads
//! are deterministic, so a listener can check a packet it opened byte for byte.

use sfu::{Mode, Ssrc};

/// One member of the benchmark.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    /// Index in the roster, also the member id.
    pub index: usize,
    /// Its SSRC (index + 1, so none is 0).
    pub ssrc: Ssrc,
    /// Its transport key.
    pub key: [u8; 32],
    /// Its voice channel.
    pub channel: u64,
    /// Whether the load generator sends from it.
    pub speaker: bool,
}

/// A channel layout.
#[derive(Debug, Clone)]
pub struct Roster {
    /// Short name for the table.
    pub name: String,
    /// The transport mode every member uses.
    pub mode: Mode,
    /// Everyone.
    pub members: Vec<MemberSpec>,
}

impl Roster {
    /// `channels` channels of `speakers` speakers and `listeners` listeners each.
    pub fn new(
        name: String,
        mode: Mode,
        channels: usize,
        speakers: usize,
        listeners: usize,
    ) -> Roster {
        let mut members = Vec::new();
        for channel in 0..channels {
            for seat in 0..speakers + listeners {
                let index = members.len();
                let mut key = [0u8; 32];
                key[..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
                key[31] = 0x5A;
                members.push(MemberSpec {
                    index,
                    ssrc: Ssrc(index as u32 + 1),
                    key,
                    channel: channel as u64 + 1,
                    speaker: seat < speakers,
                });
            }
        }
        Roster {
            name,
            mode,
            members,
        }
    }

    /// Copies each packet of a speaker makes: the size of its channel minus itself.
    pub fn fanout(&self) -> usize {
        let channel = self.members[0].channel;
        self.members.iter().filter(|m| m.channel == channel).count() - 1
    }

    /// Members that speak.
    pub fn speakers(&self) -> usize {
        self.members.iter().filter(|m| m.speaker).count()
    }

    /// The roster member with `ssrc`.
    pub fn by_ssrc(&self, ssrc: Ssrc) -> Option<&MemberSpec> {
        self.members.get((ssrc.0 as usize).checked_sub(1)?)
    }
}

/// Opus-sized payload number `sequence` of `speaker`: 60–160 bytes, first 8 bytes the
/// speaker and sequence, the rest a pattern of both.
pub fn payload(speaker: usize, sequence: u32, out: &mut Vec<u8>) {
    out.clear();
    let len = 60 + (sequence as usize * 37 + speaker * 11) % 101;
    out.extend_from_slice(&(speaker as u32).to_be_bytes());
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend((8..len).map(|i| (i as u32 ^ sequence ^ speaker as u32) as u8));
}

/// Whether `bytes` is exactly the payload its first 8 bytes name.
pub fn payload_is_genuine(bytes: &[u8], scratch: &mut Vec<u8>) -> bool {
    let Some((head, _)) = bytes.split_first_chunk::<8>() else {
        return false;
    };
    let speaker = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let sequence = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    payload(speaker, sequence, scratch);
    scratch == bytes
}
