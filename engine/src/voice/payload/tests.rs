//! Every client message in the forms real clients send, every malformed form with its
//! close code, and a property: no input panics the decoder.

use proptest::prelude::*;

use super::*;

#[test]
fn discord_py_messages_decode() {
    let identify = br#"{"op":0,"d":{"server_id":"41771983423143937","user_id":"104694319306248192","session_id":"abc","token":"tok","max_dave_protocol_version":1}}"#;
    assert_eq!(
        decode_client(identify).unwrap(),
        VoiceClientMessage::Identify(VoiceIdentify {
            server_id: 41771983423143937,
            user_id: 104694319306248192,
            session_id: "abc".into(),
            token: "tok".into(),
        })
    );
    let select = br#"{"op":1,"d":{"protocol":"udp","data":{"address":"127.0.0.1","port":50000,"mode":"aead_xchacha20_poly1305_rtpsize"}}}"#;
    assert_eq!(
        decode_client(select).unwrap(),
        VoiceClientMessage::SelectProtocol(SelectProtocol {
            protocol: "udp".into(),
            address: "127.0.0.1".into(),
            port: 50000,
            mode: MODES[0].into(),
        })
    );
    assert_eq!(
        decode_client(br#"{"op":5,"d":{"speaking":1,"delay":0,"ssrc":7}}"#).unwrap(),
        VoiceClientMessage::Speaking {
            speaking: 1,
            ssrc: 7
        }
    );
    assert_eq!(
        decode_client(br#"{"op":5,"d":{"speaking":true,"delay":0,"ssrc":7}}"#).unwrap(),
        VoiceClientMessage::Speaking {
            speaking: 1,
            ssrc: 7
        }
    );
    assert_eq!(
        decode_client(
            br#"{"op":7,"d":{"token":"t","server_id":"9","session_id":"s","seq_ack":-1}}"#
        )
        .unwrap(),
        VoiceClientMessage::Resume(VoiceResume {
            server_id: 9,
            session_id: "s".into(),
            token: "t".into(),
            seq_ack: None,
        })
    );
    assert_eq!(
        decode_client(br#"{"op":3,"d":1501184119561}"#).unwrap(),
        VoiceClientMessage::Heartbeat {
            t: 1501184119561,
            seq_ack: None,
            bare: true
        }
    );
    assert_eq!(
        decode_client(br#"{"op":12,"d":{"audio_ssrc":7}}"#).unwrap(),
        VoiceClientMessage::ClientConnect
    );
}

#[test]
fn malformed_messages_name_their_close_code() {
    let code = |bytes: &[u8]| decode_client(bytes).unwrap_err().close.code();
    assert_eq!(code(b"not json"), 4002);
    assert_eq!(code(br#"{"d":{}}"#), 4002, "no op");
    assert_eq!(
        code(br#"{"op":0,"d":{"server_id":"x","user_id":"1","session_id":"s","token":"t"}}"#),
        4002
    );
    assert_eq!(
        code(br#"{"op":1,"d":{"protocol":"udp","data":{"address":"a","port":70000,"mode":"m"}}}"#),
        4002
    );
    assert_eq!(code(br#"{"op":3,"d":{"seq_ack":1}}"#), 4020);
    assert_eq!(code(br#"{"op":3,"d":"soon"}"#), 4020);
    assert_eq!(code(br#"{"op":2,"d":{}}"#), 4001, "Ready is the server's");
    assert_eq!(code(br#"{"op":26,"d":{}}"#), 4001, "DAVE is never offered");
}

#[test]
fn server_messages_have_the_fields_clients_read() {
    let ready: Value = serde_json::from_str(&encode_ready(5, "127.0.0.1", 4000)).unwrap();
    assert_eq!(ready["op"], 2);
    assert_eq!(ready["d"]["modes"][0], "aead_xchacha20_poly1305_rtpsize");
    assert_eq!(
        (ready["d"]["ssrc"].as_u64(), ready["d"]["port"].as_u64()),
        (Some(5), Some(4000))
    );
    let description: Value =
        serde_json::from_str(&encode_session_description(MODES[1], &[7; 32])).unwrap();
    assert_eq!(description["d"]["secret_key"].as_array().unwrap().len(), 32);
    assert_eq!(
        description["d"]["dave_protocol_version"], 0,
        "required by discord.py"
    );
    let numbered: Value =
        serde_json::from_str(&encode_numbered(13, &json!({"user_id": "1"}), 9)).unwrap();
    assert_eq!(
        (numbered["seq"].as_u64(), numbered["op"].as_u64()),
        (Some(9), Some(13))
    );
    assert_eq!(encode_heartbeat_ack(3, true), r#"{"d":3,"op":6}"#);
    let hello: Value = serde_json::from_str(&encode_hello(13_750)).unwrap();
    assert_eq!(hello["d"]["heartbeat_interval"], 13_750);
    let resumed: Value = serde_json::from_str(&encode_resumed()).unwrap();
    assert!(
        resumed.get("d").is_some(),
        "every message needs d (voice-recv)"
    );
}

proptest! {
    #[test]
    fn no_bytes_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_client(&bytes);
    }

    #[test]
    fn no_json_panics_the_decoder(op in 0u64..40, d in json_value()) {
        let text = json!({"op": op, "d": d}).to_string();
        let _ = decode_client(text.as_bytes());
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z0-9]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("server_id".to_string()),
                    Just("t".to_string()),
                    Just("data".to_string()),
                    Just("port".to_string()),
                    Just("ssrc".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}
