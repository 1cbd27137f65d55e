//! Serde support (feature `serde`): Discord's JSON form of an id.
//!
//! Serializes as a decimal string (`"175928847299117063"`), because
//! JavaScript clients lose precision on integers past 2^53. Deserializes from
//! that string under the strict rules of `decimal.rs`, or from a
//! non-negative integer, which some clients and bots send. Floats, negative
//! numbers and anything else are errors.

use core::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::{Snowflake, DECIMAL_LEN_MAX};

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; DECIMAL_LEN_MAX];
        serializer.serialize_str(self.encode_decimal(&mut buf))
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Snowflake, D::Error> {
        deserializer.deserialize_any(SnowflakeVisitor)
    }
}

struct SnowflakeVisitor;

impl Visitor<'_> for SnowflakeVisitor {
    type Value = Snowflake;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snowflake as a decimal string or a non-negative integer")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Snowflake, E> {
        Snowflake::parse_ascii(text.as_bytes()).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, raw: u64) -> Result<Snowflake, E> {
        Ok(Snowflake::new(raw))
    }

    fn visit_i64<E: de::Error>(self, raw: i64) -> Result<Snowflake, E> {
        match u64::try_from(raw) {
            Ok(raw) => Ok(Snowflake::new(raw)),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(raw), &self)),
        }
    }
}
