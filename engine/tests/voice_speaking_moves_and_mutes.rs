//! Two voice clients written from CLIENTS.md §1.8 (main gateway op 4, the TLS voice
//! gateway v8, IP discovery and `aead_xchacha20_poly1305_rtpsize` RTP over UDP) against
//! the real Flux application on two cores, once per I/O backend:
//!
//! - A's packets reach B decrypted with B's own key, with A's SSRC, sequence and
//!   timestamp, and never come back to A;
//! - A sends the RFC 6464 audio-level extension and never op 5: B still gets op 5
//!   speaking on for A from the SFU, and speaking off once A's level drops;
//! - a server mute (member edit `mute`) drops A's packets at once, and unmuting lets them
//!   through again;
//! - a member edit's `channel_id` moves A to another voice channel: B hears op 13 for A
//!   and no more packets; moving A back is op 11 again;
//! - B's voice connection drops and resumes (op 7) on a new one: op 9 Resumed, the
//!   numbered message it missed (A's op 5) re-sent, and packets still reach it;
//! - `channel_id: null` disconnects A (its voice connection closes with 4014);
//! - `/_flux/metrics` reports, gathered from both cores, B's loss and jitter from its
//!   RTCP receiver report, A's packets, and a forged packet as an authentication failure.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sfu::crypto::VoiceCipher;
use sfu::discovery::{encode_discovery_request, parse_discovery_response};
use sfu::{Mode, Ssrc};
use support::gateway::{metrics, Gateway};
use support::rest::call;
use support::tls::{cert_of, client_config, tls_connect, TlsWs};
use support::voice::{session_for_voice, voice_identify};
use wsframe::Opcode;

/// A voice connection: its WebSocket (and the messages read past while waiting for
/// another), its UDP socket and its key.
struct VoiceClient {
    ws: Inbox,
    /// The voice gateway's address, the voice token and the gateway session (for Resume).
    endpoint: SocketAddr,
    token: String,
    session: String,
    udp: UdpSocket,
    ssrc: u32,
    cipher: VoiceCipher,
    seq: u16,
    timestamp: u32,
    counter: u32,
}

