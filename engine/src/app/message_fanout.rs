//! Message events on every core: each durable message change (and typing) arrives once
//! per core as a `MessageEvent` mesh message and is handed to each local session that
//! may see it.
//!
//! Why its own file: this is the hot path of fan-out. A run of events about one channel
//! (`route_mesh_batch` groups them, and `fanout_hold.rs` says how long a run may gather
//! while the core is behind its sockets) is serialised at most twice per core — with and
//! without content, for sessions without MESSAGE_CONTENT — and each session gets the
//! whole run in a row, so its state, replay ring and outbound queue are fetched into the
//! CPU's cache once per run, not once per event. Detached sessions keep the same
//! dispatches in their replay rings.

use crate::world::attachment_url::UrlSigning;
use std::sync::Arc;

use super::{FluxApp, FluxMesh};
use crate::gateway::{Dispatch, DispatchRun, DispatchScope, Intents};
use crate::reactor::Outbox;
use crate::world::message::{write_message_json, Emoji, Message, MessageJsonContext};
use crate::world::message_ops::{MessageEvent, ReactionChange};
use crate::world::{UserId, UserLookup};

impl FluxApp {
    /// On every core: hand durable changes to each local session that may see them.
    /// `events` are consecutive mesh messages about one channel (`route_mesh_batch`
    /// groups them, `fanout_hold.rs`); each session gets all of them in a row, so its state, replay ring and
    /// outbound queue are fetched into the CPU's cache once per run, not once per event.
    /// Each `d` is serialised at most twice per core (with and without content); sessions
    /// get the variant `message_content_visible` picks for them.
    pub(super) fn deliver_events(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        events: &[Arc<MessageEvent>],
    ) {
        let Some(first) = events.first() else {
            return;
        };
        let channel_id = first.channel_id();
        assert!(
            events.iter().all(|event| event.channel_id() == channel_id),
            "a run of message events is about one channel"
        );
        let Some(channel) = self.channels.channel(channel_id.0) else {
            return;
        };
        let guild_id = channel.guild_id;
        let dm = channel.dm_owner.is_some();
        let viewers = Arc::clone(&channel.viewers);
        let replica = self.guilds.guild(guild_id).cloned();
        let guild = replica.as_deref();
        let encoded: Vec<EncodedEvent<'_>> = events
            .iter()
            .map(|event| self.encode_event(event, guild, guild_id, dm))
            .collect();
        let directory = &self.directory;
        let signing = self.attachments.signing(super::answers::unix_ms());
        let redact = |name: &str, message: &Message| {
            encode_message_dispatch(directory, signing, guild, name, message, dm, guild_id)
        };
        let now = self.now(out);
        let mut conns = std::mem::take(&mut self.fanout_conns);
        conns.clear();
        let mut to_pump = Vec::new();
        let mut runs: Vec<(u64, Option<DispatchRun>)> = Vec::new();
        conns.extend(self.subscribers.conns(guild_id));
        for &conn in &conns {
            let Some(gateway) = self.conns.get_mut(&conn) else {
                continue;
            };
            let session = &mut gateway.session;
            let (Some(user_id), Some(intents)) = (session.user_id(), session.intents()) else {
                continue;
            };
            if !viewers.contains(&UserId(user_id)) {
                continue;
            }
            // The run as this session sees it (which events without content), framed once
            // per distinct view; queued whole when the session takes the fast path.
            if let Some(view) = run_view(&encoded, user_id, intents, &redact) {
                let at = match runs.iter().position(|(seen, _)| *seen == view) {
                    Some(at) => at,
                    None => {
                        let events = encoded
                            .iter()
                            .map(|event| Arc::clone(event.pick(user_id, intents, &redact)))
                            .collect();
                        runs.push((view, DispatchRun::new(events)));
                        runs.len() - 1
                    }
                };
                if let Some(run) = &runs[at].1 {
                    if let Some((first, frames)) = session.dispatch_run(run) {
                        out.send_run(conn, Arc::clone(frames), first);
                        continue;
                    }
                }
            }
            let mut pump = false;
            for event in &encoded {
                let dispatch = event.pick(user_id, intents, &redact);
                match session.dispatch(now, dispatch) {
                    Some(frame) => super::gateway::send_frame(out, conn, frame),
                    // Queued inside the session (window full, or it is closing): the
                    // pump below takes it out, in order, after the rest of the run.
                    None => pump = true,
                }
            }
            if pump {
                to_pump.push(conn);
            }
        }
        self.fanout_conns = conns;
        for parked in self.detached.values_mut() {
            if !parked.guild_ids.contains(&guild_id)
                || !viewers.contains(&UserId(parked.state.user_id()))
            {
                continue;
            }
            let (user_id, intents) = (parked.state.user_id(), parked.state.intents());
            for event in &encoded {
                parked
                    .state
                    .handle_dispatch(event.pick(user_id, intents, &redact));
            }
        }
        for conn in to_pump {
            self.pump(out, conn);
        }
    }

