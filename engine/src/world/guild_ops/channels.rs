//! Guild channels: list, create, modify positions, get, modify, delete, and permission
//! overwrites, as Discord's `resources/guild` and `resources/channel` describe them.
//! Thread-specific modification is `threads.rs`; a thread is deleted here like any
//! channel.
//!
//! Discord's rules kept here:
//! - Create (`POST /guilds/{id}/channels`): MANAGE_CHANNELS; `name` 1–100 characters,
//!   required; `type` 0 (text, the default), 2 (voice) or 4 (category) — Flux has no
//!   other guild channel kinds, so others are 50035 `BASE_TYPE_CHOICES`. A text
//!   channel's name is lower-cased with spaces as dashes, as Discord does. `parent_id`
//!   must be a category of the guild, and a category has none. Setting overwrites
//!   needs MANAGE_ROLES, and grants only bits the caller has (MANAGE_ROLES itself only
//!   by administrators). Answer 201 with the channel, CHANNEL_CREATE to its viewers.
//! - Positions (`PATCH /guilds/{id}/channels`): MANAGE_CHANNELS; an array of `{id,
//!   position?, lock_permissions?, parent_id?}`; `lock_permissions` copies the new
//!   parent's overwrites. 204; CHANNEL_UPDATE for each channel that changed.
//! - Get: VIEW_CHANNEL (else 50001). Modify: MANAGE_CHANNELS, plus MANAGE_ROLES when
//!   `permission_overwrites` is sent; fields that do not apply to the channel's kind are
//!   ignored, as on Discord; `type` cannot change. Delete: MANAGE_CHANNELS
//!   (MANAGE_THREADS for a thread); answers 200 with the deleted channel, as Discord does.
//!   Deleting a channel also deletes its threads and the invites to it (INVITE_DELETE to
//!   those who could manage it), un-parents a
//!   category's children, and clears the guild's AFK or system channel if it was one.
//! - Overwrites (`PUT`/`DELETE /channels/{id}/permissions/{overwrite.id}`):
//!   MANAGE_ROLES in the channel; body `{type: 0|1, allow?, deny?}`; 204. A role
//!   overwrite names a role of the guild (else 10011), a member overwrite a known user
//!   (else 10013). Threads have no overwrites (50024).
//!
//! Events: CHANNEL_CREATE/UPDATE go to the channel's viewers after the change (a member
//! an overwrite change lets view it gets CHANNEL_CREATE, see `update_events`),
//! CHANNEL_DELETE (and THREAD_DELETE for its threads) to its viewers before it.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::guild_fields::FormErrors;
use super::guild_object::guild_update;
use super::route_entry::{channel_access, channel_event, users_event, viewers, Access};
use super::threads;
use super::Reply;
use super::{Audience, GuildEvent, OpContext, Outcome};
use crate::gateway::Intents;
use crate::world::ids::{ChannelId, RoleId, UserId};
use crate::world::json::{channel_json, encode};
use crate::world::model::{
    Channel, ChannelKind, Guild, OverwriteTarget, PermissionOverwrite, TextSettings, VoiceSettings,
};
use crate::world::parse_object;
use crate::world::permissions::{ChannelSnapshot, GuildSnapshot, Permissions};
use crate::world::Refusal;

/// Most channels (threads included) a guild holds; Discord's limit is 500.
pub const CHANNELS_MAX: usize = 500;
/// Permission overwrites one channel holds at most. Flux's own bound, answered with
/// Discord's code for it (30060, whose documented limit is 1000): a guild is stored whole
/// (at most about 90 bytes of JSON an overwrite), so 500 channels × 100 overwrites is about
/// 4.5 MB next to the 25,000 members' 4.75 MB, inside the store's 16 MiB value; 1000 would
/// allow 45 MB. The price: a channel cannot hold an overwrite for each of 250 roles, nor
/// for more than 100 members; a role for the group does the same job.
pub const OVERWRITES_MAX: usize = 100;
const _: () = assert!(
    OVERWRITES_MAX == 100,
    "the 30060 and 50035 messages say 100"
);
/// Auto-archive durations Discord allows, in minutes.
pub(super) const AUTO_ARCHIVE_MINUTES: [i64; 4] = [60, 1440, 4320, 10080];
/// Longest slow mode, in seconds.
pub(super) const RATE_LIMIT_MAX_S: i64 = 21_600;

