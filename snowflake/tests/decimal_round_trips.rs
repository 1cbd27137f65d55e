//! The decimal form round-trips, matches `u64`'s own formatting, and parsing
//! arbitrary input never panics: it either yields the id whose canonical form
//! is exactly the input, or an error.

use proptest::prelude::*;
use snowflake::{Error, Snowflake, DECIMAL_LEN_MAX};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn format_then_parse_is_identity(raw in any::<u64>()) {
        let id = Snowflake::new(raw);
        let text = id.to_string();
        prop_assert_eq!(&text, &raw.to_string());
        let mut buf = [0u8; DECIMAL_LEN_MAX];
        prop_assert_eq!(id.encode_decimal(&mut buf), text.as_str());
        prop_assert_eq!(text.parse::<Snowflake>(), Ok(id));
    }

    #[test]
    fn parse_of_arbitrary_bytes_is_canonical_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..30)) {
        check_canonical(&bytes)?;
    }

    #[test]
    fn parse_of_digit_strings_agrees_with_u64(text in "[0-9+ -]{0,24}") {
        check_canonical(text.as_bytes())?;
        let ours = text.parse::<Snowflake>();
        let std = text.parse::<u64>();
        let canonical = !text.starts_with('+') && (text.len() == 1 || !text.starts_with('0'));
        match (ours, std) {
            (Ok(id), Ok(raw)) => prop_assert_eq!(id.get(), raw),
            (Err(Error::LeadingZero), Ok(_)) => prop_assert!(!canonical),
            (Err(Error::InvalidDigit { byte: b'+', index: 0 }), Ok(_)) => prop_assert!(text.starts_with('+')),
            (Err(Error::TooLong { len }), Ok(_)) => prop_assert!(len > DECIMAL_LEN_MAX && !canonical),
            (Ok(id), Err(error)) => prop_assert!(false, "we accepted {} = {:?}, std said {}", text, id, error),
            (Err(_), Err(_)) => {}
            (Err(error), Ok(raw)) => prop_assert!(false, "we rejected {} ({:?}), std read {}", text, error, raw),
        }
    }
}

fn check_canonical(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(id) = Snowflake::parse_ascii(bytes) {
        let mut buf = [0u8; DECIMAL_LEN_MAX];
        prop_assert_eq!(id.encode_decimal(&mut buf).as_bytes(), bytes);
    }
    Ok(())
}
