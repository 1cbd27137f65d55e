//! Property tests of the member, role, ban and invite operations over random request
//! sequences on the fixture guild (`member_fixture.rs`):
//! - the contract of `guild_ops`: an `Err` leaves the guild unchanged, and `changed`
//!   is true exactly when the guild differs afterwards; every result keeps the model's
//!   invariants (`World::validate`) and the role positions 0 (@everyone), 1..n;
//! - every dispatch an operation lists deserialises as twilight-model's strict type for
//!   its name;
//! - the role hierarchy: a member who is not the owner never grants or removes a
//!   permission bit they lack, never changes a role at or above their highest role (nor
//!   lets another role overtake it), and never gives or takes such a role from a member.

use super::authority::Actor;
use super::member_fixture::Fixture;
use super::Reply;
use crate::rest::Method;
use crate::world::ids::{RoleId, UserId};
use crate::world::model::Guild;
use crate::world::permissions::Permissions;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

const METHODS: [Method; 5] = [
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Patch,
    Method::Delete,
];

const TEMPLATES: [&str; 13] = [
    "/guilds/{g}/members",
    "/guilds/{g}/members/search",
    "/guilds/{g}/members/{u}",
    "/guilds/{g}/members/@me",
    "/guilds/{g}/members/{u}/roles/{r}",
    "/guilds/{g}/bans",
    "/guilds/{g}/bans/{u}",
    "/guilds/{g}/roles",
    "/guilds/{g}/roles/{r}",
    "/guilds/{g}/invites",
    "/channels/{c}/invites",
    "/invites/{code}",
    "/users/@me/guilds/{g}",
];

/// The methods each template serves, in `TEMPLATES` order.
const VALID_METHODS: [&[Method]; 13] = [
    &[Method::Get],
    &[Method::Get],
    &[Method::Get, Method::Patch, Method::Delete],
    &[Method::Get, Method::Patch],
    &[Method::Put, Method::Delete],
    &[Method::Get],
    &[Method::Get, Method::Put, Method::Delete],
    &[Method::Get, Method::Post, Method::Patch],
    &[Method::Get, Method::Patch, Method::Delete],
    &[Method::Get],
    &[Method::Get, Method::Post],
    &[Method::Get, Method::Delete, Method::Post],
    &[Method::Delete],
];

const QUERIES: [&str; 8] = [
    "",
    "query=m&limit=3",
    "limit=2",
    "limit=0",
    "after=5",
    "before=x",
    "with_counts=true",
    "limit=1000&before=99999999999999999",
];

const FIELDS: [&str; 16] = [
    "nick",
    "roles",
    "mute",
    "deaf",
    "name",
    "permissions",
    "color",
    "hoist",
    "mentionable",
    "max_age",
    "max_uses",
    "unique",
    "temporary",
    "delete_message_seconds",
    "reason",
    "communication_disabled_until",
];

/// One random request: indexes into the fixture's pools, resolved by `Request::render`.
#[derive(Debug, Clone)]
struct Request {
    actor: usize,
    method: usize,
    template: usize,
    user: usize,
    role: usize,
    channel: usize,
    code: usize,
    query: usize,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Empty,
    Garbage(Vec<u8>),
    /// Fields with a value; `true`: converted to the field's own type first.
    Object(Vec<(usize, Scalar, bool)>),
    Positions(Vec<(usize, i64)>),
}

#[derive(Debug, Clone)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
    Permissions(u64),
    Roles(Vec<usize>),
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        Just(Scalar::Null),
        any::<bool>().prop_map(Scalar::Bool),
        prop_oneof![-2i64..300, Just(604_800), Just(16_777_216)].prop_map(Scalar::Int),
        "[a-z ]{0,40}".prop_map(Scalar::Text),
        any::<u64>().prop_map(Scalar::Permissions),
        prop::collection::vec(0usize..8, 0..4).prop_map(Scalar::Roles),
    ]
}

