//! proxy-rewrite's config: APISIX's schema as text, the serde type, and the
//! header operations in either of APISIX's forms (`{add, set, remove}` or
//! the older flat `{name: value}` map, which sets).

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{Map, Value};
use radixgate_plugin::ConfigError;

/// The route config's JSON Schema (APISIX 3.x's fields).
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "uri": {"type": "string", "minLength": 1, "maxLength": 4096, "pattern": "^\\/.*"},
        "method": {"type": "string", "enum": ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS",
            "MKCOL", "COPY", "MOVE", "PROPFIND", "LOCK", "UNLOCK", "PATCH", "TRACE"]},
        "regex_uri": {"type": "array", "minItems": 2, "items": {"type": "string"}},
        "host": {"type": "string", "pattern": "^[0-9a-zA-Z-.]+(:\\d{1,5})?$"},
        "headers": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "add": {"type": "object", "minProperties": 1,
                            "additionalProperties": {"type": ["string", "number"]}},
                        "set": {"type": "object", "minProperties": 1,
                            "additionalProperties": {"type": ["string", "number"]}},
                        "remove": {"type": "array", "minItems": 1,
                            "items": {"type": "string"}}
                    }
                },
                {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": ["string", "number"]}
                }
            ]
        },
        "use_real_request_uri_unsafe": {"type": "boolean", "default": false},
        "_meta": {"type": "object"}
    },
    "minProperties": 1,
    "additionalProperties": false
}"#;

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// The new path (and query); `$var` references are resolved.
    #[serde(default)]
    pub uri: Option<String>,
    /// The new method.
    #[serde(default)]
    pub method: Option<String>,
    /// Pairs of [regex, replacement]; the first regex that matches the path
    /// rewrites it (lower precedence than `uri`).
    #[serde(default)]
    pub regex_uri: Option<Vec<String>>,
    /// The Host header sent upstream.
    #[serde(default)]
    pub host: Option<String>,
    /// Header operations.
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// Send the path as received, without re-encoding it.
    #[serde(default)]
    pub use_real_request_uri_unsafe: bool,
    /// APISIX's per-plugin options (priority, disable, filter...), which
    /// the host applies; accepted here so that the closed schema allows them.
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

/// Header operations, in the order APISIX applies them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaderOps {
    /// Appended lines (name, value template).
    pub add: Vec<(String, String)>,
    /// Replaced headers (name, value template; empty removes).
    pub set: Vec<(String, String)>,
    /// Removed headers.
    pub remove: Vec<String>,
}

const METHODS: [&str; 14] = [
    "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE", "PROPFIND", "LOCK",
    "UNLOCK", "PATCH", "TRACE",
];

/// Checks `method` against APISIX's enum.
pub fn check_method(method: &str) -> Result<(), ConfigError> {
    if METHODS.contains(&method) {
        Ok(())
    } else {
        Err(ConfigError::field(
            "method",
            format!("\"{method}\" is not one of {}", METHODS.join(", ")),
        ))
    }
}

/// An HTTP token (a header name).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// One header's (name, value) from the config; `field` names it in errors.
fn pair(name: &str, value: &Value, field: &str) -> Result<(String, String), ConfigError> {
    if !is_token(name) {
        return Err(ConfigError::field(
            field,
            "invalid field character in header",
        ));
    }
    let value = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(ConfigError::field(field, "invalid type as header value")),
    };
    if value.contains(['\r', '\n']) {
        return Err(ConfigError::field(
            field,
            "invalid value character in header",
        ));
    }
    Ok((name.to_string(), value))
}

fn pairs(map: &Value, field: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let Value::Object(map) = map else {
        return Err(ConfigError::field(field, "must be an object"));
    };
    map.iter()
        .map(|(name, value)| pair(name, value, &format!("{field}.{name}")))
        .collect()
}

/// Whether `headers` is the `{add, set, remove}` form (else the flat form).
fn is_operation_form(headers: &Map<String, Value>) -> bool {
    headers.iter().all(|(k, v)| match k.as_str() {
        "add" | "set" => v.is_object(),
        "remove" => v.is_array(),
        _ => false,
    })
}

/// Parses either form of `headers`.
pub fn header_ops(headers: &Map<String, Value>) -> Result<HeaderOps, ConfigError> {
    if headers.is_empty() {
        return Err(ConfigError::field(
            "headers",
            "expect object to have at least 1 properties",
        ));
    }
    if !is_operation_form(headers) {
        let set = headers
            .iter()
            .map(|(name, value)| pair(name, value, &format!("headers.{name}")))
            .collect::<Result<_, _>>()?;
        return Ok(HeaderOps {
            set,
            ..HeaderOps::default()
        });
    }
    let mut ops = HeaderOps::default();
    if let Some(add) = headers.get("add") {
        ops.add = pairs(add, "headers.add")?;
    }
    if let Some(set) = headers.get("set") {
        ops.set = pairs(set, "headers.set")?;
    }
    if let Some(Value::Array(names)) = headers.get("remove") {
        for (i, name) in names.iter().enumerate() {
            match name.as_str() {
                Some(n) if is_token(n) => ops.remove.push(n.to_string()),
                _ => {
                    return Err(ConfigError::field(
                        &format!("headers.remove[{i}]"),
                        "must be a header name",
                    ))
                }
            }
        }
    }
    Ok(ops)
}