/// `GET /guilds/{id}/channels`: every channel but threads, for any member.
pub(super) fn list(guild: &Guild, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    Access::guild(guild, cx)?;
    let channels: Vec<Value> = guild
        .channels
        .iter()
        .filter(|channel| channel.kind.thread().is_none())
        .map(channel_json)
        .collect();
    Ok(Outcome::read(Reply::Shown, encode(&Value::Array(channels))))
}

/// `GET /channels/{id}`.
pub(super) fn get(
    guild: &Guild,
    channel_id: ChannelId,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let (index, _, _) = channel_access(guild, channel_id, cx)?;
    let channel = &guild.channels[index];
    Ok(Outcome::read(Reply::Shown, encode(&channel_json(channel))))
}

/// `POST /guilds/{id}/channels`.
pub(super) fn create(
    guild: &mut Guild,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let access = Access::guild(guild, cx)?;
    access.require(Permissions::MANAGE_CHANNELS)?;
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let kind_type = errors.choice(&object, "type", &[0, 2, 4]).unwrap_or(0);
    if !object.contains_key("name") {
        errors.required(&["name"]);
    }
    let patch = ChannelPatch::read(&mut errors, &object, guild, None, kind_type == 4);
    errors.finish()?;
    if patch.overwrites.is_some() {
        access.require(Permissions::MANAGE_ROLES)?;
        check_grants(&access, access.guild_permissions(), &[], &patch.overwrites)?;
    }
    if guild.channels.len() >= CHANNELS_MAX {
        return Err(Refusal::Coded {
            code: 30013,
            message: "Maximum number of guild channels reached (500)",
        });
    }
    let id = ChannelId((cx.next_id)()?);
    let kind = match kind_type {
        2 => ChannelKind::Voice(VoiceSettings {
            bitrate: 64_000,
            user_limit: 0,
            rtc_region: None,
        }),
        4 => ChannelKind::Category,
        _ => ChannelKind::Text(TextSettings {
            topic: None,
            rate_limit_per_user: 0,
            default_auto_archive_duration: 1440,
        }),
    };
    let position = next_position(guild, &kind);
    let mut channel = Channel {
        id,
        guild_id: guild.id,
        name: String::new(),
        position,
        parent_id: None,
        nsfw: false,
        permission_overwrites: Vec::new(),
        last_message_id: None,
        flags: 0,
        kind,
    };
    patch.apply(&mut channel);
    let body = encode(&channel_json(&channel));
    let event = channel_event("CHANNEL_CREATE", &channel);
    guild.channels.push(channel);
    Ok(Outcome::write(Reply::Created, body, vec![event]))
}

/// One past the highest position among channels sorted with `kind`, or 0.
fn next_position(guild: &Guild, kind: &ChannelKind) -> i32 {
    guild
        .channels
        .iter()
        .filter(|channel| sort_group(&channel.kind) == sort_group(kind))
        .map(|channel| channel.position.saturating_add(1))
        .max()
        .unwrap_or(0)
}

/// Discord sorts text-like, voice-like and categories separately.
fn sort_group(kind: &ChannelKind) -> u8 {
    match kind {
        ChannelKind::Text(_) => 0,
        ChannelKind::Voice(_) => 1,
        ChannelKind::Category => 2,
        ChannelKind::Thread(_) => 3,
    }
}

/// `PATCH /channels/{id}` (threads go to `threads::modify`).
pub(super) fn modify(
    guild: &mut Guild,
    channel_id: ChannelId,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let (index, access, permissions) = channel_access(guild, channel_id, cx)?;
    if guild.channels[index].kind.thread().is_some() {
        return threads::modify(guild, index, permissions, body, cx);
    }
    if !permissions.contains(Permissions::MANAGE_CHANNELS) {
        return Err(Refusal::MissingPermissions);
    }
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let current = &guild.channels[index];
    let current_type = i64::from(current.kind.discord_type());
    errors.choice(&object, "type", &[current_type]);
    let is_category = matches!(current.kind, ChannelKind::Category);
    let patch = ChannelPatch::read(&mut errors, &object, guild, Some(channel_id), is_category);
    errors.finish()?;
    let current = &guild.channels[index];
    if patch.overwrites.is_some() {
        if !permissions.contains(Permissions::MANAGE_ROLES) {
            return Err(Refusal::MissingPermissions);
        }
        check_grants(
            &access,
            permissions,
            &current.permission_overwrites,
            &patch.overwrites,
        )?;
    }
    let mut channel = current.clone();
    patch.apply(&mut channel);
    let body = encode(&channel_json(&channel));
    if channel == *current {
        return Ok(Outcome::read(Reply::Shown, body));
    }
    let events = update_events(guild, &guild.channels[index], &channel);
    guild.channels[index] = channel;
    Ok(Outcome::write(Reply::Shown, body, events))
}

