//! Direct-message channels on the cores: `POST /users/@me/channels` (open or find the
//! DM with a user), `GET /users/@me/channels`, and the replicas every core keeps.
//!
//! A DM is owned by its pair core (`world::dm`): the receiving core answers at once
//! when its replica already knows the pair (the common case, and idempotent as on
//! Discord); otherwise it forwards a `DmCall` to the pair core, which checks again,
//! takes a Snowflake, stores the channel (`dm.{id}` in its lsm store, durable before the
//! answer), then sends `DmSync` to every core and answers once every core acknowledged
//! it (`held_answers.rs`: the first message may come on any core). While the new DM is
//! in flight a second call for the pair waits for the same write and gets the same
//! channel; a failed write forgets it (`writes.rs`). Each core indexes the
//! DM for the message path (`ChannelIndex::index_dm`: a guild of two whose id is the
//! channel's) and subscribes its recipients' live and detached sessions to it, so
//! MESSAGE_CREATE and friends reach them with the DIRECT_MESSAGES intents.

use std::collections::HashMap;
use std::sync::Arc;

use super::answers::{error_response, json_response, unix_ms};
use super::commit::{Answer, WriteId, STORE_POLL_FALLBACK};
use super::mesh::{Call, Caller};
use super::writes::Change;
use super::{FluxApp, FluxMesh};
use crate::http::HeaderName;
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::ratelimit::classify;
use crate::rest::Method;
use crate::world::dm::{dm_channel_json, DmChannel};
use crate::world::encode;
use crate::world::Refusal;
use crate::world::{ChannelId, UserId, UserLookup, World};

/// Every DM channel, on every core.
#[derive(Debug, Default)]
pub(super) struct DmState {
    by_pair: HashMap<(u64, u64), Arc<DmChannel>>,
    by_user: HashMap<u64, Vec<Arc<DmChannel>>>,
    /// On a pair core: new DMs whose write is in flight, by pair.
    opening: HashMap<(u64, u64), (WriteId, Arc<DmChannel>)>,
}

impl DmState {
    /// The DMs of `world` (as loaded at start).
    pub(super) fn from_world(world: &World) -> DmState {
        let mut state = DmState::default();
        for channel in &world.dm_channels {
            state.insert(Arc::new(channel.clone()));
        }
        state
    }

    fn insert(&mut self, channel: Arc<DmChannel>) -> bool {
        if self.by_pair.contains_key(&channel.key()) {
            return false;
        }
        let mut users = channel.recipients.map(|user| user.0).to_vec();
        users.dedup();
        for user in users {
            self.by_user
                .entry(user)
                .or_default()
                .push(Arc::clone(&channel));
        }
        self.by_pair.insert(channel.key(), channel);
        true
    }

    /// A new DM's write failed: the pair has no DM after all.
    pub(super) fn write_failed(&mut self, channel: &DmChannel) {
        self.opening.remove(&channel.key());
    }

    /// The DM channel ids of `user_id`.
    pub(super) fn channels_of(&self, user_id: u64) -> &[Arc<DmChannel>] {
        self.by_user.get(&user_id).map_or(&[], Vec::as_slice)
    }
}

/// `POST /users/@me/channels` on its way to the pair core.
#[derive(Debug)]
pub struct DmCall {
    pub(super) caller: Caller,
    recipient: UserId,
}

impl FluxApp {
    /// `GET` (the caller's DMs, from this core's replicas) or `POST /users/@me/channels`
    /// (found here when this core knows the pair, else metered and sent to the pair core).
    pub(super) fn receive_dm_request(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
        user_id: UserId,
        headers: Vec<(HeaderName, String)>,
    ) -> HttpAnswer {
        let answer =
            |status: u16, body: Vec<u8>| HttpAnswer::Respond(json_response(&headers, status, body));
        let fail = |error: Refusal| HttpAnswer::Respond(error_response(&headers, &error));
        let method = Method::parse(&request.method);
        if method == Method::Get {
            let channels: Vec<serde_json::Value> = self
                .dms
                .channels_of(user_id.0)
                .iter()
                .map(|channel| dm_channel_json(channel, user_id, None, &self.directory))
                .collect();
            return answer(200, encode(&channels.into()));
        }
        let recipient = match parse_create_dm(&request.body) {
            Ok(recipient) => recipient,
            Err(error) => return fail(error),
        };
        if self.directory.user(recipient).is_none() {
            return fail(Refusal::UnknownUser);
        }
        if let Some(channel) = self.dms.by_pair.get(&DmChannel::pair(user_id, recipient)) {
            let body = dm_channel_json(channel, user_id, None, &self.directory);
            return answer(200, encode(&body));
        }
        let call = DmCall {
            caller: Caller {
                user_id: user_id.0,
                reply_core: self.core,
                conn,
                headers,
            },
            recipient,
        };
        let route = classify(method, request.path());
        self.meter(out, super::mesh::Call::Dm(call), route)
    }

    /// Hands an admitted `POST /users/@me/channels` to the pair's core: inline when that
    /// is this core.
    pub(super) fn dm_call_to_pair_core(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: DmCall,
        in_http: bool,
    ) -> HttpAnswer {
        let pair_core =
            DmChannel::pair_core(UserId(call.caller.user_id), call.recipient, self.cores);
        if pair_core != self.core {
            out.send_mesh(pair_core, FluxMesh::Call(Box::new(Call::Dm(call))));
            return HttpAnswer::Later;
        }
        let reply = call.caller.reply();
        match self.run_dm_call(out, call) {
            Some(response) => self.answer(out, reply, response, in_http),
            None => HttpAnswer::Later,
        }
    }

