//! The message rules against a reference model.
//!
//! Properties, over random sequences of requests by callers with different permissions:
//! - the rules agree with a reference written as plainly as possible (who may do what,
//!   and what the channel holds afterwards: messages, contents, reactions, pins);
//! - a refusal writes and announces nothing (`apply` returns no outcome), and a change
//!   that changes nothing writes and announces nothing;
//! - an outcome's writes and event are about the request's channel, and only typing
//!   announces without storing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proptest::prelude::*;

use super::*;
use crate::world::history::{HistoryError, HistoryQuery};
use crate::world::message::{Emoji, Message, MessageId};
use crate::world::permissions::{GuildSnapshot, Permissions};
use crate::world::{ChannelId, GuildId, User, UserId, UserLookup};

const CHANNEL: ChannelId = ChannelId(900);
const GUILD: u64 = 800;

/// The callers: a moderator, a member, a reader (history only), an outsider.
const ACTORS: [UserId; 4] = [UserId(1), UserId(2), UserId(3), UserId(4)];

fn permissions_of(actor: UserId) -> Permissions {
    let member = Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::ADD_REACTIONS;
    match actor.0 {
        1 => member | Permissions::MANAGE_MESSAGES | Permissions::ATTACH_FILES,
        2 => member,
        3 => Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY,
        _ => Permissions::NONE,
    }
}

struct Users(HashMap<UserId, User>);

impl UserLookup for Users {
    fn user(&self, id: UserId) -> Option<&User> {
        self.0.get(&id)
    }
}

fn users() -> Users {
    Users(
        ACTORS
            .iter()
            .map(|&id| {
                let user = User {
                    id,
                    username: format!("user{}", id.0),
                    global_name: None,
                    bot: false,
                    public_flags: 0,
                    mfa_enabled: false,
                };
                (id, user)
            })
            .collect(),
    )
}

/// The owner's store as the rules see it: what `StoreWrite`s left.
#[derive(Default)]
struct MemoryStore {
    messages: BTreeMap<MessageId, Message>,
    pins: Vec<Pin>,
}

impl MessageView for MemoryStore {
    fn message(&self, channel: ChannelId, id: MessageId) -> Result<Option<Message>, MessageError> {
        assert_eq!(channel, CHANNEL);
        Ok(self.messages.get(&id).cloned())
    }

    fn pins(&self, channel: ChannelId) -> Result<Vec<Pin>, MessageError> {
        assert_eq!(channel, CHANNEL);
        Ok(self.pins.clone())
    }

    fn history(
        &self,
        channel: ChannelId,
        query: &HistoryQuery,
    ) -> Result<Vec<Message>, MessageError> {
        assert_eq!(channel, CHANNEL);
        let valid = query.validate()?;
        Ok(self
            .messages
            .values()
            .rev()
            .take(valid.limit)
            .cloned()
            .collect())
    }
}

impl MemoryStore {
    fn write(&mut self, write: &StoreWrite) {
        match write {
            StoreWrite::Put(message) => {
                assert_eq!(message.channel_id, CHANNEL);
                self.messages.insert(message.id, message.clone());
            }
            StoreWrite::Delete(channel, id) => {
                assert_eq!(*channel, CHANNEL);
                self.messages.remove(id);
            }
            StoreWrite::Pins(channel, pins) => {
                assert_eq!(*channel, CHANNEL);
                self.pins = pins.clone();
            }
        }
    }
}

/// A message as the reference sees it: (author, content, reactions: emoji → users,
/// pinned).
type ModelMessage = (u64, String, BTreeMap<String, BTreeSet<u64>>, bool);

/// The reference: the channel as plain sets, and the rules as plain conditions.
#[derive(Default, Debug, PartialEq)]
struct Model {
    /// id → message
    messages: BTreeMap<u64, ModelMessage>,
    /// pinned ids, newest first
    pins: Vec<u64>,
}

#[derive(Debug, Clone)]
enum Step {
    Create(String),
    Edit(usize, String),
    Delete(usize),
    React(usize, u8),
    Unreact(usize, u8),
    UnreactOther(usize, u8, usize),
    ClearReactions(usize),
    Pin(usize),
    Unpin(usize),
    BulkDelete(Vec<usize>),
    Get(usize),
    Typing,
}

