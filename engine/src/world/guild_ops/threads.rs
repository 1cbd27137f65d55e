//! Threads: start one from a message or without one, join and leave, list the active
//! ones, and modify a thread (`PATCH /channels/{thread.id}` arrives here from
//! `channels::modify`), as Discord's `topics/threads` and `resources/channel` describe.
//!
//! Discord's rules kept here:
//! - Threads live under a text channel (anything else is 50024). Starting one needs
//!   VIEW_CHANNEL on the parent (else 50001) and CREATE_PUBLIC_THREADS, or
//!   CREATE_PRIVATE_THREADS for a private one (else 50013). Body: `name` 1–100
//!   (required), `auto_archive_duration` (60, 1440, 4320, 10080; default the parent's
//!   `default_auto_archive_duration`), `rate_limit_per_user`, and without a message
//!   `type` (11 public, 12 private; API v9's default 12 when absent) and `invitable`.
//!   The creator is its first member. Answer 201 with the thread.
//! - From a message, the thread's id is the message's id (Discord's rule, so clients
//!   find a message's thread by id); the owner core trusts the app to have checked that
//!   the message exists in the channel. A second thread on one message is 160004.
//! - Join/leave (`PUT`/`DELETE …/thread-members/@me`): the thread must be visible (a
//!   private one only to members and MANAGE_THREADS holders) and not archived (50083);
//!   joining twice or leaving when not a member changes nothing; 204.
//! - Modify: an archived thread can only be unarchived (else 50083). MANAGE_THREADS is
//!   needed to lock, change `invitable` or slow mode, unarchive a locked thread, or
//!   change anything of someone else's thread; the creator may rename, archive and
//!   change `auto_archive_duration`; unarchiving an unlocked thread needs only
//!   SEND_MESSAGES_IN_THREADS. Changing `archived` stamps `archive_timestamp`.
//! - Active threads (`GET /guilds/{id}/threads/active`): the unarchived threads the
//!   caller can see, and the caller's own thread member objects for them.
//!
//! Events: THREAD_CREATE (with `newly_created`) and THREAD_UPDATE to the thread's
//! viewers after the change, THREAD_DELETE to those before (`channels::delete`). On
//! join, THREAD_MEMBER_UPDATE to the joiner; on join and leave THREAD_MEMBERS_UPDATE to
//! the joiner or leaver (GUILDS) and to the thread's other viewers who have
//! GUILD_MEMBERS, which is who Discord sends it to.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::channel_forms::{ThreadEdit, ThreadForm};
use super::channels::CHANNELS_MAX;
use super::route_entry::WRONG_CHANNEL_TYPE;
use super::route_entry::{channel_access, channel_event, users_event, viewers, Access};
use super::{Audience, GuildEvent, OpContext, Outcome};
use super::{Parsed, Reply};
use crate::gateway::Intents;
use crate::world::ids::{ChannelId, UserId};
use crate::world::json::{channel_json, encode, member_json, thread_member_json};
use crate::world::message::MessageId;
use crate::world::model::{Channel, ChannelKind, Guild, ThreadMember, ThreadSettings};
use crate::world::permissions::Permissions;
use crate::world::Refusal;

/// Discord's 50083 for an action on an archived thread.
const THREAD_ARCHIVED: Refusal = Refusal::Coded {
    code: 50083,
    message: "Thread is archived",
};

/// Discord's 160004 for a second thread on one message.
const THREAD_EXISTS: Refusal = Refusal::Coded {
    code: 160004,
    message: "A thread has already been created for this message",
};

/// `POST /channels/{id}/messages/{message.id}/threads` (`message` is `Some`) or
/// `POST /channels/{id}/threads`.
pub(super) fn start(
    guild: &mut Guild,
    parent_id: ChannelId,
    message: Option<MessageId>,
    form: &Parsed<ThreadForm>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let (index, _, permissions) = channel_access(guild, parent_id, cx)?;
    let parent = &guild.channels[index];
    let ChannelKind::Text(text) = &parent.kind else {
        return Err(WRONG_CHANNEL_TYPE);
    };
    let form = form.as_ref().map_err(Clone::clone)?;
    let private = form.private;
    let needed = if private {
        Permissions::CREATE_PRIVATE_THREADS
    } else {
        Permissions::CREATE_PUBLIC_THREADS
    };
    if !permissions.contains(needed) {
        return Err(Refusal::MissingPermissions);
    }
    if let Some(message) = message {
        if guild.channel(ChannelId(message.0)).is_some() {
            return Err(THREAD_EXISTS);
        }
    }
    if guild.channels.len() >= CHANNELS_MAX {
        return Err(Refusal::Coded {
            code: 160006,
            message: "Maximum number of active threads reached",
        });
    }
    let id = match message {
        Some(message) => ChannelId(message.0),
        None => ChannelId((cx.next_id)()?),
    };
    let minutes = form
        .auto_archive_duration
        .unwrap_or(text.default_auto_archive_duration);
    let thread = Channel {
        id,
        guild_id: guild.id,
        name: form.name.clone(),
        position: 0,
        parent_id: Some(parent_id),
        nsfw: parent.nsfw,
        permission_overwrites: Vec::new(),
        last_message_id: None,
        flags: 0,
        kind: ChannelKind::Thread(ThreadSettings {
            private,
            owner_id: cx.actor,
            archived: false,
            locked: false,
            auto_archive_duration: minutes,
            archive_timestamp_unix_ms: cx.now_unix_ms,
            invitable: !private || form.invitable,
            rate_limit_per_user: form.rate_limit_per_user.unwrap_or(0),
            members: vec![ThreadMember {
                user_id: cx.actor,
                joined_at_unix_ms: cx.now_unix_ms,
                flags: 0,
            }],
            message_count: 0,
            total_message_sent: 0,
            created_at_unix_ms: cx.now_unix_ms,
        }),
    };
    let body = encode(&channel_json(&thread));
    let mut event = channel_event("THREAD_CREATE", &thread);
    if let Value::Object(object) = &mut event.d {
        object.insert("newly_created".into(), true.into());
    }
    guild.channels.push(thread);
    Ok(Outcome::write(Reply::Created, body, vec![event]))
}

