//! The config's JSON Schema and decoding (APISIX 3.x's fields). An
//! inline `upstream` is checked here for its shape only; the host checks
//! it whole against the upstream schema when it builds it, and refuses
//! the object naming the field.

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::Value;
use radixgate_plugin::ConfigError;
use radixgate_plugin_vars_expr::Expr;

/// The route config's JSON Schema.
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "match": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"vars": {"type": "array"}}
                        }
                    },
                    "weighted_upstreams": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 20,
                        "default": [{"weight": 1}],
                        "items": {
                            "type": "object",
                            "properties": {
                                "upstream_id": {
                                    "anyOf": [
                                        {"type": "string", "minLength": 1, "maxLength": 64,
                                         "pattern": "^[a-zA-Z0-9-_.]+$"},
                                        {"type": "integer", "minimum": 1}
                                    ]
                                },
                                "upstream": {
                                    "type": "object",
                                    "properties": {"nodes": {"type": ["object", "array"]}},
                                    "required": ["nodes"]
                                },
                                "weight": {"type": "integer", "minimum": 0, "default": 1}
                            }
                        }
                    }
                },
                "additionalProperties": false
            }
        },
        "_meta": {"type": "object"}
    },
    "additionalProperties": false
}"#;

/// The config on a route, service or plugin_config.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// Tried in order; the first that holds chooses.
    #[serde(default)]
    pub rules: Vec<RuleConf>,
    /// APISIX's per-plugin options, applied by the host.
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

/// One rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct RuleConf {
    /// `[{"vars": [...]}, ...]`: one must hold; absent or empty: all requests.
    #[serde(default, rename = "match")]
    pub r#match: Option<Vec<MatchConf>>,
    /// Where matching requests go, by weight.
    #[serde(default)]
    pub weighted_upstreams: Option<Vec<Weighted>>,
}

impl RuleConf {
    /// The entries, APISIX's default (`[{"weight": 1}]`: the route's
    /// upstream) when none are given.
    pub fn entries(&self) -> Vec<Weighted> {
        self.weighted_upstreams.clone().unwrap_or_else(|| {
            vec![Weighted {
                upstream_id: None,
                upstream: None,
                weight: 1,
            }]
        })
    }
}

/// One `match` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct MatchConf {
    /// A `vars` expression; absent: holds for every request.
    #[serde(default)]
    pub vars: Option<Value>,
}

/// One weighted entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Weighted {
    /// A stored upstream (a string or an integer id).
    #[serde(default)]
    pub upstream_id: Option<Value>,
    /// An inline upstream (built by the host).
    #[serde(default)]
    pub upstream: Option<Value>,
    /// Share of the rule's requests.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// The id as text (`"1"` for `1`).
pub fn id_text(id: &Value, field: &str) -> Result<String, ConfigError> {
    match id {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        _ => Err(ConfigError::field(
            &format!("{field}.upstream_id"),
            "must be an id (a string or an integer)",
        )),
    }
}

/// The condition of a rule's `match` list (`field` names it): one entry
/// must hold; an entry without `vars` holds for every request.
pub fn condition(list: &[MatchConf], field: &str) -> Result<Expr, ConfigError> {
    let mut any = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let expr = match &m.vars {
            Some(vars) => radixgate_plugin_vars_expr::parse(vars, &format!("{field}[{i}].vars"))?,
            None => Expr::All(Vec::new()),
        };
        any.push(expr);
    }
    Ok(Expr::Any(any))
}
