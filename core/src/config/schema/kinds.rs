//! One JSON Schema (draft 7) per kind, with APISIX 3.x's field names,
//! defaults and limits. Every object may carry `name`, `desc`, `labels`,
//! `create_time` and `update_time`; unknown properties are refused.

use serde_json::{json, Map, Value};

use super::defs;
use crate::config::Kind;

/// The schema of `kind`, built fresh (the caller keeps it); `None` for
/// kinds this build does not serve.
pub fn build(kind: Kind) -> Option<Value> {
    Some(match kind {
        Kind::Route => route(),
        Kind::Service => service(),
        Kind::Upstream => defs::upstream(),
        Kind::Consumer => consumer(),
        Kind::ConsumerGroup | Kind::GlobalRule | Kind::PluginConfig => plugin_set(),
        Kind::PluginMetadata => plugin_metadata(),
        Kind::Ssl => ssl(),
        Kind::Credential => credential(),
        Kind::Proto | Kind::StreamRoute | Kind::Secret => return None,
    })
}

/// `id`, `name`, `desc`, `labels`, `create_time`, `update_time`.
fn common() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), defs::id());
    m.insert("name".into(), defs::name());
    m.insert("desc".into(), defs::desc());
    m.insert("labels".into(), defs::labels());
    m.insert("create_time".into(), defs::timestamp());
    m.insert("update_time".into(), defs::timestamp());
    m
}

fn object(props: Map<String, Value>, extra: Value) -> Value {
    let mut schema = json!({
        "type": "object",
        "properties": props,
        "additionalProperties": false
    });
    if let (Some(s), Value::Object(extra)) = (schema.as_object_mut(), extra) {
        s.extend(extra);
    }
    schema
}

fn route() -> Value {
    let mut p = common();
    let more = json!({
        "uri": {"type": "string", "minLength": 1, "maxLength": 4096},
        "uris": {
            "type": "array", "minItems": 1, "uniqueItems": true,
            "items": {"description": "HTTP uri", "type": "string"}
        },
        "host": defs::host(),
        "hosts": {"type": "array", "minItems": 1, "uniqueItems": true, "items": defs::host()},
        "remote_addr": defs::remote_addr(),
        "remote_addrs": {
            "type": "array", "minItems": 1, "uniqueItems": true, "items": defs::remote_addr()
        },
        "methods": {
            "type": "array", "uniqueItems": true,
            "items": {
                "description": "HTTP method",
                "type": "string",
                "enum": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD",
                         "OPTIONS", "CONNECT", "TRACE", "PURGE"]
            }
        },
        "vars": {"type": "array"},
        "filter_func": {"type": "string", "minLength": 10, "pattern": "^function"},
        "script": {"type": "string", "minLength": 10, "maxLength": 102400},
        "script_id": defs::id(),
        "priority": {"type": "integer", "default": 0},
        "plugins": defs::plugins(),
        "plugin_config_id": defs::id(),
        "upstream": defs::upstream(),
        "upstream_id": defs::id(),
        "service_id": defs::id(),
        "service_protocol": {"enum": ["grpc", "http"]},
        "timeout": defs::timeout(),
        "enable_websocket": {"description": "enable websocket for request", "type": "boolean"},
        "status": {
            "description": "route status, 1 to enable, 0 to disable",
            "type": "integer",
            "enum": [1, 0],
            "default": 1
        }
    });
    if let Value::Object(more) = more {
        p.extend(more);
    }
    let one_or_none = |a: &str, b: &str| {
        json!({"oneOf": [
            {"not": {"anyOf": [{"required": [a]}, {"required": [b]}]}},
            {"required": [a]},
            {"required": [b]}
        ]})
    };
    object(
        p,
        json!({
            "allOf": [
                {"oneOf": [{"required": ["uri"]}, {"required": ["uris"]}]},
                one_or_none("host", "hosts"),
                one_or_none("remote_addr", "remote_addrs")
            ],
            "anyOf": [
                {"required": ["plugins"]},
                {"required": ["upstream"]},
                {"required": ["upstream_id"]},
                {"required": ["service_id"]},
                {"required": ["plugin_config_id"]},
                {"required": ["script"]}
            ],
            "not": {"anyOf": [
                {"required": ["script", "plugins"]},
                {"required": ["script", "plugin_config_id"]}
            ]}
        }),
    )
}