/// `PATCH /channels/{thread.id}`; `permissions` are the caller's in the thread, which
/// `channels::modify` has checked they can view.
pub(super) fn modify(
    guild: &mut Guild,
    index: usize,
    permissions: Permissions,
    edit: Parsed<ThreadEdit>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let Some(current) = guild.channels.get(index) else {
        return Err(Refusal::UnknownChannel);
    };
    let Some(thread) = current.kind.thread() else {
        return Err(WRONG_CHANNEL_TYPE);
    };
    let ThreadEdit {
        name,
        archived,
        auto_archive_duration: auto_archive,
        locked,
        invitable,
        rate_limit_per_user: rate_limit,
    } = edit?;
    if thread.archived && archived != Some(false) {
        return Err(THREAD_ARCHIVED);
    }
    let is_owner = thread.owner_id == cx.actor;
    let owner_fields = name.is_some() || auto_archive.is_some() || archived == Some(true);
    let needs_manage = locked.is_some()
        || invitable.is_some()
        || rate_limit.is_some()
        || (thread.locked && archived == Some(false))
        || (!is_owner && owner_fields);
    if needs_manage && !permissions.contains(Permissions::MANAGE_THREADS) {
        return Err(Refusal::MissingPermissions);
    }
    if archived == Some(false)
        && !permissions.contains(Permissions::MANAGE_THREADS)
        && !permissions.contains(Permissions::SEND_MESSAGES_IN_THREADS)
    {
        return Err(Refusal::MissingPermissions);
    }
    let mut channel = current.clone();
    if let Some(name) = name {
        channel.name = name;
    }
    if let ChannelKind::Thread(settings) = &mut channel.kind {
        if let Some(archived) = archived {
            if settings.archived != archived {
                settings.archived = archived;
                settings.archive_timestamp_unix_ms = cx.now_unix_ms;
            }
        }
        if let Some(minutes) = auto_archive {
            settings.auto_archive_duration = minutes;
        }
        if let Some(locked) = locked {
            settings.locked = locked;
        }
        if let Some(invitable) = invitable.filter(|_| settings.private) {
            settings.invitable = invitable;
        }
        if let Some(rate) = rate_limit {
            settings.rate_limit_per_user = rate;
        }
    }
    let body = encode(&channel_json(&channel));
    if channel == *current {
        return Ok(Outcome::read(Reply::Shown, body));
    }
    let event = channel_event("THREAD_UPDATE", &channel);
    guild.channels[index] = channel;
    Ok(Outcome::write(Reply::Shown, body, vec![event]))
}

/// THREAD_DELETE for `thread` to `viewers` (taken before it is removed).
pub(super) fn delete_event(thread: &Channel, viewers: BTreeSet<UserId>) -> GuildEvent {
    let d = json!({
        "id": thread.id.to_string(),
        "guild_id": thread.guild_id.to_string(),
        "parent_id": thread.parent_id.map(|id| id.to_string()),
        "type": thread.kind.discord_type(),
    });
    users_event("THREAD_DELETE", d, viewers)
}

