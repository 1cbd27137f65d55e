//! Message history over a real `lsm` store pages exactly as Discord clients expect, and the
//! message JSON parses as twilight-model's strict `Message`.
//!
//! 250 messages four hours apart (about 42 days, five 10-day buckets) in one channel, with
//! noise in the channels just below and above it (adjacent in key order), written through
//! `lsm::Options::tiny` so flushes and compactions run and pages cross memtable and tables.
//! Checked: discord.py's backwards paging (`before = last element`) and its
//! `oldest_first=True` paging (`after=0`, `data[0]` as the next `after`) each return every
//! message exactly once in order; `around`; deletes vanish; edits show; a reopened store
//! (and a fully compacted one) gives identical pages.

use engine::world::history::{
    delete_message, get_message, history, message_bucket, put_message, HistoryError, HistoryQuery,
};
use engine::world::message::{
    message_content_visible, message_json, Attachment, Author, Emoji, Message, MessageId,
    MessageJsonContext, MessageKind, Nonce,
};
use engine::world::{demo_world, ChannelId, GuildId, UserId, DISCORD_EPOCH_MS};
use lsm::{Options, Store};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const CHANNEL: ChannelId = ChannelId(1 << 40);
const GUILD: GuildId = GuildId(1 << 39);
const T0_UNIX_MS: u64 = 1_700_000_000_000;
const HOUR_MS: u64 = 3_600_000;
const COUNT: usize = 250;

fn temporary_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flux-messages-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(dir: &Path) -> Store {
    Store::open(dir, Options::tiny(message_bucket)).unwrap()
}

fn id_at(hours: u64, sequence: u64) -> MessageId {
    MessageId(((T0_UNIX_MS + hours * HOUR_MS - DISCORD_EPOCH_MS) << 22) | sequence)
}

fn author() -> Author {
    Author {
        id: UserId(42),
        username: "writer".into(),
        global_name: None,
        bot: true,
        public_flags: 0,
    }
}

fn message(channel_id: ChannelId, id: MessageId, content: String) -> Message {
    Message::new(id, channel_id, Some(GUILD), author(), content)
}

/// Appends `batch` and waits until it is durable, retrying after back-pressure.
fn commit(store: &mut Store, mut batch: lsm::Batch) {
    loop {
        match store.append(&mut batch) {
            Ok(ticket) => return store.wait_durable(ticket).unwrap(),
            Err(lsm::Error::Stall(_)) => store.wait_idle().unwrap(),
            Err(error) => panic!("append failed: {error}"),
        }
    }
}

/// Writes the 250 messages of `CHANNEL` (and noise around it) in batches of 10; returns
/// the channel's ids, oldest first.
fn populate(store: &mut Store) -> Vec<MessageId> {
    let mut ids = Vec::new();
    for chunk in (0..COUNT as u64).collect::<Vec<_>>().chunks(10) {
        let mut batch = store.batch();
        for &n in chunk {
            let id = id_at(n * 4, 0);
            put_message(&mut batch, &message(CHANNEL, id, format!("message {n}")));
            for (noise, sequence) in [(ChannelId(CHANNEL.0 - 1), 1), (ChannelId(CHANNEL.0 + 1), 2)]
            {
                let noise_id = id_at(n * 4 + 1, sequence);
                put_message(&mut batch, &message(noise, noise_id, format!("noise {n}")));
            }
            ids.push(id);
        }
        commit(store, batch);
    }
    let first = message_bucket(ids[0].0);
    let last = message_bucket(ids[COUNT - 1].0);
    assert!(last - first >= 3, "the messages span at least four buckets");
    ids
}

fn page(store: &Store, query: HistoryQuery) -> Vec<Message> {
    let page = history(store, CHANNEL, &query).unwrap();
    assert!(
        page.windows(2).all(|pair| pair[0].id > pair[1].id),
        "every page is newest first"
    );
    assert!(page.iter().all(|m| m.channel_id == CHANNEL));
    page
}

/// discord.py's `channel.history(limit=None)`: newest page first, then
/// `before = last element`, until a page has fewer than 100 messages.
fn page_backwards(store: &Store) -> Vec<Message> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let data = page(
            store,
            HistoryQuery {
                before,
                limit: Some(100),
                ..HistoryQuery::default()
            },
        );
        before = data.last().map(|m| m.id);
        let done = data.len() < 100;
        all.extend(data);
        if done {
            return all;
        }
    }
}

