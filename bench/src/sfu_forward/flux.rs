//! Flux's `Sfu` behind the thinnest shell that batches: one blocking UDP socket, one
//! `recvmmsg` of up to 64 datagrams, each handed to `handle_datagram`, then every
//! resulting transmit out in `sendmmsg` calls of up to 1024. This is the loop the engine
//! runs per core, minus everything that is not voice.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sfu::discovery::DISCOVERY_LEN;
use sfu::{ChannelKey, MemberId, Sfu, SfuConfig};

use super::roster::Roster;
use super::sys::{RecvBatch, SendBatch};
use super::{Meter, ServerStats};

/// Datagrams per `recvmmsg`.
const RECV_BATCH: usize = 64;

/// Serves `roster` on `socket` until `stop` is set (checked at least every receive
/// timeout of the socket).
pub fn serve(socket: &UdpSocket, roster: &Roster, stop: &AtomicBool) -> ServerStats {
    let mut sfu = Sfu::new(SfuConfig::default());
    for member in &roster.members {
        let id = MemberId(member.index as u64);
        sfu.admit(id, ChannelKey(member.channel), member.ssrc)
            .expect("roster SSRCs are distinct");
        sfu.set_crypto(id, roster.mode, member.key)
            .expect("just admitted");
    }
    let fd = socket.as_raw_fd();
    let mut recv = RecvBatch::new(RECV_BATCH);
    let mut send = SendBatch::default();
    let mut meter = Meter::default();
    while !stop.load(Ordering::Relaxed) {
        let count = match recv.recv(fd, libc::MSG_WAITFORONE) {
            Ok(count) => count,
            Err(error) => panic!("recvmmsg on the Flux voice socket: {error}"),
        };
        if count == 0 {
            continue;
        }
        let now = Instant::now();
        let mut media = false;
        for index in 0..count {
            let (from, datagram) = recv.get(index);
            media |= datagram.len() != DISCOVERY_LEN;
            sfu.handle_datagram(from, datagram, now);
        }
        meter.received(count, media);
        meter.sent(send.send_all(fd, sfu.transmits().map(|t| (t.destination, t.payload))));
        sfu.clear_transmits();
        while sfu.poll_event().is_some() {}
        if sfu.poll_timeout().is_some_and(|deadline| deadline <= now) {
            sfu.handle_timeout(now);
        }
    }
    meter.finish()
}