/// `value` turned into the type `field` takes, so most bodies get past validation.
fn typed_value(field: &str, value: &Scalar) -> Scalar {
    let number = match value {
        Scalar::Int(n) => *n,
        Scalar::Permissions(bits) => (*bits % 1000) as i64,
        Scalar::Text(text) => text.len() as i64,
        Scalar::Bool(b) => i64::from(*b),
        Scalar::Null | Scalar::Roles(_) => 0,
    };
    match field {
        "nick" | "name" | "reason" => match value {
            Scalar::Null => Scalar::Null,
            Scalar::Text(text) => Scalar::Text(text.clone()),
            _ => Scalar::Text(format!("n{number}")),
        },
        "roles" => match value {
            Scalar::Roles(picks) => Scalar::Roles(picks.clone()),
            _ => Scalar::Roles(vec![number.unsigned_abs() as usize]),
        },
        "permissions" => match value {
            Scalar::Permissions(bits) => Scalar::Permissions(*bits),
            _ => Scalar::Permissions(number.unsigned_abs()),
        },
        "color" | "max_age" | "max_uses" | "delete_message_seconds" => {
            Scalar::Int(number.clamp(0, 100))
        }
        "communication_disabled_until" => Scalar::Null,
        _ => Scalar::Bool(number % 2 == 1),
    }
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        2 => Just(Body::Empty),
        1 => prop::collection::vec(any::<u8>(), 0..16).prop_map(Body::Garbage),
        4 => prop::collection::vec(
            (0..FIELDS.len(), scalar(), prop::bool::weighted(0.9)),
            0..4
        )
        .prop_map(Body::Object),
        2 => prop::collection::vec((0usize..8, -1i64..6), 0..4).prop_map(Body::Positions),
    ]
}

/// Mostly the owner and the admin, who get past the permission checks.
fn actor() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(0usize), 2 => Just(2usize), 5 => 0usize..10]
}

fn request() -> impl Strategy<Value = Request> {
    (
        (actor(), 0..METHODS.len(), 0..TEMPLATES.len(), 0usize..10),
        (0usize..8, 0usize..3, 0usize..4, 0..QUERIES.len()),
        body(),
    )
        .prop_map(
            |((actor, method, template, user), (role, channel, code, query), body)| Request {
                actor,
                method,
                template,
                user,
                role,
                channel,
                code,
                query,
                body,
            },
        )
}

/// The fixture's users, then two strangers.
fn users(f: &Fixture) -> [UserId; 10] {
    [
        f.owner,
        f.bot,
        f.admin,
        f.moderator,
        f.helper,
        f.plain,
        f.outsider,
        f.banned,
        UserId(999),
        UserId(f.owner.0 + 1),
    ]
}

/// The guild's roles now (it changes), padded with unknown ids.
fn roles(guild: &Guild) -> Vec<RoleId> {
    let mut ids: Vec<RoleId> = guild.roles.iter().map(|role| role.id).collect();
    ids.push(RoleId(77));
    ids
}

