//! Property tests of the guild, channel, thread, member, ban, role and invite body and
//! query parsers (`guild_bodies.rs`, `channel_bodies.rs`, `member_bodies.rs`,
//! `role_bodies.rs`, `invite_bodies.rs`): none panics on any bytes or any JSON, and a
//! typed request written as Discord's JSON reads back as itself.

use super::channel_bodies::{
    parse_channel_edit, parse_channel_form, parse_channel_positions, parse_overwrite_form,
    parse_thread_form,
};
use super::guild_bodies::{parse_guild_edit, parse_guild_form, parse_guild_query};
use super::invite_bodies::{parse_invite_form, parse_invite_query};
use super::member_bodies::{
    parse_ban_form, parse_ban_list_query, parse_member_edit, parse_member_list_query,
    parse_member_search_query,
};
use super::role_bodies::{parse_role_form, parse_role_positions};
use crate::world::guild_ops::channel_forms::{OverwriteForm, ThreadForm};
use crate::world::guild_ops::guild_forms::{GuildForm, GuildLevels, GuildQuery};
use crate::world::guild_ops::member_forms::{
    BanForm, BanListQuery, InviteForm, InviteQuery, MemberListQuery, RoleForm,
};
use crate::world::permissions::Permissions;
use crate::world::RoleId;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Every body parser, on the same bytes.
fn parse_every_body(body: &[u8]) {
    let _ = parse_guild_form(body);
    let _ = parse_guild_edit(body);
    let _ = parse_channel_form(body);
    let _ = parse_channel_edit(body);
    let _ = parse_channel_positions(body);
    let _ = parse_overwrite_form(body);
    let _ = parse_thread_form(body, false);
    let _ = parse_thread_form(body, true);
    let _ = parse_member_edit(body);
    let _ = parse_ban_form(body);
    let _ = parse_role_form(body);
    let _ = parse_role_positions(body);
    let _ = parse_invite_form(body);
}