fn step() -> impl Strategy<Value = Step> {
    let text = prop_oneof![Just(String::new()), "[a-z]{1,6}"];
    prop_oneof![
        3 => text.clone().prop_map(Step::Create),
        1 => (0..6usize, text).prop_map(|(m, t)| Step::Edit(m, t)),
        1 => (0..6usize).prop_map(Step::Delete),
        2 => (0..6usize, 0..3u8).prop_map(|(m, e)| Step::React(m, e)),
        1 => (0..6usize, 0..3u8).prop_map(|(m, e)| Step::Unreact(m, e)),
        1 => (0..6usize, 0..3u8, 0..4usize).prop_map(|(m, e, u)| Step::UnreactOther(m, e, u)),
        1 => (0..6usize).prop_map(Step::ClearReactions),
        1 => (0..6usize).prop_map(Step::Pin),
        1 => (0..6usize).prop_map(Step::Unpin),
        1 => prop::collection::vec(0..6usize, 1..4).prop_map(Step::BulkDelete),
        1 => (0..6usize).prop_map(Step::Get),
        1 => Just(Step::Typing),
    ]
}

fn emoji(n: u8) -> Emoji {
    Emoji {
        id: None,
        name: ["👍", "🎉", "x"][usize::from(n)].to_string(),
        animated: false,
    }
}

/// Message ids 1000.. in creation order; index `i` names the `i`-th id ever created
/// (deleted or not), or one that never existed.
fn id_of(index: usize) -> MessageId {
    MessageId(1000 + index as u64)
}

fn request_of(step: &Step, next_id: u64) -> MessageRequest {
    match step.clone() {
        Step::Create(content) => MessageRequest::Create(NewMessage {
            id: MessageId(next_id),
            content,
            tts: false,
            embeds: Vec::new(),
            nonce: None,
            attachments: Vec::new(),
        }),
        Step::Edit(m, content) => MessageRequest::Edit(
            id_of(m),
            MessageEdit {
                content: Some(content),
                embeds: None,
            },
        ),
        Step::Delete(m) => MessageRequest::Delete(id_of(m)),
        Step::React(m, e) => MessageRequest::AddReaction(id_of(m), emoji(e)),
        Step::Unreact(m, e) => MessageRequest::RemoveReaction(id_of(m), emoji(e), None),
        Step::UnreactOther(m, e, u) => {
            MessageRequest::RemoveReaction(id_of(m), emoji(e), Some(ACTORS[u]))
        }
        Step::ClearReactions(m) => MessageRequest::RemoveAllReactions(id_of(m)),
        Step::Pin(m) => MessageRequest::Pin(id_of(m)),
        Step::Unpin(m) => MessageRequest::Unpin(id_of(m)),
        Step::BulkDelete(ms) => MessageRequest::BulkDelete(ms.into_iter().map(id_of).collect()),
        Step::Get(m) => MessageRequest::Get(id_of(m)),
        Step::Typing => MessageRequest::Typing,
    }
}

