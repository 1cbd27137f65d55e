//! The load generator: one thread, no async runtime, one UDP socket per member.
//!
//! It first does IP discovery from every member's socket (so each server learns where its
//! members are, as with real clients) and seals every packet it will send, then sends them
//! from the speakers at a fixed aggregate rate (open loop: a slow server does not slow the offer),
//! and meanwhile sweeps every member's socket with non-blocking `recvmmsg`, counting what
//! arrives and opening a sample to check it byte for byte.
//!
//! Bounds: discovery gives up after 2 s; the send phase lasts `duration`; the drain after
//! it ends 50 ms after the last packet arrived and after 1 s at most.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use sfu::discovery::{encode_discovery_request, parse_discovery_response, DISCOVERY_LEN};
use sfu::{parse_rtp_header, VoiceCipher};

use super::roster::{payload, payload_is_genuine, Roster};
use super::sys::{set_buffer_sizes, RecvBatch};

/// Whose key opens what a listener receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// An SFU re-seals for each recipient: the listener's own key.
    RecipientKey,
    /// The no-crypto ceiling forwards the sender's bytes: the sender's key.
    SenderKey,
}

/// What to offer.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Packets per second from each speaker (Discord clients send 50).
    pub rate_per_speaker: f64,
    /// How long the speakers send.
    pub duration: Duration,
    /// Open and check one received packet in this many.
    pub verify_every: u64,
}

/// What the listeners saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadResult {
    /// Packets the speakers sent.
    pub sent: u64,
    /// Sends the kernel refused (full socket buffer).
    pub send_refused: u64,
    /// Forwarded packets that arrived at members.
    pub received: u64,
    /// Received packets opened and found byte-for-byte right.
    pub verified: u64,
    /// Received packets opened and found wrong (wrong key, wrong bytes, own echo).
    pub verify_failures: u64,
    /// Length of the send phase.
    pub send_seconds: f64,
}