/// `PATCH /guilds/{id}/channels`.
pub(super) fn positions(
    guild: &mut Guild,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let access = Access::guild(guild, cx)?;
    access.require(Permissions::MANAGE_CHANNELS)?;
    let items = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => {
            let mut errors = FormErrors::default();
            errors.add(
                &[],
                "LIST_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            );
            return errors
                .finish()
                .map(|()| Outcome::read(Reply::Done, Vec::new()));
        }
        Err(_) => return Err(Refusal::InvalidJson),
    };
    let mut errors = FormErrors::default();
    let mut updated: Vec<(usize, Channel)> = Vec::new();
    for (item_index, item) in items.iter().enumerate() {
        let key = item_index.to_string();
        if let Some(change) = read_position(&mut errors, guild, &key, item) {
            match updated.iter_mut().find(|(index, _)| *index == change.0) {
                Some(_) => errors.add(
                    &[key.as_str(), "id"],
                    "CHANNEL_DUPLICATE",
                    "Duplicate channel.",
                ),
                None => updated.push(change),
            }
        }
    }
    errors.finish()?;
    let mut events = Vec::new();
    for (index, channel) in updated {
        if guild.channels[index] != channel {
            events.extend(update_events(guild, &guild.channels[index], &channel));
            guild.channels[index] = channel;
        }
    }
    if events.is_empty() {
        return Ok(Outcome::read(Reply::Done, Vec::new()));
    }
    Ok(Outcome::write(Reply::Done, Vec::new(), events))
}

/// One entry of a positions body: the channel's index and its new state, or `None`
/// with the fault recorded under `key`.
fn read_position(
    errors: &mut FormErrors,
    guild: &Guild,
    key: &str,
    item: &Value,
) -> Option<(usize, Channel)> {
    let Value::Object(object) = item else {
        errors.add(
            &[key],
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        );
        return None;
    };
    let Some(id) = object.get("id") else {
        errors.required(&[key, "id"]);
        return None;
    };
    let Some(id) = errors.snowflake(id, &[key, "id"])? else {
        errors.required(&[key, "id"]);
        return None;
    };
    let id = ChannelId(id);
    let Some(index) = guild
        .channels
        .iter()
        .position(|channel| channel.id == id && channel.kind.thread().is_none())
    else {
        errors.add(&[key, "id"], "CHANNEL_INVALID", "Unknown channel.");
        return None;
    };
    let mut channel = guild.channels[index].clone();
    let mut ok = true;
    if let Some(value) = object.get("position") {
        match value {
            Value::Null => {}
            _ => match value.as_i64().and_then(|p| i32::try_from(p).ok()) {
                Some(position) => channel.position = position,
                None => {
                    errors.add(
                        &[key, "position"],
                        "NUMBER_TYPE_COERCE",
                        "Value is not int.",
                    );
                    ok = false;
                }
            },
        }
    }
    if let Some(value) = object.get("parent_id") {
        match errors.snowflake(value, &[key, "parent_id"]) {
            None => ok = false,
            Some(parent) => {
                let parent = parent.map(ChannelId);
                if parent_ok(
                    guild,
                    parent,
                    Some(id),
                    matches!(channel.kind, ChannelKind::Category),
                ) {
                    channel.parent_id = parent;
                } else {
                    errors.add(
                        &[key, "parent_id"],
                        "CHANNEL_PARENT_INVALID",
                        "Invalid parent.",
                    );
                    ok = false;
                }
            }
        }
    }
    let lock = match object.get("lock_permissions") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(lock)) => *lock,
        Some(_) => {
            errors.add(
                &[key, "lock_permissions"],
                "BASE_TYPE_BOOLEAN",
                "Must be either true or false.",
            );
            ok = false;
            false
        }
    };
    if lock {
        if let Some(parent) = channel.parent_id.and_then(|parent| guild.channel(parent)) {
            channel.permission_overwrites = parent.permission_overwrites.clone();
        }
    }
    ok.then_some((index, channel))
}