    /// On the pair core: find or create the DM. An existing one is answered now; a new
    /// one (or one in flight) once durable (`None`).
    fn run_dm_call(&mut self, out: &mut Outbox<FluxMesh>, call: DmCall) -> Option<Response> {
        let pair = DmChannel::pair(UserId(call.caller.user_id), call.recipient);
        if let Some(channel) = self.dms.by_pair.get(&pair) {
            let body = dm_channel_json(channel, UserId(call.caller.user_id), None, &self.directory);
            return Some(json_response(&call.caller.headers, 200, encode(&body)));
        }
        if let Some((write, channel)) = self.dms.opening.get(&pair) {
            let body = dm_channel_json(channel, UserId(call.caller.user_id), None, &self.directory);
            let answer = Answer {
                reply_core: call.caller.reply_core,
                conn: call.caller.conn,
                response: json_response(&call.caller.headers, 200, encode(&body)),
            };
            let joined = self.commits.follow(*write, answer);
            assert!(joined, "an opening DM's write is queued");
            return None;
        }
        let id = match self.commits.next_id(unix_ms()) {
            Ok(id) => id,
            Err(error) => return Some(error_response(&call.caller.headers, &error)),
        };
        let channel = Arc::new(DmChannel::new(
            ChannelId(id),
            UserId(call.caller.user_id),
            call.recipient,
        ));
        let body = dm_channel_json(&channel, UserId(call.caller.user_id), None, &self.directory);
        let answer = Answer {
            reply_core: call.caller.reply_core,
            conn: call.caller.conn,
            response: json_response(&call.caller.headers, 200, encode(&body)),
        };
        let appended = self.commits.batch().and_then(|mut batch| {
            crate::world::persist::put_dm(&mut batch, &channel);
            let change = Change::Dm(Arc::clone(&channel));
            self.commits
                .append(&mut batch, change, answer)
                .map_err(|refused| refused.0)
        });
        match appended {
            Ok(write) => {
                self.dms.opening.insert(pair, (write, channel));
                out.wake_at(out.now() + STORE_POLL_FALLBACK);
                None
            }
            Err(error) => Some(error_response(&call.caller.headers, &error)),
        }
    }

    /// On the pair core: the DM is durable. The pair finds it here from now on; it goes
    /// to every core (itself too), and its answers once all have taken it
    /// (`held_answers.rs`).
    pub(super) fn dm_durable(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        channel: Arc<DmChannel>,
        answers: Vec<Answer>,
    ) {
        self.dms.opening.remove(&channel.key());
        self.dms.insert(Arc::clone(&channel));
        let ack = self.held.hold(self.cores, answers);
        for core in 0..self.cores {
            let channel = Arc::clone(&channel);
            let ack_core = self.core;
            out.send_mesh(
                core,
                FluxMesh::DmSync {
                    channel,
                    ack_core,
                    ack,
                },
            );
        }
    }

    /// On every core: a new DM exists. Index it and subscribe its recipients' sessions.
    pub(super) fn apply_dm_sync(&mut self, channel: &Arc<DmChannel>) {
        self.dms.insert(Arc::clone(channel));
        self.channels.index_dm(channel, self.cores);
        self.subscribe_users(channel.id.0, |user| channel.has(UserId(user)));
    }
}

/// `{"recipient_id": snowflake}` (string or number); group DMs (`recipients`,
/// `access_tokens`) are for OAuth2 user flows Flux does not have.
fn parse_create_dm(body: &[u8]) -> Result<UserId, Refusal> {
    let object = crate::rest::parse_object(body)?;
    let invalid = || Refusal::InvalidFormBody {
        field: "recipient_id",
        code: "NUMBER_TYPE_COERCE",
        message: "Value is not snowflake.".into(),
    };
    let id = match object.get("recipient_id") {
        Some(serde_json::Value::String(text)) => text.parse::<u64>().map_err(|_| invalid())?,
        Some(serde_json::Value::Number(number)) => number.as_u64().ok_or_else(invalid)?,
        None => {
            return Err(Refusal::InvalidFormBody {
                field: "recipient_id",
                code: "BASE_TYPE_REQUIRED",
                message: "This field is required".into(),
            })
        }
        Some(_) => return Err(invalid()),
    };
    Ok(UserId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_dm_bodies_parse_or_fail_with_discord_errors() {
        assert_eq!(parse_create_dm(br#"{"recipient_id":"42"}"#), Ok(UserId(42)));
        assert_eq!(parse_create_dm(br#"{"recipient_id":42}"#), Ok(UserId(42)));
        for bad in [
            &br#"{"recipient_id":"x"}"#[..],
            br#"{"recipient_id":-1}"#,
            b"{}",
            b"[]",
        ] {
            let error = parse_create_dm(bad).unwrap_err();
            assert!(matches!(
                error,
                Refusal::InvalidFormBody { .. } | Refusal::InvalidForm(_) | Refusal::InvalidJson
            ));
        }
        assert_eq!(parse_create_dm(b"nope"), Err(Refusal::InvalidJson));
    }
}
