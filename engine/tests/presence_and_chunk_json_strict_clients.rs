//! PRESENCE_UPDATE, GUILD_MEMBERS_CHUNK and a GUILD_CREATE with `presences` deserialise
//! into twilight-model's strict types (the test oracle `world_json_strict_clients.rs`
//! uses for the other objects): presences with and without activities, offline, and a
//! chunk by user ids with `not_found`, `presences` and `nonce`.

use engine::gateway::{Activity, SessionId, Status};
use engine::world::member_chunks::{member_chunks, ChunkRequest, MemberSelection};
use engine::world::presence::{aggregate, presence_json, Presence, SessionPresence};
use engine::world::{demo_world, guild_create_json, UserId};
use serde_json::Value;
use twilight_model::gateway::payload::incoming::{GuildCreate, MemberChunk, PresenceUpdate};
use twilight_model::gateway::presence::Status as TwilightStatus;

fn parse<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> T {
    match serde_json::from_value(value.clone()) {
        Ok(parsed) => parsed,
        Err(error) => panic!("twilight rejects {what}: {error}\n{value:#}"),
    }
}

fn playing(status: Status) -> Presence {
    aggregate(&[(
        SessionId::new(0, 1),
        SessionPresence {
            status,
            activities: vec![
                Activity {
                    name: "chess".into(),
                    kind: 0,
                    url: None,
                    state: None,
                },
                Activity {
                    name: "Custom Status".into(),
                    kind: 4,
                    url: None,
                    state: Some("thinking".into()),
                },
            ],
            updated_unix_ms: 1_700_000_000_000,
        },
    )])
}

#[test]
fn presence_update_is_a_twilight_presence() {
    for (presence, want) in [
        (playing(Status::Idle), TwilightStatus::Idle),
        (playing(Status::Dnd), TwilightStatus::DoNotDisturb),
        (playing(Status::Invisible), TwilightStatus::Offline),
        (Presence::offline(), TwilightStatus::Offline),
    ] {
        let value = presence_json(42, &presence, 7 << 22);
        let parsed: PresenceUpdate = parse(&value, "PRESENCE_UPDATE");
        assert_eq!(parsed.0.status, want);
        assert_eq!(parsed.0.user.id().get(), 42);
        assert_eq!(parsed.0.guild_id.get(), 7 << 22);
        assert_eq!(parsed.0.activities.len(), presence.activities.len());
    }
}

#[test]
fn member_chunk_and_guild_create_presences_are_twilights() {
    let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
    let guild = &demo.world.guilds[0];
    let (a, b) = (demo.bots[0].user_id, demo.bots[1].user_id);
    let ids = [a.0, 12345];
    let request = ChunkRequest {
        selection: MemberSelection::UserIds(&ids),
        presences: true,
        nonce: Some("n"),
    };
    let presence = playing(Status::Online);
    let of = |user: UserId| (user == a).then(|| presence_json(user.0, &presence, guild.id.0));
    let chunks = member_chunks(guild, &demo.world, &request, of);
    let value: Value = serde_json::from_slice(&chunks[0]).unwrap();
    let chunk: MemberChunk = parse(&value, "GUILD_MEMBERS_CHUNK");
    assert_eq!((chunk.chunk_index, chunk.chunk_count), (0, 1));
    assert_eq!(chunk.members.len(), 1);
    assert_eq!(chunk.members[0].user.id.get(), a.0);
    assert_eq!(chunk.not_found.len(), 1);
    assert_eq!(chunk.not_found[0].get(), 12345);
    assert_eq!(chunk.presences.len(), 1);
    assert_eq!(chunk.nonce.as_deref(), Some("n"));

    // GUILD_CREATE as the app sends it to a session with GUILD_PRESENCES.
    let bytes = guild_create_json(guild, &demo.world, b, 250);
    let mut value: Value = serde_json::from_slice(&bytes).unwrap();
    value["presences"] = Value::Array(vec![presence_json(a.0, &presence, guild.id.0)]);
    let GuildCreate::Available(parsed) = parse::<GuildCreate>(&value, "GUILD_CREATE") else {
        panic!("read as unavailable");
    };
    assert_eq!(parsed.presences.len(), 1);
    assert_eq!(parsed.presences[0].status, TwilightStatus::Online);
}