impl Model {
    /// The reference rules: `Ok(changed)` or the refusal.
    fn apply(&mut self, actor: UserId, step: &Step, next_id: u64) -> Result<bool, MessageError> {
        let p = permissions_of(actor);
        let has = |bit: Permissions| p.contains(bit);
        if !has(Permissions::VIEW_CHANNEL) {
            return Err(MessageError::MissingAccess);
        }
        let deny = Err(MessageError::MissingPermissions);
        let unknown = Err(MessageError::UnknownMessage);
        let me = actor.0;
        match step {
            Step::Create(content) => {
                if !has(Permissions::SEND_MESSAGES) {
                    return deny;
                }
                if content.is_empty() {
                    return Err(MessageError::EmptyMessage);
                }
                let entry = (me, content.clone(), BTreeMap::new(), false);
                self.messages.insert(next_id, entry);
                Ok(true)
            }
            Step::Edit(m, content) => {
                let Some(message) = self.messages.get_mut(&id_of(*m).0) else {
                    return unknown;
                };
                if message.0 != me {
                    return Err(MessageError::NotAuthor);
                }
                if content.is_empty() {
                    return Err(MessageError::EmptyMessage);
                }
                message.1 = content.clone();
                Ok(true)
            }
            Step::Delete(m) => {
                let Some(message) = self.messages.get(&id_of(*m).0) else {
                    return unknown;
                };
                if message.0 != me && !has(Permissions::MANAGE_MESSAGES) {
                    return deny;
                }
                self.messages.remove(&id_of(*m).0);
                Ok(true)
            }
            Step::React(m, e) => {
                if !has(Permissions::READ_MESSAGE_HISTORY) {
                    return deny;
                }
                let Some(message) = self.messages.get_mut(&id_of(*m).0) else {
                    return unknown;
                };
                let name = emoji(*e).name;
                if !message.2.contains_key(&name) && !has(Permissions::ADD_REACTIONS) {
                    return deny;
                }
                Ok(message.2.entry(name).or_default().insert(me))
            }
            Step::Unreact(m, e) | Step::UnreactOther(m, e, _) => {
                let target = match step {
                    Step::UnreactOther(_, _, u) => ACTORS[*u].0,
                    _ => me,
                };
                if target != me && !has(Permissions::MANAGE_MESSAGES) {
                    return deny;
                }
                let Some(message) = self.messages.get_mut(&id_of(*m).0) else {
                    return unknown;
                };
                let name = emoji(*e).name;
                let removed = message
                    .2
                    .get_mut(&name)
                    .is_some_and(|users| users.remove(&target));
                if message.2.get(&name).is_some_and(BTreeSet::is_empty) {
                    message.2.remove(&name);
                }
                Ok(removed)
            }
            Step::ClearReactions(m) => {
                if !has(Permissions::MANAGE_MESSAGES) {
                    return deny;
                }
                let Some(message) = self.messages.get_mut(&id_of(*m).0) else {
                    return unknown;
                };
                let changed = !message.2.is_empty();
                message.2.clear();
                Ok(changed)
            }
            Step::Pin(m) | Step::Unpin(m) => {
                let pin = matches!(step, Step::Pin(_));
                if !has(Permissions::MANAGE_MESSAGES) {
                    return deny;
                }
                let id = id_of(*m).0;
                let Some(message) = self.messages.get_mut(&id) else {
                    return unknown;
                };
                if message.3 == pin {
                    return Ok(false);
                }
                message.3 = pin;
                self.pins.retain(|p| *p != id);
                if pin {
                    self.pins.insert(0, id);
                }
                Ok(true)
            }
            Step::BulkDelete(ms) => {
                if !has(Permissions::MANAGE_MESSAGES) {
                    return deny;
                }
                let mut changed = false;
                for m in ms {
                    changed |= self.messages.remove(&id_of(*m).0).is_some();
                }
                Ok(changed)
            }
            Step::Get(m) => {
                if !has(Permissions::READ_MESSAGE_HISTORY) {
                    return deny;
                }
                if !self.messages.contains_key(&id_of(*m).0) {
                    return unknown;
                }
                Ok(false)
            }
            Step::Typing => {
                if !has(Permissions::SEND_MESSAGES) {
                    return deny;
                }
                Ok(false)
            }
        }
    }
}

/// The store as the reference sees it.
fn seen(store: &MemoryStore) -> Model {
    let messages = store
        .messages
        .values()
        .map(|m| {
            let reactions = m
                .reactions
                .iter()
                .map(|r| {
                    (
                        r.emoji.name.clone(),
                        r.user_ids.iter().map(|u| u.0).collect(),
                    )
                })
                .collect();
            (
                m.id.0,
                (m.author.id.0, m.content.clone(), reactions, m.pinned),
            )
        })
        .collect();
    Model {
        messages,
        pins: store.pins.iter().map(|(id, _)| id.0).collect(),
    }
}

fn snapshot() -> GuildSnapshot {
    GuildSnapshot {
        guild_id: GuildId(GUILD),
        owner_id: UserId(0),
        roles: HashMap::new(),
        members: Vec::new(),
    }
}

proptest! {
    #[test]
    fn the_rules_agree_with_the_reference(
        steps in prop::collection::vec((0..4usize, step()), 1..40)
    ) {
        let (users, guild) = (users(), snapshot());
        let mut store = MemoryStore::default();
        let mut model = Model::default();
        let mut next_id = 1000;
        for (step_index, (actor, step)) in steps.iter().enumerate() {
            let actor = ACTORS[*actor];
            let cx = MessageContext {
                actor,
                channel_id: CHANNEL,
                guild_id: GUILD,
                dm: false,
                dm_users_share_a_guild: true,
                permissions: permissions_of(actor),
                guild: &guild,
                users: &users,
                now_unix_ms: 1_700_000_000_000 + step_index as u64,
            };
            let request = request_of(step, next_id);
            let expected = model.apply(actor, step, next_id);
            let got = apply(&store, &cx, request);
            match (&expected, got) {
                (Err(want), Err(error)) => prop_assert_eq!(want, &error, "{:?}", step),
                (Ok(changed), Ok(outcome)) => {
                    prop_assert_eq!(*changed, !outcome.writes.is_empty(), "{:?}", step);
                    let typing = matches!(step, Step::Typing);
                    prop_assert_eq!(
                        outcome.event.is_some(),
                        *changed || typing,
                        "an event exactly for a change (or typing): {:?}", step
                    );
                    if let Some(event) = &outcome.event {
                        prop_assert_eq!(event.channel_id(), CHANNEL);
                    }
                    for write in &outcome.writes {
                        store.write(write);
                    }
                }
                (want, got) => prop_assert!(false, "{:?}: want {:?}, got {:?}", step, want, got),
            }
            if matches!(step, Step::Create(_)) && expected.is_ok() {
                next_id += 1;
            }
            prop_assert_eq!(&seen(&store), &model, "after {:?}", step);
        }
    }
}

