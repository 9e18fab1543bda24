//! `test-version` 1.0.0 (`test-version-a`): with `test-version-b` (2.0.0,
//! the same plugin name) the two builds of one plugin that the upgrade
//! tests swap. Every response gets `x-test-version: a`.
//!
//! Config: `legacy` (any boolean here; 2.0.0 refuses `true`), `hold`
//! (access logs `a holding <path>` and waits on the host's timer until a
//! request of a `release` instance), `release`, `panic_on_drop` (the
//! instance's drop panics).

/// The version this build declares.
const VERSION: &str = "1.0.0";
/// The value of `x-test-version`.
const MARK: &str = "a";
/// The config's JSON Schema.
const SCHEMA_TEXT: &str = r#"{
    "type": "object",
    "properties": {
        "legacy": {"type": "boolean"},
        "hold": {"type": "boolean"},
        "release": {"type": "boolean"},
        "panic_on_drop": {"type": "boolean"}
    },
    "additionalProperties": false
}"#;

include!("version.rs");