/// Whether `parent` may be the parent of channel `child` (`None`: a new channel): no
/// parent at all, or a category of the guild other than the channel itself, and never
/// for a category.
fn parent_ok(
    guild: &Guild,
    parent: Option<ChannelId>,
    child: Option<ChannelId>,
    child_is_category: bool,
) -> bool {
    let Some(parent) = parent else {
        return true;
    };
    !child_is_category
        && Some(parent) != child
        && guild
            .channel(parent)
            .is_some_and(|channel| matches!(channel.kind, ChannelKind::Category))
}

/// `DELETE /channels/{id}`.
pub(super) fn delete(
    guild: &mut Guild,
    channel_id: ChannelId,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let (index, _, permissions) = channel_access(guild, channel_id, cx)?;
    let channel = &guild.channels[index];
    let needed = if channel.kind.thread().is_some() {
        Permissions::MANAGE_THREADS
    } else {
        Permissions::MANAGE_CHANNELS
    };
    if !permissions.contains(needed) {
        return Err(Refusal::MissingPermissions);
    }
    let body = encode(&channel_json(channel));
    let mut events = Vec::new();
    if channel.kind.thread().is_some() {
        events.push(threads::delete_event(channel, viewers(guild, channel)));
    } else {
        events.push(users_event(
            "CHANNEL_DELETE",
            channel_json(channel),
            viewers(guild, channel),
        ));
        for thread in guild
            .channels
            .iter()
            .filter(|thread| thread.kind.thread().is_some() && thread.parent_id == Some(channel_id))
        {
            events.push(threads::delete_event(thread, viewers(guild, thread)));
        }
    }
    let removed: BTreeSet<ChannelId> = guild
        .channels
        .iter()
        .filter(|other| {
            other.id == channel_id
                || (other.kind.thread().is_some() && other.parent_id == Some(channel_id))
        })
        .map(|other| other.id)
        .collect();
    // The invites to the removed channels go too, each with INVITE_DELETE to those who
    // could manage the channel (decided before it is gone).
    for invite in guild
        .invites
        .iter()
        .filter(|invite| removed.contains(&invite.channel_id))
    {
        let managers = managers_of(guild, invite.channel_id);
        events.push(GuildEvent {
            name: "INVITE_DELETE",
            d: super::member_json::invite_delete_json(guild.id, invite),
            intents: Intents::GUILD_INVITES,
            audience: Audience::Users(managers),
        });
    }
    guild.channels.retain(|other| !removed.contains(&other.id));
    guild
        .invites
        .retain(|invite| !removed.contains(&invite.channel_id));
    for child in &mut guild.channels {
        if child.parent_id == Some(channel_id) {
            child.parent_id = None;
            events.push(channel_event("CHANNEL_UPDATE", child));
        }
    }
    let mut guild_changed = false;
    if guild.afk_channel_id == Some(channel_id) {
        guild.afk_channel_id = None;
        guild_changed = true;
    }
    if guild.system_channel_id == Some(channel_id) {
        guild.system_channel_id = None;
        guild_changed = true;
    }
    if guild_changed {
        events.push(guild_update(guild));
    }
    Ok(Outcome::write(Reply::Shown, body, events))
}

/// The members who may view and manage channel `channel_id` (INVITE_* recipients).
fn managers_of(guild: &Guild, channel_id: ChannelId) -> BTreeSet<UserId> {
    let Some(channel) = guild.channel(channel_id) else {
        return BTreeSet::new();
    };
    let snapshot = GuildSnapshot::of_guild(guild);
    let channel = ChannelSnapshot::of_guild_channel(guild, channel);
    let needed = Permissions::VIEW_CHANNEL | Permissions::MANAGE_CHANNELS;
    snapshot
        .members
        .iter()
        .filter(|member| {
            snapshot
                .permissions_in(member, &channel, 0)
                .contains(needed)
        })
        .map(|member| member.user_id)
        .collect()
}