    /// The dispatch for `event` in channel `guild_id` (a DM channel's own id when `dm`;
    /// `guild` is this core's replica of it), serialised once for every session of this
    /// core.
    fn encode_event<'a>(
        &self,
        event: &'a MessageEvent,
        guild: Option<&crate::world::Guild>,
        guild_id: u64,
        dm: bool,
    ) -> EncodedEvent<'a> {
        let (scope, message_intents) = message_dispatch_target(guild_id, dm);
        let signing = self.attachments.signing(super::answers::unix_ms());
        let encode_message = |name: &str, message: &Message| {
            encode_message_dispatch(&self.directory, signing, guild, name, message, dm, guild_id)
        };
        let (full, message) = match event {
            MessageEvent::Create(message) => (
                encode_message("MESSAGE_CREATE", message),
                Some(("MESSAGE_CREATE", message)),
            ),
            MessageEvent::Update(message) => (
                encode_message("MESSAGE_UPDATE", message),
                Some(("MESSAGE_UPDATE", message)),
            ),
            MessageEvent::Delete {
                channel_id,
                message_id,
                ..
            } => {
                let mut d = serde_json::json!({
                    "id": message_id.to_string(),
                    "channel_id": channel_id.to_string(),
                    "guild_id": guild_id.to_string(),
                });
                if dm {
                    strip_guild_fields(&mut d);
                }
                let dispatch = Dispatch::new(
                    "MESSAGE_DELETE",
                    crate::world::encode(&d),
                    scope,
                    message_intents,
                );
                (dispatch, None)
            }
            MessageEvent::DeleteBulk {
                channel_id,
                message_ids,
                ..
            } => {
                let d = serde_json::json!({
                    "ids": message_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "channel_id": channel_id.to_string(),
                    "guild_id": guild_id.to_string(),
                });
                let dispatch = Dispatch::new(
                    "MESSAGE_DELETE_BULK",
                    crate::world::encode(&d),
                    scope,
                    message_intents,
                );
                (dispatch, None)
            }
            MessageEvent::Reaction { .. }
            | MessageEvent::Typing { .. }
            | MessageEvent::PinsUpdate { .. } => {
                let member = |user_id: UserId| {
                    guild
                        .and_then(|guild| guild.member(user_id))
                        .and_then(|member| {
                            let user = self.directory.user(member.user_id)?;
                            Some(crate::world::member_json(member, user))
                        })
                        .unwrap_or(serde_json::Value::Null)
                };
                let (name, mut d, mut intents) = other_event_json(event, guild_id, member);
                if dm {
                    strip_guild_fields(&mut d);
                    intents = dm_intents(intents);
                }
                let dispatch = Dispatch::new(name, crate::world::encode(&d), scope, intents);
                (dispatch, None)
            }
        };
        EncodedEvent {
            full,
            message,
            redacted: std::cell::OnceCell::new(),
        }
    }
}

