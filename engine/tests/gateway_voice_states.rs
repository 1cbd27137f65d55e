//! Gateway op 4 (Voice State Update) against the real Flux application, on two cores,
//! once per I/O backend: VOICE_STATE_UPDATE to the guild, VOICE_SERVER_UPDATE to the
//! session that asked, `voice_states` in a later GUILD_CREATE, refusals answered with
//! nothing, and a session that closes for good leaving voice.
//!
//! The demo world has two bots, and each may identify once per 5 s, so each test
//! identifies each bot at most once.

mod support;

use serde_json::{json, Value};
use support::gateway::{inject_dispatch, Gateway, INTENTS_DEFAULT};
use support::start_flux;

const GUILD_VOICE_STATES: u64 = 1 << 7;

fn voice_states_follow_op_4(io: engine::IoBackend) {
    let server = start_flux(io, |config| config.cores = Some(2));
    let addr = server.local_addr();
    let boot = server.bootstrap().unwrap().clone();
    let (owner, member) = (&boot.bots[0], &boot.bots[1]);
    assert_ne!(INTENTS_DEFAULT & GUILD_VOICE_STATES, 0);

    let (mut joiner, _) = Gateway::connect(addr);
    let ready = joiner.identify_ready(&member.token, INTENTS_DEFAULT, 1);
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_owned();
    // Joining: the guild id as a number (discord.py), the state first, then the server.
    joiner.send(&json!({"op": 4, "d": {
        "guild_id": boot.guild_id.parse::<u64>().unwrap(),
        "channel_id": boot.voice_channel_id, "self_mute": false, "self_deaf": true}}));
    let state = joiner.recv_named("VOICE_STATE_UPDATE")["d"].clone();
    assert_eq!(state["user_id"], member.id.as_str(), "{state}");
    assert_eq!(state["session_id"], session_id.as_str());
    assert_eq!(state["channel_id"], boot.voice_channel_id.as_str());
    assert_eq!(state["guild_id"], boot.guild_id.as_str());
    assert_eq!(
        (state["self_deaf"].as_bool(), state["mute"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        state["member"]["user"]["id"],
        member.id.as_str(),
        "voice-recv reads member"
    );
    let server_update = joiner.recv_dispatch();
    assert_eq!(server_update["t"], "VOICE_SERVER_UPDATE", "{server_update}");
    let token = server_update["d"]["token"].as_str().unwrap();
    assert_eq!(token.len(), 32, "128 random bits in hex");
    assert_eq!(server_update["d"]["guild_id"], boot.guild_id.as_str());
    assert!(server_update["d"].get("endpoint").is_some());

    // A session that identifies now sees the member in GUILD_CREATE's voice_states.
    let (mut watcher, _) = Gateway::connect(addr);
    watcher.identify(&owner.token, INTENTS_DEFAULT);
    assert_eq!(watcher.recv_dispatch()["t"], "READY");
    let guild_create = watcher.recv_named("GUILD_CREATE")["d"].clone();
    let states = guild_create["voice_states"].as_array().unwrap().clone();
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0]["user_id"], member.id.as_str());
    assert_eq!(states[0]["channel_id"], boot.voice_channel_id.as_str());

    // Refused: a text channel, an unknown channel, a guild the user is not in. Nothing
    // is announced (Discord answers none of them either).
    for channel in [boot.text_channel_id.as_str(), "12345"] {
        joiner.send(&json!({"op": 4, "d": {"guild_id": boot.guild_id,
            "channel_id": channel, "self_mute": false, "self_deaf": false}}));
    }
    joiner.send(&json!({"op": 4, "d": {"guild_id": "4194304",
        "channel_id": null, "self_mute": false, "self_deaf": false}}));
    assert_eq!(
        inject_dispatch(addr, &boot.guild_id, "FLUX_TEST", &json!({"marker": 1})),
        2
    );
    let quiet: Vec<Value> = joiner.until_marker(1);
    assert!(quiet.is_empty(), "refusals announce nothing: {quiet:?}");
    let seen = watcher.until_marker(1);
    assert!(
        seen.iter().all(|d| d["t"] != "VOICE_STATE_UPDATE"),
        "{seen:?}"
    );

    // Self mute: announced to the guild, a new VOICE_SERVER_UPDATE for the session.
    joiner.send(&json!({"op": 4, "d": {"guild_id": boot.guild_id,
        "channel_id": boot.voice_channel_id, "self_mute": true, "self_deaf": false}}));
    let muted = watcher.recv_named("VOICE_STATE_UPDATE")["d"].clone();
    assert_eq!(
        (muted["self_mute"].as_bool(), muted["self_deaf"].as_bool()),
        (Some(true), Some(false))
    );

    // Closing for good (1000) leaves voice: the guild learns channel_id null.
    joiner.ws.send_close(1000);
    let left = watcher.recv_named("VOICE_STATE_UPDATE")["d"].clone();
    assert_eq!(left["user_id"], member.id.as_str());
    assert_eq!(left["channel_id"], Value::Null, "{left}");
}
both_backends!(voice_states_follow_op_4, voice_states_follow_op_4);
