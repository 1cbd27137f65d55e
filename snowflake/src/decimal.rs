//! Decimal text form of a snowflake: strict parsing of untrusted input and
//! allocation-free formatting.
//!
//! Discord sends ids as JSON strings because JavaScript numbers lose
//! precision past 2^53. The parser accepts exactly the canonical form the
//! formatter writes, so `parse(format(id)) == id` and
//! `format(parse(s)) == s` whenever parsing succeeds.
//!
//! Rules, checked in this order (the first broken rule is the error):
//! 1. not empty ([`Error::Empty`]);
//! 2. at most 20 bytes ([`Error::TooLong`]), which bounds the work on
//!    hostile input before any byte is inspected;
//! 3. only ASCII `0`–`9`: no sign, no whitespace, no `_` ([`Error::InvalidDigit`]);
//! 4. no leading zero unless the id is exactly `"0"` ([`Error::LeadingZero`]);
//! 5. the value fits in `u64` ([`Error::Overflow`]).
//!
//! Elsewhere: JSON quoting and the number-or-string choice (`serde_impl.rs`).
//!
//! Invariant: no input makes the parser panic; the fuzz target
//! `snowflake/fuzz/fuzz_targets/parse_decimal.rs` and the property tests
//! check this.

use core::fmt;
use core::str::FromStr;

use crate::{Error, Snowflake};

/// Longest decimal form of a snowflake: `u64::MAX` has 20 digits.
///
/// ```
/// assert_eq!(u64::MAX.to_string().len(), snowflake::DECIMAL_LEN_MAX);
/// ```
pub const DECIMAL_LEN_MAX: usize = 20;

const _: () = assert!(u64::MAX / 10_u64.pow(DECIMAL_LEN_MAX as u32 - 1) > 0);
const _: () = assert!(u64::MAX / 10_u64.pow(DECIMAL_LEN_MAX as u32 - 1) < 10);

impl Snowflake {
    /// Parses the canonical decimal form from untrusted bytes.
    ///
    /// See the module rules: digits only, no leading zero, at most 20 bytes,
    /// fits in `u64`. `FromStr` (`"…".parse()`) calls this.
    ///
    /// ```
    /// use snowflake::{Error, Snowflake};
    ///
    /// assert_eq!(Snowflake::parse_ascii(b"41771983423143937"), Ok(Snowflake::new(41771983423143937)));
    /// assert_eq!(Snowflake::parse_ascii(b"0"), Ok(Snowflake::MIN));
    /// assert_eq!(Snowflake::parse_ascii(b"007"), Err(Error::LeadingZero));
    /// assert_eq!(Snowflake::parse_ascii(b" 7"), Err(Error::InvalidDigit { index: 0, byte: b' ' }));
    /// assert_eq!(Snowflake::parse_ascii(b"18446744073709551616"), Err(Error::Overflow));
    /// ```
    pub fn parse_ascii(bytes: &[u8]) -> Result<Snowflake, Error> {
        if bytes.is_empty() {
            return Err(Error::Empty);
        }
        if bytes.len() > DECIMAL_LEN_MAX {
            return Err(Error::TooLong { len: bytes.len() });
        }
        if let Some(index) = bytes.iter().position(|byte| !byte.is_ascii_digit()) {
            return Err(Error::InvalidDigit {
                index,
                byte: bytes[index],
            });
        }
        if bytes.len() > 1 && bytes[0] == b'0' {
            return Err(Error::LeadingZero);
        }
        let mut value: u64 = 0;
        for &byte in bytes {
            let digit = u64::from(byte - b'0');
            // Only a 20-digit input can overflow; checked arithmetic catches it
            // there and costs next to nothing elsewhere.
            value = value.checked_mul(10).ok_or(Error::Overflow)?;
            value = value.checked_add(digit).ok_or(Error::Overflow)?;
        }
        Ok(Snowflake::new(value))
    }