impl VoiceClient {
    /// op 4 on `gateway`, then the voice gateway handshake and IP discovery.
    fn join(
        gateway: &mut Gateway,
        config: &Arc<rustls::ClientConfig>,
        ids: &[String; 4],
    ) -> VoiceClient {
        let session = &ids[3];
        let identified = voice_identify(gateway, config, ids);
        let mut ws = Inbox {
            ws: identified.ws,
            skipped: Vec::new(),
            last_seq: None,
        };
        assert_eq!(recv_op(&mut ws, 8)["d"]["heartbeat_interval"], 13_750);
        let ready = recv_op(&mut ws, 2)["d"].clone();
        let ssrc = u32::try_from(ready["ssrc"].as_u64().unwrap()).unwrap();
        assert_eq!(ready["modes"][0], "aead_xchacha20_poly1305_rtpsize");
        let port = u16::try_from(ready["port"].as_u64().unwrap()).unwrap();
        let udp_server: SocketAddr = format!("{}:{port}", ready["ip"].as_str().unwrap())
            .parse()
            .unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.connect(udp_server).unwrap();
        udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        udp.send(&encode_discovery_request(Ssrc(ssrc))).unwrap();
        let mut reply = [0u8; 128];
        let n = recv_retrying(&udp, &mut reply).unwrap();
        let (echoed, seen) = parse_discovery_response(&reply[..n]).unwrap();
        assert_eq!((echoed, seen), (Ssrc(ssrc), udp.local_addr().unwrap()));
        send_json(
            &mut ws,
            &json!({"op": 1, "d": {"protocol": "udp", "data": {
            "address": seen.ip().to_string(), "port": seen.port(),
            "mode": "aead_xchacha20_poly1305_rtpsize"}}}),
        );
        let description = recv_op(&mut ws, 4)["d"].clone();
        assert_eq!(description["dave_protocol_version"], 0);
        let key: Vec<u8> = description["secret_key"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
            .collect();
        let cipher = VoiceCipher::new(Mode::AeadXChaCha20Poly1305RtpSize, &key.try_into().unwrap());
        VoiceClient {
            ws,
            endpoint: identified.endpoint,
            token: identified.token,
            session: session.to_owned(),
            udp,
            ssrc,
            cipher,
            seq: 100,
            timestamp: 4_800,
            counter: 0,
        }
    }

    /// One encrypted RTP packet carrying `payload` and, with `level`, the audio-level
    /// extension (one-byte form, id 1, V bit set).
    /// The voice WebSocket's TCP connection ends without a close frame, as a network
    /// failure would end it.
    fn drop_socket(&self) {
        self.ws
            .ws
            .tls
            .sock
            .shutdown(std::net::Shutdown::Both)
            .unwrap();
    }

    fn send_rtp(&mut self, payload: &[u8], level: Option<u8>) {
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(960);
        let first = if level.is_some() { 0x90 } else { 0x80 };
        let mut aad = vec![first, 0x78];
        aad.extend_from_slice(&self.seq.to_be_bytes());
        aad.extend_from_slice(&self.timestamp.to_be_bytes());
        aad.extend_from_slice(&self.ssrc.to_be_bytes());
        let mut plaintext = Vec::new();
        if let Some(level) = level {
            aad.extend_from_slice(&[0xBE, 0xDE, 0, 1]); // one 32-bit word of elements
            plaintext.extend_from_slice(&[0x10, 0x80 | level, 0, 0]);
        }
        plaintext.extend_from_slice(payload);
        let mut datagram = Vec::new();
        self.cipher
            .seal(&aad, &plaintext, self.counter, &mut datagram);
        self.counter += 1;
        self.udp.send(&datagram).unwrap();
    }

    /// An encrypted RTCP receiver report about `source`: 25% lost, 3 in all, jitter 480
    /// timestamp units (10 ms at 48 kHz).
    fn send_receiver_report(&mut self, source: u32) {
        let block = sfu::rtcp::ReportBlock {
            ssrc: Ssrc(source),
            fraction_lost: 64,
            cumulative_lost: 3,
            highest_sequence: 200,
            jitter: 480,
            ..Default::default()
        };
        let mut report = Vec::new();
        sfu::rtcp::encode_receiver_report(Ssrc(self.ssrc), &[block], &mut report);
        let mut datagram = Vec::new();
        self.cipher
            .seal(&report[..8], &report[8..], 0, &mut datagram);
        self.udp.send(&datagram).unwrap();
    }

    /// The next forwarded packet, decrypted with this client's key: (ssrc, seq, payload
    /// after any extension), or `None` if nothing arrives within `wait`.
    fn recv_rtp(&mut self, wait: Duration) -> Option<(u32, u16, Vec<u8>)> {
        self.udp.set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 2048];
        let n = match recv_retrying(&self.udp, &mut buf) {
            Ok(n) => n,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None
            }
            Err(error) => panic!("udp: {error}"),
        };
        let datagram = &buf[..n];
        assert_eq!(datagram[0] & 0x0F, 0, "forwarded packets carry no CSRCs");
        let extended = datagram[0] & 0x10 != 0;
        let aad_len = if extended { 16 } else { 12 };
        let mut plaintext = Vec::new();
        self.cipher
            .open(datagram, aad_len, &mut plaintext)
            .expect("decrypts with the recipient's key");
        let body = if extended {
            let words = usize::from(u16::from_be_bytes([datagram[14], datagram[15]]));
            plaintext[4 * words..].to_vec()
        } else {
            plaintext
        };
        let ssrc = u32::from_be_bytes(datagram[8..12].try_into().unwrap());
        let seq = u16::from_be_bytes([datagram[2], datagram[3]]);
        Some((ssrc, seq, body))
    }
}