/// `PUT /channels/{id}/permissions/{overwrite.id}`.
pub(super) fn put_overwrite(
    guild: &mut Guild,
    channel_id: ChannelId,
    target_id: u64,
    body: &[u8],
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let (index, access, permissions) = overwrite_access(guild, channel_id, cx)?;
    let object = parse_object(body)?;
    let mut errors = FormErrors::default();
    let kind = errors.choice(&object, "type", &[0, 1]);
    if !object.contains_key("type") {
        errors.required(&["type"]);
    }
    let allow = errors.permissions(object.get("allow"), &["allow"]);
    let deny = errors.permissions(object.get("deny"), &["deny"]);
    errors.finish()?;
    let target = if kind == Some(1) {
        if cx.users.user(UserId(target_id)).is_none() {
            return Err(Refusal::UnknownUser);
        }
        OverwriteTarget::Member(UserId(target_id))
    } else {
        if !guild.roles.iter().any(|role| role.id == RoleId(target_id)) {
            return Err(Refusal::UnknownRole);
        }
        OverwriteTarget::Role(RoleId(target_id))
    };
    let overwrite = PermissionOverwrite {
        target,
        allow: allow.bits(),
        deny: deny.bits(),
    };
    let channel = &guild.channels[index];
    let new = Some(vec![overwrite.clone()]);
    check_grants(&access, permissions, &channel.permission_overwrites, &new)?;
    let mut channel = channel.clone();
    let held = channel.permission_overwrites.len();
    match channel
        .permission_overwrites
        .iter_mut()
        .find(|existing| existing.target == target)
    {
        Some(existing) => *existing = overwrite,
        None if held >= OVERWRITES_MAX => {
            return Err(Refusal::Coded {
                code: 30060,
                message: "Maximum number of channel permission overwrites reached (100)",
            });
        }
        None => channel.permission_overwrites.push(overwrite),
    }
    if channel == guild.channels[index] {
        return Ok(Outcome::read(Reply::Done, Vec::new()));
    }
    let events = update_events(guild, &guild.channels[index], &channel);
    guild.channels[index] = channel;
    Ok(Outcome::write(Reply::Done, Vec::new(), events))
}

/// `DELETE /channels/{id}/permissions/{overwrite.id}`: removes the role or member
/// overwrite with that id (nothing to remove is still 204).
pub(super) fn delete_overwrite(
    guild: &mut Guild,
    channel_id: ChannelId,
    target_id: u64,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let (index, access, _) = overwrite_access(guild, channel_id, cx)?;
    let mut channel = guild.channels[index].clone();
    let (removed, kept): (Vec<_>, Vec<_>) =
        channel
            .permission_overwrites
            .into_iter()
            .partition(|overwrite| {
                let id = match overwrite.target {
                    OverwriteTarget::Role(role) => role.0,
                    OverwriteTarget::Member(user) => user.0,
                };
                id == target_id
            });
    if removed.is_empty() {
        return Ok(Outcome::read(Reply::Done, Vec::new()));
    }
    // Removing an overwrite grants or takes away its bits as surely as writing one: the
    // same rule holds (only bits the caller has in the guild, as Discord words it, since
    // the overwrite being removed may itself deny them here; MANAGE_ROLES only for
    // administrators).
    check_grants(&access, access.guild_permissions(), &[], &Some(removed))?;
    channel.permission_overwrites = kept;
    let events = update_events(guild, &guild.channels[index], &channel);
    guild.channels[index] = channel;
    Ok(Outcome::write(Reply::Done, Vec::new(), events))
}

/// The dispatches of a change from `old` to `new` (same id, `guild` still holding `old`).
/// When the overwrites change who may view the channel, members who gain the view get
/// CHANNEL_CREATE: they never had it (CHANNEL_CREATE goes to viewers only), and
/// discord.py discards a CHANNEL_UPDATE for a channel it does not know (state.py
/// `parse_channel_update`). Everyone who could view it before gets the CHANNEL_UPDATE,
/// so a member who loses the view learns the overwrites that hide it.
fn update_events(guild: &Guild, old: &Channel, new: &Channel) -> Vec<GuildEvent> {
    let before = viewers(guild, old);
    let after = viewers(guild, new);
    if before == after {
        return vec![channel_event("CHANNEL_UPDATE", new)];
    }
    let gained: BTreeSet<UserId> = after.difference(&before).copied().collect();
    let mut events = Vec::new();
    if !gained.is_empty() {
        events.push(users_event("CHANNEL_CREATE", channel_json(new), gained));
    }
    if !before.is_empty() {
        events.push(users_event("CHANNEL_UPDATE", channel_json(new), before));
    }
    events
}

