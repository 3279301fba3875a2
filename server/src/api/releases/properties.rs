//! Property tests of the page cursor, which clients send back as they please: any text is
//! a cursor or a precise refusal, and every cursor the API hands out reads back as the key
//! it was made from, for any creation time a release can have (parsed from upstream RFC
//! 3339 with any offset: from year -1 to year 10000) and any name.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::*;
use hostile::{config, hostile_string, hostile_value};

/// `0000-01-01T00:00:00+23:59` and `9999-12-31T23:59:59-23:59`, in UTC seconds.
const EARLIEST: i64 = -62_167_305_540;
const LATEST: i64 = 253_402_387_139;

fn cursor_text() -> impl Strategy<Value = String> {
    prop_oneof![
        hostile_string(),
        "[A-Za-z0-9_=+/-]{0,80}",
        hostile_value().prop_map(|v| URL_SAFE_NO_PAD.encode(v.to_string())),
        (hostile_string(), hostile_string())
            .prop_map(|(t, n)| URL_SAFE_NO_PAD.encode(serde_json::json!([t, n]).to_string())),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_cursor_is_read_or_refused_as_malformed(cursor in cursor_text()) {
        match decode_cursor(&cursor) {
            Ok(key) => prop_assert!(key.name.len() <= cursor.len()),
            Err(ApiError::BadRequest(m)) => prop_assert!(m.starts_with("malformed cursor")),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn every_cursor_handed_out_reads_back(
        secs in EARLIEST..=LATEST,
        micros in 0u32..1_000_000,
        name in hostile_string(),
    ) {
        let created_at = DateTime::from_timestamp(secs, micros * 1000).expect("in range");
        let key = ReleaseKey { created_at, name };
        let cursor = encode_cursor(&key);
        prop_assert_eq!(decode_cursor(&cursor).ok(), Some(key));
    }
}
