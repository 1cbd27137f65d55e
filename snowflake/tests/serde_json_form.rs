//! With the `serde` feature, ids are JSON strings on the way out and strings
//! or non-negative integers on the way in.
#![cfg(feature = "serde")]

use proptest::prelude::*;
use snowflake::Snowflake;

#[test]
fn serializes_as_a_string() {
    let id = Snowflake::new(175_928_847_299_117_063);
    assert_eq!(
        serde_json::to_string(&id).unwrap(),
        r#""175928847299117063""#
    );
    assert_eq!(
        serde_json::to_string(&Snowflake::MAX).unwrap(),
        r#""18446744073709551615""#
    );
}

#[test]
fn deserializes_from_string_or_integer() {
    let id = Snowflake::new(175_928_847_299_117_063);
    assert_eq!(
        serde_json::from_str::<Snowflake>(r#""175928847299117063""#).unwrap(),
        id
    );
    assert_eq!(
        serde_json::from_str::<Snowflake>("175928847299117063").unwrap(),
        id
    );
    assert_eq!(
        serde_json::from_str::<Snowflake>("0").unwrap(),
        Snowflake::MIN
    );
    assert_eq!(
        serde_json::from_str::<Snowflake>("18446744073709551615").unwrap(),
        Snowflake::MAX
    );
}

#[test]
fn rejects_what_the_parser_rejects_and_non_ids() {
    for json in [
        r#""""#,
        r#""0123""#,
        r#"" 1""#,
        r#""-1""#,
        r#""18446744073709551616""#,
        "-1",
        "1.5",
        "18446744073709551616",
        "null",
        "true",
        "[1]",
    ] {
        assert!(serde_json::from_str::<Snowflake>(json).is_err(), "{json}");
    }
    let error = serde_json::from_str::<Snowflake>(r#""0123""#).unwrap_err();
    assert!(error.to_string().contains("leading zero"), "{error}");
}

#[test]
fn works_inside_a_larger_document() {
    let message: std::collections::BTreeMap<String, Snowflake> =
        serde_json::from_str(r#"{"id":"41771983423143937","channel_id":41771983423143938}"#)
            .unwrap();
    assert_eq!(message["id"].get(), 41_771_983_423_143_937);
    assert_eq!(message["channel_id"].get(), 41_771_983_423_143_938);
}

proptest! {
    #[test]
    fn json_round_trips(raw in any::<u64>()) {
        let id = Snowflake::new(raw);
        let json = serde_json::to_string(&id).unwrap();
        prop_assert_eq!(serde_json::from_str::<Snowflake>(&json).unwrap(), id);
    }
}