/// The overwrite routes' checks: a viewable channel that is not a thread, and
/// MANAGE_ROLES in it.
fn overwrite_access(
    guild: &Guild,
    channel_id: ChannelId,
    cx: &OpContext<'_>,
) -> Result<(usize, Access, Permissions), Refusal> {
    let (index, access, permissions) = channel_access(guild, channel_id, cx)?;
    if guild.channels[index].kind.thread().is_some() {
        return Err(super::route_entry::WRONG_CHANNEL_TYPE);
    }
    if !permissions.contains(Permissions::MANAGE_ROLES) {
        return Err(Refusal::MissingPermissions);
    }
    Ok((index, access, permissions))
}

/// Discord: a caller may only allow or deny bits they have themselves (`scope`), and
/// only administrators may put MANAGE_ROLES in an overwrite. Overwrites already on the
/// channel unchanged are not re-checked. A removed overwrite is checked as `new` with no
/// `old`: taking it away changes the same bits.
fn check_grants(
    access: &Access,
    scope: Permissions,
    old: &[PermissionOverwrite],
    new: &Option<Vec<PermissionOverwrite>>,
) -> Result<(), Refusal> {
    if access.is_admin() {
        return Ok(());
    }
    for overwrite in new.iter().flatten() {
        if old.contains(overwrite) {
            continue;
        }
        let bits = Permissions::from_bits_truncate(overwrite.allow | overwrite.deny);
        if !scope.contains(bits) || bits.contains(Permissions::MANAGE_ROLES) {
            return Err(Refusal::MissingPermissions);
        }
    }
    Ok(())
}

/// The fields of a channel create or modify body, each `None` when absent.
#[derive(Debug, Default)]
struct ChannelPatch {
    name: Option<String>,
    position: Option<i32>,
    nsfw: Option<bool>,
    parent_id: Option<Option<ChannelId>>,
    overwrites: Option<Vec<PermissionOverwrite>>,
    topic: Option<Option<String>>,
    rate_limit_per_user: Option<u32>,
    default_auto_archive_duration: Option<u32>,
    bitrate: Option<u32>,
    user_limit: Option<u32>,
    rtc_region: Option<Option<String>>,
}