#[test]
fn a_history_query_is_checked_even_without_read_message_history() {
    let (users, guild) = (users(), snapshot());
    let cx = MessageContext {
        actor: ACTORS[3],
        channel_id: CHANNEL,
        guild_id: GUILD,
        dm: false,
        dm_users_share_a_guild: true,
        permissions: Permissions::VIEW_CHANNEL,
        guild: &guild,
        users: &users,
        now_unix_ms: 0,
    };
    let bad = HistoryQuery {
        limit: Some(500),
        ..HistoryQuery::default()
    };
    let refused = apply(&MemoryStore::default(), &cx, MessageRequest::List(bad));
    assert!(matches!(
        refused,
        Err(MessageError::History(HistoryError::LimitOutOfRange { .. }))
    ));
    let fine = apply(
        &MemoryStore::default(),
        &cx,
        MessageRequest::List(HistoryQuery::default()),
    );
    assert_eq!(fine.unwrap().reply, Reply::Messages(Vec::new()));
}

#[test]
fn files_need_attach_files_and_tts_needs_send_tts_messages() {
    use crate::world::message::Attachment;
    let (users, guild) = (users(), snapshot());
    let member = ACTORS[1];
    let mut cx = MessageContext {
        actor: member,
        channel_id: CHANNEL,
        guild_id: GUILD,
        dm: false,
        dm_users_share_a_guild: true,
        permissions: permissions_of(member),
        guild: &guild,
        users: &users,
        now_unix_ms: 0,
    };
    let new = |attachments: Vec<Attachment>| NewMessage {
        id: MessageId(1),
        content: "hi".into(),
        tts: true,
        embeds: Vec::new(),
        nonce: None,
        attachments,
    };
    let file = Attachment {
        id: 5,
        filename: "a.txt".into(),
        size: 1,
        ..Attachment::default()
    };
    assert_eq!(may_create(&cx, true), Err(MessageError::MissingPermissions));
    assert_eq!(
        apply(
            &MemoryStore::default(),
            &cx,
            MessageRequest::Create(new(vec![file.clone()]))
        ),
        Err(MessageError::MissingPermissions)
    );
    let plain = apply(
        &MemoryStore::default(),
        &cx,
        MessageRequest::Create(new(Vec::new())),
    );
    let Reply::Message(message) = plain.unwrap().reply else {
        panic!("a message")
    };
    assert!(!message.tts, "tts is dropped without SEND_TTS_MESSAGES");
    cx.permissions |= Permissions::ATTACH_FILES | Permissions::SEND_TTS_MESSAGES;
    let with_file = apply(
        &MemoryStore::default(),
        &cx,
        MessageRequest::Create(new(vec![file])),
    );
    let Reply::Message(message) = with_file.unwrap().reply else {
        panic!("a message")
    };
    assert!(message.tts);
    assert_eq!(message.attachments.len(), 1);
}

#[test]
fn a_message_holds_at_most_twenty_distinct_emojis() {
    let (users, guild) = (users(), snapshot());
    let moderator = ACTORS[0];
    let cx = MessageContext {
        actor: moderator,
        channel_id: CHANNEL,
        guild_id: GUILD,
        dm: false,
        dm_users_share_a_guild: true,
        permissions: permissions_of(moderator),
        guild: &guild,
        users: &users,
        now_unix_ms: 0,
    };
    let mut store = MemoryStore::default();
    let created = apply(&store, &cx, request_of(&Step::Create("hi".into()), 1000)).unwrap();
    for write in &created.writes {
        store.write(write);
    }
    let custom = |n: u64| Emoji {
        id: Some(n),
        name: format!("e{n}"),
        animated: false,
    };
    for n in 0..REACTIONS_MAX as u64 {
        let out = apply(
            &store,
            &cx,
            MessageRequest::AddReaction(MessageId(1000), custom(n)),
        )
        .unwrap();
        for write in &out.writes {
            store.write(write);
        }
    }
    let refused = apply(
        &store,
        &cx,
        MessageRequest::AddReaction(MessageId(1000), custom(99)),
    );
    assert_eq!(refused, Err(MessageError::MaxReactions));
    // Joining an emoji already there is still fine.
    let member = ACTORS[1];
    let joined = apply(
        &store,
        &MessageContext {
            actor: member,
            permissions: permissions_of(member),
            ..cx
        },
        MessageRequest::AddReaction(MessageId(1000), custom(3)),
    );
    assert!(joined.unwrap().event.is_some());
}
