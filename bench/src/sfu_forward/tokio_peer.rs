//! The mainstream peer: what a Rust developer writes first with tokio. A current-thread
//! runtime on the server's pinned CPU, one `tokio::net::UdpSocket`, `recv_from` one
//! datagram, decrypt it into a fresh `Vec`, and for each recipient seal a fresh `Vec` and
//! `send_to(...).await`. Same cryptography as Flux (`sfu::VoiceCipher`, i.e. the same
//! RustCrypto crates), same routing; no replay window, no speaking detection, no stats,
//! so it does less work per packet than Flux.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sfu::discovery::{encode_discovery_response, parse_discovery_request, DISCOVERY_LEN};
use sfu::{parse_rtp_header, VoiceCipher};

use super::roster::Roster;
use super::{Meter, ServerStats};

struct PeerMember {
    channel: u64,
    cipher: VoiceCipher,
    address: Option<SocketAddr>,
    counter: u32,
}

/// Serves `roster` on `socket` until `stop` is set.
pub fn serve(socket: UdpSocket, roster: &Roster, stop: &AtomicBool) -> ServerStats {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime");
    runtime.block_on(forward(socket, roster, stop)).finish()
}

async fn forward(socket: UdpSocket, roster: &Roster, stop: &AtomicBool) -> Meter {
    socket.set_nonblocking(true).expect("non-blocking socket");
    let socket = tokio::net::UdpSocket::from_std(socket).expect("socket into tokio");
    let mut members: HashMap<u32, PeerMember> = HashMap::new();
    let mut channels: HashMap<u64, Vec<u32>> = HashMap::new();
    for member in &roster.members {
        members.insert(
            member.ssrc.0,
            PeerMember {
                channel: member.channel,
                cipher: VoiceCipher::new(roster.mode, &member.key),
                address: None,
                counter: 0,
            },
        );
        channels
            .entry(member.channel)
            .or_default()
            .push(member.ssrc.0);
    }
    let mut meter = Meter::default();
    let mut buffer = vec![0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let received =
            tokio::time::timeout(Duration::from_millis(20), socket.recv_from(&mut buffer)).await;
        let Ok(Ok((len, from))) = received else {
            continue;
        };
        let datagram = &buffer[..len];
        meter.received(1, len != DISCOVERY_LEN);
        if len == DISCOVERY_LEN {
            if let Ok(ssrc) = parse_discovery_request(datagram) {
                if let Some(member) = members.get_mut(&ssrc.0) {
                    member.address = Some(from);
                    let response = encode_discovery_response(ssrc, from);
                    let _ = socket.send_to(&response, from).await;
                }
            }
            continue;
        }
        let Ok(header) = parse_rtp_header(datagram) else {
            continue;
        };
        let Some(sender) = members.get(&header.ssrc.0) else {
            continue;
        };
        let channel = sender.channel;
        let mut plaintext = Vec::new();
        if sender
            .cipher
            .open(datagram, header.aad_len(), &mut plaintext)
            .is_err()
        {
            continue;
        }
        let mut aad = datagram[..12].to_vec();
        aad[0] &= 0xF0;
        let mut sent = 0;
        for recipient_ssrc in &channels[&channel] {
            if *recipient_ssrc == header.ssrc.0 {
                continue;
            }
            let recipient = members
                .get_mut(recipient_ssrc)
                .expect("channel lists members");
            let Some(address) = recipient.address else {
                continue;
            };
            let mut out = Vec::new();
            recipient
                .cipher
                .seal(&aad, &plaintext, recipient.counter, &mut out);
            recipient.counter += 1;
            sent += usize::from(socket.send_to(&out, address).await.is_ok());
        }
        meter.sent(sent);
    }
    meter
}
