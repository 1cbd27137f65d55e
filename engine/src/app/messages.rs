//! The message routes on the cores: `POST/GET/PATCH/DELETE /channels/{id}/messages[/{id}]`,
//! reactions, typing, pins and bulk delete. The rules themselves are pure operations in
//! `world::message_ops`; this file moves a call to the channel's owner core, runs the
//! rule there against the owner's store, and commits what it decided.
//!
//! ```text
//! receiving core             caller's home core      owner core (the guild's, or the
//!                                                    DM's pair core)
//! route_rest: family, token
//! receive_message_request:
//!   owner (channel index) ── RateCheck ──► meter ── Call ──► owner_handle: typed request
//!                                                            (rest::messages), context
//!                                                            (permissions now),
//!                                                            message_ops::apply(OwnerView)
//!                                                            ─ writes ─► CommitQueue::append
//!                                                            … poll_store: durable ─►
//!   ◄───────────────────────── Answer (HTTP response) ────── message_durable
//!   Outbox::respond                                          └─ MessageEvent, once per core
//!                                                               ─► deliver_events
//! ```
//!
//! - Reads are answered from the durable store at once; typing is announced at once and
//!   never stored; a change is answered and announced only once durable
//!   (`writes.rs`). A change builds on the changes in flight before it
//!   (`message_state.rs`), so two reactions within one group commit both stay.
//! - A multipart create (`payload_json` + `files[n]`) stores its files durably
//!   (`attachments.rs`) after the rules allowed it and before the message that names them
//!   is appended.
//! - Rate limits: a call is counted on its user's home core (`metering.rs`), then goes to
//!   the owner. Answers decided on the receiving core before that (bad route, 401,
//!   unknown channel) are not counted.
//!
//! Known gaps (documented, not hidden):
//! - `GET …/messages/pins` ignores `before` / `limit` and answers every pin with
//!   `has_more: false` (at most 250 pins exist). A deleted message stays in its pin list
//!   and is skipped when listed. Custom emojis are not checked against the guild's emoji
//!   list (Flux has none): any well-formed `name:id` is accepted.

use std::sync::Arc;

use super::answers::{error_response, json_response, json_response_taking, unix_ms};
use super::commit::{Answer, STORE_POLL_FALLBACK};
use super::mesh::{Call, Caller};
use super::message_state::{InFlight, NonceClaim, NonceHit, NonceKey, OwnerView, Touched};
use super::writes::Change;
use super::{FluxApp, FluxMesh};
use crate::http::HeaderName;
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::messages::{message_request, parse_create_with_files, MessageRoute};
use crate::rest::ratelimit::classify;
use crate::rest::Method;
use crate::world::encode;
use crate::world::history;
use crate::world::message::{write_message_json, Message, MessageId, MessageJsonContext};
use crate::world::message_ops::{
    self, MessageContext, MessageEvent, MessageOutcome, MessageRequest, NewMessage, Reply,
    StoreWrite,
};
use crate::world::Refusal;
use crate::world::{UserId, UserLookup};

/// A request on its way to the channel's owner core.
#[derive(Debug)]
pub struct MessageCall {
    pub(super) caller: Caller,
    route: MessageRoute,
    query: String,
    body: Vec<u8>,
    /// The request's `Content-Type` (multipart bodies carry files).
    content_type: Option<String>,
}

/// A message write in the commit queue (`writes.rs`).
#[derive(Debug)]
pub(super) struct MessageWrite {
    /// What every core announces once it is durable.
    event: Arc<MessageEvent>,
    /// The messages and pin lists it wrote (`message_state.rs`).
    touched: Vec<Touched>,
    /// Its `enforce_nonce` claim, if any.
    nonce: Option<NonceClaim>,
    /// Attachment files no message names once it is durable (a deleted message's).
    unnamed_files: Vec<u64>,
}

/// The owner's message state (`message_state.rs`).
#[derive(Debug, Default)]
pub(super) struct MessageState {
    in_flight: InFlight,
    nonces: super::message_state::Nonces,
}