/// `PUT /channels/{thread.id}/thread-members/@me`.
pub(super) fn join(
    guild: &mut Guild,
    thread_id: ChannelId,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let index = membership_checks(guild, thread_id, cx)?;
    let Some(ChannelKind::Thread(thread)) = guild.channels.get(index).map(|c| &c.kind) else {
        return Err(WRONG_CHANNEL_TYPE);
    };
    if thread
        .members
        .iter()
        .any(|member| member.user_id == cx.actor)
    {
        return Ok(Outcome::read(Reply::Done, Vec::new()));
    }
    let member = ThreadMember {
        user_id: cx.actor,
        joined_at_unix_ms: cx.now_unix_ms,
        flags: 0,
    };
    let mut added = thread_member_json(thread_id, &member);
    if let (Some(user), Some(guild_member)) = (cx.users.user(cx.actor), guild.member(cx.actor)) {
        if let Value::Object(object) = &mut added {
            object.insert("member".into(), member_json(guild_member, user));
            object.insert("presence".into(), Value::Null);
        }
    }
    let mut channel = guild.channels[index].clone();
    if let ChannelKind::Thread(settings) = &mut channel.kind {
        settings.members.push(member.clone());
    }
    let others = viewers(guild, &channel);
    let mut self_update = thread_member_json(thread_id, &member);
    if let Value::Object(object) = &mut self_update {
        object.insert("guild_id".into(), guild.id.to_string().into());
    }
    let mut events = vec![users_event(
        "THREAD_MEMBER_UPDATE",
        self_update,
        [cx.actor].into(),
    )];
    let update = members_update(guild, &channel, vec![added], Vec::new());
    events.extend(members_update_events(update, cx.actor, others));
    guild.channels[index] = channel;
    Ok(Outcome::write(Reply::Done, Vec::new(), events))
}

/// `DELETE /channels/{thread.id}/thread-members/@me`.
pub(super) fn leave(
    guild: &mut Guild,
    thread_id: ChannelId,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let index = membership_checks(guild, thread_id, cx)?;
    let Some(ChannelKind::Thread(thread)) = guild.channels.get(index).map(|c| &c.kind) else {
        return Err(WRONG_CHANNEL_TYPE);
    };
    if !thread
        .members
        .iter()
        .any(|member| member.user_id == cx.actor)
    {
        return Ok(Outcome::read(Reply::Done, Vec::new()));
    }
    // Taken before leaving: a private thread's leaver may no longer see it.
    let others = viewers(guild, &guild.channels[index]);
    let mut channel = guild.channels[index].clone();
    if let ChannelKind::Thread(settings) = &mut channel.kind {
        settings.members.retain(|member| member.user_id != cx.actor);
    }
    let update = members_update(guild, &channel, Vec::new(), vec![cx.actor]);
    let events = members_update_events(update, cx.actor, others);
    guild.channels[index] = channel;
    Ok(Outcome::write(Reply::Done, Vec::new(), events))
}

/// Join and leave: a visible thread (50001 otherwise), not archived (50083).
fn membership_checks(
    guild: &Guild,
    thread_id: ChannelId,
    cx: &OpContext<'_>,
) -> Result<usize, Refusal> {
    let (index, _, _) = channel_access(guild, thread_id, cx)?;
    match &guild.channels[index].kind {
        ChannelKind::Thread(thread) if thread.archived => Err(THREAD_ARCHIVED),
        ChannelKind::Thread(_) => Ok(index),
        _ => Err(WRONG_CHANNEL_TYPE),
    }
}

/// THREAD_MEMBERS_UPDATE's `d` for `thread` after the change.
fn members_update(
    guild: &Guild,
    thread: &Channel,
    added: Vec<Value>,
    removed: Vec<UserId>,
) -> Value {
    let member_count = thread
        .kind
        .thread()
        .map_or(0, |settings| settings.members.len().min(50));
    let mut d = json!({
        "id": thread.id.to_string(),
        "guild_id": guild.id.to_string(),
        "member_count": member_count,
    });
    if let Value::Object(object) = &mut d {
        if !added.is_empty() {
            object.insert("added_members".into(), added.into());
        }
        if !removed.is_empty() {
            let removed: Vec<Value> = removed.iter().map(|id| id.to_string().into()).collect();
            object.insert("removed_member_ids".into(), removed.into());
        }
    }
    d
}

/// THREAD_MEMBERS_UPDATE to the user who joined or left (GUILDS) and to the thread's
/// other viewers with GUILD_MEMBERS (Discord sends it to others only with that intent).
fn members_update_events(d: Value, actor: UserId, viewers: BTreeSet<UserId>) -> Vec<GuildEvent> {
    let mut events = vec![users_event(
        "THREAD_MEMBERS_UPDATE",
        d.clone(),
        [actor].into(),
    )];
    let others: BTreeSet<UserId> = viewers.into_iter().filter(|user| *user != actor).collect();
    if !others.is_empty() {
        events.push(GuildEvent {
            name: "THREAD_MEMBERS_UPDATE",
            d,
            intents: Intents::GUILD_MEMBERS,
            audience: Audience::Users(others),
        });
    }
    events
}

/// `GET /guilds/{id}/threads/active`: `{threads, members}`.
pub(super) fn active(guild: &Guild, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    let access = Access::guild(guild, cx)?;
    let mut threads = Vec::new();
    let mut members = Vec::new();
    for channel in &guild.channels {
        let Some(thread) = channel.kind.thread() else {
            continue;
        };
        if thread.archived
            || !access
                .in_channel(guild, channel)
                .contains(Permissions::VIEW_CHANNEL)
        {
            continue;
        }
        threads.push(channel_json(channel));
        if let Some(member) = thread.members.iter().find(|m| m.user_id == cx.actor) {
            members.push(thread_member_json(channel.id, member));
        }
    }
    let body = json!({ "threads": threads, "members": members });
    Ok(Outcome::read(Reply::Shown, encode(&body)))
}
