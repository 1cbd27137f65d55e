//! The guild object's own routes: create (`POST /guilds`), get (with `with_counts`),
//! modify (`PATCH`) and delete, as Discord's `resources/guild` describes them.
//!
//! The bodies and the query arrive typed (`guild_forms.rs`, read by `rest::guild_bodies`
//! on the receiving core); a body's shape faults are that parser's, what needs the guild
//! is checked here.
//!
//! Discord's rules kept here:
//! - Create: `name` 2–100 characters (else 50035). The caller becomes the owner and the
//!   only member; the guild gets its `@everyone` role (id = guild id) with Discord's
//!   default permissions
//!   ([`EVERYONE_DEFAULT`](crate::world::permissions::EVERYONE_DEFAULT)), a `#general`
//!   text channel (also the system channel) and a `General` voice channel. `verification_level`,
//!   `default_message_notifications` and `explicit_content_filter` are honoured; the
//!   optional `roles`, `channels`, `icon`, `afk_*` and `system_channel_*` fields are
//!   accepted and ignored (Flux builds the default layout instead).
//! - Get: any member; `with_counts=true` adds `approximate_member_count` and
//!   `approximate_presence_count` (members `OpContext::online` says are online: every
//!   core, the owner too, holds the presence map its users' home cores broadcast).
//! - Modify: MANAGE_GUILD; `owner_id` (a transfer) only by the owner, to a member;
//!   `afk_channel_id` must be a voice channel of the guild, `system_channel_id` a text
//!   channel. `icon`, `banner`, `splash`, `features`, … are ignored (Flux has none).
//!   A modify that changes nothing stores nothing and sends no GUILD_UPDATE.
//! - Delete: the owner only (anyone else 50013), 204. See `route_entry` for how the
//!   app learns of it.

use serde_json::Value;

use super::guild_forms::{GuildEdit, GuildForm, GuildQuery};
use super::route_entry::Access;
use super::FormErrors;
use super::{Audience, GuildEvent, OpContext, Outcome};
use super::{Parsed, Reply};
use crate::gateway::Intents;
use crate::world::ids::{ChannelId, GuildId};
use crate::world::json::{encode, guild_json};
use crate::world::model::{ChannelKind, Guild};
use crate::world::permissions::Permissions;
use crate::world::Refusal;

/// `POST /guilds`: the new guild and its 201 answer (no events: the app derives the
/// owner's GUILD_CREATE).
pub(super) fn create(
    id: GuildId,
    form: &Parsed<GuildForm>,
    cx: &mut OpContext<'_>,
) -> Result<(Guild, Outcome), Refusal> {
    if cx.users.user(cx.actor).is_none() {
        return Err(Refusal::UnknownUser);
    }
    let form = form.as_ref().map_err(Clone::clone)?;
    let text_id = ChannelId((cx.next_id)()?);
    let voice_id = ChannelId((cx.next_id)()?);
    let mut guild = crate::world::new_guild(
        id,
        &form.name,
        cx.actor,
        [text_id, voice_id],
        cx.now_unix_ms,
    );
    form.levels.apply(&mut guild);
    let outcome = Outcome::write(Reply::Created, encode(&guild_json(&guild)), Vec::new());
    Ok((guild, outcome))
}

/// `GET /guilds/{id}`: any member; `with_counts=true` adds the approximate counts.
pub(super) fn get(
    guild: &Guild,
    query: Parsed<GuildQuery>,
    cx: &OpContext<'_>,
) -> Result<Outcome, Refusal> {
    Access::guild(guild, cx)?;
    let query = query?;
    let mut value = guild_json(guild);
    if query.with_counts {
        if let Value::Object(object) = &mut value {
            object.insert(
                "approximate_member_count".into(),
                guild.members.len().into(),
            );
            object.insert(
                "approximate_presence_count".into(),
                super::online_count(guild, cx).into(),
            );
        }
    }
    Ok(Outcome::read(Reply::Shown, encode(&value)))
}

