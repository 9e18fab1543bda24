//! Schema pieces shared by several kinds (JSON Schema draft 7, APISIX 3.x
//! field names, types, defaults and limits): ids, labels, timeouts, and the
//! upstream with its nodes, health checks, TLS and keep-alive pool.
//!
//! Written for radixgate after APISIX's `schema_def.lua`; where APISIX
//! leaves a sub-object open, these close it (`additionalProperties: false`)
//! so that a misspelt key is refused, never ignored.

use serde_json::{json, Value};

/// An id: 1-64 of `[a-zA-Z0-9-_.]`, or an integer >= 1. One `type` list
/// rather than APISIX's `anyOf`, so that a bad id names what is wrong with it.
pub fn id() -> Value {
    json!({
        "type": ["string", "integer"],
        "minLength": 1,
        "maxLength": 64,
        "pattern": "^[a-zA-Z0-9-_.]+$",
        "minimum": 1
    })
}

/// `name`: 1-256 characters.
pub fn name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 256})
}

/// `desc`: at most 256 characters.
pub fn desc() -> Value {
    json!({"type": "string", "maxLength": 256})
}

/// `labels`: a map of non-blank strings.
pub fn labels() -> Value {
    json!({
        "description": "key/value pairs to specify attributes",
        "type": "object",
        "patternProperties": {
            ".*": {"type": "string", "pattern": "^\\S+$", "minLength": 1, "maxLength": 64}
        }
    })
}

/// `create_time` / `update_time`: unix seconds, set by the Admin API.
pub fn timestamp() -> Value {
    json!({"type": "integer"})
}

/// `plugins`: plugin name -> that plugin's configuration (checked by the
/// plugin's own schema, not here).
pub fn plugins() -> Value {
    json!({"type": "object"})
}

/// A host name, `*.wildcard`, IPv4 or `[IPv6]`.
pub fn host() -> Value {
    json!({"type": "string", "pattern": "^\\*?[0-9a-zA-Z-._\\[\\]:]+$"})
}

/// A client address: IPv4, IPv6 or either as CIDR.
pub fn remote_addr() -> Value {
    json!({
        "description": "client IP",
        "type": "string",
        "anyOf": [
            {"title": "IPv4", "type": "string", "format": "ipv4"},
            {"title": "IPv4/CIDR", "type": "string",
             "pattern": "^([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])(\\.([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])){3}/([12]?[0-9]|3[0-2])$"},
            {"title": "IPv6", "type": "string", "format": "ipv6"},
            {"title": "IPv6/CIDR", "type": "string",
             "pattern": "^([a-fA-F0-9]{0,4}:){1,8}(:[a-fA-F0-9]{0,4}){0,8}([a-fA-F0-9]{0,4})?/[0-9]{1,3}$"}
        ]
    })
}

/// `timeout {connect, send, read}`: seconds, each > 0.
pub fn timeout() -> Value {
    json!({
        "type": "object",
        "properties": {
            "connect": {"type": "number", "exclusiveMinimum": 0},
            "send": {"type": "number", "exclusiveMinimum": 0},
            "read": {"type": "number", "exclusiveMinimum": 0}
        },
        "required": ["connect", "send", "read"],
        "additionalProperties": false
    })
}

/// A PEM certificate or private key (or a `$secret://` / `$env://` reference).
pub fn pem() -> Value {
    json!({
        "type": "string",
        "oneOf": [
            {"minLength": 128, "maxLength": 65536},
            {"pattern": "^\\$(secret|env)://"}
        ]
    })
}

fn statuses(default: Value) -> Value {
    json!({
        "type": "array",
        "minItems": 1,
        "items": {"type": "integer", "minimum": 200, "maximum": 599},
        "uniqueItems": true,
        "default": default
    })
}

fn count(default: u32) -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": 254, "default": default})
}

fn check_type() -> Value {
    json!({"type": "string", "enum": ["http", "https", "tcp"], "default": "http"})
}

