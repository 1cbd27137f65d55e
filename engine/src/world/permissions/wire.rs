//! Overwrites in Discord's JSON: `{"id": "…", "type": 0, "allow": "…", "deny": "…"}`.
//!
//! Flux writes the canonical form (id and bit sets as decimal strings, `type` 0 for a
//! role and 1 for a member). It reads what clients send: Discord's "partial overwrite"
//! of channel-create bodies, where `allow` and `deny` may be missing (meaning none), and
//! ids and bit sets as strings or as JSON integers (discord.py sends integers). Unknown
//! fields are ignored, as Discord does.
//!
//! Elsewhere: the decimal rules (`decimal.rs`, and the `snowflake` crate for ids).
//!
//! Invariant: decoding never panics; any malformed overwrite is a serde error, which a
//! REST handler turns into 50035 Invalid Form Body.

use super::bits::Permissions;
use super::compute::{Overwrite, OverwriteKind};
use serde::de::{self, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

impl Serialize for Overwrite {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_struct("Overwrite", 4)?;
        object.serialize_field("id", &self.id.to_string())?;
        object.serialize_field("type", &self.kind.discord_type())?;
        object.serialize_field("allow", &self.allow)?;
        object.serialize_field("deny", &self.deny)?;
        object.end()
    }
}

#[derive(Deserialize)]
struct WireOverwrite {
    #[serde(deserialize_with = "snowflake_string_or_integer")]
    id: u64,
    #[serde(rename = "type")]
    kind: u64,
    #[serde(default)]
    allow: Permissions,
    #[serde(default)]
    deny: Permissions,
}

impl<'de> Deserialize<'de> for Overwrite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Overwrite, D::Error> {
        // Only a JSON object: serde's derive would also take `[id, type, allow, deny]`.
        let wire = deserializer.deserialize_map(ObjectOnly)?;
        let kind = OverwriteKind::from_discord_type(wire.kind).ok_or_else(|| {
            de::Error::custom(format!(
                "overwrite type {} is neither 0 (role) nor 1 (member)",
                wire.kind
            ))
        })?;
        Ok(Overwrite {
            id: wire.id,
            kind,
            allow: wire.allow,
            deny: wire.deny,
        })
    }
}

struct ObjectOnly;

impl<'de> Visitor<'de> for ObjectOnly {
    type Value = WireOverwrite;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an overwrite object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<WireOverwrite, A::Error> {
        WireOverwrite::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

fn snowflake_string_or_integer<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    deserializer.deserialize_any(SnowflakeVisitor)
}

struct SnowflakeVisitor;

impl Visitor<'_> for SnowflakeVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snowflake as a decimal string or a non-negative integer")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
        snowflake::Snowflake::parse_ascii(text.as_bytes())
            .map(|id| id.get())
            .map_err(|error| E::custom(format!("bad snowflake: {error:?}")))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::custom("a snowflake is never negative"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::ids::{RoleId, UserId};
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn writes_discords_shape() {
        let overwrite =
            Overwrite::member(UserId(42), Permissions::VIEW_CHANNEL, Permissions::SPEAK);
        assert_eq!(
            serde_json::to_value(overwrite).unwrap(),
            json!({"id": "42", "type": 1, "allow": "1024", "deny": "2097152"})
        );
    }

    #[test]
    fn reads_partial_and_integer_forms() {
        let partial: Overwrite = serde_json::from_value(json!({"id": 7, "type": 0})).unwrap();
        assert_eq!(
            partial,
            Overwrite::role(RoleId(7), Permissions::NONE, Permissions::NONE)
        );
        let integers: Overwrite = serde_json::from_value(
            json!({"id": "7", "type": 1, "allow": 1024, "deny": "2048", "x": 1}),
        )
        .unwrap();
        assert_eq!(
            integers,
            Overwrite::member(
                UserId(7),
                Permissions::VIEW_CHANNEL,
                Permissions::SEND_MESSAGES
            )
        );
    }

    #[test]
    fn refuses_malformed_overwrites() {
        for bad in [
            json!({"id": "7", "type": 2}),
            json!({"id": "07", "type": 0}),
            json!({"id": -1, "type": 0}),
            json!({"type": 0}),
            json!({"id": "7"}),
            json!({"id": "7", "type": 0, "allow": "-1"}),
            json!({"id": "7", "type": 0, "deny": null}),
            json!([7, 0]),
        ] {
            assert!(
                serde_json::from_value::<Overwrite>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn round_trips(id in any::<u64>(), member in any::<bool>(), allow in any::<u64>(), deny in any::<u64>()) {
            let kind = if member { OverwriteKind::Member } else { OverwriteKind::Role };
            let overwrite = Overwrite {
                id,
                kind,
                allow: Permissions::from_bits_truncate(allow),
                deny: Permissions::from_bits_truncate(deny),
            };
            let text = serde_json::to_string(&overwrite).unwrap();
            prop_assert_eq!(serde_json::from_str::<Overwrite>(&text).unwrap(), overwrite);
        }

        #[test]
        fn arbitrary_json_never_panics(text in "\\PC{0,80}") {
            let _ = serde_json::from_str::<Overwrite>(&text);
        }
    }
}