/// discord.py's `channel.history(limit=None, oldest_first=True)`: `after=0`, `data[0]` as
/// the next `after`, each page reversed.
fn page_forwards(store: &Store) -> Vec<Message> {
    let mut all = Vec::new();
    let mut after = MessageId(0);
    loop {
        let data = page(
            store,
            HistoryQuery {
                after: Some(after),
                limit: Some(100),
                ..HistoryQuery::default()
            },
        );
        if let Some(first) = data.first() {
            after = first.id;
        }
        let done = data.len() < 100;
        all.extend(data.into_iter().rev());
        if done {
            return all;
        }
    }
}

fn ids_of(messages: &[Message]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}

#[test]
fn paging_backwards_and_oldest_first_sees_every_message_once_across_a_reopen() {
    let dir = temporary_dir("paging");
    let mut store = open(&dir);
    let ids = populate(&mut store);
    store.wait_idle().unwrap();
    assert!(store.stats().tables > 0, "some history lives in tables");

    let backwards = page_backwards(&store);
    let newest_first: Vec<MessageId> = ids.iter().rev().copied().collect();
    assert_eq!(
        ids_of(&backwards),
        newest_first,
        "backwards: all, once, in order"
    );
    let forwards = page_forwards(&store);
    assert_eq!(ids_of(&forwards), ids, "oldest first: all, once, in order");
    assert_eq!(forwards[7].content, "message 7");

    // The first oldest-first page is the 100 OLDEST messages, newest first.
    let first_after = page(
        &store,
        HistoryQuery {
            after: Some(MessageId(0)),
            limit: Some(100),
            ..HistoryQuery::default()
        },
    );
    let want: Vec<MessageId> = ids[..100].iter().rev().copied().collect();
    assert_eq!(ids_of(&first_after), want);

    // No parameter: the latest 50.
    let latest = page(&store, HistoryQuery::default());
    assert_eq!(ids_of(&latest), newest_first[..50]);

    let pages_before: Vec<Vec<Message>> = sample_queries(&ids)
        .into_iter()
        .map(|query| page(&store, query))
        .collect();
    store.close().unwrap();

    let store = open(&dir);
    assert_eq!(
        page_backwards(&store),
        backwards,
        "identical after a reopen"
    );
    assert_eq!(page_forwards(&store), forwards);
    for (query, before) in sample_queries(&ids).into_iter().zip(pages_before) {
        assert_eq!(page(&store, query), before, "{query:?}");
    }
    store.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

fn sample_queries(ids: &[MessageId]) -> Vec<HistoryQuery> {
    let anchor = ids[123];
    vec![
        HistoryQuery::default(),
        HistoryQuery {
            before: Some(anchor),
            limit: Some(7),
            ..HistoryQuery::default()
        },
        HistoryQuery {
            after: Some(anchor),
            limit: Some(30),
            ..HistoryQuery::default()
        },
        HistoryQuery {
            around: Some(anchor),
            limit: Some(100),
            ..HistoryQuery::default()
        },
    ]
}

#[test]
fn around_takes_half_the_limit_each_side_of_the_anchor() {
    let dir = temporary_dir("around");
    let mut store = open(&dir);
    let ids = populate(&mut store);
    let around = |id: MessageId, limit: i64| {
        ids_of(&page(
            &store,
            HistoryQuery {
                around: Some(id),
                limit: Some(limit),
                ..HistoryQuery::default()
            },
        ))
    };
    let desc = |range: std::ops::RangeInclusive<usize>| -> Vec<MessageId> {
        ids[range].iter().rev().copied().collect()
    };

    // An even limit: 5 newer, the anchor, 5 older (Discord's limit + 1).
    assert_eq!(around(ids[100], 10), desc(95..=105));
    // An odd limit: 4 each side.
    assert_eq!(around(ids[100], 9), desc(96..=104));
    // limit=1 is the anchor alone (the old "fetch one message" idiom).
    assert_eq!(around(ids[100], 1), vec![ids[100]]);
    // Near the ends, the short side is not filled from the other.
    assert_eq!(around(ids[COUNT - 1], 10), desc(COUNT - 6..=COUNT - 1));
    assert_eq!(around(ids[1], 10), desc(0..=6));
    // An id with no message: the nearest messages each side, no anchor.
    let between = MessageId(ids[100].0 + 1);
    assert_eq!(around(between, 10), desc(96..=105));
    // limit=100 around the middle crosses bucket boundaries on both sides.
    assert_eq!(around(ids[125], 100), desc(75..=175));
    store.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn deletes_vanish_and_edits_show_the_new_content_across_compaction_and_reopen() {
    let dir = temporary_dir("edits");
    let mut store = open(&dir);
    let ids = populate(&mut store);
    let deleted = [0usize, 1, 57, 99, 100, 101, 180, 249];
    let edited = [2usize, 98, 150, 248];

    let mut batch = store.batch();
    for &n in &deleted {
        delete_message(&mut batch, CHANNEL, ids[n]);
    }
    for &n in &edited {
        let mut edit = message(CHANNEL, ids[n], format!("edited {n}"));
        edit.edited_at_unix_ms = Some(T0_UNIX_MS + 2_000 * HOUR_MS);
        put_message(&mut batch, &edit);
    }
    // Deleting a message of another channel under a CHANNEL id changes nothing here.
    delete_message(&mut batch, ChannelId(CHANNEL.0 + 1), ids[3]);
    commit(&mut store, batch);

    let remaining: Vec<MessageId> = (0..COUNT)
        .filter(|n| !deleted.contains(n))
        .map(|n| ids[n])
        .collect();
    let check = |store: &Store| {
        let forwards = page_forwards(store);
        assert_eq!(ids_of(&forwards), remaining);
        let backwards = page_backwards(store);
        assert_eq!(
            ids_of(&backwards),
            remaining.iter().rev().copied().collect::<Vec<_>>()
        );
        for message in &forwards {
            let n = ids.iter().position(|&id| id == message.id).unwrap();
            if edited.contains(&n) {
                assert_eq!(message.content, format!("edited {n}"));
                assert!(message.edited_at_unix_ms.is_some());
            } else {
                assert_eq!(message.content, format!("message {n}"));
                assert_eq!(message.edited_at_unix_ms, None);
            }
        }
        for &n in &deleted {
            assert_eq!(get_message(store, CHANNEL, ids[n]).unwrap(), None);
        }
        let one = get_message(store, CHANNEL, ids[150]).unwrap().unwrap();
        assert_eq!(one.content, "edited 150");
        // around a deleted anchor: its neighbours, without it.
        let around = page(
            store,
            HistoryQuery {
                around: Some(ids[100]),
                limit: Some(4),
                ..HistoryQuery::default()
            },
        );
        assert_eq!(ids_of(&around), vec![ids[103], ids[102], ids[98], ids[97]]);
    };
    check(&store);
    store.compact(true).unwrap();
    store.wait_idle().unwrap();
    check(&store);
    store.close().unwrap();
    let store = open(&dir);
    check(&store);
    store.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_limits_and_anchor_mixes_are_validation_errors() {
    let dir = temporary_dir("limits");
    let mut store = open(&dir);
    let ids = populate(&mut store);
    for limit in [0, -1, 101] {
        let query = HistoryQuery {
            limit: Some(limit),
            ..HistoryQuery::default()
        };
        assert_eq!(
            history(&store, CHANNEL, &query),
            Err(HistoryError::LimitOutOfRange { limit })
        );
    }
    let mixed = HistoryQuery {
        before: Some(ids[9]),
        after: Some(ids[1]),
        ..HistoryQuery::default()
    };
    assert_eq!(
        history(&store, CHANNEL, &mixed),
        Err(HistoryError::ConflictingAnchors)
    );
    // An empty channel, and anchors past either end.
    assert!(history(&store, ChannelId(7), &HistoryQuery::default())
        .unwrap()
        .is_empty());
    let past_newest = HistoryQuery {
        after: Some(ids[COUNT - 1]),
        ..HistoryQuery::default()
    };
    assert!(page(&store, past_newest).is_empty());
    let before_oldest = HistoryQuery {
        before: Some(ids[0]),
        ..HistoryQuery::default()
    };
    assert!(page(&store, before_oldest).is_empty());
    let everything = HistoryQuery {
        before: Some(MessageId(u64::MAX)),
        limit: Some(100),
        ..HistoryQuery::default()
    };
    assert_eq!(page(&store, everything)[0].id, ids[COUNT - 1]);
    store.close().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn message_json_is_a_strict_twilight_message_with_and_without_content() {
    let demo = demo_world(T0_UNIX_MS, [5; 32]).unwrap();
    let guild = &demo.world.guilds[0];
    let sender = demo.world.accounts[0].user.clone();
    let reader = demo.world.accounts[1].user.id;
    let original_id = id_at(1, 0);
    let original = Message::new(
        original_id,
        demo.text_channel_id,
        Some(guild.id),
        Author::of(&sender),
        "first".into(),
    );
    let mut reply = Message::new(
        id_at(2, 0),
        demo.text_channel_id,
        Some(guild.id),
        Author::of(&sender),
        "hello <@reader>".into(),
    );
    reply.kind = MessageKind::Reply;
    reply.referenced_message_id = Some(original_id);
    reply.mentions = vec![reader];
    reply.nonce = Some(Nonce::Text("1234".into()));
    reply.edited_at_unix_ms = Some(T0_UNIX_MS + 3 * HOUR_MS);
    reply.embeds = vec![json!({"title": "An embed", "description": "d", "color": 255})];
    reply.components = vec![json!({"type": 1, "components": [
        {"type": 2, "style": 1, "label": "ok", "custom_id": "ok"}]})];
    reply.attachments = vec![Attachment {
        id: 99,
        filename: "a.txt".into(),
        size: 5,
        url: "http://127.0.0.1:8080/attachments/1/99/a.txt".into(),
        proxy_url: "http://127.0.0.1:8080/attachments/1/99/a.txt".into(),
        content_type: Some("text/plain".into()),
        description: Some("five bytes".into()),
        ..Attachment::default()
    }];
    let thumbs = Emoji {
        id: None,
        name: "👍".into(),
        animated: false,
    };
    let custom = Emoji {
        id: Some(1234),
        name: "flux".into(),
        animated: false,
    };
    reply.add_reaction(&thumbs, reader);
    reply.add_reaction(&thumbs, sender.id);
    reply.add_reaction(&custom, sender.id);

    let context = |viewer, referenced| MessageJsonContext {
        users: &demo.world,
        guild: Some(guild),
        viewer,
        referenced_message: referenced,
        thread: None,
        attachment_urls: None,
    };
    let original_json = message_json(&original, &context(Some(reader), None));
    let value = message_json(&reply, &context(Some(reader), Some(original_json)));
    let parsed: twilight_model::channel::Message = match serde_json::from_value(value.clone()) {
        Ok(parsed) => parsed,
        Err(error) => panic!("twilight rejects the message: {error}\n{value:#}"),
    };
    assert_eq!(parsed.id.get(), reply.id.0);
    assert_eq!(parsed.channel_id.get(), demo.text_channel_id.0);
    assert_eq!(parsed.guild_id.map(|id| id.get()), Some(guild.id.0));
    assert_eq!(parsed.content, "hello <@reader>");
    assert_eq!(parsed.author.id.get(), sender.id.0);
    assert_eq!(u8::from(parsed.kind), 19);
    assert_eq!(parsed.mentions.len(), 1);
    assert_eq!(parsed.mentions[0].id.get(), reader.0);
    assert!(parsed.mentions[0].member.is_some());
    assert_eq!(parsed.attachments.len(), 1);
    assert_eq!(parsed.embeds[0].kind, "rich");
    assert_eq!(parsed.components.len(), 1);
    assert_eq!(parsed.reactions.len(), 2);
    assert_eq!(parsed.reactions[0].count, 2);
    assert!(parsed.reactions[0].me, "the reader reacted with 👍");
    assert!(!parsed.reactions[1].me, "but not with :flux:");
    let member = parsed.member.expect("a guild message carries its member");
    assert!(member.user.is_none());
    assert_eq!(
        parsed.timestamp.as_micros(),
        (reply.timestamp_unix_ms() * 1000) as i64
    );
    assert!(parsed.edited_timestamp.is_some());
    let referenced = parsed
        .referenced_message
        .expect("a reply carries its target");
    assert_eq!(referenced.id.get(), original_id.0);
    assert_eq!(
        parsed
            .reference
            .and_then(|r| r.message_id)
            .map(|id| id.get()),
        Some(original_id.0)
    );
    assert_eq!(value["nonce"], "1234");
    assert_eq!(value["flags"], 0, "hikari reads flags");
    assert_eq!(value["member"]["flags"], 0, "discord.py reads member.flags");

    // A bot without MESSAGE_CONTENT that is not mentioned sees the redacted form, and that
    // parses too.
    let outsider = UserId(5);
    assert!(!message_content_visible(
        false,
        reply.is_dm(),
        outsider,
        reply.author.id,
        &reply.mentions
    ));
    assert!(
        reply.content_visible_to(reader, false),
        "the reader is mentioned"
    );
    let redacted = message_json(&reply.without_content(), &context(Some(outsider), None));
    let parsed: twilight_model::channel::Message = serde_json::from_value(redacted.clone())
        .unwrap_or_else(|error| panic!("twilight rejects the redacted message: {error}"));
    assert_eq!(parsed.content, "");
    assert!(parsed.embeds.is_empty() && parsed.attachments.is_empty());
    assert!(parsed.components.is_empty());
    assert_eq!(parsed.reactions.len(), 2, "reactions stay");
    assert!(!parsed.reactions[0].me);
    assert_eq!(redacted["referenced_message"], Value::Null);
}