impl Request {
    fn render(&self, f: &Fixture) -> (UserId, Method, String, &'static str, Vec<u8>) {
        let users = users(f);
        let roles = roles(&f.guild);
        let role = roles[self.role % roles.len()];
        let channel = [f.text, f.voice, crate::world::ChannelId(12)][self.channel];
        let code = ["live", "old", "nope", "a"][self.code];
        let mut codes: Vec<&str> = f.guild.invites.iter().map(|i| i.code.as_str()).collect();
        codes.push(code);
        let path = TEMPLATES[self.template]
            .replace("{g}", &f.guild.id.to_string())
            .replace("{u}", &users[self.user].to_string())
            .replace("{r}", &role.to_string())
            .replace("{c}", &channel.to_string())
            .replace("{code}", codes[self.code % codes.len()]);
        let valid = VALID_METHODS[self.template];
        let method = valid
            .get(self.method % (valid.len() + 1))
            .copied()
            .unwrap_or(METHODS[self.method % METHODS.len()]);
        let body = match &self.body {
            Body::Empty => Vec::new(),
            Body::Garbage(bytes) => bytes.clone(),
            Body::Object(fields) => {
                let mut object = serde_json::Map::new();
                for (field, value, typed) in fields {
                    let name = FIELDS[*field];
                    let value = if *typed {
                        typed_value(name, value)
                    } else {
                        value.clone()
                    };
                    let value = match &value {
                        Scalar::Null => Value::Null,
                        Scalar::Bool(b) => json!(b),
                        Scalar::Int(n) => json!(n),
                        Scalar::Text(text) => json!(text),
                        Scalar::Permissions(bits) => json!(bits.to_string()),
                        Scalar::Roles(picks) => json!(picks
                            .iter()
                            .map(|pick| roles[pick % roles.len()].to_string())
                            .collect::<Vec<_>>()),
                    };
                    object.insert(name.to_string(), value);
                }
                serde_json::to_vec(&Value::Object(object)).unwrap()
            }
            Body::Positions(moves) => {
                let list: Vec<Value> = moves
                    .iter()
                    .map(|(pick, position)| {
                        json!({"id": roles[pick % roles.len()].to_string(), "position": position})
                    })
                    .collect();
                serde_json::to_vec(&list).unwrap()
            }
        };
        (
            users[self.actor],
            method,
            format!("/api/v10{path}"),
            QUERIES[self.query],
            body,
        )
    }
}

/// Deserialises the event's `d` as twilight's type for its name.
fn assert_strict_event(event: &super::GuildEvent) {
    use twilight_model::gateway::payload::incoming as twilight;
    fn check<T: serde::de::DeserializeOwned>(event: &super::GuildEvent) {
        if let Err(error) = serde_json::from_value::<T>(event.d.clone()) {
            panic!("twilight rejects {}: {error}\n{:#}", event.name, event.d);
        }
    }
    match event.name {
        "GUILD_MEMBER_ADD" => check::<twilight::MemberAdd>(event),
        "GUILD_MEMBER_UPDATE" => check::<twilight::MemberUpdate>(event),
        "GUILD_MEMBER_REMOVE" => check::<twilight::MemberRemove>(event),
        "GUILD_BAN_ADD" => check::<twilight::BanAdd>(event),
        "GUILD_BAN_REMOVE" => check::<twilight::BanRemove>(event),
        "GUILD_ROLE_CREATE" => check::<twilight::RoleCreate>(event),
        "GUILD_ROLE_UPDATE" => check::<twilight::RoleUpdate>(event),
        "GUILD_ROLE_DELETE" => check::<twilight::RoleDelete>(event),
        "INVITE_CREATE" => check::<twilight::InviteCreate>(event),
        "INVITE_DELETE" => check::<twilight::InviteDelete>(event),
        "CHANNEL_UPDATE" => check::<twilight::ChannelUpdate>(event),
        other => panic!("unexpected dispatch {other}"),
    }
}

fn assert_model_invariants(f: &Fixture) {
    let mut world = f.world.clone();
    world.guilds[0] = f.guild.clone();
    world.validate().unwrap();
    let everyone = f.guild.id.everyone_role();
    let mut positions: Vec<i32> = f
        .guild
        .roles
        .iter()
        .filter(|role| role.id != everyone)
        .map(|role| role.position)
        .collect();
    positions.sort_unstable();
    let expected: Vec<i32> = (1..=positions.len() as i32).collect();
    assert_eq!(positions, expected, "role positions are 1..n");
    let everyone_role = f.guild.roles.iter().find(|role| role.id == everyone);
    assert_eq!(everyone_role.map(|role| role.position), Some(0));
}