/// JSON made of the fields these bodies read, with values of every kind.
fn json_body() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0i64..110_000).prop_map(Value::from),
        any::<f64>().prop_map(|x| json!(x)),
        ".{0,8}".prop_map(Value::from),
        Just(Value::from("x".repeat(600))),
        any::<u64>().prop_map(|id| Value::from(id.to_string())),
        Just(Value::from("2030-01-01T00:00:00+00:00")),
    ];
    let keys = proptest::sample::select(vec![
        "name",
        "type",
        "topic",
        "position",
        "parent_id",
        "permission_overwrites",
        "id",
        "allow",
        "deny",
        "nsfw",
        "bitrate",
        "user_limit",
        "rate_limit_per_user",
        "rtc_region",
        "default_auto_archive_duration",
        "auto_archive_duration",
        "archived",
        "locked",
        "invitable",
        "lock_permissions",
        "description",
        "afk_timeout",
        "afk_channel_id",
        "system_channel_id",
        "owner_id",
        "preferred_locale",
        "verification_level",
        "default_message_notifications",
        "explicit_content_filter",
        "nick",
        "roles",
        "mute",
        "deaf",
        "channel_id",
        "communication_disabled_until",
        "reason",
        "delete_message_seconds",
        "delete_message_days",
        "permissions",
        "color",
        "colors",
        "primary_color",
        "hoist",
        "mentionable",
        "max_age",
        "max_uses",
        "temporary",
        "unique",
    ])
    .prop_map(String::from);
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn no_body_parser_panics_on_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..64)) {
        parse_every_body(&body);
    }

    #[test]
    fn no_body_parser_panics_on_any_json(value in json_body()) {
        parse_every_body(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn no_query_parser_panics(query in "[a-z_=&%0-9+.-]{0,40}") {
        let _ = parse_guild_query(&query);
        let _ = parse_member_list_query(&query);
        let _ = parse_member_search_query(&query);
        let _ = parse_ban_list_query(&query);
        let _ = parse_invite_query(&query);
    }

    #[test]
    fn guild_forms_round_trip(
        name in "[a-z]{2,100}",
        verification in proptest::option::of(0u8..5),
        notifications in proptest::option::of(0u8..2),
        content_filter in proptest::option::of(0u8..3),
        with_counts: bool,
    ) {
        let levels = GuildLevels { verification, notifications, content_filter };
        let mut body = json!({ "name": name });
        for (key, level) in [
            ("verification_level", verification),
            ("default_message_notifications", notifications),
            ("explicit_content_filter", content_filter),
        ] {
            if let Some(level) = level {
                body[key] = level.into();
            }
        }
        let form = parse_guild_form(&serde_json::to_vec(&body).unwrap());
        prop_assert_eq!(form, Ok(GuildForm { name: name.clone(), levels }));
        let edit = parse_guild_edit(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(edit.name, Some(name));
        prop_assert_eq!(edit.levels, levels);
        prop_assert!(edit.faults.is_empty());
        let query = format!("with_counts={with_counts}");
        prop_assert_eq!(parse_guild_query(&query), Ok(GuildQuery { with_counts }));
    }

    #[test]
    fn channel_and_thread_forms_round_trip(
        name in "[a-z]{1,100}",
        position in 0i32..1000,
        member: bool,
        allow: u64,
        deny: u64,
        private: bool,
        invitable: bool,
        rate in proptest::option::of(0u32..=21_600),
    ) {
        let allow = Permissions::from_bits_truncate(allow);
        let deny = Permissions::from_bits_truncate(deny);
        let body = json!({
            "name": name, "position": position,
            "permission_overwrites": [{
                "id": "42", "type": u8::from(member),
                "allow": allow.bits().to_string(), "deny": deny.bits().to_string(),
            }],
        });
        let form = parse_channel_form(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert!(form.faults.is_empty());
        prop_assert_eq!(form.fields.name.as_deref(), Some(name.as_str()));
        prop_assert_eq!(form.fields.position, Some(position));
        let entry = form.fields.overwrites.unwrap()[0];
        prop_assert_eq!((entry.id, entry.member, entry.allow, entry.deny), (42, member, allow, deny));

        let body = json!({
            "type": u8::from(member),
            "allow": allow.bits().to_string(),
            "deny": deny.bits().to_string(),
        });
        let overwrite = parse_overwrite_form(&serde_json::to_vec(&body).unwrap());
        prop_assert_eq!(overwrite, Ok(OverwriteForm { member, allow, deny }));

        let mut body = json!({
            "name": name, "type": if private { 12 } else { 11 }, "invitable": invitable,
        });
        if let Some(rate) = rate {
            body["rate_limit_per_user"] = rate.into();
        }
        let thread = parse_thread_form(&serde_json::to_vec(&body).unwrap(), false);
        let expected = ThreadForm {
            name,
            auto_archive_duration: None,
            rate_limit_per_user: rate,
            private,
            invitable,
        };
        prop_assert_eq!(thread, Ok(expected));
    }

    #[test]
    fn member_ban_role_and_invite_forms_round_trip(
        limit in 1usize..=1000,
        after: u64,
        before in proptest::option::of(1u64..u64::MAX >> 1),
        reason in proptest::option::of("[a-z ]{0,512}"),
        role_name in proptest::option::of("[a-z]{0,100}"),
        color in proptest::option::of(0u32..=0xFF_FFFF),
        hoist in proptest::option::of(any::<bool>()),
        roles in proptest::collection::vec(1u64..u64::MAX >> 1, 0..5),
        max_age_s in 0u32..=604_800,
        max_uses in 0u32..=100,
        temporary: bool,
        unique: bool,
        with_counts: bool,
    ) {
        let after = after >> 1;
        let query = format!("limit={limit}&after={after}");
        prop_assert_eq!(parse_member_list_query(&query), Ok(MemberListQuery { limit, after }));
        let mut query = format!("limit={limit}");
        if let Some(before) = before {
            query.push_str(&format!("&before={before}"));
        }
        let expected = BanListQuery { limit, before, after: None };
        prop_assert_eq!(parse_ban_list_query(&query), Ok(expected));

        let body = json!({ "reason": reason, "delete_message_seconds": 0 });
        let ban = parse_ban_form(&serde_json::to_vec(&body).unwrap());
        prop_assert_eq!(ban, Ok(BanForm { reason: reason.clone() }));

        let mut body = json!({});
        if let Some(name) = &role_name {
            body["name"] = name.clone().into();
        }
        if let Some(color) = color {
            body["color"] = color.into();
        }
        if let Some(hoist) = hoist {
            body["hoist"] = hoist.into();
        }
        let role = parse_role_form(&serde_json::to_vec(&body).unwrap());
        let expected = RoleForm {
            name: role_name.map(Some),
            permissions: None,
            color,
            hoist,
            mentionable: None,
        };
        prop_assert_eq!(role, Ok(expected));

        let ids: Vec<String> = roles.iter().map(u64::to_string).collect();
        let body = json!({ "roles": ids, "nick": reason });
        let edit = parse_member_edit(&serde_json::to_vec(&body).unwrap()).unwrap();
        let roles: Vec<RoleId> = roles.into_iter().map(RoleId).collect();
        prop_assert_eq!(edit.roles, Ok(Some(roles)));
        prop_assert_eq!(edit.mute, Ok(None));

        let entries: Vec<Value> = (0..3u64)
            .map(|index| json!({ "id": (index + 7).to_string(), "position": index }))
            .collect();
        let positions = parse_role_positions(&serde_json::to_vec(&entries).unwrap()).unwrap();
        prop_assert_eq!(positions.entries.len(), 3);

        let body = json!({
            "max_age": max_age_s, "max_uses": max_uses,
            "temporary": temporary, "unique": unique,
        });
        let invite = parse_invite_form(&serde_json::to_vec(&body).unwrap());
        prop_assert_eq!(invite, Ok(InviteForm { max_age_s, max_uses, temporary, unique }));
        let query = format!("with_counts={with_counts}&with_expiration=true");
        prop_assert_eq!(parse_invite_query(&query), Ok(InviteQuery { with_counts }));
    }
}

#[test]
fn a_body_that_is_no_object_is_refused_as_before() {
    use crate::world::Refusal;
    assert_eq!(parse_guild_edit(b"{"), Err(Refusal::InvalidJson));
    assert!(matches!(
        parse_role_form(b"[1]"),
        Err(Refusal::InvalidForm(_))
    ));
    assert!(matches!(
        parse_channel_positions(b"{}"),
        Err(Refusal::InvalidForm(_))
    ));
    // A shape fault of a collect-all body travels with the form, for the owner to
    // answer with the faults only the guild can tell.
    let edit = parse_guild_edit(br#"{"name": "x", "afk_channel_id": "no"}"#).unwrap();
    assert!(!edit.faults.is_empty());
}
