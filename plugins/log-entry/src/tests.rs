//! Unit tests of the parts that need no request: decoding, dates, checks.

use radixgate_plugin::serde_json::{json, Value};

use crate::full::querystring;
use crate::timing::iso8601;
use crate::Fields;

#[test]
fn querystring_decodes_as_get_uri_args() {
    let cases: &[(&str, Value)] = &[
        ("", json!({})),
        ("a=1&b=x%20y+z", json!({"a": "1", "b": "x y z"})),
        (
            "flag&a=1&a=2&a=3",
            json!({"flag": true, "a": ["1", "2", "3"]}),
        ),
        // A `%` without two hex digits stays.
        ("p=100%&q=%zz", json!({"p": "100%", "q": "%zz"})),
        ("=novalue&&x=", json!({"x": ""})),
    ];
    for (query, want) in cases {
        assert_eq!(&querystring(query), want, "{query}");
    }
}

#[test]
fn iso8601_is_utc_civil_time() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00+00:00");
    assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00+00:00");
    assert_eq!(iso8601(1_796_208_510_999), "2026-12-02T10:48:30+00:00");
}

fn check(config: Value) -> Result<(), String> {
    let fields: Fields =
        radixgate_plugin::serde_json::from_value(config).map_err(|e| e.to_string())?;
    fields.check().map(|_| ()).map_err(|e| e.0)
}

#[test]
fn bad_body_limits_and_formats_are_refused_naming_the_field() {
    let cases = [
        (
            json!({"include_req_body": true, "max_req_body_bytes": 0}),
            "max_req_body_bytes: 0: expected an integer of at least 1",
        ),
        (json!({"max_resp_body_bytes": -1}), "max_resp_body_bytes"),
        (
            json!({"log_format": {"host": 1}}),
            "log_format.host: must be a string",
        ),
        (
            json!({"include_resp_body_expr": [["arg_x", "~~", "("]]}),
            "include_resp_body_expr",
        ),
    ];
    for (config, want) in cases {
        let err = check(config.clone()).expect_err(&config.to_string());
        assert!(err.starts_with(want), "{config}: {err}");
    }
    assert_eq!(
        check(json!({"log_format": {"h": "$host", "x": "lit"}})),
        Ok(())
    );
    assert_eq!(check(json!({"include_req_body": false})), Ok(()));
    assert_eq!(
        check(json!({"include_req_body": true, "max_req_body_bytes": 1})),
        Ok(())
    );
}
