//! The ceiling: the same `recvmmsg`/`sendmmsg` shell as Flux's row, with no cryptography
//! and no state beyond a routing table. Each datagram goes out unchanged (still sealed
//! under its sender's key) to every other member of its channel, its bytes sent straight
//! from the receive buffer. No SFU can forward faster through this kernel path.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use sfu::discovery::{encode_discovery_response, parse_discovery_request, DISCOVERY_LEN};
use sfu::Ssrc;

use super::roster::Roster;
use super::sys::{RecvBatch, SendBatch};
use super::{Meter, ServerStats};

const RECV_BATCH: usize = 64;

/// Serves `roster` on `socket` until `stop` is set.
pub fn serve(socket: &UdpSocket, roster: &Roster, stop: &AtomicBool) -> ServerStats {
    let mut addresses: Vec<Option<SocketAddr>> = vec![None; roster.members.len()];
    let mut channels: HashMap<u64, Vec<usize>> = HashMap::new();
    for member in &roster.members {
        channels
            .entry(member.channel)
            .or_default()
            .push(member.index);
    }
    let fd = socket.as_raw_fd();
    let mut recv = RecvBatch::new(RECV_BATCH);
    let mut send = SendBatch::default();
    // (destination, datagram index in the receive batch), reused.
    let mut plan: Vec<(SocketAddr, usize)> = Vec::new();
    let mut meter = Meter::default();
    while !stop.load(Ordering::Relaxed) {
        let count = match recv.recv(fd, libc::MSG_WAITFORONE) {
            Ok(count) => count,
            Err(error) => panic!("recvmmsg on the ceiling socket: {error}"),
        };
        plan.clear();
        let mut media = false;
        for index in 0..count {
            let (from, datagram) = recv.get(index);
            media |= datagram.len() != DISCOVERY_LEN;
            if datagram.len() == DISCOVERY_LEN {
                if let Ok(ssrc) = parse_discovery_request(datagram) {
                    if let Some(member) = roster.by_ssrc(ssrc) {
                        addresses[member.index] = Some(from);
                        let response = encode_discovery_response(ssrc, from);
                        let _ = socket.send_to(&response, from);
                    }
                }
                continue;
            }
            let Some(ssrc) = datagram.get(8..12) else {
                continue;
            };
            let ssrc = Ssrc(u32::from_be_bytes([ssrc[0], ssrc[1], ssrc[2], ssrc[3]]));
            let Some(sender) = roster.by_ssrc(ssrc) else {
                continue;
            };
            for &recipient in &channels[&sender.channel] {
                if recipient != sender.index {
                    if let Some(address) = addresses[recipient] {
                        plan.push((address, index));
                    }
                }
            }
        }
        meter.received(count, media);
        let items = plan
            .iter()
            .map(|&(address, index)| (address, recv.get(index).1));
        meter.sent(send.send_all(fd, items));
    }
    meter.finish()
}