/// A voice WebSocket and the messages read past while waiting for another opcode.
struct Inbox {
    ws: TlsWs,
    skipped: Vec<Value>,
    /// The last `seq` of a numbered message read.
    last_seq: Option<u64>,
}

impl Inbox {
    fn expect_close(&mut self) -> u16 {
        self.ws.expect_close()
    }
}

fn send_json(inbox: &mut Inbox, value: &Value) {
    inbox.ws.send(Opcode::Text, value.to_string().as_bytes());
}

/// The oldest voice gateway message with opcode `op` not yet taken, in arrival order.
fn recv_op(inbox: &mut Inbox, op: u64) -> Value {
    if let Some(index) = inbox.skipped.iter().position(|m| m["op"] == op) {
        return inbox.skipped.remove(index);
    }
    loop {
        let message: Value = serde_json::from_slice(&inbox.ws.recv()).unwrap();
        assert!(message.get("d").is_some(), "every message has d: {message}");
        if let Some(seq) = message["seq"].as_u64() {
            assert!(inbox.last_seq < Some(seq), "seq rises: {message}");
            inbox.last_seq = Some(seq);
        }
        if message["op"] == op {
            return message;
        }
        inbox.skipped.push(message);
    }
}

fn start(io: engine::IoBackend) -> (engine::Server, PathBuf) {
    let mut data_dir = PathBuf::new();
    let server = support::start_flux(io, |config| {
        config.cores = Some(2);
        data_dir = config.data_dir.clone();
    });
    (server, data_dir)
}