/// Drives `server` with `roster`'s members.
pub fn run(
    server: SocketAddr,
    roster: &Roster,
    options: &LoadOptions,
    verify: Verify,
) -> Result<LoadResult, String> {
    let sockets: Vec<UdpSocket> = roster
        .members
        .iter()
        .map(|_| {
            let socket = UdpSocket::bind("127.0.0.1:0")?;
            socket.set_nonblocking(true)?;
            set_buffer_sizes(socket.as_raw_fd(), 4 << 20);
            Ok(socket)
        })
        .collect::<std::io::Result<_>>()
        .map_err(|error| format!("load sockets: {error}"))?;
    let ciphers: Vec<VoiceCipher> = roster
        .members
        .iter()
        .map(|member| VoiceCipher::new(roster.mode, &member.key))
        .collect();
    let mut sweeper = Sweeper {
        recv: RecvBatch::new(64),
        verify,
        verify_every: options.verify_every.max(1),
        result: LoadResult::default(),
        plaintext: Vec::new(),
        scratch: Vec::new(),
    };
    discover(server, roster, &sockets, &mut sweeper)?;

    let speakers: Vec<usize> = roster
        .members
        .iter()
        .filter(|m| m.speaker)
        .map(|m| m.index)
        .collect();
    let total_rate = options.rate_per_speaker * speakers.len() as f64;
    let prepared = prepare(roster, &ciphers, &speakers, total_rate, options.duration);
    // Each member's socket holds a few thousand packets (4 MiB), so a sweep every few
    // milliseconds loses nothing while keeping empty `recvmmsg` calls few.
    let sweep_interval = Duration::from_micros((sockets.len() as u64 * 20).clamp(2_000, 10_000));
    let start = Instant::now();
    let end = start + options.duration;
    let mut last_sweep = start;
    let mut next = 0usize;
    loop {
        let now = Instant::now();
        if now >= end || next == prepared.len() {
            break;
        }
        let due = (((now - start).as_secs_f64() * total_rate) as usize).min(prepared.len());
        let mut burst = 0;
        while next < due && burst < 256 {
            let (speaker, datagram) = &prepared[next];
            match sockets[*speaker].send_to(datagram, server) {
                Ok(_) => sweeper.result.sent += 1,
                Err(_) => sweeper.result.send_refused += 1,
            }
            next += 1;
            burst += 1;
        }
        let mut arrived = 0;
        if now - last_sweep >= sweep_interval {
            arrived = sweeper.sweep(&sockets, roster, &ciphers);
            last_sweep = now;
        }
        if burst == 0 && arrived == 0 {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    sweeper.result.send_seconds = start.elapsed().as_secs_f64();

    let drain_end = Instant::now() + Duration::from_secs(1);
    let mut quiet_since = Instant::now();
    while Instant::now() < drain_end && quiet_since.elapsed() < Duration::from_millis(50) {
        if sweeper.sweep(&sockets, roster, &ciphers) > 0 {
            quiet_since = Instant::now();
        } else {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    Ok(sweeper.result)
}

/// Seals, before the clock starts, every packet the send phase will offer: speakers in
/// turn, each with its own sequence and nonce counter. Sealing is the clients' work, not
/// the server's; doing it up front keeps the single load CPU free to send and receive.
fn prepare(
    roster: &Roster,
    ciphers: &[VoiceCipher],
    speakers: &[usize],
    total_rate: f64,
    duration: Duration,
) -> Vec<(usize, Vec<u8>)> {
    let count = (total_rate * duration.as_secs_f64()).ceil() as usize;
    let mut sequences = vec![0u32; roster.members.len()];
    let mut body = Vec::new();
    (0..count)
        .map(|slot| {
            let speaker = speakers[slot % speakers.len()];
            let sequence = sequences[speaker];
            sequences[speaker] += 1;
            payload(speaker, sequence, &mut body);
            let mut header = [0x80, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            header[2..4].copy_from_slice(&(sequence as u16).to_be_bytes());
            header[4..8].copy_from_slice(&sequence.wrapping_mul(960).to_be_bytes());
            header[8..12].copy_from_slice(&roster.members[speaker].ssrc.0.to_be_bytes());
            let mut datagram = Vec::with_capacity(12 + body.len() + 20);
            ciphers[speaker].seal(&header, &body, sequence, &mut datagram);
            (speaker, datagram)
        })
        .collect()
}

/// Sends IP discovery from every member until each has its answer (2 s at most).
fn discover(
    server: SocketAddr,
    roster: &Roster,
    sockets: &[UdpSocket],
    sweeper: &mut Sweeper,
) -> Result<(), String> {
    let mut answered = vec![false; sockets.len()];
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last_send: Option<Instant> = None;
    while answered.iter().any(|a| !a) {
        if Instant::now() > deadline {
            let missing = answered.iter().filter(|a| !**a).count();
            return Err(format!(
                "IP discovery: {missing} of {} members got no answer",
                sockets.len()
            ));
        }
        if last_send.is_none_or(|at| at.elapsed() > Duration::from_millis(200)) {
            for (index, socket) in sockets.iter().enumerate() {
                if !answered[index] {
                    let request = encode_discovery_request(roster.members[index].ssrc);
                    socket
                        .send_to(&request, server)
                        .map_err(|error| format!("IP discovery send: {error}"))?;
                }
            }
            last_send = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(1));
        for (index, socket) in sockets.iter().enumerate() {
            while let Ok(count) = sweeper.recv.recv(socket.as_raw_fd(), libc::MSG_DONTWAIT) {
                if count == 0 {
                    break;
                }
                for i in 0..count {
                    let (_, datagram) = sweeper.recv.get(i);
                    let expected = socket.local_addr().map_err(|e| e.to_string())?;
                    if let Ok((ssrc, seen)) = parse_discovery_response(datagram) {
                        if ssrc == roster.members[index].ssrc && seen == expected {
                            answered[index] = true;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

struct Sweeper {
    recv: RecvBatch,
    verify: Verify,
    verify_every: u64,
    result: LoadResult,
    plaintext: Vec<u8>,
    scratch: Vec<u8>,
}

impl Sweeper {
    /// Drains every socket once; returns how many packets arrived.
    fn sweep(&mut self, sockets: &[UdpSocket], roster: &Roster, ciphers: &[VoiceCipher]) -> u64 {
        let mut arrived = 0;
        for (index, socket) in sockets.iter().enumerate() {
            loop {
                // An error on one member's socket (none is expected) counts as empty.
                let count = self
                    .recv
                    .recv(socket.as_raw_fd(), libc::MSG_DONTWAIT)
                    .unwrap_or_default();
                for i in 0..count {
                    let (_, datagram) = self.recv.get(i);
                    if datagram.len() == DISCOVERY_LEN {
                        continue; // A late duplicate discovery answer.
                    }
                    self.result.received += 1;
                    arrived += 1;
                    if self.result.received % self.verify_every == 0 {
                        let ok = check(
                            datagram,
                            index,
                            roster,
                            ciphers,
                            self.verify,
                            &mut self.plaintext,
                            &mut self.scratch,
                        );
                        if ok {
                            self.result.verified += 1;
                        } else {
                            self.result.verify_failures += 1;
                        }
                    }
                }
                if count < 64 {
                    break;
                }
            }
        }
        arrived
    }
}

/// Opens a packet member `listener` received and checks it is a genuine payload from
/// another member of its channel.
fn check(
    datagram: &[u8],
    listener: usize,
    roster: &Roster,
    ciphers: &[VoiceCipher],
    verify: Verify,
    plaintext: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> bool {
    let Ok(header) = parse_rtp_header(datagram) else {
        return false;
    };
    let Some(sender) = roster.by_ssrc(header.ssrc) else {
        return false;
    };
    if sender.index == listener || sender.channel != roster.members[listener].channel {
        return false;
    }
    let cipher = match verify {
        Verify::RecipientKey => &ciphers[listener],
        Verify::SenderKey => &ciphers[sender.index],
    };
    plaintext.clear();
    cipher.open(datagram, header.aad_len(), plaintext).is_ok()
        && plaintext.get(..4) == Some(&(sender.index as u32).to_be_bytes()[..])
        && payload_is_genuine(plaintext, scratch)
}
