//! `test-version` 2.0.0 (`test-version-b`): the upgrade of `test-version-a`
//! (1.0.0) in the upgrade tests. Every response gets `x-test-version: b`;
//! its schema refuses `legacy: true`, which 1.0.0 accepts.

/// The version this build declares.
const VERSION: &str = "2.0.0";
/// The value of `x-test-version`.
const MARK: &str = "b";
/// The config's JSON Schema.
const SCHEMA_TEXT: &str = r#"{
    "type": "object",
    "properties": {
        "legacy": {"const": false},
        "hold": {"type": "boolean"},
        "release": {"type": "boolean"},
        "panic_on_drop": {"type": "boolean"}
    },
    "additionalProperties": false
}"#;

include!("../../test-version-a/src/version.rs");