/// One message event as this core's sessions get it: the full dispatch, and (built only if
/// a viewer lacks MESSAGE_CONTENT, and then once) the one without content.
struct EncodedEvent<'a> {
    full: Arc<Dispatch>,
    /// The message and its event name, for events that carry content.
    message: Option<(&'static str, &'a Message)>,
    redacted: std::cell::OnceCell<Arc<Dispatch>>,
}

impl EncodedEvent<'_> {
    /// The variant `user_id`, with `intents`, may see; `redact` builds the one without
    /// content.
    fn pick(
        &self,
        user_id: u64,
        intents: Intents,
        redact: &impl Fn(&str, &Message) -> Arc<Dispatch>,
    ) -> &Arc<Dispatch> {
        let Some((name, message)) = self.message else {
            return &self.full;
        };
        if message.content_visible_to(UserId(user_id), intents.contains(Intents::MESSAGE_CONTENT)) {
            return &self.full;
        }
        self.redacted
            .get_or_init(|| redact(name, &message.without_content()))
    }
}

/// Which events of a run `user_id` (with `intents`) gets without their content, as bits;
/// `None` for a run longer than 64 events (then it goes event by event).
fn run_view(
    encoded: &[EncodedEvent<'_>],
    user_id: u64,
    intents: Intents,
    redact: &impl Fn(&str, &Message) -> Arc<Dispatch>,
) -> Option<u64> {
    if encoded.len() > 64 {
        return None;
    }
    Some(
        encoded
            .iter()
            .enumerate()
            .filter(|(_, event)| !Arc::ptr_eq(event.pick(user_id, intents, redact), &event.full))
            .fold(0, |view, (i, _)| view | 1 << i),
    )
}

/// Who a message event in channel `guild_id` goes to, and the intent it needs: a guild's
/// subscribers with GUILD_MESSAGES, or a DM's recipients with DIRECT_MESSAGES.
fn message_dispatch_target(guild_id: u64, dm: bool) -> (DispatchScope, Intents) {
    if dm {
        (DispatchScope::DirectMessage, Intents::DIRECT_MESSAGES)
    } else {
        (DispatchScope::Guild(guild_id), Intents::GUILD_MESSAGES)
    }
}

/// MESSAGE_CREATE or MESSAGE_UPDATE (`name`) for `message`, as every session of a core gets
/// it.
fn encode_message_dispatch(
    directory: &dyn UserLookup,
    signing: UrlSigning<'_>,
    guild: Option<&crate::world::Guild>,
    name: &str,
    message: &Message,
    dm: bool,
    guild_id: u64,
) -> Arc<Dispatch> {
    let (scope, message_intents) = message_dispatch_target(guild_id, dm);
    // discord.js finds a DM it has not cached by MESSAGE_CREATE's `channel_type`
    // (MessageCreate.js; without it no channel is made and the event is dropped), as
    // Discord sends it.
    let channel_type = if dm {
        Some(crate::world::dm::DM_CHANNEL_TYPE)
    } else {
        guild
            .and_then(|guild| guild.channel(message.channel_id))
            .map(|channel| channel.kind.discord_type())
    };
    let mut d = Vec::with_capacity(1024);
    write_message_json(
        message,
        &MessageJsonContext {
            users: directory,
            guild,
            viewer: None,
            referenced_message: None,
            thread: None,
            attachment_urls: Some(signing),
        },
        channel_type,
        &mut d,
    );
    Dispatch::new(name, d, scope, message_intents)
}

/// A DM event's `d` has no `guild_id` and no `member`.
fn strip_guild_fields(d: &mut serde_json::Value) {
    if let serde_json::Value::Object(fields) = d {
        fields.remove("guild_id");
        fields.remove("member");
    }
}

/// The DM intent that gates what `guild_intents` gates in a guild.
fn dm_intents(guild_intents: Intents) -> Intents {
    if guild_intents == Intents::GUILD_MESSAGE_REACTIONS {
        Intents::DIRECT_MESSAGE_REACTIONS
    } else if guild_intents == Intents::GUILD_MESSAGE_TYPING {
        Intents::DIRECT_MESSAGE_TYPING
    } else if guild_intents == Intents::GUILD_MESSAGES || guild_intents == Intents::GUILDS {
        Intents::DIRECT_MESSAGES
    } else {
        guild_intents
    }
}

fn emoji_json(emoji: &Emoji) -> serde_json::Value {
    match emoji.id {
        Some(id) => serde_json::json!({
            "id": id.to_string(),
            "name": emoji.name,
            "animated": emoji.animated,
        }),
        None => serde_json::json!({ "id": null, "name": emoji.name }),
    }
}

/// The name, `d` and gating intent of a reaction, typing or pins event (CLIENTS.md §1.6).
/// `member`: a guild member's JSON (with `user`, `roles`, `flags`), or null.
fn other_event_json(
    event: &MessageEvent,
    guild_id: u64,
    member: impl Fn(UserId) -> serde_json::Value,
) -> (&'static str, serde_json::Value, Intents) {
    use serde_json::json;
    let guild = guild_id.to_string();
    match event {
        MessageEvent::Reaction {
            channel_id,
            message_id,
            change,
            ..
        } => {
            let (channel, message) = (channel_id.to_string(), message_id.to_string());
            let (name, d) = match change {
                ReactionChange::Add {
                    user_id,
                    emoji,
                    author,
                } => (
                    "MESSAGE_REACTION_ADD",
                    json!({
                        "user_id": user_id.to_string(),
                        "channel_id": channel,
                        "message_id": message,
                        "guild_id": guild,
                        "member": member(*user_id),
                        "emoji": emoji_json(emoji),
                        "message_author_id": author.to_string(),
                        "burst": false,
                        "burst_colors": [],
                        "type": 0,
                    }),
                ),
                ReactionChange::Remove { user_id, emoji } => (
                    "MESSAGE_REACTION_REMOVE",
                    json!({
                        "user_id": user_id.to_string(),
                        "channel_id": channel,
                        "message_id": message,
                        "guild_id": guild,
                        "emoji": emoji_json(emoji),
                        "burst": false,
                        "type": 0,
                    }),
                ),
                ReactionChange::RemoveAll => (
                    "MESSAGE_REACTION_REMOVE_ALL",
                    json!({ "channel_id": channel, "message_id": message, "guild_id": guild }),
                ),
                ReactionChange::RemoveEmoji(emoji) => (
                    "MESSAGE_REACTION_REMOVE_EMOJI",
                    json!({
                        "channel_id": channel,
                        "message_id": message,
                        "guild_id": guild,
                        "emoji": emoji_json(emoji),
                    }),
                ),
            };
            (name, d, Intents::GUILD_MESSAGE_REACTIONS)
        }
        MessageEvent::Typing {
            channel_id,
            user_id,
            timestamp_s,
            ..
        } => (
            "TYPING_START",
            json!({
                "channel_id": channel_id.to_string(),
                "guild_id": guild,
                "user_id": user_id.to_string(),
                "timestamp": timestamp_s,
                "member": member(*user_id),
            }),
            Intents::GUILD_MESSAGE_TYPING,
        ),
        MessageEvent::PinsUpdate {
            channel_id,
            last_pin_unix_ms,
            ..
        } => (
            "CHANNEL_PINS_UPDATE",
            json!({
                "guild_id": guild,
                "channel_id": channel_id.to_string(),
                "last_pin_timestamp": last_pin_unix_ms.map(crate::world::iso8601_from_unix_ms),
            }),
            Intents::GUILDS,
        ),
        MessageEvent::Create(_)
        | MessageEvent::Update(_)
        | MessageEvent::Delete { .. }
        | MessageEvent::DeleteBulk { .. } => {
            unreachable!("message events are encoded by deliver_events")
        }
    }
}
