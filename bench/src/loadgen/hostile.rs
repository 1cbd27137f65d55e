//! Hostile clients for the soak (`scenarios/soak.rs`): thousands of connections that
//! misbehave in the ways an attacker would, held open (and reopened whenever the server
//! closes one) on one mio thread until told to stop.
//!
//! The mix, by connection index modulo 20:
//! - 14 in 20 are **silent**: they connect and send nothing;
//! - 3 are **slow heads**: one byte of a request head every second, never finishing it;
//! - 1 **pipelines** `GET /api/v10/gateway` as fast as the socket takes them and never
//!   reads an answer;
//! - 1 **floods pings** on a WebSocket and never reads a pong (or Hello);
//! - 1 announces a **25 MiB unauthenticated upload** and sends no body.
//!
//! A connection the server closes is counted and reopened 100 ms later (at most 512 per
//! loop turn), so a server that closes everything at once cannot make this thread spin. Nothing here
//! reads what the server says, except to notice its close: the silent, slow-head and upload
//! connections read and discard (the 408 or 401 the server answers), the pipelining and
//! ping-flooding ones never read at all and learn of the close from the hang-up alone.
//!
//! Every loop is bounded by the stop flag and by `deadline`.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use serde::Serialize;

use super::sys::connect_from;

/// How long a closed hostile connection waits before it is reopened.
const REOPEN_AFTER: Duration = Duration::from_millis(100);

/// What a hostile connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Silent,
    SlowHead,
    Pipeliner,
    PingFlood,
    BigUpload,
}

impl Kind {
    fn of(index: usize) -> Kind {
        match index % 20 {
            0..=13 => Kind::Silent,
            14..=16 => Kind::SlowHead,
            17 => Kind::Pipeliner,
            18 => Kind::PingFlood,
            _ => Kind::BigUpload,
        }
    }

    /// Whether it reads (and discards) what the server sends.
    fn reads(self) -> bool {
        !matches!(self, Kind::Pipeliner | Kind::PingFlood)
    }

    const ALL: [Kind; 5] = [
        Kind::Silent,
        Kind::SlowHead,
        Kind::Pipeliner,
        Kind::PingFlood,
        Kind::BigUpload,
    ];
}

/// Per kind: connections opened, and closed by the server.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KindCounts {
    pub kind: Option<Kind>,
    pub connections: usize,
    pub opened: u64,
    pub closed_by_server: u64,
    /// Connects that failed (refused, or no local port).
    pub connect_errors: u64,
}

/// Counts over the whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostileCounts {
    pub kinds: Vec<KindCounts>,
    /// Connections open at the end.
    pub open_at_end: usize,
}

struct Slot {
    kind: Kind,
    stream: Option<mio::net::TcpStream>,
    /// Bytes of this connection's script written so far (its head, or its stream).
    written: usize,
}

/// Drives `connections` hostile connections against `addr` from the source addresses
/// `sources` (round robin) until `stop` is set or `deadline` passes.
pub fn run(
    addr: SocketAddr,
    connections: usize,
    sources: &[Ipv4Addr],
    stop: &Arc<AtomicBool>,
    deadline: Instant,
) -> io::Result<HostileCounts> {
    assert!(!sources.is_empty(), "at least one source address");
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4096);
    let mut counts: Vec<KindCounts> = Kind::ALL
        .iter()
        .map(|&kind| KindCounts {
            kind: Some(kind),
            connections: (0..connections).filter(|&i| Kind::of(i) == kind).count(),
            ..KindCounts::default()
        })
        .collect();
    let count_of = |kind: Kind| Kind::ALL.iter().position(|&k| k == kind).expect("a kind");
    let mut slots: Vec<Slot> = (0..connections)
        .map(|i| Slot {
            kind: Kind::of(i),
            stream: None,
            written: 0,
        })
        .collect();
    let scripts = Scripts::new(addr);
    let start = Instant::now();
    let mut closed: std::collections::VecDeque<(Instant, usize)> =
        (0..connections).map(|i| (start, i)).collect();
    let mut next_trickle = Instant::now();
    let mut discard = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        // Reopen what is closed, a bounded number per turn.
        let now = Instant::now();
        let mut reopen = Vec::new();
        while reopen.len() < 512 && closed.front().is_some_and(|&(at, _)| at <= now) {
            reopen.push(closed.pop_front().expect("checked").1);
        }
        for index in reopen {
            let slot = &mut slots[index];
            let source = sources[index % sources.len()];
            match connect_from(Some(source), addr) {
                Ok(mut stream) => {
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    poll.registry()
                        .register(&mut stream, Token(index), interest)?;
                    slot.stream = Some(stream);
                    slot.written = 0;
                    counts[count_of(slot.kind)].opened += 1;
                }
                Err(_) => {
                    counts[count_of(slot.kind)].connect_errors += 1;
                    closed.push_back((now + REOPEN_AFTER, index));
                }
            }
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for event in events.iter() {
            let index = event.token().0;
            let slot = &mut slots[index];
            let Some(stream) = slot.stream.as_mut() else {
                continue;
            };
            let mut gone = event.is_error() || event.is_read_closed();
            if event.is_readable() && slot.kind.reads() {
                loop {
                    match stream.read(&mut discard) {
                        Ok(0) => {
                            gone = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            gone = true;
                            break;
                        }
                    }
                }
            }
            if !gone && event.is_writable() {
                gone = write_script(stream, slot.kind, &mut slot.written, &scripts).is_err();
            }
            if gone {
                let mut stream = slot.stream.take().expect("checked");
                let _ = poll.registry().deregister(&mut stream);
                counts[count_of(slot.kind)].closed_by_server += 1;
                closed.push_back((Instant::now() + REOPEN_AFTER, index));
            }
        }
        if Instant::now() >= next_trickle {
            next_trickle += Duration::from_secs(1);
            for (index, slot) in slots.iter_mut().enumerate() {
                if slot.kind != Kind::SlowHead {
                    continue;
                }
                let Some(stream) = slot.stream.as_mut() else {
                    continue;
                };
                let at = slot.written % scripts.slow_head.len();
                match stream.write(&scripts.slow_head[at..at + 1]) {
                    Ok(n) => slot.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => {
                        let mut stream = slot.stream.take().expect("checked");
                        let _ = poll.registry().deregister(&mut stream);
                        counts[count_of(slot.kind)].closed_by_server += 1;
                        closed.push_back((Instant::now() + REOPEN_AFTER, index));
                    }
                }
            }
        }
    }
    Ok(HostileCounts {
        open_at_end: slots.iter().filter(|slot| slot.stream.is_some()).count(),
        kinds: counts,
    })
}

