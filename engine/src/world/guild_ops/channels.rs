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

use serde_json::Value;

use super::channel_forms::{
    ChannelEdit, ChannelFields, ChannelForm, ChannelPositions, OverwriteEntry, OverwriteForm,
    PositionEntry,
};
use super::guild_object::guild_update;
use super::route_entry::{channel_access, channel_event, users_event, viewers, Access};
use super::threads;
use super::Reply;
use super::{Audience, GuildEvent, OpContext, Outcome};
use super::{FormErrors, Parsed};
use crate::gateway::Intents;
use crate::world::ids::{ChannelId, RoleId, UserId};
use crate::world::json::{channel_json, encode};
use crate::world::model::{
    Channel, ChannelKind, Guild, OverwriteTarget, PermissionOverwrite, TextSettings, VoiceSettings,
};
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
    form: &Parsed<ChannelForm>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let access = Access::guild(guild, cx)?;
    access.require(Permissions::MANAGE_CHANNELS)?;
    let form = form.as_ref().map_err(Clone::clone)?;
    let mut errors = form.faults.clone();
    let kind_type = form.kind_type;
    let patch = ChannelPatch::of(&mut errors, &form.fields, guild, None, kind_type == 4);
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
    edit: &Parsed<ChannelEdit>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let (index, access, permissions) = channel_access(guild, channel_id, cx)?;
    if guild.channels[index].kind.thread().is_some() {
        let thread = match edit.as_ref() {
            Ok(edit) => edit.thread.clone(),
            Err(refusal) => Err(refusal.clone()),
        };
        return threads::modify(guild, index, permissions, thread, cx);
    }
    if !permissions.contains(Permissions::MANAGE_CHANNELS) {
        return Err(Refusal::MissingPermissions);
    }
    let edit = edit.as_ref().map_err(Clone::clone)?;
    let mut errors = edit.faults.clone();
    let current = &guild.channels[index];
    let current_type = i64::from(current.kind.discord_type());
    if edit
        .kind_type
        .is_some_and(|kind_type| kind_type != Some(current_type))
    {
        let message = format!("Value must be one of {{{current_type}}}.");
        errors.add(&["type"], "BASE_TYPE_CHOICES", message);
    }
    let is_category = matches!(current.kind, ChannelKind::Category);
    let patch = ChannelPatch::of(
        &mut errors,
        &edit.fields,
        guild,
        Some(channel_id),
        is_category,
    );
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
    positions: &Parsed<ChannelPositions>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let access = Access::guild(guild, cx)?;
    access.require(Permissions::MANAGE_CHANNELS)?;
    let positions = positions.as_ref().map_err(Clone::clone)?;
    let mut errors = positions.faults.clone();
    let mut updated: Vec<(usize, Channel)> = Vec::new();
    for entry in &positions.entries {
        let key = entry.index.to_string();
        if let Some(change) = read_position(&mut errors, guild, &key, entry) {
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
    entry: &PositionEntry,
) -> Option<(usize, Channel)> {
    let id = entry.id;
    let Some(index) = guild
        .channels
        .iter()
        .position(|channel| channel.id == id && channel.kind.thread().is_none())
    else {
        errors.add(&[key, "id"], "CHANNEL_INVALID", "Unknown channel.");
        return None;
    };
    let mut channel = guild.channels[index].clone();
    let mut ok = entry.faults.is_empty();
    errors.merge(entry.faults.clone());
    if let Some(position) = entry.position {
        channel.position = position;
    }
    if let Some(parent) = entry.parent_id {
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
    if entry.lock_permissions {
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
    form: &Parsed<OverwriteForm>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let (index, access, permissions) = overwrite_access(guild, channel_id, cx)?;
    let OverwriteForm {
        member,
        allow,
        deny,
    } = *form.as_ref().map_err(Clone::clone)?;
    let target = if member {
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

/// The fields of a channel create or modify body with what only the guild can tell
/// checked: the parent is a category of it, each overwrite's role exists.
#[derive(Debug)]
struct ChannelPatch<'a> {
    fields: &'a ChannelFields,
    parent_id: Option<Option<ChannelId>>,
    overwrites: Option<Vec<PermissionOverwrite>>,
}

impl<'a> ChannelPatch<'a> {
    /// Checks `fields` against the guild (recording faults) for channel `id` (`None`: a
    /// new one).
    fn of(
        errors: &mut FormErrors,
        fields: &'a ChannelFields,
        guild: &Guild,
        id: Option<ChannelId>,
        is_category: bool,
    ) -> ChannelPatch<'a> {
        let mut patch = ChannelPatch {
            fields,
            parent_id: None,
            overwrites: None,
        };
        if let Some(parent) = fields.parent_id {
            if parent_ok(guild, parent, id, is_category) {
                patch.parent_id = Some(parent);
            } else {
                errors.add(&["parent_id"], "CHANNEL_PARENT_INVALID", "Invalid parent.");
            }
        }
        if let Some(entries) = &fields.overwrites {
            patch.overwrites = Some(read_overwrites(errors, guild, entries));
        }
        patch
    }

    /// Writes the fields that apply to `channel`'s kind.
    fn apply(self, channel: &mut Channel) {
        let fields = self.fields;
        if let Some(name) = &fields.name {
            channel.name = match channel.kind {
                ChannelKind::Text(_) => text_channel_name(name),
                _ => name.clone(),
            };
        }
        if let Some(position) = fields.position {
            channel.position = position;
        }
        if let Some(nsfw) = fields.nsfw {
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
                if let Some(topic) = &fields.topic {
                    text.topic = topic.clone();
                }
                if let Some(rate) = fields.rate_limit_per_user {
                    text.rate_limit_per_user = rate;
                }
                if let Some(minutes) = fields.default_auto_archive_duration {
                    text.default_auto_archive_duration = minutes;
                }
            }
            ChannelKind::Voice(voice) => {
                if let Some(bitrate) = fields.bitrate {
                    voice.bitrate = bitrate;
                }
                if let Some(limit) = fields.user_limit {
                    voice.user_limit = limit;
                }
                if let Some(region) = &fields.rtc_region {
                    voice.rtc_region = region.clone();
                }
            }
            ChannelKind::Category | ChannelKind::Thread(_) => {}
        }
    }
}

/// The overwrites of a body's well-formed entries: the role existing in the guild for
/// type 0, each target at most once.
fn read_overwrites(
    errors: &mut FormErrors,
    guild: &Guild,
    entries: &[OverwriteEntry],
) -> Vec<PermissionOverwrite> {
    let mut overwrites: Vec<PermissionOverwrite> = Vec::new();
    for entry in entries {
        let key = entry.index.to_string();
        let path = ["permission_overwrites", key.as_str(), "id"];
        let target = if entry.member {
            OverwriteTarget::Member(UserId(entry.id))
        } else {
            if !guild.roles.iter().any(|role| role.id == RoleId(entry.id)) {
                errors.add(&path, "UNKNOWN_ROLE", "Unknown role.");
                continue;
            }
            OverwriteTarget::Role(RoleId(entry.id))
        };
        if overwrites.iter().any(|existing| existing.target == target) {
            errors.add(&path, "DUPLICATE_OVERWRITE", "Duplicate overwrite.");
            continue;
        }
        overwrites.push(PermissionOverwrite {
            target,
            allow: entry.allow.bits(),
            deny: entry.deny.bits(),
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
