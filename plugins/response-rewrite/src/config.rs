//! response-rewrite's config: APISIX's schema as text, the serde type, and
//! the header operations in either form (`{add: ["Name: value"], set,
//! remove}` or the older flat map, which sets).

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{Map, Value};
use radixgate_plugin::ConfigError;

/// The route config's JSON Schema (APISIX 3.x's).
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "headers": {
            "anyOf": [
                {"type": "object", "minProperties": 1,
                 "patternProperties": {"^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}}},
                {"properties": {
                    "add": {"type": "array", "minItems": 1,
                            "items": {"type": "string", "pattern": "^[^:]+:[^:]+[^/]$"}},
                    "set": {"type": "object", "minProperties": 1,
                            "patternProperties": {"^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}}},
                    "remove": {"type": "array", "minItems": 1,
                               "items": {"type": "string", "pattern": "^[^:]+$"}}
                }}
            ]
        },
        "body": {"type": "string"},
        "body_base64": {"type": "boolean", "default": false},
        "status_code": {"type": "integer", "minimum": 200, "maximum": 598},
        "vars": {"type": "array"},
        "max_body_size": {"type": "integer", "minimum": 1, "default": 8388608},
        "filters": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["regex", "replace"],
                "properties": {
                    "regex": {"type": "string", "minLength": 1},
                    "scope": {"type": "string", "enum": ["once", "global"], "default": "once"},
                    "replace": {"type": "string"},
                    "options": {"type": "string", "default": "jo"}
                }
            }
        }
    },
    "dependencies": {
        "body": {"not": {"required": ["filters"]}},
        "filters": {"not": {"required": ["body"]}}
    }
}"#;

/// One body filter.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Filter {
    /// The pattern searched in the body.
    pub regex: String,
    /// `once` (first match, default) or `global`.
    #[serde(default = "once")]
    pub scope: String,
    /// The replacement (`$1` captures).
    pub replace: String,
    /// PCRE-style options (`jo` default; `i`, `m`, `s`, `x` honoured).
    #[serde(default = "jo")]
    pub options: String,
}

fn once() -> String {
    "once".into()
}
fn jo() -> String {
    "jo".into()
}

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Header operations.
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// The new body.
    #[serde(default)]
    pub body: Option<String>,
    /// `body` is base64 (decoded once, at load).
    #[serde(default)]
    pub body_base64: bool,
    /// The new status.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// A condition on request/response variables (lua-resty-expr).
    #[serde(default)]
    pub vars: Option<Value>,
    /// Regex substitutions on the body.
    #[serde(default)]
    pub filters: Option<Vec<Filter>>,
    /// Most bytes of a body `filters` hold (radixgate's own field); a
    /// larger body is sent unchanged.
    #[serde(default = "default_max_body_size")]
    pub max_body_size: u64,
}

fn default_max_body_size() -> u64 {
    8 << 20
}

/// Header operations in the order APISIX applies them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaderOps {
    /// Appended (name, value template).
    pub add: Vec<(String, String)>,
    /// Replaced (name, value template).
    pub set: Vec<(String, String)>,
    /// Removed names.
    pub remove: Vec<String>,
}

fn value_text(value: &Value, field: &str) -> Result<String, ConfigError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(ConfigError::field(field, "invalid type as header value")),
    };
    if text.contains(['\r', '\n']) {
        return Err(ConfigError::field(
            field,
            "invalid value character in header",
        ));
    }
    Ok(text)
}

fn name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains(':') && name.bytes().all(|b| b.is_ascii_graphic())
}

fn set_pairs(map: &Map<String, Value>, field: &str) -> Result<Vec<(String, String)>, ConfigError> {
    map.iter()
        .map(|(name, value)| {
            let f = format!("{field}.{name}");
            if !name_ok(name) {
                return Err(ConfigError::field(&f, "invalid field character in header"));
            }
            Ok((name.clone(), value_text(value, &f)?))
        })
        .collect()
}

/// Parses either form of `headers`.
pub fn header_ops(headers: &Map<String, Value>) -> Result<HeaderOps, ConfigError> {
    let new_form = matches!(headers.get("add"), Some(Value::Array(_)))
        || matches!(headers.get("set"), Some(Value::Object(_)))
        || matches!(headers.get("remove"), Some(Value::Array(_)));
    if !new_form {
        if headers.is_empty() {
            return Err(ConfigError::field(
                "headers",
                "expect object to have at least 1 properties",
            ));
        }
        return Ok(HeaderOps {
            set: set_pairs(headers, "headers")?,
            ..HeaderOps::default()
        });
    }
    let mut ops = HeaderOps::default();
    if let Some(Value::Array(lines)) = headers.get("add") {
        for (i, line) in lines.iter().enumerate() {
            let field = format!("headers.add[{i}]");
            let parsed = line
                .as_str()
                .and_then(|l| l.split_once(':'))
                .and_then(|(n, v)| {
                    let (n, v) = (n.trim(), v.trim());
                    (name_ok(n) && !v.is_empty() && !v.contains(':')).then(|| (n.to_string(), v))
                });
            let Some((name, value)) = parsed else {
                return Err(ConfigError::field(&field, "must be \"Name: value\""));
            };
            ops.add
                .push((name, value_text(&Value::String(value.into()), &field)?));
        }
    }
    if let Some(Value::Object(set)) = headers.get("set") {
        ops.set = set_pairs(set, "headers.set")?;
    }
    if let Some(Value::Array(names)) = headers.get("remove") {
        for (i, name) in names.iter().enumerate() {
            match name.as_str() {
                Some(n) if name_ok(n) => ops.remove.push(n.to_string()),
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

/// Decodes standard base64 (padding optional); `None` when invalid.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let trimmed = text.trim_end_matches('=');
    if text.len() - trimmed.len() > 2 || trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= digit(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}