/// `checks`: `active` probes (required) and optional `passive` counting.
pub fn checks() -> Value {
    let active = json!({
        "type": "object",
        "properties": {
            "type": check_type(),
            "timeout": {"type": "number", "default": 1},
            "concurrency": {"type": "integer", "default": 10},
            "host": host(),
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "http_path": {"type": "string", "default": "/"},
            "https_verify_certificate": {"type": "boolean", "default": true},
            "req_headers": {
                "type": "array", "minItems": 1, "uniqueItems": true,
                "items": {"type": "string"}
            },
            "healthy": {
                "type": "object",
                "properties": {
                    "interval": {"type": "integer", "minimum": 1, "default": 1},
                    "http_statuses": statuses(json!([200, 302])),
                    "successes": count(2)
                },
                "additionalProperties": false
            },
            "unhealthy": {
                "type": "object",
                "properties": {
                    "interval": {"type": "integer", "minimum": 1, "default": 1},
                    "http_statuses": statuses(json!([429, 404, 500, 501, 502, 503, 504, 505])),
                    "http_failures": count(5),
                    "tcp_failures": count(2),
                    "timeouts": count(3)
                },
                "additionalProperties": false
            }
        },
        "additionalProperties": false
    });
    let passive = json!({
        "type": "object",
        "properties": {
            "type": check_type(),
            "healthy": {
                "type": "object",
                "properties": {
                    "http_statuses": statuses(json!([
                        200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                        300, 301, 302, 303, 304, 305, 306, 307, 308
                    ])),
                    "successes": count(5)
                },
                "additionalProperties": false
            },
            "unhealthy": {
                "type": "object",
                "properties": {
                    "http_statuses": statuses(json!([429, 500, 503])),
                    "tcp_failures": count(2),
                    "timeouts": count(7),
                    "http_failures": count(5)
                },
                "additionalProperties": false
            }
        },
        "additionalProperties": false
    });
    json!({
        "type": "object",
        "properties": {"active": active, "passive": passive},
        "required": ["active"],
        "additionalProperties": false
    })
}

/// `nodes`: `{"host:port": weight}` or `[{host, port, weight, priority, metadata}]`.
/// One `type` list with keywords that apply to one type each (rather than
/// APISIX's `anyOf`), so that an error names the node at fault.
pub fn nodes() -> Value {
    json!({
        "type": ["object", "array"],
        "patternProperties": {
            ".*": {"description": "weight of node", "type": "integer", "minimum": 0}
        },
        "items": {
            "type": "object",
            "properties": {
                "host": host(),
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "weight": {"type": "integer", "minimum": 0},
                "priority": {"type": "integer", "default": 0},
                "metadata": {"type": "object"}
            },
            "required": ["host", "weight"],
            "additionalProperties": false
        }
    })
}

/// The upstream object (also written inline in routes and services).
pub fn upstream() -> Value {
    let mut props = json!({
        "id": id(),
        "name": name(),
        "desc": desc(),
        "labels": labels(),
        "create_time": timestamp(),
        "update_time": timestamp(),
        "nodes": nodes(),
        "type": {
            "description": "algorithms of load balancing",
            "type": "string",
            "enum": ["roundrobin", "chash", "least_conn", "ewma"],
            "default": "roundrobin"
        },
        "hash_on": {
            "type": "string",
            "enum": ["vars", "header", "cookie", "consumer", "vars_combinations"],
            "default": "vars"
        },
        "key": {"description": "the key of chash for dynamic load balancing", "type": "string"},
        "retries": {"type": "integer", "minimum": 0},
        "retry_timeout": {"type": "number", "minimum": 0},
        "timeout": timeout(),
        "pass_host": {
            "description": "mod of host passing",
            "type": "string",
            "enum": ["pass", "node", "rewrite"],
            "default": "pass"
        },
        "upstream_host": host(),
        "scheme": {
            "type": "string",
            "enum": ["http", "https", "grpc", "grpcs", "tcp", "tls", "udp", "kafka"],
            "default": "http"
        },
        "checks": checks(),
        "tls": {
            "type": "object",
            "properties": {
                "client_cert_id": id(),
                "client_cert": pem(),
                "client_key": pem(),
                "verify": {"type": "boolean", "default": false}
            },
            "dependencies": {
                "client_cert": ["client_key"],
                "client_key": ["client_cert"]
            },
            "additionalProperties": false
        },
        "keepalive_pool": {
            "type": "object",
            "properties": {
                "size": {"type": "integer", "minimum": 1, "default": 320},
                "idle_timeout": {"type": "number", "minimum": 0, "default": 60},
                "requests": {"type": "integer", "minimum": 1, "default": 1000}
            },
            "additionalProperties": false
        }
    });
    // Service discovery: part of APISIX's schema; this build refuses it
    // after the schema check, with its own message.
    if let Some(p) = props.as_object_mut() {
        p.insert(
            "service_name".into(),
            json!({"type": "string", "minLength": 1, "maxLength": 256}),
        );
        p.insert("discovery_type".into(), json!({"type": "string"}));
        p.insert("discovery_args".into(), json!({"type": "object"}));
    }
    json!({
        "type": "object",
        "properties": props,
        "oneOf": [
            {"required": ["nodes"]},
            {"required": ["service_name", "discovery_type"]}
        ],
        "additionalProperties": false
    })
}