/// `PATCH /guilds/{id}`.
pub(super) fn modify(
    guild: &mut Guild,
    edit: &Parsed<GuildEdit>,
    cx: &mut OpContext<'_>,
) -> Result<Outcome, Refusal> {
    let access = Access::guild(guild, cx)?;
    access.require(Permissions::MANAGE_GUILD)?;
    let edit = edit.as_ref().map_err(Clone::clone)?;
    let mut errors = edit.faults.clone();
    let afk_channel = channel_field(
        &mut errors,
        guild,
        edit.afk_channel_id,
        "afk_channel_id",
        |kind| matches!(kind, ChannelKind::Voice(_)),
    );
    let system_channel = channel_field(
        &mut errors,
        guild,
        edit.system_channel_id,
        "system_channel_id",
        |kind| matches!(kind, ChannelKind::Text(_)),
    );
    let owner = edit.owner_id;
    if owner.is_some_and(|owner| guild.member(owner).is_none()) {
        errors.add(&["owner_id"], "GUILD_OWNER_INVALID", "Unknown member.");
    }
    errors.finish()?;
    if owner.is_some_and(|owner| owner != guild.owner_id) && cx.actor != guild.owner_id {
        return Err(Refusal::MissingPermissions);
    }

    let before = guild.clone();
    if let Some(name) = &edit.name {
        guild.name = name.clone();
    }
    if let Some(description) = &edit.description {
        guild.description = description.clone();
    }
    if let Some(timeout) = edit.afk_timeout {
        guild.afk_timeout = timeout;
    }
    if let Some(locale) = &edit.preferred_locale {
        guild.preferred_locale = locale.clone();
    }
    if let Some(channel) = afk_channel {
        guild.afk_channel_id = channel;
    }
    if let Some(channel) = system_channel {
        guild.system_channel_id = channel;
    }
    if let Some(owner) = owner {
        guild.owner_id = owner;
    }
    edit.levels.apply(guild);
    let body = encode(&guild_json(guild));
    if *guild == before {
        return Ok(Outcome::read(Reply::Shown, body));
    }
    let event = guild_update(guild);
    Ok(Outcome::write(Reply::Shown, body, vec![event]))
}

/// GUILD_UPDATE with the whole guild object, to every member with GUILDS.
pub(super) fn guild_update(guild: &Guild) -> GuildEvent {
    GuildEvent {
        name: "GUILD_UPDATE",
        d: guild_json(guild),
        intents: Intents::GUILDS,
        audience: Audience::Guild,
    }
}

/// `DELETE /guilds/{id}`: the owner only.
pub(super) fn delete(guild: &mut Guild, cx: &OpContext<'_>) -> Result<Outcome, Refusal> {
    Access::guild(guild, cx)?;
    if cx.actor != guild.owner_id {
        return Err(Refusal::MissingPermissions);
    }
    guild.members.clear();
    guild.channels.clear();
    guild.invites.clear();
    guild.bans.clear();
    Ok(Outcome::write(Reply::Done, Vec::new(), Vec::new()))
}

/// A nullable channel id field that must name a channel of `guild` of the right kind:
/// `Some(None)` for `null`, `None` when absent or not such a channel (the fault
/// recorded).
fn channel_field(
    errors: &mut FormErrors,
    guild: &Guild,
    field: Option<Option<ChannelId>>,
    key: &'static str,
    kind_ok: fn(&ChannelKind) -> bool,
) -> Option<Option<ChannelId>> {
    let Some(id) = field? else {
        return Some(None);
    };
    match guild.channel(id) {
        Some(channel) if kind_ok(&channel.kind) => Some(Some(id)),
        _ => {
            errors.add(
                &[key],
                "CHANNEL_TYPE_INVALID",
                "Invalid channel for this field.",
            );
            None
        }
    }
}
