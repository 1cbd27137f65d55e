//! The decimal string form permissions travel in.
//!
//! Since API v8 Discord serialises every permission field (`permissions`, `allow`,
//! `deny`) as a decimal string, because the bits exceed 2^53 and JavaScript numbers
//! would lose them. Requests may also send a JSON number; `Deserialize` accepts both.
//!
//! Parsing rules for untrusted text, checked in this order (the first broken rule is the
//! error): not empty; at most 20 bytes (bounds the work before any byte is read); ASCII
//! digits only (no sign, space or `_`); no leading zero unless the text is `"0"`; fits
//! in `u64`. Bits Discord does not define are then dropped, as Discord ignores them, so
//! a client that sends a newer bit than Flux knows still gets its request through.
//!
//! Invariant: no input makes the parser panic; `parse_decimal(encode(p)) == p` for every
//! `p` (property-tested below).

use super::bits::Permissions;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Longest decimal form of a `u64` (`u64::MAX` has 20 digits).
pub const PERMISSIONS_DECIMAL_LEN_MAX: usize = 20;

/// Why a permission string was refused. A REST handler answers 400 with Discord's
/// 50035 Invalid Form Body naming the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermissionsParseError {
    /// The string is empty.
    Empty,
    /// More than 20 bytes: longer than any `u64`.
    TooLong {
        /// The length received.
        len: usize,
    },
    /// A byte that is not an ASCII digit (signs and whitespace included).
    InvalidDigit {
        /// Where it is.
        index: usize,
    },
    /// `"0…"` with more digits: not the canonical form.
    LeadingZero,
    /// The value does not fit in 64 bits.
    Overflow,
}

impl fmt::Display for PermissionsParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PermissionsParseError::Empty => f.write_str("permissions string is empty"),
            PermissionsParseError::TooLong { len } => {
                write!(f, "permissions string has {len} bytes, more than 20")
            }
            PermissionsParseError::InvalidDigit { index } => {
                write!(f, "permissions string has a non-digit at byte {index}")
            }
            PermissionsParseError::LeadingZero => {
                f.write_str("permissions string has a leading zero")
            }
            PermissionsParseError::Overflow => f.write_str("permissions value exceeds 64 bits"),
        }
    }
}

impl std::error::Error for PermissionsParseError {}

impl Permissions {
    /// Parses Discord's decimal string form from untrusted text (see the module rules).
    ///
    /// ```
    /// use engine::world::permissions::{Permissions, PermissionsParseError};
    ///
    /// assert_eq!(Permissions::parse_decimal("1024"), Ok(Permissions::VIEW_CHANNEL));
    /// assert_eq!(Permissions::parse_decimal(&(1u64 << 47).to_string()), Ok(Permissions::NONE));
    /// assert_eq!(Permissions::parse_decimal("-1"), Err(PermissionsParseError::InvalidDigit { index: 0 }));
    /// ```
    pub fn parse_decimal(text: &str) -> Result<Permissions, PermissionsParseError> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err(PermissionsParseError::Empty);
        }
        if bytes.len() > PERMISSIONS_DECIMAL_LEN_MAX {
            return Err(PermissionsParseError::TooLong { len: bytes.len() });
        }
        if let Some(index) = bytes.iter().position(|byte| !byte.is_ascii_digit()) {
            return Err(PermissionsParseError::InvalidDigit { index });
        }
        if bytes.len() > 1 && bytes[0] == b'0' {
            return Err(PermissionsParseError::LeadingZero);
        }
        let mut value: u64 = 0;
        for &byte in bytes {
            let digit = u64::from(byte - b'0');
            value = value
                .checked_mul(10)
                .and_then(|value| value.checked_add(digit))
                .ok_or(PermissionsParseError::Overflow)?;
        }
        Ok(Permissions::from_bits_truncate(value))
    }

    /// The decimal string Discord sends (`"0"` for none).
    pub fn encode_decimal(self) -> String {
        self.bits().to_string()
    }
}

impl fmt::Display for Permissions {
    /// The decimal form, as in JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.bits(), f)
    }
}

impl FromStr for Permissions {
    type Err = PermissionsParseError;
    fn from_str(text: &str) -> Result<Permissions, PermissionsParseError> {
        Permissions::parse_decimal(text)
    }
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Permissions, D::Error> {
        deserializer.deserialize_any(PermissionsVisitor)
    }
}

struct PermissionsVisitor;

impl Visitor<'_> for PermissionsVisitor {
    type Value = Permissions;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a permission bit set as a decimal string or a non-negative integer")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Permissions, E> {
        Permissions::parse_decimal(text).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Permissions, E> {
        Ok(Permissions::from_bits_truncate(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Permissions, E> {
        u64::try_from(value)
            .map(Permissions::from_bits_truncate)
            .map_err(|_| E::custom("permissions must not be negative"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        use PermissionsParseError as E;
        assert_eq!(Permissions::parse_decimal("0"), Ok(Permissions::NONE));
        assert_eq!(Permissions::parse_decimal(""), Err(E::Empty));
        assert_eq!(Permissions::parse_decimal("01"), Err(E::LeadingZero));
        assert_eq!(
            Permissions::parse_decimal("+1"),
            Err(E::InvalidDigit { index: 0 })
        );
        assert_eq!(
            Permissions::parse_decimal("1 "),
            Err(E::InvalidDigit { index: 1 })
        );
        assert_eq!(
            Permissions::parse_decimal("18446744073709551615"),
            Ok(Permissions::ALL)
        );
        assert_eq!(
            Permissions::parse_decimal("18446744073709551616"),
            Err(E::Overflow)
        );
        assert_eq!(
            Permissions::parse_decimal("999999999999999999999"),
            Err(E::TooLong { len: 21 })
        );
    }

    #[test]
    fn serde_uses_strings_and_accepts_numbers() {
        let p = Permissions::VIEW_CHANNEL | Permissions::BYPASS_SLOWMODE;
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{}\"", p.bits()));
        assert_eq!(serde_json::from_str::<Permissions>(&json).unwrap(), p);
        assert_eq!(
            serde_json::from_str::<Permissions>("1024").unwrap(),
            Permissions::VIEW_CHANNEL
        );
        assert!(serde_json::from_str::<Permissions>("-1").is_err());
        assert!(serde_json::from_str::<Permissions>("\"x\"").is_err());
        assert!(serde_json::from_str::<Permissions>("true").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(bits in any::<u64>()) {
            let p = Permissions::from_bits_truncate(bits);
            prop_assert_eq!(Permissions::parse_decimal(&p.encode_decimal()), Ok(p));
            prop_assert_eq!(Permissions::parse_decimal(&bits.to_string()), Ok(p));
        }

        #[test]
        fn never_panics_and_accepts_only_canonical_digits(text in "\\PC{0,24}") {
            if let Ok(p) = Permissions::parse_decimal(&text) {
                let value: u64 = text.parse().unwrap();
                prop_assert_eq!(value.to_string(), text);
                prop_assert_eq!(p, Permissions::from_bits_truncate(value));
            }
        }

        #[test]
        fn digit_strings_parse_like_u64(text in "[0-9]{1,21}") {
            let expected = text.parse::<u64>().ok().filter(|_| !text.starts_with('0') || text == "0");
            let got = Permissions::parse_decimal(&text).ok();
            prop_assert_eq!(got, expected.map(Permissions::from_bits_truncate));
        }
    }
}
