//! The config's JSON Schema and decoding (APISIX 3.x's fields and defaults).

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::Value;
use radixgate_plugin::ConfigError;

/// The route config's JSON Schema.
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "types": {
            "anyOf": [
                {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                {"enum": ["*"]}
            ],
            "default": ["text/html"]
        },
        "min_length": {"type": "integer", "minimum": 1, "default": 20},
        "comp_level": {"type": "integer", "minimum": 1, "maximum": 9, "default": 1},
        "http_version": {"enum": [1.1, 1.0], "default": 1.1},
        "buffers": {
            "type": "object",
            "properties": {
                "number": {"type": "integer", "minimum": 1, "default": 32},
                "size": {"type": "integer", "minimum": 1, "default": 4096}
            },
            "default": {"number": 32, "size": 4096}
        },
        "vary": {"type": "boolean"},
        "_meta": {"type": "object"}
    }
}"#;

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// MIME types compressed, or `"*"`.
    #[serde(default)]
    pub types: Option<Value>,
    /// Smallest `Content-Length` compressed.
    #[serde(default)]
    pub min_length: Option<i64>,
    /// 1 (fastest) to 9 (smallest).
    #[serde(default)]
    pub comp_level: Option<i64>,
    /// The oldest request version compressed: 1.1 (default) or 1.0.
    #[serde(default)]
    pub http_version: Option<f64>,
    /// Accepted (nginx's buffer sizes); no effect.
    #[serde(default)]
    pub buffers: Option<Value>,
    /// Send `Vary: Accept-Encoding`.
    #[serde(default)]
    pub vary: Option<bool>,
    /// APISIX's per-plugin options, applied by the host.
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

/// The config with its defaults, checked.
pub struct Checked {
    /// `None`: every type.
    pub types: Option<Vec<String>>,
    /// Smallest `Content-Length` compressed.
    pub min_length: u64,
    /// 1 to 9.
    pub comp_level: u32,
    /// Send `Vary: Accept-Encoding`.
    pub vary: bool,
    /// HTTP/1.0 requests are compressed too.
    pub http_10: bool,
}

impl Config {
    /// Checks the fields (the host checked the schema already; the mock
    /// host does not) and fills in APISIX's defaults.
    pub fn checked(self) -> Result<Checked, ConfigError> {
        let types = match self.types {
            None => Some(vec!["text/html".to_owned()]),
            Some(Value::String(s)) if s == "*" => None,
            Some(Value::Array(items)) if !items.is_empty() => Some(
                items
                    .iter()
                    .map(|t| match t {
                        Value::String(s) if !s.is_empty() => Ok(s.clone()),
                        _ => Err(ConfigError::field("types", "expected non-empty strings")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => {
                return Err(ConfigError::field(
                    "types",
                    "expected \"*\" or a non-empty array of MIME types",
                ))
            }
        };
        let min_length = match self.min_length {
            None => 20,
            Some(n) if n >= 1 => n as u64,
            Some(_) => return Err(ConfigError::field("min_length", "expected at least 1")),
        };
        let comp_level = match self.comp_level {
            None => 1,
            Some(n @ 1..=9) => n as u32,
            Some(_) => return Err(ConfigError::field("comp_level", "expected 1 to 9")),
        };
        let http_10 = match self.http_version.unwrap_or(1.1) {
            v if (v - 1.1).abs() < 1e-9 => false,
            v if (v - 1.0).abs() < 1e-9 => true,
            _ => return Err(ConfigError::field("http_version", "expected 1.1 or 1.0")),
        };
        Ok(Checked {
            http_10,
            types,
            min_length,
            comp_level,
            vary: self.vary.unwrap_or(false),
        })
    }
}