impl FluxApp {
    /// A message route from `user_id`: sent on to the channel's owner through the
    /// caller's home core, or refused here (unknown channel).
    pub(super) fn receive_message_request(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
        route: MessageRoute,
        user_id: u64,
        headers: Vec<(HeaderName, String)>,
    ) -> HttpAnswer {
        let route_class = classify(Method::parse(&request.method), request.path());
        let refuse = |error: Refusal| HttpAnswer::Respond(error_response(&headers, &error));
        let Some(owner) = self.channels.owner_of(route.channel_id().0, self.cores) else {
            return refuse(Refusal::UnknownChannel);
        };
        if owner != self.core {
            super::Metrics::bump(&self.shared.metrics.rest_message_forwarded_total);
        }
        let call = MessageCall {
            caller: Caller {
                user_id,
                reply_core: self.core,
                conn,
                headers,
            },
            route,
            query: request
                .target
                .split_once('?')
                .map_or("", |(_, q)| q)
                .to_string(),
            body: request.body.clone(),
            content_type: request.header_str("content-type").map(str::to_string),
        };
        self.meter(out, super::mesh::Call::Message(call), route_class)
    }

    /// Hands `call` to its channel's owner core: inline when that is this core.
    pub(super) fn message_call_to_owner(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: MessageCall,
        in_http: bool,
    ) -> HttpAnswer {
        let owner = self
            .channels
            .owner_of(call.route.channel_id().0, self.cores)
            .unwrap_or(self.core);
        if owner != self.core {
            out.send_mesh(owner, FluxMesh::Call(Box::new(Call::Message(call))));
            return HttpAnswer::Later;
        }
        let reply = call.caller.reply();
        match self.owner_handle(out, call) {
            Some(response) => self.answer(out, reply, response, in_http),
            None => HttpAnswer::Later,
        }
    }

    /// On the owner core: answers a read or a refusal now (`Some`), or appends a change
    /// and answers it once durable (`None`).
    fn owner_handle(&mut self, out: &mut Outbox<FluxMesh>, call: MessageCall) -> Option<Response> {
        let now_unix_ms = unix_ms();
        let decided = match call.route {
            MessageRoute::Create(_) => self.owner_create(&call, now_unix_ms),
            _ => message_request(&call.route, &call.query, &call.body, now_unix_ms)
                .and_then(|request| self.owner_apply(&call, request, now_unix_ms))
                .map(|outcome| (outcome, None))
                .map_err(Decided::from),
        };
        match decided {
            Ok((outcome, nonce)) => self.commit_outcome(out, call, outcome, nonce),
            Err(Decided::Answer(response)) => Some(response),
            Err(Decided::Later) => None,
            Err(Decided::Refused(error)) => Some(error_response(&call.caller.headers, &error)),
        }
    }

    /// Runs the rule of a non-create `request` against the owner's store: durable state
    /// for a read, the writes in flight on top for a change.
    fn owner_apply(
        &self,
        call: &MessageCall,
        request: MessageRequest,
        now_unix_ms: u64,
    ) -> Result<MessageOutcome, Refusal> {
        let store = self.commits.store()?;
        let cx = self.message_context(call, now_unix_ms)?;
        let in_flight = (!request.reads()).then_some(&self.message_state.in_flight);
        let view = OwnerView { store, in_flight };
        Ok(message_ops::apply(&view, &cx, request)?)
    }

    /// A create: the body (and files) parsed, the rules checked, an `enforce_nonce`
    /// repeat answered with its first message, the files stored, then the rule run.
    fn owner_create(
        &mut self,
        call: &MessageCall,
        now_unix_ms: u64,
    ) -> Result<(MessageOutcome, Option<NonceKey>), Decided> {
        let upload = super::attachments::parse_upload(call.content_type.as_deref(), &call.body)?;
        let create = parse_create_with_files(&upload.payload, upload.files.len())?;
        {
            let cx = self.message_context(call, now_unix_ms)?;
            message_ops::may_create(&cx, !upload.files.is_empty()).map_err(Refusal::from)?;
        }
        let nonce = match (create.enforce_nonce, &create.nonce) {
            (true, Some(nonce)) => Some(NonceKey::of(nonce)),
            _ => None,
        };
        if let Some(key) = &nonce {
            match self
                .message_state
                .nonces
                .find(call.caller.user_id, key, now_unix_ms)
            {
                Some(NonceHit::Durable(message)) => {
                    let body = self.message_json(call, &message);
                    return Err(Decided::Answer(json_response(
                        &call.caller.headers,
                        200,
                        body,
                    )));
                }
                Some(NonceHit::InFlight(write, message)) => {
                    let body = self.message_json(call, &message);
                    let answer = Answer {
                        reply_core: call.caller.reply_core,
                        conn: call.caller.conn,
                        response: json_response(&call.caller.headers, 200, body),
                    };
                    let joined = self.commits.follow(write, answer);
                    debug_assert!(joined, "an in-flight nonce's write is queued");
                    return Err(Decided::Later);
                }
                None => {}
            }
        }
        let channel_id = call.route.channel_id();
        let attachments =
            self.attachments
                .store(&upload, channel_id, self.commits.ids(), now_unix_ms)?;
        let id = self.commits.next_id(now_unix_ms)?;
        let new = NewMessage {
            id: MessageId(id),
            content: create.content,
            tts: create.tts,
            embeds: create.embeds,
            nonce: create.nonce,
            attachments,
        };
        let outcome = self.owner_apply(call, MessageRequest::Create(new), now_unix_ms)?;
        Ok((outcome, nonce))
    }