/// The bytes each kind sends.
struct Scripts {
    /// A head that never ends (a new header line forever), sent a byte at a time.
    slow_head: Vec<u8>,
    /// Many pipelined requests, sent round and round.
    pipeline: Vec<u8>,
    /// An upgrade request, then masked pings, round and round after the request.
    ping_upgrade: Vec<u8>,
    pings: Vec<u8>,
    /// A head announcing 25 MiB with no token.
    upload: Vec<u8>,
}

impl Scripts {
    fn new(addr: SocketAddr) -> Scripts {
        let one = b"GET /api/v10/gateway HTTP/1.1\r\nHost: flux\r\n\r\n";
        let mut ping_upgrade = Vec::new();
        super::handshake::encode_upgrade_request(
            &mut ping_upgrade,
            &addr.to_string(),
            "/?v=10&encoding=json",
            [7; 16],
        );
        let mut pings = Vec::new();
        for _ in 0..256 {
            wsframe::encode_message(
                &mut pings,
                &wsframe::Message::Ping(&[b'p'; 64]),
                Some([1, 2, 3, 4]),
            );
        }
        Scripts {
            slow_head: b"GET /api/v10/gateway HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".to_vec(),
            pipeline: one.repeat(1000),
            ping_upgrade,
            pings,
            upload: b"POST /api/v10/channels/1/messages HTTP/1.1\r\nHost: flux\r\n\
                      Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 26214400\r\n\r\n"
                .to_vec(),
        }
    }
}

/// Writes what `kind` sends next, as far as the socket takes it; `Err` when the server has
/// gone.
fn write_script(
    stream: &mut mio::net::TcpStream,
    kind: Kind,
    written: &mut usize,
    scripts: &Scripts,
) -> io::Result<()> {
    loop {
        let bytes: &[u8] = match kind {
            // Silent never writes; a slow head writes on its own clock.
            Kind::Silent | Kind::SlowHead => return Ok(()),
            Kind::BigUpload if *written >= scripts.upload.len() => return Ok(()),
            Kind::BigUpload => &scripts.upload[*written..],
            Kind::Pipeliner => &scripts.pipeline[*written % scripts.pipeline.len()..],
            Kind::PingFlood if *written < scripts.ping_upgrade.len() => {
                &scripts.ping_upgrade[*written..]
            }
            Kind::PingFlood => {
                let at = (*written - scripts.ping_upgrade.len()) % scripts.pings.len();
                &scripts.pings[at..]
            }
        };
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_seventy_fifteen_five_five_five() {
        let kinds: Vec<Kind> = (0..20).map(Kind::of).collect();
        let count = |kind| kinds.iter().filter(|&&k| k == kind).count();
        assert_eq!(count(Kind::Silent), 14);
        assert_eq!(count(Kind::SlowHead), 3);
        for kind in [Kind::Pipeliner, Kind::PingFlood, Kind::BigUpload] {
            assert_eq!(count(kind), 1);
        }
    }

    #[test]
    fn pings_are_whole_frames_round_and_round() {
        let scripts = Scripts::new("127.0.0.1:1".parse().unwrap());
        let mut decoder = wsframe::Decoder::new(wsframe::Config::server());
        let mut input = &scripts.pings[..];
        let mut pings = 0;
        while let Ok(Some(message)) = decoder.decode(&mut input) {
            assert!(matches!(message, wsframe::Message::Ping(p) if p.len() == 64));
            pings += 1;
        }
        assert_eq!((pings, input.len()), (256, 0));
    }
}