impl ChannelPatch {
    /// Reads every field (recording faults) for channel `id` (`None`: a new one).
    fn read(
        errors: &mut FormErrors,
        object: &Map<String, Value>,
        guild: &Guild,
        id: Option<ChannelId>,
        is_category: bool,
    ) -> ChannelPatch {
        let count = |value: Option<Option<i64>>| {
            value.map(|value| value.and_then(|v| u32::try_from(v).ok()).unwrap_or(0))
        };
        let mut patch = ChannelPatch {
            name: errors.string(object, "name", 1, 100, false).flatten(),
            position: errors
                .integer(object, "position", 0, i64::from(i32::MAX), true)
                .flatten()
                .and_then(|p| i32::try_from(p).ok()),
            nsfw: errors.boolean(object, "nsfw"),
            topic: errors.string(object, "topic", 0, 1024, true),
            rate_limit_per_user: count(errors.integer(
                object,
                "rate_limit_per_user",
                0,
                RATE_LIMIT_MAX_S,
                true,
            )),
            default_auto_archive_duration: errors
                .choice(
                    object,
                    "default_auto_archive_duration",
                    &AUTO_ARCHIVE_MINUTES,
                )
                .and_then(|minutes| u32::try_from(minutes).ok()),
            bitrate: errors
                .integer(object, "bitrate", 8_000, 96_000, true)
                .map(|value| value.and_then(|v| u32::try_from(v).ok()).unwrap_or(64_000)),
            user_limit: count(errors.integer(object, "user_limit", 0, 99, true)),
            rtc_region: errors.string(object, "rtc_region", 1, 32, true),
            ..ChannelPatch::default()
        };
        if patch
            .name
            .as_ref()
            .is_some_and(|name| name.trim().is_empty())
        {
            patch.name = None;
            errors.add(
                &["name"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            );
        }
        if let Some(value) = object.get("parent_id") {
            if let Some(parent) = errors.snowflake(value, &["parent_id"]) {
                let parent = parent.map(ChannelId);
                if parent_ok(guild, parent, id, is_category) {
                    patch.parent_id = Some(parent);
                } else {
                    errors.add(&["parent_id"], "CHANNEL_PARENT_INVALID", "Invalid parent.");
                }
            }
        }
        match object.get("permission_overwrites") {
            None => {}
            Some(Value::Null) => patch.overwrites = Some(Vec::new()),
            Some(Value::Array(items)) if items.len() > OVERWRITES_MAX => errors.add(
                &["permission_overwrites"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 100 or fewer in length.",
            ),
            Some(Value::Array(items)) => {
                patch.overwrites = Some(read_overwrites(errors, guild, items));
            }
            Some(_) => errors.add(
                &["permission_overwrites"],
                "LIST_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            ),
        }
        patch
    }

    /// Writes the fields that apply to `channel`'s kind.
    fn apply(self, channel: &mut Channel) {
        if let Some(name) = self.name {
            channel.name = match channel.kind {
                ChannelKind::Text(_) => text_channel_name(&name),
                _ => name,
            };
        }
        if let Some(position) = self.position {
            channel.position = position;
        }
        if let Some(nsfw) = self.nsfw {
            channel.nsfw = nsfw;
        }
        if let Some(parent) = self.parent_id {
            channel.parent_id = parent;
        }
        if let Some(overwrites) = self.overwrites {
            channel.permission_overwrites = overwrites;
        }
        match &mut channel.kind {
            ChannelKind::Text(text) => {
                if let Some(topic) = self.topic {
                    text.topic = topic;
                }
                if let Some(rate) = self.rate_limit_per_user {
                    text.rate_limit_per_user = rate;
                }
                if let Some(minutes) = self.default_auto_archive_duration {
                    text.default_auto_archive_duration = minutes;
                }
            }
            ChannelKind::Voice(voice) => {
                if let Some(bitrate) = self.bitrate {
                    voice.bitrate = bitrate;
                }
                if let Some(limit) = self.user_limit {
                    voice.user_limit = limit;
                }
                if let Some(region) = self.rtc_region {
                    voice.rtc_region = region;
                }
            }
            ChannelKind::Category | ChannelKind::Thread(_) => {}
        }
    }
}

/// The overwrites of a body: each `{id, type, allow?, deny?}`, the role existing in the
/// guild for type 0, each target at most once.
fn read_overwrites(
    errors: &mut FormErrors,
    guild: &Guild,
    items: &[Value],
) -> Vec<PermissionOverwrite> {
    let mut overwrites: Vec<PermissionOverwrite> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let key = index.to_string();
        let path = |field: &'static str| ["permission_overwrites", key.as_str(), field];
        let Value::Object(object) = item else {
            errors.add(
                &["permission_overwrites", key.as_str()],
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            );
            continue;
        };
        let id = match object.get("id") {
            Some(value) => errors.snowflake(value, &path("id")).flatten(),
            None => {
                errors.required(&path("id"));
                None
            }
        };
        let kind = match object.get("type") {
            Some(value) => match value.as_u64() {
                Some(kind @ (0 | 1)) => Some(kind),
                _ => {
                    errors.add(
                        &path("type"),
                        "BASE_TYPE_CHOICES",
                        "Value must be one of {0, 1}.",
                    );
                    None
                }
            },
            None => {
                errors.required(&path("type"));
                None
            }
        };
        let allow = errors.permissions(object.get("allow"), &path("allow"));
        let deny = errors.permissions(object.get("deny"), &path("deny"));
        let (Some(id), Some(kind)) = (id, kind) else {
            continue;
        };
        let target = if kind == 0 {
            if !guild.roles.iter().any(|role| role.id == RoleId(id)) {
                errors.add(&path("id"), "UNKNOWN_ROLE", "Unknown role.");
                continue;
            }
            OverwriteTarget::Role(RoleId(id))
        } else {
            OverwriteTarget::Member(UserId(id))
        };
        if overwrites.iter().any(|existing| existing.target == target) {
            errors.add(&path("id"), "DUPLICATE_OVERWRITE", "Duplicate overwrite.");
            continue;
        }
        overwrites.push(PermissionOverwrite {
            target,
            allow: allow.bits(),
            deny: deny.bits(),
        });
    }
    overwrites
}

/// Discord's text channel names: lower case, each run of whitespace one dash.
fn text_channel_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}