fn speaking_moves_and_mutes(io: engine::IoBackend) {
    let (server, data_dir) = start(io);
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (a, b) = (&boot.bots[0], &boot.bots[1]);
    let config = client_config(&cert_of(&data_dir));
    let patch = |path: &str, body: &Value| call(addr, "PATCH", path, &a.token, Some(body));
    let second = call(
        addr,
        "POST",
        &format!("/api/v10/guilds/{}/channels", boot.guild_id),
        &a.token,
        Some(&json!({"name": "second", "type": 2})),
    );
    assert_eq!(second.status, 201, "{second:?}");
    let second_id = second.json()["id"].as_str().unwrap().to_owned();

    let mut gateways = Vec::new();
    let mut voices = Vec::new();
    for bot in [a, b] {
        let (mut gateway, ids) = session_for_voice(addr, &boot, bot);
        voices.push(VoiceClient::join(&mut gateway, &config, &ids));
        gateways.push(gateway);
    }
    let (mut va, mut vb) = {
        let mut it = voices.into_iter();
        (it.next().unwrap(), it.next().unwrap())
    };
    // B joined second: it learns A is there, with A's SSRC.
    let present = recv_op(&mut vb.ws, 5)["d"].clone();
    assert_eq!(
        (present["user_id"].as_str(), present["ssrc"].as_u64()),
        (Some(a.id.as_str()), Some(u64::from(va.ssrc)))
    );

    // Loud packets with the audio level: forwarded to B only, and speaking on.
    for i in 0..5u8 {
        va.send_rtp(&[0xFC, i], Some(10));
    }
    for i in 0..5u8 {
        let (ssrc, _, payload) = vb
            .recv_rtp(Duration::from_secs(5))
            .expect("A's packet at B");
        assert_eq!((ssrc, payload), (va.ssrc, vec![0xFC, i]));
    }
    assert!(
        va.recv_rtp(Duration::from_millis(200)).is_none(),
        "never back to the sender"
    );
    let on = recv_op(&mut vb.ws, 5);
    assert_eq!(on["d"]["user_id"], a.id.as_str());
    assert_eq!(on["d"]["speaking"], 1, "{on}");
    assert!(on["seq"].is_u64(), "a numbered message: {on}");
    for i in 0..12u8 {
        va.send_rtp(&[0xF8, i], Some(127));
    }
    let off = recv_op(&mut vb.ws, 5);
    assert_eq!(
        (off["d"]["user_id"].as_str(), off["d"]["speaking"].as_u64()),
        (Some(a.id.as_str()), Some(0))
    );
    while vb.recv_rtp(Duration::from_millis(300)).is_some() {}

    // Metrics, gathered from both cores: B's receiver report, A's packets, a forgery.
    vb.send_receiver_report(va.ssrc);
    let mut forged = vec![0x80, 0x78, 0, 1, 0, 0, 0, 1];
    forged.extend_from_slice(&va.ssrc.to_be_bytes());
    forged.extend_from_slice(&[0u8; 36]);
    forged.extend_from_slice(&4096u32.to_be_bytes()); // a fresh nonce, so not a replay
    va.udp.send(&forged).unwrap();
    let voice = (0..100)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            metrics(addr)["voice"].clone()
        })
        .find(|voice| {
            voice["auth_failures"].as_u64() >= Some(1)
                && voice["rtcp_authenticated"].as_u64() >= Some(1)
        })
        .unwrap_or_else(|| panic!("the forgery and the report counted: {}", metrics(addr)));
    let member = |user: &str| {
        voice["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == user)
            .cloned()
            .unwrap_or_else(|| panic!("{user} in {voice}"))
    };
    let reception = member(&b.id)["reception"].clone();
    assert_eq!(
        reception["source_ssrc"].as_u64(),
        Some(u64::from(va.ssrc)),
        "{voice}"
    );
    assert_eq!(reception["fraction_lost"].as_f64(), Some(0.25));
    assert_eq!(reception["jitter_ms"].as_f64(), Some(10.0));
    assert_eq!(reception["cumulative_lost"], 3);
    assert!(
        member(&a.id)["packets_received"].as_u64() >= Some(17),
        "{voice}"
    );
    assert_eq!(voice["connections"], 2);

    // A server mute drops A's packets; unmuting lets them through.
    let member_a = format!("/api/v10/guilds/{}/members/{}", boot.guild_id, a.id);
    let muted = patch(&member_a, &json!({"mute": true}));
    assert_eq!(muted.status, 200, "{muted:?}");
    let state = gateways[1].recv_named("VOICE_STATE_UPDATE")["d"].clone();
    assert_eq!(
        (state["user_id"].as_str(), state["mute"].as_bool()),
        (Some(a.id.as_str()), Some(true))
    );
    va.send_rtp(b"muted", None);
    assert!(
        vb.recv_rtp(Duration::from_millis(400)).is_none(),
        "a muted member is not forwarded"
    );
    assert_eq!(patch(&member_a, &json!({"mute": false})).status, 200);
    gateways[1].recv_named("VOICE_STATE_UPDATE");
    va.send_rtp(b"heard", None);
    assert_eq!(
        vb.recv_rtp(Duration::from_secs(5)).map(|p| p.2),
        Some(b"heard".to_vec())
    );

    // Moved away: B hears op 13 and nothing more; moved back: op 11.
    let moved = patch(&member_a, &json!({"channel_id": second_id}));
    assert_eq!(moved.status, 200, "{moved:?}");
    assert_eq!(recv_op(&mut vb.ws, 13)["d"]["user_id"], a.id.as_str());
    let state = gateways[1].recv_named("VOICE_STATE_UPDATE")["d"].clone();
    assert_eq!(state["channel_id"], second_id.as_str());
    va.send_rtp(b"elsewhere", None);
    assert!(
        vb.recv_rtp(Duration::from_millis(400)).is_none(),
        "another channel"
    );
    let back = patch(&member_a, &json!({"channel_id": boot.voice_channel_id}));
    assert_eq!(back.status, 200);
    assert_eq!(recv_op(&mut vb.ws, 11)["d"]["user_ids"], json!([a.id]));
    let state = gateways[1].recv_named("VOICE_STATE_UPDATE")["d"].clone();
    assert_eq!(state["channel_id"], boot.voice_channel_id.as_str());
    va.send_rtp(b"back", None);
    assert_eq!(
        vb.recv_rtp(Duration::from_secs(5)).map(|p| p.2),
        Some(b"back".to_vec())
    );

    // B's voice socket drops without a close; meanwhile A says it speaks (op 5, numbered
    // for B). B resumes on a new connection and gets Resumed, then what it missed.
    let seq_ack = vb.ws.last_seq;
    vb.drop_socket();
    std::thread::sleep(Duration::from_millis(200));
    send_json(
        &mut va.ws,
        &json!({"op": 5, "d": {"speaking": 5, "delay": 0, "ssrc": va.ssrc}}),
    );
    vb.ws = Inbox {
        ws: TlsWs::open(tls_connect(vb.endpoint, &config)),
        skipped: Vec::new(),
        last_seq: seq_ack,
    };
    send_json(
        &mut vb.ws,
        &json!({"op": 7, "d": {"server_id": boot.guild_id,
        "session_id": vb.session, "token": vb.token, "seq_ack": seq_ack}}),
    );
    assert_eq!(
        recv_op(&mut vb.ws, 8)["op"],
        8,
        "the new connection's Hello"
    );
    recv_op(&mut vb.ws, 9);
    let missed = recv_op(&mut vb.ws, 5);
    assert_eq!(
        (
            missed["d"]["user_id"].as_str(),
            missed["d"]["speaking"].as_u64()
        ),
        (Some(a.id.as_str()), Some(5))
    );
    va.send_rtp(b"resumed", None);
    assert_eq!(
        vb.recv_rtp(Duration::from_secs(5)).map(|p| p.2),
        Some(b"resumed".to_vec())
    );

    // B's socket drops again and B identifies anew instead of resuming: the dropped
    // connection leaves the SFU (A hears op 13 for it, then op 11), so B counts once.
    va.ws.skipped.clear();
    vb.drop_socket();
    std::thread::sleep(Duration::from_millis(200));
    let ids_b = [
        boot.guild_id.clone(),
        boot.voice_channel_id.clone(),
        b.id.clone(),
        vb.session.clone(),
    ];
    let mut vb = VoiceClient::join(&mut gateways[1], &config, &ids_b);
    assert_eq!(recv_op(&mut va.ws, 13)["d"]["user_id"], b.id.as_str());
    assert_eq!(recv_op(&mut va.ws, 11)["d"]["user_ids"], json!([b.id]));
    let voice = metrics(addr)["voice"].clone();
    assert_eq!(
        voice["sfu_members"], 2,
        "the dropped connection left the SFU: {voice}"
    );
    assert_eq!(voice["members"].as_array().unwrap().len(), 2);
    va.send_rtp(b"again", None);
    assert_eq!(
        vb.recv_rtp(Duration::from_secs(5)).map(|p| p.2),
        Some(b"again".to_vec())
    );

    // B is not in voice anywhere but here; a member not in voice cannot be moved.
    let nobody = format!("/api/v10/guilds/{}/members/{}", boot.guild_id, "1");
    assert_ne!(
        patch(&nobody, &json!({"channel_id": second_id})).status,
        200
    );

    // Disconnected by a moderator: A's voice connection closes with 4014.
    let gone = patch(&member_a, &json!({"channel_id": null}));
    assert_eq!(gone.status, 200);
    let state = gateways[1].recv_named("VOICE_STATE_UPDATE")["d"].clone();
    assert_eq!(
        (state["user_id"].as_str(), state["channel_id"].clone()),
        (Some(a.id.as_str()), Value::Null)
    );
    assert_eq!(recv_op(&mut vb.ws, 13)["d"]["user_id"], a.id.as_str());
    assert_eq!(va.ws.expect_close(), 4014);
}
both_backends!(speaking_moves_and_mutes, speaking_moves_and_mutes);

/// `recv`, waiting again when a signal interrupts the wait (EINTR, which `recv` does not
/// retry; the test process's other threads make it happen now and then).
fn recv_retrying(udp: &UdpSocket, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match udp.recv(buf) {
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