/// Checks the hierarchy between `before` and `after` for a non-owner `actor`.
fn assert_hierarchy(before: &Guild, after: &Guild, actor: &Actor) {
    assert!(!actor.owner);
    let old: HashMap<RoleId, _> = before.roles.iter().map(|role| (role.id, role)).collect();
    let new: HashMap<RoleId, _> = after.roles.iter().map(|role| (role.id, role)).collect();
    for role in &after.roles {
        let changed = match old.get(&role.id) {
            Some(old) => Permissions::from_bits_truncate(old.permissions ^ role.permissions),
            None => Permissions::from_bits_truncate(role.permissions),
        };
        assert!(
            actor.permissions.contains(changed),
            "{actor:?} changed bits {changed:?} of {role:?}"
        );
    }
    for protected in before
        .roles
        .iter()
        .filter(|role| role.position >= actor.highest_position)
    {
        let now = new
            .get(&protected.id)
            .unwrap_or_else(|| panic!("{actor:?} deleted {protected:?}"));
        let mut moved = (*now).clone();
        moved.position = protected.position;
        assert_eq!(&moved, protected, "{actor:?} edited a protected role");
        for other in &after.roles {
            let was = old.get(&other.id).map(|role| role.position);
            match was {
                Some(was) if was < protected.position => assert!(other.position < now.position),
                Some(was) if was > protected.position => assert!(other.position > now.position),
                Some(_) => {}
                // Discord creates every role at position 1, above @everyone, for anyone
                // with MANAGE_ROLES (even one whose highest role is @everyone): only roles
                // above @everyone are protected from being overtaken by a new one.
                None if protected.id == before.id.everyone_role() => {}
                None => assert!(other.position < now.position, "a new role above {now:?}"),
            }
        }
    }
    for member in &after.members {
        let Some(was) = before.member(member.user_id) else {
            continue;
        };
        let diff = member
            .roles
            .iter()
            .filter(|id| !was.roles.contains(id))
            .chain(was.roles.iter().filter(|id| !member.roles.contains(id)));
        for id in diff {
            if let Some(role) = old.get(id) {
                if new.contains_key(id) {
                    assert!(
                        role.position < actor.highest_position,
                        "{actor:?} moved {role:?} on {member:?}"
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn errors_leave_the_guild_unchanged(requests in prop::collection::vec(request(), 1..8)) {
        let mut f = Fixture::new();
        for request in &requests {
            let (actor, method, path, query, body) = request.render(&f);
            let before = f.guild.clone();
            let body = String::from_utf8_lossy(&body).into_owned();
            match f.run(actor, method, &path, query, &body) {
                Err(error) => {
                    prop_assert_eq!(&f.guild, &before, "{:?} {} -> {:?}", method, path, error);
                    prop_assert!(error.status() >= 400);
                }
                Ok(outcome) => {
                    prop_assert_eq!(
                        outcome.changed,
                        f.guild != before,
                        "{:?} {} {}", method, path, body
                    );
                    if !outcome.changed {
                        prop_assert!(outcome.events.is_empty());
                    }
                    prop_assert_eq!(outcome.body.is_empty(), outcome.reply == Reply::Done);
                    for event in &outcome.events {
                        assert_strict_event(event);
                    }
                }
            }
            assert_model_invariants(&f);
        }
    }

    #[test]
    fn hierarchy_is_never_bypassed(
        requests in prop::collection::vec(request(), 1..8),
        bits in prop::collection::vec(any::<u64>(), 8),
    ) {
        let mut f = Fixture::new();
        for (step, request) in requests.iter().enumerate() {
            // Only role and member-role routes, and only non-owner members as actors.
            let mut request = request.clone();
            request.template = [4, 7, 8, 2][request.template % 4];
            request.actor = [1, 2, 3, 4, 4, 5][(request.actor + step) % 6];
            let actor_id = users(&f)[request.actor];
            let Ok(actor) = Actor::of(&f.guild, actor_id, 0) else { continue };
            if let Body::Object(fields) = &mut request.body {
                // Half the time only bits the actor holds, so some grants succeed.
                let mut bits = bits[step % bits.len()];
                if bits % 2 == 0 {
                    bits &= actor.permissions.bits();
                }
                fields.push((5, Scalar::Permissions(bits), true));
            }
            let (_, method, path, query, body) = request.render(&f);
            let before = f.guild.clone();
            let body = String::from_utf8_lossy(&body).into_owned();
            if f.run(actor_id, method, &path, query, &body).is_ok() {
                assert_hierarchy(&before, &f.guild, &actor);
            }
        }
    }
}
