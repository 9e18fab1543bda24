//! The JSON Schema of each kind and the checks APISIX runs on an object
//! before it stores it. The API (for the file source, etcd and the Admin API):
//!
//! - [`schema_json`] (and [`Kind::schema`]): the schema of a kind, as
//!   `GET /apisix/admin/schema/<kind>` serves it;
//! - [`validate`]: APISIX's checks of one object; the error's
//!   [`error_msg`](crate::config::ObjectError::error_msg) is APISIX's text
//!   (`invalid configuration: property "uri" validation failed: wrong type: expected string, got number`);
//! - [`fill_defaults`]: the schema's defaults written into an object, as
//!   APISIX stores it (`status: 1`, `priority: 0`, upstream `type: roundrobin`, ...).
//!
//! Validators are compiled once, on first use, and shared by all threads.

mod defs;
mod kinds;
mod message;

#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

use super::error::ObjectError;
use super::kind::Kind;

struct Compiled {
    schema: Value,
    validator: Result<Validator, String>,
    /// Where the schema's defaults go.
    defaults: Defaults,
}

/// The defaults of a schema, by where they go: what [`fill_defaults`]
/// walks instead of every property of the schema at every level.
#[derive(Debug, Default)]
struct Defaults {
    /// The properties that have a default (written when absent) or
    /// defaults below them (filled when present); no other.
    props: Vec<PropDefaults>,
    /// The defaults of an array's items.
    items: Option<Box<Defaults>>,
}

#[derive(Debug)]
struct PropDefaults {
    name: String,
    default: Option<Value>,
    below: Option<Defaults>,
}

impl Defaults {
    /// The defaults `schema` names through `properties` and `items`;
    /// `None` when it names none.
    fn of(schema: &Value) -> Option<Defaults> {
        let props: Vec<PropDefaults> = match schema.get("properties") {
            Some(Value::Object(props)) => props
                .iter()
                .filter_map(|(name, sub)| {
                    let default = sub.get("default").cloned();
                    let below = Defaults::of(sub);
                    (default.is_some() || below.is_some()).then(|| PropDefaults {
                        name: name.clone(),
                        default,
                        below,
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        let items = schema
            .get("items")
            .filter(|s| s.is_object())
            .and_then(Defaults::of)
            .map(Box::new);
        (!props.is_empty() || items.is_some()).then_some(Defaults { props, items })
    }

    /// Writes the defaults into `value` where a property is absent.
    fn fill(&self, value: &mut Value) {
        match value {
            Value::Object(obj) => {
                for p in &self.props {
                    match obj.get_mut(&p.name) {
                        Some(v) => {
                            if let Some(below) = &p.below {
                                below.fill(v);
                            }
                        }
                        None => {
                            if let Some(d) = &p.default {
                                obj.insert(p.name.clone(), d.clone());
                            }
                        }
                    }
                }
            }
            Value::Array(items) => {
                if let Some(below) = &self.items {
                    for item in items {
                        below.fill(item);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The schema and validator of `kind` (`None`: a kind not served).
fn compiled(kind: Kind) -> Option<&'static Compiled> {
    // Global: the schemas are constants, compiled once and read by every decoding thread.
    static ALL: OnceLock<Vec<Option<Compiled>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        Kind::ALL
            .iter()
            .map(|k| {
                let schema = kinds::build(*k)?;
                let validator = jsonschema::draft7::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .map_err(|e| e.to_string());
                let defaults = Defaults::of(&schema).unwrap_or_default();
                Some(Compiled {
                    schema,
                    validator,
                    defaults,
                })
            })
            .collect()
    });
    // `Kind::ALL` lists the kinds in their variants' order.
    all.get(kind as usize)?.as_ref()
}

/// The JSON Schema (draft 7) of `kind` (`None`: a kind not served); see
/// [`Kind::schema`]. Built once; lives for the process.
pub(super) fn schema_json(kind: Kind) -> Option<&'static Value> {
    compiled(kind).map(|c| &c.schema)
}

/// Runs APISIX's checks of one object of `kind`: its schema, then the
/// checks APISIX adds (an upstream with `pass_host: rewrite` needs
/// `upstream_host`; `chash` needs a `key`), inline upstreams included.
/// `id` only names the object in the error; a kind this build does not
/// serve is refused. Plugins' own schemas are not checked here (`decode`
/// has the plugin catalog check them). Runs in microseconds; allocates
/// only for an error.
pub fn validate(kind: Kind, id: &str, value: &Value) -> Result<(), ObjectError> {
    let Some(c) = compiled(kind) else {
        return Err(ObjectError::plain(kind, id, "", not_served(kind)));
    };
    let validator = c.validator.as_ref().map_err(|e| {
        ObjectError::plain(
            kind,
            id,
            "",
            format!("the {kind} schema does not compile: {e}"),
        )
    })?;
    // Most objects are valid: the check that stops at the first error and
    // builds none runs first.
    if !validator.is_valid(value) {
        if let Some(first) = validator
            .iter_errors(value)
            .map(|e| message::describe(&c.schema, &e))
            .min_by(|a, b| a.rank.cmp(&b.rank))
        {
            let mut e = ObjectError::plain(kind, id, first.field, first.reason);
            e.error_msg = format!("invalid configuration: {}", first.chain);
            return Err(e);
        }
    }
    let upstream_checks = |u: &Value, at: &str| {
        upstream_conf(u)
            .map_err(|(field, msg)| ObjectError::plain(kind, id, format!("{at}{field}"), msg))
    };
    match kind {
        Kind::Upstream => upstream_checks(value, ""),
        Kind::Route | Kind::Service => match value.get("upstream") {
            Some(u) => upstream_checks(u, "upstream."),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// APISIX's `check_upstream_conf` beyond the schema, with its messages.
fn upstream_conf(u: &Value) -> Result<(), (&'static str, String)> {
    let s = |k: &str| u.get(k).and_then(Value::as_str);
    if s("pass_host") == Some("rewrite") && s("upstream_host").is_none_or(str::is_empty) {
        return Err((
            "upstream_host",
            "`upstream_host` can't be empty when `pass_host` is `rewrite`".into(),
        ));
    }
    if s("type") == Some("chash") && s("hash_on") != Some("consumer") && s("key").is_none() {
        return Err(("key", "missing key".into()));
    }
    Ok(())
}

/// Writes the defaults of `kind`'s schema into `value` where a property is
/// absent, at every depth the schema names through `properties` and
/// `items` (inline upstreams, health checks, keep-alive pools, nodes).
/// Call it after [`validate`] succeeded; it never fails.
pub fn fill_defaults(kind: Kind, value: &mut Value) {
    if let Some(c) = compiled(kind) {
        c.defaults.fill(value);
    }
}

/// Why an object of a kind this build does not serve is refused.
pub(crate) fn not_served(kind: Kind) -> String {
    format!("{kind} objects are not supported by this build yet")
}
