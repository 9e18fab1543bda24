//! Turns a `jsonschema` error into APISIX's wording (its Lua validator,
//! `api7/jsonschema`): the path becomes a chain of `property "x" validation
//! failed: ` / `failed to validate item N: ` and the keyword its sentence
//! (`wrong type: expected string, got number`). Also ranks errors in the
//! order that validator checks keywords, since it reports only the first.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::ValidationError;
use serde_json::Value;

/// One error, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// Our field path (`upstream.nodes[0].port`).
    pub field: String,
    /// The innermost sentence (`expected 0 to be at least 1`).
    pub reason: String,
    /// APISIX's whole text, without `invalid configuration: `.
    pub chain: String,
    /// Keyword ranks along the schema path: lower is reported first.
    pub rank: Vec<u8>,
}

/// The order in which APISIX's validator checks the keywords of one schema.
fn rank(keyword: &str) -> u8 {
    match keyword {
        "type" => 0,
        "properties" | "required" => 1,
        "dependencies" => 2,
        "patternProperties" | "additionalProperties" => 3,
        "minProperties" | "maxProperties" => 4,
        "items" | "minItems" | "maxItems" | "uniqueItems" => 5,
        "minLength" | "maxLength" | "pattern" => 6,
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => 7,
        "enum" => 8,
        "allOf" => 9,
        "anyOf" => 10,
        "oneOf" => 11,
        "if" | "then" | "else" => 12,
        "not" => 13,
        "format" => 14,
        _ => 15,
    }
}

fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Lua's `%q` for plain text: quotes, backslashes and newlines escaped.
pub fn lua_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Lua's `type()` of a decoded JSON value.
fn lua_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "table",
    }
}