    /// Writes the decimal form into `buf` and returns it, without allocating.
    ///
    /// The digits are right-aligned in `buf`; the returned `&str` is the
    /// written part. `Display` calls this.
    ///
    /// ```
    /// use snowflake::{Snowflake, DECIMAL_LEN_MAX};
    ///
    /// let mut buf = [0u8; DECIMAL_LEN_MAX];
    /// assert_eq!(Snowflake::new(175928847299117063).encode_decimal(&mut buf), "175928847299117063");
    /// assert_eq!(Snowflake::MIN.encode_decimal(&mut buf), "0");
    /// ```
    pub fn encode_decimal(self, buf: &mut [u8; DECIMAL_LEN_MAX]) -> &str {
        let mut value = self.get();
        let mut start = DECIMAL_LEN_MAX;
        loop {
            start -= 1;
            // `value % 10` is below 10, so the cast is lossless.
            buf[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        let digits = &buf[start..];
        debug_assert!(digits.iter().all(u8::is_ascii_digit));
        debug_assert!(digits.len() == 1 || digits[0] != b'0');
        // Every byte written above is an ASCII digit, so this is valid UTF-8.
        core::str::from_utf8(digits).expect("ASCII digits are UTF-8")
    }
}

impl FromStr for Snowflake {
    type Err = Error;

    fn from_str(text: &str) -> Result<Snowflake, Error> {
        Snowflake::parse_ascii(text.as_bytes())
    }
}

/// Decimal, honouring width and alignment (`{:>20}`).
impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; DECIMAL_LEN_MAX];
        f.pad(self.encode_decimal(&mut buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_decimals() {
        let cases: [(&str, u64); 6] = [
            ("0", 0),
            ("1", 1),
            ("9", 9),
            ("10", 10),
            ("175928847299117063", 175_928_847_299_117_063),
            ("18446744073709551615", u64::MAX),
        ];
        for (text, raw) in cases {
            assert_eq!(text.parse::<Snowflake>(), Ok(Snowflake::new(raw)), "{text}");
            assert_eq!(Snowflake::new(raw).to_string(), text);
        }
    }

    #[test]
    fn rejects_each_rule_with_its_own_error() {
        let cases: [(&[u8], Error); 16] = [
            (b"", Error::Empty),
            (b"123456789012345678901", Error::TooLong { len: 21 }),
            (b"000000000000000000001", Error::TooLong { len: 21 }),
            (
                b"+1",
                Error::InvalidDigit {
                    index: 0,
                    byte: b'+',
                },
            ),
            (
                b"-1",
                Error::InvalidDigit {
                    index: 0,
                    byte: b'-',
                },
            ),
            (
                b"1 ",
                Error::InvalidDigit {
                    index: 1,
                    byte: b' ',
                },
            ),
            (
                b"\t1",
                Error::InvalidDigit {
                    index: 0,
                    byte: b'\t',
                },
            ),
            (
                b"1_000",
                Error::InvalidDigit {
                    index: 1,
                    byte: b'_',
                },
            ),
            (
                b"1.0",
                Error::InvalidDigit {
                    index: 1,
                    byte: b'.',
                },
            ),
            (
                b"1e3",
                Error::InvalidDigit {
                    index: 1,
                    byte: b'e',
                },
            ),
            (
                b"12\xff",
                Error::InvalidDigit {
                    index: 2,
                    byte: 0xff,
                },
            ),
            (
                b"\"1\"",
                Error::InvalidDigit {
                    index: 0,
                    byte: b'"',
                },
            ),
            (b"00", Error::LeadingZero),
            (b"01", Error::LeadingZero),
            (b"18446744073709551616", Error::Overflow),
            (b"99999999999999999999", Error::Overflow),
        ];
        for (bytes, error) in cases {
            assert_eq!(Snowflake::parse_ascii(bytes), Err(error), "{:?}", bytes);
        }
    }

    #[test]
    fn invalid_digit_wins_over_leading_zero() {
        // Rule order is part of the contract: a peer gets the first rule it broke.
        assert_eq!(
            Snowflake::parse_ascii(b"0x1f"),
            Err(Error::InvalidDigit {
                index: 1,
                byte: b'x'
            })
        );
    }

    #[test]
    fn twenty_digit_boundary_round_trips() {
        for raw in [
            u64::MAX,
            u64::MAX - 1,
            10_000_000_000_000_000_000,
            9_999_999_999_999_999_999,
        ] {
            let text = Snowflake::new(raw).to_string();
            assert_eq!(text.parse::<Snowflake>(), Ok(Snowflake::new(raw)));
        }
    }

    #[test]
    fn display_honours_padding() {
        assert_eq!(format!("{:>5}", Snowflake::new(42)), "   42");
        assert_eq!(format!("{:<4}|", Snowflake::new(7)), "7   |");
    }

    #[test]
    fn encode_decimal_reuses_a_dirty_buffer() {
        let mut buf = [b'9'; DECIMAL_LEN_MAX];
        assert_eq!(
            Snowflake::new(u64::MAX).encode_decimal(&mut buf),
            "18446744073709551615"
        );
        assert_eq!(Snowflake::new(5).encode_decimal(&mut buf), "5");
        assert_eq!(Snowflake::new(1_000).encode_decimal(&mut buf), "1000");
    }
}
