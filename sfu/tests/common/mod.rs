//! A voice client as the tests need one: builds encrypted RTP and RTCP the way discord.py
//! does, and opens forwarded packets the way discord-ext-voice-recv does.
#![allow(dead_code)] // Each test file uses a different part.

use std::net::SocketAddr;
use std::time::Instant;

use sfu::discovery::encode_discovery_request;
use sfu::rtcp::{encode_receiver_report, ReportBlock};
use sfu::rtp::{encode_rtp_header, ExtensionPreamble};
use sfu::{parse_rtp_header, ChannelKey, MemberId, Mode, RtpHeader, Sfu, Ssrc, VoiceCipher};

#[derive(Clone, Copy)]
pub struct Client {
    pub member: MemberId,
    pub ssrc: Ssrc,
    pub key: [u8; 32],
    pub mode: Mode,
    pub address: SocketAddr,
    pub sequence: u16,
    pub timestamp: u32,
    pub counter: u32,
    pub rtcp_counter: u32,
}

/// A forwarded packet as a receiver sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Received {
    pub header: RtpHeader,
    /// Extension body (if X) followed by the payload, as decrypted.
    pub plaintext: Vec<u8>,
    pub counter: u32,
}

impl Client {
    pub fn new(id: u64, mode: Mode) -> Client {
        let port = 10_000 + id as u16;
        Client {
            member: MemberId(id),
            ssrc: Ssrc(1000 + id as u32),
            key: [id as u8; 32],
            mode,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            sequence: 100,
            timestamp: 0,
            counter: 0,
            rtcp_counter: 0,
        }
    }

    /// admit + set_crypto + IP discovery, draining the discovery answer.
    pub fn join(&self, sfu: &mut Sfu, channel: u64) {
        sfu.admit(self.member, ChannelKey(channel), self.ssrc)
            .unwrap();
        sfu.set_crypto(self.member, self.mode, self.key).unwrap();
        sfu.handle_datagram(
            self.address,
            &encode_discovery_request(self.ssrc),
            Instant::now(),
        );
        let answer = sfu.poll_transmit().expect("discovery answered");
        assert_eq!(answer.destination, self.address);
        assert!(sfu.poll_transmit().is_none());
        while sfu.poll_event().is_some() {}
    }

    /// A copy of this client whose next packet uses nonce counter `counter`.
    pub fn clone_at_counter(&self, counter: u32) -> Client {
        Client { counter, ..*self }
    }

    pub fn cipher(&self) -> VoiceCipher {
        VoiceCipher::new(self.mode, &self.key)
    }

    /// One RTP packet: discord.py's header (`0x80 0x78`), optional CSRCs and extension.
    pub fn rtp_with(
        &mut self,
        payload: &[u8],
        csrcs: &[u32],
        extension: Option<(u16, &[u8])>,
    ) -> Vec<u8> {
        let header = RtpHeader {
            padding: false,
            marker: false,
            payload_type: 120,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            csrc_count: csrcs.len() as u8,
            extension: extension.map(|(profile, body)| ExtensionPreamble {
                profile,
                body_len: body.len(),
            }),
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(960);
        let mut aad = Vec::new();
        encode_rtp_header(&header, csrcs, &mut aad);
        let mut plaintext = Vec::new();
        if let Some((_, body)) = extension {
            plaintext.extend_from_slice(body);
        }
        plaintext.extend_from_slice(payload);
        let mut datagram = Vec::new();
        self.cipher()
            .seal(&aad, &plaintext, self.counter, &mut datagram);
        self.counter += 1;
        datagram
    }

    pub fn rtp(&mut self, payload: &[u8]) -> Vec<u8> {
        self.rtp_with(payload, &[], None)
    }

    /// An encrypted RR: the 8-byte header is AAD, the rest sealed.
    pub fn receiver_report(&mut self, blocks: &[ReportBlock]) -> Vec<u8> {
        let mut clear = Vec::new();
        encode_receiver_report(self.ssrc, blocks, &mut clear);
        let mut datagram = Vec::new();
        self.cipher()
            .seal(&clear[..8], &clear[8..], self.rtcp_counter, &mut datagram);
        self.rtcp_counter += 1;
        datagram
    }

    /// Opens a forwarded packet as discord-ext-voice-recv does: AAD is the 12-byte header
    /// plus the extension preamble when X is set; CSRCs are not expected.
    pub fn open(&self, datagram: &[u8]) -> Received {
        let header = parse_rtp_header(datagram).expect("forwarded header parses");
        assert_eq!(header.csrc_count, 0, "forwarded packets carry CC=0");
        let aad_len = 12 + if header.extension.is_some() { 4 } else { 0 };
        let mut plaintext = Vec::new();
        let counter = self
            .cipher()
            .open(datagram, aad_len, &mut plaintext)
            .expect("forwarded packet opens with the recipient's key");
        Received {
            header,
            plaintext,
            counter,
        }
    }
}

/// Every pending transmit, as (destination, bytes).
pub fn drain(sfu: &mut Sfu) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(transmit) = sfu.poll_transmit() {
        out.push((transmit.destination, transmit.payload.to_vec()));
    }
    out
}
