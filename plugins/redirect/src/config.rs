//! redirect's config: APISIX 3.x's schema as text and the serde type.

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::Value;

/// The route config's JSON Schema (APISIX 3.x's fields): exactly one of
/// `uri`, `regex_uri` and `http_to_https`.
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "ret_code": {"type": "integer", "minimum": 200, "default": 302},
        "uri": {"type": "string", "minLength": 2},
        "regex_uri": {"type": "array", "minItems": 2, "maxItems": 2,
            "items": {"type": "string"}},
        "http_to_https": {"type": "boolean"},
        "encode_uri": {"type": "boolean", "default": false},
        "append_query_string": {"type": "boolean", "default": false},
        "_meta": {"type": "object"}
    },
    "oneOf": [
        {"required": ["uri"]},
        {"required": ["regex_uri"]},
        {"required": ["http_to_https"]}
    ],
    "additionalProperties": false
}"#;

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// The status of the redirect (302).
    #[serde(default = "default_ret_code")]
    pub ret_code: u16,
    /// The `Location`, with `$var` references.
    #[serde(default)]
    pub uri: Option<String>,
    /// [regex, replacement]: the path matched and substituted (first match).
    #[serde(default)]
    pub regex_uri: Option<Vec<String>>,
    /// Redirect plain HTTP requests to `https://$host$request_uri`.
    #[serde(default)]
    pub http_to_https: Option<bool>,
    /// Percent-encode the new path as nginx's `ngx_escape_uri` does.
    #[serde(default)]
    pub encode_uri: bool,
    /// Append the request's query to the `Location`.
    #[serde(default)]
    pub append_query_string: bool,
    /// APISIX's per-plugin options, applied by the host.
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

fn default_ret_code() -> u16 {
    302
}
