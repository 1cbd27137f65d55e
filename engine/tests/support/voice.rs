//! The first steps of a voice connection, as CLIENTS.md §1.8 describes every library's:
//! op 4 on the main gateway, the voice gateway's address and token from
//! VOICE_SERVER_UPDATE, a TLS WebSocket to it, and Identify (op 0). What comes next
//! (Hello, Ready, IP discovery) is each test's to read.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use wsframe::Opcode;

use engine::world::{Bootstrap, BootstrapBot};

use super::gateway::{Gateway, INTENTS_DEFAULT};
use super::tls::{tls_connect, TlsWs};

/// `bot`'s main gateway session on the server at `addr`, identified, and the ids with which
/// it joins the bootstrap guild's voice channel: (guild, channel, user, session).
pub fn session_for_voice(
    addr: SocketAddr,
    boot: &Bootstrap,
    bot: &BootstrapBot,
) -> (Gateway, [String; 4]) {
    let (mut gateway, _) = Gateway::connect(addr);
    let ready = gateway.identify_ready(&bot.token, INTENTS_DEFAULT, 1);
    let session = ready["d"]["session_id"].as_str().unwrap().to_owned();
    let ids = [
        boot.guild_id.clone(),
        boot.voice_channel_id.clone(),
        bot.id.clone(),
        session,
    ];
    (gateway, ids)
}

/// A voice WebSocket that has sent Identify, and what a Resume needs.
pub struct VoiceIdentified {
    pub ws: TlsWs,
    /// The voice gateway's address (VOICE_SERVER_UPDATE's `endpoint`).
    pub endpoint: SocketAddr,
    /// The voice token (VOICE_SERVER_UPDATE's `token`).
    pub token: String,
}

/// Joins voice channel `ids[1]` of guild `ids[0]` as user `ids[2]`, whose main gateway
/// session `gateway` is `ids[3]` (`session_for_voice`), and identifies on the voice
/// gateway (no DAVE).
pub fn voice_identify(
    gateway: &mut Gateway,
    config: &Arc<rustls::ClientConfig>,
    ids: &[String; 4],
) -> VoiceIdentified {
    let [guild, channel, user, session] = ids;
    gateway.send(
        &json!({"op": 4, "d": {"guild_id": guild, "channel_id": channel,
        "self_mute": false, "self_deaf": false}}),
    );
    let server = gateway.recv_named("VOICE_SERVER_UPDATE")["d"].clone();
    let endpoint: SocketAddr = server["endpoint"].as_str().unwrap().parse().unwrap();
    let token = server["token"].as_str().unwrap().to_owned();
    let mut ws = TlsWs::open(tls_connect(endpoint, config));
    let identify = json!({"op": 0, "d": {"server_id": guild, "user_id": user,
        "session_id": session, "token": token, "max_dave_protocol_version": 0}});
    ws.send(Opcode::Text, identify.to_string().as_bytes());
    VoiceIdentified {
        ws,
        endpoint,
        token,
    }
}