    /// The caller in the call's channel now (no permissions for a non-member).
    fn message_context(
        &self,
        call: &MessageCall,
        now_unix_ms: u64,
    ) -> Result<MessageContext<'_>, Refusal> {
        let channel_id = call.route.channel_id();
        let channel = self
            .channels
            .channel(channel_id.0)
            .ok_or(Refusal::UnknownChannel)?;
        let guild = self
            .channels
            .guild(channel.guild_id)
            .ok_or(Refusal::UnknownChannel)?;
        let actor = UserId(call.caller.user_id);
        let dm = channel.dm_owner.is_some();
        Ok(MessageContext {
            actor,
            channel_id,
            guild_id: channel.guild_id,
            dm,
            dm_users_share_a_guild: dm && self.users_share_a_guild(&channel.viewers),
            permissions: self
                .channels
                .permissions_of(channel_id.0, actor, now_unix_ms),
            guild,
            users: &self.directory,
            now_unix_ms,
        })
    }

    /// Whether the users of a DM (one, or two) have a guild in common.
    fn users_share_a_guild(&self, users: &crate::id_hash::IdHashSet<UserId>) -> bool {
        let mut users = users.iter();
        let (Some(first), second) = (users.next(), users.next()) else {
            return false;
        };
        let Some(second) = second else {
            return true; // a DM with oneself
        };
        self.guilds.share_a_guild(first.0, second.0)
    }

    /// Answers `outcome` now (a read, typing, a change that changes nothing) or appends
    /// its writes and answers once they are durable (`None`).
    fn commit_outcome(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: MessageCall,
        outcome: MessageOutcome,
        nonce: Option<NonceKey>,
    ) -> Option<Response> {
        let legacy_pins = matches!(call.route, MessageRoute::ListPins { legacy: true, .. });
        let (status, body) = self.render(&call, &outcome.reply, legacy_pins);
        let Caller {
            user_id,
            reply_core,
            conn,
            headers,
        } = call.caller;
        if outcome.writes.is_empty() {
            let response = json_response_taking(headers, status, body);
            if let Some(event) = outcome.event {
                // Typing: announced at once, never stored.
                let event = Arc::new(event);
                for core in 0..self.cores {
                    out.send_mesh(core, FluxMesh::MessageEvent(Arc::clone(&event)));
                }
            }
            return Some(response);
        }
        let nonce = nonce.map(|key| NonceClaim {
            user_id,
            key,
            message: match &outcome.reply {
                Reply::Message(message) => Arc::new(message.clone()),
                _ => unreachable!("a create replies with its message"),
            },
        });
        let mut batch = match self.commits.batch() {
            Ok(batch) => batch,
            Err(error) => return Some(error_response(&headers, &error)),
        };
        for write in &outcome.writes {
            match write {
                StoreWrite::Put(message) => history::put_message(&mut batch, message),
                StoreWrite::Delete(channel, id) => {
                    history::delete_message(&mut batch, *channel, *id)
                }
                StoreWrite::Pins(channel, pins) => history::put_pins(&mut batch, *channel, pins),
            }
        }
        let event = outcome.event.expect("a change announces itself");
        // A new message's id reaches nobody before its write is durable (the answer
        // carries it), so no later change can build on it: a create needs no entry among
        // the messages in flight, which spares the hot path a map insert and removal.
        let builds_on = !matches!(event, MessageEvent::Create(_));
        let touched = if builds_on {
            InFlight::touched(&outcome.writes)
        } else {
            Vec::new()
        };
        let change = MessageWrite {
            event: Arc::new(event),
            touched,
            nonce: nonce.clone(),
            unnamed_files: outcome.unnamed_files,
        };
        let answer = Answer {
            reply_core,
            conn,
            response: json_response_taking(headers, status, body),
        };
        match self
            .commits
            .append(&mut batch, Change::Message(change), answer)
        {
            Ok(write) => {
                if builds_on {
                    self.message_state.in_flight.record(outcome.writes);
                }
                if let Some(claim) = &nonce {
                    self.message_state.nonces.claim(claim, write);
                }
                out.wake_at(out.now() + STORE_POLL_FALLBACK);
                None
            }
            Err(refused) => Some(error_response(&refused.1.response.headers, &refused.0)),
        }
    }

    /// A message write is durable: remember its nonce, answer, announce on every core.
    pub(super) fn message_durable(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        change: MessageWrite,
        answers: Vec<Answer>,
    ) {
        self.message_state.in_flight.settled(&change.touched);
        if let Some(claim) = &change.nonce {
            self.message_state.nonces.durable(claim, unix_ms());
        }
        let channel_id = change.event.channel_id();
        for attachment_id in &change.unnamed_files {
            self.attachments.remove(channel_id, *attachment_id);
        }
        for answer in answers {
            self.send_answer(out, answer.reply_core, answer.conn, answer.response);
        }
        for core in 0..self.cores {
            out.send_mesh(core, FluxMesh::MessageEvent(Arc::clone(&change.event)));
        }
    }

    /// A message write failed: it leaves no trace.
    pub(super) fn message_failed(&mut self, change: &MessageWrite) {
        self.message_state.in_flight.settled(&change.touched);
        if let Some(claim) = &change.nonce {
            self.message_state.nonces.failed(claim);
        }
    }

    /// The HTTP status and body of `reply`, as the caller sees it.
    fn render(&self, call: &MessageCall, reply: &Reply, legacy_pins: bool) -> (u16, Vec<u8>) {
        match reply {
            Reply::Done => (204, Vec::new()),
            Reply::Message(message) => (200, self.message_json(call, message)),
            Reply::Messages(messages) => {
                let mut body = Vec::with_capacity(messages.len() * 512 + 2);
                body.push(b'[');
                for (index, message) in messages.iter().enumerate() {
                    if index > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(&self.message_json(call, message));
                }
                body.push(b']');
                (200, body)
            }
            Reply::Users(ids) => {
                let users: Vec<serde_json::Value> = ids
                    .iter()
                    .filter_map(|id| self.directory.user(*id))
                    .map(crate::world::user_json)
                    .collect();
                (200, encode(&serde_json::Value::from(users)))
            }
            Reply::Pins(pins) => {
                let items: Vec<serde_json::Value> = pins
                    .iter()
                    .map(|(message, pinned_at)| {
                        let value: serde_json::Value =
                            serde_json::from_slice(&self.message_json(call, message))
                                .expect("message_json is JSON");
                        if legacy_pins {
                            value
                        } else {
                            serde_json::json!({
                                "pinned_at": crate::world::iso8601_from_unix_ms(*pinned_at),
                                "message": value,
                            })
                        }
                    })
                    .collect();
                let body = if legacy_pins {
                    serde_json::Value::from(items)
                } else {
                    serde_json::json!({ "items": items, "has_more": false })
                };
                (200, encode(&body))
            }
        }
    }

    /// `message` as the caller sees it (its own reactions marked `me`).
    fn message_json(&self, call: &MessageCall, message: &Message) -> Vec<u8> {
        let guild = self
            .channels
            .channel(call.route.channel_id().0)
            .filter(|channel| channel.dm_owner.is_none())
            .and_then(|channel| self.guilds.guild(channel.guild_id))
            .map(|guild| &**guild);
        let mut bytes = Vec::with_capacity(1024);
        write_message_json(
            message,
            &MessageJsonContext {
                users: &self.directory,
                guild,
                viewer: Some(UserId(call.caller.user_id)),
                referenced_message: None,
                thread: None,
                attachment_urls: Some(self.attachments.signing(super::answers::unix_ms())),
            },
            None,
            &mut bytes,
        );
        bytes
    }
}

/// How a create ended before its outcome: answered now, joined to a write in flight, or
/// refused.
enum Decided {
    Answer(Response),
    Later,
    Refused(Refusal),
}

impl From<Refusal> for Decided {
    fn from(error: Refusal) -> Decided {
        Decided::Refused(error)
    }
}
