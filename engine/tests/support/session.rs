//! A gateway session driven through its public sans-IO API with fake time, for the
//! session tests (`gateway_session.rs`, `gateway_session_transport.rs`): `Client` feeds it
//! inputs at a chosen time and keeps everything it said, decoded.

use std::sync::Arc;

use engine::gateway::*;
use serde_json::{json, Value};

pub const MS: u64 = 1000;
pub const USER: &str = r#"{"id":"5","username":"bot","discriminator":"0","avatar":null,"bot":true,"mfa_enabled":false}"#;

pub fn config() -> SessionConfig {
    SessionConfig {
        core_index: 3,
        resume_gateway_url: "ws://127.0.0.1:9000/".into(),
        ..SessionConfig::default()
    }
    .with_heartbeat_interval_ms(1000)
}

/// A session plus everything it said, decoded.
pub struct Client {
    pub session: Session,
    pub now: Micros,
    pub frames: Vec<OutFrame>,
    pub closes: Vec<(u16, String)>,
    pub wakes: Vec<Micros>,
    pub others: Vec<Output>,
    pub ended: Option<bool>,
}

impl Client {
    pub fn connect_with(config: SessionConfig, target: &str) -> Client {
        let config = Arc::new(config);
        let session = Session::new(config, target, Micros(0));
        let mut client = Client {
            session,
            now: Micros(0),
            frames: vec![],
            closes: vec![],
            wakes: vec![],
            others: vec![],
            ended: None,
        };
        client.drain();
        client
    }

    pub fn connect() -> Client {
        Client::connect_with(config(), "/?v=10&encoding=json")
    }

    pub fn drain(&mut self) {
        while let Some(output) = self.session.poll() {
            match output {
                Output::Send(frame) => self.frames.push(frame),
                Output::Close { code, reason } => self.closes.push((code.code(), reason)),
                Output::WakeAt(at) => self.wakes.push(at),
                Output::SessionEnded { resumable } => {
                    assert!(self.ended.is_none(), "SessionEnded twice");
                    self.ended = Some(resumable);
                }
                other => self.others.push(other),
            }
        }
    }

    pub fn at_ms(&mut self, ms: u64) -> &mut Client {
        self.now = Micros(ms * MS);
        self
    }

    pub fn input(&mut self, input: Input<'_>) -> &mut Client {
        self.session.handle(self.now, input);
        self.drain();
        self
    }

    /// Ticks one millisecond before `ms` (nothing may close then) and at `ms`: a deadline
    /// falls exactly there; the caller asserts what the second tick did.
    pub fn tick_to_deadline(&mut self, ms: u64) -> &mut Client {
        self.at_ms(ms - 1).input(Input::Tick);
        assert!(
            self.closes.is_empty(),
            "closed before {ms} ms: {:?}",
            self.closes
        );
        self.at_ms(ms).input(Input::Tick)
    }

    pub fn send(&mut self, payload: &str) -> &mut Client {
        self.input(Input::Message(payload.as_bytes()))
    }

    /// Plain-text frames as JSON, taking them out.
    pub fn take_json(&mut self) -> Vec<Value> {
        self.frames
            .drain(..)
            .map(|f| {
                assert!(!f.binary);
                serde_json::from_slice(&f.bytes.to_vec()).unwrap()
            })
            .collect()
    }

    pub fn close_code(&self) -> Option<u16> {
        self.closes.last().map(|c| c.0)
    }

    pub fn take_others(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.others)
    }

    pub fn identify_with(&mut self, identify_d: Value, identity: Identity) {
        self.send(&json!({"op": 2, "d": identify_d}).to_string());
        let auth = self.take_others();
        assert!(
            matches!(auth.as_slice(), [Output::Authenticate(_)]),
            "{auth:?}"
        );
        self.input(Input::Identified(Box::new(identity)));
        let ready = self.take_others();
        assert!(matches!(ready.as_slice(), [Output::Ready(_)]), "{ready:?}");
    }

    pub fn identify(&mut self) -> Vec<Value> {
        self.take_json();
        self.identify_with(identify_d(513), identity(vec![1 << 22, 2 << 22]));
        self.take_json()
    }
}

pub fn identify_d(intents: u64) -> Value {
    json!({"token": "tok", "properties": {"os": "linux"}, "intents": intents})
}

pub fn identity(guild_ids: Vec<u64>) -> Identity {
    Identity {
        user_id: 5,
        user_json: USER.into(),
        application_id: 5,
        application_flags: 0,
        privileged_intents_granted: Intents::empty(),
        guild_ids,
        session_nonce: 0xabc,
    }
}

pub fn event(name: &str, n: u64) -> Arc<Dispatch> {
    Dispatch::new(
        name,
        format!(r#"{{"n":{n}}}"#).into_bytes(),
        DispatchScope::Guild(1 << 22),
        Intents::GUILD_MESSAGES,
    )
}

pub fn seqs(frames: &[Value]) -> Vec<u64> {
    frames.iter().map(|f| f["s"].as_u64().unwrap()).collect()
}