fn service() -> Value {
    let mut p = common();
    let more = json!({
        "plugins": defs::plugins(),
        "upstream": defs::upstream(),
        "upstream_id": defs::id(),
        "script": {"type": "string", "minLength": 10, "maxLength": 102400},
        "enable_websocket": {"description": "enable websocket for request", "type": "boolean"},
        "hosts": {"type": "array", "minItems": 1, "uniqueItems": true, "items": defs::host()}
    });
    if let Value::Object(more) = more {
        p.extend(more);
    }
    object(p, json!({}))
}

fn consumer() -> Value {
    let mut p = common();
    p.remove("id");
    p.insert(
        "username".into(),
        json!({"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[a-zA-Z0-9_\\-]+$"}),
    );
    p.insert("group_id".into(), defs::id());
    p.insert("plugins".into(), defs::plugins());
    object(p, json!({"required": ["username"]}))
}

/// Kinds that are a set of plugins (`consumer_group`, `global_rule`,
/// `plugin_config`); the id comes from the body or the Admin API path.
fn plugin_set() -> Value {
    let mut p = common();
    p.insert("plugins".into(), defs::plugins());
    object(p, json!({"required": ["plugins"]}))
}

fn credential() -> Value {
    let mut p = common();
    p.insert(
        "plugins".into(),
        json!({"type": "object", "maxProperties": 1}),
    );
    object(p, json!({}))
}

/// A plugin's metadata: `id` is the plugin's name; the rest belongs to the
/// plugin's own metadata schema, so this one leaves it open.
fn plugin_metadata() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-_.]+$"}
        },
        "required": ["id"],
        "additionalProperties": true
    })
}

fn ssl() -> Value {
    let mut p = common();
    let sni = json!({"type": "string", "pattern": "^\\*?[0-9a-zA-Z-._]+$"});
    let more = json!({
        "type": {
            "description": "ssl certificate type: server to clients, client to upstreams",
            "type": "string",
            "enum": ["server", "client"],
            "default": "server"
        },
        "cert": defs::pem(),
        "key": defs::pem(),
        "sni": sni,
        "snis": {"type": "array", "minItems": 1, "items": sni},
        "certs": {"type": "array", "items": defs::pem()},
        "keys": {"type": "array", "items": defs::pem()},
        "client": {
            "type": "object",
            "properties": {
                "ca": defs::pem(),
                "depth": {"type": "integer", "minimum": 0, "default": 1},
                "skip_mtls_uri_regex": {
                    "type": "array", "minItems": 1, "uniqueItems": true,
                    "items": {"type": "string"}
                }
            },
            "required": ["ca"],
            "additionalProperties": false
        },
        "ssl_protocols": {
            "type": "array", "maxItems": 3, "uniqueItems": true,
            "items": {"enum": ["TLSv1.1", "TLSv1.2", "TLSv1.3"]}
        },
        "exptime": {"type": "integer", "minimum": 1588262400},
        "validity_start": defs::timestamp(),
        "validity_end": defs::timestamp(),
        "status": {
            "description": "ssl status, 1 to enable, 0 to disable",
            "type": "integer",
            "enum": [1, 0],
            "default": 1
        }
    });
    if let Value::Object(more) = more {
        p.extend(more);
    }
    object(
        p,
        json!({
            "if": {"properties": {"type": {"enum": ["server"]}}},
            "then": {"oneOf": [
                {"required": ["sni", "key", "cert"]},
                {"required": ["snis", "key", "cert"]}
            ]},
            "else": {"required": ["key", "cert"]}
        }),
    )
}