/// A number as Lua prints it (`1`, not `1.0`).
fn lua_number(v: &Value) -> String {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn at<'s>(root: &'s Value, segs: &[String]) -> Option<&'s Value> {
    segs.iter().try_fold(root, |node, seg| match node {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Describes `err`, raised while checking an instance against `root`.
pub fn describe(root: &Value, err: &ValidationError<'_>) -> Described {
    let schema = segments(err.schema_path().as_str());
    let inst = segments(err.instance_path().as_str());
    let mut chain = String::new();
    let mut field = String::new();
    let mut ranks = Vec::new();
    let mut i = 0;
    let mut s = 0;
    let push_key = |field: &mut String, key: &str| {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(key);
    };
    let mut clause = None;
    while s < schema.len() {
        let seg = schema[s].as_str();
        let last = s + 1 == schema.len();
        ranks.push(rank(seg));
        match seg {
            "properties" if !last => {
                let key = &schema[s + 1];
                chain.push_str(&format!("property {} validation failed: ", lua_quote(key)));
                push_key(&mut field, key);
                i += 1;
                s += 2;
            }
            "patternProperties" if !last => {
                let key = inst.get(i).cloned().unwrap_or_default();
                chain.push_str(&format!(
                    "failed to validate {key} (matching {}): ",
                    lua_quote(&schema[s + 1])
                ));
                push_key(&mut field, &key);
                i += 1;
                s += 2;
            }
            "additionalProperties" if !last => {
                let key = inst.get(i).cloned().unwrap_or_default();
                chain.push_str(&format!("failed to validate additional property {key}: "));
                push_key(&mut field, &key);
                i += 1;
                s += 1;
            }
            "items" if !last => {
                let idx: usize = inst.get(i).and_then(|x| x.parse().ok()).unwrap_or(0);
                chain.push_str(&format!("failed to validate item {}: ", idx + 1));
                field.push_str(&format!("[{idx}]"));
                i += 1;
                // A tuple form (`items/<n>`) names the index in the schema too.
                s += if schema
                    .get(s + 1)
                    .is_some_and(|n| n.parse::<usize>().is_ok())
                {
                    2
                } else {
                    1
                };
            }
            "allOf" if !last => {
                let n: usize = schema[s + 1].parse().unwrap_or(0);
                chain.push_str(&format!("allOf {} failed: ", n + 1));
                s += 2;
            }
            "then" | "else" => {
                clause = Some(format!("{seg} clause did not match"));
                break;
            }
            "dependencies" if last => {
                // Which present property needs the missing one.
                if let ValidationErrorKind::Required { property } = err.kind() {
                    let inst: &Value = err.instance();
                    clause = at(root, &schema)
                        .and_then(Value::as_object)
                        .and_then(|deps| {
                            deps.iter().find(|(p, needs)| {
                                inst.get(p.as_str()).is_some()
                                    && needs.as_array().is_some_and(|a| a.contains(property))
                            })
                        })
                        .map(|(p, _)| p.clone());
                }
                s += 1;
            }
            "dependencies" if !last => {
                let prop = schema[s + 1].clone();
                if !matches!(err.kind(), ValidationErrorKind::Required { .. }) {
                    chain.push_str(&format!(
                        "failed to validate dependent schema for {}: ",
                        lua_quote(&prop)
                    ));
                }
                clause = Some(prop);
                s += 2;
            }
            _ => s += 1,
        }
    }
    let reason = match (&clause, err.kind()) {
        (Some(c), _) if c.ends_with("clause did not match") => c.clone(),
        (Some(dep), ValidationErrorKind::Required { property }) => {
            let p = property.as_str().unwrap_or_default();
            push_key(&mut field, p);
            format!(
                "property {} is required when {} is set",
                lua_quote(p),
                lua_quote(dep)
            )
        }
        _ => sentence(root, &schema, err, &mut field),
    };
    chain.push_str(&reason);
    Described {
        field,
        reason,
        chain,
        rank: ranks,
    }
}

/// The sentence for the keyword that failed; completes `field` where the
/// keyword names a property (`required`, `additionalProperties`).
fn sentence(
    root: &Value,
    schema: &[String],
    err: &ValidationError<'_>,
    field: &mut String,
) -> String {
    let inst = err.instance();
    let inst: &Value = inst;
    let mut name_field = |name: &str| {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(name);
    };
    match err.kind() {
        ValidationErrorKind::Type { kind } => match kind {
            TypeKind::Single(t) => format!("wrong type: expected {t}, got {}", lua_type(inst)),
            TypeKind::Multiple(_) => {
                let listed = at(root, schema)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                format!(
                    "wrong type: expected one of {listed}, got {}",
                    lua_type(inst)
                )
            }
        },
        ValidationErrorKind::Required { property } => {
            let p = property.as_str().unwrap_or_default();
            name_field(p);
            format!("property {} is required", lua_quote(p))
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let first = unexpected.first().cloned().unwrap_or_default();
            name_field(&first);
            format!("additional properties forbidden, found {first}")
        }
        ValidationErrorKind::MinLength { limit } => format!(
            "string too short, expected at least {limit}, got {}",
            inst.as_str().map_or(0, |s| s.chars().count())
        ),
        ValidationErrorKind::MaxLength { limit } => format!(
            "string too long, expected at most {limit}, got {}",
            inst.as_str().map_or(0, |s| s.chars().count())
        ),
        ValidationErrorKind::Pattern { pattern } => format!(
            "failed to match pattern {} with {}",
            lua_quote(pattern),
            lua_quote(inst.as_str().unwrap_or_default())
        ),
        ValidationErrorKind::Minimum { limit } => {
            format!(
                "expected {} to be at least {}",
                lua_number(inst),
                lua_number(limit)
            )
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!(
                "expected {} to be greater than {}",
                lua_number(inst),
                lua_number(limit)
            )
        }
        ValidationErrorKind::Maximum { limit } => {
            format!(
                "expected {} to be at most {}",
                lua_number(inst),
                lua_number(limit)
            )
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!(
                "expected {} to be smaller than {}",
                lua_number(inst),
                lua_number(limit)
            )
        }
        ValidationErrorKind::Enum { .. } => "matches none of the enum values".into(),
        ValidationErrorKind::MinItems { limit } => {
            format!("expect array to have at least {limit} items")
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!("expect array to have at most {limit} items")
        }
        ValidationErrorKind::MinProperties { limit } => {
            format!("expect object to have at least {limit} properties")
        }
        ValidationErrorKind::MaxProperties { limit } => {
            format!("expect object to have at most {limit} properties")
        }
        ValidationErrorKind::UniqueItems => {
            let (a, b) = first_duplicate(inst);
            format!("expected unique items but items {a} and {b} are equal")
        }
        ValidationErrorKind::OneOfNotValid { .. } => {
            "value should match only one schema, but matches none".into()
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            let (a, b) = matching_pair(at(root, schema), inst);
            format!("value should match only one schema, but matches both schemas {a} and {b}")
        }
        ValidationErrorKind::AnyOf { .. } => {
            let requires: Vec<String> = at(root, schema)
                .and_then(Value::as_array)
                .map(|branches| {
                    branches
                        .iter()
                        .filter_map(|b| b.get("required"))
                        .map(Value::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if requires.is_empty() {
                "object matches none of the required".into()
            } else {
                format!(
                    "object matches none of the required: {}",
                    requires.join(" or ")
                )
            }
        }
        ValidationErrorKind::Not { .. } => "value wasn't supposed to match schema".into(),
        ValidationErrorKind::Format { format } => {
            let what = match format.as_str() {
                "ipv4" => "ipv4 address",
                "ipv6" => "ipv6 address",
                "email" => "email address",
                other => other,
            };
            format!(
                "expect valid {what} but got: {}",
                inst.as_str().unwrap_or_default()
            )
        }
        ValidationErrorKind::Constant { .. } => "failed to check const value".into(),
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!(
                "expected {} to be a multiple of {multiple_of}",
                lua_number(inst)
            )
        }
        ValidationErrorKind::FalseSchema => "expect false always".into(),
        other => format!("{} check failed", other.keyword()),
    }
}

/// 1-based positions of the first two equal items (Lua's `uniqueItems` report).
fn first_duplicate(v: &Value) -> (usize, usize) {
    let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
    for (j, b) in items.iter().enumerate() {
        if let Some(i) = items[..j].iter().position(|a| a == b) {
            return (i + 1, j + 1);
        }
    }
    (0, 0)
}

/// 1-based indexes of the first two `oneOf` branches `v` matches.
fn matching_pair(one_of: Option<&Value>, v: &Value) -> (usize, usize) {
    let branches = one_of
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut hits = branches
        .iter()
        .enumerate()
        .filter(|(_, b)| jsonschema::draft7::is_valid(b, v))
        .map(|(i, _)| i + 1);
    (hits.next().unwrap_or(0), hits.next().unwrap_or(0))
}
